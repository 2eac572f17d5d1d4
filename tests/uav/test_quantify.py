from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ghgwatch.uav import CannotQuantify, Flight, Method, Refusal, quantify
from ghgwatch.uav.geometry import Frame
from ghgwatch.uav.simulator import simulate
from tests.uav.conftest import SMALL


def test_mass_balance_finds_the_rate_within_its_interval(small_flight: Flight) -> None:
    result = quantify(small_flight, Method.MASS_BALANCE, n_boot=100)
    assert 0.5 * SMALL.rate_kg_h < result.rate_kg_h < 2.0 * SMALL.rate_kg_h
    assert result.lower_kg_h <= SMALL.rate_kg_h <= result.upper_kg_h
    assert result.transects == 5
    assert 1.8 < result.background_ppm < 2.2
    assert any("ground" in w for w in result.warnings)
    assert set(result.as_dict()) == {"method", "rate_kg_h", "lower_kg_h", "upper_kg_h", "background_ppm", "source",
                                     "transects", "warnings"}


def test_plume_inversion_gives_a_rate_and_a_source_upwind(small_flight: Flight) -> None:
    result = quantify(small_flight, Method.PLUME, n_boot=10)
    assert 0.33 * SMALL.rate_kg_h < result.rate_kg_h < 3.0 * SMALL.rate_kg_h
    assert result.lower_kg_h < result.rate_kg_h < result.upper_kg_h
    assert result.source is not None
    x, y = Frame(*SMALL.site).to_xy(np.array([result.source[0]]), np.array([result.source[1]]))
    # the simulated source is at the site's origin; the wind from 250° blows towards 70°
    to = np.radians(SMALL.wind_from_deg + 180.0)
    along = float(x[0] * np.sin(to) + y[0] * np.cos(to))
    cross = float(-x[0] * np.cos(to) + y[0] * np.sin(to))
    # one curtain fixes the source across the wind well, along it only through the plume's width
    assert abs(cross) < 10.0
    assert -2 * SMALL.distance_m < along < SMALL.distance_m
    assert result.details["stability"] in "ABCDEF" and result.details["sigma_theta_deg"] is not None


def test_plume_inversion_with_a_given_class(small_flight: Flight) -> None:
    result = quantify(small_flight, Method.PLUME, n_boot=10, stability="D")
    assert 0.33 * SMALL.rate_kg_h < result.rate_kg_h < 3.0 * SMALL.rate_kg_h
    assert result.details["stability"] == "D" and result.details["sigma_theta_deg"] is None
    assert any("stability class D (given)" in w for w in result.warnings)


def test_low_wind_is_refused(small_flight: Flight) -> None:
    calm = dataclasses.replace(small_flight, wind_speed_ms=small_flight.wind_speed_ms * 0.1)
    with pytest.raises(CannotQuantify) as caught:
        quantify(calm)
    assert caught.value.code is Refusal.WIND_TOO_LOW


def test_variable_wind_is_refused(small_flight: Flight) -> None:
    rng = np.random.default_rng(0)
    swirling = dataclasses.replace(small_flight, wind_dir_deg=rng.uniform(0, 360, size=len(small_flight)))
    with pytest.raises(CannotQuantify) as caught:
        quantify(swirling)
    assert caught.value.code is Refusal.WIND_TOO_VARIABLE


def test_a_curtain_along_the_wind_is_refused(small_flight: Flight) -> None:
    along = dataclasses.replace(small_flight, wind_dir_deg=(small_flight.wind_dir_deg + 90.0) % 360.0)
    with pytest.raises(CannotQuantify) as caught:
        quantify(along)
    assert caught.value.code is Refusal.NOT_DOWNWIND


def test_a_curtain_upwind_of_the_known_source_is_refused(small_flight: Flight) -> None:
    frame = Frame(*SMALL.site)
    # a point 200 m downwind of the curtain (wind from 250°, so downwind is towards 70°)
    d = 200.0 + SMALL.distance_m
    lat, lon = frame.to_latlon(d * np.sin(np.radians(70.0)), d * np.cos(np.radians(70.0)))
    with pytest.raises(CannotQuantify) as caught:
        quantify(small_flight, source=(lat, lon))
    assert caught.value.code is Refusal.NOT_DOWNWIND


def test_no_plume_is_refused() -> None:
    clean = simulate(dataclasses.replace(SMALL, rate_kg_h=1e-6), seed=3)
    with pytest.raises(CannotQuantify) as caught:
        quantify(clean)
    assert caught.value.code is Refusal.NO_PLUME
    assert "no plume" in caught.value.message

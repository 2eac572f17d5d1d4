from __future__ import annotations

import numpy as np
import pytest

from ghgwatch.simulator import SensorSpec, SiteModel
from ghgwatch.simulator.patterns import ShiftSchedule, local_hours
from tests.simulator.conftest import RANGES, START, pick

WEEK = START + np.arange(0.0, 7 * 86_400.0, 120.0)


def test_same_seed_same_values_whatever_the_order(sensors: list[SensorSpec]) -> None:
    a = SiteModel(sensors, seed=5, start=START)
    b = SiteModel(sensors, seed=5, start=START)
    times = START + np.arange(0.0, 3_600.0, 7.0)
    for s in sensors:
        np.testing.assert_array_equal(a.values(s.id, times), b.values(s.id, times))
    one_by_one = [b.value(sensors[0].id, float(t)) for t in times[::-1]]
    vectorised = a.values(sensors[0].id, times)[::-1]
    assert [None if np.isnan(v) else float(v) for v in vectorised] == one_by_one


def test_another_seed_gives_other_values(sensors: list[SensorSpec]) -> None:
    times = START + np.arange(0.0, 600.0, 5.0)
    s = pick(sensors, "methane", "longwall_outgoing")
    a = SiteModel(sensors, seed=1, start=START, dropout=0).values(s.id, times)
    b = SiteModel(sensors, seed=2, start=START, dropout=0).values(s.id, times)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    ("kind", "location", "low", "high"),
    [
        ("methane", "mine_outgoing", 0.25, 0.75),  # below the 0.75 % mine-outlet limit (METHODOLOGY §2.3)
        ("methane", "longwall_outgoing", 0.35, 1.0),  # below the 1.0 % longwall limit without events
        ("methane", "drainage_pipeline", 25.0, 45.0),
        ("air_flow", None, 3_500.0, 7_500.0),
        ("air_velocity", None, 2.0, 4.5),
        ("temperature", None, 5.0, 25.0),
        ("pressure", None, 92.0, 100.0),
        ("differential_pressure", None, 8.0, 32.0),
        ("co2", None, 10.0, 14.0),
    ],
)
def test_values_stay_in_realistic_bands(sensors: list[SensorSpec], kind: str, location: str | None, low: float,
                                        high: float) -> None:
    model = SiteModel(sensors, seed=3, start=START, dropout=0)
    chosen = [s for s in sensors if s.kind == kind and (location is None or s.location == location)]
    assert chosen
    for s in chosen:
        v = model.values(s.id, WEEK)
        assert np.isfinite(v).all()
        assert low <= v.min() and v.max() <= high, (s.name, v.min(), v.max())
        assert RANGES[s.id][0] <= v.min() and v.max() <= RANGES[s.id][1]


def test_drainage_and_boiler_flows_in_their_bands(sensors: list[SensorSpec]) -> None:
    model = SiteModel(sensors, seed=3, start=START, dropout=0)
    for s in sensors:
        if s.kind == "gas_flow":
            v = model.values(s.id, WEEK)
            band = (20.0, 60.0) if "drainage" in s.source.lower() else (30.0, 120.0)
            assert band[0] <= v.min() and v.max() <= band[1], (s.source, v.min(), v.max())


def test_production_shifts_release_more_methane_than_the_repair_shift(sensors: list[SensorSpec]) -> None:
    model = SiteModel(sensors, seed=1, start=START, dropout=0)
    repair = ShiftSchedule().is_repair(WEEK, 7.0)
    assert 0.25 < repair.mean() < 0.4
    for location in ("longwall_outgoing", "mine_outgoing"):
        v = model.values(pick(sensors, "methane", location).id, WEEK)
        assert v[~repair].mean() > v[repair].mean() * 1.1, location


def test_coal_cutting_raises_longwall_methane(sensors: list[SensorSpec]) -> None:
    model = SiteModel(sensors, seed=1, start=START, dropout=0, noise=0)
    v = model.values(pick(sensors, "methane", "longwall_outgoing").id, WEEK)
    cutting = ShiftSchedule().cutting(WEEK, 7.0)
    assert np.corrcoef(v, cutting)[0, 1] > 0.6
    assert v.max() - v.min() > 0.2


def test_more_air_means_lower_concentration(sensors: list[SensorSpec]) -> None:
    model = SiteModel(sensors, seed=1, start=START, dropout=0, noise=0)
    # Mid-shift in production shifts, where the (hour-lagged) mine activity is steady.
    into_shift = np.mod(local_hours(WEEK, 7.0), 8.0)
    times = WEEK[~ShiftSchedule().is_repair(WEEK, 7.0) & (into_shift > 1.5)]
    source = pick(sensors, "methane", "mine_outgoing").source
    ch4 = model.values(pick(sensors, "methane", "mine_outgoing").id, times)
    air = model.values(pick(sensors, "air_flow", source=source).id, times)
    assert np.corrcoef(ch4, air)[0, 1] < -0.4
    # concentration = release / air: multiplying by the air flow removes the air's share of the variation.
    released = ch4 * air
    assert released.std() / released.mean() < ch4.std() / ch4.mean()


def test_daily_cycles(sensors: list[SensorSpec]) -> None:
    model = SiteModel(sensors, seed=1, start=START, dropout=0, noise=0)
    hours = local_hours(WEEK, 7.0)
    morning, evening = (hours >= 5) & (hours < 7), (hours >= 17) & (hours < 19)
    co2 = model.values(pick(sensors, "co2").id, WEEK)
    assert co2[morning].mean() > co2[evening].mean() + 0.5  # heat demand peaks in the cold morning
    afternoon, night = (hours >= 14) & (hours < 16), (hours >= 2) & (hours < 4)
    temp = model.values(pick(sensors, "temperature").id, WEEK)
    assert temp[afternoon].mean() > temp[night].mean()


def test_pressure_drifts_slowly(sensors: list[SensorSpec]) -> None:
    model = SiteModel(sensors, seed=1, start=START, dropout=0, noise=0)
    p = model.values(pick(sensors, "pressure").id, WEEK)
    assert p.max() - p.min() > 1.0  # weather systems over a week
    assert np.abs(np.diff(p)).max() < 0.05  # but never jumps within two minutes


@pytest.mark.parametrize("probability", [0.0, 0.05, 0.2])
def test_dropouts_at_the_configured_rate(sensors: list[SensorSpec], probability: float) -> None:
    model = SiteModel(sensors, seed=9, start=START, dropout=probability)
    times = START + np.arange(0.0, 20_000.0, 1.0)
    lost = np.mean([np.isnan(model.values(s.id, times)).mean() for s in sensors[:4]])
    assert abs(lost - probability) < 0.01


def test_rejects_bad_settings(sensors: list[SensorSpec]) -> None:
    with pytest.raises(ValueError, match="dropout"):
        SiteModel(sensors, dropout=1.0)

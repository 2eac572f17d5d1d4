from __future__ import annotations

import math

import pytest
from prometheus_client import REGISTRY

from ghgwatch.observability.sensors import SensorSeries


def value(sensor: str, kind: str, facility: str) -> float | None:
    return REGISTRY.get_sample_value("ghgwatch_sensor_value", {"sensor": sensor, "kind": kind, "facility": facility})


def dropped() -> float:
    return REGISTRY.get_sample_value("ghgwatch_sensor_series_dropped_total") or 0.0


def test_no_new_label_sets_beyond_the_limit() -> None:
    series = SensorSeries(max_series=2)
    assert series.set_value("t-a", "methane", "f1", 0.5)
    assert series.set_value("t-b", "co2", "f1", 0.1)
    before = dropped()
    assert not series.set_value("t-c", "methane", "f1", 0.7)
    assert value("t-c", "methane", "f1") is None
    assert dropped() == before + 1
    # admitted sensors keep updating after the limit is reached
    assert series.set_value("t-a", "methane", "f1", 0.9)
    assert value("t-a", "methane", "f1") == 0.9
    assert series.series == 2
    assert REGISTRY.get_sample_value("ghgwatch_sensor_series") == 2


def test_forget_frees_a_place_and_removes_the_series() -> None:
    series = SensorSeries(max_series=1)
    assert series.set_value("f-a", "methane", "f1", 0.5)
    assert series.set_forecast("f-a", "methane", "f1", 0.6)
    assert not series.set_value("f-b", "methane", "f1", 0.5)
    series.forget_sensor("f-a")
    assert value("f-a", "methane", "f1") is None
    assert series.set_value("f-b", "methane", "f1", 0.5)
    series.forget_sensor("never-seen")  # no error


def test_only_gas_kinds_and_finite_values() -> None:
    series = SensorSeries(max_series=10)
    assert not series.set_value("g-anemo", "air_flow", "f1", 3.0)
    assert not series.set_value("g-a", "methane", "f1", math.nan)
    assert series.series == 0


def test_a_sensor_keeps_its_kind_and_facility() -> None:
    series = SensorSeries(max_series=10)
    assert series.set_value("k-a", "methane", "f1", 0.5)
    assert not series.set_value("k-a", "methane", "f2", 0.5)
    assert value("k-a", "methane", "f2") is None


def test_emission_sources_share_the_limit() -> None:
    series = SensorSeries(max_series=2)
    assert series.set_value("e-a", "methane", "f1", 0.5)
    assert series.set_emission_rate("methane", "f1", "shaft-1", 120.0)
    assert not series.set_emission_rate("methane", "f1", "shaft-2", 80.0)
    assert not series.set_emission_rate("argon", "f1", "shaft-1", 1.0)
    labels = {"gas": "methane", "facility": "f1", "source": "shaft-1"}
    assert REGISTRY.get_sample_value("ghgwatch_emission_rate_kg_per_hour", labels) == 120.0
    series.forget_source("methane", "f1", "shaft-1")
    assert REGISTRY.get_sample_value("ghgwatch_emission_rate_kg_per_hour", labels) is None
    assert series.set_emission_rate("methane", "f1", "shaft-2", 80.0)


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_series"):
        SensorSeries(max_series=-1)

"""The gauge hook on hand-built batches: latest value wins, gases only, measured emission rates."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from prometheus_client import REGISTRY

from ghgwatch.observability import metrics
from ghgwatch.observability.gauges import SensorGauges, methane_kg_per_hour
from ghgwatch.observability.sensors import SensorSeries
from ghgwatch.pipeline.runner import StoredBatch
from ghgwatch.readings.writer import SensorRows
from ghgwatch.registry.cache import SensorMeta


def meta(sensor: int, kind: str, unit: str, *, source: int = 10, source_type: str = "ventilation_shaft",
         facility: int = 7) -> SensorMeta:
    return SensorMeta(sensor, 1, facility, source, source_type, kind, unit, None, None, None, None, 10.0, None,
                      True)


class FakeCache:
    def __init__(self, *metas: SensorMeta) -> None:
        self.metas = {m.id: m for m in metas}

    async def lookup(self, ids: set[int]) -> dict[int, SensorMeta]:
        return {i: self.metas[i] for i in ids if i in self.metas}


def rows(sensor: int, ts: list[int], values: list[float]) -> SensorRows:
    return SensorRows(sensor, np.array(ts, dtype=np.int64), np.array(values), np.zeros(len(ts), dtype=np.int16))


def sensor_value(sensor: int, kind: str, facility: int = 7) -> float | None:
    return REGISTRY.get_sample_value("ghgwatch_sensor_value",
                                     {"sensor": str(sensor), "kind": kind, "facility": str(facility)})


def rate(source: int, facility: int = 7) -> float | None:
    return REGISTRY.get_sample_value("ghgwatch_emission_rate_kg_per_hour",
                                     {"gas": "methane", "facility": str(facility), "source": str(source)})


@pytest.fixture(autouse=True)
def _clean_gauges() -> Iterator[None]:
    """The registry is global: start and end every test without per-sensor series."""
    for gauge in (metrics.SENSOR_VALUE, metrics.EMISSION_RATE):
        gauge.clear()
    yield
    for gauge in (metrics.SENSOR_VALUE, metrics.EMISSION_RATE):
        gauge.clear()


def test_hand_computed_methane_rate() -> None:
    # 6000 m3/min of air at 0.5 % CH4 = 30 m3/min CH4 = 1800 m3/h; × 0.67 kg/m3 = 1206 kg/h.
    assert methane_kg_per_hour(6000.0, 0.5) == pytest.approx(1206.0)


async def test_latest_value_wins_and_older_batches_do_not_move_it() -> None:
    gauges = SensorGauges(SensorSeries(10), FakeCache(meta(1, "methane", "%")))
    # out of order within the batch, and split over two rows of the same sensor
    await gauges(StoredBatch([rows(1, [300, 100], [0.9, 0.1]), rows(1, [200], [0.5])], []))
    assert sensor_value(1, "methane") == 0.9
    await gauges(StoredBatch([rows(1, [50], [0.2])], []))  # a late backfill
    assert sensor_value(1, "methane") == 0.9
    await gauges(StoredBatch([rows(1, [400], [0.3])], []))
    assert sensor_value(1, "methane") == 0.3


async def test_only_gases_are_exported_and_units_are_canonical() -> None:
    series = SensorSeries(10)
    gauges = SensorGauges(series, FakeCache(meta(1, "methane", "ppm"), meta(2, "temperature", "degC"),
                                            meta(3, "air_flow", "m3/min", source=11)))
    dropped = REGISTRY.get_sample_value("ghgwatch_sensor_series_dropped_total") or 0.0
    await gauges(StoredBatch([rows(1, [1], [5000.0]), rows(2, [1], [21.0]), rows(3, [1], [900.0]),
                              rows(99, [1], [1.0])], []))  # 99: not (or no longer) registered
    assert sensor_value(1, "methane") == pytest.approx(0.5)  # 5000 ppm = 0.5 % vol
    assert sensor_value(2, "temperature") is None
    assert sensor_value(3, "air_flow") is None
    assert series.series == 1
    # non-gas kinds are skipped, not counted as dropped (that counter drives an alert)
    assert (REGISTRY.get_sample_value("ghgwatch_sensor_series_dropped_total") or 0.0) == dropped


async def test_rate_needs_flow_and_methane_of_a_measured_source() -> None:
    cache = FakeCache(
        meta(1, "methane", "%", source=10), meta(2, "air_flow", "m3/s", source=10),  # shaft, flow in m3/s
        meta(3, "methane", "%", source=20, source_type="drainage_station"),
        meta(4, "gas_flow", "m3/min", source=20, source_type="drainage_station"),
        meta(5, "methane", "%", source=30, source_type="boiler"), meta(6, "gas_flow", "m3/min", source=30),
        meta(7, "methane", "%", source=40),  # a shaft without a flow meter
    )
    gauges = SensorGauges(SensorSeries(20), cache)
    await gauges(StoredBatch([rows(1, [1], [0.5])], []))
    assert rate(10) is None  # concentration alone is not a rate
    await gauges(StoredBatch([rows(2, [1], [100.0]), rows(3, [1], [40.0]), rows(4, [1], [50.0]),
                              rows(5, [1], [10.0]), rows(6, [1], [10.0]), rows(7, [1], [0.4])], []))
    # 100 m3/s = 6000 m3/min; 6000 × 0.5 % × 60 × 0.67 = 1206 kg/h
    assert rate(10) == pytest.approx(1206.0)
    # drainage: 50 m3/min of mixture at 40 % CH4 = 20 m3/min × 60 × 0.67 = 804 kg/h
    assert rate(20) == pytest.approx(804.0)
    assert rate(30) is None
    assert rate(40) is None
    # a new concentration alone updates the rate with the flow kept in memory
    await gauges(StoredBatch([rows(1, [2], [0.25])], []))
    assert rate(10) == pytest.approx(603.0)

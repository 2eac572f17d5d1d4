"""Sensor gauges of a running platform (API + bus + pipeline), fed by readings posted over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from ghgwatch.observability import metrics
from ghgwatch.registry import service
from ghgwatch.registry.schemas import SensorIn
from ghgwatch.registry.specs import SENSORS
from ghgwatch.security.principal import SYSTEM
from tests.ingest.conftest import Platform

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture(autouse=True)
def _clean_gauges() -> Iterator[None]:
    for gauge in (metrics.SENSOR_VALUE, metrics.EMISSION_RATE):
        gauge.clear()
    yield
    for gauge in (metrics.SENSOR_VALUE, metrics.EMISSION_RATE):
        gauge.clear()


@pytest.fixture
def max_series(monkeypatch: pytest.MonkeyPatch) -> int:
    """The platform reads its settings from the environment when it starts, after this fixture."""
    monkeypatch.setenv("GHGWATCH_OBSERVABILITY__MAX_SENSOR_SERIES", "2")
    return 2


async def add_sensor(p: Platform, kind: str, unit: str, name: str) -> int:
    async with p.db.transaction() as s:
        sensor = await service.create(s, SYSTEM, SENSORS, SensorIn(
            source_id=p.world.source_a, name=name, kind=kind, unit=unit))  # type: ignore[arg-type]
    return int(sensor.id)  # type: ignore[attr-defined]


async def post(p: Platform, readings: list[tuple[int, float, float]]) -> None:
    """Readings as (sensor, seconds after T0, value)."""
    body = {"readings": [{"sensor": s, "ts": (T0 + timedelta(seconds=dt)).isoformat(), "value": v}
                         for s, dt, v in readings]}
    answer = await p.client.post("/api/v1/readings", json=body, headers=p.auth)
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == len(readings), answer.text


async def settled(condition: Callable[[], bool], within_s: float = 20.0) -> None:
    """Gauges are set by a hook after the store commit, so give the pipeline a moment; the caller asserts."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within_s):
            while True:
                if condition():
                    return
                await asyncio.sleep(0.05)


async def wait_sample(name: str, labels: dict[str, str], expected: float) -> float | None:
    await settled(lambda: REGISTRY.get_sample_value(name, labels) == pytest.approx(expected))
    return REGISTRY.get_sample_value(name, labels)


async def test_latest_methane_value_of_a_posted_batch_is_exported(platform: Platform) -> None:
    p = platform
    sensor = p.world.sensor_a
    await post(p, [(sensor, 30, 0.61), (sensor, 90, 0.83), (sensor, 60, 0.72)])
    labels = {"sensor": str(sensor), "kind": "methane", "facility": str(p.world.facility_a)}
    assert await wait_sample("ghgwatch_sensor_value", labels, 0.83) == pytest.approx(0.83)
    # a later batch with older readings (a gateway catching up) leaves the gauge on the newest one
    await post(p, [(sensor, 10, 0.2)])
    assert await p.wait_stored(4) == 4
    await asyncio.sleep(0.3)
    assert REGISTRY.get_sample_value("ghgwatch_sensor_value", labels) == pytest.approx(0.83)


async def test_sensor_gauges_are_limited_by_max_series(max_series: int, platform: Platform) -> None:
    p = platform
    sensors = [p.world.sensor_a] + [await add_sensor(p, "methane", "%", f"CH4 {i}") for i in range(2)]
    dropped = REGISTRY.get_sample_value("ghgwatch_sensor_series_dropped_total") or 0.0
    await post(p, [(s, 60, 0.5) for s in sensors])
    assert await p.wait_stored(3) == 3
    await settled(lambda: REGISTRY.get_sample_value("ghgwatch_sensor_series_dropped_total") != dropped)
    exported = [s for s in sensors if REGISTRY.get_sample_value(
        "ghgwatch_sensor_value", {"sensor": str(s), "kind": "methane", "facility": str(p.world.facility_a)})]
    assert len(exported) == max_series
    assert REGISTRY.get_sample_value("ghgwatch_sensor_series_dropped_total") == dropped + 1
    assert REGISTRY.get_sample_value("ghgwatch_sensor_series_limit") == max_series
    # the /metrics endpoint of the running platform shows the same
    text = (await p.client.get("/metrics")).text
    assert f"ghgwatch_sensor_series {float(max_series)}" in text


async def test_emission_rate_of_a_shaft_with_flow_and_methane(platform: Platform) -> None:
    p = platform
    flow = await add_sensor(p, "air_flow", "m3/s", "Main fan air flow")  # on the world's ventilation shaft
    await post(p, [(flow, 60, 100.0), (p.world.sensor_a, 60, 0.5)])
    # 100 m3/s = 6000 m3/min; 6000 × 0.5/100 = 30 m3/min CH4; × 60 min/h × 0.67 kg/m3 = 1206 kg/h
    labels = {"gas": "methane", "facility": str(p.world.facility_a), "source": str(p.world.source_a)}
    assert await wait_sample("ghgwatch_emission_rate_kg_per_hour", labels, 1206.0) == pytest.approx(1206.0)
    await post(p, [(p.world.sensor_a, 120, 0.8)])
    # the flow kept in memory: 6000 × 0.8/100 × 60 × 0.67 = 1929.6 kg/h
    assert await wait_sample("ghgwatch_emission_rate_kg_per_hour", labels, 1929.6) == pytest.approx(1929.6)

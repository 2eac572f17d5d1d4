"""The gateway's parts on a real embedded log: its cached configuration, device authentication from it, and
per-minute summaries that survive a restart exactly once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from ghgwatch.bus import Bus, open_bus, topics
from ghgwatch.edge.gateway.registry import EdgeAuthenticator, EdgeSensors
from ghgwatch.edge.gateway.state import EdgeState
from ghgwatch.edge.gateway.summarize import SUMMARIES_TOPIC, Summarizer
from ghgwatch.edge.schemas import DeviceKey, EdgeConfig, SensorOut, SensorRules, Summary
from ghgwatch.ingest.wire import SensorBatch, encode
from ghgwatch.kit.problems import Problem
from ghgwatch.security.tokens import hash_secret

MINUTE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
T0_US = int(MINUTE.timestamp()) * 1_000_000


def _config(alarm: float = 1.0) -> EdgeConfig:
    sensor = SensorOut(id=7, organization_id=3, facility_id=1, source_id=1, source_type="ventilation_shaft",
                       kind="methane", unit="%", range_min=0.0, range_max=100.0, alarm_level=alarm)
    rules = SensorRules(sensor=7, rules={"threshold": {"kind": "threshold", "alarm": alarm, "warning": None,
                                                      "direction": "above", "source": "sensor configuration"}})
    device = DeviceKey(id=11, token_hash=hash_secret("s3cret"), hmac_secret="k", require_signature=False)
    return EdgeConfig(organization_id=3, device_id=12, generated_at=datetime.now(UTC), sensors=[sensor],
                      rules=[rules], devices=[device])


async def test_configuration_is_cached_for_an_offline_start(tmp_path: Path) -> None:
    assert EdgeState.open(tmp_path).config is None
    state = EdgeState.open(tmp_path)
    assert state.update(_config())
    assert (tmp_path / "edge-config.json").stat().st_mode & 0o777 == 0o600  # it holds device keys
    later = msgspec.structs.replace(_config(), generated_at=datetime.now(UTC) + timedelta(minutes=5))
    assert not state.update(later)  # same content, newer stamp: no rebuild
    assert state.update(_config(alarm=2.0)) and state.version == 2
    offline = EdgeState.open(tmp_path)  # a restart without a link
    assert offline.source == "cache" and offline.organization_id == 3
    assert offline.metas[7].alarm_level == 2.0
    [effective] = offline.effective
    assert [(r.id, getattr(r, "alarm", None)) for r in effective.rules] == [("threshold", 2.0)]


async def test_devices_authenticate_against_the_configuration(tmp_path: Path) -> None:
    state = EdgeState.open(tmp_path)
    auth = EdgeAuthenticator(state)
    with pytest.raises(Problem) as unconfigured:
        await auth.device("gwd_11_s3cret")
    assert unconfigured.value.status == 503
    with pytest.raises(Problem):
        await EdgeSensors(state).lookup({7})
    state.update(_config())
    device = await auth.device("gwd_11_s3cret")
    assert (device.id, device.organization_id, device.hmac_secret) == (11, 3, "k")
    for bad in ("gwd_11_wrong", "gwd_99_s3cret", "nonsense"):
        with pytest.raises(Problem) as refused:
            await auth.device(bad)
        assert refused.value.status == 401
    assert (await auth.device_by_id(11)) == device and await auth.device_by_id(99) is None
    assert set(await EdgeSensors(state).lookup({7})) == {7}


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    log = open_bus("embedded:", data_dir=tmp_path)
    await log.start()
    await log.ensure_topics([topics.READINGS_RAW])
    await log.ensure_topics([SUMMARIES_TOPIC], partitions=1)
    try:
        yield log
    finally:
        await log.stop()


async def _send(bus: Bus, ts_s: list[float], values: list[float], unit: str | None = None) -> None:
    batch = SensorBatch(7, unit, [T0_US + int(t * 1e6) for t in ts_s], values, 3, 11, "http", 0, "ref")
    await bus.publish(topics.READINGS_RAW, [encode(batch)])


async def _summaries(bus: Bus, expected: int, group: str) -> list[Summary]:
    consumer = bus.consumer(group, [SUMMARIES_TOPIC])
    await consumer.start()
    out: list[Summary] = []
    deadline = time.monotonic() + 20
    try:
        while len(out) < expected and time.monotonic() < deadline:
            out.extend(msgspec.json.decode(m.value, type=Summary) for m in await consumer.poll(100, timeout_s=0.2))
        out.extend(msgspec.json.decode(m.value, type=Summary) for m in await consumer.poll(100, timeout_s=0.3))
    finally:
        await consumer.stop()
    return out


async def test_summaries_are_exact_and_survive_a_restart_once(bus: Bus, tmp_path: Path) -> None:
    state = EdgeState.open(tmp_path)
    state.update(_config())
    first = Summarizer(bus, state, tmp_path, grace_s=60)  # minutes close only when a later one begins
    first.start()
    await _send(bus, [0, 20, 40], [0.2, 0.6, 0.4])          # minute 0
    await _send(bus, [60, 80], [10.0, 30.0], unit="ppm")     # minute 1, converted to % (0.001, 0.003)
    await _send(bus, [125], [0.5])                           # minute 2 opens: minutes 0 and 1 close
    got = await _summaries(bus, 2, "check-1")
    assert [(s.minute, s.count, s.min, s.max, s.last) for s in got] == [
        (MINUTE, 3, 0.2, 0.6, 0.4), (MINUTE + timedelta(minutes=1), 2, 0.001, pytest.approx(0.003),
                                     pytest.approx(0.003))]
    assert got[0].sum == pytest.approx(1.2) and got[0].last_ts == MINUTE + timedelta(seconds=40)
    await first.stop()  # as if killed: minute 2 was open, its readings not committed
    await _send(bus, [130], [0.7])                           # minute 2, while the gateway is down
    await _send(bus, [10], [9.9])                            # minute 0 again: too late, never summarised
    second = Summarizer(bus, state, tmp_path, grace_s=0.3)
    second.start()
    try:
        got = await _summaries(bus, 3, "check-2")  # minute 2 closes by the clock (over, and idle for grace_s)
    finally:
        await second.stop()
    assert [(s.minute, s.count) for s in got] == [(MINUTE, 3), (MINUTE + timedelta(minutes=1), 2),
                                                  (MINUTE + timedelta(minutes=2), 2)]
    assert (got[2].min, got[2].max, got[2].last) == (0.5, 0.7, 0.7)
    assert second.late >= 1

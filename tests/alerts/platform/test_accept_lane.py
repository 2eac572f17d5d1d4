"""The accept-time lane of the api replicas (alerts/accept_lane.py), driven directly beside a running platform.

The platform's own alert service plays the pipeline replica's engine: the lane opens the alert of a live
exceedance first; the engine, judging the same reading afterwards, adopts that row (no second alert, no second
``opened`` event) and resolves it later. The lane judges only live readings of threshold rules, opens nothing for
a key already open, and loses a race on the unique index quietly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from ghgwatch.alerts.accept_lane import AcceptLane
from ghgwatch.alerts.engine import AlertKey
from ghgwatch.alerts.hub import AlertHub, Subscription, hub_of
from ghgwatch.alerts.models import Alert
from ghgwatch.ingest.wire import SensorBatch

RULE = {"kind": "threshold", "warning": 0.8, "alarm": 1.0, "clear_after_s": 0, "source": "test"}


def _batch(sensor: int, org: int, values: list[float], start: float, step_s: float = 1.0) -> SensorBatch:
    ts = [int((start + i * step_s) * 1e6) for i in range(len(values))]
    return SensorBatch(sensor, None, ts, values, org, 1, "http", time.time_ns() // 1000, "test")


async def _drain(sub: Subscription, sensor: int, within_s: float = 0.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + within_s
    while True:
        event = await sub.get(timeout_s=max(0.0, deadline - time.monotonic()) or 0.01)
        if event is None:
            return out
        if event["alert"]["sensor_id"] == sensor:
            out.append(event)


async def _rows(p: Any, sensor: int) -> list[Alert]:
    async with p.db.sessions() as s:
        return list((await s.execute(select(Alert).where(Alert.sensor_id == sensor).order_by(Alert.id))).scalars())


async def test_the_lane_opens_first_and_the_engine_adopts_the_alert(alert_platform: Any) -> None:
    p = alert_platform
    sensor = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    await p.rule(str(sensor), "methane_limit", RULE)
    hub = hub_of(p.ctx.extras)
    lane = AcceptLane(p.db, p.ctx.extras["sensors"], hub)
    await lane.refresh()
    now = float(int(time.time()))  # whole seconds: the same microseconds through JSON and the bus
    async with hub.subscribe(p.world.org_a) as sub:
        # Warning first, then alarm in the same batch: the first exceeding reading opens it (as in the engine).
        assert await lane.judge([_batch(sensor, p.world.org_a, [0.5, 0.9, 2.5], now - 3)]) == 1
        events = await _drain(sub, sensor)
        assert [(e["event"], e["alert"]["severity"], e["alert"]["reading_value"]) for e in events] == [
            ("opened", "warning", 0.9)]
        row_id = events[0]["alert"]["id"]
        assert await lane.judge([_batch(sensor, p.world.org_a, [3.0], now - 0.5)]) == 0  # open: nothing more

        # The engine judges the same readings (as the pipeline would after storing them) and adopts the alert.
        await p.post(sensor, [0.5, 0.9, 2.5], start=now - 3)
        deadline = time.monotonic() + 15
        while p.service.ids.get(AlertKey(str(sensor), "methane_limit")) != row_id and time.monotonic() < deadline:  # noqa: ASYNC110 (a condition, not an event)
            await asyncio.sleep(0.05)
        assert p.service.ids.get(AlertKey(str(sensor), "methane_limit")) == row_id
        events = await _drain(sub, sensor, within_s=1.0)
        assert [e["event"] for e in events] == ["escalated"]  # the alarm reading, judged by the engine
        assert [e["alert"]["id"] for e in events] == [row_id]

        await p.post(sensor, [0.2], start=now)
        events = await _drain(sub, sensor, within_s=15.0)
        assert "auto_resolved" in [e["event"] for e in events]
    rows = await _rows(p, sensor)
    assert [(r.id, r.state, r.severity) for r in rows] == [(row_id, "resolved", "alarm")]


async def test_the_lane_judges_only_live_readings_and_loses_a_race_quietly(alert_platform: Any) -> None:
    p = alert_platform
    sensor = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    await p.rule(str(sensor), "methane_limit", RULE)
    hub = AlertHub()
    lane = AcceptLane(p.db, p.ctx.extras["sensors"], hub)
    await lane.refresh()
    async with hub.subscribe(None) as sub:
        # An hour old (a backfill): left to the engine, which knows the alert history it may fall into.
        assert await lane.judge([_batch(sensor, p.world.org_a, [5.0], time.time() - 3600)]) == 0
        assert await _rows(p, sensor) == []
        # The engine opened it first (another process, as far as the lane knows): the lane opens nothing.
        await p.post(sensor, [2.0], start=time.time() - 1)
        deadline = time.monotonic() + 15
        while not await _rows(p, sensor) and time.monotonic() < deadline:  # noqa: ASYNC110 (a condition, not an event)
            await asyncio.sleep(0.05)
        other = AcceptLane(p.db, p.ctx.extras["sensors"], hub)  # knows nothing open
        await other.refresh()
        assert await other.judge([_batch(sensor, p.world.org_a, [2.2], time.time() - 0.5)]) == 0
        assert await _drain(sub, sensor) == []
    assert len(await _rows(p, sensor)) == 1

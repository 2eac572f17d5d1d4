"""Issue 10: no reading skips the rules. A sensor registered just before its first reading, a live exceedance
behind a backlog of older readings, and a late exceedance all open their alert (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.stalls import wait_until

from conftest import AlertPlatform


async def _without_refresh(p: AlertPlatform) -> None:
    """Stop the service's periodic rebuild, so that only reading a sensor it does not know can teach it."""
    for task in p.service._tasks:
        if task.get_name() == "alerts-refresh":
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_new_sensor_first_reading_of_5_percent_methane_opens_an_alarm(alert_platform: AlertPlatform) -> None:
    """The issue's demo scenario: the outgoing-air methane sensor is registered, and its first reading,
    5 % CH4 (inside the explosive range), arrives before the alert service has refreshed its sensors."""
    p = alert_platform
    assert "alerts_relay" not in p.ctx.extras  # role all: the service feeds the hub itself (no double events)
    await _without_refresh(p)
    sensor = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    assert p.service.engine.unknown([str(sensor)]) == {str(sensor)}
    await p.post(sensor, [5.0], start=time.time())
    items = await p.wait_for(lambda a: len(a) == 1, within_s=30, sensor_id=sensor)
    assert len(items) == 1, "the 5 % methane reading of a new sensor opened no alert"
    alert = items[0]
    assert (alert["severity"], alert["condition"], alert["reading_value"]) == ("alarm", "threshold", 5.0)
    assert alert["unit"] == "%" and alert["late"] is False


async def test_live_exceedance_is_judged_at_accept_time_behind_a_backlog(alert_platform: AlertPlatform) -> None:
    """The live lane: readings are judged once durable on the bus, not after storage. The stored-readings hook is
    taken out, so that only the accept lane can raise this alarm; 20,000 older readings are queued before it."""
    p = alert_platform
    p.service.judged_at_accept = 0
    stored_hooks = p.ctx.extras["pipeline"].hooks
    stored_hooks.remove(p.service.on_stored)
    history = await p.new_sensor(kind="methane", unit="%", expected_interval_s=60)
    live = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    start = time.time() - 6 * 3600
    for k in range(4):  # 20,000 older readings queued
        await p.post(history, [0.3] * 5000, start=start + k * 5000, step_s=1.0)
    await p.post(live, [2.5], start=time.time())
    items = await p.wait_for(lambda a: len(a) == 1, within_s=30, sensor_id=live)
    assert len(items) == 1 and items[0]["severity"] == "alarm" and items[0]["reading_value"] == 2.5
    assert p.service.judged_at_accept == 20_001  # every accepted reading, the backlog first, in arrival order


async def test_late_exceedance_opens_an_alert_marked_late(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    sensor = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    now = time.time()
    await p.post(sensor, [0.2, 0.2], start=now - 1)  # live, clear
    await p.post(sensor, [1.6], start=now - 3600)  # an hour old: a gateway emptying its buffer
    items = await p.wait_for(lambda a: len(a) == 1, within_s=30, sensor_id=sensor)
    assert len(items) == 1
    alert = items[0]
    assert alert["late"] is True and alert["severity"] == "alarm" and alert["reading_value"] == 1.6
    assert datetime.fromisoformat(alert["reading_ts"]) < datetime.fromtimestamp(now - 3000, UTC)
    detail = (await p.client.get(f"/api/v1/alerts/{alert['id']}", headers=p.engineer)).json()
    assert detail["history"][0]["details"]["late"] is True
    # Judged again once stored (1 late reading at accept time, then all 3 again), it opens nothing more.
    await wait_until(lambda: p.service.engine.late_readings >= 4, 30, "the engine judging the 3 readings again once "
                     "stored", extras=p.ctx.extras, db=p.db, sensors=[sensor])
    async with p.service._lock:
        assert len(await p.alerts(sensor_id=sensor)) == 1


async def test_an_alert_opened_while_reconcile_reads_the_database_is_not_forgotten(
        alert_platform: AlertPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    """``reconcile`` forgets alerts resolved by another process. It used to compare the current alert ids with a
    query started before an alert was opened, forgot that alert in the engine, and left its row open: the clear
    reading was not judged against it and the sensor's next exceedance was folded into the old row (no
    ``opened`` event, no notification). Found by ``benchmarks/alerts.py --backlog``."""
    from ghgwatch.alerts import service as service_module

    p = alert_platform
    await _without_refresh(p)  # only the reconcile below runs
    sensor = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    real_load_open = service_module.load_open

    async def snapshot_then_open(session: Any) -> Any:
        rows = await real_load_open(session)  # the database as it was before the alarm below
        await session.close()  # give the connection back (SQLite): the alarm below is stored meanwhile
        await p.post(sensor, [2.5], start=time.time())
        assert len(await p.wait_for(lambda a: len(a) == 1, within_s=30, sensor_id=sensor)) == 1
        return rows

    monkeypatch.setattr(service_module, "load_open", snapshot_then_open)
    await p.service.reconcile()
    monkeypatch.undo()
    [row] = await p.alerts(sensor_id=sensor)
    assert row["state"] == "open"
    assert [oa.key.sensor_id for oa in p.service.engine.open_alerts()].count(str(sensor)) == 1
    assert row["id"] in p.service.ids.values()


async def test_an_alert_the_engine_opens_again_is_announced_even_if_its_old_row_was_left_open(
        alert_platform: AlertPlatform) -> None:
    """If the engine resolved an alert but the resolution never reached the database, the next exceedance must
    still open (and announce) a new alert, not be folded into the old row as an update."""
    p = alert_platform
    sensor = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    now = time.time()
    await p.post(sensor, [2.5], start=now - 5)
    [first] = await p.wait_for(lambda a: len(a) == 1, within_s=30, sensor_id=sensor)
    async with p.service._lock:  # the engine's resolution is lost: the engine forgets, the row stays open
        [key] = [k for k in p.service.ids if k.sensor_id == str(sensor)]
        assert p.service.engine.forget(key)
    async with p.service.hub.subscribe() as sub:
        await p.post(sensor, [3.0], start=now)
        items = await p.wait_for(lambda a: len(a) == 2, within_s=30, sensor_id=sensor)
        event = await sub.get(timeout_s=30)
    assert event is not None and event["event"] == "opened" and event["alert"]["reading_value"] == 3.0
    by_id = {a["id"]: a for a in items}
    assert by_id[first["id"]]["state"] == "resolved"
    [second] = [a for a in items if a["id"] != first["id"]]
    assert second["state"] == "open" and second["reading_value"] == 3.0
    detail = (await p.client.get(f"/api/v1/alerts/{first['id']}", headers=p.engineer)).json()
    assert [h["action"] for h in detail["history"]
            if h["details"].get("reason") == "superseded: the engine opened a new alert"] == ["auto_resolved"]

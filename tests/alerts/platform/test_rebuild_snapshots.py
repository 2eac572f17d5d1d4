"""Issue 10: a reading opened an alert twice. A rebuild of the rule engine from a sensor snapshot that did not hold
the sensor (read by a rebuild that began before the sensor was registered, and installed after a newer one) resolved
the sensor's open alert as "rule no longer in force"; the same reading, judged again once stored, then opened a second
alert, since nothing remembered that the first one had covered it. A snapshot missing an open alert's rule is now
checked against the database before anything is resolved, and an alert resolved so still covers its readings.
(SQLite and PostgreSQL.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from conftest import AlertPlatform
from ghgwatch.alerts.engine import AlertKey
from ghgwatch.pipeline.runner import StoredBatch
from ghgwatch.readings.writer import SensorRows
from ghgwatch.registry.cache import SensorCache, SensorMeta


def _hold_back(monkeypatch: pytest.MonkeyPatch, sensors: SensorCache, before: dict[int, SensorMeta]) -> list[int]:
    """The next read of the sensors by this test's own task (the rebuild it calls) returns ``before``; returns the
    list that records it was served. Every other reader (the live lane's look-up, the stored lane's or the 2-s
    refresh's rebuild, ``_persist``) gets the real cache: under load a rebuild queued by the stored lane (its reading
    judged as unknown before the live lane taught the engine the sensor) took the held-back snapshot after its fresh
    read, which the real cache never returns, and installed it."""
    real = sensors.current
    mine = asyncio.current_task()
    served: list[int] = []

    async def read_before_the_sensor_was_registered() -> dict[int, SensorMeta]:
        if served or asyncio.current_task() is not mine:
            return await real()
        monkeypatch.setattr(sensors, "current", real)
        served.append(len(before))
        return before

    monkeypatch.setattr(sensors, "current", read_before_the_sensor_was_registered)
    return served


async def _judge_stored_again(p: AlertPlatform, sensor: int, ts: float, value: float) -> None:
    """What the pipeline does once the reading is stored: the alert service judges it again (a late reading).
    ``ts`` as ``AlertPlatform.post`` sent it: to the microsecond as its ISO text says."""
    us = (datetime.fromtimestamp(ts, UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    rows = [SensorRows(sensor, np.array([us], np.int64), np.array([value]), np.zeros(1, np.int16))]
    await p.service.on_stored(StoredBatch(rows, []))


async def _history(p: AlertPlatform, alert_id: int) -> list[str]:
    detail = (await p.client.get(f"/api/v1/alerts/{alert_id}", headers=p.engineer)).json()
    return [h["action"] for h in detail["history"]]


async def test_a_rebuild_from_a_sensor_snapshot_older_than_the_sensor_keeps_its_open_alert(
        alert_platform: AlertPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    p = alert_platform
    svc = p.service
    before = dict(await svc.sensors.current())  # the registry as a rebuild that began now reads it
    sensor = await p.new_sensor(kind="methane", unit="%", alarm_level=0.75)
    ts = await p.post(sensor, [0.9])
    items = await p.wait_for(lambda a: len(a) == 1, sensor_id=sensor)
    assert len(items) == 1
    first = items[0]
    await p.judged(sensor, ts)

    # The interleaving seen under load, forced: the rebuild that read the sensors before the sensor was registered
    # gets the engine's lock only after the newer rebuild (which learned the sensor) and the alert's opening.
    served = _hold_back(monkeypatch, svc.sensors, before)
    await svc.rebuild()
    assert served, "the rebuild did not read the held-back snapshot"
    await _judge_stored_again(p, sensor, ts, 0.9)

    items = await p.alerts(sensor_id=sensor)
    assert [(a["id"], a["state"], a["reading_value"]) for a in items] == [(first["id"], "open", 0.9)]
    assert svc.ids.get(AlertKey(str(sensor), first["rule_id"])) == first["id"]
    assert await _history(p, first["id"]) == ["opened"]
    assert svc.engine.unknown([str(sensor)]) == set()


async def test_a_rebuild_from_an_older_sensor_snapshot_forgets_nothing_the_engine_learned(
        alert_platform: AlertPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    """No alert open: the sensor's newest judged reading time is kept all the same (late readings stay late)."""
    p = alert_platform
    svc = p.service
    before = dict(await svc.sensors.current())
    sensor = await p.new_sensor(kind="methane", unit="%", alarm_level=0.75)
    ts = await p.post(sensor, [0.5])
    await p.judged(sensor, ts)
    served = _hold_back(monkeypatch, svc.sensors, before)
    await svc.rebuild()
    assert served, "the rebuild did not read the held-back snapshot"
    assert svc.engine.last_ts(str(sensor)) >= ts - 1e-6


async def test_an_alert_resolved_as_its_rule_went_away_covers_its_readings_when_the_rule_comes_back(
        alert_platform: AlertPlatform) -> None:
    """A sensor switched off and on again: its alert is resolved ("rule no longer in force", confirmed from the
    database), and its reading judged again afterwards (stored late) opens no second alert."""
    p = alert_platform
    svc = p.service
    sensor = await p.new_sensor(kind="methane", unit="%", alarm_level=0.75)
    ts = await p.post(sensor, [0.9])
    items = await p.wait_for(lambda a: len(a) == 1, sensor_id=sensor)
    assert len(items) == 1
    first = items[0]
    await p.judged(sensor, ts)

    async def active(on: bool) -> None:
        answer = await p.client.patch(f"/api/v1/sensors/{sensor}", headers=p.engineer, json={"active": on})
        assert answer.status_code == 200, answer.text
        svc.sensors.invalidate()
        await svc.rebuild()

    await active(False)
    items = await p.wait_for(lambda a: a[0]["state"] == "resolved", sensor_id=sensor)
    assert [(a["id"], a["state"]) for a in items] == [(first["id"], "resolved")]
    await active(True)
    assert svc.engine.unknown([str(sensor)]) == set()
    await _judge_stored_again(p, sensor, ts, 0.9)

    items = await p.alerts(sensor_id=sensor)
    assert [(a["id"], a["state"]) for a in items] == [(first["id"], "resolved")]
    assert AlertKey(str(sensor), first["rule_id"]) not in svc.ids
    # A newer exceedance is a new alert.
    later = await p.post(sensor, [1.1])
    items = await p.wait_for(lambda a: len(a) == 2, sensor_id=sensor)
    assert [(a["state"], a["reading_value"]) for a in items] == [("open", 1.1), ("resolved", 0.9)]
    assert later > ts

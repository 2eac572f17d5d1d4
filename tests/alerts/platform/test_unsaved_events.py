"""Issue 10: an alarm the engine raised while the database did not take it was lost. ``AlertService._persist`` retried
for about 12 s and then gave the events up, with the engine already past them: the alert was open in the engine, never
stored, never announced, and the stored lane's second judgement of the reading found it covered. Events the database
does not take are now kept, in order, and stored (and announced) with the next call or tick; a key whose events the
database refuses round after round is given up on its own, without holding back the others. (SQLite and PostgreSQL.)

The database's failures are injected into ``persist_events`` (the one call that writes alert events): a real outage
would also stop the pipeline's storage, which other tests cover.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from conftest import AlertPlatform
from ghgwatch.alerts import service as alert_service
from ghgwatch.alerts.engine import AlertEvent, AlertKey, EventKind
from ghgwatch.alerts.hub import Subscription
from ghgwatch.alerts.store import coalesce_events

RULE = {"kind": "threshold", "warning": 0.8, "alarm": 1.0, "clear_after_s": 0, "source": "test"}


class Faults:
    """Makes ``persist_events`` fail while ``refuse`` says so for the events it is given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.refuse: Callable[[Sequence[AlertEvent]], BaseException | None] = lambda events: None
        self.calls = 0
        real = alert_service.persist_events

        async def persist(session: Any, events: Sequence[AlertEvent], *args: Any) -> Any:
            self.calls += 1
            if (failure := self.refuse(events)) is not None:
                raise failure
            return await real(session, events, *args)

        monkeypatch.setattr(alert_service, "persist_events", persist)
        monkeypatch.setattr(alert_service, "PERSIST_ATTEMPTS", 2)  # the 12-s retry is not what is tested


def _away(events: Sequence[AlertEvent]) -> BaseException:
    return OperationalError("INSERT INTO alerts", {}, ConnectionError("the database is away (test)"))


async def _wait(check: Callable[[], bool], what: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.02)


async def _events(sub: Subscription, sensor: int, until: str, within_s: float = 60.0) -> list[str]:
    out: list[str] = []
    deadline = time.monotonic() + within_s
    while until not in out:
        event = await sub.get(timeout_s=max(0.01, deadline - time.monotonic()))
        assert event is not None, f"no {until} event for sensor {sensor} within {within_s} s; got {out}"
        if event["alert"]["sensor_id"] == sensor:
            out.append(event["event"])
    return out


def _gauge() -> float:
    value = REGISTRY.get_sample_value("ghgwatch_alert_events_unsaved")
    return -1.0 if value is None else value


async def test_an_alarm_raised_while_the_database_is_away_is_stored_and_announced_once_it_is_back(
        alert_platform: AlertPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    p = alert_platform
    svc = p.service
    sensor = await p.new_sensor(kind="methane", unit="%")
    await p.rule(str(sensor), "limit", RULE)
    faults = Faults(monkeypatch)
    faults.refuse = _away
    async with svc.hub.subscribe() as sub:
        ts = await p.post(sensor, [1.5])
        await _wait(lambda: any(e.kind is EventKind.OPENED for e in svc._unsaved), "the opening kept unsaved")
        # The engine goes on judging meanwhile: the clear readings resolve the alarm in the engine.
        await p.post(sensor, [0.2, 0.2], start=ts + 1)
        await _wait(lambda: not [oa for oa in svc.engine.open_alerts() if oa.key.sensor_id == str(sensor)],
                    "the engine resolved the alarm")
        await _wait(lambda: any(e.kind is EventKind.RESOLVED for e in svc._unsaved), "the resolution kept unsaved")
        assert await p.alerts(sensor_id=sensor) == []
        assert svc.unsaved_since is not None and _gauge() >= 2
        # Every tick tries again, once each (no 12-s retry loop while events are kept).
        before = faults.calls
        await _wait(lambda: faults.calls >= before + 2, "two more attempts on the clock")

        faults.refuse = lambda events: None  # the database is back
        items = await p.wait_for(lambda a: len(a) == 1 and a[0]["state"] == "resolved", sensor_id=sensor)
        assert [(a["state"], a["reading_value"], a["peak_value"]) for a in items] == [("resolved", 1.5, 1.5)]
        detail = (await p.client.get(f"/api/v1/alerts/{items[0]['id']}", headers=p.engineer)).json()
        assert [h["action"] for h in detail["history"]] == ["opened", "auto_resolved"]
        assert await _events(sub, sensor, "auto_resolved") == ["opened", "auto_resolved"]
    assert svc._unsaved == [] and svc.unsaved_since is None and _gauge() == 0


async def test_events_the_database_refuses_hold_back_only_their_own_alert_and_are_given_up_loudly(
        alert_platform: AlertPlatform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    p = alert_platform
    svc = p.service
    bad, good = await p.new_sensor(kind="methane", unit="%"), await p.new_sensor(kind="methane", unit="%")
    for s in (bad, good):
        await p.rule(str(s), "limit", RULE)
    monkeypatch.setattr(alert_service, "POISON_ROUNDS", 3)
    faults = Faults(monkeypatch)
    faults.refuse = lambda events: (ValueError("an event the database refuses (test)")
                                    if any(e.key.sensor_id == str(bad) for e in events) else None)
    dropped = REGISTRY.get_sample_value("ghgwatch_alert_events_dropped_total") or 0.0
    answer = await p.client.post("/api/v1/readings", headers=p.auth, json={"readings": [
        {"sensor": s, "ts": datetime.now(UTC).isoformat(), "value": 1.5} for s in (bad, good)]})
    assert answer.status_code == 202 and answer.json()["accepted"] == 2, answer.text
    items = await p.wait_for(lambda a: len(a) == 1, sensor_id=good)
    assert [a["reading_value"] for a in items] == [1.5]  # stored although the other alert's events are refused
    with caplog.at_level(logging.CRITICAL, logger=alert_service.__name__):
        await _wait(lambda: "GIVING UP" in caplog.text, "the refused events given up after 3 rounds")
    assert (REGISTRY.get_sample_value("ghgwatch_alert_events_dropped_total") or 0.0) > dropped
    assert not [e for e in svc._unsaved if e.key.sensor_id == str(bad)]
    assert await p.alerts(sensor_id=bad) == []


def test_coalescing_keeps_every_state_change_and_only_the_last_peak_of_an_alert() -> None:
    def ev(kind: EventKind, sensor: str) -> AlertEvent:
        alert = SimpleNamespace(key=AlertKey(sensor, "limit"))  # only the key matters here
        return AlertEvent(kind, alert, 0.0)  # type: ignore[arg-type]

    events = [ev(EventKind.OPENED, "1"), ev(EventKind.PEAK, "1"), ev(EventKind.PEAK, "2"), ev(EventKind.PEAK, "1"),
              ev(EventKind.RESOLVED, "1"), ev(EventKind.PEAK, "2")]
    kept = coalesce_events(events)
    assert [(e.kind, e.key.sensor_id) for e in kept] == [
        (EventKind.OPENED, "1"), (EventKind.RESOLVED, "1"), (EventKind.PEAK, "2")]

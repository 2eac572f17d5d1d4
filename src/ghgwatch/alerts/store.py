"""Persisting engine events (one row per open alert, history rows) and loading open alerts back.

Callers own the transaction: the service commits once per pipeline batch or tick.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.engine import AlertEvent, AlertKey, EventKind, OpenAlert, Reading, RuleRef
from ghgwatch.alerts.models import Alert, AlertHistory, AlertState, HistoryAction
from ghgwatch.alerts.rule_codec import SEVERITY_NAMES, severity_name
from ghgwatch.alerts.rules.model import RuleKind
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.registry.cache import SensorMeta

ENGINE_ACTOR = "rule-engine"
PEAK = "peak"
"""The action of a new peak that is persisted but not announced (no history row, no event)."""
_ACTION = {
    EventKind.OPENED: HistoryAction.OPENED,
    EventKind.ESCALATED: HistoryAction.ESCALATED,
    EventKind.UPDATED: HistoryAction.UPDATED,
    EventKind.RESOLVED: HistoryAction.AUTO_RESOLVED,
}


def _dt(seconds: float | None) -> datetime | None:
    return None if seconds is None or math.isnan(seconds) else datetime.fromtimestamp(seconds, UTC)


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else ensure_utc(value).isoformat()


def alert_dict(a: Alert) -> dict[str, Any]:
    """The JSON shape of an alert (API answers, SSE, bus, webhooks)."""
    return {
        "id": a.id, "organization_id": a.organization_id, "facility_id": a.facility_id,
        "sensor_id": a.sensor_id, "rule_id": a.rule_id, "condition": a.condition, "severity": a.severity,
        "state": a.state, "threshold": a.threshold, "unit": a.unit, "rule_source": a.rule_source,
        "reason": a.reason, "reading_ts": _iso(a.reading_ts), "reading_value": a.reading_value,
        "peak_ts": _iso(a.peak_ts), "peak_value": a.peak_value, "opened_at": _iso(a.opened_at),
        "updated_at": _iso(a.updated_at), "resolved_at": _iso(a.resolved_at),
        "acknowledged_by": a.acknowledged_by, "acknowledged_at": _iso(a.acknowledged_at), "comment": a.comment,
        "late": bool(a.late),
    }


def history_dict(h: AlertHistory) -> dict[str, Any]:
    return {"at": _iso(h.at), "action": h.action, "actor": h.actor, "comment": h.comment, "details": h.details}


def event_payload(action: str, alert: dict[str, Any], *, actor: str = ENGINE_ACTOR,
                  reason: str = "") -> dict[str, Any]:
    """An event for subscribers: ``event`` is a history action (opened, escalated, acknowledged, ...)."""
    return {"event": action, "at": utcnow().isoformat(), "actor": actor, "reason": reason, "alert": alert}


def to_open_alert(a: Alert) -> OpenAlert:
    sensor = str(a.sensor_id)
    opened_ts = a.reading_ts.timestamp() if a.reading_ts else a.opened_at.timestamp()
    opened = Reading(sensor, opened_ts, math.nan if a.reading_value is None else a.reading_value)
    peak = Reading(sensor, a.peak_ts.timestamp() if a.peak_ts else opened_ts,
                   math.nan if a.peak_value is None else a.peak_value)
    ref = RuleRef(a.rule_id, RuleKind(a.condition), a.threshold, a.unit, a.rule_source)
    return OpenAlert(AlertKey(sensor, a.rule_id), SEVERITY_NAMES[a.severity], ref, opened, peak,
                     a.opened_at.timestamp(), bool(a.late))


async def load_open(session: AsyncSession) -> list[Alert]:
    """Alerts not resolved (open or acknowledged), oldest first."""
    # ext: ghgwatch.lab.alerting; forecast_limit: judged on stored forecasts (ghgwatch.alerts.early_warning)
    stmt = select(Alert).where(Alert.state != AlertState.RESOLVED.value, ~Alert.rule_id.startswith("ext:"),
                               Alert.condition != RuleKind.FORECAST_LIMIT.value).order_by(Alert.id)
    return list((await session.execute(stmt)).scalars())


def new_alert(ev: AlertEvent, meta: SensorMeta) -> Alert:
    """The row of a newly opened alert (not yet added to a session)."""
    oa = ev.alert
    return Alert(
        organization_id=meta.organization_id, facility_id=meta.facility_id, sensor_id=meta.id,
        rule_id=oa.rule.rule_id, condition=oa.rule.kind.value, severity=severity_name(oa.severity),
        state=AlertState.OPEN.value, threshold=oa.rule.threshold, unit=oa.rule.unit or meta.unit,
        rule_source=oa.rule.source[:500], reason=ev.reason[:500], reading_ts=_dt(oa.opened_by.ts),
        reading_value=_num(oa.opened_by.value), peak_ts=_dt(oa.peak.ts), peak_value=_num(oa.peak.value),
        opened_at=_dt(oa.opened_at) or utcnow(), updated_at=utcnow(), late=oa.late,
    )


def _same_opening(row: Alert, ev: AlertEvent) -> bool:
    """Whether ``row`` was opened by the reading that opens ``ev`` (same time to the microsecond, same value)."""
    by = ev.alert.opened_by
    return (row.reading_ts is not None and row.reading_value is not None and not math.isnan(by.value)
            and round(ensure_utc(row.reading_ts).timestamp() * 1e6) == round(by.ts * 1e6)
            and row.reading_value == by.value and row.severity == severity_name(ev.alert.severity))


def _apply(a: Alert, ev: AlertEvent) -> None:
    oa = ev.alert
    a.severity = severity_name(oa.severity)
    a.threshold = oa.rule.threshold
    a.peak_ts, a.peak_value = _dt(oa.peak.ts), _num(oa.peak.value)
    a.updated_at = utcnow()


async def persist_events(
    session: AsyncSession,
    events: Sequence[AlertEvent],
    ids: dict[AlertKey, int],
    sensors: Mapping[int, SensorMeta],
) -> list[tuple[str, dict[str, Any], str]]:
    """Write ``events`` and return ``(action, alert as JSON, reason)`` to publish after the commit.

    ``ids`` maps the key of every open alert to its row and is kept up to date. An ``opened`` event
    for a key that already has an unresolved row (opened by another process, or a lost race) continues
    that row: the database holds one unresolved alert per (sensor, rule) (a partial unique index).
    ``peak`` events update the row's peak only and come back with action ``PEAK`` (not to publish).
    """
    out: list[tuple[str, dict[str, Any], str]] = []
    for ev in events:
        row_id = ids.get(ev.key)
        row = None if row_id is None else await session.get(Alert, row_id)
        if row is not None and row.state == AlertState.RESOLVED.value and ev.kind is not EventKind.RESOLVED:
            row = None  # resolved meanwhile (by hand, or by another process): never continue a resolved row
            ids.pop(ev.key, None)
        elif row is not None and ev.kind is EventKind.OPENED:
            # The engine opens a new alert while this process's row of the key is still unresolved: the
            # resolution of that alert was not stored. Resolve the old row and open a new one, so that
            # the new alert is announced as opened (and notified) rather than folded into the old row.
            row.state, row.resolved_at = AlertState.RESOLVED.value, utcnow()
            session.add(AlertHistory(alert_id=row.id, action=HistoryAction.AUTO_RESOLVED.value, actor=ENGINE_ACTOR,
                                     details={"reason": "superseded: the engine opened a new alert"}))
            await session.flush()
            row = None
            ids.pop(ev.key, None)
        if row is None and ev.kind is not EventKind.RESOLVED:
            row = (await session.execute(select(Alert).where(
                Alert.sensor_id == int(ev.key.sensor_id), Alert.rule_id == ev.key.rule_id,
                Alert.state != AlertState.RESOLVED.value))).scalars().first()
            if row is not None:
                ids[ev.key] = row.id
                if ev.kind is EventKind.OPENED and _same_opening(row, ev):
                    # Opened already from the same reading where it was accepted (alerts/accept_lane.py): the
                    # same alert, announced once; the engine continues it from here on without an event.
                    _apply(row, ev)
                    out.append((PEAK, {}, ""))
                    continue
        if ev.kind is EventKind.PEAK:
            if row is not None:
                _apply(row, ev)
                out.append((PEAK, {}, ""))
            continue
        action = _ACTION[ev.kind]
        if row is None:
            if ev.kind is EventKind.RESOLVED:
                continue
            meta = sensors.get(int(ev.key.sensor_id))
            if meta is None:
                continue
            row = new_alert(ev, meta)
            session.add(row)
            await session.flush()
            ids[ev.key] = row.id
            action = HistoryAction.OPENED
        else:
            if ev.kind is EventKind.OPENED:
                action = HistoryAction.UPDATED  # continued, not opened twice
            _apply(row, ev)
            if ev.kind is EventKind.ESCALATED:
                row.state = AlertState.OPEN.value  # a worse condition needs a fresh acknowledgement
            elif ev.kind is EventKind.RESOLVED:
                row.state, row.resolved_at = AlertState.RESOLVED.value, utcnow()
                row.reason = (ev.reason or row.reason)[:500]
                ids.pop(ev.key, None)
        details: dict[str, Any] = {"severity": row.severity, "threshold": row.threshold}
        if ev.reading is not None:
            details |= {"reading_ts": _iso(_dt(ev.reading.ts)), "value": _num(ev.reading.value)}
        if ev.reason:
            details["reason"] = ev.reason
        if ev.kind is EventKind.OPENED and ev.alert.late:
            details["late"] = True
        session.add(AlertHistory(alert_id=row.id, action=action.value, actor=ENGINE_ACTOR, details=details))
        out.append((action.value, alert_dict(row), ev.reason))
    await session.flush()
    return out


def coalesce_events(events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """``events`` without the ``peak`` events that a later event of the same alert makes redundant (every later event
    stores the peak it carries), so events kept through a long outage stay bounded by the alerts' state changes."""
    later: set[AlertKey] = set()
    out: list[AlertEvent] = []
    for ev in reversed(events):
        if ev.kind is EventKind.PEAK and ev.key in later:
            continue
        later.add(ev.key)
        out.append(ev)
    out.reverse()
    return out

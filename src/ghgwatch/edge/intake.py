"""The platform's side of edge gateways: their configuration, and their summaries and alarm events stored
idempotently (a gateway re-sends whatever it has no answer for)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.models import Alert, AlertHistory, AlertState, HistoryAction
from ghgwatch.alerts.rule_codec import rule_to_dict
from ghgwatch.alerts.rules.model import RuleKind
from ghgwatch.alerts.ruleset import build_rules
from ghgwatch.alerts.store import alert_dict, event_payload
from ghgwatch.edge.models import EdgeEvent
from ghgwatch.edge.schemas import AlarmEvent, DeviceKey, EdgeConfig, SensorOut, SensorRules, Summary
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.readings.writer import rebuild_rollups
from ghgwatch.registry.cache import SensorMeta
from ghgwatch.security.models import Device
from ghgwatch.store import Database

MINUTE_US = 60_000_000
FUTURE_TOLERANCE = timedelta(minutes=5)
T = TypeVar("T")
_ACTIONS = {"opened": HistoryAction.OPENED, "escalated": HistoryAction.ESCALATED,
            "updated": HistoryAction.UPDATED, "resolved": HistoryAction.AUTO_RESOLVED}

Rejected = list[dict[str, Any]]


def decode_items(raw: Sequence[msgspec.Raw], kind: type[T]) -> tuple[list[tuple[int, T]], Rejected]:
    """Each item on its own, so that one bad item is reported by index and never rejects the others."""
    decoder = msgspec.json.Decoder(kind)
    items: list[tuple[int, T]] = []
    rejected: Rejected = []
    for index, item in enumerate(raw):
        try:
            items.append((index, decoder.decode(item)))
        except msgspec.ValidationError as exc:
            rejected.append({"index": index, "error": str(exc)})
    return items, rejected


def _us(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


async def build_config(session: AsyncSession, metas: Mapping[int, SensorMeta], *, organization_id: int,
                       device_id: int) -> EdgeConfig:
    """What a gateway needs to run offline: its organisation's sensors, their rules, the devices' keys."""
    mine = {i: m for i, m in metas.items() if m.organization_id == organization_id}
    snapshot = await build_rules(session, mine)
    rules = [SensorRules(sensor=int(e.sensor.id), rules={r.id: rule_to_dict(r) for r in e.rules},
                         problems=list(e.problems)) for e in snapshot.effective]
    devices = (await session.execute(select(Device).where(
        Device.organization_id == organization_id, Device.revoked_at.is_(None),
        Device.gateway.is_(False)).order_by(Device.id))).scalars()
    return EdgeConfig(
        organization_id=organization_id, device_id=device_id, generated_at=datetime.now(UTC),
        sensors=[SensorOut(**asdict(m)) for m in sorted(mine.values(), key=lambda m: m.id)], rules=rules,
        devices=[DeviceKey(id=d.id, token_hash=d.token_hash, hmac_secret=d.hmac_secret,
                           require_signature=d.require_signature) for d in devices])


def _summary_problem(s: Summary, metas: Mapping[int, SensorMeta], organization_id: int) -> str | None:
    meta = metas.get(s.sensor)
    if meta is None or meta.organization_id != organization_id:
        return f"unknown sensor {s.sensor}"
    if s.minute.tzinfo is None or s.last_ts.tzinfo is None:
        return "minute and last_ts must carry a UTC offset"
    if s.minute.second or s.minute.microsecond:
        return "minute must be the start of a minute"
    if s.minute > datetime.now(UTC) + FUTURE_TOLERANCE:
        return "minute is in the future"
    if s.count < 1:
        return "count must be at least 1"
    if not all(math.isfinite(v) for v in (s.sum, s.min, s.max, s.last)):
        return "sum, min, max and last must be finite numbers"
    if not s.min <= s.last <= s.max or not s.min <= s.sum / s.count <= s.max:
        return "min <= last <= max and min <= mean <= max must hold"
    if not 0 <= _us(s.last_ts) - _us(s.minute) < MINUTE_US:
        return "last_ts must lie within the minute"
    return None


async def store_summaries(db: Database, items: Sequence[tuple[int, Summary]], metas: Mapping[int, SensorMeta], *,
                          organization_id: int) -> tuple[int, Rejected]:
    """Replace the ``rollup_1m`` rows of the summarised minutes, recompile their hours and days, and move
    ``sensor_latest`` forward. Sending the same summaries again changes nothing."""
    rows: list[dict[str, Any]] = []
    rejected: Rejected = []
    for index, s in items:
        problem = _summary_problem(s, metas, organization_id)
        if problem is not None:
            rejected.append({"index": index, "error": problem})
            continue
        rows.append({"s": s.sensor, "b": _us(s.minute), "n": s.count, "sum": s.sum, "mn": s.min, "mx": s.max,
                     "last": s.last, "lt": _us(s.last_ts)})
    if not rows:
        return 0, rejected
    latest: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r["s"] not in latest or r["lt"] > latest[r["s"]]["t"]:
            latest[r["s"]] = {"s": r["s"], "t": r["lt"], "v": r["last"]}
    async with db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO rollup_1m (sensor_id, bucket, count, sum, min, max, last, last_ts) "
            "VALUES (:s, :b, :n, :sum, :mn, :mx, :last, :lt) ON CONFLICT (sensor_id, bucket) DO UPDATE SET "
            "count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, "
            "last = excluded.last, last_ts = excluded.last_ts"), rows)
        await conn.execute(text(
            "INSERT INTO sensor_latest (sensor_id, ts, value, quality) VALUES (:s, :t, :v, 0) "
            "ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = 0 "
            "WHERE excluded.ts >= sensor_latest.ts"), list(latest.values()))
    # Hours and days from the minutes (a minute with raw readings is recompiled from them: raw wins).
    lo = min(r["b"] for r in rows)
    hi = max(r["b"] for r in rows) + MINUTE_US
    await rebuild_rollups(db, sorted({r["s"] for r in rows}), lo, hi)
    return len(rows), rejected


def _event_problem(e: AlarmEvent, metas: Mapping[int, SensorMeta], organization_id: int) -> str | None:
    meta = metas.get(e.sensor)
    if meta is None or meta.organization_id != organization_id:
        return f"unknown sensor {e.sensor}"
    if e.kind not in _ACTIONS:
        return f"kind must be one of {', '.join(_ACTIONS)}"
    if e.severity not in ("warning", "alarm"):
        return "severity must be warning or alarm"
    if e.condition not in {k.value for k in RuleKind}:
        return f"condition must be one of {', '.join(k.value for k in RuleKind)}"
    if any(t is not None and t.tzinfo is None for t in (e.at, e.reading_ts, e.peak_ts, e.opened_at)):
        return "timestamps must carry a UTC offset"
    return None


async def apply_events(session: AsyncSession, items: Sequence[tuple[int, AlarmEvent]],
                       metas: Mapping[int, SensorMeta], *, organization_id: int,
                       device_id: int) -> tuple[int, int, Rejected, list[dict[str, Any]]]:
    """Turn a gateway's alarm events into alerts (one alert per alarm the gateway opened). Returns
    (applied, duplicates, rejected, payloads to publish after the commit)."""
    actor = f"edge-gateway:{device_id}"
    applied = duplicates = 0
    rejected: Rejected = []
    payloads: list[dict[str, Any]] = []
    for index, e in items:
        problem = _event_problem(e, metas, organization_id)
        if problem is not None:
            rejected.append({"index": index, "error": problem})
            continue
        seen = (await session.execute(select(EdgeEvent.id).where(
            EdgeEvent.device_id == device_id, EdgeEvent.event_id == e.id))).first()
        if seen is not None:
            duplicates += 1
            continue
        alert = await _alert_for(session, e, device_id)
        action = _ACTIONS[e.kind]
        if alert is None:
            if e.kind == "resolved":  # an alarm this platform never saw open: nothing to resolve
                session.add(EdgeEvent(organization_id=organization_id, device_id=device_id, event_id=e.id,
                                      kind=e.kind))
                applied += 1
                continue
            alert = _new_alert(e, metas[e.sensor], actor)
            session.add(alert)
            await session.flush()
            action = HistoryAction.OPENED
        else:
            _update_alert(alert, e)
        session.add(EdgeEvent(organization_id=organization_id, device_id=device_id, event_id=e.id, kind=e.kind,
                              alert_id=alert.id))
        details: dict[str, Any] = {"severity": e.severity, "threshold": e.threshold, "edge_event": e.id}
        if e.reading_ts is not None:
            details |= {"reading_ts": e.reading_ts.isoformat(), "value": e.reading_value}
        session.add(AlertHistory(alert_id=alert.id, action=action.value, actor=actor, details=details))
        await session.flush()
        payloads.append(event_payload(action.value, alert_dict(alert), actor=actor, reason=e.reason))
        applied += 1
    return applied, duplicates, rejected, payloads


async def _alert_for(session: AsyncSession, e: AlarmEvent, device_id: int) -> Alert | None:
    if e.kind == "opened":
        return None
    row = (await session.execute(select(EdgeEvent.alert_id).where(
        EdgeEvent.device_id == device_id, EdgeEvent.event_id == e.alert))).first()
    return None if row is None or row[0] is None else await session.get(Alert, row[0])


def _new_alert(e: AlarmEvent, meta: SensorMeta, actor: str) -> Alert:
    reason = e.reason or f"evaluated at {actor}"
    return Alert(
        organization_id=meta.organization_id, facility_id=meta.facility_id, sensor_id=meta.id, rule_id=e.rule_id,
        condition=e.condition, severity=e.severity, state=AlertState.OPEN.value, threshold=e.threshold,
        unit=e.unit or meta.unit, rule_source=e.rule_source[:500], reason=reason[:500], reading_ts=e.reading_ts,
        reading_value=e.reading_value, peak_ts=e.peak_ts, peak_value=e.peak_value,
        opened_at=e.opened_at or e.at, updated_at=utcnow())


def _update_alert(alert: Alert, e: AlarmEvent) -> None:
    alert.severity, alert.threshold = e.severity, e.threshold
    if e.peak_ts is not None:
        alert.peak_ts, alert.peak_value = e.peak_ts, e.peak_value
    alert.updated_at = utcnow()
    if e.kind == "escalated":
        alert.state = AlertState.OPEN.value  # a worse condition needs a fresh acknowledgement
    elif e.kind == "resolved":
        alert.state, alert.resolved_at = AlertState.RESOLVED.value, e.at
        alert.reason = (e.reason or alert.reason)[:500]

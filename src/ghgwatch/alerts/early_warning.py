"""The early-warning rule (``forecast_limit``): judged on a stored forecast instead of on readings.

A forecast is ``points`` of ``{ts, forecast, lower, upper}`` issued from ``origin`` (its last value). For each
``forecast_limit`` rule in force for the sensor (defaults and the organisation's stored rules, resolved as for the
rule engine), the alert opens when some point within ``within_min`` minutes after the origin has an upper bound
(the point forecast when the forecast has no interval) above the limit; it resolves when a later forecast has
none. One unresolved alert per (sensor, rule), as for every rule (the partial unique index of ``alerts``); a
forecast that still crosses updates the open alert (history ``updated``) and its peak. The rule engine does not
load these alerts (``alerts.store.load_open``): it never judges them.

Callers own the transaction; the returned changes are those of :func:`ghgwatch.alerts.store.persist_events`
(notifications queued through the outbox here), to publish after the commit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.models import Alert, AlertHistory, AlertRule, AlertState, HistoryAction
from ghgwatch.alerts.outbox.enqueue import Change, record_alert_changes
from ghgwatch.alerts.rule_codec import add_layers, severity_name
from ghgwatch.alerts.rules import ForecastLimitRule, default_ruleset, resolve_rules
from ghgwatch.alerts.ruleset import sensor_spec
from ghgwatch.alerts.store import alert_dict
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.registry.cache import SensorMeta
from ghgwatch.registry.models import EmissionSource, Sensor

ACTOR = "early-warning"


async def sensor_meta(session: AsyncSession, sensor_id: int) -> SensorMeta | None:
    row = (await session.execute(
        select(Sensor, EmissionSource.type).join(EmissionSource, Sensor.source_id == EmissionSource.id)
        .where(Sensor.id == sensor_id))).first()
    if row is None:
        return None
    s, src_type = row
    return SensorMeta(s.id, s.organization_id, s.facility_id, s.source_id, src_type.value, s.kind.value, s.unit,
                      s.range_min, s.range_max, s.warning_level, s.alarm_level, s.expected_interval_s, s.location,
                      s.active)


async def forecast_rules(session: AsyncSession, meta: SensorMeta) -> list[ForecastLimitRule]:
    """The ``forecast_limit`` rules in force for the sensor (with their limits resolved)."""
    stored = (await session.execute(select(AlertRule).where(AlertRule.organization_id == meta.organization_id)
                                    .order_by(AlertRule.id))).scalars().all()
    ruleset = add_layers(default_ruleset(), [(r.scope, r.selector, r.rule_id, r.definition) for r in stored])
    effective = resolve_rules(sensor_spec(meta), ruleset)
    return [r for r in effective.rules if isinstance(r, ForecastLimitRule)]


def first_crossing(rule: ForecastLimitRule, origin: datetime, points: Sequence[Mapping[str, Any]]
                   ) -> tuple[datetime, float] | None:
    """The first point within the rule's window whose upper bound (else forecast) exceeds the limit."""
    if rule.limit is None:
        return None
    end = ensure_utc(origin) + timedelta(minutes=rule.within_min)
    for p in points:
        ts = pd.Timestamp(p["ts"]).to_pydatetime()
        bound = p.get("upper")
        if bound is None or (isinstance(bound, float) and math.isnan(bound)):
            bound = p.get("forecast")
        if bound is None or ensure_utc(ts) <= ensure_utc(origin) or ensure_utc(ts) > end:
            continue
        if float(bound) > rule.limit:
            return ts, float(bound)
    return None


async def judge_forecast(session: AsyncSession, *, sensor_id: int, origin: datetime,
                         points: Sequence[Mapping[str, Any]], forecast_id: int | None = None) -> list[Change]:
    """Open, update or resolve the sensor's early-warning alerts for a forecast just stored."""
    meta = await sensor_meta(session, sensor_id)
    if meta is None or not meta.active:
        return []
    changes: list[Change] = []
    for rule in await forecast_rules(session, meta):
        crossing = first_crossing(rule, origin, points)
        row = (await session.execute(select(Alert).where(
            Alert.sensor_id == sensor_id, Alert.rule_id == rule.id, Alert.state != AlertState.RESOLVED.value)
            .order_by(Alert.id).limit(1))).scalar_one_or_none()
        details: dict[str, Any] = {"forecast_id": forecast_id, "origin": ensure_utc(origin).isoformat(),
                                   "limit": rule.limit, "within_min": rule.within_min}
        now = utcnow()
        if crossing is None:
            if row is None:
                continue
            reason = (f"the forecast from {ensure_utc(origin):%Y-%m-%d %H:%M} UTC stays below {rule.limit:g} "
                      f"{meta.unit} for the next {rule.within_min:g} min")
            row.state, row.resolved_at, row.updated_at, row.reason = AlertState.RESOLVED.value, now, now, reason
            action = HistoryAction.AUTO_RESOLVED
        else:
            at, value = crossing
            minutes = (ensure_utc(at) - ensure_utc(origin)).total_seconds() / 60
            reason = (f"forecast upper bound {value:.3g} {meta.unit} crosses the limit {rule.limit:g} at "
                      f"{ensure_utc(at):%H:%M} UTC, {minutes:.0f} min after the last value")
            details |= {"crossing_ts": ensure_utc(at).isoformat(), "value": value}
            if row is None:
                row = Alert(organization_id=meta.organization_id, facility_id=meta.facility_id, sensor_id=sensor_id,
                            rule_id=rule.id, condition=rule.kind.value, severity=severity_name(rule.severity),
                            state=AlertState.OPEN.value, threshold=rule.limit, unit=rule.unit or meta.unit,
                            rule_source=rule.source[:500], reason=reason[:500], reading_ts=at, reading_value=value,
                            peak_ts=at, peak_value=value, opened_at=now, updated_at=now)
                session.add(row)
                await session.flush()
                action = HistoryAction.OPENED
            else:
                row.reason, row.updated_at, row.threshold = reason[:500], now, rule.limit
                if row.peak_value is None or value > row.peak_value:
                    row.peak_ts, row.peak_value = at, value
                action = HistoryAction.UPDATED
        session.add(AlertHistory(alert_id=row.id, action=action.value, actor=ACTOR,
                                 details=details | {"reason": reason}))
        await session.flush()
        changes.append((action.value, alert_dict(row), reason))
    if changes:
        await record_alert_changes(session, changes, actor=ACTOR)
    return changes

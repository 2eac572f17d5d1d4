"""Alerts opened outside the rule engine (a lab sample's calibration check, a measured UAV leak).

They are ordinary rows of ``alerts`` (listed, acknowledged and resolved like any other), with a ``rule_id`` that
starts with :data:`EXTERNAL_PREFIX`. The rule engine does not load them at start-up (``alerts.store.load_open``
leaves them out): it has no rule to continue them with and would resolve them as "rule no longer in force".
``sensor_id`` is the sensor checked, or 0 for an alert that concerns a source and no sensor (a UAV leak): such an
alert names its subject in its ``rule_id`` (:func:`uav_leak_rule`: the facility, and the source when the flight
has one), which :func:`leak_subject` reads back and the web UI shows as the source's name instead of a sensor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.models import Alert, AlertHistory, AlertState, HistoryAction
from ghgwatch.alerts.store import alert_dict, event_payload
from ghgwatch.kit.timeutil import utcnow

EXTERNAL_PREFIX = "ext:"
CALIBRATION_RULE = EXTERNAL_PREFIX + "calibration"
UAV_LEAK_RULE = EXTERNAL_PREFIX + "uav_leak"
NO_SENSOR = 0


def uav_leak_rule(facility_id: int, source_id: int | None) -> str:
    """``ext:uav_leak:<facility>:<source>`` (or ``ext:uav_leak:<facility>`` for a flight with no source): one
    open leak alert per source, since the database keeps one unresolved alert per (sensor, rule)."""
    return f"{UAV_LEAK_RULE}:{facility_id}" + (f":{source_id}" if source_id is not None else "")


def leak_subject(rule_id: str) -> tuple[int, int | None] | None:
    """``(facility_id, source_id)`` of a UAV leak alert's ``rule_id``; None for any other alert."""
    head, _, rest = rule_id.partition(UAV_LEAK_RULE + ":")
    parts = rest.split(":")
    if head or not rest or len(parts) > 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else None


async def open_alert(session: AsyncSession, *, actor: str, organization_id: int, facility_id: int,
                     sensor_id: int, rule_id: str, condition: str, severity: str, reason: str, value: float,
                     threshold: float | None, unit: str | None, at: datetime,
                     details: dict[str, Any]) -> tuple[Alert, dict[str, Any]]:
    """Open an alert, or update the open one with the same sensor and rule (one open alert per pair, like the
    engine's); returns the row and the event to publish after the commit."""
    existing = (await session.execute(
        select(Alert).where(Alert.organization_id == organization_id, Alert.sensor_id == sensor_id,
                            Alert.facility_id == facility_id, Alert.rule_id == rule_id,
                            Alert.state != AlertState.RESOLVED.value).order_by(Alert.id).limit(1)
    )).scalar_one_or_none()
    now = utcnow()
    if existing is None:
        row = Alert(organization_id=organization_id, facility_id=facility_id, sensor_id=sensor_id, rule_id=rule_id,
                    condition=condition, severity=severity, state=AlertState.OPEN.value, threshold=threshold,
                    unit=unit, rule_source=rule_id, reason=reason[:500], reading_ts=at, reading_value=value,
                    peak_ts=at, peak_value=value, opened_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        action = HistoryAction.OPENED
    else:
        row = existing
        row.reason, row.updated_at = reason[:500], now
        if row.peak_value is None or abs(value) > abs(row.peak_value):
            row.peak_ts, row.peak_value = at, value
        action = HistoryAction.UPDATED
    session.add(AlertHistory(alert_id=row.id, action=action.value, actor=actor,
                             details={"reason": reason, "value": value, "threshold": threshold} | details))
    await session.flush()
    return row, event_payload(action.value, alert_dict(row), actor=actor, reason=reason)


async def publish(extras: dict[str, Any], payloads: list[dict[str, Any]]) -> None:
    """To the SSE streams, the notifier and the bus through the running alert service, else to the hub."""
    if not payloads:
        return
    service = extras.get("alerts")
    if service is not None:
        await service.publish(payloads)
        return
    from ghgwatch.alerts.hub import hub_of

    hub = hub_of(extras)
    for p in payloads:
        hub.publish(p)

"""What automated responses do: match rules to alert changes, write commands (to the outbox) and work orders,
take the equipment's acknowledgements, and fail commands whose deadlines passed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.outbox.models import OutboxKind, OutboxMessage, OutboxStatus
from ghgwatch.alerts.store import ENGINE_ACTOR
from ghgwatch.audit import service as audit
from ghgwatch.audit.service import snapshot
from ghgwatch.kit.problems import conflict
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.registry.models import EmissionSource, Sensor
from ghgwatch.responses.models import CommandStatus, ResponseCommand, ResponseRule, WorkOrder, WorkOrderStatus

TRIGGERS: Final = frozenset({"opened", "escalated"})
_RANK: Final = {"warning": 1, "alarm": 2}
RESPONDER = "automated-response"


def rule_matches(rule: ResponseRule, alert: dict[str, Any], source_type: str | None, action: str) -> bool:
    """Same organisation, the rule's facility and source kind if it names them, severity at least the rule's."""
    return (
        rule.active
        and rule.organization_id == alert["organization_id"]
        and (action == "opened" or rule.on_escalation)
        and _RANK.get(alert["severity"], 0) >= _RANK.get(rule.min_severity, 2)
        and (rule.facility_id is None or rule.facility_id == alert["facility_id"])
        and (not rule.source_type or rule.source_type == source_type)
    )


def command_key(action: str, equipment: str, alert_id: int, event: str, severity: str) -> str:
    """Names the action and the target equipment, so that equipment can dedupe on it and people can read it."""
    return f"{action}:{equipment}:alert-{alert_id}:{event}:{severity}"


async def _source_type(session: AsyncSession, sensor_id: int) -> str | None:
    stmt = select(EmissionSource.type).join(Sensor, Sensor.source_id == EmissionSource.id).where(Sensor.id == sensor_id)
    value = (await session.execute(stmt)).scalar_one_or_none()
    return None if value is None else str(getattr(value, "value", value))


async def trigger_responses(session: AsyncSession, action: str, alert: dict[str, Any]) -> int:
    """Commands and work orders for one alert change; returns the number of outbox rows written."""
    if action not in TRIGGERS:
        return 0
    rules = list((await session.execute(select(ResponseRule).where(
        ResponseRule.organization_id == alert["organization_id"], ResponseRule.active.is_(True))
        .order_by(ResponseRule.id))).scalars())
    if not rules:
        return 0
    source_type = await _source_type(session, alert["sensor_id"])
    now, written = utcnow(), 0
    for rule in rules:
        if not rule_matches(rule, alert, source_type, action):
            continue
        if rule.action and rule.equipment and rule.command_url:
            written += await _command(session, rule, alert, action, now)
        if rule.work_order:
            await _work_order(session, rule, alert, action, now)
    return written


async def _command(session: AsyncSession, rule: ResponseRule, alert: dict[str, Any], action: str,
                   now: datetime) -> int:
    assert rule.action and rule.equipment
    key = command_key(rule.action, rule.equipment, alert["id"], action, alert["severity"])
    if (await session.execute(select(ResponseCommand.id).where(ResponseCommand.idempotency_key == key))).first():
        return 0  # the same change seen again (a replay): one command per key
    command = ResponseCommand(organization_id=rule.organization_id, rule_id=rule.id, alert_id=alert["id"],
                              action=rule.action, equipment=rule.equipment, idempotency_key=key,
                              created_at=now, updated_at=now,
                              ack_deadline=now + timedelta(seconds=rule.ack_timeout_s))
    session.add(command)
    await session.flush()
    payload = {"command_id": command.id, "action": rule.action, "equipment": rule.equipment,
               "idempotency_key": key, "event": action, "issued_at": now.isoformat(),
               "ack_path": f"/api/v1/response-commands/{command.id}/ack",
               "ack_deadline": command.ack_deadline.isoformat(), "alert": alert}
    session.add(OutboxMessage(organization_id=rule.organization_id, kind=OutboxKind.COMMAND.value,
                              command_id=command.id, alert_id=alert["id"], event=action, idempotency_key=key,
                              payload=payload))
    await audit.record(session, actor=RESPONDER, action="create", entity="response_command", entity_id=command.id,
                       organization_id=rule.organization_id, after=snapshot(command))
    return 1


async def _work_order(session: AsyncSession, rule: ResponseRule, alert: dict[str, Any], action: str,
                      now: datetime) -> None:
    exists = (await session.execute(select(WorkOrder.id).where(WorkOrder.alert_id == alert["id"],
                                                                 WorkOrder.response_rule_id == rule.id))).first()
    if exists:
        return  # one work order per alert and rule: an escalation does not open a second one
    title = f"{rule.name}: {alert['severity']} {alert['condition']} on sensor {alert['sensor_id']}"
    order = WorkOrder(organization_id=rule.organization_id, facility_id=alert["facility_id"], alert_id=alert["id"],
                      response_rule_id=rule.id, title=title[:200],
                      description=f"Alert {alert['id']} {action}: {alert.get('reason') or ''}".strip()[:2000],
                      assignee=rule.work_order_assignee, due_at=now + timedelta(seconds=rule.work_order_due_s),
                      status=WorkOrderStatus.OPEN.value, created_by=ENGINE_ACTOR)
    session.add(order)
    await session.flush()
    await audit.record(session, actor=RESPONDER, action="create", entity="work_order", entity_id=order.id,
                       organization_id=order.organization_id, after=snapshot(order))


# ------------------------------------------------------------------------------ acknowledgements and deadlines
_NEXT: Final = {
    CommandStatus.PENDING: {CommandStatus.ACKNOWLEDGED, CommandStatus.DONE, CommandStatus.FAILED},
    CommandStatus.ACKNOWLEDGED: {CommandStatus.DONE, CommandStatus.FAILED},
    CommandStatus.DONE: set(),
    CommandStatus.FAILED: set(),
}


async def acknowledge(session: AsyncSession, command: ResponseCommand, rule: ResponseRule | None,
                      status: CommandStatus, detail: str | None, *, actor: str) -> bool:
    """Apply a report of the equipment; ``False`` when it repeats the current status (nothing changes)."""
    current = CommandStatus(command.status)
    if status is current:
        return False
    if status not in _NEXT[current]:
        if command.detail:  # the equipment's or the deadline's own words, as they are
            raise conflict("command {id} is {current} ({why}); it cannot become {status}", id=command.id,
                           current=current.value, why=command.detail, status=status.value)
        raise conflict("command {id} is {current}; it cannot become {status}", id=command.id, current=current.value,
                       status=status.value)
    before, now = snapshot(command), utcnow()
    command.status, command.updated_at = status.value, now
    if detail:
        command.detail = detail[:500]
    if status is CommandStatus.ACKNOWLEDGED:
        command.acknowledged_at = now
        done_s = rule.done_timeout_s if rule is not None else 600.0
        command.done_deadline = now + timedelta(seconds=done_s)
    else:
        command.acknowledged_at = command.acknowledged_at or now
        command.finished_at = now
    await audit.record(session, actor=actor, action=f"command_{status.value}", entity="response_command",
                       entity_id=command.id, organization_id=command.organization_id, before=before,
                       after=snapshot(command))
    return True


async def mark_sent(session: AsyncSession, command_id: int) -> None:
    await session.execute(update(ResponseCommand).where(ResponseCommand.id == command_id,
                                                        ResponseCommand.sent_at.is_(None)).values(sent_at=utcnow()))


async def fail_command(session: AsyncSession, command_id: int, detail: str) -> None:
    command = await session.get(ResponseCommand, command_id)
    if command is None or command.status in (CommandStatus.DONE.value, CommandStatus.FAILED.value):
        return
    before = snapshot(command)
    command.status, command.detail = CommandStatus.FAILED.value, detail[:500]
    command.finished_at = command.updated_at = utcnow()
    await audit.record(session, actor=RESPONDER, action="command_failed", entity="response_command",
                       entity_id=command.id, organization_id=command.organization_id, before=before,
                       after=snapshot(command))


def _overdue(now: datetime) -> Any:
    return or_(and_(ResponseCommand.status == CommandStatus.PENDING.value, ResponseCommand.ack_deadline <= now),
               and_(ResponseCommand.status == CommandStatus.ACKNOWLEDGED.value,
                    ResponseCommand.done_deadline <= now))


async def any_overdue(session: AsyncSession, now: datetime | None = None) -> bool:
    """A cheap read, so that the dispatcher takes SQLite's write lock only when there is something to fail."""
    stmt = select(ResponseCommand.id).where(_overdue(now or utcnow())).limit(1)
    return (await session.execute(stmt)).first() is not None


async def expire(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Fail commands whose acknowledgement or completion is overdue, and stop delivering them."""
    now = now or utcnow()
    rows = list((await session.execute(select(ResponseCommand).where(_overdue(now)))).scalars())
    failed = []
    for c in rows:
        if c.status == CommandStatus.PENDING.value:
            deadline = ensure_utc(c.ack_deadline).isoformat()
            why = f"no acknowledgement from the equipment before the deadline ({deadline})"
        else:
            deadline = ensure_utc(c.done_deadline).isoformat() if c.done_deadline else "?"
            why = f"acknowledged but not reported done before the deadline ({deadline})"
        await fail_command(session, c.id, why)
        failed.append(c.id)
    if failed:
        await session.execute(update(OutboxMessage).where(
            OutboxMessage.command_id.in_(failed), OutboxMessage.status == OutboxStatus.PENDING.value).values(
            status=OutboxStatus.FAILED.value, last_error="command failed: deadline passed", lease_until=None))
    return failed

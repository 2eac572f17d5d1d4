"""What the API does with alerts, rules, routes and deliveries; the caller's transaction, audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.models import (
    Alert,
    AlertHistory,
    AlertRule,
    AlertState,
    HistoryAction,
    NotificationDelivery,
    NotificationRoute,
)
from ghgwatch.audit import service as audit
from ghgwatch.audit.service import snapshot
from ghgwatch.kit.problems import Problem, Term, conflict, not_found
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.registry.models import EmissionSource, Sensor
from ghgwatch.security.models import Role
from ghgwatch.security.principal import Principal

ACTORS = frozenset({Role.ADMIN, Role.ENGINEER, Role.OPERATOR})  # who acknowledges and resolves
CONFIGURERS = frozenset({Role.ADMIN, Role.ENGINEER})  # who edits rules and routes


def _scoped(stmt: Select[Any], actor: Principal, column: Any) -> Select[Any]:
    org = actor.org_filter()
    return stmt if org is None else stmt.where(column == org)


async def page(session: AsyncSession, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    total = int((await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())))
                .scalar_one())
    rows = list((await session.execute(stmt.limit(limit).offset(offset))).scalars())
    return rows, total


async def list_alerts(session: AsyncSession, actor: Principal, *, state: str | None = None,
                      severity: str | None = None, facility_id: int | None = None, sensor_id: int | None = None,
                      since: datetime | None = None, until: datetime | None = None, limit: int = 100,
                      offset: int = 0) -> tuple[list[Alert], int]:
    """Newest first; ``since``/``until`` bound ``opened_at`` (half-open: since <= opened_at < until)."""
    stmt = _scoped(select(Alert), actor, Alert.organization_id).order_by(Alert.opened_at.desc(), Alert.id.desc())
    for column, value in ((Alert.state, state), (Alert.severity, severity), (Alert.facility_id, facility_id),
                          (Alert.sensor_id, sensor_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(Alert.opened_at >= since)
    if until is not None:
        stmt = stmt.where(Alert.opened_at < until)
    return await page(session, stmt, limit, offset)


async def sources_of(session: AsyncSession, actor: Principal, alerts: list[Alert]) -> dict[int, tuple[int, str]]:
    """``{alert id: (source id, source name)}``: the source a sensor's alert's sensor belongs to, or the source a
    UAV leak alert names in its ``rule_id`` (it has no sensor). Two queries for any number of alerts, both limited
    to the actor's organisation; an alert whose source is gone (or a leak with no source) is left out."""
    from ghgwatch.lab.alerting import leak_subject  # lab imports alerts: read its rule format lazily

    org = actor.org_filter()
    sensor_ids = {a.sensor_id for a in alerts if leak_subject(a.rule_id) is None}
    source_of_sensor: dict[int, int] = {}
    if sensor_ids:
        by_sensor = select(Sensor.id, Sensor.source_id).where(Sensor.id.in_(sensor_ids))
        if org is not None:
            by_sensor = by_sensor.where(Sensor.organization_id == org)
        source_of_sensor = {sensor: source for sensor, source in await session.execute(by_sensor)}
    wanted: dict[int, int] = {}
    for a in alerts:
        leak = leak_subject(a.rule_id)
        source = leak[1] if leak is not None else source_of_sensor.get(a.sensor_id)
        if source is not None:
            wanted[a.id] = source
    if not wanted:
        return {}
    named = select(EmissionSource.id, EmissionSource.name).where(EmissionSource.id.in_(set(wanted.values())))
    if org is not None:
        named = named.where(EmissionSource.organization_id == org)
    names = {source: name for source, name in await session.execute(named)}
    return {alert: (source, names[source]) for alert, source in wanted.items() if source in names}


async def get_alert(session: AsyncSession, actor: Principal, alert_id: int) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise not_found("alert", alert_id)
    actor.require_org(alert.organization_id)
    return alert


async def history(session: AsyncSession, alert_id: int) -> list[AlertHistory]:
    stmt = select(AlertHistory).where(AlertHistory.alert_id == alert_id).order_by(AlertHistory.id)
    return list((await session.execute(stmt)).scalars())


async def change_state(session: AsyncSession, actor: Principal, alert_id: int, action: HistoryAction,
                       comment: str | None) -> Alert:
    """Acknowledge or resolve by hand, with history and audit entries."""
    actor.require_role(ACTORS)
    alert = await get_alert(session, actor, alert_id)
    if alert.state == AlertState.RESOLVED.value:
        raise conflict("alert {id} is already resolved", id=alert_id)
    before = snapshot(alert)
    now = utcnow()
    if action is HistoryAction.ACKNOWLEDGED:
        if alert.state == AlertState.ACKNOWLEDGED.value:
            raise conflict("alert {id} is already acknowledged", id=alert_id)
        alert.state, alert.acknowledged_by, alert.acknowledged_at = AlertState.ACKNOWLEDGED.value, actor.username, now
    else:
        alert.state, alert.resolved_at = AlertState.RESOLVED.value, now
        alert.reason = "resolved by hand"
    alert.comment, alert.updated_at = comment or alert.comment, now
    session.add(AlertHistory(alert_id=alert.id, action=action.value, actor=actor.username, comment=comment,
                             at=now, details={"state": alert.state}))
    await session.flush()
    await audit.record(session, actor=actor.username, action=action.value, entity="alert", entity_id=alert.id,
                       organization_id=alert.organization_id, before=before, after=snapshot(alert))
    return alert


async def add_comment(session: AsyncSession, actor: Principal, alert_id: int, comment: str) -> Alert:
    """A comment on an alert in any state (an acknowledged alert's follow-up, a resolved alert's post-mortem): a
    history row and an audit entry; the alert's ``comment`` becomes the latest one. Its state does not change."""
    actor.require_role(ACTORS)
    alert = await get_alert(session, actor, alert_id)
    before = snapshot(alert)
    now = utcnow()
    alert.comment, alert.updated_at = comment, now
    session.add(AlertHistory(alert_id=alert.id, action=HistoryAction.COMMENTED.value, actor=actor.username,
                             comment=comment, at=now, details={"state": alert.state}))
    await session.flush()
    await audit.record(session, actor=actor.username, action=HistoryAction.COMMENTED.value, entity="alert",
                       entity_id=alert.id, organization_id=alert.organization_id, before=before,
                       after=snapshot(alert))
    return alert


# ------------------------------------------------------------------------------ rules and routes
async def list_rows(session: AsyncSession, actor: Principal, model: type[AlertRule] | type[NotificationRoute],
                    limit: int, offset: int) -> tuple[list[Any], int]:
    return await page(session, _scoped(select(model), actor, model.organization_id).order_by(model.id),
                      limit, offset)


async def get_row(session: AsyncSession, actor: Principal, model: type[Any], key: int) -> Any:
    row = await session.get(model, key)
    if row is None:
        raise not_found(model.__tablename__.rstrip("s").replace("_", " "), key)
    actor.require_org(row.organization_id)
    return row


async def save_row(session: AsyncSession, actor: Principal, row: Any, entity: str, *,
                   before: dict[str, Any] | None = None) -> Any:
    actor.require_role(CONFIGURERS)
    actor.require_org(row.organization_id)
    session.add(row)
    try:
        await session.flush()
    except Exception as exc:  # unique (organisation, scope, selector, rule id)
        if "unique" in str(exc).lower():
            raise conflict("such a {entity} exists already", entity=Term(entity.replace("_", " "))) from exc
        raise
    await audit.record(session, actor=actor.username, action="update" if before else "create", entity=entity,
                       entity_id=row.id, organization_id=row.organization_id, before=before,
                       after=snapshot(row))
    return row


async def delete_row(session: AsyncSession, actor: Principal, row: Any, entity: str) -> None:
    actor.require_role(CONFIGURERS)
    before = snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="delete", entity=entity, entity_id=before["id"],
                       organization_id=before["organization_id"], before=before)


async def list_deliveries(session: AsyncSession, actor: Principal, *, alert_id: int | None, route_id: int | None,
                          limit: int, offset: int) -> tuple[list[NotificationDelivery], int]:
    stmt = _scoped(select(NotificationDelivery), actor, NotificationDelivery.organization_id)
    if alert_id is not None:
        stmt = stmt.where(NotificationDelivery.alert_id == alert_id)
    if route_id is not None:
        stmt = stmt.where(NotificationDelivery.route_id == route_id)
    return await page(session, stmt.order_by(NotificationDelivery.id), limit, offset)


def invalid(field: str, message: str) -> Problem:
    return Problem(422, "Validation failed", f"{field}: {message}", type_="validation",
                   errors=[{"loc": ["body", field], "msg": message}])

"""Work orders: listing, creation and changes in the caller's transaction, every change audited."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts import queries
from ghgwatch.alerts.models import Alert
from ghgwatch.audit import service as audit
from ghgwatch.audit.models import AuditEntry
from ghgwatch.audit.service import snapshot
from ghgwatch.kit.problems import conflict, not_found
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.registry.models import Facility
from ghgwatch.responses.models import WorkOrder, WorkOrderStatus
from ghgwatch.responses.schemas import WorkOrderIn, WorkOrderPatch
from ghgwatch.security.models import User
from ghgwatch.security.principal import Principal

NEXT: Final = {WorkOrderStatus.OPEN: WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.IN_PROGRESS: WorkOrderStatus.DONE}
"""The only moves: open -> in progress -> done."""


def _iso(value: Any) -> str | None:
    return None if value is None else ensure_utc(value).isoformat()


def work_order_dict(w: WorkOrder) -> dict[str, Any]:
    return {"id": w.id, "organization_id": w.organization_id, "facility_id": w.facility_id, "alert_id": w.alert_id,
            "response_rule_id": w.response_rule_id, "title": w.title, "description": w.description,
            "assignee": w.assignee, "due_at": _iso(w.due_at), "status": w.status, "created_by": w.created_by,
            "created_at": _iso(w.created_at), "updated_at": _iso(w.updated_at), "started_at": _iso(w.started_at),
            "done_at": _iso(w.done_at)}


async def check_assignee(session: AsyncSession, username: str | None, organization_id: int) -> None:
    if not username:
        return
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None or user.organization_id not in (None, organization_id):
        raise queries.invalid("assignee", f"no user {username!r} in organisation {organization_id}")


async def list_orders(session: AsyncSession, actor: Principal, *, status: WorkOrderStatus | None,
                      alert_id: int | None, assignee: str | None, limit: int,
                      offset: int) -> tuple[list[WorkOrder], int]:
    stmt = select(WorkOrder)
    org = actor.org_filter()
    if org is not None:
        stmt = stmt.where(WorkOrder.organization_id == org)
    if status is not None:
        stmt = stmt.where(WorkOrder.status == status.value)
    if alert_id is not None:
        stmt = stmt.where(WorkOrder.alert_id == alert_id)
    if assignee is not None:
        stmt = stmt.where(WorkOrder.assignee == assignee)
    return await queries.page(session, stmt.order_by(WorkOrder.id.desc()), limit, offset)


async def get_order(session: AsyncSession, actor: Principal, key: int) -> WorkOrder:
    order = await session.get(WorkOrder, key)
    if order is None or (actor.org_filter() is not None and order.organization_id != actor.organization_id):
        raise not_found("work order", key)  # another organisation's order is not revealed
    return order


async def trail(session: AsyncSession, key: int) -> list[dict[str, Any]]:
    rows = (await session.execute(select(AuditEntry).where(AuditEntry.entity == "work_order",
                                                           AuditEntry.entity_id == str(key))
                                  .order_by(AuditEntry.id))).scalars()
    return [{"at": _iso(e.ts), "actor": e.actor, "action": e.action,
             "status": (e.after or {}).get("status"), "assignee": (e.after or {}).get("assignee")} for e in rows]


async def create(session: AsyncSession, actor: Principal, body: WorkOrderIn) -> WorkOrder:
    actor.require_role(queries.ACTORS)
    org = body.organization_id if body.organization_id is not None else actor.organization_id
    if org is None:
        raise queries.invalid("organization_id", "required for a user without an organisation")
    actor.require_org(org)
    facility_id = body.facility_id
    if body.alert_id is not None:
        alert = await session.get(Alert, body.alert_id)
        if alert is None or alert.organization_id != org:
            raise queries.invalid("alert_id", f"no alert {body.alert_id} in organisation {org}")
        facility_id = facility_id or alert.facility_id
    if facility_id is not None:
        facility = await session.get(Facility, facility_id)
        if facility is None or facility.organization_id != org:
            raise queries.invalid("facility_id", f"no facility {facility_id} in organisation {org}")
    await check_assignee(session, body.assignee, org)
    order = WorkOrder(organization_id=org, facility_id=facility_id, alert_id=body.alert_id, title=body.title,
                      description=body.description, assignee=body.assignee, due_at=body.due_at,
                      status=WorkOrderStatus.OPEN.value, created_by=actor.username)
    session.add(order)
    await session.flush()
    await audit.record(session, actor=actor.username, action="create", entity="work_order", entity_id=order.id,
                       organization_id=org, after=snapshot(order))
    return order


async def change(session: AsyncSession, actor: Principal, key: int, body: WorkOrderPatch) -> WorkOrder:
    actor.require_role(queries.ACTORS)
    order = await get_order(session, actor, key)
    before = snapshot(order)
    fields = body.model_fields_set
    if "assignee" in fields:
        await check_assignee(session, body.assignee, order.organization_id)
        order.assignee = body.assignee
    for name in ("title", "description", "due_at"):
        if name in fields and (name != "title" or body.title is not None):
            setattr(order, name, getattr(body, name))
    if body.status is not None and body.status.value != order.status:
        current = WorkOrderStatus(order.status)
        if NEXT.get(current) is not body.status:
            allowed = NEXT.get(current)  # statuses as the API spells them, in every language
            if allowed is None:
                raise conflict("work order {key} is {current}: it cannot move to {status} (it is finished)",
                               key=key, current=current.value, status=body.status.value)
            raise conflict("work order {key} is {current}: it cannot move to {status} (only to {allowed})",
                           key=key, current=current.value, status=body.status.value, allowed=allowed.value)
        order.status = body.status.value
        now = utcnow()
        if body.status is WorkOrderStatus.IN_PROGRESS:
            order.started_at = now
        else:
            order.done_at = now
    await session.flush()
    await audit.record_update(session, actor=actor.username, entity="work_order", entity_id=order.id,
                              organization_id=order.organization_id, before=before, obj=order)
    return order

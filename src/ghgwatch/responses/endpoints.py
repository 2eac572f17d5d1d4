"""REST of automated responses: response rules, the commands they sent (with the equipment's acknowledgement
endpoint) and work orders.

No ``from __future__ import annotations``: FastAPI reads the annotations at run time.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from ghgwatch.alerts import queries
from ghgwatch.alerts.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from ghgwatch.audit.service import snapshot
from ghgwatch.kit.problems import Problem, not_found, unauthorized
from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.registry.models import Facility
from ghgwatch.responses import service, workorders
from ghgwatch.responses.models import CommandStatus, ResponseCommand, ResponseRule, WorkOrderStatus
from ghgwatch.responses.schemas import CommandReport, ResponseRuleIn, ResponseRulePatch, WorkOrderIn, WorkOrderPatch
from ghgwatch.security.egress import UnsafeTarget, check_url
from ghgwatch.web.context import context
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(tags=["responses"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


def _page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _iso(value: Any) -> str | None:
    return None if value is None else ensure_utc(value).isoformat()


# ------------------------------------------------------------------------------ response rules
def _rule_out(r: ResponseRule) -> dict[str, Any]:
    return {"id": r.id, "organization_id": r.organization_id, "name": r.name, "facility_id": r.facility_id,
            "source_type": r.source_type, "min_severity": r.min_severity, "on_escalation": r.on_escalation,
            "action": r.action, "equipment": r.equipment, "command_url": r.command_url,
            "has_secret": bool(r.secret), "ack_timeout_s": r.ack_timeout_s, "done_timeout_s": r.done_timeout_s,
            "work_order": r.work_order, "work_order_assignee": r.work_order_assignee,
            "work_order_due_s": r.work_order_due_s, "active": r.active}


async def _check_rule(request: Request, session: Session, r: ResponseRule) -> None:
    """A command needs its action, equipment, URL and secret together; the URL must be a safe target."""
    parts = {"action": r.action, "equipment": r.equipment, "command_url": r.command_url, "secret": r.secret}
    given = [k for k, v in parts.items() if v]
    if given and len(given) < len(parts):
        missing = ", ".join(k for k in parts if k not in given)
        raise queries.invalid(missing.split(",")[0], f"a command needs action, equipment, command_url and secret "
                                                     f"together (missing: {missing})")
    if not given and not r.work_order:
        raise queries.invalid("action", "a response rule needs a command (action, equipment, command_url, secret) "
                                        "or work_order=true")
    if r.command_url:
        try:
            await check_url(r.command_url, allow_private=context(request).settings.security.allow_private_targets)
        except UnsafeTarget as exc:
            raise queries.invalid("command_url", str(exc)) from exc
    if r.facility_id is not None:
        facility = await session.get(Facility, r.facility_id)
        if facility is None or facility.organization_id != r.organization_id:
            raise queries.invalid("facility_id", f"no facility {r.facility_id} in organisation {r.organization_id}")
    await workorders.check_assignee(session, r.work_order_assignee, r.organization_id)


@router.get("/response-rules", summary="Automated response rules")
async def list_rules(session: Session, actor: CurrentPrincipal, limit: Limit = 100,
                     offset: Offset = 0) -> dict[str, Any]:
    stmt = select(ResponseRule).order_by(ResponseRule.id)
    if actor.org_filter() is not None:
        stmt = stmt.where(ResponseRule.organization_id == actor.org_filter())
    rows, total = await queries.page(session, stmt, limit, offset)
    return _page([_rule_out(r) for r in rows], total, limit, offset)


@router.post("/response-rules", status_code=201,
             summary="Add a response rule: a signed command to equipment and/or a work order on open or escalation")
async def create_rule(body: ResponseRuleIn, request: Request, session: Session,
                      actor: CurrentPrincipal) -> dict[str, Any]:
    data = body.model_dump()
    org = data["organization_id"] if data["organization_id"] is not None else actor.organization_id
    if org is None:
        raise queries.invalid("organization_id", "required for a user without an organisation")
    data |= {"organization_id": org, "action": body.action.value if body.action else None,
             "source_type": body.source_type.value if body.source_type else None}
    row = ResponseRule(**data)
    actor.require_role(queries.CONFIGURERS)
    actor.require_org(org)
    await _check_rule(request, session, row)
    return _rule_out(await queries.save_row(session, actor, row, "response_rule"))


@router.get("/response-rules/{key}", summary="One response rule")
async def get_rule(key: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    return _rule_out(await queries.get_row(session, actor, ResponseRule, key))


@router.patch("/response-rules/{key}", summary="Change a response rule")
async def patch_rule(key: int, body: ResponseRulePatch, request: Request, session: Session,
                     actor: CurrentPrincipal) -> dict[str, Any]:
    row: ResponseRule = await queries.get_row(session, actor, ResponseRule, key)
    actor.require_role(queries.CONFIGURERS)
    before = snapshot(row)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is not None or name in ("work_order_assignee",):
            setattr(row, name, value)
    await _check_rule(request, session, row)
    return _rule_out(await queries.save_row(session, actor, row, "response_rule", before=before))


@router.delete("/response-rules/{key}", status_code=204, summary="Remove a response rule")
async def delete_rule(key: int, session: Session, actor: CurrentPrincipal) -> Response:
    await queries.delete_row(session, actor, await queries.get_row(session, actor, ResponseRule, key),
                             "response_rule")
    return Response(status_code=204)


# ------------------------------------------------------------------------------ commands
def _command_out(c: ResponseCommand) -> dict[str, Any]:
    return {"id": c.id, "organization_id": c.organization_id, "rule_id": c.rule_id, "alert_id": c.alert_id,
            "action": c.action, "equipment": c.equipment, "idempotency_key": c.idempotency_key,
            "status": c.status, "detail": c.detail, "created_at": _iso(c.created_at), "sent_at": _iso(c.sent_at),
            "acknowledged_at": _iso(c.acknowledged_at), "finished_at": _iso(c.finished_at),
            "ack_deadline": _iso(c.ack_deadline), "done_deadline": _iso(c.done_deadline)}


@router.get("/response-commands", summary="Commands sent to equipment, newest first")
async def list_commands(session: Session, actor: CurrentPrincipal, alert_id: int | None = None,
                        status: CommandStatus | None = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    stmt = select(ResponseCommand).order_by(ResponseCommand.id.desc())
    if actor.org_filter() is not None:
        stmt = stmt.where(ResponseCommand.organization_id == actor.org_filter())
    if alert_id is not None:
        stmt = stmt.where(ResponseCommand.alert_id == alert_id)
    if status is not None:
        stmt = stmt.where(ResponseCommand.status == status.value)
    rows, total = await queries.page(session, stmt, limit, offset)
    return _page([_command_out(c) for c in rows], total, limit, offset)


@router.get("/response-commands/{key}", summary="One command and its state")
async def get_command(key: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    command = await session.get(ResponseCommand, key)
    if command is None or (actor.org_filter() is not None and command.organization_id != actor.organization_id):
        raise not_found("command", key)
    return _command_out(command)


@router.post("/response-commands/{key}/ack",
             summary="The equipment reports a command acknowledged, done or failed (signed with the rule's secret)",
             description=f"Body `{{\"status\": \"acknowledged\"|\"done\"|\"failed\", \"detail\": ...}}`, signed like "
                         f"the command: `{TIMESTAMP_HEADER}` (unix seconds) and `{SIGNATURE_HEADER}: sha256=<hex "
                         "HMAC-SHA256 of \"<timestamp>.<body>\">` with the response rule's secret. Repeating the "
                         "current status is accepted and changes nothing.")
async def acknowledge(key: int, request: Request, session: Session) -> dict[str, Any]:
    raw = await request.body()
    command = await session.get(ResponseCommand, key)
    rule = None if command is None or command.rule_id is None else await session.get(ResponseRule, command.rule_id)
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    max_age = context(request).settings.security.signature_max_age_s
    if (command is None or rule is None or not rule.secret
            or not verify(rule.secret, timestamp, raw, signature, max_age_s=max_age)):
        # One answer for an unknown command and a bad signature: an unsigned caller learns nothing.
        raise unauthorized("command {key}: missing or invalid {signature} / {timestamp} (HMAC of "
                           "\"<timestamp>.<body>\" with the response rule's secret, timestamp within {max_age} s)",
                           key=key, signature=SIGNATURE_HEADER, timestamp=TIMESTAMP_HEADER, max_age=max_age)
    try:
        report = CommandReport.model_validate_json(raw)
    except ValidationError as exc:
        raise Problem(422, "Validation failed", f"body: {exc.errors()[0]['msg']}", type_="validation",
                      errors=[{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]) from exc
    if report.status is CommandStatus.PENDING:
        raise queries.invalid("status", "the equipment reports acknowledged, done or failed")
    await service.acknowledge(session, command, rule, report.status, report.detail,
                              actor=f"equipment:{command.equipment}")
    return _command_out(command)


# ------------------------------------------------------------------------------ work orders
@router.get("/work-orders", summary="Work orders, newest first", tags=["work orders"])
async def list_work_orders(session: Session, actor: CurrentPrincipal, status: WorkOrderStatus | None = None,
                           alert_id: int | None = None, assignee: str | None = None, limit: Limit = 100,
                           offset: Offset = 0) -> dict[str, Any]:
    rows, total = await workorders.list_orders(session, actor, status=status, alert_id=alert_id, assignee=assignee,
                                               limit=limit, offset=offset)
    return _page([workorders.work_order_dict(w) for w in rows], total, limit, offset)


@router.post("/work-orders", status_code=201, summary="Open a work order (admin, engineer, operator)",
             tags=["work orders"])
async def create_work_order(body: WorkOrderIn, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    return workorders.work_order_dict(await workorders.create(session, actor, body))


@router.get("/work-orders/{key}", summary="A work order with its audited changes", tags=["work orders"])
async def get_work_order(key: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    order = await workorders.get_order(session, actor, key)
    return workorders.work_order_dict(order) | {"history": await workorders.trail(session, key)}


@router.patch("/work-orders/{key}", summary="Change a work order: status open -> in_progress -> done, assignee, due",
              tags=["work orders"])
async def patch_work_order(key: int, body: WorkOrderPatch, session: Session,
                           actor: CurrentPrincipal) -> dict[str, Any]:
    return workorders.work_order_dict(await workorders.change(session, actor, key, body))

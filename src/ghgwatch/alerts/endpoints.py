"""REST and server-sent events of alerts, alert rules, notification routes and deliveries.

No ``from __future__ import annotations``: FastAPI reads the annotations at run time.
"""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from ghgwatch.alerts import queries
from ghgwatch.alerts.hub import hub_of
from ghgwatch.alerts.models import AlertRule, Channel, HistoryAction, NotificationRoute
from ghgwatch.alerts.outbox.enqueue import record_alert_changes
from ghgwatch.alerts.rule_codec import check_selector, rule_from_dict, rule_to_dict
from ghgwatch.alerts.schemas import AlertRuleIn, AlertRulePatch, CommentAdd, CommentIn, RouteIn, RoutePatch
from ghgwatch.alerts.store import alert_dict, event_payload, history_dict
from ghgwatch.audit.service import snapshot
from ghgwatch.kit.problems import Problem, unauthorized
from ghgwatch.registry.models import Facility
from ghgwatch.security.egress import UnsafeTarget, check_url
from ghgwatch.security.principal import Principal
from ghgwatch.store.patch import refuse_nulls
from ghgwatch.web.context import AppContext, context
from ghgwatch.web.deps import CurrentPrincipal, Session, principal_from_token
from ghgwatch.web.sessions import cookie_token

router = APIRouter(tags=["alerts"])
HEARTBEAT_S = 15.0
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


def _org(given: int | None, actor: Principal) -> int:
    org = given if given is not None else actor.organization_id
    if org is None:
        raise queries.invalid("organization_id", "required for a user without an organisation")
    return org


def _page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/alerts", summary="List alerts (newest first)",
            description="Each alert has `source_id` and `source_name`: the emission source its sensor belongs to, "
                        "or the source a UAV leak alert names (null when there is none).")
async def list_alerts(session: Session, actor: CurrentPrincipal, state: str | None = None,
                      severity: str | None = None, facility_id: int | None = None, sensor_id: int | None = None,
                      since: AwareDatetime | None = None, until: AwareDatetime | None = None, limit: Limit = 100,
                      offset: Offset = 0) -> dict[str, Any]:
    rows, total = await queries.list_alerts(session, actor, state=state, severity=severity,
                                            facility_id=facility_id, sensor_id=sensor_id, since=since,
                                            until=until, limit=limit, offset=offset)
    sources = await queries.sources_of(session, actor, rows)
    return _page([_with_source(alert_dict(a), sources.get(a.id)) for a in rows], total, limit, offset)


def _with_source(alert: dict[str, Any], source: tuple[int, str] | None) -> dict[str, Any]:
    """An alert as listed: with the source its sensor belongs to (a leak alert: the source it names; null if
    none)."""
    return alert | {"source_id": source[0] if source else None, "source_name": source[1] if source else None}


async def _stream_principal(request: Request, access_token: str | None) -> tuple[Principal, str]:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else access_token
    token = token or cookie_token(request)  # the web UI's session (a GET: no CSRF check needed)
    if not token:
        raise unauthorized("a valid token in the Authorization header or ?access_token= is needed")
    return await principal_from_token(token, context(request)), token


async def _still_valid(token: str, ctx: AppContext) -> bool:
    """Whether an open stream's token still holds (user active, not revoked, not expired); cached briefly."""
    try:
        await principal_from_token(token, ctx)
    except Problem:
        return False
    return True


@router.get("/alerts/stream", summary="Server-sent events of new and changed alerts",
            description="Events named after the change (opened, escalated, updated, acknowledged, resolved, "
                        "auto_resolved), data = the event JSON; a comment line every 15 s keeps the connection "
                        "open. EventSource cannot send headers: pass `?access_token=`. When the token stops "
                        "holding (the user deactivated, the token revoked or expired) the stream sends a "
                        "`revoked` event and ends.")
async def stream(request: Request, access_token: str | None = None) -> StreamingResponse:
    actor, token = await _stream_principal(request, access_token)
    ctx = context(request)
    hub = hub_of(ctx.extras)

    async def events() -> AsyncIterator[str]:
        async with hub.subscribe(actor.org_filter()) as sub:
            yield ": connected\n\n"
            while True:
                event = await sub.get(HEARTBEAT_S)
                # A deactivated user or a revoked or expired token gets nothing more: the stream ends.
                if not await _still_valid(token, ctx):
                    yield 'event: revoked\ndata: {"event":"revoked"}\n\n'
                    return
                if event is None:
                    yield ": heartbeat\n\n"
                    continue
                yield f"event: {event['event']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/alerts/{alert_id}", summary="An alert with its history")
async def get_alert(alert_id: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    alert = await queries.get_alert(session, actor, alert_id)
    source = (await queries.sources_of(session, actor, [alert])).get(alert.id)
    return _with_source(alert_dict(alert), source) | {
        "history": [history_dict(h) for h in await queries.history(session, alert_id)]}


async def _change(request: Request, session: Session, actor: Principal, alert_id: int, action: HistoryAction,
                  body: CommentIn | None) -> dict[str, Any]:
    alert = await queries.change_state(session, actor, alert_id, action, body.comment if body else None)
    out = alert_dict(alert)
    await record_alert_changes(session, [(action.value, out, (body.comment or "") if body else "")],
                               actor=actor.username)  # its notifications commit with the change
    await session.commit()
    extras = context(request).extras
    service = extras.get("alerts")
    if action is HistoryAction.RESOLVED and service is not None:
        await service.forget(alert)
    hub_of(extras).publish(event_payload(action.value, out, actor=actor.username,
                                         reason=(body.comment or "") if body else ""))
    return out


@router.post("/alerts/{alert_id}/acknowledge", summary="Acknowledge an alert (admin, engineer, operator)")
async def acknowledge(alert_id: int, request: Request, session: Session, actor: CurrentPrincipal,
                      body: CommentIn | None = None) -> dict[str, Any]:
    return await _change(request, session, actor, alert_id, HistoryAction.ACKNOWLEDGED, body)


@router.post("/alerts/{alert_id}/resolve", summary="Resolve an alert by hand (admin, engineer, operator)",
             description="If the condition persists, the next reading opens a new alert.")
async def resolve(alert_id: int, request: Request, session: Session, actor: CurrentPrincipal,
                  body: CommentIn | None = None) -> dict[str, Any]:
    return await _change(request, session, actor, alert_id, HistoryAction.RESOLVED, body)


@router.post("/alerts/{alert_id}/comments", summary="Add a comment to an alert (admin, engineer, operator)",
             description="In any state, e.g. after acknowledging; the state does not change. A history row "
                         "`commented` and an audit entry; SSE subscribers get a `commented` event.")
async def add_comment(alert_id: int, body: CommentAdd, request: Request, session: Session,
                      actor: CurrentPrincipal) -> dict[str, Any]:
    comment = body.comment.strip()
    if not comment:
        raise queries.invalid("comment", "must not be blank")
    alert = await queries.add_comment(session, actor, alert_id, comment)
    out = alert_dict(alert)
    await session.commit()
    hub_of(context(request).extras).publish(event_payload(HistoryAction.COMMENTED.value, out, actor=actor.username,
                                                          reason=comment))
    return out


# ------------------------------------------------------------------------------ alert rules
def _rule_out(r: AlertRule) -> dict[str, Any]:
    return {"id": r.id, "organization_id": r.organization_id, "scope": r.scope, "selector": r.selector,
            "rule_id": r.rule_id, "definition": r.definition, "description": r.description}


def _definition(rule_id: str, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return rule_to_dict(rule_from_dict(rule_id, data))
    except ValueError as exc:
        raise queries.invalid("definition", str(exc)) from exc


@router.get("/alert-rules", summary="Configured alert rules (over the defaults)")
async def list_rules(session: Session, actor: CurrentPrincipal, limit: Limit = 100,
                     offset: Offset = 0) -> dict[str, Any]:
    rows, total = await queries.list_rows(session, actor, AlertRule, limit, offset)
    return _page([_rule_out(r) for r in rows], total, limit, offset)


@router.post("/alert-rules", status_code=201, summary="Add a rule for a sensor kind, location, source type or sensor")
async def create_rule(body: AlertRuleIn, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    try:
        check_selector(body.scope.value, body.selector)
    except ValueError as exc:
        raise queries.invalid("selector", str(exc)) from exc
    row = AlertRule(organization_id=_org(body.organization_id, actor), scope=body.scope.value,
                    selector=body.selector, rule_id=body.rule_id,
                    definition=_definition(body.rule_id, body.definition), description=body.description)
    return _rule_out(await queries.save_row(session, actor, row, "alert_rule"))


@router.get("/alert-rules/{key}", summary="One configured rule")
async def get_rule(key: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    return _rule_out(await queries.get_row(session, actor, AlertRule, key))


@router.patch("/alert-rules/{key}", summary="Change a configured rule")
async def patch_rule(key: int, body: AlertRulePatch, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    row: AlertRule = await queries.get_row(session, actor, AlertRule, key)
    before = snapshot(row)
    if body.definition is not None:
        row.definition = _definition(row.rule_id, body.definition)
    if "description" in body.model_fields_set:
        row.description = body.description
    return _rule_out(await queries.save_row(session, actor, row, "alert_rule", before=before))


@router.delete("/alert-rules/{key}", status_code=204, summary="Remove a configured rule (the default returns)")
async def delete_rule(key: int, session: Session, actor: CurrentPrincipal) -> Response:
    await queries.delete_row(session, actor, await queries.get_row(session, actor, AlertRule, key), "alert_rule")
    return Response(status_code=204)


# ------------------------------------------------------------------------------ notification routes
def _route_out(r: NotificationRoute) -> dict[str, Any]:
    return {"id": r.id, "organization_id": r.organization_id, "name": r.name, "min_severity": r.min_severity,
            "facility_id": r.facility_id, "channel": r.channel, "target": r.target,
            "has_secret": bool(r.secret), "active": r.active}


@router.get("/notification-routes", summary="Notification routes")
async def list_routes(session: Session, actor: CurrentPrincipal, limit: Limit = 100,
                      offset: Offset = 0) -> dict[str, Any]:
    rows, total = await queries.list_rows(session, actor, NotificationRoute, limit, offset)
    return _page([_route_out(r) for r in rows], total, limit, offset)


async def _check_route(request: Request, session: Session, actor: Principal, organization_id: int,
                       channel: str, target: str | None, facility_id: int | None) -> None:
    """A webhook target must be a public http(s) URL (unless allowed by setting); a facility must be the
    organisation's. Both 422 naming the field."""
    if channel == Channel.WEBHOOK.value and target is not None:
        try:
            await check_url(target, allow_private=context(request).settings.security.allow_private_targets)
        except UnsafeTarget as exc:
            raise queries.invalid("target", str(exc)) from exc
    if facility_id is not None:
        facility = await session.get(Facility, facility_id)
        if facility is None or facility.organization_id != organization_id:
            raise queries.invalid("facility_id", f"facility {facility_id} is not a facility of organisation "
                                                 f"{organization_id}")
    del actor


@router.post("/notification-routes", status_code=201, summary="Add a webhook or e-mail route")
async def create_route(body: RouteIn, request: Request, session: Session,
                       actor: CurrentPrincipal) -> dict[str, Any]:
    data = body.model_dump()
    data["organization_id"] = _org(body.organization_id, actor)
    data["channel"] = body.channel.value
    actor.require_org(data["organization_id"])
    await _check_route(request, session, actor, data["organization_id"], data["channel"], body.target,
                       body.facility_id)
    row = NotificationRoute(**data)
    return _route_out(await queries.save_row(session, actor, row, "notification_route"))


@router.get("/notification-routes/{key}", summary="One notification route")
async def get_route(key: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    return _route_out(await queries.get_row(session, actor, NotificationRoute, key))


@router.patch("/notification-routes/{key}", summary="Change a notification route")
async def patch_route(key: int, body: RoutePatch, request: Request, session: Session,
                      actor: CurrentPrincipal) -> dict[str, Any]:
    row: NotificationRoute = await queries.get_row(session, actor, NotificationRoute, key)
    values = {name: getattr(body, name) for name in body.model_fields_set}
    refuse_nulls(NotificationRoute, values)
    await _check_route(request, session, actor, row.organization_id, row.channel, values.get("target"),
                       values.get("facility_id"))
    before = snapshot(row)
    for name, value in values.items():
        setattr(row, name, value)
    return _route_out(await queries.save_row(session, actor, row, "notification_route", before=before))


@router.delete("/notification-routes/{key}", status_code=204, summary="Remove a notification route")
async def delete_route(key: int, session: Session, actor: CurrentPrincipal) -> Response:
    row = await queries.get_row(session, actor, NotificationRoute, key)
    await queries.delete_row(session, actor, row, "notification_route")
    return Response(status_code=204)


@router.get("/notifications/deliveries", summary="Delivery log: one row per attempt")
async def deliveries(session: Session, actor: CurrentPrincipal, alert_id: int | None = None,
                     route_id: int | None = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    rows, total = await queries.list_deliveries(session, actor, alert_id=alert_id, route_id=route_id, limit=limit,
                                                offset=offset)
    items = [{"id": d.id, "route_id": d.route_id, "alert_id": d.alert_id, "event": d.event, "attempt": d.attempt,
              "status": d.status, "response_code": d.response_code, "error": d.error,
              "at": d.at.isoformat()} for d in rows]
    return _page(items, total, limit, offset)

"""The platform's API for edge gateways (``/api/v1/edge/...``), authenticated as a gateway device.

A gateway is a device created with ``--gateway`` (API: ``"gateway": true``). It signs every request as the HTTP
ingest defines (X-Timestamp, X-Signature); its organisation scopes everything it reads and writes.
"""

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from ghgwatch.alerts.hub import hub_of
from ghgwatch.edge import intake
from ghgwatch.edge.schemas import AlarmEvent, EventsIn, SummariesIn, Summary
from ghgwatch.ingest.auth import DeviceAuthenticator, DeviceInfo
from ghgwatch.kit.problems import Problem, forbidden, too_large, unauthorized
from ghgwatch.registry.cache import SensorCache
from ghgwatch.security.models import Device
from ghgwatch.web.context import AppContext, context

router = APIRouter(prefix="/edge", tags=["edge"])
MAX_BODY = 8 * 1024 * 1024
AuthHeader = Annotated[str | None, Header()]


def _json(content: Any) -> Response:
    return Response(msgspec.json.encode(content), media_type="application/json")


def _sensors(ctx: AppContext) -> SensorCache:
    sensors: SensorCache = ctx.extras.setdefault("sensors", SensorCache(ctx.db))
    return sensors


async def _gateway(request: Request, authorization: str | None, x_timestamp: str | None,
                   x_signature: str | None) -> tuple[AppContext, DeviceInfo, bytes]:
    ctx = context(request)
    auth: DeviceAuthenticator = ctx.extras.setdefault("device_auth", DeviceAuthenticator(
        ctx.db, max_age_s=float(ctx.settings.security.signature_max_age_s)))
    if not authorization or not authorization.lower().startswith("bearer "):
        raise unauthorized("a gateway device token is required: Authorization: Bearer <token>")
    device = await auth.device(authorization[7:].strip())
    body = await _read_body(request)
    await auth.verify_signature(device, x_timestamp, x_signature, body)
    async with ctx.db.sessions() as session:
        row = await session.get(Device, device.id)
    if row is None or not row.gateway:
        raise forbidden("this device is not an edge gateway (create it with --gateway)")
    return ctx, device, body


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large(MAX_BODY, "Body too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_large(MAX_BODY, "Body too large")
    return body


def _decode(body: bytes, kind: type[Any], field: str) -> Any:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise Problem(422, "Invalid body", 'expected {{"{field}": [...]}}: {error}', type_="validation",
                      values={"field": field, "error": str(exc)},
                      errors=[{"loc": ["body", field], "msg": str(exc)}]) from exc
    except msgspec.DecodeError as exc:
        raise Problem(400, "Malformed JSON", str(exc), type_="malformed") from exc


@router.get("/config", summary="Sensors, effective alert rules and device keys for an edge gateway",
            description="For the gateway device only. The answer holds device HMAC keys: the gateway keeps it in "
            "its data folder so that it can start, authenticate devices and keep its alarms without a link.")
async def edge_config(request: Request, authorization: AuthHeader = None, x_timestamp: AuthHeader = None,
                      x_signature: AuthHeader = None) -> Response:
    ctx, device, _ = await _gateway(request, authorization, x_timestamp, x_signature)
    sensors = _sensors(ctx)
    await sensors.refresh()  # rare (once a minute per gateway) and must be current: a fresh read
    metas = await sensors.current()
    async with ctx.db.sessions() as session:
        config = await intake.build_config(session, metas, organization_id=device.organization_id,
                                           device_id=device.id)
    return _json(config)


@router.post("/summaries", summary="Per-minute summaries from an edge gateway (idempotent by sensor and minute)",
             description='`{"summaries": [{"sensor", "minute", "count", "sum", "min", "max", "last", "last_ts"}]}` '
             "in the sensor's unit; each replaces the minute's row of the 1-minute rollup.",
             responses={200: {"description": '`{"accepted": N, "rejected": [{"index": i, "error": "..."}]}`'}})
async def edge_summaries(request: Request, authorization: AuthHeader = None, x_timestamp: AuthHeader = None,
                         x_signature: AuthHeader = None) -> Response:
    ctx, device, body = await _gateway(request, authorization, x_timestamp, x_signature)
    items, rejected = intake.decode_items(_decode(body, SummariesIn, "summaries").summaries, Summary)
    metas = await _sensors(ctx).lookup({s.sensor for _, s in items})
    accepted, refused = await intake.store_summaries(ctx.db, items, metas, organization_id=device.organization_id)
    return _json({"accepted": accepted, "rejected": sorted(rejected + refused, key=lambda r: r["index"])})


@router.post("/events", summary="Alarm events from an edge gateway (idempotent by event id)",
             responses={200: {"description": '`{"accepted": N, "duplicates": N, "rejected": [...]}`'}})
async def edge_events(request: Request, authorization: AuthHeader = None, x_timestamp: AuthHeader = None,
                      x_signature: AuthHeader = None) -> Response:
    ctx, device, body = await _gateway(request, authorization, x_timestamp, x_signature)
    items, rejected = intake.decode_items(_decode(body, EventsIn, "events").events, AlarmEvent)
    metas = await _sensors(ctx).lookup({e.sensor for _, e in items})
    async with ctx.db.transaction() as session:
        applied, duplicates, refused, payloads = await intake.apply_events(
            session, items, metas, organization_id=device.organization_id, device_id=device.id)
    rejected = sorted(rejected + refused, key=lambda r: r["index"])
    hub = hub_of(ctx.extras)
    for payload in payloads:
        hub.publish(payload)
    return _json({"accepted": applied, "duplicates": duplicates, "rejected": rejected})

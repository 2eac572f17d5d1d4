"""``POST /api/v1/readings``: readings from a device, answered 202 once they are durable on the bus."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from ghgwatch.bus import PublishError
from ghgwatch.ingest.auth import DeviceAuthenticator
from ghgwatch.ingest.parse import parse_csv, parse_json
from ghgwatch.ingest.service import Ingestor
from ghgwatch.kit.problems import Problem, too_large, unauthorized
from ghgwatch.observability import metrics
from ghgwatch.security.accounts import admit_ingest
from ghgwatch.web.context import serving_context

router = APIRouter(tags=["ingest"])
MAX_BODY = 8 * 1024 * 1024


def _parts(request: Request) -> tuple[Ingestor, DeviceAuthenticator]:
    extras = serving_context(request).extras
    if "ingestor" not in extras:
        raise Problem(503, "Ingest unavailable", "this process does not run the ingest path", type_="unavailable")
    return extras["ingestor"], extras["device_auth"]


@router.post(
    "/readings",
    status_code=202,
    summary="Send readings (device token; optional HMAC signature)",
    description='JSON `{"readings": [{"sensor", "ts", "value", "unit"}]}` or `text/csv` with the header '
    "`sensor,ts,value,unit`; at most 10,000 readings. Answered only after the accepted readings are durable.",
    responses={202: {"description": '`{"accepted": N, "rejected": [{"index": i, "error": "..."}]}`'}},
)
async def post_readings(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_timestamp: Annotated[str | None, Header()] = None,
    x_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    started = time.perf_counter()
    ingestor, auth = _parts(request)
    if not authorization or not authorization.lower().startswith("bearer "):
        metrics.observe_rejected("auth", "http")
        raise unauthorized("a device token is required: Authorization: Bearer <token>")
    device = await auth.device(authorization[7:].strip())
    ctx = serving_context(request)
    # 429 + Retry-After beyond the device's rate (counted in the database, for all replicas, on PostgreSQL;
    # the edge gateway has no database: its limits stay in memory)
    await admit_ingest(ctx.extras, ctx.settings.security, device.id, ctx.db)
    if (admission := ctx.extras.get("admission")) is not None:
        admission.check("http")  # storage behind: 503 + Retry-After before reading the body
    body = await _read_body(request)
    await auth.verify_signature(device, x_timestamp, x_signature, body)
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media in ("application/json", ""):
        parsed = parse_json(body)
    elif media in ("text/csv", "application/csv"):
        parsed = parse_csv(body)
    else:
        raise Problem(415, "Unsupported media type", "{media}: send application/json or text/csv",
                      type_="unsupported-media-type", values={"media": media})
    try:
        result = await ingestor.accept(parsed, organization_id=device.organization_id, device_id=device.id,
                                       transport="http")
    except PublishError as exc:
        metrics.observe_admission_refused("http", "bus")
        raise Problem(503, "Not stored", "the readings could not be made durable, retry: {error}",
                      type_="unavailable", headers={"Retry-After": "1"}, values={"error": str(exc)}) from exc
    metrics.observe_ingest_request("http", time.perf_counter() - started)
    content: dict[str, Any] = result.body()
    return JSONResponse(content, status_code=202)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large(MAX_BODY, "Body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large(MAX_BODY, "Body too large")
        chunks.append(chunk)
    return b"".join(chunks)

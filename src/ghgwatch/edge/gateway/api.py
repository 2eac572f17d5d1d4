"""The gateway's own HTTP API: readings from devices (the platform's ingest router), its status, and its
alarms (list and server-sent events) for the people at the site, with the gateway's view token."""

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ghgwatch import __version__
from ghgwatch.edge.gateway.runtime import EdgeRuntime
from ghgwatch.ingest.endpoints import router as ingest_router
from ghgwatch.kit.problems import unauthorized
from ghgwatch.observability import metrics
from ghgwatch.observability.logging import RequestIdMiddleware
from ghgwatch.settings import Settings
from ghgwatch.web import problems
from ghgwatch.web.context import ServingContext

router = APIRouter(prefix="/edge", tags=["edge gateway"])
HEARTBEAT_S = 15.0


def _runtime(request: Request) -> EdgeRuntime:
    runtime: EdgeRuntime = request.app.state.edge
    return runtime


def _viewer(request: Request, authorization: str | None, access_token: str | None) -> EdgeRuntime:
    runtime = _runtime(request)
    token = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else None
    token = token or access_token
    if not token or not hmac.compare_digest(token, runtime.view_token):
        raise unauthorized("the gateway's view token is required (Authorization: Bearer, or ?access_token=)")
    return runtime


@router.get("/status", summary="Link, backlog, configuration and alarms of this gateway")
async def status(request: Request, authorization: Annotated[str | None, Header()] = None,
                 access_token: str | None = None) -> dict[str, Any]:
    return await _viewer(request, authorization, access_token).status()


@router.get("/alarms", summary="Alarm events at this site, newest first (open alarms only with open=true)")
async def alarms(request: Request, authorization: Annotated[str | None, Header()] = None,
                 access_token: str | None = None, open_only: Annotated[bool, Query(alias="open")] = False,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    runtime = _viewer(request, authorization, access_token)
    assert runtime.alarms is not None
    items = list(runtime.alarms.open.values()) if open_only else list(runtime.alarms.recent)
    items.reverse()
    return {"items": items[:limit], "total": len(items)}


@router.get("/alarms/stream", summary="Server-sent events of alarm events at this site",
            description="Events named opened, escalated, updated, resolved; EventSource cannot send headers: "
                        "pass `?access_token=`.")
async def alarm_stream(request: Request, authorization: Annotated[str | None, Header()] = None,
                       access_token: str | None = None) -> StreamingResponse:
    runtime = _viewer(request, authorization, access_token)

    async def events() -> AsyncIterator[str]:
        async with runtime.hub.subscribe(None) as sub:
            yield ": connected\n\n"
            while True:
                event = await sub.get(HEARTBEAT_S)
                if event is None:
                    yield ": heartbeat\n\n"
                    continue
                yield f"event: {event['event']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def build_edge_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = EdgeRuntime(settings)
        app.state.edge = runtime
        ctx: ServingContext = runtime.ctx  # what the ingest router reads (typed: mypy checks the gateway's)
        app.state.ctx = ctx
        try:
            await runtime.start()
            app.state.ready = True
            yield
        finally:
            app.state.ready = False
            await runtime.stop()

    app = FastAPI(title="ghgwatch edge gateway", version=__version__, lifespan=lifespan,
                  description="Readings from the devices of a site, local alarms, store and forward to the platform.")
    app.state.ready = False
    app.add_middleware(RequestIdMiddleware)
    problems.install(app)
    api = APIRouter(prefix="/api/v1")
    api.include_router(ingest_router)
    api.include_router(router)
    app.include_router(api)
    metrics.init_metrics(role="edge", mode=settings.mode.value)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["health"], summary="200 when the gateway is running (whether or not its link is up)")
    async def healthz() -> JSONResponse:
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        runtime: EdgeRuntime = app.state.edge
        return JSONResponse({"status": "ok", "version": __version__, "link_up": runtime.upstream.status.up,
                             "configured": runtime.state.config is not None})

    return app

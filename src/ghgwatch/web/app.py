"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from ghgwatch import __version__, ui
from ghgwatch.audit.anchor import install_key as install_audit_key
from ghgwatch.audit.anchor import key_from_settings as audit_key_from_settings
from ghgwatch.kit.problems import Problem
from ghgwatch.observability import exposition, metrics
from ghgwatch.observability.logging import RequestIdMiddleware
from ghgwatch.security.crypto import cipher_from_settings, install_cipher
from ghgwatch.security.passwords import install_cost_from_settings as install_password_cost
from ghgwatch.settings import Settings, jwt_secret
from ghgwatch.store import Database, open_database
from ghgwatch.web import problems
from ghgwatch.web.body_limit import OVERRIDES, BodyLimitMiddleware
from ghgwatch.web.context import AppContext

Hook = Callable[[AppContext], Awaitable[None]]
log = logging.getLogger(__name__)


# Every domain's routers, as "module:attribute" (an APIRouter, or a function returning a list of them).
# The ingest router comes first: a request is matched against the routers in this order, and ingest is the hot path
# (py-spy at saturated ingest: 7.6 % of the event loop's samples in route matching while it came seventh).
ROUTERS = (
    "ghgwatch.ingest.endpoints:router",
    "ghgwatch.security.endpoints:router",
    "ghgwatch.registry.endpoints:routers",
    "ghgwatch.reference.endpoints:router",
    "ghgwatch.readings.endpoints:router",
    "ghgwatch.inventory.endpoints:routers",
    "ghgwatch.analytics.endpoints:router",
    "ghgwatch.analytics.mapping_endpoints:router",
    "ghgwatch.alerts.endpoints:router",
    "ghgwatch.edge.endpoints:router",
    "ghgwatch.uav.endpoints:router",
    "ghgwatch.security.account_endpoints:router",
    "ghgwatch.audit.endpoints:router",
    "ghgwatch.uav.leak_endpoints:router",
    "ghgwatch.lab.endpoints:router",
    "ghgwatch.responses.endpoints:router",
)


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    for target in ROUTERS:
        module, _, name = target.partition(":")
        found = getattr(importlib.import_module(module), name)
        for router in found() if callable(found) and not isinstance(found, APIRouter) else [found]:
            api.include_router(router)
    return api


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    on_start: list[Hook] | None = None,
    on_stop: list[Hook] | None = None,
    role: str = "api",
) -> FastAPI:
    """Build the app. The database is opened in the lifespan unless one is passed (tests, ``up``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_cipher(cipher_from_settings(settings))
        install_password_cost(settings.security)
        install_audit_key(audit_key_from_settings(settings))
        database = db or open_database(settings.database_url, echo=settings.db.echo, pool_size=settings.db.pool_size)
        ctx = AppContext(settings=settings, db=database, jwt_key=jwt_secret(settings))
        app.state.ctx = ctx
        try:
            for hook in on_start or []:
                await hook(ctx)
            app.state.ready = True
            yield
        finally:
            app.state.ready = False
            for hook in reversed(on_stop or []):
                await hook(ctx)
            if db is None:
                await database.dispose()

    app = FastAPI(
        title="ghgwatch",
        version=__version__,
        description="Greenhouse-gas monitoring, inventory, forecasting and reporting.",
        lifespan=lifespan,
        docs_url=None,  # served from the package's own Swagger UI by ghgwatch.ui.docs (works offline)
        redoc_url=None,  # ReDoc would load its script from a CDN
    )
    app.state.ready = False
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(BodyLimitMiddleware, overrides=OVERRIDES)  # added last: runs first, before any auth
    problems.install(app)
    app.include_router(api_router())
    ui.install(app, role)
    metrics.init_metrics(role=role, mode=settings.mode.value)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(request: Request) -> Response:
        token = settings.observability.metrics_token
        secret = token.get_secret_value() if token is not None else None
        full = exposition.authorised(request.headers.get("authorization"), secret)
        if secret and not full:
            raise Problem(401, "Unauthorized", "metrics need Authorization: Bearer <observability.metrics_token>",
                          type_="unauthorized", headers={"WWW-Authenticate": "Bearer"})
        return Response(exposition.render(full=full), media_type=CONTENT_TYPE_LATEST)

    @app.get("/livez", tags=["health"], summary="200 while the process runs (liveness; no database check)")
    async def livez() -> JSONResponse:
        return JSONResponse({"status": "alive", "version": __version__})

    @app.get("/healthz", tags=["health"], summary="200 when the process is ready (readiness: the database answers)")
    async def healthz() -> JSONResponse:
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        ctx: AppContext = app.state.ctx
        try:
            async with ctx.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # any database failure means not ready; the cause goes to the log, never to callers
            log.warning("readiness: the database does not answer", exc_info=True)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "mode": settings.mode.value})

    app.add_api_route("/readyz", healthz, methods=["GET"], tags=["health"], include_in_schema=False)

    return app

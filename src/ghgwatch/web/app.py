"""The FastAPI application factory."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text

from ghgwatch import __version__, ui
from ghgwatch.observability import metrics
from ghgwatch.observability.logging import RequestIdMiddleware
from ghgwatch.security.crypto import cipher_from_settings, install_cipher
from ghgwatch.settings import Settings, jwt_secret
from ghgwatch.store import Database, open_database
from ghgwatch.web import problems
from ghgwatch.web.context import AppContext

Hook = Callable[[AppContext], Awaitable[None]]


# Every domain's routers, as "module:attribute" (an APIRouter, or a function returning a list of them).
ROUTERS = (
    "ghgwatch.security.endpoints:router",
    "ghgwatch.registry.endpoints:routers",
    "ghgwatch.reference.endpoints:router",
    "ghgwatch.ingest.endpoints:router",
    "ghgwatch.readings.endpoints:router",
    "ghgwatch.inventory.endpoints:routers",
    "ghgwatch.analytics.endpoints:router",
    "ghgwatch.alerts.endpoints:router",
    "ghgwatch.edge.endpoints:router",
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
    problems.install(app)
    app.include_router(api_router())
    ui.install(app, role)
    metrics.init_metrics(role=role, mode=settings.mode.value)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["health"], summary="200 when the process is ready")
    async def healthz() -> JSONResponse:
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        ctx: AppContext = app.state.ctx
        try:
            async with ctx.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means not ready
            return JSONResponse({"status": "database unavailable", "detail": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "mode": settings.mode.value})

    return app

"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text

from ghgwatch import __version__
from ghgwatch.observability import metrics
from ghgwatch.settings import Settings, jwt_secret
from ghgwatch.store import Database, open_database
from ghgwatch.web import problems
from ghgwatch.web.context import AppContext

Hook = Callable[[AppContext], Awaitable[None]]


def api_router() -> APIRouter:
    from ghgwatch.ingest.endpoints import router as ingest_router
    from ghgwatch.readings.endpoints import router as readings_router
    from ghgwatch.reference.endpoints import router as reference_router
    from ghgwatch.registry.endpoints import routers as registry_routers
    from ghgwatch.security.endpoints import router as security_router

    api = APIRouter(prefix="/api/v1")
    api.include_router(security_router)
    for router in registry_routers():
        api.include_router(router)
    api.include_router(reference_router)
    api.include_router(ingest_router)
    api.include_router(readings_router)
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
    )
    app.state.ready = False
    problems.install(app)
    app.include_router(api_router())
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

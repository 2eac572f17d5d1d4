"""Which services run in a process. Every role serves ``/healthz`` and ``/metrics``; ``api`` serves the
REST API and ingest; ``pipeline`` consumes the bus and stores readings; ``all`` runs everything."""

from __future__ import annotations

from fastapi import FastAPI

from ghgwatch.settings import Settings
from ghgwatch.web.app import Hook, create_app
from ghgwatch.web.context import AppContext

ROLES = ("all", "api", "pipeline", "mqtt", "analytics", "ui")


def _wants(role: str, *names: str) -> bool:
    return role == "all" or role in names


def build_role_app(settings: Settings, role: str, *, demo: bool = False) -> FastAPI:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    on_start: list[Hook] = []
    on_stop: list[Hook] = []

    async def start_bus(ctx: AppContext) -> None:
        from ghgwatch.bus import open_bus, topics
        from ghgwatch.registry.cache import SensorCache

        bus = open_bus(settings.bus.url, data_dir=settings.data_dir)
        await bus.start()
        await bus.ensure_topics(list(topics.ALL_TOPICS))
        ctx.extras["bus"] = bus
        ctx.extras["sensors"] = SensorCache(ctx.db)

    async def stop_bus(ctx: AppContext) -> None:
        bus = ctx.extras.pop("bus", None)
        if bus is not None:
            await bus.stop()

    on_start.append(start_bus)
    on_stop.append(stop_bus)  # hooks stop in reverse order, so the bus stops last
    if _wants(role, "api"):
        async def start_ingest(ctx: AppContext) -> None:
            from ghgwatch.ingest.auth import DeviceAuthenticator
            from ghgwatch.ingest.service import Ingestor

            ctx.extras["ingestor"] = Ingestor(ctx.extras["bus"], ctx.extras["sensors"])
            ctx.extras["device_auth"] = DeviceAuthenticator(
                ctx.db, max_age_s=float(settings.security.signature_max_age_s))

        on_start.append(start_ingest)
    if _wants(role, "pipeline"):
        async def start_pipeline(ctx: AppContext) -> None:
            from ghgwatch.pipeline.runner import Pipeline

            pipeline = Pipeline(ctx.extras["bus"], ctx.db, ctx.extras["sensors"])
            ctx.extras["pipeline"] = pipeline
            pipeline.start()

        async def stop_pipeline(ctx: AppContext) -> None:
            pipeline = ctx.extras.pop("pipeline", None)
            if pipeline is not None:
                await pipeline.stop()

        on_start.append(start_pipeline)
        on_stop.append(stop_pipeline)
    if demo:
        async def seed(ctx: AppContext) -> None:
            from ghgwatch.demo import seed_demo

            await seed_demo(ctx.db, ctx.settings, api_url=f"http://{settings.api.host}:{settings.api.port}")

        on_start.append(seed)
    return create_app(settings, on_start=on_start, on_stop=on_stop, role=role)

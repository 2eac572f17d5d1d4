"""Which services run in a process: every role serves ``/healthz`` (and ``/metrics``); ``api`` and ``all``
also serve the REST API. Later roles add their start/stop hooks here."""

from __future__ import annotations

from fastapi import FastAPI

from ghgwatch.settings import Settings
from ghgwatch.web.app import Hook, create_app
from ghgwatch.web.context import AppContext

ROLES = ("all", "api", "pipeline", "mqtt", "analytics", "ui")


def build_role_app(settings: Settings, role: str, *, demo: bool = False) -> FastAPI:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    on_start: list[Hook] = []
    on_stop: list[Hook] = []
    if demo:
        async def seed(ctx: AppContext) -> None:
            from ghgwatch.demo import seed_demo

            await seed_demo(ctx.db, ctx.settings, api_url=f"http://{settings.api.host}:{settings.api.port}")

        on_start.append(seed)
    return create_app(settings, on_start=on_start, on_stop=on_stop)

"""A running platform (API, embedded bus, pipeline, alert service) on the test database, and helpers.

No ``__init__.py`` here on purpose: ``tests/alerts`` is not a package (its tests import ``alerts_synth``
as a top-level module), so a package ``platform`` would shadow the standard library's ``platform``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.conftest import World, build_world
from tests.support.net import free_port
from tests.support.stalls import stall_report, wait_until

from ghgwatch.alerts.service import AlertService
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import build_settings
from ghgwatch.store import Database
from ghgwatch.web.context import AppContext


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free loopback port (no lifespan: the caller runs it); yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class AlertPlatform:
    app: FastAPI
    world: World
    client: httpx.AsyncClient
    db: Database
    token: str
    engineer: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    @property
    def service(self) -> AlertService:
        svc: AlertService = self.ctx.extras["alerts"]
        return svc

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, sensor: int, values: list[float], *, start: float | None = None,
                   step_s: float = 1.0) -> float:
        """Send readings ``step_s`` apart ending about now (or from ``start``); returns the last ts."""
        t0 = time.time() - step_s * len(values) if start is None else start
        body = {"readings": [{"sensor": sensor, "ts": datetime.fromtimestamp(t0 + i * step_s, UTC).isoformat(),
                              "value": v} for i, v in enumerate(values)]}
        answer = await self.client.post("/api/v1/readings", json=body, headers=self.auth)
        assert answer.status_code == 202 and answer.json()["accepted"] == len(values), answer.text
        return t0 + (len(values) - 1) * step_s

    async def rule(self, selector: str, rule_id: str, definition: dict[str, Any], scope: str = "sensor") -> None:
        answer = await self.client.post("/api/v1/alert-rules", headers=self.engineer, json={
            "scope": scope, "selector": selector, "rule_id": rule_id, "definition": definition})
        assert answer.status_code == 201, answer.text
        # In force once this returns: either this call rebuilds the engine, or the service's 2 s refresh already
        # did since the rule was stored (then this returns False; asserting True was a race with it).
        await self.service.rebuild()

    async def alerts(self, **params: Any) -> list[dict[str, Any]]:
        answer = await self.client.get("/api/v1/alerts", headers=self.engineer, params=params)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def judged(self, sensor: int, ts: float) -> None:
        """Wait until the engine has judged the sensor's reading of time ``ts`` (and stored what it decided)."""
        await wait_until(lambda: self.service.engine.last_ts(str(sensor)) >= ts - 1e-6, 15,
                         f"the engine judging sensor {sensor}'s reading of {ts}", extras=self.ctx.extras, db=self.db,
                         sensors=[sensor], interval_s=0.02)
        async with self.service._lock:  # its events are stored under the lock
            pass

    async def wait_for(self, check: Callable[[list[dict[str, Any]]], bool], within_s: float = 60.0,
                       **params: Any) -> list[dict[str, Any]]:
        """The alerts (``params``: the API's filters) once ``check`` holds for them, or after ``within_s`` as they are
        then; in that case the platform's state is logged too (tests/support/stalls.py), for the test that fails."""
        deadline = time.monotonic() + within_s
        while True:
            items = await self.alerts(**params)
            if check(items):
                return items
            if time.monotonic() > deadline:
                sensors = [params["sensor_id"]] if "sensor_id" in params else []
                await stall_report(f"alerts {params or ''} as the test waits for them within {within_s} s (got "
                                   f"{[(a['sensor_id'], a['rule_id'], a['state']) for a in items]})",
                                   extras=self.ctx.extras, db=self.db, sensors=sensors)
                return items
            await asyncio.sleep(0.05)

    async def new_sensor(self, **fields: Any) -> int:
        body = {"source_id": self.world.source_a, "name": f"s-{time.monotonic_ns()}", **fields}
        answer = await self.client.post("/api/v1/sensors", headers=self.engineer, json=body)
        assert answer.status_code == 201, answer.text
        sensor_id: int = answer.json()["id"]
        self.ctx.extras["sensors"].invalidate()
        return sensor_id


PlatformFactory = Callable[..., Awaitable[AlertPlatform]]


@asynccontextmanager
async def running(tmp_path: Path, db_url: str, *, again: AlertPlatform | None = None,
                  **overrides: Any) -> AsyncIterator[AlertPlatform]:
    """A platform; ``again``: a previous one on the same database (restart: no new world or device)."""
    from ghgwatch.roles import build_role_app

    settings = build_settings(data_dir=tmp_path / "data", db={"url": db_url},
                              security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256",
                                        "allow_private_targets": True}, **overrides)
    app = build_role_app(settings, "all")
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        db: Database = app.state.ctx.db
        if again is None:
            world = await build_world(client, db)
            async with db.transaction() as s:
                token = (await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")).token
        else:
            world, token = dataclasses.replace(again.world, client=client, db=db), again.token
        p = AlertPlatform(app, world, client, db, token)
        p.engineer = await world.login(Role.ENGINEER, world.org_a)
        p.ctx.extras["sensors"].invalidate()
        await p.service.rebuild()
        yield p


@pytest.fixture
async def alert_platform(tmp_path: Path, db_url: str, db: Database) -> AsyncIterator[AlertPlatform]:
    del db  # the db fixture truncates PostgreSQL afterwards
    async with running(tmp_path, db_url, notify={"retry_backoff_s": 0.05}, mqtt={"embedded_port": free_port()}) as p:
        yield p

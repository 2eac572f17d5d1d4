"""A running platform with the analytics role (API + bus + pipeline + analytics) and series helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from ghgwatch.analytics.service import AnalyticsService
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import build_settings
from ghgwatch.store import Database
from tests.conftest import build_world
from tests.ingest.conftest import Platform
from tests.support.net import free_port  # the all role starts an MQTT broker: a port of its own

PERIOD_MIN = 60
"""The built-in season of the generated series: one hour of 1-minute values."""


def pattern(minutes: np.ndarray, *, level: float = 0.5, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """Methane % vol with an hourly sine of amplitude 0.2 and small Gaussian noise: known structure."""
    rng = np.random.default_rng(seed)
    return level + 0.2 * np.sin(2 * np.pi * minutes / PERIOD_MIN) + rng.normal(0, noise, len(minutes))


@dataclass
class AnalyticsPlatform(Platform):
    analytics: AnalyticsService | None = None
    t0: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    """The latest whole minute when the test started; generated series end at or before it."""

    async def headers(self, role: Role, org: int | None = None) -> dict[str, str]:
        return await self.world.login(role, self.world.org_a if org is None else org)

    async def post_minutes(self, sensor: int, minutes: np.ndarray, values: np.ndarray, batch: int = 500) -> None:
        """Post readings at ``t0 + minutes`` (negative: in the past) in batches, and wait until stored."""
        before = await self.stored(sensor)
        rows = [{"sensor": sensor, "ts": (self.t0 + timedelta(minutes=float(m))).isoformat(), "value": float(v)}
                for m, v in zip(minutes, values, strict=True)]
        for i in range(0, len(rows), batch):
            answer = await self.client.post("/api/v1/readings", json={"readings": rows[i:i + batch]}, headers=self.auth)
            assert answer.status_code == 202, answer.text
            assert answer.json()["rejected"] == []
        assert await self.wait_stored(before + len(rows), sensor) == before + len(rows)

    async def job(self, headers: dict[str, str], wait_s: float = 60.0, **body: Any) -> dict[str, Any]:
        """Queue a job through the API and wait for it to finish; returns the final job."""
        answer = await self.client.post("/api/v1/analytics/jobs", json=body, headers=headers)
        assert answer.status_code == 202, answer.text
        assert answer.json()["state"] == "queued"
        return await self.wait_job(answer.json()["id"], headers, wait_s)

    async def wait_job(self, job_id: int, headers: dict[str, str], wait_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + wait_s
        while True:
            job: dict[str, Any] = (await self.client.get(f"/api/v1/analytics/jobs/{job_id}", headers=headers)).json()
            if job["state"] in ("done", "failed") or time.monotonic() > deadline:
                return job
            await asyncio.sleep(0.05)



@pytest.fixture
async def platform(tmp_path: Path, db_url: str, db: Database) -> AsyncIterator[AnalyticsPlatform]:
    """Every role in one process on the test database (both databases), analytics included."""
    del db  # the db fixture truncates PostgreSQL afterwards
    from ghgwatch.roles import build_role_app

    settings = build_settings(data_dir=tmp_path / "data", db={"url": db_url}, bus={"url": "embedded:"},
                              mqtt={"embedded_port": free_port()},
                              security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256"})
    app = build_role_app(settings, "all")
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        database: Database = app.state.ctx.db
        world = await build_world(client, database)
        app.state.ctx.extras["sensors"].invalidate()  # the sensors were created after the cache was loaded
        async with database.transaction() as s:
            issued = await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")
        t0 = datetime.now(UTC).replace(second=0, microsecond=0)
        yield AnalyticsPlatform(world, client, database, issued.token, issued.device.hmac_secret, issued.device.id,
                                analytics=app.state.ctx.extras["analytics"], t0=t0)

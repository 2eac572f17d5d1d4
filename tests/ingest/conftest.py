"""A running platform (API + bus + pipeline) on the test database, with the embedded bus or Kafka (tansu)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ghgwatch.readings.models import Reading
from ghgwatch.security import service
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import build_settings
from ghgwatch.store import Database
from tests.conftest import World, build_world


@pytest.fixture
def tansu_url() -> Iterator[str]:
    """A broker of its own per test (memory storage, starts in < 0.1 s), so no test sees another's topics."""
    from tests.support.tansu import running_tansu

    with running_tansu() as broker:
        yield broker.url


@dataclass
class Platform:
    world: World
    client: httpx.AsyncClient
    db: Database
    token: str
    hmac_secret: str
    device_id: int
    extras: dict[str, Any] = field(default_factory=dict)
    """The running app's services (``bus``, ``pipeline``, ``coap_server``, ...)."""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def stored(self, sensor_id: int | None = None) -> int:
        async with self.db.sessions() as s:
            stmt = select(func.count()).select_from(Reading)
            if sensor_id is not None:
                stmt = stmt.where(Reading.sensor_id == sensor_id)
            return int((await s.execute(stmt)).scalar_one())

    async def wait_stored(self, expected: int, sensor_id: int | None = None, within: float = 20.0) -> int:
        deadline = time.monotonic() + within
        n = -1
        while time.monotonic() < deadline:
            try:
                n = await self.stored(sensor_id)
            except OperationalError as exc:  # SQLite: the pipeline held the write lock past the busy timeout
                if "locked" not in str(exc) or time.monotonic() >= deadline:  # (a loaded machine); ask again
                    raise
                continue
            if n >= expected:
                break
            await asyncio.sleep(0.05)
        return n

    async def wait_dead(self, expected: int, headers: dict[str, str], within: float = 20.0) -> list[dict[str, object]]:
        deadline = time.monotonic() + within
        while True:
            items: list[dict[str, object]] = (await self.client.get(
                "/api/v1/deadletter", headers=headers, params={"limit": 1000})).json()["items"]
            if len(items) >= expected or time.monotonic() > deadline:
                return items
            await asyncio.sleep(0.05)


async def _platform(tmp_path: Path, db_url: str, bus_url: str, *, mqtt_url: str | None = None,
                    mqtt_port: int = 0, coap_port: int | None = None, mqtt_ca_file: Path | None = None,
                    **overrides: Any) -> AsyncIterator[Platform]:
    """The platform in one process; with ``mqtt_url`` (``""``: embedded broker on ``mqtt_port``) the MQTT
    bridge runs too, and with ``coap_port`` the CoAP server."""
    from ghgwatch import roles

    settings = build_settings(data_dir=tmp_path / "data", db={"url": db_url}, bus={"url": bus_url},
                              mqtt={"url": mqtt_url or "", "embedded_port": mqtt_port, "ca_file": mqtt_ca_file},
                              coap={"host": "127.0.0.1", "port": coap_port or 0},
                              security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256",
                                        "allow_private_targets": True},  # loopback webhook receivers
                              **overrides)
    services = roles.SERVICES if mqtt_url is not None else tuple(s for s in roles.SERVICES if s.name != "mqtt")
    if coap_port is None:
        services = tuple(s for s in services if s.name != "coap")
    app = roles.build_role_app(settings, "all", services=services)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        db: Database = app.state.ctx.db
        world = await build_world(client, db)
        async with db.transaction() as s:
            issued = await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")
        yield Platform(world, client, db, issued.token, issued.device.hmac_secret, issued.device.id,
                       app.state.ctx.extras)


@pytest.fixture
async def platform(tmp_path: Path, db_url: str, db: Database) -> AsyncIterator[Platform]:
    """Embedded bus; both databases."""
    del db  # the db fixture truncates PostgreSQL afterwards
    async for p in _platform(tmp_path, db_url, "embedded:"):
        yield p


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
async def any_bus_platform(request: pytest.FixtureRequest, tmp_path: Path, db_url: str,
                           db: Database) -> AsyncIterator[Platform]:
    del db
    bus_url = "embedded:" if request.param == "embedded" else request.getfixturevalue("tansu_url")
    async for p in _platform(tmp_path, db_url, bus_url):
        yield p

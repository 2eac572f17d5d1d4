"""Shared fixtures: a migrated database on SQLite and on real PostgreSQL, the app, users."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM, Principal
from ghgwatch.settings import Settings, build_settings
from ghgwatch.store import Database, open_database
from ghgwatch.store.base import Base
from ghgwatch.store.migrate import upgrade
from tests.support import postgres

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Passwords hashed at argon2's least cost in tests, here and in every server the tests start (they inherit the
# environment): at the product's default (RFC 9106, 0.3 CPU-s a hash) sign-ins took a large share of the suite's
# CPU. tests/security/test_password_cost.py checks the default cost and the re-hash at sign-in.
TEST_ARGON2 = {"GHGWATCH_SECURITY__ARGON2_TIME_COST": "1", "GHGWATCH_SECURITY__ARGON2_MEMORY_KIB": "8",
               "GHGWATCH_SECURITY__ARGON2_PARALLELISM": "1"}
for _name, _value in TEST_ARGON2.items():
    os.environ.setdefault(_name, _value)


_PG_CLUSTER = pytest.StashKey[contextlib.ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist, the controller starts one PostgreSQL cluster for the run before the workers start; they find
    it in the environment they inherit (tests/support/postgres.py). Without xdist the session fixture starts it
    when a test first needs it."""
    if hasattr(config, "workerinput") or os.environ.get("GHGWATCH_TEST_PG_ADMIN_URL"):
        return
    if not config.pluginmanager.hasplugin("xdist") or not config.getoption("numprocesses", None):
        return
    stack = contextlib.ExitStack()
    os.environ["GHGWATCH_TEST_PG_ADMIN_URL"] = stack.enter_context(postgres.throwaway_server())
    config.stash[_PG_CLUSTER] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_PG_CLUSTER, None)
    if stack is not None:
        os.environ.pop("GHGWATCH_TEST_PG_ADMIN_URL", None)
        stack.close()


@pytest.fixture(scope="session", autouse=True)
def secrets_cipher() -> None:
    """Encrypted columns need a process cipher; the app and the CLI install theirs, service-level tests use this."""
    from ghgwatch.security.crypto import SecretCipher, generate_key, install_cipher

    install_cipher(SecretCipher([generate_key().encode()]))


@pytest.fixture(scope="session", autouse=True)
def password_cost() -> None:
    """Service-level tests hash without an app: install the environment's cost, as the app does at start."""
    from ghgwatch.security.passwords import install_cost_from_settings

    install_cost_from_settings(build_settings().security)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    """A database migrated once per session; tests truncate it afterwards."""
    name = f"ghgwatch_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = postgres.asyncpg_url(postgres.create_database(pg_admin_url, name))
    upgrade(url)
    yield url
    postgres.drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "ghgwatch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("pg_template")
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = open_database(db_url)

    async def truncate() -> None:
        if database.dialect == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            async with database.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))

    # Before as well as after: a test that wrote through a subprocess (which has no teardown of its own) or whose
    # teardown failed must not leave rows for the next one.
    await truncate()
    try:
        yield database
    finally:
        await truncate()
        await database.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return build_settings(data_dir=tmp_path / "data", db={"url": db_url},
                          security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256"})


@pytest.fixture
async def app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    from ghgwatch.web import create_app

    application = create_app(settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


@dataclass
class World:
    """Two organisations with a facility, a source and a sensor each, and users of every role."""

    client: httpx.AsyncClient
    db: Database
    org_a: int
    org_b: int
    facility_a: int
    source_a: int
    sensor_a: int
    facility_b: int

    async def login(self, role: Role, org: int | None) -> dict[str, str]:
        from ghgwatch.security import service

        username = f"{role.value}-{org}-{uuid.uuid4().hex[:6]}"
        async with self.db.transaction() as s:
            await service.create_user(s, SYSTEM, username=username, password="password-123", role=role,
                                      organization_id=org)
        answer = await self.client.post("/api/v1/auth/token",
                                        data={"username": username, "password": "password-123"})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def build_world(client: httpx.AsyncClient, db: Database, actor: Principal = SYSTEM) -> World:
    from ghgwatch.registry import service
    from ghgwatch.registry.schemas import FacilityIn, OrganizationIn, SensorIn, SourceIn
    from ghgwatch.registry.specs import FACILITIES, ORGANIZATIONS, SENSORS, SOURCES

    ids: dict[str, int] = {}
    async with db.transaction() as s:
        for key in ("a", "b"):
            org = await service.create(s, actor, ORGANIZATIONS, OrganizationIn(name=f"Org {key.upper()}"))
            fac = await service.create(s, actor, FACILITIES, FacilityIn(
                organization_id=org.id, name=f"Mine {key}", type="underground_mine",  # type: ignore[attr-defined, arg-type]
                latitude=53.8, longitude=87.9))
            src = await service.create(s, actor, SOURCES, SourceIn(
                facility_id=fac.id, name="Shaft 1", type="ventilation_shaft"))  # type: ignore[attr-defined, arg-type]
            sen = await service.create(s, actor, SENSORS, SensorIn(
                source_id=src.id, name="CH4 shaft 1", kind="methane", unit="%",  # type: ignore[attr-defined, arg-type]
                range_min=0, range_max=100, alarm_level=0.75))
            ids |= {f"org_{key}": org.id, f"facility_{key}": fac.id, f"source_{key}": src.id,  # type: ignore[attr-defined]
                    f"sensor_{key}": sen.id}  # type: ignore[attr-defined]
    return World(client, db, ids["org_a"], ids["org_b"], ids["facility_a"], ids["source_a"], ids["sensor_a"],
                 ids["facility_b"])


@pytest.fixture
async def world(client: httpx.AsyncClient, db: Database) -> World:
    return await build_world(client, db)

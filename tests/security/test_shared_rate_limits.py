"""Sign-in and ingest rate limits shared by every process that uses the database (issue 12, rate limits): two app
instances on the same database (two engines, as two replicas have) enforce one limit together, not one each.
With ``rate_limit_store="memory"`` the same two instances let twice the limit through, which is what cluster mode
did before."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from ghgwatch.kit.problems import Problem
from ghgwatch.security.accounts import LoginGuard, shared_limits
from ghgwatch.security.principal import SYSTEM
from ghgwatch.security.ratelimit import (
    RateLimitRow,
    SharedLimits,
    SharedLimitsUnavailable,
    SharedTokenBucket,
)
from ghgwatch.settings import SecuritySettings, build_settings
from ghgwatch.store import Database, open_database
from tests.conftest import build_world
from tests.support.net import free_port

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


@contextlib.asynccontextmanager
async def _instance(tmp_path: Path, db_url: str, name: str, **security: object) -> AsyncIterator[FastAPI]:
    """One API replica as ``ghgwatch serve --role api`` builds it (its bus and ingest only): its own engine
    (connection pool), data folder and embedded bus; the shared database."""
    from ghgwatch import roles

    settings = build_settings(data_dir=tmp_path / name, db={"url": db_url},
                              security={"jwt_secret": SECRET, **security})
    services = tuple(s for s in roles.SERVICES if s.name in ("bus", "ingest"))
    app = roles.build_role_app(settings, "api", services=services)
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, address: str = "192.0.2.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4000)), base_url="http://test")


@pytest.mark.parametrize(("store", "granted"), [("database", 3), ("memory", 6)])
async def test_two_instances_share_the_ingest_limit(tmp_path: Path, db_url: str, db: Database, store: str,
                                                    granted: int) -> None:
    from ghgwatch.security import service

    limits = {"rate_limit_store": store, "ingest_requests_per_device_s": 0.001, "ingest_burst": 3}
    async with _instance(tmp_path, db_url, "one", **limits) as one, \
            _instance(tmp_path, db_url, "two", **limits) as two, _client(one) as c1, _client(two) as c2:
        world = await build_world(c1, db)
        async with db.transaction() as s:
            token = (await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")).token
        auth = {"Authorization": f"Bearer {token}"}
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        answers = []
        for i in range(8):  # alternately to each instance
            reading = {"sensor": world.sensor_a, "ts": (t0 + timedelta(seconds=i)).isoformat(), "value": 0.4}
            answers.append(await (c1 if i % 2 == 0 else c2).post("/api/v1/readings", json={"readings": [reading]},
                                                                 headers=auth))
        codes = [a.status_code for a in answers]
        assert codes == [202] * granted + [429] * (8 - granted), codes
        if granted < 8:
            refused = answers[granted]
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.headers["content-type"].startswith("application/problem+json")
        metrics = await c2.get("/metrics")
        assert 'ghgwatch_rate_limited_total{limit="ingest_device"}' in metrics.text


async def test_two_instances_share_the_sign_in_limits(tmp_path: Path, db_url: str, db: Database) -> None:
    limits = {"rate_limit_store": "database", "login_attempts_per_address": 3, "login_failures_per_user": 2}
    async with _instance(tmp_path, db_url, "one", **limits) as one, \
            _instance(tmp_path, db_url, "two", **limits) as two:
        # Per address: distinct unknown usernames, alternately to each instance.
        async with _client(one) as c1, _client(two) as c2:
            codes = [(await c.post("/api/v1/auth/token", data={"username": f"nobody-{i}", "password": "x"})
                      ).status_code for i, c in enumerate([c1, c2, c1, c2])]
            assert codes == [401, 401, 401, 429]
            again = await c1.post("/api/v1/auth/token", data={"username": "nobody-9", "password": "x"})
            assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1
            assert "address" in again.json()["detail"]
        # Per user: failed sign-ins of one user from different addresses, on different instances; the username
        # is case-folded, so "Alice" is the same user as "alice".
        from ghgwatch.security import service
        from ghgwatch.security.models import Role

        async with _client(one) as c1:
            world = await build_world(c1, db)
        async with db.transaction() as s:
            await service.create_user(s, SYSTEM, username="Alice", password="password-123", role=Role.ENGINEER,
                                      organization_id=world.org_a)
        async with _client(one, "198.51.100.1") as a1, _client(two, "198.51.100.2") as a2, \
                _client(one, "198.51.100.3") as a3, _client(two, "198.51.100.4") as a4:
            wrong = {"username": "alice", "password": "wrong"}
            assert (await a1.post("/api/v1/auth/token", data=wrong)).status_code == 401
            assert (await a2.post("/api/v1/auth/token", data=wrong)).status_code == 401
            limited = await a3.post("/api/v1/auth/token", data={"username": "Alice", "password": "password-123"})
            assert limited.status_code == 429 and "user" in limited.json()["detail"]
            assert int(limited.headers["Retry-After"]) >= 1
            metrics = await a4.get("/metrics")
            assert 'ghgwatch_rate_limited_total{limit="login_user"}' in metrics.text
            assert 'ghgwatch_rate_limited_total{limit="login_address"}' in metrics.text


async def test_a_successful_sign_in_clears_the_users_failures_for_every_instance(tmp_path: Path, db_url: str,
                                                                                 db: Database) -> None:
    from ghgwatch.security import service
    from ghgwatch.security.models import Role

    limits = {"rate_limit_store": "database", "login_failures_per_user": 2}
    async with _instance(tmp_path, db_url, "one", **limits) as one, \
            _instance(tmp_path, db_url, "two", **limits) as two, _client(one) as c1, _client(two) as c2:
        world = await build_world(c1, db)
        async with db.transaction() as s:
            await service.create_user(s, SYSTEM, username="bob", password="password-123", role=Role.ENGINEER,
                                      organization_id=world.org_a)
        wrong, right = {"username": "bob", "password": "wrong"}, {"username": "bob", "password": "password-123"}
        assert (await c1.post("/api/v1/auth/token", data=wrong)).status_code == 401
        assert (await c2.post("/api/v1/auth/token", data=right)).status_code == 200
        assert (await c1.post("/api/v1/auth/token", data=wrong)).status_code == 401
        assert (await c2.post("/api/v1/auth/token", data=right)).status_code == 200  # one failure since success


async def test_the_store_follows_the_setting(db: Database) -> None:
    auto = shared_limits({}, db, SecuritySettings())
    assert (auto is None) == (db.dialect == "sqlite")  # auto: the database on PostgreSQL only
    assert shared_limits({}, db, SecuritySettings(rate_limit_store="memory")) is None
    assert isinstance(shared_limits({}, db, SecuritySettings(rate_limit_store="database")), SharedLimits)


async def test_token_bucket_and_window_in_the_database(db: Database) -> None:
    now = [1_800_000_000.0]
    limits = SharedLimits(db, clock=lambda: now[0])
    # Token bucket, 1 per second, bursts of 2.
    assert await limits.take("ingest_device", "7", 1.0, 2) is None
    assert await limits.take("ingest_device", "7", 1.0, 2) is None
    assert await limits.take("ingest_device", "7", 1.0, 2) == pytest.approx(1.0)
    assert await limits.take("ingest_device", "8", 1.0, 2) is None  # another key is not affected
    now[0] += 0.5
    assert await limits.take("ingest_device", "7", 1.0, 2) == pytest.approx(0.5)
    now[0] += 0.5
    assert await limits.take("ingest_device", "7", 1.0, 2) is None
    now[0] -= 30  # a process whose clock is behind refills nothing (and takes nothing it does not have)
    assert await limits.take("ingest_device", "7", 1.0, 2) == pytest.approx(1.0)
    now[0] += 30 + 100  # a long pause refills to the burst, not beyond
    assert [await limits.take("ingest_device", "7", 1.0, 2) is None for _ in range(3)] == [True, True, False]
    # Fixed window of 10 s from the first attempt, 2 attempts.
    assert await limits.peek("login_user", "alice", 2) is None
    assert await limits.count("login_user", "alice", 2, 10.0) is None
    now[0] += 4
    assert await limits.count("login_user", "alice", 2, 10.0) is None
    assert await limits.peek("login_user", "alice", 2) == pytest.approx(6.0)
    assert await limits.count("login_user", "alice", 2, 10.0) == pytest.approx(6.0)
    now[0] += 6
    assert await limits.peek("login_user", "alice", 2) is None  # the window ended
    assert await limits.count("login_user", "alice", 2, 10.0) is None
    await limits.reset("login_user", "alice")
    assert await limits.peek("login_user", "alice", 1) is None
    # Rows that hold nothing any more are deleted (here at the next write after the purge interval).
    now[0] += 3600
    await limits.take("ingest_device", "9", 1.0, 2)
    async with db.sessions() as s:
        keys = (await s.execute(select(RateLimitRow.name, RateLimitRow.key))).all()
    assert [tuple(k) for k in keys] == [("ingest_device", "9")]


async def test_concurrent_takes_of_two_processes_grant_exactly_the_burst(db_url: str, db: Database) -> None:
    """The upsert locks the key's row: 60 concurrent requests through two engines, 20 tokens, 20 granted."""
    other = open_database(db_url)
    try:
        # The claim is exactness under concurrency, not speed: 60 SQLite write transactions queue on one lock, and on
        # a loaded machine some waited longer than the default 5-s answer bound (then the limits report themselves
        # unavailable, which the callers' fallback handles; tested below).
        one, two = SharedLimits(db, timeout_s=120.0), SharedLimits(other, timeout_s=120.0)
        results = await asyncio.gather(*[(one if i % 2 else two).take("ingest_device", "5", 0.0001, 20)
                                         for i in range(60)])
        assert sum(r is None for r in results) == 20
        async with db.sessions() as s:
            assert (await s.execute(select(func.count()).select_from(RateLimitRow))).scalar_one() == 1
    finally:
        await other.dispose()


async def test_without_an_answer_from_the_database_each_process_limits_on_its_own() -> None:
    """Ingest and sign-in keep working during a database outage, under this process's own limits, and the
    database is not asked again for a while (an outage costs no time per request)."""
    down = open_database(f"postgresql+asyncpg://nobody:nothing@127.0.0.1:{free_port()}/none")
    try:
        limits = SharedLimits(down, retry_after_s=60.0)
        bucket = SharedTokenBucket(limits, "ingest_device", 1.0, 2)
        assert [await bucket.take("1") is None for _ in range(3)] == [True, True, False]
        with pytest.raises(SharedLimitsUnavailable, match="a moment ago"):
            await limits.take("ingest_device", "1", 1.0, 2)
        guard = LoginGuard(SecuritySettings(login_attempts_per_address=2), limits)
        await guard.admit("192.0.2.7", "someone")
        await guard.failed("someone")
        await guard.admit("192.0.2.7", "someone")
        with pytest.raises(Problem) as refused:
            await guard.admit("192.0.2.7", "someone")
        assert refused.value.status == 429
    finally:
        await down.dispose()


async def test_leases_ask_the_database_less_and_never_grant_more_than_the_limit(db_url: str, db: Database) -> None:
    """Two processes, leases of 10, a bucket of 200 that hardly refills: together they grant at most 200 (and at
    least 200 less what each may still hold), with about a tenth of the statements, and refusals are answered
    without asking the database again."""
    other = open_database(db_url)
    try:
        statements = [0]
        counted = []
        for database in (db, other):
            limits = SharedLimits(database)
            real = limits.take_up_to

            async def spy(*args: object, real: object = real) -> tuple[int, float]:
                statements[0] += 1
                return await real(*args)  # type: ignore[operator, no-any-return]

            limits.take_up_to = spy  # type: ignore[method-assign]
            counted.append(SharedTokenBucket(limits, "ingest_device", 0.0001, 200, lease=10))
        granted = 0
        for i in range(300):
            granted += await counted[i % 2].take("3") is None
        assert 200 - 2 * 9 <= granted <= 200
        # About one statement per 10 grants, a few partial leases, and one refusal per process: a refusal holds
        # locally until a token can exist again, so the 100 refused takes cost no statement each.
        assert statements[0] <= 200 // 10 + 6, statements[0]
    finally:
        await other.dispose()

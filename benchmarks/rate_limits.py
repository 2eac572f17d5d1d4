"""Benchmark: what counting rate limits in the database costs (issue 12, shared rate limits).

Two measures, each as medians of several rounds, with the baselines run interleaved in the same round (so that a
load change on the shared machine hits them alike):

1. One limiter call, µs: the in-process token bucket; ``SharedLimits.take`` (one upsert) on PostgreSQL and on a
   SQLite file; and, as the floor of any database touch, an empty transaction with ``SELECT 1`` on each.
2. HTTP ingest of one reading through the real API role in-process (ASGI, no network), per-request latency, with
   ``rate_limit_store=memory`` against ``database``, on PostgreSQL and on SQLite; plus 8 concurrent senders
   (distinct devices) on PostgreSQL, requests per second.

Prints the figures and, as the last line, one JSON object.

    PYTHONPATH=src .venv/bin/python benchmarks/rate_limits.py [--rounds 5] [--n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

# Throwaway keys, one set for all apps of this process (the secrets cipher is per process).
KEYS = {"jwt_secret": secrets.token_urlsafe(32), "secrets_key": base64.urlsafe_b64encode(os.urandom(32)).decode()}


async def _per_call_us(call: Callable[[int], Awaitable[Any] | Any], n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        result = call(i)
        if asyncio.iscoroutine(result):
            await result
    return (time.perf_counter() - started) / n * 1e6


async def limiter_calls(pg_url: str, sqlite_url: str, rounds: int, n: int) -> dict[str, float]:
    from ghgwatch.security.ratelimit import SharedLimits, TokenBucket
    from ghgwatch.store import open_database

    pg, lite = open_database(pg_url), open_database(sqlite_url)
    try:
        memory = TokenBucket(1e9, 10**9)
        shared_pg, shared_lite = SharedLimits(pg), SharedLimits(lite)

        async def select_one(db: Any) -> None:
            async with db.transaction() as s:
                await s.execute(text("SELECT 1"))

        cases: dict[str, Callable[[int], Any]] = {
            "memory_take": lambda i: memory.take(str(i % 100)),
            "pg_select_1": lambda i: select_one(pg),
            "pg_take": lambda i: shared_pg.take("ingest_device", str(i % 100), 1e9, 10**9),
            "sqlite_select_1": lambda i: select_one(lite),
            "sqlite_take": lambda i: shared_lite.take("ingest_device", str(i % 100), 1e9, 10**9),
        }
        samples: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(rounds + 1):  # the first round warms up (connections, statement caches)
            for name, call in cases.items():
                samples[name].append(await _per_call_us(call, n))
        return {k: round(statistics.median(v[1:]), 1) for k, v in samples.items()}
    finally:
        await pg.dispose()
        await lite.dispose()


@contextlib.asynccontextmanager
async def _api(db_url: str, data_dir: Path, store: str) -> AsyncIterator[tuple[httpx.AsyncClient, list[str], int]]:
    """The API role (bus and ingest) with 8 devices; yields a client, the device tokens and a sensor id."""
    from ghgwatch import roles
    from ghgwatch.registry import service as registry
    from ghgwatch.registry.schemas import FacilityIn, OrganizationIn, SensorIn, SourceIn
    from ghgwatch.registry.specs import FACILITIES, ORGANIZATIONS, SENSORS, SOURCES
    from ghgwatch.security import service
    from ghgwatch.security.principal import SYSTEM
    from ghgwatch.settings import build_settings

    settings = build_settings(data_dir=data_dir, db={"url": db_url}, security={
        **KEYS, "rate_limit_store": store, "ingest_requests_per_device_s": 1e6,
        "ingest_burst": 10**6})
    services = tuple(s for s in roles.SERVICES if s.name in ("bus", "ingest"))
    app = roles.build_role_app(settings, "api", services=services)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        db = app.state.ctx.db
        async with db.transaction() as s:
            org = await registry.create(s, SYSTEM, ORGANIZATIONS, OrganizationIn(name=f"Bench {uuid.uuid4().hex[:6]}"))
            fac = await registry.create(s, SYSTEM, FACILITIES, FacilityIn(
                organization_id=org.id, name="Mine", type="underground_mine",  # type: ignore[attr-defined, arg-type]
                latitude=53.8, longitude=87.9))
            src = await registry.create(s, SYSTEM, SOURCES, SourceIn(
                facility_id=fac.id, name="Shaft", type="ventilation_shaft"))  # type: ignore[attr-defined, arg-type]
            sen = await registry.create(s, SYSTEM, SENSORS, SensorIn(
                source_id=src.id, name="CH4", kind="methane", unit="%",  # type: ignore[attr-defined, arg-type]
                range_min=0, range_max=100, alarm_level=0.75))
            tokens = [(await service.create_device(s, SYSTEM, organization_id=org.id,  # type: ignore[attr-defined]
                                                   name=f"gw-{i}")).token for i in range(8)]
        yield client, tokens, sen.id  # type: ignore[attr-defined]


async def _ingest_round(client: httpx.AsyncClient, tokens: list[str], sensor: int, n: int, offset: int,
                        concurrency: int) -> tuple[float, float]:
    """Median latency (ms) of ``n`` sequential requests, then requests/s of ``concurrency`` senders."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    async def post(token: str, i: int) -> float:
        reading = {"sensor": sensor, "ts": (t0 + timedelta(milliseconds=offset + i)).isoformat(), "value": 0.4}
        started = time.perf_counter()
        answer = await client.post("/api/v1/readings", json={"readings": [reading]},
                                   headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 202, answer.text
        return time.perf_counter() - started

    latencies = [await post(tokens[0], i) for i in range(n)]

    async def sender(k: int) -> None:
        for i in range(n // concurrency):
            await post(tokens[k], n + k * n + i)

    started = time.perf_counter()
    await asyncio.gather(*[sender(k) for k in range(concurrency)])
    rate = (n // concurrency) * concurrency / (time.perf_counter() - started)
    return statistics.median(latencies) * 1000, rate


async def ingest(pg_url: str, tmp: Path, rounds: int, n: int) -> dict[str, float]:
    from ghgwatch.store.migrate import upgrade

    results: dict[str, list[float]] = {}
    backends = {"pg": pg_url}
    lite = tmp / "ingest.db"
    backends["sqlite"] = f"sqlite+aiosqlite:///{lite}"
    await asyncio.to_thread(upgrade, backends["sqlite"])
    async with contextlib.AsyncExitStack() as stack:
        apis = {}
        for backend, url in backends.items():
            for store in ("memory", "database"):
                apis[f"{backend}_{store}"] = await stack.enter_async_context(
                    _api(url, tmp / f"{backend}-{store}", store))
        for r in range(rounds + 1):  # the first round warms up
            for name, (client, tokens, sensor) in apis.items():
                latency, rate = await _ingest_round(client, tokens, sensor, n, offset=(r + 1) * 100 * n,
                                                    concurrency=8)
                if r:
                    results.setdefault(f"{name}_median_ms", []).append(latency)
                    results.setdefault(f"{name}_req_s_8_senders", []).append(rate)
    return {k: round(statistics.median(v), 2) for k, v in results.items()}


async def measure(rounds: int, n: int) -> dict[str, Any]:
    from tests.support import postgres

    from ghgwatch.store.migrate import upgrade

    with postgres.postgres_server() as admin_url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        name = f"ghgwatch_bench_limits_{os.getpid()}"
        pg_url = postgres.asyncpg_url(postgres.create_database(admin_url, name))
        try:
            await asyncio.to_thread(upgrade, pg_url)
            sqlite_url = f"sqlite+aiosqlite:///{tmp / 'calls.db'}"
            await asyncio.to_thread(upgrade, sqlite_url)
            load_before = os.getloadavg()
            calls = await limiter_calls(pg_url, sqlite_url, rounds, n)
            requests = await ingest(pg_url, tmp, rounds, n)
            load_after = os.getloadavg()
        finally:
            postgres.drop_database(admin_url, name)
    ratios = {
        "pg_take_over_select_1": round(calls["pg_take"] / calls["pg_select_1"], 2),
        "sqlite_take_over_select_1": round(calls["sqlite_take"] / calls["sqlite_select_1"], 2),
        "pg_ingest_database_over_memory": round(requests["pg_database_median_ms"]
                                                / requests["pg_memory_median_ms"], 2),
        "sqlite_ingest_database_over_memory": round(requests["sqlite_database_median_ms"]
                                                    / requests["sqlite_memory_median_ms"], 2),
        "pg_8_senders_database_over_memory": round(requests["pg_database_req_s_8_senders"]
                                                   / requests["pg_memory_req_s_8_senders"], 2),
    }
    return {"rounds": rounds, "n": n, "load_1m_before": round(load_before[0], 2),
            "load_1m_after": round(load_after[0], 2), "limiter_call_us": calls, "ingest": requests,
            "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    result = asyncio.run(measure(args.rounds, args.n))
    for section in ("limiter_call_us", "ingest", "ratios"):
        for key, value in result[section].items():
            print(f"{section:16s} {key:42s} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The pipeline's store step in a child process (``ghgwatch up``): everything acknowledged stored once, rollups
equal to the raw readings, rejections dead-lettered, and a killed child replaced without losing a reading."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from ghgwatch.pipeline.store_process import StoreProcess
from ghgwatch.readings.models import ROLLUPS, DeadLetter
from ghgwatch.store import Database
from tests.ingest.conftest import Platform, _platform

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def body(sensor: int, first: int, n: int) -> dict[str, list[dict[str, object]]]:
    return {"readings": [{"sensor": sensor, "ts": (T0 + timedelta(seconds=first + i)).isoformat(),
                          "value": 0.25 + (first + i) % 7 / 100} for i in range(n)]}


async def wait_for(condition: object, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def duplicates(p: Platform) -> int:
    async with p.db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM (SELECT 1 FROM readings GROUP BY sensor_id, ts "
                                            "HAVING count(*) > 1) d"))).scalar_one())


async def rollup_counts(p: Platform) -> list[int]:
    async with p.db.sessions() as s:
        return [int((await s.execute(select(func.coalesce(func.sum(t.count), 0)))).scalar_one()) for t in ROLLUPS]


async def test_store_process_stores_once_and_survives_being_killed(tmp_path: Path, db_url: str,
                                                                   db: Database) -> None:
    del db  # the db fixture truncates PostgreSQL afterwards
    async for p in _platform(tmp_path, db_url, "embedded:", pipeline={"store_process": True}):
        store: StoreProcess = p.extras["pipeline"].store_process
        assert store is not None
        sensor = p.world.sensor_a
        for first in range(0, 3000, 500):
            answer = await p.client.post("/api/v1/readings", json=body(sensor, first, 500), headers=p.auth)
            assert answer.status_code == 202 and answer.json()["accepted"] == 500
        writes_before = REGISTRY.get_sample_value("ghgwatch_store_write_duration_seconds_count",
                                                  {"table": "readings"}) or 0.0
        assert await p.wait_stored(3000, within=60) == 3000
        first_child = store.pid
        assert first_child is not None and first_child != os.getpid()  # stored by another process
        assert await rollup_counts(p) == [3000, 3000, 3000]
        # The child's store-write timings are exported by this process.
        assert (REGISTRY.get_sample_value("ghgwatch_store_write_duration_seconds_count",
                                          {"table": "readings"}) or 0.0) > writes_before

        # A resent body (a client retrying after a lost answer) and one reading out of the physical range.
        resent = await p.client.post("/api/v1/readings", json=body(sensor, 0, 500), headers=p.auth)
        assert resent.status_code == 202
        bad = {"readings": [{"sensor": sensor, "ts": (T0 - timedelta(seconds=1)).isoformat(), "value": -5.0}]}
        assert (await p.client.post("/api/v1/readings", json=bad, headers=p.auth)).status_code == 202

        async def dead_lettered(p: Platform = p) -> bool:
            async with p.db.sessions() as s:
                return bool((await s.execute(select(func.count()).select_from(DeadLetter).where(
                    DeadLetter.reason == "out_of_range"))).scalar_one())

        await wait_for(dead_lettered)
        assert await p.stored() == 3000 and await duplicates(p) == 0

        # The child is killed; what is sent meanwhile and after is stored once by its replacement.
        os.kill(first_child, signal.SIGKILL)
        for first in range(3000, 6000, 500):
            answer = await p.client.post("/api/v1/readings", json=body(sensor, first, 500), headers=p.auth)
            assert answer.status_code == 202
        assert await p.wait_stored(6000, within=90) == 6000
        assert store.pid not in (None, first_child) and store.starts == 2
        assert await duplicates(p) == 0
        assert await rollup_counts(p) == [6000, 6000, 6000]

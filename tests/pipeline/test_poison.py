"""A record that makes storage fail every time goes to the dead letters after bounded retries; it never blocks
its partition, and the records around it are stored once (real databases, embedded bus)."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
from sqlalchemy import select

from ghgwatch.bus import topics
from ghgwatch.ingest.wire import SensorBatch, encode
from ghgwatch.readings.models import DeadLetter
from ghgwatch.store import Database
from tests.ingest.conftest import Platform, _platform


def _batch(sensor: int, first_us: int, n: int, org: int) -> SensorBatch:
    return SensorBatch(sensor, None, [first_us + i * 1_000_000 for i in range(n)], [0.5] * n, org, 0, "http",
                       time.time_ns() // 1000, "poison-test")


async def test_poison_record_is_set_aside_and_the_partition_moves_on(platform: Platform) -> None:
    await _poison_is_set_aside(platform)


async def test_poison_record_is_set_aside_by_way_of_the_store_process(tmp_path: Path, db_url: str,
                                                                      db: Database) -> None:
    """The same when the store step runs in its own process (``ghgwatch up``): its errors come back as text."""
    del db  # the db fixture truncates PostgreSQL afterwards
    async for p in _platform(tmp_path, db_url, "embedded:", pipeline={"store_process": True}):
        await _poison_is_set_aside(p)
        assert p.extras["pipeline"].store_process.pid is not None


async def _poison_is_set_aside(p: Platform) -> None:
    sensor, org = p.world.sensor_a, p.world.org_a
    t0 = (time.time_ns() // 1000 // 60_000_000 - 120) * 60_000_000
    # A sensor id beyond any integer column: storing its dead letter overflows on SQLite and PostgreSQL alike,
    # so the whole batch fails on every attempt (before this fix the partition was blocked for good).
    poison = encode(SensorBatch(2**64 - 1, None, [t0], [1.0], org, 0, "http", time.time_ns() // 1000, "x"))
    records = [encode(_batch(sensor, t0, 10, org)), poison, encode(_batch(sensor, t0 + 10_000_000, 10, org))]
    bus = p.extras["bus"]
    await bus.publish(topics.READINGS_RAW, records)
    assert await p.wait_stored(20, within=60) == 20
    await bus.publish(topics.READINGS_RAW, [encode(_batch(sensor, t0 + 20_000_000, 5, org))])
    assert await p.wait_stored(25, within=30) == 25
    async with p.db.sessions() as s:
        dead = (await s.execute(select(DeadLetter).where(DeadLetter.reason == "storage"))).scalars().all()
    assert len(dead) == 1
    assert "failed" in dead[0].detail and dead[0].sensor_id is None
    assert msgspec.msgpack.decode(bytes.fromhex(dead[0].reading["raw"]))[0] == 2**64 - 1  # the raw record is kept
    assert await p.stored() == 25  # nothing stored twice by the retries and the bisection

"""Bulk storage of validated readings with deduplication, rollups, latest values and dead letters.

Readings are written with their rollups in one transaction (a whole pipeline batch on PostgreSQL; chunks of
``SQLITE_CHUNK`` readings on SQLite, see :func:`write_batch`), so rollups are always consistent with the raw
readings. When every reading of the batch was new, the batch's own aggregates are merged into the
rollups (:func:`ghgwatch.readings.rollups.merge`); when some were already stored (a re-delivered batch after a
crash, a reading sent twice), each touched 1-minute bucket is recomputed from raw, each touched hour from its
minutes and each touched day from its hours, which makes a re-delivery harmless. :func:`rebuild_rollups`
recompiles any period (catch-up or repair) with the same statements.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ghgwatch.observability import metrics
from ghgwatch.readings import partitions, rollups
from ghgwatch.store import Database

COLUMNS = ("sensor_id", "ts", "value", "quality")
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
SQLITE_CHUNK = 20_000
"""Readings per SQLite transaction: about 0.1 s of writing at the ~190,000 readings/s the embedded pipeline
stores (docs/benchmarks.md, "Ingest: HTTP accept to durable storage"), the most an alert waits for storage."""
_LOCK_NAMESPACE = 20_261_116
"""First key of the pipeline's advisory locks (the second is the sensor id)."""


@dataclass(frozen=True)
class SensorRows:
    sensor: int
    ts: np.ndarray[Any, np.dtype[np.int64]]
    values: np.ndarray[Any, np.dtype[np.float64]]
    quality: np.ndarray[Any, np.dtype[np.int16]]


@dataclass(frozen=True)
class DeadLetterRow:
    ref: str
    organization_id: int | None
    sensor_id: int | None
    transport: str
    reason: str
    detail: str
    reading: dict[str, Any]


def _flatten(batches: Sequence[SensorRows]) -> tuple[I64, I64, F64, npt.NDArray[np.int16]]:
    parts = [b for b in batches if len(b.ts)]
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int16)
    sensor = np.repeat(np.array([b.sensor for b in parts], dtype=np.int64), [len(b.ts) for b in parts])
    return (sensor, np.concatenate([b.ts for b in parts]).astype(np.int64, copy=False),
            np.concatenate([b.values for b in parts]).astype(np.float64, copy=False),
            np.concatenate([b.quality for b in parts]).astype(np.int16, copy=False))


async def _insert_readings(conn: AsyncConnection, sensor: I64, ts: I64, values: F64,
                           quality: npt.NDArray[np.int16]) -> int:
    """Insert, skipping (sensor, ts) already stored; returns how many rows were new."""
    # SQLAlchemy's asyncpg adapter begins its transaction lazily, at the first statement it runs: run one
    # first, so the driver-level COPY below happens inside this unit of work and not in autocommit.
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    rows = list(zip(sensor.tolist(), ts.tolist(), values.tolist(), quality.tolist(), strict=True))
    if conn.dialect.name == "postgresql":
        # Binary COPY into a session-local staging table, then one set-based insert that skips duplicates
        # (PERFORMANCE.md (a): COPY is 3-6x faster than executemany).
        await driver.execute("CREATE TEMP TABLE IF NOT EXISTS readings_stage "
                             "(sensor_id integer, ts bigint, value float8, quality smallint) ON COMMIT DELETE ROWS")
        await driver.copy_records_to_table("readings_stage", records=rows, columns=COLUMNS)
        status = await driver.execute("INSERT INTO readings (sensor_id, ts, value, quality) "
                                      "SELECT sensor_id, ts, value, quality FROM readings_stage ON CONFLICT DO NOTHING")
        return int(str(status).rsplit(" ", 1)[-1])
    cursor = await driver.executemany(
        "INSERT OR IGNORE INTO readings (sensor_id, ts, value, quality) VALUES (?, ?, ?, ?)", rows)
    return int(cursor.rowcount)


async def _lock_sensors(conn: AsyncConnection, sensors: I64) -> None:
    """PostgreSQL: one writer per sensor at a time (transaction-scoped advisory locks, taken in id order).

    Two pipeline replicas write the same sensor only around a rebalance (the old owner finishing a batch the
    new owner re-reads); without the lock, a recompute reading one snapshot could overwrite the increments of a
    transaction committing meanwhile. SQLite has a single writer anyway.
    """
    if conn.dialect.name != "postgresql":
        return
    ids = np.unique(sensors).tolist()
    if ids:
        await conn.execute(text("SELECT count(pg_advisory_xact_lock(:k, s)) FROM unnest(CAST(:ids AS integer[])) s"),
                           {"k": _LOCK_NAMESPACE, "ids": ids})


async def _upsert_latest(conn: AsyncConnection, batches: Sequence[SensorRows]) -> None:
    latest: dict[int, tuple[int, float, int]] = {}
    for b in batches:
        if len(b.ts) == 0:
            continue
        i = int(np.argmax(b.ts))
        candidate = (int(b.ts[i]), float(b.values[i]), int(b.quality[i]))
        if b.sensor not in latest or candidate[0] > latest[b.sensor][0]:
            latest[b.sensor] = candidate
    if latest:
        await conn.execute(text(
            "INSERT INTO sensor_latest (sensor_id, ts, value, quality) VALUES (:s, :t, :v, :q) "
            "ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
            "quality = excluded.quality "
            "WHERE excluded.ts >= sensor_latest.ts"),
            [{"s": s, "t": t, "v": v, "q": q} for s, (t, v, q) in latest.items()])


async def _insert_dead_letters(conn: AsyncConnection, rows: Sequence[DeadLetterRow]) -> None:
    if not rows:
        return
    from ghgwatch.kit.timeutil import utcnow
    from ghgwatch.readings.models import DeadLetter

    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(DeadLetter).on_conflict_do_nothing(index_elements=["ref"])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(DeadLetter).on_conflict_do_nothing(index_elements=["ref"])
    now = utcnow()
    await conn.execute(stmt, [{"ref": r.ref, "created_at": now, "organization_id": r.organization_id,
                               "sensor_id": r.sensor_id, "transport": r.transport, "reason": r.reason,
                               "detail": r.detail[:500], "reading": r.reading} for r in rows])


async def store_dead_letters(db: Database, rows: Sequence[DeadLetterRow]) -> None:
    """Dead letters from outside the pipeline (the MQTT bridge), idempotent by ``ref``."""
    async with db.engine.begin() as conn:
        await _insert_dead_letters(conn, rows)


async def write_batch(db: Database, batches: Sequence[SensorRows], dead: Sequence[DeadLetterRow]) -> int:
    """Store one pipeline batch; returns the number of readings offered.

    PostgreSQL: one transaction. SQLite (a single writer): transactions of at most ``SQLITE_CHUNK`` readings,
    each with its own write turn, so that an alert waits for one chunk and not for a whole batch of a backlog
    (hundreds of thousands of readings, seconds of writing). Each chunk stores its readings with their rollups;
    a crash between chunks re-delivers the batch, whose stored part takes the idempotent recompute path.
    """
    chunks = chunk_rows(batches, SQLITE_CHUNK) if db.dialect == "sqlite" else [batches]
    offered = 0
    for i, chunk in enumerate(chunks):
        offered += await _write(db, chunk, dead if i == len(chunks) - 1 else ())
    return offered


def chunk_rows(batches: Sequence[SensorRows], size: int) -> list[Sequence[SensorRows]]:
    """``batches`` in consecutive groups of at most ``size`` readings (a larger batch is cut); at least one."""
    out: list[Sequence[SensorRows]] = []
    group: list[SensorRows] = []
    n = 0
    for b in batches:
        start = 0
        while len(b.ts) - start > size - n:
            cut = start + size - n
            group.append(SensorRows(b.sensor, b.ts[start:cut], b.values[start:cut], b.quality[start:cut]))
            out.append(group)
            group, n, start = [], 0, cut
        if start < len(b.ts) or not len(b.ts):
            rest = b if start == 0 else SensorRows(b.sensor, b.ts[start:], b.values[start:], b.quality[start:])
            group.append(rest)
            n += len(rest.ts)
    if group or not out:
        out.append(group)
    return out


async def _write(db: Database, batches: Sequence[SensorRows], dead: Sequence[DeadLetterRow]) -> int:
    sensor, ts, values, quality = _flatten(batches)
    if len(ts) and partitions.is_partitioned(db):
        await partitions.ensure_days(db, np.unique(ts // partitions.DAY_US).tolist())
    try:
        async with db.write_turn(), db.engine.begin() as conn:
            if len(ts):
                await _lock_sensors(conn, sensor)
                started = time.perf_counter()
                inserted = await _insert_readings(conn, sensor, ts, values, quality)
                metrics.observe_store_write("readings", time.perf_counter() - started)
                if inserted == len(ts):
                    await rollups.merge(conn, rollups.aggregate(sensor, ts, values))
                else:  # some were stored before (a re-delivery, a resent reading): recompute what they touch
                    await rollups.recompute(conn, rollups.ranges(sensor, ts))
                await _upsert_latest(conn, batches)
            await _insert_dead_letters(conn, dead)
    except DBAPIError as exc:
        if "no partition of relation" in str(exc):
            partitions.forget(db)  # dropped by retention elsewhere: look again next time
        raise
    return len(ts)


async def rebuild_rollups(db: Database, sensor_ids: Sequence[int], start_us: int, end_us: int) -> None:
    """Recompile every rollup of the sensors over [start, end) from raw readings (idempotent)."""
    async with db.engine.begin() as conn:
        await rollups.recompute(conn, {s: (start_us, end_us) for s in sensor_ids})

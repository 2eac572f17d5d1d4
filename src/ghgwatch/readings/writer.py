"""Bulk storage of validated readings with deduplication, rollups, latest values and dead letters.

Readings are written with their rollups in one transaction (a whole pipeline batch on PostgreSQL; chunks of
``SQLITE_CHUNK`` readings on SQLite, see :func:`write_batch`), so rollups are always consistent with the raw
readings. The aggregates of the readings a transaction stores are merged into the rollups
(:func:`ghgwatch.readings.rollups.merge`): all of them when every reading was new; when some were already stored
(a re-delivered batch after a crash, a reading sent twice), the transaction is rolled back and the chunk stored
again without them (:func:`_store`), which makes a re-delivery harmless. :func:`rebuild_rollups` recomputes any
period (catch-up or repair) from the level below: each 1-minute bucket from raw, each hour from its minutes and each
day from its hours.
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


async def _upsert_latest(conn: AsyncConnection, sensor: I64, ts: I64, values: F64,
                         quality: npt.NDArray[np.int16]) -> None:
    """Each sensor's newest reading of those stored now, unless a newer one is stored already."""
    if not len(ts):
        return
    order = np.lexsort((-np.arange(len(ts)), ts, sensor))  # equal (sensor, ts): the first in the chunk sorts last
    s = sensor[order]
    last = order[np.flatnonzero(np.append(s[1:] != s[:-1], True))]  # per sensor, its newest
    await conn.execute(text(
        "INSERT INTO sensor_latest (sensor_id, ts, value, quality) VALUES (:s, :t, :v, :q) "
        "ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
        "quality = excluded.quality "
        "WHERE excluded.ts >= sensor_latest.ts"),
        [{"s": s_, "t": t, "v": v, "q": q} for s_, t, v, q in zip(
            sensor[last].tolist(), ts[last].tolist(), values[last].tolist(), quality[last].tolist(), strict=True)])


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
        async with db.write_turn():
            try:
                async with db.engine.begin() as conn:
                    await _store(conn, sensor, ts, values, quality, dead, resent=False)
            except _Resent:  # rolled back: store only the new readings, in a transaction of their own
                async with db.engine.begin() as conn:
                    await _store(conn, sensor, ts, values, quality, dead, resent=True)
    except DBAPIError as exc:
        if "no partition of relation" in str(exc):
            partitions.forget(db)  # dropped by retention elsewhere: look again next time
        raise
    return len(ts)


class _Resent(Exception):
    """Some readings of a chunk were stored before: roll its transaction back and take the resent path."""


async def _store(conn: AsyncConnection, sensor: I64, ts: I64, values: F64, quality: npt.NDArray[np.int16],
                 dead: Sequence[DeadLetterRow], *, resent: bool) -> None:
    """Readings, their rollups and latest values, and dead letters, in the caller's transaction.

    First try (``resent`` False): insert all, merge the chunk's aggregates; if the insert skipped any (stored
    before), raise :class:`_Resent`. Resent path: look up which (sensor, ts) are stored already in the chunk's
    per-sensor time ranges (the pipeline's advisory locks keep other pipeline writers out meanwhile), insert the
    others (the first of any repeated within the chunk, as the plain insert keeps) and merge their aggregates. Its
    cost grows with the readings stored in those ranges, where recomputing the touched buckets from raw grows with
    every reading of the touched minutes, hours and days: at 2,000 readings/s a sensor that was 0.2-1.2 s a
    chunk, and an alarm's write waits for the chunk in hand (docs/benchmarks.md). Only if a writer outside the
    pipeline stored some of them in between does it recompute the touched buckets from raw, as before.
    """
    if len(ts):
        await _lock_sensors(conn, sensor)
        if resent:
            keep = _first_unstored(sensor, ts, await _stored_keys(conn, sensor, ts))
            sensor, ts, values, quality = sensor[keep], ts[keep], values[keep], quality[keep]
        started = time.perf_counter()
        inserted = await _insert_readings(conn, sensor, ts, values, quality) if len(ts) else 0
        metrics.observe_store_write("readings", time.perf_counter() - started)
        if inserted == len(ts):
            await rollups.merge(conn, rollups.aggregate(sensor, ts, values))
        elif not resent:
            raise _Resent
        else:  # stored meanwhile by a writer without the pipeline's locks: recompute what they touch
            await rollups.recompute(conn, rollups.ranges(sensor, ts))
        await _upsert_latest(conn, sensor, ts, values, quality)
    await _insert_dead_letters(conn, dead)


_KEY_RANGES = 300
"""Sensors per look-up of stored keys (three parameters each, within SQLite's oldest limit of 999)."""


async def _stored_keys(conn: AsyncConnection, sensor: I64, ts: I64) -> set[tuple[int, int]]:
    """The (sensor, ts) already stored within each sensor's [first, last] of the chunk."""
    spans = rollups.extents(sensor, ts)
    join = "JOIN readings r ON r.sensor_id = q.s AND r.ts BETWEEN q.lo AND q.hi"
    if conn.dialect.name == "postgresql":
        s, lo, hi = (list(c) for c in zip(*spans, strict=True))
        rows = await conn.execute(text(
            "SELECT r.sensor_id, r.ts FROM unnest(CAST(:s AS integer[]), CAST(:lo AS bigint[]), "
            f"CAST(:hi AS bigint[])) AS q(s, lo, hi) {join}"), {"s": s, "lo": lo, "hi": hi})
        return {(int(a), int(b)) for a, b in rows}
    found: set[tuple[int, int]] = set()
    for i in range(0, len(spans), _KEY_RANGES):
        part = spans[i:i + _KEY_RANGES]
        params = {f"{k}{j}": v for j, span in enumerate(part) for k, v in zip("slh", span, strict=True)}
        ranges = ", ".join(f"(:s{j}, :l{j}, :h{j})" for j in range(len(part)))
        sql = f"WITH q(s, lo, hi) AS (VALUES {ranges}) SELECT r.sensor_id, r.ts FROM q {join}"
        rows = await conn.execute(text(sql), params)
        found.update((int(a), int(b)) for a, b in rows)
    return found


def _first_unstored(sensor: I64, ts: I64, stored: set[tuple[int, int]]) -> npt.NDArray[np.bool_]:
    """Mask of the readings to insert: not stored, and the first of their (sensor, ts) within the chunk."""
    seen = set(stored)
    keep = np.zeros(len(ts), dtype=bool)
    for i, key in enumerate(zip(sensor.tolist(), ts.tolist(), strict=True)):
        if key not in seen:
            seen.add(key)
            keep[i] = True
    return keep


async def rebuild_rollups(db: Database, sensor_ids: Sequence[int], start_us: int, end_us: int) -> None:
    """Recompile every rollup of the sensors over [start, end) from raw readings (idempotent)."""
    async with db.engine.begin() as conn:
        await rollups.recompute(conn, {s: (start_us, end_us) for s in sensor_ids})

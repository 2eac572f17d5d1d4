"""Bulk storage of validated readings with deduplication, rollups, latest values and dead letters.

Everything of one pipeline batch is written in one transaction, so rollups are always consistent with
the raw readings: each touched 1-minute bucket is recomputed from raw, each touched hour from its minutes
and each touched day from its hours. Recomputing (rather than incrementing) makes a re-delivered batch
harmless, and :func:`rebuild_rollups` recompiles any period (catch-up or repair) with the same statements.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ghgwatch.observability import metrics
from ghgwatch.readings.models import ROLLUPS, RollupMixin
from ghgwatch.store import Database

COLUMNS = ("sensor_id", "ts", "value", "quality")


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


def _ranges(batches: Sequence[SensorRows], bucket_us: int) -> dict[int, tuple[int, int]]:
    """Per sensor, the bucket-aligned [lo, hi) covering its readings in this batch."""
    out: dict[int, tuple[int, int]] = {}
    for b in batches:
        if len(b.ts) == 0:
            continue
        lo = int(b.ts.min()) // bucket_us * bucket_us
        hi = int(b.ts.max()) // bucket_us * bucket_us + bucket_us
        if b.sensor in out:
            lo, hi = min(lo, out[b.sensor][0]), max(hi, out[b.sensor][1])
        out[b.sensor] = (lo, hi)
    return out


def _rollup_sql(target: type[RollupMixin], n_ranges: int) -> str:
    """Recompute the buckets of ``target`` in the given per-sensor ranges from the level below."""
    width = target.BUCKET_US
    table = target.__tablename__  # type: ignore[attr-defined]
    values = ", ".join(f"(CAST(:s{i} AS INTEGER), CAST(:l{i} AS BIGINT), CAST(:h{i} AS BIGINT))"
                       for i in range(n_ranges))
    if target is ROLLUPS[0]:
        source, ts, agg = "readings", "ts", "count(*) AS n, sum(r.value) AS s, min(r.value) AS mn, max(r.value) AS mx"
        last_join = "JOIN readings z ON z.sensor_id = a.sensor_id AND z.ts = a.lt"
        last_value = "z.value"
        lt = "max(r.ts)"
    else:
        below = ROLLUPS[ROLLUPS.index(target) - 1].__tablename__  # type: ignore[attr-defined]
        source, ts = below, "bucket"
        agg = "sum(r.count) AS n, sum(r.sum) AS s, min(r.min) AS mn, max(r.max) AS mx"
        last_join = f"JOIN {below} z ON z.sensor_id = a.sensor_id AND z.last_ts = a.lt"
        last_value = "z.last"
        lt = "max(r.last_ts)"
    return f"""
WITH t(sensor_id, lo, hi) AS (VALUES {values}),
a AS (
  SELECT r.sensor_id AS sensor_id, r.{ts} - (r.{ts} % {width}) AS bucket, {agg}, {lt} AS lt
  FROM {source} r JOIN t ON r.sensor_id = t.sensor_id AND r.{ts} >= t.lo AND r.{ts} < t.hi
  GROUP BY r.sensor_id, r.{ts} - (r.{ts} % {width})
)
INSERT INTO {table} (sensor_id, bucket, count, sum, min, max, last, last_ts)
SELECT a.sensor_id, a.bucket, a.n, a.s, a.mn, a.mx, {last_value}, a.lt FROM a {last_join} WHERE true
ON CONFLICT (sensor_id, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min,
  max = excluded.max, last = excluded.last, last_ts = excluded.last_ts
"""


async def _compile_rollups(conn: AsyncConnection, ranges: dict[int, tuple[int, int]]) -> None:
    if not ranges:
        return
    for target in ROLLUPS:
        width = target.BUCKET_US
        aligned = {s: (lo // width * width, (hi - 1) // width * width + width) for s, (lo, hi) in ranges.items()}
        params: dict[str, int] = {}
        for i, (sensor, (lo, hi)) in enumerate(aligned.items()):
            params |= {f"s{i}": sensor, f"l{i}": lo, f"h{i}": hi}
        started = time.perf_counter()
        await conn.execute(text(_rollup_sql(target, len(aligned))), params)
        metrics.observe_store_write(target.__tablename__, time.perf_counter() - started)  # type: ignore[attr-defined]


async def _insert_readings(conn: AsyncConnection, rows: list[tuple[int, int, float, int]]) -> None:
    # SQLAlchemy's asyncpg adapter begins its transaction lazily, at the first statement it runs: run one
    # first, so the driver-level COPY below happens inside this unit of work and not in autocommit.
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "postgresql":
        # Binary COPY into a session-local staging table, then one set-based insert that skips duplicates
        # (PERFORMANCE.md (a): COPY is 3-6x faster than executemany).
        await driver.execute("CREATE TEMP TABLE IF NOT EXISTS readings_stage "
                             "(sensor_id integer, ts bigint, value float8, quality smallint) ON COMMIT DELETE ROWS")
        await driver.copy_records_to_table("readings_stage", records=rows, columns=COLUMNS)
        await driver.execute("INSERT INTO readings (sensor_id, ts, value, quality) "
                             "SELECT sensor_id, ts, value, quality FROM readings_stage ON CONFLICT DO NOTHING")
    else:
        await driver.executemany("INSERT OR IGNORE INTO readings (sensor_id, ts, value, quality) VALUES (?, ?, ?, ?)",
                                 rows)


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
    """Store one pipeline batch in one transaction; returns the number of readings offered."""
    rows: list[tuple[int, int, float, int]] = []
    for b in batches:
        rows.extend(zip([b.sensor] * len(b.ts), b.ts.tolist(), b.values.tolist(), b.quality.tolist(), strict=True))
    async with db.engine.begin() as conn:
        if rows:
            started = time.perf_counter()
            await _insert_readings(conn, rows)
            metrics.observe_store_write("readings", time.perf_counter() - started)
            await _compile_rollups(conn, _ranges(batches, ROLLUPS[0].BUCKET_US))
            await _upsert_latest(conn, batches)
        await _insert_dead_letters(conn, dead)
    return len(rows)


async def rebuild_rollups(db: Database, sensor_ids: Sequence[int], start_us: int, end_us: int) -> None:
    """Recompile every rollup of the sensors over [start, end) from raw readings (idempotent)."""
    ranges = {s: (start_us, end_us) for s in sensor_ids}
    async with db.engine.begin() as conn:
        await _compile_rollups(conn, ranges)

"""Rollups (1 min, 1 h, 1 day): added incrementally from a batch's new readings, or recomputed from below.

The fast path aggregates a batch's readings in numpy (per sensor and bucket: count, sum, min, max, last) and
*merges* the aggregates into the rollup tables with one upsert per level (count and sum added, min and max
widened, last taken from the later timestamp). It is correct only for readings that were not stored before, so
the writer merges the aggregates of exactly the readings its insert stored (readings/writer.py ``_store``);
:func:`recompute` rebuilds buckets from the level below (idempotent), for repairs and for readings another writer
stored meanwhile.

PERFORMANCE.md (d): aggregating a batch in numpy costs well under 1 µs per reading, where recomputing the
touched 1-minute buckets from raw in SQL read every reading back (two thirds of the write's CPU, measured with
``py-spy``, see docs/benchmarks.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ghgwatch.observability import metrics
from ghgwatch.readings.models import ROLLUPS, RollupMixin

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Aggregates:
    """Per (sensor, bucket) of one rollup level, sorted by sensor then bucket."""

    sensor: I64
    bucket: I64
    count: I64
    sum: F64
    min: F64
    max: F64
    last: F64
    last_ts: I64

    def __len__(self) -> int:
        return len(self.sensor)


def _reduce(sensor: I64, bucket: I64, count: I64, total: F64, low: F64, high: F64, last: F64,
            last_ts: I64) -> Aggregates:
    """Combine rows that share (sensor, bucket). Input sorted by (sensor, bucket, last_ts)."""
    if len(sensor) == 0:
        return Aggregates(sensor, bucket, count, total, low, high, last, last_ts)
    change = np.empty(len(sensor), dtype=bool)
    change[0] = True
    np.not_equal(sensor[1:], sensor[:-1], out=change[1:])
    change[1:] |= bucket[1:] != bucket[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(sensor)) - 1
    return Aggregates(sensor[starts], bucket[starts], np.add.reduceat(count, starts), np.add.reduceat(total, starts),
                      np.minimum.reduceat(low, starts), np.maximum.reduceat(high, starts), last[ends], last_ts[ends])


def aggregate(sensor: I64, ts: I64, values: F64) -> list[Aggregates]:
    """The batch's aggregates at every rollup level (1 min from the readings, each level from the one below)."""
    width = ROLLUPS[0].BUCKET_US
    order = np.lexsort((ts, sensor))
    s, t, v = sensor[order], ts[order], values[order]
    level = _reduce(s, t - t % width, np.ones(len(s), dtype=np.int64), v, v, v, v, t)
    out = [level]
    for table in ROLLUPS[1:]:
        width = table.BUCKET_US
        b = level.bucket - level.bucket % width
        # Already sorted by (sensor, bucket below); the coarser bucket keeps that order, and last_ts grows
        # with the bucket below, so "last of the group" is still the last row.
        level = _reduce(level.sensor, b, level.count, level.sum, level.min, level.max, level.last, level.last_ts)
        out.append(level)
    return out


def _merge_sql(table: str, dialect: str) -> str:
    low, high = ("LEAST", "GREATEST") if dialect == "postgresql" else ("min", "max")
    if dialect == "postgresql":
        source = ("SELECT * FROM unnest(CAST(:s AS integer[]), CAST(:b AS bigint[]), CAST(:n AS integer[]), "
                  "CAST(:sm AS float8[]), CAST(:mn AS float8[]), CAST(:mx AS float8[]), CAST(:l AS float8[]), "
                  "CAST(:lt AS bigint[]))")
    else:
        source = "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # the driver's executemany (qmark parameters)
    return f"""
INSERT INTO {table} (sensor_id, bucket, count, sum, min, max, last, last_ts) {source}
ON CONFLICT (sensor_id, bucket) DO UPDATE SET count = {table}.count + excluded.count,
  sum = {table}.sum + excluded.sum, min = {low}({table}.min, excluded.min), max = {high}({table}.max, excluded.max),
  last = CASE WHEN excluded.last_ts >= {table}.last_ts THEN excluded.last ELSE {table}.last END,
  last_ts = {high}({table}.last_ts, excluded.last_ts)
"""


async def merge(conn: AsyncConnection, levels: list[Aggregates]) -> None:
    """Add the aggregates of new readings to the rollup tables (one statement per level)."""
    dialect = conn.dialect.name
    for table, agg in zip(ROLLUPS, levels, strict=True):
        if not len(agg):
            continue
        name = table.__tablename__  # type: ignore[attr-defined]
        started = time.perf_counter()
        columns = {"s": agg.sensor, "b": agg.bucket, "n": agg.count, "sm": agg.sum, "mn": agg.min, "mx": agg.max,
                   "l": agg.last, "lt": agg.last_ts}
        if dialect == "postgresql":
            await conn.execute(text(_merge_sql(name, dialect)), {k: v.tolist() for k, v in columns.items()})
        else:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.executemany(_merge_sql(name, dialect),
                                     list(zip(*(v.tolist() for v in columns.values()), strict=True)))
        metrics.observe_store_write(name, time.perf_counter() - started)


# ------------------------------------------------------------------------------------------ recompute


def _recompute_sql(target: type[RollupMixin], n_ranges: int) -> str:
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


def extents(sensor: I64, ts: I64) -> list[tuple[int, int, int]]:
    """Per sensor, in sensor order: (sensor, its first ts, its last ts)."""
    if len(sensor) == 0:
        return []
    order = np.argsort(sensor, kind="stable")
    s, t = sensor[order], ts[order]
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return list(zip(s[starts].tolist(), np.minimum.reduceat(t, starts).tolist(),
                    np.maximum.reduceat(t, starts).tolist(), strict=True))


def ranges(sensor: I64, ts: I64) -> dict[int, tuple[int, int]]:
    """Per sensor, the 1-minute-aligned [lo, hi) covering its readings."""
    width = ROLLUPS[0].BUCKET_US
    return {sid: (lo // width * width, hi // width * width + width) for sid, lo, hi in extents(sensor, ts)}


async def recompute(conn: AsyncConnection, spans: dict[int, tuple[int, int]]) -> None:
    """Recompute every level's buckets over the per-sensor spans from the level below (idempotent).

    Correct only where the level below is complete for the whole bucket: the retention settings keep each
    level at least as long as the one below, and the pipeline refuses readings older than the raw horizon.
    """
    if not spans:
        return
    for target in ROLLUPS:
        width = target.BUCKET_US
        aligned = {s: (lo // width * width, (hi - 1) // width * width + width) for s, (lo, hi) in spans.items()}
        params: dict[str, int] = {}
        for i, (sensor, (lo, hi)) in enumerate(aligned.items()):
            params |= {f"s{i}": sensor, f"l{i}": lo, f"h{i}": hi}
        started = time.perf_counter()
        await conn.execute(text(_recompute_sql(target, len(aligned))), params)
        metrics.observe_store_write(target.__tablename__, time.perf_counter() - started)  # type: ignore[attr-defined]

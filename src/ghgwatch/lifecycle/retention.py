"""Retention: horizons per table and deletes in small transactions.

Horizons are whole UTC days, computed the same way by the pipeline (which refuses readings older than the
raw horizon) and by the job, so a day is never written and dropped at once:

- raw readings: days before ``today - raw_days`` are refused by the pipeline; the job removes days before
  ``today - raw_days - 1`` (one day of grace), after the data lake has them when a lake is configured;
- each rollup level keeps at least as long as the level below (checked by the settings), so recomputing a
  bucket from the level below always sees the whole bucket (see :mod:`ghgwatch.readings.rollups`).

On SQLite every DELETE transaction removes at most ``delete_batch`` rows of one sensor (an index range) and
the job yields between them, so the pipeline's writes interleave with a large clean-up instead of waiting
for it. On PostgreSQL raw readings go by dropping daily partitions (:mod:`ghgwatch.readings.partitions`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.observability import metrics
from ghgwatch.readings.partitions import DAY_US
from ghgwatch.store import Database

log = logging.getLogger(__name__)


def keep_from_day(today: int, days: float | None) -> int | None:
    """First day kept by a retention of ``days`` (``None``: keep everything)."""
    return None if days is None else today - int(days)


def drop_before_day(today: int, raw_days: float | None) -> int | None:
    """Raw readings of days before this one are removed (one day of grace after the pipeline's horizon)."""
    first = keep_from_day(today, raw_days)
    return None if first is None else first - 1


async def sensors_with_data(db: Database) -> list[int]:
    """Every sensor id that may have stored rows (registry and latest values, so deleted sensors count too)."""
    async with db.engine.connect() as conn:
        ids = (await conn.execute(text(
            "SELECT id FROM sensors UNION SELECT sensor_id FROM sensor_latest"))).scalars().all()
    return sorted(int(i) for i in ids)


async def delete_before(db: Database, table: str, column: str, sensor_ids: list[int], cut: int,
                        batch: int) -> int:
    """Delete rows of ``table`` with ``column < cut``, one sensor and at most ``batch`` rows per transaction.

    ``(sensor_id, column)`` is the primary key of every table this is used for, so each statement is an index
    range; between transactions the pipeline's next write goes first (:meth:`Database.write_turn`).
    """
    total = 0
    nth = text(f"SELECT {column} FROM {table} WHERE sensor_id = :s AND {column} < :cut "
               f"ORDER BY {column} LIMIT 1 OFFSET :n")
    delete = text(f"DELETE FROM {table} WHERE sensor_id = :s AND {column} < :upper")
    for sensor in sensor_ids:
        while True:
            async with db.write_turn(), db.engine.begin() as conn:
                upper = (await conn.execute(nth, {"s": sensor, "cut": cut, "n": batch})).scalar()
                result = await conn.execute(delete, {"s": sensor, "upper": cut if upper is None else upper})
            removed = max(int(getattr(result, "rowcount", 0) or 0), 0)
            total += removed
            metrics.RETENTION_DELETED.labels(table=table).inc(removed)
            await asyncio.sleep(0)  # let the pipeline's next transaction in
            if upper is None:
                break
    if total:
        log.info("retention: %s: removed %d rows older than %s", table, total, _iso(cut))
    return total


async def delete_rows_by_id(db: Database, table: str, where: str, params: dict[str, object], batch: int) -> int:
    """Delete rows of ``table`` matching ``where`` by primary key ``id``, ``batch`` rows per transaction."""
    total = 0
    stmt = text(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {where} "
                f"ORDER BY id LIMIT :n)")
    while True:
        async with db.write_turn(), db.engine.begin() as conn:
            result = await conn.execute(stmt, {**params, "n": batch})
        removed = max(int(getattr(result, "rowcount", 0) or 0), 0)
        total += removed
        metrics.RETENTION_DELETED.labels(table=table).inc(removed)
        await asyncio.sleep(0)
        if removed < batch:
            break
    if total:
        log.info("retention: %s: removed %d rows", table, total)
    return total


async def expire_rollups(db: Database, sensor_ids: list[int], today: int, days: dict[str, float | None],
                         batch: int) -> dict[str, int]:
    """Rollup rows older than each level's retention."""
    out: dict[str, int] = {}
    for table, kept in days.items():
        first = keep_from_day(today, kept)
        if first is not None:
            out[table] = await delete_before(db, table, "bucket", sensor_ids, first * DAY_US, batch)
    return out


async def expire_dead_letters(db: Database, days: float | None, batch: int) -> int:
    if days is None:
        return 0
    return await delete_rows_by_id(db, "deadletter", "created_at < :h", {"h": _cutoff(db, days)}, batch)


async def expire_alerts(db: Database, days: float | None, batch: int) -> int:
    """Resolved alerts older than the retention, with their history and deliveries (foreign keys cascade)."""
    if days is None:
        return 0
    return await delete_rows_by_id(db, "alerts", "state = 'resolved' AND resolved_at < :h",
                                   {"h": _cutoff(db, days)}, batch)


def _cutoff(db: Database, days: float) -> datetime | str:
    value = utcnow() - timedelta(days=days)
    if db.dialect == "sqlite":  # compared as text with what UTCDateTime stored (naive UTC)
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _iso(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, tz=UTC).isoformat()

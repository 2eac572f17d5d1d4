"""The one query layer for a sensor's history: hot rows from the database, cold days from the data lake.

Every reader of stored series (the readings API, analytics, the inventory from telemetry, reports) goes
through :func:`raw` and :func:`buckets`, so they all see days that retention has moved to Parquet. The cold
part comes from the :class:`~ghgwatch.lake.reader.ColdReader` that the ``lake`` service puts into every
session's ``info`` when a lake is configured; without one, everything comes from the database.

Which days are cold: raw readings of days in the lake ledger before the raw horizon (the job removes a day
from the database only after its export); rollup buckets of such days before the rollup table's own horizon
(they are aggregated from the Parquet raw readings, exactly as the rollup tables aggregate them).
"""

from __future__ import annotations

import asyncio

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.lake.compact import is_monthly, month_of
from ghgwatch.lake.models import LakeExport
from ghgwatch.lake.reader import ColdReader
from ghgwatch.lifecycle.retention import drop_before_day, keep_from_day
from ghgwatch.readings.arrays import BucketRows, RawRows, bucket_rows, raw_rows
from ghgwatch.readings.models import ROLLUPS, Reading, RollupMixin
from ghgwatch.readings.partitions import DAY_US, day_of

_ROLLUP_DAYS = {"rollup_1m": "rollup_1m_days", "rollup_1h": "rollup_1h_days", "rollup_1d": "rollup_1d_days"}


def cold_reader(session: AsyncSession) -> ColdReader | None:
    reader = session.info.get("cold_reader")
    return reader if isinstance(reader, ColdReader) else None


async def _cold_days(session: AsyncSession, sensor_id: int, lo: int, hi: int,
                     before_day: int | None) -> dict[int, str]:
    """Lake files (by day) of the sensor's organisation within [lo, hi) and before ``before_day``."""
    if before_day is None or lo >= before_day * DAY_US:
        return {}
    org = (await session.execute(text("SELECT organization_id FROM sensors WHERE id = :s"),
                                 {"s": sensor_id})).scalar()
    last = min(day_of(hi - 1), before_day - 1)
    rows = (await session.execute(select(LakeExport.day, LakeExport.path).where(
        LakeExport.organization_id == (org or 0), LakeExport.day >= day_of(lo), LakeExport.day <= last))).all()
    return {int(day): path for day, path in rows}


def _plan(cold: dict[int, str], hi: int) -> tuple[list[str], dict[str, list[int]], int]:
    """The files to read for the cold days (a monthly file once), the days each monthly file must leave out
    (re-exported later to a daily file of their own), and the end of the cold span: a monthly file also holds
    days past the raw horizon, which are read from the database."""
    paths = list(dict.fromkeys(cold[d] for d in sorted(cold)))
    exclude: dict[str, list[int]] = {}
    for path in paths:
        if is_monthly(path):
            month = {month_of(d) for d, p in cold.items() if p == path}
            others = [d for d, p in cold.items() if p != path and month_of(d) in month]
            if others:
                exclude[path] = sorted(others)
    return paths, exclude, min(hi, (max(cold) + 1) * DAY_US)


def _today() -> int:
    return day_of(int(utcnow().timestamp() * 1_000_000))


async def raw(session: AsyncSession, sensor_id: int, lo: int, hi: int, limit: int = 10_000_000) -> RawRows:
    """A sensor's raw readings in [lo, hi) µs, ascending, at most ``limit``."""
    reader = cold_reader(session)
    cold = {} if reader is None else await _cold_days(
        session, sensor_id, lo, hi, drop_before_day(_today(), reader.retention.raw_days))
    rows = (await session.execute(
        select(Reading.ts, Reading.value, Reading.quality)
        .where(Reading.sensor_id == sensor_id, Reading.ts >= lo, Reading.ts < hi)
        .order_by(Reading.ts).limit(limit))).all()
    hot = raw_rows(*(list(zip(*rows, strict=True)) if rows else ([], [], [])))
    if not cold or reader is None:
        return hot
    paths, exclude, cold_hi = _plan(cold, hi)
    part = await asyncio.to_thread(reader.raw, paths, sensor_id, lo, cold_hi, limit, exclude)
    keep = ~np.isin(hot.ts // DAY_US, np.fromiter(cold, np.int64))  # a cold day is read from the lake only
    ts = np.concatenate([part.ts, hot.ts[keep]])
    order = np.argsort(ts, kind="stable")[:limit]
    return raw_rows(ts[order], np.concatenate([part.value, hot.value[keep]])[order],
                    np.concatenate([part.quality, hot.quality[keep]])[order])


async def buckets(session: AsyncSession, sensor_id: int, lo: int, hi: int, table: type[RollupMixin],
                  limit: int = 10_000_000) -> BucketRows:
    """A sensor's rollup buckets (``table``'s width) that start in [lo rounded down to a bucket, hi)."""
    width = table.BUCKET_US
    lo = lo // width * width
    reader = cold_reader(session)
    cold: dict[int, str] = {}
    if reader is not None:
        name = table.__tablename__  # type: ignore[attr-defined]
        kept = keep_from_day(_today(), getattr(reader.retention, _ROLLUP_DAYS[name]))
        raw_gone = drop_before_day(_today(), reader.retention.raw_days)
        # Cold only where the rollup table no longer has the buckets; such days are past the raw horizon too.
        cold = await _cold_days(session, sensor_id, lo, hi, None if kept is None or raw_gone is None
                                else min(kept, raw_gone))
    rows = (await session.execute(
        select(table.bucket, table.count, table.sum, table.min, table.max, table.last, table.last_ts)
        .where(table.sensor_id == sensor_id, table.bucket >= lo, table.bucket < hi)
        .order_by(table.bucket).limit(limit))).all()
    hot = bucket_rows(list(zip(*rows, strict=True)) if rows else [()] * 7)
    if not cold or reader is None:
        return hot
    paths, exclude, cold_hi = _plan(cold, hi)
    part = await asyncio.to_thread(reader.buckets, paths, sensor_id, lo, cold_hi, width, exclude)
    keep = ~np.isin(hot.bucket // DAY_US, np.fromiter(cold, np.int64))
    merged = [np.concatenate([getattr(part, f), getattr(hot, f)[keep]]) for f in BucketRows.FIELDS]
    order = np.argsort(merged[0], kind="stable")[:limit]
    return bucket_rows([m[order] for m in merged])


ROLLUP_TABLES = {t.__tablename__: t for t in ROLLUPS}  # type: ignore[attr-defined]

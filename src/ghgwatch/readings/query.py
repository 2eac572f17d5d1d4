"""Reading queries: raw or a rollup chosen by the span asked, latest values, dead letters."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.observability import metrics
from ghgwatch.readings.models import ROLLUPS, RollupMixin, SensorLatest

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Resolution(StrEnum):
    AUTO = "auto"
    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"
    DAY = "1d"


_TABLE = {Resolution.MINUTE: ROLLUPS[0], Resolution.HOUR: ROLLUPS[1], Resolution.DAY: ROLLUPS[2]}
# Spans up to which each resolution is picked automatically: keeps an answer at a few thousand points.
AUTO_LIMITS_S = ((2 * 3600, Resolution.RAW), (3 * 86400, Resolution.MINUTE), (120 * 86400, Resolution.HOUR))


def to_us(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int((value - EPOCH).total_seconds() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def pick(start: datetime, end: datetime, asked: Resolution) -> Resolution:
    if asked is not Resolution.AUTO:
        return asked
    span = (end - start).total_seconds()
    return next((r for limit, r in AUTO_LIMITS_S if span <= limit), Resolution.DAY)


@dataclass(frozen=True)
class Point:
    ts: datetime
    value: float
    count: int = 1
    min: float | None = None
    max: float | None = None
    last: float | None = None
    quality: int | None = None


async def series(session: AsyncSession, sensor_id: int, start: datetime, end: datetime, resolution: Resolution,
                 limit: int) -> tuple[Resolution, list[Point]]:
    """Points of a sensor from the database and, for days retention moved there, from the data lake."""
    from ghgwatch.readings import history

    chosen = pick(start, end, resolution)
    lo, hi = to_us(start), to_us(end)
    started = time.perf_counter()
    points: list[Point]
    if chosen is Resolution.RAW:
        rows = await history.raw(session, sensor_id, lo, hi, limit)
        points = [Point(from_us(ts), value, quality=q) for ts, value, q in
                  zip(rows.ts.tolist(), rows.value.tolist(), rows.quality.tolist(), strict=True)]
        metrics.observe_store_query("readings_range", time.perf_counter() - started)
        return chosen, points
    table: type[RollupMixin] = _TABLE[chosen]
    b = await history.buckets(session, sensor_id, lo, hi, table, limit)
    points = [Point(from_us(bucket), total / count, count, low, high, last) for bucket, count, total, low, high, last
              in zip(b.bucket.tolist(), b.count.tolist(), b.sum.tolist(), b.min.tolist(), b.max.tolist(),
                     b.last.tolist(), strict=True)]
    metrics.observe_store_query("rollup_range", time.perf_counter() - started)
    return chosen, points


async def latest(session: AsyncSession, sensor_ids: list[int]) -> dict[int, SensorLatest]:
    if not sensor_ids:
        return {}
    rows = (await session.execute(select(SensorLatest).where(SensorLatest.sensor_id.in_(sensor_ids)))).scalars()
    return {r.sensor_id: r for r in rows}

"""Reading queries: raw or a rollup chosen by the span asked, latest values, dead letters."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.observability import metrics
from ghgwatch.readings.models import ROLLUPS, Reading, RollupMixin, SensorLatest

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
    chosen = pick(start, end, resolution)
    lo, hi = to_us(start), to_us(end)
    started = time.perf_counter()
    points: list[Point]
    if chosen is Resolution.RAW:
        rows = (await session.execute(
            select(Reading.ts, Reading.value, Reading.quality)
            .where(Reading.sensor_id == sensor_id, Reading.ts >= lo, Reading.ts < hi)
            .order_by(Reading.ts).limit(limit))).all()
        points = [Point(from_us(ts), value, quality=q) for ts, value, q in rows]
        metrics.observe_store_query("readings_range", time.perf_counter() - started)
        return chosen, points
    table: type[RollupMixin] = _TABLE[chosen]
    width = table.BUCKET_US
    rollups = (await session.execute(
        select(table).where(table.sensor_id == sensor_id, table.bucket >= lo // width * width, table.bucket < hi)
        .order_by(table.bucket).limit(limit))).scalars().all()
    points = [Point(from_us(r.bucket), r.sum / r.count, r.count, r.min, r.max, r.last) for r in rollups]
    metrics.observe_store_query("rollup_range", time.perf_counter() - started)
    return chosen, points


async def latest(session: AsyncSession, sensor_ids: list[int]) -> dict[int, SensorLatest]:
    if not sensor_ids:
        return {}
    rows = (await session.execute(select(SensorLatest).where(SensorLatest.sensor_id.in_(sensor_ids)))).scalars()
    return {r.sensor_id: r for r in rows}

"""PostgreSQL: ``readings`` is partitioned by day (range of ``ts``), created ahead and on demand.

Retention then drops a whole day's partition (``DROP TABLE``: no bulk DELETE, no vacuum debt), and the
index of the day being written stays small enough to live in memory. SQLite has no partitions: everything
here is a no-op there, and retention deletes in small batches instead (:mod:`ghgwatch.lifecycle.retention`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from ghgwatch.store import Database

log = logging.getLogger(__name__)
DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1)
_CACHE = "readings_partitions"


def day_of(ts_us: int) -> int:
    """Days since the epoch (UTC) of a timestamp in microseconds."""
    return ts_us // DAY_US


def day_date(day: int) -> date:
    return _EPOCH + timedelta(days=day)


def date_day(value: date) -> int:
    return (value - _EPOCH).days


def today() -> int:
    return date_day(datetime.now(UTC).date())


def partition_name(day: int) -> str:
    return f"readings_p{day_date(day):%Y%m%d}"


def is_partitioned(db: Database) -> bool:
    return db.dialect == "postgresql"


async def existing_days(db: Database) -> set[int]:
    """Days that have a partition (PostgreSQL; empty on SQLite)."""
    if not is_partitioned(db):
        return set()
    async with db.engine.connect() as conn:
        names = (await conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'readings'"))).scalars().all()
    days = set()
    for name in names:
        if name.startswith("readings_p") and len(name) == 18:
            days.add(date_day(datetime.strptime(name[10:], "%Y%m%d").replace(tzinfo=UTC).date()))
    return days


async def ensure_days(db: Database, days: Iterable[int]) -> None:
    """Create the partitions of ``days`` that do not exist yet (cached per database handle)."""
    if not is_partitioned(db):
        return
    known: set[int] = db.state.setdefault(_CACHE, set())
    missing = sorted(set(days) - known)
    if not missing:
        return
    known |= await existing_days(db)
    for day in sorted(set(missing) - known):
        lo, hi = day * DAY_US, (day + 1) * DAY_US
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text(f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF readings "
                                        f"FOR VALUES FROM ({lo}) TO ({hi})"))
        except (ProgrammingError, DBAPIError) as exc:  # another replica created it at the same moment
            if day not in await existing_days(db):
                raise
            log.debug("partition %s created concurrently: %s", partition_name(day), exc)
        known.add(day)


def forget(db: Database) -> None:
    """Drop the cache (a partition was dropped, or an insert found none)."""
    db.state.pop(_CACHE, None)


async def drop_day(db: Database, day: int) -> None:
    """Drop one day's partition (its readings go with it)."""
    async with db.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {partition_name(day)}"))
    forget(db)

"""Time-series tables: raw readings, rollups (1 min, 1 h, 1 day), latest value, dead letters.

Timestamps of readings are integer microseconds since the Unix epoch (UTC): the same integer arithmetic
buckets them on SQLite and PostgreSQL, and integer keys are the cheapest to index. The unique key
(sensor_id, ts) serves both deduplication and the per-sensor time-range queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base


class Quality:
    """Bit flags stored with each reading."""

    GOOD = 0
    UNIT_CONVERTED = 1
    LATE = 2
    """Arrived more than an hour after its timestamp."""
    REPLAYED = 4
    """Came back from the dead-letter table after a fix."""


class Reading(Base):
    __tablename__ = "readings"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy table options)

    sensor_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)


class RollupMixin:
    """Shared shape of the rollup tables; they differ only in bucket length."""

    BUCKET_US: int

    sensor_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int]
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)
    last_ts: Mapped[int] = mapped_column(BigInteger)

    @declared_attr.directive
    def __table_args__(cls) -> dict[str, Any]:
        return {"sqlite_with_rowid": False}


class Rollup1m(RollupMixin, Base):
    __tablename__ = "rollup_1m"
    BUCKET_US = 60_000_000


class Rollup1h(RollupMixin, Base):
    __tablename__ = "rollup_1h"
    BUCKET_US = 3_600_000_000


class Rollup1d(RollupMixin, Base):
    __tablename__ = "rollup_1d"
    BUCKET_US = 86_400_000_000


ROLLUPS: tuple[type[RollupMixin], ...] = (Rollup1m, Rollup1h, Rollup1d)


class SensorLatest(Base):
    __tablename__ = "sensor_latest"

    sensor_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)


class DeadLetter(Base):
    __tablename__ = "deadletter"
    __table_args__ = (UniqueConstraint("ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(120))
    """Where the reading came from (bus position and index): makes re-processing idempotent."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    organization_id: Mapped[int | None] = mapped_column(default=None, index=True)
    sensor_id: Mapped[int | None] = mapped_column(default=None, index=True)
    transport: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(String(500))
    reading: Mapped[dict[str, Any]]
    replayed_at: Mapped[datetime | None] = mapped_column(default=None)

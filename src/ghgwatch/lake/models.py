"""The data lake's ledger: which (organisation, day) of raw readings is in Parquet, where, with what checksum."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base


class LakeExport(Base):
    """One Parquet file: the raw readings of one organisation's sensors for one UTC day."""

    __tablename__ = "lake_exports"

    organization_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    """Days since 1970-01-01 (UTC)."""
    path: Mapped[str] = mapped_column(String(500))
    """Relative to the lake root: ``readings/organization_id=<id>/date=<YYYY-MM-DD>/part-0.parquet``, or once the
    month is compacted ``.../month=<YYYY-MM>/part-<sha>.parquet`` (then ``bytes`` and ``sha256`` are that file's,
    shared by the month's days, and ``rows`` stays the day's)."""
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    min_ts: Mapped[int] = mapped_column(BigInteger)
    max_ts: Mapped[int] = mapped_column(BigInteger)
    exported_at: Mapped[datetime] = mapped_column(default=utcnow)

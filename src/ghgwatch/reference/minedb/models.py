"""Tables of the mine reference database: mines, mine-years and coal seams.

Every row is one *version* of a logical record (``record_key``): a correction inserts a new version and
marks the old one ``is_current = False``; nothing is overwritten, and a deletion is a tombstone version
(``deleted = True``). Rows with ``organization_id`` NULL are public reference data (GEM seed, curated by
platform administrators); an organisation's rows are private to it unless ``published``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base


class DataStatus(enum.StrEnum):
    """How a value was obtained (the status shown beside each value)."""

    MEASURED = "measured"
    REPORTED = "reported"
    ESTIMATED = "estimated"
    RESTORED = "restored"


class _Versioned:
    id: Mapped[int] = mapped_column(primary_key=True)
    record_key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    deleted: Mapped[bool] = mapped_column(default=False)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), default=None)
    published: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(500))
    data_status: Mapped[str] = mapped_column(String(12), default=DataStatus.REPORTED.value)
    cell_status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Per-value overrides: ``{field: {"status": ..., "source": ..., "method": ...}}`` (restored cells)."""
    comment: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_by: Mapped[str] = mapped_column(String(120), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefMine(_Versioned, Base):
    __tablename__ = "ref_mines"
    __table_args__ = (Index("ix_ref_mines_key_current", "record_key", "is_current"),
                      Index("ix_ref_mines_gem_id", "gem_id"))

    gem_id: Mapped[str | None] = mapped_column(String(20), default=None)
    name_en: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str | None] = mapped_column(String(200), default=None)
    district: Mapped[str | None] = mapped_column(String(200), default=None)
    """Geological-economic district (not in the GEM files)."""
    coalfield: Mapped[str | None] = mapped_column(String(200), default=None)
    in_kuzbass: Mapped[bool] = mapped_column(default=False)
    owner: Mapped[str | None] = mapped_column(String(300), default=None)
    parent: Mapped[str | None] = mapped_column(String(300), default=None)
    mine_status: Mapped[str | None] = mapped_column(String(40), default=None)
    mining_method: Mapped[str | None] = mapped_column(String(40), default=None)
    depth_m: Mapped[float | None] = mapped_column(default=None)
    latitude: Mapped[float | None] = mapped_column(default=None)
    longitude: Mapped[float | None] = mapped_column(default=None)
    opening_year: Mapped[int | None] = mapped_column(default=None)
    closing_year: Mapped[int | None] = mapped_column(default=None)
    capacity_mt: Mapped[float | None] = mapped_column(default=None)
    url: Mapped[str | None] = mapped_column(String(300), default=None)


class RefMineYear(_Versioned, Base):
    __tablename__ = "ref_mine_years"
    __table_args__ = (Index("ix_ref_mine_years_mine_year", "mine_key", "year"),
                      Index("ix_ref_mine_years_key_current", "record_key", "is_current"))

    mine_key: Mapped[str] = mapped_column(String(40))
    year: Mapped[int]
    production_t: Mapped[float | None] = mapped_column(default=None)
    methane_vent_m3_min: Mapped[float | None] = mapped_column(default=None)
    methane_drain_m3_min: Mapped[float | None] = mapped_column(default=None)
    methane_total_m3_min: Mapped[float | None] = mapped_column(default=None)
    relative_m3_t: Mapped[float | None] = mapped_column(default=None)
    drained_m3: Mapped[float | None] = mapped_column(default=None)
    utilised_m3: Mapped[float | None] = mapped_column(default=None)


class RefSeam(_Versioned, Base):
    __tablename__ = "ref_seams"
    __table_args__ = (Index("ix_ref_seams_mine", "mine_key"),
                      Index("ix_ref_seams_key_current", "record_key", "is_current"))

    mine_key: Mapped[str] = mapped_column(String(40))
    seam_index: Mapped[str] = mapped_column(String(40))
    depth_from_m: Mapped[float | None] = mapped_column(default=None)
    depth_to_m: Mapped[float | None] = mapped_column(default=None)
    gas_content_m3_t_daf: Mapped[float | None] = mapped_column(default=None)
    ash_pct: Mapped[float | None] = mapped_column(default=None)
    moisture_pct: Mapped[float | None] = mapped_column(default=None)

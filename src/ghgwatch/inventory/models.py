"""Inventory tables: activity data, user factor sets, the mine methane table and stored inventory runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base, JSONType, TimestampMixin


class ActivityData(TimestampMixin, Base):
    """One activity of a facility over a period, with the fields of a calc input activity in ``data``."""

    __tablename__ = "activity_data"
    __table_args__ = (Index("ix_activity_data_org_period", "organization_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("emission_sources.id", ondelete="RESTRICT"),
                                                  default=None)
    period_start: Mapped[date]
    period_end: Mapped[date]
    """Inclusive last day of the period."""
    activity_type: Mapped[str] = mapped_column(String(40), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unit: Mapped[str | None] = mapped_column(String(20), default=None)
    provenance: Mapped[str | None] = mapped_column(String(500), default=None)
    comment: Mapped[str | None] = mapped_column(String(2000), default=None)


class FactorSetRecord(TimestampMixin, Base):
    """A user-defined factor set: ``values`` has the schema of the shipped JSON sets (factors, fuels)."""

    __tablename__ = "factor_sets"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"),
                                                        default=None, index=True)
    """``None``: visible to every organisation (created by a platform administrator)."""
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MineMethane(TimestampMixin, Base):
    """Methane content of a mine for a year (the Kuzbass mine table), by facility or GEM mine id."""

    __tablename__ = "mine_methane"
    __table_args__ = (Index("ix_mine_methane_facility_year", "facility_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"), default=None)
    gem_mine_id: Mapped[str | None] = mapped_column(String(20), default=None, index=True)
    year: Mapped[int]
    absolute_m3_min: Mapped[float | None] = mapped_column(default=None)
    relative_m3_t: Mapped[float | None] = mapped_column(default=None)
    seam_gas_m3_t: Mapped[float | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(500))


class InventoryRun(Base):
    """A calculation kept with everything needed to reproduce and audit it."""

    __tablename__ = "inventory_runs"
    __table_args__ = (Index("ix_inventory_runs_org_year", "organization_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    year: Mapped[int]
    period_start: Mapped[date]
    period_end: Mapped[date]
    methodology: Mapped[str] = mapped_column(String(40))
    methodology_version: Mapped[str] = mapped_column(String(40))
    gwp: Mapped[str] = mapped_column(String(40))
    factor_sets: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    code_version: Mapped[str] = mapped_column(String(40))
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    include_measured: Mapped[bool]
    total_co2e_t: Mapped[float]
    regulated_296fz: Mapped[bool]
    inputs: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]
    comparison: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Table ``measured_emissions``: a quantified UAV leak taken as a measured fugitive emission of its source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base


class MeasuredEmission(Base):
    """CH4 emitted by a source over ``[start, end)`` at a measured rate (kg/h, with its 95 % interval).

    ``ch4_kg = rate_kg_h × hours`` (and the bounds likewise). Provenance: ``flight_id``, ``method`` (the
    quantification method) and ``basis`` (``uav_flight``), ``created_by``. The inventory reads these rows through
    :func:`ghgwatch.uav.leak.measured_emissions`.
    """

    __tablename__ = "measured_emissions"
    __table_args__ = (Index("ix_measured_emissions_org_start", "organization_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("emission_sources.id", ondelete="CASCADE"), index=True)
    flight_id: Mapped[int | None] = mapped_column(ForeignKey("uav_flights.id", ondelete="SET NULL"), default=None,
                                                  index=True)
    basis: Mapped[str] = mapped_column(String(20), default="uav_flight")
    gas: Mapped[str] = mapped_column(String(10), default="ch4")
    method: Mapped[str] = mapped_column(String(20))
    start: Mapped[datetime]
    end: Mapped[datetime]
    hours: Mapped[float]
    rate_kg_h: Mapped[float]
    lower_kg_h: Mapped[float]
    upper_kg_h: Mapped[float]
    ch4_kg: Mapped[float]
    lower_kg: Mapped[float]
    upper_kg: Mapped[float]
    alert_id: Mapped[int | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""UAV flights stored per facility (and source, when known), with their track and quantification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base, JSONType


class UavFlight(Base):
    """One imported flight: the samples as columns in ``track``, the result or the reason there is none.

    ``rate_kg_h``, ``lower_kg_h``, ``upper_kg_h`` (95 % interval) are null when the flight could not be quantified;
    then ``refusal`` holds the code (``ghgwatch.uav.Refusal``) and ``refusal_reason`` the message.
    """

    __tablename__ = "uav_flights"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("emission_sources.id", ondelete="SET NULL"),
                                                  default=None)
    file_name: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    samples: Mapped[int]
    track: Mapped[dict[str, Any]] = mapped_column(JSONType)
    method: Mapped[str] = mapped_column(String(20))
    rate_kg_h: Mapped[float | None] = mapped_column(default=None)
    lower_kg_h: Mapped[float | None] = mapped_column(default=None)
    upper_kg_h: Mapped[float | None] = mapped_column(default=None)
    background_ppm: Mapped[float | None] = mapped_column(default=None)
    source_latitude: Mapped[float | None] = mapped_column(default=None)
    source_longitude: Mapped[float | None] = mapped_column(default=None)
    transects: Mapped[int | None] = mapped_column(default=None)
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    refusal: Mapped[str | None] = mapped_column(String(40), default=None)
    refusal_reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

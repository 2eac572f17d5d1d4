"""Table ``lab_results``: one laboratory analysis of one gas in one sample, with provenance and checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base, JSONType


class LabResult(Base):
    """``concentration`` in ``unit`` (``%`` by volume, ``ppm``, ``ppb`` or ``mg/m3``) as the certificate states it.

    ``flags`` holds the quality flags: those of the file (column ``flags``) and those the import adds
    (``sensor_agrees``, ``sensor_drift``, ``no_sensor_reading``, ``unit_not_comparable``). ``checks`` lists the
    comparisons with the source's sensors of that gas (docs/lab.md). Provenance: ``file_name`` and ``file_row``
    (header = row 1), ``created_by``.
    """

    __tablename__ = "lab_results"
    __table_args__ = (
        UniqueConstraint("organization_id", "sample_id", "gas"),
        Index("ix_lab_results_org_sampled", "organization_id", "sampled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("emission_sources.id", ondelete="SET NULL"),
                                                  default=None, index=True)
    sample_id: Mapped[str] = mapped_column(String(100))
    sampled_at: Mapped[datetime]
    gas: Mapped[str] = mapped_column(String(10))
    concentration: Mapped[float]
    unit: Mapped[str] = mapped_column(String(10))
    method: Mapped[str | None] = mapped_column(String(200), default=None)
    laboratory: Mapped[str | None] = mapped_column(String(200), default=None)
    certificate: Mapped[str | None] = mapped_column(String(100), default=None)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    file_name: Mapped[str] = mapped_column(String(300))
    file_row: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

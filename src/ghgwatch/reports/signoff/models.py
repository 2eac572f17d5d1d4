"""Report sign-off tables: a report version of an organisation's inventory and its locked documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.store.base import Base, TimestampMixin


class InventoryReport(TimestampMixin, Base):
    """One version of an organisation's report for a period, through draft → reviewed → approved → submitted.

    ``parameters`` is the run request (``RunIn`` without the organisation) that gathers the inputs again at
    approval, submission and checks; ``run_id`` is the stored run the report shows. Version n + 1 (a restatement)
    points to version n through ``previous_id`` and carries the differences in ``differences``.
    """

    __tablename__ = "inventory_reports"
    __table_args__ = (
        Index("ix_inventory_reports_org_year", "organization_id", "year"),
        UniqueConstraint("previous_id"),  # one restatement per version: a chain, not a tree
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    year: Mapped[int]
    period_start: Mapped[date]
    period_end: Mapped[date]
    """Inclusive last day, as the run's."""
    title: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(String(2000), default=None)
    version: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("inventory_reports.id", ondelete="RESTRICT"),
                                                    default=None)
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    parameters: Mapped[dict[str, Any]]
    run_id: Mapped[int] = mapped_column(ForeignKey("inventory_runs.id", ondelete="RESTRICT"))
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    total_co2e_t: Mapped[float]
    differences: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """For a restatement: the old and new totals by gas, facility and source (``signoff/differences.py``)."""
    prepared_by: Mapped[str] = mapped_column(String(120))
    reviewed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_comment: Mapped[str | None] = mapped_column(String(2000), default=None)
    approved_by: Mapped[str | None] = mapped_column(String(120), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    seal_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    """SHA-256 over the report's id, version, run, inputs hash, approver and the documents' checksums."""
    submitted_by: Mapped[str | None] = mapped_column(String(120), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)


class ReportFile(Base):
    """A document of an approved report, kept byte for byte (PDF and XLSX embed their creation time, so a
    regeneration is not bit-identical: the bytes approved are the bytes kept)."""

    __tablename__ = "inventory_report_files"
    __table_args__ = (UniqueConstraint("report_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("inventory_reports.id", ondelete="RESTRICT"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    """``annual-ru.pdf`` and the like."""
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

"""API shapes of report sign-off."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ghgwatch.inventory.schemas import RunIn


class ReportIn(RunIn):
    """The run request of the report's inputs (organisation, year or period, methodology, GWP, factor sets,
    measured methane and its policies), with a title."""

    title: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


class ReportPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    comment: str | None = Field(default=None, max_length=2000)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    comment: str = Field(min_length=1, max_length=2000)
    """What has to change (required: a report goes back to its preparer with a reason)."""


class ReportFileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    media_type: str
    sha256: str
    size: int


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    year: int
    period_start: date
    period_end: date
    title: str
    comment: str | None
    version: int
    previous_id: int | None
    superseded_by: int | None = None
    state: str
    run_id: int
    inputs_sha256: str
    total_co2e_t: float
    prepared_by: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None
    approved_by: str | None
    approved_at: datetime | None
    seal_sha256: str | None
    submitted_by: str | None
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReportDetail(ReportOut):
    parameters: dict[str, Any]
    differences: dict[str, Any] | None
    documents: list[ReportFileOut] = Field(default_factory=list)


class CheckOut(BaseModel):
    report_id: int
    changed: bool
    locked_inputs_sha256: str
    current_inputs_sha256: str
    restatement: ReportDetail | None = None

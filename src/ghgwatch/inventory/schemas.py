"""API shapes of the inventory tables and requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from ghgwatch.inventory.coverage import DEFAULT_MIN_COVERAGE, MeasuredPolicy
from ghgwatch.inventory.gwp import gwp_sets
from ghgwatch.inventory.measured import GapPolicy
from ghgwatch.kit.problems import InvalidValue


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActivityDataIn(_In):
    facility_id: int
    source_id: int | None = None
    period_start: date
    period_end: date
    """Inclusive last day."""
    activity_type: str = Field(min_length=1, max_length=40)
    data: dict[str, Any] = Field(default_factory=dict)
    """The activity's fields as in a calc input activity, without ``id`` and ``type``."""
    unit: str | None = Field(default=None, max_length=20)
    provenance: str | None = Field(default=None, max_length=500)
    comment: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class ActivityDataPatch(_In):
    source_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    activity_type: str | None = Field(default=None, min_length=1, max_length=40)
    data: dict[str, Any] | None = None
    unit: str | None = Field(default=None, max_length=20)
    provenance: str | None = Field(default=None, max_length=500)
    comment: str | None = Field(default=None, max_length=2000)


class ActivityDataOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    facility_id: int
    source_id: int | None
    period_start: date
    period_end: date
    activity_type: str
    data: dict[str, Any]
    unit: str | None
    provenance: str | None
    comment: str | None
    created_at: datetime
    updated_at: datetime


class FactorSetIn(_In):
    organization_id: int | None = None
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    version: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = Field(default=None, max_length=2000)
    values: dict[str, Any]
    """The shipped set schema (``factors``, optional ``fuels``); ``name``/``version`` are taken from above."""


class FactorSetPatch(_In):
    description: str | None = Field(default=None, max_length=2000)
    values: dict[str, Any] | None = None


class FactorSetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int | None
    name: str
    version: str
    description: str | None
    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class MineMethaneIn(_In):
    facility_id: int | None = None
    gem_mine_id: str | None = Field(default=None, max_length=20)
    year: int = Field(ge=1900, le=2100)
    absolute_m3_min: float | None = Field(default=None, ge=0)
    relative_m3_t: float | None = Field(default=None, ge=0)
    seam_gas_m3_t: float | None = Field(default=None, ge=0)
    source: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _mine(self) -> Self:
        if self.facility_id is None and not self.gem_mine_id:
            raise ValueError("give facility_id or gem_mine_id")
        return self


class MineMethaneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int | None
    gem_mine_id: str | None
    year: int
    absolute_m3_min: float | None
    relative_m3_t: float | None
    seam_gas_m3_t: float | None
    source: str
    mine_key: str | None = None
    """The reference mine (``/reference/mines/{mine_key}``); None for a legacy row."""
    record_key: str | None = None
    version: int | None = None
    data_status: str | None = None
    organization_id: int | None = None
    production_t: float | None = None
    legacy: bool = False
    """A row of the former ``mine_methane`` table (read only, kept visible; not used by the inventory)."""


class RunIn(_In):
    organization_id: int
    year: int | None = Field(default=None, ge=1990, le=2100)
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    """Exclusive end of the period (UTC); give ``year`` or both bounds."""
    methodology: Literal["ipcc2006", "ru371"] = "ipcc2006"
    gwp: str | None = None
    factor_sets: list[str] = Field(default_factory=list)
    """Built-in names (``kuzbass``) or stored user sets as ``name@version``."""
    include_measured: bool = False
    gap_policy: GapPolicy = "mean"
    measured_policy: MeasuredPolicy = "complement"
    """Below ``min_coverage``: 'complement' (factor-based for the uncovered share) or 'refuse' (422)."""
    min_coverage: float = Field(default=DEFAULT_MIN_COVERAGE, ge=0, le=1)
    coal_mining_tier: Literal["tier1", "tier2"] = "tier1"
    """'tier2': mining rows of facilities linked to a reference mine take its relative methane content (m3/t)."""
    lab_compositions: bool = True
    """Vented gas of a source takes its lab-measured CH4/CO2 % instead of the Table 3.1 default."""
    uav_leaks: bool = True
    """Measured leaks (UAV flights) enter the total where no facility-wide figure covers them."""

    @field_validator("gwp")
    @classmethod
    def _known_gwp(cls, value: str | None) -> str | None:
        if value is not None and value not in gwp_sets():
            raise InvalidValue("unknown GWP set {value}; known: {known}", value=repr(value),
                               known=", ".join(gwp_sets()))
        return value

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.year is None and (self.period_start is None or self.period_end is None):
            raise ValueError("give year, or period_start and period_end")
        if self.period_start is not None and self.period_end is not None and self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    year: int
    period_start: date
    period_end: date
    methodology: str
    methodology_version: str
    gwp: str
    factor_sets: list[dict[str, Any]]
    code_version: str
    inputs_sha256: str
    include_measured: bool
    total_co2e_t: float
    regulated_296fz: bool
    created_by: str
    created_at: datetime


class RunDetail(RunOut):
    inputs: dict[str, Any]
    result: dict[str, Any]
    comparison: dict[str, Any]

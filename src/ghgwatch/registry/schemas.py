"""API shapes of the registry tables: ``*In`` to create, ``*Patch`` to update, ``*Out`` to read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ghgwatch.registry.models import FacilityType, SensorKind, SourceType

Latitude = Field(default=None, ge=-90, le=90)
Longitude = Field(default=None, ge=-180, le=180)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    updated_at: datetime


class OrganizationIn(_In):
    name: str = Field(min_length=1, max_length=200)
    inn: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=2000)


class OrganizationPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    inn: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=2000)


class OrganizationOut(_Out):
    name: str
    inn: str | None
    description: str | None


class FacilityIn(_In):
    organization_id: int
    name: str = Field(min_length=1, max_length=200)
    type: FacilityType
    latitude: float | None = Latitude
    longitude: float | None = Longitude
    region: str | None = Field(default=None, max_length=200)
    gem_mine_id: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=2000)
    attributes: dict[str, Any] = Field(default_factory=dict)


class FacilityPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: FacilityType | None = None
    latitude: float | None = Latitude
    longitude: float | None = Longitude
    region: str | None = Field(default=None, max_length=200)
    gem_mine_id: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=2000)
    attributes: dict[str, Any] | None = None


class FacilityOut(_Out):
    organization_id: int
    name: str
    type: FacilityType
    latitude: float | None
    longitude: float | None
    region: str | None
    gem_mine_id: str | None
    description: str | None
    attributes: dict[str, Any]


class SourceIn(_In):
    facility_id: int
    name: str = Field(min_length=1, max_length=200)
    type: SourceType
    latitude: float | None = Latitude
    longitude: float | None = Longitude
    gem_feature_id: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=2000)


class SourcePatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: SourceType | None = None
    latitude: float | None = Latitude
    longitude: float | None = Longitude
    gem_feature_id: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=2000)


class SourceOut(_Out):
    organization_id: int
    facility_id: int
    name: str
    type: SourceType
    latitude: float | None
    longitude: float | None
    gem_feature_id: str | None
    description: str | None


class _SensorChecks(_In):
    range_min: float | None = None
    range_max: float | None = None

    @model_validator(mode="after")
    def _range_ordered(self) -> Self:
        if self.range_min is not None and self.range_max is not None and self.range_min >= self.range_max:
            raise ValueError("range_min must be below range_max")
        return self


class SensorIn(_SensorChecks):
    source_id: int
    name: str = Field(min_length=1, max_length=200)
    kind: SensorKind
    unit: str = Field(min_length=1, max_length=20)
    warning_level: float | None = None
    alarm_level: float | None = None
    expected_interval_s: float = Field(default=60.0, gt=0)
    calibrated_on: date | None = None
    location: str | None = Field(default=None, max_length=40)
    serial: str | None = Field(default=None, max_length=100)
    active: bool = True


class SensorPatch(_SensorChecks):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: SensorKind | None = None
    unit: str | None = Field(default=None, min_length=1, max_length=20)
    warning_level: float | None = None
    alarm_level: float | None = None
    expected_interval_s: float | None = Field(default=None, gt=0)
    calibrated_on: date | None = None
    location: str | None = Field(default=None, max_length=40)
    serial: str | None = Field(default=None, max_length=100)
    active: bool | None = None


class SensorOut(_Out):
    organization_id: int
    facility_id: int
    source_id: int
    name: str
    kind: SensorKind
    unit: str
    range_min: float | None
    range_max: float | None
    warning_level: float | None
    alarm_level: float | None
    expected_interval_s: float
    calibrated_on: date | None
    location: str | None
    serial: str | None
    active: bool


T = TypeVar("T", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

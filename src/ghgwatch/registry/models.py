"""Registry tables: organisation → facility → emission source → sensor."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.store.base import Base, TimestampMixin


def _enum(cls: type[StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK-free VARCHAR so that adding a member needs no migration on
    # PostgreSQL (native enums need ALTER TYPE); validation happens in the schemas.
    return Enum(cls, name=name, native_enum=False, create_constraint=False, length=40,
                values_callable=lambda e: [m.value for m in e])


class FacilityType(StrEnum):
    UNDERGROUND_MINE = "underground_mine"
    SURFACE_MINE = "surface_mine"
    PROCESSING_PLANT = "processing_plant"
    BOILER_HOUSE = "boiler_house"
    OTHER = "other"


class SourceType(StrEnum):
    VENTILATION_SHAFT = "ventilation_shaft"
    DRAINAGE_STATION = "drainage_station"
    GAS_SUCTION_UNIT = "gas_suction_unit"
    FLARE = "flare"
    GAS_ENGINE = "gas_engine"
    BOILER = "boiler"
    OTHER = "other"


class SensorKind(StrEnum):
    METHANE = "methane"
    CO2 = "co2"
    N2O = "n2o"
    AIR_FLOW = "air_flow"
    AIR_VELOCITY = "air_velocity"
    TEMPERATURE = "temperature"
    PRESSURE = "pressure"
    DIFFERENTIAL_PRESSURE = "differential_pressure"
    HUMIDITY = "humidity"
    GAS_FLOW = "gas_flow"
    OTHER = "other"


class Organization(TimestampMixin, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    inn: Mapped[str | None] = mapped_column(String(20), default=None)
    description: Mapped[str | None] = mapped_column(String(2000), default=None)


class Facility(TimestampMixin, Base):
    __tablename__ = "facilities"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[FacilityType] = mapped_column(_enum(FacilityType, "facility_type"))
    latitude: Mapped[float | None] = mapped_column(default=None)
    longitude: Mapped[float | None] = mapped_column(default=None)
    region: Mapped[str | None] = mapped_column(String(200), default=None)
    gem_mine_id: Mapped[str | None] = mapped_column(String(20), default=None, index=True)
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EmissionSource(TimestampMixin, Base):
    __tablename__ = "emission_sources"
    __table_args__ = (UniqueConstraint("facility_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[SourceType] = mapped_column(_enum(SourceType, "source_type"))
    latitude: Mapped[float | None] = mapped_column(default=None)
    longitude: Mapped[float | None] = mapped_column(default=None)
    gem_feature_id: Mapped[str | None] = mapped_column(String(40), default=None)
    description: Mapped[str | None] = mapped_column(String(2000), default=None)


class Sensor(TimestampMixin, Base):
    __tablename__ = "sensors"
    __table_args__ = (
        UniqueConstraint("source_id", "name"),
        Index("ix_sensors_org_kind", "organization_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="RESTRICT"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("emission_sources.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SensorKind] = mapped_column(_enum(SensorKind, "sensor_kind"))
    unit: Mapped[str] = mapped_column(String(20))
    range_min: Mapped[float | None] = mapped_column(default=None)
    range_max: Mapped[float | None] = mapped_column(default=None)
    warning_level: Mapped[float | None] = mapped_column(default=None)
    alarm_level: Mapped[float | None] = mapped_column(default=None)
    expected_interval_s: Mapped[float] = mapped_column(default=60.0)
    calibrated_on: Mapped[date | None] = mapped_column(default=None)
    location: Mapped[str | None] = mapped_column(String(40), default=None)
    serial: Mapped[str | None] = mapped_column(String(100), default=None)
    active: Mapped[bool] = mapped_column(default=True)

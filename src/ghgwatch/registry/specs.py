"""One description per registry table, shared by the service, the endpoints and import/export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import InstrumentedAttribute

from ghgwatch.registry import schemas
from ghgwatch.registry.models import EmissionSource, Facility, Organization, Sensor
from ghgwatch.store.base import Base


@dataclass(frozen=True)
class Parent:
    """The table a row hangs from: its key field and the ids inherited from it."""

    field: str
    model: type[Base]
    inherits: tuple[str, ...]
    """Columns copied from the parent row (``organization_id``, ``facility_id``)."""


@dataclass(frozen=True)
class EntitySpec:
    name: str
    path: str
    model: type[Base]
    create: type[BaseModel]
    patch: type[BaseModel]
    read: type[BaseModel]
    filters: tuple[str, ...]
    search: tuple[str, ...]
    parent: Parent | None = None

    def column(self, name: str) -> InstrumentedAttribute[Any]:
        attr: InstrumentedAttribute[Any] = getattr(self.model, name)
        return attr


ORGANIZATIONS = EntitySpec(
    name="organization", path="organizations", model=Organization,
    create=schemas.OrganizationIn, patch=schemas.OrganizationPatch, read=schemas.OrganizationOut,
    filters=("inn",), search=("name", "description"),
)
FACILITIES = EntitySpec(
    name="facility", path="facilities", model=Facility,
    create=schemas.FacilityIn, patch=schemas.FacilityPatch, read=schemas.FacilityOut,
    filters=("organization_id", "type", "region", "gem_mine_id"), search=("name", "region", "description"),
    parent=Parent("organization_id", Organization, ()),
)
SOURCES = EntitySpec(
    name="source", path="sources", model=EmissionSource,
    create=schemas.SourceIn, patch=schemas.SourcePatch, read=schemas.SourceOut,
    filters=("organization_id", "facility_id", "type"), search=("name", "description"),
    parent=Parent("facility_id", Facility, ("organization_id",)),
)
SENSORS = EntitySpec(
    name="sensor", path="sensors", model=Sensor,
    create=schemas.SensorIn, patch=schemas.SensorPatch, read=schemas.SensorOut,
    filters=("organization_id", "facility_id", "source_id", "kind", "unit", "location", "active"),
    search=("name", "serial", "location"),
    parent=Parent("source_id", EmissionSource, ("organization_id", "facility_id")),
)

ALL = (ORGANIZATIONS, FACILITIES, SOURCES, SENSORS)
BY_PATH = {spec.path: spec for spec in ALL}

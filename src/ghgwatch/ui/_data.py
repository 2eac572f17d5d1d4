"""View data several pages share: the viewer's facilities, sources and sensors, read through the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.registry import service
from ghgwatch.registry.specs import FACILITIES, SENSORS, SOURCES
from ghgwatch.security.principal import Principal

SENSOR_FIELDS = ("id", "name", "kind", "unit", "facility_id", "source_id", "warning_level", "alarm_level",
                 "expected_interval_s", "location", "range_min", "range_max", "active")


def _plain(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(row, name)
        out[name] = getattr(value, "value", value)
    return out


@dataclass
class Site:
    facilities: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    sensors: list[dict[str, Any]] = field(default_factory=list)

    def facility(self, facility_id: int | None) -> dict[str, Any] | None:
        return next((f for f in self.facilities if f["id"] == facility_id), None)

    def as_json(self) -> dict[str, Any]:
        return {"facilities": self.facilities, "sources": self.sources, "sensors": self.sensors}


async def load_site(session: AsyncSession, actor: Principal, facility_id: int | None = None) -> Site:
    """Everything the viewer may see (a platform admin: every organisation), optionally one facility's."""
    filters = {"facility_id": facility_id} if facility_id is not None else {}
    facilities, _ = await service.list_rows(session, actor, FACILITIES, limit=None)
    sources, _ = await service.list_rows(session, actor, SOURCES, filters=filters, limit=None)
    sensors, _ = await service.list_rows(session, actor, SENSORS, filters=filters, limit=None)
    source_names = {s.id: s.name for s in sources}  # type: ignore[attr-defined]
    plain_sensors = [_plain(s, SENSOR_FIELDS) for s in sensors]
    for s in plain_sensors:
        s["source_name"] = source_names.get(s["source_id"], "")
    return Site(
        facilities=[_plain(f, ("id", "organization_id", "name", "type", "latitude", "longitude", "region",
                               "gem_mine_id")) for f in facilities],
        sources=[_plain(s, ("id", "facility_id", "name", "type", "latitude", "longitude", "gem_feature_id"))
                 for s in sources],
        sensors=plain_sensors,
    )

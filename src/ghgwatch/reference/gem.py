"""Russian and Kuzbass coal mines from Global Energy Monitor, and their import into the registry.

Data credit (CC BY 4.0): "Global Energy Monitor, Global Coal Mine Tracker / Coal Mine Boundaries and
Methane Sources (CC BY 4.0)". The files are in ``reference/data/gem-russia/``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.registry import service
from ghgwatch.registry.models import Facility, FacilityType, SourceType
from ghgwatch.registry.schemas import FacilityIn, SourceIn
from ghgwatch.registry.specs import FACILITIES, SOURCES
from ghgwatch.security.principal import Principal

CREDIT = "Global Energy Monitor, Global Coal Mine Tracker / Coal Mine Boundaries and Methane Sources (CC BY 4.0)"
_DIR = "data/gem-russia"
MINES_FILE = "gcmt_map_2024-05-22_russia.csv"
FEATURES_FILE = "coal_mine_boundaries_methane_sources_v1.0.2_russia_features.csv"

# GEM feature (category, subcategory) → our emission-source type. Features that emit no methane
# (preparation plants, mine entrances, production shafts) are not imported as sources.
FEATURE_TYPES: dict[tuple[str, str], SourceType] = {
    ("ventilation system", "shaft"): SourceType.VENTILATION_SHAFT,
    ("ventilation system", "vent"): SourceType.VENTILATION_SHAFT,
    ("degasification system", "drainage station"): SourceType.DRAINAGE_STATION,
    ("degasification system", "gas well"): SourceType.DRAINAGE_STATION,
    ("degasification system", "flare"): SourceType.FLARE,
    ("degasification system", "gas to electric station"): SourceType.GAS_ENGINE,
    ("degasification system", "combined heat and power plant"): SourceType.GAS_ENGINE,
}


def _float(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        return None


@dataclass(frozen=True)
class GemFeature:
    id: str
    mine_id: str
    category: str
    subcategory: str
    latitude: float | None
    longitude: float | None
    description: str

    @property
    def source_type(self) -> SourceType | None:
        return FEATURE_TYPES.get((self.category, self.subcategory))


@dataclass(frozen=True)
class GemMine:
    id: str
    name: str
    status: str
    owner: str
    parent: str
    mine_type: str
    capacity_mt: float | None
    production_mt: float | None
    depth_m: float | None
    coal_type: str
    region: str
    url: str
    latitude: float | None
    longitude: float | None
    in_kuzbass: bool
    features: tuple[GemFeature, ...] = field(default=())
    phases: tuple[dict[str, Any], ...] = field(default=())
    """Every tracker row of the mine (GEM lists an operating mine and its proposed or shelved expansions as
    separate rows with the same id); the facility takes its figures from the operating row."""

    @property
    def facility_type(self) -> FacilityType:
        return FacilityType.UNDERGROUND_MINE if self.mine_type == "underground" else FacilityType.SURFACE_MINE

    def attributes(self) -> dict[str, Any]:
        return {
            "status": self.status, "owner": self.owner, "parent": self.parent, "mine_type": self.mine_type,
            "capacity_mt": self.capacity_mt, "production_mt": self.production_mt,
            # GEM README: 448.0 m is a repeated default for most underground mines, not a measurement.
            "depth_m": self.depth_m, "depth_is_gem_default": self.depth_m == 448.0,
            "coal_type": self.coal_type, "gem_url": self.url, "phases": list(self.phases), "data_credit": CREDIT,
        }


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("ghgwatch.reference").joinpath(f"{_DIR}/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_mines() -> tuple[GemMine, ...]:
    features: dict[str, list[GemFeature]] = {}
    for r in _rows(FEATURES_FILE):
        if r["geometry_type"] != "Point":
            continue
        features.setdefault(r["gem_mine_id"], []).append(GemFeature(
            r["id"], r["gem_mine_id"], r["category"], r["subcategory"], _float(r["lat"]), _float(r["lon"]),
            r["description"]))
    rows_by_id: dict[str, list[dict[str, str]]] = {}
    for r in _rows(MINES_FILE):
        rows_by_id.setdefault(r["id"], []).append(r)
    mines = []
    for mine_id, rows in rows_by_id.items():
        r = next((x for x in rows if x["status"] == "operating"), rows[0])
        phases = tuple({"status": x["status"], "capacity_mt": _float(x["capacity"]),
                        "production_mt": _float(x["production"]), "opening_year": x["opening_year"] or None}
                       for x in rows)
        mines.append(GemMine(
            id=mine_id, name=r["project"], status=r["status"], owner=r["owner"], parent=r["parent"],
            mine_type=r["mine-type"], capacity_mt=_float(r["capacity"]), production_mt=_float(r["production"]),
            depth_m=_float(r["mine_depth"]), coal_type=r["coal_type"], region=r["coalfield"] or r["region"],
            url=r["url"], latitude=_float(r["lat"]), longitude=_float(r["lng"]),
            in_kuzbass=r["in_kuzbass_bbox"] == "yes", features=tuple(features.get(mine_id, ())), phases=phases))
    return tuple(mines)


def find_mines(*, kuzbass_only: bool = False, ids: set[str] | None = None) -> list[GemMine]:
    return [m for m in load_mines() if (not kuzbass_only or m.in_kuzbass) and (ids is None or m.id in ids)]


@dataclass
class ImportSummary:
    facilities_created: int = 0
    facilities_skipped: int = 0
    sources_created: int = 0
    facility_ids: dict[str, int] = field(default_factory=dict)


async def import_mines(
    session: AsyncSession, actor: Principal, organization_id: int, mines: list[GemMine]
) -> ImportSummary:
    """Create a facility per mine and an emission source per methane feature; mines already imported
    into this organisation (same GEM id) are skipped, so the import can be repeated."""
    summary = ImportSummary()
    existing = dict((await session.execute(
        select(Facility.gem_mine_id, Facility.id).where(Facility.organization_id == organization_id,
                                                        Facility.gem_mine_id.is_not(None))
    )).all())
    for mine in mines:
        if mine.id in existing:
            summary.facilities_skipped += 1
            summary.facility_ids[mine.id] = existing[mine.id]
            continue
        facility = await service.create(session, actor, FACILITIES, FacilityIn(
            organization_id=organization_id, name=f"{mine.name} ({mine.id})", type=mine.facility_type,
            latitude=mine.latitude, longitude=mine.longitude, region=mine.region or None, gem_mine_id=mine.id,
            description=f"Imported from GEM. {CREDIT}", attributes=mine.attributes()))
        summary.facilities_created += 1
        summary.facility_ids[mine.id] = int(facility.id)  # type: ignore[attr-defined]
        for feature in mine.features:
            if feature.source_type is None:
                continue
            await service.create(session, actor, SOURCES, SourceIn(
                facility_id=facility.id, name=f"{feature.description} {feature.id}",  # type: ignore[attr-defined]
                type=feature.source_type, latitude=feature.latitude, longitude=feature.longitude,
                gem_feature_id=feature.id, description=f"GEM feature {feature.id}. {CREDIT}"))
            summary.sources_created += 1
    return summary

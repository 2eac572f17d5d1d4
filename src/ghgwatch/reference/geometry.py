"""Shapes of GEM mine features (boundaries, shafts, drainage stations) for maps.

From ``coal_mine_boundaries_methane_sources_v1.0.2_russia.geojson`` (Global Energy Monitor, Coal Mine
Boundaries and Methane Sources v1.0.2, CC BY 4.0), shipped in ``data/gem-russia/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

GEOJSON = Path(__file__).parent / "data" / "gem-russia" / "coal_mine_boundaries_methane_sources_v1.0.2_russia.geojson"


@dataclass(frozen=True)
class MineFeature:
    id: str
    mine_id: str
    mine_name: str
    category: str
    subcategory: str
    description: str
    kind: str
    """GeoJSON geometry type (``Point``, ``Polygon``, ``MultiPolygon``)."""
    coordinates: Any
    """GeoJSON coordinates, longitude first."""


@lru_cache(maxsize=1)
def _features() -> tuple[MineFeature, ...]:
    data = json.loads(GEOJSON.read_text(encoding="utf-8"))
    out = []
    for f in data["features"]:
        p, g = f["properties"], f["geometry"]
        if not g:
            continue
        out.append(MineFeature(id=p["id"], mine_id=p.get("GEM Mine ID", ""), mine_name=p.get("Mine Name", ""),
                               category=p.get("mine feature category", ""),
                               subcategory=p.get("mine feature subcategory", ""),
                               description=p.get("description", ""), kind=g["type"], coordinates=g["coordinates"]))
    return tuple(out)


def mine_features(mine_ids: set[str]) -> list[MineFeature]:
    """Every feature of the given GEM mines, boundaries first."""
    found = [f for f in _features() if f.mine_id in mine_ids]
    return sorted(found, key=lambda f: (f.category != "mine boundary", f.id))

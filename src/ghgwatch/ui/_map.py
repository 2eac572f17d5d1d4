"""A plain SVG map of the shipped GEM shapes and the registry's coordinates (no tile server, no library).

Equirectangular projection with the longitude scaled by cos(latitude) at the centre: at a mine's scale
(tens of kilometres) the distortion is far below what a screen shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ghgwatch.reference.geometry import MineFeature

WIDTH = 1000.0
PAD = 30.0


@dataclass
class MapShape:
    id: str
    kind: str
    """``boundary`` (a path) or ``feature`` (a small square: a GEM point without a registry source)."""
    label: str
    d: str = ""
    x: float = 0.0
    y: float = 0.0


@dataclass
class MapMarker:
    id: int
    facility_id: int
    label: str
    x: float
    y: float


@dataclass
class SvgMap:
    height: float = 400.0
    shapes: list[MapShape] = field(default_factory=list)
    markers: list[MapMarker] = field(default_factory=list)


def _rings(feature: MineFeature) -> Iterable[list[list[float]]]:
    if feature.kind == "Polygon":
        yield from feature.coordinates
    elif feature.kind == "MultiPolygon":
        for polygon in feature.coordinates:
            yield from polygon


def build_map(features: list[MineFeature], sources: list[dict[str, Any]],
              facilities: list[dict[str, Any]]) -> SvgMap:
    points: list[tuple[float, float]] = []
    for f in features:
        if f.kind == "Point":
            points.append((f.coordinates[0], f.coordinates[1]))
        for ring in _rings(f):
            points += [(p[0], p[1]) for p in ring]
    placed = [s for s in sources if s["latitude"] is not None and s["longitude"] is not None]
    points += [(s["longitude"], s["latitude"]) for s in placed]
    lone = [f for f in facilities if f["latitude"] is not None and f["longitude"] is not None]
    points += [(f["longitude"], f["latitude"]) for f in lone]
    if not points:
        return SvgMap()
    lon0, lon1 = min(p[0] for p in points), max(p[0] for p in points)
    lat0, lat1 = min(p[1] for p in points), max(p[1] for p in points)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    span_x, span_y = max((lon1 - lon0) * k, 1e-3), max(lat1 - lat0, 1e-3)
    scale = (WIDTH - 2 * PAD) / max(span_x, span_y * 1.6)
    height = span_y * scale + 2 * PAD

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round(PAD + (lon - lon0) * k * scale, 1), round(PAD + (lat1 - lat) * scale, 1)

    out = SvgMap(height=round(max(height, 200.0), 1))
    used = {s["gem_feature_id"] for s in placed if s.get("gem_feature_id")}
    for f in features:
        if f.kind == "Point":
            if f.id not in used:
                x, y = xy(*f.coordinates[:2])
                out.shapes.append(MapShape(f.id, "feature", f"{f.description or f.subcategory} ({f.id})", x=x, y=y))
            continue
        d = " ".join("M" + " L".join("{},{}".format(*xy(p[0], p[1])) for p in ring) + " Z" for ring in _rings(f))
        out.shapes.append(MapShape(f.id, "boundary", f"{f.mine_name}: {f.description}", d=d))
    for s in placed:
        x, y = xy(s["longitude"], s["latitude"])
        out.markers.append(MapMarker(s["id"], s["facility_id"], s["name"], x, y))
    with_sources = {s["facility_id"] for s in placed}
    for fac in lone:
        if fac["id"] not in with_sources:
            x, y = xy(fac["longitude"], fac["latitude"])
            out.markers.append(MapMarker(-fac["id"], fac["id"], fac["name"], x, y))
    return out

"""A UAV flight drawn as two SVG views: the plan (track, estimated source, wind) and the curtain (along × height).

Both views colour the samples by CH4 concentration. Positions are local east/north metres around the track's
centre (equirectangular with the longitude scaled by cos(latitude): at a flight's scale, a few hundred metres,
the distortion is far below a pixel). The curtain view projects each sample on the track's principal horizontal
axis, so the passes flown at rising heights show the plume's cross-section, which the plan view overlays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH = 1000.0
PAD = 40.0
CURTAIN_HEIGHT = 320.0
MAX_HEIGHT = 560.0
"""The plan view's height at most (a track flown north-south would otherwise be a tall thin strip)."""
MAX_POINTS = 4000
"""Samples drawn per view; a longer flight is thinned to every k-th sample (stated under the drawing)."""
NEARBY_M = 5000.0
"""The registry's source position is drawn only when it is this close to the track (else it is elsewhere)."""
METRES_PER_DEG = math.pi / 180.0 * 6_371_008.8  # IUGG mean Earth radius, as ghgwatch.uav.simulator uses

# ColorBrewer 2.0 (C. Brewer, Penn State), RdYlBu, 8 classes, reversed: low blue → high dark red; readable on
# the light map background and by viewers with the common colour-vision deficiencies.
PALETTE = ("#4575b4", "#74add1", "#abd9e9", "#e0f3f8", "#fee090", "#fdae61", "#f46d43", "#a50026")


@dataclass
class Bin:
    colour: str
    lower: float
    upper: float


@dataclass
class Dot:
    x: float
    y: float
    colour: str
    ppm: float


@dataclass
class TrackSvg:
    height: float = 300.0
    dots: list[Dot] = field(default_factory=list)
    curtain: list[Dot] = field(default_factory=list)
    bins: list[Bin] = field(default_factory=list)
    source: tuple[float, float] | None = None
    registry_source: tuple[float, float] | None = None
    wind: dict[str, Any] | None = None
    scale: dict[str, float] | None = None
    along_m: float = 0.0
    top_m: float = 0.0
    stride: int = 1
    samples: int = 0


def nice_length(span: float) -> float:
    """1, 2 or 5 × 10^k metres, about a fifth of ``span``."""
    target = max(span / 5.0, 1.0)
    power = 10.0 ** math.floor(math.log10(target))
    return next(f * power for f in (5.0, 2.0, 1.0) if f * power <= target)


def bins_for(values: list[float]) -> list[Bin]:
    """Equal-width classes from the lowest value to the highest (the lowest class is the background)."""
    low, high = min(values), max(values)
    if high - low < 1e-9:
        high = low + 1e-3
    step = (high - low) / len(PALETTE)
    return [Bin(c, low + i * step, low + (i + 1) * step) for i, c in enumerate(PALETTE)]


def colour_of(bins: list[Bin], value: float) -> str:
    step = bins[0].upper - bins[0].lower
    index = min(max(int((value - bins[0].lower) / step), 0), len(bins) - 1)
    return bins[index].colour


def _mean_wind(speeds: list[float], directions: list[float]) -> tuple[float, float]:
    """(speed, meteorological direction the wind blows from) of the vector mean of the samples."""
    east = sum(-s * math.sin(math.radians(d)) for s, d in zip(speeds, directions, strict=True)) / len(speeds)
    north = sum(-s * math.cos(math.radians(d)) for s, d in zip(speeds, directions, strict=True)) / len(speeds)
    return math.hypot(east, north), (math.degrees(math.atan2(-east, -north)) + 360.0) % 360.0


def build_track(track: dict[str, Any], source: dict[str, float] | None = None,
                registry_source: tuple[float, float] | None = None) -> TrackSvg:
    """The drawing of a flight's ``track`` (columns as the flights API returns them), ``source`` the estimated
    position (``{"latitude", "longitude"}``) and ``registry_source`` the registry's (latitude, longitude)."""
    lats, lons, ch4 = track.get("latitude") or [], track.get("longitude") or [], track.get("ch4_ppm") or []
    alts = track.get("altitude_m") or [0.0] * len(lats)
    n = min(len(lats), len(lons), len(ch4), len(alts))
    if n == 0:
        return TrackSvg()
    lat0, lon0 = sum(lats[:n]) / n, sum(lons[:n]) / n
    k = math.cos(math.radians(lat0))

    def en(lat: float, lon: float) -> tuple[float, float]:
        return (lon - lon0) * k * METRES_PER_DEG, (lat - lat0) * METRES_PER_DEG

    pts = [en(lats[i], lons[i]) for i in range(n)]
    extra: list[tuple[float, float]] = []
    src = en(source["latitude"], source["longitude"]) if source else None
    if src is not None:
        extra.append(src)
    reg = en(*registry_source) if registry_source else None
    if reg is not None and math.hypot(*reg) > NEARBY_M:
        reg = None
    if reg is not None:
        extra.append(reg)
    xs, ys = [p[0] for p in pts + extra], [p[1] for p in pts + extra]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = min((WIDTH - 2 * PAD) / max(x1 - x0, 20.0), (MAX_HEIGHT - 2 * PAD - 30.0) / max(y1 - y0, 20.0))
    span = (WIDTH - 2 * PAD) / scale
    height = round(max((y1 - y0) * scale + 2 * PAD + 30.0, 240.0), 1)

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        return round(PAD + (p[0] - x0) * scale, 1), round(PAD + (y1 - p[1]) * scale, 1)

    values = [float(v) for v in ch4[:n]]
    bins = bins_for(values)
    stride = max(1, -(-n // MAX_POINTS))
    order = sorted(range(0, n, stride), key=lambda i: values[i])  # the plume drawn over the background
    out = TrackSvg(height=height, bins=bins, stride=stride, samples=n)
    out.dots = [Dot(*xy(pts[i]), colour_of(bins, values[i]), values[i]) for i in order]
    out.source = xy(src) if src is not None else None
    out.registry_source = xy(reg) if reg is not None else None
    length = nice_length(span)
    out.scale = {"x1": PAD, "x2": PAD + length * scale, "y": height - 14.0, "metres": length}
    speeds, dirs = track.get("wind_speed_ms"), track.get("wind_dir_deg")
    if speeds and dirs:
        speed, from_deg = _mean_wind(speeds[:n], dirs[:n])
        to = math.radians(from_deg + 180.0)
        cx, cy, r = WIDTH - PAD - 40.0, PAD + 30.0, 28.0
        dx, dy = math.sin(to) * r, -math.cos(to) * r
        # the arrow's head: a triangle at the downwind end
        hx, hy, ux, uy = cx + dx, cy + dy, dx / r, dy / r
        head = [(hx + ux * 8, hy + uy * 8), (hx - uy * 7, hy + ux * 7), (hx + uy * 7, hy - ux * 7)]
        out.wind = {"x1": round(cx - dx, 1), "y1": round(cy - dy, 1), "x2": round(hx, 1), "y2": round(hy, 1),
                    "speed": speed, "from_deg": from_deg,
                    "head": " ".join(f"{x:.1f},{y:.1f}" for x, y in head)}
    out.curtain, out.along_m, out.top_m = _curtain(pts, [float(a) for a in alts[:n]], values, bins, order)
    return out


def _curtain(pts: list[tuple[float, float]], alts: list[float], values: list[float], bins: list[Bin],
             order: list[int]) -> tuple[list[Dot], float, float]:
    """Samples on (distance along the track's principal axis, height above ground)."""
    n = len(pts)
    mx, my = sum(p[0] for p in pts) / n, sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    syy = sum((p[1] - my) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    angle = 0.5 * math.atan2(2 * sxy, sxx - syy)  # principal axis of the horizontal positions
    ux, uy = math.cos(angle), math.sin(angle)
    along = [(p[0] - mx) * ux + (p[1] - my) * uy for p in pts]
    a0, a1 = min(along), max(along)
    top = max(max(alts), 1.0)
    sx = (WIDTH - 2 * PAD - 20.0) / max(a1 - a0, 1.0)
    sy = (CURTAIN_HEIGHT - 2 * PAD) / top
    dots = [Dot(round(PAD + 20.0 + (along[i] - a0) * sx, 1), round(CURTAIN_HEIGHT - PAD - max(alts[i], 0.0) * sy, 1),
                colour_of(bins, values[i]), values[i]) for i in order]
    return dots, a1 - a0, top

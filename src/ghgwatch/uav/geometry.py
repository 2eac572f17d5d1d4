"""Flight geometry: a local metric frame, wind vectors, the curtain and its transects.

The local frame is an equirectangular projection about the flight's mean position (east ``x``, north ``y``,
metres). Over a curtain a few hundred metres across its distance error is far below a GPS's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghgwatch.uav.flight import Array, Flight, Index

# Mean Earth radius, IUGG (R1 = 6,371,008.8 m); the equirectangular projection needs no better here.
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Frame:
    """An equirectangular projection about ``(lat0, lon0)``."""

    lat0: float
    lon0: float

    def to_xy(self, lat: Array, lon: Array) -> tuple[Array, Array]:
        k = math.pi / 180.0 * EARTH_RADIUS_M
        return (lon - self.lon0) * k * math.cos(math.radians(self.lat0)), (lat - self.lat0) * k

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        k = math.pi / 180.0 * EARTH_RADIUS_M
        return self.lat0 + y / k, self.lon0 + x / (k * math.cos(math.radians(self.lat0)))


def frame_of(flight: Flight) -> Frame:
    return Frame(float(np.mean(flight.latitude)), float(np.mean(flight.longitude)))


def wind_vectors(speed: Array, direction_from_deg: Array) -> tuple[Array, Array]:
    """East and north components of the air motion (meteorological direction: where the wind comes from)."""
    rad = np.radians(direction_from_deg)
    return -speed * np.sin(rad), -speed * np.cos(rad)


def circular_std_deg(direction_deg: Array, weights: Array | None = None) -> float:
    """Circular standard deviation of directions (Mardia: sqrt(-2 ln R)), in degrees."""
    rad = np.radians(direction_deg)
    w = np.ones_like(rad) if weights is None else weights
    r = math.hypot(float(np.sum(w * np.sin(rad))), float(np.sum(w * np.cos(rad)))) / float(np.sum(w))
    return math.degrees(math.sqrt(-2.0 * math.log(max(r, 1e-12))))


def mean_direction_deg(speed: Array, direction_from_deg: Array) -> float:
    """Direction the vector-mean wind comes from, degrees."""
    u, v = wind_vectors(speed, direction_from_deg)
    return math.degrees(math.atan2(-float(np.mean(u)), -float(np.mean(v)))) % 360.0


@dataclass(frozen=True)
class Curtain:
    """The vertical plane the flight samples: origin, along-curtain axis and downwind-pointing normal."""

    origin: tuple[float, float]
    axis: tuple[float, float]
    normal: tuple[float, float]
    s: Array  # along-curtain coordinate of each sample, m
    offset: Array  # distance of each sample from the plane, m
    transects: list[Index]  # sample indices of each pass, in time order
    heights: Array  # median altitude of each transect, m above ground

    @property
    def width_m(self) -> float:
        return float(np.ptp(self.s)) if self.s.size else 0.0


def fit_curtain(x: Array, y: Array, z: Array, wind_u: float, wind_v: float, *, min_fraction: float = 0.5) -> Curtain:
    """The principal horizontal axis of the track and its passes.

    A pass (transect) is a run of samples moving one way along the axis that spans at least ``min_fraction``
    of the curtain's width; the turns and climbs between passes are left out.
    """
    ox, oy = float(np.mean(x)), float(np.mean(y))
    cov = np.cov(np.vstack([x - ox, y - oy]))
    _, vecs = np.linalg.eigh(cov)
    ax, ay = float(vecs[0, 1]), float(vecs[1, 1])
    nx, ny = ay, -ax
    if nx * wind_u + ny * wind_v < 0:
        nx, ny = -nx, -ny
    s = (x - ox) * ax + (y - oy) * ay
    offset = (x - ox) * nx + (y - oy) * ny
    width = float(np.ptp(s)) if s.size else 0.0
    ds = np.gradient(s) if s.size > 1 else np.zeros_like(s)
    direction = np.sign(ds)
    transects: list[Index] = []
    start = 0
    for i in range(1, s.size + 1):
        if i == s.size or direction[i] != direction[start] or abs(z[i] - z[start]) > 1.5:
            idx = np.arange(start, i)
            if idx.size >= 5 and direction[start] != 0 and float(np.ptp(s[idx])) >= min_fraction * width:
                transects.append(idx)
            start = i
    heights = np.array([float(np.median(z[idx])) for idx in transects])
    return Curtain((ox, oy), (ax, ay), (nx, ny), s, offset, transects, heights)

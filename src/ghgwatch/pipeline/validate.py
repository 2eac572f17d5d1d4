"""Validation and unit normalisation of one sensor's batch, vectorised with numpy.

A batch holds one sensor's readings from one request (see :mod:`ghgwatch.ingest.wire`), so the sensor's
description, its unit conversion and its range apply to the whole array at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ghgwatch.ingest.wire import SensorBatch
from ghgwatch.kit.units import UnitError, affine
from ghgwatch.readings.models import Quality
from ghgwatch.registry.cache import SensorMeta

FUTURE_TOLERANCE_US = 5 * 60 * 1_000_000
LATE_AFTER_US = 3600 * 1_000_000

# Physical limits of each sensor kind, in a reference unit; a sensor's own configured range narrows them.
# Volume fractions cannot leave 0-100 %; temperatures cannot fall below absolute zero; the rest are generous
# bounds that only catch nonsense (negative flows, absurd pressures).
KIND_LIMITS: dict[str, tuple[float, float, str]] = {
    "methane": (0.0, 100.0, "%"),
    "co2": (0.0, 100.0, "%"),
    "n2o": (0.0, 100.0, "%"),
    "humidity": (0.0, 100.0, "%"),
    "temperature": (-273.15, 2000.0, "degC"),
    "pressure": (0.0, 100_000.0, "kPa"),
    "differential_pressure": (-100_000.0, 100_000.0, "kPa"),
    "air_flow": (0.0, 1.0e7, "m3/min"),
    "gas_flow": (0.0, 1.0e7, "m3/min"),
    "air_velocity": (0.0, 340.0, "m/s"),
}


@dataclass
class Rejection:
    index: int
    reason: str
    detail: str


@dataclass
class Checked:
    sensor: int
    ts: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    quality: npt.NDArray[np.int16]
    rejected: list[Rejection] = field(default_factory=list)


def _limits(meta: SensorMeta) -> tuple[float, float]:
    lo, hi = -np.inf, np.inf
    if meta.kind in KIND_LIMITS:
        kind_lo, kind_hi, unit = KIND_LIMITS[meta.kind]
        try:
            scale, offset = affine(unit, meta.unit, meta.kind)
            a, b = sorted((scale * kind_lo + offset, scale * kind_hi + offset))
            lo, hi = a, b
        except UnitError:
            pass  # a sensor unit of another dimension: only its own range applies
    if meta.range_min is not None:
        lo = max(lo, meta.range_min)
    if meta.range_max is not None:
        hi = min(hi, meta.range_max)
    return float(lo), float(hi)


def _reject_all(batch: SensorBatch, reason: str, detail: str) -> Checked:
    empty = np.empty(0)
    return Checked(batch.sensor, empty.astype(np.int64), empty, empty.astype(np.int16),
                   [Rejection(i, reason, detail) for i in range(len(batch.values))])


def check(batch: SensorBatch, meta: SensorMeta | None, now_us: int) -> Checked:
    if meta is None:
        return _reject_all(batch, "unknown_sensor", f"sensor {batch.sensor} is not registered")
    if not meta.active:
        return _reject_all(batch, "inactive_sensor", f"sensor {batch.sensor} is not active")
    ts = np.asarray(batch.ts, dtype=np.int64)
    values = np.asarray(batch.values, dtype=np.float64)
    quality = np.full(len(values), batch.flags & Quality.REPLAYED, dtype=np.int16)
    if batch.unit is not None and batch.unit != meta.unit:
        try:
            scale, offset = affine(batch.unit, meta.unit, meta.kind)
        except UnitError as exc:
            return _reject_all(batch, "unit", f"{exc} (sensor {batch.sensor} measures in {meta.unit})")
        values = values * scale + offset
        quality |= Quality.UNIT_CONVERTED
    quality[batch.accepted_us - ts > LATE_AFTER_US] |= Quality.LATE
    lo, hi = _limits(meta)
    finite = np.isfinite(values)
    in_range = finite & (values >= lo) & (values <= hi)
    not_future = ts <= now_us + FUTURE_TOLERANCE_US
    ok = in_range & not_future
    rejected: list[Rejection] = []
    if not ok.all():
        for i in np.flatnonzero(~ok).tolist():
            if not finite[i]:
                rejected.append(Rejection(i, "not_finite", "value is not a finite number"))
            elif not in_range[i]:
                rejected.append(Rejection(i, "out_of_range", f"{values[i]:g} {meta.unit} is outside the physical "
                                          f"range [{lo:g}, {hi:g}] of sensor {meta.id} ({meta.kind})"))
            else:
                ahead = (ts[i] - now_us) / 1e6
                rejected.append(Rejection(i, "future_timestamp", f"timestamp is {ahead:.0f} s in the future"))
        ts, values, quality = ts[ok], values[ok], quality[ok]
    return Checked(batch.sensor, ts, values, quality, rejected)

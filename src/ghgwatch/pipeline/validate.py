"""Validation and unit normalisation of the readings of a poll, vectorised with numpy.

Each bus record holds one sensor's readings from one request (see :mod:`ghgwatch.ingest.wire`), so a unit
conversion applies to a whole record; range, time and finiteness checks run over the whole poll at once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

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


def _physical_limits(meta: SensorMeta) -> tuple[float, float]:
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


_limits_of: dict[int, tuple[SensorMeta, tuple[float, float]]] = {}
"""Per sensor id, the limits of the last ``SensorMeta`` seen for it. A hit is the very same object (the sensor cache
hands out the same objects until it reloads): a ``functools.cache`` on the meta hashed and compared all its fields
on every call, 3.6 % of the server's event-loop samples at 70,000 readings/s (py-spy)."""


def _limits(meta: SensorMeta) -> tuple[float, float]:
    known = _limits_of.get(meta.id)
    if known is not None and known[0] is meta:
        return known[1]
    limits = _physical_limits(meta)
    _limits_of[meta.id] = (meta, limits)
    return limits


@dataclass
class CheckedBatch:
    """A whole poll validated at once: accepted readings grouped by sensor (in arrival order within each
    sensor), and the rejections as (batch index, reading index, reason, detail)."""

    sensors: list[int]
    ts: list[npt.NDArray[np.int64]]
    values: list[npt.NDArray[np.float64]]
    quality: list[npt.NDArray[np.int16]]
    accepted_us: list[npt.NDArray[np.int64]]
    rejected: list[tuple[int, int, str, str]]


WRONG_ORGANIZATION = "wrong_organization"
"""Rejection reason of a bus record naming a sensor of another organisation than its own."""


def check_many(batches: list[SensorBatch], metas: dict[int, SensorMeta], now_us: int,
               min_ts_us: int | None = None) -> CheckedBatch:
    """Validate the readings of many batches with one set of array operations.

    Per-batch work is only what differs per batch (the sensor, a unit conversion); range, future and
    finiteness checks run once over the concatenated arrays (PERFORMANCE.md (d): numpy over a whole batch is
    ~10x faster than per-reading Python).
    """
    rejected: list[tuple[int, int, str, str]] = []
    # Per kept batch: its index, sensor, quality flag, accept time, number of readings and reading lists. The
    # per-reading columns are built by numpy from these (np.repeat, np.fromiter over the chained lists): appending
    # every reading to Python lists and converting them with np.asarray was two thirds of this function's time.
    origin: list[int] = []
    kept: list[int] = []
    flags: list[int] = []
    accepted: list[int] = []
    counts: list[int] = []
    limits: list[tuple[float, float]] = []
    ts_lists: list[list[int]] = []
    value_lists: list[list[float]] = []
    for bi, b in enumerate(batches):
        meta = metas.get(b.sensor)
        n = len(b.values)
        if meta is None or not meta.active:
            reason, detail = (("unknown_sensor", f"sensor {b.sensor} is not registered") if meta is None
                              else ("inactive_sensor", f"sensor {b.sensor} is not active"))
            rejected.extend((bi, i, reason, detail) for i in range(n))
            continue
        if meta.organization_id != b.organization:
            # Ingest checks this at accept; a record that still names another organisation's sensor was not
            # written by our ingest (a forged or misrouted bus record) and is never stored or judged.
            detail = f"sensor {b.sensor} does not belong to organisation {b.organization}"
            rejected.extend((bi, i, WRONG_ORGANIZATION, detail) for i in range(n))
            continue
        flag = b.flags & Quality.REPLAYED
        batch_values = b.values
        if b.unit is not None and b.unit != meta.unit:
            try:
                scale, offset = affine(b.unit, meta.unit, meta.kind)
            except UnitError as exc:
                detail = f"{exc} (sensor {b.sensor} measures in {meta.unit})"
                rejected.extend((bi, i, "unit", detail) for i in range(n))
                continue
            batch_values = [v * scale + offset for v in batch_values]
            flag |= Quality.UNIT_CONVERTED
        origin.append(bi)
        limits.append(_limits(meta))
        kept.append(b.sensor)
        flags.append(flag)
        accepted.append(b.accepted_us)
        counts.append(n)
        ts_lists.append(b.ts)
        value_lists.append(batch_values)
    total = sum(counts)
    kept_arr = np.asarray(kept, dtype=np.int64)
    s_arr = np.repeat(kept_arr, counts)
    t_arr = np.fromiter(itertools.chain.from_iterable(ts_lists), dtype=np.int64, count=total)
    v_arr = np.fromiter(itertools.chain.from_iterable(value_lists), dtype=np.float64, count=total)
    q_arr = np.repeat(np.asarray(flags, dtype=np.int16), counts)
    a_arr = np.repeat(np.asarray(accepted, dtype=np.int64), counts)
    bounds = np.asarray(limits, dtype=np.float64).reshape(-1, 2)
    lo, hi = np.repeat(bounds[:, 0], counts), np.repeat(bounds[:, 1], counts)
    q_arr[a_arr - t_arr > LATE_AFTER_US] |= Quality.LATE
    finite = np.isfinite(v_arr)
    in_range = finite & (v_arr >= lo) & (v_arr <= hi)
    ok = in_range & (t_arr <= now_us + FUTURE_TOLERANCE_US)
    if min_ts_us is not None:
        # Older than the raw retention: its day may already be exported and dropped, and rollups there can
        # no longer be recomputed from raw (ghgwatch.readings.rollups.recompute).
        ok &= t_arr >= min_ts_us
    if not ok.all():
        starts = np.cumsum([0, *counts[:-1]])
        batch_of = np.repeat(np.arange(len(counts)), counts)
        for i in np.flatnonzero(~ok).tolist():
            k = int(batch_of[i])
            bi, sensor = origin[k], kept[k]
            if not finite[i]:
                reason, detail = "not_finite", "value is not a finite number"
            elif not in_range[i]:
                meta = metas[sensor]
                reason = "out_of_range"
                detail = (f"{v_arr[i]:g} {meta.unit} is outside the physical range [{lo[i]:g}, {hi[i]:g}] of "
                          f"sensor {sensor} ({meta.kind})")
            elif t_arr[i] > now_us:
                reason, detail = "future_timestamp", f"timestamp is {(t_arr[i] - now_us) / 1e6:.0f} s in the future"
            else:
                reason = "expired"
                detail = (f"timestamp is {(now_us - t_arr[i]) / 86_400e6:.1f} days old, beyond the raw retention "
                          "(its day may already be in the data lake)")
            rejected.append((bi, i - int(starts[k]), reason, detail))
        s_arr, t_arr, v_arr, q_arr, a_arr = s_arr[ok], t_arr[ok], v_arr[ok], q_arr[ok], a_arr[ok]
    if not len(s_arr):
        return CheckedBatch([], [], [], [], [], rejected)
    # Grouped by sensor (in sensor order, arrival order within each): one gather per column, then slices (views).
    order = np.argsort(s_arr, kind="stable")
    s_arr, t_arr, v_arr, q_arr, a_arr = s_arr[order], t_arr[order], v_arr[order], q_arr[order], a_arr[order]
    edges = [0, *(np.flatnonzero(s_arr[1:] != s_arr[:-1]) + 1).tolist(), len(s_arr)]
    spans = list(itertools.pairwise(edges))
    return CheckedBatch(s_arr[edges[:-1]].tolist(), [t_arr[a:b] for a, b in spans], [v_arr[a:b] for a, b in spans],
                        [q_arr[a:b] for a, b in spans], [a_arr[a:b] for a, b in spans], rejected)

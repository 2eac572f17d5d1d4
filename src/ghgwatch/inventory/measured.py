"""Methane volume of a ventilation shaft or drainage line from a time series (pure numpy).

``V_CH4 = ∫ Q_air(t) × c_CH4(t)/100 dt`` (METHODOLOGY §1.3 [V: S2]: V_vent = Σ Q_air × c_CH4 × t), integrated
with the trapezoidal rule over the samples inside ``[start, end)``. Segments between samples are
classified by their length relative to the nominal sampling interval:

- ``regular`` (≤ 1.5 intervals): counted as covered;
- ``bridged`` (≤ ``max_gap_intervals`` intervals): linearly interpolated, reported separately;
- ``long`` (longer): treated by ``gap_policy``: ``"mean"`` fills with the period mean rate of the
  covered and bridged data (flagged), ``"interpolate"`` bridges linearly anyway, ``"omit"`` leaves it out.

The stretches before the first and after the last sample are handled the same way, holding the
nearest value instead of interpolating. ``coverage`` is the fraction of the period covered by regular
segments. Volumes are at the reference conditions of the flow measurement; the caller states them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

GapPolicy = Literal["mean", "interpolate", "omit"]
TimeLike = float | int | datetime | np.datetime64


@dataclass(frozen=True, slots=True)
class Gap:
    start_s: float  # epoch seconds
    end_s: float
    treatment: Literal["bridged", "filled_mean", "interpolated", "omitted", "held"]

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class IntegrationResult:
    ch4_m3: float
    period_s: float
    covered_s: float
    bridged_s: float
    filled_s: float
    omitted_s: float
    nominal_interval_s: float
    samples: int
    gap_policy: GapPolicy
    max_gap_intervals: float
    gaps: list[Gap] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.covered_s / self.period_s if self.period_s > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "ch4_m3": self.ch4_m3,
            "coverage": self.coverage,
            "period_s": self.period_s,
            "covered_s": self.covered_s,
            "bridged_s": self.bridged_s,
            "filled_s": self.filled_s,
            "omitted_s": self.omitted_s,
            "nominal_interval_s": self.nominal_interval_s,
            "samples": self.samples,
            "gap_policy": self.gap_policy,
            "max_gap_intervals": self.max_gap_intervals,
            "gaps": [{"start_s": g.start_s, "end_s": g.end_s, "treatment": g.treatment} for g in self.gaps],
        }


def _seconds(x: TimeLike) -> float:
    if isinstance(x, datetime):
        if x.tzinfo is None:
            raise ValueError("naive datetime: give timezone-aware datetimes or epoch seconds")
        return x.timestamp()
    if isinstance(x, np.datetime64):
        return float(x.astype("datetime64[ns]").astype(np.int64)) / 1e9
    return float(x)


def _seconds_array(ts: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(ts)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
    return arr.astype(np.float64)


def integrate_ch4(
    timestamps: npt.ArrayLike,
    air_flow_m3_min: npt.ArrayLike,
    ch4_percent: npt.ArrayLike,
    *,
    start: TimeLike,
    end: TimeLike,
    max_gap_intervals: float = 3.0,
    gap_policy: GapPolicy = "mean",
    interval_s: float | None = None,
) -> IntegrationResult:
    """Integrate air flow (m3/min) × CH4 (% vol) over ``[start, end)`` → m3 of pure CH4."""
    t0, t1 = _seconds(start), _seconds(end)
    if t1 <= t0:
        raise ValueError("end must be after start")
    ts = _seconds_array(timestamps)
    rate = np.asarray(air_flow_m3_min, dtype=np.float64) * np.asarray(ch4_percent, dtype=np.float64) / 100.0 / 60.0
    if ts.shape != rate.shape:
        raise ValueError("timestamps, air_flow_m3_min and ch4_percent must have the same length")
    keep = np.isfinite(ts) & np.isfinite(rate) & (ts >= t0) & (ts < t1)
    order = np.argsort(ts[keep], kind="stable")
    ts, rate = ts[keep][order], rate[keep][order]  # rate in m3 CH4 per second
    period = t1 - t0
    if ts.size == 0:
        return IntegrationResult(
            0.0,
            period,
            0.0,
            0.0,
            0.0,
            period,
            interval_s or 0.0,
            0,
            gap_policy,
            max_gap_intervals,
            [Gap(t0, t1, "omitted")],
        )
    dt = np.diff(ts)
    nominal = interval_s if interval_s is not None else (float(np.median(dt)) if dt.size else period)
    regular_lim, bridge_lim = 1.5 * nominal, max_gap_intervals * nominal
    seg_vol = (rate[:-1] + rate[1:]) / 2.0 * dt
    regular = dt <= regular_lim
    bridged = ~regular & (dt <= bridge_lim)
    long_ = dt > bridge_lim
    # Edges: hold the nearest sample value.
    head, tail = ts[0] - t0, t1 - ts[-1]
    edge_len = np.array([head, tail])
    edge_vol = np.array([rate[0] * head, rate[-1] * tail])
    edge_regular = edge_len <= regular_lim
    edge_bridged = ~edge_regular & (edge_len <= bridge_lim)
    edge_long = edge_len > bridge_lim

    covered = float(dt[regular].sum() + edge_len[edge_regular].sum())
    bridged_s = float(dt[bridged].sum() + edge_len[edge_bridged].sum())
    data_vol = float(seg_vol[regular | bridged].sum() + edge_vol[~edge_long].sum())
    data_s = covered + bridged_s
    long_s = float(dt[long_].sum() + edge_len[edge_long].sum())
    filled = omitted = 0.0
    if gap_policy == "interpolate":
        vol = data_vol + float(seg_vol[long_].sum() + edge_vol[edge_long].sum())
        filled = long_s
    elif gap_policy == "mean" and data_s > 0:
        vol = data_vol + data_vol / data_s * long_s
        filled = long_s
    else:
        vol, omitted = data_vol, long_s
    long_kind: Literal["filled_mean", "interpolated", "omitted"] = (
        "interpolated" if gap_policy == "interpolate" else "filled_mean" if filled else "omitted"
    )
    gaps = [Gap(float(ts[i]), float(ts[i + 1]), "bridged") for i in np.flatnonzero(bridged)]
    gaps += [Gap(float(ts[i]), float(ts[i + 1]), long_kind) for i in np.flatnonzero(long_)]
    for is_head, (b, lg) in enumerate(zip(edge_bridged, edge_long, strict=True)):
        if b or lg:
            span = (t0, float(ts[0])) if is_head == 0 else (float(ts[-1]), t1)
            kind = "held" if (b or gap_policy == "interpolate") else long_kind
            gaps.append(Gap(span[0], span[1], kind))
    gaps.sort(key=lambda g: g.start_s)
    return IntegrationResult(
        ch4_m3=vol,
        period_s=period,
        covered_s=covered,
        bridged_s=bridged_s,
        filled_s=filled,
        omitted_s=omitted,
        nominal_interval_s=nominal,
        samples=int(ts.size),
        gap_policy=gap_policy,
        max_gap_intervals=max_gap_intervals,
        gaps=gaps,
    )

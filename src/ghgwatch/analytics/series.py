"""Stored series for the analytics role: rollup means on a regular grid, raw timestamps, gap summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.readings import history
from ghgwatch.readings.models import Rollup1h, Rollup1m, RollupMixin
from ghgwatch.readings.query import from_us, to_us

RESOLUTIONS: dict[str, type[RollupMixin]] = {"1m": Rollup1m, "1h": Rollup1h}


def step_us(resolution: str) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {resolution!r}; expected one of {', '.join(RESOLUTIONS)}")
    return RESOLUTIONS[resolution].BUCKET_US


async def rollup_series(
    session: AsyncSession, sensor_id: int, start: datetime, end: datetime, resolution: str
) -> pd.Series:
    """Bucket means of a sensor in ``[start, end)`` (only buckets with readings), indexed by UTC bucket start."""
    width = step_us(resolution)
    table = RESOLUTIONS[resolution]
    lo = -(-to_us(start) // width) * width
    rows = await history.buckets(session, sensor_id, lo, to_us(end), table)  # hot rollups, cold Parquet
    buckets = rows.bucket
    means = rows.mean
    index = pd.DatetimeIndex(pd.to_datetime(buckets, unit="us", utc=True), name="timestamp")
    return pd.Series(means, index=index, name="value")


def regular(series: pd.Series, resolution: str, start: datetime | None = None) -> pd.Series:
    """Reindex onto the full grid of the resolution (missing buckets become NaN).

    The grid starts at ``start`` (rounded up to a bucket) when given, so that a stored model's positions
    line up with the data it was trained on; otherwise at the first bucket.
    """
    if series.empty:
        return series
    width = pd.Timedelta(step_us(resolution), unit="us")
    first = series.index[0] if start is None else pd.Timestamp(start).ceil(width)
    grid = pd.date_range(first, series.index[-1], freq=width, name="timestamp")
    return series.reindex(grid)


def interpolated(series: pd.Series) -> tuple[pd.Series, int]:
    """Fill missing buckets linearly in time (edges: nearest value); returns the series and the count filled."""
    from ghgwatch.analytics.gaps import interpolate_fill

    missing = int(series.isna().sum())
    if missing == 0 or missing == len(series):
        return series, missing
    values = interpolate_fill(series.to_frame("value"), "value")
    return pd.Series(values, index=series.index, name="value"), missing


async def reading_times(session: AsyncSession, sensor_id: int, start: datetime, end: datetime) -> np.ndarray:
    """Timestamps (µs) of a sensor's raw readings in ``[start, end)``, ascending."""
    return (await history.raw(session, sensor_id, to_us(start), to_us(end))).ts


def gap_summary(
    ts_us: np.ndarray,
    start: datetime,
    end: datetime,
    expected_interval_s: float,
    factor: float,
    max_gaps: int = 100,
) -> dict[str, Any]:
    """Coverage of a window and the silences longer than ``factor`` expected intervals.

    Coverage is readings received over readings expected (window / expected interval), capped at 1. A
    silence before the first or after the last reading of the window counts as a gap too.
    """
    lo, hi = to_us(start), to_us(end)
    interval_us = expected_interval_s * 1e6
    expected = max(1, int((hi - lo) // interval_us))
    edges = np.concatenate(([lo], np.asarray(ts_us, dtype=np.int64), [hi]))
    silence = np.diff(edges)
    long = np.flatnonzero(silence > factor * interval_us)
    gaps = [
        {"start": from_us(int(edges[i])).isoformat(), "end": from_us(int(edges[i + 1])).isoformat(),
         "seconds": float(silence[i]) / 1e6}
        for i in long[:max_gaps]
    ]
    return {
        "received": len(ts_us),
        "expected": expected,
        "coverage": min(1.0, len(ts_us) / expected),
        "n_gaps": len(long),
        "longest_gap_s": float(silence[long].max()) / 1e6 if len(long) else 0.0,
        "gaps": gaps,
    }


def fill_stored(raw: pd.Series, resolution: str, method: str) -> dict[str, Any]:
    """Fill the missing buckets of a stored series: points ``{ts, value, filled, method}`` and the method used.

    Only buckets between the first and the last one with data are filled (no extrapolation at the edges).
    """
    from ghgwatch.analytics.gaps import fill_gaps

    if len(raw) < 2:
        raise ValueError("at least two stored values are needed to fill the gaps between them")
    grid = regular(raw, resolution).to_frame("value")
    out = fill_gaps(grid, method=method)
    chosen = str(out.attrs.get("chosen", method))
    points = [
        {"ts": ts.isoformat(), "value": float(v), "filled": bool(f), "method": m or None}
        for ts, v, f, m in zip(out.index, out["value"], out["filled"], out["method"], strict=True)
    ]
    result: dict[str, Any] = {"method": chosen, "n_filled": int(out["filled"].sum()), "points": points}
    if "evaluation" in out.attrs:
        from ghgwatch.analytics.fitting import clean

        result["evaluation"] = clean(out.attrs["evaluation"])
    return result

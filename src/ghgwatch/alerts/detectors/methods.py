"""Named detector configurations, default thresholds, and the choice of a method for unknown series."""

from __future__ import annotations

from typing import Final

import numpy as np

from ghgwatch.alerts.detectors.base import AnomalyFilter, FloatArray
from ghgwatch.alerts.detectors.ewma import EWMA
from ghgwatch.alerts.detectors.robust_z import RobustZScore
from ghgwatch.alerts.detectors.seasonal import SeasonalBaseline

METHODS: Final = ("robust_z", "ewma", "seasonal", "iforest")

# Default thresholds, chosen on the generated series of tests/alerts/test_detection_quality.py so the
# false-alarm rate stays under 1 % while every injected spike is found (our calibration, see
# docs/detection.md). Streaming scores are in robust sigmas; Isolation Forest scores are in (0, 1].
DEFAULT_THRESHOLDS: Final[dict[str, float]] = {"robust_z": 4.5, "ewma": 5.0, "seasonal": 5.0, "iforest": 0.7}

_MIN_SEASONAL_SPAN_S: Final = 4 * 86400
_MIN_DAILY_SHARE: Final = 0.3


def median_interval(timestamps: FloatArray) -> float:
    d = np.diff(np.asarray(timestamps, dtype=np.float64))
    d = d[d > 0]
    return float(np.median(d)) if d.size else 60.0


def make_detector(
    method: str, threshold: float | None = None, *, interval_s: float = 60.0, max_skip: int = 60
) -> AnomalyFilter:
    """A filtered streaming detector for ``method``; ``interval_s`` sizes the seasonal buckets."""
    if method not in DEFAULT_THRESHOLDS or method == "iforest":
        raise ValueError(f"unknown streaming method {method!r}; expected one of robust_z, ewma, seasonal")
    thr = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    if method == "robust_z":
        return AnomalyFilter(RobustZScore(window=60), thr, max_skip=max_skip)
    if method == "ewma":
        return AnomalyFilter(EWMA(alpha=0.05, min_periods=30), thr, max_skip=max_skip)
    # seasonal: one day's worth of values per hourly bucket, at least 10 and at most 240 (our choice).
    per_bucket = int(np.clip(round(3600 / max(interval_s, 1.0)), 10, 240))
    return AnomalyFilter(SeasonalBaseline(bucket_s=3600, per_bucket=per_bucket), thr, max_skip=max_skip)


def daily_share(timestamps: FloatArray, values: FloatArray) -> float:
    """Share of the variance explained by the hour-of-day means (0..1)."""
    x = np.asarray(values, dtype=np.float64)
    hour = (np.floor(np.asarray(timestamps, dtype=np.float64)).astype(np.int64) % 86400) // 3600
    total = float(np.var(x))
    if total == 0.0:
        return 0.0
    sums = np.bincount(hour, weights=x, minlength=24)
    counts = np.bincount(hour, minlength=24)
    means = np.divide(sums, counts, out=np.zeros(24), where=counts > 0)
    return float(np.var(means[hour]) / total)


def choose_method(timestamps: FloatArray, values: FloatArray) -> str:
    """``seasonal`` if the series spans at least 4 days and hour-of-day explains ≥ 30 % of its
    variance, else ``robust_z`` (robust to outliers, adapts to level shifts within one window)."""
    t = np.asarray(timestamps, dtype=np.float64)
    if t.size < 2 or float(t[-1] - t[0]) < _MIN_SEASONAL_SPAN_S:
        return "robust_z"
    return "seasonal" if daily_share(t, values) >= _MIN_DAILY_SHARE else "robust_z"

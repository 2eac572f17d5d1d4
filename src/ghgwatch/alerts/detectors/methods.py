"""Named detector configurations, default thresholds, and the choice of a method for unknown series."""

from __future__ import annotations

from typing import Final

import numpy as np

from ghgwatch.alerts.detectors import registry
from ghgwatch.alerts.detectors.base import AnomalyFilter, FloatArray, StreamingDetector
from ghgwatch.alerts.detectors.ewma import EWMA
from ghgwatch.alerts.detectors.robust_z import RobustZScore
from ghgwatch.alerts.detectors.seasonal import SeasonalBaseline

DEFAULT_METHOD: Final = "adaptive"
METHODS: Final = ("adaptive", "robust_z", "ewma", "seasonal", "seasonal_weekly", "iforest")
STREAMING_METHODS: Final = ("adaptive", "robust_z", "ewma", "seasonal", "seasonal_weekly")

# Default thresholds. ``adaptive`` (the default): calibrated on the labelled real series of NAB
# (benchmarks/nab.py, docs/detection.md). The others: chosen on the generated series of
# tests/alerts/test_detect_cli.py so the false-alarm rate stays under 1 % while every injected spike is
# found (our calibration, see docs/detection.md). Streaming scores are in sigmas; Isolation Forest
# scores are in (0, 1].
DEFAULT_THRESHOLDS: Final[dict[str, float]] = {
    "adaptive": registry.DEFAULT_ALARM_THRESHOLD,
    "robust_z": 4.5,
    "ewma": 5.0,
    "seasonal": 5.0,
    "seasonal_weekly": 5.0,
    "iforest": 0.7,
}

_MIN_SEASONAL_SPAN_S: Final = 4 * 86400
_MIN_WEEKLY_SPAN_S: Final = 21 * 86400  # one week fills the buckets, two more to see the pattern
_MIN_DAILY_SHARE: Final = 0.5  # the seasonal baseline warms up slowly and does not follow level shifts: only
# for series whose daily profile dominates (0.3 picked it for traffic series on nab-dev and cost 26
# points of NAB score there, docs/detection.md)
# Weekday x hour must explain this much more of the variance than hour alone (our choice: a weekly
# pattern such as quiet weekends of city traffic typically adds 0.1-0.3; noise adds ~168/n).
_MIN_WEEKLY_GAIN: Final = 0.05
_EPOCH_WEEKDAY: Final = 3  # 1970-01-01 was a Thursday


def median_interval(timestamps: FloatArray) -> float:
    d = np.diff(np.asarray(timestamps, dtype=np.float64))
    d = d[d > 0]
    return float(np.median(d)) if d.size else 60.0


def make_detector(
    method: str = DEFAULT_METHOD,
    threshold: float | None = None,
    *,
    interval_s: float = 60.0,
    max_skip: int = 60,
) -> StreamingDetector:
    """A streaming detector for ``method``; ``interval_s`` sizes the seasonal buckets.

    ``adaptive`` (the default) learns every point, so ``threshold`` only turns its scores into alarms
    (see ``registry``); the other methods are filtered: points above ``threshold`` are not learned.
    """
    if method not in DEFAULT_THRESHOLDS or method == "iforest":
        raise ValueError(f"unknown streaming method {method!r}; expected one of {', '.join(STREAMING_METHODS)}")
    if method == "adaptive":
        return registry.default_detector()
    thr = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    if method == "robust_z":
        return AnomalyFilter(RobustZScore(window=60), thr, max_skip=max_skip)
    if method == "ewma":
        return AnomalyFilter(EWMA(alpha=0.05, min_periods=30), thr, max_skip=max_skip)
    # seasonal: one day's worth of values per hourly bucket, at least 10 and at most 240 (our choice).
    per_bucket = int(np.clip(round(3600 / max(interval_s, 1.0)), 10, 240))
    weekly = method == "seasonal_weekly"
    return AnomalyFilter(
        SeasonalBaseline(bucket_s=3600, weekly=weekly, per_bucket=per_bucket), thr, max_skip=max_skip
    )


def _share(groups: np.ndarray, x: FloatArray, k: int) -> float:
    total = float(np.var(x))
    if total == 0.0:
        return 0.0
    sums = np.bincount(groups, weights=x, minlength=k)
    counts = np.bincount(groups, minlength=k)
    means = np.divide(sums, counts, out=np.zeros(k), where=counts > 0)
    return float(np.var(means[groups]) / total)


def daily_share(timestamps: FloatArray, values: FloatArray) -> float:
    """Share of the variance explained by the hour-of-day means (0..1)."""
    x = np.asarray(values, dtype=np.float64)
    hour = (np.floor(np.asarray(timestamps, dtype=np.float64)).astype(np.int64) % 86400) // 3600
    return _share(hour, x, 24)


def weekly_share(timestamps: FloatArray, values: FloatArray) -> float:
    """Share of the variance explained by the weekday x hour-of-day means (0..1)."""
    x = np.asarray(values, dtype=np.float64)
    sec = np.floor(np.asarray(timestamps, dtype=np.float64)).astype(np.int64)
    slot = ((sec // 86400 + _EPOCH_WEEKDAY) % 7) * 24 + (sec % 86400) // 3600
    return _share(slot, x, 168)


def choose_method(timestamps: FloatArray, values: FloatArray) -> str:
    """``seasonal`` if the series spans at least 4 days and hour-of-day explains >= 50 % of its
    variance; ``seasonal_weekly`` if it also spans 3 weeks and weekday x hour explains clearly more
    than hour alone (quiet weekends); else ``adaptive`` (calibrated on real labelled series)."""
    t = np.asarray(timestamps, dtype=np.float64)
    if t.size < 2 or float(t[-1] - t[0]) < _MIN_SEASONAL_SPAN_S:
        return DEFAULT_METHOD
    daily = daily_share(t, values)
    weekly = weekly_share(t, values) if float(t[-1] - t[0]) >= _MIN_WEEKLY_SPAN_S else 0.0
    if weekly >= _MIN_DAILY_SHARE and weekly - daily >= _MIN_WEEKLY_GAIN:
        return "seasonal_weekly"
    return "seasonal" if daily >= _MIN_DAILY_SHARE else DEFAULT_METHOD

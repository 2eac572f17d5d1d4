"""Median / MAD helpers shared by the robust z-score and the seasonal baseline."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ghgwatch.alerts.detectors.base import FloatArray

# 1.4826 = 1/Phi^-1(3/4) makes the MAD a consistent estimator of sigma for normal data;
# 1.2533 = sqrt(pi/2) does the same for the mean absolute deviation (Iglewicz & Hoaglin 1993, used
# as the fallback when more than half the window has the same value and the MAD is 0).
MAD_TO_SIGMA = 1.4826
MEANAD_TO_SIGMA = 1.2533


def scale_floor(center: float | FloatArray, min_scale: float) -> float | FloatArray:
    """Smallest spread used, so a constant series never divides by zero."""
    return np.maximum(min_scale, 1e-9 * np.abs(center))


def robust_stats_py(window: list[float], min_scale: float) -> tuple[float, float]:
    """Median and robust sigma of a window, pure Python (the reference for the vectorised path)."""
    s = sorted(window)
    n = len(s)
    med = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    dev = sorted(abs(v - med) for v in s)
    mad = dev[n // 2] if n % 2 else 0.5 * (dev[n // 2 - 1] + dev[n // 2])
    scale = MAD_TO_SIGMA * mad
    if scale == 0.0:
        scale = MEANAD_TO_SIGMA * (sum(dev) / n)
    return med, max(scale, float(scale_floor(med, min_scale)))


def robust_scores(
    history: FloatArray, x: FloatArray, learned: FloatArray | np.ndarray, window: int, min_scale: float
) -> FloatArray:
    """Robust z-scores of ``x`` against the last ``window`` learned values before each point.

    ``history`` holds the values learned before the block (only its last ``window`` matter);
    ``learned`` marks the block's points that are learned. Points with fewer than ``window`` learned
    values before them score 0 (warm-up).
    """
    lrn = np.asarray(learned, dtype=np.bool_)
    c = np.concatenate((history[-window:], x[lrn]))
    before = history[-window:].shape[0] + np.cumsum(lrn) - lrn
    out = np.zeros(x.shape[0], dtype=np.float64)
    valid = before >= window
    if not valid.any():
        return out
    rows = before[valid] - window
    uniq, inv = np.unique(rows, return_inverse=True)
    win = sliding_window_view(c, window)[uniq]
    med = np.median(win, axis=1)
    dev = np.abs(win - med[:, None])
    scale = MAD_TO_SIGMA * np.median(dev, axis=1)
    zero = scale == 0.0
    if zero.any():
        scale[zero] = MEANAD_TO_SIGMA * dev[zero].mean(axis=1)
    scale = np.maximum(scale, scale_floor(med, min_scale))
    out[valid] = np.abs(x[valid] - med[inv]) / scale[inv]
    return out

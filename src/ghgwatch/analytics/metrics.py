"""Point and interval accuracy measures (Hyndman & Koehler 2006 for MASE and sMAPE)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=float)
    b = np.asarray(y_pred, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    return a, b


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute percentage error, in percent; points where the actual is 0 are left out (NaN if all)."""
    a, b = _pair(y_true, y_pred)
    ok = a != 0
    if not ok.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs((a[ok] - b[ok]) / a[ok])))


def smape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Symmetric MAPE in percent (0-200); a point where both values are 0 counts as 0."""
    a, b = _pair(y_true, y_pred)
    denom = np.abs(a) + np.abs(b)
    terms = np.divide(2.0 * np.abs(a - b), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * np.mean(terms))


def mase_scale(y_train: ArrayLike, m: int = 1) -> float:
    """In-sample MAE of the seasonal-naive forecast with period ``m`` (the MASE denominator)."""
    y = np.asarray(y_train, dtype=float)
    if len(y) <= m:
        m = 1
    if len(y) < 2:
        return float("nan")
    d = np.abs(y[m:] - y[:-m])
    return float(np.nanmean(d))


def mase(y_true: ArrayLike, y_pred: ArrayLike, y_train: ArrayLike, m: int = 1) -> float:
    """Mean absolute scaled error: MAE divided by :func:`mase_scale` of the training series."""
    scale = mase_scale(y_train, m)
    if not np.isfinite(scale) or scale == 0:
        return float("nan")
    return mae(y_true, y_pred) / scale


def coverage(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of actual values inside ``[lower, upper]``."""
    a, lo = _pair(y_true, lower)
    _, hi = _pair(y_true, upper)
    return float(np.mean((a >= lo) & (a <= hi)))


def winkler(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike, level: float) -> float:
    """Mean interval (Winkler) score of a central ``level`` interval: width plus ``2 / alpha`` times
    the distance by which the actual falls outside (Winkler 1972; Gneiting and Raftery 2007, eq. 43).
    Lower is better; it rewards narrow intervals and penalises misses."""
    a, lo = _pair(y_true, lower)
    _, hi = _pair(y_true, upper)
    alpha = 1.0 - level
    if not 0.0 < alpha < 1.0:
        raise ValueError("level must be between 0 and 1")
    miss = np.maximum(lo - a, 0.0) + np.maximum(a - hi, 0.0)
    return float(np.mean(hi - lo + 2.0 / alpha * miss))

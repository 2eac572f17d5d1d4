"""Drift of model inputs (PSI, two-sample KS) and tracking of forecast errors after deployment."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


def psi(expected: npt.ArrayLike, actual: npt.ArrayLike, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` on the decile bins of ``expected``.

    PSI = sum((a_i - e_i) ln(a_i / e_i)) over bin shares (Siddiqi 2006, ch. 8); common reading:
    < 0.1 stable, 0.1-0.25 some shift, > 0.25 major shift. Empty bins get share ``eps``.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e, a = e[np.isfinite(e)], a[np.isfinite(a)]
    if len(e) == 0 or len(a) == 0:
        return float("nan")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([e[0] - 0.5, e[0] + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    es = np.histogram(e, edges)[0] / len(e)
    as_ = np.histogram(a, edges)[0] / len(a)
    es, as_ = np.maximum(es, eps), np.maximum(as_, eps)
    return float(np.sum((as_ - es) * np.log(as_ / es)))


def ks_test(expected: npt.ArrayLike, actual: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (scipy.stats.ks_2samp)."""
    from scipy import stats

    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    res = stats.ks_2samp(e[np.isfinite(e)], a[np.isfinite(a)])
    return float(res.statistic), float(res.pvalue)


def drift_report(
    train: pd.DataFrame, recent: pd.DataFrame, *, psi_threshold: float = 0.25, alpha: float = 0.01
) -> dict[str, dict[str, Any]]:
    """PSI and KS per numeric column shared by both windows; ``drift`` when PSI or KS says so."""
    out: dict[str, dict[str, Any]] = {}
    for col in train.columns:
        if col not in recent.columns or not pd.api.types.is_numeric_dtype(train[col]):
            continue
        p = psi(train[col], recent[col])
        stat, pvalue = ks_test(train[col], recent[col])
        out[str(col)] = {
            "psi": p,
            "ks": stat,
            "ks_p": pvalue,
            "drift": bool(p > psi_threshold or pvalue < alpha),
        }
    return out


class RollingErrorTracker:
    """Absolute errors of the last ``window`` forecasts, compared with the error at validation time.

    ``degraded`` is true once the window is full and its MAE exceeds ``ratio`` times ``baseline_mae``.
    """

    def __init__(self, baseline_mae: float, window: int = 100, ratio: float = 1.5) -> None:
        self.baseline_mae = baseline_mae
        self.window = window
        self.ratio = ratio
        self._errors: deque[float] = deque(maxlen=window)

    def update(self, y_true: float, y_pred: float) -> None:
        if np.isfinite(y_true) and np.isfinite(y_pred):
            self._errors.append(abs(float(y_true) - float(y_pred)))

    @property
    def count(self) -> int:
        return len(self._errors)

    @property
    def mae(self) -> float:
        return float(np.mean(self._errors)) if self._errors else float("nan")

    @property
    def degraded(self) -> bool:
        return self.count == self.window and self.mae > self.ratio * self.baseline_mae

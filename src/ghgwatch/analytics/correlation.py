"""Correlation of a target with every other numeric column: Pearson, Spearman, Kendall and best lag."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _pearson_at(target: np.ndarray, x: np.ndarray, lag: int) -> tuple[float, int]:
    """Pearson r of ``target[t]`` with ``x[t - lag]`` over pairs where both are known."""
    if lag > 0:
        a, b = target[lag:], x[:-lag]
    elif lag < 0:
        a, b = target[:lag], x[-lag:]
    else:
        a, b = target, x
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan"), int(ok.sum())
    a, b = a[ok], b[ok]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return float("nan"), int(ok.sum())
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb)), int(ok.sum())


def _three(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from scipy import stats

    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    out: dict[str, float] = {"n": float(len(a))}
    constant = len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0
    for name, fn in (
        ("pearson", stats.pearsonr),
        ("spearman", stats.spearmanr),
        ("kendall", stats.kendalltau),
    ):
        if constant:
            out[name], out[f"{name}_p"] = float("nan"), float("nan")
            continue
        res = fn(a, b)
        out[name], out[f"{name}_p"] = float(res.statistic), float(res.pvalue)
    return out


def shifted(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` delayed by ``lag`` steps (``out[t] = x[t - lag]``), NaN-padded."""
    out = np.full(len(x), np.nan)
    if lag > 0:
        out[lag:] = x[:-lag]
    elif lag < 0:
        out[:lag] = x[-lag:]
    else:
        out[:] = x
    return out


def correlate(table: pd.DataFrame, target: str, max_lag: int = 0) -> dict[str, Any]:
    """Correlations of ``target`` with each other numeric column, at lag 0 and at the best lag.

    A positive lag ``k`` means the column *leads* the target: ``target[t]`` is compared with
    ``column[t - k]``. The best lag maximises ``|Pearson r|`` over ``-max_lag..max_lag``; all three
    coefficients and their p-values (scipy.stats; two-sided) are then reported at that lag. p-values
    assume independent pairs, so for autocorrelated series they are optimistic.
    """
    if target not in table.columns:
        raise KeyError(target)
    y = table[target].to_numpy(dtype=float)
    results: list[dict[str, Any]] = []
    for col in table.columns:
        if col == target or not pd.api.types.is_numeric_dtype(table[col]):
            continue
        x = table[col].to_numpy(dtype=float)
        row: dict[str, Any] = {"column": col, **_three(y, x)}
        best_lag, best_r = 0, float("nan")
        for lag in range(-max_lag, max_lag + 1):
            r, _ = _pearson_at(y, x, lag)
            if np.isfinite(r) and (not np.isfinite(best_r) or abs(r) > abs(best_r) + 1e-12):
                best_lag, best_r = lag, r
        at_best = _three(y, shifted(x, best_lag))
        row["best_lag"] = best_lag
        row["best"] = {k: v for k, v in at_best.items()}
        results.append(row)
    results.sort(key=lambda r: -abs(r["best"]["pearson"]) if np.isfinite(r["best"]["pearson"]) else 0.0)
    return {
        "target": target,
        "max_lag": max_lag,
        "lag_convention": "column leads target by lag",
        "columns": results,
    }

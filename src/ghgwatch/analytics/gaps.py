"""Gap filling (mean, interpolation, global regression, KNN local-global) and its evaluation.

Every method takes a table with the series in ``column`` and optional other numeric columns, and returns
the series with its gaps (NaN) filled; :func:`fill_gaps` adds the ``filled`` flag and the ``method``.
The KNN local-global method is described in :func:`knn_fill` and in ``docs/analytics.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ghgwatch.analytics import metrics
from ghgwatch.analytics._frequency import candidate_periods, infer_frequency, primary_period

GAP_METHODS: tuple[str, ...] = ("mean", "interpolate", "regression", "knn")
_ALL_METHODS = (*GAP_METHODS, "nearest")


def _positions(table: pd.DataFrame) -> np.ndarray:
    if isinstance(table.index, pd.DatetimeIndex):
        ns = table.index.as_unit("ns").asi8
        return np.asarray((ns - ns[0]) / 1e9, dtype=float)
    return np.arange(len(table), dtype=float)


def _observed(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    y = table[column].to_numpy(dtype=float)
    ok = np.isfinite(y)
    if not ok.any():
        raise ValueError(f"column {column!r} has no known values to fill from")
    return y, ok


def mean_fill(table: pd.DataFrame, column: str = "value") -> np.ndarray:
    """Replace each gap by the mean of the known values (exact on a constant series)."""
    y, ok = _observed(table, column)
    return np.where(ok, y, y[ok].mean())


def interpolate_fill(table: pd.DataFrame, column: str = "value", kind: str = "linear") -> np.ndarray:
    """Linear (in time) or nearest-known-value interpolation; edges take the nearest known value."""
    y, ok = _observed(table, column)
    t = _positions(table)
    if kind == "linear":
        return np.where(ok, y, np.interp(t, t[ok], y[ok]))
    if kind != "nearest":
        raise ValueError(f"unknown interpolation {kind!r}")
    tk, yk = t[ok], y[ok]
    right = np.clip(np.searchsorted(tk, t), 0, len(tk) - 1)
    left = np.clip(right - 1, 0, len(tk) - 1)
    pick = np.where(np.abs(t - tk[left]) <= np.abs(tk[right] - t), left, right)
    return np.where(ok, y, yk[pick])


def _predictors(table: pd.DataFrame, column: str) -> tuple[np.ndarray, bool]:
    """Other numeric columns (their own gaps linearly interpolated) or, without any, time features."""
    t = _positions(table)
    cols = []
    for other in table.columns:
        if other == column or not pd.api.types.is_numeric_dtype(table[other]):
            continue
        x = table[other].to_numpy(dtype=float)
        known = np.isfinite(x)
        if known.sum() >= 2:
            cols.append(np.where(known, x, np.interp(t, t[known], x[known])))
    if cols:
        return np.column_stack(cols), True
    steps = np.arange(len(table), dtype=float)
    feats = [steps / max(len(table), 1)]
    if isinstance(table.index, pd.DatetimeIndex) and len(table) >= 3:
        freq = infer_frequency(table.index)
        steps = t / freq.step.total_seconds()
        for p in candidate_periods(freq.step, len(table)):
            for k in range(1, min(3, int(p // 2)) + 1):
                feats += [np.sin(2 * np.pi * k * steps / p), np.cos(2 * np.pi * k * steps / p)]
    return np.column_stack(feats), False


def regression_fill(table: pd.DataFrame, column: str = "value") -> np.ndarray:
    """Global least-squares regression on the other columns (or on trend and Fourier time terms).

    Exact when the series is an exact linear function of the other columns.
    """
    from sklearn.linear_model import LinearRegression

    y, ok = _observed(table, column)
    X, _ = _predictors(table, column)
    model = LinearRegression().fit(X[ok], y[ok])
    return np.where(ok, y, model.predict(X))


def knn_fill(
    table: pd.DataFrame, column: str = "value", n_neighbors: int = 5, neighbourhood: float = 12.0
) -> np.ndarray:
    """KNN local-global method: a global regression plus a KNN correction of its residuals.

    Global part: :func:`regression_fill`'s model. Local part: a distance-weighted k-nearest-neighbours
    regression of the global model's residuals on the standardised other columns, the time position in
    units of ``neighbourhood`` steps and (univariate series) the phase of the main season. A gap thus gets
    the global relation corrected by the residuals of the known values nearest in time and most alike in
    the other series, so local level shifts that the global model misses are restored.
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.neighbors import KNeighborsRegressor

    y, ok = _observed(table, column)
    X, multivariate = _predictors(table, column)
    glob = LinearRegression().fit(X[ok], y[ok])
    base = glob.predict(X)
    resid = y - base
    feats = [np.arange(len(y), dtype=float) / neighbourhood]
    if multivariate:
        sd = X.std(axis=0)
        feats += list(((X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)).T)
    elif isinstance(table.index, pd.DatetimeIndex) and len(y) >= 3:
        freq = infer_frequency(table.index)
        m = primary_period(np.where(ok, y, np.nanmean(y)), candidate_periods(freq.step, len(y)))
        if m > 1:
            phase = 2 * np.pi * np.arange(len(y)) / m
            feats += [np.sin(phase), np.cos(phase)]
    Z = np.column_stack(feats)
    k = max(1, min(n_neighbors, int(ok.sum())))
    knn = KNeighborsRegressor(n_neighbors=k, weights="distance").fit(Z[ok], resid[ok])
    return np.where(ok, y, base + knn.predict(Z))


_FILLERS: dict[str, Callable[[pd.DataFrame, str], np.ndarray]] = {
    "mean": mean_fill,
    "interpolate": interpolate_fill,
    "nearest": lambda tb, c: interpolate_fill(tb, c, kind="nearest"),
    "regression": regression_fill,
    "knn": knn_fill,
}


def fill_values(table: pd.DataFrame, method: str, column: str = "value") -> np.ndarray:
    if method not in _FILLERS:
        raise ValueError(f"unknown gap-filling method {method!r}; expected one of {', '.join(_ALL_METHODS)}")
    return _FILLERS[method](table, column)


def hide_mask(observed: np.ndarray, fraction: float, block_length: int, rng: np.random.Generator) -> np.ndarray:
    """Choose known values to hide: non-overlapping blocks of ``block_length`` fully known values."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must be between 0 and 1")
    if block_length < 1:
        raise ValueError("block length must be at least 1")
    n = len(observed)
    target = max(block_length, round(fraction * observed.sum()))
    run = np.convolve(observed.astype(int), np.ones(block_length, dtype=int), mode="valid")
    starts = rng.permutation(np.flatnonzero(run == block_length))
    hidden = np.zeros(n, dtype=bool)
    for s in starts:
        if hidden.sum() >= target:
            break
        if not hidden[max(0, s - 1) : s + block_length + 1].any():
            hidden[s : s + block_length] = True
    if not hidden.any() or observed.sum() - hidden.sum() < 2:
        raise ValueError("too few known values to hide some and still fill from the rest")
    return hidden


def evaluate_gaps(
    table: pd.DataFrame,
    column: str = "value",
    *,
    fraction: float = 0.1,
    block_length: int = 1,
    seed: int = 1,
    methods: tuple[str, ...] = GAP_METHODS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Hide known values at random, fill with each method and report MAE, RMSE and MAPE on them."""
    y, ok = _observed(table, column)
    hidden = hide_mask(ok, fraction, block_length, np.random.default_rng(seed))
    masked = table.copy()
    masked[column] = np.where(hidden, np.nan, y)
    scores: dict[str, dict[str, float]] = {}
    for method in methods:
        if progress is not None:
            progress(method)
        pred = fill_values(masked, method, column)[hidden]
        true = y[hidden]
        scores[method] = {
            "mae": metrics.mae(true, pred),
            "rmse": metrics.rmse(true, pred),
            "mape": metrics.mape(true, pred),
        }
    best = min(scores, key=lambda m: scores[m]["mae"])
    return {
        "column": column,
        "fraction": fraction,
        "block_length": block_length,
        "seed": seed,
        "n_known": int(ok.sum()),
        "n_hidden": int(hidden.sum()),
        "methods": scores,
        "best": best,
    }


def fill_gaps(
    table: pd.DataFrame,
    method: str = "auto",
    column: str = "value",
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Fill ``column``: returns ``value``, ``filled`` (0/1) and ``method`` ("" for original values).

    ``auto`` evaluates the four methods on 10 % of the known values hidden as single points and uses the
    one with the smallest MAE (recorded in ``result.attrs["evaluation"]``).
    """
    attrs: dict[str, Any] = {}
    if method == "auto":
        report = evaluate_gaps(table, column, fraction=0.1, block_length=1, seed=seed, progress=progress)
        method = str(report["best"])
        attrs["evaluation"] = report
    y = table[column].to_numpy(dtype=float)
    gaps = ~np.isfinite(y)
    values = fill_values(table, method, column)
    if progress is not None and "evaluation" not in attrs:
        progress(method)
    out = pd.DataFrame(
        {"value": values, "filled": gaps.astype(int), "method": np.where(gaps, method, "")}, index=table.index
    )
    out.attrs.update(attrs, chosen=method)
    return out

"""Rolling-origin backtest of the univariate forecasters and automatic model choice by MASE."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ghgwatch.analytics import metrics
from ghgwatch.analytics._base import as_values
from ghgwatch.analytics._frequency import candidate_periods, infer_frequency, primary_period
from ghgwatch.analytics.forecast import MODEL_NAMES, make_forecaster

Progress = Callable[[str], None]
Bounds = tuple[float | None, float | None]
# Recalibration needs enough backtest errors to estimate a 90 % quantile (our choice: 20 gives the
# ceil((n + 1) * 0.9) = 19th of 20, the smallest n where the quantile is not the largest error).
_MIN_CALIBRATION_ERRORS = 20


def non_negative_bounds(values: Any) -> Bounds:
    """``(0, None)`` for a series that was never negative (a concentration, a flow), else no bounds."""
    v = np.asarray(values, dtype=float)
    return (0.0, None) if v.size and float(np.nanmin(v)) >= 0 else (None, None)


def clip_bounds(frame: pd.DataFrame, bounds: Bounds) -> pd.DataFrame:
    """Clip ``forecast``, ``lower`` and ``upper`` to physical bounds (a concentration is never below 0,
    a percentage never above 100)."""
    low, high = bounds
    if low is None and high is None:
        return frame
    out = frame.copy()
    for col in ("forecast", "lower", "upper"):
        out[col] = out[col].clip(lower=low, upper=high)
    return out


@dataclass
class ModelScore:
    """Backtest accuracy of one model, averaged over folds (``folds`` keeps each fold)."""

    model: str
    mae: float
    smape: float
    mase: float
    coverage: float
    winkler: float = float("nan")
    folds: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    # |error| / interval half-width at each step of each fold: the conformity scores of the
    # recalibration in forecast_auto (not written to reports).
    ratios: list[float] = field(default_factory=list, repr=False)


@dataclass
class BacktestReport:
    horizon: int
    interval: float
    origins: list[int]
    season: int
    scores: dict[str, ModelScore]
    best: str | None
    calibration_factor: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for score in out["scores"].values():
            score.pop("ratios", None)
        out["interval_method"] = (
            "split conformal, horizon-specific absolute residual quantiles, rescaled by the conformal "
            "quantile of |error| / half-width over the backtest folds (calibration_factor)"
        )
        return out


def fold_origins(n: int, horizon: int, n_folds: int, step: int | None = None) -> list[int]:
    """Forecast origins (first index of each test window); the last window ends at the last value."""
    step = step or horizon
    origins = [n - horizon - k * step for k in range(n_folds)]
    return sorted(o for o in origins if o > 0)


def backtest(
    y: Any,
    horizon: int,
    models: Sequence[str] = MODEL_NAMES,
    *,
    n_folds: int = 3,
    step: int | None = None,
    interval: float = 0.9,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
    bounds: Bounds = (None, None),
) -> BacktestReport:
    """Refit each model on an expanding window ending at each origin and score the next ``horizon`` steps.

    MASE is scaled by the in-sample seasonal-naive MAE of each fold's training part, with one season for
    all models (the strongest candidate period of the whole series) so that the scores are comparable.
    A model that cannot be fitted on a fold (series too short) gets an ``error`` and NaN scores.
    """
    values, index = as_values(y)
    n = len(values)
    periods = candidate_periods(infer_frequency(index).step, n) if index is not None else []
    season = primary_period(values, periods)
    origins = fold_origins(n, horizon, n_folds, step)
    if not origins:
        raise ValueError(f"series too short for a backtest with horizon {horizon}: {n} values")
    scores: dict[str, ModelScore] = {}
    for name in models:
        folds: list[dict[str, float]] = []
        ratios: list[float] = []
        error: str | None = None
        for origin in origins:
            if progress is not None:
                progress(f"{name} @ {origin}")
            train = pd.Series(values[:origin], index=index[:origin] if index is not None else None)
            actual = values[origin : origin + horizon]
            try:
                model = make_forecaster(name, interval=interval, max_horizon=horizon, **(params or {}))
                fc = model.fit(train).predict(horizon)
            except ValueError as exc:
                error = str(exc)
                break
            half = ((fc["upper"] - fc["lower"]) / 2).to_numpy()
            err = np.abs(actual - fc["forecast"].to_numpy())
            ratios.extend(np.divide(err, half, out=np.where(err > 0, np.inf, 0.0), where=half > 0).tolist())
            f, lo, hi = (clip_bounds(fc, bounds)[c].to_numpy() for c in ("forecast", "lower", "upper"))
            folds.append(
                {
                    "origin": float(origin),
                    "mae": metrics.mae(actual, f),
                    "smape": metrics.smape(actual, f),
                    "mase": metrics.mase(actual, f, values[:origin], season),
                    "coverage": metrics.coverage(actual, lo, hi),
                    "winkler": metrics.winkler(actual, lo, hi, interval),
                }
            )
        if error is not None or not folds:
            nan = float("nan")
            scores[name] = ModelScore(name, nan, nan, nan, nan, folds=[], error=error)
            continue
        keys = ("mae", "smape", "mase", "coverage", "winkler")
        mean = {k: float(np.mean([fd[k] for fd in folds])) for k in keys}
        scores[name] = ModelScore(
            name, mean["mae"], mean["smape"], mean["mase"], mean["coverage"], mean["winkler"], folds, None, ratios
        )
    ranked = [s for s in scores.values() if np.isfinite(s.mase)]
    best = min(ranked, key=lambda s: s.mase).model if ranked else None
    return BacktestReport(horizon, interval, origins, season, scores, best)


def forecast_auto(
    y: Any,
    horizon: int,
    *,
    method: str = "auto",
    interval: float = 0.9,
    n_folds: int = 3,
    params: dict[str, Any] | None = None,
    with_backtest: bool = False,
    progress: Progress | None = None,
    bounds: Bounds = (None, None),
    recalibrate: bool = False,
) -> tuple[pd.DataFrame, str, BacktestReport | None]:
    """Forecast with the named model, or with the best one by backtest MASE when ``method="auto"``.

    Returns the forecast frame, the model used and the backtest (``None`` when none was run). With a
    named model and ``with_backtest``, the naive baseline is backtested alongside it for comparison.
    The naive forecast is always a candidate of ``auto``, so it never promotes a model that its
    backtest shows worse than naive.

    Intervals: the model's own split-conformal half-widths (``_base``), from a model fitted on the
    first 80 % of the series. With ``recalibrate`` (and a backtest), they are rescaled by the conformal
    quantile of |error| / half-width over the backtest folds; measured on held-out real series this
    under-covers (90 % -> 84 % with 3 folds, 86 % with 10) where the plain intervals cover 95 %
    (benchmarks/forecast_intervals.py, docs/analytics.md), so it is off by default. Forecast and
    bounds are then clipped to ``bounds``.
    """
    report: BacktestReport | None = None
    name = method
    if method == "auto" or with_backtest:
        models = MODEL_NAMES if method == "auto" else tuple(dict.fromkeys([method, "naive"]))
        report = backtest(
            y, horizon, models, n_folds=n_folds, interval=interval, params=params, progress=progress, bounds=bounds
        )
        if method == "auto":
            if report.best is None:
                raise ValueError("no model could be backtested on this series; it is too short")
            name = report.best
    if progress is not None:
        progress(f"fit {name}")
    model = make_forecaster(name, interval=interval, max_horizon=horizon, **(params or {}))
    fc = model.fit(y).predict(horizon)
    if recalibrate and report is not None and name in report.scores:
        ratios = np.sort(np.asarray(report.scores[name].ratios, dtype=float))
        if ratios.size >= _MIN_CALIBRATION_ERRORS:
            # Conformal quantile (Lei et al. 2018, eq. 5); an infinite ratio (a zero-width interval
            # missed) is kept, and then nothing can be rescaled.
            factor = float(ratios[min(ratios.size, math.ceil((ratios.size + 1) * interval)) - 1])
            if np.isfinite(factor):
                half = (fc["upper"] - fc["lower"]) / 2
                fc["lower"], fc["upper"] = fc["forecast"] - factor * half, fc["forecast"] + factor * half
                report.calibration_factor = factor
    return clip_bounds(fc, bounds), name, report

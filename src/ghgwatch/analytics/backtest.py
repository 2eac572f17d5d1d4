"""Rolling-origin backtest of the univariate forecasters and automatic model choice by MASE."""

from __future__ import annotations

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


@dataclass
class ModelScore:
    """Backtest accuracy of one model, averaged over folds (``folds`` keeps each fold)."""

    model: str
    mae: float
    smape: float
    mase: float
    coverage: float
    folds: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None


@dataclass
class BacktestReport:
    horizon: int
    interval: float
    origins: list[int]
    season: int
    scores: dict[str, ModelScore]
    best: str | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["interval_method"] = "split conformal, horizon-specific absolute residual quantiles"
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
            f, lo, hi = (fc[c].to_numpy() for c in ("forecast", "lower", "upper"))
            folds.append(
                {
                    "origin": float(origin),
                    "mae": metrics.mae(actual, f),
                    "smape": metrics.smape(actual, f),
                    "mase": metrics.mase(actual, f, values[:origin], season),
                    "coverage": metrics.coverage(actual, lo, hi),
                }
            )
        if error is not None or not folds:
            nan = float("nan")
            scores[name] = ModelScore(name, nan, nan, nan, nan, folds=[], error=error)
            continue
        mean = {k: float(np.mean([fd[k] for fd in folds])) for k in ("mae", "smape", "mase", "coverage")}
        scores[name] = ModelScore(name, mean["mae"], mean["smape"], mean["mase"], mean["coverage"], folds=folds)
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
) -> tuple[pd.DataFrame, str, BacktestReport | None]:
    """Forecast with the named model, or with the best one by backtest MASE when ``method="auto"``.

    Returns the forecast frame, the model used and the backtest (``None`` when none was run). With a
    named model and ``with_backtest``, the naive baseline is backtested alongside it for comparison.
    """
    report: BacktestReport | None = None
    name = method
    if method == "auto" or with_backtest:
        models = MODEL_NAMES if method == "auto" else tuple(dict.fromkeys([method, "naive"]))
        report = backtest(y, horizon, models, n_folds=n_folds, interval=interval, params=params, progress=progress)
        if method == "auto":
            if report.best is None:
                raise ValueError("no model could be backtested on this series; it is too short")
            name = report.best
    if progress is not None:
        progress(f"fit {name}")
    model = make_forecaster(name, interval=interval, max_horizon=horizon, **(params or {}))
    return model.fit(y).predict(horizon), name, report

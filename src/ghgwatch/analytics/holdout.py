"""Held-out evaluation of the forecasters and of the ``auto`` choice on a real series.

At each cut, every model is fitted on the values before the cut and scored on the next ``horizon``
values it never saw; ``auto`` is scored as ``forecast_auto`` would choose at that cut (a 3-fold
backtest of all models on the training part, the smallest MASE wins). Used by
``benchmarks/backtest_real.py`` and its test; the figures are in ``docs/analytics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ghgwatch.analytics import metrics
from ghgwatch.analytics._frequency import candidate_periods, infer_frequency, primary_period
from ghgwatch.analytics.backtest import Bounds, backtest, clip_bounds
from ghgwatch.analytics.forecast import MODEL_NAMES, make_forecaster


@dataclass(frozen=True)
class HeldOut:
    """Scores of one model's forecast from one cut on the ``horizon`` values after it.

    ``mase``: MAE scaled by the in-sample MAE of the seasonal-naive forecast of the training part
    (Hyndman and Koehler 2006); ``rel_naive`` and ``rel_snaive``: MAE divided by the MAE of the plain
    naive (last value) and of the seasonal-naive forecast at the same cut (below 1: better).
    """

    cut: int
    model: str
    mae: float
    mase: float
    rel_naive: float
    rel_snaive: float
    coverage: float
    winkler: float
    backtest_mase: float = float("nan")
    chosen: str = ""


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def evaluate_cuts(
    y: pd.Series,
    horizon: int,
    cuts: list[int],
    *,
    level: float = 0.9,
    n_folds: int = 3,
    bounds: Bounds = (None, None),
    models: tuple[str, ...] = MODEL_NAMES,
) -> list[HeldOut]:
    """One :class:`HeldOut` per model and cut, plus one named ``auto`` per cut: the chosen model's
    scores, with ``chosen`` naming it (``backtest_mase``: each model's mean MASE in that backtest)."""
    out: list[HeldOut] = []
    for cut in cuts:
        train, actual = y.iloc[:cut], y.iloc[cut : cut + horizon].to_numpy(dtype=float)
        if len(actual) < horizon:
            raise ValueError(f"cut {cut} leaves fewer than {horizon} values to score")
        values = train.to_numpy(dtype=float)
        index = train.index if isinstance(train.index, pd.DatetimeIndex) else None
        periods = candidate_periods(infer_frequency(index).step, len(values)) if index is not None else []
        season = primary_period(values, periods)
        report = backtest(train, horizon, models, n_folds=n_folds, interval=level, bounds=bounds)
        naive_mae = metrics.mae(actual, np.full(horizon, values[-1]))
        rows: dict[str, HeldOut] = {}
        for name in models:
            fc = clip_bounds(make_forecaster(name, interval=level, max_horizon=horizon).fit(train).predict(horizon),
                             bounds)
            f, lo, hi = (fc[c].to_numpy() for c in ("forecast", "lower", "upper"))
            mae = metrics.mae(actual, f)
            rows[name] = HeldOut(
                cut, name, mae, metrics.mase(actual, f, values, season), _ratio(mae, naive_mae), float("nan"),
                metrics.coverage(actual, lo, hi), metrics.winkler(actual, lo, hi, level),
                report.scores[name].mase,
            )
        snaive_mae = rows["naive"].mae if "naive" in rows else float("nan")
        for name, row in rows.items():
            fixed = replace(row, rel_snaive=_ratio(row.mae, snaive_mae))
            rows[name] = fixed
            out.append(fixed)
        if report.best is not None:
            out.append(replace(rows[report.best], model="auto", chosen=report.best))
    return out


def summarise(rows: list[HeldOut]) -> dict[str, dict[str, Any]]:
    """Mean scores per model over the cuts (and, for ``auto``, how often each model was chosen)."""
    table: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r.model for r in rows):
        mine = [r for r in rows if r.model == name]
        keys = ("mae", "mase", "rel_naive", "rel_snaive", "coverage", "winkler")
        table[name] = {k: float(np.nanmean([getattr(r, k) for r in mine])) for k in keys}
        table[name]["forecasts"] = len(mine)
        if name == "auto":
            table[name]["chosen"] = {c: sum(r.chosen == c for r in mine) for c in dict.fromkeys(r.chosen for r in mine)}
    return table

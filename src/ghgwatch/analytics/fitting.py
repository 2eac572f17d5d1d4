"""CPU work of the analytics jobs (run in a worker thread): fit with backtest, stored-model inference, drift.

These functions are synchronous and touch no database; :mod:`ghgwatch.analytics.flows` loads the series,
calls them through ``asyncio.to_thread`` and stores the results.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ghgwatch.analytics._base import ConformalForecaster
from ghgwatch.analytics.backtest import backtest, clip_bounds, non_negative_bounds
from ghgwatch.analytics.drift import RollingErrorTracker, ks_test, psi
from ghgwatch.analytics.forecast import MODEL_NAMES, make_forecaster
from ghgwatch.observability import metrics

_M = TypeVar("_M")

Progress = Callable[[float, str], None]
_SCORES = ("mae", "smape", "mase", "coverage")


def finite(value: Any) -> float | None:
    """A float for JSON columns: NaN and infinities become ``None`` (JSONB refuses NaN)."""
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def clean(data: Any) -> Any:
    """Recursively replace non-finite floats by ``None`` and numpy scalars by Python ones."""
    if isinstance(data, dict):
        return {str(k): clean(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [clean(v) for v in data]
    if isinstance(data, np.generic):
        data = data.item()
    if isinstance(data, float):
        return finite(data)
    return data


@dataclass
class FitResult:
    method: str
    model: ConformalForecaster
    forecast: pd.DataFrame
    metrics: dict[str, Any]
    """Backtest scores of the chosen method (``mae``, ``smape``, ``mase``, ``coverage``) and, under
    ``models``, of every method backtested; empty when the series was too short for a backtest."""


def fit_forecaster(
    series: pd.Series,
    horizon: int,
    *,
    method: str = "auto",
    interval: float = 0.9,
    n_folds: int = 3,
    progress: Progress | None = None,
) -> FitResult:
    """Backtest (all methods for ``auto``, else the method and the naive baseline), fit, forecast.

    The same choice rule as :func:`ghgwatch.analytics.backtest.forecast_auto`, keeping the fitted model
    so that the registry can store it.
    """
    if method != "auto" and method not in MODEL_NAMES:
        raise ValueError(f"unknown method {method!r}; expected auto or one of {', '.join(MODEL_NAMES)}")
    models = MODEL_NAMES if method == "auto" else tuple(dict.fromkeys([method, "naive"]))
    total = len(models) * n_folds + 1
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done / total, 0.99), what)

    scores: dict[str, Any] = {}
    try:
        report = backtest(series, horizon, models, n_folds=n_folds, interval=interval, progress=step)
    except ValueError:
        if method == "auto":
            raise
        report = None
    chosen = method
    if report is not None:
        if method == "auto":
            if report.best is None:
                raise ValueError("no model could be backtested on this series; it is too short")
            chosen = report.best
        scores = {
            "horizon": horizon,
            "interval": interval,
            "season": report.season,
            "origins": report.origins,
            "models": {name: {k: getattr(s, k) for k in (*_SCORES, "error")} for name, s in report.scores.items()},
        }
        scores.update({k: getattr(report.scores[chosen], k) for k in _SCORES})
    step(f"fit {chosen}")
    model = make_forecaster(chosen, interval=interval, max_horizon=horizon).fit(series)
    started = time.perf_counter()
    forecast = clip_bounds(model.predict(horizon), non_negative_bounds(series))
    metrics.observe_inference(chosen, time.perf_counter() - started)
    return FitResult(chosen, model, forecast, clean(scores))


def dump_model(model: object) -> bytes:
    """A fitted model as a joblib artifact (kept in the model registry)."""
    import joblib  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def load_artifact(artifact: bytes, kind: type[_M], what: str) -> _M:
    """Unpickle an artifact the platform wrote itself with :func:`dump_model` (joblib files can run code: never
    load others'), refusing one that is not a ``kind``."""
    import joblib

    model = joblib.load(io.BytesIO(artifact))
    if not isinstance(model, kind):
        raise ValueError(f"the stored artifact is not {what}")
    return model


def load_model(artifact: bytes) -> ConformalForecaster:
    return load_artifact(artifact, ConformalForecaster, "a forecaster")


def predict_from(
    model: ConformalForecaster, method: str, values: np.ndarray, last: pd.Timestamp, step: pd.Timedelta,
    horizon: int, interval: float,
) -> pd.DataFrame:
    """Forecast ``horizon`` steps after ``values`` (which start where the training series started)."""
    if len(values) < model.n_train_:
        raise ValueError("the series is shorter than the model's training window")
    started = time.perf_counter()
    point = model.predict_paths(values, np.array([len(values)]), horizon)[0]
    metrics.observe_inference(method, time.perf_counter() - started)
    q = model.half_widths(horizon, interval)
    index = pd.DatetimeIndex([last + step * k for k in range(1, horizon + 1)], name="timestamp")
    frame = pd.DataFrame({"forecast": point, "lower": point - q, "upper": point + q}, index=index)
    return clip_bounds(frame, non_negative_bounds(values))  # a concentration is never below 0


def points(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Forecast rows as JSON-ready ``{ts, forecast, lower, upper}``."""
    return [
        {"ts": ts.isoformat(), "forecast": finite(r.forecast), "lower": finite(r.lower), "upper": finite(r.upper)}
        for ts, r in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]


def input_drift(train: np.ndarray, recent: np.ndarray, *, psi_threshold: float = 0.25,
                alpha: float = 0.01) -> dict[str, Any]:
    """PSI and KS of the model inputs: the value and its first difference (what the lags see).

    Same flag rule as :func:`ghgwatch.analytics.drift.drift_report` (PSI > 0.25 or KS p < 0.01), but PSI uses
    fewer than ten bins when the recent window is short: with no shift at all, PSI is about
    ``(bins - 1)(1/n + 1/m)`` (Yurdakul 2018, "Statistical properties of the population stability index"),
    0.2 for deciles of 60 recent values, close to the threshold. At least 20 recent values per bin keep
    that bias below 0.05 (``bins = clip(n_recent / 20, 2, 10)``).
    """
    out: dict[str, Any] = {}
    bins = int(np.clip(len(recent) // 20, 2, 10))
    base = (np.asarray(train, dtype=float), np.asarray(recent, dtype=float))
    for name, (a, b) in (("value", base), ("value_diff", (np.diff(base[0]), np.diff(base[1])))):
        p = psi(a, b, bins=bins)
        stat, pvalue = ks_test(a, b)
        out[name] = {"psi": p, "ks": stat, "ks_p": pvalue, "bins": bins,
                     "drift": bool(p > psi_threshold or pvalue < alpha)}
    report: dict[str, Any] = clean(out)
    return report


def error_drift(errors: list[tuple[float, float]], baseline_mae: float | None, window: int,
                ratio: float) -> tuple[float | None, bool]:
    """Rolling MAE of ``(actual, forecast)`` pairs in time order and whether it is degraded."""
    if not errors:
        return None, False
    tracker = RollingErrorTracker(baseline_mae if baseline_mae else float("inf"), window=min(window, len(errors)),
                                  ratio=ratio)
    for actual, forecast in errors:
        tracker.update(actual, forecast)
    return finite(tracker.mae), bool(baseline_mae) and tracker.degraded

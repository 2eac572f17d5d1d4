"""Benchmark of the univariate forecasters on one year of 1-minute data (525,600 points).

Series: 0.4 % CH4 level, a diurnal sine (amplitude 0.1), AR(1) noise (phi 0.95) and white noise,
seed 0. Each model is fitted (conformal calibration included, so two fits) on all but the last 7 days,
then forecasts ``--horizon`` minutes ahead from rolling origins every hour over those 7 days, without
refitting. Reported: median fit and predict (one path) times over ``--runs`` runs, MAE, MASE (scaled by
the in-sample seasonal-naive MAE with the diurnal period) and coverage of the 90 % intervals. GBDT trains
on 50,000 rows sampled at random from the ~516,000 training rows (``max_train_rows``).

Usage: ``.venv/bin/python benchmarks/analytics.py [--runs 3] [--horizon 60]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

from ghgwatch.analytics import metrics
from ghgwatch.analytics.forecast import MODEL_NAMES, make_forecaster

N = 525_600
DAY = 1440


def make_series(seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(N)
    e = rng.normal(0, 0.01, N)
    ar = np.empty(N)
    ar[0] = 0.0
    for i in range(1, N):  # AR(1) recursion; ~0.3 s
        ar[i] = 0.95 * ar[i - 1] + e[i]
    y = 0.4 + 0.1 * np.sin(2 * np.pi * t / DAY) + ar + rng.normal(0, 0.005, N)
    return pd.Series(y, index=pd.date_range("2024-01-01", periods=N, freq="min"), name="value")


def run_model(name: str, series: pd.Series, horizon: int, runs: int) -> dict[str, Any]:
    n_train = N - 7 * DAY
    train = series.iloc[:n_train]
    values = series.to_numpy()
    fit_times, predict_times = [], []
    model = None
    for _ in range(runs):
        model = make_forecaster(name, interval=0.9, max_horizon=horizon)
        t0 = time.perf_counter()
        model.fit(train)
        fit_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.predict(horizon)
        predict_times.append(time.perf_counter() - t0)
    assert model is not None
    origins = np.arange(n_train, N - horizon + 1, 60)
    paths = model.predict_paths(values, origins, horizon)
    actual = values[origins[:, None] + np.arange(horizon)]
    q = model.half_widths(horizon)
    return {
        "model": name,
        "fit_s": statistics.median(fit_times),
        "predict_s": statistics.median(predict_times),
        "mae": metrics.mae(actual, paths),
        "mase": metrics.mae(actual, paths) / metrics.mase_scale(values[:n_train], DAY),
        "coverage_90": metrics.coverage(actual, paths - q, paths + q),
        "origins": len(origins),
        "features": getattr(getattr(model, "spec_", None), "lags", None),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=60)
    args = parser.parse_args()
    t0 = time.perf_counter()
    series = make_series()
    print(f"generated {N} points in {time.perf_counter() - t0:.1f} s")
    results = []
    for name in MODEL_NAMES:
        res = run_model(name, series, args.horizon, args.runs)
        print(
            f"{name:7s} fit {res['fit_s']:7.2f} s  predict {res['predict_s'] * 1000:8.1f} ms  "
            f"MAE {res['mae']:.4f}  MASE {res['mase']:.3f}  coverage {res['coverage_90']:.3f}"
        )
        results.append(res)
    summary = {
        "benchmark": "analytics.forecast",
        "points": N,
        "step": "1min",
        "horizon": args.horizon,
        "runs": args.runs,
        "holdout_days": 7,
        "gbdt_max_train_rows": 50_000,
        "total_s": round(time.perf_counter() - t0, 1),
        "models": {r["model"]: {k: v for k, v in r.items() if k not in ("model", "features")} for r in results},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

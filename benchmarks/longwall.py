"""Accuracy of the longwall methane forecast on the demo mine (issue 14 item 5; docs/analytics.md).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/longwall.py [--days 4] [--methods linear] [--json out.json]``.

The demo mine's sensors (``ghgwatch.demo.seed``: the longwall's CH4 and air velocity, the drainage (gas-suction)
station's CH4, mixture flow and depression, the shaft's CH4, air flow, temperature and barometric pressure) are
simulated by ``ghgwatch.simulator`` as the demo backfill is (no scripted events, 1 % dropouts), one reading every
10 s, averaged per minute as the 1-minute rollups are. The forecast mapping's model (the platform's defaults: 24 h
window, 5 lags, 60 one-minute steps, 90 % split-conformal interval) is trained on one day and scored on the next
day, which it never saw, for ``--days - 1`` consecutive folds. Per forecast interval (10 ... 60 min ahead): mean
target, mean forecast, MAE against persistence (the naive forecast), mean and median absolute error %, share of
forecasts within 10 % of the target, coverage and mean width of the interval. Then an excerpt in the mine
platform's form: for one origin, the target, the forecast and the error % at each interval.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ghgwatch.analytics.multivariate import MultivariateForecaster  # noqa: E402
from ghgwatch.simulator.model import SiteModel  # noqa: E402
from ghgwatch.simulator.sensors import SensorSpec  # noqa: E402

STEPS = (10, 20, 30, 40, 50, 60)
TARGET = "ch4_longwall"
# (column, kind, unit, source, location): the demo mine's sensors (ghgwatch.demo.seed templates).
SENSORS = (
    (TARGET, "methane", "%", "Longwall 5-1", "longwall_outgoing"),
    ("air_velocity", "air_velocity", "m/s", "Longwall 5-1", None),
    ("suction_methane", "methane", "%", "Drainage station 1", "drainage_pipeline"),
    ("suction_mixture_flow", "gas_flow", "m3/min", "Drainage station 1", None),
    ("pressure_differential", "differential_pressure", "kPa", "Drainage station 1", None),
    ("ch4_shaft", "methane", "%", "Shaft 1", "mine_outgoing"),
    ("air_flow", "air_flow", "m3/min", "Shaft 1", None),
    ("temperature", "temperature", "degC", "Shaft 1", None),
    ("barometric_pressure", "pressure", "kPa", "Shaft 1", None),
)


def demo_mine_table(days: float, seed: int = 1, start: str = "2026-11-02") -> pd.DataFrame:
    """One-minute means of the demo mine's sensors over ``days``."""
    specs = [SensorSpec(i + 1, kind, unit, name, source, location)
             for i, (name, kind, unit, source, location) in enumerate(SENSORS)]
    t0 = pd.Timestamp(start, tz="UTC").timestamp()
    model = SiteModel(specs, seed=seed, start=t0)
    t = t0 + np.arange(0.0, days * 86_400.0, 10.0)
    index = pd.to_datetime(t, unit="s", utc=True)
    columns = {s.name: pd.Series(model.values(s.id, t), index=index).resample("1min").mean() for s in specs}
    return pd.DataFrame(columns).interpolate(method="time", limit=15, limit_area="inside")


def score(model: MultivariateForecaster, test: pd.DataFrame) -> pd.DataFrame:
    """Per interval: the forecast made ``h`` minutes earlier against the target, with its interval."""
    rows = []
    for h in STEPS:
        ev = model.evaluate(test, horizon=h)
        naive = test[TARGET].shift(h).reindex(ev.index)
        lower = np.clip(ev["forecast"] + model.residual_quantiles_[0, h - 1], 0, 100)
        upper = np.clip(ev["forecast"] + model.residual_quantiles_[1, h - 1], 0, 100)
        err = ev["error_pct"].abs()
        rows.append({"minutes_ahead": h, "n": len(ev), "target": ev["target"].mean(),
                     "forecast": ev["forecast"].mean(),
                     "mae": (ev["forecast"] - ev["target"]).abs().mean(),
                     "mae_naive": (naive - ev["target"]).abs().mean(),
                     "error_pct_mean": err.mean(), "error_pct_median": err.median(),
                     "within_10pct": float((err <= 10).mean()),
                     "coverage_90": float(((ev["target"] >= lower) & (ev["target"] <= upper)).mean()),
                     "width_90": float((upper - lower).mean())})
    return pd.DataFrame(rows)


def excerpt(model: MultivariateForecaster, history: pd.DataFrame, future: pd.DataFrame) -> pd.DataFrame:
    """The mine platform's table for one origin: target, forecast and error % at each interval."""
    pred = model.predict(history)
    rows = []
    for h in STEPS:
        ts = pred.index[h - 1]
        target = float(future.loc[ts, TARGET])
        fc = float(pred["forecast"].iloc[h - 1])
        rows.append({"interval_min": h, "time": ts.strftime("%H:%M"), "target": target, "forecast": fc,
                     "lower": float(pred["lower"].iloc[h - 1]), "upper": float(pred["upper"].iloc[h - 1]),
                     "error_pct": 100 * (fc - target) / target})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--methods", default="linear", help="comma-separated: linear, gbdt")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train-days", type=int, default=1, help="days in the training window (platform default 1)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    started = time.perf_counter()
    table = demo_mine_table(args.days, args.seed)
    print(f"demo mine: {len(table)} minutes x {len(table.columns)} sensors in {time.perf_counter() - started:.1f} s")
    day = 24 * 60
    out: dict[str, object] = {"days": args.days, "train_days": args.train_days, "seed": args.seed, "methods": {}}
    for method in args.methods.split(","):
        folds = []
        for k in range(args.days - args.train_days):
            train = table.iloc[k * day:(k + args.train_days) * day]
            # the test day, preceded by the rows its first lags need
            test = table.iloc[(k + args.train_days) * day - 10:(k + args.train_days + 1) * day]
            t = time.perf_counter()
            model = MultivariateForecaster(TARGET, kind=method, horizon=60, lags=5, bounds=(0.0, 100.0),
                                           max_iter=100, n_repeats=2).fit(train)
            fit_s = time.perf_counter() - t
            folds.append(score(model, test).assign(fold=k))
            print(f"{method} fold {k}: fit {fit_s:.1f} s, beats naive {model.beats_naive_}, held-out coverage "
                  f"{model.interval_metrics_['coverage']:.3f}")
            if k == 0:
                origin = test.index[len(test) // 2]
                ex = excerpt(model, table.loc[:origin], table)
                print(f"\n{method}: forecast from {origin:%Y-%m-%d %H:%M} UTC (target: CH4 %, longwall outgoing air)")
                print(ex.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        summary = pd.concat(folds).groupby("minutes_ahead").mean(numeric_only=True).drop(columns="fold")
        print(f"\n{method}: mean of {len(folds)} held-out days")
        print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
        out["methods"][method] = {"summary": summary.reset_index().to_dict("records"),  # type: ignore[index]
                                  "excerpt": ex.to_dict("records"), "fit_s": fit_s}
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()

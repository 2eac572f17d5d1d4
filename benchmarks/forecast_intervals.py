"""Coverage of the forecast intervals on held-out real data (labelled NAB series used as plain series).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/forecast_intervals.py [--model linear] [--horizon 48]``.
For each series: the last ``--points`` values, ``--cuts`` forecast origins spaced by the horizon at the
end; at each origin ``forecast_auto`` is fitted on everything before it (with its 3-fold backtest) and
its 90 % interval is scored on the next ``horizon`` values that it never saw: coverage and Winkler
(interval) score, for the model's own split-conformal interval ("raw") and for the interval rescaled
on the backtest errors ("recalibrated", the default). Series: Numenta Anomaly Benchmark, Copyright
Numenta Inc., MIT licence.
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

from ghgwatch.analytics import metrics  # noqa: E402
from ghgwatch.analytics.backtest import forecast_auto  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nab-dev" / "data"
SERIES = (
    "realTraffic/speed_6005.csv",
    "realTraffic/occupancy_6005.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
    "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv",
    "realAWSCloudwatch/elb_request_count_8c0756.csv",
    "realAdExchange/exchange-2_cpc_results.csv",
    "realTweets/Twitter_volume_AAPL.csv",
    "realTweets/Twitter_volume_GOOG.csv",
    "realKnownCause/rogue_agent_key_updown.csv",
)


def load(name: str, points: int) -> pd.Series:
    df = pd.read_csv(DATA / name, parse_dates=["timestamp"])
    df = df.sort_values("timestamp").drop_duplicates("timestamp").set_index("timestamp")
    s = df["value"].astype(float).iloc[-points:]
    # Regular grid at the median step; the rare missing stamps interpolated (forecasters need a grid).
    step = s.index.to_series().diff().median()
    grid = pd.date_range(s.index[0], s.index[-1], freq=step)
    return s.reindex(s.index.union(grid)).interpolate("time").reindex(grid)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="linear")
    ap.add_argument("--horizon", type=int, default=48)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--cuts", type=int, default=4)
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    h, level = args.horizon, args.level
    rows: list[dict[str, object]] = []
    t0 = time.perf_counter()
    for name in SERIES:
        y = load(name, args.points)
        low = 0.0 if float(y.min()) >= 0 else None
        for k in range(args.cuts, 0, -1):
            cut = len(y) - k * h
            fc, used, report = forecast_auto(
                y.iloc[:cut],
                h,
                method=args.model,
                interval=level,
                with_backtest=True,
                bounds=(low, None),
                n_folds=args.folds,
                recalibrate=True,
            )
            actual = y.iloc[cut : cut + h].to_numpy()
            f, lo, hi = (fc[c].to_numpy() for c in ("forecast", "lower", "upper"))
            factor = report.calibration_factor if report is not None else None
            raw_half = (hi - lo) / 2 / (factor or 1.0)
            raw_lo, raw_hi = f - raw_half, f + raw_half
            if low is not None:
                raw_lo = np.maximum(raw_lo, low)
            rows.append(
                {
                    "series": name,
                    "cut": cut,
                    "model": used,
                    "factor": factor,
                    "raw_coverage": metrics.coverage(actual, raw_lo, raw_hi),
                    "raw_winkler": metrics.winkler(actual, raw_lo, raw_hi, level),
                    "coverage": metrics.coverage(actual, lo, hi),
                    "winkler": metrics.winkler(actual, lo, hi, level),
                    "scale": float(np.mean(np.abs(np.diff(y.iloc[:cut].to_numpy())))),
                    "below_zero": int((lo < 0).sum()),
                }
            )
        r = [x for x in rows if x["series"] == name]
        print(
            f"{name:50s} raw cov {np.mean([x['raw_coverage'] for x in r]):.3f}  "
            f"recal cov {np.mean([x['coverage'] for x in r]):.3f}  "
            f"factor {np.mean([x['factor'] or 1 for x in r]):.2f}",
            flush=True,
        )
    # Winkler scores are in each series' units: compare them relative (recalibrated / raw) per row.
    rel = [float(x["winkler"]) / float(x["raw_winkler"]) for x in rows if float(x["raw_winkler"]) > 0]  # type: ignore[arg-type]
    summary = {
        "model": args.model,
        "horizon": h,
        "level": level,
        "forecasts": len(rows),
        "held_out_points": len(rows) * h,
        "raw_coverage": round(float(np.mean([x["raw_coverage"] for x in rows])), 3),  # type: ignore[misc]
        "recalibrated_coverage": round(float(np.mean([x["coverage"] for x in rows])), 3),  # type: ignore[misc]
        "winkler_recalibrated_over_raw_median": round(float(np.median(rel)), 3),
        "lower_bounds_below_zero": int(sum(int(x["below_zero"]) for x in rows)),  # type: ignore[call-overload]
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

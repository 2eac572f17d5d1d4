"""Held-out backtest of the forecasters and of ``auto`` on real public series (issue 14, item 4).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/backtest_real.py [--json out.json]``.

* Mauna Loa CO2 (``statsmodels.datasets.co2``: weekly flask means 1958-2001, Scripps / NOAA, public
  domain via statsmodels), resampled to monthly means (5 empty months linearly interpolated): ``--co2-cuts``
  origins one year apart at the end, 12 months ahead each.
* Nine real series of ``../shared/data/nab-dev`` (the ones of ``benchmarks/forecast_intervals.py``; Numenta
  Anomaly Benchmark, Copyright Numenta Inc., MIT licence), last 2,000 values on a regular grid, ``--nab-cuts``
  origins 48 steps apart, 48 steps ahead.

At every origin each model is fitted on the values before it and scored on values it never saw (see
``ghgwatch.analytics.holdout``): MAE, MASE (seasonal-naive in-sample scale), MAE relative to the plain naive
and to the seasonal-naive forecast, coverage of the 90 % interval and Winkler score (relative to naive's,
since it is in the series' units). ``auto`` is what ``forecast_auto`` would pick at that origin.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# The same nine real nab-dev series as the interval-calibration benchmark (run as a script: benchmarks/ is on the path).
from forecast_intervals import DATA as NAB  # noqa: E402
from forecast_intervals import SERIES as NAB_SERIES  # noqa: E402
from ghgwatch.analytics.holdout import HeldOut, evaluate_cuts, summarise  # noqa: E402


def co2_monthly() -> pd.Series:
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    return weekly.resample("MS").mean().interpolate("time").rename("co2")


def nab_series(name: str, points: int = 2000) -> pd.Series:
    df = pd.read_csv(NAB / name, parse_dates=["timestamp"])
    df = df.sort_values("timestamp").drop_duplicates("timestamp").set_index("timestamp")
    s = df["value"].astype(float).iloc[-points:]
    step = s.index.to_series().diff().median()
    grid = pd.date_range(s.index[0], s.index[-1], freq=step)
    return s.reindex(s.index.union(grid)).interpolate("time").reindex(grid)


def run(y: pd.Series, horizon: int, n_cuts: int) -> list[HeldOut]:
    low = 0.0 if float(y.min()) >= 0 else None
    cuts = [len(y) - k * horizon for k in range(n_cuts, 0, -1)]
    return evaluate_cuts(y, horizon, cuts, bounds=(low, None))


def table(rows: list[HeldOut], one_series: bool = True) -> str:
    """Means over the origins; MAE only for one series (units differ between series). Winkler scores are in
    the series' units too: shown relative to the seasonal naive's at the same origin. Ratios: mean (median)."""
    snaive = {r.cut: r.winkler for r in rows if r.model == "naive"}
    rel_w = {
        m: [r.winkler / snaive[r.cut] for r in rows if r.model == m and snaive[r.cut] > 0] for m in summarise(rows)
    }
    lines = [
        "| model | MAE | MASE | MAE / naive | MAE / seasonal naive | 90 % coverage | Winkler / seasonal naive's |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in summarise(rows).items():
        chosen = s.get("chosen")
        label = f"auto ({', '.join(f'{k} {v}' for k, v in chosen.items())})" if chosen else name
        mine = [r for r in rows if r.model == name]

        def ratio(key: str, mine: list[HeldOut] = mine, s: dict[str, object] = s) -> str:
            return f"{s[key]:.3f} ({np.nanmedian([getattr(r, key) for r in mine]):.3f})"

        mae = f"{s['mae']:.4g}" if one_series else "—"
        lines.append(
            f"| {label} | {mae} | {ratio('mase')} | {ratio('rel_naive')} | {ratio('rel_snaive')} | "
            f"{100 * s['coverage']:.1f} % | {np.mean(rel_w[name]):.3f} ({np.median(rel_w[name]):.3f}) |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--co2-cuts", type=int, default=10)
    ap.add_argument("--nab-cuts", type=int, default=4)
    ap.add_argument("--skip-nab", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--tables-from", type=Path, default=None, help="print the tables of an earlier --json run")
    args = ap.parse_args()
    if args.tables_from:
        saved = json.loads(args.tables_from.read_text(encoding="utf-8"))
        print(table([HeldOut(**r) for r in saved["co2"]]))
        print(table([HeldOut(**r) for r in saved["nab"]], one_series=False))
        return
    t0 = time.perf_counter()
    co2 = run(co2_monthly(), 12, args.co2_cuts)
    print(f"## Mauna Loa CO2, monthly, 12 months ahead, {args.co2_cuts} origins ({time.perf_counter() - t0:.0f} s)")
    print(table(co2), flush=True)
    nab: list[HeldOut] = []
    per_series: dict[str, dict[str, object]] = {}
    if not args.skip_nab:
        for k, name in enumerate(NAB_SERIES):
            rows = run(nab_series(name), 48, args.nab_cuts)
            # Distinct cut numbers per series so that rows of different series never pair up.
            nab += [HeldOut(**{**asdict(r), "cut": r.cut + 10_000 * (k + 1)}) for r in rows]
            per_series[name] = summarise(rows)
            print(f"{name}: auto chose {per_series[name]['auto'].get('chosen')}", flush=True)
        print(f"## nab-dev, 9 series, 48 steps ahead, {args.nab_cuts} origins each")
        print(table(nab, one_series=False))
    print(f"{time.perf_counter() - t0:.0f} s")
    if args.json:
        out = {"co2": [asdict(r) for r in co2], "nab": [asdict(r) for r in nab], "nab_per_series": per_series}
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

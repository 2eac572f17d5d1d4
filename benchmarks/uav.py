"""Validation of the UAV leak quantification on simulated flights (issue 15 targets).

Run: ``.venv/bin/python benchmarks/uav.py [--flights 200] [--methods mass-balance,plume] [--seed 0]``.
Each flight draws a release rate log-uniformly over 0.5-500 kg/h and conditions from the ranges in
``ghgwatch.uav.simulator.random_scenario``; the simulator is a puff model with gusts, direction swings, sensor lag
and noise, and a drifting background (not the estimators' model). Reported per method: flights quantified and
refused, median |error|, the share within ±50 %, the 95 % interval's coverage of the true rate, and the median
signed error (bias). Targets: median |error| <= 20 %, >= 90 % within ±50 %, coverage >= 85 %.
The last line is one JSON object. One thread (BLAS pinned to 1).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from ghgwatch.uav import CannotQuantify, Method, quantify  # noqa: E402
from ghgwatch.uav.simulator import random_scenario, simulate  # noqa: E402


def _summary(truth: list[float], est: list[tuple[float, float, float]], refused: dict[str, int]) -> dict[str, Any]:
    if not est:
        return {"quantified": 0, "refused": refused}
    t = np.array(truth)
    r = np.array([e[0] for e in est])
    lo = np.array([e[1] for e in est])
    hi = np.array([e[2] for e in est])
    rel = r / t - 1.0
    return {
        "quantified": int(t.size),
        "refused": refused,
        "median_abs_error": float(np.median(np.abs(rel))),
        "within_50pct": float(np.mean(np.abs(rel) <= 0.5)),
        "coverage_95": float(np.mean((lo <= t) & (t <= hi))),
        "median_error": float(np.median(rel)),
        "rmse_rel": float(np.sqrt(np.mean(rel**2))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flights", type=int, default=200)
    parser.add_argument("--methods", default="mass-balance,plume")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--boot", type=int, default=None, help="bootstrap replicates (default: the method's)")
    args = parser.parse_args()
    methods = [Method(m) for m in args.methods.split(",") if m]
    rng = np.random.default_rng(args.seed)
    truth: dict[Method, list[float]] = {m: [] for m in methods}
    est: dict[Method, list[tuple[float, float, float]]] = {m: [] for m in methods}
    refused: dict[Method, dict[str, int]] = {m: {} for m in methods}
    started = time.perf_counter()
    for i in range(args.flights):
        scenario = random_scenario(rng)
        flight = simulate(scenario, seed=args.seed * 100_000 + i)
        for m in methods:
            try:
                q = quantify(flight, m, n_boot=args.boot, seed=i)
            except CannotQuantify as exc:
                refused[m][exc.code.value] = refused[m].get(exc.code.value, 0) + 1
                continue
            truth[m].append(scenario.rate_kg_h)
            est[m].append((q.rate_kg_h, q.lower_kg_h, q.upper_kg_h))
        if (i + 1) % 20 == 0:
            print(f"{i + 1} flights, {time.perf_counter() - started:.0f} s", flush=True)
    report = {m.value: _summary(truth[m], est[m], refused[m]) for m in methods}
    report["flights"] = args.flights
    report["seconds"] = round(time.perf_counter() - started, 1)
    for m in methods:
        s = report[m.value]
        if s.get("quantified"):
            print(f"{m.value}: {s['quantified']} quantified, refused {s['refused']}; median |error| "
                  f"{100 * s['median_abs_error']:.0f} %, within ±50 % {100 * s['within_50pct']:.0f} %, "
                  f"95 % coverage {100 * s['coverage_95']:.0f} %, median error {100 * s['median_error']:+.0f} %")
    print(json.dumps(report))


if __name__ == "__main__":
    main()

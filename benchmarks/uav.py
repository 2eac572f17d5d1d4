"""Validation of the UAV leak quantification on simulated flights (issue 15 targets).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/uav.py [--flights 200] [--methods mass-balance,plume] [--seed 0]
[--details flights.jsonl] [--calibrate]``. Each flight draws a release rate log-uniformly over 0.5-500 kg/h and
conditions from the ranges in ``ghgwatch.uav.simulator.random_scenario``; the simulator is a puff model with
turbulence, gusts, direction swings (meander), sensor lag and noise, a noisy and biased sensed wind and a drifting
background (not the estimators' model). Reported per method: flights quantified and refused, median |error|, the
share within ±50 %, the 95 % interval's coverage of the true rate, the median signed error (bias), the relative
RMSE and, for the plume method, the estimated source's position error. Targets: median |error| <= 20 %, >= 90 %
within ±50 %, coverage >= 85 %. ``--calibrate`` runs without the methods' systematic term and prints the σ that
term needs for 95 % coverage (without it, ``systematic_for_95`` is the extra σ the intervals would still need).
``--details`` writes one JSON line per flight (scenario and each method's estimate or refusal). The last line
printed is one JSON object. One thread (BLAS pinned to 1). The published figures: calibration ``--seed 1
--calibrate``, validation ``--seed 0`` (docs/uav.md).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from ghgwatch.uav import CannotQuantify, Method, massbalance, plume, quantify  # noqa: E402
from ghgwatch.uav.geometry import Frame  # noqa: E402
from ghgwatch.uav.simulator import random_scenario, simulate  # noqa: E402

TARGETS = {"median_abs_error": 0.20, "within_50pct": 0.90, "coverage_95": 0.85}


def _summary(truth: list[float], est: list[tuple[float, float, float]], refused: dict[str, int],
             flights: int, positions: list[tuple[float, float]]) -> dict[str, Any]:
    """Error statistics; ``positions``: the estimated sources' (along-wind error / curtain distance, cross-wind
    error in m), along-wind negative when the estimate is upwind of the true source."""
    if not est:
        return {"quantified": 0, "refused": refused}
    t = np.array(truth)
    r = np.array([e[0] for e in est])
    lo = np.array([e[1] for e in est])
    hi = np.array([e[2] for e in est])
    rel = r / t - 1.0
    out: dict[str, Any] = {
        "quantified": int(t.size),
        "refused": refused,
        "median_abs_error": float(np.median(np.abs(rel))),
        "within_50pct": float(np.mean(np.abs(rel) <= 0.5)),
        "coverage_95": float(np.mean((lo <= t) & (t <= hi))),
        "median_error": float(np.median(rel)),
        "mean_error": float(np.mean(rel)),
        "rmse_rel": float(np.sqrt(np.mean(rel**2))),
        "p90_abs_error": float(np.percentile(np.abs(rel), 90)),
        "median_interval_width_rel": float(np.median((hi - lo) / r)),
    }
    # targets over every flight: a refusal counts as a miss of the ±50 % band and of the coverage
    out["within_50pct_of_all"] = float(np.sum(np.abs(rel) <= 0.5)) / flights
    out["coverage_95_of_all"] = float(np.sum((lo <= t) & (t <= hi))) / flights
    # calibration of the systematic term: each flight's bootstrap taken as log-normal (centre and spread from its
    # interval); the smallest σ on a 0.01 grid, added in quadrature, whose intervals cover 95 % of the true rates
    centre = 0.5 * (np.log(np.maximum(lo, 1e-12)) + np.log(hi))
    spread = (np.log(hi) - np.log(np.maximum(lo, 1e-12))) / (2 * 1.959964)
    grid = np.round(np.arange(0.0, 1.01, 0.01), 2)
    cover = [float(np.mean(np.abs(np.log(t) - centre) <= 1.959964 * np.sqrt(spread**2 + s**2))) for s in grid]
    out["systematic_for_95"] = float(next((s for s, c in zip(grid, cover, strict=True) if c >= 0.95), grid[-1]))
    if positions:
        along = np.array([p[0] for p in positions])
        cross = np.array([p[1] for p in positions])
        out["source_along_error_median_rel"] = float(np.median(along))
        out["source_along_abs_error_median_rel"] = float(np.median(np.abs(along)))
        out["source_cross_abs_error_median_m"] = float(np.median(np.abs(cross)))
    out["targets_met"] = (out["median_abs_error"] <= TARGETS["median_abs_error"]
                          and out["within_50pct"] >= TARGETS["within_50pct"]
                          and out["coverage_95"] >= TARGETS["coverage_95"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flights", type=int, default=200)
    parser.add_argument("--methods", default="mass-balance,plume")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--boot", type=int, default=None, help="bootstrap replicates (default: the method's)")
    parser.add_argument("--details", type=Path, default=None, help="write one JSON line per flight here")
    parser.add_argument("--calibrate", action="store_true",
                        help="run without the systematic term and print the systematic σ giving 95 %% coverage")
    args = parser.parse_args()
    if args.calibrate:
        massbalance.SYSTEMATIC_REL = 0.0
        plume.SYSTEMATIC_REL = 0.0
    methods = [Method(m) for m in args.methods.split(",") if m]
    rng = np.random.default_rng(args.seed)
    truth: dict[Method, list[float]] = {m: [] for m in methods}
    est: dict[Method, list[tuple[float, float, float]]] = {m: [] for m in methods}
    refused: dict[Method, dict[str, int]] = {m: {} for m in methods}
    positions: dict[Method, list[tuple[float, float]]] = {m: [] for m in methods}
    seconds: dict[str, float] = {"simulate": 0.0, **{m.value: 0.0 for m in methods}}
    details = args.details.open("w", encoding="utf-8") if args.details else None
    started = time.perf_counter()
    for i in range(args.flights):
        scenario = random_scenario(rng)
        t0 = time.perf_counter()
        flight = simulate(scenario, seed=args.seed * 100_000 + i)
        seconds["simulate"] += time.perf_counter() - t0
        record: dict[str, Any] = {"flight": i, "scenario": dataclasses.asdict(scenario)}
        for m in methods:
            t0 = time.perf_counter()
            try:
                q = quantify(flight, m, n_boot=args.boot, seed=i)
            except CannotQuantify as exc:
                refused[m][exc.code.value] = refused[m].get(exc.code.value, 0) + 1
                record[m.value] = {"refused": exc.code.value, "reason": exc.message}
                continue
            finally:
                seconds[m.value] += time.perf_counter() - t0
            truth[m].append(scenario.rate_kg_h)
            if q.source is not None:  # the simulated source is at the scenario's site
                x, y = Frame(*scenario.site).to_xy(np.array([q.source[0]]), np.array([q.source[1]]))
                to = math.radians(scenario.wind_from_deg + 180.0)
                along = float(x[0]) * math.sin(to) + float(y[0]) * math.cos(to)
                cross = -float(x[0]) * math.cos(to) + float(y[0]) * math.sin(to)
                positions[m].append((along / scenario.distance_m, cross))
            est[m].append((q.rate_kg_h, q.lower_kg_h, q.upper_kg_h))
            record[m.value] = {"rate": q.rate_kg_h, "lower": q.lower_kg_h, "upper": q.upper_kg_h,
                               "details": q.details}
        if details is not None:
            details.write(json.dumps(record, default=float) + "\n")
        if (i + 1) % 20 == 0:
            print(f"{i + 1} flights, {time.perf_counter() - started:.0f} s", flush=True)
    if details is not None:
        details.close()
    report: dict[str, Any] = {m.value: _summary(truth[m], est[m], refused[m], args.flights, positions[m])
                              for m in methods}
    report["flights"] = args.flights
    report["seed"] = args.seed
    report["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    report["seconds"]["total"] = round(time.perf_counter() - started, 1)
    for m in methods:
        s = report[m.value]
        if s.get("quantified"):
            print(f"{m.value}: {s['quantified']} quantified, refused {s['refused']}; median |error| "
                  f"{100 * s['median_abs_error']:.0f} %, within ±50 % {100 * s['within_50pct']:.0f} %, "
                  f"95 % coverage {100 * s['coverage_95']:.0f} %, median error {100 * s['median_error']:+.0f} %, "
                  f"RMSE {100 * s['rmse_rel']:.0f} %; targets {'met' if s['targets_met'] else 'MISSED'}; "
                  f"{'' if args.calibrate else 'extra '}systematic σ for 95 % {s['systematic_for_95']:.2f}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()

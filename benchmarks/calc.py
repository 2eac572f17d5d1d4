"""Benchmark: ``ghgwatch.inventory.calculate`` on 10,000 generated activities of mixed types.

Prints the median of several runs (validation + factor resolution + provenance + totals) and, as the
last line, one JSON object with the median and a baseline: a plain-Python loop of the bare formulas
over the same rows (no validation, no provenance), measured in the same run.

    .venv/bin/python benchmarks/calc.py [--n 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

from ghgwatch.inventory import calculate

RHO = 0.67  # kg/m3 at 20 °C, IPCC 2006 (METHODOLOGY §0)


def make_activities(n: int, seed: int = 5) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        k = i % 6
        aid = f"a{i}"
        if k == 0:
            out.append(
                {
                    "id": aid,
                    "type": "coal_mining_underground",
                    "coal_t": rnd.uniform(1e5, 3e6),
                    "depth_m": rnd.uniform(50, 800),
                }
            )
        elif k == 1:
            out.append(
                {
                    "id": aid,
                    "type": "coal_mining_surface",
                    "coal_t": rnd.uniform(1e5, 3e6),
                    "overburden_m": rnd.uniform(5, 80),
                }
            )
        elif k == 2:
            v = rnd.uniform(1e6, 2e7)
            out.append(
                {
                    "id": aid,
                    "type": "coal_mine_measured",
                    "ventilation_ch4_m3": v,
                    "drainage_ch4_m3": v / 3,
                    "utilized_ch4_m3": v / 10,
                    "flared_ch4_m3": v / 20,
                }
            )
        elif k == 3:
            out.append(
                {
                    "id": aid,
                    "type": "stationary_combustion",
                    "fuel": "bituminous_coal",
                    "quantity": rnd.uniform(100, 1e5),
                    "unit": "t",
                }
            )
        elif k == 4:
            out.append({"id": aid, "type": "flaring", "ch4_m3": rnd.uniform(1e4, 1e6)})
        else:
            out.append(
                {"id": aid, "type": "vented_gas", "volume_m3": rnd.uniform(1e4, 1e6), "ch4_percent": rnd.uniform(1, 60)}
            )
    return out


def _class(x: float, lo: float, hi: float) -> int:
    return 0 if x < lo else (2 if x > hi else 1)


def baseline(acts: list[dict[str, Any]]) -> float:
    """Bare formulas, hard-coded IPCC 2006 factors, AR5 GWP: the floor for the same arithmetic."""
    ug, sf = (10.0, 18.0, 25.0), (0.3, 1.2, 2.0)
    total = 0.0
    for a in acts:
        t = a["type"]
        if t == "coal_mining_underground":
            total += a["coal_t"] * ug[_class(a["depth_m"], 200, 400)] * RHO / 1000 * 28
        elif t == "coal_mining_surface":
            total += a["coal_t"] * sf[_class(a["overburden_m"], 25, 50)] * RHO / 1000 * 28
        elif t == "coal_mine_measured":
            fl = a["flared_ch4_m3"]
            ch4 = (a["ventilation_ch4_m3"] + a["drainage_ch4_m3"] - a["utilized_ch4_m3"] - fl) * RHO / 1000
            total += (ch4 + 0.02 * fl * RHO / 1000) * 28 + 0.98 * fl * RHO / 1000 * 2.75
        elif t == "stationary_combustion":
            tj = a["quantity"] / 1000 * 25.8
            total += tj * 94.6 + tj * 10 / 1000 * 28 + tj * 1.5 / 1000 * 265
        elif t == "flaring":
            m = a["ch4_m3"] * RHO / 1000
            total += 0.98 * m * 2.75 + 0.02 * m * 28
        else:
            total += a["volume_m3"] / 1000 * a["ch4_percent"] * RHO * 1e-2 * 28
    return total


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    acts = make_activities(args.n)
    doc = {"methodology": "ipcc2006", "gwp": "ar5", "year": 2025, "activities": acts}
    times, base_times = [], []
    total = base_total = 0.0
    for _ in range(args.runs):
        t0 = time.perf_counter()
        total = calculate(doc).totals()["co2e_t"]
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        base_total = baseline(acts)
        base_times.append(time.perf_counter() - t0)
    if abs(total - base_total) > 1e-6 * base_total:
        raise SystemExit(f"engine and baseline disagree: {total} vs {base_total}")
    med, base = statistics.median(times), statistics.median(base_times)
    print(
        f"calculate(): {args.n} activities, median {med:.3f} s over {args.runs} runs "
        f"(min {min(times):.3f}, max {max(times):.3f}); baseline loop median {base * 1000:.1f} ms"
    )
    print(
        json.dumps(
            {
                "activities": args.n,
                "median_s": round(med, 4),
                "runs": args.runs,
                "baseline_s": round(base, 5),
                "ratio": round(med / base, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

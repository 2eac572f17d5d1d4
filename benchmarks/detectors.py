"""Batch scoring throughput of the anomaly detectors, with a pure-Python loop baseline.

Run: ``.venv/bin/python benchmarks/detectors.py [--points N] [--runs R]``. One thread (BLAS/OpenMP
pinned to 1) so the numbers are per core. Each streaming detector is wrapped in the anomaly filter
(as in production) and scores a series of 1-minute readings with 0.1 % spikes; the baseline is the
``score_one``/``learn_one`` loop of the same detector. The last line is one JSON object.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from ghgwatch.alerts.detectors import IsolationForestDetector, StreamingDetector, make_detector  # noqa: E402


def _series(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = 1_704_067_200.0 + 60.0 * np.arange(n)
    x = 0.5 + 0.1 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.02, n)
    x[rng.choice(n, n // 1000, replace=False)] += 0.3
    return t, x


def _median_rate(fn: Callable[[], object], points: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return points / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--loop-points", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    t, x = _series(args.points)
    tl, xl = t[: args.loop_points], x[: args.loop_points]
    make_detector("ewma").score_many(x[:1000], t[:1000])  # import scipy outside the timing
    result: dict[str, object] = {}
    streaming: list[float] = []
    for method in ("adaptive", "robust_z", "ewma", "seasonal"):

        def batch(method: str = method) -> object:
            return make_detector(method).score_many(x, t)

        def loop(method: str = method) -> object:
            det: StreamingDetector = make_detector(method)
            for xi, ti in zip(xl.tolist(), tl.tolist(), strict=True):
                det.score_one(xi, ti)
                det.learn_one(xi, ti)
            return det

        rate = _median_rate(batch, args.points, args.runs)
        base = _median_rate(loop, args.loop_points, max(1, args.runs // 2))
        streaming.append(rate)
        result[method] = {
            "batch_points_per_s": round(rate),
            "python_loop_points_per_s": round(base),
            "speedup": round(rate / base, 1),
        }
        print(f"{method:9s} batch {rate:>12,.0f} pts/s   python loop {base:>10,.0f} pts/s   x{rate / base:.1f}")
    table = np.column_stack([x[:100_000] + k for k in range(5)])

    def iforest() -> object:
        return IsolationForestDetector().fit(table[:10_000]).score(table)

    rate = _median_rate(iforest, table.shape[0], max(1, args.runs // 2))
    result["iforest_5_columns"] = {"fit_10k_score_100k_rows_per_s": round(rate)}
    print(f"iforest   fit 10k rows + score 100k rows x 5 columns: {rate:,.0f} rows/s")
    result["points"] = args.points
    result["detector_points_per_s"] = round(min(streaming))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

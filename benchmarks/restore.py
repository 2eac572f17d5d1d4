"""Time of each restoration method on SYNTHETIC mine × year panels of growing size (issue 13).

    python benchmarks/restore.py [--runs 3]

The panels come from ``restore.synthetic_panel`` (no real mine); 120 mines × 34 years is the order of the Kuzbass
panel (about 120 mines, 1990-2023). Prints the median time of one ``restore`` call per method, and the baseline
(``fill_mean``, the cheapest method) measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time

from ghgwatch.reference.minedb import restore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| panel (mines × years) | known cells | " + " | ".join(f"{m}, s" for m in restore.METHODS) + " |")
    print("|---|---|" + "---|" * len(restore.METHODS))
    for mines in (60, 120, 250):
        values, years = restore.synthetic_panel(mines=mines)
        known = int((~__import__("numpy").isnan(values)).sum())
        times = []
        for method in restore.METHODS:
            runs = []
            for _ in range(args.runs):
                start = time.perf_counter()
                restore.restore(values, method)
                runs.append(time.perf_counter() - start)
            times.append(statistics.median(runs))
        print(f"| {mines} × {len(years)} | {known} | " + " | ".join(f"{t:.3f}" for t in times) + " |")


if __name__ == "__main__":
    main()

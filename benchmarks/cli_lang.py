"""Benchmark: what translating the command line's help costs each ``ghgwatch`` invocation.

Every invocation builds the Click tree of the whole CLI (Typer does it in ``app()``); the root group then walks it
once to translate the help texts (``cli/_lang.py``). In English there is no catalog to read; in Russian the
``cli.po`` catalog is parsed and compiled in memory first (``i18n._translations``, cleared before each run here,
as in a new process). The three are interleaved so that a load change on the shared machine hits them alike.
Prints the medians (ms), the ratios to the tree build, the load average, and as the last line one JSON object.

    .venv/bin/python benchmarks/cli_lang.py [--n 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import typer.main

from ghgwatch import i18n
from ghgwatch.cli import app
from ghgwatch.cli._lang import localise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=15)
    n = parser.parse_args().n
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {"build": [], "localise_en": [], "localise_ru_cold": []}
    for _ in range(n):
        t = time.perf_counter()
        command = typer.main.get_command(app)
        times["build"].append(time.perf_counter() - t)
        for key, language in (("localise_en", "en"), ("localise_ru_cold", "ru")):
            i18n._translations.cache_clear()
            t = time.perf_counter()
            localise(command, language)
            times[key].append(time.perf_counter() - t)
    medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
    out = {**{f"{k}_ms": round(v, 1) for k, v in medians.items()},
           "en_ratio": round(medians["localise_en"] / medians["build"], 3),
           "ru_ratio": round(medians["localise_ru_cold"] / medians["build"], 3),
           "n": n, "load_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)]}
    for k, v in medians.items():
        print(f"{k}: {v:.1f} ms")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""The alert engine's cost per reading, old path against new path in one run (issues 10 and 16).

Judges ``--sensors`` methane sensors x ``--readings`` readings each (1 Hz, default rules: threshold, range, silent),
twice, as the alert service does in embedded mode: in the live lane at accept time, one round per ``--live-requests``
requests of 1,000 readings (200 sensors x 5 readings, one ``SensorRows`` per sensor), and again after storage, per
pipeline poll of ``--poll`` bus records (one per sensor and request) cut in slices of ``STORED_SLICE`` readings. The
stored pass of a poll follows its live rounds, so it sees readings already judged (late), as in the server. A share
of the sensors (``--exceeding``) is above its alarm level for a stretch, so alerts open, stay open and resolve.

Paths, each in a process of its own (a fresh interpreter and heap):

* ``old``: the source tree of ``--baseline`` (a git revision, default the commit before the change), judging as its
  service did: a sensor id per reading (``ids.extend``) and ``RuleEngine.evaluate_arrays``;
* ``ids``: this tree's engine called the old way (the engine's own gains without the per-run entry);
* ``new``: this tree, as its service judges: ``RuleEngine.evaluate_rows``, one sensor per run.

Runs alternate the paths; the result is the median of ``--runs`` runs per path, and its ratio to ``old`` (the machine
may be loaded by other work: compare ratios, not absolute figures). Every path must give the same events (a digest
of them is compared). ``--profile``: one more run of ``old`` and ``new`` under cProfile, top functions by own time.

    PYTHONPATH=src python benchmarks/alert_engine.py --runs 5
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "c163b44"  # main before the per-run entry (evaluate_rows) and the numpy lateness
PER_RECORD = 5  # readings per sensor in one request (200 bus records of 5 readings per 1,000-reading request)
PER_REQUEST = 200  # sensors per request


# ------------------------------------------------------------------------------------------------- worker
def _workload(sensors: int, readings: int, exceeding: float, seed: int) -> tuple[list[str], Any, Any]:
    """Sensor ids, times (µs, as stored) and values: sensor by second."""
    rng = np.random.default_rng(seed)
    t0 = 1_780_000_000 * 1_000_000
    ts = t0 + np.arange(readings, dtype=np.int64) * 1_000_000
    values = np.clip(rng.normal(0.3, 0.05, (sensors, readings)), 0.0, None)
    hot = rng.choice(sensors, round(sensors * exceeding), replace=False)
    for s in hot.tolist():  # above the alarm level (1.0 % at the longwall, 2.0 % local) for a stretch
        start = int(rng.integers(0, readings // 2))
        values[s, start:start + readings // 4] = rng.uniform(2.1, 3.0, readings // 4)
    return [str(1000 + i) for i in range(sensors)], ts, values


def _requests(names: list[str], ts: Any, values: Any) -> Iterator[list[Any]]:
    """Requests in arrival order: 5 seconds of 200 sensors each, one ``SensorRows`` per sensor."""
    from ghgwatch.readings.writer import SensorRows

    quality = np.zeros(PER_RECORD, dtype=np.int16)
    for start in range(0, ts.shape[0], PER_RECORD):
        for group in range(0, len(names), PER_REQUEST):
            yield [SensorRows(int(names[s]), ts[start:start + PER_RECORD], values[s, start:start + PER_RECORD],
                              quality[: min(PER_RECORD, ts.shape[0] - start)])
                   for s in range(group, min(group + PER_REQUEST, len(names)))]


def _judge_old(engine: Any, rows: Sequence[Any], now: float) -> list[Any]:
    """``AlertService._judge`` before the change (the engine call and what it needs)."""
    ids: list[str] = []
    for r in rows:
        ids.extend([str(r.sensor)] * len(r.ts))
    engine.unknown({str(r.sensor) for r in rows})
    ts = np.concatenate([r.ts for r in rows]).astype(np.float64) / 1e6
    values = np.concatenate([r.values for r in rows]).astype(np.float64)
    return list(engine.evaluate_arrays(ids, ts, values, None, arrived_at=now))


def _judge_new(engine: Any, rows: Sequence[Any], now: float) -> list[Any]:
    """``AlertService._judge`` after the change."""
    names = [str(r.sensor) for r in rows]
    engine.unknown(set(names))
    ts = np.concatenate([r.ts for r in rows]).astype(np.float64) / 1e6
    values = np.concatenate([r.values for r in rows]).astype(np.float64)
    return list(engine.evaluate_rows(names, [len(r.ts) for r in rows], ts, values, None, arrived_at=now))


def _engine(names: list[str]) -> Any:
    from ghgwatch.alerts.engine import RuleEngine
    from ghgwatch.alerts.rules import Location, SensorSpec, default_ruleset, resolve_rules

    rules = default_ruleset()
    locations = [Location.LONGWALL_OUTGOING, Location.LOCAL]
    specs = [SensorSpec(id=n, kind="methane", unit="%", location=locations[i % 2], expected_interval_s=1.0)
             for i, n in enumerate(names)]
    return RuleEngine([resolve_rules(s, rules) for s in specs], track_peaks=True)


def _worker(args: argparse.Namespace) -> None:
    from ghgwatch.alerts.service import STORED_SLICE
    from ghgwatch.readings.writer import chunk_rows

    names, ts, values = _workload(args.sensors, args.readings, args.exceeding, args.seed)
    engine = _engine(names)
    judge: Callable[[Any, Sequence[Any], float], list[Any]] = _judge_new if args.path == "new" else _judge_old
    requests = list(_requests(names, ts, values))
    per_poll = max(1, args.poll // PER_REQUEST)  # requests per pipeline poll
    digest = hashlib.sha256()
    counts = {"events": 0, "live": 0.0, "stored": 0.0}
    now = float(ts[-1]) / 1e6

    def record(events: list[Any]) -> None:
        counts["events"] += len(events)
        for ev in events:
            digest.update(f"{ev.kind}|{ev.key}|{ev.severity}|{ev.at}|{ev.reading}|{ev.alert.late}\n".encode())

    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    for p in range(0, len(requests), per_poll):
        poll = requests[p:p + per_poll]
        started = time.perf_counter()
        for r in range(0, len(poll), args.live_requests):
            record(judge(engine, [row for req in poll[r:r + args.live_requests] for row in req], now))
        live = time.perf_counter()
        for rows in chunk_rows([row for req in poll for row in req], STORED_SLICE):
            record(judge(engine, rows, now))
        counts["live"] += live - started
        counts["stored"] += time.perf_counter() - live
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue(), file=sys.stderr)
    print(json.dumps({**counts, "digest": digest.hexdigest(), "readings": int(ts.shape[0]) * len(names),
                      "late": int(engine.late_readings)}))


# ------------------------------------------------------------------------------------------------- driver
def _baseline_tree(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(src: Path, path: str, args: argparse.Namespace, profile: bool = False) -> tuple[dict[str, Any], str]:
    cmd = [sys.executable, __file__, "--worker", "--path", path, "--sensors", str(args.sensors), "--readings",
           str(args.readings), "--exceeding", str(args.exceeding), "--seed", str(args.seed), "--poll",
           str(args.poll), "--live-requests", str(args.live_requests), "--top", str(args.top)]
    if profile:
        cmd.append("--profile")
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--readings", type=int, default=1000, help="per sensor (a multiple of 5)")
    ap.add_argument("--exceeding", type=float, default=0.02, help="share of sensors above the alarm for a stretch")
    ap.add_argument("--poll", type=int, default=5000, help="bus records per pipeline poll (the pipeline's maximum)")
    ap.add_argument("--live-requests", type=int, default=1, help="requests judged per live-lane round")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the old path")
    ap.add_argument("--paths", default="old,ids,new")
    ap.add_argument("--profile", action="store_true", help="also one cProfile run of old and new")
    ap.add_argument("--top", type=int, default=12, help="functions listed per profile")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--path", default="new", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args)
        return
    paths = args.paths.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"old": _baseline_tree(args.baseline, Path(tmp)), "ids": ROOT / "src", "new": ROOT / "src"}
        results: dict[str, list[dict[str, Any]]] = {p: [] for p in paths}
        for run in range(args.runs):
            for p in paths if run % 2 == 0 else paths[::-1]:  # alternate, so a drifting load hits both
                results[p].append(_run(trees[p], "new" if p == "new" else "old", args)[0])
                print(f"run {run + 1} {p}: {json.dumps(results[p][-1])}", file=sys.stderr)
        profiles = {p: _run(trees[p], "new" if p == "new" else "old", args, profile=True)[1]
                    for p in ("old", "new") if args.profile and p in paths}
    digests = {p: {r["digest"] for r in rs} for p, rs in results.items()}
    summary: dict[str, Any] = {"sensors": args.sensors, "readings_per_sensor": args.readings, "runs": args.runs,
                               "baseline": args.baseline, "live_requests": args.live_requests, "poll": args.poll,
                               "same_events": len(set().union(*digests.values())) == 1,
                               "events": results[paths[0]][0]["events"], "note": "machine may be loaded: ratios"}
    base = {k: statistics.median(r[k] for r in results[paths[0]]) for k in ("live", "stored")}
    for p, rs in results.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("live", "stored")}
        n = rs[0]["readings"]
        summary[p] = {"live_s": round(med["live"], 3), "stored_s": round(med["stored"], 3),
                      "us_per_reading_judged": round(1e6 * (med["live"] + med["stored"]) / (2 * n), 3),
                      "live_ratio": round(med["live"] / base["live"], 3),
                      "stored_ratio": round(med["stored"] / base["stored"], 3),
                      "total_ratio": round((med["live"] + med["stored"]) / (base["live"] + base["stored"]), 3)}
    for p, text in profiles.items():
        print(f"\n==== cProfile, path {p} (one run, {args.sensors} x {args.readings} readings judged twice) ====")
        print(text[text.find("Ordered by"):] if "Ordered by" in text else text)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

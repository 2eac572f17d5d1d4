"""Alert latency under load: HTTP accept of an exceeding reading -> its ``opened`` event on the SSE stream.

Starts ``ghgwatch up`` (embedded: SQLite, embedded bus) as a subprocess on a throwaway data folder, creates
an organisation, user and device with the CLI and the site over the API, then runs a background load of
``--rate`` readings/s over HTTP (batches of 1,000) while sending ``--alerts`` exceeding readings spread
over alert sensors, and times each from the 202 answer to the ``opened`` event on
``/api/v1/alerts/stream``. Also measures the streaming detectors' batch scoring throughput.

``--backlog N``: before the exceeding readings, post N older readings (hours old, normal values, over the load
sensors, 5,000 a request, as fast as they are accepted; the server's admission limit is raised to N + 200,000
so that all of them may queue), so that they queue for storage ahead of the live exceedances; the result then
also has ``backlog_posted_s``, ``backlog_peak`` (the most readings seen queued while posting) and
``backlog_left`` (readings not yet stored when
the first exceedance was sent: the ingest's backlog gauge on /metrics, in bus records, times the readings per
record).

Last line: one JSON object with ``p50_ms``, ``p99_ms``, ``alerts``, ``missed``, ``detector_points_per_s``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

refused = [0]  # clearing readings not accepted (503 while storage is far behind)
PASSWORD = "bench-password-123"  # noqa: S105 (a throwaway data folder)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(data_dir: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "GHGWATCH_NEW_PASSWORD": PASSWORD}
    out = subprocess.run([sys.executable, "-m", "ghgwatch", *args, "--data-dir", str(data_dir)], env=env,
                         capture_output=True, text=True, check=True).stdout
    last = out.strip().splitlines()[-1] if out.strip() else ""
    result: dict[str, Any] = json.loads(last) if last.startswith("{") else {}
    return result


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def _setup(http: httpx.AsyncClient, org: int, n_load: int,
                 n_alert: int) -> tuple[str, list[int], list[int]]:
    login = await http.post("/api/v1/auth/token", data={"username": "bench", "password": PASSWORD})
    login.raise_for_status()
    h = {"Authorization": f"Bearer {login.json()['access_token']}"}
    fac = (await http.post("/api/v1/facilities", headers=h, json={
        "organization_id": org, "name": "Bench mine", "type": "underground_mine"})).json()["id"]
    shaft = (await http.post("/api/v1/sources", headers=h, json={
        "facility_id": fac, "name": "Shaft", "type": "ventilation_shaft"})).json()["id"]
    flare = (await http.post("/api/v1/sources", headers=h, json={
        "facility_id": fac, "name": "Alert source", "type": "flare"})).json()["id"]

    async def sensor(source: int, name: str, interval: float) -> int:
        r = await http.post("/api/v1/sensors", headers=h, json={
            "source_id": source, "name": name, "kind": "methane", "unit": "%", "range_min": 0, "range_max": 100,
            "expected_interval_s": interval})
        r.raise_for_status()
        return int(r.json()["id"])

    load = [await sensor(shaft, f"load {i}", 1.0) for i in range(n_load)]
    alert = [await sensor(flare, f"alert {i}", 600.0) for i in range(n_alert)]
    r = await http.post("/api/v1/alert-rules", headers=h, json={
        "scope": "source_type", "selector": "flare", "rule_id": "threshold",
        "definition": {"kind": "threshold", "alarm": 1.0, "clear_after_s": 0.2, "source": "benchmark"}})
    r.raise_for_status()
    return h["Authorization"].split()[1], load, alert


async def _load(http: httpx.AsyncClient, auth: dict[str, str], sensors: list[int], rate: float,
                stop: asyncio.Event, sent: list[int]) -> None:
    batch = 1000
    period = batch / rate
    per = batch // len(sensors)
    rng = np.random.default_rng(1)
    nxt = time.perf_counter()
    while not stop.is_set():
        now = time.time()
        readings = [{"sensor": s, "ts": _iso(now - 0.5 + j * (0.5 / per)), "value": round(0.3 + 0.02 * float(v), 4)}
                    for s in sensors for j, v in enumerate(rng.standard_normal(per))]
        r = await http.post("/api/v1/readings", json={"readings": readings}, headers=auth)
        if r.status_code == 202:
            sent[0] += r.json()["accepted"]
        nxt = max(nxt + period, time.perf_counter() - period)  # fall behind rather than burst
        await asyncio.sleep(max(0.0, nxt - time.perf_counter()))


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="ghgwatch-bench-alerts-"))
    port = _free_port()
    _cli(data_dir, "db", "upgrade")
    org = int(_cli(data_dir, "org", "create", "Bench")["id"])
    _cli(data_dir, "user", "create", "bench", "--role", "engineer", "--organization", str(org))
    device = str(_cli(data_dir, "device", "create", "bench-gw", "--organization", str(org), "--json")["token"])
    env = {**os.environ, "GHGWATCH_MQTT__EMBEDDED_PORT": str(_free_port())}
    if args.backlog:  # let the whole backlog queue up (the admission limit would refuse it at 200,000)
        env["GHGWATCH_ADMISSION__MAX_BACKLOG"] = str(args.backlog + 200_000)
    log = (data_dir / "server.log").open("wb")  # the server's log, kept with the throwaway data folder
    print(f"server log: {data_dir / 'server.log'}", file=sys.stderr)
    proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--port", str(port), "--data-dir",
                             str(data_dir)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        return asyncio.run(_drive(f"http://127.0.0.1:{port}", org, device, args))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


async def _drive(base: str, org: int, device: str, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
        token, load, alert = await _setup(http, org, args.load_sensors, args.alert_sensors)
        return await _measure(http, base, token, {"Authorization": f"Bearer {device}"}, load, alert, args)


async def _exceed(http: httpx.AsyncClient, auth: dict[str, str], sensor: int, value: float,
                  clears: list[asyncio.Future[None]]) -> float:
    """One exceeding reading now and a clearing one 0.3 s later; returns when the first was accepted."""
    now = time.time()
    r = await http.post("/api/v1/readings", headers=auth, json={"readings": [
        {"sensor": sensor, "ts": _iso(now), "value": value}]})
    accepted = time.perf_counter()
    assert r.status_code == 202 and r.json()["accepted"] == 1, r.text

    async def clear() -> None:
        await asyncio.sleep(0.3)
        r = await http.post("/api/v1/readings", headers=auth, json={"readings": [
            {"sensor": sensor, "ts": _iso(now + 0.3), "value": 0.1}]})
        if r.status_code != 202:
            refused[0] += 1

    clears.append(asyncio.ensure_future(clear()))
    return accepted


async def _warm_up(http: httpx.AsyncClient, auth: dict[str, str], alert: list[int],
                   arrived: dict[tuple[int, float], float], clears: list[asyncio.Future[None]]) -> None:
    """Not measured: wait until every alert sensor has opened an alert once (the service sees new sensors
    and rules within its sensor-cache age plus its refresh period), under load."""
    pending, value = set(alert), 1.5
    for _ in range(60):
        for sensor in pending:
            await _exceed(http, auth, sensor, value, clears)
        await asyncio.sleep(1.0)
        pending = {s for s in pending if (s, value) not in arrived}
        if not pending:
            break
        value = round(value + 0.001, 6)
    await asyncio.sleep(2.0)  # the warm-up alerts resolve (clear after 0.2 s, tick every 1 s)


async def _measure(http: httpx.AsyncClient, base: str, token: str, auth: dict[str, str], load: list[int],
                   alert: list[int], args: argparse.Namespace) -> dict[str, Any]:
    arrived: dict[tuple[int, float], float] = {}
    connected = asyncio.Event()

    async def listen() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10.0, read=None)) as sse, sse.stream(
                "GET", "/api/v1/alerts/stream", params={"access_token": token}) as stream:
            async for line in stream.aiter_lines():
                if line == ": connected":
                    connected.set()
                elif line.startswith("data: "):
                    ev = json.loads(line[6:])
                    if ev["event"] == "opened":
                        a = ev["alert"]
                        arrived[(a["sensor_id"], round(a["reading_value"], 6))] = time.perf_counter()

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(connected.wait(), 10)
    stop, sent = asyncio.Event(), [0]
    loader = asyncio.create_task(_load(http, auth, load, args.rate, stop, sent))
    load_started = time.perf_counter()
    accepted: dict[tuple[int, float], float] = {}
    clears: list[asyncio.Future[None]] = []
    await _warm_up(http, auth, alert, arrived, clears)
    backlog: dict[str, Any] = {}
    if args.backlog:
        backlog = await _backlog(http, auth, load, args.backlog)
        backlog["backlog_left"] = await _backlog_records(http) * 5000 // len(load)
    interval = 1.0 / args.alert_rate
    started = time.perf_counter()
    for k in range(args.alerts):
        sensor = alert[k % len(alert)]
        value = round(2.0 + k * 1e-4, 6)
        accepted[(sensor, value)] = await _exceed(http, auth, sensor, value, clears)
        await asyncio.sleep(max(0.0, started + (k + 1) * interval - time.perf_counter()))
    deadline = time.perf_counter() + 10
    while len(arrived.keys() & accepted.keys()) < len(accepted) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    stop.set()
    load_s = time.perf_counter() - load_started
    await loader
    await asyncio.gather(*clears, return_exceptions=True)
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    lat = np.array([max(0.0, arrived[k] - t) * 1000 for k, t in accepted.items() if k in arrived])
    for sensor, value in sorted(accepted.keys() - arrived.keys()):  # what became of a missed exceedance
        stored = (await http.get("/api/v1/alerts", params={"sensor_id": sensor, "limit": 10},
                                 headers={"Authorization": f"Bearer {token}"})).json().get("items", [])
        print(f"missed: sensor {sensor} value {value}; its alerts: "
              + json.dumps([{k: a.get(k) for k in ("id", "state", "reading_value", "peak_value", "late", "opened_at",
                                                   "resolved_at")} for a in stored]), file=sys.stderr)
    print(f"clear readings refused: {refused[0]}", file=sys.stderr)
    return {"p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
            "p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
            "alerts": int(lat.size), "missed": len(accepted) - int(lat.size),
            "load_readings_per_s": round(sent[0] / load_s), **backlog}


async def _backlog_records(http: httpx.AsyncClient) -> int:
    """Bus records accepted but not yet stored, as the ingest last saw it (0 if not exported)."""
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("ghgwatch_ingest_backlog_records "):
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


async def _backlog(http: httpx.AsyncClient, auth: dict[str, str], sensors: list[int], n: int) -> dict[str, Any]:
    """Post ``n`` older readings as fast as they are accepted; they queue for storage."""
    t0 = time.perf_counter()
    start = time.time() - 12 * 3600
    per_request, posted, k, peak = 5000, 0, 0, 0
    while posted < n:
        size = min(per_request, n - posted)
        readings = [{"sensor": sensors[i % len(sensors)], "ts": _iso(start + (k * per_request + i) / len(sensors)),
                     "value": 0.3} for i in range(size)]
        r = await http.post("/api/v1/readings", json={"readings": readings}, headers=auth)
        if r.status_code == 202:
            posted += size
            k += 1
            peak = max(peak, await _backlog_records(http))
        else:  # 503 while storage is far behind: the admission limit; wait as a sender would
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
    # The deepest queue seen while posting (in readings: bus records x readings per record).
    return {"backlog_posted_s": round(time.perf_counter() - t0, 1),
            "backlog_peak": peak * per_request // len(sensors)}


def detector_points_per_s(points: int = 200_000, runs: int = 3) -> float:
    """Batch scoring throughput of the streaming detectors on one core (the slowest method counts)."""
    from ghgwatch.alerts.detectors import make_detector

    rng = np.random.default_rng(0)
    x = 1.0 + 0.05 * rng.standard_normal(points)
    t = np.arange(points, dtype=np.float64) * 60.0
    rates = []
    for method in ("robust_z", "ewma", "seasonal"):
        best = []
        for _ in range(runs):
            det = make_detector(method)
            t0 = time.perf_counter()
            det.score_many(x, t)
            best.append(points / (time.perf_counter() - t0))
        rates.append(float(np.median(best)))
    return min(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=250)
    ap.add_argument("--alert-rate", type=float, default=10.0, help="exceeding readings per second")
    ap.add_argument("--rate", type=float, default=10_000.0, help="background readings per second")
    ap.add_argument("--load-sensors", type=int, default=50)
    ap.add_argument("--alert-sensors", type=int, default=100)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--backlog", type=int, default=0,
                    help="older readings queued for storage before the exceedances are sent")
    args = ap.parse_args()
    results = []
    for i in range(args.runs):
        r = run_once(args)
        print(f"run {i + 1}: {json.dumps(r)}", flush=True)
        results.append(r)
    det = detector_points_per_s()
    print(f"detectors: {det:,.0f} points/s (slowest streaming method, batch)")

    def med(key: str) -> float | None:
        vals = [r[key] for r in results if r[key] is not None]
        return round(float(np.median(vals)), 1) if vals else None

    print(json.dumps({"p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"), "alerts": sum(r["alerts"] for r in results),
                      "missed": sum(r["missed"] for r in results), "detector_points_per_s": round(det),
                      "load_readings_per_s": med("load_readings_per_s"), "runs": args.runs,
                      "backlog": args.backlog, "backlog_left": med("backlog_left") if args.backlog else None,
                      "backlog_peak": med("backlog_peak") if args.backlog else None}))


if __name__ == "__main__":
    main()

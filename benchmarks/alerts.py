"""Alert latency under load: HTTP accept of an exceeding reading -> its ``opened`` event on the SSE stream.

Starts ``ghgwatch up`` (embedded: SQLite, embedded bus) as a subprocess on a throwaway data folder, creates
an organisation, user and device with the CLI and the site over the API, then runs a background load of
``--rate`` readings/s over HTTP (batches of 1,000) while sending ``--alerts`` exceeding readings spread
over alert sensors, and times each from the 202 answer to the ``opened`` event on
``/api/v1/alerts/stream``. Also measures the streaming detectors' batch scoring throughput.

``--rate R`` with ``--load-procs P``: the background load is posted by ``P`` processes of their own (at R/P each,
``--load-conns`` connections per process), so that the load generator is not the bottleneck at 100,000 readings/s;
the result has the load generator's and the server's CPU (``load_gen_cores``, ``server_cores``: CPU seconds per
second of the measurement, i.e. cores used) and the machine's load average at the start and the end.

``--backlog N``: a queue of at least N older readings ahead of the live exceedances. After the set-up and warm-up,
the server is stopped, ``N + --backlog-extra`` readings (12 h old, normal values, over the load sensors, 100 a bus
record) are appended straight into its embedded bus log (``readings.raw.v1``, as the ingest would have), and the
server is started again: its pipeline finds them queued and stores them while the load and the exceedances arrive.
The depth is measured, not assumed: the benchmark counts the backlog readings stored so far (a read-only query of
the SQLite file, about every 0.5 s) and reports the readings still queued when the first and the last
exceedance were posted (``queued_at_first``, ``queued_at_last``), and latencies over the exceedances posted while
at least N were queued (``deep_p50_ms``, ``deep_p99_ms``, ``deep_alerts``).

Last line: one JSON object with ``p50_ms``, ``p99_ms``, ``alerts``, ``missed``, ``detector_points_per_s``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

# Run as a script: benchmarks/ is on the path (the load generator is a module of its own, also for spawned processes).
from alert_load import LoadGenerator

refused = [0]  # clearing readings not accepted (503 while storage is far behind)
PASSWORD = "bench-password-123"  # noqa: S105 (a throwaway data folder)
BACKLOG_PER_RECORD = 100  # backlog readings per bus record (as a gateway's 5,000-reading request over 50 sensors)


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


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


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


class Server:
    """``ghgwatch up`` on a data folder, as a subprocess (its log kept in the folder)."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.data_dir, self.port, self.env = data_dir, port, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        log = (self.data_dir / "server.log").open("ab")  # the server's log, kept with the throwaway data folder
        print(f"server log: {self.data_dir / 'server.log'}", file=sys.stderr)
        self.proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--port", str(self.port),
                                      "--data-dir", str(self.data_dir)], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    async def healthy(self, http: httpx.AsyncClient) -> None:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError("the server did not answer /healthz within 60 s")


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="ghgwatch-bench-alerts-"))
    _cli(data_dir, "db", "upgrade")
    org = int(_cli(data_dir, "org", "create", "Bench")["id"])
    _cli(data_dir, "user", "create", "bench", "--role", "engineer", "--organization", str(org))
    device = _cli(data_dir, "device", "create", "bench-gw", "--organization", str(org), "--json")
    # One device posts the whole load: lift the per-device request limit (50/s by default), as ingest.py does.
    env = {**os.environ, "GHGWATCH_MQTT__EMBEDDED_PORT": str(_free_port()),
           "GHGWATCH_SECURITY__INGEST_REQUESTS_PER_DEVICE_S": "0"}
    if args.backlog:  # the queue must not make the ingest refuse the live load (the limit: 500,000 readings)
        env["GHGWATCH_ADMISSION__MAX_BACKLOG"] = str(10_000_000)
    server = Server(data_dir, _free_port(), env)
    server.start()
    try:
        return asyncio.run(_drive(server, org, device, args))
    finally:
        server.stop()
        for name in ("bus", "lake"):  # large; the server log stays in the folder
            shutil.rmtree(data_dir / name, ignore_errors=True)
        for db in data_dir.glob("ghgwatch.db*"):
            db.unlink()


async def _drive(server: Server, org: int, device: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {device['token']}"}
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        await server.healthy(http)
        token, load, alert = await _setup(http, org, args.load_sensors, args.alert_sensors)
        # Warm-up, not measured: every alert sensor opens an alert once under load (the service learns new
        # sensors and rules within its sensor-cache age plus its refresh period).
        arrived: dict[tuple[int, float], float] = {}
        async with _listen(server.base, token, arrived):
            gen = LoadGenerator(server.base, device["token"], load, args.rate, args.load_procs, args.load_conns)
            await gen.prepare()
            gen.start()
            clears: list[asyncio.Future[None]] = []
            await _warm_up(http, auth, alert, arrived, clears)
            await gen.stop()
            await asyncio.gather(*clears, return_exceptions=True)
        depth: Depth | None = None
        gen = LoadGenerator(server.base, device["token"], load, args.rate, args.load_procs, args.load_conns)
        await gen.prepare()
        if args.backlog:
            server.stop()
            total = args.backlog + args.backlog_extra
            t0 = time.perf_counter()
            await _append_backlog(server.data_dir, org, int(device["id"]), load, total)
            print(f"appended {total:,} readings to the bus log in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            depth = Depth(server.data_dir / "ghgwatch.db", load, total)
            server.start()
            depth.start()
            await server.healthy(http)
            print(f"restarted; queued {depth.at(time.perf_counter()):,}", file=sys.stderr)
        try:
            return await _measure(http, server, token, auth, load, alert, args, depth, gen)
        finally:
            if depth is not None:
                depth.stop()


@contextlib.asynccontextmanager
async def _listen(base: str, token: str, arrived: dict[tuple[int, float], float]) -> Any:
    """The SSE stream of alerts: the arrival time of every ``opened`` event by (sensor, reading value)."""
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
    await asyncio.wait_for(connected.wait(), 30)
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


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
    """Wait until every alert sensor has opened an alert once."""
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


class Depth:
    """Backlog readings still queued: appended minus those stored, counted in the SQLite file (read-only, WAL:
    never blocks the server's writer) about every 0.5 s in a thread; ``at(t)`` interpolates."""

    def __init__(self, db: Path, sensors: list[int], appended: int) -> None:
        self.db, self.sensors, self.appended = db, sensors, appended
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.samples.append((time.perf_counter(), self.appended))  # nothing of it stored while the server was down
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        cutoff = int((time.time() - 3600) * 1e6)  # the backlog is 12 h old; live readings are newer than this
        marks = ",".join("?" * len(self.sensors))
        query = f"SELECT count(*) FROM readings WHERE sensor_id IN ({marks}) AND ts < ?"
        con: sqlite3.Connection | None = None
        while not self._stop.wait(0.5):
            try:
                if con is None:
                    con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
                stored = con.execute(query, [*self.sensors, cutoff]).fetchone()[0]
            except sqlite3.Error:
                continue
            self.samples.append((time.perf_counter(), self.appended - int(stored)))
            if stored >= self.appended:
                break
        if con is not None:
            con.close()

    def at(self, t: float) -> int:
        ts = [s[0] for s in self.samples]
        return int(np.interp(t, ts, [s[1] for s in self.samples]))


async def _append_backlog(data_dir: Path, org: int, device: int, sensors: list[int], n: int) -> None:
    """``n`` readings, 12 h old, straight into the stopped server's bus log (as the ingest would publish them)."""
    from ghgwatch.bus import open_bus, topics
    from ghgwatch.ingest.wire import SensorBatch, encode

    bus = open_bus("embedded:", data_dir=data_dir)
    await bus.start()
    try:
        start_us = int((time.time() - 12 * 3600) * 1e6)
        now_us = int(time.time() * 1e6)
        records, appended, k = [], 0, 0
        while appended < n:
            for s in sensors:
                size = min(BACKLOG_PER_RECORD, n - appended)
                if size <= 0:
                    break
                first = start_us + k * BACKLOG_PER_RECORD * 1_000_000  # one reading a second per sensor
                ts = list(range(first, first + size * 1_000_000, 1_000_000))
                records.append(encode(SensorBatch(s, None, ts, [0.3] * size, org, device, "http", now_us,
                                                  f"backlog{k}-{s}")))
                appended += size
            k += 1
            if len(records) >= 2000:
                await bus.publish(topics.READINGS_RAW, records)
                records = []
        if records:
            await bus.publish(topics.READINGS_RAW, records)
    finally:
        await bus.stop()


def _percentiles(lat: list[float]) -> tuple[float | None, float | None]:
    if not lat:
        return None, None
    return float(np.percentile(lat, 50)), float(np.percentile(lat, 99))


async def _measure(http: httpx.AsyncClient, server: Server, token: str, auth: dict[str, str], load: list[int],
                   alert: list[int], args: argparse.Namespace, depth: Depth | None,
                   gen: LoadGenerator) -> dict[str, Any]:
    arrived: dict[tuple[int, float], float] = {}
    accepted: dict[tuple[int, float], float] = {}
    posted: dict[tuple[int, float], float] = {}
    clears: list[asyncio.Future[None]] = []
    assert server.proc is not None
    async with _listen(server.base, token, arrived):
        load_before = _loadavg()
        gen.start()
        if depth is None:
            await asyncio.sleep(args.settle_s)  # the load reaches its rate before the first exceedance
        cpu0, t0 = _cpu_s(server.proc.pid), time.perf_counter()
        interval = 1.0 / args.alert_rate
        started = time.perf_counter()
        for k in range(args.alerts):
            sensor = alert[k % len(alert)]
            value = round(2.0 + k * 1e-4, 6)
            posted[(sensor, value)] = time.perf_counter()
            accepted[(sensor, value)] = await _exceed(http, auth, sensor, value, clears)
            await asyncio.sleep(max(0.0, started + (k + 1) * interval - time.perf_counter()))
        deadline = time.perf_counter() + args.wait_s
        while len(arrived.keys() & accepted.keys()) < len(accepted) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        server_cores = (_cpu_s(server.proc.pid) - cpu0) / (time.perf_counter() - t0)
        load_stats = await gen.stop()
        load_after = _loadavg()
        await asyncio.gather(*clears, return_exceptions=True)
    lat = {k: max(0.0, arrived[k] - t) * 1000 for k, t in accepted.items() if k in arrived}
    for sensor, value in sorted(accepted.keys() - arrived.keys())[:20]:  # what became of a missed exceedance
        try:
            stored = (await http.get("/api/v1/alerts", params={"sensor_id": sensor, "limit": 10}, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"})).json().get("items", [])
        except httpx.HTTPError as exc:
            print(f"missed: sensor {sensor} value {value}; its alerts not listed ({exc!r})", file=sys.stderr)
            continue
        print(f"missed: sensor {sensor} value {value}; its alerts: "
              + json.dumps([{k: a.get(k) for k in ("id", "state", "reading_value", "peak_value", "late", "opened_at",
                                                   "resolved_at")} for a in stored]), file=sys.stderr)
    print(f"clear readings refused: {refused[0]}", file=sys.stderr)
    if args.dump:  # one line per exceedance: seconds after the first was posted, latency in ms
        first = min(posted.values())
        with Path(args.dump).open("a") as f:  # noqa: ASYNC230 (after the measurement)
            f.writelines(f"{posted[k] - first:.3f} {lat[k]:.1f}\n" for k in sorted(lat, key=posted.__getitem__))
    p50, p99 = _percentiles(list(lat.values()))
    out: dict[str, Any] = {"p50_ms": p50, "p99_ms": p99, "alerts": len(lat), "missed": len(accepted) - len(lat),
                           **load_stats, "server_cores": round(server_cores, 2),
                           "loadavg_start": load_before, "loadavg_end": load_after}
    if depth is not None:
        t0 = depth.samples[0][0]
        print("queued (s after restart, readings): "
              + ", ".join(f"{t - t0:.1f} {d:,}" for t, d in depth.samples[::4]), file=sys.stderr)
        first, last = min(posted.values()), max(posted.values())
        deep = [v for k, v in lat.items() if depth.at(posted[k]) >= args.backlog]
        deep_missed = sum(1 for k in accepted.keys() - lat.keys() if depth.at(posted[k]) >= args.backlog)
        d50, d99 = _percentiles(deep)
        out |= {"backlog": args.backlog, "appended": depth.appended, "queued_at_first": depth.at(first),
                "queued_at_last": depth.at(last), "deep_p50_ms": d50, "deep_p99_ms": d99, "deep_alerts": len(deep),
                "deep_missed": deep_missed}
    return out


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
    ap.add_argument("--load-procs", type=int, default=1,
                    help="processes posting the background load (0: a task of the benchmark process)")
    ap.add_argument("--load-conns", type=int, default=2, help="connections per load process")
    ap.add_argument("--load-sensors", type=int, default=50)
    ap.add_argument("--alert-sensors", type=int, default=100)
    ap.add_argument("--settle-s", type=float, default=3.0, help="load before the first exceedance")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--backlog", type=int, default=0,
                    help="older readings queued for storage (at least) when the first exceedance is sent")
    ap.add_argument("--backlog-extra", type=int, default=1_500_000,
                    help="appended beyond --backlog: what the pipeline stores while the server restarts and the "
                         "exceedances are sent")
    ap.add_argument("--wait-s", type=float, default=30.0,
                    help="how long after the last exceedance an opened event may still arrive (later: missed)")
    ap.add_argument("--dump", help="append each exceedance's posting time and latency to this file")
    ap.add_argument("--skip-detectors", action="store_true")
    args = ap.parse_args()
    results = []
    for i in range(args.runs):
        r = run_once(args)
        print(f"run {i + 1}: {json.dumps(r)}", flush=True)
        results.append(r)
    det = None if args.skip_detectors else detector_points_per_s()
    if det is not None:
        print(f"detectors: {det:,.0f} points/s (slowest streaming method, batch)")

    def med(key: str) -> float | None:
        vals = [r[key] for r in results if r.get(key) is not None and not np.isnan(r[key])]
        return round(float(np.median(vals)), 2) if vals else None

    summary: dict[str, Any] = {"p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
                               "alerts": sum(r["alerts"] for r in results),
                               "missed": sum(r["missed"] for r in results),
                               "detector_points_per_s": None if det is None else round(det),
                               "rate": args.rate, "load_readings_per_s": med("load_readings_per_s"),
                               "load_gen_cores": med("load_gen_cores"), "server_cores": med("server_cores"),
                               "runs": args.runs, "backlog": args.backlog}
    if args.backlog:
        summary |= {k: med(k) for k in ("queued_at_first", "queued_at_last", "deep_p50_ms", "deep_p99_ms")}
        summary |= {"deep_alerts": sum(r["deep_alerts"] for r in results),
                    "deep_missed": sum(r["deep_missed"] for r in results)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

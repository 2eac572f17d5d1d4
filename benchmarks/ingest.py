"""Ingest benchmark: readings/s from HTTP accept to durable storage, against a raw-insert baseline.

    python benchmarks/ingest.py --mode embedded --seconds 60 --runs 1
    python benchmarks/ingest.py --mode embedded --seconds 60 --rate 150000    # paced: latency below saturation
    python benchmarks/ingest.py --mode cluster --seconds 60 --pipelines 2     # PostgreSQL + tansu, 2 replicas

The system runs in its own processes (``ghgwatch up`` in embedded mode; ``serve --role api`` and
``serve --role pipeline`` in cluster mode); this process loads it over HTTP with batches of 1,000 readings
from ``--concurrency`` connections, then waits until every acknowledged reading is stored. In the same run it
measures a baseline: the same rows inserted into the same table (same schema and key) with the fastest plain
driver method (SQLite: ``executemany`` in one transaction; PostgreSQL: psycopg binary COPY).

Accept-to-stored latency percentiles come from the server's own histogram
``ghgwatch_pipeline_accept_to_stored_seconds`` (interpolated within buckets). The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

from ingest_load import BATCH, load

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# One benchmark device stands for a whole fleet: the per-device request limit (50 requests/s by default,
# docs/security.md) would measure the limit, not the storage path, so it is off here.
NO_DEVICE_LIMIT = {"GHGWATCH_SECURITY__INGEST_REQUESTS_PER_DEVICE_S": "0"}
MEMORY_BOUND_MB = 1024.0
"""Resident memory allowed to the system under test (peak, all its processes), issue 16."""
DUPLICATES = "SELECT 1 FROM readings GROUP BY sensor_id, ts HAVING count(*) > 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "ghgwatch", *args], env=env, capture_output=True, text=True,
                          check=True).stdout


def setup_registry(env: dict[str, str], workdir: Path, sensors: int) -> str:
    cli(env, "db", "upgrade")
    org = json.loads(cli(env, "org", "create", f"Bench {uuid.uuid4().hex[:6]}"))["id"]
    (workdir / "f.csv").write_text(f"organization_id,name,type\n{org},Bench mine,underground_mine\n")
    cli(env, "import", "table", "facilities", str(workdir / "f.csv"))
    (workdir / "s.csv").write_text("facility_id,name,type\n1,Shaft,ventilation_shaft\n")
    cli(env, "import", "table", "sources", str(workdir / "s.csv"))
    rows = "".join(f"1,CH4 {i},methane,%\n" for i in range(sensors))
    (workdir / "x.csv").write_text("source_id,name,kind,unit\n" + rows)
    cli(env, "import", "table", "sensors", str(workdir / "x.csv"))
    return str(json.loads(cli(env, "device", "create", "bench", "--organization", str(org), "--json"))["token"])


Row = tuple[int, int, float]
Procs = list[subprocess.Popen[bytes]]


def sent_rows(n_batches: int, sensors: int, base_s: int, cap: int) -> list[Row]:
    """The rows of the first ``n_batches`` bodies (at most ``cap``), for the baseline."""
    return [(n % sensors + 1, (base_s * 1000 + n) * 1000, 0.3 + (n % 97) / 1000)
            for n in range(min(n_batches * BATCH, cap))]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


def histogram_quantiles(metrics_text: str, name: str, quantiles: tuple[float, ...]) -> list[float]:
    summed: dict[float, float] = {}  # several processes' histograms add up bucket by bucket
    for line in metrics_text.splitlines():
        if line.startswith(f"{name}_bucket{{"):
            le_text = line.split('le="', 1)[1].split('"', 1)[0]
            le = float("inf") if le_text == "+Inf" else float(le_text)
            summed[le] = summed.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
    buckets = sorted(summed.items())
    total = buckets[-1][1] if buckets else 0.0
    out = []
    for q in quantiles:
        target, prev_le, prev_count = q * total, 0.0, 0.0
        value = float("nan")
        for le, count in buckets:
            if count >= target:
                if le == float("inf"):
                    value = prev_le
                else:
                    fraction = 0.0 if count == prev_count else (target - prev_count) / (count - prev_count)
                    value = prev_le + (le - prev_le) * fraction
                break
            prev_le, prev_count = le, count
        out.append(value * 1000)
    return out


def peak_rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


# ----------------------------------------------------------------------------------------------- stores


class SqliteStore:
    def __init__(self, data: Path) -> None:
        self.path = data / "ghgwatch.db"

    def count(self) -> int:
        with sqlite3.connect(self.path, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])

    def duplicates(self) -> int:
        with sqlite3.connect(self.path, timeout=30) as conn:
            return int(conn.execute(
                f"SELECT count(*) FROM ({DUPLICATES})").fetchone()[0])

    @staticmethod
    def baseline(rows: list[tuple[int, int, float]], workdir: Path) -> float:
        from ghgwatch.store.migrate import upgrade

        path = workdir / f"baseline-{uuid.uuid4().hex[:6]}.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO readings (sensor_id, ts, value, quality) VALUES (?, ?, ?, 0)", rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        path.unlink()
        return len(rows) / elapsed


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def _scalar(self, sql: str) -> int:
        import psycopg

        with psycopg.connect(self.url) as conn:
            return int(conn.execute(sql).fetchone()[0])  # type: ignore[index]

    def count(self) -> int:
        return self._scalar("SELECT count(*) FROM readings")

    def duplicates(self) -> int:
        return self._scalar(f"SELECT count(*) FROM ({DUPLICATES}) d")

    @staticmethod
    def baseline(rows: list[tuple[int, int, float]], admin_url: str) -> float:
        import psycopg
        from tests.support import postgres

        from ghgwatch.store.migrate import upgrade

        name = f"ghgwatch_bench_base_{uuid.uuid4().hex[:6]}"
        url = postgres.create_database(admin_url, name)
        try:
            upgrade(postgres.asyncpg_url(url))
            with psycopg.connect(url) as conn:
                # readings is partitioned by day (ADR 0016): the same partitions as the system had, made first.
                for day in sorted({ts // 86_400_000_000 for _, ts, _ in rows}):
                    name = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("readings_p%Y%m%d")
                    conn.execute(f"CREATE TABLE {name} PARTITION OF readings FOR VALUES FROM "
                                 f"({day * 86_400_000_000}) TO ({(day + 1) * 86_400_000_000})")
                conn.commit()
                started = time.perf_counter()
                with conn.cursor() as cur, cur.copy(
                        "COPY readings (sensor_id, ts, value, quality) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "int8", "float8", "int2"])
                    for sensor, ts, value in rows:
                        copy.write_row((sensor, ts, value, 0))
                conn.commit()
                elapsed = time.perf_counter() - started
        finally:
            postgres.drop_database(admin_url, name)
        return len(rows) / elapsed


# ----------------------------------------------------------------------------------------------- modes


@contextmanager
def embedded_system(workdir: Path, sensors: int) -> Iterator[tuple[str, str, Procs, SqliteStore]]:
    data = workdir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")} | {"GHGWATCH_DATA_DIR": str(data)} \
        | NO_DEVICE_LIMIT
    token = setup_registry(env, workdir, sensors)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--port", str(port), "--data-dir", str(data)],
                            env=env | {"GHGWATCH_MQTT__EMBEDDED_PORT": str(free_port())},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, token, [proc], SqliteStore(data)
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def cluster_system(workdir: Path, sensors: int, admin_url: str,
                   pipelines: int = 1) -> Iterator[tuple[str, str, Procs, PostgresStore]]:
    from tests.support import postgres
    from tests.support.tansu import running_tansu

    name = f"ghgwatch_bench_{uuid.uuid4().hex[:6]}"
    db_url = postgres.create_database(admin_url, name)
    try:
        with running_tansu() as broker:
            env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")} | {
                "GHGWATCH_MODE": "cluster", "GHGWATCH_DB__URL": postgres.asyncpg_url(db_url),
                "GHGWATCH_BUS__URL": broker.url, "GHGWATCH_DATA_DIR": str(workdir / "data"),
                "GHGWATCH_SECURITY__JWT_SECRET": uuid.uuid4().hex * 2} | NO_DEVICE_LIMIT
            token = setup_registry(env, workdir, sensors)
            ports = [("api", free_port())] + [("pipeline", free_port()) for _ in range(pipelines)]
            procs = [subprocess.Popen([sys.executable, "-m", "ghgwatch", "serve", "--role", role, "--host",
                                       "127.0.0.1", "--port", str(port)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for role, port in ports]
            try:
                for proc, (_, port) in zip(procs, ports, strict=True):
                    wait_healthy(f"http://127.0.0.1:{port}", proc)
                yield f"http://127.0.0.1:{ports[0][1]}", token, procs, PostgresStore(db_url)
            finally:
                for proc in procs:
                    proc.terminate()
                    proc.wait(30)
    finally:
        postgres.drop_database(admin_url, name)


def family(pids: list[int]) -> list[int]:
    """The processes and their children (``ghgwatch up`` runs its pipeline's store step in a child)."""
    out = list(pids)
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            out += [c.pid for c in psutil.Process(pid).children(recursive=True)]
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes (and their threads) so far."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


@contextmanager
def profiled(pids: list[int], out_dir: Path | None, seconds: float) -> Iterator[None]:
    """With ``out_dir``, sample the system's processes with py-spy while the load runs (collapsed stacks, one
    file per process, ``--format raw``; 50 Hz, so the profiler costs little)."""
    if out_dir is None:
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).with_name("py-spy"))
    procs = [subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "50",
                               "--duration", str(int(seconds)), "--format", "raw",
                               "--output", str(out_dir / f"{pid}.txt")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]
    try:
        yield
    finally:
        for proc in procs:
            proc.wait(60)


def run_once(mode: str, seconds: float, sensors: int, concurrency: int, admin_url: str | None,
             rate: float | None = None, pipelines: int = 1, profile: Path | None = None,
             client: str = "raw") -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="ghgwatch-bench-"))
    base_s = int((datetime.now(UTC) - timedelta(days=2)).timestamp())
    system = embedded_system(workdir, sensors) if mode == "embedded" else cluster_system(
        workdir, sensors, admin_url or "", pipelines)
    with system as (url, token, procs, store):
        pids = family([p.pid for p in procs])
        system_cpu, own_cpu = cpu_seconds(pids), cpu_seconds([os.getpid()])
        with profiled(pids, profile, seconds):
            acked, elapsed, refused = asyncio.run(load(url, token, sensors, base_s, seconds, concurrency, rate,
                                                       client))
        # Shares of the 2 cores during the load: the system under test and this load generator.
        pids = family([p.pid for p in procs])  # a child started during the load counts from its start
        system_cores = (cpu_seconds(pids) - system_cpu) / elapsed
        # Of which the children (the pipeline's store process): CPU-seconds since they started.
        children_cores = cpu_seconds([p for p in pids if p not in {q.pid for q in procs}]) / elapsed
        loadgen_cores = (cpu_seconds([os.getpid()]) - own_cpu) / elapsed
        load_avg = os.getloadavg()[0]  # 1-minute load average at the end of the load (this run included)
        accept_rate = acked / elapsed
        started = time.perf_counter()
        deadline = started + 600
        while (stored := store.count()) < acked and time.perf_counter() < deadline:
            time.sleep(0.25)
        drain_s = time.perf_counter() - started
        # CPU cost per reading, load included and drained: comparable across machine loads, unlike rates.
        readings_per_cpu_s = acked / max(cpu_seconds(pids) - system_cpu, 1e-9)
        duplicates = store.duplicates()
        metrics_text = httpx.get(f"{url}/metrics").text if mode == "embedded" else _pipeline_metrics(procs)
        p50, p99 = histogram_quantiles(metrics_text, "ghgwatch_pipeline_accept_to_stored_seconds", (0.5, 0.99))
        rss = peak_rss_mb(family([p.pid for p in procs]))
    rows = sent_rows(acked // BATCH, sensors, base_s, cap=2_000_000)
    baseline = (SqliteStore.baseline(rows, workdir) if mode == "embedded"
                else PostgresStore.baseline(rows, admin_url or ""))
    # End-to-end rate: acknowledged readings over the time until all of them were stored.
    e2e = acked / (elapsed + drain_s)
    return {"readings_per_s": e2e, "accept_per_s": accept_rate, "baseline_rows_per_s": baseline,
            "ratio": e2e / baseline, "p50_ms": p50, "p99_ms": p99, "acked": acked, "stored": stored,
            "duplicates": duplicates, "rss_mb": rss, "refused_503": refused,
            "loadgen_rss_mb": peak_rss_mb([os.getpid()]), "system_cores": system_cores,
            "children_cores": children_cores,
            "loadgen_cores": loadgen_cores, "load_avg": load_avg,
            "readings_per_cpu_s": readings_per_cpu_s}


def _pipeline_metrics(procs: list[subprocess.Popen[bytes]]) -> str:
    # Every process after the first (the API) is a pipeline replica; their ports are in their command lines.
    texts = []
    for proc in procs[1:]:
        args = proc.args
        assert isinstance(args, list)
        texts.append(httpx.get(f"http://127.0.0.1:{args[args.index('--port') + 1]}/metrics").text)
    return "\n".join(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("embedded", "cluster"), default="embedded")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sensors", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pipelines", type=int, default=1, help="cluster mode: pipeline replicas")
    parser.add_argument("--rate", type=float, default=None,
                        help="pace the load at this many readings/s (default: as fast as possible)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write py-spy samples of the system's processes during the load to this folder")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="the load generator's HTTP client (httpx: as in the sections before 2026-12-01 13:30)")
    args = parser.parse_args()
    admin_url = None
    pg = None
    if args.mode == "cluster":
        from tests.support import postgres

        pg = postgres.postgres_server()
        admin_url = pg.__enter__()
    try:
        results = []
        for i in range(args.runs):
            result = run_once(args.mode, args.seconds, args.sensors, args.concurrency, admin_url,
                              args.rate, args.pipelines, args.profile / f"run{i + 1}" if args.profile else None,
                              args.client)
            print(f"run {i + 1}: " + ", ".join(f"{k}={v:,.1f}" for k, v in result.items()), flush=True)
            results.append(result)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)
    median = {k: sorted(r[k] for r in results)[len(results) // 2] for k in results[0]}
    summary = {"mode": args.mode, "runs": args.runs, "rate": args.rate, "seconds": args.seconds,
               "pipelines": args.pipelines,
               "sensors": args.sensors,
               "concurrency": args.concurrency, "client": args.client, "cpu_count": psutil.cpu_count(),
               **{k: round(v, 2) for k, v in median.items()}}
    for key in ("acked", "stored", "duplicates"):
        summary[key] = int(median[key])
    summary["all_runs_stored_equals_acked"] = all(r["stored"] == r["acked"] for r in results)
    summary["all_runs_no_duplicates"] = all(r["duplicates"] == 0 for r in results)
    summary["memory_bound_ok"] = all(r["rss_mb"] <= MEMORY_BOUND_MB for r in results)
    summary["load"] = os.getloadavg()[0]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""SIGKILL mid-stream, restart: every acknowledged reading is stored, and exactly once.

Embedded mode: one ``ghgwatch up`` process (API + pipeline, SQLite, embedded log). Cluster mode: separate
``serve --role api`` and ``serve --role pipeline`` processes on PostgreSQL and a Kafka-protocol broker,
killed independently (the broker stays up: tansu keeps data in memory only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app
from tests.support.net import free_port

pytestmark = pytest.mark.slow



def _cli(env: dict[str, str], *args: str) -> str:
    """The command run in this process, as the CLI tests do (seven interpreter starts cost ~15 CPU-s a test); the
    servers under test are separate processes."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exit_code != 0:
        raise AssertionError(f"ghgwatch {' '.join(args)} exited {result.exit_code}: {result.output}"
                             f"{result.exception!r}")
    return result.stdout


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


class Sender(threading.Thread):
    """Posts batches of unique readings until stopped; remembers which were acknowledged (202)."""

    def __init__(self, url: str, token: str, sensors: list[int]) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.sensors = url, token, sensors
        self.acked: set[tuple[int, int]] = set()
        self.stop_flag = threading.Event()
        self.batches = 0
        self.start_ts = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)

    def run(self) -> None:
        i = 0
        with httpx.Client(timeout=10) as client:
            while not self.stop_flag.is_set():
                rows = []
                for k in range(500):
                    n = i * 500 + k
                    ts = self.start_ts + timedelta(milliseconds=n * 10)
                    rows.append({"sensor": self.sensors[n % len(self.sensors)], "ts": ts.isoformat(), "value": 0.5})
                i += 1
                try:
                    answer = client.post(f"{self.url}/api/v1/readings", json={"readings": rows},
                                         headers={"Authorization": f"Bearer {self.token}"})
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                if answer.status_code == 202:
                    self.batches += 1
                    for r in rows:
                        ts_us = int(datetime.fromisoformat(r["ts"]).timestamp() * 1_000_000)
                        self.acked.add((r["sensor"], ts_us))


def _setup_registry(env: dict[str, str], tmp: Path) -> tuple[str, list[int]]:
    _cli(env, "db", "upgrade")
    org = json.loads(_cli(env, "org", "create", "Crash Co"))["id"]
    (tmp / "f.csv").write_text(f"organization_id,name,type\n{org},Mine,underground_mine\n")
    _cli(env, "import", "table", "facilities", str(tmp / "f.csv"))
    (tmp / "s.csv").write_text("facility_id,name,type\n1,Shaft,ventilation_shaft\n")
    _cli(env, "import", "table", "sources", str(tmp / "s.csv"))
    (tmp / "x.csv").write_text("source_id,name,kind,unit\n" + "".join(f"1,CH4 {i},methane,%\n" for i in range(8)))
    _cli(env, "import", "table", "sensors", str(tmp / "x.csv"))
    token = json.loads(_cli(env, "device", "create", "gw", "--organization", str(org), "--json"))["token"]
    return token, list(range(1, 9))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _wait_superset(stored: Callable[[], set[tuple[int, int]]], acked: set[tuple[int, int]],
                   timeout: float = 60) -> set[tuple[int, int]]:
    """The stored keys once they include every acknowledged one (or at the timeout). Readings that were
    durable but not yet acknowledged when the process died may be stored as well: that is allowed."""
    deadline = time.monotonic() + timeout
    while not acked <= (current := stored()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return current


@pytest.fixture
def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")}


def test_embedded_sigkill_loses_nothing(tmp_path: Path, clean_env: dict[str, str]) -> None:
    import sqlite3

    data = tmp_path / "data"
    env = {**clean_env, "GHGWATCH_DATA_DIR": str(data)}
    token, sensors = _setup_registry(env, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "ghgwatch", "up", "--port", str(port), "--data-dir", str(data)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(url, proc)
    except BaseException:  # a server that never became healthy must not outlive the test
        proc.kill()
        proc.wait(20)
        raise
    sender = Sender(url, token, sensors)
    sender.start()
    time.sleep(3.0)
    _kill(proc)  # mid-stream: API and pipeline die together
    time.sleep(0.5)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(url, proc)
        time.sleep(2.0)  # the sender carries on against the restarted process
        sender.stop_flag.set()
        sender.join(15)
        acked = set(sender.acked)
        assert sender.batches >= 4 and len(acked) >= 2000

        def keys() -> set[tuple[int, int]]:
            with sqlite3.connect(data / "ghgwatch.db") as conn:
                return set(conn.execute("SELECT sensor_id, ts FROM readings").fetchall())

        stored = _wait_superset(keys, acked)
        time.sleep(1.0)  # let the pipeline settle so that rollups and raw are read at one moment
        with sqlite3.connect(data / "ghgwatch.db") as conn:
            total = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            rollup_count = conn.execute("SELECT sum(count) FROM rollup_1m").fetchone()[0]
        assert acked <= stored, f"{len(acked - stored)} acknowledged readings lost"
        assert total >= len(stored)
        assert rollup_count == total  # rollups agree with raw after the crash
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture
def cluster_db(pg_admin_url: str) -> Iterator[str]:
    from tests.support import postgres

    name = f"ghgwatch_crash_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(pg_admin_url, name)
    yield url
    postgres.drop_database(pg_admin_url, name)


@pytest.mark.postgres
@pytest.mark.kafka
def test_cluster_sigkill_api_and_pipeline_loses_nothing(tmp_path: Path, clean_env: dict[str, str],
                                                        cluster_db: str) -> None:
    from tests.support.tansu import running_tansu

    with running_tansu() as broker:
        env = {**clean_env, "GHGWATCH_MODE": "cluster", "GHGWATCH_DB__URL": cluster_db.replace(
            "postgresql://", "postgresql+asyncpg://", 1), "GHGWATCH_BUS__URL": broker.url,
            "GHGWATCH_SECURITY__JWT_SECRET": "cluster-test-secret-0123456789abcdef0123456789",
            "GHGWATCH_DATA_DIR": str(tmp_path / "data")}
        token, sensors = _setup_registry(env, tmp_path)
        api_port = free_port()
        url = f"http://127.0.0.1:{api_port}"

        def start(role: str, port: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "ghgwatch", "serve", "--role", role, "--host",
                                     "127.0.0.1", "--port", str(port)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        api = start("api", api_port)
        pipe_port = free_port()
        pipeline = start("pipeline", pipe_port)
        _wait_healthy(url, api)
        _wait_healthy(f"http://127.0.0.1:{pipe_port}", pipeline)
        sender = Sender(url, token, sensors)
        sender.start()
        try:
            time.sleep(4.0)
            _kill(pipeline)
            time.sleep(1.0)
            _kill(api)
            api = start("api", api_port)
            pipeline = start("pipeline", pipe_port)
            _wait_healthy(url, api)
            time.sleep(3.0)
            sender.stop_flag.set()
            sender.join(15)
            acked = set(sender.acked)
            assert sender.batches >= 4

            def keys() -> set[tuple[int, int]]:
                with psycopg.connect(cluster_db) as conn:
                    return set(conn.execute("SELECT sensor_id, ts FROM readings").fetchall())  # type: ignore[arg-type]

            stored = _wait_superset(keys, acked, timeout=90)
            with psycopg.connect(cluster_db) as conn:
                total = conn.execute("SELECT count(*) FROM readings").fetchone()[0]  # type: ignore[index]
            assert acked <= stored, f"{len(acked - stored)} acknowledged readings lost"
            assert total == len(stored)
        finally:
            for p in (api, pipeline):
                p.terminate()
                p.wait(20)

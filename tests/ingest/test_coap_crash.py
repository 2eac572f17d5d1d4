"""SIGKILL mid-stream of CoAP senders, restart: every reading answered 2.04 is stored, and exactly once.

Embedded mode: one ``ghgwatch up`` process (CoAP + pipeline, SQLite, embedded log). Cluster mode: separate
``serve --role coap`` and ``serve --role pipeline`` processes on PostgreSQL and a Kafka-protocol broker,
killed independently, like the HTTP crash test (tests/ingest/test_crash.py).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from aiocoap import Code

from tests.ingest.test_crash import (  # noqa: F401 (fixtures)
    _kill,
    _setup_registry,
    _wait_healthy,
    _wait_superset,
    clean_env,
    cluster_db,
)
from tests.support.coap import coap_client
from tests.support.net import free_port, free_udp_port

pytestmark = pytest.mark.slow


class CoapSender(threading.Thread):
    """Posts batches of unique readings over CoAP until stopped; remembers which were answered 2.04."""

    def __init__(self, port: int, token: str, sensors: list[int]) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.sensors = port, token, sensors
        self.acked: set[tuple[int, int]] = set()
        self.stop_flag = threading.Event()
        self.batches = 0
        self.failures = 0
        self.start_ts = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        i = 0
        while not self.stop_flag.is_set():
            try:
                async with coap_client("127.0.0.1", self.port) as client:
                    while not self.stop_flag.is_set():
                        rows = []
                        for k in range(150):
                            n = i * 150 + k
                            ts = self.start_ts + timedelta(milliseconds=n * 10)
                            rows.append({"sensor": self.sensors[n % len(self.sensors)], "ts": ts.isoformat(),
                                         "value": 0.5})
                        i += 1
                        answer = await client.post_readings(rows, self.token, within_s=15.0)
                        if answer.code == Code.CHANGED and answer.body["accepted"] == len(rows):
                            self.batches += 1
                            self.acked.update((r["sensor"], int(datetime.fromisoformat(r["ts"]).timestamp() * 1e6))
                                              for r in rows)
            except Exception:  # the server died mid-request (timeout, ICMP unreachable): start a new client
                self.failures += 1
                await asyncio.sleep(0.1)


def test_embedded_sigkill_loses_nothing_acknowledged_over_coap(tmp_path: Path, clean_env: dict[str, str]) -> None:  # noqa: F811
    import sqlite3

    data = tmp_path / "data"
    coap_port = free_udp_port()
    env = {**clean_env, "GHGWATCH_DATA_DIR": str(data), "GHGWATCH_COAP__PORT": str(coap_port),
           "GHGWATCH_MQTT__EMBEDDED_PORT": str(free_port())}
    token, sensors = _setup_registry(env, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "ghgwatch", "up", "--port", str(port), "--data-dir", str(data)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_healthy(url, proc, timeout=180)
    sender = CoapSender(coap_port, token, sensors)
    sender.start()
    deadline = time.monotonic() + 120
    while sender.batches < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    _kill(proc)  # mid-stream: CoAP and pipeline die together
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(url, proc, timeout=180)
        before = sender.batches
        deadline = time.monotonic() + 120
        while sender.batches < before + 3 and time.monotonic() < deadline:  # the sender carries on after the restart
            time.sleep(0.1)
        sender.stop_flag.set()
        sender.join(15)
        acked = set(sender.acked)
        assert sender.batches >= before + 3 and len(acked) >= 900

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
        assert rollup_count == total  # stored once: rollups agree with raw after the crash
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.postgres
@pytest.mark.kafka
def test_cluster_sigkill_coap_and_pipeline_loses_nothing(tmp_path: Path, clean_env: dict[str, str],  # noqa: F811
                                                         cluster_db: str) -> None:  # noqa: F811
    from tests.support.tansu import running_tansu

    with running_tansu() as broker:
        coap_port = free_udp_port()
        env = {**clean_env, "GHGWATCH_MODE": "cluster", "GHGWATCH_DB__URL": cluster_db.replace(
            "postgresql://", "postgresql+asyncpg://", 1), "GHGWATCH_BUS__URL": broker.url,
            "GHGWATCH_SECURITY__JWT_SECRET": "cluster-test-secret-0123456789abcdef0123456789",
            "GHGWATCH_DATA_DIR": str(tmp_path / "data"), "GHGWATCH_COAP__PORT": str(coap_port)}
        token, sensors = _setup_registry(env, tmp_path)

        def start(role: str, port: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "ghgwatch", "serve", "--role", role, "--host",
                                     "127.0.0.1", "--port", str(port)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        coap_http, pipe_port = free_port(), free_port()
        coap, pipeline = start("coap", coap_http), start("pipeline", pipe_port)
        _wait_healthy(f"http://127.0.0.1:{coap_http}", coap, timeout=180)
        _wait_healthy(f"http://127.0.0.1:{pipe_port}", pipeline, timeout=180)
        sender = CoapSender(coap_port, token, sensors)
        sender.start()
        try:
            deadline = time.monotonic() + 120
            while sender.batches < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            _kill(pipeline)
            time.sleep(1.0)
            _kill(coap)
            coap, pipeline = start("coap", coap_http), start("pipeline", pipe_port)
            _wait_healthy(f"http://127.0.0.1:{coap_http}", coap, timeout=180)
            before = sender.batches
            deadline = time.monotonic() + 120
            while sender.batches < before + 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            sender.stop_flag.set()
            sender.join(15)
            acked = set(sender.acked)
            assert sender.batches >= before + 3

            def keys() -> set[tuple[int, int]]:
                with psycopg.connect(cluster_db) as conn:
                    return set(conn.execute("SELECT sensor_id, ts FROM readings").fetchall())  # type: ignore[arg-type]

            stored = _wait_superset(keys, acked, timeout=90)
            with psycopg.connect(cluster_db) as conn:
                total = conn.execute("SELECT count(*) FROM readings").fetchone()[0]  # type: ignore[index]
            assert acked <= stored, f"{len(acked - stored)} acknowledged readings lost"
            assert total == len(stored)
        finally:
            for p in (coap, pipeline):
                p.terminate()
                p.wait(20)

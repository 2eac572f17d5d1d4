"""Shared helpers for the deployment tests: repository paths, tools, and a live Prometheus.

The live tests scrape the app itself, started by :func:`target_command` (``ghgwatch up --demo``). Series
that no role exports yet are checked against the synthetic endpoint of :func:`synthetic_target_command`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

#: Path at which the target serves metrics (``ghgwatch up`` mounts the same app at ``/metrics``).
METRICS_PATH = "/metrics"
#: The app shows per-sensor series only to a scraper with this token (``observability.metrics_token``).
METRICS_TOKEN = "test-metrics-token"


def target_command(port: int, workdir: Path) -> list[str]:
    """The real app: ``ghgwatch up --demo`` serving every role on 127.0.0.1:``port`` until stopped.

    The demo seeds a site, backfills 24 h of simulated telemetry and keeps streaming, so the pipeline
    exports the per-sensor and per-source gauges the dashboards chart.
    """
    return [
        sys.executable, "-m", "ghgwatch", "up", "--demo",
        "--port", str(port), "--data-dir", str(workdir / "data"),
    ]  # fmt: skip


def synthetic_target_command(port: int, workdir: Path) -> list[str]:
    """The synthetic endpoint (:mod:`ghgwatch.observability.serve_metrics`), for series no role exports yet."""
    del workdir  # the synthetic endpoint keeps no state
    return [
        sys.executable, "-m", "ghgwatch.observability.serve_metrics",
        "--port", str(port), "--max-seconds", "900",
    ]  # fmt: skip


#: Series the app must export before the live tests start (the demo needs a few seconds for them).
APP_READY_SERIES = (
    "ghgwatch_sensor_value{",
    "ghgwatch_emission_rate_kg_per_hour{",
    "ghgwatch_pipeline_batch_size_count",
    "ghgwatch_sensor_forecast{",
    "ghgwatch_forecast_abs_error{",
)


def require_tool(name: str) -> str:
    """Path of a tool; skipped locally if absent, but a failure in CI (the test command provisions it)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found; run scripts/provision/prometheus.sh (CI provisions it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path



def load_yaml_documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def wait_until(predicate: Any, *, timeout: float, what: str, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass(frozen=True)
class Target:
    address: str  # host:port
    metrics_path: str


@dataclass(frozen=True)
class PrometheusServer:
    url: str
    log: Path

    def api(self, path: str, **params: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10.0)
        body: dict[str, Any] = response.json()
        return body

    def metric_names(self) -> set[str]:
        return set(self.api("label/__name__/values")["data"])


def _metrics_text(url: str) -> str:
    try:
        response = httpx.get(url, timeout=2.0, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    except httpx.HTTPError:
        return ""
    return response.text if response.status_code == 200 else ""


class _PortTaken(RuntimeError):
    """The target could not bind its port: something took it between :func:`free_port` and the bind."""


def _run_target(
    workdir: Path, command: Callable[[int, Path], list[str]], ready_series: tuple[str, ...]
) -> Iterator[Target]:
    # A port found free can be taken before the target binds it (another worker's server, or an outgoing
    # connection's ephemeral port: free_port picks from the same range); then the target starts again on another.
    # Each attempt in a folder of its own: the demo seeds a fresh data folder (a restart on the first attempt's would
    # not run the first-start demo jobs whose series the readiness check waits for).
    for attempt in range(1, 4):
        folder = workdir / f"attempt{attempt}"
        folder.mkdir()
        try:
            yield from _run_target_once(folder, command, ready_series)
            return
        except _PortTaken:
            if attempt == 3:
                raise


def _run_target_once(
    workdir: Path, command: Callable[[int, Path], list[str]], ready_series: tuple[str, ...]
) -> Iterator[Target]:
    port = free_port()
    env = {
        **os.environ,
        # ``up`` starts an embedded MQTT broker; give it a free port, not the default one.
        "GHGWATCH_MQTT__EMBEDDED_PORT": str(free_port()),
        "GHGWATCH_OBSERVABILITY__LOG_LEVEL": "WARNING",
        "GHGWATCH_OBSERVABILITY__METRICS_TOKEN": METRICS_TOKEN,
    }
    log_path = workdir / "target.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(command(port, workdir), stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env)
    try:
        url = f"http://127.0.0.1:{port}{METRICS_PATH}"

        def ready() -> bool:
            if proc.poll() is not None:
                output = log_path.read_text()
                if "address already in use" in output:
                    raise _PortTaken(f"port {port} was taken before the target bound it")
                raise RuntimeError(f"the metrics target exited; see {log_path}:\n{output[-2000:]}")
            text = _metrics_text(url)
            return bool(text) and all(series in text for series in ready_series)

        wait_until(ready, timeout=120, what=f"{', '.join(ready_series) or 'metrics'} at {url}")
        yield Target(f"127.0.0.1:{port}", METRICS_PATH)
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="session")
def metrics_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """``ghgwatch up --demo``, once its sensor and emission-rate gauges exist."""
    workdir = tmp_path_factory.mktemp("target")
    yield from _run_target(workdir, target_command, APP_READY_SERIES)


@pytest.fixture(scope="session")
def synthetic_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir = tmp_path_factory.mktemp("synthetic-target")
    yield from _run_target(workdir, synthetic_target_command, ())


#: Where docker-compose.yml mounts the secret ``metrics_token`` in the Prometheus container.
COMPOSE_TOKEN_FILE = "/run/secrets/metrics_token"


def shipped_authorization(token_file: Path) -> dict[str, Any]:
    """The ``authorization`` block of the ghgwatch job in ``deploy/prometheus/prometheus.yml``, reading the token
    from ``token_file`` instead of the compose secret's path."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "ghgwatch")
    authorization: dict[str, Any] = dict(job["authorization"])
    assert authorization["credentials_file"] == COMPOSE_TOKEN_FILE, authorization
    return {**authorization, "credentials_file": str(token_file)}


def _rules_with_interval(src: Path, dest: Path, interval: str) -> Path:
    """A copy of a rule file whose groups are evaluated every ``interval`` (fast recorded series)."""
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    for group in doc["groups"]:
        group["interval"] = interval
    dest.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return dest


def _run_prometheus(workdir: Path, target: Target) -> Iterator[PrometheusServer]:
    binary = require_tool("prometheus")
    rules = [
        _rules_with_interval(DEPLOY / "prometheus" / "rules" / name, workdir / name, "1s")
        for name in ("recording.yml", "alerts.yml")
    ]
    token_file = workdir / "metrics_token"
    token_file.write_text(METRICS_TOKEN, encoding="utf-8")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rules],
        "scrape_configs": [
            {
                "job_name": "ghgwatch",
                "metrics_path": target.metrics_path,
                # The shipped job's authorization (credentials_file), with the file in this work dir.
                "authorization": shipped_authorization(token_file),
                "static_configs": [{"targets": [target.address]}],
            }
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log_path = workdir / "prometheus.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = PrometheusServer(f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until(
            lambda: proc.poll() is None and _http_ok(f"{server.url}/-/ready"),
            timeout=60,
            what="Prometheus ready",
        )

        def scraped() -> bool:
            targets = server.api("targets")["data"]["activeTargets"]
            return any(t["health"] == "up" for t in targets) and "ghgwatch_build_info" in server.metric_names()

        wait_until(scraped, timeout=90, what="the first successful scrape of ghgwatch")
        yield server
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory, metrics_target: Target) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping ``ghgwatch up --demo`` every second, with the rules evaluated every second."""
    require_tool("prometheus")
    yield from _run_prometheus(tmp_path_factory.mktemp("prometheus"), metrics_target)


@pytest.fixture(scope="session")
def synthetic_prometheus(
    tmp_path_factory: pytest.TempPathFactory, synthetic_target: Target
) -> Iterator[PrometheusServer]:
    """The same, scraping the synthetic endpoint (see ``SYNTHETIC_DASHBOARDS`` in test_grafana_live)."""
    require_tool("prometheus")
    yield from _run_prometheus(tmp_path_factory.mktemp("synthetic-prometheus"), synthetic_target)

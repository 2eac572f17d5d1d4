"""Issue 10, the reproduction: ``ghgwatch up --demo``, and as soon as ``/healthz`` answers (the demo's 24 h
backfill still flowing), one reading of 5 % CH4 (inside the explosive range) from the outgoing-air methane
sensor of the demo mine, posted with the demo device token. Its alarm must appear; the demo must also have
live values and, once its history is stored, a forecast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port

ALARM_WITHIN_S = 30.0  # generous on a loaded machine: nothing in the logic depends on it
FORECAST_WITHIN_S = 300.0


def _wait(check: Any, within_s: float, proc: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        assert proc.poll() is None, log.read_text()[-3000:]
        if time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_up_demo_alarms_on_5_percent_methane_posted_as_soon_as_healthz_answers(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")}
    env["GHGWATCH_MQTT__EMBEDDED_PORT"] = str(free_port())
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--demo", "--port", str(port),
                                 "--data-dir", str(data)], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200, 120, proc, log)
        creds = json.loads((data / "demo-credentials.json").read_text())
        sensor = next(s for s in creds["sensors"] if s["kind"] == "methane" and s["location"] == "mine_outgoing")
        device = {"Authorization": f"Bearer {creds['device_token']}"}
        body = {"readings": [{"sensor": sensor["id"], "ts": datetime.now(UTC).isoformat(), "value": 5.0,
                              "unit": "%"}]}
        answer = httpx.post(f"{base}/api/v1/readings", json=body, headers=device, timeout=10)
        assert answer.status_code == 202, answer.text
        posted = time.monotonic()

        token = httpx.post(f"{base}/api/v1/auth/token", data=creds["admin"], timeout=10).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}

        def alerts() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = httpx.get(f"{base}/api/v1/alerts", headers=admin, timeout=5,
                                                    params={"sensor_id": sensor["id"]}).json()["items"]
            return [a for a in items if a["reading_value"] == 5.0 or a["peak_value"] == 5.0]

        found = _wait(alerts, ALARM_WITHIN_S, proc, log)
        took = time.monotonic() - posted
        assert found, f"no alert for the 5 % CH4 reading within {ALARM_WITHIN_S:.0f} s\n{log.read_text()[-3000:]}"
        alert = found[0]
        assert alert["severity"] == "alarm" and alert["condition"] == "threshold" and alert["unit"] == "%"
        print(f"alarm listed {took:.2f} s after the 202")

        def points() -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = httpx.get(f"{base}/api/v1/sensors/{sensor['id']}/readings",
                                                  headers=admin, timeout=5).json()["points"]
            return got if len(got) >= 2 and any(p["value"] == 5.0 for p in got) else []

        live = _wait(points, 60, proc, log)
        assert live, "the 5 % reading and the demo's live values are not all stored"

        longwall = next(s for s in creds["sensors"] if s["location"] == "longwall_outgoing")
        forecast = _wait(lambda: httpx.get(f"{base}/api/v1/sensors/{longwall['id']}/forecast", headers=admin,
                                           timeout=5).status_code == 200, FORECAST_WITHIN_S, proc, log)
        assert forecast, f"no demo forecast within {FORECAST_WITHIN_S:.0f} s\n{log.read_text()[-3000:]}"
        assert "demo forecasts failed" not in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

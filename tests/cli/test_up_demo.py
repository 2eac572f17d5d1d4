"""``ghgwatch up --demo`` from the command line: health, docs, registry API, credentials file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.net import free_port


def test_up_demo_serves_health_docs_and_registry(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")}
    proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--demo", "--port", str(port),
                             "--data-dir", str(data)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "ghgwatch up did not become ready"
            time.sleep(0.2)
        assert httpx.get(f"{base}/docs").status_code == 200
        creds = json.loads((data / "demo-credentials.json").read_text())
        assert creds["api"] == base
        token = httpx.post(f"{base}/api/v1/auth/token", data=creds["admin"]).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        facilities = httpx.get(f"{base}/api/v1/facilities", headers=headers).json()["items"]
        kinds = {f["type"] for f in facilities}
        assert kinds == {"underground_mine", "boiler_house"}
        mine = next(f for f in facilities if f["type"] == "underground_mine")
        assert mine["gem_mine_id"] == "M0836"
        sources = httpx.get(f"{base}/api/v1/sources", headers=headers, params={"limit": 1000}).json()["items"]
        assert {"ventilation_shaft", "drainage_station", "boiler"} <= {s["type"] for s in sources}
        sensors = httpx.get(f"{base}/api/v1/sensors", headers=headers, params={"limit": 1000}).json()
        assert sensors["total"] == len(creds["sensors"]) > 10
        assert creds["device_token"].startswith("gwd_")
        assert {"id", "kind", "unit", "source"} <= creds["sensors"][0].keys()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)

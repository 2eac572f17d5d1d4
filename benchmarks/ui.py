"""Web UI speed in a real Chromium against ``ghgwatch up --demo`` (a throwaway data folder).

Measures, per the issue's targets:

* ``first_page_ms``: the overview (map, facilities, latest values, all in the first answer) from navigation
  start until its scripts have run (DOMContentLoaded: the page is interactive), with the static files in the
  browser's cache as after any earlier visit (``first_page_cold_ms``: with an empty cache), the browser's own
  figure for it, and ``first_page_live_refresh_ms`` until its script has fetched fresh values and states.
* ``chart_30d_ms``: the monitoring chart of one sensor with 30 days of 1-minute readings (posted first,
  43,200 points) from the click on "30 days" until the chart shows the new series (served from rollups).
* ``board_cpu_pct``: the methane board of a facility with ``--board-sensors`` CH4 sensors fed every
  second, renderer main-thread busy time (Chrome DevTools ``Performance.getMetrics`` TaskDuration) over
  ``--board-seconds`` as a percentage of one core; also the whole browser's CPU time from ``/proc``.

Last line: one JSON object with the figures. Usage: ``python benchmarks/ui.py [--board-seconds 30]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")}
    env["GHGWATCH_MQTT__EMBEDDED_PORT"] = str(_free_port())
    proc = subprocess.Popen([sys.executable, "-m", "ghgwatch", "up", "--demo", "--port", str(port),
                             "--data-dir", str(data)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200 and (data / "demo-credentials.json").exists():
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("ghgwatch up --demo did not start")


def _sensor(base: str, headers: dict[str, str], source: int, name: str) -> int:
    body = {"source_id": source, "name": name, "kind": "methane", "unit": "%", "range_min": 0, "range_max": 100,
            "warning_level": 0.8, "alarm_level": 1.0, "expected_interval_s": 60}
    answer = httpx.post(f"{base}/api/v1/sensors", json=body, headers=headers, timeout=30)
    answer.raise_for_status()
    return int(answer.json()["id"])


def _post(base: str, device: dict[str, str], readings: list[dict[str, Any]]) -> None:
    for i in range(0, len(readings), 5000):
        httpx.post(f"{base}/api/v1/readings", json={"readings": readings[i:i + 5000]}, headers=device,
                   timeout=120).raise_for_status()


def _browser_cpu_s(root_pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        stats[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--board-sensors", type=int, default=200)
    parser.add_argument("--board-seconds", type=float, default=30.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="ghgwatch-ui-bench-")) / "data"
    proc, base = _start(data)
    out: dict[str, Any] = {}
    stop = threading.Event()
    try:
        creds = json.loads((data / "demo-credentials.json").read_text())
        token = httpx.post(f"{base}/api/v1/auth/token", data=creds["admin"]).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        device = {"Authorization": f"Bearer {creds['device_token']}"}
        org = creds["organization_id"]
        # A facility for the board: --board-sensors CH4 sensors, fed every second by a thread.
        fac = httpx.post(f"{base}/api/v1/facilities", headers=admin, json={
            "organization_id": org, "name": "Bench mine", "type": "underground_mine"}).json()["id"]
        src = httpx.post(f"{base}/api/v1/sources", headers=admin, json={
            "facility_id": fac, "name": "Bench shaft", "type": "ventilation_shaft"}).json()["id"]
        board = [_sensor(base, admin, src, f"CH4 point {i + 1}") for i in range(args.board_sensors)]
        # 30 days of 1-minute readings of one more sensor.
        long_id = _sensor(base, admin, src, "CH4 month of minutes")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        month = [{"sensor": long_id, "ts": (now - timedelta(minutes=m)).isoformat(),
                  "value": 0.3 + 0.1 * ((m // 60) % 24) / 24} for m in range(30 * 24 * 60, 0, -1)]
        _post(base, device, month)

        def feed() -> None:
            i = 0
            with httpx.Client(timeout=10) as c:
                while not stop.is_set():
                    ts = datetime.now(UTC).isoformat()
                    body = {"readings": [{"sensor": s, "ts": ts, "value": 0.3 + ((i + k) % 50) / 100}
                                         for k, s in enumerate(board)]}
                    with contextlib.suppress(httpx.HTTPError):
                        c.post(f"{base}/api/v1/readings", json=body, headers=device)
                    i += 1
                    stop.wait(1.0)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        time.sleep(20)  # the pipeline stores the month and its rollups

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(base + "/login")
            page.get_by_label("Username").fill(creds["admin"]["username"])
            page.get_by_label("Password").fill(creds["admin"]["password"])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#latest tbody tr")
            cdp_page = page.context.new_cdp_session(page)
            cold, warm, ready, live, ttfb = [], [], [], [], []
            for _ in range(5):
                cdp_page.send("Network.clearBrowserCache")
                t0 = time.perf_counter()
                page.goto(base + "/", wait_until="domcontentloaded")
                cold.append((time.perf_counter() - t0) * 1000)  # no cached scripts or styles
                t0 = time.perf_counter()
                page.goto(base + "/", wait_until="domcontentloaded")
                warm.append((time.perf_counter() - t0) * 1000)  # map, facilities, latest values; scripts ran
                timing = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                                       " return [n.domContentLoadedEventEnd, n.responseStart]; }")
                ready.append(timing[0])
                ttfb.append(timing[1])  # the server's share: first byte of the page
                page.wait_for_selector("#latest .pill")
                live.append((time.perf_counter() - t0) * 1000)  # the script refreshed values and states

            def median(values: list[float]) -> float:
                return round(sorted(values)[len(values) // 2], 1)

            out["first_page_cold_ms"] = median(cold)
            out["first_page_ms"] = median(warm)
            out["first_page_dom_content_loaded_ms"] = median(ready)
            out["first_page_live_refresh_ms"] = median(live)
            out["first_page_first_byte_ms"] = median(ttfb)

            charts = []
            for _ in range(5):
                page.goto(f"{base}/monitoring?facility={fac}&sensor={long_id}")
                page.wait_for_selector("#chart .uplot")
                t0 = time.perf_counter()
                page.get_by_role("button", name="30 days").click()
                page.wait_for_function("() => /1h · [0-9]{3}/.test(document.getElementById('chart-info').textContent)")
                charts.append((time.perf_counter() - t0) * 1000)
            out["chart_30d_ms"] = median(charts)
            out["chart_30d_points"] = page.evaluate("() => document.getElementById('chart-info').textContent")

            page.goto(f"{base}/board?facility={fac}")
            page.wait_for_selector(".gauge.state-normal")
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            time.sleep(3)

            def task_s() -> float:
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                return float(metrics["TaskDuration"])

            browser_pid = _my_browser_pid()
            t0, w0, c0 = task_s(), time.perf_counter(), _browser_cpu_s(browser_pid)
            time.sleep(args.board_seconds)
            t1, w1, c1 = task_s(), time.perf_counter(), _browser_cpu_s(browser_pid)
            out["board_sensors"] = len(board)
            out["board_main_thread_pct"] = round((t1 - t0) / (w1 - w0) * 100, 1)
            out["board_browser_cpu_pct"] = round((c1 - c0) / (w1 - w0) * 100, 1)
            browser.close()
    finally:
        stop.set()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    out["load_avg"] = os.getloadavg()
    print(json.dumps(out))


def _my_browser_pid() -> int:
    """The Chromium browser process started by this benchmark (a descendant of this process)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    for pid in parent:
        up = pid
        while up in parent and up != os.getpid():
            up = parent[up]
        if up != os.getpid():
            continue
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="ignore")
        if "chromium" in cmd and "--type=" not in cmd:
            return pid
    raise SystemExit("the browser process was not found")


if __name__ == "__main__":
    main()

"""A demo-like site built from the seed templates, so the simulator stays in step with ``ghgwatch up --demo``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from ghgwatch.demo.seed import BOILER, DRAINAGE, LONGWALL, SHAFT, SensorTemplate
from ghgwatch.simulator import SensorSpec, sensors_from

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, 07:00 local in Kuzbass (UTC+7)
SITE: list[tuple[str, tuple[SensorTemplate, ...]]] = [
    ("Ventilation shaft M0836.P6", SHAFT),
    ("Ventilation shaft M0836.P7", SHAFT),
    ("Gas drainage station M0836.P3", DRAINAGE),
    ("Gas drainage station M0836.P10", DRAINAGE),
    ("Longwall 5-1 (outgoing air)", LONGWALL),
    ("Boiler No. 1", BOILER),
]


def site_sensor_dicts() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for source, templates in SITE:
        for t in templates:
            out.append({"id": len(out) + 1, "kind": t.kind.value, "unit": t.unit, "name": t.name,
                        "source": source, "location": t.location})
    return out


RANGES = {number: (t.range_min, t.range_max)
          for number, t in enumerate((t for _, templates in SITE for t in templates), start=1)}
"""Physical range of each sensor id, as the seed registers it."""


@pytest.fixture
def sensors() -> list[SensorSpec]:
    return sensors_from(site_sensor_dicts())


@pytest.fixture
def credentials() -> dict[str, Any]:
    return {"api": "http://sim.test", "admin": {"username": "a", "password": "b"},
            "device_token": "gwd_7_s3cr3t_with_underscores", "device_hmac_secret": "hmac-key",
            "organization_id": 3, "sensors": site_sensor_dicts()}


def pick(sensors: list[SensorSpec], kind: str, location: str | None = None, source: str | None = None) -> SensorSpec:
    return next(s for s in sensors if s.kind == kind and (location is None or s.location == location)
                and (source is None or s.source == source))


class Ingest(BaseHTTPRequestHandler):
    """A real HTTP server on loopback: fails the first request with 503, then accepts everything."""

    calls: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((dict(self.headers.items()), body))
        if len(type(self).calls) == 1:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = json.dumps({"accepted": len(json.loads(body)["readings"]), "rejected": []}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def ingest_server() -> Iterator[str]:
    Ingest.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)

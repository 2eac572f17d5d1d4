"""A demo-like site built from the seed templates, so the simulator stays in step with ``ghgwatch up --demo``."""

from __future__ import annotations

from typing import Any

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


RANGES = {len_id + 1: (t.range_min, t.range_max)
          for len_id, t in enumerate(t for _, templates in SITE for t in templates)}


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

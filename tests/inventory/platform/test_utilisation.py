"""Issue 13 item 6 through the running platform: drained gas measured on a gas engine and a flare is
subtracted from the mine's emitted methane; the engine's CO2 goes to 1.A, the flare's to 1.B.1.a.

One hour of readings every 20 s on every sensor (so the hour is fully covered, ghgwatch.inventory.measured):
- ventilation shaft: 5,000 m3/min air × 0.6 % CH4 = 30 m3/min → 1,800 m3 CH4;
- drainage station: 20 m3/min gas × 50 % CH4 = 10 m3/min → 600 m3;
- gas engine: 8 m3/min × 50 % = 4 m3/min → 240 m3; flare: 4 m3/min × 50 % = 2 m3/min → 120 m3.
ipcc2006 set: 0.67 kg/m3 at 20 °C, CO2/CH4 2.75, flare efficiency 0.98 (METHODOLOGY §0, §1.3).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ghgwatch.security.models import Role
from tests.ingest.conftest import Platform
from tests.inventory.platform.test_measured import T0, _air_flow_sensor, _post


async def _source_with_sensors(p: Platform, headers: dict[str, str], kind: str, name: str) -> tuple[int, int]:
    source = await p.client.post("/api/v1/sources", headers=headers,
                                 json={"facility_id": p.world.facility_a, "name": name, "type": kind})
    assert source.status_code == 201, source.text
    sid = int(source.json()["id"])
    ids = []
    for sensor_kind, unit in (("gas_flow", "m3/min"), ("methane", "%")):
        answer = await p.client.post("/api/v1/sensors", headers=headers, json={
            "source_id": sid, "name": f"{name} {sensor_kind}", "kind": sensor_kind, "unit": unit})
        assert answer.status_code == 201, answer.text
        ids.append(int(answer.json()["id"]))
    return ids[0], ids[1]


async def test_utilised_and_flared_gas_from_telemetry(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    air = await _air_flow_sensor(p, eng)
    n = await _post(p, air, range(60), 5000.0) + await _post(p, p.world.sensor_a, range(60), 0.6)
    for kind, flow in (("drainage_station", 20.0), ("gas_engine", 8.0), ("flare", 4.0)):
        q, c = await _source_with_sensors(p, eng, kind, kind.replace("_", " ").title())
        n += await _post(p, q, range(60), flow) + await _post(p, c, range(60), 50.0)
    assert await p.wait_stored(n) == n

    measured = await p.client.get("/api/v1/inventory/measured", headers=eng, params={
        "facility_id": p.world.facility_a, "from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()})
    assert measured.status_code == 200, measured.text
    m = measured.json()
    assert m["ventilation_ch4_m3"] == pytest.approx(1800, rel=1e-6)
    assert m["drainage_ch4_m3"] == pytest.approx(600, rel=1e-6)
    assert m["utilized_ch4_m3"] == pytest.approx(240, rel=1e-6)
    assert m["flared_ch4_m3"] == pytest.approx(120, rel=1e-6)

    run = await p.client.post("/api/v1/inventory/runs", headers=eng, json={
        "organization_id": p.world.org_a, "period_start": T0.isoformat(),
        "period_end": (T0 + timedelta(hours=1)).isoformat(), "include_measured": True, "gwp": "ar5"})
    assert run.status_code == 201, run.text
    result = run.json()["result"]
    by_type = {a["type"]: a for a in result["activities"]}
    mine, engine = by_type["coal_mine_measured"], by_type["methane_utilisation"]
    # Emitted: (1,800 + 600 − 240 − 120) m3 × 0.67e-3 = 1.3668 t; flare slip 0.02 × 120 × 0.67e-3 = 0.001608 t
    assert mine["ch4_t"] == pytest.approx(1.368408, rel=1e-6)
    # Flare CO2 (1.B.1.a): 0.98 × 0.0804 t × 2.75 = 0.216678 t
    assert mine["co2_t"] == pytest.approx(0.216678, rel=1e-6)
    # Engine (1.A): 240 m3 × 0.67e-3 = 0.1608 t CH4 burned × 2.75 = 0.4422 t CO2
    assert engine["category"] == "1.A" and engine["ch4_t"] == 0
    assert engine["co2_t"] == pytest.approx(0.4422, rel=1e-6)
    assert result["totals"]["co2_t"] == pytest.approx(0.216678 + 0.4422, rel=1e-6)
    assert result["totals"]["ch4_t"] == pytest.approx(1.368408, rel=1e-6)

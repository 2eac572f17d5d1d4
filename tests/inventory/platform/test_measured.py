"""Measured methane and methane safety from readings posted through the running platform."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ghgwatch.security.models import Role
from tests.ingest.conftest import Platform

# 03:00 UTC yesterday (10:00 in Kuzbass): the hour the tests post lies inside one UTC day and one local day, so
# a month's report holds it whatever the day and hour of the run (with now - 3 h it crossed a month's end on the
# 1st of December between midnight and 03:00 UTC, and CI failed on it).
T0 = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=1)
STEP_S = 20


async def _air_flow_sensor(p: Platform, headers: dict[str, str]) -> int:
    answer = await p.client.post("/api/v1/sensors", headers=headers, json={
        "source_id": p.world.source_a, "name": "Air flow shaft 1", "kind": "air_flow", "unit": "m3/min"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def _post(p: Platform, sensor: int, minutes: range, value: float) -> int:
    rows = [{"sensor": sensor, "ts": (T0 + timedelta(seconds=m * 60 + k * STEP_S)).isoformat(), "value": value}
            for m in minutes for k in range(60 // STEP_S)]
    answer = await p.client.post("/api/v1/readings", json={"readings": rows}, headers=p.auth)
    assert answer.status_code == 202 and answer.json()["accepted"] == len(rows), answer.text
    return len(rows)


async def _measured(p: Platform, headers: dict[str, str]) -> dict[str, object]:
    answer = await p.client.get("/api/v1/inventory/measured", headers=headers, params={
        "facility_id": p.world.facility_a, "from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_ventilation_methane_integrated_from_readings(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    flow = await _air_flow_sensor(p, eng)
    n = await _post(p, flow, range(60), 5000.0) + await _post(p, p.world.sensor_a, range(60), 0.6)
    assert await p.wait_stored(n) == n
    body = await _measured(p, eng)
    # 5,000 m3/min × 0.006 × 60 min = 1,800 m3 CH4.
    assert body["ventilation_ch4_m3"] == pytest.approx(1800, rel=1e-6)
    assert body["coverage"] == pytest.approx(1.0)
    activity = body["activity"]
    assert isinstance(activity, dict)
    assert activity["type"] == "coal_mine_measured" and activity["gas_reference"] == "20C"

    # A run over that hour with a Tier 1 figure for the same mine: both side by side, measured in the total.
    # 300 t over three whole days around T0 (the run's hour lies inside them whatever the time of day).
    await p.client.post("/api/v1/activity-data", headers=eng, json={
        "facility_id": p.world.facility_a, "period_start": (T0 - timedelta(days=1)).date().isoformat(),
        "period_end": (T0 + timedelta(days=1)).date().isoformat(), "activity_type": "coal_mining_underground",
        "data": {"coal_t": 300}})
    run = await p.client.post("/api/v1/inventory/runs", headers=eng, json={
        "organization_id": p.world.org_a, "period_start": T0.isoformat(),
        "period_end": (T0 + timedelta(hours=1)).isoformat(), "include_measured": True, "gwp": "ar5"})
    assert run.status_code == 201, run.text
    r = run.json()
    # 1,800 m3 × 0.67 kg/m3 = 1.206 t CH4 (IPCC density at 20 °C).
    assert r["result"]["totals"]["ch4_t"] == pytest.approx(1.206, rel=1e-6)
    side = r["comparison"]["tier3_vs_tier1"][0]
    assert side["measured_ch4_t"] == pytest.approx(1.206, rel=1e-6)
    # Tier 1 average class for the three days' 300 t (300 t x 18 m3/t x 0.67 kg/m3 = 3.618 t), pro-rated to the
    # run's one hour of the activity's 72 hours (issue 13 item 11): 3.618 / 72 = 0.05025 t.
    assert side["factor_ch4_t"] == pytest.approx(300 * 18 * 0.67e-3 / 72, rel=1e-6)
    assert r["comparison"]["measured"][0]["coverage"] == pytest.approx(1.0)


async def test_missing_readings_lower_the_coverage(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    flow = await _air_flow_sensor(p, eng)
    n = await _post(p, flow, range(40), 5000.0) + await _post(p, p.world.sensor_a, range(60), 0.6)
    assert await p.wait_stored(n) == n
    body = await _measured(p, eng)
    assert 0.6 < float(body["coverage"]) < 0.7  # type: ignore[arg-type]
    source = body["sources"][0]  # type: ignore[index]
    gaps = source["integration"]["gaps"]
    assert gaps[-1]["treatment"] == "filled_mean"
    # The last 20 minutes are filled with the mean rate of the covered 40: the total stays 1,800 m3.
    assert body["ventilation_ch4_m3"] == pytest.approx(1800, rel=1e-6)
    omitted = await p.client.get("/api/v1/inventory/measured", headers=eng, params={
        "facility_id": p.world.facility_a, "from": T0.isoformat(),
        "to": (T0 + timedelta(hours=1)).isoformat(), "gap_policy": "omit"})
    assert omitted.json()["ventilation_ch4_m3"] == pytest.approx(1800 * 40 / 60, rel=0.02)


async def test_methane_safety_report_from_stored_readings(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    # A registry change makes the in-process sensor view reload (the world was built after it loaded).
    touched = await p.client.patch(f"/api/v1/sensors/{p.world.sensor_a}", json={"alarm_level": 0.75}, headers=eng)
    assert touched.status_code == 200
    # 0.5 % for 10 min, 1.2 % for 5 min (above the 0.75 % alarm level), 0.5 % again.
    n = await _post(p, p.world.sensor_a, range(10), 0.5)
    n += await _post(p, p.world.sensor_a, range(10, 15), 1.2)
    n += await _post(p, p.world.sensor_a, range(15, 25), 0.5)
    assert await p.wait_stored(n) == n
    month = T0.strftime("%Y-%m")
    answer = await p.client.get("/api/v1/reports/methane-safety", headers=eng, params={
        "facility_id": p.world.facility_a, "month": month, "format": "json", "lang": "en"})
    assert answer.status_code == 200, answer.text
    doc = json.loads(answer.content)
    rows = next(s for s in doc["sections"] if s["key"] == "exceedances")["rows"]
    assert len(rows) == 1
    sensor, start, end, duration, peak = rows[0][:5]
    assert sensor == f"CH4 shaft 1 (#{p.world.sensor_a})"
    # Local time (UTC by default) to the second, not ISO with microseconds (issue 13 item 9).
    assert start.startswith((T0 + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M"))
    assert end.startswith((T0 + timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M"))
    assert len(start) == len("2025-03-10 17:05:00")
    assert duration == pytest.approx(5.0)
    assert peak == pytest.approx(1.2)
    assert len(doc["inputs_sha256"]) == 64 and answer.headers["x-inputs-sha256"] == doc["inputs_sha256"]
    local_start = T0 + timedelta(minutes=10, hours=7)  # Asia/Novokuznetsk is UTC+7 all year
    kuzbass = await p.client.get("/api/v1/reports/methane-safety", headers=eng, params={
        "facility_id": p.world.facility_a, "month": local_start.strftime("%Y-%m"), "format": "json", "lang": "en",
        "tz": "Asia/Novokuznetsk"})
    assert kuzbass.status_code == 200, kuzbass.text
    local_rows = next(s for s in json.loads(kuzbass.content)["sections"] if s["key"] == "exceedances")["rows"]
    assert local_rows[0][1].startswith(local_start.strftime("%Y-%m-%d %H:%M"))
    bad = await p.client.get("/api/v1/reports/methane-safety", headers=eng, params={
        "facility_id": p.world.facility_a, "month": month, "tz": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "tz"]
    stranger = await p.world.login(Role.AUDITOR, p.world.org_b)
    denied = await p.client.get("/api/v1/reports/methane-safety", headers=stranger, params={
        "facility_id": p.world.facility_a, "month": month})
    assert denied.status_code == 403
    pdf = await p.client.get("/api/v1/reports/methane-safety", headers=eng, params={
        "facility_id": p.world.facility_a, "month": month, "format": "pdf", "lang": "ru"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

"""What a run counts (issue 13 items 10, 11): pro-rating by overlap, the period cut at now, the coverage policy.

Hand-computed figures. Tier 1 underground mining, IPCC 2006 Vol. 2 Ch. 4 §4.1.3.2 average emission factor
18 m3 CH4/t (METHODOLOGY §1.2) and CH4 density 0.67 kg/m3 at 20 °C (ipcc2006 set, METHODOLOGY §1.3):
1 t of coal → 18 × 0.67e-3 = 0.01206 t CH4.

Telemetry is stored as one-minute buckets (ghgwatch.inventory.telemetry), integrated with samples at the middle
of each minute (ghgwatch.inventory.measured): 40 minutes of air flow at 5,000 m3/min and 0.6 % CH4 = 0.5 m3 CH4/s
give samples at T0+30 s ... T0+39 min 30 s; covered = 39 × 60 s between samples + 30 s held at the head = 2,370 s
of the 3,600 s hour (65.83 %); the 1,230 s tail is a long gap.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from ghgwatch.security.models import Role
from tests.conftest import World
from tests.ingest.conftest import Platform
from tests.inventory.platform.test_measured import T0, _air_flow_sensor, _post

RUNS = "/api/v1/inventory/runs"
CH4_T_PER_T_COAL = 18 * 0.67e-3  # 0.01206 t CH4 per t of coal, Tier 1 average (see the module docstring)
COVERED_S, HOUR_S = 2370.0, 3600.0
RATE_M3_S = 5000 * 0.006 / 60  # 0.5 m3 CH4/s


async def _activity(client: httpx.AsyncClient, headers: dict[str, str], facility: int, start: date, end: date,
                    coal_t: float, kind: str = "coal_mining_underground") -> int:
    answer = await client.post("/api/v1/activity-data", headers=headers, json={
        "facility_id": facility, "period_start": start.isoformat(), "period_end": end.isoformat(),
        "activity_type": kind, "data": {"coal_t": coal_t}, "unit": "t"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def _run(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> httpx.Response:
    return await client.post(RUNS, headers=headers, json={"methodology": "ipcc2006", "gwp": "ar5", **body})


# --- pro-rating and the period cut at now (activity data only) ---------------------------------------------


async def test_activities_pro_rated_by_overlap(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    year_row = await _activity(client, eng, world.facility_a, date(2025, 1, 1), date(2025, 12, 31), 36_500)
    # 20 March to 10 April inclusive = 22 days, 12 of them (20-31 March) in March.
    part_row = await _activity(client, eng, world.facility_a, date(2025, 3, 20), date(2025, 4, 10), 2_200)
    inside = await _activity(client, eng, world.facility_a, date(2025, 3, 5), date(2025, 3, 6), 1_000)
    await _activity(client, eng, world.facility_a, date(2025, 4, 1), date(2025, 4, 30), 9_999)  # outside
    answer = await _run(client, eng, organization_id=world.org_a, period_start="2025-03-01T00:00:00Z",
                        period_end="2025-04-01T00:00:00Z")
    assert answer.status_code == 201, answer.text
    result = answer.json()["result"]
    by_id = {a["id"]: a for a in result["activities"]}
    assert set(by_id) == {f"ad-{year_row}", f"ad-{part_row}", f"ad-{inside}"}
    # 36,500 t x 31/365 = 3,100 t -> 37.386 t CH4; 2,200 t x 12/22 = 1,200 t -> 14.472 t; 1,000 t -> 12.06 t.
    assert by_id[f"ad-{year_row}"]["ch4_t"] == pytest.approx(37.386, rel=1e-9)
    assert by_id[f"ad-{part_row}"]["ch4_t"] == pytest.approx(14.472, rel=1e-9)
    assert by_id[f"ad-{inside}"]["ch4_t"] == pytest.approx(12.06, rel=1e-9)
    assert result["totals"]["ch4_t"] == pytest.approx(37.386 + 14.472 + 12.06, rel=1e-9)
    # The share is listed among the factors used and in the data-quality block.
    shares = [f for f in by_id[f"ad-{year_row}"]["factors"] if f["name"] == "period_share"]
    assert len(shares) == 1 and shares[0]["value"] == pytest.approx(31 / 365, rel=1e-12)
    assert not any(f["name"] == "period_share" for f in by_id[f"ad-{inside}"]["factors"])
    dq = result["data_quality"]
    assert {p["id"]: p["share"] for p in dq["pro_rated"]} == {
        f"ad-{year_row}": pytest.approx(31 / 365, rel=1e-12), f"ad-{part_row}": pytest.approx(12 / 22, rel=1e-12)}
    assert dq["activity_rows"] == 3 and dq["future_excluded"] is False and dq["no_activity_data"] is False


async def test_run_period_cut_at_now(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    year = datetime.now(UTC).year
    jan1, next_jan1 = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    await _activity(client, eng, world.facility_a, jan1.date(), date(year, 12, 31), 100_000)
    before = datetime.now(UTC)
    answer = await _run(client, eng, organization_id=world.org_a, year=year)
    after = datetime.now(UTC)
    assert answer.status_code == 201, answer.text
    result = answer.json()["result"]
    dq = result["data_quality"]
    counted_end = datetime.fromisoformat(dq["counted_period"]["end"])
    assert before <= counted_end <= after
    assert dq["requested_period"]["end"].startswith(f"{year + 1}-01-01") and dq["future_excluded"] is True
    # Only the elapsed part of the year is counted: 100,000 t x elapsed/length of the year x 0.01206.
    share = (counted_end - jan1).total_seconds() / (next_jan1 - jan1).total_seconds()
    assert 0 < share < 1
    assert result["totals"]["ch4_t"] == pytest.approx(100_000 * share * CH4_T_PER_T_COAL, rel=1e-9)
    assert result["totals"]["ch4_t"] < 100_000 * CH4_T_PER_T_COAL


async def test_future_period_counts_nothing_and_says_so(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    year = datetime.now(UTC).year + 1
    await _activity(client, eng, world.facility_a, date(year, 1, 1), date(year, 12, 31), 100_000)
    answer = await _run(client, eng, organization_id=world.org_a, year=year)
    assert answer.status_code == 201, answer.text
    run = answer.json()
    result = run["result"]
    assert result["activities"] == [] and result["totals"]["ch4_t"] == 0
    dq = result["data_quality"]
    assert dq["future_excluded"] is True and dq["activity_rows"] == 0 and dq["no_activity_data"] is True
    report = await client.get(f"{RUNS}/{run['id']}/report", headers=eng,
                              params={"kind": "annual", "format": "json", "lang": "en"})
    assert report.status_code == 200, report.text
    rows = next(s for s in json.loads(report.content)["sections"] if s["key"] == "data_quality")["rows"]
    texts = [str(c) for r in rows for c in r]
    assert any("no activity data" in x for x in texts)
    assert any("not counted (after the time of calculation)" in x for x in texts)
    ru = await client.get(f"{RUNS}/{run['id']}/report", headers=eng,
                          params={"kind": "annual", "format": "json", "lang": "ru"})
    ru_rows = next(s for s in json.loads(ru.content)["sections"] if s["key"] == "data_quality")["rows"]
    assert any("Данные о деятельности организации за период отсутствуют" in str(c) for r in ru_rows for c in r)


# --- telemetry coverage below the minimum --------------------------------------------------------------------


async def _forty_minutes(p: Platform, eng: dict[str, str]) -> None:
    """Air flow for the first 40 minutes of the hour, CH4 for all 60 (pairs exist for 40 minutes)."""
    flow = await _air_flow_sensor(p, eng)
    n = await _post(p, flow, range(40), 5000.0) + await _post(p, p.world.sensor_a, range(60), 0.6)
    assert await p.wait_stored(n) == n


def _hour(**extra: object) -> dict[str, object]:
    return {"period_start": T0.isoformat(), "period_end": (T0 + timedelta(hours=1)).isoformat(),
            "include_measured": True, **extra}


async def _three_days(p: Platform, eng: dict[str, str]) -> int:
    """300 t over three whole days around T0: 3.618 t CH4 at Tier 1, 1/72 of it in the run's hour."""
    return await _activity(p.client, eng, p.world.facility_a, (T0 - timedelta(days=1)).date(),
                           (T0 + timedelta(days=1)).date(), 300)


async def test_low_coverage_refused(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    await _forty_minutes(p, eng)
    await _three_days(p, eng)
    answer = await _run(p.client, eng, organization_id=p.world.org_a, **_hour(measured_policy="refuse"))
    assert answer.status_code == 422, answer.text
    body = answer.json()
    # 2,370 / 3,600 = 65.83 % < 80 % (the default minimum).
    assert "65.83%" in body["detail"] and "80%" in body["detail"]
    assert f"id {p.world.facility_a}" in body["detail"]
    assert body["errors"][0]["loc"] == ["min_coverage"]
    assert (await p.client.get(RUNS, headers=eng)).json() == []  # nothing stored


async def test_low_coverage_complemented_by_tier1(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    await _forty_minutes(p, eng)
    row = await _three_days(p, eng)
    answer = await _run(p.client, eng, organization_id=p.world.org_a, **_hour())
    assert answer.status_code == 201, answer.text
    result = answer.json()["result"]
    by_id = {a["id"]: a for a in result["activities"]}
    # Measured, covered time only (gaps omitted): 0.5 m3/s x 2,370 s = 1,185 m3 x 0.67 kg/m3 = 0.79395 t.
    measured = by_id[f"measured-facility-{p.world.facility_a}"]
    assert measured["ch4_t"] == pytest.approx(RATE_M3_S * COVERED_S * 0.67e-3, rel=1e-6)
    assert measured["ch4_t"] == pytest.approx(0.79395, rel=1e-6)
    # Tier 1 for the uncovered 1,230 s: 3.618 t / 72 h x 1,230/3,600 = 0.05025 x 0.341667 = 0.0171688 t.
    tier1 = by_id[f"ad-{row}"]
    uncovered = (HOUR_S - COVERED_S) / HOUR_S
    assert tier1["ch4_t"] == pytest.approx(300 * CH4_T_PER_T_COAL / 72 * uncovered, rel=1e-9)
    assert tier1["ch4_t"] == pytest.approx(0.0171688, rel=1e-5)
    assert result["totals"]["ch4_t"] == pytest.approx(0.79395 + 0.0171688, rel=1e-5)
    fac = result["data_quality"]["facilities"][0]
    assert fac["treatment"] == "complement" and fac["complement_activities"] == [f"ad-{row}"]
    assert fac["data_fraction"] == pytest.approx(COVERED_S / HOUR_S, rel=1e-9)
    assert fac["uncovered_share"] == pytest.approx(uncovered, rel=1e-9)


async def test_low_coverage_without_tier1_rows_is_measured_only(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    await _forty_minutes(p, eng)
    answer = await _run(p.client, eng, organization_id=p.world.org_a, **_hour())
    assert answer.status_code == 201, answer.text
    result = answer.json()["result"]
    assert result["totals"]["ch4_t"] == pytest.approx(0.79395, rel=1e-6)  # never stretched to the hour
    assert result["data_quality"]["facilities"][0]["treatment"] == "measured_only"


async def test_coverage_above_a_lower_minimum_fills_gaps_by_policy(platform: Platform) -> None:
    p = platform
    eng = await p.world.login(Role.ENGINEER, p.world.org_a)
    await _forty_minutes(p, eng)
    await _three_days(p, eng)
    answer = await _run(p.client, eng, organization_id=p.world.org_a, **_hour(min_coverage=0.6))
    assert answer.status_code == 201, answer.text
    run = answer.json()
    result = run["result"]
    # 65.83 % >= 60 %: the measured value stands, the 1,230 s tail filled with the mean rate (gap policy 'mean'):
    # 1,185 m3 + 1,185/2,370 x 1,230 = 1,800 m3 x 0.67 kg/m3 = 1.206 t; the Tier 1 row only in the comparison.
    assert result["totals"]["ch4_t"] == pytest.approx(1.206, rel=1e-6)
    assert [a["type"] for a in result["activities"]] == ["coal_mine_measured"]
    assert run["comparison"]["tier3_vs_tier1"][0]["factor_ch4_t"] == pytest.approx(0.05025, rel=1e-6)
    assert result["data_quality"]["facilities"][0]["treatment"] == "measured"

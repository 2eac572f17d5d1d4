"""Emission forecast (ghgwatch.inventory.forecast) on a hand-checkable synthetic trend, both databases.

Monthly coal production is chosen so that the 296-FZ basis of month i (2024-01 = 0) is exactly 2,000 + 50·i
t CO2e: IPCC 2006 Tier 1 underground average 18 m3/t × 0.67 kg/m3 = 0.01206 t CH4 per t (METHODOLOGY §1.1, §0),
× 25 (2979-r, METHODOLOGY §2.1) = 0.3015 t CO2e per t of coal. With "now" in January 2026 the line continues:
2026 (i = 24..35) = 12·2,000 + 50·354 = 41,700; 2027 = 48,900; 2028 = 56,100 t CO2e ≥ 50,000 (296-FZ Art. 14(3)):
the threshold is crossed in 2028.
"""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app
from ghgwatch.inventory import forecast
from ghgwatch.inventory.models import ActivityData
from ghgwatch.readings.models import Rollup1m
from ghgwatch.registry.models import Sensor, SensorKind
from ghgwatch.security.models import Role
from ghgwatch.security.principal import Principal
from tests.conftest import World

PER_T = 18 * 0.67 / 1000 * 25  # t CO2e (2979-r) per t of coal, Tier 1 average
NOW = datetime(2026, 1, 15, tzinfo=UTC)


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _coal_rows(world: World, values: dict[tuple[int, int], float]) -> list[ActivityData]:
    rows = []
    for (y, m), co2e in values.items():
        start, end = _month(y, m)
        rows.append(ActivityData(organization_id=world.org_a, facility_id=world.facility_a, period_start=start,
                                 period_end=end, activity_type="coal_mining_underground",
                                 data={"coal_t": co2e / PER_T}, unit="t"))
    return rows


def _line(noise: float = 0.0) -> dict[tuple[int, int], float]:
    return {(2024 + i // 12, i % 12 + 1): 2000 + 50 * i + (noise if i % 2 else -noise) for i in range(24)}


def _actor(world: World) -> Principal:
    return Principal(user_id=0, username="forecaster", role=Role.ENGINEER, organization_id=world.org_a)


async def test_linear_growth_crosses_the_threshold_in_2028(world: World) -> None:
    async with world.db.transaction() as s:
        s.add_all(_coal_rows(world, _line()))
    async with world.db.sessions() as s:
        out = await forecast.forecast(s, _actor(world), world.org_a, history_months=24, horizon_months=36,
                                      include_measured=False, now=NOW)
    actual = [r["co2e_t"] for r in out["monthly"] if r["kind"] == "actual"]
    assert actual == pytest.approx([2000 + 50 * i for i in range(24)])
    assert out["model"]["slope_t_co2e_per_month"] == pytest.approx(50) and out["model"]["n"] == 24
    ahead = [r for r in out["monthly"] if r["kind"] == "forecast"]
    assert [r["month"] for r in ahead[:2]] == ["2026-01", "2026-02"] and len(ahead) == 36
    assert [r["co2e_t"] for r in ahead] == pytest.approx([2000 + 50 * i for i in range(24, 60)])
    assert all(r["basis"] == "trend" for r in ahead)
    annual = {y["year"]: y for y in out["annual"]}
    assert annual[2024]["co2e_t"] == pytest.approx(27_300) and annual[2024]["actual_months"] == 12
    assert annual[2026]["co2e_t"] == pytest.approx(41_700) and annual[2026]["forecast_months"] == 12
    assert annual[2027]["co2e_t"] == pytest.approx(48_900) and not annual[2027]["reaches"]
    assert annual[2028]["co2e_t"] == pytest.approx(56_100) and annual[2028]["reaches"]
    crossing = out["threshold_crossing"]
    assert crossing["status"] == "crosses" and crossing["year"] == 2028 and crossing["threshold_t_co2e"] == 50_000
    # an exact line leaves no residual: the interval closes on the line
    assert crossing["earliest_year"] == crossing["latest_year"] == 2028


async def test_intervals_and_a_production_plan(world: World) -> None:
    async with world.db.transaction() as s:
        s.add_all(_coal_rows(world, _line(noise=100.0)))
        # the plan: 20,000 t of coal in March 2026 → 20,000 × 0.3015 = 6,030 t CO2e
        s.add_all(_coal_rows(world, {(2026, 3): 20_000 * PER_T}))
    async with world.db.sessions() as s:
        out = await forecast.forecast(s, _actor(world), world.org_a, history_months=24, horizon_months=24,
                                      include_measured=False, interval=0.9, now=NOW)
    ahead = {r["month"]: r for r in out["monthly"] if r["kind"] == "forecast"}
    march = ahead["2026-03"]
    assert march["basis"] == "plan" and march["co2e_t"] == pytest.approx(6_030)
    assert march["trend_co2e_t"] == pytest.approx(out["model"]["intercept_t_co2e"]
                                                  + out["model"]["slope_t_co2e_per_month"] * 26)
    trend = [r for r in ahead.values() if r["basis"] == "trend"]
    widths = [r["upper_t"] - r["lower_t"] for r in trend]
    assert all(r["lower_t"] < r["co2e_t"] < r["upper_t"] for r in trend)
    assert widths == sorted(widths) and widths[0] > 0  # wider further ahead
    # the OLS prediction interval by hand for the first month ahead (x = 24, n = 24, x̄ = 11.5, Sxx = 1150)
    from scipy import stats

    x = np.arange(24.0)
    y = np.array([2000 + 50 * i + (100 if i % 2 else -100) for i in range(24)])
    b, a = np.polyfit(x, y, 1)
    s_res = np.sqrt(((y - (a + b * x)) ** 2).sum() / 22)
    half = stats.t.ppf(0.95, 22) * s_res * np.sqrt(1 + 1 / 24 + (24 - 11.5) ** 2 / 1150)
    assert ahead["2026-01"]["upper_t"] - ahead["2026-01"]["co2e_t"] == pytest.approx(half)
    assert ahead["2026-01"]["co2e_t"] == pytest.approx(a + b * 24)
    annual = {y["year"]: y for y in out["annual"]}
    assert annual[2026]["co2e_t"] == pytest.approx(sum(r["co2e_t"] for m, r in ahead.items() if m[:4] == "2026"))
    assert annual[2026]["lower_t"] < annual[2026]["co2e_t"] < annual[2026]["upper_t"]


async def test_measured_methane_scales_the_plan(world: World) -> None:
    """Six months of telemetry at a constant 10 m3/min of CH4 (1,000 m3/min of air at 1 %) beside 100,000 t of coal
    a month: the measured intensity is 10 × 1,440 × days × 0.67 / 1,000 t CH4 over 600,000 t; a planned 50,000 t
    takes that intensity instead of the Tier 1 factor."""
    async with world.db.transaction() as s:
        flow = Sensor(organization_id=world.org_a, facility_id=world.facility_a, source_id=world.source_a,
                      name="Air flow shaft 1", kind=SensorKind.AIR_FLOW, unit="m3/min")
        s.add(flow)
        await s.flush()
        start, end = datetime(2025, 7, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
        t = start
        while t < end:
            bucket = int(t.timestamp()) * 1_000_000
            for sensor, value in ((flow.id, 1000.0), (world.sensor_a, 1.0)):
                s.add(Rollup1m(sensor_id=sensor, bucket=bucket, count=1, sum=value, min=value, max=value,
                               last=value, last_ts=bucket))
            t += timedelta(hours=3)
        s.add_all(_coal_rows(world, {(2025, m): 100_000 * PER_T for m in range(7, 13)}))
        s.add_all(_coal_rows(world, {(2026, 3): 50_000 * PER_T}))
    async with world.db.sessions() as s:
        out = await forecast.forecast(s, _actor(world), world.org_a, history_months=6, horizon_months=3,
                                      gap_policy="interpolate", min_coverage=0.0, now=NOW)
    days = 184  # July to December 2025
    measured_ch4 = 10 * 1440 * days * 0.67 / 1000
    (info,) = out["measured_intensity"]
    assert info["facility_id"] == world.facility_a and info["months"] == 6
    assert info["ch4_t"] == pytest.approx(measured_ch4) and info["coal_t"] == pytest.approx(600_000)
    july = out["monthly"][0]
    assert july["month"] == "2025-07" and july["co2e_t"] == pytest.approx(10 * 1440 * 31 * 0.67 / 1000 * 25)
    march = {r["month"]: r for r in out["monthly"]}["2026-03"]
    assert march["basis"] == "plan"
    assert march["co2e_t"] == pytest.approx(measured_ch4 / 600_000 * 50_000 * 25)


async def test_api_scoped_and_validated(client: httpx.AsyncClient, world: World) -> None:
    eng_a = await world.login(Role.AUDITOR, world.org_a)  # reading a forecast needs no write role
    answer = await client.get("/api/v1/inventory/forecast", headers=eng_a,
                              params={"organization_id": world.org_a, "history_months": 6, "horizon_months": 2})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["monthly"]) == 8 and body["note"].startswith("no emissions")
    other = await world.login(Role.ADMIN, world.org_b)
    refused = await client.get("/api/v1/inventory/forecast", headers=other,
                               params={"organization_id": world.org_a, "history_months": 6})
    assert refused.status_code in (403, 404)
    short = await client.get("/api/v1/inventory/forecast", headers=eng_a,
                             params={"organization_id": world.org_a, "history_months": 2})
    assert short.status_code == 422 and "history_months" in short.text
    model = await client.get("/api/v1/inventory/forecast", headers=eng_a, params={
        "organization_id": world.org_a, "history_months": 6, "method": "linear", "include_measured": False})
    assert model.status_code == 422 and "series too short" in model.json()["detail"]


def test_cli_forecast(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    created = runner.invoke(app, ["org", "create", "Forecast Coal"], env=env)
    assert created.exit_code == 0, created.output
    org = json.loads(created.stdout)["id"]
    bad = runner.invoke(app, ["inventory", "forecast", "--organization", str(org), "--method", "prophet"], env=env)
    assert bad.exit_code == 2 and "--method 'prophet'" in bad.stderr
    target = tmp_path / "forecast.json"
    done = runner.invoke(app, ["inventory", "forecast", "--organization", str(org), "--history-months", "6",
                               "--horizon-months", "12", "--output", str(target)], env=env)
    assert done.exit_code == 0, done.output
    saved = json.loads(target.read_text("utf-8"))
    assert len(saved["monthly"]) == 18 and saved["threshold_crossing"]["status"] == "not_within_horizon"
    assert json.loads(done.stdout)["threshold_crossing"] == saved["threshold_crossing"]

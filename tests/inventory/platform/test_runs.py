"""Inventory runs from stored activity data: METHODOLOGY §6.1 numbers, provenance, roles, reports."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from ghgwatch import __version__
from ghgwatch.inventory import canonical_sha256
from ghgwatch.security.models import Role
from tests.conftest import World

RUNS = "/api/v1/inventory/runs"


async def _seed_61(client: httpx.AsyncClient, world: World, headers: dict[str, str]) -> None:
    """The 2.0 Mt underground mine of METHODOLOGY §6.1 (depth unknown → average factors)."""
    for kind in ("coal_mining_underground", "coal_post_mining_underground"):
        answer = await client.post("/api/v1/activity-data", headers=headers, json={
            "facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
            "activity_type": kind, "data": {"coal_t": 2_000_000}, "unit": "t"})
        assert answer.status_code == 201, answer.text
    # Outside the year: must not be counted.
    await client.post("/api/v1/activity-data", headers=headers, json={
        "facility_id": world.facility_a, "period_start": "2024-01-01", "period_end": "2024-12-31",
        "activity_type": "coal_mining_underground", "data": {"coal_t": 9_000_000}})


@pytest.fixture
async def run(client: httpx.AsyncClient, world: World) -> dict[str, object]:
    eng = await world.login(Role.ENGINEER, world.org_a)
    await _seed_61(client, world, eng)
    answer = await client.post(RUNS, headers=eng, json={"organization_id": world.org_a, "year": 2025,
                                                        "methodology": "ipcc2006", "gwp": "ar5"})
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_run_reproduces_methodology_6_1(run: dict[str, object]) -> None:
    result = run["result"]
    assert isinstance(result, dict)
    # METHODOLOGY §6.1: 24,120 + 3,350 = 27,470 t CH4; CO2e AR5 (28) 769,160 t.
    assert result["totals"]["ch4_t"] == pytest.approx(27_470, rel=1e-3)
    assert result["totals"]["co2e_t"] == pytest.approx(769_160, rel=1e-3)
    assert run["total_co2e_t"] == pytest.approx(769_160, rel=1e-3)
    by_type = {a["type"]: a["ch4_t"] for a in result["activities"]}
    assert by_type == {"coal_mining_underground": pytest.approx(24_120, rel=1e-3),
                       "coal_post_mining_underground": pytest.approx(3_350, rel=1e-3)}
    # 769,160 t ≥ 50,000 t (296-FZ Art. 14(3), in force for 2025).
    assert run["regulated_296fz"] is True and result["threshold_t_co2e"] == 50_000


async def test_run_keeps_hash_and_versions(client: httpx.AsyncClient, world: World, run: dict[str, object]) -> None:
    assert run["code_version"] == __version__
    assert run["methodology"] == "ipcc2006" and run["methodology_version"] == "2006.1" and run["gwp"] == "ar5"
    assert [s["name"] for s in run["factor_sets"]] == ["ipcc2006"]  # type: ignore[union-attr, index]
    assert len(str(run["inputs_sha256"])) == 64
    assert canonical_sha256(run["inputs"]) == run["inputs_sha256"]
    assert run["result"]["inputs_sha256"] == run["inputs_sha256"]  # type: ignore[index]
    auditor = await world.login(Role.AUDITOR, world.org_a)
    listed = (await client.get(RUNS, headers=auditor)).json()
    assert [r["id"] for r in listed] == [run["id"]]
    again = (await client.get(f"{RUNS}/{run['id']}", headers=auditor)).json()
    assert again["inputs_sha256"] == run["inputs_sha256"] and again["result"] == run["result"]


async def test_roles(client: httpx.AsyncClient, world: World, run: dict[str, object]) -> None:
    auditor = await world.login(Role.AUDITOR, world.org_a)
    body = {"organization_id": world.org_a, "year": 2025}
    assert (await client.post(RUNS, headers=auditor, json=body)).status_code == 403
    stranger = await world.login(Role.ENGINEER, world.org_b)
    assert (await client.get(f"{RUNS}/{run['id']}", headers=stranger)).status_code == 403
    assert (await client.post(RUNS, headers=stranger, json=body)).status_code == 403
    assert (await client.get(f"{RUNS}/{run['id']}/report", headers=stranger)).status_code == 403
    assert (await client.get(RUNS, headers=stranger)).json() == []


async def test_reports_open(client: httpx.AsyncClient, world: World, run: dict[str, object]) -> None:
    auditor = await world.login(Role.AUDITOR, world.org_a)
    url = f"{RUNS}/{run['id']}/report"
    pdf = await client.get(url, headers=auditor, params={"kind": "annual", "format": "pdf", "lang": "ru"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-inputs-sha256"] == run["inputs_sha256"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Отчет о выбросах парниковых газов" in text and "Org A" in text

    xlsx = await client.get(url, headers=auditor, params={"kind": "annual", "format": "xlsx", "lang": "en"})
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True)["Summary"]
    totals = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if r and r[0] == "Total, t CO2e"}
    assert totals["Total, t CO2e"] == pytest.approx(run["total_co2e_t"], rel=1e-9)

    detail = await client.get(url, headers=auditor, params={"kind": "detail", "format": "json", "lang": "en"})
    doc = json.loads(detail.content)
    assert doc["inputs_sha256"] == run["inputs_sha256"] and doc["extra"]["code_version"] == __version__
    factors = next(s for s in doc["sections"] if s["key"] == "factors")
    assert any("IPCC" in str(row[4]) for row in factors["rows"])

    csv_text = (await client.get(url, headers=auditor, params={"format": "csv"})).text
    assert csv_text.splitlines()[1] == f"meta,0,inputs_sha256,{run['inputs_sha256']}"


async def test_direct_calculation_and_errors(client: httpx.AsyncClient, world: World) -> None:
    auditor = await world.login(Role.AUDITOR, world.org_a)
    doc = {"methodology": "ipcc2006", "gwp": "ar6", "year": 2025,
           "activities": [{"id": "a1", "type": "coal_mining_underground", "coal_t": 2_000_000}]}
    answer = await client.post("/api/v1/inventory/calculate", headers=auditor, json=doc)
    assert answer.status_code == 200
    assert answer.json()["totals"]["ch4_t"] == pytest.approx(24_120, rel=1e-3)
    bad = await client.post("/api/v1/inventory/calculate", headers=auditor,
                            json={**doc, "activities": [{"id": "x", "type": "flaring", "ch4_m3": -1}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["activity_id"] == "x" and bad.json()["errors"][0]["field"] == "ch4_m3"


async def test_gwp_and_user_factor_sets(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    gwp = (await client.get("/api/v1/reference/gwp", headers=eng)).json()["sets"]
    assert gwp["ar6"]["values"]["ch4_fossil"] == 29.8 and gwp["ar5"]["values"]["ch4"] == 28
    values = {"factors": [{"name": "underground_mining", "value": 12.0, "unit": "m3/t", "status": "user",
                           "source": {"document": "mine degassing study 2024"}}]}
    created = await client.post("/api/v1/factor-sets", headers=eng,
                                json={"name": "mine-a", "version": "1", "values": values})
    assert created.status_code == 201, created.text
    dup = await client.post("/api/v1/factor-sets", headers=eng, json={"name": "mine-a", "version": "1",
                                                                      "values": values})
    assert dup.status_code == 409
    broken = await client.post("/api/v1/factor-sets", headers=eng,
                               json={"name": "x", "version": "1", "values": {"factors": [{"name": "y"}]}})
    assert broken.status_code == 422
    stranger = await world.login(Role.ENGINEER, world.org_b)
    assert (await client.get("/api/v1/factor-sets", headers=stranger)).json() == []

    await client.post("/api/v1/activity-data", headers=eng, json={
        "facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "activity_type": "coal_mining_underground", "data": {"coal_t": 1_000_000}})
    run = (await client.post(RUNS, headers=eng, json={"organization_id": world.org_a, "year": 2025,
                                                      "factor_sets": ["mine-a@1"]})).json()
    # 1.0 Mt × 12 m3/t × 0.67 kg/m3 = 8,040 t CH4 (the user factor replaces the class factor 18).
    assert run["result"]["totals"]["ch4_t"] == pytest.approx(8_040, rel=1e-6)
    assert {"name": "mine-a", "version": "1"} in run["factor_sets"]
    missing = await client.post(RUNS, headers=eng, json={"organization_id": world.org_a, "year": 2025,
                                                         "factor_sets": ["mine-a@9"]})
    assert missing.status_code == 422

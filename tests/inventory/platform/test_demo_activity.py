"""Issue 13 item 10: the demo organisation has a year of (synthetic, labelled) activity data, so its run and
report are meaningful instead of a silent 0."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from ghgwatch.demo.seed import DEMO_MINE_ID, SYNTHETIC, seed_demo
from ghgwatch.reference import gem
from ghgwatch.settings import Settings
from ghgwatch.store import Database


async def test_demo_year_of_activity_data(client: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    creds = await seed_demo(db, settings, api_url="http://test")
    token = (await client.post("/api/v1/auth/token", data=creds["admin"])).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    year = datetime.now(UTC).year - 1
    rows = (await client.get("/api/v1/activity-data", headers=headers, params={"limit": 1000})).json()
    items = rows["items"] if isinstance(rows, dict) else rows
    assert len(items) == 48  # 12 months × (mining, post-mining, boiler coal, diesel)
    assert all(r["provenance"] == SYNTHETIC and "SYNTHETIC" in r["provenance"] for r in items)

    run = await client.post("/api/v1/inventory/runs", headers=headers, json={
        "organization_id": creds["organization_id"], "year": year, "methodology": "ipcc2006", "gwp": "ar5"})
    assert run.status_code == 201, run.text
    result = run.json()["result"]
    (mine,) = gem.find_mines(ids={DEMO_MINE_ID})
    assert mine.production_mt == 4.6 and mine.depth_m == 600  # GEM snapshot: > 400 m → IPCC "high" class
    by_type: dict[str, float] = {}
    for a in result["activities"]:
        by_type[a["type"]] = by_type.get(a["type"], 0.0) + a["ch4_t"]
    # 4.6 Mt × 25 m3/t × 0.67 kg/m3 = 77,050 t; post-mining 4.6 Mt × 4.0 m3/t × 0.67 kg/m3 = 12,328 t
    assert by_type["coal_mining_underground"] == pytest.approx(77_050, rel=1e-9)
    assert by_type["coal_post_mining_underground"] == pytest.approx(12_328, rel=1e-9)
    co2 = sum(a["co2_t"] for a in result["activities"] if a["type"] == "stationary_combustion")
    # Boiler coal 16,800 t × 25.8 TJ/kt × 94.6 t/TJ = 41,003.424 t; diesel 1,140 t × 43.0 × 74.1 = 3,632.382 t
    assert co2 == pytest.approx(41_003.424 + 3_632.382, rel=1e-9)
    assert result["data_quality"]["no_activity_data"] is False
    report = await client.get(f"/api/v1/inventory/runs/{run.json()['id']}/report", headers=headers,
                              params={"kind": "annual", "format": "json", "lang": "en"})
    doc = json.loads(report.content)
    facilities = {r[0] for r in next(s for s in doc["sections"] if s["key"] == "by_facility")["rows"]}
    assert len(facilities) == 2  # the mine and the boiler house

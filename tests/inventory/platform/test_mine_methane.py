"""``/mine-methane`` (deprecated) reads and writes the mine reference database, scoped to the organisation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from ghgwatch.reference.minedb.models import RefMine, RefMineYear
from ghgwatch.registry.models import Facility
from ghgwatch.security.models import Role
from tests.conftest import World

API = "/api/v1/mine-methane"


async def test_mine_methane_is_the_reference_database(client: httpx.AsyncClient, world: World) -> None:
    async with world.db.transaction() as s:
        s.add_all([RefMine(record_key="m-mm", name_en="Mine MM", gem_id="G900010", source="GEM"),
                   RefMineYear(record_key="y-mm-pub", mine_key="m-mm", year=2024, relative_m3_t=7.5,
                               methane_total_m3_min=20.0, source="GEM tracker", data_status="estimated")])
        await s.execute(update(Facility).where(Facility.id == world.facility_a).values(gem_mine_id="G900010"))
    eng_a, eng_b = await world.login(Role.ENGINEER, world.org_a), await world.login(Role.ENGINEER, world.org_b)

    listed = await client.get(API, params={"facility_id": world.facility_a}, headers=eng_a)
    assert listed.status_code == 200, listed.text
    assert listed.headers["Deprecation"] == "true" and "/api/v1/reference/mine-years" in listed.headers["Link"]
    (row,) = listed.json()
    assert row["mine_key"] == "m-mm" and row["gem_mine_id"] == "G900010" and row["relative_m3_t"] == 7.5
    assert row["absolute_m3_min"] == 20.0 and row["data_status"] == "estimated" and row["legacy"] is False

    created = await client.post(API, headers=eng_a, json={"facility_id": world.facility_a, "year": 2025,
                                                          "absolute_m3_min": 31.0, "relative_m3_t": 11.0,
                                                          "source": "A's 2025 survey"})
    assert created.status_code == 201, created.text
    key = created.json()["record_key"]
    assert created.json()["organization_id"] == world.org_a and created.json()["mine_key"] == "m-mm"
    stored = (await client.get(f"/api/v1/reference/mine-years/{key}", headers=eng_a)).json()
    assert stored["methane_total_m3_min"] == 31.0 and stored["relative_m3_t"] == 11.0
    assert (await client.get(f"/api/v1/reference/mine-years/{key}", headers=eng_b)).status_code == 404
    by_year = await client.get(API, params={"gem_mine_id": "G900010"}, headers=eng_b)
    assert [r["year"] for r in by_year.json()] == [2024]  # A's private row is not B's

    # B naming A's facility: refused, nothing written
    intruder = await client.post(API, headers=eng_b, json={"facility_id": world.facility_a, "year": 2026,
                                                           "relative_m3_t": 1.0, "source": "intruder"})
    assert intruder.status_code in (403, 404)
    assert (await client.get(API, params={"facility_id": world.facility_a}, headers=eng_b)).status_code in (403, 404)
    unlinked = await client.post(API, headers=eng_b, json={"facility_id": world.facility_b, "year": 2025,
                                                           "relative_m3_t": 1.0, "source": "B"})
    assert unlinked.status_code == 422 and "facility_id" in unlinked.json()["detail"]
    seam = await client.post(API, headers=eng_a, json={"facility_id": world.facility_a, "year": 2023,
                                                       "seam_gas_m3_t": 14.0, "source": "A"})
    assert seam.status_code == 422 and "/reference/seams" in seam.json()["detail"]

    # The inventory's Tier 2 uses the value written here: 1e6 t × 11.0 m3/t × 0.67 kg/m3 = 7,370 t CH4.
    answer = await client.post("/api/v1/activity-data", headers=eng_a, json={
        "facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "activity_type": "coal_mining_underground", "data": {"coal_t": 1_000_000}})
    assert answer.status_code == 201, answer.text
    run = await client.post("/api/v1/inventory/runs", headers=eng_a, json={
        "organization_id": world.org_a, "year": 2025, "coal_mining_tier": "tier2"})
    assert run.status_code == 201, run.text
    assert run.json()["result"]["totals"]["ch4_t"] == pytest.approx(7_370)
    assert run.json()["comparison"]["tier2_vs_tier1"][0]["record_key"] == key

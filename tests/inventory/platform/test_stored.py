"""An inventory run uses what the platform stores (ghgwatch.inventory.stored): Tier 2 from the mine reference
database, lab compositions for Order 371 formula 3.1, measured leaks from UAV flights, each shown side by side with
the default and never counted twice. Hand-computed from the cited factors: IPCC 2006 Tier 1 underground average
18 m3/t and ρ CH4 0.67 kg/m3 at 20 °C (METHODOLOGY §1.1, §0); Order 371 ρ CH4 0.668, ρ CO2 1.8393 kg/m3 at 20 °C
and Table 3.1 coal-seam gas 76 % CH4, 10.6 % CO2 (ru371 set [?]); AR5 CH4 28 (METHODOLOGY §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from ghgwatch.lab.models import LabResult
from ghgwatch.reference.minedb.models import RefMine, RefMineYear
from ghgwatch.registry.models import EmissionSource, Facility, FacilityType, SourceType
from ghgwatch.security.models import Role
from ghgwatch.uav.leak_models import MeasuredEmission
from tests.conftest import World

RUNS = "/api/v1/inventory/runs"


async def _activity(client: httpx.AsyncClient, headers: dict[str, str], facility: int, kind: str,
                    data: dict[str, Any], source: int | None = None) -> None:
    answer = await client.post("/api/v1/activity-data", headers=headers, json={
        "facility_id": facility, "source_id": source, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "activity_type": kind, "data": data})
    assert answer.status_code == 201, answer.text


async def _run(client: httpx.AsyncClient, headers: dict[str, str], org: int, **extra: Any) -> dict[str, Any]:
    answer = await client.post(RUNS, headers=headers, json={"organization_id": org, "year": 2025, **extra})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _mine_year(key: str, mine: str, value: float, status: str, source: str, org: int | None = None,
               published: bool = False) -> RefMineYear:
    return RefMineYear(record_key=key, mine_key=mine, year=2025, relative_m3_t=value, data_status=status,
                       source=source, organization_id=org, published=published)


async def test_tier2_from_the_reference_database(client: httpx.AsyncClient, world: World) -> None:
    async with world.db.transaction() as s:
        s.add_all([
            RefMine(record_key="m-linked", name_en="Linked mine", gem_id="G900001", source="GEM", depth_m=350.0),
            # public, then A's own measured value (preferred), and B's private one (never visible to A)
            _mine_year("y-public", "m-linked", 9.0, "reported", "GEM tracker 2024"),
            _mine_year("y-own", "m-linked", 12.5, "measured", "A's gas survey 2025", org=world.org_a),
            _mine_year("y-b", "m-linked", 30.0, "measured", "B's private survey", org=world.org_b),
        ])
        await s.execute(update(Facility).where(Facility.id == world.facility_a)
                        .values(attributes={"ref_mine_key": "m-linked"}))
        await s.execute(update(Facility).where(Facility.id == world.facility_b).values(gem_mine_id="G900001"))
        other = Facility(organization_id=world.org_a, name="Unlinked mine", type=FacilityType.UNDERGROUND_MINE)
        s.add(other)
        await s.flush()
        other_id = other.id
    eng = await world.login(Role.ENGINEER, world.org_a)
    await _activity(client, eng, world.facility_a, "coal_mining_underground", {"coal_t": 1_000_000})
    await _activity(client, eng, other_id, "coal_mining_underground", {"coal_t": 1_000_000})
    await _activity(client, eng, world.facility_a, "coal_post_mining_underground", {"coal_t": 1_000_000})

    default = await _run(client, eng, world.org_a, gwp="ar5")
    # Tier 1 (the default): 1e6 t × 18 m3/t × 0.67 kg/m3 = 12,060 t CH4 per mine; post-mining 1e6 × 2.5 × 0.67.
    assert default["result"]["totals"]["ch4_t"] == pytest.approx(2 * 12_060 + 1_675)
    assert default["comparison"]["tier2_vs_tier1"] == []

    run = await _run(client, eng, world.org_a, gwp="ar5", coal_mining_tier="tier2")
    by_type = {(a["type"], a["facility"]): a for a in run["result"]["activities"]}
    linked = by_type[("coal_mining_underground", "Mine a")]
    # Tier 2: 1e6 t × 12.5 m3/t (A's own measured row) × 0.67 kg/m3 = 8,375 t CH4 = 234,500 t CO2e (AR5 28).
    assert linked["ch4_t"] == pytest.approx(8_375) and linked["co2e_t"] == pytest.approx(234_500)
    (ef,) = [f for f in linked["factors"] if f["name"] == "underground_mining.ef"]
    assert ef["value"] == 12.5 and "status measured" in ef["source"] and "A's gas survey 2025" in ef["source"]
    assert "B's" not in str(run)
    assert by_type[("coal_mining_underground", "Unlinked mine")]["ch4_t"] == pytest.approx(12_060)
    assert by_type[("coal_post_mining_underground", "Mine a")]["ch4_t"] == pytest.approx(1_675)  # stays Tier 1
    assert run["result"]["totals"]["ch4_t"] == pytest.approx(8_375 + 12_060 + 1_675)
    side = {e["facility_id"]: e for e in run["comparison"]["tier2_vs_tier1"]}
    a = side[world.facility_a]
    assert a["tier"] == "tier2" and a["status"] == "measured" and a["source"] == "A's gas survey 2025"
    assert a["mine_key"] == "m-linked" and a["link"] == "attribute ref_mine_key=m-linked" and a["caution"] is False
    assert a["ch4_t"] == pytest.approx(8_375) and a["tier1_ch4_t"] == pytest.approx(12_060) and a["in_total"]
    assert side[other_id]["tier"] == "tier1" and "no linked reference mine" in side[other_id]["reason"]
    # the tiers page of the mine finds the same facility (linked by the attribute, not by GEM id) for Tier 3
    tiers = (await client.get("/api/v1/reference/mines/m-linked/tiers", params={"year": 2025}, headers=eng)).json()
    assert tiers["tiers"]["tier3"]["facility_id"] == world.facility_a
    assert tiers["tiers"]["tier2"]["relative_m3_t"] == 12.5


async def test_tier2_public_value_by_gem_id_and_its_status(client: httpx.AsyncClient, world: World) -> None:
    """B's facility is linked by GEM id only; B has no own row, so the public one is cited (A's private one
    is not visible to B); a restored value is flagged."""
    async with world.db.transaction() as s:
        s.add_all([RefMine(record_key="m-gem", name_en="GEM mine", gem_id="G900002", source="GEM"),
                   _mine_year("y-pub", "m-gem", 8.0, "restored", "knn restoration"),
                   _mine_year("y-a", "m-gem", 40.0, "measured", "A's private survey", org=world.org_a)])
        await s.execute(update(Facility).where(Facility.id == world.facility_b).values(gem_mine_id="G900002"))
    eng = await world.login(Role.ENGINEER, world.org_b)
    await _activity(client, eng, world.facility_b, "coal_mining_underground", {"coal_t": 500_000})
    run = await _run(client, eng, world.org_b, gwp="ar5", coal_mining_tier="tier2")
    # 5e5 t × 8.0 m3/t × 0.67 kg/m3 = 2,680 t CH4
    assert run["result"]["totals"]["ch4_t"] == pytest.approx(2_680)
    (e,) = run["comparison"]["tier2_vs_tier1"]
    assert e["status"] == "restored" and e["caution"] is True and e["link"] == "gem_mine_id=G900002"
    assert e["tier1_ch4_t"] == pytest.approx(5_000_000 * 18 * 0.67 / 1000 / 10)
    assert "A's private" not in str(run)


async def test_lab_composition_replaces_table_3_1(client: httpx.AsyncClient, world: World) -> None:
    def sample(sid: str, gas: str, value: float, at: datetime, flags: list[str] | None = None) -> LabResult:
        return LabResult(organization_id=world.org_a, facility_id=world.facility_a, source_id=world.source_a,
                         sample_id=sid, sampled_at=at, gas=gas, concentration=value, unit="%", laboratory="Lab 1",
                         certificate=f"C-{sid}", method="GC", flags=flags or [], file_name="lab.csv", file_row=2,
                         created_by="test")

    async with world.db.transaction() as s:
        s.add_all([sample("S1", "ch4", 55.0, datetime(2025, 6, 1, tzinfo=UTC)),
                   sample("S1", "co2", 4.0, datetime(2025, 6, 1, tzinfo=UTC)),
                   sample("S2", "co2", 7.0, datetime(2025, 9, 1, tzinfo=UTC), flags=["rejected"]),  # left out
                   sample("S3", "co2", 9.0, datetime(2026, 2, 1, tzinfo=UTC))])  # after the period: left out
    eng = await world.login(Role.ENGINEER, world.org_a)
    await _activity(client, eng, world.facility_a, "vented_gas", {"volume_m3": 100_000, "gas_type": "coal_seam_gas"},
                    source=world.source_a)
    run = await _run(client, eng, world.org_a, methodology="ru371")
    (vented,) = run["result"]["activities"]
    # Formula 3.1: 100 thousand m3 × 55 % × 0.668 kg/m3 × 10⁻² = 36.74 t CH4; × 4 % × 1.8393 = 7.3572 t CO2.
    assert vented["ch4_t"] == pytest.approx(36.74) and vented["co2_t"] == pytest.approx(7.3572)
    sources = {f["name"]: f["source"] for f in vented["factors"]}
    assert sources["composition.ch4"].startswith("lab sample S1 of 2025-06-01") and "C-S1" in sources["composition.ch4"]
    (e,) = run["comparison"]["lab_vs_table"]
    assert set(e["applied"]) == {"ch4", "co2"} and e["applied"]["co2"]["sample_id"] == "S1"
    # Table 3.1 beside it: 100 × 76 × 0.668 × 10⁻² = 50.768 t CH4; 100 × 10.6 × 1.8393 × 10⁻² = 19.49658 t CO2.
    assert e["default_composition_ch4_t"] == pytest.approx(50.768)
    assert e["default_composition_co2_t"] == pytest.approx(19.49658)
    off = await _run(client, eng, world.org_a, methodology="ru371", lab_compositions=False)
    assert off["result"]["activities"][0]["ch4_t"] == pytest.approx(50.768)


async def test_uav_leaks_counted_once(client: httpx.AsyncClient, world: World) -> None:
    async with world.db.transaction() as s:
        plant = Facility(organization_id=world.org_a, name="Preparation plant", type=FacilityType.PROCESSING_PLANT)
        s.add(plant)
        await s.flush()
        stack = EmissionSource(organization_id=world.org_a, facility_id=plant.id, name="Dryer stack",
                               type=SourceType.OTHER)
        s.add(stack)
        await s.flush()

        def leak(facility: int, source: int, rate: float, start: datetime, hours: float) -> MeasuredEmission:
            return MeasuredEmission(organization_id=world.org_a, facility_id=facility, source_id=source,
                                    method="mass-balance", start=start, end=start + timedelta(hours=hours),
                                    hours=hours, rate_kg_h=rate, lower_kg_h=rate * 0.6, upper_kg_h=rate * 1.5,
                                    ch4_kg=rate * hours, lower_kg=rate * 0.6 * hours, upper_kg=rate * 1.5 * hours,
                                    created_by="test")

        s.add_all([leak(plant.id, stack.id, 10.0, datetime(2025, 3, 1, tzinfo=UTC), 48),
                   leak(world.facility_a, world.source_a, 50.0, datetime(2025, 5, 1, tzinfo=UTC), 100),
                   leak(world.facility_a, world.source_a, 70.0, datetime(2024, 5, 1, tzinfo=UTC), 100)])  # 2024
        plant_id = plant.id
    eng = await world.login(Role.ENGINEER, world.org_a)
    await _activity(client, eng, world.facility_a, "coal_mining_underground", {"coal_t": 1_000_000})
    run = await _run(client, eng, world.org_a, gwp="ar5")
    # The plant's leak is added: 10 kg/h × 48 h = 480 kg = 0.48 t CH4 (13.44 t CO2e at AR5 28); the mine's leak is
    # inside its Tier 1 figure (12,060 t CH4) and not added.
    assert run["result"]["totals"]["ch4_t"] == pytest.approx(12_060 + 0.48)
    (added,) = [a for a in run["result"]["activities"] if a["type"] == "measured_leak"]
    assert added["facility"] == "Preparation plant" and added["co2e_t"] == pytest.approx(13.44)
    assert "UAV flight" in added["factors"][0]["source"]
    leaks = {e["facility_id"]: e for e in run["comparison"]["measured_leaks"]}
    assert set(leaks) == {plant_id, world.facility_a}
    assert leaks[plant_id]["in_total"] is True and leaks[plant_id]["lower_t"] == pytest.approx(0.288)
    mine = leaks[world.facility_a]
    assert mine["in_total"] is False and mine["ch4_t"] == pytest.approx(5.0)
    # the Tier 1 figure for the same 100 h of 8,760 h: 12,060 × 100 / 8,760 = 137.671 t CH4
    assert mine["facility_figure_same_hours_ch4_t"] == pytest.approx(12_060 * 100 / 8_760)
    assert mine["measured_share_of_figure"] == pytest.approx(5.0 / (12_060 * 100 / 8_760))
    off = await _run(client, eng, world.org_a, gwp="ar5", uav_leaks=False)
    assert off["result"]["totals"]["ch4_t"] == pytest.approx(12_060)
    other = await world.login(Role.ENGINEER, world.org_b)
    b_run = await _run(client, other, world.org_b, gwp="ar5")
    assert b_run["comparison"]["measured_leaks"] == []

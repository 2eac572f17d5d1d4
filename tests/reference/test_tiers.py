"""Tier 1 (by depth), Tier 2 (relative methane content of the reference database) and Tier 3 (telemetry) of a
mine-year, hand-computed from the cited tables, and the tier choice with its explanation.

Every figure: CH4 [t] = EF or relative content [m3/t] × production [t] × 0.67 kg/m3 / 1000, the IPCC 2006
Vol.2 Ch.4 equation with its conversion factor 0.67·10⁻⁶ Gg/m3 at 20 °C and 1 atm (METHODOLOGY §0 and §1.1
[V: S2]). Tier 1 underground factors 10 / 18 / 25 m3/t for < 200 m / 200–400 m or unknown / > 400 m, surface
1.2 m3/t when the overburden is unknown (METHODOLOGY §1.1 table [V: S1, S2]).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ghgwatch.inventory import telemetry
from ghgwatch.reference.minedb import seed
from ghgwatch.registry.models import Facility
from ghgwatch.security.models import Role
from tests.conftest import World

BASE = "/api/v1/reference"
RHO = 0.67  # kg/m3, IPCC 2006 Vol.2 Ch.4 Eq. 4.1.7 text, METHODOLOGY §0 [V: S2]


async def _seeded(world: World) -> None:
    async with world.db.transaction() as s:  # PostgreSQL tests truncate every table, the seed included
        await seed.ensure_seeded(s)


async def _mine(world: World, headers: dict[str, str], **fields: Any) -> str:
    made = await world.client.post(f"{BASE}/mines", headers=headers, json={"source": "test", **fields})
    assert made.status_code == 201, made.text
    return str(made.json()["record_key"])


async def _tiers(world: World, headers: dict[str, str], key: str, **params: Any) -> dict[str, Any]:
    answer = await world.client.get(f"{BASE}/mines/{key}/tiers", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize(("depth_m", "depth_class", "ef", "ch4_t"), [
    (150, "low", 10.0, 10_050.0),       # 1.5e6 t × 10 m3/t × 0.67 / 1000
    (199, "low", 10.0, 10_050.0),
    (200, "average", 18.0, 18_090.0),   # 1.5e6 × 18 × 0.67 / 1000: 200–400 m is the average class
    (400, "average", 18.0, 18_090.0),
    (401, "high", 25.0, 25_125.0),      # 1.5e6 × 25 × 0.67 / 1000
    (None, "average", 18.0, 18_090.0),  # depth unknown → average
])
async def test_tier1_by_depth_class(world: World, depth_m: float | None, depth_class: str, ef: float,
                                    ch4_t: float) -> None:
    a = await world.login(Role.ENGINEER, world.org_a)
    key = await _mine(world, a, name_en="Depth test", mining_method="underground", depth_m=depth_m)
    body = await _tiers(world, a, key, year=2022, production_t=1.5e6)
    t1 = body["tiers"]["tier1"]
    assert (t1["depth_class"], t1["ef_m3_t"]) == (depth_class, ef)
    assert t1["ch4_t"] == pytest.approx(ch4_t, rel=1e-12)
    assert "IPCC 2006" in t1["source"] and "METHODOLOGY §1.1" in t1["source"]
    assert body["density_kg_m3"] == RHO and "0.67e-6 Gg/m3" in body["density_source"]
    assert body["chosen"] == "tier1" and f"{ef:g} m3/t" in body["explanation"]
    assert body["production_source"] == "given in the request"


async def test_tier1_surface_and_gem_depths(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.ENGINEER, world.org_a)
    surface = await _mine(world, a, name_en="Open pit", mining_method="surface", depth_m=60)
    t1 = (await _tiers(world, a, surface, year=2022, production_t=1.5e6))["tiers"]["tier1"]
    # Surface: the overburden is not the mine depth and is unknown → average 1.2 m3/t; 1.5e6 × 1.2 × 0.67 / 1000
    assert (t1["depth_class"], t1["ef_m3_t"]) == ("average", 1.2)
    assert t1["ch4_t"] == pytest.approx(1_206.0, rel=1e-12)
    # Raspadskaya (GEM M0836): GEM depth 600 m → high class; 1e6 × 25 × 0.67 / 1000 = 16,750 t
    rasp = (await _tiers(world, a, "gem:M0836", year=2024, production_t=1e6))["tiers"]["tier1"]
    assert (rasp["depth_m"], rasp["depth_class"], rasp["ch4_t"]) == (600.0, "high", pytest.approx(16_750.0))
    # Alardinskaya (GEM M0767): GEM's repeated default 448 m is not a measurement → unknown → average, not high
    alar = (await _tiers(world, a, "gem:M0767", year=2024, production_t=1e6))["tiers"]["tier1"]
    assert (alar["depth_m"], alar["depth_class"], alar["ef_m3_t"]) == (None, "average", 18.0)
    assert "448" in alar["note"]


async def test_tier2_from_the_reference_database_with_its_source(world: World) -> None:
    await _seeded(world)
    admin = await world.login(Role.ADMIN, None)
    a = await world.login(Role.ENGINEER, world.org_a)
    b = await world.login(Role.ENGINEER, world.org_b)
    key = await _mine(world, admin, name_en="Shared mine", mining_method="underground", depth_m=350)
    public = await world.client.post(f"{BASE}/mine-years", headers=admin, json={
        "mine_key": key, "year": 2021, "production_t": 3.1e6, "relative_m3_t": 20.0,
        "source": "Rostekhnadzor gas category list 2021", "data_status": "reported"})
    assert public.status_code == 201 and public.json()["organization_id"] is None, public.text
    own = await world.client.post(f"{BASE}/mine-years", headers=a, json={
        "mine_key": key, "year": 2021, "relative_m3_t": 14.2, "source": "mine degassing survey 2021",
        "data_status": "measured"})
    assert own.status_code == 201, own.text

    # Org A: its own measured 14.2 m3/t wins over the public 20; production from the public row.
    # 3.1e6 t × 14.2 m3/t = 44.02e6 m3 × 0.67 kg/m3 / 1000 = 29,493.4 t CH4
    body = await _tiers(world, a, key, year=2021)
    t2 = body["tiers"]["tier2"]
    assert body["production_t"] == 3.1e6 and "Rostekhnadzor" in body["production_source"]
    assert (t2["relative_m3_t"], t2["status"], t2["source"]) == (14.2, "measured", "mine degassing survey 2021")
    assert t2["ch4_t"] == pytest.approx(29_493.4, rel=1e-12)
    # Tier 1 beside it: 3.1e6 × 18 × 0.67 / 1000 = 37,386 t (350 m: average class)
    assert body["tiers"]["tier1"]["ch4_t"] == pytest.approx(37_386.0, rel=1e-12)
    assert body["chosen"] == "tier2"
    assert "14.2 m3/t" in body["explanation"] and "mine degassing survey 2021" in body["explanation"]
    assert "Caution" not in body["explanation"]

    # Org B does not see A's private row: the public 20 m3/t, 3.1e6 × 20 × 0.67 / 1000 = 41,540 t
    body_b = await _tiers(world, b, key, year=2021)
    assert body_b["tiers"]["tier2"]["ch4_t"] == pytest.approx(41_540.0, rel=1e-12)
    assert body_b["tiers"]["tier2"]["source"] == "Rostekhnadzor gas category list 2021"

    # A correction is a new version, and Tier 2 names the version it used
    fixed = await world.client.patch(f"{BASE}/mine-years/{own.json()['record_key']}", headers=a,
                                     json={"relative_m3_t": 15.0})
    assert fixed.status_code == 200, fixed.text
    t2 = (await _tiers(world, a, key, year=2021))["tiers"]["tier2"]
    assert (t2["version"], t2["ch4_t"]) == (2, pytest.approx(3.1e6 * 15.0 * RHO / 1000))

    # A year without a relative methane content: Tier 1, the reason stated
    t1_only = await _tiers(world, a, key, year=2019, production_t=1e6)
    assert t1_only["chosen"] == "tier1" and t1_only["tiers"]["tier2"]["available"] is False
    assert "no relative methane content for 2019" in t1_only["explanation"]
    none = await _tiers(world, a, key, year=2019)
    assert none["chosen"] is None and "production" in none["explanation"]


async def test_tier2_from_gem_estimate_is_flagged(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.AUDITOR, world.org_a)
    # Erkovetskiy (GEM M0795, surface): GMET 0.002 Mt CH4/yr, GCMT production 2.1 Mt.
    # relative = 0.002e9 kg / 0.67 kg/m3 / 2.1e6 t = 1.42146 m3/t; × 2.1e6 t × 0.67 / 1000 = 2,000 t (GMET itself)
    body = await _tiers(world, a, "gem:M0795", year=seed.SNAPSHOT_YEAR)
    t2 = body["tiers"]["tier2"]
    assert t2["relative_m3_t"] == pytest.approx(0.002e9 / 0.67 / 2.1e6, rel=1e-12)
    assert t2["ch4_t"] == pytest.approx(2_000.0, rel=1e-9)
    assert t2["status"] == "estimated" and "Global Methane Emitters Tracker" in t2["source"]
    assert body["tiers"]["tier1"]["ch4_t"] == pytest.approx(2.1e6 * 1.2 * RHO / 1000)  # 1,688.4 t
    assert body["chosen"] == "tier2" and "Caution: the value is estimated" in body["explanation"]


def _measurement(facility: Facility, year: int, vent_m3: float, drain_m3: float,
                 coverage: float) -> telemetry.FacilityMeasurement:
    out = telemetry.FacilityMeasurement(facility.id, facility.name, datetime(year, 1, 1, tzinfo=UTC),
                                        datetime(year + 1, 1, 1, tzinfo=UTC), "omit")
    for stream, volume in (("ventilation", vent_m3), ("drainage", drain_m3)):
        out.sources.append(telemetry.SourceMeasurement(
            1, stream, stream, 1, 2, {"ch4_m3": volume, "coverage": coverage, "samples": 1000,
                                      "period_s": 31_536_000.0, "omitted_s": (1 - coverage) * 31_536_000.0}))
    return out


@pytest.mark.parametrize("coverage", [0.95, 0.5])
async def test_tier3_chosen_only_with_enough_coverage(world: World, monkeypatch: pytest.MonkeyPatch,
                                                      coverage: float) -> None:
    """Unit test of the choice: a year of 1-minute telemetry is too large for a test, so the integration
    (tested in tests/inventory/platform/test_measured.py) is replaced by its result."""
    await _seeded(world)
    async with world.db.transaction() as s:
        facility = await s.get(Facility, world.facility_a)
        assert facility is not None
        facility.gem_mine_id = "M0836"
    # METHODOLOGY §6.2: ventilation 30 m3/min and drainage 10 m3/min over a year = 15,768,000 + 5,256,000 m3;
    # 21,024,000 m3 × 0.67 / 1000 = 14,086.08 t CH4
    seen: list[tuple[int, datetime, datetime]] = []

    async def fake(session: Any, fac: Facility, start: datetime, end: datetime,
                   gap_policy: str = "mean") -> telemetry.FacilityMeasurement:
        seen.append((fac.id, start, end))
        return _measurement(fac, start.year, 30 * 525_600, 10 * 525_600, coverage)

    monkeypatch.setattr(telemetry, "measure_facility", fake)
    a = await world.login(Role.ENGINEER, world.org_a)
    await world.client.post(f"{BASE}/mine-years", headers=a, json={
        "mine_key": "gem:M0836", "year": 2023, "production_t": 2e6, "relative_m3_t": 15.0,
        "source": "gas survey 2023", "data_status": "measured"})
    body = await _tiers(world, a, "gem:M0836", year=2023)
    t3 = body["tiers"]["tier3"]
    assert seen and seen[0][0] == world.facility_a and (seen[0][1].year, seen[0][2].year) == (2023, 2024)
    assert t3["facility_id"] == world.facility_a and t3["coverage"] == coverage
    assert body["tiers"]["tier2"]["ch4_t"] == pytest.approx(20_100.0)  # 2e6 × 15 × 0.67 / 1000
    assert body["tiers"]["tier1"]["ch4_t"] == pytest.approx(33_500.0)  # 2e6 × 25 (600 m) × 0.67 / 1000
    if coverage >= 0.8:
        # measured 14,086.08 t over the covered part; the 5 % without telemetry from Tier 2 pro rata,
        # 0.05 × 20,100 = 1,005 t; total 15,091.08 t (never the measured part stretched over the year)
        assert t3["available"] is True and t3["measured_ch4_t"] == pytest.approx(14_086.08, rel=1e-12)
        assert (t3["uncovered_from"], t3["uncovered_ch4_t"]) == ("tier2", pytest.approx(1_005.0))
        assert t3["ch4_t"] == pytest.approx(15_091.08, rel=1e-12)
        assert body["chosen"] == "tier3" and "95.0%" in body["explanation"] and "5.0%" in body["explanation"]
    else:
        assert t3["available"] is False and "50.0%" in t3["reason"] and "80%" in t3["reason"]
        assert body["chosen"] == "tier2" and "50.0%" in body["explanation"]
    # Org B has no facility linked to the mine: no Tier 3 for it
    b = await world.login(Role.ENGINEER, world.org_b)
    t3_b = (await _tiers(world, b, "gem:M0836", year=2023, production_t=1e6))["tiers"]["tier3"]
    assert t3_b["available"] is False and "no facility" in t3_b["reason"]
    # Nor may it name A's facility
    denied = await world.client.get(f"{BASE}/mines/gem:M0836/tiers", headers=b,
                                    params={"year": 2023, "facility_id": world.facility_a})
    assert denied.status_code == 403


async def test_explanation_in_russian(world: World) -> None:
    await _seeded(world)
    a = await world.login(Role.ENGINEER, world.org_a)
    key = await _mine(world, a, name_en="Depth test", mining_method="underground", depth_m=300)
    body = await _tiers(world, a, key, year=2022, production_t=1.5e6, lang="ru")
    assert body["explanation"].startswith("Уровень 1: нет телеметрии")
    assert "18 м3/т" in body["explanation"] and "«средний»" in body["explanation"]
    assert "глубина 300 м" in body["explanation"]
    erk = (await world.client.get(f"{BASE}/mines/gem:M0795/tiers", headers={**a, "Accept-Language": "ru-RU,ru"},
                                  params={"year": seed.SNAPSHOT_YEAR})).json()
    assert "Уровень 2" in erk["explanation"] and "1,421 м3/т" in erk["explanation"]
    assert "Внимание: значение не измерено, а оценено." in erk["explanation"]
    assert "Tier" not in erk["explanation"]

"""Mobile combustion through stored activity data: CSV import with row errors, a run, organisation scoping.

Hand-computed (IPCC 2006 Vol.2 Tables 1.2, 1.4 = 3.2.1, 3.2.2 [M], docs/sources.md): 100 t diesel = 4.3 TJ →
318.63 t CO2, 16.77 kg CH4, 16.77 kg N2O; 10 t motor gasoline, oxidation catalyst = 0.443 TJ → 30.6999 t CO2,
11.075 kg CH4, 3.544 kg N2O.
"""

from __future__ import annotations

import httpx
import pytest

from ghgwatch.security.models import Role
from tests.conftest import World

API = "/api/v1/activity-data"
RUNS = "/api/v1/inventory/runs"


def _csv(world: World) -> bytes:
    f = world.facility_a
    lines = [
        "facility_id,activity_type,year,fuel,vehicle,quantity,unit,provenance",
        f"{f},mobile_combustion,2025,diesel,,100,t,fuel cards 2025",
        f"{f},mobile_combustion,2025,motor_gasoline,oxidation_catalyst,10,т,fuel cards 2025",
        f"{f},mobile_combustion,2025,kerosene,,5,t,fuel cards 2025",          # row 4: unknown fuel
        f"{f},mobile_combustion,2025,motor_gasoline,,5,t,fuel cards 2025",    # row 5: no vehicle
    ]
    return ("\n".join(lines) + "\n").encode()


async def test_fleet_fuel_import_run_and_scoping(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    files = {"file": ("fleet.csv", _csv(world), "text/csv")}
    report = (await client.post(f"{API}/import", files=files, headers=eng)).json()
    assert report["created"] == 2 and [e["row"] for e in report["errors"]] == [4, 5]
    fuel_error, vehicle_error = (e["errors"][0] for e in report["errors"])
    assert fuel_error["loc"] == ["data", "fuel"]
    assert "'motor_gasoline', 'diesel', 'lpg' or 'natural_gas'" in fuel_error["msg"]
    assert "needs vehicle, one of: uncontrolled, oxidation_catalyst" in vehicle_error["msg"]

    items = (await client.get(API, params={"type": "mobile_combustion"}, headers=eng)).json()["items"]
    diesel = next(i for i in items if i["data"]["fuel"] == "diesel")
    assert diesel["data"] == {"fuel": "diesel", "quantity": 100, "unit": "t"}  # the unit column is the fuel's

    answer = await client.post(RUNS, headers=eng, json={"organization_id": world.org_a, "year": 2025,
                                                        "methodology": "ipcc2006", "gwp": "ar5"})
    assert answer.status_code == 201, answer.text
    got = {a["id"]: a for a in answer.json()["result"]["activities"]}
    road = got[f"ad-{diesel['id']}"]
    assert (road["category"], road["scope"]) == ("1.A.3.b", 1)
    assert road["co2_t"] == pytest.approx(318.63, rel=1e-12)
    assert road["co2e_t"] == pytest.approx(318.63 + 0.01677 * 28 + 0.01677 * 265, rel=1e-12)
    petrol = next(a for k, a in got.items() if k != f"ad-{diesel['id']}")
    assert petrol["co2_t"] == pytest.approx(30.6999, rel=1e-12)
    assert petrol["ch4_t"] == pytest.approx(0.011075, rel=1e-12)
    assert petrol["n2o_t"] == pytest.approx(0.003544, rel=1e-12)

    stranger = await world.login(Role.ENGINEER, world.org_b)
    assert (await client.get(f"{API}/{diesel['id']}", headers=stranger)).status_code == 403
    assert (await client.get(API, params={"type": "mobile_combustion"}, headers=stranger)).json()["total"] == 0
    body = {"facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
            "activity_type": "mobile_combustion", "data": {"fuel": "diesel", "quantity": 1, "unit": "t"}}
    assert (await client.post(API, json=body, headers=stranger)).status_code == 403
    refused = await client.post(RUNS, headers=stranger, json={"organization_id": world.org_a, "year": 2025,
                                                              "methodology": "ipcc2006"})
    assert refused.status_code in (403, 404)


async def test_api_names_the_accepted_vehicles(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    body = {"facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
            "activity_type": "mobile_combustion",
            "data": {"fuel": "motor_gasoline", "vehicle": "truck", "quantity": 1, "unit": "t"}}
    bad = await client.post(API, json=body, headers=eng)
    assert bad.status_code == 422
    error = bad.json()["errors"][0]
    assert error["loc"] == ["data", "vehicle"]
    assert "'uncontrolled', 'oxidation_catalyst' or 'low_mileage_ldv_1995_or_later'" in error["msg"]

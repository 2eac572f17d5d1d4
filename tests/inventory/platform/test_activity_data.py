"""Activity data: CRUD with validation against the calc schema, filters, scoping, CSV/XLSX import."""

from __future__ import annotations

import io

import httpx
from openpyxl import Workbook

from ghgwatch.security.models import Role
from tests.conftest import World

API = "/api/v1/activity-data"


def coal(world: World, coal_t: float = 2_000_000, year: int = 2025, **data: object) -> dict[str, object]:
    return {"facility_id": world.facility_a, "period_start": f"{year}-01-01", "period_end": f"{year}-12-31",
            "activity_type": "coal_mining_underground", "data": {"coal_t": coal_t, **data},
            "unit": "t", "provenance": "mine production ledger 2025"}


async def test_crud_filters_and_audit(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    created = await client.post(API, json=coal(world, depth_m=300), headers=eng)
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["organization_id"] == world.org_a and row["data"] == {"coal_t": 2_000_000, "depth_m": 300}
    other = await client.post(API, json={**coal(world, year=2024), "activity_type": "coal_post_mining_underground"},
                              headers=eng)
    assert other.status_code == 201

    by_year = (await client.get(API, params={"year": 2025}, headers=eng)).json()
    assert [r["id"] for r in by_year["items"]] == [row["id"]]
    by_type = (await client.get(API, params={"type": "coal_post_mining_underground"}, headers=eng)).json()
    assert [r["id"] for r in by_type["items"]] == [other.json()["id"]]
    by_facility = (await client.get(API, params={"facility_id": world.facility_b}, headers=eng)).json()
    assert by_facility["total"] == 0

    patched = await client.patch(f"{API}/{row['id']}", json={"data": {"coal_t": 1_500_000}}, headers=eng)
    assert patched.status_code == 200 and patched.json()["data"] == {"coal_t": 1_500_000}
    assert (await client.delete(f"{API}/{row['id']}", headers=eng)).status_code == 204
    assert (await client.get(f"{API}/{row['id']}", headers=eng)).status_code == 404

    admin = await world.login(Role.ADMIN, None)
    audit = (await client.get("/api/v1/audit", params={"entity": "activity_data"}, headers=admin))
    if audit.status_code == 200:  # the audit listing endpoint belongs to another module
        actions = [e["action"] for e in audit.json()["items"]]
        assert {"create", "update", "delete"} <= set(actions)


async def test_invalid_activity_fields_are_named(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    bad = await client.post(API, json=coal(world, coal_t=-5), headers=eng)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["data", "coal_t"]
    unknown = await client.post(API, json={**coal(world), "activity_type": "coal_magic"}, headers=eng)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["activity_type"]
    typo = await client.post(API, json=coal(world, ef_m3_per_ton=15), headers=eng)
    assert typo.status_code == 422 and typo.json()["errors"][0]["loc"] == ["data", "ef_m3_per_ton"]


async def test_roles_and_organisations(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    row = (await client.post(API, json=coal(world), headers=eng)).json()
    auditor = await world.login(Role.AUDITOR, world.org_a)
    assert (await client.get(f"{API}/{row['id']}", headers=auditor)).status_code == 200
    assert (await client.post(API, json=coal(world), headers=auditor)).status_code == 403
    stranger = await world.login(Role.ENGINEER, world.org_b)
    assert (await client.get(f"{API}/{row['id']}", headers=stranger)).status_code == 403
    assert (await client.post(API, json=coal(world), headers=stranger)).status_code == 403
    assert (await client.get(API, headers=stranger)).json()["total"] == 0


def _csv(world: World) -> bytes:
    lines = [
        "facility_id,activity_type,year,coal_t,depth_m,fuel,quantity,unit,provenance",
        f"{world.facility_a},coal_mining_underground,2025,2000000,,,,t,ledger",
        f"{world.facility_a},coal_mining_underground,2025,-10,,,,t,ledger",          # row 3: negative
        f"{world.facility_a},stationary_combustion,2025,,,bituminous_coal,10000,t,boiler",
    ]
    return ("\n".join(lines) + "\n").encode()


async def test_import_reports_bad_row_by_number(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    files = {"file": ("activity.csv", _csv(world), "text/csv")}
    atomic = (await client.post(f"{API}/import", params={"mode": "atomic"}, files=files, headers=eng)).json()
    assert atomic["written"] is False and [e["row"] for e in atomic["errors"]] == [3]
    assert (await client.get(API, headers=eng)).json()["total"] == 0

    partial = (await client.post(f"{API}/import", files=files, headers=eng)).json()
    assert partial["created"] == 2 and [e["row"] for e in partial["errors"]] == [3]
    assert partial["errors"][0]["errors"][0]["loc"] == ["data", "coal_t"]
    items = (await client.get(API, params={"year": 2025}, headers=eng)).json()["items"]
    assert sorted(i["activity_type"] for i in items) == ["coal_mining_underground", "stationary_combustion"]
    fuel = next(i for i in items if i["activity_type"] == "stationary_combustion")
    assert fuel["data"] == {"fuel": "bituminous_coal", "quantity": 10000, "unit": "t"}


async def test_xlsx_import(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["facility_id", "activity_type", "period_start", "period_end", "data"])
    sheet.append([world.facility_a, "flaring", "2025-01-01", "2025-12-31", '{"ch4_m3": 1000000}'])
    sheet.append([world.facility_b, "flaring", "2025-01-01", "2025-12-31", '{"ch4_m3": 5}'])  # other org: row 3
    buf = io.BytesIO()
    book.save(buf)
    files = {"file": ("a.xlsx", buf.getvalue(), "application/octet-stream")}
    answer = await client.post(f"{API}/import", files=files, headers=eng)
    assert answer.status_code == 403  # a row of another organisation is refused outright
    one = {"file": ("a.xlsx", buf.getvalue(), "application/octet-stream")}
    admin = await world.login(Role.ADMIN, None)
    report = (await client.post(f"{API}/import", params={"organization_id": world.org_a}, files=one,
                                headers=admin)).json()
    assert report["created"] == 1 and [e["row"] for e in report["errors"]] == [3]

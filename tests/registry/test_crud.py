"""CRUD, filters, search and pagination on every registry table, through the API, on both databases."""

from __future__ import annotations

import pytest

from ghgwatch.security.models import Role
from tests.conftest import World

TABLE_CASES = [
    ("organizations", lambda w: {"name": "Kuzbass Coal", "inn": "4200000000"}, {"name": "Kuzbass Coal 2"}, "kuzbass"),
    ("facilities", lambda w: {"organization_id": w.org_a, "name": "Raspadskaya", "type": "underground_mine",
                              "latitude": 53.8, "longitude": 87.9}, {"name": "Raspadskaya-2"}, "raspad"),
    ("sources", lambda w: {"facility_id": w.facility_a, "name": "Drainage station 2", "type": "drainage_station"},
     {"type": "flare"}, "drainage"),
    ("sensors", lambda w: {"source_id": w.source_a, "name": "CH4 pipeline", "kind": "methane", "unit": "%",
                           "range_min": 0, "range_max": 100, "expected_interval_s": 10},
     {"alarm_level": 1.0, "active": False}, "pipeline"),
]


@pytest.mark.parametrize(("table", "make", "patch", "needle"), TABLE_CASES, ids=[c[0] for c in TABLE_CASES])
async def test_crud_cycle(world: World, table: str, make, patch, needle: str) -> None:  # type: ignore[no-untyped-def]
    headers = await world.login(Role.ADMIN, None)
    c = world.client
    created = await c.post(f"/api/v1/{table}", json=make(world), headers=headers)
    assert created.status_code == 201, created.text
    row = created.json()
    got = await c.get(f"/api/v1/{table}/{row['id']}", headers=headers)
    assert got.status_code == 200
    assert got.json() == row

    updated = await c.patch(f"/api/v1/{table}/{row['id']}", json=patch, headers=headers)
    assert updated.status_code == 200, updated.text
    for key, value in patch.items():
        assert updated.json()[key] == value

    found = await c.get(f"/api/v1/{table}", params={"q": needle.upper()}, headers=headers)
    assert [r["id"] for r in found.json()["items"]] == [row["id"]]

    deleted = await c.delete(f"/api/v1/{table}/{row['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (await c.get(f"/api/v1/{table}/{row['id']}", headers=headers)).status_code == 404


async def test_children_inherit_parent_ids(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    answer = await world.client.post("/api/v1/sensors", headers=headers, json={
        "source_id": world.source_a, "name": "Air flow", "kind": "air_flow", "unit": "m3/min"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["organization_id"], body["facility_id"]) == (world.org_a, world.facility_a)


async def test_filters_and_pagination(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    for i in range(7):
        kind = "methane" if i % 2 else "temperature"
        answer = await world.client.post("/api/v1/sensors", headers=headers, json={
            "source_id": world.source_a, "name": f"S{i}", "kind": kind, "unit": "%" if i % 2 else "degC"})
        assert answer.status_code == 201
    page = await world.client.get("/api/v1/sensors", headers=headers,
                                  params={"kind": "methane", "limit": 2, "offset": 1, "sort": "-id"})
    body = page.json()
    assert body["total"] == 4  # 3 new methane sensors + the world's own
    assert [r["kind"] for r in body["items"]] == ["methane", "methane"]
    assert body["items"][0]["id"] > body["items"][1]["id"]
    everything = await world.client.get("/api/v1/sensors", headers=headers, params={"limit": 1000})
    assert {r["organization_id"] for r in everything.json()["items"]} == {world.org_a}


async def test_validation_errors_are_problem_details(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    answer = await world.client.post("/api/v1/sensors", headers=headers, json={
        "source_id": world.source_a, "name": "x", "kind": "plutonium", "unit": "%", "range_min": 5, "range_max": 1})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
    locations = [".".join(e["loc"]) for e in problem["errors"]]
    assert "body.kind" in locations


async def test_unknown_parent_and_delete_with_children(world: World) -> None:
    headers = await world.login(Role.ADMIN, None)
    missing = await world.client.post("/api/v1/sources", headers=headers, json={
        "facility_id": 99999, "name": "x", "type": "flare"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["facility_id"]
    blocked = await world.client.delete(f"/api/v1/facilities/{world.facility_a}", headers=headers)
    assert blocked.status_code == 409
    assert blocked.json()["status"] == 409


async def test_duplicate_name_conflicts(world: World) -> None:
    headers = await world.login(Role.ADMIN, None)
    answer = await world.client.post("/api/v1/organizations", headers=headers, json={"name": "Org A"})
    assert answer.status_code == 409

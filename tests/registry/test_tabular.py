"""CSV and XLSX export and import round trips; bad rows reported by row number; partial vs atomic."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from ghgwatch.security.models import Role
from tests.conftest import World


def _csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


@pytest.mark.parametrize("table", ["organizations", "facilities", "sources", "sensors"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_import_round_trip(world: World, table: str, fmt: str) -> None:
    headers = await world.login(Role.ADMIN, None)
    before = (await world.client.get(f"/api/v1/{table}", headers=headers)).json()["items"]
    exported = await world.client.get(f"/api/v1/{table}/export", params={"format": fmt}, headers=headers)
    assert exported.status_code == 200
    if fmt == "csv":
        parsed = list(csv.DictReader(io.StringIO(exported.text)))
        assert [int(r["id"]) for r in parsed] == [r["id"] for r in before]
    else:
        sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
        assert sheet.max_row == len(before) + 1
    # Re-importing an export changes nothing (every row is an update to the same values) ...
    answer = await world.client.post(f"/api/v1/{table}/import", headers=headers,
                                     files={"file": (f"{table}.{fmt}", exported.content)})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["errors"] == []
    assert (report["created"], report["updated"]) == (0, len(before))
    after = (await world.client.get(f"/api/v1/{table}", headers=headers)).json()["items"]
    assert [{k: v for k, v in r.items() if k != "updated_at"} for r in after] == [
        {k: v for k, v in r.items() if k != "updated_at"} for r in before]


async def test_bad_rows_reported_by_row_number_partial(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    body = _csv([
        ["source_id", "name", "kind", "unit", "range_min", "range_max"],
        [world.source_a, "good 1", "methane", "%", 0, 100],      # row 2
        [world.source_a, "bad kind", "unobtainium", "%", 0, 100],  # row 3
        [world.source_a, "good 2", "temperature", "degC", -40, 60],  # row 4
        [world.source_a, "bad range", "methane", "%", 10, 1],      # row 5
        [99999, "bad parent", "methane", "%", "", ""],             # row 6
    ])
    answer = await world.client.post("/api/v1/sensors/import", headers=headers, params={"mode": "partial"},
                                     files={"file": ("sensors.csv", body)})
    report = answer.json()
    assert report["written"] is True
    assert report["created"] == 2
    assert [e["row"] for e in report["errors"]] == [3, 5, 6]
    assert report["errors"][0]["errors"][0]["loc"] == ["kind"]
    names = {r["name"] for r in (await world.client.get("/api/v1/sensors", headers=headers)).json()["items"]}
    assert {"good 1", "good 2"} <= names
    assert "bad kind" not in names


async def test_atomic_import_writes_nothing_on_a_bad_row(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["facility_id", "name", "type"])
    sheet.append([world.facility_a, "Flare 1", "flare"])
    sheet.append([world.facility_a, "Engine", "not-a-type"])
    data = io.BytesIO()
    book.save(data)
    answer = await world.client.post("/api/v1/sources/import", headers=headers, params={"mode": "atomic"},
                                     files={"file": ("sources.xlsx", data.getvalue())})
    report = answer.json()
    assert report["written"] is False
    assert report["created"] == 0
    assert [e["row"] for e in report["errors"]] == [3]
    names = {r["name"] for r in (await world.client.get("/api/v1/sources", headers=headers)).json()["items"]}
    assert "Flare 1" not in names


async def test_import_into_other_organisation_is_refused_per_row(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    body = _csv([["organization_id", "name", "type"], [world.org_b, "Not mine", "other"],
                 [world.org_a, "Mine", "other"]])
    report = (await world.client.post("/api/v1/facilities/import", headers=headers,
                                      files={"file": ("f.csv", body)})).json()
    assert report["created"] == 1
    assert [e["row"] for e in report["errors"]] == [2]


async def test_unreadable_file_is_400(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    answer = await world.client.post("/api/v1/sources/import", headers=headers,
                                     files={"file": ("x.xlsx", b"not a zip")})
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("bad-file")

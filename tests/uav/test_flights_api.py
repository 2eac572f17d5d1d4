"""UAV flights through the API: upload (CSV, XLSX), quantification stored, bad rows, refusals, scoping."""

from __future__ import annotations

import dataclasses
import io

import httpx
from openpyxl import Workbook

from ghgwatch.security.models import Role
from ghgwatch.uav import REQUIRED, Flight, flight_to_csv
from tests.conftest import World
from tests.uav.conftest import SMALL

API = "/api/v1/flights"


def _csv(flight: Flight) -> tuple[str, bytes, str]:
    return "flight.csv", flight_to_csv(flight).encode(), "text/csv"


def _xlsx(flight: Flight) -> tuple[str, bytes, str]:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    rows = flight.rows()
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    return "flight.xlsx", buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_upload_stores_the_flight_and_its_rate(client: httpx.AsyncClient, world: World,
                                                     small_flight: Flight) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    answer = await client.post(API, params={"facility_id": world.facility_a, "source_id": world.source_a},
                               files={"file": _csv(small_flight)}, headers=eng)
    assert answer.status_code == 201, answer.text
    flight = answer.json()
    q = flight["quantification"]
    assert flight["refusal"] is None and flight["samples"] == len(small_flight)
    assert flight["organization_id"] == world.org_a and flight["source_id"] == world.source_a
    assert q["method"] == "mass-balance" and q["source"] is None
    assert 0.5 * SMALL.rate_kg_h < q["rate_kg_h"] < 2.0 * SMALL.rate_kg_h
    assert q["lower_kg_h"] <= SMALL.rate_kg_h <= q["upper_kg_h"]

    listed = (await client.get(API, params={"facility_id": world.facility_a}, headers=eng)).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == flight["id"]
    assert "track" not in listed["items"][0]
    read = (await client.get(f"{API}/{flight['id']}", params={"track": "true"}, headers=eng)).json()
    assert read["quantification"] == q
    assert len(read["track"]["ch4_ppm"]) == len(small_flight)
    assert abs(read["track"]["latitude"][0] - float(small_flight.latitude[0])) < 1e-6

    # another organisation sees none of it and cannot upload to this facility
    other = await world.login(Role.ENGINEER, world.org_b)
    assert (await client.get(API, headers=other)).json()["total"] == 0
    assert (await client.get(f"{API}/{flight['id']}", headers=other)).status_code == 404
    denied = await client.post(API, params={"facility_id": world.facility_a}, files={"file": _csv(small_flight)},
                               headers=other)
    assert denied.status_code == 403
    operator = await world.login(Role.OPERATOR, world.org_a)
    assert (await client.post(API, params={"facility_id": world.facility_a}, files={"file": _csv(small_flight)},
                              headers=operator)).status_code == 403


async def test_xlsx_upload_with_the_plume_method(client: httpx.AsyncClient, world: World,
                                                 small_flight: Flight) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    answer = await client.post(API, params={"facility_id": world.facility_a, "method": "plume"},
                               files={"file": _xlsx(small_flight)}, headers=eng)
    assert answer.status_code == 201, answer.text
    q = answer.json()["quantification"]
    assert q["method"] == "plume" and q["source"] is not None
    assert 0.33 * SMALL.rate_kg_h < q["rate_kg_h"] < 3.0 * SMALL.rate_kg_h


async def test_bad_rows_are_answered_by_row_number_and_nothing_is_stored(client: httpx.AsyncClient,
                                                                         world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    text = "\n".join([
        ",".join(REQUIRED),
        "2026-06-01T09:00:00Z,54.0,86.7,5,3,270,10,1000,1.9",
        "2026-06-01T09:00:01Z,54.0,86.7,5,3,270,10,1000,abc",
        "2026-06-01T09:00:02Z,54.0,86.7,5,3,400,10,1000,1.9",
    ]) + "\n"
    answer = await client.post(API, params={"facility_id": world.facility_a},
                               files={"file": ("bad.csv", text.encode(), "text/csv")}, headers=eng)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert [e["row"] for e in body["errors"]] == [3, 4]
    assert "ch4_ppm" in body["errors"][0]["msg"] and "wind_dir_deg" in body["errors"][1]["msg"]
    missing = await client.post(API, params={"facility_id": world.facility_a},
                                files={"file": ("x.csv", b"timestamp,latitude\n", "text/csv")}, headers=eng)
    assert missing.status_code == 422 and "ch4_ppm" in missing.json()["detail"]
    assert (await client.get(API, headers=eng)).json()["total"] == 0


async def test_an_unquantifiable_flight_is_stored_with_its_reason(client: httpx.AsyncClient, world: World,
                                                                  small_flight: Flight) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    calm = dataclasses.replace(small_flight, wind_speed_ms=small_flight.wind_speed_ms * 0.1)
    answer = await client.post(API, params={"facility_id": world.facility_a}, files={"file": _csv(calm)},
                               headers=eng)
    assert answer.status_code == 201, answer.text
    flight = answer.json()
    assert flight["quantification"] is None
    assert flight["refusal"]["code"] == "wind_too_low" and "m/s" in flight["refusal"]["reason"]


async def test_unknown_facility_or_foreign_source_is_a_422_naming_the_field(client: httpx.AsyncClient,
                                                                            world: World,
                                                                            small_flight: Flight) -> None:
    admin = await world.login(Role.ADMIN, None)
    missing = await client.post(API, params={"facility_id": 999_999}, files={"file": _csv(small_flight)},
                                headers=admin)
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["facility_id"]
    foreign = await client.post(API, params={"facility_id": world.facility_b, "source_id": world.source_a},
                                files={"file": _csv(small_flight)}, headers=admin)
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["loc"] == ["source_id"]
    bad_method = await client.post(API, params={"facility_id": world.facility_a, "method": "guess"},
                                   files={"file": _csv(small_flight)}, headers=admin)
    assert bad_method.status_code == 422

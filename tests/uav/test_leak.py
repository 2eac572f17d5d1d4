"""A quantified flight into the platform: a measured fugitive emission of its source (with provenance, read
back pro-rated to a period as the inventory reads it) and an alert when the rate is above the configured limit."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import httpx

from ghgwatch.alerts.store import load_open
from ghgwatch.security.models import Role
from ghgwatch.settings import Settings
from ghgwatch.uav import Flight, flight_to_csv
from ghgwatch.uav.leak import measured_emissions
from tests.conftest import World

API = "/api/v1/flights"


def _file(flight: Flight) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("flight.csv", flight_to_csv(flight).encode(), "text/csv")}


async def test_a_flight_becomes_a_measured_emission_of_its_source(client: httpx.AsyncClient, world: World,
                                                                  small_flight: Flight) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    flight = (await client.post(API, params={"facility_id": world.facility_a, "source_id": world.source_a},
                                files=_file(small_flight), headers=eng)).json()
    q = flight["quantification"]
    answer = await client.post(f"{API}/{flight['id']}/emission", json={"hours": 24}, headers=eng)
    assert answer.status_code == 201, answer.text
    e = answer.json()
    assert e["source_id"] == world.source_a and e["facility_id"] == world.facility_a and e["gas"] == "ch4"
    assert abs(e["ch4_kg"] - 24 * q["rate_kg_h"]) < 1e-6
    assert abs(e["lower_kg"] - 24 * q["lower_kg_h"]) < 1e-6 and abs(e["upper_kg"] - 24 * q["upper_kg_h"]) < 1e-6
    assert e["provenance"]["flight_id"] == flight["id"] and e["provenance"]["method"] == "mass-balance"
    assert e["provenance"]["basis"] == "uav_flight"
    start = datetime.fromisoformat(e["start"])
    assert start == datetime.fromisoformat(flight["started_at"])
    assert datetime.fromisoformat(e["end"]) - start == timedelta(hours=24)
    assert (await client.post(f"{API}/{flight['id']}/emission", json={"hours": 1}, headers=eng)).status_code == 409

    # the inventory's view: the share of a period, here the second half of the interval and beyond
    half = start + timedelta(hours=12)
    async with world.db.sessions() as s:
        (leak,) = await measured_emissions(s, world.org_a, half, half + timedelta(days=30))
        assert await measured_emissions(s, world.org_b, half, half + timedelta(days=30)) == []
        assert await measured_emissions(s, world.org_a, start - timedelta(days=1), start) == []
    assert abs(leak.hours - 12) < 1e-9 and abs(leak.ch4_kg - 12 * q["rate_kg_h"]) < 1e-6
    assert leak.source_id == world.source_a and leak.provenance["flight_id"] == flight["id"]
    listed = await client.get("/api/v1/measured-emissions", headers=eng,
                              params={"start": half.isoformat(), "end": (half + timedelta(days=30)).isoformat()})
    assert listed.status_code == 200, listed.text
    assert abs(listed.json()["ch4_kg"] - leak.ch4_kg) < 1e-9

    other = await world.login(Role.ENGINEER, world.org_b)
    assert (await client.post(f"{API}/{flight['id']}/emission", json={"hours": 1},
                              headers=other)).status_code == 404
    assert (await client.get("/api/v1/measured-emissions", headers=other, params={
        "start": half.isoformat(), "end": (half + timedelta(days=30)).isoformat()})).json()["items"] == []
    admin = await world.login(Role.ADMIN, None)
    assert (await client.get("/api/v1/measured-emissions", headers=admin, params={
        "start": half.isoformat(), "end": half.isoformat()})).status_code == 422
    operator = await world.login(Role.OPERATOR, world.org_a)
    assert (await client.post(f"{API}/{flight['id']}/emission", json={"hours": 1},
                              headers=operator)).status_code == 403


async def test_emission_needs_a_rate_a_source_and_a_positive_duration(client: httpx.AsyncClient, world: World,
                                                                      small_flight: Flight) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    calm = dataclasses.replace(small_flight, wind_speed_ms=small_flight.wind_speed_ms * 0.1)
    refused = (await client.post(API, params={"facility_id": world.facility_a, "source_id": world.source_a},
                                 files=_file(calm), headers=eng)).json()
    answer = await client.post(f"{API}/{refused['id']}/emission", json={"hours": 5}, headers=eng)
    assert answer.status_code == 422 and "wind_too_low" in answer.json()["detail"]

    loose = (await client.post(API, params={"facility_id": world.facility_a}, files=_file(small_flight),
                               headers=eng)).json()
    for body, field in (({"hours": 5}, "source_id"), ({"hours": 0, "source_id": world.source_a}, "hours"),
                        ({"hours": 5, "source_id": 999_999}, "source_id")):
        bad = await client.post(f"{API}/{loose['id']}/emission", json=body, headers=eng)
        assert bad.status_code == 422 and field in bad.text, bad.text
    given = await client.post(f"{API}/{loose['id']}/emission", headers=eng,
                              json={"hours": 2, "source_id": world.source_a, "start": "2026-06-01T00:00:00Z"})
    assert given.status_code == 201, given.text
    assert given.json()["source_id"] == world.source_a and given.json()["start"].startswith("2026-06-01T00:00:00")


async def test_a_leak_above_the_limit_opens_an_alert(client: httpx.AsyncClient, world: World, settings: Settings,
                                                    small_flight: Flight) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    settings.leaks.alert_rate_kg_h = 1000.0  # far above the simulated 20 kg/h: no alert
    quiet = (await client.post(API, params={"facility_id": world.facility_a, "source_id": world.source_a},
                               files=_file(small_flight), headers=eng)).json()
    assert quiet["alert_id"] is None
    assert (await client.get("/api/v1/alerts", headers=eng)).json()["total"] == 0

    settings.leaks.alert_rate_kg_h = 5.0
    loud = (await client.post(API, params={"facility_id": world.facility_a, "source_id": world.source_a},
                              files=_file(small_flight), headers=eng)).json()
    q = loud["quantification"]
    assert q["rate_kg_h"] >= 5.0 and loud["alert_id"] is not None
    alert = (await client.get(f"/api/v1/alerts/{loud['alert_id']}", headers=eng)).json()
    assert alert["condition"] == "uav_leak" and alert["facility_id"] == world.facility_a
    assert alert["threshold"] == 5.0 and alert["unit"] == "kg/h" and alert["reading_value"] == q["rate_kg_h"]
    assert alert["severity"] == ("alarm" if q["lower_kg_h"] >= 5.0 else "warning")
    assert f"flight {loud['id']}" in alert["reason"]
    async with world.db.sessions() as s:
        assert loud["alert_id"] not in {a.id for a in await load_open(s)}
    other = await world.login(Role.ENGINEER, world.org_b)
    assert (await client.get(f"/api/v1/alerts/{loud['alert_id']}", headers=other)).status_code in (403, 404)
    # Another facility's leak opens its own alert while the first is open (one unresolved alert per (sensor,
    # rule) is enforced by the database, and leak alerts have no sensor: the rule names the facility).
    elsewhere = (await client.post(API, params={"facility_id": world.facility_b}, files=_file(small_flight),
                                   headers=other)).json()
    assert elsewhere["alert_id"] not in (None, loud["alert_id"])
    # Listed with the source the leak names (it has no sensor); a flight with no source names none.
    listed = (await client.get("/api/v1/alerts", headers=eng)).json()["items"]
    assert [(a["id"], a["source_id"], a["source_name"]) for a in listed] == [(loud["alert_id"], world.source_a,
                                                                               "Shaft 1")]
    theirs = (await client.get("/api/v1/alerts", headers=other)).json()["items"]
    assert [(a["id"], a["source_id"], a["source_name"]) for a in theirs] == [(elsewhere["alert_id"], None, None)]

    settings.leaks.alert_rate_kg_h = None  # disabled
    off = (await client.post(API, params={"facility_id": world.facility_a}, files=_file(small_flight),
                             headers=eng)).json()
    assert off["alert_id"] is None

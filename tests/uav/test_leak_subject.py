"""A UAV leak alert concerns a source (or a facility), not a sensor: its rule names the facility and the source,
its reason names the source by its registry name, and two leaking sources of one facility get one alert each."""

from __future__ import annotations

import httpx

from ghgwatch.lab.alerting import leak_subject, uav_leak_rule
from ghgwatch.registry import service
from ghgwatch.registry.schemas import SourceIn
from ghgwatch.registry.specs import SOURCES
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import Settings
from ghgwatch.uav import Flight, flight_to_csv
from tests.conftest import World

API = "/api/v1/flights"


def _file(flight: Flight) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("flight.csv", flight_to_csv(flight).encode(), "text/csv")}


def test_the_rule_id_carries_facility_and_source() -> None:
    assert uav_leak_rule(7, 12) == "ext:uav_leak:7:12" and leak_subject("ext:uav_leak:7:12") == (7, 12)
    assert uav_leak_rule(7, None) == "ext:uav_leak:7" and leak_subject("ext:uav_leak:7") == (7, None)
    for other in ("ext:calibration", "ch4_alarm", "ext:uav_leak:", "ext:uav_leak:7:x", "ext:uav_leak:1:2:3",
                  "xext:uav_leak:7"):
        assert leak_subject(other) is None, other


async def test_a_leak_alert_names_its_source(client: httpx.AsyncClient, world: World, settings: Settings,
                                             small_flight: Flight) -> None:
    settings.leaks.alert_rate_kg_h = 5.0  # below the simulated ~20 kg/h: every flight here opens an alert
    async with world.db.transaction() as s:
        drainage = await service.create(s, SYSTEM, SOURCES, SourceIn(
            facility_id=world.facility_a, name="Drainage station 2", type="drainage_station"))  # type: ignore[arg-type]
    eng = await world.login(Role.ENGINEER, world.org_a)

    async def alert_of(**params: int) -> dict[str, object]:
        flight = (await client.post(API, params={"facility_id": world.facility_a, **params},
                                    files=_file(small_flight), headers=eng)).json()
        assert flight["alert_id"] is not None, flight
        return (await client.get(f"/api/v1/alerts/{flight['alert_id']}", headers=eng)).json()  # type: ignore[no-any-return]

    shaft = await alert_of(source_id=world.source_a)
    assert shaft["rule_id"] == f"ext:uav_leak:{world.facility_a}:{world.source_a}"
    assert leak_subject(str(shaft["rule_id"])) == (world.facility_a, world.source_a)
    assert shaft["facility_id"] == world.facility_a and "at source Shaft 1;" in str(shaft["reason"])

    station = await alert_of(source_id=drainage.id)  # type: ignore[attr-defined]
    assert station["id"] != shaft["id"]  # its own alert: another source of the same facility
    assert "at source Drainage station 2;" in str(station["reason"])
    again = await alert_of(source_id=world.source_a)
    assert again["id"] == shaft["id"]  # the source's open alert is updated, not duplicated

    facility_only = await alert_of()
    assert facility_only["rule_id"] == f"ext:uav_leak:{world.facility_a}"
    assert "at facility Mine a;" in str(facility_only["reason"])

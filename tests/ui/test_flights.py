"""UAV flights and lab results in a real Chromium against ``ghgwatch up --demo``, as an engineer and an auditor work."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from ghgwatch.uav import flight_to_csv
from ghgwatch.uav.simulator import Scenario, simulate
from tests.ui.conftest import Demo, api, screenshot, sign_in

pytestmark = pytest.mark.browser
MINE = "Raspadskaya Coal Mine (M0836)"


def _placed_source(demo: Demo) -> dict[str, Any]:
    """A source of the demo mine with coordinates (the simulated flight is flown downwind of it)."""
    sources = api.get(f"{demo.base}/api/v1/sources", params={"limit": 200}, headers=demo.admin()).json()["items"]
    return next(s for s in sources if s["latitude"] is not None and s["longitude"] is not None)


def _flight_csv(source: dict[str, Any]) -> bytes:
    scenario = Scenario(rate_kg_h=25.0, wind_from_deg=250.0, distance_m=30.0, half_width_m=30.0, top_m=14.0,
                        direction_swing_deg=4.0, turbulence=0.15, vertical_turbulence=0.08,
                        site=(source["latitude"], source["longitude"]))
    return flight_to_csv(simulate(scenario, seed=3)).encode()


def test_engineer_uploads_a_flight_sees_its_track_and_records_the_emission(context: Any, demo: Demo) -> None:
    source = _placed_source(demo)
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    page.get_by_role("link", name="Flights and lab", exact=True).click()
    expect(page.get_by_role("heading", name="UAV flights and lab results", level=1)).to_be_visible()

    # A file with a bad row is refused with the row's number, and nothing is stored.
    page.get_by_label("Flight file").set_input_files({"name": "bad.csv", "mimeType": "text/csv", "buffer":
        b"timestamp,latitude,longitude,altitude_m,wind_speed_ms,wind_dir_deg,temperature_c,pressure_hpa,ch4_ppm\n"
        b"2026-06-01T09:00:00Z,54.0,86.7,5,4,250,15,1000,2.0\n2026-06-01T09:00:01Z,54.0,86.7,5,4,250,15,1000,lots\n"})
    page.get_by_role("button", name="Upload and quantify").click()
    expect(page.get_by_role("alert").filter(has_text="Import finished with errors")).to_be_visible()
    expect(page.locator("#flight-result li").filter(has_text=re.compile(r"^Row 3: "))).to_be_visible()

    upload = page.get_by_role("region", name="Upload a flight")
    upload.get_by_label("Facility").select_option(label=MINE)
    upload.get_by_label("Source (optional)").select_option(str(source["id"]))
    page.get_by_label("Method").select_option(label="Gaussian plume inversion")
    page.get_by_label("Flight file").set_input_files({"name": "flight.csv", "mimeType": "text/csv",
                                                      "buffer": _flight_csv(source)})
    page.get_by_role("button", name="Upload and quantify").click()
    page.wait_for_url(re.compile(r"/flights/\d+$"))
    flight_id = int(page.url.rsplit("/", 1)[1])
    flight = api.get(f"{demo.base}/api/v1/flights/{flight_id}", headers=demo.admin()).json()
    rate = flight["quantification"]["rate_kg_h"]
    expect(page.get_by_role("heading", name=f"UAV flight {flight_id}")).to_be_visible()
    expect(page.locator("#flight-rate")).to_have_text(f"{rate:,.2f} kg/h")
    expect(page.get_by_role("img", name="Flight track coloured by CH4 concentration")).to_be_visible()
    expect(page.get_by_role("img", name="Estimated source position")).to_be_visible()
    expect(page.get_by_role("img", name="Source in the registry")).to_be_visible()
    expect(page.get_by_role("figure", name="CH4, ppm").get_by_role("listitem")).to_have_count(8)
    screenshot(page, "flight-detail")

    page.get_by_label("Duration, h").fill("12")
    page.get_by_role("button", name="Record as measured emission").click()
    expect(page.locator("#recorded")).to_contain_text("Recorded as measured emission")
    expect(page.get_by_role("button", name="Record as measured emission")).to_have_count(0)
    day = datetime.fromisoformat(flight["started_at"])
    emissions = api.get(f"{demo.base}/api/v1/measured-emissions", headers=demo.admin(), params={
        "start": (day - timedelta(days=1)).isoformat(), "end": (day + timedelta(days=2)).isoformat(),
        "organization_id": demo.credentials["organization_id"]}).json()["items"]
    assert [e["provenance"]["flight_id"] for e in emissions] == [flight_id] and emissions[0]["hours"] == 12

    page.get_by_role("link", name="RU", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Полёт БПЛА {flight_id}")
    expect(page.locator("#flight-rate")).to_have_text(f"{rate:.2f}".replace(".", ",") + " кг/ч")
    expect(page.get_by_role("img", name="Оценённое положение источника")).to_be_visible()
    page.get_by_role("link", name="EN", exact=True).click()

    page.goto(demo.base + "/flights")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"Flight {flight_id}", exact=True))
    expect(row).to_contain_text(f"{rate:,.2f}")
    expect(row).to_contain_text("Gaussian plume inversion")
    screenshot(page, "flights")


def test_lab_results_import_shows_row_errors_then_flags_and_checks(context: Any, demo: Demo) -> None:
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    page.goto(demo.base + "/flights?tab=lab")
    expect(page.get_by_role("heading", name="Import lab results")).to_be_visible()
    sample = f"LAB-{uuid.uuid4().hex[:6]}"
    at = (datetime.now(UTC) - timedelta(minutes=2)).replace(microsecond=0).isoformat()
    header = "sample_id,source,sampled_at,gas,concentration,unit,method,laboratory,certificate,flags\n"
    page.get_by_role("region", name="Import lab results").get_by_label("Facility").select_option(label=MINE)
    page.get_by_label("Lab results file").set_input_files({"name": "lab.csv", "mimeType": "text/csv", "buffer": (
        header + f"{sample},Longwall 5-1 (outgoing air),{at},ch4,0.4,%,GOST 31371.7,Mine lab,C-1,\n"
        f"{sample}-2,No such source,{at},ch4,minus one,%,,,,\n").encode()})
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#lab-result li").filter(has_text=re.compile(r"^Row 3: "))).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=sample)).to_have_count(0)  # all rows or none

    page.get_by_label("Lab results file").set_input_files({"name": "lab.csv", "mimeType": "text/csv", "buffer": (
        header + f"{sample},Longwall 5-1 (outgoing air),{at},ch4,0.4,%,GOST 31371.7,Mine lab,C-1,duplicate_vial\n"
    ).encode()})
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Imported 1 rows.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=sample)
    expect(row).to_contain_text("duplicate_vial")
    expect(row).to_contain_text("certificate C-1")
    expect(row).to_contain_text(re.compile(r"sensor \d+: (agrees|drift|no sensor reading)"))
    screenshot(page, "lab-results")


def test_auditor_sees_flights_and_lab_results_without_upload_or_record(context: Any, demo: Demo) -> None:
    source = _placed_source(demo)
    answer = api.post(f"{demo.base}/api/v1/flights", headers=demo.admin(),
                        params={"facility_id": source["facility_id"], "source_id": source["id"], "method": "plume"},
                        files={"file": ("flight.csv", _flight_csv(source), "text/csv")})
    assert answer.status_code == 201, answer.text
    flight_id = answer.json()["id"]
    name, password = f"auditor-{uuid.uuid4().hex[:6]}", "auditor-password-1"
    created = api.post(f"{demo.base}/api/v1/users", headers=demo.admin(), json={
        "username": name, "password": password, "role": "auditor",
        "organization_id": demo.credentials["organization_id"]})
    assert created.status_code == 201, created.text
    page = context.new_page()
    sign_in(page, demo, name, password)
    page.get_by_role("link", name="Flights and lab", exact=True).click()
    expect(page.get_by_role("link", name=f"Flight {flight_id}", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Upload and quantify")).to_have_count(0)
    page.get_by_role("link", name=f"Flight {flight_id}", exact=True).click()
    expect(page.get_by_role("img", name="Estimated source position")).to_be_visible()
    expect(page.get_by_role("button", name="Record as measured emission")).to_have_count(0)
    page.get_by_role("link", name="UAV flights and lab results").click()  # back to the list
    page.get_by_role("link", name="Lab results", exact=True).click()
    expect(page.get_by_role("heading", name="Lab results", level=2)).to_be_visible()
    expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)


def test_a_form_its_script_posts_cannot_be_submitted_before_the_script_runs(context: Any, demo: Demo) -> None:
    """Under load a click landed before flights.js had attached its handler: the browser submitted the form its own
    way (a reload that lost the file) and the upload never happened. Its button stays disabled until the page's
    scripts have run: here the script is held back, then let through."""
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    held: list[Any] = []
    page.route(re.compile(r".*/static/js/flights\.js.*"), lambda route: held.append(route))
    page.goto(demo.base + "/flights", wait_until="commit")
    for _ in range(600):  # until the page asks for its script (Playwright hands the request to the route)
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "flights.js was never requested"
    upload = page.get_by_role("button", name="Upload and quantify")
    expect(upload).to_be_disabled()  # the form is on the page, its script is not
    held[0].continue_()
    expect(upload).to_be_enabled()
    page.close()

"""The web UI in a real Chromium against ``ghgwatch up --demo``, step by step as a user works."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Demo, HostGuard, api, new_context, screenshot, sign_in

pytestmark = pytest.mark.browser


def _admin_page(context: Any, demo: Demo) -> Any:
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    return page


def test_map_live_values_and_every_page(context: Any, demo: Demo) -> None:
    page = _admin_page(context, demo)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("img", name="Map of facilities")).to_be_visible()
    expect(page.get_by_role("link", name="Raspadskaya Coal Mine (M0836)").first).to_be_visible()
    expect(page.get_by_role("link", name="Mine boiler house").first).to_be_visible()
    # Sources of the GEM mine are on the map, coloured by their sensors' state once live data flows (the demo
    # first backfills a day of history, during which the sensors are still "silent").
    markers = page.locator("svg.map [data-marker]")
    assert markers.count() >= 5
    expect(page.locator("svg.map [data-marker].state-normal").first).to_be_visible(timeout=120_000)
    screenshot(page, "overview")

    page.get_by_role("link", name="Monitoring", exact=True).click()
    tile = page.get_by_role("button", name="Longwall 5-1 (outgoing air) · CH4 longwall outgoing air")
    expect(tile).to_have_attribute("aria-label", __import__("re").compile(r"\d"))
    first = tile.get_attribute("aria-label")
    expect(tile).not_to_have_attribute("aria-label", first or "", timeout=60_000)  # a live value changed
    tile.click()
    expect(page.get_by_role("heading", name="Longwall 5-1 (outgoing air) · CH4 longwall outgoing air")).to_be_visible()
    page.get_by_role("button", name="30 days").click()
    expect(page.locator("#chart-info")).to_contain_text("1h")  # a month is drawn from the hourly rollups
    screenshot(page, "monitoring")

    for path, name, heading in (
        ("/board", "board", "Methane board"), ("/alerts", "alerts", "Alerts"),
        ("/registry?table=sensors", "registry", "Registry"), ("/reference", "reference", "Reference data"),
        ("/reference?tab=mines", "reference-mines", "Reference data"), ("/inventory", "inventory", "Inventory"),
        ("/analytics", "analytics", "Analytics"), ("/analytics?tab=models", "analytics-models", "Analytics"),
        ("/analytics?tab=gaps", "analytics-gaps", "Analytics"),
        ("/analytics?tab=correlation&hours=2&max_lag=3", "analytics-correlation", "Analytics"),
        ("/audit", "audit", "Audit"),
    ):
        page.goto(demo.base + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        if name == "board":
            expect(page.locator(".gauge.state-normal").first).to_be_visible()
        if name in ("analytics", "analytics-gaps"):  # the forecast with its band; original vs filled
            expect(page.locator("#series-chart .uplot")).to_be_visible(timeout=60_000)
        if name == "audit":
            expect(page.get_by_text("The audit chain is intact")).to_be_visible()
        screenshot(page, name)
    page.goto(demo.base + "/docs")
    # Swagger UI ran from the package's own copy (a large script: give a loaded machine time to parse it).
    expect(page.get_by_role("heading", name="ghgwatch")).to_be_visible(timeout=60_000)
    screenshot(page, "api-docs")


def _test_sensor(demo: Demo, headers: dict[str, str]) -> dict[str, Any]:
    """A methane sensor no simulator writes to, so the test's exceedance is the only reading it has."""
    sources = api.get(f"{demo.base}/api/v1/sources", params={"q": "Longwall"}, headers=headers).json()["items"]
    body = {"source_id": sources[0]["id"], "name": f"CH4 test point {uuid.uuid4().hex[:4]}", "kind": "methane",
            "unit": "%", "range_min": 0, "range_max": 100, "warning_level": 0.8, "alarm_level": 1.0,
            "expected_interval_s": 5, "location": "longwall_outgoing"}
    answer = api.post(f"{demo.base}/api/v1/sensors", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    sensor: dict[str, Any] = answer.json()
    return sensor


def test_posted_exceedance_appears_live_and_is_acknowledged(context: Any, demo: Demo) -> None:
    sensor = _test_sensor(demo, demo.admin())
    page = _admin_page(context, demo)
    page.get_by_role("link", name="Alerts", exact=True).click()
    expect(page.get_by_role("heading", name="Alert list")).to_be_visible()
    page.wait_for_timeout(500)  # the alerts stream is open

    device = {"Authorization": f"Bearer {demo.credentials['device_token']}"}
    reading = {"sensor": sensor["id"], "ts": datetime.now(UTC).isoformat(), "value": 2.5}
    answer = api.post(f"{demo.base}/api/v1/readings", json={"readings": [reading]}, headers=device)
    assert answer.status_code == 202, answer.text

    banner = page.get_by_role("alert").filter(has_text="ALARM")
    expect(banner).to_be_visible(timeout=30_000)  # no reload: the stream brought it
    row = page.get_by_role("row").filter(has_text=sensor["name"])
    expect(row).to_contain_text("open")
    source = api.get(f"{demo.base}/api/v1/sources/{sensor['source_id']}", headers=demo.admin()).json()
    expect(page.get_by_role("columnheader", name="Source", exact=True)).to_be_visible()
    expect(_cell(page, row, "Source")).to_have_text(source["name"])  # the source the sensor belongs to
    screenshot(page, "alerts-alarm")
    row.get_by_role("button", name="Acknowledge").click()
    page.get_by_role("textbox", name="Comment").fill("Checked the longwall; ventilation increased")
    page.get_by_role("button", name="Confirm").click()
    details = page.get_by_role("region", name="Alert details")
    expect(details).to_contain_text("acknowledged")
    expect(details).to_contain_text("Checked the longwall; ventilation increased")
    expect(row).to_have_count(0)  # the list shows open alerts by default
    page.get_by_label("State").select_option("acknowledged")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row").filter(has_text=sensor["name"])).to_contain_text("acknowledged")
    page.get_by_role("button", name="Dismiss").click()
    expect(banner).to_be_hidden()


def _cell(page: Any, row: Any, column: str) -> Any:
    """The cell of ``row`` under the alert table's column headed ``column``."""
    headers = page.locator("#alert-table").get_by_role("columnheader").all_inner_texts()
    return row.get_by_role("cell").nth(headers.index(column))


def test_language_switches_to_russian_and_is_remembered(context: Any, demo: Demo) -> None:
    page = _admin_page(context, demo)
    page.get_by_role("link", name="RU", exact=True).click()
    expect(page.get_by_role("heading", name="Обзор", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Оповещения", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    screenshot(page, "overview-ru")
    page.goto(demo.base + "/monitoring")  # remembered across pages
    expect(page.get_by_role("heading", level=1)).to_contain_text("Мониторинг")
    expect(page.locator("[data-time]").first).to_contain_text(":")
    screenshot(page, "monitoring-ru")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monitoring")


def test_inventory_runs_and_its_pdf_downloads(context: Any, demo: Demo, tmp_path: Path) -> None:
    page = _admin_page(context, demo)
    page.get_by_role("link", name="Inventory", exact=True).click()
    page.get_by_label("Data (JSON)").fill('{"coal_t": 2000000}')
    page.get_by_label("Provenance").fill("mine ledger 2025")
    page.get_by_role("button", name="Add activity").click()
    expect(page.get_by_role("cell", name="mine ledger 2025").first).to_be_visible()
    page.get_by_label("Year").fill("2025")
    page.get_by_role("button", name="Run inventory").click()
    expect(page.get_by_role("heading", name="By gas")).to_be_visible()
    expect(page.get_by_text("Inputs hash")).to_be_visible()
    screenshot(page, "inventory-run")
    with page.expect_download() as info:
        page.get_by_role("link", name="Annual report PDF (ru)").click()
    target = tmp_path / "report.pdf"
    info.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")


def test_auditor_reads_but_cannot_edit(context: Any, demo: Demo) -> None:
    name, password = f"auditor-{uuid.uuid4().hex[:6]}", "auditor-password-1"
    answer = api.post(f"{demo.base}/api/v1/users", headers=demo.admin(), json={
        "username": name, "password": password, "role": "auditor",
        "organization_id": demo.credentials["organization_id"]})
    assert answer.status_code == 201, answer.text
    page = context.new_page()
    sign_in(page, demo, name, password)
    page.get_by_role("link", name="Registry", exact=True).click()
    expect(page.get_by_text("Your role can read this table but not change it.")).to_be_visible()
    expect(page.get_by_role("cell", name="Raspadskaya Coal Mine (M0836)")).to_be_visible()
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    expect(page.get_by_role("heading", name="Add a row")).to_have_count(0)
    # The API refuses the auditor's session too, even with a valid CSRF token.
    status = page.evaluate("""async () => (await fetch('/api/v1/facilities/1', {method: 'PATCH',
        headers: {'Content-Type': 'application/json', 'X-CSRF-Token': window.GW.csrf},
        body: JSON.stringify({name: 'renamed'})})).status""")
    assert status == 403
    page.get_by_role("link", name="Inventory", exact=True).click()
    expect(page.get_by_text("Your role can read the results but not run calculations.")).to_be_visible()
    page.get_by_role("link", name="Audit", exact=True).click()
    expect(page.get_by_text("The audit chain is intact")).to_be_visible()


def test_the_host_guard_sees_a_request_to_another_host(browser: Any, demo: Demo) -> None:
    """The check every browser test relies on: a request to any other host is recorded."""
    ctx = new_context(browser)
    guard = HostGuard(urlsplit(demo.base).netloc)
    guard.attach(ctx)
    try:
        page = ctx.new_page()
        page.goto(demo.base + "/login")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        screenshot(page, "sign-in")
        # The pages' Content-Security-Policy stops such a fetch before it leaves; an image from a page without
        # the policy (a blank page) does leave, and the guard sees it.
        blank = ctx.new_page()
        blank.set_content('<img src="http://192.0.2.1:9/pixel.png">')
        expect(blank.locator("img")).to_have_count(1)
        blank.wait_for_timeout(300)
        assert guard.foreign == ["http://192.0.2.1:9/pixel.png"]
        blocked = page.evaluate("""async () => { try { await fetch('http://192.0.2.1:9/x'); return 'sent'; }
                                   catch (e) { return 'refused'; } }""")
        assert blocked == "refused"
    finally:
        ctx.close()


def test_device_token_dialog_shows_the_mqtt_account_in_english_and_russian(context: Any, demo: Demo) -> None:
    """The registry's device form: the dialog that shows the token once also shows the device's MQTT username
    and topic (the password is the token), in English and in Russian; the table lists the username."""
    org = demo.credentials["organization_id"]
    page = _admin_page(context, demo)
    words = {"EN": ("Name", "Create", "Device token", "MQTT username", "MQTT topic", "Close"),
             "RU": ("Наименование", "Создать", "Токен устройства", "Логин MQTT", "Топик MQTT", "Закрыть")}
    for lang, (name_label, create, title, username_label, topic_label, close) in words.items():
        page.get_by_role("link", name=lang, exact=True).click()
        expect(page.locator("html")).to_have_attribute("lang", lang.lower())  # the choice is stored
        page.goto(demo.base + "/registry?table=devices")
        name = f"meter {lang} {uuid.uuid4().hex[:6]}"
        page.get_by_label(name_label, exact=True).fill(name)
        page.get_by_role("button", name=create, exact=True).click()
        dialog = page.get_by_role("dialog", name=title)
        expect(dialog).to_be_visible()
        [device] = [d for d in api.get(f"{demo.base}/api/v1/devices", headers=demo.admin()).json()
                    if d["name"] == name]
        account, topic = f"{org}/{device['id']}", f"ghgwatch/{org}/{device['id']}/readings"
        assert (device["mqtt_username"], device["mqtt_topic"]) == (account, topic)
        expect(dialog.get_by_text(username_label, exact=True)).to_be_visible()
        expect(dialog.get_by_text(account, exact=True)).to_be_visible()
        expect(dialog.get_by_text(topic_label, exact=True)).to_be_visible()
        expect(dialog.get_by_text(topic, exact=True)).to_be_visible()
        expect(dialog.get_by_text(f"gwd_{device['id']}_")).to_be_visible()  # the token, beside them
        if lang == "EN":
            screenshot(page, "registry-device-token")
        dialog.get_by_role("button", name=close).click()
        expect(page.get_by_role("row").filter(has_text=name)).to_contain_text(topic)
        expect(page.get_by_role("columnheader", name=username_label)).to_be_visible()

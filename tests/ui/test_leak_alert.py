"""A leak alert from a UAV flight shows its source by name in the web UI, never "sensor 0" (alerts of a leak have no
sensor: lab/alerting.py names the facility and the source in the rule id)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from ghgwatch.uav import flight_to_csv
from ghgwatch.uav.simulator import Scenario, simulate
from tests.ui.conftest import Demo, api, sign_in

pytestmark = pytest.mark.browser


def test_a_leak_alert_names_its_source_not_a_sensor(context: Any, demo: Demo) -> None:
    admin = demo.admin()
    sources = api.get(f"{demo.base}/api/v1/sources", params={"limit": 100}, headers=admin).json()["items"]
    source = next(s for s in sources if s["type"] == "drainage_station" and s["latitude"] is not None)
    # 1000 kg/h: ten times the default alert limit of 100 kg/h (docs/uav.md), so even the interval's lower bound
    # is above it and the alert is an alarm.
    flight = simulate(Scenario(rate_kg_h=1000.0, site=(source["latitude"], source["longitude"])), seed=0)
    answer = api.post(f"{demo.base}/api/v1/flights", headers=admin,
                        params={"facility_id": source["facility_id"], "source_id": source["id"]},
                        files={"file": ("flight.csv", flight_to_csv(flight).encode(), "text/csv")})
    assert answer.status_code == 201, answer.text
    alert_id = answer.json()["alert_id"]
    assert alert_id is not None, json.dumps(answer.json())

    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    page.goto(f"{demo.base}/alerts?id={alert_id}")
    row = page.locator(f'tr[data-alert="{alert_id}"]')
    expect(row).to_contain_text(source["name"])
    expect(row).not_to_contain_text("sensor 0")
    details = page.get_by_role("region", name="Alert details")
    expect(details).to_contain_text("Source")
    expect(details).to_contain_text(source["name"])
    expect(details).not_to_contain_text("Sensor")
    # The live alarm banner names its subject with the same function, on this page as on any other.
    alert = api.get(f"{demo.base}/api/v1/alerts/{alert_id}", headers=admin).json()
    assert page.evaluate("(a) => window.GW.alertSubject(a).name", alert) == source["name"]
    page.get_by_role("link", name="Overview", exact=True).click()
    expect(page.locator("#open-alerts").get_by_role("link", name=source["name"])).to_be_visible()
    # The source's marker on the map takes the alert's state, though none of its sensors measured the leak.
    expect(page.locator(f'svg.map [data-marker="{source["id"]}"]').first).to_have_class(
        re.compile(rf"\bstate-{alert['severity']}\b"))

    page.goto(f"{demo.base}/lang/ru?next=/alerts")
    row = page.locator(f'tr[data-alert="{alert_id}"]')
    expect(row).to_contain_text(source["name"])
    expect(page.locator("#alert-table thead")).to_contain_text("Датчик или источник")
    # The Source column (the alerts API's source_name) names the leak's source too, headed in Russian.
    headers = page.locator("#alert-table").get_by_role("columnheader").all_inner_texts()
    assert "Источник" in headers, headers
    expect(row.get_by_role("cell").nth(headers.index("Источник"))).to_have_text(source["name"])

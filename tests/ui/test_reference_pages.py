"""The mine reference database in a real Chromium against ``ghgwatch up --demo``: search a GEM mine, open its
card, read its Tier values, switch to Russian; an auditor sees no edit controls; no request leaves the server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Demo, api, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_search_a_gem_mine_open_its_card_and_compare_tiers(context: Any, demo: Demo) -> None:
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    page.get_by_role("link", name="Reference data", exact=True).click()
    page.get_by_role("link", name="Mine database").click()
    search = page.get_by_role("search", name="Search mines")
    search.get_by_label("Name (Russian or English), GEM ID, owner").fill("raspadskaya")
    search.get_by_label("Status").select_option("operating")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Raspadskaya Coal Mine", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Add a mine")).to_have_count(0)
    expect(page.get_by_role("heading", name="Add a mine")).to_be_visible()  # the admin may add and import
    screenshot(page, "reference-db")

    page.get_by_role("link", name="Raspadskaya Coal Mine", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raspadskaya Coal Mine")
    tiers = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Tier"))
    # GEM: 4.6 Mt in the 2024 snapshot, depth 600 m → IPCC 2006 Vol.2 Ch.4 Tier 1 for > 400 m, 25 m3/t:
    # 4.6e6 t × 25 m3/t × 0.67 kg/m3 = 77,050 t CH4; no relative methane content in the database for Tier 2.
    expect(tiers.get_by_role("row", name="Tier 1")).to_contain_text("77,050.0")
    expect(tiers.get_by_role("row", name="Tier 2")).to_contain_text("no relative methane content")
    expect(page.get_by_text("Chosen:")).to_be_visible()
    expect(page.get_by_role("button", name="Correct").first).to_be_visible()
    years = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Coal production, t"))
    expect(years.get_by_role("row", name="2024")).to_contain_text("4,600,000")
    expect(years.get_by_role("row", name="2024")).to_contain_text("reported")
    screenshot(page, "reference-mine")

    page.get_by_role("link", name="RU", exact=True).click()
    expect(page.get_by_role("heading", name="Уровни 1, 2 и 3 рядом")).to_be_visible()
    expect(page.get_by_role("row", name="Уровень 1")).to_contain_text("77\u00a0050,0")
    expect(page.get_by_role("link", name="← База данных шахт")).to_be_visible()


def test_restoration_evaluation_runs_from_the_page(context: Any, demo: Demo) -> None:
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    page.goto(demo.base + "/reference?tab=restoration")
    page.get_by_label("Repeats").fill("1")
    page.get_by_label("SYNTHETIC test panel (no real mine)").check()
    page.get_by_role("button", name="Evaluate").click()
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Mean error, %"))
    expect(table.get_by_role("row", name="KNN local-global")).to_be_visible(timeout=120_000)
    expect(table.get_by_role("row")).to_have_count(5)  # header and the four methods
    expect(table).to_contain_text("SYNTHETIC")


def test_auditor_reads_the_mine_database_without_edit_controls(context: Any, demo: Demo) -> None:
    name, password = f"auditor-{uuid.uuid4().hex[:6]}", "auditor-password-1"
    answer = api.post(f"{demo.base}/api/v1/users", headers=demo.admin(), json={
        "username": name, "password": password, "role": "auditor",
        "organization_id": demo.credentials["organization_id"]})
    assert answer.status_code == 201, answer.text
    page = context.new_page()
    sign_in(page, demo, name, password)
    page.goto(demo.base + "/reference?tab=minedb&q=Raspadskaya")
    expect(page.get_by_text("Your role can read the reference database but not change it.")).to_be_visible()
    expect(page.get_by_role("heading", name="Add a mine")).to_have_count(0)
    expect(page.get_by_role("link", name="CSV").first).to_be_visible()  # exports are for readers too
    page.get_by_role("link", name="Raspadskaya Coal Mine", exact=True).click()
    expect(page.get_by_role("heading", name="Tier 1, 2 and 3 side by side")).to_be_visible()
    expect(page.get_by_role("button", name="Correct")).to_have_count(0)
    expect(page.get_by_role("heading", name="Add or correct a year")).to_have_count(0)

"""The work-orders page in a real Chromium: an order opened through the API is started and finished by clicking."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Demo, api, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_work_order_is_started_and_finished_from_the_page(context: Any, demo: Demo) -> None:
    answer = api.post(f"{demo.base}/api/v1/work-orders", headers=demo.admin(), json={
        "title": "Inspect degassing pipeline valve DS-2", "organization_id": 1, "due_at": "2030-01-01T08:00:00Z"})
    assert answer.status_code == 201, answer.text
    order = answer.json()["id"]
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    page.get_by_role("link", name="Work orders", exact=True).click()
    expect(page.get_by_role("heading", name="Work orders", level=1)).to_be_visible()
    row = page.locator(f"#order-table tr[data-order='{order}']")
    expect(row).to_contain_text("Inspect degassing pipeline valve DS-2")
    expect(row).to_contain_text("open")
    page.get_by_role("button", name=f"Start work #{order}").click()
    expect(row).to_contain_text("in progress")
    page.get_by_role("button", name=f"Mark done #{order}").click()
    expect(row).to_contain_text("done")
    expect(page.get_by_role("button", name=f"Mark done #{order}")).to_have_count(0)
    screenshot(page, "work-orders")
    history = api.get(f"{demo.base}/api/v1/work-orders/{order}", headers=demo.admin()).json()["history"]
    assert [h["status"] for h in history] == ["open", "in_progress", "done"]

"""The sign-off section of the inventory page, as three people of the demo organisation use it in Chromium."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import Demo, api, sign_in


def _user(demo: Demo, role: str) -> tuple[str, str]:
    name, password = f"{role}-{uuid.uuid4().hex[:6]}", f"{role}-password-1"
    answer = api.post(f"{demo.base}/api/v1/users", headers=demo.admin(), json={
        "username": name, "password": password, "role": role, "organization_id": demo.credentials["organization_id"]})
    assert answer.status_code == 201, answer.text
    return name, password


def _inventory(context: Any, demo: Demo, who: tuple[str, str]) -> Any:
    context.clear_cookies()  # sign the previous person out
    page = context.new_page()
    sign_in(page, demo, *who)
    page.get_by_role("link", name="Inventory", exact=True).click()
    return page


def test_prepare_review_approve_in_the_browser(context: Any, demo: Demo) -> None:
    preparer, reviewer, approver = _user(demo, "engineer"), _user(demo, "engineer"), _user(demo, "admin")
    page = _inventory(context, demo, preparer)
    page.get_by_label("Report title").fill("Demo GHG report")
    page.get_by_role("button", name="Prepare report").click()
    row = page.get_by_role("row").filter(has_text=preparer[0])
    # preparing builds the report: seconds on a loaded machine, not the default 5 s
    expect(row.get_by_role("cell", name="draft")).to_be_visible(timeout=60_000)
    expect(row.get_by_role("button", name="Review")).to_have_count(0)  # not one's own report
    page.close()

    page = _inventory(context, demo, reviewer)
    row = page.get_by_role("row").filter(has_text=preparer[0])
    row.get_by_role("button", name="Review").click()
    expect(row.get_by_role("cell", name="reviewed")).to_be_visible()
    expect(row.get_by_role("button", name="Approve")).to_have_count(0)  # engineers do not approve
    page.close()

    page = _inventory(context, demo, approver)
    row = page.get_by_role("row").filter(has_text=preparer[0])
    row.get_by_role("button", name="Approve").click()
    # approval renders and locks six documents (PDF, XLSX, JSON in two languages): seconds on a busy machine
    expect(row.get_by_role("cell", name="approved", exact=True)).to_be_visible(timeout=60_000)
    expect(row.get_by_role("link", name="PDF")).to_be_visible()
    expect(row.get_by_role("button", name="Submit")).to_be_visible()

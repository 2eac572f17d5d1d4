"""Keyboard use and text contrast of every main page, in a real Chromium against ``ghgwatch up --demo``.

- Keyboard: each page is walked with Tab only. Every element that takes focus must show a focus outline (WCAG 2.1
  SC 2.4.7 Focus Visible) whose colour stands out from what surrounds it by at least 3:1 (SC 1.4.11 Non-text
  Contrast), Tab must reach the visible interactive elements in document order, and the page's main actions
  (the navigation, sign out, the page's own submit buttons) must be among them.
- Contrast: the contrast ratio of every visible piece of text against its background, computed in the page from
  ``getComputedStyle`` (the background found by walking up the ancestors and blending translucent layers), must be
  at least 4.5:1 (WCAG 2.1 AA, SC 1.4.3 Contrast (Minimum); applied to large text too, stricter than the 3:1 that
  SC allows for it). Disabled controls are exempt, as the SC says.

The ratio is WCAG's: (L1 + 0.05) / (L2 + 0.05) with the relative luminance L of sRGB colours (WCAG 2.1, definition
of "contrast ratio" and "relative luminance").
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Demo, sign_in

pytestmark = pytest.mark.browser

TEXT_CONTRAST = 4.5  # WCAG 2.1 AA, SC 1.4.3 Contrast (Minimum)
FOCUS_CONTRAST = 3.0  # WCAG 2.1 AA, SC 1.4.11 Non-text Contrast (a focus indicator is a user-interface component)
MIN_OUTLINE_PX = 2.0  # a 1 px dotted ring is hard to see on a wall display; ours is 3 px
MAX_TABS = 160  # per page (a date field takes several); the checks cover the part of the page reached by then

# In-page helpers (tests/ui/a11y.js): colours, the background behind an element, the contrast ratio, focus.
COLOUR_JS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")

SIGNED_IN_PAGES = ["/", "/monitoring", "/board", "/alerts", "/work-orders", "/registry", "/reference",
                   "/inventory", "/analytics", "/flights", "/audit"]
NAVIGATION = ["Overview", "Monitoring", "Methane board", "Alerts", "Work orders", "Registry", "Reference data",
              "Inventory", "Analytics", "Flights and lab", "Audit", "RU", "Sign out"]
# The page's own main actions, besides the navigation (reached by Tab within MAX_TABS).
MAIN_ACTIONS = {
    "/login": ["Sign in"],
    "/alerts": ["Filter"],
    "/work-orders": ["Filter"],
    "/inventory": ["Run inventory"],
    "/flights": ["Upload and quantify"],
}
# What a page's scripts draw before it is judged (the rest is rendered on the server).
READY = {
    "/": "#open-alerts > *",
    "/monitoring": "#tiles .tile",
    "/board": "#board .gauge",
    "/alerts": "#alert-count:not(:empty)",
    "/work-orders": "#order-count:not(:empty)",
    "/registry": "#rows tbody tr",
}


def _open(page: Any, demo: Demo, path: str) -> None:
    page.goto(demo.base + path)
    expect(page.locator("h1").first).to_be_visible()
    if path in READY:
        expect(page.locator(READY[path]).first).to_be_attached()
    page.evaluate(COLOUR_JS)


def _tab_walk(page: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Press Tab until focus comes back round (or MAX_TABS): the elements focused in turn, and the visible
    focusable elements Tab skipped (see ``unreached``)."""
    reached: list[dict[str, Any]] = []
    whole_round = False
    page.evaluate("window.__a11y.start()")
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        now = page.evaluate("window.__a11y.focused()")
        if now is None or (reached and now["id"] == reached[-1]["id"]):
            continue  # the browser's own UI after the page's end; the next part of the same date field
        if reached and now["id"] == reached[0]["id"]:
            whole_round = True
            break
        reached.append(now)
    assert reached, "Tab focuses nothing"
    skipped = page.evaluate("([ids, whole, names]) => window.__a11y.unreached(ids, whole, names)",
                            [[r["id"] for r in reached], whole_round, [r["name"] for r in reached]])
    return reached, skipped


def _signed_in(context: Any, demo: Demo) -> Any:
    page = context.new_page()
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    return page


def _check_keyboard(page: Any, path: str, actions: list[str]) -> list[str]:
    reached, skipped = _tab_walk(page)
    problems = [f"{path}: {r['name']} has no visible focus outline ({r['style']} {r['width']}px)"
                for r in reached if r["width"] < MIN_OUTLINE_PX]
    problems += [f"{path}: the focus outline of {r['name']} ({r['ring']} on {r['around']}) has contrast "
                 f"{r['contrast']:.2f} < {FOCUS_CONTRAST}" for r in reached
                 if r["width"] >= MIN_OUTLINE_PX and r["contrast"] < FOCUS_CONTRAST]
    problems += [f"{path}: Tab never reaches {name}" for name in skipped]
    names = " | ".join(r["name"] for r in reached)
    problems += [f"{path}: main action {a!r} not reached by Tab ({names})" for a in actions
                 if f"«{a}»" not in names]
    return problems


def test_every_page_works_by_keyboard_with_a_visible_focus(context: Any, demo: Demo) -> None:
    page = context.new_page()
    _open(page, demo, "/login")
    problems = _check_keyboard(page, "/login", MAIN_ACTIONS["/login"])
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    for path in SIGNED_IN_PAGES:
        _open(page, demo, path)
        problems += _check_keyboard(page, path, NAVIGATION + MAIN_ACTIONS.get(path, []))
    assert not problems, "\n".join(problems)


def test_the_keyboard_check_sees_a_missing_outline(context: Any, demo: Demo) -> None:
    page = context.new_page()
    _open(page, demo, "/login")
    page.add_style_tag(content=":focus-visible { outline: none !important; }")
    problems = _check_keyboard(page, "/login", ["Sign in"])
    assert any("no visible focus outline" in p for p in problems), problems


def test_text_contrast_of_every_page(context: Any, demo: Demo) -> None:
    page = context.new_page()
    _open(page, demo, "/login")
    results = {"/login": page.evaluate(f"window.__a11y.textProblems({TEXT_CONTRAST})")}
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    for path in SIGNED_IN_PAGES:
        _open(page, demo, path)
        results[path] = page.evaluate(f"window.__a11y.textProblems({TEXT_CONTRAST})")
    assert all(r["checked"] > 5 for r in results.values()), {p: r["checked"] for p, r in results.items()}
    problems = [f"{path}: {p['element']} «{p['text']}» {p['color']} on {p['background']}: {p['ratio']}:1"
                for path, r in results.items() for p in r["problems"]]
    assert not problems, f"text below {TEXT_CONTRAST}:1:\n" + "\n".join(problems)


def test_the_contrast_check_sees_pale_text(context: Any, demo: Demo) -> None:
    page = context.new_page()
    _open(page, demo, "/login")
    page.add_style_tag(content="h1 { color: #aaaaaa !important; }")  # 2.3:1 on white
    found = page.evaluate(f"window.__a11y.textProblems({TEXT_CONTRAST})")["problems"]
    assert any(p["element"].startswith("h1") and 2.0 < p["ratio"] < 2.6 for p in found), found


def test_the_live_refresh_keeps_the_keyboard_focus(context: Any, demo: Demo) -> None:
    """The overview re-renders its latest values every 5 s; a keyboard user's focus stays on the same link (it went
    back to the top of the page, and under load Tab never reached the rows: WCAG 2.4.3)."""
    page = context.new_page()
    _open(page, demo, "/login")
    sign_in(page, demo, demo.credentials["admin"]["username"], demo.credentials["admin"]["password"])
    _open(page, demo, "/")
    link = page.locator("#latest tbody tr a").nth(2)
    expect(link).to_be_visible(timeout=60_000)
    href = link.get_attribute("href")
    link.focus()
    page.evaluate("""() => { window.__rendered = 0;
        new MutationObserver(() => { window.__rendered += 1; })
            .observe(document.querySelector('#latest tbody'), { childList: true }); }""")
    deadline = time.monotonic() + 60  # two refreshes since the focus (the page's CSP forbids wait_for_function)
    while page.evaluate("() => window.__rendered") < 2:
        assert time.monotonic() < deadline, "the overview did not refresh its latest values within 60 s"
        page.wait_for_timeout(200)
    assert page.evaluate("document.activeElement.getAttribute('href')") == href
    assert page.evaluate("document.querySelector('#latest tbody').contains(document.activeElement)")

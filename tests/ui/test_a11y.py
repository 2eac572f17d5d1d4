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

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Demo, sign_in

pytestmark = pytest.mark.browser

TEXT_CONTRAST = 4.5  # WCAG 2.1 AA, SC 1.4.3 Contrast (Minimum)
FOCUS_CONTRAST = 3.0  # WCAG 2.1 AA, SC 1.4.11 Non-text Contrast (a focus indicator is a user-interface component)
MIN_OUTLINE_PX = 2.0  # a 1 px dotted ring is hard to see on a wall display; ours is 3 px
MAX_TABS = 160  # per page (a date field takes several); the checks cover the part of the page reached by then

# In-page helpers: colours, the background behind an element, the contrast ratio (WCAG 2.1 definitions).
COLOUR_JS = r"""
window.__a11y = (() => {
  function parse(text) {
    const m = /rgba?\(([^)]+)\)/.exec(text || "");
    if (!m) return { r: 0, g: 0, b: 0, a: 0 };
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  const over = (top, under) => ({  // "source over" compositing of a translucent colour onto an opaque one
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  function background(start) {  // the opaque colour behind an element; null when an image is in the way
    const layers = [];
    for (let e = start; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.backgroundImage && cs.backgroundImage !== "none") return null;
      const c = parse(cs.backgroundColor);
      if (c.a > 0) layers.push(c);
      if (c.a >= 1) break;
    }
    let colour = { r: 255, g: 255, b: 255, a: 1 };  // the canvas
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  }
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  function ratio(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }
  const css = (c) => "rgb(" + [c.r, c.g, c.b].map(Math.round).join(",") + ")";
  function opacity(el) { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; }
  function shown(el, inSvg) {
    if (el.closest(inSvg ? "[hidden], script, style, noscript, template" : "[hidden], svg, script, style, noscript, template")) return false;
    const cs = getComputedStyle(el);
    if (cs.visibility !== "visible" || cs.display === "none") return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1 && r.right > 0 && r.bottom > 0;
  }
  function textProblems(minimum) {
    const problems = [];
    let checked = 0;
    const seen = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const targets = [];
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.textContent.trim() && node.parentElement && !seen.has(node.parentElement)) {
        seen.add(node.parentElement); targets.push([node.parentElement, node.textContent.trim()]);
      }
    }
    for (const el of document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]):not([type=range]), select, textarea"))
      if (el.value) targets.push([el, el.value]);
    for (const [el, text] of targets) {
      if (!shown(el) || el.closest(":disabled, [aria-disabled=true]")) continue;
      const o = opacity(el);
      if (o === 0) continue;
      const bg = background(el);
      if (bg === null) continue;
      const fg = parse(getComputedStyle(el).color);
      fg.a *= o;
      const value = ratio(over(fg, bg), bg);
      checked += 1;
      if (value < minimum)
        problems.push({ text: text.slice(0, 60), ratio: Math.round(value * 100) / 100, color: css(over(fg, bg)),
                        background: css(bg), element: el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "") });
    }
    return { checked, problems };
  }
  function focusables() {  // visible elements Tab should reach, in document order
    const q = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";
    return [...document.querySelectorAll(q)].filter((el) => !el.disabled && el.tabIndex >= 0 && shown(el, true)
      && !el.closest("dialog:not([open])") && !el.closest("[inert]"));
  }
  function describe(el) {
    const label = el.getAttribute("aria-label") || (el.labels && el.labels[0] && el.labels[0].innerText)
      || el.innerText || el.value || el.name || el.id || el.tagName;
    return el.tagName.toLowerCase() + " «" + String(label).trim().replace(/\s+/g, " ").slice(0, 50) + "»";
  }
  let counter = 0;
  function mark(el) { if (!el.dataset.a11y) el.dataset.a11y = String(++counter); return el.dataset.a11y; }
  function focused() {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const seenBefore = Boolean(el.dataset.a11y);
    const id = mark(el);
    const cs = getComputedStyle(el);
    const around = background(el.parentElement) || { r: 255, g: 255, b: 255, a: 1 };
    const ring = parse(cs.outlineColor);
    const width = cs.outlineStyle === "none" ? 0 : parseFloat(cs.outlineWidth) || 0;
    return { id, seenBefore, name: describe(el), width, style: cs.outlineStyle,
             contrast: ring.a > 0 ? ratio(over(ring, around), around) : 0, ring: cs.outlineColor, around: css(around) };
  }
  function unreached(reachedIds, wholeRound) {
    // Focusable elements Tab skipped: all of them after a whole round, else those before the last one reached.
    const got = new Set(reachedIds);
    const last = document.querySelector('[data-a11y="' + reachedIds[reachedIds.length - 1] + '"]');
    return focusables().filter((el) => !got.has(el.dataset.a11y || "") && (wholeRound || !last
      || (last.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING))).map(describe);
  }
  return { textProblems, focused, unreached };
})();
"""

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
    skipped = page.evaluate("([ids, whole]) => window.__a11y.unreached(ids, whole)",
                            [[r["id"] for r in reached], whole_round])
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

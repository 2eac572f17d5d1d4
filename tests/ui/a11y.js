/* In-page helpers of tests/ui/test_a11y.py: colours, the background behind an element, the WCAG 2.1 contrast
   ratio ((L1 + 0.05) / (L2 + 0.05) of the relative luminances), text contrast problems, and what Tab focuses. */
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
  function opacity(el) {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  }
  function shown(el, inSvg) {
    const away = "[hidden], script, style, noscript, template";
    if (el.closest(inSvg ? away : away + ", svg")) return false;
    const cs = getComputedStyle(el);
    if (cs.visibility !== "visible" || cs.display === "none") return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1 && r.right > 0 && r.bottom > 0;
  }
  const classes = (el) => (el.className ? "." + String(el.className).split(" ").join(".") : "");
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
    const fields = "input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]):not([type=range])";
    for (const el of document.querySelectorAll(fields + ", select, textarea"))
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
                        background: css(bg), element: el.tagName.toLowerCase() + classes(el) });
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
  let before = null;
  function start() { before = new Set(focusables().map(describe)); }  // what the page showed when the walk began
  function unreached(reachedIds, wholeRound, reachedNames) {
    // Focusable elements Tab skipped: all of them after a whole round, else those before the last one reached.
    // A row a live page re-rendered during the walk is a new node, never marked: it counts as reached when an
    // element of the same description was (the page keeps the focus across its refreshes: app.js keepFocus).
    // Content that first appeared during the walk (a new alert in the overview's list) is not judged: Tab may
    // already have passed where it was inserted.
    const got = new Set(reachedIds);
    const names = new Set(reachedNames || []);
    const last = document.querySelector('[data-a11y="' + reachedIds[reachedIds.length - 1] + '"]');
    return focusables().filter((el) => !got.has(el.dataset.a11y || "") && !(!el.dataset.a11y && names.has(describe(el)))
      && (before === null || before.has(describe(el)))
      && (wholeRound || !last || (last.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING))).map(describe);
  }
  return { textProblems, focused, unreached, start };
})();

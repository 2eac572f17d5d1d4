/* ghgwatch UI: helpers shared by every page (API calls with the session's CSRF token, locale formats,
   translations, and the live alarm cue from the alerts stream). No framework, no build step. */
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("i18n").textContent || "{}");
  const pageData = JSON.parse(document.getElementById("page-data").textContent || "{}");
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const locale = document.documentElement.lang || "en";

  function t(text, values) {
    let out = strings[text] || text;
    if (values) for (const [k, v] of Object.entries(values)) out = out.split("{" + k + "}").join(String(v));
    return out;
  }

  class ApiError extends Error {
    constructor(status, problem) {
      const fields = (problem.errors || []).map((e) => (e.loc || []).join(".") + ": " + (e.msg || "")).join("; ");
      super([problem.title, problem.detail, fields].filter(Boolean).join(" — "));
      this.status = status; this.problem = problem;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    let body = opts.body;
    if (body !== undefined && !(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    const answer = await fetch("/api/v1" + path, { method: opts.method || "GET", headers, body, credentials: "same-origin" });
    if (answer.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new ApiError(401, { title: t("Signed out") }); }
    if (answer.status === 204) return null;
    const type = answer.headers.get("content-type") || "";
    const data = type.includes("json") ? await answer.json() : await answer.text();
    if (!answer.ok) throw new ApiError(answer.status, typeof data === "object" ? data : { title: String(answer.status), detail: data });
    return data;
  }

  function qs(params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") p.set(k, v);
    const s = p.toString();
    return s ? "?" + s : "";
  }

  const numberFormats = {};
  function num(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    const key = digits === undefined ? "auto" : String(digits);
    if (!numberFormats[key]) numberFormats[key] = new Intl.NumberFormat(locale, digits === undefined
      ? { maximumFractionDigits: 3 } : { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return numberFormats[key].format(value);
  }
  const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" });
  function dt(iso) { return iso ? dateFormat.format(new Date(iso)) : "—"; }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function toast(message, kind) {
    const node = el("div", { class: "toast " + (kind || ""), role: kind === "error" ? "alert" : "status" }, message);
    document.body.append(node);
    setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
  }

  function guard(fn) {
    return async (...args) => { try { return await fn(...args); } catch (e) { toast(e.message || String(e), "error"); } };
  }

  function download(path, filename) {
    const a = el("a", { href: "/api/v1" + path, download: filename || "" });
    document.body.append(a); a.click(); a.remove();
  }

  /* The sensor state the map, tiles and board colour by: silent beats everything (no fresh data). */
  function sensorState(sensor, value, ts, openSeverity) {
    const interval = (sensor.expected_interval_s || 60) * 1000;
    if (ts === null || ts === undefined || Date.now() - new Date(ts).getTime() > Math.max(3 * interval, 30000)) return "silent";
    if (openSeverity === "alarm" || (sensor.alarm_level != null && value >= sensor.alarm_level)) return "alarm";
    if (openSeverity === "warning" || (sensor.warning_level != null && value >= sensor.warning_level)) return "warning";
    return "normal";
  }

  /* ---- the live alarm cue on every page: banner, optional sound, and an event pages listen to */
  const soundToggle = document.getElementById("sound-toggle");
  if (soundToggle) {
    soundToggle.checked = localStorage.getItem("gw-sound") === "1";
    soundToggle.addEventListener("change", () => localStorage.setItem("gw-sound", soundToggle.checked ? "1" : "0"));
  }
  function beep() {
    if (!soundToggle || !soundToggle.checked) return;
    try {
      const ctx = new AudioContext(); const osc = ctx.createOscillator(); const gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.2; osc.connect(gain).connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.6);
    } catch (e) { /* no audio device */ }
  }
  /* What an alert concerns, as {label, name}: the sensor, or for a UAV leak alert (sensor_id 0, rule_id
     "ext:uav_leak:<facility>[:<source>]", lab/alerting.py) the source, else the facility, by their names from the
     page's data when it has them. */
  const LEAK_RULE = /^ext:uav_leak:(\d+)(?::(\d+))?$/;
  function leakSubject(alert) {  /* {facility, source (or null)} of a UAV leak alert, else null */
    const m = LEAK_RULE.exec(alert.rule_id || "");
    return m ? { facility: Number(m[1]), source: m[2] ? Number(m[2]) : null } : null;
  }
  function alertSubject(alert) {
    const named = (list, id) => ((list || []).find((x) => String(x.id) === String(id)) || {}).name;
    const leak = leakSubject(alert);
    if (leak && leak.source) return { label: t("Source"), name: named(pageData.sources, leak.source) || t("source {id}", { id: leak.source }) };
    if (leak) return { label: t("Facility"), name: named(pageData.facilities, leak.facility) || t("facility {id}", { id: leak.facility }) };
    return { label: t("Sensor"), name: named(pageData.sensors, alert.sensor_id) || t("sensor {id}", { id: alert.sensor_id }) };
  }

  function showAlarm(alert) {
    const banner = document.getElementById("alarm-banner");
    if (!banner) return;
    banner.replaceChildren(
      el("span", {}, t("ALARM") + ": " + alertSubject(alert).name + " — " + num(alert.reading_value) + " " + (alert.unit || "") + " (" + (alert.reason || alert.rule_id) + ")"),
      el("a", { href: "/alerts?id=" + alert.id }, t("Open alerts")),
      el("button", { type: "button", onclick: () => { banner.hidden = true; } }, t("Dismiss")));
    banner.hidden = false;
    beep();
  }
  let stream = null;
  if (csrf && window.EventSource) {
    stream = new EventSource("/api/v1/alerts/stream");
    const relay = (name) => stream.addEventListener(name, (ev) => {
      const data = JSON.parse(ev.data);
      document.dispatchEvent(new CustomEvent("gw:alert", { detail: data }));
      if ((name === "opened" || name === "escalated") && data.alert && data.alert.severity === "alarm") showAlarm(data.alert);
    });
    ["opened", "escalated", "updated", "acknowledged", "resolved", "auto_resolved"].forEach(relay);
    window.addEventListener("beforeunload", () => stream.close());
  }

  // A list re-rendered every few seconds must not throw a keyboard user's focus back to the top of the page
  // (WCAG 2.4.3 focus order): the focused control is found again in the new rows by its row and its label.
  function keepFocus(container, render) {
    const active = document.activeElement;
    if (!active || active === document.body || !container.contains(active)) { render(); return; }
    const rows = () => Array.from(container.querySelectorAll("tr, li"));
    const label = (n) => n.getAttribute("href") || n.getAttribute("aria-label") || n.textContent;
    const focusable = (scope) => Array.from(scope.querySelectorAll("a, button, input, select, textarea, [tabindex]"));
    const row = active.closest("tr, li");
    const at = row ? rows().indexOf(row) : -1;
    const key = label(active);
    render();
    const scope = at >= 0 ? rows()[at] : null;
    const again = (scope && focusable(scope).find((n) => label(n) === key)) || focusable(container).find((n) => label(n) === key);
    if (again) again.focus({ preventScroll: true });
  }

  /* A form that a page's script posts renders its submit button disabled (data-js-ready): a click before the script
     had attached its handler submitted the form the browser's way, a reload that lost the chosen file (a UI test
     failed on it under load). The pages' scripts are classic scripts at the end of the body, so all of them have
     run when DOMContentLoaded fires. */
  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("button[data-js-ready]")) button.disabled = false;
  });

  window.GW = { t, api, qs, num, dt, el, toast, guard, download, sensorState, alertSubject, leakSubject, locale, pageData, csrf, ApiError, keepFocus };
})();

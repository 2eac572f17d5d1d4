(function () {
  "use strict";
  const { t, api, qs, num, dt, el, toast, guard, pageData } = window.GW;
  const { draw, COLORS } = window.GWChart;
  const sensorName = Object.fromEntries(pageData.sensors.map((s) => [s.id, s.name]));
  let plot = null;

  function merge(seriesList) {
    /* Align several [{ts, value}] lists on one time axis (seconds); missing values are null. */
    const xs = Array.from(new Set(seriesList.flatMap((s) => s.map((p) => p[0])))).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    return [xs, seriesList.map((s) => { const out = xs.map(() => null); for (const [x, v] of s) out[index.get(x)] = v; return out; })];
  }
  const sec = (iso) => new Date(iso).getTime() / 1000;

  async function forecast(sensor) {
    let fc = null;
    try { fc = await api("/sensors/" + sensor + "/forecast"); } catch (e) { if (e.status !== 404) throw e; }
    const to = new Date(); const from = new Date(to.getTime() - 6 * 3600 * 1000);
    const history = await api("/sensors/" + sensor + "/readings" + qs({ from: from.toISOString(), to: to.toISOString(), resolution: "1m" }));
    const hist = history.points.map((p) => [sec(p.ts), p.value]);
    const pts = fc ? fc.points : [];
    const [xs, [h, f, lo, hi]] = merge([hist, pts.map((p) => [sec(p.ts), p.forecast]), pts.map((p) => [sec(p.ts), p.lower]), pts.map((p) => [sec(p.ts), p.upper])]);
    document.getElementById("series-info").textContent = fc
      ? (fc.model ? fc.model.name + " v" + fc.model.version + " (" + fc.model.method + ") · " : "") + t("forecast") + " " + dt(fc.issued_at) + " · " + num(fc.interval * 100, 0) + " %"
      : t("No data in this period.");
    plot = draw(document.getElementById("series-chart"), xs, [
      { label: t("value"), values: h, color: COLORS.value },
      { label: t("forecast"), values: f, color: COLORS.forecast, width: 2 },
      { label: t("lower bound"), values: lo, color: COLORS.forecast, dash: [4, 4] },
      { label: t("upper bound"), values: hi, color: COLORS.forecast, dash: [4, 4] }], plot);
  }

  async function gaps(sensor, hours, method) {
    const to = new Date(); const from = new Date(to.getTime() - hours * 3600 * 1000);
    const [stored, filled] = await Promise.all([
      api("/sensors/" + sensor + "/readings" + qs({ from: from.toISOString(), to: to.toISOString(), resolution: "1m" })),
      api("/analytics/gaps/fill", { method: "POST", body: { sensor_id: Number(sensor), from: from.toISOString(), to: to.toISOString(), resolution: "1m", method } })]);
    const [xs, [orig, fill, marks]] = merge([stored.points.map((p) => [sec(p.ts), p.value]),
      filled.points.map((p) => [sec(p.ts), p.value]), filled.points.filter((p) => p.filled).map((p) => [sec(p.ts), p.value])]);
    document.getElementById("series-info").textContent = t("filled") + ": " + filled.n_filled + " · " + filled.method;
    plot = draw(document.getElementById("series-chart"), xs, [
      { label: t("original"), values: orig, color: COLORS.value, width: 2 },
      { label: t("filled"), values: fill, color: "#9ca3af", dash: [3, 3] },
      { label: t("filled") + " ●", values: marks, color: COLORS.filled, points: true }], plot);
  }

  async function models() {
    const answer = await api("/analytics/models");
    const items = answer.items || answer;
    document.querySelector("#models tbody").replaceChildren(...items.map((m) => el("tr", {},
      el("td", {}, m.id), el("td", {}, m.name), el("td", {}, m.version), el("td", {}, m.method), el("td", {}, m.status),
      el("td", {}, sensorName[m.sensor_id] || m.sensor_id || ""),
      el("td", {}, Object.entries(m.metrics || {}).filter(([, v]) => typeof v === "number").slice(0, 6).map(([k, v]) => k + " " + num(v, 3)).join(" · ")),
      el("td", {}, dt(m.created_at)),
      el("td", {}, pageData.can_write && m.status !== "promoted" ? el("button", { type: "button", onclick: guard(async () => {
        await api("/analytics/models/" + m.id + "/promote", { method: "POST" }); toast(t("Promoted.")); await models(); }) }, t("Promote")) : ""))));
    const jobs = await api("/analytics/jobs" + qs({ limit: 30 }));
    document.querySelector("#jobs tbody").replaceChildren(...(jobs.items || jobs).map((j) => el("tr", {},
      el("td", {}, j.id), el("td", {}, j.kind), el("td", {}, j.state), el("td", {}, j.message), el("td", {}, dt(j.created_at)))));
  }

  const form = document.getElementById("series-form");
  if (form) {
    const show = guard(async () => {
      const f = new FormData(form);
      document.getElementById("series-info").textContent = t("Loading…");
      if (pageData.tab === "gaps") await gaps(f.get("sensor"), Number(f.get("hours")), f.get("method"));
      else await forecast(f.get("sensor"));
    });
    form.addEventListener("submit", (e) => { e.preventDefault(); show(); });
    const longwall = pageData.sensors.find((s) => s.kind === "methane" && (s.location || "").startsWith("longwall"));
    if (longwall) form.elements.sensor.value = String(longwall.id);
    show();
  }
  if (pageData.tab === "models") guard(models)();
})();

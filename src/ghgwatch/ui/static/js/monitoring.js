(function () {
  "use strict";
  const { t, api, qs, num, dt, sensorState, pageData } = window.GW;
  const { latest, unresolvedAlerts, watch } = window.GWLive;
  const { draw, constant, COLORS } = window.GWChart;
  if (!pageData.facility || !pageData.sensors.length) return;
  const sensors = Object.fromEntries(pageData.sensors.map((s) => [s.id, s]));
  let selected = pageData.selected; let range = 3600; let plot = null;

  async function refreshTiles() {
    const [values, alerts] = await Promise.all([latest([pageData.facility.id]), unresolvedAlerts(pageData.facility.id)]);
    const severity = {};
    for (const a of alerts) if (severity[a.sensor_id] !== "alarm") severity[a.sensor_id] = a.severity;
    document.querySelectorAll("#tiles [data-sensor]").forEach((tile) => {
      const s = sensors[tile.dataset.sensor]; const v = values[s.id] || {};
      const state = sensorState(s, v.value, v.ts, severity[s.id]);
      tile.className = "tile state-" + state;
      tile.querySelector("[data-value]").textContent = num(v.value, 2);
      tile.querySelector("[data-time]").textContent = v.ts ? dt(v.ts) + " · " + t(state) : t("no data");
      tile.setAttribute("aria-label", s.source_name + " · " + s.name + ": " + num(v.value, 2) + " " + s.unit + ", " + t(state));
    });
  }

  async function refreshChart() {
    const s = sensors[selected];
    const to = new Date(); const from = new Date(to.getTime() - range * 1000);
    const answer = await api("/sensors/" + s.id + "/readings" + qs({ from: from.toISOString(), to: to.toISOString() }));
    const xs = answer.points.map((p) => new Date(p.ts).getTime() / 1000);
    const ys = answer.points.map((p) => p.value);
    const flagged = answer.points.map((p) => (p.quality ? p.value : null));
    const nFlagged = flagged.filter((v) => v !== null).length;
    const series = [{ label: s.name + " (" + s.unit + ")", values: ys, color: COLORS.value }];
    if (s.warning_level != null) series.push({ label: t("warning level"), values: constant(xs, s.warning_level), color: COLORS.warning, dash: [6, 4] });
    if (s.alarm_level != null) series.push({ label: t("alarm level"), values: constant(xs, s.alarm_level), color: COLORS.alarm, dash: [6, 4], width: 2 });
    series.push({ label: t("Quality flags"), values: flagged, color: COLORS.flag, points: true });
    document.getElementById("chart-sensor").textContent = s.source_name + " · " + s.name;
    document.getElementById("chart-info").textContent = xs.length ? answer.resolution + " · " + xs.length : t("No data in this period.");
    document.getElementById("chart-flags").textContent = t("flagged points: {n}", { n: nFlagged });
    document.getElementById("csv-link").href = "/api/v1/sensors/" + s.id + "/readings" + qs({ from: from.toISOString(), to: to.toISOString(), format: "csv" });
    plot = draw(document.getElementById("chart"), xs, series, plot);
  }

  function select(id) {
    selected = Number(id);
    document.querySelectorAll("#tiles [data-sensor]").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.sensor) === selected)));
    if (plot) { plot.destroy(); plot = null; }
    refreshChart().catch((e) => window.GW.toast(e.message, "error"));
  }
  document.querySelectorAll("#tiles [data-sensor]").forEach((b) => b.addEventListener("click", () => select(b.dataset.sensor)));
  document.querySelectorAll("[data-range]").forEach((b) => b.addEventListener("click", () => {
    range = Number(b.dataset.range);
    document.querySelectorAll("[data-range]").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
    refreshChart().catch((e) => window.GW.toast(e.message, "error"));
  }));

  watch(refreshTiles, 2000);
  select(selected);
  let ticks = 0;  // short ranges follow the live data every 5 s, long ones (rollups) every minute
  setInterval(() => { ticks += 1; if (!document.hidden && (range <= 21600 || ticks % 12 === 0)) refreshChart().catch(() => {}); }, 5000);
})();

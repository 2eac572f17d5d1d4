/* The methane board: one request a second for the facility's latest values (one query on the server),
   and only the text and widths that changed are touched, so 200 gauges stay cheap to redraw. */
(function () {
  "use strict";
  const { t, api, num, sensorState, pageData, locale } = window.GW;
  if (!pageData.facility || !pageData.sensors.length) return;
  const gauges = {};
  for (const s of pageData.sensors) {
    const node = document.querySelector('[data-sensor="' + s.id + '"]');
    gauges[s.id] = { s, node, value: node.querySelector("[data-value]"), bar: node.querySelector(".bar i"),
                     state: node.querySelector("[data-state]"), last: { text: "", width: "", cls: "" } };
  }
  const clock = document.getElementById("board-clock");
  const timeFormat = new Intl.DateTimeFormat(locale, { timeStyle: "medium" });
  let severity = {};

  async function refreshAlerts() {
    const answer = await api("/alerts?state=open&facility_id=" + pageData.facility.id + "&limit=500");
    severity = {};
    for (const a of answer.items) if (severity[a.sensor_id] !== "alarm") severity[a.sensor_id] = a.severity;
  }

  let busy = false;
  async function tick() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const answer = await api("/facilities/" + pageData.facility.id + "/latest");
      for (const v of answer.sensors) {
        const g = gauges[v.sensor]; if (!g) continue;
        const state = sensorState(g.s, v.value, v.ts, severity[v.sensor]);
        const text = num(v.value, 2);
        const limit = g.s.alarm_level || g.s.range_max || 1;
        const width = Math.min(100, Math.max(0, (v.value || 0) / limit * 100)).toFixed(0) + "%";
        const cls = "gauge state-" + state;
        if (g.last.text !== text) { g.value.textContent = text; g.last.text = text; }
        if (g.last.width !== width) { g.bar.style.width = width; g.last.width = width; }
        if (g.last.cls !== cls) { g.node.className = cls; g.state.textContent = t(state); g.last.cls = cls; }
      }
      clock.textContent = timeFormat.format(new Date());
    } catch (e) { clock.textContent = e.message; } finally { busy = false; }
  }
  refreshAlerts().catch(() => {});
  document.addEventListener("gw:alert", () => refreshAlerts().catch(() => {}));
  setInterval(() => refreshAlerts().catch(() => {}), 15000);
  tick();
  setInterval(tick, 1000);
})();

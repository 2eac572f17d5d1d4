(function () {
  "use strict";
  const { t, num, dt, el, sensorState, alertSubject, leakSubject, pageData, keepFocus } = window.GW;
  const { unresolvedAlerts, latest, worst, watch } = window.GWLive;
  const site = pageData;
  const facilityName = Object.fromEntries(site.facilities.map((f) => [f.id, f.name]));

  function setState(node, state) {
    node.classList.remove("state-normal", "state-warning", "state-alarm", "state-silent");
    node.classList.add("state-" + state);
  }

  async function refresh() {
    const [values, alerts] = await Promise.all([latest(site.facilities.map((f) => f.id)), unresolvedAlerts()]);
    const severity = {};
    for (const a of alerts) if (severity[a.sensor_id] !== "alarm") severity[a.sensor_id] = a.severity;
    const states = {};
    const rows = [];
    for (const s of site.sensors) {
      const v = values[s.id] || {};
      states[s.id] = sensorState(s, v.value, v.ts, severity[s.id]);
      rows.push(el("tr", {},
        el("td", {}, el("a", { href: "/monitoring?facility=" + s.facility_id + "&sensor=" + s.id }, s.source_name + " · " + s.name)),
        el("td", {}, facilityName[s.facility_id] || ""),
        el("td", { class: "num", "data-sensor-value": s.id }, num(v.value)),
        el("td", {}, s.unit), el("td", {}, dt(v.ts)),
        el("td", {}, el("span", { class: "pill state-" + states[s.id] }, t(states[s.id])))));
    }
    const body = document.querySelector("#latest tbody");
    keepFocus(body, () => body.replaceChildren(...rows));
    const bySource = {}; const byFacility = {};
    for (const s of site.sensors) {
      (bySource[s.source_id] = bySource[s.source_id] || []).push(states[s.id]);
      (byFacility[s.facility_id] = byFacility[s.facility_id] || []).push(states[s.id]);
    }
    for (const a of alerts) {  // a UAV leak alert colours its source (and facility), which has no sensor of it
      const leak = leakSubject(a);
      if (!leak) continue;
      const state = a.severity === "alarm" ? "alarm" : "warning";
      if (leak.source) (bySource[leak.source] = bySource[leak.source] || []).push(state);
      (byFacility[leak.facility] = byFacility[leak.facility] || []).push(state);
    }
    document.querySelectorAll("[data-marker]").forEach((node) => {
      const id = Number(node.dataset.marker);
      setState(node, worst(id > 0 ? (bySource[id] || []) : (byFacility[-id] || [])));
    });
    document.querySelectorAll("[data-facility-state]").forEach((node) => {
      const state = worst(byFacility[Number(node.dataset.facilityState)] || []);
      setState(node, state); node.textContent = t(state);
    });
    const list = document.getElementById("open-alerts");
    keepFocus(list, () => list.replaceChildren(alerts.length ? el("ul", {}, alerts.slice(0, 20).map((a) => el("li", {},
      el("span", { class: "pill state-" + (a.severity === "alarm" ? "alarm" : "warning") }, t(a.severity)), " ",
      el("a", { href: "/alerts?id=" + a.id }, alertSubject(a).name),
      " — ", num(a.reading_value), " ", a.unit || "", " · ", dt(a.opened_at)))) : el("p", { class: "muted" }, t("No open alerts."))));
  }

  watch(refresh, 5000);
})();

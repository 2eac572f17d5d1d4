/* Live state of a site from the API: latest values per facility and unresolved alerts, polled and
   refreshed at once when the alerts stream reports a change. Used by the overview and monitoring pages. */
(function () {
  "use strict";
  const { api, qs } = window.GW;

  async function unresolvedAlerts(facilityId) {
    const [open, acked] = await Promise.all(["open", "acknowledged"].map((state) =>
      api("/alerts" + qs({ state, facility_id: facilityId, limit: 500 }))));
    return open.items.concat(acked.items);
  }

  /* {sensorId: {value, ts, quality}} for the given facilities. */
  async function latest(facilityIds) {
    const answers = await Promise.all(facilityIds.map((id) => api("/facilities/" + id + "/latest")));
    const out = {};
    for (const a of answers) for (const s of a.sensors) out[s.sensor] = s;
    return out;
  }

  function worst(states) {
    const order = ["alarm", "warning", "normal", "silent"];
    for (const s of order) if (states.includes(s)) return s;
    return "silent";
  }

  function watch(refresh, periodMs) {
    let running = false;
    const tick = async () => {
      if (running || document.hidden) return;
      running = true;
      try { await refresh(); } catch (e) { console.warn(e); } finally { running = false; }
    };
    tick();
    const timer = setInterval(tick, periodMs);
    document.addEventListener("gw:alert", tick);
    return () => clearInterval(timer);
  }

  window.GWLive = { unresolvedAlerts, latest, worst, watch };
})();

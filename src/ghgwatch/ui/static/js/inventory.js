(function () {
  "use strict";
  const { t, api, qs, num, dt, el, toast, guard, pageData } = window.GW;
  const facilityName = Object.fromEntries(pageData.facilities.map((f) => [f.id, f.name]));
  const org = pageData.organization_id;

  async function loadActivities() {
    const answer = await api("/activity-data" + qs({ limit: 200 }));
    document.querySelector("#activities tbody").replaceChildren(...answer.items.map((a) => el("tr", {},
      el("td", {}, a.id), el("td", {}, facilityName[a.facility_id] || a.facility_id), el("td", {}, a.activity_type),
      el("td", {}, a.period_start + " – " + a.period_end), el("td", {}, el("code", {}, JSON.stringify(a.data))),
      el("td", {}, a.provenance || ""))));
  }

  async function loadRuns() {
    const answer = await api("/inventory/runs" + qs({ limit: 50 }));
    const items = answer.items || answer;
    document.querySelector("#runs tbody").replaceChildren(...items.map((r) => el("tr", {},
      el("td", {}, el("button", { type: "button", onclick: guard(() => showRun(r.id)), "aria-label": t("Details") + " #" + r.id }, "#" + r.id)),
      el("td", {}, r.year), el("td", {}, r.methodology + " " + r.methodology_version), el("td", {}, r.gwp),
      el("td", { class: "num" }, num(r.total_co2e_t, 1)), el("td", {}, r.regulated_296fz ? t("yes") : t("no")),
      el("td", {}, dt(r.created_at)))));
  }

  function table(headers, rows) {
    return el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.num ? "num" : "" }, h.text || h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: headers[i].num ? "num" : "" }, c)))))));
  }

  async function showRun(id) {
    const run = await api("/inventory/runs/" + id);
    const res = run.result; const tot = res.totals;
    const inputs = Object.fromEntries((run.inputs.activities || []).map((a) => [a.id, a]));
    const byFacility = {};
    for (const a of res.activities) {
      const name = (inputs[a.id] || {}).facility || "—";
      byFacility[name] = (byFacility[name] || 0) + a.co2e_t;
    }
    const comparison = (run.comparison || {}).tier3_vs_tier1 || [];
    document.getElementById("result-title").textContent = t("Run") + " #" + run.id + " · " + run.year;
    document.getElementById("result-body").replaceChildren(
      el("dl", { class: "kv" },
        el("dt", {}, t("Methodology")), el("dd", {}, res.methodology.title + " (" + res.methodology.version + ")"),
        el("dt", {}, "GWP"), el("dd", {}, res.gwp.name + " · CH4 " + num(res.gwp.ch4_applied) + " · " + res.gwp.source),
        el("dt", {}, t("Factor sets")), el("dd", {}, res.methodology.factor_sets.map((f) => f.name + " " + f.version).join(", ") || "—"),
        el("dt", {}, t("Inputs hash")), el("dd", {}, el("code", {}, run.inputs_sha256)),
        el("dt", {}, t("Code version")), el("dd", {}, run.code_version),
        el("dt", {}, t("296-FZ")), el("dd", {}, el("span", { class: res.regulated_296fz ? "bad" : "ok" },
          res.regulated_296fz ? t("Regulated: report due") : t("Below the threshold")), " · ", t("threshold") + " " + num(res.threshold_t_co2e) + " t CO2e", res.fz296.note ? " · " + res.fz296.note : "")),
      el("h3", {}, t("By gas")),
      table([t("Gas"), { text: t("tonnes"), num: true }], [["CO2", num(tot.co2_t, 2)], ["CH4", num(tot.ch4_t, 2)], ["N2O", num(tot.n2o_t, 3)], [t("Total") + ", t CO2e", num(tot.co2e_t, 1)]]),
      el("h3", {}, t("By facility")),
      table([t("Facility"), { text: t("t CO2e"), num: true }], Object.entries(byFacility).map(([k, v]) => [k, num(v, 1)])),
      el("h3", {}, t("By source")),
      table([t("Activity"), t("Category"), { text: "CO2, t", num: true }, { text: "CH4, t", num: true }, { text: "N2O, t", num: true }, { text: t("t CO2e"), num: true }, t("Factor")],
        res.activities.map((a) => [a.id + " · " + a.type, a.category, num(a.co2_t, 2), num(a.ch4_t, 2), num(a.n2o_t, 3), num(a.co2e_t, 1),
          el("ul", {}, a.factors.map((f) => el("li", {}, f.name + " = " + num(f.value) + " " + f.unit + " — " + (typeof f.source === "string" ? f.source : JSON.stringify(f.source)))))])),
      el("h3", {}, t("Measured vs Tier 1")),
      comparison.length ? table([t("Facility"), { text: t("Measured CH4, t"), num: true }, { text: t("Tier 1 CH4, t"), num: true }, { text: t("Difference, %"), num: true }],
        comparison.map((c) => [facilityName[c.facility_id] || c.facility_id, num(c.measured_ch4_t, 1), num(c.factor_ch4_t, 1), num(c.difference_pct, 1)]))
        : el("p", { class: "muted" }, t("No facility has both measured methane and a Tier 1 activity in this run.")));
    const links = document.getElementById("report-links");
    links.replaceChildren();
    for (const kind of ["annual", "detail"]) for (const lang of ["ru", "en"]) for (const format of ["pdf", "xlsx", "csv", "json"]) {
      links.append(el("a", { href: "/api/v1/inventory/runs/" + run.id + "/report" + qs({ kind, format, lang }), download: "" },
        (kind === "annual" ? t("Annual report") : t("Detail report")) + " " + format.toUpperCase() + " (" + lang + ")"));
    }
    const section = document.getElementById("result");
    section.hidden = false; section.scrollIntoView();
  }

  const runForm = document.getElementById("run-form");
  if (runForm) runForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = new FormData(runForm);
    const body = { organization_id: org, year: Number(f.get("year")), methodology: f.get("methodology"),
                   gwp: f.get("gwp") || null, include_measured: f.get("include_measured") === "on" };
    toast(t("Running…"));
    const run = await api("/inventory/runs", { method: "POST", body });
    toast(t("Run finished."));
    await loadRuns(); await showRun(run.id);
  }));

  const actForm = document.getElementById("activity-form");
  if (actForm) actForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = new FormData(actForm);
    let data;
    try { data = JSON.parse(f.get("data") || "{}"); } catch (err) { throw new Error(t("Data (JSON)") + ": " + err.message); }
    await api("/activity-data", { method: "POST", body: { facility_id: Number(f.get("facility_id")), activity_type: f.get("activity_type"),
      period_start: f.get("period_start"), period_end: f.get("period_end"), data, provenance: f.get("provenance") || null } });
    toast(t("Saved.")); await loadActivities();
  }));

  const importForm = document.getElementById("activity-import");
  if (importForm) importForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const report = await api("/activity-data/import", { method: "POST", body: new FormData(importForm) });
    showImport(document.getElementById("activity-import-result"), report);
    await loadActivities();
  }));

  function showImport(target, report) {
    const errors = report.errors || [];
    target.replaceChildren(el("p", { class: errors.length ? "error" : "ok" }, t("Imported {n} rows.", { n: report.created || 0 })),
      errors.length ? el("ul", {}, errors.map((e) => el("li", {}, t("Row {row}: {message}", { row: e.row,
        message: (e.errors || []).map((x) => (x.loc || []).join(".") + " " + x.msg).join("; ") || e.message || "" })))) : "");
  }
  window.GWImport = showImport;

  /* Report sign-off: buttons by state and by who the user is (the API enforces the same rules). */
  const me = { name: pageData.username, role: pageData.role };
  const writer = me.role === "admin" || me.role === "engineer";
  const docLang = document.documentElement.lang === "ru" ? "ru" : "en";
  const STATES = { draft: t("draft"), reviewed: t("reviewed"), approved: t("approved"), submitted: t("submitted") };

  function reportButton(label, r, step, body) {
    return el("button", { type: "button", "aria-label": label + " #" + r.id, onclick: guard(async () => {
      const payload = typeof body === "function" ? body() : (body || {});
      if (payload === null) return;
      try {
        const answer = await api("/inventory/reports/" + r.id + "/" + step, { method: "POST", body: payload });
        toast(step === "check" ? (answer.changed ? t("Inputs changed: new version #{id}.", { id: answer.restatement ? answer.restatement.id : "—" }) : t("Inputs unchanged.")) : t("Saved."));
      } finally { await loadReports(); }
    }) }, label);
  }

  function reportActions(r) {
    const out = [];
    const open = r.state === "draft" || r.state === "reviewed";
    const locked = r.state === "approved" || r.state === "submitted";
    if (writer && r.state === "draft" && me.name !== r.prepared_by) out.push(reportButton(t("Review"), r, "review"));
    if (me.role === "admin" && r.state === "reviewed" && me.name !== r.prepared_by && me.name !== r.reviewed_by) out.push(reportButton(t("Approve"), r, "approve"));
    if (me.role === "admin" && r.state === "approved" && !r.superseded_by) out.push(reportButton(t("Submit"), r, "submit"));
    if (writer && open && me.name !== r.prepared_by) out.push(reportButton(t("Reject"), r, "reject", () => {
      const comment = window.prompt(t("Reason"));
      return comment ? { comment } : null;
    }));
    if (writer && open) out.push(reportButton(t("Refresh"), r, "refresh"));
    if (writer && locked) out.push(reportButton(t("Check inputs"), r, "check"));
    if (locked) out.push(el("a", { href: "/api/v1/inventory/reports/" + r.id + "/documents/annual-" + docLang + ".pdf", download: "" }, "PDF"));
    if (r.previous_id) out.push(el("button", { type: "button", onclick: guard(() => showDifferences(r.id)) }, t("Differences")));
    if (r.superseded_by) out.push(el("span", { class: "muted" }, t("restated by #{id}", { id: r.superseded_by })));
    return out;
  }

  async function loadReports() {
    const reports = await api("/inventory/reports" + qs({ limit: 50 }));
    document.querySelector("#reports tbody").replaceChildren(...reports.map((r) => el("tr", {},
      el("td", {}, "#" + r.id), el("td", {}, r.year), el("td", {}, r.version), el("td", {}, STATES[r.state] || r.state),
      el("td", { class: "num" }, num(r.total_co2e_t, 1)), el("td", {}, r.prepared_by), el("td", {}, r.reviewed_by || "—"),
      el("td", {}, r.approved_by || "—"), el("td", { class: "row" }, reportActions(r)))));
  }

  async function showDifferences(id) {
    const r = await api("/inventory/reports/" + id);
    const d = r.differences || {};
    const heads = [t("Item"), { text: t("Old"), num: true }, { text: t("New"), num: true }, { text: t("Difference"), num: true }, { text: t("Difference, %"), num: true }];
    const rows = (group) => (d[group] || []).map((x) => [x.key, num(x.old, 1), num(x.new, 1), num(x.difference, 1), x.difference_pct === null ? "—" : num(x.difference_pct, 1)]);
    document.getElementById("report-differences").replaceChildren(
      el("h3", {}, t("Version {v} against version {p}", { v: r.version, p: d.previous_version })),
      el("h4", {}, t("By gas")), table(heads, rows("gas")),
      el("h4", {}, t("By facility") + ", t CO2e"), table(heads, rows("facility")),
      el("h4", {}, t("By source") + ", t CO2e"), table(heads, rows("source")));
  }

  const reportForm = document.getElementById("report-form");
  if (reportForm) reportForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = new FormData(reportForm);
    toast(t("Running…"));
    await api("/inventory/reports", { method: "POST", body: { organization_id: org, year: Number(f.get("year")), title: f.get("title") || null } });
    toast(t("Saved.")); await loadReports();
  }));

  guard(loadActivities)(); guard(loadRuns)(); guard(loadReports)();
})();

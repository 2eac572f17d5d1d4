/* The mine reference database: add a mine, import a table (row errors by row number), add or correct a year of a
   mine, and evaluate the restoration methods. Every change goes through /api/v1/reference/...; the page reloads
   to show what the server stored. */
(function () {
  "use strict";
  const { t, api, qs, num, el, toast, guard, pageData } = window.GW;

  function fields(form, numeric) {
    const out = {};
    for (const [k, v] of new FormData(form).entries()) {
      if (v === "" || k === "record_key") continue;
      out[k] = numeric.includes(k) ? Number(v) : v;
    }
    return out;
  }

  const mineForm = document.getElementById("mine-form");
  if (mineForm) mineForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const created = await api("/reference/mines", { method: "POST", body: fields(mineForm, ["depth_m"]) });
    toast(t("Saved."));
    location.href = "/reference/mines/" + encodeURIComponent(created.record_key);
  }));

  const importForm = document.getElementById("ref-import-form");
  if (importForm) importForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = new FormData(importForm);
    const body = new FormData(); body.append("file", f.get("file"));
    const report = await api("/reference/" + f.get("kind") + "/import" + qs({ mode: f.get("mode") }), { method: "POST", body });
    const errors = report.errors || [];
    document.getElementById("ref-import-result").replaceChildren(
      el("p", { class: errors.length ? "error" : "ok" }, t("Imported {n} rows.", { n: (report.created || 0) + (report.updated || 0) }) + (errors.length ? " " + t("Import finished with errors.") : "")),
      errors.length ? el("ul", {}, errors.map((x) => el("li", {}, t("Row {row}: {message}", { row: x.row,
        message: (x.errors || []).map((y) => (y.loc || []).join(".") + " " + y.msg).join("; ") || x.message || "" })))) : "");
  }));

  const yearForm = document.getElementById("year-form");
  const numeric = ["year", "production_t", "methane_total_m3_min", "relative_m3_t"];
  if (yearForm) {
    for (const button of document.querySelectorAll("[data-correct]")) {
      button.addEventListener("click", () => {
        const key = button.getAttribute("data-correct");
        const row = (pageData.years || {})[key] || {};
        yearForm.elements.record_key.value = key;
        for (const name of [...numeric, "source", "data_status"]) {
          if (yearForm.elements[name]) yearForm.elements[name].value = row[name] === null || row[name] === undefined ? "" : row[name];
        }
        yearForm.elements.year.focus();
      });
    }
    yearForm.addEventListener("submit", guard(async (e) => {
      e.preventDefault();
      const key = yearForm.elements.record_key.value;
      const body = fields(yearForm, numeric);
      for (const name of numeric) if (!(name in body) && key) body[name] = null;
      if (key) await api("/reference/mine-years/" + encodeURIComponent(key), { method: "PATCH", body });
      else await api("/reference/mine-years", { method: "POST", body: { ...body, mine_key: pageData.mine_key } });
      toast(t("Saved."));
      location.reload();
    }));
  }

  const evaluateForm = document.getElementById("evaluate-form");
  if (evaluateForm) evaluateForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = new FormData(evaluateForm);
    const status = document.getElementById("evaluate-status");
    status.textContent = t("Running…");
    try {
      const out = await api("/reference/mine-years/evaluate" + qs({ variable: f.get("variable"), fraction: f.get("fraction"),
        repeats: f.get("repeats"), synthetic: f.get("synthetic") ? "true" : "" }), { method: "POST" });
      const table = document.getElementById("evaluation");
      const best = Math.min(...out.results.map((r) => r.mean_error_pct));
      table.tBodies[0].replaceChildren(...out.results.map((r) => el("tr", { class: r.mean_error_pct === best ? "chosen" : null },
        el("th", { scope: "row" }, pageData.methods[r.method] || r.method), el("td", { class: "num" }, num(r.mean_error_pct, 1)),
        el("td", { class: "num" }, num(r.std_error_pct, 1)), el("td", { class: "num" }, num(r.cells, 0)), el("td", { class: "num" }, num(r.repeats, 0)))));
      const caption = pageData.caption.split("{variable}").join(evaluateForm.elements.variable.selectedOptions[0].textContent)
        .split("{mines}").join(num(out.mines, 0)).split("{years}").join(num(out.years, 0)).split("{known}").join(num(out.known, 0));
      document.getElementById("evaluation-caption").textContent = caption + (out.synthetic ? " · " + pageData.synthetic : "");
      table.hidden = false;
      status.textContent = t("Run finished.");
    } catch (err) { status.textContent = ""; throw err; }
  }));
})();

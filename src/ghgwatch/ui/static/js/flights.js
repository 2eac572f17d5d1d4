/* UAV flights and lab results: flight upload, lab import (row errors by row number), record a measured emission.
   Everything is posted to the REST API (/api/v1/flights, /api/v1/lab-results); the lists are server-rendered. */
(function () {
  "use strict";
  const { t, api, qs, el, toast, ApiError, pageData } = window.GW;

  /* A file error answered 422: every bad row with its number (row 1 is the header), or the message. */
  function showProblem(target, error) {
    const problem = error instanceof ApiError ? error.problem : null;
    const rows = (problem && problem.errors || []).filter((x) => x.row !== undefined);
    if (!rows.length) {
      target.replaceChildren(el("p", { class: "error", role: "alert" }, error.message || String(error)));
      return;
    }
    target.replaceChildren(
      el("p", { class: "error", role: "alert" }, t("Import finished with errors.") + " " + (problem.title || "")),
      el("ul", { class: "row-errors" }, rows.map((x) => el("li", {},
        x.row > 0 ? t("Row {row}: {message}", { row: x.row, message: x.msg }) : x.msg))));
  }

  function withFile(form) {
    const body = new FormData();
    body.append("file", new FormData(form).get("file"));
    return body;
  }

  async function submitting(form, target, work) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    target.replaceChildren(el("p", { class: "muted" }, t("Running…")));
    try { await work(); } catch (e) { showProblem(target, e); } finally { button.disabled = false; }
  }

  /* ---- flight upload: quantified on the server; the flight's page opens */
  const flightForm = document.getElementById("flight-form");
  if (flightForm) {
    const facility = flightForm.elements.facility_id;
    const source = flightForm.elements.source_id;
    const onlyFacilitySources = () => {
      for (const option of source.options) {
        if (!option.dataset.facility) continue;
        option.hidden = option.dataset.facility !== facility.value;
        if (option.hidden && option.selected) source.value = "";
      }
    };
    facility.addEventListener("change", onlyFacilitySources);
    onlyFacilitySources();
    flightForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const target = document.getElementById("flight-result");
      submitting(flightForm, target, async () => {
        const f = new FormData(flightForm);
        const flight = await api("/flights" + qs({ facility_id: f.get("facility_id"), source_id: f.get("source_id"),
          method: f.get("method") }), { method: "POST", body: withFile(flightForm) });
        location.assign("/flights/" + flight.id);
      });
    });
  }

  /* ---- lab results import: all rows or none */
  const labForm = document.getElementById("lab-form");
  if (labForm) {
    labForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const target = document.getElementById("lab-result");
      submitting(labForm, target, async () => {
        const facility = new FormData(labForm).get("facility_id");
        const report = await api("/lab-results" + qs({ facility_id: facility }), { method: "POST", body: withFile(labForm) });
        location.assign("/flights" + qs({ tab: "lab", facility, imported: report.imported }));
      });
    });
  }

  /* ---- a quantified flight becomes a measured emission of its source */
  const emissionForm = document.getElementById("emission-form");
  if (emissionForm) {
    emissionForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const target = document.getElementById("emission-result");
      submitting(emissionForm, target, async () => {
        const f = new FormData(emissionForm);
        const body = { hours: Number(f.get("hours")) };
        if (f.get("start")) body.start = new Date(f.get("start")).toISOString();
        if (f.get("source_id")) body.source_id = Number(f.get("source_id"));
        await api("/flights/" + pageData.flight_id + "/emission", { method: "POST", body });
        toast(t("Saved."));
        location.reload();
      });
    });
  }
})();

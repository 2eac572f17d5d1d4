(function () {
  "use strict";
  const { t, api, qs, num, dt, el, toast, guard, pageData } = window.GW;
  const table = pageData.table; const labels = pageData.labels || {}; const choices = pageData.choices || {};
  const state = { q: "", limit: 50, offset: 0, sort: "id", total: 0 };
  const label = (name) => labels[name] || name;

  function cell(name, value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "boolean") return value ? t("yes") : t("no");
    if (typeof value === "number") return name.endsWith("_id") || name === "id" ? String(value) : num(value);
    if (/(_at)$/.test(name)) return dt(value);
    return choices[value] || String(value);
  }

  function header() {
    const cols = table.columns.map((c) => el("th", { scope: "col", "aria-sort": state.sort === c ? "ascending" : state.sort === "-" + c ? "descending" : null },
      table.sortable ? el("button", { type: "button", class: "sort", onclick: () => { state.sort = state.sort === c ? "-" + c : c; guard(load)(); } }, label(c)) : label(c)));
    if (pageData.can_write) cols.push(el("th", { scope: "col" }, t("Actions")));
    document.querySelector("#rows thead").replaceChildren(el("tr", {}, cols));
  }

  async function load() {
    const params = table.sortable ? { q: state.q, limit: state.limit, offset: state.offset, sort: state.sort } : {};
    const answer = await api(table.path + qs(params));
    const items = Array.isArray(answer) ? answer : answer.items;
    state.total = Array.isArray(answer) ? items.length : answer.total;
    header();
    document.querySelector("#rows tbody").replaceChildren(...items.map((row) => el("tr", {},
      table.columns.map((c) => el("td", {}, cell(c, row[c]))),
      pageData.can_write ? el("td", {}, [
        table.patch.length ? el("button", { type: "button", onclick: () => edit(row), "aria-label": t("Edit") + " " + (row.name || row.id) }, t("Edit")) : null, " ",
        table.deletable ? el("button", { type: "button", class: "danger", onclick: guard(() => remove(row)), "aria-label": t("Delete") + " " + (row.name || row.id) }, t("Delete")) : null,
        table.revocable && !row.revoked_at ? el("button", { type: "button", onclick: guard(() => revoke(row)) }, t("Revoke")) : null]) : null)));
    const from = state.total ? state.offset + 1 : 0; const to = Math.min(state.offset + items.length, state.total);
    document.getElementById("pager").replaceChildren(
      el("button", { type: "button", disabled: state.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - state.limit); guard(load)(); } }, t("Previous")),
      el("span", {}, t("{from}–{to} of {total}", { from, to, total: state.total })),
      el("button", { type: "button", disabled: to >= state.total, onclick: () => { state.offset += state.limit; guard(load)(); } }, t("Next")));
  }

  function input(field, value) {
    const attrs = { name: field.name, required: field.required };
    let node;
    if (field.type === "select") {
      node = el("select", attrs, field.required ? null : el("option", { value: "" }, "—"),
        field.choices.map((c) => el("option", { value: c, selected: c === value }, choices[c] || c)));
    } else if (field.type === "checkbox") {
      node = el("input", Object.assign(attrs, { type: "checkbox", checked: !!value, required: false }));
    } else {
      node = el("input", Object.assign(attrs, { type: field.name === "password" ? "password" : field.type, step: field.type === "number" ? "any" : null,
        value: value === null || value === undefined ? "" : value }));
    }
    return el("label", {}, label(field.name), node);
  }

  function values(form, fields, patch) {
    const out = {};
    for (const f of fields) {
      const node = form.elements[f.name]; if (!node) continue;
      if (f.type === "checkbox") { out[f.name] = node.checked; continue; }
      const v = node.value;
      if (v === "") { if (patch) out[f.name] = null; continue; }
      out[f.name] = f.type === "number" ? Number(v) : v;
    }
    if (!patch && "organization_id" in out === false && fields.some((f) => f.name === "organization_id") && pageData.organization_id) out.organization_id = pageData.organization_id;
    return out;
  }

  function edit(row) {
    const dialog = document.getElementById("edit-dialog");
    document.getElementById("edit-fields").replaceChildren(...table.patch.map((f) => input(f, row[f.name])));
    dialog.onclose = guard(async () => {
      if (dialog.returnValue !== "ok") return;
      const form = document.getElementById("edit-form");
      const body = values(form, table.patch, true);
      for (const k of Object.keys(body)) if (body[k] === row[k]) delete body[k];
      await api(table.path + "/" + row.id, { method: "PATCH", body });
      toast(t("Saved.")); await load();
    });
    dialog.showModal();
  }

  async function remove(row) {
    if (!confirm(t("Delete this row?"))) return;
    await api(table.path + "/" + row.id, { method: "DELETE" });
    toast(t("Deleted.")); await load();
  }

  async function revoke(row) {
    await api(table.path + "/" + row.id + "/revoke", { method: "POST" });
    toast(t("Revoked.")); await load();
  }

  function showSecret(issued) {
    const dialog = document.getElementById("secret-dialog");
    document.getElementById("secret-body").replaceChildren(
      el("p", { class: "error" }, t("Copy this token now: it is shown only once.")),
      el("p", {}, t("Device token")), el("code", { class: "secret", tabindex: "0" }, issued.token),
      el("p", {}, t("HMAC secret")), el("code", { class: "secret", tabindex: "0" }, issued.hmac_secret),
      el("p", {}, t("MQTT username")), el("code", { class: "account", tabindex: "0" }, issued.mqtt_username),
      el("p", {}, t("MQTT topic")), el("code", { class: "account", tabindex: "0" }, issued.mqtt_topic),
      el("p", { class: "muted" }, t("The MQTT password is the device token.")));
    dialog.showModal();
  }

  const createForm = document.getElementById("create-form");
  if (createForm) {
    const defaults = { organization_id: pageData.organization_id };
    createForm.replaceChildren(...table.create.map((f) => input(f, defaults[f.name])), el("button", { type: "submit", class: "primary" }, t("Create")));
    createForm.addEventListener("submit", guard(async (e) => {
      e.preventDefault();
      const created = await api(table.path, { method: "POST", body: values(createForm, table.create, false) });
      if (created && created.token) showSecret(created);
      toast(t("Saved.")); createForm.reset(); await load();
    }));
  }
  const importForm = document.getElementById("import-form");
  if (importForm) importForm.addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = new FormData(importForm);
    const body = new FormData(); body.append("file", f.get("file"));
    const report = await api(table.path + "/import" + qs({ mode: f.get("mode") }), { method: "POST", body });
    const errors = report.errors || [];
    document.getElementById("import-result").replaceChildren(
      el("p", { class: errors.length ? "error" : "ok" }, t("Imported {n} rows.", { n: report.created || 0 }) + (errors.length ? " " + t("Import finished with errors.") : "")),
      errors.length ? el("ul", {}, errors.map((x) => el("li", {}, t("Row {row}: {message}", { row: x.row,
        message: (x.errors || []).map((y) => (y.loc || []).join(".") + " " + y.msg).join("; ") || x.message || "" })))) : "");
    await load();
  }));
  document.getElementById("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    state.q = f.get("q"); state.limit = Number(f.get("limit")); state.offset = 0;
    guard(load)();
  });
  guard(load)();
})();

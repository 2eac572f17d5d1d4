(function () {
  "use strict";
  const { t, api, qs, num, dt, el, toast, guard, alertSubject, pageData, keepFocus } = window.GW;
  const form = document.getElementById("alert-filters");
  const dialog = document.getElementById("comment-dialog");
  let fresh = new Set();

  function filters() {
    const f = Object.fromEntries(new FormData(form).entries());
    if (f.since) f.since = new Date(f.since).toISOString();
    return f;
  }

  function ask(title) {
    return new Promise((resolve) => {
      dialog.querySelector("#comment-title").textContent = title;
      dialog.querySelector("textarea").value = "";
      dialog.onclose = () => resolve(dialog.returnValue === "ok" ? dialog.querySelector("textarea").value : null);
      dialog.showModal();
    });
  }

  const change = (alert, action) => guard(async () => {
    const label = action === "acknowledge" ? t("Acknowledge") : t("Resolve");
    const comment = await ask(label + " #" + alert.id);
    if (comment === null) return;
    await api("/alerts/" + alert.id + "/" + action, { method: "POST", body: { comment: comment || null } });
    toast(action === "acknowledge" ? t("Acknowledged.") : t("Resolved."));
    await refresh(); await show(alert.id);
  });

  const addComment = (alert) => guard(async () => {
    const comment = await ask(t("Add comment") + " #" + alert.id);
    if (comment === null || !comment.trim()) return;
    await api("/alerts/" + alert.id + "/comments", { method: "POST", body: { comment: comment } });
    toast(t("Comment added."));
    await refresh(); await show(alert.id);
  });

  async function refresh() {
    const answer = await api("/alerts" + qs(Object.assign({ limit: 200 }, filters())));
    const rows = answer.items.map((a) => el("tr", { class: fresh.has(a.id) ? "state-" + a.severity : "", "data-alert": a.id },
      el("td", {}, el("button", { type: "button", class: "link-like", onclick: guard(() => show(a.id)), "aria-label": t("Details") + " #" + a.id }, "#" + a.id)),
      el("td", {}, el("span", { class: "pill state-" + (a.severity === "alarm" ? "alarm" : "warning") }, t(a.severity))),
      el("td", {}, alertSubject(a).name),
      el("td", {}, a.source_name || "—"),  /* the sensor's source, or the source a leak names (the alerts API) */
      el("td", { class: "num" }, num(a.reading_value), " ", a.unit || ""),
      el("td", {}, a.threshold == null ? "—" : num(a.threshold) + " " + (a.unit || "")),
      el("td", {}, dt(a.opened_at)),
      el("td", {}, t(a.state)),
      el("td", {}, pageData.can_operate ? [
        a.state === "open" ? el("button", { type: "button", onclick: change(a, "acknowledge") }, t("Acknowledge")) : null, " ",
        a.state !== "resolved" ? el("button", { type: "button", onclick: change(a, "resolve") }, t("Resolve")) : null, " ",
        a.state !== "open" ? el("button", { type: "button", onclick: addComment(a) }, t("Add comment")) : null] : "")));
    const body = document.querySelector("#alert-table tbody");
    keepFocus(body, () => body.replaceChildren(...rows));
    document.getElementById("alert-count").textContent = t("Total") + ": " + answer.total;
  }

  async function show(id) {
    const a = await api("/alerts/" + id);
    document.getElementById("alert-detail").replaceChildren(
      el("dl", { class: "kv" },
        el("dt", {}, alertSubject(a).label), el("dd", {}, alertSubject(a).name),
        el("dt", {}, t("State")), el("dd", {}, t(a.state)),
        el("dt", {}, t("Value")), el("dd", {}, num(a.reading_value) + " " + (a.unit || "") + " (" + a.reason + ")"),
        el("dt", {}, t("Comment")), el("dd", {}, a.comment || "—")),
      el("h3", {}, t("History")),
      el("ol", {}, a.history.map((h) => el("li", {}, dt(h.at), " — ", t(h.action) , " · ", h.actor, h.comment ? " · «" + h.comment + "»" : ""))));
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); guard(refresh)(); });
  document.addEventListener("gw:alert", (e) => {
    if (e.detail.event === "opened" && e.detail.alert) fresh.add(e.detail.alert.id);
    guard(refresh)();
  });
  guard(refresh)();
  if (pageData.focus) guard(show)(pageData.focus);
  setInterval(() => { if (!document.hidden) refresh().catch(() => {}); }, 15000);
})();

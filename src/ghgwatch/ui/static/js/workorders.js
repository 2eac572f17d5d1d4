(function () {
  "use strict";
  const { t, api, qs, dt, el, toast, guard, pageData } = window.GW;
  const form = document.getElementById("order-filters");
  const NEXT = { open: "in_progress", in_progress: "done" };
  const LABEL = { open: t("open"), in_progress: t("in progress"), done: t("done") };
  const MOVE = { in_progress: t("Start work"), done: t("Mark done") };
  const COMMAND = {
    pending: t("waiting for acknowledgement"), acknowledged: t("acknowledged by equipment"),
    done: t("carried out"), failed: t("failed"),
  };
  const ACTION = {
    reduce_combine_load: t("reduce combine load"), stop_shearer: t("stop the shearer"),
    start_degassing_pump: t("start the degassing pump"), open_flare_valve: t("open the flare valve"),
  };

  const move = (order, status) => guard(async () => {
    await api("/work-orders/" + order.id, { method: "PATCH", body: { status } });
    toast(t("Saved."));
    await refresh();
  });

  async function refresh() {
    const filters = Object.fromEntries(new FormData(form).entries());
    const answer = await api("/work-orders" + qs(Object.assign({ limit: 200 }, filters)));
    const rows = answer.items.map((o) => {
      const next = NEXT[o.status];
      const action = next && pageData.can_operate
        ? el("button", { type: "button", onclick: move(o, next), "aria-label": MOVE[next] + " #" + o.id }, MOVE[next])
        : "";
      return el("tr", { "data-order": o.id },
        el("td", {}, "#" + o.id), el("td", {}, o.title),
        el("td", {}, o.alert_id ? el("a", { href: "/alerts?id=" + o.alert_id }, "#" + o.alert_id) : "—"),
        el("td", {}, o.assignee || "—"), el("td", {}, dt(o.due_at)),
        el("td", {}, el("span", { class: "pill" }, LABEL[o.status] || o.status)), el("td", {}, action));
    });
    document.querySelector("#order-table tbody").replaceChildren(...rows);
    document.getElementById("order-count").textContent = t("{n} work orders", { n: answer.total });
    const commands = await api("/response-commands?limit=50");
    document.querySelector("#command-table tbody").replaceChildren(...commands.items.map((c) => el("tr", {},
      el("td", {}, "#" + c.id), el("td", {}, ACTION[c.action] || c.action), el("td", {}, c.equipment),
      el("td", {}, el("a", { href: "/alerts?id=" + c.alert_id }, "#" + c.alert_id)),
      el("td", {}, el("span", { class: "pill" }, COMMAND[c.status] || c.status)), el("td", {}, c.detail || ""))));
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); guard(refresh)(); });
  guard(refresh)();
})();

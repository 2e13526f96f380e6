// SPDX-License-Identifier: Apache-2.0
// Analytics (SPEC 6.4): event counts by type, swaps by weekday x hour, activity by actor,
// manual vs automated, from GET /api/analytics/*, drawn by charts.js.

import { getJSON } from "./api.js";
import { h, clear, kindOf, num } from "./dom.js";
import { bars, heatmap, proportion } from "./charts.js";

export function render(main) {
  const sec = h("section", { class: "view analytics", "aria-labelledby": "an-title" },
    h("div", { class: "view-head" }, h("h1", { id: "an-title", text: "Analytics" }),
      h("p", { class: "muted", text: "Over the whole ledger, as tradetrail report computes them." })));
  const grid = h("div", { class: "cards", "aria-busy": "true" }, h("p", { class: "muted", text: "Loading\u2026" }));
  sec.append(grid);
  main.append(sec);
  const ctl = new AbortController();
  const get = (k) => getJSON(`/api/analytics/${k}`, { signal: ctl.signal });

  Promise.all([get("event-counts"), get("swaps-heatmap"), get("actors"), get("activation-time").catch(() => null), get("evaluator-accuracy").catch(() => null)])
    .then(([counts, heat, actors, act, acc]) => {
      clear(grid);
      grid.removeAttribute("aria-busy");
      const card = (id, ...c) => h("div", { class: "card", id }, ...c);
      const total = counts.totals ? counts.totals.events : counts.rows.reduce((a, r) => a + r.count, 0);
      const manual = actors.rows.filter((r) => r.kind !== "automated").reduce((a, r) => a + r.count, 0);
      const auto = actors.rows.filter((r) => r.kind === "automated").reduce((a, r) => a + r.count, 0);
      grid.append(
        h("div", { class: "stats" },
          stat("Events", num(total)),
          stat("Actors", num(actors.rows.length)),
          stat("Automated share", `${Math.round((auto / Math.max(1, auto + manual)) * 100)} %`),
          act && act.rows && act.rows.length ? stat("Mean CREATED \u2192 ACTIVATED", fmtDur(act.rows.reduce((a, r) => a + r.seconds, 0) / act.rows.length)) : null,
          acc && acc.rows && acc.rows.length
            ? stat("Evaluator accuracy", `${Math.round((acc.rows.filter((r) => r.next_outcome === "positive").length / acc.rows.length) * 100)} % of ${acc.rows.length} swaps`)
            : null),
        card("chart-counts", bars(counts.rows.map((r) => ({ label: r.event_type, value: r.count, cls: `k-${kindOf(r.event_type)}` })), { title: "Events by type" })),
        card("chart-heat", heatmap(heat.rows.map((r) => ({ label: r.day, cells: hours().map((hh) => r[hh] || 0) })), hours(), { title: heat.title || "Swaps by weekday and hour (UTC)" })),
        card("chart-actors", bars(actors.rows.slice(0, 15).map((r) => ({ label: r.actor, value: r.count, cls: r.kind === "automated" ? "auto" : "manual" })), { title: actors.rows.length > 15 ? "Activity by actor (top 15)" : "Activity by actor" })),
        card("chart-manual", proportion([{ label: "Manual", value: manual, cls: "manual" }, { label: "Automated", value: auto, cls: "auto" }], { title: "Manual vs automated" })),
      );
    })
    .catch((e) => {
      if (e.name === "AbortError") return;
      clear(grid).append(h("p", { class: "err", text: `${e.code || "error"}: ${e.message}` }));
    });
  return { destroy: () => ctl.abort() };
}

function hours() {
  return Array.from({ length: 24 }, (_, i) => String(i).padStart(2, "0"));
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("div", { class: "v", text: value }), h("div", { class: "l", text: label }));
}

function fmtDur(sec) {
  if (typeof sec !== "number" || !isFinite(sec)) return "\u2013";
  if (sec < 120) return `${Math.round(sec)} s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  if (sec < 172800) return `${(sec / 3600).toFixed(1)} h`;
  return `${(sec / 86400).toFixed(1)} d`;
}

// SPDX-License-Identifier: Apache-2.0
// The AI feedback table (seed 000's Governance page): strategy, outcome, reward, alpha,
// returns and time, newest first, with the outcome filter kept in the URL.

import { getJSON, query } from "./api.js";
import { h, clear, fmtTs, age } from "./dom.js";

const OUTCOMES = [
  ["", "All outcomes"],
  ["positive", "\u25b2 Positive"],
  ["negative", "\u25bc Negative"],
  ["neutral", "\u25cf Neutral"],
];

export function render(main, route, ctx) {
  let outcome = route.params.get("outcome") || "";
  let limit = 200;
  const sel = h("select", { id: "fb-outcome" }, OUTCOMES.map(([v, l]) => h("option", { value: v, text: l })));
  sel.value = outcome;
  const status = h("p", { class: "list-status", role: "status", "aria-live": "polite" });
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "ghost", hidden: true, text: "Show more" });
  const table = h("table", { class: "data feedback", id: "fb-table" },
    h("caption", { class: "sr-only", text: "AI feedback records, newest first" }),
    h("thead", {}, h("tr", {}, ["Strategy", "Outcome", "Reward", "Alpha", "AI return", "Benchmark", "User", "Time (UTC)", "Seq"].map((c, i) => h("th", { scope: "col", class: i >= 2 && i <= 5 ? "num" : "", text: c })))),
    tbody);
  main.append(h("section", { class: "view feedback", "aria-labelledby": "fb-title" },
    h("div", { class: "view-head" }, h("h1", { id: "fb-title", text: "AI feedback" }),
      h("div", { class: "field inline" }, h("label", { for: "fb-outcome", text: "Outcome" }), sel)),
    h("div", { class: "table-wrap" }, table), status, more));

  let ctl = null;
  async function load() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    status.textContent = "Loading\u2026";
    try {
      const r = await getJSON(`/api/feedback${query({ outcome, limit })}`, { signal: ctl.signal });
      clear(tbody);
      const pct = (x) => `${(x * 100).toFixed(2)} %`;
      for (const f of r.feedback) {
        tbody.append(h("tr", { class: `o-${f.outcome}`, dataset: { outcome: f.outcome } },
          h("td", {}, h("a", { href: ctx.hrefFor(["strategy", f.strategy_id, "overview"]), text: f.strategy_id })),
          h("td", {}, h("span", { class: `outcome o-${f.outcome}` }, h("span", { "aria-hidden": "true", text: f.outcome === "positive" ? "\u25b2 " : f.outcome === "negative" ? "\u25bc " : "\u25cf " }), f.outcome)),
          h("td", { class: "num", text: (f.reward >= 0 ? "+" : "") + f.reward.toFixed(4) }),
          h("td", { class: "num", text: pct(f.alpha) }),
          h("td", { class: "num", text: pct(f.ai_return) }),
          h("td", { class: "num", text: `${pct(f.benchmark_return)} ${f.benchmark || ""}` }),
          h("td", { text: f.user_id }),
          h("td", { class: "mono" }, h("time", { datetime: f.ts, title: age(f.ts), text: fmtTs(f.ts) })),
          h("td", { class: "mono" }, h("a", { href: ctx.hrefFor(["events"], new URLSearchParams({ seq: f.seq })), text: `#${f.seq}` }))));
      }
      status.textContent = r.count === 0 ? "No feedback records match." : `${r.count} records${outcome ? ` with outcome ${outcome}` : ""}, newest first.`;
      more.hidden = r.count < limit || limit >= 10000;
    } catch (e) {
      if (e.name !== "AbortError") status.textContent = `${e.code || "error"}: ${e.message}`;
    }
  }
  sel.addEventListener("change", () => {
    outcome = sel.value;
    limit = 200;
    ctx.setURL(["feedback"], new URLSearchParams(outcome ? { outcome } : {}), true);
    load();
  });
  more.addEventListener("click", () => {
    limit = Math.min(10000, limit * 4);
    load();
  });
  load();
  return {
    update(r) {
      if (r.parts[0] !== "feedback") return false;
      const o = r.params.get("outcome") || "";
      if (o !== outcome) {
        outcome = o;
        sel.value = o;
        load();
      }
      return true;
    },
    destroy: () => ctl && ctl.abort(),
  };
}

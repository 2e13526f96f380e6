// SPDX-License-Identifier: Apache-2.0
// The summary of any UTC day, week or month (SPEC 6.4): the counts, the strategies'
// lifecycle and feedback figures, the maintenance actions, the text form that is sent
// out, and the signed checkpoint note that anchors it.

import { getJSON, getText, query } from "./api.js";
import { h, clear, fmtTs, num, todayUTC } from "./dom.js";
import { parseNote, parseVerifierKey, verifyNoteSignature } from "./verify.js";

export function render(main, route, ctx) {
  let date = route.params.get("date") || todayUTC();
  let period = route.params.get("period") || "day";
  const dateIn = h("input", { id: "sum-date", type: "date", value: date, required: true });
  const perIn = h("select", { id: "sum-period" }, [["day", "Day"], ["week", "Week"], ["month", "Month"]].map(([v, l]) => h("option", { value: v, text: l })));
  perIn.value = period;
  const out = h("div", { class: "summary-body", "aria-live": "polite" });
  main.append(h("section", { class: "view summary", "aria-labelledby": "sum-title" },
    h("div", { class: "view-head" }, h("h1", { id: "sum-title", text: "Summary" }),
      h("form", { class: "inline-form", onsubmit: (e) => e.preventDefault() },
        h("div", { class: "field inline" }, h("label", { for: "sum-period", text: "Period" }), perIn),
        h("div", { class: "field inline" }, h("label", { for: "sum-date", text: "Date (UTC)" }), dateIn))),
    out));

  let ctl = null;
  async function load() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    clear(out).append(h("p", { class: "muted", text: "Loading\u2026" }));
    try {
      const q = query({ period, date });
      const [j, text] = await Promise.all([
        getJSON(`/api/summary${q}`, { signal: ctl.signal }),
        getText(`/api/summary${q}`, { signal: ctl.signal, accept: "text/plain" }),
      ]);
      clear(out);
      const st = j.strategies || {};
      const fb = j.feedback || {};
      out.append(
        h("p", { class: "muted", text: `${fmtTs(j.from)} \u2013 ${fmtTs(j.to)}` }),
        h("div", { class: "stats", id: "sum-stats" },
          stat("Events", num(j.total), "total"),
          stat("Maintenance actions", num((j.by_entity || {}).maintenance ?? (j.actions || []).length), "actions"),
          stat("Created", num(st.created), "created"),
          stat("Activated", num(st.activated), "activated"),
          stat("Closed", num(st.closed), "closed"),
          stat("Swapped", num(st.swapped), "swapped"),
          stat("Failed", num(st.failed), "failed"),
          stat("Feedback \u25b2/\u25bc/\u25cf", `${num(fb.positive)}/${num(fb.negative)}/${num(fb.neutral)}`, "feedback"),
          stat("Mean reward", typeof fb.mean_reward === "number" ? fb.mean_reward.toFixed(4) : "\u2013", "reward")),
        h("div", { class: "cols" },
          h("div", { class: "card" }, h("h2", { text: "By entity" }), kv(j.by_entity)),
          h("div", { class: "card" }, h("h2", { text: "By event type" }), kv(j.by_event_type))),
        h("div", { class: "card" }, h("h2", { text: "As sent (text form)" }), h("pre", { class: "summary-text", id: "sum-text", tabindex: "0", text })),
        j.checkpoint ? h("div", { class: "card" }, h("h2", { text: "Anchoring checkpoint" }),
          h("p", { class: "help", text: "Every summary ends with the latest signed checkpoint note; check it with `tradetrail verify --since-checkpoint`." }),
          h("pre", { class: "note", text: j.checkpoint.note || "" }),
          noteCheck(j.checkpoint.note, ctx)) : null,
      );
    } catch (e) {
      if (e.name !== "AbortError") clear(out).append(h("p", { class: "err", text: `${e.code || "error"}: ${e.message}` }));
    }
  }

  function change() {
    if (!dateIn.value) return;
    date = dateIn.value;
    period = perIn.value;
    ctx.setURL(["summary"], new URLSearchParams({ period, date }), true);
    load();
  }
  dateIn.addEventListener("change", change);
  perIn.addEventListener("change", change);
  load();
  return {
    update(r) {
      if (r.parts[0] !== "summary") return false;
      const d = r.params.get("date") || todayUTC();
      const p = r.params.get("period") || "day";
      if (d !== date || p !== period) {
        date = d;
        period = p;
        dateIn.value = d;
        perIn.value = p;
        load();
      }
      return true;
    },
    destroy: () => ctl && ctl.abort(),
  };
}

function stat(label, value, id) {
  return h("div", { class: "stat", dataset: { stat: id } }, h("div", { class: "v", text: value }), h("div", { class: "l", text: label }));
}

function kv(obj) {
  const entries = Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return h("p", { class: "muted", text: "none" });
  return h("table", { class: "data compact" }, h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row", text: k }), h("td", { class: "num", text: num(v) })))));
}

// The anchoring note checked against the pinned key, as the detail panel checks events.
function noteCheck(note, ctx) {
  const out = h("p", { class: "note-check", id: "sum-note-check", role: "status" });
  const vtext = ctx.verifierKey();
  if (!note) return out;
  if (!vtext) {
    out.textContent = "Pin the verifier key (Settings) to check this note's signature here.";
    return out;
  }
  out.textContent = "Checking the signature\u2026";
  (async () => {
    try {
      const r = await verifyNoteSignature(parseNote(note), await parseVerifierKey(vtext));
      out.className = `note-check ${r.ok ? "good" : "bad"}`;
      out.textContent = r.ok ? "\u2713 Signed by the pinned key." : `\u2717 ${r.why}`;
    } catch (e) {
      out.className = "note-check bad";
      out.textContent = `Not checked: ${e.message}`;
    }
  })();
  return out;
}

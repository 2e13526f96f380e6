// SPDX-License-Identifier: Apache-2.0
// Strategies (seed 002's StrategyAuditViewer): the list with status and symbol filters,
// and one strategy's page with three tabs in the URL: Overview (lifecycle stepper, fields,
// swap partners), Versions (list; a unified diff between any two) and Audit Log (the
// timeline locked to the strategy).

import { getJSON, query } from "./api.js";
import { h, clear, fmtTs, age, shortHash, debounce } from "./dom.js";
import { createList } from "./timeline.js";
import { openDetail } from "./detail.js";

const STATUSES = ["DRAFT", "PENDING", "ACTIVE", "CLOSED", "ARCHIVED", "FAILED"];

export function render(main, route, ctx) {
  if (route.parts[0] === "strategy" && route.parts[1]) return page(main, route, ctx);
  return list(main, route, ctx);
}

// ---- the list --------------------------------------------------------------------------------

function list(main, route, ctx) {
  const status = h("select", { id: "st-status" }, h("option", { value: "", text: "Any status" }), STATUSES.map((s) => h("option", { value: s, text: s })));
  const text = h("input", { id: "st-text", type: "search", placeholder: "Name, symbol or id", autocomplete: "off" });
  status.value = route.params.get("status") || "";
  text.value = route.params.get("q") || "";
  const tbody = h("tbody", {});
  const note = h("p", { class: "list-status", role: "status", "aria-live": "polite" });
  main.append(h("section", { class: "view strategies", "aria-labelledby": "st-title" },
    h("div", { class: "view-head" }, h("h1", { id: "st-title", text: "Strategies" }),
      h("form", { class: "inline-form", role: "search", onsubmit: (e) => e.preventDefault() },
        h("div", { class: "field inline" }, h("label", { for: "st-text", text: "Find" }), text),
        h("div", { class: "field inline" }, h("label", { for: "st-status", text: "Status" }), status))),
    h("div", { class: "table-wrap" }, h("table", { class: "data", id: "st-table" },
      h("thead", {}, h("tr", {}, ["Strategy", "Symbol", "Timeframe", "Status", "Version", "Updated (UTC)"].map((c) => h("th", { scope: "col", class: c === "Version" ? "num" : null, text: c })))),
      tbody)), note));
  let all = [];
  const ctl = new AbortController();
  function draw() {
    const t = text.value.trim().toLowerCase();
    const rows = all.filter((s) => !t || s.name.toLowerCase().includes(t) || s.symbol.toLowerCase().includes(t) || s.id.toLowerCase().includes(t));
    clear(tbody);
    for (const s of rows.slice(0, 1000)) {
      tbody.append(h("tr", {},
        h("th", { scope: "row" }, h("a", { href: ctx.hrefFor(["strategy", s.id, "overview"]), text: s.name }), h("div", { class: "muted mono small", text: s.id })),
        h("td", { class: "mono", text: s.symbol }),
        h("td", { class: "mono", text: s.timeframe }),
        h("td", {}, statusPill(s.status, s.deleted)),
        h("td", { class: "num", text: `v${s.version}` }),
        h("td", { class: "mono" }, h("time", { datetime: s.updated_at, title: age(s.updated_at), text: fmtTs(s.updated_at) }))));
    }
    note.textContent = `${rows.length} of ${all.length} strategies${rows.length > 1000 ? " (first 1000 shown)" : ""}.`;
  }
  async function load() {
    note.textContent = "Loading\u2026";
    try {
      const r = await getJSON(`/api/strategies${query({ status: status.value, include_deleted: "true", limit: 10000 })}`, { signal: ctl.signal });
      all = r.strategies;
      draw();
    } catch (e) {
      if (e.name !== "AbortError") note.textContent = `${e.code || "error"}: ${e.message}`;
    }
  }
  const sync = () => ctx.setURL(["strategies"], new URLSearchParams(Object.entries({ status: status.value, q: text.value.trim() }).filter(([, v]) => v)), false);
  status.addEventListener("change", () => {
    sync();
    load();
  });
  const typed = debounce(() => {
    sync();
    draw();
  }, 150);
  text.addEventListener("input", typed);
  load();
  return {
    destroy() {
      typed.cancel();
      ctl.abort();
    },
  };
}

function statusPill(st, deleted) {
  return h("span", { class: `status s-${(st || "").toLowerCase()}` }, st, deleted ? h("span", { class: "del", text: " \u00b7 deleted" }) : null);
}

// ---- one strategy ------------------------------------------------------------------------------

const TABS = [
  ["overview", "Overview"],
  ["versions", "Versions"],
  ["audit", "Audit Log"],
];

function page(main, route, ctx) {
  const id = route.parts[1];
  let tab = TABS.some(([t]) => t === route.parts[2]) ? route.parts[2] : "overview";
  const ctl = new AbortController();
  const title = h("h1", { id: "sp-title", text: id });
  const sub = h("p", { class: "muted" });
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Strategy" });
  const panels = {};
  for (const [t, label] of TABS) {
    const b = h("button", { type: "button", role: "tab", id: `tab-${t}`, "aria-controls": `panel-${t}`, text: label });
    b.addEventListener("click", () => select(t, true));
    tablist.append(b);
    panels[t] = h("div", { role: "tabpanel", id: `panel-${t}`, "aria-labelledby": `tab-${t}`, tabindex: "0", hidden: true, class: "panel" });
  }
  tablist.addEventListener("keydown", (e) => {
    const i = TABS.findIndex(([t]) => t === tab);
    let j = -1;
    if (e.key === "ArrowRight") j = (i + 1) % TABS.length;
    else if (e.key === "ArrowLeft") j = (i + TABS.length - 1) % TABS.length;
    else if (e.key === "Home") j = 0;
    else if (e.key === "End") j = TABS.length - 1;
    if (j < 0) return;
    e.preventDefault();
    e.stopPropagation();
    select(TABS[j][0], true);
    document.getElementById(`tab-${TABS[j][0]}`).focus();
  });
  const sec = h("section", { class: "view strategy-page", "aria-labelledby": "sp-title" },
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/strategies", text: "Strategies" }), " / ", h("span", { class: "mono", text: id })),
    h("div", { class: "view-head" }, h("div", {}, title, sub)),
    tablist, ...Object.values(panels));
  main.append(sec);

  let strategy = null;
  let loaded = {};
  let audit = null;
  let versionsParams = route.params;

  getJSON(`/api/strategies/${encodeURIComponent(id)}`, { signal: ctl.signal }).then((s) => {
    strategy = s;
    title.textContent = s.name;
    clear(sub).append(statusPill(s.status, s.deleted), " ", h("span", { class: "mono", text: `${s.symbol} \u00b7 ${s.timeframe} \u00b7 v${s.version} \u00b7 ${s.id}` }));
    if (tab === "overview") overview();
  }).catch((e) => {
    if (e.name === "AbortError") return;
    title.textContent = id;
    clear(panels.overview).append(h("p", { class: "err", text: e.status === 404 ? `No strategy with id ${id}.` : `${e.code}: ${e.message}` }));
  });

  function select(t, push) {
    tab = t;
    for (const [tt] of TABS) {
      const b = document.getElementById(`tab-${tt}`);
      b.setAttribute("aria-selected", String(tt === t));
      b.tabIndex = tt === t ? 0 : -1;
      panels[tt].hidden = tt !== t;
    }
    const p = t === "versions" ? versionsParams : null;
    ctx.setURL(["strategy", id, t], p, push);
    if (loaded[t]) return;
    if (t === "overview" && strategy) overview();
    if (t === "versions") versions();
    if (t === "audit") auditLog();
  }

  async function overview() {
    loaded.overview = true;
    const s = strategy;
    const p = panels.overview;
    clear(p);
    // The lifecycle of SPEC 6.1, with the FAILED branch off DRAFT and PENDING.
    const main = ["DRAFT", "PENDING", "ACTIVE", "CLOSED", "ARCHIVED"];
    const at = main.indexOf(s.status);
    const stepper = h("ol", { class: "stepper", "aria-label": "Lifecycle" },
      main.map((st, i) => h("li", { class: st === s.status ? "current" : at > i ? "done" : "", "aria-current": st === s.status ? "step" : null, text: st })),
      h("li", { class: `branch ${s.status === "FAILED" ? "current failed" : ""}`, "aria-current": s.status === "FAILED" ? "step" : null, text: "FAILED" }));
    const dl = h("dl", { class: "kv" },
      ...[["Status", statusPill(s.status, s.deleted)], ["Name", s.name], ["Symbol", s.symbol], ["Timeframe", s.timeframe], ["Current version", `v${s.version}`],
        ["Deleted", s.deleted ? "yes" : "no"], ["Created", fmtTs(s.created_at)], ["Updated", fmtTs(s.updated_at)], ["Id", s.id]]
        .flatMap(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]));
    const partners = h("div", { class: "partners" }, h("p", { class: "muted", text: "Loading swaps\u2026" }));
    p.append(stepper, h("div", { class: "cols" }, h("div", { class: "card" }, h("h2", { text: "Details" }), dl), h("div", { class: "card" }, h("h2", { text: "Swaps" }), partners)));
    try {
      const r = await getJSON(`/api/events${query({ entity: "strategy", entity_id: id, event_type: "SWAPPED_IN,SWAPPED_OUT", order: "desc", limit: 50 })}`, { signal: ctl.signal });
      clear(partners);
      if (!r.events.length) partners.append(h("p", { class: "muted", text: "Never swapped." }));
      for (const ev of r.events) {
        const m = ev.metadata || {};
        const other = m.newStrategyId || m.replacedStrategyId;
        partners.append(h("p", {},
          h("a", { href: ctx.hrefFor(["events"], new URLSearchParams({ seq: ev.seq })), text: `#${ev.seq}` }), " ",
          ev.event_type === "SWAPPED_IN" ? "swapped in, replacing " : "swapped out for ",
          other ? h("a", { href: ctx.hrefFor(["strategy", other, "overview"]), class: "mono", text: other }) : "?",
          m.evaluationScore !== undefined ? ` (score ${m.evaluationScore})` : "",
          h("span", { class: "muted", text: ` \u00b7 ${fmtTs(ev.ts)}` })));
      }
    } catch (e) {
      if (e.name !== "AbortError") clear(partners).append(h("p", { class: "err", text: e.message }));
    }
  }

  async function versions() {
    loaded.versions = true;
    const p = panels.versions;
    clear(p).append(h("p", { class: "muted", text: "Loading\u2026" }));
    let r;
    try {
      r = await getJSON(`/api/strategies/${encodeURIComponent(id)}/versions`, { signal: ctl.signal });
    } catch (e) {
      if (e.name !== "AbortError") clear(p).append(h("p", { class: "err", text: e.message }));
      return;
    }
    const vs = r.versions.slice().sort((a, b) => b.version - a.version);
    let from = Number(versionsParams.get("from")) || (vs[1] ? vs[1].version : vs[0] ? vs[0].version : 0);
    let to = Number(versionsParams.get("to")) || (vs[0] ? vs[0].version : 0);
    const diffOut = h("div", { class: "diff-out", "aria-live": "polite" });
    const tbody = h("tbody", {});
    for (const v of vs) {
      const rf = h("input", { type: "radio", name: "from", value: v.version, "aria-label": `Diff from version ${v.version}` });
      const rt = h("input", { type: "radio", name: "to", value: v.version, "aria-label": `Diff to version ${v.version}` });
      rf.checked = v.version === from;
      rt.checked = v.version === to;
      tbody.append(h("tr", { dataset: { version: v.version } },
        h("td", { class: "radio" }, rf), h("td", { class: "radio" }, rt),
        h("th", { scope: "row", class: "mono", text: `v${v.version}` }),
        h("td", {}, h("span", { class: `ctype c-${v.change_type.toLowerCase()}`, text: v.change_type })),
        h("td", { text: v.author }),
        h("td", { text: v.reason || "" }),
        h("td", { class: "mono", title: v.sha256, text: shortHash(v.sha256) }),
        h("td", { class: "mono" }, h("a", { href: ctx.hrefFor(["events"], new URLSearchParams({ seq: v.seq })), text: fmtTs(v.created_at) }))));
    }
    const form = h("form", { class: "versions", onsubmit: (e) => {
      e.preventDefault();
      const f = form.querySelector("input[name=from]:checked");
      const t = form.querySelector("input[name=to]:checked");
      if (!f || !t) return;
      from = Number(f.value);
      to = Number(t.value);
      versionsParams = new URLSearchParams({ from, to });
      ctx.setURL(["strategy", id, "versions"], versionsParams, true);
      diff();
    } },
    h("div", { class: "table-wrap" }, h("table", { class: "data", id: "versions-table" },
      h("caption", { class: "sr-only", text: "Versions, newest first; choose two to compare" }),
      h("thead", {}, h("tr", {}, ["From", "To", "Version", "Change", "Author", "Reason", "SHA-256", "Time (UTC)"].map((c) => h("th", { scope: "col", text: c })))),
      tbody)),
    h("button", { type: "submit", class: "primary", id: "btn-diff", disabled: vs.length < 2 ? true : null, text: "Compare" }));
    clear(p).append(form, diffOut);
    if (vs.length >= 2) diff();
    else diffOut.append(h("p", { class: "muted", text: "Only one version: nothing to compare yet." }));

    async function diff() {
      clear(diffOut).append(h("p", { class: "muted", text: "Loading the diff\u2026" }));
      try {
        const d = await getJSON(`/api/strategies/${encodeURIComponent(id)}/diff${query({ from, to })}`, { signal: ctl.signal });
        clear(diffOut).append(h("h3", { text: `v${from} \u2192 v${to}` }), renderDiff(d.diff));
      } catch (e) {
        if (e.name !== "AbortError") clear(diffOut).append(h("p", { class: "err", text: e.message }));
      }
    }
  }

  function auditLog() {
    loaded.audit = true;
    const p = panels.audit;
    const split = h("div", { class: "split audit" });
    const host = h("div", { class: "list-host" });
    const drawer = h("aside", { class: "drawer", hidden: true, tabindex: "-1", "aria-label": "Event detail" });
    split.append(host, drawer);
    p.append(split);
    let detail = null;
    audit = createList(host, {
      ctx,
      live: false,
      locked: true,
      path: () => ["events"],
      params: () => new URLSearchParams({ entity: "strategy", entity_id: id }),
      drawerOpen: () => !drawer.hidden,
      onOpen: (seq) => {
        drawer.hidden = false;
        split.classList.add("with-drawer");
        if (detail) detail.destroy();
        detail = openDetail(drawer, seq, ctx, () => {
          if (detail) detail.destroy();
          detail = null;
          drawer.hidden = true;
          split.classList.remove("with-drawer");
          audit.focusSelected();
        });
      },
    });
    audit.reload({ entity: "strategy", entity_id: id });
  }

  select(tab, false);
  return {
    update(r) {
      if (r.parts[0] !== "strategy" || r.parts[1] !== id) return false;
      const t = TABS.some(([x]) => x === r.parts[2]) ? r.parts[2] : "overview";
      if (t !== tab) select(t, false);
      return true;
    },
    key(e) {
      if (tab === "audit" && audit) {
        if (e.key === "j") return audit.move(1), true;
        if (e.key === "k") return audit.move(-1), true;
      }
      return false;
    },
    destroy() {
      ctl.abort();
      if (audit) audit.destroy();
    },
  };
}

function renderDiff(text) {
  if (!text) return h("p", { class: "muted", text: "The two versions are identical." });
  const pre = h("pre", { class: "diff", id: "diff", tabindex: "0", "aria-label": "Unified diff" });
  for (const line of text.replace(/\n$/, "").split("\n")) {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "hdr" : line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "ctx";
    pre.append(h("span", { class: `dl ${cls}`, text: line }), "\n");
  }
  return pre;
}

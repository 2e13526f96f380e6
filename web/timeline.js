// SPDX-License-Identifier: Apache-2.0
// The timeline: events newest first, a page of 100 at a time on next_cursor as the list
// scrolls, the filter bar (entity, event types, actor, time range, strategy name or
// symbol, full text) mirrored in the URL, the colour legend, live updates, and the detail
// drawer. The strategy page's Audit Log tab uses the same list with its entity locked.

import { getJSON, query, ApiError } from "./api.js";
import { h, clear, badge, kindOf, fmtTs, age, num, RANGES, LEGEND, debounce } from "./dom.js";
import { LiveStream } from "./live.js";
import { openDetail } from "./detail.js";

const PAGE = 100;

// The page's first rows are marked (performance mark "first-view") once the frame holding
// them has been painted: the next task after the animation frame that lays them out.
// bench/dashboard_first_view.mjs measures SPEC 11's first view with it. Once per load.
let firstViewMarked = false;
function markFirstView() {
  if (firstViewMarked) return;
  firstViewMarked = true;
  requestAnimationFrame(() => setTimeout(() => performance.mark("first-view"), 0));
}
const MAX_IDS = 25; // strategies merged client-side for a name or symbol search

// ---- shared lookups (loaded once per sign-in, after the first page) ------------------------

let lookups = null;
export function loadLookups() {
  if (!lookups) {
    lookups = Promise.all([
      getJSON("/api/stats").catch(() => null),
      getJSON("/api/strategies?include_deleted=true&limit=10000").catch(() => ({ strategies: [] })),
      getJSON("/api/analytics/actors").catch(() => ({ rows: [] })),
    ]).then(([stats, strategies, actors]) => {
      const byId = new Map();
      for (const s of strategies.strategies || []) byId.set(s.id, s);
      const kinds = new Map();
      for (const r of actors.rows || []) kinds.set(r.actor, r.kind);
      return {
        entities: Object.keys((stats && stats.by_entity) || {}).sort(),
        types: Object.keys((stats && stats.by_event_type) || {}).sort(),
        strategies: byId,
        actorKinds: kinds,
      };
    });
    lookups.catch(() => (lookups = null));
  }
  return lookups;
}

export function resetLookups() {
  lookups = null;
}

// Strategies whose name, symbol or id contains the text (case-insensitive).
function matchStrategies(L, text) {
  const t = text.trim().toLowerCase();
  const out = [];
  for (const s of L.strategies.values()) {
    if (s.name.toLowerCase().includes(t) || s.symbol.toLowerCase() === t || s.id.toLowerCase() === t) out.push(s);
  }
  return out;
}

// ---- pagers --------------------------------------------------------------------------------

function singlePager(params, signal) {
  let cursor = null;
  let done = false;
  return {
    get done() {
      return done;
    },
    async next() {
      if (done) return [];
      const r = await getJSON(`/api/events${query({ ...params, order: "desc", limit: PAGE, cursor })}`, { signal });
      cursor = r.next_cursor;
      done = !cursor;
      return r.events;
    },
  };
}

// Several strategies at once (a symbol shared by many): one cursor per strategy, merged
// newest first, so each page is exact however the strategies interleave.
function mergePager(params, ids, signal) {
  const srcs = ids.map((id) => ({ p: singlePager({ ...params, entity: "strategy", entity_id: id }, signal), buf: [] }));
  return {
    get done() {
      return srcs.every((s) => s.p.done && s.buf.length === 0);
    },
    async next() {
      const out = [];
      while (out.length < PAGE) {
        await Promise.all(srcs.filter((s) => s.buf.length === 0 && !s.p.done).map(async (s) => s.buf.push(...(await s.p.next()))));
        let best = null;
        for (const s of srcs) if (s.buf.length && (!best || s.buf[0].seq > best.buf[0].seq)) best = s;
        if (!best) break;
        out.push(best.buf.shift());
      }
      return out;
    },
  };
}

// ---- the list component ----------------------------------------------------------------------

// opts: {locked: {entity, entity_id}, params (URLSearchParams), onOpen(seq), ctx, live: bool}
export function createList(host, opts) {
  const wrap = h("div", { class: "list-wrap", tabindex: "-1" });
  const rows = h("ol", { class: "rows", "aria-label": "Events, newest first" });
  const status = h("div", { class: "list-status", role: "status", "aria-live": "polite" });
  const sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
  const pill = h("button", { type: "button", class: "pill", hidden: true });
  wrap.append(rows, status, sentinel);
  host.append(pill, wrap);

  let ctl = null;
  let pager = null;
  let loading = false;
  let newest = 0;
  let live = null;
  let buffered = [];
  let filterIds = null;
  let L = null;
  let selected = 0;
  let current = {};

  const io = new IntersectionObserver((es) => {
    if (es.some((e) => e.isIntersecting)) more();
  }, { root: wrap, rootMargin: "800px" });
  io.observe(sentinel);

  function row(ev, fresh) {
    const automated = L && L.actorKinds.has(ev.actor) ? L.actorKinds.get(ev.actor) === "automated" : null;
    const strat = ev.entity === "strategy" && L ? L.strategies.get(ev.entity_id) : null;
    // Identifiers filter on click (the timeline's own list; the Audit Log's is locked).
    const idButton = (cls, text, label, filter) => opts.onFilter
      ? h("button", { type: "button", class: `${cls} idlink`, title: label, "aria-label": label, onclick: (e) => {
        e.stopPropagation();
        opts.onFilter(filter);
      } }, text)
      : h("span", { class: cls }, text);
    const subject = ev.entity === "strategy"
      ? h("a", { class: "subject", href: opts.ctx.hrefFor(["strategy", ev.entity_id, "overview"]), title: strat ? `${strat.name} (${strat.symbol})` : null, text: `strategy/${ev.entity_id}` })
      : idButton("subject", `${ev.entity}/${ev.entity_id}`, `Show only ${ev.entity}/${ev.entity_id}`, { entity: ev.entity, entity_id: ev.entity_id });
    const li = h("li", { class: `row k-${kindOf(ev.event_type)}${fresh ? " fresh" : ""}`, dataset: { seq: ev.seq } },
      h("a", { class: "open", href: openHref(ev.seq), "aria-label": `Event ${ev.seq}, ${ev.event_type} ${ev.entity}/${ev.entity_id}, ${fmtTs(ev.ts)}` },
        h("span", { class: "seq", text: `#${ev.seq}` })),
      h("time", { class: "ts", datetime: ev.ts, title: age(ev.ts), text: fmtTs(ev.ts) }),
      badge(ev.event_type),
      subject,
      h("span", { class: "trans", text: ev.old_status || ev.new_status ? `${ev.old_status || "\u2205"} \u2192 ${ev.new_status || "\u2205"}` : "" }),
      h("span", { class: "actor", title: automated === null ? null : automated ? "automated" : "manual" },
        idButton("who", ev.actor, `Show only actor ${ev.actor}`, { actor: ev.actor }),
        automated ? h("span", { class: "auto", "aria-label": "automated", text: " \u2699" }) : null),
      h("span", { class: "reason", text: ev.reason || "" }),
    );
    li._ev = ev;
    if (fresh) setTimeout(() => li.classList.remove("fresh"), 1200);
    return li;
  }

  function openHref(seq) {
    const p = new URLSearchParams(opts.params());
    p.set("seq", seq);
    return opts.ctx.hrefFor(opts.path(), p);
  }

  rows.addEventListener("click", (e) => {
    const a = e.target.closest("a.open");
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    const li = a.closest("li");
    select(Number(li.dataset.seq));
    opts.onOpen(Number(li.dataset.seq));
  });
  // A click anywhere on a row but its links opens it too.
  rows.addEventListener("click", (e) => {
    if (e.target.closest("a")) return;
    const li = e.target.closest("li.row");
    if (!li) return;
    select(Number(li.dataset.seq));
    opts.onOpen(Number(li.dataset.seq));
  });

  function select(seq) {
    selected = seq;
    for (const el of rows.querySelectorAll("li.selected")) el.classList.remove("selected");
    const li = rows.querySelector(`li[data-seq="${seq}"]`);
    if (li) li.classList.add("selected");
  }

  async function reload(params) {
    current = params;
    if (ctl) ctl.abort();
    ctl = new AbortController();
    stopLive();
    clear(rows);
    buffered = [];
    pill.hidden = true;
    newest = 0;
    status.textContent = "Loading\u2026";
    wrap.setAttribute("aria-busy", "true");
    const signal = ctl.signal;
    const api = apiParams(params);
    filterIds = null;
    try {
      if (params.strategy) {
        L = await loadLookups();
        const found = matchStrategies(L, params.strategy);
        if (found.length === 0) {
          pager = null;
          status.textContent = `No strategy's name or symbol matches \u201c${params.strategy}\u201d.`;
          wrap.removeAttribute("aria-busy");
          return;
        }
        filterIds = new Set(found.slice(0, MAX_IDS).map((s) => s.id));
        pager = filterIds.size === 1
          ? singlePager({ ...api, entity: "strategy", entity_id: [...filterIds][0] }, signal)
          : mergePager(api, [...filterIds], signal);
        if (found.length > MAX_IDS) status.dataset.note = `${found.length} strategies match; showing the first ${MAX_IDS}.`;
      } else {
        pager = singlePager(api, signal);
      }
      loading = true;
      let first;
      try {
        first = await pager.next();
      } finally {
        loading = false;
      }
      if (signal.aborted) return;
      for (const ev of first) rows.append(row(ev));
      if (first.length) markFirstView();
      newest = first.length ? first[0].seq : 0;
      if (selected) select(selected);
      finishStatus();
      fillScreen();
      startLive(api);
      // Names and actor kinds arrive after the first view, then decorate the rows.
      loadLookups().then((l) => {
        if (signal.aborted || L) return;
        L = l;
        redecorate();
      });
    } catch (e) {
      if (e.name === "AbortError") return;
      showError(e);
    } finally {
      wrap.removeAttribute("aria-busy");
    }
  }

  function redecorate() {
    for (const li of [...rows.children]) {
      if (!li._ev) continue;
      const n = row(li._ev);
      if (li.classList.contains("selected")) n.classList.add("selected");
      const hadFocus = li.contains(document.activeElement);
      li.replaceWith(n);
      if (hadFocus) n.querySelector("a.open").focus();
    }
  }

  function finishStatus() {
    const n = rows.children.length;
    if (n === 0) {
      const any = Object.keys(current).some((k) => current[k]) && !opts.locked;
      status.textContent = any
        ? "No event matches these filters. Remove a filter above to widen the search."
        : "No events yet. Try `tradetrail demo --events 1000` to fill a test ledger.";
    } else {
      status.textContent = pager && pager.done ? `${num(n)} events \u00b7 the end` : `${num(n)} events loaded \u00b7 scroll for more`;
      if (status.dataset.note) status.textContent += ` \u00b7 ${status.dataset.note}`;
    }
  }

  function showError(e) {
    clear(status);
    status.append(
      h("span", { class: "err", text: e instanceof ApiError ? `${e.code}: ${e.message}` : String(e.message || e) }),
      " ",
      h("button", { type: "button", class: "ghost", onclick: () => (rows.children.length ? more() : reload(current)), text: "Retry" }),
    );
  }

  async function more() {
    if (loading || !pager || pager.done) return;
    loading = true;
    status.textContent = "Loading more\u2026";
    try {
      const evs = await pager.next();
      for (const ev of evs) rows.append(row(ev));
      finishStatus();
    } catch (e) {
      if (e.name !== "AbortError") showError(e);
    } finally {
      loading = false;
    }
    fillScreen();
  }

  // A tall screen, or a list scrolled to its end while a page loaded, needs another page.
  function fillScreen() {
    requestAnimationFrame(() => {
      if (pager && !pager.done && wrap.scrollHeight - wrap.scrollTop <= wrap.clientHeight + 800) more();
    });
  }

  // ---- live ----

  function startLive(api) {
    // The corrected view is not followed live: a later correction changes rows already shown.
    if (!opts.live || current.until || current.view) return;
    const p = { ...api };
    if (filterIds) {
      if (filterIds.size === 1) {
        p.entity = "strategy";
        p.entity_id = [...filterIds][0];
      } else p.entity = "strategy";
    }
    live = new LiveStream(p, newest, onLive, (st, info) => opts.ctx.setLive(st, st === "live" && buffered.length ? buffered.length : info));
    live.start();
  }

  function stopLive() {
    if (live) live.stop();
    live = null;
  }

  let paused = false;
  function atTop() {
    return !paused && wrap.scrollTop < 8 && !opts.drawerOpen() && String(window.getSelection() || "") === "";
  }

  function onLive(ev) {
    if (filterIds && !filterIds.has(ev.entity_id)) return;
    if (ev.seq <= newest) return;
    newest = ev.seq;
    buffered.push(ev);
    schedule();
  }

  let frame = 0;
  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (atTop()) flush();
      else {
        pill.hidden = false;
        pill.textContent = `\u25b2 ${buffered.length} new event${buffered.length === 1 ? "" : "s"}`;
        if (paused) opts.ctx.setLive("paused", buffered.length);
      }
    });
  }

  function flush() {
    const evs = buffered.splice(0);
    const frag = document.createDocumentFragment();
    for (let i = evs.length - 1; i >= 0; i--) frag.append(row(evs[i], true));
    rows.prepend(frag);
    pill.hidden = true;
    wrap.scrollTop = 0;
    finishStatus();
  }

  pill.addEventListener("click", () => {
    if (paused) togglePause();
    flush();
    const first = rows.querySelector("a.open");
    if (first) first.focus();
  });
  wrap.addEventListener("scroll", () => {
    if (buffered.length && wrap.scrollTop < 8 && !opts.drawerOpen()) flush();
  });

  // ---- keyboard: j/k move, Enter opens (the focused link), Home newest ----

  function move(d) {
    const links = [...rows.querySelectorAll("a.open")];
    if (!links.length) return;
    let i = links.indexOf(document.activeElement);
    if (i < 0) i = Math.max(0, links.findIndex((a) => Number(a.closest("li").dataset.seq) === selected));
    else i = Math.min(links.length - 1, Math.max(0, i + d));
    links[i].focus();
    links[i].scrollIntoView({ block: "nearest" });
    if (i >= links.length - 5) more();
  }

  // p: hold new events back (the chip says so and counts them); p again shows them.
  function togglePause() {
    if (!live) return;
    paused = !paused;
    if (paused) opts.ctx.setLive("paused", buffered.length);
    else {
      opts.ctx.setLive("live");
      if (buffered.length && wrap.scrollTop < 8) flush();
    }
  }

  return {
    reload,
    select,
    move,
    togglePause,
    home() {
      if (buffered.length) flush();
      wrap.scrollTop = 0;
      const a = rows.querySelector("a.open");
      if (a) a.focus();
    },
    focusSelected() {
      const a = rows.querySelector(`li[data-seq="${selected}"] a.open`);
      if (a) a.focus();
    },
    flushIfTop() {
      if (buffered.length && wrap.scrollTop < 8) flush();
    },
    destroy() {
      if (ctl) ctl.abort();
      stopLive();
      io.disconnect();
      opts.ctx.setLive("off");
    },
  };
}

// The API's filters from the URL's (strategy is resolved by the list; seq only opens the
// drawer).
function apiParams(p) {
  const out = {};
  for (const k of ["entity", "entity_id", "event_type", "actor", "since", "until", "q", "view"]) if (p[k]) out[k] = p[k];
  return out;
}

const FILTER_KEYS = ["entity", "entity_id", "event_type", "actor", "since", "until", "strategy", "q", "view"];

function paramsOf(route) {
  const p = {};
  for (const k of FILTER_KEYS) {
    const v = route.params.get(k);
    if (v) p[k] = v;
  }
  return p;
}

// ---- the timeline view -----------------------------------------------------------------------

export function render(main, route, ctx) {
  let params = paramsOf(route);
  let openSeq = Number(route.params.get("seq")) || 0;
  let destroyed = false;

  const section = h("section", { class: "events view", "aria-labelledby": "events-title" });
  const title = h("h1", { id: "events-title", class: "sr-only", text: "Timeline" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter events", onsubmit: (e) => e.preventDefault() });
  const chips = h("div", { class: "chips", "aria-label": "Active filters" });
  const legend = h("ul", { class: "legend", "aria-label": "Colours by event type" },
    LEGEND.map(([k, g, label]) => h("li", { class: `k-${k}` }, h("span", { class: "glyph", "aria-hidden": "true", text: g }), label)));
  const split = h("div", { class: "split" });
  const listHost = h("div", { class: "list-host" });
  const drawer = h("aside", { class: "drawer", id: "drawer", "aria-label": "Event detail", hidden: true, tabindex: "-1" });
  split.append(listHost, drawer);
  section.append(title, form, h("div", { class: "under-filters" }, chips, legend), split);
  main.append(section);

  // Inputs.
  const f = {
    q: h("input", { id: "f-q", type: "search", placeholder: "Search reasons\u2026", autocomplete: "off" }),
    strategy: h("input", { id: "f-strategy", type: "search", placeholder: "Name or symbol", list: "dl-strategies", autocomplete: "off" }),
    entity: h("select", { id: "f-entity" }, h("option", { value: "", text: "All entities" })),
    actor: h("input", { id: "f-actor", type: "search", placeholder: "Any actor", list: "dl-actors", autocomplete: "off" }),
    range: h("select", { id: "f-range" }, RANGES.map(([v, l]) => h("option", { value: v, text: l }))),
    since: h("input", { id: "f-since", type: "datetime-local", step: "0.001" }),
    until: h("input", { id: "f-until", type: "datetime-local", step: "0.001" }),
    // SPEC 15: view=corrected hides VOIDed events and shows corrections over the originals.
    view: h("input", { id: "f-view", type: "checkbox", title: "Hide voided events; show corrected fields (the stored events are unchanged)" }),
  };
  const typesBox = h("fieldset", { class: "types" }, h("legend", { class: "sr-only", text: "Event types" }));
  const typesMenu = h("details", { class: "menu", id: "f-types" },
    h("summary", { id: "f-types-label", text: "All types" }), typesBox);
  const dlS = h("datalist", { id: "dl-strategies" });
  const dlA = h("datalist", { id: "dl-actors" });
  const custom = h("span", { class: "custom", hidden: true },
    h("label", { for: "f-since", class: "sr-only", text: "From (UTC)" }), f.since,
    h("span", { "aria-hidden": "true", text: "\u2013" }),
    h("label", { for: "f-until", class: "sr-only", text: "Until (UTC)" }), f.until);
  const field = (id, label, el, cls) => h("div", { class: `field ${cls || ""}` }, h("label", { for: id, text: label }), el);
  // On a phone the filters other than search fold away behind one button.
  const toggle = h("button", { type: "button", class: "filters-toggle", "aria-expanded": "false", "aria-controls": "f-more", text: "Filters" });
  toggle.addEventListener("click", () => {
    const open = form.classList.toggle("collapsed") === false;
    toggle.setAttribute("aria-expanded", String(open));
  });
  form.classList.add("collapsed");
  form.id = "f-more";
  form.append(
    field("f-q", "Search", f.q, "grow"),
    toggle,
    field("f-strategy", "Strategy", f.strategy),
    field("f-entity", "Entity", f.entity),
    h("div", { class: "field" }, h("span", { class: "label", id: "types-lbl", text: "Event type" }), typesMenu),
    field("f-actor", "Actor", f.actor),
    h("div", { class: "field" }, h("label", { for: "f-range", text: "Time (UTC)" }), h("span", { class: "range" }, f.range, custom)),
    field("f-view", "Corrected view", f.view),
    dlS, dlA,
  );
  typesMenu.querySelector("summary").setAttribute("aria-labelledby", "types-lbl f-types-label");

  function fillForm() {
    f.q.value = params.q || "";
    f.strategy.value = params.strategy || "";
    f.actor.value = params.actor || "";
    ensureOption(f.entity, params.entity);
    f.entity.value = params.entity || "";
    const rel = RANGES.some(([v]) => v && v !== "custom" && v === params.since) && !params.until;
    f.range.value = !params.since && !params.until ? "" : rel ? params.since : "custom";
    custom.hidden = f.range.value !== "custom";
    f.since.value = toLocalInput(f.range.value === "custom" ? params.since : "");
    f.until.value = toLocalInput(params.until || "");
    f.view.checked = params.view === "corrected";
    const types = new Set((params.event_type || "").split(",").filter(Boolean));
    for (const t of types) ensureType(t);
    for (const cb of typesBox.querySelectorAll("input")) cb.checked = types.has(cb.value);
    document.getElementById("f-types-label").textContent = types.size === 0 ? "All types" : types.size === 1 ? [...types][0] : `${types.size} types`;
    const n = ["strategy", "entity", "event_type", "actor", "since"].filter((k) => params[k]).length;
    toggle.textContent = n ? `Filters (${n})` : "Filters";
    renderChips();
  }

  function ensureOption(sel, v) {
    if (v && ![...sel.options].some((o) => o.value === v)) sel.append(h("option", { value: v, text: v }));
  }
  function ensureType(t) {
    if (typesBox.querySelector(`input[value="${CSS.escape(t)}"]`)) return;
    const id = `t-${t}`;
    typesBox.append(h("div", { class: `opt k-${kindOf(t)}` }, h("input", { type: "checkbox", id, value: t }), h("label", { for: id, text: t })));
  }

  function renderChips() {
    clear(chips);
    const names = { q: "text", strategy: "strategy", entity: "entity", entity_id: "id", event_type: "type", actor: "actor", since: "since", until: "until", view: "view" };
    for (const k of FILTER_KEYS) {
      if (!params[k]) continue;
      chips.append(h("button", { type: "button", class: "chip", "aria-label": `Remove filter ${names[k]} ${params[k]}`, onclick: () => {
        delete params[k];
        if (k === "since" || k === "until") {
          delete params.since;
          delete params.until;
        }
        commit(true);
      } }, h("span", { class: "k", text: `${names[k]}:` }), ` ${params[k]} `, h("span", { "aria-hidden": "true", text: "\u00d7" })));
    }
    if (chips.children.length > 1) chips.append(h("button", { type: "button", class: "chip clear", onclick: () => {
      params = {};
      commit(true);
    }, text: "Clear all" }));
  }

  function readForm() {
    const p = {};
    if (f.q.value.trim()) p.q = f.q.value.trim();
    if (f.strategy.value.trim()) p.strategy = f.strategy.value.trim();
    if (f.entity.value) p.entity = f.entity.value;
    if (params.entity_id) p.entity_id = params.entity_id;
    if (f.actor.value.trim()) p.actor = f.actor.value.trim();
    const types = [...typesBox.querySelectorAll("input:checked")].map((c) => c.value);
    if (types.length) p.event_type = types.join(",");
    if (f.range.value === "custom") {
      if (f.since.value) p.since = fromLocalInput(f.since.value);
      if (f.until.value) p.until = fromLocalInput(f.until.value);
    } else if (f.range.value) p.since = f.range.value;
    if (f.view.checked) p.view = "corrected";
    return p;
  }

  function urlParams() {
    const u = new URLSearchParams();
    for (const k of FILTER_KEYS) if (params[k]) u.set(k, params[k]);
    if (openSeq) u.set("seq", openSeq);
    return u;
  }

  function commit(push) {
    typed.cancel();
    fillForm();
    ctx.setURL(["events"], urlParams(), push);
    list.reload(params);
  }

  const typed = debounce(() => {
    params = readForm();
    renderChips();
    ctx.setURL(["events"], urlParams(), false);
    list.reload(params);
  }, 300);
  // Typing replaces the history entry (debounced); Enter commits one Back can return to.
  for (const el of [f.q, f.strategy, f.actor]) {
    el.addEventListener("input", typed);
    el.addEventListener("keydown", (e) => {
      if (e.key === "Escape") el.blur();
      if (e.key === "Enter") {
        e.preventDefault();
        params = readForm();
        commit(true);
      }
    });
  }
  for (const el of [f.entity, f.range, f.since, f.until, f.view]) {
    el.addEventListener("change", () => {
      custom.hidden = f.range.value !== "custom";
      if (f.range.value === "custom" && !f.since.value && !f.until.value) return;
      params = readForm();
      commit(true);
    });
  }
  typesBox.addEventListener("change", () => {
    params = readForm();
    commit(true);
  });

  const list = createList(listHost, {
    ctx,
    live: true,
    onFilter: (f) => {
      Object.assign(params, f);
      commit(true);
    },
    path: () => ["events"],
    params: () => urlParams(),
    drawerOpen: () => !drawer.hidden,
    onOpen: (seq) => open(seq, true),
  });

  let detail = null;
  function open(seq, push) {
    openSeq = seq;
    ctx.setURL(["events"], urlParams(), push);
    drawer.hidden = false;
    section.classList.add("with-drawer");
    list.select(seq);
    if (detail) detail.destroy();
    detail = openDetail(drawer, seq, ctx, close);
  }
  function close() {
    if (detail) detail.destroy();
    detail = null;
    drawer.hidden = true;
    section.classList.remove("with-drawer");
    openSeq = 0;
    ctx.setURL(["events"], urlParams(), true);
    list.focusSelected();
    list.flushIfTop();
  }

  fillForm();
  list.reload(params);
  if (openSeq) open(openSeq, false);

  // The filters' choices come from whole-ledger statistics, which take a while on a large
  // ledger: asked for once the first page is on screen, so they never delay it.
  const lookupsLater = () => loadLookups().then((L) => {
    for (const e of L.entities) ensureOption(f.entity, e);
    for (const t of L.types) ensureType(t);
    for (const s of L.strategies.values()) dlS.append(h("option", { value: s.name, text: `${s.symbol} \u00b7 ${s.id}` }));
    for (const sym of new Set([...L.strategies.values()].map((s) => s.symbol))) dlS.append(h("option", { value: sym }));
    for (const a of L.actorKinds.keys()) dlA.append(h("option", { value: a }));
    fillForm();
  }).catch(() => {});
  setTimeout(() => destroyed || lookupsLater(), 300);

  return {
    update(r) {
      if (r.parts[0] !== "events") return false;
      const np = paramsOf(r);
      const seq = Number(r.params.get("seq")) || 0;
      if (JSON.stringify(np) !== JSON.stringify(params)) {
        params = np;
        fillForm();
        list.reload(params);
      }
      if (seq && seq !== openSeq) open(seq, false);
      else if (!seq && openSeq) {
        if (detail) detail.destroy();
        detail = null;
        drawer.hidden = true;
        section.classList.remove("with-drawer");
        openSeq = 0;
      }
      return true;
    },
    key(e) {
      if (e.key === "/") {
        f.q.focus();
        return true;
      }
      if (e.key === "j") return list.move(1), true;
      if (e.key === "k") return list.move(-1), true;
      if (e.key === "Home") return list.home(), true;
      if (e.key === "p") return list.togglePause(), true;
      if (e.key === "Escape" && !drawer.hidden) return close(), true;
      if (e.key === "v" && detail) return detail.verify(), true;
      return false;
    },
    destroy() {
      destroyed = true;
      typed.cancel();
      list.destroy();
      if (detail) detail.destroy();
    },
  };
}

// datetime-local inputs show UTC here (the page labels them so): "2026-01-18T10:31:00"
// <-> "2026-01-18T10:31:00Z".
function toLocalInput(v) {
  if (!v || v.startsWith("-")) return "";
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?/.exec(v);
  return m ? `${m[1]}T${m[2] || "00:00:00"}` : "";
}
function fromLocalInput(v) {
  return `${v.length === 16 ? v + ":00" : v}Z`;
}

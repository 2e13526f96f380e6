// SPDX-License-Identifier: Apache-2.0
// Small shared helpers of the dashboard: building elements (ledger data only ever goes in
// through textContent), formatting times and numbers, and the colour class of each event
// type (SPEC 11: created blue, activated green, closed red, swapped purple, failed orange,
// others grey; each with a glyph so colour is never the only signal).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVGNS = "http://www.w3.org/2000/svg";

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// ---- event types -----------------------------------------------------------------------

const KINDS = [
  ["created", "+", ["CREATED"]],
  ["activated", "\u25b2", ["ACTIVATED", "SWAPPED_IN"]],
  ["closed", "\u25a0", ["CLOSED"]],
  ["swapped", "\u21c4", ["SWAPPED_OUT", "SWAPPED"]],
  ["failed", "\u2715", ["FAILED", "SYNC_FAILED"]],
];

// The colour family of an event type. SWAPPED_IN and SWAPPED_OUT are both swaps (purple).
export function kindOf(type) {
  if (type === "SWAPPED_IN" || type === "SWAPPED_OUT" || type === "SWAPPED") return "swapped";
  for (const [k, , types] of KINDS) if (types.includes(type)) return k;
  return "other";
}

export function glyphOf(type) {
  const k = kindOf(type);
  for (const [kk, g] of KINDS) if (kk === k) return g;
  return "\u25cf";
}

export const LEGEND = [
  ["created", "+", "Created"],
  ["activated", "\u25b2", "Activated"],
  ["closed", "\u25a0", "Closed"],
  ["swapped", "\u21c4", "Swapped in/out"],
  ["failed", "\u2715", "Failed"],
  ["other", "\u25cf", "Other"],
];

export function badge(type) {
  return h("span", { class: `badge k-${kindOf(type)}` }, h("span", { class: "glyph", "aria-hidden": "true", text: glyphOf(type) }), type);
}

// SPEC 6.4: system, evaluator and service actors are automated, people are manual. The
// server's analytics decide the same way; the page only marks rows with it.
export function isAutomated(actor) {
  return /^(system|evaluator|orchestrator|cli)$/.test(actor) || /[-_](daemon|job|monitor|bot|service|worker)$/.test(actor) || /^(svc|bot)[-_]/.test(actor) || actor.startsWith("token:");
}

// ---- formatting --------------------------------------------------------------------------

export function fmtTs(ts) {
  if (!ts) return "";
  return ts.replace("T", " ").replace(/(\.\d{3})\d{3}Z$/, "$1Z");
}

export function age(ts) {
  const ms = Date.now() - Date.parse(ts);
  if (!isFinite(ms)) return "";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function num(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? "");
}

export function shortHash(hex) {
  return hex && hex.length > 16 ? `${hex.slice(0, 8)}\u2026${hex.slice(-8)}` : hex || "";
}

export function todayUTC() {
  return new Date().toISOString().slice(0, 10);
}

// Relative ranges stay relative in the URL; the API takes the same forms as the CLI.
export const RANGES = [
  ["", "Any time"],
  ["-1h", "Last hour"],
  ["-24h", "Last 24 hours"],
  ["-7d", "Last 7 days"],
  ["-30d", "Last 30 days"],
  ["custom", "Custom\u2026"],
];

// fn after ms of quiet; .cancel() drops a pending call (a committed change or a view
// that goes away must not be overwritten by a late one).
export function debounce(fn, ms) {
  let t = 0;
  const d = (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}

export function toast(msg) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => (t.hidden = true), 2500);
}

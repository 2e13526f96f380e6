// SPDX-License-Identifier: Apache-2.0
// The dashboard's entry point: sign-in, hash routing (the server serves files only, so
// Back never reloads), the header's checkpoint badge and live chip, the settings dialog
// (token, pinned verifier key) and the global keyboard shortcuts.

import { getJSON, onAuthError, setToken, token, ApiError } from "./api.js";
import { h, clear, age, num, toast } from "./dom.js";
import { parseVerifierKey } from "./verify.js";
import * as timeline from "./timeline.js";

const VKEY = "tradetrail.verifier_key";
const main = document.getElementById("main");
const top = document.getElementById("top");

// ---- routing ---------------------------------------------------------------------------

export function currentRoute() {
  const raw = location.hash.replace(/^#/, "") || "/events";
  const [path, qs] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(qs || "") };
}

export function hrefFor(parts, params) {
  const p = parts.map(encodeURIComponent).join("/");
  const q = params ? new URLSearchParams([...params].filter(([, v]) => v !== "")).toString() : "";
  return `#/${p}${q ? "?" + q : ""}`;
}

// Change the URL without a new render: the view already shows the state. push for a
// committed change (Back returns to it), replace while typing.
export function setURL(parts, params, push) {
  const url = hrefFor(parts, params);
  if (url === location.hash) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

// The timeline is the first view (SPEC 11: within 1 s); the other views' modules load when
// first visited, so the first view compiles only what it shows.
const VIEWS = {
  events: () => timeline,
  strategies: () => import("./strategy.js"),
  strategy: () => import("./strategy.js"),
  feedback: () => import("./feedback.js"),
  summary: () => import("./summary.js"),
  analytics: () => import("./analytics.js"),
};

let active = null; // {name, view, handle}
let routing = 0; // the latest route() call; an older one still loading its view gives way

async function route() {
  if (!token()) return signIn();
  const r = currentRoute();
  const name = VIEWS[r.parts[0]] ? r.parts[0] : "events";
  const n = ++routing;
  let view;
  try {
    view = await VIEWS[name]();
  } catch (err) {
    if (n === routing) toast(`This view could not be loaded (${err.message}); reload the page.`);
    return;
  }
  if (n !== routing) return;
  for (const a of document.querySelectorAll(".nav a")) {
    const on = a.dataset.view === name || (name === "strategy" && a.dataset.view === "strategies");
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (active && active.name === name && active.handle && active.handle.update && active.handle.update(r)) return;
  if (active && active.handle && active.handle.destroy) active.handle.destroy();
  clear(main);
  top.hidden = false;
  const label = { events: "Timeline", strategies: "Strategies", strategy: `Strategy ${r.parts[1] || ""}`, feedback: "AI feedback", summary: "Summary", analytics: "Analytics" }[name];
  document.title = `${label} \u00b7 tradetrail`;
  active = { name, view, handle: view.render(main, r, ctx) };
}

// What views share: the pinned key, the live chip, navigation.
export const ctx = {
  setURL,
  hrefFor,
  currentRoute,
  verifierKey: () => localStorage.getItem(VKEY),
  openSettings: () => openSettings(),
  setLive(state, info) {
    const chip = document.getElementById("live-chip");
    chip.dataset.state = state;
    chip.textContent =
      state === "live" ? "Live" :
      state === "connecting" ? "Connecting\u2026" :
      state === "reconnecting" ? `Reconnecting in ${info} s` :
      state === "paused" ? `Paused${info ? ` (${info} new)` : ""}` :
      state === "denied" ? "Stream refused" : "Not live";
  },
};

window.addEventListener("popstate", route);
window.addEventListener("hashchange", route);

// ---- sign-in -----------------------------------------------------------------------------

function signIn(problem) {
  routing++; // a view still loading must not replace the sign-in screen
  if (active && active.handle && active.handle.destroy) active.handle.destroy();
  active = null;
  top.hidden = true;
  document.title = "Sign in \u00b7 tradetrail";
  clear(main);
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "tt_\u2026",
    "aria-describedby": "token-help",
  });
  const msg = h("p", { class: "signin-error", role: "alert", id: "signin-error" });
  if (problem) showProblem(msg, problem);
  const form = h(
    "form",
    { class: "signin", onsubmit: (e) => submit(e, input, msg, form) },
    h("img", { src: document.querySelector("link[rel=icon]").href, alt: "", width: 40, height: 40 }),
    h("h1", { text: "tradetrail" }),
    h("p", { class: "muted", text: "The tamper-evident audit ledger of your trading systems." }),
    h("label", { for: "token", text: "Read token" }),
    input,
    h("p", { id: "token-help", class: "help" },
      "Create one with ", h("code", { text: "tradetrail token create --role read --name dashboard" }),
      ". It stays in this tab only (sessionStorage) and is sent only in the Authorization header."),
    msg,
    h("button", { type: "submit", class: "primary", text: "Sign in" }),
  );
  main.append(form);
  input.focus();
}

function showProblem(msg, err) {
  clear(msg);
  if (err.status === 401) {
    msg.append(h("strong", { text: "This token was refused. " }),
      "It is not a token of this ledger, or it was revoked (", h("code", { text: "tradetrail token list" }), " shows which). ",
      h("span", { class: "muted", text: `Server: ${err.message}` }));
  } else if (err.status === 403) {
    msg.append(h("strong", { text: "This token may not read the ledger. " }),
      "The dashboard needs a token with the read or admin role. ",
      h("span", { class: "muted", text: `Server: ${err.message}` }));
  } else {
    msg.append(h("strong", { text: "Could not sign in. " }), err.message || String(err));
  }
}

async function submit(e, input, msg, form) {
  e.preventDefault();
  const t = input.value.trim();
  if (!t) return;
  form.setAttribute("aria-busy", "true");
  try {
    await getJSON("/api/checkpoint", { tokenOverride: t });
    setToken(t);
    if (!location.hash) history.replaceState(null, "", "#/events");
    route();
    refreshCheckpoint();
  } catch (err) {
    showProblem(msg, err);
    input.select();
  } finally {
    form.removeAttribute("aria-busy");
  }
}

onAuthError((err) => {
  setToken(null);
  signIn(err);
});

// ---- header: checkpoint badge ------------------------------------------------------------

let cpTimer = 0;
async function refreshCheckpoint() {
  clearTimeout(cpTimer);
  if (!token()) return;
  const b = document.getElementById("cp-badge");
  try {
    const cp = await getJSON("/api/checkpoint");
    b.textContent = `tree ${num(cp.tree_size)} \u00b7 signed ${age(cp.ts)}`;
    b.title = `Latest signed checkpoint: size ${cp.tree_size}, root ${cp.root_hash}, ${cp.ts}`;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) b.textContent = "checkpoint unavailable";
  }
  cpTimer = setTimeout(refreshCheckpoint, 10000);
}

// ---- settings ----------------------------------------------------------------------------

async function describeKey(text) {
  if (!text) return "No verifier key pinned: the detail panel cannot check signatures.";
  try {
    const k = await parseVerifierKey(text);
    return `Pinned: ${k.name}, key ID ${k.keyIdHex}.`;
  } catch (e) {
    return `The pinned key is not valid: ${e.message}`;
  }
}

function openSettings() {
  let dlg = document.getElementById("settings");
  if (dlg) dlg.remove();
  const keyInput = h("textarea", {
    id: "vkey", rows: 2, spellcheck: "false", autocomplete: "off",
    placeholder: "name+keyid+base64 \u2014 the output of `tradetrail key`",
    "aria-describedby": "vkey-state",
  });
  keyInput.value = localStorage.getItem(VKEY) || "";
  const state = h("p", { id: "vkey-state", class: "help", "aria-live": "polite" });
  describeKey(keyInput.value).then((t) => (state.textContent = t));
  dlg = h(
    "dialog",
    { id: "settings", "aria-labelledby": "settings-title" },
    h("form", { method: "dialog", class: "settings" },
      h("h2", { id: "settings-title", text: "Settings" }),
      h("label", { for: "vkey", text: "Verifier key" }),
      h("p", { class: "help" }, "Paste what ", h("code", { text: "tradetrail key" }),
        " prints on the ledger's host. It is kept in this browser (localStorage) and is never taken from the server: checkpoints are checked against it."),
      keyInput,
      state,
      h("div", { class: "row" },
        h("button", { type: "button", class: "primary", id: "vkey-save", onclick: async () => {
          const v = keyInput.value.trim();
          if (!v) {
            localStorage.removeItem(VKEY);
            state.textContent = await describeKey("");
            return;
          }
          try {
            await parseVerifierKey(v);
            localStorage.setItem(VKEY, v);
            state.textContent = await describeKey(v);
          } catch (e) {
            state.textContent = `Not saved: ${e.message}`;
          }
        }, text: "Pin key" }),
        h("button", { type: "button", class: "ghost", id: "sign-out", onclick: () => {
          setToken(null);
          dlg.close();
          signIn();
        }, text: "Sign out" }),
        h("button", { value: "close", class: "ghost", text: "Close" }),
      ),
    ),
  );
  document.body.append(dlg);
  dlg.showModal();
  keyInput.focus();
}

document.getElementById("btn-settings").addEventListener("click", openSettings);

// ---- keyboard ------------------------------------------------------------------------------

let pendingG = false;
document.addEventListener("keydown", (e) => {
  const t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  if (document.querySelector("dialog[open]")) return;
  if (pendingG) {
    pendingG = false;
    const to = { t: "#/events", s: "#/strategies", f: "#/feedback", a: "#/analytics", u: "#/summary" }[e.key];
    if (to) {
      location.hash = to;
      e.preventDefault();
    }
    return;
  }
  if (e.key === "g") {
    pendingG = true;
    setTimeout(() => (pendingG = false), 1200);
    return;
  }
  if (e.key === "?") {
    e.preventDefault();
    help();
    return;
  }
  if (active && active.handle && active.handle.key && active.handle.key(e)) e.preventDefault();
});

function help() {
  const keys = [
    ["/", "search"], ["j / k", "next / previous event"], ["Enter", "open the event"],
    ["Esc", "close the panel"], ["v", "verify the open event again"], ["p", "pause or resume live updates"], ["Home", "newest events"],
    ["g t, g s, g f, g u, g a", "timeline, strategies, feedback, summary, analytics"], ["?", "this help"],
  ];
  const dlg = h("dialog", { "aria-labelledby": "help-title", class: "help-dialog" },
    h("form", { method: "dialog" },
      h("h2", { id: "help-title", text: "Keyboard" }),
      h("dl", {}, keys.map(([k, v]) => [h("dt", {}, h("kbd", { text: k })), h("dd", { text: v })])),
      h("button", { value: "close", class: "primary", text: "Close" })));
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

route();
refreshCheckpoint();

// SPDX-License-Identifier: Apache-2.0
// The event detail drawer: every field, metadata pretty-printed, the raw JSON, and the
// verification done here in the browser, step by step, stopping at the first failure:
// pinned key, checkpoint, Ed25519 signature, leaf hash from the fields, inclusion proof
// at the checkpoint's size, root, and consistency with the checkpoint this browser kept.

import { getJSON, getText, query } from "./api.js";
import { h, clear, badge, fmtTs, age } from "./dom.js";
import * as V from "./verify.js";

const KEPT = "tradetrail.kept_checkpoint";

const STEPS = [
  ["key", "Verifier key pinned"],
  ["checkpoint", "Checkpoint fetched and well-formed"],
  ["signature", "Checkpoint signature (Ed25519) valid"],
  ["leaf", "Leaf hash recomputed from the fields"],
  ["proof", "Inclusion proof fetched at the checkpoint's size"],
  ["root", "Root recomputed (SHA-256, RFC 9162) equals the signed root"],
  ["consistency", "Consistent with the checkpoint this browser kept"],
];

export function openDetail(drawer, seq, ctx, onClose) {
  clear(drawer);
  const ctl = new AbortController();
  const head = h("div", { class: "drawer-head" },
    h("h2", { id: "detail-title", text: `Event #${seq}` }),
    h("button", { type: "button", class: "ghost close", "aria-label": "Close the event detail", onclick: onClose, text: "\u2715" }));
  const body = h("div", { class: "drawer-body" }, h("p", { class: "muted", text: "Loading\u2026" }));
  drawer.append(head, body);
  drawer.setAttribute("aria-labelledby", "detail-title");
  drawer.focus({ preventScroll: true });

  let raw = null;
  let checklist = null;
  let running = null;

  (async () => {
    try {
      raw = await getText(`/api/events/${seq}`, { signal: ctl.signal });
    } catch (e) {
      if (e.name === "AbortError") return;
      clear(body).append(h("p", { class: "err", text: `${e.code || "error"}: ${e.message}` }));
      return;
    }
    const ev = JSON.parse(raw);
    clear(body);
    const f = fields(ev, ctx);
    checklist = h("ol", { class: "checks", "aria-live": "polite", id: "checks" });
    const verdict = h("p", { class: "verdict", id: "verdict", role: "status" });
    body.append(
      h("section", { class: "verify", "aria-labelledby": "verify-title" },
        h("div", { class: "verify-head" },
          h("h3", { id: "verify-title", text: "Verification in this browser" }),
          h("button", { type: "button", class: "ghost", id: "reverify", onclick: () => verify(), text: "Verify again" })),
        verdict, checklist));
    // The verdict first: it is what the panel is opened for; then every field.
    body.prepend(f.firstChild);
    body.append(f, metadata(ev), h("details", { class: "raw" }, h("summary", { text: "Raw JSON (as served)" }), h("pre", { text: raw })));
    verify();
  })();

  function verify() {
    if (!raw || !checklist) return;
    if (running) running.cancelled = true;
    const run = { cancelled: false };
    running = run;
    runChecks(seq, raw, ctx, checklist, document.getElementById("verdict"), run, ctl.signal);
  }

  return {
    verify,
    destroy() {
      ctl.abort();
      if (running) running.cancelled = true;
    },
  };
}

// Fields with a place of their own; any other (principal, producer, ...) is listed after
// them as served, so the panel shows every field the server sends.
const SHOWN = new Set(["seq", "ts", "entity", "entity_id", "event_type", "actor", "old_status", "new_status", "reason", "metadata", "occurred_at", "idempotency_key", "leaf_hash"]);

function fields(ev, ctx) {
  const row = (k, v, cls) => [h("dt", { text: k }), h("dd", { class: cls || "" }, v === null || v === undefined || v === "" ? h("span", { class: "null", text: v === "" ? "(empty)" : "null" }) : v)];
  const subject = ev.entity === "strategy"
    ? h("a", { href: ctx.hrefFor(["strategy", ev.entity_id, "overview"]), text: ev.entity_id })
    : ev.entity_id;
  const copy = h("button", { type: "button", class: "ghost tiny", "aria-label": "Copy the leaf hash", onclick: () => navigator.clipboard && navigator.clipboard.writeText(ev.leaf_hash), text: "copy" });
  return h("div", { class: "fields" },
    h("div", { class: "detail-badges" }, badge(ev.event_type), h("span", { class: "muted", text: `${ev.entity}/${ev.entity_id}` })),
    h("dl", { class: "kv" },
      row("seq", String(ev.seq), "mono"),
      row("ts", h("time", { datetime: ev.ts, title: age(ev.ts), text: ev.ts }), "mono"),
      row("entity", ev.entity),
      row("entity_id", subject, "mono"),
      row("event_type", ev.event_type, "mono"),
      row("actor", ev.actor),
      row("old_status", ev.old_status),
      row("new_status", ev.new_status),
      row("reason", ev.reason, "pre"),
      row("occurred_at", ev.occurred_at, "mono"),
      row("idempotency_key", ev.idempotency_key, "mono"),
      ...Object.keys(ev).filter((k) => !SHOWN.has(k)).map((k) => row(k, typeof ev[k] === "object" && ev[k] !== null ? JSON.stringify(ev[k]) : ev[k] === null ? null : String(ev[k]), "mono")),
      row("leaf_hash", h("span", {}, h("code", { class: "hash", text: ev.leaf_hash }), " ", copy), "mono"),
    ));
}

function metadata(ev) {
  if (ev.metadata === null) return h("section", { class: "meta" }, h("h3", { text: "Metadata" }), h("p", { class: "null", text: "none" }));
  const text = JSON.stringify(ev.metadata, null, 2);
  const pre = h("pre", { class: "json", tabindex: "0", "aria-label": "Metadata, pretty-printed" }, highlight(text));
  const big = text.length > 4096;
  return h("section", { class: "meta" }, h("h3", { text: "Metadata" }),
    big ? h("details", {}, h("summary", { text: `Show ${Math.round(text.length / 1024)} KiB of metadata` }), pre) : pre);
}

// Keys, strings and numbers in their own spans; text nodes only.
function highlight(text) {
  const out = [];
  const re = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(h("span", { class: m[2] ? "j-key" : "j-str", text: m[1] }), m[2] || "");
    else if (m[3]) out.push(h("span", { class: "j-num", text: m[3] }));
    else out.push(h("span", { class: "j-lit", text: m[4] }));
    last = re.lastIndex;
  }
  out.push(text.slice(last));
  return out;
}

// ---- the checks ----------------------------------------------------------------------------

async function runChecks(seq, raw, ctx, list, verdict, run, signal) {
  clear(list);
  const items = new Map();
  for (const [id, label] of STEPS) {
    const li = h("li", { class: "check pending", dataset: { step: id } },
      h("span", { class: "mark", "aria-hidden": "true", text: "\u2013" }),
      h("span", { class: "what", text: label }),
      h("span", { class: "state sr-only", text: "not run" }),
      h("div", { class: "why" }));
    items.set(id, li);
    list.append(li);
  }
  verdict.className = "verdict running";
  verdict.textContent = "Verifying\u2026";
  let partial = false;

  const set = (id, state, why) => {
    if (run.cancelled) throw new Error("cancelled");
    const li = items.get(id);
    li.className = `check ${state}`;
    li.querySelector(".mark").textContent = state === "ok" ? "\u2713" : state === "fail" ? "\u2717" : state === "warn" ? "!" : "\u2013";
    li.querySelector(".state").textContent = state === "ok" ? "passed" : state === "fail" ? "failed" : state === "warn" ? "not checked" : "not run";
    const w = li.querySelector(".why");
    clear(w);
    if (why) w.append(why);
  };
  const fail = (id, why) => {
    set(id, "fail", why);
    const label = STEPS.find(([s]) => s === id)[1];
    verdict.className = "verdict bad";
    verdict.textContent = `Not verified: the step \u201c${label}\u201d failed.`;
    list.dataset.failed = id;
    throw new Error("stop");
  };

  try {
    delete list.dataset.failed;
    // Browsers give WebCrypto only to secure contexts: HTTPS, or http://localhost.
    if (!globalThis.crypto || !globalThis.crypto.subtle) {
      verdict.className = "verdict partial";
      verdict.textContent = "Cannot verify in this browser: WebCrypto is available only over HTTPS or on localhost. Open the dashboard through an HTTPS proxy, or check with `tradetrail prove` on the host.";
      return;
    }
    // 1. The key the user pinned, never one the server offers.
    const vtext = ctx.verifierKey();
    if (!vtext) {
      fail("key", h("span", {}, "No verifier key is pinned. ",
        h("button", { type: "button", class: "link", onclick: ctx.openSettings, text: "Pin the key" }),
        " that ", h("code", { text: "tradetrail key" }), " prints on the ledger's host."));
    }
    let vkey;
    try {
      vkey = await V.parseVerifierKey(vtext);
    } catch (e) {
      fail("key", `The pinned key is not valid: ${e.message}`);
    }
    set("key", "ok", `${vkey.name}, key ID ${vkey.keyIdHex}`);

    // 2. The checkpoint, and that its JSON agrees with its signed note.
    let cp, note;
    try {
      cp = await getJSON("/api/checkpoint", { signal });
      note = V.parseNote(cp.note);
    } catch (e) {
      if (e.name === "AbortError") return;
      fail("checkpoint", `Could not read the checkpoint: ${e.message}`);
    }
    if (note.size !== cp.tree_size || V.bytesToHex(note.root) !== cp.root_hash) {
      fail("checkpoint", "The checkpoint's fields do not match its signed note.");
    }
    if (note.size < seq) fail("checkpoint", `The checkpoint covers ${note.size} events; this is #${seq}. Try again in a second.`);
    set("checkpoint", "ok", `${note.origin}, size ${note.size}, signed ${fmtTs(cp.ts)}`);

    // 3. The signature.
    try {
      const r = await V.verifyNoteSignature(note, vkey);
      if (!r.ok) fail("signature", r.why);
      set("signature", "ok", `signed by ${vkey.name}`);
    } catch (e) {
      if (e.message === "stop") throw e;
      if (e.code === "unsupported" || e.code === "unavailable") {
        partial = true;
        set("signature", "warn", `Not checked: ${e.message}. Check the note with \`tradetrail verify --since-checkpoint\` instead.`);
      } else fail("signature", e.message);
    }

    // 4. The leaf hash from the fields as served.
    const ev = JSON.parse(raw);
    let leaf;
    try {
      leaf = await V.leafHash(raw);
    } catch (e) {
      fail("leaf", `The fields cannot be encoded: ${e.message}`);
    }
    if (V.bytesToHex(leaf) !== ev.leaf_hash) {
      fail("leaf", h("span", {}, "The fields hash to ", h("code", { text: V.bytesToHex(leaf) }), " but the ledger lists ", h("code", { text: ev.leaf_hash }), ": the stored event or its hash was changed."));
    }
    set("leaf", "ok", h("code", { class: "hash", text: V.bytesToHex(leaf) }));

    // 5. The proof at exactly the checkpoint's size.
    let proof;
    try {
      proof = await getJSON(`/api/events/${seq}/proof${query({ tree_size: note.size })}`, { signal });
    } catch (e) {
      if (e.name === "AbortError") return;
      fail("proof", `Could not fetch the proof: ${e.message}`);
    }
    if (proof.tree_size !== note.size || proof.leaf_index !== seq - 1) fail("proof", "The proof is for another leaf or size.");
    if (proof.leaf_hash !== ev.leaf_hash) fail("proof", "The proof is for another leaf hash than the event's.");
    set("proof", "ok", `${proof.hashes.length} hashes, leaf index ${proof.leaf_index}, tree size ${proof.tree_size}`);

    // 6. The root.
    let root;
    try {
      root = await V.rootFromInclusion(proof.leaf_index, proof.tree_size, leaf, proof.hashes.map(V.hexToBytes));
    } catch (e) {
      fail("root", `The proof has the wrong shape: ${e.message}`);
    }
    if (!V.bytesEqual(root, note.root)) {
      fail("root", h("span", {}, "The proof leads to ", h("code", { text: V.bytesToHex(root) }), ", the checkpoint signed ", h("code", { text: V.bytesToHex(note.root) }), "."));
    }
    set("root", "ok", h("code", { class: "hash", text: V.bytesToHex(root) }));

    // 7. Append-only since the last visit.
    const keptKey = `${KEPT}:${note.origin}`;
    let kept = null;
    try {
      kept = JSON.parse(localStorage.getItem(keptKey) || "null");
    } catch {
      kept = null;
    }
    if (!kept || !kept.size) {
      set("consistency", "ok", "First visit: this checkpoint is kept to check the next ones against.");
    } else if (kept.size > note.size) {
      fail("consistency", `This browser kept a checkpoint of size ${kept.size}; the ledger now claims ${note.size}. History was removed.`);
    } else {
      let c;
      try {
        c = await getJSON(`/api/consistency${query({ first: kept.size, second: note.size })}`, { signal });
      } catch (e) {
        if (e.name === "AbortError") return;
        fail("consistency", `Could not fetch the consistency proof: ${e.message}`);
      }
      const ok = await V.verifyConsistency(kept.size, note.size, V.hexToBytes(kept.root), note.root, c.hashes.map(V.hexToBytes));
      if (!ok) fail("consistency", `The tree of size ${note.size} does not extend the one of size ${kept.size} kept on ${fmtTs(kept.ts)}: history was rewritten.`);
      set("consistency", "ok", kept.size === note.size ? "Same checkpoint as kept." : `Extends the kept checkpoint of size ${kept.size} (${fmtTs(kept.ts)}).`);
    }
    localStorage.setItem(keptKey, JSON.stringify({ size: note.size, root: V.bytesToHex(note.root), ts: cp.ts }));

    verdict.className = partial ? "verdict partial" : "verdict good";
    verdict.textContent = partial
      ? `Partly verified: included in the tree of size ${note.size}, but the signature could not be checked in this browser.`
      : `Verified: event #${seq} is in the ledger signed at size ${note.size}.`;
  } catch (e) {
    if (e.message === "stop" || e.message === "cancelled" || e.name === "AbortError") return;
    verdict.className = "verdict bad";
    verdict.textContent = `Verification stopped: ${e.message}`;
  }
}

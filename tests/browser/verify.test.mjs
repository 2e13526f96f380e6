// SPDX-License-Identifier: Apache-2.0
// Unit test (node's test runner) of the dashboard's in-browser verification, web/verify.js:
// RFC 6962 inclusion and consistency proofs against the transparency-dev vectors
// (tests/vectors/rfc6962, a copy of ../shared/vectors/rfc6962), leaf bytes against our own
// known answers (tests/vectors/leaf), and signed notes against tests/vectors/checkpoint,
// including Go's checksum database notes.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { webcrypto } from "node:crypto";

if (!globalThis.crypto) globalThis.crypto = webcrypto; // node 18 has no global crypto

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.TT_SOURCE_DIR || path.resolve(here, "..", "..");
const V = await import(path.join(root, "web", "verify.js"));

function vectorsDir() {
  const shared = path.resolve(root, "..", "shared", "vectors", "rfc6962");
  return fs.existsSync(shared) ? shared : path.join(root, "tests", "vectors", "rfc6962");
}

function jsonFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsonFiles(p));
    else if (e.name.endsWith(".json")) out.push(p);
  }
  return out;
}

// The vector files hold deliberately malformed values too (garbage before or after a
// hash): anything that does not decode to 32 bytes makes the proof invalid.
function hashOrNull(b64) {
  const b = bytesOrNull(b64);
  return b && b.length === 32 ? b : null;
}

// Roots are compared as given: some vectors use placeholders that are not hashes.
function bytesOrNull(b64) {
  try {
    return V.b64ToBytes(b64 ?? "");
  } catch {
    return null;
  }
}

test("RFC 6962 roots of 0..8 leaves through the inclusion verifier", async () => {
  const r = JSON.parse(fs.readFileSync(path.join(vectorsDir(), "roots.json"), "utf8"));
  const leaves = [];
  for (const h of r.leaf_inputs_hex) leaves.push(await V.sha256(Uint8Array.of(0), V.hexToBytes(h)));
  // Build every tree by the RFC's recursive definition and check the stored roots, then
  // that each leaf's audit path leads to that root.
  async function mth(lo, hi) {
    if (hi - lo === 1) return leaves[lo];
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return V.sha256(Uint8Array.of(1), await mth(lo, lo + k), await mth(lo + k, hi));
  }
  async function pathOf(m, lo, hi) {
    if (hi - lo === 1) return [];
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return m - lo < k
      ? [...(await pathOf(m, lo, lo + k)), await mth(lo + k, hi)]
      : [...(await pathOf(m, lo + k, hi)), await mth(lo, lo + k)];
  }
  for (let n = 1; n <= 8; n++) {
    const want = V.hexToBytes(r.root_hashes_hex_by_size[n]);
    assert.equal(V.bytesToHex(await mth(0, n)), r.root_hashes_hex_by_size[n]);
    for (let i = 0; i < n; i++) {
      assert.ok(await V.verifyInclusion(i, n, leaves[i], await pathOf(i, 0, n), want), `n=${n} i=${i}`);
    }
  }
});

test("inclusion vectors: every valid proof verifies, every invalid one is refused", async () => {
  const files = jsonFiles(path.join(vectorsDir(), "testdata", "inclusion"));
  assert.ok(files.length > 50, "inclusion vectors found");
  for (const f of files) {
    const v = JSON.parse(fs.readFileSync(f, "utf8"));
    const leaf = hashOrNull(v.leafHash);
    const rootH = hashOrNull(v.root);
    const proof = (v.proof || []).map(hashOrNull);
    let ok = false;
    if (leaf && rootH && !proof.includes(null)) {
      ok = await V.verifyInclusion(v.leafIdx, v.treeSize, leaf, proof, rootH);
    }
    assert.equal(ok, !v.wantErr, f);
  }
});

test("consistency vectors: every valid proof verifies, every invalid one is refused", async () => {
  const files = jsonFiles(path.join(vectorsDir(), "testdata", "consistency"));
  assert.ok(files.length > 50, "consistency vectors found");
  for (const f of files) {
    const v = JSON.parse(fs.readFileSync(f, "utf8"));
    const r1 = bytesOrNull(v.root1);
    const r2 = bytesOrNull(v.root2);
    const proof = (v.proof || []).map(hashOrNull);
    let ok = false;
    if (r1 && r2 && !proof.includes(null)) {
      ok = await V.verifyConsistency(v.size1, v.size2, r1, r2, proof);
    }
    assert.equal(ok, !v.wantErr, f);
  }
});

test("leaf bytes and leaf hashes match docs/FORMAT.md's known answers", async () => {
  const dir = path.join(root, "tests", "vectors", "leaf");
  const names = fs.readdirSync(dir).filter((n) => n.endsWith(".json"));
  assert.ok(names.length >= 3);
  for (const n of names) {
    const v = JSON.parse(fs.readFileSync(path.join(dir, n), "utf8"));
    // The server's compact JSON of the event (FORMAT.md section 5) is what the page reads.
    const raw = JSON.stringify({ ...v.event, leaf_hash: v.leaf_hash });
    assert.equal(V.bytesToHex(V.leafBytes(raw)), v.leaf_bytes, n);
    assert.equal(V.bytesToHex(await V.leafHash(raw)), v.leaf_hash, n);
  }
});

test("metadata is hashed as the server's bytes, not as JavaScript reprints them", async () => {
  // Integer-like keys come first in a JavaScript object and 1.50 would print as 1.5; the
  // raw text keeps the stored order and form.
  const raw =
    '{"seq":3,"ts":"2026-01-18T10:31:00.000001Z","entity":"order","entity_id":"o","event_type":"X",' +
    '"actor":"a","old_status":null,"new_status":null,"reason":"has ,\\"metadata\\": inside",' +
    '"metadata":{"b":1,"10":2,"occurred_at":"x","px":1.5e-07},"occurred_at":null,' +
    '"idempotency_key":"k,\\"occurred_at\\":1","leaf_hash":"00"}';
  assert.equal(V.rawMetadata(raw), '{"b":1,"10":2,"occurred_at":"x","px":1.5e-07}');
  const bytes = V.leafBytes(raw);
  const text = new TextDecoder().decode(bytes);
  assert.ok(text.includes('{"b":1,"10":2,"occurred_at":"x","px":1.5e-07}'));
});

test("signed notes: our example, Go's checksum database, and every kind of failure", async () => {
  const dir = path.join(root, "tests", "vectors", "checkpoint");
  const read = (n) => fs.readFileSync(path.join(dir, n), "utf8");
  const key = await V.parseVerifierKey(read("example.vkey"));
  assert.equal(key.name, "example.com/log");
  const note = V.parseNote(read("example-8.note"));
  assert.equal(note.origin, "example.com/log");
  assert.equal(note.size, 8);
  assert.equal(V.bytesToHex(note.root), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  assert.deepEqual(await V.verifyNoteSignature(note, key), { ok: true, why: "" });

  const sumdb = await V.parseVerifierKey(read("sumdb.vkey"));
  for (const n of fs.readdirSync(dir).filter((x) => x.startsWith("sumdb-") && x.endsWith(".note"))) {
    const p = V.parseNote(read(n));
    assert.equal(p.origin, "go.sum database tree");
    assert.equal((await V.verifyNoteSignature(p, sumdb)).ok, true, n);
  }

  // A changed size, a changed signature, another key.
  const tampered = read("example-8.note").replace("\n8\n", "\n9\n");
  assert.equal((await V.verifyNoteSignature(V.parseNote(tampered), key)).ok, false);
  const text = read("example-8.note");
  const i = text.lastIndexOf(" ") + 5;
  const flipped = text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
  assert.equal((await V.verifyNoteSignature(V.parseNote(flipped), key)).ok, false);
  const other = await V.parseVerifierKey(read("peterneumann.vkey"));
  const r = await V.verifyNoteSignature(note, other);
  assert.equal(r.ok, false);
  assert.match(r.why, /no signature by the pinned key PeterNeumann/);

  // Malformed keys are refused with a reason.
  await assert.rejects(V.parseVerifierKey("nonsense"), /name\+keyid\+base64/);
  await assert.rejects(V.parseVerifierKey(read("example.vkey").trim().replace("+d455c521+", "+d455c522+")), /key ID does not match/);
  assert.throws(() => V.parseNote("origin\n8\nroot\n"), /blank line/);
});

test("timestamps convert to microseconds, before 1970 too", () => {
  assert.equal(V.micros("1970-01-01T00:00:00.000001Z"), 1n);
  assert.equal(V.micros("1969-12-31T23:59:59.999999Z"), -1n);
  assert.equal(V.micros("2026-01-18T10:31:00.123456Z"), 1768732260123456n);
  assert.throws(() => V.micros("2026-01-18T10:31:00Z"));
});

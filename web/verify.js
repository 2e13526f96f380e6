// SPDX-License-Identifier: Apache-2.0
// Verification in the browser, with no help from the server beyond the data it serves:
// leaf bytes (docs/FORMAT.md), RFC 9162 inclusion and consistency proofs, and C2SP
// signed-note checkpoints with Ed25519. Pure functions over WebCrypto, so the same module
// runs in node for the unit tests (tests/browser/verify.test.mjs).

const enc = new TextEncoder();

function subtle() {
  const c = globalThis.crypto;
  if (!c || !c.subtle) {
    throw new VerifyError(
      "unavailable",
      "WebCrypto is not available here: browsers offer it only on HTTPS or on localhost",
    );
  }
  return c.subtle;
}

export class VerifyError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// ---- encodings --------------------------------------------------------------------------

export function hexToBytes(s) {
  if (typeof s !== "string" || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new VerifyError("parse", "not a hex string");
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

export function bytesToHex(b) {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function b64ToBytes(s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new VerifyError("parse", "not standard base64");
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export async function sha256(...parts) {
  const d = await subtle().digest("SHA-256", concat(parts));
  return new Uint8Array(d);
}

const ONE = Uint8Array.of(1);
const ZERO = Uint8Array.of(0);

// RFC 6962 2.1 / RFC 9162 2.1.1: node = SHA-256(0x01 || left || right).
function node(l, r) {
  return sha256(ONE, l, r);
}

// ---- leaf bytes (docs/FORMAT.md section 2) ------------------------------------------------

// Microseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.ffffffZ", as a BigInt.
export function micros(ts) {
  const m = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/.exec(ts);
  if (!m) throw new VerifyError("parse", `not a ledger timestamp: ${ts}`);
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const d = new Date(ms);
  if (d.getUTCFullYear() !== +m[1]) {
    // Date.UTC maps years 0-99 onto 1900-1999; the ledger never writes those.
    throw new VerifyError("parse", `timestamp out of range: ${ts}`);
  }
  return BigInt(ms) * 1000n + BigInt(m[7]);
}

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function i64(v) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v);
  return b;
}

function str(s) {
  const b = enc.encode(s);
  return concat([u32(b.length), b]);
}

function opt(s) {
  return s === null || s === undefined ? ZERO : concat([ONE, str(s)]);
}

// The metadata member's text exactly as the server wrote it: FORMAT.md section 5 says it
// is the stored, hashed bytes. Re-serialising the parsed object would not do, since
// JavaScript reorders integer-like keys and prints numbers its own way. The keys before
// metadata are escaped strings, so the first ',"metadata":' is the member itself; the
// members after it are a time and an escaped string, so the last ',"occurred_at":' ends it.
export function rawMetadata(raw) {
  const start = raw.indexOf(',"metadata":');
  const end = raw.lastIndexOf(',"occurred_at":');
  if (start < 0 || end < start) throw new VerifyError("parse", "event JSON without metadata");
  const text = raw.slice(start + ',"metadata":'.length, end);
  return text === "null" ? null : text;
}

// Leaf bytes of an event from the raw JSON text of GET /api/events/{seq} (FORMAT.md

// A non-negative integer as 8 big-endian bytes (producer_seq, FORMAT.md section 2).
function u64(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

// section 2, versions 1 and 2).
export function leafBytes(raw) {
  const ev = JSON.parse(raw);
  const meta = rawMetadata(raw);
  if (meta !== null && !meta.startsWith("{")) {
    throw new VerifyError("parse", "stored metadata is not a JSON object");
  }
  const seq = new Uint8Array(8);
  new DataView(seq.buffer).setBigUint64(0, BigInt(ev.seq));
  // Version 2 adds who authenticated the append; events stored before it have none and
  // keep their version 1 bytes.
  const v2 = ev.principal !== null && ev.principal !== undefined;
  // Version 3 (SPEC 15): an event with a producer adds producer and producer_seq.
  const v3 = ev.producer !== null && ev.producer !== undefined;
  return concat([
    v3 ? Uint8Array.of(3) : v2 ? Uint8Array.of(2) : ONE,
    seq,
    i64(micros(ev.ts)),
    str(ev.entity),
    str(ev.entity_id),
    str(ev.event_type),
    str(ev.actor),
    opt(ev.old_status),
    opt(ev.new_status),
    opt(ev.reason),
    opt(meta),
    ev.occurred_at === null ? ZERO : concat([ONE, i64(micros(ev.occurred_at))]),
    opt(ev.idempotency_key),
    v2 || v3 ? str(ev.principal ?? "") : new Uint8Array(0),
    v3 ? concat([str(ev.producer), u64(ev.producer_seq)]) : new Uint8Array(0),
  ]);
}

// RFC 6962 2.1: leaf hash = SHA-256(0x00 || leaf bytes).
export async function leafHash(raw) {
  return sha256(ZERO, leafBytes(raw));
}

// ---- proofs -------------------------------------------------------------------------------

// RFC 9162 2.1.3.2: the root that an inclusion proof leads to, or an error for a proof of
// the wrong shape. Sizes stay below 2^53, so plain arithmetic replaces the bit operations
// (JavaScript's are 32-bit).
export async function rootFromInclusion(index, size, leaf, proof) {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size)) || index < 0 || index >= size) {
    throw new VerifyError("proof", `leaf index ${index} is not inside a tree of size ${size}`);
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new VerifyError("proof", "the proof is longer than the tree is deep");
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new VerifyError("proof", "the proof is shorter than the tree is deep");
  return r;
}

export async function verifyInclusion(index, size, leaf, proof, root) {
  try {
    return bytesEqual(await rootFromInclusion(index, size, leaf, proof), root);
  } catch (e) {
    if (e instanceof VerifyError && e.code === "proof") return false;
    throw e;
  }
}

function isPow2(n) {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

// RFC 9162 2.1.4.2: whether the tree of size1 with root1 is a prefix of the tree of
// size2 with root2.
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  // A proof from the empty tree proves nothing; the ledger's trees start at size 1.
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2)) || size1 < 1) return false;
  if (size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && bytesEqual(root1, root2);
  if (proof.length === 0) return false;
  const path = isPow2(size1) ? [root1, ...proof] : proof.slice();
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await node(c, fr);
      sr = await node(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = await node(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}

// ---- keys and signed notes (c2sp.org/signed-note, tlog-checkpoint) ------------------------

// c2sp.org/signed-note: key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4].
export async function keyId(name, pub) {
  const h = await sha256(enc.encode(name), Uint8Array.of(0x0a, 0x01), pub);
  return h.slice(0, 4);
}

function nameOk(name) {
  return name.length > 0 && !/[+\s\u0000-\u001f\u007f-\u00a0]/u.test(name);
}

// "<name>+<hex key id>+<base64(0x01 || public key)>", as `tradetrail key` prints it.
export async function parseVerifierKey(text) {
  const t = (text || "").trim();
  const i = t.indexOf("+");
  const j = i < 0 ? -1 : t.indexOf("+", i + 1);
  if (j < 0) throw new VerifyError("key", "a verifier key looks like name+keyid+base64");
  const name = t.slice(0, i);
  const idHex = t.slice(i + 1, j);
  if (!nameOk(name)) throw new VerifyError("key", "the key name is not valid");
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new VerifyError("key", "the key ID is not 8 hex digits");
  let raw;
  try {
    raw = b64ToBytes(t.slice(j + 1));
  } catch {
    throw new VerifyError("key", "the public key is not base64");
  }
  if (raw.length !== 33 || raw[0] !== 0x01) {
    throw new VerifyError("key", "not an Ed25519 verifier key (type 0x01, 32 bytes)");
  }
  const pub = raw.slice(1);
  const id = await keyId(name, pub);
  if (bytesToHex(id) !== idHex) {
    throw new VerifyError("key", "the key ID does not match the name and public key");
  }
  return { name, keyId: id, keyIdHex: idHex, pub, text: t };
}

// Split a signed note into its text (with the final newline, as signed), the checkpoint
// lines and the signature lines.
export function parseNote(note) {
  if (typeof note !== "string" || !note.endsWith("\n")) {
    throw new VerifyError("note", "a signed note ends with a newline");
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) {
    throw new VerifyError("note", "control characters in the note");
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new VerifyError("note", "no blank line before the signatures");
  const text = note.slice(0, split + 1);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || lines[0] === "") {
    throw new VerifyError("note", "a checkpoint has an origin, a size and a root");
  }
  if (!/^(0|[1-9]\d*)$/.test(lines[1])) throw new VerifyError("note", "the tree size is not a number");
  const size = Number(lines[1]);
  if (!Number.isSafeInteger(size)) throw new VerifyError("note", "the tree size is too large");
  let root;
  try {
    root = b64ToBytes(lines[2]);
  } catch {
    root = new Uint8Array(0);
  }
  if (root.length !== 32) throw new VerifyError("note", "the root is not 32 bytes of base64");
  const sigs = [];
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new VerifyError("note", "a signature line is malformed");
    const raw = b64ToBytes(m[2]);
    if (raw.length < 5) throw new VerifyError("note", "a signature is too short");
    sigs.push({ name: m[1], keyId: raw.slice(0, 4), sig: raw.slice(4) });
  }
  return { text, origin: lines[0], size, root, sigs };
}

let ed25519 = null; // cached support probe

// Whether this browser's WebCrypto verifies Ed25519 (Chromium 137+, Firefox 129+,
// Safari 17+; older ones do not).
export async function ed25519Supported() {
  if (ed25519 === null) {
    try {
      await subtle().importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"]);
      ed25519 = true;
    } catch {
      ed25519 = false;
    }
  }
  return ed25519;
}

// Check the note's signature by the pinned key. Returns {ok, why}: why names the problem.
export async function verifyNoteSignature(parsed, vkey) {
  const mine = parsed.sigs.filter((s) => s.name === vkey.name && bytesEqual(s.keyId, vkey.keyId));
  if (mine.length === 0) {
    const names = parsed.sigs.map((s) => s.name).join(", ") || "none";
    return { ok: false, why: `no signature by the pinned key ${vkey.name} (signed by: ${names})` };
  }
  if (!(await ed25519Supported())) {
    throw new VerifyError("unsupported", "this browser's WebCrypto has no Ed25519");
  }
  const key = await subtle().importKey("raw", vkey.pub, { name: "Ed25519" }, false, ["verify"]);
  for (const s of mine) {
    if (s.sig.length === 64 && (await subtle().verify({ name: "Ed25519" }, key, s.sig, enc.encode(parsed.text)))) {
      return { ok: true, why: "" };
    }
  }
  return { ok: false, why: `the signature by ${vkey.name} does not verify` };
}

// SPDX-License-Identifier: Apache-2.0
// Offline verification with WebCrypto (globalThis.crypto.subtle) only: the leaf hash of an
// event from its JSON text (docs/FORMAT.md section 2), the root an RFC 9162 inclusion
// proof leads to, RFC 9162 consistency between two tree sizes, and a C2SP signed-note checkpoint checked with Ed25519 against a pinned
// verifier key. Nothing here trusts the server: a caller compares what the server sent
// with what it recomputes. A port of web/verify.js, typed, so both agree byte for byte.

import type { webcrypto } from "node:crypto";

const enc = new TextEncoder();
const ZERO = Uint8Array.of(0);
const ONE = Uint8Array.of(1);

export class VerifyError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "VerifyError";
    this.code = code;
  }
}

function subtle(): webcrypto.SubtleCrypto {
  const c = (globalThis as { crypto?: webcrypto.Crypto }).crypto;
  if (!c || !c.subtle) throw new VerifyError("unavailable", "WebCrypto (globalThis.crypto.subtle) is not available");
  return c.subtle;
}

export function hexToBytes(s: string): Uint8Array {
  if (typeof s !== "string" || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new VerifyError("parse", "not a hex string");
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function b64ToBytes(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new VerifyError("parse", "not base64");
  return new Uint8Array(Buffer.from(s, "base64"));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
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

export async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest("SHA-256", concat(parts)));
}

// RFC 9162 2.1.1: node = SHA-256(0x01 || left || right).
function node(l: Uint8Array, r: Uint8Array): Promise<Uint8Array> {
  return sha256(ONE, l, r);
}

// ---- leaf bytes (docs/FORMAT.md section 2) ----------------------------------------------

function micros(ts: string): bigint {
  const m = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/.exec(ts);
  if (!m) throw new VerifyError("parse", `not a ledger timestamp: ${ts}`);
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (new Date(ms).getUTCFullYear() !== +m[1]) throw new VerifyError("parse", `timestamp out of range: ${ts}`);
  return BigInt(ms) * 1000n + BigInt(m[7]);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function i64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v);
  return b;
}

function str(s: string): Uint8Array {
  const b = enc.encode(s);
  return concat([u32(b.length), b]);
}

function opt(s: string | null | undefined): Uint8Array {
  return s === null || s === undefined ? ZERO : concat([ONE, str(s)]);
}

// The metadata member's text exactly as the server wrote it (FORMAT.md section 5: the
// stored, hashed bytes). Re-serialising the parsed object would not do: JavaScript
// reorders integer-like keys and prints numbers its own way. The members before metadata
// are escaped strings and numbers, so the first ',"metadata":' is the member itself; the
// ones after it are a time and escaped strings, so the last ',"occurred_at":' ends it.
function rawMetadata(raw: string): string | null {
  const start = raw.indexOf(',"metadata":');
  const end = raw.lastIndexOf(',"occurred_at":');
  if (start < 0 || end < start) throw new VerifyError("parse", "event JSON without metadata");
  const text = raw.slice(start + ',"metadata":'.length, end);
  return text === "null" ? null : text;
}

// Leaf bytes of an event from the raw JSON text the server sent for it (GET

// A non-negative integer as 8 big-endian bytes (producer_seq, FORMAT.md section 2).
function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

// /api/events/{seq}), versions 1 and 2 of FORMAT.md section 2.
export function leafBytes(raw: string): Uint8Array {
  const ev = JSON.parse(raw);
  const meta = rawMetadata(raw);
  if (meta !== null && !meta.startsWith("{")) throw new VerifyError("parse", "stored metadata is not a JSON object");
  const seq = new Uint8Array(8);
  new DataView(seq.buffer).setBigUint64(0, BigInt(ev.seq));
  // Version 2 adds who authenticated the append; older events keep version 1 bytes.
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
    ev.occurred_at === null || ev.occurred_at === undefined ? ZERO : concat([ONE, i64(micros(ev.occurred_at))]),
    opt(ev.idempotency_key),
    v2 || v3 ? str(ev.principal ?? "") : new Uint8Array(0),
    v3 ? concat([str(ev.producer), u64(ev.producer_seq)]) : new Uint8Array(0),
  ]);
}

// RFC 6962 2.1: leaf hash = SHA-256(0x00 || leaf bytes), as lowercase hex.
export async function leafHash(raw: string): Promise<string> {
  return bytesToHex(await sha256(ZERO, leafBytes(raw)));
}

// ---- inclusion proofs (RFC 9162 2.1.3.2) -------------------------------------------------

// The root an inclusion proof leads to. Sizes stay below 2^53, so plain arithmetic
// replaces the bit operations (JavaScript's are 32-bit).
export async function rootFromInclusion(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[]): Promise<Uint8Array> {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size)) || index < 0 || index >= size) {
    throw new VerifyError("proof", `leaf index ${index} is not inside a tree of size ${size}`);
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) throw new VerifyError("proof", "a proof hash is not 32 bytes");
    if (sn === 0) throw new VerifyError("proof", "the proof is longer than the tree is deep");
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
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

/** The answer of GET /api/events/{seq}/proof. */
export interface InclusionProof {
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  hashes: string[];
  root_hash: string;
}

// The root (hex) recomputed from the proof's leaf hash and path; it must then equal a root
// the caller trusts (a verified checkpoint's), never merely the proof's own root_hash.
export async function proofRoot(p: InclusionProof, leafHashHex?: string): Promise<string> {
  const leaf = hexToBytes(leafHashHex ?? p.leaf_hash);
  if (leaf.length !== 32) throw new VerifyError("proof", "the leaf hash is not 32 bytes");
  return bytesToHex(await rootFromInclusion(p.leaf_index, p.tree_size, leaf, p.hashes.map(hexToBytes)));
}

// Whether the proof leads from the leaf hash to the given root.
export async function verifyInclusion(p: InclusionProof, rootHex: string, leafHashHex?: string): Promise<boolean> {
  try {
    return (await proofRoot(p, leafHashHex)) === rootHex.toLowerCase();
  } catch (e) {
    if (e instanceof VerifyError) return false;
    throw e;
  }
}

// ---- consistency proofs (RFC 9162 2.1.4.2) -----------------------------------------------

/** The answer of GET /api/consistency. */
export interface ConsistencyProof {
  first: number;
  second: number;
  hashes: string[];
  first_root?: string;
  second_root?: string;
}

function isPow2(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

// Whether the tree of size1 with root1 is a prefix of the tree of size2 with root2. The
// roots must be ones the caller trusts (two verified checkpoints), not the answer's own.
export async function verifyConsistency(p: ConsistencyProof, root1Hex: string, root2Hex: string): Promise<boolean> {
  const size1 = p.first;
  const size2 = p.second;
  let root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[];
  try {
    root1 = hexToBytes(root1Hex);
    root2 = hexToBytes(root2Hex);
    proof = p.hashes.map(hexToBytes);
  } catch {
    return false;
  }
  // A proof from the empty tree proves nothing; the ledger's trees start at size 1.
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2)) || size1 < 1 || size2 < size1) return false;
  if (proof.some((h) => h.length !== 32)) return false;
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
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await node(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}

// ---- verifier keys and signed notes (c2sp.org/signed-note, tlog-checkpoint) ---------------

export interface VerifierKey {
  name: string;
  keyId: Uint8Array;
  pub: Uint8Array;
  text: string;
}

// "<name>+<hex key id>+<base64(0x01 || public key)>", as `tradetrail key` prints it; the
// key id must be SHA-256(name || 0x0A || 0x01 || public key)[:4].
export async function parseVerifierKey(text: string): Promise<VerifierKey> {
  const t = (text || "").trim();
  // The base64 may itself hold '+': only the first two separate the fields.
  const i = t.indexOf("+");
  const j = i < 0 ? -1 : t.indexOf("+", i + 1);
  if (j < 0) throw new VerifyError("key", "a verifier key looks like name+keyid+base64");
  const name = t.slice(0, i);
  const idHex = t.slice(i + 1, j);
  const b64 = t.slice(j + 1);
  if (!name || /[\s\u0000-\u001f\u007f]/.test(name)) throw new VerifyError("key", "the key name is not valid");
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new VerifyError("key", "the key ID is not 8 hex digits");
  const raw = b64ToBytes(b64);
  if (raw.length !== 33 || raw[0] !== 0x01) throw new VerifyError("key", "not an Ed25519 verifier key (type 0x01, 32 bytes)");
  const pub = raw.slice(1);
  const id = (await sha256(enc.encode(name), Uint8Array.of(0x0a, 0x01), pub)).slice(0, 4);
  if (bytesToHex(id) !== idHex) throw new VerifyError("key", "the key ID does not match the name and public key");
  return { name, keyId: id, pub, text: t };
}

/** A checkpoint whose signature by the pinned key verified. */
export interface VerifiedCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
}

// Check a signed checkpoint note against the pinned verifier key; throws VerifyError
// unless a signature by that key verifies over the note's text.
export async function verifyCheckpointNote(note: string, verifierKey: string | VerifierKey): Promise<VerifiedCheckpoint> {
  const vkey = typeof verifierKey === "string" ? await parseVerifierKey(verifierKey) : verifierKey;
  if (typeof note !== "string" || !note.endsWith("\n")) throw new VerifyError("note", "a signed note ends with a newline");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new VerifyError("note", "no blank line before the signatures");
  const text = note.slice(0, split + 1);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || lines[0] === "") throw new VerifyError("note", "a checkpoint has an origin, a size and a root");
  if (!/^(0|[1-9]\d*)$/.test(lines[1])) throw new VerifyError("note", "the tree size is not a number");
  const treeSize = Number(lines[1]);
  if (!Number.isSafeInteger(treeSize)) throw new VerifyError("note", "the tree size is too large");
  const root = b64ToBytes(lines[2]);
  if (root.length !== 32) throw new VerifyError("note", "the root is not 32 bytes");
  const key = await subtle().importKey("raw", vkey.pub, { name: "Ed25519" }, false, ["verify"]);
  let named = false;
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new VerifyError("note", "a signature line is malformed");
    if (m[1] !== vkey.name) continue;
    const raw = b64ToBytes(m[2]);
    if (raw.length !== 68 || !bytesEqual(raw.slice(0, 4), vkey.keyId)) continue;
    named = true;
    if (await subtle().verify({ name: "Ed25519" }, key, raw.slice(4), enc.encode(text))) {
      return { origin: lines[0], treeSize, rootHash: bytesToHex(root) };
    }
  }
  throw new VerifyError("signature", named ? `the signature by ${vkey.name} does not verify` : `no signature by the pinned key ${vkey.name}`);
}

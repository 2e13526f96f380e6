# SPDX-License-Identifier: Apache-2.0
"""Offline verification for tradetrail clients (standard library only): recompute an
event's leaf hash from its fields (docs/FORMAT.md section 2), a tree root from a leaf hash
and an RFC 9162 inclusion proof, and check a checkpoint's C2SP signed note against a pinned
verifier key. Python has no Ed25519, so the signature itself is checked by the `openssl`
command; everything else is plain hashlib, so a client needs to trust nothing the server
says beyond what these functions recompute."""

import base64
import datetime
import hashlib
import json
import os
import subprocess
import tempfile

__all__ = ["VerificationError", "leaf_bytes", "leaf_hash", "root_from_inclusion_proof",
           "verify_inclusion", "verify_note", "ed25519_verify"]

# RFC 8410: the DER SubjectPublicKeyInfo of an Ed25519 key is this fixed prefix followed by
# the raw 32-byte key, so a PEM can be built without an ASN.1 library.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class VerificationError(Exception):
    """A proof, hash or signature that does not check out (the message says which)."""


def _micros(rfc3339):
    d = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    delta = d - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds


def leaf_bytes(ev):
    """The canonical leaf bytes of a stored event as the API returns it (docs/FORMAT.md 2):
    version 2 when it has a principal, version 1 when its principal is null."""
    def s(v):
        b = v.encode("utf-8")
        return len(b).to_bytes(4, "big") + b

    def opt(v):
        return b"\x00" if v is None else b"\x01" + s(v)

    meta = ev.get("metadata")
    if meta is not None and not isinstance(meta, str):
        # FORMAT.md 3: the stored text is exactly Python's compact json.dumps of the object
        # as parsed with key order kept (json.loads keeps it).
        meta = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
    principal = ev.get("principal")
    out = b"\x02" if principal is not None else b"\x01"
    out += ev["seq"].to_bytes(8, "big") + _micros(ev["ts"]).to_bytes(8, "big", signed=True)
    out += b"".join(s(ev[k]) for k in ("entity", "entity_id", "event_type", "actor"))
    out += opt(ev.get("old_status")) + opt(ev.get("new_status")) + opt(ev.get("reason"))
    out += opt(meta)
    occ = ev.get("occurred_at")
    out += b"\x00" if occ is None else b"\x01" + _micros(occ).to_bytes(8, "big", signed=True)
    out += opt(ev.get("idempotency_key"))
    producer = ev.get("producer")
    if producer is not None:  # version 3 (SPEC 15): principal, producer, producer_seq
        return (b"\x03" + out[1:] + s(principal or "") + s(producer) +
                ev["producer_seq"].to_bytes(8, "big"))
    return out + (s(principal) if principal is not None else b"")


def leaf_hash(ev):
    """SHA-256(0x00 || leaf bytes) as lowercase hex (RFC 9162 2.1.1)."""
    return hashlib.sha256(b"\x00" + leaf_bytes(ev)).hexdigest()


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(leaf_index, tree_size, leaf_hash_hex, hashes_hex):
    """The root hash (hex) that an RFC 9162 2.1.3.2 inclusion proof leads to from a leaf
    hash; raises VerificationError for a proof of the wrong shape. Compare the result with
    a root you trust (a verified checkpoint's), never only with the proof's own root_hash."""
    if not 0 <= leaf_index < tree_size:
        raise VerificationError("leaf index %d outside a tree of %d" % (leaf_index, tree_size))
    fn, sn = leaf_index, tree_size - 1
    r = bytes.fromhex(leaf_hash_hex)
    for h in hashes_hex:
        p = bytes.fromhex(h)
        if sn == 0:
            raise VerificationError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:  # RFC 9162 2.1.3.2 step 3: skip levels where we are a lone right edge
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof too short")
    return r.hex()


def verify_inclusion(leaf_index, tree_size, leaf_hash_hex, hashes_hex, root_hex):
    """Raise VerificationError unless the proof leads from the leaf to root_hex."""
    got = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash_hex, hashes_hex)
    if got != root_hex.lower():
        raise VerificationError("inclusion proof leads to %s, not %s" % (got, root_hex))


def ed25519_verify(pub, msg, sig, openssl="openssl"):
    """True when sig is a valid Ed25519 signature of msg by the raw 32-byte key pub, checked
    by `openssl pkeyutl -rawin` (the standard library has no Ed25519)."""
    pem = ("-----BEGIN PUBLIC KEY-----\n" +
           base64.b64encode(_ED25519_SPKI_PREFIX + pub).decode() +
           "\n-----END PUBLIC KEY-----\n")
    with tempfile.TemporaryDirectory(prefix="tt-verify-") as d:
        paths = {}
        for name, data in (("key.pem", pem.encode()), ("msg", msg), ("sig", sig)):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "wb") as f:
                f.write(data)
        try:
            r = subprocess.run([openssl, "pkeyutl", "-verify", "-pubin", "-inkey",
                                paths["key.pem"], "-rawin", "-in", paths["msg"], "-sigfile",
                                paths["sig"]], capture_output=True, timeout=30)
        except FileNotFoundError:
            raise VerificationError("the openssl command is needed to check Ed25519 signatures")
        return r.returncode == 0


def verify_note(note, vkey):
    """Check a C2SP signed note (a checkpoint) against a pinned verifier key
    `<name>+<hex key id>+<base64(0x01 || public key)>` (SPEC 4). Returns (origin,
    tree_size, root_hash hex) of the checkpoint, or raises VerificationError."""
    try:
        name, key_id_hex, key_b64 = vkey.strip().split("+", 2)
        key = base64.b64decode(key_b64, validate=True)
        key_id = bytes.fromhex(key_id_hex)
    except ValueError:
        raise VerificationError("not a verifier key <name>+<hex key id>+<base64 key>")
    if len(key) != 33 or key[0] != 1 or len(key_id) != 4:
        raise VerificationError("not an Ed25519 verifier key")
    # C2SP signed-note: key id = first 4 bytes of SHA-256(name || "\n" || 0x01 || key).
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] != key_id:
        raise VerificationError("the key id does not match the key")
    sep = note.find("\n\n")
    if sep < 0:
        raise VerificationError("note has no signature block")
    text, sigs = note[:sep + 1], note[sep + 2:]  # the signature covers the text with its LF
    ok = False
    for line in sigs.split("\n"):
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":
            raise VerificationError("malformed signature line")
        if parts[1] != name:
            continue  # another signer (a witness): not ours to check
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise VerificationError("malformed signature")
        if len(raw) == 68 and raw[:4] == key_id and ed25519_verify(key[1:], text.encode(),
                                                                   raw[4:]):
            ok = True
    if not ok:
        raise VerificationError("no valid signature by the verifier key")
    lines = text.split("\n")  # tlog-checkpoint: origin, size, base64 root, extensions
    if len(lines) < 4 or not lines[1].isdigit():
        raise VerificationError("the note is not a checkpoint")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise VerificationError("checkpoint root is not base64")
    if len(root) != 32:
        raise VerificationError("checkpoint root is not a SHA-256 hash")
    return lines[0], int(lines[1]), root.hex()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check a tradetrail export offline, using nothing but docs/FORMAT.md.

A third party's verifier: Python's standard library, and the `openssl` command for
Ed25519 (`openssl pkeyutl -verify -rawin`). It shares no code with tradetrail: it reads the
manifest, checks the checkpoint's signature against the verifier key, recomputes every
event's leaf bytes and hash from its fields (FORMAT.md section 2), checks the files'
SHA-256, the window's boundary events, and the range proof to the signed root (section 8).

usage: verify_export.py DIR --key VKEY     (VKEY: the key, or a file holding it)
Exit 0 when everything holds; 1 with the first failing item named on stderr; 2 usage.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
COLUMNS = ["seq", "ts", "entity", "entity_id", "event_type", "actor", "old_status",
           "new_status", "reason", "metadata", "occurred_at", "idempotency_key", "principal",
           "leaf_hash"]
PRODUCER_COLUMNS = ["producer", "producer_seq"]  # SPEC 15; CSV: after leaf_hash, if at all


class Failed(Exception):
    def __init__(self, item, message):
        super().__init__(f"{item}: {message}")
        self.item = item


# ---- FORMAT.md section 2: leaf bytes (the reference encoder of section 7) ----

TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", re.ASCII)
LOWER_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def micros(rfc3339):
    # FORMAT.md 8.2, 8.3: exactly section 5's form; other spellings of the instant hash alike
    if not isinstance(rfc3339, str) or not TIME.fullmatch(rfc3339):
        raise ValueError(f"not a time of the form 2026-01-18T10:31:00.123456Z: {rfc3339!r}")
    d = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    delta = d - EPOCH
    return (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds


def unhex(text, size=None):
    """Lowercase hex (FORMAT.md: every hash, and the boundary leaf bytes) of size bytes."""
    if not isinstance(text, str) or not LOWER_HEX.fullmatch(text) or (
            size is not None and len(text) != 2 * size):
        raise ValueError(f"not lowercase hex{'' if size is None else f' of {size} bytes'}")
    return bytes.fromhex(text)


def leaf_bytes(ev, meta_text):
    def s(v):
        b = v.encode("utf-8")
        return struct.pack(">I", len(b)) + b

    def opt(v):
        return b"\x00" if v is None else b"\x01" + s(v)

    principal = ev["principal"]
    out = b"\x02" if principal is not None else b"\x01"
    out += struct.pack(">Qq", ev["seq"], micros(ev["ts"]))
    out += b"".join(s(ev[k]) for k in ("entity", "entity_id", "event_type", "actor"))
    out += opt(ev["old_status"]) + opt(ev["new_status"]) + opt(ev["reason"]) + opt(meta_text)
    occ = ev["occurred_at"]
    out += b"\x00" if occ is None else b"\x01" + struct.pack(">q", micros(occ))
    out += opt(ev["idempotency_key"])
    producer = ev.get("producer")
    if producer is not None:  # version 3 (SPEC 15): principal, producer, producer_seq
        return (b"\x03" + out[1:] + s(principal or "") + s(producer) +
                ev["producer_seq"].to_bytes(8, "big"))
    return out + (s(principal) if principal is not None else b"")


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


# ---- C2SP signed-note and tlog-checkpoint, Ed25519 through openssl ----

def ed25519_verify(pub, msg, sig):
    der = bytes.fromhex("302a300506032b6570032100") + pub  # SubjectPublicKeyInfo, RFC 8410
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for name, data in (("key.der", der), ("msg", msg), ("sig", sig)):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "wb") as f:
                f.write(data)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER",
                            "-inkey", paths["key.der"], "-rawin", "-in", paths["msg"],
                            "-sigfile", paths["sig"]], capture_output=True)
        return r.returncode == 0


def verify_note(note, vkey):
    """The checkpoint (origin, size, root) of a note signed by vkey, or Failed."""
    try:
        name, key_id, key = vkey.split("+", 2)
        key = base64.b64decode(key, validate=True)
        key_id = bytes.fromhex(key_id)
    except ValueError:
        raise Failed("key", "not a verifier key <name>+<hex key id>+<base64 key>")
    if len(key) != 33 or key[0] != 1 or len(key_id) != 4:
        raise Failed("key", "not an Ed25519 verifier key")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] != key_id:
        raise Failed("key", "the key id does not match the key")
    sep = note.find("\n\n")
    if sep < 0:
        raise Failed("checkpoint.note", "no signature block")
    text, sigs = note[:sep + 1], note[sep + 2:]
    ok = False
    for line in sigs.split("\n"):
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":
            raise Failed("checkpoint.note", "malformed signature line")
        if parts[1] != name:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise Failed("checkpoint.note", "malformed signature")
        if len(raw) == 68 and raw[:4] == key_id and ed25519_verify(key[1:], text.encode(),
                                                                   raw[4:]):
            ok = True
    if not ok:
        raise Failed("checkpoint.note", "no valid signature by the verifier key")
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise Failed("checkpoint.note", "not a checkpoint")
    return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)


# ---- FORMAT.md 8.1 and 8.2: reading records ----

def no_dups(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def parse_jsonl(line):
    ev = json.loads(line, object_pairs_hook=no_dups)
    # SPEC 15: an event with a producer has producer and producer_seq before leaf_hash.
    with_producer = COLUMNS[:-1] + ["producer", "producer_seq", COLUMNS[-1]]
    if not isinstance(ev, dict) or list(ev) not in (COLUMNS, with_producer):
        raise ValueError("not an exported event (members and their order)")
    meta = ev["metadata"]
    meta_text = None
    if meta is not None:
        if not isinstance(meta, dict):
            raise ValueError("metadata: must be an object or null")
        meta_text = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
    return ev, meta_text


def csv_records(data):
    """RFC 4180 records of (text, quoted) fields; every record ends in CRLF."""
    i, n = 0, len(data)
    while i < n:
        fields = []
        while True:
            if i < n and data[i] == '"':
                j, buf = i + 1, []
                while True:
                    k = data.find('"', j)
                    if k < 0:
                        raise ValueError("unterminated quoted field")
                    buf.append(data[j:k])
                    if data.startswith('""', k):
                        buf.append('"')
                        j = k + 2
                        continue
                    i = k + 1
                    break
                fields.append(("".join(buf), True))
            else:
                j = i
                while i < n and data[i] not in ',\r"\n':
                    i += 1
                if i < n and data[i] in '"\n':
                    raise ValueError("a quote or LF in an unquoted field")
                fields.append((data[j:i], False))
            if i < n and data[i] == ",":
                i += 1
                continue
            if data.startswith("\r\n", i):
                i += 2
                yield fields
                break
            raise ValueError("a record must end in CRLF")


def csv_header(fields):
    """FORMAT.md 8.2: the column names of the header row, in their order. Exports written
    before producer and producer_seq existed have only the first 14: go by the names."""
    names = [text for text, quoted in fields]
    known = COLUMNS + PRODUCER_COLUMNS
    if (any(quoted for _, quoted in fields) or len(set(names)) != len(names) or
            not set(COLUMNS) <= set(names) <= set(known) or
            len(set(names) & set(PRODUCER_COLUMNS)) == 1):
        raise ValueError(f"not the header row (columns {names!r})")
    return names


def bare_int(text, quoted):
    return not quoted and text.isdigit() and text.isascii() and not text.startswith("0")


def parse_csv(names, fields):
    if len(fields) != len(names):
        raise ValueError(f"expected {len(names)} fields as in the header row, got {len(fields)}")
    cell = dict(zip(names, fields))
    seq, quoted = cell["seq"]
    if not bare_int(seq, quoted):
        raise ValueError("seq: must be a bare positive integer")
    ev = {"seq": int(seq)}
    for name in COLUMNS[1:] + ["producer"]:
        text, quoted = cell.get(name, ("", False))
        if not quoted and text:
            raise ValueError(f"{name}: a value must be quoted")
        ev[name] = text if quoted else None
    # an empty producer cell: no producer (leaf version 1 or 2); else version 3 with its seq
    pseq, quoted = cell.get("producer_seq", ("", False))
    if ev["producer"] is not None:
        if ev["producer"] == "" or not bare_int(pseq, quoted):
            raise ValueError("producer, producer_seq: a name and a bare positive integer")
        ev["producer_seq"] = int(pseq)
    elif pseq or quoted:
        raise ValueError("producer_seq: must be empty when producer is")
    return ev, ev["metadata"]  # the stored metadata text, verbatim


class HashingReader:
    """A data file read line by line (LF-terminated, binary), hashed as it is read, so
    memory stays bounded by one record whatever the file's size."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.sha = hashlib.sha256()
        self.size = 0

    def line(self):
        b = self.f.readline()
        self.sha.update(b)
        self.size += len(b)
        return b

    def close(self):
        self.f.close()


def decode(name, no, b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise Failed(f"{name} line {no}", "not UTF-8")


def records(rd, name, fmt):
    """(line number, event, metadata text) of each record; raises Failed on bad syntax."""
    no = 0
    if fmt == "jsonl":
        while True:
            b = rd.line()
            if not b:
                return
            no += 1
            if not b.endswith(b"\n"):
                raise Failed(f"{name} line {no}", "the last line does not end in LF")
            try:
                yield no, *parse_jsonl(decode(name, no, b[:-1]))
            except ValueError as e:
                raise Failed(f"{name} line {no}", str(e))
    names = None
    while True:
        # An RFC 4180 record ends at a CRLF outside quotes: gather lines until the
        # record's quotes balance, then split it.
        b = rd.line()
        if not b:
            if names is None:
                raise Failed(name, "empty, without the header row of FORMAT.md 8.2")
            return
        start = no + 1
        no += 1
        while b.count(b'"') % 2:
            more = rd.line()
            if not more:
                break
            b += more
            no += 1
            if len(b) > (1 << 20):
                raise Failed(f"{name} line {start}", "record longer than 1 MiB")
        try:
            recs = list(csv_records(decode(name, start, b)))
            if len(recs) != 1:
                raise ValueError("not one record")
            fields = recs[0]
            if start == 1:
                names = csv_header(fields)
                continue
            yield start, *parse_csv(names, fields)
        except ValueError as e:
            raise Failed(f"{name} line {start}", str(e))


# ---- FORMAT.md 8.4 and 8.5: the checks ----

def verify(directory, vkey):
    try:
        with open(os.path.join(directory, "manifest.json"), "rb") as f:
            m = json.loads(f.read().decode("utf-8"), object_pairs_hook=no_dups)
    except (OSError, ValueError) as e:
        raise Failed("manifest.json", str(e))
    try:
        if m["format"] != "tradetrail-export" or m["version"] != 1:
            raise Failed("manifest.json", "not a version 1 tradetrail export")
        fmt = m["data_format"]
        first, last, count, snap = m["first_seq"], m["last_seq"], m["count"], m["tree_size"]
        since = None if m["since"] is None else micros(m["since"])
        until = None if m["until"] is None else micros(m["until"])
        cp, proof, bnd, files = m["checkpoint"], m["proof"], m["boundary"], m["files"]
        if fmt not in ("jsonl", "csv") or count != last - first + 1 or last > snap:
            raise Failed("manifest.json", "inconsistent range")
        origin, size, root = verify_note(cp["note"], vkey)
        if (origin != m["origin"] or size != cp["tree_size"] or
                root != unhex(cp["root_hash"], 32)):
            raise Failed("checkpoint", "the manifest's origin, tree size or root differ from "
                         "the signed note's")
        # The snapshot is the signed tree: tree_size alone is not signed, and a smaller one
        # would let a truncated export end without boundary.after (FORMAT.md 8.3).
        if snap != size:
            raise Failed("checkpoint", f"tree_size {snap} differs from the signed tree size "
                         f"{size}")
        before = None if bnd["before"] is None else unhex(bnd["before"])
        after = None if bnd["after"] is None else unhex(bnd["after"])
        hashes = [unhex(h, 32) for h in proof["hashes"]]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise Failed("manifest.json", f"malformed: {e!r}")

    def peek(leaf):  # seq, ts
        if len(leaf) < 17 or leaf[0] not in (1, 2, 3):
            return None, None
        return struct.unpack(">Qq", leaf[1:17])

    if (first > 1) != (before is not None) or (last < snap) != (after is not None):
        raise Failed("boundary", "a boundary event is required exactly when the range does "
                     "not reach the ledger's start or the snapshot's end")
    prev_ts = None
    if before is not None:
        seq, ts = peek(before)
        if seq != first - 1 or since is None or ts >= since:
            raise Failed("boundary.before", f"not an event before the window (seq {first - 1})")
        prev_ts = ts
    if after is not None:
        seq, ts = peek(after)
        if seq != last + 1 or until is None or ts < until:
            raise Failed("boundary.after", f"not an event after the window (seq {last + 1})")
    lo = first - 1 - (1 if before is not None else 0)
    hi = last + (1 if after is not None else 0)
    if proof["first"] != lo or proof["end"] != hi:
        raise Failed("proof", "first and end do not match the range and its boundaries")

    # every event of every file, in seq order, as leaf hashes
    def leaves():
        nonlocal prev_ts
        if before is not None:
            yield leaf_hash(before)
        expect = first
        for f in files:
            name = f["name"]
            if "/" in name or name.startswith(".") or name == "manifest.json":
                raise Failed("manifest.json", f"unsafe file name {name!r}")
            path = os.path.join(directory, name)
            try:
                rd = HashingReader(path)
            except OSError as e:
                raise Failed(name, f"cannot open: {e.strerror}")
            n = 0
            for no, ev, meta_text in records(rd, name, fmt):
                item = f"{name} line {no}"
                if n == f["count"]:
                    raise Failed(name, f"more than the {f['count']} events the manifest lists")
                if ev["seq"] != expect:
                    raise Failed(item, f"seq {ev['seq']} where {expect} was expected")
                try:
                    h = leaf_hash(leaf_bytes(ev, meta_text))
                except (ValueError, TypeError, KeyError, AttributeError) as e:
                    raise Failed(item, f"cannot encode: {e}")
                if h.hex() != ev["leaf_hash"]:
                    raise Failed(item, f"seq {expect}: the leaf hash does not match the "
                                 "event's fields")
                ts = micros(ev["ts"])
                if prev_ts is not None and ts < prev_ts:
                    raise Failed(item, f"seq {expect}: ts decreases")
                if (since is not None and ts < since) or (until is not None and ts >= until):
                    raise Failed(item, f"seq {expect}: ts outside the export's window")
                prev_ts = ts
                n += 1
                expect += 1
                yield h
            if n != f["count"] or f["first_seq"] != expect - n:
                raise Failed(name, f"holds {n} events, the manifest says {f['count']}")
            while rd.line():  # bytes after the last record still count
                pass
            rd.close()
            if rd.size != f["bytes"] or rd.sha.hexdigest() != f["sha256"]:
                raise Failed(name, "SHA-256 or size does not match the manifest")
        if expect != last + 1:
            raise Failed("files", f"seq {expect} is missing")
        if after is not None:
            yield leaf_hash(after)

    src = leaves()
    proof_iter = iter(hashes)

    def calc(l, r):  # MTH(D[l:r]), RFC 9162 2.1.1, with the proof's subtrees
        if r <= lo or l >= hi:
            h = next(proof_iter, None)
            if h is None:
                raise Failed("proof", "too few hashes")
            return h
        if r - l == 1:
            h = next(src, None)
            if h is None:
                raise Failed("files", f"seq {l + 1} is missing")
            return h
        k = 1
        while k * 2 < r - l:
            k *= 2
        return node_hash(calc(l, l + k), calc(l + k, r))

    got = calc(0, size) if size > 0 else hashlib.sha256(b"").digest()
    if next(src, None) is not None:
        raise Failed("files", "events beyond the proof's range")
    if next(proof_iter, None) is not None:
        raise Failed("proof", "unused hashes")
    if got != root:
        raise Failed("proof", "the events do not hash to the signed checkpoint's root")
    return count, first, last, size


def window(m):
    """The verified window for the success message: since <= ts < until, open sides named."""
    return "ts from %s until %s" % (m["since"] or "the start", m["until"] or "the end")


def main(argv):
    ap = argparse.ArgumentParser(prog="verify_export.py",
                                 description="Check a tradetrail export offline.")
    ap.add_argument("dir", help="the export directory (holding manifest.json)")
    ap.add_argument("--key", required=True,
                    help="the verifier key (`tradetrail key`), or a file holding it")
    args = ap.parse_args(argv[1:])
    vkey = args.key
    if "+" not in vkey and os.path.isfile(vkey):
        with open(vkey) as f:
            vkey = f.readline().strip()
    try:
        count, first, last, size = verify(args.dir, vkey)
    except Failed as e:
        print(f"verify_export: FAILED: {e}", file=sys.stderr)
        return 1
    # The origin names the ledger (SPEC 15: "<origin>/NAME" for a named one); verify()
    # checked it equals the signed note's.
    with open(os.path.join(args.dir, "manifest.json"), encoding="utf-8") as f:
        m = json.load(f)
    print(f"export verified: {count} events (seq {first} to {last}) with {window(m)}, proved "
          f"against the checkpoint of tree size {size} of {m['origin']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

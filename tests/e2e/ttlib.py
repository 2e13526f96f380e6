# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the end-to-end tests: run the tradetrail program on a temporary data
directory, parse its output, and check its hashes and proofs independently (RFC 9162 in
Python, standard library only)."""

import base64
import datetime
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get(
    "TT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("TT_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
BIN = os.environ.get("TT_BIN", os.path.join(BUILD_DIR, "tradetrail"))

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
EVENT_FIELDS = ["seq", "ts", "entity", "entity_id", "event_type", "actor", "old_status",
                "new_status", "reason", "metadata", "occurred_at", "idempotency_key",
                "principal", "leaf_hash"]
TRIGGERS = ["events_no_update", "events_no_delete", "checkpoints_no_update",
            "checkpoints_no_delete"]
TILE_WIDTH = 256
TILE_HEIGHT = 8
LEAF_VERSION = 2     # SPEC 3.1 / 4: the leaf records the principal
LEAF_VERSION_1 = 1   # events appended before principals were recorded (principal None)
LEAF_VERSION_3 = 3   # SPEC 15: an event with a producer and producer_seq


def base_env(extra=None):
    """The inherited environment without any TRADETRAIL_* setting, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADETRAIL_")}
    # Sanitizer builds: leak reports would turn a passing command into a failing one only
    # if they are enabled; keep whatever the caller configured.
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


def run(args, data=None, input=None, env=None, timeout=60, binary=None):
    """Run tradetrail [--data DATA] ARGS; returns CompletedProcess with text output."""
    cmd = [binary or BIN]
    if data is not None:
        cmd += ["--data", data]
    cmd += list(args)
    if isinstance(input, bytes):  # raw bytes in (e.g. invalid UTF-8), text out
        p = subprocess.run(cmd, input=input, capture_output=True, env=base_env(env),
                           timeout=timeout)
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
        return p
    return subprocess.run(cmd, input=input, capture_output=True, text=True,
                          env=base_env(env), timeout=timeout)


def run_json(args, data=None, **kw):
    """Run with -o json and parse stdout as one JSON value."""
    p = run(list(args) + ["-o", "json"], data=data, **kw)
    if p.returncode != 0:
        raise AssertionError("tradetrail %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                 p.stderr.strip()))
    return json.loads(p.stdout)


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def init(data):
    p = run(["init"], data=data)
    if p.returncode != 0:
        raise AssertionError("init failed: %s" % p.stderr)
    return p


def ndjson(events):
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)


def append_events(data, events, batch=None):
    args = ["append", "-o", "json"]
    if batch:
        args += ["--batch", str(batch)]
    p = run(args, data=data, input=ndjson(events), timeout=120)
    if p.returncode != 0:
        raise AssertionError("append failed (%d): %s" % (p.returncode, p.stderr))
    return json_lines(p.stdout)


def show_all(data, *filters):
    p = run(["show", "-o", "json"] + list(filters), data=data, timeout=120)
    if p.returncode != 0:
        raise AssertionError("show failed (%d): %s" % (p.returncode, p.stderr))
    return json_lines(p.stdout)


class TempDir:
    """A temporary directory removed on exit (also after a failure)."""

    def __init__(self, prefix="tt-e2e-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


class TTCase(unittest.TestCase):
    """A test case with a fresh temporary directory self.tmp."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tt-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def new_ledger(self, name="data"):
        d = os.path.join(self.tmp, name)
        init(d)
        return d

    def assertExit(self, p, code, msg=None):
        self.assertEqual(p.returncode, code,
                         "%sexit %d, expected %d\nstdout: %s\nstderr: %s" %
                         (msg + ": " if msg else "", p.returncode, code, p.stdout[-2000:],
                          p.stderr[-2000:]))


# ---- time ---------------------------------------------------------------------------------

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def ts_to_us(ts):
    """'2026-01-18T10:31:00.123456Z' -> microseconds since the epoch."""
    assert TS_RE.match(ts), ts
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    delta = d - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def us_to_ts(us):
    d = EPOCH + datetime.timedelta(microseconds=us)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- hashes, leaves, trees (RFC 9162 section 2.1) -------------------------------------------

def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def _str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return len(b).to_bytes(4, "big") + b


def leaf_bytes(ev):
    """The canonical leaf bytes (docs/FORMAT.md section 2, SPEC 3-4, 15) of an event given as
    a dict with ts and occurred_at in microseconds (ts_us, occurred_at_us) and metadata as
    stored text. An event with a producer is a version 3 leaf (producer and producer_seq
    after the principal, which is then always written, empty when None); otherwise one with
    a principal is a version 2 leaf, and one without keeps its version 1 bytes."""
    principal = ev.get("principal")
    producer = ev.get("producer")
    if producer is not None:
        version = LEAF_VERSION_3
    else:
        version = LEAF_VERSION if principal is not None else LEAF_VERSION_1
    out = bytearray([version])
    out += (ev["seq"] & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    out += (ev["ts_us"] & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    for f in ("entity", "entity_id", "event_type", "actor"):
        out += _str(ev[f])
    for f in ("old_status", "new_status", "reason", "metadata"):
        v = ev.get(f)
        out.append(v is not None)
        if v is not None:
            out += _str(v)
    occ = ev.get("occurred_at_us")
    out.append(occ is not None)
    if occ is not None:
        out += (occ & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    idem = ev.get("idempotency_key")
    out.append(idem is not None)
    if idem is not None:
        out += _str(idem)
    if version == LEAF_VERSION_3:
        out += _str(principal or "")  # length 0 for a missing principal
        out += _str(producer)
        out += ev["producer_seq"].to_bytes(8, "big")
    elif principal is not None:
        out += _str(principal)  # version 2: always present, no presence byte
    return bytes(out)


def vector_event(ev):
    """A leaf vector's event (tests/vectors/leaf/*.json: RFC 3339 times, metadata as JSON)
    as the dict leaf_bytes() takes; metadata written as FORMAT.md section 3 says."""
    out = dict(ev)
    out["ts_us"] = ts_to_us(ev["ts"])
    out["occurred_at_us"] = None if ev["occurred_at"] is None else ts_to_us(ev["occurred_at"])
    if ev["metadata"] is not None:
        out["metadata"] = json.dumps(ev["metadata"], ensure_ascii=False, separators=(",", ":"))
    return out


def mth(leaves):
    """MTH of RFC 9162 2.1.1 over a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def compact_range(leaves):
    """Roots of the perfect subtrees of the tree over leaves, largest (left) first."""
    out, start, n = [], 0, len(leaves)
    for bit in reversed(range(64)):
        size = 1 << bit
        if n & size:
            out.append(mth(leaves[start:start + size]))
            start += size
    return out


def tiles(leaves):
    """{(level, index): bytes} of the stored tiles for a tree over leaves: level L holds the
    hashes of the complete nodes of height 8L, 256 per tile."""
    out = {}
    level, nodes = 0, list(leaves)
    while nodes:
        for t in range(0, len(nodes), TILE_WIDTH):
            out[(level, t // TILE_WIDTH)] = b"".join(nodes[t:t + TILE_WIDTH])
        # Complete nodes of height 8(L+1): hash each full group of 256.
        nxt = []
        for t in range(0, len(nodes) - TILE_WIDTH + 1, TILE_WIDTH):
            nxt.append(mth(nodes[t:t + TILE_WIDTH]))
        nodes = nxt
        level += 1
    return out


def tile_id(level, index):
    return (level << 56) | index


def verify_inclusion(leaf_index, tree_size, leaf, proof, root):
    """RFC 9162 2.1.3.2."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 2.1.4.2."""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# ---- checkpoints (C2SP tlog-checkpoint + signed-note) ----------------------------------------

def parse_note(note):
    """Split a signed checkpoint note into (origin, size, root bytes, [(name, keyid, sig)])."""
    body, sep, sigs = note.partition("\n\n")
    if not sep:
        raise ValueError("no blank line in note")
    lines = body.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    out = []
    for line in sigs.split("\n"):
        if not line:
            continue
        if not line.startswith("\u2014 "):
            raise ValueError("bad signature line %r" % line)
        name, b64 = line[2:].rsplit(" ", 1)
        raw = base64.b64decode(b64, validate=True)
        out.append((name, raw[:4], raw[4:]))
    return origin, size, root, out


def parse_verifier_key(vkey):
    """'<name>+<hex key id>+<base64(0x01 || pub)>' -> (name, keyid bytes, alg+pub bytes)."""
    name, keyid_hex, b64 = vkey.split("+", 2)  # a key name has no '+'; base64 may
    return name, bytes.fromhex(keyid_hex), base64.b64decode(b64, validate=True)


def note_key_id(name, alg_pub):
    """signed-note key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || pub)."""
    return sha256(name.encode() + b"\n" + alg_pub)[:4]


# ---- direct store access (what an attacker with the file can do) -----------------------------

def db_path(data):
    return os.path.join(data, "ledger.db")


def open_db(data, drop_triggers=True):
    con = sqlite3.connect(db_path(data), isolation_level=None, timeout=30)
    if drop_triggers:
        for t in TRIGGERS:
            con.execute("DROP TRIGGER IF EXISTS %s" % t)
    return con


def stored_events(con):
    """Every stored event as the dict leaf_bytes() takes, keyed by seq (producer and
    producer_seq None in a store older than those columns)."""
    cols = [r[1] for r in con.execute("PRAGMA table_info(events)")]
    producer = (", e.producer, e.producer_seq" if "producer" in cols
                else ", NULL, NULL")
    rows = con.execute(
        "SELECT e.seq, e.ts, n1.value, s.entity_id, n2.value, n3.value, n4.value, n5.value,"
        " e.reason, e.metadata, e.occurred_at, e.idem, e.leaf_hash, e.principal" + producer +
        " FROM events e"
        " JOIN names n1 ON n1.id = e.entity JOIN subjects s ON s.id = e.subject"
        " JOIN names n2 ON n2.id = e.event_type JOIN names n3 ON n3.id = e.actor"
        " LEFT JOIN names n4 ON n4.id = e.old_status LEFT JOIN names n5 ON n5.id = e.new_status"
        " ORDER BY e.seq").fetchall()
    keys = ["seq", "ts_us", "entity", "entity_id", "event_type", "actor", "old_status",
            "new_status", "reason", "metadata", "occurred_at_us", "idempotency_key",
            "leaf_hash", "principal", "producer", "producer_seq"]
    return {r[0]: dict(zip(keys, r)) for r in rows}


def checkpoint_wal(data):
    """Fold the WAL into the main file so that a plain file copy is complete."""
    con = sqlite3.connect(db_path(data), isolation_level=None, timeout=30)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()

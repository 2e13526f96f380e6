#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The tamper suite (STYLE.md): change one stored byte or row at a time, as an attacker
holding the database file would (dropping the append-only triggers first), and expect
`tradetrail verify` to exit 1 naming the first bad seq or the bad checkpoint (SPEC 4).

The pristine ledger has 600 events (many with every optional field), tiles at levels 0
and 1, and checkpoints at sizes 100, 256, 300, 450 and 600. Every mutation runs on a fresh
copy of it. TT_TAMPER_SEED picks the random mutations (printed at the end)."""

import base64
import collections
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttlib  # noqa: E402
from ttlib import run  # noqa: E402

SEED = int(os.environ.get("TT_TAMPER_SEED", "20260118"))
N_RANDOM = int(os.environ.get("TT_TAMPER_RANDOM", "130"))
CHECKPOINTS = [100, 256, 300, 450, 600]
KIND = {"entity": 1, "event_type": 2, "actor": 3, "old_status": 4, "new_status": 4}

STATS = {"total": 0, "detected": 0, "attributed": 0, "misses": []}


def make_events(rng, n, start):
    entities = ["strategy", "order", "ai_feedback", "maintenance", "system"]
    types = ["CREATED", "ACTIVATED", "FILLED", "RECORD", "ACTION", "FAILED", "SWAPPED"]
    actors = ["system", "evaluator", "bot-7", "alice", "auto-repair", "orchestrator"]
    statuses = ["DRAFT", "PENDING", "ACTIVE", "FAILED", "CLOSED", "ARCHIVED"]
    out = []
    for i in range(start, start + n):
        e = {"entity": rng.choice(entities), "entity_id": "id-%d" % rng.randrange(40),
             "event_type": rng.choice(types), "actor": rng.choice(actors)}
        full = i % 3 == 0
        if full or rng.random() < 0.3:
            e["old_status"] = rng.choice(statuses)
        if full or rng.random() < 0.3:
            e["new_status"] = rng.choice(statuses)
        if full or rng.random() < 0.6:
            e["reason"] = rng.choice(["rebalanced after drawdown of %d bp" % i,
                                      "Strategy activated by orchestrator, run %d" % i,
                                      "réglage automatique n°%d — ok" % i,
                                      "multi\nline reason %d with \"quotes\"" % i])
        if full or rng.random() < 0.4:
            e["metadata"] = {"i": i, "pnl": round(rng.uniform(-1e4, 1e4), 2),
                             "tags": ["a", "ü", str(i)], "nested": {"ok": i % 2 == 0}}
        if full or rng.random() < 0.3:
            e["occurred_at"] = "2026-01-%02dT%02d:%02d:%02d.%06d+01:00" % (
                rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60),
                rng.randrange(1000000))
        if full or rng.random() < 0.3:
            e["idempotency_key"] = "idem-%05d" % i
        out.append(e)
    return out


class Pristine:
    """The ledger every mutation starts from, and what it holds."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tt-tamper-")
        self.data = os.path.join(self.dir, "pristine")
        self.work = os.path.join(self.dir, "work")
        ttlib.init(self.data)
        rng = random.Random(SEED)
        self.notes = {}
        n = 0
        for size in CHECKPOINTS:
            k = size - n
            events = make_events(rng, k - 2 if size == 600 else k, n + 1)
            ttlib.append_events(self.data, events, batch=64)
            if size == 600:
                for msg in ["restarted router", "rotated keys"]:
                    p = run(["log", msg, "--source", "auto-repair"], data=self.data)
                    assert p.returncode == 0, p.stderr
            p = run(["checkpoint", "-o", "json"], data=self.data)
            assert p.returncode == 0, p.stderr
            cp = json.loads(p.stdout)
            assert cp["tree_size"] == size, cp
            self.notes[size] = cp["note"]
            n = size
        ttlib.checkpoint_wal(self.data)
        con = ttlib.open_db(self.data, drop_triggers=False)
        self.events = ttlib.stored_events(con)
        self.raw = {r[0]: r for r in con.execute(
            "SELECT seq, ts, entity, subject, event_type, actor, old_status, new_status, reason,"
            " metadata, occurred_at, idem, leaf_hash FROM events ORDER BY seq")}
        self.names = {r[0]: (r[1], r[2]) for r in con.execute("SELECT id, kind, value FROM names")}
        self.subjects = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT id, entity, entity_id FROM subjects")}
        self.tiles = {r[0]: r[1] for r in con.execute("SELECT id, hashes FROM tiles")}
        self.cps = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT tree_size, root, note FROM checkpoints")}
        self.head = con.execute("SELECT size, last_ts, crange FROM head").fetchone()
        con.close()
        self.size = self.head[0]
        self.leaves = [self.events[s]["leaf_hash"] for s in range(1, self.size + 1)]
        assert self.size == 600 and len(self.events) == 600
        assert sorted(self.cps) == CHECKPOINTS
        # The suite's own model of the store must match what the program wrote.
        assert all(ttlib.leaf_hash(ttlib.leaf_bytes(e)) == e["leaf_hash"]
                   for e in self.events.values())
        assert {ttlib.tile_id(*k): v for k, v in ttlib.tiles(self.leaves).items()} == self.tiles
        assert b"".join(ttlib.compact_range(self.leaves)) == self.head[2]
        self.full = [s for s in range(1, 601) if all(
            self.raw[s][c] is not None for c in range(6, 12))]
        assert len(self.full) >= 150

    def first_using_name(self, nid):
        cols = [2, 4, 5, 6, 7]  # entity, event_type, actor, old_status, new_status
        return min((s for s, r in self.raw.items() if any(r[c] == nid for c in cols)),
                   default=None)

    def first_using_subject(self, sid):
        return min((s for s, r in self.raw.items() if r[3] == sid), default=None)

    def fresh(self):
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.copytree(self.data, self.work)
        return self.work

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


P = None


def setUpModule():
    global P
    P = Pristine()


def tearDownModule():
    if P is not None:
        P.cleanup()
    print("\ntamper suite (seed %d): %d/%d mutations detected, %d/%d attributed to the "
          "right seq or checkpoint" % (SEED, STATS["detected"], STATS["total"],
                                       STATS["attributed"], STATS["total"]), file=sys.stderr)
    for m in STATS["misses"]:
        print("  MISSED OR MISATTRIBUTED: %s" % m, file=sys.stderr)


# ---- mutation helpers -----------------------------------------------------------------------

def replace_byte(rng, b):
    """b with one byte replaced by a different value, and the position."""
    i = rng.randrange(len(b))
    new = rng.choice([v for v in range(256) if v != b[i]])
    return b[:i] + bytes([new]) + b[i + 1:], i


def as_bytes(v):
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def set_text(con, table, col, key_col, key, value_bytes):
    # Keep the column's storage class TEXT: a byte-level edit of the stored string.
    con.execute("UPDATE %s SET %s = CAST(? AS TEXT) WHERE %s = ?" % (table, col, key_col),
                (value_bytes, key))


def flip_int_bit(rng, v):
    bit = rng.randrange(63)
    return v ^ (1 << bit)


def rewrite_tree(con, leaves, last_ts):
    """What a careful attacker does after changing history: recompute the tiles and the head
    for the given leaves so that they agree with the events table."""
    con.execute("DELETE FROM tiles")
    for (level, index), blob in ttlib.tiles(leaves).items():
        con.execute("INSERT INTO tiles(id, hashes) VALUES (?, ?)",
                    (ttlib.tile_id(level, index), blob))
    con.execute("UPDATE head SET size = ?, last_ts = ?, crange = ? WHERE id = 1",
                (len(leaves), last_ts, b"".join(ttlib.compact_range(leaves))))


def forge_head_checkpoints(con):
    """The rest of a careful attacker's work after removing checkpoints: make the head's
    record of signed checkpoints (schema 8) agree with the rows left."""
    con.execute("UPDATE head SET signed_size = COALESCE((SELECT max(tree_size) "
                "FROM checkpoints), 0), checkpoints = (SELECT count(*) FROM checkpoints)")


def reindex(con, seq, text):
    """Replace event seq's full-text document with text, as FTS5 lets one who knows the
    old text (the stored reason) do: same rowid, same document count."""
    old = P.raw[seq][8]
    if old:
        con.execute("INSERT INTO events_fts(events_fts, rowid, reason) VALUES('delete', ?, ?)",
                    (seq, old))
    if text:
        con.execute("INSERT INTO events_fts(rowid, reason) VALUES (?, ?)", (seq, text))


class TamperCase(unittest.TestCase):
    def verify(self, mutate, args=()):
        data = P.fresh()
        con = ttlib.open_db(data)
        try:
            con.execute("BEGIN")
            mutate(con)
            con.execute("COMMIT")
        finally:
            con.close()
        p = run(["verify", "-o", "json"] + list(args), data=data, timeout=60)
        try:
            rep = json.loads(p.stdout) if p.stdout.strip() else None
        except ValueError:
            rep = None
        return p, rep

    def expect(self, desc, mutate, seq=None, cp=None, args=(), any_report=False):
        """Apply mutate to a fresh copy; verify must exit 1 and name seq (or checkpoint cp)."""
        with self.subTest(desc):
            p, rep = self.verify(mutate, args)
            STATS["total"] += 1
            detected = p.returncode == 1 and rep is not None and rep.get("ok") is False
            got = (rep.get("first_bad_seq"), rep.get("bad_checkpoint_size")) if rep else None
            if any_report:
                right = detected and got != (None, None)
            else:
                right = detected and got == (seq, cp)
            STATS["detected"] += detected
            STATS["attributed"] += right
            if not right:
                STATS["misses"].append(
                    "%s: expected exit 1 with first_bad_seq=%s bad_checkpoint_size=%s; got exit "
                    "%d, report %s, stderr %r" % (desc, seq, cp, p.returncode,
                                                   rep, p.stderr.strip()[-300:]))
            self.assertEqual(p.returncode, 1, "%s: not detected: %s %s" %
                             (desc, p.stdout, p.stderr))
            self.assertIsNotNone(rep, "%s: no JSON report: %r" % (desc, p.stdout))
            self.assertFalse(rep["ok"])
            self.assertTrue(rep["message"])
            if any_report:
                self.assertNotEqual(got, (None, None), desc)
            else:
                self.assertEqual(got, (seq, cp), "%s: %s" % (desc, rep["message"]))


class Basics(TamperCase):
    def test_pristine_verifies(self):
        p = run(["verify", "-o", "json"], data=P.data)
        self.assertEqual(p.returncode, 0, p.stderr)
        rep = json.loads(p.stdout)
        self.assertTrue(rep["ok"])
        self.assertEqual(rep["events_checked"], 600)
        self.assertEqual(rep["checkpoints_checked"], len(CHECKPOINTS))
        # The triggers refuse a plain UPDATE or DELETE.
        con = ttlib.open_db(P.fresh(), drop_triggers=False)
        for sql in ["UPDATE events SET reason = 'x' WHERE seq = 5",
                    "DELETE FROM events WHERE seq = 600",
                    "UPDATE checkpoints SET note = 'x' WHERE tree_size = 100",
                    "DELETE FROM checkpoints"]:
            with self.assertRaises(sqlite3.DatabaseError, msg=sql):
                con.execute(sql)
        con.close()

    def test_short_report(self):
        data = P.fresh()
        con = ttlib.open_db(data)
        con.execute("UPDATE events SET reason = 'edited' WHERE seq = 123")
        con.close()
        p = run(["verify"], data=data)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("tradetrail verify: FAILED: seq 123"), p.stderr)


class EventColumns(TamperCase):
    def test_each_stored_column(self):
        rng = random.Random(SEED + 1)
        for col, idx in [("reason", 8), ("metadata", 9), ("idem", 11)]:
            for seq in [P.full[0], rng.choice(P.full), P.full[-1]]:
                new, i = replace_byte(rng, as_bytes(P.raw[seq][idx]))
                self.expect("events.%s of seq %d, byte %d" % (col, seq, i),
                            lambda c, col=col, seq=seq, new=new:
                            set_text(c, "events", col, "seq", seq, new), seq=seq)
        for col, idx in [("ts", 1), ("occurred_at", 10)]:
            seqs = [1, rng.choice(P.full), 600] if col == "ts" else \
                [P.full[0], rng.choice(P.full), P.full[-1]]
            for seq in seqs:
                for delta in ["+1", "-1", "bit"]:
                    v = P.raw[seq][idx]
                    new = v + 1 if delta == "+1" else v - 1 if delta == "-1" else \
                        flip_int_bit(rng, v)
                    self.expect("events.%s of seq %d %s" % (col, seq, delta),
                                lambda c, col=col, seq=seq, new=new: c.execute(
                                    "UPDATE events SET %s = ? WHERE seq = ?" % col, (new, seq)),
                                seq=seq)
        for seq in [1, rng.randrange(2, 600), 600]:
            new, i = replace_byte(rng, P.raw[seq][12])
            self.expect("events.leaf_hash of seq %d, byte %d" % (seq, i),
                        lambda c, seq=seq, new=new: c.execute(
                            "UPDATE events SET leaf_hash = ? WHERE seq = ?", (new, seq)),
                        seq=seq)
        # NULL <-> value for every optional column.
        null_seq = next(s for s in range(1, 601) if P.raw[s][8] is None and
                        P.raw[s][9] is None and P.raw[s][10] is None and P.raw[s][11] is None)
        seq = P.full[5]
        for col in ["reason", "metadata", "occurred_at", "idem", "old_status", "new_status"]:
            self.expect("events.%s of seq %d set to NULL" % (col, seq),
                        lambda c, col=col: c.execute(
                            "UPDATE events SET %s = NULL WHERE seq = ?" % col, (seq,)), seq=seq)
        for col, val in [("reason", ""), ("metadata", "{}"), ("occurred_at", 0),
                         ("idem", "idem-new")]:
            self.expect("events.%s of seq %d set from NULL to %r" % (col, null_seq, val),
                        lambda c, col=col, val=val: c.execute(
                            "UPDATE events SET %s = ? WHERE seq = ?" % col, (val, null_seq)),
                        seq=null_seq)
        # The principal (SPEC 3.1, leaf version 2): changed, or cleared to pass the event off
        # as a version 1 leaf.
        for val in ["token:someone-else", None]:
            self.expect("events.principal of seq %d set to %r" % (seq, val),
                        lambda c, val=val: c.execute(
                            "UPDATE events SET principal = ? WHERE seq = ?", (val, seq)), seq=seq)
        # A reason edited to the same text with a trailing space.
        self.expect("events.reason of seq %d with a trailing space" % seq,
                    lambda c: c.execute("UPDATE events SET reason = reason || ' ' WHERE seq = ?",
                                        (seq,)), seq=seq)
        # A change and a matching leaf_hash, but not the tree: the tile disagrees.
        e = dict(P.events[seq], reason="rewritten")
        h = ttlib.leaf_hash(ttlib.leaf_bytes(e))
        self.expect("events.reason and leaf_hash of seq %d rewritten consistently" % seq,
                    lambda c: c.execute("UPDATE events SET reason = ?, leaf_hash = ? "
                                        "WHERE seq = ?", ("rewritten", h, seq)), seq=seq)

    def test_interned_id_columns(self):
        rng = random.Random(SEED + 2)
        seq = P.full[10]
        for col, idx in [("entity", 2), ("event_type", 4), ("actor", 5), ("old_status", 6),
                         ("new_status", 7)]:
            cur = P.raw[seq][idx]
            others = [i for i, (k, v) in P.names.items() if k == KIND[col] and i != cur]
            new = rng.choice(others)
            self.expect("events.%s of seq %d: name %d -> %d" % (col, seq, cur, new),
                        lambda c, col=col, new=new: c.execute(
                            "UPDATE events SET %s = ? WHERE seq = ?" % col, (new, seq)),
                        seq=seq)
            # An id that names nothing: the event no longer reads back.
            if col in ("entity", "event_type", "actor"):
                self.expect("events.%s of seq %d: dangling id" % (col, seq),
                            lambda c, col=col: c.execute(
                                "UPDATE events SET %s = 99999 WHERE seq = ?" % col, (seq,)),
                            seq=seq)
        cur = P.raw[seq][3]
        others = [i for i, (ent, eid) in P.subjects.items() if eid != P.subjects[cur][1]]
        new = rng.choice(others)
        self.expect("events.subject of seq %d: subject %d -> %d" % (seq, cur, new),
                    lambda c: c.execute("UPDATE events SET subject = ? WHERE seq = ?",
                                        (new, seq)), seq=seq)
        self.expect("events.subject of seq %d: dangling id" % seq,
                    lambda c: c.execute("UPDATE events SET subject = 99999 WHERE seq = ?",
                                        (seq,)), seq=seq)
        # A status on an event that had none.
        s2 = next(s for s in range(1, 601) if P.raw[s][7] is None)
        status = next(i for i, (k, v) in P.names.items() if k == 4)
        self.expect("events.new_status of seq %d: NULL -> %d" % (s2, status),
                    lambda c: c.execute("UPDATE events SET new_status = ? WHERE seq = ?",
                                        (status, s2)), seq=s2)

    def test_interned_values(self):
        rng = random.Random(SEED + 3)
        for kind in [1, 2, 3, 4]:
            ids = [i for i, (k, v) in P.names.items() if k == kind]
            for nid in rng.sample(ids, min(2, len(ids))):
                first = P.first_using_name(nid)
                taken = {as_bytes(v) for k, v in P.names.values() if k == kind}
                new, i = replace_byte(rng, as_bytes(P.names[nid][1]))
                while new in taken:  # UNIQUE(kind, value)
                    new, i = replace_byte(rng, as_bytes(P.names[nid][1]))
                self.expect("names row %d (kind %d, %r), byte %d" % (nid, kind, P.names[nid][1],
                                                                      i),
                            lambda c, nid=nid, new=new: set_text(c, "names", "value", "id", nid,
                                                                 new), seq=first)
        for sid in rng.sample(sorted(P.subjects), 3):
            first = P.first_using_subject(sid)
            taken = {as_bytes(v) for e, v in P.subjects.values() if e == P.subjects[sid][0]}
            new, i = replace_byte(rng, as_bytes(P.subjects[sid][1]))
            while new in taken:  # UNIQUE(entity, entity_id)
                new, i = replace_byte(rng, as_bytes(P.subjects[sid][1]))
            self.expect("subjects row %d (%r), byte %d" % (sid, P.subjects[sid][1], i),
                        lambda c, sid=sid, new=new: set_text(c, "subjects", "entity_id", "id",
                                                             sid, new), seq=first)
        # Two names swapped: every event using either changes.
        a, b = [i for i, (k, v) in P.names.items() if k == 3][:2]
        first = min(P.first_using_name(a), P.first_using_name(b))

        def swap_names(c):
            va, vb = P.names[a][1], P.names[b][1]
            c.execute("UPDATE names SET value = '#tmp' WHERE id = ?", (a,))
            c.execute("UPDATE names SET value = ? WHERE id = ?", (va, b))
            c.execute("UPDATE names SET value = ? WHERE id = ?", (vb, a))
        self.expect("names rows %d and %d swapped" % (a, b), swap_names, seq=first)


class Rows(TamperCase):
    def test_delete_event_rows(self):
        for seq in [1, 300, 301, 457, 600]:
            self.expect("event %d deleted" % seq,
                        lambda c, seq=seq: c.execute("DELETE FROM events WHERE seq = ?", (seq,)),
                        seq=seq)
        self.expect("events 200..210 deleted",
                    lambda c: c.execute("DELETE FROM events WHERE seq BETWEEN 200 AND 210"),
                    seq=200)

        def renumber(c):  # delete 300 and close the gap, as if it never existed
            c.execute("DELETE FROM events WHERE seq = 300")
            c.execute("UPDATE events SET seq = seq - 1 WHERE seq > 300")
            c.execute("UPDATE head SET size = 599")
        self.expect("event 300 deleted and later seqs renumbered", renumber, seq=300)

    def test_swap_events(self):
        cols = "ts, entity, subject, event_type, actor, old_status, new_status, reason, " \
               "metadata, occurred_at, idem, leaf_hash"

        def swap(a, b):
            def f(c):
                ra = c.execute("SELECT %s FROM events WHERE seq = ?" % cols, (a,)).fetchone()
                rb = c.execute("SELECT %s FROM events WHERE seq = ?" % cols, (b,)).fetchone()
                sets = ", ".join("%s = ?" % x.strip() for x in cols.split(","))
                c.execute("UPDATE events SET %s WHERE seq = ?" % sets, rb + (a,))
                c.execute("UPDATE events SET %s WHERE seq = ?" % sets, ra + (b,))
            return f
        for a, b in [(1, 2), (299, 300), (300, 301), (10, 590), (599, 600)]:
            self.expect("events %d and %d swapped" % (a, b), swap(a, b), seq=a)

    def test_insert_beyond_head(self):
        def copy_last(seq):
            def f(c):
                c.execute("INSERT INTO events SELECT ?, ts, entity, subject, event_type, actor,"
                          " old_status, new_status, reason, metadata, occurred_at, idem,"
                          " leaf_hash, principal, producer, producer_seq FROM events WHERE seq = 600",
                          (seq,))
            return f
        self.expect("copy of event 600 inserted as 601", copy_last(601), seq=601)
        self.expect("copy of event 600 inserted as 650", copy_last(650), seq=601)
        # A well-formed event 601 with a correct leaf hash, head and tree left alone.
        e = dict(P.events[600], seq=601, reason="appended behind the ledger's back")
        h = ttlib.leaf_hash(ttlib.leaf_bytes(e))

        def forged(c):
            copy_last(601)(c)
            c.execute("UPDATE events SET reason = ?, leaf_hash = ? WHERE seq = 601",
                      (e["reason"], h))
        self.expect("well-formed event 601 inserted", forged, seq=601)

    def test_truncation(self):
        def truncate(k, rewrite, drop_cps_above=None):
            def f(c):
                c.execute("DELETE FROM events WHERE seq > ?", (k,))
                if rewrite:
                    rewrite_tree(c, P.leaves[:k], P.raw[k][1] if k else None)
                if drop_cps_above is not None:
                    c.execute("DELETE FROM checkpoints WHERE tree_size > ?", (drop_cps_above,))
            return f
        # Rows removed, head left alone: the head says more.
        self.expect("last 10 events deleted", truncate(590, False), seq=591)
        self.expect("last event deleted", truncate(599, False), seq=600)
        # Rows removed and the head and tiles rewritten to match: only the signed
        # checkpoints beyond the new size betray it.
        self.expect("truncated to 599, head and tiles rewritten", truncate(599, True), cp=600)
        self.expect("truncated to 400, head and tiles rewritten", truncate(400, True), cp=450)
        self.expect("truncated to 260, head and tiles rewritten", truncate(260, True), cp=300)
        self.expect("truncated to 0, head and tiles rewritten", truncate(0, True), cp=100)
        self.expect("truncated to 400, head rewritten, checkpoints above 450 deleted",
                    truncate(400, True, 450), cp=450)

        def head_only(c):  # the head shrinks but the events stay
            c.execute("UPDATE head SET size = 400, last_ts = ?, crange = ? WHERE id = 1",
                      (P.raw[400][1], b"".join(ttlib.compact_range(P.leaves[:400]))))
        self.expect("head rewritten to size 400, events kept", head_only, seq=401)

    def test_head(self):
        self.expect("head row deleted", lambda c: c.execute("DELETE FROM head"), any_report=True)
        self.expect("head.size + 1", lambda c: c.execute("UPDATE head SET size = size + 1"),
                    seq=601)
        self.expect("head.size - 1", lambda c: c.execute("UPDATE head SET size = size - 1"),
                    seq=600)
        rng = random.Random(SEED + 4)
        for _ in range(3):
            new, i = replace_byte(rng, P.head[2])
            self.expect("head.crange byte %d" % i,
                        lambda c, new=new: c.execute("UPDATE head SET crange = ?", (new,)),
                        seq=600)
        self.expect("head.crange with a hash dropped",
                    lambda c: c.execute("UPDATE head SET crange = ?", (P.head[2][32:],)),
                    seq=600)
        # The head's last ts must be the last event's: a later one would stamp every future
        # event with a forged time, an earlier one lets ts go backwards.
        self.expect("head.last_ts moved back",
                    lambda c: c.execute("UPDATE head SET last_ts = last_ts - 3600000000"),
                    seq=600)
        self.expect("head.last_ts moved forward",
                    lambda c: c.execute("UPDATE head SET last_ts = last_ts + 86400000000"),
                    seq=600)


class Tiles(TamperCase):
    def test_tiles(self):
        rng = random.Random(SEED + 5)
        for tid, blob in sorted(P.tiles.items()):
            level, index = tid >> 56, tid & ((1 << 56) - 1)
            for i in sorted({0, len(blob) - 1, rng.randrange(len(blob))}):
                entry = i // 32
                node = index * 256 + entry
                seq = (node << (8 * level)) + 1
                b = bytearray(blob)
                b[i] ^= 1 << rng.randrange(8)
                self.expect("tile level %d index %d byte %d" % (level, index, i),
                            lambda c, tid=tid, b=bytes(b): c.execute(
                                "UPDATE tiles SET hashes = ? WHERE id = ?", (b, tid)), seq=seq)
        t1 = ttlib.tile_id(0, 1)
        self.expect("tile 0/1 deleted", lambda c: c.execute("DELETE FROM tiles WHERE id = ?",
                                                            (t1,)), seq=257)
        t2 = ttlib.tile_id(0, 2)
        self.expect("tile 0/2 missing its last hash",
                    lambda c: c.execute("UPDATE tiles SET hashes = substr(hashes, 1, "
                                        "length(hashes) - 32) WHERE id = ?", (t2,)), seq=600)
        self.expect("tile 0/2 with a stray byte",
                    lambda c: c.execute("UPDATE tiles SET hashes = hashes || x'00' WHERE id = ?",
                                        (t2,)), seq=513)
        l1 = ttlib.tile_id(1, 0)
        self.expect("tile 1/0 missing its last hash",
                    lambda c: c.execute("UPDATE tiles SET hashes = substr(hashes, 1, 32) "
                                        "WHERE id = ?", (l1,)), seq=257)
        self.expect("tile 1/0 deleted", lambda c: c.execute("DELETE FROM tiles WHERE id = ?",
                                                            (l1,)), seq=1)

        def swap_tiles(c):
            c.execute("UPDATE tiles SET id = -1 WHERE id = ?", (t1,))
            c.execute("UPDATE tiles SET id = ? WHERE id = ?", (t1, ttlib.tile_id(0, 0)))
            c.execute("UPDATE tiles SET id = ? WHERE id = -1", (ttlib.tile_id(0, 0),))
        self.expect("tiles 0/0 and 0/1 swapped", swap_tiles, seq=1)


def note_with_sig_byte(note, rng):
    body, sigs = note.split("\n\n", 1)
    line = sigs.split("\n")[0]
    prefix, b64 = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    i = rng.randrange(len(raw))
    raw[i] ^= 1 << rng.randrange(8)
    return body + "\n\n" + prefix + " " + base64.b64encode(bytes(raw)).decode() + "\n", i


def note_with_body_char(note, rng):
    body, rest = note.split("\n\n", 1)
    i = rng.randrange(len(body))
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/= \n"
    new = rng.choice([ch for ch in alphabet if ch != body[i]])
    return body[:i] + new + body[i + 1:] + "\n\n" + rest, i


class Checkpoints(TamperCase):
    def test_checkpoints(self):
        rng = random.Random(SEED + 6)
        for size in CHECKPOINTS:
            root, note = P.cps[size]
            new, i = replace_byte(rng, root)
            self.expect("checkpoint %d root byte %d" % (size, i),
                        lambda c, size=size, new=new: c.execute(
                            "UPDATE checkpoints SET root = ? WHERE tree_size = ?", (new, size)),
                        cp=size)
            n2, i = note_with_sig_byte(note, rng)
            self.expect("checkpoint %d note signature byte %d" % (size, i),
                        lambda c, size=size, n2=n2: c.execute(
                            "UPDATE checkpoints SET note = ? WHERE tree_size = ?", (n2, size)),
                        cp=size)
            n3, i = note_with_body_char(note, rng)
            self.expect("checkpoint %d note body char %d" % (size, i),
                        lambda c, size=size, n3=n3: c.execute(
                            "UPDATE checkpoints SET note = ? WHERE tree_size = ?", (n3, size)),
                        cp=size)
        # Root and note consistently replaced by another checkpoint's: wrong tree.
        self.expect("checkpoint 300 given checkpoint 256's root and note",
                    lambda c: c.execute("UPDATE checkpoints SET root = ?, note = ? "
                                        "WHERE tree_size = 300", P.cps[256]), cp=300)
        self.expect("checkpoint 300 moved to size 301",
                    lambda c: c.execute("UPDATE checkpoints SET tree_size = 301 "
                                        "WHERE tree_size = 300"), cp=301)
        self.expect("checkpoint 600 note without its signature line",
                    lambda c: c.execute("UPDATE checkpoints SET note = ? WHERE tree_size = 600",
                                        (P.cps[600][1].split("\n\n")[0] + "\n\n",)), cp=600)
        self.expect("checkpoint 100 root truncated",
                    lambda c: c.execute("UPDATE checkpoints SET root = substr(root, 1, 31) "
                                        "WHERE tree_size = 100"), cp=100)
        self.expect("checkpoint beyond the head inserted",
                    lambda c: c.execute("INSERT INTO checkpoints SELECT 700, ts, root, note "
                                        "FROM checkpoints WHERE tree_size = 600"), cp=700)


class IndexesAndCheckpoints(TamperCase):
    """Issue 13 item 10: what no leaf covers. The head records the checkpoints signing
    stored; the idempotency table and the full-text index must match the events."""

    def test_idempotency_table(self):
        keyed = sorted(s for s, r in P.raw.items() if r[11] is not None)
        k, other = keyed[0], keyed[5]
        self.expect("idempotency row re-pointed to another event",
                    lambda c: c.execute("UPDATE idem SET seq = ? WHERE key = ?",
                                        (other, P.raw[k][11])), seq=k)
        self.expect("idempotency row deleted",
                    lambda c: c.execute("DELETE FROM idem WHERE key = ?", (P.raw[other][11],)),
                    seq=other)
        self.expect("idempotency key renamed",
                    lambda c: c.execute("UPDATE idem SET key = 'forged' WHERE key = ?",
                                        (P.raw[other][11],)), seq=other)
        self.expect("idempotency row inserted for an event without a key",
                    lambda c: c.execute("INSERT INTO idem(key, seq) VALUES ('forged', 2)"),
                    seq=2)
        self.expect("idempotency table emptied", lambda c: c.execute("DELETE FROM idem"),
                    seq=k)

    def test_subject_index(self):
        """The entries a subject's history is read from (subject_recent, and subject_index
        where commits move them beyond 16,384) must match the events: a removed one hides
        its event."""
        seqs = sorted(P.raw)
        s, other = seqs[40], seqs[41]
        other_subject = next(r[3] for r in P.raw.values() if r[3] != P.raw[s][3])
        self.expect("subject entry removed",
                    lambda c: c.execute("DELETE FROM subject_recent WHERE seq = ?", (s,)), seq=s)
        self.expect("subject entry moved to another subject",
                    lambda c: c.execute("UPDATE subject_recent SET subject = ? WHERE seq = ?",
                                        (other_subject, s)), seq=s)
        self.expect("subject entry for no event",
                    lambda c: c.execute("INSERT INTO subject_index VALUES (?, 900)",
                                        (P.raw[other][3],)), seq=900)
        self.expect("subject entries emptied",
                    lambda c: c.execute("DELETE FROM subject_recent"), seq=seqs[0])
        # Values that read as the same integers but no longer join with their event.
        for desc, change in [("seq made fractional", "seq = seq + 0.5"),
                             ("subject made fractional", "subject = subject + 0.5"),
                             ("seq made text", "seq = CAST(seq AS TEXT) || 'x'")]:
            self.expect("subject entry's " + desc,
                        lambda c, change=change: c.execute(
                            "UPDATE subject_recent SET %s WHERE seq = ?" % change, (s,)), seq=s)
        twice = lambda c: c.execute("INSERT INTO subject_index SELECT subject, seq "
                                    "FROM subject_recent WHERE seq = ?", (s,))
        self.expect("subject entry held in both tables", twice, seq=s)
        self.assertIn("twice", self.verify(twice)[1]["message"])
        # Every pair still present once, but a subject's newest entry moved into the index
        # ahead of its older ones: its history would be read out of order.
        counts = collections.Counter(r[3] for r in P.raw.values())
        subj = counts.most_common(1)[0][0]
        own = sorted(q for q, r in P.raw.items() if r[3] == subj)
        self.assertGreater(len(own), 2)

        def newest_moved(c):
            c.execute("DELETE FROM subject_recent WHERE seq = ?", (own[-1],))
            c.execute("INSERT INTO subject_index VALUES (?, ?)", (subj, own[-1]))
        self.expect("a subject's newest entry moved ahead of its older ones", newest_moved,
                    seq=own[0])

    def test_search_index(self):
        with_reason = sorted(s for s, r in P.raw.items() if r[8])
        s = with_reason[10]
        self.expect("full-text index emptied",
                    lambda c: c.execute("INSERT INTO events_fts(events_fts) VALUES('delete-all')"),
                    seq=with_reason[0])
        self.expect("one event's reason removed from the full-text index",
                    lambda c: c.execute("INSERT INTO events_fts(events_fts, rowid, reason) "
                                        "VALUES('delete', ?, ?)", (s, P.raw[s][8])), seq=s)
        self.expect("a document indexed beyond the last event",
                    lambda c: c.execute("INSERT INTO events_fts(rowid, reason) "
                                        "VALUES (900, 'planted')"), seq=900)

    def test_search_document_rewritten(self):
        """The index keeps as many documents, under the same rowids, but one holds other
        words than its event's reason: search finds it for words it never had."""
        with_reason = sorted(s for s, r in P.raw.items() if r[8])
        s, t = with_reason[20], with_reason[40]
        words = P.raw[s][8].split()

        def rewrite(seq, text):
            return lambda c: reindex(c, seq, text)
        self.expect("one document rewritten with other text",
                    rewrite(s, "nothing to see here"), seq=s)
        self.expect("one word of one document replaced (same number of words)",
                    rewrite(s, " ".join(words[:-1] + ["zzforged"])), seq=s)
        self.expect("one word of one document dropped",
                    rewrite(s, " ".join(words[:-1])), seq=s)

        def swap(c):
            rewrite(s, P.raw[t][8])(c)
            rewrite(t, P.raw[s][8])(c)
        self.expect("two documents swapped", swap, seq=s)

    def test_checkpoint_rows(self):
        # The head records 5 checkpoints up to 600: removing any is reported against the
        # largest signed size, since nothing says which one is gone.
        self.expect("checkpoint 300 deleted",
                    lambda c: c.execute("DELETE FROM checkpoints WHERE tree_size = 300"),
                    cp=600)
        self.expect("latest checkpoint deleted",
                    lambda c: c.execute("DELETE FROM checkpoints WHERE tree_size = 600"),
                    cp=600)
        self.expect("every checkpoint deleted", lambda c: c.execute("DELETE FROM checkpoints"),
                    cp=600)

    def test_untrusted_key(self):
        data = P.fresh()
        key = os.path.join(data, "signing.key")
        vkey = run(["key"], data=data).stdout.strip()
        os.rename(key, os.path.join(P.dir, "signing.key.away"))
        p = run(["verify"], data=data)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("no trusted verifier key: %s is absent" % key, p.stderr)
        self.assertEqual(run(["verify", "--key", vkey], data=data).returncode, 0)
        path = os.path.join(P.dir, "vkey.txt")
        with open(path, "w") as f:
            f.write(vkey + "\n")
        p = run(["verify", "--key", path, "-o", "json"], data=data)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["checkpoints_checked"], len(CHECKPOINTS))
        # A forger's key (another ledger's) does not verify this ledger's checkpoints.
        other = os.path.join(P.dir, "other")
        ttlib.init(other)
        forged = run(["key"], data=other).stdout.strip()
        p = run(["verify", "--key", forged, "-o", "json"], data=data)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(json.loads(p.stdout)["bad_checkpoint_size"], CHECKPOINTS[0])
        p = run(["verify", "--key", "not-a-key"], data=data)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--key: not a verifier key", p.stderr)


class RandomMutations(TamperCase):
    """N_RANDOM single-byte (or single-value) mutations anywhere in the stored state."""

    def test_random(self):
        rng = random.Random(SEED + 7)
        kinds = ["event_text"] * 5 + ["event_int"] * 3 + ["leaf_hash"] * 2 + \
            ["event_id"] * 2 + ["names"] * 2 + ["subjects"] + ["tiles"] * 3 + \
            ["cp_root", "cp_note_body", "cp_note_sig", "head"]
        done = 0
        while done < N_RANDOM:
            kind = rng.choice(kinds)
            m = getattr(self, "random_" + kind)(rng)
            if m is None:
                continue
            desc, mutate, seq, cp = m
            self.expect("random #%d: %s" % (done, desc), mutate, seq=seq, cp=cp)
            done += 1

    def random_event_text(self, rng):
        col, idx = rng.choice([("reason", 8), ("metadata", 9), ("idem", 11)])
        seq = rng.randrange(1, 601)
        if P.raw[seq][idx] is None:
            return None
        new, i = replace_byte(rng, as_bytes(P.raw[seq][idx]))
        return ("events.%s of seq %d byte %d" % (col, seq, i),
                lambda c: set_text(c, "events", col, "seq", seq, new), seq, None)

    def random_event_int(self, rng):
        col, idx = rng.choice([("ts", 1), ("occurred_at", 10)])
        seq = rng.randrange(1, 601)
        if P.raw[seq][idx] is None:
            return None
        new = flip_int_bit(rng, P.raw[seq][idx])
        return ("events.%s of seq %d -> %d" % (col, seq, new),
                lambda c: c.execute("UPDATE events SET %s = ? WHERE seq = ?" % col, (new, seq)),
                seq, None)

    def random_leaf_hash(self, rng):
        seq = rng.randrange(1, 601)
        new, i = replace_byte(rng, P.raw[seq][12])
        return ("events.leaf_hash of seq %d byte %d" % (seq, i),
                lambda c: c.execute("UPDATE events SET leaf_hash = ? WHERE seq = ?", (new, seq)),
                seq, None)

    def random_event_id(self, rng):
        col, idx = rng.choice([("entity", 2), ("subject", 3), ("event_type", 4), ("actor", 5),
                               ("old_status", 6), ("new_status", 7)])
        seq = rng.randrange(1, 601)
        cur = P.raw[seq][idx]
        if col == "subject":
            others = [i for i, (e, v) in P.subjects.items() if v != P.subjects[cur][1]]
        else:
            others = [i for i, (k, v) in P.names.items() if k == KIND[col] and i != cur]
        new = rng.choice(others + [None] if col in ("old_status", "new_status") and cur
                         else others)
        return ("events.%s of seq %d: %s -> %s" % (col, seq, cur, new),
                lambda c: c.execute("UPDATE events SET %s = ? WHERE seq = ?" % col, (new, seq)),
                seq, None)

    def random_names(self, rng):
        nid = rng.choice(sorted(P.names))
        first = P.first_using_name(nid)
        if first is None:
            return None
        new, i = replace_byte(rng, as_bytes(P.names[nid][1]))
        if any(k == P.names[nid][0] and as_bytes(v) == new for k, v in P.names.values()):
            return None
        return ("names row %d byte %d" % (nid, i),
                lambda c: set_text(c, "names", "value", "id", nid, new), first, None)

    def random_subjects(self, rng):
        sid = rng.choice(sorted(P.subjects))
        first = P.first_using_subject(sid)
        new, i = replace_byte(rng, as_bytes(P.subjects[sid][1]))
        if any(e == P.subjects[sid][0] and as_bytes(v) == new for e, v in P.subjects.values()):
            return None
        return ("subjects row %d byte %d" % (sid, i),
                lambda c: set_text(c, "subjects", "entity_id", "id", sid, new), first, None)

    def random_tiles(self, rng):
        tid = rng.choice(sorted(P.tiles))
        blob = P.tiles[tid]
        new, i = replace_byte(rng, blob)
        level, index = tid >> 56, tid & ((1 << 56) - 1)
        seq = ((index * 256 + i // 32) << (8 * level)) + 1
        return ("tile %d/%d byte %d" % (level, index, i),
                lambda c: c.execute("UPDATE tiles SET hashes = ? WHERE id = ?", (new, tid)),
                seq, None)

    def random_cp_root(self, rng):
        size = rng.choice(CHECKPOINTS)
        new, i = replace_byte(rng, P.cps[size][0])
        return ("checkpoint %d root byte %d" % (size, i),
                lambda c: c.execute("UPDATE checkpoints SET root = ? WHERE tree_size = ?",
                                    (new, size)), None, size)

    def random_cp_note_body(self, rng):
        size = rng.choice(CHECKPOINTS)
        note, i = note_with_body_char(P.cps[size][1], rng)
        return ("checkpoint %d note body char %d" % (size, i),
                lambda c: c.execute("UPDATE checkpoints SET note = ? WHERE tree_size = ?",
                                    (note, size)), None, size)

    def random_cp_note_sig(self, rng):
        size = rng.choice(CHECKPOINTS)
        note, i = note_with_sig_byte(P.cps[size][1], rng)
        return ("checkpoint %d signature byte %d" % (size, i),
                lambda c: c.execute("UPDATE checkpoints SET note = ? WHERE tree_size = ?",
                                    (note, size)), None, size)

    def random_head(self, rng):
        new, i = replace_byte(rng, P.head[2])
        return ("head.crange byte %d" % i,
                lambda c: c.execute("UPDATE head SET crange = ?", (new,)), 600, None)


class ProducerStates(unittest.TestCase):
    """SPEC 15: a producer's stored state decides whether its next event is a GAP, REPEAT
    or RESTART, so an edited state could hide missing events from then on. verify replays
    the states over the events: each detection must follow the event that called for it,
    and each stored state must be what the events give."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tt-tamper-prod-")
        cls.data = os.path.join(cls.dir, "pristine")
        ttlib.init(cls.data)
        # bot-a: 1 2 3 5 (a GAP after 5) 5 (a REPEAT) 1 (a RESTART) 2; bot-b: 1 2 3
        for prod, seqs in (("bot-a", [1, 2, 3, 5, 5, 1, 2]), ("bot-b", [1, 2, 3])):
            for n in seqs:
                p = run(["append", "--entity", "order", "--id", "o-%s-%d" % (prod, n),
                         "--type", "PLACED", "--actor", prod, "--producer", prod,
                         "--producer-seq", str(n)], data=cls.data)
                assert p.returncode == 0, p.stderr
        p = run(["verify", "-o", "json"], data=cls.data)
        assert p.returncode == 0, p.stdout + p.stderr
        ttlib.checkpoint_wal(cls.data)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def copy_with(self, name, sql=None):
        """A fresh copy of the ledger, with sql run on it (triggers dropped)."""
        data = os.path.join(self.dir, name)
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(self.data, data)
        if sql is not None:
            con = ttlib.open_db(data)
            con.execute(sql)
            con.close()
        return data

    def tampered(self, sql):
        data = self.copy_with("work", sql)
        p = run(["verify", "-o", "json"], data=data, timeout=60)
        self.assertEqual(p.returncode, 1, "%s: not detected: %s %s" % (sql, p.stdout, p.stderr))
        rep = json.loads(p.stdout)
        self.assertFalse(rep["ok"])
        return rep

    def test_states_edited(self):
        for sql, name in [
                ("UPDATE producers SET last_seq = 9 WHERE name = 'bot-a'", "bot-a"),
                ("UPDATE producers SET gaps = 0 WHERE name = 'bot-a'", "bot-a"),
                ("UPDATE producers SET last_event = 1 WHERE name = 'bot-b'", "bot-b"),
                ("DELETE FROM producers WHERE name = 'bot-b'", "bot-b"),
                ("INSERT INTO producers VALUES ('ghost', 4, 3, 0, 0, 0, 0, 0, 0, 0, 0)", "ghost")]:
            with self.subTest(sql):
                rep = self.tampered(sql)
                self.assertIn("producers table: " + name, rep["message"])

    def test_archived_events_are_replayed(self):
        # After retention the events' bodies are in segments: verify reads the producers'
        # fields from the segments' leaves, and still finds an edited state.
        data = self.copy_with("arch")
        p = run(["retention", "run", "--older-than", "0", "--segment-events", "4", "-o",
                 "json"], data=data)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreaterEqual(json.loads(p.stdout)["segments"], 2, p.stdout)
        p = run(["verify", "-o", "json"], data=data, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertGreater(json.loads(p.stdout)["archived_checked"], 8, p.stdout)
        con = ttlib.open_db(data)
        con.execute("UPDATE producers SET restarts = 0 WHERE name = 'bot-a'")
        con.close()
        p = run(["verify", "-o", "json"], data=data, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("producers table: bot-a", json.loads(p.stdout)["message"])

    def test_heartbeat_only_producer_is_fine(self):
        # A producer known from heartbeats alone counts nothing: not a mismatch.
        data = self.copy_with(
            "hb", "INSERT INTO producers VALUES ('quiet', 0, 0, 1, 60, 1, 0, 0, 0, 0, 1)")
        p = run(["verify", "-o", "json"], data=data, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_detection_missing_after_a_state_edit(self):
        # The attack the check is for: bot-b's state moved on to 5 before its event 6 came,
        # so the ledger recorded no GAP for the missing 4 and 5.
        data = self.copy_with("edit", "UPDATE producers SET last_seq = 5 WHERE name = 'bot-b'")
        p = run(["append", "--entity", "order", "--id", "o-b-6", "--type", "PLACED",
                 "--actor", "bot-b", "--producer", "bot-b", "--producer-seq", "6", "-o",
                 "json"], data=data)
        self.assertEqual(p.returncode, 0, p.stderr)
        seq = json.loads(p.stdout)["seq"]
        p = run(["verify", "-o", "json"], data=data, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        rep = json.loads(p.stdout)
        self.assertEqual(rep["first_bad_seq"], seq, rep)  # the event that revealed it
        self.assertIn("producer bot-b's counter called for a GAP event after it",
                      rep["message"])
        # Once another event took the detection's place, that one is named.
        p = run(["append", "--entity", "order", "--id", "o-x", "--type", "PLACED",
                 "--actor", "x"], data=data)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run(["verify", "-o", "json"], data=data, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        rep = json.loads(p.stdout)
        self.assertEqual(rep["first_bad_seq"], seq + 1, rep)
        self.assertIn("called for a GAP event here", rep["message"])


class SinceCheckpoint(TamperCase):
    """verify --since-checkpoint FILE with a note kept outside the store."""

    def note_file(self, size, text=None):
        path = os.path.join(P.dir, "kept-%d.note" % size)
        with open(path, "w") as f:
            f.write(text if text is not None else P.notes[size])
        return path

    def test_pristine(self):
        for size, checked in [(300, 300), (600, 0), (100, 500)]:
            p = run(["verify", "--since-checkpoint", self.note_file(size), "-o", "json"],
                    data=P.data)
            self.assertEqual(p.returncode, 0, p.stderr)
            rep = json.loads(p.stdout)
            self.assertTrue(rep["ok"])
            self.assertEqual(rep["events_checked"], checked)
        p = run(["verify", "--since-checkpoint", "-"], data=P.data, input=P.notes[300])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_subject_index(self):
        # Below the kept checkpoint too: the index is checked whole, as the others are.
        self.expect("since 300: subject entry of seq 120 removed",
                    lambda c: c.execute("DELETE FROM subject_recent WHERE seq = 120"), seq=120,
                    args=["--since-checkpoint", self.note_file(300)])

    def test_tamper_after_the_kept_checkpoint(self):
        note = self.note_file(300)
        for seq in [301, 450, 600]:
            self.expect("since 300: events.reason of seq %d edited" % seq,
                        lambda c, seq=seq: c.execute(
                            "UPDATE events SET reason = 'edited' WHERE seq = ?", (seq,)),
                        seq=seq, args=["--since-checkpoint", note])
        self.expect("since 300: event 455 deleted",
                    lambda c: c.execute("DELETE FROM events WHERE seq = 455"), seq=455,
                    args=["--since-checkpoint", note])
        self.expect("since 300: checkpoint 450 root flipped",
                    lambda c: c.execute("UPDATE checkpoints SET root = zeroblob(32) "
                                        "WHERE tree_size = 450"), cp=450,
                    args=["--since-checkpoint", note])

    def test_history_rewritten_before_the_kept_checkpoint(self):
        # The attacker edits event 120, recomputes its leaf hash, every tile, the head and
        # its full-text document, and deletes the stored checkpoints it cannot re-sign: the store is consistent
        # again and a plain verify passes, but the kept checkpoint contradicts it.
        note = self.note_file(300)
        e = dict(P.events[120], reason="history rewritten")
        h = ttlib.leaf_hash(ttlib.leaf_bytes(e))

        def rewrite(c):
            c.execute("UPDATE events SET reason = ?, leaf_hash = ? WHERE seq = 120",
                      (e["reason"], h))
            reindex(c, 120, e["reason"])
            leaves = list(P.leaves)
            leaves[119] = h
            rewrite_tree(c, leaves, P.head[1])
            c.execute("DELETE FROM checkpoints")
            forge_head_checkpoints(c)

        p, rep = self.verify(rewrite)
        self.assertEqual(p.returncode, 0, "the rewrite is self-consistent: %s %s" %
                         (p.stdout, p.stderr))
        self.expect("since 300: event 120 rewritten with tree and head", rewrite, cp=300,
                    args=["--since-checkpoint", note])
        # The same rewrite after the kept checkpoint is caught on the walk.
        e2 = dict(P.events[420], reason="history rewritten")
        h2 = ttlib.leaf_hash(ttlib.leaf_bytes(e2))

        def rewrite_late(c):
            c.execute("UPDATE events SET reason = ?, leaf_hash = ? WHERE seq = 420",
                      (e2["reason"], h2))
            reindex(c, 420, e2["reason"])
            leaves = list(P.leaves)
            leaves[419] = h2
            rewrite_tree(c, leaves, P.head[1])
            c.execute("DELETE FROM checkpoints")
            forge_head_checkpoints(c)
        p, rep = self.verify(rewrite_late)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.expect("since 600: event 420 rewritten with tree and head", rewrite_late, cp=600,
                    args=["--since-checkpoint", self.note_file(600)])

    def test_truncated_below_the_kept_checkpoint(self):
        def truncate(c):
            c.execute("DELETE FROM events WHERE seq > 500")
            rewrite_tree(c, P.leaves[:500], P.raw[500][1])
            c.execute("DELETE FROM checkpoints WHERE tree_size > 500")
            forge_head_checkpoints(c)
            # ... and the side indexes (schema 8: verify checks them against the events).
            c.execute("DELETE FROM idem WHERE seq > 500")
            c.execute("DELETE FROM subject_recent WHERE seq > 500")
            for s in range(501, 601):
                if P.raw[s][8]:
                    c.execute("INSERT INTO events_fts(events_fts, rowid, reason) "
                              "VALUES('delete', ?, ?)", (s, P.raw[s][8]))
        p, rep = self.verify(truncate)
        self.assertEqual(p.returncode, 0, "the truncation is self-consistent: %s" % p.stderr)
        self.expect("since 600: truncated to 500 with head, tiles, checkpoints", truncate,
                    cp=600, args=["--since-checkpoint", self.note_file(600)])
        # The ledger still extends the checkpoint at 300.
        p, rep = self.verify(truncate, ["--since-checkpoint", self.note_file(300)])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_bad_notes(self):
        other = os.path.join(P.dir, "other")
        ttlib.init(other)
        ttlib.append_events(other, make_events(random.Random(1), 300, 1))
        foreign = json.loads(run(["checkpoint", "-o", "json"], data=other).stdout)["note"]
        rng = random.Random(SEED + 8)
        cases = [("a checkpoint of another ledger", foreign),
                 ("a kept note with a changed body", note_with_body_char(P.notes[300], rng)[0]),
                 ("a kept note with a changed signature", note_with_sig_byte(P.notes[300],
                                                                            rng)[0]),
                 ("a kept note without its signature", P.notes[300].split("\n\n")[0] + "\n\n"),
                 ("garbage", "not a checkpoint\n")]
        for desc, text in cases:
            with self.subTest(desc):
                p = run(["verify", "--since-checkpoint", self.note_file(1, text)], data=P.data)
                self.assertEqual(p.returncode, 1, "%s: %s %s" % (desc, p.stdout, p.stderr))
                self.assertTrue(p.stderr.startswith("tradetrail verify:"), p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

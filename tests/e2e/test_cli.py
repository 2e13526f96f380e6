#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of every command of docs/CLI.md on temporary data directories, with
the hashes, proofs and checkpoints checked independently in Python, and several processes
appending to one store at the same time (SPEC 5)."""

import base64
import csv
import io
import json
import os
import queue
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttlib  # noqa: E402
from ttlib import TTCase, run, run_json, json_lines  # noqa: E402

VKEY_RE = re.compile(r"^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


def ev(entity="order", entity_id="o-1", event_type="FILLED", actor="bot-7", **kw):
    e = {"entity": entity, "entity_id": entity_id, "event_type": event_type, "actor": actor}
    e.update(kw)
    return e


class InitTest(TTCase):
    def test_init_creates_dir_and_key_and_is_idempotent(self):
        data = os.path.join(self.tmp, "a", "b", "data")  # parents do not exist yet
        p1 = run(["init"], data=data)
        self.assertExit(p1, 0)
        self.assertTrue(os.path.isdir(data))
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)
        key = os.path.join(data, "signing.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertTrue(os.path.exists(os.path.join(data, "ledger.db")))
        with open(key, "rb") as f:
            key_bytes = f.read()
        vkey1 = run(["key"], data=data)
        self.assertExit(vkey1, 0)
        self.assertRegex(vkey1.stdout.strip(), VKEY_RE)
        self.assertIn(vkey1.stdout.strip(), p1.stdout)

        p2 = run(["init"], data=data)
        self.assertExit(p2, 0, "second init")
        self.assertEqual(p1.stdout, p2.stdout)
        with open(key, "rb") as f:
            self.assertEqual(f.read(), key_bytes, "init must not replace the signing key")
        self.assertEqual(run(["key"], data=data).stdout, vkey1.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

    def test_refuses_what_others_may_change(self):
        # Issue 13 item 6: a data directory or key that others may change (the key: read),
        # or that another user owns, is refused with the path and the fix; init makes them
        # private whatever the umask.
        data = os.path.join(self.tmp, "umask0", "data")
        old = os.umask(0)
        try:
            self.assertExit(run(["init"], data=data), 0)
        finally:
            os.umask(old)
        key = os.path.join(data, "signing.key")
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(data, "ledger.db")).st_mode), 0o600)
        os.chmod(data, 0o777)
        for cmd in (["show"], ["verify"], ["init"], ["log", "x"]):
            p = run(cmd, data=data)
            self.assertExit(p, 1, " ".join(cmd))
            self.assertIn("data directory %s is writable by others (mode 0777); run `chmod 700"
                          % data, p.stderr)
        os.chmod(data, 0o700)
        os.chmod(key, 0o644)
        p = run(["log", "x"], data=data)
        self.assertExit(p, 1)
        self.assertIn("signing key %s is readable by others (mode 0644); run `chmod 600" % key,
                      p.stderr)
        os.chmod(key, 0o600)
        if os.geteuid() == 0:
            for path in (data, key):
                os.chown(path, 65534, 65534)
                p = run(["show"], data=data)
                self.assertExit(p, 1)
                self.assertIn("%s is owned by uid 65534, not by you (uid 0)" % path, p.stderr)
                os.chown(path, 0, 0)
        self.assertExit(run(["log", "fine again"], data=data), 0)
        self.assertEqual(len(ttlib.show_all(data)), 1)

    def test_store_uri_passwords_stay_out_of_messages(self):
        """libpq's messages quote the malformed part of a connection string, often the
        password itself (an unencoded %), and a mistyped scheme was printed whole: no error
        message may show the password, whatever is wrong with the URI."""
        data = os.path.join(self.tmp, "pw")
        secret = "Hunter2Pw"
        uris = ["postgres://u:%s%%ZZ@127.0.0.1:1/db" % secret,
                "postgres://u:%s%%00@127.0.0.1:1/db" % secret,
                "postgres://u:%s@[::1/db" % secret,
                "postgres://u:%s@127.0.0.1:1/db" % secret,
                "postgresq://u:%s@127.0.0.1:1/db" % secret]
        # not a URI, so a file path to SQLite: no ledger there, and its name is masked
        p = run(["--db", "host=127.0.0.1 port=1 password=%s" % secret, "stats"], data=data)
        self.assertExit(p, 1)
        self.assertNotIn(secret, p.stderr)
        for uri in uris:
            for args in (["--db", uri, "stats"], ["--db", uri, "init"],
                         ["migrate", "--from", uri, "--to", "sqlite:" + data + "/x.db"]):
                with self.subTest(uri=uri, command=args[-1]):
                    p = run(args, data=data)
                    self.assertNotEqual(p.returncode, 0)
                    self.assertTrue(p.stderr.strip(), "no message at all")
                    self.assertNotIn(secret, p.stderr + p.stdout)
        p = run(["--db", uris[0], "stats"], data=data)
        self.assertIn("the connection string is malformed (percent-encode", p.stderr)

    def test_init_keeps_events(self):
        data = self.new_ledger()
        self.assertExit(run(["append"] + flags(ev()), data=data), 0)
        self.assertExit(run(["init"], data=data), 0)
        self.assertEqual(len(ttlib.show_all(data)), 1)

    def test_help_for_every_command(self):
        self.assertExit(run(["--help"]), 0)
        for cmd in ["init", "append", "log", "show", "verify", "checkpoint", "key", "prove",
                    "consistency", "stats", "test"]:
            p = run([cmd, "--help"])
            self.assertExit(p, 0, cmd)
            self.assertIn("usage", p.stdout.lower(), cmd)


def flags(e):
    """append flags for an event dict."""
    m = {"entity": "--entity", "entity_id": "--id", "event_type": "--type", "actor": "--actor",
         "old_status": "--old", "new_status": "--new", "reason": "--reason",
         "metadata": "--meta", "occurred_at": "--occurred-at",
         "idempotency_key": "--idempotency-key"}
    out = []
    for k, v in e.items():
        out += [m[k], json.dumps(v) if k == "metadata" else v]
    return out


class AppendTest(TTCase):
    def setUp(self):
        super().setUp()
        self.data = self.new_ledger()

    def test_flags_all_fields_json_shape(self):
        before = time.time()
        e = ev("strategy", "clx123", "ACTIVATED", "system", old_status="PENDING",
               new_status="ACTIVE", reason="Strategy activated by orchestrator",
               metadata={"sharpe": 1.25, "note": "quote \" and , comma", "nested": {"k": [1, 2]},
                         "ünï": "cödé"},
               occurred_at="2026-01-18T10:31:00.5+02:00", idempotency_key="act-clx123-1")
        p = run(["append"] + flags(e) + ["-o", "json"], data=self.data)
        after = time.time()
        self.assertExit(p, 0)
        out = json.loads(p.stdout)
        self.assertEqual(set(out), {"seq", "ts", "leaf_hash"})
        self.assertEqual(out["seq"], 1)
        self.assertRegex(out["ts"], ttlib.TS_RE)
        self.assertRegex(out["leaf_hash"], HEX64_RE)
        t = ttlib.ts_to_us(out["ts"]) / 1e6
        self.assertTrue(before - 2 <= t <= after + 2, "ts %s is not the append time" % out["ts"])

        got = ttlib.show_all(self.data)
        self.assertEqual(len(got), 1)
        g = got[0]
        self.assertEqual(list(g), ttlib.EVENT_FIELDS)
        for k in ["entity", "entity_id", "event_type", "actor", "old_status", "new_status",
                  "reason", "metadata", "idempotency_key"]:
            self.assertEqual(g[k], e[k], k)
        self.assertEqual(g["occurred_at"], "2026-01-18T08:31:00.500000Z")
        self.assertEqual(g["ts"], out["ts"])
        self.assertEqual(g["leaf_hash"], out["leaf_hash"])

        # The leaf hash is SHA-256(0x00 || leaf bytes) of the stored fields (docs/FORMAT.md).
        con = ttlib.open_db(self.data, drop_triggers=False)
        stored = ttlib.stored_events(con)[1]
        con.close()
        self.assertEqual(json.loads(stored["metadata"]), e["metadata"])
        self.assertEqual(ttlib.leaf_hash(ttlib.leaf_bytes(stored)).hex(), out["leaf_hash"])

    def test_flags_short_output_and_minimal_event(self):
        p = run(["append"] + flags(ev()), data=self.data)
        self.assertExit(p, 0)
        self.assertIn("seq 1", p.stdout)
        g = ttlib.show_all(self.data)[0]
        for k in ["old_status", "new_status", "reason", "metadata", "occurred_at",
                  "idempotency_key"]:
            self.assertIsNone(g[k], k)

    def test_ndjson_batches(self):
        events = [ev(entity_id="o-%d" % i, reason="r%d" % i) for i in range(25)]
        text = ttlib.ndjson(events[:12]) + "\n\n" + ttlib.ndjson(events[12:])  # blank lines
        p = run(["append", "--batch", "10", "-o", "json"], data=self.data, input=text)
        self.assertExit(p, 0)
        self.assertEqual(json_lines(p.stdout), [
            {"first_seq": 1, "count": 10, "seqs": list(range(1, 11))},
            {"first_seq": 11, "count": 10, "seqs": list(range(11, 21))},
            {"first_seq": 21, "count": 5, "seqs": list(range(21, 26))}])
        got = ttlib.show_all(self.data)
        self.assertEqual([g["entity_id"] for g in got], [e["entity_id"] for e in events])
        self.assertEqual([g["seq"] for g in got], list(range(1, 26)))
        # One chunk is one transaction: one ts per chunk, never decreasing.
        ts = [g["ts"] for g in got]
        self.assertEqual(ts, sorted(ts))
        self.assertEqual(len(set(ts[:10])), 1)
        # Default batch: everything in one chunk.
        p = run(["append", "-o", "json"], data=self.data, input=ttlib.ndjson(events[:3]))
        self.assertExit(p, 0)
        self.assertEqual(json_lines(p.stdout), [{"first_seq": 26, "count": 3,
                                                 "seqs": [26, 27, 28]}])

    def test_ndjson_whitespace_only_line_is_blank(self):
        # CLI.md: blank lines are skipped; a line of spaces or tabs is blank too.
        text = ttlib.ndjson([ev(entity_id="a")]) + "   \n\t\n" + ttlib.ndjson([ev(entity_id="b")])
        p = run(["append", "-o", "json"], data=self.data, input=text)
        self.assertExit(p, 0)
        self.assertEqual(json_lines(p.stdout), [{"first_seq": 1, "count": 2, "seqs": [1, 2]}])

    def test_ndjson_crlf_and_no_final_newline(self):
        e = json.dumps(ev())
        p = run(["append", "-o", "json"], data=self.data, input=e + "\r\n" + e)
        self.assertExit(p, 0)
        self.assertEqual(json_lines(p.stdout), [{"first_seq": 1, "count": 2, "seqs": [1, 2]}])

    def test_ndjson_all_fields(self):
        e = ev("ai_feedback", "fb-1", "RECORD", "evaluator", old_status="A", new_status="B",
               reason="line one\nline two", metadata={"reward": -0.5},
               occurred_at="2026-01-18T10:31:00Z", idempotency_key="fb-1")
        self.assertEqual(ttlib.append_events(self.data, [e]), [{"first_seq": 1, "count": 1,
                                                                "seqs": [1]}])
        g = ttlib.show_all(self.data)[0]
        for k in e:
            if k != "occurred_at":
                self.assertEqual(g[k], e[k], k)
        self.assertEqual(g["occurred_at"], "2026-01-18T10:31:00.000000Z")

    def test_invalid_line_in_second_chunk(self):
        events = [ev(entity_id="o-%d" % i) for i in range(1, 13)]
        events[7]["event_type"] = "lowercase"  # line 8, in the second chunk (lines 6-10)
        p = run(["append", "--batch", "5", "-o", "json"], data=self.data,
                input=ttlib.ndjson(events))
        self.assertExit(p, 1)
        self.assertIn("line 8", p.stderr)
        self.assertIn("event_type", p.stderr)
        self.assertIn("line 6", p.stderr, "the message says from which line on nothing was "
                      "written")
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(json_lines(p.stdout), [{"first_seq": 1, "count": 5,
                                                "seqs": [1, 2, 3, 4, 5]}])
        got = ttlib.show_all(self.data)
        self.assertEqual([g["entity_id"] for g in got], ["o-%d" % i for i in range(1, 6)])
        self.assertExit(run(["verify"], data=self.data), 0)

    def test_invalid_ndjson_lines(self):
        good = ttlib.ndjson([ev()])
        cases = [
            ('{"entity":"a","entity_id":"1","event_type":"X","actor":"u","bogus":1}\n',
             "bogus"),
            ('{"entity":"a","entity_id":"1","event_type":"X","actor":"u","seq":4}\n', "seq"),
            ('{"entity":"a","entity_id":"1","event_type":"X"\n', "line 2"),
            ("[1]\n", "line 2"),
            ('{"entity":"a","entity_id":"1","event_type":"X"}\n', "actor"),
            ('{"entity":"a","entity_id":"1","event_type":"X","actor":"u","metadata":[1]}\n',
             "metadata"),
            ('{"entity":"a","entity_id":"1","event_type":"X","actor":"u",'
             '"metadata":{"k":1,"k":2}}\n', "duplicate"),
        ]
        for line, word in cases:
            p = run(["append"], data=self.data, input=good + line)
            self.assertExit(p, 1, line)
            self.assertIn("line 2", p.stderr, line)
            self.assertIn(word, p.stderr, line)
        p = run(["append"], data=self.data, input=good.encode() + b'{"entity":"a","entity_id":'
                b'"1","event_type":"X","actor":"u","reason":"\xff"}\n')
        self.assertExit(p, 1, "invalid UTF-8")
        self.assertEqual(ttlib.show_all(self.data), [], "nothing of a rejected chunk is written")

    def test_idempotency_key(self):
        e = ev(idempotency_key="order-981-filled", reason="first")
        a = run_json(["append"] + flags(e), data=self.data)
        self.assertExit(run(["append"] + flags(ev(entity_id="other")), data=self.data), 0)
        # A retry with the same content: the original seq, nothing written.
        p = run(["append"] + flags(e) + ["-o", "json"], data=self.data)
        self.assertExit(p, 0)
        self.assertEqual(json.loads(p.stdout), a)
        # Issue 13 item 11: the same key on another event is a conflict (exit 1), never
        # answered with the first event's seq.
        again = dict(e, reason="retried with another body")
        p = run(["append"] + flags(again) + ["-o", "json"], data=self.data)
        self.assertExit(p, 1, "same key, other content")
        self.assertIn('idempotency key "order-981-filled" already names seq 1', p.stderr)
        self.assertEqual(p.stdout, "")
        # NDJSON: a key repeated with other content inside one chunk refuses the chunk.
        p = run(["append"], data=self.data, input=(json.dumps(ev(idempotency_key="k-x")) + "\n" +
                json.dumps(ev(idempotency_key="k-x", reason="other")) + "\n").encode())
        self.assertExit(p, 1, "a duplicate key with other content in one chunk")
        self.assertEqual(len(ttlib.show_all(self.data)), 2)
        # NDJSON: a repeated key (same content) within a chunk and across chunks.
        lines = [ev(idempotency_key="k-a"), ev(idempotency_key="k-a"), e,
                 ev(idempotency_key="k-b")]
        out = ttlib.append_events(self.data, lines, batch=2)
        # Issue 13 item 15: seqs gives every line's seq, the original one for a repeat.
        self.assertEqual(out, [{"first_seq": 3, "count": 1, "seqs": [3, 3]},
                               {"first_seq": 4, "count": 1, "seqs": [1, 4]}])
        # The whole input again: nothing new, and still every line's seq.
        self.assertEqual(ttlib.append_events(self.data, lines),
                         [{"first_seq": None, "count": 0, "seqs": [3, 3, 1, 4]}])
        got = ttlib.show_all(self.data)
        self.assertEqual([g["seq"] for g in got], [1, 2, 3, 4])
        self.assertEqual([g["idempotency_key"] for g in got],
                         ["order-981-filled", None, "k-a", "k-b"])
        self.assertEqual(got[0]["reason"], "first")
        self.assertExit(run(["verify"], data=self.data), 0)

    def test_validation_errors_name_the_field(self):
        base = ev()
        long = "x" * 129
        cases = [
            (dict(base, entity="Strategy"), "entity"),
            (dict(base, entity="1abc"), "entity"),
            (dict(base, event_type="activated"), "event_type"),
            (dict(base, entity_id=long), "entity_id"),
            (dict(base, entity_id="a\tb"), "entity_id"),
            (dict(base, actor=long), "actor"),
            (dict(base, old_status="s" * 65), "old_status"),
            (dict(base, new_status="s" * 65), "new_status"),
            (dict(base, reason="r" * 8193), "reason"),
            (dict(base, metadata=[1, 2]), "metadata"),
            (dict(base, metadata={"big": "m" * 70000}), "metadata"),
            (dict(base, occurred_at="yesterdayish"), "occurred"),
            (dict(base, idempotency_key=long), "idempotency"),
        ]
        for e, field in cases:
            p = run(["append"] + flags(e), data=self.data)
            self.assertExit(p, 1, field)
            self.assertIn(field, p.stderr)
            self.assertTrue(p.stderr.startswith("tradetrail append:"), p.stderr)
        for missing, field in [("--id", "entity_id"), ("--type", "event_type"),
                               ("--actor", "actor")]:
            args = flags(base)
            i = args.index(missing)
            del args[i:i + 2]
            p = run(["append"] + args, data=self.data)
            self.assertExit(p, 1, missing)
            self.assertIn(field, p.stderr)
        p = run(["append"] + flags(base)[:-2] + ["--actor", "a", "--meta", '{"a":1,"a":2}'],
                data=self.data)
        self.assertExit(p, 1, "duplicate metadata key")
        self.assertIn("metadata", p.stderr)
        # The limits themselves are accepted.
        ok = dict(base, entity_id="i" * 128, actor="a" * 128, old_status="s" * 64,
                  reason="r" * 8192, idempotency_key="k" * 128)
        self.assertExit(run(["append"] + flags(ok), data=self.data), 0)
        self.assertEqual(len(ttlib.show_all(self.data)), 1)


class LogTest(TTCase):
    def test_log(self):
        data = self.new_ledger()
        a = run_json(["log", "restarted the order router after OOM", "--source", "auto-repair"],
                     data=data)
        self.assertEqual(set(a), {"seq", "ts", "leaf_hash"})
        self.assertExit(run(["log", "manual fix"], data=data), 0)
        self.assertExit(run(["log", "by ops", "--source", "cron", "--actor", "alice"],
                            data=data), 0)
        got = ttlib.show_all(data)
        self.assertEqual([(g["entity"], g["entity_id"], g["event_type"], g["actor"], g["reason"])
                          for g in got],
                         [("maintenance", "auto-repair", "ACTION", "auto-repair",
                           "restarted the order router after OOM"),
                          ("maintenance", "manual", "ACTION", "manual", "manual fix"),
                          ("maintenance", "cron", "ACTION", "alice", "by ops")])
        self.assertEqual(got[0]["leaf_hash"], a["leaf_hash"])


class ShowTest(TTCase):
    """Queries over a small ledger whose events were appended one call at a time."""

    @classmethod
    def setUpClass(cls):
        cls.dir = ttlib.TempDir()
        cls.data = os.path.join(cls.dir.path, "data")
        ttlib.init(cls.data)
        cls.events = [
            ev("strategy", "clx1", "CREATED", "alice", new_status="DRAFT",
               reason="created momentum strategy"),
            ev("strategy", "clx1", "ACTIVATED", "system", old_status="PENDING",
               new_status="ACTIVE", reason="Strategy activated by orchestrator"),
            ev("order", "ord-1", "FILLED", "bot-7", reason="filled 100 BTC at market",
               metadata={"qty": 100, "px": "42,000.5", "q": "say \"hi\""}),
            ev("strategy", "clx2", "CREATED", "bob", reason="created mean reversion"),
            ev("order", "ord-2", "CANCELLED", "bot-7", reason="cancelled by risk limits",
               occurred_at="2026-01-18T10:31:00Z"),
            ev("strategy", "clx1", "FAILED", "system", old_status="ACTIVE", new_status="FAILED",
               reason="strategy failed: drawdown, \"limit\"\nexceeded"),
            ev("order", "ord-1", "SETTLED", "bot-8", idempotency_key="settle-ord-1"),
        ]
        for e in cls.events:
            p = run(["append"] + flags(e), data=cls.data)
            if p.returncode != 0:
                raise AssertionError(p.stderr)
        cls.all = ttlib.show_all(cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.dir.__exit__()

    def seqs(self, *args):
        p = run(["show", "-o", "json"] + list(args), data=self.data)
        self.assertExit(p, 0, " ".join(args))
        return [g["seq"] for g in json_lines(p.stdout)]

    def test_all_oldest_first(self):
        self.assertEqual([g["seq"] for g in self.all], list(range(1, 8)))
        for g, e in zip(self.all, self.events):
            self.assertEqual(list(g), ttlib.EVENT_FIELDS)
            self.assertRegex(g["ts"], ttlib.TS_RE)
            for k, v in e.items():
                if k != "occurred_at":
                    self.assertEqual(g[k], v)
        ts = [ttlib.ts_to_us(g["ts"]) for g in self.all]
        self.assertEqual(ts, sorted(ts))

    def test_filters(self):
        self.assertEqual(self.seqs("--entity", "strategy"), [1, 2, 4, 6])
        self.assertEqual(self.seqs("--entity", "nosuch"), [])
        self.assertEqual(self.seqs("--id", "clx1"), [1, 2, 6])
        self.assertEqual(self.seqs("--id", "ord-1"), [3, 7])
        self.assertEqual(self.seqs("--type", "CREATED"), [1, 4])
        self.assertEqual(self.seqs("--type", "CREATED,FILLED,NOSUCH"), [1, 3, 4])
        self.assertEqual(self.seqs("--actor", "bot-7"), [3, 5])
        self.assertEqual(self.seqs("--grep", "strategy"), [1, 2, 6])
        self.assertEqual(self.seqs("--grep", "created strategy"), [1])
        self.assertEqual(self.seqs("--grep", "nosuchword"), [])
        # Issue 13 item 19: word prefixes (the seed used ILIKE '%...%'), whole words for 1-2
        # characters, never the middle of a word, and FTS5 syntax stays plain text.
        self.assertEqual(self.seqs("--grep", "strat"), [1, 2, 6])
        self.assertEqual(self.seqs("--grep", "limit"), [5, 6])  # "limits" and "limit"
        self.assertEqual(self.seqs("--grep", "orchestr activ"), [2])
        self.assertEqual(self.seqs("--grep", "rategy"), [])
        self.assertEqual(self.seqs("--grep", "BT"), [])  # "BTC": 2 characters match whole
        self.assertEqual(self.seqs("--grep", "btc"), [3])
        self.assertEqual(self.seqs("--grep", "drawdown*"), [6])
        self.assertEqual(self.seqs("--grep", '"cre*'), [1, 4])
        self.assertEqual(self.seqs("--entity", "strategy", "--id", "clx1", "--type",
                                   "ACTIVATED,FAILED", "--actor", "system"), [2, 6])
        self.assertEqual(self.seqs("--entity", "order", "--id", "clx1"), [])

    def test_time_filters(self):
        ts = [g["ts"] for g in self.all]
        self.assertEqual(self.seqs("--since", ts[3]), [4, 5, 6, 7])  # inclusive
        self.assertEqual(self.seqs("--until", ts[3]), [1, 2, 3])  # exclusive
        self.assertEqual(self.seqs("--since", ts[1], "--until", ts[4]), [2, 3, 4])
        self.assertEqual(self.seqs("--since", "-1h"), list(range(1, 8)))
        self.assertEqual(self.seqs("--until", "-1h"), [])
        self.assertEqual(self.seqs("--since", "-2d", "--until", "now"), list(range(1, 8)))
        self.assertEqual(self.seqs("--since", "yesterday"), list(range(1, 8)))
        self.assertEqual(self.seqs("--until", "yesterday"), [])
        self.assertEqual(self.seqs("--since", "2000-01-01"), list(range(1, 8)))
        self.assertEqual(self.seqs("--until", "2000-01-01"), [])
        self.assertEqual(self.seqs("--since", "2000-01-01T00:00:00+01:00", "--entity",
                                   "order"), [3, 5, 7])
        p = run(["show", "--since", "garbage"], data=self.data)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--since", p.stderr)

    def test_last_n(self):
        self.assertEqual(self.seqs("-n", "3"), [5, 6, 7])
        self.assertEqual(self.seqs("-n", "100"), list(range(1, 8)))
        self.assertEqual(self.seqs("-n", "2", "--entity", "strategy"), [4, 6])
        self.assertEqual(self.seqs("-n", "1", "--id", "ord-1"), [7])
        self.assertEqual(self.seqs("--lines", "2"), [6, 7])

    def test_last_n_has_no_upper_bound(self):
        """Issue 13 item 14: -n takes any N (as journalctl -n); more matches than one page
        of the library's queries (10000) are still the newest N, oldest first."""
        d = ttlib.TempDir()
        self.addCleanup(d.__exit__)
        data = os.path.join(d.path, "data")
        ttlib.init(data)
        total = 10050
        p = run(["append"], data=data, timeout=300, input=ttlib.ndjson(
            ev("order", "o-%d" % i, "FILLED" if i % 2 else "NEW", "bot") for i in range(total)))
        self.assertExit(p, 0)

        def seqs(*args):
            p = run(["show", "-o", "json"] + list(args), data=data, timeout=300)
            self.assertExit(p, 0, " ".join(args))
            return [g["seq"] for g in json_lines(p.stdout)]

        self.assertEqual(seqs("-n", "100000"), list(range(1, total + 1)))
        self.assertEqual(seqs("-n", "10020"), list(range(total - 10020 + 1, total + 1)))
        self.assertEqual(seqs("-n", "5000", "--type", "FILLED"), list(range(52, total + 1, 2)))
        self.assertEqual(seqs("-n", "6000", "--type", "FILLED"), list(range(2, total + 1, 2)))
        p = run(["show", "-n", "1000000000", "-o", "csv"], data=data, timeout=300)
        self.assertExit(p, 0)
        self.assertEqual(len(p.stdout.splitlines()), 1 + total)

    def test_short_format(self):
        p = run(["show", "--id", "clx1"], data=self.data)
        self.assertExit(p, 0)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "[%s] alice CREATED strategy/clx1 (\u2192 DRAFT)"
                         % self.all[0]["ts"])
        self.assertEqual(lines[1], "  Reason: created momentum strategy")
        self.assertEqual(lines[2], "[%s] system ACTIVATED strategy/clx1 (PENDING \u2192 ACTIVE)"
                         % self.all[1]["ts"])
        self.assertEqual(lines[3], "  Reason: Strategy activated by orchestrator")
        p = run(["show", "--id", "ord-1", "-o", "short"], data=self.data)
        self.assertIn("[%s] bot-8 SETTLED order/ord-1\n" % self.all[6]["ts"], p.stdout)

    def test_csv(self):
        p = subprocess.run([ttlib.BIN, "--data", self.data, "show", "-o", "csv"],
                           capture_output=True, env=ttlib.base_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        raw = p.stdout.decode("utf-8")
        self.assertTrue(raw.endswith("\r\n"), "RFC 4180 records end in CRLF")
        rows = list(csv.reader(io.StringIO(raw, newline=""), strict=True))
        self.assertEqual(rows[0], ttlib.EVENT_FIELDS)
        self.assertEqual(len(rows), 1 + len(self.all))
        for row, g in zip(rows[1:], self.all):
            r = dict(zip(rows[0], row))
            self.assertEqual(int(r["seq"]), g["seq"])
            for k in ["ts", "entity", "entity_id", "event_type", "actor", "leaf_hash"]:
                self.assertEqual(r[k], g[k], k)
            for k in ["old_status", "new_status", "reason", "occurred_at", "idempotency_key"]:
                self.assertEqual(r[k], g[k] if g[k] is not None else "", k)
            self.assertEqual(json.loads(r["metadata"]) if r["metadata"] else None,
                             g["metadata"])
        # The metadata column is quoted with doubled quotes; a reason with a newline is quoted.
        self.assertIn('"{""qty"":100', raw)
        self.assertIn('"strategy failed: drawdown, ""limit""\nexceeded"', raw)

class FollowTest(TTCase):
    def test_follow(self):
        data = self.new_ledger()
        for e in [ev("strategy", "s1", "CREATED", "a"), ev("order", "o1", "FILLED", "b"),
                  ev("strategy", "s2", "CREATED", "a"), ev("order", "o2", "FILLED", "b"),
                  ev("strategy", "s3", "CREATED", "a"), ev("order", "o3", "FILLED", "b")]:
            self.assertExit(run(["append"] + flags(e), data=data), 0)
        proc = subprocess.Popen([ttlib.BIN, "--data", data, "show", "-f", "-o", "json",
                                 "--entity", "order"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=ttlib.base_env())
        lines = queue.Queue()

        def reader():
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        t = threading.Thread(target=reader, daemon=True)
        t.start()

        def next_event(timeout):
            line = lines.get(timeout=timeout)
            if line is None:
                self.fail("show -f exited (%s): %s" % (proc.wait(), proc.stderr.read()))
            return json.loads(line)

        try:
            self.assertEqual([next_event(20)["seq"] for _ in range(3)], [2, 4, 6])
            # A non-matching event, then a matching one: only the latter shows up.
            self.assertExit(run(["append"] + flags(ev("strategy", "zzz", "CREATED", "x")),
                                data=data), 0)
            start = time.time()
            a = run_json(["append"] + flags(ev("order", "ord-follow", "FILLED", "bot-9")),
                         data=data)
            got = next_event(10)
            self.assertEqual(got["seq"], a["seq"])
            self.assertEqual(got["entity_id"], "ord-follow")
            self.assertLess(time.time() - start, 10)
            self.assertIsNone(proc.poll(), "show -f keeps running")
        finally:
            proc.terminate()
            try:
                rc = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            t.join(5)
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(rc, 0, "show -f stops cleanly on SIGTERM")



    def test_follow_from_an_empty_match(self):
        # Nothing matches yet: -f follows from the current head.
        data = self.new_ledger()
        self.assertExit(run(["log", "before"], data=data), 0)
        proc = subprocess.Popen([ttlib.BIN, "--data", data, "show", "-f", "--grep", "needle"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=ttlib.base_env())
        try:
            time.sleep(0.5)
            self.assertExit(run(["log", "a needle in the haystack"], data=data), 0)
            line = proc.stdout.readline()  # blocks until the event shows up
            self.assertIn("maintenance/manual", line)
            self.assertEqual(proc.stdout.readline(), "  Reason: a needle in the haystack\n")
        finally:
            proc.terminate()
            try:
                rc = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(rc, 0)


class TreeTest(TTCase):
    """verify, checkpoint, key, prove, consistency, stats and test."""

    def setUp(self):
        super().setUp()
        self.data = self.new_ledger()
        events = [ev(entity_id="o-%d" % i, reason="fill %d" % i) for i in range(1, 41)]
        ttlib.append_events(self.data, events, batch=7)
        self.leaves = [bytes.fromhex(g["leaf_hash"]) for g in ttlib.show_all(self.data)]
        self.assertEqual(len(self.leaves), 40)

    def test_verify_ok(self):
        p = run(["verify"], data=self.data)
        self.assertExit(p, 0)
        self.assertIn("ok", p.stdout)
        run(["checkpoint"], data=self.data)
        r = run_json(["verify"], data=self.data)
        self.assertTrue(r["ok"])
        self.assertEqual(r["tree_size"], 40)
        self.assertEqual(r["events_checked"], 40)
        self.assertEqual(r["checkpoints_checked"], 1)
        self.assertIsNone(r["first_bad_seq"])
        self.assertIsNone(r["bad_checkpoint_size"])
        # An empty ledger verifies too.
        self.assertExit(run(["verify"], data=self.new_ledger("empty")), 0)

    def test_checkpoint_and_key(self):
        vkey = run(["key"], data=self.data).stdout.strip()
        self.assertRegex(vkey, VKEY_RE)
        name, keyid, alg_pub = ttlib.parse_verifier_key(vkey)
        self.assertEqual(alg_pub[0], 1, "Ed25519 algorithm byte")
        self.assertEqual(len(alg_pub), 33)
        self.assertEqual(ttlib.note_key_id(name, alg_pub), keyid)

        p = run(["checkpoint"], data=self.data)
        self.assertExit(p, 0)
        note = p.stdout
        lines = note.split("\n")
        self.assertEqual(lines[0], name, "origin line")
        self.assertEqual(lines[1], "40", "size line")
        root = base64.b64decode(lines[2], validate=True)
        self.assertEqual(root, ttlib.mth(self.leaves))
        self.assertEqual(lines[3], "")
        self.assertTrue(lines[4].startswith("\u2014 " + name + " "), lines[4])
        self.assertTrue(note.endswith("\n"))
        origin, size, root2, sigs = ttlib.parse_note(note)
        self.assertEqual((origin, size, root2), (name, 40, root))
        self.assertEqual(len(sigs), 1)
        self.assertEqual(sigs[0][0], name)
        self.assertEqual(sigs[0][1], keyid, "signature key id matches the verifier key")
        self.assertEqual(len(sigs[0][2]), 64, "Ed25519 signature")

        j = run_json(["checkpoint"], data=self.data)
        self.assertEqual(set(j), {"tree_size", "root_hash", "ts", "note"})
        self.assertEqual(j["tree_size"], 40)
        self.assertEqual(j["root_hash"], root.hex())
        self.assertRegex(j["ts"], ttlib.TS_RE)
        self.assertEqual(j["note"], note, "the latest checkpoint covers the tree already")

        self.assertExit(run(["append"] + flags(ev()), data=self.data), 0)
        j2 = run_json(["checkpoint"], data=self.data)
        self.assertEqual(j2["tree_size"], 41)
        self.assertNotEqual(j2["note"], note)

    def test_prove(self):
        for seq, size in [(1, 40), (40, 40), (17, 40), (1, 1), (5, 5), (6, 33), (32, 32),
                          (33, 34), (20, None)]:
            args = ["prove", str(seq)] + (["--tree-size", str(size)] if size else [])
            p = run_json(args, data=self.data)
            size = size or 40
            self.assertEqual(set(p), {"leaf_index", "tree_size", "leaf_hash", "hashes",
                                      "root_hash"})
            self.assertEqual((p["leaf_index"], p["tree_size"]), (seq - 1, size))
            self.assertEqual(p["leaf_hash"], self.leaves[seq - 1].hex())
            self.assertEqual(p["root_hash"], ttlib.mth(self.leaves[:size]).hex())
            proof = [bytes.fromhex(h) for h in p["hashes"]]
            self.assertTrue(ttlib.verify_inclusion(seq - 1, size, self.leaves[seq - 1], proof,
                                                   ttlib.mth(self.leaves[:size])),
                            "inclusion proof of %d in %d" % (seq, size))
            self.assertFalse(ttlib.verify_inclusion(seq - 1, size, b"\0" * 32, proof,
                                                    ttlib.mth(self.leaves[:size])))
        p = run(["prove", "3"], data=self.data)
        self.assertExit(p, 0)
        self.assertIn(self.leaves[2].hex(), p.stdout)
        for bad in [["prove", "41"], ["prove", "0"], ["prove", "5", "--tree-size", "4"],
                    ["prove", "5", "--tree-size", "41"]]:
            p = run(bad, data=self.data)
            self.assertIn(p.returncode, (1, 2), bad)
            self.assertTrue(p.stderr.startswith("tradetrail prove:"), p.stderr)

    def test_consistency(self):
        for m, n in [(1, 40), (3, 8), (4, 8), (8, 40), (32, 40), (39, 40), (40, 40), (7, 7),
                     (1, 2), (6, 33), (16, 17)]:
            c = run_json(["consistency", str(m), str(n)], data=self.data)
            self.assertEqual(set(c), {"first", "second", "hashes", "first_root", "second_root"})
            self.assertEqual((c["first"], c["second"]), (m, n))
            r1, r2 = ttlib.mth(self.leaves[:m]), ttlib.mth(self.leaves[:n])
            self.assertEqual(c["first_root"], r1.hex())
            self.assertEqual(c["second_root"], r2.hex())
            proof = [bytes.fromhex(h) for h in c["hashes"]]
            self.assertTrue(ttlib.verify_consistency(m, n, r1, r2, proof),
                            "consistency proof %d -> %d" % (m, n))
            if m < n:
                self.assertFalse(ttlib.verify_consistency(m, n, r1, b"\1" * 32, proof))
        p = run(["consistency", "3", "8"], data=self.data)
        self.assertExit(p, 0)
        self.assertIn(ttlib.mth(self.leaves[:8]).hex(), p.stdout)
        for bad in [["consistency", "8", "3"], ["consistency", "3", "41"]]:
            p = run(bad, data=self.data)
            self.assertIn(p.returncode, (1, 2), bad)

    def test_stats(self):
        s = run_json(["stats"], data=self.data)
        self.assertEqual(set(s), {"total", "today", "tree_size", "last_ts", "checkpoint",
                                  "by_entity", "by_event_type"})
        self.assertEqual((s["total"], s["today"], s["tree_size"]), (40, 40, 40))
        self.assertRegex(s["last_ts"], ttlib.TS_RE)
        self.assertIsNone(s["checkpoint"])
        self.assertEqual(s["by_entity"], {"order": 40})
        self.assertEqual(s["by_event_type"], {"FILLED": 40})
        run(["log", "x"], data=self.data)
        run(["checkpoint"], data=self.data)
        s = run_json(["stats"], data=self.data)
        self.assertEqual(s["total"], 41)
        self.assertEqual(s["by_entity"], {"order": 40, "maintenance": 1})
        self.assertEqual(s["by_event_type"], {"FILLED": 40, "ACTION": 1})
        self.assertEqual(set(s["checkpoint"]), {"tree_size", "ts", "age_seconds"})
        self.assertEqual(s["checkpoint"]["tree_size"], 41)
        self.assertGreaterEqual(s["checkpoint"]["age_seconds"], 0)
        self.assertLess(s["checkpoint"]["age_seconds"], 60)
        p = run(["stats"], data=self.data)
        self.assertExit(p, 0)
        self.assertIn("41", p.stdout)

    def test_test_command(self):
        p = run(["test"], data=self.data)
        self.assertExit(p, 0)
        j = run_json(["test"], data=self.data)
        self.assertEqual(j["seq"], 42)
        self.assertEqual((j["entity"], j["entity_id"], j["event_type"]),
                         ("system", "tradetrail-test", "TEST"))
        self.assertExit(run(["verify"], data=self.data), 0)


class TokenTest(TTCase):
    """token create|list -o json: the library's JSON shapes, escaped by the one writer."""

    def test_json_shapes(self):
        data = self.new_ledger()
        name = 'desk "a" \\ bot\u00e9'
        made = run_json(["token", "create", "--role", "ingest", "--name", name], data=data)
        self.assertEqual(set(made), {"id", "role", "token"})
        self.assertEqual(made["role"], "ingest")
        self.assertRegex(made["token"], r"^tt_[0-9a-f]{64}$")
        self.assertExit(run(["token", "revoke", str(made["id"])], data=data), 0)
        p = run(["token", "list", "-o", "json"], data=data)
        self.assertExit(p, 0)
        rows = {r["id"]: r for r in json_lines(p.stdout)}
        row = rows[made["id"]]
        self.assertEqual(row["name"], name)
        self.assertEqual(row["role"], "ingest")
        self.assertRegex(row["created"], r"Z$")
        self.assertRegex(row["revoked"], r"Z$")
        self.assertNotIn(made["token"], p.stdout)


class UsageTest(TTCase):
    def test_usage_errors_exit_2(self):
        data = self.new_ledger()
        cases = [
            ["bogus"],
            ["show", "--bogus"],
            ["append", "--bogus", "x"],
            ["verify", "--bogus"],
            ["stats", "--bogus"],
            ["show", "-n"],
            ["show", "--entity"],
            ["show", "-n", "abc"],
            ["show", "-o", "xml"],
            ["show", "unexpected"],
            ["prove"],
            ["prove", "1", "2"],
            ["consistency", "5"],
            ["log"],
            ["append", "--entity"],
            ["append", "--batch", "0"],
            ["append", "--batch", "10001"],
            ["verify", "--since-checkpoint"],
        ]
        for args in cases:
            p = run(args, data=data, input="")
            self.assertExit(p, 2, " ".join(args))
            self.assertTrue(p.stderr.strip(), args)
        p = run(["--data"])
        self.assertExit(p, 2, "--data without a value")
        p = run([])
        self.assertExit(p, 2, "no command")
        # Global options may follow the command.
        p = subprocess.run([ttlib.BIN, "stats", "--data", data, "-o", "json"],
                           capture_output=True, text=True, env=ttlib.base_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["total"], 0)

    def test_not_initialised(self):
        data = os.path.join(self.tmp, "nothing-here")
        for args in [["show"], ["verify"], ["stats"], ["checkpoint"], ["prove", "1"],
                     ["append"] + flags(ev()), ["log", "x"]]:
            p = run(args, data=data)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertNotEqual(p.returncode, 2, args)
            self.assertIn("tradetrail init", p.stderr, args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)


class LocationTest(TTCase):
    def test_env_and_flags(self):
        d_env = os.path.join(self.tmp, "env")
        d_flag = os.path.join(self.tmp, "flag")
        p = run(["init"], env={"TRADETRAIL_DATA": d_env})
        self.assertExit(p, 0)
        self.assertTrue(os.path.exists(os.path.join(d_env, "ledger.db")))
        self.assertExit(run(["log", "via env"], env={"TRADETRAIL_DATA": d_env}), 0)
        ttlib.init(d_flag)
        # --data wins over the environment.
        self.assertExit(run(["log", "via flag"], data=d_flag, env={"TRADETRAIL_DATA": d_env}),
                        0)
        self.assertEqual([g["reason"] for g in ttlib.show_all(d_env)], ["via env"])
        self.assertEqual([g["reason"] for g in ttlib.show_all(d_flag)], ["via flag"])

    def test_config_db_and_db_flag(self):
        real = self.new_ledger("real")
        empty = os.path.join(self.tmp, "other")
        os.makedirs(empty)
        conf = os.path.join(self.tmp, "tt.conf")
        with open(conf, "w") as f:
            f.write("# tradetrail configuration\ndb = %s\n" %
                    os.path.join(real, "ledger.db"))
        p = run(["--config", conf, "log", "via config"], data=empty)
        self.assertExit(p, 0)
        self.assertEqual([g["reason"] for g in ttlib.show_all(real)], ["via config"])
        self.assertFalse(os.path.exists(os.path.join(empty, "ledger.db")))
        # --db and TRADETRAIL_DB, and sqlite: URIs.
        p = run(["--db", os.path.join(real, "ledger.db"), "log", "via --db"], data=empty)
        self.assertExit(p, 0)
        p = run(["log", "via env db"], data=empty,
                env={"TRADETRAIL_DB": "sqlite:" + os.path.join(real, "ledger.db")})
        self.assertExit(p, 0)
        self.assertEqual([g["reason"] for g in ttlib.show_all(real)],
                         ["via config", "via --db", "via env db"])
        # The default configuration file DATA/tradetrail.conf is read.
        with open(os.path.join(empty, "tradetrail.conf"), "w") as f:
            f.write("db = %s\n" % os.path.join(real, "ledger.db"))
        s = run_json(["stats"], data=empty)
        self.assertEqual(s["total"], 3)
        # A missing --config file is an error.
        p = run(["--config", os.path.join(self.tmp, "missing.conf"), "stats"], data=real)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("missing.conf", p.stderr)

    def test_default_xdg_state_home(self):
        xdg = os.path.join(self.tmp, "xdg")
        env = {"XDG_STATE_HOME": xdg, "HOME": os.path.join(self.tmp, "home")}
        p = run(["init"], env=env)
        self.assertExit(p, 0)
        self.assertTrue(os.path.exists(os.path.join(xdg, "tradetrail", "ledger.db")))
        self.assertNotIn("warning", p.stderr)
        self.assertExit(run(["log", "default dir"], env=env), 0)
        self.assertEqual(len(ttlib.show_all(os.path.join(xdg, "tradetrail"))), 1)

    def test_default_home_local_state(self):
        home = os.path.join(self.tmp, "home")
        os.makedirs(home)
        p = run(["init"], env={"XDG_STATE_HOME": None, "HOME": home})
        self.assertExit(p, 0)
        self.assertTrue(os.path.exists(os.path.join(home, ".local", "state", "tradetrail",
                                                    "ledger.db")))

    def test_fallback_to_tmp(self):
        """The /tmp/tradetrail-$UID fallback (SPEC 10). It runs in a private mount namespace
        whose /tmp is an empty tmpfs, so its assertions always run: a real fallback
        directory on the machine is neither touched nor a reason to skip them (it used to
        be both, issue 13)."""
        if os.environ.get("TT_PRIVATE_TMP") != "1":
            self.run_with_private_tmp("LocationTest.test_fallback_to_tmp")
            return
        if os.geteuid() != 0 and os.access("/proc", os.W_OK):
            self.skipTest("/proc is writable here")
        fallback = "/tmp/tradetrail-%d" % os.getuid()
        self.assertFalse(os.path.exists(fallback), "the private /tmp is not empty")
        for env in [{"XDG_STATE_HOME": None, "HOME": "/proc/nonexistent"},
                    {"XDG_STATE_HOME": "/proc/nonexistent/state", "HOME": "/proc/nonexistent"}]:
            p = run(["key"], env=env)
            self.assertIn("warning", p.stderr)
            self.assertIn(fallback, p.stderr)
            self.assertNotEqual(p.returncode, 0)
            try:
                p = run(["init"], env=env)
                self.assertExit(p, 0)
                self.assertIn("warning", p.stderr)
                self.assertTrue(os.path.exists(os.path.join(fallback, "ledger.db")))
                p = run(["log", "in the fallback"], env=env)
                self.assertExit(p, 0)
                self.assertEqual(len(ttlib.show_all(fallback)), 1)
                self.assertEqual(stat.S_IMODE(os.stat(fallback).st_mode), 0o700)
                # Issue 13 item 6: a fallback directory others may write (or, as root, one
                # another user made) is refused, never used.
                os.chmod(fallback, 0o777)
                p = run(["show"], env=env)
                self.assertExit(p, 1)
                self.assertIn("data directory %s is writable by others" % fallback, p.stderr)
                os.chmod(fallback, 0o700)
                if os.geteuid() == 0:
                    os.chown(fallback, 65534, 65534)
                    p = run(["log", "planted"], env=env)
                    self.assertExit(p, 1)
                    self.assertIn("data directory %s is owned by uid 65534" % fallback,
                                  p.stderr)
            finally:
                shutil.rmtree(fallback, ignore_errors=True)

    def run_with_private_tmp(self, test_name):
        """Run one test of this file again in a new mount namespace with an empty tmpfs on
        /tmp (unshare(1); -r maps the user to root in a user namespace when not root)."""
        unshare = shutil.which("unshare")
        if unshare is None:
            self.skipTest("unshare(1) is not installed: cannot give the test a private /tmp")
        # A checkout or build under /tmp (a CI clone, say) stays reachable: the old /tmp is
        # bound at OLD_TMP before the empty tmpfs hides it, and paths into it are moved.
        old_tmp = "/mnt/tt-old-tmp"

        def moved(path):
            return old_tmp + path[4:] if path == "/tmp" or path.startswith("/tmp/") else path

        cmd = [unshare, "-m"] + (["-r"] if os.geteuid() != 0 else []) + [
            "sh", "-c",
            'mount -t tmpfs tt-mnt /mnt && mkdir %s && mount --bind /tmp %s && '
            'mount -t tmpfs tt-private-tmp /tmp && exec "$0" "$@"' % (old_tmp, old_tmp),
            moved(sys.executable), moved(os.path.abspath(__file__)), test_name]
        env = dict(os.environ, TT_PRIVATE_TMP="1")
        for name in ("TT_BIN", "TT_SOURCE_DIR", "TT_BUILD_DIR"):
            if name in env:
                env[name] = moved(env[name])
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        if p.returncode != 0 and "mount" in p.stderr and "Ran " not in p.stderr:
            self.skipTest("no private mount namespace here: %s" % p.stderr.strip()[-300:])
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertRegex(p.stderr, r"\nOK\s*$", p.stderr[-3000:])  # ran, not skipped


class ConcurrencyTest(TTCase):
    """SPEC 5: several processes append to one store at the same time."""

    WRITERS = 2
    PER_WRITER = 3000
    LOGS = 200

    def test_concurrent_processes(self):
        data = self.new_ledger()
        results, errors = {}, []

        def writer(w):
            events = [ev("order", "w%d-%05d" % (w, i), "FILLED", "writer-%d" % w,
                         reason="writer %d line %d" % (w, i)) for i in range(self.PER_WRITER)]
            p = run(["append", "--batch", "50", "-o", "json"], data=data,
                    input=ttlib.ndjson(events), timeout=300)
            if p.returncode != 0:
                errors.append("writer %d: exit %d: %s" % (w, p.returncode, p.stderr))
            results[w] = json_lines(p.stdout)

        def logger():
            for i in range(self.LOGS):
                p = run(["log", "concurrent log %04d" % i, "--source", "conc"], data=data,
                        timeout=120)
                if p.returncode != 0:
                    errors.append("log %d: exit %d: %s" % (i, p.returncode, p.stderr))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(self.WRITERS)]
        threads.append(threading.Thread(target=logger))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

        got = ttlib.show_all(data)
        total = self.WRITERS * self.PER_WRITER + self.LOGS
        self.assertEqual([g["seq"] for g in got], list(range(1, total + 1)), "gap-free seqs")
        keys = [g["entity_id"] if g["entity"] == "order" else g["reason"] for g in got]
        self.assertEqual(len(set(keys)), total, "every event exactly once")
        expect = {"w%d-%05d" % (w, i) for w in range(self.WRITERS)
                  for i in range(self.PER_WRITER)}
        expect |= {"concurrent log %04d" % i for i in range(self.LOGS)}
        self.assertEqual(set(keys), expect)
        ts = [g["ts"] for g in got]
        self.assertEqual(ts, sorted(ts), "ts never decreases along seq")
        by_seq = {g["seq"]: g for g in got}
        for w in range(self.WRITERS):
            chunks = results[w]
            self.assertEqual([c["count"] for c in chunks], [50] * (self.PER_WRITER // 50))
            for k, c in enumerate(chunks):
                # A chunk is one atomic batch: contiguous seqs, in line order.
                ids = [by_seq[s]["entity_id"] for s in range(c["first_seq"],
                                                               c["first_seq"] + 50)]
                self.assertEqual(ids, ["w%d-%05d" % (w, i) for i in range(k * 50, k * 50 + 50)])
        r = run_json(["verify"], data=data, timeout=120)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["events_checked"], total)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the verifiable export (SPEC 8; docs/FORMAT.md section 8), legal holds
and the retention plan:
`tradetrail export` of time windows in both formats, checked by `tradetrail verify-export`
and by tools/verify_export.py (which knows only FORMAT.md); tampering with an export (a
byte, a deleted line, swapped lines, a widened window, a bad signature, another ledger's
key) caught by both with exit 1; every leaf version (1, 2, and 3 with SPEC 15's producer)
re-hashed from CSV records, a changed producer cell caught, a CSV written before the
producer columns existed still verified; GET /api/export and /api/export/manifest giving
the same verifiable export over HTTP, pinned to one snapshot while appends go on; roles
and bad parameters."""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttlib  # noqa: E402
import ttserver as T  # noqa: E402

PYVERIFY = os.path.join(T.SOURCE_DIR, "tools", "verify_export.py")
STORE_V1 = os.path.join(T.SOURCE_DIR, "tests", "vectors", "store-v1")
PRODUCER = 'ft,"main"'  # a CSV cell with a comma and quotes
CSV_HEADER = ("seq,ts,entity,entity_id,event_type,actor,old_status,new_status,reason,metadata,"
              "occurred_at,idempotency_key,principal,leaf_hash,producer,producer_seq\r\n")


def events(n, tag):
    out = []
    for i in range(n):
        ev = {"entity": "order", "entity_id": "o-%s-%d" % (tag, i), "event_type": "FILLED",
              "actor": "bot,\"7\""}
        if i % 2:
            ev.update(reason="fill \"%d\"\r\nsecond line" % i, old_status="NEW",
                      new_status="FILLED", occurred_at="2026-01-18T11:30:59.5+01:00",
                      idempotency_key="k-%s-%d" % (tag, i),
                      metadata={"px": 101.25, "qty": 3, "tags": ["a", "é"], "tiny": 1e-05,
                                "nested": {"x": None, "y": True}})
        if i % 3 == 0:
            ev["reason"] = ""
        out.append(ev)
    return out


def verify_both(case, data, d, key, expect=0):
    """tradetrail verify-export and tools/verify_export.py on d: both exit with expect."""
    c = T.cli(data, ["verify-export", d, "--key", key])
    py = subprocess.run([sys.executable, PYVERIFY, d, "--key", key], capture_output=True,
                        text=True, timeout=120)
    case.assertEqual(c.returncode, expect, c.stdout + c.stderr)
    case.assertEqual(py.returncode, expect, py.stdout + py.stderr)
    return c, py


def data_files(d):
    return [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.startswith("events")]


def data_file(d):
    return data_files(d)[0]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, b):
    with open(path, "wb") as f:
        f.write(b)


def rewrite(d, edit):
    """Apply edit to the bytes of d's first data file and record its new size and SHA-256
    in the (unsigned) manifest: a consistent forgery, or the file another writer made."""
    path = data_file(d)
    b = edit(read(path))
    write(path, b)
    mpath = os.path.join(d, "manifest.json")
    m = json.loads(read(mpath))
    m["files"][0].update(sha256=hashlib.sha256(b).hexdigest(), bytes=len(b))
    write(mpath, json.dumps(m).encode())


class ExportCLI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tt-export-")
        cls.data = os.path.join(cls.tmp, "data")
        T.cli_ok(cls.data, ["init"])
        cls.key = T.cli_ok(cls.data, ["key"]).strip()
        # a batch shares one ts: single events mark the window's edges
        T.cli_ok(cls.data, ["append"], input=T.ndjson(events(7, "a")))
        T.cli_ok(cls.data, ["log", "start"])
        cls.since = T.show_all(cls.data)[-1]["ts"]
        T.cli_ok(cls.data, ["append"], input=T.ndjson(events(12, "b")))
        T.cli_ok(cls.data, ["log", "end"])
        cls.until = T.show_all(cls.data)[-1]["ts"]
        T.cli_ok(cls.data, ["append"], input=T.ndjson(events(5, "c")))
        other = os.path.join(cls.tmp, "other")
        T.cli_ok(other, ["init"])
        cls.other_key = T.cli_ok(other, ["key"]).strip()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def export(self, name, *args):
        out = os.path.join(self.tmp, name)
        p = T.cli(self.data, ["export", "--out", out] + list(args))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "", "quiet when stderr is not a terminal")
        return out

    def verify_both(self, d, key=None, expect=0):
        return verify_both(self, self.data, d, key or self.key, expect)

    def test_windows_both_formats(self):
        all_events = T.show_all(self.data)
        for fmt in ("jsonl", "csv"):
            d = self.export("all-" + fmt, "--format", fmt, "--file-events", "10")
            c, _ = self.verify_both(d)
            self.assertIn("%d events" % len(all_events), c.stdout)
            man = json.load(open(os.path.join(d, "manifest.json")))
            self.assertEqual(man["count"], len(all_events))
            self.assertEqual(len(man["files"]), (len(all_events) + 9) // 10)
            d = self.export("win-" + fmt, "--format", fmt, "--since", self.since, "--until",
                            self.until)
            man = json.load(open(os.path.join(d, "manifest.json")))
            inside = [e for e in all_events if self.since <= e["ts"] < self.until]
            self.assertEqual(man["count"], len(inside))
            self.assertEqual(man["first_seq"], inside[0]["seq"])
            self.assertIsNotNone(man["boundary"]["before"])
            self.assertIsNotNone(man["boundary"]["after"])
            self.verify_both(d)
        # the JSON lines are the events as GET /api/events/{seq} shows them
        d = os.path.join(self.tmp, "win-jsonl")
        lines = open(os.path.join(d, "events-000001.jsonl"), encoding="utf-8").read()
        got = [json.loads(x) for x in lines.splitlines()]
        self.assertEqual(got, [e for e in all_events if self.since <= e["ts"] < self.until])

    def test_empty_window_and_usage(self):
        d = self.export("empty", "--since", self.until, "--until", self.until)
        self.verify_both(d)
        p = T.cli(self.data, ["export"])
        self.assertEqual(p.returncode, 2)
        p = T.cli(self.data, ["export", "--out", d + "x", "--format", "xml"])
        self.assertEqual(p.returncode, 2)
        p = T.cli(self.data, ["export", "--out", d])  # an export is never overwritten
        self.assertEqual(p.returncode, 1, p.stderr)
        p = T.cli(self.data, ["verify-export", d])
        self.assertEqual(p.returncode, 2)

    def test_csv_file_without_events_needs_its_header(self):
        """A CSV file of no events still starts with the header row: a record (or nothing)
        in its place is refused, not skipped."""
        fake = (b'13,"2026-01-01T00:00:00.000000Z","order","o-evil","FILLED","bot",,,'
                b'"fabricated",,,,"cli:root","' + b"0" * 64 + b'",,\r\n')
        for name, body in (("record", fake), ("nothing", b""), ("header-and-record",
                                                                CSV_HEADER.encode() + fake)):
            with self.subTest(instead_of_header=name):
                d = self.export("csv-empty-" + name, "--format", "csv", "--since", self.until,
                                "--until", self.until)
                self.verify_both(d)
                rewrite(d, lambda b: body)
                c, py = self.verify_both(d, expect=1)
                self.assertIn("events-000001.csv", c.stderr)
                self.assertIn("events-000001.csv", py.stderr)

    def tampered(self, fmt, name, edit):
        src = self.export("t-%s-%s" % (fmt, name), "--format", fmt, "--since", self.since,
                          "--until", self.until)
        d = src + "-x"
        shutil.copytree(src, d)
        edit(d)
        return d

    def test_tamper_caught_by_both(self):
        def flip_byte(d):
            path = data_file(d)
            b = bytearray(open(path, "rb").read())
            b[len(b) // 2] ^= 0x20
            open(path, "wb").write(bytes(b))

        def delete_line(d):
            path = data_file(d)
            lines = open(path, "rb").read().splitlines(keepends=True)
            del lines[3]
            open(path, "wb").write(b"".join(lines))

        def swap_lines(d):
            path = data_file(d)
            lines = open(path, "rb").read().splitlines(keepends=True)
            lines[2], lines[3] = lines[3], lines[2]
            open(path, "wb").write(b"".join(lines))

        def widen(d):
            path = os.path.join(d, "manifest.json")
            m = json.load(open(path))
            m["since"] = "2000-01-01T00:00:00.000000Z"
            json.dump(m, open(path, "w"))

        def bad_signature(d):
            path = os.path.join(d, "manifest.json")
            m = json.load(open(path))
            note = m["checkpoint"]["note"]
            i = note.rindex("=") - 2
            m["checkpoint"]["note"] = note[:i] + ("A" if note[i] != "A" else "B") + note[i + 1:]
            json.dump(m, open(path, "w"))

        def rehash(d):  # a consistent forgery: the edit and the manifest's SHA-256 agree
            flip_byte(d)
            path = os.path.join(d, "manifest.json")
            m = json.load(open(path))
            f = data_file(d)
            import hashlib
            m["files"][0]["sha256"] = hashlib.sha256(open(f, "rb").read()).hexdigest()
            json.dump(m, open(path, "w"))

        # The reason fields hold CRLF inside quotes, so "lines" of the CSV file are not
        # records: a line edit there still breaks a record and must still be caught.
        for fmt in ("jsonl", "csv"):
            for name, edit in (("byte", flip_byte), ("del", delete_line), ("swap", swap_lines),
                               ("widen", widen), ("sig", bad_signature), ("rehash", rehash)):
                with self.subTest(fmt=fmt, tamper=name):
                    d = self.tampered(fmt, name, edit)
                    c, py = self.verify_both(d, expect=1)
                    self.assertIn("FAILED", c.stderr)
                    self.assertIn("FAILED", py.stderr)
        d = self.export("otherkey")
        c, py = self.verify_both(d, key=self.other_key, expect=1)
        self.assertIn("checkpoint", c.stderr)
        self.assertIn("checkpoint", py.stderr)


    def test_truncated_export_refused(self):
        """The manifest's tree_size is not signed: an export cut short (or claimed empty)
        with tree_size lowered to its new end, boundary.after dropped and the range proof
        rebuilt from public leaf hashes must fail; only the signed tree size counts."""
        leaves = [bytes.fromhex(e["leaf_hash"]) for e in T.show_all(self.data)]

        def proof(lo, hi, size, out):
            def walk(l, r):
                if r <= lo or l >= hi:
                    out.append(ttlib.mth(leaves[l:r]).hex())
                elif r - l > 1:
                    k = 1
                    while k * 2 < r - l:
                        k *= 2
                    walk(l, l + k)
                    walk(l + k, r)
            walk(0, size)
            return out

        def forge(src, name, keep):
            d = os.path.join(self.tmp, name)
            os.mkdir(d)
            m = json.loads(read(os.path.join(src, "manifest.json")))
            lines = read(data_file(src)).splitlines(keepends=True)[:keep]
            body = b"".join(lines)
            write(os.path.join(d, "events-000001.jsonl"), body)
            m.update(last_seq=m["first_seq"] - 1 + keep, count=keep)
            m["tree_size"] = m["last_seq"]
            m["boundary"]["after"] = None
            m["files"] = [{"name": "events-000001.jsonl", "first_seq": m["first_seq"],
                           "last_seq": m["last_seq"], "count": keep, "bytes": len(body),
                           "sha256": hashlib.sha256(body).hexdigest()}]
            lo = m["first_seq"] - 1 - (1 if m["boundary"]["before"] else 0)
            m["proof"] = {"first": lo, "end": m["last_seq"],
                          "hashes": proof(lo, m["last_seq"], m["checkpoint"]["tree_size"], [])}
            write(os.path.join(d, "manifest.json"), json.dumps(m).encode())
            return d

        win = self.export("trunc-win", "--since", self.since, "--until", self.until)
        full = self.export("trunc-full")
        n_win = json.loads(read(os.path.join(win, "manifest.json")))["count"]
        for src, name, keep in ((win, "tail", n_win - 3), (win, "empty", 0),
                                (full, "full-tail", len(leaves) - 5), (full, "full-empty", 0)):
            with self.subTest(forgery=name):
                c, py = self.verify_both(forge(src, "trunc-" + name, keep), expect=1)
                self.assertIn("checkpoint", c.stderr)
                self.assertIn("checkpoint", py.stderr)
        # the genuine exports name their window in the success message
        c, py = self.verify_both(win)
        for out in (c.stdout, py.stdout):
            self.assertIn("from %s until %s" % (self.since, self.until), out)
        c, py = self.verify_both(full)
        for out in (c.stdout, py.stdout):
            self.assertIn("from the start until the end", out)


    def test_only_the_documented_text_forms(self):
        """FORMAT.md 8.2, 8.3: hex is lowercase, times are section 5's exact form, a seq is
        bare digits. Other spellings hash alike, so only the syntax check can refuse them."""
        def data(pattern, repl):
            return lambda d: rewrite(d, lambda b: re.sub(pattern, repl, b, count=1))

        def manifest(edit):
            def apply(d):
                path = os.path.join(d, "manifest.json")
                m = json.loads(read(path))
                edit(m)
                write(path, json.dumps(m).encode())
            return apply

        upper = (lambda mo: mo.group(0).upper())
        edits = {
            "leaf_hash upper": data(rb"[0-9a-f]{64}", upper),
            "ts t": data(rb"(\d{4}-\d{2}-\d{2})T", rb"\1t"),
            "ts z": data(rb"(\.\d{6})Z", rb"\1z"),
            "since z": manifest(lambda m: m.update(since=m["since"].replace("Z", "z"))),
            "until t": manifest(lambda m: m.update(until=m["until"].replace("T", "t"))),
            "sha256 upper": manifest(lambda m: m["files"][0].update(
                sha256=m["files"][0]["sha256"].upper())),
            "root_hash upper": manifest(lambda m: m["checkpoint"].update(
                root_hash=m["checkpoint"]["root_hash"].upper())),
            "proof hash upper": manifest(lambda m: m["proof"]["hashes"].__setitem__(
                0, m["proof"]["hashes"][0].upper())),
            "boundary upper": manifest(lambda m: m["boundary"].update(
                before=m["boundary"]["before"].upper())),
        }
        for fmt in ("jsonl", "csv"):
            for name, edit in edits.items():
                with self.subTest(fmt=fmt, form=name):
                    d = self.tampered(fmt, name.replace(" ", "-"), edit)
                    c, py = self.verify_both(d, expect=1)
                    self.assertIn("FAILED", c.stderr)
        # a bare CSV seq with a NUL and more after its digits
        d = self.tampered("csv", "seq-nul", data(rb"\r\n(\d+),",
                                                   lambda mo: b"\r\n%s\x00junk," % mo.group(1)))
        c, py = self.verify_both(d, expect=1)
        self.assertIn("seq", c.stderr)


class ExportProducers(unittest.TestCase):
    """SPEC 15's producer and producer_seq in CSV exports (FORMAT.md 8.2), over a ledger
    holding every leaf version: tests/vectors/store-v1's version 1 events, then version 2
    events and version 3 ones (with a producer), the window's boundary events version 3."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tt-export-prod-")
        cls.data = os.path.join(cls.tmp, "data")
        os.mkdir(cls.data, 0o700)
        shutil.copy(os.path.join(STORE_V1, "signing.key"), cls.data)
        os.chmod(os.path.join(cls.data, "signing.key"), 0o600)
        db = os.path.join(cls.data, "ledger.db")
        con = sqlite3.connect(db)
        with open(os.path.join(STORE_V1, "ledger.sql"), encoding="utf-8") as f:
            con.executescript(f.read())
        con.close()
        os.chmod(db, 0o600)
        cls.key = T.cli_ok(cls.data, ["key"]).strip()
        counter = iter(range(1, 1000))  # the producer's own counter, without gaps

        def append(evs, every=0):
            for i, ev in enumerate(evs):
                if every and i % every == 0:
                    ev.update(producer=PRODUCER, producer_seq=next(counter))
            T.cli_ok(cls.data, ["append"], input=T.ndjson(evs))
            return T.show_all(cls.data)[-1]["ts"]

        append(events(5, "a"))  # version 2
        # single events mark the windows' edges: a batch shares one ts
        cls.v1v2_until = append(events(1, "edge1"), every=1)
        cls.since = append(events(1, "edge2"))
        append(events(9, "b"), every=2)
        cls.until = append(events(1, "edge3"), every=1)
        append(events(4, "c"), every=3)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def export(self, name, *args):
        out = os.path.join(self.tmp, name)
        T.cli_ok(self.data, ["export", "--out", out] + list(args))
        return out

    def copy(self, src, name):
        d = os.path.join(self.tmp, name)
        shutil.copytree(src, d)
        return d

    def test_every_leaf_version_round_trips(self):
        evs = T.show_all(self.data)
        versions = {3 if e.get("producer") else 2 if e["principal"] else 1 for e in evs}
        self.assertEqual(versions, {1, 2, 3})
        d = self.export("all-csv", "--format", "csv", "--file-events", "10")
        c, _ = verify_both(self, self.data, d, self.key)
        self.assertIn("%d events" % len(evs), c.stdout)
        text = "".join(read(f).decode() for f in data_files(d))
        self.assertTrue(text.startswith(CSV_HEADER), text[:300])
        # an event without a producer: both cells empty; with one: quoted name, bare seq
        self.assertRegex(text, r'"[0-9a-f]{64}",,\r\n')
        self.assertRegex(text, r'"[0-9a-f]{64}","ft,""main""",1\r\n')
        for fmt in ("csv", "jsonl"):
            d = self.export("win-" + fmt, "--format", fmt, "--since", self.since, "--until",
                            self.until)
            m = json.loads(read(os.path.join(d, "manifest.json")))
            self.assertEqual(m["boundary"]["before"][:2], "03")
            self.assertEqual(m["boundary"]["after"][:2], "03")
            verify_both(self, self.data, d, self.key)

    def test_tampered_producer_caught_by_both(self):
        src = self.export("t-src", "--format", "csv", "--since", self.since, "--until",
                          self.until)
        edits = {
            "name": lambda b: b.replace(b'"ft,""main""",3\r\n', b'"ft,""maim""",3\r\n', 1),
            "seq": lambda b: b.replace(b'"ft,""main""",3\r\n', b'"ft,""main""",4\r\n', 1),
            "dropped": lambda b: b.replace(b'"ft,""main""",3\r\n', b",\r\n", 1),
            "added": lambda b: re.sub(rb'("[0-9a-f]{64}"),,\r\n', rb'\1,"ft,""main""",99\r\n',
                                      b, count=1),
        }
        for name, edit in edits.items():
            with self.subTest(tamper=name):
                d = self.copy(src, "t-" + name)
                before = read(data_file(d))
                rewrite(d, edit)
                self.assertTrue(read(data_file(d)) != before, "the edit changed nothing")
                c, py = verify_both(self, self.data, d, self.key, expect=1)
                self.assertIn("leaf hash does not match", c.stderr)
                self.assertIn("leaf hash does not match", py.stderr)

    def test_header_without_producer_columns(self):
        # A CSV export made before the columns existed: 14 columns, the same bytes
        # otherwise (versions 1 and 2 only), its manifest naming those bytes.
        src = self.export("old-src", "--format", "csv", "--until", self.v1v2_until)

        def old(b):
            b = b.replace(CSV_HEADER.encode(), CSV_HEADER.encode()[:-len(
                b",producer,producer_seq\r\n")] + b"\r\n", 1)
            return re.sub(rb'("[0-9a-f]{64}"),,\r\n', rb"\1\r\n", b)

        d = self.copy(src, "old")
        rewrite(d, old)
        self.assertNotIn(b"producer", read(data_file(d)))
        c, _ = verify_both(self, self.data, d, self.key)
        self.assertIn("26 events", c.stdout)
        # the header is what a reader goes by: a record that does not match it, or a
        # header with one producer column only, is refused
        for name, edit in (("extra", lambda b: re.sub(rb'("[0-9a-f]{64}")\r\n', rb"\1,,\r\n",
                                                     b, count=1)),
                           ("half", lambda b: b.replace(b"leaf_hash\r\n",
                                                        b"leaf_hash,producer\r\n", 1))):
            with self.subTest(header=name):
                x = self.copy(d, "old-" + name)
                rewrite(x, edit)
                c, py = verify_both(self, self.data, x, self.key, expect=1)
                self.assertIn("events-000001.csv", c.stderr)
                self.assertIn("events-000001.csv", py.stderr)


class HoldsAndPlan(unittest.TestCase):
    """tradetrail hold and retention plan, as a user runs them."""

    def test_hold_cycle_and_plan(self):
        tmp = tempfile.mkdtemp(prefix="tt-hold-")
        try:
            data = os.path.join(tmp, "data")
            T.cli_ok(data, ["init"])
            T.cli_ok(data, ["append"], input=T.ndjson(events(6, "p")))
            self.assertIn("held", T.cli_ok(data, ["hold", "add", "o-p-1", "--reason", "SEC"]))
            p = T.cli(data, ["hold", "add", "o-p-1", "--reason", "again"])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("already under a legal hold", p.stderr)
            self.assertEqual(T.cli(data, ["hold", "add", "o-p-2"]).returncode, 2)
            j = json.loads(T.cli_ok(data, ["hold", "list", "-o", "json"]))
            self.assertEqual([h["entity_id"] for h in j["holds"]], ["o-p-1"])
            plan = json.loads(T.cli_ok(data, ["retention", "plan", "--older-than", "0",
                                              "-o", "json"]))
            self.assertEqual((plan["first_seq"], plan["count"]), (1, 7))
            self.assertEqual(plan["held"], 2)  # o-p-1's event and its HOLD event
            env_plan = subprocess.run(
                [T.BIN, "--data", data, "retention", "plan", "--older-than", "0", "-o",
                 "json"], capture_output=True, text=True,
                env=dict(T.env_without_tradetrail(), TRADETRAIL_MIN_RETENTION_DAYS="30"))
            self.assertEqual(env_plan.returncode, 0, env_plan.stderr)
            plan = json.loads(env_plan.stdout)
            self.assertEqual((plan["effective_days"], plan["count"]), (30, 0))
            T.cli_ok(data, ["hold", "remove", "o-p-1", "--reason", "closed"])
            self.assertIn("no legal holds", T.cli_ok(data, ["hold", "list"]))
            self.assertEqual(T.cli(data, ["retention", "run"]).returncode, 2)  # no --older-than
            T.cli_ok(data, ["verify"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class ExportHTTP(T.ServerCase):
    def fetch(self, path, token="read"):
        return self.server.request("GET", path, token=token)

    def test_stream_and_manifest(self):
        srv = self.server
        r = srv.post_events(T.ndjson(events(30, "h")), content_type="application/x-ndjson")
        self.assertEqual(r.status, 201, r)
        tmp = tempfile.mkdtemp(prefix="tt-export-http-")
        try:
            key = T.cli_ok(srv.data, ["key"]).strip()
            for fmt in ("jsonl", "csv"):
                r = self.fetch("/api/export?format=" + fmt)
                self.assertEqual(r.status, 200, r)
                size = int(r.headers["x-tradetrail-tree-size"])
                self.assertEqual(int(r.headers["x-tradetrail-count"]), size)
                # appends after the download do not change what the manifest describes
                srv.post_events(T.event(entity_id="later"))
                link = r.headers["link"]
                url = link[link.index("<") + 1:link.index(">")]
                self.assertIn("tree_size=%d" % size, url)
                m = self.fetch(url)
                self.assertEqual(m.status, 200, m)
                # proved against the checkpoint of the snapshot, not a later one
                man = json.loads(m.body)
                self.assertEqual(man["tree_size"], size)
                self.assertEqual(man["checkpoint"]["tree_size"], size)
                self.save(os.path.join(tmp, fmt), r, m, key)
            # a size no checkpoint was signed at (inside one batch) is not a snapshot: the
            # export is of the next signed size, and its manifest is proved against that
            srv.post_events(T.ndjson(events(3, "z")), content_type="application/x-ndjson")
            size = int(self.fetch("/api/export").headers["x-tradetrail-tree-size"])
            srv.post_events(T.event(entity_id="later"))
            r = self.fetch("/api/export?tree_size=%d" % (size - 1))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(int(r.headers["x-tradetrail-tree-size"]), size)
            link = r.headers["link"]
            m = self.fetch(link[link.index("<") + 1:link.index(">")])
            self.assertEqual(json.loads(m.body)["checkpoint"]["tree_size"], size)
            self.save(os.path.join(tmp, "rounded"), r, m, key)
            # a window given relative to now: the headers resolve it
            r = self.fetch("/api/export?since=-1h&until=" + urllib.parse.quote("-0s"))
            self.assertEqual(r.status, 200, r)
            self.assertIn("x-tradetrail-since", r.headers)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def save(self, d, data, manifest, key):
        """The two answers saved as one export directory, which both verifiers accept."""
        os.mkdir(d)
        ext = "csv" if data.headers["content-type"].startswith("text/csv") else "jsonl"
        write(os.path.join(d, "events." + ext), data.body)
        write(os.path.join(d, "manifest.json"), manifest.body)
        verify_both(self, self.server.data, d, key)

    def test_csv_with_producers(self):
        srv = self.server
        evs = events(8, "hp")
        for i, ev in enumerate(evs[::2]):
            ev.update(producer=PRODUCER, producer_seq=i + 1)
        r = srv.post_events(T.ndjson(evs), content_type="application/x-ndjson")
        self.assertEqual(r.status, 201, r)
        r = srv.post_events(T.event(entity_id="hp-1", producer="p2", producer_seq=1))
        self.assertEqual(r.status, 201, r)
        tmp = tempfile.mkdtemp(prefix="tt-export-http-")
        try:
            key = T.cli_ok(srv.data, ["key"]).strip()
            r = self.fetch("/api/export?format=csv")
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.body.startswith(CSV_HEADER.encode()), r.body[:300])
            self.assertIn(b',"ft,""main""",4\r\n', r.body)
            self.assertIn(b',"p2",1\r\n', r.body)
            link = r.headers["link"]
            m = self.fetch(link[link.index("<") + 1:link.index(">")])
            self.assertEqual(m.status, 200, m)
            self.save(os.path.join(tmp, "csv"), r, m, key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_roles_and_parameters(self):
        self.assertEqual(self.fetch("/api/export", token=None).status, 401)
        self.assertEqual(self.fetch("/api/export", token="ingest").status, 403)
        self.assertEqual(self.fetch("/api/export/manifest", token="ingest").status, 403)
        for q in ("format=xml", "since=nonsense", "tree_size=0", "tree_size=999999999",
                  "bogus=1", "since=2026-01-02&until=2026-01-01"):
            with self.subTest(q=q):
                self.assertError(self.fetch("/api/export?" + q), 400)
                self.assertError(self.fetch("/api/export/manifest?" + q), 400)


if __name__ == "__main__":
    unittest.main()

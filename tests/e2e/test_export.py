#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the verifiable export (SPEC 8; docs/FORMAT.md section 8), legal holds
and the retention plan:
`tradetrail export` of time windows in both formats, checked by `tradetrail verify-export`
and by tools/verify_export.py (which knows only FORMAT.md); tampering with an export (a
byte, a deleted line, swapped lines, a widened window, a bad signature, another ledger's
key) caught by both with exit 1; GET /api/export and /api/export/manifest giving the same
verifiable export over HTTP, pinned to one snapshot while appends go on; roles and bad
parameters."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

PYVERIFY = os.path.join(T.SOURCE_DIR, "tools", "verify_export.py")


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
        key = key or self.key
        c = T.cli(self.data, ["verify-export", d, "--key", key])
        py = subprocess.run([sys.executable, PYVERIFY, d, "--key", key], capture_output=True,
                            text=True, timeout=120)
        self.assertEqual(c.returncode, expect, c.stdout + c.stderr)
        self.assertEqual(py.returncode, expect, py.stdout + py.stderr)
        return c, py

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

    def tampered(self, fmt, name, edit):
        src = self.export("t-%s-%s" % (fmt, name), "--format", fmt, "--since", self.since,
                          "--until", self.until)
        d = src + "-x"
        shutil.copytree(src, d)
        edit(d)
        return d

    def test_tamper_caught_by_both(self):
        def data_file(d):
            return os.path.join(d, sorted(f for f in os.listdir(d) if f.startswith("events"))[0])

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
                d = os.path.join(tmp, fmt)
                os.mkdir(d)
                open(os.path.join(d, "events." + fmt), "wb").write(r.body)
                open(os.path.join(d, "manifest.json"), "wb").write(m.body)
                c = T.cli(srv.data, ["verify-export", d, "--key", key])
                self.assertEqual(c.returncode, 0, c.stderr)
                py = subprocess.run([sys.executable, PYVERIFY, d, "--key", key],
                                    capture_output=True, text=True, timeout=120)
                self.assertEqual(py.returncode, 0, py.stderr)
            # a window given relative to now: the headers resolve it
            r = self.fetch("/api/export?since=-1h&until=" + urllib.parse.quote("-0s"))
            self.assertEqual(r.status, 200, r)
            self.assertIn("x-tradetrail-since", r.headers)
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

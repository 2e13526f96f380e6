#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of retention (SPEC 8; docs/FORMAT.md section 9): `tradetrail retention
run` moves old bodies into archive segments, after which verify still passes (reading the
segments), proofs of archived events work, listings leave archived events out unless
asked (--include-archive, include_archive=1), an export spanning archived and hot events
verifies with verify-export and tools/verify_export.py, legal holds keep their bodies hot
and min_retention_days is never undercut; a segment or manifest tampered with (a byte, a
deleted line, swapped lines, a manifest field, a missing file) makes verify fail naming
it; a run killed with SIGKILL at each of its steps loses nothing, verify passes, and the
next run completes it; POST /api/cron/retention runs the job."""

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

PYVERIFY = os.path.join(T.SOURCE_DIR, "tools", "verify_export.py")
SECRET = "retention-secret-0123456789"


def run(data, args, env=None, timeout=120):
    e = T.env_without_tradetrail()
    e.update(env or {})
    return subprocess.run(T.argv(data, *args), capture_output=True, text=True, env=e,
                          timeout=timeout * T.SLOW)


def fill(data, n, tag="a"):
    evs = []
    for i in range(n):
        ev = {"entity": "order", "entity_id": "o-%d" % (i % 5), "event_type": "FILLED",
              "actor": "bot", "reason": "fill %s %d" % (tag, i)}
        if i % 3 == 0:
            ev.update(idempotency_key="k-%s-%d" % (tag, i), metadata={"px": i, "tag": tag})
        evs.append(ev)
    T.cli_ok(data, ["append"], input=T.ndjson(evs))


def everything(data):
    out = T.cli_ok(data, ["show", "--include-archive", "-o", "json"])
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def segments(data):
    d = os.path.join(data, "archive")
    return sorted(f for f in os.listdir(d) if f.startswith("seg-")) if os.path.isdir(d) else []


class Retention(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tt-retention-")
        self.data = os.path.join(self.tmp, "data")
        T.cli_ok(self.data, ["init"])
        self.key = T.cli_ok(self.data, ["key"]).strip()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def retain(self, *extra, env=None):
        p = run(self.data, ["retention", "run", "--older-than", "0", "-o", "json"] + list(extra),
                env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def verify_ok(self):
        p = run(self.data, ["verify", "-o", "json"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return json.loads(p.stdout)

    def test_archive_verify_prove_query_export(self):
        fill(self.data, 250)
        T.cli_ok(self.data, ["hold", "add", "o-3", "--reason", "inquiry"])
        before = everything(self.data)
        r = self.retain("--segment-events", "100")
        self.assertEqual(r["segments"], 3)
        self.assertEqual((r["first_seq"], r["last_seq"]), (1, 251))
        self.assertEqual(r["kept"], 51)  # o-3's 50 events and the HOLD event
        self.assertEqual(r["archived"], 200)
        rep = self.verify_ok()
        self.assertEqual(rep["segments_checked"], 3)
        self.assertEqual(rep["archived_checked"], 200)
        # archived events are absent from listings, present on request, unchanged
        hot = T.show_all(self.data)
        self.assertTrue(all(e["seq"] > 251 or e["entity_id"] == "o-3"
                            or e["entity"] == "legal_hold" for e in hot), hot[:3])
        self.assertEqual(len([e for e in hot if e["entity_id"] == "o-3"
                              and e["entity"] == "order"]), 50)
        after = everything(self.data)
        self.assertEqual(after[:len(before)], before)
        grep = T.cli_ok(self.data, ["show", "--include-archive", "--grep", "fill a 7", "-o",
                                    "json"])
        self.assertEqual([json.loads(x)["seq"] for x in grep.splitlines()], [8])
        self.assertEqual(T.cli_ok(self.data, ["show", "--grep", "fill a 7", "-o", "json"]), "")
        # proofs of archived events still work against the signed checkpoint
        proof = json.loads(T.cli_ok(self.data, ["prove", "2", "-o", "json"]))
        self.assertEqual(proof["leaf_hash"], before[1]["leaf_hash"])
        # an export spanning archived and hot events verifies offline, both ways
        T.cli_ok(self.data, ["log", "after retention"])
        out = os.path.join(self.tmp, "export")
        T.cli_ok(self.data, ["export", "--format", "jsonl", "--out", out])
        T.cli_ok(self.data, ["verify-export", out, "--key", self.key])
        p = subprocess.run([sys.executable, PYVERIFY, "--key", self.key, out],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(out, "events-000001.jsonl")) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), len(everything(self.data)))
        # a re-run archives only what is new; lifting the hold sweeps its bodies
        r = self.retain()
        self.assertEqual(r["plan"]["first_seq"], 252)
        self.assertEqual(r["swept"], 0)
        T.cli_ok(self.data, ["hold", "remove", "o-3", "--reason", "closed"])
        r = self.retain()
        self.assertEqual(r["swept"], 50)
        self.assertEqual(self.verify_ok()["archived_checked"],
                         len(everything(self.data)) - len(T.show_all(self.data)))
        self.assertEqual(everything(self.data)[:len(before)], before)
        # the runs are recorded: job runs and one ARCHIVED event per segment
        kinds = [(e["entity"], e["event_type"]) for e in T.show_all(self.data)]
        self.assertIn(("retention", "ARCHIVED"), kinds)
        self.assertIn(("retention", "SWEPT"), kinds)
        self.assertIn(("job", "COMPLETED"), kinds)

    def test_min_retention_days_never_undercut(self):
        fill(self.data, 20)
        env = {"TRADETRAIL_MIN_RETENTION_DAYS": "30"}
        p = run(self.data, ["retention", "run", "--older-than", "0"], env=env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("min_retention_days", p.stderr)
        r = self.retain("--older-than", "31", env=env)  # the last --older-than wins
        self.assertEqual((r["plan"]["effective_days"], r["segments"]), (31, 0))
        self.assertEqual(segments(self.data), [])
        self.assertEqual(len(T.show_all(self.data)), len(everything(self.data)))

    def test_server_refuses_retention_days_below_minimum(self):
        # POST /api/cron/retention runs with retention_days whatever the schedule: a value
        # below the legal minimum stops the server at start instead of being raised silently
        env = {"TRADETRAIL_RETENTION_DAYS": "0", "TRADETRAIL_MIN_RETENTION_DAYS": "30",
               "TRADETRAIL_CRON_SECRET": SECRET}
        srv = T.Server(self.data, env=env)
        try:
            with self.assertRaises(AssertionError) as e:
                srv.start()
            self.assertIn("retention_days (0) is below min_retention_days (30)", str(e.exception))
        finally:
            srv.cleanup()

    def tampered(self, what):
        p = run(self.data, ["verify"])
        self.assertEqual(p.returncode, 1, "%s: %s" % (what, p.stdout + p.stderr))
        return p.stdout + p.stderr

    def test_tampered_segments_and_manifests(self):
        fill(self.data, 60)
        self.retain("--segment-events", "40")
        arch = os.path.join(self.data, "archive")
        seg = os.path.join(arch, "seg-000000000001-000000000040.jsonl.zst")
        man = os.path.join(arch, "seg-000000000001-000000000040.json")
        keep = os.path.join(self.tmp, "keep")
        shutil.copytree(arch, keep)

        def restore():
            shutil.rmtree(arch)
            shutil.copytree(keep, arch)
            self.verify_ok()

        def lines_edit(fn):
            raw = subprocess.run(["zstd", "-dc", seg], capture_output=True, check=True).stdout
            lines = fn(raw.splitlines(keepends=True))
            subprocess.run(["zstd", "-q", "-f", "-o", seg], input=b"".join(lines), check=True)

        with open(seg, "rb") as f:
            b = bytearray(f.read())
        b[len(b) // 2] ^= 1
        with open(seg, "wb") as f:
            f.write(bytes(b))
        self.assertIn("seg-000000000001-000000000040", self.tampered("a byte"))
        restore()
        lines_edit(lambda ls: ls[:5] + ls[6:])
        self.assertIn("seg-000000000001-000000000040", self.tampered("a deleted line"))
        restore()
        lines_edit(lambda ls: ls[:5] + [ls[6], ls[5]] + ls[7:])
        self.assertIn("seg-000000000001-000000000040", self.tampered("swapped lines"))
        restore()
        with open(man) as f:
            m = json.load(f)
        m["bytes"] += 1
        with open(man, "w") as f:
            json.dump(m, f)
        self.assertIn("seg-000000000001-000000000040", self.tampered("the manifest"))
        restore()
        os.remove(man)
        self.assertIn("seg-000000000001-000000000040", self.tampered("a missing manifest"))
        restore()
        os.remove(seg)
        self.assertIn("seg-000000000001-000000000040", self.tampered("a missing segment"))
        restore()

    def delete_body(self, seq):
        """Remove one event's row as retention's purge does (its index entries too): the
        store's trigger allows it inside a recorded segment."""
        if T.pglib.test_db_args(self.data):  # one table there: its indexes go with the row
            T.pglib.test_db_sql(self.data, "DELETE FROM events WHERE seq = %d" % seq)
            return
        con = sqlite3.connect(os.path.join(self.data, "ledger.db"))
        subj, reason, idem = con.execute("SELECT subject, reason, idem FROM events WHERE seq=?",
                                         (seq,)).fetchone()
        con.execute("DELETE FROM subject_index WHERE subject=? AND seq=?", (subj, seq))
        con.execute("DELETE FROM subject_recent WHERE subject=? AND seq=?", (subj, seq))
        if reason:
            con.execute("INSERT INTO events_fts(events_fts, rowid, reason) VALUES "
                        "('delete', ?, ?)", (seq, reason))
        if idem:
            con.execute("DELETE FROM idem WHERE key=? AND seq=?", (idem, seq))
        con.execute("DELETE FROM events WHERE seq=?", (seq,))
        con.commit()
        con.close()

    def test_a_held_body_deleted_is_found(self):
        """SPEC 4: a deletion is detected. A body a legal hold kept in the store, deleted,
        still has its leaf in the segment; verify must say the hold should have kept it,
        and must not say so of a body retention removed before its id was held."""
        fill(self.data, 40)
        T.cli_ok(self.data, ["hold", "add", "o-3", "--reason", "inquiry"])
        self.retain()
        T.cli_ok(self.data, ["hold", "add", "o-1", "--reason", "later"])
        T.cli_ok(self.data, ["hold", "add", "o-2", "--reason", "kept"])
        fill(self.data, 20, "b")
        self.retain()
        # o-3's hold lifted: the sweep over the first segment finds o-1 held, but o-1's
        # bodies there went in the first run, before its hold: no verdict against them
        T.cli_ok(self.data, ["hold", "remove", "o-3", "--reason", "closed"])
        self.assertEqual(self.retain()["swept"], 12)  # o-3: 8 events of the first fill, 4 of the second
        self.verify_ok()
        held = [e["seq"] for e in T.show_all(self.data)
                if e["entity"] == "order" and e["entity_id"] == "o-2"]
        self.assertTrue(held)
        self.delete_body(held[0])
        out = self.tampered("a held body deleted")
        self.assertIn("seq %d: its body is missing from the store, but o-2 was under a legal "
                      "hold" % held[0], out)
        # a hold's own event likewise
        hold_seq = [e["seq"] for e in T.show_all(self.data) if e["entity"] == "legal_hold"][0]
        self.delete_body(hold_seq)
        self.assertIn("seq %d: a legal hold's event is missing" % hold_seq,
                      self.tampered("a hold event deleted"))

    def test_forged_line_never_served(self):
        # a segment line rewritten with its own leaf hash recomputed passes the line's check;
        # only the file's SHA-256 and range proof, at the end of the segment, catch it, so a
        # page that fills before the end (1 event; the CLI's first page of 1000) must still
        # read the segment whole before serving any of it
        fill(self.data, 1100)
        self.retain("--segment-events", "1100")
        seg = os.path.join(self.data, "archive", "seg-000000000001-000000001100.jsonl.zst")
        raw = subprocess.run(["zstd", "-dc", seg], capture_output=True, check=True).stdout
        lines = raw.splitlines(keepends=True)
        o = json.loads(lines[4])
        leaf = base64.b64decode(o["leaf"]).replace(b"fill a 4", b"VOID a 4")
        o["leaf"] = base64.b64encode(leaf).decode()
        o["leaf_hash"] = hashlib.sha256(b"\x00" + leaf).hexdigest()
        lines[4] = (json.dumps(o, separators=(",", ":")) + "\n").encode()
        subprocess.run(["zstd", "-q", "-f", "-o", seg], input=b"".join(lines), check=True)
        p = run(self.data, ["show", "--include-archive", "-o", "json"])
        self.assertFalse("VOID" in p.stdout, "a forged event was printed")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("SHA-256", p.stderr)
        tok = json.loads(T.cli_ok(self.data, ["token", "create", "--role", "read", "-o",
                                              "json"]))["token"]
        with T.Server(self.data) as srv:
            for path in ("/api/events/5", "/api/events?include_archive=1&limit=10"):
                r = srv.request("GET", path, token=tok)
                self.assertFalse(b"VOID" in r.body, path)
                self.assertNotEqual(r.status, 200, path)

    def test_shared_archive_dir(self):
        # segment names hold only seqs: another ledger's run on the same directory must
        # neither delete this ledger's segments nor replace one of the same name
        env = {"TRADETRAIL_ARCHIVE_DIR": os.path.join(self.tmp, "shared")}
        fill(self.data, 20)
        archived = self.retain(env=env)["archived"]
        fill(self.data, 20, "b")
        archived += self.retain(env=env)["archived"]
        before = sorted(os.listdir(env["TRADETRAIL_ARCHIVE_DIR"]))
        small, same = os.path.join(self.tmp, "small"), os.path.join(self.tmp, "same")
        for data, n in ((small, 10), (same, 20)):
            T.cli_ok(data, ["init"])
            fill(data, n, "o")
        p = run(small, ["retention", "run", "--older-than", "0"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run(same, ["retention", "run", "--older-than", "0"], env=env)
        self.assertNotEqual(p.returncode, 0, p.stderr)
        self.assertIn("already exists and belongs to the ledger with origin", p.stderr)
        self.assertIn("archive_dir", p.stderr)
        after = os.listdir(env["TRADETRAIL_ARCHIVE_DIR"])
        self.assertTrue(set(before) <= set(after), (before, after))
        for data in (self.data, small, same):
            p = run(data, ["verify"], env=env)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = run(self.data, ["show", "--include-archive", "-o", "json"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), len(T.show_all(self.data)) + archived)

    def test_archive_flag_only_the_configured_dir(self):
        # segments are recorded by file name and read from archive_dir only: a run into any
        # other directory would leave verify, show and export failing
        fill(self.data, 30)
        elsewhere = os.path.join(self.tmp, "elsewhere")
        p = run(self.data, ["retention", "run", "--older-than", "0", "--archive", elsewhere])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("TRADETRAIL_ARCHIVE_DIR", p.stderr)
        self.assertFalse(os.path.exists(elsewhere))
        self.assertEqual(segments(self.data), [])
        self.verify_ok()
        r = self.retain("--archive", os.path.join(self.data, "archive"))
        self.assertEqual(r["segments"], 1)
        p = run(self.data, ["retention", "plan", "--older-than", "0", "--archive", elsewhere],
                env={"TRADETRAIL_ARCHIVE_DIR": elsewhere})
        self.assertEqual(p.returncode, 0, p.stderr)  # the flag agrees with the setting

    def test_kill_at_every_step(self):
        # mid-delete stops the run after the removal's first statement, before its commit
        fill(self.data, 300)
        T.cli_ok(self.data, ["hold", "add", "o-1", "--reason", "kept"])
        before = everything(self.data)
        for step in ("archive-written", "archive-synced", "archive-checked", "archive-manifest",
                     "retention-mid-delete", "retention-recorded"):
            T.cli_ok(self.data, ["log", "before " + step])
            before = everything(self.data)
            p = run(self.data, ["retention", "run", "--older-than", "0"],
                    env={"TRADETRAIL_FAILPOINT": step})
            self.assertEqual(p.returncode, -9, "%s: %s" % (step, p.stderr))
            self.verify_ok()
            self.assertEqual(everything(self.data)[:len(before)], before, step)
        self.retain()
        self.verify_ok()
        now = everything(self.data)
        self.assertEqual(now[:len(before)], before)
        self.assertEqual([e["seq"] for e in now], list(range(1, len(now) + 1)))
        left = [f for f in os.listdir(os.path.join(self.data, "archive")) if f.endswith(".tmp")]
        self.assertEqual(left, [])


class RetentionHTTP(T.ServerCase):
    server_env = {"TRADETRAIL_CRON_SECRET": SECRET, "TRADETRAIL_RETENTION_DAYS": "0"}

    def test_cron_and_queries(self):
        srv = self.server
        r = srv.post_events([T.event(entity_id="o-%d" % i, reason="r %d" % i) for i in range(30)])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(srv.request("POST", "/api/cron/retention", token=None).status, 401)
        r = srv.request("POST", "/api/cron/retention", token=None,
                        headers={"X-Cron-Auth": SECRET})
        self.assertEqual(r.status, 200, r)
        res = r.json()["result"]
        self.assertEqual(r.json()["job"], "retention")
        self.assertGreaterEqual(res["archived"], 30)
        hot = srv.get_json("/api/events?limit=1000")["events"]
        self.assertFalse(any(e["entity_id"].startswith("o-") for e in hot), hot[:2])
        full = srv.get_json("/api/events?limit=1000&include_archive=1")["events"]
        self.assertEqual([e["seq"] for e in full], list(range(1, len(full) + 1)))
        o3 = [e for e in full if e["entity_id"] == "o-3"]
        page = srv.get_json("/api/events?limit=5&order=desc&include_archive=1&entity_id=o-3")
        self.assertEqual(page["events"], o3)
        one = srv.get_json("/api/events/%d" % o3[0]["seq"])
        self.assertEqual(one, o3[0])
        self.assertEqual(one["reason"], "r 3")
        proof = srv.get_json("/api/events/%d/proof" % one["seq"])
        self.assertEqual(proof["leaf_hash"], one["leaf_hash"])
        r = srv.request("GET", "/api/events?include_archive=2")
        self.assertEqual(r.status, 400, r)


if __name__ == "__main__":
    unittest.main()

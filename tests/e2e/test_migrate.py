#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`tradetrail migrate --from sqlite:PATH --to postgres://...` (issue 15): a SQLite ledger
filled by `tradetrail demo`, a token and a checkpoint is copied into a throwaway PostgreSQL
cluster (tests/e2e/pglib.py, which fails rather than skips without PostgreSQL); the copy
verifies with the same key, has the same counts, root, proofs and domain rows, and a server
on it accepts the old token. A non-empty target and a source with a tampered leaf are
refused (exit 1, the message names the seq) and leave the target without events, as is a
source whose rows retention moved into archive segments."""

import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
import ttlib as T  # noqa: E402
from ttserver import BIN, Server, env_without_tradetrail  # noqa: E402

import subprocess  # noqa: E402


def tt(data, *args, db=None):
    """tradetrail on data, on its SQLite store or on db; a CompletedProcess."""
    return subprocess.run([BIN, "--data", data] + (["--db", db] if db else []) + list(args),
                          capture_output=True, text=True, env=env_without_tradetrail(),
                          timeout=120)


def ok(p):
    if p.returncode != 0:
        raise AssertionError("exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return p.stdout


class Migrate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pglib.Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="tt-mig-")
        cls.data = os.path.join(cls.tmp, "data")
        ok(tt(cls.data, "init"))
        ok(tt(cls.data, "demo", "--events", "300"))
        cls.token = json.loads(ok(tt(cls.data, "token", "create", "--role", "read", "-o",
                                     "json")))["token"]
        ok(tt(cls.data, "checkpoint"))
        ok(tt(cls.data, "log", "after the checkpoint"))
        cls.source = "sqlite:" + os.path.join(cls.data, "ledger.db")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, True)

    def uri(self, schema):
        return pglib.schema_uri(self.pg.uri, schema)

    def count_events(self, schema):
        return int(self.pg.psql("SELECT count(*) FROM %s.events" % schema).strip())

    def test_copy_serves_and_verifies(self):
        db = self.uri("mig_copy")
        out = json.loads(ok(tt(self.data, "migrate", "--from", self.source, "--to", db,
                               "-o", "json")))
        src_stats = json.loads(ok(tt(self.data, "stats", "-o", "json")))
        self.assertEqual(out["events"], src_stats["tree_size"])
        self.assertEqual(out["checkpoints"], 1)
        self.assertGreater(out["rows"], 100)  # strategies, versions, feedback, token, ...
        ok(tt(self.data, "verify", db=db))
        dst_stats = json.loads(ok(tt(self.data, "stats", "-o", "json", db=db)))
        for st in (src_stats, dst_stats):
            st["checkpoint"].pop("age_seconds")
        for k in ("total", "tree_size", "by_entity", "by_event_type", "checkpoint", "last_ts"):
            self.assertEqual(src_stats[k], dst_stats[k], k)
        for args in (["prove", "7", "-o", "json"], ["consistency", "5", "300", "-o", "json"],
                     ["strategy", "list", "-o", "json"], ["feedback", "list", "-o", "json"],
                     ["token", "list", "-o", "json"]):
            self.assertEqual(ok(tt(self.data, *args)), ok(tt(self.data, *args, db=db)), args)
        src_cp = json.loads(ok(tt(self.data, "checkpoint", "-o", "json")))
        self.assertEqual(src_cp["root_hash"], out["root_hash"])
        with Server(data=self.data, extra_args=["--db", db]) as s:
            r = s.request("GET", "/api/events?limit=1&order=desc", token=self.token)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["events"][0]["seq"], src_stats["tree_size"])
            r = s.request("GET", "/api/events/42/proof?tree_size=%d" % src_stats["tree_size"],
                          token=self.token)
            self.assertEqual(r.json()["root_hash"], out["root_hash"])
            self.assertEqual(s.request("GET", "/api/events", token="tt_" + "0" * 64).status,
                             401)
            # New rows after the copy take ids after the copied ones.
            ok(tt(self.data, "token", "create", "--role", "ingest", db=db))
        ok(tt(self.data, "verify", db=db))

    def test_refuses_non_empty_target(self):
        db = self.uri("mig_full")
        ok(tt(self.data, "migrate", "--from", self.source, "--to", db))
        n = self.count_events("mig_full")
        p = tt(self.data, "migrate", "--from", self.source, "--to", db)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not empty", p.stderr)
        self.assertEqual(self.count_events("mig_full"), n)

    def test_refuses_tampered_source(self):
        copy = os.path.join(self.tmp, "mig_tampered")
        shutil.copytree(self.data, copy)
        con = T.open_db(copy)
        con.execute("UPDATE events SET reason = 'rewritten' WHERE seq = 42")
        con.close()
        db = self.uri("mig_tampered")
        p = tt(copy, "migrate", "--from", "sqlite:" + os.path.join(copy, "ledger.db"),
               "--to", db)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("seq 42", p.stderr)
        self.assertEqual(self.count_events("mig_tampered"), 0)

    def test_refuses_a_checkpoint_whose_note_names_another_tree(self):
        """A checkpoint row whose signed note (what clients check) is validly signed but
        for another tree: the row's root matches the events, so only reading the note
        finds it, and the copy would carry a checkpoint verify rejects."""
        copy = os.path.join(self.tmp, "mig_note")
        shutil.copytree(self.data, copy)
        later = os.path.join(self.tmp, "mig_note_later")
        shutil.copytree(self.data, later)
        ok(tt(later, "log", "one more"))
        ok(tt(later, "checkpoint"))
        con = T.open_db(later)
        (note,) = con.execute("SELECT note FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
                              ).fetchone()
        con.close()
        con = T.open_db(copy)
        (size,) = con.execute("SELECT max(tree_size) FROM checkpoints").fetchone()
        con.execute("UPDATE checkpoints SET note = ? WHERE tree_size = ?", (note, size))
        con.close()
        p = tt(copy, "migrate", "--from", "sqlite:" + os.path.join(copy, "ledger.db"),
               "--to", self.uri("mig_note"))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("checkpoint of tree size %d: its signed note names another tree" % size,
                      p.stderr)
        self.assertEqual(self.count_events("mig_note"), 0)

    def test_refuses_archived_source(self):
        """Retention moved event rows into archive segments: their leaves are not in the
        store, so migrate refuses with the reason rather than copying a gap."""
        data = os.path.join(self.tmp, "archived")
        ok(tt(data, "init"))
        for i in range(5):
            ok(tt(data, "log", "old entry %d" % i))
        ok(tt(data, "checkpoint"))
        ok(tt(data, "retention", "run", "--older-than", "0"))
        p = tt(data, "migrate", "--from", "sqlite:" + os.path.join(data, "ledger.db"),
               "--to", self.uri("mig_archived"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("archive segments", p.stderr)
        self.assertEqual(self.count_events("mig_archived"), 0)

    def test_usage(self):
        p = tt(self.data, "migrate", "--from", self.source)
        self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    unittest.main()

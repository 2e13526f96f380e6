#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A store written before leaf version 2 (tests/vectors/store-v1, issue 13 item 12): its
version 1 leaves still verify after the schema migration, new events are version 2 leaves
that record their principal, and the independent leaf encoder in ttlib agrees with both."""

import os
import shutil
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttlib  # noqa: E402

FIXTURE = os.path.join(ttlib.SOURCE_DIR, "tests", "vectors", "store-v1")


class UpgradeTest(ttlib.TTCase):
    def setUp(self):
        super().setUp()
        self.data = os.path.join(self.tmp, "data")
        os.mkdir(self.data, 0o700)
        shutil.copy(os.path.join(FIXTURE, "signing.key"), self.data)
        os.chmod(os.path.join(self.data, "signing.key"), 0o600)
        con = sqlite3.connect(ttlib.db_path(self.data))
        with open(os.path.join(FIXTURE, "ledger.sql"), encoding="utf-8") as f:
            con.executescript(f.read())
        con.close()
        os.chmod(ttlib.db_path(self.data), 0o600)

    def verify(self):
        return ttlib.run(["--data", self.data, "verify"])

    def test_version_1_store_verifies_and_grows_with_version_2(self):
        p = self.verify()
        self.assertEqual(p.returncode, 0, p.stderr)
        p = ttlib.run(["--data", self.data, "append", "--entity", "order", "--id", "o-1",
                       "--type", "CREATED", "--actor", "bot"])
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.verify()
        self.assertEqual(p.returncode, 0, p.stderr)
        con = ttlib.open_db(self.data, drop_triggers=False)
        events = ttlib.stored_events(con)
        con.close()
        self.assertEqual(len(events), 22)
        for seq, e in events.items():
            b = ttlib.leaf_bytes(e)
            self.assertEqual(b[0], 1 if seq <= 21 else 2, seq)
            self.assertEqual(ttlib.leaf_hash(b), e["leaf_hash"], seq)
        self.assertTrue(all(events[s]["principal"] is None for s in range(1, 22)))
        self.assertTrue(events[22]["principal"].startswith("cli:"), events[22]["principal"])
        shown = ttlib.show_all(self.data)
        self.assertIsNone(shown[0]["principal"])
        self.assertEqual(shown[-1]["principal"], events[22]["principal"])
        # Version 14 moved the per-subject index into its own table; a subject's history
        # reads it and the recent entries the new event went to.
        con = sqlite3.connect(ttlib.db_path(self.data))
        parts = [con.execute("SELECT count(*) FROM " + t).fetchone()[0]
                 for t in ("subject_index", "subject_recent")]
        con.close()
        self.assertEqual(parts, [21, 1])
        for sid in ("s-1", "o-1"):
            want = [e["seq"] for e in shown if e["entity_id"] == sid]
            got = [e["seq"] for e in ttlib.show_all(self.data, "--id", sid)]
            self.assertTrue(want, sid)
            self.assertEqual(got, want, sid)

    def test_version_1_idempotency_key_retried(self):
        # A retry after the upgrade of an event appended before it: same content, so the
        # original seq (its leaf is version 1, hashed without a principal), nothing written.
        args = ["--data", self.data, "append", "--entity", "strategy", "--id", "s-3", "--type",
                "CREATED", "--actor", "bot", "--reason", "reason 7 \u00fc",
                "--idempotency-key", "k-7"]
        p = ttlib.run(args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("already recorded as seq 7", p.stdout)
        p = ttlib.run(args[:-3] + ["other", "--idempotency-key", "k-7"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("different event", p.stderr)

    def test_version_1_event_tampered(self):
        con = ttlib.open_db(self.data)
        con.execute("UPDATE events SET reason = 'rewritten' WHERE seq = 5")
        con.close()
        p = self.verify()
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("5", p.stdout + p.stderr)

    def test_version_1_event_given_a_principal(self):
        # Passing an old event off as a version 2 leaf changes its hash.
        self.assertEqual(self.verify().returncode, 0)  # opened once: the column exists
        con = ttlib.open_db(self.data)
        con.execute("UPDATE events SET principal = 'lib' WHERE seq = 7")
        con.close()
        p = self.verify()
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The tamper suite on PostgreSQL (SPEC 4, issue 15): as the database superuser, who can
switch the append-only triggers off (session_replication_role = replica), change one row
or byte at a time and expect `tradetrail verify --db postgres://...` to exit 1 naming the
first bad seq or checkpoint. Each case gets a fresh copy of one pristine ledger (300
events with idempotency keys, reasons and metadata; tiles at level 0 and 1; checkpoints at
100, 256 and 300), made by `tradetrail migrate` from a SQLite ledger into its own schema.
Without switching the triggers off, UPDATE, DELETE and TRUNCATE of events are refused.
A throwaway cluster from tests/e2e/pglib.py; it fails, never skips, without PostgreSQL."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
from ttserver import BIN, env_without_tradetrail  # noqa: E402

FLIP = "set_byte(%s, %d, get_byte(%s, %d) # 1)"

# (name, SQL run with the triggers off, text the verify failure must contain)
CASES = [
    ("reason", "UPDATE events SET reason = reason || '.' WHERE seq = 17", "seq 17"),
    ("leaf hash", "UPDATE events SET leaf_hash = " + FLIP % ("leaf_hash", 31, "leaf_hash", 31) +
     " WHERE seq = 33", "seq 33"),
    ("ts", "UPDATE events SET ts = ts + 1 WHERE seq = 40", "seq 40"),
    ("metadata", "UPDATE events SET metadata = '{\"px\":0}' WHERE seq = 50", "seq 50"),
    ("idempotency key", "UPDATE events SET idem = 'other' WHERE seq = 60", "seq 60"),
    ("principal", "UPDATE events SET principal = 'token:root' WHERE seq = 70", "seq 70"),
    ("deleted row", "DELETE FROM events WHERE seq = 77", "seq 77"),
    ("interned actor", "UPDATE names SET value = 'mallory' WHERE id ="
     " (SELECT actor FROM events WHERE seq = 3)", "seq 3"),
    ("entity id", "UPDATE subjects SET entity_id = 'o-x' WHERE id ="
     " (SELECT subject FROM events WHERE seq = 90)", "seq 90"),
    ("swapped rows", "UPDATE events SET seq = -5 WHERE seq = 5; UPDATE events SET seq = 5"
     " WHERE seq = 6; UPDATE events SET seq = 6 WHERE seq = -5", "seq 5"),
    ("row beyond the head", "INSERT INTO events(seq, ts, entity, subject, event_type, actor,"
     " leaf_hash) SELECT 301, ts, entity, subject, event_type, actor, leaf_hash FROM events"
     " WHERE seq = 300", "301"),
    ("tile", "UPDATE tiles SET hashes = " + FLIP % ("hashes", 32 * 9, "hashes", 32 * 9) +
     " WHERE id = 0", "seq 10"),
    ("checkpoint root", "UPDATE checkpoints SET root = " + FLIP % ("root", 0, "root", 0) +
     " WHERE tree_size = 100", "checkpoint"),
    ("removed checkpoint", "DELETE FROM checkpoints WHERE tree_size = 256", "checkpoint"),
    ("truncated head", "UPDATE head SET size = 299", "head"),
]


def tt(data, *args, db=None, input=None):
    return subprocess.run([BIN, "--data", data] + (["--db", db] if db else []) + list(args),
                          capture_output=True, text=True, env=env_without_tradetrail(),
                          input=input, timeout=120)


def ok(p):
    if p.returncode != 0:
        raise AssertionError("exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return p.stdout


class PgTamper(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pglib.Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="tt-pgt-")
        cls.data = os.path.join(cls.tmp, "data")
        ok(tt(cls.data, "init"))
        seq = 0
        for n in (100, 156, 44):  # checkpoints at 100, 256 and 300
            lines = []
            for i in range(seq + 1, seq + n + 1):
                lines.append(json.dumps({
                    "entity": "order", "entity_id": "o-%d" % i, "event_type": "FILLED",
                    "actor": "bot-%d" % (i % 3), "reason": "fill %d at café" % i,
                    "metadata": {"px": i}, "idempotency_key": "k-%d" % i}))
            ok(tt(cls.data, "append", input="\n".join(lines) + "\n"))
            ok(tt(cls.data, "checkpoint"))
            seq += n
        cls.source = "sqlite:" + os.path.join(cls.data, "ledger.db")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, True)

    def fresh(self):
        """A new schema holding a copy of the pristine ledger; (schema, URI)."""
        PgTamper.n += 1
        schema = "tamper_%d" % PgTamper.n
        uri = pglib.schema_uri(self.pg.uri, schema)
        ok(tt(self.data, "migrate", "--from", self.source, "--to", uri))
        return schema, uri

    def test_pristine_verifies(self):
        _, uri = self.fresh()
        self.assertIn("300 events, 3 checkpoints", ok(tt(self.data, "verify", db=uri)))

    def test_triggers_refuse_rewrites(self):
        schema, uri = self.fresh()
        for sql in ("UPDATE events SET reason = 'x' WHERE seq = 1",
                    "DELETE FROM events WHERE seq = 1", "TRUNCATE events",
                    "DELETE FROM checkpoints"):
            with self.assertRaises(subprocess.CalledProcessError) as e:
                self.pg.psql("SET search_path = %s; %s" % (schema, sql))
            self.assertIn("append-only", e.exception.stderr)
        ok(tt(self.data, "verify", db=uri))

    def test_each_change_detected(self):
        for name, sql, want in CASES:
            with self.subTest(name):
                schema, uri = self.fresh()
                self.pg.psql("SET session_replication_role = replica; SET search_path = %s; %s"
                             % (schema, sql))
                p = tt(self.data, "verify", db=uri)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn(want, p.stderr, name)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Faults of the PostgreSQL store that need a cluster of their own (issue 15, SPEC 5):
the database out of reach (503, not 500), a COMMIT still in flight when its connection
drops (the outcome is unknown, never "did not commit"), and a database default of
synchronous_commit = off (appends still wait for their WAL). A synchronous standby that
never connects ("ghost") holds a COMMIT in flight on demand. Each test has its own ledger
in its own schema and puts back the cluster's settings. A throwaway cluster from
tests/e2e/pglib.py; it fails, never skips, without PostgreSQL."""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
from test_pg_cluster import CuttingProxy  # noqa: E402
from ttserver import Server, cli_ok, event  # noqa: E402


class PgFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pglib.Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="tt-pgf-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, True)

    def ledger(self, name, proxy=None):
        """A new ledger in schema name, and a server on it (through proxy when given)."""
        data = os.path.join(self.tmp, name)
        uri = pglib.schema_uri(self.pg.uri, name)
        cli_ok(data, ["--db", uri, "init"])
        if proxy is not None:
            uri = uri.replace(":%d/" % self.pg.port, ":%d/" % proxy.port)
        s = Server(data=data, extra_args=["--db", uri, "--checkpoint-interval", "3600"])
        s.start()
        self.addCleanup(s.cleanup)
        s.admin = s.admin or json.loads(cli_ok(data, [
            "--db", uri, "token", "create", "--role", "admin", "-o", "json"]))["token"]
        self.assertEqual(s.post_events(event(entity="warm")).status, 201)
        time.sleep(1.5)  # the ticker's first checkpoint is signed before the test's fault
        return s

    def proxy(self):
        p = CuttingProxy(self.pg.port)
        self.addCleanup(p.close)
        return p

    def ghost_standby(self):
        """From now on every COMMIT that waits for a standby waits until the cleanup."""
        self.pg.psql("ALTER SYSTEM SET synchronous_standby_names = 'ghost'")
        self.pg.psql("SELECT pg_reload_conf()")
        self.addCleanup(self.no_standby)
        time.sleep(0.5)

    def no_standby(self):
        self.pg.psql("ALTER SYSTEM RESET synchronous_standby_names")
        self.pg.psql("SELECT pg_reload_conf()")

    @staticmethod
    def in_thread(fn):
        """Run fn in a thread; a dict that gets its result ("r") or exception ("e")."""
        out = {}

        def run():
            try:
                out["r"] = fn()
            except Exception as e:  # noqa: BLE001 (reported by the test)
                out["e"] = e
        th = threading.Thread(target=run, daemon=True)
        th.start()
        out["thread"] = th
        return out

    def test_database_down_is_503(self):
        """While the database cannot be reached, reads and appends answer 503 (retry), not
        500; once it is back the next append works."""
        proxy = self.proxy()
        s = self.ledger("down", proxy)
        proxy.set_down(True)
        try:
            seen = {}
            for i in range(3):
                r = s.post_events(event(entity="down", idempotency_key="d%d" % i), timeout=20)
                seen.setdefault("POST /api/events", set()).add(r.status)
            for path in ("/api/events?limit=1", "/api/stats", "/api/events/1"):
                for _ in range(2):
                    seen.setdefault("GET " + path, set()).add(
                        s.request("GET", path, timeout=20).status)
            self.assertEqual(seen, {k: {503} for k in seen})
        finally:
            proxy.set_down(False)
        r = s.post_events(event(entity="down", idempotency_key="up"))
        self.assertEqual(r.status, 201, r.body)

    def test_commit_in_flight_is_not_reported_failed(self):
        """The connection drops after the COMMIT left while the database is still committing
        (waiting for a synchronous standby). The server must not answer "did not commit":
        the event lands later, and a client retrying without a key would write it twice. It
        answers 503 "unknown", and a retry with the same key finds the one stored event."""
        proxy = self.proxy()
        s = self.ledger("inflight", proxy)
        self.ghost_standby()
        key = "inflight-marker"
        proxy.arm("after", key.encode())
        out = self.in_thread(lambda: s.post_events(
            event(entity="cut", idempotency_key=key), timeout=60))
        out["thread"].join(60)
        self.assertIn("r", out, out)
        r = out["r"]
        self.assertTrue(proxy.fired.is_set(), "the proxy never saw the COMMIT: %r" % r)
        self.assertEqual(r.status, 503, r.body)
        message = r.json()["error"]["message"]
        self.assertNotIn("did not commit", message)
        self.assertIn("unknown", message)
        self.no_standby()
        deadline = time.time() + 20
        while time.time() < deadline:
            rows = [e for e in s.get_json("/api/events?entity=cut")["events"]
                    if e["idempotency_key"] == key]
            if rows:
                break
            time.sleep(0.2)
        self.assertEqual(len(rows), 1, "the in-flight COMMIT did not land")
        r = s.post_events(event(entity="cut", idempotency_key=key))
        self.assertIn(r.status, (200, 201), r.body)
        self.assertEqual(r.json()["seq"], rows[0]["seq"])
        self.assertEqual(len([e for e in s.get_json("/api/events?entity=cut")["events"]
                              if e["idempotency_key"] == key]), 1)

    def test_synchronous_commit_off_is_overridden(self):
        """With synchronous_commit = off as the database's default, an append must still
        wait for its COMMIT to be durable (SPEC 5): with a synchronous standby that never
        answers, it is not acknowledged until the standby setting goes away."""
        self.pg.psql("ALTER DATABASE postgres SET synchronous_commit = off")
        self.addCleanup(self.pg.psql, "ALTER DATABASE postgres RESET synchronous_commit")
        s = self.ledger("async")
        self.ghost_standby()
        out = self.in_thread(lambda: s.post_events(
            event(entity="dur", idempotency_key="dur-1"), timeout=60))
        out["thread"].join(3)
        self.assertNotIn("r", out, "acknowledged before its COMMIT was durable")
        waiting = self.pg.psql("SELECT count(*) FROM pg_stat_activity"
                               " WHERE wait_event = 'SyncRep'").strip()
        self.assertEqual(waiting, "1")
        self.no_standby()
        out["thread"].join(30)
        self.assertIn("r", out, out)
        self.assertEqual(out["r"].status, 201, out["r"].body)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Faults of the PostgreSQL store that need a cluster of their own (issue 15, SPEC 5):
the database out of reach answers 503, not 500. Each test has its own ledger in its own
schema. A throwaway cluster from tests/e2e/pglib.py; it fails, never skips, without
PostgreSQL."""

import json
import os
import shutil
import sys
import tempfile
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


if __name__ == "__main__":
    unittest.main()

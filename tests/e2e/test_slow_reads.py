#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reads that scan the ledger (GET /api/stats, /api/analytics/{kind}) run off the daemon's
threads (server/offload.c). libmicrohttpd binds each connection to the thread that accepted
it, so such a read done on that thread stalled every other connection of the thread: the
dashboard's next load waited 2 s behind the first load's counts of a 10 million event
ledger (SPEC 11). Here a server with one daemon thread counts slowly
(TRADETRAIL_FAILPOINT=counting@MS stands in for a large ledger): while a count is in
flight, another keep-alive connection is answered at once; the count still answers right;
and a server stopped meanwhile answers it before it exits."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

COUNT_MS = 1500


class SlowReadsTest(unittest.TestCase):

    def setUp(self):
        self.server = T.Server(extra_args=["--threads", "1"],
                               env={"TRADETRAIL_FAILPOINT": "counting@%d" % COUNT_MS})
        self.server.start()
        self.addCleanup(self.server.cleanup)
        r = self.server.post_events([T.event(entity_id="o-%d" % i) for i in range(3)])
        self.assertEqual(r.status, 201, r.body)

    def in_background(self, path):
        """GET path on its own connection in a thread: (thread, result dict)."""
        out = {}

        def run():
            started = time.monotonic()
            r = self.server.request("GET", path, token="admin", timeout=60)
            out["status"], out["body"], out["took"] = r.status, r.body, time.monotonic() - started
        t = threading.Thread(target=run)
        t.start()
        return t, out

    def assert_not_stalled(self, path, check):
        conn = self.server.connection()
        self.addCleanup(conn.close)
        self.assertEqual(self.server.request("GET", "/healthz", token=None, conn=conn).status, 200)
        t, out = self.in_background(path)
        time.sleep(0.3)
        started = time.monotonic()
        r = self.server.request("GET", "/api/checkpoint", conn=conn)
        took = time.monotonic() - started
        still_counting = t.is_alive()
        t.join(60)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(still_counting, "the slow read ended before the other request was sent")
        self.assertLess(took, 0.6 * T.SLOW,
                        "a request on another connection of the same daemon thread waited "
                        "%.2f s behind %s" % (took, path))
        self.assertEqual(out["status"], 200, out["body"])
        self.assertGreaterEqual(out["took"], COUNT_MS / 1000 - 0.1)
        check(T.Response(out["status"], {}, out["body"]).json())

    def test_stats(self):
        def check(j):
            self.assertEqual(j["tree_size"], 4)  # the admin token's CREATED, then 3
            self.assertEqual(j["by_entity"].get("order"), 3)
        self.assert_not_stalled("/api/stats", check)

    def test_analytics(self):
        def check(j):
            self.assertEqual(j["kind"], "actors")
            self.assertIn({"actor": "bot", "kind": "automated", "count": 3},
                          [{k: row[k] for k in ("actor", "kind", "count")} for row in j["rows"]])
        self.assert_not_stalled("/api/analytics/actors", check)

    def test_stop_while_counting(self):
        t, out = self.in_background("/api/stats")
        time.sleep(0.3)
        self.assertTrue(t.is_alive())
        self.server.stop_ok()  # SIGTERM: drains, so the count is answered first
        t.join(60)
        self.assertEqual(out.get("status"), 200, out)


if __name__ == "__main__":
    unittest.main()

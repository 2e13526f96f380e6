#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 13 item 3 (SPEC 14): clients trickling their request headers cannot lock others
out, even from the same address. A server with header_timeout = 2 s gets 520 connections
from 127.0.0.1 (more than the 512 one address may hold) that each send part of a request
line and then one byte every half second: a normal client from 127.0.0.1 is still served
within a second (retrying a reset while the evicted connections close), and every
trickling connection is closed by the server within the header timeout (plus the
sweeper's tick), although none of them was ever idle."""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

HEADER_TIMEOUT = 2.0
ATTACKERS = 520  # the per-address connection limit is 512


class SlowlorisTest(unittest.TestCase):

    def setUp(self):
        self.server = T.Server(env={"TRADETRAIL_HEADER_TIMEOUT": str(HEADER_TIMEOUT)})
        self.server.start()
        self.addCleanup(self.server.cleanup)

    def healthz_ok(self, timeout=2.0):
        started = time.monotonic()
        try:
            r = self.server.request("GET", "/healthz", token=None, timeout=timeout / T.SLOW)
        except OSError as e:
            return False, "%r after %.2f s" % (e, time.monotonic() - started)
        return r.status == 200, "%d after %.2f s" % (r.status, time.monotonic() - started)

    def test_trickling_headers(self):
        socks = []
        try:
            for _ in range(ATTACKERS):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trickle: ")
                socks.append(s)
            # The evicted connections are closed as the server gets to them; until then
            # libmicrohttpd's own limit (512 per address) may refuse a new one at once. A
            # client that retries on that reset is served within a second.
            for attempt in range(5):
                ok, how = self.healthz_ok()
                if ok:
                    break
                time.sleep(0.2)
            self.assertTrue(ok, "a normal client from the same address (attempt %d): %s"
                            % (attempt + 1, how))
            # Trickle one byte per socket every 0.5 s: never idle. Every socket must be
            # closed by the server within the header timeout plus slack.
            deadline = time.monotonic() + HEADER_TIMEOUT * T.SLOW + 3
            open_socks = list(socks)
            while open_socks and time.monotonic() < deadline:
                still = []
                for s in open_socks:
                    try:
                        s.send(b"a")
                        s.setblocking(False)
                        try:
                            gone = s.recv(4096) == b""
                        except BlockingIOError:
                            gone = False
                        s.setblocking(True)
                    except OSError:
                        gone = True
                    if not gone:
                        still.append(s)
                open_socks = still
                ok, how = self.healthz_ok()
                self.assertTrue(ok, "a normal client during the attack: " + how)
                time.sleep(0.5)
            self.assertEqual(len(open_socks), 0, "%d of %d trickling connections still open "
                             "after %.1f s" % (len(open_socks), ATTACKERS,
                                               HEADER_TIMEOUT * T.SLOW + 3))
        finally:
            for s in socks:
                s.close()
        # A keep-alive client that sends its requests promptly is unaffected, and the
        # server stops cleanly.
        conn = self.server.connection()
        for _ in range(3):
            r = self.server.request("GET", "/healthz", token=None, conn=conn)
            self.assertEqual(r.status, 200)
        conn.close()
        self.server.stop_ok()


if __name__ == "__main__":
    unittest.main(verbosity=2)

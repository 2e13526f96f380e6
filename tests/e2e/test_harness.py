#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks of the e2e helpers themselves (issue 13, "tests that cannot see a fault"): a
server that exits non-zero when stopped (as an ASan or UBSan report at shutdown makes it)
fails Server.finish(), stop_ok() and a `with Server()` block, and ServerCase.assertError
refuses a status SPEC 9 gives no error code for instead of accepting any code."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

# Stands in for a server whose shutdown fails: exits 23 on SIGTERM.
FAILING_SHUTDOWN = "trap 'exit 23' TERM; echo ready; while :; do sleep 0.05; done"


class FakeServer(T.Server):
    """A Server whose process is a shell that exits with a given status on SIGTERM."""

    def start(self, timeout=30):
        if self.proc is None:
            with open(os.path.join(self.log_dir, "stderr"), "wb") as err:
                err.write(b"==1==ERROR: LeakSanitizer: detected memory leaks (a stand-in)\n")
            # "ready" once the trap is set: a SIGTERM before it would just kill the shell.
            self.proc = subprocess.Popen(["sh", "-c", self.script], stdout=subprocess.PIPE)
            self.proc.stdout.readline()
            self.proc.stdout.close()
        return self


class ExitStatusTest(unittest.TestCase):

    def fake(self, script):
        s = FakeServer()
        s.script = script
        self.addCleanup(s.cleanup)
        return s.start()

    def test_finish_fails_on_a_failed_shutdown(self):
        s = self.fake(FAILING_SHUTDOWN)
        with self.assertRaisesRegex(AssertionError, "exit code 23(.|\n)*LeakSanitizer"):
            s.finish()
        self.assertIsNone(s.proc)

    def test_stop_ok_fails_on_a_failed_shutdown(self):
        with self.assertRaisesRegex(AssertionError, "exit code 23"):
            self.fake(FAILING_SHUTDOWN).stop_ok()

    def test_with_block_fails_on_a_failed_shutdown(self):
        with self.assertRaisesRegex(AssertionError, "exit code 23"):
            with self.fake(FAILING_SHUTDOWN):
                pass

    def test_clean_shutdown_passes(self):
        self.fake("trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done").finish()

    def test_real_server_exits_zero(self):
        with T.Server() as s:
            self.assertEqual(s.request("GET", "/healthz", token=None).status, 200)


class AssertErrorTest(unittest.TestCase):

    def response(self, status, code):
        body = ('{"error":{"code":"%s","message":"m"}}' % code).encode()
        return T.Response(status, {"content-type": "application/json"}, body)

    def test_unmapped_status_fails(self):
        case = T.ServerCase("assertError")
        with self.assertRaises(AssertionError):
            case.assertError(self.response(418, "internal"), 418)
        with self.assertRaises(AssertionError):
            case.assertError(self.response(404, "internal"), 404)
        case.assertError(self.response(404, "not_found"), 404)
        case.assertError(self.response(405, "invalid_argument"), 405)


if __name__ == "__main__":
    unittest.main(verbosity=2)

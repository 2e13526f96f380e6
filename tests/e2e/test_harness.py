#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks of the e2e helpers themselves (issue 13, "tests that cannot see a fault"): a
server that exits non-zero when stopped (as an ASan or UBSan report at shutdown makes it)
fails Server.finish(), stop_ok() and a `with Server()` block, and ServerCase.assertError
refuses a status SPEC 9 gives no error code for instead of accepting any code. ttlib's
independent leaf encoder, the oracle of test_cli, test_tamper and test_upgrade, gives the
bytes and hash of every committed leaf vector, versions 1, 2 and 3 (docs/FORMAT.md 2)."""

import glob
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttlib  # noqa: E402
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


class LeafEncoderTest(unittest.TestCase):
    VECTORS = os.path.join(ttlib.SOURCE_DIR, "tests", "vectors", "leaf")

    def vector(self, name):
        with open(os.path.join(self.VECTORS, name)) as f:
            return json.load(f)

    def test_every_leaf_vector(self):
        names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(self.VECTORS,
                                                                             "*.json")))
        self.assertIn("producer_v3.json", names)
        for name in names:
            v = self.vector(name)
            b = ttlib.leaf_bytes(ttlib.vector_event(v["event"]))
            self.assertEqual(b.hex(), v["leaf_bytes"], name)
            self.assertEqual(ttlib.leaf_hash(b).hex(), v["leaf_hash"], name)

    def test_version_3_known_answer(self):
        # tests/vectors/leaf/producer_v3.json, the vector src/core/event.c and web/verify.js
        # are checked against: the version 2 bytes with 0x03 first, then the producer and
        # producer_seq.
        v = self.vector("producer_v3.json")
        ev = ttlib.vector_event(v["event"])
        b = ttlib.leaf_bytes(ev)
        self.assertEqual(b[0], ttlib.LEAF_VERSION_3)
        self.assertEqual(ttlib.leaf_hash(b).hex(),
                         "adbabd826ee68c9623783c20c750e594330bc139b5e20e2d32a309cc24d8b69f")
        self.assertEqual(b[-8:], (17).to_bytes(8, "big"))
        v2 = ttlib.leaf_bytes(dict(ev, producer=None, producer_seq=None))
        self.assertEqual(v2[0], ttlib.LEAF_VERSION)
        self.assertEqual(b[1:], v2[1:] + b"\x00\x00\x00\x07ft-main" + b[-8:])
        # a missing principal is written as length 0 in version 3
        nop = ttlib.leaf_bytes(dict(ev, principal=None))
        self.assertEqual(nop, b.replace(b"\x00\x00\x00\x0dtoken:ft-main", b"\x00" * 4))


if __name__ == "__main__":
    unittest.main(verbosity=2)

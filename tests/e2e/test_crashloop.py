#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The bounded crash loop for `make check` (issue 7 item 1): tests/soak/crashloop.py with 12
SIGKILLs of a server under load and every check after each restart (acknowledged events
present exactly once, retried keys answer their original seq, seqs gap-free, `verify`
passes). `make soak` runs the same script with hundreds of kills. TT_CRASHLOOP_SEED fixes
the seed (printed either way); kill timing still varies from run to run."""

import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ttserver  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(HERE), "soak", "crashloop.py")
KILLS = 12
LIMIT = 80  # seconds, normal build; a sanitizer build gets ttserver.SLOW times as long


class CrashLoop(unittest.TestCase):
    def test_crashloop(self):
        seed = os.environ.get("TT_CRASHLOOP_SEED", str(int(time.time()) % 1000000))
        limit = LIMIT * ttserver.SLOW
        cmd = [sys.executable, SCRIPT, "--kills", str(KILLS), "--seed", seed,
               "--time-limit", str(limit)]
        env = dict(os.environ)
        # The script's own ttserver import re-executes it under the sanitizer runtime if
        # needed: hand it the caller's settings, not this re-executed process's.
        for name in ("LD_PRELOAD", "ASAN_OPTIONS"):
            orig = os.environ.get("TT_E2E_ORIG_" + name)
            if orig is not None:
                if orig == "<unset>":
                    env.pop(name, None)
                else:
                    env[name] = orig
        env.pop("TT_E2E_ASAN_REEXEC", None)
        env.pop("TT_E2E_ORIG_LD_PRELOAD", None)
        env.pop("TT_E2E_ORIG_ASAN_OPTIONS", None)
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=limit + 120)
        took = time.time() - t0
        sys.stdout.write(p.stdout)
        sys.stdout.write(p.stderr)
        self.assertEqual(p.returncode, 0, "crashloop failed (seed %s):\n%s%s" %
                         (seed, p.stdout[-6000:], p.stderr[-3000:]))
        self.assertIn("crashloop: kills %d," % KILLS, p.stdout)
        self.assertIn("crashloop: ok", p.stdout)
        self.assertLess(took, limit + 10, "the bounded crash loop took %.1f s" % took)


if __name__ == "__main__":
    unittest.main(verbosity=2)

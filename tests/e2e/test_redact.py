#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of redaction (SPEC 15): `tradetrail serve` replaces the values of the
metadata keys in redact_keys by "[redacted]" for a single event, a JSON array and NDJSON, at
any depth; what is served, proven and verified is the redacted form, and the secret is not
in the store's files. A configured list replaces the default; `tradetrail append --meta`
redacts too, and `tradetrail config` shows the list."""

import glob
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

SECRET = "S3CR3T-value-never-stored"


def meta(i):
    return {"exchange": "binance", "n": i,
            "creds": {"API_KEY": SECRET, "nested": [{"Passphrase": SECRET}, {"ok": "kept"}]},
            "token": 12345}


WANT = {"creds": {"API_KEY": "[redacted]",
                  "nested": [{"Passphrase": "[redacted]"}, {"ok": "kept"}]},
        "token": "[redacted]"}


def store_bytes(data):
    b = b""
    for f in glob.glob(os.path.join(data, "ledger.db*")):
        with open(f, "rb") as fh:
            b += fh.read()
    return b


class RedactTest(unittest.TestCase):

    def test_http_paths_default_keys(self):
        with T.Server() as s:
            r = s.post_events(T.event(entity_id="single", metadata=meta(0)))
            self.assertEqual(r.status, 201, r)
            r = s.post_events([T.event(entity_id="arr-%d" % i, metadata=meta(i))
                               for i in (1, 2)])
            self.assertEqual(r.status, 201, r)
            r = s.post_events(T.ndjson([T.event(entity_id="nd-%d" % i, metadata=meta(i))
                                        for i in (3, 4)]),
                              content_type="application/x-ndjson")
            self.assertEqual(r.status, 201, r)
            size = s.tree_size()
            self.assertEqual(size, 6)  # the first is the admin token's creation
            for seq in range(2, size + 1):
                ev = s.get_json("/api/events/%d" % seq)
                m = ev["metadata"]
                self.assertEqual(m["creds"], WANT["creds"], ev)
                self.assertEqual(m["token"], "[redacted]")
                self.assertEqual(m["exchange"], "binance")
                self.assertEqual(m["n"], seq - 2)
                # The leaf hash covers the redacted form, and the proof checks.
                p = s.get_json("/api/events/%d/proof" % seq)
                self.assertEqual(p["leaf_hash"], ev["leaf_hash"])
                self.assertEqual(T.verify_inclusion(p["leaf_index"], p["tree_size"],
                                                    p["leaf_hash"], p["hashes"], p["root_hash"]),
                                 T.TT_OK)
            s.stop_ok()
            T.cli_ok(s.data, ["verify"])
            if not T.pglib.test_db_args(s.data):
                self.assertNotIn(SECRET.encode(), store_bytes(s.data))

    def test_configured_keys_and_cli(self):
        s = T.Server()
        os.makedirs(s.data, mode=0o700)
        conf = os.path.join(s.data, "tradetrail.conf")
        with open(conf, "w") as f:
            f.write("redact_keys = Signature, nonce\n")
        os.chmod(conf, 0o600)
        with s:
            r = s.post_events(T.event(metadata={"signature": "sig", "NONCE": 7,
                                                "token": "visible"}))
            self.assertEqual(r.status, 201, r)
            m = s.get_json("/api/events/2")["metadata"]
            self.assertEqual(m, {"signature": "[redacted]", "NONCE": "[redacted]",
                                 "token": "visible"})
            s.stop_ok()
            keys = json.loads(T.cli_ok(s.data, ["config", "-o", "json"]))
            self.assertIn("Signature, nonce", json.dumps(keys))
            # The command line reads the same file: --meta and NDJSON on stdin.
            T.cli_ok(s.data, ["append", "--entity", "order", "--id", "o-9", "--type", "PLACED",
                              "--actor", "cli", "--meta", json.dumps({"Nonce": SECRET})])
            T.cli_ok(s.data, ["append"], input=T.ndjson([T.event(metadata={"x": {
                "signature": SECRET}, "password": "visible"})]))
            metas = [e["metadata"] for e in T.show_all(s.data)]
            self.assertIn({"Nonce": "[redacted]"}, metas)
            self.assertIn({"x": {"signature": "[redacted]"}, "password": "visible"}, metas)
            T.cli_ok(s.data, ["verify"])

    def test_cli_default_keys(self):
        with T.Server() as s:
            s.stop_ok()
            T.cli_ok(s.data, ["append", "--entity", "order", "--id", "o-9", "--type", "PLACED",
                              "--actor", "cli", "--meta", json.dumps({"password": SECRET})])
            T.cli_ok(s.data, ["append"], input=T.ndjson([T.event(metadata={"x": {
                "Private_Key": SECRET}})]))
            metas = [e["metadata"] for e in T.show_all(s.data)]
            self.assertIn({"password": "[redacted]"}, metas)
            self.assertIn({"x": {"Private_Key": "[redacted]"}}, metas)
            T.cli_ok(s.data, ["verify"])
            if not T.pglib.test_db_args(s.data):
                self.assertNotIn(SECRET.encode(), store_bytes(s.data))

if __name__ == "__main__":
    unittest.main()

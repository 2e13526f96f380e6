#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end test of SPEC 15's completeness per producer and corrections against a real
`tradetrail serve`: events carrying producer / producer_seq over HTTP record GAP, REPEAT
and RESTART events, counted in /metrics, listed by GET /api/producers and in the daily
summary; POST /api/heartbeat with a 1 s heartbeat_timeout raises exactly one SILENT event
per silence and an alert to the configured webhook; CORRECTION and VOID events need an
earlier metadata.corrects (400 otherwise), and view=corrected (API and CLI) shows the
corrected view while the originals stay stored and provable."""

import hashlib
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402
from test_notify import Receiver  # noqa: E402

WAIT = 20 * T.SLOW

RECEIVER = Receiver()


def ev(pseq=None, producer=None, etype="NEW", **kw):
    e = T.event(entity="order", entity_id="o-1", event_type=etype, actor="bot", **kw)
    if producer is not None:
        e["producer"] = producer
        e["producer_seq"] = pseq
    return e


class ProducerTest(ServerCase):
    server_env = {"TRADETRAIL_ALERT_WEBHOOK": "http://127.0.0.1:%d/hook" % RECEIVER.port,
                  "TRADETRAIL_ALERT_WEBHOOK_FORMAT": "generic"}

    @classmethod
    def setUpClass(cls):
        RECEIVER.up()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            RECEIVER.down()

    def post(self, body, expect=201):
        r = self.server.post_events(body, token="ingest")
        self.assertEqual(r.status, expect, r.body)
        return r.json()

    def events(self, query):
        return self.server.get_json("/api/events?" + query, token="read")["events"]

    def test_gap_repeat_restart(self):
        for pseq in (1, 2, 5, 3, 6, 1):
            self.post(ev(pseq, "e2e-bot"))
        notes = self.events("entity=producer&entity_id=e2e-bot")
        self.assertEqual([n["event_type"] for n in notes], ["GAP", "REPEAT", "RESTART"])
        gap = notes[0]
        self.assertEqual(gap["metadata"], {"expected": 3, "got": 5, "missing": 2,
                                           "event_seq": gap["seq"] - 1})
        self.assertEqual(gap["actor"], "system")
        self.assertNotIn("producer", gap)  # the ledger's own events carry none
        got = self.server.get_json("/api/events/%d" % (gap["seq"] - 1), token="read")
        self.assertEqual((got["producer"], got["producer_seq"]), ("e2e-bot", 5))
        # The Python client's verifier re-hashes a version 3 leaf as the server did.
        sys.path.insert(0, os.path.join(T.SOURCE_DIR, "clients", "python"))
        from tradetrail_client import verify as V
        self.assertEqual(hashlib.sha256(b"\x00" + V.leaf_bytes(got)).hexdigest(),
                         got["leaf_hash"])
        # A batch: each event against the one before it; bad fields are refused.
        r = self.post([ev(2, "e2e-bot"), ev(3, "e2e-bot"), ev(7, "e2e-bot")])
        self.assertEqual(r["count"], 3)  # the GAP after them is the ledger's, not counted
        self.assertEqual(self.events("after_seq=%d" % r["seqs"][2])[0]["event_type"], "GAP")
        for bad in (ev(0, "e2e-bot"), ev("1", "e2e-bot"), dict(ev(), producer_seq=1),
                    ev(1, "x" * 65)):
            r = self.server.post_events(bad, token="ingest")
            self.assertEqual(r.status, 400, (bad, r.body))
        # GET /api/producers, /metrics, the summary.
        ps = {p["producer"]: p for p in
              self.server.get_json("/api/producers", token="read")["producers"]}
        p = ps["e2e-bot"]
        self.assertEqual((p["last_seq"], p["gaps"], p["missing"], p["repeats"], p["restarts"]),
                         (7, 2, 5, 1, 1))
        metrics = self.server.request("GET", "/metrics", token=None).text
        self.assertIn('tradetrail_producer_events_total{producer="e2e-bot",kind="gap"} 2\n',
                      metrics)
        self.assertIn('tradetrail_producer_events_total{producer="e2e-bot",kind="restart"} 1\n',
                      metrics)
        self.assertIn('tradetrail_producer_missing_total{producer="e2e-bot"} 5\n', metrics)
        summary = self.server.get_json("/api/summary?period=day&date=today", token="read")
        self.assertGreaterEqual(summary["producers"]["gaps"], 2)
        self.assertIn("e2e-bot", [e["producer"] for e in summary["producers"]["events"]])
        text = self.server.request("GET", "/api/summary?period=day&date=today", token="read",
                                   headers={"Accept": "text/plain"}).text
        self.assertIn("Producers: ", text)
        self.assertIn("e2e-bot GAP: expected producer_seq 3, got 5: 2 missing", text)

    def test_python_client(self):
        sys.path.insert(0, os.path.join(T.SOURCE_DIR, "clients", "python"))
        import tradetrail_client as C
        c = C.Client("http://127.0.0.1:%d" % self.server.port, self.server.tokens["ingest"])
        p = C.Producer("py-bot")
        first = p.stamp(ev())
        self.assertEqual((first["producer"], first["producer_seq"]), ("py-bot", 1))
        c.append(first)
        c.append(first)  # a retry of the same stamped event: no REPEAT
        p.stamp(ev())  # lost: the next one shows a gap
        c.append(p.stamp(ev()))
        self.assertEqual(c.heartbeat("py-bot", timeout=600)["heartbeat_timeout"], 600)
        r = C.Client("http://127.0.0.1:%d" % self.server.port, self.server.tokens["read"])
        mine = [x for x in r.producers() if x["producer"] == "py-bot"][0]
        self.assertEqual((mine["last_seq"], mine["gaps"], mine["repeats"]), (3, 1, 0))
        self.assertEqual([e["event_type"] for e in r.events(entity="producer",
                                                            entity_id="py-bot")], ["GAP"])
        self.assertFalse([e for e in r.events(view="corrected", event_type="VOID")])
        # Run provenance: the commit of this checkout and the files' hashes, in metadata.
        prov = C.provenance(strategy_file=os.path.join(T.SOURCE_DIR, "Makefile"),
                            repo=T.SOURCE_DIR)
        self.assertEqual(prov["strategy_file"], "Makefile")
        self.assertEqual(len(prov["strategy_sha256"]), 64)
        self.assertRegex(prov.get("git_sha", "0" * 40), "^[0-9a-f]{40}$")
        seq = c.append(C.with_provenance(ev(metadata={"k": 1}), prov))["seq"]
        got = r.event(seq)["metadata"]
        self.assertEqual((got["k"], got["provenance"]), (1, prov))

    def test_heartbeat_and_silent(self):
        r = self.server.request("POST", "/api/heartbeat", token="ingest",
                                body={"producer": "feeder", "heartbeat_timeout": 1})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["heartbeat_timeout"], 1)
        self.assertFalse(r.json()["silent"])
        for body, code in (({"producer": "feeder"}, 403),):
            self.assertEqual(self.server.request("POST", "/api/heartbeat", token="read",
                                                 body=body).status, code)
        for bad in ({}, {"producer": ""}, {"producer": "f", "heartbeat_timeout": 0},
                    {"producer": "f", "other": 1}, {"producer": 3}):
            r = self.server.request("POST", "/api/heartbeat", token="ingest", body=bad)
            self.assertEqual(r.status, 400, (bad, r.body))
        q = "entity=producer&entity_id=feeder&event_type=SILENT"
        deadline = time.time() + WAIT
        while not self.events(q) and time.time() < deadline:
            time.sleep(0.2)
        silent = self.events(q)
        self.assertEqual(len(silent), 1)
        self.assertEqual(silent[0]["metadata"]["heartbeat_timeout"], 1)
        time.sleep(2.5)  # still silent: not raised again
        self.assertEqual(len(self.events(q)), 1)
        # The alert, whatever alert_events says (none configured here).
        deadline = time.time() + WAIT
        while time.time() < deadline and not [b for b in RECEIVER.got()
                                              if b[2].get("event", {}).get("seq") ==
                                              silent[0]["seq"]]:
            time.sleep(0.2)
        alerts = [b for b in RECEIVER.got() if b[2].get("event", {}).get("event_type") == "SILENT"]
        self.assertEqual(len(alerts), 1, RECEIVER.got())
        metrics = self.server.request("GET", "/metrics", token=None).text
        self.assertIn('tradetrail_producer_silent{producer="feeder"} 1\n', metrics)
        # Heard from again, then silent again: a second SILENT.
        r = self.server.request("POST", "/api/heartbeat", token="ingest",
                                body={"producer": "feeder"})
        self.assertEqual((r.status, r.json()["silent"]), (200, False))
        deadline = time.time() + WAIT
        while len(self.events(q)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(len(self.events(q)), 2)

    def test_corrections(self):
        a = self.post(ev(reason="filled 1", metadata={"qty": 1, "px": 10}))["seq"]
        b = self.post(ev(reason="filled 2"))["seq"]
        c = self.post(ev(etype="CORRECTION", reason="qty was 2",
                         metadata={"corrects": a, "qty": 2}))["seq"]
        v = self.post(ev(etype="VOID", reason="duplicate", metadata={"corrects": b}))["seq"]
        for bad, words in ((ev(etype="VOID"), "metadata.corrects"),
                           (ev(etype="VOID", metadata={"corrects": "1"}), "metadata.corrects"),
                           (ev(etype="CORRECTION", metadata={"corrects": v + 100}),
                            "no event with seq %d" % (v + 100))):
            r = self.server.post_events(bad, token="ingest")
            self.assertEqual(r.status, 400, r.body)
            self.assertIn(words, r.json()["error"]["message"])
        q = "after_seq=%d" % (a - 1)
        seqs = lambda evs: [e["seq"] for e in evs]  # noqa: E731
        stored = self.events(q + "&entity=order")
        self.assertEqual(seqs(stored)[:4], [a, b, c, v])
        corrected = [e for e in self.events(q + "&entity=order&view=corrected") if e["seq"] <= v]
        self.assertEqual(seqs(corrected), [a])
        self.assertEqual(corrected[0]["corrected_by"], c)
        self.assertEqual(corrected[0]["metadata"], {"qty": 2, "px": 10})
        self.assertEqual(corrected[0]["reason"], "qty was 2")
        # The limit counts what is shown; the original stays stored and provable.
        page = self.server.get_json("/api/events?entity=order&view=corrected&limit=1&after_seq=%d"
                                    % (a - 1), token="read")
        self.assertEqual(seqs(page["events"]), [a])
        self.assertIsNotNone(page["next_cursor"])
        self.assertEqual(self.server.request("GET", "/api/events?view=as-is",
                                             token="read").status, 400)
        orig = self.server.get_json("/api/events/%d" % a, token="read")
        self.assertEqual(orig["metadata"], {"qty": 1, "px": 10})
        self.assertNotIn("corrected_by", orig)
        proof = self.server.get_json("/api/events/%d/proof" % a, token="read")
        self.assertEqual(proof["leaf_hash"], orig["leaf_hash"])
        # The CLI's --view corrected shows the same.
        out = T.cli_ok(self.server.data, ["show", "--entity", "order", "--view", "corrected",
                                          "-o", "json"])
        shown = {e["seq"]: e for e in map(json.loads, out.splitlines())}
        self.assertEqual(shown[a]["corrected_by"], c)
        self.assertNotIn(b, shown)
        self.assertNotIn(v, shown)
        self.assertEqual(T.cli(self.server.data, ["show", "--view", "corrected", "-f"]).returncode,
                         2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

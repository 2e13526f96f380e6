#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the AI feedback, maintenance action, summary and analytics endpoints
(SPEC 6.2-6.4, 9) and their CLI commands (SPEC 10) against a real `tradetrail serve`: status
codes, exact JSON fields, roles, malformed bodies writing nothing, the summary's text form
and checkpoint, every analytics report, CLI output equal to the API's, and `demo`."""

import json
import math
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402

KINDS = ["event-counts", "activation-time", "lifespan", "close-reasons", "actors",
         "swaps-heatmap", "feedback", "evaluator-accuracy"]


def qs(**params):
    return "?" + urllib.parse.urlencode(params) if params else ""


# SPEC 6.1 / seed 002: the 11 strategy event types.
STRATEGY_EVENT_TYPES = {"CREATED", "ACTIVATED", "CLOSED", "ARCHIVED", "FAILED", "YAML_UPDATED",
                        "ROLLED_BACK", "SWAPPED_IN", "SWAPPED_OUT", "DELETED", "STATUS_CHANGED"}


class DomainApiTest(ServerCase):

    def post(self, path, body, token="ingest", **kw):
        return self.server.request("POST", path, body=body, token=token, **kw)

    def feedback(self, sid, ai, bench, user="user_104", benchmark="SPY", expect=201):
        r = self.post("/api/feedback", {"strategy_id": sid, "ai_return": ai,
                                        "benchmark_return": bench, "user_id": user,
                                        "benchmark": benchmark})
        self.assertEqual(r.status, expect, r)
        return r.json()

    # ---- POST/GET /api/feedback ----

    def test_feedback_record(self):
        j = self.feedback("fb-strat", 0.07, 0.02)
        self.assertEqual(set(j), {"alpha", "reward", "outcome", "seq"})
        self.assertAlmostEqual(j["alpha"], 0.05, places=12)
        self.assertAlmostEqual(j["reward"], math.tanh(1.0), places=12)
        self.assertEqual(j["outcome"], "positive")
        ev = self.server.get_json("/api/events/%d" % j["seq"], token="read")
        self.assertEqual((ev["entity"], ev["entity_id"], ev["event_type"], ev["actor"]),
                         ("ai_feedback", "fb-strat", "RECORD", "user_104"))
        self.assertEqual(ev["metadata"]["outcome"], "positive")
        self.assertEqual(ev["metadata"]["strategyId"], "fb-strat")
        self.assertEqual(ev["metadata"]["benchmark"], "SPY")
        # the band edges over HTTP
        self.assertEqual(self.feedback("fb-band", 0.0005, 0.0)["outcome"], "neutral")
        self.assertEqual(self.feedback("fb-band", -0.0005, 0.0)["outcome"], "neutral")
        self.assertEqual(self.feedback("fb-band", 0.0, 0.0006)["outcome"], "negative")
        lst = self.server.get_json("/api/feedback" + qs(strategy_id="fb-band"), token="read")
        self.assertEqual(lst["count"], 3)
        self.assertEqual([f["outcome"] for f in lst["feedback"]],
                         ["negative", "neutral", "neutral"])  # newest first
        f0 = lst["feedback"][0]
        self.assertEqual(set(f0), {"id", "seq", "ts", "strategy_id", "user_id", "benchmark",
                                   "ai_return", "benchmark_return", "alpha", "reward",
                                   "outcome"})
        self.assertRegex(f0["ts"], T.TS_RE)
        neu = self.server.get_json("/api/feedback" + qs(strategy_id="fb-band", outcome="neutral",
                                                        limit=1), token="read")
        self.assertEqual(neu["count"], 1)
        later = self.server.get_json("/api/feedback" + qs(since="2999-01-01"), token="read")
        self.assertEqual(later["count"], 0)

    def test_feedback_rejected_writes_nothing(self):
        before = self.server.tree_size()
        bad = [
            {"strategy_id": "x", "ai_return": "0.1", "benchmark_return": 0, "user_id": "u"},
            {"strategy_id": "x", "ai_return": 0.1, "user_id": "u"},
            {"strategy_id": "x", "ai_return": 0.1, "benchmark_return": 0, "user_id": "u",
             "extra": 1},
            {"strategy_id": "", "ai_return": 0.1, "benchmark_return": 0, "user_id": "u"},
            {"strategy_id": "x", "ai_return": 0.1, "benchmark_return": 0, "user_id": "u\n"},
            [1, 2],
        ]
        for body in bad:
            self.assertError(self.post("/api/feedback", body), 400, repr(body))
        r = self.post("/api/feedback", '{"strategy_id":"x","ai_return":NaN,'
                      '"benchmark_return":0,"user_id":"u"}', content_type="application/json")
        self.assertError(r, 400)
        r = self.post("/api/feedback", '{"strategy_id":"x","ai_return":1e999,'
                      '"benchmark_return":0,"user_id":"u"}', content_type="application/json")
        self.assertError(r, 400)
        r = self.post("/api/feedback", "strategy_id=x", content_type="text/plain")
        self.assertError(r, 415)
        self.assertEqual(self.server.tree_size(), before)
        self.assertError(self.server.request("GET", "/api/feedback?outcome=great",
                                             token="read"), 400)
        self.assertError(self.server.request("GET", "/api/feedback?limit=0", token="read"), 400)
        self.assertError(self.server.request("GET", "/api/feedback?bogus=1", token="read"), 400)

    def test_roles(self):
        body = {"strategy_id": "r", "ai_return": 0.1, "benchmark_return": 0, "user_id": "u"}
        self.assertError(self.post("/api/feedback", body, token="read"), 403)
        self.assertError(self.post("/api/feedback", body, token=None), 401)
        self.assertError(self.post("/api/actions", {"message": "m"}, token="read"), 403)
        for path in ["/api/feedback", "/api/summary", "/api/analytics/actors"]:
            self.assertError(self.server.request("GET", path, token=None), 401)
            self.assertError(self.server.request("GET", path, token="ingest"), 403)
            self.assertEqual(self.server.request("GET", path, token="read").status, 200)
        self.assertError(self.server.request("DELETE", "/api/feedback", token="admin"), 405)

    # ---- POST /api/actions ----

    def test_actions(self):
        r = self.post("/api/actions", {"message": "Auto-repair: Restarted Grafana container",
                                       "source": "auto-repair"})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(set(j), {"seq", "ts"})
        self.assertRegex(j["ts"], T.TS_RE)
        ev = self.server.get_json("/api/events/%d" % j["seq"], token="read")
        self.assertEqual((ev["entity"], ev["entity_id"], ev["event_type"], ev["reason"]),
                         ("maintenance", "auto-repair", "ACTION",
                          "Auto-repair: Restarted Grafana container"))
        j = self.post("/api/actions", {"message": "manual check"}).json()
        ev = self.server.get_json("/api/events/%d" % j["seq"], token="read")
        self.assertEqual(ev["entity_id"], "manual")
        before = self.server.tree_size()
        for body in [{}, {"message": ""}, {"message": 3}, {"message": "m", "src": "x"}]:
            self.assertError(self.post("/api/actions", body), 400, repr(body))
        self.assertEqual(self.server.tree_size(), before)

    # ---- GET /api/summary ----

    def test_summary(self):
        self.post("/api/actions", {"message": "summary action one", "source": "cron"})
        self.feedback("sum-strat", 0.03, 0.01)
        p = T.cli(self.server.data, ["checkpoint"])
        self.assertEqual(p.returncode, 0, p.stderr)
        j = self.server.get_json("/api/summary", token="read")
        self.assertEqual(set(j), {"period", "from", "to", "total", "by_entity", "by_event_type",
                                  "actions", "strategies", "feedback", "producers",
                                  "checkpoint"})
        self.assertEqual(j["period"], "day")
        # No producer stamped anything: the SPEC 15 section is there, with nothing in it.
        self.assertEqual(j["producers"], {"gaps": 0, "repeats": 0, "restarts": 0,
                                          "silences": 0, "events": []})
        self.assertGreaterEqual(j["total"], 2)
        self.assertEqual(set(j["strategies"]),
                         {"created", "activated", "closed", "swapped", "failed"})
        self.assertEqual(set(j["feedback"]), {"positive", "negative", "neutral", "mean_reward"})
        self.assertGreaterEqual(j["feedback"]["positive"], 1)
        self.assertIn("summary action one", [a["message"] for a in j["actions"]])
        self.assertEqual(set(j["actions"][0]), {"ts", "source", "message"})
        cp = j["checkpoint"]
        self.assertEqual(set(cp), {"tree_size", "root_hash", "ts", "note"})
        vkey = T.cli_ok(self.server.data, ["key"]).strip().splitlines()[-1].split()[-1]
        rc, size, root = T.verify_note(cp["note"], vkey)
        self.assertEqual(rc, T.TT_OK)
        self.assertEqual((size, root), (cp["tree_size"], cp["root_hash"]))
        r = self.server.request("GET", "/api/summary?period=week", token="read",
                                headers={"Accept": "text/plain"})
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"))
        self.assertIn("Weekly Audit Summary", r.text)
        self.assertIn("=" * 60 + "\n[", r.text)
        self.assertIn("auto-repair actions executed", r.text)
        self.assertIn(cp["note"].splitlines()[0], r.text)
        m = self.server.get_json("/api/summary?period=month&date=2001-09-03", token="read")
        self.assertEqual((m["from"], m["to"], m["total"]),
                         ("2001-09-01T00:00:00.000000Z", "2001-10-01T00:00:00.000000Z", 0))
        self.assertIsNone(m["feedback"]["mean_reward"])
        for bad in ["period=year", "date=someday", "x=1"]:
            self.assertError(self.server.request("GET", "/api/summary?" + bad, token="read"),
                             400, bad)

    # ---- GET /api/analytics/{kind} ----

    def test_analytics(self):
        self.feedback("an-strat", 0.01, 0.03)
        for kind in KINDS:
            j = self.server.get_json("/api/analytics/" + kind, token="read")
            self.assertEqual(set(j), {"kind", "title", "columns", "rows", "totals"}, kind)
            self.assertEqual(j["kind"], kind)
            for row in j["rows"]:
                self.assertEqual(list(row), j["columns"], kind)
        ec = self.server.get_json("/api/analytics/event-counts", token="read")
        stats = self.server.get_json("/api/stats", token="read")
        self.assertEqual(ec["totals"]["events"], stats["total"])
        self.assertEqual({r["event_type"]: r["count"] for r in ec["rows"]},
                         stats["by_event_type"])
        self.assertEqual(len(self.server.get_json("/api/analytics/swaps-heatmap",
                                                  token="read")["rows"]), 7)
        lim = self.server.get_json("/api/analytics/actors?limit=1", token="read")
        self.assertLessEqual(len(lim["rows"]), 1)
        self.assertError(self.server.request("GET", "/api/analytics/nope", token="read"), 404)
        self.assertError(self.server.request("GET", "/api/analytics/actors?limit=x",
                                             token="read"), 400)
        # the CLI prints the same object
        cli = json.loads(T.cli_ok(self.server.data, ["report", "event-counts", "-o", "json"]))
        api = self.server.get_json("/api/analytics/event-counts", token="read")
        self.assertEqual(cli, api)


class DomainCliTest(unittest.TestCase):
    """The commands on their own data directory (no server)."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="tt-domain-cli-")
        cls.data = os.path.join(cls.tmp, "data")
        T.cli_ok(cls.data, ["init"])

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, True)

    def test_feedback_cli(self):
        j = json.loads(T.cli_ok(self.data, ["feedback", "record", "--strategy", "c1",
                                            "--ai-return", "0.05", "--benchmark-return", "0",
                                            "--user", "user_1", "-o", "json"]))
        self.assertEqual(j["outcome"], "positive")
        self.assertEqual(set(j), {"alpha", "reward", "outcome", "seq"})
        out = T.cli_ok(self.data, ["feedback", "list", "--strategy", "c1"])
        self.assertIn("positive", out)
        lst = json.loads(T.cli_ok(self.data, ["feedback", "list", "-o", "json"]))
        self.assertGreaterEqual(lst["count"], 1)
        p = T.cli(self.data, ["feedback", "record", "--strategy", "c1", "--ai-return", "nan",
                              "--benchmark-return", "0"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("ai_return", p.stderr)
        p = T.cli(self.data, ["feedback", "record", "--strategy", "c1", "--ai-return", "abc",
                              "--benchmark-return", "0"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(T.cli(self.data, ["feedback", "record"]).returncode, 2)
        # `feedback sync` (docs/JOBS.md) without a feedback_sink: refused, exit 1
        p = T.cli(self.data, ["feedback", "sync"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("feedback_sink", p.stderr)
        self.assertIn("sync", T.cli_ok(self.data, ["feedback", "--help"]))
        # configuration: a wider neutral band makes the same numbers neutral
        env = T.env_without_tradetrail()
        env["TRADETRAIL_NEUTRAL_BAND"] = "0.1"
        import subprocess
        p = subprocess.run(T.argv(self.data, "feedback", "record", "--strategy", "c2",
                            "--ai-return", "0.05", "--benchmark-return", "0", "-o", "json"),
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["outcome"], "neutral")

    def test_summary_and_report_cli(self):
        T.cli_ok(self.data, ["log", "Weekly self-heal: All checks passed", "--source", "heal"])
        out = T.cli_ok(self.data, ["summary"])
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^tradetrail \u2013 Daily Audit Summary \(\d{4}-\d{2}-\d{2}\)$")
        self.assertIn("=" * 60, lines)
        self.assertIn("Weekly self-heal: All checks passed", out)
        j = json.loads(T.cli_ok(self.data, ["summary", "--period", "month", "-o", "json"]))
        self.assertEqual(j["period"], "month")
        self.assertEqual(T.cli(self.data, ["summary", "--period", "year"]).returncode, 2)
        # --notify without any channel configured (test_notify.py covers delivery).
        p = T.cli(self.data, ["summary", "--notify"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("no notification channel", p.stderr)
        for kind in KINDS:
            T.cli_ok(self.data, ["report", kind])
        self.assertEqual(T.cli(self.data, ["report", "nope"]).returncode, 2)
        self.assertEqual(T.cli(self.data, ["report"]).returncode, 2)

    def test_demo(self):
        import tempfile
        d1 = os.path.join(self.tmp, "demo1")
        d2 = os.path.join(self.tmp, "demo2")
        T.cli_ok(d2, ["init"])
        for d in (d1, d2):  # issue 13 item 20: d1 without init, as serve would create it
            j = json.loads(T.cli_ok(d, ["demo", "--events", "400", "--seed", "9", "-o", "json"]))
            self.assertGreaterEqual(j["events"], 400)
            self.assertGreater(j["feedback"], 0)
            self.assertGreater(j["actions"], 0)
            self.assertGreater(j["swaps"], 0)
            self.assertGreater(j["rollbacks"], 0)
            self.assertEqual(j["syncs"], 1)
            T.cli_ok(d, ["verify"])
        # the same seed writes the same history (apart from ts, and the random batch id of
        # the training sync)
        def same(e):
            if e["entity"] in ("ai_feedback_sync", "job"):
                return (e["entity"], e["event_type"])
            return {k: e[k] for k in e if k not in ("ts", "leaf_hash")}
        a = [same(e) for e in T.show_all(d1)]
        b = [same(e) for e in T.show_all(d2)]
        self.assertEqual(a, b)
        a = T.show_all(d1)
        types = {e["event_type"] for e in a}
        self.assertTrue({"CREATED", "ACTIVATED", "RECORD", "ACTION"} <= types, types)
        # Every strategy event type of SPEC 6.1, and a recorded training sync.
        strategy_types = {e["event_type"] for e in a if e["entity"] == "strategy"}
        self.assertEqual(strategy_types, STRATEGY_EVENT_TYPES)
        self.assertIn(("ai_feedback_sync", "SYNC"), {(e["entity"], e["event_type"]) for e in a})
        self.assertIn(("job", "COMPLETED"), {(e["entity"], e["event_type"]) for e in a})
        with open(os.path.join(d1, "demo-training.jsonl")) as f:
            synced = [json.loads(x)["seq"] for x in f]
        records = [e["seq"] for e in T.show_all(d1) if e["entity"] == "ai_feedback"]
        self.assertTrue(0 < len(synced) < len(records))  # halfway: the rest is left to sync
        self.assertEqual(synced, records[:len(synced)])
        # Run again on the same ledger: more history, new strategies, still verifiable.
        before = len(a)
        j = json.loads(T.cli_ok(d1, ["demo", "--events", "400", "--seed", "9", "-o", "json"]))
        after = T.show_all(d1)
        self.assertEqual(len(after), before + j["events"])
        ids = {e["entity_id"] for e in after[:before] if e["entity"] == "strategy"}
        new_ids = {e["entity_id"] for e in after[before:] if e["entity"] == "strategy"}
        self.assertTrue(new_ids and not ids & new_ids, (ids, new_ids))
        self.assertEqual({e["event_type"] for e in after[before:] if e["entity"] == "strategy"},
                         STRATEGY_EVENT_TYPES)
        T.cli_ok(d1, ["verify"])
        del tempfile
        self.assertEqual(T.cli(self.data, ["demo"]).returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

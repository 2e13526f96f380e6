#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the strategy lifecycle (SPEC 6.1, 9, 10; issue 4) against a real
`tradetrail serve`: every strategy endpoint, the two seed-compatible audit-log shapes with
their exact key sets, 409 bodies naming the current status, roles, validation that writes
nothing, and the seed's scenario (create, submit, activate, swap, roll back) visible in
GET /api/events and passing `tradetrail verify`; plus the `tradetrail strategy` CLI on the
same store."""

import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402

YAML1 = "name: rsi\nfeatures:\n  rsi:\n    period: 14\nentry: rsi < 30\n"
YAML2 = "name: rsi\nfeatures:\n  rsi:\n    period: 14\nentry: rsi < 35\n"
# The seed's StrategyAuditLog row; strategyId in every entry (issue 13 item 18).
AUDIT_KEYS = {"id", "strategyId", "eventType", "oldStatus", "newStatus", "changedBy",
              "changeReason", "metadata", "createdAt"}
STRATEGY_KEYS = {"id", "name", "symbol", "timeframe", "status", "deleted", "version",
                 "created_at", "updated_at"}


def qs(**params):
    return "?" + urllib.parse.urlencode(params) if params else ""


class StrategyApiTest(ServerCase):

    # ---- helpers ----

    def post(self, path, body, token="ingest", expect=200):
        r = self.server.request("POST", path, body=body, token=token)
        self.assertEqual(r.status, expect, r)
        return r.json()

    def create(self, sid, yaml=YAML1, **kw):
        body = {"id": sid, "name": "AAPL RSI Strategy", "symbol": "AAPL", "timeframe": "5m",
                "yaml": yaml, "actor": "user123", "reason": "Initial version"}
        body.update(kw)
        return self.post("/api/strategies", body, expect=201)

    def action(self, sid, op, actor="system", reason=None, expect=200, **kw):
        body = {"actor": actor}
        if reason is not None:
            body["reason"] = reason
        body.update(kw)
        return self.post("/api/strategies/%s/%s" % (sid, op), body, expect=expect)

    def events(self, **filters):
        return self.server.get_json("/api/events" + qs(limit=10000, **filters),
                                    token="read")["events"]

    # ---- the seed scenario ----

    def test_seed_scenario(self):
        j = self.create("seed_old")
        self.assertEqual(set(j), {"strategy", "event", "version"})
        self.assertEqual(set(j["strategy"]), STRATEGY_KEYS)
        self.assertEqual(j["strategy"]["status"], "DRAFT")
        self.assertEqual(j["version"], 1)
        self.assertTrue(T.HEX64_RE.match(j["event"]["leaf_hash"]))
        r = self.server.request("PUT", "/api/strategies/seed_old/yaml", token="ingest",
                                body={"yaml": YAML2, "actor": "user123",
                                      "reason": "Updated RSI threshold from 30 to 35"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["version"], 2)
        self.action("seed_old", "submit")
        j = self.action("seed_old", "activate", reason="Strategy activated by orchestrator")
        self.assertEqual(j["strategy"]["status"], "ACTIVE")
        self.create("seed_new")
        self.action("seed_new", "submit")
        j = self.post("/api/strategies/swap",
                      {"old_id": "seed_old", "new_id": "seed_new", "actor": "evaluator",
                       "reason": "Swapped out: Underperforming vs benchmark",
                       "swap_reason": "performance", "old_score": -0.05, "new_score": 0.15})
        self.assertEqual(set(j), {"old", "new", "events"})
        self.assertEqual(j["old"]["status"], "CLOSED")
        self.assertEqual(j["new"]["status"], "ACTIVE")
        self.assertEqual(j["events"][1]["seq"], j["events"][0]["seq"] + 1)
        j = self.action("seed_old", "rollback", actor="user123", reason="Rolled back to version 1",
                        version=1)
        self.assertEqual(j["version"], 3)

        old = self.events(entity="strategy", entity_id="seed_old")
        self.assertEqual([e["event_type"] for e in old],
                         ["CREATED", "YAML_UPDATED", "STATUS_CHANGED", "ACTIVATED",
                          "SWAPPED_OUT", "ROLLED_BACK"])
        self.assertEqual([(e["old_status"], e["new_status"]) for e in old],
                         [(None, "DRAFT"), ("DRAFT", "DRAFT"), ("DRAFT", "PENDING"),
                          ("PENDING", "ACTIVE"), ("ACTIVE", "CLOSED"), ("CLOSED", "CLOSED")])
        self.assertEqual(old[0]["metadata"], {"symbol": "AAPL", "name": "AAPL RSI Strategy",
                                              "timeframe": "5m", "versionNumber": 1})
        self.assertEqual(old[1]["metadata"], {"versionNumber": 2, "changeType": "MANUAL_EDIT"})
        self.assertEqual(old[4]["metadata"], {"swapReason": "performance",
                                              "newStrategyId": "seed_new",
                                              "evaluationScore": -0.05})
        self.assertEqual(old[5]["metadata"], {"targetVersionNumber": 1, "newVersionNumber": 3})
        self.assertEqual(old[3]["reason"], "Strategy activated by orchestrator")
        new = self.events(entity="strategy", entity_id="seed_new")
        self.assertEqual([e["event_type"] for e in new],
                         ["CREATED", "STATUS_CHANGED", "SWAPPED_IN"])
        self.assertEqual(new[2]["metadata"], {"swapReason": "performance",
                                              "replacedStrategyId": "seed_old",
                                              "evaluationScore": 0.15})
        self.assertEqual(new[2]["seq"], old[4]["seq"] + 1)
        self.assertEqual(new[2]["ts"], old[4]["ts"])  # one transaction, one timestamp

        # Every step is in the verifiable ledger (the server keeps running meanwhile).
        p = T.cli(self.server.data, ["verify"])
        self.assertEqual(p.returncode, 0, p.stderr)

        # Versions and diff.
        v = self.server.get_json("/api/strategies/seed_old/versions", token="read")
        self.assertEqual(v["count"], 3)
        self.assertEqual([x["change_type"] for x in v["versions"]],
                         ["INITIAL", "MANUAL_EDIT", "ROLLBACK"])
        self.assertNotIn("content", v["versions"][0])
        self.assertEqual(v["versions"][2]["sha256"], v["versions"][0]["sha256"])
        one = self.server.get_json("/api/strategies/seed_old/versions/3", token="read")
        self.assertEqual(one["content"], YAML1)
        d = self.server.get_json("/api/strategies/seed_old/diff?from=1&to=2", token="read")
        self.assertEqual(set(d), {"strategy_id", "from", "to", "diff"})
        self.assertIn("-entry: rsi < 30\n+entry: rsi < 35\n", d["diff"])
        r = self.server.request("GET", "/api/strategies/seed_old/diff?from=2&to=3", token="read",
                                headers={"Accept": "text/x-diff"})
        self.assertEqual(r.status, 200)
        self.assertTrue(r.text.startswith("--- seed_old/v2\n+++ seed_old/v3\n"), r.text)
        self.assertEqual(self.server.request("GET", "/api/strategies/seed_old/versions/9",
                                             token="read").status, 404)

    # ---- seed-compatible shapes ----

    def test_audit_log_shape(self):
        self.create("aud1")
        self.action("aud1", "submit", reason="go")
        self.action("aud1", "activate", reason="Strategy activated by orchestrator")
        j = self.server.get_json("/api/strategies/aud1/audit-log", token="read")
        self.assertEqual(set(j), {"success", "strategyId", "auditLog", "count"})
        self.assertIs(j["success"], True)
        self.assertEqual(j["strategyId"], "aud1")
        self.assertEqual(j["count"], 3)
        self.assertEqual(len(j["auditLog"]), 3)
        for e in j["auditLog"]:
            self.assertEqual(set(e), AUDIT_KEYS)
            self.assertTrue(T.TS_RE.match(e["createdAt"]))
        self.assertEqual([e["eventType"] for e in j["auditLog"]],
                         ["ACTIVATED", "STATUS_CHANGED", "CREATED"])  # newest first
        ids = [e["id"] for e in j["auditLog"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        first = j["auditLog"][0]
        self.assertEqual((first["oldStatus"], first["newStatus"], first["changedBy"],
                          first["changeReason"], first["metadata"]),
                         ("PENDING", "ACTIVE", "system", "Strategy activated by orchestrator",
                          None))
        created = j["auditLog"][2]
        self.assertIsNone(created["oldStatus"])
        self.assertEqual(created["metadata"]["versionNumber"], 1)
        j = self.server.get_json("/api/strategies/aud1/audit-log?limit=1", token="read")
        self.assertEqual((j["count"], j["auditLog"][0]["eventType"]), (1, "ACTIVATED"))
        # An unknown strategy has an empty log, as the seed's query would.
        j = self.server.get_json("/api/strategies/nobody/audit-log", token="read")
        self.assertEqual((j["count"], j["auditLog"]), (0, []))
        self.assertError(self.server.request("GET", "/api/strategies/aud1/audit-log?limit=x",
                                             token="read"), 400)

    def test_audit_logs_filter_before_limit(self):
        self.create("flt1")
        for i in range(5):  # many newer events of other types
            r = self.server.request("PUT", "/api/strategies/flt1/yaml", token="ingest",
                                    body={"yaml": "v: %d\n" % i, "actor": "u"})
            self.assertEqual(r.status, 200, r)
        self.create("flt2")
        for i in range(5):
            r = self.server.request("PUT", "/api/strategies/flt2/yaml", token="ingest",
                                    body={"yaml": "v: %d\n" % i, "actor": "u"})
            self.assertEqual(r.status, 200, r)
        j = self.server.get_json("/api/audit-logs/strategies?eventType=CREATED&limit=2",
                                 token="read")
        self.assertEqual(set(j), {"success", "auditLogs", "count"})
        self.assertEqual(j["count"], 2)
        self.assertTrue(all(e["eventType"] == "CREATED" for e in j["auditLogs"]))
        for e in j["auditLogs"]:
            self.assertEqual(set(e), AUDIT_KEYS)
        self.assertEqual(j["auditLogs"][0]["id"], max(e["seq"] for e in self.events(
            entity="strategy", event_type="CREATED")))
        j = self.server.get_json("/api/audit-logs/strategies?limit=3", token="read")
        self.assertEqual(j["count"], 3)
        every = self.events(entity="strategy")
        self.assertEqual([e["id"] for e in j["auditLogs"]], [e["seq"] for e in every][::-1][:3])
        # Issue 13 item 18: each entry says which strategy it is about.
        self.assertEqual([e["strategyId"] for e in j["auditLogs"]],
                         [e["entity_id"] for e in every][::-1][:3])
        # Issue 13 item 17: eventType is a comma list, as event_type of GET /api/events.
        j = self.server.get_json("/api/audit-logs/strategies?eventType=CREATED,YAML_UPDATED"
                                 "&limit=10000", token="read")
        want = self.events(entity="strategy", event_type="CREATED,YAML_UPDATED")
        self.assertGreaterEqual(len(want), 12)
        self.assertEqual([e["id"] for e in j["auditLogs"]], [e["seq"] for e in want][::-1])

    # ---- refusals ----

    def test_conflict_names_status(self):
        self.create("cf1")
        size = self.server.tree_size()
        r = self.server.request("POST", "/api/strategies/cf1/activate", token="ingest",
                                body={"actor": "system"})
        self.assertError(r, 409)
        self.assertEqual(r.json()["error"]["message"],
                         "strategy cf1 is DRAFT; activate needs PENDING")
        r = self.server.request("POST", "/api/strategies/swap", token="ingest",
                                body={"old_id": "cf1", "new_id": "cf1x", "actor": "e"})
        self.assertError(r, 404)
        self.create("cf2")
        r = self.server.request("POST", "/api/strategies/swap", token="ingest",
                                body={"old_id": "cf1", "new_id": "cf2", "actor": "e"})
        self.assertError(r, 409)
        self.assertIn("DRAFT", r.json()["error"]["message"])
        self.assertEqual(self.server.tree_size(), size + 1)  # only cf2's CREATED
        self.action("cf1", "delete", actor="user123", reason="Strategy soft deleted")
        r = self.server.request("POST", "/api/strategies/cf1/submit", token="ingest",
                                body={"actor": "u"})
        self.assertError(r, 409)
        self.assertIn("deleted", r.json()["error"]["message"])
        r = self.server.request("POST", "/api/strategies/cf1", token="ingest", body={})
        self.assertError(r, 405)

    def test_invalid_input_writes_nothing(self):
        size = self.server.tree_size()
        bad = [
            {"id": "bad1", "name": "n", "symbol": "S", "timeframe": "1m", "yaml": "a: [1",
             "actor": "u"},
            {"id": "bad id", "name": "n", "symbol": "S", "timeframe": "1m", "yaml": "a: 1",
             "actor": "u"},
            {"id": "bad3", "name": "n", "symbol": "S", "timeframe": "1m", "yaml": "a: 1"},
            {"id": "bad4", "name": "n", "symbol": "S", "timeframe": "1m", "yaml": "a: 1",
             "actor": "u", "unknown": 1},
            {"id": "bad5", "name": 5, "symbol": "S", "timeframe": "1m", "yaml": "a: 1",
             "actor": "u"},
        ]
        for body in bad:
            r = self.server.request("POST", "/api/strategies", token="ingest", body=body)
            self.assertError(r, 400, json.dumps(body))
        r = self.server.request("POST", "/api/strategies", token="ingest", body="{",
                                content_type="application/json")
        self.assertError(r, 400)
        r = self.server.request("POST", "/api/strategies", token="ingest", body="x",
                                content_type="text/plain")
        self.assertError(r, 415)
        self.create("val1")
        r = self.server.request("PUT", "/api/strategies/val1/yaml", token="ingest",
                                body={"yaml": "k: \"open\n", "actor": "u"})
        self.assertError(r, 400)
        self.assertIn("yaml", r.json()["error"]["message"])
        # Issue 13 item 4: 400 KB of nested `[` held a server thread for over 60 s; now it is
        # refused at once, and an alias without an anchor is refused too.
        for deep in ("[" * 400000, "- " * 200000, "a: *nowhere\n"):
            t = time.perf_counter()
            r = self.server.request("PUT", "/api/strategies/val1/yaml", token="ingest",
                                    body={"yaml": deep, "actor": "u"})
            took = time.perf_counter() - t
            self.assertError(r, 400)
            self.assertIn("yaml", r.json()["error"]["message"])
            self.assertLess(took, 2.0 * T.SLOW, "%r... took %.2f s" % (deep[:8], took))
        r = self.server.request("POST", "/api/strategies/val1/rollback", token="ingest",
                                body={"actor": "u", "version": 0})
        self.assertError(r, 400)
        r = self.server.request("POST", "/api/strategies/val1/rollback", token="ingest",
                                body={"actor": "u", "version": 7})
        self.assertError(r, 404)
        r = self.server.request("POST", "/api/strategies/nope/close", token="ingest",
                                body={"actor": "u"})
        self.assertError(r, 404)
        self.assertEqual(self.server.tree_size(), size + 1)
        self.assertError(self.server.request("GET", "/api/strategies/nope", token="read"), 404)
        self.assertError(self.server.request("GET", "/api/strategies/val1/diff?from=1",
                                             token="read"), 400)

    def test_roles(self):
        self.create("rol1")
        r = self.server.request("POST", "/api/strategies/rol1/submit", token="read",
                                body={"actor": "u"})
        self.assertError(r, 403)
        self.assertError(self.server.request("GET", "/api/strategies/rol1", token="ingest"), 403)
        self.assertError(self.server.request("GET", "/api/strategies", token=None), 401)
        self.assertEqual(self.server.request("GET", "/api/strategies/rol1", token="read").status,
                         200)
        self.assertEqual(self.server.request("GET", "/api/strategies/rol1",
                                             token="admin").status, 200)

    def test_list_and_get(self):
        self.create("lst1", symbol="MSFT")
        self.create("lst2", symbol="MSFT")
        self.action("lst2", "delete")
        j = self.server.get_json("/api/strategies?symbol=MSFT", token="read")
        self.assertEqual(set(j), {"strategies", "count"})
        self.assertEqual([s["id"] for s in j["strategies"]], ["lst1"])
        j = self.server.get_json("/api/strategies?symbol=MSFT&include_deleted=true", token="read")
        self.assertEqual([(s["id"], s["deleted"]) for s in j["strategies"]],
                         [("lst1", False), ("lst2", True)])
        j = self.server.get_json("/api/strategies?status=DRAFT&symbol=MSFT", token="read")
        self.assertEqual(j["count"], 1)
        self.assertError(self.server.request("GET", "/api/strategies?status=bogus",
                                             token="read"), 400)
        self.assertError(self.server.request("GET", "/api/strategies?nope=1", token="read"), 400)
        s = self.server.get_json("/api/strategies/lst1", token="read")
        self.assertEqual(set(s), STRATEGY_KEYS)
        self.assertEqual((s["symbol"], s["status"], s["version"]), ("MSFT", "DRAFT", 1))
        j = self.post("/api/strategies/lst1/status", {"status": "PENDING", "actor": "u"})
        self.assertEqual(j["strategy"]["status"], "PENDING")
        # A generated id.
        j = self.post("/api/strategies", {"name": "g", "symbol": "G", "timeframe": "1d",
                                          "yaml": "a: 1\n", "actor": "u"}, expect=201)
        self.assertRegex(j["strategy"]["id"], r"^stg_[0-9a-f]{16}$")

    # ---- the CLI on the same store ----

    def test_cli(self):
        data = self.server.data
        p = T.cli(data, ["strategy", "create", "--id", "cli1", "--name", "c", "--symbol", "X",
                         "--timeframe", "1h", "--yaml-file", "-", "--actor", "cli", "-o", "json"],
                  input=YAML1)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["strategy"]["id"], "cli1")
        p = T.cli(data, ["strategy", "activate", "cli1"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("strategy cli1 is DRAFT; activate needs PENDING", p.stderr)
        p = T.cli(data, ["strategy", "update-yaml", "cli1", "--yaml-file", "-"], input="a: [\n")
        self.assertEqual(p.returncode, 1)
        p = T.cli(data, ["strategy", "show", "ghost"])
        self.assertEqual(p.returncode, 1)
        p = T.cli(data, ["strategy", "frobnicate"])
        self.assertEqual(p.returncode, 2)
        p = T.cli(data, ["strategy", "diff", "cli1", "1"])
        self.assertEqual(p.returncode, 2)
        for sub in ["create", "submit", "activate", "fail", "close", "archive", "delete",
                    "update-yaml", "rollback", "swap", "show", "list", "versions", "diff",
                    "history"]:
            p = T.cli(data, ["strategy", sub, "--help"])
            self.assertEqual(p.returncode, 0, sub)
            self.assertIn("usage: tradetrail strategy " + sub, p.stdout)
        T.cli_ok(data, ["strategy", "submit", "cli1", "--reason", "ready"])
        out = T.cli_ok(data, ["strategy", "history", "cli1"])
        self.assertIn("STATUS_CHANGED strategy/cli1 (DRAFT \u2192 PENDING)\n  Reason: ready", out)
        j = json.loads(T.cli_ok(data, ["strategy", "history", "cli1", "-o", "json"]))
        api = self.server.get_json("/api/strategies/cli1/audit-log", token="read")
        self.assertEqual(j, api)
        # Issue 13 item 17: --type takes a comma list, as `show --type` does.
        out = T.cli_ok(data, ["strategy", "history", "cli1", "--type", "CREATED,STATUS_CHANGED"])
        self.assertEqual(len(out.splitlines()), 4, out)  # two events, two lines each
        self.assertIn("CREATED strategy/cli1 (\u2192 DRAFT)", out)
        self.assertIn("STATUS_CHANGED strategy/cli1 (DRAFT \u2192 PENDING)", out)
        self.assertLess(out.index("CREATED"), out.index("STATUS_CHANGED"))
        out = T.cli_ok(data, ["strategy", "history", "--type", "STATUS_CHANGED, CREATED", "-n",
                              "10000"])
        self.assertIn("STATUS_CHANGED strategy/cli1", out)
        j = json.loads(T.cli_ok(data, ["strategy", "history", "--type", "CREATED,STATUS_CHANGED",
                                       "-n", "10000", "-o", "json"]))
        self.assertEqual(j, self.server.get_json(
            "/api/audit-logs/strategies?eventType=CREATED,STATUS_CHANGED&limit=10000",
            token="read"))
        self.assertIn(("cli1", "STATUS_CHANGED"),
                      [(e["strategyId"], e["eventType"]) for e in j["auditLogs"]])
        p = T.cli(data, ["strategy", "history", "cli1", "--type", "CREATED", "-o", "json"])
        self.assertEqual(p.returncode, 2, p.stderr)
        j = json.loads(T.cli_ok(data, ["strategy", "show", "cli1", "-o", "json"]))
        self.assertEqual(j, self.server.get_json("/api/strategies/cli1", token="read"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

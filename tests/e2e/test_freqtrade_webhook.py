#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end test of POST /api/adapters/freqtrade (SPEC 15) against a real `tradetrail
serve`: the webhook configuration of docs/INTEGRATIONS.md is read from the document and
filled as freqtrade fills it (str.format over a message shaped like freqtrade's RPC
messages, with datetimes, None and floats), then posted with HTTP Basic authentication as
freqtrade's `requests` sends the user and password of webhook.url. Each message type
becomes its event; a resent body writes nothing; malformed bodies are refused with 400
and write nothing."""

import base64
import datetime
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402

PATH = "/api/adapters/freqtrade"


def doc_config():
    """The `webhook` section of docs/INTEGRATIONS.md, as a dict."""
    with open(os.path.join(T.SOURCE_DIR, "docs", "INTEGRATIONS.md"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"```json\n(\"webhook\": \{.*?\n\})\n```", text, re.S).group(1)
    return json.loads("{" + block + "}")["webhook"]


OPEN = datetime.datetime(2026, 1, 18, 10, 31, 0, 123456, tzinfo=datetime.timezone.utc)
CLOSE = datetime.datetime(2026, 1, 19, 8, 0, 0, tzinfo=datetime.timezone.utc)

# Messages shaped as freqtrade's rpc_types (RPCEntryMsg, RPCCancelMsg, RPCExitMsg, ...).
BASE = {"trade_id": 42, "buy_tag": "rsi_cross", "enter_tag": "rsi_cross", "exchange": "binance",
        "pair": "BTC/USDT", "base_currency": "BTC", "leverage": 1.0, "direction": "Long",
        "limit": 42000.5, "open_rate": 42000.5, "order_type": "limit", "stake_amount": 100.0,
        "stake_currency": "USDT", "fiat_currency": None, "amount": 0.00238, "open_date": OPEN,
        "current_rate": 41990.0, "sub_trade": False}
EXIT = dict(BASE, cumulative_profit=1.5, gain="profit", close_rate=42630.0, profit_amount=1.5,
            profit_ratio=0.015, exit_reason="roi", close_date=CLOSE, order_rate=42630.0)
MESSAGES = {
    "entry": BASE,
    "entry_fill": BASE,
    "entry_cancel": dict(BASE, reason="timeout"),
    "exit": EXIT,
    "exit_fill": EXIT,
    "exit_cancel": dict(EXIT, reason="timeout"),
    "status": {"status": "running"},
}


def fill(template, msg):
    """What freqtrade's webhook does: each value of the body through str.format(**msg)."""
    return {k: v.format(**msg) for k, v in template.items()}


class FreqtradeWebhookTest(ServerCase):

    def post(self, body, auth=None, content_type="application/json"):
        token = self.server.tokens["ingest"]
        auth = auth or "Basic " + base64.b64encode(("freqtrade:" + token).encode()).decode()
        data = json.dumps(body) if not isinstance(body, str) else body
        return self.server.request("POST", PATH, body=data, token=None,
                                   headers={"Authorization": auth,
                                            "Content-Type": content_type})

    def events(self, **filters):
        q = "&".join("%s=%s" % kv for kv in filters.items())
        return self.server.get_json("/api/events?" + q, token="read")["events"]

    def test_every_message_type(self):
        cfg = doc_config()
        self.assertEqual(cfg["format"], "json")
        self.assertTrue(cfg["url"].endswith(PATH))
        seqs = {}
        for mtype, msg in MESSAGES.items():
            r = self.post(fill(cfg[mtype], msg))
            self.assertEqual(r.status, 201, (mtype, r))
            seqs[mtype] = r.json()["seq"]
        trade = self.events(entity="trade", entity_id="42")
        self.assertEqual([e["event_type"] for e in trade],
                         ["ENTRY", "ENTRY_FILL", "ENTRY_CANCEL", "EXIT", "EXIT_FILL",
                          "EXIT_CANCEL"])
        for e in trade:
            self.assertEqual(e["actor"], "freqtrade-main")
            self.assertTrue(e["idempotency_key"].startswith("ft:"), e)
            m = e["metadata"]
            self.assertEqual((m["source"], m["bot"], m["pair"], m["exchange"], m["direction"]),
                             ("freqtrade", "freqtrade-main", "BTC/USDT", "binance", "Long"))
            self.assertEqual(m["amount"], 0.00238)
            self.assertEqual(m["stake_currency"], "USDT")
            self.assertEqual(m["open_date"], str(OPEN))
            self.assertNotIn("fiat_currency", m)
        entry, fill_ev, cancel, exit_, exit_fill, exit_cancel = trade
        self.assertEqual(entry["metadata"]["open_rate"], 42000.5)
        self.assertEqual(entry["metadata"]["leverage"], 1.0)
        self.assertEqual(entry["metadata"]["enter_tag"], "rsi_cross")
        self.assertEqual(entry["metadata"]["current_rate"], 41990.0)
        self.assertEqual(entry["reason"], "freqtrade entry BTC/USDT Long")
        self.assertEqual(cancel["metadata"]["limit"], 42000.5)
        self.assertEqual(exit_fill["metadata"]["close_rate"], 42630.0)
        self.assertEqual(exit_fill["metadata"]["profit_amount"], 1.5)
        self.assertEqual(exit_fill["metadata"]["profit_ratio"], 0.015)
        self.assertEqual(exit_fill["metadata"]["exit_reason"], "roi")
        self.assertEqual(exit_fill["metadata"]["gain"], "profit")
        self.assertEqual(exit_fill["metadata"]["close_date"], str(CLOSE))
        self.assertEqual(exit_fill["reason"], "freqtrade exit_fill BTC/USDT Long: roi")
        self.assertEqual(exit_["metadata"]["limit"], 42000.5)
        self.assertEqual(exit_cancel["metadata"]["profit_ratio"], 0.015)
        status = self.server.get_json("/api/events/%d" % seqs["status"], token="read")
        self.assertEqual((status["entity"], status["entity_id"], status["event_type"],
                          status["reason"], status["idempotency_key"]),
                         ("bot", "freqtrade-main", "STATUS", "running", None))
        # The server records which token sent them.
        self.assertTrue(status["principal"].startswith("token:"), status)

    def test_retry_writes_nothing(self):
        cfg = doc_config()
        body = fill(cfg["exit_fill"], dict(EXIT, trade_id=7))
        first = self.post(body)
        self.assertEqual(first.status, 201, first)
        size = self.server.tree_size()
        again = self.post(body)  # freqtrade's webhook.retries resends the same body
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json()["seq"], first.json()["seq"])
        self.assertEqual(self.server.tree_size(), size)
        # The same trade's next exit (another amount) is another event.
        other = self.post(fill(cfg["exit_fill"], dict(EXIT, trade_id=7, amount=0.001)))
        self.assertEqual(other.status, 201, other)
        # JSON numbers are read as well as freqtrade's strings.
        nums = dict(body, trade_id=8, amount=0.5, open_rate=100)
        self.assertEqual(self.post(nums).status, 201)
        self.assertEqual(self.events(entity="trade", entity_id="8")[0]["metadata"]["amount"],
                         0.5)

    def test_ledger_in_the_url(self):
        # SPEC 15: a dry-run bot, which can be given only a URL, writes to its own ledger.
        cfg = doc_config()
        body = fill(cfg["entry"], dict(BASE, trade_id=77))
        token = self.server.tokens["ingest"]
        auth = "Basic " + base64.b64encode(("freqtrade:" + token).encode()).decode()
        r = self.server.request("POST", PATH + "?ledger=paper-ft", body=json.dumps(body),
                                token=None, headers={"Authorization": auth,
                                                     "Content-Type": "application/json"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["seq"], 1)  # the new ledger's first event
        self.assertEqual(self.events(entity="trade", entity_id="77"), [])
        got = self.server.request("GET", "/api/events?entity=trade", token="read",
                                  headers={"X-Ledger": "paper-ft"})
        self.assertEqual(got.status, 200, got)
        self.assertEqual([(e["entity_id"], e["event_type"]) for e in got.json()["events"]],
                         [("77", "ENTRY")])
        # The parameter is the adapter's alone, and a name must be one.
        bad = self.server.request("POST", PATH + "?ledger=Paper!", body=json.dumps(body),
                                  token=None, headers={"Authorization": auth,
                                                       "Content-Type": "application/json"})
        self.assertEqual(bad.status, 400, bad)
        other = self.server.request("GET", "/api/events?ledger=paper-ft", token="read")
        self.assertEqual(other.status, 400, other)

    def test_status_with_type_placeholder(self):
        # A status body saying "type": "{type}" tells startup and warning apart: freqtrade
        # sends STATUS, STARTUP and WARNING messages through the one status body.
        template = {"type": "{type}", "bot": "ft-typed", "status": "{status}"}
        for mtype, text in [("startup", "*Exchange:* binance"), ("warning", "low balance"),
                            ("status", "process died")]:
            r = self.post(fill(template, {"type": mtype, "status": text}))
            self.assertEqual(r.status, 201, r)
        evs = self.events(entity="bot", entity_id="ft-typed")
        self.assertEqual([(e["event_type"], e["reason"]) for e in evs],
                         [("STARTUP", "*Exchange:* binance"), ("WARNING", "low balance"),
                          ("STATUS", "process died")])

    def test_bad_bodies(self):
        cfg = doc_config()
        good = fill(cfg["entry"], dict(BASE, trade_id=9))
        size = self.server.tree_size()
        cases = [
            (dict(good, type="protection_trigger"), 400, "not a freqtrade message type"),
            ({k: v for k, v in good.items() if k != "type"}, 400, "type: required"),
            ({k: v for k, v in good.items() if k != "trade_id"}, 400, "trade_id: required"),
            (dict(good, amount="lots"), 400, "amount"),
            (dict(good, amount="inf"), 400, "amount"),
            (dict(good, pairr="BTC/USDT"), 400, "unknown field \"pairr\""),
            (dict(good, pair={"a": 1}), 400, "pair"),
            ({"type": "status", "bot": "x"}, 400, "status: required"),
            ([good], 400, "JSON object"),
            ("{\"type\": \"entry\",", 400, "invalid JSON"),
            ("", 400, "empty"),
        ]
        for body, status, words in cases:
            r = self.post(body)
            self.assertEqual(r.status, status, (body, r))
            self.assertEqual(r.json()["error"]["code"], "invalid_argument")
            self.assertIn(words, r.json()["error"]["message"], body)
        # freqtrade's default format (form) is refused with the setting to change.
        r = self.post("type=entry&pair=BTC", content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status, 415, r)
        self.assertIn("format", r.json()["error"]["message"])
        self.assertEqual(self.server.tree_size(), size)

    def test_auth(self):
        good = fill(doc_config()["entry"], dict(BASE, trade_id=10))
        bad = "Basic " + base64.b64encode(b"freqtrade:tt_" + b"0" * 64).decode()
        self.assertEqual(self.post(good, auth=bad).status, 401)
        self.assertEqual(self.post(good, auth="Basic !!!").status, 401)
        read = "Basic " + base64.b64encode(("u:" + self.server.tokens["read"]).encode()).decode()
        self.assertEqual(self.post(good, auth=read).status, 403)
        bearer = "Bearer " + self.server.tokens["ingest"]
        self.assertEqual(self.post(good, auth=bearer).status, 201)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the Telegram channel (SPEC 15) against a fake Bot API (http.server on
127.0.0.1, pointed at by telegram_api): sendMessage with chat_id, HTML text and parse_mode;
per-event-type switches (telegram_events); the error chat; the rate limit folding the rest
into one digest; Telegram's 429 with retry_after honoured; an outage followed by delivery
marked late; & < > escaped; and the bot token in no log, no stored row and no `config`
output."""

import glob
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

WAIT = 20 * T.SLOW
TOKEN = "123456789:AAE-fake-T0KEN-never-logged"


class FakeBotApi:
    """The Bot API's sendMessage on a fixed loopback port: records each request, can answer
    429 with retry_after, and can be taken down and back up."""

    def __init__(self):
        self.port = T.free_port()
        self.requests = []  # (time, path, body or None, status)
        self.lock = threading.Lock()
        self.httpd = None
        self.answer_429 = 0  # answer this many requests with 429
        self.retry_after = 3

    def up(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n).decode("utf-8"))
                with outer.lock:
                    if self.path != "/bot%s/sendMessage" % TOKEN:
                        status, answer = 404, {"ok": False, "error_code": 404,
                                               "description": "Not Found"}
                    elif outer.answer_429 > 0:
                        outer.answer_429 -= 1
                        status, answer = 429, {
                            "ok": False, "error_code": 429,
                            "description": "Too Many Requests: retry after %d" %
                            outer.retry_after,
                            "parameters": {"retry_after": outer.retry_after}}
                    else:
                        status, answer = 200, {"ok": True, "result": {"message_id": 1}}
                    outer.requests.append((time.time(), self.path, body, status))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def down(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def delivered(self):
        with self.lock:
            return [r[2] for r in self.requests if r[3] == 200]

    def all(self):
        with self.lock:
            return list(self.requests)


def wait_for(pred, what, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class TelegramTest(unittest.TestCase):

    def setUp(self):
        self.api = FakeBotApi()
        self.api.up()
        self.servers = []

    def tearDown(self):
        failures = []
        for s in self.servers:
            try:
                s.finish()
            except AssertionError as e:
                failures.append(str(e))
        self.api.down()
        if failures:
            raise AssertionError("\n".join(failures))

    def server(self, **settings):
        env = {"TRADETRAIL_TELEGRAM_BOT_TOKEN": TOKEN,
               "TRADETRAIL_TELEGRAM_CHAT_ID": "-1001",
               "TRADETRAIL_TELEGRAM_API": "http://127.0.0.1:%d" % self.api.port}
        for k, v in settings.items():
            env["TRADETRAIL_" + k.upper()] = str(v)
        s = T.Server(env=env)
        self.servers.append(s)
        return s.start()

    def append(self, s, events):
        r = s.post_events(events)
        self.assertEqual(r.status, 201, r)

    def assert_no_token(self, s):
        """The token in no log line, no stored row, no config output."""
        self.assertNotIn(TOKEN, s.stderr() + s.stdout())
        self.assertNotIn(TOKEN.split(":")[1], s.stderr() + s.stdout())
        for f in glob.glob(os.path.join(s.data, "ledger.db*")):
            with open(f, "rb") as fh:
                self.assertNotIn(TOKEN.split(":")[1].encode(), fh.read(), f)

    def test_delivery_switches_error_chat_escaping(self):
        s = self.server(telegram_error_chat_id="@ops_errors",
                        telegram_events="FILLED,strategy/ACTIVATED")
        self.append(s, [
            T.event(entity="order", entity_id="o-1", event_type="FILLED",
                    reason="<b>bold</b> & <script>x</script>"),
            T.event(entity="order", entity_id="o-2", event_type="CREATED"),  # switched off
            T.event(entity="order", entity_id="o-3", event_type="ACTIVATED"),  # not order/
            T.event(entity="strategy", entity_id="s-1", event_type="ACTIVATED"),
            T.event(entity="job", entity_id="daily_summary", event_type="FAILED",
                    reason="disk full"),
        ])
        got = wait_for(lambda: len(self.api.delivered()) >= 3 and self.api.delivered(),
                       "three messages")
        time.sleep(1.0)  # nothing else comes
        got = self.api.delivered()
        self.assertEqual(len(got), 3, got)
        for m in got:
            self.assertEqual(m["parse_mode"], "HTML")
            self.assertNotIn("Delivered late", m["text"])
        by_chat = {}
        for m in got:
            by_chat.setdefault(m["chat_id"], []).append(m["text"])
        self.assertEqual(len(by_chat["-1001"]), 2, by_chat)
        filled = [t for t in by_chat["-1001"] if "FILLED" in t][0]
        self.assertIn("&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;", filled)
        self.assertNotIn("<script>", filled)
        self.assertTrue(filled.startswith("<b>[tradetrail] FILLED order/o-1</b>"), filled)
        self.assertTrue(any("strategy/s-1" in t for t in by_chat["-1001"]))
        self.assertEqual(len(by_chat["@ops_errors"]), 1, by_chat)
        self.assertIn("FAILED job/daily_summary", by_chat["@ops_errors"][0])
        self.assertIn("\U0001f6a8", by_chat["@ops_errors"][0])
        s.stop_ok()
        self.assert_no_token(s)
        shown = T.cli(s.data, ["config"]).stdout
        self.assertNotIn(TOKEN.split(":")[1], shown)
        env = dict(os.environ, TRADETRAIL_TELEGRAM_BOT_TOKEN=TOKEN)
        out = subprocess.run([T.BIN, "--data", s.data, "config", "-o", "json"], env=env,
                             capture_output=True, text=True, timeout=60).stdout
        keys = json.loads(out)["keys"]
        self.assertEqual(keys["telegram_bot_token"]["value"], "********")

    def test_throttle_digest(self):
        s = self.server(telegram_per_minute=3, telegram_events="FILLED")
        self.append(s, [T.event(entity="order", entity_id="o-%d" % i, event_type="FILLED")
                        for i in range(10)])
        wait_for(lambda: len(self.api.delivered()) >= 3, "three messages")
        time.sleep(1.5)
        got = self.api.delivered()
        self.assertEqual(len(got), 3, got)
        self.assertIn("o-0", got[0]["text"])
        self.assertIn("o-1", got[1]["text"])
        digest = got[2]["text"]
        self.assertIn("Digest: 8 notifications", digest)
        for i in range(2, 10):
            self.assertIn("order/o-%d" % i, digest)
        # The minute is used up: one more waits for a free slot.
        self.append(s, T.event(entity="order", entity_id="o-late", event_type="FILLED"))
        time.sleep(1.5)
        self.assertEqual(len(self.api.delivered()), 3)
        m = s.request("GET", "/metrics").text
        self.assertIn("tradetrail_outbox_pending 1", m)
        self.assertIn('tradetrail_notifications_sent_total{channel="telegram",outcome="sent"} 3',
                      m)

    def test_429_retry_after(self):
        self.api.answer_429 = 1
        self.api.retry_after = 3
        s = self.server(telegram_events="FILLED")
        self.append(s, T.event(entity="order", entity_id="o-1", event_type="FILLED"))
        wait_for(lambda: len(self.api.delivered()) == 1, "the retried message")
        reqs = self.api.all()
        self.assertEqual([r[3] for r in reqs], [429, 200])
        gap = reqs[1][0] - reqs[0][0]
        self.assertGreaterEqual(gap, 2.9)  # the backoff alone would be about 1 s
        self.assertLess(gap, 3.0 + 2.0 * T.SLOW)
        s.stop_ok()
        self.assert_no_token(s)

    def test_outage_then_late(self):
        s = self.server(telegram_events="FILLED", telegram_late_after=1)
        self.api.down()
        self.append(s, T.event(entity="order", entity_id="o-1", event_type="FILLED"))
        time.sleep(2.0)
        self.api.up()
        got = wait_for(lambda: self.api.delivered(), "delivery after the outage")
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0]["text"].startswith("\u23f0 <b>Delivered late</b>"), got[0])
        self.assertIn("order/o-1", got[0]["text"])
        s.stop_ok()
        self.assertIn("telegram", T.cli(s.data, ["config"]).stdout)
        self.assert_no_token(s)

    def test_summary_to_the_chat(self):
        s = self.server(telegram_error_chat_id="-2002", telegram_events="FILLED")
        env = dict(T.env_without_tradetrail(), TRADETRAIL_TELEGRAM_BOT_TOKEN=TOKEN,
                   TRADETRAIL_TELEGRAM_CHAT_ID="-1001", TRADETRAIL_TELEGRAM_ERROR_CHAT_ID="-2002",
                   TRADETRAIL_TELEGRAM_API="http://127.0.0.1:%d" % self.api.port)
        p = subprocess.run([T.BIN, "--data", s.data] + T.pglib.test_db_args(s.data) +
                           ["summary", "--notify"], env=env, capture_output=True, text=True,
                           timeout=60 * T.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = wait_for(lambda: self.api.delivered(), "the summary")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["chat_id"], "-1001")  # never the error chat
        self.assertTrue(got[0]["text"].startswith("<b>tradetrail"), got[0]["text"][:200])
        self.assertNotIn(TOKEN, p.stdout + p.stderr)

    def test_config_refused(self):
        s = T.Server(env={"TRADETRAIL_TELEGRAM_CHAT_ID": "-1001"})
        with self.assertRaises(AssertionError) as e:
            s.start(timeout=10)
        self.assertIn("telegram_bot_token: must be set with telegram_chat_id", str(e.exception))
        s.cleanup()


if __name__ == "__main__":
    unittest.main()

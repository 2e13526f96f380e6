#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the jobs (SPEC 6.2, 7) against a real `tradetrail serve` and CLI:
the cron endpoints' auth matrix (no secret configured → 403, missing or wrong X-Cron-Auth →
401, right → 200 with job STARTED/COMPLETED events), the training sync exactly once across
a `kill -9` of `tradetrail feedback sync` in the middle of a slow HTTP delivery (a receiver
served by this test on 127.0.0.1), the file sink through POST /api/ai/train, and the
scheduler's catch-up rule."""

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
import ttserver as T  # noqa: E402

SECRET = "e2e-cron-secret"


def events(data, entity=None, event_type=None):
    out = T.show_all(data)
    return [e for e in out if (entity is None or e["entity"] == entity) and
            (event_type is None or e["event_type"] == event_type)]


def record_feedback(data, n):
    """n feedback records through the CLI's NDJSON-free path: `demo` would add others."""
    for i in range(n):
        T.cli_ok(data, ["feedback", "record", "--strategy", "s-%d" % (i % 5), "--ai-return",
                        "0.0%d" % (i % 9), "--benchmark-return", "0.01", "--user", "u"])


class Receiver:
    """A training sink on 127.0.0.1: keeps every POSTed batch; delay makes it slow."""

    def __init__(self, delay=0.0):
        self.batches = []  # (batch_id, [seq...])
        self.delay = delay
        self.got = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                j = json.loads(body)
                assert self.headers["Idempotency-Key"] == j["batch_id"]
                outer.batches.append((j["batch_id"], [r["seq"] for r in j["records"]]))
                outer.got.set()
                if outer.delay:
                    time.sleep(outer.delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/train" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def unique_seqs(self):
        """Every record, deduplicated by batch id as a receiver would."""
        seen, seqs = set(), []
        for bid, s in self.batches:
            if bid not in seen:
                seen.add(bid)
                seqs.extend(s)
        return seqs


class CronAuthTest(unittest.TestCase):

    def test_no_secret_configured_is_403(self):
        with T.Server() as srv:
            for path in ("/api/cron/checkpoint", "/api/cron/daily-summary", "/api/ai/train",
                         "/api/cron/feedback-sync"):
                r = srv.request("POST", path, token=None, headers={"X-Cron-Auth": "anything"})
                self.assertEqual(r.status, 403, (path, r))
                self.assertEqual(r.json()["error"]["code"], "permission_denied")
            self.assertEqual(events(srv.data, "job"), [])

    def test_matrix(self):
        with T.Server(env={"TRADETRAIL_CRON_SECRET": SECRET}) as srv:
            for hdr in (None, {"X-Cron-Auth": ""}, {"X-Cron-Auth": SECRET[:-1]},
                        {"X-Cron-Auth": SECRET + "x"}):
                for path in ("/api/cron/checkpoint", "/api/ai/train"):
                    r = srv.request("POST", path, token=None, headers=hdr)
                    self.assertEqual(r.status, 401, (path, hdr, r))
                    self.assertEqual(r.json()["error"]["code"], "unauthenticated")
            self.assertEqual(events(srv.data, "job"), [])
            ok = {"X-Cron-Auth": SECRET}
            r = srv.request("POST", "/api/cron/checkpoint", token=None, headers=ok)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["job"], "checkpoint")
            self.assertIn("tree_size", r.json()["result"])
            r = srv.request("POST", "/api/cron/daily-summary", token=None, headers=ok)
            self.assertEqual(r.status, 200, r)
            self.assertIn("date", r.json()["result"])
            # retention without retention_days: refused as a configuration error, no run
            # (tests/e2e/test_retention.py runs it)
            self.assertEqual(srv.request("POST", "/api/cron/retention", token=None).status, 401)
            self.assertEqual(srv.request("POST", "/api/cron/retention", token=None,
                                         headers=ok).status, 400)
            self.assertEqual(srv.request("POST", "/api/cron/nope", token=None,
                                         headers=ok).status, 404)
            self.assertEqual(srv.request("GET", "/api/cron/checkpoint", token=None).status, 405)
            # no sink configured: the sync is refused as a configuration error, no run
            r = srv.request("POST", "/api/ai/train", token=None, headers=ok)
            self.assertEqual(r.status, 400, r)
            jobs = [(e["entity_id"], e["event_type"], e["actor"]) for e in events(srv.data, "job")]
            self.assertEqual(jobs, [("checkpoint", "STARTED", "cron"),
                                    ("checkpoint", "COMPLETED", "cron"),
                                    ("daily_summary", "STARTED", "cron"),
                                    ("daily_summary", "COMPLETED", "cron")])


class TrainingSyncTest(unittest.TestCase):

    def test_ai_train_file_sink(self):
        with T.Server(env={"TRADETRAIL_CRON_SECRET": SECRET}) as srv:
            sink = os.path.join(srv.log_dir, "train.jsonl")
            srv.stop_ok()
            srv.env["TRADETRAIL_FEEDBACK_SINK"] = "file:" + sink
            record_feedback(srv.data, 4)
            srv.start()
            r = srv.request("POST", "/api/ai/train", token=None, headers={"X-Cron-Auth": SECRET})
            self.assertEqual(r.status, 200, r)
            res = r.json()["result"]
            fb = [e["seq"] for e in events(srv.data, "ai_feedback", "RECORD")]
            self.assertEqual((res["count"], res["from_seq"], res["to_seq"]), (4, fb[0], fb[-1]))
            r = srv.request("POST", "/api/cron/feedback-sync", token=None,
                            headers={"X-Cron-Auth": SECRET})
            self.assertEqual(r.json()["result"]["count"], 0)
            with open(sink) as f:
                lines = [json.loads(x) for x in f]
            self.assertEqual([x["seq"] for x in lines], fb)
            self.assertEqual({x["batch_id"] for x in lines}, {res["batch_id"]})
            sync = events(srv.data, "ai_feedback_sync", "SYNC")
            self.assertEqual(len(sync), 1)
            self.assertEqual(sync[0]["metadata"]["count"], 4)
            self.assertEqual(sync[0]["metadata"]["sink"], "file:" + sink)

    def test_kill9_mid_http_delivery_exactly_once(self):
        srv = T.Server()
        try:
            T.cli_ok(srv.data, ["init"])
            record_feedback(srv.data, 12)
            rcv = Receiver(delay=30)
            env = T.env_without_tradetrail()
            env["TRADETRAIL_FEEDBACK_SINK"] = rcv.url
            p = subprocess.Popen(T.argv(srv.data, "feedback", "sync"), env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.assertTrue(rcv.got.wait(30 * T.SLOW), "the batch never arrived")
            p.send_signal(signal.SIGKILL)  # delivered, not committed
            p.wait(30)
            self.assertEqual(events(srv.data, "ai_feedback_sync", "SYNC"), [])
            first = rcv.batches[0][0]
            # more records arrive before the re-run: they go in a later batch
            record_feedback(srv.data, 3)
            rcv.delay = 0
            out = subprocess.run(T.argv(srv.data, "feedback", "sync", "-o", "json"),
                                 env=env, capture_output=True, text=True, timeout=60 * T.SLOW)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(rcv.batches[1][0], first)  # the same batch again, same id
            seqs = rcv.unique_seqs()
            fb = [e["seq"] for e in events(srv.data, "ai_feedback", "RECORD")]
            self.assertEqual(seqs, fb)  # every record exactly once, in seq order
            sync = events(srv.data, "ai_feedback_sync", "SYNC")
            self.assertEqual([s["entity_id"] for s in sync], [first, rcv.batches[2][0]])
            # the killed run left STARTED without an end; the re-run is complete
            runs = [(e["event_type"]) for e in events(srv.data, "job")]
            self.assertEqual(runs, ["STARTED", "STARTED", "COMPLETED"])
            rcv.close()
        finally:
            srv.cleanup()

    def test_kill9_file_sink_exactly_once(self):
        srv = T.Server()
        try:
            T.cli_ok(srv.data, ["init"])
            T.cli_ok(srv.data, ["demo", "--events", "4000", "--days", "120"])
            sink = os.path.join(srv.log_dir, "train.jsonl")
            env = T.env_without_tradetrail()
            env["TRADETRAIL_FEEDBACK_SINK"] = "file:" + sink
            # The demo's own training sync (to its file) took the records up to its
            # watermark: the rest are this test's.
            mark = max(e["metadata"]["to_seq"]
                       for e in events(srv.data, "ai_feedback_sync", "SYNC"))
            fb = [e["seq"] for e in events(srv.data, "ai_feedback", "RECORD") if e["seq"] > mark]
            self.assertGreater(len(fb), 100)
            for delay in (0.005, 0.02, 0.05):
                p = subprocess.Popen(T.argv(srv.data, "feedback", "sync"), env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                p.wait(30)
            T.cli(srv.data, ["feedback", "sync"])  # env-less: no sink → refused, harmless
            out = subprocess.run(T.argv(srv.data, "feedback", "sync"), env=env,
                                 capture_output=True, text=True, timeout=120 * T.SLOW)
            self.assertEqual(out.returncode, 0, out.stderr)
            with open(sink) as f:
                seqs = [json.loads(x)["seq"] for x in f]
            self.assertEqual(seqs, fb)
        finally:
            srv.cleanup()


class CatchUpTest(unittest.TestCase):

    def test_catch_up_once(self):
        srv = T.Server()
        try:
            srv.start()
            srv.stop_ok()
            # never run by the scheduler: nothing to catch up
            self.assertEqual(events(srv.data, "job"), [])
            # the scheduler last ran daily_summary for a slot days ago
            day = 86400
            now = int(time.time())
            today = now - now % day
            sql = ("INSERT INTO job_runs(name, trigger, slot, started_seq, ended_seq, status)"
                   " VALUES ('daily_summary', 'scheduler', %d, 1, 1, 'COMPLETED')"
                   % ((today - 3 * day) * 1000000))
            if pglib.test_db_args(srv.data):
                pglib.test_db_sql(srv.data, sql)
            else:
                db = sqlite3.connect(os.path.join(srv.data, "ledger.db"))
                db.execute(sql)
                db.commit()
                db.close()
            srv.start()
            deadline = time.time() + 30 * T.SLOW
            while time.time() < deadline and not events(srv.data, "job", "COMPLETED"):
                time.sleep(0.1)
            runs = events(srv.data, "job")
            self.assertEqual([(e["entity_id"], e["event_type"], e["actor"]) for e in runs],
                             [("daily_summary", "STARTED", "scheduler"),
                              ("daily_summary", "COMPLETED", "scheduler")])
            want = time.strftime("%Y-%m-%dT00:00:00.000000Z", time.gmtime(today))
            self.assertEqual(runs[0]["metadata"]["slot"], want)  # once, for the latest slot
            self.assertIn("catching up daily_summary", srv.stderr())
            srv.stop_ok()
            srv.start()  # that slot is handled now: no second run
            time.sleep(1)
            self.assertEqual(len(events(srv.data, "job")), 2)
        finally:
            srv.finish()

    def test_retention_schedule_refused(self):
        srv = T.Server(env={"TRADETRAIL_SCHEDULE_RETENTION": "0 3 * * *"})
        try:
            with self.assertRaises(AssertionError):
                srv.start(timeout=10)
            self.assertIn("schedule_retention is set but retention_days is not", srv.stderr())
        finally:
            srv.cleanup()

    def test_bad_schedule_refused(self):
        srv = T.Server(env={"TRADETRAIL_SCHEDULE_CHECKPOINT": "61 * * * *"})
        try:
            with self.assertRaises(AssertionError):
                srv.start(timeout=10)
            self.assertIn("schedule_checkpoint", srv.stderr())
            self.assertIn("minute", srv.stderr())
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the Python client clients/python/tradetrail_client (issue 17 item 1): its
offline verification against the committed leaf and checkpoint vectors, its pyproject.toml
(package and version), then every call against a real `tradetrail serve` (appends with
idempotency keys, retries only where they are safe, page iteration, proofs checked against
a signed checkpoint, strategies, feedback), and the BufferedSender across a server restart: the server stops mid-stream,
the trading loop keeps logging, the server comes back on the same data directory and
port, and every event is in the ledger exactly once and in order."""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402

sys.path.insert(0, os.path.join(T.SOURCE_DIR, "clients", "python"))
import tradetrail_client as tc  # noqa: E402
from tradetrail_client import verify as tv  # noqa: E402

VECTORS = os.path.join(T.SOURCE_DIR, "tests", "vectors")
YAML1 = "name: rsi\nentry: rsi < 30\n"
YAML2 = "name: rsi\nentry: rsi < 35\n"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class OfflineTest(unittest.TestCase):
    """No server: the client's hashing and signature checks against known answers."""

    def test_leaf_vectors(self):
        d = os.path.join(VECTORS, "leaf")
        for name in sorted(f for f in os.listdir(d) if f.endswith(".json")):
            v = json.loads(read(os.path.join(d, name)))
            with self.subTest(name):
                self.assertEqual(tv.leaf_bytes(v["event"]).hex(), v["leaf_bytes"])
                self.assertEqual(tv.leaf_hash(v["event"]), v["leaf_hash"])

    def test_checkpoint_vectors(self):
        d = os.path.join(VECTORS, "checkpoint")
        origin, size, root = tv.verify_note(read(os.path.join(d, "example-8.note")),
                                            read(os.path.join(d, "example.vkey")))
        self.assertEqual((origin, size), ("example.com/log", 8))
        self.assertEqual(len(root), 64)
        _, size, _ = tv.verify_note(read(os.path.join(d, "sumdb-31700353.note")),
                                    read(os.path.join(d, "sumdb.vkey")))
        self.assertEqual(size, 31700353)

    def test_checkpoint_tampered_or_wrong_key(self):
        d = os.path.join(VECTORS, "checkpoint")
        note = read(os.path.join(d, "example-8.note"))
        vkey = read(os.path.join(d, "example.vkey"))
        with self.assertRaises(tv.VerificationError):
            tv.verify_note(note.replace("\n8\n", "\n9\n", 1), vkey)
        with self.assertRaises(tv.VerificationError):
            tv.verify_note(note, read(os.path.join(d, "sumdb.vkey")))

    def test_inclusion_small_trees(self):
        # Every leaf of every tree up to 9 leaves, with proofs built here from RFC 9162's
        # definition: the verifier must lead each to the root, and reject a changed leaf.
        import hashlib
        leaves = [hashlib.sha256(b"\x00" + bytes([i])).digest() for i in range(9)]

        def mth(hs):
            if len(hs) == 1:
                return hs[0]
            k = 1
            while k * 2 < len(hs):
                k *= 2
            return hashlib.sha256(b"\x01" + mth(hs[:k]) + mth(hs[k:])).digest()

        def path(m, hs):
            if len(hs) == 1:
                return []
            k = 1
            while k * 2 < len(hs):
                k *= 2
            if m < k:
                return path(m, hs[:k]) + [mth(hs[k:])]
            return path(m - k, hs[k:]) + [mth(hs[:k])]

        for n in range(1, 10):
            root = mth(leaves[:n]).hex()
            for m in range(n):
                p = [h.hex() for h in path(m, leaves[:n])]
                tv.verify_inclusion(m, n, leaves[m].hex(), p, root)
                with self.assertRaises(tv.VerificationError):
                    tv.verify_inclusion(m, n, leaves[(m + 1) % 9].hex(), p, root)

    def test_pyproject_names_the_package_and_its_version(self):
        # clients/python/pyproject.toml, read with the standard library: a setuptools build
        # of the package tradetrail_client, with no dependencies, whose version is the
        # package's __version__, a literal setuptools reads without importing the package.
        import ast
        import tomllib
        base = os.path.join(T.SOURCE_DIR, "clients", "python")
        with open(os.path.join(base, "pyproject.toml"), "rb") as f:
            pp = tomllib.load(f)
        self.assertEqual(pp["build-system"]["build-backend"], "setuptools.build_meta")
        self.assertTrue(any(r.startswith("setuptools") for r in pp["build-system"]["requires"]))
        project = pp["project"]
        self.assertEqual(project["name"], "tradetrail-client")
        self.assertEqual(project["dependencies"], [])
        self.assertEqual(pp["tool"]["setuptools"]["packages"], ["tradetrail_client"])
        self.assertNotIn("version", project)
        self.assertIn("version", project["dynamic"])
        self.assertEqual(pp["tool"]["setuptools"]["dynamic"]["version"],
                         {"attr": "tradetrail_client.__version__"})
        tree = ast.parse(read(os.path.join(base, "tradetrail_client", "__init__.py")))
        literal = [n.value.value for n in tree.body if isinstance(n, ast.Assign)
                   and [getattr(t, "id", None) for t in n.targets] == ["__version__"]
                   and isinstance(n.value, ast.Constant)]
        self.assertEqual(literal, [tc.__version__])
        self.assertRegex(tc.__version__, r"^\d+\.\d+\.\d+$")


class ClientTest(ServerCase):
    """The Client against one server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.url = "http://127.0.0.1:%d" % srv.port
        cls.ingest = tc.Client(cls.url, srv.tokens["ingest"], backoff=0.01)
        cls.read = tc.Client(cls.url, srv.tokens["read"], backoff=0.01)
        cls.vkey = T.cli_ok(srv.data, ["key"]).strip()

    def test_log_action_and_audit(self):
        r = self.ingest.log_action("Auto-repair: Created PostgreSQL database quantum")
        ev = self.read.event(r["seq"])
        self.assertEqual((ev["entity"], ev["entity_id"], ev["event_type"], ev["actor"],
                          ev["reason"]),
                         ("maintenance", "manual", "ACTION", "manual",
                          "Auto-repair: Created PostgreSQL database quantum"))
        self.assertTrue(ev["idempotency_key"].startswith("py-"))
        r = self.ingest.log_action("System check", source="self-heal")
        self.assertEqual(self.read.event(r["seq"])["entity_id"], "self-heal")
        r = self.ingest.log_audit("order", "o-1", "FILLED", "bot-7", {"qty": 2, "px": 101.5},
                                  old_status="NEW", new_status="FILLED")
        ev = self.read.event(r["seq"])
        self.assertEqual((ev["event_type"], ev["metadata"], ev["new_status"]),
                         ("FILLED", {"qty": 2, "px": 101.5}, "FILLED"))
        with self.assertRaises(ValueError):
            self.ingest.log_action("")

    def test_idempotent_retry_never_duplicates(self):
        ev = {"entity": "order", "entity_id": "o-idem", "event_type": "CREATED",
              "actor": "bot", "idempotency_key": tc.new_idempotency_key()}
        a = self.ingest.append(ev)
        b = self.ingest.append(ev)  # what a retry after a lost answer sends
        self.assertEqual(a["seq"], b["seq"])
        self.assertEqual(len(list(self.read.events(entity_id="o-idem"))), 1)
        batch = self.ingest.append_batch([dict(ev, entity_id="o-b%d" % i, idempotency_key=None)
                                          for i in range(3)])
        self.assertEqual(batch["count"], 3)
        self.assertEqual(batch["seqs"], list(range(batch["first_seq"], batch["first_seq"] + 3)))

    def test_no_retry_on_4xx_retry_on_unreachable(self):
        c = tc.Client(self.url, self.server.tokens["ingest"], retries=3, backoff=0.01)
        calls = []
        real = c._once
        c._once = lambda *a: calls.append(a) or real(*a)
        with self.assertRaises(tc.ApiError) as cm:
            c.append({"entity": "Bad", "entity_id": "x", "event_type": "X", "actor": "a"})
        self.assertEqual((cm.exception.status, cm.exception.code, len(calls)),
                         (400, "invalid_argument", 1))
        with self.assertRaises(tc.ApiError) as cm:
            tc.Client(self.url, "tt_" + "0" * 64, backoff=0.01).log_action("x")
        self.assertEqual(cm.exception.status, 401)
        dead = tc.Client("http://127.0.0.1:%d" % T.free_port(), "t", retries=2, backoff=0.01)
        calls = []
        real2 = dead._once
        dead._once = lambda *a: calls.append(a) or real2(*a)
        with self.assertRaises(tc.TransientError):
            dead.log_action("nobody listens")
        self.assertEqual(len(calls), 3)

    def test_events_pages(self):
        for i in range(7):
            self.ingest.log_action("page %d" % i, source="pages")
        got = list(self.read.events(entity_id="pages", limit=3))
        self.assertEqual([e["reason"] for e in got], ["page %d" % i for i in range(7)])
        seqs = [e["seq"] for e in got]
        self.assertEqual(seqs, sorted(seqs))
        desc = list(self.read.events(entity_id="pages", limit=2, order="desc"))
        self.assertEqual([e["seq"] for e in desc], seqs[::-1])

    def test_proof_and_checkpoint_offline(self):
        r = self.ingest.log_action("to be proven", source="proof")
        deadline = time.time() + 10 * T.SLOW
        while self.read.checkpoint()["tree_size"] < r["seq"]:  # signed within ~1 s
            self.assertLess(time.time(), deadline, "no checkpoint covers the event")
            time.sleep(0.1)
        size = self.read.verify_event(r["seq"], self.vkey)
        self.assertGreaterEqual(size, r["seq"])
        cp = self.read.checkpoint()
        _, n, root = tc.verify_note(cp["note"], self.vkey)
        self.assertEqual((n, root), (cp["tree_size"], cp["root_hash"]))
        p = self.read.proof(r["seq"], tree_size=n)
        self.assertEqual(tc.root_from_inclusion_proof(p["leaf_index"], n, r["leaf_hash"],
                                                      p["hashes"]), root)
        with self.assertRaises(tc.VerificationError):  # another event's hash: another root
            tc.verify_inclusion(p["leaf_index"], n, "00" * 32, p["hashes"], root)
        other = read(os.path.join(VECTORS, "checkpoint", "example.vkey"))
        with self.assertRaises(tc.VerificationError):  # a key we did not pin
            self.read.verify_event(r["seq"], other)

    def test_strategies(self):
        c, who = self.ingest, "alice"
        s = c.create_strategy("RSI", "BTCUSDT", "1h", YAML1, who, reason="new", id="py-s1")
        self.assertEqual(s["strategy"]["status"], "DRAFT")  # {"strategy","event"}
        self.assertEqual(c.submit_strategy("py-s1", who)["strategy"]["status"], "PENDING")
        r = c.activate_strategy("py-s1", who, "backtest ok")
        self.assertEqual(r["strategy"]["status"], "ACTIVE")
        self.assertEqual(self.read.event(r["event"]["seq"])["event_type"], "ACTIVATED")
        c.update_strategy_yaml("py-s1", YAML2, who, "tune")
        self.assertEqual([v["version"] for v in self.read.strategy_versions("py-s1")
                          ["versions"]], [1, 2])
        self.assertEqual(self.read.strategy_versions("py-s1", 2)["version"], 2)
        diff = self.read.strategy_diff("py-s1", 1, 2)
        self.assertIn("rsi < 35", json.dumps(diff))
        c.rollback_strategy("py-s1", 1, who, "revert")
        c.create_strategy("RSI2", "BTCUSDT", "1h", YAML1, who, id="py-s2")
        c.submit_strategy("py-s2", who)
        c.swap_strategies("py-s1", "py-s2", who, "better", old_score=0.1, new_score=0.9)
        self.assertEqual(self.read.strategy("py-s1")["status"], "CLOSED")
        self.assertEqual(self.read.strategy("py-s2")["status"], "ACTIVE")
        c.archive_strategy("py-s1", who)
        c.create_strategy("RSI3", "ETHUSDT", "4h", YAML1, who, id="py-s3")
        c.fail_strategy("py-s3", who, "broken")
        c.delete_strategy("py-s3", who)
        with self.assertRaises(tc.ApiError) as cm:  # not allowed: 409, and no retry
            c.activate_strategy("py-s1", who)
        self.assertEqual(cm.exception.status, 409)
        ids = {s["id"] for s in self.read.strategies(symbol="BTCUSDT")["strategies"]}
        self.assertTrue({"py-s1", "py-s2"} <= ids, ids)
        types = [e["event_type"] for e in self.read.events(entity="strategy",
                                                           entity_id="py-s1")]
        self.assertEqual(types[:3], ["CREATED", "STATUS_CHANGED", "ACTIVATED"])
        self.assertIn("SWAPPED_OUT", types)

    def test_feedback(self):
        r = self.ingest.record_feedback("py-s1", 0.05, 0.02, "u1", "BTC")
        self.assertEqual(r["outcome"], "positive")
        self.assertAlmostEqual(r["alpha"], 0.03)
        ev = self.read.event(r["seq"])
        self.assertEqual((ev["entity"], ev["event_type"]), ("ai_feedback", "RECORD"))

    def test_buffered_sender_and_rejects(self):
        tmp = tempfile.mkdtemp(prefix="tt-py-")
        self.addCleanup(shutil.rmtree, tmp, True)
        errors = []
        s = tc.BufferedSender(self.ingest, os.path.join(tmp, "spill.jsonl"), batch_size=50,
                              on_error=lambda kind, detail: errors.append(kind))
        for i in range(120):
            s.log_audit("order", "buf", "TICK", "bot", {"i": i})
            if i == 60:  # one event the server refuses: set aside, not lost, not blocking
                s.submit({"entity": "order", "entity_id": "buf", "event_type": "bad type",
                          "actor": "bot"})
        self.assertTrue(s.close(timeout=30 * T.SLOW))
        got = [e["metadata"]["i"] for e in self.read.events(entity_id="buf", limit=1000)]
        self.assertEqual(got, list(range(120)))
        self.assertEqual((s.sent, s.rejected), (120, 1))
        rej = [json.loads(x) for x in read(os.path.join(tmp, "spill.jsonl.rejected"))
               .splitlines()]
        self.assertEqual(rej[0]["event"]["event_type"], "bad type")
        self.assertIn("rejected", errors)

    def test_buffered_sender_queue_full_spills_in_order(self):
        # A queue of 2 under a burst: most events go through the spill file while batches
        # are in flight, the race where the queue moves to the file under the worker.
        tmp = tempfile.mkdtemp(prefix="tt-py-")
        self.addCleanup(shutil.rmtree, tmp, True)
        s = tc.BufferedSender(self.ingest, os.path.join(tmp, "spill.jsonl"), max_queue=2,
                              batch_size=7)
        for i in range(300):
            s.log_audit("order", "burst", "TICK", "bot", {"i": i})
        self.assertTrue(s.close(timeout=60 * T.SLOW))
        self.assertGreater(s.spilled, 0)
        got = [e["metadata"]["i"] for e in self.read.events(entity_id="burst", limit=1000)]
        self.assertEqual(got, list(range(300)))
        self.assertEqual((s.sent, s.rejected), (300, 0))

    def test_buffered_sender_replays_a_crashed_spill_file(self):
        # What a process killed during an outage leaves: complete lines, an unreadable one,
        # and a last line cut short (its submit never returned, so it is not an event).
        tmp = tempfile.mkdtemp(prefix="tt-py-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "spill.jsonl")
        evs = [tc.client.audit_event("order", "crash", "TICK", "bot", {"i": i})
               for i in range(3)]
        for e in evs:
            e["idempotency_key"] = tc.new_idempotency_key()
        self.ingest.append(evs[0])  # delivered before the crash, not yet truncated
        with open(path, "w", encoding="utf-8") as f:
            f.write("not json\n")
            f.write("".join(json.dumps(e) + "\n" for e in evs))
            f.write('{"entity": "ord')
        s = tc.BufferedSender(self.ingest, path)
        s.log_audit("order", "crash", "TICK", "bot", {"i": 3})
        self.assertTrue(s.close(timeout=30 * T.SLOW))
        got = [e["metadata"]["i"] for e in self.read.events(entity_id="crash")]
        self.assertEqual(got, [0, 1, 2, 3])  # the replayed first event is not written twice
        self.assertEqual(s.rejected, 1)
        self.assertEqual(os.path.getsize(path), 0)


    def test_ledger_option_sends_x_ledger(self):
        # SPEC 15: ledger="paper" puts every call of the client, and of a BufferedSender
        # built on it, on the paper ledger; the main ledger never sees those events.
        tok = self.server.tokens
        w = tc.Client(self.url, tok["ingest"], backoff=0.01, ledger="paper")
        r = tc.Client(self.url, tok["read"], backoff=0.01, ledger="paper")
        with self.assertRaises(tc.ApiError) as cm:  # never written: the server has none
            list(r.events())
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        a = w.append({"entity": "order", "entity_id": "py-paper", "event_type": "FILLED",
                      "actor": "bot"})
        self.assertEqual(a["seq"], 1)  # its own seqs
        b = w.log_action("into paper", source="py-paper")
        m = self.ingest.append({"entity": "order", "entity_id": "py-main", "event_type": "FILLED",
                                "actor": "bot"})
        tmp = tempfile.mkdtemp(prefix="tt-py-")
        self.addCleanup(shutil.rmtree, tmp, True)
        s = tc.BufferedSender(w, os.path.join(tmp, "spill.jsonl"))
        s.log_audit("order", "py-paper", "TICK", "bot", {"i": 0})
        self.assertTrue(s.close(timeout=30 * T.SLOW))
        got = list(r.events())
        self.assertEqual([(e["seq"], e["entity_id"]) for e in got],
                         [(1, "py-paper"), (b["seq"], "py-paper"), (3, "py-paper")])
        self.assertEqual(r.stats()["tree_size"], 3)
        self.assertEqual(list(self.read.events(entity_id="py-paper")), [])
        self.assertEqual([e["seq"] for e in self.read.events(entity_id="py-main")], [m["seq"]])
        self.assertEqual(tc.Client(self.url, tok["read"], ledger="main").event(m["seq"])["seq"],
                         m["seq"])
        # the event verifies against paper's checkpoint, and not against main's
        deadline = time.time() + 10 * T.SLOW
        while r.checkpoint()["tree_size"] < 3:
            self.assertLess(time.time(), deadline, "no checkpoint of paper covers seq 3")
            time.sleep(0.1)
        self.assertEqual(r.verify_event(1, self.vkey), r.checkpoint()["tree_size"])
        self.assertTrue(r.checkpoint()["note"].startswith(self.vkey.split("+")[0] + "/paper\n"))
        r.checkpoint = self.read.checkpoint  # a server answering with another ledger's
        with self.assertRaises(tc.VerificationError) as cm:
            r.verify_event(1, self.vkey)
        self.assertIn("origin", str(cm.exception))
        for bad in ("Paper", "", "-x", "a" * 33, "pa_per"):
            with self.assertRaises(ValueError):
                tc.Client(self.url, tok["read"], ledger=bad)


class RestartTest(unittest.TestCase):
    """The server stops mid-stream and comes back: nothing lost, nothing twice, in order."""

    def test_server_restart_mid_stream(self):
        srv = T.Server()
        tmp = tempfile.mkdtemp(prefix="tt-py-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.addCleanup(srv.cleanup)
        srv.start()
        srv.make_role_tokens()
        port = srv.port
        client = tc.Client("http://127.0.0.1:%d" % port, srv.tokens["ingest"], timeout=5)
        spill = os.path.join(tmp, "spill.jsonl")
        sender = tc.BufferedSender(client, spill, max_queue=100, batch_size=100,
                                   retry_delay=0.05, max_retry_delay=0.3)
        slowest = [0.0]
        n = [0]

        def trade(count, pause=0.0):  # the trading loop: times every submit
            for _ in range(count):
                t0 = time.perf_counter()
                sender.log_audit("order", "restart", "TICK", "bot", {"n": n[0]})
                slowest[0] = max(slowest[0], time.perf_counter() - t0)
                n[0] += 1
                if pause:
                    time.sleep(pause)

        trade(300, 0.0005)
        self.assertEqual(srv.stop(), 0)          # the server goes away mid-stream
        trade(500)                               # more than max_queue: spilled to the file
        time.sleep(0.3)                          # a few failed attempts meanwhile
        self.assertGreater(sender.spilled, 0)
        self.assertFalse(sender.flush(timeout=0.2))  # cannot be acknowledged now
        # Stop the first sender while the server is down: what it holds stays on disk...
        self.assertFalse(sender.close(timeout=0.2))
        self.assertGreater(os.path.getsize(spill), 0)
        # ...and the next process's sender replays it before its own events.
        sender = tc.BufferedSender(client, spill, max_queue=100, batch_size=100,
                                   retry_delay=0.05, max_retry_delay=0.3)
        trade(200)
        # The same data directory and the same port (the client keeps its URL):
        # ttserver.Server picks its port through free_port(), so pin it for the restart.
        real_free_port = T.free_port
        T.free_port = lambda: port
        try:
            srv.start()
        finally:
            T.free_port = real_free_port
        trade(200, 0.0005)
        self.assertTrue(sender.close(timeout=30 * T.SLOW))
        self.assertEqual(os.path.getsize(spill), 0)
        reader = tc.Client("http://127.0.0.1:%d" % port, srv.tokens["read"])
        got = [e["metadata"]["n"] for e in reader.events(entity_id="restart", limit=10000)]
        self.assertEqual(got, list(range(1200)))  # every event, once, in order
        print("restart: %d events, %d spilled, slowest submit %.2f ms" %
              (n[0], sender.spilled, slowest[0] * 1000), file=sys.stderr)
        self.assertLess(slowest[0], 0.5)
        srv.stop_ok()
        p = T.cli(srv.data, ["verify"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Three `tradetrail serve` processes on one PostgreSQL database (issue 15, SPEC 5, 12):
clients append through all three at once, one server is killed with SIGKILL in the middle
of the load, and afterwards the ledger has gap-free unique seqs, every acknowledged event
exactly once with the seq it was acknowledged with, `tradetrail verify` passes, and each
server answers reads and inclusion proofs of events appended through the others with the
same roots. Bounded: a fixed number of requests, each with a timeout. Skipped when no
PostgreSQL can be had (tests/e2e/pglib.py)."""

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
import ttlib as T  # noqa: E402
from ttserver import Server, cli_ok, event  # noqa: E402

THREADS_PER_SERVER = 2
REQUESTS = 60  # per thread; every fourth one a batch of 5 events


class PgCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # No PostgreSQL is a failure, not a skip: scripts/deps.sh installs it.
        cls.pg = pglib.Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="tt-pgc-")
        # One data directory for the three: it holds the signing key they share, as a
        # Secret mounted into every replica would.
        cls.data = os.path.join(cls.tmp, "data")
        cls.uri = cls.pg.uri
        cli_ok(cls.data, ["--db", cls.uri, "init"])

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, True)

    def start_servers(self):
        servers = []
        for _ in range(3):
            s = Server(data=self.data, extra_args=["--db", self.uri]).start()
            servers.append(s)
        admin = next((s.admin for s in servers if s.admin), None) or self.admin_of_first()
        for s in servers:
            s.admin = admin
        return servers

    def test_connection_lost(self):
        """The database drops every connection (a restart, a failover): the next request
        works again on new connections, nothing half-done."""
        s = Server(data=self.data, extra_args=["--db", self.uri]).start()
        try:
            s.admin = s.admin or self.admin_of_first()
            r = s.post_events(event(entity="drop", idempotency_key="drop-1"))
            self.assertEqual(r.status, 201, r.body)
            self.pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                         " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
            r = s.post_events(event(entity="drop", idempotency_key="drop-2"))
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual(s.get_json("/api/events?entity=drop")["events"][-1]
                             ["idempotency_key"], "drop-2")
        finally:
            s.cleanup()

    def test_connection_lost_at_commit(self):
        """The connection drops while a batch's COMMIT is on its way. If the database
        committed it the append is acknowledged (201, stored once); if not it fails (503,
        nothing stored) and a retry with the same key writes it once."""
        proxy = CuttingProxy(self.pg.port)
        self.addCleanup(proxy.close)
        uri = self.uri.replace(":%d/" % self.pg.port, ":%d/" % proxy.port)
        s = Server(data=self.data, extra_args=["--db", uri, "--checkpoint-interval", "3600"])
        s.start()
        self.addCleanup(s.cleanup)
        s.admin = s.admin or self.admin_of_first()
        for mode, want in (("after", 201), ("before", 503)):
            key = "cut-%s-marker" % mode
            proxy.arm(mode, key.encode())
            r = s.post_events(event(entity="cut", entity_id=mode, idempotency_key=key))
            self.assertTrue(proxy.fired.is_set(), "the proxy never saw the COMMIT (%s mode); "
                            "the append answered %d: %s; server stderr: %s" %
                            (mode, r.status, r.body, s.stderr()[-2000:]))
            self.assertEqual(r.status, want, r.body)
            stored = [e for e in s.get_json("/api/events?entity=cut&limit=100")["events"]
                      if e["idempotency_key"] == key]
            self.assertEqual(len(stored), 1 if want == 201 else 0, stored)
            if want == 201:
                self.assertEqual(stored[0]["seq"], r.json()["seq"])
            else:
                self.assertIn("did not commit", r.json()["error"]["message"])
                r = s.post_events(event(entity="cut", entity_id=mode, idempotency_key=key))
                self.assertEqual(r.status, 201, r.body)
        seqs = [e["seq"] for e in s.get_json("/api/events?limit=10000")["events"]]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        self.assertIn("ok", cli_ok(self.data, ["--db", self.uri, "verify"]))

    def admin_of_first(self):
        """An admin token of this ledger (a server prints one only the first time)."""
        return json.loads(cli_ok(self.data, ["--db", self.uri, "token", "create", "--role",
                                             "admin", "-o", "json"]))["token"]

    def test_three_servers_one_database(self):
        servers = self.start_servers()
        try:
            self.run_load(servers)
        finally:
            for s in servers:
                s.cleanup()

    def run_load(self, servers):
        acked = {}  # idempotency key -> (seq, leaf_hash) acknowledged
        lock = threading.Lock()
        errors = []
        victim = servers[2]
        killed = threading.Event()

        def client(sv, tid):
            conns = []
            try:
                send(sv, tid, conns)
            finally:
                for c in conns:
                    c.close()

        def send(sv, tid, conns):
            conn = None
            for i in range(REQUESTS):
                if sv is victim and killed.is_set():
                    return
                batch = i % 4 == 3
                keys = ["t%d-%d-%d" % (tid, i, k) for k in range(5 if batch else 1)]
                body = [event(entity="load", entity_id="c%d" % tid, event_type="TICK",
                              actor="client-%d" % tid, reason="tick %s" % k,
                              idempotency_key=k) for k in keys]
                try:
                    if conn is None:
                        conn = sv.connection(timeout=30)
                        conns.append(conn)
                    r = sv.post_events(body if batch else body[0], conn=conn)
                except OSError:
                    conn = None
                    if sv is victim and killed.is_set():
                        return  # not acknowledged: may or may not be stored
                    with lock:
                        errors.append("client %d request %d: connection failed" % (tid, i))
                    return
                if r.status != 201:
                    with lock:
                        errors.append("client %d: %d %s" % (tid, r.status, r.body[:200]))
                    return
                j = r.json()
                # A batch answers its seqs (SPEC 9); a single event its leaf hash too.
                got = [(q, None) for q in j["seqs"]] if batch else [(j["seq"], j["leaf_hash"])]
                with lock:
                    for k, res in zip(keys, got):
                        acked[k] = res

        threads = []
        for n, sv in enumerate(servers):
            for t in range(THREADS_PER_SERVER):
                th = threading.Thread(target=client, args=(sv, n * THREADS_PER_SERVER + t))
                th.start()
                threads.append(th)
        # SIGKILL one server mid-load: what it acknowledged before must all be there.
        deadline = time.time() + 60
        while time.time() < deadline:
            with lock:
                if len(acked) >= 150:
                    break
            time.sleep(0.01)
        killed.set()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        for th in threads:
            th.join(120)
            self.assertFalse(th.is_alive(), "a client did not finish")
        self.assertEqual(errors, [])
        live = servers[:2]

        # Every stored event, through the first server, in seq order.
        stored, after = [], 0
        while True:
            page = live[0].get_json("/api/events?limit=10000&after_seq=%d" % after)["events"]
            if not page:
                break
            stored += page
            after = page[-1]["seq"]
        seqs = [e["seq"] for e in stored]
        self.assertEqual(seqs, list(range(1, len(stored) + 1)), "seqs must be gap-free")
        by_key = {}
        for e in stored:
            k = e["idempotency_key"]
            if k is None:
                continue  # the ledger's own events (token creation)
            self.assertNotIn(k, by_key, "key %s stored twice" % k)
            by_key[k] = e
        for k, (seq, leaf) in acked.items():
            self.assertIn(k, by_key, "acknowledged event %s lost" % k)
            self.assertEqual(by_key[k]["seq"], seq, k)
            if leaf is not None:
                self.assertEqual(by_key[k]["leaf_hash"], leaf, k)
        size = len(stored)
        self.assertGreaterEqual(size, len(acked))

        # verify over the whole database.
        out = cli_ok(self.data, ["--db", self.uri, "verify"])
        self.assertIn("ok", out)

        # Each live server reads and proves events appended through any server, and
        # agrees with the others on the root at a tree size.
        for sv in live:
            self.assertEqual(sv.tree_size(), size)
            for seq in sorted({1, size // 3, size // 2, size - 1, size}):
                ev = sv.get_json("/api/events/%d" % seq)
                self.assertEqual(ev["leaf_hash"], stored[seq - 1]["leaf_hash"])
                p = sv.get_json("/api/events/%d/proof?tree_size=%d" % (seq, size))
                self.assertTrue(T.verify_inclusion(
                    p["leaf_index"], p["tree_size"], bytes.fromhex(p["leaf_hash"]),
                    [bytes.fromhex(h) for h in p["hashes"]], bytes.fromhex(p["root_hash"])))
        roots = {sv.get_json("/api/events/1/proof?tree_size=%d" % size)["root_hash"]
                 for sv in live}
        self.assertEqual(len(roots), 1)

        # The killed server comes back and carries on from the shared head.
        victim.start()
        r = victim.post_events(event(entity="load", entity_id="after", idempotency_key="a"))
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["seq"], size + 1)
        self.assertEqual(live[0].get_json("/api/events/%d" % (size + 1))["idempotency_key"],
                         "a")
        print("%d events through 3 servers, %d acknowledged, one server killed mid-load"
              % (size, len(acked)))


class CuttingProxy:
    """A TCP proxy in front of PostgreSQL that cuts, once armed, the connection carrying a
    marker at the COMMIT that follows it: "after" forwards the COMMIT first and keeps the
    database's side open a moment so that it commits, "before" drops it. set_down(True)
    plays an outage: every connection is cut and new ones are closed at once."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.mode = None
        self.marker = None
        self.down = False
        self.fired = threading.Event()
        self.socks = []
        threading.Thread(target=self.accept, daemon=True).start()

    def arm(self, mode, marker):
        with self.lock:
            self.mode, self.marker = mode, marker
            self.fired.clear()

    def set_down(self, down):
        self.down = down
        if down:
            for sk in self.socks:
                try:
                    sk.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        for sk in [self.lsock] + self.socks:
            try:
                sk.close()
            except OSError:
                pass

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            if self.down:
                c.close()
                continue
            u = socket.create_connection(("127.0.0.1", self.target))
            self.socks += [c, u]
            threading.Thread(target=self.to_db, args=(c, u), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sk in (src, dst):
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def to_db(self, c, u):
        seen = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                with self.lock:
                    mode, marker = self.mode, self.marker
                    if mode is not None:
                        seen = (seen + data)[-1 << 20:]
                        at = seen.find(marker)
                        if at >= 0 and b"COMMIT\x00" in seen[at:]:
                            self.mode = None  # once
                        else:
                            mode = None
                if mode is None:
                    u.sendall(data)
                    continue
                if mode == "after":
                    u.sendall(data)
                # Set before the cut: the server answers as soon as it sees the cut, and the
                # test may look at fired before this thread runs again.
                self.fired.set()
                c.shutdown(socket.SHUT_RDWR)
                if mode == "after":
                    time.sleep(1)  # the database reads the COMMIT before the end
                u.shutdown(socket.SHUT_RDWR)
                return
        except OSError:
            pass
        self.pump(c, u)  # shuts both down


if __name__ == "__main__":
    unittest.main()

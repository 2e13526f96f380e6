#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of SPEC 15's namespaces: independent ledgers beside the main one.

The command line: `tradetrail --ledger paper init` creates the ledger (SQLite: the file
DATA/ledger-paper.db, mode 0600; PostgreSQL: the schema "<main schema>__paper"), append,
show, verify, checkpoint and prove work on it, its seqs start at 1 beside main's, its
checkpoints' origin line is "<main origin>/paper" signed by the main key, TRADETRAIL_LEDGER
selects it, a missing ledger is exit 1 "no ledger named paper", a bad name is exit 1 and
creates nothing, and retention archives it into DATA/archive/paper.

The server: the X-Ledger header. A write creates the ledger, reads see only its events and
reads without the header only main's, a read of an unknown ledger is 404, a bad name 400,
a cron job with a non-main X-Ledger 400, /healthz, /metrics and the dashboard ignore it;
the checkpoint's origin ends with "/paper" and a proof of a paper event leads to paper's
signed root (the library's offline functions and the RFC 9162 code of ttlib); the stream
follows the ledger it names; idempotency keys are per ledger; after a restart the ledger is
opened again on first use, and `tradetrail --ledger paper verify` passes offline.

Also run against PostgreSQL (ctest pg/e2e/test_namespaces): there the SQLite file
assertions become assertions on the ledger's schema."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttlib  # noqa: E402
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402

CRON_SECRET = "namespaces-cron-secret-0123456789"
PAPER = {"X-Ledger": "paper"}
WAIT = 20 * T.SLOW


def on_postgres(data):
    """Whether the suite runs against PostgreSQL (pglib.py run sets TT_TEST_DB)."""
    return bool(T.pglib.test_db_args(data))


def run(data, args, env=None, timeout=120):
    """tradetrail on data's store (with --db on PostgreSQL), with extra environment."""
    e = T.env_without_tradetrail()
    e.update(env or {})
    return subprocess.run(T.argv(data, *args), capture_output=True, text=True, env=e,
                          timeout=timeout * T.SLOW)


def ledger_cli(data, name, args, **kw):
    return T.cli_ok(data, ["--ledger", name] + list(args), **kw)


def events_of(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main_schema(data):
    return T.pglib.test_db_sql(data, "SELECT current_schema()").strip()


def schema_exists(data, name):
    out = T.pglib.test_db_sql(
        data, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '%s'"
        % name.replace("'", "''"))
    return out.strip() == "1"


class StoreChecks:
    """Where a named ledger is stored, on either backend."""

    def assertLedgerStored(self, data, name):
        if on_postgres(data):
            self.assertTrue(schema_exists(data, main_schema(data) + "__" + name),
                            "no schema %s__%s" % (main_schema(data), name))
            self.assertFalse(os.path.exists(os.path.join(data, "ledger-%s.db" % name)))
            return
        path = os.path.join(data, "ledger-%s.db" % name)
        self.assertTrue(os.path.isfile(path), sorted(os.listdir(data)))
        for f in (path, path + "-wal", path + "-shm"):
            if os.path.exists(f):  # SQLite gives its WAL and SHM the file's mode
                self.assertEqual(stat.S_IMODE(os.stat(f).st_mode), 0o600, f)

    def assertNoLedgerStored(self, data, name):
        self.assertFalse(os.path.exists(os.path.join(data, "ledger-%s.db" % name)))
        if on_postgres(data):
            self.assertFalse(schema_exists(data, main_schema(data) + "__" + name))


class CommandLine(StoreChecks, unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tt-ns-")
        self.data = os.path.join(self.tmp, "data")
        T.cli_ok(self.data, ["init"])
        self.vkey = T.cli_ok(self.data, ["key"]).strip()
        self.key_name = self.vkey.split("+", 1)[0]

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def append(self, name, evs):
        args = ["append"] if name is None else ["--ledger", name, "append"]
        T.cli_ok(self.data, args, input=T.ndjson(evs))

    def test_init_append_show_verify_checkpoint_prove(self):
        out = ledger_cli(self.data, "paper", ["init"])
        self.assertIn("origin: %s/paper" % self.key_name, out)
        self.assertLedgerStored(self.data, "paper")
        # init again is harmless, and the ledger stays empty
        ledger_cli(self.data, "paper", ["init"])
        self.assertEqual(ledger_cli(self.data, "paper", ["show", "-o", "json"]), "")

        self.append("paper", [T.event(entity_id="p-%d" % i) for i in range(5)])
        self.append(None, [T.event(entity_id="m-%d" % i) for i in range(3)])
        paper = events_of(ledger_cli(self.data, "paper", ["show", "-o", "json"]))
        main = T.show_all(self.data)
        # independent seqs: both start at 1, and neither sees the other's events
        self.assertEqual([e["seq"] for e in paper], [1, 2, 3, 4, 5])
        self.assertEqual([e["seq"] for e in main], [1, 2, 3])
        self.assertEqual([e["entity_id"] for e in paper], ["p-%d" % i for i in range(5)])
        self.assertEqual([e["entity_id"] for e in main], ["m-%d" % i for i in range(3)])
        # --ledger main is the main ledger; the option also goes after the command
        self.assertEqual(events_of(ledger_cli(self.data, "main", ["show", "-o", "json"])), main)
        self.assertEqual(events_of(T.cli_ok(self.data, ["show", "--ledger", "paper", "-o",
                                                        "json"])), paper)

        # the checkpoint: origin "<main origin>/paper", signed by the main ledger's key
        cp = json.loads(ledger_cli(self.data, "paper", ["checkpoint", "-o", "json"]))
        self.assertEqual(cp["tree_size"], 5)
        origin, size, root, sigs = ttlib.parse_note(cp["note"])
        self.assertEqual(origin, self.key_name + "/paper")
        self.assertEqual([s[0] for s in sigs], [self.key_name])
        rc, n, root_hex = T.verify_note(cp["note"], self.vkey)
        self.assertEqual((rc, n, root_hex), (T.TT_OK, 5, cp["root_hash"]))
        self.assertEqual(root.hex(), cp["root_hash"])
        main_cp = json.loads(T.cli_ok(self.data, ["checkpoint", "-o", "json"]))
        self.assertEqual(main_cp["note"].split("\n")[0], self.key_name)
        self.assertEqual(main_cp["tree_size"], 3)

        # a proof of paper's seq 4 leads to paper's signed root, not to main's
        p = json.loads(ledger_cli(self.data, "paper", ["prove", "4", "-o", "json"]))
        self.assertEqual((p["leaf_index"], p["tree_size"]), (3, 5))
        self.assertEqual(p["leaf_hash"], paper[3]["leaf_hash"])
        self.assertEqual(T.verify_inclusion(3, 5, p["leaf_hash"], p["hashes"], root_hex),
                         T.TT_OK)
        self.assertTrue(ttlib.verify_inclusion(3, 5, bytes.fromhex(p["leaf_hash"]),
                                               [bytes.fromhex(h) for h in p["hashes"]], root))
        self.assertNotEqual(T.verify_inclusion(0, 3, p["leaf_hash"], [], main_cp["root_hash"]),
                            T.TT_OK)

        rep = json.loads(ledger_cli(self.data, "paper", ["verify", "-o", "json"]))
        self.assertEqual((rep["ok"], rep["tree_size"], rep["events_checked"]), (True, 5, 5))
        self.assertGreaterEqual(rep["checkpoints_checked"], 1)
        rep = json.loads(T.cli_ok(self.data, ["verify", "-o", "json"]))
        self.assertEqual((rep["ok"], rep["tree_size"]), (True, 3))

    def test_environment_selects_the_ledger(self):
        ledger_cli(self.data, "paper", ["init"])
        p = run(self.data, ["log", "through the environment"], env={"TRADETRAIL_LEDGER": "paper"})
        self.assertEqual(p.returncode, 0, p.stderr)
        paper = events_of(ledger_cli(self.data, "paper", ["show", "-o", "json"]))
        self.assertEqual([(e["seq"], e["reason"]) for e in paper],
                         [(1, "through the environment")])
        self.assertEqual(T.show_all(self.data), [])
        p = run(self.data, ["show", "-o", "json"], env={"TRADETRAIL_LEDGER": "paper"})
        self.assertEqual((p.returncode, events_of(p.stdout)), (0, paper), p.stderr)
        # --ledger wins over the environment; an empty or "main" value is the main ledger
        p = run(self.data, ["--ledger", "main", "log", "main one"],
                env={"TRADETRAIL_LEDGER": "paper"})
        self.assertEqual(p.returncode, 0, p.stderr)
        for value in ("", "main"):
            p = run(self.data, ["show", "-o", "json"], env={"TRADETRAIL_LEDGER": value})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual([e["reason"] for e in events_of(p.stdout)], ["main one"])
        p = run(self.data, ["show"], env={"TRADETRAIL_LEDGER": "nosuch"})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("no ledger named nosuch", p.stderr)

    def test_missing_ledger_is_exit_1_and_creates_nothing(self):
        for cmd in (["show"], ["log", "x"], ["verify"], ["checkpoint"], ["prove", "1"]):
            p = run(self.data, ["--ledger", "paper"] + cmd)
            self.assertEqual(p.returncode, 1, "%s: %s" % (cmd, p.stderr))
            self.assertIn("no ledger named paper", p.stderr)
        self.assertNoLedgerStored(self.data, "paper")

    def test_bad_names_are_exit_1_and_create_nothing(self):
        for name in ("Paper", "-paper", "pa_per", "pa.per", "../paper", "a" * 33, "", "pa per"):
            for cmd in (["init"], ["show"]):
                p = run(self.data, ["--ledger", name] + cmd)
                self.assertEqual(p.returncode, 1, "%r %s: %s" % (name, cmd, p.stderr))
                self.assertIn("ledger name", p.stderr)
        self.assertNoLedgerStored(self.data, "paper")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["data"])
        # the longest name is accepted
        ledger_cli(self.data, "a" * 32, ["init"])
        self.assertLedgerStored(self.data, "a" * 32)

    def test_retention_archives_into_the_ledgers_subdirectory(self):
        ledger_cli(self.data, "paper", ["init"])
        self.append(None, [T.event(entity_id="m-%d" % i) for i in range(3)])
        self.append("paper", [T.event(entity_id="p-%d" % i) for i in range(4)])
        T.cli_ok(self.data, ["retention", "run", "--older-than", "0"])  # creates DATA/archive
        r = json.loads(ledger_cli(self.data, "paper", ["retention", "run", "--older-than", "0",
                                                       "-o", "json"]))
        self.assertEqual(r["segments"], 1)
        sub = os.path.join(self.data, "archive", "paper")
        self.assertTrue([f for f in os.listdir(sub) if f.startswith("seg-")], os.listdir(sub))
        rep = json.loads(ledger_cli(self.data, "paper", ["verify", "-o", "json"]))
        self.assertTrue(rep["ok"])
        self.assertEqual(rep["segments_checked"], 1)
        rep = json.loads(T.cli_ok(self.data, ["verify", "-o", "json"]))
        self.assertEqual((rep["ok"], rep["segments_checked"]), (True, 1))

    def test_token_commands_refuse_a_named_ledger(self):
        # The server checks only the main ledger's tokens: one made elsewhere would be dead.
        for sub in (["create", "--role", "read"], ["list"], ["revoke", "1"]):
            p = run(self.data, ["--ledger", "paper", "token"] + sub)
            self.assertEqual(p.returncode, 2, "%s: %s" % (sub, p.stderr))
            self.assertIn("tokens belong to the main ledger", p.stderr)
        self.assertNoLedgerStored(self.data, "paper")

    def test_a_ledger_named_like_a_segment_leaves_mains_retention_alone(self):
        # Named ledgers archive into subdirectories of main's archive directory; main's
        # retention clears its own stale segment files there, never such a directory.
        name = "seg-999999999999-1"
        ledger_cli(self.data, name, ["init"])
        self.append(name, [T.event(entity_id="s-%d" % i) for i in range(3)])
        ledger_cli(self.data, name, ["retention", "run", "--older-than", "0"])
        self.append(None, [T.event(entity_id="m-%d" % i) for i in range(3)])
        T.cli_ok(self.data, ["retention", "run", "--older-than", "0"])
        self.assertTrue(os.path.isdir(os.path.join(self.data, "archive", name)))
        rep = json.loads(ledger_cli(self.data, name, ["verify", "-o", "json"]))
        self.assertEqual((rep["ok"], rep["segments_checked"]), (True, 1))

    def test_verify_export_names_the_ledger(self):
        # One key signs every ledger: the report says whose checkpoint the export holds.
        ledger_cli(self.data, "paper", ["init"])
        self.append("paper", [T.event(entity_id="p-%d" % i) for i in range(2)])
        out = os.path.join(self.tmp, "export")
        ledger_cli(self.data, "paper", ["export", "--out", out])
        key = T.cli_ok(self.data, ["key"]).strip()
        origin = key.split("+")[0] + "/paper"
        msg = T.cli_ok(self.data, ["verify-export", out, "--key", key])
        self.assertIn("of " + origin, msg)
        tool = os.path.join(T.SOURCE_DIR, "tools", "verify_export.py")
        p = subprocess.run([sys.executable, tool, out, "--key", key], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("of " + origin, p.stdout)

    def test_retention_of_a_named_ledger_before_main_ever_archived(self):
        # archive_dir/NAME is made with its parent: DATA/archive need not exist yet.
        ledger_cli(self.data, "paper", ["init"])
        self.append("paper", [T.event(entity_id="p-%d" % i) for i in range(4)])
        p = run(self.data, ["--ledger", "paper", "retention", "run", "--older-than", "0"])
        self.assertEqual(p.returncode, 0, p.stderr)
        segs = os.listdir(os.path.join(self.data, "archive", "paper"))
        self.assertTrue(any(n.startswith("seg-") for n in segs), segs)


class ServerTest(StoreChecks, ServerCase):
    """One server; each test writes its own entity_ids, so the tests share "paper"."""

    server_env = {"TRADETRAIL_CRON_SECRET": CRON_SECRET}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vkey = T.cli_ok(cls.server.data, ["key"]).strip()
        cls.key_name = cls.vkey.split("+", 1)[0]
        r = cls.server.post_events(T.event(entity_id="setup"), token="ingest", headers=PAPER)
        if r.status not in (200, 201):
            raise AssertionError("creating paper: %r" % r)

    def ids(self, entity_id, headers=None, token="read"):
        r = self.server.request("GET", "/api/events?entity_id=%s" % entity_id, headers=headers,
                                token=token)
        self.assertEqual(r.status, 200, r)
        return [e["seq"] for e in r.json()["events"]]

    def test_a_write_creates_the_ledger_reads_follow_it(self):
        s = self.server
        fresh = {"X-Ledger": "fresh"}
        for path in ("/api/events", "/api/checkpoint", "/api/stats", "/api/events/1",
                     "/api/events/1/proof", "/api/strategies", "/api/producers"):
            self.assertError(s.request("GET", path, headers=fresh, token="read"), 404, path)
        self.assertIn("no ledger named fresh",
                      s.request("GET", "/api/events", headers=fresh).json()["error"]["message"])
        self.assertNoLedgerStored(s.data, "fresh")
        r = s.post_events([T.event(entity_id="f-1"), T.event(entity_id="f-2")],
                          token="ingest", headers=fresh)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["seqs"], [1, 2])  # its own seqs, from 1
        self.assertLedgerStored(s.data, "fresh")
        r = s.request("GET", "/api/events", headers=fresh, token="read")
        self.assertEqual([(e["seq"], e["entity_id"]) for e in r.json()["events"]],
                         [(1, "f-1"), (2, "f-2")])
        self.assertEqual(s.request("GET", "/api/stats", headers=fresh,
                                   token="read").json()["tree_size"], 2)
        # other ingest routes write into it too
        r = s.request("POST", "/api/actions", body={"message": "into fresh"}, headers=fresh,
                      token="ingest")
        self.assertEqual((r.status, r.json()["seq"]), (201, 3), r)
        self.assertEqual(self.ids("f-1"), [])  # main knows nothing of it

    def test_reads_see_only_their_ledger(self):
        s = self.server
        rp = s.post_events(T.event(entity_id="only-paper"), token="ingest", headers=PAPER)
        rm = s.post_events(T.event(entity_id="only-main"), token="ingest")
        self.assertEqual((rp.status, rm.status), (201, 201))
        self.assertEqual(self.ids("only-paper", PAPER), [rp.json()["seq"]])
        self.assertEqual(self.ids("only-main", PAPER), [])
        self.assertEqual(self.ids("only-paper"), [])
        self.assertEqual(self.ids("only-main"), [rm.json()["seq"]])
        self.assertEqual(self.ids("only-main", {"X-Ledger": "main"}), [rm.json()["seq"]])
        # the same seq names another event in each ledger
        ev = s.request("GET", "/api/events/%d" % rp.json()["seq"], headers=PAPER,
                       token="read").json()
        self.assertEqual((ev["entity_id"], ev["leaf_hash"]),
                         ("only-paper", rp.json()["leaf_hash"]))
        main_all = s.request("GET", "/api/events?limit=1000", token="read").json()["events"]
        self.assertNotIn("only-paper", [e["entity_id"] for e in main_all])
        self.assertNotIn("setup", [e["entity_id"] for e in main_all])

    def test_bad_names_are_400_and_create_nothing(self):
        s = self.server
        for name in ("Paper", "-x", "a" * 33, "pa_per", "../x", "pa%2fper"):
            h = {"X-Ledger": name}
            self.assertError(s.request("GET", "/api/events", headers=h, token="read"), 400, name)
            self.assertError(s.post_events(T.event(entity_id="bad"), token="ingest", headers=h),
                             400, name)
        self.assertEqual(self.ids("bad"), [])
        if not on_postgres(s.data):
            files = sorted(f for f in os.listdir(s.data) if f.startswith("ledger-"))
            self.assertTrue(all(f[len("ledger-"):-3] in ("paper", "fresh", "idem", "streamed")
                                for f in files if f.endswith(".db")), files)

    def test_refused_writes_create_no_ledger(self):
        """A write is refused before it creates the ledger it names: a bad body, a wrong
        content type, an unknown parameter or a strategy that cannot exist leave nothing, so
        that refused requests cannot fill the server's 64 ledger slots."""
        s = self.server
        strategy = {"id": "s-1", "name": "n", "symbol": "BTCUSDT", "timeframe": "5m",
                    "yaml": "rsi: 14\n", "actor": "a"}
        refused = [
            (400, "POST", "/api/events", b"{not json", "application/json"),
            (400, "POST", "/api/events", b"", "application/json"),
            (415, "POST", "/api/events", json.dumps(T.event()).encode(), "text/plain"),
            (400, "POST", "/api/events?bogus=1", json.dumps(T.event()).encode(),
             "application/json"),
            (400, "POST", "/api/actions", b"{}", "application/json"),
            (400, "POST", "/api/feedback", b"{}", "application/json"),
            (400, "POST", "/api/heartbeat", b"{}", "application/json"),
            (400, "POST", "/api/strategies", b"{}", "application/json"),
            (404, "POST", "/api/strategies/s-1/activate", b'{"actor": "a"}',
             "application/json"),
            (404, "POST", "/api/strategies/s-1/status",
             b'{"status": "ACTIVE", "actor": "a"}', "application/json"),
        ]
        for i, (status, method, path, body, ctype) in enumerate(refused):
            name = "ghost-%d" % i
            with self.subTest(path=path, ctype=ctype):
                r = s.request(method, path, body=body, content_type=ctype, token="ingest",
                              headers={"X-Ledger": name})
                self.assertError(r, status, path)
                self.assertNoLedgerStored(s.data, name)
                self.assertError(s.request("GET", "/api/stats", headers={"X-Ledger": name},
                                           token="read"), 404)
        # and a write that passes its checks still creates it
        r = s.request("POST", "/api/strategies", body=strategy, token="ingest",
                      headers={"X-Ledger": "ghost-real"})
        self.assertEqual(r.status, 201, r)
        self.assertLedgerStored(s.data, "ghost-real")

    def test_write_parameters_are_checked(self):
        """POST /api/events, /api/actions and /api/feedback take no query parameters: a
        ?ledger= meant as the adapters' would otherwise write into the main ledger."""
        s = self.server
        size = s.tree_size()
        for path, body in (("/api/events?ledger=paper", T.event(entity_id="param")),
                           ("/api/actions?ledger=paper", {"message": "m"}),
                           ("/api/feedback?ledger=paper",
                            {"strategy_id": "s", "ai_return": 1, "benchmark_return": 0})):
            with self.subTest(path=path):
                r = s.request("POST", path, body=body, token="ingest")
                self.assertError(r, 400, path)
                self.assertIn("ledger", r.json()["error"]["message"])
        self.assertEqual(s.tree_size(), size)
        self.assertEqual(self.ids("param", PAPER), [])

    def test_two_headers_are_400(self):
        # A proxy might read the other one: refused, not picked.
        c = self.server.connection(30)
        try:
            c.putrequest("GET", "/api/events")
            c.putheader("Authorization", "Bearer " + self.server.tokens["read"])
            c.putheader("X-Ledger", "paper")
            c.putheader("X-Ledger", "main")
            c.endheaders()
            r = c.getresponse()
            body = json.loads(r.read())
        finally:
            c.close()
        self.assertEqual(r.status, 400, body)
        self.assertIn("X-Ledger: given 2 times", body["error"]["message"])
        # the cron secret likewise, even when both copies are right
        head = ("POST /api/cron/checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                "X-Cron-Auth: %s\r\nX-Cron-Auth: %s\r\nContent-Length: 0\r\n\r\n"
                % (CRON_SECRET, CRON_SECRET))
        status, body = self.server.raw(head.encode())
        self.assertEqual(status, 400, body)
        self.assertIn(b"X-Cron-Auth: given 2 times", body)

    def test_cron_with_a_named_ledger_is_400(self):
        s = self.server
        cron = {"X-Cron-Auth": CRON_SECRET}
        r = s.request("POST", "/api/cron/daily-summary", headers=dict(cron, **PAPER), token=None)
        self.assertError(r, 400)
        self.assertIn("main ledger", r.json()["error"]["message"])
        r = s.request("POST", "/api/cron/daily-summary",
                      headers=dict(cron, **{"X-Ledger": "main"}), token=None)
        self.assertEqual(r.status, 200, r)

    def test_server_routes_ignore_the_header(self):
        s = self.server
        for path in ("/healthz", "/"):
            for name in ("Bad Name", "nosuch"):
                r = s.request("GET", path, headers={"X-Ledger": name}, token=None)
                self.assertEqual(r.status, 200, "%s %s %r" % (path, name, r))
        r = s.request("GET", "/metrics", headers={"X-Ledger": "nosuch"}, token="read")
        self.assertEqual(r.status, 200, r)
        self.assertIn("tradetrail_events_appended_total", r.text)

    def test_checkpoint_and_proof_of_a_paper_event(self):
        s = self.server
        r = s.post_events(T.event(entity_id="proven"), token="ingest", headers=PAPER)
        self.assertEqual(r.status, 201, r)
        seq, leaf = r.json()["seq"], r.json()["leaf_hash"]
        deadline = time.time() + WAIT
        while True:  # the ticker signs each open ledger's grown tree
            cp = s.request("GET", "/api/checkpoint", headers=PAPER, token="read").json()
            if cp["tree_size"] >= seq:
                break
            self.assertLess(time.time(), deadline, "no checkpoint of paper covers %d" % seq)
            time.sleep(0.1)
        origin, size, root, sigs = ttlib.parse_note(cp["note"])
        self.assertEqual(origin, self.key_name + "/paper")
        self.assertTrue(origin.endswith("/paper"))
        self.assertEqual([x[0] for x in sigs], [self.key_name])
        rc, n, root_hex = T.verify_note(cp["note"], self.vkey)
        self.assertEqual((rc, n, root_hex), (T.TT_OK, cp["tree_size"], cp["root_hash"]))
        note = s.request("GET", "/checkpoint", headers=PAPER, token="read")
        self.assertEqual(note.status, 200, note)
        self.assertTrue(note.text.startswith(self.key_name + "/paper\n"), note.text)
        main_cp = s.request("GET", "/api/checkpoint", token="read").json()
        self.assertEqual(main_cp["note"].split("\n")[0], self.key_name)

        p = s.request("GET", "/api/events/%d/proof?tree_size=%d" % (seq, n), headers=PAPER,
                      token="read").json()
        self.assertEqual((p["leaf_index"], p["tree_size"], p["leaf_hash"]), (seq - 1, n, leaf))
        self.assertEqual(T.verify_inclusion(seq - 1, n, leaf, p["hashes"], root_hex), T.TT_OK)
        self.assertTrue(ttlib.verify_inclusion(seq - 1, n, bytes.fromhex(leaf),
                                               [bytes.fromhex(h) for h in p["hashes"]], root))
        # main's proof for the same seq is of another leaf
        if main_cp["tree_size"] >= seq:
            q = s.request("GET", "/api/events/%d/proof" % seq, token="read").json()
            self.assertNotEqual(q["leaf_hash"], leaf)

    def test_stream_follows_its_ledger(self):
        s = self.server
        sp = T.SSEClient(s.port, "/api/stream?after_seq=0", s.tokens["read"],
                         headers={"X-Ledger": "streamed"})
        self.assertEqual(sp.status, 404)  # no such ledger yet
        sp.close()
        r = s.post_events(T.event(entity_id="s-old"), token="ingest",
                          headers={"X-Ledger": "streamed"})
        self.assertEqual(r.status, 201, r)
        sp = T.SSEClient(s.port, "/api/stream?after_seq=0", s.tokens["read"],
                         headers={"X-Ledger": "streamed"})
        sm = T.SSEClient(s.port, "/api/stream", s.tokens["read"])
        try:
            self.assertEqual((sp.status, sm.status), (200, 200))
            first = sp.next_event()
            self.assertEqual((first["id"], first["json"]["entity_id"]), ("1", "s-old"))
            # main's event first: were the stream following main, it would come first
            self.assertEqual(s.post_events(T.event(entity_id="s-main"), token="ingest").status,
                             201)
            self.assertEqual(s.post_events(T.event(entity_id="s-new"), token="ingest",
                                           headers={"X-Ledger": "streamed"}).status, 201)
            m = sp.next_event()
            self.assertIsNotNone(m, "the stream of streamed delivered nothing")
            self.assertEqual((m["id"], m["json"]["entity_id"]), ("2", "s-new"))
            self.assertIsNone(sp.next_event(timeout=1))
            m = sm.next_event()
            self.assertIsNotNone(m, "main's stream delivered nothing")
            self.assertEqual(m["json"]["entity_id"], "s-main")
            self.assertIsNone(sm.next_event(timeout=1))
        finally:
            sp.close()
            sm.close()

    def test_idempotency_keys_are_per_ledger(self):
        s = self.server
        e = T.event(entity_id="idem-1", idempotency_key="same-key-in-two-ledgers")
        a = s.post_events(e, token="ingest")
        b = s.post_events(e, token="ingest", headers={"X-Ledger": "idem"})
        self.assertEqual((a.status, b.status), (201, 201), (a, b))
        self.assertEqual(b.json()["seq"], 1)
        self.assertNotEqual(a.json()["leaf_hash"], "")
        again = s.post_events(e, token="ingest", headers={"X-Ledger": "idem"})
        self.assertEqual((again.status, again.json()["seq"]), (200, 1), again)
        again = s.post_events(e, token="ingest")
        self.assertEqual((again.status, again.json()["seq"]), (200, a.json()["seq"]), again)
        self.assertEqual(self.ids("idem-1"), [a.json()["seq"]])
        self.assertEqual(self.ids("idem-1", {"X-Ledger": "idem"}), [1])


class Restart(StoreChecks, unittest.TestCase):
    def test_reopened_on_demand_and_verified_offline(self):
        s = T.Server()
        try:
            s.start()
            s.make_role_tokens()
            evs = [T.event(entity_id="r-%d" % i) for i in range(4)]
            r = s.post_events(evs, token="ingest", headers=PAPER)
            self.assertEqual((r.status, r.json()["seqs"]), (201, [1, 2, 3, 4]), r)
            self.assertEqual(s.post_events(T.event(entity_id="r-main"), token="ingest").status,
                             201)
            before = s.request("GET", "/api/events", headers=PAPER, token="read").json()
            s.stop_ok()

            # offline, the server stopped: the command line finds and verifies it
            rep = json.loads(ledger_cli(s.data, "paper", ["verify", "-o", "json"]))
            self.assertEqual((rep["ok"], rep["tree_size"]), (True, 4), rep)
            self.assertGreaterEqual(rep["checkpoints_checked"], 1)  # the one signed at stop
            self.assertEqual(events_of(ledger_cli(s.data, "paper", ["show", "-o", "json"])),
                             before["events"])
            self.assertLedgerStored(s.data, "paper")

            s.start()
            after = s.request("GET", "/api/events", headers=PAPER, token="read")
            self.assertEqual(after.status, 200, after)
            self.assertEqual(after.json()["events"], before["events"])
            r = s.post_events(T.event(entity_id="r-4"), token="ingest", headers=PAPER)
            self.assertEqual((r.status, r.json()["seq"]), (201, 5), r)
            self.assertError404(s.request("GET", "/api/events", headers={"X-Ledger": "other"},
                                          token="read"))
            s.stop_ok()
            for args in (["--ledger", "paper", "verify"], ["verify"]):
                p = T.cli(s.data, args)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(len(events_of(ledger_cli(s.data, "paper", ["show", "-o",
                                                                        "json"]))), 5)
        finally:
            s.cleanup()

    def assertError404(self, r):
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json()["error"]["code"], "not_found")


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Crash loop (issue 7 item 1, SPEC 5 and 14): clients append over HTTP as fast as they can
from several threads -- single events with idempotency keys (the Idempotency-Key header or
the idempotency_key field) and NDJSON batches whose events carry keys -- while the server
is killed with SIGKILL at random moments (0.2-1.5 s apart) and restarted on the same data
directory. After every restart:

- `tradetrail verify` passes (run while the server is up; the CLI reads the same store);
- the ledger's seqs are 1..N with no gap, and no idempotency key occurs twice;
- every acknowledged (2xx) event is present exactly once, at the seq it was given;
- every request that was in flight at the kill (no answer came) is present at most once,
  a batch all of it or none of it; it is then retried with the same keys, and the answer
  matches (200 with the stored seq if it was present, 201 if not);
- a sample of acknowledged keys is re-sent: each answer is 200 with the original seq, and
  the tree does not grow.

The events are read with GET /api/events (after_seq and cursors), incrementally: the new
events after each restart, a sample of older ones by seq, and the whole ledger every
--full-every restarts and at the end. At the end the server is stopped with SIGTERM (exit 0)
and `tradetrail show -o json` and `verify` check the stopped store once more.

    crashloop.py [--kills N] [--seed S] [--threads T] [--time-limit SEC] [--data DIR]
                 [--start-timeout SEC] [--keep]

At the end (also after a failure) it prints a summary: kills survived, restarts and the
slowest restart, events acknowledged (single and batch), idempotent retries checked, verify
runs passed, total duration. SIGUSR1 (or SIGINT) stops the loop at the next clean point:
the round in progress is checked, then the final checks run, and the run reports the kills
done (exit 1 when fewer than requested).

Standard library only; uses tests/e2e/ttserver.py (TT_BIN, TT_BUILD_DIR as there). Exits 0
when every check held and the requested kills were done, 1 otherwise."""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "e2e"))
import ttserver  # noqa: E402


class CheckFailed(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def log(msg):
    print("[crashloop %7.2fs] %s" % (time.time() - T0, msg), flush=True)


T0 = time.time()


class Request:
    """One append: a single event (key in the header or the body) or an NDJSON batch."""

    __slots__ = ("kind", "events", "header_key")

    def __init__(self, kind, events, header_key=None):
        self.kind = kind  # "single" or "batch"
        self.events = events
        self.header_key = header_key

    def keys(self):
        return [self.header_key] if self.header_key else [e["idempotency_key"]
                                                          for e in self.events]

    def http_args(self):
        headers = {}
        if self.kind == "single":
            body = json.dumps(self.events[0], separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            if self.header_key:
                headers["Idempotency-Key"] = self.header_key
        else:
            body = ttserver.ndjson(self.events).encode()
            headers["Content-Type"] = "application/x-ndjson"
        return body, headers


class State:
    """Everything the clients learned, guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}  # key -> seq (acknowledged 2xx, or settled by a retry)
        self.batch_of = {}  # key -> the acknowledged batch Request it belongs to
        self.single_of = {}  # key -> the acknowledged single-event Request
        self.inflight = []  # Requests sent whose answer never came
        self.refused = []  # (Request, status, body): answered non-2xx (must write nothing)
        self.n_requests = 0
        self.n_acked_requests = 0
        self.n_acked_single = 0  # single-event requests acknowledged (fresh or by a retry)
        self.n_acked_batches = 0  # batch requests acknowledged (fresh or by a retry)


class Writer(threading.Thread):
    """Appends as fast as it can while `go` is set; parks (idle set) while it is clear."""

    def __init__(self, idx, seed, ctl):
        super().__init__(daemon=True, name="writer-%d" % idx)
        self.idx = idx
        self.rng = random.Random(seed * 1000 + idx)
        self.ctl = ctl
        self.counter = 0
        self.idle = threading.Event()
        self.conn = None
        self.conn_port = None

    def next_key(self):
        self.counter += 1
        return "%s-w%d-%d" % (self.ctl.run_id, self.idx, self.counter)

    def make_event(self, key):
        rng = self.rng
        e = ttserver.event(entity=rng.choice(["order", "strategy", "position"]),
                           entity_id="id-%d" % rng.randrange(500),
                           event_type=rng.choice(["CREATED", "FILLED", "CANCELLED", "UPDATED"]),
                           actor="crashloop-w%d" % self.idx, idempotency_key=key)
        if rng.random() < 0.5:
            e["reason"] = "crash loop append %s" % key
        if rng.random() < 0.3:
            e["metadata"] = {"k": key, "n": self.counter, "px": rng.randrange(100000)}
        return e

    def make_request(self):
        rng = self.rng
        if rng.random() < 0.5:
            key = self.next_key()
            e = self.make_event(key)
            if rng.random() < 0.5:  # key in the header only
                del e["idempotency_key"]
                return Request("single", [e], header_key=key)
            return Request("single", [e])
        n = rng.randint(2, 25)
        return Request("batch", [self.make_event(self.next_key()) for _ in range(n)])

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def run(self):
        st = self.ctl.state
        while not self.ctl.stop.is_set():
            if not self.ctl.go.is_set():
                self.close()
                self.idle.set()
                self.ctl.go.wait(0.2)
                continue
            self.idle.clear()
            port, token = self.ctl.port, self.ctl.token
            if self.conn is None or self.conn_port != port:
                self.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                self.conn_port = port
            req = self.make_request()
            body, headers = req.http_args()
            headers["Authorization"] = "Bearer " + token
            with st.lock:
                st.n_requests += 1
            try:
                self.conn.request("POST", "/api/events", body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                # No answer: the server died (or was never there). May or may not be written.
                self.close()
                with st.lock:
                    st.inflight.append(req)
                if not self.ctl.go.is_set():
                    continue
                time.sleep(0.01)
                continue
            with st.lock:
                if status in (200, 201):
                    try:
                        j = json.loads(data)
                        record_ack(st, req, status, j)
                    except (ValueError, CheckFailed) as e:
                        self.ctl.fail("writer %d: %s (status %d, body %r)" %
                                      (self.idx, e, status, data[:300]))
                        return
                else:
                    st.refused.append((req, status, data[:300]))


def record_ack(st, req, status, j):
    """Record a 2xx answer of a fresh request (every key new): the seqs it was given."""
    keys = req.keys()
    if req.kind == "single":
        check(status == 201, "a fresh single event got %d: %r" % (status, j))
        check(isinstance(j.get("seq"), int), "no seq in %r" % j)
        st.acked[keys[0]] = j["seq"]
        st.single_of[keys[0]] = req
        st.n_acked_single += 1
    else:
        check(status == 201 and j.get("count") == len(keys),
              "a fresh batch of %d got %d %r" % (len(keys), status, j))
        want = list(range(j["first_seq"], j["first_seq"] + len(keys)))
        check(j.get("seqs") == want, "a fresh batch's seqs %r, expected %r" % (j.get("seqs"),
                                                                                 want))
        for i, k in enumerate(keys):
            st.acked[k] = j["first_seq"] + i
            st.batch_of[k] = req
        st.n_acked_batches += 1
    st.n_acked_requests += 1


class Control:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.run_id = "cl%d" % args.seed
        self.state = State()
        self.go = threading.Event()
        self.stop = threading.Event()
        self.port = None
        self.token = None
        self.failure = None
        self.server = None
        # What the checks have established about the ledger so far.
        self.ledger = {}  # seq -> (idempotency_key, leaf_hash) for every event read
        self.key_seq = {}  # idempotency key -> seq (no key twice)
        self.verified_size = 0
        self.counts = {"kills": 0, "restarts": 0, "verify_runs": 0, "inflight": 0,
                       "inflight_present": 0, "inflight_absent": 0, "retries_verified": 0,
                       "batch_retries_verified": 0, "old_samples": 0, "full_walks": 0,
                       "survived": 0}
        self.restart_times = []  # (seconds from exec to healthy, kill number)
        self.check_times = []  # (seconds for check_all after a restart, kill number)
        self.stop_requested = None  # set by SIGUSR1/SIGINT: stop at the next clean point

    def fail(self, msg):
        if self.failure is None:
            self.failure = msg
        self.stop.set()

    # ---- reading the ledger ----

    def walk(self, after):
        """Every event with seq > after, through GET /api/events pages."""
        out = []
        path = "/api/events?limit=10000&after_seq=%d" % after
        cursor = None
        while True:
            p = path + ("&cursor=%s" % cursor if cursor else "")
            j = self.server.get_json(p)
            out.extend(j["events"])
            cursor = j["next_cursor"]
            if cursor is None:
                return out

    def absorb(self, events, after):
        """Check new events continue the ledger gap-free with unique keys; remember them."""
        expect = after + 1
        for e in events:
            check(e["seq"] == expect, "gap or disorder: seq %d where %d was expected" %
                  (e["seq"], expect))
            expect += 1
            k = e["idempotency_key"]
            prev = self.ledger.get(e["seq"])
            if prev is not None:
                check(prev == (k, e["leaf_hash"]),
                      "seq %d changed across a restart: %r then %r" % (e["seq"], prev,
                                                                      (k, e["leaf_hash"])))
            if k is not None:
                other = self.key_seq.get(k)
                check(other is None or other == e["seq"],
                      "idempotency key %s is stored twice: seq %s and %d" % (k, other, e["seq"]))
                self.key_seq[k] = e["seq"]
            self.ledger[e["seq"]] = (k, e["leaf_hash"])
        return expect - 1

    def read_ledger(self, full):
        size = self.server.tree_size()
        check(size >= self.verified_size, "the tree shrank: %d after %d" % (size,
                                                                          self.verified_size))
        if full:
            self.key_seq = {}
            events = self.walk(0)
            top = self.absorb(events, 0)
            self.counts["full_walks"] += 1
        else:
            events = self.walk(self.verified_size)
            top = self.absorb(events, self.verified_size)
            # A sample of older events, one by one: still there, unchanged.
            old = list(range(1, self.verified_size + 1))
            for seq in self.rng.sample(old, min(20, len(old))):
                e = self.server.get_json("/api/events/%d" % seq)
                check(self.ledger[seq] == (e["idempotency_key"], e["leaf_hash"]),
                      "seq %d changed across a restart" % seq)
                self.counts["old_samples"] += 1
        check(top >= size, "the walk ended at seq %d but tree_size is %d" % (top, size))
        self.verified_size = top

    # ---- the checks after a restart ----

    def run_verify(self):
        p = ttserver.cli(self.server.data, ["verify"], timeout=300)
        check(p.returncode == 0, "tradetrail verify failed (exit %d):\n%s%s" %
              (p.returncode, p.stdout, p.stderr))
        self.counts["verify_runs"] += 1

    def post(self, req):
        body, headers = req.http_args()
        r = self.server.request("POST", "/api/events", body=body, headers=headers)
        check(r.status in (200, 201), "retry got %r" % r)
        return r.status, r.json()

    def settle_inflight(self):
        st = self.state
        with st.lock:
            pending, st.inflight = st.inflight, []
        for req in pending:
            self.counts["inflight"] += 1
            keys = req.keys()
            present = [self.key_seq.get(k) for k in keys]
            n_present = sum(1 for s in present if s is not None)
            check(n_present in (0, len(keys)),
                  "a batch in flight at the kill is half written: %d of %d keys present (%r)"
                  % (n_present, len(keys), keys))
            status, j = self.post(req)
            if n_present:
                self.counts["inflight_present"] += 1
                if req.kind == "single":
                    check(status == 200 and j["seq"] == present[0],
                          "retry of a present in-flight key %s: %d %r, stored at seq %d" %
                          (keys[0], status, j, present[0]))
                else:
                    # SPEC 9: every input's seq, the original one for a replayed key.
                    check(status == 200 and j["count"] == 0 and j["first_seq"] is None and
                          j.get("seqs") == present,
                          "retry of a present in-flight batch (stored at %r): %d %r"
                          % (present, status, j))
                with st.lock:
                    for k, s in zip(keys, present):
                        st.acked[k] = s
                        if req.kind == "batch":
                            st.batch_of[k] = req
                    if req.kind == "batch":
                        st.n_acked_batches += 1
                    else:
                        st.n_acked_single += 1
            else:
                self.counts["inflight_absent"] += 1
                with st.lock:
                    record_ack(st, req, status, j)
            self.counts["retries_verified"] += 1

    def check_refused(self):
        """Requests answered with an error must have written nothing."""
        st = self.state
        for req, status, body in st.refused:
            for k in req.keys():
                check(k not in self.key_seq, "request answered %d (%r) but key %s is stored "
                      "at seq %d" % (status, body, k, self.key_seq[k]))

    def check_acked(self):
        st = self.state
        with st.lock:
            acked = dict(st.acked)
        for k, seq in acked.items():
            check(self.key_seq.get(k) == seq,
                  "acknowledged key %s (seq %d) is %s" %
                  (k, seq, "missing" if k not in self.key_seq else
                   "at seq %d" % self.key_seq[k]))
        return acked

    def retry_acked(self, acked):
        """Re-send a sample of acknowledged keys: 200 and the original seq, nothing written."""
        if not acked:
            return
        st = self.state
        size = self.server.tree_size()
        keys = self.rng.sample(sorted(acked), min(8, len(acked)))
        for k in keys:
            # As a single event with a different body: a conflict (SPEC 3.1), never the
            # stored event's seq, nothing written.
            e = ttserver.event(entity="order", entity_id="retry", event_type="RETRIED",
                               actor="crashloop-retry")
            if self.rng.random() < 0.5:
                req = Request("single", [e], header_key=k)
            else:
                e["idempotency_key"] = k
                req = Request("single", [e])
            body, headers = req.http_args()
            r = self.server.request("POST", "/api/events", body=body, headers=headers)
            check(r.status == 409 and r.json()["error"]["code"] == "conflict",
                  "another event under acknowledged key %s (seq %d) got %r" % (k, acked[k], r))
            # The acknowledged single event itself: 200 and the original seq.
            with st.lock:
                orig = st.single_of.get(k)
            if orig is not None:
                status, j = self.post(orig)
                check(status == 200 and j["seq"] == acked[k],
                      "retry of acknowledged key %s (seq %d) got %d %r"
                      % (k, acked[k], status, j))
            self.counts["retries_verified"] += 1
        # A whole acknowledged batch again: nothing new.
        with st.lock:
            batches = list({id(b): b for k, b in st.batch_of.items()}.values())
        if batches:
            b = self.rng.choice(batches)
            status, j = self.post(b)
            want = [acked[k] for k in b.keys()]
            check(status == 200 and j == {"first_seq": None, "count": 0, "seqs": want},
                  "retry of an acknowledged batch (acknowledged as %r) got %d %r"
                  % (want, status, j))
            self.counts["batch_retries_verified"] += 1
            self.counts["retries_verified"] += len(b.events)
        after = self.server.tree_size()
        check(after == size, "retries of acknowledged keys grew the tree %d -> %d" %
              (size, after))

    def check_all(self, full):
        self.run_verify()
        self.read_ledger(full)
        self.check_refused()
        self.settle_inflight()
        # The retries may have written in-flight events that were absent: read them too.
        self.read_ledger(False)
        acked = self.check_acked()
        self.retry_acked(acked)

    # ---- the loop ----

    def start_server(self):
        self.server.start(timeout=self.args.start_timeout)
        self.port = self.server.port
        if self.token is None:
            self.token = self.server.admin
            check(self.token, "no admin token printed on first start")

    def kill_server(self):
        proc = self.server.proc
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        self.server.proc = None

    def park_writers(self, writers, timeout):
        self.go.clear()
        deadline = time.time() + timeout
        for w in writers:
            while not w.idle.is_set() and w.is_alive():
                check(time.time() < deadline, "writer %d did not stop" % w.idx)
                w.idle.wait(0.1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10, help="SIGKILLs to survive (default 10)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    ap.add_argument("--threads", type=int, default=4, help="writer threads (default 4)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="stop after this many seconds (fewer kills then fail)")
    ap.add_argument("--min-delay", type=float, default=0.2)
    ap.add_argument("--max-delay", type=float, default=1.5)
    ap.add_argument("--full-every", type=int, default=None,
                    help="walk the whole ledger every N restarts (default: every restart "
                    "up to 20 kills, else every 25)")
    ap.add_argument("--start-timeout", type=float, default=60,
                    help="seconds a restart may take to answer /healthz (default 60; times "
                    "ttserver.SLOW for sanitizer builds)")
    ap.add_argument("--data", help="data directory (default: a new temporary one, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = ap.parse_args(argv)
    if args.seed is None:
        args.seed = int(time.time()) % 1000000
    if args.full_every is None:
        args.full_every = 1 if args.kills <= 20 else 25
    print("crashloop: seed %d, %d kills, %d writer threads, binary %s" %
          (args.seed, args.kills, args.threads, ttserver.BIN), flush=True)

    ctl = Control(args)
    tmp = None
    if args.data is None:
        tmp = tempfile.mkdtemp(prefix="tt-crashloop-")
        args.data = os.path.join(tmp, "data")
    ctl.server = ttserver.Server(data=args.data)
    writers = []
    deadline = None if args.time_limit is None else time.time() + args.time_limit
    timed_out = False

    def request_stop(signum, frame):
        if ctl.stop_requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop at once
        if ctl.stop_requested is None:
            ctl.stop_requested = signal.Signals(signum).name
            print("crashloop: %s received, stopping at the next clean point" %
                  ctl.stop_requested, flush=True)
    signal.signal(signal.SIGUSR1, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        ctl.start_server()
        writers = [Writer(i, args.seed, ctl) for i in range(args.threads)]
        for w in writers:
            w.start()
        while ctl.counts["kills"] < args.kills and ctl.failure is None:
            if deadline is not None and time.time() > deadline:
                timed_out = True
                break
            if ctl.stop_requested is not None:
                break
            ctl.go.set()
            time.sleep(ctl.rng.uniform(args.min_delay, args.max_delay))
            if ctl.failure is not None:
                break
            ctl.kill_server()
            ctl.counts["kills"] += 1
            n = ctl.counts["kills"]
            ctl.park_writers(writers, 60)
            t = time.time()
            ctl.start_server()
            ctl.restart_times.append((time.time() - t, n))
            ctl.counts["restarts"] += 1
            t = time.time()
            full = n % args.full_every == 0
            ctl.check_all(full=full)
            ctl.check_times.append((time.time() - t, n))
            ctl.counts["survived"] += 1
            with ctl.state.lock:
                n_acked = len(ctl.state.acked)
            log("kill %d survived: tree size %d, %d acknowledged events, restart %.2f s, "
                "checks %.2f s%s" % (n, ctl.verified_size, n_acked, ctl.restart_times[-1][0],
                                     ctl.check_times[-1][0], " (full walk)" if full else ""))
        # Final round: let the writers run once more, stop them, check everything in full.
        ctl.park_writers(writers, 60)
        if ctl.failure is None:
            ctl.check_all(full=True)
            rc = ctl.server.stop()
            check(rc == 0, "server exit code %s on SIGTERM\n%s" % (rc, ctl.server.stderr()))
            evs = ttserver.show_all(args.data)
            check([e["seq"] for e in evs] == list(range(1, len(evs) + 1)),
                  "show -o json after the stop: seqs not 1..N")
            check(len(evs) == ctl.verified_size, "show -o json has %d events, the walk had %d" %
                  (len(evs), ctl.verified_size))
            by_key = {e["idempotency_key"]: e["seq"] for e in evs if e["idempotency_key"]}
            with ctl.state.lock:
                for k, seq in ctl.state.acked.items():
                    check(by_key.get(k) == seq, "after the stop: key %s not at seq %d" % (k, seq))
            ctl.run_verify()
    except CheckFailed as e:
        ctl.fail(str(e))
    except Exception as e:  # a restart that never became healthy, a request that failed...
        ctl.fail("%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()))
    finally:
        ctl.stop.set()
        ctl.go.set()
        for w in writers:
            w.join(30)
        if ctl.failure is not None and ctl.server.proc is not None:
            sys.stdout.write("--- server stderr ---\n%s\n" % ctl.server.stderr()[-4000:])
        ctl.server.cleanup()
        if tmp is not None and ctl.failure is None and not args.keep:
            shutil.rmtree(tmp, True)
        elif tmp is not None:
            print("crashloop: data kept in %s" % args.data)

    st = ctl.state
    c = ctl.counts
    took = time.time() - T0
    print("crashloop: kills %d, restarts %d, acknowledged events %d (%d requests acknowledged "
          "of %d sent, %d answered with an error), in flight at a kill %d (%d present, %d "
          "absent, each settled by a retry), retries verified %d (%d whole batches), "
          "verify runs %d, full walks %d, older events re-read %d, final tree size %d, "
          "seed %d, %.1f s" %
          (c["kills"], c["restarts"], len(st.acked), st.n_acked_requests, st.n_requests,
           len(st.refused), c["inflight"], c["inflight_present"], c["inflight_absent"],
           c["retries_verified"], c["batch_retries_verified"], c["verify_runs"],
           c["full_walks"], c["old_samples"], ctl.verified_size, args.seed, took),
          flush=True)
    n_batch_events = len(st.batch_of)
    rt = sorted(x[0] for x in ctl.restart_times)
    ct = sorted(x[0] for x in ctl.check_times)
    slow_r = max(ctl.restart_times) if ctl.restart_times else (0.0, 0)
    slow_c = max(ctl.check_times) if ctl.check_times else (0.0, 0)
    refused_by_status = {}
    for _, status, _ in st.refused:
        refused_by_status[status] = refused_by_status.get(status, 0) + 1
    lines = [
        ("seed", "%d (binary %s)" % (args.seed, ttserver.BIN)),
        ("kills survived", "%d of %d requested (%d SIGKILLs sent)" %
         (c["survived"], args.kills, c["kills"])),
        ("restarts", "%d; to healthy: median %.2f s, slowest %.2f s (after kill %d)" %
         (c["restarts"], rt[len(rt) // 2] if rt else 0.0, slow_r[0], slow_r[1])),
        ("checks per restart", "median %.2f s, slowest %.2f s (after kill %d)" %
         (ct[len(ct) // 2] if ct else 0.0, slow_c[0], slow_c[1])),
        ("events acknowledged", "%d: %d single (%d requests), %d in batches (%d requests)" %
         (len(st.acked), len(st.acked) - n_batch_events, st.n_acked_single, n_batch_events,
          st.n_acked_batches)),
        ("requests", "%d sent, %d acknowledged, %d answered with an error %s, %d in flight "
         "at a kill (%d had been written, %d had not)" %
         (st.n_requests, st.n_acked_requests, len(st.refused),
          json.dumps(refused_by_status, sort_keys=True), c["inflight"], c["inflight_present"],
          c["inflight_absent"])),
        ("idempotent retries", "%d checked (%d whole batches re-sent, %d in-flight requests "
         "settled)" % (c["retries_verified"], c["batch_retries_verified"], c["inflight"])),
        ("verify runs passed", "%d" % c["verify_runs"]),
        ("ledger reads", "%d full walks, %d older events re-read; final tree size %d" %
         (c["full_walks"], c["old_samples"], ctl.verified_size)),
        ("total duration", "%.1f s" % took),
    ]
    print("crashloop: summary")
    for k, v in lines:
        print("  %-22s %s" % (k, v))
    sys.stdout.flush()
    if ctl.failure is not None:
        print("crashloop: FAILED: %s" % ctl.failure, flush=True)
        return 1
    if timed_out:
        print("crashloop: FAILED: time limit reached after %d of %d kills" %
              (c["kills"], args.kills), flush=True)
        return 1
    if ctl.stop_requested is not None:
        print("crashloop: STOPPED by %s after %d of %d kills (every check held)" %
              (ctl.stop_requested, c["kills"], args.kills), flush=True)
        return 1
    print("crashloop: ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

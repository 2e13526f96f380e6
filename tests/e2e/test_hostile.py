#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile HTTP clients against `tradetrail serve` (issue 7 item 5, SPEC 14): slow clients
(slowloris headers, a slow body), hundreds of idle keep-alive connections, one source
opening more connections than the daemon holds, huge headers, request-smuggling shapes,
path traversal and odd paths, and a flood of stream subscribers beyond the limit.

While each attack runs, a well-behaved client on 127.0.0.1 keeps asking GET /healthz and
an authenticated POST /api/events; every answer must be right and the p99 latency under
1 s. Attackers connect from other loopback addresses (127.0.0.2 and up: the whole of
127/8 is local on Linux) so that the per-address connection limit applies to them and not
to the well-behaved client. Every attack request carries an event with actor "attacker":
none may ever be written. The server's RSS and thread count are sampled from /proc during
the whole run and must stay under the limits below; its file descriptors must come back
to the baseline once the attackers have gone. Bounded: about a minute."""

import json
import os
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402

SLOW = T.SLOW
P99_LIMIT_S = 1.0 * SLOW
# Sanitizer shadow memory doubles RSS under ASan; ThreadSanitizer's is 5-10 times the heap, so
# scripts/tsan.sh sets TT_RSS_FACTOR=4 (the limits then bound runaway growth only).
RSS_FACTOR = int(os.environ.get("TT_RSS_FACTOR") or (2 if SLOW > 1 else 1))
RSS_LIMIT_KB = 512 * 1024 * RSS_FACTOR
# 16 stalled bodies of 16 MiB (the server's budget) and their buffers' slack
BODY_RSS_LIMIT_KB = 384 * 1024 * RSS_FACTOR
THREADS_LIMIT = 8 + 40  # 8 daemon threads, the committer, ticker, jobs, notify, MHD's own
# fds the server may keep after the attackers go: the ledger's reader pool grows with
# concurrency up to 64 SQLite connections of two fds each (src/ledger/ledger.h), kept open
FD_SLACK = 2 * 64 + 16
PER_IP_LIMIT = 512  # server/http.c MHD_OPTION_PER_IP_CONNECTION_LIMIT
CONNECTION_LIMIT = 4096  # server/http.c MHD_OPTION_CONNECTION_LIMIT
SSE_LIMIT = 256  # server/sse.c SSE_MAX_SUBSCRIBERS
IDLE_TIMEOUT_S = 60  # server/http.c MHD_OPTION_CONNECTION_TIMEOUT

ATTACK_EVENT = json.dumps({"entity": "order", "entity_id": "evil", "event_type": "CREATED",
                           "actor": "attacker"}, separators=(",", ":")).encode()


def attacker(n):
    """The n-th attacker source address."""
    return "127.0.0.%d" % (n + 2)


def connect(src, port, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout * SLOW)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_head(s):
    """The status of the response on s, or None when the server closed or reset it first."""
    buf = b""
    try:
        while b"\r\n" not in buf:
            b = s.recv(65536)
            if not b:
                return None
            buf += b
    except (ConnectionResetError, BrokenPipeError):
        return None
    parts = buf.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1


def raw_from(src, port, data, timeout=5):
    """Send data from src, half-close, read everything: (status or None, response bytes).
    A reset or a timeout after the server stopped reading counts as closed."""
    s = connect(src, port, timeout)
    chunks = []
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before reading everything
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    resp = b"".join(chunks)
    if not resp.startswith(b"HTTP/1."):
        return None, resp
    return int(resp.split(b" ", 2)[1]), resp


def close_all(socks, reset=False):
    """Close every socket. With reset, each is aborted with a RST (SO_LINGER 0) instead of a
    FIN queued behind unsent data: megabytes left in 24 send buffers make orphaned sockets,
    which the kernel drops silently under TCP memory pressure (tcp_mem on a small machine),
    and the server then learns nothing until its idle timeout."""
    for s in socks:
        try:
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass


def proc_status(pid):
    """(VmRSS in kB, threads, open fds) of a process."""
    rss = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads, len(os.listdir("/proc/%d/fd" % pid))


def socket_inodes(pid):
    """The inodes of the sockets a process holds open."""
    inodes = []
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            link = os.readlink(os.path.join(d, fd))
        except OSError:
            continue  # closed meanwhile
        if link.startswith("socket:["):
            inodes.append(link[8:-1])
    return inodes


def open_sockets(pid):
    """How many sockets a process holds open."""
    return len(socket_inodes(pid))


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def describe_sockets(pid):
    """Each TCP socket a process holds: 'peer-address:port STATE rx/tx queue', so that a
    socket left open names the attack that opened it (each attack has its own address)."""
    held = set(socket_inodes(pid))
    out = []
    try:
        with open("/proc/%d/net/tcp" % pid) as f:
            next(f)
            for line in f:
                col = line.split()
                if col[9] not in held:
                    continue
                ip, port = col[2].split(":")
                addr = ".".join(str(int(ip[i:i + 2], 16)) for i in (6, 4, 2, 0))
                out.append("%s:%d %s %s" % (addr, int(port, 16),
                                            TCP_STATES.get(col[3], col[3]), col[4]))
    except OSError as e:
        out.append("(no /proc/net/tcp: %s)" % e)
    return sorted(out)


class Monitor(threading.Thread):
    """Samples the server's RSS, threads and fds every 50 ms; keeps the maxima."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.max = [0, 0, 0]
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                cur = proc_status(self.pid)
            except OSError:
                return
            self.max = [max(a, b) for a, b in zip(self.max, cur)]
            self.stop_ev.wait(0.05)


class Prober(threading.Thread):
    """The well-behaved client: GET /healthz and an authenticated POST /api/events, each on
    a fresh connection from 127.0.0.1, in a loop; records latencies and failures."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.latencies = []
        self.failures = []
        self.appended = 0
        self.stop_ev = threading.Event()

    def one(self, what, fn, expect):
        t0 = time.monotonic()
        try:
            r = fn()
            ok = r.status == expect
            err = None if ok else "%s: %r" % (what, r)
        except (OSError, ValueError) as e:
            ok, err = False, "%s: %s" % (what, e)
        self.latencies.append(time.monotonic() - t0)
        if err:
            self.failures.append(err)
        return ok

    def run(self):
        srv = self.server
        i = 0
        while not self.stop_ev.is_set():
            self.one("GET /healthz",
                     lambda: srv.request("GET", "/healthz", token=None, timeout=10), 200)
            i += 1
            body = T.event(entity_id="probe-%d" % i, actor="prober")
            if self.one("POST /api/events",
                        lambda: srv.post_events(body, token="ingest", timeout=10), 201):
                self.appended += 1
            self.stop_ev.wait(0.02)

    def finish(self):
        self.stop_ev.set()
        self.join(30 * SLOW)
        lat = sorted(self.latencies)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None
        return len(lat), p99, lat[-1] if lat else None


class HostileTest(ServerCase):
    maxDiff = None
    """Each test: an attack while the prober runs, then the prober's verdict."""

    results = []  # (attack, outcome) lines printed at the end

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pid = cls.server.proc.pid
        cls.baseline = proc_status(cls.pid)
        cls.base_sockets = open_sockets(cls.pid)
        cls.monitor = Monitor(cls.pid)
        cls.monitor.start()

    @classmethod
    def tearDownClass(cls):
        cls.monitor.stop_ev.set()
        cls.monitor.join()
        sys.stderr.write("\nhostile HTTP summary (baseline rss %d kB, threads %d, fds %d; "
                         "max rss %d kB, threads %d, fds %d)\n" %
                         (tuple(cls.baseline) + tuple(cls.monitor.max)))
        for line in cls.results:
            sys.stderr.write("  " + line + "\n")
        super().tearDownClass()

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(), "the server died\n" + self.server.stderr())
        self.prober = Prober(self.server)
        self.prober.start()
        time.sleep(0.2)

    def tearDown(self):
        n, p99, worst = self.prober.finish()
        name = self.id().rsplit(".", 1)[-1]
        self.results.append("%-34s probes %4d  p99 %.3f s  max %.3f s  failures %d" %
                            (name, n, p99 or -1, worst or -1, len(self.prober.failures)))
        self.assertIsNone(self.server.proc.poll(), "the server died\n" + self.server.stderr())
        self.assertGreater(n, 0, "the well-behaved client got no answer at all")
        self.assertEqual(self.prober.failures[:5], [], "the well-behaved client failed")
        self.assertLess(p99, P99_LIMIT_S, "the well-behaved client's p99 latency")
        self.assertNothingWritten()
        rss, threads, _ = proc_status(self.pid)
        self.assertLess(rss, RSS_LIMIT_KB, "server RSS")
        self.assertLess(threads, THREADS_LIMIT, "server threads")

    def note(self, text):
        self.results.append("    " + text)

    def assertNothingWritten(self):
        j = self.server.get_json("/api/events?actor=attacker&limit=5", token="read")
        self.assertEqual(j["events"], [], "an attacker's request was written")

    @staticmethod
    def rejected(status):
        """4xx, or the connection closed without an answer."""
        return status is None or 400 <= status < 500

    def assertRejected(self, name, status):
        self.assertTrue(self.rejected(status), "%s: answered %s" % (name, status))

    def hold(self, seconds):
        """Let the prober run for a while during an attack; fail early if the server died."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertIsNone(self.server.proc.poll(), "the server died\n" +
                              self.server.stderr())
            time.sleep(0.1)

    # ---- slow clients ----

    def test_01_slowloris_and_slow_body(self):
        """200 connections sending a header one byte per second, and 20 authenticated POSTs
        sending their body one byte per second: none completes, nothing is written."""
        port = self.server.port
        socks = []
        try:
            for i in range(200):
                s = connect(attacker(0), port)
                s.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                socks.append(s)
            head = ("POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" %
                    (self.server.admin, len(ATTACK_EVENT) + 1)).encode()
            slow_bodies = []
            for i in range(20):
                s = connect(attacker(1), port)
                s.sendall(head)
                slow_bodies.append(s)
            socks += slow_bodies
            dropped = 0
            for sec in range(8):
                for s in socks:
                    if s.fileno() < 0:
                        continue
                    try:
                        # the slow body: the event, never its last byte (Content-Length + 1)
                        b = ATTACK_EVENT[sec:sec + 1] if s in slow_bodies else b"a"
                        s.send(b)
                    except OSError:
                        s.close()
                        dropped += 1
                self.hold(1)
            self.note("slowloris: 220 connections at 1 byte/s for 8 s, %d dropped by the "
                      "server" % dropped)
        finally:
            close_all(socks)

    # ---- many connections ----

    def test_02_idle_keepalive(self):
        """400 keep-alive connections that asked once and then sit idle."""
        port = self.server.port
        socks = []
        try:
            for i in range(400):
                s = connect(attacker(2 + i // 200), port)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            answered = sum(1 for s in socks if read_head(s) == 200)
            self.assertEqual(answered, 400)
            self.hold(4)
            # still open: one more request on the first and the last
            for s in (socks[0], socks[-1]):
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(read_head(s), 200)
            self.note("idle keep-alive: 400 connections held open 4 s, all still served")
        finally:
            close_all(socks)

    def test_03_one_source_floods_connections(self):
        """One address opens more idle connections than the daemon's whole limit: the
        per-address limit turns the excess away, other clients are still served."""
        port = self.server.port
        socks = []
        n = CONNECTION_LIMIT + 200
        try:
            for i in range(n):
                try:
                    socks.append(connect(attacker(4), port))
                except OSError:
                    break
            self.hold(3)
            closed = 0
            for s in socks:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            self.note("one source: %d connections opened, %d closed by the server, %d held"
                      % (len(socks), closed, len(socks) - closed))
            self.assertLessEqual(len(socks) - closed, PER_IP_LIMIT + 8)
        finally:
            close_all(socks)

    # ---- huge headers ----

    def test_04_huge_headers(self):
        port = self.server.port
        token = self.server.admin.encode()
        post = (b"POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" %
                len(ATTACK_EVENT))
        cases = [
            ("one 64 KiB header", post + b"X-Big: " + b"a" * 65536 + b"\r\n\r\n"),
            ("one 1 MiB header", post + b"X-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"),
            ("10000 small headers", post + b"".join(b"X-H%d: v\r\n" % i
                                                      for i in range(10000)) + b"\r\n"),
            ("64 KiB cookie", post + b"Cookie: " + b"c=" * 32768 + b"\r\n\r\n"),
            ("64 KiB Authorization", post.replace(token, b"t" * 65536) + b"\r\n"),
            ("64 KiB request line", b"POST /api/events?" + b"a" * 65536 +
             post[len(b"POST /api/events"):] + b"\r\n"),
            ("header without end", post + b"X-Big: " + b"a" * 200000),
        ]
        outcomes = []
        for name, head in cases:
            status, _ = raw_from(attacker(5), port, head + ATTACK_EVENT)
            self.assertRejected(name, status)
            outcomes.append("%s %s" % (name, status or "closed"))
        # many at once: memory stays bounded by the per-connection limit
        errs = []

        def big():
            try:
                st, _ = raw_from(attacker(6), port, cases[1][1] + ATTACK_EVENT, timeout=20)
                if st is not None and not 400 <= st < 500:
                    errs.append(st)
            except OSError as e:
                errs.append(str(e))
        threads = [threading.Thread(target=big) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60 * SLOW)
        self.assertEqual(errs, [])
        self.note("huge headers: " + "; ".join(outcomes) + "; 40 parallel 1 MiB: rejected")

    # ---- request smuggling ----

    def test_05_smuggling(self):
        port = self.server.port
        token = self.server.admin.encode()
        n = len(ATTACK_EVENT)
        start = (b"POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                 b"\r\nContent-Type: application/json\r\n")
        chunked = b"%x\r\n" % n + ATTACK_EVENT + b"\r\n0\r\n\r\n"
        inner = start + b"Content-Length: %d\r\n\r\n" % n + ATTACK_EVENT
        cases = [
            ("CL and TE", start + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
             % len(chunked) + chunked),
            ("TE and CL", start + b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n"
             % n + chunked),
            ("CL 0 and TE hiding a request", start +
             b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" +
             b"%x\r\n" % len(inner) + inner + b"\r\n0\r\n\r\n"),
            ("two different CL", start + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
             % (n, n + 10) + ATTACK_EVENT + b"x" * 10),
            ("two equal CL", start + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
             % (n, n) + ATTACK_EVENT),
            ("CL list", start + b"Content-Length: %d, %d\r\n\r\n" % (n, n) + ATTACK_EVENT),
            ("CL with plus", start + b"Content-Length: +%d\r\n\r\n" % n + ATTACK_EVENT),
            ("CL negative", start + b"Content-Length: -1\r\n\r\n" + ATTACK_EVENT),
            ("CL hex", start + b"Content-Length: 0x%x\r\n\r\n" % n + ATTACK_EVENT),
            ("CL overflow", start + b"Content-Length: 18446744073709551617\r\n\r\n" +
             ATTACK_EVENT),
            ("chunk size not hex", start + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" +
             ATTACK_EVENT + b"\r\n0\r\n\r\n"),
            ("chunk size negative", start + b"Transfer-Encoding: chunked\r\n\r\n-5\r\n" +
             ATTACK_EVENT + b"\r\n0\r\n\r\n"),
            ("chunk size overflow", start + b"Transfer-Encoding: chunked\r\n\r\n"
             b"1" + b"0" * 16 + b"%x\r\n" % n + ATTACK_EVENT + b"\r\n0\r\n\r\n"),
            ("chunk shorter than its size", start + b"Transfer-Encoding: chunked\r\n\r\n"
             b"%x\r\n" % (n + 50) + ATTACK_EVENT + b"\r\n0\r\n\r\n"),
            ("chunk without CRLF", start + b"Transfer-Encoding: chunked\r\n\r\n"
             b"%x\r\n" % n + ATTACK_EVENT + b"0\r\n\r\n"),
            ("TE chunked, identity", start +
             b"Transfer-Encoding: chunked, identity\r\n\r\n" + chunked),
            ("TE identity, chunked", start +
             b"Transfer-Encoding: identity, chunked\r\nContent-Length: %d\r\n\r\n" % n +
             ATTACK_EVENT),
            ("TE gzip", start + b"Transfer-Encoding: gzip\r\n\r\n" + chunked),
            ("two TE headers", start +
             b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + chunked),
            ("TE with space before colon", start +
             b"Transfer-Encoding : chunked\r\nContent-Length: %d\r\n\r\n" % n + chunked),
            ("TE folded", start + b"Transfer-Encoding:\r\n chunked\r\n\r\n" + chunked),
            ("TE on HTTP/1.0", start.replace(b"HTTP/1.1", b"HTTP/1.0") +
             b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % n + chunked),
            ("bare LF line ends", start.replace(b"\r\n", b"\n") +
             b"Transfer-Encoding: chunked\nContent-Length: %d\n\n" % n + chunked),
        ]
        outcomes, bad = {}, []
        for name, data in cases:
            status, resp = raw_from(attacker(7), port, data)
            # a 2xx anywhere in the answer: the hidden second request was served
            if not self.rejected(status) or b"HTTP/1.1 2" in resp:
                bad.append("%s: %s" % (name, resp[:12]))
            outcomes.setdefault(status or "closed", []).append(name)
        self.assertEqual(bad, [], "smuggling shapes accepted")
        self.note("smuggling: %d shapes: %s" % (len(cases), ", ".join(
            "%s x%d" % (k, len(v)) for k, v in sorted(outcomes.items(), key=str))))

    # ---- paths ----

    def test_06_odd_paths(self):
        port = self.server.port
        token = self.server.admin.encode()
        paths = [b"/../api/events", b"/api/../api/events", b"/api/events/..",
                 b"/api/%2e%2e/api/events", b"/%2e%2e/%2e%2e/etc/passwd",
                 b"/api/events/%2e%2e%2f%2e%2e%2fetc%2fpasswd", b"//api//events",
                 b"//api/events", b"/api/events/", b"/api//events", b"/./api/events",
                 b"/api/./events", b"/api/events%00", b"/api/events%00.json",
                 b"/api/events%2f", b"/api/events;x", b"/api\\events",
                 b"/API/EVENTS", b"/%c0%ae%c0%ae/api/events", b"/api/events%20",
                 b"/api/events/%00/../", b"/etc/passwd", b"/web/../../etc/passwd",
                 b"api/events", b"*", b"http://127.0.0.1/../api/events",
                 b"/" + b"a" * 8192, b"/api/events/" + b"1" * 4096,
                 b"/" + b"../" * 3000 + b"api/events"]
        outcomes, bad = {}, []
        for p in paths:
            for method in (b"POST", b"GET"):
                data = (method + b" " + p + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        token + b"\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(ATTACK_EVENT) +
                        ATTACK_EVENT)
                status, _ = raw_from(attacker(8), port, data)
                if not self.rejected(status):
                    bad.append("%s %r: %s" % (method.decode(), p[:60], status))
                outcomes.setdefault(status or "closed", 0)
                outcomes[status or "closed"] += 1
        # a raw NUL and control bytes in the request line
        for name, line in [("NUL in path", b"POST /api/events\x00x HTTP/1.1"),
                           ("NUL after path", b"POST /api/events\x00 HTTP/1.1"),
                           ("tab in path", b"POST /api/\tevents HTTP/1.1"),
                           ("CR in path", b"POST /api/\revents HTTP/1.1")]:
            data = (line + b"\r\nHost: x\r\nAuthorization: Bearer " + token +
                    b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(ATTACK_EVENT) +
                    ATTACK_EVENT)
            status, _ = raw_from(attacker(8), port, data)
            if not self.rejected(status):
                bad.append("%s: %s" % (name, status))
            outcomes.setdefault(status or "closed", 0)
            outcomes[status or "closed"] += 1
        self.assertEqual(bad, [], "odd paths accepted")
        self.note("odd paths: %d requests: %s" % (sum(outcomes.values()), ", ".join(
            "%s x%d" % (k, v) for k, v in sorted(outcomes.items(), key=str))))

    # ---- stream subscribers ----

    def open_stream(self, src):
        s = connect(src, self.server.port, timeout=10)
        s.sendall(("GET /api/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % self.server.tokens["read"]).encode())
        return s, read_head(s)

    def test_07_sse_flood(self):
        n = SSE_LIMIT + 60
        socks, statuses = [], []
        try:
            for i in range(n):
                s, st = self.open_stream(attacker(9 + i // 100))
                socks.append(s)
                statuses.append(st)
            ok, busy = statuses.count(200), statuses.count(503)
            self.assertEqual(ok, SSE_LIMIT, statuses)
            self.assertEqual(busy, n - SSE_LIMIT, statuses)
            self.hold(3)
            # the open streams still deliver: the prober's appends reach the first one
            s = socks[0]
            s.settimeout(5 * SLOW)
            got = b""
            deadline = time.monotonic() + 5 * SLOW
            while b"prober" not in got and time.monotonic() < deadline:
                try:
                    got += s.recv(65536)
                except socket.timeout:
                    break
            self.assertIn(b"prober", got, "a stream did not deliver a new event")
            rss, threads, fds = proc_status(self.pid)
            self.note("SSE flood: %d subscribers: %d streaming, %d answered 503; "
                      "rss %d kB, threads %d, fds %d while open" % (n, ok, busy, rss, threads,
                                                                  fds))
        finally:
            close_all(socks)
        # the slots come back once the clients have gone (the ticker notices within 250 ms)
        deadline = time.monotonic() + 10 * SLOW
        while True:
            s, st = self.open_stream(attacker(20))
            s.close()
            if st == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(st, 200, "stream slots not released after the clients closed")

    # ---- big bodies ----

    def test_08_stalled_big_bodies(self):
        """24 uploads that stop just short of 16 MiB: the bodies held at once are bounded
        (256 MiB in server/http.c), a big body beyond that is answered 503, and small
        appends go on being accepted meanwhile."""
        port = self.server.port
        head = ("POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %%d\r\n\r\n" %
                self.server.admin)
        socks = []
        try:
            for i in range(24):
                s = connect(attacker(21), port, timeout=30)
                s.sendall((head % (16 * 1024 * 1024 - 1)).encode())
                s.sendall(b" " * (15 * 1024 * 1024))
                socks.append(s)
            self.hold(2)
            rss = proc_status(self.pid)[0]
            self.assertLess(rss, BODY_RSS_LIMIT_KB, "RSS with stalled bodies")
            body = ATTACK_EVENT + b" " * (1024 * 1024)
            status, _ = raw_from(attacker(22), port, (head % len(body)).encode() + body,
                                 timeout=30)
            self.assertEqual(status, 503, "a big body beyond the budget")
            self.note("stalled bodies: 24 x 15 MiB held, rss %d kB; a further 1 MiB body: %s"
                      % (rss, status))
        finally:
            close_all(socks, reset=True)

    # ---- resources after the attacks ----

    def test_99_resources_released(self):
        """After every attacker has gone: every client socket closed, fds back near the
        baseline, RSS and threads under the limits for the whole run."""
        start = time.monotonic()
        # A peer that vanished without a FIN or a RST is only noticed by the server's idle
        # timeout (60 s in server/http.c): that is the bound asserted; sockets still held
        # after 20 s are named in the summary.
        deadline = start + IDLE_TIMEOUT_S + 10 * SLOW
        base_fds = self.baseline[2]
        late = None
        while True:
            rss, threads, fds = proc_status(self.pid)
            # the prober's own connection may be open at any moment: + 2
            socks = open_sockets(self.pid)
            if socks <= self.base_sockets + 2 or time.monotonic() > deadline:
                break
            if late is None and time.monotonic() - start > 20 * SLOW:
                late = describe_sockets(self.pid)
            time.sleep(0.2)
        if late is not None:
            self.note("held 20 s after the attacks (released after %.0f s): %s"
                      % (time.monotonic() - start, "; ".join(late)))
        mx = self.monitor.max
        self.note("resources: baseline fds %d (sockets %d), after %d (sockets %d); max rss "
                  "%d kB (limit %d), max threads %d (limit %d), max fds %d" %
                  (base_fds, self.base_sockets, fds, socks, mx[0], RSS_LIMIT_KB, mx[1],
                   THREADS_LIMIT, mx[2]))
        self.assertLessEqual(socks, self.base_sockets + 2, "client sockets not released: %s"
                             % "; ".join(describe_sockets(self.pid)))
        self.assertLessEqual(fds, base_fds + FD_SLACK, "fds not released")
        self.assertLess(mx[0], RSS_LIMIT_KB, "max RSS during the attacks")
        self.assertLess(mx[1], THREADS_LIMIT, "max threads during the attacks")


if __name__ == "__main__":
    unittest.main(verbosity=2)

# SPDX-License-Identifier: Apache-2.0
"""Server resident memory and restart after kill -9 (SPEC 13), run by bench/measure.d/server.sh.

Usage: python3 bench/server_bench.py TRADETRAIL LEDGER_DIR WORKDIR [LOAD_SECONDS]

1. Creates an admin token with the CLI (one event in the ledger) and starts
   `tradetrail serve` on the ledger, on a free loopback port.
2. Loads it for LOAD_SECONDS with 8 keep-alive clients: inclusion proofs and single-event
   reads of random seqs, one entity's last 100 events, one-word full-text searches (newest
   100), and single-event appends (about a tenth of the requests).
3. At the end of the load, with the clients still running, reads VmRSS, VmHWM and RssAnon
   from /proc/PID/status, then kills the server with SIGKILL.
4. Starts a new server on the same ledger and port and measures the time from starting it
   (fork + exec) to the first 200 of GET /healthz and to the first authenticated read
   (GET /api/events?order=desc&limit=1), which must show every append acknowledged before
   the kill. The file cache is warm: this is a process crash, not a machine reboot.
5. Stops the new server with SIGTERM (it must exit 0).

Prints `figure` lines: server_rss_mib, server_hwm_mib, server_rss_anon_mib,
server_load_rps, server_ledger_events, restart_healthz_s, restart_s. Standard library only.
"""

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

CLIENTS = 8
WORDS = ["strategy", "threshold", "drawdown", "momentum", "latency", "rebalance", "sharpe",
         "volatility", "liquidity", "slippage", "backtest", "exposure", "outage", "hedge"]


def fail(msg):
    sys.exit(f"server_bench: {msg}")


def figure(name, value, unit):
    text = str(value) if isinstance(value, int) else f"{value:.6g}"
    print(f"figure {name} {text} {unit}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, exe, ledger, port, log_path):
        self.argv = [exe, "--data", ledger, "serve", "--listen", f"127.0.0.1:{port}"]
        self.log_path = log_path
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        return t0

    def status_kib(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    out[key] = int(value.split()[0])
        return out

    def kill(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def log_tail(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-10:])
        except OSError:
            return ""


def request(conn, method, path, token=None, body=None):
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def wait_ready(server, port, token, deadline_s, min_seq=0):
    """Poll until GET /healthz answers 200, then until an authenticated read does. Returns
    (seconds to healthz, seconds to the read, newest seq) from server.start()."""
    t0 = server.start()
    t_health = None
    while True:
        now = time.monotonic()
        if now - t0 > deadline_s:
            fail(f"the server was not serving {deadline_s:.0f} s after its start\n"
                 + server.log_tail())
        if server.proc.poll() is not None:
            fail(f"the server exited with status {server.proc.returncode}\n" + server.log_tail())
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if t_health is None:
                status, _ = request(conn, "GET", "/healthz")
                if status == 200:
                    t_health = time.monotonic() - t0
            if t_health is not None:
                status, body = request(conn, "GET", "/api/events?order=desc&limit=1", token)
                if status == 200:
                    t_read = time.monotonic() - t0
                    events = json.loads(body)["events"]
                    newest = events[0]["seq"] if events else 0
                    if newest < min_seq:
                        fail(f"after the restart the newest seq is {newest}, but seq {min_seq} "
                             "was acknowledged before the kill")
                    conn.close()
                    return t_health, t_read, newest
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.002)


class Load:
    """CLIENTS threads of mixed requests until stop is set; errors once killed are expected."""

    def __init__(self, port, token, size, entity_ids):
        self.port, self.token, self.size, self.ids = port, token, size, entity_ids
        self.stop = threading.Event()
        self.killed = threading.Event()
        self.count = 0
        self.max_acked = 0
        self.errors = []
        self.lock = threading.Lock()

    def one(self, conn, rng, n):
        k = rng.random()
        if k < 0.25:
            path = f"/api/events/{rng.randint(1, self.size)}/proof"
        elif k < 0.45:
            path = f"/api/events/{rng.randint(1, self.size)}"
        elif k < 0.70:
            path = f"/api/events?entity_id={rng.choice(self.ids)}&order=desc&limit=100"
        elif k < 0.90:
            path = f"/api/events?q={rng.choice(WORDS)}&order=desc&limit=100"
        else:
            body = json.dumps({
                "entity": "strategy", "entity_id": rng.choice(self.ids),
                "event_type": "STATUS_CHANGED", "actor": "bench-server",
                "old_status": "ACTIVE", "new_status": "PAUSED",
                "reason": f"server bench load request {n} drawdown limit breached",
                "metadata": {"run": n, "score": rng.random()}})
            status, resp = request(conn, "POST", "/api/events", self.token, body)
            if status != 201:
                raise RuntimeError(f"POST /api/events: {status} {resp[:200]!r}")
            seq = json.loads(resp)["seq"]
            with self.lock:
                self.max_acked = max(self.max_acked, seq)
            return
        status, resp = request(conn, "GET", path, self.token)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {resp[:200]!r}")

    def worker(self, index):
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        n = 0
        try:
            while not self.stop.is_set():
                self.one(conn, rng, index * 10_000_000 + n)
                n += 1
        except Exception as e:  # noqa: BLE001 - any failure before the kill is reported
            if not self.killed.is_set():
                with self.lock:
                    self.errors.append(f"client {index}: {e}")
        finally:
            conn.close()
            with self.lock:
                self.count += n

    def run(self):
        self.threads = [threading.Thread(target=self.worker, args=(i,)) for i in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)


def main():
    if len(sys.argv) not in (4, 5):
        fail("usage: server_bench.py TRADETRAIL LEDGER_DIR WORKDIR [LOAD_SECONDS]")
    exe, ledger, work = sys.argv[1:4]
    load_s = float(sys.argv[4]) if len(sys.argv) == 5 else 10.0

    p = subprocess.run([exe, "--data", ledger, "token", "create", "--role", "admin",
                        "--name", "bench-server"], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        fail(f"token create failed: {p.stderr.strip()}")
    token = p.stdout.strip()
    port = free_port()
    server = Server(exe, ledger, port, os.path.join(work, "server-bench.log"))
    restarted = None
    try:
        _, _, size = wait_ready(server, port, token, 600)
        # Entity ids that occur in this ledger, from events at random seqs.
        rng = random.Random(1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ids = set()
        for _ in range(50):
            status, body = request(conn, "GET", f"/api/events/{rng.randint(1, size)}", token)
            if status == 200:
                ids.add(json.loads(body)["entity_id"])
        conn.close()
        if not ids:
            fail("could not read any event back")

        load = Load(port, token, size, sorted(ids))
        t0 = time.monotonic()
        load.run()
        time.sleep(load_s)
        mem = server.status_kib()
        # SIGKILL while the clients are still sending: appends may be in flight.
        load.killed.set()
        server.kill(signal.SIGKILL)
        server.proc.wait(30)
        elapsed = time.monotonic() - t0
        load.join()
        if load.errors:
            fail("; ".join(load.errors[:3]))
        acked = load.max_acked

        restarted = Server(exe, ledger, port, server.log_path)
        t_health, t_read, newest = wait_ready(restarted, port, token, 600, min_seq=acked)
        restarted.kill(signal.SIGTERM)
        try:
            rc = restarted.proc.wait(120)
        except subprocess.TimeoutExpired:
            fail("the restarted server did not stop within 120 s of SIGTERM")
        if rc != 0:
            fail(f"the restarted server exited with status {rc} after SIGTERM\n"
                 + restarted.log_tail())
    finally:
        server.kill(signal.SIGKILL)
        if restarted is not None:
            restarted.kill(signal.SIGKILL)

    figure("server_rss_mib", mem["VmRSS"] / 1024, "MiB")
    figure("server_hwm_mib", mem["VmHWM"] / 1024, "MiB")
    figure("server_rss_anon_mib", mem.get("RssAnon", 0) / 1024, "MiB")
    figure("server_load_rps", load.count / elapsed, "req/s")
    figure("server_ledger_events", size, "events")
    figure("restart_healthz_s", t_health, "s")
    figure("restart_s", t_read, "s")
    print(f"server_bench: {load.count} requests in {elapsed:.1f} s; newest seq {newest} after "
          f"the restart, {acked} acknowledged before the kill", file=sys.stderr)


if __name__ == "__main__":
    main()

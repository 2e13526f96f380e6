# SPDX-License-Identifier: Apache-2.0
"""Helpers for the end-to-end tests of `tradetrail serve` (standard library only): start the
server on a free loopback port over a temporary data directory, read the admin token it
prints on first start, create tokens of each role through the CLI, make HTTP requests
(http.client, or raw sockets for requests http.client refuses to send), stop it with SIGTERM,
and check proofs and signed notes with the library's offline functions through ctypes."""

import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402

SOURCE_DIR = os.environ.get(
    "TT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("TT_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
BIN = os.environ.get("TT_BIN", os.path.join(BUILD_DIR, "tradetrail"))

TOKEN_RE = re.compile(r"admin token \(shown once[^)]*\): (tt_[0-9a-f]{64})")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
EVENT_FIELDS = ["seq", "ts", "entity", "entity_id", "event_type", "actor", "old_status",
                "new_status", "reason", "metadata", "occurred_at", "idempotency_key",
                "principal", "leaf_hash"]
# SPEC 9: the error code of each status (405, a method a path does not take, is a kind of
# invalid argument).
ERROR_CODES = {400: "invalid_argument", 401: "unauthenticated", 403: "permission_denied",
               404: "not_found", 405: "invalid_argument", 409: "conflict",
               413: "payload_too_large",
               415: "unsupported_media_type", 503: "unavailable", 507: "insufficient_storage",
               500: "internal"}
TT_OK = 0

LIB = os.path.join(BUILD_DIR, "libtradetrail.so")


def _asan_runtime(path):
    """The libasan a sanitizer build of the library links, or None."""
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(libasan\.so\S*) => (\S+)", out)
    return m.group(2) if m else None


def _reexec_for_asan():
    """ctypes can load an ASan-instrumented libtradetrail.so only into a process that has
    the ASan runtime loaded first: re-run this test under LD_PRELOAD (leak checks off for
    Python itself). Child processes get the caller's own settings back (child_env)."""
    if "TT_E2E_ASAN_REEXEC" in os.environ or not os.path.exists(LIB):
        return
    rt = _asan_runtime(LIB)
    if rt is None:
        return
    env = dict(os.environ)
    env["TT_E2E_ASAN_REEXEC"] = "1"
    env["TT_E2E_ORIG_LD_PRELOAD"] = os.environ.get("LD_PRELOAD", "<unset>")
    env["TT_E2E_ORIG_ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "<unset>")
    env["LD_PRELOAD"] = rt + (" " + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    env["ASAN_OPTIONS"] = "detect_leaks=0:verify_asan_link_order=0"

    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


if __name__ != "__main__":
    _reexec_for_asan()
SANITIZED = "TT_E2E_ASAN_REEXEC" in os.environ

# Sanitizer builds are several times slower: the time limits below scale with this. TT_SLOW
# set to anything gives 4; a larger number gives that factor (valgrind: scripts/valgrind.sh).
_slow = os.environ.get("TT_SLOW")
SLOW = max(4, int(_slow) if _slow and _slow.isdigit() else 0) if _slow or SANITIZED else 1


def env_without_tradetrail():
    """The environment for tradetrail processes: no TRADETRAIL_* settings, and the
    sanitizer settings the caller gave (not the ones of this re-executed Python)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRADETRAIL_") and not k.startswith("TT_E2E_")}
    for name in ("LD_PRELOAD", "ASAN_OPTIONS"):
        orig = os.environ.get("TT_E2E_ORIG_" + name)
        if orig is not None:
            if orig == "<unset>":
                env.pop(name, None)
            else:
                env[name] = orig
    if SANITIZED:
        # ASan keeps freed blocks in a quarantine of 256 MB by default: a server whose
        # request bodies grew to 16 MiB then showed 700-900 MB of RSS from one run to the
        # next, and the memory bounds of the hostile-client tests measured the quarantine
        # more than the server. 32 MB still catches a use after free of recent blocks.
        opts = env.get("ASAN_OPTIONS")
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=32"
    return env


def argv(data, *args):
    """The command line of tradetrail on data's ledger: with --db when the suite runs
    against PostgreSQL (pglib.test_db_args)."""
    return [BIN, "--data", data] + pglib.test_db_args(data) + list(args)


def cli(data, args, input=None, timeout=120):
    """Run tradetrail --data DATA ARGS; a CompletedProcess with text output."""
    return subprocess.run([BIN, "--data", data] + pglib.test_db_args(data) + list(args),
                          input=input, capture_output=True,
                          text=True, env=env_without_tradetrail(), timeout=timeout * SLOW)


def cli_ok(data, args, **kw):
    p = cli(data, args, **kw)
    if p.returncode != 0:
        raise AssertionError("tradetrail %s: exit %d\n%s" % (" ".join(args), p.returncode,
                                                             p.stderr))
    return p.stdout


def show_all(data):
    """Every event of the ledger through `tradetrail show -o json` (NDJSON), in seq order."""
    out = cli_ok(data, ["show", "-o", "json"])
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _die_with_parent():
    """In the child before exec: SIGTERM when the test process dies, so that a crashed or
    killed test never leaves a server behind (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    """status, headers (lower-case names), raw body bytes, and .json() of the body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<HTTP %d %s>" % (self.status, self.body[:300])


class Server:
    """A running `tradetrail serve`. Use start() / stop(), or as a context manager."""

    def __init__(self, data=None, extra_args=(), env=None):
        self.own_tmp = None
        if data is None:
            self.own_tmp = tempfile.mkdtemp(prefix="tt-srv-")
            data = os.path.join(self.own_tmp, "data")
        self.data = data
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.port = None
        self.admin = None
        self.tokens = {}  # role -> token
        self.token_ids = {}  # role -> id
        self.log_dir = tempfile.mkdtemp(prefix="tt-srv-log-")

    # ---- lifecycle ----

    def start(self, timeout=30):
        for attempt in range(5):
            self.port = free_port()
            out = open(os.path.join(self.log_dir, "stdout"), "wb")
            err = open(os.path.join(self.log_dir, "stderr"), "wb")
            env = env_without_tradetrail()
            if self.env:
                env.update(self.env)
            self.proc = subprocess.Popen(
                [BIN, "--data", self.data] + pglib.test_db_args(self.data) +
                ["serve", "--listen", "127.0.0.1:%d" % self.port] + self.extra_args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                preexec_fn=_die_with_parent)
            out.close()
            err.close()
            deadline = time.time() + timeout * SLOW
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                text = self.stdout()
                if "tradetrail serving" in text:
                    m = TOKEN_RE.search(text)
                    if m and self.admin is None:
                        self.admin = m.group(1)
                    if self._healthy():
                        return self
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not become healthy\n" + self.stderr())
            if "cannot listen" not in self.stderr():  # a port race: try another port
                raise AssertionError("server exited with %d\n%s" % (self.proc.returncode,
                                                                    self.stderr()))
        raise AssertionError("could not start the server on a free port")

    def _healthy(self):
        try:
            return self.request("GET", "/healthz", token=None, timeout=2).status == 200
        except OSError:
            return False

    def stdout(self):
        with open(os.path.join(self.log_dir, "stdout"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(os.path.join(self.log_dir, "stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signal the server and wait; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not exit after %s\n%s" % (sig, self.stderr()))
        self.proc = None
        return rc

    def stop_ok(self, timeout=60):
        """stop(), and fail unless the server exited 0: a sanitizer report, a crash or a leak
        found at shutdown must fail the test that started it (issue 13)."""
        rc = self.stop(timeout=timeout)
        if rc not in (0, None):
            raise AssertionError("server exit code %s\n%s" % (rc, self.stderr()[-4000:]))

    def finish(self):
        """stop_ok(), then cleanup() whatever happened."""
        try:
            self.stop_ok()
        finally:
            self.cleanup()

    def cleanup(self):
        # SIGTERM first: a server that exits normally also gets its leak check under valgrind
        # (scripts/valgrind.sh); SIGKILL only when it does not stop in time.
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.log_dir, True)
        if self.own_tmp:
            shutil.rmtree(self.own_tmp, True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        # After a failure in the block, only clean up: the first error is the one to show.
        if exc_type is None:
            self.finish()
        else:
            self.cleanup()

    # ---- tokens ----

    def create_token(self, role, name=None):
        """A new token of a role through the CLI; returns (id, token)."""
        args = ["token", "create", "--role", role, "-o", "json"]
        if name:
            args += ["--name", name]
        j = json.loads(cli_ok(self.data, args))
        return j["id"], j["token"]

    def make_role_tokens(self):
        """self.tokens[role] for read, ingest and admin (admin: the printed one)."""
        for role in ("read", "ingest"):
            self.token_ids[role], self.tokens[role] = self.create_token(role, "e2e-" + role)
        self.tokens["admin"] = self.admin
        return self.tokens

    # ---- requests ----

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)

    def request(self, method, path, body=None, headers=None, token="admin", conn=None,
                content_type=None, timeout=30):
        """One request; token is a role name, a literal token, or None. Returns Response.
        With conn the (keep-alive) connection is reused and left open."""
        h = {}
        if token is not None:
            h["Authorization"] = "Bearer " + self.tokens.get(token, self.admin if token ==
                                                              "admin" else token)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        if content_type is not None:
            h["Content-Type"] = content_type
        if headers:
            h.update(headers)
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            if conn is None:
                c.close()

    def get_json(self, path, token="admin", expect=200):
        r = self.request("GET", path, token=token)
        if r.status != expect:
            raise AssertionError("GET %s: %d, expected %d: %s" % (path, r.status, expect,
                                                                  r.body[:500]))
        return r.json()

    def post_events(self, body, token="admin", **kw):
        return self.request("POST", "/api/events", body=body, token=token, **kw)

    def tree_size(self):
        return self.get_json("/api/stats")["tree_size"]

    def raw(self, data, timeout=30):
        """Send raw bytes on a fresh connection; returns (status or None, body bytes)."""
        return raw_request(self.port, data, timeout)


def raw_request(port, data, timeout=30):
    """Send bytes, half-close, read until EOF; parse the status line and the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (ConnectionResetError, socket.timeout):
            pass
    resp = b"".join(chunks)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    if not m:
        return None, resp
    head, _, body = resp.partition(b"\r\n\r\n")
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        body = dechunk(body)
    return int(m.group(1)), body


def dechunk(b):
    out = []
    while b:
        line, _, rest = b.partition(b"\r\n")
        n = int(line.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out.append(rest[:n])
        b = rest[n + 2:]
    return b"".join(out)


def event(entity="order", entity_id="o-1", event_type="CREATED", actor="bot", **kw):
    e = {"entity": entity, "entity_id": entity_id, "event_type": event_type, "actor": actor}
    e.update(kw)
    return e


def ndjson(events):
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)


# ---- Server-Sent Events ----------------------------------------------------------------------


class SSEClient:
    """A GET /api/stream over a raw socket: parses the response head, the chunked transfer
    encoding and the SSE fields. next() returns the next message as a dict with the fields
    seen ("id", "event", "data"; "comment" for a comment-only block), or None on timeout."""

    def __init__(self, port, path, token, headers=None, rcvbuf=None, timeout=10):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout * SLOW)
        self.sock.connect(("127.0.0.1", port))
        req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" % path
        if token:
            req += "Authorization: Bearer %s\r\n" % token
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall((req + "\r\n").encode())
        self.raw = b""
        self.text = b""  # de-chunked body not yet parsed into messages
        self.closed = False
        while b"\r\n\r\n" not in self.raw:
            b = self.sock.recv(65536)
            if not b:
                raise AssertionError("stream closed before the response head: %r" % self.raw)
            self.raw += b
        head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"

    def _dechunk(self):
        if not self.chunked:
            self.text += self.raw
            self.raw = b""
            return
        while True:
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            n = int(line.split(b";")[0], 16)
            if n == 0:
                self.closed = True
                self.raw = b""
                return
            if len(rest) < n + 2:
                return
            self.text += rest[:n]
            self.raw = rest[n + 2:]

    def next(self, timeout=10):
        deadline = time.time() + timeout * SLOW
        while True:
            self._dechunk()
            if b"\n\n" in self.text:
                block, _, self.text = self.text.partition(b"\n\n")
                msg = {}
                for line in block.decode("utf-8").split("\n"):
                    if line.startswith(":"):
                        msg.setdefault("comment", line[1:].strip())
                        continue
                    k, _, v = line.partition(":")
                    msg[k] = v[1:] if v.startswith(" ") else v
                return msg
            if self.closed:
                return None
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not b:
                self.closed = True
                continue
            self.raw += b

    def next_event(self, timeout=10):
        """The next message with an id (comments and retry-only blocks skipped)."""
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            m = self.next(max(0.01, (deadline - time.time()) / SLOW))
            if m is None:
                return None
            if "id" in m:
                m["json"] = json.loads(m["data"])
                return m
        return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the library's offline verification through ctypes -------------------------------------

_lib = None


def lib():
    global _lib
    if _lib is None:
        _lib = ctypes.CDLL(LIB)
        H = ctypes.c_uint8 * 32
        _lib.tt_proof_verify_inclusion.argtypes = [ctypes.c_int64, ctypes.c_int64, H,
                                                   ctypes.c_void_p, ctypes.c_size_t, H]
        _lib.tt_proof_verify_inclusion.restype = ctypes.c_int
        _lib.tt_proof_verify_consistency.argtypes = [ctypes.c_int64, ctypes.c_int64, H, H,
                                                     ctypes.c_void_p, ctypes.c_size_t]
        _lib.tt_proof_verify_consistency.restype = ctypes.c_int
        _lib.tt_checkpoint_verify_note.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_int64), H]
        _lib.tt_checkpoint_verify_note.restype = ctypes.c_int
    return _lib


def _hash(hexstr):
    b = bytes.fromhex(hexstr)
    assert len(b) == 32, hexstr
    return (ctypes.c_uint8 * 32).from_buffer_copy(b)


def _hashes(hexlist):
    arr = ((ctypes.c_uint8 * 32) * max(1, len(hexlist)))()
    for i, h in enumerate(hexlist):
        arr[i] = _hash(h)
    return arr


def verify_inclusion(leaf_index, tree_size, leaf_hex, hashes_hex, root_hex):
    """The library's tt_proof_verify_inclusion: 0 (TT_OK) when the proof holds."""
    hs = _hashes(hashes_hex)
    return lib().tt_proof_verify_inclusion(leaf_index, tree_size, _hash(leaf_hex),
                                           ctypes.cast(hs, ctypes.c_void_p), len(hashes_hex),
                                           _hash(root_hex))


def verify_consistency(first, second, root1_hex, root2_hex, hashes_hex):
    hs = _hashes(hashes_hex)
    return lib().tt_proof_verify_consistency(first, second, _hash(root1_hex), _hash(root2_hex),
                                             ctypes.cast(hs, ctypes.c_void_p), len(hashes_hex))


def verify_note(note, vkey):
    """tt_checkpoint_verify_note: (rc, tree_size, root hex)."""
    b = note.encode() if isinstance(note, str) else note
    size = ctypes.c_int64(0)
    root = (ctypes.c_uint8 * 32)()
    rc = lib().tt_checkpoint_verify_note(b, len(b), vkey.encode(), None, ctypes.byref(size),
                                         root)
    return rc, size.value, bytes(root).hex()


class ServerCase(unittest.TestCase):
    """One server for the whole class (setUpClass), with tokens of every role."""

    server = None
    server_env = None  # extra environment of the server process

    @classmethod
    def setUpClass(cls):
        cls.server = Server(env=cls.server_env)
        try:
            cls.server.start()
            cls.server.make_role_tokens()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        srv = cls.server
        try:
            if srv.proc is not None:
                rc = srv.stop()
                if rc != 0:
                    raise AssertionError("server exit code %s\n%s" % (rc, srv.stderr()))
                p = cli(srv.data, ["verify"])
                if p.returncode != 0:
                    raise AssertionError("verify after stop failed:\n%s%s" % (p.stdout,
                                                                              p.stderr))
        finally:
            srv.cleanup()

    def assertError(self, r, status, msg=None):
        """r has the status and the SPEC 9 error body with the matching code."""
        ctx = "%s%r" % (msg + ": " if msg else "", r)
        self.assertEqual(r.status, status, ctx)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), ctx)
        j = r.json()
        self.assertEqual(set(j), {"error"}, ctx)
        self.assertEqual(set(j["error"]), {"code", "message"}, ctx)
        # A status SPEC 9 gives no code for is a failure, not a pass with any code.
        self.assertIn(status, ERROR_CODES, ctx)
        self.assertEqual(j["error"]["code"], ERROR_CODES[status], ctx)
        self.assertIsInstance(j["error"]["message"], str)
        self.assertTrue(j["error"]["message"], ctx)

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A throwaway PostgreSQL cluster for the tests that run against the PostgreSQL store
(issue 15): Debian's PostgreSQL, installed by scripts/deps.sh when missing, a new cluster
in a temporary directory owned by the `postgres` user (initdb and postgres refuse to run
as root), listening on 127.0.0.1 at a free port, stopped by its PID and removed at the end.
Standard library only.

As a program it wraps a test: `pglib.py run -- COMMAND...` starts a cluster, runs COMMAND
with TT_TEST_DB set to the cluster's URI, stops the cluster and exits with COMMAND's
status. When PostgreSQL cannot be had it fails (status 1) with the reason: scripts/deps.sh
installs it, and a test that needs a missing tool never skips."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get(
    "TT_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def pg_env(**extra):
    """The environment for PostgreSQL's own programs: none of the sanitizer settings an ASan
    test run gives itself (postgres with libasan preloaded hangs in initdb's `postgres -V`)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
           and not k.startswith("TT_E2E_")}
    env.update(extra)
    return env


def bin_dir():
    """Debian's versioned binaries folder (initdb and postgres are not on PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def ensure_installed():
    """Install PostgreSQL with the project's own dependency script when it is missing."""
    if bin_dir() is None:
        deps = os.path.join(SOURCE_DIR, "scripts", "deps.sh")
        subprocess.run(["sh", deps], check=False, stdout=subprocess.DEVNULL)
    return bin_dir()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL cluster. uri is postgres://postgres@127.0.0.1:PORT/postgres."""

    def __init__(self):
        self.dir = None
        self.proc = None
        self.port = None
        self.uri = None

    def _demote(self):
        """Run as `postgres` when we are root (initdb and postgres refuse root)."""
        if os.getuid() != 0:
            return None
        pw = pwd.getpwnam("postgres")

        def drop():
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        return drop

    def start(self, timeout=60):
        bindir = ensure_installed()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed and could not be installed")
        self.dir = tempfile.mkdtemp(prefix="tt-pg-")
        demote = self._demote()
        if demote is not None:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        data = os.path.join(self.dir, "data")
        env = pg_env(LC_ALL="C.UTF-8")
        subprocess.run([os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U",
                        "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       preexec_fn=demote, env=env, cwd=self.dir, timeout=timeout * 2)
        for _ in range(20):
            self.port = free_port()
            log = open(os.path.join(self.dir, "postgres.log"), "wb")
            # fsync off: the cluster dies with the test; a server under test being killed
            # is what the durability tests are about, never this cluster.
            self.proc = subprocess.Popen(
                [os.path.join(bindir, "postgres"), "-D", data, "-p", str(self.port),
                 "-h", "127.0.0.1", "-k", self.dir, "-c", "fsync=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200",
                 "-c", "shared_buffers=64MB"],
                stdout=log, stderr=log, preexec_fn=demote, env=env, cwd=self.dir)
            log.close()
            if self._wait_ready(data, timeout):
                self.uri = "postgres://postgres@127.0.0.1:%d/postgres" % self.port
                return self
            self._kill()  # most likely the port was taken in between: try another
        raise RuntimeError("PostgreSQL did not start: see %s/postgres.log" % self.dir)

    def _wait_ready(self, data, timeout):
        pidfile = os.path.join(data, "postmaster.pid")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with open(pidfile) as f:
                    lines = f.read().splitlines()
                # The eighth line of postmaster.pid is the postmaster's status.
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self):
        self._kill()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def psql(self, sql):
        """Run one SQL statement on the cluster; its output."""
        return subprocess.run([os.path.join(bin_dir(), "psql"), self.uri, "-qAtc", sql],
                              check=True, capture_output=True, text=True, env=pg_env(),
                              timeout=120).stdout

    def log(self):
        try:
            with open(os.path.join(self.dir, "postgres.log"), errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def schema_uri(base, name):
    """A URI for its own ledger inside the cluster's database: the store creates the
    schema named first in search_path when it creates a ledger."""
    sep = "&" if "?" in base else "?"
    return "%s%soptions=-csearch_path%%3D%s" % (base, sep, name)


def test_db_args(data):
    """["--db", URI] for a ledger whose data directory is data when the tests run against
    PostgreSQL (TT_TEST_DB set by `pglib.py run`), else []: a schema named after the
    directory, as tests/unit/testdb.h names it, so each directory has its own ledger."""
    base = os.environ.get("TT_TEST_DB")
    if not base:
        return []
    name = "t_" + "".join(c for c in os.path.abspath(data).lower() if c.isascii() and c.isalnum())
    return ["--db", schema_uri(base, name[:63])]


def test_db_sql(data, sql):
    """Run one SQL statement, as the superuser, on the ledger test_db_args(data) names (the
    suite runs against PostgreSQL); its output."""
    args = test_db_args(data)
    if not args:
        raise RuntimeError("test_db_sql: the suite does not run against PostgreSQL")
    return subprocess.run([os.path.join(bin_dir(), "psql"), args[1], "-v", "ON_ERROR_STOP=1",
                           "-qAtc", sql], check=True, capture_output=True, text=True,
                          env=pg_env(), timeout=120).stdout


def main(argv):
    if len(argv) < 3 or argv[1] != "run" or "--" not in argv:
        print("usage: pglib.py run -- COMMAND...", file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]
    try:
        cluster = Cluster().start()
    except (RuntimeError, OSError, KeyError, subprocess.CalledProcessError) as e:
        print("pglib: FAILED, no PostgreSQL (run scripts/deps.sh): %s" % e, file=sys.stderr)
        return 1
    # A timeout's SIGTERM still stops the cluster and removes its directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        env = dict(os.environ, TT_TEST_DB=cluster.uri)
        rc = subprocess.run(cmd, env=env).returncode
        if rc != 0:
            sys.stderr.write(cluster.log()[-4000:])
        return rc
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))

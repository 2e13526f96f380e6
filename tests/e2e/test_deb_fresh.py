#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Debian package on a fresh machine (issue 17): a new Debian root made by `debootstrap
--variant=minbase` from the archive this machine's apt uses, into which `apt-get install
./tradetrail_*.deb` (no Recommends) fetches the Depends from the archive, which shows they
are right and complete; postinst has made the system user and group tradetrail and its
state directory /var/lib/tradetrail, 0700; as that user the program runs init, append and
verify there and serves /healthz and an authenticated GET /api/events on a free loopback
port (curl, installed after the package so that it cannot bring a missing library along);
purge removes every file of the package but keeps a data directory that holds a ledger,
and its owner; installing again reuses both; purge with the directory empty removes the
directory, the user and the group. Each run makes a new root (about 50 s of it is
debootstrap) and removes it. Needs root (chroot, mount) and debootstrap, which
scripts/deps.sh installs; without them, or without the archive, it fails naming what is
missing: it never skips. /proc is mounted in the root for the test only and unmounted in
every case; the root is deleted only once findmnt shows nothing mounted below it."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.environ.get("TT_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("TT_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
SOURCES = "/etc/apt/sources.list.d/debian.sources"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
STATE = "/var/lib/tradetrail"
# A clean environment for everything run in the root: nothing of this machine's
# TRADETRAIL_* settings or locale leaks in.
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
AS_SERVICE_USER = ["setpriv", "--reuid=tradetrail", "--regid=tradetrail", "--init-groups"]


def codename():
    """The Debian release of this machine (the package's Depends come from its libraries),
    bookworm when it cannot be read."""
    fields = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                fields[key] = value.strip('"')
    except OSError:
        pass
    if fields.get("ID") == "debian" and fields.get("VERSION_CODENAME"):
        return fields["VERSION_CODENAME"]
    return "bookworm"


def mirror(suite):
    """The first URI of the deb822 stanza of this machine's sources that serves `suite`
    (Debian 12's /etc/apt/sources.list.d/debian.sources), else deb.debian.org."""
    try:
        with open(SOURCES) as f:
            text = f.read()
    except OSError:
        return DEFAULT_MIRROR
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip()] = value.split()
        if suite in fields.get("Suites", []) and "deb" in fields.get("Types", []):
            if fields.get("URIs"):
                return fields["URIs"][0]
    return DEFAULT_MIRROR


def mounts_below(root):
    """Mount points at or below root, as findmnt lists them."""
    out = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True,
                         check=True).stdout
    return [t for t in out.splitlines() if t == root or t.startswith(root + "/")]


def pids_in(root):
    """Processes whose root directory is root (what the test started in it and left)."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                link = os.readlink("/proc/%s/root" % pid)
            except OSError:
                continue
            if link == root or link.startswith(root + "/"):
                pids.append(int(pid))
    return pids


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FreshRootTest(unittest.TestCase):

    @classmethod
    def step(cls, name, start):
        cls.times.append((name, time.monotonic() - start))

    @classmethod
    def setUpClass(cls):
        cls.times = []
        cls.server = None
        cls.tmp = tempfile.mkdtemp(prefix="tt-deb-fresh-")
        cls.root = os.path.join(cls.tmp, "root")
        cls.proc = os.path.join(cls.root, "proc")
        cls.proc_mounted = False
        # Runs even when setUpClass fails part way (unlike tearDownClass).
        cls.addClassCleanup(cls.cleanup)

        t = time.monotonic()
        p = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "package-deb.sh"), BUILD_DIR,
                            cls.tmp], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("package-deb.sh failed: " + p.stderr)
        cls.deb = p.stdout.strip().splitlines()[-1]
        cls.version = subprocess.run(["dpkg-deb", "-f", cls.deb, "Version"], capture_output=True,
                                     text=True, check=True).stdout.strip()
        cls.step("package-deb.sh", t)

        t = time.monotonic()
        suite = codename()
        cls.mirror = mirror(suite)
        p = subprocess.run(["debootstrap", "--variant=minbase", suite, cls.root, cls.mirror],
                           capture_output=True, text=True, timeout=420)
        if p.returncode != 0:
            log = os.path.join(cls.root, "debootstrap", "debootstrap.log")
            tail = ""
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    tail = "".join(f.readlines()[-15:])
            raise AssertionError("debootstrap of %s from %s failed (exit %d): is the archive "
                                 "reachable?\n%s%s\n%s" % (suite, cls.mirror, p.returncode,
                                                         p.stdout[-1500:], p.stderr[-1500:],
                                                         tail))
        cls.step("debootstrap --variant=minbase " + suite, t)

        t = time.monotonic()
        # Name resolution in the root as on this machine; the package inside it.
        shutil.copyfile("/etc/resolv.conf", os.path.join(cls.root, "etc", "resolv.conf"))
        cls.deb_in_root = "/tmp/" + os.path.basename(cls.deb)
        shutil.copyfile(cls.deb, cls.root + cls.deb_in_root)
        subprocess.run(["mount", "-t", "proc", "proc", cls.proc], check=True)
        cls.proc_mounted = True
        p = cls.run_in(["apt-get", "update"], timeout=180)
        if p.returncode != 0:
            raise AssertionError("apt-get update from %s failed in the new root:\n%s%s"
                                 % (cls.mirror, p.stdout[-2000:], p.stderr[-2000:]))
        cls.step("apt-get update", t)
        t = time.monotonic()
        cls.install_output = cls.apt_install(cls.deb_in_root)
        cls.step("apt-get install ./" + os.path.basename(cls.deb), t)

    @classmethod
    def run_in(cls, args, user=False, env=None, timeout=120):
        """Runs args in the root (as the service user when user is true)."""
        full = dict(ENV, **(env or {}))
        if user:
            full["HOME"] = STATE
        cmd = ["chroot", cls.root] + (AS_SERVICE_USER if user else []) + args
        return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=timeout)

    @classmethod
    def apt_install(cls, *what):
        p = cls.run_in(["apt-get", "install", "-y", "--no-install-recommends",
                        "-o", "Dpkg::Use-Pty=0"] + list(what), timeout=300)
        if p.returncode != 0:
            raise AssertionError("apt-get install %s in a new root (archive %s) failed:\n%s%s"
                                 % (" ".join(what), cls.mirror, p.stdout[-3000:],
                                    p.stderr[-3000:]))
        return p.stdout + p.stderr

    @classmethod
    def cleanup(cls):
        """Stops what runs in the root, unmounts /proc, and deletes the root only when
        nothing is mounted below it any more (rmtree would otherwise reach into a mount)."""
        if cls.server is not None and cls.server.poll() is None:
            cls.server.kill()
            cls.server.wait(30)
        if os.path.isdir(cls.root):
            for pid in pids_in(cls.root):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if cls.proc_mounted:
            if subprocess.run(["umount", cls.proc]).returncode != 0:
                subprocess.run(["umount", "--lazy", cls.proc])
        left = mounts_below(cls.tmp)
        if left:
            raise AssertionError("still mounted, %s not removed: %s" % (cls.tmp, left))
        shutil.rmtree(cls.tmp, True)
        for name, seconds in cls.times:
            print("  %-50s %5.1f s" % (name, seconds), file=sys.stderr)

    def ok(self, args, user=False, env=None):
        p = self.run_in(args, user=user, env=env)
        self.assertEqual(p.returncode, 0, (args, p.stdout, p.stderr))
        return p.stdout

    def test_1_installed(self):
        """Depends from the archive, the account, the state directory, the files."""
        status = self.ok(["dpkg-query", "-W", "-f=${Status}", "tradetrail"])
        self.assertEqual(status, "install ok installed")
        # A fresh minbase root has none of the libraries: apt fetched them for the Depends.
        for lib in ("libcurl4", "libjansson4", "libmicrohttpd12", "libpq5", "libyaml-0-2"):
            self.assertIn(lib, self.install_output)
        passwd = self.ok(["getent", "passwd", "tradetrail"]).strip().split(":")
        self.assertLess(int(passwd[2]), 1000, "not a system uid: %s" % passwd)
        self.assertEqual(passwd[5:], [STATE, "/usr/sbin/nologin"])
        group = self.ok(["id", "-gn", "tradetrail"]).strip()
        self.assertEqual(group, "tradetrail")
        self.assertEqual(self.ok(["stat", "-c", "%a %U %G", STATE]).strip(),
                         "700 tradetrail tradetrail")
        self.assertEqual(self.ok(["tradetrail", "--version"]),
                         "tradetrail %s\n" % self.version)
        # minbase has no man-db: the page is checked as a file.
        self.ok(["test", "-s", "/usr/share/man/man1/tradetrail.1.gz"])
        unit = self.ok(["cat", "/usr/lib/systemd/system/tradetrail.service"])
        for line in ("User=tradetrail", "Group=tradetrail", "StateDirectory=tradetrail",
                     "StateDirectoryMode=0700", "Environment=TRADETRAIL_DATA=" + STATE,
                     "ExecStart=/usr/bin/tradetrail serve"):
            self.assertIn("\n" + line + "\n", unit)
        for path in self.ok(["dpkg", "-L", "tradetrail"]).splitlines():
            self.assertTrue(os.path.lexists(self.root + path), path)

    def test_2_runs_and_serves_as_the_service_user(self):
        data = ["--data", STATE]
        self.assertIn("ledger ready", self.ok(["tradetrail"] + data + ["init"], user=True))
        self.ok(["tradetrail"] + data + ["append", "--entity", "order", "--id", "o-1",
                                         "--type", "PLACED", "--actor", "bot"], user=True)
        self.assertIn("ok: 1 events", self.ok(["tradetrail"] + data + ["verify"], user=True))
        token = self.ok(["tradetrail"] + data + ["token", "create", "--role", "read", "-o",
                                                 "short"], user=True).strip()
        self.assertTrue(token.startswith("tt_"), token)
        self.assertEqual(self.ok(["stat", "-c", "%U", STATE + "/ledger.db"]).strip(),
                         "tradetrail")

        t = time.monotonic()
        self.apt_install("curl")
        self.step("apt-get install curl", t)
        port = self.start_server()
        base = "http://127.0.0.1:%d" % port
        self.assertEqual(json.loads(self.ok(["curl", "-fsS", base + "/healthz"])),
                         {"status": "ok"})
        code = self.ok(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                        base + "/api/events"])
        self.assertEqual(code, "401")
        body = json.loads(self.ok(["curl", "-fsS", "-H", "Authorization: Bearer " + token,
                                   base + "/api/events?entity=order"]))
        events = body["events"] if isinstance(body, dict) else body
        self.assertEqual([(e["seq"], e["entity_id"]) for e in events], [(1, "o-1")])
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.wait(60), 0)

    def start_server(self):
        """tradetrail serve as the service user on a free loopback port (another one if
        that port was taken in between); waits until it accepts connections."""
        log = os.path.join(self.tmp, "serve.log")
        for _ in range(3):
            port = free_port()
            env = dict(ENV, HOME=STATE)
            with open(log, "w") as out:
                type(self).server = subprocess.Popen(
                    ["chroot", self.root] + AS_SERVICE_USER +
                    ["tradetrail", "--data", STATE, "serve", "--listen", "127.0.0.1:%d" % port],
                    stdout=out, stderr=subprocess.STDOUT, env=env)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.server.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    return port
                except OSError:
                    time.sleep(0.1)
            if self.server.poll() is None:
                self.server.kill()
            self.server.wait(30)
        with open(log) as f:
            self.fail("tradetrail serve did not start: " + f.read())

    def test_3_purge(self):
        # A ledger in the state directory (test_2 leaves one; made here if it did not run).
        if self.run_in(["test", "-e", STATE + "/ledger.db"]).returncode != 0:
            self.ok(["tradetrail", "--data", STATE, "init"], user=True)
        files = [p for p in self.ok(["dpkg", "-L", "tradetrail"]).splitlines()
                 if not os.path.isdir(self.root + p)]
        uid = self.ok(["id", "-u", "tradetrail"]).strip()

        p = self.run_in(["apt-get", "purge", "-y", "tradetrail"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(STATE + " is not empty", p.stdout + p.stderr)
        self.assertFalse(os.path.lexists(self.root + "/usr/bin/tradetrail"))
        self.assertEqual([f for f in files if os.path.lexists(self.root + f)], [])
        q = self.run_in(["dpkg-query", "-W", "-f=${Status}", "tradetrail"])
        self.assertNotIn("installed", q.stdout.replace("not-installed", ""))
        # The ledger and its owner stay.
        self.ok(["test", "-s", STATE + "/ledger.db"])
        self.assertEqual(self.ok(["id", "-u", "tradetrail"]).strip(), uid)

        # Installed again: postinst keeps the account and the directory, and the kept
        # ledger verifies.
        self.apt_install(self.deb_in_root)
        self.assertEqual(self.ok(["id", "-u", "tradetrail"]).strip(), uid)
        self.assertEqual(self.ok(["stat", "-c", "%a %U %G", STATE]).strip(),
                         "700 tradetrail tradetrail")
        self.ok(["tradetrail", "--data", STATE, "verify"], user=True)

        # With the directory emptied, purge removes it, the user and the group.
        self.ok(["find", STATE, "-mindepth", "1", "-delete"])
        p = self.run_in(["apt-get", "purge", "-y", "tradetrail"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.lexists(self.root + STATE))
        self.assertNotEqual(self.run_in(["getent", "passwd", "tradetrail"]).returncode, 0)
        self.assertNotEqual(self.run_in(["getent", "group", "tradetrail"]).returncode, 0)
        self.assertFalse(os.path.lexists(self.root + "/usr/bin/tradetrail"))


if __name__ == "__main__":
    # scripts/deps.sh installs debootstrap; without it, or without root, this suite fails.
    missing = [t for t in ("debootstrap", "chroot", "findmnt", "dpkg-deb") if not shutil.which(t)]
    if missing:
        sys.exit("missing %s: run scripts/deps.sh (package debootstrap)" % ", ".join(missing))
    if os.geteuid() != 0:
        sys.exit("test_deb_fresh needs root: debootstrap, chroot and mount")
    unittest.main()

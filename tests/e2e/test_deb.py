#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Debian package (issue 17 item 3, scripts/package-deb.sh, make deb): built from this
build, its control file names the package, version and architecture and Depends on the
shared-library packages the program needs, each of which is installed here; its contents
are the install tree under /usr with compressed man pages and units naming /usr/bin; and
the program extracted from it (dpkg -x, not dpkg -i: no root, no dpkg database) prints its
version and runs init, log and verify in a fresh data directory, the dashboard served from
the package's own share/tradetrail/web; and dpkg itself installs it into a private root
(dependencies checked against this machine's packages; the maintainer scripts, run
outside that root, leave this machine's accounts alone), where it runs, and purges it.
test_deb_fresh installs it with apt on a new Debian root.
Without dpkg-deb or dpkg-shlibdeps (package dpkg-dev, which scripts/deps.sh installs) it
fails, naming them: a test that needs a missing tool never skips."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get("TT_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("TT_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))


class DebTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tt-deb-")
        p = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "package-deb.sh"), BUILD_DIR,
                            cls.tmp], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("package-deb.sh failed: " + p.stderr)
        cls.deb = p.stdout.strip().splitlines()[-1]
        cls.root = os.path.join(cls.tmp, "x")
        subprocess.run(["dpkg", "-x", cls.deb, cls.root], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def field(self, name):
        return subprocess.run(["dpkg-deb", "-f", self.deb, name], capture_output=True,
                              text=True, check=True).stdout.strip()

    def test_control(self):
        version = subprocess.run([os.path.join(BUILD_DIR, "tradetrail"), "--version"],
                                 capture_output=True, text=True).stdout.split()[-1]
        self.assertEqual(self.field("Package"), "tradetrail")
        self.assertEqual(self.field("Version"), version)
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
        self.assertEqual(self.field("Architecture"), arch)
        self.assertEqual(os.path.basename(self.deb), "tradetrail_%s_%s.deb" % (version, arch))
        info = subprocess.run(["dpkg-deb", "--info", self.deb], capture_output=True, text=True,
                              check=True).stdout
        self.assertIn("Description: tamper-evident audit ledger", info)
        # postinst makes the units' user and state directory, postrm undoes it on purge
        # (test_deb_fresh runs them).
        for script in ("postinst", "postrm"):
            self.assertRegex(info, r"\n\s+\d+ bytes,\s+\d+ lines\s+\*\s+%s\s" % script)

    def test_depends_are_the_libraries_and_are_installed(self):
        depends = [d.strip() for d in self.field("Depends").split(",")]
        names = [re.match(r"[a-z0-9.+-]+", d).group(0) for d in depends]
        for want in ("adduser", "libc6", "libsqlite3-0", "libcurl", "libjansson", "libmicrohttpd",
                     "libpq5", "libssl", "libyaml"):
            self.assertTrue(any(n.startswith(want) for n in names), (want, names))
        for n in names:  # this machine could install the package
            p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", n], capture_output=True,
                               text=True)
            self.assertIn("install ok installed", p.stdout, n)

    def test_contents(self):
        listing = subprocess.run(["dpkg-deb", "--contents", self.deb], capture_output=True,
                                 text=True, check=True).stdout
        paths = [line.split()[5].lstrip(".") for line in listing.splitlines()]
        for want in ("/usr/bin/tradetrail", "/usr/include/tradetrail.h",
                     "/usr/lib/libtradetrail.a", "/usr/lib/libtradetrail.so.0",
                     "/usr/lib/pkgconfig/tradetrail.pc", "/usr/share/man/man1/tradetrail.1.gz",
                     "/usr/share/man/man1/tradetrail-verify.1.gz",
                     "/usr/share/bash-completion/completions/tradetrail",
                     "/usr/share/zsh/vendor-completions/_tradetrail",
                     "/usr/lib/systemd/system/tradetrail.service",
                     "/usr/share/tradetrail/web/index.html",
                     "/usr/share/doc/tradetrail/copyright"):
            self.assertIn(want, paths)
        self.assertFalse([p for p in paths if p.endswith(".1")], "uncompressed man pages")
        self.assertFalse([p for p in paths if p != "/" and not p.startswith("/usr")],
                         "files outside /usr")
        owners = {line.split()[1] for line in listing.splitlines()}
        self.assertEqual(owners, {"root/root"})
        with open(os.path.join(self.root, "usr/lib/systemd/system/tradetrail.service")) as f:
            self.assertIn("ExecStart=/usr/bin/tradetrail serve", f.read())
        with open(os.path.join(self.root, "usr/lib/pkgconfig/tradetrail.pc")) as f:
            self.assertTrue(f.read().startswith("prefix=/usr\n"))

    def test_extracted_program_runs(self):
        binary = os.path.join(self.root, "usr/bin/tradetrail")
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout, "tradetrail %s\n" % self.field("Version"))
        env = dict(os.environ, TRADETRAIL_DATA=os.path.join(self.tmp, "data"))
        for args in (["init"], ["log", "package smoke test", "--source", "deb"],
                     ["append", "--entity", "order", "--id", "o-1", "--type", "PLACED",
                      "--actor", "bot"], ["verify"]):
            p = subprocess.run([binary] + args, capture_output=True, text=True, env=env)
            self.assertEqual(p.returncode, 0, (args, p.stdout, p.stderr))
        p = subprocess.run([binary, "show", "-o", "json"], capture_output=True, text=True,
                           env=env)
        self.assertEqual(len(p.stdout.splitlines()), 2, p.stdout)
        man = subprocess.run(["man", "-l", os.path.join(self.root,
                                                        "usr/share/man/man1/tradetrail-log.1.gz")],
                             capture_output=True, text=True) if shutil.which("man") else None
        if man is not None:
            self.assertIn("tradetrail log MESSAGE", man.stdout)

    def test_dpkg_installs_and_purges_in_a_private_root(self):
        """dpkg -i into an empty root whose status database holds only the packages the
        Depends name, copied from this machine's: dpkg itself checks the dependencies
        (with their versions), unpacks, configures; then dpkg -P removes every file."""
        root = os.path.join(self.tmp, "root")
        admin = os.path.join(root, "var/lib/dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        names = [re.match(r"[a-z0-9.+-]+", d.strip()).group(0)
                 for d in self.field("Depends").split(",")]
        status = subprocess.run(["dpkg-query", "-s"] + names, capture_output=True, text=True,
                                check=True).stdout
        with open(os.path.join(admin, "status"), "w") as f:
            f.write(status.strip() + "\n\n")
        dpkg = ["dpkg", "--force-not-root", "--force-script-chrootless", "--root=" + root]
        p = subprocess.run(dpkg + ["-i", self.deb], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # Run outside the root (chrootless), postinst touches no account of this machine.
        self.assertIn("DPKG_ROOT is set", p.stdout + p.stderr)
        p = subprocess.run(dpkg + ["-s", "tradetrail"], capture_output=True, text=True)
        self.assertIn("Status: install ok installed", p.stdout)
        binary = os.path.join(root, "usr/bin/tradetrail")
        env = dict(os.environ, TRADETRAIL_DATA=os.path.join(self.tmp, "dpkg-data"))
        for args in (["init"], ["test"], ["verify"]):
            p = subprocess.run([binary] + args, capture_output=True, text=True, env=env)
            self.assertEqual(p.returncode, 0, (args, p.stdout, p.stderr))
        p = subprocess.run(dpkg + ["-P", "tradetrail"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        left = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(root, "usr"))
                for f in files]
        self.assertEqual(left, [])


if __name__ == "__main__":
    # scripts/deps.sh installs dpkg-dev; without it this suite fails, it never skips.
    if not shutil.which("dpkg-deb") or not shutil.which("dpkg-shlibdeps"):
        sys.exit("dpkg-deb or dpkg-shlibdeps missing: run scripts/deps.sh (package dpkg-dev)")
    unittest.main()

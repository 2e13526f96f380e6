#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`make install` and `make uninstall` (SPEC 1, 2; issue 17 items 3 and 4): the build's
install step, staged into a temporary DESTDIR, puts every file where it belongs (program,
static and shared library, header, pkg-config file, a man page per command, bash and zsh
completion, systemd units naming the installed program, the dashboard, the docs);
`pkg-config --cflags --libs tradetrail` against the staged tree lets a small C program
compile, link (shared and static) and append to a ledger the installed program then
verifies; the man pages carry each command's --help text; the completion files name every
command of the CLI's table; and scripts/uninstall.sh removes everything install wrote."""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get("TT_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("TT_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
MANIFEST = os.path.join(BUILD_DIR, "install_manifest.txt")

PROGRAM = r"""
#include <stdio.h>
#include <tradetrail.h>

/* Append one event to a new ledger in argv[1] through the installed library. */
int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    tt_open_options o = {.data_dir = argv[1], .create = 1};
    tt_ledger *l = NULL;
    char err[256] = "";
    int rc = tt_ledger_open(&o, &l, err, sizeof err);
    if (rc != TT_OK) {
        fprintf(stderr, "open: %s: %s\n", tt_strerror(rc), err);
        return 1;
    }
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "system";
    ev.entity_id = "installed-library";
    ev.event_type = "TEST";
    ev.actor = "test_install";
    tt_append_result r;
    rc = tt_ledger_append(l, &ev, 1, &r);
    if (rc != TT_OK) {
        fprintf(stderr, "append: %s: %s\n", tt_strerror(rc), tt_ledger_errmsg(l));
        tt_ledger_close(l);
        return 1;
    }
    printf("seq=%lld version=%s\n", (long long)r.seq, TT_VERSION);
    tt_ledger_close(l);
    return 0;
}
"""


def cache_value(key):
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split("=", 1)[1].strip()
    raise KeyError(key)


def cli_commands():
    """The command names of the table in cli/main.c, read from the source."""
    with open(os.path.join(SOURCE_DIR, "cli", "main.c")) as f:
        text = f.read()
    table = text[text.index("static const command commands[]"):]
    table = table[:table.index("};")]
    names = re.findall(r'\{"([a-z][a-z-]*)",\s*cmd_', table)
    assert names, "no command table in cli/main.c"
    return names


def install(destdir):
    """cmake --install into destdir; BUILD_DIR's manifest is kept as it was."""
    saved = None
    if os.path.exists(MANIFEST):
        with open(MANIFEST) as f:
            saved = f.read()
    try:
        subprocess.run(["cmake", "--install", BUILD_DIR], check=True, capture_output=True,
                       env=dict(os.environ, DESTDIR=destdir))
        with open(MANIFEST) as f:
            manifest = [l for l in f.read().splitlines() if l]
    finally:
        if saved is None:
            os.remove(MANIFEST)
        else:
            with open(MANIFEST, "w") as f:
                f.write(saved)
    return manifest


def all_files(root):
    out = []
    for d, _, files in os.walk(root):
        out.extend(os.path.join(d, f) for f in files)
    return sorted(out)


class InstallTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tt-install-")
        cls.destdir = os.path.join(cls.tmp, "stage")
        cls.prefix = cache_value("CMAKE_INSTALL_PREFIX")
        cls.libdir = cache_value("CMAKE_INSTALL_LIBDIR")
        cls.root = cls.destdir + cls.prefix
        cls.manifest = install(cls.destdir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def test_every_file_is_installed(self):
        expected = ["bin/tradetrail", "include/tradetrail.h",
                    self.libdir + "/libtradetrail.a", self.libdir + "/libtradetrail.so",
                    self.libdir + "/libtradetrail.so.0", self.libdir + "/pkgconfig/tradetrail.pc",
                    "share/man/man1/tradetrail.1",
                    "share/bash-completion/completions/tradetrail",
                    "share/doc/tradetrail/README.md", "share/doc/tradetrail/OPERATIONS.md"]
        expected += ["share/man/man1/tradetrail-%s.1" % c for c in cli_commands()]
        expected += ["lib/systemd/system/" + os.path.basename(u)
                     for u in glob.glob(os.path.join(SOURCE_DIR, "deploy/systemd/*"))
                     if u.endswith((".service", ".timer"))]
        for src in all_files(os.path.join(SOURCE_DIR, "web")):
            expected.append("share/tradetrail/web/" +
                            os.path.relpath(src, os.path.join(SOURCE_DIR, "web")))
        missing = [e for e in expected if not os.path.lexists(self.path(e))]
        self.assertEqual(missing, [])
        self.assertTrue(glob.glob(self.path("share/zsh/*/_tradetrail")))
        self.assertTrue(os.access(self.path("bin/tradetrail"), os.X_OK))
        # The manifest lists exactly what is in the stage: uninstall can rely on it.
        self.assertEqual(sorted(self.destdir + m for m in self.manifest), all_files(self.destdir))

    def test_installed_program_runs(self):
        binary = self.path("bin/tradetrail")
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
        self.assertRegex(out.stdout, r"^tradetrail \d+\.\d+\.\d+\n$")
        data = os.path.join(self.tmp, "cli-data")
        env = dict(os.environ, TRADETRAIL_DATA=data)
        for args in (["init"], ["log", "installed program works"], ["verify"]):
            p = subprocess.run([binary] + args, capture_output=True, text=True, env=env)
            self.assertEqual(p.returncode, 0, (args, p.stdout, p.stderr))

    def pkg_config(self, *args):
        env = dict(os.environ, PKG_CONFIG_PATH=self.path(self.libdir + "/pkgconfig"),
                   PKG_CONFIG_SYSROOT_DIR=self.destdir)
        p = subprocess.run(["pkg-config"] + list(args) + ["tradetrail"], capture_output=True,
                           text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    def test_pkg_config_compiles_links_and_runs(self):
        flags = self.pkg_config("--cflags", "--libs")
        self.assertIn("-I" + self.path("include"), flags)
        self.assertIn("-L" + self.path(self.libdir), flags)
        src = os.path.join(self.tmp, "prog.c")
        with open(src, "w") as f:
            f.write(PROGRAM)
        # A sanitizer build's library needs its runtime in the program that links it.
        try:
            sanitize = cache_value("TT_SANITIZE") == "ON"
        except KeyError:
            sanitize = False
        cc = ["cc", "-std=c17", "-Wall", "-Werror"] + (
            ["-fsanitize=address,undefined"] if sanitize else [])
        for kind in ("shared", "static"):
            exe = os.path.join(self.tmp, "prog-" + kind)
            if kind == "shared":
                cmd = cc + [src, "-o", exe] + flags
            else:
                # The archive with its dependencies as shared libraries: the modules of
                # Requires.private and Libs.private, as a static-library user links them.
                with open(self.path(self.libdir + "/pkgconfig/tradetrail.pc")) as f:
                    pc = f.read()
                mods = re.search(r"^Requires.private:(.*)$", pc, re.M).group(1).split()
                private = re.search(r"^Libs.private:(.*)$", pc, re.M).group(1).split()
                deps = subprocess.run(["pkg-config", "--libs"] + mods, capture_output=True,
                                      text=True, check=True).stdout.split()
                cmd = (cc + [src, "-o", exe] +
                       self.pkg_config("--cflags") +
                       [self.path(self.libdir + "/libtradetrail.a")] + deps + private)
            p = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, (cmd, p.stderr))
            data = os.path.join(self.tmp, "lib-data-" + kind)
            env = dict(os.environ, LD_LIBRARY_PATH=self.path(self.libdir))
            p = subprocess.run([exe, data], capture_output=True, text=True, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("seq=1 ", p.stdout)
            if kind == "shared":
                ldd = subprocess.run(["ldd", exe], capture_output=True, text=True, env=env)
                self.assertIn(self.path(self.libdir + "/libtradetrail.so.0"), ldd.stdout)
            # The installed program verifies what the installed library wrote.
            p = subprocess.run([self.path("bin/tradetrail"), "--data", data, "verify"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_pkg_config_file(self):
        with open(self.path(self.libdir + "/pkgconfig/tradetrail.pc")) as f:
            pc = f.read()
        self.assertIn("prefix=%s\n" % self.prefix, pc)
        self.assertIn("libdir=${prefix}/%s\n" % self.libdir, pc)
        version = subprocess.run([self.path("bin/tradetrail"), "--version"], capture_output=True,
                                 text=True).stdout.split()[-1]
        self.assertEqual(self.pkg_config("--modversion"), [version])

    def test_man_pages_carry_the_help(self):
        binary = self.path("bin/tradetrail")
        env = dict(os.environ, TRADETRAIL_DATA=os.path.join(self.tmp, "none"))
        for cmd in cli_commands():
            page = self.path("share/man/man1/tradetrail-%s.1" % cmd)
            with open(page) as f:
                roff = f.read()
            usage = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True,
                                   env=env).stdout.splitlines()[0]
            self.assertIn(usage[len("usage: "):].replace("-", "\\-"), roff, cmd)
            self.assertIn(".TH TRADETRAIL\\-%s 1" % cmd.upper().replace("-", "\\-"), roff)
        if shutil.which("man"):
            p = subprocess.run(["man", "-l", self.path("share/man/man1/tradetrail-verify.1")],
                               capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("tradetrail verify [--since-checkpoint FILE]", p.stdout)
            self.assertNotIn("warning", p.stderr)

    def test_units_name_the_installed_program(self):
        for unit in glob.glob(self.path("lib/systemd/system/*.service")):
            with open(unit) as f:
                text = f.read()
            m = re.search(r"^ExecStart=(\S+)", text, re.M)
            self.assertIsNotNone(m, unit)
            self.assertEqual(m.group(1), self.prefix + "/bin/tradetrail", unit)


class PrefixTest(unittest.TestCase):
    """`cmake --install --prefix P` (what scripts/package-deb.sh does) writes P into the
    files that name installed paths, whatever prefix the build was configured with."""

    def test_install_time_prefix(self):
        tmp = tempfile.mkdtemp(prefix="tt-prefix-")
        try:
            saved = open(MANIFEST).read() if os.path.exists(MANIFEST) else None
            try:
                subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", "/opt/tt"],
                               check=True, capture_output=True, env=dict(os.environ, DESTDIR=tmp))
            finally:
                if saved is None:
                    os.remove(MANIFEST)
                else:
                    with open(MANIFEST, "w") as f:
                        f.write(saved)
            root = tmp + "/opt/tt"
            libdir = cache_value("CMAKE_INSTALL_LIBDIR")
            with open(os.path.join(root, libdir, "pkgconfig/tradetrail.pc")) as f:
                self.assertTrue(f.read().startswith("prefix=/opt/tt\n"))
            with open(os.path.join(root, "lib/systemd/system/tradetrail.service")) as f:
                unit = f.read()
            self.assertIn("ExecStart=/opt/tt/bin/tradetrail serve", unit)
            self.assertIn("file:///opt/tt/share/doc/tradetrail/OPERATIONS.md", unit)
            self.assertTrue(os.path.exists(os.path.join(root, "share/zsh/site-functions/_tradetrail")))
            self.assertTrue(os.path.exists(os.path.join(root, "bin/tradetrail")))
        finally:
            shutil.rmtree(tmp, True)


class CompletionTest(unittest.TestCase):
    """The generated completion files (build/completion) know every command."""

    BASH = os.path.join(BUILD_DIR, "completion", "tradetrail.bash")
    ZSH = os.path.join(BUILD_DIR, "completion", "_tradetrail")

    def complete(self, *words):
        script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _tradetrail; '
                  'printf "%%s\\n" "${COMPREPLY[@]}"' %
                  (self.BASH, " ".join("'%s'" % w for w in words), len(words) - 1))
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    def test_every_command_is_completed(self):
        with open(self.BASH) as f:
            bash = f.read()
        with open(self.ZSH) as f:
            zsh = f.read()
        top = self.complete("tradetrail", "")
        for cmd in cli_commands():
            self.assertIn(cmd, top)
            self.assertIn("        %s)" % cmd, bash)
            self.assertRegex(zsh, r"'%s:[^']+'" % re.escape(cmd))
            self.assertIn("        %s)" % cmd, zsh)

    def test_bash_completes_subcommands_and_options(self):
        self.assertEqual(self.complete("tradetrail", "strategy", "sw"), ["swap"])
        self.assertEqual(sorted(self.complete("tradetrail", "token", "")),
                         ["create", "list", "revoke"])
        self.assertIn("--since-checkpoint", self.complete("tradetrail", "verify", "--s"))
        self.assertIn("--grep", self.complete("tradetrail", "--data", "/x", "show", "--g"))
        self.assertIn("--old-score", self.complete("tradetrail", "strategy", "swap", "--o"))

    def test_zsh_offers_subcommands_and_options(self):
        # scripts/deps.sh installs zsh; without it this test fails rather than skips.
        self.assertTrue(shutil.which("zsh"), "zsh is missing: run scripts/deps.sh")
        # compadd and _describe stubbed to print their candidates (zsh filters by PREFIX).
        def offered(*words):
            script = ('compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }; '
                      '_describe() { print -l -- ${(P)4}; }; words=(%s); CURRENT=%d; '
                      'PREFIX=%s; source %s' % (" ".join("'%s'" % w for w in words), len(words),
                                                words[-1], self.ZSH))
            p = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout.split("\n")
        self.assertIn("swap", offered("tradetrail", "strategy", "sw"))
        self.assertIn("--since-checkpoint", offered("tradetrail", "verify", "--s"))
        self.assertIn("--grep", offered("tradetrail", "--data", "/x", "show", "--g"))
        top = offered("tradetrail", "")
        for cmd in cli_commands():
            self.assertTrue(any(line.startswith(cmd + ":") for line in top), cmd)

    def test_scripts_parse(self):
        p = subprocess.run(["bash", "-n", self.BASH], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        if shutil.which("zsh"):
            p = subprocess.run(["zsh", "-n", self.ZSH], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)


class UninstallTest(unittest.TestCase):

    def test_uninstall_removes_everything(self):
        tmp = tempfile.mkdtemp(prefix="tt-uninstall-")
        try:
            destdir = os.path.join(tmp, "stage")
            manifest = install(destdir)
            # Uninstall from a copy of the build's manifest (the build's own is left alone),
            # written as CMake writes it: no newline after the last path.
            fake_build = os.path.join(tmp, "build")
            os.mkdir(fake_build)
            with open(os.path.join(fake_build, "install_manifest.txt"), "w") as f:
                f.write("\n".join(manifest))
            p = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "uninstall.sh"), fake_build],
                               capture_output=True, text=True, env=dict(os.environ, DESTDIR=destdir))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(all_files(destdir), [])
            left = [d for d, _, _ in os.walk(destdir) if "tradetrail" in os.path.basename(d)]
            self.assertEqual(left, [])
        finally:
            shutil.rmtree(tmp, True)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks of deploy/ (SPEC 7, issue 5 item 6): the user-level crontab installer, run twice
against a temporary crontab (a fake crontab command, and --file), leaves one entry per job
and --remove takes them out; every Kubernetes manifest parses and the CronJobs run the
seed's schedules with the cron secret from a Secret; the Grafana dashboard parses and uses
only metric names the server exports (server/metrics.c and a live GET /metrics); the
systemd units pass `systemd-analyze verify` (or, without it, carry the required keys)."""

import configparser
import datetime
import glob
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

try:
    import yaml  # python3-yaml, installed by scripts/deps.sh
except ImportError:  # pragma: no cover
    yaml = None

DEPLOY = os.path.join(T.SOURCE_DIR, "deploy")
INSTALLER = os.path.join(DEPLOY, "install-cron.sh")
SECRET = "t0p-s3cret-cron-value"
JOBS = {"daily-summary": "0 0 * * *", "feedback-sync": "0 2 * * *"}
SPEC_METRICS = ["tradetrail_events_appended_total", "tradetrail_append_duration_seconds",
                "tradetrail_tree_size", "tradetrail_checkpoint_age_seconds",
                "tradetrail_outbox_pending", "tradetrail_notifications_sent_total",
                "tradetrail_http_requests_total"]

FAKE_CRONTAB = """#!/bin/sh
# A stand-in for crontab(1): the table lives in $FAKE_CRONTAB_FILE.
if [ "$1" = -l ]; then
    [ -f "$FAKE_CRONTAB_FILE" ] || { echo "no crontab for $USER" >&2; exit 1; }
    exec cat "$FAKE_CRONTAB_FILE"
fi
[ $# -eq 1 ] || { echo "usage: crontab FILE | -l" >&2; exit 1; }
if [ "$1" = - ]; then cat > "$FAKE_CRONTAB_FILE"; else cat "$1" > "$FAKE_CRONTAB_FILE"; fi
"""


class CrontabInstallerTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tt-cron-")
        self.table = os.path.join(self.tmp, "crontab.txt")
        self.fake = os.path.join(self.tmp, "fake-crontab")
        with open(self.fake, "w") as f:
            f.write(FAKE_CRONTAB)
        os.chmod(self.fake, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, True)

    def run_installer(self, args, secret=SECRET, crontab=True, expect=0):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("XDG_", "TRADETRAIL_", "CRONTAB"))}
        env["HOME"] = self.tmp
        env["FAKE_CRONTAB_FILE"] = self.table
        if crontab:
            env["CRONTAB"] = self.fake
        if secret is not None:
            env["TRADETRAIL_CRON_SECRET"] = secret
        p = subprocess.run(["sh", INSTALLER] + list(args), capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, expect, p.stderr)
        self.assertNotIn(SECRET, p.stdout + p.stderr)
        return p

    def read_table(self):
        with open(self.table) as f:
            return f.read()

    def tagged(self, text):
        """{job: [lines]} of the installer's entries."""
        out = {}
        for line in text.splitlines():
            m = re.search(r"# tradetrail:([a-z-]+)$", line)
            if m:
                out.setdefault(m.group(1), []).append(line)
        return out

    def check_installed(self, text, mode="http"):
        jobs = self.tagged(text)
        self.assertEqual(sorted(jobs), sorted(JOBS), text)
        for job, schedule in JOBS.items():
            self.assertEqual(len(jobs[job]), 1, text)
            line = jobs[job][0]
            self.assertTrue(line.startswith(schedule + " "), line)
            cmd = line[len(schedule) + 1:]
            self.assertNotIn(SECRET, cmd)
            self.assertNotRegex(cmd, r"(?<!\\)%")  # cron would cut the line at a bare %
            p = subprocess.run(["sh", "-n", "-c", cmd.replace("\\%", "%")],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, "%s: %s" % (cmd, p.stderr))
            if mode == "http":
                self.assertIn("curl -fsS", cmd)
                self.assertIn("-X POST", cmd)
                self.assertIn("-H @", cmd)  # the header from a file, not argv
                want = "/api/cron/daily-summary" if job == "daily-summary" else "/api/ai/train"
                self.assertIn(want, cmd)
            else:
                want = ("summary --date yesterday --notify" if job == "daily-summary"
                        else "feedback sync")
                self.assertIn(want, cmd)
        self.assertNotIn(SECRET, text)

    def test_fake_crontab_twice_then_remove(self):
        with open(self.table, "w") as f:
            f.write('MAILTO=""\n5 4 * * 1 echo "keep me"\n')
        self.run_installer([])
        first = self.read_table()
        self.run_installer([])
        second = self.read_table()
        self.check_installed(second)
        self.assertEqual(first, second)
        self.assertIn('5 4 * * 1 echo "keep me"', second)
        self.assertEqual(second.count("MAILTO"), 1)
        # The header file: the secret, mode 0600.
        header = os.path.join(self.tmp, ".config", "tradetrail", "cron-auth.header")
        with open(header) as f:
            self.assertEqual(f.read(), "X-Cron-Auth: %s\n" % SECRET)
        self.assertEqual(stat.S_IMODE(os.stat(header).st_mode), 0o600)

        self.run_installer(["--remove"], secret=None)
        text = self.read_table()
        self.assertEqual(self.tagged(text), {})
        self.assertNotIn("tradetrail", text)
        self.assertEqual(text, 'MAILTO=""\n5 4 * * 1 echo "keep me"\n')
        self.run_installer(["--remove"], secret=None)  # idempotent too
        self.assertEqual(self.read_table(), text)

    def test_no_crontab_yet(self):
        self.run_installer(["--url", "http://127.0.0.1:9/"])
        text = self.read_table()
        self.check_installed(text)
        self.assertIn("'http://127.0.0.1:9/api/ai/train'", text)

    def test_file_option_and_cli_mode(self):
        args = ["--file", self.table, "--mode", "cli", "--bin", "/opt/tt 1/tradetrail",
                "--data", "/srv/trade%trail"]
        self.run_installer(args, secret=None, crontab=False)
        self.run_installer(args, secret=None, crontab=False)
        text = self.read_table()
        self.check_installed(text, mode="cli")
        self.assertIn("'/opt/tt 1/tradetrail' --data '/srv/trade\\%trail'", text)
        self.run_installer(["--file", self.table, "--remove"], secret=None, crontab=False)
        self.assertEqual(self.read_table(), "")

    def test_http_mode_needs_a_secret(self):
        p = self.run_installer([], secret=None, expect=2)
        self.assertIn("TRADETRAIL_CRON_SECRET", p.stderr)
        self.assertFalse(os.path.exists(self.table))

    def test_bad_schedule_rejected(self):
        self.run_installer(["--summary-at", "0 0 * *"], expect=2)

    def test_script_is_clean(self):
        self.assertEqual(subprocess.run(["sh", "-n", INSTALLER]).returncode, 0)
        if shutil.which("shellcheck"):
            p = subprocess.run(["shellcheck", INSTALLER], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout)


@unittest.skipIf(yaml is None, "python3-yaml is missing (scripts/deps.sh installs it)")
class KubernetesManifestTest(unittest.TestCase):

    def load_all(self, folder="k8s"):
        docs = {}
        base = os.path.join(DEPLOY, folder)
        files = sorted(glob.glob(os.path.join(base, "*.yaml")) +
                       glob.glob(os.path.join(base, "*.yml")))
        self.assertTrue(files)
        for path in files:
            with open(path) as f:
                for d in yaml.safe_load_all(f):
                    if d is not None:
                        self.assertIn("kind", d, path)
                        self.assertIn("apiVersion", d, path)
                        docs.setdefault(d["kind"], []).append((path, d))
        return docs

    def test_parse_and_shape(self):
        docs = self.load_all()
        for kind in ("Deployment", "Service", "PersistentVolumeClaim", "CronJob", "Secret",
                     "ConfigMap"):
            self.assertIn(kind, docs)
        secret = docs["Secret"][0][1]
        keys = set(secret["stringData"])
        # The SQLite example: no database-url (deploy/k8s-postgres has one).
        self.assertEqual(keys, {"cron-secret"})

        cronjobs = {d["metadata"]["name"]: d for _, d in docs["CronJob"]}
        self.assertEqual(cronjobs["tradetrail-daily-summary"]["spec"]["schedule"], "0 0 * * *")
        self.assertEqual(cronjobs["tradetrail-feedback-sync"]["spec"]["schedule"], "0 2 * * *")
        for name, cj in cronjobs.items():
            self.assertEqual(cj["spec"]["concurrencyPolicy"], "Forbid")
            pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            env = pod["containers"][0]["env"]
            refs = [e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e]
            self.assertTrue(refs, name)
            for r in refs:
                self.assertEqual(r["name"], secret["metadata"]["name"])
                self.assertIn(r["key"], keys)
            script = " ".join(pod["containers"][0]["args"])
            self.assertIn("X-Cron-Auth", script)
            self.assertNotIn("CHANGE-ME", json.dumps(cj))

        dep = docs["Deployment"][0][1]
        self.assertEqual(dep["spec"]["replicas"], 1)
        pod = dep["spec"]["template"]["spec"]
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
                  if "persistentVolumeClaim" in v]
        self.assertEqual(claims, [docs["PersistentVolumeClaim"][0][1]["metadata"]["name"]])
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        db = env["TRADETRAIL_DB"]["valueFrom"]["secretKeyRef"]
        self.assertEqual((db["key"], db.get("optional")), ("database-url", True))
        self.assertEqual(env["TRADETRAIL_CRON_SECRET"]["valueFrom"]["secretKeyRef"]["key"],
                         "cron-secret")

        for path, k in docs.get("Kustomization", []):
            for res in k["resources"]:
                self.assertTrue(os.path.exists(os.path.join(os.path.dirname(path), res)), res)


def json_patch(doc, ops):
    """Apply RFC 6902 add / replace / remove operations (what kustomize's patches use)."""
    for op in ops:
        *parents, last = [p.replace("~1", "/").replace("~0", "~")
                          for p in op["path"].lstrip("/").split("/")]
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            i = len(node) if last == "-" else int(last)
            if op["op"] == "add":
                node.insert(i, op["value"])
            elif op["op"] == "replace":
                node[i] = op["value"]
            else:
                del node[i]
        elif op["op"] == "remove":
            del node[last]
        else:
            if op["op"] == "replace":
                assert last in node, op["path"]
            node[last] = op["value"]
    return doc


class KubernetesPostgresTest(unittest.TestCase):
    """deploy/k8s-postgres (issue 15): the base rendered with the overlay's patches as
    kustomize applies them, checked for what several servers on one database need."""

    def test_overlay_shape(self):
        import yaml
        base = KubernetesManifestTest.load_all(self)
        over = os.path.join(DEPLOY, "k8s-postgres")
        with open(os.path.join(over, "kustomization.yaml")) as f:
            kz = yaml.safe_load(f)
        self.assertEqual(kz["resources"], ["../k8s"])
        rendered = {k: [d for _, d in v] for k, v in base.items() if k != "Kustomization"}
        for p in kz["patches"]:
            patch = yaml.safe_load(p["patch"])
            targets = rendered[p["target"]["kind"]]
            if isinstance(patch, dict) and patch.get("$patch") == "delete":
                rendered[p["target"]["kind"]] = [d for d in targets if d["metadata"]["name"]
                                                 != p["target"]["name"]]
                continue
            for d in targets:
                if d["metadata"]["name"] == p["target"]["name"]:
                    json_patch(d, patch)
        self.assertEqual(rendered["PersistentVolumeClaim"], [])  # the store is the database
        dep = rendered["Deployment"][0]
        self.assertGreaterEqual(dep["spec"]["replicas"], 2)
        self.assertEqual(dep["spec"]["strategy"]["type"], "RollingUpdate")
        pod = dep["spec"]["template"]["spec"]
        self.assertFalse([v for v in pod["volumes"] if "persistentVolumeClaim" in v])
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        db = env["TRADETRAIL_DB"]["valueFrom"]["secretKeyRef"]
        self.assertEqual((db["name"], db["key"], db["optional"]),
                         ("tradetrail-secrets", "database-url", False))
        data = pod["containers"][0]["args"][pod["containers"][0]["args"].index("--data") + 1]
        self.check_key_copy(pod, data)
        with open(os.path.join(over, "secret.example.yaml")) as f:
            secrets = {d["metadata"]["name"]: d for d in yaml.safe_load_all(f)}
        keys = set(secrets["tradetrail-secrets"]["stringData"])
        self.assertEqual(keys, {"cron-secret", "database-url", "owner-database-url"})
        urls = secrets["tradetrail-secrets"]["stringData"]
        # Roles: the servers do not run as the role that owns (and could alter) the schema.
        self.assertNotEqual(urls["database-url"].split("@")[0],
                            urls["owner-database-url"].split("@")[0])
        self.assertIn("sslmode=verify-full", urls["database-url"])
        self.assertIn("signing.key", secrets["tradetrail-signing-key"]["stringData"])
        for cj in rendered["CronJob"]:
            spec = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            for e in spec["containers"][0]["env"]:
                if "valueFrom" in e:
                    self.assertIn(e["valueFrom"]["secretKeyRef"]["key"], keys)
        with open(os.path.join(over, "job-schema.yaml")) as f:
            job = yaml.safe_load(f)
        jpod = job["spec"]["template"]["spec"]
        args = jpod["containers"][0]["args"]
        self.assertEqual(args[-1], "init")
        jenv = {e["name"]: e for e in jpod["containers"][0]["env"]}
        self.assertEqual(jenv["TRADETRAIL_DB"]["valueFrom"]["secretKeyRef"]["key"],
                         "owner-database-url")
        self.assertEqual(jpod["containers"][0]["image"], pod["containers"][0]["image"])
        self.check_key_copy(jpod, args[args.index("--data") + 1])

    def check_key_copy(self, pod, data):
        """The signing key reaches DATA with the modes tradetrail requires (SPEC 4: a key or
        directory readable or writable by others, or owned by another user, is refused):
        copied by an init container running as the pod's user, not mounted from the Secret."""
        init = pod["initContainers"][0]
        script = " ".join(init["args"])
        self.assertIn("install -d -m 0700 %s" % data, script)
        self.assertIn("install -m 0600 /key/signing.key %s/signing.key" % data, script)
        self.assertNotIn("runAsUser", init.get("securityContext", {}))  # the pod's user
        mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
        vols = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(vols["signing-key"]["secret"]["secretName"], "tradetrail-signing-key")
        self.assertEqual(mounts["signing-key"], "/key")
        self.assertIn("emptyDir", vols["data"])
        main = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        self.assertEqual(main["data"], mounts["data"])
        self.assertTrue(data.startswith(mounts["data"] + "/"))
        self.assertNotIn("signing-key", main)  # the server reads only the private copy


def yesterday_titles():
    """The daily summary's title for yesterday (UTC), read at two instants so that a run
    across midnight still matches."""
    def title():
        d = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)
        return "Daily Audit Summary (%s)" % d.isoformat()
    return {title(), title()}


class DailySummaryDayTest(unittest.TestCase):
    """Issue 13 item 16: the daily summary jobs of deploy/ run at 00:00 UTC and must report
    the day that just ended, as the server's scheduler does, not the day that just began.
    Each command is run as deploy/ writes it, against a ledger with an alert webhook, and
    the queued summary's title must name yesterday."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tt-daily-")
        self.data = os.path.join(self.tmp, "data")
        T.cli_ok(self.data, ["init"])
        self.env = T.env_without_tradetrail()
        self.env["TRADETRAIL_ALERT_WEBHOOK"] = "http://127.0.0.1:9/hook"  # queued only

    def tearDown(self):
        shutil.rmtree(self.tmp, True)

    def check_queued_for_yesterday(self, what):
        queued = [e for e in T.show_all(self.data)
                  if (e["entity"], e["event_type"]) == ("notification", "QUEUED")]
        self.assertEqual(len(queued), 1, what)
        self.assertTrue(any(t in queued[0]["reason"] for t in yesterday_titles()),
                        "%s summarised %r" % (what, queued[0]["reason"]))

    def test_systemd_unit(self):
        u = SystemdUnitTest.parse(None, "tradetrail-daily-summary.service")
        argv = shlex.split(u.get("Service", "ExecStart"))
        self.assertEqual(argv[0], "/usr/local/bin/tradetrail")
        env = dict(self.env, TRADETRAIL_DATA=self.data)  # the unit's Environment=
        p = subprocess.run([T.BIN] + argv[1:], env=env, capture_output=True, text=True,
                           timeout=60 * T.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_queued_for_yesterday("the systemd unit")

    def test_crontab_cli_mode(self):
        table = os.path.join(self.tmp, "crontab.txt")
        log = os.path.join(self.tmp, "jobs.log")
        p = subprocess.run(["sh", INSTALLER, "--file", table, "--mode", "cli", "--bin", T.BIN,
                            "--data", self.data, "--log", log], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(table) as f:
            line = [x for x in f if x.rstrip().endswith("# tradetrail:daily-summary")][0]
        cmd = line.split(" ", 5)[5].replace("\\%", "%")  # after the five schedule fields
        p = subprocess.run(["sh", "-c", cmd], env=self.env, capture_output=True, text=True,
                           timeout=60 * T.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_queued_for_yesterday("the crontab line")

    def test_kubernetes_cli_alternative(self):
        with open(os.path.join(DEPLOY, "k8s", "cronjob-daily-summary.yaml")) as f:
            m = re.search(r"^#\s+args: (\[.*\])$", f.read(), re.M)
        self.assertIsNotNone(m)
        argv = json.loads(m.group(1))
        self.assertEqual(argv[:2], ["--data", "/tmp/tradetrail"])
        p = subprocess.run([T.BIN, "--data", self.data] + argv[2:], env=self.env,
                           capture_output=True, text=True, timeout=60 * T.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_queued_for_yesterday("the Kubernetes alternative")


def metrics_in_source():
    with open(os.path.join(T.SOURCE_DIR, "server", "metrics.c")) as f:
        return set(re.findall(r"tradetrail_[a-z_]+", f.read()))


class GrafanaDashboardTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(DEPLOY, "grafana", "tradetrail-dashboard.json")) as f:
            cls.dash = json.load(f)
        cls.exprs = [t["expr"] for p in cls.dash["panels"] for t in p.get("targets", [])]
        names = set()
        for e in cls.exprs:
            names |= set(re.findall(r"\btradetrail_[a-z_]+", e))
        for v in cls.dash.get("templating", {}).get("list", []):
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else q or ""
            names |= set(re.findall(r"\btradetrail_[a-z_]+", q))
        cls.names = names

    def test_shape(self):
        self.assertEqual(self.dash["uid"], "tradetrail-overview")
        ids = [p["id"] for p in self.dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertTrue(all(p.get("title") for p in self.dash["panels"]))

    def test_every_spec_metric_has_a_panel(self):
        for m in SPEC_METRICS:
            self.assertTrue(any(m in e for e in self.exprs), m)
        self.assertTrue(any("histogram_quantile" in e for e in self.exprs))

    def test_only_exported_names_source(self):
        self.assertTrue(self.names <= metrics_in_source(), self.names - metrics_in_source())

    def test_only_exported_names_live(self):
        with T.Server() as srv:
            r = srv.request("GET", "/metrics", token=None)
            self.assertEqual(r.status, 200)
            text = r.body.decode()
        exported = set(re.findall(r"^# TYPE (tradetrail_[a-z_]+)", text, re.M))
        exported |= set(re.findall(r"^(tradetrail_[a-z_]+)", text, re.M))
        for h in re.findall(r"^# TYPE (tradetrail_[a-z_]+) histogram", text, re.M):
            exported |= {h + "_bucket", h + "_sum", h + "_count"}
        self.assertTrue(self.names <= exported, self.names - exported)


class SystemdUnitTest(unittest.TestCase):

    UNITS = ["tradetrail.service", "tradetrail-daily-summary.service",
             "tradetrail-daily-summary.timer", "tradetrail-feedback-sync.service",
             "tradetrail-feedback-sync.timer"]

    def parse(self, name):
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.optionxform = str
        with open(os.path.join(DEPLOY, "systemd", name)) as f:
            cp.read_string(f.read())
        return cp

    def test_required_keys(self):
        for name in self.UNITS:
            u = self.parse(name)
            self.assertTrue(u.get("Unit", "Description"), name)
            if name.endswith(".service"):
                self.assertTrue(u.get("Service", "ExecStart").startswith("/"), name)
                self.assertEqual(u.get("Service", "NoNewPrivileges"), "yes", name)
                self.assertEqual(u.get("Service", "ProtectSystem"), "strict", name)
                self.assertIn("User", u["Service"], name)
            else:
                self.assertEqual(u.get("Timer", "Persistent"), "true", name)
                self.assertTrue(u.get("Install", "WantedBy"), name)
        self.assertEqual(self.parse("tradetrail-daily-summary.timer").get("Timer", "OnCalendar"),
                         "*-*-* 00:00:00 UTC")
        self.assertEqual(self.parse("tradetrail-feedback-sync.timer").get("Timer", "OnCalendar"),
                         "*-*-* 02:00:00 UTC")
        self.assertIn("summary --date yesterday --notify",
                      self.parse("tradetrail-daily-summary.service").get("Service", "ExecStart"))
        self.assertIn("feedback sync",
                      self.parse("tradetrail-feedback-sync.service").get("Service", "ExecStart"))
        self.assertTrue(self.parse("tradetrail.service").get("Service", "ExecStart")
                        .endswith(" serve"))

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_analyze_verify(self):
        tmp = tempfile.mkdtemp(prefix="tt-units-")
        try:
            # ExecStart must name an executable that exists: point it at the built program.
            for name in self.UNITS:
                with open(os.path.join(DEPLOY, "systemd", name)) as f:
                    text = f.read().replace("/usr/local/bin/tradetrail", T.BIN)
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
            p = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                               [os.path.join(tmp, n) for n in self.UNITS],
                               capture_output=True, text=True, timeout=120)
            # verify only warns about unknown keys and bad values: any output is a failure.
            noise = [line for line in (p.stdout + p.stderr).splitlines()
                     if line.strip() and "Failed to connect" not in line]
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(noise, [])
        finally:
            shutil.rmtree(tmp, True)


if __name__ == "__main__":
    unittest.main()

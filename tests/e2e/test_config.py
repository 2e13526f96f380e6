#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the configuration (SPEC 10): `tradetrail config` prints every key with
its source (default, file line, environment variable, flag), masks secrets unless
--show-secrets, never prints a secret by default in either output format, reports an
unknown key in the file by line; and the server takes reward_scale, neutral_band and
summary_title from the configuration FILE for POST /api/feedback and /api/summary."""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

SECRETS = ["cr0n-s3cret-value", "sm7p-pa55", "disc0rd-t0ken", "pgpa55w0rd", "s1nk-k3y"]

CONF = """# tradetrail.conf written by test_config.py
[server]
listen = 127.0.0.1:9999
cron_secret = "cr0n-s3cret-value"
smtp_url = smtp://alerts:sm7p-pa55@mail.example.com:587
alert_webhook = https://discord.com/api/webhooks/42/disc0rd-t0ken
feedback_sink = https://ml.example/ingest/s1nk-k3y
reward_scale = 0.2
"""


def clean_env(extra=None):
    env = {k: v for k, v in T.env_without_tradetrail().items() if not k.startswith("QT_")}
    env.update(extra or {})
    return env


def run(data, args, extra_env=None):
    return subprocess.run([T.BIN, "--data", data] + list(args), capture_output=True, text=True,
                          env=clean_env(extra_env), timeout=60 * T.SLOW)


def parse_short(text):
    """{key: (value, origin)} from the short output."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        left, _, origin = line.partition("    # ")
        key, _, value = left.partition(" = ")
        out[key.strip()] = (value.strip(), origin.strip())
    return out


class ConfigCommandTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tt-config-")
        self.data = os.path.join(self.tmp, "data")
        os.makedirs(self.data)
        with open(os.path.join(self.data, "tradetrail.conf"), "w") as f:
            f.write(CONF)

    def tearDown(self):
        shutil.rmtree(self.tmp, True)

    def test_defaults_without_file(self):
        os.unlink(os.path.join(self.data, "tradetrail.conf"))
        p = run(self.data, ["config"])
        self.assertEqual(p.returncode, 0, p.stderr)
        keys = parse_short(p.stdout)
        self.assertEqual(keys["listen"], ("127.0.0.1:8080", "default"))
        self.assertEqual(keys["schedule_daily_summary"], ("0 0 * * *", "default"))
        self.assertEqual(keys["schedule_feedback_sync"], ("0 2 * * *", "default"))
        self.assertEqual(keys["cron_secret"], ("(unset)", "default"))
        self.assertIn("(not present)", p.stdout)

    def test_sources_and_masking(self):
        env = {"TRADETRAIL_NEUTRAL_BAND": "0.002", "QT_AUDIT_EMAIL": "ops@example.com",
               "TRADETRAIL_CRON_SECRET": "cr0n-s3cret-value"}
        p = run(self.data, ["--db", "postgres://app:pgpa55w0rd@db.internal:5432/ledger",
                            "config"], env)
        self.assertEqual(p.returncode, 0, p.stderr)
        for s in SECRETS:
            self.assertNotIn(s, p.stdout + p.stderr)
        keys = parse_short(p.stdout)
        self.assertEqual(keys["listen"][0], "127.0.0.1:9999")
        self.assertRegex(keys["listen"][1], r"^file .*tradetrail\.conf line 3$")
        self.assertEqual(keys["reward_scale"][0], "0.2")
        self.assertEqual(keys["neutral_band"], ("0.002", "env TRADETRAIL_NEUTRAL_BAND"))
        self.assertEqual(keys["audit_email"], ("ops@example.com", "env QT_AUDIT_EMAIL"))
        self.assertEqual(keys["cron_secret"], ("********", "env TRADETRAIL_CRON_SECRET"))
        self.assertEqual(keys["smtp_url"][0], "smtp://mail.example.com:587")
        self.assertEqual(keys["alert_webhook"][0], "https://discord.com/****")
        self.assertEqual(keys["db"], ("postgres://db.internal:5432/****", "flag"))

        p = run(self.data, ["config", "--show-secrets"], env)
        self.assertEqual(p.returncode, 0, p.stderr)
        keys = parse_short(p.stdout)
        self.assertEqual(keys["cron_secret"][0], "cr0n-s3cret-value")
        self.assertEqual(keys["alert_webhook"][0],
                         "https://discord.com/api/webhooks/42/disc0rd-t0ken")

    def test_warns_about_a_readable_file_with_secrets(self):
        conf = os.path.join(self.data, "tradetrail.conf")
        os.chmod(conf, 0o644)
        p = run(self.data, ["config"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("readable by others", p.stderr)
        self.assertNotIn("cr0n-s3cret-value", p.stderr)
        os.chmod(conf, 0o600)
        p = run(self.data, ["config"])
        self.assertEqual(p.stderr, "")

    def test_json(self):
        p = run(self.data, ["config", "-o", "json"], {"QT_SMTP_SERVER": "relay.local",
                                                      "QT_SMTP_PORT": "2525"})
        self.assertEqual(p.returncode, 0, p.stderr)
        for s in SECRETS:
            self.assertNotIn(s, p.stdout)
        j = json.loads(p.stdout)
        self.assertEqual(j["data_dir"], self.data)
        self.assertTrue(j["file"].endswith("tradetrail.conf"))
        k = j["keys"]
        self.assertEqual(k["smtp_url"]["value"], "smtp://relay.local:2525")
        self.assertEqual(k["smtp_url"]["source"], "env")
        self.assertEqual(k["cron_secret"], {"value": "********", "source": "file",
                                            "origin": k["cron_secret"]["origin"]})
        self.assertIsNone(k["schedule_retention"]["value"])
        self.assertEqual(k["listen"]["source"], "file")
        self.assertEqual(k["summary_title"]["source"], "default")

    def test_unknown_key_names_the_line(self):
        with open(os.path.join(self.data, "tradetrail.conf"), "a") as f:
            f.write("reward_scael = 0.1\n")
        p = run(self.data, ["config"])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("line 9", p.stderr)
        self.assertIn("reward_scael", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_explicit_config_must_exist(self):
        p = run(self.data, ["--config", os.path.join(self.tmp, "missing.conf"), "config"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("missing.conf", p.stderr)

    def test_bad_number_rejected_by_cli(self):
        with open(os.path.join(self.data, "tradetrail.conf"), "a") as f:
            f.write("neutral_band = wide\n")
        self.assertEqual(run(self.data, ["init"]).returncode, 0)
        p = run(self.data, ["feedback", "record", "--strategy", "s1", "--ai-return", "0.1",
                            "--benchmark-return", "0.0"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("neutral_band", p.stderr)


class ServerUsesConfigFileTest(unittest.TestCase):
    """reward_scale, neutral_band and summary_title come from DATA/tradetrail.conf."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tt-config-srv-")
        data = os.path.join(cls.tmp, "data")
        os.makedirs(data)
        with open(os.path.join(data, "tradetrail.conf"), "w") as f:
            f.write("reward_scale = 0.2\nneutral_band = 0.01\n"
                    "summary_title = \"Quantum Trader V3\"\ncron_secret = cr0n-s3cret-value\n")
        cls.server = T.Server(data=data)
        try:
            cls.server.start()
            cls.server.make_role_tokens()
        except BaseException:
            cls.server.cleanup()
            shutil.rmtree(cls.tmp, True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop_ok()
            for s in SECRETS:
                assert s not in cls.server.stdout() + cls.server.stderr(), s
        finally:
            cls.server.cleanup()
            shutil.rmtree(cls.tmp, True)

    def feedback(self, ai, bench):
        r = self.server.request("POST", "/api/feedback", token="ingest",
                                body={"strategy_id": "s-cfg", "ai_return": ai,
                                      "benchmark_return": bench, "user_id": "u1",
                                      "benchmark": "SPY"})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def test_reward_scale_from_file(self):
        j = self.feedback(0.05, 0.0)
        self.assertAlmostEqual(j["alpha"], 0.05)
        self.assertAlmostEqual(j["reward"], math.tanh(0.05 / 0.2), places=9)
        self.assertEqual(j["outcome"], "positive")

    def test_neutral_band_from_file(self):
        # 0.005 is outside the default band (0.0005) but inside the configured 0.01.
        self.assertEqual(self.feedback(0.005, 0.0)["outcome"], "neutral")
        self.assertEqual(self.feedback(0.0, 0.02)["outcome"], "negative")

    def test_summary_title_from_file(self):
        r = self.server.request("GET", "/api/summary", token="read",
                                headers={"Accept": "text/plain"})
        self.assertEqual(r.status, 200, r)
        first = r.body.decode("utf-8").splitlines()[0]
        self.assertRegex(first, r"^Quantum Trader V3 \u2013 Daily Audit Summary \(")

    def test_cli_agrees(self):
        p = run(self.server.data, ["summary"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("Quantum Trader V3 \u2013 Daily Audit Summary"),
                        p.stdout[:200])


if __name__ == "__main__":
    unittest.main()

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/util/config.c: precedence (default < file < environment < flag), the
 * seed's QT_* names, errors naming the line of the file, typed reads, and the masking of
 * secrets in what `tradetrail config` prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tradetrail.h"
#include "util/config.h"

static char conf_path[64];

static const char *env_names[] = {
    "QT_ALERT_WEBHOOK",
    "QT_AUDIT_EMAIL",
    "QT_SMTP_SERVER",
    "QT_SMTP_PORT",
    "TRADETRAIL_SMTP_URL",
    "TRADETRAIL_REWARD_SCALE",
    "TRADETRAIL_ALERT_WEBHOOK",
    "TRADETRAIL_CRON_SECRET",
    "TRADETRAIL_LISTEN",
    "TRADETRAIL_SUMMARY_TITLE",
    "TRADETRAIL_DB",
};

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    snprintf(conf_path, sizeof conf_path, "/tmp/tt-config-XXXXXX");
    int fd = mkstemp(conf_path);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(conf_path);
    return 0;
}

static void write_conf(const char *text)
{
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static tti_config *load_ok(void)
{
    tti_config *c = NULL;
    char err[512] = "";
    int rc = tti_config_load(conf_path, 1, &c, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("load failed (%d): %s", rc, err);
    return c;
}

static void test_defaults(void **state)
{
    (void)state;
    write_conf("# nothing but a comment\n\n[server]\n");
    tti_config *c = load_ok();
    assert_string_equal(tti_config_get(c, "listen"), "127.0.0.1:8080");
    assert_string_equal(tti_config_get(c, "schedule_daily_summary"), "0 0 * * *");
    assert_string_equal(tti_config_get(c, "schedule_feedback_sync"), "0 2 * * *");
    assert_string_equal(tti_config_get(c, "summary_title"), "tradetrail");
    assert_null(tti_config_get(c, "cron_secret"));
    assert_null(tti_config_get(c, "no_such_key"));
    assert_int_equal(tti_config_source_of(c, "listen"), TTI_CFG_DEFAULT);
    assert_string_equal(tti_config_origin(c, "listen"), "default");
    tti_config_free(c);
}

static void test_precedence(void **state)
{
    (void)state;
    write_conf("reward_scale = 0.1\nlisten = \"127.0.0.1:9000\"\ncron_secret = 'abc'\n");
    tti_config *c = load_ok();
    assert_string_equal(tti_config_get(c, "reward_scale"), "0.1");
    assert_string_equal(tti_config_get(c, "listen"), "127.0.0.1:9000"); /* quotes removed */
    assert_string_equal(tti_config_get(c, "cron_secret"), "abc");
    assert_int_equal(tti_config_source_of(c, "reward_scale"), TTI_CFG_FILE);
    assert_non_null(strstr(tti_config_origin(c, "listen"), "line 2"));
    tti_config_free(c);

    setenv("TRADETRAIL_REWARD_SCALE", "0.2", 1);
    setenv("TRADETRAIL_LISTEN", "", 1); /* empty: ignored */
    c = load_ok();
    assert_string_equal(tti_config_get(c, "reward_scale"), "0.2");
    assert_int_equal(tti_config_source_of(c, "reward_scale"), TTI_CFG_ENV);
    assert_string_equal(tti_config_origin(c, "reward_scale"), "env TRADETRAIL_REWARD_SCALE");
    assert_string_equal(tti_config_get(c, "listen"), "127.0.0.1:9000");

    assert_int_equal(tti_config_set(c, "reward_scale", "0.3"), TT_OK);
    assert_string_equal(tti_config_get(c, "reward_scale"), "0.3");
    assert_int_equal(tti_config_source_of(c, "reward_scale"), TTI_CFG_FLAG);
    assert_int_equal(tti_config_set(c, "bogus", "1"), TT_EINVAL);
    tti_config_free(c);
    unsetenv("TRADETRAIL_REWARD_SCALE");
    unsetenv("TRADETRAIL_LISTEN");
}

static void test_missing_file(void **state)
{
    (void)state;
    tti_config *c = NULL;
    char err[512];
    assert_int_equal(tti_config_load("/nonexistent/tt.conf", 0, &c, err, sizeof err), TT_OK);
    assert_string_equal(tti_config_get(c, "listen"), "127.0.0.1:8080");
    tti_config_free(c);
    c = NULL;
    assert_int_equal(tti_config_load("/nonexistent/tt.conf", 1, &c, err, sizeof err), TT_ENOTFOUND);
    assert_null(c);
    assert_non_null(strstr(err, "/nonexistent/tt.conf"));
}

static void test_seed_names(void **state)
{
    (void)state;
    write_conf("smtp_url = smtp://file.example:25\n");
    setenv("QT_ALERT_WEBHOOK", "https://discord.com/api/webhooks/1/tok", 1);
    setenv("QT_AUDIT_EMAIL", "admin@example.com", 1);
    setenv("QT_SMTP_SERVER", "mail.local", 1);
    setenv("QT_SMTP_PORT", "2525", 1);
    tti_config *c = load_ok();
    assert_string_equal(tti_config_get(c, "alert_webhook"),
                        "https://discord.com/api/webhooks/1/tok");
    assert_string_equal(tti_config_get(c, "audit_email"), "admin@example.com");
    assert_string_equal(tti_config_get(c, "smtp_url"), "smtp://mail.local:2525");
    assert_int_equal(tti_config_source_of(c, "smtp_url"), TTI_CFG_ENV);
    assert_non_null(strstr(tti_config_origin(c, "smtp_url"), "QT_SMTP_SERVER"));
    tti_config_free(c);

    unsetenv("QT_SMTP_PORT"); /* the seed's default port */
    c = load_ok();
    assert_string_equal(tti_config_get(c, "smtp_url"), "smtp://mail.local:25");
    tti_config_free(c);

    setenv("QT_SMTP_SERVER", "::1", 1); /* IPv6 literal in brackets */
    c = load_ok();
    assert_string_equal(tti_config_get(c, "smtp_url"), "smtp://[::1]:25");
    tti_config_free(c);

    /* TRADETRAIL_<KEY> wins over the seed's name. */
    setenv("TRADETRAIL_SMTP_URL", "smtps://relay.example:465", 1);
    setenv("TRADETRAIL_ALERT_WEBHOOK", "https://hooks.slack.com/services/T/B/X", 1);
    c = load_ok();
    assert_string_equal(tti_config_get(c, "smtp_url"), "smtps://relay.example:465");
    assert_string_equal(tti_config_get(c, "alert_webhook"),
                        "https://hooks.slack.com/services/T/B/X");
    tti_config_free(c);
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
}

static void test_file_errors(void **state)
{
    (void)state;
    tti_config *c = NULL;
    char err[512];
    write_conf("listen = 127.0.0.1:1\n# comment\nreward_scael = 0.1\n");
    assert_int_equal(tti_config_load(conf_path, 1, &c, err, sizeof err), TT_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err, "line 3"));
    assert_non_null(strstr(err, "reward_scael"));
    assert_non_null(strstr(err, conf_path));

    write_conf("listen = 127.0.0.1:1\nthis is not a setting\n");
    assert_int_equal(tti_config_load(conf_path, 1, &c, err, sizeof err), TT_EPARSE);
    assert_null(c);
    assert_non_null(strstr(err, "line 2"));
}

static void test_typed(void **state)
{
    (void)state;
    write_conf("reward_scale = 0.25\nneutral_band = lots\ncheckpoint_interval = 5\n"
               "min_retention_days = 30\nmetrics_public = off\nsummary_title = 7x\n");
    tti_config *c = load_ok();
    char err[256];
    double d = -1;
    assert_int_equal(tti_config_double(c, "reward_scale", 1e-9, 1e9, &d, err, sizeof err), TT_OK);
    assert_true(d == 0.25);
    d = -1;
    assert_int_equal(tti_config_double(c, "neutral_band", 0, 1, &d, err, sizeof err), TT_EINVAL);
    assert_true(d == -1); /* untouched on failure */
    assert_non_null(strstr(err, "neutral_band"));
    assert_int_equal(tti_config_double(c, "reward_scale", 1, 2, &d, err, sizeof err), TT_EINVAL);
    assert_int_equal(tti_config_double(c, "cron_secret", 0, 1, &d, err, sizeof err), TT_EINVAL);

    int64_t n = -1;
    assert_int_equal(tti_config_int(c, "min_retention_days", 0, 36500, &n, err, sizeof err), TT_OK);
    assert_int_equal(n, 30);
    assert_int_equal(tti_config_int(c, "min_retention_days", 31, 36500, &n, err, sizeof err),
                     TT_EINVAL);
    assert_int_equal(tti_config_int(c, "summary_title", 0, 100, &n, err, sizeof err), TT_EINVAL);
    assert_int_equal(n, 30);

    int b = -1;
    assert_int_equal(tti_config_bool(c, "metrics_public", &b, err, sizeof err), TT_OK);
    assert_int_equal(b, 0);
    assert_int_equal(tti_config_bool(c, "summary_title", &b, err, sizeof err), TT_EINVAL);
    assert_int_equal(b, 0);
    tti_config_free(c);
}

static void mask_is(const char *key, const char *value, const char *want)
{
    char buf[512];
    const char *got = tti_config_mask(key, value, buf, sizeof buf);
    if (strcmp(got, want) != 0)
        fail_msg("mask(%s, %s) = \"%s\", want \"%s\"", key, value, got, want);
}

static void test_mask(void **state)
{
    (void)state;
    assert_true(tti_config_is_secret("cron_secret"));
    assert_true(tti_config_is_secret("smtp_url"));
    assert_false(tti_config_is_secret("listen"));
    mask_is("cron_secret", "hunter2", "********");
    mask_is("cron_secret", "https://looks.like/a/url", "********");
    mask_is("smtp_url", "smtp://bob:hunter2@mail.example.com:587", "smtp://mail.example.com:587");
    mask_is("smtp_url", "smtps://a@b:p@ss@mail.example.com", "smtps://mail.example.com");
    mask_is("smtp_url", "smtp://localhost:25", "smtp://localhost:25");
    mask_is("alert_webhook", "https://discord.com/api/webhooks/123/TOKEN",
            "https://discord.com/****");
    mask_is("alert_webhook", "https://hooks.example?token=abc", "https://hooks.example/****");
    mask_is("alert_webhook", "hooks.slack.com/services/T/B/X", "********");
    mask_is("db", "postgres://u:pw@db.internal:5432/ledger", "postgres://db.internal:5432/****");
    mask_is("db", "host=db password=pw", "********");
    mask_is("db", "/var/lib/tradetrail/ledger.db", "/var/lib/tradetrail/ledger.db");
    mask_is("feedback_sink", "file:/srv/train.jsonl", "file:/srv/train.jsonl");
    mask_is("feedback_sink", "https://ml.example/ingest/KEY", "https://ml.example/****");
    mask_is("listen", "0.0.0.0:8080", "0.0.0.0:8080");
}

static void test_print(void **state)
{
    (void)state;
    write_conf("cron_secret = c0nfid3ntial\n"
               "smtp_url = smtp://bob:pa55word@mail.example.com:587\n"
               "alert_webhook = https://discord.com/api/webhooks/42/wh-t0ken\n"
               "feedback_sink = https://u:sinkpass@ml.example/ingest/s1nk-key\n"
               "db = postgres://app:dbpa55@db:5432/ledger\n");
    tti_config *c = load_ok();
    static const char *secrets[] = {"c0nfid3ntial", "pa55word", "wh-t0ken", "sinkpass",
                                    "s1nk-key",     "dbpa55",   "bob",      "app:"};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    tti_config_print(c, f, 0);
    fclose(f);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(text, secrets[i]) != NULL)
            fail_msg("secret \"%s\" printed:\n%s", secrets[i], text);
    assert_non_null(strstr(text, "mail.example.com:587"));
    assert_non_null(strstr(text, "discord.com"));
    assert_non_null(strstr(text, "# file "));
    assert_non_null(strstr(text, "# default"));
    free(text);

    f = open_memstream(&text, &len);
    tti_config_print(c, f, 1);
    fclose(f);
    assert_non_null(strstr(text, "c0nfid3ntial"));
    assert_non_null(strstr(text, "wh-t0ken"));
    free(text);
    tti_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* What every command and the server share: the exit codes of SPEC 10 for library statuses,
 * the one error line, and the configuration read into the library's settings. */
#include <stdio.h>

#include "front.h"

int front_exit_code(int rc)
{
    switch (rc) {
    case TT_OK:
        return 0;
    case TT_EINVAL:
    case TT_ETOOBIG:
    case TT_ECONFLICT:
    case TT_ENOTFOUND:
    case TT_ETAMPERED:
    case TT_EAUTH:
    case TT_EPARSE:
        return EXIT_REJECTED;
    case TT_EMISUSE:
        return EXIT_USAGE;
    default:
        return EXIT_ERROR;
    }
}

int front_vfail(const char *command, int rc, const char *fmt, va_list ap)
{
    fprintf(stderr, "tradetrail%s%s: ", command ? " " : "", command ? command : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return front_exit_code(rc);
}

/* ---- the configuration as the library's settings ---- */

void front_notify_config(const tti_config *c, tt_notify_config *out)
{
    tt_notify_config_init(out);
    out->alert_webhook = tti_config_value(c, "alert_webhook");
    out->alert_webhook_format = tti_config_value(c, "alert_webhook_format");
    out->alert_events = tti_config_value(c, "alert_events");
    out->audit_email = tti_config_value(c, "audit_email");
    out->smtp_url = tti_config_value(c, "smtp_url");
    out->smtp_from = tti_config_value(c, "smtp_from");
    out->smtp_tls = tti_config_value(c, "smtp_tls");
    out->summary_title = tti_config_value(c, "summary_title");
    out->telegram_bot_token = tti_config_value(c, "telegram_bot_token");
    out->telegram_chat_id = tti_config_value(c, "telegram_chat_id");
    out->telegram_error_chat_id = tti_config_value(c, "telegram_error_chat_id");
    out->telegram_events = tti_config_value(c, "telegram_events");
    out->telegram_error_events = tti_config_value(c, "telegram_error_events");
    out->telegram_api = tti_config_value(c, "telegram_api");
    /* Out of range or not a number: a value tt_notify_channels refuses, with the key's name. */
    int64_t v;
    if (c == NULL)
        return;
    out->telegram_per_minute =
        tti_config_int(c, "telegram_per_minute", 1, 1000, &v, NULL, 0) == TT_OK ? (long)v : -1;
    out->telegram_late_after_s =
        tti_config_int(c, "telegram_late_after", -1, 1000000000, &v, NULL, 0) == TT_OK ? (long)v
                                                                                       : -2;
}

int front_feedback_settings(const tti_config *c, tt_feedback_settings *out, char *err,
                            size_t errlen)
{
    tt_feedback_settings s;
    tt_feedback_settings_init(&s);
    if (c != NULL) {
        /* SPEC 6.2: reward_scale > 0, neutral_band >= 0. */
        int rc = tti_config_double(c, "reward_scale", 1e-9, 1e9, &s.reward_scale, err, errlen);
        if (rc == TT_OK)
            rc = tti_config_double(c, "neutral_band", 0, 1e9, &s.neutral_band, err, errlen);
        if (rc != TT_OK)
            return rc;
    }
    *out = s;
    return TT_OK;
}

static int days_of(const tti_config *c, const char *key, int64_t dflt, int64_t *out, char *err,
                   size_t errlen)
{
    const char *v = c != NULL ? tti_config_get(c, key) : NULL;
    *out = dflt;
    if (v == NULL || v[0] == '\0')
        return TT_OK;
    if (tt_parse_int(v, 0, 365000, out) != TT_OK) {
        snprintf(err, errlen, "%s: must be 0 to 365000 days (got \"%s\")", key, v);
        return TT_EINVAL;
    }
    return TT_OK;
}

int front_retention_settings(const tti_config *c, const char *data_dir, const char *ledger,
                             char *dir, size_t n, int64_t *days, int64_t *min_days, char *err,
                             size_t errlen)
{
    int rc = days_of(c, "retention_days", -1, days, err, errlen);
    if (rc == TT_OK)
        rc = days_of(c, "min_retention_days", 0, min_days, err, errlen);
    if (rc != TT_OK)
        return rc;
    const char *v = c != NULL ? tti_config_get(c, "archive_dir") : NULL;
    int len = v != NULL && v[0] != '\0'
                  ? snprintf(dir, n, "%s", v)
                  : snprintf(dir, n, "%s/archive", data_dir != NULL ? data_dir : ".");
    if (len >= 0 && (size_t)len < n && ledger != NULL)
        len += snprintf(dir + len, n - (size_t)len, "/%s", ledger);
    if (len < 0 || (size_t)len >= n) {
        snprintf(err, errlen, "archive_dir: longer than %zu bytes", n - 1);
        return TT_ETOOBIG;
    }
    return TT_OK;
}

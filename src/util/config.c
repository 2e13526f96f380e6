/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Effective configuration: defaults < INI file < environment < flags (see config.h). One
 * table of keys with their defaults and secrecy; every value remembers where it came from
 * so `tradetrail config` can say why it is what it is.
 */
#include "util/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tradetrail.h"
#include "util/err.h"
#include "util/ini.h"

enum { PLAIN = 0, SECRET = 1, SECRET_URL = 2 };

typedef struct key_def {
    const char *name;
    const char *def;
    int secret; /* SECRET: the whole value; SECRET_URL: credentials, path and query */
} key_def;

/* SPEC 10, plus the server's metrics_public and header_timeout. Keep docs/OPERATIONS.md in
 * step. */
static const key_def keys[] = {
    {"listen", "127.0.0.1:8080", PLAIN},
    {"header_timeout", "10", PLAIN},
    {"db", NULL, SECRET_URL},
    {"cron_secret", NULL, SECRET},
    {"checkpoint_interval", "1", PLAIN},
    {"metrics_public", "true", PLAIN},
    {"reward_scale", "0.05", PLAIN},
    {"neutral_band", "0.0005", PLAIN},
    {"feedback_sink", NULL, SECRET_URL},
    {"alert_webhook", NULL, SECRET_URL},
    {"alert_webhook_format", "slack", PLAIN},
    {"alert_events", NULL, PLAIN},
    {"audit_email", NULL, PLAIN},
    {"smtp_url", NULL, SECRET_URL},
    {"smtp_from", NULL, PLAIN},
    {"smtp_tls", NULL, PLAIN},
    {"summary_title", "tradetrail", PLAIN},
    {"telegram_bot_token", NULL, SECRET},
    {"telegram_chat_id", NULL, PLAIN},
    {"telegram_error_chat_id", NULL, PLAIN},
    {"telegram_events", NULL, PLAIN},
    {"telegram_error_events", "FAILED,ERROR,SILENT,GAP", PLAIN},
    {"telegram_api", "https://api.telegram.org", PLAIN},
    {"telegram_per_minute", "20", PLAIN},
    {"telegram_late_after", "300", PLAIN},
    {"min_retention_days", "0", PLAIN},
    {"retention_days", NULL, PLAIN},
    {"archive_dir", NULL, PLAIN},
    {"schedule_daily_summary", "0 0 * * *", PLAIN},
    {"schedule_feedback_sync", "0 2 * * *", PLAIN},
    {"schedule_retention", NULL, PLAIN},
    {"schedule_checkpoint", NULL, PLAIN},
    {"web_root", NULL, PLAIN},
    {"redact_keys", TT_REDACT_DEFAULT, PLAIN},
    {"heartbeat_timeout", "300", PLAIN}, /* SPEC 15: seconds before a producer is SILENT */
};

#define NKEYS (sizeof keys / sizeof keys[0])

struct tti_config {
    char *value[NKEYS];
    tti_config_source source[NKEYS];
    char origin[NKEYS][320]; /* "file PATH line N", "env NAME" */
    const char *path;        /* the file being read, during tti_config_load only */
    int bad_line;            /* an unknown key in the file: its line and name */
    char bad_key[64];
};

static int key_index(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int put(tti_config *c, int i, const char *value, tti_config_source src, const char *origin)
{
    char *dup = strdup(value);
    if (dup == NULL)
        return TT_ENOMEM;
    free(c->value[i]);
    c->value[i] = dup;
    c->source[i] = src;
    snprintf(c->origin[i], sizeof c->origin[i], "%s", origin);
    return TT_OK;
}

static int file_key(void *ctx, const char *key, const char *value, int line)
{
    tti_config *c = ctx;
    int i = key_index(key);
    if (i < 0) {
        c->bad_line = line;
        snprintf(c->bad_key, sizeof c->bad_key, "%s", key);
        return TT_EINVAL;
    }
    char origin[320];
    snprintf(origin, sizeof origin, "file %s line %d", c->path, line);
    return put(c, i, value, TTI_CFG_FILE, origin);
}

/* The seed's QT_* names (SPEC 10): webhook, e-mail, and SMTP server + port as a URL. */
static int seed_env(tti_config *c)
{
    const char *v;
    int rc = TT_OK;
    if ((v = getenv("QT_ALERT_WEBHOOK")) != NULL && v[0])
        rc = put(c, key_index("alert_webhook"), v, TTI_CFG_ENV, "env QT_ALERT_WEBHOOK");
    if (rc == TT_OK && (v = getenv("QT_AUDIT_EMAIL")) != NULL && v[0])
        rc = put(c, key_index("audit_email"), v, TTI_CFG_ENV, "env QT_AUDIT_EMAIL");
    const char *host = getenv("QT_SMTP_SERVER"), *port = getenv("QT_SMTP_PORT");
    if (rc == TT_OK && host != NULL && host[0]) {
        char url[512];
        /* An IPv6 literal needs brackets in a URL (RFC 3986 3.2.2). */
        int v6 = strchr(host, ':') != NULL && host[0] != '[';
        snprintf(url, sizeof url, "smtp://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
                 port && port[0] ? port : "25");
        rc = put(c, key_index("smtp_url"), url, TTI_CFG_ENV,
                 port && port[0] ? "env QT_SMTP_SERVER + QT_SMTP_PORT" : "env QT_SMTP_SERVER");
    }
    return rc;
}

/* TRADETRAIL_<KEY> wins over the QT_* names and the file. */
static int env_overrides(tti_config *c)
{
    int rc = seed_env(c);
    for (size_t i = 0; rc == TT_OK && i < NKEYS; i++) {
        char name[96];
        size_t n = (size_t)snprintf(name, sizeof name, "TRADETRAIL_%s", keys[i].name);
        for (size_t j = 11; j < n && j < sizeof name; j++)
            name[j] = (char)(name[j] >= 'a' && name[j] <= 'z' ? name[j] - 32 : name[j]);
        const char *v = getenv(name);
        if (v != NULL && v[0]) {
            char origin[128];
            snprintf(origin, sizeof origin, "env %s", name);
            rc = put(c, (int)i, v, TTI_CFG_ENV, origin);
        }
    }
    return rc;
}

int tti_config_load(const char *path, int required, tti_config **out, char *err, size_t errlen)
{
    tti_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    c->path = path;
    int rc = path ? tti_ini_load(path, file_key, c, err, errlen) : TT_ENOTFOUND;
    if (rc == TT_ENOTFOUND)
        rc = required ? tti_err(err, errlen, TT_ENOTFOUND, "configuration file %s does not exist",
                                path ? path : "(none)")
                      : TT_OK;
    else if (rc == TT_EINVAL && c->bad_line > 0)
        tti_err(err, errlen, rc, "%s line %d: unknown key \"%s\"", path, c->bad_line, c->bad_key);
    else if (rc != TT_OK) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", err ? err : "");
        tti_err(err, errlen, rc, "%s: %s", path, detail);
    }
    c->path = NULL;
    if (rc == TT_OK && (rc = env_overrides(c)) != TT_OK)
        tti_err(err, errlen, rc, "out of memory");
    if (rc != TT_OK) {
        tti_config_free(c);
        return rc;
    }
    *out = c;
    return TT_OK;
}

void tti_config_free(tti_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        free(c->value[i]);
    free(c);
}

int tti_config_set(tti_config *c, const char *key, const char *value)
{
    int i = key_index(key);
    return i < 0 ? TT_EINVAL : put(c, i, value, TTI_CFG_FLAG, "flag");
}

const char *tti_config_get(const tti_config *c, const char *key)
{
    int i = key_index(key);
    if (i < 0)
        return NULL;
    return c->value[i] != NULL ? c->value[i] : keys[i].def;
}

tti_config_source tti_config_source_of(const tti_config *c, const char *key)
{
    int i = key_index(key);
    return i < 0 ? TTI_CFG_DEFAULT : c->source[i];
}

const char *tti_config_origin(const tti_config *c, const char *key)
{
    int i = key_index(key);
    return i < 0 || c->source[i] == TTI_CFG_DEFAULT ? "default" : c->origin[i];
}

const char *tti_config_key(size_t i)
{
    return i < NKEYS ? keys[i].name : NULL;
}

const char *tti_config_default(const char *key)
{
    int i = key_index(key);
    return i < 0 ? NULL : keys[i].def;
}

int tti_config_double(const tti_config *c, const char *key, double min, double max, double *out,
                      char *err, size_t errlen)
{
    const char *v = tti_config_get(c, key);
    if (v == NULL)
        return tti_err(err, errlen, TT_EINVAL, "%s: not set", key);
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !isfinite(d) || d < min || d > max)
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a number from %g to %g (got \"%s\")",
                       key, min, max, v);
    *out = d;
    return TT_OK;
}

int tti_config_int(const tti_config *c, const char *key, int64_t min, int64_t max, int64_t *out,
                   char *err, size_t errlen)
{
    const char *v = tti_config_get(c, key);
    if (v == NULL)
        return tti_err(err, errlen, TT_EINVAL, "%s: not set", key);
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > max)
        return tti_err(err, errlen, TT_EINVAL,
                       "%s: must be an integer from %lld to %lld (got \"%s\")", key, (long long)min,
                       (long long)max, v);
    *out = n;
    return TT_OK;
}

int tti_config_bool(const tti_config *c, const char *key, int *out, char *err, size_t errlen)
{
    const char *v = tti_config_get(c, key);
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; v != NULL && i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, TT_OK;
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, TT_OK;
    }
    return tti_err(err, errlen, TT_EINVAL, "%s: must be true or false (got \"%s\")", key,
                   v ? v : "");
}

int tti_config_is_secret(const char *key)
{
    int i = key_index(key);
    return i >= 0 && keys[i].secret != PLAIN;
}

/*
 * WARNING: secrets never reach a terminal or a log unless asked for. A URL keeps its
 * scheme and host (RFC 3986 3.2: userinfo@host:port) so the user can tell which one is
 * configured; its credentials go, and its path and query (a Slack or Discord webhook's
 * token, a password= parameter) are replaced by "/" and four stars. A file path (file:PATH,
 * /PATH)
 * is not a secret; anything else of a secret key (a libpq "password=..." string) is
 * masked whole.
 */
const char *tti_config_mask(const char *key, const char *value, char *buf, size_t len)
{
    int i = key_index(key);
    int secret = i < 0 ? SECRET : keys[i].secret;
    if (value == NULL || secret == PLAIN) {
        snprintf(buf, len, "%s", value ? value : "");
        return buf;
    }
    const char *scheme = strstr(value, "://");
    if (secret == SECRET || scheme == NULL || strcspn(value, ":/") != (size_t)(scheme - value)) {
        int path = secret == SECRET_URL && scheme == NULL &&
                   (strncmp(value, "file:", 5) == 0 || value[0] == '/' || value[0] == '.') &&
                   strpbrk(value, "?=") == NULL;
        snprintf(buf, len, "%s", path ? value : "********");
        return buf;
    }
    const char *host = scheme + 3;
    size_t auth = strcspn(host, "/?#"); /* the authority ends at the path, query or fragment */
    const char *at = memchr(host, '@', auth);
    if (at != NULL) {
        /* userinfo may itself hold '@' in a sloppy URL: the host follows the last one. */
        const char *p;
        while ((p = memchr(at + 1, '@', (size_t)(host + auth - (at + 1)))) != NULL)
            at = p;
        auth -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    snprintf(buf, len, "%.*s%.*s%s", (int)(scheme + 3 - value), value, (int)auth, host,
             host[auth] != '\0' ? "/****" : "");
    return buf;
}

const char *tti_store_uri_shown(const char *uri, char *buf, size_t len)
{
    if (strstr(uri, "://") != NULL)
        return tti_config_mask("db", uri, buf, len);
    snprintf(buf, len, "%s", strcasestr(uri, "password") != NULL ? "********" : uri);
    return buf;
}

void tti_config_print(const tti_config *c, FILE *f, int show_secrets)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const char *v = c->value[i] != NULL ? c->value[i] : keys[i].def;
        char masked[512];
        fprintf(f, "%-24s = %s", keys[i].name,
                v == NULL ? "(unset)"
                : show_secrets || keys[i].secret == PLAIN
                    ? v
                    : tti_config_mask(keys[i].name, v, masked, sizeof masked));
        fprintf(f, "    # %s\n", tti_config_origin(c, keys[i].name));
    }
}

/* An empty value turns a feature off, as an unset one does. */
const char *tti_config_value(const tti_config *c, const char *key)
{
    const char *v = c != NULL ? tti_config_get(c, key) : NULL;
    return v != NULL && v[0] != '\0' ? v : NULL;
}

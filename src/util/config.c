/* SPDX-License-Identifier: Apache-2.0 */
/* Effective configuration: defaults < INI file < environment < flags (see config.h). */
#include "util/config.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tradetrail.h"
#include "util/err.h"
#include "util/ini.h"

typedef struct key_def {
    const char *name;
    const char *def;
    int secret; /* 1: the whole value; 2: a URL whose credentials and path are secret */
} key_def;

/* SPEC 10, plus the server's metrics_public. */
static const key_def keys[] = {
    {"listen", "127.0.0.1:8080", 0},
    {"db", NULL, 2},
    {"cron_secret", NULL, 1},
    {"checkpoint_interval", "1", 0},
    {"metrics_public", "true", 0},
    {"reward_scale", "0.05", 0},
    {"neutral_band", "0.0005", 0},
    {"feedback_sink", NULL, 2},
    {"alert_webhook", NULL, 2},
    {"alert_webhook_format", "slack", 0},
    {"alert_events", NULL, 0},
    {"audit_email", NULL, 0},
    {"smtp_url", NULL, 2},
    {"smtp_from", NULL, 0},
    {"summary_title", "Daily Audit Summary", 0},
    {"min_retention_days", "0", 0},
    {"schedule_daily_summary", "0 0 * * *", 0},
    {"schedule_feedback_sync", "0 2 * * *", 0},
    {"schedule_retention", NULL, 0},
    {"schedule_checkpoint", NULL, 0},
};

#define NKEYS (sizeof keys / sizeof keys[0])

struct tti_config {
    char *value[NKEYS];
    tti_config_source source[NKEYS];
};

static int key_index(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int put(tti_config *c, int i, const char *value, tti_config_source src)
{
    char *dup = strdup(value);
    if (dup == NULL)
        return TT_ENOMEM;
    free(c->value[i]);
    c->value[i] = dup;
    c->source[i] = src;
    return TT_OK;
}

static int file_key(void *ctx, const char *key, const char *value, int line)
{
    (void)line;
    int i = key_index(key);
    return i < 0 ? TT_EINVAL : put(ctx, i, value, TTI_CFG_FILE);
}

/* The seed's QT_* names (SPEC 10): webhook, e-mail, and SMTP server + port as a URL. */
static int seed_env(tti_config *c)
{
    const char *v;
    int rc = TT_OK;
    if ((v = getenv("QT_ALERT_WEBHOOK")) != NULL && v[0])
        rc = put(c, key_index("alert_webhook"), v, TTI_CFG_ENV);
    if (rc == TT_OK && (v = getenv("QT_AUDIT_EMAIL")) != NULL && v[0])
        rc = put(c, key_index("audit_email"), v, TTI_CFG_ENV);
    const char *host = getenv("QT_SMTP_SERVER"), *port = getenv("QT_SMTP_PORT");
    if (rc == TT_OK && host != NULL && host[0]) {
        char url[512];
        snprintf(url, sizeof url, "smtp://%s:%s", host, port && port[0] ? port : "25");
        rc = put(c, key_index("smtp_url"), url, TTI_CFG_ENV);
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
        for (size_t j = 11; j < n; j++)
            name[j] = (char)(name[j] >= 'a' && name[j] <= 'z' ? name[j] - 32 : name[j]);
        const char *v = getenv(name);
        if (v != NULL && v[0])
            rc = put(c, (int)i, v, TTI_CFG_ENV);
    }
    return rc;
}

int tti_config_load(const char *path, int required, tti_config **out, char *err, size_t errlen)
{
    tti_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    int rc = path ? tti_ini_load(path, file_key, c, err, errlen) : TT_ENOTFOUND;
    if (rc == TT_ENOTFOUND)
        rc = required
                 ? tti_err(err, errlen, TT_ENOTFOUND, "configuration file %s does not exist", path)
                 : TT_OK;
    else if (rc == TT_EINVAL) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", err ? err : "");
        tti_err(err, errlen, rc, "%s: unknown key (%s)", path, detail);
    }
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
    return i < 0 ? TT_EINVAL : put(c, i, value, TTI_CFG_FLAG);
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

/* WARNING: secrets never reach a terminal or a log unless asked for. A URL keeps its
 * scheme and host so the user can tell which one is configured. */
static void print_masked(FILE *f, const char *v, int secret)
{
    if (secret == 1) {
        fputs("********", f);
        return;
    }
    const char *scheme = strstr(v, "://");
    if (scheme == NULL) {
        fputs(secret == 2 && strncmp(v, "file:", 5) != 0 ? "********" : v, f);
        return;
    }
    const char *host = scheme + 3, *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at != NULL && (slash == NULL || at < slash))
        host = at + 1;
    size_t hlen = slash ? (size_t)(slash - host) : strlen(host);
    fprintf(f, "%.*s%.*s%s", (int)(scheme + 3 - v), v, (int)hlen, host, slash ? "/****" : "");
}

void tti_config_print(const tti_config *c, FILE *f, int show_secrets)
{
    static const char *src[] = {"default", "file", "env", "flag"};
    for (size_t i = 0; i < NKEYS; i++) {
        const char *v = c->value[i] != NULL ? c->value[i] : keys[i].def;
        fprintf(f, "%-24s = ", keys[i].name);
        if (v == NULL)
            fputs("(unset)", f);
        else if (show_secrets || keys[i].secret == 0)
            fputs(v, f);
        else
            print_masked(f, v, keys[i].secret);
        fprintf(f, "    # %s\n", src[c->source[i]]);
    }
}

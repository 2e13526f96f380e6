/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal INI reader for tradetrail.conf (see ini.h for the accepted syntax). */
#include "util/ini.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tradetrail.h"
#include "util/err.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static char *unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

static int parse_line(char *line, int lineno, tti_ini_fn fn, void *ctx, char *err, size_t errlen)
{
    char *s = trim(line);
    if (*s == '\0' || *s == '#' || *s == ';' || *s == '[')
        return TT_OK;
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return tti_err(err, errlen, TT_EPARSE, "line %d: expected `key = value`", lineno);
    *eq = '\0';
    char *key = trim(s), *value = unquote(trim(eq + 1));
    if (*key == '\0')
        return tti_err(err, errlen, TT_EPARSE, "line %d: empty key", lineno);
    int rc = fn(ctx, key, value, lineno);
    if (rc != TT_OK)
        return tti_err(err, errlen, rc, "line %d: invalid value for %s", lineno, key);
    return TT_OK;
}

int tti_ini_load(const char *path, tti_ini_fn fn, void *ctx, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return errno == ENOENT
                   ? TT_ENOTFOUND
                   : tti_err(err, errlen, TT_EIO, "cannot read %s: %s", path, strerror(errno));
    char line[4096];
    int lineno = 0, rc = TT_OK;
    while (rc == TT_OK && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = tti_err(err, errlen, TT_EPARSE, "%s line %d: longer than %zu bytes", path, lineno,
                         sizeof line - 2);
            break;
        }
        rc = parse_line(line, lineno, fn, ctx, err, errlen);
    }
    if (rc == TT_OK && ferror(f))
        rc = tti_err(err, errlen, TT_EIO, "cannot read %s", path);
    fclose(f);
    return rc;
}

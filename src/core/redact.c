/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Redaction of metadata keys (SPEC 15). One set per process, read by the metadata
 * normaliser (event_json.c) on every path into the ledger and changed only at start-up
 * (tt_redact_keys_set, from redact_keys): so the HTTP bodies, NDJSON, the command line and
 * direct library callers all store the same redacted form, and the leaf hash covers it.
 */
#include "core/redact.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tradetrail.h"
#include "util/err.h"

typedef struct redact_set {
    uint64_t lengths; /* bit k: some name is k bytes long, so other keys skip the compare */
    size_t n;
    unsigned char len[TTI_REDACT_MAX_KEYS];
    char lower0[TTI_REDACT_MAX_KEYS]; /* each name's first byte, lower-cased */
    char name[TTI_REDACT_MAX_KEYS][TTI_REDACT_KEY_MAX + 1];
    char list[TTI_REDACT_MAX_KEYS * (TTI_REDACT_KEY_MAX + 2)]; /* as given, normalised */
} redact_set;

/* The default set, TT_REDACT_DEFAULT, written out so that no first use has to build it
 * (readers on many threads, no lock): tests/unit/test_redact.c checks it equals the parse. */
static redact_set active = {
    .lengths = 1ull << 7 | 1ull << 6 | 1ull << 8 | 1ull << 10 | 1ull << 5 | 1ull << 11,
    .n = 7,
    .len = {7, 6, 6, 8, 10, 5, 11},
    .lower0 = {'a', 'a', 's', 'p', 'p', 't', 'p'},
    .name = {"api_key", "apikey", "secret", "password", "passphrase", "token", "private_key"},
    .list = TT_REDACT_DEFAULT,
};

/* Parse list into s; TT_EINVAL with a message for a bad entry. */
static int parse(const char *list, redact_set *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (strcmp(list, "none") == 0 || strcmp(list, "") == 0)
        return TT_OK;
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        const char *item = p;
        p += len + (p[len] == ',');
        while (len > 0 && (*item == ' ' || *item == '\t'))
            item++, len--;
        while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            len--;
        if (len == 0)
            continue;
        if (len > TTI_REDACT_KEY_MAX)
            return tti_err(err, errlen, TT_EINVAL,
                           "redact_keys: \"%.20s...\" is longer than %d bytes", item,
                           TTI_REDACT_KEY_MAX);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)item[i] < 0x20 || item[i] == 0x7f || item[i] == '"')
                return tti_err(err, errlen, TT_EINVAL,
                               "redact_keys: a key name holds a control character or '\"'");
        if (s->n == TTI_REDACT_MAX_KEYS)
            return tti_err(err, errlen, TT_EINVAL, "redact_keys: at most %d keys",
                           TTI_REDACT_MAX_KEYS);
        memcpy(s->name[s->n], item, len);
        s->len[s->n] = (unsigned char)len;
        s->lower0[s->n] = item[0] >= 'A' && item[0] <= 'Z' ? (char)(item[0] + 32) : item[0];
        s->lengths |= 1ull << len;
        size_t used = strlen(s->list);
        snprintf(s->list + used, sizeof s->list - used, "%s%.*s", s->n ? "," : "", (int)len, item);
        s->n++;
    }
    return TT_OK;
}

int tt_redact_keys_set(const char *list, char *err, size_t errlen)
{
    redact_set s;
    int rc = parse(list != NULL ? list : TT_REDACT_DEFAULT, &s, err, errlen);
    if (rc != TT_OK)
        return rc;
    active = s;
    return TT_OK;
}

const char *tt_redact_keys_get(void)
{
    return active.list;
}

int tti_redact_match(const char *key, size_t len)
{
    if (len > TTI_REDACT_KEY_MAX || !(active.lengths & (1ull << len)))
        return 0;
    /* The first byte, lower-cased, before the library call: most keys of a matching length
     * differ there. */
    char c = key[0] >= 'A' && key[0] <= 'Z' ? (char)(key[0] + 32) : key[0];
    for (size_t i = 0; i < active.n; i++)
        if (active.len[i] == len && active.lower0[i] == c &&
            strncasecmp(active.name[i], key, len) == 0)
            return 1;
    return 0;
}

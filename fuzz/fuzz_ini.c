/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for tti_ini_load, the tradetrail.conf reader. The input is written to a
 * memfd and read back through /proc/self/fd/N, so the parser runs unchanged on a real file.
 * Beyond not crashing: every key and value it reports, their line numbers and the final
 * status must match a second, naive reading of the same bytes written from the syntax in
 * ini.h (a key "fail" makes the callback refuse its value, to cover that path too).
 */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "tradetrail.h"
#include "util/ini.h"

#define LINE_MAX_BYTES 4094 /* ini.c reads lines into 4096 bytes: content, '\n', NUL */

typedef struct pair {
    const char *key, *value; /* into the naive reader's copy of the input */
    size_t nkey, nvalue;
    int line;
} pair;

typedef struct seen {
    const pair *want;
    size_t nwant, n;
} seen;

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fd = memfd_create("fuzz_ini", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Leading spaces and tabs; trailing spaces, tabs, CR and LF. */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank(**s))
        (*s)++, (*n)--;
    while (*n > 0 && (is_blank((*s)[*n - 1]) || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
        (*n)--;
}

/*
 * The expected result: fills want[] (room for len / 2 + 1 pairs: each takes at least
 * "k=" and a newline) and returns the status. Lines are what fgets sees: a
 * line longer than LINE_MAX_BYTES, or one holding a NUL before its newline, is refused as
 * too long (fgets cannot tell a NUL from the end of its buffer); a NUL in the last,
 * unterminated line cuts it there.
 */
static int naive_load(const char *p, size_t len, pair *want, size_t *nwant)
{
    int line = 0;
    *nwant = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(p + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
        const char *s = p + i;
        line++;
        i += n + 1;
        if (n > LINE_MAX_BYTES || (nl != NULL && memchr(s, '\0', n) != NULL))
            return TT_EPARSE;
        const char *nul = memchr(s, '\0', n);
        if (nul != NULL)
            n = (size_t)(nul - s);
        trim(&s, &n);
        if (n == 0 || *s == '#' || *s == ';' || *s == '[')
            continue;
        const char *eq = memchr(s, '=', n);
        if (eq == NULL)
            return TT_EPARSE;
        const char *key = s, *value = eq + 1;
        size_t nkey = (size_t)(eq - s), nvalue = n - nkey - 1;
        trim(&key, &nkey);
        trim(&value, &nvalue);
        if (nkey == 0)
            return TT_EPARSE;
        if (nvalue >= 2 && (value[0] == '"' || value[0] == '\'') && value[nvalue - 1] == value[0])
            value++, nvalue -= 2;
        want[(*nwant)++] = (pair){key, value, nkey, nvalue, line};
        if (nkey == 4 && memcmp(key, "fail", 4) == 0)
            return TT_EINVAL;
    }
    return TT_OK;
}

static int on_key(void *ctx, const char *key, const char *value, int line)
{
    seen *sn = ctx;
    FUZZ_CHECK(sn->n < sn->nwant);
    const pair *w = &sn->want[sn->n++];
    if (strlen(key) != w->nkey || memcmp(key, w->key, w->nkey) != 0 || strlen(value) != w->nvalue ||
        memcmp(value, w->value, w->nvalue) != 0 || line != w->line)
        fprintf(stderr, "line %d: got [%s] = [%s], want line %d [%.*s] = [%.*s]\n", line, key,
                value, w->line, (int)w->nkey, w->key, (int)w->nvalue, w->value);
    FUZZ_CHECK(strlen(key) == w->nkey && memcmp(key, w->key, w->nkey) == 0);
    FUZZ_CHECK(strlen(value) == w->nvalue && memcmp(value, w->value, w->nvalue) == 0);
    FUZZ_CHECK(line == w->line);
    return strcmp(key, "fail") == 0 ? TT_EINVAL : TT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pair *want = malloc((size / 2 + 1) * sizeof *want);
    FUZZ_CHECK(want != NULL);
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);

    seen sn = {want, 0, 0};
    int expect = naive_load((const char *)data, size, want, &sn.nwant);
    char err[512] = "";
    int rc = tti_ini_load(path, on_key, &sn, err, sizeof err);
    if (rc != expect)
        fprintf(stderr, "tti_ini_load: %s (%s), expected %s\n", tt_strerror(rc), err,
                tt_strerror(expect));
    FUZZ_CHECK(rc == expect);
    FUZZ_CHECK(sn.n == sn.nwant);
    if (rc != TT_OK)
        FUZZ_CHECK_ERRMSG(err);
    free(want);
    return 0;
}

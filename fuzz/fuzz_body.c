/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for tt_events_parse_body, the request-body parser (one object, an array,
 * or NDJSON; the first input byte's low bit chooses ndjson; its high bit repeats the rest
 * of the input up to 4 MiB, so bodies reach the limits of SPEC 3.1). Beyond not crashing: a
 * failure leaves the out-parameters alone and says why; on success every event validates,
 * its metadata nests at most TT_MAX_METADATA_DEPTH deep, NDJSON yields one event per
 * non-blank line, and the same lines sent as a JSON array yield the same events (same leaf
 * hashes). Either way jansson never holds more than a few times the body (issue 13 item 5:
 * 16 MiB of zeros used to take 721 MB): its allocations are counted.
 */
#include <jansson.h>

#include "fuzz.h"

#include "tradetrail.h"

/* jansson's live and peak bytes while the body is parsed. */
static size_t mem_now, mem_peak;

static void *count_malloc(size_t n)
{
    size_t *p = malloc(n + 2 * sizeof(size_t));
    if (p == NULL)
        return NULL;
    p[0] = n;
    mem_now += n;
    if (mem_now > mem_peak)
        mem_peak = mem_now;
    return p + 2;
}

static void count_free(void *q)
{
    if (q == NULL)
        return;
    size_t *p = (size_t *)q - 2;
    mem_now -= p[0];
    free(p);
}

/* The deepest nesting of a JSON text that parsed (brackets outside strings). Written again
 * here rather than taken from json_scan.c, so that the two can disagree. */
static size_t depth_of(const char *s)
{
    size_t d = 0, max = 0;
    int in_str = 0;
    for (; *s; s++) {
        if (in_str) {
            if (*s == '\\' && s[1] != '\0')
                s++;
            else if (*s == '"')
                in_str = 0;
        } else if (*s == '"') {
            in_str = 1;
        } else if (*s == '{' || *s == '[') {
            if (++d > max)
                max = d;
        } else if (*s == '}' || *s == ']') {
            d--;
        }
    }
    return max;
}

/* Lines of an NDJSON body that hold something besides spaces and tabs (a trailing '\r' of
 * a line is part of its end). Written again here rather than shared with body.c, so that
 * the two can disagree. */
static size_t count_events(const char *p, size_t len, const char **starts, size_t *lens)
{
    size_t n = 0, i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && p[j] != '\n')
            j++;
        size_t k = j;
        if (k > i && p[k - 1] == '\r')
            k--;
        int blank = 1;
        for (size_t x = i; x < k; x++)
            if (p[x] != ' ' && p[x] != '\t')
                blank = 0;
        if (!blank) {
            if (starts != NULL) {
                starts[n] = p + i;
                lens[n] = k - i;
            }
            n++;
        }
        i = j + 1;
    }
    return n;
}

static void leaf_hashes(const tt_event *events, size_t n, uint8_t (*out)[TT_HASH_SIZE])
{
    char err[512];
    for (size_t i = 0; i < n; i++) {
        tt_event ev = events[i];
        FUZZ_CHECK(tt_event_validate(&ev, err, sizeof err) == TT_OK);
        FUZZ_CHECK(ev.metadata == NULL || depth_of(ev.metadata) <= TT_MAX_METADATA_DEPTH);
        ev.seq = (int64_t)i + 1;
        ev.ts_us = 0;
        FUZZ_CHECK(tt_event_leaf_hash(&ev, out[i]) == TT_OK);
    }
}

/* Wrapping lines in an array adds a level of nesting, which can cross jansson's depth
 * limit of 2048: skip the comparison when the body could come near it. */
static int deep(const char *p, size_t len)
{
    size_t open = 0;
    for (size_t i = 0; i < len; i++)
        open += p[i] == '[' || p[i] == '{';
    return open > 1000;
}

/* "[" line "," line ... "]" must give the events the NDJSON form gave. */
static void same_as_array(const char *body, size_t len, size_t n,
                          const uint8_t (*expect)[TT_HASH_SIZE])
{
    const char **starts = malloc(n * sizeof *starts);
    size_t *lens = malloc(n * sizeof *lens);
    char *arr = malloc(len + n + 2), *q = arr;
    FUZZ_CHECK(starts != NULL && lens != NULL && arr != NULL);
    FUZZ_CHECK(count_events(body, len, starts, lens) == n);
    *q++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *q++ = ',';
        memcpy(q, starts[i], lens[i]);
        q += lens[i];
    }
    *q++ = ']';

    tt_event *events = NULL;
    size_t m = 0;
    void *owner = NULL;
    int is_batch = -1;
    char err[512];
    int rc = tt_events_parse_body(arr, (size_t)(q - arr), 0, &events, &m, &owner, &is_batch, err,
                                  sizeof err);
    if (rc != TT_OK)
        fprintf(stderr, "array form refused: %s\n", err);
    FUZZ_CHECK(rc == TT_OK && m == n && is_batch == 1);
    uint8_t(*got)[TT_HASH_SIZE] = malloc(n * TT_HASH_SIZE);
    FUZZ_CHECK(got != NULL);
    leaf_hashes(events, m, got);
    FUZZ_CHECK(memcmp(got, expect, n * TT_HASH_SIZE) == 0);
    free(got);
    tt_events_free_body(events, m, owner);
    free(arr);
    free(lens);
    free(starts);
}

static int check_body(const char *body, size_t len, int ndjson);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int ndjson = data[0] & 1;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if (!(data[0] & 0x80) || len == 0)
        return check_body(body, len, ndjson);
    /* Repeated up to 4 MiB: long arrays, deep nesting, many lines. */
    size_t big = 4u << 20, n = big / len * len;
    char *rep = malloc(n);
    FUZZ_CHECK(rep != NULL);
    for (size_t o = 0; o < n; o += len)
        memcpy(rep + o, body, len);
    check_body(rep, n, ndjson);
    free(rep);
    return 0;
}

static int check_body(const char *body, size_t len, int ndjson)
{
    static char sentinel;

    tt_event *events = (tt_event *)&sentinel;
    size_t n = 12345;
    void *owner = &sentinel;
    int is_batch = -1;
    char err[512];
    mem_now = mem_peak = 0;
    json_set_alloc_funcs(count_malloc, count_free);
    int rc =
        tt_events_parse_body(body, len, ndjson, &events, &n, &owner, &is_batch, err, sizeof err);
    json_set_alloc_funcs(malloc, free);
    /* One event's tree at a time, each bounded by the limits: never the whole body's. */
    if (mem_peak > (16u << 20) + 4 * len)
        fprintf(stderr, "jansson peaked at %zu bytes for a body of %zu\n", mem_peak, len);
    FUZZ_CHECK(mem_peak <= (16u << 20) + 4 * len);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL || rc == TT_EPARSE || rc == TT_ETOOBIG);
        FUZZ_CHECK(events == (tt_event *)&sentinel && n == 12345 && owner == &sentinel &&
                   is_batch == -1);
        FUZZ_CHECK_ERRMSG(err);
        return 0;
    }
    FUZZ_CHECK(events != NULL && n >= 1 && n <= TT_MAX_BATCH);
    FUZZ_CHECK(is_batch == 0 || is_batch == 1);
    if (!is_batch)
        FUZZ_CHECK(!ndjson && n == 1);
    if (ndjson)
        FUZZ_CHECK(is_batch && n == count_events(body, len, NULL, NULL));

    uint8_t(*hashes)[TT_HASH_SIZE] = malloc(n * TT_HASH_SIZE);
    FUZZ_CHECK(hashes != NULL);
    leaf_hashes(events, n, hashes);
    if (ndjson && !deep(body, len))
        same_as_array(body, len, n, (const uint8_t(*)[TT_HASH_SIZE])hashes);
    free(hashes);
    tt_events_free_body(events, n, owner);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the bench programs share (SPEC 13): the deterministic event generator, so that the
 * library, the raw-SQLite baseline and the seed design on PostgreSQL insert the same
 * events, and the small helpers for timing and printing "figure" lines.
 */
#include "bench_common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *bench_prog = "bench";

/* ---------------------------------------------------------------------------------------
 * Small helpers: time, numbers, output
 * ------------------------------------------------------------------------------------- */

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

long long parse_count(const char *s, const char *what, long long min, long long max)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        die("%s: not a valid count: %s", what, s);
    return v;
}

double parse_seconds(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 3600)
        die("seconds: not a valid duration: %s", s);
    return v;
}

void figure(const char *name, double value, const char *unit)
{
    printf("figure %s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
double percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank > n ? n - 1 : rank - 1];
}

void latency_figures(const char *name, double *us, size_t n)
{
    char key[64];
    qsort(us, n, sizeof *us, cmp_double);
    snprintf(key, sizeof key, "%s_p50", name);
    figure(key, percentile(us, n, 50), "us");
    snprintf(key, sizeof key, "%s_p99", name);
    figure(key, percentile(us, n, 99), "us");
    snprintf(key, sizeof key, "%s_max", name);
    figure(key, n ? us[n - 1] : 0, "us");
}

/* ---------------------------------------------------------------------------------------
 * Deterministic event generator
 * ------------------------------------------------------------------------------------- */

/* splitmix64: tiny, fast, and the same sequence on every machine. */
uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

unsigned rng_below(uint64_t *state, unsigned n)
{
    return (unsigned)(rng_next(state) % n);
}

#define N_ACTORS 20
#define N_TYPES 10
#define N_STATUSES 7

/* Ten of the seed's StrategyEventType values (DELETED left out). */
static const char *const event_types[N_TYPES] = {
    "CREATED",      "ACTIVATED",   "CLOSED",     "ARCHIVED",    "FAILED",
    "YAML_UPDATED", "ROLLED_BACK", "SWAPPED_IN", "SWAPPED_OUT", "STATUS_CHANGED"};

static const char *const statuses[N_STATUSES] = {"DRAFT",  "TESTING",  "ACTIVE", "PAUSED",
                                                 "CLOSED", "ARCHIVED", "FAILED"};

static const char *const actors[N_ACTORS] = {
    "system",   "evaluator", "orchestrator", "scheduler", "user_alice", "user_bob",  "user_carol",
    "user_dan", "user_erin", "user_frank",   "user_gina", "user_hugo",  "user_ines", "user_jon",
    "user_kim", "user_lea",  "user_max",     "user_nora", "user_omar",  "user_pia"};

const char *const words[] = {
    "strategy", "activated",  "after",     "evaluation", "window",    "sharpe",    "ratio",
    "exceeded", "threshold",  "drawdown",  "limit",      "breached",  "swapped",   "out",
    "in",       "favour",     "of",        "higher",     "ranked",    "candidate", "manual",
    "override", "by",         "operator",  "nightly",    "rebalance", "position",  "closed",
    "market",   "volatility", "spike",     "detected",   "paused",    "pending",   "review",
    "yaml",     "updated",    "new",       "parameters", "rolled",    "back",      "previous",
    "version",  "failed",     "compile",   "validation", "error",     "missing",   "signal",
    "momentum", "mean",       "reversion", "pairs",      "trade",     "btc",       "eth",
    "usdt",     "spread",     "widened",   "liquidity",  "thin",      "order",     "book",
    "slippage", "above",      "budget",    "risk",       "desk",      "approved",  "rejected",
    "archived", "deprecated", "duplicate", "backtest",   "passed",    "walk",      "forward",
    "test",     "stable",     "returns",   "weekly",     "daily",     "hourly",    "feedback",
    "model",    "score",      "improved",  "degraded",   "retrain",   "scheduled", "cooldown",
    "expired",  "capital",    "allocated", "reduced",    "increased", "exposure",  "hedge",
    "stop",     "loss",       "triggered", "take",       "profit",    "target",    "reached",
    "latency",  "exchange",   "outage",    "recovered",  "restart",   "health",    "check",
    "ok",       "alert",      "sent",      "slack",      "channel",   "audit",     "trail"};
const size_t n_words = sizeof words / sizeof words[0];

static const char *arena_dup(arena *a, const char *s, size_t len)
{
    if (a->block == NULL || a->cap - a->used < len + 1) {
        char *b = malloc(1 << 20);
        if (b == NULL)
            die("out of memory");
        memcpy(b, &a->block, sizeof(char *));
        a->block = b;
        a->cap = 1 << 20;
        a->used = sizeof(char *);
    }
    char *p = a->block + a->used;
    memcpy(p, s, len);
    p[len] = '\0';
    a->used += len + 1;
    return p;
}

void arena_free(arena *a)
{
    while (a->block != NULL) {
        char *prev;
        memcpy(&prev, a->block, sizeof prev);
        free(a->block);
        a->block = prev;
    }
}

/* ~1000 subjects: 70 % strategies (cuid-like ids as in the seed), then orders, AI feedback
 * records and maintenance jobs. The pool depends only on the seed, never on N. */
void make_subjects(subject *pool)
{
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t st = 0x5eed0001;
    for (unsigned i = 0; i < N_SUBJECTS; i++) {
        subject *s = &pool[i];
        unsigned kind = i % 20;
        if (kind < 14) {
            s->entity = "strategy";
            s->id[0] = 'c';
            s->id[1] = 'l';
            for (int k = 2; k < 25; k++)
                s->id[k] = b36[rng_below(&st, 36)];
            s->id[25] = '\0';
        } else if (kind < 17) {
            s->entity = "order";
            snprintf(s->id, sizeof s->id, "ord-%06u", i * 7919 % 1000000);
        } else if (kind < 19) {
            s->entity = "ai_feedback";
            snprintf(s->id, sizeof s->id, "fb-%05u", i);
        } else {
            s->entity = "maintenance";
            snprintf(s->id, sizeof s->id, "job-%04u", i);
        }
    }
}

static size_t put_words(uint64_t *st, char *buf, size_t cap, size_t len, size_t target)
{
    while (len < target) {
        const char *w = words[rng_below(st, (unsigned)n_words)];
        size_t wl = strlen(w);
        if (len + wl + 2 >= cap)
            break;
        if (len > 0)
            buf[len++] = ' ';
        memcpy(buf + len, w, wl);
        len += wl;
    }
    buf[len] = '\0';
    return len;
}

/* Generate n events with a fixed seed: the same events for the library and the baseline. */
tt_event *make_events(size_t n, const subject *pool, arena *a)
{
    tt_event *ev = calloc(n, sizeof *ev);
    if (ev == NULL)
        die("out of memory for events");
    uint64_t st = 0x5eed0002;
    char buf[256];
    for (size_t i = 0; i < n; i++) {
        tt_event *e = &ev[i];
        tt_event_init(e);
        const subject *s = &pool[rng_below(&st, N_SUBJECTS)];
        e->entity = s->entity;
        e->entity_id = s->id;
        e->event_type = event_types[rng_below(&st, N_TYPES)];
        e->actor = actors[rng_below(&st, N_ACTORS)];
        if (rng_below(&st, 10) < 6) {
            unsigned o = rng_below(&st, N_STATUSES);
            e->old_status = statuses[o];
            e->new_status = statuses[(o + 1 + rng_below(&st, N_STATUSES - 1)) % N_STATUSES];
        }
        /* Reason: 40-120 characters of words (the longest word is 10 characters). */
        size_t len = put_words(&st, buf, sizeof buf, 0, 40 + rng_below(&st, 70));
        e->reason = arena_dup(a, buf, len);
        /* Metadata: a compact JSON object of about 60-100 bytes. */
        int m = snprintf(buf, sizeof buf, "{\"run\":\"r%06u\",\"score\":0.%04u,\"window\":\"%ud\",",
                         rng_below(&st, 1000000), rng_below(&st, 10000), 1 + rng_below(&st, 90));
        size_t target = 60 + rng_below(&st, 41);
        size_t mlen = (size_t)m;
        memcpy(buf + mlen, "\"tag\":\"", 7);
        mlen += 7;
        while (mlen + 2 < target)
            buf[mlen++] = (char)('a' + rng_below(&st, 26));
        memcpy(buf + mlen, "\"}", 3);
        mlen += 2;
        /* The form the ledger stores (numbers as jansson prints them), as a client sends. */
        char *norm = NULL, err[256];
        if (tt_metadata_normalize(buf, mlen, &norm, err, sizeof err) != TT_OK)
            die("generated metadata refused: %s", err);
        e->metadata = arena_dup(a, norm, strlen(norm));
        tt_free(norm);
    }
    return ev;
}

/* A cuid-like id, time-ordered as the seed's Prisma @default(cuid()). */
void make_cuid(char out[26], uint64_t *st, uint64_t counter)
{
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t ms = (uint64_t)(tt_time_now_us() / 1000);
    out[0] = 'c';
    for (int k = 8; k >= 1; k--, ms /= 36)
        out[k] = b36[ms % 36];
    for (int k = 12; k >= 9; k--, counter /= 36)
        out[k] = b36[counter % 36];
    uint64_t r = rng_next(st);
    for (int k = 13; k < 25; k++, r /= 36)
        out[k] = b36[r % 36];
    out[25] = '\0';
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection (curl's torture mode, SQLite's I/O-error and OOM tests): a store wrapper
 * fails the Nth write-path call with TT_EIO or TT_ENOSPC, and malloc/calloc/realloc
 * (wrapped at link time with -Wl,--wrap) fail the Nth allocation, for N = 1, 2, 3, ...
 * until the operation gets through. Every failure must be a clean error with a message,
 * leak nothing and leave the ledger exactly as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"
#include "store/store.h"

/* ---- allocation failures -------------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

/* Armed when > 0: the allocation that brings it to 0 fails. Only this library's and this
 * file's allocations pass through here; SQLite, jansson, OpenSSL and libc internals (strdup)
 * allocate on their own. */
static long alloc_countdown;
static int alloc_fired;
static long alloc_seen;

/* Allocations made while tracking is on, so a failed call can be checked for leaks even
 * without LeakSanitizer. */
#define TRACK_MAX 4096
static int tracking;
static void *tracked[TRACK_MAX];
static size_t n_tracked;
static int track_overflow;

static int alloc_should_fail(void)
{
    if (alloc_countdown <= 0)
        return 0;
    alloc_seen++;
    if (--alloc_countdown > 0)
        return 0;
    alloc_fired = 1;
    return 1;
}

static void track(void *p)
{
    if (!tracking || p == NULL)
        return;
    if (n_tracked == TRACK_MAX) {
        track_overflow = 1;
        return;
    }
    tracked[n_tracked++] = p;
}

static void untrack(void *p)
{
    for (size_t i = 0; p != NULL && i < n_tracked; i++)
        if (tracked[i] == p) {
            tracked[i] = tracked[--n_tracked];
            return;
        }
}

void *__wrap_malloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    void *p = __real_malloc(n);
    track(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    void *p = __real_calloc(n, size);
    track(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    void *q = __real_realloc(p, n);
    if (q != NULL) {
        untrack(p);
        track(q);
    }
    return q;
}

void __wrap_free(void *p)
{
    untrack(p);
    __real_free(p);
}

static void alloc_arm(long n)
{
    alloc_fired = 0;
    alloc_seen = 0;
    alloc_countdown = n;
}

static void alloc_disarm(void)
{
    alloc_countdown = 0;
}

static void track_start(void)
{
    n_tracked = 0;
    track_overflow = 0;
    tracking = 1;
}

/* Stop tracking; fail when something allocated since track_start is still live. */
static void track_expect_none(const char *what, long n)
{
    tracking = 0;
    assert_false(track_overflow);
    if (n_tracked != 0)
        fail_msg("%s with allocation %ld failing: %zu allocations leaked", what, n, n_tracked);
}

/* ---- the failing store ---------------------------------------------------------------- */

/* Armed when > 0: the write-path call that brings it to 0 fails with fault_rc. */
static long fault_countdown;
static int fault_rc;
static int fault_fired;
static int fault_last; /* the latest wrapped call was the injected failure */
static unsigned long fault_serial;
static char fault_msg[128];
static long fault_calls;

static int inject(const char *what)
{
    fault_last = 0;
    if (fault_countdown <= 0)
        return TT_OK;
    fault_calls++;
    if (--fault_countdown > 0)
        return TT_OK;
    /* Like a real backend, a failure leaves a message: a unique one, so a stale message
     * from an earlier failure cannot pass for it. */
    snprintf(fault_msg, sizeof fault_msg, "injected %s #%lu in %s", tt_strerror(fault_rc),
             ++fault_serial, what);
    fault_fired = 1;
    fault_last = 1;
    return fault_rc;
}

static const char *f_errmsg(tti_store *s)
{
    return fault_last ? fault_msg : tti_sqlite_ops.errmsg(s);
}

static int f_begin_write(tti_store *s)
{
    int rc = inject("begin_write");
    return rc != TT_OK ? rc : tti_sqlite_ops.begin_write(s);
}

static int f_commit(tti_store *s)
{
    int rc = inject("commit");
    return rc != TT_OK ? rc : tti_sqlite_ops.commit(s);
}

static int f_read_head(tti_store *s, tti_head *out)
{
    int rc = inject("read_head");
    return rc != TT_OK ? rc : tti_sqlite_ops.read_head(s, out);
}

static int f_write_head(tti_store *s, const tti_head *h)
{
    int rc = inject("write_head");
    return rc != TT_OK ? rc : tti_sqlite_ops.write_head(s, h);
}

static int f_idem_lookup(tti_store *s, const char *key, int64_t *seq, int64_t *ts_us,
                         uint8_t leaf[TT_HASH_SIZE], char principal[TT_MAX_PRINCIPAL + 1])
{
    int rc = inject("idem_lookup");
    return rc != TT_OK ? rc : tti_sqlite_ops.idem_lookup(s, key, seq, ts_us, leaf, principal);
}

static int f_insert_event(tti_store *s, const tt_event *ev)
{
    int rc = inject("insert_event");
    return rc != TT_OK ? rc : tti_sqlite_ops.insert_event(s, ev);
}

static int f_get_tile(tti_store *s, unsigned level, uint64_t index, uint8_t (*buf)[TT_HASH_SIZE],
                      size_t *n)
{
    int rc = inject("get_tile");
    return rc != TT_OK ? rc : tti_sqlite_ops.get_tile(s, level, index, buf, n);
}

static int f_put_tile(tti_store *s, unsigned level, uint64_t index,
                      const uint8_t (*hashes)[TT_HASH_SIZE], size_t n)
{
    int rc = inject("put_tile");
    return rc != TT_OK ? rc : tti_sqlite_ops.put_tile(s, level, index, hashes, n);
}

static int f_put_checkpoint(tti_store *s, const tti_cp_row *cp)
{
    int rc = inject("put_checkpoint");
    return rc != TT_OK ? rc : tti_sqlite_ops.put_checkpoint(s, cp);
}

static tti_store_ops fault_ops;

static void fault_arm(long n, int rc)
{
    fault_fired = 0;
    fault_calls = 0;
    fault_rc = rc;
    fault_countdown = n;
}

static void fault_disarm(void)
{
    fault_countdown = 0;
    fault_last = 0;
}

/* ---- fixture -------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    tt_ledger *l;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static tt_ledger *open_ledger(const char *dir, int create)
{
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = dir;
    o.create = create;
    tt_ledger *l = NULL;
    char err[512] = "";
    int rc = tt_ledger_open(&o, &l, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("tt_ledger_open(%s): %s: %s", dir, tt_strerror(rc), err);
    return l;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-faults-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fault_ops = tti_sqlite_ops;
    fault_ops.name = "sqlite+faults";
    fault_ops.errmsg = f_errmsg;
    fault_ops.begin_write = f_begin_write;
    fault_ops.commit = f_commit;
    fault_ops.read_head = f_read_head;
    fault_ops.write_head = f_write_head;
    fault_ops.idem_lookup = f_idem_lookup;
    fault_ops.insert_event = f_insert_event;
    fault_ops.get_tile = f_get_tile;
    fault_ops.put_tile = f_put_tile;
    fault_ops.put_checkpoint = f_put_checkpoint;
    tti_store_override = &fault_ops;
    fault_disarm();
    alloc_disarm();
    f->l = open_ledger(f->dir, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fault_disarm();
    alloc_disarm();
    tt_ledger_close(f->l);
    tti_store_override = NULL;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers -------------------------------------------------------------------------- */

typedef struct snapshot {
    int64_t size;
    uint8_t root[TT_HASH_SIZE];
    int64_t cp_size; /* -1 when no checkpoint */
    int64_t cps;     /* checkpoints verified */
} snapshot;

static void take(tt_ledger *l, snapshot *s)
{
    assert_int_equal(tt_ledger_head(l, &s->size, s->root), TT_OK);
    tt_checkpoint cp;
    int rc = tt_ledger_checkpoint_latest(l, &cp);
    assert_true(rc == TT_OK || rc == TT_ENOTFOUND);
    s->cp_size = rc == TT_OK ? cp.tree_size : -1;
    if (rc == TT_OK)
        tt_checkpoint_clear(&cp);
    tt_verify_report rep;
    rc = tt_ledger_verify(l, NULL, NULL, &rep);
    if (rc != TT_OK)
        fail_msg("tt_ledger_verify: %s: %s", tt_strerror(rc), rep.message);
    assert_int_equal(rep.events_checked, s->size);
    s->cps = rep.checkpoints_checked;
}

/* The ledger is exactly as it was: same head, same latest checkpoint, and it verifies. */
static void assert_unchanged(tt_ledger *l, const snapshot *before, const char *what, long n)
{
    snapshot now;
    take(l, &now);
    if (now.size != before->size || memcmp(now.root, before->root, TT_HASH_SIZE) != 0 ||
        now.cp_size != before->cp_size || now.cps != before->cps)
        fail_msg("%s failing at %ld changed the ledger: size %lld -> %lld, checkpoint %lld -> "
                 "%lld",
                 what, n, (long long)before->size, (long long)now.size, (long long)before->cp_size,
                 (long long)now.cp_size);
}

static void fill(tt_ledger *l, int n)
{
    tt_event ev[50];
    tt_append_result res[50];
    while (n > 0) {
        int k = n < 50 ? n : 50;
        for (int i = 0; i < k; i++) {
            tt_event_init(&ev[i]);
            ev[i].entity = "order";
            ev[i].entity_id = "prefill";
            ev[i].event_type = "RECORD";
            ev[i].actor = "tester";
        }
        int rc = tt_ledger_append(l, ev, (size_t)k, res);
        if (rc != TT_OK)
            fail_msg("prefill: %s: %s", tt_strerror(rc), tt_ledger_errmsg(l));
        n -= k;
    }
}

#define BATCH 300

typedef struct batch {
    tt_event ev[BATCH];
    char ids[BATCH][32];
    char keys[BATCH][32];
    char *long_reason;
} batch;

/* A batch that interns new names, uses idempotency keys (one repeated inside the batch)
 * and has an event too large for the leaf encoder's stack buffer. */
static batch *make_batch(size_t n)
{
    batch *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->long_reason = malloc(3001);
    assert_non_null(b->long_reason);
    memset(b->long_reason, 'x', 3000);
    b->long_reason[3000] = '\0';
    for (size_t i = 0; i < n; i++) {
        tt_event *e = &b->ev[i];
        tt_event_init(e);
        snprintf(b->ids[i], sizeof b->ids[i], "fault-%zu", i % 40);
        snprintf(b->keys[i], sizeof b->keys[i], "fault-key-%zu", i);
        e->entity = i % 2 ? "fault_entity" : "order";
        e->entity_id = b->ids[i];
        e->event_type = i % 3 ? "FAULTED" : "RECORD";
        e->actor = i % 5 ? "fault-actor" : "tester";
        e->new_status = i % 4 == 0 ? "BROKEN" : NULL;
        e->reason = i == 7 ? b->long_reason : "fault injection";
        e->metadata = i % 6 == 0 ? "{\"i\":1}" : NULL;
        e->idempotency_key = i % 3 == 0 ? b->keys[i] : NULL;
    }
    if (n > 10)
        b->ev[n - 1] = b->ev[3]; /* a repeat within the batch: same key, same content */
    return b;
}

static void free_batch(batch *b)
{
    free(b->long_reason);
    free(b);
}

/* ---- store write failures ------------------------------------------------------------- */

static void append_faults(fixture *f, int status)
{
    tt_ledger *l = f->l;
    fill(l, 250);
    batch *b = make_batch(BATCH);
    static tt_append_result res[BATCH];
    snapshot before;
    take(l, &before);
    long n, faults = 0;
    int rc;
    for (n = 1;; n++) {
        fault_arm(n, status);
        rc = tt_ledger_append(l, b->ev, BATCH, res);
        fault_disarm();
        if (!fault_fired)
            break;
        faults++;
        if (rc != status)
            fail_msg("append with write %ld failing: got %s, want %s (%s)", n, tt_strerror(rc),
                     tt_strerror(status), tt_ledger_errmsg(l));
        if (strstr(tt_ledger_errmsg(l), fault_msg) == NULL)
            fail_msg("append with write %ld failing: message \"%s\" lacks \"%s\"", n,
                     tt_ledger_errmsg(l), fault_msg);
        assert_unchanged(l, &before, "append", n);
    }
    if (rc != TT_OK)
        fail_msg("append without faults: %s: %s", tt_strerror(rc), tt_ledger_errmsg(l));
    assert_true(faults > 10);
    assert_true(fault_calls > 300);
    print_message("append: %ld write failures (%s) refused cleanly\n", faults, tt_strerror(status));
    /* The batch went in whole, once. */
    for (size_t i = 0; i < BATCH - 1; i++) {
        assert_int_equal(res[i].seq, before.size + 1 + (int64_t)i);
        assert_int_equal(res[i].existed, 0);
    }
    assert_int_equal(res[BATCH - 1].seq, res[3].seq);
    assert_int_equal(res[BATCH - 1].existed, 1);
    snapshot after;
    take(l, &after);
    assert_int_equal(after.size, before.size + BATCH - 1);
    /* Retrying the same batch writes again only the events without a key; a normal
     * append continues the seqs. */
    assert_int_equal(tt_ledger_append(l, b->ev, BATCH, res), TT_OK);
    int64_t keyless = 0;
    for (size_t i = 0; i < BATCH; i++) {
        assert_int_equal(res[i].existed, b->ev[i].idempotency_key != NULL);
        keyless += b->ev[i].idempotency_key == NULL;
    }
    fill(l, 1);
    take(l, &after);
    assert_int_equal(after.size, before.size + BATCH - 1 + keyless + 1);
    free_batch(b);
}

static void test_append_eio(void **state)
{
    append_faults(*state, TT_EIO);
}

static void test_append_enospc(void **state)
{
    append_faults(*state, TT_ENOSPC);
}

static void checkpoint_faults(fixture *f, int status)
{
    tt_ledger *l = f->l;
    fill(l, 250);
    tt_checkpoint cp;
    assert_int_equal(tt_ledger_checkpoint_sign(l, &cp), TT_OK);
    tt_checkpoint_clear(&cp);
    fill(l, 10);
    snapshot before;
    take(l, &before);
    assert_int_equal(before.cp_size, 250);
    long n, faults = 0;
    int rc;
    for (n = 1;; n++) {
        memset(&cp, 0, sizeof cp);
        fault_arm(n, status);
        rc = tt_ledger_checkpoint_sign(l, &cp);
        fault_disarm();
        if (!fault_fired)
            break;
        faults++;
        if (rc != status)
            fail_msg("checkpoint with write %ld failing: got %s, want %s (%s)", n, tt_strerror(rc),
                     tt_strerror(status), tt_ledger_errmsg(l));
        if (strstr(tt_ledger_errmsg(l), fault_msg) == NULL)
            fail_msg("checkpoint with write %ld failing: message \"%s\" lacks \"%s\"", n,
                     tt_ledger_errmsg(l), fault_msg);
        assert_null(cp.note);
        assert_unchanged(l, &before, "checkpoint", n);
    }
    assert_int_equal(rc, TT_OK);
    assert_true(faults >= 4);
    print_message("checkpoint: %ld write failures (%s) refused cleanly\n", faults,
                  tt_strerror(status));
    assert_int_equal(cp.tree_size, 260);
    tt_checkpoint again;
    assert_int_equal(tt_ledger_checkpoint_sign(l, &again), TT_OK);
    assert_string_equal(again.note, cp.note);
    tt_checkpoint_clear(&again);
    tt_checkpoint_clear(&cp);
    snapshot after;
    take(l, &after);
    assert_int_equal(after.cp_size, 260);
    assert_int_equal(after.cps, before.cps + 1);
    fill(l, 1);
}

static void test_checkpoint_eio(void **state)
{
    checkpoint_faults(*state, TT_EIO);
}

static void test_checkpoint_enospc(void **state)
{
    checkpoint_faults(*state, TT_ENOSPC);
}

/* ---- allocation failures -------------------------------------------------------------- */

static void test_alloc_append(void **state)
{
    fixture *f = *state;
    tt_ledger *l = f->l;
    fill(l, 250);
    enum { N = 40 };
    batch *b = make_batch(N);
    tt_append_result res[N];
    snapshot before;
    take(l, &before);
    long n, failures = 0, tolerated = 0;
    int rc;
    for (n = 1;; n++) {
        alloc_arm(n);
        rc = tt_ledger_append(l, b->ev, N, res);
        alloc_disarm();
        if (!alloc_fired)
            break;
        if (rc == TT_OK) {
            /* Only a cache may do without its allocation (the interned-name cache forgets
             * and carries on): then the batch must have gone in whole. */
            int64_t added = 0;
            for (size_t i = 0; i < N; i++)
                added += !res[i].existed;
            snapshot now;
            take(l, &now);
            assert_int_equal(now.size, before.size + added);
            before = now;
            tolerated++;
            continue;
        }
        failures++;
        assert_true(tt_ledger_errmsg(l)[0] != '\0');
        assert_unchanged(l, &before, "append (allocation)", n);
    }
    assert_int_equal(rc, TT_OK);
    print_message("append: %ld allocation failures refused cleanly, %ld tolerated\n", failures,
                  tolerated);
    assert_true(failures >= 2);
    snapshot after;
    take(l, &after);
    assert_true(after.size > before.size);
    free_batch(b);
}

static void test_alloc_parse(void **state)
{
    (void)state;
    static const char json[] =
        "{\"entity\":\"strategy\",\"entity_id\":\"s-1\",\"event_type\":\"ACTIVATED\","
        "\"actor\":\"alice\",\"old_status\":\"DRAFT\",\"new_status\":\"ACTIVE\","
        "\"reason\":\"why \\u00e9\",\"occurred_at\":\"2026-01-18T10:31:00.5+01:00\","
        "\"idempotency_key\":\"k\",\"metadata\":{\"b\":[1,2.5,true,null,\"x\"],"
        "\"a\":{\"nested\":{\"deep\":\"value with \\\"quotes\\\"\"}},\"n\":-0.0001}}";
    long n, failures = 0;
    int rc;
    tt_event ev;
    void *owner = NULL;
    for (n = 1;; n++) {
        char err[256] = "";
        owner = (void *)&ev; /* must stay untouched on failure */
        track_start();
        alloc_arm(n);
        rc = tt_event_parse_json(json, sizeof json - 1, &ev, &owner, err, sizeof err);
        alloc_disarm();
        if (!alloc_fired)
            break;
        failures++;
        if (rc == TT_OK)
            fail_msg("parse succeeded with allocation %ld failing", n);
        assert_ptr_equal(owner, (void *)&ev);
        assert_true(err[0] != '\0');
        track_expect_none("tt_event_parse_json", n);
    }
    assert_int_equal(rc, TT_OK);
    assert_true(failures >= 1);
    assert_string_equal(ev.entity_id, "s-1");
    assert_string_equal(ev.reason, "why \xc3\xa9");
    tt_free(owner);
    track_expect_none("tt_event_parse_json", 0);
}

static void test_alloc_parse_ok(void **state)
{
    (void)state;
    /* The successful parse owns exactly one block, released by tt_free. */
    static const char json[] = "{\"entity\":\"order\",\"entity_id\":\"o-1\",\"event_type\":"
                               "\"FILLED\",\"actor\":\"bot\",\"metadata\":{\"px\":101.25}}";
    tt_event ev;
    void *owner = NULL;
    char err[256];
    track_start();
    assert_int_equal(tt_event_parse_json(json, sizeof json - 1, &ev, &owner, err, sizeof err),
                     TT_OK);
    assert_string_equal(ev.metadata, "{\"px\":101.25}");
    tt_free(owner);
    track_expect_none("tt_event_parse_json", 0);
}

static void test_alloc_open(void **state)
{
    fixture *f = *state;
    fill(f->l, 20);
    long n, failures = 0;
    int rc;
    for (n = 1;; n++) {
        tt_open_options o;
        memset(&o, 0, sizeof o);
        o.data_dir = f->dir;
        tt_ledger *l = (tt_ledger *)&o;
        char err[512] = "";
        alloc_arm(n);
        rc = tt_ledger_open(&o, &l, err, sizeof err);
        alloc_disarm();
        if (!alloc_fired) {
            assert_int_equal(rc, TT_OK);
            snapshot s;
            take(l, &s);
            assert_int_equal(s.size, 20);
            tt_ledger_close(l);
            break;
        }
        failures++;
        if (rc == TT_OK)
            fail_msg("open succeeded with allocation %ld failing", n);
        assert_ptr_equal(l, (tt_ledger *)&o);
        assert_true(err[0] != '\0');
    }
    assert_true(failures >= 3);
}

static void test_alloc_read_paths(void **state)
{
    fixture *f = *state;
    tt_ledger *l = f->l;
    fill(l, 300);
    snapshot before;
    take(l, &before);
    long failures = 0;

    /* tt_ledger_get, a text query, a proof, a checkpoint and a verification, each with every
     * allocation failing in turn. */
    static const char *const names[] = {"tt_ledger_get", "tt_ledger_query",
                                        "tt_ledger_prove_consistency", "tt_ledger_checkpoint_sign",
                                        "tt_ledger_verify"};
    for (int op = 0; op < 5; op++) {
        long n;
        for (n = 1;; n++) {
            int rc;
            alloc_arm(n);
            switch (op) {
            case 0: {
                tt_event *ev = NULL;
                rc = tt_ledger_get(l, 17, &ev);
                alloc_disarm();
                if (rc == TT_OK) {
                    assert_int_equal(ev->seq, 17);
                    tt_event_free(ev);
                } else {
                    assert_null(ev);
                }
                break;
            }
            case 1: {
                tt_query q;
                tt_query_init(&q);
                q.text = "fault \"injection\" *";
                q.entity = "order";
                tt_iter *it = NULL;
                rc = tt_ledger_query(l, &q, &it);
                alloc_disarm();
                if (rc == TT_OK) {
                    const tt_event *ev;
                    assert_int_equal(tt_iter_next(it, &ev), TT_ENOTFOUND);
                    tt_iter_free(it);
                } else {
                    /* the allocation's error, not that of a query text it left unfinished */
                    assert_int_equal(rc, TT_ENOMEM);
                    assert_null(it);
                }
                break;
            }
            case 2: {
                tt_proof p;
                rc = tt_ledger_prove_consistency(l, 100, 300, &p);
                alloc_disarm();
                break;
            }
            case 3: {
                tt_checkpoint cp = {0};
                rc = tt_ledger_checkpoint_sign(l, &cp);
                alloc_disarm();
                if (rc == TT_OK) {
                    assert_int_equal(cp.tree_size, 300);
                    tt_checkpoint_clear(&cp);
                } else {
                    assert_null(cp.note);
                }
                break;
            }
            default: {
                tt_verify_report rep;
                rc = tt_ledger_verify(l, NULL, NULL, &rep);
                alloc_disarm();
                /* Running out of memory is no verdict: the ledger is intact. */
                if (alloc_fired && rc == TT_ETAMPERED)
                    fail_msg("verify with allocation %ld failing: tampered: %s", n, rep.message);
                break;
            }
            }
            if (!alloc_fired) {
                if (rc != TT_OK)
                    fail_msg("%s without failures: %s: %s", names[op], tt_strerror(rc),
                             tt_ledger_errmsg(l));
                take(l, &before); /* the checkpoint is part of the state from now on */
                break;
            }
            if (rc == TT_OK)
                fail_msg("%s succeeded with allocation %ld failing", names[op], n);
            failures++;
            assert_true(tt_ledger_errmsg(l)[0] != '\0');
            assert_unchanged(l, &before, names[op], n);
        }
    }
    assert_true(failures >= 5);
    snapshot after;
    take(l, &after);
    assert_int_equal(after.size, before.size);
    assert_int_equal(after.cp_size, 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_enospc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_enospc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_parse_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_read_paths, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

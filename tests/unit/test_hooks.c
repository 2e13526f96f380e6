/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the ledger's extension points (src/ledger/ledger.h): transaction hooks,
 * whose writes commit with their event or not at all, and commit observers, which see
 * every committed batch exactly once and in order, whichever thread or call committed it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger/ledger.h"
#include "tradetrail.h"
#include "testdb.h"

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

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-hooks-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = f->dir;
    o.create = 1;
    char uri[512];
    o.db_uri = tt_test_db_uri(f->dir, uri, sizeof uri);
    char err[512] = "";
    int rc = tt_ledger_open(&o, &f->l, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("tt_ledger_open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tt_ledger_close(f->l);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void make_event(tt_event *ev, const char *type, const char *idem)
{
    tt_event_init(ev);
    ev->entity = "order";
    ev->entity_id = "o-1";
    ev->event_type = type;
    ev->actor = "tester";
    ev->idempotency_key = idem;
}

static int64_t size_of(tt_ledger *l)
{
    int64_t n = -1;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(l, &n, root), TT_OK);
    return n;
}

/* A value the hook wrote into the store's meta table, or NULL (caller frees). */
static char *meta_of(tt_ledger *l, const char *key)
{
    tti_store *r = NULL;
    assert_int_equal(tti_reader_get(l, &r), TT_OK);
    char *v = NULL;
    int rc = l->ops->meta_get(r, key, &v);
    tti_reader_put(l, r);
    assert_true(rc == TT_OK || rc == TT_ENOTFOUND);
    return rc == TT_OK ? v : NULL;
}

/* ---- transaction hooks ---------------------------------------------------------------- */

typedef struct hook_state {
    int calls;
    int destroyed;
    int64_t last_seq;
} hook_state;

/* Writes "hook.<seq>" for every event, then refuses events of type BAD. */
static int write_then_check(void *ctx, tt_ledger *l, tti_store *w, const tt_event *ev)
{
    hook_state *h = ctx;
    h->calls++;
    h->last_seq = ev->seq;
    char key[64];
    snprintf(key, sizeof key, "hook.%lld", (long long)ev->seq);
    int rc = l->ops->meta_set(w, key, ev->event_type);
    if (rc != TT_OK)
        return tti_store_fail(l, w, rc);
    if (strcmp(ev->event_type, "BAD") == 0)
        return tti_fail(TT_ECONFLICT, "hook refuses seq %lld", (long long)ev->seq);
    return TT_OK;
}

static void destroy_state(void *ctx)
{
    ((hook_state *)ctx)->destroyed++;
}

static void test_hook_atomic(void **state)
{
    fixture *f = *state;
    hook_state h = {0};
    assert_int_equal(tti_ledger_set_hook(f->l, "test", write_then_check, &h, destroy_state), TT_OK);
    assert_ptr_equal(tti_ledger_hook_ctx(f->l, "test"), &h);
    assert_null(tti_ledger_hook_ctx(f->l, "other"));

    tt_event ev[2];
    tt_append_result res[2];
    make_event(&ev[0], "GOOD", "k1");
    assert_int_equal(tt_ledger_append(f->l, ev, 1, res), TT_OK);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.last_seq, res[0].seq);
    char *v = meta_of(f->l, "hook.1");
    assert_non_null(v);
    assert_string_equal(v, "GOOD");
    free(v);

    /* An idempotent repeat writes nothing: the hook is not called. */
    assert_int_equal(tt_ledger_append(f->l, ev, 1, res), TT_OK);
    assert_int_equal(res[0].existed, 1);
    assert_int_equal(h.calls, 1);

    /* A failing hook: the hook's own write of seq 2 and the good event of the same batch
     * roll back with the event it refused. */
    make_event(&ev[0], "GOOD", NULL);
    make_event(&ev[1], "BAD", NULL);
    assert_int_equal(tt_ledger_append(f->l, ev, 2, res), TT_ECONFLICT);
    assert_non_null(strstr(tt_ledger_errmsg(f->l), "hook refuses seq 3"));
    assert_int_equal(size_of(f->l), 1);
    assert_null(meta_of(f->l, "hook.2"));
    assert_null(meta_of(f->l, "hook.3"));

    /* The ledger goes on afterwards, with the same seqs. */
    assert_int_equal(tt_ledger_append(f->l, ev, 1, res), TT_OK);
    assert_int_equal(res[0].seq, 2);
    v = meta_of(f->l, "hook.2");
    assert_non_null(v);
    free(v);

    /* Removal destroys the ctx and stops the calls. */
    int calls = h.calls;
    assert_int_equal(tti_ledger_set_hook(f->l, "test", NULL, NULL, NULL), TT_OK);
    assert_int_equal(h.destroyed, 1);
    assert_int_equal(tt_ledger_append(f->l, ev, 1, res), TT_OK);
    assert_int_equal(h.calls, calls);
}

static void test_hook_replace_and_close(void **state)
{
    fixture *f = *state;
    hook_state a = {0}, b = {0}, c = {0};
    assert_int_equal(tti_ledger_set_hook(f->l, "one", write_then_check, &a, destroy_state), TT_OK);
    assert_int_equal(tti_ledger_set_hook(f->l, "two", write_then_check, &c, destroy_state), TT_OK);
    assert_int_equal(tti_ledger_set_hook(f->l, "one", write_then_check, &b, destroy_state), TT_OK);
    assert_int_equal(a.destroyed, 1);
    assert_ptr_equal(tti_ledger_hook_ctx(f->l, "one"), &b);
    tt_event ev;
    tt_append_result res;
    make_event(&ev, "GOOD", NULL);
    assert_int_equal(tt_ledger_append(f->l, &ev, 1, &res), TT_OK);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(c.calls, 1);
    tt_ledger_close(f->l);
    f->l = NULL;
    assert_int_equal(b.destroyed, 1);
    assert_int_equal(c.destroyed, 1);
    assert_int_equal(a.destroyed, 1);
}

/* ---- commit observers ----------------------------------------------------------------- */

#define MAX_SEEN 4096

typedef struct seen {
    int64_t first[MAX_SEEN], count[MAX_SEEN];
    int n;
    int overlap; /* a call began while another was running */
    int running;
    tt_ledger *l;
    int size_mismatch; /* the batch was not yet readable when observed */
} seen;

static void observe(void *ctx, int64_t first_seq, int64_t count)
{
    seen *s = ctx;
    if (s->running++)
        s->overlap = 1;
    if (s->n < MAX_SEEN) {
        s->first[s->n] = first_seq;
        s->count[s->n] = count;
        s->n++;
    }
    if (s->l != NULL) { /* durable and visible to readers before the observer runs */
        int64_t size = 0;
        uint8_t root[TT_HASH_SIZE];
        if (tt_ledger_head(s->l, &size, root) != TT_OK || size < first_seq + count - 1)
            s->size_mismatch = 1;
    }
    s->running--;
}

/* The observed batches cover seqs 1..total exactly once, in order. */
static void assert_contiguous(const seen *s, int64_t total)
{
    int64_t next = 1;
    for (int i = 0; i < s->n; i++) {
        assert_int_equal(s->first[i], next);
        assert_true(s->count[i] > 0);
        next += s->count[i];
    }
    assert_int_equal(next - 1, total);
    assert_int_equal(s->overlap, 0);
    assert_int_equal(s->size_mismatch, 0);
}

static void test_observer_basic(void **state)
{
    fixture *f = *state;
    seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->l = f->l;
    assert_int_equal(tt_ledger_on_commit(f->l, NULL, s), TT_EMISUSE);
    assert_int_equal(tt_ledger_on_commit(f->l, observe, s), TT_OK);

    tt_event ev[3];
    tt_append_result res[3];
    make_event(&ev[0], "A", "idem-1");
    make_event(&ev[1], "B", NULL);
    make_event(&ev[2], "C", NULL);
    assert_int_equal(tt_ledger_append(f->l, ev, 3, res), TT_OK);
    assert_int_equal(s->n, 1);
    assert_int_equal(s->first[0], 1);
    assert_int_equal(s->count[0], 3);

    /* Repeats only: nothing committed, nothing observed. */
    assert_int_equal(tt_ledger_append(f->l, ev, 1, res), TT_OK);
    assert_int_equal(s->n, 1);
    /* A repeat and a new event: only the new one counts. */
    make_event(&ev[1], "D", NULL);
    assert_int_equal(tt_ledger_append(f->l, ev, 2, res), TT_OK);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->first[1], 4);
    assert_int_equal(s->count[1], 1);

    /* A failed batch is not observed. */
    hook_state h = {0};
    assert_int_equal(tti_ledger_set_hook(f->l, "test", write_then_check, &h, NULL), TT_OK);
    make_event(&ev[0], "BAD", NULL);
    assert_int_equal(tt_ledger_append(f->l, ev, 1, res), TT_ECONFLICT);
    assert_int_equal(s->n, 2);
    assert_int_equal(tti_ledger_set_hook(f->l, "test", NULL, NULL, NULL), TT_OK);

    /* After removal: not called again; a second removal finds nothing. */
    assert_int_equal(tt_ledger_on_commit_remove(f->l, observe, s), TT_OK);
    assert_int_equal(tt_ledger_on_commit_remove(f->l, observe, s), TT_ENOTFOUND);
    make_event(&ev[0], "E", NULL);
    assert_int_equal(tt_ledger_append(f->l, ev, 1, res), TT_OK);
    assert_int_equal(s->n, 2);
    free(s);
}

static void test_observer_limit(void **state)
{
    fixture *f = *state;
    seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    for (int i = 0; i < TTI_LEDGER_MAX_OBSERVERS; i++)
        assert_int_equal(tt_ledger_on_commit(f->l, observe, s), TT_OK);
    assert_int_equal(tt_ledger_on_commit(f->l, observe, s), TT_ENOSPC);
    tt_event ev;
    tt_append_result res;
    make_event(&ev, "A", NULL);
    assert_int_equal(tt_ledger_append(f->l, &ev, 1, &res), TT_OK);
    assert_int_equal(s->n, TTI_LEDGER_MAX_OBSERVERS);
    tt_ledger_close(f->l); /* observers need no removal */
    f->l = NULL;
    free(s);
}

#define THREADS 6
#define PER_THREAD 150

static void *append_many(void *arg)
{
    tt_ledger *l = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        tt_event ev[3];
        tt_append_result res[3];
        size_t n = (size_t)(i % 3) + 1;
        for (size_t j = 0; j < n; j++)
            make_event(&ev[j], "T", NULL);
        if (tt_ledger_append(l, ev, n, res) != TT_OK)
            return (void *)1;
    }
    return NULL;
}

typedef struct async_wait {
    pthread_mutex_t m;
    pthread_cond_t c;
    int left;
    int failed;
} async_wait;

static void async_done(void *ctx, int rc, const char *msg)
{
    (void)msg;
    async_wait *w = ctx;
    pthread_mutex_lock(&w->m);
    w->failed += rc != TT_OK;
    w->left--;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

static void test_observer_concurrent(void **state)
{
    fixture *f = *state;
    seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->l = f->l;
    assert_int_equal(tt_ledger_on_commit(f->l, observe, s), TT_OK);

    /* Asynchronous appends in flight while threads append synchronously. */
    enum { NASYNC = 200 };
    static tt_event aev[NASYNC];
    static tt_append_result ares[NASYNC];
    async_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NASYNC, 0};
    for (int i = 0; i < NASYNC; i++) {
        make_event(&aev[i], "ASYNC", NULL);
        assert_int_equal(tt_ledger_append_async(f->l, &aev[i], 1, &ares[i], async_done, &w), TT_OK);
    }
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, append_many, f->l), 0);
    for (int i = 0; i < THREADS; i++) {
        void *ret = NULL;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    pthread_mutex_lock(&w.m);
    while (w.left > 0)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    assert_int_equal(w.failed, 0);

    int64_t total = NASYNC + THREADS * (PER_THREAD / 3) * (1 + 2 + 3);
    assert_int_equal(size_of(f->l), total);
    assert_contiguous(s, total);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_replace_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observer_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observer_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observer_concurrent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

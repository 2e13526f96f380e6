/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of retention (src/jobs/retention.c, the stores' archive operations, and
 * verify and queries over archive segments), on SQLite and, in the pg/ matrix, on
 * PostgreSQL: a run archives the old bodies but those of a held id, verify reads the
 * segments, proofs and the root do not change, archived events come back by seq and with
 * include_archive; the store itself refuses to remove a body outside a recorded segment;
 * a second run archives only what is new, and a lifted hold's bodies are swept.
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
#include <sys/stat.h>

#include "ledger/ledger.h"
#include "testdb.h"

typedef struct fixture {
    char dir[64], data[128], arch[160];
    tt_ledger *l;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-retention-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->arch, sizeof f->arch, "%s/archive", f->data);
    tt_open_options o;
    memset(&o, 0, sizeof o);
    char uri[512], err[256];
    o.data_dir = f->data;
    o.db_uri = tt_test_db_uri(f->data, uri, sizeof uri);
    o.create = 1;
    assert_int_equal(tt_ledger_open(&o, &f->l, err, sizeof err), TT_OK);
    assert_int_equal(tt_ledger_set_archive(f->l, f->arch), TT_OK);
    for (int i = 0; i < 300; i++) {
        tt_event ev;
        tt_event_init(&ev);
        char key[32];
        snprintf(key, sizeof key, "k-%d", i);
        ev.entity = "order";
        ev.entity_id = i % 3 == 0 ? "held" : "free";
        ev.event_type = "FILLED";
        ev.actor = "bot";
        ev.reason = i % 2 ? "partial fill" : "complete fill";
        ev.idempotency_key = i % 5 == 0 ? key : NULL;
        tt_append_result r;
        assert_int_equal(tt_ledger_append(f->l, &ev, 1, &r), TT_OK);
    }
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

static void verify_ok(fixture *f, int64_t segments)
{
    tt_verify_report rep;
    int rc = tt_ledger_verify(f->l, NULL, NULL, &rep);
    if (rc != TT_OK)
        fail_msg("verify: %s (%s)", rep.message, tt_ledger_errmsg(f->l));
    assert_int_equal(rep.segments_checked, segments);
}

static int64_t count(fixture *f, int include_archive, const char *text)
{
    tt_query q;
    tt_query_init(&q);
    q.limit = TT_MAX_QUERY_LIMIT;
    q.include_archive = include_archive;
    q.text = text;
    tt_iter *it;
    const tt_event *ev;
    int64_t n = 0, last = 0;
    assert_int_equal(tt_ledger_query(f->l, &q, &it), TT_OK);
    while (tt_iter_next(it, &ev) == TT_OK) {
        assert_true(ev->seq > last); /* in seq order, each once */
        last = ev->seq;
        n++;
    }
    tt_iter_free(it);
    return n;
}

static int refuse_nothing(void *ctx, const char *entity, const char *entity_id)
{
    (void)ctx, (void)entity, (void)entity_id;
    return 0;
}

static void test_run_verify_query(void **state)
{
    fixture *f = *state;
    assert_int_equal(tt_hold_add(f->l, "held", "legal", "inquiry", NULL), TT_OK);
    int64_t size0;
    uint8_t root0[TT_HASH_SIZE], hash2[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(f->l, &size0, root0), TT_OK);
    tt_event *e2;
    assert_int_equal(tt_ledger_get(f->l, 2, &e2), TT_OK);
    memcpy(hash2, e2->leaf_hash, TT_HASH_SIZE);
    tt_event_free(e2);

    tt_retention_options o = {.older_than_days = 0, .archive_dir = f->arch, .segment_events = 128};
    tt_retention_result r;
    assert_int_equal(tt_retention_run(f->l, &o, &r), TT_OK);
    assert_int_equal(r.segments, 3); /* 301 events: 128 + 128 + 45 */
    assert_int_equal(r.kept, 101);   /* 100 held and the HOLD event */
    assert_int_equal(r.archived, 200);
    verify_ok(f, 3);

    /* the hot store lost 200 bodies, not one leaf: proofs of the old tree still verify */
    tt_proof p;
    assert_int_equal(tt_ledger_prove_inclusion(f->l, 2, size0, &p), TT_OK);
    assert_memory_equal(p.leaf_hash, hash2, TT_HASH_SIZE);
    assert_memory_equal(p.root_hash, root0, TT_HASH_SIZE);
    assert_int_equal(tt_proof_verify_inclusion(p.leaf_index, p.tree_size, p.leaf_hash,
                                               (const uint8_t(*)[TT_HASH_SIZE])p.hashes, p.n_hashes,
                                               root0),
                     TT_OK);
    int64_t all = count(f, 1, NULL), hot = count(f, 0, NULL);
    assert_int_equal(all - hot, 200);
    assert_int_equal(count(f, 1, "partial"), 150);
    assert_int_equal(count(f, 0, "partial"), 50); /* the held ones */
    /* an archived event by seq, as it was */
    assert_int_equal(tt_ledger_get(f->l, 2, &e2), TT_OK);
    assert_memory_equal(e2->leaf_hash, hash2, TT_HASH_SIZE);
    assert_string_equal(e2->entity_id, "free");
    tt_event_free(e2);

    /* a time bound inside the archived range still finds every held body after it */
    tt_event *e150;
    assert_int_equal(tt_ledger_get(f->l, 150, &e150), TT_OK);
    tt_query q;
    tt_query_init(&q);
    q.since_us = e150->ts_us;
    q.limit = TT_MAX_QUERY_LIMIT;
    tt_iter *it;
    const tt_event *ev;
    int64_t bounded = 0, filtered = 0;
    assert_int_equal(tt_ledger_query(f->l, &q, &it), TT_OK);
    while (tt_iter_next(it, &ev) == TT_OK)
        bounded++;
    tt_iter_free(it);
    tt_query_init(&q);
    q.limit = TT_MAX_QUERY_LIMIT;
    assert_int_equal(tt_ledger_query(f->l, &q, &it), TT_OK);
    while (tt_iter_next(it, &ev) == TT_OK)
        filtered += ev->ts_us >= e150->ts_us;
    tt_iter_free(it);
    tt_event_free(e150);
    assert_int_equal(bounded, filtered);
    assert_true(bounded > 50);

    /* the store removes no body outside a recorded segment, even when asked directly */
    int64_t removed = 0;
    assert_int_equal(f->l->ops->begin_write(f->l->w), TT_OK);
    int rc = f->l->ops->purge(f->l->w, 302, 303, refuse_nothing, NULL, &removed);
    f->l->ops->rollback(f->l->w);
    assert_int_not_equal(rc, TT_OK);

    /* a second run: only what is new; then lifting the hold sweeps its bodies */
    assert_int_equal(tt_retention_run(f->l, &o, &r), TT_OK);
    assert_int_equal(r.plan.first_seq, 302);
    assert_int_equal(r.swept, 0);
    assert_int_equal(tt_hold_remove(f->l, "held", "legal", "closed", NULL), TT_OK);
    assert_int_equal(tt_retention_run(f->l, &o, &r), TT_OK);
    assert_int_equal(r.swept, 100);
    verify_ok(f, 4 + (r.segments > 0));
    assert_int_equal(count(f, 1, "partial"), 150);
    assert_int_equal(count(f, 0, "partial"), 0);
}

/* min_retention_days is never undercut: nothing younger is archived. */
static void test_min_retention(void **state)
{
    fixture *f = *state;
    tt_retention_options o = {
        .older_than_days = 0, .min_retention_days = 7, .archive_dir = f->arch};
    tt_retention_result r;
    assert_int_equal(tt_retention_run(f->l, &o, &r), TT_OK);
    assert_int_equal(r.plan.effective_days, 7);
    assert_int_equal(r.segments, 0);
    assert_int_equal(count(f, 0, NULL), 300);
    verify_ok(f, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_verify_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_retention, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

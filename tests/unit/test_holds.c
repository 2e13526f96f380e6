/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of legal holds (src/jobs/holds.c): placing and lifting a hold are events,
 * the list is the holds in force, a double add or a remove of nothing is a conflict that
 * writes nothing, and of concurrent adds of one id exactly one succeeds. In the store
 * TT_TEST_DB names (testdb.h): SQLite by default, PostgreSQL in the pg/ matrix.
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
#include <unistd.h>

#include "testdb.h"
#include "tradetrail.h"

typedef struct fixture {
    char dir[64];
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
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-holds-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tt_open_options o;
    memset(&o, 0, sizeof o);
    char uri[512], err[256];
    o.data_dir = f->dir;
    o.db_uri = tt_test_db_uri(f->dir, uri, sizeof uri);
    o.create = 1;
    assert_int_equal(tt_ledger_open(&o, &f->l, err, sizeof err), TT_OK);
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

static int64_t size_of(tt_ledger *l)
{
    int64_t n;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(l, &n, root), TT_OK);
    return n;
}

static void test_add_list_remove(void **state)
{
    fixture *f = *state;
    tt_append_result r;
    int held = 1;
    assert_int_equal(tt_hold_active(f->l, "strat-1", &held), TT_OK);
    assert_false(held);
    assert_int_equal(tt_hold_add(f->l, "strat-1", "legal", "SEC inquiry", &r), TT_OK);
    assert_int_equal(tt_hold_add(f->l, "o-2", NULL, "dispute", NULL), TT_OK);
    assert_int_equal(tt_hold_active(f->l, "strat-1", &held), TT_OK);
    assert_true(held);
    int64_t n = size_of(f->l);
    assert_int_equal(tt_hold_add(f->l, "strat-1", "legal", "again", NULL), TT_ECONFLICT);
    assert_int_equal(tt_hold_remove(f->l, "nope", "legal", "x", NULL), TT_ECONFLICT);
    assert_int_equal(tt_hold_add(f->l, "x", "legal", NULL, NULL), TT_EINVAL);
    assert_int_equal(tt_hold_add(f->l, "", "legal", "r", NULL), TT_EINVAL);
    assert_int_equal(size_of(f->l), n); /* refused changes wrote nothing */
    tt_event *ev;
    assert_int_equal(tt_ledger_get(f->l, r.seq, &ev), TT_OK);
    assert_string_equal(ev->entity, "legal_hold");
    assert_string_equal(ev->event_type, "HOLD");
    assert_string_equal(ev->entity_id, "strat-1");
    assert_string_equal(ev->reason, "SEC inquiry");
    tt_event_free(ev);
    tt_hold *list;
    size_t nl;
    assert_int_equal(tt_hold_list(f->l, &list, &nl), TT_OK);
    assert_int_equal(nl, 2);
    assert_string_equal(list[0].entity_id, "strat-1");
    assert_int_equal(list[0].seq, r.seq);
    assert_string_equal(list[1].entity_id, "o-2");
    tt_hold_list_free(list, nl);
    assert_int_equal(tt_hold_remove(f->l, "strat-1", "legal", "closed", NULL), TT_OK);
    assert_int_equal(tt_hold_list(f->l, &list, &nl), TT_OK);
    assert_int_equal(nl, 1);
    assert_string_equal(list[0].entity_id, "o-2");
    char *json = tt_hold_list_to_json(list, nl);
    assert_non_null(strstr(json, "\"entity_id\":\"o-2\""));
    assert_non_null(strstr(json, "\"count\":1"));
    tt_free(json);
    tt_hold_list_free(list, nl);
    /* held again after a release */
    assert_int_equal(tt_hold_add(f->l, "strat-1", "legal", "reopened", NULL), TT_OK);
    tt_verify_report rep;
    assert_int_equal(tt_ledger_verify(f->l, NULL, NULL, &rep), TT_OK);
}

typedef struct racer {
    tt_ledger *l;
    int rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    r->rc = tt_hold_add(r->l, "contested", "t", "race", NULL);
    return NULL;
}

static void test_concurrent_adds(void **state)
{
    fixture *f = *state;
    racer r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i].l = f->l;
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(r[i].rc == TT_OK || r[i].rc == TT_ECONFLICT);
        ok += r[i].rc == TT_OK;
    }
    assert_int_equal(ok, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_list_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_adds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/store/records.c, the records a store hands back: the names of their
 * enumerated fields both ways, the destructors (NULL-safe, freeing every string), and
 * row-array growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/records.h"
#include "tradetrail.h"

static void test_status_names(void **state)
{
    (void)state;
    for (int s = TT_STRATEGY_DRAFT; s <= TT_STRATEGY_ARCHIVED; s++) {
        const char *name = tt_strategy_status_name((tt_strategy_status)s);
        assert_non_null(name);
        tt_strategy_status back = TT_STRATEGY_DRAFT;
        assert_int_equal(tti_strategy_status_from(name, &back), TT_OK);
        assert_int_equal(back, s);
        assert_int_equal(tt_strategy_status_parse(name, &back), TT_OK);
    }
    tt_strategy_status untouched = TT_STRATEGY_ACTIVE;
    assert_int_equal(tti_strategy_status_from("active", &untouched), TT_EINVAL);
    assert_int_equal(tti_strategy_status_from(NULL, &untouched), TT_EINVAL);
    assert_int_equal(untouched, TT_STRATEGY_ACTIVE);
    assert_null(tt_strategy_status_name((tt_strategy_status)99));
}

static void test_outcome_names(void **state)
{
    (void)state;
    const char *names[] = {"positive", "negative", "neutral"};
    for (int i = 0; i < 3; i++) {
        tt_outcome o = TT_OUTCOME_NONE;
        assert_int_equal(tt_outcome_parse(names[i], &o), TT_OK);
        assert_string_equal(tt_outcome_name(o), names[i]);
    }
    tt_outcome o = TT_OUTCOME_NONE;
    assert_int_equal(tt_outcome_parse("Positive", &o), TT_EINVAL);
    assert_int_equal(tt_outcome_parse(NULL, &o), TT_EINVAL);
    assert_null(tt_outcome_name(TT_OUTCOME_NONE));
}

static void test_destructors(void **state)
{
    (void)state;
    /* NULL and empty lists are fine. */
    tt_token_list_free(NULL, 3);
    tt_feedback_list_free(NULL, 0);
    tt_strategy_list_free(NULL, 1);
    tt_strategy_versions_free(NULL, 1);
    tt_strategy_free(NULL);
    tt_strategy_version_free(NULL);
    tti_strategy_clear(NULL);

    /* Every string is freed (the leak checkers of make asan and make valgrind see it). */
    tt_feedback *fb = calloc(2, sizeof *fb);
    assert_non_null(fb);
    fb[0].strategy_id = strdup("s-1");
    fb[0].user_id = strdup("u");
    fb[1].benchmark = strdup("SPY");
    tt_feedback_list_free(fb, 2);

    tt_token_info *tok = calloc(1, sizeof *tok);
    assert_non_null(tok);
    tok->name = strdup("ci");
    tt_token_list_free(tok, 1);

    tt_strategy st;
    memset(&st, 0, sizeof st);
    st.id = strdup("x");
    st.name = strdup("n");
    tti_strategy_clear(&st);
    assert_null(st.id);
    assert_null(st.name);

    tt_strategy_version *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->content = strdup("a: 1\n");
    v->author = strdup("me");
    tt_strategy_version_free(v);
}

static void test_rows_reserve(void **state)
{
    (void)state;
    int64_t *arr = NULL;
    void *p = NULL;
    size_t cap = 0, reallocs = 0;
    for (size_t n = 0; n < 10000; n++) {
        size_t before = cap;
        assert_int_equal(tti_rows_reserve(&p, &cap, n, sizeof *arr, 4), TT_OK);
        reallocs += cap != before;
        assert_true(cap > n);
        arr = p;
        arr[n] = (int64_t)n;
    }
    /* Doubling from 4: 13 allocations (4, 8, ..., 16384) for 10,000 rows, not one per row. */
    assert_int_equal(reallocs, 13);
    for (size_t n = 0; n < 10000; n++)
        assert_int_equal(arr[n], (int64_t)n);
    free(p);

    /* A request beyond what size_t can hold fails and leaves the array as it was. */
    p = NULL;
    cap = 0;
    assert_int_equal(tti_rows_reserve(&p, &cap, 0, SIZE_MAX / 2, 4), TT_ENOMEM);
    assert_null(p);
    assert_int_equal(cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_outcome_names),
        cmocka_unit_test(test_destructors),
        cmocka_unit_test(test_rows_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

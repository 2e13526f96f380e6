/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/ledger/query_params.c: every query-string parameter of GET /api/events
 * and /api/stream with good and bad values, the exact messages HTTP clients see, the limits,
 * the fixed order of evaluation, and the contract that a failure (a bad value, or a failed
 * allocation through the --wrap=malloc hook) leaves the query and the owner untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"

#define SEC 1000000LL
#define DAY (86400LL * SEC)
/* 2026-01-18T10:31:00.123456Z, the SPEC's example time. */
#define NOW 1768732260123456LL
#define SENTINEL ((void *)0x5a5a)

/* ---- malloc failures: tests.cmake links this test with -Wl,--wrap=malloc ---- */

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

static int fail_next_malloc;

void *__wrap_malloc(size_t n)
{
    if (fail_next_malloc) {
        fail_next_malloc = 0;
        return NULL;
    }
    return __real_malloc(n);
}

/* ---- helpers ---- */

/* Up to 16 pairs from a NULL-terminated list of key, value (value may be NULL: use BARE). */
#define BARE ((const char *)1)
static size_t pairs(tt_query_param *p, va_list ap)
{
    size_t n = 0;
    for (const char *k; (k = va_arg(ap, const char *)) != NULL && n < 16; n++) {
        const char *v = va_arg(ap, const char *);
        p[n] = (tt_query_param){.key = k, .value = v == BARE ? NULL : v};
    }
    return n;
}

/* Parse pairs into a fresh query; fails the test unless TT_OK. *owner to tt_free(). */
static tt_query parse_ok_owned(void **owner, ...)
{
    tt_query_param p[16];
    va_list ap;
    va_start(ap, owner);
    size_t n = pairs(p, ap);
    va_end(ap);
    tt_query q;
    tt_query_init(&q);
    char err[256] = "";
    int rc = tt_query_parse_params(&q, p, n, NOW, owner, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("rc %d: %s", rc, err);
    return q;
}

/* The query stays valid only while its owner lives: tests that look at strings keep it. */
#define PARSE_OK(q, owner, ...) tt_query q = parse_ok_owned(&owner, __VA_ARGS__, NULL)

/* Expect TT_EINVAL with exactly msg, and q and the owner untouched. */
static void parse_bad_v(const char *msg, va_list ap)
{
    tt_query_param p[16];
    size_t n = pairs(p, ap);
    tt_query q, before;
    tt_query_init(&q);
    q.entity = "kept";
    q.after_seq = 7;
    before = q;
    void *owner = SENTINEL;
    char err[256] = "";
    int rc = tt_query_parse_params(&q, p, n, NOW, &owner, err, sizeof err);
    if (rc != TT_EINVAL)
        fail_msg("expected TT_EINVAL (%s), got %d", msg, rc);
    assert_string_equal(err, msg);
    assert_memory_equal(&q, &before, sizeof q);
    assert_ptr_equal(owner, SENTINEL);
}

static void parse_bad(const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    parse_bad_v(msg, ap);
    va_end(ap);
}

static const char LIMIT_MSG[] = "limit: must be 1 to 10000";
static const char CURSOR_MSG[] = "cursor: not a cursor this server returned";
static const char AFTER_MSG[] = "after_seq: must be a non-negative integer";
static const char ORDER_MSG[] = "order: must be asc or desc";
static const char SINCE_MSG[] = "since: not a time (RFC 3339, YYYY-MM-DD, today, -2h)";
static const char UNTIL_MSG[] = "until: not a time (RFC 3339, YYYY-MM-DD, today, -2h)";
static const char TYPES_MSG[] = "event_type: at most 32 types";

/* "T0,T1,...,T(n-1)" followed by extra. */
static void type_list(char *buf, size_t cap, int n, const char *extra)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%sT%d", i ? "," : "", i);
    snprintf(buf + len, cap - len, "%s", extra);
}

/* ---- tests ---- */

static void test_no_params(void **state)
{
    (void)state;
    tt_query q, want;
    tt_query_init(&q);
    tt_query_init(&want);
    void *owner = SENTINEL;
    char err[64] = "";
    assert_int_equal(tt_query_parse_params(&q, NULL, 0, NOW, &owner, err, sizeof err), TT_OK);
    assert_memory_equal(&q, &want, sizeof q);
    assert_null(owner);
    assert_int_equal(q.limit, 100);
    assert_int_equal(q.order, TT_ORDER_ASC);
    assert_true(q.since_us == TT_TIME_NONE && q.until_us == TT_TIME_NONE);
}

static void test_strings(void **state)
{
    (void)state;
    char entity[] = "order";
    void *owner;
    PARSE_OK(q, owner, "entity", entity, "entity_id", "o-1", "actor", "bob smith", "q",
             "filled partly");
    assert_string_equal(q.entity, "order");
    assert_string_equal(q.entity_id, "o-1");
    assert_string_equal(q.actor, "bob smith");
    assert_string_equal(q.text, "filled partly");
    /* Copies in the owner's block: the caller's strings may go away. */
    assert_ptr_not_equal(q.entity, entity);
    assert_ptr_equal(q.entity, owner);
    entity[0] = 'X';
    assert_string_equal(q.entity, "order");
    assert_int_equal(q.n_event_types, 0);
    tt_free(owner);

    /* "" is a value like any other; a bare key is absent. */
    PARSE_OK(e, owner, "entity", "", "actor", BARE, "q", "");
    assert_string_equal(e.entity, "");
    assert_null(e.actor);
    assert_string_equal(e.text, "");
    tt_free(owner);

    /* Bytes are taken as given: UTF-8 is the HTTP layer's check. */
    PARSE_OK(b, owner, "entity_id", "\xff\xfe");
    assert_string_equal(b.entity_id, "\xff\xfe");
    tt_free(owner);
}

static void test_event_types(void **state)
{
    (void)state;
    void *owner;
    PARSE_OK(q, owner, "event_type", ",CREATED,,FILLED,");
    assert_int_equal(q.n_event_types, 2);
    assert_string_equal(q.event_types[0], "CREATED");
    assert_string_equal(q.event_types[1], "FILLED");
    tt_free(owner);

    PARSE_OK(one, owner, "event_type", "X Y");
    assert_int_equal(one.n_event_types, 1);
    assert_string_equal(one.event_types[0], "X Y");
    tt_free(owner);

    PARSE_OK(none, owner, "event_type", ",,,");
    assert_int_equal(none.n_event_types, 0);
    tt_free(owner);
    PARSE_OK(empty, owner, "event_type", "");
    assert_int_equal(empty.n_event_types, 0);
    tt_free(owner);

    char list[512];
    type_list(list, sizeof list, TT_MAX_QUERY_TYPES, ",,,"); /* 32 types, empty items */
    PARSE_OK(max, owner, "event_type", list);
    assert_int_equal(max.n_event_types, TT_MAX_QUERY_TYPES);
    assert_string_equal(max.event_types[31], "T31");
    tt_free(owner);
    type_list(list, sizeof list, TT_MAX_QUERY_TYPES + 1, "");
    parse_bad(TYPES_MSG, "event_type", list, NULL);
    type_list(list, sizeof list, 100, "");
    parse_bad(TYPES_MSG, "event_type", list, NULL);

    /* A list replaces an earlier one (tradetrail show --type given twice). */
    tt_query r;
    tt_query_init(&r);
    void *o1, *o2;
    tt_query_param p = {.key = "event_type", .value = "A,B,C"};
    assert_int_equal(tt_query_parse_params(&r, &p, 1, NOW, &o1, NULL, 0), TT_OK);
    p.value = "D";
    assert_int_equal(tt_query_parse_params(&r, &p, 1, NOW, &o2, NULL, 0), TT_OK);
    tt_free(o1);
    assert_int_equal(r.n_event_types, 1);
    assert_string_equal(r.event_types[0], "D");
    assert_null(r.event_types[1]);
    tt_free(o2);
}

static void test_times(void **state)
{
    (void)state;
    void *owner;
    PARSE_OK(q, owner, "since", "2026-01-18T10:31:00Z", "until", "2026-01-19");
    assert_int_equal(q.since_us, NOW - 123456);
    assert_int_equal(q.until_us, NOW - 123456 - (10 * 3600 + 31 * 60) * SEC + DAY);
    assert_null(owner);
    PARSE_OK(rel, owner, "since", "-2h", "until", "today");
    assert_int_equal(rel.since_us, NOW - 2 * 3600 * SEC);
    assert_int_equal(rel.until_us, NOW - NOW % DAY);
    PARSE_OK(now, owner, "until", "now", "since", "yesterday");
    assert_int_equal(now.until_us, NOW);
    assert_int_equal(now.since_us, NOW - NOW % DAY - DAY);

    parse_bad(SINCE_MSG, "since", "bogus", NULL);
    parse_bad(SINCE_MSG, "since", "", NULL);
    parse_bad(UNTIL_MSG, "until", "2026-13-45T99:00:00Z", NULL);
    parse_bad(UNTIL_MSG, "until", "10000-01-01", NULL);
    parse_bad(SINCE_MSG, "since", "bad", "until", "bad", NULL);
}

static void test_after_seq(void **state)
{
    (void)state;
    void *owner;
    /* strtoll's forms, which scripts may send, stay accepted. */
    static const struct {
        const char *v;
        int64_t want;
    } ok[] = {{"0", 0},   {"42", 42}, {"+4", 4},  {" 4", 4},
              {"\t9", 9}, {"-0", 0},  {"007", 7}, {"9223372036854775807", INT64_MAX}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        PARSE_OK(q, owner, "after_seq", ok[i].v);
        assert_int_equal(q.after_seq, ok[i].want);
    }
    static const char *const bad[] = {
        "-1", "abc", "1.5", "", "4x", "4 ", "1e3", "9223372036854775808", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(AFTER_MSG, "after_seq", bad[i], NULL);
}

static void test_order_and_limit(void **state)
{
    (void)state;
    void *owner;
    PARSE_OK(d, owner, "order", "desc", "limit", "1");
    assert_int_equal(d.order, TT_ORDER_DESC);
    assert_int_equal(d.limit, 1);
    PARSE_OK(a, owner, "order", "asc", "limit", "10000");
    assert_int_equal(a.order, TT_ORDER_ASC);
    assert_int_equal(a.limit, TT_MAX_QUERY_LIMIT);
    PARSE_OK(p, owner, "limit", "+25");
    assert_int_equal(p.limit, 25);
    PARSE_OK(bare, owner, "limit", BARE, "order", BARE);
    assert_int_equal(bare.limit, 100);
    assert_int_equal(bare.order, TT_ORDER_ASC);

    static const char *const orders[] = {"DESC", "Asc", "", "ascending", "desc "};
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++)
        parse_bad(ORDER_MSG, "order", orders[i], NULL);
    static const char *const limits[] = {"0",   "-1", "10001", "1e9",
                                         "abc", "",   "1.5",   "99999999999999999999999"};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        parse_bad(LIMIT_MSG, "limit", limits[i], NULL);
}

static void test_cursor(void **state)
{
    (void)state;
    void *owner;
    /* Ascending: the next page lies after the cursor, or after after_seq if later. */
    PARSE_OK(a, owner, "cursor", "c5");
    assert_int_equal(a.after_seq, 5);
    assert_int_equal(a.before_seq, 0);
    PARSE_OK(hi, owner, "after_seq", "10", "cursor", "c5");
    assert_int_equal(hi.after_seq, 10);
    PARSE_OK(lo, owner, "cursor", "c20", "after_seq", "3");
    assert_int_equal(lo.after_seq, 20);
    /* Descending: before the cursor, whatever order the pairs come in. */
    PARSE_OK(d, owner, "cursor", "c30", "order", "desc", "after_seq", "2");
    assert_int_equal(d.before_seq, 30);
    assert_int_equal(d.after_seq, 2);
    assert_int_equal(d.order, TT_ORDER_DESC);
    PARSE_OK(sp, owner, "cursor", "c 7");
    assert_int_equal(sp.after_seq, 7);

    static const char *const bad[] = {
        "c0", "C5", "5", "c", "c-1", "", "zz", "c5x", "cc5", "c99999999999999999999", "' OR 1=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(CURSOR_MSG, "cursor", bad[i], NULL);
}

/* The names and the cursor the server uses come from here: every name it lists parses, the
 * stream's list is the filters without paging, and a cursor made by tt_query_cursor reads
 * back to the page after its seq. */
static void test_names_and_cursor_format(void **state)
{
    (void)state;
    static const char *const all[] = {
        "entity",    "entity_id", "actor", "q",      "event_type", "since",          "until",
        "after_seq", "order",     "limit", "cursor", "view",       "include_archive"};
    size_t n = 0;
    for (const char *name; (name = tt_query_param_name(n, 1)) != NULL; n++) {
        assert_true(n < sizeof all / sizeof all[0]);
        assert_string_equal(name, all[n]);
    }
    assert_int_equal(n, sizeof all / sizeof all[0]);
    for (n = 0; tt_query_param_name(n, 0) != NULL; n++)
        assert_string_equal(tt_query_param_name(n, 0), all[n]);
    assert_string_equal(all[n], "order"); /* the paging names follow the filters */

    char cursor[TT_CURSOR_SIZE];
    tt_query_cursor(INT64_MAX, cursor);
    assert_string_equal(cursor, "c9223372036854775807");
    tt_query_cursor(42, cursor);
    assert_string_equal(cursor, "c42");
    void *owner;
    PARSE_OK(q, owner, "cursor", cursor);
    assert_int_equal(q.after_seq, 42);
    assert_int_equal(q.view, TT_VIEW_STORED);
    void *owner2;
    PARSE_OK(q2, owner2, "view", "corrected");
    assert_int_equal(q2.view, TT_VIEW_CORRECTED);
    parse_bad("view: must be stored or corrected", "view", "as-is", NULL);
}

/* When several values are bad, the first in the documented order is reported, not the
 * first pair. */
static void test_error_order(void **state)
{
    (void)state;
    char list[512];
    type_list(list, sizeof list, 33, "");
    parse_bad(ORDER_MSG, "limit", "0", "order", "bad", NULL);
    parse_bad(LIMIT_MSG, "cursor", "bad", "limit", "0", NULL);
    parse_bad(AFTER_MSG, "limit", "0", "after_seq", "x", NULL);
    parse_bad(SINCE_MSG, "after_seq", "x", "since", "bad", NULL);
    parse_bad(TYPES_MSG, "since", "bad", "event_type", list, NULL);
    /* Names are checked first, in the order given. */
    parse_bad("unknown query parameter \"foo\"", "limit", "0", "foo", "1", NULL);
    parse_bad("repeated query parameter \"limit\"", "limit", "1", "limit", "2", NULL);
    parse_bad("repeated query parameter \"limit\"", "limit", BARE, "limit", "2", NULL);
    parse_bad("unknown query parameter \"?\"", "\xff", "1", NULL);
    parse_bad("unknown query parameter \"\"", "", "1", NULL);
    parse_bad("unknown query parameter \"Limit\"", "Limit", "1", NULL);
    /* The SSE endpoint's Last-Event-ID is a header, not a parameter. */
    parse_bad("unknown query parameter \"tree_size\"", "tree_size", "1", NULL);
}

/* Fields whose parameter is absent keep what the caller put there (the CLI sets some from
 * flags); the whole set of parameters together. */
static void test_prefilled_and_all(void **state)
{
    (void)state;
    tt_query q;
    tt_query_init(&q);
    q.entity = "from-a-flag";
    q.limit = 7;
    q.since_us = 123;
    tt_query_param p[] = {
        {"entity_id", "o-1"}, {"event_type", "A,B"}, {"actor", "bot"},  {"q", "x"},
        {"until", "now"},     {"after_seq", "4"},    {"order", "desc"}, {"cursor", "c9"},
    };
    void *owner;
    assert_int_equal(tt_query_parse_params(&q, p, 8, NOW, &owner, NULL, 0), TT_OK);
    assert_string_equal(q.entity, "from-a-flag");
    assert_int_equal(q.limit, 7);
    assert_int_equal(q.since_us, 123);
    assert_string_equal(q.entity_id, "o-1");
    assert_int_equal(q.n_event_types, 2);
    assert_string_equal(q.event_types[1], "B");
    assert_string_equal(q.actor, "bot");
    assert_string_equal(q.text, "x");
    assert_int_equal(q.until_us, NOW);
    assert_int_equal(q.after_seq, 4);
    assert_int_equal(q.before_seq, 9);
    assert_int_equal(q.order, TT_ORDER_DESC);
    tt_free(owner);
}

static void test_misuse_and_messages(void **state)
{
    (void)state;
    tt_query q;
    tt_query_init(&q);
    void *owner = SENTINEL;
    char err[64] = "";
    tt_query_param p = {.key = NULL, .value = "1"};
    assert_int_equal(tt_query_parse_params(NULL, NULL, 0, NOW, &owner, err, sizeof err),
                     TT_EMISUSE);
    assert_true(err[0] != '\0');
    assert_int_equal(tt_query_parse_params(&q, NULL, 0, NOW, NULL, err, sizeof err), TT_EMISUSE);
    assert_int_equal(tt_query_parse_params(&q, NULL, 1, NOW, &owner, err, sizeof err), TT_EMISUSE);
    assert_int_equal(tt_query_parse_params(&q, &p, 1, NOW, &owner, err, sizeof err), TT_EMISUSE);
    assert_ptr_equal(owner, SENTINEL);

    /* A short buffer gets a cut message that says so; no buffer at all is fine. */
    p = (tt_query_param){.key = "cursor", .value = "x"};
    char small[16];
    assert_int_equal(tt_query_parse_params(&q, &p, 1, NOW, &owner, small, sizeof small), TT_EINVAL);
    assert_string_equal(small, "cursor: not ...");
    assert_int_equal(tt_query_parse_params(&q, &p, 1, NOW, &owner, NULL, 0), TT_EINVAL);
    assert_ptr_equal(owner, SENTINEL);
}

/* tt_parse_int: the integer rule the server's and the CLI's parameters share. */
static void test_parse_int(void **state)
{
    (void)state;
    int64_t x = 7;
    assert_int_equal(tt_parse_int("42", 0, 100, &x), TT_OK);
    assert_int_equal(x, 42);
    assert_int_equal(tt_parse_int(" +5", 1, 10, &x), TT_OK); /* as strtoll reads it */
    assert_int_equal(x, 5);
    assert_int_equal(tt_parse_int("-3", -5, 5, &x), TT_OK);
    assert_int_equal(x, -3);
    assert_int_equal(tt_parse_int("9223372036854775807", 0, INT64_MAX, &x), TT_OK);
    assert_int_equal(x, INT64_MAX);
    static const char *const bad[] = {
        "", " ", "1x", "x1", "1 ", "0x10", "1.5", "9223372036854775808", "-9223372036854775809"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        x = 7;
        assert_int_equal(tt_parse_int(bad[i], INT64_MIN, INT64_MAX, &x), TT_EINVAL);
        assert_int_equal(x, 7);
    }
    assert_int_equal(tt_parse_int("0", 1, 10, &x), TT_EINVAL);
    assert_int_equal(tt_parse_int("11", 1, 10, &x), TT_EINVAL);
    assert_int_equal(tt_parse_int(NULL, 0, 1, &x), TT_EINVAL);
    assert_int_equal(x, 7);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    tt_query q, before;
    tt_query_init(&q);
    before = q;
    void *owner = SENTINEL;
    char err[64] = "";
    tt_query_param p[] = {{"entity", "order"}, {"event_type", "A,B"}, {"limit", "5"}};
    fail_next_malloc = 1;
    assert_int_equal(tt_query_parse_params(&q, p, 3, NOW, &owner, err, sizeof err), TT_ENOMEM);
    fail_next_malloc = 0;
    assert_string_equal(err, "out of memory");
    assert_memory_equal(&q, &before, sizeof q);
    assert_ptr_equal(owner, SENTINEL);
    /* Numbers alone need no allocation. */
    fail_next_malloc = 1;
    assert_int_equal(tt_query_parse_params(&q, p + 2, 1, NOW, &owner, err, sizeof err), TT_OK);
    fail_next_malloc = 0;
    assert_null(owner);
    assert_int_equal(q.limit, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_params),
        cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_event_types),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_after_seq),
        cmocka_unit_test(test_order_and_limit),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_names_and_cursor_format),
        cmocka_unit_test(test_error_order),
        cmocka_unit_test(test_prefilled_and_all),
        cmocka_unit_test(test_misuse_and_messages),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

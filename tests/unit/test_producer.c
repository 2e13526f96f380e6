/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of SPEC 15's completeness per producer and corrections: producer fields in the
 * leaf bytes (version 3, while other events hash as before), GAP / REPEAT / RESTART events
 * recorded in the same transaction, state shared by two handles on one store (two
 * processes, or two servers on one PostgreSQL), heartbeats and one SILENT per silence, the
 * corrects rule and the corrected view.
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

#include "core/export.h"
#include "tradetrail.h"
#include "util/buf.h"
#include "testdb.h"

typedef struct fixture {
    char dir[64];
    tt_ledger *l, *l2; /* l2: a second handle on the same store */
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static tt_ledger *open_dir(const char *dir, int create)
{
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = dir;
    o.create = create;
    char uri[512], err[512] = "";
    o.db_uri = tt_test_db_uri(dir, uri, sizeof uri);
    tt_ledger *l = NULL;
    if (tt_ledger_open(&o, &l, err, sizeof err) != TT_OK)
        fail_msg("tt_ledger_open: %s", err);
    return l;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-producer-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->l = open_dir(f->dir, 1);
    f->l2 = open_dir(f->dir, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tt_ledger_close(f->l2);
    tt_ledger_close(f->l);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int64_t append(tt_ledger *l, const char *type, const char *producer, int64_t pseq,
                      const char *meta, int expect)
{
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "order";
    ev.entity_id = "o-1";
    ev.event_type = type;
    ev.actor = "bot";
    ev.new_status = "NEW";
    ev.reason = "placed";
    ev.metadata = meta;
    ev.producer = producer;
    ev.producer_seq = pseq;
    tt_append_result res;
    int rc = tt_ledger_append(l, &ev, 1, &res);
    if (rc != expect)
        fail_msg("append %s: %s (%s)", type, tt_strerror(rc), tt_ledger_errmsg(l));
    return rc == TT_OK ? res.seq : 0;
}

static tt_event *get(tt_ledger *l, int64_t seq)
{
    tt_event *ev = NULL;
    assert_int_equal(tt_ledger_get(l, seq, &ev), TT_OK);
    return ev;
}

/* The event at seq is a producer event of type for name with metadata meta. */
static void expect_note(tt_ledger *l, int64_t seq, const char *type, const char *name,
                        const char *meta)
{
    tt_event *ev = get(l, seq);
    assert_string_equal(ev->entity, "producer");
    assert_string_equal(ev->entity_id, name);
    assert_string_equal(ev->event_type, type);
    assert_string_equal(ev->metadata, meta);
    assert_null(ev->producer);
    tt_event_free(ev);
}

static int64_t size_of(tt_ledger *l)
{
    int64_t n = -1;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(l, &n, root), TT_OK);
    return n;
}

static tt_producer find(tt_ledger *l, const char *name)
{
    tt_producer *ps = NULL, out;
    size_t n = 0;
    assert_int_equal(tt_ledger_producers(l, &ps, &n), TT_OK);
    memset(&out, 0, sizeof out);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ps[i].name, name) == 0)
            out = ps[i];
    tt_free(ps);
    assert_string_equal(out.name, name);
    return out;
}

static void test_leaf_version(void **state)
{
    (void)state;
    tt_event ev;
    tt_event_init(&ev);
    ev.seq = 7;
    ev.ts_us = 1000;
    ev.entity = "order";
    ev.entity_id = "o-1";
    ev.event_type = "NEW";
    ev.actor = "bot";
    ev.principal = "lib";
    uint8_t *a, *b, h1[32], h2[32];
    size_t na, nb;
    assert_int_equal(tt_event_leaf_bytes(&ev, &a, &na), TT_OK);
    assert_int_equal(a[0], 2);
    assert_int_equal(tt_event_leaf_hash(&ev, h1), TT_OK);
    ev.producer = "bot-1";
    ev.producer_seq = 258;
    assert_int_equal(tt_event_leaf_bytes(&ev, &b, &nb), TT_OK);
    /* Version 3: the version 2 bytes, then producer and producer_seq. */
    assert_int_equal(b[0], 3);
    assert_int_equal(nb, na + 4 + 5 + 8);
    assert_memory_equal(a + 1, b + 1, na - 1);
    assert_memory_equal(b + na, "\0\0\0\5bot-1\0\0\0\0\0\0\1\2", 17);
    assert_int_equal(tt_event_leaf_hash(&ev, h2), TT_OK);
    assert_false(tt_hash_equal(h1, h2));
    tt_free(a);
    tt_free(b);

    char err[256];
    ev.producer_seq = 0;
    assert_int_equal(tt_event_validate(&ev, err, sizeof err), TT_EINVAL);
    ev.producer = NULL;
    ev.producer_seq = 3;
    assert_int_equal(tt_event_validate(&ev, err, sizeof err), TT_EINVAL);
    ev.producer = "12345678901234567890123456789012345678901234567890123456789012345";
    assert_int_equal(tt_event_validate(&ev, err, sizeof err), TT_EINVAL);

    /* JSON: both fields in and out; absent on other events. */
    const char *js = "{\"entity\":\"order\",\"entity_id\":\"o\",\"event_type\":\"NEW\","
                     "\"actor\":\"a\",\"producer\":\"p\",\"producer_seq\":4}";
    void *owner;
    tt_event in;
    assert_int_equal(tt_event_parse_json(js, strlen(js), &in, &owner, err, sizeof err), TT_OK);
    assert_string_equal(in.producer, "p");
    assert_int_equal(in.producer_seq, 4);
    char *out = tt_event_to_json(&in);
    assert_non_null(strstr(out, ",\"producer\":\"p\",\"producer_seq\":4,\"leaf_hash\""));
    tt_free(out);
    tt_free(owner);
    /* An exported JSON line carries them, and reads back to the same leaf hash. */
    ev.producer = "bot-1";
    ev.producer_seq = 258;
    tt_event_leaf_hash(&ev, ev.leaf_hash);
    tti_buf line;
    tti_buf_init(&line, 1 << 20);
    assert_int_equal(tti_export_record(TT_EXPORT_JSONL, &ev, &line), 0);
    tti_export_rec rec;
    assert_int_equal(tti_export_parse_jsonl(line.data, line.len, &rec, err, sizeof err), TT_OK);
    assert_string_equal(rec.ev.producer, "bot-1");
    assert_int_equal(rec.ev.producer_seq, 258);
    assert_int_equal(tt_event_leaf_hash(&rec.ev, h1), TT_OK);
    assert_true(tt_hash_equal(h1, h2));
    tt_free(rec.owner);
    tti_buf_free(&line);
    js = "{\"entity\":\"order\",\"entity_id\":\"o\",\"event_type\":\"NEW\",\"actor\":\"a\","
         "\"producer_seq\":0,\"producer\":\"p\"}";
    assert_int_equal(tt_event_parse_json(js, strlen(js), &in, &owner, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "producer_seq"));
}

static void test_gap_repeat_restart(void **state)
{
    fixture *f = *state;
    assert_int_equal(append(f->l, "NEW", "bot", 1, NULL, TT_OK), 1);
    assert_int_equal(append(f->l, "NEW", "bot", 2, NULL, TT_OK), 2);
    assert_int_equal(size_of(f->l), 2); /* in order: nothing recorded */
    /* 3 and 4 missing: the GAP follows the event that showed it. */
    assert_int_equal(append(f->l, "NEW", "bot", 5, NULL, TT_OK), 3);
    assert_int_equal(size_of(f->l), 4);
    expect_note(f->l, 4, "GAP", "bot", "{\"expected\":3,\"got\":5,\"missing\":2,\"event_seq\":3}");
    /* The second handle (another process, another server) sees the same state. */
    assert_int_equal(append(f->l2, "NEW", "bot", 4, NULL, TT_OK), 5);
    expect_note(f->l, 6, "REPEAT", "bot", "{\"expected\":6,\"got\":4,\"event_seq\":5}");
    assert_int_equal(append(f->l2, "NEW", "bot", 6, NULL, TT_OK), 7);
    assert_int_equal(size_of(f->l), 7);
    assert_int_equal(append(f->l, "NEW", "bot", 1, NULL, TT_OK), 8);
    expect_note(f->l, 9, "RESTART", "bot",
                "{\"expected\":7,\"got\":1,\"previous\":6,\"event_seq\":8}");
    assert_int_equal(append(f->l2, "NEW", "bot", 2, NULL, TT_OK), 10);
    /* Another producer counts on its own; a first event above 1 is a gap. */
    assert_int_equal(append(f->l2, "NEW", "other", 3, NULL, TT_OK), 11);
    expect_note(f->l, 12, "GAP", "other",
                "{\"expected\":1,\"got\":3,\"missing\":2,\"event_seq\":11}");
    /* A batch: each event is checked against the one before it. */
    tt_event evs[3];
    for (int i = 0; i < 3; i++) {
        tt_event_init(&evs[i]);
        evs[i].entity = "order";
        evs[i].entity_id = "o-2";
        evs[i].event_type = "NEW";
        evs[i].actor = "bot";
        evs[i].producer = "bot";
        evs[i].producer_seq = i == 2 ? 9 : 3 + i;
    }
    tt_append_result res[3];
    assert_int_equal(tt_ledger_append(f->l, evs, 3, res), TT_OK);
    assert_int_equal(res[0].seq, 13);
    assert_int_equal(res[1].seq, 14);
    assert_int_equal(res[2].seq, 15);
    expect_note(f->l, 16, "GAP", "bot",
                "{\"expected\":5,\"got\":9,\"missing\":4,\"event_seq\":15}");

    tt_producer p = find(f->l2, "bot");
    assert_int_equal(p.last_seq, 9);
    assert_int_equal(p.last_event, 15);
    assert_int_equal(p.gaps, 2);
    assert_int_equal(p.missing, 6);
    assert_int_equal(p.repeats, 1);
    assert_int_equal(p.restarts, 1);
    /* Every leaf, producer or not, verifies. */
    tt_verify_report rep;
    assert_int_equal(tt_ledger_verify(f->l, NULL, NULL, &rep), TT_OK);
    tt_event *ev = get(f->l, 15);
    assert_string_equal(ev->producer, "bot");
    assert_int_equal(ev->producer_seq, 9);
    tt_event_free(ev);

    /* The day's summary lists them. */
    tt_summary sum;
    assert_int_equal(tt_summary_build(f->l, TT_PERIOD_DAY, tt_time_now_us(), &sum), TT_OK);
    assert_int_equal(sum.producer_gaps, 3);
    assert_int_equal(sum.producer_repeats, 1);
    assert_int_equal(sum.producer_restarts, 1);
    assert_int_equal(sum.producer_silences, 0);
    assert_int_equal(sum.n_producer_events, 5);
    assert_int_equal(sum.producer_events[0].seq, 4); /* oldest first */
    assert_string_equal(sum.producer_events[4].source, "bot");
    char *text = tt_summary_to_text(&sum, NULL);
    assert_non_null(strstr(text, "Producers: 3 gaps, 1 repeats, 1 restarts, 0 silences\n"));
    assert_non_null(strstr(text, "] other GAP: expected producer_seq 1, got 3: 2 missing\n"));
    tt_free(text);
    char *json = tt_summary_to_json(&sum);
    assert_non_null(strstr(json, "\"producers\":{\"gaps\":3,\"repeats\":1,\"restarts\":1,"));
    tt_free(json);
    tt_summary_clear(&sum);
}

static void test_silent(void **state)
{
    fixture *f = *state;
    size_t n = 9;
    assert_int_equal(tt_ledger_heartbeat(f->l, "feeder", 2, NULL), TT_OK);
    assert_int_equal(tt_ledger_heartbeat(f->l, "bad\x01name", 0, NULL), TT_EINVAL);
    assert_int_equal(tt_ledger_heartbeat(f->l, "feeder", -1, NULL), TT_EINVAL);
    assert_int_equal(size_of(f->l), 0); /* heartbeats write no event */
    int64_t now = tt_time_now_us();
    assert_int_equal(tt_ledger_sweep_silent(f->l, now, 300, &n), TT_OK);
    assert_int_equal(n, 0);
    /* Three seconds later, both handles sweep: one SILENT. */
    assert_int_equal(tt_ledger_sweep_silent(f->l, now + 3000000, 300, &n), TT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(tt_ledger_sweep_silent(f->l2, now + 4000000, 300, &n), TT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(size_of(f->l), 1);
    tt_event *ev = get(f->l, 1);
    assert_string_equal(ev->entity, "producer");
    assert_string_equal(ev->entity_id, "feeder");
    assert_string_equal(ev->event_type, "SILENT");
    assert_non_null(strstr(ev->metadata, "\"heartbeat_timeout\":2"));
    tt_event_free(ev);
    tt_producer p = find(f->l, "feeder");
    assert_int_equal(p.silent, 1);
    assert_int_equal(p.silences, 1);
    /* Heard from again: the next silence is reported again. */
    assert_int_equal(tt_ledger_heartbeat(f->l2, "feeder", 0, NULL), TT_OK);
    assert_int_equal(find(f->l, "feeder").silent, 0);
    assert_int_equal(find(f->l, "feeder").timeout_s, 2); /* kept */
    assert_int_equal(tt_ledger_sweep_silent(f->l2, tt_time_now_us() + 5000000, 300, &n), TT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(find(f->l, "feeder").silences, 2);
    /* The default timeout applies to producers that never set one. */
    append(f->l, "NEW", "quiet", 1, NULL, TT_OK);
    assert_int_equal(tt_ledger_sweep_silent(f->l, tt_time_now_us() + 10000000, 300, &n), TT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tt_ledger_sweep_silent(f->l, tt_time_now_us() + 301000000, 300, &n), TT_OK);
    assert_int_equal(n, 1);
}

static void test_corrections(void **state)
{
    fixture *f = *state;
    append(f->l, "NEW", NULL, 0, "{\"qty\":1,\"px\":10}", TT_OK); /* 1 */
    append(f->l, "NEW", NULL, 0, "{\"qty\":2}", TT_OK);           /* 2 */
    append(f->l, "NEW", NULL, 0, NULL, TT_OK);                    /* 3 */
    /* corrects must name an earlier event that exists. */
    append(f->l, "CORRECTION", NULL, 0, NULL, TT_EINVAL);
    append(f->l, "VOID", NULL, 0, "{\"corrects\":\"2\"}", TT_EINVAL);
    append(f->l, "VOID", NULL, 0, "{\"corrects\":0}", TT_EINVAL);
    append(f->l, "VOID", NULL, 0, "{\"corrects\":4}", TT_EINVAL);
    assert_non_null(strstr(tt_ledger_errmsg(f->l), "no event with seq 4"));
    assert_int_equal(size_of(f->l), 3);
    assert_int_equal(append(f->l, "CORRECTION", NULL, 0, "{\"corrects\":1,\"qty\":3}", TT_OK), 4);
    assert_int_equal(append(f->l, "VOID", NULL, 0, "{\"corrects\":2}", TT_OK), 5);
    assert_int_equal(append(f->l, "CORRECTION", NULL, 0, "{\"corrects\":1,\"px\":11}", TT_OK), 6);

    tt_query q;
    tt_query_init(&q);
    q.view = TT_VIEW_CORRECTED;
    tt_iter *it;
    const tt_event *ev;
    assert_int_equal(tt_ledger_query(f->l, &q, &it), TT_OK);
    /* 1 with its latest correction (6) over it; 2 voided; 3 as stored; 4-6 folded in. */
    assert_int_equal(tt_iter_next(it, &ev), TT_OK);
    assert_int_equal(ev->seq, 1);
    assert_int_equal(ev->corrected_by, 6);
    assert_string_equal(ev->metadata, "{\"qty\":1,\"px\":11}");
    char *js = tt_event_to_json(ev);
    assert_non_null(strstr(js, "\"corrected_by\":6"));
    tt_free(js);
    assert_int_equal(tt_iter_next(it, &ev), TT_OK);
    assert_int_equal(ev->seq, 3);
    assert_int_equal(ev->corrected_by, 0);
    assert_int_equal(tt_iter_next(it, &ev), TT_ENOTFOUND);
    tt_iter_free(it);
    /* The limit counts the events shown; descending order too. */
    q.limit = 1;
    q.order = TT_ORDER_DESC;
    assert_int_equal(tt_ledger_query(f->l, &q, &it), TT_OK);
    assert_int_equal(tt_iter_next(it, &ev), TT_OK);
    assert_int_equal(ev->seq, 3);
    assert_int_equal(tt_iter_next(it, &ev), TT_ENOTFOUND);
    tt_iter_free(it);
    /* Stored: everything, unchanged. */
    tt_event *orig = get(f->l, 1);
    assert_string_equal(orig->metadata, "{\"qty\":1,\"px\":10}");
    assert_int_equal(orig->corrected_by, 0);
    tt_event_free(orig);
    tt_verify_report rep;
    assert_int_equal(tt_ledger_verify(f->l, NULL, NULL, &rep), TT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_version),
        cmocka_unit_test_setup_teardown(test_gap_repeat_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

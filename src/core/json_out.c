/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON shapes of results (append, proofs, checkpoints, stats, verification) shared by
 * the CLI's -o json and the HTTP API, so both print exactly the same objects (SPEC 10).
 * Written with the one JSON writer (util/buf.c), not built as a tree: the single-event
 * append answers with one of these.
 */
#include <string.h>

#include "core/event.h"
#include "core/json_out.h"
#include "tradetrail.h"
#include "util/buf.h"
#include "util/codec.h"

/* Results are small; the largest, stats, is bounded by the names it counts. */
#define OUT_MAX (64u << 20)

/* A member's key: ",\"name\":" (the first without the comma). */
static void key(tti_buf *b, const char *name)
{
    if (b->len > 1)
        tti_buf_add(b, ",", 1);
    tti_buf_json_str(b, name);
    tti_buf_add(b, ":", 1);
}

static void put_int(tti_buf *b, const char *name, int64_t v)
{
    key(b, name);
    tti_buf_json_int(b, (long long)v);
}

/* A positive integer, or null when 0 (none). */
static void put_int_or_null(tti_buf *b, const char *name, int64_t v)
{
    key(b, name);
    if (v != 0)
        tti_buf_json_int(b, (long long)v);
    else
        tti_buf_add(b, "null", 4);
}

static void put_hex(tti_buf *b, const char *name, const uint8_t *h)
{
    char hex[2 * TT_HASH_SIZE + 1];
    tti_hex_encode(h, TT_HASH_SIZE, hex);
    key(b, name);
    tti_buf_json_str(b, hex);
}

static void put_ts(tti_buf *b, const char *name, int64_t us)
{
    char ts[TT_TS_LEN + 1];
    key(b, name);
    if (us == TT_TIME_NONE) {
        tti_buf_add(b, "null", 4);
        return;
    }
    tt_time_format(us, ts);
    tti_buf_json_str(b, ts);
}

static void put_hashes(tti_buf *b, const char *name, const tt_proof *p)
{
    char hex[2 * TT_HASH_SIZE + 1];
    key(b, name);
    tti_buf_add(b, "[", 1);
    for (size_t i = 0; i < p->n_hashes; i++) {
        if (i > 0)
            tti_buf_add(b, ",", 1);
        tti_hex_encode(p->hashes[i], TT_HASH_SIZE, hex);
        tti_buf_json_str(b, hex);
    }
    tti_buf_add(b, "]", 1);
}

static void open_object(tti_buf *b)
{
    tti_buf_init(b, OUT_MAX);
    tti_buf_add(b, "{", 1);
}

/* Close and hand over the text; NULL when any write on the way failed. */
static char *finish(tti_buf *b)
{
    tti_buf_add(b, "}", 1);
    if (b->failed) {
        tti_buf_free(b);
        return NULL;
    }
    return tti_buf_take(b);
}

char *tt_append_result_to_json(const tt_append_result *r)
{
    tti_buf b;
    open_object(&b);
    put_int(&b, "seq", r->seq);
    put_ts(&b, "ts", r->ts_us);
    put_hex(&b, "leaf_hash", r->leaf_hash);
    return finish(&b);
}

char *tt_batch_result_to_json(const tt_append_result *r, size_t n)
{
    /* The first seq written by this batch; a batch made only of repeated keys has none. */
    int64_t first = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].existed)
            continue;
        if (first == 0)
            first = r[i].seq;
        count++;
    }
    tti_buf b;
    open_object(&b);
    put_int_or_null(&b, "first_seq", first);
    put_int(&b, "count", count);
    /* SPEC 9: seqs, every input event's seq in input order; a replayed idempotency key
     * gives the original seq, so a client retrying a batch learns where each event is. */
    key(&b, "seqs");
    tti_buf_add(&b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            tti_buf_add(&b, ",", 1);
        tti_buf_json_int(&b, (long long)r[i].seq);
    }
    tti_buf_add(&b, "]", 1);
    return finish(&b);
}

char *tt_inclusion_proof_to_json(const tt_proof *p)
{
    tti_buf b;
    open_object(&b);
    put_int(&b, "leaf_index", p->leaf_index);
    put_int(&b, "tree_size", p->tree_size);
    put_hex(&b, "leaf_hash", p->leaf_hash);
    put_hashes(&b, "hashes", p);
    put_hex(&b, "root_hash", p->root_hash);
    return finish(&b);
}

char *tt_consistency_proof_to_json(const tt_proof *p)
{
    tti_buf b;
    open_object(&b);
    put_int(&b, "first", p->first_size);
    put_int(&b, "second", p->tree_size);
    put_hashes(&b, "hashes", p);
    put_hex(&b, "first_root", p->leaf_hash);
    put_hex(&b, "second_root", p->root_hash);
    return finish(&b);
}

char *tt_checkpoint_to_json(const tt_checkpoint *cp)
{
    tti_buf b;
    open_object(&b);
    put_int(&b, "tree_size", cp->tree_size);
    put_hex(&b, "root_hash", cp->root_hash);
    put_ts(&b, "ts", cp->ts_us);
    key(&b, "note");
    tti_buf_json_str(&b, cp->note ? cp->note : "");
    return finish(&b);
}

void tti_json_counts(tti_buf *b, const tt_count *c, size_t n)
{
    tti_buf_add(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            tti_buf_add(b, ",", 1);
        tti_buf_json_str(b, c[i].name);
        tti_buf_add(b, ":", 1);
        tti_buf_json_int(b, (long long)c[i].count);
    }
    tti_buf_add(b, "}", 1);
}

char *tt_stats_to_json(const tt_stats *s, int64_t now_us)
{
    tti_buf b;
    open_object(&b);
    put_int(&b, "total", s->total);
    put_int(&b, "today", s->today);
    put_int(&b, "tree_size", s->tree_size);
    put_ts(&b, "last_ts", s->last_ts_us);
    key(&b, "checkpoint");
    if (s->checkpoint_ts_us == TT_TIME_NONE) {
        tti_buf_add(&b, "null", 4);
    } else {
        double age = (double)(now_us - s->checkpoint_ts_us) / 1e6;
        tti_buf_adds(&b, "{\"tree_size\":");
        tti_buf_json_int(&b, (long long)s->checkpoint_size);
        tti_buf_adds(&b, ",\"ts\":");
        char ts[TT_TS_LEN + 1];
        tt_time_format(s->checkpoint_ts_us, ts);
        tti_buf_json_str(&b, ts);
        tti_buf_adds(&b, ",\"age_seconds\":");
        tti_buf_json_real(&b, age < 0 ? 0 : age);
        tti_buf_add(&b, "}", 1);
    }
    key(&b, "by_entity");
    tti_json_counts(&b, s->by_entity, s->n_by_entity);
    key(&b, "by_event_type");
    tti_json_counts(&b, s->by_event_type, s->n_by_event_type);
    return finish(&b);
}

char *tt_verify_report_to_json(const tt_verify_report *r, int ok_result)
{
    tti_buf b;
    open_object(&b);
    key(&b, "ok");
    tti_buf_adds(&b, ok_result ? "true" : "false");
    put_int(&b, "tree_size", r->tree_size);
    put_int(&b, "events_checked", r->events_checked);
    put_int(&b, "checkpoints_checked", r->checkpoints_checked);
    put_int(&b, "segments_checked", r->segments_checked);
    put_int(&b, "archived_checked", r->archived_checked);
    put_int_or_null(&b, "first_bad_seq", r->first_bad_seq);
    put_int_or_null(&b, "bad_checkpoint_size", r->bad_checkpoint_size);
    key(&b, "message");
    tti_buf_json_str(&b, r->message);
    return finish(&b);
}

int tt_metadata_normalize(const char *in, size_t len, char **out, char *err, size_t errlen)
{
    return tti_metadata_normalize(in, len, out, err, errlen);
}

int tt_utf8_valid(const char *s, size_t len)
{
    return tti_utf8_valid(s, len);
}

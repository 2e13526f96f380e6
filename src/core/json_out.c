/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON shapes of results (append, proofs, checkpoints, stats, verification) shared by
 * the CLI's -o json and the HTTP API, so both print exactly the same objects (SPEC 10).
 */
#include <jansson.h>
#include <string.h>

#include "core/event.h"
#include "tradetrail.h"
#include "util/codec.h"

static json_t *hex_value(const uint8_t *h)
{
    char hex[2 * TT_HASH_SIZE + 1];
    tti_hex_encode(h, TT_HASH_SIZE, hex);
    return json_string(hex);
}

static json_t *ts_value(int64_t us)
{
    if (us == TT_TIME_NONE)
        return json_null();
    char buf[TT_TS_LEN + 1];
    tt_time_format(us, buf);
    return json_string(buf);
}

/* Serialise and free; NULL when any allocation on the way failed. */
static char *finish(json_t *o, int ok)
{
    char *s = ok && o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

char *tt_append_result_to_json(const tt_append_result *r)
{
    json_t *o = json_object();
    int ok = o && !json_object_set_new(o, "seq", json_integer(r->seq)) &&
             !json_object_set_new(o, "ts", ts_value(r->ts_us)) &&
             !json_object_set_new(o, "leaf_hash", hex_value(r->leaf_hash));
    return finish(o, ok);
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
    /* SPEC 9: seqs, every input event's seq in input order; a replayed idempotency key
     * gives the original seq, so a client retrying a batch learns where each event is. */
    json_t *seqs = json_array();
    for (size_t i = 0; seqs != NULL && i < n; i++)
        if (json_array_append_new(seqs, json_integer(r[i].seq)) != 0) {
            json_decref(seqs);
            seqs = NULL;
        }
    json_t *o = json_object();
    int ok = o && seqs &&
             !json_object_set_new(o, "first_seq", first ? json_integer(first) : json_null()) &&
             !json_object_set_new(o, "count", json_integer(count)) &&
             !json_object_set(o, "seqs", seqs);
    json_decref(seqs); /* o holds its own reference when set */
    return finish(o, ok);
}

static json_t *hash_list(const tt_proof *p)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < p->n_hashes; i++)
        if (json_array_append_new(a, hex_value(p->hashes[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

char *tt_inclusion_proof_to_json(const tt_proof *p)
{
    json_t *o = json_object();
    int ok = o && !json_object_set_new(o, "leaf_index", json_integer(p->leaf_index)) &&
             !json_object_set_new(o, "tree_size", json_integer(p->tree_size)) &&
             !json_object_set_new(o, "leaf_hash", hex_value(p->leaf_hash)) &&
             !json_object_set_new(o, "hashes", hash_list(p)) &&
             !json_object_set_new(o, "root_hash", hex_value(p->root_hash));
    return finish(o, ok);
}

char *tt_consistency_proof_to_json(const tt_proof *p)
{
    json_t *o = json_object();
    int ok = o && !json_object_set_new(o, "first", json_integer(p->first_size)) &&
             !json_object_set_new(o, "second", json_integer(p->tree_size)) &&
             !json_object_set_new(o, "hashes", hash_list(p)) &&
             !json_object_set_new(o, "first_root", hex_value(p->leaf_hash)) &&
             !json_object_set_new(o, "second_root", hex_value(p->root_hash));
    return finish(o, ok);
}

char *tt_checkpoint_to_json(const tt_checkpoint *cp)
{
    json_t *o = json_object();
    int ok = o && !json_object_set_new(o, "tree_size", json_integer(cp->tree_size)) &&
             !json_object_set_new(o, "root_hash", hex_value(cp->root_hash)) &&
             !json_object_set_new(o, "ts", ts_value(cp->ts_us)) &&
             !json_object_set_new(o, "note", json_string(cp->note ? cp->note : ""));
    return finish(o, ok);
}

static json_t *count_map(const tt_count *c, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        if (json_object_set_new(o, c[i].name, json_integer(c[i].count)) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *cp_summary(const tt_stats *s, int64_t now_us)
{
    if (s->checkpoint_ts_us == TT_TIME_NONE)
        return json_null();
    json_t *o = json_object();
    double age = (double)(now_us - s->checkpoint_ts_us) / 1e6;
    if (o && (json_object_set_new(o, "tree_size", json_integer(s->checkpoint_size)) ||
              json_object_set_new(o, "ts", ts_value(s->checkpoint_ts_us)) ||
              json_object_set_new(o, "age_seconds", json_real(age < 0 ? 0 : age)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *tt_stats_to_json(const tt_stats *s, int64_t now_us)
{
    json_t *o = json_object();
    int ok =
        o && !json_object_set_new(o, "total", json_integer(s->total)) &&
        !json_object_set_new(o, "today", json_integer(s->today)) &&
        !json_object_set_new(o, "tree_size", json_integer(s->tree_size)) &&
        !json_object_set_new(o, "last_ts", ts_value(s->last_ts_us)) &&
        !json_object_set_new(o, "checkpoint", cp_summary(s, now_us)) &&
        !json_object_set_new(o, "by_entity", count_map(s->by_entity, s->n_by_entity)) &&
        !json_object_set_new(o, "by_event_type", count_map(s->by_event_type, s->n_by_event_type));
    return finish(o, ok);
}

char *tt_verify_report_to_json(const tt_verify_report *r, int ok_result)
{
    json_t *o = json_object();
    int ok =
        o && !json_object_set_new(o, "ok", json_boolean(ok_result)) &&
        !json_object_set_new(o, "tree_size", json_integer(r->tree_size)) &&
        !json_object_set_new(o, "events_checked", json_integer(r->events_checked)) &&
        !json_object_set_new(o, "checkpoints_checked", json_integer(r->checkpoints_checked)) &&
        !json_object_set_new(o, "first_bad_seq",
                             r->first_bad_seq ? json_integer(r->first_bad_seq) : json_null()) &&
        !json_object_set_new(o, "bad_checkpoint_size",
                             r->bad_checkpoint_size ? json_integer(r->bad_checkpoint_size)
                                                    : json_null()) &&
        !json_object_set_new(o, "message", json_string(r->message));
    return finish(o, ok);
}

int tt_metadata_normalize(const char *in, size_t len, char **out, char *err, size_t errlen)
{
    return tti_metadata_normalize(in, len, out, err, errlen);
}

int tt_utf8_valid(const char *s, size_t len)
{
    return tti_utf8_valid(s, len);
}

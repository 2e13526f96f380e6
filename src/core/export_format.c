/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bytes of an export (docs/FORMAT.md section 8): an event as a JSON line or an RFC 4180
 * CSV record, the records read back into events, and the manifest written and parsed
 * (jansson, strict). Shared by the exporter and the offline verifier.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/export.h"
#include "util/codec.h"

/* SPEC 15's two columns come last, after leaf_hash: a CSV written before them has the same
 * first 14 columns, so a consumer that reads those by position reads both alike. */
const char *const tti_export_columns[TTI_EXPORT_CSV_COLUMNS] = {
    "seq",        "ts",         "entity",   "entity_id",   "event_type",  "actor",
    "old_status", "new_status", "reason",   "metadata",    "occurred_at", "idempotency_key",
    "principal",  "leaf_hash",  "producer", "producer_seq"};

enum { COL_SEQ = 0, COL_PRODUCER = TTI_EXPORT_COLUMNS, COL_PRODUCER_SEQ };

const char *tt_export_format_name(tt_export_format f)
{
    return f == TT_EXPORT_CSV ? "csv" : "jsonl";
}

int tt_export_format_parse(const char *s, tt_export_format *out)
{
    if (s != NULL && strcmp(s, "jsonl") == 0)
        *out = TT_EXPORT_JSONL;
    else if (s != NULL && strcmp(s, "csv") == 0)
        *out = TT_EXPORT_CSV;
    else
        return TT_EINVAL;
    return TT_OK;
}

int tti_export_header(tt_export_format f, tti_buf *out)
{
    if (f != TT_EXPORT_CSV)
        return 0;
    for (size_t i = 0; i < TTI_EXPORT_CSV_COLUMNS; i++) {
        if (i > 0)
            tti_buf_add(out, ",", 1);
        tti_buf_adds(out, tti_export_columns[i]);
    }
    tti_buf_add(out, "\r\n", 2);
    return out->failed ? -1 : 0;
}

/* FORMAT.md 8.2: a present value always in double quotes, inner quotes doubled; an absent
 * one an empty unquoted field, so null and "" (a reason asked for, none given) differ. */
static void csv_str(tti_buf *b, const char *s)
{
    if (s == NULL)
        return;
    tti_buf_add(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        const char *q = strchr(p, '"');
        if (q == NULL) {
            tti_buf_adds(b, p);
            break;
        }
        tti_buf_add(b, p, (size_t)(q - p));
        tti_buf_add(b, "\"\"", 2);
        p = q;
    }
    tti_buf_add(b, "\"", 1);
}

static void csv_time(tti_buf *b, int64_t us)
{
    if (us == TT_TIME_NONE)
        return;
    char ts[TT_TS_LEN + 1];
    tt_time_format(us, ts);
    csv_str(b, ts);
}

int tti_export_record(tt_export_format f, const tt_event *ev, tti_buf *out)
{
    if (f == TT_EXPORT_JSONL) {
        char *json = tt_event_to_json(ev);
        if (json == NULL)
            return -1;
        tti_buf_adds(out, json);
        tti_buf_add(out, "\n", 1);
        free(json);
        return out->failed ? -1 : 0;
    }
    char hex[2 * TT_HASH_SIZE + 1];
    tti_buf_json_int(out, (long long)ev->seq);
    tti_buf_add(out, ",", 1);
    csv_time(out, ev->ts_us);
    const char *strs[] = {ev->entity,     ev->entity_id,  ev->event_type, ev->actor,
                          ev->old_status, ev->new_status, ev->reason,     ev->metadata};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        tti_buf_add(out, ",", 1);
        csv_str(out, strs[i]);
    }
    tti_buf_add(out, ",", 1);
    csv_time(out, ev->occurred_at_us);
    tti_buf_add(out, ",", 1);
    csv_str(out, ev->idempotency_key);
    tti_buf_add(out, ",", 1);
    csv_str(out, ev->principal);
    tti_buf_add(out, ",", 1);
    tti_hex_encode(ev->leaf_hash, TT_HASH_SIZE, hex);
    csv_str(out, hex);
    /* SPEC 15: both empty for an event without a producer, so it re-hashes as the version 1
     * or 2 leaf it is; producer_seq bare like seq. */
    tti_buf_add(out, ",", 1);
    csv_str(out, ev->producer);
    tti_buf_add(out, ",", 1);
    if (ev->producer != NULL)
        tti_buf_json_int(out, (long long)ev->producer_seq);
    tti_buf_add(out, "\r\n", 2);
    return out->failed ? -1 : 0;
}

void tti_export_rec_clear(tti_export_rec *rec)
{
    if (rec == NULL)
        return;
    free(rec->owner);
    rec->owner = NULL;
}

/* ---- reading records back ---- */

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        rc = TT_EPARSE;                                                                            \
        goto out;                                                                                  \
    } while (0)

/* Copies of the record's strings in one block, so rec->owner frees them all. */
typedef struct strpool {
    char *data;
    size_t len, cap;
} strpool;

static size_t pool_add(strpool *p, const char *s, size_t n)
{
    size_t at = p->len;
    memcpy(p->data + p->len, s, n);
    p->data[p->len + n] = '\0';
    p->len += n + 1;
    return at;
}

/* FORMAT.md 8.2, 8.3: hex is lowercase. tti_hex_decode takes either case, so an export
 * would otherwise verify with bytes no exporter writes. */
static int lower_hex(const char *hex, size_t n, uint8_t *out, size_t outlen)
{
    for (size_t i = 0; i < n; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return -1;
    return tti_hex_decode(hex, n, out, outlen);
}

/* A time exactly in section 5's form (2026-01-18T10:31:00.123456Z): the parser accepts other
 * RFC 3339 spellings of the same instant, which hash alike but FORMAT.md 8.2 forbids. */
static int exact_time(const char *s, int64_t *us)
{
    char canon[TT_TS_LEN + 1];
    if (tt_time_parse_rfc3339(s, us) != TT_OK)
        return -1;
    tt_time_format(*us, canon);
    return strcmp(canon, s) == 0 ? 0 : -1;
}

/* Parse the leaf hash, seq and times shared by both forms. */
static int parse_hash(const char *hex, size_t n, uint8_t out[TT_HASH_SIZE])
{
    return n == 2 * TT_HASH_SIZE && lower_hex(hex, n, out, TT_HASH_SIZE) == 0 ? 0 : -1;
}

/* ts and occurred_at (absent: null), shared by both forms. */
static int parse_times(const char *ts, const char *occurred, tt_event *ev, char *err, size_t errlen)
{
    if (exact_time(ts, &ev->ts_us) != 0) {
        snprintf(err, errlen, "ts: not a time of the form 2026-01-18T10:31:00.123456Z");
        return TT_EPARSE;
    }
    if (occurred != NULL && exact_time(occurred, &ev->occurred_at_us) != 0) {
        snprintf(err, errlen, "occurred_at: not a time of the form 2026-01-18T10:31:00.123456Z");
        return TT_EPARSE;
    }
    return TT_OK;
}

int tti_export_parse_jsonl(const char *line, size_t len, tti_export_rec *rec, char *err,
                           size_t errlen)
{
    int rc = TT_OK;
    json_error_t je;
    char *meta = NULL;
    strpool pool = {0};
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    memset(rec, 0, sizeof *rec);
    tt_event_init(&rec->ev);
    if (o == NULL || !json_is_object(o))
        FAIL("not a JSON object (%s)", o == NULL ? je.text : "other value");
    /* SPEC 15: an event with a producer has producer and producer_seq besides (version 3
     * leaf bytes, docs/FORMAT.md); every other event has exactly the columns. */
    json_t *prod = json_object_get(o, "producer"), *pseq = json_object_get(o, "producer_seq");
    size_t extra = prod != NULL ? 2 : 0;
    if (json_object_size(o) != TTI_EXPORT_COLUMNS + extra)
        FAIL("expected the %zu members of an exported event, got %zu",
             (size_t)TTI_EXPORT_COLUMNS + extra, json_object_size(o));
    if (prod != NULL && (!json_is_string(prod) || json_string_length(prod) == 0 ||
                         !json_is_integer(pseq) || json_integer_value(pseq) < 1))
        FAIL("producer, producer_seq: a string and an integer >= 1");
    pool.cap = len + 64 + TT_MAX_METADATA + 2 + (prod != NULL ? json_string_length(prod) + 1 : 0);
    if ((pool.data = malloc(pool.cap)) == NULL) {
        rc = TT_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t off[TTI_EXPORT_COLUMNS];
    int present[TTI_EXPORT_COLUMNS];
    for (size_t i = 0; i < TTI_EXPORT_COLUMNS; i++) {
        const char *k = tti_export_columns[i];
        json_t *v = json_object_get(o, k);
        present[i] = 0;
        if (v == NULL)
            FAIL("%s: missing", k);
        if (json_is_null(v))
            continue;
        if (i == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1)
                FAIL("seq: must be a positive integer");
            rec->ev.seq = json_integer_value(v);
            continue;
        }
        if (i == 9) { /* metadata: the stored text, recovered by normalising it again */
            if (!json_is_object(v))
                FAIL("metadata: must be an object or null");
            char *dumped = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
            char merr[256];
            int mrc =
                dumped ? tti_metadata_renormalize(dumped, strlen(dumped), &meta, merr, sizeof merr)
                       : TT_ENOMEM;
            free(dumped);
            if (mrc != TT_OK)
                FAIL("metadata: %s", mrc == TT_ENOMEM ? "out of memory" : merr);
            if (strlen(meta) + pool.len + 1 > pool.cap)
                FAIL("metadata: too long");
            off[i] = pool_add(&pool, meta, strlen(meta));
            present[i] = 1;
            continue;
        }
        if (!json_is_string(v))
            FAIL("%s: must be a string or null", k);
        off[i] = pool_add(&pool, json_string_value(v), json_string_length(v));
        present[i] = 1;
    }
    if (rec->ev.seq < 1)
        FAIL("seq: missing");
    const char *s[TTI_EXPORT_COLUMNS];
    for (size_t i = 0; i < TTI_EXPORT_COLUMNS; i++)
        s[i] = present[i] ? pool.data + off[i] : NULL;
    for (size_t i = 1; i < 6; i++)
        if (s[i] == NULL)
            FAIL("%s: must not be null", tti_export_columns[i]);
    if ((rc = parse_times(s[1], s[10], &rec->ev, err, errlen)) != TT_OK)
        goto out;
    if (s[13] == NULL || parse_hash(s[13], strlen(s[13]), rec->ev.leaf_hash) != 0)
        FAIL("leaf_hash: must be 64 lowercase hex digits");
    rec->ev.entity = s[2];
    rec->ev.entity_id = s[3];
    rec->ev.event_type = s[4];
    rec->ev.actor = s[5];
    rec->ev.old_status = s[6];
    rec->ev.new_status = s[7];
    rec->ev.reason = s[8];
    rec->ev.metadata = s[9];
    rec->ev.idempotency_key = s[11];
    rec->ev.principal = s[12];
    if (prod != NULL) {
        size_t at = pool_add(&pool, json_string_value(prod), json_string_length(prod));
        rec->ev.producer = pool.data + at;
        rec->ev.producer_seq = json_integer_value(pseq);
    }
    rec->owner = pool.data;
    pool.data = NULL;
out:
    free(meta);
    free(pool.data);
    json_decref(o);
    return rc;
}

int tti_export_csv_layout(const tti_csv_field *f, size_t n, tti_csv_layout *out, char *err,
                          size_t errlen)
{
    int rc = TT_OK;
    tti_csv_layout lay = {n, {0}};
    for (size_t i = 0; i < TTI_EXPORT_CSV_COLUMNS; i++)
        lay.pos[i] = -1;
    if (n > TTI_EXPORT_CSV_COLUMNS)
        FAIL("%zu columns, at most %d are known", n, TTI_EXPORT_CSV_COLUMNS);
    for (size_t j = 0; j < n; j++) {
        size_t i = 0;
        while (i < TTI_EXPORT_CSV_COLUMNS && strcmp(f[j].text, tti_export_columns[i]) != 0)
            i++;
        if (f[j].quoted || i == TTI_EXPORT_CSV_COLUMNS)
            FAIL("column %zu: \"%.64s\" is not a column name (unquoted, as FORMAT.md 8.2 lists)",
                 j + 1, f[j].text);
        if (lay.pos[i] >= 0)
            FAIL("column %s: named twice", tti_export_columns[i]);
        lay.pos[i] = (int)j;
    }
    for (size_t i = 0; i < TTI_EXPORT_COLUMNS; i++)
        if (lay.pos[i] < 0)
            FAIL("column %s: missing", tti_export_columns[i]);
    if ((lay.pos[COL_PRODUCER] < 0) != (lay.pos[COL_PRODUCER_SEQ] < 0))
        FAIL("columns producer and producer_seq: both or neither");
    *out = lay;
out:
    return rc;
}

/* seq and producer_seq: a bare decimal integer >= 1 (no quotes, sign or leading zero). */
static int bare_int(const tti_csv_field *f, int64_t *out)
{
    /* the length too: tt_parse_int would stop at a NUL inside the field */
    return !f->quoted && f->text[0] >= '1' && f->text[0] <= '9' && strlen(f->text) == f->len &&
                   tt_parse_int(f->text, 1, INT64_MAX, out) == TT_OK
               ? 0
               : -1;
}

int tti_export_parse_csv(const tti_csv_layout *lay, const tti_csv_field *fields, size_t n,
                         tti_export_rec *rec, char *err, size_t errlen)
{
    int rc = TT_OK;
    memset(rec, 0, sizeof *rec);
    tt_event_init(&rec->ev);
    if (n != lay->n)
        FAIL("expected %zu fields as in the header row, got %zu", lay->n, n);
    const tti_csv_field *f[TTI_EXPORT_CSV_COLUMNS];
    for (size_t i = 0; i < TTI_EXPORT_CSV_COLUMNS; i++)
        f[i] = lay->pos[i] >= 0 ? &fields[lay->pos[i]] : NULL;
    if (bare_int(f[COL_SEQ], &rec->ev.seq) != 0)
        FAIL("seq: must be a bare positive integer");
    const char *s[TTI_EXPORT_CSV_COLUMNS] = {NULL};
    for (size_t i = 1; i < TTI_EXPORT_CSV_COLUMNS; i++) {
        if (f[i] == NULL || i == COL_PRODUCER_SEQ)
            continue;
        if (!f[i]->quoted && f[i]->len > 0)
            FAIL("%s: a value must be quoted (an empty unquoted field is null)",
                 tti_export_columns[i]);
        if (f[i]->quoted && strlen(f[i]->text) != f[i]->len)
            FAIL("%s: holds a NUL byte", tti_export_columns[i]);
        s[i] = f[i]->quoted ? f[i]->text : NULL;
    }
    for (size_t i = 1; i < 6; i++)
        if (s[i] == NULL)
            FAIL("%s: must not be null", tti_export_columns[i]);
    if ((rc = parse_times(s[1], s[10], &rec->ev, err, errlen)) != TT_OK)
        goto out;
    if (s[13] == NULL || parse_hash(s[13], strlen(s[13]), rec->ev.leaf_hash) != 0)
        FAIL("leaf_hash: must be 64 lowercase hex digits");
    /* SPEC 15: an empty producer cell is no producer (a version 1 or 2 leaf); a producer
     * makes the version 3 leaf, with its producer_seq (FORMAT.md section 2). */
    if (s[COL_PRODUCER] != NULL) {
        if (s[COL_PRODUCER][0] == '\0')
            FAIL("producer: \"\" is not a name (an empty unquoted field is no producer)");
        if (bare_int(f[COL_PRODUCER_SEQ], &rec->ev.producer_seq) != 0)
            FAIL("producer_seq: must be a bare positive integer when producer is given");
    } else if (f[COL_PRODUCER_SEQ] != NULL &&
               (f[COL_PRODUCER_SEQ]->quoted || f[COL_PRODUCER_SEQ]->len > 0)) {
        FAIL("producer_seq: must be empty when producer is");
    }
    rec->ev.entity = s[2];
    rec->ev.entity_id = s[3];
    rec->ev.event_type = s[4];
    rec->ev.actor = s[5];
    rec->ev.old_status = s[6];
    rec->ev.new_status = s[7];
    rec->ev.reason = s[8];
    rec->ev.metadata = s[9]; /* the stored text verbatim: hashed as it is */
    rec->ev.idempotency_key = s[11];
    rec->ev.principal = s[12];
    rec->ev.producer = s[COL_PRODUCER];
out:
    return rc;
}

/* ---- the leaf bytes' header ---- */

int tti_leaf_peek(const uint8_t *leaf, size_t len, int64_t *seq, int64_t *ts_us)
{
    if (len < 17 || (leaf[0] < 1 || leaf[0] > 3))
        return -1;
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; i++) {
        a = a << 8 | leaf[1 + i];
        b = b << 8 | leaf[9 + i];
    }
    *seq = (int64_t)a;
    *ts_us = (int64_t)b;
    return 0;
}

void tti_manifest_proof_range(const tti_manifest *m, int64_t *lo, int64_t *hi)
{
    *lo = m->first_seq - 1 - (m->before != NULL ? 1 : 0);
    *hi = m->last_seq + (m->after != NULL ? 1 : 0);
}

/* ---- the manifest ---- */

static void time_member(tti_jw *w, const char *key, int64_t us)
{
    char ts[TT_TS_LEN + 1];
    if (us != TT_TIME_NONE)
        tt_time_format(us, ts);
    tti_jw_str(w, key, us == TT_TIME_NONE ? NULL : ts);
}

void tti_manifest_write_proof(tti_jw *w, int64_t tree_size, const uint8_t root[TT_HASH_SIZE],
                              const char *note, int64_t first, int64_t end, const uint8_t *hashes,
                              size_t n)
{
    tti_jw_open(w, "checkpoint", '{');
    tti_jw_int(w, "tree_size", tree_size);
    tti_jw_hex(w, "root_hash", root, TT_HASH_SIZE);
    tti_jw_str(w, "note", note);
    tti_jw_close(w, '}');
    tti_jw_open(w, "proof", '{');
    tti_jw_int(w, "first", first);
    tti_jw_int(w, "end", end);
    tti_jw_open(w, "hashes", '[');
    for (size_t i = 0; i < n; i++)
        tti_jw_hex(w, NULL, hashes + i * TT_HASH_SIZE, TT_HASH_SIZE);
    tti_jw_close(w, ']');
    tti_jw_close(w, '}');
}

/* The one JSON writer, indented as the manifest always was (docs/FORMAT.md). */
char *tti_manifest_to_json(const tti_manifest *m)
{
    tti_buf b;
    tti_jw w;
    tti_buf_init(&b, (size_t)1 << 30);
    tti_jw_init(&w, &b);
    tti_jw_open(&w, NULL, '{');
    tti_jw_str(&w, "format", TTI_EXPORT_FORMAT_NAME);
    tti_jw_int(&w, "version", TTI_EXPORT_VERSION);
    tti_jw_str(&w, "origin", m->origin);
    tti_jw_str(&w, "data_format", tt_export_format_name(m->format));
    time_member(&w, "since", m->since_us);
    time_member(&w, "until", m->until_us);
    tti_jw_int(&w, "tree_size", m->tree_size);
    tti_jw_int(&w, "first_seq", m->first_seq);
    tti_jw_int(&w, "last_seq", m->last_seq);
    tti_jw_int(&w, "count", m->count);
    tti_jw_open(&w, "files", '[');
    for (size_t i = 0; i < m->n_files; i++) {
        const tti_export_file *f = &m->files[i];
        tti_jw_open(&w, NULL, '{');
        tti_jw_str(&w, "name", f->name);
        tti_jw_int(&w, "first_seq", f->first_seq);
        tti_jw_int(&w, "last_seq", f->last_seq);
        tti_jw_int(&w, "count", f->count);
        tti_jw_int(&w, "bytes", f->bytes);
        tti_jw_hex(&w, "sha256", f->sha256, TT_HASH_SIZE);
        tti_jw_close(&w, '}');
    }
    tti_jw_close(&w, ']');
    tti_jw_open(&w, "boundary", '{');
    tti_jw_hex(&w, "before", m->before, m->before_len);
    tti_jw_hex(&w, "after", m->after, m->after_len);
    tti_jw_close(&w, '}');
    tti_manifest_write_proof(&w, m->cp_tree_size, m->cp_root, m->note, m->proof_first, m->proof_end,
                             (const uint8_t *)m->hashes, m->n_hashes);
    tti_jw_close(&w, '}');
    tti_buf_adds(&b, "\n"); /* a text file ends with a newline */
    if (b.failed) {
        tti_buf_free(&b);
        return NULL;
    }
    return tti_buf_take(&b);
}

void tti_manifest_clear(tti_manifest *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_files; i++)
        free(m->files[i].name);
    free(m->files);
    free(m->origin);
    free(m->before);
    free(m->after);
    free(m->note);
    free(m->hashes);
    memset(m, 0, sizeof *m);
}

/* Members of one object: exactly these, no others. */
static int only_members(json_t *o, const char *const *names, size_t n, const char *where, char *err,
                        size_t errlen)
{
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s: must be an object", where);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(k, names[i]) != 0)
            i++;
        if (i == n) {
            snprintf(err, errlen, "%s: unknown member \"%.64s\"", where, k);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (json_object_get(o, names[i]) == NULL) {
            snprintf(err, errlen, "%s: missing member \"%s\"", where, names[i]);
            return -1;
        }
    return 0;
}

static int get_int(json_t *o, const char *k, int64_t min, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int get_hex(json_t *v, uint8_t *out, size_t n)
{
    return json_is_string(v) && lower_hex(json_string_value(v), json_string_length(v), out, n) == 0
               ? 0
               : -1;
}

/* A hex string of any even length up to max bytes, or null; *out NULL for null. */
static int get_opt_blob(json_t *v, size_t max, uint8_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) % 2 != 0 || json_string_length(v) == 0 ||
        json_string_length(v) / 2 > max)
        return -1;
    size_t len = json_string_length(v) / 2;
    if ((*out = malloc(len)) == NULL)
        return -1;
    if (lower_hex(json_string_value(v), 2 * len, *out, len) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    *n = len;
    return 0;
}

static int get_time(json_t *v, int64_t *out)
{
    if (json_is_null(v)) {
        *out = TT_TIME_NONE;
        return 0;
    }
    return json_is_string(v) && exact_time(json_string_value(v), out) == 0 ? 0 : -1;
}

/* A file name that stays in the export directory: [A-Za-z0-9._-], not starting with '.',
 * at most 128 bytes, not the manifest itself. */
static int safe_name(const char *s, size_t n)
{
    if (n == 0 || n > 128 || s[0] == '.' || strcmp(s, "manifest.json") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int tti_manifest_parse(const char *json, size_t len, tti_manifest *out, char *err, size_t errlen)
{
    static const char *const top[] = {"format", "version",   "origin",     "data_format", "since",
                                      "until",  "tree_size", "first_seq",  "last_seq",    "count",
                                      "files",  "boundary",  "checkpoint", "proof"};
    static const char *const filem[] = {"name",  "first_seq", "last_seq",
                                        "count", "bytes",     "sha256"};
    static const char *const bnd[] = {"before", "after"};
    static const char *const cpm[] = {"tree_size", "root_hash", "note"};
    static const char *const prm[] = {"first", "end", "hashes"};
    int rc = TT_OK;
    tti_manifest m;
    memset(&m, 0, sizeof m);
    json_error_t je;
    json_t *o = NULL;
    if (len > TT_EXPORT_MANIFEST_MAX)
        FAIL("manifest: larger than %u bytes", TT_EXPORT_MANIFEST_MAX);
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL)
        FAIL("manifest: line %d column %d: %s", je.line, je.column, je.text);
    if (only_members(o, top, sizeof top / sizeof top[0], "manifest", err, errlen) != 0)
        goto bad;
    json_t *v = json_object_get(o, "format");
    if (!json_is_string(v) || strcmp(json_string_value(v), TTI_EXPORT_FORMAT_NAME) != 0)
        FAIL("format: must be \"%s\"", TTI_EXPORT_FORMAT_NAME);
    int64_t version;
    if (get_int(o, "version", 0, &version) != 0 || version != TTI_EXPORT_VERSION)
        FAIL("version: must be %d", TTI_EXPORT_VERSION);
    v = json_object_get(o, "origin");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 1024 ||
        strlen(json_string_value(v)) != json_string_length(v))
        FAIL("origin: must be a non-empty string");
    if ((m.origin = strdup(json_string_value(v))) == NULL)
        goto nomem;
    v = json_object_get(o, "data_format");
    if (!json_is_string(v) || tt_export_format_parse(json_string_value(v), &m.format) != TT_OK)
        FAIL("data_format: must be \"jsonl\" or \"csv\"");
    if (get_time(json_object_get(o, "since"), &m.since_us) != 0)
        FAIL("since: must be a time of the form 2026-01-18T10:31:00.123456Z, or null");
    if (get_time(json_object_get(o, "until"), &m.until_us) != 0)
        FAIL("until: must be a time of the form 2026-01-18T10:31:00.123456Z, or null");
    if (get_int(o, "tree_size", 0, &m.tree_size) != 0)
        FAIL("tree_size: must be an integer >= 0");
    if (get_int(o, "first_seq", 1, &m.first_seq) != 0)
        FAIL("first_seq: must be an integer >= 1");
    if (get_int(o, "last_seq", 0, &m.last_seq) != 0)
        FAIL("last_seq: must be an integer >= 0");
    if (get_int(o, "count", 0, &m.count) != 0)
        FAIL("count: must be an integer >= 0");
    if (m.last_seq > m.tree_size || m.first_seq > m.last_seq + 1 ||
        m.count != m.last_seq - m.first_seq + 1)
        FAIL("count: must be last_seq - first_seq + 1, with last_seq <= tree_size");
    json_t *files = json_object_get(o, "files");
    if (!json_is_array(files) || json_array_size(files) == 0 ||
        json_array_size(files) > TTI_EXPORT_MAX_FILES)
        FAIL("files: must be an array of 1 to %d files", TTI_EXPORT_MAX_FILES);
    if ((m.files = calloc(json_array_size(files), sizeof *m.files)) == NULL)
        goto nomem;
    int64_t next = m.first_seq;
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        tti_export_file *ef = &m.files[i];
        char where[32];
        snprintf(where, sizeof where, "files[%zu]", i);
        if (only_members(f, filem, sizeof filem / sizeof filem[0], where, err, errlen) != 0)
            goto bad;
        v = json_object_get(f, "name");
        if (!json_is_string(v) || !safe_name(json_string_value(v), json_string_length(v)))
            FAIL("%s.name: must be a plain file name ([A-Za-z0-9._-], not starting with '.')",
                 where);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m.files[j].name, json_string_value(v)) == 0)
                FAIL("%s.name: named twice", where);
        if ((ef->name = strdup(json_string_value(v))) == NULL)
            goto nomem;
        m.n_files = i + 1;
        if (get_int(f, "first_seq", 1, &ef->first_seq) != 0 ||
            get_int(f, "last_seq", 0, &ef->last_seq) != 0 ||
            get_int(f, "count", 0, &ef->count) != 0 || get_int(f, "bytes", 0, &ef->bytes) != 0)
            FAIL("%s: first_seq, last_seq, count and bytes must be integers >= 0", where);
        if (ef->first_seq != next || ef->count != ef->last_seq - ef->first_seq + 1 ||
            ef->first_seq > ef->last_seq + 1)
            FAIL("%s: must continue at seq %lld with count = last_seq - first_seq + 1", where,
                 (long long)next);
        next = ef->last_seq + 1;
        if (get_hex(json_object_get(f, "sha256"), ef->sha256, TT_HASH_SIZE) != 0)
            FAIL("%s.sha256: must be 64 lowercase hex digits", where);
    }
    if (next != m.last_seq + 1)
        FAIL("files: must cover first_seq to last_seq");
    json_t *b = json_object_get(o, "boundary");
    if (only_members(b, bnd, 2, "boundary", err, errlen) != 0)
        goto bad;
    if (get_opt_blob(json_object_get(b, "before"), 1 << 20, &m.before, &m.before_len) != 0)
        FAIL("boundary.before: must be lowercase hex leaf bytes or null");
    if (get_opt_blob(json_object_get(b, "after"), 1 << 20, &m.after, &m.after_len) != 0)
        FAIL("boundary.after: must be lowercase hex leaf bytes or null");
    json_t *cp = json_object_get(o, "checkpoint");
    if (only_members(cp, cpm, 3, "checkpoint", err, errlen) != 0)
        goto bad;
    /* The snapshot is the signed tree itself: tree_size alone is not signed, and a smaller
     * one would let a truncated export end without its boundary.after (FORMAT.md 8.3). */
    if (get_int(cp, "tree_size", 0, &m.cp_tree_size) != 0 || m.cp_tree_size != m.tree_size)
        FAIL("checkpoint.tree_size: must equal tree_size (the snapshot is the signed tree)");
    if (get_hex(json_object_get(cp, "root_hash"), m.cp_root, TT_HASH_SIZE) != 0)
        FAIL("checkpoint.root_hash: must be 64 lowercase hex digits");
    v = json_object_get(cp, "note");
    if (!json_is_string(v) || json_string_length(v) > 65536 ||
        strlen(json_string_value(v)) != json_string_length(v))
        FAIL("checkpoint.note: must be a signed note");
    if ((m.note = strdup(json_string_value(v))) == NULL)
        goto nomem;
    json_t *p = json_object_get(o, "proof");
    if (only_members(p, prm, 3, "proof", err, errlen) != 0)
        goto bad;
    int64_t lo, hi;
    tti_manifest_proof_range(&m, &lo, &hi);
    if (get_int(p, "first", 0, &m.proof_first) != 0 || get_int(p, "end", 0, &m.proof_end) != 0 ||
        m.proof_first != lo || m.proof_end != hi || hi > m.cp_tree_size)
        FAIL("proof: first and end must be %lld and %lld (the range and its boundaries)",
             (long long)lo, (long long)hi);
    json_t *hs = json_object_get(p, "hashes");
    if (!json_is_array(hs) || json_array_size(hs) > TT_RANGE_PROOF_MAX)
        FAIL("proof.hashes: must be an array of at most %d hashes", TT_RANGE_PROOF_MAX);
    m.n_hashes = json_array_size(hs);
    if (m.n_hashes > 0 && (m.hashes = calloc(m.n_hashes, TT_HASH_SIZE)) == NULL)
        goto nomem;
    for (size_t i = 0; i < m.n_hashes; i++)
        if (get_hex(json_array_get(hs, i), m.hashes[i], TT_HASH_SIZE) != 0)
            FAIL("proof.hashes[%zu]: must be 64 lowercase hex digits", i);
    json_decref(o);
    *out = m;
    return TT_OK;
nomem:
    snprintf(err, errlen, "out of memory");
    rc = TT_ENOMEM;
    goto out;
bad:
    rc = TT_EPARSE;
out:
    json_decref(o);
    tti_manifest_clear(&m);
    return rc;
}

int tt_export_manifest_check(const char *json, size_t len, char *err, size_t errlen)
{
    tti_manifest m;
    int rc = tti_manifest_parse(json, len, &m, err, errlen);
    if (rc == TT_OK)
        tti_manifest_clear(&m);
    return rc;
}

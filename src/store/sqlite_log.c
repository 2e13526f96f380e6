/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log in the SQLite backend, as the sequencer and checkpoint signing write it: the
 * head, event rows with their interned names, idempotency keys and reason index, the tree's
 * tiles, and checkpoints (SPEC 3, 4, 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/err.h"
#include "util/map.h"

int tti_sqlite_read_head(tti_store *s, tti_head *out)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_HEAD_GET);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                                           "the ledger head row is missing")
                                 : tti_sqlite_fail(s, rc, "reading the ledger head");
    size_t blen = (size_t)sqlite3_column_bytes(st, 2);
    if (blen % TT_HASH_SIZE != 0 || blen / TT_HASH_SIZE > 64)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "the ledger head is malformed (%zu bytes of tree edge)", blen);
    out->size = sqlite3_column_int64(st, 0);
    out->last_ts_us =
        sqlite3_column_type(st, 1) == SQLITE_NULL ? TT_TIME_NONE : sqlite3_column_int64(st, 1);
    out->n_crange = (unsigned)(blen / TT_HASH_SIZE);
    if (blen)
        memcpy(out->crange, sqlite3_column_blob(st, 2), blen);
    out->signed_size = sqlite3_column_int64(st, 3);
    out->n_checkpoints = sqlite3_column_int64(st, 4);
    sqlite3_reset(st);
    return TT_OK;
}

int tti_sqlite_write_head(tti_store *s, const tti_head *h)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_HEAD_PUT);
    sqlite3_bind_int64(st, 1, h->size);
    if (h->last_ts_us != TT_TIME_NONE)
        sqlite3_bind_int64(st, 2, h->last_ts_us);
    sqlite3_bind_blob(st, 3, h->crange, (int)(h->n_crange * TT_HASH_SIZE), SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, h->signed_size);
    sqlite3_bind_int64(st, 5, h->n_checkpoints);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "writing the ledger head");
}

int tti_sqlite_idem_lookup(tti_store *s, const char *key, int64_t *seq, int64_t *ts_us,
                           uint8_t leaf[TT_HASH_SIZE], char principal[TT_MAX_PRINCIPAL + 1])
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_IDEM_GET);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "looking up an idempotency key");
    *seq = sqlite3_column_int64(st, 0);
    *ts_us = sqlite3_column_int64(st, 1);
    if (sqlite3_column_bytes(st, 2) == TT_HASH_SIZE)
        memcpy(leaf, sqlite3_column_blob(st, 2), TT_HASH_SIZE);
    const char *p = tti_sqlite_col_text(st, 3);
    snprintf(principal, TT_MAX_PRINCIPAL + 1, "%s", p != NULL ? p : "");
    sqlite3_reset(st);
    return TT_OK;
}

/* The id of an interned value, inserting it when new. Cached: the hot path rarely reads. */
static int intern(tti_store *s, int kind, int64_t entity, const char *value, int64_t *id)
{
    char keybuf[TT_MAX_ENTITY_ID * 4 + 32];
    const char *key = value;
    if (kind == TTI_NAME_SUBJECT) {
        snprintf(keybuf, sizeof keybuf, "%lld/%s", (long long)entity, value);
        key = keybuf;
    }
    if (tti_map_get(s->names, kind, key, id))
        return TT_OK;
    int subj = kind == TTI_NAME_SUBJECT;
    sqlite3_stmt *st = tti_sqlite_core(s, subj ? TTI_ST_SUBJ_GET : TTI_ST_NAME_GET);
    sqlite3_bind_int64(st, 1, subj ? entity : kind);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
    } else if (rc == SQLITE_DONE) {
        st = tti_sqlite_core(s, subj ? TTI_ST_SUBJ_PUT : TTI_ST_NAME_PUT);
        sqlite3_bind_int64(st, 1, subj ? entity : kind);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            return tti_sqlite_fail(s, rc, "interning a name");
        *id = sqlite3_last_insert_rowid(s->db);
    } else {
        return tti_sqlite_fail(s, rc, "looking up a name");
    }
    sqlite3_reset(st);
    if (tti_map_put(s->names, kind, key, *id) != 0)
        tti_map_clear(s->names);
    return TT_OK;
}

static int intern_opt(tti_store *s, const char *value, sqlite3_stmt *st, int col)
{
    if (value == NULL)
        return TT_OK;
    int64_t id;
    int rc = intern(s, TTI_NAME_STATUS, 0, value, &id);
    if (rc == TT_OK)
        sqlite3_bind_int64(st, col, id);
    return rc;
}

static int insert_side_rows(tti_store *s, const tt_event *ev)
{
    int rc;
    if (ev->idempotency_key != NULL) {
        sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_IDEM_PUT);
        sqlite3_bind_text(st, 1, ev->idempotency_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, ev->seq);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            return tti_sqlite_fail(s, rc, "recording an idempotency key");
    }
    if (ev->reason != NULL && ev->reason[0] != '\0') {
        sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_FTS_PUT);
        sqlite3_bind_int64(st, 1, ev->seq);
        sqlite3_bind_text(st, 2, ev->reason, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            return tti_sqlite_fail(s, rc, "indexing the reason");
    }
    return TT_OK;
}

int tti_sqlite_insert_event(tti_store *s, const tt_event *ev)
{
    int64_t entity, subject, type, actor;
    int rc;
    if ((rc = intern(s, TTI_NAME_ENTITY, 0, ev->entity, &entity)) != TT_OK ||
        (rc = intern(s, TTI_NAME_SUBJECT, entity, ev->entity_id, &subject)) != TT_OK ||
        (rc = intern(s, TTI_NAME_TYPE, 0, ev->event_type, &type)) != TT_OK ||
        (rc = intern(s, TTI_NAME_ACTOR, 0, ev->actor, &actor)) != TT_OK)
        return rc;
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_EVENT_PUT);
    if ((rc = intern_opt(s, ev->old_status, st, 7)) != TT_OK ||
        (rc = intern_opt(s, ev->new_status, st, 8)) != TT_OK)
        return rc;
    sqlite3_bind_int64(st, 1, ev->seq);
    sqlite3_bind_int64(st, 2, ev->ts_us);
    sqlite3_bind_int64(st, 3, entity);
    sqlite3_bind_int64(st, 4, subject);
    sqlite3_bind_int64(st, 5, type);
    sqlite3_bind_int64(st, 6, actor);
    tti_sqlite_bind_opt(st, 9, ev->reason);
    tti_sqlite_bind_opt(st, 10, ev->metadata);
    if (ev->occurred_at_us != TT_TIME_NONE)
        sqlite3_bind_int64(st, 11, ev->occurred_at_us);
    tti_sqlite_bind_opt(st, 12, ev->idempotency_key);
    sqlite3_bind_blob(st, 13, ev->leaf_hash, TT_HASH_SIZE, SQLITE_STATIC);
    if (ev->principal != NULL)
        sqlite3_bind_text(st, 14, ev->principal, -1, SQLITE_STATIC);
    if (ev->producer != NULL) { /* SPEC 15; NULL on every other event */
        sqlite3_bind_text(st, 15, ev->producer, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 16, ev->producer_seq);
    }
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "inserting an event");
    if ((rc = tti_sqlite_subject_put(s, subject, ev->seq)) != TT_OK)
        return rc;
    return insert_side_rows(s, ev);
}

static int64_t tile_id(unsigned level, uint64_t index)
{
    return (int64_t)(((uint64_t)level << 56) | index);
}

int tti_sqlite_get_tile(tti_store *s, unsigned level, uint64_t index, uint8_t (*buf)[TT_HASH_SIZE],
                        size_t *n)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_TILE_GET);
    sqlite3_bind_int64(st, 1, tile_id(level, index));
    int rc = sqlite3_step(st);
    *n = 0;
    if (rc == SQLITE_DONE)
        return TT_OK;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "reading a tree tile");
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    if (len % TT_HASH_SIZE != 0 || len > TTI_TILE_WIDTH * TT_HASH_SIZE) {
        sqlite3_reset(st);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "tree tile %u/%llu is malformed (%zu bytes)", level,
                       (unsigned long long)index, len);
    }
    if (len)
        memcpy(buf, sqlite3_column_blob(st, 0), len);
    *n = len / TT_HASH_SIZE;
    sqlite3_reset(st);
    return TT_OK;
}

int tti_sqlite_put_tile(tti_store *s, unsigned level, uint64_t index,
                        const uint8_t (*hashes)[TT_HASH_SIZE], size_t n)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_TILE_PUT);
    sqlite3_bind_int64(st, 1, tile_id(level, index));
    sqlite3_bind_blob(st, 2, hashes, (int)(n * TT_HASH_SIZE), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "writing a tree tile");
}

int tti_sqlite_put_checkpoint(tti_store *s, const tti_cp_row *cp)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_CP_PUT);
    sqlite3_bind_int64(st, 1, cp->tree_size);
    sqlite3_bind_int64(st, 2, cp->ts_us);
    sqlite3_bind_blob(st, 3, cp->root, TT_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, cp->note, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "storing a checkpoint");
    static const char sql[] = "UPDATE head SET signed_size = max(signed_size, ?1),"
                              " checkpoints = checkpoints + 1 WHERE id = 1";
    if ((st = tti_sqlite_stmt(s, sql, &rc)) == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, cp->tree_size);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "recording the checkpoint in the ledger head");
    return sqlite3_changes(s->db) == 1 ? TT_OK
                                       : tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                                                 "the ledger head row is missing");
}

/* Copy a checkpoint row from the current result; the note is borrowed from st. */
static int read_cp(tti_store *s, sqlite3_stmt *st, tti_cp_row *out)
{
    out->tree_size = sqlite3_column_int64(st, 0); /* named in the report even when bad */
    if (sqlite3_column_bytes(st, 2) != TT_HASH_SIZE)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "checkpoint %lld has a malformed root",
                       (long long)sqlite3_column_int64(st, 0));
    out->tree_size = sqlite3_column_int64(st, 0);
    out->ts_us = sqlite3_column_int64(st, 1);
    memcpy(out->root, sqlite3_column_blob(st, 2), TT_HASH_SIZE);
    out->note = (char *)sqlite3_column_text(st, 3);
    return out->note ? TT_OK : tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
}

int tti_sqlite_latest_checkpoint(tti_store *s, tti_cp_row *out)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_CP_LATEST);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "reading the latest checkpoint");
    tti_cp_row row;
    if ((rc = read_cp(s, st, &row)) != TT_OK)
        return rc;
    char *note = strdup(row.note);
    sqlite3_reset(st);
    if (note == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    *out = row;
    out->note = note;
    return TT_OK;
}

int tti_sqlite_checkpoints_iter(tti_store *s, tti_store_iter **out)
{
    return tti_sqlite_iter_new(
        s, "SELECT tree_size, ts, root, note FROM checkpoints ORDER BY tree_size", 1, out);
}

int tti_sqlite_checkpoints_next(tti_store_iter *it, tti_cp_row *out)
{
    int rc = sqlite3_step(it->st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(it->s, rc, "reading checkpoints");
    return read_cp(it->s, it->st, out);
}

/* The first seq a query of one integer column gives (0 for none). */
static int first_seq(tti_store *s, const char *sql, const char *what, int64_t *seq)
{
    int rc = TT_OK;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql, &rc);
    if (st == NULL)
        return rc;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, what);
    *seq = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return TT_OK;
}

/* Every key row maps to the event holding that key, and there are as many rows as events
 * with a key: an edited row would answer a retry with another event's seq, a removed one
 * would let a retry write the event twice (SPEC 3.1, 4). The full scan naming the first
 * event concerned runs only when something is wrong. */
int tti_sqlite_check_idem(tti_store *s, int64_t n, int64_t *bad_seq)
{
    static const char wrong[] = "SELECT min(i.seq) FROM idem i WHERE NOT EXISTS "
                                "(SELECT 1 FROM events e WHERE e.seq = i.seq AND e.idem = i.key)";
    static const char rows[] = "SELECT count(*) FROM idem";
    static const char keyed[] = "SELECT count(*) FROM events WHERE idem IS NOT NULL";
    static const char missing[] =
        "SELECT min(e.seq) FROM events e WHERE e.idem IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM idem i WHERE i.key = e.idem AND i.seq = e.seq)";
    const char *what = "checking the idempotency keys";
    int64_t bad = 0, nrows = 0, lost = 0;
    int rc = first_seq(s, wrong, what, &bad);
    if (rc == TT_OK && (rc = first_seq(s, rows, what, &nrows)) == TT_OK && n < 0)
        rc = first_seq(s, keyed, what, &n);
    if (rc != TT_OK || (bad == 0 && nrows == n))
        return rc;
    if ((rc = first_seq(s, missing, what, &lost)) != TT_OK)
        return rc;
    *bad_seq = lost != 0 && (bad == 0 || lost < bad) ? lost : bad;
    if (*bad_seq == 0)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "the idempotency key table holds %lld rows for %lld events with a key",
                       (long long)nrows, (long long)n);
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                   "seq %lld: the idempotency key table does not match the event's key",
                   (long long)*bad_seq);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A whole ledger copied from one store into another, empty one (tradetrail migrate, issue
 * 15), over the store interface only, so it works between any two backends. Every event is
 * read in seq order, its leaf hash recomputed from its fields and compared with the stored
 * one, and written with its exact seq, ts and hash; the tree's tiles are rebuilt from those
 * leaves, every stored checkpoint's root is compared with the rebuilt tree at its size, and
 * the final root must equal the source head's. The domain tables (src/store/tables.c) are
 * copied row by row with their ids. Everything lands in one write transaction of the
 * target: an interrupted or refused migration leaves it empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/merkle.h"
#include "ledger/ledger.h"
#include "store/jobs_store.h"
#include "util/err.h"

#define MIGRATE_BATCH 10000 /* events between progress reports (and COPY flushes) */

typedef struct tile_buf {
    uint64_t index;
    size_t n;
    uint8_t hashes[TTI_TILE_WIDTH][TT_HASH_SIZE];
} tile_buf;

typedef struct cp_root {
    int64_t tree_size;
    uint8_t root[TT_HASH_SIZE];
} cp_root;

typedef struct mig {
    const tti_store_ops *from_ops, *to_ops;
    tti_store *from, *to;
    tt_migrate_report *rep;
    tti_crange cr;
    tile_buf *tiles[8];
    int rc; /* a failure inside on_node */
    cp_root *cps;
    size_t n_cps, next_cp;
    const tti_table *table; /* the domain table being copied */
} mig;

/* The report's message, as tti_err writes it. */
#define FAIL(m, rc, ...) tti_err((m)->rep->message, sizeof(m)->rep->message, (rc), __VA_ARGS__)

static int from_fail(mig *m, int rc)
{
    return FAIL(m, rc, "reading the source: %s", m->from_ops->errmsg(m->from));
}

static int to_fail(mig *m, int rc)
{
    return FAIL(m, rc, "writing the target: %s", m->to_ops->errmsg(m->to));
}

static int put_tile(mig *m, unsigned level)
{
    tile_buf *t = m->tiles[level];
    int rc = m->to_ops->put_tile(m->to, level, t->index, (const uint8_t(*)[TT_HASH_SIZE])t->hashes,
                                 t->n);
    return rc == TT_OK ? TT_OK : to_fail(m, rc);
}

/* Every stored node (height a multiple of 8) goes to its tile; a full tile is written. */
static void on_node(void *ctx, unsigned height, uint64_t index, const uint8_t hash[32])
{
    mig *m = ctx;
    tti_tile_addr a = tti_tile_locate(height, index);
    if (!a.stored || m->rc != TT_OK)
        return;
    if (m->tiles[a.level] == NULL && (m->tiles[a.level] = calloc(1, sizeof(tile_buf))) == NULL) {
        m->rc = FAIL(m, TT_ENOMEM, "%s", "out of memory");
        return;
    }
    tile_buf *t = m->tiles[a.level];
    if (t->n == 0)
        t->index = a.tile;
    memcpy(t->hashes[t->n++], hash, TT_HASH_SIZE);
    if (t->n == TTI_TILE_WIDTH) {
        m->rc = put_tile(m, a.level);
        t->n = 0;
    }
}

/* The source's recorded verifier key: *have = 0 when it has none. */
static int source_verifier(mig *m, tti_verifier *v, int *have)
{
    char *key = NULL;
    int rc = m->from_ops->meta_get(m->from, "verifier_key", &key);
    *have = 0;
    if (rc == TT_ENOTFOUND)
        return TT_OK;
    if (rc != TT_OK)
        return from_fail(m, rc);
    *have = tti_verifier_parse(key, strlen(key), v) == TT_OK;
    free(key);
    return *have ? TT_OK
                 : FAIL(m, TT_ETAMPERED, "%s",
                        "the source's recorded verifier key is malformed; nothing was written");
}

/* A checkpoint's signed note is what clients check: it must verify under the source's key
 * and name the tree its row records, or the copy would carry a checkpoint verify rejects. */
static int check_note(mig *m, const tti_verifier *v, const tti_cp_row *row)
{
    uint64_t size;
    uint8_t root[TT_HASH_SIZE];
    int rc = tti_note_verify_checkpoint(row->note, strlen(row->note), v, NULL, &size, root);
    if (rc == TT_ENOMEM)
        return FAIL(m, rc, "%s", "out of memory");
    if (rc == TT_OK && size == (uint64_t)row->tree_size && tt_hash_equal(root, row->root))
        return TT_OK;
    m->rep->bad_checkpoint_size = row->tree_size;
    return FAIL(m, TT_ETAMPERED, "checkpoint of tree size %lld: %s; nothing was written",
                (long long)row->tree_size,
                rc != TT_OK ? "its signed note does not verify under the source's key"
                            : "its signed note names another tree than its row");
}

static int load_checkpoints(mig *m)
{
    tti_verifier v;
    int have_key;
    int rc = source_verifier(m, &v, &have_key);
    if (rc != TT_OK)
        return rc;
    tti_store_iter *it = NULL;
    if ((rc = m->from_ops->checkpoints_iter(m->from, &it)) != TT_OK)
        return from_fail(m, rc);
    tti_cp_row row;
    size_t cap = 0;
    while ((rc = m->from_ops->checkpoints_next(it, &row)) == TT_OK) {
        if (have_key && (rc = check_note(m, &v, &row)) != TT_OK)
            break;
        if (m->n_cps == cap) {
            cap = cap ? cap * 2 : 64;
            cp_root *grown = realloc(m->cps, cap * sizeof *grown);
            if (grown == NULL) {
                rc = FAIL(m, TT_ENOMEM, "%s", "out of memory");
                break;
            }
            m->cps = grown;
        }
        m->cps[m->n_cps].tree_size = row.tree_size;
        memcpy(m->cps[m->n_cps++].root, row.root, TT_HASH_SIZE);
    }
    m->from_ops->iter_free(it);
    if (rc == TT_ENOTFOUND)
        return TT_OK;
    return m->rep->message[0] ? rc : from_fail(m, rc);
}

/* The checkpoints that sign the tree as it now is must carry its root. */
static int check_cps(mig *m)
{
    while (m->next_cp < m->n_cps && m->cps[m->next_cp].tree_size <= (int64_t)m->cr.size) {
        const cp_root *cp = &m->cps[m->next_cp++];
        uint8_t root[TT_HASH_SIZE];
        tti_crange_root(&m->cr, root);
        if (cp->tree_size != (int64_t)m->cr.size || !tt_hash_equal(root, cp->root)) {
            m->rep->bad_checkpoint_size = cp->tree_size;
            return tti_err(m->rep->message, sizeof m->rep->message, TT_ETAMPERED,
                           "checkpoint of tree size %lld does not match the tree rebuilt from "
                           "the source's leaves; nothing was written",
                           (long long)cp->tree_size);
        }
    }
    return TT_OK;
}

static int copy_event(mig *m, const tt_event *ev)
{
    int64_t want = (int64_t)m->cr.size + 1;
    if (ev->seq != want) {
        m->rep->bad_seq = ev->seq < want ? ev->seq : want;
        return tti_err(m->rep->message, sizeof m->rep->message, TT_ETAMPERED,
                       "seq %lld: the source's events are not 1, 2, 3 ... here (found seq %lld); "
                       "nothing was written",
                       (long long)m->rep->bad_seq, (long long)ev->seq);
    }
    uint8_t leaf[TT_HASH_SIZE];
    int rc = tt_event_leaf_hash(ev, leaf);
    if (rc != TT_OK || !tt_hash_equal(leaf, ev->leaf_hash)) {
        m->rep->bad_seq = ev->seq;
        return tti_err(m->rep->message, sizeof m->rep->message, TT_ETAMPERED,
                       "seq %lld: the stored leaf hash does not match the event's fields (the "
                       "source is tampered or damaged; run `tradetrail verify` on it); nothing "
                       "was written",
                       (long long)ev->seq);
    }
    if ((rc = m->to_ops->insert_event(m->to, ev)) != TT_OK)
        return to_fail(m, rc);
    tti_crange_append(&m->cr, leaf, on_node, m);
    if (m->rc != TT_OK)
        return m->rc;
    m->rep->events++;
    return check_cps(m);
}

static int copy_events(mig *m, const tti_head *h, tt_progress_fn progress, void *ctx)
{
    tti_store_iter *it = NULL;
    int rc = m->from_ops->scan(m->from, 1, &it);
    if (rc != TT_OK)
        return from_fail(m, rc);
    const tt_event *ev;
    while ((rc = m->from_ops->iter_next(it, &ev)) == TT_OK) {
        if ((rc = copy_event(m, ev)) != TT_OK)
            break;
        if (m->rep->events % MIGRATE_BATCH == 0) {
            /* Hands the batch to the target (PostgreSQL sends buffered rows before a read)
             * and checks that it holds every event so far. */
            int64_t max_seq, count;
            if ((rc = m->to_ops->event_extent(m->to, &max_seq, &count)) != TT_OK) {
                rc = to_fail(m, rc);
                break;
            }
            if (count != m->rep->events) {
                rc = FAIL(m, TT_EDB, "%s", "the target lost events while copying");
                break;
            }
            if (progress != NULL && progress(ctx, m->rep->events, h->size) != 0) {
                rc = FAIL(m, TT_EMISUSE, "%s", "cancelled");
                break;
            }
        }
    }
    m->from_ops->iter_free(it);
    if (rc != TT_ENOTFOUND)
        return m->rep->message[0] ? rc : from_fail(m, rc);
    if ((int64_t)m->cr.size != h->size) {
        m->rep->bad_seq = (int64_t)m->cr.size + 1;
        return tti_err(m->rep->message, sizeof m->rep->message, TT_ETAMPERED,
                       "seq %lld: the source's head records %lld events but %lld are stored; "
                       "nothing was written",
                       (long long)m->rep->bad_seq, (long long)h->size, (long long)m->cr.size);
    }
    uint8_t want[TT_HASH_SIZE];
    tti_head_root(h, want);
    tti_crange_root(&m->cr, m->rep->root);
    if (!tt_hash_equal(want, m->rep->root))
        return FAIL(m, TT_ETAMPERED, "%s",
                    "the tree rebuilt from the source's leaves does not have the root its head "
                    "records; nothing was written");
    if (m->next_cp < m->n_cps) {
        m->rep->bad_checkpoint_size = m->cps[m->next_cp].tree_size;
        return FAIL(m, TT_ETAMPERED, "%s",
                    "the source holds a checkpoint beyond its tree; nothing was written");
    }
    for (unsigned level = 0; level < 8; level++)
        if (m->tiles[level] != NULL && m->tiles[level]->n > 0 && (rc = put_tile(m, level)) != TT_OK)
            return rc;
    if (progress != NULL)
        progress(ctx, m->rep->events, h->size);
    return TT_OK;
}

static int copy_checkpoints(mig *m)
{
    tti_store_iter *it = NULL;
    int rc = m->from_ops->checkpoints_iter(m->from, &it);
    if (rc != TT_OK)
        return from_fail(m, rc);
    tti_cp_row row;
    while ((rc = m->from_ops->checkpoints_next(it, &row)) == TT_OK) {
        if ((rc = m->to_ops->put_checkpoint(m->to, &row)) != TT_OK) {
            rc = to_fail(m, rc);
            break;
        }
        m->rep->checkpoints++;
    }
    m->from_ops->iter_free(it);
    if (rc == TT_ENOTFOUND)
        return TT_OK;
    return m->rep->message[0] ? rc : from_fail(m, rc);
}

static int insert_row(void *ctx, const tti_value *v, size_t n)
{
    (void)n;
    mig *m = ctx;
    int rc = m->to_ops->table_insert(m->to, m->table, v);
    if (rc != TT_OK)
        return to_fail(m, rc);
    m->rep->rows++;
    return TT_OK;
}

static int copy_tables(mig *m)
{
    for (size_t i = 0; i < tti_n_tables; i++) {
        m->table = &tti_tables[i];
        int rc = m->from_ops->table_rows(m->from, m->table, insert_row, m);
        if (rc != TT_OK)
            return m->rep->message[0] ? rc : from_fail(m, rc);
        if ((rc = m->to_ops->table_done(m->to, m->table)) != TT_OK)
            return to_fail(m, rc);
    }
    tti_sync_state st;
    int rc = m->from_ops->jobs->sync_get(m->from, &st);
    if (rc != TT_OK)
        return from_fail(m, rc);
    if ((rc = m->to_ops->jobs->sync_set(m->to, &st)) != TT_OK)
        return to_fail(m, rc);
    return TT_OK;
}

static int any_row(void *ctx, const tti_value *v, size_t n)
{
    (void)v, (void)n;
    *(const char **)ctx = "";
    return TT_ECONFLICT;
}

/* The target must hold no ledger and no domain row: a migration never merges. */
static int check_empty(mig *m)
{
    tti_head h;
    int64_t max_seq = 0, count = 0;
    int rc = m->to_ops->read_head(m->to, &h);
    if (rc == TT_OK)
        rc = m->to_ops->event_extent(m->to, &max_seq, &count);
    if (rc != TT_OK)
        return to_fail(m, rc);
    const char *table = NULL;
    for (size_t i = 0; rc == TT_OK && i < tti_n_tables; i++) {
        const char *seen = NULL;
        rc = m->to_ops->table_rows(m->to, &tti_tables[i], any_row, &seen);
        if (rc == TT_ECONFLICT && seen != NULL)
            table = tti_tables[i].name;
        else if (rc != TT_OK)
            return to_fail(m, rc);
    }
    if (h.size != 0 || count != 0 || h.n_checkpoints != 0 || table != NULL) {
        char what[160];
        if (h.size != 0 || count != 0)
            snprintf(what, sizeof what, "%lld events",
                     (long long)(h.size > count ? h.size : count));
        else
            snprintf(what, sizeof what, "rows in its %s table",
                     table != NULL ? table : "checkpoints");
        return FAIL(m, TT_ECONFLICT,
                    "the target store is not empty (it holds %s); migrate copies into an empty "
                    "database only, nothing was written",
                    what);
    }
    return TT_OK;
}

/* Events whose rows retention moved into archive segments (SPEC 8) are not in the hot
 * store, so their leaves cannot be copied from it: such a source is refused. */
static int check_not_archived(mig *m)
{
    static const tti_table segments = {"archive_segments", "first_seq", "i", "first_seq", NULL};
    const char *seen = NULL;
    int rc = m->from_ops->table_rows(m->from, &segments, any_row, &seen);
    if (rc == TT_ECONFLICT && seen != NULL)
        return FAIL(m, TT_EINVAL, "%s",
                    "the source has archive segments (retention removed event rows from it); "
                    "migrate copies only ledgers whose every event is in the store, nothing was "
                    "written");
    return rc == TT_OK ? TT_OK : from_fail(m, rc);
}

static int check_table_name(void *ctx, const char *name)
{
    mig *m = ctx;
    if (tti_table_known(name))
        return TT_OK;
    return FAIL(m, TT_EINVAL,
                "the source holds a table \"%s\" that this version of migrate cannot copy; "
                "nothing was written",
                name);
}

static int open_both(mig *m, const char *from_uri, const char *to_uri)
{
    char err[512];
    if ((m->from_ops = tti_store_backend(from_uri)) == NULL ||
        (m->to_ops = tti_store_backend(to_uri)) == NULL)
        return FAIL(m, TT_EINVAL, "%s",
                    "unsupported store URI (use sqlite:PATH, a file path or postgres://...)");
    /* Not read-only: an older schema is upgraded first, as by any command that opens it. */
    tti_store_config rcfg = {.create = 0, .busy_timeout_ms = 10000, .read_only = 0};
    int rc = m->from_ops->open(from_uri, &rcfg, &m->from, err, sizeof err);
    if (rc != TT_OK)
        return FAIL(m, rc, "opening the source: %s", err);
    tti_store_config wcfg = {.create = 1, .busy_timeout_ms = 10000, .read_only = 0};
    if ((rc = m->to_ops->open(to_uri, &wcfg, &m->to, err, sizeof err)) != TT_OK)
        return FAIL(m, rc, "opening the target: %s", err);
    return TT_OK;
}

int tt_store_migrate(const char *from_uri, const char *to_uri, tt_progress_fn progress, void *ctx,
                     tt_migrate_report *report)
{
    if (from_uri == NULL || to_uri == NULL || report == NULL)
        return TT_EMISUSE;
    memset(report, 0, sizeof *report);
    mig m = {.rep = report};
    tti_crange_init(&m.cr);
    tti_head h;
    int rc = open_both(&m, from_uri, to_uri);
    int reading = 0, writing = 0;
    if (rc == TT_OK && (rc = m.from_ops->begin_read(m.from)) != TT_OK)
        rc = from_fail(&m, rc);
    reading = rc == TT_OK;
    if (rc == TT_OK && (rc = m.to_ops->begin_write(m.to)) != TT_OK)
        rc = to_fail(&m, rc);
    writing = reading && rc == TT_OK;
    if (rc == TT_OK)
        rc = m.from_ops->table_names(m.from, check_table_name, &m);
    if (rc == TT_OK)
        rc = check_not_archived(&m);
    if (rc == TT_OK)
        rc = check_empty(&m);
    if (rc == TT_OK && (rc = m.from_ops->read_head(m.from, &h)) != TT_OK)
        rc = from_fail(&m, rc);
    if (rc == TT_OK)
        rc = load_checkpoints(&m);
    if (rc == TT_OK)
        rc = copy_events(&m, &h, progress, ctx);
    if (rc == TT_OK)
        rc = copy_checkpoints(&m);
    if (rc == TT_OK)
        rc = copy_tables(&m);
    if (rc == TT_OK) {
        /* The head as the source records it, the tree edge as rebuilt (the same root). */
        tti_head out = h;
        tti_head_set_crange(&out, &m.cr);
        if ((rc = m.to_ops->write_head(m.to, &out)) != TT_OK)
            rc = to_fail(&m, rc);
    }
    if (rc == TT_OK) {
        tti_head back;
        uint8_t root[TT_HASH_SIZE];
        if ((rc = m.to_ops->read_head(m.to, &back)) != TT_OK)
            rc = to_fail(&m, rc);
        if (rc == TT_OK)
            tti_head_root(&back, root);
        if (rc == TT_OK && (!tt_hash_equal(root, report->root) || back.size != h.size))
            rc = FAIL(&m, TT_EDB, "%s", "the target's head does not read back as written");
    }
    if (writing) {
        if (rc == TT_OK) {
            if ((rc = m.to_ops->commit(m.to)) != TT_OK)
                rc = to_fail(&m, rc);
        } else {
            m.to_ops->rollback(m.to);
        }
    }
    if (reading)
        m.from_ops->rollback(m.from);
    if (m.from != NULL)
        m.from_ops->close(m.from);
    if (m.to != NULL)
        m.to_ops->close(m.to);
    for (unsigned i = 0; i < 8; i++)
        free(m.tiles[i]);
    free(m.cps);
    return rc;
}

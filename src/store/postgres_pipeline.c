/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Round trips of the PostgreSQL write path (issue 15). With several servers on one
 * database, every batch holds the head row's lock from its first statement to its COMMIT,
 * so the other servers' batches wait for each round trip it makes there. Measured on two
 * loaded cores: about 0.3 ms per round trip, eight of them per batch, 3 ms of lock per
 * batch of 16 appends. Here the statements of a batch go in libpq pipelines: the lock,
 * the head and the tree's edge in one round trip, and the event rows, tiles, head and
 * COMMIT in another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"
#include "util/err.h"

static int send_step(tti_store *s, const tti_pg_step *st)
{
    const tti_pgargs *a = st->a;
    int n = a ? a->n : 0;
    const char *const *v = a ? a->v : NULL;
    const int *len = a ? a->len : NULL, *fmt = a ? a->fmt : NULL;
    if (st->sql != NULL)
        return PQsendQueryParams(s->conn, st->sql, n, NULL, v, len, fmt, 1);
    char name[16];
    snprintf(name, sizeof name, "tt%d", st->which);
    return PQsendQueryPrepared(s->conn, name, n, v, len, fmt, 1);
}

/* The results of one sent statement, up to libpq's NULL after them. */
static int read_step(tti_store *s, const tti_pg_step *st, int rc)
{
    PGresult *r;
    while ((r = PQgetResult(s->conn)) != NULL) {
        ExecStatusType status = PQresultStatus(r);
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            if (st->keep != NULL && *st->keep == NULL) {
                *st->keep = r;
                r = NULL;
            }
        } else if (rc == TT_OK) {
            /* PGRES_PIPELINE_ABORTED follows an earlier failure, already reported. */
            rc = status == PGRES_PIPELINE_ABORTED
                     ? tti_err(s->errbuf, sizeof s->errbuf, TT_EDB, "%s: aborted", st->what)
                     : tti_pg_fail(s, r, st->what);
        }
        PQclear(r);
    }
    return rc;
}

/* Read up to the pipeline's sync point. A lost connection ends the results early. */
static void read_sync(tti_store *s)
{
    PGresult *r;
    while ((r = PQgetResult(s->conn)) != NULL) {
        int sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync)
            return;
    }
}

int tti_pg_pipeline(tti_store *s, const tti_pg_step *steps, size_t n)
{
    int rc = TT_OK;
    for (size_t i = 0; i < n && rc == TT_OK; i++)
        if (steps[i].sql == NULL)
            rc = tti_pg_prepare(s, steps[i].which, steps[i].what);
    if (rc != TT_OK)
        return rc;
    if (PQenterPipelineMode(s->conn) != 1)
        return tti_pg_fail(s, NULL, steps[0].what);
    size_t sent = 0;
    while (sent < n && send_step(s, &steps[sent]) == 1)
        sent++;
    if (sent < n)
        rc = tti_pg_fail(s, NULL, steps[sent].what);
    int synced = PQpipelineSync(s->conn) == 1;
    if (!synced) {
        if (rc == TT_OK)
            rc = tti_pg_fail(s, NULL, steps[0].what);
        sent = 0; /* nothing will answer */
    }
    for (size_t i = 0; i < sent; i++)
        rc = read_step(s, &steps[i], rc);
    if (synced) /* even when no statement went: the sync point answers all the same */
        read_sync(s);
    if (PQexitPipelineMode(s->conn) != 1) {
        if (rc == TT_OK)
            rc = tti_pg_fail(s, NULL, steps[0].what);
        /* The connection is in an unknown state, perhaps in a transaction holding the head's
         * lock: the rollback opens a new session, which ends the old one and its locks. */
        s->lost = 1;
    }
    if (rc != TT_OK)
        for (size_t i = 0; i < n; i++)
            if (steps[i].keep != NULL) {
                PQclear(*steps[i].keep);
                *steps[i].keep = NULL;
            }
    return rc;
}

void tti_pg_head_args(tti_pgargs *a, const tti_head *h)
{
    a->n = 0;
    tti_pg_i64(a, h->size);
    if (h->last_ts_us != TT_TIME_NONE)
        tti_pg_i64(a, h->last_ts_us);
    else
        tti_pg_text(a, NULL);
    tti_pg_bytes(a, h->crange, h->n_crange * TT_HASH_SIZE);
    tti_pg_i64(a, h->signed_size);
    tti_pg_i64(a, h->n_checkpoints);
}

static int writes_pending(const tti_store *s)
{
    if (s->n_copy > 0 || s->head_pending)
        return 1;
    for (unsigned i = 0; s->tiles != NULL && i < TTI_TILE_HEIGHT; i++)
        if (s->tiles[i].pending)
            return 1;
    return 0;
}

/* The pending writes as pipeline steps, in the order they were made: rows, tiles, head. */
static size_t write_steps(tti_store *s, tti_pg_step *st, tti_pgargs *args)
{
    size_t n = 0;
    if (s->n_copy > 0) {
        tti_pgargs *a = &args[n];
        a->n = 0;
        tti_pg_text(a, s->copy.data);
        st[n++] = (tti_pg_step){TTI_PG_EVENTS_PUT, NULL, a, "inserting events", NULL};
    }
    for (unsigned i = 0; s->tiles != NULL && i < TTI_TILE_HEIGHT; i++) {
        const struct tti_pg_tile *t = &s->tiles[i];
        if (!t->pending)
            continue;
        tti_pgargs *a = &args[n];
        a->n = 0;
        tti_pg_i64(a, tti_pg_tile_id(i, t->index));
        tti_pg_bytes(a, t->hashes, t->n * TT_HASH_SIZE);
        st[n++] = (tti_pg_step){TTI_PG_TILE_PUT, NULL, a, "writing a tree tile", NULL};
    }
    if (s->head_pending) {
        tti_pg_head_args(&args[n], &s->head);
        st[n] = (tti_pg_step){TTI_PG_HEAD_PUT, NULL, &args[n], "writing the ledger head", NULL};
        n++;
    }
    return n;
}

static void writes_sent(tti_store *s)
{
    tti_buf_reset(&s->copy);
    s->n_copy = 0;
    s->head_pending = 0;
    for (unsigned i = 0; s->tiles != NULL && i < TTI_TILE_HEIGHT; i++)
        s->tiles[i].pending = 0;
}

int tti_pg_send_writes(tti_store *s, int commit, PGresult **commit_result)
{
    if (!commit && !writes_pending(s))
        return TT_OK;
    if (s->copy.failed || (s->n_copy > 0 && tti_buf_add(&s->copy, "]", 1) != 0)) {
        writes_sent(s);
        s->doomed = 1;
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory buffering events");
    }
    /* Rows, a tile per level, the head and the COMMIT. */
    enum { MAX_STEPS = TTI_TILE_HEIGHT + 3 };
    tti_pg_step st[MAX_STEPS];
    tti_pgargs *args = calloc(MAX_STEPS, sizeof *args);
    if (args == NULL) {
        writes_sent(s);
        s->doomed = 1;
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory sending a batch");
    }
    size_t n = write_steps(s, st, args);
    if (commit)
        st[n++] = (tti_pg_step){-1, "COMMIT", NULL, "committing", commit_result};
    int rc = tti_pg_pipeline(s, st, n);
    free(args);
    writes_sent(s);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL tables and statements of retention (SPEC 8), as sqlite_archive.c:
 * archive_segments, one append-only row per archive segment written, and the removal of
 * event bodies those segments hold. The events trigger keeps refusing UPDATE and TRUNCATE;
 * DELETE passes only for a seq inside a recorded segment (docs/OPERATIONS.md: the role the
 * server uses then needs DELETE on events, and nothing else more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"
#include "util/buf.h"
#include "util/err.h"

/* Schema version 7. */
const char tti_pg_schema_archive[] =
    "CREATE TABLE archive_segments(first_seq bigint PRIMARY KEY, last_seq bigint NOT NULL,"
    " file text NOT NULL, bytes bigint NOT NULL, sha256 bytea NOT NULL, ts bigint NOT NULL,"
    " CHECK (last_seq >= first_seq));"
    "CREATE TRIGGER archive_segments_no_update BEFORE UPDATE OR DELETE ON archive_segments"
    " FOR EACH ROW EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER archive_segments_no_truncate BEFORE TRUNCATE ON archive_segments"
    " FOR EACH STATEMENT EXECUTE FUNCTION tt_append_only();"
    /* SPEC 4, 8: an event row may go only once a recorded segment holds its leaf. */
    "CREATE FUNCTION tt_archived_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF coalesce((SELECT a.last_seq FROM archive_segments a WHERE a.first_seq <= OLD.seq"
    " ORDER BY a.first_seq DESC LIMIT 1), 0) < OLD.seq THEN"
    " RAISE EXCEPTION 'events are append-only'; END IF; RETURN OLD; END $$;"
    "DROP TRIGGER IF EXISTS events_no_update ON events;"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " FOR EACH ROW EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " FOR EACH ROW EXECUTE FUNCTION tt_archived_only();";

static const char sql_put[] = "INSERT INTO archive_segments(first_seq, last_seq, file, bytes,"
                              " sha256, ts) VALUES ($1, $2, $3, $4, $5, $6)";
static const char sql_list[] =
    "SELECT first_seq, last_seq, file, bytes, sha256, ts FROM archive_segments ORDER BY first_seq";
static const char sql_rows[] =
    "SELECT e.seq, n.value, s.entity_id FROM events e JOIN subjects s ON s.id = e.subject"
    " JOIN names n ON n.id = e.entity WHERE e.seq >= $1 AND e.seq <= $2 ORDER BY e.seq";
static const char sql_del[] = "DELETE FROM events WHERE seq = ANY($1::bigint[])";

int tti_pg_segment_put(tti_store *s, const tti_segment *seg)
{
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, seg->first_seq);
    tti_pg_i64(&a, seg->last_seq);
    tti_pg_text(&a, seg->file);
    tti_pg_i64(&a, seg->bytes);
    tti_pg_bytes(&a, seg->sha256, TT_HASH_SIZE);
    tti_pg_i64(&a, seg->ts_us);
    int rc = TT_OK;
    PQclear(tti_pg_exec(s, sql_put, &a, &rc, "recording an archive segment"));
    return rc;
}

int tti_pg_segments(tti_store *s, tti_segment **out, size_t *n)
{
    int rc;
    PGresult *r = tti_pg_exec(s, sql_list, NULL, &rc, "listing archive segments");
    if (r == NULL)
        return rc;
    int rows = PQntuples(r);
    tti_segment *list = rows ? calloc((size_t)rows, sizeof *list) : NULL;
    if (rows && list == NULL) {
        PQclear(r);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        tti_segment *g = &list[i];
        const char *file = tti_pg_str(r, i, 2);
        g->first_seq = tti_pg_int(r, i, 0);
        g->last_seq = tti_pg_int(r, i, 1);
        g->bytes = tti_pg_int(r, i, 3);
        g->ts_us = tti_pg_int(r, i, 5);
        if (file == NULL || strlen(file) >= sizeof g->file ||
            PQgetlength(r, i, 4) != TT_HASH_SIZE) {
            rc =
                tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                        "archive segment from seq %lld: malformed record", (long long)g->first_seq);
            PQclear(r);
            free(list);
            return rc;
        }
        memcpy(g->file, file, strlen(file) + 1);
        memcpy(g->sha256, PQgetvalue(r, i, 4), TT_HASH_SIZE);
    }
    PQclear(r);
    *out = list;
    *n = (size_t)rows;
    return TT_OK;
}

int tti_pg_purge(tti_store *s, int64_t first, int64_t last, tti_keep_fn keep, void *ctx,
                 int64_t *removed)
{
    int rc = tti_pg_flush(s);
    if (rc != TT_OK)
        return rc;
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, first);
    tti_pg_i64(&a, last);
    PGresult *r = tti_pg_exec(s, sql_rows, &a, &rc, "listing archived events");
    if (r == NULL)
        return rc;
    /* The removed seqs as an array literal: one statement for the whole range. */
    tti_buf b;
    tti_buf_init(&b, SIZE_MAX / 2);
    tti_buf_adds(&b, "{");
    int64_t n = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *entity = tti_pg_str(r, i, 1), *id = tti_pg_str(r, i, 2);
        if (keep != NULL && keep(ctx, entity ? entity : "", id ? id : ""))
            continue;
        tti_buf_printf(&b, n ? ",%lld" : "%lld", (long long)tti_pg_int(r, i, 0));
        n++;
    }
    tti_buf_adds(&b, "}");
    PQclear(r);
    if (b.failed) {
        tti_buf_free(&b);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    }
    if (n > 0) {
        tti_pgargs d = {.n = 0};
        tti_pg_text(&d, b.data);
        PQclear(tti_pg_exec(s, sql_del, &d, &rc, "removing archived event bodies"));
    }
    tti_buf_free(&b);
    if (rc == TT_OK)
        *removed = n;
    return rc;
}

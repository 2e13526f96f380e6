/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL backend (SPEC 1, 5, 12; issue 15): one libpq connection per tti_store,
 * its schema and migrations (table schema_version), transactions, the writes of the log
 * and the table of operations whose reads live in postgres_query.c. The design is the
 * SQLite backend's adapted: interned names and subjects, tree nodes in tiles of 256 hashes,
 * one head row. Every writer locks that head row first (SELECT ... FOR UPDATE) and reads
 * the tree's right edge after the lock, so several servers can append to one database and
 * none holds state another's commits make stale. A batch's writes wait in the connection
 * and go with its COMMIT in one round trip (postgres_pipeline.c).
 * Triggers refuse UPDATE, DELETE and TRUNCATE on events and checkpoints (SPEC 4).
 * Only src/store/postgres*.c include libpq-fe.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "store/postgres_internal.h"
#include "store/records.h"
#include "util/err.h"

/* Identity of the schema's migration lock (pg_advisory_xact_lock): servers starting
 * together migrate one after the other. "ttmigr" in ASCII. */
#define MIGRATION_LOCK 0x74746d696772LL

/* Counts of the events after $1 by one column (store.h count_by). */
#define PG_COUNT_BY(col)                                                                           \
    "SELECT n.value, c.c FROM (SELECT " col " AS k, count(*) AS c FROM events WHERE seq > $1 "     \
    "GROUP BY " col ") c JOIN names n ON n.id = c.k"

static const char *const stmt_sql[TTI_PG_NSTMT] = {
    [TTI_PG_HEAD_GET] =
        "SELECT size, last_ts, crange, signed_size, checkpoints FROM head WHERE id = 1",
    /* The write lock and the head in one round trip. */
    [TTI_PG_HEAD_LOCK] = "SELECT size, last_ts, crange, signed_size, checkpoints FROM head"
                         " WHERE id = 1 FOR UPDATE",
    [TTI_PG_HEAD_PUT] = "UPDATE head SET size = $1, last_ts = $2, crange = $3, signed_size = $4,"
                        " checkpoints = $5 WHERE id = 1",
    [TTI_PG_IDEM_GET] = "SELECT seq, ts, leaf_hash, principal FROM events WHERE idem = $1",
    [TTI_PG_NAME_GET] = "SELECT id FROM names WHERE kind = $1 AND value = $2",
    /* One round trip whether the name is new or not. */
    [TTI_PG_NAME_PUT] = "WITH ins AS (INSERT INTO names(kind, value) VALUES ($1, $2) "
                        "ON CONFLICT DO NOTHING RETURNING id) "
                        "SELECT id FROM ins UNION ALL "
                        "SELECT id FROM names WHERE kind = $1 AND value = $2 LIMIT 1",
    [TTI_PG_SUBJ_PUT] = "WITH ins AS (INSERT INTO subjects(entity, entity_id) VALUES ($1, $2) "
                        "ON CONFLICT DO NOTHING RETURNING id) "
                        "SELECT id FROM ins UNION ALL "
                        "SELECT id FROM subjects WHERE entity = $1 AND entity_id = $2 LIMIT 1",
    [TTI_PG_TILE_GET] = "SELECT hashes FROM tiles WHERE id = $1",
    [TTI_PG_TILE_PUT] = "INSERT INTO tiles(id, hashes) VALUES ($1, $2) "
                        "ON CONFLICT (id) DO UPDATE SET hashes = excluded.hashes",
    /* The tiles the next leaves and height-8 nodes go to (tti_tile_locate), read after the
     * head's lock in the same round trip: a statement of its own, so that its snapshot
     * (READ COMMITTED) is taken after the lock was granted. */
    [TTI_PG_TILE_EDGE] = "SELECT t.id, t.hashes FROM head h JOIN tiles t"
                         " ON t.id IN (h.size >> 8, (1::bigint << 56) | (h.size >> 16))"
                         " WHERE h.id = 1",
    /* A batch's event rows, one JSON array of objects named as the columns. */
    [TTI_PG_EVENTS_PUT] =
        "INSERT INTO events(seq, ts, entity, subject, event_type, actor, old_status, new_status,"
        " reason, metadata, occurred_at, idem, leaf_hash, principal, producer, producer_seq)"
        " SELECT seq, ts, entity, subject, event_type, actor, old_status, new_status, reason,"
        " metadata, occurred_at, idem, leaf_hash, principal, producer, producer_seq"
        " FROM json_populate_recordset(NULL::events, $1::json)",
    /* Of a group's cached tokens (an array literal), those revoked or gone: sent after the
     * head's lock, so its snapshot sees every revocation committed before the lock. */
    [TTI_PG_TOKENS_GONE] = "SELECT x FROM unnest($1::bigint[]) AS x WHERE NOT EXISTS"
                           " (SELECT 1 FROM tokens t WHERE t.id = x AND t.revoked IS NULL)",
    [TTI_PG_LEAF_AT] = "SELECT leaf_hash FROM events WHERE seq = $1",
    [TTI_PG_CP_PUT] = "INSERT INTO checkpoints(tree_size, ts, root, note) VALUES ($1,$2,$3,$4)",
    [TTI_PG_CP_HEAD] = "UPDATE head SET signed_size = greatest(signed_size, $1),"
                       " checkpoints = checkpoints + 1 WHERE id = 1",
    [TTI_PG_CP_LATEST] = "SELECT tree_size, ts, root, note FROM checkpoints "
                         "ORDER BY tree_size DESC LIMIT 1",
    [TTI_PG_META_GET] = "SELECT value FROM meta WHERE key = $1",
    [TTI_PG_META_PUT] = "INSERT INTO meta(key, value) VALUES ($1, $2) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    /* The first stored row at or after seq, as sqlite.c's TTI_ST_TS_AT. */
    [TTI_PG_TS_AT] = "SELECT ts FROM events WHERE seq >= $1 ORDER BY seq LIMIT 1",
    [TTI_PG_EXTENT] = "SELECT coalesce(max(seq), 0), count(*) FROM events",
    [TTI_PG_COUNT_ENTITY] = PG_COUNT_BY("entity"),
    [TTI_PG_COUNT_TYPE] = PG_COUNT_BY("event_type"),
    [TTI_PG_COUNT_ACTOR] = PG_COUNT_BY("actor"),
    [TTI_PG_TOKEN_PUT] = "INSERT INTO tokens(name, role, hash, created) VALUES ($1,$2,$3,$4) "
                         "RETURNING id",
    [TTI_PG_TOKEN_FIND] =
        "SELECT id, name, role, created, revoked, hash FROM tokens WHERE hash = $1",
    [TTI_PG_TOKEN_GET] = "SELECT id, name, role, created, revoked, hash FROM tokens WHERE id = $1",
    [TTI_PG_TOKEN_REVOKE] = "UPDATE tokens SET revoked = $1 WHERE id = $2 AND revoked IS NULL",
    [TTI_PG_TOKEN_LIST] = "SELECT id, name, role, created, revoked, hash FROM tokens ORDER BY id",
    [TTI_PG_OUTBOX_PUT] = "INSERT INTO outbox(channel, seq, subject, body, created_us, next_us)"
                          " VALUES ($1, $2, $3, $4, $5, $6)",
    [TTI_PG_OUTBOX_DUE] = "SELECT min(next_us) FROM outbox WHERE delivered_us IS NULL"
                          " AND channel IN ($1, $2, $3, $4, $5, $6)",
    /* Claim and lease in one statement; rows another server holds are skipped. */
    [TTI_PG_OUTBOX_CLAIM] =
        "WITH c AS (SELECT id, next_us AS due FROM outbox WHERE delivered_us IS NULL"
        " AND next_us <= $7 AND channel IN ($1, $2, $3, $4, $5, $6) ORDER BY next_us, id"
        " LIMIT $8"
        " FOR UPDATE SKIP LOCKED),"
        " u AS (UPDATE outbox o SET next_us = $9 FROM c WHERE o.id = c.id"
        " RETURNING o.id, o.channel, o.seq, o.subject, o.body, o.created_us, o.attempts,"
        " o.parts_done, c.due)"
        " SELECT id, channel, seq, subject, body, created_us, attempts, parts_done FROM u"
        " ORDER BY due, id",
    [TTI_PG_OUTBOX_UPDATE] =
        "UPDATE outbox SET delivered_us = $2, attempts = $3, parts_done = $4, next_us = $5,"
        " last_error = coalesce($6, last_error) WHERE id = $1",
    [TTI_PG_OUTBOX_PENDING] = "SELECT count(*) FROM outbox WHERE delivered_us IS NULL",
};

/*
 * Version 1: the log (SPEC 3, 4). Idempotency keys live on the event row under a partial
 * unique index (one table, one INSERT per batch). The reason index is a GIN index over the
 * words tt_words() keeps: letters and digits, lower-cased, everything else a separator —
 * the tokens SQLite's unicode61 tokenizer finds, so a search means the same on both stores
 * (postgres_query.c); version 8 folds diacritics as unicode61 does. Integers are bigint
 * throughout: a seq is an int64 (SPEC 3.1).
 */
static const char schema_v1[] =
    "CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE head(id int PRIMARY KEY CHECK (id = 1), size bigint NOT NULL,"
    " last_ts bigint, crange bytea NOT NULL, signed_size bigint NOT NULL DEFAULT 0,"
    " checkpoints bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE names(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " kind int NOT NULL, value text NOT NULL, UNIQUE(kind, value));"
    "CREATE TABLE subjects(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " entity bigint NOT NULL, entity_id text NOT NULL, UNIQUE(entity, entity_id));"
    "CREATE INDEX subjects_entity_id ON subjects(entity_id);"
    "CREATE TABLE events(seq bigint PRIMARY KEY, ts bigint NOT NULL, entity bigint NOT NULL,"
    " subject bigint NOT NULL, event_type bigint NOT NULL, actor bigint NOT NULL,"
    " old_status bigint, new_status bigint, reason text, metadata text, occurred_at bigint,"
    " idem text, leaf_hash bytea NOT NULL, principal text);"
    "CREATE INDEX events_subject ON events(subject, seq);"
    "CREATE INDEX events_entity ON events(entity, seq);"
    "CREATE INDEX events_type ON events(event_type, seq);"
    "CREATE INDEX events_actor ON events(actor, seq);"
    "CREATE UNIQUE INDEX events_idem ON events(idem) WHERE idem IS NOT NULL;"
    "CREATE FUNCTION tt_words(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE"
    " AS $$ SELECT regexp_replace(lower($1), '[^[:alnum:]]+', ' ', 'g') $$;"
    /* A search word of 3 characters or more matches the words it starts (issue 13 item 19),
     * shorter ones whole words, every word must match: as sqlite_search.c. */
    "CREATE FUNCTION tt_search_terms(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE"
    " AS $$ SELECT string_agg(w || CASE WHEN char_length(w) >= 3 THEN ':*' ELSE '' END, ' & ')"
    " FROM regexp_split_to_table(btrim(tt_words($1)), ' +') AS w WHERE w <> '' $$;"
    "CREATE INDEX events_reason ON events USING gin (to_tsvector('simple', tt_words(reason)))"
    " WHERE reason IS NOT NULL AND reason <> '';"
    "CREATE TABLE tiles(id bigint PRIMARY KEY, hashes bytea NOT NULL);"
    "CREATE TABLE checkpoints(tree_size bigint PRIMARY KEY, ts bigint NOT NULL,"
    " root bytea NOT NULL, note text NOT NULL);"
    /* SPEC 4: the database itself refuses to change or remove recorded history; a role
     * without UPDATE and DELETE on these tables is the second wall (docs/OPERATIONS.md). */
    "CREATE FUNCTION tt_append_only() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN RAISE EXCEPTION '% are append-only', TG_TABLE_NAME; END $$;"
    "CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events"
    " FOR EACH ROW EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events"
    " FOR EACH STATEMENT EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER checkpoints_no_update BEFORE UPDATE OR DELETE ON checkpoints"
    " FOR EACH ROW EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints"
    " FOR EACH STATEMENT EXECUTE FUNCTION tt_append_only();"
    "CREATE TABLE tokens(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text,"
    " role int NOT NULL, hash bytea NOT NULL UNIQUE, created bigint NOT NULL, revoked bigint);"
    "INSERT INTO head(id, size, last_ts, crange) VALUES (1, 0, NULL, '');";

/*
 * Version 8: search ignores diacritics, as SQLite's unicode61 tokenizer does ("cafe" finds
 * "Café" and the other way round): tt_words() folds them with tt_fold() before splitting
 * words, and the reason index is rebuilt. tt_fold is the unaccent extension's dictionary
 * when the extension can be created or exists already (Debian's server package ships it;
 * its schema is looked up, since one database may hold several ledgers' schemas), else
 * translate() over the Latin letters with diacritics of U+00C0..U+024F, mapped to their
 * base letter (an engine without unaccent; docs/OPERATIONS.md).
 */
static const char schema_fold[] =
    "DO $$ DECLARE sch text; BEGIN"
    " BEGIN CREATE EXTENSION IF NOT EXISTS unaccent;"
    " EXCEPTION WHEN OTHERS THEN NULL; END;"
    " SELECT n.nspname INTO sch FROM pg_extension e JOIN pg_namespace n"
    " ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';"
    " IF sch IS NOT NULL THEN"
    " EXECUTE format('CREATE FUNCTION tt_fold(text) RETURNS text LANGUAGE sql IMMUTABLE"
    " PARALLEL SAFE STRICT AS %L', format('SELECT %I.unaccent(%L::regdictionary, $1)', sch,"
    " quote_ident(sch) || '.unaccent'));"
    " ELSE"
    " CREATE FUNCTION tt_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
    " AS $f$ SELECT translate($1, '"
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàá"
    "âãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂ"
    "ăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠ"
    "ġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņ"
    "ŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũ"
    "ŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏ"
    "ǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵ"
    "ǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗ"
    "ȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
    "', '"
    "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaC"
    "cCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOo"
    "RrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuU"
    "uAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOo"
    "OoYy"
    "') $f$;"
    " END IF;"
    /* Qualified: the index expression is evaluated (and inlined) in sessions whose
     * search_path lacks the ledger's schema, pg_dump's among them. */
    " EXECUTE format('CREATE OR REPLACE FUNCTION %1$I.tt_words(text) RETURNS text LANGUAGE sql"
    " IMMUTABLE PARALLEL SAFE AS %2$L', current_schema(), format('SELECT regexp_replace(lower("
    "%I.tt_fold($1)), ''[^[:alnum:]]+'', '' '', ''g'')', current_schema()));"
    " END $$;"
    "REINDEX INDEX events_reason;";

/* Each entry upgrades the schema by one version: 1 the log, 2 the notification outbox, 3
 * feedback, 4 job runs and the training sync, 5 strategies and their versions, 6 producers
 * (SPEC 15), 7 archive segments (retention, SPEC 8), 8 search folding diacritics, 9 the
 * outbox's Telegram channels (SPEC 15). */
static const char *const migrations[] = {schema_v1,
                                         tti_pg_schema_notify,
                                         tti_pg_schema_domain,
                                         tti_pg_schema_jobs,
                                         tti_pg_schema_strategy,
                                         tti_pg_schema_producer,
                                         tti_pg_schema_archive,
                                         schema_fold,
                                         tti_pg_schema_outbox_telegram};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- parameters, results, errors ---- */

void tti_pg_i64(tti_pgargs *a, int64_t v)
{
    snprintf(a->num[a->n], sizeof a->num[a->n], "%lld", (long long)v);
    a->v[a->n] = a->num[a->n];
    a->len[a->n] = 0;
    a->fmt[a->n++] = 0;
}

void tti_pg_text(tti_pgargs *a, const char *v)
{
    a->v[a->n] = v;
    a->len[a->n] = 0;
    a->fmt[a->n++] = 0;
}

void tti_pg_bytes(tti_pgargs *a, const void *p, size_t n)
{
    /* A zero-length binary value must still be non-NULL to be an empty bytea. */
    a->v[a->n] = n ? (const char *)p : "";
    a->len[a->n] = (int)n;
    a->fmt[a->n++] = 1;
}

int64_t tti_pg_int(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    uint64_t v = 0;
    for (int i = 0; i < len && i < 8; i++)
        v = v << 8 | p[i];
    if (len == 4)
        return (int32_t)(uint32_t)v;
    if (len == 2)
        return (int16_t)(uint16_t)v;
    return (int64_t)v;
}

double tti_pg_real(const PGresult *r, int row, int col)
{
    uint64_t v = (uint64_t)tti_pg_int(r, row, col);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

int tti_pg_fail(tti_store *s, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (msg == NULL || *msg == '\0')
        msg = PQerrorMessage(s->conn);
    int status = TT_EDB;
    /* The connection is gone: class 08 (connection exception), 57P01..03 (the server
     * shutting down or restarting), or libpq saw the socket close. */
    s->lost = PQstatus(s->conn) != CONNECTION_OK ||
              (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0));
    if (s->lost)
        status = TT_EIO; /* 503: try again, a new connection is opened for the next */
    else if (state != NULL) {
        if (strcmp(state, "53100") == 0) /* disk_full */
            status = TT_ENOSPC;
        else if (strcmp(state, "53200") == 0) /* out_of_memory */
            status = TT_ENOMEM;
        else if (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0 ||
                 strcmp(state, "40001") == 0 || strcmp(state, "57014") == 0)
            status = TT_EBUSY; /* lock timeout, deadlock, serialization, statement timeout */
    }
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return tti_err(s->errbuf, sizeof s->errbuf, status, "%s: %.*s", what, (int)n, msg);
}

static PGresult *checked(tti_store *s, PGresult *r, int *rc, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    if (r != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
        return r;
    /* libpq returns no result when it could not send the statement: a lost connection. */
    *rc = r == NULL && PQstatus(s->conn) == CONNECTION_OK
              ? tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "%s: out of memory", what)
              : tti_pg_fail(s, r, what);
    PQclear(r);
    return NULL;
}

static int revive(tti_store *s);

int tti_pg_prepare(tti_store *s, int which, const char *what)
{
    if (s->prepared[which])
        return TT_OK;
    char name[16];
    snprintf(name, sizeof name, "tt%d", which);
    int rc = TT_OK;
    PGresult *p = checked(s, PQprepare(s->conn, name, stmt_sql[which], 0, NULL), &rc, what);
    if (p == NULL)
        return rc;
    PQclear(p);
    s->prepared[which] = 1;
    return TT_OK;
}

/* One attempt at a prepared statement (which) or an SQL text (sql). */
static PGresult *attempt(tti_store *s, int which, const char *sql, const tti_pgargs *a, int *rc,
                         const char *what)
{
    int n = a ? a->n : 0;
    const char *const *v = a ? a->v : NULL;
    const int *len = a ? a->len : NULL, *fmt = a ? a->fmt : NULL;
    if (sql != NULL)
        return checked(s, PQexecParams(s->conn, sql, n, NULL, v, len, fmt, 1), rc, what);
    /* Without SQL text, which names a prepared statement; the check also lets an
     * optimising compiler see that prepared[] is never indexed by tti_pg_exec's -1. */
    if (which < 0 || which >= TTI_PG_NSTMT) {
        *rc = tti_err(s->errbuf, sizeof s->errbuf, TT_EMISUSE, "%s: no such statement", what);
        return NULL;
    }
    if ((*rc = tti_pg_prepare(s, which, what)) != TT_OK)
        return NULL;
    char name[16];
    snprintf(name, sizeof name, "tt%d", which);
    return checked(s, PQexecPrepared(s->conn, name, n, v, len, fmt, 1), rc, what);
}

/* A statement outside a transaction block that fails because the connection was lost
 * (the database restarted, a failover) runs once more on a new connection: nothing of it
 * was done. Inside a transaction the failure stands; the transaction is gone. */
static PGresult *run_once_more(tti_store *s, int which, const char *sql, const tti_pgargs *a,
                               int *rc, const char *what)
{
    /* Outside a transaction of ours, a connection found lost (its status UNKNOWN) is opened
     * again here, not only at the next write transaction. */
    PGTransactionStatusType ts = PQtransactionStatus(s->conn);
    int idle = !s->in_txn && (ts == PQTRANS_IDLE || ts == PQTRANS_UNKNOWN);
    if (idle && (*rc = revive(s)) != TT_OK)
        return NULL;
    if (s->in_txn && (*rc = tti_pg_flush(s)) != TT_OK)
        return NULL;
    PGresult *r = attempt(s, which, sql, a, rc, what);
    if (r == NULL && idle && s->lost && revive(s) == TT_OK) {
        *rc = TT_OK;
        r = attempt(s, which, sql, a, rc, what);
    }
    return r;
}

PGresult *tti_pg_run(tti_store *s, int which, const tti_pgargs *a, int *rc, const char *what)
{
    return run_once_more(s, which, NULL, a, rc, what);
}

PGresult *tti_pg_exec(tti_store *s, const char *sql, const tti_pgargs *a, int *rc, const char *what)
{
    return run_once_more(s, -1, sql, a, rc, what);
}

/* A statement without parameters or rows (transaction control, schema). */
static int simple(tti_store *s, const char *sql, const char *what)
{
    int rc = TT_OK;
    int idle = PQtransactionStatus(s->conn) == PQTRANS_IDLE;
    PGresult *r = checked(s, PQexec(s->conn, sql), &rc, what);
    if (r == NULL && idle && s->lost && revive(s) == TT_OK) {
        rc = TT_OK;
        r = checked(s, PQexec(s->conn, sql), &rc, what);
    }
    PQclear(r);
    return rc;
}

/* ---- connection, schema ---- */

static int pg_accepts(const char *uri)
{
    return strncmp(uri, "postgres://", 11) == 0 || strncmp(uri, "postgresql://", 13) == 0;
}

static void pg_close(tti_store *s)
{
    if (s == NULL)
        return;
    PQfinish(s->conn);
    tti_map_free(s->names);
    tti_buf_free(&s->copy);
    free(s->search_path);
    free(s->tiles);
    free(s);
}

/* A ledger may live in its own schema (search_path in the URI's options); creating the
 * ledger creates that schema when it is missing. */
static int ensure_schema(tti_store *s)
{
    int rc = TT_OK;
    PGresult *r = tti_pg_exec(s,
                              "SELECT current_schema() IS NULL, "
                              "btrim(split_part(current_setting('search_path'), ',', 1), ' \"')",
                              NULL, &rc, "reading the search path");
    if (r == NULL)
        return rc;
    int missing = PQntuples(r) == 1 && tti_pg_int(r, 0, 0) != 0;
    if (missing) {
        char *ident = PQescapeIdentifier(s->conn, PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
        char sql[256];
        if (ident == NULL ||
            snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", ident) >= (int)sizeof sql)
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_EINVAL, "bad schema name in search_path");
        else
            rc = simple(s, sql, "creating the ledger's schema");
        PQfreemem(ident);
    }
    PQclear(r);
    return rc;
}

static int read_version(tti_store *s, int *version)
{
    int rc = TT_OK;
    *version = 0;
    /* Two statements: the second would not parse where the table does not exist. */
    PGresult *r = tti_pg_exec(s, "SELECT to_regclass('schema_version') IS NULL", NULL, &rc,
                              "reading the schema version");
    if (r == NULL)
        return rc;
    int none = tti_pg_int(r, 0, 0) != 0;
    PQclear(r);
    if (none)
        return TT_OK;
    r = tti_pg_exec(s, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, &rc,
                    "reading the schema version");
    if (r == NULL)
        return rc;
    *version = (int)tti_pg_int(r, 0, 0);
    PQclear(r);
    return TT_OK;
}

/* Migrations run under an advisory lock, so servers starting together take turns. */
static int migrate(tti_store *s, int create)
{
    int rc, version = 0;
    if ((rc = simple(s, "BEGIN", "starting migration")) != TT_OK)
        return rc;
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, MIGRATION_LOCK);
    PGresult *r = tti_pg_exec(s, "SELECT pg_advisory_xact_lock($1)", &a, &rc,
                              "waiting for another server's migration");
    PQclear(r);
    if (r == NULL || (rc = read_version(s, &version)) != TT_OK)
        goto fail;
    if (version > SCHEMA_VERSION) {
        rc = tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                     "the database has schema version %d, newer than this program's %d; "
                     "upgrade tradetrail",
                     version, SCHEMA_VERSION);
        goto fail;
    }
    if (version == 0 && !create) {
        rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOTFOUND,
                     "no ledger in this database; run `tradetrail init` first");
        goto fail;
    }
    if (version == 0 && (rc = simple(s, "CREATE TABLE schema_version(version int NOT NULL)",
                                     "migrating schema")) != TT_OK)
        goto fail;
    for (int v = version; v < SCHEMA_VERSION; v++) {
        tti_pgargs va = {.n = 0};
        tti_pg_i64(&va, v + 1);
        if ((rc = simple(s, migrations[v], "migrating schema")) != TT_OK)
            goto fail;
        r = tti_pg_exec(s, "INSERT INTO schema_version(version) VALUES ($1)", &va, &rc,
                        "recording schema version");
        PQclear(r);
        if (r == NULL)
            goto fail;
    }
    return simple(s, "COMMIT", "committing migration");
fail:
    PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

static void on_notice(void *arg, const char *message)
{
    (void)arg; /* the library never prints (STYLE.md): notices are dropped */
    (void)message;
}

/* Session settings, on every new or reset connection. The busy timeout bounds the wait
 * for the head row's lock (TT_EBUSY after). SPEC 5: a COMMIT returns once its WAL is
 * flushed, whatever a database or role default says (synchronous_commit = off would
 * acknowledge appends a database crash loses); a stricter setting, or local (flushed here,
 * not waiting for standbys), is kept. */
static int configure(tti_store *s)
{
    char set[320];
    snprintf(set, sizeof set,
             "SET lock_timeout = %d; SET client_min_messages = warning;"
             " SELECT set_config('synchronous_commit', 'on', false) WHERE"
             " current_setting('synchronous_commit') NOT IN"
             " ('on', 'local', 'remote_write', 'remote_apply')",
             s->busy_timeout_ms > 0 ? s->busy_timeout_ms : 0);
    int rc = simple(s, set, "configuring the connection");
    if (rc != TT_OK || s->search_path == NULL)
        return rc;
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, s->search_path);
    PQclear(tti_pg_exec(s, "SELECT set_config('search_path', $1, false)", &a, &rc,
                        "selecting the ledger's schema"));
    return rc;
}

/* SPEC 15: the ledger NAME lives in the schema "<main schema>__NAME" beside the main
 * ledger's, so every server on the database finds it under the same name. */
static int ns_schema(tti_store *s, const char *ns)
{
    int rc = TT_OK;
    PGresult *r = tti_pg_exec(s, "SELECT current_schema()", NULL, &rc, "reading the schema");
    if (r == NULL)
        return rc;
    if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
        PQclear(r);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOTFOUND,
                       "ledger %s: the main ledger's schema does not exist", ns);
    }
    char name[256];
    int n = snprintf(name, sizeof name, "%s__%s", PQgetvalue(r, 0, 0), ns);
    PQclear(r);
    /* PostgreSQL cuts identifiers to 63 bytes: a longer one would name another schema. */
    if (n > 63)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EINVAL,
                       "ledger %s: its schema name \"%s\" is over PostgreSQL's 63 bytes; use "
                       "a shorter ledger name",
                       ns, name);
    char *ident = PQescapeIdentifier(s->conn, name, strlen(name));
    s->search_path = ident ? strdup(ident) : NULL;
    PQfreemem(ident);
    if (s->search_path == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    return configure(s);
}

/* A connection the database dropped (a restart, a failover, an idle timeout) is opened
 * again at the start of the next transaction, so a long-running server outlives it; what
 * was inside a transaction then has failed and was rolled back by the database. */
static int revive(tti_store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK && !s->lost)
        return TT_OK;
    s->lost = 0;
    PQreset(s->conn);
    /* TT_EIO (HTTP 503): the database is down or out of reach, and a retry later works. */
    if (PQstatus(s->conn) != CONNECTION_OK)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EIO,
                       "the PostgreSQL connection is lost and reconnecting failed (try again "
                       "once the database is reachable): %s",
                       PQerrorMessage(s->conn));
    memset(s->prepared, 0, sizeof s->prepared); /* prepared statements died with it */
    s->in_txn = 0;
    return configure(s);
}

/*
 * WARNING: a connection string may hold a password, and libpq's messages quote it: a parse
 * error quotes the offending token ("Hunter2%ZZ"), sometimes the whole URI. A parse error
 * loses every quoted part; any other message loses each occurrence of the password.
 */
static int connect_failed(const char *uri, const char *msg, char *err, size_t errlen)
{
    char *perr = NULL, safe[1024];
    PQconninfoOption *opts = PQconninfoParse(uri, &perr);
    int malformed = opts == NULL;
    const char *pw = NULL;
    for (PQconninfoOption *p = opts; p != NULL && p->keyword != NULL; p++)
        if (strcmp(p->keyword, "password") == 0 && p->val != NULL && p->val[0] != '\0')
            pw = p->val;
    const char *m = malformed && perr != NULL ? perr : msg;
    size_t o = 0;
    for (int quoted = 0; *m != '\0' && o + 8 < sizeof safe;) {
        if (malformed && *m == '"') {
            o += quoted ? 0 : (size_t)snprintf(safe + o, sizeof safe - o, "\"...\"");
            quoted = !quoted;
            m++;
        } else if (pw != NULL && strncmp(m, pw, strlen(pw)) == 0) {
            o += (size_t)snprintf(safe + o, sizeof safe - o, "****");
            m += strlen(pw);
        } else if (quoted) {
            m++;
        } else {
            safe[o++] = *m++;
        }
    }
    safe[o] = '\0';
    PQconninfoFree(opts);
    PQfreemem(perr);
    /* A database that cannot be reached now is worth retrying (503); a malformed string
     * is not. */
    return tti_err(err, errlen, malformed ? TT_EDB : TT_EIO, "cannot connect to PostgreSQL: %s%s",
                   malformed ? "the connection string is malformed (percent-encode %, @, / and "
                               ": in a user name or password): "
                             : "",
                   safe);
}

static int pg_open(const char *uri, const tti_store_config *cfg, tti_store **out, char *err,
                   size_t errlen)
{
    tti_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->names = tti_map_new(100000)) == NULL) {
        pg_close(s);
        return tti_err(err, errlen, TT_ENOMEM, "out of memory opening the PostgreSQL store");
    }
    tti_buf_init(&s->copy, (size_t)1 << 30);
    s->tiles_size = s->pending_size = -1;
    s->read_only = cfg->read_only;
    s->busy_timeout_ms = cfg->busy_timeout_ms;
    s->conn = PQconnectdb(uri);
    int rc;
    if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
        rc = connect_failed(uri, s->conn ? PQerrorMessage(s->conn) : "out of memory", err, errlen);
        pg_close(s);
        return rc;
    }
    PQsetNoticeProcessor(s->conn, on_notice, NULL);
    if ((rc = configure(s)) != TT_OK ||
        (cfg->ns != NULL && (rc = ns_schema(s, cfg->ns)) != TT_OK) ||
        (cfg->create && (rc = ensure_schema(s)) != TT_OK) ||
        (!cfg->read_only && (rc = migrate(s, cfg->create)) != TT_OK))
        goto fail;
    *out = s;
    return TT_OK;
fail:
    if (rc == TT_ENOTFOUND && cfg->ns != NULL)
        tti_err(err, errlen, rc,
                "no ledger named %s in this database (its first append or "
                "`tradetrail --ledger %s init` creates it)",
                cfg->ns, cfg->ns);
    else
        tti_err(err, errlen, rc, "%s", s->errbuf);
    pg_close(s);
    return rc;
}

static const char *pg_errmsg(tti_store *s)
{
    return s->errbuf;
}

/* ---- transactions ---- */

static int parse_head(tti_store *s, const PGresult *r, tti_head *out);

/* The tree's edge tiles at levels 0 and 1 from TTI_PG_TILE_EDGE's rows, for the head just
 * locked; deeper levels stay cached only while no other writer appended since. */
static int install_edge(tti_store *s, const PGresult *r)
{
    if (s->tiles == NULL && (s->tiles = calloc(TTI_TILE_HEIGHT, sizeof *s->tiles)) == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory reading tiles");
    uint64_t size = (uint64_t)s->head.size;
    for (unsigned i = 0; i < TTI_TILE_HEIGHT; i++) {
        s->tiles[i].pending = 0;
        if (s->tiles_size != s->head.size || i < 2)
            s->tiles[i].valid = 0;
    }
    for (unsigned level = 0; level < 2; level++)
        s->tiles[level] =
            (struct tti_pg_tile){.valid = 1, .index = size >> (8 * (level + 1)), .n = 0};
    for (int row = 0; row < PQntuples(r); row++) {
        uint64_t id = (uint64_t)tti_pg_int(r, row, 0);
        struct tti_pg_tile *t = &s->tiles[id >> 56 ? 1 : 0];
        size_t len = (size_t)PQgetlength(r, row, 1);
        if (len % TT_HASH_SIZE != 0 || len > sizeof t->hashes)
            return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                           "tree tile %u/%llu is malformed (%zu bytes)", (unsigned)(id >> 56),
                           (unsigned long long)t->index, len);
        memcpy(t->hashes, PQgetvalue(r, row, 1), len);
        t->n = len / TT_HASH_SIZE;
    }
    s->tiles_ok = 1;
    return TT_OK;
}

/* TTI_PG_TOKENS_GONE's parameter in a: the array literal of ids ("{1,2}"), kept in buf,
 * which the caller frees. */
static int ids_arg(tti_store *s, const int64_t *ids, size_t n, tti_buf *buf, tti_pgargs *a)
{
    tti_buf_init(buf, 64 + n * 24);
    a->n = 0;
    if (n == 0)
        return TT_OK;
    char num[24];
    int fail = tti_buf_add(buf, "{", 1);
    for (size_t i = 0; i < n && !fail; i++) {
        int len = snprintf(num, sizeof num, "%s%lld", i ? "," : "", (long long)ids[i]);
        fail = tti_buf_add(buf, num, (size_t)len);
    }
    if (fail || tti_buf_add(buf, "}", 2) != 0) /* with its NUL: a text parameter */
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory checking tokens");
    tti_pg_text(a, buf->data);
    return TT_OK;
}

static void mark_refused(const PGresult *gone, const int64_t *ids, size_t n, unsigned char *refused)
{
    for (int row = 0; gone != NULL && row < PQntuples(gone); row++) {
        int64_t id = tti_pg_int(gone, row, 0);
        for (size_t i = 0; i < n; i++)
            if (ids[i] == id)
                refused[i] = 1;
    }
}

static int pg_tokens_refused(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused)
{
    if (n == 0)
        return TT_OK;
    tti_buf arr;
    tti_pgargs a;
    int rc = ids_arg(s, ids, n, &arr, &a);
    PGresult *gone =
        rc == TT_OK ? tti_pg_run(s, TTI_PG_TOKENS_GONE, &a, &rc, "checking tokens") : NULL;
    tti_buf_free(&arr);
    if (gone != NULL)
        mark_refused(gone, ids, n, refused);
    PQclear(gone);
    return rc;
}

/* BEGIN, the head row's lock, the tree's edge and, given ids, which of those tokens are
 * revoked, in one round trip. READ COMMITTED, on purpose: each statement after the lock
 * sees every batch and revocation committed before the lock was granted (a REPEATABLE
 * READ snapshot taken before the wait would not, and would fail the lock with a
 * serialization error). */
static int lock_head(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused)
{
    PGresult *lock = NULL, *edge = NULL, *gone = NULL;
    tti_buf arr;
    tti_pgargs a;
    int rc = ids_arg(s, ids, n, &arr, &a);
    const tti_pg_step steps[] = {
        {-1, "BEGIN ISOLATION LEVEL READ COMMITTED", NULL, "starting a write", NULL},
        {TTI_PG_HEAD_LOCK, NULL, NULL, "taking the write lock", &lock},
        {TTI_PG_TILE_EDGE, NULL, NULL, "reading the tree's edge", &edge},
        {TTI_PG_TOKENS_GONE, NULL, &a, "checking tokens", &gone},
    };
    if (rc == TT_OK)
        rc = tti_pg_pipeline(s, steps, n > 0 ? 4 : 3);
    tti_buf_free(&arr);
    if (rc == TT_OK && (rc = parse_head(s, lock, &s->head)) == TT_OK)
        rc = install_edge(s, edge);
    if (rc == TT_OK)
        mark_refused(gone, ids, n, refused);
    PQclear(lock);
    PQclear(edge);
    PQclear(gone);
    if (rc == TT_EBUSY)
        tti_err(s->errbuf, sizeof s->errbuf, rc,
                "the ledger head stayed locked by another writer longer than the busy timeout");
    if (rc != TT_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

static int pg_begin_write_tokens(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused)
{
    int rc = revive(s);
    if (rc == TT_OK && (rc = lock_head(s, ids, n, refused)) != TT_OK && s->lost &&
        revive(s) == TT_OK)
        rc = lock_head(s, ids, n, refused); /* a connection lost while idle: nothing was done */
    if (rc != TT_OK)
        return rc;
    s->head_valid = 1;
    s->pending_size = -1;
    s->tiles_dirty = 0;
    s->doomed = 0;
    s->last_seq = 0;
    s->in_txn = 1;
    return TT_OK;
}

static int pg_begin_write(tti_store *s)
{
    return pg_begin_write_tokens(s, NULL, 0, NULL);
}

static int pg_begin_read(tti_store *s)
{
    int rc = revive(s);
    if (rc == TT_OK)
        rc = simple(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting a read");
    /* The snapshot is taken at the first statement: take it now. */
    if (rc == TT_OK)
        rc = simple(s, "SELECT 1 FROM head", "starting a read");
    if (rc != TT_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    s->in_txn = rc == TT_OK;
    return rc;
}

static void pg_rollback(tti_store *s)
{
    s->head_valid = 0;
    s->tiles_ok = 0;
    s->tiles_size = -1; /* tiles written in this transaction are gone */
    tti_buf_reset(&s->copy);
    s->n_copy = 0;
    s->head_pending = 0;
    s->doomed = 0;
    s->last_seq = 0;
    for (unsigned i = 0; s->tiles != NULL && i < TTI_TILE_HEIGHT; i++)
        s->tiles[i].pending = s->tiles[i].valid = 0;
    if (s->lost) {
        /* A new session: the old one's transaction and locks end with it. */
        (void)revive(s);
        if (!s->read_only)
            tti_map_clear(s->names);
    } else if (PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PQclear(PQexec(s->conn, "ROLLBACK"));
        /* Names inserted in a rolled-back write no longer exist. */
        if (!s->read_only)
            tti_map_clear(s->names);
    }
    s->in_txn = 0;
}

/* The old session's COMMIT may still be in flight when its connection drops (a slow fsync,
 * a synchronous standby, a partition), and until it commits or aborts that session holds
 * the head row's lock: taking the lock, within the busy timeout, waits for the outcome, and
 * the statement after it sees the outcome (READ COMMITTED). The row stored at seq in *leaf. */
static int leaf_after_commit(tti_store *s, int64_t seq, PGresult **leaf)
{
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, seq);
    const char *what = "checking whether the commit landed";
    const tti_pg_step steps[] = {
        {-1, "BEGIN ISOLATION LEVEL READ COMMITTED", NULL, what, NULL},
        {TTI_PG_HEAD_LOCK, NULL, NULL, "waiting for the interrupted commit to end", NULL},
        {TTI_PG_LEAF_AT, NULL, &a, what, leaf},
    };
    int rc = revive(s); /* a new session: the old one's transaction is not ours any more */
    if (rc == TT_OK)
        rc = tti_pg_pipeline(s, steps, sizeof steps / sizeof steps[0]);
    if (rc == TT_EBUSY)
        tti_err(s->errbuf, sizeof s->errbuf, rc,
                "the interrupted transaction was still committing after the busy timeout");
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

/* The connection dropped while the COMMIT was on its way: the database may have committed
 * or not. On a new connection, once the old transaction has ended, the row of its last
 * event answers which; reporting a committed batch as failed would make a client's retry
 * without an idempotency key write its events twice. TT_OK when it committed, else rc with
 * a message that says what is known and what the client can do. */
static int commit_outcome(tti_store *s, int rc)
{
    char first[sizeof s->errbuf];
    snprintf(first, sizeof first, "%s", s->errbuf);
    int64_t seq = s->last_seq;
    uint8_t leaf[TT_HASH_SIZE];
    memcpy(leaf, s->last_leaf, sizeof leaf);
    pg_rollback(s);
    PGresult *r = NULL;
    if (leaf_after_commit(s, seq, &r) != TT_OK) {
        char why[sizeof s->errbuf];
        snprintf(why, sizeof why, "%s", s->errbuf);
        return tti_err(s->errbuf, sizeof s->errbuf, rc,
                       "%s; whether the transaction committed is unknown (%s): retry with the "
                       "same idempotency keys, or read the events back before sending them "
                       "again without keys",
                       first, why);
    }
    int landed = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == TT_HASH_SIZE &&
                 tti_ct_equal(PQgetvalue(r, 0, 0), leaf, TT_HASH_SIZE);
    PQclear(r);
    if (landed)
        return TT_OK;
    return tti_err(s->errbuf, sizeof s->errbuf, rc, "%s; the transaction did not commit", first);
}

static int pg_commit(tti_store *s)
{
    PGresult *r = NULL;
    int rc = s->doomed ? tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                                 "committing: a write of this transaction failed before it")
                       : tti_pg_send_writes(s, 1, &r);
    /* COMMIT of a failed transaction "succeeds" as a ROLLBACK. */
    if (rc == TT_OK && (r == NULL || strcmp(PQcmdStatus(r), "COMMIT") != 0))
        rc = tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                     "committing: the transaction was rolled back");
    PQclear(r);
    if (rc != TT_OK && s->lost && !s->doomed && s->last_seq > 0) {
        rc = commit_outcome(s, rc); /* rolled back in any case: the session is new */
        s->tiles_size = -1;
    } else if (rc != TT_OK)
        pg_rollback(s);
    else if (s->pending_size >= 0)
        /* The cached tiles match the new head if this transaction wrote them, or found them
         * valid and wrote none (no new event); a batch of repeats alone must not vouch for
         * tiles cached before another writer's appends. */
        s->tiles_size = s->tiles_dirty || s->tiles_ok ? s->pending_size : -1;
    s->head_valid = 0;
    s->tiles_ok = 0;
    s->in_txn = 0;
    return rc;
}

/* ---- the log ---- */

static int parse_head(tti_store *s, const PGresult *r, tti_head *out)
{
    if (PQntuples(r) != 1)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED, "the ledger head row is missing");
    size_t blen = (size_t)PQgetlength(r, 0, 2);
    if (blen % TT_HASH_SIZE != 0 || blen / TT_HASH_SIZE > 64)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "the ledger head is malformed (%zu bytes of tree edge)", blen);
    out->size = tti_pg_int(r, 0, 0);
    out->last_ts_us = PQgetisnull(r, 0, 1) ? TT_TIME_NONE : tti_pg_int(r, 0, 1);
    out->n_crange = (unsigned)(blen / TT_HASH_SIZE);
    if (blen)
        memcpy(out->crange, PQgetvalue(r, 0, 2), blen);
    out->signed_size = tti_pg_int(r, 0, 3);
    out->n_checkpoints = tti_pg_int(r, 0, 4);
    return TT_OK;
}

int tti_pg_read_head(tti_store *s, tti_head *out)
{
    if (s->in_txn && s->head_valid) { /* read under the row lock this transaction holds */
        *out = s->head;
        return TT_OK;
    }
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_HEAD_GET, NULL, &rc, "reading the ledger head");
    if (r == NULL)
        return rc;
    tti_head h;
    rc = parse_head(s, r, &h);
    PQclear(r);
    if (rc == TT_OK)
        *out = h;
    return rc;
}

/* Inside a write transaction the head waits for the commit (tti_pg_send_writes). */
static int pg_write_head(tti_store *s, const tti_head *h)
{
    s->head = *h;
    s->head_valid = 1;
    s->pending_size = h->size;
    if (s->in_txn) {
        s->head_pending = 1;
        return TT_OK;
    }
    s->head_valid = 0;
    tti_pgargs a;
    tti_pg_head_args(&a, h);
    int rc;
    PQclear(tti_pg_run(s, TTI_PG_HEAD_PUT, &a, &rc, "writing the ledger head"));
    return rc;
}

static int pg_idem_lookup(tti_store *s, const char *key, int64_t *seq, int64_t *ts_us,
                          uint8_t leaf[TT_HASH_SIZE], char principal[TT_MAX_PRINCIPAL + 1])
{
    int rc = tti_pg_flush(s);
    if (rc != TT_OK)
        return rc;
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, key);
    PGresult *r = tti_pg_run(s, TTI_PG_IDEM_GET, &a, &rc, "looking up an idempotency key");
    if (r == NULL)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TT_ENOTFOUND;
    }
    *seq = tti_pg_int(r, 0, 0);
    *ts_us = tti_pg_int(r, 0, 1);
    if (PQgetlength(r, 0, 2) == TT_HASH_SIZE)
        memcpy(leaf, PQgetvalue(r, 0, 2), TT_HASH_SIZE);
    const char *p = tti_pg_str(r, 0, 3);
    snprintf(principal, TT_MAX_PRINCIPAL + 1, "%s", p != NULL ? p : "");
    PQclear(r);
    return TT_OK;
}

int tti_pg_lookup_name(tti_store *s, int kind, const char *value, int64_t *id)
{
    if (tti_map_get(s->names, kind, value, id))
        return TT_OK;
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, kind);
    tti_pg_text(&a, value);
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_NAME_GET, &a, &rc, "looking up a name");
    if (r == NULL)
        return rc;
    *id = PQntuples(r) == 1 ? tti_pg_int(r, 0, 0) : 0;
    PQclear(r);
    /* A name a reader sees is committed, and names are never deleted: keep it. (A writer
     * clears its cache when it rolls back.) */
    if (*id != 0 && tti_map_put(s->names, kind, value, *id) != 0)
        tti_map_clear(s->names);
    return TT_OK;
}

/* The id of an interned value, inserting it when new. Cached: the hot path rarely asks. A
 * subject is interned under its entity's id; its cache key says so ("entity/id"). */
static int intern(tti_store *s, int kind, int64_t entity, const char *value, int64_t *id)
{
    char keybuf[TT_MAX_ENTITY_ID * 4 + 32];
    const char *key = value;
    int subj = kind == 0;
    if (subj) {
        snprintf(keybuf, sizeof keybuf, "%lld/%s", (long long)entity, value);
        key = keybuf;
        kind = 5; /* the cache's kind for subjects, as in the SQLite backend */
    }
    if (tti_map_get(s->names, kind, key, id))
        return TT_OK;
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, subj ? entity : kind);
    tti_pg_text(&a, value);
    int rc;
    PGresult *r =
        tti_pg_run(s, subj ? TTI_PG_SUBJ_PUT : TTI_PG_NAME_PUT, &a, &rc, "interning a name");
    if (r == NULL)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EDB, "interning a name: no id returned");
    }
    *id = tti_pg_int(r, 0, 0);
    PQclear(r);
    if (tti_map_put(s->names, kind, key, *id) != 0)
        tti_map_clear(s->names);
    return TT_OK;
}

/* A JSON member "name":value of an integer column; NULL when absent. */
static void json_int(tti_buf *b, const char *name, int64_t v, int null)
{
    tti_buf_printf(b, ",\"%s\":", name);
    if (null)
        tti_buf_adds(b, "null");
    else
        tti_buf_json_int(b, v);
}

static void json_text(tti_buf *b, const char *name, const char *v)
{
    tti_buf_printf(b, ",\"%s\":", name);
    if (v == NULL)
        tti_buf_adds(b, "null");
    else
        tti_buf_json_str(b, v);
}

/* The event's row joins the batch's rows, sent at commit or before anything reads (one
 * statement for a batch instead of one per event). */
static int pg_insert_event(tti_store *s, const tt_event *ev)
{
    int64_t entity, subject, type, actor, olds = 0, news = 0;
    int rc;
    if ((rc = intern(s, TTI_PG_NAME_ENTITY, 0, ev->entity, &entity)) != TT_OK ||
        (rc = intern(s, 0, entity, ev->entity_id, &subject)) != TT_OK ||
        (rc = intern(s, TTI_PG_NAME_TYPE, 0, ev->event_type, &type)) != TT_OK ||
        (rc = intern(s, TTI_PG_NAME_ACTOR, 0, ev->actor, &actor)) != TT_OK ||
        (ev->old_status && (rc = intern(s, TTI_PG_NAME_STATUS, 0, ev->old_status, &olds))) ||
        (ev->new_status && (rc = intern(s, TTI_PG_NAME_STATUS, 0, ev->new_status, &news))))
        return rc;
    tti_buf *b = &s->copy;
    tti_buf_add(b, s->n_copy == 0 ? "[" : ",", 1);
    tti_buf_printf(b, "{\"seq\":%lld", (long long)ev->seq);
    json_int(b, "ts", ev->ts_us, 0);
    json_int(b, "entity", entity, 0);
    json_int(b, "subject", subject, 0);
    json_int(b, "event_type", type, 0);
    json_int(b, "actor", actor, 0);
    json_int(b, "old_status", olds, ev->old_status == NULL);
    json_int(b, "new_status", news, ev->new_status == NULL);
    json_text(b, "reason", ev->reason);
    json_text(b, "metadata", ev->metadata);
    json_int(b, "occurred_at", ev->occurred_at_us, ev->occurred_at_us == TT_TIME_NONE);
    json_text(b, "idem", ev->idempotency_key);
    tti_buf_adds(b, ",\"leaf_hash\":\"\\\\x"); /* bytea's hex input, "\x..." */
    for (int i = 0; i < TT_HASH_SIZE; i++)
        tti_buf_printf(b, "%02x", ev->leaf_hash[i]);
    tti_buf_add(b, "\"", 1);
    json_text(b, "principal", ev->principal);
    json_text(b, "producer", ev->producer);
    json_int(b, "producer_seq", ev->producer_seq, ev->producer == NULL);
    tti_buf_add(b, "}", 1);
    s->n_copy++;
    s->last_seq = ev->seq;
    memcpy(s->last_leaf, ev->leaf_hash, TT_HASH_SIZE);
    if (b->failed) {
        tti_buf_reset(b);
        s->n_copy = 0;
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory buffering events");
    }
    return TT_OK;
}

static int pg_get_tile(tti_store *s, unsigned level, uint64_t index, uint8_t (*buf)[TT_HASH_SIZE],
                       size_t *n)
{
    const struct tti_pg_tile *t =
        s->tiles != NULL && level < TTI_TILE_HEIGHT ? &s->tiles[level] : NULL;
    if (s->in_txn && s->tiles_ok && t != NULL && t->valid && t->index == index) {
        memcpy(buf, t->hashes, t->n * TT_HASH_SIZE);
        *n = t->n;
        return TT_OK;
    }
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, tti_pg_tile_id(level, index));
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_TILE_GET, &a, &rc, "reading a tree tile");
    if (r == NULL)
        return rc;
    *n = 0;
    if (PQntuples(r) == 1) {
        size_t len = (size_t)PQgetlength(r, 0, 0);
        if (len % TT_HASH_SIZE != 0 || len > TTI_TILE_WIDTH * TT_HASH_SIZE) {
            PQclear(r);
            return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                           "tree tile %u/%llu is malformed (%zu bytes)", level,
                           (unsigned long long)index, len);
        }
        if (len)
            memcpy(buf, PQgetvalue(r, 0, 0), len);
        *n = len / TT_HASH_SIZE;
    }
    PQclear(r);
    return TT_OK;
}

/* Inside a write transaction an edge tile waits for the commit (tti_pg_send_writes); one
 * per level, so a level's earlier tile is sent when the edge moves past it. */
static int pg_put_tile(tti_store *s, unsigned level, uint64_t index,
                       const uint8_t (*hashes)[TT_HASH_SIZE], size_t n)
{
    int rc = TT_OK;
    if (s->in_txn && s->tiles != NULL && level < TTI_TILE_HEIGHT && n <= TTI_TILE_WIDTH) {
        struct tti_pg_tile *t = &s->tiles[level];
        if (t->pending && t->index != index && (rc = tti_pg_flush(s)) != TT_OK)
            return rc;
        s->tiles_size = -1; /* valid again once this transaction commits with its head */
        s->tiles_dirty = 1;
        *t = (struct tti_pg_tile){.valid = 1, .pending = 1, .index = index, .n = n};
        memcpy(t->hashes, hashes, n * TT_HASH_SIZE);
        return TT_OK;
    }
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, tti_pg_tile_id(level, index));
    tti_pg_bytes(&a, hashes, n * TT_HASH_SIZE);
    PQclear(tti_pg_run(s, TTI_PG_TILE_PUT, &a, &rc, "writing a tree tile"));
    return rc;
}

/* SPEC 4: the head records what signing stored, so removing checkpoints shows. */
static int pg_put_checkpoint(tti_store *s, const tti_cp_row *cp)
{
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, cp->tree_size);
    tti_pg_i64(&a, cp->ts_us);
    tti_pg_bytes(&a, cp->root, TT_HASH_SIZE);
    tti_pg_text(&a, cp->note);
    int rc = TT_OK;
    PGresult *r = tti_pg_run(s, TTI_PG_CP_PUT, &a, &rc, "storing a checkpoint");
    if (r == NULL)
        return rc;
    PQclear(r);
    a.n = 0;
    tti_pg_i64(&a, cp->tree_size);
    s->head_valid = 0;
    r = tti_pg_run(s, TTI_PG_CP_HEAD, &a, &rc, "recording the checkpoint in the ledger head");
    if (r == NULL)
        return rc;
    rc = strcmp(PQcmdTuples(r), "1") == 0
             ? TT_OK
             : tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED, "the ledger head row is missing");
    PQclear(r);
    return rc;
}

static int pg_meta_get(tti_store *s, const char *key, char **value)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, key);
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_META_GET, &a, &rc, "reading store settings");
    if (r == NULL)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TT_ENOTFOUND;
    }
    char *v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (v == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    *value = v;
    return TT_OK;
}

static int pg_meta_set(tti_store *s, const char *key, const char *value)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, key);
    tti_pg_text(&a, value);
    int rc = TT_OK;
    PQclear(tti_pg_run(s, TTI_PG_META_PUT, &a, &rc, "writing store settings"));
    return rc;
}

/* ---- API tokens (SPEC 8): keyed by the SHA-256 of the token ---- */

static int pg_token_insert(tti_store *s, const char *name, int role, const uint8_t hash[32],
                           int64_t created_us, int64_t *id)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, name);
    tti_pg_i64(&a, role);
    tti_pg_bytes(&a, hash, 32);
    tti_pg_i64(&a, created_us);
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_TOKEN_PUT, &a, &rc, "storing a token");
    if (r == NULL)
        return rc;
    *id = tti_pg_int(r, 0, 0);
    PQclear(r);
    return TT_OK;
}

static int read_token(tti_store *s, const PGresult *r, int row, tt_token_info *out, uint8_t *hash)
{
    const char *name = tti_pg_str(r, row, 1);
    out->id = tti_pg_int(r, row, 0);
    out->name = name ? strdup(name) : NULL;
    out->role = (tt_role)tti_pg_int(r, row, 2);
    out->created_us = tti_pg_int(r, row, 3);
    out->revoked_us = PQgetisnull(r, row, 4) ? TT_TIME_NONE : tti_pg_int(r, row, 4);
    if (hash != NULL && PQgetlength(r, row, 5) == 32)
        memcpy(hash, PQgetvalue(r, row, 5), 32);
    if (name != NULL && out->name == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    return TT_OK;
}

static int token_one(tti_store *s, int which, tti_pgargs *a, tt_token_info *out, uint8_t *hash)
{
    int rc;
    PGresult *r = tti_pg_run(s, which, a, &rc, "reading a token");
    if (r == NULL)
        return rc;
    rc = PQntuples(r) == 1 ? read_token(s, r, 0, out, hash) : TT_ENOTFOUND;
    PQclear(r);
    return rc;
}

static int pg_token_find(tti_store *s, const uint8_t hash[32], tt_token_info *out,
                         uint8_t stored_hash[32])
{
    tti_pgargs a = {.n = 0};
    tti_pg_bytes(&a, hash, 32);
    return token_one(s, TTI_PG_TOKEN_FIND, &a, out, stored_hash);
}

static int pg_token_get(tti_store *s, int64_t id, tt_token_info *out)
{
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, id);
    return token_one(s, TTI_PG_TOKEN_GET, &a, out, NULL);
}

static int pg_token_revoke(tti_store *s, int64_t id, int64_t revoked_us)
{
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, revoked_us);
    tti_pg_i64(&a, id);
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_TOKEN_REVOKE, &a, &rc, "revoking a token");
    if (r == NULL)
        return rc;
    rc = strcmp(PQcmdTuples(r), "1") == 0 ? TT_OK : TT_ENOTFOUND;
    PQclear(r);
    return rc;
}

static int pg_token_list(tti_store *s, tt_token_info **out, size_t *n)
{
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_TOKEN_LIST, NULL, &rc, "listing tokens");
    if (r == NULL)
        return rc;
    size_t cnt = (size_t)PQntuples(r);
    tt_token_info *arr = calloc(cnt ? cnt : 1, sizeof *arr);
    if (arr == NULL)
        rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory listing tokens");
    for (size_t i = 0; rc == TT_OK && i < cnt; i++)
        rc = read_token(s, r, (int)i, &arr[i], NULL);
    PQclear(r);
    if (rc != TT_OK) {
        if (arr != NULL)
            for (size_t i = 0; i < cnt; i++)
                tti_token_info_clear(&arr[i]);
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return TT_OK;
}

const tti_store_ops tti_postgres_ops = {
    .name = "postgres",
    .accepts = pg_accepts,
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .begin_write = pg_begin_write,
    .begin_write_tokens = pg_begin_write_tokens,
    .begin_read = pg_begin_read,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .read_head = tti_pg_read_head,
    .write_head = pg_write_head,
    .idem_lookup = pg_idem_lookup,
    .insert_event = pg_insert_event,
    .get_tile = pg_get_tile,
    .put_tile = pg_put_tile,
    .put_checkpoint = pg_put_checkpoint,
    .latest_checkpoint = tti_pg_latest_checkpoint,
    .checkpoints_iter = tti_pg_checkpoints_iter,
    .checkpoints_next = tti_pg_checkpoints_next,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .query = tti_pg_query,
    .scan = tti_pg_scan,
    .iter_next = tti_pg_iter_next,
    .iter_free = tti_pg_iter_free,
    .event_extent = tti_pg_event_extent,
    .check_idem = tti_pg_check_idem,
    .check_search = tti_pg_check_search,
    .seq_at_ts = tti_pg_seq_at_ts,
    .count_by = tti_pg_count_by,
    .segment_put = tti_pg_segment_put,
    .segments = tti_pg_segments,
    .purge = tti_pg_purge,
    .token_insert = pg_token_insert,
    .token_find = pg_token_find,
    .token_get = pg_token_get,
    .tokens_refused = pg_tokens_refused,
    .token_revoke = pg_token_revoke,
    .token_list = pg_token_list,
    .table_names = tti_pg_table_names,
    .table_rows = tti_pg_table_rows,
    .table_insert = tti_pg_table_insert,
    .table_done = tti_pg_table_done,
    .strategy = &tti_pg_strategy_ops,
    .domain = &tti_pg_domain_ops,
    .jobs = &tti_pg_jobs_ops,
    .notify = &tti_pg_notify_ops,
    .producer = &tti_pg_producer_ops,
};

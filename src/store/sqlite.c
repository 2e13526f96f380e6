/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite backend: one file in WAL mode with synchronous=FULL. Keys that repeat
 * (entity, event type, actor, statuses, entity ids) are interned into small tables so the
 * event rows and their indexes stay compact; tree nodes live in tiles of 256 hashes; FTS5
 * indexes reasons. Triggers refuse UPDATE and DELETE on events and checkpoints. The only
 * file that includes sqlite3.h.
 */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "store/sqlite_internal.h"
#include "util/err.h"
#include "util/map.h"

#define SCHEMA_VERSION 6

enum { K_ENTITY = 1, K_TYPE = 2, K_ACTOR = 3, K_STATUS = 4, K_SUBJECT = 5 };

enum {
    S_HEAD_GET,
    S_HEAD_PUT,
    S_IDEM_GET,
    S_IDEM_PUT,
    S_EVENT_PUT,
    S_FTS_PUT,
    S_NAME_GET,
    S_NAME_PUT,
    S_SUBJ_GET,
    S_SUBJ_PUT,
    S_TILE_GET,
    S_TILE_PUT,
    S_CP_PUT,
    S_CP_LATEST,
    S_META_GET,
    S_META_PUT,
    S_TS_AT,
    S_TOKEN_PUT,
    S_TOKEN_FIND,
    S_TOKEN_GET,
    S_TOKEN_REVOKE,
    S_COUNT
};

_Static_assert(S_COUNT <= TTI_SQLITE_CORE_STMTS, "raise TTI_SQLITE_CORE_STMTS");

static const char *const stmt_sql[S_COUNT] = {
    [S_HEAD_GET] = "SELECT size, last_ts, crange FROM head WHERE id = 1",
    [S_HEAD_PUT] = "INSERT OR REPLACE INTO head(id, size, last_ts, crange) VALUES (1, ?, ?, ?)",
    [S_IDEM_GET] = "SELECT i.seq, e.ts, e.leaf_hash FROM idem i JOIN events e ON e.seq = i.seq "
                   "WHERE i.key = ?",
    [S_IDEM_PUT] = "INSERT INTO idem(key, seq) VALUES (?, ?)",
    [S_EVENT_PUT] = "INSERT INTO events(seq, ts, entity, subject, event_type, actor, old_status, "
                    "new_status, reason, metadata, occurred_at, idem, leaf_hash) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_FTS_PUT] = "INSERT INTO events_fts(rowid, reason) VALUES (?, ?)",
    [S_NAME_GET] = "SELECT id FROM names WHERE kind = ? AND value = ?",
    [S_NAME_PUT] = "INSERT INTO names(kind, value) VALUES (?, ?)",
    [S_SUBJ_GET] = "SELECT id FROM subjects WHERE entity = ? AND entity_id = ?",
    [S_SUBJ_PUT] = "INSERT INTO subjects(entity, entity_id) VALUES (?, ?)",
    [S_TILE_GET] = "SELECT hashes FROM tiles WHERE id = ?",
    [S_TILE_PUT] = "INSERT OR REPLACE INTO tiles(id, hashes) VALUES (?, ?)",
    [S_CP_PUT] = "INSERT INTO checkpoints(tree_size, ts, root, note) VALUES (?, ?, ?, ?)",
    [S_CP_LATEST] = "SELECT tree_size, ts, root, note FROM checkpoints "
                    "ORDER BY tree_size DESC LIMIT 1",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?",
    [S_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
    [S_TS_AT] = "SELECT ts FROM events WHERE seq = ?",
    [S_TOKEN_PUT] = "INSERT INTO tokens(name, role, hash, created) VALUES (?, ?, ?, ?)",
    [S_TOKEN_FIND] = "SELECT id, name, role, created, revoked, hash FROM tokens WHERE hash = ?",
    [S_TOKEN_GET] = "SELECT id, name, role, created, revoked, hash FROM tokens WHERE id = ?",
    [S_TOKEN_REVOKE] = "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
};

/* Version 1: the initial schema (SPEC 3, 4). Later versions append migrations. */
static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE head(id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL,"
    " last_ts INTEGER, crange BLOB NOT NULL);"
    "CREATE TABLE names(id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, value TEXT NOT NULL,"
    " UNIQUE(kind, value));"
    "CREATE TABLE subjects(id INTEGER PRIMARY KEY, entity INTEGER NOT NULL,"
    " entity_id TEXT NOT NULL, UNIQUE(entity, entity_id));"
    "CREATE INDEX subjects_entity_id ON subjects(entity_id);"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
    " entity INTEGER NOT NULL, subject INTEGER NOT NULL, event_type INTEGER NOT NULL,"
    " actor INTEGER NOT NULL, old_status INTEGER, new_status INTEGER, reason TEXT,"
    " metadata TEXT, occurred_at INTEGER, idem TEXT, leaf_hash BLOB NOT NULL);"
    "CREATE INDEX events_subject ON events(subject);"
    "CREATE INDEX events_entity ON events(entity);"
    "CREATE INDEX events_type ON events(event_type);"
    "CREATE INDEX events_actor ON events(actor);"
    "CREATE TABLE idem(key TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE events_fts USING fts5(reason, content='');"
    "CREATE TABLE tiles(id INTEGER PRIMARY KEY, hashes BLOB NOT NULL);"
    "CREATE TABLE checkpoints(tree_size INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
    " root BLOB NOT NULL, note TEXT NOT NULL);"
    /* SPEC 4: the database itself refuses to change or remove recorded history. */
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;"
    "CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;"
    "CREATE TABLE tokens(id INTEGER PRIMARY KEY, name TEXT, role INTEGER NOT NULL,"
    " hash BLOB NOT NULL UNIQUE, created INTEGER NOT NULL, revoked INTEGER);"
    "INSERT INTO head(id, size, last_ts, crange) VALUES (1, 0, NULL, x'');";

/* Each entry upgrades the schema by one version; the domain parts live with their code. */
static const char *const migrations[] = {schema_v1,
                                         tti_sqlite_schema_strategy,
                                         tti_sqlite_schema_domain,
                                         tti_sqlite_schema_jobs,
                                         tti_sqlite_schema_notify,
                                         tti_sqlite_schema_search};

struct tti_store_iter {
    tti_store *s;
    sqlite3_stmt *st;
    int kind; /* 1 checkpoints, 2 events (names by id) */
    int empty;
    tt_event ev;
    char **names; /* kind 2: interned names by id, read once per scan */
    size_t n_names;
    struct subj_slot *subjects; /* kind 2: entity ids by subject id, direct-mapped */
    size_t n_subj_slots;        /* its size: SUBJ_SLOTS, or fewer for a short query */
};

/* Convert an SQLite failure into a status with a message a user can act on. */
int tti_sqlite_fail(tti_store *s, int rc, const char *what)
{
    int ext = sqlite3_extended_errcode(s->db);
    int sys = sqlite3_system_errno(s->db);
    int status = TT_EDB;
    if (rc == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT)
        status = TT_ENOSPC;
    else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        status = TT_EBUSY;
    else if (rc == SQLITE_NOMEM)
        status = TT_ENOMEM;
    else if ((ext & 0xff) == SQLITE_IOERR)
        status = TT_EIO;
    if (status == TT_ENOSPC) {
        s->hit_enospc = 1;
        return tti_err(s->errbuf, sizeof s->errbuf, status, "%s: disk full (%s)", what,
                       sqlite3_errmsg(s->db));
    }
    return tti_err(s->errbuf, sizeof s->errbuf, status, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int fail(tti_store *s, int rc, const char *what)
{
    return tti_sqlite_fail(s, rc, what);
}

sqlite3_stmt *tti_sqlite_stmt(tti_store *s, const char *sql, int *rc)
{
    for (int i = 0; i < s->n_cache; i++)
        if (s->cache[i].sql == sql) {
            sqlite3_reset(s->cache[i].st);
            sqlite3_clear_bindings(s->cache[i].st);
            return s->cache[i].st;
        }
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (prc != SQLITE_OK) {
        *rc = fail(s, prc, "preparing a statement");
        return NULL;
    }
    if (s->n_cache < TTI_SQLITE_CACHE) {
        s->cache[s->n_cache].sql = sql;
        s->cache[s->n_cache++].st = st;
    } else {
        /* Cache full: keep this one as the overflow slot's replacement. */
        sqlite3_finalize(s->cache[TTI_SQLITE_CACHE - 1].st);
        s->cache[TTI_SQLITE_CACHE - 1].sql = sql;
        s->cache[TTI_SQLITE_CACHE - 1].st = st;
    }
    return st;
}

static sqlite3_stmt *stmt(tti_store *s, int which)
{
    sqlite3_stmt *st = s->stmt[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int exec(tti_store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TT_OK : fail(s, rc, what);
}

static int migrate(tti_store *s, int create, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "reading schema version");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                       "%s has schema version %d, newer than this program's %d; upgrade "
                       "tradetrail",
                       path, version, SCHEMA_VERSION);
    if (version == 0 && !create)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOTFOUND,
                       "no ledger in %s; run `tradetrail init` first", path);
    for (int v = version; v < SCHEMA_VERSION; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if ((rc = exec(s, "BEGIN IMMEDIATE", "starting migration")) != TT_OK)
            return rc;
        if ((rc = exec(s, migrations[v], "migrating schema")) != TT_OK ||
            (rc = exec(s, pragma, "recording schema version")) != TT_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if ((rc = exec(s, "COMMIT", "committing migration")) != TT_OK)
            return rc;
    }
    return TT_OK;
}

static const char *uri_path(const char *uri)
{
    return strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri;
}

static int sq_accepts(const char *uri)
{
    return strstr(uri, "://") == NULL || strncmp(uri, "sqlite:", 7) == 0;
}

static void sq_close(tti_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int i = 0; i < s->n_cache; i++)
        sqlite3_finalize(s->cache[i].st);
    sqlite3_close_v2(s->db);
    tti_map_free(s->names);
    free(s);
}

/* When to copy the WAL into the database file. Each checkpoint syncs that file, and a page
 * changed by several commits is copied once per checkpoint; but a large checkpoint holds
 * up the commits queued behind it. Measured (issue 6): at a fixed 256 pages (1 MiB) a
 * checkpoint followed every 1,000-event commit and cost the server a fifth of its NDJSON
 * rate; at a fixed 4096 pages the p99 of single-event appends rose by about 2 ms. So the WAL
 * may grow to four times the last commit's pages, at least 256 and at most 4096 (16 MiB):
 * small commits keep small checkpoints, large ones share one among four. Never beyond an
 * eighth of the disk's free space either: after a disk-full error the checkpoint is what
 * makes room, and freeing a megabyte or two must be enough for it
 * (tests/e2e/test_diskfull.py). The hook runs after the commit is durable; like SQLite's
 * own autocheckpoint it ignores a failed checkpoint, which the next one retries. */
#define WAL_PAGES_MIN 256
#define WAL_PAGES_MAX 4096

static int low_on_disk(sqlite3 *db, const char *name, int frames)
{
    struct statvfs fs;
    const char *file = sqlite3_db_filename(db, name);
    return file == NULL || statvfs(file, &fs) != 0 ||
           (uint64_t)frames >= (uint64_t)fs.f_bavail * fs.f_frsize / 4096 / 8;
}

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
    tti_store *s = ctx;
    /* The WAL starts over after a complete checkpoint: then it holds only this commit. */
    int commit = frames >= s->wal_frames ? frames - s->wal_frames : frames;
    s->wal_frames = frames;
    if (frames < WAL_PAGES_MIN)
        return SQLITE_OK;
    int limit = commit < WAL_PAGES_MAX / 4 ? 4 * commit : WAL_PAGES_MAX;
    if (frames < limit && !low_on_disk(db, name, frames))
        return SQLITE_OK;
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static int configure(tti_store *s, const tti_store_config *cfg)
{
    sqlite3_busy_timeout(s->db, cfg->busy_timeout_ms);
    /* Readers find the store in WAL mode already; only the writer sets it (a reader
     * setting it would contend for the write lock). */
    if (cfg->read_only)
        return exec(s, "PRAGMA query_only=1", "configuring reader");
    /* Measured with bench_ledger at 1M events (issue 6): each 10,000-event transaction
     * dirties one index page per subject, about a thousand pages. cache_size 16 MiB keeps
     * those pages in memory between transactions (the default 2 MiB read them back every
     * time); journal_size_limit 64 MiB keeps the WAL file from being truncated and regrown
     * (a metadata journal commit per fsync) after every checkpoint. Checkpoints: wal_hook. */
    int rc = exec(s,
                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                  "PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-16384;",
                  "configuring store");
    if (rc == TT_OK)
        sqlite3_wal_hook(s->db, wal_hook, s);
    return rc;
}

static int sq_open(const char *uri, const tti_store_config *cfg, tti_store **out, char *err,
                   size_t errlen)
{
    const char *path = uri_path(uri);
    tti_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->names = tti_map_new(100000)) == NULL) {
        sq_close(s);
        return tti_err(err, errlen, TT_ENOMEM, "out of memory opening %s", path);
    }
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (cfg->create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = rc == SQLITE_CANTOPEN && !cfg->create
                 ? tti_err(err, errlen, TT_ENOTFOUND,
                           "cannot open %s: no ledger there; run `tradetrail init` first", path)
                 : tti_err(err, errlen, TT_EDB, "cannot open %s: %s", path,
                           s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sq_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    s->read_only = cfg->read_only;
    if ((rc = configure(s, cfg)) != TT_OK ||
        (!cfg->read_only && (rc = migrate(s, cfg->create, path)) != TT_OK))
        goto fail;
    for (int i = 0; i < S_COUNT; i++) {
        int prc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                                     NULL);
        if (prc != SQLITE_OK) {
            rc = fail(s, prc, "preparing statements (is this a tradetrail store?)");
            goto fail;
        }
    }
    *out = s;
    return TT_OK;
fail:
    tti_err(err, errlen, rc, "%s", s->errbuf);
    sq_close(s);
    return rc;
}

static const char *sq_errmsg(tti_store *s)
{
    return s->errbuf;
}

/* After a write failed for want of disk, the WAL holds frames that only a complete
 * checkpoint can recycle: truncate it first so freed space serves appends again without a
 * restart (SPEC 5). Failing here is fine: the next write reports the real state. */
static void recover_wal(tti_store *s)
{
    if (!s->hit_enospc)
        return;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc == SQLITE_OK)
        s->hit_enospc = 0;
}

static int sq_begin_write(tti_store *s)
{
    recover_wal(s);
    int rc = exec(s, "BEGIN IMMEDIATE", "taking the write lock");
    if (rc == TT_EBUSY)
        tti_err(s->errbuf, sizeof s->errbuf, rc,
                "the store stayed locked by another writer longer than the busy timeout");
    s->in_txn = rc == TT_OK;
    return rc;
}

static int sq_begin_read(tti_store *s)
{
    int rc = exec(s, "BEGIN", "starting a read");
    /* A deferred transaction takes its snapshot at the first read: read now. */
    if (rc == TT_OK)
        rc = exec(s, "SELECT 1 FROM head", "starting a read");
    s->in_txn = rc == TT_OK;
    return rc;
}

static int sq_commit(tti_store *s)
{
    int rc = exec(s, "COMMIT", "committing");
    if (rc != TT_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        tti_map_clear(s->names);
    }
    s->in_txn = 0;
    return rc;
}

static void sq_rollback(tti_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        /* Names inserted in a rolled-back write no longer exist. */
        if (!s->read_only)
            tti_map_clear(s->names);
    }
    s->in_txn = 0;
}

static int sq_read_head(tti_store *s, tti_head *out)
{
    sqlite3_stmt *st = stmt(s, S_HEAD_GET);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                                           "the ledger head row is missing")
                                 : fail(s, rc, "reading the ledger head");
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
    sqlite3_reset(st);
    return TT_OK;
}

static int sq_write_head(tti_store *s, const tti_head *h)
{
    sqlite3_stmt *st = stmt(s, S_HEAD_PUT);
    sqlite3_bind_int64(st, 1, h->size);
    if (h->last_ts_us != TT_TIME_NONE)
        sqlite3_bind_int64(st, 2, h->last_ts_us);
    sqlite3_bind_blob(st, 3, h->crange, (int)(h->n_crange * TT_HASH_SIZE), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? TT_OK : fail(s, rc, "writing the ledger head");
}

static int sq_idem_lookup(tti_store *s, const char *key, int64_t *seq, int64_t *ts_us,
                          uint8_t leaf[TT_HASH_SIZE])
{
    sqlite3_stmt *st = stmt(s, S_IDEM_GET);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return fail(s, rc, "looking up an idempotency key");
    *seq = sqlite3_column_int64(st, 0);
    *ts_us = sqlite3_column_int64(st, 1);
    if (sqlite3_column_bytes(st, 2) == TT_HASH_SIZE)
        memcpy(leaf, sqlite3_column_blob(st, 2), TT_HASH_SIZE);
    sqlite3_reset(st);
    return TT_OK;
}

/* The id of an interned value, inserting it when new. Cached: the hot path rarely reads. */
static int intern(tti_store *s, int kind, int64_t entity, const char *value, int64_t *id)
{
    char keybuf[TT_MAX_ENTITY_ID * 4 + 32];
    const char *key = value;
    if (kind == K_SUBJECT) {
        snprintf(keybuf, sizeof keybuf, "%lld/%s", (long long)entity, value);
        key = keybuf;
    }
    if (tti_map_get(s->names, kind, key, id))
        return TT_OK;
    int subj = kind == K_SUBJECT;
    sqlite3_stmt *st = stmt(s, subj ? S_SUBJ_GET : S_NAME_GET);
    sqlite3_bind_int64(st, 1, subj ? entity : kind);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
    } else if (rc == SQLITE_DONE) {
        st = stmt(s, subj ? S_SUBJ_PUT : S_NAME_PUT);
        sqlite3_bind_int64(st, 1, subj ? entity : kind);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            return fail(s, rc, "interning a name");
        *id = sqlite3_last_insert_rowid(s->db);
    } else {
        return fail(s, rc, "looking up a name");
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
    int rc = intern(s, K_STATUS, 0, value, &id);
    if (rc == TT_OK)
        sqlite3_bind_int64(st, col, id);
    return rc;
}

static void bind_text_opt(sqlite3_stmt *st, int col, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
}

static int insert_side_rows(tti_store *s, const tt_event *ev)
{
    int rc;
    if (ev->idempotency_key != NULL) {
        sqlite3_stmt *st = stmt(s, S_IDEM_PUT);
        sqlite3_bind_text(st, 1, ev->idempotency_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, ev->seq);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            return fail(s, rc, "recording an idempotency key");
    }
    if (ev->reason != NULL && ev->reason[0] != '\0') {
        sqlite3_stmt *st = stmt(s, S_FTS_PUT);
        sqlite3_bind_int64(st, 1, ev->seq);
        sqlite3_bind_text(st, 2, ev->reason, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            return fail(s, rc, "indexing the reason");
    }
    return TT_OK;
}

static int sq_insert_event(tti_store *s, const tt_event *ev)
{
    int64_t entity, subject, type, actor;
    int rc;
    if ((rc = intern(s, K_ENTITY, 0, ev->entity, &entity)) != TT_OK ||
        (rc = intern(s, K_SUBJECT, entity, ev->entity_id, &subject)) != TT_OK ||
        (rc = intern(s, K_TYPE, 0, ev->event_type, &type)) != TT_OK ||
        (rc = intern(s, K_ACTOR, 0, ev->actor, &actor)) != TT_OK)
        return rc;
    sqlite3_stmt *st = stmt(s, S_EVENT_PUT);
    if ((rc = intern_opt(s, ev->old_status, st, 7)) != TT_OK ||
        (rc = intern_opt(s, ev->new_status, st, 8)) != TT_OK)
        return rc;
    sqlite3_bind_int64(st, 1, ev->seq);
    sqlite3_bind_int64(st, 2, ev->ts_us);
    sqlite3_bind_int64(st, 3, entity);
    sqlite3_bind_int64(st, 4, subject);
    sqlite3_bind_int64(st, 5, type);
    sqlite3_bind_int64(st, 6, actor);
    bind_text_opt(st, 9, ev->reason);
    bind_text_opt(st, 10, ev->metadata);
    if (ev->occurred_at_us != TT_TIME_NONE)
        sqlite3_bind_int64(st, 11, ev->occurred_at_us);
    bind_text_opt(st, 12, ev->idempotency_key);
    sqlite3_bind_blob(st, 13, ev->leaf_hash, TT_HASH_SIZE, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return fail(s, rc, "inserting an event");
    return insert_side_rows(s, ev);
}

static int64_t tile_id(unsigned level, uint64_t index)
{
    return (int64_t)(((uint64_t)level << 56) | index);
}

static int sq_get_tile(tti_store *s, unsigned level, uint64_t index, uint8_t (*buf)[TT_HASH_SIZE],
                       size_t *n)
{
    sqlite3_stmt *st = stmt(s, S_TILE_GET);
    sqlite3_bind_int64(st, 1, tile_id(level, index));
    int rc = sqlite3_step(st);
    *n = 0;
    if (rc == SQLITE_DONE)
        return TT_OK;
    if (rc != SQLITE_ROW)
        return fail(s, rc, "reading a tree tile");
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

static int sq_put_tile(tti_store *s, unsigned level, uint64_t index,
                       const uint8_t (*hashes)[TT_HASH_SIZE], size_t n)
{
    sqlite3_stmt *st = stmt(s, S_TILE_PUT);
    sqlite3_bind_int64(st, 1, tile_id(level, index));
    sqlite3_bind_blob(st, 2, hashes, (int)(n * TT_HASH_SIZE), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? TT_OK : fail(s, rc, "writing a tree tile");
}

static int sq_put_checkpoint(tti_store *s, const tti_cp_row *cp)
{
    sqlite3_stmt *st = stmt(s, S_CP_PUT);
    sqlite3_bind_int64(st, 1, cp->tree_size);
    sqlite3_bind_int64(st, 2, cp->ts_us);
    sqlite3_bind_blob(st, 3, cp->root, TT_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, cp->note, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? TT_OK : fail(s, rc, "storing a checkpoint");
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

static int sq_latest_checkpoint(tti_store *s, tti_cp_row *out)
{
    sqlite3_stmt *st = stmt(s, S_CP_LATEST);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return fail(s, rc, "reading the latest checkpoint");
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

static int new_iter(tti_store *s, const char *sql, int kind, tti_store_iter **out)
{
    tti_store_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    it->s = s;
    it->kind = kind;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &it->st, NULL);
    if (rc != SQLITE_OK) {
        free(it);
        return fail(s, rc, "preparing a query");
    }
    *out = it;
    return TT_OK;
}

static int sq_checkpoints_iter(tti_store *s, tti_store_iter **out)
{
    return new_iter(s, "SELECT tree_size, ts, root, note FROM checkpoints ORDER BY tree_size", 1,
                    out);
}

static int sq_checkpoints_next(tti_store_iter *it, tti_cp_row *out)
{
    int rc = sqlite3_step(it->st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return fail(it->s, rc, "reading checkpoints");
    return read_cp(it->s, it->st, out);
}

static int sq_meta_get(tti_store *s, const char *key, char **value)
{
    sqlite3_stmt *st = stmt(s, S_META_GET);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return fail(s, rc, "reading store settings");
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (v == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    *value = v;
    return TT_OK;
}

static int sq_meta_set(tti_store *s, const char *key, const char *value)
{
    sqlite3_stmt *st = stmt(s, S_META_PUT);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? TT_OK : fail(s, rc, "writing store settings");
}

/* Event rows carry interned ids; the iterator resolves them from a cache that lives as
 * long as the iterator (scan_name below): five joins to names per row were two thirds of
 * verify's time and most of a 100-row history query's seeks. */
#define EVENT_SELECT                                                                               \
    "SELECT e.seq, e.ts, e.entity, e.subject, e.event_type, e.actor, e.old_status, "               \
    "e.new_status, e.reason, e.metadata, e.occurred_at, e.idem, e.leaf_hash "
#define EVENT_COLUMNS EVENT_SELECT "FROM events e "
/* A search walks the reason index newest (or oldest) first and stops at the limit, instead
 * of collecting every match before sorting: the index is the outer loop. */
#define SEARCH_COLUMNS EVENT_SELECT "FROM events_fts f CROSS JOIN events e ON e.seq = f.rowid "

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* The cache of names is never kept across iterators, so a names row changed on disk is
 * read afresh by the next verify. */
static int sq_scan(tti_store *s, int64_t first, tti_store_iter **out)
{
    int rc = new_iter(s, EVENT_COLUMNS "WHERE e.seq >= ?1 ORDER BY e.seq", 2, out);
    if (rc == TT_OK)
        sqlite3_bind_int64((*out)->st, 1, first);
    return rc;
}

/* A name id no names row holds: the event cannot be what was hashed, and verify must say
 * so at this seq, so the text is one no name can be (a C0 control character). */
static const char missing_name[] = "\x01(missing interned name)";

/* The text of the row with this id, copied into *out; *out = NULL when no row has it. */
static int read_by_id(tti_store_iter *it, const char *sql, int64_t id, const char *what, char **out)
{
    int rc = TT_OK;
    *out = NULL;
    sqlite3_stmt *st = tti_sqlite_stmt(it->s, sql, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *out = strdup(col_text(st, 0) ? col_text(st, 0) : "");
    /* Reset at once: a statement left on a row holds its read snapshot, and this
     * connection goes back to the reader pool after the scan. */
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return fail(it->s, step, what);
    if (step == SQLITE_ROW && *out == NULL)
        return tti_err(it->s->errbuf, sizeof it->s->errbuf, TT_ENOMEM, "out of memory");
    return TT_OK;
}

static const char *scan_name(tti_store_iter *it, int col, int *rc)
{
    if (sqlite3_column_type(it->st, col) == SQLITE_NULL)
        return NULL;
    int64_t id = sqlite3_column_int64(it->st, col);
    if (id > 0 && (uint64_t)id < it->n_names && it->names[id] != NULL)
        return it->names[id];
    char *v;
    int r =
        read_by_id(it, "SELECT value FROM names WHERE id = ?1", id, "reading an interned name", &v);
    if (r != TT_OK) {
        *rc = r;
        return NULL;
    }
    if (v == NULL || id <= 0 || id >= (1 << 24)) { /* not cached: odd ids are rare */
        free(v);
        return missing_name;
    }
    if ((uint64_t)id >= it->n_names) {
        size_t n = (size_t)id * 2 + 16;
        char **grown = realloc(it->names, n * sizeof *grown);
        if (grown == NULL) {
            free(v);
            *rc = tti_err(it->s->errbuf, sizeof it->s->errbuf, TT_ENOMEM, "out of memory");
            return NULL;
        }
        memset(grown + it->n_names, 0, (n - it->n_names) * sizeof *grown);
        it->names = grown;
        it->n_names = n;
    }
    return it->names[id] = v;
}

/* Subjects (entity ids) can number millions, so their cache is a fixed direct-mapped
 * table: a scan over few subjects (a verify of a strategy ledger) looks each up once, and a
 * scan over many costs what the join it replaces cost, one seek per row. A query needs no
 * more slots than rows (subject_slots): a 100-row page does not clear and free 4096. */
#define SUBJ_SLOTS 4096

static size_t subject_slots(size_t rows)
{
    size_t n = 16;
    while (n < rows && n < SUBJ_SLOTS)
        n *= 2;
    return n;
}

struct subj_slot {
    int64_t id;
    char *value;
};

static const char *scan_subject(tti_store_iter *it, int *rc)
{
    int64_t id = sqlite3_column_int64(it->st, 3);
    if (it->n_subj_slots == 0)
        it->n_subj_slots = SUBJ_SLOTS;
    if (it->subjects == NULL &&
        (it->subjects = calloc(it->n_subj_slots, sizeof *it->subjects)) == NULL) {
        *rc = tti_err(it->s->errbuf, sizeof it->s->errbuf, TT_ENOMEM, "out of memory");
        return NULL;
    }
    struct subj_slot *slot = &it->subjects[(uint64_t)id % it->n_subj_slots];
    if (slot->value != NULL && slot->id == id)
        return slot->value;
    char *v;
    int r = read_by_id(it, "SELECT entity_id FROM subjects WHERE id = ?1", id,
                       "reading an entity id", &v);
    if (r != TT_OK) {
        *rc = r;
        return NULL;
    }
    if (v == NULL)
        return missing_name;
    free(slot->value);
    slot->id = id;
    return slot->value = v;
}

static int scan_names(tti_store_iter *it, tt_event *e)
{
    int rc = TT_OK;
    e->entity_id = scan_subject(it, &rc);
    e->entity = scan_name(it, 2, &rc);
    e->event_type = scan_name(it, 4, &rc);
    e->actor = scan_name(it, 5, &rc);
    e->old_status = scan_name(it, 6, &rc);
    e->new_status = scan_name(it, 7, &rc);
    return rc;
}

/* Look up an interned id without inserting; 0 when the name was never recorded. */
static int lookup_name(tti_store *s, int kind, const char *value, int64_t *id)
{
    if (tti_map_get(s->names, kind, value, id))
        return TT_OK;
    sqlite3_stmt *st = stmt(s, S_NAME_GET);
    sqlite3_bind_int64(st, 1, kind);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *id = 0;
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        return fail(s, rc, "looking up a name");
    sqlite3_reset(st);
    return TT_OK;
}

#define MAX_SUBJECTS 32

typedef struct qbuild {
    char sql[4096];
    size_t len;
    int64_t ints[TT_MAX_QUERY_TYPES + MAX_SUBJECTS + 16];
    int nints;
    const char *texts[4];
    int ntexts;
    int empty;          /* a filter names something never recorded: no rows */
    const char *seqcol; /* the column the walk is ordered by */
    size_t limit;       /* rows at most */
} qbuild;

static void qadd(qbuild *b, const char *frag)
{
    size_t n = strlen(frag);
    if (b->len + n < sizeof b->sql) {
        memcpy(b->sql + b->len, frag, n + 1);
        b->len += n;
    }
}

/* Integer parameters are numbered ?1..; text parameters from ?100 on. Only fixed SQL
 * fragments and parameter numbers go into the text; every value is bound. */
static void qparam(qbuild *b, const char *before, int num, const char *after)
{
    char frag[24];
    snprintf(frag, sizeof frag, "?%d", num);
    qadd(b, before);
    qadd(b, frag);
    qadd(b, after);
}

static void qint(qbuild *b, const char *before, int64_t v)
{
    b->ints[b->nints++] = v;
    qparam(b, before, b->nints, "");
}

static void qtext(qbuild *b, const char *before, const char *v, const char *after)
{
    b->texts[b->ntexts++] = v;
    qparam(b, before, b->ntexts + 99, after);
}

static int q_name_filter(tti_store *s, qbuild *b, int kind, const char *value, const char *col)
{
    if (value == NULL)
        return TT_OK;
    int64_t id;
    int rc = lookup_name(s, kind, value, &id);
    if (rc != TT_OK)
        return rc;
    if (id == 0)
        b->empty = 1;
    qadd(b, " AND ");
    qint(b, col, id);
    return TT_OK;
}

static int q_types(tti_store *s, qbuild *b, const tt_query *q, int unindexed)
{
    if (q->n_event_types == 0)
        return TT_OK;
    int any = 0;
    qadd(b, unindexed ? " AND +e.event_type IN (" : " AND e.event_type IN (");
    for (size_t i = 0; i < q->n_event_types && i < TT_MAX_QUERY_TYPES; i++) {
        int64_t id;
        int rc = lookup_name(s, K_TYPE, q->event_types[i], &id);
        if (rc != TT_OK)
            return rc;
        any |= id != 0;
        qint(b, i ? "," : "", id);
    }
    qadd(b, ")");
    if (!any)
        b->empty = 1;
    return TT_OK;
}

static int sq_seq_at_ts(tti_store *s, int64_t ts_us, int64_t *seq);

/* One bound on the column that orders the walk (e.seq, or f.rowid when the reason index is
 * the outer loop, so FTS5 can seek to it instead of filtering every match). */
static void q_seq_bound(qbuild *b, const char *op, int64_t v)
{
    char frag[48];
    snprintf(frag, sizeof frag, " AND %s %s ", b->seqcol, op);
    qint(b, frag, v);
}

static int q_seq_bounds(tti_store *s, qbuild *b, const tt_query *q)
{
    int64_t seq;
    int rc;
    if (q->since_us != TT_TIME_NONE) {
        if ((rc = sq_seq_at_ts(s, q->since_us, &seq)) != TT_OK)
            return rc;
        q_seq_bound(b, ">=", seq);
    }
    if (q->until_us != TT_TIME_NONE) {
        if ((rc = sq_seq_at_ts(s, q->until_us, &seq)) != TT_OK)
            return rc;
        q_seq_bound(b, "<", seq);
    }
    if (q->after_seq > 0)
        q_seq_bound(b, ">", q->after_seq);
    if (q->before_seq > 0)
        q_seq_bound(b, "<", q->before_seq);
    return TT_OK;
}

/* The subjects (interned entity/entity_id pairs) an entity_id filter names, bound as
 * integers so the planner walks the per-subject index in seq order. *n = -1 when there
 * are too many to list (then a subquery is used). */
static int find_subjects(tti_store *s, const tt_query *q, int64_t *ids, int *n)
{
    int64_t entity = 0;
    int rc = q->entity ? lookup_name(s, K_ENTITY, q->entity, &entity) : TT_OK;
    *n = 0;
    if (rc != TT_OK || (q->entity && entity == 0))
        return rc;
    sqlite3_stmt *st = tti_sqlite_stmt(
        s, "SELECT id FROM subjects WHERE entity_id = ?1 AND (?2 = 0 OR entity = ?2)", &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_text(st, 1, q->entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, entity);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == MAX_SUBJECTS) {
            *n = -1;
            break;
        }
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? TT_OK : fail(s, rc, "looking up an entity id");
}

static int q_subjects(tti_store *s, qbuild *b, const tt_query *q)
{
    int64_t ids[MAX_SUBJECTS];
    int n;
    int rc = find_subjects(s, q, ids, &n);
    if (rc != TT_OK)
        return rc;
    if (n < 0) {
        qtext(b, " AND e.subject IN (SELECT id FROM subjects WHERE entity_id = ", q->entity_id,
              ")");
        return TT_OK;
    }
    if (n == 0) {
        b->empty = 1;
        return TT_OK;
    }
    qadd(b, " AND e.subject IN (");
    for (int i = 0; i < n; i++)
        qint(b, i ? "," : "", ids[i]);
    qadd(b, ")");
    return TT_OK;
}

/* The search terms of q->text: NULL when there is no text filter; b->empty when the words
 * hold no token (only punctuation), which nothing matches. */
static int q_terms(tti_store *s, const tt_query *q, qbuild *b, char **fts)
{
    *fts = NULL;
    if (q->text == NULL || q->text[strspn(q->text, " \t\r\n")] == '\0')
        return TT_OK;
    int n = 0;
    int rc = tti_sqlite_fts_terms(s, q->text, fts, &n);
    if (rc == TT_OK && n == 0)
        b->empty = 1;
    return rc;
}

static int build_query(tti_store *s, const tt_query *q, qbuild *b, char **fts)
{
    int rc;
    /* With an entity_id, the per-subject index is the one to walk: the unary + keeps the
     * planner from choosing a low-selectivity index (entity, type, actor) instead. Without
     * one, a search walks the reason index (SEARCH_COLUMNS) and checks the rest per row. */
    int by_subject = q->entity_id != NULL;
    if ((rc = q_terms(s, q, b, fts)) != TT_OK)
        return rc;
    int by_text = *fts != NULL && !by_subject;
    b->seqcol = by_text ? "f.rowid" : "e.seq";
    qadd(b, by_text ? SEARCH_COLUMNS "WHERE events_fts MATCH ?100" : EVENT_COLUMNS "WHERE 1");
    if (by_text)
        b->texts[b->ntexts++] = *fts;
    if (by_subject && (rc = q_subjects(s, b, q)) != TT_OK)
        return rc;
    if ((!by_subject && (rc = q_name_filter(s, b, K_ENTITY, q->entity, "e.entity = ")) != TT_OK) ||
        (rc = q_types(s, b, q, by_subject)) != TT_OK ||
        (rc = q_name_filter(s, b, K_ACTOR, q->actor, by_subject ? "+e.actor = " : "e.actor = ")) !=
            TT_OK ||
        (rc = q_seq_bounds(s, b, q)) != TT_OK)
        return rc;
    if (*fts != NULL && by_subject)
        qtext(b, " AND e.seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ", *fts, ")");
    qadd(b, " ORDER BY ");
    qadd(b, b->seqcol);
    qadd(b, q->order == TT_ORDER_DESC ? " DESC" : " ASC");
    b->limit = q->limit ? q->limit : 100;
    qint(b, " LIMIT ", (int64_t)b->limit);
    return TT_OK;
}

static int sq_query(tti_store *s, const tt_query *q, tti_store_iter **out)
{
    qbuild b;
    memset(&b, 0, sizeof b);
    char *fts = NULL;
    int rc = build_query(s, q, &b, &fts);
    if (rc == TT_OK)
        rc = new_iter(s, b.sql, 2, out);
    if (rc != TT_OK) {
        free(fts);
        return rc;
    }
    for (int i = 0; i < b.nints; i++)
        sqlite3_bind_int64((*out)->st, i + 1, b.ints[i]);
    for (int i = 0; i < b.ntexts; i++)
        sqlite3_bind_text((*out)->st, i + 100, b.texts[i], -1, SQLITE_TRANSIENT);
    free(fts);
    (*out)->empty = b.empty;
    (*out)->n_subj_slots = subject_slots(b.limit);
    return TT_OK;
}

static int sq_iter_next(tti_store_iter *it, const tt_event **ev)
{
    if (it->empty)
        return TT_ENOTFOUND;
    int rc = sqlite3_step(it->st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return fail(it->s, rc, "reading events");
    sqlite3_stmt *st = it->st;
    tt_event *e = &it->ev;
    e->seq = sqlite3_column_int64(st, 0);
    e->ts_us = sqlite3_column_int64(st, 1);
    if ((rc = scan_names(it, e)) != TT_OK)
        return rc;
    e->reason = col_text(st, 8);
    e->metadata = col_text(st, 9);
    e->occurred_at_us =
        sqlite3_column_type(st, 10) == SQLITE_NULL ? TT_TIME_NONE : sqlite3_column_int64(st, 10);
    e->idempotency_key = col_text(st, 11);
    memset(e->leaf_hash, 0, TT_HASH_SIZE);
    if (sqlite3_column_bytes(st, 12) == TT_HASH_SIZE)
        memcpy(e->leaf_hash, sqlite3_column_blob(st, 12), TT_HASH_SIZE);
    *ev = e;
    return TT_OK;
}

static void sq_iter_free(tti_store_iter *it)
{
    if (it == NULL)
        return;
    sqlite3_finalize(it->st);
    for (size_t i = 0; i < it->n_names; i++)
        free(it->names[i]);
    free(it->names);
    if (it->subjects != NULL)
        for (size_t i = 0; i < it->n_subj_slots; i++)
            free(it->subjects[i].value);
    free(it->subjects);
    free(it);
}

static int sq_event_extent(tti_store *s, int64_t *max_seq, int64_t *count)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT coalesce(max(seq), 0), count(*) FROM events", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "counting events");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *max_seq = sqlite3_column_int64(st, 0);
        *count = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? TT_OK : fail(s, rc, "counting events");
}

/* ts never decreases along seq (SPEC 3.1), so a time bound is a binary search over the
 * primary key instead of another index to maintain on every append. */
static int sq_seq_at_ts(tti_store *s, int64_t ts_us, int64_t *seq)
{
    tti_head h;
    int rc = sq_read_head(s, &h);
    if (rc != TT_OK)
        return rc;
    int64_t lo = 1, hi = h.size + 1; /* answer in [lo, hi] */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        sqlite3_stmt *st = stmt(s, S_TS_AT);
        sqlite3_bind_int64(st, 1, mid);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return fail(s, rc, "searching by time");
        /* A missing row (archived or tampered) sorts with its neighbours: treat as early. */
        int64_t ts = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MIN;
        sqlite3_reset(st);
        if (ts >= ts_us)
            hi = mid;
        else
            lo = mid + 1;
    }
    *seq = lo;
    return TT_OK;
}

static int sq_count_by(tti_store *s, int what, tt_count **out, size_t *n)
{
    const char *sql = what == TTI_COUNT_ENTITY
                          ? "SELECT n.value, c FROM (SELECT entity AS k, count(*) AS c FROM "
                            "events GROUP BY entity) JOIN names n ON n.id = k ORDER BY c DESC, "
                            "n.value"
                          : "SELECT n.value, c FROM (SELECT event_type AS k, count(*) AS c FROM "
                            "events GROUP BY event_type) JOIN names n ON n.id = k ORDER BY c "
                            "DESC, n.value";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "counting events");
    tt_count *arr = NULL;
    size_t cnt = 0, cap = 0;
    int status = TT_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            tt_count *na = realloc(arr, cap * sizeof *na);
            if (na == NULL) {
                status = TT_ENOMEM;
                break;
            }
            arr = na;
        }
        arr[cnt].name = strdup(col_text(st, 0));
        arr[cnt].count = sqlite3_column_int64(st, 1);
        if (arr[cnt].name == NULL) {
            status = TT_ENOMEM;
            break;
        }
        cnt++;
    }
    if (status == TT_OK && rc != SQLITE_DONE)
        status = fail(s, rc, "counting events");
    sqlite3_finalize(st);
    if (status != TT_OK) {
        for (size_t i = 0; i < cnt; i++)
            free(arr[i].name);
        free(arr);
        return status == TT_ENOMEM ? tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM,
                                             "out of memory counting events")
                                   : status;
    }
    *out = arr;
    *n = cnt;
    return TT_OK;
}

static int sq_token_insert(tti_store *s, const char *name, int role, const uint8_t hash[32],
                           int64_t created_us, int64_t *id)
{
    sqlite3_stmt *st = stmt(s, S_TOKEN_PUT);
    bind_text_opt(st, 1, name);
    sqlite3_bind_int(st, 2, role);
    sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, created_us);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, "storing a token");
    *id = sqlite3_last_insert_rowid(s->db);
    return TT_OK;
}

/* Fill a token row; the name is copied. */
static int read_token(tti_store *s, sqlite3_stmt *st, tt_token_info *out, uint8_t *hash)
{
    const char *name = col_text(st, 1);
    out->id = sqlite3_column_int64(st, 0);
    out->name = name ? strdup(name) : NULL;
    out->role = (tt_role)sqlite3_column_int(st, 2);
    out->created_us = sqlite3_column_int64(st, 3);
    out->revoked_us =
        sqlite3_column_type(st, 4) == SQLITE_NULL ? TT_TIME_NONE : sqlite3_column_int64(st, 4);
    if (hash != NULL && sqlite3_column_bytes(st, 5) == 32)
        memcpy(hash, sqlite3_column_blob(st, 5), 32);
    if (name != NULL && out->name == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    return TT_OK;
}

static int token_one(tti_store *s, sqlite3_stmt *st, tt_token_info *out, uint8_t *hash)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return fail(s, rc, "reading a token");
    rc = read_token(s, st, out, hash);
    sqlite3_reset(st);
    return rc;
}

static int sq_token_find(tti_store *s, const uint8_t hash[32], tt_token_info *out,
                         uint8_t stored_hash[32])
{
    sqlite3_stmt *st = stmt(s, S_TOKEN_FIND);
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    return token_one(s, st, out, stored_hash);
}

static int sq_token_get(tti_store *s, int64_t id, tt_token_info *out)
{
    sqlite3_stmt *st = stmt(s, S_TOKEN_GET);
    sqlite3_bind_int64(st, 1, id);
    return token_one(s, st, out, NULL);
}

static int sq_token_revoke(tti_store *s, int64_t id, int64_t revoked_us)
{
    sqlite3_stmt *st = stmt(s, S_TOKEN_REVOKE);
    sqlite3_bind_int64(st, 1, revoked_us);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, "revoking a token");
    return sqlite3_changes(s->db) == 1 ? TT_OK : TT_ENOTFOUND;
}

static int sq_token_list(tti_store *s, tt_token_info **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db, "SELECT id, name, role, created, revoked, hash FROM tokens ORDER BY id", -1, &st,
        NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "listing tokens");
    tt_token_info *arr = NULL;
    size_t cnt = 0, cap = 0;
    int status = TT_OK;
    while (status == TT_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 8;
            tt_token_info *na = realloc(arr, cap * sizeof *na);
            if (na == NULL) {
                status = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
                break;
            }
            arr = na;
        }
        status = read_token(s, st, &arr[cnt], NULL);
        cnt += status == TT_OK;
    }
    if (status == TT_OK && rc != SQLITE_DONE)
        status = fail(s, rc, "listing tokens");
    sqlite3_finalize(st);
    if (status != TT_OK) {
        tt_token_list_free(arr, cnt);
        return status;
    }
    *out = arr;
    *n = cnt;
    return TT_OK;
}

const tti_store_ops tti_sqlite_ops = {
    .name = "sqlite",
    .accepts = sq_accepts,
    .open = sq_open,
    .close = sq_close,
    .errmsg = sq_errmsg,
    .begin_write = sq_begin_write,
    .begin_read = sq_begin_read,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .read_head = sq_read_head,
    .write_head = sq_write_head,
    .idem_lookup = sq_idem_lookup,
    .insert_event = sq_insert_event,
    .get_tile = sq_get_tile,
    .put_tile = sq_put_tile,
    .put_checkpoint = sq_put_checkpoint,
    .latest_checkpoint = sq_latest_checkpoint,
    .checkpoints_iter = sq_checkpoints_iter,
    .checkpoints_next = sq_checkpoints_next,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .query = sq_query,
    .scan = sq_scan,
    .iter_next = sq_iter_next,
    .iter_free = sq_iter_free,
    .event_extent = sq_event_extent,
    .seq_at_ts = sq_seq_at_ts,
    .count_by = sq_count_by,
    .token_insert = sq_token_insert,
    .token_find = sq_token_find,
    .token_get = sq_token_get,
    .token_revoke = sq_token_revoke,
    .token_list = sq_token_list,
    .strategy = &tti_sqlite_strategy_ops,
    .domain = &tti_sqlite_domain_ops,
    .jobs = &tti_sqlite_jobs_ops,
    .notify = &tti_sqlite_notify_ops,
};

const tti_store_ops *tti_store_override;

const tti_store_ops *tti_store_backend(const char *uri)
{
    if (tti_store_override != NULL)
        return tti_store_override;
    if (tti_sqlite_ops.accepts(uri))
        return &tti_sqlite_ops;
    return NULL;
}

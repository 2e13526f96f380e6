/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite backend's connection: one file in WAL mode with synchronous=FULL, opened,
 * configured and migrated here, with transactions, error conversion, the prepared-statement
 * caches and the table of operations whose other entries live in sqlite_log.c (writes of
 * the log), sqlite_query.c (reads), sqlite_tokens.c and the domain files. Keys that repeat
 * are interned into small tables so event rows stay compact; tree nodes live in tiles of
 * 256 hashes; FTS5 indexes reasons. Triggers refuse UPDATE and DELETE on events and
 * checkpoints (DELETE of an event inside a recorded archive segment excepted, SPEC 8). Only
 * src/store/sqlite*.c include sqlite3.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store/records.h"
#include "store/sqlite_internal.h"
#include "util/config.h"
#include "util/err.h"
#include "util/map.h"

#define SCHEMA_VERSION 14

_Static_assert(TTI_ST_COUNT <= TTI_SQLITE_CORE_STMTS, "raise TTI_SQLITE_CORE_STMTS");

static const char *const stmt_sql[TTI_ST_COUNT] = {
    [TTI_ST_HEAD_GET] =
        "SELECT size, last_ts, crange, signed_size, checkpoints FROM head WHERE id = 1",
    [TTI_ST_HEAD_PUT] = "INSERT OR REPLACE INTO head(id, size, last_ts, crange, signed_size, "
                        "checkpoints) VALUES (1, ?, ?, ?, ?, ?)",
    [TTI_ST_IDEM_GET] =
        "SELECT i.seq, e.ts, e.leaf_hash, e.principal FROM idem i JOIN events e ON e.seq = i.seq "
        "WHERE i.key = ?",
    [TTI_ST_IDEM_PUT] = "INSERT INTO idem(key, seq) VALUES (?, ?)",
    [TTI_ST_EVENT_PUT] =
        "INSERT INTO events(seq, ts, entity, subject, event_type, actor, old_status, "
        "new_status, reason, metadata, occurred_at, idem, leaf_hash, principal, producer, "
        "producer_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [TTI_ST_FTS_PUT] = "INSERT INTO events_fts(rowid, reason) VALUES (?, ?)",
    [TTI_ST_NAME_GET] = "SELECT id FROM names WHERE kind = ? AND value = ?",
    [TTI_ST_NAME_PUT] = "INSERT INTO names(kind, value) VALUES (?, ?)",
    [TTI_ST_SUBJ_GET] = "SELECT id FROM subjects WHERE entity = ? AND entity_id = ?",
    [TTI_ST_SUBJ_PUT] = "INSERT INTO subjects(entity, entity_id) VALUES (?, ?)",
    [TTI_ST_TILE_GET] = "SELECT hashes FROM tiles WHERE id = ?",
    [TTI_ST_TILE_PUT] = "INSERT OR REPLACE INTO tiles(id, hashes) VALUES (?, ?)",
    [TTI_ST_CP_PUT] = "INSERT INTO checkpoints(tree_size, ts, root, note) VALUES (?, ?, ?, ?)",
    [TTI_ST_CP_LATEST] = "SELECT tree_size, ts, root, note FROM checkpoints "
                         "ORDER BY tree_size DESC LIMIT 1",
    [TTI_ST_META_GET] = "SELECT value FROM meta WHERE key = ?",
    [TTI_ST_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
    /* The first stored row at or after seq: rows retention removed take their successor's
     * ts, which keeps the search monotonic (sqlite_query.c: tti_sqlite_seq_at_ts). */
    [TTI_ST_TS_AT] = "SELECT ts FROM events WHERE seq >= ? ORDER BY seq LIMIT 1",
    [TTI_ST_TOKEN_PUT] = "INSERT INTO tokens(name, role, hash, created) VALUES (?, ?, ?, ?)",
    [TTI_ST_TOKEN_FIND] =
        "SELECT id, name, role, created, revoked, hash FROM tokens WHERE hash = ?",
    [TTI_ST_TOKEN_GET] = "SELECT id, name, role, created, revoked, hash FROM tokens WHERE id = ?",
    [TTI_ST_TOKEN_REVOKE] = "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
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

/* Who appended each event (SPEC 3.1 principal); NULL on rows from before, whose leaves are
 * version 1 (docs/FORMAT.md). */
static const char schema_principal[] = "ALTER TABLE events ADD COLUMN principal TEXT;";

/* Version 8: the head records what checkpoint signing stored (SPEC 4: removing every
 * checkpoint, or one, is detected by verify). */
static const char schema_head_checkpoints[] =
    "ALTER TABLE head ADD COLUMN signed_size INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE head ADD COLUMN checkpoints INTEGER NOT NULL DEFAULT 0;"
    "UPDATE head SET signed_size = COALESCE((SELECT max(tree_size) FROM checkpoints), 0),"
    " checkpoints = (SELECT count(*) FROM checkpoints);";

/* Each entry upgrades the schema by one version; the domain parts live with their code. */
static const char *const migrations[] = {schema_v1,
                                         tti_sqlite_schema_strategy,
                                         tti_sqlite_schema_domain,
                                         tti_sqlite_schema_jobs,
                                         tti_sqlite_schema_notify,
                                         tti_sqlite_schema_search,
                                         schema_principal,
                                         schema_head_checkpoints,
                                         tti_sqlite_schema_search_prefix,
                                         tti_sqlite_schema_search_vocab,
                                         tti_sqlite_schema_producer,
                                         tti_sqlite_schema_archive,
                                         tti_sqlite_schema_outbox_telegram,
                                         tti_sqlite_schema_subjects};
_Static_assert(sizeof migrations / sizeof migrations[0] == SCHEMA_VERSION,
               "one migration per schema version");

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

sqlite3_stmt *tti_sqlite_stmt(tti_store *s, const char *sql, int *rc)
{
    return tti_sqlite_stmt_keyed(s, sql, sql, rc);
}

sqlite3_stmt *tti_sqlite_stmt_keyed(tti_store *s, const char *key, const char *sql, int *rc)
{
    for (int i = 0; i < s->n_cache; i++)
        if (s->cache[i].sql == key) {
            sqlite3_reset(s->cache[i].st);
            sqlite3_clear_bindings(s->cache[i].st);
            return s->cache[i].st;
        }
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (prc != SQLITE_OK) {
        *rc = tti_sqlite_fail(s, prc, "preparing a statement");
        return NULL;
    }
    if (s->n_cache < TTI_SQLITE_CACHE) {
        s->cache[s->n_cache].sql = key;
        s->cache[s->n_cache++].st = st;
    } else {
        /* Cache full: keep this one as the overflow slot's replacement. */
        sqlite3_finalize(s->cache[TTI_SQLITE_CACHE - 1].st);
        s->cache[TTI_SQLITE_CACHE - 1].sql = key;
        s->cache[TTI_SQLITE_CACHE - 1].st = st;
    }
    return st;
}

static int exec(tti_store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TT_OK : tti_sqlite_fail(s, rc, what);
}

static int migrate(tti_store *s, int create, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return tti_sqlite_fail(s, rc, "reading schema version");
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
    tti_sqlite_ckpt_stop(s);
    for (int i = 0; i < TTI_ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int i = 0; i < s->n_cache; i++)
        sqlite3_finalize(s->cache[i].st);
    sqlite3_close_v2(s->db);
    tti_map_free(s->names);
    free(s);
}

/* When to copy the WAL into the database file. Each checkpoint syncs that file, and a page
 * changed by several commits is copied once per checkpoint; but a large checkpoint took
 * long. Measured (issue 6), when checkpoints ran on the writer's thread: at a fixed 256
 * pages (1 MiB) a checkpoint followed every 1,000-event commit and cost the server a fifth
 * of its NDJSON rate; at a fixed 4096 pages the p99 of single-event appends rose by about 2
 * ms. So a checkpoint is asked for when four times the last commit's pages are waiting, at
 * least 1024 (4 MiB) and at most 4096 (16 MiB): large commits share one among four. Since
 * checkpoints run on the checkpointer's thread (sqlite_checkpoint.c) while the writer goes
 * on, the floor was raised from 256 pages: a group of ~30 single-event appends dirties ~70
 * pages, most of them index pages of distinct subjects, so four groups' checkpoint copied
 * nearly every frame, where sixteen share more of them (4 interleaved pairs of single-event
 * HTTP loads: 12.5-14.0k appends/s at 256 against 14.2-15.8k at 1024, p99 13-28 against
 * 13.7-15.8 ms; 2048 gave no more and a worse p99). The writer checkpoints itself, after
 * the checkpointer has finished, only when the WAL holds twice the limit, at least 4096
 * pages (commits kept landing during every checkpoint, so the WAL never started over:
 * copying the rest itself lets the next commit start it over, within 16 MiB for small
 * commits and 32 MiB for large ones) or more than an eighth of the disk's free space: after
 * a disk-full error the checkpoint is what makes room, and freeing a megabyte or two must
 * be enough for it (tests/e2e/test_diskfull.py). The hook runs after the commit is durable;
 * like SQLite's own autocheckpoint it ignores a failed checkpoint, which the next one
 * retries. */
#define WAL_PAGES_MIN 1024
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
    int restarted = frames < s->wal_frames;
    int commit = restarted ? frames : frames - s->wal_frames;
    s->wal_frames = frames;
    if (frames < WAL_PAGES_MIN)
        return SQLITE_OK;
    int limit = commit < WAL_PAGES_MAX / 4 ? 4 * commit : WAL_PAGES_MAX;
    if (limit < WAL_PAGES_MIN)
        limit = WAL_PAGES_MIN;
    int hard = 2 * limit < WAL_PAGES_MAX ? WAL_PAGES_MAX : 2 * limit;
    if (frames < hard && !low_on_disk(db, name, frames) &&
        (tti_sqlite_ckpt_ask(s, frames, limit, restarted) || frames < limit))
        return SQLITE_OK;
    tti_sqlite_ckpt_wait(s);
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
     * dirtied one index page per subject, about a thousand pages (as the move of the
     * recent subject entries still does: sqlite_subjects.c). cache_size 16 MiB keeps
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

/* SPEC 15: the ledger NAME of the store PATH lives beside it, in PATH without its ".db"
 * followed by "-NAME.db" (ledger.db, ledger-paper.db), so a copy of the directory holds
 * every ledger and each file is a whole ledger of its own. */
static int ns_path(const char *path, const char *ns, char *out, size_t cap, char *err,
                   size_t errlen)
{
    size_t n = strlen(path);
    if (n >= 3 && strcmp(path + n - 3, ".db") == 0)
        n -= 3;
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return tti_err(err, errlen, TT_EINVAL, "ledger %s: a named ledger needs a file store", ns);
    if (snprintf(out, cap, "%.*s-%s.db", (int)n, path, ns) >= (int)cap)
        return tti_err(err, errlen, TT_EINVAL, "ledger %s: the store path is too long", ns);
    return TT_OK;
}

/* SQLite counts every allocation in global statistics under one process-wide mutex
 * (SQLITE_CONFIG_MEMSTATUS, on in Debian's build), so every malloc and free of every
 * connection, on every thread, takes that lock; nothing here reads the statistics (perf:
 * 8 % of verify's samples were that lock, 5-12 % less server CPU per HTTP append
 * without it, paired runs). It can only be turned off before SQLite initialises: where the host
 * program used SQLite first, sqlite3_config refuses and the statistics stay on, which is harmless.
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static const char *writer_vfs; /* sqlite_vfs.c; NULL: the default */

static void sqlite_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    writer_vfs = tti_sqlite_gather_vfs();
}

static int sq_open(const char *uri, const tti_store_config *cfg, tti_store **out, char *err,
                   size_t errlen)
{
    const char *path = uri_path(uri);
    char named[4096];
    if (cfg->ns != NULL) {
        int nrc = ns_path(path, cfg->ns, named, sizeof named, err, errlen);
        if (nrc != TT_OK)
            return nrc;
        path = named;
    }
    tti_store *s = calloc(1, sizeof *s);
    if (s != NULL)
        s->recent_rows = s->move_after = -1;
    if (s == NULL || (s->names = tti_map_new(100000)) == NULL) {
        sq_close(s);
        return tti_err(err, errlen, TT_ENOMEM, "out of memory opening %s", path);
    }
    /* SPEC 4: the database and its WAL and SHM are private to their owner whatever the
     * umask. SQLite creates the WAL and SHM with the database file's mode, so creating that
     * file 0600 first (an empty file is an empty database) covers all three. */
    if (cfg->create && strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            (void)fchmod(fd, 0600);
            close(fd);
        }
    }
    pthread_once(&sqlite_once, sqlite_setup);
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (cfg->create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &s->db, flags, cfg->read_only ? NULL : writer_vfs);
    if (rc != SQLITE_OK) {
        char buf[512]; /* a libpq "host=... password=..." string given as a path is masked */
        const char *shown = tti_store_uri_shown(path, buf, sizeof buf);
        rc = rc == SQLITE_CANTOPEN && !cfg->create
                 ? cfg->ns != NULL
                       ? tti_err(
                             err, errlen, TT_ENOTFOUND,
                             "no ledger named %s (%s does not exist; `tradetrail --ledger %s init` "
                             "or the first append through a server creates it)",
                             cfg->ns, shown, cfg->ns)
                       : tti_err(err, errlen, TT_ENOTFOUND,
                                 "cannot open %s: no ledger there; run `tradetrail init` first",
                                 shown)
                 : tti_err(err, errlen, TT_EDB, "cannot open %s: %s", shown,
                           s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sq_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    s->read_only = cfg->read_only;
    if ((rc = configure(s, cfg)) != TT_OK || (rc = tti_sqlite_search_init(s)) != TT_OK ||
        (rc = tti_sqlite_subjects_init(s)) != TT_OK ||
        (!cfg->read_only && (rc = migrate(s, cfg->create, path)) != TT_OK))
        goto fail;
    for (int i = 0; i < TTI_ST_COUNT; i++) {
        int prc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                                     NULL);
        if (prc != SQLITE_OK) {
            rc = tti_sqlite_fail(s, prc, "preparing statements (is this a tradetrail store?)");
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
    tti_sqlite_ckpt_wait(s); /* a checkpoint under way would make this one busy */
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
    /* Recent subject entries beyond their table's size move with the commit that added
     * them. */
    int rc = tti_sqlite_subjects_move(s);
    if (rc == TT_OK)
        rc = exec(s, "COMMIT", "committing");
    if (rc != TT_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        tti_map_clear(s->names);
        s->recent_rows = -1;
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
    /* SQLite may have rolled back by itself (disk full, I/O): count the table again. */
    s->recent_rows = -1;
    s->in_txn = 0;
}

static int sq_begin_write_tokens(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused)
{
    int rc = sq_begin_write(s);
    if (rc == TT_OK && n > 0 && (rc = tti_sqlite_tokens_refused(s, ids, n, refused)) != TT_OK)
        sq_rollback(s);
    return rc;
}

static int sq_meta_get(tti_store *s, const char *key, char **value)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_META_GET);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "reading store settings");
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (v == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    *value = v;
    return TT_OK;
}

static int sq_meta_set(tti_store *s, const char *key, const char *value)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_META_PUT);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "writing store settings");
}

int tti_sqlite_collect(tti_store *s, sqlite3_stmt *st, size_t elem, size_t first, void **out,
                       size_t *n, int (*read_one)(tti_store *s, sqlite3_stmt *st, void *row),
                       void (*clear_one)(void *row), const char *what)
{
    void *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc, status = TT_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (tti_rows_reserve(&arr, &cap, cnt, elem, first) != TT_OK) {
            status = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory %s", what);
            break;
        }
        if ((status = read_one(s, st, (char *)arr + cnt * elem)) != TT_OK)
            break;
        cnt++;
    }
    if (status == TT_OK && rc != SQLITE_DONE)
        status = tti_sqlite_fail(s, rc, what);
    sqlite3_reset(st);
    if (status != TT_OK) {
        tti_rows_free(arr, cnt, elem, clear_one);
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
    .begin_write_tokens = sq_begin_write_tokens,
    .begin_read = sq_begin_read,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .read_head = tti_sqlite_read_head,
    .write_head = tti_sqlite_write_head,
    .idem_lookup = tti_sqlite_idem_lookup,
    .insert_event = tti_sqlite_insert_event,
    .get_tile = tti_sqlite_get_tile,
    .put_tile = tti_sqlite_put_tile,
    .put_checkpoint = tti_sqlite_put_checkpoint,
    .latest_checkpoint = tti_sqlite_latest_checkpoint,
    .checkpoints_iter = tti_sqlite_checkpoints_iter,
    .checkpoints_next = tti_sqlite_checkpoints_next,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .query = tti_sqlite_query,
    .scan = tti_sqlite_scan,
    .iter_next = tti_sqlite_iter_next,
    .iter_free = tti_sqlite_iter_free,
    .event_extent = tti_sqlite_event_extent,
    .check_idem = tti_sqlite_check_idem,
    .check_search = tti_sqlite_check_search,
    .check_subjects = tti_sqlite_check_subjects,
    .check_search_terms = tti_sqlite_check_search_terms,
    .seq_at_ts = tti_sqlite_seq_at_ts,
    .count_by = tti_sqlite_count_by,
    .segment_put = tti_sqlite_segment_put,
    .segments = tti_sqlite_segments,
    .purge = tti_sqlite_purge,
    .token_insert = tti_sqlite_token_insert,
    .token_find = tti_sqlite_token_find,
    .token_get = tti_sqlite_token_get,
    .tokens_refused = tti_sqlite_tokens_refused,
    .token_revoke = tti_sqlite_token_revoke,
    .token_list = tti_sqlite_token_list,
    .table_names = tti_sqlite_table_names,
    .table_rows = tti_sqlite_table_rows,
    .table_insert = tti_sqlite_table_insert,
    .table_done = tti_sqlite_table_done,
    .strategy = &tti_sqlite_strategy_ops,
    .domain = &tti_sqlite_domain_ops,
    .jobs = &tti_sqlite_jobs_ops,
    .notify = &tti_sqlite_notify_ops,
    .producer = &tti_sqlite_producer_ops,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-subject index of the SQLite backend, in two tables: subject_recent takes each new
 * event, subject_index holds the rest. A b-tree keyed by subject puts every subject's
 * newest entry on a page of its own, so an index written event by event dirtied one page
 * per subject per commit: 83 % of an NDJSON group's pages (docs/PERFORMANCE.md). The small
 * table keeps a commit's entries on a few dozen pages; once it holds more than
 * TTI_RECENT_ROWS, each commit moves whole subjects' entries over, in subject order from
 * where the last one stopped, until it is back to that size. A subject's move writes its
 * last index page once for all the entries it gathered, and a few subjects per commit
 * spread the work evenly (one move of everything at once made a commit every second
 * write a thousand pages). Each subject's entries in subject_recent are newer than its
 * entries in subject_index, so a query for one subject reads one table after the other
 * (sqlite_query.c).
 */
#include <stdio.h>

#include "core/crypto.h"

#include "store/sqlite_internal.h"
#include "util/err.h"

/* Version 14: the index moves out of events into the two tables. */
const char tti_sqlite_schema_subjects[] =
    "CREATE TABLE subject_index(subject INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (subject, seq)) WITHOUT ROWID;"
    "CREATE TABLE subject_recent(subject INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (subject, seq)) WITHOUT ROWID;"
    "INSERT INTO subject_index SELECT subject, seq FROM events ORDER BY subject, seq;"
    "DROP INDEX events_subject;";

static const char sql_put[] = "INSERT INTO subject_recent(subject, seq) VALUES (?1, ?2)";
static const char sql_count[] = "SELECT count(*) FROM subject_recent";
/* Where a process's first move starts: the subject that has waited longest, which in the
 * steady round holds the most entries (a scan of subject_recent, once per process). */
static const char sql_oldest[] =
    "SELECT subject FROM subject_recent GROUP BY subject ORDER BY count(*) DESC LIMIT 1";
static const char sql_next[] =
    "SELECT subject FROM subject_recent WHERE subject > ?1 ORDER BY subject LIMIT 1";
static const char sql_move[] =
    "INSERT INTO subject_index SELECT subject, seq FROM subject_recent WHERE subject = ?1";
static const char sql_clear[] = "DELETE FROM subject_recent WHERE subject = ?1";
static const char sql_del_index[] = "DELETE FROM subject_index WHERE subject = ?1 AND seq = ?2";
static const char sql_del_recent[] = "DELETE FROM subject_recent WHERE subject = ?1 AND seq = ?2";

static int step_once(tti_store *s, const char *sql, int64_t a, int64_t b, int nbind,
                     const char *what, int64_t *out)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql, &rc);
    if (st == NULL)
        return rc;
    if (nbind > 0)
        sqlite3_bind_int64(st, 1, a);
    if (nbind > 1)
        sqlite3_bind_int64(st, 2, b);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out != NULL)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? TT_OK : tti_sqlite_fail(s, rc, what);
}

int tti_sqlite_subject_put(tti_store *s, int64_t subject, int64_t seq)
{
    const char *what = "indexing the event's subject";
    int rc = TT_OK;
    /* Unknown after a rollback or at open: counted once (a few dozen pages). */
    if (s->recent_rows < 0 &&
        (rc = step_once(s, sql_count, 0, 0, 0, what, &s->recent_rows)) != TT_OK)
        return rc;
    if ((rc = step_once(s, sql_put, subject, seq, 2, what, NULL)) == TT_OK)
        s->recent_rows++;
    return rc;
}

int tti_sqlite_subjects_move(tti_store *s)
{
    const char *what = "moving recent entries into the subject index";
    int rc = TT_OK;
    if (s->recent_rows > TTI_RECENT_ROWS && s->move_after < 0 &&
        (rc = step_once(s, sql_oldest, 0, 0, 0, what, &s->move_after)) == TT_OK)
        s->move_after = s->move_after > 0 ? s->move_after - 1 : 0;
    while (rc == TT_OK && s->recent_rows > TTI_RECENT_ROWS) {
        int64_t subject = 0;
        if ((rc = step_once(s, sql_next, s->move_after, 0, 1, what, &subject)) != TT_OK)
            break;
        if (subject == 0) { /* past the last subject: start again from the first */
            if (s->move_after == 0) {
                s->recent_rows = -1; /* the count was off (another writer): count again */
                break;
            }
            s->move_after = 0;
            continue;
        }
        if ((rc = step_once(s, sql_move, subject, 0, 1, what, NULL)) != TT_OK &&
            sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                         "the subject index holds an entry twice (subject id %lld), so no "
                         "commit can move its recent entries; tradetrail verify names the event",
                         (long long)subject);
        if (rc == TT_OK && (rc = step_once(s, sql_clear, subject, 0, 1, what, NULL)) == TT_OK) {
            s->recent_rows -= sqlite3_changes(s->db);
            s->move_after = subject;
        }
    }
    return rc;
}

int tti_sqlite_subject_del(tti_store *s, int64_t subject, int64_t seq)
{
    const char *what = "removing an archived event from the subject index";
    int rc = step_once(s, sql_del_index, subject, seq, 2, what, NULL);
    if (rc == TT_OK && (rc = step_once(s, sql_del_recent, subject, seq, 2, what, NULL)) == TT_OK &&
        s->recent_rows > 0)
        s->recent_rows -= sqlite3_changes(s->db);
    return rc;
}

/* ---- the check -----------------------------------------------------------------------
 * Every event has exactly one entry, under its own subject, in one of the two tables: a
 * removed or edited entry hides the event from its subject's history while every leaf still
 * verifies (SPEC 4). Both sides fold into one order-independent sum of a keyed 64-bit hash
 * of each (subject, seq) pair, as the reason index's check does (sqlite_search.c): one pass
 * over the events and one over the entries (0.3 s at a million events), where looking each
 * entry up in events took 3.3 s, twice the rest of verify. The key is random for each run.
 * Only when the sums differ do the lookups run, to name the first event concerned. */
#define SUMS_PTR "tt_subject_sums"

typedef struct subject_sums {
    uint64_t key, total;
    int64_t events, entries;
    int64_t not_integers; /* values an edit made 3666.5 or '3666x': they read as 3666 */
} subject_sums;

/* tt_subject_sum(sums, subject, seq, side): side 1 an event adds, side -1 an entry takes. */
static void sum_step(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    /* The pointer once per statement: sqlite3_value_pointer compares type names. */
    subject_sums **pt = sqlite3_aggregate_context(cx, sizeof *pt);
    if (pt == NULL) {
        sqlite3_result_error_nomem(cx);
        return;
    }
    if (*pt == NULL && (*pt = sqlite3_value_pointer(argv[0], SUMS_PTR)) == NULL) {
        sqlite3_result_error(cx, "tt_subject_sum: no sums to add to", -1);
        return;
    }
    subject_sums *t = *pt;
    /* The queries join on seq and subject as integers, so any other value hides its event
     * although it would add the same hash as the integer it reads as. */
    if (sqlite3_value_type(argv[1]) != SQLITE_INTEGER ||
        sqlite3_value_type(argv[2]) != SQLITE_INTEGER)
        t->not_integers++;
    uint64_t h = tti_mix64((uint64_t)sqlite3_value_int64(argv[1]) ^ t->key);
    h = tti_mix64(h ^ (uint64_t)sqlite3_value_int64(argv[2]));
    if (sqlite3_value_int(argv[3]) > 0) {
        t->total += h;
        t->events++;
    } else {
        t->total -= h;
        t->entries++;
    }
}

static void sum_final(sqlite3_context *cx)
{
    sqlite3_result_null(cx);
}

int tti_sqlite_subjects_init(tti_store *s)
{
    int rc = sqlite3_create_function_v2(s->db, "tt_subject_sum", 4, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                        NULL, NULL, sum_step, sum_final, NULL);
    return rc == SQLITE_OK ? TT_OK : tti_sqlite_fail(s, rc, "registering the subject check");
}

static int fold(tti_store *s, const char *sql, subject_sums *t)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_pointer(st, 1, t, SUMS_PTR, NULL);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? TT_OK : tti_sqlite_fail(s, rc, "checking the subject index");
}

/* The first event whose entry is missing or names another subject, or the first entry
 * without its event; *twice set when the first is an entry held in both tables. */
static int locate(tti_store *s, int64_t *bad_seq, int *twice)
{
    static const char wrong[] =
        "SELECT min(seq) FROM (SELECT subject, seq FROM subject_index UNION ALL "
        "SELECT subject, seq FROM subject_recent) x WHERE NOT EXISTS (SELECT 1 FROM events e "
        "WHERE e.seq = x.seq AND e.subject = x.subject)";
    static const char missing[] =
        "SELECT min(e.seq) FROM events e WHERE NOT EXISTS (SELECT 1 FROM subject_index x WHERE "
        "x.subject = e.subject AND x.seq = e.seq) AND NOT EXISTS (SELECT 1 FROM subject_recent "
        "r WHERE r.subject = e.subject AND r.seq = e.seq)";
    static const char both[] = "SELECT min(r.seq) FROM subject_recent r JOIN subject_index x "
                               "ON x.subject = r.subject AND x.seq = r.seq";
    const char *what = "checking the subject index";
    int64_t bad = 0, lost = 0, dup = 0;
    int rc = step_once(s, wrong, 0, 0, 0, what, &bad);
    if (rc == TT_OK)
        rc = step_once(s, missing, 0, 0, 0, what, &lost);
    if (rc == TT_OK)
        rc = step_once(s, both, 0, 0, 0, what, &dup);
    *bad_seq = lost != 0 && (bad == 0 || lost < bad) ? lost : bad;
    *twice = dup != 0 && (*bad_seq == 0 || dup < *bad_seq);
    if (*twice)
        *bad_seq = dup;
    return rc;
}

/* Each subject's recent entries must be newer than its indexed ones, or a query, which
 * reads one table after the other, would return its events out of order (a hold's last
 * event would not be the last one read). 0 when they are. */
static int check_order(tti_store *s, int64_t *bad_seq)
{
    static const char older[] =
        "SELECT min(r.seq) FROM subject_recent r WHERE r.seq < (SELECT max(x.seq) FROM "
        "subject_index x WHERE x.subject = r.subject)";
    *bad_seq = 0;
    int rc = step_once(s, older, 0, 0, 0, "checking the subject index", bad_seq);
    if (rc != TT_OK || *bad_seq == 0)
        return rc;
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                   "seq %lld: the subject index holds a newer entry of this event's subject than "
                   "this one, which waits among the recent ones: its history would be read out "
                   "of order",
                   (long long)*bad_seq);
}

int tti_sqlite_check_subjects(tti_store *s, int64_t *bad_seq)
{
    static const char events[] = "SELECT tt_subject_sum(?1, subject, seq, 1) FROM events";
    static const char index[] = "SELECT tt_subject_sum(?1, subject, seq, -1) FROM subject_index";
    static const char recent[] = "SELECT tt_subject_sum(?1, subject, seq, -1) FROM subject_recent";
    subject_sums t = {0};
    if (tti_random((uint8_t *)&t.key, sizeof t.key) != 0)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ECRYPTO, "no random bytes");
    int rc = fold(s, events, &t);
    if (rc == TT_OK && (rc = fold(s, index, &t)) == TT_OK)
        rc = fold(s, recent, &t);
    if (rc != TT_OK)
        return rc;
    if (t.total == 0 && t.events == t.entries && t.not_integers == 0)
        return check_order(s, bad_seq);
    int twice = 0;
    if ((rc = locate(s, bad_seq, &twice)) != TT_OK)
        return rc;
    if (twice)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "seq %lld: the subject index holds this event's entry twice, among the "
                       "recent entries and in the index; commits stop until one is removed",
                       (long long)*bad_seq);
    if (*bad_seq == 0)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "the subject index holds %lld entries for %lld events", (long long)t.entries,
                       (long long)t.events);
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                   "seq %lld: the subject index does not match the event's subject",
                   (long long)*bad_seq);
}

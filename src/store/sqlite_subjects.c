/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-subject index of the SQLite backend, in two tables: subject_recent takes each new
 * event, subject_index holds the rest, and a commit that finds subject_recent full moves
 * it over in one sorted pass. A b-tree keyed by subject puts every subject's newest entry
 * on a page of its own, so an index written event by event dirtied one page per subject
 * per commit: 83 % of an NDJSON group's pages (docs/PERFORMANCE.md). The small table keeps
 * a commit's entries on a few pages, and the move writes each subject's last page once
 * for thousands of events. Every seq in subject_recent is above every seq in
 * subject_index, so a query reads one table after the other (sqlite_query.c).
 */
#include <stdio.h>

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
static const char sql_move[] = "INSERT INTO subject_index SELECT subject, seq FROM subject_recent";
static const char sql_clear[] = "DELETE FROM subject_recent";
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

int tti_sqlite_subjects_merge(tti_store *s, int force)
{
    if (s->recent_rows < (force ? 1 : TTI_RECENT_ROWS))
        return TT_OK;
    const char *what = "moving recent entries into the subject index";
    int rc = step_once(s, sql_move, 0, 0, 0, what, NULL);
    if (rc == TT_OK && (rc = step_once(s, sql_clear, 0, 0, 0, what, NULL)) == TT_OK)
        s->recent_rows = 0;
    return rc;
}

int tti_sqlite_subject_del(tti_store *s, int64_t subject, int64_t seq)
{
    const char *what = "removing an archived event from the subject index";
    int rc = step_once(s, sql_del_index, subject, seq, 2, what, NULL);
    if (rc == TT_OK)
        rc = step_once(s, sql_del_recent, subject, seq, 2, what, NULL);
    /* The count may now be one too high: a move comes a little early, which is harmless. */
    return rc;
}

/* Every event has exactly one entry, under its own subject, in one of the two tables: a
 * removed or edited entry hides the event from its subject's history while every leaf still
 * verifies (SPEC 4). The rows are counted, and each entry is looked up in events; the full
 * scans naming the first event concerned run only when something is wrong. */
int tti_sqlite_check_subjects(tti_store *s, int64_t n, int64_t *bad_seq)
{
    static const char wrong[] =
        "SELECT min(seq) FROM (SELECT x.subject, x.seq FROM subject_index x UNION ALL "
        "SELECT subject, seq FROM subject_recent) x WHERE NOT EXISTS (SELECT 1 FROM events e "
        "WHERE e.seq = x.seq AND e.subject = x.subject)";
    static const char rows[] =
        "SELECT (SELECT count(*) FROM subject_index) + (SELECT count(*) FROM subject_recent)";
    static const char events[] = "SELECT count(*) FROM events";
    static const char missing[] =
        "SELECT min(e.seq) FROM events e WHERE NOT EXISTS (SELECT 1 FROM subject_index x WHERE "
        "x.subject = e.subject AND x.seq = e.seq) AND NOT EXISTS (SELECT 1 FROM subject_recent "
        "r WHERE r.subject = e.subject AND r.seq = e.seq)";
    const char *what = "checking the subject index";
    int64_t bad = 0, nrows = 0, lost = 0;
    int rc = step_once(s, wrong, 0, 0, 0, what, &bad);
    if (rc == TT_OK && (rc = step_once(s, rows, 0, 0, 0, what, &nrows)) == TT_OK && n < 0)
        rc = step_once(s, events, 0, 0, 0, what, &n);
    if (rc != TT_OK || (bad == 0 && nrows == n))
        return rc;
    if ((rc = step_once(s, missing, 0, 0, 0, what, &lost)) != TT_OK)
        return rc;
    *bad_seq = lost != 0 && (bad == 0 || lost < bad) ? lost : bad;
    if (*bad_seq == 0)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "the subject index holds %lld entries for %lld events", (long long)nrows,
                       (long long)n);
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                   "seq %lld: the subject index does not match the event's subject",
                   (long long)*bad_seq);
}

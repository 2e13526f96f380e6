/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Full-text search on reasons for the SQLite backend. The FTS5 index stores only which
 * events hold a token (detail=none, version 6 of the schema): positions would cost half
 * again as much on every append and only phrase queries need them. So a user's words are
 * cut into tokens by the index's own tokenizer (unicode61) here, and each token becomes
 * one quoted FTS5 term; `foo-bar` therefore finds reasons holding both foo and bar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/buf.h"
#include "util/err.h"

/* Version 6: the reason index without token positions, rebuilt from the stored reasons. */
const char tti_sqlite_schema_search[] =
    "DROP TABLE events_fts;"
    "CREATE VIRTUAL TABLE events_fts USING fts5(reason, content='', detail=none);"
    "INSERT INTO events_fts(rowid, reason) SELECT seq, reason FROM events"
    " WHERE reason IS NOT NULL AND reason <> '';";

/* The index must hold one document per event with a reason, and none beyond the last
 * event: emptying it (the 'delete-all' command) or removing a document would hide events
 * from search while every leaf still verifies (SPEC 4). Read-only, so verify never takes the
 * write lock; FTS5's own 'integrity-check' is an INSERT and would. WARNING: this counts
 * documents, it does not re-tokenise reasons: a document replaced by another text under the
 * same rowid is not detected here. */
int tti_sqlite_check_search(tti_store *s, int64_t n, int64_t *bad_seq)
{
    static const char docs[] = "SELECT count(*), max(id) FROM events_fts_docsize";
    static const char reasoned[] =
        "SELECT count(*) FROM events WHERE reason IS NOT NULL AND reason <> ''";
    static const char last[] = "SELECT max(seq) FROM events";
    int rc = TT_OK;
    sqlite3_stmt *st = tti_sqlite_stmt(s, docs, &rc);
    if (st == NULL)
        return rc;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "checking the full-text index");
    int64_t ndocs = sqlite3_column_int64(st, 0), maxid = sqlite3_column_int64(st, 1), maxseq = 0;
    sqlite3_reset(st);
    const char *q[2] = {n < 0 ? reasoned : NULL, last};
    int64_t *to[2] = {&n, &maxseq};
    for (int i = 0; i < 2; i++) {
        if (q[i] == NULL)
            continue;
        if ((st = tti_sqlite_stmt(s, q[i], &rc)) == NULL)
            return rc;
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            return tti_sqlite_fail(s, rc, "checking the full-text index");
        *to[i] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    if (ndocs == n && maxid <= maxseq)
        return TT_OK;
    /* Name the first event concerned: a document missing, or one that has no event. */
    static const char lost[] =
        "SELECT min(e.seq) FROM events e WHERE e.reason IS NOT NULL AND e.reason <> '' AND "
        "NOT EXISTS (SELECT 1 FROM events_fts_docsize d WHERE d.id = e.seq)";
    static const char extra[] =
        "SELECT min(d.id) FROM events_fts_docsize d WHERE NOT EXISTS (SELECT 1 FROM events e "
        "WHERE e.seq = d.id AND e.reason IS NOT NULL AND e.reason <> '')";
    int64_t a = 0, b = 0;
    const char *q2[2] = {lost, extra};
    int64_t *to2[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        if ((st = tti_sqlite_stmt(s, q2[i], &rc)) == NULL)
            return rc;
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            return tti_sqlite_fail(s, rc, "checking the full-text index");
        *to2[i] = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    *bad_seq = a != 0 && (b == 0 || a < b) ? a : b;
    char where[40] = "";
    if (*bad_seq != 0)
        snprintf(where, sizeof where, "seq %lld: ", (long long)*bad_seq);
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                   "%sthe full-text index holds %lld documents for %lld events with a reason: "
                   "search no longer finds what the ledger holds",
                   where, (long long)ndocs, (long long)n);
}

static fts5_api *fts5_api_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return api;
}

typedef struct terms {
    tti_buf out;
    int n;
} terms;

/* One token: a quoted term, its quotes doubled so no token is read as FTS5 syntax. */
static int on_token(void *ctx, int flags, const char *tok, int len, int start, int end)
{
    (void)flags;
    (void)start;
    (void)end;
    terms *t = ctx;
    if (len <= 0)
        return SQLITE_OK;
    int rc = tti_buf_adds(&t->out, t->n ? " \"" : "\"");
    for (int i = 0; rc == 0 && i < len; i++)
        rc = tti_buf_add(&t->out, tok[i] == '"' ? "\"\"" : tok + i, tok[i] == '"' ? 2 : 1);
    if (rc == 0)
        rc = tti_buf_adds(&t->out, "\"");
    t->n++;
    return rc == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

int tti_sqlite_fts_terms(tti_store *s, const char *text, char **out, int *nterms)
{
    fts5_api *api = fts5_api_of(s->db);
    void *udata = NULL;
    fts5_tokenizer tk;
    Fts5Tokenizer *tok = NULL;
    if (api == NULL || api->xFindTokenizer(api, "unicode61", &udata, &tk) != SQLITE_OK ||
        tk.xCreate(udata, NULL, 0, &tok) != SQLITE_OK)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                       "full-text search: SQLite's FTS5 unicode61 tokenizer is unavailable");
    terms t = {.n = 0};
    tti_buf_init(&t.out, 1 << 20);
    int rc = tk.xTokenize(tok, &t, FTS5_TOKENIZE_QUERY, text, (int)strlen(text), on_token);
    tk.xDelete(tok);
    char *q = rc == SQLITE_OK ? tti_buf_take(&t.out) : NULL;
    if (rc == SQLITE_OK && q == NULL)
        rc = SQLITE_NOMEM;
    if (rc != SQLITE_OK) {
        tti_buf_free(&t.out);
        return rc == SQLITE_NOMEM ? tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory")
                                  : tti_sqlite_fail(s, rc, "splitting the search words");
    }
    *out = q;
    *nterms = t.n;
    return TT_OK;
}

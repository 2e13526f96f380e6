/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Full-text search on reasons for the SQLite backend. The FTS5 index stores only which
 * events hold a token (detail=none, version 6 of the schema): positions would cost half
 * again as much on every append and only phrase queries need them. So a user's words are
 * cut into tokens by the index's own tokenizer (unicode61) here, and each token becomes
 * one quoted FTS5 term; `foo-bar` therefore finds reasons holding both foo and bar.
 */
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

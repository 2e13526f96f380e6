/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Full-text search on reasons for the SQLite backend. The FTS5 index stores only which
 * events hold a token (detail=none, version 6 of the schema): positions would cost half
 * again as much on every append and only phrase queries need them. So a user's words are
 * cut into tokens by the index's own tokenizer (unicode61) here, and each token becomes
 * one quoted FTS5 term; `foo-bar` therefore finds reasons holding both foo and bar.
 *
 * A word matches the reasons holding a word that starts with it (issue 13 item 19:
 * `underperform` finds "underperforming"), from 3 characters on; 1 and 2 character words
 * match whole words. An FTS5 prefix query builds the whole doclist of every term with the
 * prefix before it returns a row (measured: p50 8 ms, p99 173 ms at 1 million reasons, ten
 * times that at 10 million, against 0.15 / 2.5 ms for a whole word), unless the index has
 * a prefix index of that exact length, which it walks like a term. So the index keeps
 * 3-character prefixes (version 9) and a word of 3 characters is that prefix. For a longer
 * word, a probe first counts the index entries of the terms it starts, up to 2,000
 * (version 10, fts5vocab): none, and nothing can match; fewer, and the FTS5 prefix query
 * is cheap; more, and the index is asked for the word's first 3 characters and each
 * candidate's reason is checked for the whole prefix with tt_word_prefixes(), newest
 * first, until the page is full (at least one candidate in every
 * candidates / 2,000 passes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "store/sqlite_internal.h"
#include "util/buf.h"
#include "util/err.h"

/* Version 6: the reason index without token positions, rebuilt from the stored reasons. */
const char tti_sqlite_schema_search[] =
    "DROP TABLE events_fts;"
    "CREATE VIRTUAL TABLE events_fts USING fts5(reason, content='', detail=none);"
    "INSERT INTO events_fts(rowid, reason) SELECT seq, reason FROM events"
    " WHERE reason IS NOT NULL AND reason <> '';";

/* Version 10: a read-only view of the index's (term, event) entries in term order, so that
 * a word's entries can be counted up to a limit (probe). */
const char tti_sqlite_schema_search_vocab[] =
    "CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab(events_fts, 'instance');";

/* Version 9: the reason index keeps 3-character prefixes, rebuilt from the stored reasons. */
const char tti_sqlite_schema_search_prefix[] =
    "DROP TABLE events_fts;"
    "CREATE VIRTUAL TABLE events_fts USING fts5(reason, content='', detail=none, prefix='3');"
    "INSERT INTO events_fts(rowid, reason) SELECT seq, reason FROM events"
    " WHERE reason IS NOT NULL AND reason <> '';";

#define PREFIX_CHARS 3 /* the prefix index's length, in characters (as FTS5 counts them) */
#define MAX_PREFIXES 64

static void sums_step(sqlite3_context *cx, int argc, sqlite3_value **argv);
static void sums_final(sqlite3_context *cx);

/* The index must hold one document per event with a reason, and none beyond the last
 * event: emptying it (the 'delete-all' command) or removing a document would hide events
 * from search while every leaf still verifies (SPEC 4). Read-only, so verify never takes the
 * write lock; FTS5's own 'integrity-check' is an INSERT and would (and, the index having
 * no content, could not compare it with the reasons). A full verification then compares
 * each document's words with its event's reason (tti_sqlite_check_search_terms). */
int tti_sqlite_check_search(tti_store *s, int64_t n, int64_t *bad_seq)
{
    /* Apart, count(*) and max() each take SQLite's fast path (a page count, the last
     * rowid); together they scan the table: 68 ms against 9 ms at a million documents. */
    static const char docs[] = "SELECT count(*) FROM events_fts_docsize";
    static const char maxdoc[] = "SELECT max(id) FROM events_fts_docsize";
    static const char reasoned[] =
        "SELECT count(*) FROM events WHERE reason IS NOT NULL AND reason <> ''";
    static const char last[] = "SELECT max(seq) FROM events";
    int64_t ndocs = 0, maxid = 0, maxseq = 0;
    const char *q[4] = {docs, maxdoc, n < 0 ? reasoned : NULL, last};
    int64_t *to[4] = {&ndocs, &maxid, &n, &maxseq};
    int rc = TT_OK;
    sqlite3_stmt *st;
    for (int i = 0; i < 4; i++) {
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

static int unicode61(sqlite3 *db, fts5_tokenizer *tk, Fts5Tokenizer **tok)
{
    fts5_api *api = fts5_api_of(db);
    void *udata = NULL;
    if (api == NULL || api->xFindTokenizer(api, "unicode61", &udata, tk) != SQLITE_OK ||
        tk->xCreate(udata, NULL, 0, tok) != SQLITE_OK)
        return SQLITE_ERROR;
    return SQLITE_OK;
}

/* The tokens of the user's words, back to back, each ended by a NUL. */
typedef struct terms {
    tti_buf toks;
    int n;
} terms;

static int on_token(void *ctx, int flags, const char *tok, int len, int start, int end)
{
    (void)flags;
    (void)start;
    (void)end;
    terms *t = ctx;
    if (len <= 0)
        return SQLITE_OK;
    int rc = tti_buf_add(&t->toks, tok, (size_t)len);
    if (rc == 0)
        rc = tti_buf_add(&t->toks, "", 1);
    t->n++;
    return rc == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* Bytes of the first n UTF-8 characters of tok (all of it when shorter). */
static size_t char_prefix(const char *tok, size_t len, int n)
{
    size_t i = 0;
    for (int chars = 0; i < len && chars < n; chars++)
        for (i++; i < len && ((unsigned char)tok[i] & 0xC0) == 0x80; i++)
            ;
    return i;
}

/* How many (term, event) entries of the index start with tok, counted up to
 * PROBE_POSTINGS: the fts5vocab 'instance' table walks them in term order and stops at the
 * limit, so this costs at most that many entries (measured: 0.1 ms when none, under 1 ms at
 * the limit). */
#define PROBE_POSTINGS 2000

static int probe(tti_store *s, const char *tok, size_t len, int64_t *count)
{
    static const char sql[] = "SELECT count(*) FROM (SELECT 1 FROM events_fts_vocab "
                              "WHERE term >= ?1 AND term < ?2 LIMIT ?3)";
    int rc = TT_OK;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql, &rc);
    if (st == NULL)
        return rc;
    char *hi = malloc(len + 1);
    if (hi == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    memcpy(hi, tok, len);
    hi[len] = (char)0xFF; /* sorts after every UTF-8 term that starts with tok */
    sqlite3_bind_text(st, 1, tok, (int)len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hi, (int)len + 1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, PROBE_POSTINGS);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(hi);
    return rc == SQLITE_ROW ? TT_OK : tti_sqlite_fail(s, rc, "searching the reason index");
}

/* One quoted term, its quotes doubled so no token is read as FTS5 syntax (the query is
 * data bound to a statement; this keeps it from being FTS5 syntax too). */
static int add_term(tti_buf *q, const char *tok, size_t len, int prefix)
{
    int rc = tti_buf_adds(q, q->len ? " \"" : "\"");
    for (size_t i = 0; rc == 0 && i < len; i++)
        rc = tti_buf_add(q, tok[i] == '"' ? "\"\"" : tok + i, tok[i] == '"' ? 2 : 1);
    return rc == 0 ? tti_buf_adds(q, prefix ? "\"*" : "\"") : rc;
}

/* The query and post-filter for the tokens; *none when a word starts no indexed term. */
static int build_terms(tti_store *s, const terms *t, tti_buf *q, tti_buf *pre, int *none)
{
    const char *tok = t->toks.data;
    for (int k = 0; k < t->n; k++, tok += strlen(tok) + 1) {
        size_t len = strlen(tok), head = char_prefix(tok, len, PREFIX_CHARS);
        int64_t count = PROBE_POSTINGS;
        int rc = TT_OK;
        if (head < len && (rc = probe(s, tok, len, &count)) != TT_OK)
            return rc;
        if (count == 0) {
            *none = 1; /* no word of any reason starts with it: nothing can match */
            return TT_OK;
        }
        if (head == len) /* a whole word below 3 characters; the prefix index at 3 */
            rc = add_term(q, tok, len, char_prefix(tok, len, PREFIX_CHARS - 1) < len);
        else if (count < PROBE_POSTINGS) /* rare: FTS5 merges its few entries at once */
            rc = add_term(q, tok, len, 1);
        else if ((rc = add_term(q, tok, head, 1)) == 0 &&
                 (rc = pre->len ? tti_buf_adds(pre, " ") : 0) == 0)
            rc = tti_buf_adds(pre, tok);
        if (rc != 0 || q->failed || pre->failed)
            return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    }
    return TT_OK;
}

int tti_sqlite_fts_terms(tti_store *s, const char *text, char **out, char **prefixes, int *nterms)
{
    fts5_tokenizer tk;
    Fts5Tokenizer *tok = NULL;
    if (unicode61(s->db, &tk, &tok) != SQLITE_OK)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                       "full-text search: SQLite's FTS5 unicode61 tokenizer is unavailable");
    terms t = {.n = 0};
    tti_buf q, pre;
    tti_buf_init(&t.toks, 1 << 20);
    tti_buf_init(&q, 1 << 20);
    tti_buf_init(&pre, 1 << 20);
    int rc = tk.xTokenize(tok, &t, FTS5_TOKENIZE_QUERY, text, (int)strlen(text), on_token);
    tk.xDelete(tok);
    int none = 0;
    if (rc == SQLITE_OK && t.toks.failed)
        rc = SQLITE_NOMEM;
    if (rc != SQLITE_OK)
        rc = rc == SQLITE_NOMEM ? tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory")
                                : tti_sqlite_fail(s, rc, "splitting the search words");
    else
        rc = build_terms(s, &t, &q, &pre, &none);
    char *qs = NULL, *ps = NULL;
    if (rc == TT_OK && !none && t.n > 0) {
        qs = tti_buf_take(&q);
        ps = pre.len > 0 ? tti_buf_take(&pre) : NULL;
        if (qs == NULL || (pre.len > 0 && ps == NULL))
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    }
    tti_buf_free(&t.toks);
    tti_buf_free(&q);
    tti_buf_free(&pre);
    if (rc != TT_OK) {
        free(qs);
        free(ps);
        return rc;
    }
    *out = qs;
    *prefixes = ps;
    *nterms = none ? 0 : t.n;
    return TT_OK;
}

/* ---- tt_word_prefixes(reason, prefixes) -------------------------------------------------
 * 1 when, for each space-separated prefix (at most MAX_PREFIXES; tokens as the query
 * tokenizer made them), some token of reason starts with it; else 0. The reason is cut by
 * the index's tokenizer, so it sees the words the index holds. */

typedef struct prefix_match {
    const char *p[MAX_PREFIXES];
    int len[MAX_PREFIXES];
    int n;
    uint64_t found;
} prefix_match;

static int on_reason_token(void *ctx, int flags, const char *tok, int len, int start, int end)
{
    (void)flags;
    (void)start;
    (void)end;
    prefix_match *m = ctx;
    for (int i = 0; i < m->n; i++)
        if (len >= m->len[i] && memcmp(tok, m->p[i], (size_t)m->len[i]) == 0)
            m->found |= 1ull << i;
    /* Stop once every prefix is found (any non-OK code ends the tokenizer). */
    return m->found == (m->n == 64 ? ~0ull : (1ull << m->n) - 1) ? SQLITE_DONE : SQLITE_OK;
}

typedef struct tokenizer_ctx {
    fts5_tokenizer tk;
    Fts5Tokenizer *tok;
} tokenizer_ctx;

static void word_prefixes(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    tokenizer_ctx *t = sqlite3_user_data(cx);
    const char *reason = (const char *)sqlite3_value_text(argv[0]);
    const char *list = (const char *)sqlite3_value_text(argv[1]);
    if (reason == NULL || list == NULL) {
        sqlite3_result_int(cx, 0);
        return;
    }
    prefix_match m = {.n = 0};
    for (const char *q = list; *q != '\0' && m.n < MAX_PREFIXES;) {
        size_t n = strcspn(q, " ");
        if (n > 0) {
            m.p[m.n] = q;
            m.len[m.n++] = (int)n;
        }
        q += n + (q[n] == ' ');
    }
    int rc = t->tk.xTokenize(t->tok, &m, FTS5_TOKENIZE_DOCUMENT, reason,
                             sqlite3_value_bytes(argv[0]), on_reason_token);
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
        sqlite3_result_error_code(cx, rc);
        return;
    }
    sqlite3_result_int(cx, m.n > 0 && m.found == (m.n == 64 ? ~0ull : (1ull << m.n) - 1));
}

static void tokenizer_free(void *p)
{
    tokenizer_ctx *t = p;
    if (t != NULL && t->tok != NULL)
        t->tk.xDelete(t->tok);
    free(t);
}

int tti_sqlite_search_init(tti_store *s)
{
    tokenizer_ctx *t = calloc(1, sizeof *t);
    if (t == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    if (unicode61(s->db, &t->tk, &t->tok) != SQLITE_OK) {
        free(t);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                       "full-text search: SQLite's FTS5 unicode61 tokenizer is unavailable");
    }
    /* sqlite3_create_function_v2 calls tokenizer_free itself when it fails. */
    int rc = sqlite3_create_function_v2(s->db, "tt_word_prefixes", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, t,
                                        word_prefixes, NULL, NULL, tokenizer_free);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(s->db, "tt_terms_sum", 4, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                        NULL, NULL, sums_step, sums_final, NULL);
    return rc == SQLITE_OK ? TT_OK : tti_sqlite_fail(s, rc, "registering the search functions");
}

/* ---- each document against its reason (issue 13 item 10) --------------------------------
 * Counting documents misses one deleted and put back under the same rowid with other words.
 * The index cannot give a document back (content='', detail=none), but its fts5vocab
 * 'instance' table lists every (term, event) entry it holds. So both sides fold into one
 * order-independent sum of a keyed 64-bit hash of each (term, seq) pair: the reasons, cut
 * by the index's own tokenizer (each distinct token once, as detail=none stores it), and
 * the index's entries. The key is random for each run, so no text can be chosen to collide
 * in advance. Memory stays bounded by one reason's tokens, time is one pass over the
 * reasons and one over the entries. Only when the sums differ, a second pass per range of
 * CHUNK_SEQS seqs keeps one sum per seq and names the first that differs. The prefix
 * entries (prefix='3') are not listed by fts5vocab; FTS5 writes them with the words. */

#define CHUNK_SEQS ((int64_t)1 << 20) /* 8 MiB of sums per locating pass */
#define MAX_REASON_TOKENS 8192        /* a reason is at most 8 KiB (SPEC 3.1) */

static uint64_t term_hash(uint64_t key, const char *tok, size_t len)
{
    uint64_t h = key ^ 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)tok[i]) * 0x100000001b3ULL; /* FNV-1a */
    return tti_mix64(h ^ len);
}

static uint64_t entry_hash(uint64_t key, uint64_t th, int64_t seq)
{
    return tti_mix64(th ^ tti_mix64((uint64_t)seq ^ key));
}

typedef struct doc_terms {
    uint64_t key;
    uint64_t h[MAX_REASON_TOKENS]; /* a reason's token hashes */
    int n;
    char prev[256]; /* the last index term hashed, and its hash */
    int prev_len;
    uint64_t prev_h;
} doc_terms;

static int on_doc_token(void *ctx, int flags, const char *tok, int len, int start, int end)
{
    (void)flags;
    (void)start;
    (void)end;
    doc_terms *d = ctx;
    if (len > 0 && d->n < MAX_REASON_TOKENS)
        d->h[d->n++] = term_hash(d->key, tok, (size_t)len);
    return SQLITE_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

typedef struct term_sums {
    tti_store *s;
    fts5_tokenizer tk;
    Fts5Tokenizer *tok;
    doc_terms *d;
    int64_t lo, hi;  /* seqs [lo, hi) */
    uint64_t total;  /* the reasons' entries minus the index's, over the range */
    uint64_t *per;   /* the same per seq - lo, or NULL */
    int64_t done;    /* reasons read */
    int64_t entries; /* index entries read */
    int64_t upto;    /* the last seq checked */
    int rc;          /* TT_OK, or why the step stopped */
    tt_progress_fn progress;
    void *ctx;
} term_sums;

static void add(term_sums *t, int64_t seq, uint64_t h, int sign)
{
    uint64_t v = sign > 0 ? h : (uint64_t)0 - h;
    t->total += v;
    if (t->per != NULL)
        t->per[seq - t->lo] += v;
}

/* Every 4096 reasons or 65536 index entries: progress, which may stop the fold. */
static void step_progress(term_sums *t, sqlite3_context *cx, int64_t n, int64_t every)
{
    if (t->progress == NULL || (n & (every - 1)) != 0 || t->progress(t->ctx, t->done, 0) == 0)
        return;
    t->rc = tti_err(t->s->errbuf, sizeof t->s->errbuf, TT_EMISUSE, "verification cancelled");
    sqlite3_result_error(cx, "verification cancelled", -1);
}

/* The aggregate tt_terms_sum(sums, seq, text, side) folds rows into the term_sums bound as
 * a pointer: side 1, text is a reason, each of its distinct tokens adds; side -1, text is
 * one index term of event seq, and subtracts. An aggregate rather than a loop over
 * sqlite3_column_*: at ten million index entries the column calls cost twice the scan. */
#define SUMS_PTR "tt_term_sums"

static void sums_step(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    /* The pointer once per statement: sqlite3_value_pointer compares type names. */
    term_sums **pt = sqlite3_aggregate_context(cx, sizeof *pt);
    if (pt != NULL && *pt == NULL)
        *pt = sqlite3_value_pointer(argv[0], SUMS_PTR);
    term_sums *t = pt != NULL ? *pt : NULL;
    int64_t seq = sqlite3_value_int64(argv[1]);
    /* As a blob: the same bytes, without the copy sqlite3_value_text makes to end a word
     * the index hands over unterminated with a NUL (a sixth of this fold's instructions). */
    const char *text = sqlite3_value_blob(argv[2]);
    int len = sqlite3_value_bytes(argv[2]);
    if (t == NULL || t->rc != TT_OK || text == NULL || seq < t->lo || seq >= t->hi)
        return;
    doc_terms *d = t->d;
    if (sqlite3_value_int(argv[3]) < 0) {
        /* Entries come in term order: hash each distinct term once. */
        if (len != d->prev_len || memcmp(text, d->prev, (size_t)len) != 0) {
            d->prev_h = term_hash(d->key, text, (size_t)len);
            d->prev_len = len < (int)sizeof d->prev ? len : -1;
            if (d->prev_len >= 0)
                memcpy(d->prev, text, (size_t)len);
        }
        add(t, seq, entry_hash(d->key, d->prev_h, seq), -1);
        step_progress(t, cx, ++t->entries, 65536);
        return;
    }
    d->n = 0;
    int rc = t->tk.xTokenize(t->tok, d, FTS5_TOKENIZE_DOCUMENT, text, len, on_doc_token);
    if (rc != SQLITE_OK) {
        t->rc = tti_sqlite_fail(t->s, rc, "cutting a reason into words");
        sqlite3_result_error_code(cx, rc);
        return;
    }
    if (d->n > 32)
        qsort(d->h, (size_t)d->n, sizeof d->h[0], cmp_u64);
    else /* a reason's few words: an insertion sort, without qsort's calls */
        for (int i = 1; i < d->n; i++)
            for (int j = i; j > 0 && d->h[j - 1] > d->h[j]; j--) {
                uint64_t x = d->h[j];
                d->h[j] = d->h[j - 1];
                d->h[j - 1] = x;
            }
    for (int i = 0; i < d->n; i++)
        if (i == 0 || d->h[i] != d->h[i - 1])
            add(t, seq, entry_hash(d->key, d->h[i], seq), 1);
    step_progress(t, cx, ++t->done, 4096);
}

static void sums_final(sqlite3_context *cx)
{
    sqlite3_result_null(cx);
}

/* Fold one side: the reasons (side 1) or the index's entries (side -1) of the range. */
static int fold(term_sums *t, int side)
{
    static const char reasons[] = "SELECT tt_terms_sum(?1, seq, reason, 1) FROM events"
                                  " WHERE seq >= ?2 AND seq < ?3 AND reason <> ''";
    static const char entries[] = "SELECT tt_terms_sum(?1, doc, term, -1) FROM events_fts_vocab";
    int rc = TT_OK;
    sqlite3_stmt *st = tti_sqlite_stmt(t->s, side > 0 ? reasons : entries, &rc);
    if (st == NULL)
        return rc;
    t->d->prev_len = -1;
    sqlite3_bind_pointer(st, 1, t, SUMS_PTR, NULL);
    if (side > 0) {
        sqlite3_bind_int64(st, 2, t->lo);
        sqlite3_bind_int64(st, 3, t->hi);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (t->rc != TT_OK)
        return t->rc;
    return rc == SQLITE_ROW ? TT_OK : tti_sqlite_fail(t->s, rc, "checking the full-text index");
}

static int sum_range(term_sums *t, int64_t lo, int64_t hi)
{
    t->lo = lo;
    t->hi = hi;
    t->total = 0;
    int rc = fold(t, 1);
    return rc == TT_OK ? fold(t, -1) : rc;
}

/* The first seq whose reason and index entries differ (0 if none is found). */
static int locate(term_sums *t, int64_t *bad_seq)
{
    static const char last[] = "SELECT max(seq) FROM events";
    int rc = TT_OK;
    sqlite3_stmt *st = tti_sqlite_stmt(t->s, last, &rc);
    if (st == NULL)
        return rc;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        return tti_sqlite_fail(t->s, rc, "checking the full-text index");
    int64_t max = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (max > t->upto)
        max = t->upto;
    t->per = malloc((size_t)CHUNK_SEQS * sizeof *t->per);
    if (t->per == NULL)
        return tti_err(t->s->errbuf, sizeof t->s->errbuf, TT_ENOMEM, "out of memory");
    *bad_seq = 0;
    rc = TT_OK;
    for (int64_t lo = 1; rc == TT_OK && *bad_seq == 0 && lo <= max; lo += CHUNK_SEQS) {
        memset(t->per, 0, (size_t)CHUNK_SEQS * sizeof *t->per);
        rc = sum_range(t, lo, lo + CHUNK_SEQS);
        for (int64_t i = 0; rc == TT_OK && i < CHUNK_SEQS && *bad_seq == 0; i++)
            if (t->per[i] != 0)
                *bad_seq = lo + i;
    }
    free(t->per);
    t->per = NULL;
    return rc;
}

int tti_sqlite_check_search_terms(tti_store *s, int64_t upto, tt_progress_fn progress, void *ctx,
                                  int64_t *bad_seq)
{
    term_sums t = {.s = s, .progress = progress, .ctx = ctx, .upto = upto};
    if (unicode61(s->db, &t.tk, &t.tok) != SQLITE_OK)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EDB,
                       "full-text search: SQLite's FTS5 unicode61 tokenizer is unavailable");
    int rc = TT_OK;
    if ((t.d = malloc(sizeof *t.d)) == NULL)
        rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    else if (tti_random((uint8_t *)&t.d->key, sizeof t.d->key) != 0)
        rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ECRYPTO, "no random bytes");
    if (rc == TT_OK)
        rc = sum_range(&t, 1, upto + 1);
    if (rc == TT_OK && t.total != 0) {
        int64_t bad = 0;
        rc = locate(&t, &bad);
        if (rc == TT_OK) {
            *bad_seq = bad;
            char where[40] = "";
            if (bad != 0)
                snprintf(where, sizeof where, "seq %lld: ", (long long)bad);
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                         "%sthe full-text index holds other words than the event's reason: "
                         "search no longer finds what the ledger holds",
                         where);
        }
    }
    t.tk.xDelete(t.tok);
    free(t.d);
    return rc;
}

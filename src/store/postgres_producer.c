/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL tables of completeness per producer (SPEC 15), as sqlite_producer.c. Rows are
 * read and written inside the batch's transaction, under the ledger head's row lock, so
 * servers sharing the database never work from another's stale state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"
#include "store/producer_store.h"
#include "util/err.h"

/* Schema version 6. The new columns are NULL on every existing row, whose leaf bytes stay
 * as they were (docs/FORMAT.md). */
const char tti_pg_schema_producer[] =
    "ALTER TABLE events ADD COLUMN producer text, ADD COLUMN producer_seq bigint;"
    "CREATE TABLE producers(name text PRIMARY KEY, last_seq bigint NOT NULL,"
    " last_event bigint NOT NULL, last_seen bigint NOT NULL, timeout bigint NOT NULL,"
    " silent int NOT NULL, gaps bigint NOT NULL, missing bigint NOT NULL,"
    " repeats bigint NOT NULL, restarts bigint NOT NULL, silences bigint NOT NULL);";

#define COLUMNS                                                                                    \
    "name, last_seq, last_event, last_seen, timeout, silent, gaps, missing, repeats, restarts, "   \
    "silences"
static const char sql_get[] = "SELECT " COLUMNS " FROM producers WHERE name = $1";
static const char sql_put[] =
    "INSERT INTO producers(" COLUMNS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
    " ON CONFLICT (name) DO UPDATE SET last_seq = EXCLUDED.last_seq,"
    " last_event = EXCLUDED.last_event, last_seen = EXCLUDED.last_seen,"
    " timeout = EXCLUDED.timeout, silent = EXCLUDED.silent, gaps = EXCLUDED.gaps,"
    " missing = EXCLUDED.missing, repeats = EXCLUDED.repeats, restarts = EXCLUDED.restarts,"
    " silences = EXCLUDED.silences";
static const char sql_list[] = "SELECT " COLUMNS " FROM producers ORDER BY name";

static void read_row(const PGresult *r, int row, tt_producer *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", PQgetvalue(r, row, 0));
    int64_t *v[] = {&p->last_seq, &p->last_event, &p->last_seen_us, &p->timeout_s, NULL,
                    &p->gaps,     &p->missing,    &p->repeats,      &p->restarts,  &p->silences};
    for (int i = 0; i < 10; i++)
        if (v[i] != NULL)
            *v[i] = tti_pg_int(r, row, i + 1);
    p->silent = (int)tti_pg_int(r, row, 5);
}

static int pp_get(tti_store *s, const char *name, tt_producer *out)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, name);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_get, &a, &rc, "reading a producer");
    if (r == NULL)
        return rc;
    rc = PQntuples(r) == 1 ? TT_OK : TT_ENOTFOUND;
    if (rc == TT_OK)
        read_row(r, 0, out);
    PQclear(r);
    return rc;
}

static int pp_put(tti_store *s, const tt_producer *p)
{
    tti_pgargs a = {.n = 0};
    const int64_t v[] = {p->last_seq, p->last_event, p->last_seen_us, p->timeout_s, p->silent,
                         p->gaps,     p->missing,    p->repeats,      p->restarts,  p->silences};
    tti_pg_text(&a, p->name);
    for (int i = 0; i < 10; i++)
        tti_pg_i64(&a, v[i]);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_put, &a, &rc, "storing a producer");
    if (r == NULL)
        return rc;
    PQclear(r);
    return TT_OK;
}

static int pp_list(tti_store *s, tt_producer **out, size_t *n)
{
    int rc;
    PGresult *r = tti_pg_exec(s, sql_list, NULL, &rc, "listing producers");
    if (r == NULL)
        return rc;
    size_t cnt = (size_t)PQntuples(r);
    tt_producer *arr = calloc(cnt ? cnt : 1, sizeof *arr);
    if (arr == NULL) {
        PQclear(r);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory listing producers");
    }
    for (size_t i = 0; i < cnt; i++)
        read_row(r, (int)i, &arr[i]);
    PQclear(r);
    *out = arr;
    *n = cnt;
    return TT_OK;
}

const struct tti_producer_ops tti_pg_producer_ops = {
    .get = pp_get,
    .put = pp_put,
    .list = pp_list,
};

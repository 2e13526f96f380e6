/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API tokens in the SQLite backend (SPEC 8): rows keyed by the SHA-256 of the token,
 * never the token itself; revocation only sets a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/err.h"
#include "store/records.h"

int tti_sqlite_token_insert(tti_store *s, const char *name, int role, const uint8_t hash[32],
                            int64_t created_us, int64_t *id)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_TOKEN_PUT);
    tti_sqlite_bind_opt(st, 1, name);
    sqlite3_bind_int(st, 2, role);
    sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, created_us);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "storing a token");
    *id = sqlite3_last_insert_rowid(s->db);
    return TT_OK;
}

/* Fill a token row; the name is copied. */
static int read_token(tti_store *s, sqlite3_stmt *st, tt_token_info *out, uint8_t *hash)
{
    const char *name = tti_sqlite_col_text(st, 1);
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
        return tti_sqlite_fail(s, rc, "reading a token");
    rc = read_token(s, st, out, hash);
    sqlite3_reset(st);
    return rc;
}

int tti_sqlite_token_find(tti_store *s, const uint8_t hash[32], tt_token_info *out,
                          uint8_t stored_hash[32])
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_TOKEN_FIND);
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    return token_one(s, st, out, stored_hash);
}

int tti_sqlite_token_get(tti_store *s, int64_t id, tt_token_info *out)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_TOKEN_GET);
    sqlite3_bind_int64(st, 1, id);
    return token_one(s, st, out, NULL);
}

int tti_sqlite_tokens_refused(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused)
{
    for (size_t i = 0; i < n; i++) {
        tt_token_info info;
        int rc = tti_sqlite_token_get(s, ids[i], &info);
        if (rc == TT_OK) {
            refused[i] = info.revoked_us != TT_TIME_NONE;
            free(info.name);
        } else if (rc == TT_ENOTFOUND) {
            refused[i] = 1;
        } else {
            return rc;
        }
    }
    return TT_OK;
}

int tti_sqlite_token_revoke(tti_store *s, int64_t id, int64_t revoked_us)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_TOKEN_REVOKE);
    sqlite3_bind_int64(st, 1, revoked_us);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "revoking a token");
    return sqlite3_changes(s->db) == 1 ? TT_OK : TT_ENOTFOUND;
}

static int read_token_any(tti_store *s, sqlite3_stmt *st, void *row)
{
    return read_token(s, st, row, NULL);
}

static void clear_token(void *row)
{
    tti_token_info_clear(row);
}

static const char sql_list[] =
    "SELECT id, name, role, created, revoked, hash FROM tokens ORDER BY id";

int tti_sqlite_token_list(tti_store *s, tt_token_info **out, size_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_list, &rc);
    if (st == NULL)
        return rc;
    void *arr = NULL;
    rc = tti_sqlite_collect(s, st, sizeof(tt_token_info), 8, &arr, n, read_token_any, clear_token,
                            "listing tokens");
    if (rc == TT_OK)
        *out = arr;
    return rc;
}

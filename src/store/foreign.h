/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading another program's SQLite database, read-only: the trading-bot imports (SPEC 15,
 * src/domain/import.c) read freqtrade's and hummingbot's own databases through these few
 * calls, so that SQLite stays behind src/store/sqlite*.c. Nothing here ever writes.
 */
#ifndef TT_STORE_FOREIGN_H
#define TT_STORE_FOREIGN_H

#include <stddef.h>
#include <stdint.h>

typedef struct tti_foreign tti_foreign; /* one read-only connection */
typedef struct tti_frows tti_frows;     /* one running query */

/* Open path read-only (query_only, a busy timeout) and check that it is an SQLite
 * database. TT_EINVAL with a message when the path is missing or not a database, TT_EDB
 * for another failure. */
int tti_foreign_open(const char *path, tti_foreign **out, char *err, size_t errlen);
void tti_foreign_close(tti_foreign *f); /* accepts NULL */

/* 1 when the table (and, when column is not NULL, its column) exists, else 0. */
int tti_foreign_has(tti_foreign *f, const char *table, const char *column);

/* Prepare sql. TT_EDB with SQLite's message. */
int tti_foreign_query(tti_foreign *f, const char *sql, tti_frows **out, char *err, size_t errlen);
/* The next row: TT_OK, TT_ENOTFOUND at the end, TT_EDB with a message. */
int tti_foreign_next(tti_frows *q, char *err, size_t errlen);
/* Column i of the current row: its text (NULL for SQL NULL; valid until the next call),
 * whether it is stored as an integer, and its value as a number. */
const char *tti_foreign_text(tti_frows *q, int i);
int tti_foreign_is_int(tti_frows *q, int i);
int tti_foreign_is_null(tti_frows *q, int i);
int64_t tti_foreign_int(tti_frows *q, int i);
double tti_foreign_real(tti_frows *q, int i);
void tti_foreign_finish(tti_frows *q); /* accepts NULL */

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which store a unit test's ledger lives in. By default the SQLite file of its data
 * directory; when TT_TEST_DB holds a PostgreSQL URI (set by tests/e2e/pglib.py for the
 * pg/ tests of the ctest matrix), a schema of that database named after the data
 * directory, so each fixture gets a fresh ledger and reopening a directory finds its own.
 */
#ifndef TT_TESTS_TESTDB_H
#define TT_TESTS_TESTDB_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* The store URI for a ledger whose data directory is dir, in buf; NULL for the default
 * (the SQLite file in dir). */
static inline const char *tt_test_db_uri(const char *dir, char *buf, size_t n)
{
    const char *base = getenv("TT_TEST_DB");
    if (base == NULL || base[0] == '\0')
        return NULL;
    char schema[64] = "t_";
    size_t k = 2;
    for (const char *p = dir; *p && k < sizeof schema - 1; p++)
        if (isalnum((unsigned char)*p))
            schema[k++] = (char)tolower((unsigned char)*p);
    schema[k] = '\0';
    snprintf(buf, n, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?',
             schema);
    return buf;
}

/* Is this run against PostgreSQL (tests about SQLite's files do not apply)? */
static inline int tt_test_db_is_pg(void)
{
    const char *base = getenv("TT_TEST_DB");
    return base != NULL && base[0] != '\0';
}

/* The backend a test wraps to inject faults (tti_store_override): the one TT_TEST_DB
 * selects. */
static inline const tti_store_ops *tt_test_db_ops(void)
{
    return tt_test_db_is_pg() ? &tti_postgres_ops : &tti_sqlite_ops;
}

#endif

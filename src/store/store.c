/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry of storage backends: which table of operations serves a store URI: a path
 * or sqlite:PATH is SQLite (sqlite*.c), postgres:// and postgresql:// PostgreSQL
 * (postgres*.c). A new backend adds its table here and its files beside theirs.
 */
#include "store/store.h"

#include <stddef.h>

const tti_store_ops *tti_store_override;

const tti_store_ops *tti_store_backend(const char *uri)
{
    if (tti_store_override != NULL)
        return tti_store_override;
    if (tti_sqlite_ops.accepts(uri))
        return &tti_sqlite_ops;
    if (tti_postgres_ops.accepts(uri))
        return &tti_postgres_ops;
    return NULL;
}

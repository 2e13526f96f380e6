/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite tables and queries of the notify work (SPEC 7). */
#include "store/notify_store.h"
#include "store/sqlite_internal.h"

/* Its schema migration. */
const char tti_sqlite_schema_notify[] = "SELECT 1;";

const struct tti_notify_ops tti_sqlite_notify_ops = {0};

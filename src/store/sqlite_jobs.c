/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite tables and queries of the jobs work (SPEC 7). */
#include "store/jobs_store.h"
#include "store/sqlite_internal.h"

/* Its schema migration. */
const char tti_sqlite_schema_jobs[] = "SELECT 1;";

const struct tti_jobs_ops tti_sqlite_jobs_ops = {0};

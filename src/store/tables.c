/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tables a store-to-store copy (tt_store_migrate, src/ledger/migrate.c) knows: the
 * domain tables it copies row by row through table_rows / table_insert, named alike in
 * both backends, and the ledger's own tables that it rebuilds through the log operations.
 * A table a store holds that is in neither list stops a migration, so a table added later
 * is never silently left behind: add it here with its migration.
 */
#include <string.h>

#include "store/store.h"

const tti_table tti_tables[] = {
    {"meta", "key, value", "tt", "key", NULL},
    {"tokens", "id, name, role, hash, created, revoked", "itibii", "id", "id"},
    {"strategies", "id, name, symbol, timeframe, status, deleted, version, created, updated",
     "tttttfiii", "id", NULL},
    {"strategy_versions",
     "strategy_id, number, content, sha256, change_type, author, reason, created, seq", "titttttii",
     "strategy_id, number", NULL},
    {"feedback",
     "id, seq, ts, strategy_id, user_id, benchmark, ai_return, benchmark_return, alpha, "
     "reward, outcome",
     "iiitttrrrrt", "id", "id"},
    {"job_runs", "id, name, trigger, slot, started_seq, ended_seq, status", "ittiiit", "id", "id"},
    {"outbox",
     "id, channel, seq, subject, body, created_us, attempts, parts_done, next_us, "
     "delivered_us, last_error",
     "itittiiiiit", "id", "id"},
    {"producers",
     "name, last_seq, last_event, last_seen, timeout, silent, gaps, missing, repeats, restarts, "
     "silences",
     "tiiiiiiiiii", "name", NULL},
    {"archive_segments", "first_seq, last_seq, file, bytes, sha256, ts", "iitibi", "first_seq",
     NULL},
};
const size_t tti_n_tables = sizeof tti_tables / sizeof tti_tables[0];

/* What the log operations copy (events through insert_event, which also fills names,
 * subjects, idem, the reason index and SQLite's per-subject index; tiles rebuilt from the
 * leaves; checkpoints; the head; the sync state through sync_get / sync_set), and each
 * backend's own bookkeeping. */
static const char *const ledger_tables[] = {
    "head",        "names",      "subjects",       "events",        "idem",           "tiles",
    "checkpoints", "sync_state", "schema_version", "subject_index", "subject_recent",
};

int tti_table_known(const char *name)
{
    /* FTS5's shadow tables and the vocabulary view over them (sqlite_search.c). */
    if (strncmp(name, "events_fts", 10) == 0 || strncmp(name, "sqlite_", 7) == 0)
        return 1;
    for (size_t i = 0; i < sizeof ledger_tables / sizeof ledger_tables[0]; i++)
        if (strcmp(name, ledger_tables[i]) == 0)
            return 1;
    for (size_t i = 0; i < tti_n_tables; i++)
        if (strcmp(name, tti_tables[i].name) == 0)
            return 1;
    return 0;
}

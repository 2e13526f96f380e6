/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store operations of the jobs work (SPEC 6.2, 7): job runs (for the scheduler's catch-up
 * rule) and the training-sync state (watermark and the batch being delivered). Every write
 * happens inside the transaction of the event that records it.
 */
#ifndef TT_STORE_JOBS_STORE_H
#define TT_STORE_JOBS_STORE_H

#include "store/store.h"

/* The training sync's state: every feedback record with seq <= watermark has been
 * delivered. A prepared batch (batch_id non-empty) covers the records from..to and is
 * re-sent unchanged, under the same id, until a SYNC event commits it. */
typedef struct tti_sync_state {
    int64_t watermark;
    char batch_id[64]; /* "" when no batch is pending */
    int64_t batch_from, batch_to, batch_count;
} tti_sync_state;

struct tti_jobs_ops {
    /* A run STARTED (slot: the scheduled minute, TT_TIME_NONE for cron/CLI runs). */
    int (*run_insert)(tti_store *s, const char *name, const char *trigger, int64_t slot_us,
                      int64_t started_seq, int64_t *id);
    /* Mark a STARTED run COMPLETED or FAILED; TT_ENOTFOUND when no such started run. */
    int (*run_finish)(tti_store *s, int64_t id, const char *status, int64_t ended_seq);
    /* The latest slot of a finished scheduled run of name; TT_ENOTFOUND when none. */
    int (*last_slot)(tti_store *s, const char *name, int64_t *slot_us);
    int (*sync_get)(tti_store *s, tti_sync_state *out);
    int (*sync_set)(tti_store *s, const tti_sync_state *st);
    /* Feedback records with first <= seq <= last, in seq order, at most max; *out freed
     * with tt_feedback_list_free. */
    int (*feedback_range)(tti_store *s, int64_t first, int64_t last, size_t max, tt_feedback **out,
                          size_t *n);
};

#endif

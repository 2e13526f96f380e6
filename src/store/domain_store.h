/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store operations for AI feedback, summaries and analytics (SPEC 6.2, 6.4). The domain
 * files ask for rows in ledger terms (a seq range, a report kind); each backend answers with
 * its own queries over indexes, never by handing every event to the caller.
 */
#ifndef TT_STORE_DOMAIN_STORE_H
#define TT_STORE_DOMAIN_STORE_H

#include "store/store.h"

/* A feedback record as written (inside the transaction of its event). */
typedef struct tti_feedback_row {
    int64_t seq;
    int64_t ts_us;
    const char *strategy_id;
    const char *user_id;
    const char *benchmark; /* may be NULL */
    double ai_return, benchmark_return, alpha, reward;
    tt_outcome outcome;
} tti_feedback_row;

/* Counts of one (entity, event_type) pair inside a seq range; names borrowed. */
typedef struct tti_pair_count {
    const char *entity;
    const char *event_type;
    int64_t count;
} tti_pair_count;

/* Row callbacks: cells are borrowed for the duration of the call. Return non-zero to stop
 * with that status. */
typedef int (*tti_pair_fn)(void *ctx, const tti_pair_count *pc);
typedef int (*tti_cells_fn)(void *ctx, const tt_cell *cells, size_t n);

/* Raw analytics queries; what each yields is listed with the SQLite implementation. Counts
 * by event type and by actor come from the ledger's running totals (ledger/counts.c). */
enum {
    TTI_AQ_ACTIVATION = 1,   /* (strategy_id, t_created, t_activated) in creation order */
    TTI_AQ_ACTIVATION_STATS, /* one row (count, mean_us, median_us) */
    TTI_AQ_LIFESPAN,         /* (strategy_id, t_created, t_closed) */
    TTI_AQ_LIFESPAN_STATS,   /* one row (count, mean_us, median_us) */
    TTI_AQ_CLOSE_REASONS,    /* (reason or NULL, count) by count desc */
    TTI_AQ_SWAPS,            /* (day of week 0 = Monday, hour, count) */
    TTI_AQ_FEEDBACK,         /* (strategy_id, count, positive, negative, neutral, mean) */
    TTI_AQ_EVALUATOR,        /* (strategy_id, swap seq, outcome of the next feedback or NULL) */
};

struct tti_domain_ops {
    /* Insert a feedback record; *id gets its id. */
    int (*feedback_insert)(tti_store *s, const tti_feedback_row *row, int64_t *id);
    /* Feedback records matching f, newest first; *out malloc'ed (tt_feedback_list_free). */
    int (*feedback_list)(tti_store *s, const tt_feedback_filter *f, tt_feedback **out, size_t *n);
    /* Per (entity, event_type) counts of the events first <= seq < end. */
    int (*range_counts)(tti_store *s, int64_t first, int64_t end, tti_pair_fn fn, void *ctx);
    /* The latest max maintenance ACTION events of the range, newest first: cells (seq, ts,
     * source, message). */
    int (*range_actions)(tti_store *s, int64_t first, int64_t end, size_t max, tti_cells_fn fn,
                         void *ctx);
    /* Feedback records whose event lies in the range: counts by outcome (positive,
     * negative, neutral) and the sum of rewards. */
    int (*range_feedback)(tti_store *s, int64_t first, int64_t end, int64_t counts[3],
                          double *reward_sum);
    /* One raw analytics query (TTI_AQ_*); limit caps row-producing queries (0: none). */
    int (*analytics)(tti_store *s, int query, size_t limit, tti_cells_fn fn, void *ctx);
};

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry of storage backends: which table of operations serves a store URI: a path
 * or sqlite:PATH is SQLite (sqlite*.c), postgres:// and postgresql:// PostgreSQL
 * (postgres*.c). A new backend adds its table here and its files beside theirs.
 */
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

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

int tti_store_seq_at_ts(tti_store *s, int64_t size, int64_t ts_us,
                        int (*ts_of)(tti_store *s, int64_t seq, int64_t *ts), int64_t *seq)
{
    int64_t lo = 1, hi = size + 1; /* answer in [lo, hi] */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2, ts;
        int rc = ts_of(s, mid, &ts);
        if (rc != TT_OK)
            return rc;
        if (ts >= ts_us)
            hi = mid;
        else
            lo = mid + 1;
    }
    *seq = lo;
    return TT_OK;
}

int tti_store_seq_bounds(tti_store *s, const tt_query *q,
                         int (*seq_at_ts)(tti_store *s, int64_t ts_us, int64_t *seq),
                         void (*bound)(void *ctx, const char *op, int64_t seq), void *ctx)
{
    int64_t seq;
    int rc;
    if (q->since_us != TT_TIME_NONE) {
        if ((rc = seq_at_ts(s, q->since_us, &seq)) != TT_OK)
            return rc;
        bound(ctx, ">=", seq);
    }
    if (q->until_us != TT_TIME_NONE) {
        if ((rc = seq_at_ts(s, q->until_us, &seq)) != TT_OK)
            return rc;
        bound(ctx, "<", seq);
    }
    if (q->after_seq > 0)
        bound(ctx, ">", q->after_seq);
    if (q->before_seq > 0)
        bound(ctx, "<", q->before_seq);
    return TT_OK;
}

int tti_store_sql_failed(char *err, size_t errlen, int failed)
{
    if (failed == TTI_BUF_TOOBIG)
        return tti_err(err, errlen, TT_EINVAL,
                       "the query has too many filters: name fewer event types");
    return tti_err(err, errlen, TT_ENOMEM, "out of memory");
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The window of a ledger's newest events that its event streams share (server/sse.c): read
 * from the store once per batch of new events, each already formatted as the stream's
 * message, and filtered in memory for each subscriber. Without it, every subscriber ran its
 * own query for every new event: 256 streams made 256 queries per append.
 */
#ifndef TT_SERVER_SSE_FEED_H
#define TT_SERVER_SSE_FEED_H

#include <stdatomic.h>

#include "tradetrail.h"
#include "util/buf.h"

typedef struct srv_feed srv_feed;

/* The most events a window holds. */
#define SRV_FEED_CAP 4096

/* A window for l of cap events (0: SRV_FEED_CAP; tests make it small), empty until first
 * read; NULL when out of memory. reads counts the store queries it runs (GET /metrics). */
srv_feed *srv_feed_new(tt_ledger *l, atomic_llong *reads, int cap);
void srv_feed_free(srv_feed *f);
tt_ledger *srv_feed_ledger(const srv_feed *f);

/* The stream message of one event, as every subscriber receives it; 0 or the buffer's
 * failure (the buffer is then as it was). */
int srv_feed_message(tti_buf *out, const tt_event *ev);

/* What srv_feed_fill found. */
typedef enum srv_feed_got {
    SRV_FEED_SERVED, /* messages added to out (maybe none: nothing new matches) */
    SRV_FEED_MISS,   /* *last_seq lies before the window (up to *upto, its start), or the
                        store failed (*upto 0): query the store */
    SRV_FEED_QUERY,  /* an event up to *upto may match (a text filter) or must be sent
                        from the store (too large to keep): query it */
} srv_feed_got;

/*
 * Add to out the messages of the window's events after *last_seq that match q, in seq
 * order, until out holds page_bytes, moving *last_seq past each event added or left out.
 * gen is the stream hub's generation the caller read before calling: when the window ends
 * at *last_seq and was last read from the store under another generation, it is read again
 * first (one caller reads, the others wait for it and share what it read).
 * An event whose message does not fit in out stops the page; *unfit is set when out was
 * empty (it can never fit). With MISS or QUERY, messages may have been added before the
 * window stopped: out's length says. Thread-safe.
 */
srv_feed_got srv_feed_fill(srv_feed *f, const tt_query *q, unsigned long gen, tti_buf *out,
                           size_t page_bytes, int64_t *last_seq, int64_t *upto, int *unfit);

#endif

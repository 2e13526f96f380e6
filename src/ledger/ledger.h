/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ledger object shared by the files of src/ledger: the write connection and the
 * sequencer that group-commits appends on it, a pool of reader connections, and the
 * signing key.
 */
#ifndef TT_LEDGER_LEDGER_H
#define TT_LEDGER_LEDGER_H

#include <pthread.h>

#include "core/merkle.h"
#include "core/note.h"
#include "store/store.h"
#include "tradetrail.h"

#define TTI_READER_POOL 64

typedef struct tti_request tti_request;

struct tt_ledger {
    const tti_store_ops *ops;
    char *uri;
    char *origin;
    tti_store_config rcfg; /* for opening readers */

    /* The write connection: used by the sequencer leader and checkpoint signing only,
     * always under wlock. */
    pthread_mutex_t wlock;
    tti_store *w;

    /* Sequencer (SPEC 5): pending requests and whether a leader is committing. */
    pthread_mutex_t qlock; /* each waiting request has its own condition variable */
    tti_request *queue_head, *queue_tail;
    int leader_active;
    int last_batch_requests;
    int batch_max_events;
    int batch_wait_us;
    /* The committer thread leads groups of asynchronous appends (started by the first
     * tt_ledger_append_async, joined by tt_ledger_close). */
    pthread_cond_t committer_wake;
    pthread_t committer;
    int committer_started;
    int committer_stop;

    pthread_mutex_t plock;
    tti_store *pool[TTI_READER_POOL];
    int n_pool;

    int have_signer;
    tti_signer signer;
    tti_verifier verifier;
    int have_verifier;

    /* Notification rules and channels (tt_ledger_set_notify), read by the sequencer under
     * wlock; NULL when none. */
    struct tti_notify *notify;
};

/*
 * A domain change committed in the same transaction as its events (SPEC 3.2): before runs
 * inside the write transaction before the events are sequenced (check state, write domain
 * rows; an error, e.g. TT_ECONFLICT with tti_fail's message, aborts everything); after runs
 * once the events have their seqs. Either may be NULL.
 */
typedef struct tti_tx_hooks {
    int (*before)(void *ctx, tt_ledger *l, tti_store *w);
    int (*after)(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res, size_t n);
} tti_tx_hooks;

/* tt_ledger_append with a domain change in the same transaction. Requests with hooks are
 * committed alone, never grouped with others. */
/* Stop the committer thread after it has committed every queued asynchronous append. */
void tti_sequencer_stop(tt_ledger *l);

int tti_ledger_append_tx(tt_ledger *l, const tt_event *events, size_t n, const tti_tx_hooks *hooks,
                         void *hooks_ctx, tt_append_result *results);

/* Set this thread's error message (shown by tt_ledger_errmsg) and return rc. */
int tti_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy a store's message for rc into this thread's error message. */
int tti_store_fail(tt_ledger *l, tti_store *s, int rc);

/* Borrow a reader connection from the pool, and give it back. */
int tti_reader_get(tt_ledger *l, tti_store **out);
void tti_reader_put(tt_ledger *l, tti_store *s);

/* Perfect-subtree hashes read from tiles: the fetcher used for proofs and verification.
 * cache may be NULL. */
typedef struct tti_tile_cache tti_tile_cache;
typedef struct tti_fetcher {
    tt_ledger *l;
    tti_store *s;
    tti_tile_cache *cache;
    int64_t tree_size;
} tti_fetcher;
int tti_fetch_node(void *ctx, unsigned height, uint64_t index, uint8_t out[32]);
tti_tile_cache *tti_tile_cache_new(void);
void tti_tile_cache_free(tti_tile_cache *c);

/* The root of a head's compact range. */
void tti_head_root(const tti_head *h, uint8_t out[32]);

#endif

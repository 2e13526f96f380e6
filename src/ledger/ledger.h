/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ledger object shared by the files of src/ledger: the write connection and the
 * sequencer that group-commits appends on it, a pool of reader connections, the signing
 * key, and the transaction hooks and commit observers through which the layers above
 * (notify, the server's metrics and streams) act on appends without the ledger naming them.
 */
#ifndef TT_LEDGER_LEDGER_H
#define TT_LEDGER_LEDGER_H

#include <pthread.h>

#include "core/merkle.h"
#include "core/note.h"
#include "store/store.h"
#include "tradetrail.h"

#define TTI_READER_POOL 64
#define TTI_LEDGER_MAX_HOOKS 8
#define TTI_LEDGER_MAX_OBSERVERS 16

typedef struct tti_request tti_request;

/*
 * A transaction hook: called by the sequencer inside the write transaction, with wlock
 * held, for every event the batch writes (seq, ts and leaf hash set; never for an
 * idempotent repeat), after the event's row and before the commit. Whatever it writes
 * through w commits with the event or not at all (SPEC 7: the outbox row of an alert). A
 * status other than TT_OK (with its message set by tti_fail or tti_store_fail) rolls the
 * whole batch back and is every caller's result. It must not call the ledger's append
 * functions nor take wlock.
 */
typedef int (*tti_tx_hook)(void *ctx, tt_ledger *l, tti_store *w, const tt_event *ev);

typedef struct tti_hook_slot {
    const char *name; /* a static string naming the feature, e.g. "notify" */
    tti_tx_hook fn;
    void *ctx;
    void (*destroy)(void *ctx); /* called when the hook is replaced, removed or closed */
} tti_hook_slot;

typedef struct tti_observer_slot {
    tt_commit_fn fn;
    void *ctx;
} tti_observer_slot;

/*
 * Where the bodies retention moved out of the hot store are read back (SPEC 8): installed
 * by src/jobs/archive.c (tt_ledger_set_archive), so the ledger's verify, queries and proofs
 * reach archive segments without naming their files or libzstd. read checks the segment
 * against its manifest and against the store's record (size, SHA-256, range), then calls
 * fn(fctx, seq, leaf bytes, len) for each line in seq order: TT_OK, TT_ETAMPERED with a
 * message naming the file, an I/O error, or the first other status fn returned (which
 * stops the reading).
 */
typedef int (*tti_leaf_fn)(void *fctx, int64_t seq, const uint8_t *leaf, size_t len);
typedef struct tti_archive_src {
    int (*read)(void *ctx, tt_ledger *l, const tti_segment *seg, tti_leaf_fn fn, void *fctx);
    void (*destroy)(void *ctx);
    void *ctx;
} tti_archive_src;

/* The entity of the events a retention run records (src/jobs/retention.c): each marks a
 * transaction that removed event rows from the hot store (ledger/counts.c recounts). */
#define TTI_RETENTION_ENTITY "retention"
/* The entity of legal hold events (src/jobs/holds.c): HOLD / RELEASE of an entity_id,
 * whose bodies retention keeps in the store meanwhile (verify_holds.c checks it did). */
#define TTI_HOLD_ENTITY "legal_hold"

/* Running totals of one count_by column (ledger/counts.c): events 1..upto counted. */
typedef struct tti_count_cache {
    int64_t upto;
    tt_count *c;
    size_t n;
} tti_count_cache;

/* A token verified before (ledger/token_cache.c): who it is never changes, only whether
 * it is revoked. */
#define TTI_TOKEN_CACHE 64
typedef struct tti_token_entry {
    int used;
    uint8_t hash[32];
    int64_t id;
    int role;
    char principal[TT_MAX_PRINCIPAL + 1];
} tti_token_entry;

struct tt_ledger {
    const tti_store_ops *ops;
    char *uri;
    char *name; /* SPEC 15: NULL for the main ledger, else the named ledger's name */
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
    int last_batch_shared; /* the last batch held more than one request */
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
    /* SPEC 4: the verifier key comes from signing.key or from the caller
     * (tt_ledger_trust_key), not only from the store that verify checks. */
    int verifier_trusted;
    char *key_path; /* where signing.key was looked for, for messages */
    /* Why a signing key that was found is not used (ledger.c:check_signer), or "". */
    char wrong_key[TTI_KEY_NAME_MAX * 2 + 4200];

    /* Transaction hooks: changed under wlock and hlock, run by the sequencer under wlock,
     * looked up by name under hlock. */
    pthread_mutex_t hlock;
    tti_hook_slot hooks[TTI_LEDGER_MAX_HOOKS];
    int n_hooks;

    /* Commit observers, under olock; the leader holds it while it calls them, so removal
     * returns only once no call is running. */
    pthread_mutex_t olock;
    tti_observer_slot observers[TTI_LEDGER_MAX_OBSERVERS];
    int n_observers;

    /* The archive source; set before use from other threads (tt_ledger_set_archive). */
    tti_archive_src archive;

    /* Counts by entity, event type and actor (indexed by TTI_COUNT_*), under clock. Read
     * transactions that use them begin with clock held, so each sees a head at least as
     * new as the totals' upto. */
    pthread_mutex_t clock;
    tti_count_cache counts[4];

    /* Tokens verified before, under tlock (src/ledger/token_cache.c). */
    pthread_mutex_t tlock;
    tti_token_entry tokens[TTI_TOKEN_CACHE];
};

/* The cache of verified tokens (issue 12): an append authenticated from it is checked for
 * revocation by the sequencer, once per token and commit group. _get: 1 with the entry's
 * fields when hash is known. _drop: forget a token (revoked, or found revoked). */
int tti_token_cache_get(tt_ledger *l, const uint8_t hash[32], tti_token_entry *out);
void tti_token_cache_put(tt_ledger *l, const uint8_t hash[32], int64_t id, int role,
                         const char *principal);
void tti_token_cache_drop(tt_ledger *l, int64_t id);
/* Whether token id is still valid: TT_OK, TT_EAUTH when revoked or unknown (and dropped
 * from the cache), or the store's failure; on store s (a reader, or the writer under
 * wlock). */
int tti_token_still_valid(tt_ledger *l, tti_store *s, int64_t id);

/* Install (or with a NULL read, remove) the archive source; the previous one's destroy is
 * called. Not thread-safe: call before the handle is shared. */
void tti_ledger_set_archive(tt_ledger *l, const tti_archive_src *src);

/* fn(l, s, ctx) on a borrowed reader inside a read transaction (one snapshot); its status. */
int tti_ledger_read(tt_ledger *l, int (*fn)(tt_ledger *l, tti_store *s, void *ctx), void *ctx);

/* The recorded segments, read through s (a reader or writer inside a transaction), in seq
 * order; *out freed with free(). */
int tti_ledger_segments(tt_ledger *l, tti_store *s, tti_segment **out, size_t *n);

/* The archived events matching q among the recorded segments (through l->archive), in q's
 * order, at most max (query_archive.c); *out freed with tti_archive_events_free. */
int tti_archive_collect(tt_ledger *l, const tti_segment *segs, size_t nsegs, const tt_query *q,
                        size_t max, tt_event ***out, size_t *n);
void tti_archive_events_free(tt_event **list, size_t n);

/* The recorded segment holding seq among n sorted segments, or NULL. */
const tti_segment *tti_segment_find(const tti_segment *segs, size_t n, int64_t seq);

/* fn(ctx, ev) for every event of entity in store s, oldest first, a page at a time inside
 * the caller's transaction; the first status of fn other than TT_OK ends it and is
 * returned (fn sets its message). Meant for the few events of a bookkeeping entity. */
int tti_entity_each(tt_ledger *l, tti_store *s, const char *entity,
                    int (*fn)(void *ctx, const tt_event *ev), void *ctx);

/* Legal holds as verify checks them (verify_holds.c). load: *out NULL when the ledger has
 * no hold event (nothing to check). saw: every event the walk meets, in seq order (notes
 * retention runs). candidate: whether an event's body was possibly kept by a hold.
 * missing: an archived candidate without its body in the store. first_violation, after
 * the walk: the first seq whose body a hold should have kept (msg says why), or 0. */
typedef struct tti_vholds tti_vholds;
int tti_vholds_load(tt_ledger *l, tti_store *s, tti_vholds **out);
int tti_vholds_saw(tti_vholds *h, const tt_event *ev);
int tti_vholds_candidate(const tti_vholds *h, const tt_event *ev);
int tti_vholds_missing(tti_vholds *h, const tt_event *ev, const tti_segment *seg);
int64_t tti_vholds_first_violation(const tti_vholds *h, char *msg, size_t cap);
void tti_vholds_free(tti_vholds *h);

/*
 * Install, replace or (fn NULL) remove the transaction hook called name. The hook it
 * replaces has its destroy(ctx) called once no batch can still be using it; on failure
 * (TT_ENOSPC: all TTI_LEDGER_MAX_HOOKS slots taken) nothing changes and the new ctx is
 * not destroyed. Waits for a batch being committed. Must not be called from a hook.
 */
int tti_ledger_set_hook(tt_ledger *l, const char *name, tti_tx_hook fn, void *ctx,
                        void (*destroy)(void *ctx));

/* The ctx of the hook called name, or NULL. WARNING: the pointer stays valid only until
 * the hook is replaced or removed; callers must not race with tti_ledger_set_hook. */
void *tti_ledger_hook_ctx(tt_ledger *l, const char *name);

/*
 * Commit observers: fn(ctx, first_seq, count) is called once for each batch this handle
 * commits that wrote new events (seqs first_seq .. first_seq + count - 1), after the
 * commit is durable and before the batch's callers are woken, in commit order, one call
 * at a time, from the committing thread with no ledger lock held but the observer lock.
 * A batch of idempotent repeats only, a failed batch and other processes' appends are not
 * observed. Observers must be quick (metrics, a stream wake-up), must not append, and
 * must not add or remove observers. tt_ledger_on_commit is the public face of these.
 *
 * Add: TT_EMISUSE for a NULL fn, TT_ENOSPC when TTI_LEDGER_MAX_OBSERVERS are set. Remove:
 * the first observer with this fn and ctx; TT_ENOTFOUND when none; once it returns, the
 * observer is not running and will not be called again.
 */
int tti_ledger_add_observer(tt_ledger *l, tt_commit_fn fn, void *ctx);
int tti_ledger_remove_observer(tt_ledger *l, tt_commit_fn fn, void *ctx);

/* Call the observers for a committed batch (the sequencer's leader). */
void tti_ledger_notify_observers(tt_ledger *l, int64_t first_seq, int64_t count);

/*
 * A request's own hooks, for one append rather than every one: a domain change committed
 * in the same transaction as its events (SPEC 3.2): before runs
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

/* An event the ledger records about a producer (SPEC 15), with room for its strings. */
typedef struct tti_producer_note {
    int emit; /* 1: ev is to be appended right after the event that revealed it */
    tt_event ev;
    char type[16];
    char reason[160];
    char meta[160];
} tti_producer_note;

/* Compare ev (with a producer; seq and ts assigned) with its producer's stored state inside
 * the write transaction, update the state, and fill note with a GAP, RESTART or REPEAT
 * event when the counter is not the next one (src/ledger/producers.c). */
int tti_producer_track(tt_ledger *l, tti_store *w, const tt_event *ev, tti_producer_note *note);
/* The transition itself, on a state in memory: what track stores, and what verify replays
 * over the whole ledger to check the stored states (src/ledger/producers.c). */
int tti_producer_step(tt_producer *p, const tt_event *ev, tti_producer_note *note);

/* verify's replay of the producers' states (src/ledger/verify_producers.c): events fed in
 * seq order, each checked against the detection the previous one called for; then the
 * stored states compared with the replayed ones. TT_ETAMPERED with msg set on a mismatch. */
typedef struct tti_preplay tti_preplay;
tti_preplay *tti_preplay_new(void);
void tti_preplay_free(tti_preplay *r);
int tti_preplay_event(tti_preplay *r, const tt_event *ev, char *msg, size_t cap);
int tti_preplay_check(tti_preplay *r, tt_ledger *l, tti_store *s, int64_t *bad_seq, char *msg,
                      size_t cap);

/* Corrections (SPEC 15, src/ledger/corrections.c). check: every CORRECTION or VOID event
 * names, in metadata.corrects, an event already in the ledger (TT_EINVAL otherwise). load:
 * every correction in the ledger, read through s. apply: 1 when ev is left out of the
 * corrected view, 0 with *shown the event to show (*meta, freed by the caller, holds its
 * overlaid metadata), -1 out of memory. */
typedef struct tti_corrections tti_corrections;
int tti_corrections_check(tt_ledger *l, const tt_event *events, size_t n);
int tti_corrections_load(tt_ledger *l, tti_store *s, tti_corrections **out);
size_t tti_corrections_count(const tti_corrections *c);
int tti_corrections_apply(const tti_corrections *c, const tt_event *ev, tt_event *shown,
                          char **meta);
void tti_corrections_free(tti_corrections *c);

/* Set this thread's error message (shown by tt_ledger_errmsg) and return rc. */
int tti_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy a store's message for rc into this thread's error message. */
int tti_store_fail(tt_ledger *l, tti_store *s, int rc);

/* Counts of what (TTI_COUNT_*) over events 1..size, sorted by count (descending) then
 * name, into a malloc'ed array: the running totals brought up to size by counting only
 * the events after them. Call with l->clock held and s in a read transaction begun under
 * it, whose head is size. */
int tti_counts_at(tt_ledger *l, tti_store *s, int what, int64_t size, tt_count **out, size_t *n);
/* The same in a read transaction of its own; *size (may be NULL) is its head's size. */
int tti_ledger_counts(tt_ledger *l, int what, tt_count **out, size_t *n, int64_t *size);
void tti_counts_free(tt_count *c, size_t n);

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

/* The head's right edge as a compact range, and back: the head stores exactly the range
 * (size and perfect-subtree roots), nothing else of the tree. */
void tti_head_to_crange(const tti_head *h, tti_crange *cr);
void tti_head_set_crange(tti_head *h, const tti_crange *cr);
/* 1 when the head describes exactly the tree of cr. */
int tti_head_matches(const tti_head *h, const tti_crange *cr);

/* Tile addressing, the one rule: the perfect subtree (height, index) covers 2^(height % 8)
 * consecutive entries, from `first`, of tile `tile` at level height / 8; a tile at level L
 * holds the nodes of height 8L (tiles store only those: `stored` is height % 8 == 0). */
typedef struct tti_tile_addr {
    unsigned level;
    uint64_t tile;
    size_t first;
    size_t count;
    int stored;
} tti_tile_addr;
tti_tile_addr tti_tile_locate(unsigned height, uint64_t index);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store operations of the notification outbox (SPEC 7): rows written in the same write
 * transaction as the event that triggers them, claimed by a delivery pass with a lease,
 * and updated with the outcome (delivered, or the next attempt after backoff).
 */
#ifndef TT_STORE_NOTIFY_STORE_H
#define TT_STORE_NOTIFY_STORE_H

#include "store/store.h"

/* Channels the outbox knows, as bits of a claim's channel set (tt_notify_channel_name()
 * order): slack, discord, generic, email, telegram, telegram_errors. */
#define TTI_OUTBOX_NCHANNELS 6

/* One outbox row. Strings returned by claim are malloc'ed (tti_outbox_rows_free). */
typedef struct tti_outbox_row {
    int64_t id;
    char *channel; /* tt_notify_channel_name() */
    int64_t seq;   /* the event that triggered it */
    char *subject;
    char *body;
    int64_t created_us;
    int attempts;   /* failed attempts so far */
    int parts_done; /* Discord parts already delivered */
} tti_outbox_row;

struct tti_notify_ops {
    /* Insert a row (inside the caller's write transaction). */
    int (*enqueue)(tti_store *s, const tti_outbox_row *row, int64_t next_us);
    /* Earliest next attempt of an undelivered row of the channels (a bit set); TT_ENOTFOUND
     * when none. */
    int (*next_due)(tti_store *s, unsigned channels, int64_t *next_us);
    /* Inside a write transaction: up to max rows due at now_us, oldest first, leased until
     * lease_us (their next attempt moves there). *rows malloc'ed. */
    int (*claim)(tti_store *s, unsigned channels, int64_t now_us, int64_t lease_us, int max,
                 tti_outbox_row **rows, size_t *n);
    /* Record an outcome: delivered_us > 0 marks the row delivered; otherwise the next
     * attempt is next_us. error NULL keeps the previous one. */
    int (*update)(tti_store *s, int64_t id, int64_t delivered_us, int attempts, int parts_done,
                  int64_t next_us, const char *error);
    /* Undelivered rows, all channels. */
    int (*pending)(tti_store *s, int64_t *n);
};

void tti_outbox_rows_free(tti_outbox_row *rows, size_t n);

#endif

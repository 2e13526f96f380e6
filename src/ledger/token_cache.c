/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tokens verified before (issue 12). Every single-event append over HTTP used to read its
 * token's row: a read transaction per request on SQLite, a round trip and a transaction
 * per request on PostgreSQL. Who a token is (id, role, principal) never changes, so it
 * is kept here; whether it was revoked since is asked by the sequencer once per token and
 * commit group, under the group's write lock (sequencer.c:begin_group), so a revocation
 * still takes effect at once. Direct-mapped on the digest's first byte: a collision only
 * costs the evicted token one store read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "ledger/ledger.h"

static tti_token_entry *slot(tt_ledger *l, const uint8_t hash[32])
{
    return &l->tokens[hash[0] % TTI_TOKEN_CACHE];
}

int tti_token_cache_get(tt_ledger *l, const uint8_t hash[32], tti_token_entry *out)
{
    pthread_mutex_lock(&l->tlock);
    const tti_token_entry *e = slot(l, hash);
    /* WARNING: a digest of a secret; compared in constant time like the store's. */
    int hit = e->used && tti_ct_equal(e->hash, hash, 32);
    if (hit)
        *out = *e;
    pthread_mutex_unlock(&l->tlock);
    return hit;
}

void tti_token_cache_put(tt_ledger *l, const uint8_t hash[32], int64_t id, int role,
                         const char *principal)
{
    pthread_mutex_lock(&l->tlock);
    tti_token_entry *e = slot(l, hash);
    e->used = 1;
    memcpy(e->hash, hash, 32);
    e->id = id;
    e->role = role;
    snprintf(e->principal, sizeof e->principal, "%s", principal);
    pthread_mutex_unlock(&l->tlock);
}

void tti_token_cache_drop(tt_ledger *l, int64_t id)
{
    pthread_mutex_lock(&l->tlock);
    for (size_t i = 0; i < TTI_TOKEN_CACHE; i++)
        if (l->tokens[i].used && l->tokens[i].id == id)
            l->tokens[i].used = 0;
    pthread_mutex_unlock(&l->tlock);
}

int tti_token_still_valid(tt_ledger *l, tti_store *s, int64_t id)
{
    unsigned char refused = 0;
    int rc = l->ops->tokens_refused(s, &id, 1, &refused);
    if (rc != TT_OK)
        return tti_store_fail(l, s, rc);
    if (refused) {
        tti_token_cache_drop(l, id);
        return tti_fail(TT_EAUTH, "token revoked");
    }
    return TT_OK;
}

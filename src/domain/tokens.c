/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API tokens (SPEC 9): random bearer tokens with a role, stored only as their SHA-256.
 * Creation and revocation are events committed in the same transaction as the change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/event.h"
#include "ledger/ledger.h"
#include "util/buf.h"
#include "util/codec.h"

#define TOKEN_PREFIX "tt_"
#define TOKEN_LEN (3 + 64)

static const char *const role_names[] = {NULL, "ingest", "read", "admin"};

const char *tt_role_name(tt_role r)
{
    return r >= TT_ROLE_INGEST && r <= TT_ROLE_ADMIN ? role_names[r] : NULL;
}

int tt_role_parse(const char *s, tt_role *out)
{
    for (int r = TT_ROLE_INGEST; r <= TT_ROLE_ADMIN; r++)
        if (s != NULL && strcmp(s, role_names[r]) == 0) {
            *out = (tt_role)r;
            return TT_OK;
        }
    return tti_fail(TT_EINVAL, "role: must be ingest, read or admin (got \"%s\")", s ? s : "");
}

static void token_hash(const char *token, uint8_t out[32])
{
    tti_sha256((const uint8_t *)token, strlen(token), NULL, 0, NULL, 0, out);
}

typedef struct token_tx {
    tt_event ev;
    char id_text[24];
    tti_buf meta;
    const char *name;
    tt_role role;
    uint8_t hash[32];
    int64_t id;
} token_tx;

static int create_before(void *ctx, tt_ledger *l, tti_store *w)
{
    token_tx *t = ctx;
    int rc = l->ops->token_insert(w, t->name, (int)t->role, t->hash, tt_time_now_us(), &t->id);
    if (rc != TT_OK)
        return tti_store_fail(l, w, rc);
    snprintf(t->id_text, sizeof t->id_text, "%lld", (long long)t->id);
    return TT_OK;
}

static int build_meta(token_tx *t)
{
    tti_buf_init(&t->meta, 4096);
    tti_buf_adds(&t->meta, "{\"role\":");
    tti_buf_json_str(&t->meta, tt_role_name(t->role));
    if (t->name != NULL) {
        tti_buf_adds(&t->meta, ",\"name\":");
        tti_buf_json_str(&t->meta, t->name);
    }
    tti_buf_adds(&t->meta, "}");
    return t->meta.failed ? tti_fail(TT_ETOOBIG, "name: too long") : TT_OK;
}

static int make_token(char out[TOKEN_LEN + 1], uint8_t hash[32])
{
    uint8_t rnd[32];
    if (tti_random(rnd, sizeof rnd) != 0)
        return tti_fail(TT_ECRYPTO, "no randomness for a token");
    memcpy(out, TOKEN_PREFIX, 3);
    tti_hex_encode(rnd, sizeof rnd, out + 3);
    tti_cleanse(rnd, sizeof rnd);
    token_hash(out, hash);
    return TT_OK;
}

int tt_token_create(tt_ledger *l, tt_role role, const char *name, const char *actor, char **token,
                    int64_t *id)
{
    if (tt_role_name(role) == NULL)
        return tti_fail(TT_EINVAL, "role: must be ingest, read or admin");
    if (name != NULL && (strlen(name) == 0 || strlen(name) > 128))
        return tti_fail(TT_EINVAL, "name: must be 1-128 bytes");
    token_tx t = {.name = name, .role = role};
    char *text = malloc(TOKEN_LEN + 1);
    if (text == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    int rc = make_token(text, t.hash);
    if (rc == TT_OK)
        rc = build_meta(&t);
    if (rc == TT_OK) {
        tt_event_init(&t.ev);
        t.ev.entity = "token";
        t.ev.entity_id = t.id_text; /* filled by create_before inside the transaction */
        memcpy(t.id_text, "0", 2);
        t.ev.event_type = "CREATED";
        t.ev.actor = actor ? actor : "admin";
        t.ev.metadata = t.meta.data;
        static const tti_tx_hooks hooks = {.before = create_before};
        tt_append_result res;
        rc = tti_ledger_append_tx(l, &t.ev, 1, &hooks, &t, &res);
    }
    tti_buf_free(&t.meta);
    if (rc != TT_OK) {
        tti_cleanse(text, TOKEN_LEN);
        free(text);
        return rc;
    }
    *token = text;
    if (id != NULL)
        *id = t.id;
    return TT_OK;
}

static int revoke_before(void *ctx, tt_ledger *l, tti_store *w)
{
    token_tx *t = ctx;
    tt_token_info info;
    int rc = l->ops->token_get(w, t->id, &info);
    if (rc == TT_ENOTFOUND)
        return tti_fail(rc, "no token with id %lld", (long long)t->id);
    if (rc != TT_OK)
        return tti_store_fail(l, w, rc);
    free(info.name);
    if (info.revoked_us != TT_TIME_NONE)
        return tti_fail(TT_ECONFLICT, "token %lld is already revoked", (long long)t->id);
    rc = l->ops->token_revoke(w, t->id, tt_time_now_us());
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

int tt_token_revoke(tt_ledger *l, int64_t id, const char *actor)
{
    token_tx t = {.id = id};
    snprintf(t.id_text, sizeof t.id_text, "%lld", (long long)id);
    tt_event_init(&t.ev);
    t.ev.entity = "token";
    t.ev.entity_id = t.id_text;
    t.ev.event_type = "REVOKED";
    t.ev.actor = actor ? actor : "admin";
    static const tti_tx_hooks hooks = {.before = revoke_before};
    tt_append_result res;
    int rc = tti_ledger_append_tx(l, &t.ev, 1, &hooks, &t, &res);
    if (rc == TT_OK)
        tti_token_cache_drop(l, id); /* other processes' caches: sequencer.c:begin_group */
    return rc;
}

/* The principal a token authenticates as (SPEC 3.1): "token:<name>", or "token:#<id>" for
 * a token without a name that is printable text. */
static void token_principal(const tt_token_info *info, char *out)
{
    if (info->name != NULL) {
        snprintf(out, TT_MAX_PRINCIPAL + 1, "token:%s", info->name);
        if (tti_principal_check(out, NULL, 0) == TT_OK)
            return;
    }
    snprintf(out, TT_MAX_PRINCIPAL + 1, "token:#%lld", (long long)info->id);
}

int tt_token_authenticate(tt_ledger *l, const char *token, tt_role *role, int64_t *id,
                          char principal[TT_MAX_PRINCIPAL + 1])
{
    if (token == NULL || strlen(token) != TOKEN_LEN || strncmp(token, TOKEN_PREFIX, 3) != 0)
        return tti_fail(TT_EAUTH, "malformed token");
    uint8_t hash[32], stored[32];
    token_hash(token, hash);
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    tt_token_info info;
    rc = l->ops->token_find(s, hash, &info, stored);
    if (rc == TT_OK) {
        /* WARNING: the lookup is by digest; confirm it in constant time all the same. */
        if (!tti_ct_equal(hash, stored, 32) || info.revoked_us != TT_TIME_NONE) {
            tti_token_cache_drop(l, info.id);
            rc = tti_fail(TT_EAUTH, "token revoked");
        } else {
            char who[TT_MAX_PRINCIPAL + 1];
            token_principal(&info, who);
            tti_token_cache_put(l, hash, info.id, (int)info.role, who);
            *role = info.role;
            if (id != NULL)
                *id = info.id;
            if (principal != NULL)
                memcpy(principal, who, strlen(who) + 1);
        }
        free(info.name);
    } else if (rc == TT_ENOTFOUND) {
        rc = tti_fail(TT_EAUTH, "unknown token");
    } else {
        rc = tti_store_fail(l, s, rc);
    }
    tti_reader_put(l, s);
    return rc;
}

int tt_token_authenticate_cached(tt_ledger *l, const char *token, tt_role *role, int64_t *id,
                                 char principal[TT_MAX_PRINCIPAL + 1], int *cached)
{
    *cached = 0;
    if (token != NULL && strlen(token) == TOKEN_LEN && strncmp(token, TOKEN_PREFIX, 3) == 0) {
        uint8_t hash[32];
        tti_token_entry e;
        token_hash(token, hash);
        if (tti_token_cache_get(l, hash, &e)) {
            *role = (tt_role)e.role;
            *id = e.id;
            memcpy(principal, e.principal, strlen(e.principal) + 1);
            *cached = 1;
            return TT_OK;
        }
    }
    return tt_token_authenticate(l, token, role, id, principal);
}

int tt_token_recheck(tt_ledger *l, int64_t id)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    rc = tti_token_still_valid(l, s, id);
    tti_reader_put(l, s);
    return rc;
}

int tt_token_check(tt_ledger *l, const char *token, tt_role *role, int64_t *id)
{
    return tt_token_authenticate(l, token, role, id, NULL);
}

int tt_token_list(tt_ledger *l, tt_token_info **out, size_t *n)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    rc = l->ops->token_list(s, out, n);
    if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    return rc;
}

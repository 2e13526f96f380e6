/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The named ledgers of one server (SPEC 15 namespaces). A request names one with X-Ledger;
 * the first request naming it opens it (a write creates it), and it stays open until the
 * server stops. Lookups take no lock: slots are filled once, in order, under the lock, and
 * published by the count, so a reader sees either a whole slot or none.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "front/front.h"
#include "ledgers.h"
#include "sse.h"

typedef struct slot {
    tt_ledger *l;
    int64_t last; /* the ticker's own state for this ledger */
} slot;

struct srv_ledgers {
    pthread_mutex_t m; /* serialises opening */
    atomic_int n;
    slot slots[SRV_MAX_LEDGERS];
};

int srv_ledgers_start(srv *s)
{
    srv_ledgers *g = calloc(1, sizeof *g);
    if (g == NULL)
        return TT_ENOMEM;
    if (pthread_mutex_init(&g->m, NULL) != 0) {
        free(g);
        return TT_ENOMEM;
    }
    s->ledgers = g;
    return TT_OK;
}

void srv_ledgers_stop(srv *s)
{
    srv_ledgers *g = s->ledgers;
    if (g == NULL)
        return;
    for (int i = 0; i < atomic_load(&g->n); i++)
        tt_ledger_close(g->slots[i].l);
    pthread_mutex_destroy(&g->m);
    free(g);
    s->ledgers = NULL;
}

static tt_ledger *find(srv_ledgers *g, const char *name)
{
    int n = atomic_load_explicit(&g->n, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (strcmp(tt_ledger_name(g->slots[i].l), name) == 0)
            return g->slots[i].l;
    return NULL;
}

/* Streams following a named ledger wake on its commits as on the main ledger's. */
static void on_commit(void *ctx, int64_t first_seq, int64_t count)
{
    (void)first_seq;
    (void)count;
    srv_sse_notify(ctx);
}

/* Open (or create) a ledger not yet in g; its archive directory is the main one's
 * subdirectory of its name, as the command line's (front_retention_settings). */
static int open_one(srv *s, const char *name, int create, tt_ledger **out, char *err, size_t errlen)
{
    tt_ledger *l = NULL;
    char dir[4096];
    int64_t days, min_days;
    int rc = tt_ledger_open_named(s->l, name, create, &l, err, errlen);
    if (rc == TT_OK)
        rc = front_retention_settings(s->cfg, s->data_dir, name, dir, sizeof dir, &days, &min_days,
                                      err, errlen);
    if (rc == TT_OK && (rc = tt_ledger_set_archive(l, dir)) != TT_OK)
        snprintf(err, errlen, "%s", tt_ledger_errmsg(l));
    if (rc == TT_OK && (rc = tt_ledger_on_commit(l, on_commit, s)) != TT_OK)
        snprintf(err, errlen, "%s", tt_ledger_errmsg(l));
    if (rc != TT_OK) {
        tt_ledger_close(l);
        return rc;
    }
    *out = l;
    return TT_OK;
}

static int lookup(srv *s, const char *name, int create, tt_ledger **out, char *err, size_t errlen)
{
    srv_ledgers *g = s->ledgers;
    if ((*out = find(g, name)) != NULL)
        return TT_OK;
    pthread_mutex_lock(&g->m);
    int rc = TT_OK, n = atomic_load(&g->n);
    if ((*out = find(g, name)) != NULL) {
        rc = TT_OK;
    } else if (n == SRV_MAX_LEDGERS) {
        rc = TT_EBUSY;
        snprintf(err, errlen, "this server already serves %d named ledgers, its limit",
                 SRV_MAX_LEDGERS);
    } else if ((rc = open_one(s, name, create, out, err, errlen)) == TT_OK) {
        g->slots[n].l = *out;
        atomic_store_explicit(&g->n, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&g->m);
    return rc;
}

/* Point r->l at the ledger name, opening (with create, creating) it. Any failure but
 * TT_ENOTFOUND is answered here; the caller answers that one. */
static int open_named(srv_req *r, const char *name, int create, enum MHD_Result *answer)
{
    char err[512];
    tt_ledger *l = NULL;
    int rc = lookup(r->s, name, create, &l, err, sizeof err);
    if (rc == TT_OK)
        r->l = l;
    else if (rc == TT_EBUSY)
        *answer = srv_error(r, 503, "%s", err);
    else if (rc != TT_ENOTFOUND)
        *answer = srv_fail(r, rc, err);
    return rc;
}

static int not_found(srv_req *r, const char *name, enum MHD_Result *answer)
{
    *answer = srv_error(r, 404, "no ledger named %s (a write through X-Ledger creates it)", name);
    return -1;
}

int srv_ledger_select(srv *s, srv_req *r, int create, enum MHD_Result *answer)
{
    const char *name;
    if (srv_single_header(r, "X-Ledger", &name, answer) != 0)
        return -1;
    /* A webhook that can only be given a URL (freqtrade's) names its ledger there. */
    if (name == NULL && strncmp(r->url, SRV_ADAPTERS_PREFIX, strlen(SRV_ADAPTERS_PREFIX)) == 0)
        name = srv_param(r, "ledger");
    r->l = s->l;
    if (name == NULL || strcmp(name, TT_MAIN_LEDGER) == 0)
        return 0;
    if (!tt_ledger_name_valid(name)) {
        *answer = srv_error(r, 400,
                            "X-Ledger: a ledger name is 1-%d characters a-z, 0-9 and '-', "
                            "not starting with '-'",
                            TT_MAX_LEDGER_NAME);
        return -1;
    }
    /* A write may name a ledger that does not exist yet: its handler creates it once the
     * request is known to write (srv_ledger_create), so a refused one leaves nothing. */
    int rc = open_named(r, name, 0, answer);
    if (rc == TT_ENOTFOUND && create) {
        r->l = NULL;
        r->new_ledger = name;
        return 0;
    }
    return rc == TT_OK ? 0 : rc == TT_ENOTFOUND ? not_found(r, name, answer) : -1;
}

int srv_ledger_create(srv_req *r, enum MHD_Result *answer)
{
    if (r->l != NULL)
        return 0;
    int rc = open_named(r, r->new_ledger, 1, answer);
    return rc == TT_OK ? 0 : rc == TT_ENOTFOUND ? not_found(r, r->new_ledger, answer) : -1;
}

void srv_ledgers_each(srv *s, void (*fn)(srv *s, tt_ledger *l, int64_t *last, void *ctx), void *ctx)
{
    srv_ledgers *g = s->ledgers;
    int n = atomic_load_explicit(&g->n, memory_order_acquire);
    for (int i = 0; i < n; i++)
        fn(s, g->slots[i].l, &g->slots[i].last, ctx);
}

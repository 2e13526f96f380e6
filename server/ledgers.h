/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The named ledgers a server serves beside its main one (SPEC 15 namespaces): a request
 * picks one with the X-Ledger header; each is opened on first use and kept open until the
 * server stops, its checkpoints signed and its streams woken as the main ledger's are.
 */
#ifndef TT_SERVER_LEDGERS_H
#define TT_SERVER_LEDGERS_H

#include "answer.h"

/* At most this many named ledgers per server: each holds a write connection, readers and
 * a committer thread. */
#define SRV_MAX_LEDGERS 64

/* The adapters' routes (server/api_adapters.c) also take the name as ?ledger=NAME. */
#define SRV_ADAPTERS_PREFIX "/api/adapters/"

int srv_ledgers_start(srv *s);
/* Close every named ledger; no request may be running. */
void srv_ledgers_stop(srv *s);

/* Point r->l at the ledger the request's X-Ledger header names (the main ledger without
 * one). create: a write may create a ledger that does not exist yet. 0 when r->l is set;
 * otherwise the error answer (400 bad name, 404 no such ledger, 503 too many) is in
 * *answer and -1 is returned. */
int srv_ledger_select(srv *s, srv_req *r, int create, enum MHD_Result *answer);

/* Call fn for every named ledger opened so far (the ticker: sign, wake, sweep). *last
 * is the caller's own per-ledger state, kept here for it. */
void srv_ledgers_each(srv *s, void (*fn)(srv *s, tt_ledger *l, int64_t *last, void *ctx),
                      void *ctx);

#endif

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
 * one). create: the request writes, and may name a ledger that does not exist yet; r->l is
 * then NULL until its handler calls srv_ledger_create, after the request was checked, so
 * that a refused write creates nothing. 0 when done; otherwise the error answer (400 bad
 * name or X-Ledger twice, 404 no such ledger, 503 too many) is in *answer and -1 is
 * returned. */
int srv_ledger_select(srv *s, srv_req *r, int create, enum MHD_Result *answer);
/* Every write handler, before it writes: create the ledger r->new_ledger names when r->l
 * is NULL (503 at the limit). 0 when r->l is set; -1 with the answer in *answer. */
int srv_ledger_create(srv_req *r, enum MHD_Result *answer);

/* Call fn for every named ledger opened so far (the ticker: sign, wake, sweep). *last
 * is the caller's own per-ledger state, kept here for it. */
void srv_ledgers_each(srv *s, void (*fn)(srv *s, tt_ledger *l, int64_t *last, void *ctx),
                      void *ctx);

#endif

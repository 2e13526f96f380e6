/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pg_seed: the seed design on PostgreSQL, a baseline of SPEC 13. One INSERT per event into
 * the seed's strategy_audit_log table (text columns, indexes on (entity_id, ts),
 * (event_type), (actor)), each in its own durable commit, from CLIENTS concurrent
 * connections, with the events of bench_ledger's generator. The baseline is by definition
 * PostgreSQL without tradetrail, so this program talks to libpq directly.
 *
 * Usage: pg_seed CONNINFO CLIENTS SECONDS [MAX_EVENTS]. Recreates the table, runs until
 * SECONDS have passed or MAX_EVENTS (default 200000) are inserted, and prints
 * pg_seed_<CLIENTS> (events/s), pg_seed_<CLIENTS>_p50 and _p99 (ms, one INSERT and its
 * commit). The server (bench/measure.d/pg.sh starts one) must have fsync and
 * synchronous_commit on; pg_seed refuses to measure otherwise.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "tradetrail.h"

#define MAX_CLIENTS 256

static const char create_sql[] =
    "DROP TABLE IF EXISTS strategy_audit_log;"
    "CREATE TABLE strategy_audit_log(id TEXT PRIMARY KEY, entity TEXT NOT NULL,"
    " entity_id TEXT NOT NULL, event_type TEXT NOT NULL, old_status TEXT, new_status TEXT,"
    " actor TEXT, reason TEXT, metadata TEXT, ts TEXT NOT NULL);"
    "CREATE INDEX sal_entity_ts ON strategy_audit_log(entity_id, ts);"
    "CREATE INDEX sal_event_type ON strategy_audit_log(event_type);"
    "CREATE INDEX sal_actor ON strategy_audit_log(actor);"
    "CHECKPOINT;";

static const char insert_sql[] =
    "INSERT INTO strategy_audit_log(id, entity, entity_id, event_type, old_status,"
    " new_status, actor, reason, metadata, ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

typedef struct run {
    const tt_event *ev;
    size_t n;           /* events available */
    double deadline;    /* now_s() after which no new INSERT starts */
    double *lat_us;     /* indexed by event: every index is taken by one client */
    atomic_size_t next; /* the next event to insert */
    atomic_size_t done; /* INSERTs committed */
    pthread_barrier_t start;
} run;

typedef struct client {
    run *r;
    unsigned index;
    PGconn *conn;
    char err[512]; /* a failure, for main to print */
} client;

static PGconn *connect_db(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die("cannot connect (%s): %s", conninfo, PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die("%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
}

/* The figure is only the seed design if every commit is durable. */
static void require_setting(PGconn *c, const char *name, const char *want)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SHOW %s", name);
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        die("%s: %s", sql, PQerrorMessage(c));
    if (strcmp(PQgetvalue(res, 0, 0), want) != 0)
        die("the server runs with %s = %s; the seed design needs %s", name, PQgetvalue(res, 0, 0),
            want);
    PQclear(res);
}

static void *client_main(void *arg)
{
    client *cl = arg;
    run *r = cl->r;
    uint64_t st = 0x5eed0003 + cl->index;
    char id[26], ts[TT_TS_LEN + 1];
    pthread_barrier_wait(&r->start);
    for (;;) {
        /* Deadline first: an event once taken is inserted, so the inserted events are
         * always a prefix of the generated ones. */
        if (now_s() >= r->deadline)
            break;
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n)
            break;
        const tt_event *e = &r->ev[i];
        double t = now_s();
        make_cuid(id, &st, i);
        tt_time_format(tt_time_now_us(), ts);
        const char *values[10] = {id,
                                  e->entity,
                                  e->entity_id,
                                  e->event_type,
                                  e->old_status,
                                  e->new_status,
                                  e->actor,
                                  e->reason,
                                  e->metadata,
                                  ts};
        /* Autocommit: each INSERT is its own transaction, committed durably. */
        PGresult *res = PQexecPrepared(cl->conn, "ins", 10, values, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(cl->err, sizeof cl->err, "insert: %s", PQerrorMessage(cl->conn));
            PQclear(res);
            break;
        }
        PQclear(res);
        r->lat_us[i] = (now_s() - t) * 1e6;
        atomic_fetch_add(&r->done, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bench_prog = "pg_seed";
    if (argc != 4 && argc != 5) {
        fputs("usage: pg_seed CONNINFO CLIENTS SECONDS [MAX_EVENTS]\n", stderr);
        return 2;
    }
    const char *conninfo = argv[1];
    unsigned nclients = (unsigned)parse_count(argv[2], "CLIENTS", 1, MAX_CLIENTS);
    double seconds = parse_seconds(argv[3]);
    size_t n = argc == 5 ? (size_t)parse_count(argv[4], "MAX_EVENTS", 1, 100000000) : 200000;

    PGconn *admin = connect_db(conninfo);
    require_setting(admin, "fsync", "on");
    require_setting(admin, "synchronous_commit", "on");
    exec_ok(admin, "SET client_min_messages = warning"); /* no "does not exist, skipping" */
    exec_ok(admin, create_sql);

    static subject pool[N_SUBJECTS];
    make_subjects(pool);
    arena strings = {0};
    tt_event *ev = make_events(n, pool, &strings);
    run r = {.ev = ev, .n = n};
    r.lat_us = calloc(n, sizeof *r.lat_us);
    client *cl = calloc(nclients, sizeof *cl);
    pthread_t *th = calloc(nclients, sizeof *th);
    if (r.lat_us == NULL || cl == NULL || th == NULL)
        die("out of memory");
    atomic_init(&r.next, 0);
    atomic_init(&r.done, 0);
    pthread_barrier_init(&r.start, NULL, nclients + 1);

    /* Connect and prepare before the clock starts, as a pooled application would. */
    for (unsigned k = 0; k < nclients; k++) {
        cl[k].r = &r;
        cl[k].index = k;
        cl[k].conn = connect_db(conninfo);
        PGresult *res = PQprepare(cl[k].conn, "ins", insert_sql, 10, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            die("prepare: %s", PQerrorMessage(cl[k].conn));
        PQclear(res);
    }
    for (unsigned k = 0; k < nclients; k++)
        if (pthread_create(&th[k], NULL, client_main, &cl[k]) != 0)
            die("cannot start client thread %u", k);
    double t0 = now_s();
    r.deadline = t0 + seconds;
    pthread_barrier_wait(&r.start);
    for (unsigned k = 0; k < nclients; k++)
        pthread_join(th[k], NULL);
    double elapsed = now_s() - t0;
    for (unsigned k = 0; k < nclients; k++) {
        if (cl[k].err[0] != '\0')
            die("client %u: %s", k, cl[k].err);
        PQfinish(cl[k].conn);
    }

    /* Every INSERT that was acknowledged must be in the table. */
    size_t done = atomic_load(&r.done);
    PGresult *res = PQexec(admin, "SELECT count(*) FROM strategy_audit_log");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        die("count: %s", PQerrorMessage(admin));
    if (strtoull(PQgetvalue(res, 0, 0), NULL, 10) != done)
        die("%zu INSERTs acknowledged but %s rows in the table", done, PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(admin);
    if (done == 0)
        die("no INSERT finished");

    /* The inserted events are indexes 0 .. done - 1 (see client_main). */
    char key[64];
    snprintf(key, sizeof key, "pg_seed_%u", nclients);
    figure(key, (double)done / elapsed, "events/s");
    qsort(r.lat_us, done, sizeof *r.lat_us, cmp_double);
    snprintf(key, sizeof key, "pg_seed_%u_p50", nclients);
    figure(key, percentile(r.lat_us, done, 50) / 1000, "ms");
    snprintf(key, sizeof key, "pg_seed_%u_p99", nclients);
    figure(key, percentile(r.lat_us, done, 99) / 1000, "ms");
    fprintf(stderr, "pg_seed: %u client(s), %zu INSERTs in %.2f s\n", nclients, done, elapsed);

    pthread_barrier_destroy(&r.start);
    free(th);
    free(cl);
    free(r.lat_us);
    free(ev);
    arena_free(&strings);
    return 0;
}

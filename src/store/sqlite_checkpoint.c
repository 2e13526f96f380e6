/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copying the WAL into the database file (a checkpoint) on a thread of its own, with a
 * connection of its own, so that the writer's thread goes on committing meanwhile. A
 * checkpoint on the writer's thread held up every commit queued behind it: 11 % of the
 * library's batched append and 13 % of the server's CPU under NDJSON load were checkpoints
 * on the committer thread (measured 2026-12-06; docs/PERFORMANCE.md). SQLite lets a
 * PASSIVE checkpoint of one connection run beside another connection's commits; it copies
 * the frames committed before it started, and the WAL starts over at the first write after
 * a checkpoint has copied all of it.
 *
 * The thread and its connection are made at the first checkpoint a store needs, so short
 * commands that never fill the WAL start none. What the writer's hook decides (when to
 * ask, when to checkpoint itself) is in sqlite.c:wal_hook.
 */
#include <pthread.h>
#include <stdlib.h>

#include "store/sqlite_internal.h"
#include "util/thread.h"

struct tti_sqlite_ckpt {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    sqlite3 *db;
    int wanted;  /* a checkpoint was asked for and has not started */
    int running; /* one is copying now */
    int stop;
    int copied; /* the WAL frames the last checkpoint had copied when it ended */
};

static void *ckpt_main(void *arg)
{
    tti_sqlite_ckpt *k = arg;
    tti_thread_name("tt-checkpoint");
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        if (!k->wanted) {
            pthread_cond_wait(&k->cv, &k->mu);
            continue;
        }
        k->wanted = 0;
        k->running = 1;
        pthread_mutex_unlock(&k->mu);
        /* A failed checkpoint is retried by the next one, as SQLite's autocheckpoint does. */
        int log = 0, copied = 0;
        if (sqlite3_wal_checkpoint_v2(k->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied) !=
            SQLITE_OK)
            copied = 0;
        pthread_mutex_lock(&k->mu);
        k->running = 0;
        k->copied = copied;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* The checkpointer's connection: the writer's file, with the WAL opened by a first read
 * (a connection that has read nothing has no WAL to checkpoint). */
static sqlite3 *ckpt_connect(sqlite3 *writer)
{
    const char *file = sqlite3_db_filename(writer, "main");
    sqlite3 *db = NULL;
    if (file == NULL || file[0] == '\0' ||
        sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=FULL; SELECT count(*) FROM sqlite_master", NULL, NULL,
                     NULL) != SQLITE_OK) {
        sqlite3_close_v2(db);
        return NULL;
    }
    return db;
}

static tti_sqlite_ckpt *ckpt_start(sqlite3 *writer)
{
    tti_sqlite_ckpt *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    if ((k->db = ckpt_connect(writer)) == NULL)
        goto fail;
    if (pthread_mutex_init(&k->mu, NULL) != 0)
        goto fail_db;
    if (pthread_cond_init(&k->cv, NULL) != 0)
        goto fail_mu;
    if (pthread_create(&k->thread, NULL, ckpt_main, k) == 0)
        return k;
    pthread_cond_destroy(&k->cv);
fail_mu:
    pthread_mutex_destroy(&k->mu);
fail_db:
    sqlite3_close_v2(k->db);
fail:
    free(k);
    return NULL;
}

int tti_sqlite_ckpt_ask(tti_store *s, int frames, int limit, int restarted)
{
    if (s->ckpt == NULL && !s->ckpt_failed && (s->ckpt = ckpt_start(s->db)) == NULL)
        s->ckpt_failed = 1; /* the writer checkpoints itself from now on */
    tti_sqlite_ckpt *k = s->ckpt;
    if (k == NULL)
        return 0;
    pthread_mutex_lock(&k->mu);
    /* After the WAL started over, what an earlier checkpoint copied says nothing. */
    if (restarted || k->copied > frames)
        k->copied = 0;
    if (!k->running && !k->wanted && frames - k->copied >= limit) {
        k->wanted = 1;
        pthread_cond_signal(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return 1;
}

void tti_sqlite_ckpt_wait(tti_store *s)
{
    tti_sqlite_ckpt *k = s->ckpt;
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    while (k->running || k->wanted)
        pthread_cond_wait(&k->cv, &k->mu);
    pthread_mutex_unlock(&k->mu);
}

void tti_sqlite_ckpt_stop(tti_store *s)
{
    tti_sqlite_ckpt *k = s->ckpt;
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    sqlite3_close_v2(k->db);
    free(k);
    s->ckpt = NULL;
}

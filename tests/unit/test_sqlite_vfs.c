/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writer's VFS (src/store/sqlite_vfs.c), which gathers WAL writes until the commit's
 * sync: every commit, small or larger than its buffer, is complete for a connection of
 * the default VFS; a commit costs a few writes instead of two per page; a full disk at
 * the gathered write fails the commit with SQLITE_FULL and the next commit works; a
 * pragma that would stop commits from syncing is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_internal.h"

/* ---- counting and failing the unix VFS's writes (its system call table) ---- */

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
static pwrite_fn real_pwrite, real_pwrite64;
static int writes, fail_writes;

static ssize_t count_write(pwrite_fn real, int fd, const void *p, size_t n, off_t off)
{
    writes++;
    if (fail_writes) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, p, n, off);
}

static ssize_t my_pwrite(int fd, const void *p, size_t n, off_t off)
{
    return count_write(real_pwrite, fd, p, n, off);
}

static ssize_t my_pwrite64(int fd, const void *p, size_t n, off_t off)
{
    return count_write(real_pwrite64, fd, p, n, off);
}

static void hook_writes(void)
{
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
    assert_non_null(unix_vfs);
    real_pwrite = (pwrite_fn)unix_vfs->xGetSystemCall(unix_vfs, "pwrite");
    real_pwrite64 = (pwrite_fn)unix_vfs->xGetSystemCall(unix_vfs, "pwrite64");
    int hooked = 0;
    if (real_pwrite != NULL)
        hooked += unix_vfs->xSetSystemCall(unix_vfs, "pwrite", (sqlite3_syscall_ptr)my_pwrite) ==
                  SQLITE_OK;
    if (real_pwrite64 != NULL)
        hooked += unix_vfs->xSetSystemCall(unix_vfs, "pwrite64",
                                           (sqlite3_syscall_ptr)my_pwrite64) == SQLITE_OK;
    assert_true(hooked > 0);
}

/* ---- a writer on the gathering VFS and a reader on the default one ---- */

typedef struct pair {
    char dir[64];
    char path[96];
    sqlite3 *w, *r;
} pair;

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static void pair_open(pair *p)
{
    const char *vfs = tti_sqlite_gather_vfs();
    assert_non_null(vfs);
    snprintf(p->dir, sizeof p->dir, "/tmp/tt-vfs-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->path, sizeof p->path, "%s/t.db", p->dir);
    assert_int_equal(
        sqlite3_open_v2(p->path, &p->w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
        SQLITE_OK);
    exec_ok(p->w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                  " CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    assert_int_equal(sqlite3_open_v2(p->path, &p->r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

static void pair_close(pair *p)
{
    sqlite3_close(p->r);
    sqlite3_close(p->w);
    char f[128];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s%s", p->path, suffix[i]);
        unlink(f);
    }
    rmdir(p->dir);
}

/* n rows of about 4,000 bytes each (one page apiece), keys from *next on. */
static int insert_rows(sqlite3 *db, int *next, int n)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO t(k, v) VALUES (?1, printf('%.*c%d',"
                                        " 3990, 'x', ?1))",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        sqlite3_bind_int(st, 1, *next + i);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    else
        *next += n;
    return rc;
}

static sqlite3_int64 one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The reader sees exactly rows 1..next-1, each with its own text. */
static void reader_sees(sqlite3 *r, int next)
{
    assert_int_equal(one_int(r, "SELECT count(*) FROM t"), next - 1);
    assert_int_equal(one_int(r, "SELECT count(*) FROM t WHERE v <> printf('%.*c%d', 3990, 'x', k)"),
                     0);
}

static void test_every_commit_is_complete_for_other_connections(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    int next = 1;
    /* single pages, sizes around the 96 KiB write limit, and commits larger than the
     * 1 MiB buffer (flushed in the middle) */
    const int sizes[] = {1, 2, 23, 24, 25, 31, 32, 33, 100, 255, 256, 257, 300, 600, 1, 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(insert_rows(p.w, &next, sizes[i]), SQLITE_OK);
        reader_sees(p.r, next);
    }
    exec_ok(p.w, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_int_equal(insert_rows(p.w, &next, 40), SQLITE_OK); /* a WAL started over */
    reader_sees(p.r, next);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(p.r, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    pair_close(&p);
}

static void test_a_commit_costs_few_writes(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    int next = 1;
    assert_int_equal(insert_rows(p.w, &next, 5), SQLITE_OK);
    writes = 0;
    assert_int_equal(insert_rows(p.w, &next, 60), SQLITE_OK);
    /* 60 and more pages: two writes per frame without gathering, about 120; gathered,
     * 60 x 4,120 bytes go in three writes of at most 96 KiB */
    assert_in_range(writes, 1, 8);
    reader_sees(p.r, next);
    pair_close(&p);
}

static void test_full_disk_fails_the_commit_only(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    int next = 1;
    assert_int_equal(insert_rows(p.w, &next, 10), SQLITE_OK);
    fail_writes = 1;
    int rc = insert_rows(p.w, &next, 10);
    fail_writes = 0;
    assert_int_equal(rc & 0xff, SQLITE_FULL);
    reader_sees(p.r, 11);
    assert_int_equal(insert_rows(p.w, &next, 10), SQLITE_OK);
    assert_int_equal(next, 21);
    reader_sees(p.r, next);
    pair_close(&p);
}

static void test_a_pragma_that_stops_syncing_is_refused(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    const char *refused[] = {"PRAGMA synchronous=NORMAL", "PRAGMA synchronous=off",
                             "PRAGMA main.synchronous=1", "PRAGMA synchronous=0"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(sqlite3_exec(p.w, refused[i], NULL, NULL, NULL), SQLITE_ERROR);
        assert_non_null(strstr(sqlite3_errmsg(p.w), "synchronous=FULL"));
    }
    exec_ok(p.w, "PRAGMA synchronous=EXTRA; PRAGMA synchronous=FULL");
    assert_int_equal(one_int(p.w, "PRAGMA synchronous"), 2);
    /* the default VFS's connections are not affected */
    exec_ok(p.r, "PRAGMA synchronous=NORMAL");
    pair_close(&p);
}

int main(void)
{
    hook_writes();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_commit_is_complete_for_other_connections),
        cmocka_unit_test(test_a_commit_costs_few_writes),
        cmocka_unit_test(test_full_disk_fails_the_commit_only),
        cmocka_unit_test(test_a_pragma_that_stops_syncing_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

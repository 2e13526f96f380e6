/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writer's WAL file, written in a few large writes per commit instead of two per page.
 * SQLite writes each WAL frame as two pwrite calls (its 24-byte header, then the page),
 * at consecutive offsets, and syncs the file at every commit (synchronous=FULL). This
 * shim over the default VFS gathers consecutive writes of a WAL file in memory and hands
 * them to the file at the sync, or before anything reads, resizes or writes elsewhere in
 * it. Nothing becomes durable or visible later than before: other connections see a
 * commit's frames only once the writer updates the WAL index, after the sync. A write
 * that fails at the flush fails the sync with the same status (SQLITE_FULL stays
 * SQLITE_FULL), so the commit fails as it would have. Only the writer's connection uses
 * this VFS (sqlite.c); every other file goes straight through.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

#define GATHER_MAX (1024 * 1024) /* a group commit of single events writes ~300 KiB */

typedef struct gather_file {
    sqlite3_file base;
    char *buf; /* NULL: a file this shim does not gather (not a WAL) */
    size_t len;
    sqlite3_int64 off;  /* the file offset of buf[0] */
    sqlite3_file *real; /* follows this struct in the same allocation */
} gather_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs gather_vfs;

/* WARNING: SQLite's unix VFS masks every write to its low 17 bits (seekAndWriteFd,
 * "nBuf &= 0x1ffff") and reports a write of a multiple of 128 KiB as a full disk: hand it
 * at most WRITE_MAX bytes per call. */
#define WRITE_MAX (96 * 1024)

static int write_out(gather_file *g, const char *p, size_t len, sqlite3_int64 off)
{
    int rc = SQLITE_OK;
    for (size_t at = 0; at < len && rc == SQLITE_OK; at += WRITE_MAX) {
        size_t n = len - at < WRITE_MAX ? len - at : WRITE_MAX;
        rc = g->real->pMethods->xWrite(g->real, p + at, (int)n, off + (sqlite3_int64)at);
    }
    return rc;
}

static int flush(gather_file *g)
{
    int rc = write_out(g, g->buf, g->len, g->off);
    g->len = 0;
    return rc;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((gather_file *)f)->real;
}

static int g_close(sqlite3_file *f)
{
    gather_file *g = (gather_file *)f;
    int rc = flush(g);
    int rc2 = g->real->pMethods->xClose(g->real);
    free(g->buf);
    g->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int g_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    gather_file *g = (gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xRead(g->real, p, n, off);
}

static int g_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    gather_file *g = (gather_file *)f;
    if (g->buf == NULL)
        return g->real->pMethods->xWrite(g->real, p, n, off);
    if (g->len > 0 && (off != g->off + (sqlite3_int64)g->len || g->len + (size_t)n > GATHER_MAX)) {
        int rc = flush(g);
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)n > WRITE_MAX)
        return write_out(g, p, (size_t)n, off);
    if (g->len == 0)
        g->off = off;
    memcpy(g->buf + g->len, p, (size_t)n);
    g->len += (size_t)n;
    return SQLITE_OK;
}

static int g_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    gather_file *g = (gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xTruncate(g->real, size);
}

static int g_sync(sqlite3_file *f, int flags)
{
    gather_file *g = (gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xSync(g->real, flags);
}

static int g_size(sqlite3_file *f, sqlite3_int64 *size)
{
    gather_file *g = (gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFileSize(g->real, size);
}

static int g_lock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int g_unlock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int g_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

/* WARNING: gathered frames are safe only because every commit syncs the WAL, which hands
 * them to the file before the WAL index makes them visible. With synchronous=NORMAL or
 * OFF a commit does not sync, and other connections would read frames still in memory
 * here: such a pragma on a connection of this VFS is refused. */
static int sync_pragma_refused(char **arg)
{
    const char *name = arg[1], *value = arg[2];
    if (name == NULL || value == NULL || sqlite3_stricmp(name, "synchronous") != 0)
        return 0;
    return sqlite3_stricmp(value, "full") != 0 && sqlite3_stricmp(value, "extra") != 0 &&
           strcmp(value, "2") != 0 && strcmp(value, "3") != 0;
}

static int g_control(sqlite3_file *f, int op, void *arg)
{
    gather_file *g = (gather_file *)f;
    if (op == SQLITE_FCNTL_PRAGMA && sync_pragma_refused(arg)) {
        ((char **)arg)[0] = sqlite3_mprintf("the ledger's writer keeps synchronous=FULL");
        return SQLITE_ERROR;
    }
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFileControl(g->real, op, arg);
}

static int g_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int g_device(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int g_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return real_of(f)->pMethods->xShmMap(real_of(f), pg, pgsz, extend, pp);
}

static int g_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void g_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int g_shm_unmap(sqlite3_file *f, int del)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}

static int g_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    gather_file *g = (gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFetch(g->real, off, n, pp);
}

static int g_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

static const sqlite3_io_methods gather_methods = {
    3,          g_close,       g_read,      g_write,   g_truncate, g_sync,   g_size,
    g_lock,     g_unlock,      g_reserved,  g_control, g_sector,   g_device, g_shm_map,
    g_shm_lock, g_shm_barrier, g_shm_unmap, g_fetch,   g_unfetch,
};

static int g_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                  int *out_flags)
{
    (void)vfs;
    gather_file *g = (gather_file *)f;
    memset(g, 0, sizeof *g);
    g->real = (sqlite3_file *)(g + 1);
    if ((flags & SQLITE_OPEN_WAL) != 0 && (g->buf = malloc(GATHER_MAX)) == NULL)
        return SQLITE_NOMEM;
    int rc = real_vfs->xOpen(real_vfs, name, g->real, flags, out_flags);
    if (rc != SQLITE_OK || g->real->pMethods == NULL) {
        free(g->buf);
        g->buf = NULL;
        return rc;
    }
    g->base.pMethods = &gather_methods;
    return SQLITE_OK;
}

/* Register the VFS (once, from sqlite.c's setup); its name for sqlite3_open_v2, or NULL
 * when the default VFS is to be used instead. */
const char *tti_sqlite_gather_vfs(void)
{
    if (gather_vfs.zName != NULL)
        return gather_vfs.zName;
    if ((real_vfs = sqlite3_vfs_find(NULL)) == NULL)
        return NULL;
    gather_vfs = *real_vfs;
    gather_vfs.zName = "tradetrail-gather";
    gather_vfs.szOsFile = (int)sizeof(gather_file) + real_vfs->szOsFile;
    gather_vfs.pNext = NULL;
    gather_vfs.xOpen = g_open;
    if (sqlite3_vfs_register(&gather_vfs, 0) != SQLITE_OK) {
        gather_vfs.zName = NULL;
        return NULL;
    }
    return gather_vfs.zName;
}

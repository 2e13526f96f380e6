/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening and closing a ledger: locating the store and the signing key, creating both for
 * `tradetrail init`, the reader pool, per-thread error messages, and the registry of
 * transaction hooks and commit observers.
 */
#include "ledger/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "util/codec.h"
#include "util/config.h"
#include "util/err.h"
#include "util/fs.h"

static _Thread_local char tl_err[1024];

int tti_fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_err, sizeof tl_err, fmt, ap);
    va_end(ap);
    return rc;
}

int tti_store_fail(tt_ledger *l, tti_store *s, int rc)
{
    return tti_fail(rc, "%s", l->ops->errmsg(s));
}

const char *tt_ledger_errmsg(tt_ledger *l)
{
    (void)l;
    return tl_err;
}

const char *tt_ledger_origin(tt_ledger *l)
{
    return l->origin;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* SPEC 4: the data directory and the signing key belong to the user running tradetrail
 * and nobody else may change them (the key nobody else may read either). WARNING: a
 * directory another user made (a /tmp fallback planted in advance) could hold their key or
 * database, or let them swap ours; so it is refused, never repaired. */
static int check_private(const char *what, const char *path, const struct stat *st,
                         mode_t forbidden, char *err, size_t errlen)
{
    if (st->st_uid != geteuid())
        return tti_err(err, errlen, TT_EINVAL,
                       "%s %s is owned by uid %u, not by you (uid %u): it may not be yours; "
                       "remove it or use another path (--data DIR)",
                       what, path, (unsigned)st->st_uid, (unsigned)geteuid());
    if ((st->st_mode & forbidden) != 0)
        return tti_err(err, errlen, TT_EINVAL,
                       "%s %s is %s by others (mode %04o); run `chmod %s %s`", what, path,
                       (st->st_mode & forbidden & 022) != 0 ? "writable" : "readable",
                       (unsigned)(st->st_mode & 07777), S_ISDIR(st->st_mode) ? "700" : "600", path);
    return TT_OK;
}

static int check_data_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno == ENOENT
                   ? TT_OK /* the store's open says what is missing */
                   : tti_err(err, errlen, TT_EIO, "cannot examine data directory %s: %s", dir,
                             strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return tti_err(err, errlen, TT_EINVAL, "data directory %s is not a directory", dir);
    return check_private("data directory", dir, &st, S_IWGRP | S_IWOTH, err, errlen);
}

/* Read the signing key: TT_ENOTFOUND when absent, TT_EIO (errno set), or TT_EINVAL with a
 * message in err when it is not private to this user. */
static int read_key_file(const char *path, char *buf, size_t cap, size_t *len, char *err,
                         size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TT_ENOTFOUND : TT_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return TT_EIO;
    }
    int rc = check_private("signing key", path, &st, S_IRWXG | S_IRWXO, err, errlen);
    if (rc != TT_OK) {
        close(fd);
        return rc;
    }
    ssize_t n = read(fd, buf, cap - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return TT_EIO;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return TT_OK;
}

/* WARNING: the private key is written with mode 0600 from the start (no window where it is
 * readable by others) and fsynced with its directory so a crash cannot lose it. */
static int write_key_file(const char *path, const char *text, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return tti_err(err, errlen, TT_EIO, "cannot create signing key %s: %s", path,
                       strerror(errno));
    (void)fchmod(fd, 0600); /* exactly 0600: a umask such as 0277 would leave it 0400 */
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int ok = n == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok) {
        unlink(path);
        return tti_err(err, errlen, TT_EIO, "cannot write signing key %s: %s", path,
                       strerror(saved));
    }
    char *dir = strdup(path);
    if (dir != NULL) {
        char *slash = strrchr(dir, '/');
        if (slash != NULL) {
            *slash = '\0';
            int dfd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
        free(dir);
    }
    return TT_OK;
}

static int create_key(tt_ledger *l, const char *path, char *err, size_t errlen)
{
    tti_signer s;
    int rc = tti_signer_generate(l->origin, &s);
    if (rc != TT_OK)
        return tti_err(err, errlen, rc, "cannot generate a signing key");
    char *text = NULL;
    rc = tti_signer_format_private(&s, &text);
    if (rc == TT_OK)
        rc = write_key_file(path, text, err, errlen);
    else
        tti_err(err, errlen, rc, "cannot encode the signing key");
    if (text != NULL) {
        tti_cleanse(text, strlen(text));
        free(text);
    }
    if (rc == TT_OK)
        l->signer = s;
    tti_cleanse(&s, sizeof s);
    return rc;
}

/* A ledger that already recorded its verifier key must keep using that key. */
static int has_stored_key(tt_ledger *l)
{
    char *v = NULL;
    int rc = l->ops->meta_get(l->w, "verifier_key", &v);
    free(v);
    return rc == TT_OK;
}

static int load_key(tt_ledger *l, const char *path, int create, char *err, size_t errlen)
{
    char buf[1024];
    size_t len = 0;
    int rc = read_key_file(path, buf, sizeof buf, &len, err, errlen);
    if (rc == TT_EINVAL)
        return rc;
    if (rc == TT_ENOTFOUND && create && has_stored_key(l))
        return tti_err(err, errlen, TT_ENOTFOUND,
                       "signing key %s is missing but this ledger's checkpoints were signed "
                       "with one; restore it from a backup (a new key would not match)",
                       path);
    if (rc == TT_ENOTFOUND && create)
        rc = create_key(l, path, err, errlen);
    else if (rc == TT_ENOTFOUND)
        return TT_OK; /* a ledger without its key can be read and verified, not signed */
    else if (rc != TT_OK)
        return tti_err(err, errlen, rc, "cannot read signing key %s: %s", path, strerror(errno));
    else if ((rc = tti_signer_parse_private(buf, len, &l->signer)) != TT_OK)
        tti_err(err, errlen, rc, "signing key %s is malformed", path);
    tti_cleanse(buf, sizeof buf);
    if (rc != TT_OK)
        return rc;
    l->have_signer = 1;
    char *vkey = NULL;
    if ((rc = tti_signer_verifier_key(&l->signer, &vkey)) != TT_OK)
        return tti_err(err, errlen, rc, "cannot derive the verifier key");
    rc = tti_verifier_parse(vkey, strlen(vkey), &l->verifier);
    free(vkey);
    l->have_verifier = l->verifier_trusted = rc == TT_OK;
    return rc;
}

/* The origin doubles as the signing key's name (C2SP signed-note key name rules). */
static int origin_ok(const char *o)
{
    size_t n = strlen(o);
    if (n == 0 || n > TTI_KEY_NAME_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)o; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '+')
            return 0;
    return tt_utf8_valid(o, n);
}

/* The origin and verifier key live in the store so that a ledger opened without its key
 * (a read-only copy) can still check checkpoint signatures. */
static int setup_meta(tt_ledger *l, const tt_open_options *o, char *err, size_t errlen)
{
    char *origin = NULL;
    int rc = l->ops->meta_get(l->w, "origin", &origin);
    if (rc == TT_ENOTFOUND && o->create) {
        char buf[160];
        if (o->origin != NULL) {
            if (!origin_ok(o->origin))
                return tti_err(err, errlen, TT_EINVAL,
                               "origin: 1-128 printable characters without spaces or '+' "
                               "(it names the signing key)");
            snprintf(buf, sizeof buf, "%s", o->origin);
        } else {
            uint8_t rnd[4];
            char hex[9];
            if (tti_random(rnd, sizeof rnd) != 0)
                return tti_err(err, errlen, TT_ECRYPTO, "no randomness for the origin");
            tti_hex_encode(rnd, sizeof rnd, hex);
            snprintf(buf, sizeof buf, "tradetrail/%s", hex);
        }
        if ((rc = l->ops->meta_set(l->w, "origin", buf)) != TT_OK)
            return tti_err(err, errlen, rc, "%s", l->ops->errmsg(l->w));
        origin = strdup(buf);
        rc = origin ? TT_OK : TT_ENOMEM;
    }
    if (rc != TT_OK)
        return tti_err(err, errlen, rc, "%s",
                       rc == TT_ENOTFOUND ? "store has no origin" : l->ops->errmsg(l->w));
    l->origin = origin;
    return TT_OK;
}

/* The key name and id of a verifier key ("name+id+key"): enough to tell two keys apart in
 * a message. */
static void key_id(const char *vkey, char *out, size_t cap)
{
    const char *plus = strchr(vkey, '+');
    size_t n = plus != NULL && strchr(plus + 1, '+') != NULL
                   ? (size_t)(strchr(plus + 1, '+') - vkey)
                   : strlen(vkey);
    snprintf(out, cap, "%.*s", (int)n, vkey);
}

/* A signing key file that is not the one this ledger's checkpoints were signed with (a
 * replica's data directory initialised on its own, a restored backup of another ledger)
 * would sign checkpoints that verify rejects. A command that writes (init, serve) refuses
 * to open; any other one opens without the key and cannot sign. */
static int check_signer(tt_ledger *l, const char *stored, int create, char *err, size_t errlen)
{
    char *vkey = NULL;
    if (tti_signer_verifier_key(&l->signer, &vkey) != TT_OK)
        return tti_err(err, errlen, TT_ECRYPTO, "cannot derive the verifier key");
    int same = strcmp(vkey, stored) == 0;
    char mine[TTI_KEY_NAME_MAX + 16], theirs[TTI_KEY_NAME_MAX + 16];
    key_id(vkey, mine, sizeof mine);
    key_id(stored, theirs, sizeof theirs);
    free(vkey);
    if (same)
        return TT_OK;
    snprintf(l->wrong_key, sizeof l->wrong_key,
             "signing key %s (%s) is not the key this ledger's checkpoints are signed with "
             "(%s); use a copy of the ledger's own signing.key",
             l->key_path, mine, theirs);
    tti_cleanse(&l->signer, sizeof l->signer);
    l->have_signer = 0;
    return create ? tti_err(err, errlen, TT_EINVAL, "%s", l->wrong_key) : TT_OK;
}

static int store_verifier(tt_ledger *l, int create, char *err, size_t errlen)
{
    char *stored = NULL;
    int rc = l->ops->meta_get(l->w, "verifier_key", &stored);
    if (rc == TT_OK) {
        if (l->have_signer)
            rc = check_signer(l, stored, create, err, errlen);
        if (!l->have_verifier)
            l->have_verifier = tti_verifier_parse(stored, strlen(stored), &l->verifier) == 0;
        free(stored);
        return rc;
    }
    if (rc != TT_ENOTFOUND || !l->have_signer)
        return rc == TT_ENOTFOUND ? TT_OK : tti_err(err, errlen, rc, "%s", l->ops->errmsg(l->w));
    char *vkey = NULL;
    if ((rc = tti_signer_verifier_key(&l->signer, &vkey)) != TT_OK)
        return tti_err(err, errlen, rc, "cannot derive the verifier key");
    rc = l->ops->meta_set(l->w, "verifier_key", vkey);
    free(vkey);
    return rc == TT_OK ? TT_OK : tti_err(err, errlen, rc, "%s", l->ops->errmsg(l->w));
}

static int open_store(tt_ledger *l, const tt_open_options *o, const char *ns, char *err,
                      size_t errlen)
{
    l->ops = tti_store_backend(l->uri);
    char shown[512]; /* WARNING: a mistyped postgres:// URI still holds its password */
    if (l->ops == NULL)
        return tti_err(err, errlen, TT_EINVAL,
                       "unsupported store URI %s (use a file path, sqlite:PATH or postgres://...)",
                       tti_store_uri_shown(l->uri, shown, sizeof shown));
    tti_store_config wcfg = {.create = o->create,
                             .busy_timeout_ms = o->busy_timeout_ms > 0 ? o->busy_timeout_ms : 10000,
                             .ns = ns};
    l->rcfg = wcfg;
    l->rcfg.create = 0;
    l->rcfg.read_only = 1;
    return l->ops->open(l->uri, &wcfg, &l->w, err, errlen);
}

static int init_locks(tt_ledger *l)
{
    if (pthread_mutex_init(&l->wlock, NULL) != 0)
        return TT_ENOMEM;
    if (pthread_mutex_init(&l->qlock, NULL) != 0)
        return TT_ENOMEM;
    if (pthread_cond_init(&l->committer_wake, NULL) != 0)
        return TT_ENOMEM;
    if (pthread_mutex_init(&l->plock, NULL) != 0)
        return TT_ENOMEM;
    if (pthread_mutex_init(&l->hlock, NULL) != 0)
        return TT_ENOMEM;
    if (pthread_mutex_init(&l->olock, NULL) != 0)
        return TT_ENOMEM;
    if (pthread_mutex_init(&l->clock, NULL) != 0)
        return TT_ENOMEM;
    if (pthread_mutex_init(&l->tlock, NULL) != 0)
        return TT_ENOMEM;
    return TT_OK;
}

static int resolve_paths(const tt_open_options *o, char **uri, char **key, char *err, size_t errlen)
{
    if (o->data_dir == NULL && (o->db_uri == NULL || o->key_path == NULL))
        return tti_err(err, errlen, TT_EMISUSE, "no data directory given");
    if (o->create && o->data_dir != NULL) {
        struct stat st;
        int existed = stat(o->data_dir, &st) == 0;
        int rc = tti_mkdir_p(o->data_dir, err, errlen);
        if (rc != TT_OK)
            return rc;
        /* 0700 whatever the umask (mkdir's mode is masked by it). */
        if (!existed && chmod(o->data_dir, 0700) != 0)
            return tti_err(err, errlen, TT_EIO, "cannot set the mode of %s: %s", o->data_dir,
                           strerror(errno));
    }
    if (o->data_dir != NULL) {
        int rc = check_data_dir(o->data_dir, err, errlen);
        if (rc != TT_OK)
            return rc;
    }
    *uri = o->db_uri ? strdup(o->db_uri) : join_path(o->data_dir, "ledger.db");
    *key = o->key_path ? strdup(o->key_path) : join_path(o->data_dir, "signing.key");
    if (*uri == NULL || *key == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    return TT_OK;
}

/* ns: NULL for the store's main ledger, else a named one (SPEC 15), whose store the
 * backend keeps beside the main ledger's (tti_store_config.ns). */
static int open_ledger(const tt_open_options *o, const char *ns, tt_ledger **out, char *err,
                       size_t errlen)
{
    tt_ledger *l = calloc(1, sizeof *l);
    if (l == NULL || init_locks(l) != TT_OK) {
        free(l);
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    }
    l->batch_max_events = o->batch_max_events > 0 ? o->batch_max_events : TT_MAX_BATCH;
    l->batch_wait_us = o->batch_wait_us > 0 ? o->batch_wait_us : 200;
    char *key = NULL;
    int rc = resolve_paths(o, &l->uri, &key, err, errlen);
    if (rc == TT_OK && (l->key_path = strdup(key)) == NULL)
        rc = tti_err(err, errlen, TT_ENOMEM, "out of memory");
    if (rc == TT_OK && ns != NULL && (l->name = strdup(ns)) == NULL)
        rc = tti_err(err, errlen, TT_ENOMEM, "out of memory");
    if (rc == TT_OK)
        rc = open_store(l, o, l->name, err, errlen);
    if (rc == TT_OK)
        rc = setup_meta(l, o, err, errlen);
    if (rc == TT_OK)
        rc = load_key(l, key, o->create, err, errlen);
    if (rc == TT_OK)
        rc = store_verifier(l, o->create, err, errlen);
    free(key);
    if (rc != TT_OK) {
        tt_ledger_close(l);
        return rc;
    }
    *out = l;
    return TT_OK;
}

int tt_ledger_open(const tt_open_options *o, tt_ledger **out, char *err, size_t errlen)
{
    if (o == NULL || out == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "tt_ledger_open: NULL argument");
    return open_ledger(o, NULL, out, err, errlen);
}

int tt_ledger_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > TT_MAX_LEDGER_NAME || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-'))
            return 0;
    return 1;
}

/* A named ledger shares everything of the main ledger's opening but its store and its
 * origin line: same store URI and signing key, origin "<main origin>/NAME". */
int tt_ledger_open_named(tt_ledger *main, const char *name, int create, tt_ledger **out, char *err,
                         size_t errlen)
{
    if (main == NULL || out == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "tt_ledger_open_named: NULL argument");
    if (main->name != NULL)
        return tti_err(err, errlen, TT_EMISUSE, "ledger %s is not a main ledger", main->name);
    if (!tt_ledger_name_valid(name) || strcmp(name, TT_MAIN_LEDGER) == 0)
        return tti_err(err, errlen, TT_EINVAL,
                       "ledger name \"%s\": 1-%d characters a-z, 0-9 and '-', not starting "
                       "with '-', and not \"%s\" (the main ledger)",
                       name ? name : "", TT_MAX_LEDGER_NAME, TT_MAIN_LEDGER);
    if (create && !main->have_signer)
        return tti_err(err, errlen, TT_EINVAL,
                       "ledger %s: the main ledger was opened without its signing key, and a "
                       "new ledger must sign with it",
                       name);
    char origin[TTI_KEY_NAME_MAX + 1];
    if (snprintf(origin, sizeof origin, "%s/%s", main->origin, name) >= (int)sizeof origin)
        return tti_err(err, errlen, TT_EINVAL,
                       "ledger %s: the origin line \"%s/%s\" is over %d bytes", name, main->origin,
                       name, TTI_KEY_NAME_MAX);
    tt_open_options o = {.db_uri = main->uri,
                         .key_path = main->key_path,
                         .create = create,
                         .origin = origin,
                         .busy_timeout_ms = main->rcfg.busy_timeout_ms,
                         .batch_max_events = main->batch_max_events,
                         .batch_wait_us = main->batch_wait_us};
    tt_ledger *l = NULL;
    int rc = open_ledger(&o, name, &l, err, errlen);
    if (rc != TT_OK)
        return rc;
    /* The store found by the name must be that ledger's: a file or schema copied from
     * elsewhere would otherwise sign under another ledger's origin. */
    if (strcmp(l->origin, origin) != 0) {
        rc = tti_err(err, errlen, TT_EINVAL,
                     "ledger %s: its store records the origin \"%s\", not \"%s\"", name, l->origin,
                     origin);
        tt_ledger_close(l);
        return rc;
    }
    *out = l;
    return TT_OK;
}

const char *tt_ledger_name(const tt_ledger *l)
{
    return l->name != NULL ? l->name : TT_MAIN_LEDGER;
}

void tt_ledger_close(tt_ledger *l)
{
    if (l == NULL)
        return;
    if (l->committer_started) /* no append runs while the ledger closes */
        tti_sequencer_stop(l);
    for (int i = 0; i < l->n_pool; i++)
        l->ops->close(l->pool[i]);
    if (l->w != NULL)
        l->ops->close(l->w);
    tti_cleanse(&l->signer, sizeof l->signer);
    tti_cleanse(l->tokens, sizeof l->tokens);
    for (int i = 0; i < l->n_hooks; i++)
        if (l->hooks[i].destroy != NULL)
            l->hooks[i].destroy(l->hooks[i].ctx);
    if (l->archive.destroy != NULL)
        l->archive.destroy(l->archive.ctx);
    pthread_mutex_destroy(&l->wlock);
    pthread_mutex_destroy(&l->qlock);
    pthread_cond_destroy(&l->committer_wake);
    pthread_mutex_destroy(&l->plock);
    pthread_mutex_destroy(&l->hlock);
    pthread_mutex_destroy(&l->olock);
    pthread_mutex_destroy(&l->clock);
    pthread_mutex_destroy(&l->tlock);
    for (size_t i = 0; i < sizeof l->counts / sizeof l->counts[0]; i++)
        tti_counts_free(l->counts[i].c, l->counts[i].n);
    free(l->uri);
    free(l->name);
    free(l->origin);
    free(l->key_path);
    free(l);
}

int tti_reader_get(tt_ledger *l, tti_store **out)
{
    pthread_mutex_lock(&l->plock);
    if (l->n_pool > 0) {
        *out = l->pool[--l->n_pool];
        pthread_mutex_unlock(&l->plock);
        return TT_OK;
    }
    pthread_mutex_unlock(&l->plock);
    char err[512];
    int rc = l->ops->open(l->uri, &l->rcfg, out, err, sizeof err);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "%s", err);
}

void tti_reader_put(tt_ledger *l, tti_store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&l->plock);
    if (l->n_pool < TTI_READER_POOL) {
        l->pool[l->n_pool++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&l->plock);
    if (s != NULL)
        l->ops->close(s);
}

int tt_ledger_trust_key(tt_ledger *l, const char *vkey, size_t len)
{
    if (l == NULL || vkey == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_trust_key: NULL argument");
    while (len > 0 && (vkey[len - 1] == '\n' || vkey[len - 1] == '\r' || vkey[len - 1] == ' '))
        len--;
    tti_verifier v;
    if (tti_verifier_parse(vkey, len, &v) != TT_OK)
        return tti_fail(TT_EINVAL, "not a verifier key (NAME+KEYID+BASE64, as `tradetrail key` "
                                   "prints it)");
    pthread_mutex_lock(&l->wlock); /* no verify reads it meanwhile: callers verify after */
    l->verifier = v;
    l->have_verifier = l->verifier_trusted = 1;
    pthread_mutex_unlock(&l->wlock);
    return TT_OK;
}

int tt_ledger_verifier_key(tt_ledger *l, char **out)
{
    if (l->have_signer)
        return tti_signer_verifier_key(&l->signer, out) == TT_OK
                   ? TT_OK
                   : tti_fail(TT_ECRYPTO, "cannot encode the verifier key");
    pthread_mutex_lock(&l->wlock);
    int rc = l->ops->meta_get(l->w, "verifier_key", out);
    pthread_mutex_unlock(&l->wlock);
    if (rc == TT_ENOTFOUND)
        return tti_fail(rc, "this ledger has no signing key; run `tradetrail init`");
    return rc == TT_OK ? TT_OK : tti_store_fail(l, l->w, rc);
}

/* ---- the archive source (SPEC 8) ---- */

void tti_ledger_set_archive(tt_ledger *l, const tti_archive_src *src)
{
    if (l->archive.destroy != NULL)
        l->archive.destroy(l->archive.ctx);
    memset(&l->archive, 0, sizeof l->archive);
    if (src != NULL && src->read != NULL)
        l->archive = *src;
}

int tti_ledger_read(tt_ledger *l, int (*fn)(tt_ledger *l, tti_store *s, void *ctx), void *ctx)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    if ((rc = l->ops->begin_read(s)) != TT_OK) {
        rc = tti_store_fail(l, s, rc);
    } else {
        rc = fn(l, s, ctx);
        l->ops->rollback(s);
    }
    tti_reader_put(l, s);
    return rc;
}

int tti_ledger_segments(tt_ledger *l, tti_store *s, tti_segment **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rc = l->ops->segments(s, out, n);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, s, rc);
}

const tti_segment *tti_segment_find(const tti_segment *segs, size_t n, int64_t seq)
{
    size_t lo = 0, hi = n; /* segments are sorted and do not overlap */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (segs[mid].last_seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && segs[lo].first_seq <= seq ? &segs[lo] : NULL;
}

/* ---- transaction hooks and commit observers ---- */

int tti_ledger_set_hook(tt_ledger *l, const char *name, tti_tx_hook fn, void *ctx,
                        void (*destroy)(void *ctx))
{
    if (l == NULL || name == NULL)
        return tti_fail(TT_EMISUSE, "tti_ledger_set_hook: NULL argument");
    tti_hook_slot old = {0};
    int rc = TT_OK;
    /* wlock: the sequencer runs the hooks under it, so no batch sees a half-made change
     * and the old ctx is unused once the swap is done. */
    pthread_mutex_lock(&l->wlock);
    pthread_mutex_lock(&l->hlock);
    int i = 0;
    while (i < l->n_hooks && strcmp(l->hooks[i].name, name) != 0)
        i++;
    if (i < l->n_hooks)
        old = l->hooks[i];
    if (fn == NULL) {
        if (i < l->n_hooks) /* keep the order the others were installed in */
            memmove(&l->hooks[i], &l->hooks[i + 1],
                    (size_t)(l->n_hooks - i - 1) * sizeof *l->hooks);
        l->n_hooks -= i < l->n_hooks;
    } else if (i == TTI_LEDGER_MAX_HOOKS) {
        rc = tti_fail(TT_ENOSPC, "a ledger holds at most %d transaction hooks",
                      TTI_LEDGER_MAX_HOOKS);
    } else {
        l->hooks[i] = (tti_hook_slot){.name = name, .fn = fn, .ctx = ctx, .destroy = destroy};
        l->n_hooks += i == l->n_hooks;
    }
    pthread_mutex_unlock(&l->hlock);
    pthread_mutex_unlock(&l->wlock);
    if (rc == TT_OK && old.destroy != NULL)
        old.destroy(old.ctx);
    return rc;
}

void *tti_ledger_hook_ctx(tt_ledger *l, const char *name)
{
    void *ctx = NULL;
    pthread_mutex_lock(&l->hlock);
    for (int i = 0; i < l->n_hooks && ctx == NULL; i++)
        if (strcmp(l->hooks[i].name, name) == 0)
            ctx = l->hooks[i].ctx;
    pthread_mutex_unlock(&l->hlock);
    return ctx;
}

int tti_ledger_add_observer(tt_ledger *l, tt_commit_fn fn, void *ctx)
{
    if (l == NULL || fn == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_on_commit: NULL argument");
    int rc = TT_OK;
    pthread_mutex_lock(&l->olock);
    if (l->n_observers == TTI_LEDGER_MAX_OBSERVERS)
        rc = tti_fail(TT_ENOSPC, "a ledger holds at most %d commit observers",
                      TTI_LEDGER_MAX_OBSERVERS);
    else
        l->observers[l->n_observers++] = (tti_observer_slot){.fn = fn, .ctx = ctx};
    pthread_mutex_unlock(&l->olock);
    return rc;
}

int tti_ledger_remove_observer(tt_ledger *l, tt_commit_fn fn, void *ctx)
{
    if (l == NULL || fn == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_on_commit_remove: NULL argument");
    int rc = TT_ENOTFOUND;
    pthread_mutex_lock(&l->olock);
    for (int i = 0; i < l->n_observers; i++) {
        if (l->observers[i].fn != fn || l->observers[i].ctx != ctx)
            continue;
        memmove(&l->observers[i], &l->observers[i + 1],
                (size_t)(l->n_observers - i - 1) * sizeof *l->observers);
        l->n_observers--;
        rc = TT_OK;
        break;
    }
    pthread_mutex_unlock(&l->olock);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "no such commit observer");
}

void tti_ledger_notify_observers(tt_ledger *l, int64_t first_seq, int64_t count)
{
    if (count <= 0)
        return;
    pthread_mutex_lock(&l->olock);
    for (int i = 0; i < l->n_observers; i++)
        l->observers[i].fn(l->observers[i].ctx, first_seq, count);
    pthread_mutex_unlock(&l->olock);
}

int tt_ledger_on_commit(tt_ledger *l, tt_commit_fn fn, void *ctx)
{
    return tti_ledger_add_observer(l, fn, ctx);
}

int tt_ledger_on_commit_remove(tt_ledger *l, tt_commit_fn fn, void *ctx)
{
    return tti_ledger_remove_observer(l, fn, ctx);
}

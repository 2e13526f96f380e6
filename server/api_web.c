/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard's static files (SPEC 11): GET / serves web/index.html, GET
 * /assets/{version}/{file} the other files of web/. Files are read into memory once, on
 * the first request, from the first directory of: the `web_root` setting, the installed
 * share/tradetrail/web next to the program, the source tree the program was built from.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "routes.h"

#define WEB_MAX_FILES 128
#define WEB_MAX_FILE (2u * 1024 * 1024) /* bytes; the whole dashboard is far smaller */
#define WEB_NAME_MAX 64                 /* as a route's {id} segment */

/* WARNING: the page may load only its own files. No inline script or style, no other
 * origin; the API is same-origin (connect-src). frame-ancestors stops clickjacking. */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; connect-src 'self'; font-src 'self'; "
                          "manifest-src 'self'; base-uri 'none'; form-action 'none'; "
                          "frame-ancestors 'none'";

typedef struct web_file {
    char name[WEB_NAME_MAX + 1];
    const char *type;
    char *data;
    size_t len;
} web_file;

static struct {
    pthread_mutex_t lock;
    int loaded;
    char root[PATH_MAX]; /* where the files came from; "" when none was found */
    char version[24];    /* decimal, the {seq} segment of asset paths */
    char etag[32];       /* "<version>", quoted */
    web_file *index;     /* index.html with __V__ replaced by the version */
    web_file files[WEB_MAX_FILES];
    size_t n;
} web = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *type_of(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= WEB_NAME_MAX && name[0] != '.' &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int has_index(const char *dir)
{
    char p[PATH_MAX];
    struct stat st;
    return snprintf(p, sizeof p, "%s/index.html", dir) < (int)sizeof p && stat(p, &st) == 0 &&
           S_ISREG(st.st_mode);
}

/* The directory to serve: web_root, then ../share/tradetrail/web beside the program (an
 * install under any prefix), then the source tree of this build. */
static int find_root(srv *s, char *out, size_t n)
{
    const char *cfg = tti_config_value(s->cfg, "web_root");
    if (cfg && cfg[0]) {
        snprintf(out, n, "%s", cfg);
        return has_index(out) ? 0 : -1;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(out, n, "%s/../share/tradetrail/web", exe) < (int)n && has_index(out))
                return 0;
        }
    }
#ifdef TT_WEB_SOURCE_DIR
    snprintf(out, n, "%s", TT_WEB_SOURCE_DIR);
    if (has_index(out))
        return 0;
#endif
#ifdef TT_WEB_INSTALL_DIR
    snprintf(out, n, "%s", TT_WEB_INSTALL_DIR);
    if (has_index(out))
        return 0;
#endif
    out[0] = '\0';
    return -1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(WEB_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, WEB_MAX_FILE + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > WEB_MAX_FILE;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* FNV-1a, 64 bits: the assets' version only has to change when a file does (it names a
 * cache entry, it proves nothing), so a fast non-cryptographic hash is enough. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const web_file *)a)->name, ((const web_file *)b)->name);
}

/* index.html with every __V__ replaced by the version. */
static int make_index(web_file *f)
{
    static const char mark[] = "__V__";
    size_t nv = strlen(web.version), count = 0;
    for (const char *p = f->data; (p = memmem(p, f->len - (size_t)(p - f->data), mark, 5)); p += 5)
        count++;
    char *out = malloc(f->len + count * nv + 1);
    if (out == NULL)
        return -1;
    char *w = out;
    const char *p = f->data, *end = f->data + f->len;
    for (const char *hit; (hit = memmem(p, (size_t)(end - p), mark, 5)); p = hit + 5) {
        memcpy(w, p, (size_t)(hit - p));
        w += hit - p;
        memcpy(w, web.version, nv);
        w += nv;
    }
    memcpy(w, p, (size_t)(end - p));
    w += end - p;
    free(f->data);
    f->data = out;
    f->len = (size_t)(w - out);
    return 0;
}

/* Read every servable file of the root (flat: the page has no subdirectories). */
static void load(srv *s)
{
    if (find_root(s, web.root, sizeof web.root) != 0) {
        fprintf(stderr,
                "tradetrail serve: dashboard files not found%s%s; set web_root to the web/ "
                "directory\n",
                web.root[0] ? " in " : "", web.root);
        web.root[0] = '\0';
        return;
    }
    DIR *d = opendir(web.root);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && web.n < WEB_MAX_FILES) {
        const char *type = type_of(de->d_name);
        if (!name_ok(de->d_name) || type == NULL)
            continue;
        char path[PATH_MAX];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", web.root, de->d_name) >= (int)sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        web_file *f = &web.files[web.n];
        f->data = read_file(path, &f->len);
        if (f->data == NULL)
            continue;
        /* name_ok bounded the length; copy with the NUL. */
        memcpy(f->name, de->d_name, strlen(de->d_name) + 1);
        f->type = type;
        web.n++;
    }
    closedir(d);
    qsort(web.files, web.n, sizeof web.files[0], by_name);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < web.n; i++) {
        h = fnv(h, web.files[i].name, strlen(web.files[i].name) + 1);
        h = fnv(h, web.files[i].data, web.files[i].len);
    }
    snprintf(web.version, sizeof web.version, "%" PRIu64, h >> 24); /* 40 bits, 13 digits */
    snprintf(web.etag, sizeof web.etag, "\"%s\"", web.version);
    for (size_t i = 0; i < web.n; i++)
        if (strcmp(web.files[i].name, "index.html") == 0 && make_index(&web.files[i]) == 0)
            web.index = &web.files[i];
}

static void ensure_loaded(srv *s)
{
    pthread_mutex_lock(&web.lock);
    if (!web.loaded) {
        load(s);
        web.loaded = 1;
    }
    pthread_mutex_unlock(&web.lock);
}

static enum MHD_Result send_file(srv_req *r, const web_file *f, const char *cache)
{
    const char *inm = srv_header(r, "If-None-Match");
    int fresh = inm && strcmp(inm, web.etag) == 0;
    struct MHD_Response *resp =
        fresh ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
              : MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", f->type);
    MHD_add_response_header(resp, "Cache-Control", cache);
    MHD_add_response_header(resp, "ETag", web.etag);
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    return srv_queue(r, fresh ? 304 : 200, resp);
}

static enum MHD_Result no_dashboard(srv_req *r)
{
    return srv_error(r, 404,
                     "the dashboard's files were not found; set web_root (or "
                     "TRADETRAIL_WEB_ROOT) to the web/ directory (docs/DASHBOARD.md)");
}

/* GET /: the page itself is always revalidated, so a new version is picked up at once. */
static enum MHD_Result index_get(srv *s, srv_req *r)
{
    ensure_loaded(s);
    enum MHD_Result ret;
    if (srv_no_params(r, &ret) != 0)
        return ret;
    if (web.index == NULL)
        return no_dashboard(r);
    return send_file(r, web.index, "no-cache");
}

/* GET /assets/{version}/{file}: immutable under its version. A request for another
 * version (a page loaded before an upgrade) still gets the current file, uncached. */
static enum MHD_Result asset_get(srv *s, srv_req *r)
{
    ensure_loaded(s);
    if (web.root[0] == '\0')
        return no_dashboard(r);
    for (size_t i = 0; i < web.n; i++) {
        if (strcmp(web.files[i].name, r->id) != 0 || &web.files[i] == web.index)
            continue;
        char v[24];
        snprintf(v, sizeof v, "%" PRId64, r->seq);
        int current = strcmp(v, web.version) == 0;
        return send_file(r, &web.files[i],
                         current ? "public, max-age=31536000, immutable" : "no-cache");
    }
    return srv_error(r, 404, "no such file");
}

static const srv_route routes[] = {
    {"GET", "/", NEED_NONE, index_get},
    {"GET", "/index.html", NEED_NONE, index_get},
    {"GET", "/assets/{seq}/{id}", NEED_NONE, asset_get},
};

SRV_ROUTE_TABLE(srv_web_routes, routes);

/* SPDX-License-Identifier: Apache-2.0 */
/* A small open-addressing hash map from (kind, string) to int64 with linear probing. */
#include "util/map.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *key; /* NULL: empty */
    int kind;
    uint64_t hash;
    int64_t value;
} slot;

struct tti_map {
    slot *slots;
    size_t cap; /* power of two */
    size_t n;
    size_t max;
};

static uint64_t hash_of(int kind, const char *key)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

tti_map *tti_map_new(size_t max_entries)
{
    tti_map *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->cap = 64;
    m->max = max_entries;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void tti_map_clear(tti_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        m->slots[i].key = NULL;
    }
    m->n = 0;
}

void tti_map_free(tti_map *m)
{
    if (m == NULL)
        return;
    tti_map_clear(m);
    free(m->slots);
    free(m);
}

static slot *find(const tti_map *m, int kind, const char *key, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    for (;;) {
        slot *s = &m->slots[i];
        if (s->key == NULL || (s->hash == h && s->kind == kind && strcmp(s->key, key) == 0))
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

int tti_map_get(const tti_map *m, int kind, const char *key, int64_t *value)
{
    slot *s = find(m, kind, key, hash_of(kind, key));
    if (s->key == NULL)
        return 0;
    *value = s->value;
    return 1;
}

static int grow(tti_map *m)
{
    size_t ncap = m->cap * 2;
    slot *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key == NULL)
            continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (ns[j].key != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int tti_map_put(tti_map *m, int kind, const char *key, int64_t value)
{
    if (m->n >= m->max)
        tti_map_clear(m); /* a cache: forgetting is always correct */
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    uint64_t h = hash_of(kind, key);
    slot *s = find(m, kind, key, h);
    if (s->key == NULL) {
        s->key = strdup(key);
        if (s->key == NULL)
            return -1;
        s->kind = kind;
        s->hash = h;
        m->n++;
    }
    s->value = value;
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* A small open-addressing hash map from (kind, string) to int64, used to cache interned
 * names so the hot append path does not query the store for every field. */
#ifndef TT_UTIL_MAP_H
#define TT_UTIL_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tti_map tti_map;

/* max_entries bounds memory: when full, the map is cleared rather than grown further. */
tti_map *tti_map_new(size_t max_entries);
void tti_map_free(tti_map *m);
void tti_map_clear(tti_map *m);
/* 1 and *value when found, 0 otherwise. */
int tti_map_get(const tti_map *m, int kind, const char *key, int64_t *value);
/* 0, or -1 when out of memory (the map is then unchanged). */
int tti_map_put(tti_map *m, int kind, const char *key, int64_t value);

#endif

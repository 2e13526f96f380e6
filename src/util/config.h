/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Effective configuration (SPEC 10): the INI file, then TRADETRAIL_<KEY> environment
 * variables and the seed's QT_* names, then command-line flags, each overriding the one
 * before. One table of known keys with defaults; secrets are masked when printed.
 */
#ifndef TT_UTIL_CONFIG_H
#define TT_UTIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tti_config tti_config;

/* Where a value came from, for `tradetrail config`. */
typedef enum tti_config_source {
    TTI_CFG_DEFAULT = 0,
    TTI_CFG_FILE = 1,
    TTI_CFG_ENV = 2,
    TTI_CFG_FLAG = 3,
} tti_config_source;

/*
 * Build the effective configuration: defaults, then the INI file at path (a missing file
 * is fine unless required), then the environment (the seed's QT_* names, then
 * TRADETRAIL_<KEY>, which wins). Unknown keys in the file are an error naming the file,
 * the line and the key (TT_EINVAL); TT_EPARSE for malformed lines. *out freed with
 * tti_config_free. Reads the environment: call before starting threads.
 */
int tti_config_load(const char *path, int required, tti_config **out, char *err, size_t errlen);
void tti_config_free(tti_config *c);

/* Override a key from a command-line flag. TT_EINVAL for an unknown key. */
int tti_config_set(tti_config *c, const char *key, const char *value);

/* The value of a known key (its default when unset; NULL when it has none). */
const char *tti_config_get(const tti_config *c, const char *key);
tti_config_source tti_config_source_of(const tti_config *c, const char *key);

/* Typed reads with range checks; TT_EINVAL with a message naming the key and the rule. */
int tti_config_double(const tti_config *c, const char *key, double min, double max, double *out,
                      char *err, size_t errlen);
int tti_config_bool(const tti_config *c, const char *key, int *out, char *err, size_t errlen);
int tti_config_int(const tti_config *c, const char *key, int64_t min, int64_t max, int64_t *out,
                   char *err, size_t errlen);

/* Where the value came from in words: "default", "file PATH line N", "env NAME", "flag". */
const char *tti_config_origin(const tti_config *c, const char *key);

/* Whether a key is secret (printed masked), and the masked form of its value into buf:
 * a URL keeps its scheme and host, drops credentials and masks path and query. */
int tti_config_is_secret(const char *key);
const char *tti_config_mask(const char *key, const char *value, char *buf, size_t len);
/* A store URI or path as a message may show it: a URL without its credentials and path
 * (tti_config_mask), a libpq "password=..." string masked whole, a file path as it is. */
const char *tti_store_uri_shown(const char *uri, char *buf, size_t len);

/* The known keys, in the order `tradetrail config` prints them; NULL past the end. */
const char *tti_config_key(size_t i);
const char *tti_config_default(const char *key);

/* A key's value, or NULL when it has none or it is empty (an empty value turns a feature
 * off, as an unset one). c may be NULL. */
const char *tti_config_value(const tti_config *c, const char *key);

/* Print every key with its effective value and source; secrets (cron_secret, passwords in
 * URLs, webhook paths) masked unless show_secrets. */
void tti_config_print(const tti_config *c, FILE *f, int show_secrets);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Redaction of metadata keys (SPEC 15): the process's set of key names whose values the
 * metadata normaliser replaces by "[redacted]" before an event is hashed or stored.
 */
#ifndef TT_CORE_REDACT_H
#define TT_CORE_REDACT_H

#include <stddef.h>

#define TTI_REDACT_MAX_KEYS 32
#define TTI_REDACT_KEY_MAX 63 /* bytes of one key name */
#define TTI_REDACTED "[redacted]"

/* 1 when a metadata key of len bytes is in the active set (ASCII case-insensitive). Cheap
 * for the common case: a key whose length no redacted name has costs one bit test. */
int tti_redact_match(const char *key, size_t len);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP signed notes and tlog checkpoints: the signing key file, the verifier key, signing
 * a checkpoint body and checking a note's signature.
 */
#ifndef TT_CORE_NOTE_H
#define TT_CORE_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"

#define TTI_KEY_NAME_MAX 128

typedef struct tti_signer {
    char name[TTI_KEY_NAME_MAX + 1];
    uint8_t seed[TTI_ED25519_SEED];
    uint8_t pub[TTI_ED25519_PUB];
    uint8_t key_id[4]; /* SHA-256(name || 0x0A || 0x01 || pub)[:4] (C2SP signed-note) */
} tti_signer;

typedef struct tti_verifier {
    char name[TTI_KEY_NAME_MAX + 1];
    uint8_t pub[TTI_ED25519_PUB];
    uint8_t key_id[4];
} tti_verifier;

/* New random key with the given name (a valid key name: non-empty, no '+', no
 * whitespace, printable). 0 or a tt_status. */
int tti_signer_generate(const char *name, tti_signer *out);

/* "PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>" (the Go note package format),
 * caller frees *out with tt_free(). */
int tti_signer_format_private(const tti_signer *s, char **out);

/* Parse the private key format above (surrounding whitespace allowed). TT_EPARSE. */
int tti_signer_parse_private(const char *text, size_t len, tti_signer *out);

/* "<name>+<hex key id>+<base64(0x01 || public key)>"; caller frees *out with tt_free(). */
int tti_signer_verifier_key(const tti_signer *s, char **out);

/* Parse a verifier key; TT_EPARSE when malformed or the key id does not match. */
int tti_verifier_parse(const char *text, size_t len, tti_verifier *out);

/*
 * A signed checkpoint note (C2SP tlog-checkpoint): "<origin>\n<size>\n<base64 root>\n",
 * a blank line, and "— <name> <base64(key id || signature)>\n". *out freed with tt_free().
 */
int tti_note_sign_checkpoint(const tti_signer *s, const char *origin, uint64_t size,
                             const uint8_t root[32], char **out);

/*
 * Check a note: split body and signature lines, find the line for v's name and key id,
 * verify the signature over the body, then parse the body as a checkpoint. origin may be
 * NULL; otherwise *origin gets a copy freed with tt_free(). TT_EPARSE / TT_EAUTH.
 */
int tti_note_verify_checkpoint(const char *note, size_t len, const tti_verifier *v, char **origin,
                               uint64_t *size, uint8_t root[32]);

#endif

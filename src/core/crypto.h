/* SPDX-License-Identifier: Apache-2.0 */
/* Hashing, signatures and randomness; crypto.c is the only file that includes OpenSSL. */
#ifndef TT_CORE_CRYPTO_H
#define TT_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define TTI_ED25519_SEED 32
#define TTI_ED25519_PUB 32
#define TTI_ED25519_SIG 64

/* SHA-256 of the concatenation of up to 3 parts (any part may have length 0). */
void tti_sha256(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, const uint8_t *c,
                size_t nc, uint8_t out[32]);

/* Incremental SHA-256, for files hashed as they are written or read (exports). _new
 * returns NULL when out of memory; _final writes the digest and frees the context; _free
 * (accepts NULL) drops an unfinished one. */
typedef struct tti_sha256_ctx tti_sha256_ctx;
tti_sha256_ctx *tti_sha256_new(void);
void tti_sha256_update(tti_sha256_ctx *c, const void *p, size_t n);
void tti_sha256_final(tti_sha256_ctx *c, uint8_t out[32]);
void tti_sha256_free(tti_sha256_ctx *c);

/* RFC 6962 hashes: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || l || r). */
void tti_hash_leaf(const uint8_t *data, size_t len, uint8_t out[32]);
void tti_hash_node(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

/* Fill buf with cryptographically secure random bytes. 0 or -1. */
int tti_random(uint8_t *buf, size_t n);

/* Ed25519 (RFC 8032). 0 on success, -1 on failure (verify: -1 for a bad signature). */
int tti_ed25519_keygen(uint8_t seed[TTI_ED25519_SEED], uint8_t pub[TTI_ED25519_PUB]);
int tti_ed25519_public(const uint8_t seed[TTI_ED25519_SEED], uint8_t pub[TTI_ED25519_PUB]);
int tti_ed25519_sign(const uint8_t seed[TTI_ED25519_SEED], const uint8_t *msg, size_t n,
                     uint8_t sig[TTI_ED25519_SIG]);
int tti_ed25519_verify(const uint8_t pub[TTI_ED25519_PUB], const uint8_t *msg, size_t n,
                       const uint8_t sig[TTI_ED25519_SIG]);

/* Constant-time comparison: 1 when equal. WARNING: use for every digest and secret. */
int tti_ct_equal(const void *a, const void *b, size_t n);

/* Wipe a secret so the compiler cannot drop the write. */
void tti_cleanse(void *p, size_t n);

#endif

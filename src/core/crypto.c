/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hashing, signatures and randomness on OpenSSL libcrypto. The only file that includes
 * OpenSSL, so a change of crypto library touches one place.
 */
#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

#include "tradetrail.h"

void tti_sha256(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, const uint8_t *c,
                size_t nc, uint8_t out[32])
{
    /* SHA256_* is deprecated in 3.0 but is the fastest path (no EVP fetch per call);
     * silence the warning here only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    if (na)
        SHA256_Update(&ctx, a, na);
    if (nb)
        SHA256_Update(&ctx, b, nb);
    if (nc)
        SHA256_Update(&ctx, c, nc);
    SHA256_Final(out, &ctx);
#pragma GCC diagnostic pop
}

struct tti_sha256_ctx {
    SHA256_CTX c;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
tti_sha256_ctx *tti_sha256_new(void)
{
    tti_sha256_ctx *c = OPENSSL_malloc(sizeof *c);
    if (c != NULL)
        SHA256_Init(&c->c);
    return c;
}

void tti_sha256_update(tti_sha256_ctx *c, const void *p, size_t n)
{
    if (n)
        SHA256_Update(&c->c, p, n);
}

void tti_sha256_final(tti_sha256_ctx *c, uint8_t out[32])
{
    SHA256_Final(out, &c->c);
    OPENSSL_free(c);
}
#pragma GCC diagnostic pop

void tti_sha256_free(tti_sha256_ctx *c)
{
    OPENSSL_free(c);
}

void tti_hash_leaf(const uint8_t *data, size_t len, uint8_t out[32])
{
    static const uint8_t prefix = 0x00; /* RFC 9162 2.1.1 */
    tti_sha256(&prefix, 1, data, len, NULL, 0, out);
}

void tti_hash_node(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
    uint8_t buf[65];
    buf[0] = 0x01; /* RFC 9162 2.1.1 */
    memcpy(buf + 1, left, 32);
    memcpy(buf + 33, right, 32);
    tti_sha256(buf, sizeof buf, NULL, 0, NULL, 0, out);
}

int tti_random(uint8_t *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int tti_ed25519_public(const uint8_t seed[TTI_ED25519_SEED], uint8_t pub[TTI_ED25519_PUB])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, TTI_ED25519_SEED);
    if (k == NULL)
        return -1;
    size_t len = TTI_ED25519_PUB;
    int ok = EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == TTI_ED25519_PUB;
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

int tti_ed25519_keygen(uint8_t seed[TTI_ED25519_SEED], uint8_t pub[TTI_ED25519_PUB])
{
    if (tti_random(seed, TTI_ED25519_SEED) != 0)
        return -1;
    return tti_ed25519_public(seed, pub);
}

int tti_ed25519_sign(const uint8_t seed[TTI_ED25519_SEED], const uint8_t *msg, size_t n,
                     uint8_t sig[TTI_ED25519_SIG])
{
    int rc = -1;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, TTI_ED25519_SEED);
    if (k == NULL)
        goto out;
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, k) != 1)
        goto out;
    size_t siglen = TTI_ED25519_SIG;
    if (EVP_DigestSign(md, sig, &siglen, msg, n) != 1 || siglen != TTI_ED25519_SIG)
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return rc;
}

int tti_ed25519_verify(const uint8_t pub[TTI_ED25519_PUB], const uint8_t *msg, size_t n,
                       const uint8_t sig[TTI_ED25519_SIG])
{
    int rc = -1;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, TTI_ED25519_PUB);
    if (k == NULL)
        goto out;
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) != 1)
        goto out;
    if (EVP_DigestVerify(md, sig, TTI_ED25519_SIG, msg, n) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return rc;
}

/* No early exit, so the time does not depend on where the inputs differ. Verify compares
 * two hashes per event; word-sized XORs made this a tenth of CRYPTO_memcmp's cost there. */
int tti_ct_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u, v;
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        diff |= u ^ v;
    }
    for (; i < n; i++)
        diff |= (uint64_t)(x[i] ^ y[i]);
    return diff == 0;
}

int tt_hash_equal(const uint8_t a[TT_HASH_SIZE], const uint8_t b[TT_HASH_SIZE])
{
    return tti_ct_equal(a, b, TT_HASH_SIZE);
}

void tti_cleanse(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

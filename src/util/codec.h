/* SPDX-License-Identifier: Apache-2.0 */
/* Hex and base64 (RFC 4648, standard alphabet, padded) encoding and strict decoding. */
#ifndef TT_UTIL_CODEC_H
#define TT_UTIL_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void tti_hex_encode(const uint8_t *in, size_t n, char *out);

/* Decode exactly outlen bytes of hex (either case) from a string of 2*outlen characters.
 * Returns 0 on success, -1 on a bad length or character. */
int tti_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

/* Length of the base64 text for n bytes, without the NUL. */
size_t tti_base64_len(size_t n);

/* Base64 of n bytes into out (tti_base64_len(n) + 1 bytes, NUL-terminated). */
void tti_base64_encode(const uint8_t *in, size_t n, char *out);

/* Strict decode (padding required, no whitespace) into out of capacity cap; *outlen gets
 * the decoded length. Returns 0 on success, -1 on malformed input or overflow. */
int tti_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen);

#endif

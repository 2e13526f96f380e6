/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hex and base64 (RFC 4648 section 4: standard alphabet, padded) for keys, hashes and
 * signed notes. Decoding is strict, so every byte string has exactly one accepted text:
 * a signed note or a key cannot be re-encoded into another text that still verifies.
 */
#include "util/codec.h"

static const char hex_digits[] = "0123456789abcdef";

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Explicit ranges rather than <ctype.h>, whose answers depend on the locale. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

void tti_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

int tti_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
    if (outlen > SIZE_MAX / 2 || inlen != 2 * outlen)
        return -1;
    /* Check everything first so that out is written only on success. */
    for (size_t i = 0; i < inlen; i++)
        if (hex_value(in[i]) < 0)
            return -1;
    for (size_t i = 0; i < outlen; i++)
        out[i] = (uint8_t)(hex_value(in[2 * i]) << 4 | hex_value(in[2 * i + 1]));
    return 0;
}

size_t tti_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void tti_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0;
    char *p = out;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *p++ = b64_alphabet[v >> 18 & 63];
        *p++ = b64_alphabet[v >> 12 & 63];
        *p++ = b64_alphabet[v >> 6 & 63];
        *p++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *p++ = b64_alphabet[v >> 18 & 63];
        *p++ = b64_alphabet[v >> 12 & 63];
        *p++ = '=';
        *p++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *p++ = b64_alphabet[v >> 18 & 63];
        *p++ = b64_alphabet[v >> 12 & 63];
        *p++ = b64_alphabet[v >> 6 & 63];
        *p++ = '=';
    }
    *p = '\0';
}

int tti_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    /* RFC 4648 3.2: padding is required, so the length is a multiple of 4. */
    if (inlen % 4 != 0)
        return -1;
    size_t pad = 0;
    if (inlen > 0 && in[inlen - 1] == '=')
        pad = inlen > 1 && in[inlen - 2] == '=' ? 2 : 1;
    size_t n = inlen / 4 * 3 - pad;
    if (n > cap)
        return -1;
    size_t nchar = inlen - pad;
    for (size_t i = 0; i < nchar; i++)
        if (b64_value(in[i]) < 0) /* also rejects '=' before the end and whitespace */
            return -1;
    /* RFC 4648 3.5: the bits left over before the padding must be zero; otherwise four
     * texts would decode to the same bytes. */
    if (pad == 1 && (b64_value(in[nchar - 1]) & 0x03) != 0)
        return -1;
    if (pad == 2 && (b64_value(in[nchar - 1]) & 0x0f) != 0)
        return -1;

    uint32_t acc = 0; /* only the low `bits` bits matter; higher ones may wrap away */
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < nchar; i++) {
        acc = acc << 6 | (uint32_t)b64_value(in[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *outlen = o;
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/util/codec.c: hex and base64 against the RFC 4648 vectors, round
 * trips over every length and byte value, and the inputs a strict decoder must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/codec.h"

static void test_hex_encode(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof in + 1];
    tti_hex_encode(in, sizeof in, out);
    assert_string_equal(out, "00017f80abff");
    tti_hex_encode(in, 0, out);
    assert_string_equal(out, "");
}

static void test_hex_decode(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(tti_hex_decode("d455c521", 8, out, 4), 0);
    assert_memory_equal(out, "\xd4\x55\xc5\x21", 4);
    /* Either case is accepted. */
    assert_int_equal(tti_hex_decode("D455c52F", 8, out, 4), 0);
    assert_memory_equal(out, "\xd4\x55\xc5\x2f", 4);
    assert_int_equal(tti_hex_decode("", 0, out, 0), 0);
}

static void test_hex_decode_rejects(void **state)
{
    (void)state;
    uint8_t out[4];
    memset(out, 0xaa, sizeof out);
    assert_int_equal(tti_hex_decode("d455c52", 7, out, 4), -1);   /* short */
    assert_int_equal(tti_hex_decode("d455c5210", 9, out, 4), -1); /* long */
    assert_int_equal(tti_hex_decode("d455c5", 6, out, 4), -1);    /* whole bytes short */
    assert_int_equal(tti_hex_decode("d455c5g1", 8, out, 4), -1);  /* not hex */
    assert_int_equal(tti_hex_decode("d455c5 1", 8, out, 4), -1);  /* space */
    assert_int_equal(tti_hex_decode("0xd455c5", 8, out, 4), -1);  /* prefix */
    assert_int_equal(tti_hex_decode("d4\0"
                                    "5c521",
                                    8, out, 4),
                     -1); /* NUL */
    assert_int_equal(tti_hex_decode("-1234567", 8, out, 4), -1);
    /* Nothing is written on failure, not even the valid prefix. */
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0xaa);
}

static void test_hex_round_trip(void **state)
{
    (void)state;
    uint8_t in[256], back[256];
    char text[2 * sizeof in + 1];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    tti_hex_encode(in, sizeof in, text);
    assert_int_equal(strlen(text), 2 * sizeof in);
    assert_int_equal(tti_hex_decode(text, strlen(text), back, sizeof back), 0);
    assert_memory_equal(in, back, sizeof in);
}

/* RFC 4648 section 10. */
static const struct {
    const char *raw, *b64;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        size_t n = strlen(rfc4648[i].raw);
        char text[16];
        assert_int_equal(tti_base64_len(n), strlen(rfc4648[i].b64));
        tti_base64_encode((const uint8_t *)rfc4648[i].raw, n, text);
        assert_string_equal(text, rfc4648[i].b64);

        uint8_t out[8];
        size_t nout = 99;
        assert_int_equal(
            tti_base64_decode(rfc4648[i].b64, strlen(rfc4648[i].b64), out, sizeof out, &nout), 0);
        assert_int_equal(nout, n);
        assert_memory_equal(out, rfc4648[i].raw, n);
    }
}

static void test_base64_round_trip(void **state)
{
    (void)state;
    uint8_t in[300], out[300];
    char text[404];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 97 + 13);
    /* Every length, so every padding case meets every byte value in every position. */
    for (size_t n = 0; n <= sizeof in; n++) {
        tti_base64_encode(in, n, text);
        assert_int_equal(strlen(text), tti_base64_len(n));
        size_t nout = 0;
        assert_int_equal(tti_base64_decode(text, strlen(text), out, n, &nout), 0);
        assert_int_equal(nout, n);
        assert_memory_equal(in, out, n);
    }
    uint8_t all[256];
    for (size_t i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    tti_base64_encode(all, sizeof all, text);
    size_t nout = 0;
    assert_int_equal(tti_base64_decode(text, strlen(text), out, sizeof out, &nout), 0);
    assert_int_equal(nout, 256);
    assert_memory_equal(all, out, 256);
}

static void expect_b64_reject(const char *text, size_t len, size_t cap)
{
    uint8_t out[64];
    memset(out, 0xaa, sizeof out);
    size_t nout = 12345;
    assert_int_equal(tti_base64_decode(text, len, out, cap, &nout), -1);
    assert_int_equal(nout, 12345); /* out-parameter untouched */
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0xaa);
}

#define REJECT(s) expect_b64_reject(s, sizeof(s) - 1, 64)

static void test_base64_rejects(void **state)
{
    (void)state;
    /* Characters outside the standard alphabet, including URL-safe ones and whitespace. */
    REJECT("Zm9!");
    REJECT("Zm9-");
    REJECT("Zm9_");
    REJECT("Zm 9v");
    REJECT("Zm9v\n");
    REJECT("Zm9v Zm9v");
    REJECT(" Zm9v");
    REJECT("Zm\t9");
    REJECT("Z\xc3\xa9v");
    expect_b64_reject("Zm\0v", 4, 64);
    /* Padding is required. */
    REJECT("Zg");
    REJECT("Zm8");
    REJECT("Zm9vYg");
    /* Padding in the wrong place or too much of it. */
    REJECT("====");
    REJECT("Z===");
    REJECT("=Zg=");
    REJECT("Zg=a");
    REJECT("Z=g=");
    REJECT("Zg==Zm9v");
    REJECT("Zm9v====");
    REJECT("Zg===");
    /* Non-zero bits after the last byte: another text for the same bytes. */
    REJECT("Zh==");
    REJECT("Zv==");
    REJECT("Zm9=");
    REJECT("Zm/=");
    /* Lengths that are not a multiple of 4. */
    REJECT("A");
    REJECT("AAAAA");
    REJECT("Zm9vY");
}

static void test_base64_capacity(void **state)
{
    (void)state;
    /* "Zm9vYmFy" is 6 bytes: a capacity of 5 is an overflow, 6 is enough. */
    expect_b64_reject("Zm9vYmFy", 8, 5);
    expect_b64_reject("Zm9vYg==", 8, 3);
    uint8_t out[6];
    size_t nout = 0;
    assert_int_equal(tti_base64_decode("Zm9vYmFy", 8, out, 6, &nout), 0);
    assert_int_equal(nout, 6);
    assert_int_equal(tti_base64_decode("Zm9vYg==", 8, out, 4, &nout), 0);
    assert_int_equal(nout, 4);
    assert_int_equal(tti_base64_decode("", 0, NULL, 0, &nout), 0);
    assert_int_equal(nout, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_encode),         cmocka_unit_test(test_hex_decode),
        cmocka_unit_test(test_hex_decode_rejects), cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_base64_rfc4648),     cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_base64_rejects),     cmocka_unit_test(test_base64_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the signed-note and key parsers: tt_checkpoint_verify_note against the
 * fixed key of tests/vectors/checkpoint/example.*, the same parser on the input signed with
 * that key (so the checkpoint body parser behind the signature check is reached too), and
 * tti_verifier_parse / tti_signer_parse_private on the input. Beyond not crashing: an
 * accepted note's lines are the origin, size and root it reports; a parsed key re-formats
 * to a key that parses to the same thing; and a parsed private key signs checkpoints that
 * its own verifier key accepts.
 */
#include "fuzz.h"

#include <inttypes.h>

#include "tradetrail.h"
#include "core/crypto.h"
#include "core/note.h"
#include "util/codec.h"

/* tests/vectors/checkpoint/example.vkey and example.key (a public test seed). */
static const char example_vkey[] =
    "example.com/log+d455c521+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
static const char example_key[] =
    "PRIVATE+KEY+example.com/log+d455c521+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
static const char sig_prefix[] = "\xe2\x80\x94 "; /* signed-note: U+2014 EM DASH, space */

static tti_signer example_signer;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    FUZZ_CHECK(tti_signer_parse_private(example_key, strlen(example_key), &example_signer) ==
               TT_OK);
    return 0;
}

/* An accepted note starts with "<origin>\n<size>\n<base64 root>\n". */
static void check_accepted(const char *note, size_t len, const char *origin, int64_t size,
                           const uint8_t root[TT_HASH_SIZE])
{
    char head[64], b64[45];
    size_t norigin = strlen(origin);
    FUZZ_CHECK(norigin > 0 && memchr(origin, '\n', norigin) == NULL && size >= 0);
    FUZZ_CHECK(len > norigin && memcmp(note, origin, norigin) == 0 && note[norigin] == '\n');
    tti_base64_encode(root, TT_HASH_SIZE, b64);
    int nhead = snprintf(head, sizeof head, "%" PRId64 "\n%s\n", size, b64);
    FUZZ_CHECK(len - norigin - 1 >= (size_t)nhead);
    FUZZ_CHECK(memcmp(note + norigin + 1, head, (size_t)nhead) == 0);
}

static int verify(const char *note, size_t len, const char *vkey)
{
    char *origin = NULL;
    int64_t size = -1;
    uint8_t root[TT_HASH_SIZE];
    int rc = tt_checkpoint_verify_note(note, len, vkey, &origin, &size, root);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EPARSE || rc == TT_EAUTH || rc == TT_ETOOBIG);
        FUZZ_CHECK(origin == NULL && size == -1);
        return rc;
    }
    check_accepted(note, len, origin, size, root);
    tt_free(origin);
    return rc;
}

/* The input as the text of a note, signed with the example key. */
static void verify_signed_body(const uint8_t *data, size_t size)
{
    uint8_t sig[4 + TTI_ED25519_SIG];
    char b64[93];
    memcpy(sig, example_signer.key_id, 4);
    FUZZ_CHECK(tti_ed25519_sign(example_signer.seed, data, size, sig + 4) == 0);
    tti_base64_encode(sig, sizeof sig, b64);
    size_t nname = strlen(example_signer.name);
    size_t len = size + 1 + (sizeof sig_prefix - 1) + nname + 1 + 92 + 1;
    char *note = malloc(len), *p = note;
    FUZZ_CHECK(note != NULL);
    memcpy(p, data, size), p += size;
    *p++ = '\n';
    memcpy(p, sig_prefix, sizeof sig_prefix - 1), p += sizeof sig_prefix - 1;
    memcpy(p, example_signer.name, nname), p += nname;
    *p++ = ' ';
    memcpy(p, b64, 92), p += 92;
    *p++ = '\n';
    int rc = verify(note, len, example_vkey);
    /* When the input ends in a newline, the last blank line is the one added above, so the
     * text the verifier checks is exactly what was signed. */
    if (size > 0 && data[size - 1] == '\n')
        FUZZ_CHECK(rc != TT_EAUTH);
    free(note);
}

static void check_verifier(const char *text, size_t len)
{
    tti_verifier v, again;
    if (tti_verifier_parse(text, len, &v) != TT_OK)
        return;
    /* Format it as tti_signer_verifier_key would, parse that, get the same key. */
    tti_signer s;
    memset(&s, 0, sizeof s);
    memcpy(s.name, v.name, sizeof s.name);
    memcpy(s.pub, v.pub, sizeof s.pub);
    memcpy(s.key_id, v.key_id, sizeof s.key_id);
    char *z = NULL;
    FUZZ_CHECK(tti_signer_verifier_key(&s, &z) == TT_OK);
    FUZZ_CHECK(tti_verifier_parse(z, strlen(z), &again) == TT_OK);
    FUZZ_CHECK(memcmp(&v, &again, sizeof v) == 0);
    tt_free(z);
}

static void check_signer(const char *text, size_t len)
{
    tti_signer s, again;
    if (tti_signer_parse_private(text, len, &s) != TT_OK)
        return;
    char *z = NULL, *vkey = NULL, *note = NULL;
    FUZZ_CHECK(tti_signer_format_private(&s, &z) == TT_OK);
    FUZZ_CHECK(tti_signer_parse_private(z, strlen(z), &again) == TT_OK);
    FUZZ_CHECK(memcmp(&s, &again, sizeof s) == 0);

    /* Any key we accept can sign a checkpoint its own verifier key accepts. */
    static const uint8_t root[TT_HASH_SIZE] = {1, 2, 3};
    uint8_t got[TT_HASH_SIZE];
    char *origin = NULL;
    int64_t size = -1;
    FUZZ_CHECK(tti_signer_verifier_key(&s, &vkey) == TT_OK);
    FUZZ_CHECK(tti_note_sign_checkpoint(&s, "fuzz.example/log", 42, root, &note) == TT_OK);
    FUZZ_CHECK(tt_checkpoint_verify_note(note, strlen(note), vkey, &origin, &size, got) == TT_OK);
    FUZZ_CHECK(strcmp(origin, "fuzz.example/log") == 0 && size == 42);
    FUZZ_CHECK(memcmp(got, root, TT_HASH_SIZE) == 0);
    tt_free(origin);
    tt_free(note);
    tt_free(vkey);
    tt_free(z);
    tti_cleanse(&s, sizeof s);
    tti_cleanse(&again, sizeof again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    verify(text, size, example_vkey);
    verify_signed_body(data, size);
    check_verifier(text, size);
    check_signer(text, size);
    /* The verifier key is read as a C string (it comes from a file or the command line). */
    char *key = fuzz_strdup(data, size);
    uint8_t root[TT_HASH_SIZE];
    int64_t n;
    static const char note[] =
        "example.com/log\n8\n"
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
        "\xe2\x80\x94 example.com/log 1FXFIQghEbt48JV0nbbvyoj51oOGWi8PWVu51z3"
        "js1zWy2qLhh2zcvy6M2X+e8pEVRpGR/9z7MVVru29jIzLkdPuEwg=\n";
    int rc = tt_checkpoint_verify_note(note, sizeof note - 1, key, NULL, &n, root);
    FUZZ_CHECK(rc == TT_OK || rc == TT_EPARSE || rc == TT_EAUTH);
    free(key);
    return 0;
}

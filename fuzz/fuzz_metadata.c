/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for tt_metadata_normalize, which turns client metadata JSON into the
 * exact bytes the ledger stores and hashes (docs/FORMAT.md). Beyond not crashing: a failure
 * leaves *out alone and says why; the output is a compact JSON object of valid UTF-8 within
 * TT_MAX_METADATA, normalising it again gives the same bytes, and an event carrying it
 * passes tt_event_validate.
 */
#include "fuzz.h"

#include "tradetrail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char sentinel;
    char *out = &sentinel, err[512];
    int rc = tt_metadata_normalize((const char *)data, size, &out, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL || rc == TT_EPARSE || rc == TT_ETOOBIG);
        FUZZ_CHECK(out == &sentinel);
        FUZZ_CHECK_ERRMSG(err);
        return 0;
    }
    FUZZ_CHECK(out != &sentinel && out != NULL);
    size_t n = strlen(out);
    FUZZ_CHECK(n >= 2 && n <= TT_MAX_METADATA && out[0] == '{' && out[n - 1] == '}');
    FUZZ_CHECK(tt_utf8_valid(out, n));
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)out[i] >= 0x20); /* compact: no raw newline or tab */

    char *again = NULL;
    rc = tt_metadata_normalize(out, n, &again, err, sizeof err);
    if (rc != TT_OK)
        fprintf(stderr, "normalised output %s refused: %s\n", out, err);
    FUZZ_CHECK(rc == TT_OK);
    if (strcmp(again, out) != 0)
        fprintf(stderr, "not idempotent:\n  once:  %s\n  twice: %s\n", out, again);
    FUZZ_CHECK(strcmp(again, out) == 0);
    tt_free(again);

    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "fuzz";
    ev.entity_id = "1";
    ev.event_type = "CHECK";
    ev.actor = "fuzzer";
    ev.metadata = out;
    FUZZ_CHECK(tt_event_validate(&ev, err, sizeof err) == TT_OK);
    tt_free(out);
    return 0;
}

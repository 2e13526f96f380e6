/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the leaf decoder (tti_event_leaf_decode, docs/FORMAT.md section 2),
 * which reads the leaf bytes of archive segments back into events (SPEC 8). Beyond not
 * crashing: leaf bytes it accepts encode back (tti_event_leaf_encode) to exactly the same
 * bytes, and the event's leaf hash is theirs.
 */
#include "fuzz.h"

#include "core/crypto.h"
#include "core/event.h"
#include "tradetrail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tt_event *ev = NULL;
    if (tti_event_leaf_decode(data, size, &ev) != TT_OK)
        return 0;
    size_t len = 0;
    uint8_t *back = malloc(size ? size : 1);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(tti_event_leaf_encode(ev, back, size, &len) == TT_OK);
    FUZZ_CHECK(len == size && memcmp(back, data, size) == 0);
    uint8_t h[TT_HASH_SIZE];
    tti_hash_leaf(data, size, h);
    FUZZ_CHECK(memcmp(h, ev->leaf_hash, TT_HASH_SIZE) == 0);
    free(back);
    tt_event_free(ev);
    return 0;
}

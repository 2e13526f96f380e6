/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the freqtrade webhook adapter (tt_freqtrade_parse_webhook, SPEC 15):
 * the body of POST /api/adapters/freqtrade, which anyone holding an ingest token sends.
 * Beyond not crashing: a failure leaves the out-parameters alone and says why; an accepted
 * body gives exactly one event that validates, of entity trade (with an ft: idempotency
 * key) or bot (without one), and the same body parsed again gives the same leaf hash, so a
 * body freqtrade resends names the same event.
 */
#include "fuzz.h"

#include "tradetrail.h"

static char sentinel;

static int parse(const uint8_t *data, size_t size, tt_event **events, size_t *n, void **owner,
                 uint8_t hash[TT_HASH_SIZE])
{
    char err[512];
    int rc =
        tt_freqtrade_parse_webhook((const char *)data, size, events, n, owner, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL || rc == TT_EPARSE || rc == TT_ETOOBIG);
        FUZZ_CHECK_ERRMSG(err);
        return rc;
    }
    FUZZ_CHECK(*n == 1);
    const tt_event *e = &(*events)[0];
    FUZZ_CHECK(tt_event_validate(e, err, sizeof err) == TT_OK);
    int trade = strcmp(e->entity, "trade") == 0;
    FUZZ_CHECK(trade || strcmp(e->entity, "bot") == 0);
    FUZZ_CHECK(trade == (e->idempotency_key != NULL));
    FUZZ_CHECK(!trade || strncmp(e->idempotency_key, "ft:", 3) == 0);
    FUZZ_CHECK(e->metadata != NULL && strstr(e->metadata, "\"source\":\"freqtrade\"") != NULL);
    FUZZ_CHECK(tt_event_leaf_hash(e, hash) == TT_OK);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tt_event *events = (tt_event *)&sentinel, *again;
    size_t n = 7, n2;
    void *owner = &sentinel, *owner2;
    uint8_t h1[TT_HASH_SIZE], h2[TT_HASH_SIZE];
    if (parse(data, size, &events, &n, &owner, h1) != TT_OK) {
        FUZZ_CHECK(events == (tt_event *)&sentinel && n == 7 && owner == &sentinel);
        return 0;
    }
    FUZZ_CHECK(parse(data, size, &again, &n2, &owner2, h2) == TT_OK);
    FUZZ_CHECK(memcmp(h1, h2, sizeof h1) == 0);
    FUZZ_CHECK(fuzz_str_eq(events[0].idempotency_key, again[0].idempotency_key));
    tt_events_free_body(events, n, owner);
    tt_events_free_body(again, n2, owner2);
    return 0;
}

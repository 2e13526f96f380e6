/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for tt_event_parse_json, the parser of POST /api/events bodies and NDJSON
 * lines. Beyond not crashing: a failure leaves the out-parameters alone and says why; an
 * accepted event validates, has leaf bytes that hash to its leaf hash, holds metadata that
 * normalises to itself, and survives tt_event_to_json -> tt_event_parse_json unchanged.
 */
#include "fuzz.h"

#include "tradetrail.h"
#include "core/event.h"
#include "util/codec.h"

#define SEQ 7
#define TS_US INT64_C(1768732260123456) /* 2026-01-18T10:31:00.123456Z */

static void same_event(const tt_event *a, const tt_event *b)
{
    FUZZ_CHECK(fuzz_str_eq(a->entity, b->entity));
    FUZZ_CHECK(fuzz_str_eq(a->entity_id, b->entity_id));
    FUZZ_CHECK(fuzz_str_eq(a->event_type, b->event_type));
    FUZZ_CHECK(fuzz_str_eq(a->actor, b->actor));
    FUZZ_CHECK(fuzz_str_eq(a->old_status, b->old_status));
    FUZZ_CHECK(fuzz_str_eq(a->new_status, b->new_status));
    FUZZ_CHECK(fuzz_str_eq(a->reason, b->reason));
    FUZZ_CHECK(fuzz_str_eq(a->metadata, b->metadata));
    FUZZ_CHECK(a->occurred_at_us == b->occurred_at_us);
    FUZZ_CHECK(fuzz_str_eq(a->idempotency_key, b->idempotency_key));
}

/* The leaf bytes exist, start with the version byte and hash to the event's leaf hash. */
static void check_leaf(const tt_event *ev, uint8_t hash[TT_HASH_SIZE])
{
    uint8_t *bytes = NULL, direct[TT_HASH_SIZE];
    size_t n = 0;
    FUZZ_CHECK(tt_event_leaf_bytes(ev, &bytes, &n) == TT_OK);
    /* A parsed event has no principal (the ledger sets it): a version 1 leaf; with one, 2. */
    FUZZ_CHECK(n >= 18 &&
               bytes[0] == (ev->principal != NULL ? TTI_LEAF_VERSION : TTI_LEAF_VERSION_1));
    tt_leaf_hash(bytes, n, direct);
    tt_free(bytes);
    FUZZ_CHECK(tt_event_leaf_hash(ev, hash) == TT_OK);
    FUZZ_CHECK(memcmp(direct, hash, TT_HASH_SIZE) == 0);
}

/* Stored metadata is normalised already: normalising it again changes nothing. */
static void check_metadata(const char *metadata)
{
    char *again = NULL, err[256];
    if (metadata == NULL)
        return;
    FUZZ_CHECK(tt_metadata_normalize(metadata, strlen(metadata), &again, err, sizeof err) == TT_OK);
    FUZZ_CHECK(strcmp(again, metadata) == 0);
    tt_free(again);
}

/*
 * tt_event_to_json writes {"seq":..,"ts":..,<the fields>,"principal":..,"leaf_hash":..}; the
 * parser refuses seq, ts, principal and leaf_hash, so check those exactly and return the
 * rest as an object.
 */
static char *strip_server_fields(const char *json, const tt_event *ev)
{
    char ts[TT_TS_LEN + 1], hex[2 * TT_HASH_SIZE + 1], head[64], tail[128];
    tt_time_format(ev->ts_us, ts);
    tti_hex_encode(ev->leaf_hash, TT_HASH_SIZE, hex);
    int nhead = snprintf(head, sizeof head, "{\"seq\":%d,\"ts\":\"%s\",", SEQ, ts);
    int ntail = snprintf(tail, sizeof tail, ",\"principal\":null,\"leaf_hash\":\"%s\"}", hex);
    size_t len = strlen(json);
    FUZZ_CHECK(len > (size_t)nhead + (size_t)ntail);
    FUZZ_CHECK(memcmp(json, head, (size_t)nhead) == 0);
    FUZZ_CHECK(memcmp(json + len - (size_t)ntail, tail, (size_t)ntail) == 0);
    size_t nmid = len - (size_t)nhead - (size_t)ntail;
    char *out = malloc(nmid + 3);
    FUZZ_CHECK(out != NULL);
    out[0] = '{';
    memcpy(out + 1, json + nhead, nmid);
    out[nmid + 1] = '}';
    out[nmid + 2] = '\0';
    return out;
}

static void round_trip(tt_event *ev)
{
    ev->seq = SEQ;
    ev->ts_us = TS_US;
    check_leaf(ev, ev->leaf_hash);

    char *json = tt_event_to_json(ev);
    FUZZ_CHECK(json != NULL);
    FUZZ_CHECK(tt_utf8_valid(json, strlen(json)));
    char *fields = strip_server_fields(json, ev);

    tt_event back;
    void *owner = NULL;
    char err[512];
    int rc = tt_event_parse_json(fields, strlen(fields), &back, &owner, err, sizeof err);
    if (rc != TT_OK)
        fprintf(stderr, "re-parse of %s failed: %s\n", fields, err);
    FUZZ_CHECK(rc == TT_OK);
    same_event(ev, &back);
    back.seq = SEQ;
    back.ts_us = TS_US;
    uint8_t hash[TT_HASH_SIZE];
    check_leaf(&back, hash);
    FUZZ_CHECK(memcmp(hash, ev->leaf_hash, TT_HASH_SIZE) == 0);

    /* A deep copy hashes the same. */
    tt_event *copy = NULL;
    FUZZ_CHECK(tti_event_clone(&back, &copy) == TT_OK);
    same_event(ev, copy);
    FUZZ_CHECK(tt_event_leaf_hash(copy, hash) == TT_OK);
    FUZZ_CHECK(memcmp(hash, ev->leaf_hash, TT_HASH_SIZE) == 0);
    tt_event_free(copy);

    tt_free(owner);
    free(fields);
    tt_free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char sentinel_owner;
    tt_event ev, untouched;
    void *owner = &sentinel_owner;
    char err[512];
    memset(&ev, 0xA5, sizeof ev);
    untouched = ev;

    int rc = tt_event_parse_json((const char *)data, size, &ev, &owner, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL || rc == TT_EPARSE || rc == TT_ETOOBIG);
        FUZZ_CHECK(memcmp(&ev, &untouched, sizeof ev) == 0 && owner == &sentinel_owner);
        FUZZ_CHECK_ERRMSG(err);
        return 0;
    }
    FUZZ_CHECK(owner != &sentinel_owner);
    FUZZ_CHECK(tt_event_validate(&ev, err, sizeof err) == TT_OK);
    check_metadata(ev.metadata);
    round_trip(&ev);
    tt_free(owner);
    return 0;
}

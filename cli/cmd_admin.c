/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail init, stats and test: setting a ledger up and looking at it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Commands with no arguments but -o and the global options. */
static const char init_help[] =
    "usage: tradetrail init\n\n"
    "Create the data directory, the store and the Ed25519 signing key (mode 0600), and\n"
    "print the verifier key. Running it again changes nothing.\n";

int cmd_init(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    tt_ledger *l;
    int rc = cli_begin(c, argc, argv, init_help, 1, 1, &fmt, &l);
    if (l == NULL)
        return rc;
    char *key = NULL;
    rc = tt_ledger_verifier_key(l, &key);
    if (rc == TT_OK)
        printf("ledger ready in %s\norigin: %s\nverifier key: %s\n", c->data_dir,
               tt_ledger_origin(l), key);
    else
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    tt_free(key);
    tt_ledger_close(l);
    return rc;
}

static const char stats_help[] =
    "usage: tradetrail stats [-o short|json]\n\n"
    "Total entries, today's entries (UTC), entries per entity and event type, tree size\n"
    "and the age of the last checkpoint; -o json prints the GET /api/stats object.\n";

static void print_counts(const char *title, const tt_count *c, size_t n)
{
    printf("%s:\n", title);
    if (n == 0)
        printf("  (none)\n");
    for (size_t i = 0; i < n; i++)
        printf("  %-32s %lld\n", c[i].name, (long long)c[i].count);
}

static void print_stats(const tt_stats *s, int64_t now)
{
    printf("total entries:   %lld\n", (long long)s->total);
    printf("today (UTC):     %lld\n", (long long)s->today);
    printf("tree size:       %lld\n", (long long)s->tree_size);
    if (s->checkpoint_ts_us == TT_TIME_NONE)
        printf("last checkpoint: none (run `tradetrail checkpoint`)\n");
    else
        printf("last checkpoint: tree size %lld, %.1f s ago\n", (long long)s->checkpoint_size,
               (double)(now - s->checkpoint_ts_us) / 1e6);
    print_counts("by entity", s->by_entity, s->n_by_entity);
    print_counts("by event type", s->by_event_type, s->n_by_event_type);
}

int cmd_stats(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    tt_ledger *l;
    int rc = cli_begin(c, argc, argv, stats_help, 3, 0, &fmt, &l);
    if (l == NULL)
        return rc;
    tt_stats s;
    rc = tt_ledger_stats(l, &s);
    int64_t now = tt_time_now_us();
    if (rc != TT_OK) {
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    } else {
        if (fmt == OUT_JSON)
            rc = cli_print_json(c, tt_stats_to_json(&s, now));
        else
            print_stats(&s, now);
        tt_stats_clear(&s);
    }
    tt_ledger_close(l);
    return rc;
}

static const char test_help[] =
    "usage: tradetrail test [-o short|json]\n\n"
    "Write a test entry (entity system, type TEST) and read it back, checking its leaf\n"
    "hash: a quick end-to-end check of the store from a shell or a health probe.\n";

int cmd_test(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    tt_ledger *l;
    int rc = cli_begin(c, argc, argv, test_help, 3, 0, &fmt, &l);
    if (l == NULL)
        return rc;
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "system";
    ev.entity_id = "tradetrail-test";
    ev.event_type = "TEST";
    ev.actor = "tradetrail";
    ev.reason = "test entry written by `tradetrail test`";
    tt_append_result r;
    tt_event *back = NULL;
    rc = tt_ledger_append(l, &ev, 1, &r);
    if (rc == TT_OK)
        rc = tt_ledger_get(l, r.seq, &back);
    if (rc != TT_OK) {
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    } else if (!tt_hash_equal(back->leaf_hash, r.leaf_hash) ||
               strcmp(back->reason, ev.reason) != 0) {
        rc = cli_fail(c, TT_ETAMPERED, "seq %lld read back differs from what was written",
                      (long long)r.seq);
    } else if (fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_event_to_json(back));
    } else {
        printf("ok: wrote and read back seq %lld\n", (long long)r.seq);
    }
    tt_event_free(back);
    tt_ledger_close(l);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail hold add|remove|list: legal holds (SPEC 8), each placed or lifted as an event
 * by the library (src/jobs/holds.c); this file parses the flags and prints the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char hold_help[] =
    "usage: tradetrail hold add ENTITY_ID --reason R [--actor A] [-o short|json]\n"
    "       tradetrail hold remove ENTITY_ID --reason R [--actor A] [-o short|json]\n"
    "       tradetrail hold list [-o short|json]\n\n"
    "Legal holds: while an entity id is held, retention keeps its events' bodies in the\n"
    "hot store whatever their age. Placing and lifting a hold are events (entity\n"
    "legal_hold, event_type HOLD / RELEASE) with the actor and the reason. Adding a hold\n"
    "that is in force, or removing one that is not, exits 1.\n";

int cmd_hold(cli_ctx *c, int argc, char **argv)
{
    const char *reason = NULL, *actor = NULL;
    const cli_opt opts[] = {{"reason", &reason}, {"actor", &actor}, {NULL, NULL}};
    out_format fmt = OUT_SHORT;
    int rc = cli_parse_opts(c, argc, argv, hold_help, 3, &fmt, opts);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind >= argc)
        return cli_usage(c, "give a subcommand: add, remove or list");
    const char *sub = argv[optind];
    int list = strcmp(sub, "list") == 0;
    if (!list && strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0)
        return cli_usage(c, "unknown subcommand \"%s\" (add, remove, list)", sub);
    if (list ? optind + 1 != argc : optind + 2 != argc)
        return cli_usage(c, list ? "list takes no argument" : "give exactly one ENTITY_ID");
    if (!list && reason == NULL)
        return cli_usage(c, "--reason R is required");
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    if (list) {
        tt_hold *holds = NULL;
        size_t n = 0;
        rc = tt_hold_list(l, &holds, &n);
        if (rc != TT_OK) {
            rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
        } else if (fmt == OUT_JSON) {
            rc = cli_print_json(c, tt_hold_list_to_json(holds, n));
        } else {
            for (size_t i = 0; i < n; i++) {
                char ts[TT_TS_LEN + 1];
                tt_time_format(holds[i].ts_us, ts);
                printf("%s  held since %s by %s (seq %lld): %s\n", holds[i].entity_id, ts,
                       holds[i].actor, (long long)holds[i].seq,
                       holds[i].reason ? holds[i].reason : "");
            }
            if (n == 0)
                printf("no legal holds\n");
        }
        tt_hold_list_free(holds, n);
    } else {
        tt_append_result r;
        const char *id = argv[optind + 1];
        rc = sub[0] == 'a' ? tt_hold_add(l, id, cli_actor(actor), reason, &r)
                           : tt_hold_remove(l, id, cli_actor(actor), reason, &r);
        if (rc != TT_OK)
            rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
        else if (fmt == OUT_JSON)
            rc = cli_print_json(c, tt_append_result_to_json(&r));
        else
            printf("%s %s (seq %lld)\n", id, sub[0] == 'a' ? "held" : "released", (long long)r.seq);
    }
    tt_ledger_close(l);
    return rc;
}

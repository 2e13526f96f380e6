/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail migrate: copy a whole ledger into an empty store (tt_store_migrate does the
 * work and every check; this file parses the flags and prints the outcome). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/codec.h"

static const char migrate_help[] =
    "usage: tradetrail migrate --from URI --to URI [-o short|json]\n\n"
    "Copy a whole ledger from one store into an empty one, e.g.\n"
    "  tradetrail migrate --from sqlite:/var/lib/tradetrail/ledger.db \\\n"
    "                     --to postgres://tradetrail@db.example/tradetrail\n"
    "Every event keeps its seq, ts and leaf hash; each leaf hash is recomputed from the\n"
    "event's fields while copying, each checkpoint's root and the final tree root are\n"
    "compared with the tree rebuilt from the leaves. Checkpoints, the origin and verifier\n"
    "key, API tokens (as hashes: they keep working), strategies and versions, feedback,\n"
    "job runs, the training-sync state and the notification outbox are copied too. The\n"
    "target must be empty (its schema is created when missing); it is written in one\n"
    "transaction, so a failed or refused migration leaves it as it was. No signing key\n"
    "is needed. Progress is shown on a terminal.\n\n"
    "  --from URI   the source store: sqlite:PATH, a file path, or postgres://...\n"
    "  --to URI     the target store, empty: postgres://... or sqlite:PATH\n\n"
    "exit codes: 0 copied and checked; 1 a leaf hash, checkpoint or root does not match\n"
    "(the message names the seq) or the target is not empty; 2 usage; 3 other errors.\n";

enum { OPT_FROM = OPT_FIRST_COMMAND, OPT_TO };

int cmd_migrate(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL;
    out_format fmt = OUT_SHORT;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        if (opt == 'h') {
            fputs(migrate_help, stdout);
            return 0;
        }
        if (opt == OPT_FROM)
            from = optarg;
        else if (opt == OPT_TO)
            to = optarg;
        else if (opt == 'o') {
            if ((rc = cli_parse_format(c, optarg, 3, &fmt)) != 0)
                return rc;
        } else
            return EXIT_USAGE;
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    if (from == NULL || to == NULL)
        return cli_usage(c, "--from URI and --to URI are both required");
    tt_migrate_report rep;
    rc = tt_store_migrate(from, to, cli_progress, "migrate", &rep);
    cli_progress_done();
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", rep.message);
    char root[2 * TT_HASH_SIZE + 1];
    tti_hex_encode(rep.root, TT_HASH_SIZE, root);
    if (fmt == OUT_JSON)
        printf("{\"events\":%lld,\"checkpoints\":%lld,\"rows\":%lld,\"root_hash\":\"%s\"}\n",
               (long long)rep.events, (long long)rep.checkpoints, (long long)rep.rows, root);
    else
        printf("migrated %lld events (every leaf hash checked), %lld checkpoints and %lld other "
               "rows\ntree size %lld, root %s (equal to the source's)\n",
               (long long)rep.events, (long long)rep.checkpoints, (long long)rep.rows,
               (long long)rep.events, root);
    return 0;
}

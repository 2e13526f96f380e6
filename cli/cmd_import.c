/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail import freqtrade|hummingbot DB: backfill a trading bot's history once,
 * idempotently (SPEC 15); the mapping lives in the library (src/domain/import.c). */
#include <string.h>

#include "cli.h"

static const char import_help[] =
    "usage: tradetrail import freqtrade|hummingbot DB.sqlite [--bot NAME] [-o short|json]\n\n"
    "Backfill a trading bot's history from its own SQLite database, opened read-only (the\n"
    "bot may keep running): freqtrade's orders and closed trades (tables orders, trades),\n"
    "hummingbot's orders and fills (tables Order, TradeFill), as entity `trade` events.\n"
    "The ledger assigns ts; each row's own time is the event's occurred_at. Every event\n"
    "has an idempotency key built from the bot name and the row, so importing the same\n"
    "database twice adds nothing, and a later copy adds only what is new.\n\n"
    "  --bot NAME   the events' actor and part of their keys (default: freqtrade or\n"
    "               hummingbot); give each bot its own name, as their trade ids repeat\n"
    "  -o json      print {\"source\",\"rows\",\"events\",\"added\",\"existing\"}\n\n"
    "Shows progress on a terminal. docs/INTEGRATIONS.md has the mapping of every column.\n";

enum { OPT_BOT = OPT_FIRST_COMMAND };

int cmd_import(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"bot", required_argument, NULL, OPT_BOT},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *bot = NULL;
    out_format fmt = OUT_SHORT;
    int opt;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(import_help, stdout);
            return 0;
        case OPT_BOT:
            bot = optarg;
            break;
        case 'o':
            if (cli_parse_format(c, optarg, 3, &fmt) != 0)
                return EXIT_USAGE;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return cli_usage(c, "expected a source (freqtrade or hummingbot) and a database file");
    const char *source = argv[optind], *path = argv[optind + 1];
    if (strcmp(source, "freqtrade") != 0 && strcmp(source, "hummingbot") != 0)
        return cli_usage(c, "unknown source \"%s\" (freqtrade or hummingbot)", source);
    tt_ledger *l;
    int rc = cli_open(c, 0, &l);
    if (rc != 0)
        return rc;
    tt_import_options o = {.source = source,
                           .path = path,
                           .bot = bot,
                           .progress = cli_progress,
                           .progress_ctx = (void *)"import"};
    tt_import_report rep;
    int st = tt_import_run(l, &o, &rep);
    cli_progress_done();
    if (st != TT_OK)
        rc = cli_fail(c, st, "%s", tt_ledger_errmsg(l));
    else if (fmt == OUT_JSON)
        rc = cli_print_json(c, tt_import_report_to_json(source, &rep));
    else
        printf("import %s: %lld rows read, %lld events: %lld added, %lld already recorded\n",
               source, (long long)rep.rows, (long long)rep.events, (long long)rep.added,
               (long long)rep.existing);
    tt_ledger_close(l);
    return rc;
}

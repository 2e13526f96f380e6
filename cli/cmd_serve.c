/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail serve: the flags, the configuration and the ledger (opened, and on first
 * start initialised), then the hand-over to the server (srv_serve, front/front.h).
 */
#include <stdlib.h>

#include "cli.h"

enum { OPT_LISTEN = OPT_FIRST_COMMAND, OPT_THREADS, OPT_CP_INTERVAL };

static const char serve_help[] =
    "usage: tradetrail serve [--listen ADDR:PORT] [--threads N] [--checkpoint-interval S]\n\n"
    "Run the HTTP API (docs/API.md) on the ledger. Default listen address 127.0.0.1:8080\n"
    "(config `listen`, env TRADETRAIL_LISTEN). A checkpoint is signed when the tree has\n"
    "grown, at most every S seconds (default 1; config `checkpoint_interval`). On first\n"
    "start with an empty store the ledger is initialised and one admin token is printed.\n"
    "SIGTERM or SIGINT: answer new requests 503, finish requests in flight, sign a final\n"
    "checkpoint, exit 0.\n"
    "--threads N: threads reading requests and answering them (default 8); an append\n"
    "waiting for its group's fsync holds no thread.\n";

static int parse_serve(cli_ctx *c, int argc, char **argv, int64_t *threads)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"checkpoint-interval", required_argument, NULL, OPT_CP_INTERVAL},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        if (opt == 'h') {
            fputs(serve_help, stdout);
            return -1;
        }
        if (opt == OPT_LISTEN && cli_set(&c->listen, optarg) != 0)
            return EXIT_ERROR;
        else if (opt == OPT_CP_INTERVAL && cli_set(&c->checkpoint_interval, optarg) != 0)
            return EXIT_ERROR;
        else if (opt == OPT_THREADS && cli_parse_int(c, "--threads", optarg, 1, threads) != 0)
            return EXIT_USAGE;
        else if (opt != OPT_LISTEN && opt != OPT_CP_INTERVAL && opt != OPT_THREADS)
            return EXIT_USAGE;
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    return 0;
}

int cmd_serve(cli_ctx *c, int argc, char **argv)
{
    int64_t threads = 8;
    int rc = parse_serve(c, argc, argv, &threads);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    tt_ledger *l = NULL;
    /* SPEC 15: a server serves every ledger of its store, each request naming its own
     * with X-Ledger; opening a named one here would make it the server's token store. */
    if (cli_ledger_name(c) != NULL)
        return cli_usage(c, "serve serves every ledger of the store; a client picks one with "
                            "the X-Ledger header, not --ledger");
    if ((rc = cli_open(c, 1, &l)) != 0)
        return rc;
    srv_options o = {.cfg = c->cfg, .data_dir = c->data_dir, .threads = (unsigned)threads};
    rc = srv_serve(l, &o);
    tt_ledger_close(l);
    return rc;
}

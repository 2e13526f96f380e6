/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail retention plan (SPEC 8): what a retention run would move to archive
 * segments, with min_retention_days and legal holds applied (src/jobs/retention.c).
 * Moving bodies out of the hot store (retention run) is not available yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_OLDER = OPT_FIRST_COMMAND, OPT_ARCHIVE };

static const char retention_help[] =
    "usage: tradetrail retention plan --older-than DAYS [--archive DIR] [-o short|json]\n\n"
    "Show what a retention run would archive: the events older than DAYS (never fewer\n"
    "days than min_retention_days), after the last complete segment in DIR (default\n"
    "DATA/archive), and how many of them belong to entity ids under a legal hold (their\n"
    "bodies stay in the hot store). Writes nothing. `retention run`, which moves the\n"
    "bodies, is not available yet.\n";

int cmd_retention(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"older-than", required_argument, NULL, OPT_OLDER},
        {"archive", required_argument, NULL, OPT_ARCHIVE},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int64_t days = -1;
    const char *archive = NULL;
    out_format fmt = OUT_SHORT;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        if (opt == 'h')
            return fputs(retention_help, stdout), 0;
        if (opt == OPT_OLDER) {
            if ((rc = cli_parse_int(c, "--older-than", optarg, 0, &days)) != 0)
                return rc;
        } else if (opt == OPT_ARCHIVE)
            archive = optarg;
        else if (opt == 'o') {
            if ((rc = cli_parse_format(c, optarg, 3, &fmt)) != 0)
                return rc;
        } else
            return EXIT_USAGE;
    }
    if (optind >= argc)
        return cli_usage(c, "give a subcommand: plan");
    if (strcmp(argv[optind], "run") == 0)
        return cli_fail(c, TT_EIO,
                        "retention run is not available yet (archive segments and `retention "
                        "plan` are; removing bodies from the hot store is not)");
    if (strcmp(argv[optind], "plan") != 0 || optind + 1 != argc)
        return cli_usage(c, "unknown subcommand \"%s\" (plan)", argv[optind]);
    if (days < 0)
        return cli_usage(c, "--older-than DAYS is required");
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    const tti_config *cfg;
    int64_t min_days = 0;
    if ((rc = cli_config(c, &cfg)) != 0) {
        tt_ledger_close(l);
        return rc;
    }
    const char *v = tti_config_get(cfg, "min_retention_days");
    if (v != NULL && tt_parse_int(v, 0, 365000, &min_days) != TT_OK) {
        tt_ledger_close(l);
        return cli_fail(c, TT_EINVAL, "min_retention_days: must be 0 to 365000 (got \"%s\")", v);
    }
    char dflt[4096];
    if (archive == NULL) {
        snprintf(dflt, sizeof dflt, "%s/archive", c->data_dir ? c->data_dir : ".");
        archive = dflt;
    }
    tt_retention_plan p;
    rc = tt_retention_plan_make(l, days, min_days, tt_time_now_us(), archive, &p);
    if (rc != TT_OK) {
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    } else if (fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_retention_plan_to_json(&p));
    } else {
        char cutoff[TT_TS_LEN + 1];
        tt_time_format(p.cutoff_us, cutoff);
        printf("cutoff %s (%lld days%s); archived through seq %lld\n", cutoff,
               (long long)p.effective_days,
               p.effective_days > days ? ", raised to min_retention_days" : "",
               (long long)p.archived_through);
        if (p.count == 0)
            printf("nothing to archive\n");
        else
            printf("would archive seq %lld to %lld (%lld events; %lld of them under a legal "
                   "hold stay in the hot store)\n",
                   (long long)p.first_seq, (long long)p.last_seq, (long long)p.count,
                   (long long)p.held);
    }
    tt_ledger_close(l);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail retention plan|run (SPEC 8): what a retention run would move to archive
 * segments, with min_retention_days and legal holds applied, and the run itself, as the
 * recorded job `retention` (src/jobs/retention.c, src/jobs/run.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

enum { OPT_OLDER = OPT_FIRST_COMMAND, OPT_ARCHIVE, OPT_SEGMENT };

static const char retention_help[] =
    "usage: tradetrail retention plan|run --older-than DAYS [--archive DIR]\n"
    "                                    [--segment-events N] [-o short|json]\n\n"
    "plan  show what a run would archive: the events older than DAYS (never fewer days\n"
    "      than min_retention_days), after the last segment the ledger records, and how\n"
    "      many of them belong to entity ids under a legal hold. Writes nothing.\n"
    "run   archive them: segments of zstd-compressed JSON lines in DIR (default\n"
    "      archive_dir, else DATA/archive), each written, fsynced, read back and checked\n"
    "      against the stored leaf hashes, with a manifest; only then are the bodies removed\n"
    "      from the hot store, in the transaction of a retention/ARCHIVED event. Leaf hashes\n"
    "      and tree nodes stay, so proofs and checkpoints do not change. Bodies of entity\n"
    "      ids under a legal hold stay hot. The run is recorded as the job `retention`\n"
    "      (STARTED, COMPLETED or FAILED); a run that was stopped is completed by the next\n"
    "      one; progress on a terminal. Back up DIR with the database. A segment holds\n"
    "      at most N events (default 100000).\n\n"
    "--archive DIR  must be the configured archive directory (archive_dir, else\n"
    "      DATA/archive; a named ledger's subdirectory NAME of it): verify, show, export\n"
    "      and the server read segments from there only. To archive elsewhere, set\n"
    "      archive_dir (TRADETRAIL_ARCHIVE_DIR).\n";

/* The store records a segment by file name and every reader looks for it in the configured
 * directory, so a run into any other directory would leave the ledger looking tampered. */
static int same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa), eb = stat(b, &sb);
    if (ea == 0 && eb == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return ea != 0 && eb != 0 && strcmp(a, b) == 0;
}

/* --older-than below min_retention_days is refused, never silently raised, for a run. */
static int run(cli_ctx *c, tt_ledger *l, int64_t days, int64_t min_days, const char *archive,
               int64_t per, out_format fmt)
{
    if (days < min_days)
        return cli_fail(c, TT_EINVAL,
                        "--older-than %lld would undercut min_retention_days (%lld): events "
                        "younger than %lld days are never archived",
                        (long long)days, (long long)min_days, (long long)min_days);
    tt_job_settings js = {.archive_dir = archive,
                          .older_than_days = days,
                          .min_retention_days = min_days,
                          .segment_events = per,
                          .progress = cli_progress,
                          .progress_ctx = (void *)"retention"};
    char *json = NULL;
    int rc = tt_job_run(l, TT_JOB_RETENTION, TT_TRIGGER_CLI, TT_TIME_NONE, &js, &json);
    cli_progress_done();
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    if (fmt == OUT_JSON)
        return cli_print_json(c, json);
    printf("retention: %s\n", json);
    tt_free(json);
    return 0;
}

int cmd_retention(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"older-than", required_argument, NULL, OPT_OLDER},
        {"archive", required_argument, NULL, OPT_ARCHIVE},
        {"segment-events", required_argument, NULL, OPT_SEGMENT},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int64_t days = -1, per = 0;
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
        } else if (opt == OPT_SEGMENT) {
            if ((rc = cli_parse_int(c, "--segment-events", optarg, 1, &per)) != 0)
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
        return cli_usage(c, "give a subcommand: plan or run");
    int is_run = strcmp(argv[optind], "run") == 0;
    if ((!is_run && strcmp(argv[optind], "plan") != 0) || optind + 1 != argc)
        return cli_usage(c, "unknown subcommand \"%s\" (plan, run)", argv[optind]);
    if (days < 0)
        return cli_usage(c, "--older-than DAYS is required");
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    char dflt[4096], err[256];
    int64_t conf_days, min_days;
    if ((rc = front_retention_settings(c->cfg, c->data_dir, cli_ledger_name(c), dflt, sizeof dflt,
                                       &conf_days, &min_days, err, sizeof err)) != TT_OK) {
        tt_ledger_close(l);
        return cli_fail(c, rc, "%s", err);
    }
    if (archive != NULL && !same_dir(archive, dflt)) {
        tt_ledger_close(l);
        return cli_usage(c,
                         "--archive %s is not the configured archive directory %s, where verify, "
                         "show, export and the server read segments: set archive_dir "
                         "(TRADETRAIL_ARCHIVE_DIR) to it instead",
                         archive, dflt);
    }
    archive = dflt;
    if (is_run) {
        rc = run(c, l, days, min_days, archive, per, fmt);
        tt_ledger_close(l);
        return rc;
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

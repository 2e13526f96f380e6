/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail export and verify-export (SPEC 8, 10): parse the flags, call the library's
 * export writer and offline verifier (src/jobs/export.c, src/core/export_verify.c), print
 * the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"

enum { OPT_SINCE = OPT_FIRST_COMMAND, OPT_UNTIL, OPT_FORMAT, OPT_OUT, OPT_KEY, OPT_FILE_EVENTS };

static const char export_help[] =
    "usage: tradetrail export [--since T] [--until T] [--format jsonl|csv] --out DIR\n"
    "                         [--file-events N] [-o short|json]\n\n"
    "Write the events with since <= ts < until into DIR (created if missing; it must not\n"
    "hold an export already): data files events-000001.jsonl (or .csv), a new file every\n"
    "N events (default 1000000), and manifest.json with the signed checkpoint, the files'\n"
    "SHA-256, the boundary events that show nothing in the window was left out, and the\n"
    "range proof of every exported event (docs/FORMAT.md section 8). A checkpoint is\n"
    "signed first when the latest does not cover the current tree. Check the result with\n"
    "`tradetrail verify-export DIR --key VKEY` or tools/verify_export.py. Times are\n"
    "RFC 3339, a date, today, yesterday, or relative (-7d).\n";

int cmd_export(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"out", required_argument, NULL, OPT_OUT},
        {"file-events", required_argument, NULL, OPT_FILE_EVENTS},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    tt_export_options o;
    tt_export_options_init(&o);
    const char *dir = NULL;
    out_format fmt = OUT_SHORT;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(export_help, stdout);
            return 0;
        case OPT_SINCE:
            if ((rc = cli_parse_time(c, "--since", optarg, &o.since_us)) != 0)
                return rc;
            break;
        case OPT_UNTIL:
            if ((rc = cli_parse_time(c, "--until", optarg, &o.until_us)) != 0)
                return rc;
            break;
        case OPT_FORMAT:
            if (tt_export_format_parse(optarg, &o.format) != TT_OK)
                return cli_usage(c, "--format: want jsonl or csv (got \"%s\")", optarg);
            break;
        case OPT_OUT:
            dir = optarg;
            break;
        case OPT_FILE_EVENTS:
            if ((rc = cli_parse_int(c, "--file-events", optarg, 1, &o.max_file_events)) != 0)
                return rc;
            break;
        case 'o':
            if ((rc = cli_parse_format(c, optarg, 3, &fmt)) != 0)
                return rc;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind != argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    if (dir == NULL)
        return cli_usage(c, "--out DIR is required");
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    tt_export_summary sum;
    rc = tt_export_write_dir(l, &o, dir, cli_progress, "export", &sum);
    cli_progress_done();
    if (rc != TT_OK) {
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    } else if (fmt == OUT_JSON) {
        tti_buf b;
        tti_buf_init(&b, 1 << 16);
        tti_buf_adds(&b, "{\"dir\":");
        tti_buf_json_str(&b, dir);
        tti_buf_printf(&b,
                       ",\"tree_size\":%lld,\"first_seq\":%lld,\"last_seq\":%lld,"
                       "\"count\":%lld,\"files\":%lld}",
                       (long long)sum.tree_size, (long long)sum.first_seq, (long long)sum.last_seq,
                       (long long)sum.count, (long long)sum.files);
        rc = cli_print_json(c, tti_buf_take(&b));
    } else {
        printf("exported %lld events (seq %lld to %lld of tree size %lld) in %lld file%s to "
               "%s\n",
               (long long)sum.count, (long long)sum.first_seq, (long long)sum.last_seq,
               (long long)sum.tree_size, (long long)sum.files, sum.files == 1 ? "" : "s", dir);
    }
    tt_ledger_close(l);
    return rc;
}

static const char verify_export_help[] =
    "usage: tradetrail verify-export DIR --key VKEY [-o short|json]\n\n"
    "Check an export offline, without the database: the checkpoint's signature by VKEY\n"
    "(the verifier key `tradetrail key` prints, or a file holding it), every file's\n"
    "SHA-256, every event's leaf hash recomputed from its fields, the window's boundary\n"
    "events and the range proof to the signed root. Exit 0 when everything holds, 1 with\n"
    "the first failing item named otherwise.\n";

/* A verifier key given as itself or as a file holding it on its first line. */
static int load_key(cli_ctx *c, const char *arg, char **out)
{
    FILE *fp = strchr(arg, '+') == NULL ? fopen(arg, "r") : NULL;
    if (fp == NULL)
        return cli_set(out, arg) == 0 ? 0 : cli_fail(c, TT_ENOMEM, "out of memory");
    char line[1024];
    char *got = fgets(line, sizeof line, fp);
    fclose(fp);
    if (got == NULL)
        return cli_fail(c, TT_EPARSE, "%s: empty key file", arg);
    line[strcspn(line, "\r\n")] = '\0';
    return cli_set(out, line) == 0 ? 0 : cli_fail(c, TT_ENOMEM, "out of memory");
}

int cmd_verify_export(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"key", required_argument, NULL, OPT_KEY},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *key_arg = NULL;
    out_format fmt = OUT_SHORT;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        if (opt == 'h')
            return fputs(verify_export_help, stdout), 0;
        if (opt == OPT_KEY)
            key_arg = optarg;
        else if (opt == 'o') {
            if ((rc = cli_parse_format(c, optarg, 3, &fmt)) != 0)
                return rc;
        } else
            return EXIT_USAGE;
    }
    if (optind != argc - 1)
        return cli_usage(c, "give exactly one export DIR");
    if (key_arg == NULL)
        return cli_usage(c, "--key VKEY is required (the output of `tradetrail key`)");
    char *key = NULL;
    if ((rc = load_key(c, key_arg, &key)) != 0)
        return rc;
    tt_export_report rep;
    int vrc = tt_export_verify_dir(argv[optind], key, cli_progress, "verify-export", &rep);
    cli_progress_done();
    free(key);
    if (fmt == OUT_JSON)
        cli_print_json(c, tt_export_report_to_json(&rep, vrc == TT_OK));
    else if (vrc == TT_OK)
        printf("%s\n", rep.message);
    if (vrc == TT_OK)
        return 0;
    if (vrc == TT_ETAMPERED || vrc == TT_EAUTH || vrc == TT_EPARSE) {
        fprintf(stderr, "tradetrail verify-export: FAILED: %s: %s\n", rep.item, rep.message);
        return EXIT_REJECTED;
    }
    return cli_fail(c, vrc, "%s: %s", rep.item, rep.message);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail feedback, summary, report and demo (SPEC 6.2, 6.4, 10): AI feedback records,
 * daily/weekly/monthly summaries in the seed's layout, aureport-like analytics tables, and
 * a generated demo history. Each parses flags, calls the library and prints its text or the
 * JSON of the matching API endpoint.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_STRATEGY = OPT_FIRST_COMMAND,
    OPT_AI_RETURN,
    OPT_BENCH_RETURN,
    OPT_USER,
    OPT_BENCHMARK,
    OPT_OUTCOME,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_PERIOD,
    OPT_DATE,
    OPT_EVENTS,
    OPT_SEED,
    OPT_DAYS,
};

/* ---- settings: the effective configuration (util/config.h, SPEC 10) ---- */

typedef struct domain_cfg {
    tt_feedback_settings fb;
    const char *title; /* summary_title; valid while the command runs */
} domain_cfg;

/* The feedback settings and the summary title, read by the library's rules. */
static int load_cfg(cli_ctx *c, domain_cfg *d)
{
    memset(d, 0, sizeof *d);
    const tti_config *cfg;
    int rc = cli_config(c, &cfg);
    if (rc != 0)
        return rc;
    char err[256];
    if ((rc = front_feedback_settings(cfg, &d->fb, err, sizeof err)) != TT_OK)
        return cli_fail(c, rc, "%s", err);
    d->title = tti_config_get(cfg, "summary_title");
    return 0;
}

/* ---- tradetrail feedback ---- */

static const char feedback_help[] =
    "usage: tradetrail feedback record --strategy ID --ai-return X --benchmark-return Y\n"
    "                                  [--user U] [--benchmark NAME] [-o short|json]\n"
    "       tradetrail feedback list [--strategy ID] [--outcome positive|negative|neutral]\n"
    "                                [--since T] [--until T] [-n N] [-o short|json]\n"
    "       tradetrail feedback sync [-o short|json]\n\n"
    "AI feedback (SPEC 6.2). Returns are fractions (0.05 is 5 %). alpha = ai - benchmark,\n"
    "reward = tanh(alpha / reward_scale), outcome positive above +neutral_band, negative\n"
    "below -neutral_band, else neutral (configuration keys reward_scale, default 0.05, and\n"
    "neutral_band, default 0.0005). The record and its ai_feedback/RECORD event are written\n"
    "in one transaction. `list` shows the newest records first. --user defaults to $USER.\n";

typedef struct fb_args {
    const char *strategy, *ai, *bench, *user, *benchmark, *outcome, *since, *until, *limit;
    out_format fmt;
} fb_args;

static int parse_feedback(cli_ctx *c, int argc, char **argv, fb_args *a)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"strategy", required_argument, NULL, OPT_STRATEGY},
        {"ai-return", required_argument, NULL, OPT_AI_RETURN},
        {"benchmark-return", required_argument, NULL, OPT_BENCH_RETURN},
        {"user", required_argument, NULL, OPT_USER},
        {"benchmark", required_argument, NULL, OPT_BENCHMARK},
        {"outcome", required_argument, NULL, OPT_OUTCOME},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "ho:n:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(feedback_help, stdout);
            return -1;
        case OPT_STRATEGY:
            a->strategy = optarg;
            break;
        case OPT_AI_RETURN:
            a->ai = optarg;
            break;
        case OPT_BENCH_RETURN:
            a->bench = optarg;
            break;
        case OPT_USER:
            a->user = optarg;
            break;
        case OPT_BENCHMARK:
            a->benchmark = optarg;
            break;
        case OPT_OUTCOME:
            a->outcome = optarg;
            break;
        case OPT_SINCE:
            a->since = optarg;
            break;
        case OPT_UNTIL:
            a->until = optarg;
            break;
        case 'n':
            a->limit = optarg;
            break;
        case 'o':
            if (cli_parse_format(c, optarg, 3, &a->fmt) != 0)
                return EXIT_USAGE;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* A return: any number strtod reads ("nan" and "inf" reach the library, which refuses
 * them with the field's name); anything else is refused here. */
static int parse_return(cli_ctx *c, const char *what, const char *v, double *out)
{
    char *end;
    *out = strtod(v, &end);
    if (end == v || *end != '\0')
        return cli_fail(c, TT_EINVAL, "%s: not a number (\"%s\")", what, v);
    return 0;
}

static int feedback_record(cli_ctx *c, tt_ledger *l, const fb_args *a, const domain_cfg *d)
{
    double ai, bench;
    int rc;
    if ((rc = parse_return(c, "--ai-return", a->ai, &ai)) != 0 ||
        (rc = parse_return(c, "--benchmark-return", a->bench, &bench)) != 0)
        return rc;
    tt_feedback_result r;
    rc =
        tt_feedback_record(l, a->strategy, ai, bench, cli_actor(a->user), a->benchmark, &d->fb, &r);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    if (a->fmt == OUT_JSON)
        return cli_print_json(c, tt_feedback_result_to_json(&r));
    printf("feedback %lld (seq %lld): alpha %+.6f reward %+.4f outcome %s\n", (long long)r.id,
           (long long)r.seq, r.alpha, r.reward, tt_outcome_name(r.outcome));
    return 0;
}

static int feedback_list(cli_ctx *c, tt_ledger *l, const fb_args *a)
{
    tt_feedback_filter f;
    tt_feedback_filter_init(&f);
    f.strategy_id = a->strategy;
    if (a->outcome != NULL && tt_outcome_parse(a->outcome, &f.outcome) != TT_OK)
        return cli_usage(c, "--outcome must be positive, negative or neutral");
    int64_t n64;
    if (a->limit != NULL) {
        if (cli_parse_int(c, "-n", a->limit, 1, &n64) != 0)
            return EXIT_USAGE;
        if (n64 > TT_FEEDBACK_MAX_LIST)
            return cli_usage(c, "-n: at most %d", TT_FEEDBACK_MAX_LIST);
        f.limit = (size_t)n64;
    }
    int rc = 0;
    if ((a->since && (rc = cli_parse_time(c, "--since", a->since, &f.since_us)) != 0) ||
        (a->until && (rc = cli_parse_time(c, "--until", a->until, &f.until_us)) != 0))
        return rc;
    tt_feedback *list = NULL;
    size_t n = 0;
    rc = tt_feedback_list(l, &f, &list, &n);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    if (a->fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_feedback_list_to_json(list, n));
    } else {
        printf("%-27s %-24s %-9s %10s %8s %-12s %s\n", "TIME", "STRATEGY", "OUTCOME", "ALPHA",
               "REWARD", "USER", "BENCHMARK");
        for (size_t i = 0; i < n; i++) {
            char ts[TT_TS_LEN + 1];
            tt_time_format(list[i].ts_us, ts);
            printf("%-27s %-24s %-9s %+10.6f %+8.4f %-12s %s\n", ts, list[i].strategy_id,
                   tt_outcome_name(list[i].outcome), list[i].alpha, list[i].reward, list[i].user_id,
                   list[i].benchmark ? list[i].benchmark : "-");
        }
    }
    tt_feedback_list_free(list, n);
    return rc;
}

/* The training sync (SPEC 6.2) to feedback_sink, recorded as a run of feedback_sync. */
static int feedback_sync(cli_ctx *c, tt_ledger *l, const fb_args *a)
{
    const tti_config *cfg;
    int rc = cli_config(c, &cfg);
    if (rc != 0)
        return rc;
    tt_sync_result r;
    rc = tt_feedback_sync_job(l, tti_config_get(cfg, "feedback_sink"), TT_TRIGGER_CLI, TT_TIME_NONE,
                              &r);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    if (a->fmt == OUT_JSON)
        return cli_print_json(c, tt_sync_result_to_json(&r));
    if (r.count == 0)
        printf("feedback sync: nothing new (watermark %lld)\n", (long long)r.watermark);
    else
        printf("feedback sync: %lld records (seq %lld-%lld) in %lld batches, last %s\n",
               (long long)r.count, (long long)r.from_seq, (long long)r.to_seq, (long long)r.batches,
               r.batch_id);
    return 0;
}

int cmd_feedback(cli_ctx *c, int argc, char **argv)
{
    fb_args a = {.fmt = OUT_SHORT};
    int rc = parse_feedback(c, argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind >= argc)
        return cli_usage(c, "give a subcommand: record, list or sync");
    const char *sub = argv[optind];
    int record = strcmp(sub, "record") == 0, sync = strcmp(sub, "sync") == 0;
    if (!record && !sync && strcmp(sub, "list") != 0)
        return cli_usage(c, "unknown subcommand \"%s\"", sub);
    if (optind + 1 < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind + 1]);
    if (record && (a.strategy == NULL || a.ai == NULL || a.bench == NULL))
        return cli_usage(c, "record needs --strategy, --ai-return and --benchmark-return");
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    domain_cfg d;
    if ((rc = load_cfg(c, &d)) == 0)
        rc = record ? feedback_record(c, l, &a, &d)
             : sync ? feedback_sync(c, l, &a)
                    : feedback_list(c, l, &a);
    tt_ledger_close(l);
    return rc;
}

/* ---- tradetrail summary ---- */

static const char summary_help[] =
    "usage: tradetrail summary [--period day|week|month] [--date D] [-o short|json] [--notify]\n\n"
    "Summary of a UTC day (default today), ISO week (Monday to Sunday) or month holding\n"
    "date D (YYYY-MM-DD, today, yesterday): the seed's daily audit summary (total actions,\n"
    "recent actions, count), events per entity, strategies activated, closed, swapped and\n"
    "failed, AI feedback outcomes with the mean reward, and the latest signed checkpoint\n"
    "note. -o json prints the object of GET /api/summary. The title comes from the\n"
    "configuration key summary_title (default \"tradetrail\").\n"
    "--notify also queues the text summary in the notification outbox for every configured\n"
    "channel (alert_webhook; audit_email with smtp_url; telegram_bot_token with\n"
    "telegram_chat_id), recorded as a notification/QUEUED\n"
    "event; the notification worker of `tradetrail serve` delivers it (docs/NOTIFICATIONS.md).\n"
    "Exit 1 when no channel is configured.\n";

#define OPT_SUMMARY_NOTIFY (OPT_FIRST_COMMAND + 100) /* outside the shared enum */

/* summary --notify: queue the text form for every configured channel (SPEC 7). */
static int summary_notify(cli_ctx *c, tt_ledger *l, const tt_summary *s)
{
    tt_notify_config nc;
    front_notify_config(c->cfg, &nc);
    int st = tt_summary_send(l, &nc, s);
    if (st != TT_OK)
        return cli_fail(c, st, "%s", tt_ledger_errmsg(l));
    fprintf(stderr, "summary queued for delivery by `tradetrail serve`\n");
    return 0;
}

int cmd_summary(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"period", required_argument, NULL, OPT_PERIOD},
        {"date", required_argument, NULL, OPT_DATE},
        {"output", required_argument, NULL, 'o'},
        {"notify", no_argument, NULL, OPT_SUMMARY_NOTIFY},
        {NULL, 0, NULL, 0},
    };
    tt_period period = TT_PERIOD_DAY;
    const char *date = NULL;
    int notify = 0;
    out_format fmt = OUT_SHORT;
    int opt;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(summary_help, stdout);
            return 0;
        case OPT_PERIOD:
            if (tt_period_parse(optarg, &period) != TT_OK)
                return cli_usage(c, "--period must be day, week or month");
            break;
        case OPT_DATE:
            date = optarg;
            break;
        case OPT_SUMMARY_NOTIFY:
            notify = 1;
            break;
        case 'o':
            if (cli_parse_format(c, optarg, 3, &fmt) != 0)
                return EXIT_USAGE;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    int64_t at = tt_time_now_us();
    int rc;
    if (date != NULL && (rc = cli_parse_time(c, "--date", date, &at)) != 0)
        return rc;
    tt_ledger *l;
    rc = cli_open(c, 0, &l);
    if (rc != 0)
        return rc;
    domain_cfg d;
    tt_summary s;
    if ((rc = load_cfg(c, &d)) == 0) {
        int st = tt_summary_build(l, period, at, &s);
        if (st != TT_OK) {
            rc = cli_fail(c, st, "%s", tt_ledger_errmsg(l));
        } else {
            if (fmt == OUT_JSON) {
                rc = cli_print_json(c, tt_summary_to_json(&s));
            } else {
                char *text = tt_summary_to_text(&s, d.title);
                if (text == NULL)
                    rc = cli_fail(c, TT_ENOMEM, "out of memory");
                else
                    fputs(text, stdout);
                tt_free(text);
            }
            if (rc == 0 && notify)
                rc = summary_notify(c, l, &s);
            tt_summary_clear(&s);
        }
    }
    tt_ledger_close(l);
    return rc;
}

/* ---- tradetrail report ---- */

static const char report_help[] =
    "usage: tradetrail report KIND [-n ROWS] [-o short|json]\n\n"
    "Analytics in the manner of aureport (SPEC 6.4). KIND is one of:\n"
    "  event-counts        events per event type\n"
    "  activation-time     CREATED to first activation (ACTIVATED or SWAPPED_IN): mean, "
    "median\n"
    "  lifespan            CREATED to first closing (CLOSED or SWAPPED_OUT): mean, median\n"
    "  close-reasons       most common reasons of CLOSED and SWAPPED_OUT events\n"
    "  actors              activity per actor, manual vs automated\n"
    "  swaps-heatmap       SWAPPED_IN events by day of week and hour (UTC)\n"
    "  feedback            AI feedback outcomes and mean reward per strategy\n"
    "  evaluator-accuracy  share of swaps whose next feedback for the new strategy is "
    "positive\n"
    "Rows are capped at -n (default 100); totals cover the whole ledger. -o json prints the\n"
    "object of GET /api/analytics/KIND. docs/DOMAIN.md defines each report.\n";

static void cell_text(const tt_cell *c, char *buf, size_t len)
{
    switch (c->type) {
    case TT_CELL_TEXT:
        snprintf(buf, len, "%s", c->text);
        break;
    case TT_CELL_INT:
        snprintf(buf, len, "%lld", (long long)c->i);
        break;
    case TT_CELL_REAL:
        snprintf(buf, len, "%.4f", c->r);
        break;
    default:
        snprintf(buf, len, "-");
        break;
    }
}

static void print_report(const tt_report *r)
{
    size_t width[32] = {0};
    char buf[256];
    size_t nc = r->n_columns < 32 ? r->n_columns : 32;
    for (size_t j = 0; j < nc; j++) {
        width[j] = strlen(r->columns[j]);
        for (size_t i = 0; i < r->n_rows; i++) {
            cell_text(&r->cells[i * r->n_columns + j], buf, sizeof buf);
            if (strlen(buf) > width[j])
                width[j] = strlen(buf);
        }
    }
    size_t total = 0;
    for (size_t j = 0; j < nc; j++)
        total += width[j] + (j ? 2 : 0);
    if (total < strlen(r->title))
        total = strlen(r->title);
    printf("\n%s\n", r->title);
    for (size_t k = 0; k < total; k++)
        putchar('=');
    putchar('\n');
    for (size_t j = 0; j < nc; j++)
        printf("%s%-*s", j ? "  " : "", (int)width[j], r->columns[j]);
    putchar('\n');
    for (size_t k = 0; k < total; k++)
        putchar('=');
    putchar('\n');
    for (size_t i = 0; i < r->n_rows; i++) {
        for (size_t j = 0; j < nc; j++) {
            const tt_cell *cell = &r->cells[i * r->n_columns + j];
            cell_text(cell, buf, sizeof buf);
            int right = cell->type == TT_CELL_INT || cell->type == TT_CELL_REAL;
            printf("%s%*s", j ? "  " : "", right ? (int)width[j] : -(int)width[j], buf);
        }
        putchar('\n');
    }
    if (r->n_totals > 0)
        putchar('\n');
    for (size_t i = 0; i < r->n_totals; i++) {
        cell_text(&r->totals[i], buf, sizeof buf);
        printf("%s: %s\n", r->total_names[i], buf);
    }
}

int cmd_report(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    out_format fmt = OUT_SHORT;
    int64_t limit = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "ho:n:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(report_help, stdout);
            return 0;
        case 'n':
            if (cli_parse_int(c, "-n", optarg, 1, &limit) != 0)
                return EXIT_USAGE;
            if (limit > TT_MAX_QUERY_LIMIT)
                return cli_usage(c, "-n: at most %d", TT_MAX_QUERY_LIMIT);
            break;
        case 'o':
            if (cli_parse_format(c, optarg, 3, &fmt) != 0)
                return EXIT_USAGE;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1)
        return cli_usage(c, optind >= argc ? "give a report KIND" : "unexpected argument \"%s\"",
                         optind >= argc ? "" : argv[optind + 1]);
    const char *kind = argv[optind];
    size_t n;
    const char *const *kinds = tt_report_kinds(&n);
    size_t k = 0;
    while (k < n && strcmp(kinds[k], kind) != 0)
        k++;
    if (k == n)
        return cli_usage(c, "unknown report \"%s\"", kind);
    tt_ledger *l;
    int rc = cli_open(c, 0, &l);
    if (rc != 0)
        return rc;
    tt_report *r = NULL;
    int st = tt_report_run(l, kind, (size_t)limit, &r);
    if (st != TT_OK)
        rc = cli_fail(c, st, "%s", tt_ledger_errmsg(l));
    else if (fmt == OUT_JSON)
        rc = cli_print_json(c, tt_report_to_json(r));
    else
        print_report(r);
    tt_report_free(r);
    tt_ledger_close(l);
    return rc;
}

/* ---- tradetrail demo ---- */

static const char demo_help[] =
    "usage: tradetrail demo --events N [--seed S] [--days D] [-o short|json]\n\n"
    "Fill the ledger with about N realistic events spread over D days (default 42):\n"
    "strategies going through their whole lifecycle (all 11 strategy event types, swaps by\n"
    "the evaluator, edits and rollbacks), daily AI feedback, one training sync and\n"
    "maintenance actions, written through the library's own calls. The ledger assigns ts\n"
    "at write time, so the spread is carried by occurred_at. The same --seed (default 1)\n"
    "gives the same history; run again, it adds new strategies to it. The store is created\n"
    "when missing, as by init. The training sync writes to DATA/demo-training.jsonl, never\n"
    "to the configured feedback_sink: made-up returns must not reach a real model. Shows\n"
    "progress on a terminal. For trying tradetrail out: not on a production ledger.\n";

int cmd_demo(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"events", required_argument, NULL, OPT_EVENTS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"days", required_argument, NULL, OPT_DAYS},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int64_t events = -1, seed = 1, days = 0;
    out_format fmt = OUT_SHORT;
    int opt;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(demo_help, stdout);
            return 0;
        case OPT_EVENTS:
            if (cli_parse_int(c, "--events", optarg, 1, &events) != 0)
                return EXIT_USAGE;
            break;
        case OPT_SEED:
            if (cli_parse_int(c, "--seed", optarg, 0, &seed) != 0)
                return EXIT_USAGE;
            break;
        case OPT_DAYS:
            if (cli_parse_int(c, "--days", optarg, 1, &days) != 0)
                return EXIT_USAGE;
            if (days > 3650)
                return cli_usage(c, "--days: at most 3650");
            break;
        case 'o':
            if (cli_parse_format(c, optarg, 3, &fmt) != 0)
                return EXIT_USAGE;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    if (events < 0)
        return cli_usage(c, "--events N is required");
    tt_ledger *l;
    int rc = cli_open(c, 1, &l); /* a newcomer's first command: create as init does */
    if (rc != 0)
        return rc;
    char sink[4096];
    if (snprintf(sink, sizeof sink, "file:%s/demo-training.jsonl", c->data_dir) >=
        (int)sizeof sink) {
        tt_ledger_close(l);
        return cli_fail(c, TT_EINVAL, "data directory path too long");
    }
    tt_demo_options o = {.events = events,
                         .seed = (uint64_t)seed,
                         .span_days = (int)days,
                         .progress = cli_progress,
                         .progress_ctx = (void *)"demo",
                         .feedback_sink = sink};
    tt_demo_report rep;
    int st = tt_demo_generate(l, &o, &rep);
    cli_progress_done();
    if (st != TT_OK) {
        rc = cli_fail(c, st, "%s", tt_ledger_errmsg(l));
    } else if (fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_demo_report_to_json(&rep));
    } else {
        printf("demo: wrote %lld events (%lld strategies, %lld swaps, %lld rollbacks, %lld "
               "feedback records, %lld training syncs, %lld maintenance actions)\n",
               (long long)rep.events, (long long)rep.strategies, (long long)rep.swaps,
               (long long)rep.rollbacks, (long long)rep.feedback, (long long)rep.syncs,
               (long long)rep.actions);
    }
    tt_ledger_close(l);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail strategy …: the strategy lifecycle of SPEC 6.1 from the command line, one
 * subcommand per operation of the transition table plus the reads (show, list, versions,
 * diff, history). Input is checked by the library; -o json prints the HTTP API's objects.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"

enum {
    OPT_NAME = OPT_FIRST_COMMAND,
    OPT_SYMBOL,
    OPT_TIMEFRAME,
    OPT_YAML_FILE,
    OPT_ID,
    OPT_ACTOR,
    OPT_REASON,
    OPT_STATUS,
    OPT_ALL,
    OPT_OLD_SCORE,
    OPT_NEW_SCORE,
    OPT_SWAP_REASON,
    OPT_TYPE,
};

typedef struct args {
    const char *name, *symbol, *timeframe, *yaml_file, *id, *actor, *reason, *status, *type;
    const char *swap_reason;
    int all, has_old_score, has_new_score;
    double old_score, new_score;
    int64_t limit;
    out_format fmt;
    int nargs;
    char **pos;
} args;

typedef struct sub {
    const char *name;
    int min_args, max_args;
    const char *help;
    int (*run)(cli_ctx *c, tt_ledger *l, args *a);
} sub;

static const char common_help[] =
    "\nCommon options: --actor A (default $USER), --reason R, -o short|json, --data DIR,\n"
    "--db URI. Exit status 1 when the operation is refused (a transition the table does\n"
    "not allow, an unknown strategy, invalid input), 2 on a usage error.\n";

static int fail_lib(cli_ctx *c, tt_ledger *l, int rc)
{
    return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
}

/* After a write: the strategy as it is now, as the HTTP API answers. */
static int print_written(cli_ctx *c, tt_ledger *l, args *a, const char *id,
                         const tt_append_result *res, int64_t version, const char *what)
{
    tt_strategy *st = NULL;
    int rc = tt_strategy_get(l, id, &st);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    if (a->fmt == OUT_JSON)
        rc = cli_print_json(c, tt_strategy_result_to_json(st, res, version));
    else {
        printf("%s %s: %s%s (seq %lld", id, what, tt_strategy_status_name(st->status),
               st->deleted ? ", deleted" : "", (long long)res->seq);
        if (version > 0)
            printf(", version %lld", (long long)version);
        printf(")\n");
    }
    tt_strategy_free(st);
    return rc;
}

static int read_yaml(cli_ctx *c, const args *a, char **yaml, size_t *len)
{
    if (a->yaml_file == NULL)
        return cli_usage(c, "--yaml-file FILE is required (- for stdin)");
    return cli_read_file(c, a->yaml_file, TT_MAX_STRATEGY_YAML, yaml, len);
}

/* ---- writes ---- */

static int run_create(cli_ctx *c, tt_ledger *l, args *a)
{
    char *yaml = NULL;
    size_t len = 0;
    int rc = read_yaml(c, a, &yaml, &len);
    if (rc != 0)
        return rc;
    tt_strategy_spec spec = {.id = a->id,
                             .name = a->name,
                             .symbol = a->symbol,
                             .timeframe = a->timeframe,
                             .yaml = yaml,
                             .yaml_len = len,
                             .actor = cli_actor(a->actor),
                             .reason = a->reason};
    char id[TT_MAX_STRATEGY_ID + 1];
    tt_append_result res;
    rc = tt_strategy_create(l, &spec, id, &res);
    free(yaml);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    return print_written(c, l, a, id, &res, 1, "created");
}

typedef int (*transition_fn)(tt_ledger *, const char *, const char *, const char *,
                             tt_append_result *);

static int transition(cli_ctx *c, tt_ledger *l, args *a, transition_fn fn, const char *what)
{
    tt_append_result res;
    int rc = fn(l, a->pos[0], cli_actor(a->actor), a->reason, &res);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    return print_written(c, l, a, a->pos[0], &res, 0, what);
}

static int run_submit(cli_ctx *c, tt_ledger *l, args *a)
{
    return transition(c, l, a, tt_strategy_submit, "submitted");
}

static int run_activate(cli_ctx *c, tt_ledger *l, args *a)
{
    return transition(c, l, a, tt_strategy_activate, "activated");
}

static int run_fail(cli_ctx *c, tt_ledger *l, args *a)
{
    return transition(c, l, a, tt_strategy_fail, "failed");
}

static int run_close(cli_ctx *c, tt_ledger *l, args *a)
{
    return transition(c, l, a, tt_strategy_close, "closed");
}

static int run_archive(cli_ctx *c, tt_ledger *l, args *a)
{
    return transition(c, l, a, tt_strategy_archive, "archived");
}

static int run_delete(cli_ctx *c, tt_ledger *l, args *a)
{
    return transition(c, l, a, tt_strategy_delete, "deleted");
}

static int run_set_status(cli_ctx *c, tt_ledger *l, args *a)
{
    tt_strategy_status st;
    if (tt_strategy_status_parse(a->pos[1], &st) != TT_OK)
        return cli_usage(c, "%s", tt_ledger_errmsg(l));
    tt_append_result res;
    int rc = tt_strategy_set_status(l, a->pos[0], st, cli_actor(a->actor), a->reason, &res);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    return print_written(c, l, a, a->pos[0], &res, 0, "status set");
}

static int run_update_yaml(cli_ctx *c, tt_ledger *l, args *a)
{
    char *yaml = NULL;
    size_t len = 0;
    int rc = read_yaml(c, a, &yaml, &len);
    if (rc != 0)
        return rc;
    tt_append_result res;
    int64_t version = 0;
    rc = tt_strategy_update_yaml(l, a->pos[0], yaml, len, cli_actor(a->actor), a->reason, &version,
                                 &res);
    free(yaml);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    return print_written(c, l, a, a->pos[0], &res, version, "YAML updated");
}

static int run_rollback(cli_ctx *c, tt_ledger *l, args *a)
{
    int64_t target;
    if (cli_parse_int(c, "VERSION", a->pos[1], 1, &target) != 0)
        return EXIT_USAGE;
    tt_append_result res;
    int64_t version = 0;
    int rc =
        tt_strategy_rollback(l, a->pos[0], target, cli_actor(a->actor), a->reason, &version, &res);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    return print_written(c, l, a, a->pos[0], &res, version, "rolled back");
}

static int run_swap(cli_ctx *c, tt_ledger *l, args *a)
{
    tt_strategy_swap_spec spec = {.old_id = a->pos[0],
                                  .new_id = a->pos[1],
                                  .actor = cli_actor(a->actor),
                                  .reason = a->reason,
                                  .swap_reason = a->swap_reason,
                                  .has_old_score = a->has_old_score,
                                  .old_score = a->old_score,
                                  .has_new_score = a->has_new_score,
                                  .new_score = a->new_score};
    tt_append_result res[2];
    int rc = tt_strategy_swap(l, &spec, res);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    tt_strategy *o = NULL, *n = NULL;
    if ((rc = tt_strategy_get(l, spec.old_id, &o)) == TT_OK)
        rc = tt_strategy_get(l, spec.new_id, &n);
    if (rc != TT_OK)
        rc = fail_lib(c, l, rc);
    else if (a->fmt == OUT_JSON)
        rc = cli_print_json(c, tt_strategy_swap_result_to_json(o, n, res));
    else
        printf("%s swapped out (CLOSED, seq %lld); %s swapped in (ACTIVE, seq %lld)\n", o->id,
               (long long)res[0].seq, n->id, (long long)res[1].seq);
    tt_strategy_free(o);
    tt_strategy_free(n);
    return rc;
}

/* ---- reads ---- */

static void print_strategy_line(const tt_strategy *s)
{
    char ts[TT_TS_LEN + 1];
    tt_time_format(s->updated_us, ts);
    printf("%-24s %-8s%s %-10s %-6s v%-4lld %s  %s\n", s->id, tt_strategy_status_name(s->status),
           s->deleted ? "*" : " ", s->symbol, s->timeframe, (long long)s->version, ts, s->name);
}

static int run_show(cli_ctx *c, tt_ledger *l, args *a)
{
    tt_strategy *st = NULL;
    int rc = tt_strategy_get(l, a->pos[0], &st);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    if (a->fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_strategy_to_json(st));
    } else {
        char created[TT_TS_LEN + 1], updated[TT_TS_LEN + 1];
        tt_time_format(st->created_us, created);
        tt_time_format(st->updated_us, updated);
        printf("id:        %s\nname:      %s\nsymbol:    %s\ntimeframe: %s\n"
               "status:    %s%s\nversion:   %lld\ncreated:   %s\nupdated:   %s\n",
               st->id, st->name, st->symbol, st->timeframe, tt_strategy_status_name(st->status),
               st->deleted ? " (deleted)" : "", (long long)st->version, created, updated);
    }
    tt_strategy_free(st);
    return rc;
}

static int run_list(cli_ctx *c, tt_ledger *l, args *a)
{
    tt_strategy_filter f = {.status = a->status,
                            .symbol = a->symbol,
                            .include_deleted = a->all,
                            .limit = (size_t)a->limit};
    tt_strategy *arr = NULL;
    size_t n = 0;
    int rc = tt_strategy_list(l, &f, &arr, &n);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    if (a->fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_strategy_list_to_json(arr, n));
    } else {
        printf("%-24s %-9s %-10s %-6s %-5s %-27s %s\n", "ID", "STATUS", "SYMBOL", "TF", "VER",
               "UPDATED", "NAME");
        for (size_t i = 0; i < n; i++)
            print_strategy_line(&arr[i]);
    }
    tt_strategy_list_free(arr, n);
    return rc;
}

static int run_versions(cli_ctx *c, tt_ledger *l, args *a)
{
    int rc;
    if (a->nargs == 2) {
        int64_t number;
        if (cli_parse_int(c, "VERSION", a->pos[1], 1, &number) != 0)
            return EXIT_USAGE;
        tt_strategy_version *v = NULL;
        if ((rc = tt_strategy_version_get(l, a->pos[0], number, &v)) != TT_OK)
            return fail_lib(c, l, rc);
        if (a->fmt == OUT_JSON)
            rc = cli_print_json(c, tt_strategy_version_to_json(v));
        else
            fwrite(v->content, 1, v->content_len, stdout);
        tt_strategy_version_free(v);
        return rc;
    }
    tt_strategy_version *arr = NULL;
    size_t n = 0;
    if ((rc = tt_strategy_versions(l, a->pos[0], &arr, &n)) != TT_OK)
        return fail_lib(c, l, rc);
    if (a->fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_strategy_versions_to_json(a->pos[0], arr, n));
    } else {
        printf("%-5s %-12s %-27s %-12s %-16s %s\n", "VER", "CHANGE", "CREATED", "SHA256", "AUTHOR",
               "REASON");
        for (size_t i = 0; i < n; i++) {
            char ts[TT_TS_LEN + 1];
            tt_time_format(arr[i].created_us, ts);
            printf("%-5lld %-12s %-27s %.12s %-16s %s\n", (long long)arr[i].number,
                   arr[i].change_type, ts, arr[i].sha256, arr[i].author,
                   arr[i].reason ? arr[i].reason : "");
        }
    }
    tt_strategy_versions_free(arr, n);
    return rc;
}

static int run_diff(cli_ctx *c, tt_ledger *l, args *a)
{
    int64_t from, to;
    if (cli_parse_int(c, "FROM", a->pos[1], 1, &from) != 0 ||
        cli_parse_int(c, "TO", a->pos[2], 1, &to) != 0)
        return EXIT_USAGE;
    char *text = NULL;
    int rc = tt_strategy_diff(l, a->pos[0], from, to, &text);
    if (rc != TT_OK)
        return fail_lib(c, l, rc);
    if (a->fmt == OUT_JSON)
        rc = cli_print_json(c, tt_strategy_diff_to_json(a->pos[0], from, to, text));
    else
        fputs(text, stdout);
    tt_free(text);
    return rc;
}

/* One event in the seed's audit-trail layout (as `show -o short`), into b. */
static void format_short(tti_buf *b, const tt_event *e)
{
    char ts[TT_TS_LEN + 1];
    tt_time_format(e->ts_us, ts);
    tti_buf_printf(b, "[%s] %s %s strategy/%s", ts, e->actor, e->event_type, e->entity_id);
    if (e->old_status != NULL || e->new_status != NULL)
        tti_buf_printf(b, " (%s%s\u2192%s%s)", e->old_status ? e->old_status : "",
                       e->old_status ? " " : "", e->new_status ? " " : "",
                       e->new_status ? e->new_status : "");
    tti_buf_adds(b, "\n");
    if (e->reason != NULL && e->reason[0] != '\0')
        tti_buf_printf(b, "  Reason: %s\n", e->reason);
    if (e->metadata != NULL)
        tti_buf_printf(b, "  Metadata: %s\n", e->metadata);
}

/* history [ID]: the newest N strategy events, printed oldest first (as `show -n`); with
 * -o json the seed-compatible audit-log object of the HTTP API. */
static int run_history(cli_ctx *c, tt_ledger *l, args *a)
{
    const char *id = a->nargs ? a->pos[0] : NULL;
    size_t limit = a->limit ? (size_t)a->limit : 100;
    int rc;
    if (a->fmt == OUT_JSON) {
        /* The seed's per-strategy audit log has no event-type filter. */
        if (id != NULL && a->type != NULL)
            return cli_usage(c, "--type lists all strategies' events: give no ID with -o json");
        char *json = NULL;
        rc = id ? tt_strategy_audit_log_json(l, id, limit, &json)
                : tt_strategy_audit_logs_json(l, a->type, limit, &json);
        return rc != TT_OK ? fail_lib(c, l, rc) : cli_print_json(c, json);
    }
    tt_query q;
    tt_query_init(&q);
    q.entity = "strategy";
    q.entity_id = id;
    /* --type T[,T...] is the event_type list of GET /api/events, as for `show --type`. */
    void *types = NULL;
    if (a->type != NULL) {
        const tt_query_param p = {.key = "event_type", .value = a->type};
        char err[128];
        if ((rc = tt_query_parse_params(&q, &p, 1, tt_time_now_us(), &types, err, sizeof err)) !=
            TT_OK)
            return rc == TT_EINVAL ? cli_usage(c, "--type: %s", err) : cli_fail(c, rc, "%s", err);
    }
    q.limit = limit;
    q.order = TT_ORDER_DESC;
    tt_iter *it = NULL;
    if ((rc = tt_ledger_query(l, &q, &it)) != TT_OK) {
        tt_free(types);
        return fail_lib(c, l, rc);
    }
    /* Iterator events live until the next call: keep each one's text, print in reverse. */
    char **lines = calloc(limit, sizeof *lines);
    size_t n = 0;
    const tt_event *ev;
    while (lines != NULL && n < limit && (rc = tt_iter_next(it, &ev)) == TT_OK) {
        tti_buf b;
        tti_buf_init(&b, 1 << 20);
        format_short(&b, ev);
        if ((lines[n++] = b.failed ? NULL : tti_buf_take(&b)) == NULL) {
            tti_buf_free(&b);
            rc = TT_ENOMEM;
            break;
        }
    }
    tt_iter_free(it);
    tt_free(types);
    if (lines == NULL)
        rc = TT_ENOMEM;
    if (rc == TT_OK || rc == TT_ENOTFOUND) {
        for (size_t i = n; i > 0; i--)
            fputs(lines[i - 1], stdout);
        rc = 0;
    } else {
        rc = rc == TT_ENOMEM ? cli_fail(c, rc, "out of memory") : fail_lib(c, l, rc);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    return rc;
}

/* ---- the subcommand table and option parsing ---- */

static const sub subs[] = {
    {"create", 0, 0,
     "usage: tradetrail strategy create --name N --symbol S --timeframe T --yaml-file FILE\n"
     "                                  [--id ID] [--actor A] [--reason R] [-o short|json]\n\n"
     "Create a strategy in DRAFT with version 1 of its YAML (FILE, or - for stdin) and a\n"
     "CREATED event. The YAML must be well-formed; the id ([A-Za-z0-9_-]{1,64}) is generated\n"
     "when not given.\n",
     run_create},
    {"submit", 1, 1,
     "usage: tradetrail strategy submit ID [--actor A] [--reason R] [-o short|json]\n\n"
     "DRAFT or CLOSED -> PENDING (event STATUS_CHANGED).\n",
     run_submit},
    {"activate", 1, 1,
     "usage: tradetrail strategy activate ID [--actor A] [--reason R] [-o short|json]\n\n"
     "PENDING -> ACTIVE (event ACTIVATED).\n",
     run_activate},
    {"fail", 1, 1,
     "usage: tradetrail strategy fail ID [--actor A] [--reason R] [-o short|json]\n\n"
     "DRAFT or PENDING -> FAILED (event FAILED).\n",
     run_fail},
    {"close", 1, 1,
     "usage: tradetrail strategy close ID [--actor A] [--reason R] [-o short|json]\n\n"
     "ACTIVE -> CLOSED (event CLOSED).\n",
     run_close},
    {"archive", 1, 1,
     "usage: tradetrail strategy archive ID [--actor A] [--reason R] [-o short|json]\n\n"
     "FAILED or CLOSED -> ARCHIVED (event ARCHIVED).\n",
     run_archive},
    {"delete", 1, 1,
     "usage: tradetrail strategy delete ID [--actor A] [--reason R] [-o short|json]\n\n"
     "Soft-delete a strategy in any status but ACTIVE (event DELETED). Its history stays.\n",
     run_delete},
    {"set-status", 2, 2,
     "usage: tradetrail strategy set-status ID STATUS [--actor A] [--reason R] [-o short|json]\n\n"
     "The generic status change from any status but ARCHIVED (event STATUS_CHANGED).\n",
     run_set_status},
    {"update-yaml", 1, 1,
     "usage: tradetrail strategy update-yaml ID --yaml-file FILE [--actor A] [--reason R]\n"
     "                                       [-o short|json]\n\n"
     "Store a new version (MANUAL_EDIT) of the YAML from FILE (- for stdin), in any status but\n"
     "ARCHIVED (event YAML_UPDATED).\n",
     run_update_yaml},
    {"rollback", 2, 2,
     "usage: tradetrail strategy rollback ID VERSION [--actor A] [--reason R] [-o short|json]\n\n"
     "Store a new version (ROLLBACK) with the content of VERSION, in any status but ARCHIVED\n"
     "(event ROLLED_BACK).\n",
     run_rollback},
    {"swap", 2, 2,
     "usage: tradetrail strategy swap OLD_ID NEW_ID [--old-score X] [--new-score Y]\n"
     "                                [--swap-reason R] [--actor A] [--reason R] [-o "
     "short|json]\n\n"
     "In one transaction: OLD_ID ACTIVE -> CLOSED (SWAPPED_OUT) and NEW_ID PENDING -> ACTIVE\n"
     "(SWAPPED_IN); the scores become each event's evaluationScore.\n",
     run_swap},
    {"show", 1, 1, "usage: tradetrail strategy show ID [-o short|json]\n\nOne strategy.\n",
     run_show},
    {"list", 0, 0,
     "usage: tradetrail strategy list [--status S] [--symbol S] [--all] [-n N] [-o short|json]\n\n"
     "Strategies by id; --all includes soft-deleted ones (marked *).\n",
     run_list},
    {"versions", 1, 2,
     "usage: tradetrail strategy versions ID [VERSION] [-o short|json]\n\n"
     "The versions of a strategy, or the content of one version.\n",
     run_versions},
    {"diff", 3, 3,
     "usage: tradetrail strategy diff ID FROM TO [-o short|json]\n\n"
     "Unified diff of the YAML of version FROM to version TO.\n",
     run_diff},
    {"history", 0, 1,
     "usage: tradetrail strategy history [ID] [--type T[,T...]] [-n N] [-o short|json]\n\n"
     "The newest N (default 100) strategy events, of one strategy or all, oldest first; -o json\n"
     "prints the seed-compatible audit-log object (newest first) of the HTTP API.\n"
     "--type takes a comma-separated list of event types (ACTIVATED,SWAPPED_IN): events of\n"
     "any of them, as GET /api/events?event_type=A,B.\n",
     run_history},
};

static const char strategy_help[] =
    "usage: tradetrail strategy SUBCOMMAND [options]\n\n"
    "The strategy lifecycle (SPEC 6.1): create, submit, activate, fail, close, archive,\n"
    "delete, set-status, update-yaml, rollback, swap, show, list, versions, diff, history.\n"
    "Every change and its audit event are one transaction. `tradetrail strategy SUB --help`\n"
    "describes each subcommand.\n";

static int parse_score(cli_ctx *c, const char *what, const char *arg, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !isfinite(d))
        return cli_usage(c, "%s must be a number (got \"%s\")", what, arg);
    *out = d;
    return 0;
}

static int parse_opts(cli_ctx *c, const sub *sc, int argc, char **argv, args *a)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"name", required_argument, NULL, OPT_NAME},
        {"symbol", required_argument, NULL, OPT_SYMBOL},
        {"timeframe", required_argument, NULL, OPT_TIMEFRAME},
        {"yaml-file", required_argument, NULL, OPT_YAML_FILE},
        {"id", required_argument, NULL, OPT_ID},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"reason", required_argument, NULL, OPT_REASON},
        {"status", required_argument, NULL, OPT_STATUS},
        {"all", no_argument, NULL, OPT_ALL},
        {"old-score", required_argument, NULL, OPT_OLD_SCORE},
        {"new-score", required_argument, NULL, OPT_NEW_SCORE},
        {"swap-reason", required_argument, NULL, OPT_SWAP_REASON},
        {"type", required_argument, NULL, OPT_TYPE},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:n:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(sc->help, stdout);
            fputs(common_help, stdout);
            return -1;
        case OPT_NAME:
            a->name = optarg;
            break;
        case OPT_SYMBOL:
            a->symbol = optarg;
            break;
        case OPT_TIMEFRAME:
            a->timeframe = optarg;
            break;
        case OPT_YAML_FILE:
            a->yaml_file = optarg;
            break;
        case OPT_ID:
            a->id = optarg;
            break;
        case OPT_ACTOR:
            a->actor = optarg;
            break;
        case OPT_REASON:
            a->reason = optarg;
            break;
        case OPT_STATUS:
            a->status = optarg;
            break;
        case OPT_ALL:
            a->all = 1;
            break;
        case OPT_TYPE:
            a->type = optarg;
            break;
        case OPT_SWAP_REASON:
            a->swap_reason = optarg;
            break;
        case OPT_OLD_SCORE:
            a->has_old_score = 1;
            if (parse_score(c, "--old-score", optarg, &a->old_score) != 0)
                return EXIT_USAGE;
            break;
        case OPT_NEW_SCORE:
            a->has_new_score = 1;
            if (parse_score(c, "--new-score", optarg, &a->new_score) != 0)
                return EXIT_USAGE;
            break;
        case 'n':
            if (cli_parse_int(c, "-n", optarg, 1, &a->limit) != 0)
                return EXIT_USAGE;
            if (a->limit > TT_MAX_QUERY_LIMIT)
                return cli_usage(c, "-n must be at most %d", TT_MAX_QUERY_LIMIT);
            break;
        case 'o':
            if (cli_parse_format(c, optarg, (1 << OUT_SHORT) | (1 << OUT_JSON), &a->fmt) != 0)
                return EXIT_USAGE;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    a->pos = argv + optind;
    a->nargs = argc - optind;
    if (a->nargs < sc->min_args || a->nargs > sc->max_args)
        return cli_usage(c, "%s takes %d%s%d argument%s", sc->name, sc->min_args,
                         sc->max_args > sc->min_args ? " to " : "", sc->max_args,
                         sc->max_args == 1 ? "" : "s");
    return 0;
}

int cmd_strategy(cli_ctx *c, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(strategy_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const sub *sc = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(subs[i].name, argv[1]) == 0)
            sc = &subs[i];
    if (sc == NULL)
        return cli_usage(c, "unknown subcommand \"%s\"", argv[1]);
    /* Messages read "tradetrail strategy create: ...". */
    static char command[64];
    snprintf(command, sizeof command, "strategy %s", sc->name);
    c->command = command;
    args a = {.fmt = OUT_SHORT};
    int rc = parse_opts(c, sc, argc - 1, argv + 1, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    rc = sc->run(c, l, &a);
    tt_ledger_close(l);
    return rc;
}

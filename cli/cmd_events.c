/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail append, log and show: writing events and reading them back. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util/buf.h"

enum {
    OPT_ENTITY = OPT_FIRST_COMMAND,
    OPT_ID,
    OPT_TYPE,
    OPT_ACTOR,
    OPT_OLD,
    OPT_NEW,
    OPT_REASON,
    OPT_META,
    OPT_OCCURRED,
    OPT_IDEM,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_GREP,
    OPT_BATCH,
    OPT_PRODUCER,
    OPT_PRODUCER_SEQ,
    OPT_VIEW,
    OPT_ARCHIVE,
};

/* ------------------------------------------------------------------ append ---------- */

static const char append_help[] =
    "usage: tradetrail append --entity E --id ID --type T --actor A [--old S] [--new S]\n"
    "                         [--reason R] [--meta JSON] [--occurred-at T]\n"
    "                         [--idempotency-key K] [--producer P --producer-seq N]\n"
    "                         [-o short|json]\n"
    "       tradetrail append [--batch N] [-o short|json] < events.ndjson\n\n"
    "Append one event given by flags, or, without --entity, NDJSON events from stdin\n"
    "(one JSON object per line, fields as in POST /api/events). Each chunk of N lines\n"
    "(default and maximum 10000) is one atomic batch: a chunk with an invalid line is\n"
    "not written at all, and appending stops there. Metadata values under the keys of\n"
    "redact_keys (default api_key, apikey, secret, password, passphrase, token,\n"
    "private_key; any depth, any case) are stored as \"[redacted]\". --producer and\n"
    "--producer-seq name the sending process and its own counter (1, 2, 3 ...): the\n"
    "ledger records a GAP, REPEAT or RESTART event when the counter is not the next one.\n";

typedef struct append_args {
    tt_event ev;
    char *meta_norm;
    out_format fmt;
    int64_t batch;
    int have_flags;
} append_args;

static int set_meta(cli_ctx *c, append_args *a, const char *arg)
{
    char err[256];
    const tti_config *cfg;
    int rc = cli_config(c, &cfg); /* redact_keys applies to --meta too (SPEC 15) */
    if (rc != 0)
        return rc;
    rc = tt_metadata_normalize(arg, strlen(arg), &a->meta_norm, err, sizeof err);
    if (rc != TT_OK)
        return cli_fail(c, rc, "--meta: %s", err);
    a->ev.metadata = a->meta_norm;
    return 0;
}

static int event_opt(cli_ctx *c, append_args *a, int opt, const char *arg)
{
    tt_event *e = &a->ev;
    a->have_flags = 1;
    switch (opt) {
    case OPT_ENTITY:
        e->entity = arg;
        return 0;
    case OPT_ID:
        e->entity_id = arg;
        return 0;
    case OPT_TYPE:
        e->event_type = arg;
        return 0;
    case OPT_ACTOR:
        e->actor = arg;
        return 0;
    case OPT_OLD:
        e->old_status = arg;
        return 0;
    case OPT_NEW:
        e->new_status = arg;
        return 0;
    case OPT_REASON:
        e->reason = arg;
        return 0;
    case OPT_IDEM:
        e->idempotency_key = arg;
        return 0;
    case OPT_META:
        return set_meta(c, a, arg);
    case OPT_PRODUCER:
        e->producer = arg;
        return 0;
    case OPT_PRODUCER_SEQ:
        return cli_parse_int(c, "--producer-seq", arg, 1, &e->producer_seq) != 0 ? EXIT_USAGE : 0;
    case OPT_OCCURRED:
        if (tt_time_parse_rfc3339(arg, &e->occurred_at_us) != TT_OK)
            return cli_fail(c, TT_EINVAL, "--occurred-at: not an RFC 3339 time: \"%s\"", arg);
        return 0;
    default:
        return cli_usage(c, "unknown option");
    }
}

static int parse_append(cli_ctx *c, int argc, char **argv, append_args *a)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"entity", required_argument, NULL, OPT_ENTITY},
        {"id", required_argument, NULL, OPT_ID},
        {"type", required_argument, NULL, OPT_TYPE},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"old", required_argument, NULL, OPT_OLD},
        {"new", required_argument, NULL, OPT_NEW},
        {"reason", required_argument, NULL, OPT_REASON},
        {"meta", required_argument, NULL, OPT_META},
        {"occurred-at", required_argument, NULL, OPT_OCCURRED},
        {"idempotency-key", required_argument, NULL, OPT_IDEM},
        {"producer", required_argument, NULL, OPT_PRODUCER},
        {"producer-seq", required_argument, NULL, OPT_PRODUCER_SEQ},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        if (opt == 'h') {
            fputs(append_help, stdout);
            return -1;
        }
        if (opt == 'o')
            rc = cli_parse_format(c, optarg, 3, &a->fmt);
        else if (opt == OPT_BATCH)
            rc = cli_parse_int(c, "--batch", optarg, 1, &a->batch);
        else if (opt == '?')
            return EXIT_USAGE;
        else
            rc = event_opt(c, a, opt, optarg);
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    if (a->batch > TT_MAX_BATCH)
        return cli_usage(c, "--batch is at most %d", TT_MAX_BATCH);
    return 0;
}

static int print_result(cli_ctx *c, const tt_append_result *r, out_format fmt)
{
    if (fmt == OUT_JSON)
        return cli_print_json(c, tt_append_result_to_json(r));
    char ts[TT_TS_LEN + 1];
    tt_time_format(r->ts_us, ts);
    printf("%s seq %lld at %s\n", r->existed ? "already recorded as" : "appended",
           (long long)r->seq, ts);
    return 0;
}

static int append_flags(cli_ctx *c, tt_ledger *l, append_args *a)
{
    tt_append_result r;
    int rc = tt_ledger_append(l, &a->ev, 1, &r);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    return print_result(c, &r, a->fmt);
}

/* One chunk of NDJSON lines, kept as text and parsed and checked in full by the library's
 * body parser before anything is written; its events go to the ledger as checked
 * (tt_ledger_append_parsed), so nothing is parsed or checked twice. */
typedef struct chunk {
    tti_buf text;       /* the chunk's lines, blank ones inside it included */
    size_t n;           /* events (non-blank lines) in text */
    int64_t first_line; /* the line number of the chunk's first line */
    tt_append_result *res;
} chunk;

static void chunk_clear(chunk *ch)
{
    tti_buf_reset(&ch->text);
    ch->n = 0;
}

/* The body parser names a line of the chunk ("line K: ..."): name it in the input. */
static int chunk_fail(cli_ctx *c, chunk *ch, int rc, const char *err)
{
    size_t k = 0;
    int used = 0;
    if (sscanf(err, "line %zu: %n", &k, &used) == 1 && used > 0 && k > 0)
        return cli_fail(c, rc, "line %lld: %s; nothing from line %lld on was written",
                        (long long)(ch->first_line + (int64_t)k - 1), err + used,
                        (long long)ch->first_line);
    return cli_fail(c, rc, "lines from %lld: %s; nothing from line %lld on was written",
                    (long long)ch->first_line, err, (long long)ch->first_line);
}

static int flush_chunk(cli_ctx *c, tt_ledger *l, chunk *ch, append_args *a, int64_t *total,
                       int64_t next_line)
{
    if (ch->n == 0)
        return 0;
    tt_event *ev = NULL;
    size_t n = 0;
    void *owner = NULL;
    int is_batch;
    char err[512];
    int rc = ch->text.failed ? TT_ENOMEM
                             : tt_events_parse_body(ch->text.data, ch->text.len, 1, &ev, &n, &owner,
                                                    &is_batch, err, sizeof err);
    if (rc != TT_OK) {
        rc = ch->text.failed ? cli_fail(c, TT_ENOMEM, "out of memory") : chunk_fail(c, ch, rc, err);
        chunk_clear(ch);
        return rc;
    }
    rc = tt_ledger_append_parsed(l, ev, n, owner, ch->res);
    if (rc != TT_OK) {
        rc = cli_fail(c, rc, "lines %lld-%lld: %s; nothing from line %lld on was written",
                      (long long)ch->first_line, (long long)(next_line - 1), tt_ledger_errmsg(l),
                      (long long)ch->first_line);
        tt_events_free_body(ev, n, owner);
        chunk_clear(ch);
        return rc;
    }
    if (a->fmt == OUT_JSON)
        cli_print_json(c, tt_batch_result_to_json(ch->res, n));
    *total += (int64_t)n;
    cli_progress("append", *total, 0);
    tt_events_free_body(ev, n, owner);
    chunk_clear(ch);
    ch->first_line = next_line;
    return 0;
}

static int append_stream(cli_ctx *c, tt_ledger *l, append_args *a)
{
    size_t max = a->batch ? (size_t)a->batch : TT_MAX_BATCH;
    chunk ch = {.res = calloc(max, sizeof(tt_append_result)), .first_line = 1};
    tti_buf_init(&ch.text, (size_t)1 << 40);
    char *line = NULL;
    size_t cap = 0;
    int64_t lineno = 0, total = 0;
    int rc = 0;
    if (ch.res == NULL)
        rc = cli_fail(c, TT_ENOMEM, "out of memory");
    ssize_t n;
    while (rc == 0 && (n = getline(&line, &cap, stdin)) != -1) {
        lineno++;
        /* Blank lines (whitespace only) are skipped by the body parser too; one before the
         * chunk's first event only moves its first line on. */
        size_t k = (size_t)n;
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r' || line[k - 1] == ' ' ||
                         line[k - 1] == '\t'))
            k--;
        int blank = strspn(line, " \t") >= k;
        if (blank && ch.n == 0) {
            ch.first_line++;
            continue;
        }
        tti_buf_add(&ch.text, line, k);
        tti_buf_add(&ch.text, "\n", 1);
        ch.n += !blank;
        if (ch.n == max)
            rc = flush_chunk(c, l, &ch, a, &total, lineno + 1);
    }
    if (rc == 0)
        rc = flush_chunk(c, l, &ch, a, &total, lineno + 1);
    cli_progress_done();
    if (rc == 0 && a->fmt != OUT_JSON)
        printf("appended %lld events\n", (long long)total);
    tti_buf_free(&ch.text);
    free(line);
    free(ch.res);
    return rc;
}

int cmd_append(cli_ctx *c, int argc, char **argv)
{
    append_args a = {.fmt = OUT_SHORT};
    tt_event_init(&a.ev);
    int rc = parse_append(c, argc, argv, &a);
    if (rc != 0) {
        tt_free(a.meta_norm);
        return rc < 0 ? 0 : rc;
    }
    if (!a.have_flags && isatty(STDIN_FILENO)) {
        tt_free(a.meta_norm);
        return cli_usage(c, "give the event as flags, or NDJSON on stdin");
    }
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) == 0) {
        rc = a.have_flags ? append_flags(c, l, &a) : append_stream(c, l, &a);
        tt_ledger_close(l);
    }
    tt_free(a.meta_norm);
    return rc;
}

/* -------------------------------------------------------------------- log ----------- */

static const char log_help[] =
    "usage: tradetrail log MESSAGE [--source S] [--actor A] [-o short|json]\n\n"
    "Record a maintenance action: entity \"maintenance\", entity_id the source (default\n"
    "\"manual\"), event type ACTION, reason the message. For shell scripts and cron jobs.\n";

int cmd_log(cli_ctx *c, int argc, char **argv)
{
    const char *source = NULL, *actor = NULL;
    const cli_opt opts[] = {{"source", &source}, {"actor", &actor}, {NULL, NULL}};
    out_format fmt = OUT_SHORT;
    int rc = cli_parse_opts(c, argc, argv, log_help, 3, &fmt, opts);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind != argc - 1)
        return cli_usage(c, "give exactly one MESSAGE (quote it)");
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    tt_append_result r;
    rc = tt_ledger_log_action(l, argv[optind], source, actor, &r);
    rc = rc == TT_OK ? print_result(c, &r, fmt) : cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    tt_ledger_close(l);
    return rc;
}

/* -------------------------------------------------------------------- show ---------- */

static const char show_help[] =
    "usage: tradetrail show [--entity E] [--id ID] [--type T[,T...]] [--actor A]\n"
    "                       [--since T] [--until T] [--grep WORDS] [-n N]\n"
    "                       [--view stored|corrected] [--include-archive]\n"
    "                       [-o short|json|csv] [-f]\n\n"
    "Print matching events, oldest first. -n N shows the newest N matching events;\n"
    "-f keeps running and prints new events as they are appended. Times are RFC 3339,\n"
    "a date (2026-01-18), today, yesterday, or relative (-2h, -30m, -7d).\n"
    "--grep searches the reasons (every word must occur). --view corrected shows events\n"
    "as their latest CORRECTION says and leaves out VOIDed ones (and the corrections\n"
    "themselves); the stored events are unchanged. It cannot be combined with -f.\n"
    "Events whose bodies retention moved to archive segments are left out unless\n"
    "--include-archive is given: they are then read back from the segments (archive_dir,\n"
    "default DATA/archive), which is slower but complete.\n";

typedef struct show_args {
    tt_query q;
    void *types_owner; /* the strings of q.event_types */
    int64_t last_n;
    int follow;
    out_format fmt;
} show_args;

static volatile sig_atomic_t stop_follow;

static void on_sigint(int sig)
{
    (void)sig;
    stop_follow = 1;
}

/* --type T[,T...] is the event_type parameter of GET /api/events; a later --type replaces
 * an earlier one. */
static int parse_types(cli_ctx *c, show_args *a, const char *arg)
{
    const tt_query_param p = {.key = "event_type", .value = arg};
    void *owner;
    char err[128];
    int rc = tt_query_parse_params(&a->q, &p, 1, tt_time_now_us(), &owner, err, sizeof err);
    if (rc == TT_EINVAL) /* the only thing wrong with a list: too many types */
        return cli_usage(c, "--type takes at most %d types", TT_MAX_QUERY_TYPES);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", err);
    tt_free(a->types_owner);
    a->types_owner = owner;
    return 0;
}

static int show_opt(cli_ctx *c, show_args *a, int opt, const char *arg)
{
    switch (opt) {
    case OPT_ENTITY:
        a->q.entity = arg;
        return 0;
    case OPT_ID:
        a->q.entity_id = arg;
        return 0;
    case OPT_ACTOR:
        a->q.actor = arg;
        return 0;
    case OPT_GREP:
        a->q.text = arg;
        return 0;
    case OPT_ARCHIVE:
        a->q.include_archive = 1;
        return 0;
    case OPT_TYPE:
        return parse_types(c, a, arg);
    case OPT_SINCE:
        return cli_parse_time(c, "--since", arg, &a->q.since_us);
    case OPT_UNTIL:
        return cli_parse_time(c, "--until", arg, &a->q.until_us);
    case OPT_VIEW: {
        const tt_query_param p = {.key = "view", .value = arg};
        void *owner = NULL;
        char err[128];
        if (tt_query_parse_params(&a->q, &p, 1, 0, &owner, err, sizeof err) != TT_OK)
            return cli_usage(c, "--view must be stored or corrected");
        tt_free(owner);
        return 0;
    }
    case 'n':
        return cli_parse_int(c, "-n", arg, 1, &a->last_n) != 0 ? EXIT_USAGE : 0;
    case 'f':
        a->follow = 1;
        return 0;
    case 'o':
        return cli_parse_format(c, arg, 7, &a->fmt);
    default:
        return EXIT_USAGE;
    }
}

static int parse_show(cli_ctx *c, int argc, char **argv, show_args *a)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"entity", required_argument, NULL, OPT_ENTITY},
        {"id", required_argument, NULL, OPT_ID},
        {"type", required_argument, NULL, OPT_TYPE},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"grep", required_argument, NULL, OPT_GREP},
        {"view", required_argument, NULL, OPT_VIEW},
        {"include-archive", no_argument, NULL, OPT_ARCHIVE},
        {"lines", required_argument, NULL, 'n'},
        {"follow", no_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "hn:fo:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        if (opt == 'h') {
            fputs(show_help, stdout);
            return -1;
        }
        if ((rc = show_opt(c, a, opt, optarg)) != 0)
            return rc;
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    /* A correction arriving later would have to change what was already printed. */
    if (a->follow && a->q.view == TT_VIEW_CORRECTED)
        return cli_usage(c, "--view corrected cannot be combined with -f");
    return 0;
}

static void csv_field(const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"'); /* RFC 4180: quote, and double the quotes inside */
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_csv(const tt_event *e)
{
    char ts[TT_TS_LEN + 1], occ[TT_TS_LEN + 1] = "", hex[65];
    tt_time_format(e->ts_us, ts);
    if (e->occurred_at_us != TT_TIME_NONE)
        tt_time_format(e->occurred_at_us, occ);
    for (int i = 0; i < TT_HASH_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", e->leaf_hash[i]);
    const char *cols[] = {ts,          e->entity,     e->entity_id,       e->event_type,
                          e->actor,    e->old_status, e->new_status,      e->reason,
                          e->metadata, occ,           e->idempotency_key, e->principal,
                          hex};
    printf("%lld", (long long)e->seq);
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        putchar(',');
        csv_field(cols[i]);
    }
    fputs("\r\n", stdout);
}

static void print_short(const tt_event *e)
{
    char ts[TT_TS_LEN + 1];
    tt_time_format(e->ts_us, ts);
    printf("[%s] %s %s %s/%s", ts, e->actor, e->event_type, e->entity, e->entity_id);
    if (e->old_status != NULL || e->new_status != NULL)
        printf(" (%s%s\u2192%s%s)", e->old_status ? e->old_status : "", e->old_status ? " " : "",
               e->new_status ? " " : "", e->new_status ? e->new_status : "");
    putchar('\n');
    if (e->reason != NULL && e->reason[0] != '\0')
        printf("  Reason: %s\n", e->reason);
}

static int print_event(cli_ctx *c, const tt_event *e, out_format fmt)
{
    if (fmt == OUT_JSON)
        return cli_print_json(c, tt_event_to_json(e));
    if (fmt == OUT_CSV)
        print_csv(e);
    else
        print_short(e);
    return 0;
}

/* Print one page; *last gets the last seq printed, *count the number of events. */
static int show_page(cli_ctx *c, tt_ledger *l, const tt_query *q, out_format fmt, int64_t *last,
                     size_t *count)
{
    tt_iter *it;
    int rc = tt_ledger_query(l, q, &it);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    const tt_event *e;
    *count = 0;
    while ((rc = tt_iter_next(it, &e)) == TT_OK) {
        print_event(c, e, fmt);
        *last = e->seq;
        (*count)++;
    }
    tt_iter_free(it);
    if (rc != TT_ENOTFOUND)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    return 0;
}

/* -n N: the newest N matches, printed oldest first (as journalctl -n). N has no upper bound
 * (SPEC 10): a first pass walks the matches newest first, a page at a time, only to find the
 * seq of the Nth newest; the second prints from there, a page at a time, so neither pass
 * holds more than one page of events. */
static int show_last(cli_ctx *c, tt_ledger *l, show_args *a, int64_t *last)
{
    tt_query q = a->q;
    q.order = TT_ORDER_DESC;
    q.limit = TT_MAX_QUERY_LIMIT;
    int64_t oldest = 0, seen = 0;
    int rc = TT_OK;
    for (;;) {
        tt_iter *it;
        if ((rc = tt_ledger_query(l, &q, &it)) != TT_OK)
            return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
        const tt_event *e;
        size_t n = 0;
        while (seen < a->last_n && (rc = tt_iter_next(it, &e)) == TT_OK) {
            oldest = e->seq;
            seen++;
            n++;
        }
        tt_iter_free(it);
        if (rc != TT_OK && rc != TT_ENOTFOUND)
            return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
        if (seen == a->last_n || n < q.limit)
            break;
        q.before_seq = oldest;
    }
    if (oldest == 0)
        return 0;
    q = a->q;
    *last = oldest - 1;
    for (int64_t left = seen; left > 0;) {
        size_t n;
        q.after_seq = *last;
        q.limit = left < 1000 ? (size_t)left : 1000;
        if ((rc = show_page(c, l, &q, a->fmt, last, &n)) != 0)
            return rc;
        if (n < q.limit)
            break;
        left -= (int64_t)n;
    }
    return 0;
}

static int show_all(cli_ctx *c, tt_ledger *l, show_args *a, int64_t *last)
{
    tt_query q = a->q;
    q.limit = 1000;
    size_t n;
    do {
        q.after_seq = *last;
        int rc = show_page(c, l, &q, a->fmt, last, &n);
        if (rc != 0)
            return rc;
    } while (n == q.limit);
    return 0;
}

static int follow(cli_ctx *c, tt_ledger *l, show_args *a, int64_t last)
{
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    fflush(stdout);
    while (!stop_follow) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int rc = show_all(c, l, a, &last);
        if (rc != 0)
            return rc;
        fflush(stdout);
    }
    return 0;
}

int cmd_show(cli_ctx *c, int argc, char **argv)
{
    show_args a = {.fmt = OUT_SHORT};
    tt_query_init(&a.q);
    int rc = parse_show(c, argc, argv, &a);
    tt_ledger *l = NULL;
    if (rc == 0)
        rc = cli_open(c, 0, &l);
    if (rc == 0) {
        int64_t last = 0;
        if (a.fmt == OUT_CSV)
            fputs("seq,ts,entity,entity_id,event_type,actor,old_status,new_status,reason,"
                  "metadata,occurred_at,idempotency_key,principal,leaf_hash\r\n",
                  stdout);
        rc = a.last_n ? show_last(c, l, &a, &last) : show_all(c, l, &a, &last);
        if (rc == 0 && a.follow) {
            if (last == 0) { /* nothing matched yet: follow from the current head */
                uint8_t root[TT_HASH_SIZE];
                rc = tt_ledger_head(l, &last, root);
            }
            rc = rc == 0 ? follow(c, l, &a, last) : cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
        }
    }
    tt_ledger_close(l);
    tt_free(a.types_owner);
    return rc < 0 ? 0 : rc;
}

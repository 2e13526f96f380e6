/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail: one program, git-style subcommands. This file dispatches commands and holds
 * what they share: global options, locating the data directory, exit codes, output.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util/config.h"
#include "util/fs.h"

static int replace(char **slot, const char *value);

typedef struct command {
    const char *name;
    int (*fn)(cli_ctx *c, int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"init", cmd_init, "create the store and signing key (idempotent)"},
    {"serve", cmd_serve, "run the HTTP API server"},
    {"append", cmd_append, "append one event from flags, or NDJSON events from stdin"},
    {"log", cmd_log, "record a maintenance action"},
    {"show", cmd_show, "query events (-f follows new ones)"},
    {"verify", cmd_verify, "check every leaf, tree node and checkpoint"},
    {"checkpoint", cmd_checkpoint, "sign a checkpoint of the current tree and print it"},
    {"key", cmd_key, "print the verifier key"},
    {"prove", cmd_prove, "inclusion proof of one event"},
    {"consistency", cmd_consistency, "consistency proof between two tree sizes"},
    {"stats", cmd_stats, "totals by entity and event type, tree and checkpoint"},
    {"test", cmd_test, "write a test entry and read it back"},
    {"token", cmd_token, "create, list and revoke API tokens"},
    {"strategy", cmd_strategy, "strategy lifecycle: create, submit, activate, swap, ..."},
    {"feedback", cmd_feedback, "AI feedback: record, list"},
    {"summary", cmd_summary, "daily, weekly or monthly summary"},
    {"report", cmd_report, "analytics reports (aureport-like)"},
    {"demo", cmd_demo, "fill the ledger with a realistic generated history"},
    {"export", cmd_export, "write a verifiable export of a time window (SPEC 8)"},
    {"import", cmd_import, "backfill freqtrade or hummingbot history (idempotent)"},
    {"verify-export", cmd_verify_export, "check an export offline against a verifier key"},
    {"hold", cmd_hold, "legal holds: add, remove, list (retention keeps held ids)"},
    {"retention", cmd_retention, "retention: plan what a run would archive, or run it (SPEC 8)"},
    {"migrate", cmd_migrate, "copy a whole ledger into an empty store (e.g. to PostgreSQL)"},
    {"config", cmd_config, "print the effective configuration (secrets masked)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tradetrail [--data DIR] [--db URI] [--config FILE] [--ledger NAME] "
               "COMMAND [ARGS]\n\n"
               "Tamper-evident audit trail for automated trading.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nglobal options (also accepted after the command):\n"
               "  --data DIR     data directory (env TRADETRAIL_DATA; default\n"
               "                 $XDG_STATE_HOME/tradetrail, i.e. ~/.local/state/tradetrail)\n"
               "  --db URI       store (env TRADETRAIL_DB; default DATA/ledger.db)\n"
               "  --config FILE  INI configuration (default DATA/tradetrail.conf)\n"
               "  --ledger NAME  an independent ledger of the store, e.g. paper (env\n"
               "                 TRADETRAIL_LEDGER; default main; created by init)\n\n"
               "exit codes: 0 ok, 1 verification failed or input rejected, 2 usage, 3 other\n"
               "`tradetrail COMMAND --help` describes one command.\n");
}

int cli_set(char **slot, const char *value)
{
    return replace(slot, value);
}

static int replace(char **slot, const char *value)
{
    char *dup = strdup(value);
    if (dup == NULL)
        return -1;
    free(*slot);
    *slot = dup;
    return 0;
}

int cli_global_opt(cli_ctx *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_DATA:
        c->explicit_data = 1;
        return replace(&c->data_dir, arg) == 0;
    case OPT_DB:
        return replace(&c->db_uri, arg) == 0;
    case OPT_CONFIG:
        return replace(&c->config_path, arg) == 0;
    case OPT_LEDGER:
        return replace(&c->ledger, arg) == 0;
    default:
        return 0;
    }
}

const char *cli_actor(const char *given)
{
    if (given != NULL)
        return given;
    const char *u = getenv("USER");
    return u != NULL && u[0] ? u : "cli";
}

int cli_fail(const cli_ctx *c, int rc, const char *fmt, ...)
{
    cli_progress_done();
    va_list ap;
    va_start(ap, fmt);
    rc = front_vfail(c->command, rc, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_usage(const cli_ctx *c, const char *fmt, ...)
{
    fprintf(stderr, "tradetrail%s%s: ", c->command ? " " : "", c->command ? c->command : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see `tradetrail%s%s --help`)\n", c->command ? " " : "",
            c->command ? c->command : "");
    return EXIT_USAGE;
}

int cli_parse_format(const cli_ctx *c, const char *arg, int allowed, out_format *out)
{
    static const char *names[] = {"short", "json", "csv"};
    for (int i = 0; i < 3; i++)
        if ((allowed & (1 << i)) && strcmp(arg, names[i]) == 0) {
            *out = (out_format)i;
            return 0;
        }
    return cli_usage(c, "unknown output format \"%s\"", arg);
}

int cli_parse_int(const cli_ctx *c, const char *what, const char *arg, int64_t min, int64_t *out)
{
    if (tt_parse_int(arg, min, INT64_MAX, out) != TT_OK)
        return cli_usage(c, "%s must be an integer >= %lld (got \"%s\")", what, (long long)min,
                         arg);
    return 0;
}

int cli_parse_common(cli_ctx *c, int argc, char **argv, const char *help, int formats,
                     out_format *fmt, int positional, const char **since_cp, int64_t *tree_size,
                     const char **key)
{
    const char *size = NULL;
    cli_opt opts[4];
    int k = 0;
    if (since_cp != NULL)
        opts[k++] = (cli_opt){"since-checkpoint", since_cp};
    if (tree_size != NULL)
        opts[k++] = (cli_opt){"tree-size", &size};
    if (key != NULL)
        opts[k++] = (cli_opt){"key", key};
    opts[k] = (cli_opt){NULL, NULL};
    int rc = cli_parse_opts(c, argc, argv, help, formats, fmt, opts);
    if (rc == 0 && size != NULL)
        rc = cli_parse_int(c, "--tree-size", size, 1, tree_size);
    if (rc == 0 && !positional && optind < argc)
        rc = cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    return rc;
}

int cli_begin(cli_ctx *c, int argc, char **argv, const char *help, int formats, int create,
              out_format *fmt, tt_ledger **l)
{
    *l = NULL;
    int rc = cli_parse_common(c, argc, argv, help, formats, fmt, 0, NULL, NULL, NULL);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    return cli_open(c, create, l);
}

int cli_parse_opts(cli_ctx *c, int argc, char **argv, const char *help, int formats,
                   out_format *fmt, const cli_opt *opts)
{
    struct option all[CLI_MAX_OPTS + 7] = {
        CLI_GLOBAL_OPTIONS,
        {"output", required_argument, NULL, 'o'},
    };
    int base = 6, k = 0; /* the global options and -o above */
    for (; opts != NULL && opts[k].name != NULL; k++) {
        if (k == CLI_MAX_OPTS)
            return cli_usage(c, "too many options for one command"); /* a program error */
        all[base + k] =
            (struct option){opts[k].name, required_argument, NULL, OPT_FIRST_COMMAND + k};
    }
    int opt, rc = 0;
    while ((opt = getopt_long(argc, argv, "ho:", all, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        if (opt == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (opt == 'o')
            rc = cli_parse_format(c, optarg, formats, fmt);
        else if (opt >= OPT_FIRST_COMMAND && opt < OPT_FIRST_COMMAND + k)
            *opts[opt - OPT_FIRST_COMMAND].to = optarg;
        else
            return EXIT_USAGE; /* getopt_long said why */
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* SPEC 10: a value that is not a time is invalid input (exit 1), not a usage error. */
int cli_parse_time(const cli_ctx *c, const char *flag, const char *arg, int64_t *out)
{
    if (tt_time_parse_expr(arg, tt_time_now_us(), out) != TT_OK)
        return cli_fail(c, TT_EINVAL,
                        "%s: cannot read \"%s\" as a time (RFC 3339, YYYY-MM-DD, today, "
                        "yesterday, -2h)",
                        flag, arg);
    return 0;
}

int cli_print_json(const cli_ctx *c, char *json)
{
    if (json == NULL)
        return cli_fail(c, TT_ENOMEM, "out of memory");
    puts(json);
    tt_free(json);
    return 0;
}

static int progress_shown;
static int64_t progress_last_us;

int cli_progress(void *ctx, int64_t done, int64_t total)
{
    const char *label = ctx;
    if (!isatty(STDERR_FILENO))
        return 0;
    int64_t now = tt_time_now_us();
    if (now - progress_last_us < 100000 && done < total)
        return 0;
    progress_last_us = now;
    progress_shown = 1;
    if (total > 0)
        fprintf(stderr, "\r%s: %lld/%lld (%d%%)", label, (long long)done, (long long)total,
                (int)(done * 100 / total));
    else
        fprintf(stderr, "\r%s: %lld", label, (long long)done);
    return 0;
}

void cli_progress_done(void)
{
    if (progress_shown)
        fputs("\r\033[K", stderr);
    progress_shown = 0;
}

int cli_read_file(const cli_ctx *c, const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return cli_fail(c, TT_EIO, "cannot open %s: %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int err = buf == NULL ? TT_ENOMEM : ferror(f) ? TT_EIO : n > max ? TT_ETOOBIG : TT_OK;
    if (f != stdin)
        fclose(f);
    if (err != TT_OK) {
        free(buf);
        return cli_fail(c, err, "cannot read %s%s", path,
                        err == TT_ETOOBIG ? ": file too large" : "");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* ---- locating the data directory (SPEC 10) ---- */

static int dir_usable(const char *dir)
{
    return tti_mkdir_p(dir, NULL, 0) == TT_OK && access(dir, W_OK | X_OK) == 0;
}

static int default_data_dir(cli_ctx *c)
{
    char buf[4096];
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(buf, sizeof buf, "%s/tradetrail", xdg);
    else if (home != NULL && home[0] != '\0')
        snprintf(buf, sizeof buf, "%s/.local/state/tradetrail", home);
    else
        buf[0] = '\0';
    if (buf[0] == '\0' || !dir_usable(buf)) {
        char fallback[64];
        snprintf(fallback, sizeof fallback, "/tmp/tradetrail-%u", (unsigned)getuid());
        fprintf(stderr, "tradetrail: warning: cannot use %s; using %s instead\n",
                buf[0] ? buf : "$HOME/.local/state/tradetrail", fallback);
        return replace(&c->data_dir, fallback);
    }
    return replace(&c->data_dir, buf);
}

/* Flags win over the environment, the environment over the file (SPEC 10). */
static int apply_flags(cli_ctx *c)
{
    const struct {
        const char *key;
        const char *value;
    } flags[] = {{"db", c->db_uri},
                 {"listen", c->listen},
                 {"checkpoint_interval", c->checkpoint_interval},
                 {"metrics_public", c->metrics_public}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (flags[i].value != NULL && tti_config_set(c->cfg, flags[i].key, flags[i].value) != 0)
            return -1;
    return 0;
}

static int resolve(cli_ctx *c)
{
    const char *env;
    if (c->cfg != NULL)
        return 0;
    if (c->data_dir == NULL && (env = getenv("TRADETRAIL_DATA")) != NULL && env[0])
        if (replace(&c->data_dir, env) != 0)
            return cli_fail(c, TT_ENOMEM, "out of memory");
    if (c->data_dir == NULL && default_data_dir(c) != 0)
        return cli_fail(c, TT_ENOMEM, "out of memory");
    char path[4096], err[512];
    int explicit_config = c->config_path != NULL;
    if (!explicit_config)
        snprintf(path, sizeof path, "%s/tradetrail.conf", c->data_dir);
    int rc = tti_config_load(explicit_config ? c->config_path : path, explicit_config, &c->cfg, err,
                             sizeof err);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", err);
    if (apply_flags(c) != 0)
        return cli_fail(c, TT_ENOMEM, "out of memory");
    /* SPEC 15: before anything is parsed or appended, and before the server's threads. */
    if ((rc = tt_redact_keys_set(tti_config_get(c->cfg, "redact_keys"), err, sizeof err)) != TT_OK)
        return cli_fail(c, rc, "%s", err);
    return 0;
}

int cli_config(cli_ctx *c, const tti_config **out)
{
    int rc = resolve(c);
    if (rc == 0)
        *out = c->cfg;
    return rc;
}

/* SPEC 3.1: events this process appends record the operating-system user who ran it (not
 * $USER, which anyone can set), as "cli:<user>". */
static void set_principal(void)
{
    char principal[TT_MAX_PRINCIPAL + 1];
    const struct passwd *pw = getpwuid(geteuid());
    if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
        snprintf(principal, sizeof principal, "cli:%s", pw->pw_name);
    else
        snprintf(principal, sizeof principal, "cli:uid-%lu", (unsigned long)geteuid());
    if (tt_set_principal(principal) != TT_OK) { /* a user name that is not printable text */
        snprintf(principal, sizeof principal, "cli:uid-%lu", (unsigned long)geteuid());
        tt_set_principal(principal);
    }
}

const char *cli_ledger_name(const cli_ctx *c)
{
    const char *name = c->ledger;
    if (name == NULL && (name = getenv("TRADETRAIL_LEDGER")) != NULL && name[0] == '\0')
        name = NULL;
    return name == NULL || strcmp(name, TT_MAIN_LEDGER) == 0 ? NULL : name;
}

/* Open the main ledger, or the named one beside it (created along with it by create). */
static int open_chosen(cli_ctx *c, int create, tt_ledger **out)
{
    tt_open_options o = {
        .data_dir = c->data_dir, .db_uri = tti_config_get(c->cfg, "db"), .create = create};
    char err[512];
    tt_ledger *main_l = NULL;
    int rc = tt_ledger_open(&o, &main_l, err, sizeof err);
    const char *name = cli_ledger_name(c);
    if (rc == TT_OK && name != NULL) {
        rc = tt_ledger_open_named(main_l, name, create, out, err, sizeof err);
        tt_ledger_close(main_l);
    } else if (rc == TT_OK) {
        *out = main_l;
    }
    return rc == TT_OK ? 0 : cli_fail(c, rc, "%s", err);
}

int cli_open(cli_ctx *c, int create, tt_ledger **out)
{
    int rc = resolve(c);
    if (rc != 0 || (rc = open_chosen(c, create, out)) != 0)
        return rc;
    set_principal();
    /* SPEC 7: appends from every command queue their alerts in the same transaction. Only
     * the main ledger's outbox has a worker (the server's), so named ledgers notify no one. */
    tt_notify_config nc;
    front_notify_config(c->cfg, &nc);
    if (cli_ledger_name(c) == NULL && (rc = tt_ledger_set_notify(*out, &nc)) != TT_OK) {
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(*out));
        tt_ledger_close(*out);
        *out = NULL;
        return rc;
    }
    /* SPEC 8: verify, queries and exports read archived events from the archive directory. */
    char dir[4096], err[512];
    int64_t days, min_days;
    if ((rc = front_retention_settings(c->cfg, c->data_dir, cli_ledger_name(c), dir, sizeof dir,
                                       &days, &min_days, err, sizeof err)) != TT_OK ||
        (rc = tt_ledger_set_archive(*out, dir)) != TT_OK) {
        rc = cli_fail(c, rc, "%s", rc == TT_ENOMEM ? "out of memory" : err);
        tt_ledger_close(*out);
        *out = NULL;
        return rc;
    }
    return 0;
}

/* Global options may come before the command: consume them here. */
static int parse_leading(cli_ctx *c, int argc, char **argv, int *idx)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        int opt = strcmp(a, "--data") == 0     ? OPT_DATA
                  : strcmp(a, "--db") == 0     ? OPT_DB
                  : strcmp(a, "--config") == 0 ? OPT_CONFIG
                  : strcmp(a, "--ledger") == 0 ? OPT_LEDGER
                                               : 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("tradetrail %s\n", TT_VERSION);
            return -1;
        }
        if (opt == 0)
            return cli_usage(c, "unknown option %s", a);
        if (i + 1 >= argc)
            return cli_usage(c, "%s needs a value", a);
        cli_global_opt(c, opt, argv[i + 1]);
        i += 2;
    }
    *idx = i;
    return 0;
}

int main(int argc, char **argv)
{
    cli_ctx c = {.prog = argv[0]};
    int idx = 1, rc = parse_leading(&c, argc, argv, &idx);
    if (rc != 0)
        goto out;
    if (idx >= argc) {
        usage(stderr);
        rc = EXIT_USAGE;
        goto out;
    }
    c.command = argv[idx];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, argv[idx]) == 0) {
            /* getopt names argv[0] in its messages: make them read "tradetrail show: …". */
            char name[64];
            snprintf(name, sizeof name, "tradetrail %s", commands[i].name);
            argv[idx] = name;
            rc = commands[i].fn(&c, argc - idx, argv + idx);
            goto out;
        }
    c.command = NULL;
    rc = cli_usage(&c, "unknown command \"%s\"", argv[idx]);
out:
    free(c.data_dir);
    free(c.db_uri);
    free(c.config_path);
    free(c.ledger);
    free(c.listen);
    free(c.checkpoint_interval);
    free(c.metrics_public);
    tti_config_free(c.cfg);
    return rc < 0 ? 0 : rc;
}

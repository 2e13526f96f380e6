/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the tradetrail command-line front end: global options, opening the
 * ledger, exit codes, output formats and progress display. */
#ifndef TT_CLI_H
#define TT_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "front/front.h"
#include "tradetrail.h"
#include "util/config.h"

/* Long-only option codes shared by every command. */
enum {
    OPT_DATA = 1000,
    OPT_DB,
    OPT_CONFIG,
    OPT_LEDGER,
    OPT_HELP,
    OPT_FIRST_COMMAND /* commands number their own long-only options from here */
};

#define CLI_GLOBAL_OPTIONS                                                                         \
    {"data", required_argument, NULL, OPT_DATA}, {"db", required_argument, NULL, OPT_DB},          \
        {"config", required_argument, NULL, OPT_CONFIG},                                           \
        {"ledger", required_argument, NULL, OPT_LEDGER},                                           \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

typedef enum out_format { OUT_SHORT, OUT_JSON, OUT_CSV } out_format;

typedef struct cli_ctx {
    const char *prog;
    const char *command;
    char *data_dir;
    char *db_uri;
    char *config_path;
    char *ledger; /* SPEC 15: --ledger NAME (or TRADETRAIL_LEDGER); NULL or "main": main */
    int explicit_data;
    /* Server settings (flag > TRADETRAIL_<KEY> > configuration file > default). */
    char *listen;
    char *checkpoint_interval;
    char *metrics_public;
    tti_config *cfg; /* the effective configuration, loaded by cli_open / cli_config */
} cli_ctx;

/* Handle a global option inside a command's getopt loop: 1 when c was one. */
int cli_global_opt(cli_ctx *c, int opt, const char *arg);

/* Resolve data directory, config and store (flags > environment > config > defaults)
 * and open the ledger (the one --ledger names, else main). create: tradetrail init /
 * serve. Prints the error; returns an exit code (0 on success). */
int cli_open(cli_ctx *c, int create, tt_ledger **out);

/* SPEC 15: the named ledger --ledger NAME (else TRADETRAIL_LEDGER) chose; NULL for main. */
const char *cli_ledger_name(const cli_ctx *c);

/* The effective configuration (file < environment < flags); prints the error and returns
 * an exit code on failure. Valid until the command returns. */
int cli_config(cli_ctx *c, const tti_config **out);

/* The actor a command records: the one given (--actor, --user), else $USER, else "cli". */
const char *cli_actor(const char *given);

/* Print "tradetrail <command>: <message>" on stderr and return the exit code for rc. */
int cli_fail(const cli_ctx *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print a usage error and return EXIT_USAGE. */
int cli_usage(const cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse -o short|json|csv; allowed is a mask of 1 << OUT_*. */
int cli_parse_format(const cli_ctx *c, const char *arg, int allowed, out_format *out);

/* The options of a command that takes -o FORMAT (formats: mask of 1 << OUT_*), --help and
 * the global ones, plus --since-checkpoint FILE, --tree-size N and --key VKEY where their
 * pointers are not NULL (others refuse them). Positional arguments stay at argv[optind..]; with
 * positional 0 there may be none. Returns 0, -1 after printing the help (exit 0), or the
 * exit code of a usage error it printed. */
int cli_parse_common(cli_ctx *c, int argc, char **argv, const char *help, int formats,
                     out_format *fmt, int positional, const char **since_cp, int64_t *tree_size,
                     const char **key);

/* A command's option taking a value: --name VALUE sets *to (the last one given wins). */
typedef struct cli_opt {
    const char *name;
    const char **to;
} cli_opt;
#define CLI_MAX_OPTS 16

/* The start of a command that takes no arguments, only -o FORMAT (formats: mask of
 * 1 << OUT_*) and the global options, then opens the ledger (creating it with create):
 * 0 with *l open to run it; otherwise *l is NULL and the return is the exit code (0 after
 * --help). */
int cli_begin(cli_ctx *c, int argc, char **argv, const char *help, int formats, int create,
              out_format *fmt, tt_ledger **l);

/* The options of a command whose own options each take a string (opts, ended by a NULL
 * name; at most CLI_MAX_OPTS), with -o FORMAT (formats: mask of 1 << OUT_*), --help and
 * the global ones. Positional arguments stay at argv[optind..] for the caller to check.
 * Returns 0, -1 after printing the help (exit 0), or the exit code of a usage error. */
int cli_parse_opts(cli_ctx *c, int argc, char **argv, const char *help, int formats,
                   out_format *fmt, const cli_opt *opts);

/* A time flag's value (RFC 3339, a date, today, yesterday, -2h); prints the error and
 * returns its exit code (1: invalid input, SPEC 10). */
int cli_parse_time(const cli_ctx *c, const char *flag, const char *arg, int64_t *out);

/* Parse a non-negative integer argument; prints the usage error itself. */
int cli_parse_int(const cli_ctx *c, const char *what, const char *arg, int64_t min, int64_t *out);

/* Print a library-allocated JSON string and a newline, then free it. */
int cli_print_json(const cli_ctx *c, char *json);

/* Progress on a terminal (stderr), silent otherwise. */
int cli_progress(void *ctx, int64_t done, int64_t total);
void cli_progress_done(void);

/* Read a whole file (or stdin for "-"), at most max bytes. */
int cli_read_file(const cli_ctx *c, const char *path, size_t max, char **out, size_t *len);

/* Set a string slot to a copy of value; 0 or -1 when out of memory. */
int cli_set(char **slot, const char *value);

/* The commands: each gets argv starting at its own name. */
int cmd_init(cli_ctx *c, int argc, char **argv);
int cmd_append(cli_ctx *c, int argc, char **argv);
int cmd_log(cli_ctx *c, int argc, char **argv);
int cmd_show(cli_ctx *c, int argc, char **argv);
int cmd_verify(cli_ctx *c, int argc, char **argv);
int cmd_checkpoint(cli_ctx *c, int argc, char **argv);
int cmd_key(cli_ctx *c, int argc, char **argv);
int cmd_prove(cli_ctx *c, int argc, char **argv);
int cmd_consistency(cli_ctx *c, int argc, char **argv);
int cmd_stats(cli_ctx *c, int argc, char **argv);
int cmd_test(cli_ctx *c, int argc, char **argv);
int cmd_serve(cli_ctx *c, int argc, char **argv);
int cmd_token(cli_ctx *c, int argc, char **argv);
int cmd_strategy(cli_ctx *c, int argc, char **argv);
int cmd_feedback(cli_ctx *c, int argc, char **argv);
int cmd_summary(cli_ctx *c, int argc, char **argv);
int cmd_report(cli_ctx *c, int argc, char **argv);
int cmd_demo(cli_ctx *c, int argc, char **argv);
int cmd_config(cli_ctx *c, int argc, char **argv);
int cmd_export(cli_ctx *c, int argc, char **argv);
int cmd_import(cli_ctx *c, int argc, char **argv);
int cmd_verify_export(cli_ctx *c, int argc, char **argv);
int cmd_hold(cli_ctx *c, int argc, char **argv);
int cmd_retention(cli_ctx *c, int argc, char **argv);
int cmd_migrate(cli_ctx *c, int argc, char **argv);

#endif

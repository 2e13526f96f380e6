/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two front ends of the tradetrail program share, and nothing else: the exit
 * codes of SPEC 10 with the one table from library codes to them, and the hand-over from
 * the command line to the server. `tradetrail serve` (cli/cmd_serve.c) parses its flags,
 * resolves the configuration and opens the ledger; srv_serve (server/serve.c) runs the
 * server on it. cli/ and server/ include this header, never each other's.
 */
#ifndef TT_FRONT_H
#define TT_FRONT_H

#include <stdarg.h>

#include "tradetrail.h"
#include "util/config.h"

/* Exit codes (SPEC 10). */
#define EXIT_REJECTED 1
#define EXIT_USAGE 2
#define EXIT_ERROR 3

/* The exit code of a library status (SPEC 10), in one table. */
int front_exit_code(int rc);

/* Print the one error line of SPEC 10, "tradetrail <command>: <message>" (command may be
 * NULL), on stderr; returns front_exit_code(rc). */
int front_vfail(const char *command, int rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * The program's configuration (SPEC 10) read into the library's settings, in this one
 * place for every command and the server: the library takes settings, never a
 * configuration file. Notifications (SPEC 7): the strings are borrowed from c; an empty
 * value counts as unset. Feedback (SPEC 6.2): reward_scale > 0, neutral_band >= 0, TT_EINVAL
 * with a message naming the key otherwise; *out written only on success. c may be NULL
 * (the defaults).
 */
void front_notify_config(const tti_config *c, tt_notify_config *out);
int front_feedback_settings(const tti_config *c, tt_feedback_settings *out, char *err,
                            size_t errlen);

/*
 * Retention (SPEC 8): archive_dir (default DATA/archive) into dir, retention_days into
 * *days (-1 when unset) and min_retention_days into *min_days (0 when unset), each 0 to
 * 365000. A named ledger (SPEC 15; ledger not NULL) archives into the subdirectory of
 * that name, so its segments never meet another ledger's. TT_EINVAL with a message naming
 * the key, or TT_ETOOBIG for a path over n bytes.
 */
int front_retention_settings(const tti_config *c, const char *data_dir, const char *ledger,
                             char *dir, size_t n, int64_t *days, int64_t *min_days, char *err,
                             size_t errlen);

typedef struct srv_options {
    const tti_config *cfg; /* the effective configuration (listen, checkpoint_interval, ...) */
    const char *data_dir;  /* named in the start line */
    unsigned threads;      /* request threads (--threads) */
} srv_options;

/*
 * Run `tradetrail serve` on l (opened with create) until SIGTERM or SIGINT: the HTTP API,
 * the checkpoint ticker, the scheduler and the notification worker; then drain, sign a final
 * checkpoint and return 0. On failure the reason is printed on stderr as "tradetrail serve:
 * ..." and the exit code returned. l stays the caller's.
 */
int srv_serve(tt_ledger *l, const srv_options *o);

#endif

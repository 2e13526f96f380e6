/* SPDX-License-Identifier: Apache-2.0 */
/* The exit codes of SPEC 10 for library statuses and the one error line, shared by every
 * command and the server. */
#include <stdio.h>

#include "front.h"

int front_exit_code(int rc)
{
    switch (rc) {
    case TT_OK:
        return 0;
    case TT_EINVAL:
    case TT_ETOOBIG:
    case TT_ECONFLICT:
    case TT_ENOTFOUND:
    case TT_ETAMPERED:
    case TT_EAUTH:
    case TT_EPARSE:
        return EXIT_REJECTED;
    case TT_EMISUSE:
        return EXIT_USAGE;
    default:
        return EXIT_ERROR;
    }
}

int front_vfail(const char *command, int rc, const char *fmt, va_list ap)
{
    fprintf(stderr, "tradetrail%s%s: ", command ? " " : "", command ? command : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return front_exit_code(rc);
}

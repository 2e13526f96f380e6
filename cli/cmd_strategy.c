/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail strategy …: the strategy lifecycle (SPEC 6.1). */
#include "cli.h"

int cmd_strategy(cli_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail(c, TT_EMISUSE, "not available in this build yet");
}

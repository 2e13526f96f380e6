/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail feedback, summary, report and demo (SPEC 6.2, 6.4). */
#include "cli.h"

int cmd_feedback(cli_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail(c, TT_EMISUSE, "not available in this build yet");
}

int cmd_summary(cli_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail(c, TT_EMISUSE, "not available in this build yet");
}

int cmd_report(cli_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail(c, TT_EMISUSE, "not available in this build yet");
}

int cmd_demo(cli_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail(c, TT_EMISUSE, "not available in this build yet");
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The notification worker inside tradetrail serve: delivers the outbox (SPEC 7). */
#include "server.h"

int srv_notify_start(srv *s)
{
    (void)s;
    return 0; /* the notifications work starts the delivery thread here */
}

void srv_notify_stop(srv *s)
{
    (void)s;
}

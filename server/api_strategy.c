/* SPDX-License-Identifier: Apache-2.0 */
/* The strategy endpoints of SPEC 9 (lifecycle, versions, diff, seed-compatible audit logs). */
#include "server.h"

enum MHD_Result srv_strategy_route(srv *s, srv_req *r, int *matched)
{
    (void)s;
    (void)r;
    *matched = 0; /* the strategy lifecycle work adds its routes here */
    return MHD_NO;
}

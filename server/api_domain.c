/* SPDX-License-Identifier: Apache-2.0 */
/* The feedback, actions, summary and analytics endpoints of SPEC 9. */
#include "server.h"

enum MHD_Result srv_domain_route(srv *s, srv_req *r, int *matched)
{
    (void)s;
    (void)r;
    *matched = 0; /* the feedback/summary/analytics work adds its routes here */
    return MHD_NO;
}

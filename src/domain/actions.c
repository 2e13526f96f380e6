/* SPDX-License-Identifier: Apache-2.0 */
/* Maintenance actions (SPEC 6.3): the one-line audit record of scripts, cron jobs and
 * self-repair daemons. */
#include "ledger/ledger.h"

int tt_ledger_log_action(tt_ledger *l, const char *message, const char *source, const char *actor,
                         tt_append_result *out)
{
    if (message == NULL || message[0] == '\0')
        return tti_fail(TT_EINVAL, "message: must not be empty");
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "maintenance";
    ev.entity_id = source != NULL ? source : "manual";
    ev.event_type = "ACTION";
    ev.actor = actor != NULL ? actor : ev.entity_id;
    ev.reason = message;
    return tt_ledger_append(l, &ev, 1, out);
}

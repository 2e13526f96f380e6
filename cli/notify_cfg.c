/* SPDX-License-Identifier: Apache-2.0 */
/* The notification settings (SPEC 7, 10) read from the effective configuration, shared by
 * the commands that open a ledger, `summary --notify` and the server's delivery worker. */
#include "cli.h"

void cli_notify_config(const tti_config *cfg, tt_notify_config *out)
{
    tt_notify_config_init(out);
    if (cfg == NULL)
        return;
    out->alert_webhook = tti_config_get(cfg, "alert_webhook");
    out->alert_webhook_format = tti_config_get(cfg, "alert_webhook_format");
    out->alert_events = tti_config_get(cfg, "alert_events");
    out->audit_email = tti_config_get(cfg, "audit_email");
    out->smtp_url = tti_config_get(cfg, "smtp_url");
    out->smtp_from = tti_config_get(cfg, "smtp_from");
    out->smtp_tls = tti_config_get(cfg, "smtp_tls");
    out->summary_title = tti_config_get(cfg, "summary_title");
}

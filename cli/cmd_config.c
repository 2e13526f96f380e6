/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail config: prints the effective configuration (SPEC 10) — every key, its value
 * and where it came from (default, file and line, environment variable, flag) — so an
 * operator can see why the server behaves as it does. Secrets are masked unless asked for.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util/buf.h"

enum { OPT_SHOW_SECRETS = OPT_FIRST_COMMAND };

static const char config_help[] =
    "usage: tradetrail config [--show-secrets] [-o short|json]\n\n"
    "Print the effective configuration: each key with its value and its source. Sources,\n"
    "later ones winning: the built-in default, the INI file (--config FILE, default\n"
    "DATA/tradetrail.conf), the seed's QT_ALERT_WEBHOOK, QT_AUDIT_EMAIL, QT_SMTP_SERVER and\n"
    "QT_SMTP_PORT, the TRADETRAIL_<KEY> environment variables, and command-line flags.\n"
    "cron_secret and telegram_bot_token are masked, and of URLs (db, smtp_url,\n"
    "alert_webhook, feedback_sink) only\n"
    "the scheme and host are shown, unless --show-secrets is given. -o json prints\n"
    "{\"file\",\"data_dir\",\"keys\":{KEY:{\"value\",\"source\",\"origin\"}}}.\n";

static int print_json(cli_ctx *c, const tti_config *cfg, const char *file, int show_secrets)
{
    static const char *src[] = {"default", "file", "env", "flag"};
    tti_buf b;
    tti_buf_init(&b, 1 << 20);
    tti_buf_adds(&b, "{\"file\":");
    tti_buf_json_str(&b, file);
    tti_buf_adds(&b, ",\"data_dir\":");
    tti_buf_json_str(&b, c->data_dir);
    tti_buf_adds(&b, ",\"keys\":{");
    const char *key;
    for (size_t i = 0; (key = tti_config_key(i)) != NULL; i++) {
        const char *v = tti_config_get(cfg, key);
        char masked[512];
        if (v != NULL && !show_secrets && tti_config_is_secret(key))
            v = tti_config_mask(key, v, masked, sizeof masked);
        tti_buf_printf(&b, "%s", i ? "," : "");
        tti_buf_json_str(&b, key);
        tti_buf_adds(&b, ":{\"value\":");
        if (v == NULL)
            tti_buf_adds(&b, "null");
        else
            tti_buf_json_str(&b, v);
        tti_buf_printf(&b, ",\"source\":\"%s\",\"origin\":", src[tti_config_source_of(cfg, key)]);
        tti_buf_json_str(&b, tti_config_origin(cfg, key));
        tti_buf_adds(&b, "}");
    }
    tti_buf_adds(&b, "}}");
    int rc = b.failed ? cli_fail(c, TT_ENOMEM, "out of memory") : (puts(b.data), 0);
    tti_buf_free(&b);
    return rc;
}

/* WARNING: a secret in a file others can read is not a secret; say so (once, on stderr). */
static void warn_readable(const cli_ctx *c, const tti_config *cfg, const char *file)
{
    struct stat st;
    if (stat(file, &st) != 0 || (st.st_mode & 077) == 0)
        return;
    const char *key;
    for (size_t i = 0; (key = tti_config_key(i)) != NULL; i++)
        if (tti_config_is_secret(key) && tti_config_source_of(cfg, key) == TTI_CFG_FILE) {
            fprintf(stderr,
                    "tradetrail %s: warning: %s holds %s and is readable by others "
                    "(chmod 600 it)\n",
                    c->command, file, key);
            return;
        }
}

int cmd_config(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_GLOBAL_OPTIONS,
        {"show-secrets", no_argument, NULL, OPT_SHOW_SECRETS},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt, show_secrets = 0;
    out_format fmt = OUT_SHORT;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_global_opt(c, opt, optarg))
            continue;
        switch (opt) {
        case 'h':
            fputs(config_help, stdout);
            return 0;
        case OPT_SHOW_SECRETS:
            show_secrets = 1;
            break;
        case 'o':
            if (cli_parse_format(c, optarg, 3, &fmt) != 0)
                return EXIT_USAGE;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
    const tti_config *cfg;
    int rc = cli_config(c, &cfg);
    if (rc != 0)
        return rc;
    char file[4096];
    if (c->config_path != NULL)
        snprintf(file, sizeof file, "%s", c->config_path);
    else
        snprintf(file, sizeof file, "%s/tradetrail.conf", c->data_dir);
    warn_readable(c, cfg, file);
    if (fmt == OUT_JSON)
        return print_json(c, cfg, file, show_secrets);
    printf("# data directory: %s\n# configuration file: %s%s\n", c->data_dir, file,
           access(file, F_OK) == 0 ? "" : " (not present)");
    if (!show_secrets)
        puts("# secrets masked; --show-secrets prints them");
    tti_config_print(cfg, stdout, show_secrets);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail token create|list|revoke: the API's bearer tokens (SPEC 9). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char token_help[] =
    "usage: tradetrail token create --role ingest|read|admin [--name NAME] [-o short|json]\n"
    "       tradetrail token list [-o short|json]\n"
    "       tradetrail token revoke ID\n\n"
    "Bearer tokens for the HTTP API. `create` prints the token once: it is stored only as\n"
    "its SHA-256 and cannot be shown again. Creation and revocation are recorded as events\n"
    "(entity \"token\"). Roles: ingest appends, read queries, admin does everything.\n";

typedef struct token_args {
    const char *role, *name, *actor;
    out_format fmt;
} token_args;

static int parse_token(cli_ctx *c, int argc, char **argv, token_args *a)
{
    const cli_opt opts[] = {
        {"role", &a->role}, {"name", &a->name}, {"actor", &a->actor}, {NULL, NULL}};
    return cli_parse_opts(c, argc, argv, token_help, 3, &a->fmt, opts);
}

static int token_create(cli_ctx *c, tt_ledger *l, token_args *a)
{
    tt_role role;
    if (a->role == NULL)
        return cli_usage(c, "--role is required");
    if (tt_role_parse(a->role, &role) != TT_OK)
        return cli_fail(c, TT_EINVAL, "%s", tt_ledger_errmsg(l));
    char *token = NULL;
    int64_t id;
    int rc = tt_token_create(l, role, a->name, cli_actor(a->actor), &token, &id);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    if (a->fmt == OUT_JSON) {
        if ((rc = cli_print_json(c, tt_token_created_to_json(id, role, token))) != 0) {
            tt_free(token);
            return rc;
        }
    } else {
        printf("%s\n", token);
    }
    if (a->fmt != OUT_JSON && isatty(STDERR_FILENO))
        fprintf(stderr, "token %lld (%s): shown once, store it now\n", (long long)id,
                tt_role_name(role));
    tt_free(token);
    return 0;
}

static int token_list(cli_ctx *c, tt_ledger *l, token_args *a)
{
    tt_token_info *list = NULL;
    size_t n = 0;
    int rc = tt_token_list(l, &list, &n);
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    if (a->fmt != OUT_JSON)
        printf("%-6s %-7s %-27s %-27s %s\n", "ID", "ROLE", "CREATED", "REVOKED", "NAME");
    for (size_t i = 0; i < n; i++) {
        char created[TT_TS_LEN + 1], revoked[TT_TS_LEN + 1] = "-";
        tt_time_format(list[i].created_us, created);
        if (list[i].revoked_us != TT_TIME_NONE)
            tt_time_format(list[i].revoked_us, revoked);
        if (a->fmt == OUT_JSON) {
            if ((rc = cli_print_json(c, tt_token_info_to_json(&list[i]))) != 0)
                break;
        } else
            printf("%-6lld %-7s %-27s %-27s %s\n", (long long)list[i].id,
                   tt_role_name(list[i].role), created, revoked, list[i].name ? list[i].name : "");
    }
    tt_token_list_free(list, n);
    return rc;
}

static int token_revoke(cli_ctx *c, tt_ledger *l, token_args *a, const char *idtext)
{
    int64_t id;
    if (cli_parse_int(c, "ID", idtext, 1, &id) != 0)
        return EXIT_USAGE;
    int rc = tt_token_revoke(l, id, cli_actor(a->actor));
    if (rc != TT_OK)
        return cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    printf("token %lld revoked\n", (long long)id);
    return 0;
}

int cmd_token(cli_ctx *c, int argc, char **argv)
{
    token_args a = {.fmt = OUT_SHORT};
    int rc = parse_token(c, argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind >= argc)
        return cli_usage(c, "give a subcommand: create, list or revoke");
    const char *sub = argv[optind];
    int nargs = argc - optind - 1;
    int known =
        strcmp(sub, "create") == 0 || strcmp(sub, "list") == 0 || strcmp(sub, "revoke") == 0;
    if (!known)
        return cli_usage(c, "unknown subcommand \"%s\"", sub);
    if ((strcmp(sub, "revoke") == 0) != (nargs == 1) || nargs > 1)
        return cli_usage(c, "%s takes %s", sub,
                         strcmp(sub, "revoke") == 0 ? "one ID"
                                                    : "no "
                                                      "arguments");
    tt_ledger *l;
    /* SPEC 15: every ledger of a store answers to the main ledger's tokens (the server
     * checks no other), so a token made in a named ledger would never be accepted. */
    if (cli_ledger_name(c) != NULL)
        return cli_usage(c, "tokens belong to the main ledger and serve every ledger of the "
                            "store; run token commands without --ledger");
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    if (sub[0] == 'c')
        rc = token_create(c, l, &a);
    else if (sub[0] == 'l')
        rc = token_list(c, l, &a);
    else
        rc = token_revoke(c, l, &a, argv[optind + 1]);
    tt_ledger_close(l);
    return rc;
}

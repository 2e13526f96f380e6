/* SPDX-License-Identifier: Apache-2.0 */
/* tradetrail verify, checkpoint, key, prove and consistency: the tamper-evidence commands. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void print_hex(const char *label, const uint8_t *h)
{
    printf("%s", label);
    for (int i = 0; i < TT_HASH_SIZE; i++)
        printf("%02x", h[i]);
    putchar('\n');
}

/* ------------------------------------------------------------------ verify ---------- */

static const char verify_help[] =
    "usage: tradetrail verify [--since-checkpoint FILE] [--key VKEY] [-o short|json]\n\n"
    "Recompute every leaf hash from the stored fields, every stored tree node, and every\n"
    "stored checkpoint's root and signature, and check the search and idempotency indexes\n"
    "against the events. With --since-checkpoint, check a signed checkpoint note you kept\n"
    "(as GET /checkpoint serves it; - reads stdin) against the ledger, then only the events\n"
    "appended after it. Signatures are checked against the key in DATA/signing.key, or the\n"
    "verifier key given with --key (the key itself, or a file holding it); without either,\n"
    "verify refuses (exit 3): the key stored in the database cannot vouch for it. Exits 1\n"
    "and names the first bad seq or checkpoint when anything does not match.\n";

/* --key VKEY: the verifier key itself, or a file holding it. */
static int trust_key(cli_ctx *c, tt_ledger *l, const char *arg)
{
    char *text = NULL;
    size_t len = strlen(arg);
    int rc;
    if (access(arg, F_OK) == 0 && (rc = cli_read_file(c, arg, 4096, &text, &len)) != 0)
        return rc;
    rc = tt_ledger_trust_key(l, text != NULL ? text : arg, len);
    free(text);
    return rc == TT_OK ? 0 : cli_fail(c, rc, "--key: %s", tt_ledger_errmsg(l));
}

int cmd_verify(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    const char *since = NULL, *key = NULL;
    int rc = cli_parse_common(c, argc, argv, verify_help, 3, &fmt, 0, &since, NULL, &key);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char *note = NULL;
    size_t len = 0;
    if (since != NULL && (rc = cli_read_file(c, since, 1 << 20, &note, &len)) != 0)
        return rc;
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0) {
        free(note);
        return rc;
    }
    if (key != NULL && (rc = trust_key(c, l, key)) != 0) {
        tt_ledger_close(l);
        free(note);
        return rc;
    }
    tt_verify_report rep;
    int vrc = since ? tt_ledger_verify_since(l, note, len, cli_progress, "verify", &rep)
                    : tt_ledger_verify(l, cli_progress, "verify", &rep);
    cli_progress_done();
    if (vrc != TT_OK && vrc != TT_ETAMPERED)
        rc = cli_fail(c, vrc, "%s", tt_ledger_errmsg(l));
    else if (fmt == OUT_JSON)
        rc = cli_print_json(c, tt_verify_report_to_json(&rep, vrc == TT_OK));
    else if (vrc == TT_OK)
        printf("%s (tree size %lld)\n", rep.message, (long long)rep.tree_size);
    if (vrc == TT_ETAMPERED) {
        fprintf(stderr, "tradetrail verify: FAILED: %s\n", rep.message);
        rc = EXIT_REJECTED;
    }
    tt_ledger_close(l);
    free(note);
    return rc;
}

/* -------------------------------------------------------------- checkpoint ---------- */

static const char checkpoint_help[] =
    "usage: tradetrail checkpoint [-o short|json]\n\n"
    "Sign a checkpoint of the current tree (unless the latest one already covers it) and\n"
    "print it as a C2SP signed note; -o json prints the GET /api/checkpoint object.\n";

int cmd_checkpoint(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    tt_ledger *l;
    int rc = cli_begin(c, argc, argv, checkpoint_help, 3, 0, &fmt, &l);
    if (l == NULL)
        return rc;
    tt_checkpoint cp;
    rc = tt_ledger_checkpoint_sign(l, &cp);
    if (rc != TT_OK)
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    else if (fmt == OUT_JSON)
        rc = cli_print_json(c, tt_checkpoint_to_json(&cp));
    else
        fputs(cp.note, stdout);
    if (rc == 0)
        tt_checkpoint_clear(&cp);
    tt_ledger_close(l);
    return rc;
}

/* ---------------------------------------------------------------------- key --------- */

static const char key_help[] =
    "usage: tradetrail key\n\n"
    "Print the verifier key (C2SP signed-note format) that checks this ledger's\n"
    "checkpoints. Keep a copy outside the machine.\n";

int cmd_key(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    tt_ledger *l;
    int rc = cli_begin(c, argc, argv, key_help, 1, 0, &fmt, &l);
    if (l == NULL)
        return rc;
    char *key = NULL;
    rc = tt_ledger_verifier_key(l, &key);
    if (rc == TT_OK)
        puts(key);
    else
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    tt_free(key);
    tt_ledger_close(l);
    return rc;
}

/* -------------------------------------------------------------------- prove --------- */

static const char prove_help[] =
    "usage: tradetrail prove SEQ [--tree-size N] [-o short|json]\n\n"
    "Inclusion proof (RFC 9162) of event SEQ in the tree of size N (default: the current\n"
    "tree); -o json prints the GET /api/events/{seq}/proof object.\n";

static int print_proof(const tt_proof *p)
{
    printf("seq %lld (leaf index %lld) in tree size %lld\n", (long long)p->leaf_index + 1,
           (long long)p->leaf_index, (long long)p->tree_size);
    print_hex("leaf_hash ", p->leaf_hash);
    print_hex("root_hash ", p->root_hash);
    for (size_t i = 0; i < p->n_hashes; i++)
        print_hex("  ", p->hashes[i]);
    return 0;
}

int cmd_prove(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    int64_t tree_size = 0, seq;
    int rc = cli_parse_common(c, argc, argv, prove_help, 3, &fmt, 1, NULL, &tree_size, NULL);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind != argc - 1)
        return cli_usage(c, "give exactly one SEQ");
    if ((rc = cli_parse_int(c, "SEQ", argv[optind], 1, &seq)) != 0)
        return rc;
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    tt_proof p;
    rc = tt_ledger_prove_inclusion(l, seq, tree_size, &p);
    if (rc != TT_OK)
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    else
        rc = fmt == OUT_JSON ? cli_print_json(c, tt_inclusion_proof_to_json(&p)) : print_proof(&p);
    tt_ledger_close(l);
    return rc;
}

/* -------------------------------------------------------------- consistency --------- */

static const char consistency_help[] =
    "usage: tradetrail consistency M N [-o short|json]\n\n"
    "Consistency proof (RFC 9162) that the tree of size M is a prefix of the tree of size\n"
    "N; -o json prints the GET /api/consistency object.\n";

int cmd_consistency(cli_ctx *c, int argc, char **argv)
{
    out_format fmt = OUT_SHORT;
    int64_t m, n;
    int rc = cli_parse_common(c, argc, argv, consistency_help, 3, &fmt, 1, NULL, NULL, NULL);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind != argc - 2)
        return cli_usage(c, "give two tree sizes M and N");
    if ((rc = cli_parse_int(c, "M", argv[optind], 1, &m)) != 0 ||
        (rc = cli_parse_int(c, "N", argv[optind + 1], 1, &n)) != 0)
        return rc;
    tt_ledger *l;
    if ((rc = cli_open(c, 0, &l)) != 0)
        return rc;
    tt_proof p;
    rc = tt_ledger_prove_consistency(l, m, n, &p);
    if (rc != TT_OK) {
        rc = cli_fail(c, rc, "%s", tt_ledger_errmsg(l));
    } else if (fmt == OUT_JSON) {
        rc = cli_print_json(c, tt_consistency_proof_to_json(&p));
    } else {
        printf("tree size %lld is a prefix of tree size %lld\n", (long long)m, (long long)n);
        print_hex("first_root  ", p.leaf_hash);
        print_hex("second_root ", p.root_hash);
        for (size_t i = 0; i < p.n_hashes; i++)
            print_hex("  ", p.hashes[i]);
    }
    tt_ledger_close(l);
    return rc;
}

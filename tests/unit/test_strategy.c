/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strategy lifecycle (SPEC 6.1, issue 4): the transition table exhaustively (every
 * operation from every status, deleted included, against an oracle written from the SPEC
 * table), swaps for every pair of statuses, atomicity under an injected store failure at
 * every step of a create, update, swap and rollback, YAML validation, the unified diff
 * (golden outputs and a randomised check that it is a minimal, applicable edit script),
 * versions and the seed-compatible audit-log JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "domain/diff.h"
#include "domain/yaml.h"
#include "store/store.h"
#include "store/strategy_store.h"
#include "tradetrail.h"
#include "util/codec.h"

static const char YAML1[] = "name: rsi\nfeatures:\n  rsi:\n    period: 14\nentry: rsi < 30\n";
static const char YAML2[] = "name: rsi\nfeatures:\n  rsi:\n    period: 14\nentry: rsi < 35\n";

/* ---- a store that fails the Nth call -------------------------------------------------- */

static long countdown;
static int fired, last_injected;
static char fault_msg[128];

static int inject(const char *what)
{
    last_injected = 0;
    if (countdown <= 0 || --countdown > 0)
        return TT_OK;
    snprintf(fault_msg, sizeof fault_msg, "injected failure in %s", what);
    fired = last_injected = 1;
    return TT_EIO;
}

#define WRAP(ret, name, params, args)                                                              \
    static ret f_##name params                                                                     \
    {                                                                                              \
        int rc = inject(#name);                                                                    \
        return rc != TT_OK ? rc : tti_sqlite_ops.name args;                                        \
    }
WRAP(int, begin_write, (tti_store * s), (s))
WRAP(int, commit, (tti_store * s), (s))
WRAP(int, read_head, (tti_store * s, tti_head *h), (s, h))
WRAP(int, write_head, (tti_store * s, const tti_head *h), (s, h))
WRAP(int, insert_event, (tti_store * s, const tt_event *ev), (s, ev))
WRAP(int, put_tile,
     (tti_store * s, unsigned level, uint64_t index, const uint8_t (*h)[TT_HASH_SIZE], size_t n),
     (s, level, index, h, n))
#undef WRAP

#define WRAPS(name, params, args)                                                                  \
    static int fs_##name params                                                                    \
    {                                                                                              \
        int rc = inject("strategy." #name);                                                        \
        return rc != TT_OK ? rc : tti_sqlite_ops.strategy->name args;                              \
    }
WRAPS(insert, (tti_store * s, const tt_strategy *st), (s, st))
WRAPS(get, (tti_store * s, const char *id, tt_strategy *out), (s, id, out))
WRAPS(update, (tti_store * s, const tt_strategy *st), (s, st))
WRAPS(version_insert, (tti_store * s, const tt_strategy_version *v), (s, v))
WRAPS(version_get, (tti_store * s, const char *id, int64_t n, tt_strategy_version *out),
      (s, id, n, out))
#undef WRAPS

static const char *f_errmsg(tti_store *s)
{
    return last_injected ? fault_msg : tti_sqlite_ops.errmsg(s);
}

static tti_store_ops fault_ops;
static struct tti_strategy_ops fault_strategy_ops;

static void install_faults(void)
{
    fault_strategy_ops = *tti_sqlite_ops.strategy;
    fault_strategy_ops.insert = fs_insert;
    fault_strategy_ops.get = fs_get;
    fault_strategy_ops.update = fs_update;
    fault_strategy_ops.version_insert = fs_version_insert;
    fault_strategy_ops.version_get = fs_version_get;
    fault_ops = tti_sqlite_ops;
    fault_ops.name = "sqlite+faults";
    fault_ops.errmsg = f_errmsg;
    fault_ops.begin_write = f_begin_write;
    fault_ops.commit = f_commit;
    fault_ops.read_head = f_read_head;
    fault_ops.write_head = f_write_head;
    fault_ops.insert_event = f_insert_event;
    fault_ops.put_tile = f_put_tile;
    fault_ops.strategy = &fault_strategy_ops;
    tti_store_override = &fault_ops;
}

static void arm(long n)
{
    fired = 0;
    countdown = n;
}

static void disarm(void)
{
    countdown = 0;
    last_injected = 0;
}

/* ---- fixture -------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    char db[96];
    tt_ledger *l;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-strategy-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/ledger.db", f->dir);
    install_faults();
    disarm();
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = f->dir;
    o.create = 1;
    char err[512] = "";
    int rc = tt_ledger_open(&o, &f->l, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("tt_ledger_open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    disarm();
    tt_verify_report rep;
    int rc = tt_ledger_verify(f->l, NULL, NULL, &rep);
    if (rc != TT_OK)
        fail_msg("verify at teardown: %s", rep.message);
    tt_ledger_close(f->l);
    tti_store_override = NULL;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- snapshots: the tree and the raw rows of every table the lifecycle touches --------- */

typedef struct snapshot {
    int64_t size;
    uint8_t root[TT_HASH_SIZE];
    char *rows;
} snapshot;

static void dump_query(sqlite3 *db, const char *sql, char **acc, size_t *len)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            size_t n = v ? (size_t)sqlite3_column_bytes(st, i) : 4;
            *acc = realloc(*acc, *len + n + 2);
            assert_non_null(*acc);
            memcpy(*acc + *len, v ? (const char *)v : "NULL", n);
            *len += n;
            (*acc)[(*len)++] = '|';
        }
        (*acc)[*len - 1] = '\n';
        (*acc)[*len] = '\0';
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
}

static void take(fixture *f, snapshot *s)
{
    assert_int_equal(tt_ledger_head(f->l, &s->size, s->root), TT_OK);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char *acc = calloc(1, 1);
    size_t len = 0;
    dump_query(db, "SELECT * FROM strategies ORDER BY id", &acc, &len);
    dump_query(db, "SELECT * FROM strategy_versions ORDER BY strategy_id, number", &acc, &len);
    dump_query(db, "SELECT count(*), max(seq), hex(max(leaf_hash)) FROM events", &acc, &len);
    dump_query(db, "SELECT size, last_ts, hex(crange) FROM head", &acc, &len);
    dump_query(db, "SELECT id, hex(hashes) FROM tiles ORDER BY id", &acc, &len);
    sqlite3_close(db);
    s->rows = acc;
}

static void expect_same(fixture *f, snapshot *before, const char *what)
{
    snapshot after;
    take(f, &after);
    if (after.size != before->size || memcmp(after.root, before->root, TT_HASH_SIZE) != 0)
        fail_msg("%s: the tree changed (%lld -> %lld)", what, (long long)before->size,
                 (long long)after.size);
    if (strcmp(after.rows, before->rows) != 0)
        fail_msg("%s: stored rows changed\nbefore:\n%s\nafter:\n%s", what, before->rows,
                 after.rows);
    free(after.rows);
}

/* ---- building strategies in each state ------------------------------------------------ */

enum state {
    S_DRAFT,
    S_PENDING,
    S_ACTIVE,
    S_FAILED,
    S_CLOSED,
    S_ARCHIVED,
    S_DELETED,
    S_DELETED_CLOSED,
    N_STATES
};
static const char *const state_names[] = {"DRAFT",  "PENDING",  "ACTIVE",  "FAILED",
                                          "CLOSED", "ARCHIVED", "DELETED", "DELETED_CLOSED"};
/* The status each state has (deleted ones keep theirs). */
static const char *const state_status[] = {"DRAFT",  "PENDING",  "ACTIVE", "FAILED",
                                           "CLOSED", "ARCHIVED", "DRAFT",  "CLOSED"};

static void ok(fixture *f, int rc)
{
    if (rc != TT_OK)
        fail_msg("%s: %s", tt_strerror(rc), tt_ledger_errmsg(f->l));
}

static void create(fixture *f, const char *id)
{
    tt_strategy_spec sp = {.id = id,
                           .name = "AAPL RSI Strategy",
                           .symbol = "AAPL",
                           .timeframe = "5m",
                           .yaml = YAML1,
                           .yaml_len = strlen(YAML1),
                           .actor = "user123",
                           .reason = "Initial version"};
    ok(f, tt_strategy_create(f->l, &sp, NULL, NULL));
}

static void make_in(fixture *f, const char *id, enum state st)
{
    tt_ledger *l = f->l;
    create(f, id);
    switch (st) {
    case S_DRAFT:
        break;
    case S_PENDING:
        ok(f, tt_strategy_submit(l, id, "system", NULL, NULL));
        break;
    case S_ACTIVE:
        ok(f, tt_strategy_submit(l, id, "system", NULL, NULL));
        ok(f, tt_strategy_activate(l, id, "system", NULL, NULL));
        break;
    case S_FAILED:
        ok(f, tt_strategy_fail(l, id, "system", NULL, NULL));
        break;
    case S_CLOSED:
    case S_DELETED_CLOSED:
        ok(f, tt_strategy_submit(l, id, "system", NULL, NULL));
        ok(f, tt_strategy_activate(l, id, "system", NULL, NULL));
        ok(f, tt_strategy_close(l, id, "system", NULL, NULL));
        if (st == S_DELETED_CLOSED)
            ok(f, tt_strategy_delete(l, id, "system", NULL, NULL));
        break;
    case S_ARCHIVED:
        ok(f, tt_strategy_fail(l, id, "system", NULL, NULL));
        ok(f, tt_strategy_archive(l, id, "system", NULL, NULL));
        break;
    case S_DELETED:
        ok(f, tt_strategy_delete(l, id, "system", NULL, NULL));
        break;
    default:
        fail();
    }
}

/* ---- the oracle: SPEC 6.1's table, written independently of src/domain ----------------- */

enum opk {
    O_SUBMIT,
    O_ACTIVATE,
    O_FAIL,
    O_CLOSE,
    O_ARCHIVE,
    O_DELETE,
    O_UPDATE,
    O_ROLLBACK,
    O_SET_DRAFT,
    O_SET_PENDING,
    O_SET_ACTIVE,
    O_SET_FAILED,
    O_SET_CLOSED,
    O_SET_ARCHIVED,
    N_OPS
};
static const char *const op_names[] = {"submit",     "activate",    "fail",       "close",
                                       "archive",    "delete",      "update",     "rollback",
                                       "set-DRAFT",  "set-PENDING", "set-ACTIVE", "set-FAILED",
                                       "set-CLOSED", "set-ARCHIVED"};

typedef struct expect {
    int allowed;
    const char *to; /* new status */
    const char *event_type;
} expect;

static int in(const char *s, const char *a, const char *b)
{
    return strcmp(s, a) == 0 || (b != NULL && strcmp(s, b) == 0);
}

static expect oracle(enum state st, enum opk op)
{
    const char *s = state_status[st];
    expect e = {0, NULL, NULL};
    if (st == S_DELETED || st == S_DELETED_CLOSED)
        return e;
    switch (op) {
    case O_SUBMIT:
        return (expect){in(s, "DRAFT", "CLOSED"), "PENDING", "STATUS_CHANGED"};
    case O_ACTIVATE:
        return (expect){in(s, "PENDING", NULL), "ACTIVE", "ACTIVATED"};
    case O_FAIL:
        return (expect){in(s, "DRAFT", "PENDING"), "FAILED", "FAILED"};
    case O_CLOSE:
        return (expect){in(s, "ACTIVE", NULL), "CLOSED", "CLOSED"};
    case O_ARCHIVE:
        return (expect){in(s, "FAILED", "CLOSED"), "ARCHIVED", "ARCHIVED"};
    case O_DELETE:
        return (expect){!in(s, "ACTIVE", NULL), s, "DELETED"};
    case O_UPDATE:
        return (expect){!in(s, "ARCHIVED", NULL), s, "YAML_UPDATED"};
    case O_ROLLBACK:
        return (expect){!in(s, "ARCHIVED", NULL), s, "ROLLED_BACK"};
    default: {
        const char *target = op_names[op] + 4;
        return (expect){!in(s, "ARCHIVED", NULL) && !in(s, target, NULL), target, "STATUS_CHANGED"};
    }
    }
}

static int apply(fixture *f, const char *id, enum opk op, tt_append_result *res)
{
    tt_ledger *l = f->l;
    const char *actor = "tester", *reason = op_names[op];
    switch (op) {
    case O_SUBMIT:
        return tt_strategy_submit(l, id, actor, reason, res);
    case O_ACTIVATE:
        return tt_strategy_activate(l, id, actor, reason, res);
    case O_FAIL:
        return tt_strategy_fail(l, id, actor, reason, res);
    case O_CLOSE:
        return tt_strategy_close(l, id, actor, reason, res);
    case O_ARCHIVE:
        return tt_strategy_archive(l, id, actor, reason, res);
    case O_DELETE:
        return tt_strategy_delete(l, id, actor, reason, res);
    case O_UPDATE:
        return tt_strategy_update_yaml(l, id, YAML2, strlen(YAML2), actor, reason, NULL, res);
    case O_ROLLBACK:
        return tt_strategy_rollback(l, id, 1, actor, reason, NULL, res);
    default: {
        tt_strategy_status st;
        assert_int_equal(tt_strategy_status_parse(op_names[op] + 4, &st), TT_OK);
        return tt_strategy_set_status(l, id, st, actor, reason, res);
    }
    }
}

static void expect_str(const char *what, const char *got, const char *want)
{
    if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
        fail_msg("%s: got %s, want %s", what, got ? got : "NULL", want ? want : "NULL");
}

static void check_allowed(fixture *f, const char *id, enum state st, enum opk op, const expect *e,
                          const tt_append_result *res, const snapshot *before)
{
    char what[128];
    snprintf(what, sizeof what, "%s from %s", op_names[op], state_names[st]);
    assert_int_equal(res->seq, before->size + 1);
    tt_event *ev = NULL;
    ok(f, tt_ledger_get(f->l, res->seq, &ev));
    expect_str(what, ev->entity, "strategy");
    expect_str(what, ev->entity_id, id);
    expect_str(what, ev->event_type, e->event_type);
    expect_str(what, ev->actor, "tester");
    expect_str(what, ev->reason, op_names[op]);
    expect_str(what, ev->old_status, state_status[st]);
    expect_str(what, ev->new_status, e->to);
    const char *meta = NULL;
    if (op == O_UPDATE)
        meta = "{\"versionNumber\":2,\"changeType\":\"MANUAL_EDIT\"}";
    else if (op == O_ROLLBACK)
        meta = "{\"targetVersionNumber\":1,\"newVersionNumber\":2}";
    expect_str(what, ev->metadata, meta);
    tt_event_free(ev);
    int64_t size;
    uint8_t root[TT_HASH_SIZE];
    ok(f, tt_ledger_head(f->l, &size, root));
    assert_int_equal(size, before->size + 1);

    tt_strategy *s = NULL;
    ok(f, tt_strategy_get(f->l, id, &s));
    expect_str(what, tt_strategy_status_name(s->status), e->to);
    assert_int_equal(s->deleted, op == O_DELETE);
    int versioned = op == O_UPDATE || op == O_ROLLBACK;
    assert_int_equal(s->version, versioned ? 2 : 1);
    assert_int_equal(s->updated_us, res->ts_us);
    tt_strategy_free(s);

    tt_strategy_version *vs = NULL;
    size_t n = 0;
    ok(f, tt_strategy_versions(f->l, id, &vs, &n));
    assert_int_equal(n, versioned ? 2 : 1);
    if (versioned) {
        expect_str(what, vs[1].change_type, op == O_UPDATE ? "MANUAL_EDIT" : "ROLLBACK");
        expect_str(what, vs[1].author, "tester");
        expect_str(what, vs[1].reason, op_names[op]);
        assert_int_equal(vs[1].seq, res->seq);
        assert_int_equal(vs[1].created_us, res->ts_us);
        /* The stored digest is SHA-256 of the version's content, computed here
         * independently (comparing vs[1].sha256 with itself proved nothing, issue 13); a
         * rollback to version 1 has version 1's digest, an edit a different one. */
        const char *content = op == O_UPDATE ? YAML2 : YAML1;
        uint8_t h[32];
        char hex[65];
        tti_sha256((const uint8_t *)content, strlen(content), NULL, 0, NULL, 0, h);
        tti_hex_encode(h, 32, hex);
        expect_str(what, vs[1].sha256, hex);
        if (op == O_ROLLBACK)
            expect_str(what, vs[1].sha256, vs[0].sha256);
        else
            assert_string_not_equal(vs[1].sha256, vs[0].sha256);
        tt_strategy_version *v2 = NULL;
        ok(f, tt_strategy_version_get(f->l, id, 2, &v2));
        expect_str(what, v2->content, op == O_UPDATE ? YAML2 : YAML1);
        tt_strategy_version_free(v2);
    }
    tt_strategy_versions_free(vs, n);
}

/* Every operation from every status: 8 states x 14 operations. */
static void test_transition_table(void **state)
{
    fixture *f = *state;
    int n_allowed = 0, n_refused = 0;
    for (int st = 0; st < N_STATES; st++)
        for (int op = 0; op < N_OPS; op++) {
            char id[64];
            snprintf(id, sizeof id, "t%d_%d", st, op);
            make_in(f, id, (enum state)st);
            expect e = oracle((enum state)st, (enum opk)op);
            snapshot before;
            take(f, &before);
            tt_append_result res;
            memset(&res, 0x5a, sizeof res);
            int rc = apply(f, id, (enum opk)op, &res);
            if (e.allowed) {
                if (rc != TT_OK)
                    fail_msg("%s from %s: refused (%s: %s), the table allows it", op_names[op],
                             state_names[st], tt_strerror(rc), tt_ledger_errmsg(f->l));
                check_allowed(f, id, (enum state)st, (enum opk)op, &e, &res, &before);
                n_allowed++;
            } else {
                if (rc != TT_ECONFLICT)
                    fail_msg("%s from %s: got %s, want TT_ECONFLICT", op_names[op], state_names[st],
                             tt_strerror(rc));
                const char *msg = tt_ledger_errmsg(f->l);
                if (strstr(msg, state_status[st]) == NULL || strstr(msg, id) == NULL)
                    fail_msg("%s from %s: message does not name the status: %s", op_names[op],
                             state_names[st], msg);
                if (st >= S_DELETED && strstr(msg, "deleted") == NULL)
                    fail_msg("message does not say deleted: %s", msg);
                char what[96];
                snprintf(what, sizeof what, "refused %s from %s", op_names[op], state_names[st]);
                expect_same(f, &before, what);
                n_refused++;
            }
            free(before.rows);
        }
    /* Allowed cells counted by hand from SPEC 6.1: submit 2, activate 1, fail 2, close 1,
     * archive 2, delete 5, update 5, rollback 5, set-status 5 statuses x 5 other targets. */
    assert_int_equal(n_allowed + n_refused, N_STATES * N_OPS);
    assert_int_equal(n_allowed, 2 + 1 + 2 + 1 + 2 + 5 + 5 + 5 + 25);
}

/* The exact message of the brief's example. */
static void test_conflict_message(void **state)
{
    fixture *f = *state;
    make_in(f, "s1", S_ACTIVE);
    assert_int_equal(tt_strategy_activate(f->l, "s1", "a", NULL, NULL), TT_ECONFLICT);
    assert_string_equal(tt_ledger_errmsg(f->l), "strategy s1 is ACTIVE; activate needs PENDING");
}

/* Unknown strategies: TT_ENOTFOUND from every operation, nothing written. */
static void test_not_found(void **state)
{
    fixture *f = *state;
    make_in(f, "present", S_ACTIVE);
    snapshot before;
    take(f, &before);
    for (int op = 0; op < N_OPS; op++) {
        tt_append_result res;
        assert_int_equal(apply(f, "absent", (enum opk)op, &res), TT_ENOTFOUND);
        assert_non_null(strstr(tt_ledger_errmsg(f->l), "absent"));
    }
    tt_strategy_swap_spec sw = {.old_id = "present", .new_id = "absent", .actor = "e"};
    assert_int_equal(tt_strategy_swap(f->l, &sw, NULL), TT_ENOTFOUND);
    assert_int_equal(tt_strategy_rollback(f->l, "present", 7, "a", NULL, NULL, NULL), TT_ENOTFOUND);
    tt_strategy *s = NULL;
    assert_int_equal(tt_strategy_get(f->l, "absent", &s), TT_ENOTFOUND);
    tt_strategy_version *v = NULL;
    size_t n = 99;
    assert_int_equal(tt_strategy_versions(f->l, "absent", &v, &n), TT_ENOTFOUND);
    assert_int_equal(tt_strategy_version_get(f->l, "present", 2, &v), TT_ENOTFOUND);
    expect_same(f, &before, "not found");
    free(before.rows);
}

/* Swap from every pair of states: only old ACTIVE with new PENDING goes through. */
static void test_swap_matrix(void **state)
{
    fixture *f = *state;
    for (int a = 0; a < N_STATES; a++)
        for (int b = 0; b < N_STATES; b++) {
            char old_id[32], new_id[32];
            snprintf(old_id, sizeof old_id, "o%d_%d", a, b);
            snprintf(new_id, sizeof new_id, "n%d_%d", a, b);
            make_in(f, old_id, (enum state)a);
            make_in(f, new_id, (enum state)b);
            snapshot before;
            take(f, &before);
            tt_strategy_swap_spec sw = {.old_id = old_id,
                                        .new_id = new_id,
                                        .actor = "evaluator",
                                        .reason = "Swapped out: underperforming",
                                        .swap_reason = "performance",
                                        .has_old_score = 1,
                                        .old_score = -0.05,
                                        .has_new_score = 1,
                                        .new_score = 0.15};
            tt_append_result res[2];
            int rc = tt_strategy_swap(f->l, &sw, res);
            if (a != S_ACTIVE || b != S_PENDING) {
                if (rc != TT_ECONFLICT)
                    fail_msg("swap %s/%s: %s", state_names[a], state_names[b], tt_strerror(rc));
                expect_same(f, &before, "refused swap");
                free(before.rows);
                continue;
            }
            ok(f, rc);
            assert_int_equal(res[0].seq, before.size + 1);
            assert_int_equal(res[1].seq, before.size + 2);
            tt_event *out = NULL, *inn = NULL;
            ok(f, tt_ledger_get(f->l, res[0].seq, &out));
            ok(f, tt_ledger_get(f->l, res[1].seq, &inn));
            expect_str("out", out->event_type, "SWAPPED_OUT");
            expect_str("out", out->entity_id, old_id);
            expect_str("out", out->old_status, "ACTIVE");
            expect_str("out", out->new_status, "CLOSED");
            expect_str("out", out->actor, "evaluator");
            char meta[200];
            snprintf(meta, sizeof meta,
                     "{\"swapReason\":\"performance\",\"newStrategyId\":\"%s\","
                     "\"evaluationScore\":-0.05}",
                     new_id);
            expect_str("out metadata", out->metadata, meta);
            expect_str("in", inn->event_type, "SWAPPED_IN");
            expect_str("in", inn->entity_id, new_id);
            expect_str("in", inn->old_status, "PENDING");
            expect_str("in", inn->new_status, "ACTIVE");
            snprintf(meta, sizeof meta,
                     "{\"swapReason\":\"performance\",\"replacedStrategyId\":\"%s\","
                     "\"evaluationScore\":0.15}",
                     old_id);
            expect_str("in metadata", inn->metadata, meta);
            tt_event_free(out);
            tt_event_free(inn);
            tt_strategy *so = NULL, *sn = NULL;
            ok(f, tt_strategy_get(f->l, old_id, &so));
            ok(f, tt_strategy_get(f->l, new_id, &sn));
            assert_int_equal(so->status, TT_STRATEGY_CLOSED);
            assert_int_equal(sn->status, TT_STRATEGY_ACTIVE);
            tt_strategy_free(so);
            tt_strategy_free(sn);
            free(before.rows);
        }
    /* Same id twice, non-finite scores: invalid, nothing written. */
    make_in(f, "x1", S_ACTIVE);
    snapshot before;
    take(f, &before);
    tt_strategy_swap_spec sw = {.old_id = "x1", .new_id = "x1", .actor = "e"};
    assert_int_equal(tt_strategy_swap(f->l, &sw, NULL), TT_EINVAL);
    sw.new_id = "o0_0";
    sw.has_old_score = 1;
    sw.old_score = 1.0 / 0.0;
    assert_int_equal(tt_strategy_swap(f->l, &sw, NULL), TT_EINVAL);
    expect_same(f, &before, "invalid swap");
    free(before.rows);
}

/* ---- create, YAML, versions ----------------------------------------------------------- */

static void test_create(void **state)
{
    fixture *f = *state;
    tt_strategy_spec sp = {.name = "AAPL RSI Strategy",
                           .symbol = "AAPL",
                           .timeframe = "5m",
                           .yaml = YAML1,
                           .yaml_len = strlen(YAML1),
                           .actor = "user123",
                           .reason = "Initial version"};
    char id[TT_MAX_STRATEGY_ID + 1];
    tt_append_result res;
    ok(f, tt_strategy_create(f->l, &sp, id, &res));
    assert_int_equal(strlen(id), 20);
    assert_memory_equal(id, "stg_", 4);
    tt_event *ev = NULL;
    ok(f, tt_ledger_get(f->l, res.seq, &ev));
    expect_str("created", ev->event_type, "CREATED");
    expect_str("created", ev->entity, "strategy");
    expect_str("created", ev->entity_id, id);
    expect_str("created", ev->old_status, NULL);
    expect_str("created", ev->new_status, "DRAFT");
    expect_str("created", ev->reason, "Initial version");
    expect_str("created", ev->metadata,
               "{\"symbol\":\"AAPL\",\"name\":\"AAPL RSI Strategy\",\"timeframe\":\"5m\","
               "\"versionNumber\":1}");
    tt_event_free(ev);
    tt_strategy_version *v = NULL;
    ok(f, tt_strategy_version_get(f->l, id, 1, &v));
    uint8_t h[32];
    char hex[65];
    tti_sha256((const uint8_t *)YAML1, strlen(YAML1), NULL, 0, NULL, 0, h);
    tti_hex_encode(h, 32, hex);
    assert_string_equal(v->sha256, hex);
    assert_string_equal(v->content, YAML1);
    assert_string_equal(v->change_type, "INITIAL");
    assert_string_equal(v->author, "user123");
    assert_int_equal(v->seq, res.seq);
    tt_strategy_version_free(v);

    snapshot before;
    take(f, &before);
    /* A taken id, bad ids, missing fields, malformed and empty YAML: nothing written. */
    sp.id = id;
    assert_int_equal(tt_strategy_create(f->l, &sp, NULL, NULL), TT_ECONFLICT);
    assert_non_null(strstr(tt_ledger_errmsg(f->l), "already exists"));
    const char *bad_ids[] = {
        "",  "a b", "x/y",
        "ü", "a.b", "12345678901234567890123456789012345678901234567890123456789012345"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        sp.id = bad_ids[i];
        assert_int_equal(tt_strategy_create(f->l, &sp, NULL, NULL), TT_EINVAL);
    }
    sp.id = "fresh";
    sp.name = NULL;
    assert_int_equal(tt_strategy_create(f->l, &sp, NULL, NULL), TT_EINVAL);
    sp.name = "n\x01";
    assert_int_equal(tt_strategy_create(f->l, &sp, NULL, NULL), TT_EINVAL);
    sp.name = "n";
    sp.actor = NULL;
    assert_int_equal(tt_strategy_create(f->l, &sp, NULL, NULL), TT_EINVAL);
    sp.actor = "a";
    sp.yaml = "a: [1, 2\n";
    sp.yaml_len = strlen(sp.yaml);
    assert_int_equal(tt_strategy_create(f->l, &sp, NULL, NULL), TT_EINVAL);
    assert_non_null(strstr(tt_ledger_errmsg(f->l), "line"));
    sp.yaml_len = 0;
    assert_int_equal(tt_strategy_create(f->l, &sp, NULL, NULL), TT_EINVAL);
    assert_int_equal(tt_strategy_update_yaml(f->l, id, "k: \"open\n", 9, "a", NULL, NULL, NULL),
                     TT_EINVAL);
    expect_same(f, &before, "invalid create");
    free(before.rows);
    sp.yaml = YAML2;
    sp.yaml_len = strlen(YAML2);
    ok(f, tt_strategy_create(f->l, &sp, NULL, NULL));
}

static void test_yaml_check(void **state)
{
    (void)state;
    const char *good[] = {"a: 1\n",
                          "a: 1",
                          "# only a comment\nx: y\n",
                          "---\na: 1\n---\nb: [1, 2]\n...\n",
                          "list:\n  - 1\n  - {k: v}\n",
                          "s: \"quoted\\n\"\n",
                          "anchors:\n  base: &b {x: 1}\n  use: *b\n",
                          "- plain scalar document\n"};
    const char *bad[] = {"a: [1, 2\n",
                         "a: b: c\n",
                         "k: \"open\n",
                         "a:\n\t- tab\n",
                         "---\na: 1\n---\nb: {\n",
                         "key: value\n  bad indent: x\n",
                         "\xff\xfe: x\n",
                         "a: *undefined_alias_is_fine_for_the_parser_but_not_this: [\n"};
    char err[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (tti_yaml_check(good[i], strlen(good[i]), err, sizeof err) != TT_OK)
            fail_msg("good YAML %zu refused: %s", i, err);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (tti_yaml_check(bad[i], strlen(bad[i]), err, sizeof err) != TT_EINVAL)
            fail_msg("bad YAML %zu accepted", i);
        assert_memory_equal(err, "yaml: ", 6);
    }
    assert_int_equal(tti_yaml_check("a: 1\0b", 6, err, sizeof err), TT_EINVAL);
    assert_int_equal(tti_yaml_check("", 0, err, sizeof err), TT_EINVAL);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Issue 13 item 4: 200 KB of nested `[` held a server thread for 19 s (libyaml rechecks
 * every open flow collection on each token). Depth is bounded, so 400 KB of it, in flow or
 * block style, is refused at once; aliases must name an anchor defined before them. */
static void test_yaml_limits(void **state)
{
    (void)state;
    char err[256];
    size_t n = 400 * 1024;
    char *deep = malloc(n);
    assert_non_null(deep);
    const char *units[] = {"[", "{a: ", "- ", "[{"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]);
        for (size_t i = 0; i < n; i++)
            deep[i] = units[u][i % ul];
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(tti_yaml_check(deep, n, err, sizeof err), TT_EINVAL);
        double took = seconds_since(&t0);
        if (took > 0.5)
            fail_msg("400 KB of \"%s\" took %.2f s to refuse", units[u], took);
        if (strstr(err, "nested more than 64 levels deep") == NULL)
            fail_msg("unit \"%s\": %s", units[u], err);
    }
    free(deep);

    /* Exactly the limit is fine, one more is not. */
    char flow[2 * TTI_YAML_MAX_DEPTH + 4];
    memset(flow, '[', TTI_YAML_MAX_DEPTH);
    memset(flow + TTI_YAML_MAX_DEPTH, ']', TTI_YAML_MAX_DEPTH);
    assert_int_equal(tti_yaml_check(flow, 2 * TTI_YAML_MAX_DEPTH, err, sizeof err), TT_OK);
    memset(flow, '[', TTI_YAML_MAX_DEPTH + 1);
    memset(flow + TTI_YAML_MAX_DEPTH + 1, ']', TTI_YAML_MAX_DEPTH + 1);
    assert_int_equal(tti_yaml_check(flow, 2 * TTI_YAML_MAX_DEPTH + 2, err, sizeof err), TT_EINVAL);

    /* Aliases. */
    const char *ok_alias[] = {"a: &x 1\nb: *x\n", "a: &x [1]\nb: &x 2\nc: *x\n",
                              "l: &l [1, 2]\nm: {k: *l}\n"};
    for (size_t i = 0; i < sizeof ok_alias / sizeof ok_alias[0]; i++)
        if (tti_yaml_check(ok_alias[i], strlen(ok_alias[i]), err, sizeof err) != TT_OK)
            fail_msg("alias case %zu refused: %s", i, err);
    const char *bad_alias[] = {"a: *nowhere\n", "b: *x\na: &x 1\n", "---\na: &x 1\n---\nb: *x\n"};
    for (size_t i = 0; i < sizeof bad_alias / sizeof bad_alias[0]; i++) {
        assert_int_equal(tti_yaml_check(bad_alias[i], strlen(bad_alias[i]), err, sizeof err),
                         TT_EINVAL);
        if (strstr(err, "names no anchor defined before it") == NULL)
            fail_msg("alias case %zu: %s", i, err);
    }
    /* Anchors are bounded per document, so looking one up is bounded too. */
    char *many = malloc(300 * 16);
    assert_non_null(many);
    size_t used = 0;
    for (int i = 0; i < 300; i++)
        used += (size_t)snprintf(many + used, 16, "- &a%d x\n", i);
    assert_int_equal(tti_yaml_check(many, used, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "more than 256 anchors"));
    free(many);
}

static void test_versions_and_rollback(void **state)
{
    fixture *f = *state;
    make_in(f, "v", S_ACTIVE);
    int64_t ver = 0;
    ok(f, tt_strategy_update_yaml(f->l, "v", YAML2, strlen(YAML2), "u", "edit", &ver, NULL));
    assert_int_equal(ver, 2);
    ok(f, tt_strategy_update_yaml(f->l, "v", "x: 3\n", 5, "u", "edit 2", &ver, NULL));
    assert_int_equal(ver, 3);
    ok(f, tt_strategy_rollback(f->l, "v", 2, "u", "back", &ver, NULL));
    assert_int_equal(ver, 4);
    tt_strategy_version *vs = NULL;
    size_t n = 0;
    ok(f, tt_strategy_versions(f->l, "v", &vs, &n));
    assert_int_equal(n, 4);
    const char *types[] = {"INITIAL", "MANUAL_EDIT", "MANUAL_EDIT", "ROLLBACK"};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(vs[i].number, (int64_t)i + 1);
        assert_string_equal(vs[i].change_type, types[i]);
        assert_null(vs[i].content);
    }
    assert_string_equal(vs[3].sha256, vs[1].sha256);
    assert_int_equal(vs[3].content_len, strlen(YAML2));
    tt_strategy_versions_free(vs, n);
    tt_strategy_version *v = NULL;
    ok(f, tt_strategy_version_get(f->l, "v", 4, &v));
    assert_string_equal(v->content, YAML2);
    tt_strategy_version_free(v);
    /* Rollback to a version that does not exist, or below 1. */
    snapshot before;
    take(f, &before);
    assert_int_equal(tt_strategy_rollback(f->l, "v", 5, "u", NULL, NULL, NULL), TT_ENOTFOUND);
    assert_int_equal(tt_strategy_rollback(f->l, "v", 0, "u", NULL, NULL, NULL), TT_EINVAL);
    expect_same(f, &before, "bad rollback");
    free(before.rows);
    /* The database refuses to change a version or remove a strategy. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(db, "UPDATE strategy_versions SET content = 'x'", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM strategy_versions", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM strategies", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    /* Diff between versions through the library. */
    char *d = NULL;
    ok(f, tt_strategy_diff(f->l, "v", 1, 2, &d));
    assert_string_equal(d, "--- v/v1\n+++ v/v2\n@@ -2,4 +2,4 @@\n features:\n   rsi:\n"
                           "     period: 14\n-entry: rsi < 30\n+entry: rsi < 35\n");
    tt_free(d);
    ok(f, tt_strategy_diff(f->l, "v", 2, 4, &d));
    assert_string_equal(d, "");
    tt_free(d);
    assert_int_equal(tt_strategy_diff(f->l, "v", 1, 9, &d), TT_ENOTFOUND);
}

static void test_list_and_json(void **state)
{
    fixture *f = *state;
    make_in(f, "a1", S_ACTIVE);
    make_in(f, "a2", S_DRAFT);
    make_in(f, "a3", S_DELETED);
    tt_strategy *arr = NULL;
    size_t n = 0;
    ok(f, tt_strategy_list(f->l, NULL, &arr, &n));
    assert_int_equal(n, 2);
    tt_strategy_list_free(arr, n);
    tt_strategy_filter flt = {.include_deleted = 1};
    ok(f, tt_strategy_list(f->l, &flt, &arr, &n));
    assert_int_equal(n, 3);
    tt_strategy_list_free(arr, n);
    flt.status = "ACTIVE";
    ok(f, tt_strategy_list(f->l, &flt, &arr, &n));
    assert_int_equal(n, 1);
    assert_string_equal(arr[0].id, "a1");
    tt_strategy_list_free(arr, n);
    flt.status = "active";
    assert_int_equal(tt_strategy_list(f->l, &flt, &arr, &n), TT_EINVAL);

    /* Seed-compatible audit log: newest first, exact keys. */
    char *json = NULL;
    ok(f, tt_strategy_audit_log_json(f->l, "a1", 2, &json));
    assert_non_null(strstr(json, "{\"success\":true,\"strategyId\":\"a1\",\"auditLog\":[{\"id\":"));
    assert_non_null(strstr(json, "\"eventType\":\"ACTIVATED\",\"oldStatus\":\"PENDING\","
                                 "\"newStatus\":\"ACTIVE\",\"changedBy\":\"system\","
                                 "\"changeReason\":null,\"metadata\":null,\"createdAt\":"));
    assert_non_null(strstr(json, "],\"count\":2}"));
    assert_true(strstr(json, "ACTIVATED") < strstr(json, "STATUS_CHANGED"));
    tt_free(json);
    ok(f, tt_strategy_audit_logs_json(f->l, "DELETED", 100, &json));
    assert_non_null(strstr(json, "\"count\":1}"));
    assert_non_null(strstr(json, "\"auditLogs\":[{"));
    tt_free(json);

    /* Request bodies. */
    tt_strategy_request rq;
    void *owner = NULL;
    char err[256];
    const char *body = "{\"name\":\"n\",\"symbol\":\"S\",\"timeframe\":\"1h\",\"yaml\":\"a: 1\","
                       "\"actor\":\"u\",\"reason\":null}";
    ok(f, tt_strategy_request_parse(body, strlen(body), TT_STRATEGY_REQ_CREATE, &rq, &owner, err,
                                    sizeof err));
    assert_string_equal(rq.create.name, "n");
    assert_int_equal(rq.create.yaml_len, 4);
    assert_null(rq.create.reason);
    assert_null(rq.create.id);
    tt_free(owner);
    const char *bad[] = {"{\"actor\":\"u\",\"extra\":1}",
                         "{\"reason\":\"r\"}",
                         "{\"actor\":5}",
                         "[1]",
                         "{\"actor\":\"u\",\"actor\":\"v\"}",
                         "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        owner = NULL;
        int rc = tt_strategy_request_parse(bad[i], strlen(bad[i]), TT_STRATEGY_REQ_ACTION, &rq,
                                           &owner, err, sizeof err);
        if (rc != TT_EINVAL && rc != TT_EPARSE)
            fail_msg("body %zu accepted", i);
        assert_null(owner);
    }
    body = "{\"old_id\":\"a\",\"new_id\":\"b\",\"actor\":\"e\",\"old_score\":-1,"
           "\"new_score\":0.5}";
    ok(f, tt_strategy_request_parse(body, strlen(body), TT_STRATEGY_REQ_SWAP, &rq, &owner, err,
                                    sizeof err));
    assert_string_equal(rq.swap.old_id, "a");
    assert_string_equal(rq.swap.actor, "e");
    assert_true(rq.swap.has_old_score && rq.swap.old_score == -1.0);
    assert_true(rq.swap.has_new_score && rq.swap.new_score == 0.5);
    tt_free(owner);
    body = "{\"actor\":\"e\",\"version\":0}";
    assert_int_equal(tt_strategy_request_parse(body, strlen(body), TT_STRATEGY_REQ_ROLLBACK, &rq,
                                               &owner, err, sizeof err),
                     TT_EINVAL);
}

/* ---- atomicity under injected failures ------------------------------------------------- */

typedef int (*operation)(fixture *f, int attempt);

static int do_swap(fixture *f, int attempt)
{
    (void)attempt;
    tt_strategy_swap_spec sw = {.old_id = "fo",
                                .new_id = "fn",
                                .actor = "evaluator",
                                .reason = "swap",
                                .has_new_score = 1,
                                .new_score = 0.25};
    tt_append_result res[2];
    return tt_strategy_swap(f->l, &sw, res);
}

static int do_rollback(fixture *f, int attempt)
{
    (void)attempt;
    return tt_strategy_rollback(f->l, "fo", 1, "u", "back", NULL, NULL);
}

static int do_update(fixture *f, int attempt)
{
    (void)attempt;
    return tt_strategy_update_yaml(f->l, "fo", YAML2, strlen(YAML2), "u", NULL, NULL, NULL);
}

static int do_create(fixture *f, int attempt)
{
    (void)attempt;
    tt_strategy_spec sp = {.id = "fc",
                           .name = "n",
                           .symbol = "s",
                           .timeframe = "t",
                           .yaml = YAML1,
                           .yaml_len = strlen(YAML1),
                           .actor = "a"};
    return tt_strategy_create(f->l, &sp, NULL, NULL);
}

/* Fail the Nth store call for N = 1, 2, ... until the operation gets through: every
 * failure must be a clean error that leaves every row and the tree as they were. */
static void torture(fixture *f, operation run, const char *what)
{
    long n;
    for (n = 1; n < 200; n++) {
        snapshot before;
        take(f, &before);
        arm(n);
        int rc = run(f, (int)n);
        int was_fired = fired;
        disarm();
        if (!was_fired) {
            ok(f, rc);
            free(before.rows);
            break;
        }
        if (rc == TT_OK)
            fail_msg("%s: call %ld failed but the operation reported success", what, n);
        char label[96];
        snprintf(label, sizeof label, "%s with call %ld failing", what, n);
        expect_same(f, &before, label);
        free(before.rows);
    }
    assert_true(n > 3); /* the wrapper really was in the path */
    tt_verify_report rep;
    assert_int_equal(tt_ledger_verify(f->l, NULL, NULL, &rep), TT_OK);
}

static void test_atomicity(void **state)
{
    fixture *f = *state;
    make_in(f, "fo", S_ACTIVE);
    make_in(f, "fn", S_PENDING);
    torture(f, do_update, "update-yaml");
    torture(f, do_rollback, "rollback");
    torture(f, do_swap, "swap");
    torture(f, do_create, "create");
    tt_strategy *s = NULL;
    ok(f, tt_strategy_get(f->l, "fo", &s));
    assert_int_equal(s->status, TT_STRATEGY_CLOSED);
    assert_int_equal(s->version, 3);
    tt_strategy_free(s);
}

/* ---- diff ------------------------------------------------------------------------------ */

static void expect_diff(const char *a, const char *b, const char *want)
{
    char *d = NULL;
    assert_int_equal(tti_diff_unified(a, strlen(a), b, strlen(b), "A", "B", 3, &d), TT_OK);
    if (strcmp(d, want) != 0)
        fail_msg("diff:\n%s\nwant:\n%s", d, want);
    free(d);
}

static void test_diff_golden(void **state)
{
    (void)state;
    expect_diff("", "", "");
    expect_diff("a\n", "a\n", "");
    expect_diff("", "a\n", "--- A\n+++ B\n@@ -0,0 +1 @@\n+a\n");
    expect_diff("a\nb\n", "", "--- A\n+++ B\n@@ -1,2 +0,0 @@\n-a\n-b\n");
    expect_diff("a\n", "a", "--- A\n+++ B\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n");
    expect_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n",
                "1\n2\nX\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\nY\n19\n20\n",
                "--- A\n+++ B\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+X\n 4\n 5\n 6\n"
                "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+Y\n 19\n 20\n");
    /* Changes 6 kept lines apart share one hunk (2 x context). */
    expect_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "X\n2\n3\n4\n5\n6\n7\nY\n9\n",
                "--- A\n+++ B\n@@ -1,9 +1,9 @@\n-1\n+X\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n 9\n");
}

/* Apply a unified diff to a (a tiny patch(1)); returns the result (malloc'ed). */
static char *apply_patch(const char *a, const char *diff)
{
    size_t cap = strlen(a) + strlen(diff) + 1, len = 0;
    char *out = malloc(cap);
    const char *ap = a, *p = diff;
    assert_non_null(out);
    if (*p) {
        p = strchr(p, '\n') + 1; /* --- */
        p = strchr(p, '\n') + 1; /* +++ */
    }
    long aline = 1;
    while (*p) {
        long as = 0, an = 1, bs = 0, bn = 1;
        if (sscanf(p, "@@ -%ld,%ld +%ld,%ld @@", &as, &an, &bs, &bn) != 4) {
            an = bn = 1;
            char c1 = 0, c2 = 0;
            if (sscanf(p, "@@ -%ld%c", &as, &c1) == 2 && c1 == ',')
                sscanf(p, "@@ -%ld,%ld +%ld", &as, &an, &bs);
            else
                sscanf(p, "@@ -%ld +%ld%c", &as, &bs, &c2);
            const char *plus = strchr(p, '+');
            const char *comma = strchr(plus, ',');
            const char *end = strchr(plus, ' ');
            if (comma && comma < end)
                bn = strtol(comma + 1, NULL, 10);
        }
        (void)bs;
        (void)bn;
        long first = an == 0 ? as + 1 : as;
        while (aline < first) { /* copy untouched lines */
            const char *nl = strchr(ap, '\n');
            size_t n = nl ? (size_t)(nl - ap + 1) : strlen(ap);
            memcpy(out + len, ap, n);
            len += n;
            ap += n;
            aline++;
        }
        p = strchr(p, '\n') + 1;
        while (*p && *p != '@') {
            const char *nl = strchr(p, '\n');
            size_t n = (size_t)(nl - p);
            int no_nl = strncmp(nl + 1, "\\ No newline", 12) == 0;
            if (*p == ' ' || *p == '-') {
                const char *anl = strchr(ap, '\n');
                ap += anl ? (size_t)(anl - ap + 1) : strlen(ap);
                aline++;
            }
            if (*p == ' ' || *p == '+') {
                memcpy(out + len, p + 1, n - 1);
                len += n - 1;
                if (!no_nl)
                    out[len++] = '\n';
            }
            p = nl + 1;
            if (no_nl)
                p = strchr(p, '\n') + 1;
        }
    }
    size_t rest = strlen(ap);
    memcpy(out + len, ap, rest);
    len += rest;
    out[len] = '\0';
    return out;
}

static void random_text(unsigned *seed, char *buf, size_t cap, int nlines)
{
    size_t len = 0;
    for (int i = 0; i < nlines && len + 4 < cap; i++) {
        buf[len++] = (char)('a' + rand_r(seed) % 4);
        if (i < nlines - 1 || rand_r(seed) % 2)
            buf[len++] = '\n';
    }
    buf[len] = '\0';
}

/* Random small texts: the diff applies back to b and changes exactly
 * len(a) + len(b) - 2 * LCS lines (a shortest edit script). */
static void test_diff_random(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        char a[128], b[128];
        random_text(&seed, a, sizeof a, rand_r(&seed) % 25);
        random_text(&seed, b, sizeof b, rand_r(&seed) % 25);
        char *d = NULL;
        assert_int_equal(tti_diff_unified(a, strlen(a), b, strlen(b), "A", "B", 3, &d), TT_OK);
        char *got = apply_patch(a, d);
        if (strcmp(got, b) != 0)
            fail_msg("patch does not apply:\na=%s\nb=%s\ndiff=%s\ngot=%s", a, b, d, got);
        free(got);
        /* Lines (a final line without newline differs from the same line with one). */
        const char *la[32], *lb[32];
        size_t lna[32], lnb[32];
        int na = 0, nb = 0;
        for (const char *p = a; *p; na++) {
            const char *nl = strchr(p, '\n');
            la[na] = p;
            lna[na] = nl ? (size_t)(nl - p + 1) : strlen(p);
            p += lna[na];
        }
        for (const char *p = b; *p; nb++) {
            const char *nl = strchr(p, '\n');
            lb[nb] = p;
            lnb[nb] = nl ? (size_t)(nl - p + 1) : strlen(p);
            p += lnb[nb];
        }
        int dp[33][33];
        for (int i = na; i >= 0; i--)
            for (int j = nb; j >= 0; j--)
                dp[i][j] = i == na || j == nb ? 0
                           : lna[i] == lnb[j] && memcmp(la[i], lb[j], lna[i]) == 0
                               ? dp[i + 1][j + 1] + 1
                           : dp[i + 1][j] > dp[i][j + 1] ? dp[i + 1][j]
                                                         : dp[i][j + 1];
        int changes = 0;
        for (const char *p = d; *p;) {
            const char *nl = strchr(p, '\n');
            if ((*p == '-' && strncmp(p, "--- ", 4) != 0) ||
                (*p == '+' && strncmp(p, "+++ ", 4) != 0))
                changes++;
            p = nl + 1;
        }
        if (changes != na + nb - 2 * dp[0][0])
            fail_msg("not minimal: %d changes, want %d\na=%s\nb=%s\n%s", changes,
                     na + nb - 2 * dp[0][0], a, b, d);
        free(d);
    }
}

/* Large unrelated texts go through the cost cap and still yield an applicable diff. */
static void test_diff_large(void **state)
{
    (void)state;
    size_t n = 30000;
    char *a = malloc(n * 8), *b = malloc(n * 8);
    size_t la = 0, lb = 0;
    for (size_t i = 0; i < n; i++) {
        la += (size_t)snprintf(a + la, 8, "%zu\n", i % 9973);
        lb += (size_t)snprintf(b + lb, 8, "%zu\n", (i * 7) % 9967);
    }
    char *d = NULL;
    assert_int_equal(tti_diff_unified(a, la, b, lb, "A", "B", 3, &d), TT_OK);
    char *got = apply_patch(a, d);
    assert_string_equal(got, b);
    free(got);
    free(d);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transition_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test(test_yaml_check),
        cmocka_unit_test(test_yaml_limits),
        cmocka_unit_test_setup_teardown(test_versions_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomicity, setup, teardown),
        cmocka_unit_test(test_diff_golden),
        cmocka_unit_test(test_diff_random),
        cmocka_unit_test(test_diff_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

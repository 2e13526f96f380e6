/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail demo: a realistic generated history so a newcomer's dashboard is not empty.
 * Strategies move through the lifecycle of SPEC 6.1, the evaluator swaps them, active ones
 * get AI feedback every simulated day and self-repair daemons log maintenance actions, all
 * through the library's own calls. The ledger assigns ts (it cannot be backdated), so the
 * spread over weeks is carried by occurred_at. A seeded generator makes it repeatable.
 *
 * Every write goes through the public calls (tt_strategy_*, tt_feedback_record,
 * tt_ledger_log_action, tt_feedback_sync_job) with tt_set_client_time carrying the
 * simulated time into occurred_at, so demo strategies have their rows, versions and events
 * like real ones. A short scripted opening shows each of the 11 strategy event types once;
 * a run on a ledger that already holds a demo picks fresh strategy ids and adds to it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "ledger/ledger.h"
#include "util/buf.h"

#define DAY_US (86400LL * 1000000LL)
#define MAX_LIVE 12
#define MAX_STRATEGIES 4096

enum { DRAFT, PENDING, ACTIVE, CLOSED, FAILED, ARCHIVED };
typedef struct strat {
    char id[32];
    int status;
    int deleted;      /* soft-deleted: no more transitions */
    int64_t versions; /* of its YAML */
    double skill;     /* mean excess return per day */
} strat;

typedef struct demo {
    tt_ledger *l;
    const tt_demo_options *o;
    tt_demo_report rep;
    uint64_t rng;
    int64_t clock, step;
    strat *st;
    size_t n_st;
    unsigned tag;
    int tour;        /* next step of the scripted opening; -1 when done or skipped */
    int synced;      /* the training sync of this run has happened */
    int64_t sync_at; /* simulated time of that sync: halfway through the span */
} demo;

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
static uint64_t next(demo *d)
{
    uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t pick(demo *d, size_t n)
{
    return (size_t)(next(d) % n);
}

static double uniform(demo *d)
{
    return (double)(next(d) >> 11) / 9007199254740992.0;
}

/* Roughly normal: the sum of four uniforms. */
static double gauss(demo *d, double mean, double sd)
{
    double s = uniform(d) + uniform(d) + uniform(d) + uniform(d) - 2.0;
    return mean + s * sd * 1.7320508;
}

static const char *const users[] = {"user_101", "user_104", "user_107", "user_112", "user_120"};
static const char *const symbols[] = {"BTC-USD", "ETH-USD", "SOL-USD", "AAPL",
                                      "MSFT",    "EURUSD",  "SPY",     "NVDA"};
static const char *const names[] = {"Momentum",     "Mean Reversion", "Breakout",    "Grid",
                                    "Trend Follow", "Pairs",          "VWAP Scalper"};
static const char *const frames[] = {"1m", "5m", "15m", "1h", "4h", "1d"};
static const char *const close_reasons[] = {
    "Drawdown limit reached", "Underperformed benchmark for 5 days", "Manual stop by trader",
    "Market regime changed", "Risk limits tightened"};
static const char *const fail_reasons[] = {"Backtest failed: Sharpe below 0.5",
                                           "YAML validation failed on deploy",
                                           "Exchange rejected API key"};
static const char *const swap_reasons[] = {"Higher evaluation score", "Lower drawdown in backtest",
                                           "Better fit for current volatility"};
static const char *const actions[][2] = {
    {"auto-repair-daemon", "Auto-repair: Created PostgreSQL database quantum"},
    {"auto-repair-daemon", "Auto-repair: Retrained XGBoost model to 22 features"},
    {"auto-repair-daemon", "Auto-repair: Restarted Grafana container"},
    {"auto-repair-daemon", "Auto-repair: Cleaned Docker build cache"},
    {"self-heal-job", "Weekly self-heal: Started validation cycle"},
    {"self-heal-job", "Weekly self-heal: All checks passed"},
    {"realtime-monitor", "Auto-heal: Triggered by realtime monitor threshold breach"},
    {"realtime-monitor", "Auto-heal: Completed successfully (exit code 0)"},
};

#define N_OF(a) (sizeof a / sizeof a[0])

static int progress(demo *d)
{
    if (d->o->progress != NULL && d->o->progress(d->o->progress_ctx, d->rep.events, d->o->events))
        return tti_fail(TT_EMISUSE, "demo cancelled");
    return TT_OK;
}

static int left(const demo *d)
{
    return d->rep.events < d->o->events;
}

/* Count a written call of n events and report progress. */
static int wrote(demo *d, int rc, int64_t n)
{
    if (rc != TT_OK)
        return rc;
    d->rep.events += n;
    return progress(d);
}

/* A self-repair daemon's maintenance action (seed 001). */
static int action(demo *d)
{
    size_t a = pick(d, N_OF(actions));
    tt_append_result res;
    int rc = tt_ledger_log_action(d->l, actions[a][1], actions[a][0], NULL, &res);
    if (rc == TT_OK) {
        d->rep.events++;
        d->rep.actions++;
        rc = progress(d);
    }
    return rc;
}

static int create(demo *d)
{
    if (d->n_st == MAX_STRATEGIES)
        return action(d); /* enough strategies for any dashboard */
    strat *s = &d->st[d->n_st];
    snprintf(s->id, sizeof s->id, "demo-%04x-%03zu", d->tag, d->n_st + 1);
    s->skill = gauss(d, 0.0005, 0.004);
    const char *sym = symbols[pick(d, N_OF(symbols))], *name = names[pick(d, N_OF(names))];
    const char *tf = frames[pick(d, N_OF(frames))];
    char full[96], yaml[512];
    snprintf(full, sizeof full, "%s %s", name, sym);
    int n = snprintf(yaml, sizeof yaml,
                     "name: %s\nsymbol: %s\ntimeframe: %s\nparams:\n  lookback: %zu\n"
                     "  threshold: %.2f\nrisk:\n  max_position: %zu\n",
                     full, sym, tf, 10 + pick(d, 190), 0.5 + uniform(d), 1 + pick(d, 10));
    tt_strategy_spec spec = {.id = s->id,
                             .name = full,
                             .symbol = sym,
                             .timeframe = tf,
                             .yaml = yaml,
                             .yaml_len = (size_t)n,
                             .actor = users[pick(d, N_OF(users))],
                             .reason = "Strategy created"};
    tt_append_result res;
    int rc = wrote(d, tt_strategy_create(d->l, &spec, NULL, &res), 1);
    if (rc == TT_OK) {
        s->status = DRAFT;
        s->deleted = 0;
        s->versions = 1;
        d->n_st++;
        d->rep.strategies++;
    }
    return rc;
}

/* A new version of a strategy's YAML (YAML_UPDATED), as a trader tuning a parameter. */
static int update_yaml(demo *d, strat *s)
{
    char yaml[256];
    int n = snprintf(yaml, sizeof yaml,
                     "name: %s\nparams:\n  lookback: %zu\n  threshold: %.2f\nrisk:\n"
                     "  max_position: %zu\n",
                     s->id, 10 + pick(d, 190), 0.5 + uniform(d), 1 + pick(d, 10));
    tt_append_result res;
    int rc =
        wrote(d,
              tt_strategy_update_yaml(d->l, s->id, yaml, (size_t)n, users[pick(d, N_OF(users))],
                                      "Tuned parameters", NULL, &res),
              1);
    if (rc == TT_OK)
        s->versions++;
    return rc;
}

/* Back to an earlier version (ROLLED_BACK): a new version with that content. */
static int rollback(demo *d, strat *s)
{
    int64_t target = 1 + (int64_t)pick(d, (size_t)(s->versions - 1));
    tt_append_result res;
    int rc =
        wrote(d,
              tt_strategy_rollback(d->l, s->id, target, users[pick(d, N_OF(users))],
                                   "Rolled back: the new parameters underperformed", NULL, &res),
              1);
    if (rc == TT_OK) {
        s->versions++;
        d->rep.rollbacks++;
    }
    return rc;
}

/* Soft delete (DELETED) of a strategy that is not ACTIVE: its history stays. */
static int delete_one(demo *d, strat *s)
{
    tt_append_result res;
    int rc = wrote(d,
                   tt_strategy_delete(d->l, s->id, users[pick(d, N_OF(users))],
                                      "Removed from the strategy list", &res),
                   1);
    if (rc == TT_OK)
        s->deleted = 1;
    return rc;
}

/* One lifecycle transition through the strategy API (SPEC 6.1). */
static int transition(demo *d, strat *s, const char *type, const char *actor, int to,
                      const char *reason)
{
    tt_append_result res;
    int rc;
    if (strcmp(type, "STATUS_CHANGED") == 0)
        rc = tt_strategy_submit(d->l, s->id, actor, reason, &res);
    else if (strcmp(type, "ACTIVATED") == 0)
        rc = tt_strategy_activate(d->l, s->id, actor, reason, &res);
    else if (strcmp(type, "FAILED") == 0)
        rc = tt_strategy_fail(d->l, s->id, actor, reason, &res);
    else if (strcmp(type, "CLOSED") == 0)
        rc = tt_strategy_close(d->l, s->id, actor, reason, &res);
    else
        rc = tt_strategy_archive(d->l, s->id, actor, reason, &res);
    rc = wrote(d, rc, 1);
    if (rc == TT_OK)
        s->status = to;
    return rc;
}

static int swap(demo *d, strat *old, strat *nw)
{
    const char *why = swap_reasons[pick(d, N_OF(swap_reasons))];
    double so = 0.3 + 0.4 * uniform(d), sn = so + 0.05 + 0.3 * uniform(d);
    tt_strategy_swap_spec spec = {.old_id = old->id,
                                  .new_id = nw->id,
                                  .actor = "evaluator",
                                  .reason = why,
                                  .swap_reason = why,
                                  .has_old_score = 1,
                                  .old_score = so,
                                  .has_new_score = 1,
                                  .new_score = sn};
    tt_append_result res[2];
    int rc = wrote(d, tt_strategy_swap(d->l, &spec, res), 2);
    if (rc == TT_OK) {
        old->status = CLOSED;
        nw->status = ACTIVE;
        d->rep.swaps++;
    }
    return rc;
}

/* A random strategy in status, or NULL. */
static strat *find(demo *d, int status)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_st; i++)
        n += d->st[i].status == status && !d->st[i].deleted;
    if (n == 0)
        return NULL;
    size_t k = pick(d, n);
    for (size_t i = 0; i < d->n_st; i++)
        if (d->st[i].status == status && !d->st[i].deleted && k-- == 0)
            return &d->st[i];
    return NULL;
}

static size_t count(const demo *d, int status)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_st; i++)
        n += d->st[i].status == status;
    return n;
}

static size_t live(const demo *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_st; i++)
        n += d->st[i].status <= ACTIVE && !d->st[i].deleted;
    return n;
}

/* One lifecycle step, chosen by weight among those possible now. */
static int lifecycle(demo *d)
{
    strat *draft = find(d, DRAFT), *pending = find(d, PENDING), *active = find(d, ACTIVE);
    strat *ended = find(d, pick(d, 2) ? CLOSED : FAILED);
    const char *user = users[pick(d, N_OF(users))];
    size_t r = pick(d, 100);
    if (live(d) < 4 || (r < 7 && live(d) < MAX_LIVE))
        return create(d);
    if (r < 19 && draft != NULL)
        return pick(d, 6)
                   ? transition(d, draft, "STATUS_CHANGED", user, PENDING, "Submitted for review")
                   : transition(d, draft, "FAILED", "system", FAILED,
                                fail_reasons[pick(d, N_OF(fail_reasons))]);
    if (r < 29 && pending != NULL && count(d, ACTIVE) < 6)
        return transition(d, pending, "ACTIVATED", "orchestrator", ACTIVE,
                          "Strategy activated by orchestrator");
    if (r < 42 && active != NULL && pending != NULL && pick(d, 5) == 0)
        return swap(d, active, pending);
    if (r < 46 && active != NULL && pick(d, 16) == 0)
        return transition(d, active, "CLOSED", pick(d, 2) ? user : "system", CLOSED,
                          close_reasons[pick(d, N_OF(close_reasons))]);
    if (r < 53 && ended != NULL)
        return transition(d, ended, "ARCHIVED", user, ARCHIVED, "Archived after review");
    if (r < 55 && pending != NULL)
        return transition(d, pending, "FAILED", "system", FAILED,
                          fail_reasons[pick(d, N_OF(fail_reasons))]);
    /* The rarer steps get their own band of r, not whatever fell through from above. */
    strat *tuned = pick(d, 2) ? active : draft;
    if (r >= 55 && r < 58 && tuned != NULL)
        return update_yaml(d, tuned);
    if (r >= 58 && r < 60 && tuned != NULL && tuned->versions > 1)
        return rollback(d, tuned);
    if (r >= 60 && r < 62 && ended != NULL)
        return delete_one(d, ended);
    return action(d);
}

/*
 * The scripted opening: each of the 11 strategy event types of SPEC 6.1 once, so even a
 * short demo shows them all. Strategy a is created, submitted, activated, tuned, rolled
 * back and swapped out for b; a is then archived; c fails and is deleted; e is activated
 * and closed. One call per step, so the clock moves between them like any other step.
 */
static int tour(demo *d)
{
    strat *a = &d->st[0], *b = &d->st[1], *c = &d->st[2], *e = &d->st[3];
    const char *user = users[pick(d, N_OF(users))];
    switch (d->tour++) {
    case 0:
    case 5:
    case 9:
    case 12:
        return create(d);
    case 1:
        return transition(d, a, "STATUS_CHANGED", user, PENDING, "Submitted for review");
    case 2:
        return transition(d, a, "ACTIVATED", "orchestrator", ACTIVE,
                          "Strategy activated by orchestrator");
    case 3:
        return update_yaml(d, a);
    case 4:
        return rollback(d, a);
    case 6:
        return transition(d, b, "STATUS_CHANGED", user, PENDING, "Submitted for review");
    case 7:
        return swap(d, a, b);
    case 8:
        return transition(d, a, "ARCHIVED", user, ARCHIVED, "Archived after review");
    case 10:
        return transition(d, c, "FAILED", "system", FAILED, fail_reasons[0]);
    case 11:
        return delete_one(d, c);
    case 13:
        return transition(d, e, "STATUS_CHANGED", user, PENDING, "Submitted for review");
    case 14:
        return transition(d, e, "ACTIVATED", "orchestrator", ACTIVE,
                          "Strategy activated by orchestrator");
    default:
        d->tour = -1;
        return transition(d, e, "CLOSED", user, CLOSED, close_reasons[0]);
    }
}

/* The seed's training sync (SPEC 6.2) as a recorded job run, once per demo: the feedback
 * recorded so far goes to the demo's own sink; later records are left for a real sync. */
static int training_sync(demo *d)
{
    int64_t before, after;
    uint8_t root[TT_HASH_SIZE];
    tt_sync_result res;
    d->synced = 1;
    int rc = tt_ledger_head(d->l, &before, root);
    if (rc == TT_OK)
        rc = tt_feedback_sync_job(d->l, d->o->feedback_sink, "demo", TT_TIME_NONE, &res);
    if (rc == TT_OK)
        rc = tt_ledger_head(d->l, &after, root);
    if (rc == TT_OK) {
        d->rep.syncs++;
        rc = wrote(d, TT_OK, after - before);
    }
    return rc;
}

/* Strategy ids are demo-TAG-NNN with TAG drawn from the seed; on a ledger that already
 * has that TAG's strategies (a second run), the next free TAG, so the run adds to it. */
static int pick_tag(demo *d)
{
    for (unsigned i = 0; i < 0x10000; i++, d->tag = (d->tag + 1) & 0xffff) {
        char id[32];
        snprintf(id, sizeof id, "demo-%04x-001", d->tag);
        tt_strategy *st = NULL;
        int rc = tt_strategy_get(d->l, id, &st);
        tt_strategy_free(st);
        if (rc == TT_ENOTFOUND)
            return TT_OK;
        if (rc != TT_OK)
            return rc;
    }
    return tti_fail(TT_ECONFLICT, "every demo strategy id is taken");
}

/* The day's feedback for every active strategy (the seed's daily learning loop). */
static int daily_feedback(demo *d)
{
    for (size_t i = 0; i < d->n_st && left(d); i++) {
        if (d->st[i].status != ACTIVE)
            continue;
        double bench = gauss(d, 0.0004, 0.012);
        double ai = bench + gauss(d, d->st[i].skill, 0.01);
        tt_feedback_result res;
        int rc = tt_feedback_record(d->l, d->st[i].id, ai, bench, users[pick(d, N_OF(users))],
                                    "SPY", NULL, &res);
        if (rc != TT_OK)
            return rc;
        d->rep.events++;
        d->rep.feedback++;
        if ((rc = progress(d)) != TT_OK)
            return rc;
    }
    return TT_OK;
}

int tt_demo_generate(tt_ledger *l, const tt_demo_options *opts, tt_demo_report *report)
{
    if (l == NULL || opts == NULL)
        return tti_fail(TT_EMISUSE, "tt_demo_generate: NULL argument");
    if (opts->events < 1 || opts->events > 100000000)
        return tti_fail(TT_EINVAL, "events: must be between 1 and 100000000");
    if (opts->span_days < 0 || opts->span_days > 3650)
        return tti_fail(TT_EINVAL, "span_days: must be between 0 and 3650");
    demo d;
    memset(&d, 0, sizeof d);
    d.l = l;
    d.o = opts;
    d.rng = opts->seed;
    d.tag = (unsigned)(next(&d) & 0xffff);
    int64_t span = (opts->span_days ? opts->span_days : 42) * DAY_US;
    int64_t now = tt_time_now_us();
    /* Anchored at today's midnight UTC: the same seed gives the same occurred_at all day. */
    d.clock = now - now % DAY_US - span;
    d.step = span / opts->events;
    d.sync_at = d.clock + span / 2;
    d.synced = opts->feedback_sink == NULL || opts->feedback_sink[0] == '\0';
    /* The opening needs about 16 events: shorter demos are all random steps. */
    d.tour = opts->events >= 32 ? 0 : -1;
    int rc = pick_tag(&d);
    if (rc != TT_OK)
        return rc;
    if ((d.st = calloc(MAX_STRATEGIES, sizeof *d.st)) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    int64_t day = d.clock / DAY_US;
    while (rc == TT_OK && left(&d)) {
        /* Busier in trading hours: shorter steps between 08:00 and 20:00 UTC. */
        int64_t hour = (d.clock / 3600000000LL) % 24;
        double f = hour >= 8 && hour < 20 ? 0.6 : 1.8;
        d.clock += (int64_t)((double)d.step * f * (0.2 + 1.6 * uniform(&d))) + 1;
        if (d.clock > now)
            d.clock = now;
        tt_set_client_time(d.clock); /* every call below records it as occurred_at */
        if (d.tour >= 0) {
            rc = tour(&d);
            continue;
        }
        if (d.clock / DAY_US != day) {
            day = d.clock / DAY_US;
            rc = daily_feedback(&d);
            continue;
        }
        if (!d.synced && d.clock >= d.sync_at) {
            rc = training_sync(&d);
            continue;
        }
        rc = lifecycle(&d);
    }
    tt_set_client_time(TT_TIME_NONE);
    free(d.st);
    if (rc == TT_OK && report != NULL)
        *report = d.rep;
    return rc;
}

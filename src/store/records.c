/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The records a store returns: the names of their enumerated fields (strategy status,
 * feedback outcome), freeing them, and growing row arrays. The public tt_*_free and name
 * functions of tokens, strategies, versions and feedback live here, below the store, so
 * the backends and src/domain share one definition (see records.h).
 */
#include "store/records.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/notify_store.h"

/* ---- names of enumerated fields ---- */

static const char *const status_names[] = {"DRAFT",  "PENDING", "ACTIVE",
                                           "FAILED", "CLOSED",  "ARCHIVED"};
static const char *const outcome_names[] = {NULL, "positive", "negative", "neutral"};

const char *tt_strategy_status_name(tt_strategy_status s)
{
    return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : NULL;
}

int tti_strategy_status_from(const char *s, tt_strategy_status *out)
{
    for (unsigned i = 0; s != NULL && i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcmp(s, status_names[i]) == 0) {
            *out = (tt_strategy_status)i;
            return TT_OK;
        }
    return TT_EINVAL;
}

const char *tt_outcome_name(tt_outcome o)
{
    return o >= TT_OUTCOME_POSITIVE && o <= TT_OUTCOME_NEUTRAL ? outcome_names[o] : NULL;
}

int tt_outcome_parse(const char *s, tt_outcome *out)
{
    for (int o = TT_OUTCOME_POSITIVE; o <= TT_OUTCOME_NEUTRAL; o++)
        if (s != NULL && strcmp(s, outcome_names[o]) == 0) {
            *out = (tt_outcome)o;
            return TT_OK;
        }
    return TT_EINVAL;
}

/* ---- ownership ---- */

void tti_strategy_clear(tt_strategy *s)
{
    if (s == NULL)
        return;
    free(s->id);
    free(s->name);
    free(s->symbol);
    free(s->timeframe);
    memset(s, 0, sizeof *s);
}

void tti_strategy_version_clear(tt_strategy_version *v)
{
    if (v == NULL)
        return;
    free(v->strategy_id);
    free(v->content);
    free(v->change_type);
    free(v->author);
    free(v->reason);
    memset(v, 0, sizeof *v);
}

void tti_feedback_clear(tt_feedback *f)
{
    if (f == NULL)
        return;
    free(f->strategy_id);
    free(f->user_id);
    free(f->benchmark);
    memset(f, 0, sizeof *f);
}

void tti_token_info_clear(tt_token_info *t)
{
    if (t == NULL)
        return;
    free(t->name);
    memset(t, 0, sizeof *t);
}

void tti_count_clear(tt_count *c)
{
    if (c == NULL)
        return;
    free(c->name);
    memset(c, 0, sizeof *c);
}

int tti_rows_reserve(void **arr, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return TT_OK;
    size_t ncap = *cap ? *cap * 2 : (first ? first : 8);
    if (ncap <= n)
        ncap = n + 1;
    if (ncap > SIZE_MAX / elem)
        return TT_ENOMEM;
    void *grown = realloc(*arr, ncap * elem);
    if (grown == NULL)
        return TT_ENOMEM;
    *arr = grown;
    *cap = ncap;
    return TT_OK;
}

void tti_rows_free(void *arr, size_t n, size_t elem, void (*clear)(void *))
{
    for (size_t i = 0; arr != NULL && i < n; i++)
        clear((char *)arr + i * elem);
    free(arr);
}

void tti_outbox_rows_free(tti_outbox_row *rows, size_t n)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].channel);
        free(rows[i].subject);
        free(rows[i].body);
    }
    free(rows);
}

/* ---- the public destructors (tradetrail.h) ---- */

static void strategy_any(void *p)
{
    tti_strategy_clear(p);
}

static void version_any(void *p)
{
    tti_strategy_version_clear(p);
}

static void feedback_any(void *p)
{
    tti_feedback_clear(p);
}

static void token_any(void *p)
{
    tti_token_info_clear(p);
}

void tt_strategy_free(tt_strategy *s)
{
    tti_strategy_clear(s);
    free(s);
}

void tt_strategy_list_free(tt_strategy *list, size_t n)
{
    tti_rows_free(list, n, sizeof *list, strategy_any);
}

void tt_strategy_version_free(tt_strategy_version *v)
{
    tti_strategy_version_clear(v);
    free(v);
}

void tt_strategy_versions_free(tt_strategy_version *list, size_t n)
{
    tti_rows_free(list, n, sizeof *list, version_any);
}

void tt_feedback_list_free(tt_feedback *list, size_t n)
{
    tti_rows_free(list, n, sizeof *list, feedback_any);
}

void tt_token_list_free(tt_token_info *list, size_t n)
{
    tti_rows_free(list, n, sizeof *list, token_any);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Legal holds (SPEC 8, issue 16): an entity id under hold keeps its events' bodies in the
 * hot store whatever their age; retention skips them. A hold is nothing but events (entity
 * "legal_hold", entity_id the held id, HOLD / RELEASE), so placing and lifting one is
 * recorded, signed and provable like everything else, and the current holds are the last
 * such event per id. Adding checks the current state inside the write transaction, so two
 * concurrent adds of one id cannot both succeed.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs/holds.h"
#include "util/buf.h"

#define HOLD_ENTITY TTI_HOLD_ENTITY

typedef struct hold_tx {
    const char *entity_id;
    int want_held; /* the state the change needs to find: 0 for add, 1 for remove */
} hold_tx;

/* Whether entity_id is held now, read through store s (inside a transaction). */
static int held_on(tt_ledger *l, tti_store *s, const char *entity_id, int *held)
{
    tt_query q;
    tt_query_init(&q);
    q.entity = HOLD_ENTITY;
    q.entity_id = entity_id;
    q.order = TT_ORDER_DESC;
    q.limit = 1;
    tti_store_iter *it = NULL;
    const tt_event *ev;
    int rc = l->ops->query(s, &q, &it);
    if (rc == TT_OK)
        rc = l->ops->iter_next(it, &ev);
    if (rc == TT_OK)
        *held = strcmp(ev->event_type, "HOLD") == 0;
    else if (rc == TT_ENOTFOUND)
        *held = 0, rc = TT_OK;
    if (it != NULL)
        l->ops->iter_free(it);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, s, rc);
}

static int hold_before(void *ctx, tt_ledger *l, tti_store *w)
{
    hold_tx *t = ctx;
    int held;
    int rc = held_on(l, w, t->entity_id, &held);
    if (rc != TT_OK)
        return rc;
    if (held != t->want_held)
        return tti_fail(TT_ECONFLICT, "%s is %s under a legal hold", t->entity_id,
                        held ? "already" : "not");
    return TT_OK;
}

static int change(tt_ledger *l, const char *entity_id, int add, const char *actor,
                  const char *reason, tt_append_result *out)
{
    if (l == NULL || entity_id == NULL)
        return tti_fail(TT_EMISUSE, "legal hold: NULL argument");
    if (reason == NULL || reason[0] == '\0')
        return tti_fail(TT_EINVAL, "reason: a legal hold is placed and lifted with a reason");
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = HOLD_ENTITY;
    ev.entity_id = entity_id;
    ev.event_type = add ? "HOLD" : "RELEASE";
    ev.actor = actor != NULL ? actor : "admin";
    ev.old_status = add ? NULL : "HELD";
    ev.new_status = add ? "HELD" : "RELEASED";
    ev.reason = reason;
    hold_tx t = {.entity_id = entity_id, .want_held = !add};
    static const tti_tx_hooks hooks = {.before = hold_before};
    tt_append_result res;
    int rc = tti_ledger_append_tx(l, &ev, 1, &hooks, &t, &res);
    if (rc == TT_OK && out != NULL)
        *out = res;
    return rc;
}

int tt_hold_add(tt_ledger *l, const char *entity_id, const char *actor, const char *reason,
                tt_append_result *out)
{
    return change(l, entity_id, 1, actor, reason, out);
}

int tt_hold_remove(tt_ledger *l, const char *entity_id, const char *actor, const char *reason,
                   tt_append_result *out)
{
    return change(l, entity_id, 0, actor, reason, out);
}

int tt_hold_active(tt_ledger *l, const char *entity_id, int *held)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    int h = 0;
    if ((rc = l->ops->begin_read(s)) != TT_OK) {
        rc = tti_store_fail(l, s, rc);
    } else {
        rc = held_on(l, s, entity_id, &h);
        l->ops->rollback(s);
    }
    tti_reader_put(l, s);
    if (rc == TT_OK)
        *held = h;
    return rc;
}

void tt_hold_list_free(tt_hold *list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++) {
        free(list[i].entity_id);
        free(list[i].actor);
        free(list[i].reason);
    }
    free(list);
}

static int set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? strdup(v) : NULL;
    return v == NULL || *slot != NULL ? 0 : -1;
}

int tti_hold_list_on(tt_ledger *l, tti_store *s, tt_hold **out, size_t *n_out)
{
    tt_hold *list = NULL;
    size_t n = 0, cap = 0;
    int64_t after = 0;
    int rc = TT_OK;
    for (;;) { /* every legal_hold event in seq order, a page at a time */
        tt_query q;
        tt_query_init(&q);
        q.entity = HOLD_ENTITY;
        q.after_seq = after;
        q.limit = TT_MAX_QUERY_LIMIT;
        tti_store_iter *it = NULL;
        const tt_event *ev;
        size_t got = 0;
        if ((rc = l->ops->query(s, &q, &it)) != TT_OK) {
            rc = tti_store_fail(l, s, rc);
            goto out;
        }
        while ((rc = l->ops->iter_next(it, &ev)) == TT_OK) {
            got++;
            after = ev->seq;
            size_t i = 0;
            while (i < n && strcmp(list[i].entity_id, ev->entity_id) != 0)
                i++;
            int hold = strcmp(ev->event_type, "HOLD") == 0;
            if (i == n && !hold)
                continue;
            if (i == n) {
                if (n == cap) {
                    size_t c = cap ? 2 * cap : 8;
                    tt_hold *p = realloc(list, c * sizeof *p);
                    if (p == NULL) {
                        rc = tti_fail(TT_ENOMEM, "out of memory");
                        break;
                    }
                    list = p;
                    cap = c;
                }
                memset(&list[n], 0, sizeof list[n]);
                n++;
                if (set_str(&list[i].entity_id, ev->entity_id) != 0) {
                    rc = tti_fail(TT_ENOMEM, "out of memory");
                    break;
                }
            }
            if (!hold) { /* released: drop it, keep the order of the others */
                free(list[i].entity_id);
                free(list[i].actor);
                free(list[i].reason);
                memmove(&list[i], &list[i + 1], (n - i - 1) * sizeof *list);
                n--;
                continue;
            }
            list[i].seq = ev->seq;
            list[i].ts_us = ev->ts_us;
            if (set_str(&list[i].actor, ev->actor) != 0 ||
                set_str(&list[i].reason, ev->reason) != 0) {
                rc = tti_fail(TT_ENOMEM, "out of memory");
                break;
            }
        }
        l->ops->iter_free(it);
        if (rc != TT_ENOTFOUND && rc != TT_OK && rc != TT_ENOMEM)
            rc = tti_store_fail(l, s, rc);
        if (rc != TT_ENOTFOUND)
            goto out;
        rc = TT_OK;
        if (got < TT_MAX_QUERY_LIMIT)
            break;
    }
out:
    if (rc != TT_OK) {
        tt_hold_list_free(list, n);
        return rc;
    }
    *out = list;
    *n_out = n;
    return TT_OK;
}

typedef struct list_args {
    tt_hold **out;
    size_t *n;
} list_args;

static int list_in(tt_ledger *l, tti_store *s, void *ctx)
{
    list_args *a = ctx;
    return tti_hold_list_on(l, s, a->out, a->n);
}

int tt_hold_list(tt_ledger *l, tt_hold **out, size_t *n_out)
{
    list_args a = {out, n_out};
    return tti_ledger_read(l, list_in, &a);
}

char *tt_hold_list_to_json(const tt_hold *list, size_t n)
{
    tti_buf b;
    tti_buf_init(&b, SIZE_MAX / 2);
    tti_buf_adds(&b, "{\"holds\":[");
    for (size_t i = 0; i < n; i++) {
        char ts[TT_TS_LEN + 1];
        tt_time_format(list[i].ts_us, ts);
        tti_buf_adds(&b, i ? ",{\"entity_id\":" : "{\"entity_id\":");
        tti_buf_json_str(&b, list[i].entity_id);
        tti_buf_printf(&b, ",\"seq\":%lld,\"since\":\"%s\",\"actor\":", (long long)list[i].seq, ts);
        tti_buf_json_str(&b, list[i].actor);
        tti_buf_adds(&b, ",\"reason\":");
        tti_buf_json_str(&b, list[i].reason);
        tti_buf_adds(&b, "}");
    }
    tti_buf_printf(&b, "],\"count\":%zu}", n);
    if (b.failed) {
        tti_buf_free(&b);
        return NULL;
    }
    return tti_buf_take(&b);
}

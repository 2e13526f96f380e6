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

typedef struct hold_list {
    tt_hold *list;
    size_t n, cap;
} hold_list;

/* One hold event: the id's entry placed or moved to this event, or dropped on RELEASE
 * (the others keep their order). */
static int on_hold_event(void *ctx, const tt_event *ev)
{
    hold_list *h = ctx;
    size_t i = 0;
    while (i < h->n && strcmp(h->list[i].entity_id, ev->entity_id) != 0)
        i++;
    int hold = strcmp(ev->event_type, "HOLD") == 0;
    if (i == h->n && !hold)
        return TT_OK;
    if (i == h->n) {
        if (h->n == h->cap) {
            size_t c = h->cap ? 2 * h->cap : 8;
            tt_hold *p = realloc(h->list, c * sizeof *p);
            if (p == NULL)
                return tti_fail(TT_ENOMEM, "out of memory");
            h->list = p;
            h->cap = c;
        }
        memset(&h->list[h->n++], 0, sizeof h->list[0]);
        if (set_str(&h->list[i].entity_id, ev->entity_id) != 0)
            return tti_fail(TT_ENOMEM, "out of memory");
    }
    tt_hold *e = &h->list[i];
    if (!hold) {
        free(e->entity_id);
        free(e->actor);
        free(e->reason);
        memmove(e, e + 1, (h->n - i - 1) * sizeof *e);
        h->n--;
        return TT_OK;
    }
    e->seq = ev->seq;
    e->ts_us = ev->ts_us;
    if (set_str(&e->actor, ev->actor) != 0 || set_str(&e->reason, ev->reason) != 0)
        return tti_fail(TT_ENOMEM, "out of memory");
    return TT_OK;
}

int tti_hold_list_on(tt_ledger *l, tti_store *s, tt_hold **out, size_t *n_out)
{
    hold_list h = {NULL, 0, 0};
    int rc = tti_entity_each(l, s, HOLD_ENTITY, on_hold_event, &h);
    if (rc != TT_OK) {
        tt_hold_list_free(h.list, h.n);
        return rc;
    }
    *out = h.list;
    *n_out = h.n;
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

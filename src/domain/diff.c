/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unified diff of two texts, for comparing strategy versions (SPEC 6.1). Lines are compared
 * by hash then bytes; the shortest edit script comes from Myers' "An O(ND) Difference
 * Algorithm" (1986) with the linear-space middle-snake refinement, shaped as in GNU
 * diffutils' analyze.c (diag / compareseq), including its cost cap so that two large,
 * unrelated texts still finish quickly (with a valid, possibly non-minimal, diff).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/diff.h"
#include "tradetrail.h"
#include "util/buf.h"

/* Beyond this many rounds of one middle-snake search, settle for the furthest point so far. */
#define DIFF_COST_CAP 4096
#define DIFF_MAX_OUT (64u * 1024 * 1024)

typedef struct line {
    const char *p;
    size_t len; /* without the '\n' */
    int nl;     /* ends with '\n' */
    uint64_t h;
} line;

typedef struct text {
    line *v;
    ptrdiff_t n;
    char *changed; /* per line: deleted (a) or inserted (b) */
} text;

typedef struct differ {
    text a, b;
    ptrdiff_t *fd, *bd; /* furthest-reaching x per diagonal, offset so index -n_b-1 works */
} differ;

static uint64_t fnv1a(const char *p, size_t n, int nl)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return (h ^ (uint64_t)nl) * 1099511628211ull;
}

static int split_lines(const char *s, size_t len, text *t)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    n += len > 0 && s[len - 1] != '\n';
    t->v = calloc(n ? n : 1, sizeof *t->v);
    t->changed = calloc(n ? n : 1, 1);
    if (t->v == NULL || t->changed == NULL)
        return -1;
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len && k < n; i++) {
        if (i == len || s[i] == '\n') {
            line *l = &t->v[k++];
            l->p = s + start;
            l->len = i - start;
            l->nl = i < len;
            l->h = fnv1a(l->p, l->len, l->nl);
            start = i + 1;
        }
    }
    t->n = (ptrdiff_t)n;
    return 0;
}

/* Lines equal, including whether each ends with a newline (so a missing final newline is
 * a change, as in diff(1)). */
static int eq(const differ *d, ptrdiff_t x, ptrdiff_t y)
{
    const line *p = &d->a.v[x], *q = &d->b.v[y];
    return p->h == q->h && p->len == q->len && p->nl == q->nl && memcmp(p->p, q->p, p->len) == 0;
}

/* The middle snake of the box [xoff,xlim) x [yoff,ylim) (diffutils' diag). */
static void middle(differ *d, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff, ptrdiff_t ylim,
                   ptrdiff_t *xmid, ptrdiff_t *ymid)
{
    ptrdiff_t *fd = d->fd, *bd = d->bd;
    const ptrdiff_t dmin = xoff - ylim, dmax = xlim - yoff;
    const ptrdiff_t fmid = xoff - yoff, bmid = xlim - ylim;
    ptrdiff_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
    const int odd = (fmid - bmid) & 1;
    fd[fmid] = xoff;
    bd[bmid] = xlim;
    for (long c = 1;; c++) {
        ptrdiff_t k;
        if (fmin > dmin)
            fd[--fmin - 1] = -1;
        else
            ++fmin;
        if (fmax < dmax)
            fd[++fmax + 1] = -1;
        else
            --fmax;
        for (k = fmax; k >= fmin; k -= 2) {
            ptrdiff_t tlo = fd[k - 1], thi = fd[k + 1];
            ptrdiff_t x = tlo < thi ? thi : tlo + 1, y = x - k;
            while (x < xlim && y < ylim && eq(d, x, y))
                x++, y++;
            fd[k] = x;
            if (odd && bmin <= k && k <= bmax && bd[k] <= x) {
                *xmid = x;
                *ymid = y;
                return;
            }
        }
        if (bmin > dmin)
            bd[--bmin - 1] = PTRDIFF_MAX;
        else
            ++bmin;
        if (bmax < dmax)
            bd[++bmax + 1] = PTRDIFF_MAX;
        else
            --bmax;
        for (k = bmax; k >= bmin; k -= 2) {
            ptrdiff_t tlo = bd[k - 1], thi = bd[k + 1];
            ptrdiff_t x = tlo < thi ? tlo : thi - 1, y = x - k;
            while (x > xoff && y > yoff && eq(d, x - 1, y - 1))
                x--, y--;
            bd[k] = x;
            if (!odd && fmin <= k && k <= fmax && x <= fd[k]) {
                *xmid = x;
                *ymid = y;
                return;
            }
        }
        if (c < DIFF_COST_CAP)
            continue;
        /* Too expensive: split at the forward point that got furthest (diffutils' fallback,
         * forward half only). Any such point lies past (xoff, yoff), so both halves shrink. */
        ptrdiff_t best = -1;
        for (k = fmax; k >= fmin; k -= 2) {
            ptrdiff_t x = fd[k] < xlim ? fd[k] : xlim, y = x - k;
            if (y > ylim) {
                x = ylim + k;
                y = ylim;
            }
            if (x < xoff || y < yoff)
                continue;
            if (x + y > best) {
                best = x + y;
                *xmid = x;
                *ymid = y;
            }
        }
        if (best > xoff + yoff && best < xlim + ylim)
            return;
    }
}

static void compare(differ *d, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff, ptrdiff_t ylim)
{
    while (xoff < xlim && yoff < ylim && eq(d, xoff, yoff))
        xoff++, yoff++;
    while (xlim > xoff && ylim > yoff && eq(d, xlim - 1, ylim - 1))
        xlim--, ylim--;
    if (xoff == xlim) {
        while (yoff < ylim)
            d->b.changed[yoff++] = 1;
    } else if (yoff == ylim) {
        while (xoff < xlim)
            d->a.changed[xoff++] = 1;
    } else {
        ptrdiff_t xmid, ymid;
        middle(d, xoff, xlim, yoff, ylim, &xmid, &ymid);
        compare(d, xoff, xmid, yoff, ymid);
        compare(d, xmid, xlim, ymid, ylim);
    }
}

/* The edit script as one op per output line: ' ' kept, '-' deleted, '+' inserted. */
typedef struct op {
    char kind;
    ptrdiff_t ai, bi; /* line index in a and b before this op */
} op;

static void emit_range(tti_buf *o, ptrdiff_t start, ptrdiff_t count)
{
    /* GNU unified format: an empty range names the line before it; a count of 1 is left
     * out. */
    if (count == 0)
        tti_buf_printf(o, "%td,0", start);
    else if (count == 1)
        tti_buf_printf(o, "%td", start + 1);
    else
        tti_buf_printf(o, "%td,%td", start + 1, count);
}

static void emit_line(tti_buf *o, char kind, const line *l)
{
    tti_buf_add(o, &kind, 1);
    tti_buf_add(o, l->p, l->len);
    tti_buf_adds(o, l->nl ? "\n" : "\n\\ No newline at end of file\n");
}

static void emit_hunk(tti_buf *o, const differ *d, const op *ops, size_t from, size_t to)
{
    ptrdiff_t na = 0, nb = 0;
    for (size_t i = from; i < to; i++) {
        na += ops[i].kind != '+';
        nb += ops[i].kind != '-';
    }
    tti_buf_adds(o, "@@ -");
    emit_range(o, ops[from].ai, na);
    tti_buf_adds(o, " +");
    emit_range(o, ops[from].bi, nb);
    tti_buf_adds(o, " @@\n");
    for (size_t i = from; i < to; i++)
        emit_line(o, ops[i].kind, ops[i].kind == '+' ? &d->b.v[ops[i].bi] : &d->a.v[ops[i].ai]);
}

static int build_output(differ *d, const char *label_a, const char *label_b, unsigned context,
                        char **out)
{
    size_t nops = (size_t)(d->a.n + d->b.n);
    op *ops = malloc((nops ? nops : 1) * sizeof *ops);
    if (ops == NULL)
        return TT_ENOMEM;
    size_t k = 0;
    int any = 0;
    for (ptrdiff_t i = 0, j = 0; i < d->a.n || j < d->b.n;) {
        char kind = i < d->a.n && d->a.changed[i] ? '-' : j < d->b.n && d->b.changed[j] ? '+' : ' ';
        ops[k++] = (op){kind, i, j};
        any |= kind != ' ';
        i += kind != '+';
        j += kind != '-';
    }
    tti_buf o;
    tti_buf_init(&o, DIFF_MAX_OUT);
    tti_buf_adds(&o, "");
    if (any)
        tti_buf_printf(&o, "--- %s\n+++ %s\n", label_a, label_b);
    for (size_t i = 0; i < k;) {
        if (ops[i].kind == ' ') {
            i++;
            continue;
        }
        /* A hunk: from `context` lines before this change to `context` lines after the last
         * change that is at most 2 * context kept lines away from the previous one. */
        size_t start = i > context ? i - context : 0, end = i;
        for (;;) {
            while (end < k && ops[end].kind != ' ')
                end++;
            size_t gap = end;
            while (gap < k && ops[gap].kind == ' ' && gap - end < 2 * (size_t)context + 1)
                gap++;
            if (gap < k && ops[gap].kind != ' ' && gap - end <= 2 * (size_t)context) {
                end = gap;
                continue;
            }
            break;
        }
        size_t stop = end + context < k ? end + context : k;
        emit_hunk(&o, d, ops, start, stop);
        i = stop;
    }
    free(ops);
    if (o.failed || o.data == NULL) {
        tti_buf_free(&o);
        return TT_ENOMEM;
    }
    *out = tti_buf_take(&o);
    return TT_OK;
}

int tti_diff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
                     const char *label_b, unsigned context, char **out)
{
    differ d;
    memset(&d, 0, sizeof d);
    int rc = TT_ENOMEM;
    ptrdiff_t *diag = NULL;
    if (split_lines(a, alen, &d.a) != 0 || split_lines(b, blen, &d.b) != 0)
        goto out;
    /* Diagonals k = x - y run from -(n_b + 1) to n_a + 1. */
    size_t ndiag = (size_t)(d.a.n + d.b.n + 3);
    diag = malloc(2 * ndiag * sizeof *diag);
    if (diag == NULL)
        goto out;
    d.fd = diag + d.b.n + 1;
    d.bd = diag + ndiag + d.b.n + 1;
    compare(&d, 0, d.a.n, 0, d.b.n);
    rc = build_output(&d, label_a, label_b, context, out);
out:
    free(diag);
    free(d.a.v);
    free(d.a.changed);
    free(d.b.v);
    free(d.b.changed);
    return rc;
}

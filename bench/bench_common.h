/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the bench programs share (SPEC 13): the deterministic event generator, so that the
 * library, the raw-SQLite baseline and the seed design on PostgreSQL insert the same
 * events, and the small helpers for timing and printing "figure" lines.
 */
#ifndef TT_BENCH_COMMON_H
#define TT_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tradetrail.h"

/* The program's name in die()'s messages; set it first thing in main(). */
extern const char *bench_prog;

double now_s(void); /* CLOCK_MONOTONIC, in seconds */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
long long parse_count(const char *s, const char *what, long long min, long long max);
double parse_seconds(const char *s); /* (0, 3600] */

/* One line "figure <name> <value> <unit>" on stdout, flushed. */
void figure(const char *name, double value, const char *unit);
int cmp_double(const void *a, const void *b);
/* Nearest-rank percentile of a sorted array. */
double percentile(const double *sorted, size_t n, double p);
/* Sorts us[] and prints <name>_p50, _p99 and _max in microseconds. */
void latency_figures(const char *name, double *us, size_t n);

/* splitmix64: tiny, fast, and the same sequence on every machine. */
uint64_t rng_next(uint64_t *state);
unsigned rng_below(uint64_t *state, unsigned n);

#define N_SUBJECTS 1000

/* The words reasons are made of (full-text searches pick one of them). */
extern const char *const words[];
extern const size_t n_words;

typedef struct subject {
    const char *entity;
    char id[32];
} subject;

/* Strings of the generated events live in large blocks that never move, chained so that
 * they can be freed together. */
typedef struct arena {
    char *block; /* the current block; its first pointer-sized bytes link to the previous */
    size_t used, cap;
} arena;

void arena_free(arena *a);

/* ~1000 subjects: 70 % strategies (cuid-like ids as in the seed), then orders, AI feedback
 * records and maintenance jobs. The pool depends only on the seed, never on N. */
void make_subjects(subject *pool);

/* n events with a fixed seed: the same events for the library and the baselines. The
 * strings live in *a; free the array with free() and the strings with arena_free(a). */
tt_event *make_events(size_t n, const subject *pool, arena *a);

/* A cuid-like id, time-ordered as the seed's Prisma @default(cuid()); not reentrant on *st. */
void make_cuid(char out[26], uint64_t *st, uint64_t counter);

#endif

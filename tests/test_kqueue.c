/* Event kernel's queue (src/core/kernel.c, core/kernel_internal.h) against
 * a brute-force model: events whose handlers schedule more events from
 * inside (directly, as timers, through FIFOs, as dormant events they may
 * wake later) and ask the next event's time, in bursts that grow the queue
 * to thousands of events and let it drain to a few. The model keeps every
 * pending event in a plain array and runs the smallest (time, priority,
 * sequence) each step; the kernel must run the same events at the same
 * times, pass the same dormant ones, answer the same next times and show
 * the same events to the fast path's watch.
 *
 * What it guards: the dispatcher leaves the running event's place in the
 * heap open (a hole) until the handler returns or pushes, and everything
 * that reads the queue meanwhile must see it settled. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/fast.h"
#include "core/kfifo.h"
#include "helpers/testutil.h"
#include "scimitar/kernel.h"

#define NB 2
static const scim_backend backends[NB] = {SCIM_BACKEND_NATIVE, SCIM_BACKEND_SYSTEMC};

enum { NF = 6, MAX_EV = 200000, MAX_DM = 64 };

/* one pending event of the model */
typedef struct mev {
    scim_time_t t;
    int prio;
    uint64_t seq;
    uint64_t id;
    int dm; /* dormant handle in the model, or -1 */
} mev;

typedef struct world {
    scim_kernel *k;
    bool model;       /* this run is the model's (no kernel) */
    int fifo[NF];
    scim_time_t tail[NF]; /* a FIFO's latest time, to keep most pushes in order */
    uint64_t exempt_far; /* model: events on EXEMPT_FIFO far enough ahead to be shown otherwise */
    uint64_t rng;
    uint64_t next_id;
    uint64_t budget;
    /* what happened: (id, time, kind) per step */
    uint64_t *log;
    size_t n_log;
    /* the model's state */
    mev *pend;
    size_t n_pend;
    uint64_t seq;
    scim_time_t now;
    /* dormant events in flight: handle (kernel) and id */
    int dm_handle[MAX_DM];
    uint64_t dm_id[MAX_DM];
    bool dm_live[MAX_DM];
    uint64_t n_next_time; /* next-time questions asked */
    uint64_t live;        /* events scheduled and not yet run or passed (kept alive while budget lasts) */
} world;

static uint64_t world_rnd(world *w)
{
    uint64_t z = (w->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void on_event(void *ctx, uint64_t arg);
static void on_passed(void *ctx, uint64_t arg);

static void record(world *w, uint64_t id, scim_time_t t, uint64_t kind)
{
    ck_assert_uint_lt(w->n_log, 3 * MAX_EV);
    w->log[w->n_log++] = id;
    w->log[w->n_log++] = t;
    w->log[w->n_log++] = kind;
}

/* The fast path's watch (core/fast.h) sees every event scheduled at least
 * WATCH_LEAD ahead, when it is scheduled: logged as kind 4. */
enum { WATCH_LEAD = 25 };

static void on_watch(void *ctx, scim_time_t when, int prio)
{
    world *w = ctx;
    record(w, when, (uint64_t)prio, 4);
}

/* A FIFO pushed with scim_kernel_fifo_at_unwatched (the watcher's own
 * completions): its events are never shown. */
enum { EXEMPT_FIFO = NF - 1 };

static void model_add(world *w, scim_time_t t, int prio, uint64_t id, int dm, bool exempt)
{
    ck_assert_uint_lt(w->n_pend, MAX_EV);
    if (t < w->now)
        t = w->now;
    if (t - w->now >= WATCH_LEAD && exempt)
        w->exempt_far++;
    else if (t - w->now >= WATCH_LEAD)
        on_watch(w, t, prio);
    w->pend[w->n_pend++] = (mev){t, prio, w->seq++, id, dm};
}

static bool mev_lt(const mev *a, const mev *b)
{
    if (a->t != b->t)
        return a->t < b->t;
    if (a->prio != b->prio)
        return a->prio < b->prio;
    return a->seq < b->seq;
}

static size_t model_min(const world *w)
{
    size_t m = 0;
    for (size_t i = 1; i < w->n_pend; i++)
        if (mev_lt(&w->pend[i], &w->pend[m]))
            m = i;
    return m;
}

static scim_time_t now_of(world *w) { return w->model ? w->now : scim_kernel_now(w->k); }

/* Schedule one new event, of a kind drawn at random. */
static void schedule_one(world *w)
{
    uint64_t id = w->next_id++;
    w->live++;
    uint64_t r = world_rnd(w);
    int prio = r % 16 == 0 ? SCIM_PRIO_FIRST : SCIM_PRIO_DEFAULT;
    scim_time_t now = now_of(w);
    unsigned kind = (unsigned)(r >> 8) % 10;
    if (kind < 5) { /* a FIFO, mostly in order */
        unsigned f = (unsigned)(r >> 16) % NF;
        scim_time_t t = w->tail[f] > now ? w->tail[f] : now;
        if ((r >> 24) % 8 == 0 && t >= 4)
            t -= (r >> 28) % 4; /* out of order (maybe into the past: clamped) */
        else
            t += (r >> 28) % 5;
        if (t > w->tail[f])
            w->tail[f] = t;
        if (w->model)
            model_add(w, t, prio, id, -1, f == EXEMPT_FIFO);
        else
            (f == EXEMPT_FIFO ? scim_kernel_fifo_at_unwatched : scim_kernel_fifo_at)(w->k, w->fifo[f], t, prio, id);
    } else if (kind < 8) { /* direct, sometimes at now */
        scim_time_t t = now + (r >> 16) % 40;
        if (w->model)
            model_add(w, t, prio, id, -1, false);
        else
            scim_kernel_schedule_at(w->k, t, prio, on_event, w, id);
    } else if (kind < 9) { /* a timer */
        scim_time_t d = (r >> 16) % 30;
        if (w->model)
            model_add(w, now + d, prio, id, -1, false);
        else
            scim_kernel_schedule_timer(w->k, d, prio, on_event, w, id);
    } else { /* dormant, if a slot is free */
        int s = (int)((r >> 16) % MAX_DM);
        if (w->dm_live[s]) {
            w->next_id--;
            w->live--;
            return;
        }
        scim_time_t t = now + (r >> 24) % 60;
        w->dm_live[s] = true;
        w->dm_id[s] = id;
        if (w->model) {
            model_add(w, t, prio, id, s, false);
        } else {
            w->dm_handle[s] = scim_kernel_schedule_dormant(w->k, t, prio, on_event, on_passed, w, id);
            ck_assert_int_ge(w->dm_handle[s], 0);
        }
    }
}

/* Wake a dormant event at random, if one is live. */
static void wake_one(world *w)
{
    int s = (int)(world_rnd(w) % MAX_DM);
    if (!w->dm_live[s])
        return;
    w->dm_live[s] = false;
    if (w->model) {
        for (size_t i = 0; i < w->n_pend; i++)
            if (w->pend[i].dm == s && w->pend[i].id == w->dm_id[s])
                w->pend[i].dm = -1; /* an ordinary event from now on, same key */
    } else {
        scim_kernel_wake(w->k, w->dm_handle[s]);
    }
}

/* What every event does: log itself, then act by a draw of its own. */
static void act(world *w, uint64_t id)
{
    record(w, id, now_of(w), 1);
    w->live--;
    w->rng ^= id * 0xD6E8FEB86659FD93ull;
    uint64_t r = world_rnd(w);
    /* bursts: now and then many at once (the queue grows), else 0-2 */
    unsigned n = (r % 64 == 0) ? 50 + (unsigned)(r >> 8) % 250 : (unsigned)(r >> 8) % 3 + (w->live < 4) * 2;
    for (unsigned i = 0; i < n && w->budget; i++, w->budget--)
        schedule_one(w);
    if ((r >> 20) % 4 == 0)
        wake_one(w);
    if ((r >> 24) % 3 == 0) {
        /* the next time as seen from inside a handler (after the pushes) */
        scim_time_t t;
        uint64_t pending;
        if (w->model) {
            t = w->n_pend ? w->pend[model_min(w)].t : SCIM_TIME_MAX;
            pending = w->n_pend;
        } else {
            t = scim_kernel_next_time(w->k);
            pending = scim_kernel_events_pending(w->k);
        }
        record(w, t, pending, 3 + (w->n_next_time++ << 2));
    }
}

static void on_event(void *ctx, uint64_t arg) { act(ctx, arg); }

static void on_passed(void *ctx, uint64_t arg)
{
    world *w = ctx;
    for (int s = 0; s < MAX_DM; s++)
        if (w->dm_live[s] && w->dm_id[s] == arg)
            w->dm_live[s] = false;
    w->live--;
    record(w, arg, now_of(w), 2);
}

static void model_run(world *w)
{
    while (w->n_pend) {
        size_t m = model_min(w);
        mev e = w->pend[m];
        w->pend[m] = w->pend[--w->n_pend];
        w->now = e.t;
        if (e.dm >= 0)
            on_passed(w, e.id);
        else
            act(w, e.id);
    }
}

static world *world_new(scim_kernel *k, uint64_t seed, uint64_t budget)
{
    world *w = calloc(1, sizeof *w);
    w->k = k;
    w->model = k == NULL;
    w->rng = seed;
    w->budget = budget;
    w->log = malloc(3 * MAX_EV * sizeof *w->log);
    w->pend = malloc(MAX_EV * sizeof *w->pend);
    for (int f = 0; f < NF && k; f++)
        ck_assert_int_ge(w->fifo[f] = scim_kernel_fifo_create(k, on_event, w), 0);
    if (k)
        scim_kernel_set_watch(k, WATCH_LEAD, on_watch, w);
    return w;
}

static void world_free(world *w)
{
    free(w->log);
    free(w->pend);
    free(w);
}

/* One run of the kernel and one of the model from the same seed: the same
 * log, step by step. */
static void compare(scim_backend b, uint64_t seed, uint64_t budget, size_t *steps, uint64_t *passed)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(b, &err);
    ck_assert_msg(k, "%s", err.msg);
    world *w[2] = {world_new(k, seed, budget), world_new(NULL, seed, budget)};
    for (int i = 0; i < 2; i++) /* a few to start with, from outside any handler */
        for (unsigned j = 0; j < 16; j++, w[i]->budget--)
            schedule_one(w[i]);
    ck_assert_uint_eq(scim_kernel_next_time(k), w[1]->pend[model_min(w[1])].t);
    ck_assert_int_eq(scim_kernel_run_until(k, (scim_time_t)1 << 40, &err), 0);
    model_run(w[1]);
    ck_assert_uint_eq(w[0]->budget, 0);
    ck_assert_uint_eq(w[0]->n_log, w[1]->n_log);
    for (size_t i = 0; i < w[0]->n_log; i += 3) {
        ck_assert_msg(w[0]->log[i] == w[1]->log[i] && w[0]->log[i + 1] == w[1]->log[i + 1] &&
                          w[0]->log[i + 2] == w[1]->log[i + 2],
                      "step %zu: kernel (%llu, %llu, %llu), model (%llu, %llu, %llu)", i / 3,
                      (unsigned long long)w[0]->log[i], (unsigned long long)w[0]->log[i + 1],
                      (unsigned long long)w[0]->log[i + 2], (unsigned long long)w[1]->log[i],
                      (unsigned long long)w[1]->log[i + 1], (unsigned long long)w[1]->log[i + 2]);
    }
    ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
    ck_assert_uint_eq(scim_kernel_next_time(k), SCIM_TIME_MAX);
    *steps = w[0]->n_log / 3;
    *passed = 0;
    uint64_t watched = 0;
    for (size_t i = 0; i < w[0]->n_log; i += 3) {
        *passed += w[0]->log[i + 2] == 2;
        watched += w[0]->log[i + 2] == 4;
    }
    ck_assert_uint_gt(watched, 100);
    ck_assert_uint_gt(w[1]->exempt_far, 10); /* the exemption was exercised */
    world_free(w[0]);
    world_free(w[1]);
    scim_kernel_destroy(k);
}

START_TEST(queue_matches_brute_force)
{
    static const uint64_t seeds[] = {1, 77, 4242};
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++) {
        size_t steps;
        uint64_t passed;
        compare(backends[_i], seeds[s], 5000, &steps, &passed);
        /* it did what it is meant to: many events, some dormant ones passed */
        ck_assert_uint_gt(steps, 5000);
        ck_assert_uint_gt(passed, 20);
    }
}
END_TEST

/* The model itself: a handler sees its own event gone and its pushes
 * pending (a model that ran nothing would compare equal to anything). */
START_TEST(model_sanity)
{
    world *w = world_new(NULL, 5, 100);
    schedule_one(w);
    ck_assert_uint_eq(w->n_pend, 1);
    model_run(w);
    ck_assert_uint_eq(w->n_pend, 0);
    ck_assert_uint_ge(w->n_log, 3);
    world_free(w);
}
END_TEST

/* The host poll (scim_kernel_set_poll): after every 2^n-th event executed,
 * as the count says; a hook may change its own period, and a period of
 * 2^63 or more never comes. */
typedef struct poll_rec {
    uint64_t at[64];
    int n;
    unsigned switch_to; /* the period (log2) the hook sets at its 3rd call; 0: none */
} poll_rec;

static void on_poll(void *ctx, scim_kernel *k)
{
    poll_rec *p = ctx;
    ck_assert_int_lt(p->n, 64);
    p->at[p->n++] = scim_kernel_events_executed(k);
    if (p->n == 3 && p->switch_to)
        scim_kernel_set_poll(k, on_poll, p, p->switch_to);
}

static void tick(void *ctx, uint64_t arg) { (void)ctx, (void)arg; }

START_TEST(polls_at_the_counts)
{
    static const struct { unsigned log2, switch_to; } c[] = {{3, 0}, {4, 2}, {0, 5}, {63, 0}, {70, 0}};
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        scim_err err = {0};
        scim_kernel *k = scim_kernel_create(backends[_i], &err);
        ck_assert_msg(k, "%s", err.msg);
        poll_rec p = {.switch_to = c[i].switch_to};
        for (int e = 0; e < 40; e++) /* some run before the hook is set */
            scim_kernel_schedule_at(k, (scim_time_t)e, SCIM_PRIO_DEFAULT, tick, NULL, 0);
        ck_assert_int_eq(scim_kernel_run_until(k, 19, &err), 0); /* 20 executed */
        scim_kernel_set_poll(k, on_poll, &p, c[i].log2);
        for (int e = 40; e < 100; e++)
            scim_kernel_schedule_at(k, (scim_time_t)e, SCIM_PRIO_DEFAULT, tick, NULL, 0);
        ck_assert_int_eq(scim_kernel_run(k, &err), 0);
        ck_assert_uint_eq(scim_kernel_events_executed(k), 100);
        /* brute force: after each event from the 21st, a poll where the
         * count is a multiple of the period then in force */
        uint64_t want[100];
        int n = 0;
        unsigned log2 = c[i].log2;
        for (uint64_t e = 21; e <= 100; e++) {
            if (log2 < 63 && e % (1ull << log2) == 0) {
                want[n++] = e;
                if (n == 3 && c[i].switch_to)
                    log2 = c[i].switch_to;
            }
        }
        ck_assert_int_eq(p.n, n);
        for (int j = 0; j < n; j++)
            ck_assert_uint_eq(p.at[j], want[j]);
        scim_kernel_destroy(k);
    }
}
END_TEST

/* The queue's edges: the dispatcher finds the earliest key as key[ROOT]
 * with no test of the heap's size (HKEY_NONE marks it empty) and stops
 * with one compare against the bound's last key. An empty queue (fresh,
 * drained by the dispatcher, by a handler that pushes nothing, or by a
 * dormant event passed alone) has no next time and runs nothing; events at
 * exactly the bound run, at any priority, and the next picosecond does
 * not; an event at SCIM_TIME_MAX runs under run(). */
typedef struct edge_log {
    scim_time_t at[16];
    uint64_t arg[16];
    int n;
    scim_kernel *k;
} edge_log;

static void edge_ev(void *ctx, uint64_t arg)
{
    edge_log *l = ctx;
    ck_assert_int_lt(l->n, 16);
    l->at[l->n] = scim_kernel_now(l->k);
    l->arg[l->n++] = arg;
    /* the last event in the queue sees it empty (the dispatcher's hole settled) */
    if (arg == 7)
        ck_assert_uint_eq(scim_kernel_next_time(l->k), SCIM_TIME_MAX);
}

static void edge_passed(void *ctx, uint64_t arg) { edge_ev(ctx, 100 + arg); }

START_TEST(empty_and_bound_edges)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    edge_log l = {.k = k};
    ck_assert_uint_eq(scim_kernel_next_time(k), SCIM_TIME_MAX);
    ck_assert_int_eq(scim_kernel_run_until(k, 5, &err), 0);
    ck_assert_uint_eq(scim_kernel_events_executed(k), 0);
    /* at the bound: the lowest and the highest priority */
    scim_kernel_schedule_at(k, 10, 255, edge_ev, &l, 2);
    scim_kernel_schedule_at(k, 10, 0, edge_ev, &l, 1);
    scim_kernel_schedule_at(k, 11, 0, edge_ev, &l, 3);
    ck_assert_int_eq(scim_kernel_run_until(k, 9, &err), 0);
    ck_assert_int_eq(l.n, 0);
    ck_assert_uint_eq(scim_kernel_next_time(k), 10);
    ck_assert_int_eq(scim_kernel_run_until(k, 10, &err), 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert_uint_eq(l.arg[0], 1);
    ck_assert_uint_eq(l.arg[1], 2);
    ck_assert_uint_eq(scim_kernel_next_time(k), 11);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_int_eq(l.n, 3);
    ck_assert_uint_eq(l.at[2], 11);
    ck_assert_uint_eq(scim_kernel_next_time(k), SCIM_TIME_MAX); /* drained by the dispatcher */
    /* a dormant event alone, then an ordinary one after it */
    ck_assert_int_ge(scim_kernel_schedule_dormant(k, 20, 0, edge_ev, edge_passed, &l, 4), 0);
    ck_assert_uint_eq(scim_kernel_next_time(k), 20);
    ck_assert_int_eq(scim_kernel_run_until(k, 19, &err), 0);
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(scim_kernel_run_until(k, 20, &err), 0);
    ck_assert_int_eq(l.n, 4);
    ck_assert_uint_eq(l.arg[3], 104);
    ck_assert_uint_eq(l.at[3], 20);
    ck_assert_uint_eq(scim_kernel_next_time(k), SCIM_TIME_MAX);
    /* the last event's handler sees the queue empty; then it fills again */
    scim_kernel_schedule_at(k, 30, 3, edge_ev, &l, 7);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_int_eq(l.n, 5);
    ck_assert_uint_eq(scim_kernel_next_time(k), SCIM_TIME_MAX);
    int f = scim_kernel_fifo_create(k, edge_ev, &l);
    ck_assert_int_ge(f, 0);
    scim_kernel_fifo_at(k, f, 40, 0, 8);
    ck_assert_int_ge(scim_kernel_schedule_dormant(k, 40, 1, edge_ev, edge_passed, &l, 9), 0);
    ck_assert_uint_eq(scim_kernel_next_time(k), 40);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_int_eq(l.n, 7);
    ck_assert_uint_eq(l.arg[5], 8);
    ck_assert_uint_eq(l.arg[6], 109);
    ck_assert_uint_eq(scim_kernel_now(k), 40);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
    if (backends[_i] == SCIM_BACKEND_NATIVE) {
        /* the last picosecond, at the highest priority, still runs */
        scim_kernel_schedule_at(k, SCIM_TIME_MAX, 255, edge_ev, &l, 10);
        ck_assert_uint_eq(scim_kernel_next_time(k), SCIM_TIME_MAX);
        ck_assert_int_eq(scim_kernel_run(k, &err), 0);
        ck_assert_int_eq(l.n, 8);
        ck_assert_uint_eq(l.at[7], SCIM_TIME_MAX);
        ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
    }
    scim_kernel_destroy(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kqueue");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, queue_matches_brute_force, 0, NB);
    tcase_add_test(tc, model_sanity);
    tcase_add_loop_test(tc, polls_at_the_counts, 0, NB);
    tcase_add_loop_test(tc, empty_and_bound_edges, 0, NB);
    suite_add_tcase(s, tc);
    return run_suite(s);
}

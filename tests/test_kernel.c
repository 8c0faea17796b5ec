/* Event kernel: order against a sort-based reference, on both backends. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/fast.h"
#include "core/kfifo.h"
#include "scimitar/kernel.h"

#define NB 2
static const scim_backend backends[NB] = {SCIM_BACKEND_NATIVE, SCIM_BACKEND_SYSTEMC};

typedef struct rec {
    scim_time_t time;
    int prio;
    uint64_t seq;
    uint64_t id;
} rec;

typedef struct log_ctx {
    scim_kernel *k;
    rec *seen;
    size_t n;
    scim_time_t *at;
} log_ctx;

static void on_event(void *ctx, uint64_t arg)
{
    log_ctx *l = ctx;
    l->at[l->n] = scim_kernel_now(l->k);
    l->seen[l->n++].id = arg;
}

static int rec_cmp(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    if (x->prio != y->prio) return x->prio < y->prio ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

START_TEST(order_matches_sorted_reference)
{
    enum { N = 20000 };
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    rec *ref = malloc(N * sizeof *ref);
    log_ctx l = {k, calloc(N, sizeof(rec)), 0, calloc(N, sizeof(scim_time_t))};
    rng_state = 42;
    for (uint64_t i = 0; i < N; i++) {
        /* few distinct times and priorities, so ties are common */
        ref[i] = (rec){rng() % 500, (int)(rng() % 3) * 10, i, i};
        scim_kernel_schedule_at(k, ref[i].time, ref[i].prio, on_event, &l, i);
    }
    qsort(ref, N, sizeof *ref, rec_cmp);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_uint_eq(l.n, N);
    for (size_t i = 0; i < N; i++) {
        ck_assert_uint_eq(l.seen[i].id, ref[i].id);
        ck_assert_uint_eq(l.at[i], ref[i].time);
    }
    ck_assert_uint_eq(scim_kernel_events_executed(k), N);
    ck_assert_uint_eq(scim_kernel_now(k), ref[N - 1].time);
    free(ref);
    free(l.seen);
    free(l.at);
    scim_kernel_destroy(k);
}
END_TEST

/* Event FIFOs (core/kfifo.h): events scheduled through FIFOs — mostly in
 * order, some earlier than their FIFO's last (they must go to the heap),
 * some at another priority — interleaved with direct events run in exactly
 * the (time, priority, sequence) order of the sorted reference. */
START_TEST(fifo_order_matches_sorted_reference)
{
    enum { N = 20000, NF = 5 };
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    rec *ref = malloc(N * sizeof *ref);
    log_ctx l = {k, calloc(N, sizeof(rec)), 0, calloc(N, sizeof(scim_time_t))};
    int fifo[NF];
    scim_time_t tail[NF] = {0};
    for (int f = 0; f < NF; f++)
        ck_assert_int_ge(fifo[f] = scim_kernel_fifo_create(k, on_event, &l), 0);
    rng_state = 7;
    size_t back = 0;
    for (uint64_t i = 0; i < N; i++) {
        unsigned which = (unsigned)(rng() % (NF + 1));
        int prio = rng() % 16 == 0 ? SCIM_PRIO_FIRST : SCIM_PRIO_DEFAULT;
        scim_time_t t;
        if (which < NF) {
            if (rng() % 8 == 0 && tail[which] >= 5) {
                t = tail[which] - rng() % 5; /* out of order (or equal) */
                back++;
            } else {
                t = tail[which] + rng() % 3;
            }
            if (t > tail[which])
                tail[which] = t;
            scim_kernel_fifo_at(k, fifo[which], t, prio, i);
        } else {
            t = rng() % 3000;
            scim_kernel_schedule_at(k, t, prio, on_event, &l, i);
        }
        ref[i] = (rec){t, prio, i, i};
    }
    ck_assert_uint_gt(back, N / 100);
    ck_assert_uint_eq(scim_kernel_events_pending(k), N);
    qsort(ref, N, sizeof *ref, rec_cmp);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_uint_eq(l.n, N);
    for (size_t i = 0; i < N; i++) {
        ck_assert_uint_eq(l.seen[i].id, ref[i].id);
        ck_assert_uint_eq(l.at[i], ref[i].time);
    }
    ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
    free(ref);
    free(l.seen);
    free(l.at);
    scim_kernel_destroy(k);
}
END_TEST

/* Events that schedule further events while the queue runs (rings wrap
 * around and grow): through FIFOs or directly, the same log. */
typedef struct spawner {
    scim_kernel *k;
    int fifo[4];
    bool use_fifo;
    uint64_t budget;
    uint64_t *log;
    size_t n;
} spawner;

static void spawn(void *ctx, uint64_t arg);

static void spawn_one(spawner *s, scim_time_t delay, unsigned f, uint64_t id)
{
    if (s->use_fifo)
        scim_kernel_fifo_at(s->k, s->fifo[f], scim_kernel_now(s->k) + delay, SCIM_PRIO_DEFAULT, id);
    else
        scim_kernel_schedule_at(s->k, scim_kernel_now(s->k) + delay, SCIM_PRIO_DEFAULT, spawn, s, id);
}

static void spawn(void *ctx, uint64_t arg)
{
    spawner *s = ctx;
    s->log[s->n++] = arg * 1000003u + scim_kernel_now(s->k);
    uint64_t x = arg * 0x9E3779B97F4A7C15ull;
    for (unsigned c = 0; c < 2 && s->budget; c++, s->budget--) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        /* a fixed delay per FIFO keeps each FIFO in order; some zero */
        unsigned f = (unsigned)(x >> 60) % 4;
        spawn_one(s, f * 7, f, s->budget);
    }
}

START_TEST(fifo_same_log_as_direct)
{
    enum { EVENTS = 30000 };
    uint64_t *logs[2];
    for (int mode = 0; mode < 2; mode++) {
        scim_err err = {0};
        scim_kernel *k = scim_kernel_create(backends[_i], &err);
        ck_assert_msg(k, "%s", err.msg);
        spawner s = {k, {0}, mode == 1, EVENTS, calloc(EVENTS + 64, sizeof(uint64_t)), 0};
        for (int f = 0; f < 4; f++)
            s.fifo[f] = scim_kernel_fifo_create(k, spawn, &s);
        for (uint64_t i = 0; i < 40; i++)
            spawn_one(&s, i % 4 * 7, (unsigned)(i % 4), EVENTS + i);
        ck_assert_int_eq(scim_kernel_run(k, &err), 0);
        ck_assert_uint_eq(s.n, EVENTS + 40);
        logs[mode] = s.log;
        scim_kernel_destroy(k);
    }
    for (size_t i = 0; i < EVENTS + 40; i++)
        ck_assert_uint_eq(logs[0][i], logs[1][i]);
    free(logs[0]);
    free(logs[1]);
}
END_TEST

/* Dormant events (core/kfifo.h): a run where some events are dormant —
 * woken at random before they are due, or left to pass — logs the same
 * events at the same times, counts the same logical events and ends at the
 * same time as the run where they are ordinary events whose handler does
 * nothing unless woken. Both backends. */
enum { DM_MAX = 4000 };
typedef struct dm_run {
    scim_kernel *k;
    bool dormant_mode;
    uint64_t budget, x;
    uint64_t *log;
    size_t n;
    int handle[DM_MAX];
    char state[DM_MAX]; /* p: pending, w: woken, d: done */
    uint32_t n_dm;
} dm_run;

static void dm_spawn(void *ctx, uint64_t arg);

static void dm_log(dm_run *r, uint64_t what)
{
    r->log[r->n++] = what * 1000003u + scim_kernel_now(r->k) * 7 + scim_kernel_events_pending(r->k);
}

static void dm_fn(void *ctx, uint64_t arg) /* a dormant event's handler */
{
    dm_run *r = ctx;
    bool ran = r->state[arg] == 'w';
    r->state[arg] = 'd';
    dm_log(r, ran ? 2 * arg + 1 : 2 * arg);
    if (ran)
        dm_spawn(r, arg);
}

static void dm_passed(void *ctx, uint64_t arg)
{
    dm_run *r = ctx;
    ck_assert_int_eq(r->state[arg], 'p');
    r->state[arg] = 'd';
    dm_log(r, 2 * arg);
}

static uint64_t dm_next(dm_run *r)
{
    r->x ^= r->x << 13, r->x ^= r->x >> 7, r->x ^= r->x << 17;
    return r->x;
}

static void dm_spawn(void *ctx, uint64_t arg)
{
    dm_run *r = ctx;
    (void)arg;
    dm_log(r, 3 * DM_MAX);
    for (int c = 0; c < 2 && r->budget; c++, r->budget--) {
        uint64_t x = dm_next(r);
        scim_time_t when = scim_kernel_now(r->k) + x % 40;
        if (x >> 60 < 5 && r->n_dm < DM_MAX) {
            uint32_t j = r->n_dm++;
            r->state[j] = 'p';
            if (r->dormant_mode)
                ck_assert_int_ge(r->handle[j] = scim_kernel_schedule_dormant(r->k, when, SCIM_PRIO_DEFAULT, dm_fn,
                                                                             dm_passed, r, j),
                                 0);
            else
                scim_kernel_schedule_at(r->k, when, SCIM_PRIO_DEFAULT, dm_fn, r, j);
        } else {
            scim_kernel_schedule_at(r->k, when, (int)(x >> 62) * 10, dm_spawn, r, 0);
        }
    }
    /* wake one of the dormant events still pending, now and then */
    uint64_t y = dm_next(r);
    if (r->n_dm && y % 3 == 0) {
        uint32_t j = (uint32_t)(y >> 32) % r->n_dm;
        if (r->state[j] == 'p') {
            r->state[j] = 'w';
            if (r->dormant_mode)
                scim_kernel_wake(r->k, r->handle[j]);
        }
    }
}

START_TEST(dormant_same_as_ordinary)
{
    enum { EVENTS = 20000 };
    uint64_t *logs[2], logical[2], executed[2];
    scim_time_t end[2];
    size_t n[2];
    for (int mode = 0; mode < 2; mode++) {
        scim_err err = {0};
        scim_kernel *k = scim_kernel_create(backends[_i], &err);
        ck_assert_msg(k, "%s", err.msg);
        dm_run *r = calloc(1, sizeof *r);
        *r = (dm_run){k, mode == 1, EVENTS, 88172645463325252ull, calloc(3 * EVENTS, sizeof(uint64_t)), 0};
        for (int i = 0; i < 8; i++)
            scim_kernel_schedule_at(k, (scim_time_t)i * 3, SCIM_PRIO_DEFAULT, dm_spawn, r, 0);
        ck_assert_int_eq(scim_kernel_run(k, &err), 0);
        ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
        ck_assert_uint_eq(scim_kernel_next_time(k), SCIM_TIME_MAX);
        for (uint32_t j = 0; j < r->n_dm; j++)
            ck_assert_int_eq(r->state[j], 'd');
        ck_assert_uint_gt(r->n_dm, 100);
        logs[mode] = r->log;
        n[mode] = r->n;
        logical[mode] = scim_kernel_events_logical(k);
        executed[mode] = scim_kernel_events_executed(k);
        end[mode] = scim_kernel_now(k);
        free(r);
        scim_kernel_destroy(k);
    }
    ck_assert_uint_eq(n[0], n[1]);
    for (size_t i = 0; i < n[0]; i++)
        ck_assert_uint_eq(logs[0][i], logs[1][i]);
    ck_assert_uint_eq(logical[0], logical[1]);
    ck_assert_uint_eq(logical[0], executed[0]);
    ck_assert_uint_lt(executed[1], executed[0]); /* the passed ones did not run */
    ck_assert_uint_eq(end[0], end[1]);
    free(logs[0]);
    free(logs[1]);
}
END_TEST

/* A dormant event due last: the run ends at its time, as with the event
 * it stands for; run_until stops before it and leaves it pending. */
static void nop_passed(void *ctx, uint64_t arg)
{
    (void)arg;
    ++*(int *)ctx;
}

START_TEST(dormant_last_and_bounded)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    int passed = 0;
    ck_assert_int_ge(scim_kernel_schedule_dormant(k, 500, SCIM_PRIO_DEFAULT, dm_fn, nop_passed, &passed, 0), 0);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 1);
    ck_assert_uint_eq(scim_kernel_next_time(k), 500);
    ck_assert_int_eq(scim_kernel_run_until(k, 499, &err), 0);
    ck_assert_int_eq(passed, 0);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 1);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_int_eq(passed, 1);
    ck_assert_uint_eq(scim_kernel_now(k), 500);
    ck_assert_uint_eq(scim_kernel_events_logical(k), 1);
    ck_assert_uint_eq(scim_kernel_events_executed(k), 0);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
    scim_kernel_destroy(k);
}
END_TEST

/* A handler that reschedules itself: chains of zero and non-zero delays. */
typedef struct chain {
    scim_kernel *k;
    int remaining;
    scim_time_t delay;
    scim_time_t *trace;
    size_t *n;
    uint64_t tag;
} chain;

static void chain_step(void *ctx, uint64_t arg)
{
    chain *c = ctx;
    c->trace[(*c->n)++] = scim_kernel_now(c->k) * 10 + c->tag;
    if (--c->remaining > 0)
        scim_kernel_schedule(c->k, c->delay, SCIM_PRIO_DEFAULT, chain_step, c, arg);
}

START_TEST(self_rescheduling_chains)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    scim_time_t trace[64];
    size_t n = 0;
    chain a = {k, 4, 0, trace, &n, 1};   /* zero-delay chain at t=5 */
    chain b = {k, 3, 7, trace, &n, 2};   /* 5, 12, 19 */
    scim_kernel_schedule_at(k, 5, SCIM_PRIO_DEFAULT, chain_step, &a, 0);
    scim_kernel_schedule_at(k, 5, SCIM_PRIO_DEFAULT, chain_step, &b, 0);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    /* t=5: a (seq0), b (seq1), then a's zero-delay successors in order */
    const scim_time_t expect[] = {51, 52, 51, 51, 51, 122, 192};
    ck_assert_uint_eq(n, 7);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(trace[i], expect[i]);
    scim_kernel_destroy(k);
}
END_TEST

START_TEST(run_until_then_resume)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    log_ctx l = {k, calloc(8, sizeof(rec)), 0, calloc(8, sizeof(scim_time_t))};
    scim_kernel_schedule_at(k, 100, SCIM_PRIO_DEFAULT, on_event, &l, 1);
    scim_kernel_schedule_at(k, 200, SCIM_PRIO_DEFAULT, on_event, &l, 2);
    scim_kernel_schedule_at(k, 300, SCIM_PRIO_DEFAULT, on_event, &l, 3);
    ck_assert_int_eq(scim_kernel_run_until(k, 200, &err), 0);
    ck_assert_uint_eq(l.n, 2); /* the event at exactly t runs */
    ck_assert_uint_eq(scim_kernel_now(k), 200);
    ck_assert_int_eq(scim_kernel_run_until(k, 250, &err), 0);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_uint_eq(scim_kernel_now(k), 250);
    ck_assert_int_lt(scim_kernel_run_until(k, 10, &err), 0); /* the past */
    scim_kernel_schedule(k, 10, SCIM_PRIO_DEFAULT, on_event, &l, 4); /* at 260 */
    ck_assert_int_eq(scim_kernel_run(k, NULL), 0);
    ck_assert_uint_eq(l.n, 4);
    ck_assert_uint_eq(l.seen[2].id, 4);
    ck_assert_uint_eq(l.at[2], 260);
    ck_assert_uint_eq(l.at[3], 300);
    free(l.seen);
    free(l.at);
    scim_kernel_destroy(k);
}
END_TEST

/* Timers (timeouts) keep a run going only while the work check says work is
 * left; answered in time, they cost no simulated time. */
static bool busy;
static bool work_check(void *ctx)
{
    (void)ctx;
    return busy;
}
static void unstick(void *ctx, uint64_t arg)
{
    log_ctx *l = ctx;
    on_event(l, arg);
    busy = false;
    scim_kernel_schedule(l->k, 10, SCIM_PRIO_DEFAULT, on_event, l, arg + 1);
}

START_TEST(timers_end_with_the_work)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    log_ctx l = {k, calloc(16, sizeof(rec)), 0, calloc(16, sizeof(scim_time_t))};
    busy = false;
    scim_kernel_schedule_at(k, 100, SCIM_PRIO_DEFAULT, on_event, &l, 1);
    scim_kernel_schedule_timer(k, 1000, SCIM_PRIO_DEFAULT, on_event, &l, 2); /* at 1000 */
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    /* no work check: the lone timer ends nothing and fires not */
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(scim_kernel_now(k), 100);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 1);
    ck_assert_uint_eq(scim_kernel_timers_pending(k), 1);
    ck_assert_uint_eq(scim_kernel_events_executed(k), 1);
    /* work left: the timer fires, and its handler's event after it */
    scim_kernel_set_work_check(k, work_check, NULL);
    busy = true;
    scim_kernel_schedule_at(k, 150, SCIM_PRIO_DEFAULT, on_event, &l, 3);
    scim_kernel_schedule_timer(k, 1400, SCIM_PRIO_DEFAULT, unstick, &l, 4); /* at 1500 */
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_uint_eq(l.n, 5);
    ck_assert_uint_eq(l.seen[1].id, 3);
    ck_assert_uint_eq(l.at[1], 150);
    ck_assert_uint_eq(l.seen[2].id, 2);
    ck_assert_uint_eq(l.at[2], 1000);
    ck_assert_uint_eq(l.seen[3].id, 4);
    ck_assert_uint_eq(l.at[3], 1500);
    ck_assert_uint_eq(l.seen[4].id, 5); /* what the timeout unstuck */
    ck_assert_uint_eq(l.at[4], 1510);
    ck_assert_uint_eq(scim_kernel_timers_pending(k), 0);
    /* a timer before a real event fires in its place, work or not */
    scim_kernel_schedule_timer(k, 50, SCIM_PRIO_DEFAULT, on_event, &l, 6);  /* 1560 */
    scim_kernel_schedule(k, 100, SCIM_PRIO_DEFAULT, on_event, &l, 7);       /* 1610 */
    scim_kernel_schedule_timer(k, 500, SCIM_PRIO_DEFAULT, on_event, &l, 8); /* 2010 */
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_uint_eq(l.n, 7);
    ck_assert_uint_eq(l.seen[5].id, 6);
    ck_assert_uint_eq(l.at[5], 1560);
    ck_assert_uint_eq(l.seen[6].id, 7);
    ck_assert_uint_eq(scim_kernel_now(k), 1610);
    ck_assert_uint_eq(scim_kernel_timers_pending(k), 1);
    /* run_until passes it: time passes anyway, so the timer fires */
    ck_assert_int_eq(scim_kernel_run_until(k, 3000, &err), 0);
    ck_assert_uint_eq(l.n, 8);
    ck_assert_uint_eq(l.at[7], 2010);
    ck_assert_uint_eq(scim_kernel_now(k), 3000);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 0);
    free(l.seen);
    free(l.at);
    scim_kernel_destroy(k);
}
END_TEST

static void stopper(void *ctx, uint64_t arg)
{
    scim_kernel_stop(ctx);
}
static void failer(void *ctx, uint64_t arg)
{
    scim_kernel_fail(ctx, SCIM_EINVARIANT, "broken at %llu", (unsigned long long)arg);
}

START_TEST(stop_and_fail)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    log_ctx l = {k, calloc(8, sizeof(rec)), 0, calloc(8, sizeof(scim_time_t))};
    scim_kernel_schedule_at(k, 10, SCIM_PRIO_DEFAULT, on_event, &l, 1);
    scim_kernel_schedule_at(k, 20, SCIM_PRIO_DEFAULT, stopper, k, 0);
    scim_kernel_schedule_at(k, 20, SCIM_PRIO_LAST, on_event, &l, 2);
    scim_kernel_schedule_at(k, 30, SCIM_PRIO_DEFAULT, failer, k, 30);
    scim_kernel_schedule_at(k, 40, SCIM_PRIO_DEFAULT, on_event, &l, 3);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(scim_kernel_now(k), 20);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 3);
    ck_assert_int_eq(scim_kernel_run(k, &err), SCIM_EINVARIANT);
    ck_assert_str_eq(err.msg, "broken at 30");
    ck_assert_uint_eq(l.n, 2);
    ck_assert(scim_kernel_failed(k));
    free(l.seen);
    free(l.at);
    scim_kernel_destroy(k);
}
END_TEST

/* A stop or a failure inside a bounded run ends it where it happened:
 * the clock does not jump to the limit; a limit already passed moves
 * nothing (native). */
START_TEST(stop_and_fail_in_a_bounded_run)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    log_ctx l = {k, calloc(8, sizeof(rec)), 0, calloc(8, sizeof(scim_time_t))};
    scim_kernel_schedule_at(k, 10, SCIM_PRIO_DEFAULT, on_event, &l, 1);
    scim_kernel_schedule_at(k, 20, SCIM_PRIO_DEFAULT, stopper, k, 0);
    scim_kernel_schedule_at(k, 30, SCIM_PRIO_DEFAULT, failer, k, 30);
    scim_kernel_schedule_at(k, 40, SCIM_PRIO_DEFAULT, on_event, &l, 3);
    ck_assert_int_eq(scim_kernel_run_until(k, 100, &err), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 2);
    /* (SystemC's own clock runs on to the limit: only native time is checked) */
    bool native = backends[_i] == SCIM_BACKEND_NATIVE;
    if (native) {
        ck_assert_uint_eq(scim_kernel_now(k), 20);
        ck_assert_int_eq(scim_kernel_run_until(k, 15, &err), SCIM_EINVAL);
        ck_assert_str_eq(err.msg, "run_until(15 ps) is before now (20 ps)");
        scim_err_clear(&err);
        ck_assert_int_eq(scim_kernel_run_until(k, 20, &err), 0); /* now already: nothing moves */
        ck_assert_uint_eq(scim_kernel_now(k), 20);
        ck_assert_uint_eq(scim_kernel_events_pending(k), 2);
    }
    ck_assert_int_eq(scim_kernel_run_until(k, 200, &err), SCIM_EINVARIANT);
    ck_assert_str_eq(err.msg, "broken at 30");
    if (native)
        ck_assert_uint_eq(scim_kernel_now(k), 30);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 1);
    free(l.seen);
    free(l.at);
    scim_kernel_destroy(k);
}
END_TEST

/* A conflict of the fast path turns it off and fails the run once, with
 * the message that makes the caller redo the run without it. */
START_TEST(fast_path_conflict_turns_it_off)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    ck_assert(!scim_kernel_fast(k));
    scim_kernel_set_fast(k, true);
    ck_assert(scim_kernel_fast(k));
    ck_assert(!scim_kernel_fast_conflicted(k));
    scim_kernel_fast_conflict(k, "a credit came back early");
    scim_kernel_fast_conflict(k, "a second one");
    ck_assert(!scim_kernel_fast(k));
    ck_assert(scim_kernel_fast_conflicted(k));
    ck_assert_int_eq(scim_kernel_run(k, &err), SCIM_EINVARIANT);
    ck_assert_str_eq(err.msg, "fast path: a credit came back early (the run is redone with sim.fast_path off)");
    scim_kernel_add_skipped(k, 5);
    ck_assert_uint_eq(scim_kernel_events_logical(k), 5);
    scim_kernel_destroy(k);
}
END_TEST

/* Several SystemC-backed kernels in one process, one after the other and
 * side by side: each sees its own time starting at 0. */
START_TEST(systemc_kernels_share_one_scheduler)
{
    scim_err err = {0};
    scim_kernel *a = scim_kernel_create(SCIM_BACKEND_SYSTEMC, &err);
    ck_assert_msg(a, "%s", err.msg);
    log_ctx la = {a, calloc(8, sizeof(rec)), 0, calloc(8, sizeof(scim_time_t))};
    scim_kernel_schedule_at(a, 1000, SCIM_PRIO_DEFAULT, on_event, &la, 1);
    ck_assert_int_eq(scim_kernel_run(a, &err), 0);
    ck_assert_uint_eq(la.at[0], 1000);
    scim_kernel *b = scim_kernel_create(SCIM_BACKEND_SYSTEMC, &err);
    ck_assert_msg(b, "%s", err.msg);
    ck_assert_uint_eq(scim_kernel_now(b), 0);
    log_ctx lb = {b, calloc(8, sizeof(rec)), 0, calloc(8, sizeof(scim_time_t))};
    scim_kernel_schedule_at(b, 500, SCIM_PRIO_DEFAULT, on_event, &lb, 7);
    ck_assert_int_eq(scim_kernel_run(b, &err), 0);
    ck_assert_uint_eq(lb.n, 1);
    ck_assert_uint_eq(lb.at[0], 500);
    ck_assert_uint_eq(la.n, 1);
    scim_kernel_destroy(a);
    scim_kernel_destroy(b);
    free(la.seen); free(la.at); free(lb.seen); free(lb.at);
}
END_TEST

START_TEST(clock_domains)
{
    scim_clock c;
    ck_assert_int_eq(scim_clock_init(&c, 3000000000ull, NULL), 0);
    ck_assert_uint_eq(scim_clock_cycles(&c, 1), 333);
    ck_assert_uint_eq(scim_clock_cycles(&c, 3), 1000);
    ck_assert_uint_eq(scim_clock_cycles(&c, 3000000), 1000000000ull);
    ck_assert_uint_eq(scim_clock_next_edge(&c, 0), 0);
    ck_assert_uint_eq(scim_clock_next_edge(&c, 1), 333);
    ck_assert_uint_eq(scim_clock_next_edge(&c, 334), 667);
    ck_assert_uint_eq(scim_clock_next_edge(&c, 1000), 1000);
    ck_assert_int_eq(scim_clock_init(&c, 2000000000ull, NULL), 0);
    ck_assert_uint_eq(scim_clock_cycles(&c, 7), 3500);
    scim_err err = {0};
    ck_assert_int_eq(scim_clock_init(&c, 0, &err), SCIM_ERANGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernel");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, order_matches_sorted_reference, 0, NB);
    tcase_add_loop_test(tc, fifo_order_matches_sorted_reference, 0, NB);
    tcase_add_loop_test(tc, fifo_same_log_as_direct, 0, NB);
    tcase_add_loop_test(tc, dormant_same_as_ordinary, 0, NB);
    tcase_add_loop_test(tc, dormant_last_and_bounded, 0, NB);
    tcase_add_loop_test(tc, self_rescheduling_chains, 0, NB);
    tcase_add_loop_test(tc, run_until_then_resume, 0, NB);
    tcase_add_loop_test(tc, timers_end_with_the_work, 0, NB);
    tcase_add_loop_test(tc, stop_and_fail, 0, NB);
    tcase_add_loop_test(tc, stop_and_fail_in_a_bounded_run, 0, NB);
    tcase_add_test(tc, fast_path_conflict_turns_it_off);
    tcase_add_test(tc, systemc_kernels_share_one_scheduler);
    tcase_add_test(tc, clock_domains);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

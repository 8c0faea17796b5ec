/* A FIFO's handler that runs its FIFO's next events itself
 * (core/fast.h: scim_kernel_fifo_take_next), as the device's fast
 * completions do while a device streams hits alone: the order of
 * execution, the times, the logical and executed event counts and the
 * polls must be those of the dispatcher. The reference is the same run
 * without the loop. Dormant events (core/kfifo.h) are scheduled, woken and
 * passed along the way, since the loop passes them itself; the runs go to
 * the end or in bounded steps, on both backends, with a poll hook. */
#include <check.h>
#include <stdlib.h>

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "scimitar/kernel.h"

#define NB 2
static const scim_backend backends[NB] = {SCIM_BACKEND_NATIVE, SCIM_BACKEND_SYSTEMC};

enum { EVENTS = 20000, FIFOS = 3, START = 8, POLL_LOG2 = 4 };

typedef struct run run;
typedef struct fifo_ctx {
    run *r;
    int f;
} fifo_ctx;

struct run {
    scim_kernel *k;
    int fifo[FIFOS];
    fifo_ctx fc[FIFOS];
    bool drain; /* handlers run their FIFO's next events themselves */
    uint64_t budget;
    int live;
    int dormant; /* handle of the one dormant event, or -1 */
    uint64_t *log;
    size_t n, cap;
    uint64_t taken, polls;
};

static void record(run *r, uint64_t what)
{
    ck_assert_uint_lt(r->n, r->cap);
    r->log[r->n++] = what * 1000003u + scim_kernel_time(r->k);
}

static void dormant_ran(void *ctx, uint64_t arg)
{
    run *r = ctx;
    record(r, arg + 1);
}

static void dormant_passed(void *ctx, uint64_t arg)
{
    run *r = ctx;
    r->dormant = -1;
    record(r, arg + 2);
}

static uint64_t mix(uint64_t x)
{
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x * 0xBF58476D1CE4E5B9ull;
}

/* What an event does: log itself, begin zero to two children on FIFOs
 * (a fixed delay per FIFO keeps each in order), and now and then schedule
 * or wake the dormant event. */
static void body(run *r, uint64_t arg)
{
    record(r, arg << 2);
    r->live--;
    uint64_t x = mix(arg);
    bool first = !(r->live > 4 && x % 3 == 0), second = r->live < 12 && (x >> 20) % 3 == 0;
    for (unsigned c = 0; c < 2 && r->budget; c++) {
        if (c == 0 ? !first : !second)
            continue;
        unsigned f = (unsigned)(x >> (40 + 8 * c)) % FIFOS;
        scim_kernel_fifo_at(r->k, r->fifo[f], scim_kernel_time(r->k) + f * 5, SCIM_PRIO_DEFAULT, r->budget--);
        r->live++;
    }
    if (r->dormant < 0 && (x >> 8) % 4 == 0) {
        r->dormant = scim_kernel_schedule_dormant(r->k, scim_kernel_time(r->k) + (x >> 12) % 9, SCIM_PRIO_DEFAULT,
                                                  dormant_ran, dormant_passed, r, (arg << 2) | 0);
        ck_assert_int_ge(r->dormant, 0);
    } else if (r->dormant >= 0 && (x >> 16) % 5 == 0) {
        scim_kernel_wake(r->k, r->dormant);
        r->dormant = -1;
    }
}

static void handler(void *ctx, uint64_t arg)
{
    fifo_ctx *fc = ctx;
    run *r = fc->r;
    body(r, arg);
    while (r->drain && scim_kernel_fifo_take_next(r->k, r->fifo[fc->f], &arg)) {
        r->taken++;
        body(r, arg);
    }
}

static void poll(void *ctx, scim_kernel *k)
{
    run *r = ctx;
    r->polls++;
    record(r, 3);
    (void)k;
}

/* One run; step 0: to the end, else run_until in steps of `step` ps. */
static run do_run(scim_backend b, bool drain, scim_time_t step, uint64_t *logical, uint64_t *executed)
{
    scim_err err = {0};
    run r = {.k = scim_kernel_create(b, &err), .drain = drain, .budget = EVENTS, .live = START, .dormant = -1};
    ck_assert_msg(r.k, "%s", err.msg);
    r.cap = 4 * EVENTS + 64;
    r.log = calloc(r.cap, sizeof(uint64_t));
    ck_assert_ptr_nonnull(r.log);
    for (int f = 0; f < FIFOS; f++) {
        r.fc[f] = (fifo_ctx){&r, f};
        r.fifo[f] = scim_kernel_fifo_create(r.k, handler, &r.fc[f]);
    }
    scim_kernel_set_poll(r.k, poll, &r, POLL_LOG2);
    for (uint64_t i = 0; i < START; i++)
        scim_kernel_fifo_at(r.k, r.fifo[i % FIFOS], (i % FIFOS) * 5, SCIM_PRIO_DEFAULT, EVENTS + i);
    if (step == 0) {
        ck_assert_int_eq(scim_kernel_run(r.k, &err), 0);
    } else {
        for (scim_time_t t = step; scim_kernel_events_pending(r.k); t += step)
            ck_assert_int_eq(scim_kernel_run_until(r.k, t, &err), 0);
    }
    *logical = scim_kernel_events_logical(r.k);
    *executed = scim_kernel_events_executed(r.k);
    scim_kernel_destroy(r.k);
    return r;
}

START_TEST(same_order_as_the_dispatcher)
{
    static const scim_time_t steps[] = {0, 3, 5, 17};
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        uint64_t logical_ref, logical, executed_ref, executed;
        run ref = do_run(backends[_i], false, steps[s], &logical_ref, &executed_ref);
        run got = do_run(backends[_i], true, steps[s], &logical, &executed);
        ck_assert_uint_gt(ref.n, EVENTS);
        for (size_t i = 0; i < ref.n && i < got.n; i++)
            ck_assert_msg(got.log[i] == ref.log[i], "step %llu: entry %zu: %llu, reference %llu",
                          (unsigned long long)steps[s], i, (unsigned long long)got.log[i],
                          (unsigned long long)ref.log[i]);
        ck_assert_uint_eq(got.n, ref.n);
        ck_assert_uint_eq(logical, logical_ref);
        ck_assert_uint_eq(executed, executed_ref);
        ck_assert_uint_eq(got.polls, ref.polls);
        ck_assert_uint_gt(ref.polls, 0);
        /* the loop is taken, and not always */
        ck_assert_uint_gt(got.taken, EVENTS / 100);
        ck_assert_uint_lt(got.taken, executed - executed / 10);
        free(ref.log);
        free(got.log);
    }
}
END_TEST

static int probe_fifo;
static uint64_t probe_seen[4];
static size_t probe_n;

static void probe(void *ctx, uint64_t arg)
{
    scim_kernel *k = ctx;
    probe_seen[probe_n++] = arg * 100 + scim_kernel_time(k);
    uint64_t next;
    if (arg == 1) {
        /* FIFO's next (at 10) comes after another event at 10 scheduled before it */
        ck_assert(!scim_kernel_fifo_take_next(k, probe_fifo, &next));
    } else if (arg == 2) {
        /* next at 30: beyond run_until(20) */
        ck_assert(!scim_kernel_fifo_take_next(k, probe_fifo, &next));
    }
}

static void other(void *ctx, uint64_t arg)
{
    scim_kernel *k = ctx;
    probe_seen[probe_n++] = arg * 100 + scim_kernel_time(k);
}

START_TEST(refused_when_not_next)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    probe_n = 0;
    probe_fifo = scim_kernel_fifo_create(k, probe, k);
    ck_assert_int_ge(probe_fifo, 0);
    uint64_t arg;
    scim_kernel_schedule_at(k, 10, SCIM_PRIO_DEFAULT, other, k, 9);
    scim_kernel_fifo_at(k, probe_fifo, 0, SCIM_PRIO_DEFAULT, 1);
    scim_kernel_fifo_at(k, probe_fifo, 10, SCIM_PRIO_DEFAULT, 2);
    scim_kernel_fifo_at(k, probe_fifo, 30, SCIM_PRIO_DEFAULT, 3);
    /* outside a dispatch nothing is taken */
    ck_assert(!scim_kernel_fifo_take_next(k, probe_fifo, &arg));
    ck_assert_int_eq(scim_kernel_run_until(k, 20, &err), 0);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_uint_eq(probe_n, 4);
    ck_assert_uint_eq(probe_seen[0], 100);
    ck_assert_uint_eq(probe_seen[1], 910);
    ck_assert_uint_eq(probe_seen[2], 210);
    ck_assert_uint_eq(probe_seen[3], 330);
    scim_kernel_destroy(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kdrain");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, same_order_as_the_dispatcher, 0, NB);
    tcase_add_loop_test(tc, refused_when_not_next, 0, NB);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

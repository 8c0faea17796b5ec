/* Held events (core/kfifo.h: scim_kernel_fifo_at_next), as the IOMMU's
 * lookups, the walker's starts and the device's lookups use them: an event
 * a handler schedules is held beside the queue and run as soon as the
 * handler returns if it is then the next, else put in its FIFO under the
 * key it took. The reference is the same run with scim_kernel_fifo_at
 * everywhere: the same events at the same times in the same order, with
 * the host polls between the same events, the same logical and executed
 * event counts and the same end time. The handlers also do what can meet
 * a held event: schedule more events after it (held or not, earlier or
 * later), schedule, wake and pass dormant events, run their FIFO's next
 * events themselves (scim_kernel_fifo_take_next) and take reserved places
 * (scim_kernel_take_next); the runs go to the end or in bounded steps, on
 * both backends. */
#include <check.h>
#include <stdlib.h>

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "scimitar/kernel.h"

#define NB 2
static const scim_backend backends[NB] = {SCIM_BACKEND_NATIVE, SCIM_BACKEND_SYSTEMC};

enum { EVENTS = 6000, FIFOS = 3, START = 8, POLL_LOG2 = 3, SLOT_DELAY = 3 };

typedef struct nrun nrun;
typedef struct fifo_ctx {
    nrun *r;
    int f;
} fifo_ctx;

struct nrun {
    scim_kernel *k;
    int fifo[FIFOS];
    fifo_ctx fc[FIFOS];
    bool held; /* children through scim_kernel_fifo_at_next */
    uint64_t budget;
    int live;
    int dormant; /* handle of the one dormant event, or -1 */
    uint64_t *log;
    size_t n, cap;
    uint64_t polls;
};

static void record(nrun *r, uint64_t what)
{
    ck_assert_uint_lt(r->n, r->cap);
    r->log[r->n++] = what * 1000003u + scim_kernel_time(r->k);
}

static uint64_t mix(uint64_t x)
{
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x * 0xBF58476D1CE4E5B9ull;
}

static scim_time_t delay_of(unsigned f) { return f * 5; } /* fixed per FIFO: each stays in order */

static void dormant_ran(void *ctx, uint64_t arg) { record(ctx, arg + 1); }
static void dormant_passed(void *ctx, uint64_t arg)
{
    nrun *r = ctx;
    r->dormant = -1;
    record(r, arg + 2);
}

/* A child on FIFO f, held or not (in the reference never). */
static void child(nrun *r, unsigned f, bool held)
{
    scim_time_t when = scim_kernel_time(r->k) + delay_of(f);
    if (r->held && held)
        scim_kernel_fifo_at_next(r->k, r->fifo[f], when, SCIM_PRIO_DEFAULT, r->budget--);
    else
        scim_kernel_fifo_at(r->k, r->fifo[f], when, SCIM_PRIO_DEFAULT, r->budget--);
    r->live++;
}

/* What an event does: log itself, begin zero to two children (about
 * eight events live: sometimes a held one is the next), and now and then
 * schedule or wake the dormant event. */
static void body(nrun *r, uint64_t arg)
{
    record(r, arg << 2);
    r->live--;
    uint64_t x = mix(arg);
    bool first = !(r->live > 4 && x % 3 == 0), second = r->live < 12 && (x >> 20) % 3 == 0;
    for (unsigned c = 0; c < 2 && r->budget; c++)
        if (c == 0 ? first : second)
            child(r, (unsigned)(x >> (40 + 8 * c)) % FIFOS, (x >> (24 + c)) & 1);
    if (r->dormant < 0 && (x >> 8) % 4 == 0) {
        r->dormant = scim_kernel_schedule_dormant(r->k, scim_kernel_time(r->k) + (x >> 12) % 9, SCIM_PRIO_DEFAULT,
                                                  dormant_ran, dormant_passed, r, arg << 2);
        ck_assert_int_ge(r->dormant, 0);
    } else if (r->dormant >= 0 && (x >> 16) % 5 == 0) {
        scim_kernel_wake(r->k, r->dormant);
        r->dormant = -1;
    }
}

/* An event: body, and now and then a place taken before its children
 * and decided after them. Done the same whichever way it is reached (by
 * the dispatcher, a drain or a reserved place), so that how the kernel
 * runs it cannot change the log. */
static void event(nrun *r, uint64_t arg)
{
    uint64_t x = mix(arg + 1);
    bool reserve = x % 7 == 0 && r->budget;
    scim_kernel_slot slot = {0};
    if (reserve)
        slot = scim_kernel_reserve(r->k, scim_kernel_time(r->k) + SLOT_DELAY + (x >> 4) % 3, SCIM_PRIO_DEFAULT);
    body(r, arg);
    if (reserve) {
        uint64_t id = r->budget--;
        r->live++;
        if (scim_kernel_take_next(r->k, slot))
            event(r, id);
        else
            scim_kernel_fifo_at_slot(r->k, r->fifo[0], slot, id);
    }
}

/* Some events run their FIFO's next events themselves, when they are the
 * next (no place is left reserved by then). */
static void handler(void *ctx, uint64_t arg)
{
    fifo_ctx *fc = ctx;
    nrun *r = fc->r;
    event(r, arg);
    while ((mix(arg + 2) >> 8) % 3 == 0 && scim_kernel_fifo_take_next(r->k, r->fifo[fc->f], &arg))
        event(r, arg);
}

static void poll_hook(void *ctx, scim_kernel *k)
{
    nrun *r = ctx;
    r->polls++;
    record(r, 3);
    (void)k;
}

/* Step 0: run to the end, else run_until in steps of `step` ps. */
static void run_steps(scim_kernel *k, scim_time_t step)
{
    scim_err err = {0};
    if (step == 0) {
        ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    } else {
        for (scim_time_t t = step; scim_kernel_events_pending(k); t += step) {
            ck_assert_int_eq(scim_kernel_run_until(k, t, &err), 0);
            ck_assert_uint_eq(scim_kernel_now(k), t); /* nothing ran past the bound */
        }
    }
}

typedef struct outcome {
    uint64_t logical, executed;
    scim_time_t end;
} outcome;

static nrun do_run(scim_backend b, bool held, scim_time_t step, outcome *o)
{
    scim_err err = {0};
    nrun r = {.k = scim_kernel_create(b, &err), .held = held, .budget = EVENTS, .live = START, .dormant = -1};
    ck_assert_msg(r.k, "%s", err.msg);
    r.cap = 6 * EVENTS + 64;
    r.log = calloc(r.cap, sizeof(uint64_t));
    ck_assert_ptr_nonnull(r.log);
    for (int f = 0; f < FIFOS; f++) {
        r.fc[f] = (fifo_ctx){&r, f};
        r.fifo[f] = scim_kernel_fifo_create(r.k, handler, &r.fc[f]);
    }
    scim_kernel_set_poll(r.k, poll_hook, &r, POLL_LOG2);
    /* outside a dispatch a held event is simply scheduled */
    for (uint64_t i = 0; i < START; i++)
        (i % 2 ? scim_kernel_fifo_at_next : scim_kernel_fifo_at)(r.k, r.fifo[i % FIFOS], delay_of((unsigned)(i % FIFOS)),
                                                                SCIM_PRIO_DEFAULT, EVENTS + i);
    run_steps(r.k, step);
    ck_assert_uint_eq(scim_kernel_events_pending(r.k), 0);
    *o = (outcome){scim_kernel_events_logical(r.k), scim_kernel_events_executed(r.k), scim_kernel_now(r.k)};
    scim_kernel_destroy(r.k);
    return r;
}

START_TEST(same_run_as_fifo_at)
{
    static const scim_time_t steps[] = {0, 3, 5, 17};
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        outcome ref_o, got_o;
        nrun ref = do_run(backends[_i], false, steps[s], &ref_o);
        nrun got = do_run(backends[_i], true, steps[s], &got_o);
        ck_assert_uint_gt(ref.n, EVENTS);
        for (size_t i = 0; i < ref.n && i < got.n; i++)
            ck_assert_msg(got.log[i] == ref.log[i], "step %llu: entry %zu: %llu, reference %llu",
                          (unsigned long long)steps[s], i, (unsigned long long)got.log[i],
                          (unsigned long long)ref.log[i]);
        ck_assert_uint_eq(got.n, ref.n);
        ck_assert_uint_eq(got_o.logical, ref_o.logical);
        ck_assert_uint_eq(got_o.executed, ref_o.executed);
        ck_assert_uint_eq(got_o.end, ref_o.end);
        ck_assert_uint_eq(got.polls, ref.polls);
        ck_assert_uint_gt(ref.polls, 0);
        free(ref.log);
        free(got.log);
    }
}
END_TEST

/* By hand: a held event comes after the events scheduled before it at its
 * time, before those scheduled after it; the kernel's queries see it
 * (next time, a reserved place); run_until does not run it past its
 * bound. */
static uint64_t seen[8];
static size_t n_seen;
static int probe_fifo;

static void note(void *ctx, uint64_t arg)
{
    scim_kernel *k = ctx;
    seen[n_seen++] = arg * 100 + scim_kernel_time(k);
}

static void probe(void *ctx, uint64_t arg)
{
    scim_kernel *k = ctx;
    note(k, arg);
    if (arg == 6) /* the next event, but past run_until(7): not run yet */
        scim_kernel_fifo_at_next(k, probe_fifo, 8, SCIM_PRIO_DEFAULT, 7);
    if (arg != 1)
        return;
    scim_kernel_slot slot = scim_kernel_reserve(k, 6, SCIM_PRIO_DEFAULT);
    scim_kernel_fifo_at_next(k, probe_fifo, 10, SCIM_PRIO_DEFAULT, 2); /* after 9, scheduled before */
    scim_kernel_schedule_at(k, 10, SCIM_PRIO_DEFAULT, note, k, 3);     /* after the held one */
    scim_kernel_fifo_at_next(k, probe_fifo, 5, SCIM_PRIO_DEFAULT, 4);  /* holds; the first goes to its FIFO */
    ck_assert_uint_eq(scim_kernel_next_time(k), 5);
    ck_assert(!scim_kernel_take_next(k, slot)); /* the one held at 5 comes first */
    scim_kernel_fifo_at_slot(k, probe_fifo, slot, 6);
}

START_TEST(held_in_order_at_one_time)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    n_seen = 0;
    probe_fifo = scim_kernel_fifo_create(k, probe, k);
    ck_assert_int_ge(probe_fifo, 0);
    scim_kernel_schedule_at(k, 10, SCIM_PRIO_DEFAULT, note, k, 9);
    scim_kernel_fifo_at(k, probe_fifo, 0, SCIM_PRIO_DEFAULT, 1);
    ck_assert_int_eq(scim_kernel_run_until(k, 7, &err), 0);
    ck_assert_uint_eq(n_seen, 3);
    ck_assert_uint_eq(scim_kernel_now(k), 7);
    ck_assert_uint_eq(scim_kernel_events_pending(k), 4);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    ck_assert_uint_eq(n_seen, 7);
    static const uint64_t want[] = {100, 405, 606, 708, 910, 210, 310};
    for (size_t i = 0; i < 7; i++)
        ck_assert_uint_eq(seen[i], want[i]);
    ck_assert_uint_eq(scim_kernel_events_executed(k), 7);
    scim_kernel_destroy(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("knext");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, same_run_as_fifo_at, 0, NB);
    tcase_add_loop_test(tc, held_in_order_at_one_time, 0, NB);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

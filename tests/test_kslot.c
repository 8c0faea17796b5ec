/* Reserved places in the event order (core/fast.h: scim_kernel_reserve,
 * scim_kernel_take_next, scim_kernel_fifo_at_slot), as the device uses them
 * for the lookups a fast completion begins: a handler takes the places of
 * the events it begins, and at its end either does an event at once (it
 * is the next to run) or schedules it in its place. The reference is the
 * same run with every event scheduled on its FIFO when begun: the same
 * events at the same times in the same order, the same logical event
 * count, run to the end or in bounded steps, on both backends. Also
 * scim_kernel_fifo_take_next (below). */
#include <check.h>
#include <stdlib.h>

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "scimitar/kernel.h"

#define NB 2
static const scim_backend backends[NB] = {SCIM_BACKEND_NATIVE, SCIM_BACKEND_SYSTEMC};

enum { EVENTS = 20000, FIFOS = 3, CHILDREN_MAX = 2, START = 8 };

typedef struct run {
    scim_kernel *k;
    int fifo[FIFOS];
    bool reserve; /* the handler reserves places and decides at its end */
    uint64_t budget;
    int live; /* events begun and not yet run */
    uint64_t *log;
    size_t n;
    uint64_t taken; /* events done at once */
} run;

static void handler(void *ctx, uint64_t arg);

/* What an event does: log itself, begin zero to two children on FIFOs (a
 * fixed delay per FIFO keeps each in order; FIFO 0's is zero), so that
 * about eight events are live: sometimes one is the next to run. */
static unsigned body(run *r, uint64_t arg, unsigned *fifo, uint64_t *id)
{
    r->log[r->n++] = arg * 1000003u + scim_kernel_time(r->k);
    r->live--;
    uint64_t x = arg * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    unsigned n = 0;
    bool first = !(r->live > 4 && x % 3 == 0), second = r->live < 12 && (x >> 20) % 3 == 0;
    for (unsigned c = 0; c < 2 && r->budget; c++) {
        if (c == 0 ? !first : !second)
            continue;
        fifo[n] = (unsigned)(x >> (40 + 8 * c)) % FIFOS;
        id[n++] = r->budget--;
        r->live++;
    }
    return n;
}

static scim_time_t delay_of(unsigned f) { return f * 5; }

/* Something an event begins after its children's places are taken: it
 * comes after them in the order. */
static void extra(run *r, uint64_t arg)
{
    if (r->budget && arg % 5 == 0) {
        scim_kernel_fifo_at(r->k, r->fifo[0], scim_kernel_time(r->k), SCIM_PRIO_DEFAULT, r->budget--);
        r->live++;
    }
}

/* A child done at once does what its event would, beginning its own
 * children on their FIFOs (as the device's lookup does). */
static void plain(run *r, uint64_t arg)
{
    unsigned fifo[CHILDREN_MAX];
    uint64_t id[CHILDREN_MAX];
    unsigned n = body(r, arg, fifo, id);
    for (unsigned i = 0; i < n; i++)
        scim_kernel_fifo_at(r->k, r->fifo[fifo[i]], scim_kernel_time(r->k) + delay_of(fifo[i]), SCIM_PRIO_DEFAULT,
                            id[i]);
    extra(r, arg);
}

static void handler(void *ctx, uint64_t arg)
{
    run *r = ctx;
    if (!r->reserve) {
        plain(r, arg);
        return;
    }
    unsigned fifo[CHILDREN_MAX];
    uint64_t id[CHILDREN_MAX];
    scim_kernel_slot slot[CHILDREN_MAX];
    unsigned n = body(r, arg, fifo, id);
    for (unsigned i = 0; i < n; i++)
        slot[i] = scim_kernel_reserve(r->k, scim_kernel_time(r->k) + delay_of(fifo[i]), SCIM_PRIO_DEFAULT);
    extra(r, arg);
    for (unsigned i = 0; i < n; i++) {
        if (scim_kernel_take_next(r->k, slot[i])) {
            r->taken++;
            plain(r, id[i]);
        } else {
            scim_kernel_fifo_at_slot(r->k, r->fifo[fifo[i]], slot[i], id[i]);
        }
    }
}

/* Step 0: run to the end, else run_until in steps of `step` ps. */
static void run_steps(scim_kernel *k, scim_time_t step)
{
    scim_err err = {0};
    if (step == 0) {
        ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    } else {
        for (scim_time_t t = step; scim_kernel_events_pending(k); t += step)
            ck_assert_int_eq(scim_kernel_run_until(k, t, &err), 0);
    }
}

/* One run (run_steps). */
static run do_run(scim_backend b, bool reserve, scim_time_t step, uint64_t *logical)
{
    scim_err err = {0};
    run r = {.k = scim_kernel_create(b, &err), .reserve = reserve, .budget = EVENTS, .live = START};
    ck_assert_msg(r.k, "%s", err.msg);
    r.log = calloc(2 * EVENTS + 64, sizeof(uint64_t));
    for (int f = 0; f < FIFOS; f++)
        r.fifo[f] = scim_kernel_fifo_create(r.k, handler, &r);
    for (uint64_t i = 0; i < START; i++)
        scim_kernel_fifo_at(r.k, r.fifo[i % FIFOS], delay_of((unsigned)(i % FIFOS)), SCIM_PRIO_DEFAULT, EVENTS + i);
    run_steps(r.k, step);
    *logical = scim_kernel_events_logical(r.k);
    scim_kernel_destroy(r.k);
    return r;
}

START_TEST(same_order_as_scheduling)
{
    static const scim_time_t steps[] = {0, 3, 5, 17};
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        uint64_t logical_ref, logical;
        run ref = do_run(backends[_i], false, steps[s], &logical_ref);
        run got = do_run(backends[_i], true, steps[s], &logical);
        ck_assert_uint_eq(ref.n, EVENTS + START);
        ck_assert_uint_eq(got.n, ref.n);
        for (size_t i = 0; i < ref.n; i++)
            ck_assert_msg(got.log[i] == ref.log[i], "step %llu: event %zu differs", (unsigned long long)steps[s], i);
        ck_assert_uint_eq(logical, logical_ref);
        ck_assert_uint_eq(ref.taken, 0);
        /* the shortcut is taken, and not always */
        ck_assert_uint_gt(got.taken, EVENTS / 100);
        ck_assert_uint_lt(got.taken, got.n / 2);
        free(ref.log);
        free(got.log);
    }
}
END_TEST

static void take_probe(void *ctx, uint64_t arg)
{
    scim_kernel *k = ctx;
    scim_kernel_slot s = scim_kernel_reserve(k, scim_kernel_time(k) + 10, SCIM_PRIO_DEFAULT);
    /* an event at 10 ps (scheduled before the handler ran) comes first */
    ck_assert(!scim_kernel_take_next(k, s));
    ck_assert_uint_eq(scim_kernel_time(k), (scim_time_t)arg);
    scim_kernel_slot late = scim_kernel_reserve(k, scim_kernel_time(k) + 11, SCIM_PRIO_DEFAULT);
    /* beyond the run's bound (run_until 10) */
    ck_assert(!scim_kernel_take_next(k, late));
    scim_kernel_slot low = scim_kernel_reserve(k, scim_kernel_time(k) + 10, SCIM_PRIO_DEFAULT + 1);
    ck_assert(!scim_kernel_take_next(k, low));
    scim_kernel_fifo_at_slot(k, 0, s, 1);
    scim_kernel_fifo_at_slot(k, 0, low, 2);
    scim_kernel_fifo_at_slot(k, 0, late, 3);
}

static uint64_t seen[8];
static size_t n_seen;
static void note(void *ctx, uint64_t arg)
{
    scim_kernel *k = ctx;
    seen[n_seen++] = arg * 100 + scim_kernel_time(k);
}

START_TEST(refused_when_not_next)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    n_seen = 0;
    ck_assert_int_eq(scim_kernel_fifo_create(k, note, k), 0);
    /* outside a dispatch nothing is next */
    ck_assert(!scim_kernel_take_next(k, scim_kernel_reserve(k, 0, SCIM_PRIO_DEFAULT)));
    scim_kernel_schedule_at(k, 0, SCIM_PRIO_DEFAULT, take_probe, k, 0);
    scim_kernel_schedule_at(k, 10, SCIM_PRIO_DEFAULT, note, k, 9);
    ck_assert_int_eq(scim_kernel_run_until(k, 10, &err), 0);
    ck_assert_int_eq(scim_kernel_run(k, &err), 0);
    /* 9 at 10 (scheduled first), then the slot at 10, the lower priority
     * at 10, the one at 11 */
    ck_assert_uint_eq(n_seen, 4);
    ck_assert_uint_eq(seen[0], 910);
    ck_assert_uint_eq(seen[1], 110);
    ck_assert_uint_eq(seen[2], 210);
    ck_assert_uint_eq(seen[3], 311);
    scim_kernel_destroy(k);
}
END_TEST


/* ---- a FIFO's handler that runs its FIFO's next events itself ----
 * (scim_kernel_fifo_take_next), as the device's fast completions do while
 * a device streams hits alone: the order of execution, the times, the
 * logical and executed event counts and the polls must be those of the
 * dispatcher. The reference is the same run without the loop. Dormant
 * events (core/kfifo.h) are scheduled, woken and passed along the way,
 * since the loop passes them itself; the runs go to the end or in bounded
 * steps, on both backends, with a poll hook. */

enum { D_EVENTS = 4000, D_FIFOS = 3, D_START = 8, D_POLL_LOG2 = 4 };

typedef struct drun drun;
typedef struct dfifo_ctx {
    drun *r;
    int f;
} dfifo_ctx;

struct drun {
    scim_kernel *k;
    int fifo[D_FIFOS];
    dfifo_ctx fc[D_FIFOS];
    bool drain; /* handlers run their FIFO's next events themselves */
    uint64_t budget;
    int live;
    int dormant; /* handle of the one dormant event, or -1 */
    uint64_t *log;
    size_t n, cap;
    uint64_t taken, polls;
};

static void drecord(drun *r, uint64_t what)
{
    ck_assert_uint_lt(r->n, r->cap);
    r->log[r->n++] = what * 1000003u + scim_kernel_time(r->k);
}

static void dormant_ran(void *ctx, uint64_t arg)
{
    drun *r = ctx;
    drecord(r, arg + 1);
}

static void dormant_passed(void *ctx, uint64_t arg)
{
    drun *r = ctx;
    r->dormant = -1;
    drecord(r, arg + 2);
}

static uint64_t dmix(uint64_t x)
{
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x * 0xBF58476D1CE4E5B9ull;
}

/* What an event does: log itself, begin zero to two children on FIFOs
 * (a fixed delay per FIFO keeps each in order), and now and then schedule
 * or wake the dormant event. */
static void dbody(drun *r, uint64_t arg)
{
    drecord(r, arg << 2);
    r->live--;
    uint64_t x = dmix(arg);
    bool first = !(r->live > 4 && x % 3 == 0), second = r->live < 12 && (x >> 20) % 3 == 0;
    for (unsigned c = 0; c < 2 && r->budget; c++) {
        if (c == 0 ? !first : !second)
            continue;
        unsigned f = (unsigned)(x >> (40 + 8 * c)) % D_FIFOS;
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

static void dhandler(void *ctx, uint64_t arg)
{
    dfifo_ctx *fc = ctx;
    drun *r = fc->r;
    dbody(r, arg);
    while (r->drain && scim_kernel_fifo_take_next(r->k, r->fifo[fc->f], &arg)) {
        r->taken++;
        dbody(r, arg);
    }
}

static void dpoll(void *ctx, scim_kernel *k)
{
    drun *r = ctx;
    r->polls++;
    drecord(r, 3);
    (void)k;
}

/* One run of the drain test (run_steps). */
static drun drain_run(scim_backend b, bool drain, scim_time_t step, uint64_t *logical, uint64_t *executed)
{
    scim_err err = {0};
    drun r = {.k = scim_kernel_create(b, &err), .drain = drain, .budget = D_EVENTS, .live = D_START, .dormant = -1};
    ck_assert_msg(r.k, "%s", err.msg);
    r.cap = 4 * D_EVENTS + 64;
    r.log = calloc(r.cap, sizeof(uint64_t));
    ck_assert_ptr_nonnull(r.log);
    for (int f = 0; f < D_FIFOS; f++) {
        r.fc[f] = (dfifo_ctx){&r, f};
        r.fifo[f] = scim_kernel_fifo_create(r.k, dhandler, &r.fc[f]);
    }
    scim_kernel_set_poll(r.k, dpoll, &r, D_POLL_LOG2);
    for (uint64_t i = 0; i < D_START; i++)
        scim_kernel_fifo_at(r.k, r.fifo[i % D_FIFOS], (i % D_FIFOS) * 5, SCIM_PRIO_DEFAULT, D_EVENTS + i);
    run_steps(r.k, step);
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
        drun ref = drain_run(backends[_i], false, steps[s], &logical_ref, &executed_ref);
        drun got = drain_run(backends[_i], true, steps[s], &logical, &executed);
        ck_assert_uint_gt(ref.n, D_EVENTS);
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
        ck_assert_uint_gt(got.taken, D_EVENTS / 100);
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

static void probe_other(void *ctx, uint64_t arg)
{
    scim_kernel *k = ctx;
    probe_seen[probe_n++] = arg * 100 + scim_kernel_time(k);
}

START_TEST(drain_refused_when_not_next)
{
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(backends[_i], &err);
    ck_assert_msg(k, "%s", err.msg);
    probe_n = 0;
    probe_fifo = scim_kernel_fifo_create(k, probe, k);
    ck_assert_int_ge(probe_fifo, 0);
    uint64_t arg;
    scim_kernel_schedule_at(k, 10, SCIM_PRIO_DEFAULT, probe_other, k, 9);
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
    Suite *s = suite_create("kslot");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, same_order_as_scheduling, 0, NB);
    tcase_add_loop_test(tc, refused_when_not_next, 0, NB);
    tcase_add_loop_test(tc, same_order_as_the_dispatcher, 0, NB);
    tcase_add_loop_test(tc, drain_refused_when_not_next, 0, NB);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* Event kernel: a binary min-heap of events keyed by (time, priority,
 * sequence). The key packs priority (8 bits) above a 56-bit insertion
 * sequence, so one 64-bit compare after the time orders ties — 2^56 events
 * is more than any run schedules.
 *
 * With the SystemC backend the heap is drained by the bridge's single
 * SC_METHOD: at each wake-up every event due at that time is executed here
 * (including zero-delay events they schedule), then the bridge is told the
 * next time. SystemC therefore sees one wake-up per distinct time.
 */
#include "scimitar/kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sc_bridge.h"

typedef struct event {
    scim_time_t time;
    uint64_t key; /* prio << 56 | seq */
    scim_event_fn fn;
    void *ctx;
    uint64_t arg;
} event;

struct scim_kernel {
    scim_backend backend;
    scim_time_t now;
    event *heap;
    size_t len, cap;
    uint64_t seq;
    uint64_t executed;
    uint64_t wakeups; /* SystemC wake-ups (distinct times dispatched) */
    bool stop;
    bool dispatching;
    bool alloc_failed;
    scim_err failure;
    scim_time_t limit; /* run_until bound; SCIM_TIME_MAX when unbounded */
    /* host-side hook between events (watchdog, progress): not an event, so
     * it cannot change what the model does */
    scim_poll_fn poll;
    void *poll_ctx;
    uint64_t poll_mask;
    /* SystemC backend */
    int client;
    uint64_t base_ps;       /* SystemC time when this kernel was created */
    scim_time_t wake_asked; /* relative time of the wake-up the bridge holds */
};

#define PRIO_SHIFT 56

static inline bool event_before(const event *a, const event *b)
{
    return a->time < b->time || (a->time == b->time && a->key < b->key);
}

static void heap_push(scim_kernel *k, const event *e)
{
    if (k->len == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 1024;
        event *n = realloc(k->heap, ncap * sizeof *n);
        if (!n) {
            k->alloc_failed = true;
            k->stop = true;
            return;
        }
        k->heap = n;
        k->cap = ncap;
    }
    size_t i = k->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(e, &k->heap[parent]))
            break;
        k->heap[i] = k->heap[parent];
        i = parent;
    }
    k->heap[i] = *e;
}

static void heap_pop(scim_kernel *k, event *out)
{
    *out = k->heap[0];
    event last = k->heap[--k->len];
    size_t i = 0, n = k->len;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n)
            break;
        size_t c = (l + 1 < n && event_before(&k->heap[l + 1], &k->heap[l])) ? l + 1 : l;
        if (!event_before(&k->heap[c], &last))
            break;
        k->heap[i] = k->heap[c];
        i = c;
    }
    if (n)
        k->heap[i] = last;
}

/* Execute every event due at or before `t` (and within the run limit),
 * advancing now as we go. */
static void dispatch_due(scim_kernel *k, scim_time_t t)
{
    k->dispatching = true;
    while (k->len && !k->stop && k->heap[0].time <= t && k->heap[0].time <= k->limit) {
        event e;
        heap_pop(k, &e);
        k->now = e.time;
        k->executed++;
        e.fn(e.ctx, e.arg);
        if (k->poll && (k->executed & k->poll_mask) == 0)
            k->poll(k->poll_ctx, k);
    }
    k->dispatching = false;
}

/* Relative time of the next wake-up this kernel needs, or SCIM_TIME_MAX. */
static scim_time_t next_wake(const scim_kernel *k)
{
    if (k->stop || !k->len || k->heap[0].time > k->limit)
        return SCIM_TIME_MAX;
    return k->heap[0].time;
}

static uint64_t sc_wake(void *ctx, uint64_t now_abs)
{
    scim_kernel *k = ctx;
    k->now = now_abs - k->base_ps;
    k->wakeups++;
    k->wake_asked = SCIM_TIME_MAX;
    dispatch_due(k, k->now);
    scim_time_t next = next_wake(k);
    k->wake_asked = next;
    return next == SCIM_TIME_MAX ? SCIM_SC_NEVER : next + k->base_ps;
}

static void sc_request_wake(scim_kernel *k)
{
    scim_time_t next = next_wake(k);
    if (next != k->wake_asked) {
        k->wake_asked = next;
        scim_sc_wake_at(k->client, next == SCIM_TIME_MAX ? SCIM_SC_NEVER : next + k->base_ps);
    }
}

scim_kernel *scim_kernel_create(scim_backend backend, scim_err *err)
{
    if (backend != SCIM_BACKEND_SYSTEMC && backend != SCIM_BACKEND_NATIVE) {
        scim_err_set(err, SCIM_EINVAL, "unknown kernel backend %d", (int)backend);
        return NULL;
    }
    scim_kernel *k = calloc(1, sizeof *k);
    if (!k) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the event kernel");
        return NULL;
    }
    k->backend = backend;
    k->limit = SCIM_TIME_MAX;
    k->wake_asked = SCIM_TIME_MAX;
    k->client = -1;
    if (backend == SCIM_BACKEND_SYSTEMC) {
        int c = scim_sc_attach(sc_wake, k, err);
        if (c < 0) {
            free(k);
            return NULL;
        }
        k->client = c;
        k->base_ps = scim_sc_now_ps();
    }
    return k;
}

void scim_kernel_destroy(scim_kernel *k)
{
    if (!k)
        return;
    if (k->client >= 0)
        scim_sc_detach(k->client);
    free(k->heap);
    free(k);
}

scim_backend scim_kernel_backend(const scim_kernel *k) { return k->backend; }

scim_time_t scim_kernel_now(const scim_kernel *k)
{
    /* A SystemC host may have advanced time since our last wake-up. */
    if (k->backend == SCIM_BACKEND_SYSTEMC && !k->dispatching) {
        uint64_t abs = scim_sc_now_ps();
        if (abs - k->base_ps > k->now)
            return abs - k->base_ps;
    }
    return k->now;
}

void scim_kernel_schedule_at(scim_kernel *k, scim_time_t when, int prio,
                             scim_event_fn fn, void *ctx, uint64_t arg)
{
    if (k->backend == SCIM_BACKEND_SYSTEMC && !k->dispatching)
        k->now = scim_kernel_now(k);
    if (when < k->now)
        when = k->now; /* the past is not reachable; callers pass now + delay */
    event e = {when, ((uint64_t)(prio & 0xff) << PRIO_SHIFT) | (k->seq++ & ((1ull << PRIO_SHIFT) - 1)),
               fn, ctx, arg};
    heap_push(k, &e);
    if (k->backend == SCIM_BACKEND_SYSTEMC && !k->dispatching && when < k->wake_asked)
        sc_request_wake(k);
}

void scim_kernel_schedule(scim_kernel *k, scim_time_t delay, int prio,
                          scim_event_fn fn, void *ctx, uint64_t arg)
{
    scim_time_t now = (k->backend == SCIM_BACKEND_SYSTEMC && !k->dispatching) ? scim_kernel_now(k) : k->now;
    scim_kernel_schedule_at(k, now + delay, prio, fn, ctx, arg);
}

static int finish_run(scim_kernel *k, int rc, scim_err *err)
{
    if (k->alloc_failed)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory growing the event queue (%zu events)", k->len);
    if (k->failure.code)
        return scim_err_set(err, k->failure.code, "%s", k->failure.msg);
    return rc;
}

static int run_bounded(scim_kernel *k, scim_time_t limit, scim_err *err)
{
    if (k->failure.code || k->alloc_failed)
        return finish_run(k, 0, err);
    k->stop = false;
    k->limit = limit;
    int rc = 0;
    if (k->backend == SCIM_BACKEND_NATIVE) {
        dispatch_due(k, limit);
        if (limit != SCIM_TIME_MAX && !k->stop && limit > k->now)
            k->now = limit;
    } else {
        sc_request_wake(k);
        if (limit == SCIM_TIME_MAX)
            rc = scim_sc_run(err);
        else
            rc = scim_sc_run_until(k->base_ps + limit, err);
        if (limit != SCIM_TIME_MAX && !k->stop && !k->failure.code) {
            /* Events at exactly `limit` may still be queued if SystemC
             * returned before their delta cycle. */
            dispatch_due(k, limit);
            if (limit > k->now)
                k->now = limit;
        }
    }
    k->limit = SCIM_TIME_MAX;
    if (k->backend == SCIM_BACKEND_SYSTEMC) {
        /* A stopped or failed kernel must not run when something else
         * drives SystemC: no wake-up stays registered (the next schedule()
         * or run() registers one again). One that reached its limit stays
         * registered, so a platform's own sc_start() keeps advancing it. */
        k->wake_asked = SCIM_TIME_MAX;
        if (k->stop || k->failure.code)
            scim_sc_wake_at(k->client, SCIM_SC_NEVER);
        else
            sc_request_wake(k);
    }
    return finish_run(k, rc, err);
}

int scim_kernel_run(scim_kernel *k, scim_err *err) { return run_bounded(k, SCIM_TIME_MAX, err); }

int scim_kernel_run_until(scim_kernel *k, scim_time_t t, scim_err *err)
{
    if (t < k->now)
        return scim_err_set(err, SCIM_EINVAL, "run_until(%llu ps) is before now (%llu ps)",
                            (unsigned long long)t, (unsigned long long)k->now);
    return run_bounded(k, t, err);
}

void scim_kernel_stop(scim_kernel *k) { k->stop = true; }

void scim_kernel_fail(scim_kernel *k, int code, const char *fmt, ...)
{
    if (k->failure.code == 0) {
        va_list ap;
        va_start(ap, fmt);
        scim_err_vset(&k->failure, code, fmt, ap);
        va_end(ap);
    }
    k->stop = true;
}

bool scim_kernel_failed(const scim_kernel *k) { return k->failure.code != 0; }

void scim_kernel_set_poll(scim_kernel *k, scim_poll_fn fn, void *ctx, unsigned every_log2)
{
    k->poll = fn;
    k->poll_ctx = ctx;
    k->poll_mask = (every_log2 >= 63 ? ~0ull : (1ull << every_log2)) - 1;
}
uint64_t scim_kernel_events_executed(const scim_kernel *k) { return k->executed; }
uint64_t scim_kernel_wakeups(const scim_kernel *k) { return k->wakeups; }
size_t scim_kernel_events_pending(const scim_kernel *k) { return k->len; }
scim_time_t scim_kernel_next_time(const scim_kernel *k) { return k->len ? k->heap[0].time : SCIM_TIME_MAX; }

int scim_clock_init(scim_clock *c, uint64_t hz, scim_err *err)
{
    if (hz == 0 || hz > 1000000000000000ull)
        return scim_err_set(err, SCIM_ERANGE, "clock frequency %llu Hz is out of range (1 Hz .. 1 PHz)",
                            (unsigned long long)hz);
    c->hz = hz;
    c->period_fs = (1000000000000000ull + hz / 2) / hz;
    return 0;
}

/* Exact rational arithmetic (n * 10^12 / hz, rounded), so that no number of
 * cycles drifts, whatever the frequency. */
scim_time_t scim_clock_cycles(const scim_clock *c, uint64_t n)
{
    return (scim_time_t)(((unsigned __int128)n * 1000000000000ull + c->hz / 2) / c->hz);
}

scim_time_t scim_clock_next_edge(const scim_clock *c, scim_time_t t)
{
    uint64_t i = (uint64_t)(((unsigned __int128)t * c->hz) / 1000000000000ull);
    if (i > 0)
        i--;
    for (;;) {
        scim_time_t edge = scim_clock_cycles(c, i);
        if (edge >= t)
            return edge;
        i++;
    }
}

/* Event kernel: a 4-ary min-heap of 16-byte keys (time, then priority and
 * sequence packed in one word), with the events' payloads kept apart. The
 * key packs priority (8 bits) above a 56-bit insertion sequence, so one
 * 128-bit compare orders two events — 2^56 events is more than any run
 * schedules.
 *
 * Why this shape: a pop compares keys only, and four siblings are one
 * 64-byte cache line (the root sits at index 3, so every sibling group
 * starts at a multiple of 4), so a pop costs about log4(depth) lines.
 *
 * Event FIFOs (core/kfifo.h) keep the heap small: a source whose events are
 * scheduled in key order (a link direction, a memory controller's
 * responses) holds its events in a ring and has only its oldest one in the
 * heap. Every event still gets its key at schedule time from the one
 * sequence counter, so the order of execution is exactly the order of the
 * keys, whether an event waited in a ring or in the heap.
 *
 * With the SystemC backend the heap is drained by the bridge's single
 * SC_METHOD: at each wake-up every event due at that time is executed here
 * (including zero-delay events they schedule), then the bridge is told the
 * next time. SystemC therefore sees one wake-up per distinct time. The
 * kernel's time 0 is the bridge's base for it (scim_sc_base_ps): while
 * another kernel runs SystemC itself, this one is paused and its base
 * moves on, so a run of one simulation never executes another's events.
 */
#include "scimitar/kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernel_internal.h"
#include "core/sc_bridge.h"

static __attribute__((cold, noinline)) bool heap_grow(scim_kernel *k)
{
    uint32_t ncap = k->cap ? k->cap * 2 : 1024;
    hkey *nk = aligned_alloc(LINE, ncap * sizeof *nk);
    uint32_t *nw = realloc(k->who, ncap * sizeof *nw);
    if (!nk || !nw) {
        free(nk);
        if (nw)
            k->who = nw;
        return false;
    }
    if (k->key)
        memcpy(nk, k->key, (ROOT + k->n) * sizeof *nk);
    free(k->key);
    k->key = nk;
    k->who = nw;
    k->cap = ncap;
    return true;
}

static inline __attribute__((always_inline)) void heap_push_inline(scim_kernel *k, hkey key, uint32_t who)
{
    if (k->hole) {
        /* the root the running event left: one sift-down from there */
        k->hole = false;
        heap_sift_root(k, key, who);
        return;
    }
    if (ROOT + k->n >= k->cap && !heap_grow(k)) {
        k->alloc_failed = true;
        k->stop = true;
        return;
    }
    uint32_t i = ROOT + k->n++;
    while (i > ROOT) {
        uint32_t p = parent(i);
        if (!key_lt(key, k->key[p]))
            break;
        k->key[i] = k->key[p];
        k->who[i] = k->who[p];
        i = p;
    }
    k->key[i] = key;
    k->who[i] = who;
}

static void heap_push(scim_kernel *k, hkey key, uint32_t who) { heap_push_inline(k, key, who); }

/* Room for more payloads; false if out of host memory (or of slot
 * numbers: they leave the owner's two flag bits free). */
static __attribute__((cold, noinline)) bool payload_grow(scim_kernel *k)
{
    uint32_t ncap = k->pl_cap ? k->pl_cap * 2 : 1024;
    if (ncap > TIMER_BIT)
        return false;
    payload *np = realloc(k->pl, ncap * sizeof *np);
    if (!np)
        return false;
    k->pl = np;
    uint32_t *nf = realloc(k->pl_free, ncap * sizeof *nf);
    if (!nf)
        return false;
    k->pl_free = nf;
    for (uint32_t i = ncap; i-- > k->pl_cap;)
        k->pl_free[k->pl_nfree++] = i;
    k->pl_cap = ncap;
    return true;
}

static uint32_t payload_slot(scim_kernel *k)
{
    if (k->pl_nfree == 0 && !payload_grow(k))
        return UINT32_MAX;
    return k->pl_free[--k->pl_nfree];
}

/* Only timers are left: inside run(), they matter only while the model
 * has unfinished work they may unstick (a timeout); otherwise the run is
 * over and its time is the last real event's. run_until() fires them, as
 * its time passes anyway. */
static bool timers_idle(scim_kernel *k)
{
    return k->unbounded && !(k->work && k->work(k->work_ctx));
}

/* The earliest dormant event, after one was added or removed (there are
 * as many slots as agents with a dormant event at once: a few). */
void scim_kernel_dormant_rescan(scim_kernel *k)
{
    k->dm_first = HKEY_NONE;
    if (k->dm_used == 0)
        return;
    for (uint32_t i = 0; i < k->dm_cap; i++)
        if (k->dm[i].used && k->dm[i].key < k->dm_first) {
            k->dm_first = k->dm[i].key;
            k->dm_min = i;
        }
}

/* The next count of events executed at which the host is polled: a
 * multiple of the period (executed & poll_mask == 0), or never. */
static void poll_schedule(scim_kernel *k)
{
    k->poll_at = k->poll && ~k->poll_mask ? (k->executed | k->poll_mask) + 1 : UINT64_MAX;
}

static __attribute__((noinline)) void poll_now(scim_kernel *k)
{
    k->poll(k->poll_ctx, k);
    poll_schedule(k); /* (the hook may have changed the period) */
}

/* Execute every event due at or before `t` (and within the run limit),
 * advancing now as we go. */
static void dispatch_due(scim_kernel *k, scim_time_t t)
{
    scim_time_t bound = t < k->limit ? t : k->limit;
    k->bound = bound;
    /* every key due at or before bound is below this one: a key's low
     * word is never all ones (2^56 - 1 sequence numbers are never
     * reached), so one compare also stops at HKEY_NONE, an empty queue */
    hkey last = ((hkey)bound << 64) | ~0ull;
    k->dispatching = true;
    k->clk.exact = true;
    while (!k->stop) {
        /* a dormant event first when its key is the smallest; key[ROOT]
         * is HKEY_NONE when the heap is empty */
        hkey top = k->key[ROOT];
        if (__builtin_expect(k->holding, 0)) {
            /* the event the last handler held: at once if it is the next */
            hkey held = k->held_key;
            if (held < top && held < k->dm_first && held < last) {
                fifo *q = &k->fifos[k->held_fifo];
                k->holding = false;
                k->clk.now = key_time(held);
                k->clk.pending--;
                k->executed++;
                q->fn(q->ctx, k->held_arg);
                heap_settle(k);
                if (k->executed >= k->poll_at)
                    poll_now(k);
                continue;
            }
            scim_kernel_held_flush_cold(k);
            top = k->key[ROOT];
        }
        if (__builtin_expect(k->dm_first < top, 0)) {
            if (k->dm_first >= last || (k->clk.pending == k->timers && timers_idle(k)))
                break;
            k->clk.now = key_time(k->dm_first);
            scim_kernel_dormant_pass(k);
            continue;
        }
        if (top >= last)
            break;
        if (k->clk.pending == k->timers && timers_idle(k))
            break;
        k->clk.now = key_time(top);
        uint32_t who = k->who[ROOT];
        scim_event_fn fn;
        void *ctx;
        uint64_t arg;
        if (who & FIFO_BIT) {
            fifo *q = &k->fifos[who & ~FIFO_BIT];
            arg = q->ring[q->head].arg;
            fn = q->fn;
            ctx = q->ctx;
            q->head = (q->head + 1) & q->mask;
            if (--q->len)
                heap_sift_root(k, q->ring[q->head].key, who);
            else
                k->hole = true;
        } else {
            if (who & TIMER_BIT) {
                who &= ~TIMER_BIT;
                k->timers--;
            }
            const payload *p = &k->pl[who];
            fn = p->fn;
            ctx = p->ctx;
            arg = p->arg;
            k->pl_free[k->pl_nfree++] = who;
            k->hole = true;
        }
        k->clk.pending--;
        k->executed++;
        fn(ctx, arg);
        heap_settle(k);
        if (k->executed >= k->poll_at)
            poll_now(k);
    }
    held_flush(k); /* (stopped) */
    k->dispatching = false;
    k->clk.exact = k->backend == SCIM_BACKEND_NATIVE;
}

/* Relative time of the next wake-up this kernel needs, or SCIM_TIME_MAX. */
static scim_time_t next_wake(const scim_kernel *k)
{
    scim_time_t next = scim_kernel_next_time(k);
    if (k->stop || next == SCIM_TIME_MAX || next > k->limit)
        return SCIM_TIME_MAX;
    if (k->clk.pending == k->timers && timers_idle((scim_kernel *)k))
        return SCIM_TIME_MAX;
    return next;
}

static uint64_t sc_wake(void *ctx, uint64_t now_abs)
{
    scim_kernel *k = ctx;
    k->clk.now = now_abs - scim_sc_base_ps(k->client);
    k->wakeups++;
    k->wake_asked = SCIM_TIME_MAX;
    /* one wake-up per quantum where nothing else can see the events run
     * ahead of SystemC's clock (kernel.quantum); else one per distinct
     * time, so a platform's processes interleave exactly */
    scim_time_t horizon = k->clk.now;
    if (k->quantum && scim_sc_alone(k->client))
        horizon = k->quantum > SCIM_TIME_MAX - k->clk.now ? SCIM_TIME_MAX : k->clk.now + k->quantum;
    dispatch_due(k, horizon);
    scim_time_t next = next_wake(k);
    k->wake_asked = next;
    return next == SCIM_TIME_MAX ? SCIM_SC_NEVER : next + scim_sc_base_ps(k->client);
}

void scim_kernel_request_wake(scim_kernel *k)
{
    scim_time_t next = next_wake(k);
    if (next != k->wake_asked) {
        k->wake_asked = next;
        scim_sc_wake_at(k->client, next == SCIM_TIME_MAX ? SCIM_SC_NEVER : next + scim_sc_base_ps(k->client));
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
    k->clk.exact = backend == SCIM_BACKEND_NATIVE;
    k->dm_first = HKEY_NONE;
    k->limit = SCIM_TIME_MAX;
    k->wake_asked = SCIM_TIME_MAX;
    k->poll_at = UINT64_MAX;
    k->client = -1;
    if (!heap_grow(k)) {
        free(k->who);
        free(k);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the event kernel");
        return NULL;
    }
    k->key[ROOT] = HKEY_NONE; /* the empty heap's sentinel */
    if (backend == SCIM_BACKEND_SYSTEMC) {
        int c = scim_sc_attach(sc_wake, k, err);
        if (c < 0) {
            free(k->key);
            free(k->who);
            free(k);
            return NULL;
        }
        k->client = c;
    }
    return k;
}

void scim_kernel_destroy(scim_kernel *k)
{
    if (!k)
        return;
    if (k->client >= 0)
        scim_sc_detach(k->client);
    for (uint32_t i = 0; i < k->n_fifos; i++)
        free(k->fifos[i].ring);
    free(k->fifos);
    free(k->dm);
    free(k->key);
    free(k->who);
    free(k->pl);
    free(k->pl_free);
    free(k);
}

scim_backend scim_kernel_backend(const scim_kernel *k) { return k ? k->backend : SCIM_BACKEND_NATIVE; }

scim_time_t scim_kernel_now(const scim_kernel *k)
{
    if (!k)
        return 0;
    /* A SystemC host may have advanced time since our last wake-up. */
    if (!k->clk.exact) {
        uint64_t abs = scim_sc_now_ps() - scim_sc_base_ps(k->client);
        if (abs > k->clk.now)
            return abs;
    }
    return k->clk.now;
}

scim_time_t scim_kernel_now_cold(const scim_kernel *k) { return scim_kernel_now(k); }

static inline void after_schedule(scim_kernel *k, scim_time_t when, int prio)
{
    k->clk.pending++;
    show_watch(k, when, prio);
    if (!k->clk.exact && when < k->wake_asked)
        scim_kernel_request_wake(k);
}


/* after_schedule for a FIFO's event, shown to the watch or not */
static inline void after_fifo_push(scim_kernel *k, scim_time_t when, int prio, bool shown)
{
    k->clk.pending++;
    if (shown)
        show_watch(k, when, prio);
    if (!k->clk.exact && when < k->wake_asked)
        scim_kernel_request_wake(k);
}

static bool push_payload(scim_kernel *k, hkey key, scim_event_fn fn, void *ctx, uint64_t arg, uint32_t mark)
{
    uint32_t slot = payload_slot(k);
    if (slot == UINT32_MAX) {
        k->alloc_failed = true;
        k->stop = true;
        return false;
    }
    k->pl[slot] = (payload){fn, ctx, arg};
    heap_push(k, key, slot | mark);
    return true;
}

/* A NULL kernel or handler schedules nothing (a caller's bug, but not a
 * crash in the library). */
void scim_kernel_schedule_at(scim_kernel *k, scim_time_t when, int prio,
                             scim_event_fn fn, void *ctx, uint64_t arg)
{
    if (!k || !fn)
        return;
    hkey key = make_key(k, &when, prio);
    push_payload(k, key, fn, ctx, arg, 0);
    after_schedule(k, when, prio);
}

void scim_kernel_schedule_timer(scim_kernel *k, scim_time_t delay, int prio, scim_event_fn fn, void *ctx,
                                uint64_t arg)
{
    if (!k || !fn)
        return;
    scim_time_t when = ((!k->clk.exact) ? scim_kernel_now(k) : k->clk.now) + delay;
    hkey key = make_key(k, &when, prio);
    if (push_payload(k, key, fn, ctx, arg, TIMER_BIT))
        k->timers++;
    after_schedule(k, when, prio);
}

void scim_kernel_set_work_check(scim_kernel *k, scim_work_fn fn, void *ctx)
{
    if (!k)
        return;
    k->work = fn;
    k->work_ctx = ctx;
}

size_t scim_kernel_timers_pending(const scim_kernel *k) { return k ? k->timers : 0; }

void scim_kernel_schedule(scim_kernel *k, scim_time_t delay, int prio,
                          scim_event_fn fn, void *ctx, uint64_t arg)
{
    if (!k)
        return;
    scim_time_t now = (!k->clk.exact) ? scim_kernel_now(k) : k->clk.now;
    scim_kernel_schedule_at(k, now + delay, prio, fn, ctx, arg);
}

int scim_kernel_fifo_create(scim_kernel *k, scim_event_fn fn, void *ctx)
{
    if (k->n_fifos >= FIFO_BIT - 1)
        return SCIM_ERANGE;
    fifo *nf = realloc(k->fifos, (k->n_fifos + 1) * sizeof *nf);
    if (!nf)
        return SCIM_ENOMEM;
    k->fifos = nf;
    nf[k->n_fifos] = (fifo){fn, ctx, NULL, 0, 0, 0};
    return (int)k->n_fifos++;
}

static __attribute__((cold, noinline)) bool fifo_grow(fifo *q)
{
    uint32_t cap = q->ring ? (q->mask + 1) * 2 : 64;
    fifo_ent *r = malloc(cap * sizeof *r);
    if (!r)
        return false;
    for (uint32_t i = 0; i < q->len; i++)
        r[i] = q->ring[(q->head + i) & q->mask];
    free(q->ring);
    q->ring = r;
    q->head = 0;
    q->mask = cap - 1;
    return true;
}

/* Queue arg on FIFO id under key (taken from the one sequence). */
bool scim_kernel_fifo_push(scim_kernel *k, fifo *q, hkey key, uint64_t arg)
{
    if (q->len == 0) {
        if (!q->ring && !fifo_grow(q)) {
            k->alloc_failed = true;
            k->stop = true;
            return false;
        }
        q->head = 0;
        q->ring[0] = (fifo_ent){key, arg};
        q->len = 1;
        heap_push(k, key, FIFO_BIT | (uint32_t)(q - k->fifos));
    } else if (key_lt(key, q->ring[(q->head + q->len - 1) & q->mask].key)) {
        /* out of order: an ordinary event with the same key and handler */
        return push_payload(k, key, q->fn, q->ctx, arg, 0);
    } else {
        if (q->len == q->mask + 1 && !fifo_grow(q)) {
            k->alloc_failed = true;
            k->stop = true;
            return false;
        }
        q->ring[(q->head + q->len++) & q->mask] = (fifo_ent){key, arg};
    }
    return true;
}

/* `shown`: the event is shown to the fast path's watch (every FIFO's but
 * the watcher's own completions', scim_kernel_fifo_at_unwatched). */
static __attribute__((noinline)) void fifo_at_general(scim_kernel *k, int id, scim_time_t when, int prio, uint64_t arg,
                                                       bool shown)
{
    hkey key = make_key(k, &when, prio);
    if (scim_kernel_fifo_push(k, &k->fifos[id], key, arg))
        after_fifo_push(k, when, prio, shown);
}

static __attribute__((noinline)) void fifo_at_keyed(scim_kernel *k, fifo *q, hkey key, scim_time_t when, int prio,
                                                     uint64_t arg, bool shown)
{
    if (scim_kernel_fifo_push(k, q, key, arg))
        after_fifo_push(k, when, prio, shown);
}

static __attribute__((noinline)) void watch_cold(scim_kernel *k, scim_time_t when, int prio)
{
    k->watch(k->watch_ctx, when, prio);
}

/* An empty FIFO (its ring allocated) taking an event at an exact time:
 * scim_kernel_fifo_push's first case with the heap push in line. */
static inline __attribute__((always_inline)) void fifo_first(scim_kernel *k, fifo *q, scim_time_t when, int prio,
                                                               uint64_t arg, bool shown)
{
    hkey key = make_key(k, &when, prio);
    q->head = 0;
    q->ring[0] = (fifo_ent){key, arg};
    q->len = 1;
    uint32_t who = FIFO_BIT | (uint32_t)(q - k->fifos);
    heap_push_inline(k, key, who); /* (in line: no call for about one event in four) */
    k->clk.pending++;
    if (shown)
        show_watch(k, when, prio);
}

static __attribute__((noinline)) void fifo_at_first(scim_kernel *k, fifo *q, scim_time_t when, int prio, uint64_t arg)
{
    fifo_first(k, q, when, prio, arg, true);
}

static __attribute__((noinline)) void fifo_at_first_unshown(scim_kernel *k, fifo *q, scim_time_t when, int prio,
                                                             uint64_t arg)
{
    fifo_first(k, q, when, prio, arg, false);
}

/* The common case, a busy FIFO with room taking an event in order at an
 * exact time, makes no call but in tail position, so it needs no stack
 * frame; the rest goes the general way. Same key, same steps. */
static inline __attribute__((always_inline)) void fifo_at(scim_kernel *k, int id, scim_time_t when, int prio,
                                                          uint64_t arg, bool shown)
{
    fifo *q = &k->fifos[id];
    uint32_t len = q->len;
    if (!k->clk.exact || len == 0 || len > q->mask) {
        if (k->clk.exact && len == 0 && q->ring)
            (shown ? fifo_at_first : fifo_at_first_unshown)(k, q, when, prio, arg);
        else
            fifo_at_general(k, id, when, prio, arg, shown);
        return;
    }
    hkey key = make_key(k, &when, prio);
    if (key_lt(key, q->ring[(q->head + len - 1) & q->mask].key)) {
        fifo_at_keyed(k, q, key, when, prio, arg, shown); /* out of order */
        return;
    }
    q->ring[(q->head + len) & q->mask] = (fifo_ent){key, arg};
    q->len = len + 1;
    k->clk.pending++;
    /* show_watch, its call in tail position; the time is exact, so no
     * SystemC wake-up to ask (after_schedule) */
    if (shown && k->watch && when - k->clk.now >= k->watch_lead)
        watch_cold(k, when, prio);
}

void scim_kernel_fifo_at(scim_kernel *k, int id, scim_time_t when, int prio, uint64_t arg)
{
    fifo_at(k, id, when, prio, arg, true);
}

void scim_kernel_fifo_at_unwatched(scim_kernel *k, int id, scim_time_t when, int prio, uint64_t arg)
{
    fifo_at(k, id, when, prio, arg, false);
}

void scim_kernel_held_flush_cold(scim_kernel *k)
{
    k->holding = false;
    if (!scim_kernel_fifo_push(k, &k->fifos[k->held_fifo], k->held_key, k->held_arg))
        k->clk.pending--; /* (out of host memory: the run stops) */
}

void scim_kernel_fifo_at_next(scim_kernel *k, int id, scim_time_t when, int prio, uint64_t arg)
{
    if (!k->dispatching || !k->clk.exact) {
        fifo_at(k, id, when, prio, arg, true);
        return;
    }
    held_flush(k);
    k->held_key = make_key(k, &when, prio);
    k->held_fifo = (uint32_t)id;
    k->held_arg = arg;
    k->holding = true;
    k->clk.pending++;
    show_watch(k, when, prio);
}

int scim_kernel_schedule_dormant(scim_kernel *k, scim_time_t when, int prio, scim_event_fn fn, scim_event_fn passed,
                                 void *ctx, uint64_t arg)
{
    uint32_t h = 0;
    if (k->dm_used) /* most often none is (a replay engine's one pump passed or woken) */
        while (h < k->dm_cap && k->dm[h].used)
            h++;
    if (h == k->dm_cap) {
        uint32_t ncap = k->dm_cap ? k->dm_cap * 2 : 4;
        dormant *n = realloc(k->dm, ncap * sizeof *n);
        if (!n)
            return -1;
        for (uint32_t i = k->dm_cap; i < ncap; i++)
            n[i].used = false;
        k->dm = n;
        k->dm_cap = ncap;
    }
    hkey key = make_key(k, &when, prio);
    k->dm[h] = (dormant){key, fn, passed, ctx, arg, true};
    k->dm_used++;
    if (key < k->dm_first) {
        k->dm_first = key;
        k->dm_min = h;
    }
    after_schedule(k, when, prio);
    return (int)h;
}

void scim_kernel_wake(scim_kernel *k, int h)
{
    dormant *e = &k->dm[h];
    e->used = false;
    k->dm_used--;
    if (k->dm_min == (uint32_t)h)
        scim_kernel_dormant_rescan(k);
    /* already counted pending and shown to the watch when scheduled */
    push_payload(k, e->key, e->fn, e->ctx, e->arg, 0);
    if (!k->clk.exact && key_time(e->key) < k->wake_asked)
        scim_kernel_request_wake(k); /* as when it was scheduled (a stopped run forgot that wake-up) */
}

static int finish_run(scim_kernel *k, int rc, scim_err *err)
{
    if (k->alloc_failed)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory growing the event queue (%zu events)", k->clk.pending);
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
    k->unbounded = limit == SCIM_TIME_MAX;
    int rc = 0;
    if (k->backend == SCIM_BACKEND_NATIVE) {
        dispatch_due(k, limit);
        if (limit != SCIM_TIME_MAX && !k->stop && limit > k->clk.now)
            k->clk.now = limit;
    } else {
        scim_kernel_request_wake(k);
        if (limit == SCIM_TIME_MAX)
            rc = scim_sc_run(k->client, err);
        else
            rc = scim_sc_run_until(k->client, scim_sc_base_ps(k->client) + limit, err);
        if (limit != SCIM_TIME_MAX && !k->stop && !k->failure.code) {
            /* Events at exactly `limit` may still be queued if SystemC
             * returned before their delta cycle. */
            dispatch_due(k, limit);
            if (limit > k->clk.now)
                k->clk.now = limit;
        }
    }
    k->limit = SCIM_TIME_MAX;
    k->unbounded = false;
    if (k->backend == SCIM_BACKEND_SYSTEMC) {
        /* A stopped or failed kernel must not run when something else
         * drives SystemC: no wake-up stays registered (the next schedule()
         * or run() registers one again). One that reached its limit stays
         * registered, so a platform's own sc_start() keeps advancing it. */
        k->wake_asked = SCIM_TIME_MAX;
        if (k->stop || k->failure.code)
            scim_sc_wake_at(k->client, SCIM_SC_NEVER);
        else
            scim_kernel_request_wake(k);
    }
    return finish_run(k, rc, err);
}

int scim_kernel_run(scim_kernel *k, scim_err *err)
{
    if (!k)
        return scim_err_set(err, SCIM_EINVAL, "scim_kernel_run: the kernel is NULL");
    return run_bounded(k, SCIM_TIME_MAX, err);
}

int scim_kernel_run_until(scim_kernel *k, scim_time_t t, scim_err *err)
{
    if (!k)
        return scim_err_set(err, SCIM_EINVAL, "scim_kernel_run_until: the kernel is NULL");
    if (t < k->clk.now)
        return scim_err_set(err, SCIM_EINVAL, "run_until(%llu ps) is before now (%llu ps)",
                            (unsigned long long)t, (unsigned long long)k->clk.now);
    return run_bounded(k, t, err);
}

void scim_kernel_stop(scim_kernel *k)
{
    if (k)
        k->stop = true;
}

void scim_kernel_fail(scim_kernel *k, int code, const char *fmt, ...)
{
    if (!k)
        return;
    if (k->failure.code == 0) {
        va_list ap;
        va_start(ap, fmt);
        scim_err_vset(&k->failure, code, fmt, ap);
        va_end(ap);
    }
    k->stop = true;
}

bool scim_kernel_failed(const scim_kernel *k) { return k && k->failure.code != 0; }

void scim_kernel_set_poll(scim_kernel *k, scim_poll_fn fn, void *ctx, unsigned every_log2)
{
    if (!k)
        return;
    k->poll = fn;
    k->poll_ctx = ctx;
    k->poll_mask = (every_log2 >= 63 ? ~0ull : (1ull << every_log2)) - 1;
    poll_schedule(k);
}
uint64_t scim_kernel_events_executed(const scim_kernel *k) { return k ? k->executed : 0; }
uint64_t scim_kernel_wakeups(const scim_kernel *k) { return k ? k->wakeups : 0; }

void scim_kernel_set_quantum(scim_kernel *k, scim_time_t quantum)
{
    if (k)
        k->quantum = quantum;
}
size_t scim_kernel_events_pending(const scim_kernel *k) { return k ? k->clk.pending : 0; }
scim_time_t scim_kernel_next_time(const scim_kernel *k)
{
    if (!k)
        return SCIM_TIME_MAX;
    heap_settle((scim_kernel *)k); /* (a handler asking: the kernel is never const) */
    held_flush((scim_kernel *)k);
    hkey next = k->key[ROOT];
    if (k->dm_first < next)
        next = k->dm_first;
    return next == HKEY_NONE ? SCIM_TIME_MAX : key_time(next);
}

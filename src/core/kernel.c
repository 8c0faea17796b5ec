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

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "core/sc_bridge.h"

/* time in the high half, prio << 56 | seq in the low half: one unsigned
 * compare orders two events */
typedef unsigned __int128 hkey;

static inline scim_time_t key_time(hkey k) { return (scim_time_t)(k >> 64); }

/* An event scheduled directly (not through a FIFO). */
typedef struct payload {
    scim_event_fn fn;
    void *ctx;
    uint64_t arg;
} payload;

typedef struct fifo_ent {
    hkey key;
    uint64_t arg;
} fifo_ent;

typedef struct fifo {
    scim_event_fn fn;
    void *ctx;
    fifo_ent *ring;
    uint32_t head, len, mask; /* capacity mask+1 is a power of two */
} fifo;

/* A dormant event (core/kfifo.h): beside the heap until woken or passed. */
typedef struct dormant {
    hkey key;
    scim_event_fn fn, passed;
    void *ctx;
    uint64_t arg;
    bool used;
} dormant;

#define HKEY_NONE (~(hkey)0)

/* heap entry owner: a payload slot (TIMER_BIT marks a timer's), or
 * FIFO_BIT | fifo index */
#define FIFO_BIT 0x80000000u
#define TIMER_BIT 0x40000000u
#define ROOT 3u
#define LINE 64

struct scim_kernel {
    scim_kernel_clock clk; /* first: read inline (core/kclock.h) */
    scim_backend backend;
    hkey *key;      /* [ROOT, ROOT + n): the heap; 64-byte aligned */
    uint32_t *who;  /* owner of key[i] */
    uint32_t n, cap; /* cap counts from index 0 */
    payload *pl;
    uint32_t *pl_free;
    uint32_t pl_nfree, pl_cap;
    fifo *fifos;
    uint32_t n_fifos;
    dormant *dm;
    uint32_t dm_cap, dm_min; /* dm_min: the earliest in use, when dm_first is not HKEY_NONE */
    uint32_t dm_used;        /* slots in use: most often 0 or 1, no scan needed */
    hkey dm_first;           /* its key; HKEY_NONE when no dormant event is pending */
    size_t timers;  /* of which timers (scim_kernel_schedule_timer) */
    bool unbounded; /* inside run(): timers alone end it when no work is left */
    scim_work_fn work;
    void *work_ctx;
    uint64_t seq;
    uint64_t executed;
    uint64_t wakeups; /* SystemC wake-ups (distinct times dispatched) */
    bool stop;
    bool dispatching;
    bool alloc_failed;
    scim_err failure;
    scim_time_t limit; /* run_bounded bound; SCIM_TIME_MAX when unbounded */
    scim_time_t bound; /* inside dispatch_due: the last time it may run */
    /* host-side hook between events (watchdog, progress): not an event, so
     * it cannot change what the model does */
    scim_poll_fn poll;
    void *poll_ctx;
    uint64_t poll_mask;
    /* the device fast path (core/fast.h) */
    bool fast;             /* allowed in this run */
    bool fast_conflict;    /* it met something it cannot reproduce: the run must be redone without */
    uint64_t skipped;      /* events the fast path stood in for (sim.events counts them) */
    scim_time_t watch_lead;
    scim_watch_fn watch;
    void *watch_ctx;
    /* SystemC backend */
    int client;
    scim_time_t wake_asked; /* relative time of the wake-up the bridge holds */
    scim_time_t quantum;    /* how far one wake-up may run ahead, when alone (0: one time per wake-up) */
};

#define PRIO_SHIFT 56

static inline bool key_lt(hkey a, hkey b) { return a < b; }

/* Children of i are 4i-8 .. 4i-5; the parent of j is j/4 + 2. */
static inline uint32_t first_child(uint32_t i) { return 4 * i - 8; }
static inline uint32_t parent(uint32_t j) { return j / 4 + 2; }

static bool heap_grow(scim_kernel *k)
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

static void heap_push(scim_kernel *k, hkey key, uint32_t who)
{
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

/* Put (key, who) at the root's place and sift it down: a pop when it is
 * the last entry, a pop-and-push in one pass when it is a FIFO's next. */
static inline __attribute__((always_inline)) void heap_sift_root(scim_kernel *k, hkey key, uint32_t who)
{
    hkey *K = k->key;
    uint32_t *W = k->who;
    uint32_t end = ROOT + k->n, i = ROOT, c;
    while ((c = first_child(i)) < end) {
        /* the smallest child, its key kept in registers */
        uint32_t m;
        hkey mk;
        if (c + 3 < end) {
            /* a full group: two pairs, then their winners (fewer
             * dependent compares than a scan) */
            uint32_t a = K[c + 1] < K[c] ? c + 1 : c, b = K[c + 3] < K[c + 2] ? c + 3 : c + 2;
            m = K[b] < K[a] ? b : a;
            mk = K[m];
        } else {
            m = c;
            mk = K[c];
            for (uint32_t j = c + 1; j < end; j++) {
                if (K[j] < mk) {
                    mk = K[j];
                    m = j;
                }
            }
        }
        if (!(mk < key))
            break;
        K[i] = mk;
        W[i] = W[m];
        i = m;
    }
    K[i] = key;
    W[i] = who;
}

static inline __attribute__((always_inline)) void heap_pop(scim_kernel *k)
{
    uint32_t last = ROOT + --k->n;
    if (k->n)
        heap_sift_root(k, k->key[last], k->who[last]);
}

static uint32_t payload_slot(scim_kernel *k)
{
    if (k->pl_nfree == 0) {
        uint32_t ncap = k->pl_cap ? k->pl_cap * 2 : 1024;
        if (ncap > TIMER_BIT) /* slot numbers leave the owner's two flag bits free */
            return UINT32_MAX;
        payload *np = realloc(k->pl, ncap * sizeof *np);
        if (!np)
            return UINT32_MAX;
        k->pl = np;
        uint32_t *nf = realloc(k->pl_free, ncap * sizeof *nf);
        if (!nf)
            return UINT32_MAX;
        k->pl_free = nf;
        for (uint32_t i = ncap; i-- > k->pl_cap;)
            k->pl_free[k->pl_nfree++] = i;
        k->pl_cap = ncap;
    }
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
static void dormant_rescan(scim_kernel *k)
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

/* The dispatcher reached the earliest dormant event's key (now is its
 * time): it ran and did nothing, as its owner's bookkeeping says. */
static void dormant_pass(scim_kernel *k)
{
    dormant *e = &k->dm[k->dm_min];
    e->used = false;
    k->dm_used--;
    dormant_rescan(k);
    k->clk.pending--;
    k->skipped++;
    e->passed(e->ctx, e->arg);
}

/* Execute every event due at or before `t` (and within the run limit),
 * advancing now as we go. */
static void dispatch_due(scim_kernel *k, scim_time_t t)
{
    scim_time_t bound = t < k->limit ? t : k->limit;
    k->bound = bound;
    k->dispatching = true;
    k->clk.exact = true;
    while (!k->stop) {
        /* a dormant event first when its key is the smallest */
        bool dorm = k->dm_first < (k->n ? k->key[ROOT] : HKEY_NONE);
        if (!dorm && !k->n)
            break;
        scim_time_t next = key_time(dorm ? k->dm_first : k->key[ROOT]);
        if (next > bound)
            break;
        if (k->clk.pending == k->timers && timers_idle(k))
            break;
        k->clk.now = next;
        if (dorm) {
            dormant_pass(k);
            continue;
        }
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
                heap_pop(k);
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
            heap_pop(k);
        }
        k->clk.pending--;
        k->executed++;
        fn(ctx, arg);
        if (k->poll && (k->executed & k->poll_mask) == 0)
            k->poll(k->poll_ctx, k);
    }
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

static void sc_request_wake(scim_kernel *k)
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
    k->client = -1;
    if (backend == SCIM_BACKEND_SYSTEMC) {
        int c = scim_sc_attach(sc_wake, k, err);
        if (c < 0) {
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

/* The key of an event at `when` (clamped to now), from the one sequence. */
static inline hkey make_key(scim_kernel *k, scim_time_t *when, int prio)
{
    if (!k->clk.exact)
        k->clk.now = scim_kernel_now(k);
    if (*when < k->clk.now)
        *when = k->clk.now; /* the past is not reachable; callers pass now + delay */
    return ((hkey)*when << 64) | ((uint64_t)(prio & 0xff) << PRIO_SHIFT) | (k->seq++ & ((1ull << PRIO_SHIFT) - 1));
}

static inline void show_watch(scim_kernel *k, scim_time_t when, int prio)
{
    /* an event far enough ahead may tie with a fast completion (core/fast.h) */
    if (k->watch && when - k->clk.now >= k->watch_lead)
        k->watch(k->watch_ctx, when, prio);
}

static inline void after_schedule(scim_kernel *k, scim_time_t when, int prio)
{
    k->clk.pending++;
    show_watch(k, when, prio);
    if (!k->clk.exact && when < k->wake_asked)
        sc_request_wake(k);
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

static bool fifo_grow(fifo *q)
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
static bool fifo_push(scim_kernel *k, fifo *q, hkey key, uint64_t arg)
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

void scim_kernel_fifo_at(scim_kernel *k, int id, scim_time_t when, int prio, uint64_t arg)
{
    hkey key = make_key(k, &when, prio);
    if (fifo_push(k, &k->fifos[id], key, arg))
        after_schedule(k, when, prio);
}

scim_kernel_slot scim_kernel_reserve(scim_kernel *k, scim_time_t when, int prio)
{
    hkey key = make_key(k, &when, prio);
    show_watch(k, when, prio); /* as when it is scheduled */
    return (scim_kernel_slot){when, (uint64_t)key};
}

static inline hkey slot_key(scim_kernel_slot s) { return ((hkey)s.when << 64) | s.order; }

bool scim_kernel_take_next(scim_kernel *k, scim_kernel_slot s)
{
    if (!k->dispatching || k->stop || s.when > k->bound)
        return false;
    hkey first = k->n ? k->key[ROOT] : HKEY_NONE;
    if (k->dm_first < first)
        first = k->dm_first;
    if (key_lt(first, slot_key(s)))
        return false;
    k->clk.now = s.when;
    k->skipped++;
    return true;
}

bool scim_kernel_fifo_take_next(scim_kernel *k, int id, uint64_t *arg)
{
    uint32_t who = FIFO_BIT | (uint32_t)id;
    if (!k->dispatching || k->stop || !k->n || k->who[ROOT] != who)
        return false;
    /* the dispatcher polls the host after the event running now or after
     * this one: leave both to it, so that it polls where it would */
    if (k->poll && ((k->executed & k->poll_mask) == 0 || ((k->executed + 1) & k->poll_mask) == 0))
        return false;
    hkey key = k->key[ROOT];
    if (key_time(key) > k->bound)
        return false;
    /* dormant events before it pass first, as the dispatcher passes them */
    while (k->dm_first < key) {
        k->clk.now = key_time(k->dm_first);
        dormant_pass(k);
        if (k->stop || !k->n || k->who[ROOT] != who)
            return false;
        key = k->key[ROOT];
    }
    fifo *q = &k->fifos[id];
    k->clk.now = key_time(key);
    *arg = q->ring[q->head].arg;
    q->head = (q->head + 1) & q->mask;
    if (--q->len)
        heap_sift_root(k, q->ring[q->head].key, who);
    else
        heap_pop(k);
    k->clk.pending--;
    k->executed++;
    return true;
}

void scim_kernel_fifo_at_slot(scim_kernel *k, int id, scim_kernel_slot s, uint64_t arg)
{
    if (!fifo_push(k, &k->fifos[id], slot_key(s), arg))
        return;
    k->clk.pending++;
    if (!k->clk.exact && s.when < k->wake_asked)
        sc_request_wake(k);
}

int scim_kernel_schedule_dormant(scim_kernel *k, scim_time_t when, int prio, scim_event_fn fn, scim_event_fn passed,
                                 void *ctx, uint64_t arg)
{
    uint32_t h = 0;
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
        dormant_rescan(k);
    /* already counted pending and shown to the watch when scheduled */
    push_payload(k, e->key, e->fn, e->ctx, e->arg, 0);
    if (!k->clk.exact && key_time(e->key) < k->wake_asked)
        sc_request_wake(k); /* as when it was scheduled (a stopped run forgot that wake-up) */
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
        sc_request_wake(k);
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
            sc_request_wake(k);
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
}
uint64_t scim_kernel_events_executed(const scim_kernel *k) { return k ? k->executed : 0; }
uint64_t scim_kernel_events_logical(const scim_kernel *k) { return k ? k->executed + k->skipped : 0; }
void scim_kernel_add_skipped(scim_kernel *k, uint64_t n) { k->skipped += n; }
void scim_kernel_set_fast(scim_kernel *k, bool on)
{
    if (k) {
        k->fast = on;
        k->clk.fast = on && !k->fast_conflict;
    }
}
bool scim_kernel_fast(const scim_kernel *k) { return k && k->fast && !k->fast_conflict; }
void scim_kernel_set_watch(scim_kernel *k, scim_time_t lead, scim_watch_fn fn, void *ctx)
{
    k->watch_lead = lead;
    k->watch = fn;
    k->watch_ctx = ctx;
}
void scim_kernel_fast_conflict(scim_kernel *k, const char *what)
{
    if (k->fast_conflict)
        return;
    k->fast_conflict = true;
    k->clk.fast = false;
    scim_kernel_fail(k, SCIM_EINVARIANT, "fast path: %s (the run is redone with sim.fast_path off)", what);
}
bool scim_kernel_fast_conflicted(const scim_kernel *k) { return k && k->fast_conflict; }
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
    hkey next = k->n ? k->key[ROOT] : HKEY_NONE;
    if (k->dm_first < next)
        next = k->dm_first;
    return next == HKEY_NONE ? SCIM_TIME_MAX : key_time(next);
}

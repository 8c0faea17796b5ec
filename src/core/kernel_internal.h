/* What the event kernel (kernel.c) and its side of the device fast path
 * (kernel_fast.c) share: the kernel's state, the heap's keys and the
 * inline steps both take. Contracts in scimitar/kernel.h, core/kfifo.h and
 * core/fast.h. */
#ifndef SCIM_CORE_KERNEL_INTERNAL_H
#define SCIM_CORE_KERNEL_INTERNAL_H

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "scimitar/kernel.h"

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
    hkey *key;      /* [ROOT, ROOT + n): the heap; 64-byte aligned. Allocated
                     * with the kernel, and key[ROOT] is HKEY_NONE when the
                     * heap is empty, so the earliest key is key[ROOT] with no
                     * test of n (a hole aside: heap_settle) */
    uint32_t *who;  /* owner of key[i] */
    uint32_t n, cap; /* cap counts from index 0 */
    /* The root was taken by the event running now and not yet popped
     * (dispatch_due): n still counts it, its key is stale. The first push
     * the handler makes fills it with one sift-down (instead of a pop's
     * sift-down and a push's sift-up); else it is popped when the handler
     * returns. Anything that reads the heap meanwhile settles it first
     * (heap_settle). Keys are unique, so the heap's shape does not change
     * the order of execution. */
    bool hole;
    payload *pl;
    uint32_t *pl_free;
    uint32_t pl_nfree, pl_cap;
    fifo *fifos;
    uint32_t n_fifos;
    dormant *dm;
    uint32_t dm_cap, dm_min; /* dm_min: the earliest in use, when dm_first is not HKEY_NONE */
    uint32_t dm_used;        /* slots in use: most often 0 or 1, no scan needed */
    hkey dm_first;           /* its key; HKEY_NONE when no dormant event is pending */
    /* The event a handler held back from its FIFO (scim_kernel_fifo_at_next):
     * keyed, pending and shown to the watch, but in no queue yet. When the
     * handler returns, the dispatcher runs it at once if it is then the
     * earliest event, else puts it in its FIFO under its key. Anything
     * that reads the queue before then puts it there first (held_flush). */
    bool holding;
    uint32_t held_fifo;
    hkey held_key;
    uint64_t held_arg;
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
    uint64_t poll_at; /* executed count of the next poll (poll_schedule): one compare per event */
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
    else
        k->key[ROOT] = HKEY_NONE; /* the empty heap's sentinel (struct scim_kernel) */
}

/* Pop the root the dispatcher left as a hole, if any (before reading the
 * heap from inside a handler). */
static inline void heap_settle(scim_kernel *k)
{
    if (__builtin_expect(k->hole, 0)) {
        k->hole = false;
        heap_pop(k);
    }
}

/* The key of an event at `when` (clamped to now), from the one sequence. */
static inline hkey make_key(scim_kernel *k, scim_time_t *when, int prio)
{
    if (!k->clk.exact)
        k->clk.now = scim_kernel_now_cold(k); /* out of line: no stack frame for the native case */
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

/* Queue arg on FIFO q under key (taken from the one sequence). */
bool scim_kernel_fifo_push(scim_kernel *k, fifo *q, hkey key, uint64_t arg);

/* The held event (struct scim_kernel), if any, into its FIFO: where it
 * would have been had it been scheduled the ordinary way. */
void scim_kernel_held_flush_cold(scim_kernel *k);
static inline void held_flush(scim_kernel *k)
{
    if (__builtin_expect(k->holding, 0))
        scim_kernel_held_flush_cold(k);
}
/* The earliest dormant event, after one was added or removed (there are
 * as many slots as agents with a dormant event at once: a few). */
void scim_kernel_dormant_rescan(scim_kernel *k);

/* The dispatcher reached the earliest dormant event's key (now is its
 * time): it ran and did nothing, as its owner's bookkeeping says. In line
 * (the replay engine passes one per page in a device kept busy), with no
 * scan when it was the only one. */
static inline void scim_kernel_dormant_pass(scim_kernel *k)
{
    dormant *e = &k->dm[k->dm_min];
    e->used = false;
    if (--k->dm_used)
        scim_kernel_dormant_rescan(k);
    else
        k->dm_first = HKEY_NONE;
    k->clk.pending--;
    k->skipped++;
    e->passed(e->ctx, e->arg);
}
/* Ask the SystemC bridge for the wake-up the next event needs. */
void scim_kernel_request_wake(scim_kernel *k);

#endif

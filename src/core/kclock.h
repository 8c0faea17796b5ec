/* The kernel's time, read inline on the hot paths (src/core/kernel.c).
 *
 * scim_kernel_now is a call with a NULL test and a backend test; blocks
 * read the time several times per access (about 13 calls, 180
 * instructions, per translated page in bench_translate's hit workload).
 * The kernel keeps its time and whether that time is exact (the native
 * backend, or inside the dispatcher, where a SystemC host cannot have
 * moved the clock) as its first member, so the common case is two loads.
 * Same value as scim_kernel_now (which it calls otherwise); k not NULL.
 */
#ifndef SCIM_CORE_KCLOCK_H
#define SCIM_CORE_KCLOCK_H

#include "scimitar/kernel.h"

typedef struct scim_kernel_clock {
    scim_time_t now;
    bool exact; /* now is the time: native backend, or dispatching */
    bool fast;  /* the fast path is allowed: on, and no conflict yet (core/fast.h) */
    size_t pending; /* events scheduled and not executed (FIFO rings included) */
} scim_kernel_clock;

/* scim_kernel_now kept out of line and cold: inlined (LTO does), its
 * SystemC path would give every hot function that reads the time a stack
 * frame. */
__attribute__((cold, noinline)) scim_time_t scim_kernel_now_cold(const scim_kernel *k);

static inline scim_time_t scim_kernel_time(const scim_kernel *k)
{
    const scim_kernel_clock *c = (const scim_kernel_clock *)(const void *)k;
    return c->exact ? c->now : scim_kernel_now_cold(k);
}

/* scim_kernel_fast and scim_kernel_events_pending, read inline by the
 * fast path's test before every device access. */
static inline bool scim_kernel_fast_allowed(const scim_kernel *k)
{
    return ((const scim_kernel_clock *)(const void *)k)->fast;
}

static inline size_t scim_kernel_pending(const scim_kernel *k)
{
    return ((const scim_kernel_clock *)(const void *)k)->pending;
}

#endif

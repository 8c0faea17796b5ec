/* Private to the OS's functional warm-up: what warm.c (faults, kswapd's
 * reclaim, software walks, shadow copies) and warm_ops.c (the trace's OS
 * operations) share. docs/architecture.md, "Warm-up". */
#ifndef SCIM_OS_WARM_INTERNAL_H
#define SCIM_OS_WARM_INTERNAL_H

#include "os/os_internal.h"

/* What a reclaim runs for, for its messages. */
typedef struct reclaim_for {
    const char *what;
    uint32_t pasid;
    uint64_t va;
} reclaim_for;

/* A fault that found no frame (wait_for_frame): retried at every frame
 * the reclaim frees until it has the frames it needs. */
typedef struct waiter {
    process *p;
    const region *r;
    uint64_t va; /* the page */
    bool swap_in;
    bool waiting;
} waiter;

/* A round's page: written to swap `slot`, then its frame freed. */
typedef struct victim {
    uint64_t va, pfn, slot;
} victim;

/* One reclaim round: its victims, unmapped, and the page-table frames
 * the unmaps emptied. */
typedef struct warm_round {
    process *p; /* the PASID of the first victim: one shootdown covers the round */
    victim *v;
    size_t n, cap;
    frame_list tables; /* page-table frames the unmaps emptied */
} warm_round;

int os_warm_out_of_memory(scim_err *err, const char *what);
/* A round's shootdown, at once, through the warm-up's invalidation
 * callback as the timed round sends it (os/os.h, scim_os_warm_inv_fn):
 * `pages` pages in the n ranges [lo[i], hi[i]) (os/warm.c). */
void os_warm_send_round(scim_os *os, uint32_t pasid, uint64_t pages, const uint64_t *lo, const uint64_t *hi,
                        size_t n);
/* The same for a round's victims, merged where contiguous in their order;
 * SCIM_ENOMEM (a message in err, if not NULL) when out of host memory. */
int os_warm_shoot_down(scim_os *os, const warm_round *rd, scim_err *err);
/* The round would need a shootdown that skips the devices (a protocol
 * broken on purpose, for the checker's tests): one scope for every cache
 * cannot leave them stale. */
int os_warm_refuse_skipped(const scim_os *os, uint32_t pasid, const char *what, scim_err *err);
/* A frame a finished round frees: as os_release_frame, without asking the
 * checker (it is not told of warm-up rounds). */
void os_warm_free_frame(scim_os *os, uint64_t pfn, unsigned order);
/* Unmap a victim into the round, as os_round_take and unmap_leaf: its
 * frame in transit until freed. */
int os_warm_take(scim_os *os, warm_round *rd, process *q, uint64_t va, uint64_t pfn, uint64_t slot, scim_err *err);
/* The shootdown is over: finish_op's page-table frames, then each victim
 * as its write completes, its slot recorded, its frame freed (w: a fault
 * retried at every frame freed, or NULL). */
int os_warm_finish_round(scim_os *os, warm_round *rd, waiter *w, const reclaim_for *f, scim_err *err);
/* os_maybe_reclaim after pages were mapped: kswapd's rounds at once below
 * os.reclaim.low_watermark. */
int os_warm_reclaim_if_low(scim_os *os, const reclaim_for *f, scim_err *err);

#endif

/* The device core's parts, one job per file:
 *   device.c      life cycle, tables, port dispatch, a chunk's life (lookups,
 *                 memory access, completion), OS calls
 *   xlat.c        outstanding translations: merging, prefetch, answers
 *   pri.c         page request groups and the PRI allocation
 *   backend_*.c   one translation backend per walk placement (ops tables)
 *   policy.c      the fault policies (ops tables) and the backup buffer
 *   inval.c       the invalidation queue
 *   shadow.c      the synchronized copy of the page tables (walk shadow)
 *   host.c        what a host program sees: submissions, completions with
 *                 physical addresses, faults, invalidations
 */
#ifndef SCIM_DEVICE_INTERNAL_H
#define SCIM_DEVICE_INTERNAL_H

#include "core/fifo.h"
#include "core/inject.h"
#include "core/page.h"
#include "core/u64map.h"
#include "device/device.h"

#define NONE (-1)

/* CH_INLINE: ats false, the DMA is at the IOMMU, which translates and performs it. */
enum chunk_state { CH_FREE, CH_LOOKUP, CH_XLAT_WAIT, CH_MEM, CH_BACKUP, CH_RETRY, CH_DESC, CH_INLINE };
/* A translation: being asked (XL_XLATE); leading a page request group
 * that is out (XL_PRI) or waiting for PRI allocation (XL_PRI_WAIT); or
 * waiting for another translation's group that covers its page
 * (XL_MEMBER). */
enum xlat_state { XL_XLATE, XL_PRI, XL_PRI_WAIT, XL_MEMBER };

/* What the device's requests are, in their port ids: (kind << 32) | index. */
enum request_kind { RQ_CHUNK = 0, RQ_DESC = 1, RQ_XLAT = 2, RQ_PRI = 3, RQ_OS = 4 };
#define RQ_ID(kind, index) ((uint64_t)(kind) << 32 | (uint32_t)(index))
#define RQ_KIND(id) ((enum request_kind)((id) >> 32))
#define RQ_INDEX(id) ((uint32_t)(id))
/* RQ_OS index: (op << 24) | slot */
#define OS_INDEX(op, slot) ((uint32_t)(op) << 24 | (slot))

/* The device's view of a chunk the replay engine gave it. */
typedef struct chunk {
    int state;
    bool blocks_inv;
    int32_t next;       /* next waiter on the same translation */
    uint32_t slot;      /* backup slot */
    uint32_t space;     /* the address space translated in: the PASID, or the I/O domain (iommu-map) */
    uint8_t shift;      /* CH_MEM: page size of the translation the access used */
    uint64_t pa;
    scim_time_t t_start;
    scim_time_t sched;  /* when its pending lookup event was scheduled */
    scim_msg *msg;      /* CH_MEM through the event path: its request (or the response it became) */
    uint64_t tag;       /* adopted by the fast path: the port tag to forget */
    bool adopted;
    uint32_t sent;      /* CH_MEM through the event path: the device's count of such accesses when sent
                           (wraps; those in flight are at most max_outstanding apart) */
    const scim_replay_chunk *rc; /* the replay engine's chunk of the same slot */
} chunk;

/* An invalidation request in the device's queue. */
typedef struct inv_entry {
    scim_msg *m;
    scim_time_t arrived;
} inv_entry;

typedef struct xlat {
    bool used;
    bool write;
    bool prefetch;      /* nobody waits: cache the answer, never fault */
    int state;
    uint32_t pasid;
    uint64_t page;      /* va >> 12 */
    int32_t head, tail; /* waiting chunks */
    scim_time_t pri_sent;
    uint32_t pri_gen;     /* which send of its group a PRI timeout belongs to (kept across reuse) */
    /* a group leader: the pages it asks for (this one first) and the
     * prefault pages after them; its members */
    uint32_t group_pages;
    uint32_t group_prefault;
    uint64_t fault_end;   /* end of the DMA that found the page missing: a group it leads asks up to there */
    int32_t first_member;
    int32_t next_member;  /* a member: the next member of its leader's group */
    int32_t leader;       /* a member: its group's leader */
} xlat;

/* How translations are obtained: one backend per walk placement. */
typedef struct xlat_backend {
    const char *name;
    /* Ask for the translation of x (answer: scim_dev_xlat_result). */
    void (*request)(scim_device *d, int32_t xi);
    /* Prefetch the next pages on a miss (an interrupt per page is not worth it). */
    bool prefetches;
} xlat_backend;

/* What waiting requests do while their page is being faulted in. */
typedef struct fault_policy {
    const char *name;
    /* A waiter of a translation that came back unusable: true keeps it
     * waiting for the page request's answer; false: the policy took it. */
    bool (*on_fault)(scim_device *d, int32_t ci);
    /* A chunk that finds its page's request still out: true if the policy
     * took it (else it joins the waiters). */
    bool (*on_pending)(scim_device *d, int32_t ci);
} fault_policy;

typedef struct device_stats {
    uint64_t xlat_requests;
    uint64_t xlat_rerequests;
    uint64_t xlat_merged;
    uint64_t xlat_prefetches;
    uint64_t faults;
    uint64_t pri_groups;
    uint64_t pri_requests;
    uint64_t pri_joined;
    uint64_t pri_auto;
    uint64_t pri_failed;
    uint64_t pri_alloc_waits;
    uint64_t pri_outstanding_max;
    uint64_t pri_timeouts;
    uint64_t inv_lost;
    uint64_t resets;
    uint64_t failed;
    uint64_t retries;
    uint64_t drops;
    uint64_t backup_writes;
    uint64_t backup_full;
    uint64_t invalidations;
    uint64_t inv_entries;
    uint64_t shadow_syncs;
    uint64_t desc_reads;
    uint64_t exposed_dmas;
    scim_hist *translation_latency;
    scim_hist *fault_latency;
    scim_hist *inv_latency;
} device_stats;

struct scim_device {
    scim_kernel *k;
    scim_port *port;
    char name[48];
    scim_device_params p;
    scim_clock clock;
    scim_time_t utlb_time, iotlb_time;
    int utlb_fifo, iotlb_fifo; /* kernel FIFOs of the lookups (core/kfifo.h) */
    scim_node_id iommu, mem, os;
    uint64_t root;
    const scim_pt_format *fmt;
    const xlat_backend *backend;
    const fault_policy *policy;
    const scim_dev_driver_ops *drv_ops;
    void *drv;
    scim_tlb *iotlb, *utlb;
    scim_walker *walker;
    scim_fifo walk_blocked; /* of int32_t: translations waiting for room in the walker's queue */
    const scim_observer *checker;
    scim_replay *replay;
    chunk *chunks;
    xlat *xlats;
    size_t n_xlats;
    /* the slots in use, found by (pasid, page) without a scan: open
     * addressing, linear probing, slot + 1 (0: empty), at most a quarter full */
    uint32_t *xlat_index;
    uint32_t xlat_index_mask;
    /* one bit per slot, set while free: a new translation takes the
     * lowest free slot, as a scan from slot 0 would */
    uint64_t *xlat_free;
    /* an xlat may be a page request group (XL_PRI, XL_PRI_WAIT): set when
     * one becomes one, cleared by a scim_dev_group_of scan that finds
     * none, so a device without faults does not scan on every miss */
    bool pri_maybe;
    /* fault_policy backup */
    uint64_t backup_base;
    uint32_t *free_backup;
    uint32_t n_free_backup;
    /* walk shadow: the copy, behind its own port */
    scim_port *shadow_port;
    scim_u64map shadow;  /* entry pa -> value */
    scim_time_t shadow_sync_until; /* when the last update taken in is applied (in order) */
    uint32_t mem_sent;   /* accesses sent to memory through the event path (chunk.sent) */
    /* PRI: page requests out (counted against pri.allocation), and
     * groups waiting for allocation */
    uint64_t pri_outstanding;
    scim_fifo pri_waiting; /* of int32_t: group leaders */
    /* invalidations, one at a time */
    scim_fifo invq;     /* of inv_entry: the front one is being processed */
    bool inv_busy;
    uint32_t inv_blocking;
    uint64_t inv_removed; /* entries the one being processed removed */
    /* fault injection, and a reset after an invalidation timeout */
    scim_inject *inj;
    scim_fifo resets;     /* of scim_msg *: the OS's resets, answered once the accesses in flight drained */
    bool reset_busy;      /* its reset_latency is not over */
    /* the host's view (scim_device_set_events): each request's physical
     * addresses, kept while it is in flight */
    const scim_dev_event_ops *ev;
    void *ev_ctx;
    uint64_t **req_pa;  /* per request index (max_outstanding + 1) */
    size_t *req_pa_cap;
    /* the fast path (fast.c) */
    bool fast_ok;        /* this device may use it (sim.fast_path, no driver hooks) */
    uint32_t n_lookups;  /* lookup events pending */
    uint32_t slow_mem;   /* chunks whose memory access goes through the event path */
    int32_t in_lookup;   /* the chunk whose lookup event runs, or NONE */
    void *fast;          /* ring of fast completions pending, oldest first */
    int32_t *fast_order;
    uint32_t fast_head, fast_n, fast_mask;
    scim_time_t fast_lead;
    int fast_fifo;       /* kernel FIFO of the completions */
    void *fast_routes;   /* scim_fast_route[2]: to memory and back */
    /* lookups a fast completion began: done at its end if next (fast.c) */
    bool defer_lookups;
    void *deferred;      /* [max_outstanding] chunk and kernel slot */
    uint32_t n_deferred;
    device_stats st;
};

/* Rights that allow the access (a write needs W too). */
static inline bool scim_dev_usable(unsigned perms, bool write)
{
    return (perms & SCIM_PERM_R) && (!write || (perms & SCIM_PERM_W));
}

/* A walk's result as the answer of a translation (SCIM_RESP_*): what the
 * device's own walker tells it, timed (backend_walk.c) or functional (warm.c). */
static inline int32_t scim_dev_walk_status(const scim_walk_result *r)
{
    return r->status == SCIM_WALK_OK ? SCIM_RESP_OK
           : r->status == SCIM_WALK_NOT_PRESENT ? SCIM_RESP_NOT_PRESENT : SCIM_RESP_INVALID;
}

/* device.c */
static inline const scim_replay_chunk *scim_dev_chunk_of(const scim_device *d, int32_t ci) { return d->chunks[ci].rc; }
void scim_dev_to_memory(scim_device *d, int32_t ci, uint64_t pa, unsigned shift);
void scim_dev_chunk_complete(scim_device *d, int32_t ci, bool error);
void scim_dev_restart_chunk(scim_device *d, int32_t ci);
void scim_dev_cache_translation(scim_device *d, uint32_t pasid, uint64_t va, uint64_t page_pa, unsigned shift,
                                unsigned perms);
/* fast.c */
int scim_dev_fast_init(scim_device *d);
void scim_dev_fast_free(scim_device *d);
/* Complete chunk ci's memory access without per-hop events, if nothing
 * else is active; sched: when the running event was scheduled
 * (SCIM_TIME_MAX: unknown). */
bool scim_dev_fast_access(scim_device *d, int32_t ci, const scim_replay_chunk *rc, scim_time_t sched);
/* An IOTLB lookup of chunk ci due at `when`, begun inside a fast completion. */
void scim_dev_defer_lookup(scim_device *d, int32_t ci, scim_time_t when);
/* device.c: the lookup event's work (the IOTLB consulted now). */
void scim_dev_iotlb_lookup(scim_device *d, int32_t ci);
/* host.c: the host's view of requests, faults and invalidations */
uint64_t scim_dev_tag_of_xlat(const scim_device *d, int32_t xi);
void scim_dev_host_request_begin(scim_device *d, uint32_t req, const scim_trace_rec *rec);
void scim_dev_host_record_pa(scim_device *d, int32_t ci, uint64_t pa);
void scim_dev_host_request_end(scim_device *d, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error);
/* Turn the replay engine's request hooks on or off by what they would do
 * (a driver's hooks, host events): after either changes. */
void scim_dev_update_request_hooks(scim_device *d);
void scim_dev_host_free(scim_device *d);
/* xlat.c */
void scim_dev_need_translation(scim_device *d, int32_t ci);
void scim_dev_xlat_result(scim_device *d, int32_t xi, int32_t status, uint64_t page_pa, unsigned shift,
                          unsigned perms);
void scim_dev_request_translation(scim_device *d, int32_t xi);
/* Translation slot xi is free again (every `used = false` goes through here). */
void scim_dev_xlat_release(scim_device *d, int32_t xi);
/* pri.c */
int32_t scim_dev_group_of(scim_device *d, uint32_t space, uint64_t page);
void scim_dev_join_group(scim_device *d, int32_t gi, int32_t xi);
/* A translation came back unusable and its waiters stay: join the group
 * that covers its page, or lead a new one. */
void scim_dev_fault(scim_device *d, int32_t xi);
void scim_dev_pri_response(scim_device *d, int32_t gi, scim_msg *m);
void scim_dev_xlat_counts(const scim_device *d, size_t *xlating, size_t *faulting);
/* backends */
extern const xlat_backend scim_dev_backend_ats;
extern const xlat_backend scim_dev_backend_software;
extern const xlat_backend scim_dev_backend_walker;
void scim_dev_walk_done(void *owner, uint64_t cookie, const scim_walk_result *r);
/* policy.c */
const fault_policy *scim_dev_policy(int which);
void scim_dev_backup_written(scim_device *d, int32_t ci);
/* reset.c: a function level reset; afterwards every DMA fails */
void scim_dev_reset(scim_device *d, scim_msg *m);
void scim_dev_reset_progress(scim_device *d);
static inline bool scim_dev_failed(const scim_device *d) { return d->st.failed != 0; }
/* inval.c */
void scim_dev_inv_request(scim_device *d, scim_msg *m);
void scim_dev_inv_access_done(scim_device *d, int32_t ci);
/* shadow.c */
int scim_dev_shadow_create(scim_device *d, scim_fabric *f, scim_stats *stats, scim_err *err);
void scim_dev_shadow_sync(scim_device *d, scim_msg *m);

#endif

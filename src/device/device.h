/* Device core: a far core that replays a DMA trace using the process's
 * virtual addresses.
 *
 * Modelling notes (details in docs/architecture.md):
 *   - Each DMA is split at 4 KiB boundaries into chunks; at most
 *     max_outstanding chunks are in flight. A trace record becomes eligible
 *     at its time (+N after the previous DMA was issued, or @N absolute) and
 *     is issued when a slot is free; OS operations in the trace are barriers
 *     (wait for in-flight chunks, then for the OS's answer).
 *   - A chunk looks up the micro-TLB and the IOTLB (their latency cycles).
 *     On a miss it asks for a translation through the walk placement's
 *     backend (an ATS request, its own walker, an interrupt to the OS, or a
 *     walk of its shadow copy), unless one for the same 4 KiB page is
 *     already outstanding, in which case it waits on that one.
 *   - A not-present completion makes the device send one page request for
 *     the page (and `prefault` more); the fault policy decides what the
 *     waiting chunks do meanwhile (stall, retry, drop, backup). After the
 *     page response it asks for the translation again (PCIe PRI semantics).
 *   - A translated chunk accesses memory with the physical address; the
 *     chunk completes on the memory's response.
 *   - Invalidation requests wait in an invalidation queue of inv_queue
 *     entries (the ATS capability's Invalidate Queue Depth) and are
 *     processed one at a time, inv_latency each (a single-entry
 *     device-TLB invalidation costs about a full flush); the completion is
 *     sent only after every in-flight access that used an invalidated
 *     translation has completed.
 *   - ats: false (no address translation cache): a chunk is sent to the
 *     IOMMU by its untranslated address (SCIM_MSG_DMA); the IOMMU
 *     translates it inline and performs it at memory (iommu/inline.c). The
 *     device has no IOTLB lookups, translation requests or page requests
 *     of its own, and is bound to no address space for invalidations.
 *   - Under the pin and iommu-map schemes a driver (src/driver/) hooks into
 *     each request: the host prepares the request (the device learns it is
 *     ready from a doorbell), may give chunks their physical addresses
 *     (pin: descriptor lists, or a ring's addresses held since bind), and
 *     releases the request after its last chunk.
 */
#ifndef SCIM_DEVICE_DEVICE_H
#define SCIM_DEVICE_DEVICE_H

#include "core/inject.h"
#include "core/observer.h"
#include "core/port.h"
#include "core/stats.h"
#include "mmu/physmem.h"
#include "mmu/replay.h"
#include "mmu/tlb.h"
#include "mmu/tlbcfg.h"
#include "mmu/walker.h"

/* Who walks the page tables on an IOTLB miss. */
typedef enum scim_walk_placement {
    SCIM_WALK_IOMMU = 0,    /* ATS translation request; the IOMMU walks near memory */
    SCIM_WALK_DEVICE = 1,   /* the device's own walker reads each entry across the fabric */
    SCIM_WALK_SOFTWARE = 2, /* an interrupt; an OS handler walks (and resolves a fault) and answers */
    SCIM_WALK_SHADOW = 3    /* the device walks a synchronized copy in its own memory */
} scim_walk_placement;

/* What the device does with a request to a not-present page. */
typedef enum scim_fault_policy {
    SCIM_FAULT_STALL = 0,   /* wait for the page request's answer */
    SCIM_FAULT_RETRY = 1,   /* NACK: retry the translation after retry_backoff */
    SCIM_FAULT_DROP = 2,    /* the request is lost; the source resends after drop_timeout */
    SCIM_FAULT_BACKUP = 3   /* writes land in a pinned backup buffer a CPU copies later; reads stall */
} scim_fault_policy;

/* Where a device's requests come from. */
typedef enum scim_device_source {
    SCIM_SOURCE_TRACE = 0,    /* a DMA trace file */
    SCIM_SOURCE_HOST = 1      /* the host program (scim_dev_submit) */
} scim_device_source;

typedef struct scim_device_params {
    int source;               /* scim_device_source */
    const char *trace;        /* path of the DMA trace ("" with source host) */
    const char *vm;           /* the VM the device is assigned to ("" the host) */
    uint64_t pasid;
    uint64_t max_outstanding;
    uint64_t clock_hz;
    scim_tlb_keys iotlb;
    scim_tlb_keys utlb;       /* micro-TLB in front of the IOTLB; entries 0 = none */
    uint64_t prefetch;        /* translations of the next N pages requested on a miss */
    bool ats;                 /* an address translation cache; false: the IOMMU translates each DMA inline */
    int walk;                 /* scim_walk_placement */
    uint64_t walkers;         /* walk device/shadow */
    uint64_t walk_queue;      /* walk device/shadow: walks waiting for a walker; 0 unbounded */
    uint64_t pwc_entries;     /* walk device/shadow: paging-structure caches per level */
    uint64_t pwc_latency;     /* cycles */
    scim_time_t shadow_latency; /* walk shadow: one entry read from device-local memory */
    int fault_policy;         /* scim_fault_policy */
    uint64_t prefault;        /* pages after the faulting DMA's asked for in the same page request group */
    uint64_t pri_group_pages; /* most pages of a DMA one page request group asks for; 0: the whole DMA */
    uint64_t pri_allocation;  /* PRI Outstanding Page Request Allocation the OS granted */
    scim_time_t pri_timeout;  /* a page group response not in by then is given up; 0 never */
    scim_time_t retry_backoff;
    scim_time_t drop_timeout;
    uint64_t backup_slots;    /* 4 KiB slots of the pinned backup buffer */
    uint64_t inv_queue;       /* invalidation requests the device holds at once; 0 unbounded */
    scim_time_t inv_latency;
    scim_time_t reset_latency; /* a function level reset, after an invalidation timeout */
    scim_time_t snoop_latency;  /* broadcast protocol: applying a snooped invalidation */
    scim_time_t link_latency; /* default topology: the device's link to the IOMMU */
    uint64_t link_bandwidth;
    const struct scim_cfg_node *tenants_node; /* devices.<name>.tenants, as given */
    /* set by the builder */
    uint64_t seed;            /* the run's seed (streams are seeded by path) */
    const uint32_t *tenants;  /* further PASIDs the device serves */
    size_t n_tenants;
} scim_device_params;

/* Keys under "devices.<name>." */
extern const scim_param_decl scim_device_param_decls[];
extern const size_t scim_device_param_decl_count;
extern const char *const scim_walk_placement_names[];
extern const char *const scim_fault_policy_names[];
extern const char *const scim_device_source_names[];

typedef struct scim_device scim_device;

/* ---- the driver of a scheme (src/driver/), per request ---- */

typedef struct scim_dev_driver_ops {
    /* The address space chunks are translated in (iommu-map: the device's
     * I/O domain); NULL: the request's PASID. */
    uint32_t (*space)(void *drv, uint32_t pasid);
    /* Before a request's first chunk: return false to hold it until
     * scim_device_request_ready(). */
    bool (*request_begin)(void *drv, uint32_t req, const scim_trace_rec *rec, uint32_t pasid);
    /* After its last chunk (error: some chunk failed, or it was never
     * prepared). */
    void (*request_end)(void *drv, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error);
    /* Non-NULL: chunks are not translated; each reads the 8-byte physical
     * address of its page at descriptor(req, page) instead (pin). */
    uint64_t (*descriptor)(void *drv, uint32_t req, uint32_t page);
    /* With descriptor: true and the physical address of pasid:va when it
     * lies in a region the driver set up at bind (a ring), whose page
     * addresses the device holds from then on (no descriptor read). */
    bool (*static_pa)(void *drv, uint32_t pasid, uint64_t va, uint64_t *pa);
    /* The host rang the doorbell of held request `req` (SCIM_MSG_DOORBELL):
     * it is ready, or failed; cookie names the host's record of it. */
    void (*doorbell)(void *drv, uint32_t req, uint32_t cookie, bool failed);
    /* A driver call (scim_device_os_call) was answered. */
    void (*os_done)(void *drv, scim_os_op op, uint32_t slot, int32_t status);
    /* Before each access: true if a stale translation could be used
     * (counted as <device>.exposed_dmas). */
    bool (*exposed)(void *drv, uint32_t space);
    /* Driver work still outstanding (a finished run has none). */
    bool (*busy)(const void *drv);
} scim_dev_driver_ops;

/* A driver with request_begin posts ahead (mmu/replay.h): a request it
 * holds does not hold the device's later records. */
void scim_device_set_driver(scim_device *d, const scim_dev_driver_ops *ops, void *drv);
/* A driver call to the OS on behalf of request slot `slot` (answered
 * through os_done). */
void scim_device_os_call(scim_device *d, scim_os_op op, uint32_t slot, const scim_trace_rec *rec, uint32_t pasid);
/* A held request may start (error: it fails without moving data). */
void scim_device_request_ready(scim_device *d, uint32_t req, bool error);
void scim_device_fail(scim_device *d, const char *what);

/* ---- what the host sees (src/sim/host.c turns these into its callbacks) ---- */

typedef struct scim_dev_request_info {
    uint64_t tag;             /* the host's tag, or the trace line */
    uint32_t pasid;
    uint64_t va, size;
    bool write, translate_only, error;
    scim_time_t eligible, issued; /* submitted (made eligible) and issued (first piece) */
    size_t n_pages;
    const uint64_t *pa;       /* physical address of each page-sized piece (0 if it failed) */
} scim_dev_request_info;

typedef struct scim_dev_event_ops {
    /* a request completed (all its pieces) */
    void (*request_done)(void *ctx, const scim_dev_request_info *r);
    /* a page request group was sent for pages [va, va + pages * 4 KiB) of
     * `pasid` (the I/O page fault is raised), on behalf of request `tag` */
    void (*fault_raised)(void *ctx, uint64_t tag, uint32_t pasid, uint64_t va, uint32_t pages, bool write);
    /* its response arrived after `latency`; ok: the pages are mapped */
    void (*fault_resolved)(void *ctx, uint32_t pasid, uint64_t va, uint32_t pages, bool ok, scim_time_t latency);
    /* an invalidation was processed and its completion sent */
    void (*invalidated)(void *ctx, const scim_inv_scope *scope, scim_time_t arrived, uint64_t entries);
} scim_dev_event_ops;

void scim_device_set_events(scim_device *d, const scim_dev_event_ops *ops, void *ctx);
/* A host-fed device's next request (source: host); see scim_replay_push. */
int scim_device_submit(scim_device *d, bool write, bool translate_only, uint32_t pasid, uint64_t va, uint64_t size,
                       scim_time_t at, uint64_t tag, scim_err *err);

/* ---- life cycle ---- */

scim_device *scim_device_create(scim_kernel *k, scim_fabric *f, const char *name, const scim_device_params *p,
                                scim_stats *stats, scim_err *err);
void scim_device_destroy(scim_device *d);
scim_node_id scim_device_node(const scim_device *d);
const char *scim_device_name(const scim_device *d);
const scim_device_params *scim_device_params_of(const scim_device *d);
const scim_tlb *scim_device_iotlb(const scim_device *d);

/* Wiring before the run. */
void scim_device_set_targets(scim_device *d, scim_node_id iommu, scim_node_id mem, scim_node_id os);
void scim_device_set_checker(scim_device *d, const scim_observer *c);
/* Fault injection (lost invalidation completions), or NULL. */
void scim_device_set_injector(scim_device *d, scim_inject *inj);
/* walk device/shadow: the process's page-table root and format (what the
 * driver programs at bind time). */
void scim_device_set_address_space(scim_device *d, uint64_t root_pa, const scim_pt_format *fmt);
/* backup policy: the pinned backup buffer the OS set aside. */
void scim_device_set_backup(scim_device *d, uint64_t base_pa);
/* walk shadow: the copy's initial contents (entry address -> value), given at
 * bind time; later changes arrive as SCIM_MSG_SYNC. */
int scim_device_shadow_load(scim_device *d, uint64_t entry_pa, uint64_t value);
/* The device's translation caches, for the checker. */
size_t scim_device_caches(const scim_device *d, const scim_tlb **out, const char **names, size_t max);
/* Open the trace and schedule the first record. */
int scim_device_start(scim_device *d, scim_err *err);

/* ---- Functional warm-up (sim.warmup; sim/warm.c drives it) ----
 * What a timed run of one request at a time leaves in the device's caches,
 * made at once: no event, no time. */
/* sim.records, sim.until: replay only the first `records` records of its
 * trace, issued before `until` (scim_replay_limit; 0: no limit). */
void scim_device_limit_records(scim_device *d, uint64_t records, scim_time_t until);
/* Its trace engine (scim_sim_fork, scim_sim_set_warm_points' windows). */
scim_replay *scim_device_replay(scim_device *d);
/* The first record the warm-up did not take, and the detailed run's
 * origin (scim_replay_warm_unread). */
void scim_device_warm_unread(scim_device *d, const scim_trace_rec *rec, scim_time_t at, scim_time_t origin);
/* The next record of its trace to warm up with (scim_replay_warm_next). */
int scim_device_warm_next(scim_device *d, scim_trace_rec *rec, uint32_t *pasid, scim_time_t *at, scim_err *err);
/* A chunk's lookups (the micro-TLB, then the IOTLB, whose hit fills the
 * micro-TLB): true if they translate va for the access. */
bool scim_device_warm_lookup(scim_device *d, uint32_t pasid, uint64_t va, bool write);
/* Walk placements device and shadow: the device's own walk of va's page
 * (as scim_walker_walk_now; shadow: over its copy, which the caller keeps
 * current with scim_device_shadow_load), its answer in *status
 * (SCIM_RESP_*) and the page's address, size and rights; false for the
 * other placements, whose translations the caller asks the IOMMU or the
 * OS for. */
bool scim_device_warm_walk(scim_device *d, scim_physmem *pm, uint32_t pasid, uint64_t va, bool write,
                           int32_t *status, uint64_t *page_pa, unsigned *shift, unsigned *perms);
/* A translation answer for va's page (status SCIM_RESP_*), cached as a
 * timed answer is; true if it allows the access. */
bool scim_device_warm_answer(scim_device *d, uint32_t pasid, uint64_t va, bool write, int32_t status,
                             uint64_t page_pa, unsigned shift, unsigned perms);
/* Pages a miss prefetches after its page (0 if the placement does not
 * prefetch); the caller asks for each one not cached (a read) and hands
 * the answer to scim_device_warm_answer. */
uint64_t scim_device_warm_prefetch(const scim_device *d);
bool scim_device_warm_cached(const scim_device *d, uint32_t pasid, uint64_t va);
/* A fault on va's page by a DMA that ends at dma_end (exclusive): the
 * pages its page request group asks for from va's page on, and the
 * prefault pages after them. */
void scim_device_warm_group(const scim_device *d, uint64_t va, uint64_t dma_end, uint32_t *pages, uint32_t *prefault);

/* What an invalidation of scope s removes (IOTLB, micro-TLB, walk
 * caches), at once (an munmap or mprotect record of the warm-up). */
void scim_device_warm_invalidate(scim_device *d, const scim_inv_scope *s);

/* After the run: true when the whole trace was replayed and nothing is in
 * flight. describe() says what the device is waiting for (deadlock and
 * watchdog reports); oldest() gives its oldest unfinished request. */
bool scim_device_finished(const scim_device *d);
void scim_device_describe(const scim_device *d, char *buf, size_t len);
bool scim_device_oldest(const scim_device *d, scim_time_t *since, char *what, size_t len);
/* Bytes of its trace file read so far, of its size (progress reports). */
void scim_device_position(const scim_device *d, uint64_t *done, uint64_t *total);
const scim_port *scim_device_port(const scim_device *d);

extern const scim_stat_decl scim_device_stat_decls[];
extern const size_t scim_device_stat_decl_count;

#endif

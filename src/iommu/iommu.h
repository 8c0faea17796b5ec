/* IOMMU: the translation service devices ask (ATS-like), with its own IOTLB,
 * a PASID cache, a pool of concurrent page walkers that read the process's
 * real page tables through the memory controller, a page-request queue of
 * finite depth (PRI-like) in front of the OS, and an invalidation queue that
 * also invalidates the device TLBs bound to a PASID.
 *
 * Modelling notes (details and sources in docs/architecture.md):
 *   - Translation request: IOTLB lookup (iotlb.latency cycles), then on a
 *     miss a walker: a PASID-cache miss reads the context structures of the
 *     ISA's IOMMU family (iommu/ctxfmt.h: VT-d 2 reads, SMMUv3 3, RISC-V
 *     IOMMU 4), then one read per page-table level.
 *     Requests that find every walker busy wait in FIFO order.
 *   - Not-present (or insufficient permission) entries are not cached; the
 *     completion says so and the device sends a page request.
 *   - Page requests are forwarded to the OS while fewer than prq_depth are
 *     outstanding; beyond that the IOMMU drops the request and answers
 *     "Success" itself, so the device retries its translation and faults
 *     again (VT-d and RISC-V IOMMU spec behaviour on queue overflow).
 *   - Invalidation descriptors are processed in order, inv_latency each;
 *     a descriptor completes when every bound device has acknowledged its
 *     device-TLB invalidation. Walks in progress that overlap an
 *     invalidation are restarted, so a walk that read a PTE before it was
 *     cleared can never install or return it.
 *   - DMAs of devices without an ATC (ats: false) arrive untranslated; the
 *     IOMMU translates them inline (same IOTLB and walkers), performs them
 *     at memory and answers with the memory's response; a not-present page
 *     stalls the DMA while the IOMMU asks the OS (inline.c).
 */
#ifndef SCIMITAR_IOMMU_H
#define SCIMITAR_IOMMU_H

#include "core/inject.h"
#include "core/observer.h"
#include "core/port.h"
#include "core/stats.h"
#include "iommu/ctxfmt.h"
#include "mmu/tlb.h"
#include "mmu/tlbcfg.h"
#include "mmu/walker.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_iommu_params {
    uint64_t clock_hz;
    scim_tlb_keys iotlb;
    scim_tlb_keys pasid_cache;
    uint64_t walkers;
    uint64_t pwc_entries;       /* paging-structure caches, per level */
    uint64_t pwc_latency;       /* cycles */
    uint64_t prq_depth;
    uint64_t ats_queue;         /* translation requests held at once; 0 unbounded */
    uint64_t inline_queue;      /* untranslated DMAs (ats: false) held at once; 0 unbounded */
    uint64_t walk_queue;        /* walks waiting for a walker; 0 unbounded */
    scim_time_t inv_latency;
    scim_time_t snoop_latency;  /* broadcast protocol: applying a snooped invalidation */
    scim_time_t inv_timeout;    /* a device-TLB invalidation not completed by then fails the device; 0 never */
    uint64_t seed;              /* the run's seed (streams are seeded by path) */
    uint64_t s2tlb_entries;     /* nested translation: the walker's stage-2 TLB */
    uint64_t s2pwc_entries;     /* nested translation: stage-2 paging-structure caches, per level */
    bool nested;                /* not a key: the system has VMs (set by the builder) */
} scim_iommu_params;

/* Keys under "iommu." */
extern const scim_param_decl scim_iommu_param_decls[];
extern const size_t scim_iommu_param_decl_count;

typedef struct scim_iommu scim_iommu;

scim_iommu *scim_iommu_create(scim_kernel *k, scim_fabric *f, const char *name,
                              const scim_iommu_params *p, scim_stats *stats, scim_err *err);
void scim_iommu_destroy(scim_iommu *io);
scim_node_id scim_iommu_node(const scim_iommu *io);
const scim_port *scim_iommu_port(const scim_iommu *io);

/* Wiring, before the run (what firmware and the OS program at boot). */
void scim_iommu_set_memory(scim_iommu *io, scim_node_id mem);
void scim_iommu_set_os(scim_iommu *io, scim_node_id os);
/* The context structures the OS built (their family, and what the root
 * register holds: PASID directory, stream table or device directory). */
void scim_iommu_set_context(scim_iommu *io, const scim_ctx_format *f, uint64_t root_pa);
int scim_iommu_bind_device(scim_iommu *io, scim_node_id dev, uint32_t pasid, scim_err *err);
/* Nested translation of a PASID of a VM: its stage-2 table (VT-d: the
 * second-stage pointer and domain id of the scalable-mode PASID entry in
 * nested mode, read with its first-stage pointer; SMMUv3: STE S2TTB and
 * VMID). Walks of the PASID are two-dimensional from then on. */
int scim_iommu_set_stage2(scim_iommu *io, uint32_t pasid, const scim_stage2 *s2, scim_err *err);
/* Fault injection (lost page responses, page request bursts), or NULL;
 * set before the run (bursts are scheduled then). */
void scim_iommu_set_injector(scim_iommu *io, scim_inject *inj);
/* Device-TLB invalidations sent and not yet completed (their timeouts are
 * kernel timers, which fire only while such work is left). */
uint32_t scim_iommu_dev_invs_outstanding(const scim_iommu *io);
/* The observer of the inline accesses it performs (checker, or NULL). */
void scim_iommu_set_checker(scim_iommu *io, const scim_observer *c);

/* Functional warm-up (sim.warmup): a translation request of device `dev`
 * (its fabric node) for va's page, at once, leaving the IOMMU as a timed
 * request with nothing else in flight leaves it: the IOTLB looked up, on a
 * miss the context cache (a miss decodes the context structures from pm
 * and fills it) and a functional walk (scim_walker_walk_now), whose
 * usable result fills the IOTLB. Returns the status the completion would
 * carry (SCIM_RESP_*) with the page's address, size and rights. A PASID
 * with a stage 2: SCIM_RESP_INVALID and nothing changed (warm-up does not
 * take VMs). */
int32_t scim_iommu_warm_translate(scim_iommu *io, scim_physmem *pm, scim_node_id dev, uint32_t pasid, uint64_t va,
                                  bool write, uint64_t *page_pa, unsigned *shift, unsigned *perms);
/* Functional warm-up: what an invalidation descriptor of scope s removes
 * from the IOMMU's caches, at once (the devices are invalidated apart). */
void scim_iommu_warm_invalidate(scim_iommu *io, const scim_inv_scope *s);
/* For the safety checker (an observer): the caches that hold translations
 * or table pointers. */
size_t scim_iommu_caches(const scim_iommu *io, const scim_tlb **out, const char **names, size_t max);

extern const scim_stat_decl scim_iommu_stat_decls[];
extern const size_t scim_iommu_stat_decl_count;

#ifdef __cplusplus
}
#endif
#endif

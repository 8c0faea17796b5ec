/* The IOMMU's parts, one file each: the translation service (ats.c), the
 * context (PASID) table reader (context.c), the page request queue
 * (prq.c), the invalidation queue (invq.c), inline translation of DMAs
 * from devices without an ATC (inline.c); iommu.c holds the block's life
 * cycle, tables and message dispatch. */
#ifndef SCIM_IOMMU_INTERNAL_H
#define SCIM_IOMMU_INTERNAL_H

#include "core/fifo.h"
#include "core/inject.h"
#include "core/observer.h"
#include "core/pool.h"
#include "iommu/iommu.h"

/* An ATS request from its arrival to its completion: an entry of the
 * request buffer (iommu.ats_queue). Its index is the id of the context
 * reads and the walk made for it. */
typedef struct ats_entry {
    scim_msg *req;          /* the device's request; answered in place */
    scim_xlat_req q;        /* what is translated */
    scim_time_t arrived;
    scim_ctx_walk ctx;      /* the context lookup in progress */
    uint64_t root;          /* from the context: the page-table root and format */
    const scim_pt_format *fmt;
    /* inline.c: req is an untranslated DMA (ats: false), performed here */
    bool dma;
    bool at_memory;         /* translated; its memory access is out */
    uint64_t pa;            /* at_memory: the physical address it used */
    uint8_t shift;          /* and the size of the page of that translation */
    uint32_t *drains;       /* invalidations (invs slots) waiting for the access to finish */
    uint32_t n_drains, cap_drains;
} ats_entry;

/* A page request forwarded to the OS: the device's request waits here. */
typedef struct prq_entry {
    scim_msg *req; /* NULL: an injected phantom request (its answer goes nowhere) */
} prq_entry;

/* A device-TLB invalidation sent to one device for descriptor `slot`. */
typedef struct dev_inv {
    uint32_t slot;
    scim_node_id dev;
    uint32_t gen;       /* the timeout event that belongs to it */
    bool failing;       /* timed out: the OS is resetting the device */
} dev_inv;

/* An invalidation descriptor whose device-TLB invalidations are out. */
typedef struct inv_op {
    uint32_t pending;
    scim_msg *req;
} inv_op;

typedef struct binding {
    scim_node_id dev;
    uint32_t pasid;
} binding;

typedef struct iommu_stats {
    uint64_t ats_requests;
    uint64_t ats_not_present;
    uint64_t ats_invalid;
    uint64_t pasid_reads;
    uint64_t prq_requests;
    uint64_t prq_overflows;
    uint64_t prq_max_occupancy;
    uint64_t invalidations;
    uint64_t dev_invalidations;
    uint64_t inline_requests;
    uint64_t inline_faults;
    uint64_t inline_failed;
    uint64_t inline_drains;
    uint64_t inv_timeouts;
    uint64_t pri_responses_lost;
    uint64_t prq_phantoms;
    scim_hist *ats_latency;
    scim_hist *inline_latency;
} iommu_stats;

struct scim_iommu {
    scim_kernel *k;
    int ats_fifo; /* the kernel FIFO of IOTLB lookups (ats.c): fixed latency, so in order */
    scim_port *port;
    scim_iommu_params p;
    scim_clock clock;
    scim_node_id mem, os;
    const scim_ctx_format *ctxf; /* the context structures' family */
    uint64_t ctx_root;           /* their root (PASID directory, stream table, device directory) */
    scim_tlb *iotlb;
    scim_tlb *pasid_cache;
    scim_walker *walker;
    int ctx_client;
    int inline_client;      /* inline.c: its memory accesses and page requests */
    const scim_observer *checker;
    scim_pool ats;          /* of ats_entry */
    scim_fifo walk_blocked; /* of uint32_t: ATS entries waiting for room in the walker's queue */
    scim_pool prq;          /* of prq_entry: groups at the OS */
    uint64_t prq_used;      /* descriptors (page requests) they hold */
    binding *bindings;
    size_t n_bindings;
    scim_time_t inv_busy_until;
    scim_pool invs;         /* of inv_op */
    scim_pool dev_invs;     /* of dev_inv */
    uint32_t dev_inv_gen;
    scim_inject *inj;
    struct iommu_s2 { uint32_t pasid; scim_stage2 s2; } *s2; /* PASIDs of VMs */
    size_t n_s2;
    iommu_stats st;
};

/* ats.c */
void scim_iommu_ats_request(scim_iommu *io, scim_msg *m);
/* Translate entry e: IOTLB lookup, then context and walk on a miss; the
 * answer goes to scim_iommu_ats_complete (inline entries: to inline.c). */
void scim_iommu_translate(scim_iommu *io, uint32_t e);
/* ats.c's kernel FIFO; 0 or SCIM_ENOMEM. */
int scim_iommu_ats_init(scim_iommu *io);
void scim_iommu_ats_complete(scim_iommu *io, uint32_t e, int32_t status, uint64_t page_pa, unsigned shift,
                             unsigned perms);
void scim_iommu_ats_walk(scim_iommu *io, uint32_t e);
void scim_iommu_walk_done(void *owner, uint64_t cookie, const scim_walk_result *r);
/* context.c */
void scim_iommu_context_lookup(scim_iommu *io, uint32_t e);
void scim_iommu_context_response(void *ctx, scim_msg *m);
/* prq.c */
void scim_iommu_prq_request(scim_iommu *io, scim_msg *m);
void scim_iommu_prq_response(scim_iommu *io, scim_msg *m);
/* invq.c */
void scim_iommu_inv_request(scim_iommu *io, scim_msg *m);
void scim_iommu_inv_done(scim_iommu *io, scim_msg *m);
/* One of the completions invalidation `slot` waits for is in. */
void scim_iommu_inv_one_done(scim_iommu *io, uint32_t slot);
/* errors.c: a device-TLB invalidation out to dev for descriptor slot
 * (its request id), its timeout, the OS's answer to a failure report;
 * phantom page request bursts */
uint32_t scim_iommu_dev_inv_start(scim_iommu *io, uint32_t slot, scim_node_id dev);
void scim_iommu_dev_inv_done(scim_iommu *io, uint32_t di);
void scim_iommu_dev_fail_done(scim_iommu *io, scim_msg *m);
void scim_iommu_schedule_bursts(scim_iommu *io);
/* inline.c */
void scim_iommu_inline_request(scim_iommu *io, scim_msg *m);
void scim_iommu_inline_translated(scim_iommu *io, uint32_t e, int32_t status, uint64_t page_pa, unsigned shift,
                                  unsigned perms);
void scim_iommu_inline_response(void *ctx, scim_msg *m);
/* Invalidation `slot` of scope s waits for every inline access in flight
 * that used a translation s removes; returns how many. */
uint32_t scim_iommu_inline_drain(scim_iommu *io, const scim_inv_scope *s, uint32_t slot);

/* invq.c: what a descriptor removes from the IOMMU's own caches (also the
 * warm-up's invalidation, warm.c) */
void scim_iommu_invalidate_local(scim_iommu *io, const scim_inv_scope *s);

#endif

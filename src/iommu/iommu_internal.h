/* The IOMMU's parts, one file each: the translation service (ats.c), the
 * context (PASID) table reader (context.c), the page request queue
 * (prq.c), the invalidation queue (invq.c); iommu.c holds the block's
 * life cycle, tables and message dispatch. */
#ifndef SCIM_IOMMU_INTERNAL_H
#define SCIM_IOMMU_INTERNAL_H

#include "core/fifo.h"
#include "core/pool.h"
#include "iommu/iommu.h"

/* An ATS request from its arrival to its completion: an entry of the
 * request buffer (iommu.ats_queue). Its index is the id of the context
 * reads and the walk made for it. */
typedef struct ats_entry {
    scim_msg *req;          /* the device's request; answered in place */
    scim_time_t arrived;
    bool ctx_second;        /* context read: at the PASID-table entry (else the directory entry) */
    uint64_t root;          /* from the context: the page-table root and levels */
    int levels;
} ats_entry;

/* A page request forwarded to the OS: the device's request waits here. */
typedef struct prq_entry {
    scim_msg *req;
} prq_entry;

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
    scim_hist *ats_latency;
} iommu_stats;

struct scim_iommu {
    scim_kernel *k;
    scim_port *port;
    scim_iommu_params p;
    scim_clock clock;
    scim_node_id mem, os;
    uint64_t pasid_dir;
    scim_tlb *iotlb;
    scim_tlb *pasid_cache;
    scim_walker *walker;
    int ctx_client;
    scim_pool ats;          /* of ats_entry */
    scim_fifo walk_blocked; /* of uint32_t: ATS entries waiting for room in the walker's queue */
    scim_pool prq;          /* of prq_entry: groups at the OS */
    uint64_t prq_used;      /* descriptors (page requests) they hold */
    binding *bindings;
    size_t n_bindings;
    scim_time_t inv_busy_until;
    scim_pool invs;         /* of inv_op */
    iommu_stats st;
};

/* ats.c */
void scim_iommu_ats_request(scim_iommu *io, scim_msg *m);
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

#endif

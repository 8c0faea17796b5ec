/* Memory controller: the fabric node in front of simulated DRAM.
 *
 * Serves SCIM_MSG_MEM_READ / SCIM_MSG_MEM_WRITE with a fixed access latency
 * and a bandwidth bound: a request starts when the data bus is free
 * (FIFO), holds it for len / bandwidth, and its response leaves `latency`
 * after the transfer. Every request is answered with SCIM_MSG_MEM_RESP (a
 * write's response is a header-only acknowledgement, so DMA writes have a
 * measurable completion).
 *
 * PTE reads (SCIM_MEMF_PTE) return the 64-bit entry as stored at the moment
 * the request is served. With SCIM_MEMF_SET_AD the controller sets the
 * accessed bit (and the dirty bit of a leaf for a write walk) in the same
 * step, like a walker's locked read-modify-write; the write-back's bandwidth
 * is not charged (8 bytes against a DMA's kilobytes).
 */
#ifndef SCIMITAR_MEMCTL_H
#define SCIMITAR_MEMCTL_H

#include "core/config.h"
#include "core/port.h"
#include "mmu/physmem.h"
#include "core/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_memctl_params {
    scim_time_t latency;     /* access latency (row miss-ish average) */
    uint64_t bytes_per_s;    /* data bus bandwidth; 0 = unlimited */
    uint64_t size;           /* bytes of simulated physical memory (the frame pool) */
    uint64_t queue;          /* requests held at once; 0 unbounded */
} scim_memctl_params;

/* Keys under "memory." */
extern const scim_param_decl scim_memctl_param_decls[];
extern const size_t scim_memctl_param_decl_count;

typedef struct scim_memctl scim_memctl;

scim_memctl *scim_memctl_create(scim_kernel *k, scim_fabric *f, scim_physmem *pm,
                                const char *name, const scim_memctl_params *p,
                                scim_stats *stats, scim_err *err);
void scim_memctl_destroy(scim_memctl *mc);
scim_node_id scim_memctl_node(const scim_memctl *mc);
const scim_port *scim_memctl_port(const scim_memctl *mc);

extern const scim_stat_decl scim_memctl_stat_decls[];
extern const size_t scim_memctl_stat_decl_count;

#ifdef __cplusplus
}
#endif
#endif

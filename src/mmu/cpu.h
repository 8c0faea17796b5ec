/* CPU core: a near core that replays a load/store trace in a process's
 * address space, with an L1 DTLB, an L2 STLB, paging-structure caches and
 * hardware page walkers (Intel SDM Vol. 3A 4.10: TLBs and paging-structure
 * caches).
 *
 * Modelling notes (docs/architecture.md, docs/os.md):
 *   - Each access is split at 4 KiB boundaries; at most max_outstanding are
 *     in flight (1 = an in-order core that waits for each miss).
 *   - L1 lookup (l1tlb.latency cycles); on a miss the L2 (l2tlb.latency
 *     more); on a miss a walker: the paging-structure caches (one lookup of
 *     pwc.latency cycles for all levels) give the deepest cached table, then
 *     one memory read per remaining level. A walk fills the L2 and the L1.
 *   - A not-present or write-protected leaf traps to the OS (a page fault):
 *     the core waits for the OS's answer, then walks again, as x86 re-runs
 *     the faulting instruction.
 *   - Invalidations: an IPI costs ipi_cost of the core's time (it issues
 *     nothing new meanwhile); a snooped broadcast invalidation costs
 *     snoop_latency and no interruption. Either way the core invalidates
 *     its TLBs and paging-structure caches for the scope, restarts walks in
 *     flight that overlap, waits for accesses that used an invalidated
 *     translation, then acknowledges.
 */
#ifndef SCIMITAR_CPU_H
#define SCIMITAR_CPU_H

#include "core/observer.h"
#include "core/config.h"
#include "core/port.h"
#include "core/stats.h"
#include "mmu/physmem.h"
#include "mmu/ptfmt.h"
#include "mmu/replay.h"
#include "mmu/tlb.h"
#include "mmu/tlbcfg.h"
#include "mmu/walker.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_cpu_params {
    const char *trace;
    uint64_t pasid;
    uint64_t max_outstanding;
    uint64_t clock_hz;
    scim_tlb_keys l1tlb;
    scim_tlb_keys l2tlb;
    uint64_t pwc_entries;     /* per level; 0 disables */
    uint64_t pwc_latency;     /* cycles */
    uint64_t walkers;
    uint64_t s2tlb_entries;   /* a guest's core: gPA -> hPA pages of its 2D walks; 0 disables */
    uint64_t s2pwc_entries;   /* a guest's core: stage-2 paging-structure caches, per level */
    bool nested;              /* set by the builder, not a key: the core runs a guest's process */
    scim_time_t ipi_cost;
    scim_time_t snoop_latency;
    scim_time_t link_latency;  /* default topology: to the memory controller */
    uint64_t link_bandwidth;
    uint64_t seed;
} scim_cpu_params;

extern const scim_param_decl scim_cpu_param_decls[];
extern const size_t scim_cpu_param_decl_count;

typedef struct scim_cpu scim_cpu;

scim_cpu *scim_cpu_create(scim_kernel *k, scim_fabric *f, const char *name, const scim_cpu_params *p,
                          scim_stats *stats, scim_err *err);
void scim_cpu_destroy(scim_cpu *c);
scim_node_id scim_cpu_node(const scim_cpu *c);
const char *scim_cpu_name(const scim_cpu *c);

/* Wiring (boot): memory and OS nodes, and the process's page-table root
 * (what CR3, TTBR0 or satp holds) and format. */
void scim_cpu_set_targets(scim_cpu *c, scim_node_id mem, scim_node_id os);
/* A guest's core (created with params.nested): every walk is a 2D walk
 * through the VM's stage 2 (what the VMCS's EPTP or VTTBR_EL2 holds). */
void scim_cpu_set_stage2(scim_cpu *c, const scim_stage2 *s2);
void scim_cpu_set_address_space(scim_cpu *c, uint64_t root_pa, const scim_pt_format *fmt);
void scim_cpu_set_checker(scim_cpu *c, const scim_observer *chk);
/* Every translation cache of the core, for the checker. */
size_t scim_cpu_tlbs(const scim_cpu *c, const scim_tlb **out, const char **names, size_t max);
/* The next record of its trace to warm up with (scim_replay_warm_next). */
int scim_cpu_warm_next(scim_cpu *c, scim_trace_rec *rec, uint32_t *pasid, scim_time_t *at, scim_err *err);
/* sim.records, sim.until: replay only the first `records` records of its
 * trace, issued before `until` (scim_replay_limit; 0: no limit). */
void scim_cpu_limit_records(scim_cpu *c, uint64_t records, scim_time_t until);
/* Its trace engine (scim_sim_fork, scim_sim_set_warm_points' windows). */
scim_replay *scim_cpu_replay(scim_cpu *c);
/* The first record the warm-up did not take, and the detailed run's
 * origin (scim_replay_warm_unread). */
void scim_cpu_warm_unread(scim_cpu *c, const scim_trace_rec *rec, scim_time_t at, scim_time_t origin);
/* Functional access (sim.warmup): the TLB lookups and fills a timed access
 * of the same page would make (L1, L2, as the timed path inserts), a
 * functional walk (scim_walker_walk_now) on a miss; no time, no event.
 * Returns 0 when the page translated with the needed rights (*pa set to the
 * byte's physical address if pa is not NULL), SCIM_RESP_NOT_PRESENT (see
 * core/proto.h for the response codes) when the timed access would fault
 * (not present, or a write without write rights): the caller makes the
 * page present and calls again. A CPU with a stage 2 (a VM) returns
 * SCIM_RESP_INVALID and changes nothing; so does a PASID other than the
 * core's (params.pasid: a core runs one address space). It walks from the
 * root of scim_cpu_set_address_space. One page: the caller splits an
 * access at 4 KiB boundaries, as the timed core does. */
int scim_cpu_warm_access(scim_cpu *c, scim_physmem *pm, uint32_t pasid, uint64_t va, bool write, uint64_t *pa);
/* Functional invalidation (an unmap during warm-up): every TLB and
 * paging-structure cache entry of the scope, as a shootdown would leave. */
void scim_cpu_warm_invalidate(scim_cpu *c, const scim_inv_scope *s);
int scim_cpu_start(scim_cpu *c, scim_err *err);
bool scim_cpu_finished(const scim_cpu *c);
void scim_cpu_describe(const scim_cpu *c, char *buf, size_t len);
/* The core's oldest unfinished access (watchdog reports). */
bool scim_cpu_oldest(const scim_cpu *c, scim_time_t *since, char *what, size_t len);
/* Bytes of its trace file read so far, of its size (progress reports). */
void scim_cpu_position(const scim_cpu *c, uint64_t *done, uint64_t *total);
const struct scim_port *scim_cpu_port(const scim_cpu *c);

extern const scim_stat_decl scim_cpu_stat_decls[];
extern const size_t scim_cpu_stat_decl_count;

#ifdef __cplusplus
}
#endif
#endif

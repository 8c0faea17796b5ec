/* The OS memory manager (privileged software on the host).
 *
 * It owns address spaces (PASIDs) with real page tables in simulated
 * memory in its ISA's format (mmu/ptfmt.h), their regions (VMAs), the
 * frame pool, and the IOMMU context structures (iommu/ctxfmt.h: VT-d PASID
 * tables, SMMUv3 stream table and context descriptors, RISC-V IOMMU device
 * and process directories) the IOMMU reads. At run time it is the fabric node that:
 *   - resolves I/O page faults (page requests forwarded by the IOMMU): after
 *     os.iopf_cost on one of os.fault_handlers handler contexts it maps the
 *     faulting page (4 KiB, or the region's page size) and answers;
 *   - executes the OS operations of agents' traces (mmap, munmap) with a
 *     syscall cost plus a per-page cost, and for munmap runs the
 *     invalidation (IOMMU IOTLB and every device TLB bound to the PASID)
 *     and frees the frames only after every completion — page-table frames
 *     included (deferred like Linux's mmu_gather).
 * The drivers of the pin and iommu-map schemes are in src/driver/.
 * Costs are charged as service time of the OS contexts; see
 * docs/architecture.md for the sources of the defaults.
 */
#ifndef SCIMITAR_OS_H
#define SCIMITAR_OS_H

#include <stdbool.h>

#include "core/inject.h"
#include "core/observer.h"
#include "core/config.h"
#include "core/fabric.h"
#include "core/proto.h"
#include "mmu/physmem.h"
#include "core/stats.h"
#include "iommu/ctxfmt.h"
#include "mmu/ptfmt.h"
#include "mmu/walker.h"
#include "scimitar/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_os_params {
    int fault_profile;            /* preset of the fault costs (os/profile.c) */
    scim_time_t iopf_wakeup;      /* interrupt delivery and waking a sleeping fault handler */
    scim_time_t iopf_cost;        /* fixed cost of a batch of page request groups */
    scim_time_t iopf_page_cost;   /* each page mapped (allocate, map; zeroing is a memory write) */
    bool iopf_zero;               /* zero new frames (a 4 KiB write at the memory controller) */
    uint64_t fault_batch;         /* page request groups one handler takes at once */
    uint64_t fault_handlers;      /* fault handler threads */
    bool prefault_sync;           /* map prefault pages before answering the group */
    scim_time_t sw_walk_cost;     /* walk placement software: a walk in an interrupt handler */
    scim_time_t backup_copy_cost; /* fault_policy backup: copying one chunk out of the buffer */
    scim_time_t cpu_fault_cost;   /* handling one CPU page fault (on the faulting core) */
    scim_time_t syscall_cost;     /* fixed part of an OS operation */
    scim_time_t map_page_cost;    /* per page populated by mmap */
    scim_time_t unmap_page_cost;  /* per mapped page removed by munmap */
    scim_time_t protect_page_cost;/* per page changed by mprotect */
    scim_time_t pin_page_cost;    /* per page pinned */
    scim_time_t unpin_page_cost;  /* per page unpinned */
    scim_time_t migrate_page_cost;/* per page copied by migrate */
    int shootdown;                /* 0 sync (IPIs), 1 broadcast */
    scim_time_t ipi_send_cost;    /* initiator time per IPI sent */
    scim_time_t broadcast_cost;   /* initiator time per broadcast invalidation issued */
    uint64_t inv_coalesce_pages;  /* more pages than this in one round: one whole-PASID invalidation */
    uint64_t reclaim_low;         /* free frames below which reclaim starts */
    uint64_t reclaim_high;        /* free frames at which it stops */
    uint64_t reclaim_batch;       /* pages evicted per shootdown round */
    scim_time_t swap_read_latency;
    scim_time_t swap_write_latency;
    uint64_t swap_parallel;       /* swap operations in service at once */
    uint64_t swap_size;           /* bytes of swap space */
    bool unsafe_skip_device_inv;  /* TEST ONLY: break the protocol so the checker can be seen to catch it */
    /* scheme pin */
    uint64_t pin_cache_pages;     /* registration cache; 0: unpin after every I/O */
    /* scheme iommu-map */
    scim_time_t iommu_map_page_cost;
    scim_time_t iommu_unmap_page_cost;
    int iommu_map_mode;           /* 0 strict, 1 deferred */
    uint64_t flush_entries;       /* deferred: flush when a context's queue holds this many unmap calls */
    scim_time_t flush_interval;   /* deferred: or this long after the first one */
    scim_time_t iova_alloc_cost;  /* per map (dma_map) call */
    scim_time_t iova_free_cost;   /* per unmap (dma_unmap) call */
    /* the drivers of both */
    uint64_t driver_queues;       /* driver contexts per device, working in parallel */
    scim_time_t pin_lookup_cost;  /* pin: a registration-cache lookup in user space */
    /* not configuration keys of os.: set by the builder from system.* */
    scim_isa isa;                 /* the formats of page tables and IOMMU context structures */
    const scim_pt_format *paging; /* a process's format unless it names its levels; NULL: 4 levels */
} scim_os_params;

/* processes.<name> and each entry of its regions list. */
typedef struct scim_process_params {
    uint64_t pasid;
    uint64_t levels;
    const char *vm; /* "" on the host */
    const scim_cfg_node *regions;
} scim_process_params;

typedef struct scim_region_params {
    uint64_t va;
    uint64_t size;
    bool populate;
    int page_size; /* index into {"4K", "2M", "1G"} */
    int prot;      /* index into {"r", "rw"} */
    bool static_dma; /* pin/iommu-map: the driver pins or maps it once, at bind (a ring) */
} scim_region_params;

extern const scim_param_decl scim_process_param_decls[];
extern const size_t scim_process_param_decl_count;
extern const scim_param_decl scim_region_param_decls[];
extern const size_t scim_region_param_decl_count;

/* vms.<name>: a VM's guest memory and its hypervisor's stage 2 (os/hyp.c). */
typedef struct scim_vm_params {
    uint64_t memory;              /* bytes of guest-physical memory */
    int pin;                      /* 0 auto, 1 all, 2 none */
    scim_time_t s2_fault_cost;    /* hypervisor time of a stage-2 fault */
    scim_time_t fault_forward_cost; /* handing a stage-1 page request to the guest */
    uint64_t handlers;            /* hypervisor threads for stage-2 faults */
    scim_time_t s2_reclaim_at;    /* the hypervisor takes guest pages back at stage 2 (0: never) */
    uint64_t s2_reclaim_pages;    /* pages per round */
    scim_time_t s2_reclaim_interval; /* between rounds (0: one round) */
    scim_time_t map_exit_cost;    /* iommu-map in a guest: the vIOMMU's exit per map or unmap call */
    /* the guest kernel's I/O page fault handling (vms.<n>.guest.*, as os.*) */
    int guest_profile;
    scim_time_t guest_wakeup, guest_iopf_cost, guest_page_cost;
    bool guest_zero;
    uint64_t guest_batch, guest_handlers;
    scim_time_t guest_cpu_fault_cost;
    int stage2;                   /* 0 auto, else an index in the stage-2 format names (hyp.c) */
} scim_vm_params;
extern const scim_param_decl scim_vm_param_decls[];
extern const char *const scim_vm_stage2_names[]; /* vms.<n>.stage2 values, by scim_vm_params.stage2 */
extern const size_t scim_vm_param_decl_count;
extern const scim_stat_decl scim_vm_stat_decls[]; /* under "<vm>." */
extern const size_t scim_vm_stat_decl_count;
extern const scim_stat_decl scim_vm_guest_stat_decls[]; /* under "<vm>.": its guest kernel's faults */
extern const size_t scim_vm_guest_stat_decl_count;

/* Keys under "os." */
extern const scim_param_decl scim_os_param_decls[];
extern const size_t scim_os_param_decl_count;

typedef struct scim_os scim_os;

scim_os *scim_os_create(scim_kernel *k, scim_fabric *f, scim_physmem *pm, const char *name,
                        const scim_os_params *p, scim_stats *stats, scim_err *err);
void scim_os_destroy(scim_os *os);
scim_node_id scim_os_node(const scim_os *os);
const struct scim_port *scim_os_port(const scim_os *os);

/* Set-up (before the run; zero simulated time). levels: of the ISA's
 * formats (x86-64 4/5, armv8 3/4, riscv 3/4/5); 0: the system's paging. */
int scim_os_add_process(scim_os *os, const char *name, uint32_t pasid, int levels, scim_err *err);
/* A VM (before its processes): guest memory, a stage-2 table in the ISA's
 * format (EPT, Arm stage 2), pinned and mapped now if pin_all. Its
 * statistics go under "<name>.hyp.*". */
int scim_os_add_vm(scim_os *os, const char *name, const scim_vm_params *p, bool pin_all, scim_stats *stats,
                   scim_err *err);
/* A process of VM `vm`: its page tables hold guest-physical addresses;
 * its pages are 4 KiB. */
int scim_os_add_guest_process(scim_os *os, const char *name, uint32_t pasid, int levels, const char *vm,
                              scim_err *err);
/* The stage 2 a guest PASID's walks go through; SCIM_ENOENT on the host. */
int scim_os_vm_stage2(const scim_os *os, uint32_t pasid, scim_stage2 *out);
/* The first VM whose hypervisor reclaims stage-2 pages on a timer
 * (vms.<name>.s2_reclaim.at), NULL if none. */
const char *scim_os_vm_s2_reclaim_timed(const scim_os *os);
/* Functional stage-2 reclaim (sim.warmup_until): every round of every
 * VM's timer due at or before t on the records' clock (s2_reclaim.at, then
 * every s2_reclaim.interval), at once, as os_hyp_s2_reclaim's round leaves
 * the OS once its shootdown is over: the same pages (the CLOCK list's
 * order, s2_reclaim.pages, pinned ones skipped) moved to new host frames,
 * their stage-2 entries removed, each PASID's scopes through the
 * invalidation callback (SCIM_ESTATE if none is set), the old frames
 * freed. The caller runs it before each record, with the record's issue
 * time. 0, or SCIM_ENOMEM (host memory). */
int scim_os_warm_s2_reclaim(scim_os *os, scim_time_t t, scim_err *err);
/* The warm-up by time is over at origin (the detailed run's time 0): each
 * VM's next round runs at its due time less origin, the build's timer
 * superseded. Call after scim_os_warm_s2_reclaim(os, origin - 1). */
void scim_os_warm_s2_reclaim_end(scim_os *os, scim_time_t origin);
/* The VM of a PASID's process, NULL on the host. */
const char *scim_os_process_vm(const scim_os *os, uint32_t pasid);
/* prot: SCIM_PROT_R or SCIM_PROT_RW (include/scimitar/trace.h). */
int scim_os_add_region(scim_os *os, uint32_t pasid, uint64_t va, uint64_t size, unsigned page_shift,
                       unsigned prot, bool populate, scim_err *err);
/* A region the scheme's driver makes DMA-able once, when it binds a
 * device of the process (processes.<p>.regions[].static_dma): pin pins it
 * and hands the device its addresses, iommu-map maps it; DMAs inside it
 * need no per-I/O work. Its pages must be present. */
int scim_os_add_static_dma(scim_os *os, uint32_t pasid, uint64_t va, uint64_t size, scim_err *err);
/* The IOMMU context structures: their family and root. */
const scim_ctx_format *scim_os_context_format(const scim_os *os);
uint64_t scim_os_context_root(const scim_os *os);
void scim_os_set_iommu(scim_os *os, scim_node_id iommu);
/* Where the fault handlers zero new frames (writes at the memory's bandwidth). */
void scim_os_set_memory(scim_os *os, scim_node_id mem);
/* Which cores and devices may cache translations of a PASID (Linux's
 * mm_cpumask and the SVA bonds): shootdowns reach them. */
int scim_os_bind_cpu(scim_os *os, scim_node_id cpu, uint32_t pasid, scim_err *err);
/* The device's context (SMMUv3 STE, RISC-V device context; nothing for
 * VT-d, whose PASID table serves every device), indexed by its fabric node
 * number: what the IOMMU reads to translate for it. A device without an
 * ATC (ats: false) gets only this; a bound device gets it too. */
int scim_os_attach_device(scim_os *os, scim_node_id dev, scim_err *err);
int scim_os_bind_device(scim_os *os, scim_node_id dev, uint32_t pasid, scim_err *err);
/* Walk placement shadow: the device keeps a synchronized copy of the
 * PASID's tables. Every later entry update is sent to it (SCIM_MSG_SYNC)
 * and the OS operation that made it waits for the acknowledgement. The
 * initial contents are visited with scim_os_shadow_snapshot(). */
int scim_os_bind_shadow(scim_os *os, scim_node_id dev, uint32_t pasid, scim_err *err);
int scim_os_shadow_snapshot(const scim_os *os, uint32_t pasid,
                            void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value), void *ctx);
/* The page-table root and format of a PASID (what a core loads into CR3,
 * TTBR0 or satp). */
int scim_os_address_space(const scim_os *os, uint32_t pasid, uint64_t *root_pa, const scim_pt_format **fmt);
void scim_os_set_checker(scim_os *os, const scim_observer *c);

#define SCIM_DOMAIN_PASID_BASE 0xF0000u /* I/O address spaces of the iommu-map scheme */

/* fault_policy backup: set aside a pinned, never-reclaimed buffer of
 * `bytes` and return its physical address. */
int scim_os_alloc_backup(scim_os *os, uint64_t bytes, uint64_t *pa, scim_err *err);

/* The host driver of the pin and iommu-map schemes (src/driver/) sits
 * above the OS: it registers here and is handed every SCIM_OS_OP_IO_*
 * request the OS receives (core/proto.h). It owns the message from then
 * on and answers it through the OS. Without a driver such requests are
 * answered Invalid. The driver's parameters (os.pin.*, os.iommu_map.*)
 * and statistics (os.io.*) stay in the OS's tables. */
typedef struct scim_os_io_driver {
    void (*submit)(void *ctx, scim_msg *m);
} scim_os_io_driver;
void scim_os_set_io_driver(scim_os *os, const scim_os_io_driver *ops, void *ctx);
/* Bring time-integrated statistics (frames.pinned_integral) up to now;
 * call before reading or writing the statistics. */
void scim_os_sync_stats(scim_os *os);
/* What the OS is busy with, one line (for the watchdog's and the deadlock
 * report): fault groups queued and handlers at work, faults waiting for a
 * frame, software walks, shadow updates in flight, shootdowns, swap. */
void scim_os_describe(const scim_os *os, char *buf, size_t len);

/* An OS operation from the host program (host.c): rec says what, as a
 * trace record would (op mmap .. unpin, addr, size, pasid, prot, populate,
 * page_shift). It reaches the OS as a request on its own port at `at`
 * (not before now) and is handled like a trace's: syscall cost, per-page
 * cost, shootdowns of every CPU and device that may cache the range.
 * done(ctx, tag, status, submitted) runs when it is answered (status 0 or
 * a SCIM_RESP_* code). */
typedef void (*scim_os_host_done_fn)(void *ctx, uint64_t tag, int32_t status, scim_time_t submitted);
int scim_os_host_call(scim_os *os, const scim_trace_rec *rec, scim_time_t at, uint64_t tag, scim_os_host_done_fn done,
                      void *ctx, scim_err *err);
/* Fault injection (swap read errors), or NULL. */
void scim_os_set_injector(scim_os *os, scim_inject *inj);

/* Functional warm-up: how the OS's at-once shootdowns reach every cache
 * (set by sim/warm.c before the warm-up; NULL after). The OS calls it for
 * each shootdown of its warm-up (reclaim, stage-2 reclaim, an operation
 * record's round): once per scope the timed round would send, to the
 * caches it would send it to, after the page-table entries are cleared
 * and before any of their frames is freed; so does the iommu-map driver's
 * warm-up for its unmaps and flushes (driver/driver.h). Under
 * os.shootdown: sync the cores get one scope per round (an IPI: the
 * round's range when it has one, else the whole PASID) and the devices and
 * the IOMMU one per range (invalidation descriptors); under broadcast,
 * every range goes to all. */
enum { SCIM_OS_WARM_INV_CORES = 1u, SCIM_OS_WARM_INV_DEVICES = 2u, SCIM_OS_WARM_INV_ALL = 3u };
typedef void (*scim_os_warm_inv_fn)(void *ctx, const scim_inv_scope *s, unsigned targets);
void scim_os_warm_set_invalidate(scim_os *os, scim_os_warm_inv_fn fn, void *ctx);
/* Functional fault-in (sim.warmup): make va's page of pasid present with the
 * rights a write needs if `write`, at once, as the fault handler's per-page
 * work would (allocate, zero, map with the region's page size; a swapped
 * page is swapped in), no event and no time. Returns 0 when the page is
 * present with the rights (already, or now); SCIM_RESP_INVALID (core/proto.h)
 * when the timed handler would refuse it (no region, no such PASID, rights
 * the region does not give): the caller treats it as the timed run treats
 * an Invalid answer. It reclaims as kswapd would, at once: once the page
 * is mapped, if free frames are below os.reclaim.low_watermark; or, when
 * no frame is free for a 4 KiB page, at once with the fault waiting, the
 * fault retried at every frame freed (fault.c wait_for_frame). Each round
 * picks up to os.reclaim.batch pages of one PASID with CLOCK (the accessed
 * bits as they are in memory), clears their entries, calls the
 * invalidation callback (scim_os_warm_set_invalidate) with the round's
 * scopes (the whole PASID beyond os.inv_coalesce_pages pages, else one per
 * range of contiguous pages, as the timed round's invalidation
 * descriptors), then frees the emptied page-table frames and the pages'
 * frames, each page written to the swap slot the timed round gives it;
 * rounds go on until os.reclaim.high_watermark frames are free (and the
 * fault has its frame). That reclaim may take the page the fault has just
 * mapped (the newest page, its accessed bit not set yet), as the timed
 * kswapd may before the faulting access is retried: 0 then too, the page
 * swapped out; the timed agent's retry faults it again. SCIM_ENOMEM with
 * a message in err (saying why, and
 * to use a smaller sim.warmup or a larger memory.size) when the fault's
 * frame cannot be had: nothing is reclaimable (every 4 KiB page pinned),
 * a 2 MiB or 1 GiB page does not fit (huge pages are not reclaimed), or
 * the swap space is full (os.swap.size), as the timed run would stop.
 * SCIM_ESTATE when reclaim is due and no invalidation callback is set.
 * SCIM_EINVAL with a message for a reclaim under os.unsafe_skip_device_inv:
 * warm-up does not support it. A process of a VM faults in its guest
 * (guest frames, each backed by a host frame as hyp.c's guest_alloc
 * backs it); a fault that is stage 2's goes to scim_os_warm_s2_fault
 * first. The OS adds no page of its own (no fault-around): for a page
 * request group, call it once per page of the group, then
 * scim_os_warm_prefault for its prefault pages. SCIM_ESTATE if the page is
 * in transition (timed work in flight: not during a warm-up). Event
 * statistics (os.iopf.*, os.faults.*, os.reclaim.*, os.swap.*) are not
 * counted; os.frames.* levels are. */
int scim_os_warm_fault(scim_os *os, uint32_t pasid, uint64_t va, bool write, scim_err *err);
/* The same for a device's I/O page fault: a new page is zeroed before it
 * is mapped (os.iopf.zero_pages), which for a guest is its first touch of
 * the frame, mapped in stage 2 at once as the hypervisor maps it after
 * the zeroing's EPT violation. A core's fault (scim_os_warm_fault) does
 * not zero, so its guest page has no stage-2 entry until the retried
 * walk faults at stage 2. */
int scim_os_warm_io_fault(scim_os *os, uint32_t pasid, uint64_t va, bool write, scim_err *err);
/* The hypervisor's share of a fault (sim.warmup), asked first: a fault of
 * [va, +pages) of pasid (a device's page request group, or a core's fault:
 * 1 page) whose first page the guest maps but stage 2 does not is the
 * hypervisor's (hyp.c os_hyp_page_request, os_hyp_cpu_fault): every page
 * of the range the guest maps is mapped in stage 2 at once, *handled set,
 * and the guest sees no fault (no prefault either). Otherwise nothing,
 * *handled false: the fault is the guest's (scim_os_warm_fault or
 * _io_fault, then scim_os_warm_prefault), as for a host process. 0, or
 * SCIM_ENOMEM when stage 2 finds no frame for a table. */
int scim_os_warm_s2_fault(scim_os *os, uint32_t pasid, uint64_t va, uint32_t pages, bool *handled, scim_err *err);
/* Functional prefault (sim.warmup): what the fault handler does for one
 * prefault page of a page request group (the device's prefault pages,
 * after the group's own pages, which go to scim_os_warm_fault): map va's
 * page if it is plainly missing (a 4 KiB page of a region that gives any
 * access, not present, not swapped out), with the region's rights;
 * otherwise, or when no frame is free, nothing, as the handler (best
 * effort: no reclaim for it). A page mapped below
 * os.reclaim.low_watermark reclaims as scim_os_warm_fault does. A guest's
 * page is zeroed, so mapped in stage 2, as scim_os_warm_io_fault's. 0, or
 * the errors of that reclaim or of stage 2 (as scim_os_warm_fault's). */
int scim_os_warm_prefault(scim_os *os, uint32_t pasid, uint64_t va, scim_err *err);
/* Functional OS operation (sim.warmup): an mmap, munmap, mprotect,
 * migrate, reclaim, pin or unpin record
 * (rec as a trace record, pasid resolved) applied at once, leaving the OS
 * as the timed operation leaves it once its shootdown has completed
 * (regions, page tables, frames freed, page-table frames the timed path
 * frees after the shootdown freed too). *inv (if not NULL) is set to the
 * scope every translation cache must drop (the caller invalidates every
 * CPU, device and IOMMU cache at once: nothing can use a translation in
 * between, as no time passes); a scope with len 0 (or whatever
 * core/proto.h's scim_inv_scope offers for "nothing") when there is
 * nothing to drop (mmap, pin, unpin). A read or write: SCIM_EINVAL ("not an
 * OS operation").
 * What the timed path answers Invalid: SCIM_RESP_INVALID, err untouched.
 *
 * "Nothing" is {SCIM_INV_RANGE, pasid, 0, 0}: the caller must then not
 * invalidate at all, as the timed operation sent nothing (a walk cache
 * drops the whole PASID's table pointers for any scope). With the
 * invalidation callback set (scim_os_warm_set_invalidate), the round's
 * scopes go through it, each to the caches the timed round sends it to,
 * and *inv is nothing. Without it, *inv is one scope covering them: the
 * whole PASID beyond os.inv_coalesce_pages pages, else the range of the
 * pages it unmapped or downgraded; when those are not contiguous (the
 * timed round sends one invalidation per range), the range from the first
 * to the last. Also SCIM_ENOMEM when populating finds no
 * free frame (the timed mmap stops the run there too: it does not wait for
 * reclaim); a populated mmap that leaves free frames below
 * os.reclaim.low_watermark reclaims as scim_os_warm_fault does, its
 * shootdowns through the invalidation callback (not *inv); SCIM_EINVAL
 * for an munmap or downgrade under os.unsafe_skip_device_inv. */
int scim_os_warm_op(scim_os *os, const scim_trace_rec *rec, uint32_t pasid, scim_inv_scope *inv, scim_err *err);
/* Functional software walk (sim.warmup, walk placement software): the
 * interrupt handler's answer to a device's request for va's page, as the
 * timed handler gives it: a present page the access may use at once; else
 * the page faulted in (as scim_os_warm_fault; *faulted set) and what the
 * table then holds. SCIM_RESP_OK with the page's address, size and
 * rights, SCIM_RESP_INVALID (no page the access may have, or the fault's
 * own reclaim took it back), or scim_os_warm_fault's errors. */
int scim_os_warm_sw_walk(scim_os *os, uint32_t pasid, uint64_t va, bool write, bool *faulted, uint64_t *page_pa,
                         unsigned *shift, unsigned *perms, scim_err *err);
/* Functional shadow sync (sim.warmup, walk placement shadow): hands every
 * page-table entry update not yet sent (n (entry address, value) pairs, in
 * the order written) to fn, once per device that shadows the PASID (its
 * node), as the timed OS's sync messages would, and forgets them. The
 * caller applies them to the copies (scim_device_shadow_load) after every
 * warm-up call that may write entries. */
typedef void (*scim_os_warm_sync_fn)(void *ctx, scim_node_id shadow_dev, const uint64_t *pairs, size_t n);
void scim_os_warm_sync_shadows(scim_os *os, scim_os_warm_sync_fn fn, void *ctx);

/* Functional translation, for the checker and tests: 1 and *pa if mapped. */
int scim_os_resolve(void *os, uint32_t pasid, uint64_t va, uint64_t *pa);

/* Frame accounting (4 KiB frames). */
typedef struct scim_os_frames {
    uint64_t total;       /* frames in the pool */
    uint64_t free;
    uint64_t data;        /* mapped to processes */
    uint64_t page_tables; /* page-table frames of every process */
    uint64_t pasid_table; /* PASID directory and tables */
    uint64_t deferred;    /* page-table frames waiting for the shootdown that emptied them */
    uint64_t transit;     /* data frames neither free nor mapped (shootdown, writeback, copy, swap-in, zeroing) */
    uint64_t reserved;    /* pinned buffers set aside for devices (backup buffers) */
} scim_os_frames;
void scim_os_frames_get(const scim_os *os, scim_os_frames *out);

extern const scim_stat_decl scim_os_stat_decls[];
extern const size_t scim_os_stat_decl_count;

#ifdef __cplusplus
}
#endif
#endif

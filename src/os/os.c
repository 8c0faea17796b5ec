/* OS memory manager (privileged software). Role in include/scimitar/os.h;
 * the model, its costs and the shootdown protocols in docs/os.md.
 *
 * Modelling notes:
 *   - Faults (I/O page faults via the IOMMU, CPU page faults as traps) share
 *     one resolution path: region and protection check; a page in
 *     transition (being swapped in or out, migrated, or waiting for a frame)
 *     makes the fault wait on it; a present page answers at once (spurious,
 *     or a write upgrade); a swapped page is read back from the swap device
 *     (major fault); otherwise a zeroed frame is mapped (minor fault).
 *   - The frame pool is finite. Below reclaim_low free frames a background
 *     reclaimer (kswapd) runs CLOCK over the mapped 4 KiB pages using the
 *     accessed bits (clearing A without a flush, as x86 Linux does), skips
 *     pinned frames, evicts reclaim_batch pages per round: clear the PTEs,
 *     one shootdown, write the pages to swap, then free the frames.
 *     Huge pages are not reclaimed. A fault that finds no frame waits.
 *   - Every removal or downgrade of a present translation runs a shootdown
 *     before the old frame can be reused: sync (IPIs to every core bound to
 *     the PASID, ipi_send_cost each, plus invalidation descriptors to the
 *     IOMMU, which forwards them to the bound devices) or broadcast (one
 *     invalidation per range that cores, the IOMMU and devices snoop, with
 *     acknowledgements). More than inv_coalesce_pages pages become one
 *     whole-PASID invalidation; otherwise one per contiguous range, and a
 *     device processes them one at a time.
 *   - Page-table frames emptied by an unmap are freed only after that
 *     shootdown completes (Linux's tlb_remove_table).
 */
#include "os/os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fifo.h"
#include "core/u64map.h"
#include "iommu/exposure.h"
#include "scimitar/kernel.h"
#include "mmu/pagetable.h"
#include "iommu/pasid.h"
#include "scimitar/trace.h"

/* The write bit of a trace/region protection (SCIM_PROT_RW = R | W). */
#define PROT_W (SCIM_PROT_RW & ~SCIM_PROT_R)
#define PAGE 4096ull

enum { SD_SYNC = 0, SD_BROADCAST = 1 };
enum op_kind { OPK_MUNMAP, OPK_MPROTECT, OPK_MIGRATE, OPK_RECLAIM, OPK_IO_UNMAP, OPK_IO_FLUSH };
enum busy_state { BUSY_FRAME, BUSY_SWAPIN, BUSY_SWAPOUT, BUSY_MIGRATE };

typedef struct region {
    uint64_t start, end;
    unsigned prot;
    unsigned page_shift;
} region;

struct scim_os;
typedef struct pt_cookie {
    struct scim_os *os;
    uint32_t pasid;
} pt_cookie;

typedef struct process {
    char name[48];
    pt_cookie *cookie;   /* what the page table hands to the allocator ops */
    uint64_t *sync;      /* walk shadow: (entry pa, value) pairs not yet sent */
    size_t n_sync, cap_sync;
    uint32_t pasid;
    int levels;
    scim_pgtable *pt;
    region *regions; /* sorted, disjoint */
    size_t n_regions, cap_regions;
    scim_u64map swapped; /* vpn -> swap slot + 1 */
    scim_u64map busy;    /* vpn -> (busy_page *) */
    scim_u64map queued;  /* vpn -> (fault_job *) of a page request waiting for a handler */
} process;

enum job_kind { JOB_IO, JOB_CPU, JOB_SW, JOB_BACKUP, JOB_OP };

typedef struct fault_job {
    scim_msg *m;
    int kind;
    bool io;           /* queued on the I/O fault handlers (JOB_IO, JOB_SW) */
    bool write;
    uint32_t extra;    /* prefault: pages after the faulting one */
    struct fault_job *followers; /* page requests for the same page that joined this one */
    uint32_t pasid;
    uint64_t va;       /* the faulting address */
    scim_time_t arrived;
    struct fault_job *next;
    struct fault_job *live_prev, *live_next; /* every job alive, so a run stopped early frees them */
} fault_job;

typedef struct busy_page {
    int state;
    fault_job *waiters;
} busy_page;

typedef struct frame_list {
    uint64_t *pfn;
    uint8_t *order;
    size_t n, cap;
} frame_list;

typedef struct page_ref {
    uint64_t va;
    uint64_t len;      /* the leaf's size */
    uint64_t old_pfn;
    uint64_t new_pfn;
    uint64_t slot;     /* reclaim: the swap slot; iommu-map deferred: when the page was queued */
} page_ref;

typedef struct sd_op {
    bool used;
    bool whole;        /* invalidate the whole PASID whatever the pages */
    int kind;
    uint32_t pasid;
    uint32_t cpu_pending, dev_pending;
    uint32_t writes_pending;
    scim_time_t started;
    scim_time_t charged;  /* initiator time already counted (sending IPIs or broadcasts) */
    scim_time_t cpus_done, devs_done;
    uint64_t checker_id;
    scim_msg *req; /* the OS request to answer, NULL for the reclaimer */
    frame_list data, tables;
    page_ref *pages;
    size_t n_pages, cap_pages;
} sd_op;

typedef struct binding {
    scim_node_id node;
    uint32_t pasid;
} binding;

typedef struct lru_page {
    uint32_t pasid;
    uint64_t va;
    uint64_t pfn;
} lru_page;

typedef struct swap_io {
    bool write;
    size_t op;
    size_t page;       /* index into the op's pages (writes) */
    fault_job *job;    /* reads */
    scim_time_t queued;
} swap_io;

typedef struct os_stats {
    uint64_t iopf_requests;
    uint64_t iopf_mapped;
    uint64_t iopf_spurious;
    uint64_t iopf_invalid;
    uint64_t iopf_joined;
    uint64_t iopf_groups;
    uint64_t prefaulted;
    uint64_t sw_walks;
    uint64_t backup_copies;
    uint64_t backup_lost;
    uint64_t cpu_faults;
    uint64_t faults_minor;
    uint64_t faults_major;
    uint64_t faults_waited;
    uint64_t frame_waits;
    uint64_t ops_mmap;
    uint64_t ops_munmap;
    uint64_t ops_mprotect;
    uint64_t ops_migrate;
    uint64_t ops_reclaim;
    uint64_t ops_pin;
    uint64_t ops_unpin;
    uint64_t ops_errors;
    uint64_t shootdowns;
    uint64_t ipis_sent;
    uint64_t inv_units;
    uint64_t broadcasts;
    uint64_t pages_unmapped;
    uint64_t pages_migrated;
    uint64_t reclaim_rounds;
    uint64_t reclaim_scanned;
    uint64_t reclaim_referenced;
    uint64_t reclaim_evicted;
    uint64_t swap_reads;
    uint64_t swap_writes;
    uint64_t frames_free;
    uint64_t frames_data;
    uint64_t frames_page_tables;
    uint64_t frames_pasid_table;
    uint64_t frames_transit;
    uint64_t frames_reserved;
    uint64_t shadow_syncs;
    uint64_t frames_pinned;
    uint64_t frames_pinned_peak;
    uint64_t pinned_integral;
    uint64_t io_pins;
    uint64_t io_pin_cache_hits;
    uint64_t io_unpins;
    uint64_t io_maps;
    uint64_t io_unmaps;
    uint64_t io_flushes;
    uint64_t busy_ps;
    scim_hist *iopf_latency;
    scim_hist *iopf_queue_delay;
    scim_hist *cpu_fault_latency;
    scim_hist *shootdown_latency;
    scim_hist *shootdown_cpu_wait;
    scim_hist *shootdown_dev_wait;
    scim_hist *op_latency;
    scim_hist *swap_queue_delay;
    scim_hist *shadow_sync_latency;
    scim_hist *stale_window;
} os_stats;

struct scim_os {
    scim_kernel *k;
    scim_fabric *f;
    scim_physmem *pm;
    scim_os_params p;
    scim_node_id node, iommu;
    const scim_observer *checker;
    scim_pt_alloc_ops pt_ops;
    process *procs;
    size_t n_procs;
    uint64_t pasid_dir;
    frame_list *collect; /* page-table frames freed now go here (deferred) */
    uint64_t deferred;
    binding *cpus, *devs, *shadows;
    size_t n_cpus, n_devs, n_shadows;
    struct sync_wait *syncs;
    size_t n_syncs;
    struct io_ctx *io;
    size_t n_io;
    struct reg_cache *reg;
    scim_u64map io_mapped;  /* iommu-map: (domain, vpn) -> requests that map it */
    scim_exposure *exposure;
    scim_time_t pinned_since;
    fault_job *live;  /* every fault job not yet answered, wherever it waits */
    /* I/O page faults waiting for a handler */
    fault_job *fq_head, *fq_tail;
    uint64_t busy_handlers;
    /* faults waiting for a free frame */
    fault_job *fw_head, *fw_tail;
    sd_op *ops;
    size_t n_ops;
    size_t ops_next;  /* where the search for a free op starts (rounds end roughly in order) */
    /* reclaim */
    lru_page *lru;
    size_t n_lru, cap_lru, hand;
    scim_u64map lru_index; /* pfn -> lru index */
    bool reclaiming;
    scim_u64map pins;      /* pfn -> pin count */
    scim_u64map orphans;   /* pinned frames whose mapping is gone (freed at the last unpin) */
    /* swap */
    uint64_t *free_slots;
    size_t n_free_slots;
    uint64_t next_slot, total_slots;
    scim_fifo swapq;           /* of swap_io, waiting for the swap device */
    uint64_t swap_busy;
    swap_io *in_service;       /* swap_parallel slots: what the device is serving */
    uint32_t *in_service_free;
    uint32_t n_in_service_free;
    os_stats st;
};

#define OS_COUNTER(name, field, unit, desc) {name, SCIM_STAT_COUNTER, unit, desc, offsetof(os_stats, field)}
#define OS_HIST(name, field, desc) {name, SCIM_STAT_HIST, "ps", desc, offsetof(os_stats, field)}

const scim_stat_decl scim_os_stat_decls[] = {
    OS_COUNTER("iopf.requests", iopf_requests, "count", "I/O page requests received (via the IOMMU)."),
    OS_COUNTER("iopf.mapped", iopf_mapped, "count", "Pages mapped by fault handling (I/O and CPU, minor and major)."),
    OS_COUNTER("iopf.spurious", iopf_spurious, "count",
               "Faults (I/O or CPU) for a page that was already present when handled."),
    OS_COUNTER("iopf.invalid", iopf_invalid, "count",
               "Faults outside any region or against its protection (answered Invalid)."),
    OS_HIST("iopf.latency", iopf_latency, "From a page request's arrival at the OS to its response leaving."),
    OS_HIST("iopf.queue_delay", iopf_queue_delay, "Time a page request waited for a free fault handler."),
    OS_COUNTER("iopf.joined", iopf_joined, "count",
               "Page requests for a page already queued that waited on it instead of faulting twice."),
    OS_COUNTER("iopf.groups", iopf_groups, "count", "Groups of page requests handled (os.fault_batch at most each)."),
    OS_COUNTER("prefaulted", prefaulted, "count", "Pages mapped ahead of need because a page request asked for them."),
    OS_COUNTER("sw_walks", sw_walks, "count", "Walk placement software: walks done by an interrupt handler."),
    OS_COUNTER("backup.copies", backup_copies, "count", "Fault policy backup: chunks copied out of backup buffers."),
    OS_COUNTER("backup.lost", backup_lost, "count",
               "Fault policy backup: buffered writes to a page that could not be mapped (data dropped)."),
    OS_COUNTER("cpu_faults", cpu_faults, "count", "CPU page faults (traps) handled."),
    OS_HIST("cpu_fault.latency", cpu_fault_latency, "From a CPU fault's arrival to its answer."),
    OS_COUNTER("faults.minor", faults_minor, "count", "Faults resolved by mapping a zeroed frame."),
    OS_COUNTER("faults.major", faults_major, "count", "Faults resolved by reading the page back from swap."),
    OS_COUNTER("faults.waited", faults_waited, "count",
               "Faults that found their page in transition (swap, migration, another fault) and waited on it."),
    OS_COUNTER("frame_waits", frame_waits, "count", "Faults that found no free frame and waited for reclaim."),
    OS_COUNTER("ops.mmap", ops_mmap, "count", "mmap operations executed."),
    OS_COUNTER("ops.munmap", ops_munmap, "count", "munmap operations executed."),
    OS_COUNTER("ops.mprotect", ops_mprotect, "count", "mprotect operations executed."),
    OS_COUNTER("ops.migrate", ops_migrate, "count", "migrate operations executed."),
    OS_COUNTER("ops.reclaim", ops_reclaim, "count", "reclaim operations (forced swap-out) executed."),
    OS_COUNTER("ops.pin", ops_pin, "count", "pin operations executed."),
    OS_COUNTER("ops.unpin", ops_unpin, "count", "unpin operations executed."),
    OS_COUNTER("ops.errors", ops_errors, "count",
               "OS operations refused (overlapping mmap, partial large page, unknown PASID, no memory to pin)."),
    OS_HIST("op.latency", op_latency, "From an OS operation's arrival to its answer (shootdown included)."),
    OS_COUNTER("shootdowns", shootdowns, "count", "Invalidation rounds for removed or downgraded translations."),
    OS_HIST("shootdown.latency", shootdown_latency,
            "From the PTE update to the last acknowledgement (the initiator's wait)."),
    OS_HIST("shootdown.cpu_wait", shootdown_cpu_wait, "From the PTE update to the last core's acknowledgement."),
    OS_HIST("shootdown.dev_wait", shootdown_dev_wait,
            "From the PTE update to the last IOMMU/device acknowledgement."),
    OS_COUNTER("ipis_sent", ipis_sent, "count", "Shootdown IPIs sent (sync protocol)."),
    OS_COUNTER("inv_units", inv_units, "count",
               "Invalidation descriptors (ranges or whole-PASID) sent for the IOMMU and devices."),
    OS_COUNTER("broadcasts", broadcasts, "count", "Broadcast invalidations issued (broadcast protocol)."),
    OS_COUNTER("pages_unmapped", pages_unmapped, "count", "Mapped pages removed by munmap."),
    OS_COUNTER("pages_migrated", pages_migrated, "count", "Pages moved to a new frame by migrate."),
    OS_COUNTER("reclaim.rounds", reclaim_rounds, "count", "Reclaim rounds (one shootdown each)."),
    OS_COUNTER("reclaim.scanned", reclaim_scanned, "count", "Pages the CLOCK hand looked at."),
    OS_COUNTER("reclaim.referenced", reclaim_referenced, "count",
               "Scanned pages found accessed (A cleared, given a second chance)."),
    OS_COUNTER("reclaim.evicted", reclaim_evicted, "count", "Pages swapped out."),
    OS_COUNTER("swap.reads", swap_reads, "count", "Pages read back from swap."),
    OS_COUNTER("swap.writes", swap_writes, "count", "Pages written to swap."),
    OS_HIST("swap.queue_delay", swap_queue_delay, "Time a swap operation waited for the device."),
    OS_COUNTER("frames.free", frames_free, "frames", "Free 4 KiB frames at the end of the run."),
    OS_COUNTER("frames.data", frames_data, "frames", "4 KiB frames mapped to processes at the end of the run."),
    OS_COUNTER("frames.page_tables", frames_page_tables, "frames", "Page-table frames at the end of the run."),
    OS_COUNTER("frames.pasid_table", frames_pasid_table, "frames", "PASID directory and table frames."),
    OS_COUNTER("frames.transit", frames_transit, "frames",
               "Data frames unmapped but not yet free (shootdown, writeback or copy in progress) at the end."),
    OS_COUNTER("frames.reserved", frames_reserved, "frames", "Frames set aside for device backup buffers."),
    OS_COUNTER("shadow.syncs", shadow_syncs, "count",
               "Walk placement shadow: update messages sent to synchronized copies (one per device per flush)."),
    OS_HIST("shadow.sync_latency", shadow_sync_latency,
            "Walk placement shadow: from sending an update to the last copy's acknowledgement."),
    OS_COUNTER("frames.pinned", frames_pinned, "frames", "Pinned frames at the end of the run."),
    OS_COUNTER("frames.pinned_peak", frames_pinned_peak, "frames", "Most frames pinned at once."),
    OS_COUNTER("frames.pinned_integral", pinned_integral, "frame*ps",
               "Pinned frames integrated over time; divide by sim.time_ps for the time-average."),
    OS_COUNTER("io.pins", io_pins, "count", "Scheme pin: pages pinned for I/O (registration cache misses)."),
    OS_COUNTER("io.pin_cache_hits", io_pin_cache_hits, "count",
               "Scheme pin: pages of an I/O found already registered."),
    OS_COUNTER("io.unpins", io_unpins, "count", "Scheme pin: pages unpinned (after an I/O, or evicted from the cache)."),
    OS_COUNTER("io.maps", io_maps, "count", "Scheme iommu-map: pages mapped into devices' I/O address spaces."),
    OS_COUNTER("io.unmaps", io_unmaps, "count", "Scheme iommu-map: pages unmapped."),
    OS_COUNTER("io.flushes", io_flushes, "count",
               "Scheme iommu-map: IOTLB invalidations for unmaps (one per unmap in strict mode, per batch deferred)."),
    OS_HIST("io.stale_window", stale_window,
            "Scheme iommu-map: from a page's unmap to the completion of the invalidation that covers it (the time a "
            "stale translation could still be used)."),
    OS_COUNTER("busy_ps", busy_ps, "ps",
               "CPU time spent in the OS for memory management (faults, operations, shootdown initiation)."),
};
const size_t scim_os_stat_decl_count = SCIM_COUNT_OF(scim_os_stat_decls);

static const char *const shootdown_names[] = {"sync", "broadcast", NULL};
static const char *const iommu_map_modes[] = {"strict", "deferred", NULL};

#define OS_TIME(key, field, def, doc, src) \
    {key, SCIM_P_TIME, def, "ns", false, 0, 0, NULL, offsetof(scim_os_params, field), doc, src}

const scim_param_decl scim_os_param_decls[] = {
    OS_TIME("iopf_cost", iopf_cost, "3us",
            "CPU time to handle one I/O page fault: read the request, allocate and zero a frame, map it, answer.",
            "derived: NP-RDMA (arXiv 2310.11062) measures +3.5-5.7 us per minor fault end to end; the rest is "
            "messaging"),
    OS_TIME("iopf_page_cost", iopf_page_cost, "1us",
            "CPU time for each further page of a group: batched page requests, or pages asked for by prefault.",
            "assumption: the per-page part of the fault path (allocate, zero, map)"),
    {"fault_batch", SCIM_P_U64, "1", "requests", true, 1, 65536, NULL, offsetof(scim_os_params, fault_batch),
     "Page requests a handler takes from the queue at once (a group: os.iopf_cost + os.iopf_page_cost per "
     "further page).",
     "Linux io-pgfault answers per group of one; NVIDIA UVM batches 256 (UVM_PERF_FAULT_BATCH_COUNT_DEFAULT)"},
    {"fault_handlers", SCIM_P_U64, "1", "contexts", true, 1, 4096, NULL, offsetof(scim_os_params, fault_handlers),
     "I/O page faults handled concurrently (CPUs servicing the fault queue).", "assumption"},
    OS_TIME("sw_walk_cost", sw_walk_cost, "1.5us",
            "Walk placement software: interrupt entry, a page walk in software and the answer (a fault adds "
            "os.iopf_cost).",
            "assumption: an interrupt round trip plus a cached walk"),
    OS_TIME("backup_copy_cost", backup_copy_cost, "1us",
            "Fault policy backup: CPU time to copy one chunk from the backup buffer into its page.",
            "assumption: a 4 KiB copy plus bookkeeping"),
    OS_TIME("cpu_fault_cost", cpu_fault_cost, "1.7us",
            "CPU time of a minor CPU page fault (trap, allocate and zero a frame, map, return).",
            "Vesely et al., ISPASS'16: ~1.7 us CPU fault (secondary)"),
    OS_TIME("syscall_cost", syscall_cost, "500ns", "Fixed CPU time of an OS operation from a trace.", "assumption"),
    OS_TIME("map_page_cost", map_page_cost, "350ns", "CPU time per page populated by mmap.",
            "derived: Mooncake PR #855 registers 500 GB in 49.2 s, ~0.35 us per 4 KiB page"),
    OS_TIME("unmap_page_cost", unmap_page_cost, "90ns", "CPU time per mapped page removed by munmap.",
            "derived: Mooncake PR #855 deregisters 500 GB in 11.75 s, ~0.09 us per 4 KiB page"),
    OS_TIME("protect_page_cost", protect_page_cost, "90ns", "CPU time per page changed by mprotect.",
            "assumption: like an unmap of the PTE"),
    OS_TIME("pin_page_cost", pin_page_cost, "350ns", "CPU time per page pinned.",
            "derived: registration ~0.3-0.4 us per 4 KiB page (Mooncake PR #855)"),
    OS_TIME("unpin_page_cost", unpin_page_cost, "90ns", "CPU time per page unpinned.",
            "derived: deregistration ~0.09 us per 4 KiB page (Mooncake PR #855)"),
    OS_TIME("migrate_page_cost", migrate_page_cost, "1us", "CPU time per page copied by migrate.",
            "assumption: a 4 KiB copy plus page bookkeeping"),
    {"shootdown", SCIM_P_ENUM, "sync", NULL, false, 0, 0, shootdown_names, offsetof(scim_os_params, shootdown),
     "Shootdown protocol: sync (IPIs to cores and invalidation requests to the IOMMU and devices, waiting for "
     "every completion) or broadcast (invalidations that cores, the IOMMU and devices snoop from the fabric).",
     NULL},
    OS_TIME("ipi_send_cost", ipi_send_cost, "100ns", "Initiator time per IPI sent (the IPIs go one after another).",
            "assumption: x2APIC ICR write per target"),
    OS_TIME("broadcast_cost", broadcast_cost, "20ns", "Initiator time per broadcast invalidation issued.",
            "assumption"),
    {"inv_coalesce_pages", SCIM_P_U64, "33", "pages", true, 0, 1e9, NULL,
     offsetof(scim_os_params, inv_coalesce_pages),
     "A shootdown of more pages than this sends one whole-PASID invalidation instead of one per range.",
     "Linux tlb_single_page_flush_ceiling = 33"},
    {"reclaim.low_watermark", SCIM_P_U64, "256", "frames", true, 0, 1e12, NULL,
     offsetof(scim_os_params, reclaim_low), "Free frames below which background reclaim starts.", "assumption"},
    {"reclaim.high_watermark", SCIM_P_U64, "512", "frames", true, 0, 1e12, NULL,
     offsetof(scim_os_params, reclaim_high), "Free frames at which background reclaim stops.", "assumption"},
    {"reclaim.batch", SCIM_P_U64, "32", "pages", true, 1, 1e6, NULL, offsetof(scim_os_params, reclaim_batch),
     "Pages evicted per reclaim round (one shootdown per round).", "Linux SWAP_CLUSTER_MAX = 32"},
    OS_TIME("swap.read_latency", swap_read_latency, "50us", "Swap device time to read a page back.",
            "derived: NP-RDMA (arXiv 2310.11062) measures +60 us per major fault, minus the minor-fault path"),
    OS_TIME("swap.write_latency", swap_write_latency, "50us", "Swap device time to write a page out.",
            "assumption: as a read"),
    {"swap.parallel", SCIM_P_U64, "32", "operations", true, 1, 65536, NULL, offsetof(scim_os_params, swap_parallel),
     "Swap operations the device serves at once (further ones queue).", "assumption: an NVMe queue depth"},
    {"swap.size", SCIM_P_SIZE, "16GiB", "bytes", true, 0, 1ull << 50, NULL, offsetof(scim_os_params, swap_size),
     "Swap space; running out stops the run with an error.", "assumption"},
    {"pin.cache_pages", SCIM_P_U64, "0", "pages", true, 0, 1e12, NULL, offsetof(scim_os_params, pin_cache_pages),
     "Scheme pin: registration cache; pages stay pinned after their I/O until this many are registered "
     "(then the least recently used are unpinned). 0: unpin after every I/O.",
     NULL},
    OS_TIME("iommu_map_page_cost", iommu_map_page_cost, "250ns",
            "Scheme iommu-map: CPU time to map one page into a device's I/O address space (dma_map).",
            "assumption: order of the per-page cost of Linux's IOMMU map path"),
    OS_TIME("iommu_unmap_page_cost", iommu_unmap_page_cost, "250ns",
            "Scheme iommu-map: CPU time to unmap one page (dma_unmap), invalidation not included.", "assumption"),
    {"iommu_map.mode", SCIM_P_ENUM, "strict", NULL, false, 0, 0, iommu_map_modes,
     offsetof(scim_os_params, iommu_map_mode),
     "Scheme iommu-map: strict (every unmap invalidates the IOTLB and device TLB and waits) or deferred "
     "(unmapped pages queue; one flush for many; the stale window is measured).",
     NULL},
    {"iommu_map.flush_entries", SCIM_P_U64, "250", "pages", true, 1, 1e9, NULL,
     offsetof(scim_os_params, flush_entries), "Scheme iommu-map, deferred: flush when this many pages wait.",
     "Linux deferred IOTLB flush: 250 queued entries"},
    OS_TIME("iommu_map.flush_interval", flush_interval, "10ms",
            "Scheme iommu-map, deferred: or this long after the first page queued.",
            "Linux deferred IOTLB flush: every 10 ms"),
    {"unsafe_skip_device_invalidation", SCIM_P_BOOL, "false", NULL, false, 0, 0, NULL,
     offsetof(scim_os_params, unsafe_skip_device_inv),
     "TEST ONLY: never invalidate the IOMMU and device TLBs. This breaks the protocol on purpose so that the "
     "safety checker (sim.check_invariants) can be seen to catch it.",
     NULL},
};
const size_t scim_os_param_decl_count = SCIM_COUNT_OF(scim_os_param_decls);

const scim_param_decl scim_process_param_decls[] = {
    {"pasid", SCIM_P_U64, NULL, NULL, true, 1, 1048575, NULL, offsetof(scim_process_params, pasid),
     "Process address space ID (20 bits, PCIe PASID); devices name it to share the address space.", NULL},
    {"levels", SCIM_P_U64, "4", "levels", true, 4, 5, NULL, offsetof(scim_process_params, levels),
     "Paging levels: 4 (48-bit VA) or 5 (57-bit VA).", "Intel SDM Vol. 3A 4.5"},
    {"regions", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(scim_process_params, regions),
     "Memory regions present at start: a list of {va, size, populate, page_size, prot}.", NULL},
};
const size_t scim_process_param_decl_count = SCIM_COUNT_OF(scim_process_param_decls);

static const char *const region_page_sizes[] = {"4K", "2M", "1G", NULL};
static const char *const region_prots[] = {"r", "rw", NULL};

const scim_param_decl scim_region_param_decls[] = {
    {"va", SCIM_P_U64, NULL, NULL, false, 0, 0, NULL, offsetof(scim_region_params, va),
     "Start virtual address (aligned to the page size).", NULL},
    {"size", SCIM_P_SIZE, NULL, "bytes", true, 1, 1ull << 57, NULL, offsetof(scim_region_params, size),
     "Length (a multiple of the page size; KiB/MiB/GiB suffixes).", NULL},
    {"populate", SCIM_P_BOOL, "false", NULL, false, 0, 0, NULL, offsetof(scim_region_params, populate),
     "Map every page up front (no fault will happen); otherwise pages are mapped on first touch.", NULL},
    {"page_size", SCIM_P_ENUM, "4K", NULL, false, 0, 0, region_page_sizes,
     offsetof(scim_region_params, page_size), "Page size of the region's mappings.", NULL},
    {"prot", SCIM_P_ENUM, "rw", NULL, false, 0, 0, region_prots, offsetof(scim_region_params, prot),
     "Protection: r (read-only) or rw.", NULL},
};
const size_t scim_region_param_decl_count = SCIM_COUNT_OF(scim_region_param_decls);/* ---------- frames ---------- */

static int frame_list_add(frame_list *l, uint64_t pfn, unsigned order)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        uint64_t *np = realloc(l->pfn, nc * sizeof *np);
        if (!np)
            return SCIM_ENOMEM;
        l->pfn = np;
        uint8_t *no = realloc(l->order, nc);
        if (!no)
            return SCIM_ENOMEM;
        l->order = no;
        l->cap = nc;
    }
    l->pfn[l->n] = pfn;
    l->order[l->n++] = (uint8_t)order;
    return 0;
}

static void frame_list_free(frame_list *l)
{
    free(l->pfn);
    free(l->order);
    memset(l, 0, sizeof *l);
}

static void job_free(scim_os *os, fault_job *j)
{
    if (j->live_prev)
        j->live_prev->live_next = j->live_next;
    else
        os->live = j->live_next;
    if (j->live_next)
        j->live_next->live_prev = j->live_prev;
    free(j);
}

static void update_free(scim_os *os) { os->st.frames_free = scim_physmem_frames_free(os->pm); }

static void wake_frame_waiters(scim_os *os);
static void maybe_reclaim(scim_os *os);

/* Free a data or table frame for good: the checker proves nothing still
 * uses it; waiting faults may now get it. */
static void release_frame(scim_os *os, uint64_t pfn, unsigned order)
{
    if (os->checker && !scim_obs_frame_free(os->checker, pfn, order))
        return;
    scim_physmem_free(os->pm, pfn, order);
    update_free(os);
    wake_frame_waiters(os);
}

static int pt_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    scim_os *os = ((pt_cookie *)cookie)->os;
    int rc = scim_physmem_alloc(os->pm, 0, pfn, err);
    if (rc == 0) {
        os->st.frames_page_tables++;
        update_free(os);
    }
    return rc;
}

static void pt_free(void *cookie, uint64_t pfn)
{
    scim_os *os = ((pt_cookie *)cookie)->os;
    os->st.frames_page_tables--;
    /* A walker may still be reading this table: free it only after the
     * shootdown that made it empty (Linux: tlb_remove_table). */
    if (os->collect && frame_list_add(os->collect, pfn, 0) == 0) {
        os->deferred++;
        return;
    }
    release_frame(os, pfn, 0);
}

/* ---------- processes and regions ---------- */

static process *find_process(const scim_os *os, uint32_t pasid)
{
    for (size_t i = 0; i < os->n_procs; i++)
        if (os->procs[i].pasid == pasid)
            return &os->procs[i];
    return NULL;
}

static bool has_shadow(const scim_os *os, uint32_t pasid)
{
    for (size_t i = 0; i < os->n_shadows; i++)
        if (os->shadows[i].pasid == pasid)
            return true;
    return false;
}

/* Every entry the page table writes: remembered for the shadow copies. */
static void pt_entry_written(void *cookie, uint64_t pa, uint64_t value)
{
    pt_cookie *c = cookie;
    process *p = find_process(c->os, c->pasid);
    if (!p || !has_shadow(c->os, c->pasid))
        return;
    if (p->n_sync + 2 > p->cap_sync) {
        size_t nc = p->cap_sync ? p->cap_sync * 2 : 64;
        uint64_t *n = realloc(p->sync, nc * sizeof *n);
        if (!n) {
            scim_kernel_fail(c->os->k, SCIM_ENOMEM, "out of host memory");
            return;
        }
        p->sync = n;
        p->cap_sync = nc;
    }
    p->sync[p->n_sync++] = pa;
    p->sync[p->n_sync++] = value;
}

static const region *find_region(const process *p, uint64_t va)
{
    size_t lo = 0, hi = p->n_regions;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->regions[mid].end <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->n_regions && p->regions[lo].start <= va)
        return &p->regions[lo];
    return NULL;
}

static int insert_region(process *p, uint64_t start, uint64_t end, unsigned prot, unsigned shift, scim_err *err)
{
    for (size_t i = 0; i < p->n_regions; i++)
        if (start < p->regions[i].end && p->regions[i].start < end)
            return scim_err_set(err, SCIM_EEXIST, "region [0x%llx, 0x%llx) of pasid %u overlaps [0x%llx, 0x%llx)",
                                (unsigned long long)start, (unsigned long long)end, p->pasid,
                                (unsigned long long)p->regions[i].start, (unsigned long long)p->regions[i].end);
    if (p->n_regions == p->cap_regions) {
        size_t nc = p->cap_regions ? p->cap_regions * 2 : 8;
        region *n = realloc(p->regions, nc * sizeof *n);
        if (!n)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a region");
        p->regions = n;
        p->cap_regions = nc;
    }
    size_t at = 0;
    while (at < p->n_regions && p->regions[at].start < start)
        at++;
    memmove(&p->regions[at + 1], &p->regions[at], (p->n_regions - at) * sizeof *p->regions);
    p->regions[at] = (region){start, end, prot, shift};
    p->n_regions++;
    return 0;
}

/* Remove [start, end) from the region list, splitting as needed. */
static int remove_regions(process *p, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < p->n_regions;) {
        region *r = &p->regions[i];
        if (r->end <= start || r->start >= end) {
            i++;
            continue;
        }
        if (r->start < start && r->end > end) {
            region tail = *r;
            tail.start = end;
            r->end = start;
            if (p->n_regions == p->cap_regions) {
                region *n = realloc(p->regions, (p->cap_regions * 2) * sizeof *n);
                if (!n)
                    return SCIM_ENOMEM;
                p->regions = n;
                p->cap_regions *= 2;
            }
            memmove(&p->regions[i + 2], &p->regions[i + 1], (p->n_regions - i - 1) * sizeof *p->regions);
            p->regions[i + 1] = tail;
            p->n_regions++;
            return 0;
        }
        if (r->start < start) {
            r->end = start;
            i++;
        } else if (r->end > end) {
            r->start = end;
            i++;
        } else {
            memmove(r, r + 1, (p->n_regions - i - 1) * sizeof *r);
            p->n_regions--;
        }
    }
    return 0;
}

/* Set the protection of [start, end), splitting regions at the edges. */
static int protect_regions(process *p, uint64_t start, uint64_t end, unsigned prot)
{
    for (size_t i = 0; i < p->n_regions; i++) {
        region r = p->regions[i];
        if (r.end <= start || r.start >= end || r.prot == prot)
            continue;
        uint64_t lo = r.start > start ? r.start : start, hi = r.end < end ? r.end : end;
        if (remove_regions(p, lo, hi) || insert_region(p, lo, hi, prot, r.page_shift, NULL))
            return SCIM_ENOMEM;
        i = (size_t)-1; /* the list changed: rescan; regions done are skipped by the prot test */
    }
    return 0;
}

/* ---------- reclaimable pages (CLOCK) and pins ---------- */

static void lru_add(scim_os *os, uint32_t pasid, uint64_t va, uint64_t pfn)
{
    if (os->n_lru == os->cap_lru) {
        size_t nc = os->cap_lru ? os->cap_lru * 2 : 1024;
        lru_page *n = realloc(os->lru, nc * sizeof *n);
        if (!n) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory tracking pages");
            return;
        }
        os->lru = n;
        os->cap_lru = nc;
    }
    uint64_t *idx = scim_u64map_upsert(&os->lru_index, pfn, os->n_lru);
    if (!idx) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory tracking pages");
        return;
    }
    os->lru[os->n_lru++] = (lru_page){pasid, va, pfn};
}

static void lru_remove(scim_os *os, uint64_t pfn)
{
    uint64_t *idx = scim_u64map_get(&os->lru_index, pfn);
    if (!idx)
        return; /* huge pages are not on the list */
    size_t i = *idx;
    scim_u64map_remove(&os->lru_index, pfn);
    os->n_lru--;
    if (i != os->n_lru) {
        os->lru[i] = os->lru[os->n_lru];
        *scim_u64map_get(&os->lru_index, os->lru[i].pfn) = i;
    }
    if (os->hand >= os->n_lru)
        os->hand = 0;
}

static uint64_t pin_count(const scim_os *os, uint64_t pfn)
{
    const uint64_t *n = scim_u64map_get(&os->pins, pfn);
    return n ? *n : 0;
}

/* Pin counts, and the pinned-frames integral the time-average comes from. */
static void pinned_changed(scim_os *os, int64_t delta)
{
    scim_time_t now = scim_kernel_now(os->k);
    os->st.pinned_integral += os->st.frames_pinned * (now - os->pinned_since);
    os->pinned_since = now;
    os->st.frames_pinned = (uint64_t)((int64_t)os->st.frames_pinned + delta);
    if (os->st.frames_pinned > os->st.frames_pinned_peak)
        os->st.frames_pinned_peak = os->st.frames_pinned;
}

static bool pin_frame(scim_os *os, uint64_t pfn)
{
    uint64_t *n = scim_u64map_upsert(&os->pins, pfn, 0);
    if (!n) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return false;
    }
    if ((*n)++ == 0)
        pinned_changed(os, 1);
    return true;
}

static void unpin_frame(scim_os *os, uint64_t pfn)
{
    uint64_t *n = scim_u64map_get(&os->pins, pfn);
    if (!n)
        return;
    if (--*n == 0) {
        scim_u64map_remove(&os->pins, pfn);
        pinned_changed(os, -1);
        if (scim_u64map_get(&os->orphans, pfn)) {
            scim_u64map_remove(&os->orphans, pfn);
            os->st.frames_transit--;
            release_frame(os, pfn, 0);
        }
    }
}

/* ---------- I/O schemes: pin and iommu-map ---------- */

#define IO_MAX_PAGES 512u /* one 4 KiB descriptor list per request */

typedef struct io_ctx {
    scim_node_id dev;
    bool has_batch;       /* iommu-map deferred: a flush batch is collecting pages */
    size_t batch;         /* its op */
    uint64_t generation;  /* of the batch, for its timer */
    bool busy;            /* the driver works on one I/O operation at a time */
    scim_fifo queue;      /* of scim_msg *: operations waiting for it, in arrival order */
    uint64_t desc_base;   /* pin: descriptor lists, 4 KiB per request slot */
    uint32_t domain;      /* iommu-map: the I/O address space */
    uint64_t slots;       /* request slots of the device */
    uint64_t *frames;     /* per slot, the frames its I/O pinned (IO_MAX_PAGES each) */
} io_ctx;

/* The registration cache (scheme pin): registered pages in LRU order. */
typedef struct reg_entry {
    uint32_t pasid;
    uint64_t vpn, pfn;
    int64_t prev, next;
} reg_entry;

typedef struct reg_cache {
    reg_entry *e;
    size_t n, cap;
    int64_t head, tail, free_list; /* head: most recent */
    scim_u64map index;             /* (vpn ^ pasid << 44) -> entry */
} reg_cache;

static io_ctx *io_of(const scim_os *os, scim_node_id dev)
{
    for (size_t i = 0; i < os->n_io; i++)
        if (os->io[i].dev == dev)
            return &os->io[i];
    return NULL;
}

static uint64_t reg_key(uint32_t pasid, uint64_t vpn) { return vpn ^ ((uint64_t)pasid << 44); }

static void reg_unlink(reg_cache *c, int64_t i)
{
    reg_entry *e = &c->e[i];
    if (e->prev >= 0)
        c->e[e->prev].next = e->next;
    else
        c->head = e->next;
    if (e->next >= 0)
        c->e[e->next].prev = e->prev;
    else
        c->tail = e->prev;
}

static void reg_push_front(reg_cache *c, int64_t i)
{
    c->e[i].prev = -1;
    c->e[i].next = c->head;
    if (c->head >= 0)
        c->e[c->head].prev = i;
    c->head = i;
    if (c->tail < 0)
        c->tail = i;
}

/* Look a page up in the cache (refreshing it); true on a hit. */
static bool reg_touch(reg_cache *c, uint32_t pasid, uint64_t vpn, uint64_t pfn)
{
    uint64_t *idx = scim_u64map_get(&c->index, reg_key(pasid, vpn));
    if (!idx || c->e[*idx].pfn != pfn)
        return false;
    reg_unlink(c, (int64_t)*idx);
    reg_push_front(c, (int64_t)*idx);
    return true;
}

/* Insert a registered page; returns the number of pages evicted (unpinned). */
static uint64_t reg_insert(scim_os *os, reg_cache *c, uint32_t pasid, uint64_t vpn, uint64_t pfn)
{
    uint64_t evicted = 0;
    while (c->n >= os->p.pin_cache_pages && c->tail >= 0) {
        int64_t t = c->tail;
        reg_unlink(c, t);
        scim_u64map_remove(&c->index, reg_key(c->e[t].pasid, c->e[t].vpn));
        unpin_frame(os, c->e[t].pfn);
        c->e[t].next = c->free_list;
        c->free_list = t;
        c->n--;
        evicted++;
    }
    int64_t i = c->free_list;
    if (i >= 0) {
        c->free_list = c->e[i].next;
    } else {
        reg_entry *n = realloc(c->e, (c->cap + 64) * sizeof *n);
        if (!n) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            return evicted;
        }
        c->e = n;
        for (size_t k = c->cap; k < c->cap + 64; k++) {
            c->e[k].next = c->free_list;
            c->free_list = (int64_t)k;
        }
        c->cap += 64;
        i = c->free_list;
        c->free_list = c->e[i].next;
    }
    c->e[i] = (reg_entry){pasid, vpn, pfn, -1, -1};
    reg_push_front(c, i);
    if (!scim_u64map_upsert(&c->index, reg_key(pasid, vpn), (uint64_t)i))
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
    c->n++;
    return evicted;
}

/* ---------- mapping ---------- */

/* Map va (aligned to the region's page size) to a fresh frame; returns
 * SCIM_ENOMEM without side effects when no frame is free. */
static int map_new_page(scim_os *os, process *p, uint64_t va, const region *r, uint64_t pfn_given, bool have_pfn,
                        scim_err *err)
{
    unsigned order = r->page_shift - 12;
    uint64_t pfn = pfn_given;
    int rc = 0;
    if (!have_pfn && (rc = scim_physmem_alloc(os->pm, order, &pfn, err)) != 0)
        return rc;
    uint64_t flags = SCIM_PTE_US | ((r->prot & PROT_W) ? SCIM_PTE_RW : 0);
    if (r->prot == SCIM_PROT_NONE)
        flags = 0;
    rc = scim_pgtable_map(p->pt, va, pfn << 12, r->page_shift, flags, err);
    if (rc) {
        if (!have_pfn)
            scim_physmem_free(os->pm, pfn, order);
        update_free(os);
        return rc;
    }
    os->st.frames_data += 1ull << order;
    if (order == 0)
        lru_add(os, p->pasid, va, pfn);
    update_free(os);
    return 0;
}

static int check_region_args(uint64_t va, uint64_t size, unsigned shift, scim_err *err)
{
    if (shift != 12 && shift != 21 && shift != 30)
        return scim_err_set(err, SCIM_EINVAL, "page size must be 4K, 2M or 1G");
    uint64_t mask = (1ull << shift) - 1;
    if (size == 0 || (va & mask) || (size & mask) || va + size < va)
        return scim_err_set(err, SCIM_EINVAL,
                            "region va 0x%llx size 0x%llx must be non-empty and aligned to its page size "
                            "(%llu KiB)",
                            (unsigned long long)va, (unsigned long long)size, (unsigned long long)((mask + 1) >> 10));
    return 0;
}

static int add_region(scim_os *os, process *p, uint64_t va, uint64_t size, unsigned shift, unsigned prot,
                      bool populate, scim_err *err)
{
    int rc = check_region_args(va, size, shift, err);
    if (rc)
        return rc;
    if (!scim_va_canonical(va, p->levels) || !scim_va_canonical(va + size - 1, p->levels))
        return scim_err_set(err, SCIM_EINVAL, "region [0x%llx, 0x%llx) is not canonical for %d-level paging",
                            (unsigned long long)va, (unsigned long long)(va + size), p->levels);
    rc = insert_region(p, va, va + size, prot, shift, err);
    if (rc || !populate)
        return rc;
    region r = *find_region(p, va);
    for (uint64_t a = va; a < va + size; a += 1ull << shift)
        if ((rc = map_new_page(os, p, a, &r, 0, false, err)) != 0)
            return rc;
    return 0;
}

/* ---------- leaf collection ---------- */

typedef struct leaf {
    uint64_t va, pte;
    unsigned shift;
} leaf;

typedef struct leaf_list {
    leaf *v;
    size_t n, cap;
    bool oom;
} leaf_list;

static int collect_leaf(void *ctx, uint64_t va, uint64_t pte, unsigned shift)
{
    leaf_list *l = ctx;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        leaf *n = realloc(l->v, nc * sizeof *n);
        if (!n) {
            l->oom = true;
            return 1;
        }
        l->v = n;
        l->cap = nc;
    }
    l->v[l->n++] = (leaf){va, pte, shift};
    return 0;
}

static bool leaves_in(const process *p, uint64_t start, uint64_t end, leaf_list *out)
{
    memset(out, 0, sizeof *out);
    scim_pgtable_foreach(p->pt, start, end - start, collect_leaf, out);
    return !out->oom;
}

/* ---------- busy pages ---------- */

static busy_page *busy_get(process *p, uint64_t va)
{
    uint64_t *v = scim_u64map_get(&p->busy, va >> 12);
    return v ? (busy_page *)(uintptr_t)*v : NULL;
}

static busy_page *busy_set(scim_os *os, process *p, uint64_t va, int state)
{
    busy_page *b = calloc(1, sizeof *b);
    uint64_t *slot = b ? scim_u64map_upsert(&p->busy, va >> 12, (uint64_t)(uintptr_t)b) : NULL;
    if (!slot) {
        free(b);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory tracking pages");
        return NULL;
    }
    b->state = state;
    return b;
}

static void resolve(scim_os *os, fault_job *j);

/* The page is stable again: every fault that waited on it runs again. */
static void busy_clear(scim_os *os, process *p, uint64_t va)
{
    busy_page *b = busy_get(p, va);
    if (!b)
        return;
    scim_u64map_remove(&p->busy, va >> 12);
    fault_job *j = b->waiters;
    free(b);
    while (j) {
        fault_job *next = j->next;
        j->next = NULL;
        resolve(os, j);
        j = next;
    }
}

/* ---------- shadow copies ---------- */

enum sync_kind { SK_ANSWER, SK_SHOOTDOWN, SK_REPLY };

typedef struct sync_wait {
    bool used;
    int kind;
    uint32_t pending;
    int32_t status;
    void *ptr;
    uint64_t arg;
    scim_time_t sent;
    uint64_t *pairs;   /* the update every copy applies; freed on the last acknowledgement */
} sync_wait;

/* Send a process's accumulated entry updates to its shadow copies and
 * continue with (kind, ptr, arg, status) once every copy acknowledged;
 * false when there is nothing to wait for. */
static bool sync_flush(scim_os *os, uint32_t pasid, int kind, void *ptr, uint64_t arg, int32_t status)
{
    process *p = find_process(os, pasid);
    if (!p || !p->n_sync || !has_shadow(os, pasid))
        return false;
    size_t i;
    for (i = 0; i < os->n_syncs && os->syncs[i].used; i++)
        ;
    if (i == os->n_syncs) {
        sync_wait *n = realloc(os->syncs, (os->n_syncs + 8) * sizeof *n);
        if (!n) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            return true;
        }
        memset(n + os->n_syncs, 0, 8 * sizeof *n);
        os->syncs = n;
        os->n_syncs += 8;
    }
    sync_wait *w = &os->syncs[i];
    *w = (sync_wait){true, kind, 0, status, ptr, arg, scim_kernel_now(os->k), malloc(p->n_sync * sizeof(uint64_t))};
    if (!w->pairs) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return true;
    }
    memcpy(w->pairs, p->sync, p->n_sync * sizeof(uint64_t));
    for (size_t d = 0; d < os->n_shadows; d++) {
        if (os->shadows[d].pasid != pasid)
            continue;
        scim_msg *m = scim_msg_alloc(os->f);
        uint64_t *pairs = w->pairs;
        if (!m) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            return true;
        }
        m->type = SCIM_MSG_SYNC;
        m->src = os->node;
        m->dst = os->shadows[d].node;
        m->pasid = pasid;
        m->len = p->n_sync / 2;
        m->cookie = pairs;
        m->tag = i;
        m->wire_bytes = scim_fabric_wire_bytes(os->f, p->n_sync * 8);
        w->pending++;
        os->st.shadow_syncs++;
        scim_fabric_send(os->f, m);
    }
    p->n_sync = 0;
    return true;
}

static void answer_fault_now(scim_os *os, fault_job *j, int32_t status);
static void start_shootdown_now(scim_os *os, size_t idx);
static void reply_op_now(scim_os *os, scim_msg *m, int32_t status);

static void on_sync_ack(scim_os *os, scim_msg *m)
{
    size_t i = m->tag;
    scim_msg_free(os->f, m);
    if (i >= os->n_syncs || !os->syncs[i].used || os->syncs[i].pending == 0) {
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected shadow acknowledgement");
        return;
    }
    sync_wait *w = &os->syncs[i];
    if (--w->pending)
        return;
    sync_wait done = *w;
    w->used = false;
    free(w->pairs);
    w->pairs = NULL;
    scim_hist_record(os->st.shadow_sync_latency, scim_kernel_now(os->k) - done.sent);
    switch (done.kind) {
    case SK_ANSWER: answer_fault_now(os, done.ptr, done.status); break;
    case SK_SHOOTDOWN: start_shootdown_now(os, done.arg); break;
    default: reply_op_now(os, done.ptr, done.status); break;
    }
}

/* ---------- answering ---------- */

static void reply_op(scim_os *os, scim_msg *m, int32_t status)
{
    if (!sync_flush(os, m->pasid, SK_REPLY, m, 0, status))
        reply_op_now(os, m, status);
}

static void reply_op_now(scim_os *os, scim_msg *m, int32_t status)
{
    if (status != SCIM_RESP_OK)
        os->st.ops_errors++;
    scim_hist_record(os->st.op_latency, scim_kernel_now(os->k) - m->sent_at);
    scim_fabric_reply(os->f, m, SCIM_MSG_OS_RESP, scim_fabric_wire_bytes(os->f, 0), status);
}

static void fault_start_next(scim_os *os);

static void backup_copied(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    fault_job *j = (fault_job *)(uintptr_t)arg;
    process *p = find_process(os, j->pasid);
    uint64_t pa;
    /* the copy is a CPU write to the page: the checker sees it like any access */
    if (p && scim_pgtable_lookup(p->pt, j->va, &pa, NULL, NULL) == 1 && os->checker) {
        if (!scim_obs_access_begin(os->checker, "os backup copy", j->pasid, j->va, pa, j->m->len)) {
            job_free(os, j);
            return;
        }
        scim_obs_access_end(os->checker, pa);
    }
    os->st.backup_copies++;
    scim_fabric_reply(os->f, j->m, SCIM_MSG_OS_RESP, scim_fabric_wire_bytes(os->f, 0), SCIM_RESP_OK);
    job_free(os, j);
}

static void io_page_faulted(scim_os *os, fault_job *j, int32_t status);

static void answer_one(scim_os *os, fault_job *j, int32_t status)
{
    scim_msg *m = j->m;
    scim_time_t lat = scim_kernel_now(os->k) - j->arrived;
    switch (j->kind) {
    case JOB_IO:
        scim_hist_record(os->st.iopf_latency, lat);
        m->flags &= ~SCIM_PRIF_AUTO;
        scim_fabric_reply(os->f, m, SCIM_MSG_PRI_RESP, scim_fabric_wire_bytes(os->f, 0), status);
        break;
    case JOB_OP:
        scim_hist_record(os->st.cpu_fault_latency, lat);
        io_page_faulted(os, j, status);
        return;
    case JOB_CPU:
        scim_hist_record(os->st.cpu_fault_latency, lat);
        scim_fabric_reply(os->f, m, SCIM_MSG_OS_RESP, scim_fabric_wire_bytes(os->f, 0), status);
        break;
    case JOB_SW: {
        /* the handler answers with the translation itself */
        process *p = find_process(os, j->pasid);
        uint64_t pa, pte;
        unsigned shift;
        if (status == SCIM_RESP_OK && p && scim_pgtable_lookup(p->pt, j->va, &pa, &shift, &pte) == 1) {
            unsigned perms = (pte & SCIM_PTE_US) ? SCIM_PERM_R | ((pte & SCIM_PTE_RW) ? SCIM_PERM_W : 0) : 0;
            m->addr = pa & ~((1ull << shift) - 1);
            m->data = SCIM_ATS_DATA(shift, perms);
        } else {
            status = SCIM_RESP_INVALID;
        }
        scim_fabric_reply(os->f, m, SCIM_MSG_ATS_RESP, scim_fabric_wire_bytes(os->f, 8), status);
        break;
    }
    default: /* JOB_BACKUP */
        if (status == SCIM_RESP_OK) {
            os->st.busy_ps += os->p.backup_copy_cost;
            scim_kernel_schedule(os->k, os->p.backup_copy_cost, SCIM_PRIO_DEFAULT, backup_copied, os,
                                 (uint64_t)(uintptr_t)j);
            return;
        }
        os->st.backup_lost++;
        scim_fabric_reply(os->f, m, SCIM_MSG_OS_RESP, scim_fabric_wire_bytes(os->f, 0), SCIM_RESP_OK);
        break;
    }
    job_free(os, j);
}

static int map_new_page(scim_os *os, process *p, uint64_t va, const region *r, uint64_t pfn_given, bool have_pfn,
                        scim_err *err);

/* prefault: map the pages after the faulting one that are plainly
 * missing (in the region, not swapped, not in transition). */
static void prefault_after(scim_os *os, const fault_job *j)
{
    process *p = find_process(os, j->pasid);
    for (uint32_t k = 1; p && k <= j->extra; k++) {
        uint64_t va = (j->va & ~(PAGE - 1)) + (uint64_t)k * PAGE;
        const region *r = find_region(p, va);
        if (!r || r->page_shift != 12 || r->prot == SCIM_PROT_NONE || busy_get(p, va) ||
            scim_u64map_get(&p->swapped, va >> 12) || scim_pgtable_lookup(p->pt, va, NULL, NULL, NULL) == 1)
            continue;
        if (map_new_page(os, p, va, r, 0, false, NULL) != 0)
            return; /* no free frame: prefault is best effort */
        os->st.prefaulted++;
        os->st.iopf_mapped++;
    }
}

static void answer_fault(scim_os *os, fault_job *j, int32_t status)
{
    if (status == SCIM_RESP_OK && j->extra)
        prefault_after(os, j);
    if (!sync_flush(os, j->pasid, SK_ANSWER, j, 0, status))
        answer_fault_now(os, j, status);
}

static void answer_fault_now(scim_os *os, fault_job *j, int32_t status)
{
    if (status == SCIM_RESP_INVALID)
        os->st.iopf_invalid++;
    for (fault_job *f = j->followers; f;) {
        fault_job *next = f->next;
        answer_one(os, f, status);
        f = next;
    }
    answer_one(os, j, status);
}

/* ---------- shootdown rounds ---------- */

static sd_op *new_op(scim_os *os, int kind, uint32_t pasid, scim_msg *req, size_t *index)
{
    size_t i = os->n_ops;
    for (size_t k = 0; k < os->n_ops; k++) {
        size_t c = (os->ops_next + k) % os->n_ops;
        if (!os->ops[c].used) {
            i = c;
            break;
        }
    }
    if (i == os->n_ops) {
        size_t grow = os->n_ops ? os->n_ops : 8;
        sd_op *n = realloc(os->ops, (os->n_ops + grow) * sizeof *n);
        if (!n) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            return NULL;
        }
        memset(n + os->n_ops, 0, grow * sizeof *n);
        os->ops = n;
        os->n_ops += grow;
    }
    os->ops_next = i + 1;
    sd_op *op = &os->ops[i];
    frame_list_free(&op->data);
    frame_list_free(&op->tables);
    free(op->pages);
    memset(op, 0, sizeof *op);
    op->used = true;
    op->kind = kind;
    op->pasid = pasid;
    op->req = req;
    op->started = scim_kernel_now(os->k);
    if (os->checker)
        op->checker_id = scim_obs_shootdown_begin(os->checker);
    *index = i;
    return op;
}

static bool op_add_page(scim_os *os, sd_op *op, uint64_t va, uint64_t len, uint64_t old_pfn)
{
    if (op->n_pages == op->cap_pages) {
        size_t nc = op->cap_pages ? op->cap_pages * 2 : 32;
        page_ref *n = realloc(op->pages, nc * sizeof *n);
        if (!n) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            return false;
        }
        op->pages = n;
        op->cap_pages = nc;
    }
    op->pages[op->n_pages++] = (page_ref){va, len, old_pfn, 0, 0};
    return true;
}

/* Remove one leaf for an operation: tell the checker the old translation,
 * clear the PTE (tables emptied now are deferred into the op). */
static void unmap_leaf(scim_os *os, process *p, sd_op *op, const leaf *lf)
{
    uint64_t pa = lf->pte & SCIM_PTE_ADDR_MASK;
    if (os->checker)
        scim_obs_stale_page(os->checker, op->checker_id, p->pasid, lf->va, pa, lf->shift);
    os->collect = &op->tables;
    scim_pgtable_unmap(p->pt, lf->va, NULL, NULL);
    os->collect = NULL;
    unsigned order = lf->shift - 12;
    os->st.frames_data -= 1ull << order;
    os->st.frames_transit += 1ull << order;
    lru_remove(os, pa >> 12);
}

static void send_inv(scim_os *os, scim_msg_type type, scim_node_id dst, uint32_t pasid, uint64_t addr,
                     uint64_t len, uint32_t flags, size_t op)
{
    scim_msg *m = scim_msg_alloc(os->f);
    if (!m) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory for fabric messages");
        return;
    }
    m->type = type;
    m->src = os->node;
    m->dst = dst;
    m->pasid = pasid;
    m->addr = addr;
    m->len = len;
    m->flags = flags;
    m->tag = op;
    m->wire_bytes = scim_fabric_wire_bytes(os->f, 16);
    scim_fabric_send(os->f, m);
}

/* A send later in a shootdown round: the message is built now (the
 * fabric owns it, so a run stopped early frees it) and sent at `at`. */
static void send_later(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    scim_fabric_send(os->f, (scim_msg *)(uintptr_t)arg);
}

static void schedule_send(scim_os *os, scim_time_t at, scim_msg_type type, scim_node_id dst, uint32_t pasid,
                          uint64_t addr, uint64_t len, uint32_t flags, size_t op)
{
    scim_msg *m = scim_msg_alloc(os->f);
    if (!m) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory for fabric messages");
        return;
    }
    m->type = type;
    m->src = os->node;
    m->dst = dst;
    m->pasid = pasid;
    m->addr = addr;
    m->len = len;
    m->flags = flags;
    m->tag = op;
    m->wire_bytes = scim_fabric_wire_bytes(os->f, 16);
    scim_kernel_schedule_at(os->k, at, SCIM_PRIO_DEFAULT, send_later, os, (uint64_t)(uintptr_t)m);
}

static void finish_op(scim_os *os, size_t idx);
static void io_invalidated(scim_os *os, sd_op *op);

/* Invalidate the op's pages everywhere they may be cached. Ranges are the
 * op's pages merged where contiguous; beyond inv_coalesce_pages pages, one
 * whole-PASID invalidation. */
static void start_shootdown(scim_os *os, size_t idx)
{
    /* the copies learn of the change before any TLB is invalidated */
    if (!sync_flush(os, os->ops[idx].pasid, SK_SHOOTDOWN, NULL, idx, 0))
        start_shootdown_now(os, idx);
}

static void start_shootdown_now(scim_os *os, size_t idx)
{
    sd_op *op = &os->ops[idx];
    os->st.shootdowns++;
    scim_time_t t0 = scim_kernel_now(os->k);
    op->started = t0;
    /* ranges */
    size_t n_ranges = 0;
    uint64_t *lo = malloc((op->n_pages + 1) * sizeof *lo), *hi = malloc((op->n_pages + 1) * sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    bool whole = op->whole || op->n_pages > os->p.inv_coalesce_pages;
    if (!whole) {
        for (size_t i = 0; i < op->n_pages; i++) {
            uint64_t a = op->pages[i].va, b = a + op->pages[i].len;
            if (n_ranges && lo[n_ranges - 1] <= a && a <= hi[n_ranges - 1]) {
                if (b > hi[n_ranges - 1])
                    hi[n_ranges - 1] = b;
            } else {
                lo[n_ranges] = a;
                hi[n_ranges++] = b;
            }
        }
    }
    size_t units = whole ? 1 : n_ranges;
    uint32_t uflags = whole ? SCIM_INVF_PASID : 0;
    scim_time_t t = t0;
    if (os->p.shootdown == SD_SYNC) {
        /* one IPI per core: a single range, or a whole-PASID flush */
        bool one = units == 1;
        for (size_t c = 0; c < os->n_cpus; c++) {
            if (os->cpus[c].pasid != op->pasid)
                continue;
            t += os->p.ipi_send_cost;
            op->cpu_pending++;
            os->st.ipis_sent++;
            schedule_send(os, t, SCIM_MSG_IPI, os->cpus[c].node, op->pasid, one && !whole ? lo[0] : 0,
                          one && !whole ? hi[0] - lo[0] : 0, one ? uflags : SCIM_INVF_PASID, idx);
        }
        if (!os->p.unsafe_skip_device_inv) {
            for (size_t u = 0; u < units; u++) {
                op->dev_pending++;
                os->st.inv_units++;
                send_inv(os, SCIM_MSG_INV_REQ, os->iommu, op->pasid, whole ? 0 : lo[u], whole ? 0 : hi[u] - lo[u],
                         uflags, idx);
            }
        }
    } else {
        for (size_t u = 0; u < units; u++) {
            t += os->p.broadcast_cost;
            os->st.broadcasts++;
            uint64_t a = whole ? 0 : lo[u], len = whole ? 0 : hi[u] - lo[u];
            uint32_t f = uflags | SCIM_INVF_BROADCAST;
            for (size_t c = 0; c < os->n_cpus; c++) {
                if (os->cpus[c].pasid != op->pasid)
                    continue;
                op->cpu_pending++;
                schedule_send(os, t, SCIM_MSG_INV_REQ, os->cpus[c].node, op->pasid, a, len, f, idx);
            }
            if (os->p.unsafe_skip_device_inv)
                continue;
            os->st.inv_units++;
            op->dev_pending++;
            schedule_send(os, t, SCIM_MSG_INV_REQ, os->iommu, op->pasid, a, len, f, idx);
            for (size_t d = 0; d < os->n_devs; d++) {
                if (os->devs[d].pasid != op->pasid)
                    continue;
                op->dev_pending++;
                schedule_send(os, t, SCIM_MSG_INV_REQ, os->devs[d].node, op->pasid, a, len, f, idx);
            }
        }
    }
    free(lo);
    free(hi);
    os->st.busy_ps += t - t0;
    op->charged = t - t0;
    op->cpus_done = op->cpu_pending ? 0 : t0;
    op->devs_done = op->dev_pending ? 0 : t0;
    if (op->cpu_pending == 0 && op->dev_pending == 0)
        finish_op(os, idx);
}

static bool is_cpu(const scim_os *os, scim_node_id n)
{
    for (size_t c = 0; c < os->n_cpus; c++)
        if (os->cpus[c].node == n)
            return true;
    return false;
}

static void on_inv_done(scim_os *os, scim_msg *m)
{
    size_t idx = m->tag;
    bool cpu = is_cpu(os, m->src);
    scim_msg_free(os->f, m);
    sd_op *op = idx < os->n_ops ? &os->ops[idx] : NULL;
    if (!op || !op->used || (cpu ? op->cpu_pending == 0 : op->dev_pending == 0)) {
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected invalidation completion");
        return;
    }
    scim_time_t now = scim_kernel_now(os->k);
    if (cpu && --op->cpu_pending == 0)
        op->cpus_done = now;
    if (!cpu && --op->dev_pending == 0)
        op->devs_done = now;
    if (op->cpu_pending == 0 && op->dev_pending == 0)
        finish_op(os, idx);
}

/* ---------- swap device ---------- */

static void swap_start_next(scim_os *os);
static void swap_write_done(scim_os *os, size_t op_idx, size_t page);
static void swap_read_done(scim_os *os, fault_job *j);

static void swap_io_done(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    swap_io done = os->in_service[arg];
    os->in_service_free[os->n_in_service_free++] = (uint32_t)arg;
    os->swap_busy--;
    swap_start_next(os);
    if (done.write)
        swap_write_done(os, done.op, done.page);
    else
        swap_read_done(os, done.job);
}

static void swap_start_next(scim_os *os)
{
    while (scim_fifo_len(&os->swapq) && os->swap_busy < os->p.swap_parallel) {
        uint32_t slot = os->in_service_free[--os->n_in_service_free];
        swap_io *io = &os->in_service[slot];
        scim_fifo_pop(&os->swapq, io);
        os->swap_busy++;
        scim_hist_record(os->st.swap_queue_delay, scim_kernel_now(os->k) - io->queued);
        scim_kernel_schedule(os->k, io->write ? os->p.swap_write_latency : os->p.swap_read_latency,
                             SCIM_PRIO_DEFAULT, swap_io_done, os, slot);
    }
}

static void swap_submit(scim_os *os, swap_io io)
{
    io.queued = scim_kernel_now(os->k);
    if (!scim_fifo_push(&os->swapq, &io)) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    swap_start_next(os);
}

static bool slot_alloc(scim_os *os, uint64_t *slot)
{
    if (os->n_free_slots) {
        *slot = os->free_slots[--os->n_free_slots];
        return true;
    }
    if (os->next_slot < os->total_slots) {
        *slot = os->next_slot++;
        return true;
    }
    return false;
}

static void slot_free(scim_os *os, uint64_t slot)
{
    uint64_t *n = realloc(os->free_slots, (os->n_free_slots + 1) * sizeof *n);
    if (!n) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    os->free_slots = n;
    os->free_slots[os->n_free_slots++] = slot;
}

/* ---------- fault resolution ---------- */

static void wait_for_frame(scim_os *os, fault_job *j)
{
    os->st.frame_waits++;
    j->next = NULL;
    if (os->fw_tail)
        os->fw_tail->next = j;
    else
        os->fw_head = j;
    os->fw_tail = j;
    maybe_reclaim(os);
}

/* Each waiter tries once: a fault that needs more frames than are free
 * (a data frame and new page-table frames) queues again, in order, rather
 * than being retried here forever. */
static void wake_frame_waiters(scim_os *os)
{
    if (!os->fw_head || scim_physmem_frames_free(os->pm) == 0)
        return;
    fault_job *j = os->fw_head;
    os->fw_head = os->fw_tail = NULL;
    while (j) {
        fault_job *next = j->next;
        j->next = NULL;
        if (scim_physmem_frames_free(os->pm) > 0)
            resolve(os, j);
        else
            wait_for_frame(os, j);
        j = next;
    }
}

static void swap_read_done(scim_os *os, fault_job *j)
{
    process *p = find_process(os, j->pasid);
    const region *r = find_region(p, j->va);
    uint64_t va = j->va & ~(PAGE - 1);
    uint64_t *slot = scim_u64map_get(&p->swapped, va >> 12);
    uint64_t pfn = (uint64_t)(uintptr_t)j->next; /* the frame reserved before the read */
    j->next = NULL;
    os->st.frames_transit--;
    scim_err err = {0};
    if (!r || map_new_page(os, p, va, r, pfn, true, &err) != 0) {
        /* the region went away while the page was read: drop it */
        scim_physmem_free(os->pm, pfn, 0);
        update_free(os);
    } else {
        os->st.iopf_mapped++;
    }
    if (slot) {
        slot_free(os, *slot - 1);
        scim_u64map_remove(&p->swapped, va >> 12);
    }
    answer_fault(os, j, r ? SCIM_RESP_OK : SCIM_RESP_INVALID);
    busy_clear(os, p, va);
}

/* Resolve a fault whose handler time has been paid. */
static void resolve(scim_os *os, fault_job *j)
{
    process *p = find_process(os, j->pasid);
    const region *r = p ? find_region(p, j->va) : NULL;
    if (!r || r->prot == SCIM_PROT_NONE || (j->write && !(r->prot & PROT_W))) {
        answer_fault(os, j, SCIM_RESP_INVALID);
        return;
    }
    uint64_t va = j->va & ~((1ull << r->page_shift) - 1);
    busy_page *b = busy_get(p, va);
    if (b) {
        os->st.faults_waited++;
        j->next = b->waiters;
        b->waiters = j;
        return;
    }
    uint64_t pte;
    if (scim_pgtable_lookup(p->pt, j->va, NULL, NULL, &pte) == 1) {
        if (j->write && !(pte & SCIM_PTE_RW))
            scim_pgtable_update(p->pt, j->va, SCIM_PTE_RW, 0, NULL); /* upgrade: no stale hazard */
        else
            os->st.iopf_spurious++;
        answer_fault(os, j, SCIM_RESP_OK);
        return;
    }
    uint64_t *slot = r->page_shift == 12 ? scim_u64map_get(&p->swapped, va >> 12) : NULL;
    scim_err err = {0};
    if (slot) {
        uint64_t pfn;
        if (scim_physmem_alloc(os->pm, 0, &pfn, &err) != 0) {
            wait_for_frame(os, j);
            return;
        }
        update_free(os);
        os->st.frames_transit++;
        os->st.faults_major++;
        os->st.swap_reads++;
        if (!busy_set(os, p, va, BUSY_SWAPIN))
            return;
        j->next = (fault_job *)(uintptr_t)pfn; /* carried to swap_read_done */
        swap_submit(os, (swap_io){.write = false, .job = j});
        maybe_reclaim(os);
        return;
    }
    int rc = map_new_page(os, p, va, r, 0, false, &err);
    if (rc == SCIM_ENOMEM && r->page_shift == 12) {
        wait_for_frame(os, j);
        return;
    }
    if (rc) {
        scim_kernel_fail(os->k, rc, "fault at pasid %u va 0x%llx could not be resolved: %s%s", j->pasid,
                         (unsigned long long)j->va, err.msg,
                         rc == SCIM_ENOMEM ? "; huge pages are not reclaimed: raise memory.size" : "");
        job_free(os, j);
        return;
    }
    os->st.iopf_mapped++;
    os->st.faults_minor++;
    answer_fault(os, j, SCIM_RESP_OK);
    maybe_reclaim(os);
}

static void sw_fault(void *ctx, uint64_t arg) { resolve(ctx, (fault_job *)(uintptr_t)arg); }

/* Walk placement software: the handler walks; a missing page costs a fault
 * on top. */
static void sw_handled(scim_os *os, fault_job *j)
{
    os->st.sw_walks++;
    process *p = find_process(os, j->pasid);
    uint64_t pte;
    if (p && scim_pgtable_lookup(p->pt, j->va, NULL, NULL, &pte) == 1 && (pte & SCIM_PTE_US) &&
        (!j->write || (pte & SCIM_PTE_RW))) {
        answer_fault(os, j, SCIM_RESP_OK);
        return;
    }
    os->st.busy_ps += os->p.iopf_cost;
    scim_kernel_schedule(os->k, os->p.iopf_cost, SCIM_PRIO_DEFAULT, sw_fault, os, (uint64_t)(uintptr_t)j);
}

static void group_done(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    fault_job *j = (fault_job *)(uintptr_t)arg;
    os->busy_handlers--;
    fault_start_next(os);
    while (j) {
        fault_job *next = j->next;
        j->next = NULL;
        if (j->kind == JOB_SW)
            sw_handled(os, j);
        else
            resolve(os, j);
        j = next;
    }
}

/* A free handler takes a group: up to fault_batch page requests (or one
 * software walk). */
static void fault_start_next(scim_os *os)
{
    while (os->fq_head && os->busy_handlers < os->p.fault_handlers) {
        fault_job *head = os->fq_head, *tail = NULL;
        uint64_t n = 0, pages = 0;
        int kind = head->kind;
        scim_time_t now = scim_kernel_now(os->k);
        while (os->fq_head && os->fq_head->kind == kind && n < (kind == JOB_SW ? 1 : os->p.fault_batch)) {
            fault_job *j = os->fq_head;
            os->fq_head = j->next;
            if (kind == JOB_IO) {
                process *p = find_process(os, j->pasid);
                if (p)
                    scim_u64map_remove(&p->queued, j->va >> 12);
            }
            scim_hist_record(os->st.iopf_queue_delay, now - j->arrived);
            tail = j;
            n++;
            pages += 1 + j->extra;
        }
        if (!os->fq_head)
            os->fq_tail = NULL;
        tail->next = NULL;
        os->busy_handlers++;
        scim_time_t cost = kind == JOB_SW ? os->p.sw_walk_cost : os->p.iopf_cost + (pages - 1) * os->p.iopf_page_cost;
        if (kind == JOB_IO)
            os->st.iopf_groups++;
        os->st.busy_ps += cost;
        scim_kernel_schedule(os->k, cost, SCIM_PRIO_DEFAULT, group_done, os, (uint64_t)(uintptr_t)head);
    }
}

static fault_job *new_job(scim_os *os, scim_msg *m, int kind)
{
    fault_job *j = calloc(1, sizeof *j);
    if (!j) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    j->m = m;
    j->kind = kind;
    j->io = kind == JOB_IO || kind == JOB_SW;
    j->pasid = m->pasid;
    j->va = m->addr;
    if (kind == JOB_CPU)
        j->write = m->len != 0;
    else if (kind == JOB_BACKUP)
        j->write = true;
    else
        j->write = (m->flags & SCIM_ATSF_WRITE) != 0;
    if (kind == JOB_IO && m->len > 1)
        j->extra = (uint32_t)(m->len - 1);
    j->arrived = scim_kernel_now(os->k);
    j->live_next = os->live;
    if (os->live)
        os->live->live_prev = j;
    os->live = j;
    return j;
}

static void enqueue(scim_os *os, fault_job *j)
{
    if (os->fq_tail)
        os->fq_tail->next = j;
    else
        os->fq_head = j;
    os->fq_tail = j;
    fault_start_next(os);
}

static void on_pri_req(scim_os *os, scim_msg *m)
{
    os->st.iopf_requests++;
    fault_job *j = new_job(os, m, JOB_IO);
    if (!j)
        return;
    /* a request for a page already waiting in the queue rides along */
    process *p = find_process(os, j->pasid);
    uint64_t *leader = p ? scim_u64map_get(&p->queued, j->va >> 12) : NULL;
    if (leader) {
        fault_job *l = (fault_job *)(uintptr_t)*leader;
        os->st.iopf_joined++;
        j->next = l->followers;
        l->followers = j;
        if (j->write)
            l->write = true;
        return;
    }
    if (p && !scim_u64map_upsert(&p->queued, j->va >> 12, (uint64_t)(uintptr_t)j)) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    enqueue(os, j);
}

static void on_sw_walk(scim_os *os, scim_msg *m)
{
    fault_job *j = new_job(os, m, JOB_SW);
    if (j)
        enqueue(os, j);
}

/* A CPU fault runs on the faulting core: no handler queue. */
static void on_cpu_fault(scim_os *os, scim_msg *m)
{
    os->st.cpu_faults++;
    fault_job *j = new_job(os, m, JOB_CPU);
    if (!j)
        return;
    os->st.busy_ps += os->p.cpu_fault_cost;
    scim_kernel_schedule(os->k, os->p.cpu_fault_cost, SCIM_PRIO_DEFAULT, sw_fault, os, (uint64_t)(uintptr_t)j);
}

/* A backup copy: a CPU touches the page (a CPU fault's cost: the trap, or
 * finding it present), then copies. */
static void on_backup(scim_os *os, scim_msg *m)
{
    fault_job *j = new_job(os, m, JOB_BACKUP);
    if (!j)
        return;
    os->st.busy_ps += os->p.cpu_fault_cost;
    scim_kernel_schedule(os->k, os->p.cpu_fault_cost, SCIM_PRIO_DEFAULT, sw_fault, os, (uint64_t)(uintptr_t)j);
}

/* ---------- reclaim ---------- */

static void reclaim_round(scim_os *os);

static void reclaim_event(void *ctx, uint64_t arg) { reclaim_round(ctx); }

static void maybe_reclaim(scim_os *os)
{
    if (os->reclaiming)
        return;
    if (scim_physmem_frames_free(os->pm) >= os->p.reclaim_low && !os->fw_head)
        return;
    os->reclaiming = true;
    scim_kernel_schedule(os->k, 0, SCIM_PRIO_DEFAULT, reclaim_event, os, 0);
}

/* Pick victims of one PASID with CLOCK and start their eviction. A round
 * takes victims from the PASID of the first one found, so that one
 * shootdown covers the round. */
static void reclaim_round(scim_os *os)
{
    uint64_t free_now = scim_physmem_frames_free(os->pm);
    if (free_now >= os->p.reclaim_high && !os->fw_head) {
        os->reclaiming = false;
        return;
    }
    size_t idx;
    sd_op *op = NULL;
    process *p = NULL;
    size_t scanned = 0, limit = 2 * os->n_lru + 1;
    while (os->n_lru && scanned < limit && (!op || op->n_pages < os->p.reclaim_batch)) {
        if (os->hand >= os->n_lru)
            os->hand = 0;
        lru_page lp = os->lru[os->hand];
        scanned++;
        os->st.reclaim_scanned++;
        process *q = find_process(os, lp.pasid);
        uint64_t pte;
        if (pin_count(os, lp.pfn) || (p && q != p) || busy_get(q, lp.va) ||
            scim_pgtable_lookup(q->pt, lp.va, NULL, NULL, &pte) != 1) {
            os->hand++;
            continue;
        }
        if (pte & SCIM_PTE_A) {
            os->st.reclaim_referenced++;
            scim_pgtable_update(q->pt, lp.va, 0, SCIM_PTE_A, NULL);
            os->hand++;
            continue;
        }
        uint64_t slot;
        if (!slot_alloc(os, &slot)) {
            scim_kernel_fail(os->k, SCIM_ENOMEM,
                             "out of swap space (os.swap.size = %llu bytes) while reclaiming; raise os.swap.size "
                             "or memory.size",
                             (unsigned long long)os->p.swap_size);
            return;
        }
        if (!op) {
            p = q;
            op = new_op(os, OPK_RECLAIM, p->pasid, NULL, &idx);
            if (!op)
                return;
        }
        if (!op_add_page(os, op, lp.va, PAGE, lp.pfn))
            return;
        op->pages[op->n_pages - 1].slot = slot;
        if (!busy_set(os, p, lp.va, BUSY_SWAPOUT))
            return;
        leaf lf = {lp.va, pte, 12};
        unmap_leaf(os, p, op, &lf); /* removes it from the list: the hand now points at the next page */
        os->st.reclaim_evicted++;
    }
    if (!op) {
        os->reclaiming = false;
        if (os->fw_head)
            scim_kernel_fail(os->k, SCIM_ENOMEM,
                             "out of memory: faults wait for a frame but none of the %zu mapped 4 KiB pages can be "
                             "reclaimed (pinned, huge or in transition); raise memory.size or pin less",
                             os->n_lru);
        return;
    }
    os->st.reclaim_rounds++;
    start_shootdown(os, idx);
}

static void swap_write_done(scim_os *os, size_t op_idx, size_t page)
{
    sd_op *op = &os->ops[op_idx];
    page_ref *pr = &op->pages[page];
    process *p = find_process(os, op->pasid);
    uint64_t *s = scim_u64map_upsert(&p->swapped, pr->va >> 12, pr->slot + 1);
    if (!s) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    os->st.frames_transit--;
    release_frame(os, pr->old_pfn, 0);
    busy_clear(os, p, pr->va);
    if (--op->writes_pending == 0) {
        scim_msg *req = op->req;
        frame_list_free(&op->data);
        frame_list_free(&op->tables);
        op->used = false;
        if (req)
            reply_op(os, req, SCIM_RESP_OK);
        else
            reclaim_round(os);
    }
}

/* ---------- finishing a round ---------- */

static void migrate_copied(void *ctx, uint64_t idx);

static void finish_op(scim_os *os, size_t idx)
{
    sd_op *op = &os->ops[idx];
    scim_time_t now = scim_kernel_now(os->k);
    /* the initiating CPU waits for every acknowledgement (Linux's
     * flush_tlb_multi and qi_submit_sync spin) */
    if (now - op->started > op->charged)
        os->st.busy_ps += now - op->started - op->charged;
    scim_hist_record(os->st.shootdown_latency, now - op->started);
    scim_hist_record(os->st.shootdown_cpu_wait, op->cpus_done - op->started);
    scim_hist_record(os->st.shootdown_dev_wait, op->devs_done - op->started);
    if (os->checker)
        scim_obs_shootdown_end(os->checker, op->checker_id);
    for (size_t i = 0; i < op->tables.n; i++) {
        os->deferred--;
        release_frame(os, op->tables.pfn[i], 0);
    }
    frame_list_free(&op->tables);
    switch (op->kind) {
    case OPK_IO_UNMAP:
    case OPK_IO_FLUSH:
        io_invalidated(os, op);
        return;
    case OPK_MUNMAP:
        for (size_t i = 0; i < op->data.n; i++) {
            /* a pinned frame outlives its mapping, as in Linux: freed at
             * its last unpin */
            if (op->data.order[i] == 0 && pin_count(os, op->data.pfn[i])) {
                if (!scim_u64map_upsert(&os->orphans, op->data.pfn[i], 0))
                    scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
                continue;
            }
            os->st.frames_transit -= 1ull << op->data.order[i];
            release_frame(os, op->data.pfn[i], op->data.order[i]);
        }
        frame_list_free(&op->data);
        op->used = false;
        reply_op(os, op->req, SCIM_RESP_OK);
        return;
    case OPK_MPROTECT:
        op->used = false;
        reply_op(os, op->req, SCIM_RESP_OK);
        return;
    case OPK_MIGRATE:
        os->st.busy_ps += op->n_pages * os->p.migrate_page_cost;
        scim_kernel_schedule(os->k, op->n_pages * os->p.migrate_page_cost, SCIM_PRIO_DEFAULT, migrate_copied, os,
                             idx);
        return;
    default: /* OPK_RECLAIM: write the victims out, then free them */
        op->writes_pending = (uint32_t)op->n_pages;
        for (size_t i = 0; i < op->n_pages; i++) {
            os->st.swap_writes++;
            swap_submit(os, (swap_io){.write = true, .op = idx, .page = i});
        }
        return;
    }
}

static void migrate_copied(void *ctx, uint64_t idx)
{
    scim_os *os = ctx;
    sd_op *op = &os->ops[idx];
    process *p = find_process(os, op->pasid);
    for (size_t i = 0; i < op->n_pages; i++) {
        page_ref *pr = &op->pages[i];
        const region *r = find_region(p, pr->va);
        scim_err err = {0};
        os->st.frames_transit -= 2; /* old and new frame */
        if (r && map_new_page(os, p, pr->va, r, pr->new_pfn, true, &err) == 0) {
            os->st.pages_migrated++;
        } else {
            scim_physmem_free(os->pm, pr->new_pfn, 0);
            update_free(os);
        }
        release_frame(os, pr->old_pfn, 0);
        busy_clear(os, p, pr->va);
    }
    op->used = false;
    reply_op(os, op->req, SCIM_RESP_OK);
}

/* ---------- OS operations from traces ---------- */

/* Start a shootdown round for the leaves of [start, end), or answer at once
 * if none was present. `unmap` removes them; otherwise their RW bit goes. */
static void round_for_leaves(scim_os *os, scim_msg *m, process *p, leaf_list *leaves, int kind)
{
    if (leaves->n == 0) {
        free(leaves->v);
        reply_op(os, m, SCIM_RESP_OK);
        return;
    }
    size_t idx;
    sd_op *op = new_op(os, kind, p->pasid, m, &idx);
    if (!op) {
        free(leaves->v);
        return;
    }
    for (size_t i = 0; i < leaves->n; i++) {
        const leaf *lf = &leaves->v[i];
        uint64_t pa = lf->pte & SCIM_PTE_ADDR_MASK;
        if (!op_add_page(os, op, lf->va, 1ull << lf->shift, pa >> 12))
            break;
        if (kind == OPK_MUNMAP) {
            unmap_leaf(os, p, op, lf);
            frame_list_add(&op->data, pa >> 12, lf->shift - 12);
            os->st.pages_unmapped++;
        } else if (os->checker) {
            /* mprotect: the translation stays, its write right goes */
            scim_obs_stale_page(os->checker, op->checker_id, p->pasid, lf->va, pa, lf->shift);
        }
    }
    free(leaves->v);
    start_shootdown(os, idx);
}

static void do_munmap(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end)
{
    leaf_list leaves;
    if (!leaves_in(p, start, end, &leaves)) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in munmap");
        return;
    }
    for (size_t i = 0; i < leaves.n; i++) {
        uint64_t size = 1ull << leaves.v[i].shift;
        if (leaves.v[i].va < start || leaves.v[i].va + size > end || busy_get(p, leaves.v[i].va)) {
            free(leaves.v);
            /* part of a large page, or a page in transition */
            reply_op(os, m, SCIM_RESP_INVALID);
            return;
        }
    }
    if (remove_regions(p, start, end) != 0) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in munmap");
        return;
    }
    /* swapped-out pages of the range are simply forgotten */
    for (uint64_t va = start; va < end; va += PAGE) {
        uint64_t *slot = scim_u64map_get(&p->swapped, va >> 12);
        if (slot) {
            slot_free(os, *slot - 1);
            scim_u64map_remove(&p->swapped, va >> 12);
        }
    }
    round_for_leaves(os, m, p, &leaves, OPK_MUNMAP);
}

static void do_mprotect(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end, unsigned prot)
{
    if (protect_regions(p, start, end, prot) != 0) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in mprotect");
        return;
    }
    leaf_list leaves;
    if (!leaves_in(p, start, end, &leaves)) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in mprotect");
        return;
    }
    /* Upgrades need no shootdown (a stale read-only entry only faults);
     * downgrades do. */
    leaf_list down = {0};
    for (size_t i = 0; i < leaves.n; i++) {
        leaf *lf = &leaves.v[i];
        uint64_t set = 0, clear = 0;
        if (prot == SCIM_PROT_RW)
            set = SCIM_PTE_RW | SCIM_PTE_US;
        else if (prot == SCIM_PROT_R)
            clear = SCIM_PTE_RW, set = SCIM_PTE_US;
        else
            clear = SCIM_PTE_RW | SCIM_PTE_US;
        bool downgrade = (clear & lf->pte) != 0;
        scim_pgtable_update(p->pt, lf->va, set, clear, NULL);
        if (downgrade && collect_leaf(&down, lf->va, lf->pte, lf->shift) != 0) {
            free(leaves.v);
            free(down.v);
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in mprotect");
            return;
        }
    }
    free(leaves.v);
    round_for_leaves(os, m, p, &down, OPK_MPROTECT);
}

static void do_migrate(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end)
{
    leaf_list leaves;
    if (!leaves_in(p, start, end, &leaves)) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in migrate");
        return;
    }
    size_t idx = 0;
    sd_op *op = NULL;
    for (size_t i = 0; i < leaves.n; i++) {
        leaf *lf = &leaves.v[i];
        uint64_t pfn = (lf->pte & SCIM_PTE_ADDR_MASK) >> 12, npfn;
        /* pinned, huge and in-transition pages stay where they are */
        if (lf->shift != 12 || pin_count(os, pfn) || busy_get(p, lf->va))
            continue;
        if (scim_physmem_alloc(os->pm, 0, &npfn, NULL) != 0)
            break; /* no memory: migrate what fits */
        if (!op && !(op = new_op(os, OPK_MIGRATE, p->pasid, m, &idx))) {
            scim_physmem_free(os->pm, npfn, 0);
            break;
        }
        update_free(os);
        os->st.frames_transit++;
        if (!op_add_page(os, op, lf->va, PAGE, pfn))
            break;
        op->pages[op->n_pages - 1].new_pfn = npfn;
        busy_set(os, p, lf->va, BUSY_MIGRATE);
        unmap_leaf(os, p, op, lf);
    }
    free(leaves.v);
    if (!op) {
        reply_op(os, m, SCIM_RESP_OK);
        return;
    }
    start_shootdown(os, idx);
    maybe_reclaim(os);
}

/* Forced swap-out of a range (the trace's reclaim op). */
static void do_reclaim(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end)
{
    leaf_list leaves;
    if (!leaves_in(p, start, end, &leaves)) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in reclaim");
        return;
    }
    size_t idx = 0;
    sd_op *op = NULL;
    for (size_t i = 0; i < leaves.n; i++) {
        leaf *lf = &leaves.v[i];
        uint64_t pfn = (lf->pte & SCIM_PTE_ADDR_MASK) >> 12, slot;
        if (lf->shift != 12 || pin_count(os, pfn) || busy_get(p, lf->va))
            continue;
        if (!slot_alloc(os, &slot)) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of swap space (os.swap.size) in reclaim; raise it");
            break;
        }
        if (!op && !(op = new_op(os, OPK_RECLAIM, p->pasid, m, &idx)))
            break;
        if (!op_add_page(os, op, lf->va, PAGE, pfn))
            break;
        op->pages[op->n_pages - 1].slot = slot;
        busy_set(os, p, lf->va, BUSY_SWAPOUT);
        unmap_leaf(os, p, op, lf);
        os->st.reclaim_evicted++;
    }
    free(leaves.v);
    if (!op) {
        reply_op(os, m, SCIM_RESP_OK);
        return;
    }
    start_shootdown(os, idx);
}

/* pin: fault in what is missing (if memory allows), then count a pin on
 * every frame; a pinned frame is never reclaimed or migrated. */
static void do_pin(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end, bool pin)
{
    for (uint64_t va = start; va < end; va += PAGE) {
        uint64_t pa;
        if (scim_pgtable_lookup(p->pt, va, &pa, NULL, NULL) != 1) {
            if (!pin)
                continue;
            const region *r = find_region(p, va);
            if (!r || r->page_shift != 12 || busy_get(p, va) || scim_u64map_get(&p->swapped, va >> 12) ||
                map_new_page(os, p, va, r, 0, false, NULL) != 0) {
                /* all or nothing: drop the pins this operation took */
                for (uint64_t v = start; v < va; v += PAGE)
                    if (scim_pgtable_lookup(p->pt, v, &pa, NULL, NULL) == 1)
                        unpin_frame(os, pa >> 12);
                reply_op(os, m, SCIM_RESP_INVALID);
                return;
            }
            scim_pgtable_lookup(p->pt, va, &pa, NULL, NULL);
        }
        if (pin) {
            if (!pin_frame(os, pa >> 12))
                return;
        } else {
            unpin_frame(os, pa >> 12);
        }
    }
    reply_op(os, m, SCIM_RESP_OK);
    maybe_reclaim(os);
}

/* ---------- the pin and iommu-map schemes: the driver's side of an I/O ---------- */

/* An I/O request from a device under scheme pin or iommu-map:
 * flags = SCIM_OS_OP_IO_*, pasid = the process, addr/len = the buffer,
 * tag = the device's request slot, data = pages prepared so far | write << 63. */
#define IO_WRITE (1ull << 63)
#define IO_PROGRESS(m) ((m)->data & 0xffffffffull)

static uint64_t io_pages(const scim_msg *m)
{
    return ((m->addr + m->len + PAGE - 1) >> 12) - (m->addr >> 12);
}

static uint64_t map_key(uint32_t domain, uint64_t vpn) { return ((uint64_t)(domain - SCIM_DOMAIN_PASID_BASE) << 56) | vpn; }

static void io_prepare(scim_os *os, scim_msg *m);
static void io_start_next(scim_os *os, io_ctx *io);

/* An I/O operation is answered: the driver takes the next one. */
static void io_finish(scim_os *os, scim_msg *m, int32_t status)
{
    io_ctx *io = io_of(os, m->src);
    reply_op(os, m, status);
    if (io) {
        io->busy = false;
        io_start_next(os, io);
    }
}

static bool io_all_registered(scim_os *os, const scim_msg *m, const process *p)
{
    uint64_t start = m->addr & ~(PAGE - 1), n = io_pages(m);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t pa;
        const uint64_t *idx = scim_u64map_get(&os->reg->index, reg_key(p->pasid, (start >> 12) + i));
        if (!idx || scim_pgtable_lookup(p->pt, start + i * PAGE, &pa, NULL, NULL) != 1 ||
            os->reg->e[*idx].pfn != pa >> 12)
            return false;
    }
    return true;
}

/* The frames request `m` pinned, in page order. */
static uint64_t *io_frames(const io_ctx *io, const scim_msg *m)
{
    return io->frames + (m->tag % io->slots) * IO_MAX_PAGES;
}

/* Undo the per-request pins of the pages prepared so far. */
static void io_unwind(scim_os *os, scim_msg *m)
{
    io_ctx *io = io_of(os, m->src);
    for (uint64_t i = 0; io && i < IO_PROGRESS(m); i++)
        unpin_frame(os, io_frames(io, m)[i]);
}

static void io_reply_event(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    io_finish(os, (scim_msg *)(uintptr_t)arg, SCIM_RESP_OK);
}

/* Answer an I/O operation after `cost` of driver time. */
static void io_reply_after(scim_os *os, scim_msg *m, scim_time_t cost)
{
    os->st.busy_ps += cost;
    scim_kernel_schedule(os->k, cost, SCIM_PRIO_DEFAULT, io_reply_event, os, (uint64_t)(uintptr_t)m);
}

/* The faulting-in of one page of a buffer (get_user_pages) has finished. */
static void io_page_faulted(scim_os *os, fault_job *j, int32_t status)
{
    scim_msg *m = j->m;
    job_free(os, j);
    if (status == SCIM_RESP_OK) {
        io_prepare(os, m);
        return;
    }
    io_unwind(os, m);
    io_finish(os, m, SCIM_RESP_INVALID);
}

static void io_pin_pages(scim_os *os, scim_msg *m, process *p, io_ctx *io);
static void io_map_pages(scim_os *os, scim_msg *m, process *p, io_ctx *io);

/* IO_PIN and IO_MAP: bring every page of the buffer in (a CPU fault for
 * each missing one, as get_user_pages takes), pinning each for the
 * request; then register (pin) or map (iommu-map) the lot. */
static void io_prepare(scim_os *os, scim_msg *m)
{
    process *p = find_process(os, m->pasid);
    io_ctx *io = io_of(os, m->src);
    uint64_t n = io_pages(m);
    if (!p || !io || n > IO_MAX_PAGES || m->tag >= io->slots) {
        io_unwind(os, m);
        io_finish(os, m, SCIM_RESP_INVALID);
        return;
    }
    bool write = (m->data & IO_WRITE) != 0;
    uint64_t start = m->addr & ~(PAGE - 1);
    for (uint64_t i = IO_PROGRESS(m); i < n; i++) {
        uint64_t va = start + i * PAGE, pa, pte;
        if (scim_pgtable_lookup(p->pt, va, &pa, NULL, &pte) != 1 || !(pte & SCIM_PTE_US) ||
            (write && !(pte & SCIM_PTE_RW))) {
            fault_job *j = new_job(os, m, JOB_OP);
            if (!j)
                return;
            j->va = va;
            j->write = write;
            os->st.cpu_faults++;
            os->st.busy_ps += os->p.cpu_fault_cost;
            scim_kernel_schedule(os->k, os->p.cpu_fault_cost, SCIM_PRIO_DEFAULT, sw_fault, os,
                                 (uint64_t)(uintptr_t)j);
            return;
        }
        if (!pin_frame(os, pa >> 12))
            return;
        io_frames(io, m)[i] = pa >> 12;
        /* get_user_pages marks the page accessed (and dirty for a write),
         * so reclaim sees I/O pages as used */
        scim_pgtable_update(p->pt, va, SCIM_PTE_A | (write ? SCIM_PTE_D : 0), 0, NULL);
        m->data = (m->data & IO_WRITE) | (i + 1);
    }
    if (m->flags == SCIM_OS_OP_IO_PIN)
        io_pin_pages(os, m, p, io);
    else
        io_map_pages(os, m, p, io);
}

/* Scheme pin: register the pages (the registration cache keeps its own
 * pin) and write the request's descriptor list: one physical address per
 * page, which the device reads instead of translating. */
static void io_pin_pages(scim_os *os, scim_msg *m, process *p, io_ctx *io)
{
    uint64_t start = m->addr & ~(PAGE - 1), n = io_pages(m), pinned = 0, evicted = 0;
    uint64_t list = io->desc_base + m->tag * PAGE;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t pa = io_frames(io, m)[i] << 12;
        scim_physmem_write64(os->pm, list + i * 8, pa);
        if (!os->p.pin_cache_pages) {
            pinned++;
            continue;
        }
        if (reg_touch(os->reg, p->pasid, (start >> 12) + i, pa >> 12)) {
            os->st.io_pin_cache_hits++;
            continue;
        }
        if (!pin_frame(os, pa >> 12))
            return;
        pinned++;
        evicted += reg_insert(os, os->reg, p->pasid, (start >> 12) + i, pa >> 12);
    }
    os->st.io_pins += pinned;
    os->st.io_unpins += evicted;
    io_reply_after(os, m, pinned * os->p.pin_page_cost + evicted * os->p.unpin_page_cost);
}

/* Scheme iommu-map: map IOVA = va -> the page's frame in the device's I/O
 * address space (dma_map_page). A page another request already maps keeps
 * its entry (a count); the map cost is paid per call all the same. */
static void io_map_pages(scim_os *os, scim_msg *m, process *p, io_ctx *io)
{
    process *dom = find_process(os, io->domain);
    uint64_t start = m->addr & ~(PAGE - 1), n = io_pages(m);
    /* the DMA direction sets the device's right: DMA_FROM_DEVICE (the
     * device writes memory) maps writable, DMA_TO_DEVICE read-only */
    uint64_t flags = SCIM_PTE_US | ((m->data & IO_WRITE) ? SCIM_PTE_RW : 0);
    for (uint64_t i = 0; i < n && dom; i++) {
        uint64_t va = start + i * PAGE, pa = io_frames(io, m)[i] << 12;
        uint64_t *count = scim_u64map_upsert(&os->io_mapped, map_key(io->domain, va >> 12), 0);
        if (!count) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            return;
        }
        if ((*count)++ == 0) {
            scim_err err = {0};
            if (scim_pgtable_map(dom->pt, va, pa, 12, flags, &err) != 0) {
                scim_kernel_fail(os->k, err.code ? err.code : SCIM_ENOMEM,
                                 "iommu-map: mapping IOVA 0x%llx in the I/O address space of pasid %u failed: %s",
                                 (unsigned long long)va, io->domain, err.msg);
                return;
            }
        }
    }
    os->st.io_maps += n;
    io_reply_after(os, m, n * os->p.iommu_map_page_cost);
}

/* IO_UNPIN: drop the request's pins (the cache keeps its own). The
 * per-page cost was paid on arrival. */
static void io_unpin(scim_os *os, scim_msg *m, process *p)
{
    io_ctx *io = io_of(os, m->src);
    uint64_t n = io_pages(m);
    for (uint64_t i = 0; io && i < n && i < IO_MAX_PAGES; i++)
        unpin_frame(os, io_frames(io, m)[i]);
    if (!os->p.pin_cache_pages)
        os->st.io_unpins += n;
    io_finish(os, m, SCIM_RESP_OK);
}

static void flush_batch(scim_os *os, io_ctx *io)
{
    if (!io->has_batch)
        return;
    io->has_batch = false;
    os->st.io_flushes++;
    start_shootdown(os, io->batch);
}

static void flush_timer(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    io_ctx *io = &os->io[arg >> 32];
    if (io->has_batch && (io->generation & 0xffffffffull) == (arg & 0xffffffffull))
        flush_batch(os, io);
}

/* IO_UNMAP (dma_unmap_page): clear the IOVA's entry. strict: invalidate
 * the IOMMU's and the device's caches for these pages and answer when
 * done; deferred: answer now and queue the pages for a later PASID-wide
 * flush, keeping their frames pinned until it completes (Linux keeps the
 * IOVA reserved until then; keeping the frame too means the stale entry
 * never names a reused frame, so the checker's rule 2 holds). The time a
 * stale entry could be used is io.stale_window. */
static void io_unmap(scim_os *os, scim_msg *m, process *p)
{
    io_ctx *io = io_of(os, m->src);
    process *dom = io ? find_process(os, io->domain) : NULL;
    if (!dom) {
        io_finish(os, m, SCIM_RESP_INVALID);
        return;
    }
    bool deferred = os->p.iommu_map_mode == 1;
    uint64_t start = m->addr & ~(PAGE - 1), n = io_pages(m);
    scim_time_t now = scim_kernel_now(os->k);
    size_t idx = 0;
    sd_op *op = NULL;
    for (uint64_t i = 0; i < n && i < IO_MAX_PAGES; i++) {
        uint64_t va = start + i * PAGE;
        uint64_t pfn = io_frames(io, m)[i];
        uint64_t *count = scim_u64map_get(&os->io_mapped, map_key(io->domain, va >> 12));
        if (!count || --*count > 0) {
            unpin_frame(os, pfn); /* another request still maps it */
            continue;
        }
        scim_u64map_remove(&os->io_mapped, map_key(io->domain, va >> 12));
        if (deferred && !io->has_batch) {
            if (!(op = new_op(os, OPK_IO_FLUSH, io->domain, NULL, &io->batch)))
                return;
            op->whole = true;
            io->has_batch = true;
            io->generation++;
            scim_kernel_schedule(os->k, os->p.flush_interval, SCIM_PRIO_DEFAULT, flush_timer, os,
                                 ((uint64_t)(io - os->io) << 32) | (io->generation & 0xffffffffull));
        } else if (!deferred && !op) {
            if (!(op = new_op(os, OPK_IO_UNMAP, io->domain, m, &idx)))
                return;
        }
        if (deferred)
            op = &os->ops[io->batch];
        if (os->checker)
            scim_obs_stale_page(os->checker, op->checker_id, io->domain, va, pfn << 12, 12);
        os->collect = &op->tables;
        scim_pgtable_unmap(dom->pt, va, NULL, NULL);
        os->collect = NULL;
        if (!op_add_page(os, op, va, PAGE, pfn))
            return;
        op->pages[op->n_pages - 1].slot = now;
        if (deferred && os->exposure)
            scim_exposure_add(os->exposure, io->domain, 1);
    }
    os->st.io_unmaps += n;
    if (deferred) {
        io_finish(os, m, SCIM_RESP_OK);
        if (io->has_batch && os->ops[io->batch].n_pages >= os->p.flush_entries)
            flush_batch(os, io);
        return;
    }
    if (!op) {
        io_finish(os, m, SCIM_RESP_OK);
        return;
    }
    os->st.io_flushes++;
    start_shootdown(os, idx);
}

/* A strict unmap's or a deferred batch's invalidation has completed. */
static void io_invalidated(scim_os *os, sd_op *op)
{
    scim_time_t now = scim_kernel_now(os->k);
    for (size_t i = 0; i < op->n_pages; i++) {
        unpin_frame(os, op->pages[i].old_pfn);
        /* strict: the driver gets the IOVA back only now, so nothing
         * could use a stale entry: a window of zero */
        scim_hist_record(os->st.stale_window, op->kind == OPK_IO_FLUSH ? now - op->pages[i].slot : 0);
    }
    if (op->kind == OPK_IO_FLUSH && os->exposure)
        scim_exposure_add(os->exposure, op->pasid, -(int64_t)op->n_pages);
    op->used = false;
    if (op->req)
        io_finish(os, op->req, SCIM_RESP_OK);
}

static void op_exec(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    process *p = find_process(os, m->pasid);
    if (!p) {
        reply_op(os, m, SCIM_RESP_INVALID);
        return;
    }
    uint64_t start = m->addr & ~(PAGE - 1);
    uint64_t end = (m->addr + m->len + PAGE - 1) & ~(PAGE - 1);
    unsigned prot = (unsigned)(m->data & 0xff);
    bool populate = ((m->data >> 8) & 0xff) != 0;
    unsigned shift = (unsigned)((m->data >> 16) & 0xff);
    uint32_t has = (uint32_t)(m->data >> 24);
    switch (m->flags) {
    case SCIM_OS_OP_IO_PIN:
    case SCIM_OS_OP_IO_MAP:
        io_prepare(os, m);
        return;
    case SCIM_OS_OP_IO_UNPIN:
        io_unpin(os, m, p);
        return;
    case SCIM_OS_OP_IO_UNMAP:
        io_unmap(os, m, p);
        return;
    default:
        break;
    }
    switch ((scim_trace_op)m->flags) {
    case SCIM_OP_MMAP: {
        os->st.ops_mmap++;
        scim_err err = {0};
        if (!(has & SCIM_TRACE_HAS_PROT))
            prot = SCIM_PROT_RW;
        if (!(has & SCIM_TRACE_HAS_PAGESIZE))
            shift = 12;
        int rc = add_region(os, p, start, end - start, shift, prot, populate, &err);
        if (rc == SCIM_ENOMEM) {
            scim_kernel_fail(os->k, SCIM_ENOMEM,
                             "simulated memory exhausted by mmap(populate) of pasid %u: %s; raise memory.size",
                             p->pasid, err.msg);
            return;
        }
        reply_op(os, m, rc ? SCIM_RESP_INVALID : SCIM_RESP_OK);
        maybe_reclaim(os);
        return;
    }
    case SCIM_OP_MUNMAP:
        os->st.ops_munmap++;
        do_munmap(os, m, p, start, end);
        return;
    case SCIM_OP_MPROTECT:
        os->st.ops_mprotect++;
        do_mprotect(os, m, p, start, end, (has & SCIM_TRACE_HAS_PROT) ? prot : SCIM_PROT_R);
        return;
    case SCIM_OP_MIGRATE:
        os->st.ops_migrate++;
        do_migrate(os, m, p, start, end);
        return;
    case SCIM_OP_RECLAIM:
        os->st.ops_reclaim++;
        do_reclaim(os, m, p, start, end);
        return;
    case SCIM_OP_PIN:
        os->st.ops_pin++;
        do_pin(os, m, p, start, end, true);
        return;
    case SCIM_OP_UNPIN:
        os->st.ops_unpin++;
        do_pin(os, m, p, start, end, false);
        return;
    default:
        reply_op(os, m, SCIM_RESP_INVALID);
    }
}

static uint64_t mapped_pages_in(const process *p, uint64_t start, uint64_t end)
{
    leaf_list l;
    leaves_in(p, start, end, &l);
    size_t n = l.n;
    free(l.v);
    return n;
}

static void op_exec(void *ctx, uint64_t arg);

/* The driver handles one I/O operation at a time per device, in order
 * (one submission and completion context): a strict unmap's wait delays
 * the next I/O, as it does on a real core. */
static void io_start_next(scim_os *os, io_ctx *io)
{
    scim_msg *m;
    if (io->busy || !scim_fifo_pop(&io->queue, &m))
        return;
    io->busy = true;
    process *p = find_process(os, m->pasid);
    /* The driver is entered by a system call at submission; the release
     * runs in the completion path, already in the kernel. */
    uint64_t n = io_pages(m);
    scim_time_t cost = os->p.syscall_cost;
    if (m->flags == SCIM_OS_OP_IO_UNPIN)
        cost = os->p.pin_cache_pages ? 0 : n * os->p.unpin_page_cost;
    else if (m->flags == SCIM_OS_OP_IO_UNMAP)
        cost = n * os->p.iommu_unmap_page_cost;
    else if (m->flags == SCIM_OS_OP_IO_PIN && os->p.pin_cache_pages && p && io_all_registered(os, m, p))
        cost = 0; /* a registration-cache hit stays in user space */
    os->st.busy_ps += cost;
    m->sent_at = scim_kernel_now(os->k);
    scim_kernel_schedule(os->k, cost, SCIM_PRIO_DEFAULT, op_exec, os, (uint64_t)(uintptr_t)m);
}

static void io_submit(scim_os *os, scim_msg *m)
{
    io_ctx *io = io_of(os, m->src);
    if (!io) {
        reply_op(os, m, SCIM_RESP_INVALID); /* not a device bound to scheme pin or iommu-map */
        return;
    }
    if (!scim_fifo_push(&io->queue, &m)) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    io_start_next(os, io);
}

static void on_os_req(scim_os *os, scim_msg *m)
{
    if (m->flags == SCIM_OS_OP_FAULT) {
        on_cpu_fault(os, m);
        return;
    }
    if (m->flags == SCIM_OS_OP_BACKUP) {
        on_backup(os, m);
        return;
    }
    scim_time_t cost = os->p.syscall_cost;
    process *p = find_process(os, m->pasid);
    if (m->flags >= SCIM_OS_OP_IO_PIN && m->flags <= SCIM_OS_OP_IO_UNMAP) {
        io_submit(os, m);
        return;
    }
    uint64_t start = m->addr & ~(PAGE - 1), end = (m->addr + m->len + PAGE - 1) & ~(PAGE - 1);
    uint64_t pages = (end - start) / PAGE;
    if (p) {
        switch ((scim_trace_op)m->flags) {
        case SCIM_OP_MMAP:
            if ((m->data >> 8) & 0xff) {
                unsigned shift = ((m->data >> 24) & SCIM_TRACE_HAS_PAGESIZE) ? (unsigned)((m->data >> 16) & 0xff) : 12;
                cost += ((end - start) >> shift) * os->p.map_page_cost;
            }
            break;
        case SCIM_OP_MUNMAP: cost += mapped_pages_in(p, start, end) * os->p.unmap_page_cost; break;
        case SCIM_OP_MPROTECT: cost += mapped_pages_in(p, start, end) * os->p.protect_page_cost; break;
        case SCIM_OP_PIN: cost += pages * os->p.pin_page_cost; break;
        case SCIM_OP_UNPIN: cost += pages * os->p.unpin_page_cost; break;
        default: break;
        }
    }
    os->st.busy_ps += cost;
    m->sent_at = scim_kernel_now(os->k); /* arrival, for op.latency */
    scim_kernel_schedule(os->k, cost, SCIM_PRIO_DEFAULT, op_exec, os, (uint64_t)(uintptr_t)m);
}

static void on_recv(void *ctx, scim_msg *m)
{
    scim_os *os = ctx;
    switch (m->type) {
    case SCIM_MSG_PRI_REQ:
        on_pri_req(os, m);
        return;
    case SCIM_MSG_OS_REQ:
        on_os_req(os, m);
        return;
    case SCIM_MSG_INV_DONE:
        on_inv_done(os, m);
        return;
    case SCIM_MSG_IRQ:
        on_sw_walk(os, m);
        return;
    case SCIM_MSG_SYNC_ACK:
        on_sync_ack(os, m);
        return;
    default:
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected %s message from '%s'",
                         scim_msg_type_name(m->type), scim_fabric_node_name(os->f, m->src));
        scim_msg_free(os->f, m);
    }
}

/* ---------- the request protocol ---------- */

/* ---------- life cycle ---------- */

scim_os *scim_os_create(scim_kernel *k, scim_fabric *f, scim_physmem *pm, const char *name,
                        const scim_os_params *p, scim_stats *stats, scim_err *err)
{
    if (p->fault_handlers == 0) {
        scim_err_set(err, SCIM_ERANGE, "os.fault_handlers must be at least 1");
        return NULL;
    }
    if (p->reclaim_high < p->reclaim_low) {
        scim_err_set(err, SCIM_ERANGE, "os.reclaim.high_watermark (%llu) must be >= os.reclaim.low_watermark (%llu)",
                     (unsigned long long)p->reclaim_high, (unsigned long long)p->reclaim_low);
        return NULL;
    }
    scim_os *os = calloc(1, sizeof *os);
    if (!os) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the OS");
        return NULL;
    }
    os->k = k;
    os->f = f;
    os->pm = pm;
    os->p = *p;
    os->iommu = SCIM_NODE_NONE;
    os->pt_ops.alloc_table = pt_alloc;
    os->pt_ops.free_table = pt_free;
    os->pt_ops.entry_written = pt_entry_written;
    os->total_slots = p->swap_size / PAGE;
    scim_u64map_init(&os->lru_index);
    scim_u64map_init(&os->pins);
    scim_u64map_init(&os->io_mapped);
    scim_u64map_init(&os->orphans);
    scim_fifo_init(&os->swapq, sizeof(swap_io));
    os->in_service = calloc(p->swap_parallel, sizeof *os->in_service);
    os->in_service_free = calloc(p->swap_parallel, sizeof *os->in_service_free);
    if (!os->in_service || !os->in_service_free) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the OS");
        goto fail;
    }
    for (uint32_t i = 0; i < p->swap_parallel; i++)
        os->in_service_free[os->n_in_service_free++] = (uint32_t)p->swap_parallel - 1 - i;
    uint64_t pfn;
    if (scim_physmem_alloc(pm, SCIM_PASID_DIR_ORDER, &pfn, err) != 0)
        goto fail;
    os->pasid_dir = pfn << 12;
    os->st.frames_pasid_table = 1ull << SCIM_PASID_DIR_ORDER;
    update_free(os);
    if (scim_fabric_add_node(f, name, on_recv, os, &os->node, err) != 0)
        goto fail;
    if (scim_stats_register(stats, name, scim_os_stat_decls, scim_os_stat_decl_count, &os->st, err) != 0)
        goto fail;
    return os;
fail:
    scim_os_destroy(os);
    return NULL;
}

static void free_busy(void *ctx, uint64_t key, uint64_t val)
{
    busy_page *b = (busy_page *)(uintptr_t)val;
    free(b); /* its waiters are on the live list */
}


void scim_os_destroy(scim_os *os)
{
    if (!os)
        return;
    os->checker = NULL; /* teardown: the TLBs it would scan may be gone */
    for (size_t i = 0; i < os->n_procs; i++) {
        scim_pgtable_destroy(os->procs[i].pt);
        free(os->procs[i].regions);
        scim_u64map_free(&os->procs[i].swapped);
        scim_u64map_foreach(&os->procs[i].busy, free_busy, NULL);
        scim_u64map_free(&os->procs[i].busy);
        scim_u64map_free(&os->procs[i].queued);
        free(os->procs[i].cookie);
        free(os->procs[i].sync);
    }
    free(os->procs);
    while (os->live)
        job_free(os, os->live);
    for (size_t i = 0; i < os->n_ops; i++) {
        frame_list_free(&os->ops[i].data);
        frame_list_free(&os->ops[i].tables);
        free(os->ops[i].pages);
    }
    free(os->ops);
    free(os->lru);
    scim_u64map_free(&os->lru_index);
    scim_u64map_free(&os->pins);
    scim_u64map_free(&os->io_mapped);
    scim_u64map_free(&os->orphans);
    for (size_t i = 0; i < os->n_io; i++) {
        scim_fifo_free(&os->io[i].queue);
        free(os->io[i].frames);
    }
    free(os->io);
    if (os->reg) {
        free(os->reg->e);
        scim_u64map_free(&os->reg->index);
        free(os->reg);
    }
    free(os->free_slots);
    scim_fifo_free(&os->swapq);
    free(os->in_service);
    free(os->in_service_free);
    free(os->cpus);
    free(os->devs);
    free(os->shadows);
    for (size_t i = 0; i < os->n_syncs; i++)
        free(os->syncs[i].pairs);
    free(os->syncs);
    free(os);
}

scim_node_id scim_os_node(const scim_os *os) { return os->node; }
uint64_t scim_os_pasid_dir(const scim_os *os) { return os->pasid_dir; }
void scim_os_set_iommu(scim_os *os, scim_node_id iommu) { os->iommu = iommu; }
void scim_os_set_checker(scim_os *os, const scim_observer *c) { os->checker = c; }

static int bind(binding **v, size_t *n, scim_node_id node, uint32_t pasid, scim_err *err)
{
    binding *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    *v = nv;
    nv[(*n)++] = (binding){node, pasid};
    return 0;
}

int scim_os_bind_cpu(scim_os *os, scim_node_id cpu, uint32_t pasid, scim_err *err)
{
    return bind(&os->cpus, &os->n_cpus, cpu, pasid, err);
}

int scim_os_bind_device(scim_os *os, scim_node_id dev, uint32_t pasid, scim_err *err)
{
    return bind(&os->devs, &os->n_devs, dev, pasid, err);
}

int scim_os_bind_shadow(scim_os *os, scim_node_id dev, uint32_t pasid, scim_err *err)
{
    return bind(&os->shadows, &os->n_shadows, dev, pasid, err);
}

int scim_os_shadow_snapshot(const scim_os *os, uint32_t pasid,
                            void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value), void *ctx)
{
    const process *p = find_process(os, pasid);
    if (!p)
        return SCIM_ENOENT;
    scim_pgtable_foreach_entry(p->pt, fn, ctx);
    return 0;
}

int scim_os_alloc_backup(scim_os *os, uint64_t bytes, uint64_t *pa, scim_err *err)
{
    uint64_t pages = (bytes + PAGE - 1) / PAGE;
    unsigned order = 0;
    while ((1ull << order) < pages)
        order++;
    uint64_t pfn;
    int rc = scim_physmem_alloc(os->pm, order, &pfn, err);
    if (rc)
        return rc;
    os->st.frames_reserved += 1ull << order;
    update_free(os);
    *pa = pfn << 12;
    return 0;
}

int scim_os_address_space(const scim_os *os, uint32_t pasid, uint64_t *root_pa, int *levels)
{
    const process *p = find_process(os, pasid);
    if (!p)
        return SCIM_ENOENT;
    *root_pa = scim_pgtable_root(p->pt);
    *levels = p->levels;
    return 0;
}

int scim_os_add_process(scim_os *os, const char *name, uint32_t pasid, int levels, scim_err *err)
{
    if (pasid == 0 || pasid > SCIM_PASID_MAX)
        return scim_err_set(err, SCIM_ERANGE, "process '%s': pasid %u is out of range 1..%u", name, pasid,
                            SCIM_PASID_MAX);
    if (find_process(os, pasid))
        return scim_err_set(err, SCIM_EEXIST, "two processes use pasid %u; PASIDs must be unique", pasid);
    if (levels != 4 && levels != 5)
        return scim_err_set(err, SCIM_EINVAL, "process '%s': paging levels must be 4 or 5", name);
    process *n = realloc(os->procs, (os->n_procs + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a process");
    os->procs = n;
    process *p = &os->procs[os->n_procs];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->pasid = pasid;
    p->levels = levels;
    scim_u64map_init(&p->swapped);
    scim_u64map_init(&p->busy);
    scim_u64map_init(&p->queued);
    p->cookie = malloc(sizeof *p->cookie);
    if (!p->cookie)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a process");
    *p->cookie = (pt_cookie){os, pasid};
    p->pt = scim_pgtable_create(os->pm, levels, &os->pt_ops, p->cookie, err);
    if (!p->pt) {
        free(p->cookie);
        return err && err->code ? err->code : SCIM_ENOMEM;
    }
    os->n_procs++;
    /* Publish the address space in the PASID table the IOMMU reads. */
    uint64_t dir_entry_pa = scim_pasid_dir_entry_addr(os->pasid_dir, pasid);
    uint64_t dir_entry = scim_physmem_read64(os->pm, dir_entry_pa);
    if (!scim_pasid_entry_present(dir_entry)) {
        uint64_t pfn;
        int rc = scim_physmem_alloc(os->pm, 0, &pfn, err);
        if (rc)
            return rc;
        os->st.frames_pasid_table++;
        update_free(os);
        dir_entry = (pfn << 12) | SCIM_PASID_ENTRY_P;
        scim_physmem_write64(os->pm, dir_entry_pa, dir_entry);
    }
    scim_physmem_write64(os->pm, scim_pasid_entry_addr(scim_pasid_entry_pa(dir_entry), pasid),
                         scim_pasid_make_entry(scim_pgtable_root(p->pt), levels));
    return 0;
}

int scim_os_add_region(scim_os *os, uint32_t pasid, uint64_t va, uint64_t size, unsigned page_shift,
                       unsigned prot, bool populate, scim_err *err)
{
    process *p = find_process(os, pasid);
    if (!p)
        return scim_err_set(err, SCIM_ENOENT, "no process has pasid %u", pasid);
    return add_region(os, p, va, size, page_shift, prot, populate, err);
}

int scim_os_resolve(void *ctx, uint32_t pasid, uint64_t va, uint64_t *pa)
{
    scim_os *os = ctx;
    process *p = find_process(os, pasid);
    if (!p)
        return 0;
    return scim_pgtable_lookup(p->pt, va, pa, NULL, NULL) == 1;
}

void scim_os_frames_get(const scim_os *os, scim_os_frames *out)
{
    out->total = scim_physmem_frames_total(os->pm);
    out->free = scim_physmem_frames_free(os->pm);
    out->data = os->st.frames_data;
    out->page_tables = os->st.frames_page_tables;
    out->pasid_table = os->st.frames_pasid_table;
    out->deferred = os->deferred;
    out->transit = os->st.frames_transit;
    out->reserved = os->st.frames_reserved;
}

/* ---------- schemes pin and iommu-map: binding devices ---------- */

static io_ctx *io_add(scim_os *os, scim_node_id dev, uint64_t slots, scim_err *err)
{
    io_ctx *n = realloc(os->io, (os->n_io + 1) * sizeof *n);
    uint64_t *frames = calloc(slots * IO_MAX_PAGES, sizeof *frames);
    if (!n || !frames) {
        free(frames);
        if (n)
            os->io = n;
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    os->io = n;
    io_ctx *io = &os->io[os->n_io++];
    memset(io, 0, sizeof *io);
    io->dev = dev;
    scim_fifo_init(&io->queue, sizeof(scim_msg *));
    io->slots = slots;
    io->frames = frames;
    return io;
}

int scim_os_bind_pin_device(scim_os *os, scim_node_id dev, uint64_t slots, uint64_t *desc_pa, scim_err *err)
{
    if (!os->reg) {
        os->reg = calloc(1, sizeof *os->reg);
        if (!os->reg)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        os->reg->head = os->reg->tail = os->reg->free_list = -1;
        scim_u64map_init(&os->reg->index);
    }
    int rc = scim_os_alloc_backup(os, slots * PAGE, desc_pa, err);
    if (rc)
        return rc;
    io_ctx *io = io_add(os, dev, slots, err);
    if (!io)
        return SCIM_ENOMEM;
    io->desc_base = *desc_pa;
    return 0;
}

int scim_os_bind_map_device(scim_os *os, scim_node_id dev, uint32_t domain, uint64_t slots, scim_err *err)
{
    char name[48];
    snprintf(name, sizeof name, "iommu-map domain %u", domain - SCIM_DOMAIN_PASID_BASE);
    int rc = scim_os_add_process(os, name, domain, 4, err);
    if (rc)
        return rc;
    io_ctx *io = io_add(os, dev, slots, err);
    if (!io)
        return SCIM_ENOMEM;
    io->domain = domain;
    /* Linux's DMA domains keep their table pages too; freeing them would
     * need a paging-structure-cache flush per unmap, which deferred mode
     * exists to avoid. */
    scim_pgtable_keep_empty_tables(find_process(os, domain)->pt, true);
    return 0;
}

void scim_os_set_exposure(scim_os *os, scim_exposure *e) { os->exposure = e; }

void scim_os_sync_stats(scim_os *os) { pinned_changed(os, 0); }

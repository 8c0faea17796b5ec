/* OS memory manager (privileged software): life cycle, message dispatch,
 * and the parameter and statistic tables. Role in os/os.h; the model, its
 * costs and the shootdown protocols in docs/os.md; the files by job in
 * os/os_internal.h.
 *
 * Modelling notes:
 *   - Faults (I/O page faults via the IOMMU, CPU page faults as traps) share
 *     one resolution path: region and protection check; a page in
 *     transition (being swapped in or out, migrated, or its new frame
 *     zeroed by an I/O fault handler) makes the fault wait on it; a present
 *     page answers at once (spurious, or a write upgrade); a swapped page is
 *     read back from the swap device (major fault); otherwise a zeroed frame
 *     is mapped (minor fault; an I/O fault zeroes it before mapping it).
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
 *
 * The tables below also hold the parameters (os.pin.*, os.iommu_map.*)
 * and statistics (os.io.*) of the driver of the pin and iommu-map schemes
 * (src/driver/): one `os.` namespace, one generated reference, and the
 * driver reads them through the OS it is registered on.
 */
#include "os/os_internal.h"
#include "os/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/ctx_vtd.h"

#define OS_COUNTER(name, field, unit, desc) {name, SCIM_STAT_COUNTER, unit, desc, offsetof(os_stats, field)}
/* part of the OS's state (what it is at the end of the run): kept at the end of warm-up */
#define OS_LEVEL(name, field, unit, desc) {name, SCIM_STAT_LEVEL, unit, desc, offsetof(os_stats, field)}
#define OS_HIST(name, field, desc) {name, SCIM_STAT_HIST, "ps", desc, offsetof(os_stats, field)}

const scim_stat_decl scim_os_stat_decls[] = {
    OS_COUNTER("iopf.requests", iopf_requests, "count", "Page request groups received (via the IOMMU)."),
    OS_COUNTER("iopf.pages", iopf_pages, "count", "Pages those groups asked for (prefault pages included)."),
    OS_COUNTER("iopf.batches", iopf_batches, "count",
               "Batches of groups fault handlers took from the queue (os.fault_batch at most each; one os.iopf_cost "
               "each)."),
    OS_COUNTER("iopf.wakeups", iopf_wakeups, "count",
               "Interrupts that woke a sleeping fault handler (software walks wake none)."),
    OS_COUNTER("iopf.zeroed", iopf_zeroed, "count", "New frames zeroed by fault handlers (4 KiB memory writes)."),
    OS_COUNTER("iopf.mapped", iopf_mapped, "count", "Pages mapped by fault handling (I/O and CPU, minor and major)."),
    OS_COUNTER("iopf.spurious", iopf_spurious, "count",
               "Faults (I/O or CPU) for a page that was already present when handled."),
    OS_COUNTER("iopf.invalid", iopf_invalid, "count",
               "Faults outside any region or against its protection (answered Invalid)."),
    OS_HIST("iopf.latency", iopf_latency, "From a page request group's arrival at the OS to its response leaving."),
    OS_HIST("iopf.queue_delay", iopf_queue_delay,
            "Time a page request group waited in the queue until a handler took it (and a software walk until "
            "the interrupt handler took it)."),
    OS_COUNTER("iopf.joined", iopf_joined, "count",
               "Page request groups for a page whose group was still queued, answered with it instead of twice."),
    OS_COUNTER("prefaulted", prefaulted, "count",
               "Prefault pages a group asked for that were mapped (the others were present, or not mappable)."),
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
    OS_COUNTER("swap.read_errors", swap_read_errors, "count",
               "Swap-in reads that failed (fault injection): the fault that needed the page failed; the page stays "
               "in swap."),
    OS_COUNTER("device_resets", device_resets, "count",
               "Devices reset after the IOMMU reported an invalidation timeout (PCIe function level reset)."),
    OS_COUNTER("swap.writes", swap_writes, "count", "Pages written to swap."),
    OS_HIST("swap.queue_delay", swap_queue_delay, "Time a swap operation waited for the device."),
    OS_LEVEL("frames.free", frames_free, "frames", "Free 4 KiB frames at the end of the run."),
    OS_LEVEL("frames.data", frames_data, "frames", "4 KiB frames mapped to processes at the end of the run."),
    OS_LEVEL("frames.page_tables", frames_page_tables, "frames", "Page-table frames at the end of the run."),
    OS_LEVEL("frames.pasid_table", frames_pasid_table, "frames",
               "IOMMU context-structure frames: VT-d PASID directory and tables, SMMUv3 stream table and "
               "context-descriptor tables, or RISC-V IOMMU device and process directories."),
    OS_LEVEL("frames.transit", frames_transit, "frames",
               "Data frames neither free nor mapped at the end: unmapped but not yet free (shootdown, writeback or "
               "copy in progress), or taken for a page not yet mapped (swap-in, zeroing)."),
    OS_LEVEL("frames.reserved", frames_reserved, "frames", "Frames set aside for device backup buffers."),
    OS_COUNTER("shadow.syncs", shadow_syncs, "count",
               "Walk placement shadow: update messages sent to synchronized copies (one per device per flush)."),
    OS_COUNTER("shadow.sync_waits", shadow_sync_waits, "count",
               "Walk placement shadow: answers, shootdowns and replies that had no update of their own to send "
               "but waited for one another operation had sent (it may carry the entries they depend on) to be "
               "acknowledged by every copy."),
    OS_HIST("shadow.sync_latency", shadow_sync_latency,
            "Walk placement shadow: from sending an update to the last copy's acknowledgement."),
    OS_LEVEL("frames.pinned", frames_pinned, "frames", "Pinned frames at the end of the run."),
    OS_LEVEL("frames.pinned_peak", frames_pinned_peak, "frames", "Most frames pinned at once."),
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
    OS_COUNTER("io.static", io_static, "count",
               "Schemes pin and iommu-map: I/Os entirely inside a static_dma region (a ring), which need no "
               "per-I/O driver work."),
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
    {"fault_profile", SCIM_P_ENUM, "sva", NULL, false, 0, 0, scim_os_fault_profile_names,
     offsetof(scim_os_params, fault_profile),
     "Preset of the fault-path costs from published measurements (docs/defaults.md, \"Fault profiles\"): sva (a "
     "software SVA minor fault on a CPU host), odp (a NIC's on-demand paging fault), uvm (a GPU's far fault, "
     "batched), swap (sva, the page read back from swap). Keys given explicitly override the profile.",
     NULL},
    OS_TIME("iopf.wakeup", iopf_wakeup, "4us",
            "Interrupt (MSI) delivery and waking a sleeping fault handler thread; groups that arrive while a "
            "handler is awake need none (interrupt coalescing).",
            "derived: C1 exit 2 us (Linux intel_idle.c, skx_cstates) + two thread wake-ups of ~1 us (the PRQ's "
            "threaded IRQ, then the iopf kworker; assumption)"),
    OS_TIME("iopf_cost", iopf_cost, "2us",
            "Fixed CPU time of a batch of page request groups: reading the queue, taking the address space's lock, "
            "finding the regions, answering.",
            "iopf_handle_group() averages 2.0 us (S. Lu, \"vfio: IOPF support\" v2 cover letter, 2021)"),
    OS_TIME("iopf_page_cost", iopf_page_cost, "600ns",
            "CPU time per page a fault maps (allocate a frame, set the PTE), zeroing not included: a new frame is "
            "zeroed by a 4 KiB write at the memory controller.",
            "derived: a minor fault takes ~1.0 us median (0.58 us minimum); without zeroing (0.28-0.45 us, "
            "A. Arora clear_huge_page series, 2023) ~0.6 us"),
    {"iopf.zero_pages", SCIM_P_BOOL, "true", NULL, false, 0, 0, NULL, offsetof(scim_os_params, iopf_zero),
     "Zero each new frame an I/O fault maps (a 4 KiB write at the memory controller), before mapping it (the "
     "page is in transition meanwhile: other faults on it wait).",
     "Linux maps anonymous pages zeroed (clear_page)"},
    {"fault_batch", SCIM_P_U64, "1", "groups", true, 1, 65536, NULL, offsetof(scim_os_params, fault_batch),
     "Page request groups a handler takes from the queue per batch (one os.iopf_cost each batch).",
     "Linux io-pgfault handles one group per work item; NVIDIA UVM batches 256 (UVM_PERF_FAULT_BATCH_COUNT_DEFAULT)"},
    {"fault_handlers", SCIM_P_U64, "1", "threads", true, 1, 4096, NULL, offsetof(scim_os_params, fault_handlers),
     "Fault handler threads working at once (each sleeps when the queue is empty).", "assumption"},
    {"prefault_sync", SCIM_P_BOOL, "false", NULL, false, 0, 0, NULL, offsetof(scim_os_params, prefault_sync),
     "Map a group's prefault pages before answering it (else after: the faulting DMA does not wait for them).",
     NULL},
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
    OS_TIME("pin.lookup_cost", pin_lookup_cost, "50ns",
            "Scheme pin with a registration cache: CPU time of the user-space lookup each I/O makes before "
            "posting (a hit costs only this; a miss adds the system call and the pinning).",
            "UCX UCP_RCACHE_OVERHEAD_DEFAULT = 50e-9 s, its registration-cache lookup cost (src/ucp/core/"
            "ucp_mm.h; older UCX releases used 90 ns and 180 ns)"),
    {"driver.queues", SCIM_P_U64, "8", "contexts", true, 1, 4096, NULL, offsetof(scim_os_params, driver_queues),
     "Schemes pin and iommu-map: driver contexts (queues, each on its own CPU) per device, working in "
     "parallel; the I/O of a device's request slot s goes to context s mod queues, which prepares and "
     "releases its I/Os one at a time.",
     "Linux DEFAULT_MAX_NUM_RSS_QUEUES = 8, the default queue count of multiqueue NIC drivers "
     "(netif_get_num_default_rss_queues = min(8, CPUs) until 2022, then physical cores / 2; mlx5 opens one "
     "channel per core, up to 128)"},
    OS_TIME("iommu_map_page_cost", iommu_map_page_cost, "3ns",
            "Scheme iommu-map: CPU time per page to map a buffer into a device's I/O address space (dma_map: "
            "the I/O page-table entries), besides the IOVA allocation.",
            "derived: dma_map_benchmark on Arm SMMUv3, 1 thread: 0.1 us for 4 KiB, 0.8 us for 1 MiB, so "
            "(0.8 - 0.1) / 255 = 2.7 ns per further page (M. Saleh, iommu: debug_pagealloc cover letter, 2025)"),
    OS_TIME("iommu_unmap_page_cost", iommu_unmap_page_cost, "80ns",
            "Scheme iommu-map: CPU time per page to unmap (dma_unmap), besides the IOVA free and the "
            "invalidation (a shootdown round).",
            "derived: the same benchmark, strict unmap 0.6 us for 4 KiB and 21.2 us for 1 MiB: (21.2 - 0.6) / "
            "255 = 81 ns per further page; it includes SMMUv3's per-page TLB invalidation commands, so it is an "
            "upper bound for the entry clear"),
    {"iommu_map.mode", SCIM_P_ENUM, "strict", NULL, false, 0, 0, iommu_map_modes,
     offsetof(scim_os_params, iommu_map_mode),
     "Scheme iommu-map: strict (every unmap invalidates the IOTLB and device TLBs and waits) or deferred "
     "(Linux's flush queue: unmapped pages queue per driver context; one flush for many; the stale window is "
     "measured).",
     "a choice: strict is the safe reference; Linux defaults to deferred (lazy) on x86, strict on arm64 "
     "(drivers/iommu/Kconfig IOMMU_DEFAULT_DMA_LAZY)"},
    {"iommu_map.flush_entries", SCIM_P_U64, "256", "entries", true, 1, 1e9, NULL,
     offsetof(scim_os_params, flush_entries),
     "Scheme iommu-map, deferred: size of each driver context's flush queue, in entries (one per unmap "
     "call, whatever its pages); the unmap that fills it flushes the whole I/O address space (every "
     "context's pages) and waits for the flush.",
     "Linux drivers/iommu/dma-iommu.c IOVA_DEFAULT_FQ_SIZE = 256 entries per CPU (the 250 of the 2008 "
     "intel-iommu HIGH_WATER_MARK is gone)"},
    OS_TIME("iommu_map.flush_interval", flush_interval, "10ms",
            "Scheme iommu-map, deferred: or this long after the first entry queued since the last flush.",
            "Linux drivers/iommu/dma-iommu.c IOVA_DEFAULT_FQ_TIMEOUT = 10 ms"),
    OS_TIME("iommu_map.iova_alloc_cost", iova_alloc_cost, "100ns",
            "Scheme iommu-map: CPU time to allocate the I/O virtual address range of one map call (once per I/O, "
            "whatever its pages).",
            "derived: dma_map_benchmark on Arm SMMUv3 maps 4 KiB in 0.1 us in all (M. Saleh, 2025), of which "
            "~3 ns is the page's entry: the rest is the IOVA allocation (per-CPU rcache, drivers/iommu/iova.c) "
            "and the call"),
    OS_TIME("iommu_map.iova_free_cost", iova_free_cost, "100ns",
            "Scheme iommu-map: CPU time to free the I/O virtual address range of one unmap call (once per I/O).",
            "assumption: symmetric with the allocation (a per-CPU magazine push against a pop, iova.c); no "
            "separate published figure"),
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
    {"levels", SCIM_P_U64, "0", "levels", true, 0, 5, NULL, offsetof(scim_process_params, levels),
     "Paging levels of the process's page tables, one of system.isa's formats: x86-64 4 (48-bit VA) or 5 "
     "(57-bit VA); armv8 3 (va39) or 4 (va48); riscv 3, 4 or 5 (Sv39, Sv48, Sv57). 0: system.paging.",
     "Intel SDM Vol. 3A 4.5; Arm ARM D8.2; RISC-V Privileged 10.4-10.6"},
    {"vm", SCIM_P_STRING, "", NULL, false, 0, 0, NULL, offsetof(scim_process_params, vm),
     "The VM (vms.<name>) the process runs in: its page tables hold guest-physical addresses from the VM's "
     "memory, and every walk of them goes through the hypervisor's stage 2. Empty: the host.",
     NULL},
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
    {"static_dma", SCIM_P_BOOL, "false", NULL, false, 0, 0, NULL, offsetof(scim_region_params, static_dma),
     "Schemes pin and iommu-map: the driver makes the region DMA-able once, when it binds a device of the "
     "process, as drivers do for descriptor and completion rings (pin: pinned, the device holds its pages' "
     "physical addresses; iommu-map: mapped at IOVA = VA, read-write); DMAs entirely inside it need no "
     "per-I/O preparation or release. Needs populate: true. No effect under scheme scimitar.",
     NULL},
};
const size_t scim_region_param_decl_count = SCIM_COUNT_OF(scim_region_param_decls);

void *os_grow(void *v, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return v;
    size_t nc = *cap ? *cap : first;
    while (nc < need)
        nc *= 2;
    unsigned char *n = realloc(v, nc * size);
    if (!n)
        return NULL;
    memset(n + *cap * size, 0, (nc - *cap) * size);
    *cap = nc;
    return n;
}

void os_spend(scim_os *os, scim_time_t cost, scim_event_fn fn, void *ctx, uint64_t arg)
{
    os->st.busy_ps += cost;
    scim_kernel_schedule(os->k, cost, SCIM_PRIO_DEFAULT, fn, ctx, arg);
}

void *os_grow_or_fail(scim_os *os, void *v, size_t *cap, size_t need, size_t size, size_t first)
{
    void *n = os_grow(v, cap, need, size, first);
    if (!n)
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
    return n;
}

scim_msg *os_msg(scim_os *os, scim_msg_type type, scim_node_id dst) { return scim_port_msg(os->port, type, dst); }

/* ---------- message dispatch ---------- */

/* What the OS is asked, by message type. */
static void (*const handlers[SCIM_MSG_TYPE_COUNT])(scim_os *os, scim_msg *m) = {
    [SCIM_MSG_PRI_REQ] = os_on_pri_req,   /* an I/O page fault, via the IOMMU */
    [SCIM_MSG_OS_REQ] = os_on_os_req,     /* an OS operation, CPU fault, backup copy or driver I/O */
    [SCIM_MSG_XLAT_IRQ] = os_on_sw_walk,  /* walk placement software */
    [SCIM_MSG_DEV_FAIL] = os_on_dev_fail, /* the IOMMU gave up on a device's invalidation */
};

static void on_request(void *ctx, scim_msg *m)
{
    scim_os *os = ctx;
    if (m->type < SCIM_MSG_TYPE_COUNT && handlers[m->type]) {
        handlers[m->type](os, m);
        return;
    }
    scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected %s", scim_msg_type_name(m->type));
    scim_port_free(os->port, m);
}

/* Answers to the OS's own requests: shootdown acknowledgements (from
 * cores, and from the IOMMU or devices) and shadow-copy updates. */
static void on_response(void *ctx, scim_msg *m)
{
    scim_os *os = ctx;
    switch (OSR_KIND(m->tag)) {
    case OSR_SYNC: os_on_sync_ack(os, m); break;
    case OSR_ZERO: os_iopf_zeroed(os, m); break;
    case OSR_RESET: os_on_reset_done(os, m); break;
    default: os_on_inv_done(os, m); break;
    }
}

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
    scim_os *os = malloc(sizeof *os);
    if (!os) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the OS");
        return NULL;
    }
    *os = (scim_os){.k = k, .pm = pm, .p = *p, .iommu = SCIM_NODE_NONE, .mem = SCIM_NODE_NONE};
    scim_u64map_init(&os->pins);
    scim_u64map_init(&os->vm_frames);
    scim_u64map_init(&os->orphans);
    if (os_swap_init(os, err) != 0 || os_iopf_init(os, err) != 0)
        goto fail;
    os->ctxf = scim_ctx_format_of(p->isa);
    scim_ctx_mem cm = os_ctx_mem(os);
    if (os->ctxf->create(&cm, &os->ctx, err) != 0)
        goto fail;
    if (!(os->port = scim_port_create(f, name, on_request, on_response, os, stats, err)))
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
        process *p = &os->procs[i];
        scim_pgtable_destroy(p->pt);
        free(p->regions);
        scim_u64map_free(&p->swapped);
        scim_u64map_foreach(&p->busy, free_busy, NULL);
        scim_u64map_free(&p->busy);
        scim_u64map_free(&p->queued);
        scim_u64map_free(&p->pinned_at);
        free(p->cookie);
        free(p->sync);
        free(p->static_dma);
    }
    free(os->procs);
    while (os->live)
        os_job_free(os, os->live);
    for (size_t i = 0; i < os->n_ops; i++) {
        os_frame_list_free(&os->ops[i].data);
        os_frame_list_free(&os->ops[i].tables);
        free(os->ops[i].pages);
    }
    free(os->ops);
    free(os->lru);
    for (size_t i = 0; i < os->n_lru_pos; i++)
        free(os->lru_pos[i]);
    free(os->lru_pos);
    scim_u64map_free(&os->pins);
    scim_u64map_free(&os->orphans);
    os_swap_free(os);
    os_hyp_free(os);
    os_host_free(os);
    os_devfail_free(os);
    free(os->cpus);
    free(os->devs);
    free(os->shadows);
    for (size_t i = 0; i < os->n_syncs; i++)
        free(os->syncs[i].pairs);
    free(os->syncs);
    scim_port_destroy(os->port);
    free(os->handlers);
    free(os);
}

scim_node_id scim_os_node(const scim_os *os) { return scim_port_node(os->port); }
const scim_ctx_format *scim_os_context_format(const scim_os *os) { return os->ctxf; }
uint64_t scim_os_context_root(const scim_os *os) { return os->ctx.root; }
void scim_os_set_iommu(scim_os *os, scim_node_id iommu) { os->iommu = iommu; }
void scim_os_set_memory(scim_os *os, scim_node_id mem) { os->mem = mem; }
void scim_os_set_checker(scim_os *os, const scim_observer *c) { os->checker = c; }

void scim_os_set_io_driver(scim_os *os, const scim_os_io_driver *ops, void *ctx)
{
    os->io_ops = ops;
    os->io_ctx = ctx;
}

/* ---------- who caches translations of a PASID ---------- */

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

int scim_os_attach_device(scim_os *os, scim_node_id dev, scim_err *err)
{
    scim_ctx_mem cm = os_ctx_mem(os);
    return os->ctxf->bind_device(&cm, &os->ctx, (uint32_t)dev, err);
}

int scim_os_bind_device(scim_os *os, scim_node_id dev, uint32_t pasid, scim_err *err)
{
    int rc = scim_os_attach_device(os, dev, err);
    return rc ? rc : bind(&os->devs, &os->n_devs, dev, pasid, err);
}

int scim_os_bind_shadow(scim_os *os, scim_node_id dev, uint32_t pasid, scim_err *err)
{
    return bind(&os->shadows, &os->n_shadows, dev, pasid, err);
}

const scim_port *scim_os_port(const scim_os *os) { return os->port; }

/* ---------- the state, for the watchdog ---------- */

static size_t queued(const job_queue *q)
{
    size_t n = 0;
    for (const fault_job *j = q->head; j; j = j->next)
        n++;
    return n;
}

void scim_os_describe(const scim_os *os, char *buf, size_t len)
{
    uint64_t groups = os->host_fd.fq_len;
    size_t busy = 0, waking = 0, updates = 0, waits = 0, rounds = 0;
    for (size_t h = 0; h < os->n_handlers; h++) {
        busy += os->handlers[h].state == HANDLER_BUSY;
        waking += os->handlers[h].state == HANDLER_WAKING;
    }
    for (size_t i = 0; i < os->n_syncs; i++) {
        updates += os->syncs[i].used && os->syncs[i].pending;
        waits += os->syncs[i].used && !os->syncs[i].pending;
    }
    for (size_t i = 0; i < os->n_ops; i++)
        rounds += os->ops[i].used;
    snprintf(buf, len,
             "OS: %llu fault group(s) queued at the host, %zu of %zu fault handler(s) busy and %zu waking, %zu fault(s) "
             "waiting for a free frame, %zu software walk(s) queued, %zu shootdown(s) in progress, %zu shadow "
             "update(s) unacknowledged and %zu operation(s) waiting for them, %zu swap operation(s) queued and "
             "%llu in service",
             (unsigned long long)groups, busy, os->n_handlers, waking, queued(&os->fw), queued(&os->irq_q), rounds,
             updates, waits, scim_fifo_len(&os->swapq), (unsigned long long)os->swap_busy);
}

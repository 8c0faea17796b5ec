/* Device core: life cycle, tables, port dispatch, and a chunk's life from
 * the replay engine to memory. Modelling notes in device/device.h; the
 * parts are listed in device/device_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "core/rng.h"
#include "device/device_internal.h"

#define DEV_COUNTER(name, field, desc) {name, SCIM_STAT_COUNTER, "count", desc, offsetof(device_stats, field)}

const scim_stat_decl scim_device_stat_decls[] = {
    {"translation.latency", SCIM_STAT_HIST, "ps",
     "From a chunk's first TLB lookup to its physical address being known (hits: the lookup latency).",
     offsetof(device_stats, translation_latency)},
    DEV_COUNTER("xlat.requests", xlat_requests,
                "Translations asked for misses: one per page missed while no translation of it was out (an ATS "
                "request, an own walk or an interrupt, by walk placement); the IOTLB's misses minus "
                "iotlb.miss_merged, minus misses that joined a page request group."),
    DEV_COUNTER("xlat.rerequests", xlat_rerequests,
                "Translations asked again after their page request group was answered (PCIe PRI: the device "
                "translates again)."),
    DEV_COUNTER("iotlb.miss_merged", xlat_merged,
                "IOTLB misses that found a translation of the same page already out and waited for it (counted in "
                "iotlb.misses too)."),
    DEV_COUNTER("xlat.prefetches", xlat_prefetches, "Translations requested ahead of need (iotlb.prefetch)."),
    DEV_COUNTER("faults", faults, "I/O page faults: translations that came back not present (or without the write right)."),
    {"fault.latency", SCIM_STAT_HIST, "ps", "From sending a page request to receiving its response.",
     offsetof(device_stats, fault_latency)},
    DEV_COUNTER("pri.groups", pri_groups,
                "Page request groups sent (one Page Group Response each; re-sends after a queue overflow included)."),
    DEV_COUNTER("pri.requests", pri_requests,
                "Page requests sent: one per page of each group, prefault pages included (PCIe Page Request "
                "Messages)."),
    DEV_COUNTER("pri.joined", pri_joined,
                "Translations that waited for a group another translation led, because the group covered their "
                "page."),
    DEV_COUNTER("pri.allocation_waits", pri_alloc_waits,
                "Page request groups that waited because the PRI allocation was used up."),
    {"pri.outstanding_max", SCIM_STAT_COUNTER, "requests",
     "Most page requests out at once (never more than pri.allocation).", offsetof(device_stats, pri_outstanding_max)},
    DEV_COUNTER("pri.timeouts", pri_timeouts,
                "Page request groups whose response did not come within pri.timeout; the device translated again "
                "(and asked again if the pages were still missing)."),
    DEV_COUNTER("inv.lost", inv_lost, "Invalidation completions the device sent that were lost (fault injection)."),
    DEV_COUNTER("resets", resets,
                "Function level resets the OS issued after an invalidation timed out (caches flushed; every "
                "later DMA fails)."),
    {"failed", SCIM_STAT_COUNTER, "bool", "1 if the device was reset and takes no more DMAs.",
     offsetof(device_stats, failed)},
    DEV_COUNTER("pri.auto_responses", pri_auto, "Page responses the IOMMU generated itself because its queue was full."),
    DEV_COUNTER("pri.failed", pri_failed, "Page requests answered Invalid or Failure."),
    DEV_COUNTER("retries", retries, "fault_policy retry: NACKed requests retried."),
    DEV_COUNTER("drops", drops, "fault_policy drop: requests lost and resent by the source."),
    DEV_COUNTER("backup.writes", backup_writes, "fault_policy backup: writes redirected to the backup buffer."),
    DEV_COUNTER("backup.full", backup_full, "fault_policy backup: writes that stalled because every slot was taken."),
    DEV_COUNTER("invalidations", invalidations, "Invalidation requests processed (ATS or snooped)."),
    DEV_COUNTER("inv.entries", inv_entries, "TLB entries removed by invalidations."),
    {"inv.latency", SCIM_STAT_HIST, "ps",
     "From an invalidation request's arrival to its completion being sent (queueing and drain included).",
     offsetof(device_stats, inv_latency)},
    DEV_COUNTER("shadow.syncs", shadow_syncs, "walk shadow: page-table updates applied to the copy."),
    DEV_COUNTER("desc.reads", desc_reads,
                "scheme pin: descriptor reads (one physical address per page, written by the driver)."),
    DEV_COUNTER("exposed_dmas", exposed_dmas,
                "scheme iommu-map, deferred: page-sized DMA accesses (chunks) issued while some unmapped page of "
                "the device's I/O address space could still be in an IOTLB (each could have used a stale "
                "translation)."),
};
const size_t scim_device_stat_decl_count = SCIM_COUNT_OF(scim_device_stat_decls);

const char *const scim_walk_placement_names[] = {"iommu", "device", "software", "shadow", NULL};
const char *const scim_fault_policy_names[] = {"stall", "retry", "drop", "backup", NULL};
const char *const scim_device_source_names[] = {"trace", "host", NULL};

const scim_param_decl scim_device_param_decls[] = {
    {"source", SCIM_P_ENUM, "trace", NULL, false, 0, 0, scim_device_source_names,
     offsetof(scim_device_params, source),
     "Where the device's DMAs come from: trace (the trace file below) or host (a program linking the library "
     "submits them with scim_dev_submit; docs/embedding.md).",
     NULL},
    {"trace", SCIM_P_STRING, "", NULL, false, 0, 0, NULL, offsetof(scim_device_params, trace),
     "DMA trace to replay (text or binary, optionally gzipped; docs/traces.md); required with source: trace, "
     "not allowed with source: host. A relative path is relative to the configuration file.",
     NULL},
    {"pasid", SCIM_P_U64, NULL, NULL, true, 1, 1048575, NULL, offsetof(scim_device_params, pasid),
     "Address space the device works in: the PASID of one of the processes.", NULL},
    {"vm", SCIM_P_STRING, "", NULL, false, 0, 0, NULL, offsetof(scim_device_params, vm),
     "The VM (vms.<name>) the device is assigned to (VFIO passthrough); its pasid and tenants must be processes "
     "of that VM, whose walks are two-dimensional (stage 1 of the guest, stage 2 of the hypervisor). Empty: the "
     "host.",
     NULL},
    {"tenants", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(scim_device_params, tenants_node),
     "Further PASIDs the device serves (a list, e.g. [2, 3, 4]): its trace may name them with pasid=, and "
     "shootdowns of those address spaces reach it. Scheme scimitar with walk iommu or software only.",
     NULL},
    {"max_outstanding", SCIM_P_U64, "32", "requests", true, 1, 65536, NULL,
     offsetof(scim_device_params, max_outstanding),
     "Page-sized DMA pieces the device keeps in flight at most.",
     "assumption (order of a NIC DMA engine's outstanding reads)"},
    {"clock", SCIM_P_FREQ, "1GHz", "Hz", true, 1e6, 1e12, NULL, offsetof(scim_device_params, clock_hz),
     "Clock of the device core; IOTLB latency is counted in its cycles.", "assumption"},
    SCIM_TLB_KEY_DECLS("iotlb.", scim_device_params, iotlb, "device IOTLB (ATS translation cache)", "32",
                       "32", "lru", "4K+2M", "1",
                       "gem5 SMMUv3 TBU micro-TLB: 32 entries; fully associative: assumption", "assumption"),
    SCIM_TLB_KEY_DECLS("utlb.", scim_device_params, utlb, "device micro-TLB (in front of the IOTLB)", "0", "1",
                       "lru", "4K+2M", "1", "disabled by default; gem5's SMMUv3 TBU pairs a 32-entry micro-TLB with "
                       "a 2048-entry main TLB", "assumption"),
    {"iotlb.prefetch", SCIM_P_U64, "0", "pages", true, 0, 64, NULL, offsetof(scim_device_params, prefetch),
     "On an IOTLB miss, also request the translations of the next N pages (not-present ones are dropped).",
     NULL},
    {"ats", SCIM_P_BOOL, "true", NULL, false, 0, 0, NULL, offsetof(scim_device_params, ats),
     "Whether the device has an address translation cache (PCIe ATS). true: it translates through its own "
     "IOTLB and the walk placement, and takes part in device-TLB invalidations. false: it has no IOTLB of its "
     "own; every DMA goes to the IOMMU with its untranslated address and the IOMMU translates it inline "
     "(IOTLB, walk on a miss) and performs it at memory; no device-TLB invalidation ever reaches it. Under "
     "scheme scimitar a not-present page stalls the DMA in the IOMMU, which sends the page request itself "
     "(Arm SMMUv3 stall model). false needs walk: iommu, fault_policy: stall and no prefault, prefetch or "
     "micro-TLB.",
     "a choice: true is the ATS device of scheme scimitar; NICs of the pin and iommu-map baselines commonly "
     "have no ATC (ats: false)"},
    {"walk", SCIM_P_ENUM, "iommu", NULL, false, 0, 0, scim_walk_placement_names, offsetof(scim_device_params, walk),
     "Who walks the page tables on an IOTLB miss: iommu (ATS request; the IOMMU walks near memory), device "
     "(the device's walker reads each entry across the fabric), software (an interrupt; an OS handler walks "
     "and answers), shadow (the device walks a synchronized copy in its own memory).",
     NULL},
    {"walkers", SCIM_P_U64, "2", "walkers", true, 1, 64, NULL, offsetof(scim_device_params, walkers),
     "walk device/shadow: page walks the device performs at once.", "assumption"},
    {"walk_queue", SCIM_P_U64, "32", "walks", true, 0, 1e9, NULL, offsetof(scim_device_params, walk_queue),
     "walk device/shadow: walks that may wait for a free walker (further misses wait in the device until a "
     "walk ends). 0: unbounded.",
     "derived: one walk per outstanding translation, and max_outstanding is 32 by default"},
    {"pwc.entries", SCIM_P_U64, "0", "entries", true, 0, 65536, NULL, offsetof(scim_device_params, pwc_entries),
     "walk device/shadow: entries of each paging-structure cache of the device's walker (0: none).", NULL},
    {"pwc.latency", SCIM_P_U64, "1", "cycles", true, 0, 1000, NULL, offsetof(scim_device_params, pwc_latency),
     "walk device/shadow: lookup latency of those caches.", "assumption"},
    {"shadow.latency", SCIM_P_TIME, "50ns", "ns", false, 0, 0, NULL, offsetof(scim_device_params, shadow_latency),
     "walk shadow: time to read one entry of the copy in device-local memory.",
     "assumption: on-package DRAM or SRAM"},
    {"fault_policy", SCIM_P_ENUM, "stall", NULL, false, 0, 0, scim_fault_policy_names,
     offsetof(scim_device_params, fault_policy),
     "Reaction to a not-present page: stall (wait for the page request's answer), retry (NACK, retry after "
     "retry_backoff), drop (the request is lost, the source resends after drop_timeout), backup (a write lands "
     "in the pinned backup buffer and a CPU copies it once the page is mapped; reads stall).",
     NULL},
    {"pri.group_pages", SCIM_P_U64, "0", "pages", true, 0, 1e9, NULL, offsetof(scim_device_params, pri_group_pages),
     "Most pages of a DMA that one page request group asks for, from the faulting page on (0: the rest of the "
     "DMA).",
     "PCIe PRI: a Page Request Group is any number of page requests closed by one with Last set"},
    {"pri.allocation", SCIM_P_U64, "2048", "requests", true, 1, 1e9, NULL,
     offsetof(scim_device_params, pri_allocation),
     "Outstanding Page Request Allocation the OS grants the device (PRI capability): page requests out at once, "
     "at most; a group that does not fit waits for responses. At most iommu.prq_depth (a larger group could "
     "never be queued).",
     "Linux drivers/iommu/intel: pci_enable_pri(pdev, PRQ_DEPTH), PRQ_DEPTH = 2048 (AMD-Vi grants 32)"},
    {"pri.timeout", SCIM_P_TIME, "0", "ns", false, 0, 0, NULL, offsetof(scim_device_params, pri_timeout),
     "A page group response not received this long after the group was sent is given up: the device translates "
     "the pages again, and asks again for those still missing (a late response is dropped). 0: wait forever.",
     "PCIe PRI defines no response timeout (device-specific); 0 models a device without one"},
    {"prefault", SCIM_P_U64, "0", "pages", true, 0, 511, NULL, offsetof(scim_device_params, prefault),
     "Pages after the faulting DMA's that each page request group also asks the OS to map (prefault); the OS "
     "maps them after answering the group unless os.prefault_sync is set, and charges only those it maps.",
     NULL},
    {"retry_backoff", SCIM_P_TIME, "1us", "ns", false, 0, 0, NULL, offsetof(scim_device_params, retry_backoff),
     "fault_policy retry: time before a NACKed request tries again.", "assumption"},
    {"drop_timeout", SCIM_P_TIME, "100us", "ns", false, 0, 0, NULL, offsetof(scim_device_params, drop_timeout),
     "fault_policy drop: time after which the source resends a lost request.",
     "assumption: order of an RDMA/transport retransmission timeout"},
    {"backup_slots", SCIM_P_U64, "256", "slots", true, 1, 1048576, NULL, offsetof(scim_device_params, backup_slots),
     "fault_policy backup: 4 KiB slots of the pinned backup buffer (a full buffer makes writes stall).",
     "assumption: 1 MiB"},
    {"inv_queue", SCIM_P_U64, "32", "requests", true, 0, 1e9, NULL, offsetof(scim_device_params, inv_queue),
     "Invalidation requests the device holds at once (queued or being processed); further ones wait at the "
     "IOMMU (or, broadcast, at the OS) for a place. 0: unbounded.",
     "PCIe Base Specification, ATS Capability register: Invalidate Queue Depth, where 0 encodes 32 "
     "(the bundled configurations peak at 31)"},
    {"reset_latency", SCIM_P_TIME, "100ms", "ns", false, 0, 0, NULL, offsetof(scim_device_params, reset_latency),
     "Time a function level reset takes (after an invalidation timed out) before the device confirms it; its "
     "accesses in flight must have drained too.",
     "PCIe Base Specification: after initiating a Function Level Reset, software waits 100 ms before it may "
     "assume the reset complete"},
    {"inv_latency", SCIM_P_TIME, "3us", "ns", false, 0, 0, NULL, offsetof(scim_device_params, inv_latency),
     "Time the device takes to process one invalidation request (single entry or full flush alike).",
     "derived: Vesely et al. ISPASS'16 measured 4.2 us per device-TLB invalidation (secondary), minus "
     "~1.2 us of messaging with the default links"},
    {"snoop_latency", SCIM_P_TIME, "100ns", "ns", false, 0, 0, NULL, offsetof(scim_device_params, snoop_latency),
     "Broadcast protocol: time to apply a snooped invalidation (one at a time, no ATS round trip).",
     "assumption"},
    {"link.latency", SCIM_P_TIME, "400ns", "ns", false, 0, 0, NULL, offsetof(scim_device_params, link_latency),
     "Default topology only: one-way latency of the device's link to the IOMMU (root complex).",
     "derived: ~1 us small-DMA PCIe round trip (pcie-bench via Neugebauer SIGCOMM'18, secondary) = "
     "2 x 400 ns + DRAM + serialisation"},
    {"link.bandwidth", SCIM_P_BANDWIDTH, "32GB/s", "B/s", false, 0, 0, NULL,
     offsetof(scim_device_params, link_bandwidth),
     "Default topology only: bandwidth of that link, per direction.", "PCIe Gen4 x16 (PCIe 4.0 specification)"},
};
const size_t scim_device_param_decl_count = SCIM_COUNT_OF(scim_device_param_decls);

void scim_dev_chunk_complete(scim_device *d, int32_t ci, bool error)
{
    chunk *c = &d->chunks[ci];
    if (c->blocks_inv) {
        c->blocks_inv = false;
        scim_dev_inv_access_done(d, ci);
    }
    c->state = CH_FREE;
    scim_replay_chunk_done(d->replay, (uint32_t)ci, error);
}

void scim_dev_to_memory(scim_device *d, int32_t ci, uint64_t pa, unsigned shift)
{
    chunk *c = &d->chunks[ci];
    const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
    scim_hist_record(d->st.translation_latency, scim_kernel_time(d->k) - c->t_start);
    if (scim_dev_failed(d)) {
        scim_dev_chunk_complete(d, ci, true); /* reset: no access leaves the device any more */
        return;
    }
    if (d->ev)
        scim_dev_host_record_pa(d, ci, pa);
    if (rc->translate_only) {
        /* the host asked for the translation only: it does the access */
        scim_dev_chunk_complete(d, ci, false);
        return;
    }
    bool physical = d->drv_ops && d->drv_ops->descriptor;
    if (physical ? !scim_obs_physical_begin(d->checker, d->name, pa, rc->len)
                 : !scim_obs_access_begin(d->checker, d->name, c->space, rc->va, pa, rc->len))
        return;
    if (d->drv_ops && d->drv_ops->exposed && d->drv_ops->exposed(d->drv, c->space))
        d->st.exposed_dmas++;
    c->pa = pa;
    c->shift = (uint8_t)shift;
    c->state = CH_MEM;
    if (d->fast_ok && !d->ev && scim_dev_fast_access(d, ci, rc, d->in_lookup == ci ? c->sched : SCIM_TIME_MAX))
        return;
    scim_msg *m = scim_port_msg(d->port, rc->write ? SCIM_MSG_MEM_WRITE : SCIM_MSG_MEM_READ, d->mem);
    if (!m)
        return;
    c->msg = m;
    c->sent = d->mem_sent++;
    d->slow_mem++;
    m->u.mem = (scim_mem_req){.pa = pa, .len = rc->len};
    m->wire_bytes = scim_port_wire(d->port, rc->write ? rc->len : 0);
    scim_port_request(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_CHUNK, ci), m);
}

void scim_dev_cache_translation(scim_device *d, uint32_t pasid, uint64_t va, uint64_t page_pa, unsigned shift,
                                unsigned perms)
{
    scim_tlb_entry e = {.pasid = pasid, .page_shift = (uint8_t)shift, .perms = (uint8_t)perms,
                        .vpn = va >> shift, .pfn = scim_pfn(page_pa), .aux = 0};
    scim_tlb_insert(d->iotlb, &e, NULL);
    if (d->utlb)
        scim_tlb_insert(d->utlb, &e, NULL);
}

/* A lookup event (counted: the fast path needs to know every pending
 * event is the device's). A lookup takes a fixed time, so lookups of
 * one TLB complete in the order they began: an event FIFO (core/kfifo.h). */
static void schedule_lookup(scim_device *d, int32_t ci, int fifo, scim_time_t after)
{
    scim_time_t now = scim_kernel_time(d->k);
    d->chunks[ci].sched = now;
    if (d->defer_lookups && fifo == d->iotlb_fifo) {
        scim_dev_defer_lookup(d, ci, now + after);
        return;
    }
    d->n_lookups++;
    /* often the run's next event (the lookup after a translation came
     * back): held, run at once when it is (core/kfifo.h) */
    scim_kernel_fifo_at_next(d->k, fifo, now + after, SCIM_PRIO_DEFAULT, (uint64_t)ci);
}

static void iotlb_done(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    int32_t ci = (int32_t)arg;
    d->n_lookups--;
    d->in_lookup = ci;
    scim_dev_iotlb_lookup(d, ci);
    d->in_lookup = NONE;
}

void scim_dev_iotlb_lookup(scim_device *d, int32_t ci)
{
    const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
    scim_tlb_entry e;
    if (scim_dev_failed(d)) {
        scim_dev_chunk_complete(d, ci, true);
        return;
    }
    if (scim_tlb_lookup(d->iotlb, d->chunks[ci].space, rc->va, &e) == 1 && scim_dev_usable(e.perms, rc->write)) {
        if (d->utlb)
            scim_tlb_insert(d->utlb, &e, NULL);
        scim_dev_to_memory(d, ci, scim_pfn_addr(e.pfn) + scim_page_offset(rc->va, e.page_shift), e.page_shift);
        return;
    }
    scim_dev_need_translation(d, ci);
}

static void utlb_done(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    int32_t ci = (int32_t)arg;
    const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
    scim_tlb_entry e;
    d->n_lookups--;
    if (scim_tlb_lookup(d->utlb, d->chunks[ci].space, rc->va, &e) == 1 && scim_dev_usable(e.perms, rc->write)) {
        d->in_lookup = ci;
        scim_dev_to_memory(d, ci, scim_pfn_addr(e.pfn) + scim_page_offset(rc->va, e.page_shift), e.page_shift);
        d->in_lookup = NONE;
        return;
    }
    schedule_lookup(d, ci, d->iotlb_fifo, d->iotlb_time);
}

/* The driver wrote the page's physical address in the request's
 * descriptor list (scheme pin): read it instead of translating. */
static void read_descriptor(scim_device *d, uint32_t id)
{
    d->chunks[id].state = CH_DESC;
    scim_msg *m = scim_port_msg(d->port, SCIM_MSG_MEM_READ, d->mem);
    if (!m)
        return;
    uint64_t pa = d->drv_ops->descriptor(d->drv, scim_replay_request_of(d->replay, id),
                                         scim_replay_page_index(d->replay, id));
    m->u.mem = (scim_mem_req){.pa = pa, .len = sizeof(uint64_t), .value = true};
    d->st.desc_reads++;
    scim_port_request(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_DESC, id), m);
}

/* ats false: the DMA goes to the IOMMU by its untranslated address; the
 * IOMMU translates it and performs it at memory (iommu/inline.c). */
static void send_untranslated(scim_device *d, uint32_t id)
{
    chunk *c = &d->chunks[id];
    const scim_replay_chunk *rc = scim_dev_chunk_of(d, (int32_t)id);
    if (d->drv_ops && d->drv_ops->exposed && d->drv_ops->exposed(d->drv, c->space))
        d->st.exposed_dmas++;
    c->state = CH_INLINE;
    scim_msg *m = scim_port_msg(d->port, SCIM_MSG_DMA, d->iommu);
    if (!m)
        return;
    m->u.dma = (scim_dma_req){.pasid = c->space, .va = rc->va, .len = rc->len, .write = rc->write};
    m->wire_bytes = scim_port_wire(d->port, rc->write ? rc->len : 0);
    scim_port_request(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_CHUNK, id), m);
}

/* The replay engine hands the device a chunk (or a retried one comes back). */
static void start_chunk(void *owner, uint32_t id, const scim_replay_chunk *rc)
{
    scim_device *d = owner;
    chunk *c = &d->chunks[id];
    if (c->state != CH_RETRY)
        c->t_start = scim_kernel_time(d->k);
    c->next = NONE;
    c->space = d->drv_ops && d->drv_ops->space ? d->drv_ops->space(d->drv, rc->pasid) : rc->pasid;
    if (d->drv_ops && d->drv_ops->descriptor) {
        uint64_t pa;
        if (d->drv_ops->static_pa && d->drv_ops->static_pa(d->drv, rc->pasid, rc->va, &pa)) {
            scim_dev_to_memory(d, (int32_t)id, pa, SCIM_PAGE_SHIFT);
            return;
        }
        read_descriptor(d, id);
        return;
    }
    if (!d->p.ats) {
        send_untranslated(d, id);
        return;
    }
    c->state = CH_LOOKUP;
    if (d->utlb)
        schedule_lookup(d, (int32_t)id, d->utlb_fifo, d->utlb_time);
    else
        schedule_lookup(d, (int32_t)id, d->iotlb_fifo, d->iotlb_time);
}

void scim_dev_restart_chunk(scim_device *d, int32_t ci) { start_chunk(d, (uint32_t)ci, scim_dev_chunk_of(d, ci)); }

/* ---- OS calls ---- */

static void os_request(scim_device *d, scim_os_op op, uint32_t slot, const scim_os_req *req)
{
    scim_msg *m = scim_port_msg(d->port, SCIM_MSG_OS_REQ, d->os);
    if (!m)
        return;
    m->u.os = *req;
    m->u.os.op = op;
    m->u.os.slot = slot;
    m->wire_bytes = scim_port_wire(d->port, SCIM_OS_REQ_BYTES);
    scim_port_request(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_OS, OS_INDEX(op, slot)), m);
}

void scim_device_os_call(scim_device *d, scim_os_op op, uint32_t slot, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_os_req r = {.pasid = pasid, .addr = rec->addr, .len = rec->size, .write = rec->op == SCIM_OP_WRITE};
    os_request(d, op, slot, &r);
}

/* OS operations in the trace: the request goes to the OS as a syscall
 * would from the process that owns the device's address space. */
static void send_os_op(void *owner, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_device *d = owner;
    scim_os_req r = {.pasid = pasid, .addr = rec->addr, .len = rec->size, .rec = *rec};
    os_request(d, SCIM_OS_TRACE_OP, 0, &r);
}

void scim_dev_backup_written(scim_device *d, int32_t ci)
{
    /* the data is safe in the buffer: the DMA is done; a CPU copies it
     * once the page is mapped, then the slot is free again */
    const scim_replay_chunk *rc = scim_dev_chunk_of(d, ci);
    scim_os_req r = {.pasid = rc->pasid, .addr = rc->va, .len = rc->len};
    os_request(d, SCIM_OS_BACKUP, d->chunks[ci].slot, &r);
    scim_dev_chunk_complete(d, ci, false);
}

static void on_os_resp(scim_device *d, uint32_t index, int32_t status)
{
    scim_os_op op = (scim_os_op)(index >> 24);
    uint32_t slot = index & 0xffffff;
    if (op == SCIM_OS_BACKUP)
        d->free_backup[d->n_free_backup++] = slot;
    else if (op == SCIM_OS_TRACE_OP)
        scim_replay_os_done(d->replay, status != SCIM_RESP_OK);
    else if (d->drv_ops && d->drv_ops->os_done)
        d->drv_ops->os_done(d->drv, op, slot, status);
}

void scim_device_request_ready(scim_device *d, uint32_t req, bool error)
{
    scim_replay_request_ready(d->replay, req, error);
}

void scim_device_fail(scim_device *d, const char *what)
{
    scim_kernel_fail(d->k, SCIM_EINVARIANT, "device '%s': %s", d->name, what);
}

static bool request_begin(void *owner, uint32_t req, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_device *d = owner;
    if (d->ev)
        scim_dev_host_request_begin(d, req, rec);
    return !d->drv_ops || !d->drv_ops->request_begin || d->drv_ops->request_begin(d->drv, req, rec, pasid);
}

static void request_end(void *owner, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error)
{
    scim_device *d = owner;
    if (d->drv_ops && d->drv_ops->request_end)
        d->drv_ops->request_end(d->drv, req, rec, pasid, error);
    if (d->ev)
        scim_dev_host_request_end(d, req, rec, pasid, error);
}

/* The replay engine calls the two above only while they have something
 * to do: a driver's hook or the host's events. */
void scim_dev_update_request_hooks(scim_device *d)
{
    bool drv = d->drv_ops && (d->drv_ops->request_begin || d->drv_ops->request_end);
    scim_replay_set_request_hooks(d->replay, drv || d->ev);
}

/* ---- the port ---- */

static void on_response(void *ctx, scim_msg *m)
{
    scim_device *d = ctx;
    uint64_t id = m->tag;
    int32_t ci = (int32_t)RQ_INDEX(id);
    switch (RQ_KIND(id)) {
    case RQ_CHUNK: {
        int32_t status = m->status;
        scim_port_free(d->port, m);
        chunk *c = &d->chunks[ci];
        if (c->state == CH_INLINE) {
            /* the IOMMU performed it (and told the checker) */
            scim_dev_chunk_complete(d, ci, status != SCIM_RESP_OK);
            return;
        }
        if (c->state == CH_BACKUP) {
            scim_dev_backup_written(d, ci);
            return;
        }
        c->msg = NULL;
        d->slow_mem--;
        scim_obs_access_end(d->checker, c->pa);
        scim_dev_chunk_complete(d, ci, false);
        if (scim_fifo_len(&d->resets))
            scim_dev_reset_progress(d);
        return;
    }
    case RQ_DESC: {
        uint64_t pa = m->u.mem_resp.value + scim_page_offset(scim_dev_chunk_of(d, ci)->va, SCIM_PAGE_SHIFT);
        scim_port_free(d->port, m);
        scim_dev_to_memory(d, ci, pa, SCIM_PAGE_SHIFT);
        return;
    }
    case RQ_XLAT: {
        int32_t status = m->status;
        scim_xlat_resp r = m->u.xlat_resp;
        scim_port_free(d->port, m);
        scim_dev_xlat_result(d, ci, status, r.page_pa, r.shift, r.perms);
        return;
    }
    case RQ_PRI:
        scim_dev_pri_response(d, ci, m);
        return;
    case RQ_OS: {
        int32_t status = m->status;
        scim_port_free(d->port, m);
        on_os_resp(d, RQ_INDEX(id), status);
        return;
    }
    }
}

static void on_request(void *ctx, scim_msg *m)
{
    scim_device *d = ctx;
    switch (m->type) {
    case SCIM_MSG_INV_REQ:
        scim_dev_inv_request(d, m);
        return;
    case SCIM_MSG_SYNC:
        scim_dev_shadow_sync(d, m);
        return;
    case SCIM_MSG_RESET:
        scim_dev_reset(d, m);
        return;
    case SCIM_MSG_DOORBELL: {
        scim_doorbell b = m->u.doorbell;
        scim_port_free(d->port, m);
        if (d->drv_ops && d->drv_ops->doorbell && b.slot <= d->p.max_outstanding)
            d->drv_ops->doorbell(d->drv, b.slot, b.cookie, b.failed);
        else
            scim_kernel_fail(d->k, SCIM_EINVARIANT, "device '%s' got a doorbell it has no request for", d->name);
        return;
    }
    default:
        scim_kernel_fail(d->k, SCIM_EINVARIANT, "device '%s' got an unexpected %s", d->name,
                         scim_msg_type_name(m->type));
        scim_port_free(d->port, m);
    }
}

/* ---- life cycle ---- */

static const xlat_backend *backend_of(int walk)
{
    switch (walk) {
    case SCIM_WALK_DEVICE:
    case SCIM_WALK_SHADOW: return &scim_dev_backend_walker;
    case SCIM_WALK_SOFTWARE: return &scim_dev_backend_software;
    default: return &scim_dev_backend_ats;
    }
}

static int create_tlbs(scim_device *d, scim_stats *stats, scim_err *err)
{
    char prefix[96];
    scim_tlb_params tp;
    snprintf(prefix, sizeof prefix, "%s.iotlb", d->name);
    scim_tlb_keys_to_params(&d->p.iotlb, scim_seed_for(d->p.seed, prefix), &tp);
    if (!(d->iotlb = scim_tlb_create(&tp, err)) ||
        scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(d->iotlb), err))
        return SCIM_ENOMEM;
    if (!d->p.utlb.entries)
        return 0;
    snprintf(prefix, sizeof prefix, "%s.utlb", d->name);
    scim_tlb_keys_to_params(&d->p.utlb, scim_seed_for(d->p.seed, prefix), &tp);
    if (!(d->utlb = scim_tlb_create(&tp, err)) ||
        scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(d->utlb), err))
        return SCIM_ENOMEM;
    return 0;
}

scim_device *scim_device_create(scim_kernel *k, scim_fabric *f, const char *name, const scim_device_params *p,
                                scim_stats *stats, scim_err *err)
{
    scim_device *d = calloc(1, sizeof *d);
    if (!d) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating device '%s'", name);
        return NULL;
    }
    d->k = k;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->p = *p;
    d->iommu = d->mem = d->os = SCIM_NODE_NONE;
    d->fmt = &scim_pt_x86_4l;
    d->backend = backend_of(p->walk);
    d->policy = scim_dev_policy(p->fault_policy);
    d->in_lookup = NONE;
    scim_u64map_init(&d->shadow);
    scim_fifo_init(&d->invq, sizeof(inv_entry));
    scim_fifo_init(&d->walk_blocked, sizeof(int32_t));
    scim_fifo_init(&d->pri_waiting, sizeof(int32_t));
    scim_fifo_init(&d->resets, sizeof(scim_msg *));
    static const scim_replay_ops ops = {.chunk = start_chunk, .os_op = send_os_op, .request_begin = request_begin,
                                        .request_end = request_end};
    char tenants_key[96];
    snprintf(tenants_key, sizeof tenants_key, "devices.%s.tenants", name);
    scim_replay_params rp = {p->source == SCIM_SOURCE_HOST ? NULL : p->trace, p->max_outstanding, (uint32_t)p->pasid, "dma", p->tenants, p->n_tenants,
                             tenants_key};
    if (scim_clock_init(&d->clock, p->clock_hz, err) != 0)
        goto fail;
    d->iotlb_time = scim_clock_cycles(&d->clock, p->iotlb.latency);
    d->utlb_time = scim_clock_cycles(&d->clock, p->utlb.latency);
    if (!(d->replay = scim_replay_create(k, name, &rp, &ops, d, stats, err)))
        goto fail;
    scim_dev_update_request_hooks(d);
    d->chunks = calloc(p->max_outstanding, sizeof *d->chunks);
    d->free_backup = calloc(p->backup_slots, sizeof *d->free_backup);
    if (!d->chunks || !d->free_backup) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating device '%s'", name);
        goto fail;
    }
    for (uint32_t i = 0; i < p->max_outstanding; i++) /* the engine's slots do not move */
        d->chunks[i].rc = scim_replay_chunk_of(d->replay, i);
    for (uint64_t i = 0; i < p->backup_slots; i++)
        d->free_backup[d->n_free_backup++] = (uint32_t)(p->backup_slots - 1 - i);
    if (create_tlbs(d, stats, err))
        goto fail;
    if ((d->iotlb_fifo = scim_kernel_fifo_create(k, iotlb_done, d)) < 0 ||
        (d->utlb_fifo = scim_kernel_fifo_create(k, utlb_done, d)) < 0) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating device '%s'", name);
        goto fail;
    }
    if (!(d->port = scim_port_create(f, name, on_request, on_response, d, stats, err)) ||
        scim_port_queue(d->port, "inv", 1u << SCIM_MSG_INV_REQ, p->inv_queue, stats, err))
        goto fail;
    if (p->walk == SCIM_WALK_DEVICE || p->walk == SCIM_WALK_SHADOW) {
        scim_walker_params wp = {.walkers = p->walkers, .pwc_entries = p->pwc_entries,
                                 .pwc_latency = scim_clock_cycles(&d->clock, p->pwc_latency),
                                 .queue = p->walk_queue, .seed = p->seed};
        if (!(d->walker = scim_walker_create(k, name, &wp, scim_dev_walk_done, d, stats, err)) ||
            scim_walker_attach_port(d->walker, d->port, SCIM_NODE_NONE, err))
            goto fail;
    }
    if (p->walk == SCIM_WALK_SHADOW && scim_dev_shadow_create(d, f, stats, err))
        goto fail;
    if (scim_stats_register(stats, name, scim_device_stat_decls, scim_device_stat_decl_count, &d->st, err))
        goto fail;
    return d;
fail:
    scim_device_destroy(d);
    return NULL;
}

void scim_device_destroy(scim_device *d)
{
    if (!d)
        return;
    scim_replay_destroy(d->replay);
    scim_dev_host_free(d);
    scim_tlb_destroy(d->iotlb);
    scim_tlb_destroy(d->utlb);
    scim_walker_destroy(d->walker);
    scim_u64map_free(&d->shadow);
    for (size_t i = 0; i < scim_fifo_len(&d->invq); i++)
        scim_port_free(d->port, ((inv_entry *)scim_fifo_at(&d->invq, i))->m);
    scim_fifo_free(&d->invq);
    scim_fifo_free(&d->walk_blocked);
    scim_fifo_free(&d->pri_waiting);
    for (size_t i = 0; i < scim_fifo_len(&d->resets); i++)
        scim_port_free(d->port, *(scim_msg **)scim_fifo_at(&d->resets, i));
    scim_fifo_free(&d->resets);
    scim_port_destroy(d->port);
    scim_port_destroy(d->shadow_port);
    scim_dev_fast_free(d);
    free(d->chunks);
    free(d->xlats);
    free(d->xlat_index);
    free(d->xlat_free);
    free(d->free_backup);
    free(d);
}

scim_node_id scim_device_node(const scim_device *d) { return scim_port_node(d->port); }
const char *scim_device_name(const scim_device *d) { return d->name; }
const scim_device_params *scim_device_params_of(const scim_device *d) { return &d->p; }
const scim_tlb *scim_device_iotlb(const scim_device *d) { return d->iotlb; }
const scim_port *scim_device_port(const scim_device *d) { return d->port; }

size_t scim_device_caches(const scim_device *d, const scim_tlb **out, const char **names, size_t max)
{
    size_t n = 0;
    if (n < max) {
        out[n] = d->iotlb;
        names[n++] = "iotlb";
    }
    if (d->utlb && n < max) {
        out[n] = d->utlb;
        names[n++] = "utlb";
    }
    if (d->walker)
        n += scim_walker_caches(d->walker, out + n, names + n, max - n);
    return n;
}

void scim_device_set_targets(scim_device *d, scim_node_id iommu, scim_node_id mem, scim_node_id os)
{
    d->iommu = iommu;
    d->mem = mem;
    d->os = os;
    if (d->walker && d->p.walk == SCIM_WALK_DEVICE)
        scim_walker_set_memory(d->walker, mem);
}

void scim_device_set_checker(scim_device *d, const scim_observer *c) { d->checker = c; }
void scim_device_set_injector(scim_device *d, scim_inject *inj) { d->inj = inj; }

void scim_device_set_driver(scim_device *d, const scim_dev_driver_ops *ops, void *drv)
{
    d->drv_ops = ops;
    d->drv = drv;
    scim_dev_update_request_hooks(d);
    if (ops && ops->request_begin)
        scim_replay_post_ahead(d->replay);
}

void scim_device_set_address_space(scim_device *d, uint64_t root_pa, const scim_pt_format *fmt)
{
    d->root = root_pa;
    d->fmt = fmt;
}

void scim_device_set_backup(scim_device *d, uint64_t base_pa) { d->backup_base = base_pa; }

int scim_device_start(scim_device *d, scim_err *err)
{
    /* the fast path: a device whose accesses go straight to memory with
     * nothing of a driver or a host watching them (fast.c) */
    d->fast_ok = scim_kernel_fast(d->k) && d->p.ats && !d->drv_ops && !d->ev && !d->inj &&
                 d->p.source != SCIM_SOURCE_HOST && scim_fabric_fast_serves(scim_port_fabric(d->port), d->mem);
    if (d->fast_ok && scim_dev_fast_init(d))
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory creating device '%s'", d->name);
    return scim_replay_start(d->replay, err);
}

bool scim_device_finished(const scim_device *d)
{
    return scim_replay_finished(d->replay) && scim_fifo_len(&d->invq) == 0 && scim_fifo_len(&d->resets) == 0 &&
           d->n_free_backup == d->p.backup_slots &&
           !(d->drv_ops && d->drv_ops->busy && d->drv_ops->busy(d->drv));
}

void scim_device_describe(const scim_device *d, char *buf, size_t len)
{
    size_t waiting_xlat, waiting_pri;
    scim_dev_xlat_counts(d, &waiting_xlat, &waiting_pri);
    char r[256];
    scim_replay_describe(d->replay, r, sizeof r);
    snprintf(buf, len,
             "device %s; %zu translation(s) and %zu page request(s) outstanding, %zu invalidation(s) queued, %llu "
             "backup slot(s) waiting for their copy",
             r, waiting_xlat, waiting_pri, scim_fifo_len(&d->invq),
             (unsigned long long)(d->p.backup_slots - d->n_free_backup));
}

bool scim_device_oldest(const scim_device *d, scim_time_t *since, char *what, size_t len)
{
    return scim_replay_oldest(d->replay, since, what, len);
}

void scim_device_position(const scim_device *d, uint64_t *done, uint64_t *total)
{
    scim_replay_position(d->replay, done, total);
}

/* IOMMU block: life cycle, parameter and statistic tables, and the
 * dispatch of what arrives at its port to its parts (iommu_internal.h).
 * Modelling notes in iommu/iommu.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "iommu/iommu_internal.h"

const scim_stat_decl scim_iommu_stat_decls[] = {
    {"ats.requests", SCIM_STAT_COUNTER, "count", "Translation requests received from devices.",
     offsetof(iommu_stats, ats_requests)},
    {"ats.not_present", SCIM_STAT_COUNTER, "count",
     "Translation completions that reported a not-present page (the device then asks for it).",
     offsetof(iommu_stats, ats_not_present)},
    {"ats.invalid", SCIM_STAT_COUNTER, "count",
     "Translation requests for a PASID with no page tables, or a malformed entry.",
     offsetof(iommu_stats, ats_invalid)},
    {"ats.latency", SCIM_STAT_HIST, "ps",
     "From a translation request's arrival to its completion leaving the IOMMU.",
     offsetof(iommu_stats, ats_latency)},
    {"walk.pasid_reads", SCIM_STAT_COUNTER, "count",
     "Context-structure reads on PASID-cache misses: VT-d PASID directory and table entry (two per miss), "
     "SMMUv3 STE, L1 CD and CD (three), RISC-V IOMMU device context, two process-directory entries and "
     "process context (four).",
     offsetof(iommu_stats, pasid_reads)},
    {"prq.requests", SCIM_STAT_COUNTER, "count", "Page request groups received from devices.",
     offsetof(iommu_stats, prq_requests)},
    {"prq.overflows", SCIM_STAT_COUNTER, "count",
     "Page request groups dropped because the queue had no room for them (auto-answered Success; the device "
     "retries).",
     offsetof(iommu_stats, prq_overflows)},
    {"prq.max_occupancy", SCIM_STAT_COUNTER, "descriptors",
     "Most page request descriptors (one per page) held at once, for groups the OS has not answered.",
     offsetof(iommu_stats, prq_max_occupancy)},
    {"invalidations", SCIM_STAT_COUNTER, "count", "Invalidation descriptors processed.",
     offsetof(iommu_stats, invalidations)},
    {"dev_invalidations", SCIM_STAT_COUNTER, "count", "Device-TLB invalidations sent to devices.",
     offsetof(iommu_stats, dev_invalidations)},
    {"inline.requests", SCIM_STAT_COUNTER, "count",
     "DMAs by untranslated address from devices without an ATC (ats: false), translated inline.",
     offsetof(iommu_stats, inline_requests)},
    {"inline.faults", SCIM_STAT_COUNTER, "count",
     "Inline DMAs stalled on a not-present page: page requests the IOMMU sent the OS itself.",
     offsetof(iommu_stats, inline_faults)},
    {"inline.failed", SCIM_STAT_COUNTER, "count",
     "Inline DMAs answered with an error (no context, or the OS could not map the page).",
     offsetof(iommu_stats, inline_failed)},
    {"inline.drains", SCIM_STAT_COUNTER, "count",
     "Inline accesses in flight that an invalidation waited for (they used a translation it removed).",
     offsetof(iommu_stats, inline_drains)},
    {"inv.timeouts", SCIM_STAT_COUNTER, "count",
     "Device-TLB invalidations not completed within ats.inv_timeout (each reported to the OS, which resets the "
     "device).",
     offsetof(iommu_stats, inv_timeouts)},
    {"prq.responses_lost", SCIM_STAT_COUNTER, "count",
     "Page group responses lost on the way to their device (fault injection).",
     offsetof(iommu_stats, pri_responses_lost)},
    {"prq.phantoms", SCIM_STAT_COUNTER, "count",
     "Phantom page requests of injected bursts that found room in the queue (each handled by the OS).",
     offsetof(iommu_stats, prq_phantoms)},
    {"inline.latency", SCIM_STAT_HIST, "ps",
     "From an inline DMA's arrival to its memory access leaving the IOMMU (translation, stalls included).",
     offsetof(iommu_stats, inline_latency)},
};
const size_t scim_iommu_stat_decl_count = SCIM_COUNT_OF(scim_iommu_stat_decls);

const scim_param_decl scim_iommu_param_decls[] = {
    {"clock", SCIM_P_FREQ, "1GHz", "Hz", true, 1e6, 1e12, NULL, offsetof(scim_iommu_params, clock_hz),
     "Clock of the IOMMU; lookup latencies are counted in its cycles.",
     "assumption: uncore/IIO clock domain, order of 1 GHz"},
    SCIM_TLB_KEY_DECLS("iotlb.", scim_iommu_params, iotlb, "IOMMU IOTLB", "64", "8", "lru", "4K+2M", "2",
                       "Neugebauer et al., SIGCOMM'18: ~64-entry IOTLB (secondary); 8 ways: assumption",
                       "assumption"),
    SCIM_TLB_KEY_DECLS("pasid_cache.", scim_iommu_params, pasid_cache, "PASID cache", "16", "16", "lru",
                       "4K", "1", "assumption (VT-d PASID-cache size is not published)", "assumption"),
    {"walkers", SCIM_P_U64, "4", "walkers", true, 1, 1024, NULL, offsetof(scim_iommu_params, walkers),
     "Page walks the IOMMU performs concurrently; further misses wait in FIFO order.",
     "assumption (Skylake cores run 2 walks at once, Intel Optimization Manual; an IOMMU serves many devices)"},
    {"pwc.entries", SCIM_P_U64, "16", "entries", true, 0, 65536, NULL, offsetof(scim_iommu_params, pwc_entries),
     "Entries of each paging-structure cache (one per upper level); 0 disables them.",
     "assumption (VT-d caches paging-structure entries, spec 6.2; sizes are not published)"},
    {"s2tlb.entries", SCIM_P_U64, "16", "entries", true, 0, 65536, NULL, offsetof(scim_iommu_params, s2tlb_entries),
     "Nested translation (vms): entries of the walker's stage-2 TLB, which caches guest-physical to host-physical "
     "4 KiB pages of guest tables and data for the 2D walk; 0 disables it. Without VMs it does not exist.",
     "assumption: VT-d caches second-stage translations for nested walks (spec 6.2.1) and Intel's EPT "
     "caches guest-physical mappings (SDM Vol. 3C 29.4.1); sizes are not published"},
    {"s2pwc.entries", SCIM_P_U64, "16", "entries", true, 0, 65536, NULL, offsetof(scim_iommu_params, s2pwc_entries),
     "Nested translation (vms): entries of each stage-2 paging-structure cache (one per upper stage-2 level), "
     "which give a stage-2 walk the deepest stage-2 table of a guest-physical address the stage-2 TLB misses; "
     "looked up with it. 0 disables them. Without VMs they do not exist.",
     "assumption: Intel caches EPT paging-structure entries (SDM Vol. 3C 29.4.1) and AMD's nested walks use "
     "page walk caches for both dimensions (Bhargava et al., ASPLOS'08); sizes are not published. As pwc.entries"},
    {"pwc.latency", SCIM_P_U64, "1", "cycles", true, 0, 1000, NULL, offsetof(scim_iommu_params, pwc_latency),
     "Lookup latency of the paging-structure caches (all levels in parallel).", "assumption"},
    {"prq_depth", SCIM_P_U64, "2048", "descriptors", true, 1, 1048576, NULL,
     offsetof(scim_iommu_params, prq_depth),
     "Page request descriptors (one per page) that may be outstanding at the OS; a group that does not fit is "
     "dropped and answered Success by the IOMMU, and the device retries. Every device's pri.allocation must be at "
     "most this (checked when the system is built).",
     "Linux drivers/iommu/intel/iommu.h: PRQ_ORDER 4 = 16 pages of 32-byte descriptors"},
    {"ats_queue", SCIM_P_U64, "64", "requests", true, 0, 1e9, NULL, offsetof(scim_iommu_params, ats_queue),
     "Translation requests the IOMMU holds at once, from arrival to completion; further ones wait at their "
     "devices for a place (<device>.port.credit_wait). 0: unbounded.",
     "assumption: one request per IOTLB entry (64, Neugebauer et al. SIGCOMM'18); VT-d does not publish it. "
     "The bundled configurations peak at 57 (iommu.queue.ats.peak)"},
    {"inline_queue", SCIM_P_U64, "256", "requests", true, 0, 1e9, NULL, offsetof(scim_iommu_params, inline_queue),
     "DMAs of devices without an ATC (ats: false) the IOMMU holds at once, from arrival to the memory's "
     "answer (a stalled one included); further ones wait at their devices. 0: unbounded.",
     "assumption: PCIe 8-bit tags let a requester have 256 non-posted requests outstanding; the root "
     "complex's tracking depth is not published"},
    {"walk_queue", SCIM_P_U64, "64", "walks", true, 0, 1e9, NULL, offsetof(scim_iommu_params, walk_queue),
     "Walks that may wait for a free walker; beyond it requests stay in the request buffer until a walk "
     "ends. 0: unbounded.",
     "derived: the walks waiting are requests of the request buffer, so ats_queue (64) is the most it needs"},
    {"inv_latency", SCIM_P_TIME, "570ns", "ns", false, 0, 0, NULL, offsetof(scim_iommu_params, inv_latency),
     "Processing time of one invalidation descriptor (in order, one at a time).",
     "derived: ~2,000 cycles at 3 GHz per synchronous IOTLB invalidation (rIOMMU ASPLOS'15, recalled) "
     "minus the two 50 ns host-link crossings"},
    {"ats.inv_timeout", SCIM_P_TIME, "1s", "ns", false, 0, 0, NULL, offsetof(scim_iommu_params, inv_timeout),
     "A device-TLB invalidation not completed this long after it was sent is given up: the IOMMU reports the "
     "device to the OS, which resets it (PCIe function level reset) before the invalidation completes. 0: wait "
     "forever.",
     "Linux arm-smmu-v3: ARM_SMMU_POLL_TIMEOUT_US = 1 s before a CMD_SYNC timeout"},
    {"snoop_latency", SCIM_P_TIME, "20ns", "ns", false, 0, 0, NULL, offsetof(scim_iommu_params, snoop_latency),
     "Broadcast protocol: time to apply a snooped invalidation to the IOTLB (devices snoop for themselves).",
     "assumption"},
};
const size_t scim_iommu_param_decl_count = SCIM_COUNT_OF(scim_iommu_param_decls);

static void on_request(void *ctx, scim_msg *m)
{
    scim_iommu *io = ctx;
    switch (m->type) {
    case SCIM_MSG_ATS_REQ: scim_iommu_ats_request(io, m); return;
    case SCIM_MSG_PRI_REQ: scim_iommu_prq_request(io, m); return;
    case SCIM_MSG_INV_REQ: scim_iommu_inv_request(io, m); return;
    case SCIM_MSG_DMA: scim_iommu_inline_request(io, m); return;
    default:
        scim_kernel_fail(io->k, SCIM_EINVARIANT, "IOMMU got an unexpected %s", scim_msg_type_name(m->type));
        scim_port_free(io->port, m);
    }
}

/* Answers to what the IOMMU itself asked: page requests it forwarded to
 * the OS, and device-TLB invalidations. */
static void on_response(void *ctx, scim_msg *m)
{
    scim_iommu *io = ctx;
    if (m->type == SCIM_MSG_PRI_RESP)
        scim_iommu_prq_response(io, m);
    else if (m->type == SCIM_MSG_DEV_FAIL_DONE)
        scim_iommu_dev_fail_done(io, m);
    else
        scim_iommu_inv_done(io, m);
}

scim_iommu *scim_iommu_create(scim_kernel *k, scim_fabric *f, const char *name,
                              const scim_iommu_params *p, scim_stats *stats, scim_err *err)
{
    if (p->walkers == 0) {
        scim_err_set(err, SCIM_ERANGE, "iommu.walkers must be at least 1");
        return NULL;
    }
    scim_iommu *io = calloc(1, sizeof *io);
    if (!io) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the IOMMU");
        return NULL;
    }
    io->k = k;
    io->p = *p;
    io->mem = io->os = SCIM_NODE_NONE;
    io->ctxf = &scim_ctx_vtd;
    scim_pool_init(&io->ats, sizeof(ats_entry));
    scim_pool_init(&io->prq, sizeof(prq_entry));
    scim_pool_init(&io->invs, sizeof(inv_op));
    scim_pool_init(&io->dev_invs, sizeof(dev_inv));
    scim_fifo_init(&io->walk_blocked, sizeof(uint32_t));
    char prefix[96];
    if (scim_clock_init(&io->clock, p->clock_hz, err) != 0)
        goto fail;
    if (scim_iommu_ats_init(io)) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the IOMMU's event FIFO");
        goto fail;
    }
    scim_tlb_params tp;
    snprintf(prefix, sizeof prefix, "%s.iotlb", name);
    scim_tlb_keys_to_params(&p->iotlb, scim_seed_for(p->seed, prefix), &tp);
    if (!(io->iotlb = scim_tlb_create(&tp, err)) ||
        scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(io->iotlb), err))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.pasid_cache", name);
    scim_tlb_keys_to_params(&p->pasid_cache, scim_seed_for(p->seed, prefix), &tp);
    if (!(io->pasid_cache = scim_tlb_create(&tp, err)) ||
        scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(io->pasid_cache), err))
        goto fail;
    if (!(io->port = scim_port_create(f, name, on_request, on_response, io, stats, err)) ||
        scim_port_queue(io->port, "ats", 1u << SCIM_MSG_ATS_REQ, p->ats_queue, stats, err) ||
        scim_port_queue(io->port, "inline", 1u << SCIM_MSG_DMA, p->inline_queue, stats, err))
        goto fail;
    io->ctx_client = scim_port_add_client(io->port, scim_iommu_context_response, io);
    io->inline_client = scim_port_add_client(io->port, scim_iommu_inline_response, io);
    scim_walker_params wp = {.walkers = p->walkers, .pwc_entries = p->pwc_entries,
                             .pwc_latency = scim_clock_cycles(&io->clock, p->pwc_latency), .queue = p->walk_queue,
                             .seed = p->seed, .nested = p->nested, .s2tlb_entries = p->s2tlb_entries,
                             .s2pwc_entries = p->s2pwc_entries};
    if (!(io->walker = scim_walker_create(k, name, &wp, scim_iommu_walk_done, io, stats, err)) ||
        scim_walker_attach_port(io->walker, io->port, SCIM_NODE_NONE, err))
        goto fail;
    if (scim_stats_register(stats, name, scim_iommu_stat_decls, scim_iommu_stat_decl_count, &io->st, err))
        goto fail;
    return io;
fail:
    scim_iommu_destroy(io);
    return NULL;
}

void scim_iommu_destroy(scim_iommu *io)
{
    if (!io)
        return;
    scim_tlb_destroy(io->iotlb);
    scim_tlb_destroy(io->pasid_cache);
    scim_walker_destroy(io->walker);
    scim_port_destroy(io->port);
    for (uint32_t e = 0; e < scim_pool_cap(&io->ats); e++)
        if (scim_pool_used(&io->ats, e))
            free(((ats_entry *)scim_pool_at(&io->ats, e))->drains);
    scim_pool_free(&io->ats);
    scim_pool_free(&io->prq);
    scim_pool_free(&io->invs);
    scim_pool_free(&io->dev_invs);
    scim_fifo_free(&io->walk_blocked);
    free(io->bindings);
    free(io->s2);
    free(io);
}

scim_node_id scim_iommu_node(const scim_iommu *io) { return scim_port_node(io->port); }

void scim_iommu_set_memory(scim_iommu *io, scim_node_id mem)
{
    io->mem = mem;
    scim_walker_set_memory(io->walker, mem);
}

void scim_iommu_set_os(scim_iommu *io, scim_node_id os) { io->os = os; }
void scim_iommu_set_context(scim_iommu *io, const scim_ctx_format *f, uint64_t root_pa)
{
    io->ctxf = f;
    io->ctx_root = root_pa;
}
void scim_iommu_set_checker(scim_iommu *io, const scim_observer *c) { io->checker = c; }

size_t scim_iommu_caches(const scim_iommu *io, const scim_tlb **out, const char **names, size_t max)
{
    size_t n = 0;
    if (n < max) {
        out[n] = io->iotlb;
        names[n++] = "iotlb";
    }
    return n + scim_walker_caches(io->walker, out + n, names + n, max - n);
}

int scim_iommu_bind_device(scim_iommu *io, scim_node_id dev, uint32_t pasid, scim_err *err)
{
    binding *n = realloc(io->bindings, (io->n_bindings + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory binding a device");
    io->bindings = n;
    io->bindings[io->n_bindings++] = (binding){dev, pasid};
    return 0;
}

int scim_iommu_set_stage2(scim_iommu *io, uint32_t pasid, const scim_stage2 *s2, scim_err *err)
{
    struct iommu_s2 *n = realloc(io->s2, (io->n_s2 + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory setting a stage-2 table");
    io->s2 = n;
    io->s2[io->n_s2++] = (struct iommu_s2){pasid, *s2};
    return 0;
}

const scim_port *scim_iommu_port(const scim_iommu *io) { return io->port; }

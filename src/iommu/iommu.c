/* IOMMU model. Modelling notes in include/scimitar/iommu.h.
 *
 * Fields of an ATS request that the protocol leaves unused carry the
 * IOMMU's private timestamps while the request is inside it: `data` holds
 * the arrival time and `len` the time it joined the walker queue. */
#include "iommu/iommu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scimitar/kernel.h"
#include "mmu/pagetable.h"
#include "iommu/pasid.h"

/* x86 PTE permission bits (Intel SDM Vol. 3A, 4.5 table 4-15..4-20) */
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)

/* A translation request between its IOTLB miss and its page walk: the
 * PASID-table reads (on a PASID-cache miss). */
typedef struct ctx_read {
    bool busy;
    bool second; /* reading the PASID-table entry (else the directory entry) */
    scim_msg *req;
} ctx_read;

typedef struct binding {
    scim_node_id dev;
    uint32_t pasid;
} binding;

typedef struct inv_op {
    bool used;
    uint32_t pending;
    scim_msg *req;
} inv_op;

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
    scim_fabric *f;
    scim_iommu_params p;
    scim_clock clock;
    scim_node_id node, mem, os;
    uint64_t pasid_dir;
    scim_tlb *iotlb;
    scim_tlb *pasid_cache;
    scim_walker *walker;
    ctx_read *ctx;
    size_t n_ctx;
    uint64_t prq_outstanding;
    binding *bindings;
    size_t n_bindings;
    scim_time_t inv_busy_until;
    inv_op *ops;
    size_t n_ops;
    iommu_stats st;
};

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
     "PASID directory and table reads (PASID-cache misses cost two).", offsetof(iommu_stats, pasid_reads)},
    {"prq.requests", SCIM_STAT_COUNTER, "count", "Page requests received from devices.",
     offsetof(iommu_stats, prq_requests)},
    {"prq.overflows", SCIM_STAT_COUNTER, "count",
     "Page requests dropped because the queue was full (auto-answered Success; the device retries).",
     offsetof(iommu_stats, prq_overflows)},
    {"prq.max_occupancy", SCIM_STAT_COUNTER, "entries", "Most page requests outstanding at once.",
     offsetof(iommu_stats, prq_max_occupancy)},
    {"invalidations", SCIM_STAT_COUNTER, "count", "Invalidation descriptors processed.",
     offsetof(iommu_stats, invalidations)},
    {"dev_invalidations", SCIM_STAT_COUNTER, "count", "Device-TLB invalidations sent to devices.",
     offsetof(iommu_stats, dev_invalidations)},
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
    {"pwc.latency", SCIM_P_U64, "1", "cycles", true, 0, 1000, NULL, offsetof(scim_iommu_params, pwc_latency),
     "Lookup latency of the paging-structure caches (all levels in parallel).", "assumption"},
    {"prq_depth", SCIM_P_U64, "2048", "descriptors", true, 1, 1048576, NULL,
     offsetof(scim_iommu_params, prq_depth),
     "Page requests that may be outstanding at the OS; beyond it the IOMMU drops the request and answers "
     "Success itself, and the device retries.",
     "Linux drivers/iommu/intel/iommu.h: PRQ_ORDER 4 = 16 pages of 32-byte descriptors"},
    {"inv_latency", SCIM_P_TIME, "570ns", "ns", false, 0, 0, NULL, offsetof(scim_iommu_params, inv_latency),
     "Processing time of one invalidation descriptor (in order, one at a time).",
     "derived: ~2,000 cycles at 3 GHz per synchronous IOTLB invalidation (rIOMMU ASPLOS'15, recalled) "
     "minus the two 50 ns host-link crossings"},
    {"snoop_latency", SCIM_P_TIME, "20ns", "ns", false, 0, 0, NULL, offsetof(scim_iommu_params, snoop_latency),
     "Broadcast protocol: time to apply a snooped invalidation to the IOTLB (devices snoop for themselves).",
     "assumption"},
};
const size_t scim_iommu_param_decl_count = SCIM_COUNT_OF(scim_iommu_param_decls);

static void send_new(scim_iommu *io, scim_msg_type type, scim_node_id dst, uint32_t pasid,
                     uint64_t addr, uint64_t len, uint32_t flags, uint64_t tag, uint32_t payload)
{
    scim_msg *m = scim_msg_alloc(io->f);
    if (!m) {
        scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory for fabric messages");
        return;
    }
    m->type = type;
    m->src = io->node;
    m->dst = dst;
    m->pasid = pasid;
    m->addr = addr;
    m->len = len;
    m->flags = flags;
    m->tag = tag;
    m->wire_bytes = scim_fabric_wire_bytes(io->f, payload);
    scim_fabric_send(io->f, m);
}

static void complete_translation(scim_iommu *io, scim_msg *m, int32_t status, uint64_t page_pa,
                                 unsigned shift, unsigned perms)
{
    scim_hist_record(io->st.ats_latency, scim_kernel_now(io->k) - m->data);
    if (status == SCIM_RESP_NOT_PRESENT)
        io->st.ats_not_present++;
    else if (status == SCIM_RESP_INVALID)
        io->st.ats_invalid++;
    m->addr = page_pa;
    m->data = SCIM_ATS_DATA(shift, perms);
    /* A translation completion carries one 8-byte translation. */
    scim_fabric_reply(io->f, m, SCIM_MSG_ATS_RESP, scim_fabric_wire_bytes(io->f, 8), status);
}

static void walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    scim_iommu *io = owner;
    scim_msg *m = (scim_msg *)(uintptr_t)cookie;
    if (r->status == SCIM_WALK_NOT_PRESENT) {
        complete_translation(io, m, SCIM_RESP_NOT_PRESENT, 0, 0, 0);
        return;
    }
    if (r->status != SCIM_WALK_OK) {
        complete_translation(io, m, SCIM_RESP_INVALID, 0, 0, 0);
        return;
    }
    bool write = (m->flags & SCIM_ATSF_WRITE) != 0;
    if (!(r->perms & SCIM_PERM_R) || (write && !(r->perms & SCIM_PERM_W))) {
        /* Present but not usable for this access: the completion grants
         * what the tables allow and the device asks for more (PRI). */
        complete_translation(io, m, r->perms ? SCIM_RESP_OK : SCIM_RESP_NOT_PRESENT, r->page_pa, r->shift, r->perms);
        return;
    }
    scim_tlb_entry e = {.pasid = m->pasid, .page_shift = (uint8_t)r->shift, .perms = (uint8_t)r->perms,
                        .vpn = m->addr >> r->shift, .pfn = r->page_pa >> 12, .aux = 0};
    scim_tlb_insert(io->iotlb, &e, NULL);
    complete_translation(io, m, SCIM_RESP_OK, r->page_pa, r->shift, r->perms);
}

static void ctx_read_entry(scim_iommu *io, size_t ci, uint64_t pa)
{
    io->st.pasid_reads++;
    send_new(io, SCIM_MSG_MEM_READ, io->mem, io->ctx[ci].req->pasid, pa, 8, SCIM_MEMF_PTE, ci, 0);
}

/* Find the page-table root of the request's PASID, then walk. */
static void start_walk(scim_iommu *io, scim_msg *m)
{
    scim_tlb_entry e;
    if (scim_tlb_lookup(io->pasid_cache, 0, (uint64_t)m->pasid << 12, &e) == 1) {
        scim_walker_walk(io->walker, m->pasid, m->addr, (m->flags & SCIM_ATSF_WRITE) != 0, e.pfn << 12, (int)e.aux,
                         (uint64_t)(uintptr_t)m);
        return;
    }
    size_t ci;
    for (ci = 0; ci < io->n_ctx && io->ctx[ci].busy; ci++)
        ;
    if (ci == io->n_ctx) {
        ctx_read *n = realloc(io->ctx, (io->n_ctx + 8) * sizeof *n);
        if (!n) {
            scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory");
            return;
        }
        memset(n + io->n_ctx, 0, 8 * sizeof *n);
        io->ctx = n;
        io->n_ctx += 8;
    }
    io->ctx[ci] = (ctx_read){true, false, m};
    ctx_read_entry(io, ci, scim_pasid_dir_entry_addr(io->pasid_dir, m->pasid));
}

static void on_ctx_resp(scim_iommu *io, size_t ci, uint64_t value)
{
    ctx_read *c = &io->ctx[ci];
    scim_msg *m = c->req;
    if (!scim_pasid_entry_present(value)) {
        c->busy = false;
        complete_translation(io, m, SCIM_RESP_INVALID, 0, 0, 0);
        return;
    }
    if (!c->second) {
        c->second = true;
        ctx_read_entry(io, ci, scim_pasid_entry_addr(scim_pasid_entry_pa(value), m->pasid));
        return;
    }
    c->busy = false;
    scim_tlb_entry e = {.pasid = 0, .page_shift = 12, .perms = 0, .vpn = m->pasid,
                        .pfn = scim_pasid_entry_pa(value) >> 12, .aux = (uint64_t)scim_pasid_entry_levels(value)};
    scim_tlb_insert(io->pasid_cache, &e, NULL);
    scim_walker_walk(io->walker, m->pasid, m->addr, (m->flags & SCIM_ATSF_WRITE) != 0, scim_pasid_entry_pa(value),
                     scim_pasid_entry_levels(value), (uint64_t)(uintptr_t)m);
}

static void ats_lookup(void *ctx, uint64_t arg)
{
    scim_iommu *io = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    bool write = (m->flags & SCIM_ATSF_WRITE) != 0;
    scim_tlb_entry e;
    if (scim_tlb_lookup(io->iotlb, m->pasid, m->addr, &e) == 1 && (!write || (e.perms & SCIM_PERM_W))) {
        complete_translation(io, m, SCIM_RESP_OK, e.pfn << 12, e.page_shift, e.perms);
        return;
    }
    start_walk(io, m);
}

static void on_pri_req(scim_iommu *io, scim_msg *m)
{
    io->st.prq_requests++;
    if (io->prq_outstanding >= io->p.prq_depth) {
        io->st.prq_overflows++;
        m->flags |= SCIM_PRIF_AUTO;
        scim_fabric_reply(io->f, m, SCIM_MSG_PRI_RESP, scim_fabric_wire_bytes(io->f, 0), SCIM_RESP_OK);
        return;
    }
    if (++io->prq_outstanding > io->st.prq_max_occupancy)
        io->st.prq_max_occupancy = io->prq_outstanding;
    m->requester = m->src;
    m->src = io->node;
    m->dst = io->os;
    scim_fabric_send(io->f, m);
}

static void on_pri_resp(scim_iommu *io, scim_msg *m)
{
    io->prq_outstanding--;
    m->src = io->node;
    m->dst = m->requester;
    scim_fabric_send(io->f, m);
}

static void invalidate_local(scim_iommu *io, const scim_msg *m)
{
    if (m->flags & SCIM_INVF_GLOBAL) {
        scim_tlb_invalidate_all(io->iotlb);
        scim_tlb_invalidate_all(io->pasid_cache);
    } else if (m->flags & SCIM_INVF_PASID) {
        scim_tlb_invalidate_pasid(io->iotlb, m->pasid);
    } else {
        scim_tlb_invalidate_range(io->iotlb, m->pasid, m->addr, m->len);
    }
    scim_walker_invalidate(io->walker, m->pasid, m->addr, m->len, m->flags);
}

/* A snooped broadcast: the devices snoop it themselves. */
static void snoop_exec(void *ctx, uint64_t arg)
{
    scim_iommu *io = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    invalidate_local(io, m);
    scim_fabric_reply(io->f, m, SCIM_MSG_INV_DONE, scim_fabric_wire_bytes(io->f, 0), SCIM_RESP_OK);
}

static void inv_exec(void *ctx, uint64_t arg)
{
    scim_iommu *io = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    invalidate_local(io, m);
    size_t slot = io->n_ops;
    for (size_t i = 0; i < io->n_ops; i++)
        if (!io->ops[i].used) {
            slot = i;
            break;
        }
    if (slot == io->n_ops) {
        inv_op *n = realloc(io->ops, (io->n_ops + 8) * sizeof *n);
        if (!n) {
            scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory tracking invalidations");
            return;
        }
        memset(n + io->n_ops, 0, 8 * sizeof *n);
        io->ops = n;
        io->n_ops += 8;
    }
    inv_op *op = &io->ops[slot];
    op->used = true;
    op->req = m;
    op->pending = 0;
    for (size_t i = 0; i < io->n_bindings; i++) {
        if ((m->flags & SCIM_INVF_GLOBAL) || io->bindings[i].pasid == m->pasid) {
            op->pending++;
            io->st.dev_invalidations++;
            send_new(io, SCIM_MSG_INV_REQ, io->bindings[i].dev, m->pasid, m->addr, m->len, m->flags,
                     slot, 8);
        }
    }
    if (op->pending == 0) {
        op->used = false;
        scim_fabric_reply(io->f, m, SCIM_MSG_INV_DONE, scim_fabric_wire_bytes(io->f, 0), SCIM_RESP_OK);
    }
}

static void on_inv_req(scim_iommu *io, scim_msg *m)
{
    io->st.invalidations++;
    if (m->flags & SCIM_INVF_BROADCAST) {
        scim_kernel_schedule(io->k, io->p.snoop_latency, SCIM_PRIO_DEFAULT, snoop_exec, io, (uint64_t)(uintptr_t)m);
        return;
    }
    scim_time_t now = scim_kernel_now(io->k);
    scim_time_t start = io->inv_busy_until > now ? io->inv_busy_until : now;
    io->inv_busy_until = start + io->p.inv_latency;
    scim_kernel_schedule_at(io->k, io->inv_busy_until, SCIM_PRIO_DEFAULT, inv_exec, io,
                            (uint64_t)(uintptr_t)m);
}

static void on_inv_done(scim_iommu *io, scim_msg *m)
{
    inv_op *op = m->tag < io->n_ops ? &io->ops[m->tag] : NULL;
    scim_msg_free(io->f, m);
    if (!op || !op->used || op->pending == 0) {
        scim_kernel_fail(io->k, SCIM_EINVARIANT, "IOMMU got an unexpected invalidation completion");
        return;
    }
    if (--op->pending == 0) {
        op->used = false;
        scim_fabric_reply(io->f, op->req, SCIM_MSG_INV_DONE, scim_fabric_wire_bytes(io->f, 0),
                          SCIM_RESP_OK);
    }
}

static void on_recv(void *ctx, scim_msg *m)
{
    scim_iommu *io = ctx;
    switch (m->type) {
    case SCIM_MSG_ATS_REQ:
        io->st.ats_requests++;
        m->data = scim_kernel_now(io->k);
        scim_kernel_schedule(io->k, scim_clock_cycles(&io->clock, io->p.iotlb.latency),
                             SCIM_PRIO_DEFAULT, ats_lookup, io, (uint64_t)(uintptr_t)m);
        return;
    case SCIM_MSG_MEM_RESP: {
        if (m->tag & SCIM_WALK_TAG) {
            scim_walker_on_mem_resp(io->walker, m);
            return;
        }
        size_t ci = m->tag;
        uint64_t value = m->data;
        scim_msg_free(io->f, m);
        on_ctx_resp(io, ci, value);
        return;
    }
    case SCIM_MSG_PRI_REQ:
        on_pri_req(io, m);
        return;
    case SCIM_MSG_PRI_RESP:
        on_pri_resp(io, m);
        return;
    case SCIM_MSG_INV_REQ:
        on_inv_req(io, m);
        return;
    case SCIM_MSG_INV_DONE:
        on_inv_done(io, m);
        return;
    default:
        scim_kernel_fail(io->k, SCIM_EINVARIANT, "IOMMU got an unexpected %s message from '%s'",
                         scim_msg_type_name(m->type), scim_fabric_node_name(io->f, m->src));
        scim_msg_free(io->f, m);
    }
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
    io->f = f;
    io->p = *p;
    io->mem = io->os = SCIM_NODE_NONE;
    char prefix[96];
    if (scim_clock_init(&io->clock, p->clock_hz, err) != 0)
        goto fail;
    scim_tlb_params tp;
    scim_tlb_keys_to_params(&p->iotlb, p->seed, &tp);
    io->iotlb = scim_tlb_create(&tp, err);
    if (!io->iotlb)
        goto fail;
    scim_tlb_keys_to_params(&p->pasid_cache, p->seed + 1, &tp);
    io->pasid_cache = scim_tlb_create(&tp, err);
    if (!io->pasid_cache)
        goto fail;
    if (scim_fabric_add_node(f, name, on_recv, io, &io->node, err) != 0)
        goto fail;
    scim_walker_params wp = {p->walkers, p->pwc_entries, scim_clock_cycles(&io->clock, p->pwc_latency), p->seed + 3};
    if (!(io->walker = scim_walker_create(k, f, io->node, name, &wp, walk_done, io, stats, err)))
        goto fail;
    if (scim_stats_register(stats, name, scim_iommu_stat_decls, scim_iommu_stat_decl_count, &io->st, err))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.iotlb", name);
    if (scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(io->iotlb), err))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.pasid_cache", name);
    if (scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(io->pasid_cache), err))
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
    free(io->ctx);
    free(io->bindings);
    free(io->ops);
    free(io);
}

scim_node_id scim_iommu_node(const scim_iommu *io) { return io->node; }
void scim_iommu_set_memory(scim_iommu *io, scim_node_id mem)
{
    io->mem = mem;
    scim_walker_set_memory(io->walker, mem);
}

size_t scim_iommu_caches(const scim_iommu *io, const scim_tlb **out, const char **names, size_t max)
{
    size_t n = 0;
    if (n < max) {
        out[n] = io->iotlb;
        names[n++] = "iotlb";
    }
    return n + scim_walker_caches(io->walker, out + n, names + n, max - n);
}
void scim_iommu_set_os(scim_iommu *io, scim_node_id os) { io->os = os; }
void scim_iommu_set_pasid_dir(scim_iommu *io, uint64_t pa) { io->pasid_dir = pa; }
const scim_tlb *scim_iommu_iotlb(const scim_iommu *io) { return io->iotlb; }

int scim_iommu_bind_device(scim_iommu *io, scim_node_id dev, uint32_t pasid, scim_err *err)
{
    binding *n = realloc(io->bindings, (io->n_bindings + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory binding a device");
    io->bindings = n;
    io->bindings[io->n_bindings++] = (binding){dev, pasid};
    return 0;
}

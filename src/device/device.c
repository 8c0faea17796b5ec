/* Device core model. Modelling notes in include/scimitar/device.h. */
#include "scimitar/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scimitar/kernel.h"
#include "scimitar/os.h"
#include "scimitar/replay.h"
#include "scimitar/trace.h"

#define NONE (-1)

enum chunk_state { CH_FREE, CH_LOOKUP, CH_XLAT_WAIT, CH_MEM };
enum xlat_state { XL_ATS, XL_PRI };

/* The device's view of a chunk the replay engine gave it. */
typedef struct chunk {
    int state;
    bool blocks_inv;
    int32_t next;       /* next waiter on the same translation */
    uint64_t pa;
    scim_time_t t_start;
} chunk;

typedef struct xlat {
    bool used;
    bool write;
    int state;
    uint32_t pasid;
    uint64_t page;      /* va >> 12 */
    int32_t head, tail; /* waiting chunks */
} xlat;

typedef struct device_stats {
    uint64_t ats_requests;
    uint64_t ats_merged;
    uint64_t faults;
    uint64_t pri_requests;
    uint64_t pri_auto;
    uint64_t pri_failed;
    uint64_t invalidations;
    uint64_t inv_entries;
    scim_hist *translation_latency;
    scim_hist *fault_latency;
    scim_hist *inv_latency;
} device_stats;

struct scim_device {
    scim_kernel *k;
    scim_fabric *f;
    char name[48];
    scim_device_params p;
    scim_clock clock;
    scim_time_t lookup_time;
    scim_node_id node, iommu, mem, os;
    scim_tlb *iotlb;
    scim_checker *checker;
    scim_replay *replay;
    chunk *chunks;
    xlat *xlats;
    /* invalidation queue (one at a time) */
    scim_msg **invq;
    size_t invq_head, invq_len, invq_cap;
    bool inv_busy;
    uint32_t inv_blocking;
    device_stats st;
};

const scim_stat_decl scim_device_stat_decls[] = {
    {"translation.latency", SCIM_STAT_HIST, "ps",
     "From a chunk's IOTLB lookup to the physical address being known (hits: the lookup latency).",
     offsetof(device_stats, translation_latency)},
    {"ats.requests", SCIM_STAT_COUNTER, "count", "Translation requests sent to the IOMMU (retries included).",
     offsetof(device_stats, ats_requests)},
    {"ats.merged", SCIM_STAT_COUNTER, "count",
     "IOTLB misses that waited on an outstanding translation of the same page instead of sending one.",
     offsetof(device_stats, ats_merged)},
    {"faults", SCIM_STAT_COUNTER, "count", "I/O page faults: pages whose translation came back not present.",
     offsetof(device_stats, faults)},
    {"fault.latency", SCIM_STAT_HIST, "ps",
     "From sending a page request to receiving its response.", offsetof(device_stats, fault_latency)},
    {"pri.requests", SCIM_STAT_COUNTER, "count", "Page requests sent (re-sends after a queue overflow included).",
     offsetof(device_stats, pri_requests)},
    {"pri.auto_responses", SCIM_STAT_COUNTER, "count",
     "Page responses the IOMMU generated itself because its queue was full.", offsetof(device_stats, pri_auto)},
    {"pri.failed", SCIM_STAT_COUNTER, "count", "Page requests answered Invalid or Failure.",
     offsetof(device_stats, pri_failed)},
    {"invalidations", SCIM_STAT_COUNTER, "count", "Device-TLB invalidation requests processed.",
     offsetof(device_stats, invalidations)},
    {"inv.entries", SCIM_STAT_COUNTER, "count", "IOTLB entries removed by invalidations.",
     offsetof(device_stats, inv_entries)},
    {"inv.latency", SCIM_STAT_HIST, "ps",
     "From an invalidation request's arrival to its completion being sent (queueing and drain included).",
     offsetof(device_stats, inv_latency)},
};
const size_t scim_device_stat_decl_count = SCIM_COUNT_OF(scim_device_stat_decls);

static const char *const walk_names[] = {"iommu", NULL};
static const char *const fault_policy_names[] = {"stall", NULL};

const scim_param_decl scim_device_param_decls[] = {
    {"trace", SCIM_P_STRING, NULL, NULL, false, 0, 0, NULL, offsetof(scim_device_params, trace),
     "DMA trace to replay (text or binary, optionally gzipped; docs/traces.md). A relative path is "
     "relative to the configuration file.",
     NULL},
    {"pasid", SCIM_P_U64, NULL, NULL, true, 1, 1048575, NULL, offsetof(scim_device_params, pasid),
     "Address space the device works in: the PASID of one of the processes.", NULL},
    {"max_outstanding", SCIM_P_U64, "32", "requests", true, 1, 65536, NULL,
     offsetof(scim_device_params, max_outstanding),
     "Page-sized DMA pieces the device keeps in flight at most.",
     "assumption (order of a NIC DMA engine's outstanding reads)"},
    {"clock", SCIM_P_FREQ, "1GHz", "Hz", true, 1e6, 1e12, NULL, offsetof(scim_device_params, clock_hz),
     "Clock of the device core; IOTLB latency is counted in its cycles.", "assumption"},
    SCIM_TLB_KEY_DECLS("iotlb.", scim_device_params, iotlb, "device IOTLB (ATS translation cache)", "32",
                       "32", "lru", "4K+2M", "1",
                       "gem5 SMMUv3 TBU micro-TLB: 32 entries; fully associative: assumption", "assumption"),
    {"walk", SCIM_P_ENUM, "iommu", NULL, false, 0, 0, walk_names, offsetof(scim_device_params, walk),
     "Who walks the page tables on an IOTLB miss: iommu (ATS request to the IOMMU).", NULL},
    {"fault_policy", SCIM_P_ENUM, "stall", NULL, false, 0, 0, fault_policy_names,
     offsetof(scim_device_params, fault_policy),
     "Reaction to a not-present page: stall (the request waits for the page request's answer).", NULL},
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

static scim_msg *new_msg(scim_device *d, scim_msg_type type, scim_node_id dst)
{
    scim_msg *m = scim_msg_alloc(d->f);
    if (!m) {
        scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory for fabric messages");
        return NULL;
    }
    m->type = type;
    m->src = d->node;
    m->dst = dst;
    return m;
}

static const scim_replay_chunk *chunk_of(const scim_device *d, int32_t ci)
{
    return scim_replay_chunk_of(d->replay, (uint32_t)ci);
}

/* ---- invalidations ---- */

static void inv_next(scim_device *d);

static void inv_complete(scim_device *d)
{
    scim_msg *m = d->invq[d->invq_head];
    d->invq_head = (d->invq_head + 1) % d->invq_cap;
    d->invq_len--;
    scim_hist_record(d->st.inv_latency, scim_kernel_now(d->k) - m->data);
    d->inv_busy = false;
    scim_fabric_reply(d->f, m, SCIM_MSG_INV_DONE, scim_fabric_wire_bytes(d->f, 0), SCIM_RESP_OK);
    inv_next(d);
}

static bool inv_covers(const scim_msg *m, uint32_t pasid, uint64_t va)
{
    if (m->flags & SCIM_INVF_GLOBAL)
        return true;
    if (pasid != m->pasid)
        return false;
    return (m->flags & SCIM_INVF_PASID) || (va >= m->addr && va - m->addr < m->len);
}

static void inv_exec(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    scim_msg *m = d->invq[d->invq_head];
    uint64_t removed;
    if (m->flags & SCIM_INVF_GLOBAL)
        removed = scim_tlb_invalidate_all(d->iotlb);
    else if (m->flags & SCIM_INVF_PASID)
        removed = scim_tlb_invalidate_pasid(d->iotlb, m->pasid);
    else
        removed = scim_tlb_invalidate_range(d->iotlb, m->pasid, m->addr, m->len);
    d->st.inv_entries += removed;
    /* Accesses already sent with a translation in the range must finish
     * before the completion: the OS frees the frames on our word. */
    d->inv_blocking = 0;
    for (uint64_t i = 0; i < d->p.max_outstanding; i++) {
        chunk *c = &d->chunks[i];
        if (c->state == CH_MEM && inv_covers(m, chunk_of(d, (int32_t)i)->pasid, chunk_of(d, (int32_t)i)->va)) {
            c->blocks_inv = true;
            d->inv_blocking++;
        }
    }
    if (d->inv_blocking == 0)
        inv_complete(d);
}

static void inv_next(scim_device *d)
{
    if (d->inv_busy || d->invq_len == 0)
        return;
    d->inv_busy = true;
    d->st.invalidations++;
    bool snooped = (d->invq[d->invq_head]->flags & SCIM_INVF_BROADCAST) != 0;
    scim_kernel_schedule(d->k, snooped ? d->p.snoop_latency : d->p.inv_latency, SCIM_PRIO_DEFAULT, inv_exec, d, 0);
}

static void on_inv_req(scim_device *d, scim_msg *m)
{
    if (d->invq_len == d->invq_cap) {
        size_t nc = d->invq_cap ? d->invq_cap * 2 : 16;
        scim_msg **n = malloc(nc * sizeof *n);
        if (!n) {
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory queueing invalidations");
            return;
        }
        for (size_t i = 0; i < d->invq_len; i++)
            n[i] = d->invq[(d->invq_head + i) % d->invq_cap];
        free(d->invq);
        d->invq = n;
        d->invq_head = 0;
        d->invq_cap = nc;
    }
    m->data = scim_kernel_now(d->k); /* arrival, for inv.latency */
    d->invq[(d->invq_head + d->invq_len++) % d->invq_cap] = m;
    inv_next(d);
}

/* ---- chunks ---- */

static void chunk_complete(scim_device *d, int32_t ci, bool error)
{
    chunk *c = &d->chunks[ci];
    if (c->blocks_inv) {
        c->blocks_inv = false;
        if (--d->inv_blocking == 0)
            inv_complete(d);
    }
    c->state = CH_FREE;
    scim_replay_chunk_done(d->replay, (uint32_t)ci, error);
}

static void to_memory(scim_device *d, int32_t ci, uint64_t pa)
{
    chunk *c = &d->chunks[ci];
    const scim_replay_chunk *rc = chunk_of(d, ci);
    scim_hist_record(d->st.translation_latency, scim_kernel_now(d->k) - c->t_start);
    if (d->checker && !scim_checker_access_begin(d->checker, d->name, rc->pasid, rc->va, pa, rc->len))
        return;
    c->pa = pa;
    c->state = CH_MEM;
    scim_msg *m = new_msg(d, rc->write ? SCIM_MSG_MEM_WRITE : SCIM_MSG_MEM_READ, d->mem);
    if (!m)
        return;
    m->addr = pa;
    m->len = rc->len;
    m->pasid = rc->pasid;
    m->tag = (uint64_t)ci;
    m->wire_bytes = scim_fabric_wire_bytes(d->f, rc->write ? rc->len : 0);
    scim_fabric_send(d->f, m);
}

static void send_ats(scim_device *d, int32_t xi)
{
    xlat *x = &d->xlats[xi];
    x->state = XL_ATS;
    d->st.ats_requests++;
    scim_msg *m = new_msg(d, SCIM_MSG_ATS_REQ, d->iommu);
    if (!m)
        return;
    m->pasid = x->pasid;
    m->addr = x->page << 12;
    m->flags = x->write ? SCIM_ATSF_WRITE : 0;
    m->tag = (uint64_t)xi;
    m->wire_bytes = scim_fabric_wire_bytes(d->f, 0);
    scim_fabric_send(d->f, m);
}

static void send_pri(scim_device *d, int32_t xi)
{
    xlat *x = &d->xlats[xi];
    x->state = XL_PRI;
    d->st.pri_requests++;
    scim_msg *m = new_msg(d, SCIM_MSG_PRI_REQ, d->iommu);
    if (!m)
        return;
    m->pasid = x->pasid;
    m->addr = x->page << 12;
    m->len = 1;
    m->flags = x->write ? SCIM_ATSF_WRITE : 0;
    m->tag = (uint64_t)xi;
    m->data = scim_kernel_now(d->k);
    m->wire_bytes = scim_fabric_wire_bytes(d->f, 0);
    scim_fabric_send(d->f, m);
}

static void need_translation(scim_device *d, int32_t ci)
{
    chunk *c = &d->chunks[ci];
    const scim_replay_chunk *rc = chunk_of(d, ci);
    uint64_t page = rc->va >> 12;
    c->state = CH_XLAT_WAIT;
    c->next = NONE;
    int32_t free_x = NONE;
    for (uint64_t i = 0; i < d->p.max_outstanding; i++) {
        xlat *x = &d->xlats[i];
        if (x->used && x->pasid == rc->pasid && x->page == page) {
            d->st.ats_merged++;
            d->chunks[x->tail].next = ci;
            x->tail = ci;
            x->write |= rc->write;
            return;
        }
        if (!x->used && free_x == NONE)
            free_x = (int32_t)i;
    }
    xlat *x = &d->xlats[free_x];
    *x = (xlat){.used = true, .write = rc->write, .pasid = rc->pasid, .page = page, .head = ci, .tail = ci};
    send_ats(d, free_x);
}

static void lookup_done(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    int32_t ci = (int32_t)arg;
    const scim_replay_chunk *rc = chunk_of(d, ci);
    scim_tlb_entry e;
    if (scim_tlb_lookup(d->iotlb, rc->pasid, rc->va, &e) == 1 && (e.perms & SCIM_PERM_R) &&
        (!rc->write || (e.perms & SCIM_PERM_W))) {
        uint64_t mask = (1ull << e.page_shift) - 1;
        to_memory(d, ci, (e.pfn << 12) + (rc->va & mask));
        return;
    }
    need_translation(d, ci);
}

/* The replay engine hands the device a chunk: look up the IOTLB. */
static void start_chunk(void *owner, uint32_t id, const scim_replay_chunk *rc)
{
    scim_device *d = owner;
    chunk *c = &d->chunks[id];
    *c = (chunk){.state = CH_LOOKUP, .next = NONE, .t_start = scim_kernel_now(d->k)};
    scim_kernel_schedule(d->k, d->lookup_time, SCIM_PRIO_DEFAULT, lookup_done, d, id);
}

static void fail_waiters(scim_device *d, xlat *x)
{
    int32_t ci = x->head;
    x->used = false;
    while (ci != NONE) {
        int32_t next = d->chunks[ci].next;
        chunk_complete(d, ci, true);
        ci = next;
    }
}

static void on_ats_resp(scim_device *d, scim_msg *m)
{
    int32_t xi = (int32_t)m->tag;
    xlat *x = &d->xlats[xi];
    int32_t status = m->status;
    uint64_t page_pa = m->addr;
    unsigned shift = SCIM_ATS_SHIFT(m->data), perms = SCIM_ATS_PERMS(m->data);
    scim_msg_free(d->f, m);
    if (status == SCIM_RESP_INVALID) {
        fail_waiters(d, x);
        return;
    }
    if (status == SCIM_RESP_OK && (perms & SCIM_PERM_R)) {
        scim_tlb_entry e = {.pasid = x->pasid, .page_shift = (uint8_t)shift, .perms = (uint8_t)perms,
                            .vpn = (x->page << 12) >> shift, .pfn = page_pa >> 12, .aux = 0};
        scim_tlb_insert(d->iotlb, &e, NULL);
        uint64_t mask = (1ull << shift) - 1;
        /* Serve every waiter the completion allows; keep the rest (writes
         * to a read-only page) for a page request. */
        int32_t ci = x->head, keep_head = NONE, keep_tail = NONE;
        x->head = NONE;
        while (ci != NONE) {
            int32_t next = d->chunks[ci].next;
            const scim_replay_chunk *rc = chunk_of(d, ci);
            if (!rc->write || (perms & SCIM_PERM_W)) {
                to_memory(d, ci, (page_pa & ~mask) + (rc->va & mask));
            } else {
                d->chunks[ci].next = NONE;
                if (keep_tail == NONE)
                    keep_head = ci;
                else
                    d->chunks[keep_tail].next = ci;
                keep_tail = ci;
            }
            ci = next;
        }
        if (keep_head == NONE) {
            x->used = false;
            return;
        }
        x->head = keep_head;
        x->tail = keep_tail;
        x->write = true;
    }
    /* Not present (or not writable): ask the OS for the page. */
    d->st.faults++;
    send_pri(d, xi);
}

static void on_pri_resp(scim_device *d, scim_msg *m)
{
    int32_t xi = (int32_t)m->tag;
    scim_hist_record(d->st.fault_latency, scim_kernel_now(d->k) - m->data);
    if (m->flags & SCIM_PRIF_AUTO)
        d->st.pri_auto++;
    int32_t status = m->status;
    scim_msg_free(d->f, m);
    if (status == SCIM_RESP_OK) {
        send_ats(d, xi);
        return;
    }
    d->st.pri_failed++;
    fail_waiters(d, &d->xlats[xi]);
}

static void on_mem_resp(scim_device *d, scim_msg *m)
{
    int32_t ci = (int32_t)m->tag;
    scim_msg_free(d->f, m);
    if (d->checker)
        scim_checker_access_end(d->checker, d->chunks[ci].pa);
    chunk_complete(d, ci, false);
}

/* OS operations in the trace: the request goes to the OS as a syscall
 * would from the process that owns the device's address space. */
static void send_os_op(void *owner, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_device *d = owner;
    scim_msg *m = new_msg(d, SCIM_MSG_OS_REQ, d->os);
    if (!m)
        return;
    scim_os_request_encode(m, rec, pasid);
    m->wire_bytes = scim_fabric_wire_bytes(d->f, 16);
    scim_fabric_send(d->f, m);
}

static void on_recv(void *ctx, scim_msg *m)
{
    scim_device *d = ctx;
    switch (m->type) {
    case SCIM_MSG_MEM_RESP:
        on_mem_resp(d, m);
        return;
    case SCIM_MSG_ATS_RESP:
        on_ats_resp(d, m);
        return;
    case SCIM_MSG_PRI_RESP:
        on_pri_resp(d, m);
        return;
    case SCIM_MSG_INV_REQ:
        on_inv_req(d, m);
        return;
    case SCIM_MSG_OS_RESP: {
        bool error = m->status != SCIM_RESP_OK;
        scim_msg_free(d->f, m);
        scim_replay_os_done(d->replay, error);
        return;
    }
    default:
        scim_kernel_fail(d->k, SCIM_EINVARIANT, "device '%s' got an unexpected %s message from '%s'",
                         d->name, scim_msg_type_name(m->type), scim_fabric_node_name(d->f, m->src));
        scim_msg_free(d->f, m);
    }
}

/* ---- life cycle ---- */

scim_device *scim_device_create(scim_kernel *k, scim_fabric *f, const char *name,
                                const scim_device_params *p, scim_stats *stats, scim_err *err)
{
    scim_device *d = calloc(1, sizeof *d);
    if (!d) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating device '%s'", name);
        return NULL;
    }
    char prefix[96];
    d->k = k;
    d->f = f;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->p = *p;
    d->iommu = d->mem = d->os = SCIM_NODE_NONE;
    static const scim_replay_ops ops = {start_chunk, send_os_op};
    scim_replay_params rp = {p->trace, p->max_outstanding, (uint32_t)p->pasid, "dma"};
    if (scim_clock_init(&d->clock, p->clock_hz, err) != 0)
        goto fail;
    d->lookup_time = scim_clock_cycles(&d->clock, p->iotlb.latency);
    d->replay = scim_replay_create(k, name, &rp, &ops, d, stats, err);
    if (!d->replay)
        goto fail;
    d->chunks = calloc(p->max_outstanding, sizeof *d->chunks);
    d->xlats = calloc(p->max_outstanding, sizeof *d->xlats);
    if (!d->chunks || !d->xlats) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating device '%s'", name);
        goto fail;
    }
    scim_tlb_params tp;
    scim_tlb_keys_to_params(&p->iotlb, p->seed, &tp);
    d->iotlb = scim_tlb_create(&tp, err);
    if (!d->iotlb)
        goto fail;
    if (scim_fabric_add_node(f, name, on_recv, d, &d->node, err) != 0)
        goto fail;
    if (scim_stats_register(stats, name, scim_device_stat_decls, scim_device_stat_decl_count, &d->st, err))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.iotlb", name);
    if (scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(d->iotlb), err))
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
    scim_tlb_destroy(d->iotlb);
    for (size_t i = 0; i < d->invq_len; i++)
        scim_msg_free(d->f, d->invq[(d->invq_head + i) % d->invq_cap]);
    free(d->invq);
    free(d->chunks);
    free(d->xlats);
    free(d);
}

scim_node_id scim_device_node(const scim_device *d) { return d->node; }
const char *scim_device_name(const scim_device *d) { return d->name; }
const scim_tlb *scim_device_iotlb(const scim_device *d) { return d->iotlb; }

void scim_device_set_targets(scim_device *d, scim_node_id iommu, scim_node_id mem, scim_node_id os)
{
    d->iommu = iommu;
    d->mem = mem;
    d->os = os;
}

void scim_device_set_checker(scim_device *d, scim_checker *c) { d->checker = c; }

int scim_device_start(scim_device *d, scim_err *err) { return scim_replay_start(d->replay, err); }

bool scim_device_finished(const scim_device *d)
{
    return scim_replay_finished(d->replay) && d->invq_len == 0;
}

void scim_device_describe(const scim_device *d, char *buf, size_t len)
{
    size_t waiting_xlat = 0, waiting_pri = 0;
    for (uint64_t i = 0; i < d->p.max_outstanding; i++) {
        if (d->xlats[i].used && d->xlats[i].state == XL_ATS)
            waiting_xlat++;
        if (d->xlats[i].used && d->xlats[i].state == XL_PRI)
            waiting_pri++;
    }
    char r[256];
    scim_replay_describe(d->replay, r, sizeof r);
    snprintf(buf, len, "device %s; %zu translation(s) and %zu page request(s) outstanding, %zu invalidation(s) queued",
             r, waiting_xlat, waiting_pri, d->invq_len);
}

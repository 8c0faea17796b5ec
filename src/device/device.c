/* Device core model. Modelling notes in include/scimitar/device.h and
 * docs/architecture.md ("Devices", "Walk placement", "Fault policies").
 *
 * A chunk (a page-sized piece of a DMA) looks up the micro-TLB, then the
 * IOTLB. A miss joins the outstanding translation of its 4 KiB page or
 * starts one; how the translation is obtained depends on the walk
 * placement (ATS request, the device's own walker, an interrupt to the OS,
 * or a walk of the device's shadow copy), but every answer takes the same
 * path: a usable translation is cached and serves every waiter; a
 * not-present page (or a missing write right) is handled by the fault
 * policy. */
#include "device/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fifo.h"
#include "core/u64map.h"
#include "iommu/exposure.h"
#include "scimitar/kernel.h"
#include "core/proto.h"
#include "mmu/replay.h"
#include "scimitar/trace.h"

#define NONE (-1)

enum chunk_state { CH_FREE, CH_LOOKUP, CH_XLAT_WAIT, CH_MEM, CH_BACKUP, CH_RETRY, CH_DESC };

/* Memory responses to descriptor reads (scheme pin). */
#define DESC_TAG (1ull << 61)
enum xlat_state { XL_XLATE, XL_PRI };

/* The device's view of a chunk the replay engine gave it. */
typedef struct chunk {
    int state;
    bool blocks_inv;
    int32_t next;       /* next waiter on the same translation */
    uint32_t slot;      /* backup slot */
    uint32_t space;     /* the address space translated in: the PASID, or the I/O domain (iommu-map) */
    uint64_t pa;
    scim_time_t t_start;
} chunk;

typedef struct xlat {
    bool used;
    bool write;
    bool prefetch;      /* nobody waits: cache the answer, never fault */
    int state;
    uint32_t pasid;
    uint64_t page;      /* va >> 12 */
    int32_t head, tail; /* waiting chunks */
    scim_time_t pri_sent;
} xlat;

typedef struct device_stats {
    uint64_t xlat_requests;
    uint64_t xlat_merged;
    uint64_t xlat_prefetches;
    uint64_t faults;
    uint64_t pri_requests;
    uint64_t pri_auto;
    uint64_t pri_failed;
    uint64_t retries;
    uint64_t drops;
    uint64_t backup_writes;
    uint64_t backup_full;
    uint64_t invalidations;
    uint64_t inv_entries;
    uint64_t shadow_syncs;
    uint64_t desc_reads;
    uint64_t exposed_dmas;
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
    scim_time_t utlb_time, iotlb_time;
    scim_node_id node, iommu, mem, os, shadow_node;
    uint64_t root;
    int levels;
    uint64_t backup_base;
    uint64_t desc_base;   /* scheme pin: descriptor lists, one 4 KiB page per request slot */
    bool *prepared;       /* schemes pin, iommu-map: per request slot, the driver prepared it */
    uint64_t io_pending;  /* unpin/unmap answers still to come */
    scim_exposure *exposure;
    scim_tlb *iotlb, *utlb;
    scim_walker *walker;
    scim_u64map shadow;  /* walk shadow: entry pa -> value */
    const scim_observer *checker;
    scim_replay *replay;
    chunk *chunks;
    xlat *xlats;
    size_t n_xlats;
    uint32_t *free_backup;
    uint32_t n_free_backup;
    /* invalidation queue (one at a time) */
    scim_fifo invq;     /* of scim_msg *: the front one is being processed */
    bool inv_busy;
    uint32_t inv_blocking;
    device_stats st;
};

#define DEV_COUNTER(name, field, desc) {name, SCIM_STAT_COUNTER, "count", desc, offsetof(device_stats, field)}

const scim_stat_decl scim_device_stat_decls[] = {
    {"translation.latency", SCIM_STAT_HIST, "ps",
     "From a chunk's first TLB lookup to its physical address being known (hits: the lookup latency).",
     offsetof(device_stats, translation_latency)},
    DEV_COUNTER("xlat.requests", xlat_requests,
                "Translations requested (ATS requests, own walks, or interrupts, by walk placement; retries "
                "included)."),
    DEV_COUNTER("xlat.merged", xlat_merged,
                "Misses that waited on an outstanding translation of the same page instead of requesting one."),
    DEV_COUNTER("xlat.prefetches", xlat_prefetches, "Translations requested ahead of need (iotlb.prefetch)."),
    DEV_COUNTER("faults", faults, "I/O page faults: translations that came back not present (or without the write right)."),
    {"fault.latency", SCIM_STAT_HIST, "ps", "From sending a page request to receiving its response.",
     offsetof(device_stats, fault_latency)},
    DEV_COUNTER("pri.requests", pri_requests, "Page requests sent (re-sends after a queue overflow included)."),
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

static const char *const walk_names[] = {"iommu", "device", "software", "shadow", NULL};
static const char *const fault_policy_names[] = {"stall", "retry", "drop", "backup", NULL};

const scim_param_decl scim_device_param_decls[] = {
    {"trace", SCIM_P_STRING, NULL, NULL, false, 0, 0, NULL, offsetof(scim_device_params, trace),
     "DMA trace to replay (text or binary, optionally gzipped; docs/traces.md). A relative path is "
     "relative to the configuration file.",
     NULL},
    {"pasid", SCIM_P_U64, NULL, NULL, true, 1, 1048575, NULL, offsetof(scim_device_params, pasid),
     "Address space the device works in: the PASID of one of the processes.", NULL},
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
    {"walk", SCIM_P_ENUM, "iommu", NULL, false, 0, 0, walk_names, offsetof(scim_device_params, walk),
     "Who walks the page tables on an IOTLB miss: iommu (ATS request; the IOMMU walks near memory), device "
     "(the device's walker reads each entry across the fabric), software (an interrupt; an OS handler walks "
     "and answers), shadow (the device walks a synchronized copy in its own memory).",
     NULL},
    {"walkers", SCIM_P_U64, "2", "walkers", true, 1, 64, NULL, offsetof(scim_device_params, walkers),
     "walk device/shadow: page walks the device performs at once.", "assumption"},
    {"pwc.entries", SCIM_P_U64, "0", "entries", true, 0, 65536, NULL, offsetof(scim_device_params, pwc_entries),
     "walk device/shadow: entries of each paging-structure cache of the device's walker (0: none).", NULL},
    {"pwc.latency", SCIM_P_U64, "1", "cycles", true, 0, 1000, NULL, offsetof(scim_device_params, pwc_latency),
     "walk device/shadow: lookup latency of those caches.", "assumption"},
    {"shadow.latency", SCIM_P_TIME, "50ns", "ns", false, 0, 0, NULL, offsetof(scim_device_params, shadow_latency),
     "walk shadow: time to read one entry of the copy in device-local memory.",
     "assumption: on-package DRAM or SRAM"},
    {"fault_policy", SCIM_P_ENUM, "stall", NULL, false, 0, 0, fault_policy_names,
     offsetof(scim_device_params, fault_policy),
     "Reaction to a not-present page: stall (wait for the page request's answer), retry (NACK, retry after "
     "retry_backoff), drop (the request is lost, the source resends after drop_timeout), backup (a write lands "
     "in the pinned backup buffer and a CPU copies it once the page is mapped; reads stall).",
     NULL},
    {"prefault", SCIM_P_U64, "0", "pages", true, 0, 511, NULL, offsetof(scim_device_params, prefault),
     "Pages after the faulting one that each page request also asks the OS to map.", NULL},
    {"retry_backoff", SCIM_P_TIME, "1us", "ns", false, 0, 0, NULL, offsetof(scim_device_params, retry_backoff),
     "fault_policy retry: time before a NACKed request tries again.", "assumption"},
    {"drop_timeout", SCIM_P_TIME, "100us", "ns", false, 0, 0, NULL, offsetof(scim_device_params, drop_timeout),
     "fault_policy drop: time after which the source resends a lost request.",
     "assumption: order of an RDMA/transport retransmission timeout"},
    {"backup_slots", SCIM_P_U64, "256", "slots", true, 1, 1048576, NULL, offsetof(scim_device_params, backup_slots),
     "fault_policy backup: 4 KiB slots of the pinned backup buffer (a full buffer makes writes stall).",
     "assumption: 1 MiB"},
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

static bool usable(unsigned perms, bool write) { return (perms & SCIM_PERM_R) && (!write || (perms & SCIM_PERM_W)); }

/* ---- invalidations ---- */

static void inv_next(scim_device *d);

static void inv_complete(scim_device *d)
{
    scim_msg *m;
    scim_fifo_pop(&d->invq, &m);
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

static uint64_t invalidate_tlb(scim_tlb *t, const scim_msg *m)
{
    if (!t)
        return 0;
    if (m->flags & SCIM_INVF_GLOBAL)
        return scim_tlb_invalidate_all(t);
    if (m->flags & SCIM_INVF_PASID)
        return scim_tlb_invalidate_pasid(t, m->pasid);
    return scim_tlb_invalidate_range(t, m->pasid, m->addr, m->len);
}

static void inv_exec(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    scim_msg *m = *(scim_msg **)scim_fifo_at(&d->invq, 0);
    d->st.inv_entries += invalidate_tlb(d->iotlb, m) + invalidate_tlb(d->utlb, m);
    if (d->walker)
        scim_walker_invalidate(d->walker, m->pasid, m->addr, m->len, m->flags);
    /* Accesses already sent with a translation in the range must finish
     * before the completion: the OS frees the frames on our word. */
    d->inv_blocking = 0;
    for (uint64_t i = 0; i < d->p.max_outstanding; i++) {
        chunk *c = &d->chunks[i];
        if (c->state == CH_MEM && inv_covers(m, c->space, chunk_of(d, (int32_t)i)->va)) {
            c->blocks_inv = true;
            d->inv_blocking++;
        }
    }
    if (d->inv_blocking == 0)
        inv_complete(d);
}

static void inv_next(scim_device *d)
{
    if (d->inv_busy || scim_fifo_len(&d->invq) == 0)
        return;
    d->inv_busy = true;
    d->st.invalidations++;
    bool snooped = ((*(scim_msg **)scim_fifo_at(&d->invq, 0))->flags & SCIM_INVF_BROADCAST) != 0;
    scim_kernel_schedule(d->k, snooped ? d->p.snoop_latency : d->p.inv_latency, SCIM_PRIO_DEFAULT, inv_exec, d, 0);
}

static void on_inv_req(scim_device *d, scim_msg *m)
{
    m->data = scim_kernel_now(d->k); /* arrival, for inv.latency */
    if (!scim_fifo_push(&d->invq, &m)) {
        scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory queueing invalidations");
        return;
    }
    inv_next(d);
}

/* ---- chunks ---- */

static void start_chunk(void *owner, uint32_t id, const scim_replay_chunk *rc);

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
    if (d->checker && (d->p.scheme == SCIM_SCHEME_PIN
                           ? !scim_obs_physical_begin(d->checker, d->name, pa, rc->len)
                           : !scim_obs_access_begin(d->checker, d->name, c->space, rc->va, pa, rc->len)))
        return;
    if (d->exposure && scim_exposure_active(d->exposure, c->space))
        d->st.exposed_dmas++;
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

static void cache_translation(scim_device *d, uint32_t pasid, uint64_t va, uint64_t page_pa, unsigned shift,
                              unsigned perms)
{
    scim_tlb_entry e = {.pasid = pasid, .page_shift = (uint8_t)shift, .perms = (uint8_t)perms,
                        .vpn = va >> shift, .pfn = page_pa >> 12, .aux = 0};
    scim_tlb_insert(d->iotlb, &e, NULL);
    if (d->utlb)
        scim_tlb_insert(d->utlb, &e, NULL);
}

/* ---- translations ---- */

static int32_t xlat_find(const scim_device *d, uint32_t pasid, uint64_t page)
{
    for (size_t i = 0; i < d->n_xlats; i++)
        if (d->xlats[i].used && d->xlats[i].pasid == pasid && d->xlats[i].page == page)
            return (int32_t)i;
    return NONE;
}

static int32_t xlat_new(scim_device *d, uint32_t pasid, uint64_t page, bool write, bool prefetch)
{
    size_t i;
    for (i = 0; i < d->n_xlats && d->xlats[i].used; i++)
        ;
    if (i == d->n_xlats) {
        xlat *n = realloc(d->xlats, (d->n_xlats + 16) * sizeof *n);
        if (!n) {
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
            return NONE;
        }
        memset(n + d->n_xlats, 0, 16 * sizeof *n);
        d->xlats = n;
        d->n_xlats += 16;
    }
    d->xlats[i] = (xlat){.used = true, .write = write, .prefetch = prefetch, .state = XL_XLATE, .pasid = pasid,
                         .page = page, .head = NONE, .tail = NONE};
    return (int32_t)i;
}

static void request_translation(scim_device *d, int32_t xi)
{
    xlat *x = &d->xlats[xi];
    x->state = XL_XLATE;
    d->st.xlat_requests++;
    if (d->p.walk == SCIM_WALK_DEVICE || d->p.walk == SCIM_WALK_SHADOW) {
        scim_walker_walk(d->walker, x->pasid, x->page << 12, x->write, d->root, d->levels, (uint64_t)xi);
        return;
    }
    bool sw = d->p.walk == SCIM_WALK_SOFTWARE;
    scim_msg *m = new_msg(d, sw ? SCIM_MSG_IRQ : SCIM_MSG_ATS_REQ, sw ? d->os : d->iommu);
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
    x->pri_sent = scim_kernel_now(d->k);
    d->st.pri_requests++;
    scim_msg *m = new_msg(d, SCIM_MSG_PRI_REQ, d->iommu);
    if (!m)
        return;
    m->pasid = x->pasid;
    m->addr = x->page << 12;
    m->len = 1 + d->p.prefault;
    m->flags = x->write ? SCIM_ATSF_WRITE : 0;
    m->tag = (uint64_t)xi;
    m->wire_bytes = scim_fabric_wire_bytes(d->f, 0);
    scim_fabric_send(d->f, m);
}

static void restart_later(void *ctx, uint64_t ci)
{
    scim_device *d = ctx;
    start_chunk(d, (uint32_t)ci, chunk_of(d, (int32_t)ci));
}

/* fault_policy retry/drop: the request goes away and comes back. */
static void bounce(scim_device *d, int32_t ci)
{
    bool drop = d->p.fault_policy == SCIM_FAULT_DROP;
    if (drop)
        d->st.drops++;
    else
        d->st.retries++;
    d->chunks[ci].state = CH_RETRY;
    scim_kernel_schedule(d->k, drop ? d->p.drop_timeout : d->p.retry_backoff, SCIM_PRIO_DEFAULT, restart_later, d,
                         (uint64_t)ci);
}

static void backup_write(scim_device *d, int32_t ci)
{
    chunk *c = &d->chunks[ci];
    const scim_replay_chunk *rc = chunk_of(d, ci);
    c->slot = d->free_backup[--d->n_free_backup];
    c->state = CH_BACKUP;
    d->st.backup_writes++;
    scim_hist_record(d->st.translation_latency, scim_kernel_now(d->k) - c->t_start);
    /* a physical write to the pinned buffer: nothing to translate or check */
    scim_msg *m = new_msg(d, SCIM_MSG_MEM_WRITE, d->mem);
    if (!m)
        return;
    m->addr = d->backup_base + (uint64_t)c->slot * 4096 + (rc->va & 0xfff);
    m->len = rc->len;
    m->pasid = rc->pasid;
    m->tag = (uint64_t)ci;
    m->wire_bytes = scim_fabric_wire_bytes(d->f, rc->len);
    scim_fabric_send(d->f, m);
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

/* Every translation answer lands here, whoever walked. */
static void xlat_result(scim_device *d, int32_t xi, int32_t status, uint64_t page_pa, unsigned shift,
                        unsigned perms)
{
    xlat *x = &d->xlats[xi];
    if (status == SCIM_RESP_INVALID) {
        fail_waiters(d, x);
        return;
    }
    bool ok = status == SCIM_RESP_OK && (perms & SCIM_PERM_R);
    if (ok)
        cache_translation(d, x->pasid, x->page << 12, page_pa, shift, perms);
    if (x->prefetch) {
        x->used = false; /* nobody waits; a missing page will fault when needed */
        return;
    }
    /* Serve every waiter the answer allows; keep the rest. */
    uint64_t mask = (1ull << shift) - 1;
    int32_t ci = x->head, keep_head = NONE, keep_tail = NONE;
    x->head = NONE;
    while (ci != NONE) {
        int32_t next = d->chunks[ci].next;
        const scim_replay_chunk *rc = chunk_of(d, ci);
        if (ok && usable(perms, rc->write)) {
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
    /* Not present, or not writable: ask the OS for the page, and let the
     * fault policy decide what the waiting requests do meanwhile. */
    d->st.faults++;
    x->write = false;
    x->head = NONE;
    x->tail = NONE;
    for (ci = keep_head; ci != NONE;) {
        int32_t next = d->chunks[ci].next;
        const scim_replay_chunk *rc = chunk_of(d, ci);
        x->write |= rc->write;
        bool away = d->p.fault_policy == SCIM_FAULT_RETRY || d->p.fault_policy == SCIM_FAULT_DROP;
        if (d->p.fault_policy == SCIM_FAULT_BACKUP && rc->write) {
            if (d->n_free_backup) {
                backup_write(d, ci);
                ci = next;
                continue;
            }
            d->st.backup_full++;
        }
        if (away) {
            bounce(d, ci);
        } else {
            d->chunks[ci].next = NONE;
            if (x->tail == NONE)
                x->head = ci;
            else
                d->chunks[x->tail].next = ci;
            x->tail = ci;
        }
        ci = next;
    }
    send_pri(d, xi);
}

static void need_translation(scim_device *d, int32_t ci)
{
    chunk *c = &d->chunks[ci];
    const scim_replay_chunk *rc = chunk_of(d, ci);
    uint64_t page = rc->va >> 12;
    c->state = CH_XLAT_WAIT;
    c->next = NONE;
    uint32_t space = c->space;
    int32_t xi = xlat_find(d, space, page);
    if (xi != NONE) {
        xlat *x = &d->xlats[xi];
        if (x->state == XL_PRI && (d->p.fault_policy == SCIM_FAULT_RETRY || d->p.fault_policy == SCIM_FAULT_DROP)) {
            bounce(d, ci); /* its page request is still out: NACK again */
            return;
        }
        d->st.xlat_merged++;
        x->prefetch = false;
        if (x->tail == NONE)
            x->head = ci;
        else
            d->chunks[x->tail].next = ci;
        x->tail = ci;
        x->write |= rc->write;
        return;
    }
    xi = xlat_new(d, space, page, rc->write, false);
    if (xi == NONE)
        return;
    d->xlats[xi].head = d->xlats[xi].tail = ci;
    request_translation(d, xi);
    if (d->p.walk == SCIM_WALK_SOFTWARE)
        return; /* an interrupt per page is not worth prefetching */
    for (uint64_t k = 1; k <= d->p.prefetch; k++) {
        uint64_t va = (page + k) << 12;
        if (scim_tlb_probe(d->iotlb, space, va, NULL) || xlat_find(d, space, page + k) != NONE)
            continue;
        int32_t pi = xlat_new(d, space, page + k, false, true);
        if (pi == NONE)
            return;
        d->st.xlat_prefetches++;
        request_translation(d, pi);
    }
}

static void iotlb_done(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    int32_t ci = (int32_t)arg;
    const scim_replay_chunk *rc = chunk_of(d, ci);
    scim_tlb_entry e;
    if (scim_tlb_lookup(d->iotlb, d->chunks[ci].space, rc->va, &e) == 1 && usable(e.perms, rc->write)) {
        if (d->utlb)
            scim_tlb_insert(d->utlb, &e, NULL);
        to_memory(d, ci, (e.pfn << 12) + (rc->va & ((1ull << e.page_shift) - 1)));
        return;
    }
    need_translation(d, ci);
}

static void utlb_done(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    int32_t ci = (int32_t)arg;
    const scim_replay_chunk *rc = chunk_of(d, ci);
    scim_tlb_entry e;
    if (scim_tlb_lookup(d->utlb, d->chunks[ci].space, rc->va, &e) == 1 && usable(e.perms, rc->write)) {
        to_memory(d, ci, (e.pfn << 12) + (rc->va & ((1ull << e.page_shift) - 1)));
        return;
    }
    scim_kernel_schedule(d->k, d->iotlb_time, SCIM_PRIO_DEFAULT, iotlb_done, d, arg);
}

/* The replay engine hands the device a chunk (or a retried one comes back). */
static void start_chunk(void *owner, uint32_t id, const scim_replay_chunk *rc)
{
    scim_device *d = owner;
    chunk *c = &d->chunks[id];
    if (c->state != CH_RETRY)
        c->t_start = scim_kernel_now(d->k);
    c->next = NONE;
    c->space = d->p.scheme == SCIM_SCHEME_IOMMU_MAP ? d->p.domain : rc->pasid;
    if (d->p.scheme == SCIM_SCHEME_PIN) {
        /* the driver wrote the page's physical address in the request's
         * descriptor list: read it instead of translating */
        c->state = CH_DESC;
        scim_msg *m = new_msg(d, SCIM_MSG_MEM_READ, d->mem);
        if (!m)
            return;
        uint32_t req = scim_replay_request_of(d->replay, id), page = scim_replay_page_index(d->replay, id);
        m->addr = d->desc_base + (uint64_t)req * 4096 + (uint64_t)page * 8;
        m->len = 8;
        m->flags = SCIM_MEMF_VALUE;
        m->pasid = rc->pasid;
        m->tag = DESC_TAG | id;
        m->wire_bytes = scim_fabric_wire_bytes(d->f, 0);
        d->st.desc_reads++;
        scim_fabric_send(d->f, m);
        return;
    }
    c->state = CH_LOOKUP;
    if (d->utlb)
        scim_kernel_schedule(d->k, d->utlb_time, SCIM_PRIO_DEFAULT, utlb_done, d, id);
    else
        scim_kernel_schedule(d->k, d->iotlb_time, SCIM_PRIO_DEFAULT, iotlb_done, d, id);
}

static void walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    scim_device *d = owner;
    int32_t status = r->status == SCIM_WALK_OK ? SCIM_RESP_OK
                     : r->status == SCIM_WALK_NOT_PRESENT ? SCIM_RESP_NOT_PRESENT : SCIM_RESP_INVALID;
    xlat_result(d, (int32_t)cookie, status, r->page_pa, r->shift, r->perms);
}

static void on_pri_resp(scim_device *d, scim_msg *m)
{
    int32_t xi = (int32_t)m->tag;
    xlat *x = &d->xlats[xi];
    scim_hist_record(d->st.fault_latency, scim_kernel_now(d->k) - x->pri_sent);
    if (m->flags & SCIM_PRIF_AUTO)
        d->st.pri_auto++;
    int32_t status = m->status;
    scim_msg_free(d->f, m);
    if (status != SCIM_RESP_OK) {
        d->st.pri_failed++;
        fail_waiters(d, x);
        return;
    }
    if (x->head == NONE) {
        x->used = false; /* nobody stayed (retry, drop, backup): they come back on their own */
        return;
    }
    request_translation(d, xi);
}

/* ---- memory responses, OS answers, shadow copy ---- */

static void on_mem_resp(scim_device *d, scim_msg *m)
{
    if (m->tag & SCIM_WALK_TAG) {
        scim_walker_on_mem_resp(d->walker, m);
        return;
    }
    if (m->tag & DESC_TAG) {
        int32_t di = (int32_t)(m->tag & ~DESC_TAG);
        uint64_t pa = m->data + (chunk_of(d, di)->va & 0xfff);
        scim_msg_free(d->f, m);
        to_memory(d, di, pa);
        return;
    }
    int32_t ci = (int32_t)m->tag;
    scim_msg_free(d->f, m);
    chunk *c = &d->chunks[ci];
    if (c->state == CH_BACKUP) {
        /* the data is safe in the buffer: the DMA is done; a CPU copies it
         * once the page is mapped, then the slot is free again */
        const scim_replay_chunk *rc = chunk_of(d, ci);
        scim_msg *cm = new_msg(d, SCIM_MSG_OS_REQ, d->os);
        if (cm) {
            cm->flags = SCIM_OS_OP_BACKUP;
            cm->pasid = rc->pasid;
            cm->addr = rc->va;
            cm->len = rc->len;
            cm->tag = c->slot;
            cm->wire_bytes = scim_fabric_wire_bytes(d->f, 16);
            scim_fabric_send(d->f, cm);
        }
        chunk_complete(d, ci, false);
        return;
    }
    if (d->checker)
        scim_obs_access_end(d->checker, c->pa);
    chunk_complete(d, ci, false);
}

/* walk shadow: the copy lives behind its own fabric node, one entry read
 * costing shadow.latency. */
static void shadow_reply(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    const uint64_t *v = scim_u64map_get(&d->shadow, m->addr);
    m->data = v ? *v : 0;
    scim_fabric_reply(d->f, m, SCIM_MSG_MEM_RESP, scim_fabric_wire_bytes(d->f, 8), SCIM_RESP_OK);
}

static void on_shadow_recv(void *ctx, scim_msg *m)
{
    scim_device *d = ctx;
    if (m->type != SCIM_MSG_MEM_READ) {
        scim_kernel_fail(d->k, SCIM_EINVARIANT, "%s's shadow memory got a %s message", d->name,
                         scim_msg_type_name(m->type));
        scim_msg_free(d->f, m);
        return;
    }
    scim_kernel_schedule(d->k, d->p.shadow_latency, SCIM_PRIO_DEFAULT, shadow_reply, d, (uint64_t)(uintptr_t)m);
}

int scim_device_shadow_load(scim_device *d, uint64_t entry_pa, uint64_t value)
{
    if (value == 0) {
        scim_u64map_remove(&d->shadow, entry_pa);
        return 0;
    }
    uint64_t *v = scim_u64map_upsert(&d->shadow, entry_pa, value);
    if (!v)
        return SCIM_ENOMEM;
    *v = value;
    return 0;
}

/* An update of the copy: entries as (pa, value) pairs; applied after
 * shadow.latency per entry, then acknowledged. */
static void sync_apply(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    const uint64_t *pairs = m->cookie;
    for (uint64_t i = 0; i < m->len; i++)
        if (scim_device_shadow_load(d, pairs[2 * i], pairs[2 * i + 1]) != 0)
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
    d->st.shadow_syncs += m->len;
    m->cookie = NULL; /* the OS owns the update */
    scim_fabric_reply(d->f, m, SCIM_MSG_SYNC_ACK, scim_fabric_wire_bytes(d->f, 0), SCIM_RESP_OK);
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

/* Schemes pin and iommu-map: the driver prepares each I/O before the
 * device may start it (pin its pages, or map them in the I/O address
 * space) and releases it after. */
static void send_io_op(scim_device *d, uint32_t op, uint32_t req, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_msg *m = new_msg(d, SCIM_MSG_OS_REQ, d->os);
    if (!m)
        return;
    m->flags = op;
    m->pasid = pasid;
    m->addr = rec->addr;
    m->len = rec->size;
    m->tag = req;
    m->data = rec->op == SCIM_OP_WRITE ? 1ull << 63 : 0;
    m->wire_bytes = scim_fabric_wire_bytes(d->f, 16);
    scim_fabric_send(d->f, m);
}

static bool request_begin(void *owner, uint32_t req, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_device *d = owner;
    send_io_op(d, d->p.scheme == SCIM_SCHEME_PIN ? SCIM_OS_OP_IO_PIN : SCIM_OS_OP_IO_MAP, req, rec, pasid);
    return false;
}

static void request_end(void *owner, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error)
{
    scim_device *d = owner;
    if (!d->prepared[req])
        return; /* the driver could not prepare it: nothing to release */
    d->prepared[req] = false;
    d->io_pending++;
    send_io_op(d, d->p.scheme == SCIM_SCHEME_PIN ? SCIM_OS_OP_IO_UNPIN : SCIM_OS_OP_IO_UNMAP, req, rec, pasid);
}

static void on_recv(void *ctx, scim_msg *m)
{
    scim_device *d = ctx;
    switch (m->type) {
    case SCIM_MSG_MEM_RESP:
        on_mem_resp(d, m);
        return;
    case SCIM_MSG_ATS_RESP: {
        int32_t xi = (int32_t)m->tag;
        int32_t status = m->status;
        uint64_t pa = m->addr;
        unsigned shift = SCIM_ATS_SHIFT(m->data), perms = SCIM_ATS_PERMS(m->data);
        scim_msg_free(d->f, m);
        xlat_result(d, xi, status, pa, shift, perms);
        return;
    }
    case SCIM_MSG_PRI_RESP:
        on_pri_resp(d, m);
        return;
    case SCIM_MSG_INV_REQ:
        on_inv_req(d, m);
        return;
    case SCIM_MSG_SYNC:
        scim_kernel_schedule(d->k, d->p.shadow_latency * (m->len ? m->len : 1), SCIM_PRIO_DEFAULT, sync_apply, d,
                             (uint64_t)(uintptr_t)m);
        return;
    case SCIM_MSG_OS_RESP: {
        uint32_t op = m->flags;
        bool error = m->status != SCIM_RESP_OK;
        uint32_t slot = (uint32_t)m->tag;
        scim_msg_free(d->f, m);
        if (op == SCIM_OS_OP_BACKUP) {
            d->free_backup[d->n_free_backup++] = slot;
        } else if (op == SCIM_OS_OP_IO_PIN || op == SCIM_OS_OP_IO_MAP) {
            d->prepared[slot] = !error;
            scim_replay_request_ready(d->replay, slot, error);
        } else if (op == SCIM_OS_OP_IO_UNPIN || op == SCIM_OS_OP_IO_UNMAP) {
            d->io_pending--;
            if (error)
                scim_kernel_fail(d->k, SCIM_EINVARIANT, "device '%s': the driver failed to release request %u",
                                 d->name, slot);
        } else {
            scim_replay_os_done(d->replay, error);
        }
        return;
    }
    default:
        scim_kernel_fail(d->k, SCIM_EINVARIANT, "device '%s' got an unexpected %s message from '%s'", d->name,
                         scim_msg_type_name(m->type), scim_fabric_node_name(d->f, m->src));
        scim_msg_free(d->f, m);
    }
}

/* ---- life cycle ---- */

scim_device *scim_device_create(scim_kernel *k, scim_fabric *f, const char *name, const scim_device_params *p,
                                scim_stats *stats, scim_err *err)
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
    d->iommu = d->mem = d->os = d->shadow_node = SCIM_NODE_NONE;
    d->levels = 4;
    scim_u64map_init(&d->shadow);
    scim_fifo_init(&d->invq, sizeof(scim_msg *));
    static const scim_replay_ops ops = {.chunk = start_chunk, .os_op = send_os_op};
    static const scim_replay_ops driver_ops = {.chunk = start_chunk, .os_op = send_os_op,
                                               .request_begin = request_begin, .request_end = request_end};
    char tenants_key[96];
    snprintf(tenants_key, sizeof tenants_key, "devices.%s.tenants", name);
    scim_replay_params rp = {p->trace, p->max_outstanding, (uint32_t)p->pasid, "dma", p->tenants, p->n_tenants,
                             tenants_key};
    if (scim_clock_init(&d->clock, p->clock_hz, err) != 0)
        goto fail;
    d->iotlb_time = scim_clock_cycles(&d->clock, p->iotlb.latency);
    d->utlb_time = scim_clock_cycles(&d->clock, p->utlb.latency);
    d->replay = scim_replay_create(k, name, &rp, p->scheme == SCIM_SCHEME_SCIMITAR ? &ops : &driver_ops, d, stats,
                                   err);
    if (!d->replay)
        goto fail;
    d->chunks = calloc(p->max_outstanding, sizeof *d->chunks);
    d->free_backup = calloc(p->backup_slots, sizeof *d->free_backup);
    d->prepared = calloc(p->max_outstanding + 1, sizeof *d->prepared);
    if (!d->chunks || !d->free_backup || !d->prepared) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating device '%s'", name);
        goto fail;
    }
    for (uint64_t i = 0; i < p->backup_slots; i++)
        d->free_backup[d->n_free_backup++] = (uint32_t)(p->backup_slots - 1 - i);
    scim_tlb_params tp;
    scim_tlb_keys_to_params(&p->iotlb, p->seed, &tp);
    if (!(d->iotlb = scim_tlb_create(&tp, err)))
        goto fail;
    if (p->utlb.entries) {
        scim_tlb_keys_to_params(&p->utlb, p->seed + 1, &tp);
        if (!(d->utlb = scim_tlb_create(&tp, err)))
            goto fail;
    }
    if (scim_fabric_add_node(f, name, on_recv, d, &d->node, err) != 0)
        goto fail;
    if (p->walk == SCIM_WALK_DEVICE || p->walk == SCIM_WALK_SHADOW) {
        scim_walker_params wp = {p->walkers, p->pwc_entries, scim_clock_cycles(&d->clock, p->pwc_latency),
                                 p->seed + 2};
        if (!(d->walker = scim_walker_create(k, f, d->node, name, &wp, walk_done, d, stats, err)))
            goto fail;
    }
    if (p->walk == SCIM_WALK_SHADOW) {
        snprintf(prefix, sizeof prefix, "%s_shadow", name);
        if (scim_fabric_add_node(f, prefix, on_shadow_recv, d, &d->shadow_node, err) != 0)
            goto fail;
        scim_walker_set_memory(d->walker, d->shadow_node);
    }
    if (scim_stats_register(stats, name, scim_device_stat_decls, scim_device_stat_decl_count, &d->st, err))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.iotlb", name);
    if (scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(d->iotlb), err))
        goto fail;
    if (d->utlb) {
        snprintf(prefix, sizeof prefix, "%s.utlb", name);
        if (scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                                (void *)scim_tlb_counters(d->utlb), err))
            goto fail;
    }
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
    scim_tlb_destroy(d->utlb);
    scim_walker_destroy(d->walker);
    scim_u64map_free(&d->shadow);
    for (size_t i = 0; i < scim_fifo_len(&d->invq); i++)
        scim_msg_free(d->f, *(scim_msg **)scim_fifo_at(&d->invq, i));
    scim_fifo_free(&d->invq);
    free(d->chunks);
    free(d->xlats);
    free(d->free_backup);
    free(d->prepared);
    free(d);
}

scim_node_id scim_device_node(const scim_device *d) { return d->node; }
const char *scim_device_name(const scim_device *d) { return d->name; }
const scim_tlb *scim_device_iotlb(const scim_device *d) { return d->iotlb; }

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

void scim_device_set_address_space(scim_device *d, uint64_t root_pa, int levels)
{
    d->root = root_pa;
    d->levels = levels;
}

void scim_device_set_backup(scim_device *d, uint64_t base_pa) { d->backup_base = base_pa; }
void scim_device_set_descriptors(scim_device *d, uint64_t base_pa) { d->desc_base = base_pa; }
void scim_device_set_exposure(scim_device *d, scim_exposure *e) { d->exposure = e; }

int scim_device_start(scim_device *d, scim_err *err) { return scim_replay_start(d->replay, err); }

bool scim_device_finished(const scim_device *d)
{
    return scim_replay_finished(d->replay) && scim_fifo_len(&d->invq) == 0 && d->n_free_backup == d->p.backup_slots &&
           d->io_pending == 0;
}

void scim_device_describe(const scim_device *d, char *buf, size_t len)
{
    size_t waiting_xlat = 0, waiting_pri = 0;
    for (size_t i = 0; i < d->n_xlats; i++) {
        if (d->xlats[i].used && d->xlats[i].state == XL_XLATE)
            waiting_xlat++;
        if (d->xlats[i].used && d->xlats[i].state == XL_PRI)
            waiting_pri++;
    }
    char r[256];
    scim_replay_describe(d->replay, r, sizeof r);
    snprintf(buf, len,
             "device %s; %zu translation(s) and %zu page request(s) outstanding, %zu invalidation(s) queued, %llu "
             "backup slot(s) waiting for their copy",
             r, waiting_xlat, waiting_pri, scim_fifo_len(&d->invq),
             (unsigned long long)(d->p.backup_slots - d->n_free_backup));
}

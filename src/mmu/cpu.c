/* CPU core model. Modelling notes in include/scimitar/cpu.h. */
#include "mmu/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fifo.h"
#include "core/page.h"
#include "core/port.h"
#include "core/rng.h"
#include "mmu/pagetable.h"
#include "mmu/replay.h"
#include "mmu/walker.h"

enum chunk_state { CH_FREE, CH_LOOKUP, CH_WALK, CH_FAULT, CH_MEM };

typedef struct chunk {
    int state;
    bool blocks_ack;
    uint8_t shift;      /* CH_MEM: page size of the translation the access used */
    uint64_t pa;
    scim_time_t t_start;
    scim_time_t fault_start;
} chunk;

typedef struct cpu_stats {
    uint64_t faults;
    uint64_t fault_errors;
    uint64_t ipis;
    uint64_t snoops;
    uint64_t inv_time_ps;
    scim_hist *translation_latency;
    scim_hist *fault_latency;
} cpu_stats;

/* What the core's OS requests are, in their port ids. */
enum os_request_kind { OSR_TRACE_OP = 0, OSR_FAULT = 1 };
#define OSR_ID(kind, chunk) ((uint64_t)(kind) << 32 | (chunk))

struct scim_cpu {
    scim_kernel *k;
    scim_port *port;
    char name[48];
    scim_cpu_params p;
    scim_clock clock;
    scim_time_t l1_time, l2_time;
    scim_node_id mem, os;
    uint64_t root;
    const scim_pt_format *fmt;
    scim_tlb *l1, *l2;
    scim_walker *walker;
    scim_stage2 s2;      /* a guest's core: its VM's stage 2 */
    bool has_s2;
    const scim_observer *checker;
    scim_replay *replay;
    chunk *chunks;
    /* invalidations, one at a time */
    scim_fifo invq; /* of scim_msg *: the front one is being processed */
    bool inv_busy;
    uint32_t ack_blocking;
    cpu_stats st;
};

const scim_stat_decl scim_cpu_stat_decls[] = {
    {"translation.latency", SCIM_STAT_HIST, "ps",
     "From an access's L1 lookup to its physical address being known (faults included).",
     offsetof(cpu_stats, translation_latency)},
    {"faults", SCIM_STAT_COUNTER, "count", "Page faults (traps to the OS).", offsetof(cpu_stats, faults)},
    {"fault.errors", SCIM_STAT_COUNTER, "count", "Faults the OS could not resolve (segmentation faults).",
     offsetof(cpu_stats, fault_errors)},
    {"fault.latency", SCIM_STAT_HIST, "ps", "From the trap to the OS's answer.", offsetof(cpu_stats, fault_latency)},
    {"ipis", SCIM_STAT_COUNTER, "count", "Shootdown IPIs handled.", offsetof(cpu_stats, ipis)},
    {"snoops", SCIM_STAT_COUNTER, "count", "Broadcast invalidations snooped.", offsetof(cpu_stats, snoops)},
    {"inv_time_ps", SCIM_STAT_COUNTER, "ps", "Core time spent handling IPIs and snoops.",
     offsetof(cpu_stats, inv_time_ps)},
};
const size_t scim_cpu_stat_decl_count = SCIM_COUNT_OF(scim_cpu_stat_decls);

const scim_param_decl scim_cpu_param_decls[] = {
    {"trace", SCIM_P_STRING, NULL, NULL, false, 0, 0, NULL, offsetof(scim_cpu_params, trace),
     "Load/store trace to replay (docs/traces.md); relative to the configuration file.", NULL},
    {"pasid", SCIM_P_U64, NULL, NULL, true, 1, 1048575, NULL, offsetof(scim_cpu_params, pasid),
     "Address space (process PASID) the core runs.", NULL},
    {"max_outstanding", SCIM_P_U64, "1", "accesses", true, 1, 65536, NULL,
     offsetof(scim_cpu_params, max_outstanding),
     "Accesses in flight at most (1: an in-order core that waits for each miss).", "assumption"},
    {"clock", SCIM_P_FREQ, "3GHz", "Hz", true, 1e6, 1e12, NULL, offsetof(scim_cpu_params, clock_hz),
     "Core clock; TLB and walk-cache latencies are counted in its cycles.", "assumption: a 3 GHz server core"},
    SCIM_TLB_KEY_DECLS("l1tlb.", scim_cpu_params, l1tlb, "L1 DTLB", "64", "4", "lru", "4K+2M+1G", "1",
                       "Intel Optimization Manual table 2-15 (Skylake): 64 entries, 4-way (4 KiB); "
                       "one array here for every page size",
                       "assumption: an L1 hit is hidden in the load pipeline"),
    SCIM_TLB_KEY_DECLS("l2tlb.", scim_cpu_params, l2tlb, "L2 STLB", "1536", "12", "lru", "4K+2M", "12",
                       "Intel Optimization Manual table 2-15 (Skylake STLB): 1536 entries, 12-way, 4 KiB + 2 MiB",
                       "~12 cycles for an STLB hit (microbenchmark on Haswell)"),
    {"pwc.entries", SCIM_P_U64, "32", "entries", true, 0, 65536, NULL, offsetof(scim_cpu_params, pwc_entries),
     "Entries of each paging-structure cache (one per upper level: PDE, PDPTE, PML4E[, PML5E]); 0 disables them.",
     "assumption (Intel does not publish the sizes; SDM 4.10.3 describes the caches)"},
    {"pwc.latency", SCIM_P_U64, "1", "cycles", true, 0, 1000, NULL, offsetof(scim_cpu_params, pwc_latency),
     "Lookup latency of the paging-structure caches (all levels in parallel).", "assumption"},
    {"walkers", SCIM_P_U64, "2", "walkers", true, 1, 64, NULL, offsetof(scim_cpu_params, walkers),
     "Page walks in progress at once; further misses wait.",
     "Intel Optimization Manual (Skylake): two page walks in parallel"},
    {"s2tlb.entries", SCIM_P_U64, "16", "entries", true, 0, 65536, NULL, offsetof(scim_cpu_params, s2tlb_entries),
     "A core of a VM's process: entries of the cache of guest-physical -> host-physical pages its 2D walks "
     "use for guest tables and data pages (the TLBs hold combined entries); 0 disables it.",
     "assumption: Intel CPUs cache guest-physical mappings (SDM Vol. 3C 29.4.1); sizes unpublished, as "
     "iommu.s2tlb.entries"},
    {"s2pwc.entries", SCIM_P_U64, "16", "entries", true, 0, 65536, NULL, offsetof(scim_cpu_params, s2pwc_entries),
     "A core of a VM's process: entries of each stage-2 paging-structure cache (EPT PDE, PDPTE, PML4E); 0 "
     "disables them.",
     "assumption: Intel caches EPT paging-structure entries (SDM Vol. 3C 29.4.1); as iommu.s2pwc.entries"},
    {"ipi_cost", SCIM_P_TIME, "1us", "ns", false, 0, 0, NULL, offsetof(scim_cpu_params, ipi_cost),
     "Core time to take a shootdown IPI: interrupt entry, flush, return (the core issues nothing meanwhile).",
     "recalled magnitude: IPI shootdowns cost ~1-5 us on two sockets (Amit, ATC'17)"},
    {"snoop_latency", SCIM_P_TIME, "20ns", "ns", false, 0, 0, NULL, offsetof(scim_cpu_params, snoop_latency),
     "Time to apply a snooped broadcast invalidation (broadcast protocol; no interrupt).", "assumption"},
    {"link.latency", SCIM_P_TIME, "10ns", "ns", false, 0, 0, NULL, offsetof(scim_cpu_params, link_latency),
     "Default topology only: one-way latency of the core's link to the memory controller.",
     "derived: ~110 ns load-to-use DRAM latency = 2 x 10 ns + 90 ns"},
    {"link.bandwidth", SCIM_P_BANDWIDTH, "64GB/s", "B/s", false, 0, 0, NULL,
     offsetof(scim_cpu_params, link_bandwidth), "Default topology only: bandwidth of that link.", "assumption"},
};
const size_t scim_cpu_param_decl_count = SCIM_COUNT_OF(scim_cpu_param_decls);

static const scim_replay_chunk *chunk_of(const scim_cpu *c, int32_t ci)
{
    return scim_replay_chunk_of(c->replay, (uint32_t)ci);
}

/* ---- completion and invalidation ---- */

static void ack_next(scim_cpu *c);

static scim_msg *inv_front(const scim_cpu *c) { return *(scim_msg **)scim_fifo_at(&c->invq, 0); }

static void ack_complete(scim_cpu *c)
{
    scim_msg *m = NULL; /* the queue is not empty here; the compiler cannot know */
    scim_fifo_pop(&c->invq, &m);
    c->inv_busy = false;
    scim_port_reply(c->port, m, SCIM_MSG_INV_DONE, scim_port_wire(c->port, 0), SCIM_RESP_OK);
    ack_next(c);
}

static void chunk_complete(scim_cpu *c, int32_t ci, bool error)
{
    chunk *ch = &c->chunks[ci];
    if (ch->blocks_ack) {
        ch->blocks_ack = false;
        if (--c->ack_blocking == 0)
            ack_complete(c);
    }
    ch->state = CH_FREE;
    scim_replay_chunk_done(c->replay, (uint32_t)ci, error);
}

/* What a shootdown of s removes from the core's translation caches. */
static void drop_translations(scim_cpu *c, const scim_inv_scope *s)
{
    scim_tlb_invalidate_scope(c->l1, s);
    scim_tlb_invalidate_scope(c->l2, s);
    /* INVLPG also drops paging-structure-cache entries (SDM 4.10.4.1); the
     * tables themselves may be freed after this shootdown. */
    scim_walker_invalidate(c->walker, s);
    /* a guest's shootdown may follow a stage-2 change (the hypervisor took
     * the page back): drop the VM's guest-physical mappings too, as INVEPT
     * does (SDM Vol. 3C 29.4.3.1) */
    if (c->has_s2 && (s->kind == SCIM_INV_GLOBAL || s->pasid == c->p.pasid))
        scim_walker_invalidate_s2tlb(c->walker, c->s2.vmid);
}

static void inv_exec(void *ctx, uint64_t arg)
{
    scim_cpu *c = ctx;
    const scim_inv_scope *s = &inv_front(c)->u.inv.scope;
    drop_translations(c, s);
    c->ack_blocking = 0;
    for (uint64_t i = 0; i < c->p.max_outstanding; i++) {
        /* an access waits if the scope removed the translation it used */
        if (c->chunks[i].state == CH_MEM &&
            scim_inv_covers_page(s, chunk_of(c, (int32_t)i)->pasid, chunk_of(c, (int32_t)i)->va, c->chunks[i].shift)) {
            c->chunks[i].blocks_ack = true;
            c->ack_blocking++;
        }
    }
    if (c->ack_blocking == 0)
        ack_complete(c);
}

static void ack_next(scim_cpu *c)
{
    if (c->inv_busy || scim_fifo_len(&c->invq) == 0)
        return;
    c->inv_busy = true;
    scim_time_t cost;
    if (inv_front(c)->u.inv.broadcast) {
        c->st.snoops++;
        cost = c->p.snoop_latency;
    } else {
        c->st.ipis++;
        cost = c->p.ipi_cost;
        /* the interrupted core issues nothing while in the handler */
        scim_replay_pause(c->replay, scim_kernel_now(c->k) + cost);
    }
    c->st.inv_time_ps += cost;
    scim_kernel_schedule(c->k, cost, SCIM_PRIO_DEFAULT, inv_exec, c, 0);
}

static void on_inv(scim_cpu *c, scim_msg *m)
{
    if (!scim_fifo_push(&c->invq, &m)) {
        scim_kernel_fail(c->k, SCIM_ENOMEM, "out of host memory queueing invalidations");
        return;
    }
    ack_next(c);
}

/* ---- accesses ---- */

static void to_memory(scim_cpu *c, int32_t ci, uint64_t pa, unsigned shift)
{
    chunk *ch = &c->chunks[ci];
    const scim_replay_chunk *rc = chunk_of(c, ci);
    scim_hist_record(c->st.translation_latency, scim_kernel_now(c->k) - ch->t_start);
    if (c->checker && !scim_obs_access_begin(c->checker, c->name, rc->pasid, rc->va, pa, rc->len))
        return;
    ch->pa = pa;
    ch->shift = (uint8_t)shift;
    ch->state = CH_MEM;
    scim_msg *m = scim_port_msg(c->port, rc->write ? SCIM_MSG_MEM_WRITE : SCIM_MSG_MEM_READ, c->mem);
    if (!m)
        return;
    m->u.mem = (scim_mem_req){.pa = pa, .len = rc->len};
    m->wire_bytes = scim_port_wire(c->port, rc->write ? rc->len : 0);
    scim_port_request(c->port, SCIM_PORT_OWNER, (uint64_t)ci, m);
}

static bool allows(unsigned perms, bool write)
{
    return (perms & SCIM_PERM_R) && (!write || (perms & SCIM_PERM_W));
}

/* A TLB lookup that finds an entry the access may use (a hit on an entry
 * it may not use is still a use of it). */
static bool tlb_hit(scim_tlb *t, uint32_t pasid, uint64_t va, bool write, scim_tlb_entry *e)
{
    return scim_tlb_lookup(t, pasid, va, e) == 1 && allows(e->perms, write);
}

/* A walk's translation into the L2 and the L1 (the entry put in both). */
static scim_tlb_entry fill_tlbs(scim_cpu *c, uint32_t pasid, uint64_t va, const scim_walk_result *r)
{
    scim_tlb_entry e = {.pasid = pasid, .page_shift = (uint8_t)r->shift, .perms = (uint8_t)r->perms,
                        .vpn = va >> r->shift, .pfn = scim_pfn(r->page_pa), .aux = 0};
    scim_tlb_insert(c->l2, &e, NULL);
    scim_tlb_insert(c->l1, &e, NULL);
    return e;
}

static void fault(scim_cpu *c, int32_t ci)
{
    chunk *ch = &c->chunks[ci];
    const scim_replay_chunk *rc = chunk_of(c, ci);
    c->st.faults++;
    ch->state = CH_FAULT;
    ch->fault_start = scim_kernel_now(c->k);
    scim_msg *m = scim_port_msg(c->port, SCIM_MSG_OS_REQ, c->os);
    if (!m)
        return;
    m->u.os = (scim_os_req){.op = SCIM_OS_CPU_FAULT, .pasid = rc->pasid, .addr = rc->va, .write = rc->write};
    m->wire_bytes = scim_port_wire(c->port, SCIM_OS_REQ_BYTES);
    scim_port_request(c->port, SCIM_PORT_OWNER, OSR_ID(OSR_FAULT, (uint32_t)ci), m);
}

static void walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    scim_cpu *c = owner;
    int32_t ci = (int32_t)cookie;
    const scim_replay_chunk *rc = chunk_of(c, ci);
    if (r->status != SCIM_WALK_OK || !allows(r->perms, rc->write)) {
        fault(c, ci);
        return;
    }
    fill_tlbs(c, rc->pasid, rc->va, r);
    to_memory(c, ci, r->page_pa + scim_page_offset(rc->va, r->shift), r->shift);
}

static void start_walk(scim_cpu *c, int32_t ci)
{
    const scim_replay_chunk *rc = chunk_of(c, ci);
    c->chunks[ci].state = CH_WALK;
    /* the queue is unbounded: walks are bounded by max_outstanding */
    if (c->has_s2)
        scim_walker_walk_nested(c->walker, rc->pasid, rc->va, rc->write, c->root, c->fmt, &c->s2, (uint64_t)ci);
    else
        scim_walker_walk(c->walker, rc->pasid, rc->va, rc->write, c->root, c->fmt, (uint64_t)ci);
}

static void l2_done(void *ctx, uint64_t arg)
{
    scim_cpu *c = ctx;
    int32_t ci = (int32_t)arg;
    const scim_replay_chunk *rc = chunk_of(c, ci);
    scim_tlb_entry e;
    if (tlb_hit(c->l2, rc->pasid, rc->va, rc->write, &e)) {
        scim_tlb_insert(c->l1, &e, NULL);
        to_memory(c, ci, scim_pfn_addr(e.pfn) + scim_page_offset(rc->va, e.page_shift), e.page_shift);
        return;
    }
    start_walk(c, ci);
}

static void l1_done(void *ctx, uint64_t arg)
{
    scim_cpu *c = ctx;
    int32_t ci = (int32_t)arg;
    const scim_replay_chunk *rc = chunk_of(c, ci);
    scim_tlb_entry e;
    if (tlb_hit(c->l1, rc->pasid, rc->va, rc->write, &e)) {
        to_memory(c, ci, scim_pfn_addr(e.pfn) + scim_page_offset(rc->va, e.page_shift), e.page_shift);
        return;
    }
    scim_kernel_schedule(c->k, c->l2_time, SCIM_PRIO_DEFAULT, l2_done, c, arg);
}

static void start_chunk(void *owner, uint32_t id, const scim_replay_chunk *rc)
{
    scim_cpu *c = owner;
    c->chunks[id] = (chunk){.state = CH_LOOKUP, .t_start = scim_kernel_now(c->k)};
    scim_kernel_schedule(c->k, c->l1_time, SCIM_PRIO_DEFAULT, l1_done, c, id);
}

/* ---- functional warm-up (sim.warmup) ---- */

void scim_cpu_limit_records(scim_cpu *c, uint64_t records, scim_time_t until)
{
    scim_replay_limit(c->replay, records, until);
}

void scim_cpu_warm_unread(scim_cpu *c, const scim_trace_rec *rec, scim_time_t at, scim_time_t origin)
{
    scim_replay_warm_unread(c->replay, rec, at, origin);
}

int scim_cpu_warm_next(scim_cpu *c, scim_trace_rec *rec, uint32_t *pasid, scim_time_t *at, scim_err *err)
{
    return scim_replay_warm_next(c->replay, rec, pasid, at, err);
}

/* l1_done, l2_done and walk_done in one call. A fault's retry walks at
 * once in the timed path; here the caller calls again and the lookups are
 * made again: they miss, or hit the entry the walk then re-inserts, which
 * leaves every policy's replacement state as one use would. */
int scim_cpu_warm_access(scim_cpu *c, scim_physmem *pm, uint32_t pasid, uint64_t va, bool write, uint64_t *pa)
{
    /* a core runs one address space (its replay refuses a record of another PASID) */
    if (pasid != c->p.pasid)
        return SCIM_RESP_INVALID;
    scim_tlb_entry e;
    if (!tlb_hit(c->l1, pasid, va, write, &e)) {
        if (tlb_hit(c->l2, pasid, va, write, &e)) {
            scim_tlb_insert(c->l1, &e, NULL);
        } else {
            scim_walk_result r =
                c->has_s2 ? scim_walker_walk_now_nested(c->walker, pm, pasid, va, write, c->root, c->fmt, &c->s2)
                          : scim_walker_walk_now(c->walker, pm, pasid, va, write, c->root, c->fmt);
            if (r.status != SCIM_WALK_OK || !allows(r.perms, write))
                return SCIM_RESP_NOT_PRESENT;
            e = fill_tlbs(c, pasid, va, &r);
        }
    }
    if (pa)
        *pa = scim_pfn_addr(e.pfn) + scim_page_offset(va, e.page_shift);
    return 0;
}

void scim_cpu_warm_invalidate(scim_cpu *c, const scim_inv_scope *s) { drop_translations(c, s); }

static void send_os_op(void *owner, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_cpu *c = owner;
    scim_msg *m = scim_port_msg(c->port, SCIM_MSG_OS_REQ, c->os);
    if (!m)
        return;
    m->u.os = (scim_os_req){.op = SCIM_OS_TRACE_OP, .pasid = pasid, .addr = rec->addr, .len = rec->size, .rec = *rec};
    m->wire_bytes = scim_port_wire(c->port, SCIM_OS_REQ_BYTES);
    scim_port_request(c->port, SCIM_PORT_OWNER, OSR_ID(OSR_TRACE_OP, 0), m);
}

static void on_response(void *ctx, scim_msg *m)
{
    scim_cpu *c = ctx;
    if (m->type == SCIM_MSG_MEM_RESP) {
        int32_t ci = (int32_t)m->tag;
        scim_port_free(c->port, m);
        scim_obs_access_end(c->checker, c->chunks[ci].pa);
        chunk_complete(c, ci, false);
        return;
    }
    bool is_fault = (m->tag >> 32) == OSR_FAULT;
    int32_t ci = (int32_t)(uint32_t)m->tag;
    bool ok = m->status == SCIM_RESP_OK;
    scim_port_free(c->port, m);
    if (!is_fault) {
        scim_replay_os_done(c->replay, !ok);
        return;
    }
    scim_hist_record(c->st.fault_latency, scim_kernel_now(c->k) - c->chunks[ci].fault_start);
    if (!ok) {
        c->st.fault_errors++;
        chunk_complete(c, ci, true);
        return;
    }
    start_walk(c, ci); /* re-execute: the TLBs missed, so walk again */
}

static void on_request(void *ctx, scim_msg *m)
{
    scim_cpu *c = ctx;
    if (m->type == SCIM_MSG_IPI || m->type == SCIM_MSG_INV_REQ) {
        on_inv(c, m);
        return;
    }
    scim_kernel_fail(c->k, SCIM_EINVARIANT, "cpu '%s' got an unexpected %s", c->name, scim_msg_type_name(m->type));
    scim_port_free(c->port, m);
}

/* ---- life cycle ---- */

scim_cpu *scim_cpu_create(scim_kernel *k, scim_fabric *f, const char *name, const scim_cpu_params *p,
                          scim_stats *stats, scim_err *err)
{
    scim_cpu *c = calloc(1, sizeof *c);
    if (!c) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating cpu '%s'", name);
        return NULL;
    }
    char prefix[96];
    c->k = k;
    snprintf(c->name, sizeof c->name, "%s", name);
    scim_fifo_init(&c->invq, sizeof(scim_msg *));
    c->p = *p;
    c->mem = c->os = SCIM_NODE_NONE;
    c->fmt = &scim_pt_x86_4l;
    static const scim_replay_ops ops = {.chunk = start_chunk, .os_op = send_os_op};
    scim_replay_params rp = {p->trace, p->max_outstanding, (uint32_t)p->pasid, "mem", NULL, 0, NULL};
    if (scim_clock_init(&c->clock, p->clock_hz, err) != 0)
        goto fail;
    c->l1_time = scim_clock_cycles(&c->clock, p->l1tlb.latency);
    c->l2_time = scim_clock_cycles(&c->clock, p->l2tlb.latency);
    c->replay = scim_replay_create(k, name, &rp, &ops, c, stats, err);
    if (!c->replay)
        goto fail;
    c->chunks = calloc(p->max_outstanding, sizeof *c->chunks);
    if (!c->chunks) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating cpu '%s'", name);
        goto fail;
    }
    scim_tlb_params tp;
    snprintf(prefix, sizeof prefix, "%s.l1tlb", name);
    scim_tlb_keys_to_params(&p->l1tlb, scim_seed_for(p->seed, prefix), &tp);
    if (!(c->l1 = scim_tlb_create(&tp, err)))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.l2tlb", name);
    scim_tlb_keys_to_params(&p->l2tlb, scim_seed_for(p->seed, prefix), &tp);
    if (!(c->l2 = scim_tlb_create(&tp, err)))
        goto fail;
    if (!(c->port = scim_port_create(f, name, on_request, on_response, c, stats, err)))
        goto fail;
    scim_walker_params wp = {.walkers = p->walkers, .pwc_entries = p->pwc_entries,
                             .pwc_latency = scim_clock_cycles(&c->clock, p->pwc_latency), .seed = p->seed,
                             .nested = p->nested, .s2tlb_entries = p->s2tlb_entries,
                             .s2pwc_entries = p->s2pwc_entries};
    if (!(c->walker = scim_walker_create(k, name, &wp, walk_done, c, stats, err)) ||
        scim_walker_attach_port(c->walker, c->port, SCIM_NODE_NONE, err) != 0)
        goto fail;
    if (scim_stats_register(stats, name, scim_cpu_stat_decls, scim_cpu_stat_decl_count, &c->st, err))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.l1tlb", name);
    if (scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(c->l1), err))
        goto fail;
    snprintf(prefix, sizeof prefix, "%s.l2tlb", name);
    if (scim_stats_register(stats, prefix, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                            (void *)scim_tlb_counters(c->l2), err))
        goto fail;
    return c;
fail:
    scim_cpu_destroy(c);
    return NULL;
}

void scim_cpu_destroy(scim_cpu *c)
{
    if (!c)
        return;
    scim_replay_destroy(c->replay);
    scim_tlb_destroy(c->l1);
    scim_tlb_destroy(c->l2);
    scim_walker_destroy(c->walker);
    for (size_t i = 0; i < scim_fifo_len(&c->invq); i++)
        scim_port_free(c->port, *(scim_msg **)scim_fifo_at(&c->invq, i));
    scim_fifo_free(&c->invq);
    scim_port_destroy(c->port);
    free(c->chunks);
    free(c);
}

scim_node_id scim_cpu_node(const scim_cpu *c) { return scim_port_node(c->port); }
const char *scim_cpu_name(const scim_cpu *c) { return c->name; }

void scim_cpu_set_targets(scim_cpu *c, scim_node_id mem, scim_node_id os)
{
    c->mem = mem;
    c->os = os;
    scim_walker_set_memory(c->walker, mem);
}

void scim_cpu_set_checker(scim_cpu *c, const scim_observer *chk) { c->checker = chk; }

void scim_cpu_set_stage2(scim_cpu *c, const scim_stage2 *s2)
{
    c->s2 = *s2;
    c->has_s2 = true;
}

size_t scim_cpu_tlbs(const scim_cpu *c, const scim_tlb **out, const char **names, size_t max)
{
    size_t n = 0;
    static const char *const tl[2] = {"l1tlb", "l2tlb"};
    const scim_tlb *t[2] = {c->l1, c->l2};
    for (int i = 0; i < 2 && n < max; i++, n++) {
        out[n] = t[i];
        names[n] = tl[i];
    }
    return n + scim_walker_caches(c->walker, out + n, names + n, max - n);
}

/* Boot: load the root pointer (CR3, TTBR0, satp) and the paging mode. */
void scim_cpu_set_address_space(scim_cpu *c, uint64_t root_pa, const scim_pt_format *fmt)
{
    c->root = root_pa;
    c->fmt = fmt;
}

int scim_cpu_start(scim_cpu *c, scim_err *err) { return scim_replay_start(c->replay, err); }

bool scim_cpu_finished(const scim_cpu *c) { return scim_replay_finished(c->replay) && scim_fifo_len(&c->invq) == 0; }

void scim_cpu_describe(const scim_cpu *c, char *buf, size_t len)
{
    char r[256];
    scim_replay_describe(c->replay, r, sizeof r);
    snprintf(buf, len, "cpu %s; %llu walk(s) in progress, %zu invalidation(s) queued", r,
             (unsigned long long)scim_walker_busy(c->walker), scim_fifo_len(&c->invq));
}

bool scim_cpu_oldest(const scim_cpu *c, scim_time_t *since, char *what, size_t len)
{
    return scim_replay_oldest(c->replay, since, what, len);
}

scim_replay *scim_cpu_replay(scim_cpu *c) { return c->replay; }

void scim_cpu_position(const scim_cpu *c, uint64_t *done, uint64_t *total)
{
    scim_replay_position(c->replay, done, total);
}

const scim_port *scim_cpu_port(const scim_cpu *c) { return c->port; }

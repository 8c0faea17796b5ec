/* Functional warm-up (sim.warmup): before the detailed run, the first N
 * records of every agent's trace are run without time, one at a time, in
 * the order of the times they would be issued if no agent ever waited
 * (ties: devices before CPUs, each in configuration order). A read or
 * write leaves the translation caches (device micro-TLB and IOTLB, the
 * IOMMU's IOTLB, context cache and paging-structure caches, CPU TLBs and
 * theirs) and the OS (pages made present, frames taken) as a timed run
 * of the same request alone would; an mmap, munmap or mprotect record is
 * applied, its shootdown done at once in every cache. Then every
 * statistic is zeroed but the levels (frames in use), so the run's
 * statistics are those of the detailed part, and the agents replay the
 * rest of their traces from time 0 (an @N time counted from the last
 * warm-up record's).
 *
 * Each block does its own part through its warm verbs; this file only
 * carries a request from one to the next, as the fabric's messages would
 * (device -> IOMMU, its own walker or the OS's interrupt handler -> OS on
 * a fault -> device; a device without an ATC: the IOMMU translates and
 * stalls; schemes pin and iommu-map: the driver prepares the I/O, the
 * device translates in the space it names, the driver releases it, the
 * scheme's warm_begin and warm_end; walk shadow: the OS's entry updates
 * to the copies after every OS call; a process of a VM: the hypervisor's
 * stage-2 fault asked before the guest's). What it does not model
 * (docs/architecture.md, "Warm-up"): contention and timing, merging of
 * concurrent misses, and a stage-2 reclaim on a timer (refused). The OS
 * reclaims as its kswapd would, at once; its shootdowns reach every cache
 * through the callback registered here. A warm-up by time may stop
 * earlier, at a host's warm point (sample.c): the loop is the same, only
 * its end moves, so the state there is that of a warm-up to that time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/page.h"
#include "sim/sim_internal.h"

/* Faults one access may take before it counts as an error: a page its own
 * fault's reclaim evicted is faulted in again, as a timed agent faults
 * again; a bound, so that a page that can never stay present ends. */
#define FAULT_TRIES 4

/* Records between two calls of the progress hook (a fraction of a second) */
#define WARM_PROGRESS_MASK ((UINT64_C(1) << 16) - 1)

typedef struct warm_agent {
    bool cpu;
    void *self;
    const char *name;
    const char *trace; /* for messages */
    scim_trace_rec rec;
    uint32_t pasid;
    scim_time_t at;
    uint64_t taken;
    bool have;
} warm_agent;

/* A timer has one clock: the records' issue times (sim.warmup_until's);
 * a warm-up by records has none common to every agent. */
static int refuse_s2_reclaim(scim_sim *sim, const char *vm)
{
    const scim_cfg_node *n = scim_cfg_get_path(scim_cfg_root(sim->cfg), "sim.warmup");
    return scim_cfg_error_at(&sim->err, n, SCIM_ECONFIG,
                             "error: sim.warmup: vm '%s' reclaims stage-2 pages on a timer (vms.%s.s2_reclaim.at), "
                             "which a warm-up by records cannot place (each agent's records end at another time); "
                             "expected a warm-up by time: sim.warmup_until: T instead of sim.warmup",
                             vm, vm);
}

static int check_supported(scim_sim *sim)
{
    if (sim->top.warmup && sim->top.warmup_until) {
        const scim_cfg_node *n = scim_cfg_get_path(scim_cfg_root(sim->cfg), "sim.warmup_until");
        return scim_cfg_error_at(&sim->err, n, SCIM_ECONFIG,
                                 "error: sim.warmup_until: a warm-up by time and one by records (sim.warmup) "
                                 "together; expected one of them: 0");
    }
    const char *vm = scim_os_vm_s2_reclaim_timed(sim->os);
    if (vm && sim->top.warmup)
        return refuse_s2_reclaim(sim, vm);
    return scim_sim_check_warm_points(sim);
}

static int next(scim_sim *sim, warm_agent *a)
{
    a->have = false;
    if (sim->top.warmup && a->taken >= sim->top.warmup) /* the record after stays for the detailed run */
        return 0;
    scim_err e; /* cleared, not zeroed: 1 KiB per record is most of a hit's cost */
    scim_err_clear(&e);
    int rc = a->cpu ? scim_cpu_warm_next(a->self, &a->rec, &a->pasid, &a->at, &e)
                    : scim_device_warm_next(a->self, &a->rec, &a->pasid, &a->at, &e);
    if (rc < 0)
        return scim_sim_fail(sim, e.code ? e.code : SCIM_EIO, "%s", e.msg);
    scim_time_t until = sim->top.warmup_until;
    /* with warm points the record stays until the warm-up knows where it
     * ends (hand_back) */
    if (rc == 1 && until && a->at >= until && !sim->n_warm_points) {
        /* the first record at or after the warm-up's end: back to the
         * replay, with the detailed run's time 0 at that end */
        if (a->cpu)
            scim_cpu_warm_unread(a->self, &a->rec, a->at, until);
        else
            scim_device_warm_unread(a->self, &a->rec, a->at, until);
        return 0;
    }
    a->have = rc == 1;
    return 0;
}

static int failed_at(scim_sim *sim, const warm_agent *a, const scim_err *e)
{
    return scim_sim_fail(sim, e->code ? e->code : SCIM_EINVAL, "%s:%llu: error: warm-up (sim.warmup) of %s: %s",
                         a->trace, (unsigned long long)a->rec.line, a->name, e->msg);
}

/* The OS's sync messages to shadow copies, delivered at once. */
static void load_shadow(void *ctx, scim_node_id node, const uint64_t *pairs, size_t n)
{
    scim_sim *sim = ctx;
    size_t nd;
    scim_component *devs = scim_sim_components(sim, "devices", &nd);
    for (size_t i = 0; i < nd; i++) {
        if (scim_device_node(devs[i].self) != node)
            continue;
        for (size_t k = 0; k < n; k++)
            if (scim_device_shadow_load(devs[i].self, pairs[2 * k], pairs[2 * k + 1]))
                sim->warm_oom = true;
    }
}

/* After every OS call that may write page-table entries: the copies see
 * them before anything can walk them, as the timed OS's sync before its
 * answer or shootdown. */
static int os_done(scim_sim *sim)
{
    scim_os_warm_sync_shadows(sim->os, load_shadow, sim);
    return sim->warm_oom ? scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory") : 0;
}

/* A device's translation of va's page: by its own walk, the OS's
 * interrupt handler's, or the IOMMU's; *rc an error that stops the run. */
static int32_t translate(scim_sim *sim, const warm_agent *a, uint32_t pasid, uint64_t va, bool write,
                         uint64_t *page_pa, unsigned *shift, unsigned *perms, int *rc)
{
    scim_device *d = a->self;
    int32_t status;
    *rc = 0;
    if (scim_device_warm_walk(d, sim->pm, pasid, va, write, &status, page_pa, shift, perms))
        return status;
    if (scim_device_params_of(d)->walk == SCIM_WALK_SOFTWARE) {
        scim_err e;
        scim_err_clear(&e);
        bool faulted;
        status = scim_os_warm_sw_walk(sim->os, pasid, va, write, &faulted, page_pa, shift, perms, &e);
        sim->counters.warm_faults += faulted;
        if (status != SCIM_RESP_OK && status != SCIM_RESP_INVALID)
            *rc = failed_at(sim, a, &e);
        else
            *rc = os_done(sim);
        return status;
    }
    return scim_iommu_warm_translate(sim->io, sim->pm, scim_device_node(d), pasid, va, write, page_pa, shift, perms);
}

/* Ask for va's page and hand the answer to the device: true if usable. */
static bool ask(scim_sim *sim, const warm_agent *a, uint32_t pasid, uint64_t va, bool write, int32_t *status,
                int *rc)
{
    uint64_t pa;
    unsigned shift, perms;
    *status = translate(sim, a, pasid, va, write, &pa, &shift, &perms, rc);
    return !*rc && scim_device_warm_answer(a->self, pasid, va, write, *status, pa, shift, perms);
}

/* A fault: the OS makes present the pages the page request group asks
 * for, then maps its prefault pages where the handler would. */
static int fault_in(scim_sim *sim, const warm_agent *a, uint32_t pasid, uint64_t page_va, uint32_t pages,
                    uint32_t prefault, bool write, bool *refused)
{
    *refused = false;
    scim_err e;
    scim_err_clear(&e);
    bool s2;
    if (scim_os_warm_s2_fault(sim->os, pasid, page_va, pages, &s2, &e))
        return failed_at(sim, a, &e);
    if (s2) { /* the hypervisor's: the guest sees no fault */
        sim->counters.warm_faults++;
        return os_done(sim);
    }
    for (uint64_t i = 0; i < (uint64_t)pages + prefault; i++) {
        uint64_t va = page_va + i * SCIM_PAGE_SIZE;
        int rc = i >= pages ? scim_os_warm_prefault(sim->os, pasid, va, &e)
                 : a->cpu   ? scim_os_warm_fault(sim->os, pasid, va, write, &e)
                            : scim_os_warm_io_fault(sim->os, pasid, va, write, &e);
        if (rc == SCIM_RESP_INVALID) {
            *refused |= i == 0; /* the rest of the group answers for itself when its pages are used */
            continue;
        }
        if (rc)
            return failed_at(sim, a, &e);
        if (i == 0)
            sim->counters.warm_faults++;
    }
    return os_done(sim);
}

/* A device without an ATC (iommu/inline.c): the IOMMU translates the DMA;
 * a page it may not use stalls it while the OS faults in that page alone,
 * then it translates again; an answer other than success fails it. */
static int inline_chunk(scim_sim *sim, const warm_agent *a, uint32_t pasid, uint64_t va)
{
    bool write = a->rec.op == SCIM_OP_WRITE;
    scim_node_id node = scim_device_node(a->self);
    for (int tries = 0;; tries++) {
        uint64_t pa;
        unsigned shift, perms;
        int32_t status = scim_iommu_warm_translate(sim->io, sim->pm, node, pasid, va, write, &pa, &shift, &perms);
        if (status == SCIM_RESP_OK && (perms & SCIM_PERM_R) && (!write || (perms & SCIM_PERM_W)))
            return 0;
        if (status == SCIM_RESP_INVALID || tries == FAULT_TRIES)
            break;
        bool refused;
        int rc = fault_in(sim, a, pasid, scim_page_base(va, SCIM_PAGE_SHIFT), 1, 0, write, &refused);
        if (rc)
            return rc;
        if (refused)
            break;
    }
    sim->counters.warm_errors++;
    return 0;
}

static int device_chunk(scim_sim *sim, const warm_agent *a, uint32_t pasid, uint64_t va, uint64_t dma_end)
{
    scim_device *d = a->self;
    if (!scim_device_params_of(d)->ats)
        return inline_chunk(sim, a, pasid, va);
    bool write = a->rec.op == SCIM_OP_WRITE;
    if (scim_device_warm_lookup(d, pasid, va, write))
        return 0;
    int32_t status;
    int rc;
    bool ok = ask(sim, a, pasid, va, write, &status, &rc);
    if (rc)
        return rc;
    uint64_t page_va = scim_page_base(va, SCIM_PAGE_SHIFT);
    for (uint64_t k = 1, n = scim_device_warm_prefetch(d); k <= n; k++) {
        uint64_t pv = page_va + k * SCIM_PAGE_SIZE;
        int32_t ignored;
        if (!scim_device_warm_cached(d, pasid, pv)) {
            ask(sim, a, pasid, pv, false, &ignored, &rc);
            if (rc)
                return rc;
        }
    }
    if (ok)
        return 0;
    if (status == SCIM_RESP_INVALID) {
        sim->counters.warm_errors++;
        return 0;
    }
    uint32_t pages, prefault;
    scim_device_warm_group(d, va, dma_end, &pages, &prefault);
    /* the fault's own reclaim may evict the page it mapped (the newest,
     * not yet accessed): the device faults again, as a timed one would */
    for (int tries = 0; tries < FAULT_TRIES; tries++) {
        bool refused;
        if ((rc = fault_in(sim, a, pasid, page_va, pages, prefault, write, &refused)))
            return rc;
        if (refused)
            break;
        if (ask(sim, a, pasid, va, write, &status, &rc))
            return 0;
        if (rc)
            return rc;
        if (status == SCIM_RESP_INVALID)
            break;
    }
    sim->counters.warm_errors++;
    return 0;
}

static int cpu_chunk(scim_sim *sim, const warm_agent *a, uint64_t va)
{
    bool write = a->rec.op == SCIM_OP_WRITE;
    int rc = scim_cpu_warm_access(a->self, sim->pm, a->pasid, va, write, NULL);
    for (int tries = 0; rc == SCIM_RESP_NOT_PRESENT && tries < FAULT_TRIES; tries++) {
        bool refused;
        int frc = fault_in(sim, a, a->pasid, scim_page_base(va, SCIM_PAGE_SHIFT), 1, 0, write, &refused);
        if (frc)
            return frc;
        rc = refused ? SCIM_RESP_INVALID : scim_cpu_warm_access(a->self, sim->pm, a->pasid, va, write, NULL);
    }
    if (rc)
        sim->counters.warm_errors++;
    return 0;
}

/* A shootdown's scope, at once, to the caches the timed round sends it to
 * (targets: os/os.h): the OS's shootdowns and the iommu-map driver's
 * unmaps (scim_os_warm_set_invalidate). No translation can be used between
 * the OS's change and this, as no time passes. A cache that cannot hold
 * the PASID's translations (an agent not bound to it) has nothing in the
 * scope. */
static void os_invalidates(void *ctx, const scim_inv_scope *inv, unsigned targets)
{
    scim_sim *sim = ctx;
    if (inv->kind == SCIM_INV_RANGE && inv->len == 0) /* nothing to drop (a walker would drop the PASID's tables) */
        return;
    size_t n;
    scim_component *cs;
    if (targets & SCIM_OS_WARM_INV_DEVICES) {
        cs = scim_sim_components(sim, "devices", &n);
        for (size_t i = 0; i < n; i++)
            scim_device_warm_invalidate(cs[i].self, inv);
        scim_iommu_warm_invalidate(sim->io, inv);
    }
    if (targets & SCIM_OS_WARM_INV_CORES) {
        cs = scim_sim_components(sim, "cpus", &n);
        for (size_t i = 0; i < n; i++)
            scim_cpu_warm_invalidate(cs[i].self, inv);
    }
}

/* A read or write, page by page as the replay engine splits it, in the
 * address space `pasid`. */
static int access_pages(scim_sim *sim, const warm_agent *a, uint32_t pasid)
{
    uint64_t end = a->rec.addr + a->rec.size;
    for (uint64_t va = a->rec.addr; va < end;) {
        uint64_t page_end = scim_page_base(va, SCIM_PAGE_SHIFT) + SCIM_PAGE_SIZE;
        int rc = a->cpu ? cpu_chunk(sim, a, va) : device_chunk(sim, a, pasid, va, end);
        if (rc)
            return rc;
        if (page_end <= va) /* the last page of the address space */
            break;
        va = page_end;
    }
    return 0;
}

/* Schemes pin and iommu-map: the driver prepares the I/O, the device
 * translates its DMA in the space the driver names (none under pin), the
 * driver releases it. */
static int driver_io(scim_sim *sim, const warm_agent *a)
{
    scim_err e;
    scim_err_clear(&e);
    uint64_t faults;
    uint32_t space;
    bool failed;
    int rc = sim->scheme->warm_begin(sim->scheme_state, a->self, &a->rec, a->pasid, a->at, &space, &faults, &failed,
                                     &e);
    if (rc)
        return failed_at(sim, a, &e);
    sim->counters.warm_faults += faults;
    if (failed) {
        sim->counters.warm_errors++;
        return os_done(sim);
    }
    if (space && (rc = access_pages(sim, a, space)))
        return rc;
    if ((rc = sim->scheme->warm_end(sim->scheme_state, &e)))
        return failed_at(sim, a, &e);
    return os_done(sim);
}

/* The hypervisor's stage-2 reclaim rounds due by t (a record's issue
 * time: a round due then runs first). */
static int s2_reclaim_due(scim_sim *sim, scim_time_t t)
{
    scim_err e;
    scim_err_clear(&e);
    if (scim_os_warm_s2_reclaim(sim->os, t, &e))
        return scim_sim_fail(sim, e.code ? e.code : SCIM_ENOMEM, "warm-up (sim.warmup_until): %s", e.msg);
    return 0;
}

static int run_record(scim_sim *sim, const warm_agent *a)
{
    const scim_trace_rec *rec = &a->rec;
    if (rec->op != SCIM_OP_READ && rec->op != SCIM_OP_WRITE) {
        scim_err e;
        scim_err_clear(&e);
        /* its shootdown's scopes go through the callback (os_invalidates) */
        int rc = scim_os_warm_op(sim->os, rec, a->pasid, NULL, &e);
        if (rc == SCIM_RESP_INVALID) { /* answered Invalid: the agent goes on, as in a timed run */
            sim->counters.warm_errors++;
            return os_done(sim);
        }
        if (rc)
            return failed_at(sim, a, &e);
        return os_done(sim);
    }
    return a->cpu || !sim->scheme->warm_begin ? access_pages(sim, a, a->pasid) : driver_io(sim, a);
}

/* The warm-up ends at sim.warmup_until: each agent's first record at or
 * after it goes back to the replay, which starts there. */
static void hand_back(scim_sim *sim, warm_agent *agents, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        warm_agent *a = &agents[i];
        if (!a->have)
            continue;
        if (a->cpu)
            scim_cpu_warm_unread(a->self, &a->rec, a->at, sim->top.warmup_until);
        else
            scim_device_warm_unread(a->self, &a->rec, a->at, sim->top.warmup_until);
        a->have = false;
    }
}

static int add_agents(scim_sim *sim, const char *section, bool cpu, warm_agent *out, size_t *n_out)
{
    size_t n;
    scim_component *cs = scim_sim_components(sim, section, &n);
    for (size_t i = 0; i < n; i++) {
        const scim_cfg_node *t = scim_cfg_map_get(cs[i].node, "trace");
        warm_agent *a = &out[(*n_out)++];
        *a = (warm_agent){.cpu = cpu, .self = cs[i].self, .name = cs[i].name,
                          .trace = t && scim_cfg_node_scalar(t) ? scim_cfg_node_scalar(t) : cs[i].name};
        int rc = next(sim, a);
        if (rc)
            return rc;
    }
    return 0;
}

static int warm_up(scim_sim *sim)
{
    int rc = check_supported(sim);
    if (rc)
        return rc;
    sim->warm_s2_timers = scim_os_vm_s2_reclaim_timed(sim->os) != NULL;
    size_t n_dev, n_cpu, n = 0;
    scim_sim_components(sim, "devices", &n_dev);
    scim_sim_components(sim, "cpus", &n_cpu);
    warm_agent *agents = scim_sim_own(sim, calloc(n_dev + n_cpu + 1, sizeof *agents));
    if (!agents)
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    if ((rc = add_agents(sim, "devices", false, agents, &n)) || (rc = add_agents(sim, "cpus", true, agents, &n)))
        return rc;
    for (;;) {
        warm_agent *a = NULL;
        for (size_t i = 0; i < n; i++)
            if (agents[i].have && (!a || agents[i].at < a->at))
                a = &agents[i];
        if (sim->n_warm_points) { /* sample.c: a host may end the warm-up at a point */
            bool stop;
            if ((rc = scim_sim_warm_points_due(sim, a ? a->at : 0, a != NULL, &stop)))
                return rc;
            if (stop || (a && a->at >= sim->top.warmup_until)) {
                hand_back(sim, agents, n);
                break;
            }
        }
        if (!a)
            break;
        if ((sim->warm_s2_timers && (rc = s2_reclaim_due(sim, a->at))) || (rc = run_record(sim, a)))
            return rc;
        a->taken++;
        /* the host's progress display: the warm-up reads the traces too */
        if ((++sim->counters.warm_records & WARM_PROGRESS_MASK) == 0 && sim->progress) {
            uint64_t done, total;
            scim_sim_trace_position(sim, &done, &total);
            sim->progress(sim->progress_ctx, 0, total ? (double)done / (double)total : -1.0);
        }
        if ((rc = next(sim, a)))
            return rc;
    }
    if (sim->warm_s2_timers && sim->top.warmup_until) { /* the rounds due before T; the next on the detailed clock */
        if ((rc = s2_reclaim_due(sim, sim->top.warmup_until - 1)))
            return rc;
        scim_os_warm_s2_reclaim_end(sim->os, sim->top.warmup_until);
    }
    if (sim->scheme->warm_finish) {
        scim_err e;
        scim_err_clear(&e);
        if ((rc = sim->scheme->warm_finish(sim->scheme_state, &e)))
            return scim_sim_fail(sim, e.code ? e.code : SCIM_EINVAL, "warm-up (sim.warmup): %s", e.msg);
    }
    scim_stats_reset(sim->stats);
    return 0;
}

int scim_sim_warm_up(scim_sim *sim)
{
    if (!sim->top.warmup && !sim->top.warmup_until)
        return scim_sim_check_warm_points(sim); /* points without a warm-up by time: refused */
    /* unset on every way out: after the warm-up, shootdowns are messages */
    scim_os_warm_set_invalidate(sim->os, os_invalidates, sim);
    int rc = warm_up(sim);
    scim_os_warm_set_invalidate(sim->os, NULL, NULL);
    return rc;
}

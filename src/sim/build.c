/* The builder: binds the configuration's top level, then walks the
 * component registry — create every instance of every kind in order, wire
 * them, finalize the fabric, attach the checker, start the agents. It
 * knows no component's parameters: each kind binds its own section. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/fast.h"
#include "sim/sim_internal.h"

static const char *const backend_names[] = {"systemc", "native", NULL};

const scim_param_decl scim_top_param_decls[] = {
    {"seed", SCIM_P_U64, "1", NULL, false, 0, 0, NULL, offsetof(scim_top_params, seed),
     "Seed of every random choice in the model (random replacement, generators): same config and seed, "
     "same statistics. Each random stream is seeded from this and its component's path (\"nic0.iotlb\").",
     NULL},
    {"scheme", SCIM_P_ENUM, "scimitar", NULL, false, 0, 0, scim_scheme_names, offsetof(scim_top_params, scheme),
     "How devices reach process memory: scimitar (shared CPU/IO page tables, no pinning, I/O page faults), "
     "pin (the driver pins each buffer and gives the device physical addresses; os.pin.*), or iommu-map (the "
     "driver maps each buffer in a per-device I/O address space before the I/O and unmaps it after; "
     "os.iommu_map.*). The same traces run unchanged under all three (docs/schemes.md).",
     NULL},
    {"kernel.backend", SCIM_P_ENUM, "systemc", NULL, false, 0, 0, backend_names, offsetof(scim_top_params, backend),
     "Time keeper of the event kernel: systemc (SystemC schedules; hostable in a SystemC platform) or "
     "native (a C loop; same results).",
     NULL},
    {"kernel.quantum", SCIM_P_TIME, "1us", "ns", false, 0, 0, NULL, offsetof(scim_top_params, quantum),
     "SystemC backend: how far past SystemC's clock one wake-up may run the model's events (TLM-2.0's global "
     "quantum), only where nothing else can observe it (scimitar runs SystemC itself and no other module is "
     "elaborated), so the statistics are those of 0 (one wake-up per distinct time). Inside a SystemC "
     "platform it has no effect: the platform's processes interleave exactly.",
     "derived: larger than the gaps between a translation's events (tens of ns) so a wake-up covers many "
     "accesses; the statistics do not depend on it (tests/test_quantum.c)"},
    {"sim.max_time", SCIM_P_TIME, "0", "ns", false, 0, 0, NULL, offsetof(scim_top_params, max_time),
     "Stop the run at this simulated time (0: run until every trace is replayed).", NULL},
    {"sim.watchdog", SCIM_P_TIME, "1s", "ns", false, 0, 0, NULL, offsetof(scim_top_params, watchdog),
     "Stop the run with an error when any request (a DMA, a CPU access, or a message a component sent) has "
     "waited longer than this: a livelock or deadlock. 0 disables the watchdog.",
     "derived: 2,000 x the longest request of the bundled configurations (444 us, a DMA behind swap-ins); "
     "20 x the upper end of PCIe's default completion timeout range (50 us - 50 ms)"},
    {"sim.fast_path", SCIM_P_BOOL, "on", NULL, false, 0, 0, NULL, offsetof(scim_top_params, fast_path),
     "on: a device access that hits its IOTLB while nothing else is active goes to memory and back without "
     "per-hop events, booking every link and the memory as the hops would; the statistics are the same as off "
     "(if anything would have interleaved, the run is redone with off; docs/architecture.md, Fast path). "
     "Used by scim_sim_run without sim.max_time; off: every hop is an event.",
     NULL},
    {"sim.warmup", SCIM_P_U64, "0", "records", false, 0, 0, NULL, offsetof(scim_top_params, warmup),
     "Functional warm-up: run the first N records of every agent's trace without time before the detailed run "
     "(ChampSim's warm-up instructions), so that its statistics start with warm translation caches and present "
     "pages. The records are taken one at a time in the order of their issue times; each leaves the TLBs, the "
     "IOMMU's caches and the OS as a timed run of it alone would (docs/architecture.md, Warm-up). Statistics "
     "count the detailed run only (sim.warmup.* say what the warm-up did). Takes every scheme, walk "
     "placement, device and VM, and every kind of record; a VM's stage-2 reclaim on a timer needs "
     "sim.warmup_until instead.",
     "derived: none (0 keeps the whole trace detailed)"},
    {"sim.warmup_until", SCIM_P_TIME, "0", "ns", false, 0, 0, NULL, offsetof(scim_top_params, warmup_until),
     "Functional warm-up by time instead of records (sim.warmup: 0): every record whose issue time, if no agent "
     "ever waited, is before this time runs functionally, and the detailed run's time 0 is this time for every "
     "agent, so that agents whose traces run at different rates stay in step (a CPU's and a device's traces of "
     "one workload, say); sim.warmup counts records per agent, which puts them out of step. 0: off.",
     "derived: none (0: off)"},
    {"sim.records", SCIM_P_U64, "0", "records", false, 0, 0, NULL, offsetof(scim_top_params, records),
     "Replay only the first N records of every agent's trace (sim.warmup's included; an agent fed by the host is "
     "not limited), then end each as at its trace's end: ChampSim's simulation instructions. With sim.warmup, "
     "the detailed part is the next N - sim.warmup records (scripts/warmup_bound.py measures what the warm-up "
     "changes against a detailed run of the same records). 0: the whole trace.",
     "derived: none (0 replays every record)"},
    {"sim.until", SCIM_P_TIME, "0", "ns", false, 0, 0, NULL, offsetof(scim_top_params, until),
     "Replay only the records every agent's trace issues before this time on the trace's own clock (the times "
     "it would issue them at if it never waited: sim.warmup_until's clock; an agent behind its trace issues them "
     "later in the run), then end each as at its trace's end; an agent fed by the host is not limited. With "
     "sim.warmup_until, the detailed part is the records between the two. 0: no limit.",
     "derived: none (0: no limit)"},
    {"sim.check_invariants", SCIM_P_BOOL, "false", NULL, false, 0, 0, NULL, offsetof(scim_top_params, check),
     "Run the safety checker: every access uses the translation the page table holds (or one being shot "
     "down), and no frame is freed while in use. Slower; never changes statistics.",
     NULL},
};
const size_t scim_top_param_decl_count = SCIM_COUNT_OF(scim_top_param_decls);

const scim_stat_decl scim_sim_stat_decls[] = {
    {"time_ps", SCIM_STAT_COUNTER, "ps",
     "Simulated time at the end of the run: the last event's (timeouts that no work waits for do not count).",
     offsetof(sim_counters, time_ps)},
    {"events", SCIM_STAT_COUNTER, "count",
     "The model's events: those the kernel executed plus those the fast path (sim.fast_path) stood in for, so "
     "the count does not depend on it.",
     offsetof(sim_counters, events)},
    {"warmup.records", SCIM_STAT_LEVEL, "count",
     "Trace records run functionally before the detailed run (sim.warmup), every agent's together.",
     offsetof(sim_counters, warm_records)},
    {"warmup.faults", SCIM_STAT_LEVEL, "count",
     "Faults the warm-up resolved at once: pages that were not present (or not writable) when an access of it "
     "needed them (pages of a fault's group and prefault pages not counted).",
     offsetof(sim_counters, warm_faults)},
    {"warmup.errors", SCIM_STAT_LEVEL, "count",
     "Accesses of the warm-up that the OS refused (no region, or rights the region does not give), which the "
     "timed run would have failed.",
     offsetof(sim_counters, warm_errors)},
};
const size_t scim_sim_stat_decl_count = SCIM_COUNT_OF(scim_sim_stat_decls);

int scim_sim_fail(scim_sim *sim, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    scim_err_vset(&sim->err, code, fmt, ap);
    va_end(ap);
    return code;
}

char *scim_sim_resolve_path(const scim_sim *sim, const char *path)
{
    if (path[0] == '/' || strcmp(sim->config_dir, ".") == 0)
        return strdup(path);
    size_t n = strlen(sim->config_dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", sim->config_dir, path);
    return out;
}

bool scim_sim_node_name_ok(const char *s)
{
    if (!*s || strlen(s) > 40)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

void *scim_sim_own(scim_sim *sim, void *p)
{
    if (!p)
        return NULL;
    if (sim->n_owned == sim->cap_owned) {
        size_t nc = sim->cap_owned ? sim->cap_owned * 2 : 16;
        void **n = realloc(sim->owned, nc * sizeof *n);
        if (!n) {
            free(p);
            return NULL;
        }
        sim->owned = n;
        sim->cap_owned = nc;
    }
    return sim->owned[sim->n_owned++] = p;
}

scim_component *scim_sim_components(scim_sim *sim, const char *section, size_t *n)
{
    size_t first = sim->n_comps, count = 0;
    for (size_t i = 0; i < sim->n_comps; i++) {
        if (strcmp(sim->comps[i].kind->section, section) != 0)
            continue;
        if (first == sim->n_comps)
            first = i;
        count++;
    }
    *n = count;
    return count ? &sim->comps[first] : NULL;
}

void scim_sim_destroy_components(scim_sim *sim)
{
    /* agents first, the blocks they talk to after, in reverse build order */
    for (size_t i = sim->n_comps; i-- > 0;) {
        scim_component *c = &sim->comps[i];
        if (c->self && c->kind->destroy)
            c->kind->destroy(c->self);
        free(c->params);
    }
    free(sim->comps);
    for (size_t i = 0; i < sim->n_owned; i++)
        free(sim->owned[i]);
    free(sim->owned);
    sim->owned = NULL;
    sim->n_owned = sim->cap_owned = 0;
    sim->comps = NULL;
    sim->n_comps = sim->cap_comps = 0;
}

static scim_component *add_component(scim_sim *sim, const scim_component_kind *kind, const char *name,
                                     const scim_cfg_node *node)
{
    if (sim->n_comps == sim->cap_comps) {
        size_t nc = sim->cap_comps ? sim->cap_comps * 2 : 16;
        scim_component *n = realloc(sim->comps, nc * sizeof *n);
        if (!n)
            return NULL;
        sim->comps = n;
        sim->cap_comps = nc;
    }
    scim_component *c = &sim->comps[sim->n_comps];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->node = node;
    if (!(c->params = calloc(1, kind->params_size)))
        return NULL;
    sim->n_comps++;
    return c;
}

/* Bind one instance's section to the kind's table and create it. */
static int create_one(scim_sim *sim, const scim_component_kind *kind, const char *name, const scim_cfg_node *node,
                      const char *where)
{
    scim_component *c = add_component(sim, kind, name, node);
    if (!c)
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    const scim_param_doc *t = &kind->params[0];
    const scim_param_decl *decls = t->decls;
    scim_param_decl *adjusted = NULL;
    if (kind->adjust_decls) {
        if (!(adjusted = malloc(*t->count * sizeof *adjusted)))
            return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
        kind->adjust_decls(node, adjusted);
        decls = adjusted;
    }
    int rc = scim_cfg_bind(node, where, decls, *t->count, c->params, NULL, &sim->err);
    free(adjusted);
    return rc ? rc : kind->create(sim, name, c->params, node, &c->self);
}

static int create_kind(scim_sim *sim, const scim_component_kind *kind)
{
    const scim_cfg_node *section = scim_cfg_map_get(scim_cfg_root(sim->cfg), kind->section);
    if (!kind->named)
        return create_one(sim, kind, kind->section, section, kind->section);
    if (!section)
        return 0;
    if (scim_cfg_node_kind(section) != SCIM_CFG_MAP)
        return scim_cfg_error_at(&sim->err, section, SCIM_ECONFIG,
                                 "error: '%s' must be a map of %s name to settings, e.g. %s: {x0: {...}}",
                                 kind->section, kind->title, kind->section);
    for (size_t i = 0; i < scim_cfg_node_count(section); i++) {
        const char *name = scim_cfg_map_key(section, i);
        char where[160];
        snprintf(where, sizeof where, "%s.%s", kind->section, name);
        if (kind->name_free && !kind->name_free(sim, name))
            return scim_cfg_error_at(&sim->err, scim_cfg_map_key_node(section, i), SCIM_ECONFIG, "error: %s",
                                     (snprintf(where, sizeof where, kind->bad_name, name), where));
        int rc = create_one(sim, kind, name, scim_cfg_map_value(section, i), where);
        if (rc)
            return rc;
    }
    return 0;
}

static int attach_checker(scim_sim *sim)
{
    if (!(sim->chk = scim_checker_create(sim->k, &sim->err)))
        return sim->err.code;
    scim_checker_set_resolver(sim->chk, scim_os_resolve, sim->os);
    scim_checker_set_frame_probe(sim->chk, scim_physmem_frame_in_use, sim->pm);
    const scim_observer *obs = scim_checker_observer(sim->chk);
    scim_os_set_checker(sim->os, obs);
    scim_iommu_set_checker(sim->io, obs);
    for (size_t i = 0; i < sim->n_comps; i++) {
        const scim_component *c = &sim->comps[i];
        if (!c->kind->caches)
            continue;
        const scim_tlb *t[8];
        const char *names[8];
        size_t n = c->kind->caches(c->self, t, names, 8);
        for (size_t j = 0; j < n; j++) {
            char name[96];
            snprintf(name, sizeof name, "%s.%s", c->name, names[j]);
            int rc = scim_checker_add_tlb(sim->chk, name, t[j], &sim->err);
            if (rc)
                return rc;
        }
    }
    size_t n;
    scim_component *devs = scim_sim_components(sim, "devices", &n);
    for (size_t i = 0; i < n; i++)
        scim_device_set_checker(devs[i].self, obs);
    scim_component *cpus = scim_sim_components(sim, "cpus", &n);
    for (size_t i = 0; i < n; i++)
        scim_cpu_set_checker(cpus[i].self, obs);
    return 0;
}

/* The `inject` rules, given to the blocks where faults happen. */
static int attach_injector(scim_sim *sim)
{
    const scim_cfg_node *list = scim_cfg_map_get(scim_cfg_root(sim->cfg), "inject");
    sim->inj = scim_inject_create(list, sim->top.seed, sim->stats, &sim->err);
    if (!sim->inj)
        return sim->err.code;
    /* a lost answer is recovered by a timeout, which must come before
     * the watchdog calls the wait a deadlock */
    size_t n_io;
    const scim_component *io = scim_sim_components(sim, "iommu", &n_io);
    scim_time_t inv_timeout = n_io ? ((const scim_iommu_params *)io->params)->inv_timeout : 0;
    const scim_inject_rule *r[64];
    if (scim_inject_rules(sim->inj, SCIM_INJ_INV_COMPLETION_LOST, r, 64) &&
        (!inv_timeout || (sim->top.watchdog && sim->top.watchdog <= inv_timeout)))
        return scim_cfg_error_at(&sim->err, list, SCIM_ECONFIG,
                                 "error: inject inv_completion_lost needs iommu.ats.inv_timeout above 0 and below "
                                 "sim.watchdog (the IOMMU must give up on the device before the watchdog gives up "
                                 "on the run); e.g. iommu: {ats: {inv_timeout: 100us}}");
    size_t nr = scim_inject_rules(sim->inj, SCIM_INJ_PAGE_RESPONSE_LOST, r, 64);
    size_t nd;
    scim_component *all = scim_sim_components(sim, "devices", &nd);
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < nd; j++) {
            scim_time_t t = ((const scim_device_params *)all[j].params)->pri_timeout;
            if ((r[i]->target[0] && strcmp(r[i]->target, all[j].name) != 0) ||
                (t && (!sim->top.watchdog || t < sim->top.watchdog)))
                continue;
            return scim_cfg_error_at(&sim->err, list, SCIM_ECONFIG,
                                     "error: inject page_response_lost on device '%s' needs devices.%s.pri.timeout "
                                     "above 0 and below sim.watchdog (the device must give the response up before "
                                     "the watchdog gives up on the run); e.g. devices: {%s: {pri: {timeout: 100us}}}",
                                     all[j].name, all[j].name, all[j].name);
        }
    scim_os_set_injector(sim->os, sim->inj);
    scim_iommu_set_injector(sim->io, sim->inj);
    size_t n;
    scim_component *devs = scim_sim_components(sim, "devices", &n);
    for (size_t i = 0; i < n; i++)
        scim_device_set_injector(devs[i].self, sim->inj);
    return 0;
}

static int build(scim_sim *sim);

int scim_sim_build(scim_sim *sim)
{
    if (!sim)
        return SCIM_EINVAL;
    int rc = build(sim);
    /* A write to simulated memory lost for want of host memory (an entry
     * that reads back as zero) can fail the build in its own words (a page
     * "not present"): the host's memory is the cause. (A build that
     * succeeds despite one fails its run: scim_sim_finish_run.) */
    if (rc && sim->pm && scim_physmem_write_lost(sim->pm))
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory: a write to simulated memory was lost while "
                                               "building the model");
    return rc;
}

static int build(scim_sim *sim)
{
    scim_err_clear(&sim->err);
    if (sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "the simulation is already built");
    if (!sim->cfg) {
        sim->cfg = scim_cfg_new_empty("(defaults)");
        sim->config_dir = strdup(".");
        if (!sim->cfg || !sim->config_dir)
            return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    }
    /* the top level: its own keys, every kind's section, and the sweep */
    const char *sections[16];
    size_t ns = 0;
    for (size_t i = 0; i < scim_registry_count; i++)
        sections[ns++] = scim_registry[i]->section;
    sections[ns++] = "sweep";
    sections[ns++] = "inject";
    sections[ns] = NULL;
    int rc = scim_cfg_bind(scim_cfg_root(sim->cfg), "", scim_top_param_decls, scim_top_param_decl_count, &sim->top,
                           sections, &sim->err);
    if (rc)
        return rc;
    sim->scheme = scim_scheme_get(sim->top.scheme);
    sim->k = scim_kernel_create(sim->top.backend == 0 ? SCIM_BACKEND_SYSTEMC : SCIM_BACKEND_NATIVE, &sim->err);
    sim->stats = scim_stats_create();
    if (!sim->k || !sim->stats)
        return sim->err.code ? sim->err.code : scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    /* devices see whether they may use the fast path when they start;
     * scim_sim_run turns it on for the run */
    scim_kernel_set_fast(sim->k, sim->top.fast_path && !sim->no_fast);
    scim_kernel_set_quantum(sim->k, sim->top.quantum);
    for (size_t i = 0; i < scim_registry_count; i++) {
        if ((rc = create_kind(sim, scim_registry[i])))
            return rc;
        if (scim_registry[i]->create == NULL || strcmp(scim_registry[i]->section, "os") != 0 || !sim->scheme->create)
            continue;
        /* the scheme's driver sits on the OS */
        scim_scheme_ctx ctx = {sim->os, NULL, NULL};
        if ((rc = sim->scheme->create(&ctx, &sim->err)))
            return rc;
        sim->scheme_state = ctx.state;
    }
    for (size_t i = 0; i < sim->n_comps; i++) {
        scim_component *c = &sim->comps[i];
        if (c->kind->wire && (rc = c->kind->wire(sim, c->self, c->params, c->node)))
            return rc;
    }
    scim_err fe = {0};
    if ((rc = scim_fabric_finalize(sim->fab, sim->stats, &fe))) {
        /* a node the links leave unreachable: the links' place in the file */
        if (rc != SCIM_ECONFIG) {
            sim->err = fe;
            return rc;
        }
        return scim_cfg_error_at(&sim->err, scim_cfg_get_path(scim_cfg_root(sim->cfg), "fabric.links"), rc,
                                 "error: fabric.links: %s", fe.msg);
    }
    if ((rc = scim_stats_register(sim->stats, "sim", scim_sim_stat_decls, scim_sim_stat_decl_count, &sim->counters,
                                  &sim->err)))
        return rc;
    if (sim->top.check && (rc = attach_checker(sim)))
        return rc;
    if ((rc = attach_injector(sim)))
        return rc;
    if (sim->top.records || sim->top.until) {
        size_t n;
        scim_component *cs = scim_sim_components(sim, "devices", &n);
        for (size_t i = 0; i < n; i++)
            scim_device_limit_records(cs[i].self, sim->top.records, sim->top.until);
        cs = scim_sim_components(sim, "cpus", &n);
        for (size_t i = 0; i < n; i++)
            scim_cpu_limit_records(cs[i].self, sim->top.records, sim->top.until);
    }
    if ((rc = scim_sim_warm_up(sim)))
        return rc;
    for (size_t i = 0; i < sim->n_comps; i++) {
        scim_component *c = &sim->comps[i];
        if (c->kind->start && (rc = c->kind->start(sim, c->self, c->node)))
            return rc;
    }
    scim_kernel_set_fast(sim->k, false);
    scim_sim_arm_poll(sim);
    sim->built = true;
    return 0;
}

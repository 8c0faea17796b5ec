/* The component registry: every kind of component the builder makes, in
 * build order, with its configuration section, parameter and statistic
 * tables, and life-cycle verbs. The builder (build.c), the generated
 * documentation (doc.c), the deadlock report and the watchdog (run.c)
 * iterate this table; none keeps a list of its own. */
#include <stdlib.h>
#include <string.h>

#include "core/page.h"
#include "device/device.h"
#include "iommu/ctxfmt.h"
#include "mmu/cpu.h"
#include "mmu/replay.h"
#include "os/profile.h"
#include "sim/sim_internal.h"

#define STATS_END {NULL, NULL, NULL}
#define PARAMS_END {NULL, NULL, NULL, NULL}


/* ---- the system: ISA and paging ---- */

typedef struct system_params {
    int isa;    /* scim_isa */
    int paging; /* 0 default, else 1 + format id */
} system_params;

static const scim_param_decl system_param_decls[] = {
    {"isa", SCIM_P_ENUM, "x86-64", NULL, false, 0, 0, scim_isa_names, offsetof(system_params, isa),
     "Instruction set the host follows: the format of every page table (x86-64 4/5-level, Armv8-A VMSAv8-64 "
     "4 KiB granule, RISC-V Sv39/48/57) and the IOMMU's context structures (VT-d PASID tables, SMMUv3 stream "
     "table and context descriptors, RISC-V IOMMU device and process directories). Walks, faults and OS "
     "operations are the same; the entries in memory, and the context reads, differ (docs/architecture.md, "
     "Page-table formats).",
     NULL},
    {"paging", SCIM_P_ENUM, "default", NULL, false, 0, 0, scim_paging_names, offsetof(system_params, paging),
     "Paging mode of the processes that do not give processes.<name>.levels; one of system.isa's: x86-64 "
     "4-level or 5-level, armv8 va39 or va48, riscv sv39, sv48 or sv57. default: the ISA's 4-level, 48-bit "
     "mode (4-level, va48, sv48).",
     "Intel SDM Vol. 3A 4.5; Arm ARM D8.2 (VMSAv8-64, 4 KiB granule); RISC-V Privileged 10.4-10.6"},
};
static const size_t system_param_decl_count = SCIM_COUNT_OF(system_param_decls);

static int system_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    const system_params *p = params;
    *self = NULL;
    sim->isa = (scim_isa)p->isa;
    sim->paging = p->paging ? scim_pt_format_by_id((unsigned)p->paging - 1) : NULL;
    if (sim->paging && sim->paging->isa != sim->isa) {
        const scim_cfg_node *at = scim_cfg_map_get(node, "paging");
        return scim_cfg_error_at(&sim->err, at ? at : node, SCIM_ECONFIG,
                                 "error: system.paging: %s is not a paging mode of system.isa %s", sim->paging->name,
                                 scim_isa_name(sim->isa));
    }
    return 0;
}

static const scim_param_doc system_params_doc[] = {
    {NULL, "system.", system_param_decls, &system_param_decl_count}, PARAMS_END};

static const scim_component_kind system_kind = {
    .section = "system", .title = "system", .params = system_params_doc, .params_size = sizeof(system_params),
    .create = system_create};

/* ---- fabric ---- */

static int fabric_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    sim->fab_p = params;
    sim->fab = scim_fabric_create(sim->k, params, &sim->err);
    *self = NULL; /* the builder destroys the fabric last: every port lives on it */
    return sim->fab ? 0 : sim->err.code;
}

static int add_link(scim_sim *sim, const char *a, const char *b, scim_time_t lat, uint64_t bw)
{
    return scim_fabric_add_link(sim->fab, scim_fabric_find(sim->fab, a), scim_fabric_find(sim->fab, b), lat, bw,
                                &sim->err);
}

/* The default topology: the IOMMU and the OS next to memory, each device
 * on its own link to the IOMMU, each core to memory and to the OS. */
static int default_links(scim_sim *sim)
{
    size_t nd, nc;
    scim_component *devs = scim_sim_components(sim, "devices", &nd);
    scim_component *cpus = scim_sim_components(sim, "cpus", &nc);
    const scim_fabric_params *fp = sim->fab_p;
    int rc = add_link(sim, "iommu", "mem", fp->iommu_mem_latency, fp->iommu_mem_bandwidth);
    if (!rc)
        rc = add_link(sim, "os", "mem", fp->os_latency, fp->os_bandwidth);
    if (!rc)
        rc = add_link(sim, "os", "iommu", fp->os_latency, fp->os_bandwidth);
    for (size_t i = 0; !rc && i < nd; i++) {
        const scim_device_params *p = devs[i].params;
        rc = add_link(sim, devs[i].name, "iommu", p->link_latency, p->link_bandwidth);
    }
    for (size_t i = 0; !rc && i < nc; i++) {
        const scim_cpu_params *p = cpus[i].params;
        rc = add_link(sim, cpus[i].name, "mem", p->link_latency, p->link_bandwidth);
        if (!rc)
            rc = add_link(sim, cpus[i].name, "os", fp->os_latency, fp->os_bandwidth);
    }
    return rc;
}

static int explicit_links(scim_sim *sim, const scim_cfg_node *links)
{
    if (scim_cfg_node_kind(links) != SCIM_CFG_SEQ)
        return scim_cfg_error_at(&sim->err, links, SCIM_ECONFIG,
                                 "error: fabric.links must be a list of {a, b, latency, bandwidth}");
    for (size_t i = 0; i < scim_cfg_node_count(links); i++) {
        const scim_cfg_node *ln = scim_cfg_seq_item(links, i);
        char where[64];
        snprintf(where, sizeof where, "fabric.links.%zu", i);
        scim_link_params lp;
        int rc = scim_cfg_bind(ln, where, scim_link_param_decls, scim_link_param_decl_count, &lp, NULL, &sim->err);
        if (rc)
            return rc;
        const char *ends[2] = {lp.a, lp.b};
        for (int e = 0; e < 2; e++) {
            if (scim_fabric_find(sim->fab, ends[e]) != SCIM_NODE_NONE)
                continue;
            char names[512] = "";
            for (size_t j = 0; j < scim_fabric_node_count(sim->fab); j++) {
                strncat(names, j ? ", " : "", sizeof names - strlen(names) - 1);
                strncat(names, scim_fabric_node_name(sim->fab, (scim_node_id)j), sizeof names - strlen(names) - 1);
            }
            return scim_cfg_error_at(&sim->err, scim_cfg_map_get(ln, e ? "b" : "a"), SCIM_ECONFIG,
                                     "error: %s.%s: no node is named '%s'; nodes are: %s", where, e ? "b" : "a",
                                     ends[e], names);
        }
        scim_err e = {0};
        if (scim_fabric_add_link(sim->fab, scim_fabric_find(sim->fab, lp.a), scim_fabric_find(sim->fab, lp.b),
                                 lp.latency, lp.bandwidth, &e) != 0)
            /* a link the fabric refuses (to itself, twice) is the configuration's error */
            return scim_cfg_error_at(&sim->err, ln, e.code == SCIM_ENOMEM ? SCIM_ENOMEM : SCIM_ECONFIG,
                                     "error: %s: %s", where, e.msg);
    }
    return 0;
}

static int fabric_wire(scim_sim *sim, void *self, void *params, const scim_cfg_node *node)
{
    /* a shadow copy sits next to its device (its latency is shadow.latency) */
    size_t nd;
    scim_component *devs = scim_sim_components(sim, "devices", &nd);
    for (size_t i = 0; i < nd; i++) {
        if (((const scim_device_params *)devs[i].params)->walk != SCIM_WALK_SHADOW)
            continue;
        char shadow[96];
        snprintf(shadow, sizeof shadow, "%s_shadow", devs[i].name);
        int rc = add_link(sim, devs[i].name, shadow, 0, 0);
        if (rc)
            return rc;
    }
    const scim_fabric_params *fp = params;
    return fp->links ? explicit_links(sim, fp->links) : default_links(sim);
}

static const scim_param_doc fabric_params[] = {
    {NULL, "fabric.", scim_fabric_param_decls, &scim_fabric_param_decl_count},
    {"fabric.links entries", "fabric.links[].", scim_link_param_decls, &scim_link_param_decl_count},
    PARAMS_END};

static const scim_component_kind fabric_kind = {
    .section = "fabric", .title = "fabric", .params = fabric_params, .params_size = sizeof(scim_fabric_params),
    .create = fabric_create, .wire = fabric_wire};

/* ---- memory ---- */

static int memory_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    const scim_memctl_params *p = params;
    if (!(sim->pm = scim_physmem_create(p->size, &sim->err)))
        return sim->err.code;
    sim->mc = scim_memctl_create(sim->k, sim->fab, sim->pm, "mem", p, sim->stats, &sim->err);
    *self = sim->mc;
    return sim->mc ? 0 : sim->err.code;
}

static const scim_port *memory_port(const void *self) { return scim_memctl_port(self); }
static void memory_destroy(void *self) { scim_memctl_destroy(self); }

static const scim_param_doc memory_params[] = {
    {NULL, "memory.", scim_memctl_param_decls, &scim_memctl_param_decl_count}, PARAMS_END};
static const scim_stat_doc memory_stats[] = {
    {"mem", scim_memctl_stat_decls, &scim_memctl_stat_decl_count},
    {"mem.queue.requests", scim_port_queue_stat_decls, &scim_port_queue_stat_decl_count}, STATS_END};

static const scim_component_kind memory_kind = {
    .section = "memory", .title = "memory", .params = memory_params, .params_size = sizeof(scim_memctl_params),
    .stats = memory_stats, .create = memory_create, .port = memory_port, .destroy = memory_destroy};

/* ---- the OS ---- */

static int os_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    scim_os_params *p = params;
    p->isa = sim->isa;
    p->paging = sim->paging;
    /* scim_os_create refuses it too, but only here is the place in the file known */
    if (p->reclaim_high < p->reclaim_low) {
        const scim_cfg_node *at = node ? scim_cfg_get_path(node, "reclaim.high_watermark") : NULL;
        return scim_cfg_error_at(&sim->err, at ? at : node, SCIM_ECONFIG,
                                 "error: os.reclaim.high_watermark (%llu) must be >= os.reclaim.low_watermark (%llu): "
                                 "reclaim stops at the high mark and starts below the low one",
                                 (unsigned long long)p->reclaim_high, (unsigned long long)p->reclaim_low);
    }
    sim->os = scim_os_create(sim->k, sim->fab, sim->pm, "os", params, sim->stats, &sim->err);
    *self = sim->os;
    return sim->os ? 0 : sim->err.code;
}

static const scim_port *os_port(const void *self) { return scim_os_port(self); }
static void os_destroy(void *self) { scim_os_destroy(self); }

static const scim_param_doc os_params[] = {{NULL, "os.", scim_os_param_decls, &scim_os_param_decl_count}, PARAMS_END};
static const scim_stat_doc os_stats[] = {{"os", scim_os_stat_decls, &scim_os_stat_decl_count}, STATS_END};

static const scim_component_kind os_kind = {
    .section = "os", .title = "os", .params = os_params, .params_size = sizeof(scim_os_params),
    .adjust_decls = scim_os_profile_decls, .stats = os_stats,
    .create = os_create, .port = os_port, .destroy = os_destroy};

/* ---- the IOMMU ---- */

static int iommu_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    scim_iommu_params *p = params;
    p->seed = sim->top.seed;
    p->nested = scim_sim_has_vms(sim); /* the walker's nested statistics exist only then */
    scim_err e = {0};
    if (!(sim->io = scim_iommu_create(sim->k, sim->fab, "iommu", p, sim->stats, &e))) /* at the iommu section */
        return scim_cfg_error_at(&sim->err, node, e.code, "error: iommu: %s", e.msg);
    *self = sim->io;
    scim_iommu_set_memory(sim->io, scim_memctl_node(sim->mc));
    scim_iommu_set_os(sim->io, scim_os_node(sim->os));
    scim_iommu_set_context(sim->io, scim_os_context_format(sim->os), scim_os_context_root(sim->os));
    scim_os_set_iommu(sim->os, scim_iommu_node(sim->io));
    scim_os_set_memory(sim->os, scim_memctl_node(sim->mc));
    return 0;
}

static const scim_port *iommu_port(const void *self) { return scim_iommu_port(self); }
static size_t iommu_caches(const void *self, const scim_tlb **out, const char **names, size_t max)
{
    return scim_iommu_caches(self, out, names, max);
}
static void iommu_destroy(void *self) { scim_iommu_destroy(self); }

static const scim_param_doc iommu_params[] = {
    {NULL, "iommu.", scim_iommu_param_decls, &scim_iommu_param_decl_count}, PARAMS_END};
static const scim_stat_doc iommu_stats[] = {
    {"iommu", scim_iommu_stat_decls, &scim_iommu_stat_decl_count},
    {"iommu.iotlb", scim_tlb_stat_decls, &scim_tlb_stat_decl_count},
    {"iommu.pasid_cache", scim_tlb_stat_decls, &scim_tlb_stat_decl_count},
    {"iommu", scim_walker_stat_decls, &scim_walker_stat_decl_count},
    {"iommu", scim_walker_nested_stat_decls, &scim_walker_nested_stat_decl_count},
    {"iommu.s2tlb", scim_tlb_stat_decls, &scim_tlb_stat_decl_count},
    {"iommu.s2pwc.pde|pdpte|pml4e", scim_tlb_stat_decls, &scim_tlb_stat_decl_count},
    {"iommu.pwc.pde|pdpte|pml4e|pml5e", scim_tlb_stat_decls, &scim_tlb_stat_decl_count},
    {"iommu.queue.ats", scim_port_queue_stat_decls, &scim_port_queue_stat_decl_count}, STATS_END};

static const scim_component_kind iommu_kind = {
    .section = "iommu", .title = "iommu", .params = iommu_params, .params_size = sizeof(scim_iommu_params),
    .stats = iommu_stats, .create = iommu_create, .port = iommu_port, .caches = iommu_caches,
    .destroy = iommu_destroy};

/* ---- processes ---- */

static int processes_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    const scim_process_params *pp = params;
    char where[160], why[256];
    snprintf(where, sizeof where, "processes.%s", name);
    *self = NULL;
    if (sim->scheme->check_pasid((uint32_t)pp->pasid, why, sizeof why))
        return scim_cfg_error_at(&sim->err, node, SCIM_ECONFIG, "error: %s.pasid: %s", where, why);
    scim_err e = {0};
    if (pp->vm[0]) {
        int rc = scim_sim_guest_process(sim, name, pp, node);
        if (rc)
            return rc;
    } else if (scim_os_add_process(sim->os, name, (uint32_t)pp->pasid, (int)pp->levels, &e) != 0) {
        return scim_cfg_error_at(&sim->err, node, e.code, "error: %s: %s", where, e.msg);
    }
    if (!pp->regions)
        return 0;
    if (scim_cfg_node_kind(pp->regions) != SCIM_CFG_SEQ)
        return scim_cfg_error_at(&sim->err, pp->regions, SCIM_ECONFIG,
                                 "error: %s.regions must be a list of {va, size, populate}", where);
    for (size_t r = 0; r < scim_cfg_node_count(pp->regions); r++) {
        const scim_cfg_node *rn = scim_cfg_seq_item(pp->regions, r);
        char rwhere[200];
        snprintf(rwhere, sizeof rwhere, "%s.regions.%zu", where, r);
        scim_region_params rp;
        int rc = scim_cfg_bind(rn, rwhere, scim_region_param_decls, scim_region_param_decl_count, &rp, NULL, &sim->err);
        if (rc)
            return rc;
        static const unsigned shifts[] = {SCIM_SHIFT_4K, SCIM_SHIFT_2M, SCIM_SHIFT_1G};
        unsigned prot = rp.prot == 0 ? SCIM_PROT_R : SCIM_PROT_RW;
        if (rp.static_dma && !rp.populate) {
            const scim_cfg_node *at = scim_cfg_map_get(rn, "static_dma");
            return scim_cfg_error_at(&sim->err, at ? at : rn, SCIM_ECONFIG,
                                     "error: %s.static_dma: a driver sets the region up when it binds a device, so "
                                     "its pages must be present; add populate: true",
                                     rwhere);
        }
        if (scim_os_add_region(sim->os, (uint32_t)pp->pasid, rp.va, rp.size, shifts[rp.page_size], prot, rp.populate,
                               &e) != 0 ||
            (rp.static_dma && scim_os_add_static_dma(sim->os, (uint32_t)pp->pasid, rp.va, rp.size, &e) != 0))
            return scim_cfg_error_at(&sim->err, rn, e.code, "error: %s: %s", rwhere, e.msg);
    }
    return 0;
}

static const scim_param_doc process_params[] = {
    {NULL, "processes.<name>.", scim_process_param_decls, &scim_process_param_decl_count},
    {"processes.<name>.regions entries", "processes.<name>.regions[].", scim_region_param_decls,
     &scim_region_param_decl_count},
    PARAMS_END};

static const scim_component_kind processes_kind = {
    .section = "processes", .title = "processes", .named = true, .params = process_params,
    .params_size = sizeof(scim_process_params), .create = processes_create};

/* ---- agents: devices and cores ---- */

/* An agent's name is its fabric node's: not one of the fixed nodes, not
 * a device's. */
static bool agent_name_free(scim_sim *sim, const char *name)
{
    if (!scim_sim_node_name_ok(name) || !strcmp(name, "mem") || !strcmp(name, "os") || !strcmp(name, "iommu"))
        return false;
    size_t n;
    scim_component *devs = scim_sim_components(sim, "devices", &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(devs[i].name, name))
            return false;
    return true;
}

/* An agent's trace path, relative to the configuration file. */
static int resolve_trace(scim_sim *sim, const char **trace)
{
    char *path = scim_sim_own(sim, scim_sim_resolve_path(sim, *trace));
    if (!path)
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    *trace = path;
    return 0;
}

static int check_pasid_exists(scim_sim *sim, const char *where, const scim_cfg_node *node, uint64_t pasid,
                              const char *what)
{
    uint64_t root;
    const scim_pt_format *fmt;
    if (scim_os_address_space(sim->os, (uint32_t)pasid, &root, &fmt) == 0)
        return 0;
    const scim_cfg_node *pn = scim_cfg_map_get(node, "pasid");
    return scim_cfg_error_at(&sim->err, pn ? pn : node, SCIM_ECONFIG,
                             "error: %s.pasid is %llu but no process has that pasid; add processes.<name>.pasid: %llu "
                             "or change the %s's pasid",
                             where, (unsigned long long)pasid, (unsigned long long)pasid, what);
}

/* devices.<name>.tenants: a list of PASIDs besides the device's own. */
static int parse_tenants(scim_sim *sim, scim_device_params *p, const char *where)
{
    const scim_cfg_node *n = p->tenants_node;
    size_t count = scim_cfg_node_count(n);
    uint32_t *t = scim_sim_own(sim, calloc(count + 1, sizeof *t));
    if (!t)
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    for (size_t i = 0; i < count; i++) {
        const scim_cfg_node *it = scim_cfg_seq_item(n, i);
        const char *v = scim_cfg_node_scalar(it);
        char *end = NULL;
        unsigned long long x = v ? strtoull(v, &end, 0) : 0;
        if (!v || !*v || *end || x == 0 || x > SCIM_PASID_MAX)
            return scim_cfg_error_at(&sim->err, it, SCIM_ECONFIG, "error: %s.tenants[%zu]: expected a PASID from 1 to %u",
                                     where, i, SCIM_PASID_MAX);
        t[i] = (uint32_t)x;
    }
    p->tenants = t;
    p->n_tenants = count;
    return 0;
}

/* The OS never grants a device more outstanding page requests than the
 * IOMMU's page request queue holds (Linux VT-d: pci_enable_pri(pdev,
 * PRQ_DEPTH), the queue's size): a group larger than the queue could never
 * be queued, and the IOMMU would answer it itself and the device fault
 * again, forever. Refused here rather than cut at run time. */
static int check_pri_allocation(scim_sim *sim, const char *where, const scim_cfg_node *node,
                                const scim_device_params *p)
{
    size_t n;
    const scim_component *io = scim_sim_components(sim, "iommu", &n);
    const scim_iommu_params *ip = io ? io->params : NULL;
    if (!ip || p->pri_allocation <= ip->prq_depth)
        return 0;
    const scim_cfg_node *at = scim_cfg_get_path(node, "pri.allocation");
    if (!at)
        at = scim_cfg_get_path(scim_cfg_root(sim->cfg), "iommu.prq_depth");
    return scim_cfg_error_at(&sim->err, at ? at : node, SCIM_ECONFIG,
                             "error: %s.pri.allocation is %llu page requests but iommu.prq_depth is %llu "
                             "descriptors: a page request group larger than the IOMMU's page request queue could "
                             "never be queued (the device would fault forever); set %s.pri.allocation to at most "
                             "%llu, or raise iommu.prq_depth to %llu (an OS grants a device at most the queue's "
                             "size)",
                             where, (unsigned long long)p->pri_allocation, (unsigned long long)ip->prq_depth, where,
                             (unsigned long long)ip->prq_depth, (unsigned long long)p->pri_allocation);
}

static int device_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    scim_device_params *p = params;
    char where[160], why[512];
    snprintf(where, sizeof where, "devices.%s", name);
    p->seed = sim->top.seed;
    const scim_cfg_node *tn = scim_cfg_map_get(node, "trace");
    if (p->source == SCIM_SOURCE_HOST && tn)
        return scim_cfg_error_at(&sim->err, tn, SCIM_ECONFIG,
                                 "error: %s has source: host, so its DMAs come from the host program, not a trace; "
                                 "remove %s.trace or set source: trace", where, where);
    if (p->source == SCIM_SOURCE_TRACE && !p->trace[0])
        return scim_cfg_error_at(&sim->err, tn ? tn : node, SCIM_ECONFIG,
                                 "error: %s.trace is missing; give the DMA trace to replay (docs/traces.md), or "
                                 "set source: host to submit DMAs from a program (docs/embedding.md)", where);
    int rc = p->source == SCIM_SOURCE_TRACE ? resolve_trace(sim, &p->trace) : 0;
    if (rc)
        return rc;
    if (p->tenants_node && scim_cfg_node_kind(p->tenants_node) != SCIM_CFG_SEQ)
        return scim_cfg_error_at(&sim->err, p->tenants_node, SCIM_ECONFIG,
                                 "error: %s.tenants must be a list of PASIDs, e.g. [2, 3]", where);
    if (sim->scheme->check_device(p, why, sizeof why)) {
        /* why begins with the key it is about */
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(why, ":"), why);
        const scim_cfg_node *at = strcmp(key, "tenants") == 0 ? p->tenants_node : node;
        return scim_cfg_error_at(&sim->err, at, SCIM_ECONFIG, "error: %s.%s", where, why);
    }
    if (p->tenants_node && (rc = parse_tenants(sim, p, where)))
        return rc;
    if ((rc = check_pri_allocation(sim, where, node, p)))
        return rc;
    scim_err e = {0};
    scim_device *d = scim_device_create(sim->k, sim->fab, name, p, sim->stats, &e);
    if (!d)
        return scim_cfg_error_at(&sim->err, node, e.code, "error: %s: %s", where, e.msg);
    *self = d;
    scim_device_set_targets(d, scim_iommu_node(sim->io), scim_memctl_node(sim->mc), scim_os_node(sim->os));
    return 0;
}

/* What the driver programs when it binds the device (the processes exist). */
static int device_wire(scim_sim *sim, void *self, void *params, const scim_cfg_node *node)
{
    const scim_device_params *p = params;
    char where[160];
    snprintf(where, sizeof where, "devices.%s", scim_device_name(self));
    int rc = check_pasid_exists(sim, where, node, p->pasid, "device");
    if (rc || (rc = scim_sim_check_device_vm(sim, where, node, p)))
        return rc;
    uint64_t root;
    const scim_pt_format *fmt;
    /* a tenant without a process would fail every DMA that names it */
    for (size_t i = 0; i < p->n_tenants; i++)
        if (scim_os_address_space(sim->os, p->tenants[i], &root, &fmt) != 0)
            return scim_cfg_error_at(&sim->err, scim_cfg_seq_item(p->tenants_node, i), SCIM_ECONFIG,
                                     "error: %s.tenants[%zu] is %u but no process has that pasid; add "
                                     "processes.<name>.pasid: %u or remove it from the list",
                                     where, i, p->tenants[i], p->tenants[i]);
    scim_os_address_space(sim->os, (uint32_t)p->pasid, &root, &fmt);
    scim_device_set_address_space(self, root, fmt);
    size_t n, index = 0;
    scim_component *devs = scim_sim_components(sim, "devices", &n);
    while (index < n && devs[index].self != self)
        index++;
    scim_scheme_ctx ctx = {sim->os, sim->io, sim->scheme_state};
    return sim->scheme->bind_device(&ctx, self, index, &sim->err);
}

static int agent_start_error(scim_sim *sim, const scim_cfg_node *node, const char *where, const scim_err *e)
{
    return scim_cfg_error_at(&sim->err, scim_cfg_map_get(node, "trace"), e->code ? e->code : SCIM_EIO,
                             "error: %s.trace: %s", where, e->msg);
}

static int device_start(scim_sim *sim, void *self, const scim_cfg_node *node)
{
    scim_err e = {0};
    char where[160];
    snprintf(where, sizeof where, "devices.%s", scim_device_name(self));
    return scim_device_start(self, &e) ? agent_start_error(sim, node, where, &e) : 0;
}

static bool device_finished(const void *self) { return scim_device_finished(self); }
static void device_describe(const void *self, char *buf, size_t len) { scim_device_describe(self, buf, len); }
static bool device_oldest(const void *self, scim_time_t *since, char *what, size_t len)
{
    return scim_device_oldest(self, since, what, len);
}
static scim_replay *device_replay(void *self) { return scim_device_replay(self); }

static void device_position(const void *self, uint64_t *done, uint64_t *total)
{
    scim_device_position(self, done, total);
}
static const scim_port *device_port(const void *self) { return scim_device_port(self); }
static size_t device_caches(const void *self, const scim_tlb **out, const char **names, size_t max)
{
    return scim_device_caches(self, out, names, max);
}
static void device_destroy(void *self) { scim_device_destroy(self); }

static const scim_param_doc device_params[] = {
    {NULL, "devices.<name>.", scim_device_param_decls, &scim_device_param_decl_count}, PARAMS_END};
static const scim_stat_doc device_stats[] = {
    {"<device>", scim_device_stat_decls, &scim_device_stat_decl_count},
    {"<device>.dma", scim_replay_stat_decls, &scim_replay_stat_decl_count},
    {"<device>", scim_replay_os_stat_decls, &scim_replay_os_stat_decl_count},
    {"<device>.iotlb", scim_tlb_stat_decls, &scim_tlb_stat_decl_count},
    {"<device>.port", scim_port_stat_decls, &scim_port_stat_decl_count},
    {"<device>.queue.inv", scim_port_queue_stat_decls, &scim_port_queue_stat_decl_count}, STATS_END};

static const scim_component_kind device_kind = {
    .section = "devices", .title = "devices", .named = true, .name_free = agent_name_free,
    .bad_name = "bad device name '%s': use 1-40 characters from [a-z0-9_], other than mem, os and iommu", .params = device_params,
    .params_size = sizeof(scim_device_params), .stats = device_stats, .create = device_create,
    .wire = device_wire, .start = device_start, .finished = device_finished, .describe = device_describe,
    .oldest = device_oldest, .position = device_position, .replay = device_replay, .port = device_port, .caches = device_caches, .destroy = device_destroy};

static int cpu_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    scim_cpu_params *p = params;
    char where[160];
    snprintf(where, sizeof where, "cpus.%s", name);
    p->seed = sim->top.seed;
    int rc = resolve_trace(sim, &p->trace);
    if (rc || (rc = check_pasid_exists(sim, where, node, p->pasid, "core")))
        return rc;
    p->nested = scim_os_process_vm(sim->os, (uint32_t)p->pasid) != NULL; /* a guest's core: 2D walks */
    scim_err e = {0};
    scim_cpu *c = scim_cpu_create(sim->k, sim->fab, name, p, sim->stats, &e);
    if (!c)
        return scim_cfg_error_at(&sim->err, node, e.code, "error: %s: %s", where, e.msg);
    *self = c;
    return 0;
}

static int cpu_wire(scim_sim *sim, void *self, void *params, const scim_cfg_node *node)
{
    const scim_cpu_params *p = params;
    uint64_t root;
    const scim_pt_format *fmt;
    scim_os_address_space(sim->os, (uint32_t)p->pasid, &root, &fmt);
    scim_cpu_set_targets(self, scim_memctl_node(sim->mc), scim_os_node(sim->os));
    scim_cpu_set_address_space(self, root, fmt);
    scim_stage2 s2;
    if (scim_os_vm_stage2(sim->os, (uint32_t)p->pasid, &s2) == 0)
        scim_cpu_set_stage2(self, &s2);
    return scim_os_bind_cpu(sim->os, scim_cpu_node(self), (uint32_t)p->pasid, &sim->err);
}

static int cpu_start(scim_sim *sim, void *self, const scim_cfg_node *node)
{
    scim_err e = {0};
    char where[160];
    snprintf(where, sizeof where, "cpus.%s", scim_cpu_name(self));
    return scim_cpu_start(self, &e) ? agent_start_error(sim, node, where, &e) : 0;
}

static bool cpu_finished(const void *self) { return scim_cpu_finished(self); }
static void cpu_describe(const void *self, char *buf, size_t len) { scim_cpu_describe(self, buf, len); }
static bool cpu_oldest(const void *self, scim_time_t *since, char *what, size_t len)
{
    return scim_cpu_oldest(self, since, what, len);
}
static void cpu_position(const void *self, uint64_t *done, uint64_t *total) { scim_cpu_position(self, done, total); }
static scim_replay *cpu_replay(void *self) { return scim_cpu_replay(self); }
static const scim_port *cpu_port(const void *self) { return scim_cpu_port(self); }
static size_t cpu_caches(const void *self, const scim_tlb **out, const char **names, size_t max)
{
    return scim_cpu_tlbs(self, out, names, max);
}
static void cpu_destroy(void *self) { scim_cpu_destroy(self); }

static const scim_param_doc cpu_params[] = {{NULL, "cpus.<name>.", scim_cpu_param_decls, &scim_cpu_param_decl_count},
                                            PARAMS_END};
static const scim_stat_doc cpu_stats[] = {
    {"<cpu>", scim_cpu_stat_decls, &scim_cpu_stat_decl_count},
    {"<cpu>.mem", scim_replay_stat_decls, &scim_replay_stat_decl_count},
    {"<cpu>", scim_replay_os_stat_decls, &scim_replay_os_stat_decl_count},
    {"<cpu>.l1tlb|l2tlb", scim_tlb_stat_decls, &scim_tlb_stat_decl_count},
    {"<cpu>", scim_walker_stat_decls, &scim_walker_stat_decl_count},
    {"<cpu>.port", scim_port_stat_decls, &scim_port_stat_decl_count}, STATS_END};

static const scim_component_kind cpu_kind = {
    .section = "cpus", .title = "cpus", .named = true, .name_free = agent_name_free,
    .bad_name = "bad core name '%s': use 1-40 characters from [a-z0-9_], not mem, os, iommu or a device's name", .params = cpu_params, .params_size = sizeof(scim_cpu_params),
    .stats = cpu_stats, .create = cpu_create, .wire = cpu_wire, .start = cpu_start, .finished = cpu_finished,
    .describe = cpu_describe, .oldest = cpu_oldest, .position = cpu_position, .replay = cpu_replay, .port = cpu_port, .caches = cpu_caches, .destroy = cpu_destroy};

/* Build order: the system first (the formats), the fabric (every port lives on it), memory before
 * the OS (its frame pool), processes before the agents that run in them. */
const scim_component_kind *const scim_registry[] = {&system_kind,    &fabric_kind, &memory_kind,
                                                     &os_kind,        &iommu_kind,  &scim_vms_kind,
                                                     &processes_kind,
                                                     &device_kind,    &cpu_kind};
const size_t scim_registry_count = SCIM_COUNT_OF(scim_registry);

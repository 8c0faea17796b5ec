/* The simulation builder: binds a YAML configuration to every component's
 * parameter table, creates the components, wires them to the fabric, runs
 * the event kernel and reports. It holds no model state of its own. */
#include "sim/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/checker.h"
#include "mmu/cpu.h"
#include "device/device.h"
#include "iommu/exposure.h"
#include "core/fabric.h"
#include "iommu/iommu.h"
#include "mmu/memctl.h"
#include "os/os.h"
#include "driver/driver.h"
#include "iommu/pasid.h"
#include "mmu/physmem.h"
#include "mmu/replay.h"
#include "scimitar/trace.h"

typedef struct top_params {
    uint64_t seed;
    int scheme;
    int backend;
    scim_time_t max_time;
    bool check;
    const scim_cfg_node *memory, *fabric, *iommu, *os, *processes, *devices, *cpus, *sweep;
} top_params;

static const char *const scheme_names[] = {"scimitar", "pin", "iommu-map", NULL};
static const char *const backend_names[] = {"systemc", "native", NULL};

static const scim_param_decl top_decls[] = {
    {"seed", SCIM_P_U64, "1", NULL, false, 0, 0, NULL, offsetof(top_params, seed),
     "Seed of every random choice in the model (random replacement, generators): same config and seed, "
     "same statistics.",
     NULL},
    {"scheme", SCIM_P_ENUM, "scimitar", NULL, false, 0, 0, scheme_names, offsetof(top_params, scheme),
     "How devices reach process memory: scimitar (shared CPU/IO page tables, no pinning, I/O page faults), "
     "pin (the driver pins each buffer and gives the device physical addresses; os.pin.*), or iommu-map (the "
     "driver maps each buffer in a per-device I/O address space before the I/O and unmaps it after; "
     "os.iommu_map.*). The same traces run unchanged under all three (docs/architecture.md, \"Schemes\").",
     NULL},
    {"kernel.backend", SCIM_P_ENUM, "systemc", NULL, false, 0, 0, backend_names, offsetof(top_params, backend),
     "Time keeper of the event kernel: systemc (SystemC schedules; hostable in a SystemC platform) or "
     "native (a C loop; same results).",
     NULL},
    {"sim.max_time", SCIM_P_TIME, "0", "ns", false, 0, 0, NULL, offsetof(top_params, max_time),
     "Stop the run at this simulated time (0: run until every trace is replayed).", NULL},
    {"sim.check_invariants", SCIM_P_BOOL, "false", NULL, false, 0, 0, NULL, offsetof(top_params, check),
     "Run the safety checker: every access uses the translation the page table holds (or one being shot "
     "down), and no frame is freed while in use. Slower; never changes statistics.",
     NULL},
    {"memory", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, memory), "See memory.*.", NULL},
    {"fabric", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, fabric), "See fabric.*.", NULL},
    {"iommu", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, iommu), "See iommu.*.", NULL},
    {"os", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, os), "See os.*.", NULL},
    {"processes", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, processes),
     "Map of process name to its address space (see processes.<name>.*).", NULL},
    {"devices", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, devices),
     "Map of device name to its parameters (see devices.<name>.*).", NULL},
    {"cpus", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, cpus),
     "Map of CPU core name to its parameters (see cpus.<name>.*).", NULL},
    {"sweep", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(top_params, sweep),
     "Parameter sweep for `scimitar sweep` (ignored by run).", NULL},
};

typedef struct sim_counters {
    uint64_t time_ps;
    uint64_t events;
} sim_counters;

static const scim_stat_decl sim_stat_decls[] = {
    {"time_ps", SCIM_STAT_COUNTER, "ps", "Simulated time at the end of the run.", offsetof(sim_counters, time_ps)},
    {"events", SCIM_STAT_COUNTER, "count", "Events the kernel executed.", offsetof(sim_counters, events)},
};

struct scim_sim {
    scim_err err;
    scim_cfg *cfg;
    char *config_dir;
    bool built, ran;
    top_params top;
    scim_memctl_params mem_p;
    scim_fabric_params fab_p;
    scim_iommu_params io_p;
    scim_os_params os_p;
    scim_kernel *k;
    scim_stats *stats;
    scim_fabric *fab;
    scim_physmem *pm;
    scim_memctl *mc;
    scim_os *os;
    scim_driver *drv; /* schemes pin and iommu-map */
    scim_iommu *io;
    scim_checker *chk;
    scim_exposure *exposure;
    scim_device **devs;
    scim_device_params *dev_p;
    size_t n_dev_p;
    char **trace_paths;
    size_t n_devs;
    scim_cpu **cpus;
    scim_cpu_params *cpu_p;
    char **cpu_traces;
    size_t n_cpus;
    sim_counters counters;
    scim_progress_fn progress;
    void *progress_ctx;
    scim_time_t progress_every;
    uint64_t progress_events;
};

scim_sim *scim_sim_create(void) { return calloc(1, sizeof(scim_sim)); }

void scim_sim_destroy(scim_sim *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; i < sim->n_devs; i++) {
        scim_device_destroy(sim->devs[i]);
        free(sim->trace_paths[i]);
    }
    free(sim->devs);
    for (size_t i = 0; sim->dev_p && i < sim->n_dev_p; i++)
        free((void *)sim->dev_p[i].tenants);
    free(sim->dev_p);
    free(sim->trace_paths);
    for (size_t i = 0; i < sim->n_cpus; i++) {
        scim_cpu_destroy(sim->cpus[i]);
        free(sim->cpu_traces[i]);
    }
    free(sim->cpus);
    free(sim->cpu_p);
    free(sim->cpu_traces);
    scim_iommu_destroy(sim->io);
    scim_driver_destroy(sim->drv);
    scim_os_destroy(sim->os);
    scim_memctl_destroy(sim->mc);
    scim_checker_destroy(sim->chk);
    scim_exposure_destroy(sim->exposure);
    scim_fabric_destroy(sim->fab);
    scim_physmem_destroy(sim->pm);
    scim_stats_destroy(sim->stats);
    scim_kernel_destroy(sim->k);
    scim_cfg_destroy(sim->cfg);
    free(sim->config_dir);
    free(sim);
}

const char *scim_sim_errmsg(const scim_sim *sim)
{
    return sim->err.code ? sim->err.msg : "no error";
}

static int fail(scim_sim *sim, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(scim_sim *sim, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    scim_err_vset(&sim->err, code, fmt, ap);
    va_end(ap);
    return code;
}

int scim_sim_load_file(scim_sim *sim, const char *path)
{
    if (sim->cfg)
        return fail(sim, SCIM_ESTATE, "a configuration is already loaded");
    sim->cfg = scim_cfg_load_file(path, &sim->err);
    if (!sim->cfg)
        return sim->err.code ? sim->err.code : SCIM_EIO;
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    sim->config_dir = malloc(n + 2);
    if (!sim->config_dir)
        return fail(sim, SCIM_ENOMEM, "out of host memory");
    if (n)
        memcpy(sim->config_dir, path, n);
    else
        sim->config_dir[n++] = '.';
    sim->config_dir[n] = '\0';
    return 0;
}

int scim_sim_load_string(scim_sim *sim, const char *yaml, const char *name)
{
    if (sim->cfg)
        return fail(sim, SCIM_ESTATE, "a configuration is already loaded");
    sim->cfg = scim_cfg_load_string(yaml, strlen(yaml), name, &sim->err);
    if (!sim->cfg)
        return sim->err.code ? sim->err.code : SCIM_EPARSE;
    sim->config_dir = strdup(".");
    return sim->config_dir ? 0 : fail(sim, SCIM_ENOMEM, "out of host memory");
}

int scim_sim_set(scim_sim *sim, const char *assignment)
{
    if (sim->built)
        return fail(sim, SCIM_ESTATE, "--set after the simulation was built has no effect");
    if (!sim->cfg) {
        sim->cfg = scim_cfg_new_empty("--set");
        if (!sim->cfg)
            return fail(sim, SCIM_ENOMEM, "out of host memory");
        sim->config_dir = strdup(".");
    }
    return scim_cfg_set(sim->cfg, assignment, &sim->err);
}

const scim_cfg *scim_sim_config(const scim_sim *sim) { return sim->cfg; }
scim_kernel *scim_sim_kernel(scim_sim *sim) { return sim->k; }
scim_stats *scim_sim_stats(scim_sim *sim) { return sim->stats; }

int scim_sim_resolve(scim_sim *sim, uint32_t pasid, uint64_t va, uint64_t *pa)
{
    if (!sim->built)
        return fail(sim, SCIM_ESTATE, "build the simulation first");
    return scim_os_resolve(sim->os, pasid, va, pa);
}

int scim_sim_frames(scim_sim *sim, scim_frame_counts *out)
{
    if (!sim->built)
        return fail(sim, SCIM_ESTATE, "build the simulation first");
    scim_os_frames f;
    scim_os_frames_get(sim->os, &f);
    *out = (scim_frame_counts){f.total, f.free, f.data, f.page_tables, f.pasid_table, f.deferred, f.transit,
                               f.reserved};
    return 0;
}

static char *resolve_path(const scim_sim *sim, const char *path)
{
    if (path[0] == '/' || strcmp(sim->config_dir, ".") == 0)
        return strdup(path);
    size_t n = strlen(sim->config_dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", sim->config_dir, path);
    return out;
}

static bool valid_node_name(const char *s)
{
    if (!*s || strlen(s) > 40)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static int build_processes(scim_sim *sim)
{
    const scim_cfg_node *procs = sim->top.processes;
    if (!procs)
        return 0;
    if (scim_cfg_node_kind(procs) != SCIM_CFG_MAP)
        return scim_cfg_error_at(&sim->err, procs, SCIM_ECONFIG,
                                 "error: 'processes' must be a map of process name to settings, e.g. "
                                 "processes: {app: {pasid: 1}}");
    for (size_t i = 0; i < scim_cfg_node_count(procs); i++) {
        const char *name = scim_cfg_map_key(procs, i);
        const scim_cfg_node *pn = scim_cfg_map_value(procs, i);
        char where[160];
        snprintf(where, sizeof where, "processes.%s", name);
        scim_process_params pp;
        int rc = scim_cfg_bind(pn, where, scim_process_param_decls, scim_process_param_decl_count, &pp, NULL,
                               &sim->err);
        if (rc)
            return rc;
        scim_err e = {0};
        if (sim->top.scheme == SCIM_SCHEME_IOMMU_MAP && pp.pasid >= SCIM_DOMAIN_PASID_BASE)
            return scim_cfg_error_at(&sim->err, pn, SCIM_ECONFIG,
                                     "error: %s.pasid: scheme iommu-map keeps PASIDs 0x%x and up for the devices' "
                                     "I/O address spaces; use a PASID below %u",
                                     where, SCIM_DOMAIN_PASID_BASE, SCIM_DOMAIN_PASID_BASE);
        if (scim_os_add_process(sim->os, name, (uint32_t)pp.pasid, (int)pp.levels, &e) != 0)
            return scim_cfg_error_at(&sim->err, pn, e.code, "error: %s: %s", where, e.msg);
        if (!pp.regions)
            continue;
        if (scim_cfg_node_kind(pp.regions) != SCIM_CFG_SEQ)
            return scim_cfg_error_at(&sim->err, pp.regions, SCIM_ECONFIG,
                                     "error: %s.regions must be a list of {va, size, populate}", where);
        for (size_t r = 0; r < scim_cfg_node_count(pp.regions); r++) {
            const scim_cfg_node *rn = scim_cfg_seq_item(pp.regions, r);
            char rwhere[200];
            snprintf(rwhere, sizeof rwhere, "%s.regions.%zu", where, r);
            scim_region_params rp;
            rc = scim_cfg_bind(rn, rwhere, scim_region_param_decls, scim_region_param_decl_count, &rp, NULL,
                               &sim->err);
            if (rc)
                return rc;
            static const unsigned shifts[] = {12, 21, 30};
            unsigned prot = rp.prot == 0 ? SCIM_PROT_R : SCIM_PROT_RW;
            if (scim_os_add_region(sim->os, (uint32_t)pp.pasid, rp.va, rp.size, shifts[rp.page_size], prot,
                                   rp.populate, &e) != 0)
                return scim_cfg_error_at(&sim->err, rn, e.code, "error: %s: %s", rwhere, e.msg);
        }
    }
    return 0;
}

/* devices.<name>.tenants: a list of PASIDs besides the device's own. */
static int parse_tenants(scim_sim *sim, scim_device_params *p, const char *where)
{
    const scim_cfg_node *n = p->tenants_node;
    if (!n)
        return 0;
    if (scim_cfg_node_kind(n) != SCIM_CFG_SEQ)
        return scim_cfg_error_at(&sim->err, n, SCIM_ECONFIG, "error: %s.tenants must be a list of PASIDs, e.g. [2, 3]",
                                 where);
    if (p->walk == SCIM_WALK_DEVICE || p->walk == SCIM_WALK_SHADOW || sim->top.scheme != SCIM_SCHEME_SCIMITAR)
        return scim_cfg_error_at(&sim->err, n, SCIM_ECONFIG,
                                 "error: %s.tenants: a device serves several address spaces only under scheme "
                                 "scimitar with walk iommu or software (its own walker and a shadow copy follow one "
                                 "page table)",
                                 where);
    size_t count = scim_cfg_node_count(n);
    uint32_t *t = calloc(count + 1, sizeof *t);
    if (!t)
        return fail(sim, SCIM_ENOMEM, "out of host memory");
    for (size_t i = 0; i < count; i++) {
        const scim_cfg_node *it = scim_cfg_seq_item(n, i);
        const char *v = scim_cfg_node_scalar(it);
        char *end = NULL;
        unsigned long long x = v ? strtoull(v, &end, 0) : 0;
        if (!v || !*v || *end || x == 0 || x > SCIM_PASID_MAX) {
            free(t);
            return scim_cfg_error_at(&sim->err, it, SCIM_ECONFIG,
                                     "error: %s.tenants[%zu]: expected a PASID from 1 to %u", where, i, SCIM_PASID_MAX);
        }
        t[i] = (uint32_t)x;
    }
    p->tenants = t;
    p->n_tenants = count;
    return 0;
}

static int build_devices(scim_sim *sim)
{
    const scim_cfg_node *devs = sim->top.devices;
    if (!devs)
        return 0;
    if (scim_cfg_node_kind(devs) != SCIM_CFG_MAP)
        return scim_cfg_error_at(&sim->err, devs, SCIM_ECONFIG,
                                 "error: 'devices' must be a map of device name to settings, e.g. "
                                 "devices: {nic0: {trace: nic.trace, pasid: 1}}");
    size_t n = scim_cfg_node_count(devs);
    sim->devs = calloc(n, sizeof *sim->devs);
    sim->dev_p = calloc(n, sizeof *sim->dev_p);
    sim->n_dev_p = sim->dev_p ? n : 0;
    sim->trace_paths = calloc(n, sizeof *sim->trace_paths);
    if (n && (!sim->devs || !sim->dev_p || !sim->trace_paths))
        return fail(sim, SCIM_ENOMEM, "out of host memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = scim_cfg_map_key(devs, i);
        const scim_cfg_node *dn = scim_cfg_map_value(devs, i);
        char where[160];
        snprintf(where, sizeof where, "devices.%s", name);
        if (!valid_node_name(name) || !strcmp(name, "mem") || !strcmp(name, "os") || !strcmp(name, "iommu"))
            return scim_cfg_error_at(&sim->err, scim_cfg_map_key_node(devs, i), SCIM_ECONFIG,
                                     "error: bad device name '%s': use 1-40 characters from [a-z0-9_], "
                                     "other than mem, os and iommu",
                                     name);
        scim_device_params *p = &sim->dev_p[i];
        int rc = scim_cfg_bind(dn, where, scim_device_param_decls, scim_device_param_decl_count, p, NULL,
                               &sim->err);
        if (rc)
            return rc;
        p->seed = sim->top.seed * 1000003u + i + 2;
        if ((rc = parse_tenants(sim, p, where)) != 0)
            return rc;
        p->scheme = sim->top.scheme;
        p->domain = SCIM_DOMAIN_PASID_BASE + (uint32_t)i;
        if (p->scheme == SCIM_SCHEME_IOMMU_MAP && p->walk != SCIM_WALK_IOMMU)
            return scim_cfg_error_at(&sim->err, dn, SCIM_ECONFIG,
                                     "error: %s.walk: scheme iommu-map translates through the IOMMU's I/O page "
                                     "tables; expected walk: iommu",
                                     where);
        sim->trace_paths[i] = resolve_path(sim, p->trace);
        if (!sim->trace_paths[i])
            return fail(sim, SCIM_ENOMEM, "out of host memory");
        p->trace = sim->trace_paths[i];
        scim_err e = {0};
        sim->devs[i] = scim_device_create(sim->k, sim->fab, name, p, sim->stats, &e);
        sim->n_devs = i + 1;
        if (!sim->devs[i])
            return scim_cfg_error_at(&sim->err, dn, e.code, "error: %s: %s", where, e.msg);
        /* pin: the device never translates, so it takes no part in
         * shootdowns; iommu-map: it works in its own I/O address space */
        uint32_t space = p->scheme == SCIM_SCHEME_IOMMU_MAP ? p->domain : (uint32_t)p->pasid;
        if (p->scheme != SCIM_SCHEME_PIN) {
            rc = scim_iommu_bind_device(sim->io, scim_device_node(sim->devs[i]), space, &sim->err);
            if (!rc)
                rc = scim_os_bind_device(sim->os, scim_device_node(sim->devs[i]), space, &sim->err);
            for (size_t t = 0; !rc && t < p->n_tenants; t++) {
                rc = scim_iommu_bind_device(sim->io, scim_device_node(sim->devs[i]), p->tenants[t], &sim->err);
                if (!rc)
                    rc = scim_os_bind_device(sim->os, scim_device_node(sim->devs[i]), p->tenants[t], &sim->err);
            }
            if (rc)
                return rc;
        }
        scim_device_set_targets(sim->devs[i], scim_iommu_node(sim->io), scim_memctl_node(sim->mc),
                                scim_os_node(sim->os));
    }
    return 0;
}

static bool frame_in_use(void *ctx, uint64_t pfn) { return !scim_physmem_is_free(ctx, pfn); }

static void load_shadow(void *ctx, uint64_t entry_pa, uint64_t value)
{
    scim_device *d = ctx;
    scim_device_shadow_load(d, entry_pa, value);
}

/* What the driver programs when it binds a device to the address space
 * (after the processes' regions exist). */
static int bind_devices(scim_sim *sim)
{
    for (size_t i = 0; i < sim->n_devs; i++) {
        scim_device_params *p = &sim->dev_p[i];
        scim_device *d = sim->devs[i];
        uint64_t root;
        int levels;
        if (scim_os_address_space(sim->os, (uint32_t)p->pasid, &root, &levels) != 0)
            continue; /* check_device_pasids reports it */
        scim_device_set_address_space(d, root, levels);
        scim_err e = {0};
        if (p->scheme == SCIM_SCHEME_PIN) {
            uint64_t pa;
            if (scim_driver_bind_pin_device(sim->drv, scim_device_node(d), p->max_outstanding + 1, &pa, &e) != 0)
                return fail(sim, e.code, "devices.%s: cannot set aside the descriptor lists of scheme pin: %s",
                            scim_device_name(d), e.msg);
            scim_device_set_descriptors(d, pa);
            continue;
        }
        if (p->scheme == SCIM_SCHEME_IOMMU_MAP) {
            if (scim_driver_bind_map_device(sim->drv, scim_device_node(d), p->domain, p->max_outstanding + 1, &e) != 0)
                return fail(sim, e.code, "devices.%s: cannot create the I/O address space of scheme iommu-map: %s",
                            scim_device_name(d), e.msg);
            scim_device_set_exposure(d, sim->exposure);
            continue;
        }
        if (p->walk == SCIM_WALK_SHADOW) {
            int rc = scim_os_bind_shadow(sim->os, scim_device_node(d), (uint32_t)p->pasid, &sim->err);
            if (rc)
                return rc;
            scim_os_shadow_snapshot(sim->os, (uint32_t)p->pasid, load_shadow, d);
        }
        if (p->fault_policy == SCIM_FAULT_BACKUP) {
            uint64_t pa;
            if (scim_os_alloc_backup(sim->os, p->backup_slots * 4096, &pa, &e) != 0)
                return fail(sim, e.code, "devices.%s.backup_slots: cannot set aside the backup buffer: %s",
                            scim_device_name(d), e.msg);
            scim_device_set_backup(d, pa);
        }
    }
    return 0;
}

static bool name_taken(const scim_sim *sim, const char *name)
{
    if (!strcmp(name, "mem") || !strcmp(name, "os") || !strcmp(name, "iommu"))
        return true;
    for (size_t i = 0; i < sim->n_devs; i++)
        if (!strcmp(scim_device_name(sim->devs[i]), name))
            return true;
    return false;
}

static int build_cpus(scim_sim *sim)
{
    const scim_cfg_node *cpus = sim->top.cpus;
    if (!cpus)
        return 0;
    if (scim_cfg_node_kind(cpus) != SCIM_CFG_MAP)
        return scim_cfg_error_at(&sim->err, cpus, SCIM_ECONFIG,
                                 "error: 'cpus' must be a map of core name to settings, e.g. "
                                 "cpus: {cpu0: {trace: app.trace, pasid: 1}}");
    size_t n = scim_cfg_node_count(cpus);
    sim->cpus = calloc(n, sizeof *sim->cpus);
    sim->cpu_p = calloc(n, sizeof *sim->cpu_p);
    sim->cpu_traces = calloc(n, sizeof *sim->cpu_traces);
    if (n && (!sim->cpus || !sim->cpu_p || !sim->cpu_traces))
        return fail(sim, SCIM_ENOMEM, "out of host memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = scim_cfg_map_key(cpus, i);
        const scim_cfg_node *cn = scim_cfg_map_value(cpus, i);
        char where[160];
        snprintf(where, sizeof where, "cpus.%s", name);
        if (!valid_node_name(name) || name_taken(sim, name))
            return scim_cfg_error_at(&sim->err, scim_cfg_map_key_node(cpus, i), SCIM_ECONFIG,
                                     "error: bad core name '%s': use 1-40 characters from [a-z0-9_], not mem, os, "
                                     "iommu or a device's name",
                                     name);
        scim_cpu_params *p = &sim->cpu_p[i];
        int rc = scim_cfg_bind(cn, where, scim_cpu_param_decls, scim_cpu_param_decl_count, p, NULL, &sim->err);
        if (rc)
            return rc;
        p->seed = sim->top.seed * 1000033u + i + 7;
        sim->cpu_traces[i] = resolve_path(sim, p->trace);
        if (!sim->cpu_traces[i])
            return fail(sim, SCIM_ENOMEM, "out of host memory");
        p->trace = sim->cpu_traces[i];
        uint64_t root;
        int levels;
        if (scim_os_address_space(sim->os, (uint32_t)p->pasid, &root, &levels) != 0) {
            const scim_cfg_node *pn = scim_cfg_map_get(cn, "pasid");
            return scim_cfg_error_at(&sim->err, pn ? pn : cn, SCIM_ECONFIG,
                                     "error: %s.pasid is %llu but no process has that pasid; add "
                                     "processes.<name>.pasid: %llu or change the core's pasid",
                                     where, (unsigned long long)p->pasid, (unsigned long long)p->pasid);
        }
        scim_err e = {0};
        sim->cpus[i] = scim_cpu_create(sim->k, sim->fab, name, p, sim->stats, &e);
        sim->n_cpus = i + 1;
        if (!sim->cpus[i])
            return scim_cfg_error_at(&sim->err, cn, e.code, "error: %s: %s", where, e.msg);
        scim_cpu_set_targets(sim->cpus[i], scim_memctl_node(sim->mc), scim_os_node(sim->os));
        scim_cpu_set_address_space(sim->cpus[i], root, levels);
        if ((rc = scim_os_bind_cpu(sim->os, scim_cpu_node(sim->cpus[i]), (uint32_t)p->pasid, &sim->err)))
            return rc;
    }
    return 0;
}

static int check_device_pasids(scim_sim *sim)
{
    for (size_t i = 0; i < sim->n_devs; i++) {
        bool found = false;
        const scim_cfg_node *procs = sim->top.processes;
        for (size_t j = 0; procs && j < scim_cfg_node_count(procs); j++) {
            const scim_cfg_node *pas = scim_cfg_map_get(scim_cfg_map_value(procs, j), "pasid");
            if (pas && scim_cfg_node_scalar(pas) && strtoull(scim_cfg_node_scalar(pas), NULL, 0) == sim->dev_p[i].pasid)
                found = true;
        }
        if (!found) {
            const scim_cfg_node *dn = scim_cfg_map_value(sim->top.devices, i);
            const scim_cfg_node *pn = scim_cfg_map_get(dn, "pasid");
            return scim_cfg_error_at(&sim->err, pn ? pn : dn, SCIM_ECONFIG,
                                     "error: devices.%s.pasid is %llu but no process has that pasid; add "
                                     "processes.<name>.pasid: %llu or change the device's pasid",
                                     scim_device_name(sim->devs[i]), (unsigned long long)sim->dev_p[i].pasid,
                                     (unsigned long long)sim->dev_p[i].pasid);
        }
    }
    return 0;
}

static int add_link(scim_sim *sim, const char *a, const char *b, scim_time_t lat, uint64_t bw)
{
    scim_node_id na = scim_fabric_find(sim->fab, a), nb = scim_fabric_find(sim->fab, b);
    return scim_fabric_add_link(sim->fab, na, nb, lat, bw, &sim->err);
}

static int build_links(scim_sim *sim)
{
    const scim_cfg_node *links = sim->fab_p.links;
    /* a shadow copy sits next to its device (its latency is shadow.latency) */
    for (size_t i = 0; i < sim->n_devs; i++) {
        if (sim->dev_p[i].walk != SCIM_WALK_SHADOW)
            continue;
        char shadow[96];
        snprintf(shadow, sizeof shadow, "%s_shadow", scim_device_name(sim->devs[i]));
        int rc = add_link(sim, scim_device_name(sim->devs[i]), shadow, 0, 0);
        if (rc)
            return rc;
    }
    if (!links) {
        int rc = add_link(sim, "iommu", "mem", sim->fab_p.iommu_mem_latency, sim->fab_p.iommu_mem_bandwidth);
        if (!rc)
            rc = add_link(sim, "os", "mem", sim->fab_p.os_latency, sim->fab_p.os_bandwidth);
        if (!rc)
            rc = add_link(sim, "os", "iommu", sim->fab_p.os_latency, sim->fab_p.os_bandwidth);
        for (size_t i = 0; !rc && i < sim->n_devs; i++)
            rc = add_link(sim, scim_device_name(sim->devs[i]), "iommu", sim->dev_p[i].link_latency,
                          sim->dev_p[i].link_bandwidth);
        for (size_t i = 0; !rc && i < sim->n_cpus; i++) {
            rc = add_link(sim, scim_cpu_name(sim->cpus[i]), "mem", sim->cpu_p[i].link_latency,
                          sim->cpu_p[i].link_bandwidth);
            if (!rc)
                rc = add_link(sim, scim_cpu_name(sim->cpus[i]), "os", sim->fab_p.os_latency, sim->fab_p.os_bandwidth);
        }
        return rc;
    }
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
            if (scim_fabric_find(sim->fab, ends[e]) == SCIM_NODE_NONE) {
                char names[512] = "";
                for (size_t j = 0; j < scim_fabric_node_count(sim->fab); j++) {
                    strncat(names, j ? ", " : "", sizeof names - strlen(names) - 1);
                    strncat(names, scim_fabric_node_name(sim->fab, (scim_node_id)j), sizeof names - strlen(names) - 1);
                }
                return scim_cfg_error_at(&sim->err, scim_cfg_map_get(ln, e ? "b" : "a"), SCIM_ECONFIG,
                                         "error: %s.%s: no node is named '%s'; nodes are: %s", where,
                                         e ? "b" : "a", ends[e], names);
            }
        }
        scim_err e = {0};
        if (scim_fabric_add_link(sim->fab, scim_fabric_find(sim->fab, lp.a), scim_fabric_find(sim->fab, lp.b),
                                 lp.latency, lp.bandwidth, &e) != 0)
            return scim_cfg_error_at(&sim->err, ln, e.code, "error: %s: %s", where, e.msg);
    }
    return 0;
}

int scim_sim_build(scim_sim *sim)
{
    if (sim->built)
        return fail(sim, SCIM_ESTATE, "the simulation is already built");
    if (!sim->cfg) {
        sim->cfg = scim_cfg_new_empty("(defaults)");
        sim->config_dir = strdup(".");
        if (!sim->cfg || !sim->config_dir)
            return fail(sim, SCIM_ENOMEM, "out of host memory");
    }
    const scim_cfg_node *root = scim_cfg_root(sim->cfg);
    int rc = scim_cfg_bind(root, "", top_decls, SCIM_COUNT_OF(top_decls), &sim->top, NULL, &sim->err);
    if (rc)
        return rc;
    if ((rc = scim_cfg_bind(sim->top.memory, "memory", scim_memctl_param_decls, scim_memctl_param_decl_count,
                            &sim->mem_p, NULL, &sim->err)) ||
        (rc = scim_cfg_bind(sim->top.fabric, "fabric", scim_fabric_param_decls, scim_fabric_param_decl_count,
                            &sim->fab_p, NULL, &sim->err)) ||
        (rc = scim_cfg_bind(sim->top.iommu, "iommu", scim_iommu_param_decls, scim_iommu_param_decl_count,
                            &sim->io_p, NULL, &sim->err)) ||
        (rc = scim_cfg_bind(sim->top.os, "os", scim_os_param_decls, scim_os_param_decl_count, &sim->os_p,
                            NULL, &sim->err)))
        return rc;
    sim->io_p.seed = sim->top.seed;

    sim->k = scim_kernel_create(sim->top.backend == 0 ? SCIM_BACKEND_SYSTEMC : SCIM_BACKEND_NATIVE, &sim->err);
    sim->stats = scim_stats_create();
    if (!sim->k || !sim->stats)
        return sim->err.code ? sim->err.code : fail(sim, SCIM_ENOMEM, "out of host memory");
    sim->fab = scim_fabric_create(sim->k, &sim->fab_p, &sim->err);
    if (!sim->fab)
        return sim->err.code;
    sim->pm = scim_physmem_create(sim->mem_p.size, &sim->err);
    if (!sim->pm)
        return sim->err.code;
    sim->mc = scim_memctl_create(sim->k, sim->fab, sim->pm, "mem", &sim->mem_p, sim->stats, &sim->err);
    if (!sim->mc)
        return sim->err.code;
    sim->os = scim_os_create(sim->k, sim->fab, sim->pm, "os", &sim->os_p, sim->stats, &sim->err);
    if (!sim->os)
        return sim->err.code;
    if (sim->top.scheme != SCIM_SCHEME_SCIMITAR && !(sim->drv = scim_driver_create(sim->os, &sim->err)))
        return sim->err.code;
    sim->io = scim_iommu_create(sim->k, sim->fab, "iommu", &sim->io_p, sim->stats, &sim->err);
    if (!sim->io)
        return sim->err.code;
    scim_iommu_set_memory(sim->io, scim_memctl_node(sim->mc));
    scim_iommu_set_os(sim->io, scim_os_node(sim->os));
    scim_iommu_set_pasid_dir(sim->io, scim_os_pasid_dir(sim->os));
    scim_os_set_iommu(sim->os, scim_iommu_node(sim->io));
    if (sim->top.scheme == SCIM_SCHEME_IOMMU_MAP) {
        if (!(sim->exposure = scim_exposure_create()))
            return fail(sim, SCIM_ENOMEM, "out of host memory");
        scim_driver_set_exposure(sim->drv, sim->exposure);
    }

    if ((rc = build_processes(sim)) || (rc = build_devices(sim)) || (rc = check_device_pasids(sim)) ||
        (rc = bind_devices(sim)) || (rc = build_cpus(sim)) ||
        (rc = build_links(sim)))
        return rc;
    if ((rc = scim_fabric_finalize(sim->fab, sim->stats, &sim->err)))
        return rc;
    if ((rc = scim_stats_register(sim->stats, "sim", sim_stat_decls, SCIM_COUNT_OF(sim_stat_decls),
                                  &sim->counters, &sim->err)))
        return rc;
    if (sim->top.check) {
        sim->chk = scim_checker_create(sim->k, &sim->err);
        if (!sim->chk)
            return sim->err.code;
        scim_checker_set_resolver(sim->chk, scim_os_resolve, sim->os);
        scim_checker_set_frame_probe(sim->chk, frame_in_use, sim->pm);
        scim_os_set_checker(sim->os, scim_checker_observer(sim->chk));
        {
            const scim_tlb *t[8];
            const char *names[8];
            size_t n = scim_iommu_caches(sim->io, t, names, 8);
            for (size_t j = 0; j < n; j++) {
                char name[96];
                snprintf(name, sizeof name, "iommu.%s", names[j]);
                if ((rc = scim_checker_add_tlb(sim->chk, name, t[j], &sim->err)))
                    return rc;
            }
        }
        for (size_t i = 0; i < sim->n_devs; i++) {
            const scim_tlb *t[8];
            const char *names[8];
            size_t n = scim_device_caches(sim->devs[i], t, names, 8);
            for (size_t j = 0; j < n; j++) {
                char name[96];
                snprintf(name, sizeof name, "%s.%s", scim_device_name(sim->devs[i]), names[j]);
                if ((rc = scim_checker_add_tlb(sim->chk, name, t[j], &sim->err)))
                    return rc;
            }
            scim_device_set_checker(sim->devs[i], scim_checker_observer(sim->chk));
        }
        for (size_t i = 0; i < sim->n_cpus; i++) {
            const scim_tlb *t[8];
            const char *names[8];
            size_t n = scim_cpu_tlbs(sim->cpus[i], t, names, 8);
            for (size_t j = 0; j < n; j++) {
                char name[96];
                snprintf(name, sizeof name, "%s.%s", scim_cpu_name(sim->cpus[i]), names[j]);
                if ((rc = scim_checker_add_tlb(sim->chk, name, t[j], &sim->err)))
                    return rc;
            }
            scim_cpu_set_checker(sim->cpus[i], scim_checker_observer(sim->chk));
        }
    }
    for (size_t i = 0; i < sim->n_devs; i++) {
        scim_err e = {0};
        if (scim_device_start(sim->devs[i], &e) != 0) {
            const scim_cfg_node *tn = scim_cfg_map_get(scim_cfg_map_value(sim->top.devices, i), "trace");
            return scim_cfg_error_at(&sim->err, tn, e.code ? e.code : SCIM_EIO, "error: devices.%s.trace: %s",
                                     scim_device_name(sim->devs[i]), e.msg);
        }
    }
    for (size_t i = 0; i < sim->n_cpus; i++) {
        scim_err e = {0};
        if (scim_cpu_start(sim->cpus[i], &e) != 0) {
            const scim_cfg_node *tn = scim_cfg_map_get(scim_cfg_map_value(sim->top.cpus, i), "trace");
            return scim_cfg_error_at(&sim->err, tn, e.code ? e.code : SCIM_EIO, "error: cpus.%s.trace: %s",
                                     scim_cpu_name(sim->cpus[i]), e.msg);
        }
    }
    sim->built = true;
    return 0;
}

int scim_sim_check_traces(scim_sim *sim)
{
    if (!sim->built)
        return fail(sim, SCIM_ESTATE, "build the simulation before checking its traces");
    for (size_t i = 0; i < sim->n_devs + sim->n_cpus; i++) {
        const char *path = i < sim->n_devs ? sim->trace_paths[i] : sim->cpu_traces[i - sim->n_devs];
        scim_trace_reader *r = scim_trace_open(path, &sim->err);
        if (!r)
            return sim->err.code;
        scim_trace_rec rec;
        int rc;
        while ((rc = scim_trace_next(r, &rec, &sim->err)) == 1) {
        }
        scim_trace_close(r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void progress_event(void *ctx, uint64_t arg)
{
    scim_sim *sim = ctx;
    sim->progress_events++;
    sim->progress(sim->progress_ctx, scim_kernel_now(sim->k), -1.0);
    /* Only while the model has work: the tick must not keep a finished
     * run alive. */
    if (scim_kernel_events_pending(sim->k) > 0)
        scim_kernel_schedule(sim->k, sim->progress_every, SCIM_PRIO_LAST, progress_event, sim, 0);
}

void scim_sim_set_progress(scim_sim *sim, scim_progress_fn fn, void *ctx, scim_time_t every_ps)
{
    sim->progress = fn;
    sim->progress_ctx = ctx;
    sim->progress_every = every_ps ? every_ps : SCIM_US(100);
}

static int finish_run(scim_sim *sim, int rc, bool bounded)
{
    sim->counters.time_ps = scim_kernel_now(sim->k);
    scim_os_sync_stats(sim->os);
    sim->counters.events = scim_kernel_events_executed(sim->k) - sim->progress_events;
    if (rc)
        return rc;
    if (bounded && scim_kernel_events_pending(sim->k) > 0)
        return 0;
    char report[4096] = "";
    bool stuck = false;
    for (size_t i = 0; i < sim->n_devs; i++) {
        if (scim_device_finished(sim->devs[i]))
            continue;
        char line[512];
        scim_device_describe(sim->devs[i], line, sizeof line);
        strncat(report, "\n  ", sizeof report - strlen(report) - 1);
        strncat(report, line, sizeof report - strlen(report) - 1);
        stuck = true;
    }
    for (size_t i = 0; i < sim->n_cpus; i++) {
        if (scim_cpu_finished(sim->cpus[i]))
            continue;
        char line[512];
        scim_cpu_describe(sim->cpus[i], line, sizeof line);
        strncat(report, "\n  ", sizeof report - strlen(report) - 1);
        strncat(report, line, sizeof report - strlen(report) - 1);
        stuck = true;
    }
    if (stuck)
        return fail(sim, SCIM_EDEADLOCK,
                    "deadlock at t=%llu ps: no event is left but work is unfinished:%s",
                    (unsigned long long)sim->counters.time_ps, report);
    return 0;
}

int scim_sim_run(scim_sim *sim)
{
    if (!sim->built)
        return fail(sim, SCIM_ESTATE, "build the simulation before running it");
    if (sim->progress && !sim->ran)
        scim_kernel_schedule(sim->k, sim->progress_every, SCIM_PRIO_LAST, progress_event, sim, 0);
    sim->ran = true;
    int rc;
    if (sim->top.max_time)
        rc = scim_kernel_run_until(sim->k, sim->top.max_time, &sim->err);
    else
        rc = scim_kernel_run(sim->k, &sim->err);
    return finish_run(sim, rc, sim->top.max_time != 0);
}

int scim_sim_run_until(scim_sim *sim, scim_time_t t)
{
    if (!sim->built)
        return fail(sim, SCIM_ESTATE, "build the simulation before running it");
    sim->ran = true;
    int rc = scim_kernel_run_until(sim->k, t, &sim->err);
    return finish_run(sim, rc, true);
}

int scim_sim_write_stats(scim_sim *sim, const char *dir)
{
    if (!sim->built)
        return fail(sim, SCIM_ESTATE, "nothing to write: the simulation was not built");
    return scim_stats_write_dir(sim->stats, dir, &sim->err);
}

static double stat(const scim_sim *sim, const char *fmt, const char *name)
{
    char full[160];
    snprintf(full, sizeof full, fmt, name);
    double v = 0;
    scim_stats_lookup(sim->stats, full, &v);
    return v;
}

static void fmt_time(double ps, char *buf, size_t len)
{
    if (ps < 1e3)
        snprintf(buf, len, "%.0f ps", ps);
    else if (ps < 1e6)
        snprintf(buf, len, "%.1f ns", ps / 1e3);
    else if (ps < 1e9)
        snprintf(buf, len, "%.2f us", ps / 1e6);
    else
        snprintf(buf, len, "%.3f ms", ps / 1e9);
}

void scim_sim_summary(scim_sim *sim, FILE *out)
{
    char a[32], b[32], c[32];
    fmt_time((double)sim->counters.time_ps, a, sizeof a);
    fprintf(out, "scimitar %s: scheme %s, seed %llu, %s simulated, %llu events\n", scim_version_string(),
            scheme_names[sim->top.scheme], (unsigned long long)sim->top.seed, a,
            (unsigned long long)sim->counters.events);
    for (size_t i = 0; i < sim->n_devs; i++) {
        const char *n = scim_device_name(sim->devs[i]);
        double acc = stat(sim, "%s.iotlb.accesses", n), miss = stat(sim, "%s.iotlb.misses", n);
        fprintf(out, "  %s: %.0f DMAs, %.0f bytes; IOTLB %.0f lookups, %.0f misses (%.1f%% hits); %.0f I/O "
                     "page faults\n",
                n, stat(sim, "%s.dma.requests", n), stat(sim, "%s.dma.bytes", n), acc, miss,
                acc > 0 ? 100.0 * (acc - miss) / acc : 0.0, stat(sim, "%s.faults", n));
        fmt_time(stat(sim, "%s.translation.latency.mean", n), a, sizeof a);
        fmt_time(stat(sim, "%s.translation.latency.p99", n), b, sizeof b);
        fmt_time(stat(sim, "%s.dma.latency.p99", n), c, sizeof c);
        char d[32];
        fmt_time(stat(sim, "%s.dma.latency.p50", n), d, sizeof d);
        fprintf(out, "      translation latency mean %s, p99 %s; DMA latency p50 %s, p99 %s\n", a, b, d, c);
    }
    for (size_t i = 0; i < sim->n_cpus; i++) {
        const char *n = scim_cpu_name(sim->cpus[i]);
        double acc = stat(sim, "%s.l1tlb.accesses", n), l1m = stat(sim, "%s.l1tlb.misses", n);
        fmt_time(stat(sim, "%s.mem.latency.p50", n), a, sizeof a);
        fprintf(out, "  %s: %.0f accesses; L1 TLB %.1f%% hits, %.0f walks; %.0f page faults; %.0f IPIs, %.0f "
                     "snoops; access latency p50 %s\n",
                n, stat(sim, "%s.mem.requests", n), acc > 0 ? 100.0 * (acc - l1m) / acc : 0.0, stat(sim, "%s.walks", n),
                stat(sim, "%s.faults", n), stat(sim, "%s.ipis", n), stat(sim, "%s.snoops", n), a);
    }
    fmt_time(stat(sim, "%s.walk.latency.mean", "iommu"), a, sizeof a);
    fprintf(out, "  iommu: %.0f translation requests, IOTLB %.0f misses, %.0f walks (mean %s), %.0f page "
                 "requests (%.0f overflowed)\n",
            stat(sim, "%s.ats.requests", "iommu"), stat(sim, "%s.iotlb.misses", "iommu"),
            stat(sim, "%s.walks", "iommu"), a, stat(sim, "%s.prq.requests", "iommu"),
            stat(sim, "%s.prq.overflows", "iommu"));
    fmt_time(stat(sim, "%s.iopf.latency.mean", "os"), a, sizeof a);
    fmt_time(stat(sim, "%s.busy_ps", "os"), b, sizeof b);
    fprintf(out, "  os: %.0f I/O page faults handled (mean %s), %.0f CPU faults, %.0f pages mapped (%.0f from swap); "
                 "CPU time %s\n",
            stat(sim, "%s.iopf.requests", "os"), a, stat(sim, "%s.cpu_faults", "os"), stat(sim, "%s.iopf.mapped", "os"),
            stat(sim, "%s.faults.major", "os"), b);
    fmt_time(stat(sim, "%s.shootdown.latency.mean", "os"), a, sizeof a);
    fmt_time(stat(sim, "%s.shootdown.latency.p99", "os"), b, sizeof b);
    fprintf(out, "      %.0f shootdowns (mean %s, p99 %s), %.0f IPIs; reclaim evicted %.0f pages, %.0f pinned frames peak\n",
            stat(sim, "%s.shootdowns", "os"), a, b, stat(sim, "%s.ipis_sent", "os"), stat(sim, "%s.reclaim.evicted", "os"),
            stat(sim, "%s.frames.pinned_peak", "os"));
    if (sim->top.scheme == SCIM_SCHEME_PIN) {
        double t = (double)sim->counters.time_ps;
        fprintf(out, "  driver (pin): %.0f pages pinned, %.0f registration-cache hits, %.0f unpinned; pinned peak %.0f "
                     "KiB, time-average %.1f KiB\n",
                stat(sim, "%s.io.pins", "os"), stat(sim, "%s.io.pin_cache_hits", "os"), stat(sim, "%s.io.unpins", "os"),
                stat(sim, "%s.frames.pinned_peak", "os") * 4,
                t > 0 ? stat(sim, "%s.frames.pinned_integral", "os") / t * 4 : 0.0);
    } else if (sim->top.scheme == SCIM_SCHEME_IOMMU_MAP) {
        double exposed = 0;
        for (size_t i = 0; i < sim->n_devs; i++)
            exposed += stat(sim, "%s.exposed_dmas", scim_device_name(sim->devs[i]));
        fmt_time(stat(sim, "%s.io.stale_window.mean", "os"), a, sizeof a);
        fmt_time(stat(sim, "%s.io.stale_window.max", "os"), b, sizeof b);
        fprintf(out, "  driver (iommu-map, %s): %.0f pages mapped, %.0f unmapped, %.0f IOTLB flushes; stale window "
                     "mean %s, max %s; %.0f DMAs exposed\n",
                sim->os_p.iommu_map_mode ? "deferred" : "strict", stat(sim, "%s.io.maps", "os"),
                stat(sim, "%s.io.unmaps", "os"), stat(sim, "%s.io.flushes", "os"), a, b, exposed);
    }
    if (sim->chk)
        fprintf(out, "  invariant checker: %llu accesses checked, %llu through translations being shot down, "
                     "0 violations\n",
                (unsigned long long)scim_checker_accesses(sim->chk),
                (unsigned long long)scim_checker_stale_accesses(sim->chk));
}

/* ---- generated documentation ---- */

int scim_doc_config(FILE *out)
{
    fprintf(out, "# Configuration reference\n\n"
                 "Generated by `scimitar doc config` from the parameter tables in the source; the test "
                 "suite fails if this file differs. Sizes accept KiB/MiB/GiB, times ps/ns/us/ms/s, "
                 "frequencies Hz..GHz, bandwidths B/s..GB/s (decimal) or GiB/s and bps..Gbps. See "
                 "docs/defaults.md for how each default was chosen.\n\n");
    fprintf(out, "## Top level\n\n");
    scim_cfg_doc_markdown(out, "", top_decls, SCIM_COUNT_OF(top_decls));
    fprintf(out, "\n## memory\n\n");
    scim_cfg_doc_markdown(out, "memory.", scim_memctl_param_decls, scim_memctl_param_decl_count);
    fprintf(out, "\n## fabric\n\n");
    scim_cfg_doc_markdown(out, "fabric.", scim_fabric_param_decls, scim_fabric_param_decl_count);
    fprintf(out, "\n### fabric.links entries\n\n");
    scim_cfg_doc_markdown(out, "fabric.links[].", scim_link_param_decls, scim_link_param_decl_count);
    fprintf(out, "\n## iommu\n\n");
    scim_cfg_doc_markdown(out, "iommu.", scim_iommu_param_decls, scim_iommu_param_decl_count);
    fprintf(out, "\n## os\n\n");
    scim_cfg_doc_markdown(out, "os.", scim_os_param_decls, scim_os_param_decl_count);
    fprintf(out, "\n## processes\n\n");
    scim_cfg_doc_markdown(out, "processes.<name>.", scim_process_param_decls, scim_process_param_decl_count);
    fprintf(out, "\n### processes.<name>.regions entries\n\n");
    scim_cfg_doc_markdown(out, "processes.<name>.regions[].", scim_region_param_decls,
                          scim_region_param_decl_count);
    fprintf(out, "\n## devices\n\n");
    scim_cfg_doc_markdown(out, "devices.<name>.", scim_device_param_decls, scim_device_param_decl_count);
    fprintf(out, "\n## cpus\n\n");
    scim_cfg_doc_markdown(out, "cpus.<name>.", scim_cpu_param_decls, scim_cpu_param_decl_count);
    return ferror(out) ? SCIM_EIO : 0;
}

int scim_doc_stats(FILE *out)
{
    fprintf(out, "# Statistics reference\n\n"
                 "Generated by `scimitar doc stats` from the statistics tables in the source; the test "
                 "suite fails if this file differs. Every run writes these to stats.json and stats.csv "
                 "with flat dotted names. Histograms expand to .count, .mean, .min, .p50, .p90, .p99 "
                 "and .max; times are in picoseconds.\n\n");
    fprintf(out, "## Simulation\n\n");
    scim_stats_doc_markdown(out, "sim", sim_stat_decls, SCIM_COUNT_OF(sim_stat_decls));
    fprintf(out, "\n## Devices\n\n");
    scim_stats_doc_markdown(out, "<device>", scim_device_stat_decls, scim_device_stat_decl_count);
    fprintf(out, "\n### Requests of every agent\n\n"
                 "Devices report their trace's reads and writes as `<device>.dma.*`; each agent also "
                 "counts `<agent>.os_ops` (OS operations in its trace) and `<agent>.os_errors` (refused "
                 "ones).\n\n");
    scim_stats_doc_markdown(out, "<device>.dma", scim_replay_stat_decls, scim_replay_stat_decl_count);
    fprintf(out, "\n### Device IOTLB\n\n");
    scim_stats_doc_markdown(out, "<device>.iotlb", scim_tlb_stat_decls, scim_tlb_stat_decl_count);
    fprintf(out, "\n## CPU cores\n\n"
                 "Requests are `<cpu>.mem.*` (same rows as `<device>.dma.*`); translation caches are "
                 "`<cpu>.l1tlb.*`, `<cpu>.l2tlb.*` and `<cpu>.pwc.pde|pdpte|pml4e|pml5e.*` (same rows as the "
                 "device IOTLB).\n\n");
    scim_stats_doc_markdown(out, "<cpu>", scim_cpu_stat_decls, scim_cpu_stat_decl_count);
    fprintf(out, "\n## IOMMU\n\n");
    scim_stats_doc_markdown(out, "iommu", scim_iommu_stat_decls, scim_iommu_stat_decl_count);
    fprintf(out, "\n### IOMMU IOTLB and PASID cache\n\n");
    scim_stats_doc_markdown(out, "iommu.iotlb", scim_tlb_stat_decls, scim_tlb_stat_decl_count);
    scim_stats_doc_markdown(out, "iommu.pasid_cache", scim_tlb_stat_decls, scim_tlb_stat_decl_count);
    fprintf(out, "\n## OS\n\n");
    scim_stats_doc_markdown(out, "os", scim_os_stat_decls, scim_os_stat_decl_count);
    fprintf(out, "\n## Memory controller\n\n");
    scim_stats_doc_markdown(out, "mem", scim_memctl_stat_decls, scim_memctl_stat_decl_count);
    fprintf(out, "\n## Fabric\n\n"
                 "One set per link direction, named after the two nodes; and `fabric.sent.<type>`, the "
                 "number of messages of each type sent end to end (types: ");
    for (int t = 0; t < SCIM_MSG_TYPE_COUNT; t++)
        fprintf(out, "%s%s", t ? ", " : "", scim_msg_type_name((scim_msg_type)t));
    fprintf(out, ").\n\n");
    scim_stats_doc_markdown(out, "fabric.<from>.<to>", scim_fabric_link_stat_decls, scim_fabric_link_stat_decl_count);
    return ferror(out) ? SCIM_EIO : 0;
}

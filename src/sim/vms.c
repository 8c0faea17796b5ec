/* The registry's VMs (vms.<name>), and the checks that tie processes,
 * devices and cores to them (nested translation, os/hyp.c). Built after
 * the IOMMU and before the processes that run in them. */
#include <string.h>

#include "device/device.h"
#include "os/profile.h"
#include "sim/sim_internal.h"

#define PARAMS_END {NULL, NULL, NULL, NULL}
#define STATS_END {NULL, NULL, NULL}

bool scim_sim_has_vms(const scim_sim *sim)
{
    const scim_cfg_node *v = scim_cfg_get_path(scim_cfg_root(sim->cfg), "vms");
    return v && scim_cfg_node_kind(v) == SCIM_CFG_MAP && scim_cfg_node_count(v) > 0;
}

static int vm_create(scim_sim *sim, const char *name, void *params, const scim_cfg_node *node, void **self)
{
    const scim_vm_params *p = params;
    *self = NULL;
    /* auto: the VFIO practice (all guest memory pinned) unless devices translate for themselves */
    bool pin_all = p->pin == 1 || (p->pin == 0 && strcmp(sim->scheme->name, "scimitar") != 0);
    scim_err e = {0};
    if (scim_os_add_vm(sim->os, name, p, pin_all, sim->stats, &e) != 0)
        return scim_cfg_error_at(&sim->err, node, e.code, "error: vms.%s: %s", name, e.msg);
    return 0;
}

static bool vm_name_free(scim_sim *sim, const char *name)
{
    (void)sim;
    return scim_sim_node_name_ok(name) && strcmp(name, "mem") && strcmp(name, "os") && strcmp(name, "iommu");
}

static const scim_param_doc vm_params[] = {{NULL, "vms.<name>.", scim_vm_param_decls, &scim_vm_param_decl_count},
                                           PARAMS_END};
static const scim_stat_doc vm_stats[] = {{"<vm>", scim_vm_stat_decls, &scim_vm_stat_decl_count},
                                         {"<vm>", scim_vm_guest_stat_decls, &scim_vm_guest_stat_decl_count},
                                         STATS_END};

const scim_component_kind scim_vms_kind = {
    .section = "vms", .title = "vms", .named = true, .name_free = vm_name_free,
    .bad_name = "bad VM name '%s': use 1-40 characters from [a-z0-9_], other than mem, os and iommu",
    .doc = "Virtual machines: a guest's memory and the hypervisor's stage-2 table (EPT on x86-64, stage 2 on "
           "armv8, the G-stage, Sv39x4 or Sv48x4, on riscv) in simulated memory. Processes with vm: <name> run in "
           "the VM (their tables hold guest-physical addresses), devices with vm: <name> are assigned to it, and "
           "every walk of a guest address space is two-dimensional (docs/architecture.md, Nested translation).",
    .params = vm_params, .params_size = sizeof(scim_vm_params), .adjust_decls = scim_vm_profile_decls,
    .stats = vm_stats, .create = vm_create};

int scim_sim_guest_process(scim_sim *sim, const char *name, const scim_process_params *pp, const scim_cfg_node *node)
{
    scim_err e = {0};
    scim_stage2 s2;
    if (scim_os_add_guest_process(sim->os, name, (uint32_t)pp->pasid, (int)pp->levels, pp->vm, &e) != 0) {
        const scim_cfg_node *at = scim_cfg_map_get(node, e.code == SCIM_ENOENT ? "vm" : "pasid");
        return scim_cfg_error_at(&sim->err, at ? at : node, e.code, "error: processes.%s: %s", name, e.msg);
    }
    scim_os_vm_stage2(sim->os, (uint32_t)pp->pasid, &s2);
    return scim_iommu_set_stage2(sim->io, (uint32_t)pp->pasid, &s2, &sim->err);
}

/* One PASID of a device: in the device's VM, or on the host with it. */
static int device_pasid_vm(scim_sim *sim, const char *where, const scim_cfg_node *node, const scim_device_params *p,
                           uint32_t pasid)
{
    const char *vm = scim_os_process_vm(sim->os, pasid);
    if (!vm && !p->vm[0])
        return 0;
    if (vm && p->vm[0] && !strcmp(vm, p->vm))
        return 0;
    const scim_cfg_node *at = scim_cfg_map_get(node, "vm");
    if (!vm)
        return scim_cfg_error_at(&sim->err, at ? at : node, SCIM_ECONFIG,
                                 "error: %s.vm is '%s' but pasid %u is a process of the host; give the device a "
                                 "process of vm '%s' (processes.<name>.vm: %s) or remove %s.vm",
                                 where, p->vm, pasid, p->vm, p->vm, where);
    return scim_cfg_error_at(&sim->err, at ? at : node, SCIM_ECONFIG,
                             "error: %s: pasid %u is a process of vm '%s'; a device reaches a guest's memory only "
                             "when it is assigned to the guest: set %s.vm: %s",
                             where, pasid, vm, where, vm);
}

int scim_sim_check_device_vm(scim_sim *sim, const char *where, const scim_cfg_node *node,
                             const scim_device_params *p)
{
    int rc = device_pasid_vm(sim, where, node, p, (uint32_t)p->pasid);
    for (size_t i = 0; !rc && i < p->n_tenants; i++)
        rc = device_pasid_vm(sim, where, node, p, p->tenants[i]);
    if (rc || !p->vm[0] || p->walk == SCIM_WALK_IOMMU || strcmp(sim->scheme->name, "scimitar"))
        return rc;
    const scim_cfg_node *at = scim_cfg_map_get(node, "walk");
    return scim_cfg_error_at(&sim->err, at ? at : node, SCIM_ECONFIG,
                             "error: %s.walk: a device assigned to a VM translates through the IOMMU (its 2D walk); "
                             "set walk: iommu (device, software and shadow walks of guest tables are not modelled)",
                             where);
}

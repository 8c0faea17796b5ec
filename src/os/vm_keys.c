/* The keys of a VM (vms.<name>.*): the hypervisor's (os/hyp.c) and its
 * guest kernel's (os/guest.c), declared once here with their defaults,
 * units and sources (docs/config.md is generated from this table). */
#include <stddef.h>

#include "os/os.h"
#include "os/profile.h"

static const char *const vm_pins[] = {"auto", "all", "none", NULL};
/* "auto", then the stage-2 formats' names (mmu/pt_stage2.h). */
const char *const scim_vm_stage2_names[] = {"auto", "ept4", "s2-ipa48", "sv39x4", "sv48x4", NULL};

const scim_param_decl scim_vm_param_decls[] = {
    {"memory", SCIM_P_SIZE, "1GiB", "bytes", true, 1 << 16, 1ull << 46, NULL, offsetof(scim_vm_params, memory),
     "Guest-physical memory of the VM. The guest's page tables and pages come from it; a guest frame is backed "
     "by a host frame (memory.size) once used.",
     "assumption"},
    {"pin", SCIM_P_ENUM, "auto", NULL, false, 0, 0, vm_pins, offsetof(scim_vm_params, pin),
     "Whether the hypervisor pins guest memory: all (every guest frame backed and mapped in stage 2 before the "
     "run, today's VFIO practice for an assigned device), none (stage 2 filled on demand: stage-2 faults), auto "
     "(all under schemes pin and iommu-map, none under scimitar).",
     "VFIO type1 pins all guest memory of a VM with an assigned device (QEMU, Linux vfio_iommu_type1)"},
    {"s2_fault_cost", SCIM_P_TIME, "2.1us", "ps", true, 0, 1e15, NULL, offsetof(scim_vm_params, s2_fault_cost),
     "Hypervisor time of one stage-2 fault: the exit (for a guest's touch) or the host's I/O page fault handler, "
     "taking a frame, writing the stage-2 entry, resuming or answering.",
     "derived: a VM exit and entry, hundreds to thousands of cycles (Intel, 'Understanding VM exits', 2009; "
     "~0.4 us at 3 GHz, recalled) + a host minor fault, ~1.7 us (Vesely et al. ISPASS'16, secondary)"},
    {"fault_forward_cost", SCIM_P_TIME, "1us", "ps", true, 0, 1e15, NULL,
     offsetof(scim_vm_params, fault_forward_cost),
     "Hypervisor time to hand a stage-1 page request to the guest: injecting it through the vIOMMU's page "
     "request queue and trapping the guest's page response (two exits).",
     "derived: two VM exit round trips of ~0.4 us (recalled) + the VMM's queue work"},
    {"handlers", SCIM_P_U64, "1", "threads", true, 1, 1024, NULL, offsetof(scim_vm_params, handlers),
     "Hypervisor threads that handle the VM's stage-2 faults at once; the others wait in FIFO order.",
     "assumption: Linux handles a device's I/O page faults on one ordered workqueue (io-pgfault.c)"},
    {"map_exit_cost", SCIM_P_TIME, "4us", "ps", true, 0, 1e15, NULL, offsetof(scim_vm_params, map_exit_cost),
     "Scheme iommu-map in the VM (a vIOMMU with caching mode): each dma_map or dma_unmap call of the guest's "
     "driver traps to the VMM, which shadows the change into the host IOMMU's tables (a VFIO map or unmap) "
     "before the guest goes on; added to the call's os.iommu_map costs.",
     "assumption: two VM exit round trips (~0.4 us each, recalled) + the VMM's user-space handling and a VFIO "
     "map ioctl; Amit et al., 'vIOMMU: efficient IOMMU emulation', USENIX ATC'11, find these exits dominate "
     "(recalled); sweep it"},
    {"s2_reclaim.at", SCIM_P_TIME, "0", "ps", true, 0, 1e18, NULL, offsetof(scim_vm_params, s2_reclaim_at),
     "When the hypervisor first takes guest pages back at stage 2 (host memory pressure: KVM's MMU notifier "
     "unmapping guest memory the host swaps or migrates): it removes the stage-2 entries of up to "
     "s2_reclaim.pages guest data pages (in the OS's CLOCK order), shoots the pages' translations down in the "
     "IOMMU and the devices, then frees their old host frames; a later access takes a stage-2 fault. 0: never.",
     NULL},
    {"s2_reclaim.pages", SCIM_P_U64, "64", "pages", true, 1, 1e9, NULL, offsetof(scim_vm_params, s2_reclaim_pages),
     "Guest pages per stage-2 reclaim round.", "assumption"},
    {"s2_reclaim.interval", SCIM_P_TIME, "0", "ps", true, 0, 1e18, NULL,
     offsetof(scim_vm_params, s2_reclaim_interval),
     "Time between stage-2 reclaim rounds while the run has work left; 0: one round.", NULL},
    /* The guest kernel's own fault handling: the keys of os.* with the same
     * defaults and sources; guest.fault_profile presets them as
     * os.fault_profile does the host's (os/profile.c). */
    {"guest.fault_profile", SCIM_P_ENUM, "sva", NULL, false, 0, 0, scim_os_fault_profile_names,
     offsetof(scim_vm_params, guest_profile),
     "Preset of the guest kernel's fault-path costs (the guest.* keys below), as os.fault_profile for the host: "
     "sva, odp, uvm (swap: as sva; the guest has no swap device of its own). Keys given explicitly override it.",
     NULL},
    {"guest.iopf.wakeup", SCIM_P_TIME, "4us", "ns", false, 0, 0, NULL, offsetof(scim_vm_params, guest_wakeup),
     "The guest's os.iopf.wakeup: the virtual interrupt that wakes a sleeping guest fault handler (posted "
     "interrupts deliver it without an exit).",
     "as os.iopf.wakeup (the guest runs the same kernel)"},
    {"guest.iopf_cost", SCIM_P_TIME, "2us", "ns", false, 0, 0, NULL, offsetof(scim_vm_params, guest_iopf_cost),
     "The guest's os.iopf_cost: fixed guest CPU time of a batch of page request groups.",
     "as os.iopf_cost: iopf_handle_group() averages 2.0 us (S. Lu, \"vfio: IOPF support\" v2 cover letter, 2021)"},
    {"guest.iopf_page_cost", SCIM_P_TIME, "600ns", "ns", false, 0, 0, NULL,
     offsetof(scim_vm_params, guest_page_cost),
     "The guest's os.iopf_page_cost: guest CPU time per page a fault maps (zeroing not included).",
     "as os.iopf_page_cost (derived there)"},
    {"guest.iopf.zero_pages", SCIM_P_BOOL, "true", NULL, false, 0, 0, NULL, offsetof(scim_vm_params, guest_zero),
     "The guest's os.iopf.zero_pages: zero each new guest frame before mapping it (a stage-2 fault first if "
     "stage 2 lacks it).",
     "Linux maps anonymous pages zeroed (clear_page)"},
    {"guest.fault_batch", SCIM_P_U64, "1", "groups", true, 1, 65536, NULL, offsetof(scim_vm_params, guest_batch),
     "The guest's os.fault_batch: page request groups a guest handler takes per batch.",
     "as os.fault_batch (Linux io-pgfault: one group per work item)"},
    {"guest.fault_handlers", SCIM_P_U64, "1", "threads", true, 1, 4096, NULL,
     offsetof(scim_vm_params, guest_handlers),
     "The guest's os.fault_handlers: guest fault handler threads (vCPUs) working at once.", "assumption"},
    {"guest.cpu_fault_cost", SCIM_P_TIME, "1.7us", "ns", false, 0, 0, NULL,
     offsetof(scim_vm_params, guest_cpu_fault_cost),
     "The guest's os.cpu_fault_cost: a guest core's page fault handled by the guest kernel on that core (no "
     "exit: with EPT or stage 2 the guest takes its own #PF). A stage-2 fault of the core exits to the "
     "hypervisor instead (s2_fault_cost).",
     "as os.cpu_fault_cost: CPU page fault ~1.7 us (Vesely et al., ISPASS'16, secondary)"},
    {"stage2", SCIM_P_ENUM, "auto", NULL, false, 0, 0, scim_vm_stage2_names, offsetof(scim_vm_params, stage2),
     "Format of the VM's stage-2 table, one of system.isa's: ept4 (x86-64), s2-ipa48 (armv8), sv39x4 or sv48x4 "
     "(riscv G-stage: 41- or 50-bit guest-physical addresses, a 16 KiB root table). auto: ept4, s2-ipa48, and on "
     "riscv sv39x4 when system.paging is sv39, else sv48x4.",
     "Intel SDM Vol. 3C 29.3.2; Arm ARM D8.3; RISC-V Privileged spec 20211203 8.5.1 (an Sv39 host supports "
     "Sv39x4: a 41-bit guest-physical space without Sv48 hardware)"},
};
const size_t scim_vm_param_decl_count = SCIM_COUNT_OF(scim_vm_param_decls);

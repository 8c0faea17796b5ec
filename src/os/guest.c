/* The guest kernel of a VM, as far as the model runs it apart from the
 * host's: its I/O page fault handling. A page request of a guest PASID
 * that the hypervisor forwards (a stage-1 fault, os/hyp.c) waits in the
 * guest's own queue for the guest's own handler threads, with the guest's
 * costs (vms.<n>.guest.*, defaults those of os.*, preset by
 * guest.fault_profile as os.fault_profile presets the host's). The rest of
 * the OS model (regions, unmaps, reclaim, shootdowns) is shared: the host
 * and guest kernels run the same code on their own address spaces. */
#include "os/os_internal.h"

#include <stddef.h>

const scim_stat_decl scim_vm_guest_stat_decls[] = {
    {"guest.iopf.requests", SCIM_STAT_COUNTER, "count",
     "Page request groups the guest kernel received (stage-1 faults the hypervisor forwarded); counted in "
     "os.iopf.requests too.",
     offsetof(fault_domain_counts, requests)},
    {"guest.iopf.batches", SCIM_STAT_COUNTER, "count",
     "Batches the guest's fault handlers took from its queue (vms.<n>.guest.fault_batch groups at most each); "
     "counted in os.iopf.batches too.",
     offsetof(fault_domain_counts, batches)},
    {"guest.iopf.wakeups", SCIM_STAT_COUNTER, "count",
     "Virtual interrupts that woke a sleeping guest fault handler; counted in os.iopf.wakeups too.",
     offsetof(fault_domain_counts, wakeups)},
    {"guest.iopf.queue_delay", SCIM_STAT_HIST, "ps",
     "Time a page request group waited in the guest's queue until a guest handler took it.",
     offsetof(fault_domain_counts, queue_delay)},
};
const size_t scim_vm_guest_stat_decl_count = SCIM_COUNT_OF(scim_vm_guest_stat_decls);

int os_guest_domain_init(scim_os *os, const char *vm, const scim_vm_params *p, fault_domain *d,
                         fault_domain_counts *own, scim_stats *stats, scim_err *err)
{
    *d = (fault_domain){.wakeup = p->guest_wakeup,
                        .batch_cost = p->guest_iopf_cost,
                        .page_cost = p->guest_page_cost,
                        .batch = p->guest_batch,
                        .n_handlers = p->guest_handlers,
                        .cpu_fault_cost = p->guest_cpu_fault_cost,
                        .zero = p->guest_zero,
                        .own = own};
    if (scim_stats_register(stats, vm, scim_vm_guest_stat_decls, scim_vm_guest_stat_decl_count, own, err))
        return err->code;
    return os_fault_domain_add(os, d, err);
}

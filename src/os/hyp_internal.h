/* The hypervisor's state of a VM, shared by hyp.c (guest memory, stage-2
 * faults) and hyp_reclaim.c (stage-2 reclaim, timed and in the warm-up).
 * Not an interface: os/os.h is. */
#ifndef SCIM_OS_HYP_INTERNAL_H
#define SCIM_OS_HYP_INTERNAL_H

#include "os/os_internal.h"

#define VM_GPFN_BITS 40u /* vm_frames values: VM index above, guest pfn below */
#define VM_GPFN_MASK ((1ull << VM_GPFN_BITS) - 1)

typedef struct vm_stats {
    uint64_t s2_faults_io;
    uint64_t s2_faults_cpu;
    uint64_t s2_faults_touch;
    uint64_t s2_maps;
    uint64_t forwarded;
    uint64_t frames_backed;
    uint64_t s2_tables;
    uint64_t pinned;
    uint64_t s2_reclaimed;
    uint64_t s2_rounds;
    uint64_t map_exits;
    scim_hist *s2_fault_latency;
    scim_hist *s2_queue_delay;
} vm_stats;

typedef struct os_vm {
    char name[48];
    uint32_t vmid;
    size_t index;
    bool pin_all;
    scim_vm_params p;
    scim_physmem *gpm;   /* guest-physical frames: an allocator only (contents live in host frames) */
    uint64_t n_gframes;
    uint64_t *back;      /* guest pfn -> host pfn + 1 (0: not backed) */
    scim_pgtable *s2;
    pt_cookie *s2cookie; /* what the stage-2 table hands its allocator */
    struct hyp_job *head, *tail, *all_busy; /* waiting; in service (linked through next) */
    uint64_t busy;
    vm_stats st;
    scim_time_t warm_due; /* sim.warmup_until: the next stage-2 reclaim round on the records' clock; 0: none */
    uint64_t timer_gen;   /* the stage-2 reclaim timer's generation: an older one, superseded, does nothing */
    fault_domain guest;  /* the guest kernel's I/O fault handling (guest.c) */
    fault_domain_counts guest_counts;
} os_vm;

static inline bool s2_present(const os_vm *vm, uint64_t gpfn)
{
    return scim_pgtable_lookup(vm->s2, os_frame_pa(gpfn), NULL, NULL, NULL) == 1;
}

static inline uint64_t host_of(const os_vm *vm, uint64_t gpfn) { return vm->back[gpfn] - 1; }

/* The VM whose guest frame (*gpfn) host frame hpfn backs, or NULL. */
os_vm *os_hyp_vm_of_frame(const scim_os *os, uint64_t hpfn, uint64_t *gpfn);
/* The stage-2 reclaim timer's event (hyp_reclaim.c); arg: the VM's index,
 * the timer's generation above S2_TIMER_GEN_SHIFT. */
#define S2_TIMER_GEN_SHIFT 32
void os_hyp_s2_reclaim(void *ctx, uint64_t arg);

#endif

/* The hypervisor of VMs (vms.<name>), part of the privileged software on
 * the host node "os": guest-physical memory, one stage-2 table per VM in
 * simulated memory in the ISA's stage-2 format (EPT, Arm stage 2, RISC-V
 * G-stage Sv39x4 or Sv48x4, whose 16 KiB root is one order-2 block of
 * host frames; see mmu/pt_stage2.h), and stage-2 faults handled on the
 * VM's own queue.
 *
 * Guest memory. A VM has vms.<n>.memory bytes of guest-physical frames
 * (an allocator of its own; frame 0 is never handed out). Each guest frame
 * that was ever used is backed by one host frame, for the rest of the run:
 * a guest that frees memory keeps its host frame (KVM gives it back only
 * through ballooning or free page reporting, not modelled). The guest's
 * page tables hold guest-physical addresses (the page table's table_addr,
 * leaf_out and leaf_in hooks); the OS model above deals in host frames
 * throughout, so its fault, unmap, reclaim and shootdown code is the
 * guest's as well. Backing frames a guest is not using count as
 * os.frames.reserved, and so do stage-2 table frames.
 *
 * Stage 2. With pin: all (the VFIO practice for an assigned device: the
 * VMM pins and maps every guest frame before the guest runs) every guest
 * frame is backed and mapped when the VM is built. With pin: none
 * (scimitar) a frame is backed when the guest first allocates it and
 * mapped in stage 2 only when touched: the guest's page tables are mapped
 * as the guest writes them, setup (populate) touches its pages, and a fault
 * handler's zeroing of a new page takes a stage-2 fault (EPT violation)
 * first. A page the guest maps without touching it (os.iopf.zero_pages:
 * false) has no stage-2 entry until a device's walk faults on it.
 *
 * Faults. A page request of a guest PASID comes to the hypervisor: if the
 * guest's table maps the page and stage 2 does not, it is a stage-2 fault,
 * queued for one of vms.<n>.handlers hypervisor threads that map it after
 * vms.<n>.s2_fault_cost and answer the device; otherwise it is the guest's
 * (stage 1): after vms.<n>.fault_forward_cost (the vIOMMU injects the page
 * request and traps the guest's page response) it goes to the OS model's
 * fault handlers (os.*) as any page request. The guest's zeroing faults
 * (EPT violations) wait in the same hypervisor queue.
 */
#include "os/hyp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/pt_stage2.h"

enum hyp_kind { HYP_TOUCH, HYP_IO, HYP_CPU };

typedef struct hyp_job {
    enum hyp_kind kind;
    struct os_vm *vm;
    scim_msg *m;     /* HYP_IO: the page request; HYP_CPU: the core's fault (an EPT violation) */
    uint64_t pfn;    /* HYP_TOUCH: the host frame the guest touches */
    void (*resume)(scim_os *os, uint64_t arg);
    uint64_t arg;
    scim_time_t arrived;
    struct hyp_job *next;
} hyp_job;


const scim_stat_decl scim_vm_stat_decls[] = {
    {"hyp.s2_faults_io", SCIM_STAT_COUNTER, "count",
     "Stage-2 faults of devices: page requests for guest pages the guest maps and stage 2 does not.",
     offsetof(vm_stats, s2_faults_io)},
    {"hyp.s2_faults_cpu", SCIM_STAT_COUNTER, "count",
     "Stage-2 faults of the guest's cores (EPT violations): a 2D walk found the guest's entry and no stage-2 one.",
     offsetof(vm_stats, s2_faults_cpu)},
    {"hyp.s2_faults_touch", SCIM_STAT_COUNTER, "count",
     "Stage-2 faults of the guest's own first touch of a new page (its fault handler zeroing it).",
     offsetof(vm_stats, s2_faults_touch)},
    {"hyp.s2_maps", SCIM_STAT_COUNTER, "count",
     "Stage-2 entries written (guest frames mapped to host frames), at setup and at run time.",
     offsetof(vm_stats, s2_maps)},
    {"hyp.forwarded", SCIM_STAT_COUNTER, "count",
     "Page requests forwarded to the guest (stage-1 faults), each after vms.<n>.fault_forward_cost.",
     offsetof(vm_stats, forwarded)},
    {"hyp.frames_backed", SCIM_STAT_LEVEL, "frames", "Host frames backing guest memory at the end.",
     offsetof(vm_stats, frames_backed)},
    {"hyp.s2_tables", SCIM_STAT_LEVEL, "frames",
     "Host frames of the stage-2 table (a RISC-V G-stage root is 16 KiB: 4 frames).",
     offsetof(vm_stats, s2_tables)},
    {"hyp.pinned", SCIM_STAT_LEVEL, "frames", "Guest frames the hypervisor pinned and mapped before the run.",
     offsetof(vm_stats, pinned)},
    {"hyp.s2_reclaimed", SCIM_STAT_COUNTER, "pages",
     "Guest pages whose stage-2 entry the hypervisor removed (vms.<n>.s2_reclaim_*), each moved to a new host "
     "frame once the shootdown completed.",
     offsetof(vm_stats, s2_reclaimed)},
    {"hyp.map_exits", SCIM_STAT_COUNTER, "count",
     "Scheme iommu-map: the guest driver's map and unmap calls that trapped to the VMM (vms.<n>.map_exit_cost).",
     offsetof(vm_stats, map_exits)},
    {"hyp.s2_rounds", SCIM_STAT_COUNTER, "count", "Stage-2 reclaim rounds (one shootdown per PASID touched).",
     offsetof(vm_stats, s2_rounds)},
    {"hyp.s2_fault_latency", SCIM_STAT_HIST, "ps", "A stage-2 fault from its arrival to its answer.",
     offsetof(vm_stats, s2_fault_latency)},
    {"hyp.s2_queue_delay", SCIM_STAT_HIST, "ps", "Time a stage-2 fault waited for a hypervisor thread.",
     offsetof(vm_stats, s2_queue_delay)},
};
const size_t scim_vm_stat_decl_count = SCIM_COUNT_OF(scim_vm_stat_decls);


/* ---------- guest frames ---------- */

static int s2_map_err(os_vm *vm, uint64_t gpfn, scim_err *err)
{
    if (s2_present(vm, gpfn))
        return 0;
    if (scim_pgtable_map(vm->s2, os_frame_pa(gpfn), os_frame_pa(host_of(vm, gpfn)), OS_PAGE_SHIFT,
                         SCIM_PTA_USER | SCIM_PTA_WRITE, err) != 0)
        return err->code ? err->code : SCIM_ENOMEM;
    vm->st.s2_maps++;
    return 0;
}

static void s2_map(scim_os *os, os_vm *vm, uint64_t gpfn)
{
    scim_err err = {0};
    int rc = s2_map_err(vm, gpfn, &err);
    if (rc)
        scim_kernel_fail(os->k, rc, "vm %s: stage 2: %s", vm->name, err.msg);
}

/* A new guest frame and the host frame behind it; touch: the guest uses it
 * now, so stage 2 maps it (setup, page tables). */
static int guest_alloc(scim_os *os, os_vm *vm, bool touch, uint64_t *gpfn, uint64_t *hpfn, scim_err *err)
{
    uint64_t g, h;
    if (scim_physmem_alloc(vm->gpm, 0, &g, NULL) != 0)
        return scim_err_set(err, SCIM_ENOMEM, "vm '%s': guest memory (%llu bytes) is full; raise vms.%s.memory",
                            vm->name, (unsigned long long)vm->p.memory, vm->name);
    if (vm->back[g]) {
        h = host_of(vm, g);
        os->st.frames_reserved--;
    } else {
        if (scim_physmem_alloc(os->pm, 0, &h, err) != 0) {
            scim_physmem_free(vm->gpm, g, 0);
            return SCIM_ENOMEM;
        }
        if (!scim_u64map_upsert(&os->vm_frames, h, (uint64_t)vm->index << VM_GPFN_BITS | g)) {
            scim_physmem_free(os->pm, h, 0);
            scim_physmem_free(vm->gpm, g, 0);
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        }
        vm->back[g] = h + 1;
        vm->st.frames_backed++;
        os_update_free(os);
    }
    if (touch)
        s2_map(os, vm, g);
    *gpfn = g;
    *hpfn = h;
    return 0;
}

os_vm *os_hyp_vm_of_frame(const scim_os *os, uint64_t hpfn, uint64_t *gpfn)
{
    const uint64_t *v = os->n_vms ? scim_u64map_get(&os->vm_frames, hpfn) : NULL;
    if (!v)
        return NULL;
    *gpfn = *v & VM_GPFN_MASK;
    return os->vms[*v >> VM_GPFN_BITS];
}

int os_frame_alloc(scim_os *os, const process *p, unsigned order, uint64_t *pfn, scim_err *err)
{
    if (!p || !p->vm)
        return scim_physmem_alloc(os->pm, order, pfn, err);
    if (order)
        return scim_err_set(err, SCIM_EINVAL, "a guest page is 4 KiB in this model");
    uint64_t g;
    return guest_alloc(os, p->vm, os->setup_touch, &g, pfn, err);
}

void os_frame_give_back(scim_os *os, uint64_t pfn, unsigned order)
{
    uint64_t g;
    os_vm *vm = os_hyp_vm_of_frame(os, pfn, &g);
    if (!vm) {
        scim_physmem_free(os->pm, pfn, order);
        return;
    }
    scim_physmem_free(vm->gpm, g, 0);
    os->st.frames_reserved++; /* the host frame stays with the VM */
}

/* ---------- a guest's page table ---------- */

static int guest_pt_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    pt_cookie *c = cookie;
    uint64_t g, h;
    int rc = guest_alloc(c->os, c->vm, true, &g, &h, err);
    if (rc)
        return rc;
    /* a reused backing frame may hold an old table's entries */
    for (uint64_t i = 0; i < SCIM_PT_ENTRIES; i++)
        scim_physmem_write64(c->os->pm, os_frame_pa(h) + i * SCIM_PTE_BYTES, 0);
    c->os->st.frames_page_tables++;
    *pfn = g;
    return 0;
}

static void guest_pt_free(void *cookie, uint64_t gpfn)
{
    pt_cookie *c = cookie;
    os_pt_free(cookie, host_of(c->vm, gpfn)); /* deferred, then os_release_frame: back to the guest */
}

static uint64_t guest_table_addr(void *cookie, uint64_t gpa)
{
    const os_vm *vm = ((pt_cookie *)cookie)->vm;
    return os_frame_pa(host_of(vm, os_pfn(gpa))) + (gpa & OS_PAGE_MASK);
}

static uint64_t guest_leaf_out(void *cookie, uint64_t hpa)
{
    uint64_t g;
    os_vm *vm = os_hyp_vm_of_frame(((pt_cookie *)cookie)->os, os_pfn(hpa), &g);
    return vm ? os_frame_pa(g) + (hpa & OS_PAGE_MASK) : hpa;
}

const scim_pt_alloc_ops os_guest_pt_ops = {
    .alloc_table = guest_pt_alloc,
    .free_table = guest_pt_free,
    .entry_written = os_shadow_entry_written,
    .table_addr = guest_table_addr,
    .leaf_out = guest_leaf_out,
    .leaf_in = guest_table_addr,
};

/* ---------- stage-2 faults: the hypervisor's queue ---------- */

static void kick(scim_os *os, os_vm *vm);

static void answer_io(scim_os *os, scim_msg *m)
{
    m->u.page_resp = (scim_page_resp){.auto_response = false};
    scim_port_reply(os->port, m, SCIM_MSG_PRI_RESP, scim_port_wire(os->port, 0), SCIM_RESP_OK);
}

/* Pages [va, +pages) of pasid that the guest maps and stage 2 does not. */
static void map_pages(scim_os *os, os_vm *vm, uint32_t pasid, uint64_t va, uint32_t pages)
{
    process *p = os_find_process(os, pasid);
    for (uint32_t i = 0; p && i < pages; i++) {
        uint64_t hpa, g = 0;
        if (scim_pgtable_lookup(p->pt, os_page_down(va) + (uint64_t)i * OS_PAGE_SIZE, &hpa, NULL, NULL) == 1 &&
            os_hyp_vm_of_frame(os, os_pfn(hpa), &g) == vm)
            s2_map(os, vm, g);
    }
}

static void answer_cpu(scim_os *os, scim_msg *m)
{
    m->u.os_resp = (scim_os_resp){0};
    scim_port_reply(os->port, m, SCIM_MSG_OS_RESP, scim_port_wire(os->port, 0), SCIM_RESP_OK);
}

static void job_done(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    hyp_job *j = (hyp_job *)(uintptr_t)arg;
    os_vm *vm = j->vm;
    for (hyp_job **pp = &vm->all_busy; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    }
    vm->busy--;
    scim_hist_record(vm->st.s2_fault_latency, scim_kernel_now(os->k) - j->arrived);
    if (j->kind == HYP_IO) {
        const scim_page_req *q = &j->m->u.page;
        map_pages(os, vm, q->pasid, q->va, q->pages ? q->pages : 1);
        answer_io(os, j->m);
    } else if (j->kind == HYP_CPU) {
        map_pages(os, vm, j->m->u.os.pasid, j->m->u.os.addr, 1);
        answer_cpu(os, j->m);
    } else {
        uint64_t g;
        if (os_hyp_vm_of_frame(os, j->pfn, &g) == vm)
            s2_map(os, vm, g);
        j->resume(os, j->arg);
    }
    free(j);
    kick(os, vm);
}

static void kick(scim_os *os, os_vm *vm)
{
    while (vm->head && vm->busy < vm->p.handlers) {
        hyp_job *j = vm->head;
        vm->head = j->next;
        if (!vm->head)
            vm->tail = NULL;
        j->next = vm->all_busy;
        vm->all_busy = j;
        vm->busy++;
        scim_hist_record(vm->st.s2_queue_delay, scim_kernel_now(os->k) - j->arrived);
        os_spend(os, vm->p.s2_fault_cost, job_done, os, (uint64_t)(uintptr_t)j);
    }
}

static void enqueue(scim_os *os, os_vm *vm, hyp_job *j)
{
    j->vm = vm;
    j->arrived = scim_kernel_now(os->k);
    if (vm->tail)
        vm->tail->next = j;
    else
        vm->head = j;
    vm->tail = j;
    kick(os, vm);
}

bool os_hyp_untouched(const scim_os *os, uint64_t pfn)
{
    uint64_t g;
    const os_vm *vm = os_hyp_vm_of_frame(os, pfn, &g);
    return vm && !s2_present(vm, g);
}

void os_hyp_touch(scim_os *os, uint64_t pfn, void (*resume)(scim_os *os, uint64_t arg), uint64_t arg)
{
    uint64_t g;
    os_vm *vm = os_hyp_vm_of_frame(os, pfn, &g);
    hyp_job *j = calloc(1, sizeof *j);
    if (!vm || !j) {
        free(j);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    *j = (hyp_job){.kind = HYP_TOUCH, .pfn = pfn, .resume = resume, .arg = arg};
    vm->st.s2_faults_touch++;
    enqueue(os, vm, j);
}

static void forwarded(void *ctx, uint64_t arg) { os_queue_page_request(ctx, (scim_msg *)(uintptr_t)arg); }

bool os_hyp_page_request(scim_os *os, scim_msg *m)
{
    process *p = os->n_vms ? os_find_process(os, m->u.page.pasid) : NULL;
    if (!p || !p->vm)
        return false;
    os_vm *vm = p->vm;
    uint64_t hpa;
    if (scim_pgtable_lookup(p->pt, os_page_down(m->u.page.va), &hpa, NULL, NULL) == 1 &&
        os_hyp_untouched(os, os_pfn(hpa))) {
        hyp_job *j = calloc(1, sizeof *j);
        if (!j) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            return true;
        }
        *j = (hyp_job){.kind = HYP_IO, .m = m};
        vm->st.s2_faults_io++;
        enqueue(os, vm, j);
        return true;
    }
    vm->st.forwarded++;
    os_spend(os, vm->p.fault_forward_cost, forwarded, os, (uint64_t)(uintptr_t)m);
    return true;
}

/* A guest core's 2D walk failed at stage 2 (an EPT violation exits to
 * the hypervisor, not to the guest): the page the guest maps has no
 * stage-2 entry. Otherwise (the guest's own #PF) false: the guest kernel
 * handles it. */
bool os_hyp_cpu_fault(scim_os *os, scim_msg *m)
{
    process *p = os->n_vms ? os_find_process(os, m->u.os.pasid) : NULL;
    uint64_t hpa;
    if (!p || !p->vm || scim_pgtable_lookup(p->pt, os_page_down(m->u.os.addr), &hpa, NULL, NULL) != 1 ||
        !os_hyp_untouched(os, os_pfn(hpa)))
        return false;
    hyp_job *j = calloc(1, sizeof *j);
    if (!j) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return true;
    }
    *j = (hyp_job){.kind = HYP_CPU, .m = m};
    p->vm->st.s2_faults_cpu++;
    enqueue(os, p->vm, j);
    return true;
}

/* ---------- warm-up (sim.warmup): the hypervisor's work at once ---------- */

/* The guest frame behind host frame pfn mapped in stage 2 now, if it is
 * a guest's and is not: job_done's s2_map without the queue. */
int os_hyp_warm_touch(scim_os *os, uint64_t pfn, scim_err *err)
{
    uint64_t g;
    os_vm *vm = os_hyp_vm_of_frame(os, pfn, &g);
    if (!vm || s2_present(vm, g))
        return 0;
    int rc = s2_map_err(vm, g, err);
    return rc ? scim_err_set(err, rc, "sim.warmup: vm '%s': stage 2: %s", vm->name, err->msg) : 0;
}

/* os_hyp_page_request's and os_hyp_cpu_fault's test, then job_done's
 * map_pages: the pages of [va, +pages) that p's guest maps. */
int os_hyp_warm_fault(scim_os *os, const process *p, uint64_t va, uint32_t pages, bool *handled, scim_err *err)
{
    uint64_t hpa;
    *handled = p->vm && scim_pgtable_lookup(p->pt, os_page_down(va), &hpa, NULL, NULL) == 1 &&
               os_hyp_untouched(os, os_pfn(hpa));
    for (uint32_t i = 0; *handled && i < pages; i++) {
        uint64_t g;
        if (scim_pgtable_lookup(p->pt, os_page_down(va) + (uint64_t)i * OS_PAGE_SIZE, &hpa, NULL, NULL) == 1 &&
            os_hyp_vm_of_frame(os, os_pfn(hpa), &g) == p->vm) {
            int rc = os_hyp_warm_touch(os, os_pfn(hpa), err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

scim_time_t os_hyp_map_exit_cost(const scim_os *os, uint32_t pasid)
{
    const process *p = os->n_vms ? os_find_process(os, pasid) : NULL;
    if (!p || !p->vm)
        return 0;
    p->vm->st.map_exits++;
    return p->vm->p.map_exit_cost;
}

/* ---------- set-up ---------- */

static int s2_table_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    pt_cookie *c = cookie;
    int rc = scim_physmem_alloc(c->os->pm, 0, pfn, err);
    if (rc == 0) {
        c->os->st.frames_reserved++;
        c->vm->st.s2_tables++;
        os_update_free(c->os);
    }
    return rc;
}

static void s2_table_free(void *cookie, uint64_t pfn)
{
    pt_cookie *c = cookie;
    c->os->st.frames_reserved--;
    c->vm->st.s2_tables--;
    scim_physmem_free(c->os->pm, pfn, 0);
}

/* RISC-V's G-stage root: 2^order frames, aligned to their size (a buddy
 * block), accounted as that many stage-2 table frames. */
static int s2_block_alloc(void *cookie, unsigned order, uint64_t *pfn, scim_err *err)
{
    pt_cookie *c = cookie;
    int rc = scim_physmem_alloc(c->os->pm, order, pfn, err);
    if (rc == 0) {
        c->os->st.frames_reserved += 1ull << order;
        c->vm->st.s2_tables += 1ull << order;
        os_update_free(c->os);
    }
    return rc;
}

static void s2_block_free(void *cookie, uint64_t pfn, unsigned order)
{
    pt_cookie *c = cookie;
    c->os->st.frames_reserved -= 1ull << order;
    c->vm->st.s2_tables -= 1ull << order;
    scim_physmem_free(c->os->pm, pfn, order);
}

static const scim_pt_alloc_ops s2_ops = {.alloc_table = s2_table_alloc, .free_table = s2_table_free,
                                         .alloc_block = s2_block_alloc, .free_block = s2_block_free};

/* The VM's stage-2 format (vms.<n>.stage2), or an error. */
static int vm_stage2_format(const scim_os *os, const char *name, const scim_vm_params *p, const scim_pt_format **out,
                            scim_err *err)
{
    const scim_pt_format *f = p->stage2 ? scim_pt_stage2_by_name(scim_vm_stage2_names[p->stage2])
                                        : scim_pt_stage2_of(os->p.isa, os->p.paging);
    if (!f || f->isa != os->p.isa)
        return scim_err_set(err, SCIM_EINVAL, "vm '%s': stage2 %s is not a stage-2 format of system.isa %s (%s)",
                            name, scim_vm_stage2_names[p->stage2], scim_isa_name(os->p.isa),
                            os->p.isa == SCIM_ISA_RISCV   ? "sv39x4 or sv48x4"
                            : os->p.isa == SCIM_ISA_ARMV8 ? "s2-ipa48"
                                                          : "ept4");
    /* every guest-physical address must be one the format translates */
    if (!scim_pt_va_valid(f, p->memory - 1))
        return scim_err_set(err, SCIM_EINVAL,
                            "vm '%s': %llu GiB of guest memory is beyond the %u-bit guest-physical addresses of %s; "
                            "lower vms.%s.memory or choose a wider stage2",
                            name, (unsigned long long)(p->memory >> 30), f->va_bits, f->name, name);
    *out = f;
    return 0;
}

fault_domain *os_hyp_guest_domain(struct os_vm *vm) { return &vm->guest; }

os_vm *os_find_vm(const scim_os *os, const char *name)
{
    for (size_t i = 0; i < os->n_vms; i++)
        if (!strcmp(os->vms[i]->name, name))
            return os->vms[i];
    return NULL;
}

int scim_os_add_vm(scim_os *os, const char *name, const scim_vm_params *p, bool pin_all, scim_stats *stats,
                   scim_err *err)
{
    const scim_pt_format *f2 = NULL;
    int rc = vm_stage2_format(os, name, p, &f2, err);
    if (rc)
        return rc;
    if (os_find_vm(os, name))
        return scim_err_set(err, SCIM_EEXIST, "two VMs are named '%s'", name);
    os_vm **nv = realloc(os->vms, (os->n_vms + 1) * sizeof *nv);
    if (!nv)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a VM");
    os->vms = nv;
    os_vm *vm = calloc(1, sizeof *vm);
    pt_cookie *c = malloc(sizeof *c);
    if (!vm || !c) {
        free(vm);
        free(c);
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a VM");
    }
    snprintf(vm->name, sizeof vm->name, "%s", name);
    vm->index = os->n_vms;
    vm->vmid = (uint32_t)os->n_vms + 1;
    vm->p = *p;
    vm->pin_all = pin_all;
    os->vms[os->n_vms++] = vm;
    *c = (pt_cookie){os, 0, vm};
    vm->s2cookie = c; /* freed with the VM */
    vm->n_gframes = p->memory >> OS_PAGE_SHIFT;
    if (!(vm->gpm = scim_physmem_create(p->memory, err)) || !(vm->back = calloc(vm->n_gframes, sizeof *vm->back)))
        return err && err->code ? err->code : scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a VM");
    if (!(vm->s2 = scim_pgtable_create(os->pm, f2, &s2_ops, c, err)))
        return err && err->code ? err->code : SCIM_ENOMEM;
    if (scim_stats_register(stats, name, scim_vm_stat_decls, scim_vm_stat_decl_count, &vm->st, err) ||
        os_guest_domain_init(os, name, p, &vm->guest, &vm->guest_counts, stats, err))
        return err->code;
    scim_pgtable_keep_empty_tables(vm->s2, true); /* a walker may read them until the run ends */
    if (p->s2_reclaim_at) {
        vm->warm_due = p->s2_reclaim_at;
        scim_kernel_schedule_timer(os->k, p->s2_reclaim_at, SCIM_PRIO_DEFAULT, os_hyp_s2_reclaim, os, vm->index);
    }
    if (!pin_all)
        return 0;
    /* every guest frame backed and mapped before the guest runs */
    uint64_t g, h;
    while (guest_alloc(os, vm, true, &g, &h, NULL) == 0)
        vm->st.pinned++;
    for (g = 1; g < vm->n_gframes; g++) {
        if (vm->back[g]) {
            scim_physmem_free(vm->gpm, g, 0);
            os->st.frames_reserved++;
        }
    }
    /* host frames pinned for the VM count with every other pin (os.frames.pinned*) */
    os->st.frames_pinned += vm->st.pinned;
    if (os->st.frames_pinned > os->st.frames_pinned_peak)
        os->st.frames_pinned_peak = os->st.frames_pinned;
    if (vm->st.pinned + 1 < vm->n_gframes)
        return scim_err_set(err, SCIM_ENOMEM,
                            "vm '%s': pinning its %llu MiB of guest memory needs more than memory.size's free frames; "
                            "raise memory.size, lower vms.%s.memory, or set vms.%s.pin: none",
                            name, (unsigned long long)(p->memory >> 20), name, name);
    return 0;
}

int scim_os_vm_stage2(const scim_os *os, uint32_t pasid, scim_stage2 *out)
{
    const process *p = os_find_process(os, pasid);
    if (!p || !p->vm)
        return SCIM_ENOENT;
    *out = (scim_stage2){.root = scim_pgtable_root(p->vm->s2), .fmt = scim_pgtable_format(p->vm->s2),
                         .vmid = p->vm->vmid};
    return 0;
}

const char *scim_os_process_vm(const scim_os *os, uint32_t pasid)
{
    const process *p = os_find_process(os, pasid);
    return p && p->vm ? p->vm->name : NULL;
}

void os_hyp_free(scim_os *os)
{
    for (size_t i = 0; i < os->n_vms; i++) {
        os_vm *vm = os->vms[i];
        hyp_job *lists[2] = {vm->head, vm->all_busy};
        for (int l = 0; l < 2; l++) {
            for (hyp_job *j = lists[l]; j;) {
                hyp_job *next = j->next;
                free(j);
                j = next;
            }
        }
        scim_pgtable_destroy(vm->s2);
        scim_physmem_destroy(vm->gpm);
        free(vm->back);
        free(vm->s2cookie);
        free(vm);
    }
    free(os->vms);
    scim_u64map_free(&os->vm_frames);
}

/* Fault jobs: I/O page faults (their handlers are in iopf.c; requests for
 * a page already queued join it), software walks, CPU faults on the
 * faulting core, backup copies and a driver's faulting-in; one resolution
 * path for them all (present, in transition, swapped or missing), and
 * answering. A new page of an I/O fault is zeroed before it is mapped
 * (os_zero_first, os_install_zeroed). */
#include "os/os_internal.h"

#include <stdlib.h>

/* ---------- jobs ---------- */

fault_job *os_new_job(scim_os *os, scim_msg *m, enum job_kind kind)
{
    fault_job *j = calloc(1, sizeof *j);
    if (!j) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    j->m = m;
    j->kind = kind;
    switch (kind) {
    case JOB_IO:
        j->pasid = m->u.page.pasid;
        j->va = j->group_va = os_page_down(m->u.page.va);
        j->write = m->u.page.write;
        j->pages = m->u.page.pages ? m->u.page.pages : 1;
        j->prefault = m->u.page.prefault;
        break;
    case JOB_SW:
        j->pasid = m->u.xlat.pasid;
        j->va = m->u.xlat.va;
        j->write = m->u.xlat.write;
        break;
    default: /* an OS request: a CPU fault, a backup copy, a driver's fault-in */
        j->pasid = m->u.os.pasid;
        j->va = m->u.os.addr;
        j->write = kind == JOB_BACKUP || m->u.os.write;
        break;
    }
    j->arrived = scim_kernel_now(os->k);
    j->live_next = os->live;
    if (os->live)
        os->live->live_prev = j;
    os->live = j;
    return j;
}

void os_job_free(scim_os *os, fault_job *j)
{
    if (j->live_prev)
        j->live_prev->live_next = j->live_next;
    else
        os->live = j->live_next;
    if (j->live_next)
        j->live_next->live_prev = j->live_prev;
    free(j);
}

void os_job_push(job_queue *q, fault_job *j)
{
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

/* ---------- answering ---------- */

static void reply_os_resp(scim_os *os, scim_msg *m, int32_t status)
{
    m->u.os_resp = (scim_os_resp){0};
    scim_port_reply(os->port, m, SCIM_MSG_OS_RESP, scim_port_wire(os->port, 0), status);
}

static void backup_copied(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    fault_job *j = (fault_job *)(uintptr_t)arg;
    process *p = os_find_process(os, j->pasid);
    uint64_t pa;
    /* the copy is a CPU write to the page: the checker sees it like any access */
    if (p && scim_pgtable_lookup(p->pt, j->va, &pa, NULL, NULL) == 1 && os->checker) {
        if (!scim_obs_access_begin(os->checker, "os backup copy", j->pasid, j->va, pa, j->m->u.os.len)) {
            os_job_free(os, j);
            return;
        }
        scim_obs_access_end(os->checker, pa);
    }
    os->st.backup_copies++;
    reply_os_resp(os, j->m, SCIM_RESP_OK);
    os_job_free(os, j);
}

/* Walk placement software: the handler answers with the translation. */
static void answer_sw_walk(scim_os *os, fault_job *j, int32_t status)
{
    scim_msg *m = j->m;
    process *p = os_find_process(os, j->pasid);
    uint64_t pa;
    unsigned shift, attrs;
    m->u.xlat_resp = (scim_xlat_resp){0};
    if (status == SCIM_RESP_OK && p && scim_pgtable_lookup(p->pt, j->va, &pa, &shift, &attrs) == 1) {
        unsigned perms = scim_pta_perms(attrs);
        m->u.xlat_resp = (scim_xlat_resp){scim_page_base(pa, shift), (uint8_t)shift, (uint8_t)perms};
    } else {
        status = SCIM_RESP_INVALID;
    }
    scim_port_reply(os->port, m, SCIM_MSG_ATS_RESP, scim_port_wire(os->port, OS_PTE_BYTES), status);
}

static void answer_one(scim_os *os, fault_job *j, int32_t status)
{
    scim_msg *m = j->m;
    scim_time_t lat = scim_kernel_now(os->k) - j->arrived;
    switch (j->kind) {
    case JOB_IO:
        scim_hist_record(os->st.iopf_latency, lat);
        m->u.page_resp = (scim_page_resp){.auto_response = false};
        scim_port_reply(os->port, m, SCIM_MSG_PRI_RESP, scim_port_wire(os->port, 0), status);
        if (!j->follower) {
            /* the leader's handler goes on (prefault, the next group) */
            j->m = NULL;
            os_iopf_answered(os, j);
            return;
        }
        break;
    case JOB_DRIVER: {
        os_fault_done_fn done = j->done;
        void *ctx = j->done_ctx;
        scim_hist_record(os->st.cpu_fault_latency, lat);
        os_job_free(os, j);
        done(ctx, m, status);
        return;
    }
    case JOB_CPU:
        scim_hist_record(os->st.cpu_fault_latency, lat);
        reply_os_resp(os, m, status);
        break;
    case JOB_SW:
        answer_sw_walk(os, j, status);
        break;
    case JOB_BACKUP:
        if (status == SCIM_RESP_OK) {
            os_spend(os, os->p.backup_copy_cost, backup_copied, os, (uint64_t)(uintptr_t)j);
            return;
        }
        os->st.backup_lost++;
        reply_os_resp(os, m, SCIM_RESP_OK);
        break;
    }
    os_job_free(os, j);
}

static void sw_page_paid(void *ctx, uint64_t arg);

static void answer_fault(scim_os *os, fault_job *j, int32_t status)
{
    if (j->kind == JOB_SW && status == SCIM_RESP_OK && j->outcome != PAGE_PRESENT) {
        /* the software walk's handler mapped a page: the same per-page work
         * as a handler thread's (os.iopf_page_cost) */
        j->outcome = PAGE_PRESENT;
        os_spend(os, os->p.iopf_page_cost, sw_page_paid, os, (uint64_t)(uintptr_t)j);
        return;
    }
    if (j->kind == JOB_IO) {
        /* one page of a group: the group's handler goes on */
        os_iopf_page_resolved(os, j, status);
        return;
    }
    if (!os_sync_flush(os, j->pasid, SK_ANSWER, j, 0, status))
        os_answer_fault_now(os, j, status);
}

static void sw_page_paid(void *ctx, uint64_t arg) { answer_fault(ctx, (fault_job *)(uintptr_t)arg, SCIM_RESP_OK); }

void os_answer_fault_now(scim_os *os, fault_job *j, int32_t status)
{
    if (status == SCIM_RESP_INVALID)
        os->st.iopf_invalid++;
    for (fault_job *f = j->followers; f;) {
        fault_job *next = f->next;
        answer_one(os, f, status);
        f = next;
    }
    answer_one(os, j, status);
}

/* ---------- pages in transition ---------- */


busy_page *os_busy_get(process *p, uint64_t va)
{
    uint64_t *v = scim_u64map_get(&p->busy, os_vpn(va));
    return v ? (busy_page *)(uintptr_t)*v : NULL;
}

busy_page *os_busy_set(scim_os *os, process *p, uint64_t va, enum busy_state state)
{
    busy_page *b = calloc(1, sizeof *b);
    uint64_t *slot = b ? scim_u64map_upsert(&p->busy, os_vpn(va), (uint64_t)(uintptr_t)b) : NULL;
    if (!slot) {
        free(b);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory tracking pages");
        return NULL;
    }
    b->state = state;
    return b;
}

/* Run every job of a list linked through next again (each one once). */
static void resolve_all(scim_os *os, fault_job *j, void (*fn)(scim_os *os, fault_job *j))
{
    while (j) {
        fault_job *next = j->next;
        j->next = NULL;
        fn(os, j);
        j = next;
    }
}

void os_busy_clear(scim_os *os, process *p, uint64_t va)
{
    busy_page *b = os_busy_get(p, va);
    if (!b)
        return;
    scim_u64map_remove(&p->busy, os_vpn(va));
    fault_job *j = b->waiters;
    free(b);
    resolve_all(os, j, os_resolve);
}

/* ---------- waiting for a frame ---------- */

static void wait_for_frame(scim_os *os, fault_job *j)
{
    os->st.frame_waits++;
    j->next = NULL;
    os_job_push(&os->fw, j);
    os_maybe_reclaim(os);
}

/* A waiter retries if a frame is free, else queues again. */
static void retry_for_frame(scim_os *os, fault_job *j)
{
    if (scim_physmem_frames_free(os->pm) > 0)
        os_resolve(os, j);
    else
        wait_for_frame(os, j);
}

/* Each waiter tries once: a fault that needs more frames than are free
 * (a data frame and new page-table frames) queues again, in order, rather
 * than being retried here forever. */
void os_wake_frame_waiters(scim_os *os)
{
    if (!os->fw.head || scim_physmem_frames_free(os->pm) == 0)
        return;
    fault_job *j = os->fw.head;
    os->fw.head = os->fw.tail = NULL;
    resolve_all(os, j, retry_for_frame);
}

/* ---------- swap-ins ---------- */

void os_swap_read_done(scim_os *os, fault_job *j)
{
    process *p = os_find_process(os, j->pasid);
    const region *r = os_find_region(p, j->va);
    uint64_t va = os_page_down(j->va);
    os->st.frames_transit--;
    scim_err err; /* cleared, not zeroed: 1 KiB per fault */
    scim_err_clear(&err);
    if (!r || os_map_new_page(os, p, va, r, j->frame, true, &err) != 0) {
        /* the region went away while the page was read: drop it */
        os_frame_give_back(os, j->frame, 0);
        os_update_free(os);
    } else {
        os->st.iopf_mapped++;
    }
    os_forget_swapped(os, p, va);
    j->outcome = PAGE_SWAPPED_IN;
    answer_fault(os, j, r ? SCIM_RESP_OK : SCIM_RESP_INVALID);
    os_busy_clear(os, p, va);
}

/* The swap device could not read the page back: the fault fails (the
 * process would get SIGBUS; a device's DMA fails), the page stays in swap
 * and the frame goes back; faults that waited for the page try again. */
void os_swap_read_failed(scim_os *os, fault_job *j)
{
    process *p = os_find_process(os, j->pasid);
    uint64_t va = os_page_down(j->va);
    os->st.frames_transit--;
    os->st.swap_read_errors++;
    os_frame_give_back(os, j->frame, 0);
    os_update_free(os);
    j->outcome = PAGE_PRESENT;
    answer_fault(os, j, SCIM_RESP_INVALID);
    if (p)
        os_busy_clear(os, p, va);
}

/* A major fault: reserve a frame and read the page back from swap. */
static void swap_in(scim_os *os, process *p, fault_job *j, uint64_t va)
{
    scim_err err; /* cleared, not zeroed: 1 KiB per fault */
    scim_err_clear(&err);
    uint64_t pfn;
    if (os_frame_alloc(os, p, 0, &pfn, &err) != 0) {
        wait_for_frame(os, j);
        return;
    }
    os_update_free(os);
    os->st.frames_transit++;
    os->st.faults_major++;
    os->st.swap_reads++;
    if (!os_busy_set(os, p, va, BUSY_SWAPIN))
        return;
    j->frame = pfn; /* mapped by os_swap_read_done */
    os_swap_submit(os, (swap_io){.write = false, .job = j});
    os_maybe_reclaim(os);
}

/* ---------- a new page, zeroed before it is mapped ---------- */

/* Linux clears a new anonymous page before set_pte (do_anonymous_page):
 * were the PTE installed first, a device, a core or an IOTLB prefetch could
 * read what the frame held before. So the page stays in transition
 * (BUSY_ZERO) from the frame's allocation until it is mapped: faults on it
 * wait, as they do for a swap-in, and a walk finds it not present. */
int os_zero_first(scim_os *os, process *p, fault_job *j, uint64_t va, const region *r, scim_err *err)
{
    unsigned order = os_order(r->page_shift);
    uint64_t pfn;
    int rc = os_frame_alloc(os, p, order, &pfn, err);
    if (rc)
        return rc;
    if (!os_busy_set(os, p, va, BUSY_ZERO)) {
        os_frame_give_back(os, pfn, order); /* out of host memory: the run stops */
        return SCIM_ENOMEM;
    }
    os_update_free(os);
    os->st.frames_transit += 1ull << order; /* neither free nor mapped while zeroed */
    j->frame = pfn;
    j->frame_va = va;
    j->frame_shift = r->page_shift;
    j->zeroing = true;
    return 0;
}

void os_install_zeroed(scim_os *os, fault_job *j)
{
    process *p = os_find_process(os, j->pasid);
    const region *r = p ? os_find_region(p, j->frame_va) : NULL;
    unsigned order = os_order(j->frame_shift);
    scim_err err; /* cleared, not zeroed: 1 KiB per fault */
    scim_err_clear(&err);
    /* the region may have gone (munmap) or changed while the frame was zeroed */
    int rc = r && r->page_shift == j->frame_shift ? os_map_new_page(os, p, j->frame_va, r, j->frame, true, &err)
                                                  : SCIM_ENOENT;
    if (rc == SCIM_ENOMEM) {
        /* a page-table frame is missing: wait for one, the page still in transition */
        j->installing = true;
        wait_for_frame(os, j);
        return;
    }
    j->installing = false;
    j->zeroing = false;
    os->st.frames_transit -= 1ull << order;
    if (rc) {
        os_release_frame(os, j->frame, order);
    } else {
        os->st.iopf_mapped++;
    }
    os_busy_clear(os, p, j->frame_va);
    os_iopf_page_installed(os, j, rc == 0);
}

/* ---------- resolving ---------- */

/* Resolve a fault whose handler time has been paid. */
void os_resolve(scim_os *os, fault_job *j)
{
    if (j->installing) {
        os_install_zeroed(os, j); /* back from waiting for a page-table frame */
        return;
    }
    j->outcome = PAGE_PRESENT;
    process *p = os_find_process(os, j->pasid);
    const region *r = p ? os_find_region(p, j->va) : NULL;
    if (!r || r->prot == SCIM_PROT_NONE || (j->write && !(r->prot & OS_PROT_W))) {
        answer_fault(os, j, SCIM_RESP_INVALID);
        return;
    }
    uint64_t va = j->va & ~((1ull << r->page_shift) - 1);
    busy_page *b = os_busy_get(p, va);
    if (b) {
        os->st.faults_waited++;
        j->next = b->waiters;
        b->waiters = j;
        return;
    }
    unsigned attrs;
    if (scim_pgtable_lookup(p->pt, j->va, NULL, NULL, &attrs) == 1) {
        if (j->write && !(attrs & SCIM_PTA_WRITE))
            scim_pgtable_update(p->pt, j->va, SCIM_PTA_WRITE, 0, NULL); /* upgrade: no stale hazard */
        else if (j->kind != JOB_IO || j->va == j->group_va)
            os->st.iopf_spurious++; /* the faulting page was there (a group's other pages need not be absent) */
        answer_fault(os, j, SCIM_RESP_OK);
        return;
    }
    if (r->page_shift == OS_PAGE_SHIFT && scim_u64map_get(&p->swapped, os_vpn(va))) {
        swap_in(os, p, j, va);
        return;
    }
    scim_err err; /* cleared, not zeroed: 1 KiB per fault */
    scim_err_clear(&err);
    bool zero_first = j->kind == JOB_IO && os_zeroing(os, os_fault_domain(os, p));
    int rc = zero_first ? os_zero_first(os, p, j, va, r, &err) : os_map_new_page(os, p, va, r, 0, false, &err);
    if (rc == SCIM_ENOMEM && r->page_shift == OS_PAGE_SHIFT) {
        wait_for_frame(os, j);
        return;
    }
    if (rc) {
        scim_kernel_fail(os->k, rc, "fault at pasid %u va 0x%llx could not be resolved: %s%s", j->pasid,
                         (unsigned long long)j->va, err.msg,
                         rc == SCIM_ENOMEM ? "; huge pages are not reclaimed: raise memory.size" : "");
        os_job_free(os, j);
        return;
    }
    if (!zero_first)
        os->st.iopf_mapped++; /* else once zeroed and mapped */
    os->st.faults_minor++;
    j->outcome = PAGE_ZEROED;
    answer_fault(os, j, SCIM_RESP_OK);
    os_maybe_reclaim(os);
}

static void sw_fault(void *ctx, uint64_t arg) { os_resolve(ctx, (fault_job *)(uintptr_t)arg); }

/* A fault handled on a CPU: cost, then resolve. */
static void fault_after(scim_os *os, fault_job *j, scim_time_t cost)
{
    os_spend(os, cost, sw_fault, os, (uint64_t)(uintptr_t)j);
}

/* Walk placement software: the handler walks; a missing page costs a fault
 * on top. */
void os_sw_handled(scim_os *os, fault_job *j)
{
    os->st.sw_walks++;
    process *p = os_find_process(os, j->pasid);
    unsigned attrs;
    if (p && scim_pgtable_lookup(p->pt, j->va, NULL, NULL, &attrs) == 1 && (attrs & SCIM_PTA_USER) &&
        (!j->write || (attrs & SCIM_PTA_WRITE))) {
        answer_fault(os, j, SCIM_RESP_OK);
        return;
    }
    fault_after(os, j, os->p.iopf_cost);
}

/* ---------- arrivals ---------- */

void os_on_pri_req(scim_os *os, scim_msg *m)
{
    if (!os_hyp_page_request(os, m))
        os_queue_page_request(os, m);
}

void os_queue_page_request(scim_os *os, scim_msg *m)
{
    os->st.iopf_requests++;
    os->st.iopf_pages += (uint64_t)m->u.page.pages + m->u.page.prefault;
    fault_job *j = os_new_job(os, m, JOB_IO);
    if (!j)
        return;
    /* a request for a page already waiting in the queue rides along */
    process *p = os_find_process(os, j->pasid);
    fault_domain *d = os_fault_domain(os, p);
    if (d->own)
        d->own->requests++;
    uint64_t *leader = p ? scim_u64map_get(&p->queued, os_vpn(j->va)) : NULL;
    if (leader) {
        fault_job *l = (fault_job *)(uintptr_t)*leader;
        os->st.iopf_joined++;
        j->follower = true;
        j->next = l->followers;
        l->followers = j;
        if (j->write)
            l->write = true;
        return;
    }
    if (p && !scim_u64map_upsert(&p->queued, os_vpn(j->va), (uint64_t)(uintptr_t)j)) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    os_job_push(&d->fq, j);
    d->fq_len++;
    os_iopf_kick(os, d);
}

/* A CPU fault runs on the faulting core: no handler queue. */
void os_on_cpu_fault(scim_os *os, scim_msg *m)
{
    if (os_hyp_cpu_fault(os, m))
        return; /* a guest core's stage-2 fault: the hypervisor's */
    os->st.cpu_faults++;
    fault_job *j = os_new_job(os, m, JOB_CPU);
    if (j)
        fault_after(os, j, os_fault_domain(os, os_find_process(os, j->pasid))->cpu_fault_cost);
}

/* A backup copy: a CPU touches the page (a CPU fault's cost: the trap, or
 * finding it present), then copies. */
void os_on_backup(scim_os *os, scim_msg *m)
{
    fault_job *j = os_new_job(os, m, JOB_BACKUP);
    if (j)
        fault_after(os, j, os->p.cpu_fault_cost);
}

bool os_fault_in(scim_os *os, scim_msg *m, uint64_t va, bool write, os_fault_done_fn done, void *ctx)
{
    fault_job *j = os_new_job(os, m, JOB_DRIVER);
    if (!j)
        return false;
    j->va = va;
    j->write = write;
    j->done = done;
    j->done_ctx = ctx;
    os->st.cpu_faults++;
    fault_after(os, j, os->p.cpu_fault_cost);
    return true;
}

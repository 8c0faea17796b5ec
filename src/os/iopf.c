/* The I/O page fault path as a mechanism (docs/os.md, "The I/O fault
 * path"):
 *
 *   page request group -> the IOMMU's page request queue -> an interrupt
 *   (MSI) that wakes a sleeping handler thread (os.iopf.wakeup; groups that
 *   arrive while handlers are awake cost no interrupt: coalescing) -> the
 *   handler takes up to os.fault_batch groups (one os.iopf_cost per batch:
 *   reading the queue, taking the address space's lock) -> for each group,
 *   page by page: a present page costs nothing; a missing one gets a frame
 *   (os.iopf_page_cost), is zeroed by a 4 KiB write at the memory
 *   controller (its bandwidth and latency) and only then mapped (the page
 *   is in transition meanwhile: other faults on it wait); a swapped one is
 *   read back from the swap device -> the group's response (one Page Group
 *   Response) -> then the prefault pages the group asked for, charged only
 *   for those actually mapped (before the response if os.prefault_sync).
 *
 * Software walks (walk placement software) run in the interrupt handler
 * itself, one at a time, os.sw_walk_cost each (interrupt entry included):
 * no handler thread, so no wake-up.
 */
#include <stdlib.h>

#include "os/os_internal.h"

static void handler_next(scim_os *os, size_t h);
static void group_step(scim_os *os, size_t h);

int os_iopf_init(scim_os *os, scim_err *err)
{
    os->host_fd = (fault_domain){.wakeup = os->p.iopf_wakeup,
                                 .batch_cost = os->p.iopf_cost,
                                 .page_cost = os->p.iopf_page_cost,
                                 .batch = os->p.fault_batch,
                                 .n_handlers = os->p.fault_handlers,
                                 .cpu_fault_cost = os->p.cpu_fault_cost,
                                 .zero = os->p.iopf_zero};
    return os_fault_domain_add(os, &os->host_fd, err);
}

int os_fault_domain_add(scim_os *os, fault_domain *d, scim_err *err)
{
    fault_handler *h = realloc(os->handlers, (os->n_handlers + d->n_handlers) * sizeof *h);
    if (!h)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory creating fault handlers");
    os->handlers = h;
    d->first = os->n_handlers;
    for (size_t i = 0; i < d->n_handlers; i++)
        h[d->first + i] = (fault_handler){.state = HANDLER_IDLE, .dom = d};
    os->n_handlers += d->n_handlers;
    return 0;
}

fault_domain *os_fault_domain(scim_os *os, const process *p)
{
    return p && p->vm ? os_hyp_guest_domain(p->vm) : &os->host_fd;
}

/* ---------- software walks: the interrupt handler ---------- */

static void irq_next(scim_os *os);

static void sw_walked(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    os_sw_handled(os, (fault_job *)(uintptr_t)arg);
    irq_next(os);
}

/* The interrupt handler walks for the next request, or returns. */
static void irq_next(scim_os *os)
{
    fault_job *j = os->irq_q.head;
    os->irq_busy = j != NULL;
    if (!j)
        return;
    os->irq_q.head = j->next;
    if (!os->irq_q.head)
        os->irq_q.tail = NULL;
    j->next = NULL;
    scim_hist_record(os->st.iopf_queue_delay, scim_kernel_now(os->k) - j->arrived);
    os_spend(os, os->p.sw_walk_cost, sw_walked, os, (uint64_t)(uintptr_t)j);
}

void os_on_sw_walk(scim_os *os, scim_msg *m)
{
    fault_job *j = os_new_job(os, m, JOB_SW);
    if (!j)
        return;
    os_job_push(&os->irq_q, j);
    if (!os->irq_busy)
        irq_next(os);
}

/* ---------- waking and batches ---------- */

static void woken(void *ctx, uint64_t h)
{
    scim_os *os = ctx;
    os->handlers[h].state = HANDLER_BUSY;
    handler_next(os, (size_t)h);
}

void os_iopf_kick(scim_os *os, fault_domain *d)
{
    /* A handler being woken will take up to a batch of groups when it is
     * up; wake a sleeping one only for the groups those will not take. */
    uint64_t taken = 0;
    size_t end = d->first + d->n_handlers;
    for (size_t h = d->first; h < end; h++)
        if (os->handlers[h].state == HANDLER_WAKING)
            taken += d->batch;
    for (size_t h = d->first; h < end && taken < d->fq_len; h++) {
        if (os->handlers[h].state != HANDLER_IDLE)
            continue;
        os->handlers[h].state = HANDLER_WAKING;
        taken += d->batch;
        os->st.iopf_wakeups++;
        if (d->own)
            d->own->wakeups++;
        os_spend(os, d->wakeup, woken, os, h);
    }
}

static void batch_paid(void *ctx, uint64_t h) { group_step(ctx, (size_t)h); }

/* The handler takes its next batch, or sleeps. */
static void handler_next(scim_os *os, size_t h)
{
    fault_handler *hd = &os->handlers[h];
    fault_domain *d = hd->dom;
    if (!d->fq.head) {
        hd->state = HANDLER_IDLE;
        return;
    }
    uint64_t n = 0;
    scim_time_t now = scim_kernel_now(os->k);
    fault_job *tail = NULL;
    hd->batch = d->fq.head;
    while (d->fq.head && n < d->batch) {
        fault_job *j = d->fq.head;
        d->fq.head = j->next;
        d->fq_len--;
        /* the batch is chained through batch_next: next is reused while
         * a page waits (in transition, or for a frame) */
        j->next = j->batch_next = NULL;
        if (tail)
            tail->batch_next = j;
        process *p = os_find_process(os, j->pasid);
        if (p)
            scim_u64map_remove(&p->queued, os_vpn(j->group_va));
        scim_hist_record(os->st.iopf_queue_delay, now - j->arrived);
        if (d->own)
            scim_hist_record(d->own->queue_delay, now - j->arrived);
        tail = j;
        n++;
    }
    if (!d->fq.head)
        d->fq.tail = NULL;
    os->st.iopf_batches++;
    if (d->own)
        d->own->batches++;
    os_spend(os, d->batch_cost, batch_paid, os, h);
}

/* ---------- a group, page by page ---------- */

static bool in_prefault(const fault_job *j) { return j->handled >= j->pages; }

static void group_done(scim_os *os, size_t h)
{
    fault_handler *hd = &os->handlers[h];
    fault_job *j = hd->batch;
    hd->batch = j->batch_next;
    os_job_free(os, j);
    if (hd->batch)
        group_step(os, h);
    else
        handler_next(os, h);
}

static void respond(scim_os *os, fault_job *j, int32_t status)
{
    if (!os_sync_flush(os, j->pasid, SK_ANSWER, j, 0, status))
        os_answer_fault_now(os, j, status);
}

/* A page the prefault part may map: in a 4 KiB region, plainly missing
 * (not present, not swapped, not in transition). */
static bool prefaultable(scim_os *os, process *p, uint64_t va, const region **r)
{
    *r = os_find_region(p, va);
    return *r && (*r)->page_shift == OS_PAGE_SHIFT && (*r)->prot != SCIM_PROT_NONE && !os_busy_get(p, va) &&
           !scim_u64map_get(&p->swapped, os_vpn(va)) && scim_pgtable_lookup(p->pt, va, NULL, NULL, NULL) != 1;
}

/* The page's new frame: zeroed by the handler's CPU (a 4 KiB write at the
 * memory controller), then mapped; with zeroing off it is mapped already. */
static void zero_page(scim_os *os, size_t h)
{
    fault_job *j = os->handlers[h].batch;
    if (!j->zeroing) {
        j->handled++;
        group_step(os, h);
        return;
    }
    if (os_hyp_untouched(os, j->frame)) { /* a guest's first touch: a stage-2 fault first */
        os_hyp_touch(os, j->frame, os_iopf_zero_resume, h);
        return;
    }
    scim_msg *m = os_msg(os, SCIM_MSG_MEM_WRITE, os->mem);
    if (!m)
        return; /* out of host memory: the run stops */
    m->u.mem = (scim_mem_req){.pa = os_frame_pa(j->frame), .len = OS_PAGE_SIZE};
    m->wire_bytes = scim_port_wire(os->port, OS_PAGE_SIZE);
    os->handlers[h].zero_started = scim_kernel_now(os->k);
    os->st.iopf_zeroed++;
    scim_port_request(os->port, SCIM_PORT_OWNER, OSR_ID(OSR_ZERO, h), m);
}

void os_iopf_zero_resume(scim_os *os, uint64_t h) { zero_page(os, (size_t)h); }

/* The handler's CPU cleared the page: the memory write is its time. Now
 * the page may be mapped. */
void os_iopf_zeroed(scim_os *os, scim_msg *m)
{
    size_t h = OSR_INDEX(m->tag);
    scim_port_free(os->port, m);
    os->st.busy_ps += scim_kernel_now(os->k) - os->handlers[h].zero_started;
    os_install_zeroed(os, os->handlers[h].batch);
}

static size_t handler_of(const scim_os *os, const fault_job *j);

void os_iopf_page_installed(scim_os *os, fault_job *j, bool mapped)
{
    if (mapped && in_prefault(j))
        os->st.prefaulted++;
    j->handled++;
    group_step(os, handler_of(os, j));
}

/* The page's own cost is paid: zero its frame. */
static void page_cost_paid(void *ctx, uint64_t h) { zero_page(ctx, (size_t)h); }

/* Map one prefault page (best effort: no frame, no page). */
static void prefault_page(scim_os *os, size_t h, fault_job *j)
{
    process *p = os_find_process(os, j->pasid);
    const region *r;
    uint64_t va = j->group_va + (uint64_t)j->handled * OS_PAGE_SIZE;
    bool ok = p && prefaultable(os, p, va, &r);
    if (ok && os_zeroing(os, os->handlers[h].dom)) {
        ok = os_zero_first(os, p, j, va, r, NULL) == 0; /* counted once mapped */
    } else if (ok && (ok = os_map_new_page(os, p, va, r, 0, false, NULL) == 0)) {
        os->st.prefaulted++;
        os->st.iopf_mapped++;
    }
    if (!ok) {
        j->handled++;
        group_step(os, h);
        return;
    }
    j->va = va;
    os_spend(os, os->handlers[h].dom->page_cost, page_cost_paid, os, h);
}

static void group_step_event(void *ctx, uint64_t h) { group_step(ctx, (size_t)h); }

static void group_step(scim_os *os, size_t h)
{
    fault_job *j = os->handlers[h].batch;
    bool prefault_first = os->p.prefault_sync && j->prefault;
    if (!j->answered && j->handled >= j->pages && (!prefault_first || j->handled >= j->pages + j->prefault)) {
        respond(os, j, SCIM_RESP_OK);
        return; /* os_iopf_answered continues */
    }
    if (j->handled >= j->pages + j->prefault || (j->answered && !j->prefault)) {
        group_done(os, h);
        return;
    }
    if (in_prefault(j)) {
        prefault_page(os, h, j);
        return;
    }
    j->va = j->group_va + (uint64_t)j->handled * OS_PAGE_SIZE;
    os_resolve(os, j); /* answers through os_iopf_page_resolved */
}

/* The handler working on j (j heads its batch). */
static size_t handler_of(const scim_os *os, const fault_job *j)
{
    size_t h = 0;
    while (h < os->n_handlers && os->handlers[h].batch != j)
        h++;
    return h;
}

void os_iopf_page_resolved(scim_os *os, fault_job *j, int32_t status)
{
    size_t h = handler_of(os, j);
    if (status != SCIM_RESP_OK) {
        /* the faulting page cannot be mapped: the group fails; a later
         * page cannot: the device will fault on it again, on its own */
        if (j->handled == 0) {
            j->prefault = 0;
            respond(os, j, status);
            return;
        }
        j->pages = j->handled;
        j->prefault = 0;
        group_step(os, h);
        return;
    }
    scim_time_t page_cost = os->handlers[h].dom->page_cost;
    switch (j->outcome) {
    case PAGE_ZEROED:
        os_spend(os, page_cost, page_cost_paid, os, h);
        return;
    case PAGE_SWAPPED_IN:
        j->handled++;
        os_spend(os, page_cost, group_step_event, os, h);
        return;
    default:
        /* present: nothing to pay; go on from the event loop, not by
         * recursion (a group of many present pages would exhaust the stack) */
        j->handled++;
        os_spend(os, 0, group_step_event, os, h);
    }
}

void os_iopf_answered(scim_os *os, fault_job *j)
{
    j->answered = true;
    group_step(os, handler_of(os, j));
}

/* Page request groups (PCIe PRI, PCIe Base Specification 10.4): when a
 * translation comes back not present, the device asks the OS for the
 * pages of the faulting DMA from that page on (at most pri.group_pages;
 * each page is one Page Request Message, the last one flagged Last), plus
 * `prefault` pages after them, as one group, and waits for the one Page
 * Group Response. A group stops before the pages another outstanding
 * group of the address space asks for (translations may come back out of
 * order), so no page is asked for twice. Translations of other pages the group covers wait for
 * that response instead of asking (members of the group). The device
 * never has more page requests out than the Outstanding Page Request
 * Allocation the OS granted it (pri.allocation): a group that does not fit
 * waits, in order, until responses free room. */
#include "device/device_internal.h"

static void pri_timeout(void *ctx, uint64_t arg);

int32_t scim_dev_group_of(scim_device *d, uint32_t space, uint64_t page)
{
    if (!d->pri_maybe)
        return NONE;
    bool any = false;
    for (size_t i = 0; i < d->n_xlats; i++) {
        const xlat *g = &d->xlats[i];
        if (!g->used || (g->state != XL_PRI && g->state != XL_PRI_WAIT))
            continue;
        any = true;
        if (g->pasid == space && page >= g->page && page - g->page < g->group_pages)
            return (int32_t)i;
    }
    d->pri_maybe = any;
    return NONE;
}

void scim_dev_join_group(scim_device *d, int32_t gi, int32_t xi)
{
    xlat *x = &d->xlats[xi], *g = &d->xlats[gi];
    x->state = XL_MEMBER;
    x->leader = gi;
    x->next_member = g->first_member;
    g->first_member = xi;
    g->write |= x->write;
    d->st.pri_joined++;
}

/* Pages from x's page up to the first page another outstanding group of
 * its address space asks for (UINT32_MAX: none after it). A translation
 * answered out of order (a DMA's last page first) must not lead a group
 * over pages a group already asks for. */
static uint32_t room_before_next_group(const scim_device *d, const xlat *x)
{
    uint64_t gap = UINT32_MAX;
    for (size_t i = 0; i < d->n_xlats; i++) {
        const xlat *g = &d->xlats[i];
        if (g != x && g->used && (g->state == XL_PRI || g->state == XL_PRI_WAIT) && g->pasid == x->pasid &&
            g->page > x->page && g->page - x->page < gap)
            gap = g->page - x->page;
    }
    return (uint32_t)gap;
}

static void send_group(scim_device *d, int32_t gi)
{
    xlat *g = &d->xlats[gi];
    uint64_t room = d->p.pri_allocation - d->pri_outstanding;
    /* prefault pages: as many as asked, within the allocation and short of
     * the next group's pages */
    uint64_t pf = d->p.prefault;
    if (pf > room - g->group_pages)
        pf = room - g->group_pages;
    uint32_t span = room_before_next_group(d, g); /* groups formed while this one waited count too */
    uint64_t after = span > g->group_pages ? span - g->group_pages : 0;
    if (pf > after)
        pf = after;
    g->group_prefault = (uint32_t)pf;
    uint32_t n = g->group_pages + g->group_prefault;
    d->pri_outstanding += n;
    if (d->pri_outstanding > d->st.pri_outstanding_max)
        d->st.pri_outstanding_max = d->pri_outstanding;
    g->state = XL_PRI;
    d->pri_maybe = true;
    g->pri_sent = scim_kernel_now(d->k);
    g->pri_gen++;
    if (d->p.pri_timeout)
        scim_kernel_schedule_timer(d->k, d->p.pri_timeout, SCIM_PRIO_DEFAULT, pri_timeout, d,
                             (uint64_t)g->pri_gen << 32 | (uint32_t)gi);
    d->st.pri_groups++;
    d->st.pri_requests += n;
    scim_msg *m = scim_port_msg(d->port, SCIM_MSG_PRI_REQ, d->iommu);
    if (!m)
        return;
    m->u.page = (scim_page_req){.pasid = g->pasid, .va = g->page << SCIM_PAGE_SHIFT, .pages = g->group_pages,
                                .prefault = g->group_prefault, .write = g->write};
    /* one Page Request Message (a header-only TLP) per page */
    m->wire_bytes = n * scim_port_wire(d->port, 0);
    scim_port_request(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_PRI, gi), m);
    if (d->ev && d->ev->fault_raised)
        d->ev->fault_raised(d->ev_ctx, scim_dev_tag_of_xlat(d, gi), g->pasid, g->page << SCIM_PAGE_SHIFT,
                            g->group_pages, g->write);
}

static bool fits(const scim_device *d, const xlat *g)
{
    return d->pri_outstanding + g->group_pages <= d->p.pri_allocation;
}

/* The pages a group led by x asks for: from its page to the end of the
 * DMA that found it missing (at most pri.group_pages, never more than the
 * allocation, and short of the next group's pages). */
static uint32_t group_size(const scim_device *d, const xlat *x)
{
    uint64_t last = scim_vpn(x->fault_end - 1);
    uint64_t n = last >= x->page ? last - x->page + 1 : 1;
    if (d->p.pri_group_pages && n > d->p.pri_group_pages)
        n = d->p.pri_group_pages;
    if (n > d->p.pri_allocation)
        n = d->p.pri_allocation;
    uint32_t span = room_before_next_group(d, x);
    if (n > span)
        n = span;
    return (uint32_t)(n ? n : 1);
}

void scim_dev_fault(scim_device *d, int32_t xi)
{
    xlat *x = &d->xlats[xi];
    int32_t gi = scim_dev_group_of(d, x->pasid, x->page);
    if (gi != NONE && gi != xi) {
        scim_dev_join_group(d, gi, xi);
        return;
    }
    x->group_pages = group_size(d, x);
    x->first_member = NONE;
    if (scim_fifo_len(&d->pri_waiting) || !fits(d, x)) {
        x->state = XL_PRI_WAIT;
        d->pri_maybe = true;
        d->st.pri_alloc_waits++;
        if (!scim_fifo_push(&d->pri_waiting, &xi))
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    send_group(d, xi);
}

static void fail_waiters(scim_device *d, xlat *x)
{
    int32_t ci = x->head;
    scim_dev_xlat_release(d, (int32_t)(x - d->xlats));
    while (ci != NONE) {
        int32_t next = d->chunks[ci].next;
        scim_dev_chunk_complete(d, ci, true);
        ci = next;
    }
}

/* The group is answered: each of its translations asks again (PRI
 * semantics), or fails; one with nobody waiting (retry, drop, backup:
 * they come back on their own) is dropped. */
static void answered(scim_device *d, int32_t xi, bool ok)
{
    xlat *x = &d->xlats[xi];
    if (!ok) {
        fail_waiters(d, x);
        return;
    }
    if (x->head == NONE) {
        scim_dev_xlat_release(d, xi);
        return;
    }
    d->st.xlat_rerequests++;
    scim_dev_request_translation(d, xi);
}

/* The group's response arrived (or it timed out: ok, so its pages are
 * translated again). */
static void group_answered(scim_device *d, int32_t gi, int32_t status)
{
    xlat *g = &d->xlats[gi];
    scim_hist_record(d->st.fault_latency, scim_kernel_now(d->k) - g->pri_sent);
    d->pri_outstanding -= g->group_pages + g->group_prefault;
    bool ok = status == SCIM_RESP_OK && !scim_dev_failed(d);
    if (!ok)
        d->st.pri_failed++;
    if (d->ev && d->ev->fault_resolved)
        d->ev->fault_resolved(d->ev_ctx, g->pasid, g->page << SCIM_PAGE_SHIFT, g->group_pages, ok,
                              scim_kernel_now(d->k) - g->pri_sent);
    int32_t mi = g->first_member;
    g->first_member = NONE;
    answered(d, gi, ok);
    while (mi != NONE) {
        int32_t next = d->xlats[mi].next_member;
        answered(d, mi, ok);
        mi = next;
    }
    int32_t wi;
    while (scim_fifo_len(&d->pri_waiting) && fits(d, &d->xlats[*(int32_t *)scim_fifo_at(&d->pri_waiting, 0)]) &&
           scim_fifo_pop(&d->pri_waiting, &wi))
        send_group(d, wi);
}

void scim_dev_pri_response(scim_device *d, int32_t gi, scim_msg *m)
{
    if (m->u.page_resp.auto_response)
        d->st.pri_auto++;
    int32_t status = m->status;
    scim_port_free(d->port, m);
    group_answered(d, gi, status);
}

/* No response within pri.timeout: give the group up (a response that
 * still comes is dropped by the port) and translate again. */
static void pri_timeout(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    int32_t gi = (int32_t)(uint32_t)arg;
    const xlat *g = &d->xlats[gi];
    if (!g->used || g->state != XL_PRI || g->pri_gen != (uint32_t)(arg >> 32))
        return; /* answered in time */
    d->st.pri_timeouts++;
    scim_port_cancel(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_PRI, gi), d->iommu);
    group_answered(d, gi, SCIM_RESP_OK);
}

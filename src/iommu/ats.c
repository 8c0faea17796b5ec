/* The IOMMU's translation service (PCIe ATS): a request buffer of
 * iommu.ats_queue entries (the port's input queue for ATS requests), an
 * IOTLB lookup, then the context (PASID) table and a page walk on a miss.
 * Modelling notes in iommu/iommu.h. */
#include "core/kclock.h"
#include "core/kfifo.h"
#include "core/page.h"
#include "iommu/iommu_internal.h"

static ats_entry *entry(scim_iommu *io, uint32_t e) { return scim_pool_at(&io->ats, e); }

void scim_iommu_ats_complete(scim_iommu *io, uint32_t e, int32_t status, uint64_t page_pa, unsigned shift,
                             unsigned perms)
{
    ats_entry *a = entry(io, e);
    if (a->dma) {
        scim_iommu_inline_translated(io, e, status, page_pa, shift, perms);
        return;
    }
    scim_msg *m = a->req;
    scim_hist_record(io->st.ats_latency, scim_kernel_now(io->k) - a->arrived);
    scim_pool_release(&io->ats, e);
    if (status == SCIM_RESP_NOT_PRESENT)
        io->st.ats_not_present++;
    else if (status == SCIM_RESP_INVALID)
        io->st.ats_invalid++;
    m->u.xlat_resp = (scim_xlat_resp){page_pa, (uint8_t)shift, (uint8_t)perms};
    /* A translation completion carries one 8-byte translation. */
    scim_port_reply(io->port, m, SCIM_MSG_ATS_RESP, scim_port_wire(io->port, 8), status);
}

void scim_iommu_walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    scim_iommu *io = owner;
    uint32_t e = (uint32_t)cookie;
    const scim_xlat_req q = entry(io, e)->q;
    /* a walker freed: requests held back for room in its queue go in */
    uint32_t next;
    while (scim_fifo_len(&io->walk_blocked) && scim_walker_can_accept(io->walker) &&
           scim_fifo_pop(&io->walk_blocked, &next))
        scim_iommu_ats_walk(io, next);
    if (r->status == SCIM_WALK_NOT_PRESENT) {
        scim_iommu_ats_complete(io, e, SCIM_RESP_NOT_PRESENT, 0, 0, 0);
        return;
    }
    if (r->status != SCIM_WALK_OK) {
        scim_iommu_ats_complete(io, e, SCIM_RESP_INVALID, 0, 0, 0);
        return;
    }
    if (!(r->perms & SCIM_PERM_R) || (q.write && !(r->perms & SCIM_PERM_W))) {
        /* Present but not usable for this access: the completion grants
         * what the tables allow and the device asks for more (PRI). */
        scim_iommu_ats_complete(io, e, r->perms ? SCIM_RESP_OK : SCIM_RESP_NOT_PRESENT, r->page_pa, r->shift,
                                r->perms);
        return;
    }
    scim_tlb_entry t = {.pasid = q.pasid, .page_shift = (uint8_t)r->shift, .perms = (uint8_t)r->perms,
                        .vpn = q.va >> r->shift, .pfn = scim_pfn(r->page_pa), .aux = 0};
    scim_tlb_insert(io->iotlb, &t, NULL);
    scim_iommu_ats_complete(io, e, SCIM_RESP_OK, r->page_pa, r->shift, r->perms);
}

/* The context is known: walk, or wait for room in the walker's queue. */
void scim_iommu_ats_walk(scim_iommu *io, uint32_t e)
{
    ats_entry *a = entry(io, e);
    const scim_xlat_req *q = &a->q;
    const scim_stage2 *s2 = NULL;
    for (size_t i = 0; i < io->n_s2; i++)
        if (io->s2[i].pasid == q->pasid)
            s2 = &io->s2[i].s2;
    bool ok = s2 ? scim_walker_walk_nested(io->walker, q->pasid, q->va, q->write, a->root, a->fmt, s2, e)
                 : scim_walker_walk(io->walker, q->pasid, q->va, q->write, a->root, a->fmt, e);
    if (!ok &&
        !scim_fifo_push(&io->walk_blocked, &e))
        scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory holding walks");
}

static void lookup(void *ctx, uint64_t arg)
{
    scim_iommu *io = ctx;
    uint32_t e = (uint32_t)arg;
    const scim_xlat_req *q = &entry(io, e)->q;
    scim_tlb_entry t;
    if (scim_tlb_lookup(io->iotlb, q->pasid, q->va, &t) == 1 && (!q->write || (t.perms & SCIM_PERM_W))) {
        scim_iommu_ats_complete(io, e, SCIM_RESP_OK, scim_pfn_addr(t.pfn), t.page_shift, t.perms);
        return;
    }
    scim_iommu_context_lookup(io, e);
}

void scim_iommu_ats_request(scim_iommu *io, scim_msg *m)
{
    io->st.ats_requests++;
    uint32_t e = scim_pool_take(&io->ats); /* not zeroed: the fields read are set below */
    if (e == SCIM_POOL_NONE) {
        scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory for ATS requests");
        scim_port_free(io->port, m);
        return;
    }
    /* ctx, root and fmt are written before they are read (the context
     * lookup, then the walk); pa and shift only by an inline DMA. */
    ats_entry *a = entry(io, e);
    a->req = m;
    a->q = m->u.xlat;
    a->arrived = scim_kernel_now(io->k);
    a->dma = false;
    a->at_memory = false;
    a->drains = NULL;
    a->n_drains = a->cap_drains = 0;
    scim_iommu_translate(io, e);
}

/* Every lookup takes the IOTLB's fixed latency, so lookups end in the
 * order they began: an event FIFO (core/kfifo.h), same keys. */
int scim_iommu_ats_init(scim_iommu *io)
{
    io->ats_fifo = scim_kernel_fifo_create(io->k, lookup, io);
    return io->ats_fifo < 0 ? SCIM_ENOMEM : 0;
}

void scim_iommu_translate(scim_iommu *io, uint32_t e)
{
    scim_time_t when = scim_kernel_time(io->k) + scim_clock_cycles(&io->clock, io->p.iotlb.latency);
    /* often the run's next event (about half the lookups of a miss-bound
     * run): held, run at once when it is (core/kfifo.h) */
    scim_kernel_fifo_at_next(io->k, io->ats_fifo, when, SCIM_PRIO_DEFAULT, e);
}

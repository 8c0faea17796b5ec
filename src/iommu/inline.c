/* Inline translation: DMAs of devices without an address translation
 * cache (devices.<n>.ats: false) reach the IOMMU by their untranslated
 * address (SCIM_MSG_DMA, PCIe AT = 00b). The IOMMU holds each in its
 * request buffer (iommu.inline_queue, the port's input queue), translates
 * it like a translation request (IOTLB lookup, context and walk on a miss:
 * ats.c), performs the access at memory with the physical address and
 * answers the device with the memory's response. Nothing is cached in the
 * device, so no device-TLB invalidation is ever needed.
 *
 * Modelling notes:
 *   - A not-present page (or a write to a read-only one) stalls the DMA in
 *     the IOMMU, as Arm SMMUv3 does with stall faults (SMMUv3 spec 3.12.2,
 *     CD.S = 1): the IOMMU raises a page request to the OS on the device's
 *     behalf, as its own request (it does not go through the device's PRI
 *     queue, prq.c, nor count against iommu.prq_depth), and translates again
 *     when the OS answers. An answer other than success fails the DMA (a
 *     MEM_RESP with status Invalid): SMMUv3's terminate. The request asks
 *     for the faulting page only.
 *   - An invalidation completes only after every inline access in flight
 *     that used a translation it removes has completed at memory (SMMUv3
 *     CMD_SYNC, VT-d's invalidation wait): scim_iommu_inline_drain.
 *   - iommu.inline.latency runs from a DMA's arrival to its memory access
 *     leaving the IOMMU: the translation, stalls included.
 * The device's checker role (the access by physical address) is played
 * here: the IOMMU is the one that knows the frame. */
#include <stdlib.h>

#include "core/page.h"
#include "iommu/iommu_internal.h"

static ats_entry *entry(scim_iommu *io, uint32_t e) { return scim_pool_at(&io->ats, e); }

void scim_iommu_inline_request(scim_iommu *io, scim_msg *m)
{
    io->st.inline_requests++;
    uint32_t e = scim_pool_take(&io->ats); /* not zeroed: every field is set below */
    if (e == SCIM_POOL_NONE) {
        scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory for inline DMAs");
        scim_port_free(io->port, m);
        return;
    }
    const scim_dma_req *d = &m->u.dma;
    *entry(io, e) = (ats_entry){.req = m, .q = {.pasid = d->pasid, .va = d->va, .write = d->write},
                                .arrived = scim_kernel_now(io->k), .dma = true};
    scim_iommu_translate(io, e);
}

/* Answer the device's DMA and free its entry; the invalidations that
 * waited for it may complete. */
static void answer(scim_iommu *io, uint32_t e, int32_t status)
{
    ats_entry *a = entry(io, e);
    scim_msg *m = a->req;
    uint32_t *drains = a->drains, n = a->n_drains;
    uint64_t len = m->u.dma.len;
    bool write = m->u.dma.write;
    scim_pool_release(&io->ats, e);
    if (status != SCIM_RESP_OK)
        io->st.inline_failed++;
    /* a read's completion carries the data */
    scim_port_reply(io->port, m, SCIM_MSG_MEM_RESP, scim_port_wire(io->port, !write && !status ? len : 0), status);
    for (uint32_t i = 0; i < n; i++)
        scim_iommu_inv_one_done(io, drains[i]);
    free(drains);
}

/* Stall: ask the OS for the page as the IOMMU's own page request. */
static void stall(scim_iommu *io, uint32_t e)
{
    const ats_entry *a = entry(io, e);
    io->st.inline_faults++;
    scim_msg *m = scim_port_msg(io->port, SCIM_MSG_PRI_REQ, io->os);
    if (!m)
        return;
    m->u.page = (scim_page_req){.pasid = a->q.pasid, .va = scim_page_base(a->q.va, SCIM_PAGE_SHIFT), .pages = 1,
                                .write = a->q.write};
    scim_port_request(io->port, io->inline_client, e, m);
}

/* Perform the access at memory with the physical address. */
static void perform(scim_iommu *io, uint32_t e, uint64_t pa, unsigned shift)
{
    ats_entry *a = entry(io, e);
    const char *agent = scim_fabric_node_name(scim_port_fabric(io->port), a->req->src);
    scim_hist_record(io->st.inline_latency, scim_kernel_now(io->k) - a->arrived);
    if (!scim_obs_access_begin(io->checker, agent, a->q.pasid, a->q.va, pa, a->req->u.dma.len))
        return;
    a->at_memory = true;
    a->pa = pa;
    a->shift = (uint8_t)shift;
    bool write = a->q.write;
    uint64_t len = a->req->u.dma.len;
    scim_msg *m = scim_port_msg(io->port, write ? SCIM_MSG_MEM_WRITE : SCIM_MSG_MEM_READ, io->mem);
    if (!m)
        return;
    m->u.mem = (scim_mem_req){.pa = pa, .len = len};
    m->wire_bytes = scim_port_wire(io->port, write ? len : 0);
    scim_port_request(io->port, io->inline_client, e, m);
}

void scim_iommu_inline_translated(scim_iommu *io, uint32_t e, int32_t status, uint64_t page_pa, unsigned shift,
                                  unsigned perms)
{
    const scim_xlat_req q = entry(io, e)->q;
    if (status == SCIM_RESP_OK && (perms & SCIM_PERM_R) && (!q.write || (perms & SCIM_PERM_W))) {
        perform(io, e, page_pa + scim_page_offset(q.va, shift), shift);
        return;
    }
    if (status == SCIM_RESP_INVALID) {
        answer(io, e, SCIM_RESP_INVALID); /* no context for the PASID, or a malformed entry */
        return;
    }
    stall(io, e); /* not present, or present without the right */
}

/* The memory's answer to an inline access, or the OS's to a stall. */
void scim_iommu_inline_response(void *ctx, scim_msg *m)
{
    scim_iommu *io = ctx;
    uint32_t e = (uint32_t)m->tag;
    bool pri = m->type == SCIM_MSG_PRI_RESP;
    int32_t status = m->status;
    scim_port_free(io->port, m);
    if (!scim_pool_used(&io->ats, e) || !entry(io, e)->dma) {
        scim_kernel_fail(io->k, SCIM_EINVARIANT, "IOMMU got an answer for an inline DMA it does not hold");
        return;
    }
    if (!pri) {
        scim_obs_access_end(io->checker, entry(io, e)->pa);
        answer(io, e, SCIM_RESP_OK);
    } else if (status == SCIM_RESP_OK) {
        scim_iommu_translate(io, e); /* the page is mapped: translate again */
    } else {
        answer(io, e, SCIM_RESP_INVALID);
    }
}

uint32_t scim_iommu_inline_drain(scim_iommu *io, const scim_inv_scope *s, uint32_t slot)
{
    uint32_t n = 0;
    for (uint32_t e = 0; e < scim_pool_cap(&io->ats); e++) {
        if (!scim_pool_used(&io->ats, e))
            continue;
        ats_entry *a = entry(io, e);
        if (!a->dma || !a->at_memory || !scim_inv_covers_page(s, a->q.pasid, a->q.va, a->shift))
            continue;
        if (a->n_drains == a->cap_drains) {
            uint32_t cap = a->cap_drains ? 2 * a->cap_drains : 2;
            uint32_t *d = realloc(a->drains, cap * sizeof *d);
            if (!d) {
                scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory tracking invalidations");
                return n;
            }
            a->drains = d;
            a->cap_drains = cap;
        }
        a->drains[a->n_drains++] = slot;
        io->st.inline_drains++;
        n++;
    }
    return n;
}

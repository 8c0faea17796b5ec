/* The IOMMU's context lookup: which page tables a (device, PASID) uses.
 * A PASID-cache hit gives the root and format at once; a miss reads the
 * context structures of the ISA's IOMMU family (iommu/ctxfmt.h), each a
 * timed read of its real size through the IOMMU's port, and fills the
 * cache. The cache is keyed by PASID alone for VT-d (one PASID table for
 * every device) and by (device, PASID) for SMMUv3 and the RISC-V IOMMU,
 * whose lookups start at the device's stream table entry or device
 * context. It stands for every context cache of the family (VT-d's
 * PASID cache, SMMUv3's configuration cache, RISC-V's DDT and PDT caches). */
#include "core/page.h"
#include "iommu/iommu_internal.h"

static void read_entry(scim_iommu *io, uint32_t e, const scim_ctx_walk *w)
{
    io->st.pasid_reads++;
    scim_msg *m = scim_port_msg(io->port, SCIM_MSG_MEM_READ, io->mem);
    if (!m)
        return;
    /* counted by the memory as a table read; no A/D bits in these structures */
    m->u.mem = (scim_mem_req){.pa = w->pa, .len = w->len, .words = w->words, .pte = true};
    scim_port_request(io->port, io->ctx_client, e, m);
}

/* The requester as the context structures index it: its fabric node
 * number as StreamID or device_id. */
static uint32_t device_of(const scim_iommu *io, const ats_entry *a)
{
    return io->ctxf->per_device ? (uint32_t)a->req->src : 0;
}

void scim_iommu_context_lookup(scim_iommu *io, uint32_t e)
{
    ats_entry *a = scim_pool_at(&io->ats, e);
    uint32_t pasid = a->q.pasid;
    scim_tlb_entry t;
    if (scim_tlb_lookup(io->pasid_cache, device_of(io, a), scim_pfn_addr(pasid), &t) == 1) {
        a->root = scim_pfn_addr(t.pfn);
        a->fmt = scim_pt_format_by_id((unsigned)t.aux);
        scim_iommu_ats_walk(io, e);
        return;
    }
    a->ctx = (scim_ctx_walk){.dev = device_of(io, a), .pasid = pasid};
    io->ctxf->start(io->ctx_root, &a->ctx);
    read_entry(io, e, &a->ctx);
}

void scim_iommu_context_response(void *ctx, scim_msg *m)
{
    scim_iommu *io = ctx;
    uint32_t e = (uint32_t)m->tag;
    scim_mem_resp r = m->u.mem_resp;
    scim_port_free(io->port, m);
    ats_entry *a = scim_pool_at(&io->ats, e);
    switch (io->ctxf->step(&a->ctx, r.words)) {
    case SCIM_CTX_READ: read_entry(io, e, &a->ctx); return;
    case SCIM_CTX_FAULT: scim_iommu_ats_complete(io, e, SCIM_RESP_INVALID, 0, 0, 0); return;
    case SCIM_CTX_DONE: break;
    }
    a->root = a->ctx.root;
    a->fmt = a->ctx.fmt;
    scim_tlb_entry t = {.pasid = a->ctx.dev, .page_shift = SCIM_SHIFT_4K, .perms = 0, .vpn = a->ctx.pasid,
                        .pfn = scim_pfn(a->root), .aux = a->fmt->id};
    scim_tlb_insert(io->pasid_cache, &t, NULL);
    scim_iommu_ats_walk(io, e);
}

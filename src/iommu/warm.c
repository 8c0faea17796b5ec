/* Functional warm-up of the IOMMU's caches (sim.warmup): ats.c's and
 * context.c's steps for one request with nothing else in flight, each
 * context structure decoded from memory at once instead of read through
 * the port. */
#include "core/page.h"
#include "iommu/iommu_internal.h"

/* context.c's lookup: the cache, or the structures and a fill. */
static bool context_of(scim_iommu *io, scim_physmem *pm, scim_node_id dev, uint32_t pasid, uint64_t *root,
                       const scim_pt_format **fmt)
{
    uint32_t key = io->ctxf->per_device ? (uint32_t)dev : 0;
    scim_tlb_entry t;
    if (scim_tlb_lookup(io->pasid_cache, key, scim_pfn_addr(pasid), &t) == 1) {
        *root = scim_pfn_addr(t.pfn);
        *fmt = scim_pt_format_by_id((unsigned)t.aux);
        return true;
    }
    scim_ctx_walk w = {.dev = key, .pasid = pasid};
    io->ctxf->start(io->ctx_root, &w);
    for (;;) {
        uint64_t words[SCIM_MEM_RESP_WORDS] = {0};
        for (unsigned i = 0; i < w.words && i < SCIM_MEM_RESP_WORDS; i++)
            words[i] = scim_physmem_read64(pm, w.pa + i * sizeof(uint64_t));
        scim_ctx_step step = io->ctxf->step(&w, words);
        if (step == SCIM_CTX_FAULT)
            return false;
        if (step == SCIM_CTX_DONE)
            break;
    }
    t = (scim_tlb_entry){.pasid = key, .page_shift = SCIM_SHIFT_4K, .perms = 0, .vpn = pasid,
                         .pfn = scim_pfn(w.root), .aux = w.fmt->id};
    scim_tlb_insert(io->pasid_cache, &t, NULL);
    *root = w.root;
    *fmt = w.fmt;
    return true;
}

int32_t scim_iommu_warm_translate(scim_iommu *io, scim_physmem *pm, scim_node_id dev, uint32_t pasid, uint64_t va,
                                  bool write, uint64_t *page_pa, unsigned *shift, unsigned *perms)
{
    *page_pa = 0;
    *shift = 0;
    *perms = 0;
    scim_tlb_entry t;
    if (scim_tlb_lookup(io->iotlb, pasid, va, &t) == 1 && (!write || (t.perms & SCIM_PERM_W))) {
        *page_pa = scim_pfn_addr(t.pfn);
        *shift = t.page_shift;
        *perms = t.perms;
        return SCIM_RESP_OK;
    }
    uint64_t root;
    const scim_pt_format *fmt;
    if (!context_of(io, pm, dev, pasid, &root, &fmt))
        return SCIM_RESP_INVALID;
    const scim_stage2 *s2 = NULL; /* a PASID of a VM: the 2D walk (ats.c scim_iommu_ats_walk) */
    for (size_t i = 0; i < io->n_s2; i++)
        if (io->s2[i].pasid == pasid)
            s2 = &io->s2[i].s2;
    scim_walk_result r = s2 ? scim_walker_walk_now_nested(io->walker, pm, pasid, va, write, root, fmt, s2)
                            : scim_walker_walk_now(io->walker, pm, pasid, va, write, root, fmt);
    if (r.status == SCIM_WALK_NOT_PRESENT)
        return SCIM_RESP_NOT_PRESENT;
    if (r.status != SCIM_WALK_OK)
        return SCIM_RESP_INVALID;
    *page_pa = r.page_pa;
    *shift = r.shift;
    *perms = r.perms;
    if (!(r.perms & SCIM_PERM_R) || (write && !(r.perms & SCIM_PERM_W)))
        return r.perms ? SCIM_RESP_OK : SCIM_RESP_NOT_PRESENT;
    t = (scim_tlb_entry){.pasid = pasid, .page_shift = (uint8_t)r.shift, .perms = (uint8_t)r.perms,
                         .vpn = va >> r.shift, .pfn = scim_pfn(r.page_pa), .aux = 0};
    scim_tlb_insert(io->iotlb, &t, NULL);
    return SCIM_RESP_OK;
}

void scim_iommu_warm_invalidate(scim_iommu *io, const scim_inv_scope *s) { scim_iommu_invalidate_local(io, s); }

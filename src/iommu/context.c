/* The IOMMU's context lookup: which page tables a PASID uses. A PASID-cache
 * hit gives the root at once; a miss reads the PASID directory entry and
 * the PASID-table entry from memory (iommu/pasid.h), two timed reads
 * through the IOMMU's port, and fills the cache. */
#include "core/page.h"
#include "iommu/iommu_internal.h"
#include "iommu/pasid.h"

static void read_entry(scim_iommu *io, uint32_t e, uint64_t pa)
{
    io->st.pasid_reads++;
    scim_msg *m = scim_port_msg(io->port, SCIM_MSG_MEM_READ, io->mem);
    if (!m)
        return;
    /* counted by the memory as a table read; no A/D bits in these entries */
    m->u.mem = (scim_mem_req){.pa = pa, .len = 8, .pte = true};
    scim_port_request(io->port, io->ctx_client, e, m);
}

void scim_iommu_context_lookup(scim_iommu *io, uint32_t e)
{
    ats_entry *a = scim_pool_at(&io->ats, e);
    uint32_t pasid = a->q.pasid;
    scim_tlb_entry t;
    if (scim_tlb_lookup(io->pasid_cache, 0, scim_pfn_addr(pasid), &t) == 1) {
        a->root = scim_pfn_addr(t.pfn);
        a->levels = (int)t.aux;
        scim_iommu_ats_walk(io, e);
        return;
    }
    a->ctx_second = false;
    read_entry(io, e, scim_pasid_dir_entry_addr(io->pasid_dir, pasid));
}

void scim_iommu_context_response(void *ctx, scim_msg *m)
{
    scim_iommu *io = ctx;
    uint32_t e = (uint32_t)m->tag;
    uint64_t value = m->u.mem_resp.value;
    scim_port_free(io->port, m);
    ats_entry *a = scim_pool_at(&io->ats, e);
    uint32_t pasid = a->q.pasid;
    if (!scim_pasid_entry_present(value)) {
        scim_iommu_ats_complete(io, e, SCIM_RESP_INVALID, 0, 0, 0);
        return;
    }
    if (!a->ctx_second) {
        a->ctx_second = true;
        read_entry(io, e, scim_pasid_entry_addr(scim_pasid_entry_pa(value), pasid));
        return;
    }
    a->root = scim_pasid_entry_pa(value);
    a->levels = scim_pasid_entry_levels(value);
    scim_tlb_entry t = {.pasid = 0, .page_shift = SCIM_SHIFT_4K, .perms = 0, .vpn = pasid,
                        .pfn = scim_pfn(a->root), .aux = (uint64_t)a->levels};
    scim_tlb_insert(io->pasid_cache, &t, NULL);
    scim_iommu_ats_walk(io, e);
}

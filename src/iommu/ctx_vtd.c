/* VT-d scalable-mode PASID directory and PASID table as an IOMMU context
 * family (iommu/ctxfmt.h). Layout in iommu/ctx_vtd.h. */
#include "iommu/ctx_vtd.h"

enum { DIR_ENTRY, PASID_ENTRY };

static void start(uint64_t root, scim_ctx_walk *w)
{
    w->stage = DIR_ENTRY;
    w->pa = scim_pasid_dir_entry_addr(root, w->pasid);
    w->len = sizeof(uint64_t);
    w->words = 1;
}

static scim_ctx_step step(scim_ctx_walk *w, const uint64_t *words)
{
    uint64_t e = words[0];
    if (!scim_pasid_entry_present(e))
        return SCIM_CTX_FAULT;
    if (w->stage == DIR_ENTRY) {
        w->stage = PASID_ENTRY;
        w->pa = scim_pasid_entry_addr(scim_pasid_entry_pa(e), w->pasid);
        return SCIM_CTX_READ;
    }
    w->root = scim_pasid_entry_pa(e);
    w->fmt = scim_pt_format_of(SCIM_ISA_X86_64, scim_pasid_entry_levels(e));
    return SCIM_CTX_DONE;
}

static int create(const scim_ctx_mem *m, scim_ctx_tables *t, scim_err *err)
{
    t->aux = 0;
    return m->alloc(m->cookie, SCIM_PASID_DIR_ORDER, &t->root, err);
}

/* One directory for every device: nothing per device. */
static int bind_device(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t dev, scim_err *err)
{
    (void)m, (void)t, (void)dev, (void)err;
    return 0;
}

static int set_pasid(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t pasid, uint64_t pt_root,
                     const scim_pt_format *fmt, scim_err *err)
{
    if (fmt->isa != SCIM_ISA_X86_64)
        return scim_err_set(err, SCIM_EINVAL, "VT-d PASID entries point to x86-64 page tables, not %s",
                            fmt->name);
    uint64_t dir_entry_pa = scim_pasid_dir_entry_addr(t->root, pasid);
    uint64_t dir_entry = scim_physmem_read64(m->pm, dir_entry_pa);
    if (!scim_pasid_entry_present(dir_entry)) {
        uint64_t table;
        int rc = m->alloc(m->cookie, 0, &table, err);
        if (rc)
            return rc;
        dir_entry = table | SCIM_PASID_ENTRY_P;
        scim_physmem_write64(m->pm, dir_entry_pa, dir_entry);
    }
    scim_physmem_write64(m->pm, scim_pasid_entry_addr(scim_pasid_entry_pa(dir_entry), pasid),
                         scim_pasid_make_entry(pt_root, fmt->levels));
    return 0;
}

const scim_ctx_format scim_ctx_vtd = {.name = "VT-d", .isa = SCIM_ISA_X86_64, .per_device = false,
                                      .start = start, .step = step, .create = create,
                                      .bind_device = bind_device, .set_pasid = set_pasid};

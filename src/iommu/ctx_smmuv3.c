/* Arm SMMUv3 stream table + context descriptors as an IOMMU context family
 * (iommu/ctxfmt.h). Layout and fields in iommu/ctx_smmuv3.h.
 *
 * A lookup reads the STE (64 B, whole: the SMMU fetches entries whole),
 * the level-1 CD descriptor (8 B) and the CD (64 B). Faults (SMMUv3 7.3
 * event records): STE not valid or not a stage-1 configuration
 * (C_BAD_STE), SubstreamID beyond S1CDMax (C_BAD_SUBSTREAMID), L1
 * descriptor or CD not valid, or a CD the model does not translate with
 * (C_BAD_CD: not AArch64, not a 4 KiB granule, a T0SZ other than 25 or 16).
 */
#include "iommu/ctx_smmuv3.h"

enum { STE, L1CD, CD };

static uint32_t cd_split(unsigned s1fmt) { return s1fmt == 1 ? SCIM_SMMU_CD_SPLIT_4K : SCIM_SMMU_CD_SPLIT; }

static void start(uint64_t root, scim_ctx_walk *w)
{
    w->stage = STE;
    w->pa = root + (uint64_t)w->dev * SCIM_SMMU_STE_BYTES;
    w->len = SCIM_SMMU_STE_BYTES;
    w->words = SCIM_SMMU_STE_BYTES / sizeof(uint64_t);
}

static void read_cd(scim_ctx_walk *w, uint64_t pa)
{
    w->stage = CD;
    w->pa = pa;
    w->len = SCIM_SMMU_CD_BYTES;
    w->words = SCIM_SMMU_CD_BYTES / sizeof(uint64_t);
}

static scim_ctx_step on_ste(scim_ctx_walk *w, const uint64_t *words)
{
    uint64_t e = words[0];
    if (!(e & SCIM_STE0_V) || (e & SCIM_STE0_CONFIG_MASK) != SCIM_STE0_CONFIG_S1)
        return SCIM_CTX_FAULT;
    unsigned cdmax = (unsigned)(e >> SCIM_STE0_S1CDMAX_SHIFT);
    unsigned s1fmt = (unsigned)((e & SCIM_STE0_S1FMT_MASK) >> SCIM_STE0_S1FMT_SHIFT);
    if ((w->pasid >> cdmax) != 0 || s1fmt > 2)
        return SCIM_CTX_FAULT;
    uint64_t ctx = e & SCIM_STE0_S1CTXPTR_MASK;
    if (s1fmt == 0) {
        read_cd(w, ctx + (uint64_t)w->pasid * SCIM_SMMU_CD_BYTES);
        return SCIM_CTX_READ;
    }
    w->stage = L1CD;
    w->left = (int)cd_split(s1fmt);
    w->pa = ctx + (uint64_t)(w->pasid >> w->left) * SCIM_SMMU_L1CD_BYTES;
    w->len = SCIM_SMMU_L1CD_BYTES;
    w->words = 1;
    return SCIM_CTX_READ;
}

static scim_ctx_step on_cd(scim_ctx_walk *w, const uint64_t *words)
{
    uint64_t e = words[0];
    if (!(e & SCIM_CD0_V) || !(e & SCIM_CD0_AA64) || (e & SCIM_CD0_TG0_MASK))
        return SCIM_CTX_FAULT;
    unsigned va_bits = 64 - (unsigned)(e & SCIM_CD0_T0SZ_MASK);
    const scim_pt_format *f = va_bits == scim_pt_armv8_va39.va_bits   ? &scim_pt_armv8_va39
                              : va_bits == scim_pt_armv8_va48.va_bits ? &scim_pt_armv8_va48
                                                                      : NULL;
    if (!f)
        return SCIM_CTX_FAULT;
    w->root = scim_page_base(words[1] & SCIM_CD1_TTB0_MASK, SCIM_PAGE_SHIFT);
    w->fmt = f;
    return SCIM_CTX_DONE;
}

static scim_ctx_step step(scim_ctx_walk *w, const uint64_t *words)
{
    switch (w->stage) {
    case STE: return on_ste(w, words);
    case L1CD:
        if (!(words[0] & SCIM_L1CD_V))
            return SCIM_CTX_FAULT;
        read_cd(w, (words[0] & SCIM_L1CD_L2PTR_MASK) +
                       (uint64_t)(w->pasid & ((1u << w->left) - 1)) * SCIM_SMMU_CD_BYTES);
        return SCIM_CTX_READ;
    default: return on_cd(w, words);
    }
}

static int create(const scim_ctx_mem *m, scim_ctx_tables *t, scim_err *err)
{
    int rc = m->alloc(m->cookie, SCIM_SMMU_STRTAB_ORDER, &t->root, err);
    return rc ? rc : m->alloc(m->cookie, SCIM_SMMU_L1CD_ORDER, &t->aux, err);
}

static int bind_device(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t dev, scim_err *err)
{
    if (dev >> SCIM_SMMU_SID_BITS)
        return scim_err_set(err, SCIM_ERANGE, "StreamID %u is beyond the %u-bit stream table", dev,
                            SCIM_SMMU_SID_BITS);
    uint64_t ste = t->root + (uint64_t)dev * SCIM_SMMU_STE_BYTES;
    uint64_t w0 = SCIM_STE0_V | SCIM_STE0_CONFIG_S1 | (2ull << SCIM_STE0_S1FMT_SHIFT) |
                  (t->aux & SCIM_STE0_S1CTXPTR_MASK) | ((uint64_t)SCIM_PASID_BITS << SCIM_STE0_S1CDMAX_SHIFT);
    scim_physmem_write64(m->pm, ste + sizeof(uint64_t), SCIM_STE1_EATS_TRANS);
    scim_physmem_write64(m->pm, ste, w0); /* V last, as a driver publishes an STE */
    return 0;
}

static int set_pasid(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t pasid, uint64_t pt_root,
                     const scim_pt_format *fmt, scim_err *err)
{
    if (fmt->isa != SCIM_ISA_ARMV8)
        return scim_err_set(err, SCIM_EINVAL, "SMMUv3 context descriptors point to Armv8 tables, not %s",
                            fmt->name);
    uint64_t l1 = t->aux + (uint64_t)(pasid >> SCIM_SMMU_CD_SPLIT) * SCIM_SMMU_L1CD_BYTES;
    uint64_t desc = scim_physmem_read64(m->pm, l1);
    if (!(desc & SCIM_L1CD_V)) {
        uint64_t leaf;
        int rc = m->alloc(m->cookie, SCIM_SMMU_L2CD_ORDER, &leaf, err);
        if (rc)
            return rc;
        desc = leaf | SCIM_L1CD_V;
        scim_physmem_write64(m->pm, l1, desc);
    }
    uint64_t cd = (desc & SCIM_L1CD_L2PTR_MASK) +
                  (uint64_t)(pasid & ((1u << SCIM_SMMU_CD_SPLIT) - 1)) * SCIM_SMMU_CD_BYTES;
    uint64_t w0 = (64 - fmt->va_bits) | SCIM_CD0_IRGN0_WBWA | SCIM_CD0_ORGN0_WBWA | SCIM_CD0_SH0_INNER |
                  SCIM_CD0_EPD1 | SCIM_CD0_V | SCIM_CD0_IPS_48 | SCIM_CD0_AA64 | SCIM_CD0_HD | SCIM_CD0_HA |
                  SCIM_CD0_R | SCIM_CD0_A | ((uint64_t)(pasid & SCIM_CD0_ASID_MASK) << SCIM_CD0_ASID_SHIFT);
    scim_physmem_write64(m->pm, cd + sizeof(uint64_t), pt_root & SCIM_CD1_TTB0_MASK);
    scim_physmem_write64(m->pm, cd + 3 * sizeof(uint64_t), SCIM_CD3_MAIR_NORMAL_WB);
    scim_physmem_write64(m->pm, cd, w0);
    return 0;
}

const scim_ctx_format scim_ctx_smmuv3 = {.name = "SMMUv3", .isa = SCIM_ISA_ARMV8, .per_device = true,
                                         .start = start, .step = step, .create = create,
                                         .bind_device = bind_device, .set_pasid = set_pasid};

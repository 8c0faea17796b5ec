/* RISC-V IOMMU device and process directories as an IOMMU context family
 * (iommu/ctxfmt.h). Layout and fields in iommu/ctx_riscv.h.
 *
 * A lookup (spec 2.3.1, 2.3.2) reads the device context (32 B), one
 * non-leaf process-directory entry per upper PDT level (8 B each; two for
 * PD20) and the process context (16 B). Faults (spec 4.2 cause codes):
 * DC not valid (258) or without a process directory, process_id beyond
 * the PDT's width, PDT entry or PC not valid (266), an iosatp mode other
 * than Sv39/48/57 (267).
 */
#include "iommu/ctx_riscv.h"

enum { DC, PDTE, PC };

static uint64_t ppn_pa(uint64_t e) { return ((e & SCIM_RVI_PPN_MASK) >> SCIM_RVI_PPN_SHIFT) << SCIM_PAGE_SHIFT; }
static uint64_t atp_pa(uint64_t atp) { return (atp & SCIM_RVI_ATP_PPN_MASK) << SCIM_PAGE_SHIFT; }
static uint64_t atp(uint64_t mode, uint64_t pa)
{
    return (mode << SCIM_RVI_ATP_MODE_SHIFT) | (scim_pfn(pa) & SCIM_RVI_ATP_PPN_MASK);
}
static uint64_t pdte(uint64_t pa) { return (scim_pfn(pa) << SCIM_RVI_PPN_SHIFT) | SCIM_RVI_PDTE_V; }

/* PDI[level] of a process_id (spec 2.2: [7:0], [16:8], [19:17]). */
static uint64_t pdi(uint32_t pid, int level)
{
    unsigned shift = level == 0 ? 0 : SCIM_RVI_PC_BITS + SCIM_RVI_PDI_BITS * (unsigned)(level - 1);
    unsigned bits = level == 0 ? SCIM_RVI_PC_BITS : SCIM_RVI_PDI_BITS;
    return (pid >> shift) & ((1u << bits) - 1);
}

static void start(uint64_t root, scim_ctx_walk *w)
{
    w->stage = DC;
    w->pa = root + (uint64_t)w->dev * SCIM_RVI_DC_BYTES;
    w->len = SCIM_RVI_DC_BYTES;
    w->words = SCIM_RVI_DC_BYTES / sizeof(uint64_t);
}

/* The next read in table `table`: a non-leaf entry, or at level 0 the PC. */
static scim_ctx_step read_level(scim_ctx_walk *w, uint64_t table)
{
    if (w->left == 0) {
        w->stage = PC;
        w->pa = table + pdi(w->pasid, 0) * SCIM_RVI_PC_BYTES;
        w->len = SCIM_RVI_PC_BYTES;
        w->words = SCIM_RVI_PC_BYTES / sizeof(uint64_t);
    } else {
        w->stage = PDTE;
        w->pa = table + pdi(w->pasid, w->left) * SCIM_RVI_PDTE_BYTES;
        w->len = SCIM_RVI_PDTE_BYTES;
        w->words = 1;
    }
    return SCIM_CTX_READ;
}

static scim_ctx_step on_dc(scim_ctx_walk *w, const uint64_t *dc)
{
    uint64_t tc = dc[0], fsc = dc[3];
    if (!(tc & SCIM_RVI_TC_V) || !(tc & SCIM_RVI_TC_PDTV))
        return SCIM_CTX_FAULT;
    uint64_t mode = fsc >> SCIM_RVI_ATP_MODE_SHIFT;
    if (mode < SCIM_RVI_PDTP_PD8 || mode > SCIM_RVI_PDTP_PD20)
        return SCIM_CTX_FAULT;
    /* PD8: the PCs at once; PD17: one directory level; PD20: two */
    static const unsigned width[] = {0, SCIM_RVI_PC_BITS, SCIM_RVI_PC_BITS + SCIM_RVI_PDI_BITS, SCIM_PASID_BITS};
    if (w->pasid >> width[mode])
        return SCIM_CTX_FAULT;
    w->left = (int)mode - 1;
    return read_level(w, atp_pa(fsc));
}

static scim_ctx_step on_pc(scim_ctx_walk *w, const uint64_t *pc)
{
    if (!(pc[0] & SCIM_RVI_TA_V))
        return SCIM_CTX_FAULT;
    uint64_t mode = pc[1] >> SCIM_RVI_ATP_MODE_SHIFT;
    w->fmt = mode == SCIM_RVI_IOSATP_SV39   ? &scim_pt_sv39
             : mode == SCIM_RVI_IOSATP_SV48 ? &scim_pt_sv48
             : mode == SCIM_RVI_IOSATP_SV57 ? &scim_pt_sv57
                                            : NULL;
    if (!w->fmt)
        return SCIM_CTX_FAULT;
    w->root = atp_pa(pc[1]);
    return SCIM_CTX_DONE;
}

static scim_ctx_step step(scim_ctx_walk *w, const uint64_t *words)
{
    switch (w->stage) {
    case DC: return on_dc(w, words);
    case PDTE:
        if (!(words[0] & SCIM_RVI_PDTE_V))
            return SCIM_CTX_FAULT;
        w->left--;
        return read_level(w, ppn_pa(words[0]));
    default: return on_pc(w, words);
    }
}

static int create(const scim_ctx_mem *m, scim_ctx_tables *t, scim_err *err)
{
    int rc = m->alloc(m->cookie, 0, &t->root, err);
    return rc ? rc : m->alloc(m->cookie, 0, &t->aux, err);
}

static int bind_device(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t dev, scim_err *err)
{
    if (dev >> SCIM_RVI_DID_BITS)
        return scim_err_set(err, SCIM_ERANGE, "device_id %u is beyond the one-level device directory (%u bits)",
                            dev, SCIM_RVI_DID_BITS);
    uint64_t dc = t->root + (uint64_t)dev * SCIM_RVI_DC_BYTES;
    scim_physmem_write64(m->pm, dc + 3 * sizeof(uint64_t), atp(SCIM_RVI_PDTP_PD20, t->aux));
    scim_physmem_write64(m->pm, dc, SCIM_RVI_TC_V | SCIM_RVI_TC_EN_ATS | SCIM_RVI_TC_EN_PRI | SCIM_RVI_TC_PDTV |
                                        SCIM_RVI_TC_SADE);
    return 0;
}

static int set_pasid(const scim_ctx_mem *m, const scim_ctx_tables *t, uint32_t pasid, uint64_t pt_root,
                     const scim_pt_format *fmt, scim_err *err)
{
    uint64_t mode = fmt == &scim_pt_sv39 ? SCIM_RVI_IOSATP_SV39
                    : fmt == &scim_pt_sv48 ? SCIM_RVI_IOSATP_SV48
                    : fmt == &scim_pt_sv57 ? SCIM_RVI_IOSATP_SV57
                                           : 0;
    if (!mode)
        return scim_err_set(err, SCIM_EINVAL, "RISC-V IOMMU process contexts point to Sv39/48/57 tables, not %s",
                            fmt->name);
    uint64_t table = t->aux;
    for (int level = 2; level >= 1; level--) {
        uint64_t at = table + pdi(pasid, level) * SCIM_RVI_PDTE_BYTES;
        uint64_t e = scim_physmem_read64(m->pm, at);
        if (!(e & SCIM_RVI_PDTE_V)) {
            uint64_t next;
            int rc = m->alloc(m->cookie, 0, &next, err);
            if (rc)
                return rc;
            e = pdte(next);
            scim_physmem_write64(m->pm, at, e);
        }
        table = ppn_pa(e);
    }
    uint64_t pc = table + pdi(pasid, 0) * SCIM_RVI_PC_BYTES;
    scim_physmem_write64(m->pm, pc + sizeof(uint64_t), atp(mode, pt_root));
    scim_physmem_write64(m->pm, pc, SCIM_RVI_TA_V | ((uint64_t)pasid << SCIM_RVI_TA_PSCID_SHIFT));
    return 0;
}

const scim_ctx_format scim_ctx_riscv = {.name = "RISC-V IOMMU", .isa = SCIM_ISA_RISCV, .per_device = true,
                                        .start = start, .step = step, .create = create,
                                        .bind_device = bind_device, .set_pasid = set_pasid};

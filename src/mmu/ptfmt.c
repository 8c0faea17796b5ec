/* The page-table formats by id and by (ISA, levels), and the geometry
 * helpers every format shares. The formats are in pt_x86.c, pt_armv8.c,
 * pt_riscv.c and (stage 2) pt_stage2.c. */
#include "mmu/ptfmt.h"

#include <stddef.h>

#include "mmu/pt_stage2.h"

static const scim_pt_format *const formats[SCIM_PT_FORMAT_COUNT] = {
    [SCIM_PT_X86_4L] = &scim_pt_x86_4l,         [SCIM_PT_X86_5L] = &scim_pt_x86_5l,
    [SCIM_PT_ARMV8_VA39] = &scim_pt_armv8_va39, [SCIM_PT_ARMV8_VA48] = &scim_pt_armv8_va48,
    [SCIM_PT_SV39] = &scim_pt_sv39,             [SCIM_PT_SV48] = &scim_pt_sv48,
    [SCIM_PT_SV57] = &scim_pt_sv57,             [SCIM_PT_EPT4] = &scim_pt_ept4,
    [SCIM_PT_ARM_S2_48] = &scim_pt_arm_s2_48,   [SCIM_PT_SV39X4] = &scim_pt_sv39x4,
    [SCIM_PT_SV48X4] = &scim_pt_sv48x4,
};

const char *const scim_isa_names[] = {"x86-64", "armv8", "riscv", NULL};
/* "default" first, then the formats in id order (each format's name). */
const char *const scim_paging_names[] = {"default", "4-level", "5-level", "va39", "va48",
                                         "sv39",    "sv48",    "sv57",    NULL};

const scim_pt_format *scim_pt_format_by_id(unsigned id) { return id < SCIM_PT_FORMAT_COUNT ? formats[id] : NULL; }

const scim_pt_format *scim_pt_format_of(scim_isa isa, int levels)
{
    for (unsigned i = 0; i < SCIM_PT_STAGE1_COUNT; i++)
        if (formats[i]->isa == isa && formats[i]->levels == levels)
            return formats[i];
    return NULL;
}

const char *scim_isa_name(scim_isa isa) { return isa < SCIM_ISA_COUNT ? scim_isa_names[isa] : "?"; }

int scim_pt_leaf_level(const scim_pt_format *f, unsigned shift)
{
    for (int l = 1; l <= f->levels; l++)
        if ((f->leaf_levels & (1u << l)) && scim_pt_level_shift(f, l) == shift)
            return l;
    return 0;
}

bool scim_pt_va_valid(const scim_pt_format *f, uint64_t va)
{
    unsigned bits = f->va_bits;
    if (!f->sign_extended)
        return (va >> bits) == 0;
    int64_t s = (int64_t)(va << (64 - bits)) >> (64 - bits);
    return (uint64_t)s == va;
}

uint64_t scim_pt_va_of(const scim_pt_format *f, uint64_t base, uint64_t index, int level)
{
    uint64_t va = base + (index << scim_pt_level_shift(f, level));
    if (!f->sign_extended)
        return va;
    unsigned bits = f->va_bits;
    return (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits));
}

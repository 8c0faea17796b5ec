/* x86-64 4- and 5-level paging as a page-table format (mmu/ptfmt.h).
 *
 * Entries (SDM Vol. 3A 4.5, tables 4-15 to 4-20): P, R/W, U/S, PWT, PCD,
 * A, D, PS, G, XD and the address in bits 12..51. PS makes a 2 MiB leaf at
 * level 2 and a 1 GiB leaf at level 3; PS at level 4 or 5 is reserved
 * (SDM 4.5.4), and so are the address bits of a large leaf below its size
 * except bit 12, its PAT bit. Rights are the AND of R/W and U/S over every
 * level (SDM 4.6); the processor sets A in every entry it uses and D in a
 * leaf it writes through (SDM 4.8). Not modelled: PAT, protection keys,
 * the NX enable (XD is stored but never enforced), reserved physical-
 * address bits above MAXPHYADDR.
 */
#include "mmu/pt_x86.h"

#include "core/proto.h"

static void decode(uint64_t pte, int level, scim_pte_info *o)
{
    *o = (scim_pte_info){.kind = SCIM_PTE_NOT_PRESENT};
    if (!(pte & SCIM_PTE_P))
        return;
    o->perms = (pte & SCIM_PTE_US) ? SCIM_PERM_R | ((pte & SCIM_PTE_RW) ? SCIM_PERM_W : 0) : 0;
    uint64_t addr = pte & SCIM_PTE_ADDR_MASK;
    unsigned shift = SCIM_SHIFT_4K;
    if (level > 1) {
        if (!(pte & SCIM_PTE_PS)) {
            o->kind = SCIM_PTE_TABLE;
            o->addr = addr;
            return;
        }
        if (level > 3) {
            o->kind = SCIM_PTE_RESERVED;
            return;
        }
        shift = scim_pt_level_shift(&scim_pt_x86_4l, level);
        if (addr & scim_page_mask(shift) & ~SCIM_PTE_PAT_LARGE) {
            o->kind = SCIM_PTE_RESERVED;
            return;
        }
        addr = scim_page_base(addr, shift);
    }
    o->kind = SCIM_PTE_LEAF;
    o->addr = addr;
    o->shift = shift;
    o->attrs = ((pte & SCIM_PTE_RW) ? SCIM_PTA_WRITE : 0) | ((pte & SCIM_PTE_US) ? SCIM_PTA_USER : 0) |
               ((pte & SCIM_PTE_A) ? SCIM_PTA_ACCESSED : 0) | ((pte & SCIM_PTE_D) ? SCIM_PTA_DIRTY : 0) |
               ((pte & SCIM_PTE_G) ? SCIM_PTA_GLOBAL : 0) | ((pte & SCIM_PTE_XD) ? SCIM_PTA_NOEXEC : 0);
}

static uint64_t attr_bits(unsigned attrs)
{
    return ((attrs & SCIM_PTA_WRITE) ? SCIM_PTE_RW : 0) | ((attrs & SCIM_PTA_USER) ? SCIM_PTE_US : 0) |
           ((attrs & SCIM_PTA_ACCESSED) ? SCIM_PTE_A : 0) | ((attrs & SCIM_PTA_DIRTY) ? SCIM_PTE_D : 0) |
           ((attrs & SCIM_PTA_GLOBAL) ? SCIM_PTE_G : 0) | ((attrs & SCIM_PTA_NOEXEC) ? SCIM_PTE_XD : 0);
}

/* Tables allow everything; rights are set in the leaves. */
static uint64_t make_table(uint64_t table_pa, int level)
{
    (void)level;
    return (table_pa & SCIM_PTE_ADDR_MASK) | SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US;
}

static uint64_t make_leaf(uint64_t pa, int level, unsigned attrs)
{
    return (pa & SCIM_PTE_ADDR_MASK) | attr_bits(attrs) | SCIM_PTE_P | (level > 1 ? SCIM_PTE_PS : 0);
}

static uint64_t set_attrs(uint64_t pte, int level, unsigned set, unsigned clear)
{
    (void)level;
    return (pte | attr_bits(set)) & ~attr_bits(clear);
}

static uint64_t set_addr(uint64_t pte, int level, uint64_t pa)
{
    uint64_t addr_bits = SCIM_PTE_ADDR_MASK & ~scim_page_mask(scim_pt_level_shift(&scim_pt_x86_4l, level));
    return (pte & ~addr_bits) | (pa & addr_bits);
}

/* A in every entry used; D in a writable leaf written. */
static uint64_t hw_update(uint64_t pte, int level, bool write)
{
    if (!(pte & SCIM_PTE_P))
        return pte;
    pte |= SCIM_PTE_A;
    scim_pte_info i;
    decode(pte, level, &i);
    if (write && (pte & SCIM_PTE_RW) && i.kind == SCIM_PTE_LEAF)
        pte |= SCIM_PTE_D;
    return pte;
}

#define X86_LEAVES ((1u << 1) | (1u << 2) | (1u << 3)) /* 4 KiB, 2 MiB, 1 GiB */
#define X9 SCIM_PT_INDEX_BITS
#define X86_INDEX {0, X9, X9, X9, X9, X9}

const scim_pt_format scim_pt_x86_4l = {
    .name = "4-level", .isa = SCIM_ISA_X86_64, .id = SCIM_PT_X86_4L, .levels = 4, .va_bits = 48,
    .sign_extended = true, .index_bits = X86_INDEX, .leaf_levels = X86_LEAVES, .decode = decode,
    .make_table = make_table, .make_leaf = make_leaf, .set_attrs = set_attrs, .set_addr = set_addr,
    .hw_update = hw_update};

const scim_pt_format scim_pt_x86_5l = {
    .name = "5-level", .isa = SCIM_ISA_X86_64, .id = SCIM_PT_X86_5L, .levels = 5, .va_bits = 57,
    .sign_extended = true, .index_bits = X86_INDEX, .leaf_levels = X86_LEAVES, .decode = decode,
    .make_table = make_table, .make_leaf = make_leaf, .set_attrs = set_attrs, .set_addr = set_addr,
    .hw_update = hw_update};

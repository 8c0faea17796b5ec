/* RISC-V Sv39, Sv48 and Sv57 page tables as a page-table format
 * (mmu/ptfmt.h): 3, 4 and 5 levels of 512 entries, 39-, 48- and 57-bit
 * virtual addresses whose upper bits copy the top one.
 *
 * Entries (Privileged spec 10.3.1, 10.4.1, 10.5, 10.6): V, R, W, X, U, G,
 * A, D, two bits for software, the PPN in bits [53:10]. R = W = X = 0 is a
 * pointer to the next table; any of R or X makes a leaf at any level (a
 * megapage at level 1, gigapage at level 2, ... in the spec's numbering).
 * The walk (10.3.2) stops with a page fault for V = 0 (not present here,
 * which the OS resolves) and for what software never writes, reported
 * here as a malformed (reserved) entry: R = 0 with W = 1, bits [63:54] set
 * (no Svnapot or Svpbmt), a pointer at the last level, a superpage whose
 * PPN is not aligned to its size.
 *
 * Rights are in the leaf alone (U for user access, R and W); a non-leaf
 * entry passes every right. A and D are updated by hardware (Svadu, the
 * RISC-V IOMMU's DC.tc.SADE): a permitted access sets A in the leaf, a
 * permitted store also D; non-leaf entries carry no A or D (their A, D and
 * U are reserved and left zero). The model's accesses are U-mode accesses.
 */
#include "mmu/pt_riscv.h"

#include "core/proto.h"

static void decode(uint64_t pte, int level, scim_pte_info *o)
{
    *o = (scim_pte_info){.kind = SCIM_PTE_NOT_PRESENT};
    if (!(pte & SCIM_RV_V))
        return;
    o->kind = SCIM_PTE_RESERVED;
    if ((pte & SCIM_RV_RESERVED) || ((pte & SCIM_RV_W) && !(pte & SCIM_RV_R)))
        return;
    uint64_t addr = scim_rv_pa(pte);
    if (!(pte & (SCIM_RV_R | SCIM_RV_X))) {
        if (level == 1)
            return;
        o->kind = SCIM_PTE_TABLE;
        o->addr = addr;
        o->perms = SCIM_PERM_R | SCIM_PERM_W;
        return;
    }
    unsigned shift = scim_pt_level_shift(&scim_pt_sv57, level);
    if (addr & scim_page_mask(shift))
        return;
    bool user = pte & SCIM_RV_U;
    o->kind = SCIM_PTE_LEAF;
    o->addr = addr;
    o->shift = shift;
    o->perms = user ? ((pte & SCIM_RV_R) ? SCIM_PERM_R : 0) | ((pte & SCIM_RV_W) ? SCIM_PERM_W : 0) : 0;
    o->attrs = ((pte & SCIM_RV_W) ? SCIM_PTA_WRITE : 0) | (user ? SCIM_PTA_USER : 0) |
               ((pte & SCIM_RV_A) ? SCIM_PTA_ACCESSED : 0) | ((pte & SCIM_RV_D) ? SCIM_PTA_DIRTY : 0) |
               ((pte & SCIM_RV_G) ? SCIM_PTA_GLOBAL : 0) | ((pte & SCIM_RV_X) ? 0 : SCIM_PTA_NOEXEC);
}

static uint64_t attr_bits(unsigned attrs)
{
    return ((attrs & SCIM_PTA_WRITE) ? SCIM_RV_W : 0) | ((attrs & SCIM_PTA_USER) ? SCIM_RV_U : 0) |
           ((attrs & SCIM_PTA_ACCESSED) ? SCIM_RV_A : 0) | ((attrs & SCIM_PTA_DIRTY) ? SCIM_RV_D : 0) |
           ((attrs & SCIM_PTA_GLOBAL) ? SCIM_RV_G : 0) | ((attrs & SCIM_PTA_NOEXEC) ? 0 : SCIM_RV_X);
}

static uint64_t make_table(uint64_t table_pa, int level)
{
    (void)level;
    return scim_rv_ppn_bits(table_pa) | SCIM_RV_V;
}

/* A leaf is always readable (R); supervisor-only when not USER. */
static uint64_t make_leaf(uint64_t pa, int level, unsigned attrs)
{
    (void)level;
    return scim_rv_ppn_bits(pa) | SCIM_RV_V | SCIM_RV_R | attr_bits(attrs);
}

static uint64_t set_attrs(uint64_t pte, int level, unsigned set, unsigned clear)
{
    (void)level;
    const uint64_t all = attr_bits(SCIM_PTA_ALL) | SCIM_RV_X;
    scim_pte_info i;
    decode(pte, level, &i);
    return (pte & ~all) | attr_bits((i.attrs | set) & ~clear);
}

static uint64_t set_addr(uint64_t pte, int level, uint64_t pa)
{
    uint64_t keep = scim_rv_ppn_bits(scim_page_mask(scim_pt_level_shift(&scim_pt_sv57, level)));
    return (pte & ~(SCIM_RV_PPN_MASK & ~keep)) | (scim_rv_ppn_bits(pa) & ~keep);
}

static uint64_t hw_update(uint64_t pte, int level, bool write)
{
    scim_pte_info i;
    decode(pte, level, &i);
    if (i.kind != SCIM_PTE_LEAF || !(i.perms & (write ? SCIM_PERM_W : SCIM_PERM_R)))
        return pte;
    return pte | SCIM_RV_A | (write ? SCIM_RV_D : 0);
}

#define R9 SCIM_PT_INDEX_BITS
#define RV_INDEX {0, R9, R9, R9, R9, R9}
#define RV_FORMAT(var, nm, id_, lv, bits)                                                                    \
    const scim_pt_format var = {.name = nm, .isa = SCIM_ISA_RISCV, .id = id_, .levels = lv, .va_bits = bits, \
                                .sign_extended = true, .index_bits = RV_INDEX,                               \
                                .leaf_levels = ((1u << (lv + 1)) - 2), .decode = decode,                     \
                                .make_table = make_table, .make_leaf = make_leaf, .set_attrs = set_attrs,    \
                                .set_addr = set_addr, .hw_update = hw_update}

RV_FORMAT(scim_pt_sv39, "sv39", SCIM_PT_SV39, 3, 39);
RV_FORMAT(scim_pt_sv48, "sv48", SCIM_PT_SV48, 4, 48);
RV_FORMAT(scim_pt_sv57, "sv57", SCIM_PT_SV57, 5, 57);

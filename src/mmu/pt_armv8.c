/* Armv8-A VMSAv8-64 stage-1 translation tables, 4 KiB granule, as a
 * page-table format (mmu/ptfmt.h): 39-bit VA (3 levels, starting at Arm
 * level 1) and 48-bit VA (4 levels, starting at level 0), 48-bit output
 * address, one VA range (TTBR0: addresses above 2^va_bits are invalid).
 *
 * Descriptors (Arm ARM DDI 0487, D8.3): bits[1:0] 0b11 is a table at
 * levels 0-2 and a page at level 3; 0b01 is a block at levels 1 and 2
 * (1 GiB, 2 MiB). A level-0 block (4 KiB granule without FEAT_LPA2) and a
 * level-3 0b01 are not valid descriptors; Arm reports a Translation fault
 * for them, the model reports a malformed (reserved) entry, as it does for
 * non-zero RES0 output-address bits [49:48] (an Address size fault) and
 * for a block's address bits below the block size.
 *
 * Rights (D8.4): AP[1] grants EL0 access, AP[2] makes the page read-only;
 * APTable[1:0] of a table descriptor removes EL0 access or write access for
 * everything below it. Hardware management (D8.5, FEAT_HAFDBS with TCR.HA
 * and TCR.HD set): a walker's use sets AF; a write to a descriptor with
 * DBM set clears AP[2] — a writable page is DBM=1, clean while AP[2]=1 and
 * dirty once AP[2]=0. Write-protecting a dirty page keeps its dirty state
 * in software bit 55 (as Linux's PTE_DIRTY). Updates happen only for an
 * access the descriptor permits (the model's accesses are EL0 accesses);
 * table descriptors have no AF without FEAT_HAFT. Leaves are Normal memory
 * (AttrIndx 0), inner shareable. Not modelled: contiguous hint, PAN, the
 * TTBR1 range, MAIR contents.
 */
#include "mmu/pt_armv8.h"

#include "core/proto.h"

#define ATTR_BITS \
    (SCIM_ARM_AP_USER | SCIM_ARM_AP_RDONLY | SCIM_ARM_AF | SCIM_ARM_NG | SCIM_ARM_DBM | SCIM_ARM_PXN | \
     SCIM_ARM_UXN | SCIM_ARM_SW_DIRTY)

/* Arm level of the model's level: 3 for the last-level table. */
static int arm_level(int level) { return 4 - level; }

static void decode(uint64_t pte, int level, scim_pte_info *o)
{
    *o = (scim_pte_info){.kind = SCIM_PTE_NOT_PRESENT};
    if (!(pte & SCIM_ARM_VALID))
        return;
    o->kind = SCIM_PTE_RESERVED;
    if (pte & SCIM_ARM_RES0_OA)
        return;
    uint64_t type = pte & SCIM_ARM_DESC_MASK;
    uint64_t addr = pte & SCIM_ARM_OA_MASK;
    if (type == SCIM_ARM_DESC_TABLE && level > 1) {
        o->kind = SCIM_PTE_TABLE;
        o->addr = addr;
        o->perms = (pte & SCIM_ARM_APTABLE_NOEL0) ? 0 : SCIM_PERM_R | SCIM_PERM_W;
        if (pte & SCIM_ARM_APTABLE_RDONLY)
            o->perms &= ~(unsigned)SCIM_PERM_W;
        return;
    }
    unsigned shift = SCIM_SHIFT_4K;
    if (level > 1) {
        /* a block: levels 1 and 2 only */
        if (arm_level(level) < 1)
            return;
        shift = scim_pt_level_shift(&scim_pt_armv8_va48, level);
        if (addr & scim_page_mask(shift) & ~SCIM_ARM_NT)
            return;
        addr = scim_page_base(addr, shift);
    } else if (type != SCIM_ARM_DESC_TABLE) {
        return; /* level 3: 0b01 is reserved */
    }
    bool user = pte & SCIM_ARM_AP_USER, rdonly = pte & SCIM_ARM_AP_RDONLY, dbm = pte & SCIM_ARM_DBM;
    bool writable = !rdonly || dbm;
    o->kind = SCIM_PTE_LEAF;
    o->addr = addr;
    o->shift = shift;
    o->perms = user ? SCIM_PERM_R | (writable ? SCIM_PERM_W : 0) : 0;
    o->attrs = (writable ? SCIM_PTA_WRITE : 0) | (user ? SCIM_PTA_USER : 0) |
               ((pte & SCIM_ARM_AF) ? SCIM_PTA_ACCESSED : 0) |
               ((writable && !rdonly) || (pte & SCIM_ARM_SW_DIRTY) ? SCIM_PTA_DIRTY : 0) |
               ((pte & SCIM_ARM_NG) ? 0 : SCIM_PTA_GLOBAL) | ((pte & SCIM_ARM_UXN) ? SCIM_PTA_NOEXEC : 0);
}

/* The attribute bits of a leaf with `attrs`. */
static uint64_t attr_bits(unsigned attrs)
{
    uint64_t b = 0;
    if (attrs & SCIM_PTA_USER)
        b |= SCIM_ARM_AP_USER;
    if (attrs & SCIM_PTA_WRITE)
        b |= SCIM_ARM_DBM | ((attrs & SCIM_PTA_DIRTY) ? 0 : SCIM_ARM_AP_RDONLY);
    else
        b |= SCIM_ARM_AP_RDONLY | ((attrs & SCIM_PTA_DIRTY) ? SCIM_ARM_SW_DIRTY : 0);
    if (attrs & SCIM_PTA_ACCESSED)
        b |= SCIM_ARM_AF;
    if (!(attrs & SCIM_PTA_GLOBAL))
        b |= SCIM_ARM_NG;
    if (attrs & SCIM_PTA_NOEXEC)
        b |= SCIM_ARM_PXN | SCIM_ARM_UXN;
    return b;
}

/* No hierarchical restriction: rights are set in the leaves. */
static uint64_t make_table(uint64_t table_pa, int level)
{
    (void)level;
    return (table_pa & SCIM_ARM_OA_MASK) | SCIM_ARM_DESC_TABLE;
}

static uint64_t make_leaf(uint64_t pa, int level, unsigned attrs)
{
    uint64_t type = level == 1 ? SCIM_ARM_DESC_TABLE : SCIM_ARM_DESC_BLOCK;
    return (pa & SCIM_ARM_OA_MASK) | type | SCIM_ARM_SH_INNER | attr_bits(attrs);
}

static uint64_t set_attrs(uint64_t pte, int level, unsigned set, unsigned clear)
{
    scim_pte_info i;
    decode(pte, level, &i);
    return (pte & ~ATTR_BITS) | attr_bits((i.attrs | set) & ~clear);
}

static uint64_t set_addr(uint64_t pte, int level, uint64_t pa)
{
    uint64_t addr_bits = SCIM_ARM_OA_MASK & ~scim_page_mask(scim_pt_level_shift(&scim_pt_armv8_va48, level));
    return (pte & ~addr_bits) | (pa & addr_bits);
}

static uint64_t hw_update(uint64_t pte, int level, bool write)
{
    scim_pte_info i;
    decode(pte, level, &i);
    if (i.kind != SCIM_PTE_LEAF || !(i.perms & (write ? SCIM_PERM_W : SCIM_PERM_R)))
        return pte;
    pte |= SCIM_ARM_AF;
    if (write)
        pte &= ~SCIM_ARM_AP_RDONLY; /* DBM set, or already writable */
    return pte;
}

#define A9 SCIM_PT_INDEX_BITS
#define ARM_INDEX {0, A9, A9, A9, A9, 0} /* no level beyond Arm level 0 */

const scim_pt_format scim_pt_armv8_va39 = {
    .name = "va39", .isa = SCIM_ISA_ARMV8, .id = SCIM_PT_ARMV8_VA39, .levels = 3, .va_bits = 39,
    .sign_extended = false, .index_bits = ARM_INDEX, .leaf_levels = (1u << 1) | (1u << 2) | (1u << 3),
    .decode = decode, .make_table = make_table, .make_leaf = make_leaf, .set_attrs = set_attrs,
    .set_addr = set_addr, .hw_update = hw_update};

const scim_pt_format scim_pt_armv8_va48 = {
    .name = "va48", .isa = SCIM_ISA_ARMV8, .id = SCIM_PT_ARMV8_VA48, .levels = 4, .va_bits = 48,
    .sign_extended = false, .index_bits = ARM_INDEX, .leaf_levels = (1u << 1) | (1u << 2) | (1u << 3),
    .decode = decode, .make_table = make_table, .make_leaf = make_leaf, .set_attrs = set_attrs,
    .set_addr = set_addr, .hw_update = hw_update};

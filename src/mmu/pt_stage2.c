/* Stage-2 table formats (mmu/pt_stage2.h): Intel EPT and Armv8-A stage 2.
 *
 * EPT (SDM Vol. 3C 29.3.2): bits 2:0 are read, write and execute; an entry
 * with all three clear is not present (an EPT violation). Write without
 * read is an EPT misconfiguration (29.3.3.1), and so are bits 7:3 of a
 * PML4E or of an entry that points to a table, bit 7 of a PML4E, and a
 * leaf's memory type 2, 3 or 7; we report them as reserved. Bit 7 makes a
 * 1 GiB leaf at level 3 and a 2 MiB one at level 2. With A/D enabled
 * (EPTP bit 6, 29.3.5) the processor sets A in every entry it uses and D
 * in a leaf written through. Rights are the AND of R and W over every
 * level (29.3.3.2); there is no user/supervisor distinction, so a present
 * leaf is reported user-accessible.
 *
 * Arm stage 2 (Arm ARM D8.3): descriptors have the stage-1 shape (0b11 a
 * table at levels 0-2 or a page at level 3, 0b01 a block at levels 1-2);
 * a leaf's rights are S2AP[7:6] (read, write), with no APTable above
 * (stage 2 has none); AF is set by the walker (FEAT_HAFDBS) and DBM with
 * S2AP[1] clear is a clean writable page whose first write sets S2AP[1].
 *
 * RISC-V G-stage (Privileged spec 20211203, 8.5.1): "non-root page tables
 * and all page table entries (PTEs) have the same formats" as Sv39 and
 * Sv48, so the entries decode, encode and update with the Sv39/48 format
 * functions (mmu/pt_riscv.c), and only the geometry differs: 2 more index
 * bits at the root, a 41- or 50-bit guest-physical address whose bits
 * above must be zero ("or else a guest-page-fault exception occurs"; not
 * sign-extended as a virtual address). Every G-stage access is a user
 * access, so a leaf with U = 0 gives no rights (the model's walks check U
 * as a U-mode access already); the G bit is reserved, "cleared by
 * software ... ignored by hardware": never written, never reported. A
 * and D as in Sv39/48 (hardware updates: Svadu, the RISC-V IOMMU's
 * DC.tc.GADE); the leaf's X is left set, as the host tables do.
 */
#include "mmu/pt_stage2.h"

#include <string.h>

#include "core/proto.h"
#include "mmu/pt_riscv.h"

/* ---------- EPT ---------- */

static bool ept_memtype_bad(uint64_t pte)
{
    uint64_t mt = (pte & SCIM_EPT_MT_MASK) >> SCIM_EPT_MT_SHIFT;
    return mt == 2 || mt == 3 || mt == 7; /* reserved memory types (SDM 29.3.7) */
}

static void ept_decode(uint64_t pte, int level, scim_pte_info *o)
{
    *o = (scim_pte_info){.kind = SCIM_PTE_NOT_PRESENT};
    if (!(pte & (SCIM_EPT_R | SCIM_EPT_W | SCIM_EPT_X)))
        return;
    if ((pte & SCIM_EPT_W) && !(pte & SCIM_EPT_R)) {
        o->kind = SCIM_PTE_RESERVED; /* write-only: misconfiguration */
        return;
    }
    o->perms = ((pte & SCIM_EPT_R) ? SCIM_PERM_R : 0) | ((pte & SCIM_EPT_W) ? SCIM_PERM_W : 0);
    uint64_t addr = pte & SCIM_EPT_ADDR_MASK;
    bool leaf = level == 1 || (pte & SCIM_EPT_PS);
    if (!leaf || level > 3) {
        /* a pointer to a table: bits 7:3 reserved; at level 4 bit 7 too */
        if (pte & (SCIM_EPT_MT_MASK | SCIM_EPT_IPAT | SCIM_EPT_PS)) {
            o->kind = SCIM_PTE_RESERVED;
            return;
        }
        o->kind = SCIM_PTE_TABLE;
        o->addr = addr;
        return;
    }
    unsigned shift = scim_pt_level_shift(&scim_pt_ept4, level);
    if (ept_memtype_bad(pte) || (addr & scim_page_mask(shift))) {
        o->kind = SCIM_PTE_RESERVED;
        return;
    }
    o->kind = SCIM_PTE_LEAF;
    o->addr = addr;
    o->shift = shift;
    o->attrs = SCIM_PTA_USER | ((pte & SCIM_EPT_W) ? SCIM_PTA_WRITE : 0) |
               ((pte & SCIM_EPT_A) ? SCIM_PTA_ACCESSED : 0) | ((pte & SCIM_EPT_D) ? SCIM_PTA_DIRTY : 0) |
               ((pte & SCIM_EPT_X) ? 0 : SCIM_PTA_NOEXEC);
}

static uint64_t ept_make_table(uint64_t table_pa, int level)
{
    (void)level;
    return (table_pa & SCIM_EPT_ADDR_MASK) | SCIM_EPT_R | SCIM_EPT_W | SCIM_EPT_X;
}

static uint64_t ept_bits(unsigned attrs)
{
    return ((attrs & SCIM_PTA_WRITE) ? SCIM_EPT_W : 0) | ((attrs & SCIM_PTA_ACCESSED) ? SCIM_EPT_A : 0) |
           ((attrs & SCIM_PTA_DIRTY) ? SCIM_EPT_D : 0);
}

/* A leaf is always readable, write-back memory, executable unless NOEXEC. */
static uint64_t ept_make_leaf(uint64_t pa, int level, unsigned attrs)
{
    return (pa & SCIM_EPT_ADDR_MASK) | SCIM_EPT_R | ept_bits(attrs) | ((attrs & SCIM_PTA_NOEXEC) ? 0 : SCIM_EPT_X) |
           (SCIM_EPT_MT_WB << SCIM_EPT_MT_SHIFT) | (level > 1 ? SCIM_EPT_PS : 0);
}

static uint64_t ept_set_attrs(uint64_t pte, int level, unsigned set, unsigned clear)
{
    (void)level;
    pte = (pte | ept_bits(set)) & ~ept_bits(clear);
    if (set & SCIM_PTA_NOEXEC)
        pte &= ~SCIM_EPT_X;
    if (clear & SCIM_PTA_NOEXEC)
        pte |= SCIM_EPT_X;
    return pte;
}

static uint64_t ept_set_addr(uint64_t pte, int level, uint64_t pa)
{
    uint64_t bits = SCIM_EPT_ADDR_MASK & ~scim_page_mask(scim_pt_level_shift(&scim_pt_ept4, level));
    return (pte & ~bits) | (pa & bits);
}

static uint64_t ept_hw_update(uint64_t pte, int level, bool write)
{
    scim_pte_info i;
    ept_decode(pte, level, &i);
    if (i.kind != SCIM_PTE_TABLE && i.kind != SCIM_PTE_LEAF)
        return pte;
    pte |= SCIM_EPT_A;
    if (write && i.kind == SCIM_PTE_LEAF && (pte & SCIM_EPT_W))
        pte |= SCIM_EPT_D;
    return pte;
}

/* ---------- Arm stage 2 ---------- */

static void s2_decode(uint64_t pte, int level, scim_pte_info *o)
{
    *o = (scim_pte_info){.kind = SCIM_PTE_NOT_PRESENT};
    if (!(pte & SCIM_S2_VALID))
        return;
    /* levels count from 1 = Arm's level 3 up to 4 = Arm's level 0 */
    bool table_bit = (pte & SCIM_S2_TABLE) != 0;
    uint64_t addr = pte & SCIM_S2_ADDR_MASK;
    if (level > 1 && table_bit) {
        o->kind = SCIM_PTE_TABLE;
        o->addr = addr;
        o->perms = SCIM_PERM_R | SCIM_PERM_W; /* no APTable at stage 2 */
        return;
    }
    if ((level == 1 && !table_bit) || level > 3) {
        o->kind = SCIM_PTE_RESERVED; /* a level-3 0b01, a level-0 block */
        return;
    }
    unsigned shift = scim_pt_level_shift(&scim_pt_arm_s2_48, level);
    if (addr & scim_page_mask(shift)) {
        o->kind = SCIM_PTE_RESERVED;
        return;
    }
    bool w = (pte & SCIM_S2_S2AP_W) || (pte & SCIM_S2_DBM);
    o->kind = SCIM_PTE_LEAF;
    o->addr = addr;
    o->shift = shift;
    o->perms = ((pte & SCIM_S2_S2AP_R) ? SCIM_PERM_R : 0) | (w ? SCIM_PERM_W : 0);
    o->attrs = ((pte & SCIM_S2_S2AP_R) ? SCIM_PTA_USER : 0) | (w ? SCIM_PTA_WRITE : 0) |
               ((pte & SCIM_S2_AF) ? SCIM_PTA_ACCESSED : 0) |
               (((pte & SCIM_S2_DBM) && (pte & SCIM_S2_S2AP_W)) ? SCIM_PTA_DIRTY : 0) |
               ((pte & SCIM_S2_XN) ? SCIM_PTA_NOEXEC : 0);
}

static uint64_t s2_make_table(uint64_t table_pa, int level)
{
    (void)level;
    return (table_pa & SCIM_S2_ADDR_MASK) | SCIM_S2_VALID | SCIM_S2_TABLE;
}

static uint64_t s2_bits(unsigned attrs)
{
    /* writable: DBM, S2AP[1] only once dirty (as stage 1 keeps AP[2]) */
    return ((attrs & SCIM_PTA_WRITE) ? SCIM_S2_DBM : 0) | ((attrs & SCIM_PTA_ACCESSED) ? SCIM_S2_AF : 0) |
           ((attrs & SCIM_PTA_DIRTY) ? SCIM_S2_S2AP_W : 0) | ((attrs & SCIM_PTA_NOEXEC) ? SCIM_S2_XN : 0);
}

static uint64_t s2_make_leaf(uint64_t pa, int level, unsigned attrs)
{
    return (pa & SCIM_S2_ADDR_MASK) | SCIM_S2_VALID | (level == 1 ? SCIM_S2_TABLE : 0) | SCIM_S2_MEMATTR_NORMAL_WB |
           SCIM_S2_S2AP_R | SCIM_S2_SH_INNER | s2_bits(attrs);
}

static uint64_t s2_set_attrs(uint64_t pte, int level, unsigned set, unsigned clear)
{
    (void)level;
    /* write-protecting clears S2AP[1] too: a dirty page stays writable
     * through it otherwise (KVM's stage-2 wrprotect clears it; stage 2
     * keeps no software dirty bit here) */
    if (clear & SCIM_PTA_WRITE)
        clear |= SCIM_PTA_DIRTY;
    return (pte | s2_bits(set)) & ~s2_bits(clear);
}

static uint64_t s2_set_addr(uint64_t pte, int level, uint64_t pa)
{
    uint64_t bits = SCIM_S2_ADDR_MASK & ~scim_page_mask(scim_pt_level_shift(&scim_pt_arm_s2_48, level));
    return (pte & ~bits) | (pa & bits);
}

/* AF on a leaf used; a write through DBM sets S2AP[1] (FEAT_HAFDBS). */
static uint64_t s2_hw_update(uint64_t pte, int level, bool write)
{
    scim_pte_info i;
    s2_decode(pte, level, &i);
    if (i.kind != SCIM_PTE_LEAF || !(i.perms & SCIM_PERM_R) || (write && !(i.perms & SCIM_PERM_W)))
        return pte;
    pte |= SCIM_S2_AF;
    if (write)
        pte |= SCIM_S2_S2AP_W;
    return pte;
}

/* ---------- RISC-V G-stage ---------- */

static void gs_decode(uint64_t pte, int level, scim_pte_info *o)
{
    scim_pt_sv48.decode(pte, level, o);
    o->attrs &= ~SCIM_PTA_GLOBAL; /* G is reserved in G-stage PTEs and ignored */
}

static uint64_t gs_make_table(uint64_t table_pa, int level) { return scim_pt_sv48.make_table(table_pa, level); }

static uint64_t gs_make_leaf(uint64_t pa, int level, unsigned attrs)
{
    return scim_pt_sv48.make_leaf(pa, level, attrs & ~SCIM_PTA_GLOBAL);
}

static uint64_t gs_set_attrs(uint64_t pte, int level, unsigned set, unsigned clear)
{
    return scim_pt_sv48.set_attrs(pte, level, set & ~SCIM_PTA_GLOBAL, clear);
}

static uint64_t gs_set_addr(uint64_t pte, int level, uint64_t pa) { return scim_pt_sv48.set_addr(pte, level, pa); }

static uint64_t gs_hw_update(uint64_t pte, int level, bool write) { return scim_pt_sv48.hw_update(pte, level, write); }

#define S2_LEAVES ((1u << 1) | (1u << 2) | (1u << 3)) /* 4 KiB, 2 MiB, 1 GiB */
#define S9 SCIM_PT_INDEX_BITS
#define S2_INDEX {0, S9, S9, S9, S9, S9}

const scim_pt_format scim_pt_ept4 = {
    .name = "ept4", .isa = SCIM_ISA_X86_64, .id = SCIM_PT_EPT4, .levels = 4, .va_bits = 48,
    .sign_extended = false, .index_bits = S2_INDEX, .leaf_levels = S2_LEAVES, .decode = ept_decode,
    .make_table = ept_make_table, .make_leaf = ept_make_leaf, .set_attrs = ept_set_attrs,
    .set_addr = ept_set_addr, .hw_update = ept_hw_update};

const scim_pt_format scim_pt_arm_s2_48 = {
    .name = "s2-ipa48", .isa = SCIM_ISA_ARMV8, .id = SCIM_PT_ARM_S2_48, .levels = 4, .va_bits = 48,
    .sign_extended = false, .index_bits = S2_INDEX, .leaf_levels = S2_LEAVES, .decode = s2_decode,
    .make_table = s2_make_table, .make_leaf = s2_make_leaf, .set_attrs = s2_set_attrs,
    .set_addr = s2_set_addr, .hw_update = s2_hw_update};

/* The root takes the 2 extra guest-physical bits (8.5.1, figures "Sv39x4
 * and Sv48x4 virtual address (guest physical address)"). */
#define GS_ROOT_BITS (SCIM_PT_INDEX_BITS + 2)
#define GS_INDEX_39X4 {0, S9, S9, GS_ROOT_BITS}
#define GS_INDEX_48X4 {0, S9, S9, S9, GS_ROOT_BITS}

const scim_pt_format scim_pt_sv39x4 = {
    .name = "sv39x4", .isa = SCIM_ISA_RISCV, .id = SCIM_PT_SV39X4, .levels = 3, .va_bits = 41,
    .sign_extended = false, .index_bits = GS_INDEX_39X4, .leaf_levels = S2_LEAVES, .decode = gs_decode,
    .make_table = gs_make_table, .make_leaf = gs_make_leaf, .set_attrs = gs_set_attrs, .set_addr = gs_set_addr,
    .hw_update = gs_hw_update};

/* 4 KiB, 2 MiB, 1 GiB and 512 GiB leaves (a leaf may sit at any level,
 * the root's 512 GiB terapages too: 10.5 "Sv48"). */
const scim_pt_format scim_pt_sv48x4 = {
    .name = "sv48x4", .isa = SCIM_ISA_RISCV, .id = SCIM_PT_SV48X4, .levels = 4, .va_bits = 50,
    .sign_extended = false, .index_bits = GS_INDEX_48X4, .leaf_levels = S2_LEAVES | (1u << 4),
    .decode = gs_decode, .make_table = gs_make_table, .make_leaf = gs_make_leaf, .set_attrs = gs_set_attrs,
    .set_addr = gs_set_addr, .hw_update = gs_hw_update};

const scim_pt_format *scim_pt_stage2_of(scim_isa isa, const scim_pt_format *paging)
{
    switch (isa) {
    case SCIM_ISA_X86_64: return &scim_pt_ept4;
    case SCIM_ISA_ARMV8: return &scim_pt_arm_s2_48;
    case SCIM_ISA_RISCV: return paging && paging->levels == scim_pt_sv39.levels ? &scim_pt_sv39x4 : &scim_pt_sv48x4;
    default: return NULL;
    }
}

const scim_pt_format *scim_pt_stage2_by_name(const char *name)
{
    for (unsigned id = SCIM_PT_STAGE1_COUNT; id < SCIM_PT_FORMAT_COUNT; id++)
        if (!strcmp(scim_pt_format_by_id(id)->name, name))
            return scim_pt_format_by_id(id);
    return NULL;
}

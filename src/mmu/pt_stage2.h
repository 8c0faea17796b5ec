/* Stage-2 (guest-physical to host-physical) table formats, one per ISA,
 * for nested translation (os/hyp.c owns the tables, mmu/walker.c walks
 * them after every guest table pointer):
 *   ept4        Intel EPT, 4 levels, 48-bit guest-physical addresses
 *               (SDM Vol. 3C 29.3.2 "EPT Translation Mechanism", tables
 *               29-1 to 29-6; 28.2.2 in editions before 2023)
 *   s2-ipa48    Armv8-A VMSAv8-64 stage 2, 4 KiB granule, 48-bit IPA,
 *               starting at level 0 (Arm ARM D8.3, D8.4.2 "stage 2
 *               permissions" S2AP, D8.5 memory attributes)
 *   sv39x4      RISC-V G-stage, 3 levels, 41-bit guest-physical addresses
 *   sv48x4      RISC-V G-stage, 4 levels, 50-bit guest-physical addresses
 *               (Privileged spec 20211203, 8.2.10 "hgatp", 8.5.1 "Guest
 *               Physical Address Translation"; the same titles in later
 *               releases, whose chapter numbers moved): Sv39 and Sv48
 *               with the incoming address widened by 2 bits, taken by
 *               the root table alone, which grows to 2048 entries, 16 KiB,
 *               aligned to 16 KiB (index_bits 11 at the root level: the
 *               page table allocates it as one order-2 block).
 * The entry bits are here for tests that write entries by hand (G-stage
 * entries are Sv39/Sv48 entries: mmu/pt_riscv.h); the rest goes through
 * the format seam (mmu/ptfmt.h). Sv57x4 (59-bit guest-physical
 * addresses, 5 levels) is not modelled: vms.<n>.memory stops at 64 TiB. */
#ifndef SCIM_MMU_PT_STAGE2_H
#define SCIM_MMU_PT_STAGE2_H

#include "mmu/ptfmt.h"

/* EPT entry bits (SDM Vol. 3C tables 29-1 to 29-6). */
#define SCIM_EPT_R (1ull << 0)
#define SCIM_EPT_W (1ull << 1)
#define SCIM_EPT_X (1ull << 2)
#define SCIM_EPT_MT_SHIFT 3u            /* bits 5:3 of a leaf: EPT memory type */
#define SCIM_EPT_MT_MASK (7ull << 3)
#define SCIM_EPT_MT_WB 6ull             /* write-back (SDM 29.3.7) */
#define SCIM_EPT_IPAT (1ull << 6)
#define SCIM_EPT_PS (1ull << 7)         /* a 1 GiB / 2 MiB leaf at level 3 / 2 */
#define SCIM_EPT_A (1ull << 8)          /* with EPTP bit 6 (A/D enabled) */
#define SCIM_EPT_D (1ull << 9)
#define SCIM_EPT_ADDR_MASK 0x000ffffffffff000ull

/* Armv8-A stage-2 descriptor bits (Arm ARM D8.3.1, D8.4.2, D8.5.5). */
#define SCIM_S2_VALID (1ull << 0)
#define SCIM_S2_TABLE (1ull << 1)       /* table (levels 0-2) or page (level 3) */
#define SCIM_S2_MEMATTR_NORMAL_WB (0xfull << 2) /* MemAttr[5:2] 0b1111: Normal, Inner/Outer WB */
#define SCIM_S2_S2AP_R (1ull << 6)
#define SCIM_S2_S2AP_W (1ull << 7)
#define SCIM_S2_SH_INNER (3ull << 8)
#define SCIM_S2_AF (1ull << 10)
#define SCIM_S2_DBM (1ull << 51)
#define SCIM_S2_XN (1ull << 54)
#define SCIM_S2_ADDR_MASK 0x0000fffffffff000ull

extern const scim_pt_format scim_pt_ept4, scim_pt_arm_s2_48, scim_pt_sv39x4, scim_pt_sv48x4;

/* The stage-2 format of an ISA for a host whose page tables are `paging`
 * (NULL: the ISA's 4-level default): EPT on x86-64, Arm stage 2 on armv8;
 * on riscv Sv39x4 when the host pages with Sv39 (the spec's note in 8.5.1:
 * a 41-bit guest-physical space without Sv48 hardware), else Sv48x4. NULL
 * for an unknown ISA. */
const scim_pt_format *scim_pt_stage2_of(scim_isa isa, const scim_pt_format *paging);
/* A stage-2 format by name (ept4, s2-ipa48, sv39x4, sv48x4), NULL if none. */
const scim_pt_format *scim_pt_stage2_by_name(const char *name);

#endif

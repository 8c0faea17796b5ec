/* Armv8-A VMSAv8-64 stage-1 descriptors, 4 KiB granule, 48-bit output
 * address (Arm ARM DDI 0487, D8.3 "Translation table descriptor formats"):
 * the bits, for the format (pt_armv8.c) and for tests that write Arm
 * tables by hand. Arm numbers levels from the root (level 0 for a 48-bit
 * VA, level 1 for 39 bits) down to level 3; the model's level l is Arm's
 * level 4 - l. */
#ifndef SCIM_MMU_PT_ARMV8_H
#define SCIM_MMU_PT_ARMV8_H

#include "mmu/ptfmt.h"

#define SCIM_ARM_VALID (1ull << 0)
#define SCIM_ARM_TYPE_TABLE (1ull << 1) /* bits[1:0] 0b11: table (levels 0-2) or page (level 3); 0b01: block */
#define SCIM_ARM_DESC_MASK 3ull
#define SCIM_ARM_DESC_BLOCK 1ull
#define SCIM_ARM_DESC_TABLE 3ull        /* and a level-3 page */
#define SCIM_ARM_ATTRINDX_SHIFT 2       /* AttrIndx[2:0], bits [4:2]: MAIR index */
#define SCIM_ARM_AP_USER (1ull << 6)    /* AP[1]: EL0 access */
#define SCIM_ARM_AP_RDONLY (1ull << 7)  /* AP[2]: read-only */
#define SCIM_ARM_SH_INNER (3ull << 8)   /* SH[1:0] = 0b11, inner shareable */
#define SCIM_ARM_AF (1ull << 10)        /* Access flag */
#define SCIM_ARM_NG (1ull << 11)        /* not global */
#define SCIM_ARM_NT (1ull << 16)        /* block: nT (FEAT_BBM), not an address bit */
#define SCIM_ARM_RES0_OA (3ull << 48)   /* bits [49:48]: OA[49:48] only with FEAT_LPA2; RES0 here */
#define SCIM_ARM_DBM (1ull << 51)       /* Dirty Bit Modifier (FEAT_HAFDBS) */
#define SCIM_ARM_PXN (1ull << 53)
#define SCIM_ARM_UXN (1ull << 54)
#define SCIM_ARM_SW_DIRTY (1ull << 55)  /* software bit [58:55]: dirty once write-protected (as Linux) */
#define SCIM_ARM_PXNTABLE (1ull << 59)
#define SCIM_ARM_UXNTABLE (1ull << 60)
#define SCIM_ARM_APTABLE_NOEL0 (1ull << 61) /* APTable[0]: no EL0 access below */
#define SCIM_ARM_APTABLE_RDONLY (1ull << 62) /* APTable[1]: no write access below */
#define SCIM_ARM_OA_MASK 0x0000fffffffff000ull /* OA / next-level table address [47:12] */

#endif

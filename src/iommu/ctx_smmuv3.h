/* Arm SMMUv3 stream table and context descriptors (Arm IHI 0070, SMMUv3
 * architecture: 5.2 Stream Table Entry, 5.3 Level 1 Context Descriptor,
 * 5.4 Context Descriptor), the fields the model reads and writes.
 *
 * Layout the OS builds (as Linux's arm-smmu-v3 for 20-bit SubstreamIDs):
 *   stream table: linear, 2^SCIM_SMMU_SID_BITS STEs of 64 B, indexed by
 *                 StreamID (the device's fabric node number);
 *   an STE: V, Config = stage 1 translate, S1Fmt = 2-level CD table with
 *           64 KiB leaves (1024 CDs), S1ContextPtr, S1CDMax = 20, EATS;
 *   L1 CD table: 1024 descriptors (8 KiB) shared by every stream (one
 *           PASID space, as VT-d's one PASID table), L2Ptr | V;
 *   a CD:   V, T0SZ = 64 - VA bits, TG0 = 4 KiB, AA64, HA and HD
 *           (hardware access flag and dirty state), R, A, ASID, TTB0.
 */
#ifndef SCIM_IOMMU_CTX_SMMUV3_H
#define SCIM_IOMMU_CTX_SMMUV3_H

#include "iommu/ctxfmt.h"

#define SCIM_SMMU_SID_BITS 8
#define SCIM_SMMU_STE_BYTES 64u
#define SCIM_SMMU_CD_BYTES 64u
#define SCIM_SMMU_L1CD_BYTES 8u
#define SCIM_SMMU_STRTAB_ORDER 2 /* 256 STEs * 64 B = 16 KiB */
#define SCIM_SMMU_CD_SPLIT 10    /* S1Fmt 2: 1024 CDs per leaf table */
#define SCIM_SMMU_CD_SPLIT_4K 6  /* S1Fmt 1: 64 CDs per 4 KiB leaf table */
#define SCIM_SMMU_L1CD_ORDER 1   /* 2^(20-10) L1 descriptors * 8 B = 8 KiB */
#define SCIM_SMMU_L2CD_ORDER 4   /* 1024 CDs * 64 B = 64 KiB */

/* STE word 0 */
#define SCIM_STE0_V (1ull << 0)
#define SCIM_STE0_CONFIG_SHIFT 1
#define SCIM_STE0_CONFIG_MASK (7ull << 1)
#define SCIM_STE0_CONFIG_S1 (5ull << 1)       /* 0b101: stage 1 translate, stage 2 bypass */
#define SCIM_STE0_S1FMT_SHIFT 4
#define SCIM_STE0_S1FMT_MASK (3ull << 4)      /* 0 linear, 1 2-level 4 KiB leaves, 2 2-level 64 KiB leaves */
#define SCIM_STE0_S1CTXPTR_MASK 0x000fffffffffffc0ull /* [51:6] */
#define SCIM_STE0_S1CDMAX_SHIFT 59            /* [63:59]: log2 of the CDs */
/* STE word 1 */
#define SCIM_STE1_EATS_TRANS (1ull << 28)     /* EATS = 0b01: full ATS */
/* L1 CD descriptor */
#define SCIM_L1CD_V (1ull << 0)
#define SCIM_L1CD_L2PTR_MASK 0x000ffffffffff000ull /* [51:12] */
/* CD word 0 */
#define SCIM_CD0_T0SZ_MASK 0x3full            /* [5:0] */
#define SCIM_CD0_TG0_MASK (3ull << 6)         /* 0b00: 4 KiB */
#define SCIM_CD0_IRGN0_WBWA (1ull << 8)
#define SCIM_CD0_ORGN0_WBWA (1ull << 10)
#define SCIM_CD0_SH0_INNER (3ull << 12)
#define SCIM_CD0_EPD1 (1ull << 30)            /* no TTB1 walks */
#define SCIM_CD0_V (1ull << 31)
#define SCIM_CD0_IPS_48 (5ull << 32)          /* 48-bit intermediate physical addresses */
#define SCIM_CD0_AA64 (1ull << 41)
#define SCIM_CD0_HD (1ull << 42)
#define SCIM_CD0_HA (1ull << 43)
#define SCIM_CD0_R (1ull << 45)
#define SCIM_CD0_A (1ull << 46)
#define SCIM_CD0_ASID_SHIFT 48
#define SCIM_CD0_ASID_MASK 0xffffu             /* [63:48]: 16-bit ASID (the PASID's low bits here) */
/* CD word 1 */
#define SCIM_CD1_TTB0_MASK 0x000ffffffffffff0ull /* [51:4] */
/* CD word 3: MAIR0, attribute 0 = Normal write-back (the leaves' AttrIndx 0) */
#define SCIM_CD3_MAIR_NORMAL_WB 0xffull

#endif

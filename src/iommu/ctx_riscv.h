/* RISC-V IOMMU device directory and process directory (RISC-V IOMMU
 * Architecture Specification 1.0, ch. 2 "Data Structures": 2.1 device-
 * directory table, 2.2 process-directory table, 2.3 the process to locate
 * them), the fields the model reads and writes.
 *
 * Layout the OS builds:
 *   ddtp mode 1LVL: one 4 KiB table of base-format device contexts (32 B:
 *       tc, iohgatp, ta, fsc), indexed by device_id[6:0] (the device's
 *       fabric node number);
 *   a DC: tc = V | EN_ATS | EN_PRI | PDTV | SADE (hardware A/D updates of
 *       first-stage entries), iohgatp = Bare, fsc = pdtp (mode PD20, the
 *       root process directory), shared by every device (one PASID space,
 *       as VT-d's one PASID table);
 *   PD20: three levels indexed by process_id[19:17], [16:8] and [7:0]; the
 *       two upper levels hold 8-byte non-leaf entries (V, PPN), the leaf
 *       level 16-byte process contexts: ta = V | PSCID, fsc = iosatp
 *       (mode Sv39/48/57, PPN of the root page table).
 */
#ifndef SCIM_IOMMU_CTX_RISCV_H
#define SCIM_IOMMU_CTX_RISCV_H

#include "iommu/ctxfmt.h"

#define SCIM_RVI_DC_BYTES 32u      /* base format (no MSI translation) */
#define SCIM_RVI_DID_BITS 7        /* 1LVL, base format: 128 DCs in 4 KiB */
#define SCIM_RVI_PDTE_BYTES 8u
#define SCIM_RVI_PC_BYTES 16u
#define SCIM_RVI_PC_BITS 8         /* PDI[0]: 256 process contexts in 4 KiB */
#define SCIM_RVI_PDI_BITS 9        /* PDI[1] */
/* DC.tc */
#define SCIM_RVI_TC_V (1ull << 0)
#define SCIM_RVI_TC_EN_ATS (1ull << 1)
#define SCIM_RVI_TC_EN_PRI (1ull << 2)
#define SCIM_RVI_TC_PDTV (1ull << 5)
#define SCIM_RVI_TC_SADE (1ull << 8)
/* atp fields (DC.fsc, PC.fsc): MODE [63:60], PPN [43:0] */
#define SCIM_RVI_ATP_MODE_SHIFT 60
#define SCIM_RVI_ATP_PPN_MASK 0x00000fffffffffffull
#define SCIM_RVI_PDTP_PD8 1ull
#define SCIM_RVI_PDTP_PD17 2ull
#define SCIM_RVI_PDTP_PD20 3ull
#define SCIM_RVI_IOSATP_SV39 8ull
#define SCIM_RVI_IOSATP_SV48 9ull
#define SCIM_RVI_IOSATP_SV57 10ull
/* non-leaf DDT / PDT entries: V, PPN [53:10] */
#define SCIM_RVI_PDTE_V (1ull << 0)
#define SCIM_RVI_PPN_SHIFT 10
#define SCIM_RVI_PPN_MASK 0x003ffffffffffc00ull
/* PC.ta */
#define SCIM_RVI_TA_V (1ull << 0)
#define SCIM_RVI_TA_PSCID_SHIFT 12

#endif

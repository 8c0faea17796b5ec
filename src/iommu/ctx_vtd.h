/* Intel VT-d scalable-mode PASID tables: how the IOMMU finds a process's
 * page tables (VT-d spec rev 3+, ch. 9 "Translation Structure Formats":
 * PASID directory and PASID table), simplified to 8-byte entries:
 *   PASID directory: 2048 entries (4 contiguous frames), indexed by
 *                    pasid >> 9; entry = table pa | P.
 *   PASID table:     one frame of 512 entries, indexed by pasid & 511;
 *                    entry = page-table root pa | P | (5-level ? L5 : 0).
 * One directory serves every device (the root and context entries that
 * select it per requester ID are not modelled): a lookup is two reads.
 * The IOMMU side and the OS side are in ctx_vtd.c (iommu/ctxfmt.h).
 */
#ifndef SCIM_IOMMU_CTX_VTD_H
#define SCIM_IOMMU_CTX_VTD_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/ctxfmt.h"

#define SCIM_PASID_DIR_ENTRIES (1u << (SCIM_PASID_BITS - 9))
#define SCIM_PASID_DIR_ORDER 2 /* 2048 * 8 B = 16 KiB = 4 frames */
#define SCIM_PASID_ENTRY_P (1ull << 0)
#define SCIM_PASID_ENTRY_L5 (1ull << 2)
#define SCIM_PASID_ADDR_MASK 0x000ffffffffff000ull

static inline uint64_t scim_pasid_dir_entry_addr(uint64_t dir_pa, uint32_t pasid)
{
    return dir_pa + (uint64_t)(pasid >> 9) * 8;
}
static inline uint64_t scim_pasid_entry_addr(uint64_t table_pa, uint32_t pasid)
{
    return table_pa + (uint64_t)(pasid & 511) * 8;
}
static inline bool scim_pasid_entry_present(uint64_t e) { return (e & SCIM_PASID_ENTRY_P) != 0; }
static inline uint64_t scim_pasid_entry_pa(uint64_t e) { return e & SCIM_PASID_ADDR_MASK; }
static inline int scim_pasid_entry_levels(uint64_t e) { return (e & SCIM_PASID_ENTRY_L5) ? 5 : 4; }
static inline uint64_t scim_pasid_make_entry(uint64_t pa, int levels)
{
    return (pa & SCIM_PASID_ADDR_MASK) | SCIM_PASID_ENTRY_P | (levels == 5 ? SCIM_PASID_ENTRY_L5 : 0);
}

#endif

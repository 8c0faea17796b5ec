/* x86-64 4- and 5-level paging (Intel SDM Vol. 3A 4.5 "4-Level Paging and
 * 5-Level Paging", tables 4-15 to 4-20): the entry bits, for the format
 * (pt_x86.c) and for tests that write x86 tables by hand. Everything else
 * goes through the format seam (mmu/ptfmt.h). */
#ifndef SCIM_MMU_PT_X86_H
#define SCIM_MMU_PT_X86_H

#include "mmu/ptfmt.h"

#define SCIM_PTE_P (1ull << 0)
#define SCIM_PTE_RW (1ull << 1)
#define SCIM_PTE_US (1ull << 2)
#define SCIM_PTE_PWT (1ull << 3)
#define SCIM_PTE_PCD (1ull << 4)
#define SCIM_PTE_A (1ull << 5)
#define SCIM_PTE_D (1ull << 6)
#define SCIM_PTE_PS (1ull << 7)
#define SCIM_PTE_G (1ull << 8)
#define SCIM_PTE_PAT_LARGE (1ull << 12) /* PAT of a 2 MiB / 1 GiB leaf */
#define SCIM_PTE_XD (1ull << 63)
#define SCIM_PTE_ADDR_MASK 0x000ffffffffff000ull

/* Entry index and address at a level of an x86 table (any flag bits in
 * table_pa are ignored, as in CR3 and in an entry). */
static inline uint64_t scim_pte_index(uint64_t va, int level)
{
    return scim_pt_index(&scim_pt_x86_4l, va, level);
}
static inline uint64_t scim_pte_addr(uint64_t table_pa, uint64_t va, int level)
{
    return (table_pa & SCIM_PTE_ADDR_MASK) + scim_pte_index(va, level) * SCIM_PTE_BYTES;
}

#endif

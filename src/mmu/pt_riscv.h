/* RISC-V Sv39 / Sv48 / Sv57 page-table entries (RISC-V Privileged
 * Architecture, 10.3 "Sv32" for the common rules and 10.4-10.6 for the
 * 64-bit modes): the bits, for the format (pt_riscv.c) and for tests that
 * write RISC-V tables by hand. The model's level l is the spec's level
 * i = l - 1. */
#ifndef SCIM_MMU_PT_RISCV_H
#define SCIM_MMU_PT_RISCV_H

#include "mmu/ptfmt.h"

#define SCIM_RV_V (1ull << 0)
#define SCIM_RV_R (1ull << 1)
#define SCIM_RV_W (1ull << 2)
#define SCIM_RV_X (1ull << 3)
#define SCIM_RV_U (1ull << 4)
#define SCIM_RV_G (1ull << 5)
#define SCIM_RV_A (1ull << 6)
#define SCIM_RV_D (1ull << 7)
#define SCIM_RV_PPN_SHIFT 10                  /* PPN in bits [53:10] */
#define SCIM_RV_PPN_MASK 0x003ffffffffffc00ull
#define SCIM_RV_RESERVED 0xffc0000000000000ull /* bits [63:54]: reserved (N, PBMT without Svnapot/Svpbmt) */

static inline uint64_t scim_rv_ppn_bits(uint64_t pa) { return (pa >> SCIM_PAGE_SHIFT) << SCIM_RV_PPN_SHIFT; }
static inline uint64_t scim_rv_pa(uint64_t pte)
{
    return ((pte & SCIM_RV_PPN_MASK) >> SCIM_RV_PPN_SHIFT) << SCIM_PAGE_SHIFT;
}

#endif

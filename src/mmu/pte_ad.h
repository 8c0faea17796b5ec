/* A hardware walker's read of one page-table entry as the memory serves
 * it: the one implementation of the accessed/dirty update (set_ad), shared
 * by the memory controller (timed walks, mmu/memctl.c) and the functional
 * walk (scim_walker_walk_now, sim.warmup), so the two leave the same bits. */
#ifndef SCIM_MMU_PTE_AD_H
#define SCIM_MMU_PTE_AD_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/physmem.h"
#include "mmu/ptfmt.h"

/* The entry at pa as stored now, with the format's update for a walk
 * (accessed, and dirty for a write) written back in the same step, as a
 * walker's locked read-modify-write: the walker sees the updated value.
 * *updated: memory changed. */
static inline uint64_t scim_pte_walk_read(scim_physmem *pm, uint64_t pa, const scim_pt_format *f, int level,
                                          bool write, bool *updated)
{
    uint64_t value = scim_physmem_read64(pm, pa);
    uint64_t marked = f->hw_update(value, level, write);
    *updated = marked != value;
    if (*updated)
        scim_physmem_write64(pm, pa, marked);
    return marked;
}

#endif

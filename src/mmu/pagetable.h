/* Real x86-64 radix page tables held in simulated physical memory.
 *
 * 4-level (PML4 -> PDPT -> PD -> PT, 48-bit VA) or 5-level (PML5 on top,
 * 57-bit VA), 4 KiB / 2 MiB / 1 GiB pages, with the architectural entry
 * format (Intel SDM Vol. 3A, 4.5 "4-Level Paging and 5-Level Paging",
 * tables 4-15 to 4-20): P, RW, US, PWT, PCD, A, D, PS, G, XD and the
 * physical address in bits 12..51. A walk reads the very entries the OS
 * wrote, so a translation yields the frame the OS mapped.
 *
 * Table frames come from the OS through an allocator ops table with a
 * cookie (after Linux io-pgtable), so the OS accounts for them and can defer
 * freeing a table until the shootdown that emptied it completes.
 *
 * Timed walkers (IOMMU, CPU, device) use the step API: pure functions on
 * entry values, one memory read per level through the fabric. The functional
 * lookup is written with the same step functions, so the two cannot
 * disagree.
 */
#ifndef SCIMITAR_PAGETABLE_H
#define SCIMITAR_PAGETABLE_H

#include <stdbool.h>

#include "core/common.h"
#include "mmu/physmem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCIM_PTE_P (1ull << 0)
#define SCIM_PTE_RW (1ull << 1)
#define SCIM_PTE_US (1ull << 2)
#define SCIM_PTE_PWT (1ull << 3)
#define SCIM_PTE_PCD (1ull << 4)
#define SCIM_PTE_A (1ull << 5)
#define SCIM_PTE_D (1ull << 6)
#define SCIM_PTE_PS (1ull << 7)
#define SCIM_PTE_G (1ull << 8)
#define SCIM_PTE_XD (1ull << 63)
#define SCIM_PTE_ADDR_MASK 0x000ffffffffff000ull

typedef struct scim_pt_alloc_ops {
    int (*alloc_table)(void *cookie, uint64_t *pfn, scim_err *err);
    void (*free_table)(void *cookie, uint64_t pfn);
    /* Optional: told of every entry the page table writes (synchronized
     * copies, e.g. a device's shadow tables, follow the updates). */
    void (*entry_written)(void *cookie, uint64_t entry_pa, uint64_t value);
} scim_pt_alloc_ops;

typedef struct scim_pgtable scim_pgtable;

/* ops NULL: tables come straight from pm (order 0). */
scim_pgtable *scim_pgtable_create(scim_physmem *pm, int levels, const scim_pt_alloc_ops *ops, void *cookie,
                                  scim_err *err);
/* Frees every table frame (not the mapped data frames). */
void scim_pgtable_destroy(scim_pgtable *pt);
uint64_t scim_pgtable_root(const scim_pgtable *pt);
int scim_pgtable_levels(const scim_pgtable *pt);
uint64_t scim_pgtable_table_frames(const scim_pgtable *pt);

/* Map [va, va + 2^page_shift) to pa with `flags` (SCIM_PTE_RW/US/XD/G/A/D;
 * P and PS are implied). Errors: misaligned, non-canonical, overlap with an
 * existing mapping (SCIM_EEXIST), table allocation failure. */
int scim_pgtable_map(scim_pgtable *pt, uint64_t va, uint64_t pa, unsigned page_shift, uint64_t flags,
                     scim_err *err);
/* Remove the mapping containing va (SCIM_ENOENT if none). Tables left empty
 * are freed through the ops (the root never is). */
int scim_pgtable_unmap(scim_pgtable *pt, uint64_t va, uint64_t *old_pte, unsigned *page_shift);
/* Keep tables an unmap empties (an I/O address space under deferred
 * invalidation: a paging-structure cache may still point at them, and the
 * same IOVAs are mapped again soon). Freed at destroy. */
void scim_pgtable_keep_empty_tables(scim_pgtable *pt, bool keep);
/* 1 and the translated address of va (not just the frame) if mapped, else 0. */
int scim_pgtable_lookup(const scim_pgtable *pt, uint64_t va, uint64_t *pa, unsigned *page_shift,
                        uint64_t *pte);
/* Set/clear flag bits of the leaf containing va (not P, PS or address). */
int scim_pgtable_update(scim_pgtable *pt, uint64_t va, uint64_t set_bits, uint64_t clear_bits,
                        uint64_t *old_pte);
/* Point the leaf containing va at new_pa (migration); flags unchanged. */
int scim_pgtable_remap(scim_pgtable *pt, uint64_t va, uint64_t new_pa, uint64_t *old_pte);
/* Visit leaves overlapping [va, va+len) in address order; fn returning
 * non-zero stops the walk (that value is returned). */
int scim_pgtable_foreach(const scim_pgtable *pt, uint64_t va, uint64_t len,
                         int (*fn)(void *ctx, uint64_t va, uint64_t pte, unsigned page_shift), void *ctx);
/* Visit every present entry of every table (entry address, value), tables
 * before what they point to: a synchronized copy's initial contents. */
void scim_pgtable_foreach_entry(const scim_pgtable *pt, void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value),
                                void *ctx);
bool scim_va_canonical(uint64_t va, int levels);

/* ---- step API: pure functions on entry values ---- */
typedef enum scim_pte_kind {
    SCIM_PTE_NOT_PRESENT,
    SCIM_PTE_TABLE,
    SCIM_PTE_LEAF,
    SCIM_PTE_RESERVED /* PS set at level 4/5, or a large page's address not aligned */
} scim_pte_kind;

/* Levels count from 1 (PT) to `levels` (PML4 or PML5). */
static inline uint64_t scim_pte_index(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }
static inline uint64_t scim_pte_addr(uint64_t table_pa, uint64_t va, int level)
{
    return (table_pa & SCIM_PTE_ADDR_MASK) + scim_pte_index(va, level) * 8;
}
scim_pte_kind scim_pte_decode(uint64_t pte, int level, uint64_t *next_pa, unsigned *page_shift);
/* The entry after a walker sets A (and D on a writable leaf when write). */
uint64_t scim_pte_mark_accessed(uint64_t pte, int level, bool write);

#ifdef __cplusplus
}
#endif
#endif

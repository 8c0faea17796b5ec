/* Radix page tables held in simulated physical memory, in the entry format
 * of the address space's architecture (mmu/ptfmt.h: x86-64 4/5-level,
 * Armv8-A 39/48-bit VA, RISC-V Sv39/48/57). A walk reads the very entries
 * the OS wrote, so a translation yields the frame the OS mapped.
 *
 * The OS speaks format-neutral attributes (SCIM_PTA_*); the format turns
 * them into bits. Table frames come from the OS through an allocator ops
 * table with a cookie (after Linux io-pgtable), so the OS accounts for them
 * and can defer freeing a table until the shootdown that emptied it
 * completes.
 *
 * Timed walkers (IOMMU, CPU, device) decode the same entries with the same
 * format functions, one memory read per level through the fabric; the
 * functional lookup here uses the same decode, so the two cannot disagree.
 */
#ifndef SCIMITAR_PAGETABLE_H
#define SCIMITAR_PAGETABLE_H

#include <stdbool.h>

#include "core/common.h"
#include "mmu/physmem.h"
#include "mmu/ptfmt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_pt_alloc_ops {
    int (*alloc_table)(void *cookie, uint64_t *pfn, scim_err *err);
    void (*free_table)(void *cookie, uint64_t pfn);
    /* Optional: told of every entry the page table writes (synchronized
     * copies, e.g. a device's shadow tables, follow the updates). */
    void (*entry_written)(void *cookie, uint64_t entry_pa, uint64_t value);
    /* Optional: where the memory of a table is, for the address the table
     * pointers hold (identity when NULL). A guest's tables hold guest-
     * physical addresses; a stage-2 translation gives the host frame. */
    uint64_t (*table_addr)(void *cookie, uint64_t addr);
    /* Optional: the output address of leaves, both ways (identity when
     * NULL). A guest's page table is told and tells host-physical
     * addresses, and holds the guest-physical ones: leaf_out(host) is what
     * a leaf stores, leaf_in(stored) the host address it stands for. */
    uint64_t (*leaf_out)(void *cookie, uint64_t pa);
    uint64_t (*leaf_in)(void *cookie, uint64_t stored);
    /* Optional: a table wider than a frame, 2^order contiguous frames
     * aligned to their size (RISC-V's G-stage root: 16 KiB, order 2;
     * Privileged spec 8.5.1), freed whole. Needed only by a format with
     * such a table (scim_pt_table_order > 0): creating its page table
     * without them fails. One-frame tables always come from alloc_table. */
    int (*alloc_block)(void *cookie, unsigned order, uint64_t *pfn, scim_err *err);
    void (*free_block)(void *cookie, uint64_t pfn, unsigned order);
} scim_pt_alloc_ops;

typedef struct scim_pgtable scim_pgtable;

/* ops NULL: tables come straight from pm (order 0, or the order of a
 * wider table). */
scim_pgtable *scim_pgtable_create(scim_physmem *pm, const scim_pt_format *fmt, const scim_pt_alloc_ops *ops,
                                  void *cookie, scim_err *err);
/* Frees every table frame (not the mapped data frames). */
void scim_pgtable_destroy(scim_pgtable *pt);
uint64_t scim_pgtable_root(const scim_pgtable *pt);
const scim_pt_format *scim_pgtable_format(const scim_pgtable *pt);
/* Frames of every table, a wide root counting all of its frames. */
uint64_t scim_pgtable_table_frames(const scim_pgtable *pt);

/* Map [va, va + 2^page_shift) to pa with attributes SCIM_PTA_*. Errors:
 * a size the format has no leaf for, misaligned, an address the format
 * does not translate, overlap with an existing mapping (SCIM_EEXIST),
 * table allocation failure. */
int scim_pgtable_map(scim_pgtable *pt, uint64_t va, uint64_t pa, unsigned page_shift, unsigned attrs,
                     scim_err *err);
/* Remove the mapping containing va (SCIM_ENOENT if none). Tables left empty
 * are freed through the ops (the root never is). */
int scim_pgtable_unmap(scim_pgtable *pt, uint64_t va, unsigned *old_attrs, unsigned *page_shift);
/* Keep tables an unmap empties (an I/O address space under deferred
 * invalidation: a paging-structure cache may still point at them, and the
 * same IOVAs are mapped again soon). Freed at destroy. */
void scim_pgtable_keep_empty_tables(scim_pgtable *pt, bool keep);
/* 1 and the translated address of va (not just the frame) if mapped, else 0. */
int scim_pgtable_lookup(const scim_pgtable *pt, uint64_t va, uint64_t *pa, unsigned *page_shift, unsigned *attrs);
/* Set, then clear, attributes of the leaf containing va. */
int scim_pgtable_update(scim_pgtable *pt, uint64_t va, unsigned set, unsigned clear, unsigned *old_attrs);
/* Point the leaf containing va at new_pa (migration); attributes unchanged. */
int scim_pgtable_remap(scim_pgtable *pt, uint64_t va, uint64_t new_pa, unsigned *old_attrs);
/* Visit leaves overlapping [va, va+len) in address order (pa: the page's
 * first byte); fn returning non-zero stops the walk (that value is
 * returned). */
int scim_pgtable_foreach(const scim_pgtable *pt, uint64_t va, uint64_t len,
                         int (*fn)(void *ctx, uint64_t va, uint64_t pa, unsigned page_shift, unsigned attrs),
                         void *ctx);
/* Visit every present entry of every table (entry address, value), tables
 * before what they point to: a synchronized copy's initial contents. */
void scim_pgtable_foreach_entry(const scim_pgtable *pt, void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value),
                                void *ctx);
/* The raw entry of the leaf containing va (0 if none), for tests. */
uint64_t scim_pgtable_leaf_entry(const scim_pgtable *pt, uint64_t va);

#ifdef __cplusplus
}
#endif
#endif

/* x86-64 page tables in simulated memory. Format and contract in
 * include/scimitar/pagetable.h. Not modelled: PAT, protection keys, EPT
 * nesting, the NX enable bit (XD is stored but never enforced). */
#include "mmu/pagetable.h"

#include "core/page.h"

#include <stdlib.h>

struct scim_pgtable {
    scim_physmem *pm;
    int levels;
    scim_pt_alloc_ops ops;
    bool own_ops;
    void *cookie;
    uint64_t root;
    uint64_t tables;
    bool keep_tables;
};

/* Every entry write goes through here, so a synchronized copy sees it. */
static void write_entry(scim_pgtable *pt, uint64_t pa, uint64_t value)
{
    scim_physmem_write64(pt->pm, pa, value);
    if (pt->ops.entry_written)
        pt->ops.entry_written(pt->cookie, pa, value);
}

static int direct_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    return scim_physmem_alloc(cookie, 0, pfn, err);
}

static void direct_free(void *cookie, uint64_t pfn) { scim_physmem_free(cookie, pfn, 0); }

scim_pte_kind scim_pte_decode(uint64_t pte, int level, uint64_t *next_pa, unsigned *page_shift)
{
    if (!(pte & SCIM_PTE_P))
        return SCIM_PTE_NOT_PRESENT;
    uint64_t addr = pte & SCIM_PTE_ADDR_MASK;
    if (level == 1) {
        if (next_pa)
            *next_pa = addr;
        if (page_shift)
            *page_shift = 12;
        return SCIM_PTE_LEAF;
    }
    if (pte & SCIM_PTE_PS) {
        if (level > 3)
            return SCIM_PTE_RESERVED;
        unsigned shift = level == 2 ? 21 : 30;
        /* bit 12 of a large-page entry is PAT; the rest below the page size
         * must be zero */
        if (addr & ((1ull << shift) - 1) & ~(1ull << 12))
            return SCIM_PTE_RESERVED;
        if (next_pa)
            *next_pa = addr & ~((1ull << shift) - 1);
        if (page_shift)
            *page_shift = shift;
        return SCIM_PTE_LEAF;
    }
    if (next_pa)
        *next_pa = addr;
    if (page_shift)
        *page_shift = 0;
    return SCIM_PTE_TABLE;
}

uint64_t scim_pte_mark_accessed(uint64_t pte, int level, bool write)
{
    if (!(pte & SCIM_PTE_P))
        return pte;
    pte |= SCIM_PTE_A;
    if (write && (pte & SCIM_PTE_RW) && scim_pte_decode(pte, level, NULL, NULL) == SCIM_PTE_LEAF)
        pte |= SCIM_PTE_D;
    return pte;
}

bool scim_va_canonical(uint64_t va, int levels)
{
    int bits = levels == 5 ? 57 : 48;
    int64_t s = (int64_t)(va << (64 - bits)) >> (64 - bits);
    return (uint64_t)s == va;
}

scim_pgtable *scim_pgtable_create(scim_physmem *pm, int levels, const scim_pt_alloc_ops *ops, void *cookie,
                                  scim_err *err)
{
    if (levels != 4 && levels != 5) {
        scim_err_set(err, SCIM_EINVAL, "paging levels must be 4 or 5, not %d", levels);
        return NULL;
    }
    scim_pgtable *pt = calloc(1, sizeof *pt);
    if (!pt) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating a page table");
        return NULL;
    }
    pt->pm = pm;
    pt->levels = levels;
    if (ops) {
        pt->ops = *ops;
        pt->cookie = cookie;
    } else {
        pt->ops = (scim_pt_alloc_ops){direct_alloc, direct_free, NULL};
        pt->cookie = pm;
    }
    uint64_t pfn;
    if (pt->ops.alloc_table(pt->cookie, &pfn, err) != 0) {
        free(pt);
        return NULL;
    }
    pt->root = pfn << 12;
    pt->tables = 1;
    return pt;
}

static void destroy_table(scim_pgtable *pt, uint64_t table, int level)
{
    if (level > 1) {
        for (uint64_t i = 0; i < 512; i++) {
            uint64_t pte = scim_physmem_read64(pt->pm, table + i * 8);
            uint64_t next;
            if (scim_pte_decode(pte, level, &next, NULL) == SCIM_PTE_TABLE)
                destroy_table(pt, next, level - 1);
        }
    }
    pt->ops.free_table(pt->cookie, table >> 12);
}

void scim_pgtable_destroy(scim_pgtable *pt)
{
    if (!pt)
        return;
    destroy_table(pt, pt->root, pt->levels);
    free(pt);
}

uint64_t scim_pgtable_root(const scim_pgtable *pt) { return pt->root; }
int scim_pgtable_levels(const scim_pgtable *pt) { return pt->levels; }
uint64_t scim_pgtable_table_frames(const scim_pgtable *pt) { return pt->tables; }

static int leaf_level(unsigned shift) { return shift == 12 ? 1 : shift == 21 ? 2 : shift == 30 ? 3 : 0; }

static bool table_empty(const scim_pgtable *pt, uint64_t table)
{
    for (uint64_t i = 0; i < 512; i++)
        if (scim_physmem_read64(pt->pm, table + i * 8) & SCIM_PTE_P)
            return false;
    return true;
}

int scim_pgtable_map(scim_pgtable *pt, uint64_t va, uint64_t pa, unsigned page_shift, uint64_t flags,
                     scim_err *err)
{
    int leaf = leaf_level(page_shift);
    if (!leaf)
        return scim_err_set(err, SCIM_EINVAL, "page shift %u is not 12, 21 or 30", page_shift);
    uint64_t mask = (1ull << page_shift) - 1;
    if ((va & mask) || (pa & mask))
        return scim_err_set(err, SCIM_EINVAL, "va 0x%llx / pa 0x%llx not aligned to the %llu KiB page",
                            (unsigned long long)va, (unsigned long long)pa, (unsigned long long)((mask + 1) >> 10));
    if (!scim_va_canonical(va, pt->levels) || !scim_va_canonical(va + mask, pt->levels))
        return scim_err_set(err, SCIM_EINVAL, "va 0x%llx is not canonical for %d-level paging",
                            (unsigned long long)va, pt->levels);
    if (pa & ~SCIM_PTE_ADDR_MASK & ~mask)
        return scim_err_set(err, SCIM_EINVAL, "pa 0x%llx is beyond 52 bits", (unsigned long long)pa);
    uint64_t table = pt->root;
    for (int level = pt->levels; level > leaf; level--) {
        uint64_t ea = scim_pte_addr(table, va, level);
        uint64_t pte = scim_physmem_read64(pt->pm, ea), next;
        scim_pte_kind kind = scim_pte_decode(pte, level, &next, NULL);
        if (kind == SCIM_PTE_LEAF || kind == SCIM_PTE_RESERVED)
            return scim_err_set(err, SCIM_EEXIST, "va 0x%llx is already mapped by a larger page",
                                (unsigned long long)va);
        if (kind == SCIM_PTE_NOT_PRESENT) {
            uint64_t pfn;
            int rc = pt->ops.alloc_table(pt->cookie, &pfn, err);
            if (rc)
                return rc;
            pt->tables++;
            next = pfn << 12;
            write_entry(pt, ea, next | SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US);
        }
        table = next;
    }
    uint64_t ea = scim_pte_addr(table, va, leaf);
    if (scim_physmem_read64(pt->pm, ea) & SCIM_PTE_P)
        return scim_err_set(err, SCIM_EEXIST, "va 0x%llx is already mapped", (unsigned long long)va);
    uint64_t keep = flags & (SCIM_PTE_RW | SCIM_PTE_US | SCIM_PTE_PWT | SCIM_PTE_PCD | SCIM_PTE_A | SCIM_PTE_D |
                             SCIM_PTE_G | SCIM_PTE_XD);
    write_entry(pt, ea, pa | keep | SCIM_PTE_P | (leaf > 1 ? SCIM_PTE_PS : 0));
    return 0;
}

/* Walk to the leaf of va: fills the entry addresses of the path (path[level]
 * for levels..leaf) and returns the leaf level, or 0 if not mapped. */
static int find_leaf(const scim_pgtable *pt, uint64_t va, uint64_t path[6], uint64_t *pte_out)
{
    if (!scim_va_canonical(va, pt->levels))
        return 0;
    uint64_t table = pt->root;
    for (int level = pt->levels; level >= 1; level--) {
        uint64_t ea = scim_pte_addr(table, va, level);
        path[level] = ea;
        uint64_t pte = scim_physmem_read64(pt->pm, ea), next;
        scim_pte_kind kind = scim_pte_decode(pte, level, &next, NULL);
        if (kind == SCIM_PTE_LEAF) {
            *pte_out = pte;
            return level;
        }
        if (kind != SCIM_PTE_TABLE)
            return 0;
        table = next;
    }
    return 0;
}

int scim_pgtable_lookup(const scim_pgtable *pt, uint64_t va, uint64_t *pa, unsigned *page_shift, uint64_t *pte_out)
{
    uint64_t path[6], pte;
    int level = find_leaf(pt, va, path, &pte);
    if (!level)
        return 0;
    uint64_t base = 0;
    unsigned shift = SCIM_PAGE_SHIFT;
    scim_pte_decode(pte, level, &base, &shift);
    if (pa)
        *pa = base + (va & ((1ull << shift) - 1));
    if (page_shift)
        *page_shift = shift;
    if (pte_out)
        *pte_out = pte;
    return 1;
}

int scim_pgtable_unmap(scim_pgtable *pt, uint64_t va, uint64_t *old_pte, unsigned *page_shift)
{
    uint64_t path[6], pte;
    int level = find_leaf(pt, va, path, &pte);
    if (!level)
        return SCIM_ENOENT;
    write_entry(pt, path[level], 0);
    if (old_pte)
        *old_pte = pte;
    if (page_shift)
        *page_shift = level == 1 ? 12 : level == 2 ? 21 : 30;
    /* Free tables the unmap emptied, bottom up; never the root. */
    for (int l = level; l < pt->levels && !pt->keep_tables; l++) {
        uint64_t table = path[l] & ~0xfffull;
        if (!table_empty(pt, table))
            break;
        write_entry(pt, path[l + 1], 0);
        pt->tables--;
        pt->ops.free_table(pt->cookie, table >> 12);
    }
    return 0;
}

int scim_pgtable_update(scim_pgtable *pt, uint64_t va, uint64_t set_bits, uint64_t clear_bits, uint64_t *old_pte)
{
    uint64_t path[6], pte;
    int level = find_leaf(pt, va, path, &pte);
    if (!level)
        return SCIM_ENOENT;
    uint64_t fixed = SCIM_PTE_P | SCIM_PTE_PS | SCIM_PTE_ADDR_MASK;
    uint64_t npte = (pte | (set_bits & ~fixed)) & ~(clear_bits & ~fixed);
    write_entry(pt, path[level], npte);
    if (old_pte)
        *old_pte = pte;
    return 0;
}

int scim_pgtable_remap(scim_pgtable *pt, uint64_t va, uint64_t new_pa, uint64_t *old_pte)
{
    uint64_t path[6], pte;
    int level = find_leaf(pt, va, path, &pte);
    if (!level)
        return SCIM_ENOENT;
    unsigned shift = level == 1 ? 12 : level == 2 ? 21 : 30;
    if (new_pa & ((1ull << shift) - 1))
        return SCIM_EINVAL;
    uint64_t addr_bits = SCIM_PTE_ADDR_MASK & ~((1ull << shift) - 1);
    write_entry(pt, path[level], (pte & ~addr_bits) | (new_pa & addr_bits));
    if (old_pte)
        *old_pte = pte;
    return 0;
}

typedef struct walk_ctx {
    const scim_pgtable *pt;
    uint64_t lo, hi; /* inclusive range */
    int (*fn)(void *ctx, uint64_t va, uint64_t pte, unsigned page_shift);
    void *ctx;
} walk_ctx;

static uint64_t sign_extend(uint64_t va, int levels)
{
    int bits = levels == 5 ? 57 : 48;
    return (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits));
}

static int walk_table(const walk_ctx *w, uint64_t table, int level, uint64_t base)
{
    unsigned span_shift = 12 + 9 * (unsigned)(level - 1);
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t start = sign_extend(base + (i << span_shift), w->pt->levels);
        uint64_t end = start + ((1ull << span_shift) - 1);
        if (end < w->lo || start > w->hi)
            continue;
        uint64_t pte = scim_physmem_read64(w->pt->pm, table + i * 8), next;
        unsigned shift;
        scim_pte_kind kind = scim_pte_decode(pte, level, &next, &shift);
        if (kind == SCIM_PTE_LEAF) {
            int rc = w->fn(w->ctx, start, pte, shift);
            if (rc)
                return rc;
        } else if (kind == SCIM_PTE_TABLE) {
            int rc = walk_table(w, next, level - 1, base + (i << span_shift));
            if (rc)
                return rc;
        }
    }
    return 0;
}

int scim_pgtable_foreach(const scim_pgtable *pt, uint64_t va, uint64_t len,
                         int (*fn)(void *ctx, uint64_t va, uint64_t pte, unsigned page_shift), void *ctx)
{
    if (len == 0)
        return 0;
    walk_ctx w = {pt, va, va + len - 1 < va ? UINT64_MAX : va + len - 1, fn, ctx};
    return walk_table(&w, pt->root, pt->levels, 0);
}

static void entries_of(const scim_pgtable *pt, uint64_t table, int level,
                       void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value), void *ctx)
{
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t pte = scim_physmem_read64(pt->pm, table + i * 8), next;
        if (!(pte & SCIM_PTE_P))
            continue;
        fn(ctx, table + i * 8, pte);
        if (level > 1 && scim_pte_decode(pte, level, &next, NULL) == SCIM_PTE_TABLE)
            entries_of(pt, next, level - 1, fn, ctx);
    }
}

void scim_pgtable_foreach_entry(const scim_pgtable *pt, void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value),
                                void *ctx)
{
    entries_of(pt, pt->root, pt->levels, fn, ctx);
}

void scim_pgtable_keep_empty_tables(scim_pgtable *pt, bool keep) { pt->keep_tables = keep; }

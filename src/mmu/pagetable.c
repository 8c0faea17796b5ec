/* Radix page tables in simulated memory, in any format of mmu/ptfmt.h.
 * Contract in mmu/pagetable.h. */
#include "mmu/pagetable.h"

#include <stdlib.h>

#define PATH_MAX_LEVELS (SCIM_PT_MAX_LEVELS + 1)

struct scim_pgtable {
    scim_physmem *pm;
    const scim_pt_format *fmt;
    scim_pt_alloc_ops ops;
    void *cookie;
    uint64_t root;
    uint64_t tables;
    bool keep_tables;
};

/* The memory of a table the entries point to (a stage-2 hook may move it). */
static uint64_t mem_of(const scim_pgtable *pt, uint64_t table)
{
    return pt->ops.table_addr ? pt->ops.table_addr(pt->cookie, table) : table;
}

/* A leaf's address as the page table's user speaks it, and as stored. */
static uint64_t leaf_in(const scim_pgtable *pt, uint64_t stored)
{
    return pt->ops.leaf_in ? pt->ops.leaf_in(pt->cookie, stored) : stored;
}
static uint64_t leaf_out(const scim_pgtable *pt, uint64_t pa)
{
    return pt->ops.leaf_out ? pt->ops.leaf_out(pt->cookie, pa) : pa;
}

static uint64_t read_entry(const scim_pgtable *pt, uint64_t table, uint64_t index)
{
    return scim_physmem_read64(pt->pm, mem_of(pt, table) + index * SCIM_PTE_BYTES);
}

/* Every entry write goes through here, so a synchronized copy sees it. */
static void write_entry(scim_pgtable *pt, uint64_t pa, uint64_t value)
{
    scim_physmem_write64(pt->pm, pa, value);
    if (pt->ops.entry_written)
        pt->ops.entry_written(pt->cookie, pa, value);
}

static void decode(const scim_pgtable *pt, uint64_t pte, int level, scim_pte_info *i)
{
    pt->fmt->decode(pte, level, i);
}

static int direct_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    return scim_physmem_alloc(cookie, 0, pfn, err);
}

static void direct_free(void *cookie, uint64_t pfn) { scim_physmem_free(cookie, pfn, 0); }

static int direct_alloc_block(void *cookie, unsigned order, uint64_t *pfn, scim_err *err)
{
    return scim_physmem_alloc(cookie, order, pfn, err); /* a buddy block: aligned to its size */
}

static void direct_free_block(void *cookie, uint64_t pfn, unsigned order) { scim_physmem_free(cookie, pfn, order); }

/* A new table of `level`: one frame, or a block for a wider one. */
static int alloc_table(scim_pgtable *pt, int level, uint64_t *addr, scim_err *err)
{
    unsigned order = scim_pt_table_order(pt->fmt, level);
    uint64_t pfn;
    int rc = order ? pt->ops.alloc_block(pt->cookie, order, &pfn, err) : pt->ops.alloc_table(pt->cookie, &pfn, err);
    if (rc)
        return rc;
    pt->tables += 1ull << order;
    *addr = scim_pfn_addr(pfn);
    return 0;
}

static void free_table(scim_pgtable *pt, uint64_t table, int level)
{
    unsigned order = scim_pt_table_order(pt->fmt, level);
    pt->tables -= 1ull << order;
    if (order)
        pt->ops.free_block(pt->cookie, scim_pfn(table), order);
    else
        pt->ops.free_table(pt->cookie, scim_pfn(table));
}

scim_pgtable *scim_pgtable_create(scim_physmem *pm, const scim_pt_format *fmt, const scim_pt_alloc_ops *ops,
                                  void *cookie, scim_err *err)
{
    if (!fmt) {
        scim_err_set(err, SCIM_EINVAL, "no page-table format");
        return NULL;
    }
    scim_pgtable *pt = calloc(1, sizeof *pt);
    if (!pt) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating a page table");
        return NULL;
    }
    pt->pm = pm;
    pt->fmt = fmt;
    if (ops) {
        pt->ops = *ops;
        pt->cookie = cookie;
    } else {
        pt->ops = (scim_pt_alloc_ops){.alloc_table = direct_alloc, .free_table = direct_free,
                                      .alloc_block = direct_alloc_block, .free_block = direct_free_block};
        pt->cookie = pm;
    }
    for (int l = 1; l <= fmt->levels; l++) {
        if (scim_pt_table_order(fmt, l) && (!pt->ops.alloc_block || !pt->ops.free_block)) {
            scim_err_set(err, SCIM_EINVAL, "%s tables of level %d are %llu KiB: the allocator has no block ops",
                         fmt->name, l, (unsigned long long)((scim_pt_table_entries(fmt, l) * SCIM_PTE_BYTES) >> 10));
            free(pt);
            return NULL;
        }
    }
    if (alloc_table(pt, fmt->levels, &pt->root, err) != 0) {
        free(pt);
        return NULL;
    }
    return pt;
}

static void destroy_table(scim_pgtable *pt, uint64_t table, int level)
{
    if (level > 1) {
        for (uint64_t i = 0; i < scim_pt_table_entries(pt->fmt, level); i++) {
            scim_pte_info e;
            decode(pt, read_entry(pt, table, i), level, &e);
            if (e.kind == SCIM_PTE_TABLE)
                destroy_table(pt, e.addr, level - 1);
        }
    }
    free_table(pt, table, level);
}

void scim_pgtable_destroy(scim_pgtable *pt)
{
    if (!pt)
        return;
    destroy_table(pt, pt->root, pt->fmt->levels);
    free(pt);
}

uint64_t scim_pgtable_root(const scim_pgtable *pt) { return pt->root; }
const scim_pt_format *scim_pgtable_format(const scim_pgtable *pt) { return pt->fmt; }
uint64_t scim_pgtable_table_frames(const scim_pgtable *pt) { return pt->tables; }

static bool table_empty(const scim_pgtable *pt, uint64_t table, int level)
{
    for (uint64_t i = 0; i < scim_pt_table_entries(pt->fmt, level); i++) {
        scim_pte_info e;
        decode(pt, read_entry(pt, table, i), level, &e);
        if (e.kind != SCIM_PTE_NOT_PRESENT)
            return false;
    }
    return true;
}

int scim_pgtable_map(scim_pgtable *pt, uint64_t va, uint64_t pa, unsigned page_shift, unsigned attrs,
                     scim_err *err)
{
    const scim_pt_format *f = pt->fmt;
    int leaf = scim_pt_leaf_level(f, page_shift);
    if (!leaf)
        return scim_err_set(err, SCIM_EINVAL, "page shift %u is not a leaf size of %s paging", page_shift,
                            f->name);
    uint64_t mask = scim_page_mask(page_shift);
    if ((va & mask) || (pa & mask))
        return scim_err_set(err, SCIM_EINVAL, "va 0x%llx / pa 0x%llx not aligned to the %llu KiB page",
                            (unsigned long long)va, (unsigned long long)pa, (unsigned long long)((mask + 1) >> 10));
    if (!scim_pt_va_valid(f, va) || !scim_pt_va_valid(f, va + mask))
        return scim_err_set(err, SCIM_EINVAL, "va 0x%llx is not a valid address for %s paging",
                            (unsigned long long)va, f->name);
    pa = leaf_out(pt, pa);
    scim_pte_info probe;
    decode(pt, f->make_leaf(pa, leaf, attrs), leaf, &probe);
    if (probe.kind != SCIM_PTE_LEAF || probe.addr != pa)
        return scim_err_set(err, SCIM_EINVAL, "pa 0x%llx is beyond the output addresses of %s paging",
                            (unsigned long long)pa, f->name);
    uint64_t table = pt->root;
    for (int level = f->levels; level > leaf; level--) {
        uint64_t ea = scim_pt_entry_addr(f, mem_of(pt, table), va, level);
        scim_pte_info e;
        decode(pt, scim_physmem_read64(pt->pm, ea), level, &e);
        if (e.kind == SCIM_PTE_LEAF || e.kind == SCIM_PTE_RESERVED)
            return scim_err_set(err, SCIM_EEXIST, "va 0x%llx is already mapped by a larger page",
                                (unsigned long long)va);
        if (e.kind == SCIM_PTE_NOT_PRESENT) {
            int rc = alloc_table(pt, level - 1, &e.addr, err);
            if (rc)
                return rc;
            write_entry(pt, ea, f->make_table(e.addr, level));
        }
        table = e.addr;
    }
    uint64_t ea = scim_pt_entry_addr(f, mem_of(pt, table), va, leaf);
    scim_pte_info e;
    decode(pt, scim_physmem_read64(pt->pm, ea), leaf, &e);
    if (e.kind != SCIM_PTE_NOT_PRESENT)
        return scim_err_set(err, SCIM_EEXIST, "va 0x%llx is already mapped", (unsigned long long)va);
    write_entry(pt, ea, f->make_leaf(pa, leaf, attrs));
    return 0;
}

/* Walk to the leaf of va: fills the entry addresses of the path (path[level]
 * for levels..leaf) and returns the leaf level, or 0 if not mapped. */
/* path[l]: the memory address of the level-l entry on va's path; tabs (if
 * not NULL) [l]: the level-l table's address as the entries hold it (a
 * guest-physical one under a stage-2 hook, which may differ from the
 * memory address). */
static int find_leaf_tables(const scim_pgtable *pt, uint64_t va, uint64_t path[PATH_MAX_LEVELS],
                            uint64_t *tabs, uint64_t *pte_out)
{
    const scim_pt_format *f = pt->fmt;
    if (!scim_pt_va_valid(f, va))
        return 0;
    uint64_t table = pt->root;
    for (int level = f->levels; level >= 1; level--) {
        uint64_t ea = scim_pt_entry_addr(f, mem_of(pt, table), va, level);
        path[level] = ea;
        if (tabs)
            tabs[level] = table;
        uint64_t pte = scim_physmem_read64(pt->pm, ea);
        scim_pte_info e;
        decode(pt, pte, level, &e);
        if (e.kind == SCIM_PTE_LEAF) {
            *pte_out = pte;
            return level;
        }
        if (e.kind != SCIM_PTE_TABLE)
            return 0;
        table = e.addr;
    }
    return 0;
}

static int find_leaf(const scim_pgtable *pt, uint64_t va, uint64_t path[PATH_MAX_LEVELS], uint64_t *pte_out)
{
    return find_leaf_tables(pt, va, path, NULL, pte_out);
}

int scim_pgtable_lookup(const scim_pgtable *pt, uint64_t va, uint64_t *pa, unsigned *page_shift, unsigned *attrs)
{
    uint64_t path[PATH_MAX_LEVELS], pte;
    int level = find_leaf(pt, va, path, &pte);
    if (!level)
        return 0;
    scim_pte_info e;
    decode(pt, pte, level, &e);
    if (pa)
        *pa = leaf_in(pt, e.addr) + scim_page_offset(va, e.shift);
    if (page_shift)
        *page_shift = e.shift;
    if (attrs)
        *attrs = e.attrs;
    return 1;
}

uint64_t scim_pgtable_leaf_entry(const scim_pgtable *pt, uint64_t va)
{
    uint64_t path[PATH_MAX_LEVELS], pte;
    return find_leaf(pt, va, path, &pte) ? pte : 0;
}

int scim_pgtable_unmap(scim_pgtable *pt, uint64_t va, unsigned *old_attrs, unsigned *page_shift)
{
    uint64_t path[PATH_MAX_LEVELS], tabs[PATH_MAX_LEVELS], pte;
    int level = find_leaf_tables(pt, va, path, tabs, &pte);
    if (!level)
        return SCIM_ENOENT;
    write_entry(pt, path[level], 0);
    scim_pte_info e;
    decode(pt, pte, level, &e);
    if (old_attrs)
        *old_attrs = e.attrs;
    if (page_shift)
        *page_shift = e.shift;
    /* Free tables the unmap emptied, bottom up; never the root. */
    for (int l = level; l < pt->fmt->levels && !pt->keep_tables; l++) {
        uint64_t table = tabs[l]; /* as the entries hold it: what alloc_table gave */
        if (!table_empty(pt, table, l))
            break;
        write_entry(pt, path[l + 1], 0);
        free_table(pt, table, l);
    }
    return 0;
}

int scim_pgtable_update(scim_pgtable *pt, uint64_t va, unsigned set, unsigned clear, unsigned *old_attrs)
{
    uint64_t path[PATH_MAX_LEVELS], pte;
    int level = find_leaf(pt, va, path, &pte);
    if (!level)
        return SCIM_ENOENT;
    if (old_attrs) {
        scim_pte_info e;
        decode(pt, pte, level, &e);
        *old_attrs = e.attrs;
    }
    write_entry(pt, path[level], pt->fmt->set_attrs(pte, level, set, clear));
    return 0;
}

int scim_pgtable_remap(scim_pgtable *pt, uint64_t va, uint64_t new_pa, unsigned *old_attrs)
{
    uint64_t path[PATH_MAX_LEVELS], pte;
    int level = find_leaf(pt, va, path, &pte);
    if (!level)
        return SCIM_ENOENT;
    scim_pte_info e;
    decode(pt, pte, level, &e);
    if (scim_page_offset(new_pa, e.shift))
        return SCIM_EINVAL;
    write_entry(pt, path[level], pt->fmt->set_addr(pte, level, leaf_out(pt, new_pa)));
    if (old_attrs)
        *old_attrs = e.attrs;
    return 0;
}

typedef struct walk_ctx {
    const scim_pgtable *pt;
    uint64_t lo, hi; /* inclusive range */
    int (*fn)(void *ctx, uint64_t va, uint64_t pa, unsigned page_shift, unsigned attrs);
    void *ctx;
} walk_ctx;

static int walk_table(const walk_ctx *w, uint64_t table, int level, uint64_t base)
{
    const scim_pt_format *f = w->pt->fmt;
    unsigned span_shift = scim_pt_level_shift(f, level);
    for (uint64_t i = 0; i < scim_pt_table_entries(f, level); i++) {
        uint64_t start = scim_pt_va_of(f, base, i, level);
        uint64_t end = start + scim_page_mask(span_shift);
        if (end < w->lo || start > w->hi)
            continue;
        scim_pte_info e;
        decode(w->pt, read_entry(w->pt, table, i), level, &e);
        int rc = 0;
        if (e.kind == SCIM_PTE_LEAF)
            rc = w->fn(w->ctx, start, leaf_in(w->pt, e.addr), e.shift, e.attrs);
        else if (e.kind == SCIM_PTE_TABLE)
            rc = walk_table(w, e.addr, level - 1, base + (i << span_shift));
        if (rc)
            return rc;
    }
    return 0;
}

int scim_pgtable_foreach(const scim_pgtable *pt, uint64_t va, uint64_t len,
                         int (*fn)(void *ctx, uint64_t va, uint64_t pa, unsigned page_shift, unsigned attrs),
                         void *ctx)
{
    if (len == 0)
        return 0;
    walk_ctx w = {pt, va, va + len - 1 < va ? UINT64_MAX : va + len - 1, fn, ctx};
    return walk_table(&w, pt->root, pt->fmt->levels, 0);
}

static void entries_of(const scim_pgtable *pt, uint64_t table, int level,
                       void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value), void *ctx)
{
    uint64_t mem = mem_of(pt, table);
    for (uint64_t i = 0; i < scim_pt_table_entries(pt->fmt, level); i++) {
        uint64_t pte = scim_physmem_read64(pt->pm, mem + i * SCIM_PTE_BYTES);
        scim_pte_info e;
        decode(pt, pte, level, &e);
        if (e.kind == SCIM_PTE_NOT_PRESENT)
            continue;
        fn(ctx, mem + i * SCIM_PTE_BYTES, pte);
        if (level > 1 && e.kind == SCIM_PTE_TABLE)
            entries_of(pt, e.addr, level - 1, fn, ctx);
    }
}

void scim_pgtable_foreach_entry(const scim_pgtable *pt, void (*fn)(void *ctx, uint64_t entry_pa, uint64_t value),
                                void *ctx)
{
    entries_of(pt, pt->root, pt->fmt->levels, fn, ctx);
}

void scim_pgtable_keep_empty_tables(scim_pgtable *pt, bool keep) { pt->keep_tables = keep; }

/* x86-64 page tables in simulated memory (include/scimitar/pagetable.h)
 * and the buddy allocator under them (include/scimitar/physmem.h), against
 * brute-force references.
 *
 * Page tables: random map / unmap / protect / remap of 4 KiB, 2 MiB and
 * 1 GiB pages in a 4-level and a 5-level table sharing one physical memory,
 * checked against a flat list of (va, size, pa, attribute bits). Every
 * check re-walks the tables by reading raw 64-bit entries out of physmem and
 * decoding P/RW/US/A/D/PS with this file's own bit constants, so the
 * entries must be the architectural ones the OS would have written.
 * Frame accounting: total = free + data (this test's frames) + tables.
 *
 * Buddy allocator: the reference is nothing but a per-frame free bitmap.
 * With eager coalescing the free blocks are exactly the maximal aligned,
 * in-pool, entirely free blocks (capped at order 18), so "the lowest free
 * block of the smallest sufficient order" can be recomputed from the bitmap
 * alone.
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/pagetable.h"
#include "mmu/physmem.h"

#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The entry format, written out here rather than taken from the header. */
#define B_P (1ull << 0)
#define B_RW (1ull << 1)
#define B_US (1ull << 2)
#define B_PWT (1ull << 3)
#define B_PCD (1ull << 4)
#define B_A (1ull << 5)
#define B_D (1ull << 6)
#define B_PS (1ull << 7)
#define B_G (1ull << 8)
#define B_XD (1ull << 63)
#define ADDR_BITS 0x000ffffffffff000ull

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------------------------ */
/* reference mappings                                                         */

typedef struct ref_map {
    uint64_t va;
    unsigned shift;
    uint64_t pa;
    uint64_t attr; /* every bit of the leaf entry except the address */
} ref_map;

typedef struct ref_pt {
    int levels;
    ref_map *m;
    size_t n, cap;
} ref_pt;

static void ref_add(ref_pt *r, ref_map m)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->m = realloc(r->m, r->cap * sizeof *r->m);
    }
    r->m[r->n++] = m;
}

static ref_map *ref_find(ref_pt *r, uint64_t va)
{
    for (size_t i = 0; i < r->n; i++)
        if (va - r->m[i].va < (1ull << r->m[i].shift))
            return &r->m[i];
    return NULL;
}

static bool ref_overlaps(const ref_pt *r, uint64_t va, unsigned shift)
{
    uint64_t end = va + ((1ull << shift) - 1);
    for (size_t i = 0; i < r->n; i++) {
        uint64_t a = r->m[i].va, b = a + ((1ull << r->m[i].shift) - 1);
        if (!(b < va || a > end))
            return true;
    }
    return false;
}

static void ref_remove(ref_pt *r, ref_map *m) { *m = r->m[--r->n]; }

/* Tables the reference mappings need: the root plus, for each mapping, the
 * table holding its entry at each level from its leaf up to levels-1
 * (identified by the address bits above that level's index). */
static uint64_t ref_tables(const ref_pt *r)
{
    uint64_t *keys = malloc((r->n * 4 + 1) * sizeof *keys);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        int leaf = r->m[i].shift == 12 ? 1 : r->m[i].shift == 21 ? 2 : 3;
        for (int l = leaf; l < r->levels; l++)
            keys[k++] = ((uint64_t)l << 60) | ((r->m[i].va >> (12 + 9 * l)) & ((1ull << 48) - 1));
    }
    qsort(keys, k, sizeof *keys, cmp_u64);
    uint64_t distinct = 0;
    for (size_t i = 0; i < k; i++)
        if (i == 0 || keys[i] != keys[i - 1])
            distinct++;
    free(keys);
    return distinct + 1;
}

/* ------------------------------------------------------------------------ */
/* an allocator ops table that counts, and a shadow of every entry written   */

typedef struct shadow {
    uint64_t *key, *val;
    uint8_t *used;
    size_t cap, len;
} shadow;

typedef struct alloc_ctx {
    scim_physmem *pm;
    uint64_t allocs, frees;
    shadow sh;
} alloc_ctx;

static uint64_t *shadow_slot(shadow *s, uint64_t key, bool insert)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & (s->cap - 1);
    while (s->used[i]) {
        if (s->key[i] == key)
            return &s->val[i];
        i = (i + 1) & (s->cap - 1);
    }
    if (!insert)
        return NULL;
    CHECK(s->len < s->cap / 2, "shadow table full");
    s->used[i] = 1;
    s->key[i] = key;
    s->val[i] = 0;
    s->len++;
    return &s->val[i];
}

static int ctx_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    alloc_ctx *c = cookie;
    int rc = scim_physmem_alloc(c->pm, 0, pfn, err);
    if (!rc)
        c->allocs++;
    return rc;
}

static void ctx_free(void *cookie, uint64_t pfn)
{
    alloc_ctx *c = cookie;
    /* a freed table is empty: every entry of it was cleared through
     * entry_written first */
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t *v = shadow_slot(&c->sh, (pfn << 12) + i * 8, false);
        CHECK(!v || *v == 0, "table frame 0x%" PRIx64 " freed with entry %" PRIu64 " still set", pfn, i);
        CHECK(scim_physmem_read64(c->pm, (pfn << 12) + i * 8) == 0, "freed table frame not empty");
    }
    c->frees++;
    scim_physmem_free(c->pm, pfn, 0);
}

static void ctx_written(void *cookie, uint64_t entry_pa, uint64_t value)
{
    alloc_ctx *c = cookie;
    *shadow_slot(&c->sh, entry_pa, true) = value;
}

/* ------------------------------------------------------------------------ */
/* raw walk of the tables                                                     */

static uint64_t sext(uint64_t va, int levels)
{
    int bits = levels == 5 ? 57 : 48;
    return (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits));
}

#define WALK_MAX_TABLES 65536

typedef struct walk {
    const scim_physmem *pm;
    ref_pt *ref;
    alloc_ctx *ctx;     /* or NULL */
    uint64_t tables, leaves, entries;
    uint64_t *frames;   /* table frames seen */
    size_t n_frames;
} walk;

static void walk_table(walk *w, uint64_t table_pa, int level, uint64_t base)
{
    CHECK(!scim_physmem_is_free(w->pm, table_pa >> 12), "table frame 0x%" PRIx64 " is free", table_pa >> 12);
    CHECK(w->n_frames < WALK_MAX_TABLES, "too many tables");
    w->frames[w->n_frames++] = table_pa >> 12;
    w->tables++;
    unsigned span = 12 + 9 * (unsigned)(level - 1);
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t e = scim_physmem_read64(w->pm, table_pa + i * 8);
        if (w->ctx) {
            uint64_t *v = shadow_slot(&w->ctx->sh, table_pa + i * 8, false);
            if ((v ? *v : 0) != e)
                ck_abort_msg("shadow of entry 0x%" PRIx64 " is stale", table_pa + i * 8);
        }
        if (!(e & B_P)) {
            if (e != 0) /* nothing but zero is left in a cleared entry */
                ck_abort_msg("entry 0x%" PRIx64 " is not present but not zero: 0x%" PRIx64, table_pa + i * 8, e);
            continue;
        }
        w->entries++;
        uint64_t va = sext(base + (i << span), w->ref->levels);
        bool leaf = level == 1 || (e & B_PS);
        if (!leaf) {
            CHECK((e & (B_RW | B_US)) == (B_RW | B_US), "table entry without RW|US: 0x%" PRIx64, e);
            CHECK(level <= w->ref->levels, "bad level");
            walk_table(w, e & ADDR_BITS, level - 1, base + (i << span));
            continue;
        }
        CHECK(level <= 3, "PS set at level %d", level);
        w->leaves++;
        ref_map *m = ref_find(w->ref, va);
        CHECK(m && m->va == va, "the table maps va 0x%" PRIx64 " at level %d, the reference does not", va,
                      level);
        CHECK(m->shift == span, "va 0x%" PRIx64 ": page size differs", va);
        uint64_t pa = e & ADDR_BITS & ~((1ull << span) - 1);
        CHECK(pa == m->pa, "va 0x%" PRIx64 ": entry frame 0x%" PRIx64 ", reference 0x%" PRIx64, va, pa, m->pa);
        CHECK((e & ~(ADDR_BITS & ~((1ull << span) - 1))) == m->attr,
                      "va 0x%" PRIx64 ": entry bits 0x%" PRIx64 ", reference 0x%" PRIx64, va,
                      (uint64_t)(e & ~(ADDR_BITS & ~((1ull << span) - 1))), m->attr);
        CHECK(!scim_physmem_is_free(w->pm, pa >> 12), "mapped frame is free");
    }
}

static void check_tables(const scim_physmem *pm, const scim_pgtable *pt, ref_pt *ref, alloc_ctx *ctx)
{
    uint64_t expect_tables = ref_tables(ref);
    walk w = {pm, ref, ctx, 0, 0, 0, malloc(WALK_MAX_TABLES * sizeof(uint64_t)), 0};
    walk_table(&w, scim_pgtable_root(pt), ref->levels, 0);
    ck_assert_uint_eq(w.leaves, ref->n);
    CHECK(w.tables == expect_tables, "%" PRIu64 " table frames reachable, the mappings need %" PRIu64,
                  w.tables, expect_tables);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), w.tables);
    ck_assert_uint_eq(w.entries, w.leaves + w.tables - 1);
    qsort(w.frames, w.n_frames, sizeof *w.frames, cmp_u64);
    for (size_t i = 1; i < w.n_frames; i++)
        CHECK(w.frames[i] != w.frames[i - 1], "table frame 0x%" PRIx64 " used twice", w.frames[i]);
    if (ctx) {
        ck_assert_uint_eq(ctx->allocs - ctx->frees, w.tables);
        size_t nonzero = 0;
        for (size_t i = 0; i < ctx->sh.cap; i++)
            nonzero += ctx->sh.used[i] && ctx->sh.val[i];
        ck_assert_uint_eq(nonzero, w.entries);
    }
    free(w.frames);
}

/* ------------------------------------------------------------------------ */
/* foreach against the reference                                              */

typedef struct leafs {
    uint64_t (*v)[3];
    size_t n, cap;
    size_t stop_at;
} leafs;

static int leaf_cb(void *ctx, uint64_t va, uint64_t pte, unsigned shift)
{
    leafs *l = ctx;
    CHECK(l->n < l->cap, "too many leaves");
    l->v[l->n][0] = va;
    l->v[l->n][1] = pte;
    l->v[l->n][2] = shift;
    l->n++;
    return l->n == l->stop_at ? 77 : 0;
}

static int cmp_triple(const void *a, const void *b) { return cmp_u64(a, b); }

static void check_foreach(const scim_pgtable *pt, ref_pt *ref, uint64_t lo, uint64_t len)
{
    uint64_t hi = lo + len - 1 < lo ? UINT64_MAX : lo + len - 1;
    leafs want = {calloc(ref->n + 1, sizeof *want.v), 0, ref->n + 1, 0};
    for (size_t i = 0; i < ref->n; i++) {
        uint64_t a = ref->m[i].va, b = a + ((1ull << ref->m[i].shift) - 1);
        if (b < lo || a > hi)
            continue;
        want.v[want.n][0] = a;
        want.v[want.n][1] = ref->m[i].pa | ref->m[i].attr;
        want.v[want.n][2] = ref->m[i].shift;
        want.n++;
    }
    qsort(want.v, want.n, sizeof *want.v, cmp_triple);
    leafs got = {calloc(ref->n + 1, sizeof *got.v), 0, ref->n + 1, 0};
    ck_assert_int_eq(scim_pgtable_foreach(pt, lo, len, leaf_cb, &got), 0);
    CHECK(got.n == want.n, "foreach [0x%" PRIx64 ", +0x%" PRIx64 "): %zu leaves, reference %zu", lo, len,
                  got.n, want.n);
    for (size_t i = 0; i < got.n; i++)
        CHECK(got.v[i][0] == want.v[i][0] && got.v[i][1] == want.v[i][1] && got.v[i][2] == want.v[i][2],
                      "foreach leaf %zu: va 0x%" PRIx64 " pte 0x%" PRIx64 ", reference va 0x%" PRIx64
                      " pte 0x%" PRIx64,
                      i, got.v[i][0], got.v[i][1], want.v[i][0], want.v[i][1]);
    /* a non-zero return stops the walk and is passed through */
    if (want.n >= 2) {
        leafs part = {got.v, 0, ref->n + 1, 2};
        ck_assert_int_eq(scim_pgtable_foreach(pt, lo, len, leaf_cb, &part), 77);
        ck_assert_uint_eq(part.n, 2);
    }
    free(want.v);
    free(got.v);
}

typedef struct order_ctx {
    uint64_t root;
    uint64_t *seen; /* table frames announced so far */
    size_t n, cap;
    uint64_t count;
    const scim_physmem *pm;
} order_ctx;

static void entry_cb(void *ctx, uint64_t entry_pa, uint64_t value)
{
    order_ctx *o = ctx;
    o->count++;
    CHECK(scim_physmem_read64(o->pm, entry_pa) == value, "foreach_entry value differs from memory");
    uint64_t frame = entry_pa >> 12;
    bool known = frame == (o->root >> 12);
    for (size_t i = 0; !known && i < o->n; i++)
        known = o->seen[i] == frame;
    CHECK(known, "entry 0x%" PRIx64 " reported before the entry pointing to its table", entry_pa);
    if (!(value & B_PS) && o->n < o->cap)
        o->seen[o->n++] = (value & ADDR_BITS) >> 12; /* may be a 4K leaf's frame: harmless */
}

/* ------------------------------------------------------------------------ */
/* the random driver                                                          */

typedef struct space {
    scim_pgtable *pt;
    ref_pt ref;
    alloc_ctx *ctx;
} space;

static const unsigned order_of_shift[31] = {[12] = 0, [21] = 9, [30] = 18};

/* Addresses in a few clusters so that tables fill, share and empty: the
 * indices at each level come from small sets, the top level includes both
 * halves of the canonical space. */
static uint64_t rand_va(uint64_t *s, int levels, unsigned shift)
{
    static const uint64_t top[] = {0, 1, 255, 256, 511};
    static const uint64_t mid[] = {0, 1, 2, 511};
    static const uint64_t low[] = {0, 1, 2, 3, 4, 5, 6, 7, 200, 511};
    uint64_t va = top[rnd(s, 5)] << (12 + 9 * (levels - 1));
    for (int l = levels - 1; l >= 1; l--) {
        unsigned sh = 12 + 9 * (unsigned)(l - 1);
        if (sh < shift)
            break;
        const uint64_t *set = l == 1 ? low : l == 2 ? low : mid;
        size_t n = l <= 2 ? 10 : 4;
        va |= set[rnd(s, n)] << sh;
    }
    return sext(va, levels);
}

static uint64_t rand_attr(uint64_t *s)
{
    static const uint64_t bits[] = {B_RW, B_US, B_PWT, B_PCD, B_A, B_D, B_G, B_XD};
    uint64_t a = 0;
    for (size_t i = 0; i < 8; i++)
        if (rnd(s, 2))
            a |= bits[i];
    return a;
}

static uint64_t data_frames; /* frames this test holds for mappings */

static void drive(uint64_t seed, uint64_t ops)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(8ull << 30, &err);
    CHECK(pm, "%s", err.msg);
    const uint64_t total = scim_physmem_frames_total(pm);
    data_frames = 0;
    space sp[2];
    alloc_ctx ctx = {pm, 0, 0, {0}};
    ctx.sh.cap = 1u << 18;
    ctx.sh.key = calloc(ctx.sh.cap, 8);
    ctx.sh.val = calloc(ctx.sh.cap, 8);
    ctx.sh.used = calloc(ctx.sh.cap, 1);
    scim_pt_alloc_ops ops_tbl = {ctx_alloc, ctx_free, ctx_written};
    sp[0] = (space){scim_pgtable_create(pm, 4, NULL, NULL, &err), {4, NULL, 0, 0}, NULL};
    CHECK(sp[0].pt, "%s", err.msg);
    sp[1] = (space){scim_pgtable_create(pm, 5, &ops_tbl, &ctx, &err), {5, NULL, 0, 0}, &ctx};
    CHECK(sp[1].pt, "%s", err.msg);
    ck_assert_int_eq(scim_pgtable_levels(sp[1].pt), 5);
    ck_assert_uint_eq(ctx.allocs, 1);
    uint64_t s = seed, maps = 0, unmaps = 0, eexist = 0;
    for (uint64_t step = 0; step < ops; step++) {
        space *x = &sp[rnd(&s, 2)];
        int L = x->ref.levels;
        uint64_t op = rnd(&s, 100);
        unsigned shift = (unsigned[]){12, 12, 12, 12, 12, 12, 21, 21, 21, 30}[rnd(&s, 10)];
        uint64_t va = rand_va(&s, L, shift);
        /* half the time aim inside an existing mapping */
        if (x->ref.n && rnd(&s, 2)) {
            ref_map *m = &x->ref.m[rnd(&s, x->ref.n)];
            va = m->va + (rnd(&s, 1ull << m->shift) & ~0xfffull);
        }
        if (op < 38) {
            va &= ~((1ull << shift) - 1);
            if (!scim_va_canonical(va, L))
                va = sext(va, L);
            uint64_t attr = rand_attr(&s);
            bool overlap = ref_overlaps(&x->ref, va, shift);
            uint64_t pfn = 0;
            if (!overlap && scim_physmem_alloc(pm, order_of_shift[shift], &pfn, NULL) != 0)
                continue; /* no 1 GiB block left */
            uint64_t before = scim_pgtable_table_frames(x->pt);
            scim_err e = {0};
            int rc = scim_pgtable_map(x->pt, va, pfn << 12, shift, attr | (rnd(&s, 4) ? 0 : B_P | B_PS), &e);
            if (overlap) {
                CHECK(rc == SCIM_EEXIST, "step %" PRIu64 ": map over an existing page gave %d (%s)", step, rc,
                              e.msg);
                ck_assert_uint_eq(scim_pgtable_table_frames(x->pt), before);
                eexist++;
                continue;
            }
            CHECK(rc == 0, "step %" PRIu64 ": map va 0x%" PRIx64 " shift %u: %s", step, va, shift, e.msg);
            data_frames += 1ull << order_of_shift[shift];
            ref_add(&x->ref, (ref_map){va, shift, pfn << 12, attr | B_P | (shift > 12 ? B_PS : 0)});
            maps++;
        } else if (op < 58) {
            ref_map *m = ref_find(&x->ref, va);
            uint64_t old = 0;
            unsigned osh = 0;
            int rc = scim_pgtable_unmap(x->pt, va, &old, &osh);
            if (!m) {
                ck_assert_int_eq(rc, SCIM_ENOENT);
                continue;
            }
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(osh, m->shift);
            ck_assert_uint_eq(old, m->pa | m->attr);
            scim_physmem_free(pm, m->pa >> 12, order_of_shift[m->shift]);
            data_frames -= 1ull << order_of_shift[m->shift];
            ref_remove(&x->ref, m);
            unmaps++;
        } else if (op < 72) {
            static const uint64_t bits[] = {B_RW, B_US, B_PWT, B_PCD, B_A, B_D, B_G, B_XD, 1ull << 9, 1ull << 52};
            uint64_t set = 0, clr = 0;
            for (size_t i = 0; i < COUNT_OF(bits); i++) {
                uint64_t r = rnd(&s, 4);
                if (r == 0)
                    set |= bits[i];
                else if (r == 1)
                    clr |= bits[i];
            }
            if (rnd(&s, 4) == 0) /* P, PS and the address cannot be changed this way */
                *(rnd(&s, 2) ? &set : &clr) |= B_P | B_PS | (1ull << 21) | (1ull << 12);
            ref_map *m = ref_find(&x->ref, va);
            uint64_t old = 0;
            int rc = scim_pgtable_update(x->pt, va, set, clr, &old);
            if (!m) {
                ck_assert_int_eq(rc, SCIM_ENOENT);
                continue;
            }
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(old, m->pa | m->attr);
            uint64_t fixed = B_P | B_PS | ADDR_BITS;
            m->attr = (m->attr | (set & ~fixed)) & ~(clr & ~fixed);
        } else if (op < 76) {
            ref_map *m = ref_find(&x->ref, va);
            if (!m) {
                ck_assert_int_eq(scim_pgtable_remap(x->pt, va, 0x1000, NULL), SCIM_ENOENT);
                continue;
            }
            if (m->shift > 12)
                ck_assert_int_eq(scim_pgtable_remap(x->pt, va, m->pa + 4096, NULL), SCIM_EINVAL);
            uint64_t pfn;
            if (scim_physmem_alloc(pm, order_of_shift[m->shift], &pfn, NULL) != 0)
                continue;
            uint64_t old = 0;
            ck_assert_int_eq(scim_pgtable_remap(x->pt, va, pfn << 12, &old), 0);
            ck_assert_uint_eq(old, m->pa | m->attr);
            scim_physmem_free(pm, m->pa >> 12, order_of_shift[m->shift]);
            m->pa = pfn << 12;
        } else if (op < 96) {
            uint64_t a = va + rnd(&s, 4096), pa = 0, pte = 0;
            unsigned sh = 0;
            ref_map *m = ref_find(&x->ref, a);
            int rc = scim_pgtable_lookup(x->pt, a, &pa, &sh, &pte);
            CHECK(rc == (m != NULL), "step %" PRIu64 ": lookup 0x%" PRIx64 " gave %d", step, a, rc);
            if (m) {
                ck_assert_uint_eq(pa, m->pa + (a - m->va));
                ck_assert_uint_eq(sh, m->shift);
                ck_assert_uint_eq(pte, m->pa | m->attr);
            }
        } else if (op < 98) {
            uint64_t len = (uint64_t[]){1, 4096, 1ull << 21, 3ull << 30, 1ull << 40, UINT64_MAX}[rnd(&s, 6)];
            check_foreach(x->pt, &x->ref, va - rnd(&s, 1ull << 22), len);
        } else {
            /* bad requests change nothing */
            scim_err e = {0};
            uint64_t before = scim_pgtable_table_frames(x->pt);
            uint64_t noncanon = L == 4 ? (1ull << 47) : (1ull << 56);
            ck_assert_int_eq(scim_pgtable_map(x->pt, noncanon, 0x200000, 21, 0, &e), SCIM_EINVAL);
            ck_assert_int_eq(scim_pgtable_map(x->pt, 0x1000, 0x200000, 21, 0, NULL), SCIM_EINVAL);
            ck_assert_int_eq(scim_pgtable_map(x->pt, 0x200000, 0x201000, 21, 0, NULL), SCIM_EINVAL);
            ck_assert_int_eq(scim_pgtable_map(x->pt, 0x200000, 0x200000, 16, 0, NULL), SCIM_EINVAL);
            ck_assert_int_eq(scim_pgtable_map(x->pt, 0x200000, 1ull << 52, 12, 0, NULL), SCIM_EINVAL);
            ck_assert_int_eq(scim_pgtable_lookup(x->pt, noncanon, NULL, NULL, NULL), 0);
            ck_assert_int_eq(scim_pgtable_unmap(x->pt, noncanon, NULL, NULL), SCIM_ENOENT);
            ck_assert_uint_eq(scim_pgtable_table_frames(x->pt), before);
        }
        if (step % 1500 == 0 || step + 1 == ops) {
            for (int k = 0; k < 2; k++)
                check_tables(pm, sp[k].pt, &sp[k].ref, sp[k].ctx);
            uint64_t tables = scim_pgtable_table_frames(sp[0].pt) + scim_pgtable_table_frames(sp[1].pt);
            CHECK(total == scim_physmem_frames_free(pm) + data_frames + tables,
                          "frames: %" PRIu64 " total != %" PRIu64 " free + %" PRIu64 " data + %" PRIu64 " tables",
                          total, scim_physmem_frames_free(pm), data_frames, tables);
            order_ctx o = {scim_pgtable_root(sp[1].pt), calloc(65536, 8), 0, 65536, 0, pm};
            scim_pgtable_foreach_entry(sp[1].pt, entry_cb, &o);
            ck_assert_uint_eq(o.count, sp[1].ref.n + scim_pgtable_table_frames(sp[1].pt) - 1);
            free(o.seen);
        }
    }
    CHECK(maps > ops / 10 && unmaps > ops / 40 && eexist > 0,
                  "maps %" PRIu64 " unmaps %" PRIu64 " overlaps %" PRIu64, maps, unmaps, eexist);
    /* unmap everything: only the roots are left, every frame is accounted */
    for (int k = 0; k < 2; k++) {
        check_foreach(sp[k].pt, &sp[k].ref, 0, UINT64_MAX);
        while (sp[k].ref.n) {
            ref_map *m = &sp[k].ref.m[rnd(&s, sp[k].ref.n)];
            ck_assert_int_eq(scim_pgtable_unmap(sp[k].pt, m->va + ((1ull << m->shift) - 1), NULL, NULL), 0);
            scim_physmem_free(pm, m->pa >> 12, order_of_shift[m->shift]);
            ref_remove(&sp[k].ref, m);
        }
        ck_assert_uint_eq(scim_pgtable_table_frames(sp[k].pt), 1);
        check_tables(pm, sp[k].pt, &sp[k].ref, sp[k].ctx);
    }
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total - 2);
    scim_pgtable_destroy(sp[0].pt);
    scim_pgtable_destroy(sp[1].pt);
    ck_assert_uint_eq(ctx.allocs, ctx.frees);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 0);
    free(sp[0].ref.m);
    free(sp[1].ref.m);
    free(ctx.sh.key);
    free(ctx.sh.val);
    free(ctx.sh.used);
    scim_physmem_destroy(pm);
}

START_TEST(test_random_tables) { drive(0x9a9e7ab1e + (uint64_t)_i, 10000); }
END_TEST

/* Destroying a populated table frees every table frame (and only those). */
START_TEST(test_destroy_populated)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(64ull << 20, &err);
    const uint64_t total = scim_physmem_frames_total(pm);
    scim_pgtable *pt = scim_pgtable_create(pm, 4, NULL, NULL, &err);
    uint64_t data;
    ck_assert_int_eq(scim_physmem_alloc(pm, 0, &data, NULL), 0);
    for (uint64_t i = 0; i < 40; i++)
        ck_assert_int_eq(scim_pgtable_map(pt, (i << 30) | (i << 21) | (i << 12), data << 12, 12, B_RW, &err), 0);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), 1 + 1 + 40 + 40);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total - 1 - 82);
    scim_pgtable_destroy(pt);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total - 1);
    scim_physmem_free(pm, data, 0);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total);
    scim_physmem_destroy(pm);
}
END_TEST

/* The step API on hand-made entries. */
START_TEST(test_step_api)
{
    uint64_t next;
    unsigned sh;
    ck_assert_int_eq(scim_pte_decode(0x1234000 | B_RW, 1, &next, &sh), SCIM_PTE_NOT_PRESENT);
    ck_assert_int_eq(scim_pte_decode(0x1234000 | B_P, 1, &next, &sh), SCIM_PTE_LEAF);
    ck_assert_uint_eq(next, 0x1234000);
    ck_assert_uint_eq(sh, 12);
    /* PS at level 1 is the PAT bit of a 4K entry, not a size */
    ck_assert_int_eq(scim_pte_decode(0x1234000 | B_P | B_PS, 1, &next, &sh), SCIM_PTE_LEAF);
    ck_assert_uint_eq(sh, 12);
    ck_assert_int_eq(scim_pte_decode(0x1234000 | B_P, 2, &next, &sh), SCIM_PTE_TABLE);
    ck_assert_uint_eq(next, 0x1234000);
    ck_assert_int_eq(scim_pte_decode(0x40000000ull | B_P | B_PS, 2, &next, &sh), SCIM_PTE_LEAF);
    ck_assert_uint_eq(sh, 21);
    ck_assert_int_eq(scim_pte_decode(0x40000000ull | B_P | B_PS | B_XD, 3, &next, &sh), SCIM_PTE_LEAF);
    ck_assert_uint_eq(sh, 30);
    ck_assert_uint_eq(next, 0x40000000ull);
    /* bit 12 of a large page is PAT: allowed and not part of the frame */
    ck_assert_int_eq(scim_pte_decode(0x40201000ull | B_P | B_PS, 2, &next, &sh), SCIM_PTE_LEAF);
    ck_assert_uint_eq(next, 0x40200000ull);
    /* other low address bits of a large page are reserved */
    ck_assert_int_eq(scim_pte_decode(0x40202000ull | B_P | B_PS, 2, &next, &sh), SCIM_PTE_RESERVED);
    ck_assert_int_eq(scim_pte_decode(0x40200000ull | B_P | B_PS, 3, &next, &sh), SCIM_PTE_RESERVED);
    ck_assert_int_eq(scim_pte_decode(0x1000 | B_P | B_PS, 4, &next, &sh), SCIM_PTE_RESERVED);
    ck_assert_int_eq(scim_pte_decode(0x1000 | B_P | B_PS, 5, &next, &sh), SCIM_PTE_RESERVED);
    ck_assert_int_eq(scim_pte_decode(0x1000 | B_P, 5, &next, &sh), SCIM_PTE_TABLE);
    /* A always; D only on a writable leaf written */
    ck_assert_uint_eq(scim_pte_mark_accessed(0x1000, 1, true), 0x1000);
    ck_assert_uint_eq(scim_pte_mark_accessed(0x1000 | B_P, 1, false), 0x1000 | B_P | B_A);
    ck_assert_uint_eq(scim_pte_mark_accessed(0x1000 | B_P, 1, true), 0x1000 | B_P | B_A);
    ck_assert_uint_eq(scim_pte_mark_accessed(0x1000 | B_P | B_RW, 1, true), 0x1000 | B_P | B_RW | B_A | B_D);
    ck_assert_uint_eq(scim_pte_mark_accessed(0x1000 | B_P | B_RW, 2, true), 0x1000 | B_P | B_RW | B_A);
    ck_assert_uint_eq(scim_pte_mark_accessed(0x200000 | B_P | B_RW | B_PS, 2, true),
                      0x200000 | B_P | B_RW | B_PS | B_A | B_D);
    /* indices and entry addresses */
    uint64_t va = 0x00ff123456789abcull;
    for (int l = 1; l <= 5; l++) {
        ck_assert_uint_eq(scim_pte_index(va, l), (va >> (12 + 9 * (l - 1))) % 512);
        ck_assert_uint_eq(scim_pte_addr(0x5000 | B_P | B_RW, va, l), 0x5000 + scim_pte_index(va, l) * 8);
    }
    /* canonical addresses */
    ck_assert(scim_va_canonical(0x00007fffffffffffull, 4));
    ck_assert(!scim_va_canonical(0x0000800000000000ull, 4));
    ck_assert(scim_va_canonical(0xffff800000000000ull, 4));
    ck_assert(!scim_va_canonical(0xfeff800000000000ull, 4));
    ck_assert(scim_va_canonical(0x0000800000000000ull, 5));
    ck_assert(scim_va_canonical(0x00ffffffffffffffull, 5));
    ck_assert(!scim_va_canonical(0x0100000000000000ull, 5));
    ck_assert(scim_va_canonical(0xff00000000000000ull, 5));
    /* creation errors */
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(1 << 20, &err);
    ck_assert_ptr_null(scim_pgtable_create(pm, 3, NULL, NULL, &err));
    ck_assert_str_eq(err.msg, "paging levels must be 4 or 5, not 3");
    scim_physmem_destroy(pm);
}
END_TEST

/* A whole 1 GiB page at the top of the 5-level space and a 4K page in the
 * last slot of every level: translation keeps the offset. */
START_TEST(test_edges)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(4ull << 30, &err);
    scim_pgtable *pt = scim_pgtable_create(pm, 5, NULL, NULL, &err);
    uint64_t g;
    ck_assert_int_eq(scim_physmem_alloc(pm, 18, &g, &err), 0);
    uint64_t top = 0xffffffffc0000000ull;
    ck_assert_int_eq(scim_pgtable_map(pt, top, g << 12, 30, B_RW | B_US, &err), 0);
    uint64_t pa;
    unsigned sh;
    ck_assert_int_eq(scim_pgtable_lookup(pt, UINT64_MAX, &pa, &sh, NULL), 1);
    ck_assert_uint_eq(pa, (g << 12) + 0x3fffffff);
    ck_assert_uint_eq(sh, 30);
    ck_assert_int_eq(scim_pgtable_map(pt, UINT64_MAX & ~0xfffull, 0x5000, 12, 0, &err), SCIM_EEXIST);
    ck_assert_int_eq(scim_pgtable_map(pt, 0x00fffffffffff000ull, 0x5000, 12, 0, &err), 0);
    ck_assert_int_eq(scim_pgtable_lookup(pt, 0x00ffffffffffffffull, &pa, &sh, NULL), 1);
    ck_assert_uint_eq(pa, 0x5fff);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), 1 + 2 + 4);
    ck_assert_int_eq(scim_pgtable_unmap(pt, top + 12345, NULL, NULL), 0);
    ck_assert_int_eq(scim_pgtable_unmap(pt, 0x00fffffffffff000ull, NULL, NULL), 0);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), 1);
    scim_pgtable_destroy(pt);
    scim_physmem_free(pm, g, 18);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), scim_physmem_frames_total(pm));
    scim_physmem_destroy(pm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* buddy allocator against a free-frame bitmap                                */

typedef struct ref_pool {
    uint64_t frames; /* frame 0 included */
    uint8_t *free;   /* per frame */
    uint32_t *cnt[SCIM_PHYSMEM_MAX_ORDER + 1]; /* free frames in each aligned block */
} ref_pool;

static void pool_set(ref_pool *r, uint64_t pfn, uint64_t n, bool free_)
{
    for (uint64_t f = pfn; f < pfn + n; f++) {
        if (r->free[f] == free_)
            ck_abort_msg("frame 0x%" PRIx64 " %s twice", f, free_ ? "freed" : "allocated");
        r->free[f] = free_;
    }
    /* each block of each order gains or loses the frames it shares with [pfn, pfn + n) */
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        for (uint64_t b = pfn >> o; b <= (pfn + n - 1) >> o; b++) {
            uint64_t lo = b << o > pfn ? b << o : pfn, hi = ((b + 1) << o) < pfn + n ? (b + 1) << o : pfn + n;
            uint32_t k = (uint32_t)(hi - lo);
            r->cnt[o][b] += free_ ? k : (uint32_t)-k;
        }
    }
}

static bool in_pool(const ref_pool *r, uint64_t block, unsigned o) { return ((block + 1) << o) <= r->frames; }

static bool block_full(const ref_pool *r, uint64_t block, unsigned o)
{
    return in_pool(r, block, o) && r->cnt[o][block] == (1u << o);
}

/* a maximal free block: entirely free and its parent is not */
static bool free_block(const ref_pool *r, uint64_t block, unsigned o)
{
    return block_full(r, block, o) && (o == SCIM_PHYSMEM_MAX_ORDER || !block_full(r, block >> 1, o + 1));
}

/* Lowest maximal free block of order `want` inside block b of order q
 * (UINT64_MAX if none). Skips blocks with no free frame, and entirely free
 * blocks (a maximal block inside them would be bigger). */
static uint64_t find_block(const ref_pool *r, unsigned want, uint64_t b, unsigned q)
{
    if (r->cnt[q][b] == 0 || (b << q) >= r->frames)
        return UINT64_MAX;
    if (q == want)
        return free_block(r, b, q) ? b : UINT64_MAX;
    if (block_full(r, b, q))
        return UINT64_MAX;
    uint64_t x = find_block(r, want, 2 * b, q - 1);
    return x != UINT64_MAX ? x : find_block(r, want, 2 * b + 1, q - 1);
}

static int ref_alloc(ref_pool *r, unsigned order, uint64_t *pfn)
{
    for (unsigned o = order; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        for (uint64_t top = 0; (top << SCIM_PHYSMEM_MAX_ORDER) < r->frames; top++) {
            uint64_t b = find_block(r, o, top, SCIM_PHYSMEM_MAX_ORDER);
            if (b != UINT64_MAX) {
                *pfn = b << o;
                pool_set(r, *pfn, 1ull << order, false);
                return 0;
            }
        }
    }
    return SCIM_ENOMEM;
}

static void buddy_run(uint64_t frames, uint64_t ops, unsigned max_order, uint64_t seed)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(frames * 4096, &err);
    CHECK(pm, "%s", err.msg);
    ref_pool r = {frames, calloc(frames, 1), {0}};
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++)
        r.cnt[o] = calloc((frames >> o) + 2, sizeof(uint32_t));
    pool_set(&r, 1, frames - 1, true);
    ck_assert_uint_eq(scim_physmem_frames_total(pm), frames - 1);
    uint64_t (*held)[2] = calloc(ops + 1, sizeof *held);
    size_t n_held = 0;
    uint64_t s = seed, free_frames = frames - 1, fails = 0;
    for (uint64_t step = 0; step < ops; step++) {
        bool do_alloc = n_held == 0 || rnd(&s, 100) < (step % 2000 < 1200 ? 65 : 35);
        if (do_alloc) {
            unsigned order = rnd(&s, 4) ? (unsigned)rnd(&s, 3) : (unsigned)rnd(&s, max_order + 1);
            uint64_t a = 0, b = 0;
            scim_err e = {0};
            int ra = scim_physmem_alloc(pm, order, &a, &e);
            int rb = ref_alloc(&r, order, &b);
            CHECK(ra == rb, "step %" PRIu64 ": alloc order %u: %d, reference %d", step, order, ra, rb);
            if (ra == 0) {
                CHECK(a == b, "step %" PRIu64 ": alloc order %u gave frame 0x%" PRIx64 ", reference 0x%" PRIx64,
                              step, order, a, b);
                ck_assert_uint_ne(a, 0);
                ck_assert_uint_eq(a % (1ull << order), 0);
                held[n_held][0] = a;
                held[n_held][1] = order;
                n_held++;
                free_frames -= 1ull << order;
                /* a fresh frame reads as zero; write something to be dropped on free */
                ck_assert_uint_eq(scim_physmem_read64(pm, a << 12), 0);
                scim_physmem_write64(pm, (a << 12) + 8 * rnd(&s, 512), step | 1);
            } else {
                ck_assert_int_eq(ra, SCIM_ENOMEM);
                CHECK(strstr(e.msg, "out of simulated memory: no free block of order"), "%s", e.msg);
                fails++;
            }
        } else {
            size_t i = (size_t)rnd(&s, n_held);
            scim_physmem_free(pm, held[i][0], (unsigned)held[i][1]);
            pool_set(&r, held[i][0], 1ull << held[i][1], true);
            free_frames += 1ull << held[i][1];
            held[i][0] = held[n_held - 1][0];
            held[i][1] = held[n_held - 1][1];
            n_held--;
        }
        ck_assert_uint_eq(scim_physmem_frames_free(pm), free_frames);
        if (frames <= 8192 ? step % 97 == 0 : step % 750 == 0) {
            for (uint64_t f = 0; f < frames; f++)
                if (scim_physmem_is_free(pm, f) != (bool)r.free[f])
                    ck_abort_msg("step %" PRIu64 ": frame 0x%" PRIx64 " is_free %d, reference %d", step, f,
                                 !r.free[f], r.free[f]);
            ck_assert_uint_eq(scim_physmem_backed_frames(pm), n_held);
        }
    }
    CHECK(fails > 0 || frames > 8192, "the pool never ran out");
    while (n_held) {
        n_held--;
        scim_physmem_free(pm, held[n_held][0], (unsigned)held[n_held][1]);
    }
    ck_assert_uint_eq(scim_physmem_frames_free(pm), frames - 1);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 0);
    /* fully coalesced again: the largest blocks come back in address order */
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        free(r.cnt[o]);
        r.cnt[o] = calloc((frames >> o) + 2, sizeof(uint32_t));
    }
    memset(r.free, 0, frames);
    pool_set(&r, 1, frames - 1, true);
    for (int k = 0; k < 64; k++) {
        unsigned order = (unsigned)(k % (max_order + 1));
        uint64_t a = 0, b = 0;
        int ra = scim_physmem_alloc(pm, order, &a, NULL), rb = ref_alloc(&r, order, &b);
        ck_assert_int_eq(ra, rb);
        if (!ra)
            ck_assert_uint_eq(a, b);
    }
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++)
        free(r.cnt[o]);
    free(r.free);
    free(held);
    scim_physmem_destroy(pm);
}

START_TEST(test_buddy_small) { buddy_run(16, 3000, 4, 11); }
END_TEST
START_TEST(test_buddy_odd) { buddy_run(4099, 12000, 10, 12); }
END_TEST
START_TEST(test_buddy_large) { buddy_run((1ull << 19) + 12345, 1500, 18, 13); }
END_TEST

START_TEST(test_physmem_errors)
{
    scim_err err = {0};
    ck_assert_ptr_null(scim_physmem_create(15 * 4096, &err));
    ck_assert_int_eq(err.code, SCIM_ERANGE);
    scim_err_clear(&err);
    ck_assert_ptr_null(scim_physmem_create(16 * 4096 + 1, &err));
    ck_assert_int_eq(err.code, SCIM_ERANGE);
    scim_physmem *pm = scim_physmem_create(16 * 4096, &err);
    ck_assert_ptr_nonnull(pm);
    uint64_t pfn;
    scim_err_clear(&err);
    ck_assert_int_eq(scim_physmem_alloc(pm, 19, &pfn, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "allocation order 19 is above the maximum 18");
    /* 15 frames: 1, 2-3, 4-7, 8-15 */
    scim_err_clear(&err);
    ck_assert_int_eq(scim_physmem_alloc(pm, 4, &pfn, &err), SCIM_ENOMEM);
    ck_assert_str_eq(err.msg, "out of simulated memory: no free block of order 4 (64 KiB); 15 of 15 frames free, "
                              "largest free block order 3");
    ck_assert_int_eq(scim_physmem_alloc(pm, 0, &pfn, NULL), 0);
    ck_assert_uint_eq(pfn, 1);
    ck_assert_int_eq(scim_physmem_alloc(pm, 0, &pfn, NULL), 0);
    ck_assert_uint_eq(pfn, 2);
    ck_assert_int_eq(scim_physmem_alloc(pm, 2, &pfn, NULL), 0);
    ck_assert_uint_eq(pfn, 4);
    /* memory contents: sparse, zero until written, dropped on free */
    scim_physmem_write64(pm, 0x4008, 0xdeadbeef);
    ck_assert_uint_eq(scim_physmem_read64(pm, 0x4008), 0xdeadbeef);
    ck_assert_uint_eq(scim_physmem_read64(pm, 0x4010), 0);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 1);
    scim_physmem_write64(pm, 0x5000, 0); /* zero into an unbacked frame allocates nothing */
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 1);
    scim_physmem_free(pm, 4, 2);
    ck_assert_uint_eq(scim_physmem_read64(pm, 0x4008), 0);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 0);
    scim_physmem_destroy(pm);
    scim_physmem_destroy(NULL);
}
END_TEST

static Suite *pagetable_suite(void)
{
    Suite *s = suite_create("pagetable");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_step_api);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_destroy_populated);
    tcase_add_loop_test(tc, test_random_tables, 0, 2);
    tcase_add_test(tc, test_physmem_errors);
    tcase_add_test(tc, test_buddy_small);
    tcase_add_test(tc, test_buddy_odd);
    tcase_add_test(tc, test_buddy_large);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pagetable_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

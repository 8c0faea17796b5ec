/* Page tables in simulated memory (mmu/pagetable.h) in every format of
 * mmu/ptfmt.h, against brute-force references.
 *
 * Random map / unmap / protect / remap of 4 KiB, 2 MiB and 1 GiB pages in
 * one table of each format (x86-64 4/5-level, Armv8-A va39/va48, RISC-V
 * Sv39/48/57) sharing one physical memory, checked against a flat list of
 * (va, size, pa, attributes). Every check re-walks the tables by reading raw
 * 64-bit entries out of physmem and decoding them with this file's own bit
 * constants per architecture (Intel SDM Vol. 3A 4.5; Arm ARM D8.3; RISC-V
 * Privileged 10.3.1), so the entries must be the architectural ones the OS
 * would have written. Frame accounting: total = free + data (this test's
 * frames) + tables. The buddy allocator has its own test (test_physmem).
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
#define B(n) (1ull << (n))

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------------------------ */
/* the raw formats, written out here rather than taken from the headers     */

enum { E_EMPTY, E_TABLE, E_LEAF };

typedef struct raw {
    const scim_pt_format *f; /* under test */
    int levels;
    unsigned va_bits;
    bool sext;
    uint64_t pa_limit;       /* first output address the format cannot hold */
    int (*kind)(uint64_t e, int level);
    uint64_t (*addr)(uint64_t e, int level);
    unsigned (*attrs)(uint64_t e);
    bool (*table_ok)(uint64_t e); /* a table entry: the address and the fixed bits only, every right */
    bool (*leaf_ok)(uint64_t e, int level);
} raw;

/* x86-64 (SDM 4.5 tables 4-15..4-20): P 0, R/W 1, U/S 2, A 5, D 6, PS 7, G 8, XD 63, address [51:12]. */
#define X86_ADDR 0x000ffffffffff000ull
static int x86_kind(uint64_t e, int level)
{
    return !(e & B(0)) ? E_EMPTY : level == 1 || (e & B(7)) ? E_LEAF : E_TABLE;
}
static uint64_t x86_addr(uint64_t e, int level)
{
    return e & X86_ADDR & ~((level == 3 ? B(30) : level == 2 ? B(21) : B(12)) - 1);
}
static unsigned x86_attrs(uint64_t e)
{
    return ((e & B(1)) ? SCIM_PTA_WRITE : 0) | ((e & B(2)) ? SCIM_PTA_USER : 0) | ((e & B(5)) ? SCIM_PTA_ACCESSED : 0) |
           ((e & B(6)) ? SCIM_PTA_DIRTY : 0) | ((e & B(8)) ? SCIM_PTA_GLOBAL : 0) | ((e & B(63)) ? SCIM_PTA_NOEXEC : 0);
}
static bool x86_table_ok(uint64_t e) { return (e & ~X86_ADDR) == (B(0) | B(1) | B(2)); }
static bool x86_leaf_ok(uint64_t e, int level)
{
    uint64_t known = X86_ADDR | B(0) | B(1) | B(2) | B(5) | B(6) | B(8) | B(63) | (level > 1 ? B(7) : 0);
    return (e & ~known) == 0 && (level == 1 || (e & B(7)));
}

/* Armv8-A (D8.3, 4 KiB granule, 48-bit OA): bits[1:0] 0b11 table/page, 0b01
 * block; AttrIndx [4:2]; AP[1] 6 (EL0), AP[2] 7 (read-only); SH [9:8]; AF
 * 10; nG 11; DBM 51; PXN 53; UXN 54; software bit 55; address [47:12]. */
#define ARM_ADDR 0x0000fffffffff000ull
static int arm_kind(uint64_t e, int level)
{
    return !(e & B(0)) ? E_EMPTY : level > 1 && (e & 3) == 3 ? E_TABLE : E_LEAF;
}
static uint64_t arm_addr(uint64_t e, int level)
{
    return e & ARM_ADDR & ~((level == 3 ? B(30) : level == 2 ? B(21) : B(12)) - 1);
}
static unsigned arm_attrs(uint64_t e)
{
    bool rdonly = e & B(7), dbm = e & B(51);
    return ((!rdonly || dbm) ? SCIM_PTA_WRITE : 0) | ((e & B(6)) ? SCIM_PTA_USER : 0) |
           ((e & B(10)) ? SCIM_PTA_ACCESSED : 0) | ((!rdonly || (e & B(55))) ? SCIM_PTA_DIRTY : 0) |
           ((e & B(11)) ? 0 : SCIM_PTA_GLOBAL) | ((e & B(54)) ? SCIM_PTA_NOEXEC : 0);
}
static bool arm_table_ok(uint64_t e) { return (e & ~ARM_ADDR) == 3; }
static bool arm_leaf_ok(uint64_t e, int level)
{
    uint64_t known =
        ARM_ADDR | 3 | (7ull << 2) | B(6) | B(7) | (3ull << 8) | B(10) | B(11) | B(51) | B(53) | B(54) | B(55);
    return (e & ~known) == 0 && (e & 3) == (level == 1 ? 3u : 1u) && ((e >> 8) & 3) == 3 && ((e >> 2) & 7) == 0 &&
           !(e & B(53)) == !(e & B(54)) && (!(e & B(55)) || ((e & B(7)) && !(e & B(51))));
}

/* RISC-V (Privileged 10.3.1, 10.4.1): V 0, R 1, W 2, X 3, U 4, G 5, A 6, D 7, PPN [53:10]. */
static int rv_kind(uint64_t e, int level)
{
    (void)level;
    return !(e & B(0)) ? E_EMPTY : (e & (B(1) | B(3))) ? E_LEAF : E_TABLE;
}
static uint64_t rv_addr(uint64_t e, int level)
{
    (void)level;
    return ((e >> 10) & (B(44) - 1)) << 12;
}
static unsigned rv_attrs(uint64_t e)
{
    return ((e & B(2)) ? SCIM_PTA_WRITE : 0) | ((e & B(4)) ? SCIM_PTA_USER : 0) | ((e & B(6)) ? SCIM_PTA_ACCESSED : 0) |
           ((e & B(7)) ? SCIM_PTA_DIRTY : 0) | ((e & B(5)) ? SCIM_PTA_GLOBAL : 0) | ((e & B(3)) ? 0 : SCIM_PTA_NOEXEC);
}
static bool rv_table_ok(uint64_t e) { return (e & 0x3ff) == 1 && (e >> 54) == 0; }
static bool rv_leaf_ok(uint64_t e, int level)
{
    uint64_t ppn_low = (e >> 10) & (B(9 * (unsigned)(level - 1)) - 1); /* a superpage's PPN is aligned */
    return (e & B(1)) && (e >> 54) == 0 && (e & (3ull << 8)) == 0 && ppn_low == 0;
}

#define X86(f_, l, b) {&f_, l, b, true, B(52), x86_kind, x86_addr, x86_attrs, x86_table_ok, x86_leaf_ok}
#define ARM(f_, l, b) {&f_, l, b, false, B(48), arm_kind, arm_addr, arm_attrs, arm_table_ok, arm_leaf_ok}
#define RV(f_, l, b) {&f_, l, b, true, B(56), rv_kind, rv_addr, rv_attrs, rv_table_ok, rv_leaf_ok}
static const raw raws[] = {X86(scim_pt_x86_4l, 4, 48),   X86(scim_pt_x86_5l, 5, 57), ARM(scim_pt_armv8_va39, 3, 39),
                           ARM(scim_pt_armv8_va48, 4, 48), RV(scim_pt_sv39, 3, 39),    RV(scim_pt_sv48, 4, 48),
                           RV(scim_pt_sv57, 5, 57)};
enum { N_RAW = COUNT_OF(raws) };

static uint64_t sext(const raw *r, uint64_t va)
{
    if (!r->sext)
        return va & (B(r->va_bits) - 1);
    return (uint64_t)((int64_t)(va << (64 - r->va_bits)) >> (64 - r->va_bits));
}

static bool va_ok(const raw *r, uint64_t va) { return sext(r, va) == va; }

static unsigned span_of(int level) { return 12 + 9 * (unsigned)(level - 1); }

/* ------------------------------------------------------------------------ */
/* reference mappings                                                         */

typedef struct ref_map {
    uint64_t va;
    unsigned shift;
    uint64_t pa;
    unsigned attrs;
} ref_map;

typedef struct ref_pt {
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
        if (va - r->m[i].va < B(r->m[i].shift))
            return &r->m[i];
    return NULL;
}

static bool ref_overlaps(const ref_pt *r, uint64_t va, unsigned shift)
{
    uint64_t end = va + (B(shift) - 1);
    for (size_t i = 0; i < r->n; i++) {
        uint64_t a = r->m[i].va, b = a + (B(r->m[i].shift) - 1);
        if (!(b < va || a > end))
            return true;
    }
    return false;
}

static void ref_remove(ref_pt *r, ref_map *m) { *m = r->m[--r->n]; }

/* Tables the reference mappings need: the root plus, for each mapping, the
 * table holding its entry at each level from its leaf up to levels-1
 * (identified by the address bits above that level's index). */
static uint64_t ref_tables(const ref_pt *r, int levels)
{
    uint64_t *keys = malloc((r->n * 5 + 1) * sizeof *keys);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        int leaf = r->m[i].shift == 12 ? 1 : r->m[i].shift == 21 ? 2 : 3;
        for (int l = leaf; l < levels; l++)
            keys[k++] = ((uint64_t)l << 60) | ((r->m[i].va >> (12 + 9 * l)) & (B(48) - 1));
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

typedef struct alloc_ctx {
    scim_physmem *pm;
    uint64_t allocs, frees;
    uint64_t *key, *val;
    uint8_t *used;
    size_t cap, len;
} alloc_ctx;

static uint64_t *shadow_slot(alloc_ctx *s, uint64_t key, bool insert)
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
    /* a freed table is empty: every entry of it was cleared through entry_written first */
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t *v = shadow_slot(c, (pfn << 12) + i * 8, false);
        CHECK(!v || *v == 0, "table frame 0x%" PRIx64 " freed with entry %" PRIu64 " still set", pfn, i);
        CHECK(scim_physmem_read64(c->pm, (pfn << 12) + i * 8) == 0, "freed table frame not empty");
    }
    c->frees++;
    scim_physmem_free(c->pm, pfn, 0);
}

static void ctx_written(void *cookie, uint64_t entry_pa, uint64_t value)
{
    *shadow_slot(cookie, entry_pa, true) = value;
}

/* ------------------------------------------------------------------------ */
/* raw walk of the tables                                                     */

#define WALK_MAX_TABLES 65536

typedef struct walk {
    const scim_physmem *pm;
    const raw *r;
    ref_pt *ref;
    alloc_ctx *ctx; /* or NULL */
    uint64_t tables, leaves, entries;
    uint64_t *frames;
    size_t n_frames;
} walk;

static void walk_table(walk *w, uint64_t table_pa, int level, uint64_t base)
{
    CHECK(!scim_physmem_is_free(w->pm, table_pa >> 12), "table frame 0x%" PRIx64 " is free", table_pa >> 12);
    CHECK(w->n_frames < WALK_MAX_TABLES, "too many tables");
    w->frames[w->n_frames++] = table_pa >> 12;
    w->tables++;
    unsigned span = span_of(level);
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t e = scim_physmem_read64(w->pm, table_pa + i * 8);
        if (w->ctx) {
            uint64_t *v = shadow_slot(w->ctx, table_pa + i * 8, false);
            CHECK((v ? *v : 0) == e, "shadow of entry 0x%" PRIx64 " is stale", table_pa + i * 8);
        }
        int kind = w->r->kind(e, level);
        if (kind == E_EMPTY) {
            CHECK(e == 0, "entry 0x%" PRIx64 " is not present but not zero: 0x%" PRIx64, table_pa + i * 8, e);
            continue;
        }
        w->entries++;
        uint64_t va = sext(w->r, base + (i << span));
        if (kind == E_TABLE) {
            CHECK(level > 1 && w->r->table_ok(e), "%s: bad table entry 0x%" PRIx64 " at level %d", w->r->f->name, e,
                  level);
            walk_table(w, w->r->addr(e, 1), level - 1, base + (i << span));
            continue;
        }
        CHECK(level <= 3 && w->r->leaf_ok(e, level), "%s: bad leaf 0x%" PRIx64 " at level %d", w->r->f->name, e,
              level);
        w->leaves++;
        ref_map *m = ref_find(w->ref, va);
        CHECK(m && m->va == va, "%s maps va 0x%" PRIx64 " at level %d, the reference does not", w->r->f->name, va,
              level);
        CHECK(m->shift == span, "va 0x%" PRIx64 ": page size differs", va);
        uint64_t pa = w->r->addr(e, level);
        CHECK(pa == m->pa, "va 0x%" PRIx64 ": entry frame 0x%" PRIx64 ", reference 0x%" PRIx64, va, pa, m->pa);
        CHECK(w->r->attrs(e) == m->attrs,
              "%s va 0x%" PRIx64 ": entry 0x%" PRIx64 " has attributes 0x%x, reference 0x%x", w->r->f->name, va, e,
              w->r->attrs(e), m->attrs);
        CHECK(!scim_physmem_is_free(w->pm, pa >> 12), "mapped frame is free");
    }
}

static void check_tables(const scim_physmem *pm, const scim_pgtable *pt, const raw *r, ref_pt *ref, alloc_ctx *ctx)
{
    uint64_t expect_tables = ref_tables(ref, r->levels);
    walk w = {pm, r, ref, ctx, 0, 0, 0, malloc(WALK_MAX_TABLES * sizeof(uint64_t)), 0};
    walk_table(&w, scim_pgtable_root(pt), r->levels, 0);
    ck_assert_uint_eq(w.leaves, ref->n);
    CHECK(w.tables == expect_tables, "%s: %" PRIu64 " table frames reachable, the mappings need %" PRIu64,
          r->f->name, w.tables, expect_tables);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), w.tables);
    ck_assert_uint_eq(w.entries, w.leaves + w.tables - 1);
    qsort(w.frames, w.n_frames, sizeof *w.frames, cmp_u64);
    for (size_t i = 1; i < w.n_frames; i++)
        CHECK(w.frames[i] != w.frames[i - 1], "table frame 0x%" PRIx64 " used twice", w.frames[i]);
    if (ctx) {
        ck_assert_uint_eq(ctx->allocs - ctx->frees, w.tables);
        size_t nonzero = 0;
        for (size_t i = 0; i < ctx->cap; i++)
            nonzero += ctx->used[i] && ctx->val[i];
        ck_assert_uint_eq(nonzero, w.entries);
    }
    free(w.frames);
}

/* ------------------------------------------------------------------------ */
/* foreach against the reference                                              */

typedef struct leafs {
    uint64_t (*v)[4];
    size_t n, cap;
    size_t stop_at;
} leafs;

static int leaf_cb(void *ctx, uint64_t va, uint64_t pa, unsigned shift, unsigned attrs)
{
    leafs *l = ctx;
    CHECK(l->n < l->cap, "too many leaves");
    l->v[l->n][0] = va;
    l->v[l->n][1] = pa;
    l->v[l->n][2] = shift;
    l->v[l->n][3] = attrs;
    l->n++;
    return l->n == l->stop_at ? 77 : 0;
}

static void check_foreach(const scim_pgtable *pt, ref_pt *ref, uint64_t lo, uint64_t len)
{
    uint64_t hi = lo + len - 1 < lo ? UINT64_MAX : lo + len - 1;
    leafs want = {calloc(ref->n + 1, sizeof *want.v), 0, ref->n + 1, 0};
    for (size_t i = 0; i < ref->n; i++) {
        uint64_t a = ref->m[i].va, b = a + (B(ref->m[i].shift) - 1);
        if (b < lo || a > hi)
            continue;
        uint64_t *v = want.v[want.n++];
        v[0] = a, v[1] = ref->m[i].pa, v[2] = ref->m[i].shift, v[3] = ref->m[i].attrs;
    }
    qsort(want.v, want.n, sizeof *want.v, cmp_u64);
    leafs got = {calloc(ref->n + 1, sizeof *got.v), 0, ref->n + 1, 0};
    ck_assert_int_eq(scim_pgtable_foreach(pt, lo, len, leaf_cb, &got), 0);
    CHECK(got.n == want.n, "foreach [0x%" PRIx64 ", +0x%" PRIx64 "): %zu leaves, reference %zu", lo, len, got.n,
          want.n);
    for (size_t i = 0; i < got.n; i++)
        CHECK(!memcmp(got.v[i], want.v[i], sizeof got.v[i]),
              "foreach leaf %zu: va 0x%" PRIx64 " pa 0x%" PRIx64 ", reference va 0x%" PRIx64 " pa 0x%" PRIx64, i,
              got.v[i][0], got.v[i][1], want.v[i][0], want.v[i][1]);
    if (want.n >= 2) { /* a non-zero return stops the walk and is passed through */
        leafs part = {got.v, 0, ref->n + 1, 2};
        ck_assert_int_eq(scim_pgtable_foreach(pt, lo, len, leaf_cb, &part), 77);
        ck_assert_uint_eq(part.n, 2);
    }
    free(want.v);
    free(got.v);
}

/* foreach_entry: tables before what they point to, values as in memory. */
typedef struct order_ctx {
    const raw *r;
    uint64_t root;
    uint64_t *seen;
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
    if (o->n < o->cap) /* a leaf's frame too: harmless */
        o->seen[o->n++] = o->r->addr(value, 1) >> 12;
}

/* ------------------------------------------------------------------------ */
/* the random driver                                                          */

typedef struct space {
    const raw *r;
    scim_pgtable *pt;
    ref_pt ref;
    alloc_ctx ctx;
    bool own_ops;
} space;

static const unsigned order_of_shift[31] = {[12] = 0, [21] = 9, [30] = 18};

/* Addresses in a few clusters so that tables fill, share and empty: the
 * indices at each level come from small sets, the top level includes both
 * halves of a sign-extended space. */
static uint64_t rand_va(uint64_t *s, const raw *r, unsigned shift)
{
    static const uint64_t top[] = {0, 1, 255, 256, 511};
    static const uint64_t mid[] = {0, 1, 2, 511};
    static const uint64_t low[] = {0, 1, 2, 3, 4, 5, 6, 7, 200, 511};
    uint64_t va = top[rnd(s, 5)] << span_of(r->levels);
    for (int l = r->levels - 1; l >= 1 && span_of(l) >= shift; l--)
        va |= (l <= 2 ? low[rnd(s, 10)] : mid[rnd(s, 4)]) << span_of(l);
    return sext(r, va);
}

static void space_init(space *x, const raw *r, scim_physmem *pm, bool own_ops)
{
    memset(x, 0, sizeof *x);
    x->r = r;
    x->own_ops = own_ops;
    x->ctx = (alloc_ctx){.pm = pm, .cap = 1u << 16};
    x->ctx.key = calloc(x->ctx.cap, 8);
    x->ctx.val = calloc(x->ctx.cap, 8);
    x->ctx.used = calloc(x->ctx.cap, 1);
    scim_pt_alloc_ops ops = {ctx_alloc, ctx_free, ctx_written, NULL};
    scim_err err = {0};
    x->pt = scim_pgtable_create(pm, r->f, own_ops ? &ops : NULL, &x->ctx, &err);
    CHECK(x->pt, "%s", err.msg);
    ck_assert_ptr_eq(scim_pgtable_format(x->pt), r->f);
    ck_assert_uint_eq(x->ctx.allocs, own_ops ? 1 : 0);
}

static uint64_t data_frames; /* frames this test holds for mappings */

/* One random operation on x, checked against its reference. */
static void step_once(space *x, scim_physmem *pm, uint64_t *s, uint64_t step, uint64_t *tally)
{
    const raw *r = x->r;
    uint64_t op = rnd(s, 100);
    unsigned shift = (unsigned[]){12, 12, 12, 12, 12, 12, 21, 21, 21, 30}[rnd(s, 10)];
    uint64_t va = rand_va(s, r, shift);
    if (x->ref.n && rnd(s, 2)) { /* half the time aim inside an existing mapping */
        ref_map *m = &x->ref.m[rnd(s, x->ref.n)];
        va = m->va + (rnd(s, B(m->shift)) & ~0xfffull);
    }
    if (op < 38) {
        va = sext(r, va & ~(B(shift) - 1));
        unsigned attrs = (unsigned)rnd(s, SCIM_PTA_ALL + 1);
        bool overlap = ref_overlaps(&x->ref, va, shift);
        uint64_t pfn = 0;
        if (!overlap && scim_physmem_alloc(pm, order_of_shift[shift], &pfn, NULL) != 0)
            return; /* no 1 GiB block left */
        uint64_t before = scim_pgtable_table_frames(x->pt);
        scim_err e = {0};
        int rc = scim_pgtable_map(x->pt, va, pfn << 12, shift, attrs, &e);
        if (overlap) {
            CHECK(rc == SCIM_EEXIST, "step %" PRIu64 ": map over an existing page gave %d (%s)", step, rc, e.msg);
            ck_assert_uint_eq(scim_pgtable_table_frames(x->pt), before);
            tally[2]++;
            return;
        }
        CHECK(rc == 0, "step %" PRIu64 ": %s map va 0x%" PRIx64 " shift %u: %s", step, r->f->name, va, shift, e.msg);
        data_frames += B(order_of_shift[shift]);
        ref_add(&x->ref, (ref_map){va, shift, pfn << 12, attrs});
        tally[0]++;
    } else if (op < 58) {
        ref_map *m = ref_find(&x->ref, va);
        unsigned old = 0, osh = 0;
        int rc = scim_pgtable_unmap(x->pt, va, &old, &osh);
        if (!m) {
            ck_assert_int_eq(rc, SCIM_ENOENT);
            return;
        }
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(osh, m->shift);
        ck_assert_uint_eq(old, m->attrs);
        scim_physmem_free(pm, m->pa >> 12, order_of_shift[m->shift]);
        data_frames -= B(order_of_shift[m->shift]);
        ref_remove(&x->ref, m);
        tally[1]++;
    } else if (op < 72) {
        /* bits outside SCIM_PTA_ALL mean nothing and change nothing */
        unsigned set = (unsigned)rnd(s, 1u << 8) | (rnd(s, 4) ? 0 : 1u << 30);
        unsigned clr = (unsigned)rnd(s, 1u << 8);
        ref_map *m = ref_find(&x->ref, va);
        unsigned old = 0;
        int rc = scim_pgtable_update(x->pt, va, set, clr, &old);
        if (!m) {
            ck_assert_int_eq(rc, SCIM_ENOENT);
            return;
        }
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(old, m->attrs);
        m->attrs = (m->attrs | (set & SCIM_PTA_ALL)) & ~clr & SCIM_PTA_ALL;
    } else if (op < 76) {
        ref_map *m = ref_find(&x->ref, va);
        if (!m) {
            ck_assert_int_eq(scim_pgtable_remap(x->pt, va, 0x1000, NULL), SCIM_ENOENT);
            return;
        }
        if (m->shift > 12)
            ck_assert_int_eq(scim_pgtable_remap(x->pt, va, m->pa + 4096, NULL), SCIM_EINVAL);
        uint64_t pfn;
        if (scim_physmem_alloc(pm, order_of_shift[m->shift], &pfn, NULL) != 0)
            return;
        unsigned old = 0;
        ck_assert_int_eq(scim_pgtable_remap(x->pt, va, pfn << 12, &old), 0);
        ck_assert_uint_eq(old, m->attrs);
        scim_physmem_free(pm, m->pa >> 12, order_of_shift[m->shift]);
        m->pa = pfn << 12;
    } else if (op < 96) {
        uint64_t a = va + rnd(s, 4096), pa = 0;
        unsigned sh = 0, at = 0;
        ref_map *m = ref_find(&x->ref, a);
        int rc = scim_pgtable_lookup(x->pt, a, &pa, &sh, &at);
        CHECK(rc == (m != NULL), "step %" PRIu64 ": lookup 0x%" PRIx64 " gave %d", step, a, rc);
        if (m) {
            ck_assert_uint_eq(pa, m->pa + (a - m->va));
            ck_assert_uint_eq(sh, m->shift);
            ck_assert_uint_eq(at, m->attrs);
        }
    } else if (op < 98) {
        uint64_t len = (uint64_t[]){1, 4096, B(21), 3ull << 30, B(40), UINT64_MAX}[rnd(s, 6)];
        check_foreach(x->pt, &x->ref, va - rnd(s, B(22)), len);
    } else {
        /* bad requests change nothing */
        scim_err e = {0};
        uint64_t before = scim_pgtable_table_frames(x->pt);
        uint64_t bad_va = r->sext ? B(r->va_bits - 1) : B(r->va_bits);
        ck_assert_int_eq(scim_pgtable_map(x->pt, bad_va, 0x200000, 21, 0, &e), SCIM_EINVAL);
        ck_assert_int_eq(scim_pgtable_map(x->pt, 0x1000, 0x200000, 21, 0, NULL), SCIM_EINVAL);
        ck_assert_int_eq(scim_pgtable_map(x->pt, 0x200000, 0x201000, 21, 0, NULL), SCIM_EINVAL);
        ck_assert_int_eq(scim_pgtable_map(x->pt, 0x200000, 0x200000, 16, 0, NULL), SCIM_EINVAL);
        ck_assert_int_eq(scim_pgtable_map(x->pt, 0x200000, r->pa_limit, 12, 0, NULL), SCIM_EINVAL);
        ck_assert_int_eq(scim_pgtable_lookup(x->pt, bad_va, NULL, NULL, NULL), 0);
        ck_assert_int_eq(scim_pgtable_unmap(x->pt, bad_va, NULL, NULL), SCIM_ENOENT);
        ck_assert_uint_eq(scim_pgtable_table_frames(x->pt), before);
    }
}

static void drive(uint64_t seed, uint64_t ops)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(8ull << 30, &err);
    CHECK(pm, "%s", err.msg);
    const uint64_t total = scim_physmem_frames_total(pm);
    data_frames = 0;
    space sp[N_RAW];
    for (int k = 0; k < N_RAW; k++)
        space_init(&sp[k], &raws[k], pm, k != 0); /* the first one takes its tables straight from pm */
    uint64_t s = seed, tally[3] = {0}; /* maps, unmaps, overlaps */
    for (uint64_t step = 0; step < ops; step++) {
        step_once(&sp[rnd(&s, N_RAW)], pm, &s, step, tally);
        if (step % 2500 == 0 || step + 1 == ops) {
            uint64_t tables = 0;
            for (int k = 0; k < N_RAW; k++) {
                check_tables(pm, sp[k].pt, sp[k].r, &sp[k].ref, sp[k].own_ops ? &sp[k].ctx : NULL);
                tables += scim_pgtable_table_frames(sp[k].pt);
                order_ctx o = {sp[k].r, scim_pgtable_root(sp[k].pt), calloc(65536, 8), 0, 65536, 0, pm};
                scim_pgtable_foreach_entry(sp[k].pt, entry_cb, &o);
                ck_assert_uint_eq(o.count, sp[k].ref.n + scim_pgtable_table_frames(sp[k].pt) - 1);
                free(o.seen);
            }
            CHECK(total == scim_physmem_frames_free(pm) + data_frames + tables,
                  "frames: %" PRIu64 " total != %" PRIu64 " free + %" PRIu64 " data + %" PRIu64 " tables", total,
                  scim_physmem_frames_free(pm), data_frames, tables);
        }
    }
    CHECK(tally[0] > ops / 10 && tally[1] > ops / 40 && tally[2] > 0,
          "maps %" PRIu64 " unmaps %" PRIu64 " overlaps %" PRIu64, tally[0], tally[1], tally[2]);
    /* unmap everything: only the roots are left, every frame is accounted */
    for (int k = 0; k < N_RAW; k++) {
        space *x = &sp[k];
        check_foreach(x->pt, &x->ref, 0, UINT64_MAX);
        while (x->ref.n) {
            ref_map *m = &x->ref.m[rnd(&s, x->ref.n)];
            ck_assert_int_eq(scim_pgtable_unmap(x->pt, m->va + (B(m->shift) - 1), NULL, NULL), 0);
            scim_physmem_free(pm, m->pa >> 12, order_of_shift[m->shift]);
            ref_remove(&x->ref, m);
        }
        ck_assert_uint_eq(scim_pgtable_table_frames(x->pt), 1);
        check_tables(pm, x->pt, x->r, &x->ref, x->own_ops ? &x->ctx : NULL);
    }
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total - N_RAW);
    for (int k = 0; k < N_RAW; k++) {
        scim_pgtable_destroy(sp[k].pt);
        ck_assert_uint_eq(sp[k].ctx.allocs, sp[k].ctx.frees);
        free(sp[k].ref.m);
        free(sp[k].ctx.key);
        free(sp[k].ctx.val);
        free(sp[k].ctx.used);
    }
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 0);
    scim_physmem_destroy(pm);
}

START_TEST(test_random_tables) { drive(0x9a9e7ab1e + (uint64_t)_i, 24000); }
END_TEST

/* Destroying a populated table frees every table frame (and only those):
 * 40 pages, each in its own last-level and level-2 table under one table
 * per level above (the root included). */
START_TEST(test_destroy_populated)
{
    const raw *r = &raws[_i];
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(64ull << 20, &err);
    const uint64_t total = scim_physmem_frames_total(pm);
    scim_pgtable *pt = scim_pgtable_create(pm, r->f, NULL, NULL, &err);
    uint64_t data;
    ck_assert_int_eq(scim_physmem_alloc(pm, 0, &data, NULL), 0);
    for (uint64_t i = 0; i < 40; i++)
        ck_assert_int_eq(scim_pgtable_map(pt, (i << 30) | (i << 21) | (i << 12), data << 12, 12, SCIM_PTA_WRITE, &err),
                         0);
    uint64_t tables = 1 + (uint64_t)(r->levels - 3) + 40 + 40;
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), tables);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total - 1 - tables);
    scim_pgtable_destroy(pt);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total - 1);
    scim_physmem_free(pm, data, 0);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), total);
    scim_physmem_destroy(pm);
}
END_TEST

/* A whole 1 GiB page at the top of each format's space and a 4 KiB page at
 * the end of its lower half (one table per level below the root for each;
 * on a 3-level format the 1 GiB page is a root entry): translation keeps
 * the offset, and the first address past the space is refused. */
START_TEST(test_edges)
{
    const raw *r = &raws[_i];
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(4ull << 30, &err);
    scim_pgtable *pt = scim_pgtable_create(pm, r->f, NULL, NULL, &err);
    uint64_t g;
    ck_assert_int_eq(scim_physmem_alloc(pm, 18, &g, &err), 0);
    uint64_t last = r->sext ? UINT64_MAX : B(r->va_bits) - 1;
    uint64_t top = last & ~(B(30) - 1), half = B(r->va_bits - 1) - 4096;
    ck_assert_int_eq(scim_pgtable_map(pt, top, g << 12, 30, SCIM_PTA_WRITE | SCIM_PTA_USER, &err), 0);
    uint64_t pa;
    unsigned sh;
    ck_assert_int_eq(scim_pgtable_lookup(pt, last, &pa, &sh, NULL), 1);
    ck_assert_uint_eq(pa, (g << 12) + 0x3fffffff);
    ck_assert_uint_eq(sh, 30);
    ck_assert_int_eq(scim_pgtable_map(pt, last & ~0xfffull, 0x5000, 12, 0, &err), SCIM_EEXIST);
    ck_assert_int_eq(scim_pgtable_map(pt, half, 0x5000, 12, 0, &err), 0);
    ck_assert_int_eq(scim_pgtable_lookup(pt, half + 0xfff, &pa, &sh, NULL), 1);
    ck_assert_uint_eq(pa, 0x5fff);
    uint64_t past = r->sext ? B(r->va_bits - 1) : last + 1; /* the first address the format does not translate */
    ck_assert_int_eq(scim_pgtable_lookup(pt, past, NULL, NULL, NULL), 0);
    ck_assert_int_eq(scim_pgtable_map(pt, past, 0x6000, 12, 0, &err), SCIM_EINVAL);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), 1 + (uint64_t)(r->levels - 3) + (uint64_t)(r->levels - 1));
    ck_assert_int_eq(scim_pgtable_unmap(pt, top + 12345, NULL, NULL), 0);
    ck_assert_int_eq(scim_pgtable_unmap(pt, half, NULL, NULL), 0);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), 1);
    scim_pgtable_destroy(pt);
    scim_physmem_free(pm, g, 18);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), scim_physmem_frames_total(pm));
    scim_physmem_destroy(pm);
}
END_TEST

/* The table-address hook (the seam for a stage-2 translation of table
 * pointers): the tables hold "guest" addresses OFF below where their
 * memory is; every entry is read and written at guest + OFF, the root and
 * the table pointers stay guest addresses, and lookups still translate. */
#define OFF (1ull << 30)
typedef struct hook_ctx {
    scim_physmem *pm;
    uint64_t tables_live;
} hook_ctx;
static int hook_alloc(void *c, uint64_t *pfn, scim_err *err)
{
    hook_ctx *h = c;
    int rc = scim_physmem_alloc(h->pm, 0, pfn, err);
    CHECK(rc || (*pfn << 12) >= OFF, "frame below the offset");
    *pfn -= OFF >> 12;
    h->tables_live++;
    return rc;
}
static void hook_free(void *c, uint64_t pfn)
{
    hook_ctx *h = c;
    h->tables_live--;
    scim_physmem_free(h->pm, pfn + (OFF >> 12), 0);
}
static uint64_t hook_addr(void *c, uint64_t addr)
{
    (void)c;
    return addr + OFF;
}

START_TEST(test_table_addr_hook)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(2 * OFF, &err);
    hook_ctx h = {pm, 0};
    uint64_t low; /* keep the allocator above OFF: take the low gigabyte */
    for (int o = 18; o >= 0; o--) {
        while (scim_physmem_alloc(pm, (unsigned)o, &low, NULL) == 0) {
            if ((low << 12) >= OFF) { /* the first block above OFF goes back */
                scim_physmem_free(pm, low, (unsigned)o);
                break;
            }
        }
    }
    scim_pt_alloc_ops ops = {hook_alloc, hook_free, NULL, hook_addr};
    scim_pgtable *pt = scim_pgtable_create(pm, &scim_pt_sv48, &ops, &h, &err);
    ck_assert_ptr_nonnull(pt);
    uint64_t root = scim_pgtable_root(pt);
    ck_assert_uint_lt(root, OFF);
    const uint64_t va = 0x7f1234567000ull, page = 0x3000;
    ck_assert_int_eq(scim_pgtable_map(pt, va, page, 12, SCIM_PTA_USER, &err), 0);
    /* follow the tables by hand: each pointer is a guest address */
    uint64_t table = root;
    for (int l = 4; l >= 1; l--) {
        uint64_t e = scim_physmem_read64(pm, table + OFF + ((va >> span_of(l)) & 511) * 8);
        ck_assert_uint_ne(e & 1, 0);
        table = rv_addr(e, l);
        if (l > 1)
            ck_assert_uint_lt(table, OFF);
    }
    ck_assert_uint_eq(table, page);
    uint64_t pa;
    ck_assert_int_eq(scim_pgtable_lookup(pt, va + 5, &pa, NULL, NULL), 1);
    ck_assert_uint_eq(pa, page + 5);
    ck_assert_uint_eq(h.tables_live, 4);
    ck_assert_int_eq(scim_pgtable_unmap(pt, va, NULL, NULL), 0);
    ck_assert_uint_eq(h.tables_live, 1);
    scim_pgtable_destroy(pt);
    ck_assert_uint_eq(h.tables_live, 0);
    scim_physmem_destroy(pm);
}
END_TEST

static Suite *pagetable_suite(void)
{
    Suite *s = suite_create("pagetable");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, test_edges, 0, N_RAW);
    tcase_add_loop_test(tc, test_destroy_populated, 0, N_RAW);
    tcase_add_test(tc, test_table_addr_hook);
    tcase_add_loop_test(tc, test_random_tables, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(pagetable_suite()); }

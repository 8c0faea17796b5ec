/* The shared walker (mmu/walker.h) in every page-table format, and its
 * table-address hook (the seam for a stage-2 translation of each table
 * pointer), on a dummy memory as in test_walker.c: a read is answered
 * MEM_D ps after it is sent, a walk starts with one PWC_L cache lookup.
 * A cold walk of an L-level format reads exactly L entries, at the index
 * of each level's 9 VA bits, and takes PWC_L + L x MEM_D. Entries are
 * written with this file's own constants (Intel SDM Vol. 3A 4.5; Arm ARM
 * D8.3; RISC-V Privileged 10.3.1).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"
#include "core/stats.h"
#include "mmu/walker.h"
#include "scimitar/kernel.h"
#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define PWC_L 1000ull
#define MEM_D 50000ull
#define HOOK_D 7000ull /* ps: the asynchronous hook's translation */
#define OFF 0x40000000ull /* the hook's "guest" to "host" offset */
#define IDX(va, l) (((va) >> (3 + 9 * (l))) & 511)
#define VA 0x0000003456789000ull /* valid in every format (below 2^38) */

typedef unsigned long long ull;
enum { MAX_ENT = 64, MAX_LOG = 32 };

typedef struct fx {
    scim_kernel *k;
    scim_stats *stats;
    scim_walker *w;
    uint64_t pa[MAX_ENT], val[MAX_ENT];
    size_t n;
    scim_pte_read log[MAX_LOG];
    uint32_t walk_of[MAX_LOG];
    size_t nlog;
    scim_walk_result res;
    int done;
    scim_time_t done_at;
    int hook;           /* 0 none, 1 synchronous, 2 asynchronous */
    uint64_t hook_addr[MAX_LOG];
    size_t nhook;
} fx;

static uint64_t *mem(fx *f, uint64_t pa)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->pa[i] == pa)
            return &f->val[i];
    ck_assert_int_lt(f->n, MAX_ENT);
    f->pa[f->n] = pa;
    f->val[f->n] = 0;
    return &f->val[f->n++];
}

static void answer(void *ctx, uint64_t i)
{
    fx *f = ctx;
    scim_walker_pte(f->w, f->walk_of[i], *mem(f, f->log[i].pa));
}

static void dummy_read(void *cookie, uint32_t walk, const scim_pte_read *r)
{
    fx *f = cookie;
    ck_assert_int_lt(f->nlog, MAX_LOG);
    f->log[f->nlog] = *r;
    f->walk_of[f->nlog] = walk;
    scim_kernel_schedule(f->k, MEM_D, SCIM_PRIO_DEFAULT, answer, f, f->nlog++);
}

static const scim_pte_reader_ops dummy_ops = {.read = dummy_read};

static void ready(void *ctx, uint64_t arg)
{
    fx *f = ctx;
    scim_walker_table_ready(f->w, (uint32_t)(arg >> 48), arg & ((1ull << 48) - 1));
}

static bool hook(void *cookie, uint32_t walk, uint32_t pasid, uint64_t addr, uint64_t *pa)
{
    fx *f = cookie;
    (void)pasid;
    f->hook_addr[f->nhook++] = addr;
    if (f->hook == 1) {
        *pa = addr + OFF;
        return true;
    }
    scim_kernel_schedule(f->k, HOOK_D, SCIM_PRIO_DEFAULT, ready, f, ((uint64_t)walk << 48) | (addr + OFF));
    return false;
}

static const scim_pt_xlate_ops hook_ops = {.table_addr = hook};

static void walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    fx *f = owner;
    (void)cookie;
    f->res = *r;
    f->done++;
    f->done_at = scim_kernel_now(f->k);
}

static void fx_init(fx *f, int hook_kind)
{
    memset(f, 0, sizeof *f);
    scim_err err = {0};
    f->k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    f->stats = scim_stats_create();
    scim_walker_params p = {.walkers = 2, .pwc_entries = 8, .pwc_latency = PWC_L, .queue = 0, .seed = 1};
    f->w = scim_walker_create(f->k, "w", &p, walk_done, f, f->stats, &err);
    ck_assert_msg(f->w, "%s", err.msg);
    scim_walker_set_reader(f->w, &dummy_ops, f);
    f->hook = hook_kind;
    if (hook_kind)
        scim_walker_set_table_xlate(f->w, &hook_ops, f);
}

static void fx_free(fx *f)
{
    scim_walker_destroy(f->w);
    scim_stats_destroy(f->stats);
    scim_kernel_destroy(f->k);
}

static void fx_run(fx *f)
{
    scim_err err = {0};
    ck_assert_int_eq(scim_kernel_run(f->k, &err), 0);
}

/* Entries by hand: a table pointer, and a user leaf (writable or not) at a level. */
static uint64_t tbl(scim_isa isa, uint64_t next)
{
    switch (isa) {
    case SCIM_ISA_ARMV8: return next | 3;                  /* bits[1:0] 0b11 */
    case SCIM_ISA_RISCV: return ((next >> 12) << 10) | 1;  /* PPN, V */
    default: return next | 7;                              /* P RW US */
    }
}

static uint64_t leaf(scim_isa isa, uint64_t pa, int level, bool writable)
{
    switch (isa) {
    case SCIM_ISA_ARMV8: /* page 0b11 / block 0b01, AP[1] EL0, AP[2] unless writable, AF */
        return pa | (level == 1 ? 3 : 1) | 0x40 | (writable ? 0 : 0x80) | 0x400;
    case SCIM_ISA_RISCV: /* V R (W) U */
        return ((pa >> 12) << 10) | 0x13 | (writable ? 4 : 0);
    default: /* P (RW) US, PS above level 1 */
        return pa | 5 | (writable ? 2 : 0) | (level > 1 ? 0x80 : 0);
    }
}

/* va's path from root down to a leaf at `stop`; tables at the given
 * addresses (their memory at addr + offset). */
static void put_path(fx *f, const scim_pt_format *fmt, uint64_t root, int stop, uint64_t page, bool writable,
                     uint64_t offset)
{
    uint64_t table = root;
    for (int l = fmt->levels; l > stop; l--) {
        uint64_t next = root + (uint64_t)(fmt->levels - l + 1) * 0x1000;
        *mem(f, table + offset + IDX(VA, l) * 8) = tbl(fmt->isa, next);
        table = next;
    }
    *mem(f, table + offset + IDX(VA, stop) * 8) = leaf(fmt->isa, page, stop, writable);
}

static const struct fmt_case {
    const scim_pt_format *fmt;
    int stop;       /* level of the leaf */
    bool writable;
    unsigned shift, perms;
} fmt_cases[] = {
    {&scim_pt_x86_4l, 1, true, 12, 3},     {&scim_pt_x86_5l, 1, true, 12, 3},
    {&scim_pt_armv8_va39, 1, true, 12, 3}, {&scim_pt_armv8_va48, 1, false, 12, 1},
    {&scim_pt_sv39, 1, true, 12, 3},       {&scim_pt_sv48, 1, false, 12, 1},
    {&scim_pt_sv57, 1, true, 12, 3},       {&scim_pt_x86_4l, 2, true, 21, 3},
    {&scim_pt_armv8_va39, 2, true, 21, 3}, {&scim_pt_armv8_va39, 3, false, 30, 1},
    {&scim_pt_armv8_va48, 2, true, 21, 3}, {&scim_pt_sv39, 3, true, 30, 3},
    {&scim_pt_sv57, 2, false, 21, 1},
};

/* A cold walk reads one entry per level from the root to the leaf. */
START_TEST(cold_walk)
{
    const struct fmt_case *c = &fmt_cases[_i];
    const scim_pt_format *f = c->fmt;
    fx x;
    fx_init(&x, 0);
    const uint64_t root = 0x10000, page = 0x40000000;
    put_path(&x, f, root, c->stop, page, c->writable, 0);
    ck_assert(scim_walker_walk(x.w, 3, VA, true, root, f, 9));
    fx_run(&x);
    int reads = f->levels - c->stop + 1;
    ck_assert_int_eq(x.done, 1);
    ck_assert_msg(x.res.status == SCIM_WALK_OK && x.res.reads == (uint32_t)reads && x.res.page_pa == page &&
                      x.res.shift == c->shift && x.res.perms == c->perms,
                  "%s leaf at %d: status %d, %u reads, page %#llx, shift %u, perms %u", f->name, c->stop,
                  x.res.status, x.res.reads, (ull)x.res.page_pa, x.res.shift, x.res.perms);
    ck_assert_uint_eq(x.done_at, PWC_L + (uint64_t)reads * MEM_D);
    ck_assert_uint_eq(x.nlog, (size_t)reads);
    uint64_t table = root;
    for (int i = 0; i < reads; i++) {
        int level = f->levels - i;
        ck_assert_int_eq(x.log[i].level, level);
        ck_assert_uint_eq(x.log[i].pa, table + IDX(VA, level) * 8);
        ck_assert_uint_eq(x.log[i].fmt, f->id);
        ck_assert(x.log[i].set_ad && x.log[i].write && x.log[i].pasid == 3);
        table = root + (uint64_t)(i + 1) * 0x1000;
    }
    fx_free(&x);
}
END_TEST

/* Malformed and missing entries, hand-written (SDM 4.5.4; Arm ARM D8.3;
 * RISC-V 10.3.2 step 3 and 6): the walk stops at them, reserved or not
 * present, after the reads down to them. */
static const struct bad_case {
    const char *name;
    const scim_pt_format *fmt;
    int stop;
    uint64_t entry;
    scim_walk_status status;
} bad_cases[] = {
    {"x86 PS in a PML4E", &scim_pt_x86_4l, 4, 0x1087, SCIM_WALK_RESERVED},
    {"x86 2 MiB leaf, bit 13", &scim_pt_x86_5l, 2, 0x40202087, SCIM_WALK_RESERVED},
    {"x86 PTE not present", &scim_pt_x86_4l, 1, 0x40000006, SCIM_WALK_NOT_PRESENT},
    {"arm level-0 block", &scim_pt_armv8_va48, 4, 0x0000008000000741ull, SCIM_WALK_RESERVED},
    {"arm level-3 0b01", &scim_pt_armv8_va48, 1, 0x0000000040000741ull, SCIM_WALK_RESERVED},
    {"arm RES0 bit 48 in a block", &scim_pt_armv8_va39, 2, 0x0001000040000741ull, SCIM_WALK_RESERVED},
    {"arm invalid descriptor", &scim_pt_armv8_va39, 2, 0x0000000040000740ull, SCIM_WALK_NOT_PRESENT},
    {"rv W without R", &scim_pt_sv39, 1, 0x10000015, SCIM_WALK_RESERVED},
    {"rv pointer at the last level", &scim_pt_sv39, 1, 0x1401, SCIM_WALK_RESERVED},
    {"rv misaligned megapage", &scim_pt_sv48, 2, 0x10000417, SCIM_WALK_RESERVED},
    {"rv N bit (63) without Svnapot", &scim_pt_sv57, 5, 0x8000000000001401ull, SCIM_WALK_RESERVED},
    {"rv V clear", &scim_pt_sv48, 3, 0x10000016, SCIM_WALK_NOT_PRESENT},
};

START_TEST(bad_entry)
{
    const struct bad_case *c = &bad_cases[_i];
    fx x;
    fx_init(&x, 0);
    const uint64_t root = 0x10000;
    put_path(&x, c->fmt, root, c->stop, 0x40000000, true, 0);
    uint64_t table = root + (uint64_t)(c->fmt->levels - c->stop) * 0x1000;
    *mem(&x, table + IDX(VA, c->stop) * 8) = c->entry;
    ck_assert(scim_walker_walk(x.w, 3, VA, false, root, c->fmt, 9));
    fx_run(&x);
    int reads = c->fmt->levels - c->stop + 1;
    ck_assert_msg(x.done == 1 && x.res.status == c->status && x.res.reads == (uint32_t)reads && x.res.perms == 0,
                  "%s: status %d after %u reads, expected %d after %d", c->name, x.res.status, x.res.reads, c->status,
                  reads);
    ck_assert_uint_eq(x.done_at, PWC_L + (uint64_t)reads * MEM_D);
    fx_free(&x);
}
END_TEST

/* Every table address, the root's included, goes through the hook; the
 * entries hold the hook's input addresses, the reads go to its outputs.
 * Asynchronous: each level waits HOOK_D more. */
START_TEST(table_hook)
{
    const int kind = 1 + _i % 2;
    const scim_pt_format *f = _i < 2 ? &scim_pt_sv48 : &scim_pt_armv8_va48;
    fx x;
    fx_init(&x, kind);
    const uint64_t root = 0x10000, page = 0x40000000;
    put_path(&x, f, root, 1, page, true, OFF);
    ck_assert(scim_walker_walk(x.w, 3, VA, false, root, f, 9));
    fx_run(&x);
    ck_assert_int_eq(x.done, 1);
    ck_assert_int_eq(x.res.status, SCIM_WALK_OK);
    ck_assert_uint_eq(x.res.page_pa, page); /* leaves are not the hook's */
    ck_assert_uint_eq(x.nhook, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(x.hook_addr[i], root + (uint64_t)i * 0x1000);
        ck_assert_uint_eq(x.log[i].pa, root + (uint64_t)i * 0x1000 + OFF + IDX(VA, 4 - i) * 8);
    }
    ck_assert_uint_eq(x.done_at, PWC_L + 4 * (MEM_D + (kind == 2 ? HOOK_D : 0)));
    fx_free(&x);
}
END_TEST

/* An invalidation of the PASID while the hook is translating: the walk
 * starts again (one restart) and still ends with the leaf. */
START_TEST(table_hook_restart)
{
    fx x;
    fx_init(&x, 2);
    const uint64_t root = 0x10000, page = 0x40000000;
    put_path(&x, &scim_pt_sv39, root, 1, page, true, OFF);
    ck_assert(scim_walker_walk(x.w, 3, VA, false, root, &scim_pt_sv39, 9));
    scim_err err = {0};
    ck_assert_int_eq(scim_kernel_run_until(x.k, PWC_L + HOOK_D / 2, &err), 0);
    scim_inv_scope s = {SCIM_INV_PASID, 3, 0, 0};
    scim_walker_invalidate(x.w, &s);
    fx_run(&x);
    ck_assert_int_eq(x.done, 1);
    ck_assert_int_eq(x.res.status, SCIM_WALK_OK);
    ck_assert_uint_eq(x.res.page_pa, page);
    double restarts = -1;
    ck_assert_int_eq(scim_stats_lookup(x.stats, "w.walk.restarts", &restarts), 0);
    ck_assert(restarts == 1);
    /* the first root translation is thrown away: PWC_L + HOOK_D, then PWC_L + 3 x (HOOK_D + MEM_D) */
    ck_assert_uint_eq(x.done_at, PWC_L + HOOK_D + PWC_L + 3 * (HOOK_D + MEM_D));
    fx_free(&x);
}
END_TEST

static Suite *walker_fmt_suite(void)
{
    Suite *s = suite_create("walker_fmt");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, cold_walk, 0, (int)COUNT_OF(fmt_cases));
    tcase_add_loop_test(tc, bad_entry, 0, (int)COUNT_OF(bad_cases));
    tcase_add_loop_test(tc, table_hook, 0, 4);
    tcase_add_test(tc, table_hook_restart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(walker_fmt_suite()); }

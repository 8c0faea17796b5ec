/* RISC-V G-stage stage-2 formats Sv39x4 and Sv48x4 (mmu/pt_stage2.h) on
 * entries and addresses written by hand from the RISC-V Privileged
 * Architecture, release 20211203 (the same section titles in later
 * releases, whose chapter numbers moved):
 *   8.5.1 "Guest Physical Address Translation": the incoming address is
 *         widened by 2 bits (41 for Sv39x4, 50 for Sv48x4), the root table
 *         alone grows to 16 KiB (2048 entries) and must be 16 KiB aligned;
 *         bits 63:41 (63:50) not zero: a guest-page fault; PTEs have the
 *         Sv39/Sv48 formats; every access is a user access (U checked as
 *         U-mode); the G bit is reserved: "cleared by software ... ignored
 *         by hardware";
 *   10.3.1 (the Sv39/Sv48 PTE: V0 R1 W2 X3 U4 G5 A6 D7, PPN at bit 10),
 *   10.3.2 (the walk: W without R reserved, a pointer at the last level,
 *         misaligned superpages, A and D).
 * The hex literals are composed here from those bit positions, not from
 * the headers. Then the page table's 16 KiB root (one order-2 block of
 * frames, freed whole) and the index of a guest-physical address at the
 * top of the space, read at the hand-computed address root + index x 8.
 */
#include <check.h>
#include <string.h>

#include "core/proto.h"
#include "mmu/pagetable.h"
#include "mmu/physmem.h"
#include "mmu/pt_stage2.h"

#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define KIB16 (16ull * 1024)
#define FRAME 4096ull

#define PU SCIM_PTA_USER
#define PW SCIM_PTA_WRITE
#define PA_ SCIM_PTA_ACCESSED
#define PD SCIM_PTA_DIRTY
#define NX SCIM_PTA_NOEXEC
#define RW (SCIM_PERM_R | SCIM_PERM_W)
#define RO SCIM_PERM_R

static const scim_pt_format *const X39 = &scim_pt_sv39x4, *const X48 = &scim_pt_sv48x4;

/* decode: format, level (1 = last), entry, kind, address, shift, rights, attributes */
static const struct dec_case {
    const char *name;
    const scim_pt_format *const *f;
    int level;
    uint64_t pte;
    scim_pte_kind kind;
    uint64_t addr;
    unsigned shift, perms, attrs;
} dec_cases[] = {
    {"zero: not present", &X39, 3, 0, SCIM_PTE_NOT_PRESENT, 0, 0, 0, 0},
    {"V clear, rest set", &X39, 1, 0x48d0feull, SCIM_PTE_NOT_PRESENT, 0, 0, 0, 0},
    /* PPN 0x1234 << 10 = 0x48d000; V: a pointer (R = W = X = 0) */
    {"root pointer", &X39, 3, 0x48d001ull, SCIM_PTE_TABLE, 0x1234000ull, 0, RW, 0},
    {"Sv48x4 root pointer", &X48, 4, 0x48d001ull, SCIM_PTE_TABLE, 0x1234000ull, 0, RW, 0},
    {"pointer at the last level", &X39, 1, 0x48d001ull, SCIM_PTE_RESERVED, 0, 0, 0, 0},
    /* V R W U A D = 0x01|0x02|0x04|0x10|0x40|0x80 = 0xd7, X clear */
    {"4 KiB leaf RW U A D", &X39, 1, 0x48d0d7ull, SCIM_PTE_LEAF, 0x1234000ull, 12, RW, PU | PW | PA_ | PD | NX},
    /* U = 0: a G-stage access is a user access, so no rights (8.5.1) */
    {"leaf without U", &X39, 1, 0x48d007ull, SCIM_PTE_LEAF, 0x1234000ull, 12, 0, PW | NX},
    /* G (0x20) is reserved and ignored: no GLOBAL attribute */
    {"leaf with G ignored", &X48, 1, 0x48d033ull, SCIM_PTE_LEAF, 0x1234000ull, 12, RO, PU | NX},
    {"W without R", &X39, 1, 0x48d015ull, SCIM_PTE_RESERVED, 0, 0, 0, 0},
    {"bit 54 set", &X39, 1, (1ull << 54) | 0x48d013ull, SCIM_PTE_RESERVED, 0, 0, 0, 0},
    /* a gigapage in the Sv39x4 root: PA 0x40000000, PPN 0x40000 << 10 = 0x10000000; V R X U = 0x1b */
    {"1 GiB leaf in the root", &X39, 3, 0x1000001bull, SCIM_PTE_LEAF, 0x40000000ull, 30, RO, PU},
    /* PA 0x40200000 (PPN 0x40200 << 10 = 0x10080000): not 1 GiB aligned */
    {"misaligned 1 GiB leaf", &X39, 3, 0x1008001bull, SCIM_PTE_RESERVED, 0, 0, 0, 0},
    /* 2 MiB leaf at level 2: PA 0x200000, PPN 0x200 << 10 = 0x80000 */
    {"2 MiB leaf", &X48, 2, 0x80017ull, SCIM_PTE_LEAF, 0x200000ull, 21, RW, PU | PW | NX},
    /* a 512 GiB leaf in the Sv48x4 root: PA 2^39, PPN 2^27 << 10 = 2^37 */
    {"512 GiB leaf in the root", &X48, 4, (1ull << 37) | 0x13ull, SCIM_PTE_LEAF, 1ull << 39, 39, RO, PU | NX},
};

START_TEST(decode)
{
    const struct dec_case *c = &dec_cases[_i];
    scim_pte_info i;
    (*c->f)->decode(c->pte, c->level, &i);
    ck_assert_msg(i.kind == c->kind, "%s: kind %d, want %d", c->name, i.kind, c->kind);
    if (c->kind != SCIM_PTE_TABLE && c->kind != SCIM_PTE_LEAF)
        return;
    ck_assert_msg(i.addr == c->addr, "%s: addr 0x%llx", c->name, (unsigned long long)i.addr);
    ck_assert_msg(i.perms == c->perms, "%s: perms %u, want %u", c->name, i.perms, c->perms);
    if (c->kind == SCIM_PTE_LEAF) {
        ck_assert_msg(i.shift == c->shift, "%s: shift %u", c->name, i.shift);
        ck_assert_msg(i.attrs == c->attrs, "%s: attrs 0x%x, want 0x%x", c->name, i.attrs, c->attrs);
    }
}
END_TEST

/* encode: what the hypervisor writes, and the walker's A/D update */
START_TEST(encode)
{
    for (int k = 0; k < 2; k++) {
        const scim_pt_format *f = k ? X48 : X39;
        /* 0x5000: PPN 5 << 10 = 0x1400, V */
        ck_assert_uint_eq(f->make_table(0x5000ull, f->levels), 0x1401ull);
        /* PA 0x9000: PPN 9 << 10 = 0x2400; V R W X U = 0x1f; G never written */
        ck_assert_uint_eq(f->make_leaf(0x9000ull, 1, PU | PW), 0x241full);
        ck_assert_uint_eq(f->make_leaf(0x9000ull, 1, PU | PW | SCIM_PTA_GLOBAL), 0x241full);
        ck_assert_uint_eq(f->make_leaf(0x9000ull, 1, PU), 0x241bull);
        /* 2 MiB: PA 0x40200000, PPN 0x40200 << 10 = 0x10080000 */
        ck_assert_uint_eq(f->make_leaf(0x40200000ull, 2, PU | PW), 0x1008001full);
        /* a read sets A (0x40), a write A and D (0x80), on a permitted leaf */
        ck_assert_uint_eq(f->hw_update(0x241full, 1, false), 0x245full);
        ck_assert_uint_eq(f->hw_update(0x241full, 1, true), 0x24dfull);
        ck_assert_uint_eq(f->hw_update(0x241bull, 1, true), 0x241bull); /* read-only: a fault, no update */
        ck_assert_uint_eq(f->hw_update(0x240full, 1, false), 0x240full); /* U = 0: no rights, no update */
        ck_assert_uint_eq(f->hw_update(0x1401ull, 2, false), 0x1401ull); /* pointers carry no A */
        /* write taken away, G asked for and refused; the address changed */
        ck_assert_uint_eq(f->set_attrs(0x24dfull, 1, SCIM_PTA_GLOBAL, PW | PD), 0x245bull);
        ck_assert_uint_eq(f->set_addr(0x241full, 1, 0x7000ull), 0x1c1full);
    }
}
END_TEST

/* Geometry: 2 extra bits at the root only (8.5.1, the Sv39x4 and Sv48x4
 * guest-physical address figures: VPN[2] is bits 40:30, VPN[3] 49:39). */
START_TEST(geometry)
{
    ck_assert_int_eq(X39->levels, 3);
    ck_assert_uint_eq(X39->va_bits, 41);
    ck_assert_int_eq(X48->levels, 4);
    ck_assert_uint_eq(X48->va_bits, 50);
    for (int l = 1; l < 3; l++)
        ck_assert_uint_eq(scim_pt_table_order(X39, l), 0);
    ck_assert_uint_eq(scim_pt_table_entries(X39, 3), 2048);
    ck_assert_uint_eq(scim_pt_table_order(X39, 3), 2);
    ck_assert_uint_eq(scim_pt_table_entries(X48, 4), 2048);
    ck_assert_uint_eq(scim_pt_table_order(X48, 4), 2);
    ck_assert_uint_eq(scim_pt_table_entries(X48, 3), 512);
    ck_assert_uint_eq(scim_pt_level_shift(X39, 3), 30);
    ck_assert_uint_eq(scim_pt_level_shift(X48, 4), 39);
    /* the top page: bits 40:30 (49:39) all ones = 2047 */
    ck_assert_uint_eq(scim_pt_index(X39, (1ull << 41) - FRAME, 3), 2047);
    ck_assert_uint_eq(scim_pt_index(X48, (1ull << 50) - FRAME, 4), 2047);
    ck_assert_uint_eq(scim_pt_index(X39, 0x1ffc0000000ull, 3), 0x7ff); /* 2^41 - 1 GiB */
    ck_assert_uint_eq(scim_pt_index(X39, 0x8000000000ull, 3), 512);   /* 512 GiB: the first extra entry */
    /* zero-extended, not sign-extended: bits 63:41 (63:50) must be zero */
    ck_assert(scim_pt_va_valid(X39, (1ull << 41) - 1));
    ck_assert(!scim_pt_va_valid(X39, 1ull << 41));
    ck_assert(!scim_pt_va_valid(X39, 0xfffffffffffff000ull));
    ck_assert(scim_pt_va_valid(X48, (1ull << 50) - 1));
    ck_assert(!scim_pt_va_valid(X48, 1ull << 50));
    /* leaves at every level: 4 KiB, 2 MiB, 1 GiB (and 512 GiB in Sv48x4) */
    ck_assert_int_eq(scim_pt_leaf_level(X39, 30), 3);
    ck_assert_int_eq(scim_pt_leaf_level(X48, 39), 4);
    ck_assert_ptr_eq(scim_pt_format_by_id(SCIM_PT_SV39X4), X39);
    ck_assert_ptr_eq(scim_pt_format_by_id(SCIM_PT_SV48X4), X48);
    ck_assert_ptr_eq(scim_pt_stage2_by_name("sv39x4"), X39);
    ck_assert_ptr_eq(scim_pt_stage2_by_name("sv48x4"), X48);
    ck_assert_ptr_eq(scim_pt_stage2_by_name("ept4"), &scim_pt_ept4);
    ck_assert_ptr_null(scim_pt_stage2_by_name("sv39"));
    /* the host's paging picks the G-stage mode */
    ck_assert_ptr_eq(scim_pt_stage2_of(SCIM_ISA_RISCV, &scim_pt_sv39), X39);
    ck_assert_ptr_eq(scim_pt_stage2_of(SCIM_ISA_RISCV, &scim_pt_sv48), X48);
    ck_assert_ptr_eq(scim_pt_stage2_of(SCIM_ISA_RISCV, &scim_pt_sv57), X48);
    ck_assert_ptr_eq(scim_pt_stage2_of(SCIM_ISA_RISCV, NULL), X48);
    ck_assert_ptr_eq(scim_pt_stage2_of(SCIM_ISA_X86_64, NULL), &scim_pt_ept4);
}
END_TEST

/* The page table: a 16 KiB root aligned to 16 KiB (4 frames), a mapping at
 * the top of the guest-physical space through root entry 2047, read at
 * root + 2047 x 8 by hand; unmapping and destroying give every frame back,
 * the root's 4 at once. */
static const struct pt_case {
    const scim_pt_format *const *f;
    uint64_t top;
    unsigned tables; /* frames of tables with the top page mapped: root 4 + one per lower level */
} pt_cases[] = {
    {&X39, (1ull << 41) - FRAME, 4 + 2},
    {&X48, (1ull << 50) - FRAME, 4 + 3},
};

struct seen { unsigned n; uint64_t va[4]; };

static int visit(void *ctx, uint64_t va, uint64_t pa, unsigned shift, unsigned attrs)
{
    struct seen *s = ctx;
    (void)pa, (void)shift, (void)attrs;
    if (s->n < COUNT_OF(s->va))
        s->va[s->n] = va;
    s->n++;
    return 0;
}

START_TEST(root_block)
{
    const struct pt_case *c = &pt_cases[_i];
    const scim_pt_format *f = *c->f;
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(64ull << 20, &err);
    ck_assert_ptr_nonnull(pm);
    /* take frame 1 so that the lowest free block of 4 is not frame 0's */
    uint64_t one;
    ck_assert_int_eq(scim_physmem_alloc(pm, 0, &one, &err), 0);
    uint64_t free0 = scim_physmem_frames_free(pm);
    scim_pgtable *pt = scim_pgtable_create(pm, f, NULL, NULL, &err);
    ck_assert_msg(pt, "%s", err.msg);
    uint64_t root = scim_pgtable_root(pt);
    ck_assert_uint_eq(root % KIB16, 0);
    ck_assert_uint_eq(root, 4 * FRAME); /* frames 4-7: the lowest aligned free block of 4 */
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), 4);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), free0 - 4);
    const uint64_t data = 0x40000000ull;
    ck_assert_int_eq(scim_pgtable_map(pt, c->top, data, 12, PU | PW, &err), 0);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), c->tables);
    scim_pte_info e;
    f->decode(scim_physmem_read64(pm, root + 2047 * 8), f->levels, &e);
    ck_assert_int_eq(e.kind, SCIM_PTE_TABLE);
    for (uint64_t i = 0; i < 2047; i++) /* nothing else in the root */
        ck_assert_uint_eq(scim_physmem_read64(pm, root + i * 8), 0);
    uint64_t pa = 0;
    ck_assert_int_eq(scim_pgtable_lookup(pt, c->top + 0x123, &pa, NULL, NULL), 1);
    ck_assert_uint_eq(pa, data + 0x123);
    ck_assert_int_eq(scim_pgtable_lookup(pt, c->top - FRAME, &pa, NULL, NULL), 0);
    /* beyond the guest-physical space: refused, not aliased onto entry 0 */
    ck_assert_int_ne(scim_pgtable_map(pt, c->top + FRAME, data, 12, PU, &err), 0);
    /* a low address: root entry 0 */
    ck_assert_int_eq(scim_pgtable_map(pt, 0x1000, data + FRAME, 12, PU | PW, &err), 0);
    f->decode(scim_physmem_read64(pm, root), f->levels, &e);
    ck_assert_int_eq(e.kind, SCIM_PTE_TABLE);
    /* every leaf, in order: foreach walks all 2048 root entries */
    struct seen s = {0};
    ck_assert_int_eq(scim_pgtable_foreach(pt, 0, c->top + FRAME, visit, &s), 0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_uint_eq(s.va[0], 0x1000);
    ck_assert_uint_eq(s.va[1], c->top);
    ck_assert_int_eq(scim_pgtable_unmap(pt, 0x1000, NULL, NULL), 0);
    ck_assert_int_eq(scim_pgtable_unmap(pt, c->top, NULL, NULL), 0);
    ck_assert_uint_eq(scim_pgtable_table_frames(pt), 4); /* emptied tables freed, never the root */
    ck_assert_uint_eq(scim_physmem_frames_free(pm), free0 - 4);
    scim_pgtable_destroy(pt);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), free0);
    /* the 4 frames came back as one block: a new order-2 allocation gets them */
    uint64_t b;
    ck_assert_int_eq(scim_physmem_alloc(pm, 2, &b, &err), 0);
    ck_assert_uint_eq(b, root / FRAME);
    scim_physmem_destroy(pm);
}
END_TEST

/* An allocator that hands out single frames only cannot build a G-stage
 * table: the page table says so instead of indexing past a 4 KiB root. */
static int one_frame(void *cookie, uint64_t *pfn, scim_err *err) { return scim_physmem_alloc(cookie, 0, pfn, err); }
static void one_free(void *cookie, uint64_t pfn) { scim_physmem_free(cookie, pfn, 0); }

START_TEST(no_block_ops)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(16ull << 20, &err);
    uint64_t free0 = scim_physmem_frames_free(pm);
    const scim_pt_alloc_ops ops = {.alloc_table = one_frame, .free_table = one_free};
    ck_assert_ptr_null(scim_pgtable_create(pm, X39, &ops, pm, &err));
    ck_assert_int_eq(err.code, SCIM_EINVAL);
    ck_assert_msg(strstr(err.msg, "16 KiB") != NULL, "%s", err.msg);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), free0);
    /* the same ops build a 4 KiB-root format */
    scim_pgtable *pt = scim_pgtable_create(pm, &scim_pt_ept4, &ops, pm, &err);
    ck_assert_ptr_nonnull(pt);
    scim_pgtable_destroy(pt);
    scim_physmem_destroy(pm);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gstage");
    TCase *tc = tcase_create("gstage");
    tcase_add_loop_test(tc, decode, 0, (int)COUNT_OF(dec_cases));
    tcase_add_test(tc, encode);
    tcase_add_test(tc, geometry);
    tcase_add_loop_test(tc, root_block, 0, (int)COUNT_OF(pt_cases));
    tcase_add_test(tc, no_block_ops);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

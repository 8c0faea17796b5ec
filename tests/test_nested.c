/* Two-stage (nested) walks of the shared walker (mmu/walker.h) on a dummy
 * memory that serves real tables: a guest's stage-1 table (x86-64, Armv8-A,
 * RISC-V) at guest-physical addresses, written by mmu/pagetable.c through
 * a stage-2 hook, and the hypervisor's stage-2 table (Intel EPT, SDM Vol.
 * 3C 29.3.2; Arm stage 2, Arm ARM D8.3; RISC-V G-stage Sv39x4 and Sv48x4,
 * Privileged spec 20211203 8.5.1, whose 16 KiB root the page table takes
 * as one order-2 block) mapping every guest frame.
 *
 * The dummy answers a read MEM_D ps after it arrives with the entry as
 * stored (the format's accessed/dirty update applied, as the memory
 * controller does) and logs it. A walk that finds nothing cached takes
 * PWC_L (one cache lookup) + MEM_D per entry read. The 2D walk of an
 * n-level guest over an m-level stage 2 translates the root and each of
 * the n table pointers through stage 2 (m reads each) and reads the n
 * guest entries: n(m + 1) + m = (n + 1)(m + 1) - 1 reads, 24 for 4 over 4,
 * 29 for 5 over 4, 19 for 3 over 4, 15 for 3 over 3 (Bhargava et al.,
 * ASPLOS'08, figure 2).
 * With PWC_L = 1000 and MEM_D = 50000 ps a cold 4/4 walk takes
 * 1000 + 24 x 50000 = 1201000 ps.
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "core/stats.h"
#include "mmu/pagetable.h"
#include "mmu/physmem.h"
#include "mmu/pt_stage2.h"
#include "mmu/walker.h"
#include "scimitar/kernel.h"

#include "helpers/testutil.h"

#define PWC_L 1000ull
#define MEM_D 50000ull
#define HOST_BYTES (64ull << 20)
#define GUEST_BYTES (16ull << 20)
#define VMID 3u
#define PASID 7u
#define FRAME 4096ull

enum { MAX_LOG = 64 };

typedef struct rd { uint64_t pa, value; uint8_t fmt; int level; uint32_t walk; } rd;

typedef struct fx {
    scim_kernel *k;
    scim_stats *stats;
    scim_walker *w;
    scim_physmem *host, *guest; /* guest: only an allocator of guest-physical frames */
    scim_pgtable *s2, *s1;
    const scim_pt_format *f1, *f2;
    rd log[MAX_LOG];
    size_t nlog;
    bool done;
    scim_walk_result r;
    scim_time_t t_done;
} fx;

/* The host frame behind a guest-physical address (the stage-2 table's own
 * functional lookup). */
static uint64_t s2_lookup(void *cookie, uint64_t gpa)
{
    fx *f = cookie;
    uint64_t hpa = 0;
    CHECK(scim_pgtable_lookup(f->s2, gpa, &hpa, NULL, NULL) == 1, "gpa 0x%llx not in stage 2",
          (unsigned long long)gpa);
    return hpa;
}

/* A guest frame, backed at once by a host frame in stage 2. */
static uint64_t guest_frame(fx *f)
{
    uint64_t g, h;
    scim_err err = {0};
    ck_assert_int_eq(scim_physmem_alloc(f->guest, 0, &g, &err), 0);
    ck_assert_int_eq(scim_physmem_alloc(f->host, 0, &h, &err), 0);
    ck_assert_int_eq(scim_pgtable_map(f->s2, g * FRAME, h * FRAME, 12, SCIM_PTA_USER | SCIM_PTA_WRITE, &err), 0);
    return g;
}

static int g_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    (void)err;
    *pfn = guest_frame(cookie);
    return 0;
}
static void g_free(void *cookie, uint64_t pfn) { (void)cookie, (void)pfn; }

static const scim_pt_alloc_ops guest_ops = {.alloc_table = g_alloc, .free_table = g_free, .table_addr = s2_lookup};

static void answer(void *ctx, uint64_t i)
{
    fx *f = ctx;
    scim_walker_pte(f->w, f->log[i].walk, f->log[i].value);
}

static void mem_read(void *cookie, uint32_t walk, const scim_pte_read *r)
{
    fx *f = cookie;
    CHECK(f->nlog < MAX_LOG, "too many reads");
    uint64_t v = scim_physmem_read64(f->host, r->pa);
    if (r->set_ad) {
        uint64_t nv = scim_pt_format_by_id(r->fmt)->hw_update(v, r->level, r->write);
        if (nv != v)
            scim_physmem_write64(f->host, r->pa, nv);
        v = nv;
    }
    f->log[f->nlog] = (rd){r->pa, v, r->fmt, r->level, walk};
    scim_kernel_schedule(f->k, MEM_D, SCIM_PRIO_DEFAULT, answer, f, f->nlog++);
}

static const scim_pte_reader_ops reader = {.read = mem_read};

static void walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    fx *f = owner;
    (void)cookie;
    f->done = true;
    f->r = *r;
    f->t_done = scim_kernel_now(f->k);
}

static void fx_init(fx *f, const scim_pt_format *f1, const scim_pt_format *f2, uint64_t pwc, uint64_t s2tlb,
                    uint64_t s2pwc)
{
    memset(f, 0, sizeof *f);
    scim_err err = {0};
    f->f1 = f1;
    f->f2 = f2;
    f->k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    ck_assert_msg(f->k, "%s", err.msg);
    f->stats = scim_stats_create();
    f->host = scim_physmem_create(HOST_BYTES, &err);
    f->guest = scim_physmem_create(GUEST_BYTES, &err);
    ck_assert(f->host && f->guest);
    f->s2 = scim_pgtable_create(f->host, f2, NULL, NULL, &err);
    ck_assert_msg(f->s2, "%s", err.msg);
    f->s1 = scim_pgtable_create(f->host, f1, &guest_ops, f, &err);
    ck_assert_msg(f->s1, "%s", err.msg);
    scim_walker_params p = {.walkers = 1, .pwc_entries = pwc, .pwc_latency = PWC_L, .seed = 1, .nested = true,
                            .s2tlb_entries = s2tlb, .s2pwc_entries = s2pwc};
    f->w = scim_walker_create(f->k, "w", &p, walk_done, f, f->stats, &err);
    ck_assert_msg(f->w, "%s", err.msg);
    scim_walker_set_reader(f->w, &reader, f);
}

static void fx_free(fx *f)
{
    scim_walker_destroy(f->w);
    scim_pgtable_destroy(f->s1);
    scim_pgtable_destroy(f->s2);
    scim_physmem_destroy(f->guest);
    scim_physmem_destroy(f->host);
    scim_stats_destroy(f->stats);
    scim_kernel_destroy(f->k);
}

static uint64_t stat(fx *f, const char *name)
{
    double v = -1;
    ck_assert_msg(scim_stats_lookup(f->stats, name, &v) == 0, "no statistic %s", name);
    return (uint64_t)v;
}

/* Map va to a fresh guest frame; its guest-physical address. */
static uint64_t map_page(fx *f, uint64_t va, bool write)
{
    uint64_t g = guest_frame(f);
    scim_err err = {0};
    unsigned attrs = SCIM_PTA_USER | (write ? SCIM_PTA_WRITE : 0);
    ck_assert_int_eq(scim_pgtable_map(f->s1, va, g * FRAME, 12, attrs, &err), 0);
    return g * FRAME;
}

/* One walk from a quiet walker: reads it made (from log index *from on). */
static uint32_t walk(fx *f, uint64_t va, bool write)
{
    f->done = false;
    scim_stage2 s2 = {.root = scim_pgtable_root(f->s2), .fmt = f->f2, .vmid = VMID};
    scim_time_t t0 = scim_kernel_now(f->k);
    ck_assert(scim_walker_walk_nested(f->w, PASID, va, write, scim_pgtable_root(f->s1), f->f1, &s2, 0));
    scim_err err = {0};
    ck_assert_int_eq(scim_kernel_run(f->k, &err), 0);
    ck_assert(f->done);
    f->t_done -= t0;
    return f->r.reads;
}

#define VA 0x00007f1234567000ull

/* Table-driven: a cold walk (no caches) reads (n+1)(m+1)-1 entries, in the
 * order root through stage 2, guest entry, next pointer through stage 2,
 * ..., the final guest-physical address through stage 2; the answer is the
 * host frame stage 2 maps the guest's page to. */
static const struct cold_case {
    const char *name;
    const scim_pt_format *f1, *f2;
    uint64_t va;
    uint32_t reads;
} cold_cases[] = {
    {"x86 4-level over EPT", &scim_pt_x86_4l, &scim_pt_ept4, VA, 24},
    {"x86 5-level over EPT", &scim_pt_x86_5l, &scim_pt_ept4, VA, 29},
    {"Arm va48 over stage 2", &scim_pt_armv8_va48, &scim_pt_arm_s2_48, VA, 24},
    {"Arm va39 over stage 2", &scim_pt_armv8_va39, &scim_pt_arm_s2_48, 0x0000003f12345000ull, 19},
    /* RISC-V G-stage (Privileged spec 20211203, 8.5.1): (3+1)(3+1)-1 = 15,
     * (4+1)(4+1)-1 = 24, (5+1)(4+1)-1 = 29 */
    {"RISC-V Sv39 over Sv39x4", &scim_pt_sv39, &scim_pt_sv39x4, 0x0000003f12345000ull, 15},
    {"RISC-V Sv48 over Sv48x4", &scim_pt_sv48, &scim_pt_sv48x4, VA, 24},
    {"RISC-V Sv57 over Sv48x4", &scim_pt_sv57, &scim_pt_sv48x4, VA, 29},
};

START_TEST(cold_walk)
{
    const struct cold_case *c = &cold_cases[_i];
    fx f;
    fx_init(&f, c->f1, c->f2, 0, 0, 0);
    uint64_t gpa = map_page(&f, c->va, true);
    uint64_t hpa = s2_lookup(&f, gpa);
    ck_assert_uint_eq(walk(&f, c->va, false), c->reads);
    int n = c->f1->levels, m = c->f2->levels;
    ck_assert_uint_eq(c->reads, (uint32_t)((n + 1) * (m + 1) - 1));
    ck_assert_uint_eq(f.r.status, SCIM_WALK_OK);
    ck_assert_uint_eq(f.r.page_pa, hpa);
    ck_assert_uint_eq(f.r.shift, 12);
    ck_assert_uint_eq(f.r.perms, SCIM_PERM_R | SCIM_PERM_W);
    /* the hand-derived latency: one cache lookup, then every read in turn */
    ck_assert_uint_eq(f.t_done, PWC_L + (uint64_t)c->reads * MEM_D);
    /* the order: m stage-2 reads (levels m..1), one guest read, ..., m stage-2 reads */
    size_t i = 0;
    for (int g = n; g >= 0; g--) {
        for (int l = m; l >= 1; l--, i++) {
            ck_assert_msg(f.log[i].fmt == c->f2->id && f.log[i].level == l, "%s: read %zu is fmt %u level %d",
                          c->name, i, f.log[i].fmt, f.log[i].level);
        }
        if (g >= 1) {
            ck_assert_msg(f.log[i].fmt == c->f1->id && f.log[i].level == g, "%s: read %zu is fmt %u level %d",
                          c->name, i, f.log[i].fmt, f.log[i].level);
            i++;
        }
    }
    ck_assert_uint_eq(i, c->reads);
    ck_assert_uint_eq(stat(&f, "w.walk.s2_reads"), (uint64_t)(n + 1) * m);
    ck_assert_uint_eq(stat(&f, "w.walk.nested"), 1);
    fx_free(&f);
}
END_TEST

/* The G-stage root takes 2 more guest-physical bits (8.5.1): a guest page
 * at the top of the 41-bit (Sv39x4) or 50-bit (Sv48x4) guest-physical
 * space goes through root entry 2047, read at root + 2047 x 8 (beyond the
 * 4 KiB a 512-entry table would have), and the entries below it at index
 * 511. The guest's tables sit in low guest frames (root entry 0). */
static const struct top_case {
    const scim_pt_format *f1, *f2;
    uint64_t va, gpa_top;
} top_cases[] = {
    {&scim_pt_sv39, &scim_pt_sv39x4, 0x0000003f12345000ull, (1ull << 41) - FRAME},
    {&scim_pt_sv48, &scim_pt_sv48x4, VA, (1ull << 50) - FRAME},
};

START_TEST(gstage_top_gpa)
{
    const struct top_case *c = &top_cases[_i];
    fx f;
    fx_init(&f, c->f1, c->f2, 0, 0, 0);
    scim_err err = {0};
    uint64_t h;
    ck_assert_int_eq(scim_physmem_alloc(f.host, 0, &h, &err), 0);
    ck_assert_int_eq(scim_pgtable_map(f.s2, c->gpa_top, h * FRAME, 12, SCIM_PTA_USER | SCIM_PTA_WRITE, &err), 0);
    ck_assert_int_eq(scim_pgtable_map(f.s1, c->va, c->gpa_top, 12, SCIM_PTA_USER | SCIM_PTA_WRITE, &err), 0);
    int n = c->f1->levels, m = c->f2->levels;
    uint32_t reads = walk(&f, c->va, false);
    ck_assert_uint_eq(reads, (uint32_t)((n + 1) * (m + 1) - 1));
    ck_assert_uint_eq(f.r.status, SCIM_WALK_OK);
    ck_assert_uint_eq(f.r.page_pa, h * FRAME);
    /* the last stage-2 walk (the data page's): root entry 2047, then 511s */
    uint64_t root = scim_pgtable_root(f.s2);
    ck_assert_uint_eq(root % (16 * 1024), 0);
    const rd *last = &f.log[reads - (uint32_t)m];
    ck_assert_uint_eq(last->fmt, c->f2->id);
    ck_assert_uint_eq(last->level, m);
    ck_assert_uint_eq(last->pa, root + 2047 * 8);
    scim_pte_info e;
    c->f2->decode(last->value, m, &e);
    ck_assert_int_eq(e.kind, SCIM_PTE_TABLE);
    ck_assert_uint_eq(f.log[reads - (uint32_t)m + 1].pa, e.addr + 511 * 8);
    /* the root's stage-2 walk (the guest root's low guest frame): entry 0 */
    ck_assert_uint_eq(f.log[0].pa, root);
    fx_free(&f);
}
END_TEST

/* A guest-physical address beyond 41 bits (bit 41 set) under Sv39x4: "bits
 * 63:41 must all be zeros, or else a guest-page-fault exception occurs"
 * (8.5.1). The guest's Sv39 entries can hold it (44-bit PPN); the walk
 * reads the root's stage-2 walk and the guest entries with theirs, 3 x
 * (3 + 1) = 12 reads, then ends at stage 2 without reading: the address
 * would index root entry 0 if its bit 41 were dropped. */
START_TEST(gstage_gpa_beyond)
{
    fx f;
    fx_init(&f, &scim_pt_sv39, &scim_pt_sv39x4, 0, 0, 0);
    const uint64_t va = 0x0000003f12345000ull, gpa = 1ull << 41;
    scim_err err = {0};
    ck_assert_int_eq(scim_pgtable_map(f.s1, va, gpa, 12, SCIM_PTA_USER | SCIM_PTA_WRITE, &err), 0);
    ck_assert_uint_eq(scim_pt_index(&scim_pt_sv39x4, gpa, 3), 0);
    ck_assert(!scim_pt_va_valid(&scim_pt_sv39x4, gpa));
    ck_assert_uint_eq(walk(&f, va, false), 12);
    ck_assert_uint_eq(f.r.status, SCIM_WALK_RESERVED);
    ck_assert_uint_eq(f.r.stage, 2);
    ck_assert_uint_eq(f.t_done, PWC_L + 12 * MEM_D);
    ck_assert_uint_eq(stat(&f, "w.walk.s2_faults"), 1);
    ck_assert_uint_eq(stat(&f, "w.walk.s2_reads"), 9);
    fx_free(&f);
}
END_TEST

/* Walk caches: after a cold walk, the same page again finds the combined
 * pointer to its last-level table (host address) and the data page in the
 * stage-2 TLB: 1 read. A page next to it (same last-level table) reads its
 * guest entry and translates its own guest-physical page: 1 + 4 reads. A
 * page in the next 1 GiB finds the pointer to the level-3 table it shares
 * (combined, host address) and reads levels 3, 2 and 1; the pointers to its
 * new level-2 and level-1 tables and its data page go through stage 2 (not
 * in the stage-2 TLB): 3 guest reads + 3 x 4 = 15. */
START_TEST(cached_walks)
{
    fx f;
    fx_init(&f, &scim_pt_x86_4l, &scim_pt_ept4, 16, 16, 0);
    map_page(&f, VA, true);
    uint64_t gpa2 = map_page(&f, VA + FRAME, true);
    uint64_t far = VA + (1ull << 30);
    map_page(&f, far, true);
    ck_assert_uint_eq(walk(&f, VA, false), 24);
    ck_assert_uint_eq(walk(&f, VA, false), 1);
    ck_assert_uint_eq(f.t_done, PWC_L + MEM_D);
    ck_assert_uint_eq(walk(&f, VA + FRAME, true), 5);
    ck_assert_uint_eq(f.r.page_pa, s2_lookup(&f, gpa2));
    ck_assert_uint_eq(walk(&f, far, false), 15);
    ck_assert_uint_eq(stat(&f, "w.s2tlb.hits"), 1); /* the second walk's data page */
    fx_free(&f);
}
END_TEST

/* Stage-2 paging-structure caches alone: the guest's frames (tables,
 * pages) come one after another from guest frame 1 on, all under the first
 * last-level EPT table. The root's stage-2 walk reads 4 entries and caches
 * the pointers to the EPT tables below the root; every later stage-2 walk
 * starts at the last-level EPT table: 1 read. Cold: 4 + 1 + 3 x (1 + 1) +
 * 1 = 12 reads; the same walk again (no other cache): each of its 5
 * stage-2 walks, the root's too, reads 1 entry: 5 + 4 guest reads = 9. */
START_TEST(s2pwc_walks)
{
    fx f;
    fx_init(&f, &scim_pt_x86_4l, &scim_pt_ept4, 0, 0, 16);
    map_page(&f, VA, true);
    ck_assert_uint_eq(walk(&f, VA, false), 12);
    ck_assert_uint_eq(f.t_done, PWC_L + 12 * MEM_D);
    ck_assert_uint_eq(walk(&f, VA, false), 9);
    ck_assert_uint_eq(stat(&f, "w.s2pwc.pde.hits"), 4 + 5);
    fx_free(&f);
}
END_TEST

/* Faults split by stage: a guest page not mapped ends at stage 1 (root
 * through stage 2, then the guest's level-4 entry of an empty slot: 5
 * reads); a guest page whose guest-physical frame stage 2 does not map
 * ends at stage 2 after every guest entry was read (24 reads, the last
 * stage-2 walk stops at its last level). */
START_TEST(faults_by_stage)
{
    fx f;
    fx_init(&f, &scim_pt_x86_4l, &scim_pt_ept4, 0, 0, 0);
    uint64_t gpa = map_page(&f, VA, true);
    ck_assert_uint_eq(walk(&f, 0x0000100000000000ull, false), 5);
    ck_assert_uint_eq(f.r.status, SCIM_WALK_NOT_PRESENT);
    ck_assert_uint_eq(f.r.stage, 1);
    unsigned old, shift;
    ck_assert_int_eq(scim_pgtable_unmap(f.s2, gpa, &old, &shift), 0);
    ck_assert_uint_eq(walk(&f, VA, false), 24);
    ck_assert_uint_eq(f.r.status, SCIM_WALK_NOT_PRESENT);
    ck_assert_uint_eq(f.r.stage, 2);
    ck_assert_uint_eq(stat(&f, "w.walk.s2_faults"), 1);
    fx_free(&f);
}
END_TEST

/* A read-only stage-2 leaf takes the write right away from the combined
 * translation (EPT W clear); the EPT entries used got their accessed bit
 * and the written data page's leaf its dirty bit (SDM 29.3.5). */
START_TEST(stage2_rights_and_ad)
{
    fx f;
    fx_init(&f, &scim_pt_x86_4l, &scim_pt_ept4, 0, 0, 0);
    uint64_t gpa = map_page(&f, VA, true);
    uint64_t ro = map_page(&f, VA + FRAME, true);
    ck_assert_int_eq(scim_pgtable_update(f.s2, ro, 0, SCIM_PTA_WRITE, NULL), 0);
    walk(&f, VA + FRAME, false);
    ck_assert_uint_eq(f.r.perms, SCIM_PERM_R);
    walk(&f, VA, true);
    ck_assert_uint_eq(f.r.perms, SCIM_PERM_R | SCIM_PERM_W);
    uint64_t leaf = scim_pgtable_leaf_entry(f.s2, gpa);
    ck_assert(leaf & SCIM_EPT_A);
    ck_assert(leaf & SCIM_EPT_D);
    fx_free(&f);
}
END_TEST

/* EPT entries by hand (SDM Vol. 3C tables 29-1 to 29-6, 29.3.3.1). */
START_TEST(ept_encoding)
{
    const scim_pt_format *e = &scim_pt_ept4;
    scim_pte_info i;
    e->decode(0, 1, &i);
    ck_assert_int_eq(i.kind, SCIM_PTE_NOT_PRESENT);
    e->decode(0x1234000ull | 0x7, 4, &i); /* PML4E: RWX, a table */
    ck_assert_int_eq(i.kind, SCIM_PTE_TABLE);
    ck_assert_uint_eq(i.addr, 0x1234000ull);
    e->decode(0x1234000ull | 0x7 | (1ull << 7), 4, &i); /* bit 7 of a PML4E: reserved */
    ck_assert_int_eq(i.kind, SCIM_PTE_RESERVED);
    e->decode(0x1234000ull | 0x2, 1, &i); /* write without read: misconfiguration */
    ck_assert_int_eq(i.kind, SCIM_PTE_RESERVED);
    e->decode(0x1234000ull | 0x7 | (6ull << 3), 1, &i); /* PTE, WB */
    ck_assert_int_eq(i.kind, SCIM_PTE_LEAF);
    ck_assert_uint_eq(i.shift, 12);
    ck_assert_uint_eq(i.perms, SCIM_PERM_R | SCIM_PERM_W);
    e->decode(0x1234000ull | 0x7 | (2ull << 3), 1, &i); /* memory type 2: reserved */
    ck_assert_int_eq(i.kind, SCIM_PTE_RESERVED);
    e->decode(0x40000000ull | 0x1 | (6ull << 3) | (1ull << 7), 3, &i); /* 1 GiB read-only */
    ck_assert_int_eq(i.kind, SCIM_PTE_LEAF);
    ck_assert_uint_eq(i.shift, 30);
    ck_assert_uint_eq(i.perms, SCIM_PERM_R);
    e->decode(0x40200000ull | 0x1 | (6ull << 3) | (1ull << 7), 3, &i); /* misaligned 1 GiB */
    ck_assert_int_eq(i.kind, SCIM_PTE_RESERVED);
    ck_assert_uint_eq(e->make_leaf(0x200000ull, 2, SCIM_PTA_USER | SCIM_PTA_WRITE),
                      0x200000ull | 0x7 | (6ull << 3) | (1ull << 7));
    ck_assert_uint_eq(e->make_table(0x5000ull, 3), 0x5007ull);
    ck_assert_uint_eq(e->hw_update(0x5007ull, 3, true), 0x5007ull | SCIM_EPT_A);
    /* Arm stage 2 (D8.3): a level-3 page, S2AP read, DBM writable clean */
    const scim_pt_format *a = &scim_pt_arm_s2_48;
    uint64_t pg = a->make_leaf(0x9000ull, 1, SCIM_PTA_USER | SCIM_PTA_WRITE);
    ck_assert_uint_eq(pg, 0x9000ull | 0x3 | (0xfull << 2) | (1ull << 6) | (3ull << 8) | (1ull << 51));
    a->decode(pg, 1, &i);
    ck_assert_int_eq(i.kind, SCIM_PTE_LEAF);
    ck_assert_uint_eq(i.perms, SCIM_PERM_R | SCIM_PERM_W);
    ck_assert_uint_eq(a->hw_update(pg, 1, true), pg | SCIM_S2_AF | SCIM_S2_S2AP_W);
    a->decode(0x9000ull | 0x1, 1, &i); /* a level-3 0b01: reserved */
    ck_assert_int_eq(i.kind, SCIM_PTE_RESERVED);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nested");
    TCase *tc = tcase_create("walks");
    tcase_add_loop_test(tc, cold_walk, 0, (int)(sizeof cold_cases / sizeof cold_cases[0]));
    tcase_add_loop_test(tc, gstage_top_gpa, 0, (int)(sizeof top_cases / sizeof top_cases[0]));
    tcase_add_test(tc, gstage_gpa_beyond);
    tcase_add_test(tc, cached_walks);
    tcase_add_test(tc, s2pwc_walks);
    tcase_add_test(tc, faults_by_stage);
    tcase_add_test(tc, stage2_rights_and_ad);
    tcase_add_test(tc, ept_encoding);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

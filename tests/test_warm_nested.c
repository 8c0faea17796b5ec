/* The functional two-stage walk (sim.warmup), scim_walker_walk_now_nested
 * (mmu/walker_now.c), against its timed twin scim_walker_walk_nested
 * (mmu/walker.c: begin, read_entry, s2_translate, s2_pte, s2_done).
 *
 * Reference: a twin, as tests/test_warm_walker.c does for one-stage walks.
 * Two sides are built alike (a host memory; per VM a stage-2 table and
 * guest tables whose table addresses are guest-physical, mapped in the
 * same order, so on the same frames; the same walker parameters and seed).
 * Side T walks timed: the kernel runs to the done callback, each entry read
 * answered by a dummy memory through scim_pte_walk_read (set_ad, as the
 * memory controller). Side F walks functionally; its kernel never runs.
 * The timed walk is an event-driven state machine written apart from
 * walker_now.c's single loop (they share walker_internal.h's inline helpers
 * and the TLB). After every step the sides must agree on the result, on
 * every statistic but the time histograms (walks, walk.pte_reads,
 * walk.nested, walk.s2_reads, walk.s2_faults, each cache's hits, misses,
 * inserts, evictions), on every walk cache's contents in set/way order
 * (scim_walker_caches lists only the combined pwc.*: the stage-2 TLB and
 * paging-structure caches are read through walker_internal.h, as other
 * tests read *_internal.h), and on every entry of every table (A/D bits).
 * Caches of 2 entries evict all along, so a drifting replacement order
 * shows within a few steps. A second reference, independent of both
 * walkers, checks the translation: the page tables' own lookups
 * (mmu/pagetable.c) give each step's status, failing stage, host page and
 * rights, which a fault the two walkers shared (a stage-2 TLB ignoring
 * the VM id, say) would break.
 *
 * Steps: seeded random VAs over guest 4 KiB pages (read-only in stage 1 or
 * 2, guest frames stage 2 does not map, holes), guest 2 MiB pages over
 * 4 KiB stage-2 pages and over a 2 MiB one, 4 KiB pages in a 2 MiB stage-2
 * leaf, a region whose last-level guest table stage 2 does not map, a gPA
 * beyond stage 2's input, nothing mapped; reads and writes; PASIDs 1 and 2
 * in VM 1, PASID 3 in VM 2 (VM 1's gPAs, other host frames). Between steps
 * both sides get the same changes: invalidations (PASID, range, global),
 * A/D bits cleared in either stage, a stage-2 data page unmapped or mapped
 * again, then scim_walker_invalidate_s2tlb, as the hypervisor does.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/page.h"
#include "core/stats.h"
#include "mmu/pagetable.h"
#include "mmu/physmem.h"
#include "mmu/pt_stage2.h"
#include "mmu/pte_ad.h"
#include "mmu/walker.h"
#include "mmu/walker_internal.h" /* the stage-2 TLB and paging-structure caches */
#include "scimitar/kernel.h"

#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef unsigned long long ull;

#define HOST_BYTES (64ull << 20)
#define MEM_DELAY 50000ull  /* ps: the dummy memory's answer */
#define PWC_LATENCY 1000ull /* ps */
#define WALKER_SEED 7u
#define STEPS 240
#define CHANGE_ONE_IN 3 /* steps followed by an OS or hypervisor change */
#define REPEAT_ONE_IN 4 /* steps walking the last step's address again */
#define MAX_TABLES 64   /* guest table frames per VM */
#define MAX_PTES 4096
#define MAX_SNAP 256
#define MAX_CACHES 8
#define MAX_STAT_NAME 128
#define RW_ATTRS (SCIM_PTA_USER | SCIM_PTA_WRITE)
#define AD_ATTRS (SCIM_PTA_ACCESSED | SCIM_PTA_DIRTY)

enum { NVM = 2, NPROC = 3 };
static const int vm_of_proc[NPROC] = {0, 0, 1};
static const int rank_in_vm[NPROC] = {0, 1, 0}; /* picks the guest-physical frames: PASID 3 uses PASID 1's */
static const uint32_t vmid_of_vm[NVM] = {1, 2};

/* Guest VAs (below 2^38: valid in Sv39 too). */
#define N4K 24         /* 4 KiB pages, by index i: */
#define S1_HOLE 5      /*   i % KINDS: not mapped in stage 1 */
#define S2_HOLE 4      /*   guest frame not mapped in stage 2 */
#define S2_READONLY 3  /*   read-only in stage 2 */
#define KINDS 6
#define S1_READONLY_EVERY 7 /* stage-1 rights, by page: read-only */
#define S1_SUPERVISOR_EVERY 11 /* supervisor only */
#define N4K_PAST 4     /* pages past the end: not present */
#define N2M 3          /* guest 2 MiB pages over 4 KiB stage-2 pages; one more over a 2 MiB one; one more unmapped */
#define SUB_MAPPED 16  /* 4 KiB frames of a guest 2 MiB page stage 2 maps (the next one it does not) */
#define NBIG 8         /* guest 4 KiB pages inside a 2 MiB stage-2 leaf */
#define NORPHAN 4      /* guest pages under a last-level table stage 2 does not map */
#define NFAR 4         /* pages in another 1 GiB; one more maps a gPA beyond stage 2's input */
#define NNONE 4        /* 2 MiB slots probed where nothing is mapped */
#define ACCESS_ALIGN 8ull
#define REGION_4K 0x1000000000ull
#define REGION_ORPHAN 0x1001000000ull /* the same 1 GiB, another 2 MiB: only its last-level table is its own */
#define REGION_2M 0x1040000000ull
#define REGION_BIG 0x1080000000ull
#define REGION_FAR 0x2000000000ull
#define REGION_NONE 0x3000000000ull
/* Guest-physical layout of a VM (rank r: the r-th process of the VM). */
#define GPA_TABLES 0x00100000ull
#define GPA_4K 0x00400000ull
#define GPA_ORPHAN 0x00600000ull
#define GPA_FAR 0x00700000ull
#define GPA_2M 0x00800000ull
#define GPA_BIG 0x02000000ull /* 2 MiB stage-2 leaves: the 4 KiB pages' block, then one guest 2 MiB page per rank */

#define PAGE_4K SCIM_PAGE_SIZE
#define PAGE_2M (1ull << SCIM_SHIFT_2M)

/* ---------- one side of the twin ---------- */

typedef struct side side;

typedef struct vm {
    side *s;
    scim_pgtable *s2;
    uint32_t vmid;
    uint64_t table_gpa[MAX_TABLES], table_hpa[MAX_TABLES]; /* where the guest's tables are */
    size_t ntables;
} vm;

struct side {
    scim_kernel *k;
    scim_stats *stats;
    scim_physmem *host; /* every table and page, host-physical */
    scim_walker *w;
    const scim_pt_format *f1, *f2;
    vm vms[NVM];
    scim_pgtable *pt[NPROC];
    bool beyond[NPROC]; /* the guest page at REGION_FAR + NFAR pages maps a gPA beyond stage 2 */
    size_t pending;     /* the kernel's events once built (the functional side adds none) */
    /* the timed side's dummy memory and done callback */
    uint64_t answer;
    int in_flight, done;
    scim_walk_result res;
};

/* The hypervisor backs guest-physical gpa with a fresh host block. */
static void back(vm *v, uint64_t gpa, unsigned shift, unsigned attrs)
{
    uint64_t pfn;
    scim_err err = {0};
    ck_assert_msg(scim_physmem_alloc(v->s->host, shift - SCIM_SHIFT_4K, &pfn, &err) == 0 &&
                      scim_pgtable_map(v->s2, gpa, scim_pfn_addr(pfn), shift, attrs, &err) == 0,
                  "%s", err.msg);
}

/* Guest table frames: the next guest frame of the VM, backed in stage 2.
 * Where a table is comes from this list, not from stage 2, so a table
 * stage 2 no longer maps can still be written and compared. */
static int guest_table_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    vm *v = cookie;
    (void)err;
    CHECK(v->ntables < MAX_TABLES, "too many guest tables");
    uint64_t gpa = GPA_TABLES + v->ntables * PAGE_4K;
    back(v, gpa, SCIM_SHIFT_4K, RW_ATTRS);
    CHECK(scim_pgtable_lookup(v->s2, gpa, &v->table_hpa[v->ntables], NULL, NULL) == 1, "table gPA not backed");
    v->table_gpa[v->ntables++] = gpa;
    *pfn = scim_pfn(gpa);
    return 0;
}

static void guest_table_free(void *cookie, uint64_t pfn) { (void)cookie, (void)pfn; }

static uint64_t guest_table_addr(void *cookie, uint64_t gpa)
{
    const vm *v = cookie;
    for (size_t i = 0; i < v->ntables; i++)
        if (v->table_gpa[i] == scim_page_base(gpa, SCIM_SHIFT_4K))
            return v->table_hpa[i] + scim_page_offset(gpa, SCIM_SHIFT_4K);
    ck_abort_msg("no guest table at gPA 0x%llx", (ull)gpa);
    return 0;
}

static const scim_pt_alloc_ops guest_ops = {
    .alloc_table = guest_table_alloc, .free_table = guest_table_free, .table_addr = guest_table_addr};

static void guest_map(side *s, int p, uint64_t va, uint64_t gpa, unsigned shift, unsigned attrs)
{
    scim_err err = {0};
    ck_assert_msg(scim_pgtable_map(s->pt[p], va, gpa, shift, attrs, &err) == 0, "%s", err.msg);
}

static unsigned stage1_attrs(uint64_t i)
{
    if (i % S1_READONLY_EVERY == S1_READONLY_EVERY - 1)
        return SCIM_PTA_USER;
    if (i % S1_SUPERVISOR_EVERY == S1_SUPERVISOR_EVERY - 1)
        return SCIM_PTA_WRITE; /* no user rights */
    return RW_ATTRS;
}

static uint64_t gpa_4k(int p, uint64_t i) { return GPA_4K + ((uint64_t)rank_in_vm[p] * N4K + i) * PAGE_4K; }

/* Process p's guest table and the stage-2 mappings behind its pages. */
static void build_process(side *s, int p)
{
    vm *v = &s->vms[vm_of_proc[p]];
    uint64_t r = (uint64_t)rank_in_vm[p];
    scim_err err = {0};
    s->pt[p] = scim_pgtable_create(s->host, s->f1, &guest_ops, v, &err);
    ck_assert_msg(s->pt[p], "%s", err.msg);
    for (uint64_t i = 0; i < N4K; i++) {
        if (i % KINDS == S1_HOLE)
            continue;
        if (i % KINDS != S2_HOLE)
            back(v, gpa_4k(p, i), SCIM_SHIFT_4K, i % KINDS == S2_READONLY ? SCIM_PTA_USER : RW_ATTRS);
        guest_map(s, p, REGION_4K + i * PAGE_4K, gpa_4k(p, i), SCIM_SHIFT_4K, stage1_attrs(i + (uint64_t)p));
    }
    for (uint64_t i = 0; i < N2M; i++) {
        uint64_t gpa = GPA_2M + (r * N2M + i) * PAGE_2M;
        for (uint64_t j = 0; j < SUB_MAPPED; j++)
            back(v, gpa + j * PAGE_4K, SCIM_SHIFT_4K, RW_ATTRS);
        guest_map(s, p, REGION_2M + i * PAGE_2M, gpa, SCIM_SHIFT_2M, stage1_attrs(3 * i + (uint64_t)p));
    }
    uint64_t big = GPA_BIG + (1 + r) * PAGE_2M; /* a guest 2 MiB page over a 2 MiB stage-2 leaf */
    back(v, big, SCIM_SHIFT_2M, RW_ATTRS);
    guest_map(s, p, REGION_2M + N2M * PAGE_2M, big, SCIM_SHIFT_2M, RW_ATTRS);
    if (r == 0)
        back(v, GPA_BIG, SCIM_SHIFT_2M, SCIM_PTA_USER); /* read-only 2 MiB stage-2 leaf */
    for (uint64_t i = 0; i < NBIG; i++)
        guest_map(s, p, REGION_BIG + i * PAGE_4K, GPA_BIG + (r * NBIG + i) * PAGE_4K, SCIM_SHIFT_4K,
                  stage1_attrs(i + 1));
    for (uint64_t i = 0; i < NFAR; i++) {
        back(v, GPA_FAR + (r * NFAR + i) * PAGE_4K, SCIM_SHIFT_4K, RW_ATTRS);
        guest_map(s, p, REGION_FAR + i * PAGE_4K, GPA_FAR + (r * NFAR + i) * PAGE_4K, SCIM_SHIFT_4K, RW_ATTRS);
    }
    /* A gPA beyond stage 2's input addresses, if the guest's leaf can hold it. */
    uint64_t beyond_va = REGION_FAR + NFAR * PAGE_4K, beyond = 1ull << s->f2->va_bits, got = 0;
    s->beyond[p] = scim_pgtable_map(s->pt[p], beyond_va, beyond, SCIM_SHIFT_4K, RW_ATTRS, &err) == 0;
    if (s->beyond[p] && (!scim_pgtable_lookup(s->pt[p], beyond_va, &got, NULL, NULL) || got != beyond)) {
        ck_assert_int_eq(scim_pgtable_unmap(s->pt[p], beyond_va, NULL, NULL), 0);
        s->beyond[p] = false;
    }
    /* The orphan region: its first page allocates its last-level table alone;
     * stage 2 stops mapping that table's frame once the region is built. */
    size_t before = v->ntables;
    for (uint64_t i = 0; i < NORPHAN; i++) {
        uint64_t gpa = GPA_ORPHAN + (r * NORPHAN + i) * PAGE_4K;
        back(v, gpa, SCIM_SHIFT_4K, RW_ATTRS);
        guest_map(s, p, REGION_ORPHAN + i * PAGE_4K, gpa, SCIM_SHIFT_4K, RW_ATTRS);
    }
    ck_assert_uint_eq(v->ntables, before + 1);
    ck_assert_int_eq(scim_pgtable_unmap(v->s2, v->table_gpa[before], NULL, NULL), 0);
}

/* Memory-side reader of the timed twin: the entry as the memory serves a
 * walker (set_ad: accessed and, for a write, dirty), answered MEM_DELAY later. */
static void memory_answer(void *ctx, uint64_t walk_index)
{
    side *s = ctx;
    s->in_flight--;
    scim_walker_pte(s->w, (uint32_t)walk_index, s->answer);
}

static void memory_read(void *cookie, uint32_t walk_index, const scim_pte_read *r)
{
    side *s = cookie;
    CHECK(s->in_flight == 0 && r->set_ad, "a second read in flight, or a read without set_ad");
    bool updated;
    s->answer = scim_pte_walk_read(s->host, r->pa, scim_pt_format_by_id(r->fmt), r->level, r->write, &updated);
    s->in_flight++;
    scim_kernel_schedule(s->k, MEM_DELAY, SCIM_PRIO_DEFAULT, memory_answer, s, walk_index);
}

static const scim_pte_reader_ops memory_reader = {.read = memory_read};

static void walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    side *s = owner;
    (void)cookie;
    s->res = *r;
    s->done++;
}

typedef struct grid_point { const scim_pt_format *f1, *f2; uint64_t pwc, s2tlb, s2pwc; } grid_point;

static void side_init(side *s, const grid_point *g, bool nested)
{
    memset(s, 0, sizeof *s);
    scim_err err = {0};
    s->f1 = g->f1;
    s->f2 = g->f2;
    s->k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    ck_assert_msg(s->k, "%s", err.msg);
    s->stats = scim_stats_create();
    s->host = scim_physmem_create(HOST_BYTES, &err);
    ck_assert_msg(s->host, "%s", err.msg);
    for (int i = 0; i < NVM; i++) {
        vm *v = &s->vms[i];
        v->s = s;
        v->vmid = vmid_of_vm[i];
        v->s2 = scim_pgtable_create(s->host, g->f2, NULL, NULL, &err);
        ck_assert_msg(v->s2, "%s", err.msg);
        scim_pgtable_keep_empty_tables(v->s2, true); /* as os/hyp.c: walkers may hold pointers to them */
    }
    for (int p = 0; p < NPROC; p++)
        build_process(s, p);
    scim_walker_params wp = {.walkers = 1, .pwc_entries = g->pwc, .pwc_latency = PWC_LATENCY,
                             .seed = WALKER_SEED, .nested = nested, .s2tlb_entries = g->s2tlb,
                             .s2pwc_entries = g->s2pwc};
    s->w = scim_walker_create(s->k, "w", &wp, walk_done, s, s->stats, &err);
    ck_assert_msg(s->w, "%s", err.msg);
    scim_walker_set_reader(s->w, &memory_reader, s);
    s->pending = scim_kernel_events_pending(s->k);
}

static void side_free(side *s)
{
    scim_walker_destroy(s->w);
    for (int p = 0; p < NPROC; p++)
        scim_pgtable_destroy(s->pt[p]);
    for (int i = 0; i < NVM; i++)
        scim_pgtable_destroy(s->vms[i].s2);
    scim_physmem_destroy(s->host);
    scim_stats_destroy(s->stats);
    scim_kernel_destroy(s->k);
}

static scim_stage2 stage2_of(const side *s, int p)
{
    const vm *v = &s->vms[vm_of_proc[p]];
    return (scim_stage2){.root = scim_pgtable_root(v->s2), .fmt = s->f2, .vmid = v->vmid};
}

static uint32_t pasid_of(int p) { return (uint32_t)p + 1; }

static scim_walk_result timed_walk(side *s, int p, uint64_t va, bool write)
{
    scim_stage2 s2 = stage2_of(s, p);
    scim_err err = {0};
    s->done = 0;
    CHECK(scim_walker_walk_nested(s->w, pasid_of(p), va, write, scim_pgtable_root(s->pt[p]), s->f1, &s2, 0),
          "walk of 0x%llx refused", (ull)va);
    CHECK(scim_kernel_run(s->k, &err) == 0, "%s", err.msg);
    CHECK(s->done == 1 && s->in_flight == 0, "walk of 0x%llx: %d completions", (ull)va, s->done);
    return s->res;
}

static scim_walk_result functional_walk(side *s, int p, uint64_t va, bool write)
{
    scim_stage2 s2 = stage2_of(s, p);
    return scim_walker_walk_now_nested(s->w, s->host, pasid_of(p), va, write, scim_pgtable_root(s->pt[p]), s->f1,
                                       &s2);
}

/* A random step's address: 3 in 8 in the 4 KiB region, 1 in 8 in each other. */
static uint64_t random_va(uint64_t *rng)
{
    enum { IN_4K_REGION = 3, REGIONS = 5 };
    uint64_t off = rnd(rng, PAGE_4K) & ~(ACCESS_ALIGN - 1);
    switch (rnd(rng, IN_4K_REGION + REGIONS)) {
    case 0:
    case 1:
    case 2: return REGION_4K + rnd(rng, N4K + N4K_PAST) * PAGE_4K + off;
    case 3: return REGION_2M + rnd(rng, N2M + 2) * PAGE_2M + rnd(rng, SUB_MAPPED + 1) * PAGE_4K + off;
    case 4: return REGION_BIG + rnd(rng, NBIG) * PAGE_4K + off;
    case 5: return REGION_ORPHAN + rnd(rng, NORPHAN) * PAGE_4K + off;
    case 6: return REGION_FAR + rnd(rng, NFAR + 1) * PAGE_4K + off;
    default: return REGION_NONE + rnd(rng, NNONE) * PAGE_2M + off;
    }
}

/* ---------- the second reference: the page tables' own lookups ---------- */

/* The expected result, and the host address of va's byte (OK only). */
static scim_walk_result expected(const side *s, int p, uint64_t va, uint64_t *hpa_out)
{
    const vm *v = &s->vms[vm_of_proc[p]];
    scim_walk_result r = {.status = SCIM_WALK_NOT_PRESENT, .stage = 2};
    if (scim_page_base(va, SCIM_SHIFT_2M) == REGION_ORPHAN)
        return r; /* its last-level table is not in stage 2 */
    uint64_t gpa, hpa;
    unsigned shift1, attrs1, shift2, attrs2;
    if (!scim_pgtable_lookup(s->pt[p], va, &gpa, &shift1, &attrs1))
        return (scim_walk_result){.status = SCIM_WALK_NOT_PRESENT, .stage = 1};
    if (!scim_pt_va_valid(s->f2, gpa))
        return (scim_walk_result){.status = SCIM_WALK_RESERVED, .stage = 2};
    if (!scim_pgtable_lookup(v->s2, gpa, &hpa, &shift2, &attrs2))
        return r;
    unsigned shift = shift1 < shift2 ? shift1 : shift2;
    *hpa_out = hpa;
    return (scim_walk_result){.status = SCIM_WALK_OK, .page_pa = scim_page_base(hpa, shift), .shift = shift,
                              .perms = scim_pta_perms(attrs1) & scim_pta_perms(attrs2)};
}

/* The walk agrees with the tables. Its page may be 4 KiB where both
 * stages map more: the stage-2 TLB keeps 4 KiB entries whatever the
 * stage-2 page (walker.c, s2_pte), so a hit there reports 4 KiB. */
static bool as_tables_say(const scim_walk_result *r, const scim_walk_result *want, uint64_t hpa, bool s2tlb)
{
    if (r->status != want->status || r->stage != want->stage || r->perms != want->perms)
        return false;
    if (r->status != SCIM_WALK_OK)
        return r->page_pa == 0 && r->shift == 0;
    bool shift_ok = r->shift == want->shift || (s2tlb && r->shift == SCIM_SHIFT_4K);
    return shift_ok && r->page_pa == scim_page_base(hpa, r->shift);
}

/* ---------- comparisons ---------- */

#define RESULT_FMT "status %d stage %u page 0x%llx shift %u perms %u reads %u"
#define RESULT_ARGS(r) (r).status, (r).stage, (ull)(r).page_pa, (r).shift, (r).perms, (r).reads

static bool same_result(const scim_walk_result *a, const scim_walk_result *b)
{
    return a->status == b->status && a->stage == b->stage && a->page_pa == b->page_pa && a->shift == b->shift &&
           a->perms == b->perms && a->reads == b->reads;
}

typedef struct snap { scim_tlb_entry e[MAX_SNAP]; size_t n; } snap;

static void snap_add(void *ctx, const scim_tlb_entry *e)
{
    snap *s = ctx;
    CHECK(s->n < MAX_SNAP, "cache snapshot full");
    s->e[s->n++] = *e;
}

/* Every walk cache: the combined pwc.* (the public list), the stage-2 TLB
 * and the stage-2 paging-structure caches. */
static size_t all_caches(const side *s, const scim_tlb **out, const char **names)
{
    static const char *const s2pwc_names[MAX_LEVELS] = {NULL, "s2pwc.pde", "s2pwc.pdpte", "s2pwc.pml4e",
                                                             "s2pwc.pml5e"};
    size_t n = scim_walker_caches(s->w, out, names, MAX_CACHES);
    if (s->w->s2tlb) {
        names[n] = "s2tlb";
        out[n++] = s->w->s2tlb;
    }
    for (int l = 1; l < MAX_LEVELS; l++) {
        if (s->w->s2pwc[l]) {
            CHECK(n < 2 * MAX_CACHES, "too many caches");
            names[n] = s2pwc_names[l];
            out[n++] = s->w->s2pwc[l];
        }
    }
    return n;
}

static void same_caches(const side *t, const side *f, const char *where, int step)
{
    static snap sa, sb;
    const scim_tlb *a[2 * MAX_CACHES], *b[2 * MAX_CACHES];
    const char *na[2 * MAX_CACHES], *nb[2 * MAX_CACHES];
    size_t n = all_caches(t, a, na), m = all_caches(f, b, nb);
    CHECK(n == m, "%s step %d: %zu caches timed, %zu functional", where, step, n, m);
    for (size_t c = 0; c < n; c++) {
        sa.n = sb.n = 0;
        scim_tlb_foreach(a[c], snap_add, &sa);
        scim_tlb_foreach(b[c], snap_add, &sb);
        CHECK(sa.n == sb.n, "%s step %d: %s holds %zu entries timed, %zu functional", where, step, na[c], sa.n,
              sb.n);
        for (size_t i = 0; i < sa.n; i++)
            CHECK(sa.e[i].pasid == sb.e[i].pasid && sa.e[i].page_shift == sb.e[i].page_shift &&
                      sa.e[i].perms == sb.e[i].perms && sa.e[i].vpn == sb.e[i].vpn && sa.e[i].pfn == sb.e[i].pfn &&
                      sa.e[i].aux == sb.e[i].aux,
                  "%s step %d: %s entry %zu: timed tag %u vpn 0x%llx pfn 0x%llx, functional tag %u vpn 0x%llx pfn "
                  "0x%llx (or shift, perms, aux)", where, step, na[c], i, sa.e[i].pasid, (ull)sa.e[i].vpn,
                  (ull)sa.e[i].pfn, sb.e[i].pasid, (ull)sb.e[i].vpn, (ull)sb.e[i].pfn);
    }
}

static uint64_t stat_of(const side *s, const char *name)
{
    double v = -1;
    ck_assert_msg(scim_stats_lookup(s->stats, name, &v) == 0, "no statistic %s", name);
    return (uint64_t)v;
}

/* Every statistic but the time histograms, which only timed walks feed. */
static void same_stats(const scim_stats *a, const scim_stats *b, const char *where, int step)
{
    size_t n = scim_stats_flat_count(a);
    CHECK(n == scim_stats_flat_count(b), "%s step %d: %zu statistics, %zu", where, step, n,
          scim_stats_flat_count(b));
    for (size_t i = 0; i < n; i++) {
        const char *name;
        char first[MAX_STAT_NAME];
        double va, vb;
        CHECK(scim_stats_flat_get(a, i, &name, &va, NULL, NULL) == 0, "statistic %zu", i);
        snprintf(first, sizeof first, "%s", name);
        CHECK(scim_stats_flat_get(b, i, &name, &vb, NULL, NULL) == 0, "statistic %zu", i);
        CHECK(!strcmp(first, name), "%s step %d: statistic %zu is %s and %s", where, step, i, first, name);
        bool timing = !strncmp(name, "w.walk.latency.", strlen("w.walk.latency.")) ||
                      !strncmp(name, "w.walk.wait.", strlen("w.walk.wait."));
        CHECK(timing || va == vb, "%s step %d: %s %.0f timed, %.0f functional", where, step, name, va,
              vb);
    }
}

typedef struct ptes { uint64_t pa[MAX_PTES], v[MAX_PTES]; size_t n; } ptes;

static void pte_add(void *ctx, uint64_t pa, uint64_t v)
{
    ptes *p = ctx;
    CHECK(p->n < MAX_PTES, "entry snapshot full");
    p->pa[p->n] = pa;
    p->v[p->n++] = v;
}

/* Every present entry of every guest and stage-2 table. */
static void all_entries(const side *s, ptes *out)
{
    out->n = 0;
    for (int p = 0; p < NPROC; p++)
        scim_pgtable_foreach_entry(s->pt[p], pte_add, out);
    for (int i = 0; i < NVM; i++)
        scim_pgtable_foreach_entry(s->vms[i].s2, pte_add, out);
}

/* The present entries of every table, as both sides list them: the only
 * entries a walk can change (a format's accessed/dirty update leaves a
 * not-present entry alone), and the only ones the tables' owners change
 * but for mappings made or removed, after which they are listed again. */
static ptes watched;

static void watch_entries(const side *t, const side *f, const char *where, int step)
{
    static ptes b;
    const ptes *a = &watched;
    all_entries(t, &watched);
    all_entries(f, &b);
    CHECK(a->n == b.n, "%s step %d: %zu entries, %zu", where, step, a->n, b.n);
    for (size_t i = 0; i < a->n; i++)
        CHECK(a->pa[i] == b.pa[i] && a->v[i] == b.v[i],
              "%s step %d: entry at 0x%llx = 0x%llx timed, at 0x%llx = 0x%llx functional", where, step,
              (ull)a->pa[i], (ull)a->v[i], (ull)b.pa[i], (ull)b.v[i]);
}

/* Every present entry of the tables, read from memory, on both sides. */
static void same_state(const side *t, const side *f, const char *where, int step)
{
    same_caches(t, f, where, step);
    same_stats(t->stats, f->stats, where, step);
    for (size_t i = 0; i < watched.n; i++) {
        uint64_t a = scim_physmem_read64(t->host, watched.pa[i]), b = scim_physmem_read64(f->host, watched.pa[i]);
        CHECK(a == b, "%s step %d: entry at 0x%llx = 0x%llx timed, 0x%llx functional", where, step,
              (ull)watched.pa[i], (ull)a, (ull)b);
    }
    CHECK(scim_kernel_now(f->k) == 0 && scim_kernel_events_pending(f->k) == f->pending,
          "%s step %d: the functional side's kernel moved", where, step);
}

/* ---------- changes between steps, the same on both sides ---------- */

enum change {
    CHANGE_INV_PASID, CHANGE_INV_RANGE, CHANGE_INV_GLOBAL, CHANGE_S1_AD, CHANGE_S2_AD, CHANGE_S2_TOGGLE, CHANGE_COUNT
};

/* A stage-2 data page unmapped, or mapped again to a new host frame (an
 * unmapped one mapped), then the VM's stage-2 TLB entries dropped. */
static void toggle_stage2(side *s, int p, uint64_t gpa)
{
    vm *v = &s->vms[vm_of_proc[p]];
    if (scim_pgtable_lookup(v->s2, gpa, NULL, NULL, NULL))
        ck_assert_int_eq(scim_pgtable_unmap(v->s2, gpa, NULL, NULL), 0);
    else
        back(v, gpa, SCIM_SHIFT_4K, RW_ATTRS);
    scim_walker_invalidate_s2tlb(s->w, v->vmid);
}

static void change_both(side *t, side *f, uint64_t *rng, unsigned *made)
{
    int p = (int)rnd(rng, NPROC);
    uint64_t va = random_va(rng), gpa = gpa_4k(p, rnd(rng, N4K));
    enum change c = (enum change)rnd(rng, CHANGE_COUNT);
    scim_inv_scope scope = {SCIM_INV_PASID, pasid_of(p), 0, 0};
    made[c]++;
    switch (c) {
    case CHANGE_S1_AD:
        scim_pgtable_update(t->pt[p], va, 0, AD_ATTRS, NULL);
        scim_pgtable_update(f->pt[p], va, 0, AD_ATTRS, NULL);
        return;
    case CHANGE_S2_AD:
        scim_pgtable_update(t->vms[vm_of_proc[p]].s2, gpa, 0, AD_ATTRS, NULL);
        scim_pgtable_update(f->vms[vm_of_proc[p]].s2, gpa, 0, AD_ATTRS, NULL);
        return;
    case CHANGE_S2_TOGGLE:
        toggle_stage2(t, p, gpa);
        toggle_stage2(f, p, gpa);
        watch_entries(t, f, "after a stage-2 change", (int)made[c]);
        return;
    case CHANGE_INV_RANGE:
        scope = (scim_inv_scope){SCIM_INV_RANGE, pasid_of(p), scim_page_base(va, SCIM_SHIFT_4K), PAGE_4K};
        break;
    case CHANGE_INV_GLOBAL: scope = (scim_inv_scope){SCIM_INV_GLOBAL, 0, 0, 0}; break;
    default: break;
    }
    scim_walker_invalidate(t->w, &scope);
    scim_walker_invalidate(f->w, &scope);
}

/* ---------- the twin over the parameter grid ---------- */

static const struct format_pair {
    const scim_pt_format *f1, *f2;
} format_pairs[] = {
    {&scim_pt_x86_4l, &scim_pt_ept4},
    {&scim_pt_armv8_va48, &scim_pt_arm_s2_48},
    {&scim_pt_sv39, &scim_pt_sv39x4},
    {&scim_pt_sv48, &scim_pt_sv48x4},
};
static const uint64_t pwc_sizes[] = {0, 2};
static const uint64_t s2tlb_sizes[] = {0, 2, 8};
static const uint64_t s2pwc_sizes[] = {0, 2};
#define GRID_POINTS                                                                                          \
    (COUNT_OF(format_pairs) * COUNT_OF(pwc_sizes) * COUNT_OF(s2tlb_sizes) * COUNT_OF(s2pwc_sizes))

static grid_point grid(int i)
{
    size_t k = (size_t)i, n2 = COUNT_OF(s2pwc_sizes), n1 = COUNT_OF(s2tlb_sizes), n0 = COUNT_OF(pwc_sizes);
    const struct format_pair *f = &format_pairs[k / (n2 * n1 * n0)];
    return (grid_point){f->f1, f->f2, pwc_sizes[k / (n2 * n1) % n0], s2tlb_sizes[k / n2 % n1], s2pwc_sizes[k % n2]};
}

/* The caches whose names start with `prefix` hit, and evicted if of 2 entries. */
static void check_cache_used(const side *s, const char *prefix, uint64_t entries, const char *where)
{
    const scim_tlb *c[2 * MAX_CACHES];
    const char *names[2 * MAX_CACHES];
    size_t n = all_caches(s, c, names);
    uint64_t hits = 0, evictions = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(names[i], prefix, strlen(prefix))) {
            hits += scim_tlb_counters(c[i])->hits;
            evictions += scim_tlb_counters(c[i])->evictions;
        }
    }
    ck_assert_msg(!entries || hits > 0, "%s: %s never hit", where, prefix);
    ck_assert_msg(entries != 2 || evictions > 0, "%s: %s of 2 entries never evicted", where, prefix);
}

START_TEST(test_nested_twin)
{
    grid_point g = grid(_i);
    char where[MAX_STAT_NAME];
    snprintf(where, sizeof where, "%s/%s pwc %llu s2tlb %llu s2pwc %llu", g.f1->name, g.f2->name, (ull)g.pwc,
             (ull)g.s2tlb, (ull)g.s2pwc);
    static side t, f;
    side_init(&t, &g, true);
    side_init(&f, &g, true);
    watch_entries(&t, &f, where, -1);
    same_state(&t, &f, where, -1);
    uint64_t rng = 0x2d0000u + (uint64_t)_i, va = 0;
    int p = 0;
    unsigned ok = 0, s1_faults = 0, s2_faults = 0, s2_table_faults = 0, reserved = 0, changes[CHANGE_COUNT] = {0};
    for (int step = 0; step < STEPS; step++) {
        if (step == 0 || rnd(&rng, REPEAT_ONE_IN) != 0) { /* else the last page again (what caches are for) */
            p = (int)rnd(&rng, NPROC);
            va = random_va(&rng);
        }
        bool write = rnd(&rng, 2);
        uint64_t hpa = 0;
        scim_walk_result want = expected(&f, p, va, &hpa);
        scim_walk_result a = timed_walk(&t, p, va, write);
        scim_walk_result b = functional_walk(&f, p, va, write);
        CHECK(same_result(&a, &b), "%s step %d: PASID %u 0x%llx %s: timed " RESULT_FMT ", functional " RESULT_FMT,
              where, step, pasid_of(p), (ull)va, write ? "write" : "read", RESULT_ARGS(a), RESULT_ARGS(b));
        CHECK(as_tables_say(&a, &want, hpa, g.s2tlb > 0),
              "%s step %d: PASID %u 0x%llx: walked " RESULT_FMT ", tables say " RESULT_FMT, where, step, pasid_of(p),
              (ull)va, RESULT_ARGS(a), RESULT_ARGS(want));
        ok += a.status == SCIM_WALK_OK;
        s1_faults += a.status == SCIM_WALK_NOT_PRESENT && a.stage == 1;
        bool at_s2 = a.status == SCIM_WALK_NOT_PRESENT && a.stage == 2;
        bool orphan = scim_page_base(va, SCIM_SHIFT_2M) == REGION_ORPHAN;
        s2_faults += at_s2 && !orphan;
        s2_table_faults += at_s2 && orphan;
        reserved += a.status == SCIM_WALK_RESERVED;
        same_state(&t, &f, where, step);
        if (rnd(&rng, CHANGE_ONE_IN) == 0) {
            change_both(&t, &f, &rng, changes);
            same_state(&t, &f, where, step);
        }
    }
    /* the sequence went through every ending, every change and the caches */
    ck_assert_msg(ok > STEPS / 4 && s1_faults > STEPS / 20 && s2_faults > 0 && s2_table_faults > 0,
                  "%s: %u OK, %u stage-1 faults, %u stage-2 faults (%u at a table)", where, ok, s1_faults, s2_faults,
                  s2_table_faults);
    ck_assert_msg(reserved > 0 || !(f.beyond[0] || f.beyond[1] || f.beyond[2]), "%s: no walk beyond stage 2", where);
    for (int c = 0; c < CHANGE_COUNT; c++)
        ck_assert_msg(changes[c] > 0, "%s: change %d never made", where, c);
    check_cache_used(&f, "pwc.", g.pwc, where);
    check_cache_used(&f, "s2tlb", g.s2tlb, where);
    check_cache_used(&f, "s2pwc", g.s2pwc, where);
    ck_assert_uint_eq(stat_of(&f, "w.walks"), STEPS);
    ck_assert_uint_eq(stat_of(&f, "w.walk.nested"), STEPS);
    side_free(&t);
    side_free(&f);
}
END_TEST

/* ---------- by hand ---------- */

#define HAND_CACHE_ENTRIES 4
#define HAND_COLD_READS 24 /* (n+1)(m+1)-1 for 4 over 4 */
#define HAND_COLD_S2_READS 20 /* (n+1)m: the root, 3 table pointers and the data page, 4 each */
#define HAND_WARM_READS 1 /* the last-level guest entry (combined pointer); the data page from the stage-2 TLB */
#define HAND_VA (REGION_FAR + PAGE_4K)

/* x86 4-level over EPT 4-level: a cold walk reads 24 entries, 20 of them
 * stage 2; the same page again with the pwc and the stage-2 TLB reads 1
 * entry, timed and functional alike. */
START_TEST(test_hand_counts)
{
    grid_point g = {&scim_pt_x86_4l, &scim_pt_ept4, HAND_CACHE_ENTRIES, HAND_CACHE_ENTRIES, 0};
    static side t, f;
    side_init(&t, &g, true);
    side_init(&f, &g, true);
    watch_entries(&t, &f, "by hand", 0);
    scim_walk_result a = timed_walk(&t, 0, HAND_VA, false), b = functional_walk(&f, 0, HAND_VA, false);
    ck_assert(b.status == SCIM_WALK_OK && same_result(&a, &b));
    ck_assert_uint_eq(a.reads, HAND_COLD_READS);
    ck_assert_uint_eq(b.reads, HAND_COLD_READS);
    ck_assert_uint_eq(stat_of(&f, "w.walk.s2_reads"), HAND_COLD_S2_READS);
    ck_assert_uint_eq(stat_of(&f, "w.walk.pte_reads"), HAND_COLD_READS);
    a = timed_walk(&t, 0, HAND_VA, true);
    b = functional_walk(&f, 0, HAND_VA, true);
    ck_assert(b.status == SCIM_WALK_OK && same_result(&a, &b));
    ck_assert_uint_eq(a.reads, HAND_WARM_READS);
    ck_assert_uint_eq(b.reads, HAND_WARM_READS);
    ck_assert_uint_eq(stat_of(&f, "w.walk.s2_reads"), HAND_COLD_S2_READS);
    ck_assert_uint_eq(stat_of(&f, "w.s2tlb.hits"), 1);
    same_state(&t, &f, "by hand", 1);
    side_free(&t);
    side_free(&f);
}
END_TEST

/* A walker made without params.nested refuses: SCIM_WALK_RESERVED, 0
 * reads, no statistic, cache or entry changed. Its pwc is filled first by
 * a one-stage functional walk (of the stage-2 table, as a table like any). */
START_TEST(test_refused_without_nested)
{
    grid_point g = {&scim_pt_x86_4l, &scim_pt_ept4, HAND_CACHE_ENTRIES, HAND_CACHE_ENTRIES, HAND_CACHE_ENTRIES};
    static side before, f;
    side_init(&before, &g, false);
    side_init(&f, &g, false);
    scim_stage2 s2 = stage2_of(&f, 0);
    scim_walk_result r = scim_walker_walk_now(before.w, before.host, s2.vmid, gpa_4k(0, 0), false, s2.root, s2.fmt);
    ck_assert_int_eq(r.status, SCIM_WALK_OK);
    r = scim_walker_walk_now(f.w, f.host, s2.vmid, gpa_4k(0, 0), false, s2.root, s2.fmt);
    ck_assert_uint_eq(scim_tlb_valid_entries(f.w->pwc[1]), 1);
    watch_entries(&before, &f, "refused", 0);
    r = functional_walk(&f, 0, HAND_VA, true);
    ck_assert_msg(r.status == SCIM_WALK_RESERVED && r.reads == 0, "status %d, %u reads", r.status, r.reads);
    same_state(&before, &f, "refused", 0);
    side_free(&before);
    side_free(&f);
}
END_TEST

static Suite *warm_nested_suite(void)
{
    Suite *s = suite_create("warm_nested");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_nested_twin, 0, (int)GRID_POINTS);
    tcase_add_test(tc, test_hand_counts);
    tcase_add_test(tc, test_refused_without_nested);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(warm_nested_suite()); }

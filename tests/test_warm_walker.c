/* The functional warm-up (sim.warmup) verbs against their timed twins:
 * scim_walker_walk_now against scim_walker_walk, scim_cpu_warm_access
 * against a core replaying a trace, scim_cpu_warm_invalidate against a
 * shootdown the core takes as a message.
 *
 * Reference: a twin. Two sides are built the same way (a physical memory,
 * the same page tables mapped in the same order, a real memory controller
 * on a fabric, the same walker or core parameters and seeds); one does
 * every step timed (the kernel runs until the walk's done callback, or
 * past the trace record's time), the other functionally (its kernel never
 * runs: its time stays 0 and no event is ever added). After every step the
 * sides must agree on the result, on every translation cache's contents in
 * set/way order (caches of a few entries, so that a replacement order
 * that drifted shows as a different victim within a few steps), and on
 * every entry of every page table (the accessed/dirty bits the memory
 * controller set). The steps are seeded random VAs over mapped 4 KiB and
 * 2 MiB pages, read-only and supervisor pages, and unmapped ones at every
 * level, reads and writes, two PASIDs; between steps both sides get the
 * same OS changes (accessed/dirty cleared, a page unmapped, invalidations).
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/page.h"
#include "core/stats.h"
#include "mmu/cpu.h"
#include "mmu/memctl.h"
#include "mmu/pagetable.h"
#include "mmu/pt_stage2.h"
#include "mmu/pt_x86.h"
#include "mmu/walker.h"
#include "scimitar/kernel.h"

#include "helpers/mockport.h"
#include "helpers/simtest.h"
#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define MEM_BYTES (64ull << 20)
#define MEM_LAT 90000ull  /* ps */
#define LINK_LAT 10000ull /* ps */
#define PS_PER_NS 1000ull
#define GAP_NS 50000ull   /* between trace records: every access ends well within */
#define NPROC 2           /* PASIDs 1 and 2 */
#define N4K 24            /* 4 KiB pages of a region; every 5th is a hole, 4 more past the end unmapped */
#define N2M 4             /* 2 MiB pages; the 5th is unmapped */
#define NFAR 4            /* 4 KiB pages in another 1 GiB */
/* Regions below 2^38: valid VAs in every format (Sv39 included). */
#define REGION_4K 0x1000000000ull
#define REGION_2M 0x1040000000ull
#define REGION_FAR 0x2000000000ull
#define REGION_NONE 0x3000000000ull /* nothing mapped in its 1 GiB */
#define STEPS 300
#define CPU_STEPS 250
#define MAX_SNAP 256
#define MAX_PTES 4096
#define MAX_CACHES 8

typedef unsigned long long ull;

static const scim_pt_format *const formats[] = {&scim_pt_x86_4l,     &scim_pt_x86_5l, &scim_pt_armv8_va39,
                                                &scim_pt_armv8_va48, &scim_pt_sv39,   &scim_pt_sv48,
                                                &scim_pt_sv57};

/* ------------------------------------------------------------------------ */
/* one side of a twin                                                         */

typedef struct side {
    test_rig r;
    scim_physmem *pm;
    scim_memctl *mc;
    const scim_pt_format *fmt;
    scim_pgtable *pt[NPROC];
    /* the walker twin */
    scim_port *port;
    scim_walker *w;
    scim_walk_result res;
    int done;
    /* the core twin */
    scim_cpu *cpu;
    scim_port *os;
    uint64_t faults;
    size_t pending;  /* the kernel's events once built (the functional side must add none) */
    scim_time_t now; /* and its time */
} side;

static unsigned attrs_of(uint64_t i)
{
    if (i % 7 == 3)
        return SCIM_PTA_USER; /* read-only */
    if (i % 11 == 6)
        return SCIM_PTA_WRITE; /* supervisor: no user access */
    return SCIM_PTA_USER | SCIM_PTA_WRITE;
}

static uint64_t alloc_data(side *s, unsigned shift)
{
    uint64_t pfn;
    scim_err err = {0};
    ck_assert_msg(scim_physmem_alloc(s->pm, shift - SCIM_SHIFT_4K, &pfn, &err) == 0, "%s", err.msg);
    return scim_pfn_addr(pfn);
}

static void map(side *s, int p, uint64_t va, unsigned shift, unsigned attrs)
{
    scim_err err = {0};
    uint64_t pa = alloc_data(s, shift);
    ck_assert_msg(scim_pgtable_map(s->pt[p], va, pa, shift, attrs, &err) == 0, "%s", err.msg);
}

/* A table entry's rights narrowed by hand (the OS writes permissive ones),
 * so that cached table pointers carry rights of the levels above. */
static void narrow_table(side *s, int p, uint64_t va, int level, uint64_t clear)
{
    uint64_t table = scim_pgtable_root(s->pt[p]);
    for (int l = s->fmt->levels;; l--) {
        uint64_t pa = scim_pt_entry_addr(s->fmt, table, va, l), v = scim_physmem_read64(s->pm, pa);
        if (l == level) {
            scim_physmem_write64(s->pm, pa, v & ~clear);
            return;
        }
        scim_pte_info e;
        s->fmt->decode(v, l, &e);
        ck_assert_int_eq(e.kind, SCIM_PTE_TABLE);
        table = e.addr;
    }
}

/* Memory, page tables (the same frames on both sides: the allocator is
 * deterministic) and the memory controller; the caller adds its block and
 * finalizes. x86: PASID 1's far region is read-only from its 1 GiB entry
 * down, PASID 2's 4 KiB region supervisor-only from its 2 MiB entry. */
static void side_init(side *s, const scim_pt_format *fmt)
{
    memset(s, 0, sizeof *s);
    scim_err err = {0};
    rig_init(&s->r);
    s->fmt = fmt;
    s->pm = scim_physmem_create(MEM_BYTES, &err);
    ck_assert_msg(s->pm, "%s", err.msg);
    scim_memctl_params mp = {.latency = MEM_LAT, .bytes_per_s = 0, .size = MEM_BYTES, .queue = 0};
    s->mc = scim_memctl_create(s->r.k, s->r.f, s->pm, "mem", &mp, s->r.stats, &err);
    ck_assert_msg(s->mc, "%s", err.msg);
    for (int p = 0; p < NPROC; p++) {
        s->pt[p] = scim_pgtable_create(s->pm, fmt, NULL, NULL, &err);
        ck_assert_msg(s->pt[p], "%s", err.msg);
        for (uint64_t i = 0; i < N4K; i++)
            if (i % 5 != 4)
                map(s, p, REGION_4K + i * SCIM_PAGE_SIZE, SCIM_SHIFT_4K, attrs_of(i + (uint64_t)p));
        for (uint64_t i = 0; i < N2M; i++)
            map(s, p, REGION_2M + i * scim_page_size(SCIM_SHIFT_2M), SCIM_SHIFT_2M, attrs_of(i * 3 + (uint64_t)p));
        for (uint64_t i = 0; i < NFAR; i++)
            map(s, p, REGION_FAR + i * SCIM_PAGE_SIZE, SCIM_SHIFT_4K, SCIM_PTA_USER | SCIM_PTA_WRITE);
    }
    if (fmt->isa == SCIM_ISA_X86_64) {
        narrow_table(s, 0, REGION_FAR, 3, SCIM_PTE_RW);
        narrow_table(s, 1, REGION_4K, 2, SCIM_PTE_US);
    }
}

static void side_free(side *s)
{
    scim_cpu_destroy(s->cpu);
    scim_walker_destroy(s->w);
    scim_port_destroy(s->port);
    scim_port_destroy(s->os);
    scim_memctl_destroy(s->mc);
    for (int p = 0; p < NPROC; p++)
        scim_pgtable_destroy(s->pt[p]);
    rig_free(&s->r);
    scim_physmem_destroy(s->pm);
}

/* A random step's address: a mapped page or a hole (not present at the
 * last level, at the 2 MiB level, at the 1 GiB level), 8-byte aligned. */
static uint64_t random_va(uint64_t *rng)
{
    uint64_t off = rnd(rng, SCIM_PAGE_SIZE) & ~7ull;
    switch (rnd(rng, 8)) {
    case 0:
    case 1:
    case 2: return REGION_4K + rnd(rng, N4K + 4) * SCIM_PAGE_SIZE + off;
    case 3:
    case 4:
        return REGION_2M + rnd(rng, N2M + 1) * scim_page_size(SCIM_SHIFT_2M) +
               (rnd(rng, scim_page_size(SCIM_SHIFT_2M)) & ~7ull);
    case 5:
    case 6: return REGION_FAR + rnd(rng, NFAR) * SCIM_PAGE_SIZE + off;
    default: return REGION_NONE + rnd(rng, 4) * scim_page_size(SCIM_SHIFT_2M) + off;
    }
}

/* ------------------------------------------------------------------------ */
/* comparisons                                                                */

typedef struct snap {
    scim_tlb_entry e[MAX_SNAP];
    size_t n;
} snap;

static void snap_add(void *ctx, const scim_tlb_entry *e)
{
    snap *s = ctx;
    CHECK(s->n < MAX_SNAP, "cache snapshot full");
    s->e[s->n++] = *e;
}

static bool same_entry(const scim_tlb_entry *a, const scim_tlb_entry *b)
{
    return a->pasid == b->pasid && a->page_shift == b->page_shift && a->perms == b->perms && a->vpn == b->vpn &&
           a->pfn == b->pfn && a->aux == b->aux;
}

/* Every cache of both lists holds the same entries in the same ways. */
static void same_caches(const scim_tlb **a, const scim_tlb **b, const char **names, size_t n, const char *where,
                        int step)
{
    static snap sa, sb;
    for (size_t c = 0; c < n; c++) {
        sa.n = sb.n = 0;
        scim_tlb_foreach(a[c], snap_add, &sa);
        scim_tlb_foreach(b[c], snap_add, &sb);
        CHECK(sa.n == sb.n, "%s step %d: %s holds %zu entries timed, %zu functional", where, step, names[c], sa.n,
              sb.n);
        for (size_t i = 0; i < sa.n; i++)
            CHECK(same_entry(&sa.e[i], &sb.e[i]),
                  "%s step %d: %s entry %zu: timed pasid %u vpn 0x%llx shift %u pfn 0x%llx perms %u, functional "
                  "pasid %u vpn 0x%llx shift %u pfn 0x%llx perms %u",
                  where, step, names[c], i, sa.e[i].pasid, (ull)sa.e[i].vpn, sa.e[i].page_shift, (ull)sa.e[i].pfn,
                  sa.e[i].perms, sb.e[i].pasid, (ull)sb.e[i].vpn, sb.e[i].page_shift, (ull)sb.e[i].pfn,
                  sb.e[i].perms);
    }
}

typedef struct ptes {
    uint64_t pa[MAX_PTES], v[MAX_PTES];
    size_t n;
} ptes;

static void pte_add(void *ctx, uint64_t pa, uint64_t v)
{
    ptes *p = ctx;
    CHECK(p->n < MAX_PTES, "entry snapshot full");
    p->pa[p->n] = pa;
    p->v[p->n++] = v;
}

/* Every present entry of every table of both sides, accessed/dirty bits included. */
static void same_tables(const side *t, const side *f, const char *where, int step)
{
    static ptes a, b;
    for (int p = 0; p < NPROC; p++) {
        a.n = b.n = 0;
        scim_pgtable_foreach_entry(t->pt[p], pte_add, &a);
        scim_pgtable_foreach_entry(f->pt[p], pte_add, &b);
        CHECK(a.n == b.n, "%s step %d: PASID %d: %zu entries timed, %zu functional", where, step, p + 1, a.n, b.n);
        for (size_t i = 0; i < a.n; i++)
            CHECK(a.pa[i] == b.pa[i] && a.v[i] == b.v[i],
                  "%s step %d: PASID %d: entry at 0x%llx = 0x%llx timed, at 0x%llx = 0x%llx functional", where, step,
                  p + 1, (ull)a.pa[i], (ull)a.v[i], (ull)b.pa[i], (ull)b.v[i]);
    }
}

/* The functional side never touched time nor the event queue. */
static void untimed(const side *f, const char *where, int step)
{
    CHECK(scim_kernel_now(f->r.k) == f->now && scim_kernel_events_pending(f->r.k) == f->pending,
          "%s step %d: the functional side at %llu ps with %zu events (%llu ps, %zu before)", where, step,
          (ull)scim_kernel_now(f->r.k), scim_kernel_events_pending(f->r.k), (ull)f->now, f->pending);
}

/* The same OS change on both sides, now and then: a page's accessed and
 * dirty bits cleared (reclaim's scan), a page unmapped, or none; returns
 * the invalidation to make (a range of length 0: none). */
static scim_inv_scope os_change(side *t, side *f, uint64_t *rng, int p)
{
    uint64_t va = random_va(rng);
    scim_inv_scope s = {SCIM_INV_RANGE, (uint32_t)p + 1, scim_page_base(va, SCIM_SHIFT_4K), 0};
    switch (rnd(rng, 4)) {
    case 0:
        scim_pgtable_update(t->pt[p], va, 0, SCIM_PTA_ACCESSED | SCIM_PTA_DIRTY, NULL);
        scim_pgtable_update(f->pt[p], va, 0, SCIM_PTA_ACCESSED | SCIM_PTA_DIRTY, NULL);
        break;
    case 1: {
        unsigned shift = 0;
        int rt = scim_pgtable_unmap(t->pt[p], va, NULL, &shift);
        ck_assert_int_eq(rt, scim_pgtable_unmap(f->pt[p], va, NULL, NULL));
        if (rt == 0) {
            s.addr = scim_page_base(va, shift);
            s.len = scim_page_size(shift);
        }
        break;
    }
    case 2: s = (scim_inv_scope){SCIM_INV_PASID, (uint32_t)p + 1, 0, 0}; break;
    default: s.len = SCIM_PAGE_SIZE; break; /* a range alone (the caches drop the PASID's pointers) */
    }
    return s;
}

/* ------------------------------------------------------------------------ */
/* the walker twin                                                            */

static void walker_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    side *s = owner;
    (void)cookie;
    s->res = *r;
    s->done++;
}

static void owner_request(void *ctx, scim_msg *m)
{
    (void)ctx;
    ck_abort_msg("the walker's port got a %s", scim_msg_type_name(m->type));
}

static void owner_response(void *ctx, scim_msg *m)
{
    (void)ctx;
    ck_abort_msg("the walker's owner got a %s", scim_msg_type_name(m->type));
}

static void walker_side(side *s, const scim_pt_format *fmt, bool nested)
{
    scim_err err = {0};
    side_init(s, fmt);
    s->port = scim_port_create(s->r.f, "w", owner_request, owner_response, s, s->r.stats, &err);
    ck_assert_msg(s->port, "%s", err.msg);
    rig_link(&s->r, "w", "mem", LINK_LAT, 0);
    rig_finalize(&s->r);
    /* two entries per level: replacements all along */
    scim_walker_params wp = {.walkers = 1, .pwc_entries = 2, .pwc_latency = 1000, .seed = 7, .nested = nested,
                             .s2tlb_entries = nested ? 4 : 0, .s2pwc_entries = nested ? 2 : 0};
    s->w = scim_walker_create(s->r.k, "w", &wp, walker_done, s, s->r.stats, &err);
    ck_assert_msg(s->w, "%s", err.msg);
    ck_assert_int_eq(scim_walker_attach_port(s->w, s->port, rig_node(&s->r, "mem"), &err), 0);
    s->pending = scim_kernel_events_pending(s->r.k);
}

static scim_walk_result timed_walk(side *s, uint32_t pasid, uint64_t va, bool write)
{
    s->done = 0;
    ck_assert(scim_walker_walk(s->w, pasid, va, write, scim_pgtable_root(s->pt[pasid - 1]), s->fmt, 1));
    rig_run(&s->r);
    CHECK(s->done == 1, "walk of 0x%llx: %d completions", (ull)va, s->done);
    return s->res;
}

static void walker_caches(const side *s, const scim_tlb **out, const char **names, size_t *n)
{
    *n = scim_walker_caches(s->w, out, names, MAX_CACHES);
}

static void same_walker_state(const side *t, const side *f, const char *where, int step)
{
    const scim_tlb *a[MAX_CACHES], *b[MAX_CACHES];
    const char *na[MAX_CACHES], *nb[MAX_CACHES];
    size_t n, m;
    walker_caches(t, a, na, &n);
    walker_caches(f, b, nb, &m);
    CHECK(n == m, "%s: %zu caches timed, %zu functional", where, n, m);
    same_caches(a, b, na, n, where, step);
    same_tables(t, f, where, step);
    untimed(f, where, step);
}

START_TEST(test_walk_twin)
{
    const scim_pt_format *fmt = formats[_i];
    static side t, f;
    walker_side(&t, fmt, false);
    walker_side(&f, fmt, false);
    uint64_t rng = 0x5eed0000u + (uint64_t)_i;
    unsigned seen[SCIM_WALK_RESERVED + 1] = {0};
    for (int step = 0; step < STEPS; step++) {
        int p = (int)rnd(&rng, NPROC);
        uint64_t va = random_va(&rng);
        bool write = rnd(&rng, 2);
        scim_walk_result a = timed_walk(&t, (uint32_t)p + 1, va, write);
        scim_walk_result b = scim_walker_walk_now(f.w, f.pm, (uint32_t)p + 1, va, write,
                                                  scim_pgtable_root(f.pt[p]), fmt);
        CHECK(a.status == b.status && a.stage == b.stage && a.page_pa == b.page_pa && a.shift == b.shift &&
                  a.perms == b.perms && a.reads == b.reads,
              "%s step %d (pasid %d va 0x%llx %s): timed %d/%u 0x%llx shift %u perms %u reads %u, functional "
              "%d/%u 0x%llx shift %u perms %u reads %u",
              fmt->name, step, p + 1, (ull)va, write ? "write" : "read", a.status, a.stage, (ull)a.page_pa, a.shift,
              a.perms, a.reads, b.status, b.stage, (ull)b.page_pa, b.shift, b.perms, b.reads);
        seen[a.status]++;
        same_walker_state(&t, &f, fmt->name, step);
        if (rnd(&rng, 8) == 0) {
            scim_inv_scope s = os_change(&t, &f, &rng, p);
            if (s.kind != SCIM_INV_RANGE || s.len) {
                scim_walker_invalidate(t.w, &s);
                scim_walker_invalidate(f.w, &s);
            }
            same_walker_state(&t, &f, fmt->name, step);
        }
    }
    /* the sequence went through every kind of ending and through the caches */
    ck_assert_msg(seen[SCIM_WALK_OK] > STEPS / 4 && seen[SCIM_WALK_NOT_PRESENT] > STEPS / 10,
                  "%s: %u walks OK, %u not present", fmt->name, seen[SCIM_WALK_OK], seen[SCIM_WALK_NOT_PRESENT]);
    const scim_tlb *c[MAX_CACHES];
    const char *names[MAX_CACHES];
    size_t n = scim_walker_caches(f.w, c, names, MAX_CACHES);
    uint64_t hits = 0, evictions = 0;
    for (size_t i = 0; i < n; i++) {
        hits += scim_tlb_counters(c[i])->hits;
        evictions += scim_tlb_counters(c[i])->evictions;
    }
    ck_assert_msg(hits > STEPS / 10 && evictions > STEPS / 10, "%s: %llu cache hits, %llu evictions", fmt->name,
                  (ull)hits, (ull)evictions);
    double walks = 0;
    ck_assert_int_eq(scim_stats_lookup(f.r.stats, "w.walks", &walks), 0);
    ck_assert_msg(walks == STEPS, "%s: the functional walker counted %.0f walks", fmt->name, walks);
    side_free(&t);
    side_free(&f);
}
END_TEST

/* A walker that may walk two stages (loop index 0) and a walker with a
 * table-address hook (1) refuse a functional walk and change nothing:
 * caches (filled by a timed one-stage walk first), their counters, memory
 * (the walk would set accessed and dirty bits), statistics. */
static bool hook_addr(void *cookie, uint32_t walk, uint32_t pasid, uint64_t addr, uint64_t *pa)
{
    (void)cookie, (void)walk, (void)pasid;
    *pa = addr;
    return true;
}

static const scim_pt_xlate_ops hook_ops = {.table_addr = hook_addr};

typedef struct counters {
    scim_tlb_ctrs c[MAX_CACHES];
    double walks, reads;
} counters;

static void counters_of(const side *s, counters *c)
{
    const scim_tlb *t[MAX_CACHES];
    const char *names[MAX_CACHES];
    size_t n = scim_walker_caches(s->w, t, names, MAX_CACHES);
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++)
        c->c[i] = *scim_tlb_counters(t[i]);
    ck_assert_int_eq(scim_stats_lookup(s->r.stats, "w.walks", &c->walks), 0);
    ck_assert_int_eq(scim_stats_lookup(s->r.stats, "w.walk.pte_reads", &c->reads), 0);
}

START_TEST(test_walk_refused)
{
    static side t, f;
    bool nested = _i == 0; /* a 2D walk asked of a walker made for one stage */
    const char *what = nested ? "nested" : "hook";
    walker_side(&t, &scim_pt_x86_4l, false);
    walker_side(&f, &scim_pt_x86_4l, false);
    uint64_t va = REGION_4K + SCIM_PAGE_SIZE, other = REGION_FAR;
    timed_walk(&t, 1, va, false);
    timed_walk(&f, 1, va, false);
    f.now = scim_kernel_now(f.r.k);
    f.pending = scim_kernel_events_pending(f.r.k);
    if (!nested)
        scim_walker_set_table_xlate(f.w, &hook_ops, NULL);
    counters before, after;
    counters_of(&f, &before);
    scim_stage2 s2 = {.root = scim_pgtable_root(f.pt[1]), .fmt = &scim_pt_ept4, .vmid = 1};
    scim_walk_result r =
        nested ? scim_walker_walk_now_nested(f.w, f.pm, 1, other, true, scim_pgtable_root(f.pt[0]), f.fmt, &s2)
               : scim_walker_walk_now(f.w, f.pm, 1, other, true, scim_pgtable_root(f.pt[0]), f.fmt);
    ck_assert_msg(r.status == SCIM_WALK_RESERVED && r.reads == 0, "%s: status %d, %u reads", what, r.status,
                  r.reads);
    counters_of(&f, &after);
    ck_assert_msg(memcmp(&before, &after, sizeof before) == 0, "%s: counters or statistics moved", what);
    same_walker_state(&t, &f, what, 0);
    side_free(&t);
    side_free(&f);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* the core twin                                                              */

/* What the OS does on a fault, the same on both sides: map the page
 * (writable), or give the rights the access lacked; false if the leaf
 * allows the access (a table above forbids it: a segmentation fault). */
static bool resolve(side *s, uint64_t va, bool write)
{
    unsigned attrs = 0;
    if (!scim_pgtable_lookup(s->pt[0], va, NULL, NULL, &attrs)) {
        map(s, 0, scim_page_base(va, SCIM_SHIFT_4K), SCIM_SHIFT_4K, SCIM_PTA_USER | SCIM_PTA_WRITE);
        return true;
    }
    unsigned need = SCIM_PTA_USER | (write ? SCIM_PTA_WRITE : 0);
    if ((attrs & need) == need)
        return false;
    ck_assert_int_eq(scim_pgtable_update(s->pt[0], va, need, 0, NULL), 0);
    return true;
}

static void os_answer(void *ctx, uint64_t arg)
{
    side *s = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    bool ok = resolve(s, m->u.os.addr, m->u.os.write);
    s->faults++;
    scim_port_reply(s->os, m, SCIM_MSG_OS_RESP, scim_port_wire(s->os, 0), ok ? SCIM_RESP_OK : SCIM_RESP_INVALID);
}

static void os_request(void *ctx, scim_msg *m)
{
    side *s = ctx;
    ck_assert_msg(m->type == SCIM_MSG_OS_REQ && m->u.os.op == SCIM_OS_CPU_FAULT && m->u.os.pasid == 1,
                  "the OS got a %s", scim_msg_type_name(m->type));
    scim_kernel_schedule(s->r.k, LINK_LAT, SCIM_PRIO_DEFAULT, os_answer, s, (uint64_t)(uintptr_t)m);
}

static void os_response(void *ctx, scim_msg *m)
{
    side *s = ctx;
    ck_assert_msg(m->type == SCIM_MSG_INV_DONE, "the OS got a %s", scim_msg_type_name(m->type));
    scim_port_free(s->os, m);
}

static int name_index(const char *const *names, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], name))
            return i;
    ck_abort_msg("no value %s", name);
    return -1;
}

static void cpu_side(side *s, const char *trace, const char *repl)
{
    scim_err err = {0};
    side_init(s, &scim_pt_x86_4l);
    int r = name_index(scim_tlb_repl_names, repl);
    scim_cpu_params p = {
        .trace = trace, .pasid = 1, .max_outstanding = 1, .clock_hz = 1000000000ull,
        /* a few entries: evictions all along */
        .l1tlb = {.entries = 4, .ways = 2, .repl = r, .page_sizes = name_index(scim_tlb_page_size_names, "4K+2M+1G"),
                  .latency = 1},
        .l2tlb = {.entries = 8, .ways = 4, .repl = r, .page_sizes = name_index(scim_tlb_page_size_names, "4K+2M"),
                  .latency = 12},
        .pwc_entries = 2, .pwc_latency = 1, .walkers = 1, .ipi_cost = 1000000, .snoop_latency = 20000,
        .seed = 11};
    s->cpu = scim_cpu_create(s->r.k, s->r.f, "cpu0", &p, s->r.stats, &err);
    ck_assert_msg(s->cpu, "%s", err.msg);
    s->os = scim_port_create(s->r.f, "os", os_request, os_response, s, s->r.stats, &err);
    ck_assert_msg(s->os, "%s", err.msg);
    rig_link(&s->r, "cpu0", "mem", LINK_LAT, 0);
    rig_link(&s->r, "cpu0", "os", LINK_LAT, 0);
    rig_finalize(&s->r);
    scim_cpu_set_targets(s->cpu, rig_node(&s->r, "mem"), rig_node(&s->r, "os"));
    scim_cpu_set_address_space(s->cpu, scim_pgtable_root(s->pt[0]), s->fmt);
    s->pending = scim_kernel_events_pending(s->r.k);
}

static void same_cpu_state(const side *t, const side *f, const char *where, int step)
{
    const scim_tlb *a[MAX_CACHES], *b[MAX_CACHES];
    const char *na[MAX_CACHES], *nb[MAX_CACHES];
    size_t n = scim_cpu_tlbs(t->cpu, a, na, MAX_CACHES), m = scim_cpu_tlbs(f->cpu, b, nb, MAX_CACHES);
    CHECK(n == m, "%s: %zu caches timed, %zu functional", where, n, m);
    same_caches(a, b, na, n, where, step);
    same_tables(t, f, where, step);
    untimed(f, where, step);
}

/* The timed side runs the trace; after each record's time, the functional
 * side makes the same access (again after each fault it resolves). Now
 * and then both get the same unmap and its shootdown: a snooped
 * invalidation message on the timed side, scim_cpu_warm_invalidate on the
 * functional one. */
START_TEST(test_cpu_twin)
{
    const char *repl = scim_tlb_repl_names[_i];
    uint64_t rng = 0xc0de0000u + (uint64_t)_i;
    static uint64_t vas[CPU_STEPS];
    static bool writes[CPU_STEPS];
    static char text[CPU_STEPS * 64];
    size_t len = 0;
    for (int i = 0; i < CPU_STEPS; i++) {
        vas[i] = random_va(&rng);
        writes[i] = rnd(&rng, 2);
        len += (size_t)snprintf(text + len, sizeof text - len, "@%llu %s 0x%llx 8\n", (ull)((i + 1) * GAP_NS),
                                writes[i] ? "write" : "read", (ull)vas[i]);
    }
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "cpu.trace", text, path, sizeof path);
    static side t, f;
    cpu_side(&t, path, repl);
    cpu_side(&f, path, repl);
    scim_err err = {0};
    ck_assert_msg(scim_cpu_start(t.cpu, &err) == 0, "%s", err.msg);
    uint64_t invalidations = 0, refused = 0;
    for (int i = 0; i < CPU_STEPS; i++) {
        /* half-way to the next record: this one is done, the next not begun */
        scim_time_t mid = ((uint64_t)i + 1) * GAP_NS * PS_PER_NS + GAP_NS * PS_PER_NS / 2;
        ck_assert_msg(scim_kernel_run_until(t.r.k, mid, &err) == 0, "%s", err.msg);
        int rc, tries = 0;
        uint64_t pa = 0;
        while ((rc = scim_cpu_warm_access(f.cpu, f.pm, 1, vas[i], writes[i], &pa)) == SCIM_RESP_NOT_PRESENT) {
            ck_assert_msg(++tries <= 2, "step %d: 0x%llx faults again", i, (ull)vas[i]);
            f.faults++;
            if (!resolve(&f, vas[i], writes[i])) {
                refused++;
                break;
            }
        }
        uint64_t want = 0;
        if (rc == 0) {
            ck_assert(scim_pgtable_lookup(f.pt[0], vas[i], &want, NULL, NULL));
            CHECK(pa == want, "%s step %d: 0x%llx at 0x%llx, not 0x%llx", repl, i, (ull)vas[i], (ull)pa, (ull)want);
        } else {
            ck_assert_msg(rc == SCIM_RESP_NOT_PRESENT, "%s step %d: %d", repl, i, rc);
        }
        CHECK(t.faults == f.faults, "%s step %d: %llu faults timed, %llu functional", repl, i, (ull)t.faults,
              (ull)f.faults);
        same_cpu_state(&t, &f, repl, i);
        if (rnd(&rng, 6) == 0) {
            scim_inv_scope s = os_change(&t, &f, &rng, 0);
            if (s.kind != SCIM_INV_RANGE || s.len) {
                scim_msg *m = scim_port_msg(t.os, SCIM_MSG_INV_REQ, scim_cpu_node(t.cpu));
                m->u.inv = (scim_inv_req){.scope = s, .broadcast = true};
                scim_port_request(t.os, SCIM_PORT_OWNER, invalidations++, m);
                scim_cpu_warm_invalidate(f.cpu, &s);
            }
        }
    }
    ck_assert_msg(scim_kernel_run(t.r.k, &err) == 0, "%s", err.msg);
    ck_assert_msg(scim_cpu_finished(t.cpu), "the timed core did not finish");
    same_cpu_state(&t, &f, repl, CPU_STEPS);
    double v = 0;
    ck_assert_int_eq(scim_stats_lookup(t.r.stats, "cpu0.snoops", &v), 0);
    ck_assert_msg(v == (double)invalidations && invalidations > 10, "%s: %.0f snoops of %llu", repl, v,
                  (ull)invalidations);
    ck_assert_msg(t.faults > 10 && refused > 0, "%s: %llu faults, %llu refused", repl, (ull)t.faults,
                  (ull)refused);
    /* every record done, in error where the OS refused the fault */
    static const char *const want[] = {"cpu0.mem.requests", "cpu0.mem.errors", "cpu0.faults", "cpu0.fault.errors"};
    const double wanted[] = {CPU_STEPS, (double)refused, (double)t.faults, (double)refused};
    for (size_t i = 0; i < COUNT_OF(want); i++) {
        ck_assert_int_eq(scim_stats_lookup(t.r.stats, want[i], &v), 0);
        ck_assert_msg(v == wanted[i], "%s: %s %.0f, not %.0f", repl, want[i], v, wanted[i]);
    }
    /* the accesses left dirty leaves behind (the controller's update, mirrored) */
    unsigned attrs = 0, dirty = 0;
    for (uint64_t i = 0; i < N4K; i++)
        dirty += scim_pgtable_lookup(f.pt[0], REGION_4K + i * SCIM_PAGE_SIZE, NULL, NULL, &attrs) &&
                 (attrs & SCIM_PTA_DIRTY);
    ck_assert_msg(dirty > 0, "%s: no dirty page", repl);
    side_free(&t);
    side_free(&f);
    tmpdir_remove(dir);
}
END_TEST

/* An access of another PASID is refused with nothing changed (a core of
 * a VM is warmed: test_warm_vm.c, test_warm_nested.c). */
START_TEST(test_cpu_refused)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "cpu.trace", "@0 read 0x1000000000 8\n", path, sizeof path);
    static side t, f;
    cpu_side(&t, path, "lru");
    cpu_side(&f, path, "lru");
    uint64_t va = REGION_4K;
    ck_assert_int_eq(scim_cpu_warm_access(t.cpu, t.pm, 1, va, false, NULL), 0);
    ck_assert_int_eq(scim_cpu_warm_access(f.cpu, f.pm, 1, va, false, NULL), 0);
    ck_assert_int_eq(scim_cpu_warm_access(f.cpu, f.pm, 2, va + SCIM_PAGE_SIZE, true, NULL), SCIM_RESP_INVALID);
    same_cpu_state(&t, &f, "other PASID", 0);
    side_free(&t);
    side_free(&f);
    tmpdir_remove(dir);
}
END_TEST

/* scim_cpu_warm_invalidate of one page: gone from every TLB, the other
 * pages stay, the PASID's cached table pointers are dropped. */
START_TEST(test_cpu_warm_invalidate)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "cpu.trace", "@0 read 0x1000000000 8\n", path, sizeof path);
    static side f;
    cpu_side(&f, path, "lru");
    /* a in one set of the L1, b and big in the other */
    uint64_t a = REGION_4K + SCIM_PAGE_SIZE, b = REGION_FAR, big = REGION_2M + 0x1230;
    ck_assert_int_eq(scim_cpu_warm_access(f.cpu, f.pm, 1, a, false, NULL), 0);
    ck_assert_int_eq(scim_cpu_warm_access(f.cpu, f.pm, 1, big, false, NULL), 0);
    ck_assert_int_eq(scim_cpu_warm_access(f.cpu, f.pm, 1, b, false, NULL), 0);
    const scim_tlb *c[MAX_CACHES];
    const char *names[MAX_CACHES];
    size_t n = scim_cpu_tlbs(f.cpu, c, names, MAX_CACHES);
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(scim_tlb_probe(c[i], 1, a, NULL) && scim_tlb_probe(c[i], 1, b, NULL) &&
                          scim_tlb_probe(c[i], 1, big, NULL),
                      "%s misses a page before", names[i]);
    scim_inv_scope s = {SCIM_INV_RANGE, 1, a, SCIM_PAGE_SIZE};
    scim_cpu_warm_invalidate(f.cpu, &s);
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(!scim_tlb_probe(c[i], 1, a, NULL) && scim_tlb_probe(c[i], 1, b, NULL) &&
                          scim_tlb_probe(c[i], 1, big, NULL),
                      "%s after the invalidation", names[i]);
    for (size_t i = 2; i < n; i++)
        ck_assert_msg(scim_tlb_valid_entries(c[i]) == 0, "%s keeps %llu pointers", names[i],
                      (ull)scim_tlb_valid_entries(c[i]));
    /* a 2 MiB page goes with any byte of it */
    s = (scim_inv_scope){SCIM_INV_RANGE, 1, big + 0x100000, 8};
    scim_cpu_warm_invalidate(f.cpu, &s);
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(!scim_tlb_probe(c[i], 1, big, NULL) && scim_tlb_probe(c[i], 1, b, NULL), "%s: 2 MiB page",
                      names[i]);
    untimed(&f, "invalidate", 0);
    side_free(&f);
    tmpdir_remove(dir);
}
END_TEST

static Suite *warm_suite(void)
{
    Suite *s = suite_create("warm_walker");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_walk_twin, 0, (int)COUNT_OF(formats));
    tcase_add_loop_test(tc, test_walk_refused, 0, 2);
    tcase_add_loop_test(tc, test_cpu_twin, 0, SCIM_REPL_PLRU + 1);
    tcase_add_test(tc, test_cpu_refused);
    tcase_add_test(tc, test_cpu_warm_invalidate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(warm_suite()); }

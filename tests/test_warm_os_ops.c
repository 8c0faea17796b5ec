/* The OS's functional munmap and mprotect (sim.warmup: scim_os_warm_op)
 * against the timed operations, by twins (helpers/warmtwin.h): the timed
 * twin is sent the record through its port, as an agent would, and run
 * until its shootdown is over (the mocks answer every invalidation); the
 * warm twin is given it through scim_os_warm_op. Then the whole OS state is
 * compared (pages, page-table entries, frames, CLOCK list, swap, regions),
 * and the scope the warm call returned against the invalidations the
 * timed twin sent (IPIs or broadcasts to cpu0, descriptors to the IOMMU,
 * broadcasts to dev0). Each case then faults on, on both twins, from the
 * frames the operation freed: the same future follows. Cases that shoot
 * down run under both protocols (os.shootdown sync and broadcast). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/warmtwin.h"

/* ---------- the operation on both twins ---------- */

static scim_trace_rec op_rec(scim_trace_op op, uint64_t va, uint64_t size)
{
    return (scim_trace_rec){.op = op, .addr = va, .size = size, .pasid = PASID, .has = SCIM_TRACE_HAS_PASID};
}

static scim_trace_rec prot_rec(uint64_t va, uint64_t size, unsigned prot)
{
    scim_trace_rec r = op_rec(SCIM_OP_MPROTECT, va, size);
    r.prot = (uint8_t)prot;
    r.has |= SCIM_TRACE_HAS_PROT;
    return r;
}

/* rec on both twins, answered `expect` by both; the invalidations the
 * timed twin sent in *out, the scope the warm call returned. */
static scim_inv_scope both_op(side *t, side *w, const scim_trace_rec *rec, int32_t expect, sent *out)
{
    marks m = mark(t);
    ck_assert_int_eq(timed_op(t, rec), expect);
    *out = sent_since(t, &m);
    scim_err err = {0};
    scim_inv_scope inv = {SCIM_INV_GLOBAL, 0, 0, 1};
    int rc = scim_os_warm_op(w->os, rec, PASID, &inv, &err);
    ck_assert_msg(rc == (expect == SCIM_RESP_OK ? 0 : expect), "warm %s: rc %d (timed %d): %s",
                  scim_trace_op_name(rec->op), rc, expect, err.msg);
    ck_assert_msg(err.code == 0, "an answer, not an error: %s", err.msg);
    return inv;
}

static bool is_nothing(const scim_inv_scope *s) { return s->kind == SCIM_INV_RANGE && s->len == 0; }

/* The timed twin sent nothing, the warm call says nothing is to drop. */
static void expect_nothing(const sent *s, const scim_inv_scope *inv, const char *what)
{
    ck_assert_msg(s->n == 0, "%s: the timed twin sent %zu invalidations", what, s->n);
    ck_assert_msg(is_nothing(inv), "%s: warm scope kind %d addr 0x%llx len 0x%llx, expected nothing", what,
                  inv->kind, (unsigned long long)inv->addr, (unsigned long long)inv->len);
}

/* Every invalidation the timed twin sent (the IOMMU's among them) has the
 * warm call's scope. */
static void expect_exact(const sent *s, const scim_inv_scope *inv, const char *what)
{
    ck_assert_msg(s->iommu > 0 && s->n > s->iommu, "%s: %zu invalidations sent, %zu to the IOMMU", what, s->n,
                  s->iommu);
    for (size_t i = 0; i < s->n; i++)
        ck_assert_msg(same_scope(&s->v[i], inv),
                      "%s: invalidation %zu: kind %d addr 0x%llx len 0x%llx; warm: kind %d addr 0x%llx len 0x%llx",
                      what, i, s->v[i].kind, (unsigned long long)s->v[i].addr, (unsigned long long)s->v[i].len,
                      inv->kind, (unsigned long long)inv->addr, (unsigned long long)inv->len);
}

/* Several ranges, one invalidation each at the IOMMU: the warm scope runs
 * from the first one's start to the last one's end. */
static void expect_covering(const sent *s, const scim_inv_scope *inv, size_t ranges, const char *what)
{
    ck_assert_msg(s->iommu == ranges, "%s: %zu ranges to the IOMMU, expected %zu", what, s->iommu, ranges);
    const scim_inv_scope *first = &s->v[0], *last = &s->v[ranges - 1];
    ck_assert_msg(inv->kind == SCIM_INV_RANGE && inv->pasid == PASID && inv->addr == first->addr &&
                      inv->addr + inv->len == last->addr + last->len,
                  "%s: warm scope [0x%llx, +0x%llx) against ranges from 0x%llx to 0x%llx", what,
                  (unsigned long long)inv->addr, (unsigned long long)inv->len, (unsigned long long)first->addr,
                  (unsigned long long)(last->addr + last->len));
}

static uint64_t pa_of(const side *s, uint64_t va)
{
    uint64_t pa = 0;
    ck_assert(scim_os_resolve(s->os, PASID, va, &pa) == 1);
    return pa;
}

static uint64_t attrs_of(const side *s, uint64_t va)
{
    unsigned attrs = 0;
    ck_assert(scim_pgtable_lookup(proc(s)->pt, va, NULL, NULL, &attrs) == 1);
    return attrs;
}

static void twins(side *t, side *w, int shootdown)
{
    scim_os_params p = os_defaults();
    p.shootdown = shootdown;
    twin_init(t, w, &p, MEM_BIG, VIA_PRI);
}

static void twins_free(side *t, side *w)
{
    side_free(t);
    side_free(w);
}

/* ---------- munmap ---------- */

/* Part of a faulted 4 KiB region (the range widened to whole pages): the
 * region splits, one range is shot down, the frames come back, and the
 * next faults take them again alike. */
START_TEST(twin_munmap_part_splits)
{
    side t, w;
    twins(&t, &w, _i);
    for (uint64_t i = 0; i < 16; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, i & 1);
    size_t regions = proc(&w)->n_regions;
    uint64_t freed = pa_of(&w, REG_B + 4 * PG);
    sent s;
    scim_trace_rec rec = op_rec(SCIM_OP_MUNMAP, REG_B + 4 * PG + 0x10, 4 * PG - 0x20);
    scim_inv_scope inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_exact(&s, &inv, "munmap of part");
    ck_assert(inv.kind == SCIM_INV_RANGE && inv.addr == REG_B + 4 * PG && inv.len == 4 * PG);
    same_state(&t, &w, "after munmap of part");
    ck_assert_uint_eq(proc(&w)->n_regions, regions + 1);
    ck_assert(mapped(&w, REG_B + 3 * PG) && !mapped(&w, REG_B + 4 * PG) && mapped(&w, REG_B + 8 * PG));
    ck_assert_int_eq(timed_fault(&t, VIA_PRI, REG_B + 5 * PG, false), SCIM_RESP_INVALID);
    scim_err err = {0};
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, REG_B + 5 * PG, false, &err), SCIM_RESP_INVALID);
    for (uint64_t i = 16; i < 24; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, true);
    bool reused = false;
    for (uint64_t i = 16; i < 24; i++)
        reused |= pa_of(&w, REG_B + i * PG) == freed;
    ck_assert_msg(reused, "no later fault took a freed frame: the case tests nothing");
    same_state(&t, &w, "faults after munmap of part");
    twins_free(&t, &w);
}
END_TEST

/* A whole region, more pages than os.inv_coalesce_pages: one whole-PASID
 * invalidation; the region goes, and its last-level page table with it
 * (freed once the shootdown is over). */
START_TEST(twin_munmap_whole_region)
{
    side t, w;
    twins(&t, &w, _i);
    uint64_t pages = w.os->p.inv_coalesce_pages + 7;
    for (uint64_t i = 0; i < pages; i++)
        both_fault(&t, &w, VIA_PRI, REG_C + i * PG, false);
    both_fault(&t, &w, VIA_PRI, REG_B, true);
    scim_os_frames before;
    scim_os_frames_get(w.os, &before);
    size_t regions = proc(&w)->n_regions;
    sent s;
    scim_trace_rec rec = op_rec(SCIM_OP_MUNMAP, REG_C, REG_C_PAGES * PG);
    scim_inv_scope inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_exact(&s, &inv, "munmap of a region");
    ck_assert(inv.kind == SCIM_INV_PASID && inv.pasid == PASID);
    same_state(&t, &w, "after munmap of a region");
    scim_os_frames after;
    scim_os_frames_get(w.os, &after);
    ck_assert_uint_eq(after.data, before.data - pages);
    ck_assert_uint_eq(after.page_tables, before.page_tables - 1);
    ck_assert_uint_eq(after.deferred, 0);
    ck_assert_uint_eq(proc(&w)->n_regions, regions - 1);
    for (uint64_t i = 1; i < 12; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * 5 * PG, i & 1);
    same_state(&t, &w, "faults after munmap of a region");
    twins_free(&t, &w);
}
END_TEST

/* With the warm-up's invalidation callback set, an operation's scopes go
 * through it, each to the caches the timed round sends it to: the devices'
 * are the IOMMU's descriptors, in order; under sync the cores' are cpu0's
 * IPIs (one, the whole PASID for several ranges), under broadcast every
 * scope is for all and is what cpu0 and dev0 snooped. *inv says nothing.
 * A sparse munmap (three ranges) and an mprotect of one range. */
typedef struct routed {
    scim_inv_scope v[SENT_MAX];
    unsigned targets[SENT_MAX];
    size_t n;
} routed;

static void route(void *ctx, const scim_inv_scope *s, unsigned targets)
{
    routed *r = ctx;
    ck_assert(r->n < SENT_MAX);
    r->targets[r->n] = targets;
    r->v[r->n++] = *s;
}

/* The routed scopes for `targets`, in order, are v[0..n). */
static void routed_are(const routed *r, unsigned targets, const scim_inv_scope *v, size_t n, const char *what)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!(r->targets[i] & targets))
            continue;
        ck_assert_msg(k < n && same_scope(&r->v[i], &v[k]), "%s: scope %zu for %u differs from the timed one",
                      what, k, targets);
        k++;
    }
    ck_assert_msg(k == n, "%s: %zu scopes for %u, the timed round sent %zu", what, k, targets, n);
}

START_TEST(op_scopes_through_the_callback)
{
    side t, w;
    twins(&t, &w, _i);
    routed r = {0};
    scim_os_warm_set_invalidate(w.os, route, &r);
    const uint64_t at[] = {0, 1, 2, 10, 11, 50};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        both_fault(&t, &w, VIA_PRI, REG_C + at[i] * PG, true);
    const scim_trace_rec recs[] = {op_rec(SCIM_OP_MUNMAP, REG_C, 64 * PG),
                                   prot_rec(REG_B, 4 * PG, SCIM_PROT_R)};
    for (size_t i = 0; i < 4; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, true);
    for (size_t k = 0; k < sizeof recs / sizeof recs[0]; k++) {
        const char *what = scim_trace_op_name(recs[k].op);
        r.n = 0;
        sent s;
        scim_inv_scope inv = both_op(&t, &w, &recs[k], SCIM_RESP_OK, &s);
        ck_assert_msg(is_nothing(&inv), "%s: *inv with a callback set", what);
        ck_assert_uint_eq(s.iommu, k == 0 ? 3 : 1);
        routed_are(&r, SCIM_OS_WARM_INV_DEVICES, s.v, s.iommu, what);
        if (_i == OS_SD_SYNC) {
            routed_are(&r, SCIM_OS_WARM_INV_CORES, s.v + s.iommu, s.n - s.iommu, what);
            ck_assert_msg(s.n == s.iommu + 1, "%s: one IPI", what);
        } else {
            for (size_t i = 0; i < r.n; i++)
                ck_assert_uint_eq(r.targets[i], SCIM_OS_WARM_INV_ALL);
            ck_assert_msg(s.n == 3 * s.iommu, "%s: cpu0 and dev0 snooped each", what);
            routed_are(&r, SCIM_OS_WARM_INV_CORES, s.v + s.iommu, s.iommu, what);
        }
        same_state(&t, &w, what);
    }
    scim_os_warm_set_invalidate(w.os, NULL, NULL);
    twins_free(&t, &w);
}
END_TEST

/* Pages mapped here and there: the timed round sends one range each to
 * the IOMMU; the warm scope covers them, from the first to the last. */
START_TEST(twin_munmap_sparse)
{
    side t, w;
    twins(&t, &w, _i);
    const uint64_t at[] = {0, 1, 2, 10, 11, 50};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        both_fault(&t, &w, VIA_PRI, REG_C + at[i] * PG, i & 1);
    sent s;
    scim_trace_rec rec = op_rec(SCIM_OP_MUNMAP, REG_C, 64 * PG);
    scim_inv_scope inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_covering(&s, &inv, 3, "sparse munmap");
    ck_assert(inv.addr == REG_C && inv.len == 51 * PG);
    if (_i == OS_SD_SYNC)
        ck_assert_msg(s.n == 4 && s.v[3].kind == SCIM_INV_PASID, "sync: the core's IPI flushes the PASID");
    same_state(&t, &w, "after sparse munmap");
    ck_assert(!os_find_region(proc(&w), REG_C) && os_find_region(proc(&w), REG_C + 64 * PG)->start == REG_C + 64 * PG);
    for (uint64_t i = 64; i < 72; i++)
        both_fault(&t, &w, VIA_PRI, REG_C + i * PG, true);
    same_state(&t, &w, "faults after sparse munmap");
    twins_free(&t, &w);
}
END_TEST

/* A range with swapped-out pages: they are forgotten and their swap slots
 * freed, as timed; a later reclaim takes the same slots on both. */
START_TEST(twin_munmap_swapped)
{
    side t, w;
    twins(&t, &w, OS_SD_SYNC);
    scim_trace_rec out = op_rec(SCIM_OP_RECLAIM, REG_B + 2 * PG, 3 * PG);
    for (side *s = &t; s; s = s == &t ? &w : NULL) {
        for (uint64_t i = 0; i < 8; i++)
            ck_assert_int_eq(timed_fault(s, VIA_PRI, REG_B + i * PG, i & 1), SCIM_RESP_OK);
        ck_assert_int_eq(timed_op(s, &out), SCIM_RESP_OK);
        ck_assert_uint_eq(proc(s)->swapped.len, 3);
    }
    same_state(&t, &w, "after the reclaim");
    sent s;
    scim_trace_rec rec = op_rec(SCIM_OP_MUNMAP, REG_B, 8 * PG);
    scim_inv_scope inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_covering(&s, &inv, 2, "munmap with swapped pages");
    ck_assert_uint_eq(proc(&w)->swapped.len, 0);
    ck_assert_uint_eq(w.os->n_free_slots, 3);
    same_state(&t, &w, "after munmap with swapped pages");
    scim_trace_rec again = op_rec(SCIM_OP_RECLAIM, REG_B + 10 * PG, 2 * PG);
    for (side *x = &t; x; x = x == &t ? &w : NULL) {
        for (uint64_t i = 10; i < 14; i++)
            ck_assert_int_eq(timed_fault(x, VIA_PRI, REG_B + i * PG, false), SCIM_RESP_OK);
        ck_assert_int_eq(timed_op(x, &again), SCIM_RESP_OK);
    }
    same_state(&t, &w, "a reclaim after munmap");
    twins_free(&t, &w);
}
END_TEST

/* 2 MiB pages: part of one is refused whole (Invalid, nothing sent); one
 * huge page, then the rest, go (order-9 frames back to the allocator). */
START_TEST(twin_munmap_huge)
{
    side t, w;
    twins(&t, &w, _i);
    both_fault(&t, &w, VIA_PRI, REG_H + 3 * PG, true);
    both_fault(&t, &w, VIA_PRI, REG_H + HUGE_PG, false);
    sent s;
    scim_trace_rec part = op_rec(SCIM_OP_MUNMAP, REG_H + PG, PG);
    scim_inv_scope inv = both_op(&t, &w, &part, SCIM_RESP_INVALID, &s);
    expect_nothing(&s, &inv, "munmap of part of a huge page");
    same_state(&t, &w, "after a refused munmap");
    scim_os_frames before;
    scim_os_frames_get(w.os, &before);
    scim_trace_rec second = op_rec(SCIM_OP_MUNMAP, REG_H + HUGE_PG, HUGE_PG);
    inv = both_op(&t, &w, &second, SCIM_RESP_OK, &s);
    expect_exact(&s, &inv, "munmap of a huge page");
    ck_assert(inv.kind == SCIM_INV_RANGE && inv.addr == REG_H + HUGE_PG && inv.len == HUGE_PG);
    scim_os_frames after;
    scim_os_frames_get(w.os, &after);
    ck_assert_uint_eq(after.data, before.data - PAGES_IN_HUGE);
    same_state(&t, &w, "after munmap of a huge page");
    scim_trace_rec all = op_rec(SCIM_OP_MUNMAP, REG_H, REG_H_HUGE * HUGE_PG);
    inv = both_op(&t, &w, &all, SCIM_RESP_OK, &s);
    expect_exact(&s, &inv, "munmap of a 2 MiB region");
    same_state(&t, &w, "after munmap of a 2 MiB region");
    both_fault(&t, &w, VIA_PRI, REG_B, true);
    both_fault(&t, &w, VIA_PRI, REG_C + PG, false);
    same_state(&t, &w, "faults after munmap of 2 MiB pages");
    twins_free(&t, &w);
}
END_TEST

/* A pinned page outlives its mapping (in transit until its last unpin),
 * as timed. */
START_TEST(twin_munmap_pinned)
{
    side t, w;
    twins(&t, &w, OS_SD_SYNC);
    scim_trace_rec pin = op_rec(SCIM_OP_PIN, REG_B + PG, 2 * PG), unpin = op_rec(SCIM_OP_UNPIN, REG_B + PG, 2 * PG);
    for (uint64_t i = 0; i < 4; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, true);
    ck_assert_int_eq(timed_op(&t, &pin), SCIM_RESP_OK);
    ck_assert_int_eq(timed_op(&w, &pin), SCIM_RESP_OK);
    sent s;
    scim_trace_rec rec = op_rec(SCIM_OP_MUNMAP, REG_B, 4 * PG);
    scim_inv_scope inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_exact(&s, &inv, "munmap of pinned pages");
    scim_os_frames f;
    scim_os_frames_get(w.os, &f);
    ck_assert_uint_eq(f.transit, 2);
    same_state(&t, &w, "after munmap of pinned pages");
    ck_assert_int_eq(timed_op(&t, &unpin), SCIM_RESP_OK);
    ck_assert_int_eq(timed_op(&w, &unpin), SCIM_RESP_OK);
    scim_os_frames_get(w.os, &f);
    ck_assert_uint_eq(f.transit, 0);
    same_state(&t, &w, "after the unpin");
    for (uint64_t i = 0; i < 4; i++)
        both_fault(&t, &w, VIA_PRI, REG_C + i * PG, true);
    same_state(&t, &w, "faults after the unpin");
    twins_free(&t, &w);
}
END_TEST

/* The pins of both twins, frame by frame and page by page. */
typedef struct pin_cmp {
    const scim_u64map *other;
    size_t differ;
} pin_cmp;

static void pin_entry(void *ctx, uint64_t key, uint64_t val)
{
    pin_cmp *c = ctx;
    const uint64_t *v = scim_u64map_get(c->other, key);
    c->differ += !v || *v != val;
}

static void same_pins(const side *t, const side *w, const char *what)
{
    const process *pt = os_find_process(t->os, PASID), *pw = os_find_process(w->os, PASID);
    pin_cmp c = {&w->os->pins, 0};
    scim_u64map_foreach(&t->os->pins, pin_entry, &c);
    ck_assert_msg(c.differ == 0 && t->os->pins.len == w->os->pins.len, "%s: pinned frames differ (%zu of %zu)",
                  what, c.differ, t->os->pins.len);
    c = (pin_cmp){&pw->pinned_at, 0};
    scim_u64map_foreach(&pt->pinned_at, pin_entry, &c);
    ck_assert_msg(c.differ == 0 && pt->pinned_at.len == pw->pinned_at.len, "%s: pinned pages differ", what);
}

/* pin and unpin records: the warm call is the timed operation's own work
 * (os_pin_range): pages faulted in where missing, pins counted per frame
 * and per page, all or nothing (a range running out of its region pins
 * nothing), unpin by address, a pinned page surviving its munmap until
 * the unpin; no shootdown for either. */
START_TEST(twin_pin_unpin)
{
    side t, w;
    twins(&t, &w, OS_SD_SYNC);
    both_fault(&t, &w, VIA_PRI, REG_B + PG, true);
    both_fault(&t, &w, VIA_PRI, REG_B + 2 * PG, false);
    sent s;
    const struct {
        scim_trace_rec rec;
        int32_t expect;
        uint64_t pinned; /* frames pinned after it */
        const char *what;
    } steps[] = {
        {op_rec(SCIM_OP_PIN, REG_B, 4 * PG), SCIM_RESP_OK, 4, "pin of 2 present and 2 missing pages"},
        {op_rec(SCIM_OP_PIN, REG_B + 2 * PG, 4 * PG), SCIM_RESP_OK, 6, "an overlapping pin"},
        {op_rec(SCIM_OP_PIN, REG_B + (REG_B_PAGES - 2) * PG, 4 * PG), SCIM_RESP_INVALID, 6,
         "a pin past the region: nothing pinned"},
        {op_rec(SCIM_OP_UNPIN, REG_B, 4 * PG), SCIM_RESP_OK, 4, "unpin of the first"},
        {op_rec(SCIM_OP_MUNMAP, REG_B + 2 * PG, 2 * PG), SCIM_RESP_OK, 4, "munmap of pinned pages"},
        {op_rec(SCIM_OP_UNPIN, REG_B + 2 * PG, 4 * PG), SCIM_RESP_OK, 0, "unpin of the rest, two unmapped"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        scim_inv_scope inv = both_op(&t, &w, &steps[i].rec, steps[i].expect, &s);
        if (steps[i].rec.op != SCIM_OP_MUNMAP)
            expect_nothing(&s, &inv, steps[i].what);
        ck_assert_msg(w.os->pins.len == steps[i].pinned, "%s: %zu frames pinned, expected %llu", steps[i].what,
                      w.os->pins.len, (unsigned long long)steps[i].pinned);
        same_state(&t, &w, steps[i].what);
        same_pins(&t, &w, steps[i].what);
    }
    for (uint64_t i = 0; i < 4; i++)
        both_fault(&t, &w, VIA_PRI, REG_C + i * PG, true);
    same_state(&t, &w, "faults after the unpins");
    twins_free(&t, &w);
}
END_TEST

/* reclaim and migrate records: 8 pages faulted in, the 4th pinned (it
 * stays where it is); the warm call leaves what the timed operation does
 * after its shootdown (swap slots and frames; migrated pages at new
 * frames, their rights kept) and its scope covers the two ranges the
 * timed one sent; the pages come back from swap the same way, and a
 * migrate of pages never faulted does nothing. */
START_TEST(twin_reclaim_and_migrate)
{
    side t, w;
    twins(&t, &w, OS_SD_SYNC);
    scim_trace_rec pin = op_rec(SCIM_OP_PIN, REG_B + 3 * PG, PG);
    for (uint64_t i = 0; i < 8; i++) {
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, i & 1);
        both_fault(&t, &w, VIA_PRI, REG_C + i * PG, !(i & 1));
    }
    sent s;
    both_op(&t, &w, &pin, SCIM_RESP_OK, &s);
    scim_trace_rec rec = op_rec(SCIM_OP_RECLAIM, REG_B, 8 * PG);
    scim_inv_scope inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_covering(&s, &inv, 2, "reclaim around a pinned page");
    ck_assert_uint_eq(proc(&w)->swapped.len, 7);
    same_state(&t, &w, "after the reclaim");
    for (uint64_t i = 0; i < 8; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, false);
    same_state(&t, &w, "swapped back in");
    pin = op_rec(SCIM_OP_PIN, REG_C + 3 * PG, PG);
    both_op(&t, &w, &pin, SCIM_RESP_OK, &s);
    rec = op_rec(SCIM_OP_MIGRATE, REG_C, 8 * PG);
    inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_covering(&s, &inv, 2, "migrate around a pinned page");
    same_state(&t, &w, "after the migrate");
    for (uint64_t i = 0; i < 8; i++)
        ck_assert(mapped(&w, REG_C + i * PG));
    rec = op_rec(SCIM_OP_MIGRATE, REG_C + 32 * PG, 4 * PG);
    inv = both_op(&t, &w, &rec, SCIM_RESP_OK, &s);
    expect_nothing(&s, &inv, "migrate of pages never faulted");
    for (uint64_t i = 0; i < 4; i++)
        both_fault(&t, &w, VIA_PRI, REG_C + (8 + i) * PG, true);
    same_state(&t, &w, "faults after the migrate");
    twins_free(&t, &w);
}
END_TEST

/* Nothing mapped in the range: outside every region, a no-op answered OK;
 * a region never faulted, removed with no shootdown. */
START_TEST(twin_unmapped_ranges)
{
    side t, w;
    twins(&t, &w, OS_SD_SYNC);
    both_fault(&t, &w, VIA_PRI, REG_B, true);
    const scim_trace_rec recs[] = {op_rec(SCIM_OP_MUNMAP, NOWHERE, 4 * PG), prot_rec(NOWHERE, 4 * PG, SCIM_PROT_R),
                                   op_rec(SCIM_OP_MUNMAP, REG_C, 16 * PG),
                                   prot_rec(REG_C + 32 * PG, 4 * PG, SCIM_PROT_R)};
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        sent s;
        scim_inv_scope inv = both_op(&t, &w, &recs[i], SCIM_RESP_OK, &s);
        expect_nothing(&s, &inv, scim_trace_op_name(recs[i].op));
        same_state(&t, &w, scim_trace_op_name(recs[i].op));
    }
    ck_assert(os_find_region(proc(&w), REG_C) == NULL && os_find_region(proc(&w), REG_C + 16 * PG) != NULL);
    twins_free(&t, &w);
}
END_TEST

/* ---------- mprotect ---------- */

/* rw -> r on part of the faulted pages (one range; the region splits in
 * three), then on all of them (only those still writable are shot down:
 * two ranges), then r -> rw (an upgrade: nothing sent), with faults in
 * between refused and allowed alike. Then r -> rw on a read-only
 * region's faulted page. */
START_TEST(twin_mprotect_matches)
{
    side t, w;
    twins(&t, &w, _i);
    for (uint64_t i = 0; i < 10; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, true);
    size_t regions = proc(&w)->n_regions;
    sent s;
    scim_trace_rec part = prot_rec(REG_B + 2 * PG, 4 * PG, SCIM_PROT_R);
    scim_inv_scope inv = both_op(&t, &w, &part, SCIM_RESP_OK, &s);
    expect_exact(&s, &inv, "mprotect r of part");
    ck_assert(inv.kind == SCIM_INV_RANGE && inv.addr == REG_B + 2 * PG && inv.len == 4 * PG);
    same_state(&t, &w, "after mprotect r of part");
    ck_assert_uint_eq(proc(&w)->n_regions, regions + 2);
    ck_assert(!(attrs_of(&w, REG_B + 3 * PG) & SCIM_PTA_WRITE) && (attrs_of(&w, REG_B + 3 * PG) & SCIM_PTA_USER));
    ck_assert(attrs_of(&w, REG_B + PG) & SCIM_PTA_WRITE);
    ck_assert_int_eq(timed_fault(&t, VIA_PRI, REG_B + 3 * PG, true), SCIM_RESP_INVALID);
    scim_err err = {0};
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, REG_B + 3 * PG, true, &err), SCIM_RESP_INVALID);

    scim_trace_rec all = prot_rec(REG_B, 10 * PG, SCIM_PROT_R);
    inv = both_op(&t, &w, &all, SCIM_RESP_OK, &s);
    expect_covering(&s, &inv, 2, "mprotect r of all");
    ck_assert(inv.addr == REG_B && inv.len == 10 * PG);
    same_state(&t, &w, "after mprotect r of all");

    scim_trace_rec up = prot_rec(REG_B, 10 * PG, SCIM_PROT_RW);
    inv = both_op(&t, &w, &up, SCIM_RESP_OK, &s);
    expect_nothing(&s, &inv, "mprotect rw");
    same_state(&t, &w, "after mprotect rw");
    ck_assert(attrs_of(&w, REG_B + 3 * PG) & SCIM_PTA_WRITE);
    both_fault(&t, &w, VIA_PRI, REG_B + 3 * PG, true);

    both_fault(&t, &w, VIA_PRI, REG_R + PG, false);
    scim_trace_rec ro_up = prot_rec(REG_R, 4 * PG, SCIM_PROT_RW);
    inv = both_op(&t, &w, &ro_up, SCIM_RESP_OK, &s);
    expect_nothing(&s, &inv, "mprotect rw of a read-only region");
    both_fault(&t, &w, VIA_PRI, REG_R + PG, true);
    both_fault(&t, &w, VIA_PRI, REG_R + 2 * PG, true);
    ck_assert(attrs_of(&w, REG_R + PG) & SCIM_PTA_WRITE);
    for (uint64_t i = 10; i < 16; i++)
        both_fault(&t, &w, VIA_PRI, REG_B + i * PG, i & 1);
    same_state(&t, &w, "faults after mprotect");
    twins_free(&t, &w);
}
END_TEST

/* ---------- refusals ---------- */

/* os.unsafe_skip_device_inv: a round that would shoot down is refused
 * (the timed one leaves the devices stale), nothing changed; one that
 * would not (an upgrade, an empty range) is applied. */
START_TEST(skipped_device_inv_is_refused)
{
    side w, idle;
    scim_os_params p = os_defaults();
    p.unsafe_skip_device_inv = true;
    side_init(&w, &p, MEM_BIG, false, false);
    side_init(&idle, &p, MEM_BIG, false, false);
    warm_ok(&w, REG_B, true);
    warm_ok(&idle, REG_B, true);
    const scim_trace_rec bad[] = {op_rec(SCIM_OP_MUNMAP, REG_B, 4 * PG), prot_rec(REG_B, 4 * PG, SCIM_PROT_R)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scim_err err = {0};
        ck_assert_int_eq(scim_os_warm_op(w.os, &bad[i], PASID, NULL, &err), SCIM_EINVAL);
        ck_assert_msg(strstr(err.msg, "unsafe_skip_device_inv") && strstr(err.msg, "sim.warmup") &&
                          strstr(err.msg, scim_trace_op_name(bad[i].op)),
                      "message: %s", err.msg);
    }
    same_state(&w, &idle, "after refused operations");
    scim_err err = {0};
    scim_inv_scope inv;
    scim_trace_rec up = prot_rec(REG_B, 4 * PG, SCIM_PROT_RW), none = op_rec(SCIM_OP_MUNMAP, REG_C, 4 * PG);
    ck_assert_msg(scim_os_warm_op(w.os, &up, PASID, &inv, &err) == 0 && is_nothing(&inv), "%s", err.msg);
    ck_assert_msg(scim_os_warm_op(w.os, &none, PASID, &inv, &err) == 0 && is_nothing(&inv), "%s", err.msg);
    side_free(&w);
    side_free(&idle);
}
END_TEST

/* A shadowed PASID: what an munmap and an mprotect write (entries
 * cleared, tables freed, rights lowered) reaches the copy through the
 * warm-up's sync, and the copy is the table after each. */
START_TEST(shadow_copy_follows_ops)
{
    side w;
    scim_os_params p = os_defaults();
    side_init(&w, &p, MEM_BIG, false, false);
    for (uint64_t i = 0; i < 8; i++)
        warm_ok(&w, REG_B + i * PG, true);
    shadow_copy c;
    shadow_copy_init(&c, &w, "dev0");
    shadow_copy_check(&c, &w, "at bind");
    scim_err err = {0};
    scim_inv_scope inv;
    scim_trace_rec rec = prot_rec(REG_B + 4 * PG, 4 * PG, SCIM_PROT_R);
    ck_assert_msg(scim_os_warm_op(w.os, &rec, PASID, &inv, &err) == 0, "%s", err.msg);
    shadow_copy_check(&c, &w, "an mprotect to read-only");
    ck_assert_uint_ge(c.updates, 4);
    rec = op_rec(SCIM_OP_MUNMAP, REG_B, 4 * PG);
    ck_assert_msg(scim_os_warm_op(w.os, &rec, PASID, &inv, &err) == 0, "%s", err.msg);
    shadow_copy_check(&c, &w, "an munmap");
    ck_assert_uint_ge(c.clears, 4);
    ck_assert(!mapped(&w, REG_B) && mapped(&w, REG_B + 4 * PG));
    shadow_copy_free(&c);
    side_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("warm_os_ops");
    TCase *tc = tcase_create("warm_os_ops");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, twin_munmap_part_splits, OS_SD_SYNC, OS_SD_BROADCAST + 1);
    tcase_add_loop_test(tc, twin_munmap_whole_region, OS_SD_SYNC, OS_SD_BROADCAST + 1);
    tcase_add_loop_test(tc, twin_munmap_sparse, OS_SD_SYNC, OS_SD_BROADCAST + 1);
    tcase_add_loop_test(tc, op_scopes_through_the_callback, OS_SD_SYNC, OS_SD_BROADCAST + 1);
    tcase_add_loop_test(tc, twin_munmap_huge, OS_SD_SYNC, OS_SD_BROADCAST + 1);
    tcase_add_loop_test(tc, twin_mprotect_matches, OS_SD_SYNC, OS_SD_BROADCAST + 1);
    tcase_add_test(tc, twin_munmap_swapped);
    tcase_add_test(tc, twin_munmap_pinned);
    tcase_add_test(tc, twin_pin_unpin);
    tcase_add_test(tc, twin_reclaim_and_migrate);
    tcase_add_test(tc, twin_unmapped_ranges);
    tcase_add_test(tc, skipped_device_inv_is_refused);
    tcase_add_test(tc, shadow_copy_follows_ops);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

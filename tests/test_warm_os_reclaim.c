/* The OS's functional warm-up reclaims as its kswapd would, at once
 * (src/os/warm.c, "reclaim"): when a warm fault, prefault or populated mmap
 * leaves fewer than os.reclaim.low_watermark frames free, or a warm fault
 * finds no frame, it runs kswapd's CLOCK rounds (reclaim.c) before
 * returning, its shootdowns through the invalidation callback
 * (scim_os_warm_set_invalidate).
 *
 * The twins (helpers/warmtwin.h): the timed OS is sent each fault through
 * its port and its kernel run until nothing is left, so the kswapd it woke
 * has finished every round (shootdown answered by the mocks, swap writes
 * done, frames freed) before the next fault: both twins are quiescent
 * after every fault, and are compared there, fault by fault: the whole
 * state (pages, page-table entries, frames, CLOCK list and hand, swap
 * slots), and the scopes the warm callback got against the invalidations
 * the timed twin's mocks received. That the timed kswapd runs later than
 * the warm one does not show here, as nothing else runs meanwhile; what
 * does (warm.c says why) is kept out of the twins: a swap-in that wakes
 * kswapd (the timed one picks its victims before the page is mapped),
 * zeroed I/O faults (the same) and prefaults (the timed handler does not
 * wake kswapd). Accessed bits are set on both twins alike, as walks would.
 *
 * Then: no translation outlives its frame (the callback runs before any
 * frame of the pages it drops is freed); more pages than memory holds,
 * and pages swapped back in; the errors (nothing reclaimable, no swap, no
 * callback, a shootdown that would skip the devices). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/warmtwin.h"

/* Watermarks and batch small enough for many rounds in MEM_SMALL. */
#define LOW 32u
#define HIGH 48u
#define BATCH 8u
#define SMALL_COALESCE 4u       /* below BATCH: rounds become whole-PASID invalidations */
#define WAIT_HIGH 16u           /* low watermark 0: only a fault that found no frame wakes kswapd */
#define FAULT_FRAMES 4u         /* a fault's data frame and up to three page-table frames */
#define PAGES (REG_B_PAGES + REG_C_PAGES)
#define STEPS 700

/* The pages of B, then of C. */
static uint64_t page_va(uint64_t i) { return i < REG_B_PAGES ? REG_B + i * PG : REG_C + (i - REG_B_PAGES) * PG; }

static uint64_t lcg(uint64_t x) { return x * 6364136223846793005ull + 1442695040888963407ull; }

static scim_os_params reclaim_params(int shootdown)
{
    scim_os_params p = os_defaults();
    p.shootdown = shootdown;
    p.reclaim_low = LOW;
    p.reclaim_high = HIGH;
    p.reclaim_batch = BATCH;
    return p;
}

static bool swapped(const side *s, uint64_t va) { return scim_u64map_get(&proc(s)->swapped, scim_vpn(va)) != NULL; }

/* A walk used va's page: its accessed bit set in memory. */
static void touch(side *s, uint64_t va)
{
    if (mapped(s, va))
        TWIN_CHECK(scim_pgtable_update(proc(s)->pt, va, SCIM_PTA_ACCESSED, 0, NULL) == 0, "touching 0x%llx",
                   (unsigned long long)va);
}

/* ---------- the scopes the warm twin's callback got ---------- */

typedef struct scopes {
    scim_inv_scope *v;
    unsigned *targets; /* SCIM_OS_WARM_INV_*: which caches v[i] is for */
    size_t n, cap;
} scopes;

static void record(void *ctx, const scim_inv_scope *s, unsigned targets)
{
    scopes *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        r->targets = realloc(r->targets, r->cap * sizeof *r->targets);
        ck_assert(r->v && r->targets);
    }
    r->targets[r->n] = targets;
    r->v[r->n++] = *s;
}

/* The warm scopes since `since` for the caches `targets` names are got's,
 * in order. */
static void same_list(const sent *got, const scopes *w, size_t since, unsigned targets, const char *who,
                      const char *what)
{
    size_t n = 0;
    for (size_t k = since; k < w->n; k++)
        n += (w->targets[k] & targets) != 0;
    ck_assert_msg(got->n == n, "%s: %zu invalidations to %s, %zu warm scopes", what, got->n, who, n);
    for (size_t i = 0, k = since; i < n; i++, k++) {
        while (!(w->targets[k] & targets))
            k++;
        const scim_inv_scope *a = &got->v[i], *b = &w->v[k];
        TWIN_CHECK(same_scope(a, b), "%s: %s's invalidation %zu: kind %d [0x%llx, +0x%llx); warm: kind %d "
                      "[0x%llx, +0x%llx)", what, who, i, a->kind, (unsigned long long)a->addr,
                      (unsigned long long)a->len, b->kind, (unsigned long long)b->addr, (unsigned long long)b->len);
    }
}

/* The warm scopes since `since` for the devices are the timed rounds'
 * invalidation descriptors to the IOMMU, in order, and those for the
 * cores cpu0's IPIs (sync: one per round, the round's range when it has
 * one, else the whole PASID); broadcast, every scope is for all, and is
 * what cpu0 and dev0 snooped. */
static void expect_same_scopes(const side *t, const marks *m, const scopes *w, size_t since, double rounds,
                               int shootdown, const char *what)
{
    sent io = {0}, ipi = {0}, cinv = {0}, dinv = {0};
    sent_from(&io, t->iommu, SCIM_MSG_INV_REQ, m->iommu);
    sent_from(&ipi, t->cpu0, SCIM_MSG_IPI, m->cpu_ipi);
    sent_from(&cinv, t->cpu0, SCIM_MSG_INV_REQ, m->cpu_inv);
    sent_from(&dinv, t->dev, SCIM_MSG_INV_REQ, m->dev_inv);
    same_list(&io, w, since, SCIM_OS_WARM_INV_DEVICES, "the IOMMU", what);
    if (shootdown == OS_SD_BROADCAST) {
        for (size_t k = since; k < w->n; k++)
            ck_assert_msg(w->targets[k] == SCIM_OS_WARM_INV_ALL, "%s: a broadcast scope not for all", what);
        same_list(&cinv, w, since, SCIM_OS_WARM_INV_CORES, "cpu0", what);
        same_list(&dinv, w, since, SCIM_OS_WARM_INV_DEVICES, "dev0", what);
        ck_assert_uint_eq(ipi.n, 0);
        return;
    }
    ck_assert_msg(cinv.n == 0 && dinv.n == 0, "%s: sync sent broadcasts", what);
    ck_assert_msg((double)ipi.n == rounds, "%s: %zu IPIs for %.0f rounds", what, ipi.n, rounds);
    same_list(&ipi, w, since, SCIM_OS_WARM_INV_CORES, "cpu0's IPIs", what);
}

/* ---------- the twins ---------- */

/* va faulted on both twins (timed: through the port, run until kswapd is
 * done); the state and the scopes compared. */
static void both_step(side *t, side *w, scopes *rec, enum via via, int shootdown, uint64_t va, bool write,
                      const char *what)
{
    marks m = mark(t);
    size_t since = rec->n;
    double rounds = rig_stat(&t->r, "os.reclaim.rounds");
    both_fault(t, w, via, va, write);
    expect_same_scopes(t, &m, rec, since, rig_stat(&t->r, "os.reclaim.rounds") - rounds, shootdown, what);
    same_state(t, w, what);
}

/* _i: bit 0 the fault path (page requests, or CPU faults), bit 1 the
 * shootdown protocol, bit 2 a small os.inv_coalesce_pages. A fixed
 * pseudo-random walk over B and C, twice what memory holds: reclaim runs
 * every few faults; some faults are for swapped-out pages, taken only
 * where they wake neither kswapd (see the top). Then two populated mmaps
 * wake it from an operation. */
START_TEST(twin_kswapd_matches)
{
    enum via via = (_i & 1) ? VIA_CPU : VIA_PRI;
    int sd = (_i >> 1) & 1;
    scim_os_params p = reclaim_params(sd);
    if (_i & 4)
        p.inv_coalesce_pages = SMALL_COALESCE;
    side t, w;
    twin_init(&t, &w, &p, MEM_SMALL, via);
    scopes rec = {0};
    scim_os_warm_set_invalidate(w.os, record, &rec);
    uint64_t x = 4242, swap_ins = 0;
    char what[96];
    for (int k = 0; k < STEPS; k++) {
        x = lcg(x);
        uint64_t va = page_va((x >> 33) % PAGES);
        if (swapped(&w, va) && scim_physmem_frames_free(w.pm) < LOW + FAULT_FRAMES)
            continue;
        swap_ins += swapped(&w, va);
        snprintf(what, sizeof what, "fault %d at 0x%llx", k, (unsigned long long)va);
        both_step(&t, &w, &rec, via, sd, va, (x >> 61) & 1, what);
        uint64_t used = page_va((x >> 12) % PAGES);
        touch(&t, used);
        touch(&w, used);
    }
    ck_assert_msg(rig_stat(&t.r, "os.reclaim.rounds") > 20 && rig_stat(&t.r, "os.reclaim.referenced") > 0 &&
                      swap_ins > 0,
                  "the walk tests little: %.0f rounds, %.0f referenced, %llu swap-ins",
                  rig_stat(&t.r, "os.reclaim.rounds"), rig_stat(&t.r, "os.reclaim.referenced"),
                  (unsigned long long)swap_ins);
    ck_assert_msg(rig_stat(&w.r, "os.reclaim.rounds") == 0, "the warm-up counts no event");
    double before = rig_stat(&t.r, "os.reclaim.rounds");
    const scim_trace_rec mmaps[] = {mmap_rec(REG_M, REG_M_PAGES * PG, SCIM_SHIFT_4K, SCIM_PROT_RW, true),
                                    mmap_rec(REG_MR, REG_M_PAGES * PG, SCIM_SHIFT_4K, SCIM_PROT_RW, true)};
    for (size_t i = 0; i < sizeof mmaps / sizeof mmaps[0]; i++) {
        marks m = mark(&t);
        size_t since = rec.n;
        double r0 = rig_stat(&t.r, "os.reclaim.rounds");
        ck_assert_int_eq(timed_op(&t, &mmaps[i]), SCIM_RESP_OK);
        scim_err err = {0};
        scim_inv_scope inv;
        ck_assert_msg(scim_os_warm_op(w.os, &mmaps[i], PASID, &inv, &err) == 0, "mmap: %s", err.msg);
        snprintf(what, sizeof what, "populated mmap %zu", i);
        expect_same_scopes(&t, &m, &rec, since, rig_stat(&t.r, "os.reclaim.rounds") - r0, sd, what);
        same_state(&t, &w, what);
    }
    ck_assert_msg(rig_stat(&t.r, "os.reclaim.rounds") > before, "the mmaps woke no kswapd: the case tests nothing");
    free(rec.v);
    free(rec.targets);
    side_free(&t);
    side_free(&w);
}
END_TEST

/* os.reclaim.low_watermark 0: only a fault that finds no frame wakes
 * kswapd (wait_for_frame); it is retried at every frame freed, gets its
 * frame in the middle of the round, and kswapd goes on to the high
 * watermark. Fault by fault, as above. */
START_TEST(twin_waiting_fault_matches)
{
    enum via via = (_i & 1) ? VIA_CPU : VIA_PRI;
    scim_os_params p = reclaim_params(OS_SD_SYNC);
    p.reclaim_low = 0;
    p.reclaim_high = WAIT_HIGH;
    side t, w;
    twin_init(&t, &w, &p, MEM_SMALL, via);
    scopes rec = {0};
    scim_os_warm_set_invalidate(w.os, record, &rec);
    char what[96];
    for (uint64_t i = 0; i < PAGES; i += 1 + (i % 3 == 2)) {
        snprintf(what, sizeof what, "fault %llu", (unsigned long long)i);
        both_step(&t, &w, &rec, via, OS_SD_SYNC, page_va(i), i & 1, what);
        touch(&t, page_va(i / 2));
        touch(&w, page_va(i / 2));
    }
    ck_assert_msg(rig_stat(&t.r, "os.frame_waits") > 0 && rig_stat(&t.r, "os.reclaim.rounds") > 0,
                  "no fault waited for a frame: the case tests nothing");
    free(rec.v);
    free(rec.targets);
    side_free(&t);
    side_free(&w);
}
END_TEST

/* ---------- no translation outlives its frame ---------- */

/* A cache that holds every translation the warm OS made (more than any
 * real cache would keep). A scope drops what it covers; a page it drops
 * that is no longer mapped must still own its frame (allocated, mapped by
 * no other page): the callback runs before the frame is freed or reused.
 * After every call, what the cache still holds must be what the OS maps:
 * no translation was left stale. */
typedef struct cache {
    side *s;
    bool held[PAGES];
    uint64_t pa[PAGES];
    uint64_t dropped; /* pages dropped that were unmapped */
} cache;

static bool maps_frame(const side *s, uint64_t pa, uint64_t except)
{
    for (uint64_t i = 0; i < PAGES; i++) {
        uint64_t other;
        if (page_va(i) != except && scim_os_resolve(s->os, PASID, page_va(i), &other) == 1 && other == pa)
            return true;
    }
    return false;
}

static void cache_drop(void *ctx, const scim_inv_scope *sc, unsigned targets)
{
    cache *c = ctx;
    if (!(targets & SCIM_OS_WARM_INV_DEVICES)) /* the cache is a device's */
        return;
    for (uint64_t i = 0; i < PAGES; i++) {
        uint64_t va = page_va(i);
        if (!c->held[i] || !scim_inv_covers(sc, PASID, va))
            continue;
        c->held[i] = false;
        if (mapped(c->s, va))
            continue;
        c->dropped++;
        ck_assert_msg(scim_physmem_frame_in_use(c->s->pm, scim_pfn(c->pa[i])),
                      "va 0x%llx: its frame 0x%llx was freed before its translation was dropped",
                      (unsigned long long)va, (unsigned long long)c->pa[i]);
        ck_assert_msg(!maps_frame(c->s, c->pa[i], va), "va 0x%llx: its frame 0x%llx is mapped again already",
                      (unsigned long long)va, (unsigned long long)c->pa[i]);
    }
}

/* The cache learns va's translation (a walk), then checks it holds
 * nothing stale. */
static void cache_walk(cache *c, uint64_t va)
{
    for (uint64_t i = 0; i < PAGES; i++) {
        uint64_t pa;
        if (page_va(i) == va && scim_os_resolve(c->s->os, PASID, va, &pa) == 1) {
            c->held[i] = true;
            c->pa[i] = pa;
        }
        if (c->held[i])
            TWIN_CHECK(scim_os_resolve(c->s->os, PASID, page_va(i), &pa) == 1 && pa == c->pa[i],
                          "va 0x%llx: the cache holds a stale translation", (unsigned long long)page_va(i));
    }
}

/* _i 0: reclaim from the low watermark; 1: from a fault that found no
 * frame. Faults over all of B and C, prefaults, then faults back in. */
START_TEST(no_translation_outlives_its_frame)
{
    scim_os_params p = reclaim_params(OS_SD_SYNC);
    if (_i) {
        p.reclaim_low = 0;
        p.reclaim_high = WAIT_HIGH;
    }
    side w;
    side_init(&w, &p, MEM_SMALL, false, false);
    cache c = {.s = &w};
    scim_os_warm_set_invalidate(w.os, cache_drop, &c);
    for (uint64_t i = 0; i < PAGES; i++) {
        scim_err err = {0};
        if (i % 16 == 8) {
            ck_assert_msg(scim_os_warm_prefault(w.os, PASID, page_va(i), &err) == 0, "prefault: %s", err.msg);
        } else {
            warm_ok(&w, page_va(i), i & 1);
        }
        cache_walk(&c, page_va(i));
        touch(&w, page_va(i / 3));
    }
    for (uint64_t i = 0; i < PAGES; i += 3) {
        warm_ok(&w, page_va(i), false);
        cache_walk(&c, page_va(i));
    }
    ck_assert_msg(c.dropped > PAGES / 2, "only %llu pages dropped: the case tests little",
                  (unsigned long long)c.dropped);
    side_free(&w);
}
END_TEST

/* ---------- more pages than memory ---------- */

/* Every page of B and C written, more than memory holds: each fault
 * succeeds; every page is mapped or swapped out, never both, never lost;
 * free frames stay at or above the low watermark. Then pages faulted back
 * in: mapped again, writable, their swap copy and slot let go. */
START_TEST(more_pages_than_memory_swap)
{
    scim_os_params p = reclaim_params(OS_SD_SYNC);
    side w;
    side_init(&w, &p, MEM_SMALL, false, false);
    scopes rec = {0};
    scim_os_warm_set_invalidate(w.os, record, &rec);
    ck_assert_msg(PAGES > scim_physmem_frames_total(w.pm), "memory holds every page: the case tests nothing");
    for (uint64_t i = 0; i < PAGES; i++) {
        warm_ok(&w, page_va(i), true);
        /* its own reclaim may have taken it already (the newest pages go first) */
        ck_assert_msg(mapped(&w, page_va(i)) || swapped(&w, page_va(i)), "fault %llu", (unsigned long long)i);
        ck_assert_msg(scim_physmem_frames_free(w.pm) >= LOW, "%llu frames free after fault %llu",
                      (unsigned long long)scim_physmem_frames_free(w.pm), (unsigned long long)i);
    }
    same_frames(&w, &w, "after the faults");
    uint64_t out = 0;
    for (uint64_t i = 0; i < PAGES; i++) {
        ck_assert_msg(mapped(&w, page_va(i)) != swapped(&w, page_va(i)), "page %llu mapped %d swapped %d",
                      (unsigned long long)i, mapped(&w, page_va(i)), swapped(&w, page_va(i)));
        out += swapped(&w, page_va(i));
    }
    ck_assert_msg(out >= PAGES - scim_physmem_frames_total(w.pm), "%llu pages swapped out", (unsigned long long)out);
    ck_assert_msg(rec.n > 0, "reclaim dropped nothing from the caches");
    uint64_t back = 0;
    for (uint64_t i = 0; i < PAGES && back < 2 * BATCH * BATCH; i++) {
        uint64_t va = page_va(i);
        const uint64_t *s = scim_u64map_get(&proc(&w)->swapped, scim_vpn(va));
        if (!s)
            continue;
        uint64_t slot = *s - 1;
        /* the fault's own reclaim may take the page again at once (it is the
         * newest, its accessed bit not set yet), as the timed kswapd may
         * before the faulting access is retried: the retry faults it back */
        warm_ok(&w, va + 0x10, true);
        if (!mapped(&w, va))
            warm_ok(&w, va + 0x10, true);
        back++;
        unsigned attrs = 0;
        ck_assert(scim_pgtable_lookup(proc(&w)->pt, va, NULL, NULL, &attrs) == 1 && (attrs & SCIM_PTA_WRITE));
        ck_assert_msg(!swapped(&w, va), "page %llu is still in swap", (unsigned long long)i);
        bool slot_let_go = false; /* back on the free list, or taken since by a page the same fault evicted */
        for (size_t k = 0; k < w.os->n_free_slots; k++)
            slot_let_go |= w.os->free_slots[k] == slot;
        for (uint64_t j = 0; !slot_let_go && j < PAGES; j++) {
            const uint64_t *o = scim_u64map_get(&proc(&w)->swapped, scim_vpn(page_va(j)));
            slot_let_go = o && *o - 1 == slot;
        }
        ck_assert_msg(slot_let_go, "page %llu: swap slot %llu leaked", (unsigned long long)i,
                      (unsigned long long)slot);
    }
    ck_assert_msg(back > BATCH, "only %llu pages faulted back in", (unsigned long long)back);
    uint64_t present = 0, in_swap = 0; /* A's populated pages are reclaimed too */
    for (uint64_t i = 0; i < PAGES + REG_A_PAGES; i++) {
        uint64_t va = i < PAGES ? page_va(i) : REG_A + (i - PAGES) * PG;
        ck_assert_msg(mapped(&w, va) != swapped(&w, va), "va 0x%llx mapped %d swapped %d", (unsigned long long)va,
                      mapped(&w, va), swapped(&w, va));
        present += mapped(&w, va);
        in_swap += swapped(&w, va);
    }
    ck_assert_uint_eq(present + in_swap, PAGES + REG_A_PAGES);
    ck_assert_uint_eq(in_swap, proc(&w)->swapped.len);
    ck_assert_uint_eq(w.os->next_slot - w.os->n_free_slots, in_swap);
    same_frames(&w, &w, "after the swap-ins");
    free(rec.v);
    free(rec.targets);
    side_free(&w);
}
END_TEST

/* ---------- when reclaim cannot help ---------- */

/* Fault B's pages until one fails: its rc, err in *err. */
static int fault_until_error(side *w, scim_err *err)
{
    for (uint64_t i = 0; i < PAGES; i++) {
        memset(err, 0, sizeof *err);
        int rc = scim_os_warm_fault(w->os, PASID, page_va(i), true, err);
        if (rc)
            return rc;
    }
    return 0;
}

static void ignore(void *ctx, const scim_inv_scope *s, unsigned targets) { (void)ctx, (void)s, (void)targets; }

/* Every 4 KiB page pinned and no frame free: nothing to reclaim; the
 * error says so, and what to change. The frames still add up. */
START_TEST(all_pinned_is_enomem)
{
    scim_os_params p = reclaim_params(OS_SD_SYNC);
    side w;
    side_init(&w, &p, MEM_SMALL, false, false);
    scim_os_warm_set_invalidate(w.os, ignore, NULL);
    scim_trace_rec pin = {.op = SCIM_OP_PIN, .addr = REG_A, .size = REG_A_PAGES * PG, .pasid = PASID,
                          .has = SCIM_TRACE_HAS_PASID};
    ck_assert_int_eq(timed_op(&w, &pin), SCIM_RESP_OK);
    uint64_t pinned = 0; /* B's pages, one pin each, until memory is full (a pin maps the page) */
    for (pin.size = PG; pinned < REG_B_PAGES; pinned++) {
        pin.addr = REG_B + pinned * PG;
        if (timed_op(&w, &pin) != SCIM_RESP_OK)
            break;
    }
    ck_assert_msg(pinned < REG_B_PAGES, "memory held all of B: the case tests nothing");
    scim_err err = {0};
    ck_assert_int_eq(scim_os_warm_fault(w.os, PASID, REG_C, true, &err), SCIM_ENOMEM);
    ck_assert_msg(strstr(err.msg, "reclaimed") && strstr(err.msg, "sim.warmup") && strstr(err.msg, "memory.size"),
                  "message: %s", err.msg);
    ck_assert(!mapped(&w, REG_C));
    same_frames(&w, &w, "after the refused fault");
    side_free(&w);
}
END_TEST

/* No swap space: the first reclaim stops, as the timed kswapd stops the
 * run. */
START_TEST(no_swap_is_enomem)
{
    scim_os_params p = reclaim_params(OS_SD_SYNC);
    p.swap_size = 0;
    side w;
    side_init(&w, &p, MEM_SMALL, false, false);
    scim_os_warm_set_invalidate(w.os, ignore, NULL);
    scim_err err;
    ck_assert_int_eq(fault_until_error(&w, &err), SCIM_ENOMEM);
    ck_assert_msg(strstr(err.msg, "os.swap.size") && strstr(err.msg, "sim.warmup") && strstr(err.msg, "memory.size"),
                  "message: %s", err.msg);
    side_free(&w);
}
END_TEST

/* No callback: reclaim could not tell the caches; refused, said so. And
 * os.unsafe_skip_device_inv: refused as for munmap. */
START_TEST(reclaim_refusals)
{
    scim_os_params p = reclaim_params(OS_SD_SYNC);
    side w;
    side_init(&w, &p, MEM_SMALL, false, false);
    scim_err err;
    ck_assert_int_eq(fault_until_error(&w, &err), SCIM_ESTATE);
    ck_assert_msg(strstr(err.msg, "scim_os_warm_set_invalidate"), "message: %s", err.msg);
    side_free(&w);
    p.unsafe_skip_device_inv = true;
    side_init(&w, &p, MEM_SMALL, false, false);
    scim_os_warm_set_invalidate(w.os, ignore, NULL);
    ck_assert_int_eq(fault_until_error(&w, &err), SCIM_EINVAL);
    ck_assert_msg(strstr(err.msg, "unsafe_skip_device_inv") && strstr(err.msg, "reclaim"), "message: %s", err.msg);
    side_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("warm_os_reclaim");
    TCase *tc = tcase_create("warm_os_reclaim");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, twin_kswapd_matches, 0, 8);
    tcase_add_loop_test(tc, twin_waiting_fault_matches, 0, 2);
    tcase_add_loop_test(tc, no_translation_outlives_its_frame, 0, 2);
    tcase_add_test(tc, more_pages_than_memory_swap);
    tcase_add_test(tc, all_pinned_is_enomem);
    tcase_add_test(tc, no_swap_is_enomem);
    tcase_add_test(tc, reclaim_refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

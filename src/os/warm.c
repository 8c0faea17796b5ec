/* Functional warm-up (sim.warmup): the OS's side. The first records of each
 * agent's trace are replayed before the timed run, with no time and no
 * message; here a page fault and an mmap, munmap, mprotect, migrate,
 * reclaim, pin or unpin leave the OS exactly as the timed handler and
 * operation would (fault.c os_resolve, swap_in, os_swap_read_done,
 * os_zero_first, os_install_zeroed; ops.c do_mmap, do_munmap, do_mprotect,
 * do_migrate, do_reclaim, do_pin, do_unpin with their shootdown over): the same
 * frames from the same allocator in the same order (the data frame, then
 * the page-table frames it needs; an unmap frees the emptied page-table
 * frames, then the data frames, as finish_op then munmap_done), the same
 * page-table entries, the CLOCK list and the swap slots as they would be.
 * kswapd runs too, at once (reclaim.c reclaim_round, reclaim_done,
 * os_swap_write_done): see "reclaim" below.
 *
 * What the timed path does and this does not, on purpose:
 *   - statistics of events (faults, iopf.mapped, swap reads and writes,
 *     ops.*, reclaim.*, shootdowns): the warm-up is not measured; levels
 *     (os.frames.*) do follow, as state;
 *   - zeroing a new frame (a 4 KiB write at the memory controller) and the
 *     page's transition meanwhile (BUSY_ZERO): a write of zeros changes no
 *     state the model keeps, and nothing runs meanwhile to see the page busy;
 *   - the shootdown's messages: the scope is handed to the caller (an
 *     operation's) or to the invalidation callback (reclaim's), which
 *     drops it from every cache at once; the checker is not told of the
 *     round (nothing can use a stale translation when no time passes).
 * The OS adds no page of its own to a fault (no fault-around): the
 * prefault pages of a page request group are the device's request, and
 * its caller asks for them page by page (scim_os_warm_prefault: best
 * effort, as iopf.c's prefault_page, not a fault).
 *
 * A PASID whose tables a device shadows (walk placement shadow) keeps
 * its entry updates (shadow.c) as in a timed run; the caller hands them to
 * the copies after each call (scim_os_warm_sync_shadows), as the sync
 * messages would before anything could read them.
 *
 * Refused for now: processes of VMs (their faults go through the guest
 * kernel's handlers and the hypervisor's stage 2), and an unmap, downgrade or reclaim under
 * os.unsafe_skip_device_inv (the timed round leaves the devices'
 * translations in place, which one scope for every cache cannot say). */
#include "os/os_internal.h"

#include <stdlib.h>

/* 0, or SCIM_EINVAL when warm-up cannot reproduce pasid's timed path. */
static int supported(const scim_os *os, uint32_t pasid, const char *what, scim_err *err)
{
    const char *vm = scim_os_process_vm(os, pasid);
    if (vm)
        return scim_err_set(err, SCIM_EINVAL,
                            "sim.warmup: %s of pasid %u: the process runs in VM '%s', and warm-up does not "
                            "support processes of VMs yet; set sim.warmup: 0",
                            what, pasid, vm);
    return 0;
}

static int out_of_host_memory(scim_err *err, const char *what)
{
    return scim_err_set(err, SCIM_ENOMEM, "sim.warmup: out of host memory in %s", what);
}

/* The round would need a shootdown that skips the devices (a protocol
 * broken on purpose, for the checker's tests): one scope for every cache
 * cannot leave them stale. */
static int refuse_skipped_devices(const scim_os *os, uint32_t pasid, const char *what, scim_err *err)
{
    return scim_err_set(err, SCIM_EINVAL,
                        "sim.warmup: %s of pasid %u needs a shootdown, and os.unsafe_skip_device_inv leaves the "
                        "devices' translations stale, which warm-up cannot reproduce; set sim.warmup: 0",
                        what, pasid);
}

/* A frame the finished round frees: as os_release_frame, without asking
 * the checker (it is not told of warm-up rounds). A fault waiting for it
 * is retried by the caller (wake), as os_wake_frame_waiters would. */
static void free_frame(scim_os *os, uint64_t pfn, unsigned order)
{
    os_frame_give_back(os, pfn, order);
    os_update_free(os);
}

/* ---------- reclaim ----------
 *
 * kswapd at once. The timed OS wakes it (os_maybe_reclaim) when a fault
 * or an mmap leaves fewer than os.reclaim.low_watermark frames free, or a
 * fault finds no frame (wait_for_frame); here the same two points run
 * every round it would run, before the warm-up goes on: while fewer than
 * os.reclaim.high_watermark frames are free, or a fault waits, one round
 * picks up to os.reclaim.batch pages of one PASID with CLOCK (reclaim_round,
 * step for step: the hand, the accessed bits as the warm walks left them
 * in memory, cleared as it passes, pinned pages skipped, a swap slot taken
 * per victim in order) and unmaps them; the invalidation callback drops
 * the round's scopes from every cache; then the page-table frames the
 * unmaps emptied are freed (finish_op), then each page's frame, its slot
 * recorded (os_swap_write_done, in the order the writes, all issued at
 * once with one latency, complete). A waiting fault is retried at every
 * frame freed, as os_wake_frame_waiters retries it. Every victim is
 * written to swap, clean or dirty, as the timed round writes them all.
 *
 * What differs from the timed kswapd, and why:
 *   - when: the timed kswapd is an event, and each of its rounds lasts a
 *     shootdown and a swap write; the faults that follow meanwhile take
 *     frames and set accessed bits its later rounds see. Here every round
 *     runs before the next record, so the CLOCK list and the bits are those
 *     of that moment (the warm-up has no time in which to overlap them);
 *   - a swap-in (major fault) or an I/O fault that zeroes its new frame
 *     wakes the timed kswapd when its frame is taken, so the first round
 *     picks its victims before that page is mapped (it is in transition,
 *     not yet on the CLOCK list) and the page-table frames it needs are
 *     taken once the read or the zeroing is over, after the round's
 *     page-table frames came back. Here the page is mapped first, then
 *     reclaimed for. A minor fault without zeroing, a CPU fault and an
 *     mmap wake it once the page is mapped: the same as here;
 *   - not a difference, but it shows more here: the page a fault has just
 *     mapped is the newest on the list, its accessed bit not set yet, and
 *     an eviction moves the newest page under the hand, so the reclaim the
 *     fault woke may take it. The timed kswapd does the same before the
 *     faulting access is retried, and the retry faults again; the caller
 *     of the warm fault finds the page not present;
 *   - a swap-in whose page-table frame is missing waits for a frame here;
 *     the timed read, finding none when it completes, drops the page
 *     (os_swap_read_done), a case the watermarks keep away;
 *   - pages in transition (being swapped, migrated, zeroed) and a swap
 *     device busy with other work: none during a warm-up, so no victim is
 *     skipped for being busy and the writes complete in the round's order;
 *   - the swap space full: the timed kswapd stops the run; here it is
 *     SCIM_ENOMEM, with a message;
 *   - the shootdown: sync sends each core of the PASID one IPI, a
 *     whole-PASID flush when the round has several ranges; the callback
 *     gives every cache the ranges (the IOMMU's descriptors), so a core
 *     keeps translations the timed IPI would drop: a miss the timed run
 *     would take, never a stale hit. */

/* What a reclaim runs for, for its messages. */
typedef struct reclaim_for {
    const char *what;
    uint32_t pasid;
    uint64_t va;
} reclaim_for;

/* A fault that found no frame (wait_for_frame): retried at every frame
 * the reclaim frees until it has the frames it needs. */
typedef struct waiter {
    process *p;
    const region *r;
    uint64_t va; /* the page */
    bool swap_in;
    bool waiting;
} waiter;

/* A round's list of victims starts this long (os.reclaim.batch's default):
 * os.reclaim.batch may be far larger than any round finds. */
#define ROUND_FIRST_CAP 32

/* A round's page: written to swap `slot`, then its frame freed. */
typedef struct victim {
    uint64_t va, pfn, slot;
} victim;

typedef struct warm_round {
    process *p; /* the PASID of the first victim: one shootdown covers the round */
    victim *v;
    size_t n, cap;
    frame_list tables; /* page-table frames the unmaps emptied */
} warm_round;

/* Mapping the waiter's page: a new frame, or (a swap-in) a frame taken
 * first then mapped, as swap_in then os_swap_read_done. SCIM_ENOMEM with
 * nothing changed but the page-table frames the page table kept. */
static int map_page(scim_os *os, const waiter *w, scim_err *why)
{
    if (!w->swap_in)
        return os_map_new_page(os, w->p, w->va, w->r, 0, false, why);
    uint64_t pfn;
    int rc = os_frame_alloc(os, w->p, 0, &pfn, why);
    if (rc)
        return rc;
    os_update_free(os);
    rc = os_map_new_page(os, w->p, w->va, w->r, pfn, true, why);
    if (rc) {
        os_frame_give_back(os, pfn, 0);
        os_update_free(os);
        return rc;
    }
    os_forget_swapped(os, w->p, w->va);
    return 0;
}

static int unresolved(scim_err *err, int rc, const reclaim_for *f, const char *why)
{
    return scim_err_set(err, rc, "sim.warmup: %s of pasid %u at 0x%llx could not be resolved: %s", f->what, f->pasid,
                        (unsigned long long)f->va, why);
}

/* os_wake_frame_waiters: a frame came back; the waiting fault tries again. */
static int wake(scim_os *os, waiter *w, const reclaim_for *f, scim_err *err)
{
    if (!w || !w->waiting || scim_physmem_frames_free(os->pm) == 0)
        return 0;
    scim_err why = {0};
    int rc = map_page(os, w, &why);
    if (rc == SCIM_ENOMEM)
        return 0; /* it needs more (a data frame and page-table frames): it waits on */
    if (rc)
        return unresolved(err, rc, f, why.msg);
    w->waiting = false;
    return 0;
}

/* Unmap a victim into the round, as os_round_take and unmap_leaf: its
 * frame in transit until freed. */
static int take(scim_os *os, warm_round *rd, process *q, uint64_t va, uint64_t pfn, uint64_t slot, scim_err *err)
{
    victim *n = os_grow(rd->v, &rd->cap, rd->n + 1, sizeof *n, ROUND_FIRST_CAP);
    if (!n) {
        os_slot_free(os, slot);
        return out_of_host_memory(err, "reclaim");
    }
    rd->v = n;
    rd->v[rd->n++] = (victim){va, pfn, slot};
    rd->p = q;
    os->collect = &rd->tables; /* freed after the shootdown, as os_unmap_pte's */
    scim_pgtable_unmap(q->pt, va, NULL, NULL);
    os->collect = NULL;
    os->st.frames_data--;
    os->st.frames_transit++;
    os_lru_remove(os, pfn);
    return 0;
}

/* reclaim_round's CLOCK scan: the same hand, the same skips, the same
 * stop (a batch, or twice round the list), the victims unmapped as they
 * are found (the list's last page moves into the hole under the hand). */
static int pick(scim_os *os, warm_round *rd, const reclaim_for *f, scim_err *err)
{
    size_t scanned = 0, limit = 2 * os->n_lru + 1;
    while (os->n_lru && scanned < limit && rd->n < os->p.reclaim_batch) {
        if (os->hand >= os->n_lru)
            os->hand = 0;
        lru_page lp = os->lru[os->hand];
        scanned++;
        process *q = os_find_process(os, lp.pasid);
        uint64_t pa;
        unsigned attrs;
        if (os_pin_count(os, lp.pfn) || (rd->p && q != rd->p) || os_busy_get(q, lp.va) ||
            scim_pgtable_lookup(q->pt, lp.va, &pa, NULL, &attrs) != 1) {
            os->hand++;
            continue;
        }
        if (attrs & SCIM_PTA_ACCESSED) {
            scim_pgtable_update(q->pt, lp.va, 0, SCIM_PTA_ACCESSED, NULL);
            os->hand++;
            continue;
        }
        int rc = supported(os, q->pasid, "a reclaim", err);
        if (rc)
            return rc;
        if (os->p.unsafe_skip_device_inv)
            return refuse_skipped_devices(os, q->pasid, "reclaim", err);
        uint64_t slot;
        if (!os_slot_alloc(os, &slot))
            return scim_err_set(err, SCIM_ENOMEM,
                                "sim.warmup: out of swap space (os.swap.size = %llu bytes) while reclaiming for %s "
                                "of pasid %u at 0x%llx (the timed kswapd stops the run here too); raise os.swap.size "
                                "or memory.size, or use a smaller sim.warmup",
                                (unsigned long long)os->p.swap_size, f->what, f->pasid, (unsigned long long)f->va);
        if ((rc = take(os, rd, q, lp.va, os_pfn(pa), slot, err)) != 0)
            return rc;
    }
    return 0;
}

static void drop(scim_os *os, uint32_t pasid, scim_inv_kind kind, uint64_t lo, uint64_t hi)
{
    const scim_inv_scope s = {kind, pasid, lo, hi - lo};
    os->warm_inv(os->warm_inv_ctx, &s);
}

/* os_start_shootdown_now's scopes: beyond os.inv_coalesce_pages pages the
 * whole PASID, else each range of the victims merged where contiguous, in
 * the round's order (merge_ranges). */
static void shoot_down(scim_os *os, const warm_round *rd)
{
    uint32_t pasid = rd->p->pasid;
    if (rd->n > os->p.inv_coalesce_pages) {
        drop(os, pasid, SCIM_INV_PASID, 0, 0);
        return;
    }
    uint64_t lo = rd->v[0].va, hi = lo + OS_PAGE_SIZE;
    for (size_t i = 1; i < rd->n; i++) {
        uint64_t a = rd->v[i].va;
        if (lo <= a && a <= hi) {
            if (a + OS_PAGE_SIZE > hi)
                hi = a + OS_PAGE_SIZE;
            continue;
        }
        drop(os, pasid, SCIM_INV_RANGE, lo, hi);
        lo = a;
        hi = a + OS_PAGE_SIZE;
    }
    drop(os, pasid, SCIM_INV_RANGE, lo, hi);
}

/* The shootdown is over: finish_op's page-table frames, then each victim
 * as its write completes, its slot recorded, its frame freed. */
static int finish_round(scim_os *os, warm_round *rd, waiter *w, const reclaim_for *f, scim_err *err)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < rd->tables.n; i++) {
        os->deferred--;
        free_frame(os, rd->tables.v[i].pfn, 0);
        rc = wake(os, w, f, err);
    }
    for (size_t i = 0; !rc && i < rd->n; i++) {
        const victim *v = &rd->v[i];
        if (!scim_u64map_upsert(&rd->p->swapped, os_vpn(v->va), v->slot + 1))
            return out_of_host_memory(err, "reclaim");
        os->st.frames_transit--;
        free_frame(os, v->pfn, 0);
        rc = wake(os, w, f, err);
    }
    return rc;
}

/* reclaim_round, round after round, until enough frames are free and no
 * fault waits; a round that finds no victim ends it (an error if a fault
 * still waits: nothing can give it a frame). */
static int warm_reclaim(scim_os *os, waiter *w, const reclaim_for *f, scim_err *err)
{
    if (!os->warm_inv)
        return scim_err_set(err, SCIM_ESTATE,
                            "sim.warmup: %s of pasid %u at 0x%llx needs reclaim (%llu frames free), but no "
                            "invalidation callback is set (scim_os_warm_set_invalidate): the caches could not drop "
                            "the pages it evicts",
                            f->what, f->pasid, (unsigned long long)f->va,
                            (unsigned long long)scim_physmem_frames_free(os->pm));
    for (;;) {
        bool waiting = w && w->waiting;
        if (scim_physmem_frames_free(os->pm) >= os->p.reclaim_high && !waiting)
            return 0;
        warm_round rd = {0};
        int rc = pick(os, &rd, f, err);
        if (rd.n) {
            /* even when the scan failed: no cache may keep what was unmapped */
            shoot_down(os, &rd);
            if (!rc)
                rc = finish_round(os, &rd, w, f, err);
        } else if (!rc && waiting) {
            rc = scim_err_set(err, SCIM_ENOMEM,
                              "sim.warmup: no free frame for %s of pasid %u at 0x%llx, and none of the %zu mapped "
                              "4 KiB pages can be reclaimed (pinned; huge pages are not reclaimed): use a smaller "
                              "sim.warmup or a larger memory.size",
                              f->what, f->pasid, (unsigned long long)f->va, os->n_lru);
        }
        free(rd.v);
        os_frame_list_free(&rd.tables);
        if (rc || !rd.n)
            return rc;
    }
}

/* os_maybe_reclaim after a page was mapped. */
static int reclaim_if_low(scim_os *os, const reclaim_for *f, scim_err *err)
{
    if (scim_physmem_frames_free(os->pm) >= os->p.reclaim_low)
        return 0;
    return warm_reclaim(os, NULL, f, err);
}

void scim_os_warm_set_invalidate(scim_os *os, scim_os_warm_inv_fn fn, void *ctx)
{
    os->warm_inv = fn;
    os->warm_inv_ctx = ctx;
}

/* ---------- faults ---------- */

int scim_os_warm_fault(scim_os *os, uint32_t pasid, uint64_t va, bool write, scim_err *err)
{
    int rc = supported(os, pasid, "a page fault", err);
    if (rc)
        return rc;
    process *p = os_find_process(os, pasid);
    const region *r = p ? os_find_region(p, va) : NULL;
    if (!r || r->prot == SCIM_PROT_NONE || (write && !(r->prot & OS_PROT_W)))
        return SCIM_RESP_INVALID;
    uint64_t page = scim_page_base(va, r->page_shift);
    if (os_busy_get(p, page))
        return scim_err_set(err, SCIM_ESTATE,
                            "sim.warmup: pasid %u va 0x%llx is in transition (swap, migration or zeroing): "
                            "warm-up must run before the timed simulation",
                            pasid, (unsigned long long)va);
    unsigned attrs;
    if (scim_pgtable_lookup(p->pt, va, NULL, NULL, &attrs) == 1) {
        /* an upgrade needs no shootdown: a stale read-only entry only faults */
        if (write && !(attrs & SCIM_PTA_WRITE))
            scim_pgtable_update(p->pt, va, SCIM_PTA_WRITE, 0, NULL);
        return 0;
    }
    waiter w = {p, r, page, r->page_shift == SCIM_PAGE_SHIFT && scim_u64map_get(&p->swapped, os_vpn(page)), false};
    const reclaim_for f = {w.swap_in ? "a fault on a swapped-out page" : "a page fault", pasid, va};
    scim_err why = {0};
    rc = map_page(os, &w, &why);
    if (rc == SCIM_ENOMEM && r->page_shift == SCIM_PAGE_SHIFT) {
        /* wait_for_frame: kswapd runs with the fault waiting on it */
        w.waiting = true;
        return warm_reclaim(os, &w, &f, err);
    }
    if (rc == SCIM_ENOMEM)
        return scim_err_set(err, SCIM_ENOMEM,
                            "sim.warmup: no free frame for a page fault of pasid %u at 0x%llx (%s); its page is "
                            "larger than 4 KiB, and reclaim frees no block for it (the timed fault stops the run "
                            "here too): use a smaller sim.warmup or a larger memory.size",
                            pasid, (unsigned long long)va, why.msg);
    if (rc)
        return unresolved(err, rc, &f, why.msg);
    return reclaim_if_low(os, &f, err);
}

/* Walk placement software (fault.c os_sw_handled, answer_sw_walk): the
 * handler's walk answers a present page the access may use; otherwise the
 * page is faulted in and the walk answers what the table then holds. */
int scim_os_warm_sw_walk(scim_os *os, uint32_t pasid, uint64_t va, bool write, bool *faulted, uint64_t *page_pa,
                         unsigned *shift, unsigned *perms, scim_err *err)
{
    *faulted = false;
    *page_pa = 0;
    *shift = 0;
    *perms = 0;
    process *p = os_find_process(os, pasid);
    uint64_t pa;
    unsigned sh, attrs;
    bool usable = p && scim_pgtable_lookup(p->pt, va, &pa, &sh, &attrs) == 1 && (attrs & SCIM_PTA_USER) &&
                  (!write || (attrs & SCIM_PTA_WRITE));
    if (!usable) {
        int rc = scim_os_warm_fault(os, pasid, va, write, err);
        if (rc)
            return rc;
        *faulted = true;
        if (scim_pgtable_lookup(p->pt, va, &pa, &sh, &attrs) != 1)
            return SCIM_RESP_INVALID; /* the fault's own reclaim took the page back */
    }
    *page_pa = scim_page_base(pa, sh);
    *shift = sh;
    *perms = scim_pta_perms(attrs);
    return SCIM_RESP_OK;
}

/* iopf.c prefault_page: the page is mapped only if prefaultable() would
 * let it; a frame missing is no error, the page is simply not mapped
 * (and nothing reclaimed for it: the handler does not wait). */
int scim_os_warm_prefault(scim_os *os, uint32_t pasid, uint64_t va, scim_err *err)
{
    int rc = supported(os, pasid, "a prefault", err);
    if (rc)
        return rc;
    process *p = os_find_process(os, pasid);
    const region *r = p ? os_find_region(p, va) : NULL;
    uint64_t page = os_page_down(va);
    if (!r || r->page_shift != SCIM_PAGE_SHIFT || r->prot == SCIM_PROT_NONE || os_busy_get(p, page) ||
        scim_u64map_get(&p->swapped, os_vpn(page)) || scim_pgtable_lookup(p->pt, page, NULL, NULL, NULL) == 1)
        return 0;
    if (os_map_new_page(os, p, page, r, 0, false, NULL) != 0)
        return 0;
    const reclaim_for f = {"a prefault", pasid, va};
    return reclaim_if_low(os, &f, err);
}

/* ---------- operations ---------- */

/* The shootdown a timed round would start, built as os_start_shootdown_now
 * builds it from the pages the round takes, in their order: the pages
 * merged where contiguous (merge_ranges), or one whole-PASID invalidation
 * beyond os.inv_coalesce_pages pages. */
typedef struct round_scope {
    uint64_t pages, ranges;
    uint64_t first;  /* the first range's start */
    uint64_t lo, hi; /* the last range */
} round_scope;

static void scope_add(round_scope *s, uint64_t va, uint64_t len)
{
    s->pages++;
    if (s->ranges && s->lo <= va && va <= s->hi) {
        if (va + len > s->hi)
            s->hi = va + len;
        return;
    }
    if (!s->ranges)
        s->first = va;
    s->ranges++;
    s->lo = va;
    s->hi = va + len;
}

/* One range is the timed scope itself. Several: the timed round sends one
 * per range (and, sync, a whole-PASID IPI to the cores); one scope can
 * only cover them all, from the first to the last. Nothing lies between
 * them for an munmap (its every leaf is in a range), so every cache but a
 * sync core's drops exactly what the timed round drops; for an mprotect,
 * the leaves it leaves alone between them are dropped too (a translation
 * still valid, so a miss the timed run would not take, never a stale hit). */
static scim_inv_scope scope_of(const scim_os *os, uint32_t pasid, const round_scope *s)
{
    if (s->pages == 0)
        return (scim_inv_scope){SCIM_INV_RANGE, pasid, 0, 0};
    if (s->pages > os->p.inv_coalesce_pages)
        return (scim_inv_scope){SCIM_INV_PASID, pasid, 0, 0};
    return (scim_inv_scope){SCIM_INV_RANGE, pasid, s->first, s->hi - s->first};
}

/* munmap_check: all or nothing; part of a large page, or a page in
 * transition, refuses the whole range. */
static bool munmap_allowed(process *p, uint64_t start, uint64_t end, const leaf_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        uint64_t size = 1ull << l->v[i].shift;
        if (l->v[i].va < start || l->v[i].va + size > end || os_busy_get(p, l->v[i].va))
            return false;
    }
    return true;
}

/* do_munmap's round, its shootdown over: munmap_check, munmap_leaf (and
 * unmap.c's unmap_leaf) for every leaf, finish_op, munmap_done. */
static int warm_munmap(scim_os *os, process *p, uint64_t start, uint64_t end, round_scope *sd, scim_err *err)
{
    leaf_list l;
    if (!os_leaves_in(p, start, end, &l)) {
        free(l.v);
        return out_of_host_memory(err, "munmap");
    }
    int rc = 0;
    frame_list tables = {0}, data = {0};
    if (!munmap_allowed(p, start, end, &l)) {
        rc = SCIM_RESP_INVALID;
        goto out;
    }
    if (l.n && os->p.unsafe_skip_device_inv) {
        rc = refuse_skipped_devices(os, p->pasid, "munmap", err);
        goto out;
    }
    if (os_remove_regions(p, start, end) != 0) {
        rc = out_of_host_memory(err, "munmap");
        goto out;
    }
    for (uint64_t va = start; va < end; va += OS_PAGE_SIZE)
        os_forget_swapped(os, p, va);
    for (size_t i = 0; i < l.n; i++) {
        const leaf *lf = &l.v[i];
        unsigned order = os_order(lf->shift);
        if (os_frame_list_add(&data, os_leaf_pfn(lf), order) != 0) {
            rc = out_of_host_memory(err, "munmap");
            goto out;
        }
        os->collect = &tables; /* page-table frames wait for the shootdown, as os_unmap_pte's */
        scim_pgtable_unmap(p->pt, lf->va, NULL, NULL);
        os->collect = NULL;
        os->st.frames_data -= 1ull << order;
        os_lru_remove(os, os_leaf_pfn(lf));
        scope_add(sd, lf->va, 1ull << lf->shift);
    }
    /* finish_op: the emptied page-table frames first */
    for (size_t i = 0; i < tables.n; i++) {
        os->deferred--;
        free_frame(os, tables.v[i].pfn, 0);
    }
    /* munmap_done: a pinned frame outlives its mapping, in transit until its last unpin */
    for (size_t i = 0; i < data.n; i++) {
        frame_ref f = data.v[i];
        if (f.order == 0 && os_pin_count(os, f.pfn)) {
            if (!scim_u64map_upsert(&os->orphans, f.pfn, 0)) {
                rc = out_of_host_memory(err, "munmap");
                goto out;
            }
            os->st.frames_transit++;
            continue;
        }
        free_frame(os, f.pfn, f.order);
    }
out:
    free(l.v);
    os_frame_list_free(&tables);
    os_frame_list_free(&data);
    return rc;
}

/* mprotect_leaf's rights: upgrades set, downgrades clear. */
static void new_rights(unsigned prot, unsigned *set, unsigned *clear)
{
    *set = *clear = 0;
    if (prot == SCIM_PROT_RW)
        *set = SCIM_PTA_WRITE | SCIM_PTA_USER;
    else if (prot == SCIM_PROT_R)
        *clear = SCIM_PTA_WRITE, *set = SCIM_PTA_USER;
    else
        *clear = SCIM_PTA_WRITE | SCIM_PTA_USER;
}

/* do_mprotect's round, its shootdown over: mprotect_check, then every
 * leaf's rights rewritten; only downgraded leaves are shot down (a stale
 * entry with fewer rights only faults). */
static int warm_mprotect(scim_os *os, process *p, uint64_t start, uint64_t end, unsigned prot, round_scope *sd,
                         scim_err *err)
{
    leaf_list l;
    if (!os_leaves_in(p, start, end, &l)) {
        free(l.v);
        return out_of_host_memory(err, "mprotect");
    }
    unsigned set, clear;
    new_rights(prot, &set, &clear);
    int rc = 0;
    bool downgrades = false;
    for (size_t i = 0; i < l.n; i++)
        downgrades |= (clear & l.v[i].attrs) != 0;
    if (downgrades && os->p.unsafe_skip_device_inv)
        rc = refuse_skipped_devices(os, p->pasid, "mprotect", err);
    else if (os_protect_regions(p, start, end, prot) != 0)
        rc = out_of_host_memory(err, "mprotect");
    for (size_t i = 0; !rc && i < l.n; i++) {
        scim_pgtable_update(p->pt, l.v[i].va, set, clear, NULL);
        if (clear & l.v[i].attrs)
            scope_add(sd, l.v[i].va, 1ull << l.v[i].shift);
    }
    free(l.v);
    return rc;
}

static int warm_mmap(scim_os *os, process *p, const scim_trace_rec *rec, uint64_t start, uint64_t end,
                     scim_err *err)
{
    unsigned shift = (rec->has & SCIM_TRACE_HAS_PAGESIZE) ? rec->page_shift : SCIM_PAGE_SHIFT;
    unsigned prot = (rec->has & SCIM_TRACE_HAS_PROT) ? rec->prot : SCIM_PROT_RW;
    scim_err why = {0};
    int rc = os_add_region(os, p, start, end - start, shift, prot, rec->populate, &why);
    if (rc == SCIM_ENOMEM)
        return scim_err_set(err, SCIM_ENOMEM,
                            "sim.warmup: no free frame for mmap(populate) of pasid %u at 0x%llx (%s); populating "
                            "does not wait for reclaim (the timed mmap stops the run here too): use a smaller "
                            "sim.warmup or a larger memory.size",
                            p->pasid, (unsigned long long)start, why.msg);
    /* do_mmap wakes kswapd whatever it answered */
    const reclaim_for f = {"mmap", p->pasid, start};
    int rrc = reclaim_if_low(os, &f, err);
    return rrc ? rrc : rc ? SCIM_RESP_INVALID : 0;
}

/* ops.c do_reclaim (reclaim.c reclaim_leaf, reclaim_done,
 * os_swap_write_done): every movable page of the range (4 KiB, not pinned)
 * unmapped into one round and written to swap, its slot recorded, after
 * the round's emptied page-table frames are freed; the round's scope in
 * *sd for the caller. */
static int warm_reclaim_range(scim_os *os, process *p, uint64_t start, uint64_t end, round_scope *sd,
                              scim_err *err)
{
    leaf_list l;
    if (!os_leaves_in(p, start, end, &l)) {
        free(l.v);
        return out_of_host_memory(err, "reclaim");
    }
    warm_round rd = {0};
    int rc = 0;
    for (size_t i = 0; !rc && i < l.n; i++) {
        const leaf *lf = &l.v[i];
        if (!os_leaf_movable(os, p, lf))
            continue;
        if (os->p.unsafe_skip_device_inv) {
            rc = refuse_skipped_devices(os, p->pasid, "reclaim", err);
            break;
        }
        uint64_t slot;
        if (!os_slot_alloc(os, &slot)) {
            rc = scim_err_set(err, SCIM_ENOMEM,
                              "sim.warmup: out of swap space (os.swap.size = %llu bytes) in a reclaim record of "
                              "pasid %u at 0x%llx (the timed run stops here too); raise os.swap.size",
                              (unsigned long long)os->p.swap_size, p->pasid, (unsigned long long)start);
            break;
        }
        if (!(rc = take(os, &rd, p, lf->va, os_leaf_pfn(lf), slot, err)))
            scope_add(sd, lf->va, OS_PAGE_SIZE);
    }
    if (!rc && rd.n) {
        const reclaim_for f = {"a reclaim record", p->pasid, start};
        rc = finish_round(os, &rd, NULL, &f, err);
    }
    free(rd.v);
    os_frame_list_free(&rd.tables);
    free(l.v);
    return rc;
}

/* ops.c do_migrate (migrate_leaf, migrate_copied): every movable page of
 * the range, while a free frame is left for its copy, unmapped into one
 * round; after the round, its emptied page-table frames freed (finish_op),
 * then each page mapped again at its new frame and its old frame freed. */
static int warm_migrate(scim_os *os, process *p, uint64_t start, uint64_t end, round_scope *sd, scim_err *err)
{
    leaf_list l;
    if (!os_leaves_in(p, start, end, &l)) {
        free(l.v);
        return out_of_host_memory(err, "migrate");
    }
    typedef struct moved {
        uint64_t va, old_pfn, new_pfn;
    } moved;
    moved *mv = calloc(l.n ? l.n : 1, sizeof *mv);
    frame_list tables = {0};
    size_t n = 0;
    int rc = mv ? 0 : out_of_host_memory(err, "migrate");
    for (size_t i = 0; !rc && i < l.n; i++) {
        const leaf *lf = &l.v[i];
        if (!os_leaf_movable(os, p, lf))
            continue;
        if (os->p.unsafe_skip_device_inv) {
            rc = refuse_skipped_devices(os, p->pasid, "migrate", err);
            break;
        }
        uint64_t npfn;
        if (os_frame_alloc(os, p, 0, &npfn, NULL) != 0)
            break; /* migrate what fits */
        os_update_free(os);
        mv[n++] = (moved){lf->va, os_leaf_pfn(lf), npfn};
        os->collect = &tables; /* as os_unmap_pte's: freed after the shootdown */
        scim_pgtable_unmap(p->pt, lf->va, NULL, NULL);
        os->collect = NULL;
        os->st.frames_data--;
        os_lru_remove(os, os_leaf_pfn(lf));
        scope_add(sd, lf->va, OS_PAGE_SIZE);
    }
    /* do_migrate wakes kswapd with the copies' frames taken */
    const reclaim_for f = {"a migrate record", p->pasid, start};
    if (!rc && n)
        rc = reclaim_if_low(os, &f, err);
    /* finish_op: the emptied page-table frames first */
    for (size_t i = 0; i < tables.n; i++) {
        os->deferred--;
        free_frame(os, tables.v[i].pfn, 0);
    }
    for (size_t i = 0; i < n; i++) {
        const region *r = os_find_region(p, mv[i].va);
        if (!rc && (!r || os_map_new_page(os, p, mv[i].va, r, mv[i].new_pfn, true, NULL) != 0))
            free_frame(os, mv[i].new_pfn, 0);
        else if (rc)
            free_frame(os, mv[i].new_pfn, 0);
        free_frame(os, mv[i].old_pfn, 0);
    }
    free(mv);
    os_frame_list_free(&tables);
    free(l.v);
    return rc;
}

/* ops.c do_pin and do_unpin: no shootdown; a pin that maps pages reclaims
 * below the watermark as kswapd would be woken. */
static int warm_pin(scim_os *os, process *p, const scim_trace_rec *rec, uint64_t start, uint64_t end,
                    scim_err *err)
{
    int rc = os_pin_range(os, p, start, end, rec->op == SCIM_OP_PIN);
    if (rc == SCIM_ENOMEM)
        return out_of_host_memory(err, scim_trace_op_name(rec->op));
    if (rc)
        return rc;
    const reclaim_for f = {scim_trace_op_name(rec->op), p->pasid, start};
    return reclaim_if_low(os, &f, err);
}

int scim_os_warm_op(scim_os *os, const scim_trace_rec *rec, uint32_t pasid, scim_inv_scope *inv, scim_err *err)
{
    round_scope sd = {0};
    if (inv)
        *inv = scope_of(os, pasid, &sd);
    if (rec->op == SCIM_OP_READ || rec->op == SCIM_OP_WRITE || rec->op >= SCIM_OP_COUNT_)
        return scim_err_set(err, SCIM_EINVAL,
                            "sim.warmup: a %s record (line or record %llu) is not an OS operation (mmap, munmap, "
                            "mprotect, migrate, reclaim, pin or unpin)",
                            rec->op < SCIM_OP_COUNT_ ? scim_trace_op_name(rec->op) : "?",
                            (unsigned long long)rec->line);
    int rc = supported(os, pasid, scim_trace_op_name(rec->op), err);
    if (rc)
        return rc;
    process *p = os_find_process(os, pasid);
    if (!p)
        return SCIM_RESP_INVALID;
    /* as ops.c decodes the request the agent sends */
    uint64_t start = os_page_down(rec->addr), end = os_page_up(rec->addr + rec->size);
    switch (rec->op) {
    case SCIM_OP_PIN:
    case SCIM_OP_UNPIN: return warm_pin(os, p, rec, start, end, err);
    case SCIM_OP_MUNMAP: rc = warm_munmap(os, p, start, end, &sd, err); break;
    case SCIM_OP_RECLAIM: rc = warm_reclaim_range(os, p, start, end, &sd, err); break;
    case SCIM_OP_MIGRATE: rc = warm_migrate(os, p, start, end, &sd, err); break;
    case SCIM_OP_MPROTECT: {
        unsigned prot = (rec->has & SCIM_TRACE_HAS_PROT) ? rec->prot : SCIM_PROT_R;
        rc = warm_mprotect(os, p, start, end, prot, &sd, err);
        break;
    }
    default: return warm_mmap(os, p, rec, start, end, err);
    }
    if (inv)
        *inv = scope_of(os, pasid, &sd);
    return rc;
}

/* ---------- shadow copies ---------- */

void scim_os_warm_sync_shadows(scim_os *os, scim_os_warm_sync_fn fn, void *ctx)
{
    if (!os->n_shadows) /* the common case: nothing kept (os_shadow_entry_written) */
        return;
    for (size_t i = 0; i < os->n_procs; i++) {
        process *p = &os->procs[i];
        if (!p->n_sync)
            continue;
        for (size_t d = 0; d < os->n_shadows; d++)
            if (os->shadows[d].pasid == p->pasid)
                fn(ctx, os->shadows[d].node, p->sync, p->n_sync / 2);
        p->n_sync = 0;
    }
}

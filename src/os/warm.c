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
 * A process of a VM is the guest's: its frames are guest frames backed by
 * host frames (hyp.c guest_alloc, through os_frame_alloc), its tables
 * hold guest-physical addresses, as in a timed run. The hypervisor's part
 * is at once too: a fault stage 2 lacks is mapped there
 * (scim_os_warm_s2_fault), and a zeroed page of an I/O fault or prefault
 * is mapped there as the zeroing's EPT violation maps it (zero_touch).
 *
 * Refused: an unmap, downgrade or reclaim under
 * os.unsafe_skip_device_inv (the timed round leaves the devices'
 * translations in place, which one scope for every cache cannot say). */
#include "os/warm_internal.h"

#include <stdlib.h>

int os_warm_out_of_memory(scim_err *err, const char *what)
{
    return scim_err_set(err, SCIM_ENOMEM, "sim.warmup: out of host memory in %s", what);
}

/* The round would need a shootdown that skips the devices (a protocol
 * broken on purpose, for the checker's tests): one scope for every cache
 * cannot leave them stale. */
int os_warm_refuse_skipped(const scim_os *os, uint32_t pasid, const char *what, scim_err *err)
{
    return scim_err_set(err, SCIM_EINVAL,
                        "sim.warmup: %s of pasid %u needs a shootdown, and os.unsafe_skip_device_inv leaves the "
                        "devices' translations stale, which warm-up cannot reproduce; set sim.warmup: 0",
                        what, pasid);
}

/* A frame the finished round frees: as os_release_frame, without asking
 * the checker (it is not told of warm-up rounds). A fault waiting for it
 * is retried by the caller (wake), as os_wake_frame_waiters would. */
void os_warm_free_frame(scim_os *os, uint64_t pfn, unsigned order)
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
 *     SCIM_ENOMEM, with a message.
 * Not a difference: the shootdown's scopes reach each cache as the timed
 * round's messages would (os_warm_send_round): under sync, the cores one
 * IPI's (the range, or the whole PASID when the round has several), the
 * devices and the IOMMU each range's descriptor. */



/* A round's list of victims starts this long (os.reclaim.batch's default):
 * os.reclaim.batch may be far larger than any round finds. */
#define ROUND_FIRST_CAP 32



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
    scim_err why; /* cleared, not zeroed: 1 KiB per fault */
    scim_err_clear(&why);
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
int os_warm_take(scim_os *os, warm_round *rd, process *q, uint64_t va, uint64_t pfn, uint64_t slot, scim_err *err)
{
    victim *n = os_grow(rd->v, &rd->cap, rd->n + 1, sizeof *n, ROUND_FIRST_CAP);
    if (!n) {
        os_slot_free(os, slot);
        return os_warm_out_of_memory(err, "reclaim");
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
        int rc;
        if (os->p.unsafe_skip_device_inv)
            return os_warm_refuse_skipped(os, q->pasid, "reclaim", err);
        uint64_t slot;
        if (!os_slot_alloc(os, &slot))
            return scim_err_set(err, SCIM_ENOMEM,
                                "sim.warmup: out of swap space (os.swap.size = %llu bytes) while reclaiming for %s "
                                "of pasid %u at 0x%llx (the timed kswapd stops the run here too); raise os.swap.size "
                                "or memory.size, or use a smaller sim.warmup",
                                (unsigned long long)os->p.swap_size, f->what, f->pasid, (unsigned long long)f->va);
        if ((rc = os_warm_take(os, rd, q, lp.va, os_pfn(pa), slot, err)) != 0)
            return rc;
    }
    return 0;
}

static void drop(scim_os *os, scim_inv_scope s, unsigned targets) { os->warm_inv(os->warm_inv_ctx, &s, targets); }

/* os_start_shootdown_now's messages, at once: beyond
 * os.inv_coalesce_pages pages the whole PASID, else each range
 * [lo[i], hi[i]); sync: one IPI's scope to the cores (the range when
 * there is one, else the whole PASID) and one descriptor's per range to
 * the devices and the IOMMU (send_sync); broadcast: each to all
 * (send_broadcast). */
void os_warm_send_round(scim_os *os, uint32_t pasid, uint64_t pages, const uint64_t *lo, const uint64_t *hi,
                        size_t n)
{
    const scim_inv_scope whole = {SCIM_INV_PASID, pasid, 0, 0};
    bool all = pages > os->p.inv_coalesce_pages;
    bool sync = os->p.shootdown == OS_SD_SYNC;
    if (sync)
        drop(os, !all && n == 1 ? (scim_inv_scope){SCIM_INV_RANGE, pasid, lo[0], hi[0] - lo[0]} : whole,
             SCIM_OS_WARM_INV_CORES);
    unsigned targets = sync ? SCIM_OS_WARM_INV_DEVICES : SCIM_OS_WARM_INV_ALL;
    if (all) {
        drop(os, whole, targets);
        return;
    }
    for (size_t i = 0; i < n; i++)
        drop(os, (scim_inv_scope){SCIM_INV_RANGE, pasid, lo[i], hi[i] - lo[i]}, targets);
}

int os_warm_shoot_down(scim_os *os, const warm_round *rd, scim_err *err)
{
    uint64_t *lo = malloc(rd->n * sizeof *lo), *hi = malloc(rd->n * sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return os_warm_out_of_memory(err, "a shootdown");
    }
    size_t n = 0; /* the victims merged where contiguous, in the round's order (merge_ranges) */
    for (size_t i = 0; i < rd->n; i++) {
        uint64_t a = rd->v[i].va;
        if (n && lo[n - 1] <= a && a <= hi[n - 1]) {
            if (a + OS_PAGE_SIZE > hi[n - 1])
                hi[n - 1] = a + OS_PAGE_SIZE;
            continue;
        }
        lo[n] = a;
        hi[n++] = a + OS_PAGE_SIZE;
    }
    os_warm_send_round(os, rd->p->pasid, rd->n, lo, hi, n);
    free(lo);
    free(hi);
    return 0;
}

/* The shootdown is over: finish_op's page-table frames, then each victim
 * as its write completes, its slot recorded, its frame freed. */
int os_warm_finish_round(scim_os *os, warm_round *rd, waiter *w, const reclaim_for *f, scim_err *err)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < rd->tables.n; i++) {
        os->deferred--;
        os_warm_free_frame(os, rd->tables.v[i].pfn, 0);
        rc = wake(os, w, f, err);
    }
    for (size_t i = 0; !rc && i < rd->n; i++) {
        const victim *v = &rd->v[i];
        if (!scim_u64map_upsert(&rd->p->swapped, os_vpn(v->va), v->slot + 1))
            return os_warm_out_of_memory(err, "reclaim");
        os->st.frames_transit--;
        os_warm_free_frame(os, v->pfn, 0);
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
            int sd = os_warm_shoot_down(os, &rd, rc ? NULL : err);
            if (!rc)
                rc = sd ? sd : os_warm_finish_round(os, &rd, w, f, err);
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
int os_warm_reclaim_if_low(scim_os *os, const reclaim_for *f, scim_err *err)
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

/* A page of a guest zeroed before it is mapped (zero: an I/O fault's or a
 * prefault's, os.iopf.zero_pages): the zeroing is the guest's first
 * touch of the frame, an EPT violation the hypervisor answers by mapping
 * it in stage 2 (iopf.c zero_page, os_hyp_touch). Nothing else writes
 * state: the zeros are not modelled. */
static int zero_touch(scim_os *os, process *p, uint64_t page, bool zero, scim_err *err)
{
    uint64_t pa;
    if (!zero || !p->vm || !os_zeroing(os, os_fault_domain(os, p)) ||
        scim_pgtable_lookup(p->pt, page, &pa, NULL, NULL) != 1)
        return 0;
    return os_hyp_warm_touch(os, os_pfn(pa), err);
}

/* io: an I/O page fault, whose new page is zeroed first (fault.c
 * os_resolve's zero_first): a guest's first touch of its frame, which
 * maps it in stage 2 (iopf.c zero_page). */
static int warm_fault(scim_os *os, uint32_t pasid, uint64_t va, bool write, bool io, scim_err *err)
{
    int rc;
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
    scim_err why; /* cleared, not zeroed: 1 KiB per fault */
    scim_err_clear(&why);
    rc = map_page(os, &w, &why);
    if (rc == SCIM_ENOMEM && r->page_shift == SCIM_PAGE_SHIFT) {
        /* wait_for_frame: kswapd runs with the fault waiting on it */
        w.waiting = true;
        rc = warm_reclaim(os, &w, &f, err);
        return rc ? rc : zero_touch(os, p, page, io && !w.swap_in, err);
    }
    if (rc == SCIM_ENOMEM)
        return scim_err_set(err, SCIM_ENOMEM,
                            "sim.warmup: no free frame for a page fault of pasid %u at 0x%llx (%s); its page is "
                            "larger than 4 KiB, and reclaim frees no block for it (the timed fault stops the run "
                            "here too): use a smaller sim.warmup or a larger memory.size",
                            pasid, (unsigned long long)va, why.msg);
    if (rc)
        return unresolved(err, rc, &f, why.msg);
    if ((rc = zero_touch(os, p, page, io && !w.swap_in, err)))
        return rc;
    return os_warm_reclaim_if_low(os, &f, err);
}

int scim_os_warm_fault(scim_os *os, uint32_t pasid, uint64_t va, bool write, scim_err *err)
{
    return warm_fault(os, pasid, va, write, false, err);
}

int scim_os_warm_io_fault(scim_os *os, uint32_t pasid, uint64_t va, bool write, scim_err *err)
{
    return warm_fault(os, pasid, va, write, true, err);
}

int scim_os_warm_s2_fault(scim_os *os, uint32_t pasid, uint64_t va, uint32_t pages, bool *handled, scim_err *err)
{
    const process *p = os_find_process(os, pasid);
    *handled = false;
    return p ? os_hyp_warm_fault(os, p, va, pages, handled, err) : 0;
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
    process *p = os_find_process(os, pasid);
    const region *r = p ? os_find_region(p, va) : NULL;
    uint64_t page = os_page_down(va);
    if (!r || r->page_shift != SCIM_PAGE_SHIFT || r->prot == SCIM_PROT_NONE || os_busy_get(p, page) ||
        scim_u64map_get(&p->swapped, os_vpn(page)) || scim_pgtable_lookup(p->pt, page, NULL, NULL, NULL) == 1)
        return 0;
    if (os_map_new_page(os, p, page, r, 0, false, NULL) != 0)
        return 0;
    int rc = zero_touch(os, p, page, true, err);
    if (rc)
        return rc;
    const reclaim_for f = {"a prefault", pasid, va};
    return os_warm_reclaim_if_low(os, &f, err);
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

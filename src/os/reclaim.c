/* Reclaim: below os.reclaim.low_watermark free frames (or with faults
 * waiting for a frame) kswapd runs CLOCK over the mapped 4 KiB pages and
 * evicts up to os.reclaim.batch of one PASID per round: unmap, one
 * shootdown, write each page to swap, free its frame. The trace's reclaim
 * operation evicts a range the same way. */
#include "os/os_internal.h"

static void reclaim_round(scim_os *os);

static void reclaim_event(void *ctx, uint64_t arg) { reclaim_round(ctx); }

void os_maybe_reclaim(scim_os *os)
{
    if (os->reclaiming)
        return;
    if (scim_physmem_frames_free(os->pm) >= os->p.reclaim_low && !os->fw.head)
        return;
    os->reclaiming = true;
    scim_kernel_schedule(os->k, 0, SCIM_PRIO_DEFAULT, reclaim_event, os, 0);
}

/* The round's shootdown is over: write the victims out, then free them. */
static void reclaim_done(scim_os *os, size_t idx, void *ctx)
{
    sd_op *op = &os->ops[idx];
    op->writes_pending = (uint32_t)op->n_pages;
    for (size_t i = 0; i < op->n_pages; i++) {
        os->st.swap_writes++;
        os_swap_submit(os, (swap_io){.write = true, .op = idx, .page = i});
    }
}

void os_swap_write_done(scim_os *os, size_t op_idx, size_t page)
{
    sd_op *op = &os->ops[op_idx];
    page_ref *pr = &op->pages[page];
    process *p = os_find_process(os, op->pasid);
    uint64_t *s = scim_u64map_upsert(&p->swapped, os_vpn(pr->va), pr->slot + 1);
    if (!s) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    os->st.frames_transit--;
    os_release_frame(os, pr->old_pfn, 0);
    os_busy_clear(os, p, pr->va);
    op = &os->ops[op_idx]; /* the faults woken above may have started rounds */
    if (--op->writes_pending == 0) {
        scim_msg *req = op->req;
        os_frame_list_free(&op->data);
        os_frame_list_free(&op->tables);
        op->used = false;
        if (req)
            os_reply(os, req, SCIM_RESP_OK);
        else
            reclaim_round(os);
    }
}

/* Take a victim into a reclaim round: it will be written to swap `slot`. */
static bool evict(scim_os *os, unmap_round *r, const leaf *lf, uint64_t slot)
{
    page_ref *pr = os_round_take(os, r, lf);
    if (!pr)
        return false;
    pr->slot = slot;
    os->st.reclaim_evicted++;
    return true;
}

/* Pick victims of one PASID with CLOCK and start their eviction. A round
 * takes victims from the PASID of the first one found, so that one
 * shootdown covers the round. */
static void reclaim_round(scim_os *os)
{
    uint64_t free_now = scim_physmem_frames_free(os->pm);
    if (free_now >= os->p.reclaim_high && !os->fw.head) {
        os->reclaiming = false;
        return;
    }
    unmap_round r = {.done = reclaim_done, .busy = BUSY_SWAPOUT};
    size_t scanned = 0, limit = 2 * os->n_lru + 1;
    while (os->n_lru && scanned < limit && (!r.op || r.op->n_pages < os->p.reclaim_batch)) {
        if (os->hand >= os->n_lru)
            os->hand = 0;
        lru_page lp = os->lru[os->hand];
        scanned++;
        os->st.reclaim_scanned++;
        process *q = os_find_process(os, lp.pasid);
        uint64_t pa;
        unsigned attrs;
        if (os_pin_count(os, lp.pfn) || (r.p && q != r.p) || os_busy_get(q, lp.va) ||
            scim_pgtable_lookup(q->pt, lp.va, &pa, NULL, &attrs) != 1) {
            os->hand++;
            continue;
        }
        if (attrs & SCIM_PTA_ACCESSED) {
            os->st.reclaim_referenced++;
            scim_pgtable_update(q->pt, lp.va, 0, SCIM_PTA_ACCESSED, NULL);
            os->hand++;
            continue;
        }
        uint64_t slot;
        if (!os_slot_alloc(os, &slot)) {
            scim_kernel_fail(os->k, SCIM_ENOMEM,
                             "out of swap space (os.swap.size = %llu bytes) while reclaiming; raise os.swap.size "
                             "or memory.size",
                             (unsigned long long)os->p.swap_size);
            return;
        }
        r.p = q;
        leaf lf = {lp.va, scim_page_base(pa, OS_PAGE_SHIFT), attrs, OS_PAGE_SHIFT};
        /* unmapping takes it off the list: the hand now points at the next page */
        if (!evict(os, &r, &lf, slot))
            return;
    }
    if (!r.op) {
        os->reclaiming = false;
        if (os->fw.head)
            scim_kernel_fail(os->k, SCIM_ENOMEM,
                             "out of memory: faults wait for a frame but none of the %zu mapped 4 KiB pages can be "
                             "reclaimed (pinned, huge or in transition); raise memory.size or pin less",
                             os->n_lru);
        return;
    }
    os->st.reclaim_rounds++;
    os_start_shootdown(os, r.idx);
}

/* The trace's reclaim: a forced swap-out of the range's movable pages. */
static bool reclaim_leaf(scim_os *os, unmap_round *r, const leaf *lf)
{
    uint64_t slot;
    if (!os_leaf_movable(os, r->p, lf))
        return true;
    if (!os_slot_alloc(os, &slot)) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of swap space (os.swap.size) in reclaim; raise it");
        return false;
    }
    return evict(os, r, lf, slot);
}

void os_do_reclaim(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end)
{
    unmap_round r = {.p = p, .req = m, .done = reclaim_done, .busy = BUSY_SWAPOUT};
    os_unmap_range(os, &r, start, end, "reclaim", NULL, reclaim_leaf);
}

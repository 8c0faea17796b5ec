/* Functional warm-up (sim.warmup): the trace's OS operations (mmap,
 * munmap, mprotect, migrate, reclaim, pin, unpin), each applied at once
 * as the timed operation leaves the OS once its shootdown is done, its
 * scope handed to the caller (warm.c's header says what the OS's warm-up
 * keeps and does not). */
#include "os/warm_internal.h"

#include <stdlib.h>

/* ---------- operations ---------- */

/* The shootdown a timed round would start, built as os_start_shootdown_now
 * builds it from the pages the round takes, in their order: the pages
 * merged where contiguous (merge_ranges), or one whole-PASID invalidation
 * beyond os.inv_coalesce_pages pages. */
typedef struct round_scope {
    uint64_t pages;
    size_t ranges, cap;
    uint64_t *lo, *hi; /* the ranges, merged where contiguous in the round's order (merge_ranges) */
    bool oom;
} round_scope;

#define RANGES_FIRST_CAP 8 /* a round's first list of ranges (it grows) */

static void scope_add(round_scope *s, uint64_t va, uint64_t len)
{
    s->pages++;
    size_t n = s->ranges;
    if (n && s->lo[n - 1] <= va && va <= s->hi[n - 1]) {
        if (va + len > s->hi[n - 1])
            s->hi[n - 1] = va + len;
        return;
    }
    size_t cap = s->cap;
    uint64_t *lo = os_grow(s->lo, &cap, n + 1, sizeof *lo, RANGES_FIRST_CAP);
    if (lo)
        s->lo = lo;
    uint64_t *hi = lo ? os_grow(s->hi, &s->cap, n + 1, sizeof *hi, RANGES_FIRST_CAP) : NULL;
    if (!hi) {
        s->oom = true;
        return;
    }
    s->hi = hi;
    s->lo[n] = va;
    s->hi[n] = va + len;
    s->ranges++;
}

/* Without the invalidation callback, one scope for every cache. One range
 * is the timed scope itself. Several: the timed round sends one per range
 * (and, sync, a whole-PASID IPI to the cores); one scope can only cover
 * them all, from the first to the last. Nothing lies between them for an
 * munmap (its every leaf is in a range), so every cache but a sync core's
 * drops exactly what the timed round drops; for an mprotect, the leaves it
 * leaves alone between them are dropped too (a translation still valid,
 * so a miss the timed run would not take, never a stale hit). */
static scim_inv_scope scope_of(const scim_os *os, uint32_t pasid, const round_scope *s)
{
    if (s->pages == 0)
        return (scim_inv_scope){SCIM_INV_RANGE, pasid, 0, 0};
    if (s->pages > os->p.inv_coalesce_pages || s->oom)
        return (scim_inv_scope){SCIM_INV_PASID, pasid, 0, 0};
    return (scim_inv_scope){SCIM_INV_RANGE, pasid, s->lo[0], s->hi[s->ranges - 1] - s->lo[0]};
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
        return os_warm_out_of_memory(err, "munmap");
    }
    int rc = 0;
    frame_list tables = {0}, data = {0};
    if (!munmap_allowed(p, start, end, &l)) {
        rc = SCIM_RESP_INVALID;
        goto out;
    }
    if (l.n && os->p.unsafe_skip_device_inv) {
        rc = os_warm_refuse_skipped(os, p->pasid, "munmap", err);
        goto out;
    }
    if (os_remove_regions(p, start, end) != 0) {
        rc = os_warm_out_of_memory(err, "munmap");
        goto out;
    }
    for (uint64_t va = start; va < end; va += OS_PAGE_SIZE)
        os_forget_swapped(os, p, va);
    for (size_t i = 0; i < l.n; i++) {
        const leaf *lf = &l.v[i];
        unsigned order = os_order(lf->shift);
        if (os_frame_list_add(&data, os_leaf_pfn(lf), order) != 0) {
            rc = os_warm_out_of_memory(err, "munmap");
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
        os_warm_free_frame(os, tables.v[i].pfn, 0);
    }
    /* munmap_done: a pinned frame outlives its mapping, in transit until its last unpin */
    for (size_t i = 0; i < data.n; i++) {
        frame_ref f = data.v[i];
        if (f.order == 0 && os_pin_count(os, f.pfn)) {
            if (!scim_u64map_upsert(&os->orphans, f.pfn, 0)) {
                rc = os_warm_out_of_memory(err, "munmap");
                goto out;
            }
            os->st.frames_transit++;
            continue;
        }
        os_warm_free_frame(os, f.pfn, f.order);
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
        return os_warm_out_of_memory(err, "mprotect");
    }
    unsigned set, clear;
    new_rights(prot, &set, &clear);
    int rc = 0;
    bool downgrades = false;
    for (size_t i = 0; i < l.n; i++)
        downgrades |= (clear & l.v[i].attrs) != 0;
    if (downgrades && os->p.unsafe_skip_device_inv)
        rc = os_warm_refuse_skipped(os, p->pasid, "mprotect", err);
    else if (os_protect_regions(p, start, end, prot) != 0)
        rc = os_warm_out_of_memory(err, "mprotect");
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
    scim_err why; /* cleared, not zeroed: 1 KiB per fault */
    scim_err_clear(&why);
    int rc = os_add_region(os, p, start, end - start, shift, prot, rec->populate, &why);
    if (rc == SCIM_ENOMEM)
        return scim_err_set(err, SCIM_ENOMEM,
                            "sim.warmup: no free frame for mmap(populate) of pasid %u at 0x%llx (%s); populating "
                            "does not wait for reclaim (the timed mmap stops the run here too): use a smaller "
                            "sim.warmup or a larger memory.size",
                            p->pasid, (unsigned long long)start, why.msg);
    /* do_mmap wakes kswapd whatever it answered */
    const reclaim_for f = {"mmap", p->pasid, start};
    int rrc = os_warm_reclaim_if_low(os, &f, err);
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
        return os_warm_out_of_memory(err, "reclaim");
    }
    warm_round rd = {0};
    int rc = 0;
    for (size_t i = 0; !rc && i < l.n; i++) {
        const leaf *lf = &l.v[i];
        if (!os_leaf_movable(os, p, lf))
            continue;
        if (os->p.unsafe_skip_device_inv) {
            rc = os_warm_refuse_skipped(os, p->pasid, "reclaim", err);
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
        if (!(rc = os_warm_take(os, &rd, p, lf->va, os_leaf_pfn(lf), slot, err)))
            scope_add(sd, lf->va, OS_PAGE_SIZE);
    }
    if (!rc && rd.n) {
        const reclaim_for f = {"a reclaim record", p->pasid, start};
        rc = os_warm_finish_round(os, &rd, NULL, &f, err);
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
        return os_warm_out_of_memory(err, "migrate");
    }
    typedef struct moved {
        uint64_t va, old_pfn, new_pfn;
    } moved;
    moved *mv = calloc(l.n ? l.n : 1, sizeof *mv);
    frame_list tables = {0};
    size_t n = 0;
    int rc = mv ? 0 : os_warm_out_of_memory(err, "migrate");
    for (size_t i = 0; !rc && i < l.n; i++) {
        const leaf *lf = &l.v[i];
        if (!os_leaf_movable(os, p, lf))
            continue;
        if (os->p.unsafe_skip_device_inv) {
            rc = os_warm_refuse_skipped(os, p->pasid, "migrate", err);
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
        rc = os_warm_reclaim_if_low(os, &f, err);
    /* finish_op: the emptied page-table frames first */
    for (size_t i = 0; i < tables.n; i++) {
        os->deferred--;
        os_warm_free_frame(os, tables.v[i].pfn, 0);
    }
    for (size_t i = 0; i < n; i++) {
        const region *r = rc ? NULL : os_find_region(p, mv[i].va);
        if (!r || os_map_new_page(os, p, mv[i].va, r, mv[i].new_pfn, true, NULL) != 0)
            os_warm_free_frame(os, mv[i].new_pfn, 0);
        os_warm_free_frame(os, mv[i].old_pfn, 0);
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
        return os_warm_out_of_memory(err, scim_trace_op_name(rec->op));
    if (rc)
        return rc;
    const reclaim_for f = {scim_trace_op_name(rec->op), p->pasid, start};
    return os_warm_reclaim_if_low(os, &f, err);
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
    int rc;
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
    if (sd.oom && !rc) /* the ranges are lost: the round's scopes cannot be sent as the timed round's */
        rc = os_warm_out_of_memory(err, scim_trace_op_name(rec->op));
    if (os->warm_inv && sd.pages && !sd.oom) /* the timed round's scopes, each to its caches */
        os_warm_send_round(os, pasid, sd.pages, sd.lo, sd.hi, sd.ranges);
    else if (inv)
        *inv = scope_of(os, pasid, &sd);
    free(sd.lo);
    free(sd.hi);
    return rc;
}


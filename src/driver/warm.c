/* Functional warm-up (sim.warmup) of the pin and iommu-map schemes: one
 * I/O at a time, its preparation, its DMA and its release at once, as the
 * timed driver leaves them with nothing else in flight.
 *
 * Begin (io.c prepare): each page the I/O may not use is faulted in on the
 * CPU (scim_os_warm_fault), pinned for the I/O and marked accessed (and
 * dirty for a device write) as get_user_pages does; then pin.c's
 * registration (drv_reg_page) or iommu_map.c's mapping (drv_map_page), the
 * same functions the timed driver calls. The caller then runs the DMA's
 * translations in the space begin names (iommu-map: the device's domain;
 * pin: none, the device reads physical addresses).
 *
 * End (pin.c drv_unpin; iommu_map.c drv_unmap): the I/O's own pins
 * dropped; iommu-map unmaps the pages no other mapping holds and
 *   - strict: invalidates them in every cache at once (the OS's warm-up
 *     invalidation callback: the scope the timed round sends, one range
 *     or the domain past os.inv_coalesce_pages), then unpins their frames;
 *   - deferred: queues them in the device's flush batch, frames pinned,
 *     one flush-queue entry per unmap on the driver context the I/O would
 *     take (I/Os go round the contexts in turn: one at a time, each takes
 *     the next request slot); a context's queue reaching
 *     os.iommu_map.flush_entries flushes the whole domain, and so does the
 *     flush timer: os.iommu_map.flush_interval after the batch's first
 *     page, on the clock of the records' issue times (the warm-up's only
 *     clock; an unmap is taken at its I/O's issue time). Every batch left
 *     at the end of the warm-up is flushed (scim_driver_warm_finish): the
 *     detailed run starts with none pending.
 * No descriptor list is written (the detailed run writes each before the
 * device reads it) and no statistic is counted. */
#include "driver/driver_internal.h"

#include <stdlib.h>

/* Faults one page may take before the I/O fails: a page its own fault's
 * reclaim evicted is faulted in again (as src/sim/warm.c bounds it). */
#define WARM_FAULT_TRIES 4

static void unpin_all(scim_os *os, const uint64_t *frames, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        os_unpin_frame(os, frames[i]);
}

/* Drop scope s from the devices' and the IOMMU's caches now (the unmap's
 * invalidation descriptors, at once; no core caches an IOVA). */
static int invalidate(scim_os *os, const scim_inv_scope *s, scim_err *err)
{
    if (!os->warm_inv)
        return scim_err_set(err, SCIM_ESTATE,
                            "sim.warmup: an iommu-map unmap needs the warm-up's invalidation callback "
                            "(scim_os_warm_set_invalidate)");
    os->warm_inv(os->warm_inv_ctx, s, SCIM_OS_WARM_INV_DEVICES);
    return 0;
}

/* iommu_map.c flush_batch and flush_done: the whole domain, then the
 * batch's frames go. */
static int flush(scim_driver *d, io_dev *io, scim_err *err)
{
    if (!io->n_warm_batch)
        return 0;
    const scim_inv_scope s = {SCIM_INV_PASID, io->domain, 0, 0};
    int rc = invalidate(d->os, &s, err);
    if (rc)
        return rc;
    unpin_all(d->os, io->warm_batch, io->n_warm_batch);
    io->n_warm_batch = 0;
    for (size_t q = 0; q < io->n_queues; q++)
        io->queues[q].flush_queued = 0;
    return 0;
}

/* The flush timers due by `now` (iommu_map.c flush_timer). */
static int timers(scim_driver *d, scim_time_t now, scim_err *err)
{
    if (d->os->p.iommu_map_mode != MAP_DEFERRED)
        return 0;
    for (size_t i = 0; i < d->n_io; i++) {
        io_dev *io = d->io[i];
        if (io->n_warm_batch && now - io->warm_batch_at >= d->os->p.flush_interval) {
            int rc = flush(d, io, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* io.c prepare: every page present and usable, pinned for the I/O, marked. */
static int prepare(scim_driver *d, process *p, warm_io *w, uint64_t *faults, bool *failed, scim_err *err)
{
    scim_os *os = d->os;
    for (uint64_t i = 0; i < w->n; i++) {
        uint64_t va = w->start + i * OS_PAGE_SIZE, pfn;
        for (int tries = 0; !drv_page_usable(p, va, w->write, &pfn); tries++) {
            int rc = tries < WARM_FAULT_TRIES ? scim_os_warm_fault(os, w->pasid, va, w->write, err)
                                              : SCIM_RESP_INVALID;
            if (rc) {
                unpin_all(os, w->frames, i); /* io.c refuse() */
                *failed = rc == SCIM_RESP_INVALID;
                return *failed ? 0 : rc;
            }
            (*faults)++;
        }
        if (!drv_pin_for_io(os, p, va, pfn, w->write)) {
            unpin_all(os, w->frames, i);
            return scim_err_set(err, SCIM_ENOMEM, "sim.warmup: out of host memory pinning a page");
        }
        w->frames[i] = pfn;
    }
    return 0;
}

/* pin.c drv_pin_pages' registration, or iommu_map.c drv_map_pages. */
static int set_up(scim_driver *d, const warm_io *w, scim_err *err)
{
    scim_os *os = d->os;
    uint64_t evicted = 0;
    process *dom = w->io->pin ? NULL : os_find_process(os, w->io->domain);
    for (uint64_t i = 0; i < w->n; i++) {
        uint64_t va = w->start + i * OS_PAGE_SIZE;
        if (dom) {
            int rc = drv_map_page(d, w->io, dom, va, w->frames[i], w->write, err);
            if (rc)
                return rc;
            continue;
        }
        bool hit;
        if (os->p.pin_cache_pages && !drv_reg_page(os, &d->reg, w->pasid, os_vpn(va), w->frames[i], &hit, &evicted))
            return scim_err_set(err, SCIM_ENOMEM, "sim.warmup: out of host memory registering a page");
    }
    return 0;
}

int scim_driver_warm_begin(scim_driver *d, scim_device *dev, const scim_trace_rec *rec, uint32_t pasid,
                           scim_time_t now, uint32_t *space, uint64_t *faults, bool *failed, scim_err *err)
{
    *space = 0;
    *faults = 0;
    *failed = false;
    d->warm.io = NULL;
    int rc = timers(d, now, err);
    io_dev *io = drv_io_of(d, scim_device_node(dev));
    if (rc || !io)
        return rc;
    if (drv_in_static(io, pasid, rec->addr, rec->size)) { /* set up at bind: nothing to prepare */
        *space = io->pin ? 0 : io->domain;
        return 0;
    }
    process *p = os_find_process(d->os, pasid);
    warm_io *w = &d->warm;
    w->pasid = pasid;
    w->start = os_page_down(rec->addr);
    w->n = os_vpn(rec->addr + rec->size + OS_PAGE_MASK) - os_vpn(rec->addr);
    w->write = rec->op == SCIM_OP_WRITE;
    w->io = io;
    if (!p || w->n > IO_MAX_PAGES) {
        *failed = true;
        w->io = NULL;
        return 0;
    }
    if ((rc = prepare(d, p, w, faults, failed, err)) || *failed) {
        w->io = NULL;
        return rc;
    }
    if ((rc = set_up(d, w, err))) {
        unpin_all(d->os, w->frames, w->n);
        w->io = NULL;
        return rc;
    }
    w->io->warm_batch_at = w->io->n_warm_batch ? w->io->warm_batch_at : now;
    *space = io->pin ? 0 : io->domain;
    return 0;
}

/* iommu_map.c drv_unmap, its round done at once (strict) or queued. */
static int unmap(scim_driver *d, warm_io *w, scim_err *err)
{
    scim_os *os = d->os;
    io_dev *io = w->io;
    process *dom = os_find_process(os, io->domain);
    bool deferred = os->p.iommu_map_mode == MAP_DEFERRED;
    uint64_t gone[IO_MAX_PAGES], n_gone = 0, lo = 0, hi = 0;
    for (uint64_t i = 0; i < w->n; i++) {
        uint64_t va = w->start + i * OS_PAGE_SIZE;
        if (!dom || !drv_unmap_last(d, io, va)) {
            os_unpin_frame(os, w->frames[i]); /* another mapping still holds it */
            continue;
        }
        scim_pgtable_unmap(dom->pt, va, NULL, NULL); /* a domain keeps its empty tables: none freed */
        lo = n_gone ? lo : va;
        hi = va + OS_PAGE_SIZE;
        gone[n_gone++] = w->frames[i];
    }
    io_queue *q = &io->queues[io->warm_ios++ % io->n_queues];
    if (!n_gone)
        return 0;
    if (!deferred) {
        /* one range, or several a single scope covers from the first to
         * the last (only pages another mapping holds lie between) */
        scim_inv_scope s = {SCIM_INV_RANGE, io->domain, lo, hi - lo};
        if (n_gone > os->p.inv_coalesce_pages)
            s = (scim_inv_scope){SCIM_INV_PASID, io->domain, 0, 0};
        int rc = invalidate(os, &s, err);
        if (!rc)
            unpin_all(os, gone, n_gone);
        return rc;
    }
    if (io->n_warm_batch + n_gone > io->cap_warm_batch) {
        size_t cap = io->cap_warm_batch ? 2 * io->cap_warm_batch : 64;
        while (cap < io->n_warm_batch + n_gone)
            cap *= 2;
        uint64_t *b = realloc(io->warm_batch, cap * sizeof *b);
        if (!b) {
            unpin_all(os, gone, n_gone);
            return scim_err_set(err, SCIM_ENOMEM, "sim.warmup: out of host memory queueing a flush");
        }
        io->warm_batch = b;
        io->cap_warm_batch = cap;
    }
    /* warm_batch_at was set at begin: this I/O's issue time if the batch was empty */
    for (uint64_t i = 0; i < n_gone; i++)
        io->warm_batch[io->n_warm_batch++] = gone[i];
    return ++q->flush_queued >= os->p.flush_entries ? flush(d, io, err) : 0;
}

int scim_driver_warm_end(scim_driver *d, scim_err *err)
{
    warm_io *w = &d->warm;
    if (!w->io)
        return 0;
    int rc = 0;
    if (w->io->pin)
        unpin_all(d->os, w->frames, w->n); /* drv_unpin: the cache keeps its own */
    else
        rc = unmap(d, w, err);
    w->io = NULL;
    return rc;
}

int scim_driver_warm_finish(scim_driver *d, scim_err *err)
{
    for (size_t i = 0; i < d->n_io; i++) {
        int rc = flush(d, d->io[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Scheme iommu-map: each I/O's pages are mapped at IOVA = va in the
 * device's own I/O address space (dma_map: an IOVA allocation,
 * os.iommu_map.iova_alloc_cost, and the entries) and unmapped after
 * (dma_unmap: the entries, the IOVA free). os.iommu_map.mode strict
 * invalidates the IOMMU's (and an ATS device's) caches on every unmap and
 * answers when that is done: one shootdown round, whose invalidation the
 * driver's CPU waits for (the IOMMU's wait descriptor). deferred is Linux's
 * flush queue (drivers/iommu/dma-iommu.c): each unmap call is one entry
 * of the flush queue of the driver context that made it, and the whole
 * address space is invalidated by the unmap that brings one context's
 * queue to os.iommu_map.flush_entries entries (it waits for the flush) or
 * os.iommu_map.flush_interval after the first entry queued since the last
 * flush (the flush timer); a flush covers every context's pages.
 * The time a stale entry could still be used is os.io.stale_window. The
 * static regions (rings) are mapped once at bind, read-write, and never
 * unmapped. */
#include "driver/driver_internal.h"

#include <stdio.h>

#include "driver/exposure.h"

/* Paging levels of a device's I/O address space, in the ISA's format (x86-64
 * 4-level, armv8 va48, sv48: every family has a 4-level, 48-bit mode). */
#define MAP_DOMAIN_LEVELS 4
/* A mapped page's key: the domain's number above any vpn. */
#define MAP_DOMAIN_SHIFT 56
/* The flush timer's argument: the context's index above the batch's
 * generation (its low bits). */
#define TIMER_IO_SHIFT 32
#define TIMER_GEN_MASK 0xffffffffull

static uint64_t map_key(uint32_t domain, uint64_t vpn)
{
    return ((uint64_t)(domain - SCIM_DOMAIN_PASID_BASE) << MAP_DOMAIN_SHIFT) | vpn;
}

/* Map the buffer (drv_map_page per page); the map cost is paid per call. */
int drv_map_page(scim_driver *d, const io_dev *io, process *dom, uint64_t va, uint64_t pfn, bool write,
                 scim_err *err)
{
    /* the DMA direction sets the device's right: DMA_FROM_DEVICE (the
     * device writes memory) maps writable, DMA_TO_DEVICE read-only */
    unsigned attrs = SCIM_PTA_USER | (write ? SCIM_PTA_WRITE : 0);
    uint64_t *count = scim_u64map_upsert(&d->mapped, map_key(io->domain, os_vpn(va)), 0);
    if (!count)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    if ((*count)++ == 0) {
        scim_err why = {0};
        int rc = scim_pgtable_map(dom->pt, va, os_frame_pa(pfn), OS_PAGE_SHIFT, attrs, &why);
        if (rc)
            return scim_err_set(err, why.code ? why.code : SCIM_ENOMEM,
                                "iommu-map: mapping IOVA 0x%llx in the I/O address space of pasid %u failed: %s",
                                (unsigned long long)va, io->domain, why.msg);
    } else if (write) {
        scim_pgtable_update(dom->pt, va, SCIM_PTA_WRITE, 0, NULL); /* an upgrade: no invalidation */
    }
    return 0;
}

bool drv_unmap_last(scim_driver *d, const io_dev *io, uint64_t va)
{
    uint64_t *count = scim_u64map_get(&d->mapped, map_key(io->domain, os_vpn(va)));
    if (!count || --*count > 0)
        return false;
    scim_u64map_remove(&d->mapped, map_key(io->domain, os_vpn(va)));
    return true;
}

void drv_map_pages(scim_driver *d, scim_msg *m, process *p, io_dev *io)
{
    scim_os *os = d->os;
    const host_io *x = drv_hio(io, m);
    process *dom = os_find_process(os, io->domain);
    uint64_t start = os_page_down(drv_req(m)->addr), n = drv_io_pages(m);
    for (uint64_t i = 0; i < n && dom; i++) {
        scim_err err = {0};
        if (drv_map_page(d, io, dom, start + i * OS_PAGE_SIZE, x->frames[i], drv_req(m)->write, &err)) {
            scim_kernel_fail(os->k, err.code ? err.code : SCIM_ENOMEM, "%s", err.msg);
            return;
        }
    }
    os->st.io_maps += n;
    drv_io_reply_after(d, m, os->p.iova_alloc_cost + n * os->p.iommu_map_page_cost +
                                 os_hyp_map_exit_cost(os, drv_req(m)->pasid));
}

/* ---------- invalidation ---------- */

/* A strict unmap's or a deferred batch's invalidation has completed: the
 * frames may go. */
static void invalidated(scim_driver *d, size_t idx, bool deferred)
{
    scim_os *os = d->os;
    sd_op *op = &os->ops[idx];
    scim_time_t now = scim_kernel_now(os->k);
    for (size_t i = 0; i < op->n_pages; i++) {
        os_unpin_frame(os, op->pages[i].old_pfn);
        /* strict: the driver gets the IOVA back only now, so nothing
         * could use a stale entry: a window of zero */
        scim_hist_record(os->st.stale_window, deferred ? now - op->pages[i].unmapped_at : 0);
    }
    if (deferred && d->exposure)
        scim_exposure_add(d->exposure, op->pasid, -(int64_t)op->n_pages);
    op->used = false;
    if (op->req)
        drv_io_finish(d, op->req, SCIM_RESP_OK);
}

static void strict_done(scim_os *os, size_t idx, void *ctx) { invalidated(ctx, idx, false); }
static void flush_done(scim_os *os, size_t idx, void *ctx) { invalidated(ctx, idx, true); }

static void flush_batch(scim_driver *d, io_dev *io)
{
    if (!io->has_batch)
        return;
    io->has_batch = false;
    for (size_t q = 0; q < io->n_queues; q++)
        io->queues[q].flush_queued = 0;
    d->os->st.io_flushes++;
    os_start_shootdown(d->os, io->batch);
}

static void flush_timer(void *ctx, uint64_t arg)
{
    scim_driver *d = ctx;
    io_dev *io = d->io[arg >> TIMER_IO_SHIFT];
    if (io->has_batch && (io->generation & TIMER_GEN_MASK) == (arg & TIMER_GEN_MASK))
        flush_batch(d, io);
}

/* deferred: the device's flush batch, started with the first page queued
 * (and its timer). */
static sd_op *batch_of(scim_driver *d, io_dev *io)
{
    scim_os *os = d->os;
    if (io->has_batch)
        return &os->ops[io->batch];
    sd_op *op = os_new_op(os, io->domain, NULL, flush_done, d, &io->batch);
    if (!op)
        return NULL;
    op->whole = true;
    io->has_batch = true;
    io->generation++;
    scim_kernel_schedule(os->k, os->p.flush_interval, SCIM_PRIO_DEFAULT, flush_timer, d,
                         ((uint64_t)io->index << TIMER_IO_SHIFT) | (io->generation & TIMER_GEN_MASK));
    return op;
}

/* IO_UNMAP: clear the IOVAs' entries. strict: invalidate the IOMMU's and
 * the device's caches for these pages and answer when done; deferred:
 * queue the pages for a later PASID-wide flush (answering now, unless this
 * unmap fills its context's queue and so flushes and waits), keeping
 * their frames pinned until it completes (Linux keeps the IOVA reserved
 * until then; keeping the frame too means the stale entry never names a
 * reused frame, so the checker's rule 2 holds). */
void drv_unmap(scim_driver *d, scim_msg *m, process *p)
{
    scim_os *os = d->os;
    io_dev *io = drv_io_of(d, m->src);
    process *dom = os_find_process(os, io->domain);
    if (!dom) {
        drv_io_finish(d, m, SCIM_RESP_INVALID);
        return;
    }
    const host_io *x = drv_hio(io, m);
    io_queue *fq = &io->queues[x->queue];
    bool deferred = os->p.iommu_map_mode == MAP_DEFERRED;
    uint64_t start = os_page_down(drv_req(m)->addr), n = drv_io_pages(m);
    scim_time_t now = scim_kernel_now(os->k);
    size_t idx = 0;
    sd_op *op = NULL;
    for (uint64_t i = 0; i < n && i < IO_MAX_PAGES; i++) {
        uint64_t va = start + i * OS_PAGE_SIZE;
        uint64_t pfn = x->frames[i];
        if (!drv_unmap_last(d, io, va)) {
            os_unpin_frame(os, pfn); /* another request still maps it */
            continue;
        }
        if (deferred)
            op = batch_of(d, io);
        else if (!op)
            op = os_new_op(os, io->domain, m, strict_done, d, &idx);
        if (!op)
            return;
        os_unmap_pte(os, dom, op, va, os_frame_pa(pfn), OS_PAGE_SHIFT);
        page_ref *pr = os_op_add_page(os, op, va, OS_PAGE_SIZE, pfn);
        if (!pr)
            return;
        pr->unmapped_at = now;
        if (deferred && d->exposure)
            scim_exposure_add(d->exposure, io->domain, 1);
    }
    os->st.io_unmaps += n;
    if (deferred) {
        /* one flush-queue entry per unmap call (an IOVA range), whatever
         * its pages; the unmap that fills its context's queue flushes the
         * whole domain and waits for it (dma-iommu's queue_iova: fq_full,
         * then a synchronous flush_iotlb_all) */
        if (op && ++fq->flush_queued >= os->p.flush_entries) {
            os->ops[io->batch].req = m;
            flush_batch(d, io);
            return;
        }
        drv_io_finish(d, m, SCIM_RESP_OK);
        return;
    }
    if (!op) {
        drv_io_finish(d, m, SCIM_RESP_OK);
        return;
    }
    os->st.io_flushes++;
    os_start_shootdown(os, idx);
}

/* ---------- binding ---------- */

/* The device translates in its I/O address space. */
static uint32_t space(void *ctx, uint32_t pasid) { return ((const io_dev *)ctx)->domain; }

/* Deferred mode: a DMA while an unmapped page of the domain may still sit
 * in an IOTLB could have used a stale translation. */
static bool exposed(void *ctx, uint32_t domain)
{
    const io_dev *io = ctx;
    return io->drv->exposure && scim_exposure_active(io->drv->exposure, domain);
}

static const scim_dev_driver_ops map_device_ops = {.space = space, .request_begin = drv_dev_begin,
                                                   .request_end = drv_dev_end, .doorbell = drv_dev_doorbell,
                                                   .os_done = drv_dev_os_done, .exposed = exposed,
                                                   .busy = drv_dev_busy};

/* A static region's page (already pinned): mapped read-write for good
 * (rings are read and written by the device), with a reference no
 * per-I/O unmap drops. */
static int map_static(io_dev *io, uint64_t va, uint64_t pfn, scim_err *err)
{
    scim_driver *d = io->drv;
    process *dom = os_find_process(d->os, io->domain);
    uint64_t *count = scim_u64map_upsert(&d->mapped, map_key(io->domain, os_vpn(va)), 0);
    if (!count)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    if ((*count)++ == 0)
        return scim_pgtable_map(dom->pt, va, os_frame_pa(pfn), OS_PAGE_SHIFT, SCIM_PTA_USER | SCIM_PTA_WRITE,
                                err);
    return 0;
}

int scim_driver_bind_map_device(scim_driver *d, scim_device *dev, uint32_t domain, uint64_t slots, scim_err *err)
{
    char name[48];
    snprintf(name, sizeof name, "iommu-map domain %u", domain - SCIM_DOMAIN_PASID_BASE);
    int rc = scim_os_add_process(d->os, name, domain, MAP_DOMAIN_LEVELS, err);
    if (rc)
        return rc;
    if (!d->exposure && !(d->exposure = scim_exposure_create()))
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    io_dev *io = drv_io_add(d, dev, slots, &map_device_ops, err);
    if (!io)
        return SCIM_ENOMEM;
    io->domain = domain;
    /* Linux's DMA domains keep their table pages too; freeing them would
     * need a paging-structure-cache flush per unmap, which deferred mode
     * exists to avoid. */
    scim_pgtable_keep_empty_tables(os_find_process(d->os, domain)->pt, true);
    return drv_setup_statics(d, io, map_static, err);
}

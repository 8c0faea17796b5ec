/* The driver's side of an I/O: one context per device that handles the
 * device's requests one at a time, in arrival order (one submission and
 * completion context: a strict unmap's wait delays the next I/O, as it
 * does on a real core); preparing a buffer by faulting its pages in and
 * pinning each for the request; and the registration on the OS. */
#include "driver/driver_internal.h"

#include <stdlib.h>
#include <string.h>

io_ctx *drv_io_of(const scim_driver *d, scim_node_id dev)
{
    for (size_t i = 0; i < d->n_io; i++)
        if (d->io[i]->dev == dev)
            return d->io[i];
    return NULL;
}

uint64_t drv_io_pages(const scim_msg *m)
{
    return os_vpn(drv_req(m)->addr + drv_req(m)->len + OS_PAGE_MASK) - os_vpn(drv_req(m)->addr);
}

uint64_t *drv_io_frames(const io_ctx *io, const scim_msg *m)
{
    return io->frames + (drv_req(m)->slot % io->slots) * IO_MAX_PAGES;
}

static uint32_t *progress(const io_ctx *io, const scim_msg *m) { return &io->progress[drv_req(m)->slot % io->slots]; }

static void io_start_next(scim_driver *d, io_ctx *io);

void drv_io_finish(scim_driver *d, scim_msg *m, int32_t status)
{
    io_ctx *io = drv_io_of(d, m->src);
    os_reply(d->os, m, status);
    if (io) {
        io->busy = false;
        io_start_next(d, io);
    }
}

static void reply_event(void *ctx, uint64_t arg) { drv_io_finish(ctx, (scim_msg *)(uintptr_t)arg, SCIM_RESP_OK); }

void drv_io_reply_after(scim_driver *d, scim_msg *m, scim_time_t cost)
{
    os_spend(d->os, cost, reply_event, d, (uint64_t)(uintptr_t)m);
}

/* ---------- preparing a buffer (IO_PIN, IO_MAP) ---------- */

/* Undo the per-request pins of the pages prepared so far, and refuse. */
static void refuse(scim_driver *d, scim_msg *m)
{
    io_ctx *io = drv_io_of(d, m->src);
    for (uint64_t i = 0; io && i < *progress(io, m); i++)
        os_unpin_frame(d->os, drv_io_frames(io, m)[i]);
    drv_io_finish(d, m, SCIM_RESP_INVALID);
}

static void prepare(scim_driver *d, scim_msg *m);

/* The faulting-in of one page of a buffer has finished. */
static void page_faulted(void *ctx, scim_msg *m, int32_t status)
{
    if (status == SCIM_RESP_OK)
        prepare(ctx, m);
    else
        refuse(ctx, m);
}

/* Bring every page of the buffer in (a CPU fault for each missing one,
 * as get_user_pages takes), pinning each for the request; then register
 * (pin) or map (iommu-map) the lot. */
static void prepare(scim_driver *d, scim_msg *m)
{
    scim_os *os = d->os;
    process *p = os_find_process(os, drv_req(m)->pasid);
    io_ctx *io = drv_io_of(d, m->src);
    uint64_t n = drv_io_pages(m);
    if (!p || !io || n > IO_MAX_PAGES || drv_req(m)->slot >= io->slots) {
        refuse(d, m);
        return;
    }
    bool write = drv_req(m)->write;
    uint64_t start = os_page_down(drv_req(m)->addr);
    for (uint64_t i = *progress(io, m); i < n; i++) {
        uint64_t va = start + i * OS_PAGE_SIZE, pa;
        unsigned attrs;
        if (scim_pgtable_lookup(p->pt, va, &pa, NULL, &attrs) != 1 || !(attrs & SCIM_PTA_USER) ||
            (write && !(attrs & SCIM_PTA_WRITE))) {
            os_fault_in(os, m, va, write, page_faulted, d);
            return;
        }
        if (!os_pin_frame(os, os_pfn(pa)))
            return;
        drv_io_frames(io, m)[i] = os_pfn(pa);
        /* get_user_pages marks the page accessed (and dirty for a write),
         * so reclaim sees I/O pages as used */
        scim_pgtable_update(p->pt, va, SCIM_PTA_ACCESSED | (write ? SCIM_PTA_DIRTY : 0), 0, NULL);
        *progress(io, m) = (uint32_t)(i + 1);
    }
    if (drv_req(m)->op == SCIM_OS_IO_PIN)
        drv_pin_pages(d, m, p, io);
    else
        drv_map_pages(d, m, p, io);
}

/* ---------- the queue ---------- */

static void exec(void *ctx, uint64_t arg)
{
    scim_driver *d = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    process *p = os_find_process(d->os, drv_req(m)->pasid);
    if (!p) {
        /* as it always was: answered, but the context stays busy */
        os_reply(d->os, m, SCIM_RESP_INVALID);
        return;
    }
    io_ctx *io = drv_io_of(d, m->src);
    switch (drv_req(m)->op) {
    case SCIM_OS_IO_PIN:
    case SCIM_OS_IO_MAP:
        if (io && drv_req(m)->slot < io->slots)
            *progress(io, m) = 0;
        prepare(d, m);
        return;
    case SCIM_OS_IO_UNPIN:
        drv_unpin(d, m, p);
        return;
    case SCIM_OS_IO_UNMAP:
        drv_unmap(d, m, p);
        return;
    default:
        os_reply(d->os, m, SCIM_RESP_INVALID);
    }
}

static void io_start_next(scim_driver *d, io_ctx *io)
{
    scim_os *os = d->os;
    scim_msg *m;
    if (io->busy || !scim_fifo_pop(&io->queue, &m))
        return;
    io->busy = true;
    process *p = os_find_process(os, drv_req(m)->pasid);
    /* The driver is entered by a system call at submission; the release
     * runs in the completion path, already in the kernel. */
    uint64_t n = drv_io_pages(m);
    scim_time_t cost = os->p.syscall_cost;
    scim_os_op op = drv_req(m)->op;
    if (op == SCIM_OS_IO_UNPIN)
        cost = os->p.pin_cache_pages ? 0 : n * os->p.unpin_page_cost;
    else if (op == SCIM_OS_IO_UNMAP)
        cost = n * os->p.iommu_unmap_page_cost;
    else if (op == SCIM_OS_IO_PIN && os->p.pin_cache_pages && p && drv_pin_all_registered(d, m, p))
        cost = 0; /* a registration-cache hit stays in user space */
    m->arrived = scim_kernel_now(os->k); /* op.latency counts from here: the driver takes it up */
    os_spend(os, cost, exec, d, (uint64_t)(uintptr_t)m);
}

static void submit(void *ctx, scim_msg *m)
{
    scim_driver *d = ctx;
    io_ctx *io = drv_io_of(d, m->src);
    if (!io) {
        os_reply(d->os, m, SCIM_RESP_INVALID); /* not a device bound to scheme pin or iommu-map */
        return;
    }
    if (!scim_fifo_push(&io->queue, &m)) {
        scim_kernel_fail(d->os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    io_start_next(d, io);
}

/* ---------- life cycle ---------- */

static const scim_os_io_driver io_driver_ops = {.submit = submit};

scim_driver *scim_driver_create(scim_os *os, scim_err *err)
{
    scim_driver *d = calloc(1, sizeof *d);
    if (!d) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the driver");
    } else {
        d->os = os;
        drv_reg_init(&d->reg);
        scim_u64map_init(&d->mapped);
        scim_os_set_io_driver(os, &io_driver_ops, d);
    }
    return d;
}

void scim_driver_destroy(scim_driver *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_io; i++) {
        scim_fifo_free(&d->io[i]->queue);
        free(d->io[i]->frames);
        free(d->io[i]->progress);
        free(d->io[i]->prepared);
        free(d->io[i]);
    }
    free(d->io);
    scim_exposure_destroy(d->exposure);
    drv_reg_free(&d->reg);
    scim_u64map_free(&d->mapped);
    free(d);
}

io_ctx *drv_io_add(scim_driver *d, scim_device *dev, uint64_t slots, const scim_dev_driver_ops *ops, scim_err *err)
{
    io_ctx **n = realloc(d->io, (d->n_io + 1) * sizeof *n);
    if (n)
        d->io = n;
    io_ctx *io = calloc(1, sizeof *io);
    if (io) {
        io->frames = calloc(slots * IO_MAX_PAGES, sizeof *io->frames);
        io->progress = calloc(slots, sizeof *io->progress);
        io->prepared = calloc(slots, sizeof *io->prepared);
    }
    if (!n || !io || !io->frames || !io->progress || !io->prepared) {
        if (io) {
            free(io->frames);
            free(io->progress);
            free(io->prepared);
            free(io);
        }
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    io->index = d->n_io;
    d->io[d->n_io++] = io;
    io->drv = d;
    io->device = dev;
    io->dev = scim_device_node(dev);
    scim_fifo_init(&io->queue, sizeof(scim_msg *));
    io->slots = slots;
    scim_device_set_driver(dev, ops, io);
    return io;
}

/* ---------- the device side ---------- */

bool drv_dev_begin(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid)
{
    io_ctx *io = ctx;
    scim_device_os_call(io->device, io->pin ? SCIM_OS_IO_PIN : SCIM_OS_IO_MAP, req, rec, pasid);
    return false; /* held until the host side answers */
}

void drv_dev_end(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error)
{
    io_ctx *io = ctx;
    if (!io->prepared[req])
        return; /* the host could not prepare it: nothing to release */
    io->prepared[req] = false;
    io->releasing++;
    scim_device_os_call(io->device, io->pin ? SCIM_OS_IO_UNPIN : SCIM_OS_IO_UNMAP, req, rec, pasid);
}

void drv_dev_os_done(void *ctx, scim_os_op op, uint32_t slot, int32_t status)
{
    io_ctx *io = ctx;
    bool error = status != SCIM_RESP_OK;
    if (op == SCIM_OS_IO_PIN || op == SCIM_OS_IO_MAP) {
        io->prepared[slot] = !error;
        scim_device_request_ready(io->device, slot, error);
        return;
    }
    io->releasing--;
    if (error)
        scim_device_fail(io->device, "the driver failed to release a request");
}

bool drv_dev_busy(const void *ctx) { return ((const io_ctx *)ctx)->releasing != 0; }

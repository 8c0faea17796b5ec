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
        if (d->io[i].dev == dev)
            return &d->io[i];
    return NULL;
}

uint64_t drv_io_pages(const scim_msg *m) { return os_vpn(m->addr + m->len + OS_PAGE_MASK) - os_vpn(m->addr); }

uint64_t *drv_io_frames(const io_ctx *io, const scim_msg *m)
{
    return io->frames + (m->tag % io->slots) * IO_MAX_PAGES;
}

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
    for (uint64_t i = 0; io && i < drv_io_progress(m); i++)
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
    process *p = os_find_process(os, m->pasid);
    io_ctx *io = drv_io_of(d, m->src);
    uint64_t n = drv_io_pages(m);
    if (!p || !io || n > IO_MAX_PAGES || m->tag >= io->slots) {
        refuse(d, m);
        return;
    }
    bool write = drv_io_write(m);
    uint64_t start = os_page_down(m->addr);
    for (uint64_t i = drv_io_progress(m); i < n; i++) {
        uint64_t va = start + i * OS_PAGE_SIZE, pa, pte;
        if (scim_pgtable_lookup(p->pt, va, &pa, NULL, &pte) != 1 || !(pte & SCIM_PTE_US) ||
            (write && !(pte & SCIM_PTE_RW))) {
            os_fault_in(os, m, va, write, page_faulted, d);
            return;
        }
        if (!os_pin_frame(os, os_pfn(pa)))
            return;
        drv_io_frames(io, m)[i] = os_pfn(pa);
        /* get_user_pages marks the page accessed (and dirty for a write),
         * so reclaim sees I/O pages as used */
        scim_pgtable_update(p->pt, va, SCIM_PTE_A | (write ? SCIM_PTE_D : 0), 0, NULL);
        m->data = (m->data & IO_WRITE) | (i + 1);
    }
    if (m->flags == SCIM_OS_OP_IO_PIN)
        drv_pin_pages(d, m, p, io);
    else
        drv_map_pages(d, m, p, io);
}

/* ---------- the queue ---------- */

static void exec(void *ctx, uint64_t arg)
{
    scim_driver *d = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    process *p = os_find_process(d->os, m->pasid);
    if (!p) {
        /* as it always was: answered, but the context stays busy */
        os_reply(d->os, m, SCIM_RESP_INVALID);
        return;
    }
    switch (m->flags) {
    case SCIM_OS_OP_IO_PIN:
    case SCIM_OS_OP_IO_MAP:
        prepare(d, m);
        return;
    case SCIM_OS_OP_IO_UNPIN:
        drv_unpin(d, m, p);
        return;
    case SCIM_OS_OP_IO_UNMAP:
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
    process *p = os_find_process(os, m->pasid);
    /* The driver is entered by a system call at submission; the release
     * runs in the completion path, already in the kernel. */
    uint64_t n = drv_io_pages(m);
    scim_time_t cost = os->p.syscall_cost;
    if (m->flags == SCIM_OS_OP_IO_UNPIN)
        cost = os->p.pin_cache_pages ? 0 : n * os->p.unpin_page_cost;
    else if (m->flags == SCIM_OS_OP_IO_UNMAP)
        cost = n * os->p.iommu_unmap_page_cost;
    else if (m->flags == SCIM_OS_OP_IO_PIN && os->p.pin_cache_pages && p && drv_pin_all_registered(d, m, p))
        cost = 0; /* a registration-cache hit stays in user space */
    m->sent_at = scim_kernel_now(os->k);
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
        scim_fifo_free(&d->io[i].queue);
        free(d->io[i].frames);
    }
    free(d->io);
    drv_reg_free(&d->reg);
    scim_u64map_free(&d->mapped);
    free(d);
}

io_ctx *drv_io_add(scim_driver *d, scim_node_id dev, uint64_t slots, scim_err *err)
{
    io_ctx *n = realloc(d->io, (d->n_io + 1) * sizeof *n);
    uint64_t *frames = calloc(slots * IO_MAX_PAGES, sizeof *frames);
    if (!n || !frames) {
        free(frames);
        if (n)
            d->io = n;
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    d->io = n;
    io_ctx *io = &d->io[d->n_io++];
    memset(io, 0, sizeof *io);
    io->dev = dev;
    scim_fifo_init(&io->queue, sizeof(scim_msg *));
    io->slots = slots;
    io->frames = frames;
    return io;
}

/* The driver's side of an I/O (docs/schemes.md, "The driver model").
 *
 * Posting. A read or write record of a device's trace is one I/O, which
 * the application on the host posts at the record's time: the device's
 * hook (drv_dev_begin) hands it to the host side directly — no message
 * from the device, since the host, not the device, starts an I/O. One of
 * the device's os.driver.queues contexts (request slot mod queues)
 * prepares it; each context takes its operations one at a time, in
 * arrival order, and the contexts work in parallel. When the I/O is
 * prepared the host rings the device's doorbell: one posted message host
 * -> device. A DMA entirely inside a region set up at bind (static_dma:
 * descriptor and completion rings) needs no preparation: it starts at once
 * and is never released.
 *
 * Releasing. The device's completion reaches the host: the device sends the
 * release (an OS_REQ IO_UNPIN or IO_UNMAP naming the host's record by the
 * cookie the doorbell gave it), and the context that prepared the I/O
 * releases it (a strict unmap's wait blocks that context, as on a core).
 *
 * Costs (os.busy_ps). A preparation pays os.syscall_cost (the application
 * enters the kernel) plus its per-page work; with a registration cache
 * (pin) it first pays os.pin.lookup_cost in user space, and a hit pays
 * nothing more. A release runs in the completion path, already in the
 * kernel: per-page work only. Preparing faults each missing page in on the
 * CPU (get_user_pages, os.cpu_fault_cost) and pins it for the I/O. */
#include "driver/driver_internal.h"

#include <stdlib.h>
#include <string.h>

/* Bytes of a doorbell on the wire: one 64-bit MMIO write. */
#define DOORBELL_BYTES 8
/* Cookies travel in the low 24 bits of a device's OS request id. */
#define MAX_HOST_IOS (1u << 24)

io_dev *drv_io_of(const scim_driver *d, scim_node_id dev)
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

host_io *drv_hio(const io_dev *io, const scim_msg *m) { return &io->hio[drv_req(m)->slot]; }

/* A free host record (the table grows); -1 if out of host memory. */
static int64_t hio_alloc(io_dev *io)
{
    for (size_t i = 0; i < io->n_hio; i++)
        if (!io->hio[i].used)
            return (int64_t)i;
    size_t n = io->n_hio ? 2 * io->n_hio : io->slots;
    if (n > MAX_HOST_IOS)
        return -1;
    host_io *v = realloc(io->hio, n * sizeof *v);
    if (!v)
        return -1;
    memset(v + io->n_hio, 0, (n - io->n_hio) * sizeof *v);
    io->hio = v;
    int64_t h = (int64_t)io->n_hio;
    io->n_hio = n;
    return h;
}

static void start_next(scim_driver *d, io_dev *io, io_queue *q);

static void enqueue(scim_driver *d, io_dev *io, scim_msg *m)
{
    io_queue *q = &io->queues[drv_hio(io, m)->queue];
    if (!scim_fifo_push(&q->fifo, &m)) {
        scim_kernel_fail(d->os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    start_next(d, io, q);
}

/* The prepared I/O's doorbell: the message that held it becomes the
 * posted write to the device. */
static void ring_doorbell(scim_driver *d, io_dev *io, scim_msg *m, int32_t status)
{
    scim_os *os = d->os;
    uint32_t h = drv_req(m)->slot;
    host_io *x = &io->hio[h];
    bool failed = status != SCIM_RESP_OK;
    if (failed) {
        os->st.ops_errors++;
        x->used = false; /* nothing to release */
    }
    scim_hist_record(os->st.op_latency, scim_kernel_now(os->k) - m->arrived);
    m->type = SCIM_MSG_DOORBELL;
    m->dst = io->dev;
    m->status = SCIM_RESP_OK;
    m->u.doorbell = (scim_doorbell){.slot = x->req, .cookie = h, .failed = failed};
    m->wire_bytes = scim_port_wire(os->port, DOORBELL_BYTES);
    scim_port_post(os->port, m);
}

void drv_io_finish(scim_driver *d, scim_msg *m, int32_t status)
{
    io_dev *io = drv_io_of(d, m->src);
    if (!io) {
        os_reply(d->os, m, SCIM_RESP_INVALID);
        return;
    }
    io_queue *q = &io->queues[drv_hio(io, m)->queue];
    scim_os_op op = drv_req(m)->op;
    if (op == SCIM_OS_IO_PIN || op == SCIM_OS_IO_MAP) {
        ring_doorbell(d, io, m, status);
    } else {
        drv_hio(io, m)->used = false;
        os_reply(d->os, m, status);
    }
    q->busy = false;
    start_next(d, io, q);
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
    io_dev *io = drv_io_of(d, m->src);
    host_io *x = drv_hio(io, m);
    for (uint64_t i = 0; i < x->progress; i++)
        os_unpin_frame(d->os, x->frames[i]);
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

bool drv_page_usable(const process *p, uint64_t va, bool write, uint64_t *pfn)
{
    uint64_t pa;
    unsigned attrs;
    if (scim_pgtable_lookup(p->pt, va, &pa, NULL, &attrs) != 1 || !(attrs & SCIM_PTA_USER) ||
        (write && !(attrs & SCIM_PTA_WRITE)))
        return false;
    *pfn = os_pfn(pa);
    return true;
}

bool drv_pin_for_io(scim_os *os, process *p, uint64_t va, uint64_t pfn, bool write)
{
    if (!os_pin_frame(os, pfn))
        return false;
    /* get_user_pages marks the page accessed (and dirty for a write), so
     * reclaim sees I/O pages as used */
    scim_pgtable_update(p->pt, va, SCIM_PTA_ACCESSED | (write ? SCIM_PTA_DIRTY : 0), 0, NULL);
    return true;
}

/* Bring every page of the buffer in (a CPU fault for each missing one,
 * as get_user_pages takes), pinning each for the request; then register
 * (pin) or map (iommu-map) the lot. */
static void prepare(scim_driver *d, scim_msg *m)
{
    scim_os *os = d->os;
    process *p = os_find_process(os, drv_req(m)->pasid);
    io_dev *io = drv_io_of(d, m->src);
    host_io *x = drv_hio(io, m);
    uint64_t n = drv_io_pages(m);
    if (!p || n > IO_MAX_PAGES) {
        refuse(d, m);
        return;
    }
    bool write = drv_req(m)->write;
    uint64_t start = os_page_down(drv_req(m)->addr);
    for (uint64_t i = x->progress; i < n; i++) {
        uint64_t va = start + i * OS_PAGE_SIZE, pfn;
        if (!drv_page_usable(p, va, write, &pfn)) {
            os_fault_in(os, m, va, write, page_faulted, d);
            return;
        }
        if (!drv_pin_for_io(os, p, va, pfn, write))
            return;
        x->frames[i] = pfn;
        x->progress = (uint32_t)(i + 1);
    }
    if (drv_req(m)->op == SCIM_OS_IO_PIN)
        drv_pin_pages(d, m, p, io);
    else
        drv_map_pages(d, m, p, io);
}

/* ---------- the contexts ---------- */

static void exec(void *ctx, uint64_t arg)
{
    scim_driver *d = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    process *p = os_find_process(d->os, drv_req(m)->pasid);
    if (!p) {
        if (drv_req(m)->op == SCIM_OS_IO_PIN || drv_req(m)->op == SCIM_OS_IO_MAP)
            refuse(d, m);
        else
            drv_io_finish(d, m, SCIM_RESP_INVALID);
        return;
    }
    switch (drv_req(m)->op) {
    case SCIM_OS_IO_PIN:
    case SCIM_OS_IO_MAP:
        prepare(d, m);
        return;
    case SCIM_OS_IO_UNPIN:
        drv_unpin(d, m, p);
        return;
    default:
        drv_unmap(d, m, p);
        return;
    }
}

/* The CPU time an operation costs before it runs. */
static scim_time_t entry_cost(const scim_driver *d, const scim_msg *m)
{
    const scim_os *os = d->os;
    uint64_t n = drv_io_pages(m);
    bool cache = os->p.pin_cache_pages != 0;
    switch (drv_req(m)->op) {
    case SCIM_OS_IO_UNPIN:
        return cache ? 0 : n * os->p.unpin_page_cost;
    case SCIM_OS_IO_UNMAP:
        return n * os->p.iommu_unmap_page_cost + os->p.iova_free_cost + os_hyp_map_exit_cost(os, drv_req(m)->pasid);
    case SCIM_OS_IO_PIN: {
        if (!cache)
            return os->p.syscall_cost;
        /* the registration cache is looked up in user space; a hit stays there */
        const process *p = os_find_process(os, drv_req(m)->pasid);
        bool hit = p && drv_pin_all_registered(d, m, p);
        return os->p.pin_lookup_cost + (hit ? 0 : os->p.syscall_cost);
    }
    default:
        return os->p.syscall_cost;
    }
}

static void start_next(scim_driver *d, io_dev *io, io_queue *q)
{
    scim_msg *m;
    if (q->busy || !scim_fifo_pop(&q->fifo, &m))
        return;
    q->busy = true;
    m->arrived = scim_kernel_now(d->os->k); /* op.latency counts from here: the context takes it up */
    os_spend(d->os, entry_cost(d, m), exec, d, (uint64_t)(uintptr_t)m);
}

/* The application posts an I/O of the device's request slot `req`: the
 * host's record, the message that carries it through the context (it
 * becomes the doorbell), and the context's queue. */
static void post(io_dev *io, uint32_t req, const scim_trace_rec *rec, uint32_t pasid)
{
    scim_driver *d = io->drv;
    scim_os *os = d->os;
    int64_t h = hio_alloc(io);
    scim_msg *m = h < 0 ? NULL : os_msg(os, SCIM_MSG_OS_REQ, scim_os_node(os));
    if (!m) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory posting an I/O");
        return;
    }
    host_io *x = &io->hio[h];
    *x = (host_io){.used = true, .req = req, .queue = (uint32_t)(req % io->n_queues)};
    m->src = io->dev; /* the device's I/O: its context is found by the device */
    m->u.os = (scim_os_req){.op = io->pin ? SCIM_OS_IO_PIN : SCIM_OS_IO_MAP, .pasid = pasid, .addr = rec->addr,
                            .len = rec->size, .write = rec->op == SCIM_OP_WRITE, .slot = (uint32_t)h};
    enqueue(d, io, m);
}

/* A release from a device (the OS hands the driver every IO_* request). */
static void submit(void *ctx, scim_msg *m)
{
    scim_driver *d = ctx;
    io_dev *io = drv_io_of(d, m->src);
    scim_os_op op = drv_req(m)->op;
    if (!io || (op != SCIM_OS_IO_UNPIN && op != SCIM_OS_IO_UNMAP) || drv_req(m)->slot >= io->n_hio ||
        !drv_hio(io, m)->used) {
        os_reply(d->os, m, SCIM_RESP_INVALID); /* not a release of an I/O this driver prepared */
        return;
    }
    enqueue(d, io, m);
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

static void io_free(io_dev *io)
{
    if (!io)
        return;
    for (size_t q = 0; io->queues && q < io->n_queues; q++)
        scim_fifo_free(&io->queues[q].fifo);
    free(io->queues);
    free(io->hio);
    free(io->statics);
    scim_u64map_free(&io->static_pfn);
    free(io->prepared);
    free(io->cookie);
    free(io->warm_batch);
    free(io);
}

void scim_driver_destroy(scim_driver *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_io; i++)
        io_free(d->io[i]);
    free(d->io);
    scim_exposure_destroy(d->exposure);
    drv_reg_free(&d->reg);
    scim_u64map_free(&d->mapped);
    free(d);
}

io_dev *drv_io_add(scim_driver *d, scim_device *dev, uint64_t slots, const scim_dev_driver_ops *ops, scim_err *err)
{
    io_dev **n = realloc(d->io, (d->n_io + 1) * sizeof *n);
    if (n)
        d->io = n;
    io_dev *io = calloc(1, sizeof *io);
    size_t queues = d->os->p.driver_queues ? d->os->p.driver_queues : 1;
    if (io) {
        scim_u64map_init(&io->static_pfn);
        io->queues = calloc(queues, sizeof *io->queues);
        io->prepared = calloc(slots, sizeof *io->prepared);
        io->cookie = calloc(slots, sizeof *io->cookie);
    }
    if (!n || !io || !io->queues || !io->prepared || !io->cookie) {
        io_free(io);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    io->n_queues = queues;
    for (size_t q = 0; q < queues; q++)
        scim_fifo_init(&io->queues[q].fifo, sizeof(scim_msg *));
    io->index = d->n_io;
    d->io[d->n_io++] = io;
    io->drv = d;
    io->device = dev;
    io->dev = scim_device_node(dev);
    io->pasid = (uint32_t)scim_device_params_of(dev)->pasid;
    io->slots = slots;
    scim_device_set_driver(dev, ops, io);
    return io;
}

int drv_setup_statics(scim_driver *d, io_dev *io, int (*setup)(io_dev *io, uint64_t va, uint64_t pfn, scim_err *err),
                      scim_err *err)
{
    scim_os *os = d->os;
    const process *p = os_find_process(os, io->pasid);
    if (!p || !p->n_static_dma)
        return 0;
    if (!(io->statics = calloc(p->n_static_dma, sizeof *io->statics)))
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    for (size_t r = 0; r < p->n_static_dma; r++) {
        static_range sr = {p->static_dma[r].start, p->static_dma[r].end};
        io->statics[io->n_statics++] = sr;
        for (uint64_t va = sr.start; va < sr.end; va += OS_PAGE_SIZE) {
            uint64_t pa;
            if (scim_pgtable_lookup(p->pt, va, &pa, NULL, NULL) != 1)
                return scim_err_set(err, SCIM_EINVAL,
                                    "static_dma region [0x%llx, 0x%llx) of pasid %u: page 0x%llx is not present "
                                    "(give the region populate: true)",
                                    (unsigned long long)sr.start, (unsigned long long)sr.end, io->pasid,
                                    (unsigned long long)va);
            /* pinned for as long as the device is bound, as a ring's pages are */
            if (!os_pin_frame(os, os_pfn(pa)))
                return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
            int rc = setup(io, va, os_pfn(pa), err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---------- the device side ---------- */

bool drv_in_static(const io_dev *io, uint32_t pasid, uint64_t addr, uint64_t len)
{
    if (pasid != io->pasid)
        return false;
    for (size_t i = 0; i < io->n_statics; i++)
        if (addr >= io->statics[i].start && addr + len <= io->statics[i].end)
            return true;
    return false;
}

bool drv_dev_begin(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid)
{
    io_dev *io = ctx;
    io->prepared[req] = false;
    if (drv_in_static(io, pasid, rec->addr, rec->size)) {
        io->drv->os->st.io_static++;
        return true; /* set up at bind: nothing to prepare or release */
    }
    /* the application on the host posts the I/O */
    post(io, req, rec, pasid);
    return false; /* held until the doorbell */
}

void drv_dev_doorbell(void *ctx, uint32_t req, uint32_t cookie, bool failed)
{
    io_dev *io = ctx;
    io->prepared[req] = !failed;
    io->cookie[req] = cookie;
    scim_device_request_ready(io->device, req, failed);
}

void drv_dev_end(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error)
{
    io_dev *io = ctx;
    if (!io->prepared[req])
        return; /* static, or the host could not prepare it: nothing to release */
    io->prepared[req] = false;
    io->releasing++;
    scim_device_os_call(io->device, io->pin ? SCIM_OS_IO_UNPIN : SCIM_OS_IO_UNMAP, io->cookie[req], rec, pasid);
}

void drv_dev_os_done(void *ctx, scim_os_op op, uint32_t slot, int32_t status)
{
    io_dev *io = ctx;
    io->releasing--;
    if (status != SCIM_RESP_OK)
        scim_device_fail(io->device, "the driver failed to release a request");
}

bool drv_dev_busy(const void *ctx) { return ((const io_dev *)ctx)->releasing != 0; }

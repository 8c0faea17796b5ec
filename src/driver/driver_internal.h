/* Private to src/driver/: the driver's state and the functions its files
 * share (named drv_*).
 *   io.c         the per-device I/O contexts and their queues, faulting a
 *                buffer in, the OS registration
 *   pin.c        scheme pin: registration cache, descriptor lists
 *   iommu_map.c  scheme iommu-map: map and unmap in the device's I/O
 *                address space, strict or deferred invalidation */
#ifndef SCIM_DRIVER_INTERNAL_H
#define SCIM_DRIVER_INTERNAL_H

#include "driver/driver.h"

#include "core/fifo.h"
#include "core/u64map.h"
#include "driver/exposure.h"
#include "os/os_internal.h"

/* One 4 KiB descriptor list per request: at most this many pages. */
#define IO_MAX_PAGES (OS_PAGE_SIZE / OS_PTE_BYTES)

/* The I/O request of an OS_REQ (core/proto.h): the device's request
 * slot, the buffer, and the DMA direction (write: the device writes it). */
static inline const scim_os_req *drv_req(const scim_msg *m) { return &m->u.os; }

/* os.iommu_map.mode */
enum iommu_map_mode { MAP_STRICT = 0, MAP_DEFERRED = 1 };

/* A device's driver context: the host side (the queue of its I/O
 * operations) and the device side (its hooks around each request). */
typedef struct io_ctx {
    struct scim_driver *drv;
    size_t index;         /* in the driver's contexts */
    scim_device *device;
    scim_node_id dev;
    bool has_batch;       /* iommu-map deferred: a flush batch is collecting pages */
    size_t batch;         /* its op */
    uint64_t generation;  /* of the batch, for its timer */
    bool busy;            /* the driver works on one I/O operation at a time */
    scim_fifo queue;      /* of scim_msg *: operations waiting for it, in arrival order */
    bool pin;             /* scheme pin (else iommu-map) */
    uint64_t desc_base;   /* pin: descriptor lists, 4 KiB per request slot */
    uint32_t domain;      /* iommu-map: the I/O address space */
    uint64_t slots;       /* request slots of the device */
    uint64_t *frames;     /* per slot, the frames its I/O pinned (IO_MAX_PAGES each) */
    uint32_t *progress;   /* per slot, pages of its buffer prepared so far */
    /* device side */
    bool *prepared;       /* per slot: the OS prepared the request */
    uint64_t releasing;   /* releases sent and not yet answered */
} io_ctx;

/* The registration cache (scheme pin): registered pages in LRU order. */
typedef struct reg_entry {
    uint32_t pasid;
    uint64_t vpn, pfn;
    int64_t prev, next;
} reg_entry;

typedef struct reg_cache {
    reg_entry *e;
    size_t n, cap;
    int64_t head, tail, free_list; /* head: most recent */
    scim_u64map index;             /* reg_key(pasid, vpn) -> entry */
} reg_cache;

struct scim_driver {
    scim_os *os;
    io_ctx **io;
    size_t n_io;
    reg_cache reg;
    scim_u64map mapped;      /* iommu-map: map_key(domain, vpn) -> requests that map it */
    scim_exposure *exposure; /* iommu-map deferred: unmapped pages not yet invalidated */
};

/* ---------- io.c ---------- */

io_ctx *drv_io_of(const scim_driver *d, scim_node_id dev);
/* A context for device `dev` with its device-side hooks `ops`. */
io_ctx *drv_io_add(scim_driver *d, scim_device *dev, uint64_t slots, const scim_dev_driver_ops *ops, scim_err *err);
/* The device-side hooks every scheme shares (a request is prepared before
 * its first chunk and released after its last). */
bool drv_dev_begin(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid);
void drv_dev_end(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error);
void drv_dev_os_done(void *ctx, scim_os_op op, uint32_t slot, int32_t status);
bool drv_dev_busy(const void *ctx);
/* Pages of the request's buffer. */
uint64_t drv_io_pages(const scim_msg *m);
/* The frames request m pinned, in page order. */
uint64_t *drv_io_frames(const io_ctx *io, const scim_msg *m);
/* An I/O operation is answered: the device's context takes the next one. */
void drv_io_finish(scim_driver *d, scim_msg *m, int32_t status);
/* Answer an I/O operation after `cost` of driver time. */
void drv_io_reply_after(scim_driver *d, scim_msg *m, scim_time_t cost);

/* ---------- pin.c ---------- */

void drv_reg_init(reg_cache *c);
void drv_reg_free(reg_cache *c);
bool drv_pin_all_registered(const scim_driver *d, const scim_msg *m, const process *p);
void drv_pin_pages(scim_driver *d, scim_msg *m, process *p, io_ctx *io);
void drv_unpin(scim_driver *d, scim_msg *m, process *p);

/* ---------- iommu_map.c ---------- */

void drv_map_pages(scim_driver *d, scim_msg *m, process *p, io_ctx *io);
void drv_unmap(scim_driver *d, scim_msg *m, process *p);

#endif

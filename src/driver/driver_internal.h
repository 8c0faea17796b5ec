/* Private to src/driver/: the driver's state and the functions its files
 * share (named drv_*).
 *   io.c         the per-device contexts (os.driver.queues) and their
 *                queues, posting an I/O from the host and the doorbell,
 *                faulting a buffer in, the device-side hooks, the OS
 *                registration
 *   pin.c        scheme pin: registration cache, descriptor lists, the
 *                static regions' addresses
 *   iommu_map.c  scheme iommu-map: map and unmap in the device's I/O
 *                address space, strict or deferred invalidation (the
 *                flush queue)
 *   warm.c       functional warm-up (sim.warmup) of scheme pin's I/Os */
#ifndef SCIM_DRIVER_INTERNAL_H
#define SCIM_DRIVER_INTERNAL_H

#include "driver/driver.h"

#include "core/fifo.h"
#include "core/u64map.h"
#include "driver/exposure.h"
#include "os/os_internal.h"

/* One 4 KiB descriptor list per request: at most this many pages. */
#define IO_MAX_PAGES (OS_PAGE_SIZE / OS_PTE_BYTES)

/* The I/O of an OS_REQ (core/proto.h): the host's record of it (slot: a
 * host_io index, the cookie), the buffer, and the DMA direction (write:
 * the device writes it). */
static inline const scim_os_req *drv_req(const scim_msg *m) { return &m->u.os; }

/* os.iommu_map.mode */
enum iommu_map_mode { MAP_STRICT = 0, MAP_DEFERRED = 1 };

/* The host's record of one I/O, from its posting to its release: which
 * request slot of the device it is, the context it runs on, and the frames
 * it pinned. Its index is the cookie the doorbell gives the device and the
 * device's release names. */
typedef struct host_io {
    bool used;
    uint32_t req;        /* the device's request slot */
    uint32_t queue;      /* its driver context: req mod os.driver.queues */
    uint32_t progress;   /* pages of its buffer prepared so far */
    uint64_t frames[IO_MAX_PAGES];
} host_io;

/* A driver context (a queue and the CPU that serves it): it prepares and
 * releases its I/Os one at a time, in arrival order. */
typedef struct io_queue {
    bool busy;
    scim_fifo fifo;      /* of scim_msg *: operations waiting for it */
    uint64_t flush_queued; /* iommu-map deferred: entries (unmap calls) in its flush queue */
} io_queue;

/* A region set up once at bind (os: processes.<p>.regions[].static_dma). */
typedef struct static_range {
    uint64_t start, end;
} static_range;

/* The driver's state for one device: the host side (contexts, host
 * records, set-up regions) and the device side (its hooks around each
 * request). */
typedef struct io_dev {
    struct scim_driver *drv;
    size_t index;         /* in the driver's devices */
    scim_device *device;
    scim_node_id dev;
    uint32_t pasid;       /* the process the device works for */
    bool pin;             /* scheme pin (else iommu-map) */
    uint64_t desc_base;   /* pin: descriptor lists, 4 KiB per request slot */
    uint32_t domain;      /* iommu-map: the I/O address space */
    uint64_t slots;       /* request slots of the device */
    io_queue *queues;
    size_t n_queues;
    host_io *hio;         /* the host's records, indexed by cookie */
    size_t n_hio;
    static_range *statics;
    size_t n_statics;
    scim_u64map static_pfn; /* pin: vpn -> pfn of the static regions' pages */
    /* iommu-map deferred: the flush batch collecting every context's pages */
    bool has_batch;
    size_t batch;         /* its op */
    uint64_t generation;  /* of the batch, for its timer */
    /* warm-up (warm.c), iommu-map deferred: the flush batch's frames (kept
     * pinned until it is flushed) and when its first page was queued */
    uint64_t *warm_batch;
    size_t n_warm_batch, cap_warm_batch;
    scim_time_t warm_batch_at;
    uint64_t warm_ios;    /* I/Os warmed: the next one's driver context */
    /* device side */
    bool *prepared;       /* per slot: the host prepared the request (a release is due) */
    uint32_t *cookie;     /* per slot: the host's record of it, from the doorbell */
    uint64_t releasing;   /* releases sent and not yet answered */
} io_dev;

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

/* The I/O the warm-up has begun and not yet released (warm.c). */
typedef struct warm_io {
    io_dev *io;           /* NULL: none */
    uint32_t pasid;
    uint64_t start, n;    /* its pages */
    bool write;
    uint64_t frames[IO_MAX_PAGES];
} warm_io;

struct scim_driver {
    scim_os *os;
    warm_io warm;
    io_dev **io;
    size_t n_io;
    reg_cache reg;
    scim_u64map mapped;      /* iommu-map: map_key(domain, vpn) -> requests that map it */
    scim_exposure *exposure; /* iommu-map deferred: unmapped pages not yet invalidated */
};

/* ---------- io.c ---------- */

/* The DMA lies entirely inside a region set up at bind. */
bool drv_in_static(const io_dev *io, uint32_t pasid, uint64_t addr, uint64_t len);
/* The page at va, if an I/O may use it (present, user, writable for a
 * device write): its frame in *pfn. */
bool drv_page_usable(const process *p, uint64_t va, bool write, uint64_t *pfn);
/* Pin the page's frame for one I/O and mark it as get_user_pages does;
 * false if out of host memory (the run stops). */
bool drv_pin_for_io(scim_os *os, process *p, uint64_t va, uint64_t pfn, bool write);

io_dev *drv_io_of(const scim_driver *d, scim_node_id dev);
/* The driver's state for device `dev` with its device-side hooks `ops`,
 * and the regions of its process set up once (pin and map below). */
io_dev *drv_io_add(scim_driver *d, scim_device *dev, uint64_t slots, const scim_dev_driver_ops *ops, scim_err *err);
/* Record the static regions of the device's process and set each page up
 * with setup(io, va, pfn) (pin or map); 0 or an error. */
int drv_setup_statics(scim_driver *d, io_dev *io, int (*setup)(io_dev *io, uint64_t va, uint64_t pfn, scim_err *err),
                      scim_err *err);
/* The device-side hooks every scheme shares. */
bool drv_dev_begin(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid);
void drv_dev_end(void *ctx, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error);
void drv_dev_doorbell(void *ctx, uint32_t req, uint32_t cookie, bool failed);
void drv_dev_os_done(void *ctx, scim_os_op op, uint32_t slot, int32_t status);
bool drv_dev_busy(const void *ctx);
/* Pages of the I/O's buffer. */
uint64_t drv_io_pages(const scim_msg *m);
/* The host's record of I/O m. */
host_io *drv_hio(const io_dev *io, const scim_msg *m);
/* An I/O operation is over: a preparation rings the device's doorbell, a
 * release answers the device; the context takes its next operation. */
void drv_io_finish(scim_driver *d, scim_msg *m, int32_t status);
/* Finish an I/O operation after `cost` of driver time. */
void drv_io_reply_after(scim_driver *d, scim_msg *m, scim_time_t cost);

/* ---------- pin.c ---------- */

void drv_reg_init(reg_cache *c);
void drv_reg_free(reg_cache *c);
bool drv_pin_all_registered(const scim_driver *d, const scim_msg *m, const process *p);
void drv_pin_pages(scim_driver *d, scim_msg *m, process *p, io_dev *io);
/* Register one page of an I/O (pinned for the I/O already): a hit (*hit)
 * refreshes it; a miss pins it for the cache and inserts it, unpinning
 * the least recent pages past os.pin.cache_pages (*evicted counts them).
 * false if out of host memory (the run stops). */
bool drv_reg_page(scim_os *os, reg_cache *c, uint32_t pasid, uint64_t vpn, uint64_t pfn, bool *hit,
                  uint64_t *evicted);
void drv_unpin(scim_driver *d, scim_msg *m, process *p);

/* ---------- iommu_map.c ---------- */

/* Map one page of an I/O at IOVA = va in io's domain. A page another
 * request already maps keeps its entry (a count), made writable if this
 * request's device writes it: with IOVA = va the two requests share one
 * entry, which must allow what either does (Linux gives each dma_map its
 * own IOVA and rights). 0, or an error (out of host memory or frames). */
int drv_map_page(scim_driver *d, const io_dev *io, process *dom, uint64_t va, uint64_t pfn, bool write,
                 scim_err *err);
/* Drop one request's reference to IOVA va: true if it was the last (the
 * entry must go). */
bool drv_unmap_last(scim_driver *d, const io_dev *io, uint64_t va);

void drv_map_pages(scim_driver *d, scim_msg *m, process *p, io_dev *io);
void drv_unmap(scim_driver *d, scim_msg *m, process *p);

#endif

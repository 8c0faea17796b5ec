/* scimitar host API: drive a simulation from a program while it runs.
 *
 * A device with `source: host` in its configuration takes its DMAs from
 * the program instead of a trace file. The program submits requests, runs
 * the simulation (scim_sim_run_until, or its own sc_start() in a SystemC
 * platform), and is told through callbacks when a request completes (with
 * the physical address of every page and the latency), when the device
 * raises an I/O page fault and when it is resolved, and when an
 * invalidation (a shootdown) reaches the device. The program may also ask
 * the simulated OS for mmap, munmap, mprotect, migrate, reclaim, pin and
 * unpin; they go through the OS model with their costs and shootdowns.
 *
 *     scim_dev *nic = scim_sim_device(sim, "nic0");
 *     scim_dev_callbacks cb = {.completion = on_done};
 *     scim_dev_set_callbacks(nic, &cb, &my_state);
 *     scim_dev_submit(nic, SCIM_DEV_WRITE, 0x10000000, 1500, 42);
 *     scim_sim_run_until(sim, scim_sim_now(sim) + SCIM_US(10));
 *
 * Callbacks run inside the simulation (an event is executing): they may
 * submit further requests and OS calls (taken in a later event, never
 * during the call) and read statistics, but must not run, finish or
 * destroy the simulation. docs/embedding.md walks through a full program.
 */
#ifndef SCIMITAR_HOST_H
#define SCIMITAR_HOST_H

#include "scimitar/scimitar.h"
#include "scimitar/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_dev scim_dev; /* a device of a built simulation (opaque) */

/* The device named `name` (devices.<name> in the configuration) of a
 * built simulation; NULL if there is none (the message is in
 * scim_sim_errmsg). The handle lives as long as the simulation. */
SCIM_API scim_dev *scim_sim_device(scim_sim *sim, const char *name);
SCIM_API const char *scim_dev_name(const scim_dev *dev);
/* The device's own address space (devices.<name>.pasid); 0 for NULL. */
SCIM_API uint32_t scim_dev_pasid(const scim_dev *dev);
/* True when the device has nothing queued or in flight. */
SCIM_API bool scim_dev_idle(const scim_dev *dev);

typedef enum scim_dev_op {
    SCIM_DEV_READ = 0,            /* a DMA read: translated, then memory is read */
    SCIM_DEV_WRITE = 1,           /* a DMA write */
    SCIM_DEV_TRANSLATE_READ = 2,  /* translate only, for a read the program does itself (TLM adapter) */
    SCIM_DEV_TRANSLATE_WRITE = 3  /* translate only, for a write */
} scim_dev_op;

typedef struct scim_dev_request {
    scim_dev_op op;
    uint32_t pasid;    /* 0: the device's own (devices.<name>.pasid); else one of its tenants */
    uint64_t va;       /* virtual address in that address space */
    uint64_t size;     /* bytes, at least 1; split at 4 KiB boundaries like a trace's DMA */
    uint64_t tag;      /* the program's, returned in the callbacks */
    scim_time_t at;    /* when it is submitted (ps); earlier than now, or than the previous request: then */
} scim_dev_request;

/* Queue a request on a device with source: host. Requests are issued in
 * submission order as slots (max_outstanding) free up, exactly as a
 * trace's records. Returns 0, or SCIM_EINVAL (bad request, or a device
 * that replays a trace), SCIM_ESTATE (not built, or finished). */
SCIM_API int scim_dev_submit(scim_dev *dev, scim_dev_op op, uint64_t va, uint64_t size, uint64_t user_tag);
SCIM_API int scim_dev_submit_request(scim_dev *dev, const scim_dev_request *req);

typedef struct scim_dev_completion {
    uint64_t tag;
    int status;                 /* SCIM_OK, or SCIM_ENOENT: some page could not be mapped (outside
                                   every region, or protection): the request failed */
    scim_dev_op op;
    uint32_t pasid;
    uint64_t va, size;
    scim_time_t submitted;      /* when it was eligible (at) */
    scim_time_t issued;         /* when its first page was issued (waiting for a slot before) */
    scim_time_t completed;      /* now */
    scim_time_t latency;        /* completed - submitted */
    size_t n_pages;             /* page-sized pieces */
    const uint64_t *pa;         /* physical address of each piece (0 if it failed); valid during the call */
} scim_dev_completion;

typedef struct scim_dev_fault {
    bool resolved;              /* false: raised (page request group sent); true: its response arrived */
    uint64_t tag;               /* raised: the request that faulted first */
    uint32_t pasid;
    uint64_t va;                /* first page of the group */
    uint32_t pages;             /* pages the group asks for */
    bool write;
    bool ok;                    /* resolved: the pages were mapped */
    scim_time_t time;           /* now */
    scim_time_t latency;        /* resolved: from the page request to its response */
} scim_dev_fault;

typedef enum scim_dev_inv_kind {
    SCIM_DEV_INV_RANGE = 0,     /* [va, va + len) of pasid */
    SCIM_DEV_INV_PASID = 1,     /* every translation of pasid */
    SCIM_DEV_INV_ALL = 2        /* every translation */
} scim_dev_inv_kind;

typedef struct scim_dev_invalidation {
    scim_dev_inv_kind kind;
    uint32_t pasid;
    uint64_t va, len;
    scim_time_t arrived;        /* when the request reached the device */
    scim_time_t completed;      /* now: its completion is sent */
    uint64_t entries;           /* IOTLB and micro-TLB entries it removed */
} scim_dev_invalidation;

typedef struct scim_dev_callbacks {
    void (*completion)(void *ctx, scim_dev *dev, const scim_dev_completion *c);
    void (*fault)(void *ctx, scim_dev *dev, const scim_dev_fault *f);
    void (*invalidation)(void *ctx, scim_dev *dev, const scim_dev_invalidation *inv);
} scim_dev_callbacks;

/* Callbacks of any device (trace-driven devices report their records'
 * completions too, with the trace line as tag). NULL members are not
 * called; cb NULL removes them. Never changes a statistic. */
SCIM_API int scim_dev_set_callbacks(scim_dev *dev, const scim_dev_callbacks *cb, void *ctx);

/* ---- OS operations from the program ---- */

typedef struct scim_os_call {
    scim_trace_op op;   /* SCIM_OP_MMAP, MUNMAP, MPROTECT, MIGRATE, RECLAIM, PIN or UNPIN */
    uint32_t pasid;     /* the process */
    uint64_t va, len;   /* the range (widened to whole pages) */
    unsigned prot;      /* mmap, mprotect: SCIM_PROT_NONE, SCIM_PROT_R or SCIM_PROT_RW (mmap: 0 = RW) */
    bool populate;      /* mmap: map every page now */
    unsigned page_shift;/* mmap: 12, 21 or 30 (0: 12) */
    scim_time_t at;     /* when the process makes the call (ps); earlier than now: now */
    uint64_t tag;
} scim_os_call;

/* status: SCIM_OK, or SCIM_EINVAL when the OS refused (bad range,
 * overlap, part of a large page, ...), as a trace's operation. */
typedef void (*scim_os_done_fn)(void *ctx, uint64_t tag, int status, scim_time_t submitted,
                                scim_time_t completed);

/* Queue an OS call; done (may be NULL) runs when the OS answers, after
 * every shootdown the call needed has completed. Returns 0, or
 * SCIM_EINVAL / SCIM_ENOENT (no such process) / SCIM_ESTATE. */
SCIM_API int scim_sim_os_call(scim_sim *sim, const scim_os_call *call, scim_os_done_fn done, void *ctx);

#ifdef __cplusplus
}
#endif
#endif

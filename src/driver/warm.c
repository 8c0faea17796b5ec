/* Functional warm-up (sim.warmup) of scheme pin: one I/O's preparation,
 * registration and release at once, as io.c's prepare (each page faulted
 * in on the CPU if it may not be used, pinned for the I/O, marked
 * accessed and, for a device write, dirty), pin.c's drv_pin_pages (the
 * registration cache) and drv_unpin (the I/O's own pins dropped) leave
 * them, with nothing else in flight. What it leaves is the OS's pages and
 * frames, the accessed/dirty bits reclaim reads, and the registration
 * cache with its pins; no descriptor list is written (the detailed run
 * writes each before the device reads it) and no statistic counted. */
#include "driver/driver_internal.h"

/* Faults one page may take before the I/O fails: a page its own fault's
 * reclaim evicted is faulted in again (as src/sim/warm.c bounds it). */
#define WARM_FAULT_TRIES 4

/* The page at va, if the I/O may use it: its frame. */
static bool usable(const process *p, uint64_t va, bool write, uint64_t *pfn)
{
    uint64_t pa;
    unsigned attrs;
    if (scim_pgtable_lookup(p->pt, va, &pa, NULL, &attrs) != 1 || !(attrs & SCIM_PTA_USER) ||
        (write && !(attrs & SCIM_PTA_WRITE)))
        return false;
    *pfn = os_pfn(pa);
    return true;
}

static void unpin_all(scim_os *os, const uint64_t *frames, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        os_unpin_frame(os, frames[i]);
}

int scim_driver_warm_io(scim_driver *d, scim_device *dev, const scim_trace_rec *rec, uint32_t pasid,
                        uint64_t *faults, bool *failed, scim_err *err)
{
    *faults = 0;
    *failed = false;
    io_dev *io = drv_io_of(d, scim_device_node(dev));
    if (!io || drv_in_static(io, pasid, rec->addr, rec->size))
        return 0; /* set up at bind: nothing to prepare */
    if (!io->pin)
        return scim_err_set(err, SCIM_EINVAL,
                            "sim.warmup: scheme iommu-map's per-I/O mapping is not warmed up yet; set sim.warmup: 0");
    scim_os *os = d->os;
    process *p = os_find_process(os, pasid);
    uint64_t start = os_page_down(rec->addr), n = os_vpn(rec->addr + rec->size + OS_PAGE_MASK) - os_vpn(rec->addr);
    if (!p || n > IO_MAX_PAGES) {
        *failed = true;
        return 0;
    }
    bool write = rec->op == SCIM_OP_WRITE;
    uint64_t frames[IO_MAX_PAGES];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t va = start + i * OS_PAGE_SIZE, pfn;
        for (int tries = 0; !usable(p, va, write, &pfn); tries++) {
            int rc = tries < WARM_FAULT_TRIES ? scim_os_warm_fault(os, pasid, va, write, err) : SCIM_RESP_INVALID;
            if (rc) {
                unpin_all(os, frames, i); /* io.c refuse() */
                *failed = rc == SCIM_RESP_INVALID;
                return *failed ? 0 : rc;
            }
            (*faults)++;
        }
        if (!os_pin_frame(os, pfn)) {
            unpin_all(os, frames, i);
            return scim_err_set(err, SCIM_ENOMEM, "sim.warmup: out of host memory pinning a page");
        }
        frames[i] = pfn;
        scim_pgtable_update(p->pt, va, SCIM_PTA_ACCESSED | (write ? SCIM_PTA_DIRTY : 0), 0, NULL);
    }
    if (os->p.pin_cache_pages) {
        uint64_t evicted = 0;
        for (uint64_t i = 0; i < n; i++) {
            bool hit;
            if (!drv_reg_page(os, &d->reg, pasid, os_vpn(start) + i, frames[i], &hit, &evicted)) {
                unpin_all(os, frames, n);
                return scim_err_set(err, SCIM_ENOMEM, "sim.warmup: out of host memory registering a page");
            }
        }
    }
    unpin_all(os, frames, n); /* the release: drv_unpin */
    return 0;
}

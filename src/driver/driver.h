/* The host driver of the pin and iommu-map schemes (docs/schemes.md).
 *
 * The driver hooks into each request of a device under these schemes
 * (device/device.h, scim_dev_driver_ops). A read or write is an I/O the
 * application on the host posts at the record's time: the device-side hook
 * hands it to the host side directly, one of the device's os.driver.queues
 * contexts prepares it, and the host rings the device's doorbell (a posted
 * message). The device's completion comes back as a release message
 * (IO_UNPIN or IO_UNMAP). Preparing faults the buffer in on the CPU
 * (get_user_pages), pins each page for the I/O, then
 *   - pin: registers the pages (os.pin.cache_pages: a registration cache,
 *     looked up in user space for os.pin.lookup_cost) and writes the
 *     request's descriptor list of physical addresses;
 *   - iommu-map: maps IOVA = va in the device's own I/O address space, and
 *     at release unmaps with an invalidation that is waited for (strict)
 *     or queued in the flush queue of the context (deferred; the stale
 *     window is measured).
 * Regions marked static_dma (rings) are pinned or mapped once at bind;
 * DMAs inside them need no per-I/O work.
 *
 * The driver sits above the OS: it registers itself on the OS (which hands
 * it the releases) and uses the OS's frames, pins, page tables and
 * shootdown rounds through os/os_internal.h. Its parameters and
 * statistics are the OS's (os.driver.*, os.pin.*, os.iommu_map.*, os.io.*).
 */
#ifndef SCIM_DRIVER_H
#define SCIM_DRIVER_H

#include "device/device.h"
#include "os/os.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_driver scim_driver;

/* Create the driver and register it on os. */
scim_driver *scim_driver_create(scim_os *os, scim_err *err);
/* Does not touch the OS: destroy it before or after. */
void scim_driver_destroy(scim_driver *d);
/* Scheme pin: set aside the device's descriptor lists, `slots` requests
 * of up to 512 pages each, pin the static regions of its process, and hook
 * the driver into its requests (the device reads physical addresses from
 * the lists instead of translating). */
int scim_driver_bind_pin_device(scim_driver *d, scim_device *dev, uint64_t slots, scim_err *err);
/* Scheme iommu-map: create the device's I/O address space (a page table
 * published in the PASID table as `domain`), map the static regions of its
 * process, and hook the driver into its requests (the device translates in
 * the domain; a DMA issued while an unmapped page of the domain may still
 * be cached counts as exposed). */
int scim_driver_bind_map_device(scim_driver *d, scim_device *dev, uint32_t domain, uint64_t slots, scim_err *err);

/* Functional warm-up (sim.warmup) of the pin and iommu-map schemes, one
 * device I/O (a read or write record) at a time (src/driver/warm.c):
 * begin prepares it as the driver would (pages faulted in on the CPU, as
 * scim_os_warm_fault, pinned and marked accessed/dirty; pin: registered;
 * iommu-map: mapped in the device's domain) and says in *space the PASID
 * the device translates its DMA in (iommu-map: the domain; pin: 0, none);
 * `now` is the record's issue time, the clock of deferred flush timers.
 * *faults: pages faulted in; *failed: the I/O would fail (nothing left
 * pinned, no end due). end releases the I/O begun (pin: its pins;
 * iommu-map: unmapped, strict: invalidated at once through the OS's
 * warm-up invalidation callback; deferred: queued for a flush). finish
 * flushes what is queued (the warm-up's end). 0, or an error
 * (scim_os_warm_fault's; SCIM_ENOMEM; SCIM_ESTATE without the callback). */
int scim_driver_warm_begin(scim_driver *d, scim_device *dev, const scim_trace_rec *rec, uint32_t pasid,
                           scim_time_t now, uint32_t *space, uint64_t *faults, bool *failed, scim_err *err);
int scim_driver_warm_end(scim_driver *d, scim_err *err);
int scim_driver_warm_finish(scim_driver *d, scim_err *err);

#ifdef __cplusplus
}
#endif
#endif

/* The translation schemes users compare (the top-level `scheme` key), as
 * one ops table each (docs/schemes.md):
 *   scimitar   shared CPU/IO page tables, no pinning, I/O page faults; a
 *              device is bound to its PASID (and its tenants) and takes
 *              part in their shootdowns;
 *   pin        the driver pins each buffer and hands the device physical
 *              addresses (descriptor lists); the device never translates;
 *   iommu-map  the driver maps each buffer in a per-device I/O address
 *              space (IOVA = va) and unmaps it after, with strict or
 *              deferred invalidation.
 * The builder (src/sim/) asks the scheme what a configuration may say and
 * lets it bind each device; nothing else branches on the scheme. */
#ifndef SCIM_DRIVER_SCHEME_H
#define SCIM_DRIVER_SCHEME_H

#include <stdio.h>

#include "device/device.h"
#include "iommu/iommu.h"
#include "os/os.h"

/* What a scheme works with while binding devices. */
typedef struct scim_scheme_ctx {
    scim_os *os;
    scim_iommu *iommu;
    void *state;        /* the scheme's own (scim_scheme.create) */
} scim_scheme_ctx;

typedef struct scim_scheme {
    const char *name;
    /* Shared state of the scheme (the driver), or NULL if none. */
    int (*create)(scim_scheme_ctx *c, scim_err *err);
    void (*destroy)(void *state);
    /* May a process use this PASID? (iommu-map keeps a range for its
     * I/O address spaces.) 0, or an error with what to do in why. */
    int (*check_pasid)(uint32_t pasid, char *why, size_t len);
    /* Does a device's configuration make sense under the scheme? */
    int (*check_device)(const scim_device_params *p, char *why, size_t len);
    /* Bind device `index` once the processes exist: the address spaces it
     * caches translations of (the IOMMU and the OS send it invalidations),
     * and what its driver sets up. */
    int (*bind_device)(scim_scheme_ctx *c, scim_device *d, size_t index, scim_err *err);
    /* Functional warm-up (sim.warmup) when the scheme's driver does an
     * I/O's work (scim_driver_warm_begin, _end, _finish); NULL when the
     * device translates for itself (src/sim/warm.c warms its caches). */
    int (*warm_begin)(void *state, scim_device *d, const scim_trace_rec *rec, uint32_t pasid, scim_time_t now,
                      uint32_t *space, uint64_t *faults, bool *failed, scim_err *err);
    int (*warm_end)(void *state, scim_err *err);
    int (*warm_finish)(void *state, scim_err *err);
    /* Its lines of the run summary. */
    void (*summary)(FILE *out, const scim_stats *stats, const scim_os_params *os, double time_ps, size_t n_devs,
                    const char *const *dev_names);
} scim_scheme;

/* NULL-terminated names, in scheme order (the enum of the `scheme` key). */
extern const char *const scim_scheme_names[];
const scim_scheme *scim_scheme_get(int index);

#endif

/* The three schemes as ops tables. Role in driver/scheme.h. */
#include "driver/scheme.h"

#include <stdio.h>

#include "core/page.h"
#include "driver/driver.h"
#include "iommu/ctxfmt.h"

const char *const scim_scheme_names[] = {"scimitar", "pin", "iommu-map", NULL};

static double stat(const scim_stats *stats, const char *name)
{
    double v = 0;
    scim_stats_lookup(stats, name, &v);
    return v;
}


/* Every device of these schemes gets its requests' slots: one per
 * in-flight request, and one for the request being prepared. */
static uint64_t request_slots(const scim_device *d) { return scim_device_params_of(d)->max_outstanding + 1; }

/* Bind the device in `space` (and its tenants): the IOMMU forwards
 * invalidations of it, the OS's shootdowns reach it. A device without an
 * ATC (ats: false) caches no translation: it is bound to nothing, and the
 * IOMMU's own invalidation is all an unmap waits for; the OS still writes
 * its context (SMMUv3 STE, RISC-V device context), which the IOMMU reads
 * to translate its DMAs inline. */
static int bind_space(scim_scheme_ctx *c, scim_device *d, uint32_t space, scim_err *err)
{
    scim_node_id node = scim_device_node(d);
    if (!scim_device_params_of(d)->ats)
        return scim_os_attach_device(c->os, node, err);
    int rc = scim_iommu_bind_device(c->iommu, node, space, err);
    if (!rc)
        rc = scim_os_bind_device(c->os, node, space, err);
    return rc;
}

/* ---- scimitar ---- */

static int sva_check_pasid(uint32_t pasid, char *why, size_t len) { return 0; }
/* Tenants: a device's own walker and a shadow copy follow one page table. */
static int check_tenants(const scim_device_params *p, bool allowed, char *why, size_t len)
{
    if (!p->tenants_node || (allowed && (p->walk == SCIM_WALK_IOMMU || p->walk == SCIM_WALK_SOFTWARE)))
        return 0;
    snprintf(why, len,
             "tenants: a device serves several address spaces only under scheme scimitar with walk iommu or software "
             "(its own walker and a shadow copy follow one page table)");
    return SCIM_ECONFIG;
}

/* ats: false: the IOMMU translates each DMA inline and stalls it on a
 * missing page; what only a device with an ATC does makes no sense. */
static int check_inline(const scim_device_params *p, char *why, size_t len)
{
    const char *bad = NULL;
    if (p->ats)
        return 0;
    if (p->walk != SCIM_WALK_IOMMU)
        bad = "walk: a device without an ATC has every DMA translated inline by the IOMMU; expected walk: iommu";
    else if (p->fault_policy != SCIM_FAULT_STALL)
        bad = "fault_policy: a device without an ATC never sees a fault (the IOMMU stalls its DMA and asks the OS); "
              "expected fault_policy: stall";
    else if (p->prefault)
        bad = "prefault: a device without an ATC sends no page requests (the IOMMU asks for the faulting page); "
              "expected prefault: 0";
    else if (p->prefetch)
        bad = "iotlb: a device without an ATC has no IOTLB to prefetch into; expected iotlb.prefetch: 0";
    else if (p->utlb.entries)
        bad = "utlb: a device without an ATC has no micro-TLB; expected utlb.entries: 0";
    if (!bad)
        return 0;
    snprintf(why, len, "%s (ats: false)", bad);
    return SCIM_ECONFIG;
}

static int sva_check_device(const scim_device_params *p, char *why, size_t len)
{
    return check_tenants(p, true, why, len) ? SCIM_ECONFIG : check_inline(p, why, len);
}

typedef struct shadow_load {
    scim_device *d;
    int rc; /* the first failure: an entry missing from the copy would make the device's walks fault */
} shadow_load;

static void load_shadow(void *ctx, uint64_t entry_pa, uint64_t value)
{
    shadow_load *l = ctx;
    if (!l->rc)
        l->rc = scim_device_shadow_load(l->d, entry_pa, value);
}

static int sva_bind(scim_scheme_ctx *c, scim_device *d, size_t index, scim_err *err)
{
    const scim_device_params *p = scim_device_params_of(d);
    uint32_t pasid = (uint32_t)p->pasid;
    int rc = bind_space(c, d, pasid, err);
    for (size_t t = 0; !rc && t < p->n_tenants; t++)
        rc = bind_space(c, d, p->tenants[t], err);
    if (rc)
        return rc;
    if (p->walk == SCIM_WALK_SHADOW) {
        if ((rc = scim_os_bind_shadow(c->os, scim_device_node(d), pasid, err)))
            return rc;
        shadow_load l = {d, 0};
        scim_os_shadow_snapshot(c->os, pasid, load_shadow, &l);
        if (l.rc)
            return scim_err_set(err, l.rc, "devices.%s: out of host memory copying its page tables (walk: shadow)",
                                scim_device_name(d));
    }
    if (p->fault_policy == SCIM_FAULT_BACKUP) {
        uint64_t pa;
        scim_err e = {0};
        if (scim_os_alloc_backup(c->os, p->backup_slots * SCIM_PAGE_SIZE, &pa, &e) != 0)
            return scim_err_set(err, e.code, "devices.%s.backup_slots: cannot set aside the backup buffer: %s",
                                scim_device_name(d), e.msg);
        scim_device_set_backup(d, pa);
    }
    return 0;
}

/* ---- pin and iommu-map: a driver per device ---- */

static int driver_create(scim_scheme_ctx *c, scim_err *err)
{
    c->state = scim_driver_create(c->os, err);
    return c->state ? 0 : SCIM_ENOMEM;
}

static void driver_destroy(void *state) { scim_driver_destroy(state); }

/* The device never translates: ats makes no difference. */
static int pin_check_device(const scim_device_params *p, char *why, size_t len)
{
    return check_tenants(p, false, why, len);
}

static int pin_bind(scim_scheme_ctx *c, scim_device *d, size_t index, scim_err *err)
{
    /* the device never translates: it takes no part in shootdowns */
    scim_err e = {0};
    if (scim_driver_bind_pin_device(c->state, d, request_slots(d), &e) != 0)
        return scim_err_set(err, e.code, "devices.%s: cannot set aside the descriptor lists of scheme pin: %s",
                            scim_device_name(d), e.msg);
    return 0;
}

static void pin_summary(FILE *out, const scim_stats *stats, const scim_os_params *os, double t, size_t n,
                        const char *const *names)
{
    fprintf(out, "  driver (pin): %.0f pages pinned, %.0f registration-cache hits, %.0f unpinned; pinned peak %.0f "
                 "KiB, time-average %.1f KiB\n",
            stat(stats, "os.io.pins"), stat(stats, "os.io.pin_cache_hits"), stat(stats, "os.io.unpins"),
            stat(stats, "os.frames.pinned_peak") * 4, t > 0 ? stat(stats, "os.frames.pinned_integral") / t * 4 : 0.0);
}

static int map_check_pasid(uint32_t pasid, char *why, size_t len)
{
    if (pasid < SCIM_DOMAIN_PASID_BASE)
        return 0;
    snprintf(why, len,
             "scheme iommu-map keeps PASIDs 0x%x and up for the devices' I/O address spaces; use a PASID below %u",
             SCIM_DOMAIN_PASID_BASE, SCIM_DOMAIN_PASID_BASE);
    return SCIM_ECONFIG;
}

static int map_check_device(const scim_device_params *p, char *why, size_t len)
{
    if (check_tenants(p, false, why, len))
        return SCIM_ECONFIG;
    if (p->walk == SCIM_WALK_IOMMU)
        return check_inline(p, why, len);
    snprintf(why, len, "walk: scheme iommu-map translates through the IOMMU's I/O page tables; expected walk: iommu");
    return SCIM_ECONFIG;
}

static int map_bind(scim_scheme_ctx *c, scim_device *d, size_t index, scim_err *err)
{
    uint32_t domain = SCIM_DOMAIN_PASID_BASE + (uint32_t)index;
    int rc = bind_space(c, d, domain, err);
    if (rc)
        return rc;
    scim_err e = {0};
    if (scim_driver_bind_map_device(c->state, d, domain, request_slots(d), &e) != 0)
        return scim_err_set(err, e.code, "devices.%s: cannot create the I/O address space of scheme iommu-map: %s",
                            scim_device_name(d), e.msg);
    return 0;
}

static void map_summary(FILE *out, const scim_stats *stats, const scim_os_params *os, double t, size_t n,
                        const char *const *names)
{
    double exposed = 0;
    char name[96], a[32], b[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s.exposed_dmas", names[i]);
        exposed += stat(stats, name);
    }
    scim_fmt_time(stat(stats, "os.io.stale_window.mean"), a, sizeof a);
    scim_fmt_time(stat(stats, "os.io.stale_window.max"), b, sizeof b);
    fprintf(out, "  driver (iommu-map, %s): %.0f pages mapped, %.0f unmapped, %.0f IOTLB flushes; stale window "
                 "mean %s, max %s; %.0f DMAs exposed\n",
            os->iommu_map_mode ? "deferred" : "strict", stat(stats, "os.io.maps"), stat(stats, "os.io.unmaps"),
            stat(stats, "os.io.flushes"), a, b, exposed);
}

static int driver_warm_begin(void *state, scim_device *d, const scim_trace_rec *rec, uint32_t pasid,
                             scim_time_t now, uint32_t *space, uint64_t *faults, bool *failed, scim_err *err)
{
    return scim_driver_warm_begin(state, d, rec, pasid, now, space, faults, failed, err);
}

static int driver_warm_end(void *state, scim_err *err) { return scim_driver_warm_end(state, err); }
static int driver_warm_finish(void *state, scim_err *err) { return scim_driver_warm_finish(state, err); }

static const scim_scheme schemes[] = {
    {.name = "scimitar", .check_pasid = sva_check_pasid, .check_device = sva_check_device, .bind_device = sva_bind},
    {.name = "pin", .create = driver_create, .destroy = driver_destroy, .check_pasid = sva_check_pasid,
     .check_device = pin_check_device, .bind_device = pin_bind, .warm_begin = driver_warm_begin,
     .warm_end = driver_warm_end, .warm_finish = driver_warm_finish, .summary = pin_summary},
    {.name = "iommu-map", .create = driver_create, .destroy = driver_destroy, .check_pasid = map_check_pasid,
     .check_device = map_check_device, .bind_device = map_bind, .warm_begin = driver_warm_begin,
     .warm_end = driver_warm_end, .warm_finish = driver_warm_finish, .summary = map_summary},
};

const scim_scheme *scim_scheme_get(int index)
{
    return index >= 0 && index < (int)SCIM_COUNT_OF(schemes) ? &schemes[index] : &schemes[0];
}

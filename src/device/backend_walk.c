/* Translation backend of walk placements device and shadow: the device's
 * own walker (mmu/walker.h) reads the real tables across the fabric
 * (device) or its synchronized copy in device-local memory (shadow; the
 * walker's reads go to the copy's port, shadow.c). A walk that finds the
 * walker's queue full waits in the device until a walk completes. */
#include "device/device_internal.h"

static void walk(scim_device *d, int32_t xi)
{
    const xlat *x = &d->xlats[xi];
    if (!scim_walker_walk(d->walker, x->pasid, x->page << SCIM_PAGE_SHIFT, x->write, d->root, d->fmt,
                          (uint64_t)xi)) {
        int32_t held = xi;
        if (!scim_fifo_push(&d->walk_blocked, &held))
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory holding walks");
    }
}

void scim_dev_walk_done(void *owner, uint64_t cookie, const scim_walk_result *r)
{
    scim_device *d = owner;
    int32_t held;
    while (scim_fifo_len(&d->walk_blocked) && scim_walker_can_accept(d->walker) &&
           scim_fifo_pop(&d->walk_blocked, &held))
        walk(d, held);
    scim_dev_xlat_result(d, (int32_t)cookie, scim_dev_walk_status(r), r->page_pa, r->shift, r->perms);
}

const xlat_backend scim_dev_backend_walker = {.name = "walker", .request = walk, .prefetches = true};

/* A function level reset (PCIe FLR) the OS issues after one of the
 * device's invalidation completions timed out: the device flushes every
 * translation it caches (IOTLB, micro-TLB, walk caches) and fails every
 * DMA from then on — pieces waiting for a translation or a page response
 * fail when the answer comes, new pieces fail at their lookup. Accesses
 * already sent to memory with an old translation finish; the reset is
 * answered after reset_latency and only when none of them is left,
 * because the OS frees the frames the lost invalidation protected on that
 * answer. A reset asked for while one is under way is answered with it. */
#include "device/device_internal.h"

static uint32_t accesses_in_flight(const scim_device *d)
{
    uint32_t n = 0;
    for (uint64_t i = 0; i < d->p.max_outstanding; i++)
        n += d->chunks[i].state == CH_MEM;
    return n;
}

void scim_dev_reset_progress(scim_device *d)
{
    if (!scim_fifo_len(&d->resets) || d->reset_busy || accesses_in_flight(d))
        return;
    scim_msg *m;
    while (scim_fifo_pop(&d->resets, &m))
        scim_port_reply(d->port, m, SCIM_MSG_RESET_DONE, scim_port_wire(d->port, 0), SCIM_RESP_OK);
}

/* The reset's own time is over; it completes when the accesses have drained. */
static void reset_done(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    d->reset_busy = false;
    scim_dev_reset_progress(d);
}

void scim_dev_reset(scim_device *d, scim_msg *m)
{
    if (!scim_fifo_push(&d->resets, &m)) {
        scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    if (scim_fifo_len(&d->resets) > 1)
        return; /* under way */
    d->st.resets++;
    d->st.failed = 1;
    scim_inv_scope all = {.kind = SCIM_INV_GLOBAL};
    scim_tlb_invalidate_scope(d->iotlb, &all);
    scim_tlb_invalidate_scope(d->utlb, &all);
    if (d->walker)
        scim_walker_invalidate(d->walker, &all);
    d->reset_busy = true;
    scim_kernel_schedule(d->k, d->p.reset_latency, SCIM_PRIO_DEFAULT, reset_done, d, 0);
}

/* The device's invalidation queue: requests wait here (at most
 * devices.<name>.inv_queue, the port's input queue) and are processed one
 * at a time, inv_latency each (snoop_latency for a snooped broadcast).
 * Processing removes the scope from the IOTLB, the micro-TLB and the walk
 * caches; the completion leaves only after every access that was sent
 * with a translation in the scope has completed, because the OS frees the
 * frames on our word. */
#include "device/device_internal.h"

static scim_msg *front(const scim_device *d) { return ((inv_entry *)scim_fifo_at(&d->invq, 0))->m; }

static void inv_next(scim_device *d);

static void inv_complete(scim_device *d)
{
    inv_entry e = {0}; /* the queue is not empty here; the compiler cannot know */
    scim_fifo_pop(&d->invq, &e);
    scim_hist_record(d->st.inv_latency, scim_kernel_now(d->k) - e.arrived);
    d->inv_busy = false;
    if (d->ev && d->ev->invalidated)
        d->ev->invalidated(d->ev_ctx, &e.m->u.inv.scope, e.arrived, d->inv_removed);
    if (!e.m->u.inv.broadcast && scim_inject_fire(d->inj, SCIM_INJ_INV_COMPLETION_LOST, d->name)) {
        /* processed, but the completion never reaches the IOMMU */
        d->st.inv_lost++;
        scim_port_lose(d->port, e.m);
    } else {
        scim_port_reply(d->port, e.m, SCIM_MSG_INV_DONE, scim_port_wire(d->port, 0), SCIM_RESP_OK);
    }
    inv_next(d);
}


static void inv_exec(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    const scim_inv_scope *s = &front(d)->u.inv.scope;
    d->inv_removed = scim_tlb_invalidate_scope(d->iotlb, s) + scim_tlb_invalidate_scope(d->utlb, s);
    d->st.inv_entries += d->inv_removed;
    if (d->walker)
        scim_walker_invalidate(d->walker, s);
    d->inv_blocking = 0;
    for (uint64_t i = 0; i < d->p.max_outstanding; i++) {
        chunk *c = &d->chunks[i];
        if (c->state == CH_MEM && scim_inv_covers_page(s, c->space, scim_dev_chunk_of(d, (int32_t)i)->va, c->shift)) {
            c->blocks_inv = true;
            d->inv_blocking++;
        }
    }
    if (d->inv_blocking == 0)
        inv_complete(d);
}

static void inv_next(scim_device *d)
{
    if (d->inv_busy || scim_fifo_len(&d->invq) == 0)
        return;
    d->inv_busy = true;
    d->st.invalidations++;
    scim_time_t cost = front(d)->u.inv.broadcast ? d->p.snoop_latency : d->p.inv_latency;
    scim_kernel_schedule(d->k, cost, SCIM_PRIO_DEFAULT, inv_exec, d, 0);
}

void scim_dev_inv_request(scim_device *d, scim_msg *m)
{
    inv_entry e = {m, scim_kernel_now(d->k)};
    if (!scim_fifo_push(&d->invq, &e)) {
        scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory queueing invalidations");
        return;
    }
    inv_next(d);
}

void scim_dev_inv_access_done(scim_device *d, int32_t ci)
{
    if (--d->inv_blocking == 0)
        inv_complete(d);
}

/* The IOMMU's invalidation queue: descriptors are processed in order,
 * iommu.inv_latency each; a descriptor invalidates the IOTLB and the walk
 * caches (restarting overlapping walks), sends a device-TLB invalidation
 * to every device bound to the PASID (devices with an ATC: a device with
 * ats: false is never bound), and completes — the wait descriptor the OS
 * spins on — when all of them have answered and every inline access in
 * flight that used a removed translation has completed (inline.c). A
 * broadcast invalidation is snooped: applied after snoop_latency, devices
 * snoop it themselves; it too waits for those inline accesses. */
#include "iommu/iommu_internal.h"

void scim_iommu_invalidate_local(scim_iommu *io, const scim_inv_scope *s)
{
    scim_tlb_invalidate_scope(io->iotlb, s);
    if (s->kind == SCIM_INV_GLOBAL)
        scim_tlb_invalidate_all(io->pasid_cache);
    scim_walker_invalidate(io->walker, s);
    /* A PASID of a VM: its stage-2 TLB entries go too (the descriptor may
     * follow a stage-2 change; VT-d's nested invalidation flushes the
     * second-stage entries the walks used). */
    for (size_t i = 0; i < io->n_s2; i++)
        if (s->kind == SCIM_INV_GLOBAL || io->s2[i].pasid == s->pasid)
            scim_walker_invalidate_s2tlb(io->walker, io->s2[i].s2.vmid);
}

/* Track descriptor m until its completions are in: the slot, or
 * SCIM_POOL_NONE (out of host memory: the run stops). */
static uint32_t track(scim_iommu *io, scim_msg *m)
{
    uint32_t slot = scim_pool_alloc(&io->invs);
    if (slot == SCIM_POOL_NONE) {
        scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory tracking invalidations");
        return slot;
    }
    inv_op *op = scim_pool_at(&io->invs, slot);
    op->req = m;
    op->pending = 0;
    return slot;
}

/* Complete the descriptor now if nothing is awaited. */
static void complete_if_done(scim_iommu *io, uint32_t slot)
{
    inv_op *op = scim_pool_at(&io->invs, slot);
    if (op->pending)
        return;
    scim_msg *req = op->req;
    scim_pool_release(&io->invs, slot);
    scim_port_reply(io->port, req, SCIM_MSG_INV_DONE, scim_port_wire(io->port, 0), SCIM_RESP_OK);
}

static void snoop_exec(void *ctx, uint64_t arg)
{
    scim_iommu *io = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    scim_iommu_invalidate_local(io, &m->u.inv.scope);
    uint32_t slot = track(io, m);
    if (slot == SCIM_POOL_NONE)
        return;
    uint32_t drains = scim_iommu_inline_drain(io, &m->u.inv.scope, slot);
    ((inv_op *)scim_pool_at(&io->invs, slot))->pending += drains;
    complete_if_done(io, slot);
}

/* Binding i gets the device invalidation unless an earlier binding of the
 * same device already does (a global scope, or a device bound twice to the
 * PASID): one invalidation per device. */
static bool binding_concerned(const scim_iommu *io, size_t i, const scim_inv_scope *s)
{
    const binding *b = io->bindings;
    if (s->kind != SCIM_INV_GLOBAL && b[i].pasid != s->pasid)
        return false;
    for (size_t j = 0; j < i; j++)
        if (b[j].dev == b[i].dev && (s->kind == SCIM_INV_GLOBAL || b[j].pasid == s->pasid))
            return false;
    return true;
}

static void inv_exec(void *ctx, uint64_t arg)
{
    scim_iommu *io = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    const scim_inv_scope *s = &m->u.inv.scope;
    scim_iommu_invalidate_local(io, s);
    uint32_t slot = track(io, m);
    if (slot == SCIM_POOL_NONE)
        return;
    uint32_t drains = scim_iommu_inline_drain(io, s, slot);
    inv_op *op = scim_pool_at(&io->invs, slot);
    op->pending += drains;
    for (size_t i = 0; i < io->n_bindings; i++) {
        if (!binding_concerned(io, i, s))
            continue;
        scim_msg *d = scim_port_msg(io->port, SCIM_MSG_INV_REQ, io->bindings[i].dev);
        if (!d)
            return;
        d->u.inv = (scim_inv_req){*s, false};
        d->wire_bytes = scim_port_wire(io->port, 8);
        uint32_t di = scim_iommu_dev_inv_start(io, slot, io->bindings[i].dev);
        if (di == SCIM_POOL_NONE) {
            scim_port_free(io->port, d);
            return;
        }
        op = scim_pool_at(&io->invs, slot); /* the pools may have moved */
        op->pending++;
        io->st.dev_invalidations++;
        scim_port_request(io->port, SCIM_PORT_OWNER, di, d);
    }
    complete_if_done(io, slot);
}

void scim_iommu_inv_request(scim_iommu *io, scim_msg *m)
{
    io->st.invalidations++;
    if (m->u.inv.broadcast) {
        scim_kernel_schedule(io->k, io->p.snoop_latency, SCIM_PRIO_DEFAULT, snoop_exec, io, (uint64_t)(uintptr_t)m);
        return;
    }
    scim_time_t now = scim_kernel_now(io->k);
    scim_time_t start = io->inv_busy_until > now ? io->inv_busy_until : now;
    io->inv_busy_until = start + io->p.inv_latency;
    scim_kernel_schedule_at(io->k, io->inv_busy_until, SCIM_PRIO_DEFAULT, inv_exec, io, (uint64_t)(uintptr_t)m);
}

void scim_iommu_inv_one_done(scim_iommu *io, uint32_t slot)
{
    inv_op *op = scim_pool_used(&io->invs, slot) ? scim_pool_at(&io->invs, slot) : NULL;
    if (!op || op->pending == 0) {
        scim_kernel_fail(io->k, SCIM_EINVARIANT, "IOMMU got an unexpected invalidation completion");
        return;
    }
    op->pending--;
    complete_if_done(io, slot);
}

void scim_iommu_inv_done(scim_iommu *io, scim_msg *m)
{
    uint32_t di = (uint32_t)m->tag;
    scim_port_free(io->port, m);
    scim_iommu_dev_inv_done(io, di);
}

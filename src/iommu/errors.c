/* What the IOMMU does when an answer does not come, and the faults the
 * injector asks of it.
 *
 *  - Device-TLB invalidation timeout. Every invalidation sent to a device
 *    for a descriptor is tracked; one not completed iommu.ats.inv_timeout
 *    after it was sent is given up (VT-d: an Invalidation Time-out Error;
 *    SMMUv3: a CMD_SYNC timeout). The IOMMU reports the device to the OS
 *    (DEV_FAIL), which resets it; the descriptor completes only when the
 *    OS answers, so nothing the invalidation protects is freed while the
 *    device could still use a stale translation.
 *  - Phantom page request bursts (inject: prq_burst): descriptors of no
 *    device fill the page request queue at a time; the OS handles each
 *    (an unknown address space: Invalid), and the answers go nowhere. */
#include "core/page.h"
#include "iommu/iommu_internal.h"
#include "iommu/ctxfmt.h"

static void timeout(void *ctx, uint64_t arg)
{
    scim_iommu *io = ctx;
    uint32_t di = (uint32_t)arg, gen = (uint32_t)(arg >> 32);
    if (!scim_pool_used(&io->dev_invs, di))
        return;
    dev_inv *v = scim_pool_at(&io->dev_invs, di);
    if (v->gen != gen || v->failing)
        return; /* answered in time: the entry was reused */
    v->failing = true;
    io->st.inv_timeouts++;
    scim_port_cancel(io->port, SCIM_PORT_OWNER, di, v->dev);
    scim_msg *m = scim_port_msg(io->port, SCIM_MSG_DEV_FAIL, io->os);
    if (!m)
        return;
    m->u.dev_fail = (scim_dev_fail){v->dev};
    m->wire_bytes = scim_port_wire(io->port, 8);
    scim_port_request(io->port, SCIM_PORT_OWNER, di, m);
}

uint32_t scim_iommu_dev_inv_start(scim_iommu *io, uint32_t slot, scim_node_id dev)
{
    uint32_t di = scim_pool_alloc(&io->dev_invs);
    if (di == SCIM_POOL_NONE) {
        scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory tracking device invalidations");
        return di;
    }
    uint32_t gen = ++io->dev_inv_gen;
    *(dev_inv *)scim_pool_at(&io->dev_invs, di) = (dev_inv){slot, dev, gen, false};
    if (io->p.inv_timeout)
        scim_kernel_schedule_timer(io->k, io->p.inv_timeout, SCIM_PRIO_DEFAULT, timeout, io, (uint64_t)gen << 32 | di);
    return di;
}

void scim_iommu_dev_inv_done(scim_iommu *io, uint32_t di)
{
    if (!scim_pool_used(&io->dev_invs, di)) {
        scim_kernel_fail(io->k, SCIM_EINVARIANT, "IOMMU got an unexpected invalidation completion");
        return;
    }
    uint32_t slot = ((dev_inv *)scim_pool_at(&io->dev_invs, di))->slot;
    scim_pool_release(&io->dev_invs, di);
    scim_iommu_inv_one_done(io, slot);
}

uint32_t scim_iommu_dev_invs_outstanding(const scim_iommu *io) { return scim_pool_len(&io->dev_invs); }

/* The OS has reset the device: the descriptor may complete. */
void scim_iommu_dev_fail_done(scim_iommu *io, scim_msg *m)
{
    uint32_t di = (uint32_t)m->tag;
    scim_port_free(io->port, m);
    scim_iommu_dev_inv_done(io, di);
}

/* ---- phantom page request bursts ---- */

static void burst(void *ctx, uint64_t requests)
{
    scim_iommu *io = ctx;
    scim_inject_note(io->inj, SCIM_INJ_PRQ_BURST);
    for (uint64_t i = 0; i < requests; i++) {
        io->st.prq_requests++;
        if (io->prq_used + 1 > io->p.prq_depth) {
            io->st.prq_overflows++;
            continue;
        }
        uint32_t e = scim_pool_alloc(&io->prq);
        scim_msg *fwd = e == SCIM_POOL_NONE ? NULL : scim_port_msg(io->port, SCIM_MSG_PRI_REQ, io->os);
        if (!fwd) {
            scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory for page requests");
            return;
        }
        io->prq_used++;
        io->st.prq_phantoms++;
        if (io->prq_used > io->st.prq_max_occupancy)
            io->st.prq_max_occupancy = io->prq_used;
        ((prq_entry *)scim_pool_at(&io->prq, e))->req = NULL;
        /* a PASID no process has: the OS's handler answers Invalid */
        fwd->u.page = (scim_page_req){.pasid = SCIM_PASID_MAX, .va = i << SCIM_PAGE_SHIFT, .pages = 1};
        fwd->wire_bytes = scim_port_wire(io->port, 0);
        scim_port_request(io->port, SCIM_PORT_OWNER, e, fwd);
    }
}

void scim_iommu_schedule_bursts(scim_iommu *io)
{
    const scim_inject_rule *r[16];
    size_t n = scim_inject_rules(io->inj, SCIM_INJ_PRQ_BURST, r, 16);
    for (size_t i = 0; i < n; i++)
        scim_kernel_schedule_at(io->k, r[i]->at, SCIM_PRIO_DEFAULT, burst, io, r[i]->requests);
}

void scim_iommu_set_injector(scim_iommu *io, scim_inject *inj)
{
    io->inj = inj;
    scim_iommu_schedule_bursts(io);
}

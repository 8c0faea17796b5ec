/* The IOMMU's page request queue (PCIe PRI): a page request group takes
 * one descriptor per page request (page) and goes to the OS while the
 * queue has room for all of it (iommu.prq_depth descriptors); otherwise
 * the IOMMU drops the group and answers Success itself, so the device
 * retries its translations and faults again (VT-d and RISC-V IOMMU
 * behaviour on queue overflow; Linux drops partial groups likewise). */
#include "iommu/iommu_internal.h"

void scim_iommu_prq_request(scim_iommu *io, scim_msg *m)
{
    io->st.prq_requests++;
    uint64_t descs = (uint64_t)m->u.page.pages + m->u.page.prefault;
    if (io->prq_used + descs > io->p.prq_depth) {
        io->st.prq_overflows++;
        m->u.page_resp = (scim_page_resp){.auto_response = true};
        scim_port_reply(io->port, m, SCIM_MSG_PRI_RESP, scim_port_wire(io->port, 0), SCIM_RESP_OK);
        return;
    }
    uint32_t e = scim_pool_alloc(&io->prq);
    scim_msg *fwd = e == SCIM_POOL_NONE ? NULL : scim_port_msg(io->port, SCIM_MSG_PRI_REQ, io->os);
    if (!fwd) {
        scim_kernel_fail(io->k, SCIM_ENOMEM, "out of host memory for page requests");
        scim_port_free(io->port, m);
        return;
    }
    io->prq_used += descs;
    if (io->prq_used > io->st.prq_max_occupancy)
        io->st.prq_max_occupancy = io->prq_used;
    ((prq_entry *)scim_pool_at(&io->prq, e))->req = m;
    fwd->u.page = m->u.page;
    fwd->wire_bytes = m->wire_bytes;
    scim_port_request(io->port, SCIM_PORT_OWNER, e, fwd);
}

/* The OS answered the group: answer the device. */
void scim_iommu_prq_response(scim_iommu *io, scim_msg *r)
{
    uint32_t e = (uint32_t)r->tag;
    scim_msg *m = ((prq_entry *)scim_pool_at(&io->prq, e))->req;
    scim_pool_release(&io->prq, e);
    int32_t status = r->status;
    uint32_t wire = r->wire_bytes;
    scim_port_free(io->port, r);
    if (!m) {
        io->prq_used--; /* a phantom of an injected burst: nobody waits */
        return;
    }
    io->prq_used -= (uint64_t)m->u.page.pages + m->u.page.prefault;
    if (scim_inject_fire(io->inj, SCIM_INJ_PAGE_RESPONSE_LOST, scim_fabric_node_name(scim_port_fabric(io->port), m->src))) {
        io->st.pri_responses_lost++;
        scim_port_lose(io->port, m);
        return;
    }
    m->u.page_resp = (scim_page_resp){.auto_response = false};
    scim_port_reply(io->port, m, SCIM_MSG_PRI_RESP, wire, status);
}

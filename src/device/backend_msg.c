/* Translation backends that ask another block: walk placement iommu (a
 * PCIe ATS Translation Request; the IOMMU walks near memory) and software
 * (an interrupt; an OS handler walks, resolving a fault on the way, and
 * answers with the translation). */
#include "device/device_internal.h"

static void ask(scim_device *d, int32_t xi, scim_msg_type type, scim_node_id dst)
{
    const xlat *x = &d->xlats[xi];
    scim_msg *m = scim_port_msg(d->port, type, dst);
    if (!m)
        return;
    m->u.xlat = (scim_xlat_req){x->pasid, x->page << SCIM_PAGE_SHIFT, x->write};
    scim_port_request(d->port, SCIM_PORT_OWNER, RQ_ID(RQ_XLAT, xi), m);
}

static void ats_request(scim_device *d, int32_t xi) { ask(d, xi, SCIM_MSG_ATS_REQ, d->iommu); }
static void irq_request(scim_device *d, int32_t xi) { ask(d, xi, SCIM_MSG_XLAT_IRQ, d->os); }

const xlat_backend scim_dev_backend_ats = {.name = "iommu", .request = ats_request, .prefetches = true};
/* an interrupt per page is not worth prefetching */
const xlat_backend scim_dev_backend_software = {.name = "software", .request = irq_request, .prefetches = false};

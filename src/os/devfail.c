/* A device that stopped answering invalidations. The IOMMU reports it
 * (DEV_FAIL) when one of its device-TLB invalidations timed out; the OS
 * resets it (a PCIe function level reset: its caches are flushed and it
 * takes no more DMAs, so no stale translation survives) and answers the
 * IOMMU when the device confirms, after its accesses in flight drained.
 * Only then does the invalidation complete and the OS free what it
 * protected. Linux handles an ATS invalidation timeout less carefully
 * (VT-d retries, SMMUv3 logs and goes on); the model takes the course
 * that keeps the safety invariant, which is what the PCIe specification
 * leaves to the host. */
#include <stdlib.h>

#include "os/os_internal.h"

void os_on_dev_fail(scim_os *os, scim_msg *m)
{
    size_t i = 0;
    while (i < os->n_resets && os->resets[i])
        i++;
    if (i == os->n_resets) {
        size_t cap = os->n_resets;
        scim_msg **v = os_grow_or_fail(os, os->resets, &cap, i + 1, sizeof *v, 4);
        if (!v) {
            scim_port_free(os->port, m);
            return;
        }
        os->resets = v;
        os->n_resets = cap;
    }
    os->resets[i] = m;
    os->st.device_resets++;
    scim_msg *r = os_msg(os, SCIM_MSG_RESET, m->u.dev_fail.dev);
    if (!r)
        return;
    scim_port_request(os->port, SCIM_PORT_OWNER, OSR_ID(OSR_RESET, i), r);
}

void os_on_reset_done(scim_os *os, scim_msg *m)
{
    size_t i = OSR_INDEX(m->tag);
    scim_port_free(os->port, m);
    scim_msg *req = i < os->n_resets ? os->resets[i] : NULL;
    if (!req) {
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected reset completion");
        return;
    }
    os->resets[i] = NULL;
    scim_port_reply(os->port, req, SCIM_MSG_DEV_FAIL_DONE, scim_port_wire(os->port, 0), SCIM_RESP_OK);
}

void os_devfail_free(scim_os *os)
{
    free(os->resets);
    os->resets = NULL;
    os->n_resets = 0;
}

void scim_os_set_injector(scim_os *os, scim_inject *inj) { os->inj = inj; }

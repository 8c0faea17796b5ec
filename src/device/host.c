/* What a host program sees of a device (src/sim/host.c turns it into the
 * public callbacks of scimitar/host.h): requests it submits to a device
 * with source: host, each request's completion with the physical address
 * of every page-sized piece, the I/O page faults the device raises and
 * their resolution, and the invalidations it processes. Nothing here
 * changes the model: with no events set, none of it runs. */
#include <stdlib.h>

#include "device/device_internal.h"

void scim_device_set_events(scim_device *d, const scim_dev_event_ops *ops, void *ctx)
{
    if (ops && !d->req_pa) {
        size_t n = d->p.max_outstanding + 1; /* the replay's request slots */
        d->req_pa = calloc(n, sizeof *d->req_pa);
        d->req_pa_cap = calloc(n, sizeof *d->req_pa_cap);
        if (!d->req_pa || !d->req_pa_cap) {
            scim_dev_host_free(d);
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
            return;
        }
    }
    d->ev = ops;
    d->ev_ctx = ctx;
    scim_dev_update_request_hooks(d);
}

void scim_dev_host_free(scim_device *d)
{
    if (d->req_pa)
        for (uint64_t i = 0; i <= d->p.max_outstanding; i++)
            free(d->req_pa[i]);
    free(d->req_pa);
    free(d->req_pa_cap);
    d->req_pa = NULL;
    d->req_pa_cap = NULL;
}

int scim_device_submit(scim_device *d, bool write, bool translate_only, uint32_t pasid, uint64_t va, uint64_t size,
                       scim_time_t at, uint64_t tag, scim_err *err)
{
    scim_trace_rec rec = {.op = write ? SCIM_OP_WRITE : SCIM_OP_READ, .addr = va, .size = size};
    if (pasid) {
        rec.pasid = pasid;
        rec.has |= SCIM_TRACE_HAS_PASID;
    }
    return scim_replay_push(d->replay, &rec, at, tag, translate_only, err);
}

static size_t pages_of(uint64_t va, uint64_t size) { return (size_t)(scim_vpn(va + size - 1) - scim_vpn(va) + 1); }

void scim_dev_host_request_begin(scim_device *d, uint32_t req, const scim_trace_rec *rec)
{
    if (!d->req_pa)
        return;
    size_t n = pages_of(rec->addr, rec->size);
    if (n > d->req_pa_cap[req]) {
        uint64_t *v = realloc(d->req_pa[req], n * sizeof *v);
        if (!v) {
            scim_kernel_fail(d->k, SCIM_ENOMEM, "out of host memory");
            return;
        }
        d->req_pa[req] = v;
        d->req_pa_cap[req] = n;
    }
    for (size_t i = 0; i < n; i++)
        d->req_pa[req][i] = 0;
}

void scim_dev_host_record_pa(scim_device *d, int32_t ci, uint64_t pa)
{
    uint32_t req = scim_replay_request_of(d->replay, (uint32_t)ci);
    uint32_t page = scim_replay_page_index(d->replay, (uint32_t)ci);
    if (d->req_pa && page < d->req_pa_cap[req])
        d->req_pa[req][page] = pa;
}

void scim_dev_host_request_end(scim_device *d, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error)
{
    if (!d->ev->request_done)
        return;
    size_t n = pages_of(rec->addr, rec->size);
    scim_dev_request_info info = {
        .tag = scim_replay_request_tag(d->replay, req),
        .pasid = pasid,
        .va = rec->addr,
        .size = rec->size,
        .write = rec->op == SCIM_OP_WRITE,
        .translate_only = scim_replay_request_translate_only(d->replay, req),
        .error = error,
        .eligible = scim_replay_request_eligible(d->replay, req),
        .issued = scim_replay_request_issued(d->replay, req),
        .n_pages = d->req_pa && n <= d->req_pa_cap[req] ? n : 0,
        .pa = d->req_pa ? d->req_pa[req] : NULL,
    };
    d->ev->request_done(d->ev_ctx, &info);
}

uint64_t scim_dev_tag_of_xlat(const scim_device *d, int32_t xi)
{
    int32_t ci = d->xlats[xi].head;
    return ci == NONE ? 0 : scim_replay_request_tag(d->replay, scim_replay_request_of(d->replay, (uint32_t)ci));
}

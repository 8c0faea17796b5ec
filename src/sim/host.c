/* The host API (include/scimitar/host.h): device handles, requests from
 * the program, its callbacks, and OS calls. A thin layer: the device
 * (src/device/host.c) and the OS (src/os/host.c) do the work; this file
 * checks arguments and turns their reports into the public structs. */
#include <stdlib.h>
#include <string.h>

#include "scimitar/host.h"
#include "sim/sim_internal.h"

/* The host API reports the latest error: a program that handles one
 * error and goes on must not see its message again with the next. */
#define host_fail(sim, ...) (scim_err_clear(&(sim)->err), scim_sim_fail((sim), __VA_ARGS__))

struct scim_dev {
    scim_sim *sim;
    scim_device *d;
    scim_dev_callbacks cb;
    void *ctx;
};

/* ---- reports from the device ---- */

static void request_done(void *ctx, const scim_dev_request_info *r)
{
    scim_dev *dev = ctx;
    if (!dev->cb.completion)
        return;
    scim_time_t now = scim_kernel_now(dev->sim->k);
    scim_dev_op op = r->translate_only ? (r->write ? SCIM_DEV_TRANSLATE_WRITE : SCIM_DEV_TRANSLATE_READ)
                                       : (r->write ? SCIM_DEV_WRITE : SCIM_DEV_READ);
    scim_dev_completion c = {r->tag, r->error ? SCIM_ENOENT : SCIM_OK, op, r->pasid, r->va, r->size,
                             r->eligible, r->issued, now, now - r->eligible, r->n_pages, r->pa};
    dev->cb.completion(dev->ctx, dev, &c);
}

static void fault_raised(void *ctx, uint64_t tag, uint32_t pasid, uint64_t va, uint32_t pages, bool write)
{
    scim_dev *dev = ctx;
    if (!dev->cb.fault)
        return;
    scim_dev_fault f = {.resolved = false, .tag = tag, .pasid = pasid, .va = va, .pages = pages, .write = write,
                        .time = scim_kernel_now(dev->sim->k)};
    dev->cb.fault(dev->ctx, dev, &f);
}

static void fault_resolved(void *ctx, uint32_t pasid, uint64_t va, uint32_t pages, bool ok, scim_time_t latency)
{
    scim_dev *dev = ctx;
    if (!dev->cb.fault)
        return;
    scim_dev_fault f = {.resolved = true, .pasid = pasid, .va = va, .pages = pages, .ok = ok,
                        .time = scim_kernel_now(dev->sim->k), .latency = latency};
    dev->cb.fault(dev->ctx, dev, &f);
}

static void invalidated(void *ctx, const scim_inv_scope *s, scim_time_t arrived, uint64_t entries)
{
    scim_dev *dev = ctx;
    if (!dev->cb.invalidation)
        return;
    scim_dev_inv_kind kind = s->kind == SCIM_INV_RANGE   ? SCIM_DEV_INV_RANGE
                             : s->kind == SCIM_INV_PASID ? SCIM_DEV_INV_PASID
                                                         : SCIM_DEV_INV_ALL;
    scim_dev_invalidation inv = {kind, s->pasid, s->addr, s->len, arrived, scim_kernel_now(dev->sim->k), entries};
    dev->cb.invalidation(dev->ctx, dev, &inv);
}

static const scim_dev_event_ops event_ops = {request_done, fault_raised, fault_resolved, invalidated};

/* ---- devices ---- */

scim_dev *scim_sim_device(scim_sim *sim, const char *name)
{
    if (!sim)
        return NULL;
    if (!name) {
        host_fail(sim, SCIM_EINVAL, "scim_sim_device: name is NULL");
        return NULL;
    }
    if (!sim->built) {
        host_fail(sim, SCIM_ESTATE, "scim_sim_device(\"%s\"): build the simulation first", name);
        return NULL;
    }
    size_t n;
    scim_component *devs = scim_sim_components(sim, "devices", &n);
    if (!sim->host_devs && n) {
        if (!(sim->host_devs = calloc(n, sizeof *sim->host_devs))) {
            host_fail(sim, SCIM_ENOMEM, "out of host memory");
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            sim->host_devs[i] = (scim_dev){.sim = sim, .d = devs[i].self};
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(devs[i].name, name) == 0)
            return &sim->host_devs[i];
    host_fail(sim, SCIM_ENOENT, "no device is named '%s'; the configuration's devices section names them",
                  name);
    return NULL;
}

const char *scim_dev_name(const scim_dev *dev) { return dev ? scim_device_name(dev->d) : NULL; }
uint32_t scim_dev_pasid(const scim_dev *dev) { return dev ? (uint32_t)scim_device_params_of(dev->d)->pasid : 0; }

bool scim_dev_idle(const scim_dev *dev) { return dev && scim_device_finished(dev->d); }

int scim_dev_set_callbacks(scim_dev *dev, const scim_dev_callbacks *cb, void *ctx)
{
    if (!dev)
        return SCIM_EINVAL;
    dev->cb = cb ? *cb : (scim_dev_callbacks){0};
    dev->ctx = ctx;
    bool any = cb && (cb->completion || cb->fault || cb->invalidation);
    scim_device_set_events(dev->d, any ? &event_ops : NULL, dev);
    return 0;
}

int scim_dev_submit_request(scim_dev *dev, const scim_dev_request *req)
{
    if (!dev)
        return SCIM_EINVAL;
    scim_sim *sim = dev->sim;
    if (!req)
        return host_fail(sim, SCIM_EINVAL, "scim_dev_submit_request: req is NULL");
    if (sim->finished)
        return host_fail(sim, SCIM_ESTATE, "the simulation is finished; submit before scim_sim_finish()");
    if ((unsigned)req->op > SCIM_DEV_TRANSLATE_WRITE)
        return host_fail(sim, SCIM_EINVAL, "device '%s': unknown request op %d", scim_device_name(dev->d),
                             (int)req->op);
    bool write = req->op == SCIM_DEV_WRITE || req->op == SCIM_DEV_TRANSLATE_WRITE;
    bool translate_only = req->op == SCIM_DEV_TRANSLATE_READ || req->op == SCIM_DEV_TRANSLATE_WRITE;
    scim_err e = {0};
    int rc = scim_device_submit(dev->d, write, translate_only, req->pasid, req->va, req->size, req->at, req->tag, &e);
    return rc ? host_fail(sim, rc, "%s", e.msg) : 0;
}

int scim_dev_submit(scim_dev *dev, scim_dev_op op, uint64_t va, uint64_t size, uint64_t user_tag)
{
    scim_dev_request r = {op, 0, va, size, user_tag, 0};
    return scim_dev_submit_request(dev, &r);
}

/* ---- OS calls ---- */

/* A call in flight; the simulation keeps the list so that destroying it
 * with calls unanswered frees them. */
struct scim_host_os_call {
    scim_sim *sim;
    scim_os_done_fn done;
    void *ctx;
    struct scim_host_os_call *prev, *next;
};

static void os_done(void *ctx, uint64_t tag, int32_t status, scim_time_t submitted)
{
    struct scim_host_os_call *c = ctx;
    scim_sim *sim = c->sim;
    if (c->prev)
        c->prev->next = c->next;
    else
        sim->host_os_calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    scim_os_done_fn done = c->done;
    void *user = c->ctx;
    free(c);
    if (done)
        done(user, tag, status == SCIM_RESP_OK ? SCIM_OK : SCIM_EINVAL, submitted, scim_kernel_now(sim->k));
}

void scim_sim_host_free(scim_sim *sim)
{
    while (sim->host_os_calls) {
        struct scim_host_os_call *c = sim->host_os_calls;
        sim->host_os_calls = c->next;
        free(c);
    }
    free(sim->host_devs);
    sim->host_devs = NULL;
}

int scim_sim_os_call(scim_sim *sim, const scim_os_call *call, scim_os_done_fn done, void *ctx)
{
    if (!sim)
        return SCIM_EINVAL;
    if (!call)
        return host_fail(sim, SCIM_EINVAL, "scim_sim_os_call: call is NULL");
    if (!sim->built)
        return host_fail(sim, SCIM_ESTATE, "scim_sim_os_call: build the simulation first");
    if (sim->finished)
        return host_fail(sim, SCIM_ESTATE, "the simulation is finished; call the OS before scim_sim_finish()");
    if (call->prot > SCIM_PROT_RW || call->prot == 2)
        return host_fail(sim, SCIM_EINVAL, "scim_sim_os_call: prot is SCIM_PROT_NONE, SCIM_PROT_R or SCIM_PROT_RW");
    if (call->page_shift && call->page_shift != 12 && call->page_shift != 21 && call->page_shift != 30)
        return host_fail(sim, SCIM_EINVAL, "scim_sim_os_call: page_shift is 12, 21 or 30 (0: 12)");
    scim_trace_rec rec = {.op = call->op, .addr = call->va, .size = call->len, .pasid = call->pasid,
                          .has = SCIM_TRACE_HAS_PASID, .populate = call->populate};
    if (call->op == SCIM_OP_MPROTECT || (call->op == SCIM_OP_MMAP && call->prot)) {
        rec.prot = (uint8_t)call->prot;
        rec.has |= SCIM_TRACE_HAS_PROT;
    }
    if (call->page_shift) {
        rec.page_shift = (uint8_t)call->page_shift;
        rec.has |= SCIM_TRACE_HAS_PAGESIZE;
    }
    struct scim_host_os_call *c = malloc(sizeof *c);
    if (!c)
        return host_fail(sim, SCIM_ENOMEM, "out of host memory");
    *c = (struct scim_host_os_call){sim, done, ctx, NULL, sim->host_os_calls};
    scim_err e = {0};
    int rc = scim_os_host_call(sim->os, &rec, call->at, call->tag, os_done, c, &e);
    if (rc) {
        free(c);
        return host_fail(sim, rc, "%s", e.msg);
    }
    if (c->next)
        c->next->prev = c;
    sim->host_os_calls = c;
    return 0;
}

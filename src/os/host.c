/* OS operations from the host program: a program that links scimitar may
 * mmap, munmap, mprotect, migrate, reclaim, pin and unpin while the model
 * runs. Each call is a request the OS sends to itself through its own
 * port (a client of it), so it is queued, costed and answered exactly as
 * a trace's operation would be; the answer comes back to that client and
 * runs the host's completion function. */
#include <stdlib.h>

#include "os/os_internal.h"

typedef struct host_call {
    bool used;
    uint64_t tag;
    scim_time_t submitted;
    scim_os_host_done_fn done;
    void *ctx;
} host_call;

static void on_answer(void *ctx, scim_msg *m)
{
    scim_os *os = ctx;
    host_call *c = &os->host_calls[m->tag];
    int32_t status = m->status;
    scim_port_free(os->port, m);
    host_call call = *c;
    c->used = false;
    if (call.done)
        call.done(call.ctx, call.tag, status, call.submitted);
}

static bool is_os_op(scim_trace_op op)
{
    switch (op) {
    case SCIM_OP_MMAP:
    case SCIM_OP_MUNMAP:
    case SCIM_OP_MPROTECT:
    case SCIM_OP_MIGRATE:
    case SCIM_OP_RECLAIM:
    case SCIM_OP_PIN:
    case SCIM_OP_UNPIN: return true;
    default: return false;
    }
}

int scim_os_host_call(scim_os *os, const scim_trace_rec *rec, scim_time_t at, uint64_t tag, scim_os_host_done_fn done,
                      void *ctx, scim_err *err)
{
    if (!is_os_op(rec->op))
        return scim_err_set(err, SCIM_EINVAL,
                            "an OS call is mmap, munmap, mprotect, migrate, reclaim, pin or unpin (got op %d)",
                            (int)rec->op);
    if (!os_find_process(os, rec->pasid))
        return scim_err_set(err, SCIM_ENOENT, "no process has pasid %u; add processes.<name>.pasid: %u",
                            rec->pasid, rec->pasid);
    if (rec->size == 0 || rec->addr + rec->size < rec->addr)
        return scim_err_set(err, SCIM_EINVAL, "an OS call on %llu bytes at 0x%llx is empty or wraps around",
                            (unsigned long long)rec->size, (unsigned long long)rec->addr);
    if (os->host_client <= 0) {
        int c = scim_port_add_client(os->port, on_answer, os);
        if (c < 0)
            return scim_err_set(err, SCIM_ERANGE, "the OS's port has no room for the host's client");
        os->host_client = c;
    }
    size_t i = 0;
    while (i < os->n_host_calls && os->host_calls[i].used)
        i++;
    if (i == os->n_host_calls) {
        size_t cap = os->n_host_calls;
        host_call *v = os_grow(os->host_calls, &cap, i + 1, sizeof *v, 8);
        if (!v)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        os->host_calls = v;
        os->n_host_calls = cap;
    }
    scim_msg *m = scim_port_msg(os->port, SCIM_MSG_OS_REQ, scim_port_node(os->port));
    if (!m)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    scim_time_t now = scim_kernel_now(os->k);
    if (at < now)
        at = now;
    os->host_calls[i] = (host_call){true, tag, at, done, ctx};
    m->u.os = (scim_os_req){.op = SCIM_OS_TRACE_OP, .pasid = rec->pasid, .addr = rec->addr, .len = rec->size,
                            .rec = *rec};
    m->u.os.rec.has |= SCIM_TRACE_HAS_PASID;
    m->wire_bytes = scim_port_wire(os->port, SCIM_OS_REQ_BYTES);
    scim_port_request_at(os->port, at, os->host_client, i, m);
    return 0;
}

void os_host_free(scim_os *os)
{
    free(os->host_calls);
    os->host_calls = NULL;
    os->n_host_calls = 0;
}

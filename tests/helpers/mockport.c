#include "helpers/mockport.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

void rig_init(test_rig *r)
{
    scim_err err = {0};
    r->k = scim_kernel_create(SCIM_BACKEND_NATIVE, &err);
    ck_assert_msg(r->k, "%s", err.msg);
    scim_fabric_params fp = {.header_bytes = 24, .max_payload = 256};
    r->f = scim_fabric_create(r->k, &fp, &err);
    ck_assert_msg(r->f, "%s", err.msg);
    r->stats = scim_stats_create();
    ck_assert(r->stats);
}

void rig_free(test_rig *r)
{
    scim_fabric_destroy(r->f);
    scim_stats_destroy(r->stats);
    scim_kernel_destroy(r->k);
}

scim_node_id rig_node(const test_rig *r, const char *name)
{
    scim_node_id id = scim_fabric_find(r->f, name);
    ck_assert_msg(id != SCIM_NODE_NONE, "no node '%s'", name);
    return id;
}

void rig_link(test_rig *r, const char *a, const char *b, scim_time_t latency, uint64_t bytes_per_s)
{
    scim_err err = {0};
    ck_assert_msg(scim_fabric_add_link(r->f, rig_node(r, a), rig_node(r, b), latency, bytes_per_s, &err) == 0, "%s",
                  err.msg);
}

void rig_finalize(test_rig *r)
{
    scim_err err = {0};
    ck_assert_msg(scim_fabric_finalize(r->f, r->stats, &err) == 0, "%s", err.msg);
}

int rig_run_status(test_rig *r, char *msg, size_t len)
{
    scim_err err = {0};
    int rc = scim_kernel_run(r->k, &err);
    if (msg)
        snprintf(msg, len, "%s", err.msg);
    return rc;
}

void rig_run(test_rig *r)
{
    char msg[1024];
    int rc = rig_run_status(r, msg, sizeof msg);
    ck_assert_msg(rc == 0, "run failed: %s", msg);
}

double rig_stat(const test_rig *r, const char *name)
{
    double v = 0;
    ck_assert_msg(scim_stats_lookup(r->stats, name, &v) == 0, "no statistic %s", name);
    return v;
}

static mock_log *log_msg(mock_ep *ep, scim_msg *m)
{
    ck_assert_msg(ep->n < MOCK_LOG_MAX, "mock log full");
    mock_log *l = &ep->log[ep->n++];
    l->m = *m;
    l->at = scim_kernel_now(ep->rig->k);
    l->held = NULL;
    return l;
}

static void answer(mock_ep *ep, scim_msg *m, int32_t status)
{
    scim_msg_type rt = scim_msg_response_of(m->type);
    uint32_t payload = 0;
    if (m->type == SCIM_MSG_MEM_READ) {
        scim_mem_req r = m->u.mem;
        const uint64_t *v = scim_u64map_get(&ep->memory, r.pa);
        payload = (uint32_t)r.len;
        m->u.mem_resp = (scim_mem_resp){.value = v ? *v : 0};
        /* a descriptor read: the words of the structure, as the memory does */
        for (unsigned i = 0; i < r.words && i < SCIM_MEM_RESP_WORDS; i++) {
            v = scim_u64map_get(&ep->memory, r.pa + i * sizeof(uint64_t));
            m->u.mem_resp.words[i] = v ? *v : 0;
        }
    } else if (rt == SCIM_MSG_ATS_RESP) {
        m->u.xlat_resp = ep->xlat;
        payload = 8;
    } else if (rt == SCIM_MSG_PRI_RESP) {
        m->u.page_resp = (scim_page_resp){false};
    }
    scim_port_reply(ep->port, m, rt, scim_port_wire(ep->port, payload), status);
}

static void answer_later(void *ctx, uint64_t arg)
{
    mock_ep *ep = ctx;
    answer(ep, (scim_msg *)(uintptr_t)arg, ep->mode == MOCK_MEMORY ? SCIM_RESP_OK : ep->status);
}

static void on_request(void *ctx, scim_msg *m)
{
    mock_ep *ep = ctx;
    mock_log *l = log_msg(ep, m);
    if (ep->mode == MOCK_HOLD) {
        l->held = m;
        return;
    }
    scim_kernel_schedule(ep->rig->k, ep->delay, SCIM_PRIO_DEFAULT, answer_later, ep, (uint64_t)(uintptr_t)m);
}

static void on_response(void *ctx, scim_msg *m)
{
    mock_ep *ep = ctx;
    log_msg(ep, m);
    scim_port_free(ep->port, m);
}

mock_ep *mock_add(test_rig *r, const char *name, mock_mode mode, scim_time_t delay)
{
    mock_ep *ep = calloc(1, sizeof *ep);
    ck_assert(ep);
    ep->rig = r;
    ep->mode = mode;
    ep->delay = delay;
    scim_u64map_init(&ep->memory);
    scim_err err = {0};
    ep->port = scim_port_create(r->f, name, on_request, on_response, ep, r->stats, &err);
    ck_assert_msg(ep->port, "%s", err.msg);
    return ep;
}

void mock_free(mock_ep *ep)
{
    if (!ep)
        return;
    scim_u64map_free(&ep->memory);
    scim_port_destroy(ep->port);
    free(ep);
}

void mock_poke(mock_ep *ep, uint64_t pa, uint64_t value)
{
    uint64_t *v = scim_u64map_upsert(&ep->memory, pa, value);
    ck_assert(v);
    *v = value;
}

uint64_t mock_peek(const mock_ep *ep, uint64_t pa)
{
    const uint64_t *v = scim_u64map_get(&ep->memory, pa);
    return v ? *v : 0;
}

void mock_answer(mock_ep *ep, size_t i, int32_t status, const scim_msg *payload_from)
{
    ck_assert_msg(i < ep->n && ep->log[i].held, "mock: message %zu is not held", i);
    scim_msg *m = ep->log[i].held;
    ep->log[i].held = NULL;
    scim_msg_type rt = scim_msg_response_of(m->type);
    /* no payload given: an empty response (never the request's bytes) */
    if (payload_from)
        m->u = payload_from->u;
    else
        memset(&m->u, 0, sizeof m->u);
    scim_port_reply(ep->port, m, rt, scim_port_wire(ep->port, 0), status);
}

void mock_request(mock_ep *ep, scim_node_id dst, scim_msg_type type, const scim_msg *proto, uint64_t id)
{
    scim_msg *m = scim_port_msg(ep->port, type, dst);
    ck_assert(m);
    if (proto) {
        m->u = proto->u;
        if (proto->wire_bytes)
            m->wire_bytes = proto->wire_bytes;
    }
    scim_port_request(ep->port, SCIM_PORT_OWNER, id, m);
}

size_t mock_count(const mock_ep *ep, scim_msg_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < ep->n; i++)
        n += ep->log[i].m.type == type;
    return n;
}

const mock_log *mock_find(const mock_ep *ep, scim_msg_type type, size_t k)
{
    for (size_t i = 0; i < ep->n; i++)
        if (ep->log[i].m.type == type && k-- == 0)
            return &ep->log[i];
    return NULL;
}

/* Ports: tags, clients, credits. Modelling notes in core/port.h. */
#include "core/port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fast.h"
#include "core/fifo.h"
#include "core/kclock.h"
#include "core/pool.h"

#define NO_QUEUE 0xff
#define MAX_QUEUES 4
#define QUEUE_NAME_LEN 24

/* A request this port sent and that is not answered yet. */
typedef struct outstanding {
    uint8_t client;
    scim_msg_type type;
    scim_node_id dst;
    uint64_t id;
    scim_time_t since; /* first attempt (a credit wait counts) */
    scim_msg *later;   /* scim_port_request_at: the message until it leaves */
    bool abandoned;    /* scim_port_cancel: an answer is dropped */
} outstanding;

typedef struct port_client {
    scim_port_response_fn fn;
    void *ctx;
} port_client;

/* A bounded input queue of the receiver, and the requests waiting for a
 * place in it (held by their senders). */
typedef struct in_queue {
    char name[QUEUE_NAME_LEN];
    uint64_t capacity;
    uint64_t limit; /* capacity, or UINT64_MAX when unbounded: full is used >= limit */
    uint64_t used;
    scim_fifo waiting; /* of scim_msg * */
    scim_fifo later;   /* of deferred: places the fast path frees at a later time */
    struct {
        uint64_t peak;
    } st;
} in_queue;

/* A place freed at `when` by an event the event path would have
 * scheduled at `key` (core/fast.h). */
typedef struct deferred {
    scim_time_t when, key;
} deferred;

typedef struct port_stats {
    uint64_t credit_waits;
    scim_hist *credit_wait;
} port_stats;

struct scim_port {
    scim_fabric *f;
    scim_kernel *k;
    scim_node_id node;
    scim_port_request_fn on_request;
    void *ctx;
    port_client clients[SCIM_PORT_MAX_CLIENTS];
    int n_clients;
    scim_pool tags; /* of outstanding */
    uint32_t abandoned;
    in_queue queues[MAX_QUEUES];
    int n_queues;
    uint8_t queue_of[SCIM_MSG_TYPE_COUNT];
    uint32_t response_types; /* bit t: scim_msg_is_response(t), one test per delivery */
    uint32_t empty_wire;     /* scim_fabric_wire_bytes(f, 0): a new message's size */
    port_stats st;
};
_Static_assert(SCIM_MSG_TYPE_COUNT <= sizeof(uint32_t) * 8, "response_types has a bit per message type");

const scim_stat_decl scim_port_stat_decls[] = {
    {"credit_waits", SCIM_STAT_COUNTER, "count",
     "Requests that found their receiver's input queue full and waited at this sender for a place.",
     offsetof(port_stats, credit_waits)},
    {"credit_wait", SCIM_STAT_HIST, "ps", "How long each of those requests waited for its credit.",
     offsetof(port_stats, credit_wait)},
};
const size_t scim_port_stat_decl_count = SCIM_COUNT_OF(scim_port_stat_decls);

const scim_stat_decl scim_port_queue_stat_decls[] = {
    {"peak", SCIM_STAT_COUNTER, "requests",
     "Most requests held by the input queue at once (sent to the receiver and not yet answered).", 0},
};
const size_t scim_port_queue_stat_decl_count = SCIM_COUNT_OF(scim_port_queue_stat_decls);

static void port_recv(void *ctx, scim_msg *m);

scim_port *scim_port_create(scim_fabric *f, const char *name, scim_port_request_fn on_request,
                            scim_port_response_fn on_response, void *ctx, scim_stats *stats, scim_err *err)
{
    scim_port *p = calloc(1, sizeof *p);
    if (!p) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating port '%s'", name);
        return NULL;
    }
    p->f = f;
    p->k = scim_fabric_kernel(f);
    p->on_request = on_request;
    p->ctx = ctx;
    p->clients[0] = (port_client){on_response, ctx};
    p->n_clients = 1;
    memset(p->queue_of, NO_QUEUE, sizeof p->queue_of);
    for (int t = 0; t < SCIM_MSG_TYPE_COUNT; t++)
        if (scim_msg_is_response((scim_msg_type)t))
            p->response_types |= 1u << t;
    p->empty_wire = scim_fabric_wire_bytes(f, 0);
    scim_pool_init(&p->tags, sizeof(outstanding));
    if (scim_fabric_add_node(f, name, port_recv, p, &p->node, err) != 0) {
        free(p);
        return NULL;
    }
    scim_fabric_set_port(f, p->node, p);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s.port", name);
    if (stats && scim_stats_register(stats, prefix, scim_port_stat_decls, scim_port_stat_decl_count, &p->st, err)) {
        scim_fabric_set_port(f, p->node, NULL);
        scim_pool_free(&p->tags);
        free(p);
        return NULL;
    }
    return p;
}

void scim_port_destroy(scim_port *p)
{
    if (!p)
        return;
    /* messages still waiting for a credit belong to the fabric's blocks */
    for (int i = 0; i < p->n_queues; i++) {
        scim_fifo_free(&p->queues[i].waiting);
        scim_fifo_free(&p->queues[i].later);
    }
    scim_fabric_set_port(p->f, p->node, NULL);
    scim_pool_free(&p->tags);
    free(p);
}

scim_node_id scim_port_node(const scim_port *p) { return p->node; }
const char *scim_port_name(const scim_port *p) { return scim_fabric_node_name(p->f, p->node); }
scim_fabric *scim_port_fabric(const scim_port *p) { return p->f; }

int scim_port_add_client(scim_port *p, scim_port_response_fn on_response, void *ctx)
{
    if (p->n_clients == SCIM_PORT_MAX_CLIENTS)
        return SCIM_ERANGE;
    p->clients[p->n_clients] = (port_client){on_response, ctx};
    return p->n_clients++;
}

int scim_port_queue(scim_port *p, const char *name, uint32_t type_mask, uint64_t capacity, scim_stats *stats,
                    scim_err *err)
{
    if (p->n_queues == MAX_QUEUES || strlen(name) >= QUEUE_NAME_LEN)
        return scim_err_set(err, SCIM_ERANGE, "port '%s': cannot add input queue '%s'", scim_port_name(p), name);
    in_queue *q = &p->queues[p->n_queues];
    memset(q, 0, sizeof *q);
    strcpy(q->name, name);
    q->capacity = capacity;
    q->limit = capacity ? capacity : UINT64_MAX;
    scim_fifo_init(&q->waiting, sizeof(scim_msg *));
    scim_fifo_init(&q->later, sizeof(deferred));
    for (int t = 0; t < SCIM_MSG_TYPE_COUNT; t++)
        if (type_mask & (1u << t))
            p->queue_of[t] = (uint8_t)p->n_queues;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s.queue.%s", scim_port_name(p), name);
    if (stats) {
        /* the registry's own code: err may be NULL */
        int rc = scim_stats_register(stats, prefix, scim_port_queue_stat_decls, scim_port_queue_stat_decl_count,
                                     &q->st, err);
        if (rc)
            return rc;
    }
    p->n_queues++;
    return 0;
}

/* Out of line (and cold): the hot paths that can fail need no stack frame. */
static __attribute__((noinline, cold)) void fail_no_memory(scim_port *p, const char *what)
{
    scim_kernel_fail(p->k, SCIM_ENOMEM, "%s", what);
}

scim_msg *scim_port_msg(scim_port *p, scim_msg_type type, scim_node_id dst)
{
    scim_msg *m = scim_msg_alloc(p->f);
    if (__builtin_expect(!m, 0)) {
        fail_no_memory(p, "out of host memory for fabric messages");
        return NULL;
    }
    m->type = type;
    m->src = p->node;
    m->dst = dst;
    m->wire_bytes = p->empty_wire;
    return m;
}

uint32_t scim_port_wire(const scim_port *p, uint64_t payload) { return scim_fabric_wire_bytes(p->f, payload); }

/* The input queue of dst that request m would occupy, or NULL. */
static in_queue *queue_for(const scim_port *dst, const scim_msg *m)
{
    if (!dst)
        return NULL;
    uint8_t qi = dst->queue_of[m->type];
    return qi == NO_QUEUE ? NULL : (in_queue *)&dst->queues[qi];
}

/* Free the places the fast path freed before now. `sched`: when the
 * current event was scheduled (SCIM_TIME_MAX: not known), to order a
 * place freed at this very time. */
static void catch_up(scim_kernel *k, in_queue *q, scim_time_t sched)
{
    scim_time_t now = scim_kernel_time(k);
    while (scim_fifo_len(&q->later)) {
        const deferred *d = scim_fifo_front(&q->later);
        if (d->when == now && (sched == SCIM_TIME_MAX || d->key == sched)) {
            scim_kernel_fast_conflict(k, "a memory credit was freed at the time another was taken");
            return;
        }
        if (d->when > now || (d->when == now && d->key > sched))
            return;
        scim_fifo_drop(&q->later);
        q->used--;
    }
}

/* send_with_credit when the fast path has places to free first, or the
 * queue is full: out of line, so that the common case needs no stack frame. */
static __attribute__((noinline)) void send_with_credit_slow(scim_port *p, in_queue *q, scim_msg *m)
{
    if (scim_fifo_len(&q->later)) {
        catch_up(p->k, q, SCIM_TIME_MAX);
        if (q->used >= q->limit && scim_fifo_len(&q->later))
            scim_kernel_fast_conflict(p->k, "a request waits for a credit the fast path frees later");
    }
    if (q->used >= q->limit) {
        m->sent_at = scim_kernel_time(p->k); /* when it began to wait */
        scim_msg **slot = scim_fifo_push_slot(&q->waiting);
        if (slot)
            *slot = m;
        else
            fail_no_memory(p, "out of host memory queueing a request");
        return;
    }
    if (++q->used > q->st.peak)
        q->st.peak = q->used;
    scim_fabric_send(p->f, m);
}

static void send_with_credit(scim_port *p, scim_msg *m)
{
    in_queue *q = queue_for(scim_fabric_port(p->f, m->dst), m);
    if (q) {
        uint64_t used = q->used;
        if (__builtin_expect(scim_fifo_len(&q->later) != 0 || used >= q->limit, 0)) {
            send_with_credit_slow(p, q, m);
            return;
        }
        q->used = ++used;
        if (used > q->st.peak)
            q->st.peak = used;
    }
    scim_fabric_send(p->f, m);
}

void scim_port_request(scim_port *p, int client, uint64_t id, scim_msg *m)
{
    uint32_t t = scim_pool_take(&p->tags); /* the record below sets every field */
    if (t == SCIM_POOL_NONE) {
        fail_no_memory(p, "out of host memory for request tags");
        scim_msg_free(p->f, m);
        return;
    }
    outstanding *o = scim_pool_at(&p->tags, t);
    *o = (outstanding){(uint8_t)client, m->type, m->dst, id, scim_kernel_time(p->k), NULL, false};
    m->tag = t;
    m->src = p->node;
    send_with_credit(p, m);
}

/* A request built now and sent at a later time: its tag is taken now, so
 * the message travels with it through the event queue. */
static void request_later(void *ctx, uint64_t tag)
{
    scim_port *p = ctx;
    outstanding *o = scim_pool_at(&p->tags, (uint32_t)tag);
    scim_msg *m = o->later;
    o->later = NULL;
    send_with_credit(p, m);
}

void scim_port_request_at(scim_port *p, scim_time_t when, int client, uint64_t id, scim_msg *m)
{
    uint32_t t = scim_pool_take(&p->tags); /* the record below sets every field */
    if (t == SCIM_POOL_NONE) {
        fail_no_memory(p, "out of host memory for request tags");
        scim_msg_free(p->f, m);
        return;
    }
    outstanding *o = scim_pool_at(&p->tags, t);
    *o = (outstanding){(uint8_t)client, m->type, m->dst, id, when, m, false};
    m->tag = t;
    m->src = p->node;
    scim_kernel_schedule_at(p->k, when, SCIM_PRIO_DEFAULT, request_later, p, t);
}

void scim_port_post(scim_port *p, scim_msg *m)
{
    m->tag = 0;
    m->src = p->node;
    scim_fabric_send(p->f, m);
}

/* The receiver's queue place of a request it answered (or lost) is free:
 * the oldest request waiting for one leaves now. */
static __attribute__((noinline)) void release_place_slow(scim_port *p, in_queue *q)
{
    if (scim_fifo_len(&q->later))
        catch_up(p->k, q, SCIM_TIME_MAX);
    q->used--;
    if (!scim_fifo_len(&q->waiting))
        return;
    scim_msg *w = *(scim_msg **)scim_fifo_front(&q->waiting);
    scim_fifo_drop(&q->waiting);
    /* the oldest waiting request takes the freed place and leaves now */
    scim_port *sender = scim_fabric_port(p->f, w->src);
    scim_time_t waited = scim_kernel_time(p->k) - w->sent_at;
    if (sender) {
        sender->st.credit_waits++;
        scim_hist_record(sender->st.credit_wait, waited);
    }
    if (++q->used > q->st.peak)
        q->st.peak = q->used;
    scim_fabric_send(p->f, w);
}

/* The common case inline: nothing to catch up on and nobody waiting. */
static inline void release_place(scim_port *p, in_queue *q)
{
    if (!q)
        return;
    if (__builtin_expect(scim_fifo_len(&q->later) != 0 || scim_fifo_len(&q->waiting) != 0, 0)) {
        release_place_slow(p, q);
        return;
    }
    q->used--;
}

void scim_port_reply(scim_port *p, scim_msg *m, scim_msg_type type, uint32_t wire_bytes, int32_t status)
{
    in_queue *q = queue_for(p, m);
    scim_node_id s = m->src;
    m->src = m->dst;
    m->dst = s;
    m->type = type;
    m->wire_bytes = wire_bytes;
    m->status = status;
    scim_fabric_send(p->f, m);
    release_place(p, q);
}

void scim_port_lose(scim_port *p, scim_msg *m)
{
    in_queue *q = queue_for(p, m);
    scim_msg_free(p->f, m);
    release_place(p, q);
}

uint32_t scim_port_cancel(scim_port *p, int client, uint64_t id, scim_node_id dst)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < scim_pool_cap(&p->tags); i++) {
        if (!scim_pool_used(&p->tags, i))
            continue;
        const outstanding *o = scim_pool_at(&p->tags, i);
        if (o->client == client && o->id == id && o->dst == dst && !o->later && !o->abandoned) {
            ((outstanding *)scim_pool_at(&p->tags, i))->abandoned = true;
            p->abandoned++;
            n++;
        }
    }
    return n;
}

void scim_port_free(scim_port *p, scim_msg *m) { scim_msg_free(p->f, m); }

/* A response whose tag this port does not know: out of line (and cold),
 * so that a delivery needs no stack frame. */
static __attribute__((noinline, cold)) void unknown_tag(scim_port *p, scim_msg *m)
{
    scim_kernel_fail(p->k, SCIM_EINVARIANT, "port '%s' got a %s with unknown tag %llu from '%s'", scim_port_name(p),
                     scim_msg_type_name(m->type), (unsigned long long)m->tag, scim_fabric_node_name(p->f, m->src));
    scim_msg_free(p->f, m);
}

static void port_recv(void *ctx, scim_msg *m)
{
    scim_port *p = ctx;
    if (!((p->response_types >> m->type) & 1u)) { /* a type is < SCIM_MSG_TYPE_COUNT */
        p->on_request(p->ctx, m);
        return;
    }
    uint32_t t = (uint32_t)m->tag;
    if (__builtin_expect(m->tag > UINT32_MAX || !scim_pool_used(&p->tags, t), 0)) {
        unknown_tag(p, m);
        return;
    }
    const outstanding *o = scim_pool_at(&p->tags, t);
    /* read before the release: the slot may be taken again by the client's handler */
    uint64_t id = o->id;
    port_client *c = &p->clients[o->client];
    bool abandoned = o->abandoned;
    scim_pool_release(&p->tags, t);
    if (abandoned) {
        p->abandoned--;
        scim_msg_free(p->f, m); /* its requester gave up waiting */
        return;
    }
    m->tag = id;
    c->fn(c->ctx, m);
}

uint32_t scim_port_outstanding(const scim_port *p) { return scim_pool_len(&p->tags) - p->abandoned; }

bool scim_port_oldest(const scim_port *p, scim_msg_type *type, scim_node_id *dst, scim_time_t *since)
{
    bool found = false;
    for (uint32_t i = 0; i < scim_pool_cap(&p->tags); i++) {
        if (!scim_pool_used(&p->tags, i))
            continue;
        const outstanding *o = scim_pool_at(&p->tags, i);
        if (o->abandoned)
            continue;
        if (!found || o->since < *since) {
            *type = o->type;
            *dst = o->dst;
            *since = o->since;
            found = true;
        }
    }
    return found;
}

/* ---- the fast path (core/fast.h) ---- */

/* The input queue of dst that a request of `type` would occupy, or NULL. */
static in_queue *queue_of_type(const scim_port *dst, scim_msg_type type)
{
    uint8_t qi = dst ? dst->queue_of[type] : NO_QUEUE;
    return qi == NO_QUEUE ? NULL : (in_queue *)&dst->queues[qi];
}

bool scim_port_fast_take(scim_port *p, scim_msg_type type, scim_node_id dst, scim_time_t sched,
                         scim_port_credits **credits)
{
    in_queue *q = queue_of_type(scim_fabric_port(p->f, dst), type);
    *credits = (scim_port_credits *)q;
    if (!q)
        return true;
    if (scim_fifo_len(&q->later))
        catch_up(p->k, q, sched);
    if (q->used >= q->limit || scim_fifo_len(&q->waiting))
        return false;
    if (++q->used > q->st.peak)
        q->st.peak = q->used;
    return true;
}

/* fast_release_at when the FIFO must grow: out of line, so that the
 * common case needs no stack frame. */
static __attribute__((noinline)) void defer_growing(scim_port *p, in_queue *q, scim_time_t when, scim_time_t key)
{
    deferred *d = scim_fifo_push_slot(&q->later);
    if (d)
        *d = (deferred){when, key};
    else
        fail_no_memory(p, "out of host memory queueing a credit");
}

void scim_port_fast_release(scim_port *p, scim_port_credits *credits, scim_time_t when, scim_time_t key)
{
    in_queue *q = (in_queue *)credits;
    if (!q)
        return;
    if (__builtin_expect(scim_fifo_full(&q->later), 0)) {
        defer_growing(p, q, when, key);
        return;
    }
    *(deferred *)scim_fifo_push_slot_room(&q->later) = (deferred){when, key};
}

void scim_port_forget(scim_port *p, uint64_t tag) { scim_pool_release(&p->tags, (uint32_t)tag); }

void scim_port_fast_release_at(scim_port *p, scim_msg_type type, scim_node_id dst, scim_time_t when, scim_time_t key)
{
    scim_port_fast_release(p, (scim_port_credits *)queue_of_type(scim_fabric_port(p->f, dst), type), when, key);
}

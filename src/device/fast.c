/* The device fast path (sim.fast_path; core/fast.h, docs/architecture.md
 * "Fast path"): an access that found its translation goes to memory and
 * back without its per-hop events, while nothing but this device is
 * active. Every link and the memory are booked at the times the hops
 * would have booked them, the statistics are counted as the hops would,
 * and one event at the end completes the access as its response would.
 *
 * "Nothing but this device is active": every event in the kernel is this
 * device's — a lookup, a replay pump, a fast completion, or the one event
 * of one of its own memory accesses in flight (which the fast path then
 * takes over: "adopts"). Later activity of the device itself (a miss, an
 * OS call) may meet what was booked ahead; core/fast.h notices every such
 * case and the run is redone without the fast path. */
#include <stdlib.h>

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "device/device_internal.h"

/* An access the fast path completes at t_end; `booked`: when the event
 * path would have scheduled that completion (its last hop's booking). */
typedef struct fast_ent {
    int32_t ci;
    scim_time_t t_end, booked;
} fast_ent;

/* A lookup begun inside a fast completion and its place in the order. */
typedef struct deferred {
    int32_t ci;
    scim_kernel_slot slot;
} deferred;

static void complete(void *ctx, uint64_t arg);

int scim_dev_fast_init(scim_device *d)
{
    uint32_t cap = 1;
    while (cap < d->p.max_outstanding)
        cap <<= 1;
    d->fast = calloc(cap, sizeof(fast_ent));
    d->fast_order = calloc(d->p.max_outstanding, sizeof *d->fast_order);
    d->deferred = calloc(d->p.max_outstanding, sizeof(deferred));
    if (!d->fast || !d->fast_order || !d->deferred)
        return SCIM_ENOMEM;
    if ((d->fast_fifo = scim_kernel_fifo_create(d->k, complete, d)) < 0)
        return SCIM_ENOMEM;
    scim_fast_route *r = d->fast_routes = calloc(2, sizeof *r);
    scim_fabric *f = scim_port_fabric(d->port);
    if (!r)
        return SCIM_ENOMEM;
    if (scim_fabric_fast_route(f, scim_port_node(d->port), d->mem, &r[0]) ||
        scim_fabric_fast_route(f, d->mem, scim_port_node(d->port), &r[1]))
        d->fast_ok = false; /* a route too long to keep: the event path */
    d->fast_lead = scim_fabric_min_latency_into(scim_port_fabric(d->port), scim_port_node(d->port));
    d->fast_mask = cap - 1;
    return 0;
}

void scim_dev_fast_free(scim_device *d)
{
    free(d->fast);
    free(d->fast_order);
    free(d->deferred);
    free(d->fast_routes);
}

static fast_ent *ent(const scim_device *d, uint32_t i)
{
    return &((fast_ent *)d->fast)[(d->fast_head + i) & d->fast_mask];
}

/* An event scheduled for a fast completion's time, between the fast path's
 * booking and the time the event path would have scheduled that
 * completion, would have run before it: the fast order would differ. */
static void watch(void *ctx, scim_time_t when, int prio)
{
    scim_device *d = ctx;
    if (prio != SCIM_PRIO_DEFAULT)
        return;
    scim_time_t now = scim_kernel_time(d->k);
    /* completions are due in ring order: look from the latest back */
    for (uint32_t i = d->fast_n; i-- > 0 && ent(d, i)->t_end >= when;)
        if (ent(d, i)->t_end == when && now <= ent(d, i)->booked)
            scim_kernel_fast_conflict(d->k, "an event ties with a fast completion it would have preceded");
}

void scim_dev_defer_lookup(scim_device *d, int32_t ci, scim_time_t when)
{
    ((deferred *)d->deferred)[d->n_deferred++] = (deferred){ci, scim_kernel_reserve(d->k, when, SCIM_PRIO_DEFAULT)};
}

/* At the end of a fast completion, the lookups it began: a lookup that is
 * then the next event of the run (most often: a device alone, streaming
 * hits) is done at once at its time; the others are scheduled where they
 * would have been. A lookup is a fixed delay on one device, so nothing
 * else can see the difference. */
static void run_deferred(scim_device *d)
{
    const deferred *q = d->deferred;
    for (uint32_t i = 0; i < d->n_deferred; i++) {
        if (scim_kernel_take_next(d->k, q[i].slot)) {
            d->in_lookup = q[i].ci;
            scim_dev_iotlb_lookup(d, q[i].ci);
            d->in_lookup = NONE;
        } else {
            d->n_lookups++;
            scim_kernel_fifo_at_slot(d->k, d->iotlb_fifo, q[i].slot, (uint64_t)q[i].ci);
        }
    }
    d->n_deferred = 0;
}

static void complete_one(scim_device *d, int32_t ci)
{
    chunk *c = &d->chunks[ci];
    d->fast_head = (d->fast_head + 1) & d->fast_mask;
    if (--d->fast_n == 0) {
        scim_fabric_set_fast_owner(scim_port_fabric(d->port), NULL);
        scim_kernel_set_watch(d->k, 0, NULL, NULL);
    }
    if (c->adopted) {
        c->adopted = false;
        scim_port_forget(d->port, c->tag);
    }
    scim_obs_access_end(d->checker, c->pa);
    /* a micro-TLB's lookups go first: only the IOTLB's are deferred */
    d->defer_lookups = !d->utlb && scim_kernel_fast_allowed(d->k);
    scim_dev_chunk_complete(d, ci, false);
    d->defer_lookups = false;
    if (scim_fifo_len(&d->resets))
        scim_dev_reset_progress(d);
    run_deferred(d);
}

/* A device alone streaming hits: its next event is most often its next
 * fast completion, taken here rather than through the dispatcher. */
static void complete(void *ctx, uint64_t arg)
{
    scim_device *d = ctx;
    do
        complete_one(d, (int32_t)arg);
    while (scim_kernel_fifo_take_next(d->k, d->fast_fifo, &arg));
}

/* Chunk ci's access completes at t_end (scheduled now, in age order). */
static void finish(scim_device *d, int32_t ci, scim_time_t t_end, scim_time_t booked)
{
    /* due in the order they are booked (the last hop is a FIFO), which
     * the FIFO keeps: the watch has no tie to look for among them */
    scim_kernel_fifo_at_unwatched(d->k, d->fast_fifo, t_end, SCIM_PRIO_DEFAULT, (uint64_t)ci);
    if (d->fast_n++ == 0) {
        scim_fabric_set_fast_owner(scim_port_fabric(d->port), d);
        scim_kernel_set_watch(d->k, d->fast_lead, watch, d);
    }
    *ent(d, d->fast_n - 1) = (fast_ent){ci, t_end, booked};
}

/* How far along its route the access of chunk ci is (larger: older). Two
 * at one place are in one FIFO (a link direction, or the memory's answers),
 * in the order they entered it: by due time, then by the order the device
 * sent them (two can be due at once: a zero-byte request on a link with no
 * header, or a memory without a bandwidth limit). The device's accesses
 * travel one route whose links and memory serve in arrival order, and
 * none is waiting for a credit here, so the order they were sent is the
 * order every FIFO on the way holds them. */
static unsigned progress(const scim_device *d, const scim_msg *m)
{
    scim_fabric *f = scim_port_fabric(d->port);
    unsigned req = (unsigned)scim_fabric_hops(f, scim_port_node(d->port), d->mem);
    if (m->type != SCIM_MSG_MEM_RESP)
        return m->in_svc ? req + 1 : (unsigned)(req - scim_fabric_hops(f, m->at, d->mem));
    return req + 1 + (unsigned)scim_fabric_hops(f, d->mem, m->at);
}

/* Take over the device's accesses in flight through the event path (all
 * of them its own, on its route to memory), oldest first. */
static bool adopt_all(scim_device *d)
{
    scim_fabric *f = scim_port_fabric(d->port);
    scim_node_id self = scim_port_node(d->port);
    int32_t *order = d->fast_order;
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->p.max_outstanding; i++) {
        chunk *c = &d->chunks[i];
        if (c->state != CH_MEM || !c->msg)
            continue;
        const scim_msg *m = c->msg;
        if (m->at == SCIM_NODE_NONE || m->ghost)
            return false; /* waiting for a credit */
        if (m->type == SCIM_MSG_MEM_RESP && m->at == self)
            continue; /* on its last hop: its arrival is already the event it would be */
        uint32_t j = n++;
        unsigned pg = progress(d, m);
        while (j > 0) {
            const chunk *oc = &d->chunks[order[j - 1]];
            const scim_msg *o = oc->msg;
            unsigned po = progress(d, o);
            if (po > pg || (po == pg && (o->due < m->due || (o->due == m->due && (int32_t)(oc->sent - c->sent) < 0))))
                break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (int32_t)i;
    }
    for (uint32_t i = 0; i < n; i++) {
        chunk *c = &d->chunks[order[i]];
        scim_msg *m = c->msg;
        scim_time_t booked = m->due, done, t = m->due;
        uint32_t resp_wire = m->wire_bytes;
        unsigned hops = 0;
        scim_node_id from = m->at;
        bool in_link = m->type != SCIM_MSG_MEM_RESP && !m->in_svc;
        if (m->type != SCIM_MSG_MEM_RESP) {
            scim_time_t at = m->in_svc ? m->svc_at : scim_fabric_fast_travel(f, m->at, d->mem, m->wire_bytes, t,
                                                                               &booked, &hops);
            if (m->in_svc)
                done = m->due, resp_wire = scim_port_wire(d->port, m->type == SCIM_MSG_MEM_READ ? m->u.mem.len : 0);
            else
                done = scim_fabric_fast_serve(f, d->mem, m->type, m->u.mem.len, at, &resp_wire);
            scim_port_fast_release_at(d->port, m->type, d->mem, done, at);
            scim_fabric_count_sent(f, SCIM_MSG_MEM_RESP);
            t = done;
            from = d->mem;
        }
        t = scim_fabric_fast_travel(f, from, self, resp_wire, t, &booked, &hops);
        /* the event path's remaining events: the one taken over (which
         * still runs, doing nothing), an arrival per hop, the respond if
         * still ahead, and the last arrival (the completion, which runs).
         * In a link: 1 + hops + 1 events, 2 run; held by the memory or
         * on its way back: 1 + hops, 2 run. */
        scim_kernel_add_skipped(d->k, in_link ? hops : hops - 1);
        c->tag = m->tag;
        c->adopted = true;
        c->msg = NULL;
        scim_fabric_adopt(f, m);
        d->slow_mem--;
        finish(d, order[i], t, booked);
    }
    return true;
}

bool scim_dev_fast_access(scim_device *d, int32_t ci, const scim_replay_chunk *rc, scim_time_t sched)
{
    scim_kernel *k = d->k;
    scim_fabric *f = scim_port_fabric(d->port);
    void *owner = scim_fabric_fast_owner(f);
    /* cheapest first: with a miss in flight (most often) the fabric says so */
    if (scim_fabric_in_flight(f) > d->slow_mem || (owner && owner != d) || !scim_kernel_fast_allowed(k))
        return false;
    size_t mine = d->n_lookups + d->fast_n + scim_replay_events_pending(d->replay) + scim_fabric_ghosts(f) +
                  d->slow_mem;
    if (scim_kernel_pending(k) != mine)
        return false;
    if (d->slow_mem && !adopt_all(d))
        return false;
    chunk *c = &d->chunks[ci];
    scim_msg_type type = rc->write ? SCIM_MSG_MEM_WRITE : SCIM_MSG_MEM_READ;
    scim_port_credits *credits;
    if (!scim_port_fast_take(d->port, type, d->mem, sched, &credits))
        return false;
    const scim_fast_route *r = d->fast_routes;
    scim_time_t booked = 0;
    uint32_t resp_wire;
    scim_time_t at = scim_fabric_fast_travel_route(f, &r[0], scim_port_wire(d->port, rc->write ? rc->len : 0),
                                                   scim_kernel_time(k), &booked);
    scim_time_t done = scim_fabric_fast_serve(f, d->mem, type, rc->len, at, &resp_wire);
    scim_port_fast_release(d->port, credits, done, at);
    scim_time_t t_end = scim_fabric_fast_travel_route(f, &r[1], resp_wire, done, &booked);
    unsigned hops = r[0].n + r[1].n;
    scim_fabric_count_sent(f, type);
    scim_fabric_count_sent(f, SCIM_MSG_MEM_RESP);
    /* the event path: an arrival per hop and the respond; the last
     * arrival is the completion, which runs */
    scim_kernel_add_skipped(k, hops);
    c->msg = NULL;
    finish(d, ci, t_end, booked);
    return true;
}

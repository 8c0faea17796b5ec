/* Fabric: nodes, links, routes and timed message delivery.
 * Modelling notes are in include/scimitar/fabric.h (store-and-forward hops,
 * per-direction FIFO links, latency-shortest routes). */
#include "core/fabric.h"

#include "core/fast.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "core/rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 48

typedef struct node {
    char name[NAME_MAX_LEN];
    scim_recv_fn recv;
    void *ctx;
    struct scim_port *port;
    scim_fast_svc_fn fast_svc; /* core/fast.h */
    void *fast_ctx;
} node;

/* One direction of a link. */
typedef struct link_dir {
    scim_time_t busy_until;
    /* not statistics: copies of the link's, so that a hop needs only its direction */
    scim_time_t latency;
    scim_node_id to; /* the node this direction delivers to */
    uint64_t msgs;
    uint64_t bytes;
    uint64_t busy_ps;     /* time spent serialising: utilisation = busy_ps / sim time */
    uint64_t queued;      /* messages that had to wait for the link */
    scim_hist *queue_delay;
    /* not statistics */
    scim_rate rate; /* serialisation time, with a memo of this direction's last size */
    int fifo;       /* the kernel FIFO of its arrivals: a direction delivers in the order it was entered */
    scim_time_t ahead; /* fast path: 1 + the latest time it was booked ahead of (core/fast.h) */
} link_dir;

typedef struct link {
    scim_node_id a, b;
    scim_time_t latency;
    uint64_t bytes_per_s;
    link_dir dir[2]; /* 0: a->b, 1: b->a */
} link;

struct scim_fabric {
    scim_kernel *k;
    scim_fabric_params p;
    node *nodes;
    size_t n_nodes, cap_nodes;
    link *links;
    size_t n_links, cap_links;
    /* [src * n + dst] -> the first link direction of the route, NULL for
     * self: one load per hop instead of a link index, its direction and
     * its far end */
    link_dir **route;
    uint8_t *route_hops;
    bool finalized;
    scim_msg *free_list;
    /* every allocated message block, for destroy */
    scim_msg **blocks;
    size_t n_blocks, cap_blocks;
    uint64_t in_flight;
    uint64_t sent_by_type[SCIM_MSG_TYPE_COUNT];
    int payload_shift; /* log2(max_payload) when it is a power of two, else -1 */
    uint64_t ghosts;   /* messages the fast path took over whose event is still to come */
    void *fast_owner;
};

scim_fabric *scim_fabric_create(scim_kernel *k, const scim_fabric_params *p, scim_err *err)
{
    if (p->max_payload == 0) {
        scim_err_set(err, SCIM_ERANGE, "fabric.max_payload must be > 0");
        return NULL;
    }
    scim_fabric *f = calloc(1, sizeof *f);
    if (!f) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the fabric");
        return NULL;
    }
    f->k = k;
    f->p = *p;
    f->payload_shift = -1;
    if ((p->max_payload & (p->max_payload - 1)) == 0)
        f->payload_shift = __builtin_ctzll(p->max_payload);
    return f;
}

void scim_fabric_destroy(scim_fabric *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_blocks; i++)
        free(f->blocks[i]);
    free(f->blocks);
    free(f->nodes);
    free(f->links);
    free(f->route);
    free(f->route_hops);
    free(f);
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) >= NAME_MAX_LEN)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

int scim_fabric_add_node(scim_fabric *f, const char *name, scim_recv_fn recv, void *ctx,
                         scim_node_id *id, scim_err *err)
{
    if (f->finalized)
        return scim_err_set(err, SCIM_ESTATE, "cannot add node '%s': the fabric is finalized", name);
    if (!valid_name(name))
        return scim_err_set(err, SCIM_EINVAL,
                            "bad node name '%s': use 1-%d characters from [a-z0-9_]", name,
                            NAME_MAX_LEN - 1);
    if (scim_fabric_find(f, name) != SCIM_NODE_NONE)
        return scim_err_set(err, SCIM_EEXIST, "two fabric nodes are named '%s'; names must be unique",
                            name);
    if (f->n_nodes >= SCIM_NODE_NONE)
        return scim_err_set(err, SCIM_ERANGE, "too many fabric nodes (max %d)", SCIM_NODE_NONE);
    if (f->n_nodes == f->cap_nodes) {
        size_t nc = f->cap_nodes ? f->cap_nodes * 2 : 16;
        node *n = realloc(f->nodes, nc * sizeof *n);
        if (!n)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding node '%s'", name);
        f->nodes = n;
        f->cap_nodes = nc;
    }
    node *nd = &f->nodes[f->n_nodes];
    memset(nd, 0, sizeof *nd);
    strcpy(nd->name, name);
    nd->recv = recv;
    nd->ctx = ctx;
    if (id)
        *id = (scim_node_id)f->n_nodes;
    f->n_nodes++;
    return 0;
}

scim_node_id scim_fabric_find(const scim_fabric *f, const char *name)
{
    for (size_t i = 0; i < f->n_nodes; i++)
        if (strcmp(f->nodes[i].name, name) == 0)
            return (scim_node_id)i;
    return SCIM_NODE_NONE;
}

const char *scim_fabric_node_name(const scim_fabric *f, scim_node_id id)
{
    return id < f->n_nodes ? f->nodes[id].name : "?";
}

size_t scim_fabric_node_count(const scim_fabric *f) { return f->n_nodes; }

int scim_fabric_add_link(scim_fabric *f, scim_node_id a, scim_node_id b, scim_time_t latency,
                         uint64_t bytes_per_s, scim_err *err)
{
    if (f->finalized)
        return scim_err_set(err, SCIM_ESTATE, "cannot add a link: the fabric is finalized");
    if (a >= f->n_nodes || b >= f->n_nodes)
        return scim_err_set(err, SCIM_EINVAL, "link endpoint is not a fabric node");
    if (a == b)
        return scim_err_set(err, SCIM_EINVAL, "a link from node '%s' to itself is not allowed",
                            f->nodes[a].name);
    for (size_t i = 0; i < f->n_links; i++)
        if ((f->links[i].a == a && f->links[i].b == b) || (f->links[i].a == b && f->links[i].b == a))
            return scim_err_set(err, SCIM_EEXIST, "two links join '%s' and '%s'; keep one",
                                f->nodes[a].name, f->nodes[b].name);
    if (f->n_links == f->cap_links) {
        size_t nc = f->cap_links ? f->cap_links * 2 : 16;
        link *n = realloc(f->links, nc * sizeof *n);
        if (!n)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a link");
        f->links = n;
        f->cap_links = nc;
    }
    link *l = &f->links[f->n_links++];
    memset(l, 0, sizeof *l);
    l->a = a;
    l->b = b;
    l->latency = latency;
    l->bytes_per_s = bytes_per_s;
    for (int d = 0; d < 2; d++) {
        scim_rate_init(&l->dir[d].rate, bytes_per_s);
        l->dir[d].latency = latency;
    }
    l->dir[0].to = b;
    l->dir[1].to = a;
    return 0;
}

const scim_stat_decl scim_fabric_link_stat_decls[] = {
    {"msgs", SCIM_STAT_COUNTER, "count", "Messages that crossed the link in this direction.",
     offsetof(link_dir, msgs)},
    {"bytes", SCIM_STAT_COUNTER, "bytes", "Wire bytes (headers included) sent in this direction.",
     offsetof(link_dir, bytes)},
    {"busy_ps", SCIM_STAT_COUNTER, "ps",
     "Time the direction spent serialising messages; divide by sim.time_ps for utilisation.",
     offsetof(link_dir, busy_ps)},
    {"queued", SCIM_STAT_COUNTER, "count", "Messages that found the direction busy and waited.",
     offsetof(link_dir, queued)},
    {"queue_delay", SCIM_STAT_HIST, "ps", "Time each message waited for the direction to be free.",
     offsetof(link_dir, queue_delay)},
};

const size_t scim_fabric_link_stat_decl_count = SCIM_COUNT_OF(scim_fabric_link_stat_decls);

const scim_param_decl scim_fabric_param_decls[] = {
    {"header_bytes", SCIM_P_U64, "24", "bytes", true, 0, 4096, NULL, offsetof(scim_fabric_params, header_bytes),
     "Wire overhead per packet (header, framing, sequence number, CRC).",
     "derived: PCIe TLP 4DW header 16 B + framing 2 B + sequence 2 B + LCRC 4 B"},
    {"max_payload", SCIM_P_U64, "256", "bytes", true, 1, 1048576, NULL, offsetof(scim_fabric_params, max_payload),
     "Payload bytes per packet; larger transfers pay one header per packet.",
     "PCIe Max Payload Size commonly 256 B (Neugebauer et al., SIGCOMM'18)"},
    {"iommu_mem.latency", SCIM_P_TIME, "20ns", "ns", false, 0, 0, NULL,
     offsetof(scim_fabric_params, iommu_mem_latency),
     "Default topology: one-way latency between the IOMMU (root complex) and the memory controller.",
     "assumption: on-die interconnect"},
    {"iommu_mem.bandwidth", SCIM_P_BANDWIDTH, "64GB/s", "B/s", false, 0, 0, NULL,
     offsetof(scim_fabric_params, iommu_mem_bandwidth), "Default topology: bandwidth of that link.",
     "assumption"},
    {"os.latency", SCIM_P_TIME, "50ns", "ns", false, 0, 0, NULL, offsetof(scim_fabric_params, os_latency),
     "Default topology: one-way latency between the host CPU running the OS and the memory controller, "
     "and between it and the IOMMU.",
     "assumption: on-die interconnect plus MMIO/interrupt delivery"},
    {"os.bandwidth", SCIM_P_BANDWIDTH, "64GB/s", "B/s", false, 0, 0, NULL, offsetof(scim_fabric_params, os_bandwidth),
     "Default topology: bandwidth of those links.", "assumption"},
    {"links", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(scim_fabric_params, links),
     "Explicit topology: a list of {a, b, latency, bandwidth}; replaces the default topology, and must "
     "connect every node (mem, iommu, os, each device).",
     NULL},
};
const size_t scim_fabric_param_decl_count = SCIM_COUNT_OF(scim_fabric_param_decls);

const scim_param_decl scim_link_param_decls[] = {
    {"a", SCIM_P_STRING, NULL, NULL, false, 0, 0, NULL, offsetof(scim_link_params, a),
     "One end: a node name (mem, iommu, os, or a device's name).", NULL},
    {"b", SCIM_P_STRING, NULL, NULL, false, 0, 0, NULL, offsetof(scim_link_params, b), "The other end.", NULL},
    {"latency", SCIM_P_TIME, NULL, "ns", false, 0, 0, NULL, offsetof(scim_link_params, latency),
     "One-way latency of the link.", NULL},
    {"bandwidth", SCIM_P_BANDWIDTH, "0", "B/s", false, 0, 0, NULL, offsetof(scim_link_params, bandwidth),
     "Bandwidth per direction; 0 = unlimited.", NULL},
};
const size_t scim_link_param_decl_count = SCIM_COUNT_OF(scim_link_param_decls);

/* Dijkstra from every source; O(n^2) per source is fine for the tens of
 * nodes a system has. Cost = (total latency, hops, node id) so that routes
 * are deterministic. */
static int compute_routes(scim_fabric *f, scim_err *err)
{
    size_t n = f->n_nodes;
    f->route = malloc(n * n * sizeof *f->route);
    f->route_hops = malloc(n * n);
    scim_time_t *dist = malloc(n * sizeof *dist);
    uint32_t *hops = malloc(n * sizeof *hops);
    int32_t *first = malloc(n * sizeof *first);
    bool *done = malloc(n);
    if (!f->route || !f->route_hops || !dist || !hops || !first || !done) {
        free(dist), free(hops), free(first), free(done);
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory computing routes");
    }
    int rc = 0;
    for (size_t s = 0; s < n && rc == 0; s++) {
        for (size_t i = 0; i < n; i++) {
            dist[i] = SCIM_TIME_MAX;
            hops[i] = UINT32_MAX;
            first[i] = -1;
            done[i] = false;
        }
        dist[s] = 0;
        hops[s] = 0;
        for (;;) {
            size_t u = n;
            for (size_t i = 0; i < n; i++)
                if (!done[i] && dist[i] != SCIM_TIME_MAX &&
                    (u == n || dist[i] < dist[u] || (dist[i] == dist[u] && hops[i] < hops[u])))
                    u = i;
            if (u == n)
                break;
            done[u] = true;
            for (size_t li = 0; li < f->n_links; li++) {
                const link *l = &f->links[li];
                size_t v;
                int dir;
                if (l->a == u) {
                    v = l->b;
                    dir = 0;
                } else if (l->b == u) {
                    v = l->a;
                    dir = 1;
                } else {
                    continue;
                }
                if (done[v])
                    continue;
                scim_time_t nd = dist[u] + l->latency;
                uint32_t nh = hops[u] + 1;
                if (nd < dist[v] || (nd == dist[v] && nh < hops[v])) {
                    dist[v] = nd;
                    hops[v] = nh;
                    first[v] = (u == s) ? (int32_t)(li * 2 + (size_t)dir) : first[u];
                }
            }
        }
        for (size_t d = 0; d < n; d++) {
            if (d != s && dist[d] == SCIM_TIME_MAX) {
                rc = scim_err_set(err, SCIM_ECONFIG,
                                  "fabric node '%s' cannot reach '%s': add a link (fabric.links) that "
                                  "connects them",
                                  f->nodes[s].name, f->nodes[d].name);
                break;
            }
            f->route[s * n + d] = d == s ? NULL : &f->links[first[d] >> 1].dir[first[d] & 1];
            f->route_hops[s * n + d] = (uint8_t)(hops[d] > 255 ? 255 : hops[d]);
        }
    }
    free(dist), free(hops), free(first), free(done);
    return rc;
}

static void arrive(void *ctx, uint64_t arg);

int scim_fabric_finalize(scim_fabric *f, scim_stats *stats, scim_err *err)
{
    if (f->finalized)
        return 0;
    for (size_t i = 0; i < f->n_nodes; i++)
        if (!f->nodes[i].recv)
            return scim_err_set(err, SCIM_ECONFIG, "fabric node '%s' has no component attached",
                                f->nodes[i].name);
    int rc = compute_routes(f, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < f->n_links; i++)
        for (int d = 0; d < 2; d++)
            if ((f->links[i].dir[d].fifo = scim_kernel_fifo_create(f->k, arrive, f)) < 0)
                return scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the fabric's event FIFOs");
    if (stats) {
        for (size_t i = 0; i < f->n_links; i++) {
            link *l = &f->links[i];
            char prefix[160];
            snprintf(prefix, sizeof prefix, "fabric.%s.%s", f->nodes[l->a].name, f->nodes[l->b].name);
            rc = scim_stats_register(stats, prefix, scim_fabric_link_stat_decls, scim_fabric_link_stat_decl_count,
                                     &l->dir[0], err);
            if (rc)
                return rc;
            snprintf(prefix, sizeof prefix, "fabric.%s.%s", f->nodes[l->b].name, f->nodes[l->a].name);
            rc = scim_stats_register(stats, prefix, scim_fabric_link_stat_decls, scim_fabric_link_stat_decl_count,
                                     &l->dir[1], err);
            if (rc)
                return rc;
        }
        for (int t = 0; t < SCIM_MSG_TYPE_COUNT; t++) {
            char name[64], desc[128];
            snprintf(name, sizeof name, "fabric.sent.%s", scim_msg_type_name((scim_msg_type)t));
            snprintf(desc, sizeof desc, "Messages of type %s sent (end to end, not per hop).",
                     scim_msg_type_name((scim_msg_type)t));
            rc = scim_stats_add_counter(stats, name, "count", desc, &f->sent_by_type[t], err);
            if (rc)
                return rc;
        }
    }
    f->finalized = true;
    return 0;
}

/* Zero a message with 16-byte stores. GCC compiles a plain memset (or a
 * struct assignment) of a message, about 200 bytes, to `rep stos`, whose
 * start-up costs more than the stores (and callgrind counts each of its
 * 8-byte words): every request allocates one. The empty asm keeps the
 * compiler from turning the loop back into that memset; the loop is still
 * fully unrolled. */
typedef uint64_t msg_chunk __attribute__((vector_size(16), may_alias, aligned(8)));

static inline void clear_msg(scim_msg *m)
{
    enum { CHUNKS = sizeof *m / sizeof(msg_chunk) };
    msg_chunk *w = (msg_chunk *)(void *)m;
    for (size_t i = 0; i < CHUNKS; i++) {
        w[i] = (msg_chunk){0, 0};
        __asm__("");
    }
    memset((unsigned char *)m + CHUNKS * sizeof(msg_chunk), 0, sizeof *m % sizeof(msg_chunk));
}

/* A new block of messages on the free list; false if out of host memory.
 * Out of line (and cold) so that allocating from the list needs no stack
 * frame. */
static __attribute__((noinline, cold)) bool grow_free_list(scim_fabric *f)
{
    enum { BLOCK = 256 };
    if (f->n_blocks == f->cap_blocks) {
        size_t nc = f->cap_blocks ? f->cap_blocks * 2 : 16;
        scim_msg **nb = realloc(f->blocks, nc * sizeof *nb);
        if (!nb)
            return false;
        f->blocks = nb;
        f->cap_blocks = nc;
    }
    scim_msg *b = malloc(BLOCK * sizeof *b);
    if (!b)
        return false;
    f->blocks[f->n_blocks++] = b;
    for (size_t i = 0; i < BLOCK; i++) {
        b[i].next_free = f->free_list;
        f->free_list = &b[i];
    }
    return true;
}

scim_msg *scim_msg_alloc(scim_fabric *f)
{
    if (__builtin_expect(!f->free_list, 0) && !grow_free_list(f))
        return NULL;
    scim_msg *m = f->free_list;
    f->free_list = m->next_free;
    clear_msg(m);
    m->src = m->dst = m->at = SCIM_NODE_NONE;
    return m;
}

void scim_msg_free(scim_fabric *f, scim_msg *m)
{
    if (!m)
        return;
    m->next_free = f->free_list;
    f->free_list = m;
}

uint32_t scim_fabric_wire_bytes(const scim_fabric *f, uint64_t payload)
{
    uint64_t packets = !payload                ? 1
                       : f->payload_shift >= 0 ? ((payload - 1) >> f->payload_shift) + 1 /* no division */
                                               : (payload - 1) / f->p.max_payload + 1;
    uint64_t w = payload + packets * f->p.header_bytes;
    return w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

static void hop(scim_fabric *f, scim_msg *m);

static void arrive(void *ctx, uint64_t arg)
{
    scim_fabric *f = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    if (m->ghost) {
        scim_fabric_ghost_done(f, m);
        return;
    }
    if (m->at == m->dst) {
        f->in_flight--;
        m->arrived = scim_kernel_time(f->k);
        node *nd = &f->nodes[m->dst];
        nd->recv(nd->ctx, m);
        return;
    }
    hop(f, m);
}

/* Put m on the next link of its route from node m->at. */
static void hop(scim_fabric *f, scim_msg *m)
{
    link_dir *d = f->route[(size_t)m->at * f->n_nodes + m->dst];
    scim_time_t now = scim_kernel_time(f->k);
    if (now < d->ahead)
        scim_kernel_fast_conflict(f->k, "a link was booked ahead of a message that reached it earlier");
    uint32_t wire = m->wire_bytes;
    scim_time_t busy = d->busy_until;
    scim_time_t start = busy > now ? busy : now;
    scim_time_t ser = scim_rate_time(&d->rate, wire);
    if (start > now)
        d->queued++;
    if (d->queue_delay)
        scim_hist_record(d->queue_delay, start - now);
    scim_time_t left = start + ser, due = left + d->latency;
    d->busy_until = left;
    d->busy_ps += ser;
    d->msgs++;
    d->bytes += wire;
    m->at = d->to;
    m->due = due;
    /* arrivals leave in entry order: start and start + ser never decrease */
    scim_kernel_fifo_at(f->k, d->fifo, due, SCIM_PRIO_DEFAULT, (uint64_t)(uintptr_t)m);
}

void scim_fabric_send(scim_fabric *f, scim_msg *m)
{
    m->sent_at = scim_kernel_time(f->k);
    m->at = m->src;
    f->in_flight++;
    if ((unsigned)m->type < SCIM_MSG_TYPE_COUNT)
        f->sent_by_type[m->type]++;
    if (m->src == m->dst) {
        scim_kernel_schedule(f->k, 0, SCIM_PRIO_DEFAULT, arrive, f, (uint64_t)(uintptr_t)m);
        return;
    }
    hop(f, m);
}

struct scim_port *scim_fabric_port(const scim_fabric *f, scim_node_id id)
{
    return id < f->n_nodes ? f->nodes[id].port : NULL;
}

void scim_fabric_set_port(scim_fabric *f, scim_node_id id, struct scim_port *port)
{
    if (id < f->n_nodes)
        f->nodes[id].port = port;
}

scim_kernel *scim_fabric_kernel(const scim_fabric *f) { return f->k; }

scim_time_t scim_fabric_unloaded_latency(const scim_fabric *f, scim_node_id a, scim_node_id b,
                                         uint32_t wire_bytes)
{
    scim_time_t t = 0;
    scim_node_id at = a;
    while (at != b) {
        const link_dir *d = f->route[(size_t)at * f->n_nodes + b];
        t += scim_rate_time_ref(d->rate.bps, wire_bytes) + d->latency;
        at = d->to;
    }
    return t;
}

int scim_fabric_hops(const scim_fabric *f, scim_node_id a, scim_node_id b)
{
    return f->route_hops[(size_t)a * f->n_nodes + b];
}

uint64_t scim_fabric_in_flight(const scim_fabric *f) { return f->in_flight; }

/* ---- the fast path (core/fast.h) ---- */

void scim_fabric_set_fast_svc(scim_fabric *f, scim_node_id id, scim_fast_svc_fn fn, void *ctx)
{
    if (id < f->n_nodes) {
        f->nodes[id].fast_svc = fn;
        f->nodes[id].fast_ctx = ctx;
    }
}

bool scim_fabric_fast_serves(const scim_fabric *f, scim_node_id id)
{
    return id < f->n_nodes && f->nodes[id].fast_svc;
}

scim_time_t scim_fabric_fast_serve(scim_fabric *f, scim_node_id to, scim_msg_type type, uint64_t len, scim_time_t at,
                                   uint32_t *resp_wire)
{
    node *nd = &f->nodes[to];
    return nd->fast_svc(nd->fast_ctx, type, len, at, resp_wire);
}

/* One link direction booked for a message ready at t, as hop() would book
 * it (the same FIFO and statistics); returns when its last byte left. */
static inline scim_time_t book_hop(link_dir *d, uint32_t wire, scim_time_t t, scim_time_t now, scim_time_t *booked)
{
    scim_time_t start = d->busy_until > t ? d->busy_until : t;
    scim_time_t ser = scim_rate_time(&d->rate, wire);
    if (start > t)
        d->queued++;
    if (d->queue_delay)
        scim_hist_record(d->queue_delay, start - t);
    d->busy_until = start + ser;
    d->busy_ps += ser;
    d->msgs++;
    d->bytes += wire;
    if (t > now && t + 1 > d->ahead)
        d->ahead = t + 1;
    *booked = t;
    return start + ser;
}

/* As hop() would book it at time t (the same FIFO and statistics). */
scim_time_t scim_fabric_fast_travel(scim_fabric *f, scim_node_id from, scim_node_id to, uint32_t wire, scim_time_t t,
                                    scim_time_t *booked, unsigned *hops)
{
    scim_time_t now = scim_kernel_time(f->k);
    while (from != to) {
        link_dir *d = f->route[(size_t)from * f->n_nodes + to];
        t = book_hop(d, wire, t, now, booked) + d->latency;
        (*hops)++;
        from = d->to;
    }
    return t;
}

int scim_fabric_fast_route(const scim_fabric *f, scim_node_id from, scim_node_id to, scim_fast_route *r)
{
    r->n = 0;
    while (from != to) {
        if (r->n == SCIM_FAST_ROUTE_MAX)
            return -1;
        link_dir *d = f->route[(size_t)from * f->n_nodes + to];
        r->dir[r->n] = d;
        r->latency[r->n++] = d->latency;
        from = d->to;
    }
    return 0;
}

/* The same bookings as scim_fabric_fast_travel, without the route lookups. */
scim_time_t scim_fabric_fast_travel_route(scim_fabric *f, const scim_fast_route *r, uint32_t wire, scim_time_t t,
                                          scim_time_t *booked)
{
    scim_time_t now = scim_kernel_time(f->k);
    for (unsigned i = 0; i < r->n; i++) {
        t = book_hop(r->dir[i], wire, t, now, booked) + r->latency[i];
    }
    return t;
}

scim_time_t scim_fabric_min_latency_into(const scim_fabric *f, scim_node_id n)
{
    scim_time_t best = SCIM_TIME_MAX;
    for (size_t i = 0; i < f->n_links; i++)
        if ((f->links[i].a == n || f->links[i].b == n) && f->links[i].latency < best)
            best = f->links[i].latency;
    return best == SCIM_TIME_MAX ? 0 : best;
}

void scim_fabric_count_sent(scim_fabric *f, scim_msg_type type)
{
    if ((unsigned)type < SCIM_MSG_TYPE_COUNT)
        f->sent_by_type[type]++;
}

void scim_fabric_adopt(scim_fabric *f, scim_msg *m)
{
    if (!m->in_svc)
        f->in_flight--;
    m->ghost = true;
    f->ghosts++;
}

void scim_fabric_ghost_done(scim_fabric *f, scim_msg *m)
{
    f->ghosts--;
    scim_msg_free(f, m);
}

uint64_t scim_fabric_ghosts(const scim_fabric *f) { return f->ghosts; }
void *scim_fabric_fast_owner(const scim_fabric *f) { return f->fast_owner; }
void scim_fabric_set_fast_owner(scim_fabric *f, void *owner) { f->fast_owner = owner; }

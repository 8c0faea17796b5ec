/* The device fast path's hooks in the kernel, the fabric and ports
 * (sim.fast_path; the path itself is device/fast.c, the rules are in
 * docs/architecture.md "Fast path").
 *
 * A device access that hits its IOTLB while nothing but that device is
 * active is booked at once: every link it crosses and the memory it uses
 * take it at the times its per-hop events would have, and one event
 * completes it. What it books ahead of time is marked, so that anything
 * else that would have come first (an event-path booking of the same
 * link or memory earlier than the fast one, a memory credit freed at the
 * very time it is taken, an event at a fast completion's time that the
 * event path would have ordered first) is noticed: the kernel then stops
 * with a conflict and the simulation redoes the run without the fast path,
 * so statistics never depend on it.
 */
#ifndef SCIM_CORE_FAST_H
#define SCIM_CORE_FAST_H

#include "core/fabric.h"
#include "scimitar/kernel.h"

struct scim_port;

/* ---- kernel ---- */
void scim_kernel_set_fast(scim_kernel *k, bool on);
/* The fast path is allowed (on, and no conflict yet). */
bool scim_kernel_fast(const scim_kernel *k);
/* Events the fast path stood in for; sim.events counts the model's
 * logical events: executed + skipped. */
void scim_kernel_add_skipped(scim_kernel *k, uint64_t n);
uint64_t scim_kernel_events_logical(const scim_kernel *k);
/* fn is called for every event scheduled at least `lead` ahead of now. */
typedef void (*scim_watch_fn)(void *ctx, scim_time_t when, int prio);
void scim_kernel_set_watch(scim_kernel *k, scim_time_t lead, scim_watch_fn fn, void *ctx);
/* Something the fast path booked ahead would be wrong: stop the run. */
void scim_kernel_fast_conflict(scim_kernel *k, const char *what);
bool scim_kernel_fast_conflicted(const scim_kernel *k);
/* An event's place in the order (time, priority, sequence), taken when it
 * is due to be scheduled, so that a handler can decide at its end, when
 * everything it schedules is known, whether that event would be the very
 * next to run: then it is done at once (no heap, no dispatch), else
 * scheduled in the place it would have had. Either way the order is the
 * event path's. */
typedef struct scim_kernel_slot {
    scim_time_t when;
    uint64_t order; /* priority and sequence */
} scim_kernel_slot;
scim_kernel_slot scim_kernel_reserve(scim_kernel *k, scim_time_t when, int prio);
/* True when, inside a dispatch, slot s is the next event to run and within
 * the run's bound: the clock moves to s.when and the event counts as
 * skipped (sim.events counts it); the caller then does what it would. */
bool scim_kernel_take_next(scim_kernel *k, scim_kernel_slot s);
/* scim_kernel_fifo_at, but not shown to the watch: for the watcher's own
 * completions, which their FIFO already orders among themselves. */
void scim_kernel_fifo_at_unwatched(scim_kernel *k, int id, scim_time_t when, int prio, uint64_t arg);
/* Schedule on FIFO id in slot s's place. */
void scim_kernel_fifo_at_slot(scim_kernel *k, int id, scim_kernel_slot s, uint64_t arg);
/* Inside a dispatch, at the end of one of FIFO id's events: true when the
 * FIFO's oldest event is the next to run and within the run's bound; it is
 * then taken as the dispatcher would take it (dormant events due before it
 * pass first, the clock moves to its time, it counts as executed) and its
 * argument is in *arg: the caller runs it at once, in a loop rather than
 * through the dispatcher. The order of execution is the dispatcher's. */
bool scim_kernel_fifo_take_next(scim_kernel *k, int id, uint64_t *arg);

/* ---- fabric ---- */
/* A node that serves requests (memory): books a request of `type` for
 * `len` bytes arriving at `at` as its handler would then, returns when its
 * answer leaves and, in *resp_wire, the answer's wire bytes. */
typedef scim_time_t (*scim_fast_svc_fn)(void *ctx, scim_msg_type type, uint64_t len, scim_time_t at,
                                        uint32_t *resp_wire);
void scim_fabric_set_fast_svc(scim_fabric *f, scim_node_id node, scim_fast_svc_fn fn, void *ctx);
bool scim_fabric_fast_serves(const scim_fabric *f, scim_node_id node);
/* Book such a request at node `to` (one that serves, above). */
scim_time_t scim_fabric_fast_serve(scim_fabric *f, scim_node_id to, scim_msg_type type, uint64_t len, scim_time_t at,
                                   uint32_t *resp_wire);
/* Book `wire` bytes over the route from `from` (reached at t) to `to`, hop
 * by hop as the event path would; returns the arrival time at `to`. A hop
 * booked later than now is marked ahead. *booked: when the last hop was
 * booked; *hops is incremented per hop. */
scim_time_t scim_fabric_fast_travel(scim_fabric *f, scim_node_id from, scim_node_id to, uint32_t wire, scim_time_t t,
                                    scim_time_t *booked, unsigned *hops);
/* A route's link directions, looked up once (a device's to and from
 * memory). */
#define SCIM_FAST_ROUTE_MAX 8
typedef struct scim_fast_route {
    void *dir[SCIM_FAST_ROUTE_MAX];
    scim_time_t latency[SCIM_FAST_ROUTE_MAX];
    unsigned n;
} scim_fast_route;
/* 0, or -1 if the route has more than SCIM_FAST_ROUTE_MAX hops. */
int scim_fabric_fast_route(const scim_fabric *f, scim_node_id from, scim_node_id to, scim_fast_route *r);
/* scim_fabric_fast_travel over route r, its first hop booked at t. */
scim_time_t scim_fabric_fast_travel_route(scim_fabric *f, const scim_fast_route *r, uint32_t wire, scim_time_t t,
                                          scim_time_t *booked);
/* The smallest latency of a link into node n. */
scim_time_t scim_fabric_min_latency_into(const scim_fabric *f, scim_node_id n);
void scim_fabric_count_sent(scim_fabric *f, scim_msg_type type);
/* Take over message m whose pending event is still to come: the event
 * only frees it (scim_fabric_ghost_done). */
void scim_fabric_adopt(scim_fabric *f, scim_msg *m);
void scim_fabric_ghost_done(scim_fabric *f, scim_msg *m);
uint64_t scim_fabric_ghosts(const scim_fabric *f);
/* The one device whose fast accesses are in flight, or NULL. */
void *scim_fabric_fast_owner(const scim_fabric *f);
void scim_fabric_set_fast_owner(scim_fabric *f, void *owner);

/* ---- ports ---- */
/* The input queue whose credits a request takes (NULL: none). */
typedef struct scim_port_credits scim_port_credits;
/* Take the credit a request of `type` to `dst` needs, now, from an event
 * scheduled at `sched` (to order it against a credit freed at this very
 * time); false if the queue is full (the access takes the event path).
 * *credits: the queue it came from, for scim_port_fast_release. */
bool scim_port_fast_take(struct scim_port *p, scim_msg_type type, scim_node_id dst, scim_time_t sched,
                         scim_port_credits **credits);
/* That credit is freed at `when`, by an event that would have been
 * scheduled at `key`. */
void scim_port_fast_release(struct scim_port *p, scim_port_credits *credits, scim_time_t when, scim_time_t key);
/* The same for a credit an event-path request took. */
void scim_port_fast_release_at(struct scim_port *p, scim_msg_type type, scim_node_id dst, scim_time_t when,
                               scim_time_t key);
/* Forget the tag of a request the fast path completed. */
void scim_port_forget(struct scim_port *p, uint64_t tag);

#endif

/* Ports: how a block attaches to the fabric. Each endpoint (memory
 * controller, IOMMU, OS, device, CPU core, shadow copy) owns one port; the
 * port is its fabric node.
 *
 *  - Tags. A request is sent with scim_port_request(port, client, id, m):
 *    the port allocates the tag, remembers (client, id, when), and routes the
 *    response to that client's handler with m->tag = id. A block's
 *    sub-blocks (its page walker, its context reader) are clients of its
 *    port; nothing is encoded in tag bits.
 *  - Credits. A receiver declares bounded input queues (scim_port_queue):
 *    a queue holds the requests of some types from the moment they are sent
 *    to it until the receiver replies. A request is sent only with a credit
 *    (a free place in the receiver's queue); without one it waits at the
 *    sender, in FIFO order among all senders, and leaves when a reply frees
 *    a place. The wait is counted at the sender (<node>.port.credit_waits,
 *    <node>.port.credit_wait) and the queue's peak occupancy at the receiver
 *    (<node>.queue.<name>.peak). Responses need no credit: the requester
 *    set aside room for the answer when it asked (PCIe completions, CHI
 *    responses). Queues a receiver does not declare are unbounded
 *    (software queues of the OS, interrupt pending bits).
 *  - Credits return at the moment of the reply (no credit-update message
 *    on the wire): the modelled buffer is the receiver's request queue, not
 *    the link layer's, whose credits PCIe returns within a few hundred ns.
 *  - Outstanding requests have an age: scim_port_oldest() gives the oldest
 *    one for the watchdog (src/sim/), which names it in its report.
 */
#ifndef SCIM_CORE_PORT_H
#define SCIM_CORE_PORT_H

#include "core/fabric.h"

typedef struct scim_port scim_port;

/* A request arrived (the receiver owns m; it answers with scim_port_reply). */
typedef void (*scim_port_request_fn)(void *ctx, scim_msg *m);
/* A response to a request of this client arrived; m->tag is the id the
 * client gave; the client owns m and frees it (scim_port_free). */
typedef void (*scim_port_response_fn)(void *ctx, scim_msg *m);

#define SCIM_PORT_OWNER 0 /* client 0: the block that created the port */
#define SCIM_PORT_MAX_CLIENTS 8

/* Create the port and its fabric node `name`. Statistics go under
 * "<name>.port." and "<name>.queue.". */
scim_port *scim_port_create(scim_fabric *f, const char *name, scim_port_request_fn on_request,
                            scim_port_response_fn on_response, void *ctx, scim_stats *stats, scim_err *err);
void scim_port_destroy(scim_port *p);
scim_node_id scim_port_node(const scim_port *p);
const char *scim_port_name(const scim_port *p);
scim_fabric *scim_port_fabric(const scim_port *p);
/* A sub-block that sends requests through this port; returns its client
 * number (> 0) or a negative error. */
int scim_port_add_client(scim_port *p, scim_port_response_fn on_response, void *ctx);
/* A bounded input queue for the request types in `type_mask` (bits
 * 1u << SCIM_MSG_*), `capacity` requests (0: unbounded). Before finalize. */
int scim_port_queue(scim_port *p, const char *name, uint32_t type_mask, uint64_t capacity, scim_stats *stats,
                    scim_err *err);

/* A new message of `type` from this port to `dst`, header-only on the
 * wire until the caller sets wire_bytes; NULL (and the kernel failed) if
 * the host is out of memory. */
scim_msg *scim_port_msg(scim_port *p, scim_msg_type type, scim_node_id dst);
/* Send request m for `client` with the client's `id` now / at `when`. */
void scim_port_request(scim_port *p, int client, uint64_t id, scim_msg *m);
void scim_port_request_at(scim_port *p, scim_time_t when, int client, uint64_t id, scim_msg *m);
/* Send posted request m (SCIM_MSG_DOORBELL): no tag, no response, no
 * credit (a PCIe posted write; the receiver frees it). */
void scim_port_post(scim_port *p, scim_msg *m);
/* Answer request m (delivered to this port) with a response of `type`:
 * src and dst swap, the tag stays, the receiver's queue place is freed.
 * The payload is the caller's to fill before the call. */
void scim_port_reply(scim_port *p, scim_msg *m, scim_msg_type type, uint32_t wire_bytes, int32_t status);
void scim_port_free(scim_port *p, scim_msg *m);
/* The answer to request m (delivered to this port) is lost on the wire:
 * the receiver's queue place is freed as by a reply, and nothing is sent
 * (fault injection). */
void scim_port_lose(scim_port *p, scim_msg *m);
/* Give up the requests of `client` with `id` to `dst` not answered yet
 * (a timeout): they no longer count as outstanding (nor for the
 * watchdog), and an answer that still comes is dropped. Their tags stay
 * taken until then, so a late answer can never reach a newer request.
 * Returns how many were given up. */
uint32_t scim_port_cancel(scim_port *p, int client, uint64_t id, scim_node_id dst);
/* Header + payload bytes on the wire (scim_fabric_wire_bytes). */
uint32_t scim_port_wire(const scim_port *p, uint64_t payload);

/* Requests of this port not yet answered (waiting for a credit included). */
uint32_t scim_port_outstanding(const scim_port *p);
/* The oldest of them: true and its type, destination and the time it was
 * first attempted; false if none. */
bool scim_port_oldest(const scim_port *p, scim_msg_type *type, scim_node_id *dst, scim_time_t *since);

extern const scim_stat_decl scim_port_stat_decls[];
extern const size_t scim_port_stat_decl_count;
extern const scim_stat_decl scim_port_queue_stat_decls[];
extern const size_t scim_port_queue_stat_decl_count;

#endif

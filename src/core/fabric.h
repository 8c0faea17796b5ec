/* scimitar coherence fabric: named nodes joined by links with latency,
 * bandwidth and per-direction FIFO queueing. Every interaction between
 * components — memory reads and writes (PTE reads included), translation
 * requests and completions (ATS-like), page requests and responses
 * (PRI-like), invalidations and their completions, interrupts, IPIs,
 * page-table sync — crosses it as a timed message.
 *
 * Modelling (see docs/architecture.md):
 *   - A message is store-and-forward at each hop. On entering a link in
 *     direction d at time t it starts serialising at max(t, busy_until[d]),
 *     occupies the link for ceil(wire_bytes / bandwidth), then arrives
 *     `latency` later. Messages therefore leave a link in the order they
 *     entered it (FIFO), and a busy link makes later messages wait; the wait
 *     is recorded in the link's queue-delay histogram.
 *   - Routes are shortest paths by total latency (ties: fewer hops, then the
 *     lower node id), computed once when the topology is finalised.
 *   - A message to its own node is delivered at the same time (zero-delay
 *     event), so a component may talk to itself uniformly.
 *   - wire_bytes is the sender's choice; scim_fabric_wire_bytes() gives the
 *     PCIe-like size header + payload with one header per max_payload bytes.
 * Blocks do not use the fabric directly: they own a port (core/port.h),
 * which handles tags, credits and replies; messages are core/proto.h.
 */
#ifndef SCIMITAR_FABRIC_H
#define SCIMITAR_FABRIC_H

#include "core/common.h"
#include "core/config.h"
#include "core/proto.h"
#include "scimitar/kernel.h"
#include "core/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*scim_recv_fn)(void *ctx, scim_msg *m);

typedef struct scim_fabric scim_fabric;

typedef struct scim_fabric_params {
    uint64_t header_bytes;   /* per-packet overhead on the wire */
    uint64_t max_payload;    /* payload bytes per packet (PCIe MPS) */
    /* default topology (used when fabric.links is absent) */
    scim_time_t iommu_mem_latency;
    uint64_t iommu_mem_bandwidth;
    scim_time_t os_latency;
    uint64_t os_bandwidth;
    const void *links;       /* scim_cfg_node * of fabric.links, or NULL */
} scim_fabric_params;

/* One entry of fabric.links. */
typedef struct scim_link_params {
    const char *a, *b;
    scim_time_t latency;
    uint64_t bandwidth;
} scim_link_params;

/* Keys under "fabric." and of each fabric.links entry. */
extern const scim_param_decl scim_fabric_param_decls[];
extern const size_t scim_fabric_param_decl_count;
extern const scim_param_decl scim_link_param_decls[];
extern const size_t scim_link_param_decl_count;

scim_fabric *scim_fabric_create(scim_kernel *k, const scim_fabric_params *p, scim_err *err);
void scim_fabric_destroy(scim_fabric *f);

/* Topology (before finalize). Names must be unique, [a-z0-9_]+. */
int scim_fabric_add_node(scim_fabric *f, const char *name, scim_recv_fn recv, void *ctx,
                         scim_node_id *id, scim_err *err);
scim_node_id scim_fabric_find(const scim_fabric *f, const char *name);
const char *scim_fabric_node_name(const scim_fabric *f, scim_node_id id);
size_t scim_fabric_node_count(const scim_fabric *f);
/* A bidirectional link; bytes_per_s 0 = unlimited bandwidth. */
int scim_fabric_add_link(scim_fabric *f, scim_node_id a, scim_node_id b, scim_time_t latency,
                         uint64_t bytes_per_s, scim_err *err);
/* Compute routes; every node must reach every other (error names a pair
 * that cannot). Registers link statistics under "fabric.". */
int scim_fabric_finalize(scim_fabric *f, scim_stats *stats, scim_err *err);

/* Messages. alloc never fails for lack of a free-list entry (it grows);
 * NULL only if the host is out of memory. */
scim_msg *scim_msg_alloc(scim_fabric *f);
void scim_msg_free(scim_fabric *f, scim_msg *m);
/* Send m from m->src to m->dst now (ports call this once a request has
 * its credit, and for every response). */
void scim_fabric_send(scim_fabric *f, scim_msg *m);
/* The port attached to a node (core/port.h), or NULL. */
struct scim_port *scim_fabric_port(const scim_fabric *f, scim_node_id id);
void scim_fabric_set_port(scim_fabric *f, scim_node_id id, struct scim_port *port);
scim_kernel *scim_fabric_kernel(const scim_fabric *f);

/* header + payload, one header per max_payload (at least one). */
uint32_t scim_fabric_wire_bytes(const scim_fabric *f, uint64_t payload);
/* The latency an unloaded message of `wire_bytes` needs from a to b (sum
 * over the route of serialisation + link latency); for tests and docs. */
scim_time_t scim_fabric_unloaded_latency(const scim_fabric *f, scim_node_id a, scim_node_id b,
                                         uint32_t wire_bytes);
/* Hop count of the route from a to b. */
int scim_fabric_hops(const scim_fabric *f, scim_node_id a, scim_node_id b);

/* Per link direction, registered as fabric.<from>.<to>.<name>. */
extern const scim_stat_decl scim_fabric_link_stat_decls[];
extern const size_t scim_fabric_link_stat_decl_count;
/* Messages currently travelling (sent, not yet delivered). */
uint64_t scim_fabric_in_flight(const scim_fabric *f);

#ifdef __cplusplus
}
#endif
#endif

/* Trace replay engine shared by every agent (device cores, CPU cores).
 *
 * It owns what agents have in common: reading the trace, the timing rules
 * (+N after the previous request was issued, @N absolute), splitting each
 * read/write into chunks at 4 KiB boundaries, keeping at most
 * max_outstanding chunks in flight, OS operations as barriers (the agent
 * waits for its in-flight chunks, then for the OS's answer), and the
 * request statistics. The agent supplies what differs — how a chunk is
 * translated and performed, and how an OS request is sent — through an ops
 * table with a cookie, and reports completions back.
 */
#ifndef SCIMITAR_REPLAY_H
#define SCIMITAR_REPLAY_H

#include <stdbool.h>

#include "scimitar/kernel.h"
#include "core/stats.h"
#include "scimitar/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_replay scim_replay;

typedef struct scim_replay_chunk {
    uint32_t pasid;
    bool write;
    uint32_t len;
    uint64_t va;
    uint64_t io; /* the record's io= key, or 0 */
    bool translate_only; /* a host's translation request: no memory access */
} scim_replay_chunk;

typedef struct scim_replay_ops {
    /* Perform chunk `id` (0 <= id < max_outstanding); finish it later with
     * scim_replay_chunk_done(). It must not complete the chunk before
     * returning (schedule an event: a lookup always takes time), because
     * completions issue further chunks. */
    void (*chunk)(void *owner, uint32_t id, const scim_replay_chunk *c);
    /* Send an OS operation; answer it with scim_replay_os_done(). */
    void (*os_op)(void *owner, const scim_trace_rec *rec, uint32_t pasid);
    /* Optional, per request (an I/O): before its first chunk (return false
     * to hold it until scim_replay_request_ready()) and after its last. A
     * driver pins or maps buffers here under the pin and iommu-map schemes. */
    bool (*request_begin)(void *owner, uint32_t req, const scim_trace_rec *rec, uint32_t pasid);
    void (*request_end)(void *owner, uint32_t req, const scim_trace_rec *rec, uint32_t pasid, bool error);
} scim_replay_ops;

typedef struct scim_replay_params {
    const char *trace;       /* NULL: the host feeds the records (scim_replay_push) */
    uint64_t max_outstanding;
    uint32_t pasid;          /* default address space of the records */
    const char *kind;        /* stats group: "dma" for devices, "mem" for CPUs */
    /* Further address spaces a read or write may name with pasid= (a
     * device serving several tenants); any other is a trace error, since
     * shootdowns would not reach the agent for it. Copied at create. */
    const uint32_t *tenants;
    size_t n_tenants;
    const char *tenants_key;  /* the config key to name in that error */
} scim_replay_params;

/* sim.records and sim.until: take only the first `records` records of the
 * trace (the warm-up's included; 0: no limit), and only those it issues
 * before `until` on its own clock (the times it would issue them at if it
 * never waited: scim_replay_warm_next's; 0: no limit), then end as at the
 * trace's end. Before scim_replay_start and the warm-up. */
void scim_replay_limit(scim_replay *r, uint64_t records, scim_time_t until);
/* Only the time limit (a window's end, scim_sim_set_warm_points), before
 * the warm-up hands back its record. */
void scim_replay_set_until(scim_replay *r, scim_time_t until);
/* The trace file the engine reads (NULL if none yet or fed by the host):
 * scim_sim_fork gives it a file position of its own. */
scim_trace_reader *scim_replay_trace_reader(scim_replay *r);
/* sim.warmup_until: hand back the first record the warm-up did not take
 * (scim_replay_warm_next's *rec and *at) and set the detailed run's time 0
 * to `origin` on the trace's clock: the record is issued at at - origin,
 * an @N later at N - origin, a +N after the record before it. A record at
 * or past the time limit ends the trace instead, as warm_next would. */
void scim_replay_warm_unread(scim_replay *r, const scim_trace_rec *rec, scim_time_t at, scim_time_t origin);
scim_replay *scim_replay_create(scim_kernel *k, const char *agent, const scim_replay_params *p,
                                const scim_replay_ops *ops, void *owner, scim_stats *stats, scim_err *err);
void scim_replay_destroy(scim_replay *r);
/* Open the trace and schedule the first record at time 0 (host-fed:
 * nothing to open; records come with scim_replay_push). */
int scim_replay_start(scim_replay *r, scim_err *err);
/* Functional warm-up (sim.warmup, sim/warm.c): the next record of the
 * trace, taken before the run (the trace is opened at the first call) and
 * never replayed. 1 with *rec, its address space in *pasid and in *at the
 * time it would be issued if the agent never waited (the trace's timing
 * rules; an @N before the previous record's time is issued with it); 0 at
 * the trace's end, or for a host-fed agent; < 0 an error (err: file and
 * line). scim_replay_start then replays the records after it, the detailed
 * run starting at time 0: an absolute time @N moves back by the last
 * warm-up record's *at (@N before it: at once), a relative +N is kept. */
int scim_replay_warm_next(scim_replay *r, scim_trace_rec *rec, uint32_t *pasid, scim_time_t *at, scim_err *err);
/* Host-fed: queue a read or write, eligible at `at` (not before the
 * previous pushed record, nor before now), with the host's tag. It is
 * taken in an event, never during the call, so a host may push from a
 * completion. Returns 0, or SCIM_EINVAL (message in err) for a record
 * the agent cannot take (not a read/write, empty, an unbound PASID). */
int scim_replay_push(scim_replay *r, const scim_trace_rec *rec, scim_time_t at, uint64_t tag, bool translate_only,
                     scim_err *err);
/* The tag of request `req`: the host's, or the trace line. */
uint64_t scim_replay_request_tag(const scim_replay *r, uint32_t req);
/* When request `req` was made eligible (the host's submission time). */
scim_time_t scim_replay_request_eligible(const scim_replay *r, uint32_t req);
scim_time_t scim_replay_request_issued(const scim_replay *r, uint32_t req);
bool scim_replay_request_translate_only(const scim_replay *r, uint32_t req);
void scim_replay_chunk_done(scim_replay *r, uint32_t id, bool error);
void scim_replay_os_done(scim_replay *r, bool error);
void scim_replay_request_ready(scim_replay *r, uint32_t req, bool error);
/* Post ahead (a host driver prepares requests, src/driver/): a read or
 * write is begun at its time as soon as one of the max_outstanding + 1
 * request entries is free, whatever the chunk slots; a request held by
 * request_begin does not hold later records; ready requests issue their
 * chunks in the order they became ready. Without it a request is begun
 * when a chunk slot is free and holds every later record until issued. */
void scim_replay_post_ahead(scim_replay *r);
/* Whether the request hooks given at create are called (on at create).
 * An owner whose hooks would do nothing for now turns them off: two
 * indirect calls per request saved (a device without a driver or host
 * events); the engine behaves as if the hooks returned true and did
 * nothing. */
void scim_replay_set_request_hooks(scim_replay *r, bool on);
/* The request a chunk belongs to (0 <= req <= max_outstanding) and the
 * chunk's page index within that request. */
uint32_t scim_replay_request_of(const scim_replay *r, uint32_t id);
uint32_t scim_replay_page_index(const scim_replay *r, uint32_t id);
/* The end address (exclusive) of the request chunk `id` belongs to. */
uint64_t scim_replay_request_end(const scim_replay *r, uint32_t id);
/* Issue nothing new before `until` (an interrupted core); in-flight work
 * continues. */
void scim_replay_pause(scim_replay *r, scim_time_t until);
const scim_replay_chunk *scim_replay_chunk_of(const scim_replay *r, uint32_t id);
bool scim_replay_finished(const scim_replay *r);
/* Events the replay engine has scheduled and not run (device/fast.c). */
uint32_t scim_replay_events_pending(const scim_replay *r);
void scim_replay_describe(const scim_replay *r, char *buf, size_t len);
/* The oldest unfinished request (an issued read/write, or the pending OS
 * operation): true, when it began and what it is; false if none. */
bool scim_replay_oldest(const scim_replay *r, scim_time_t *since, char *what, size_t len);
/* How far into its trace file the engine has read (scim_trace_position;
 * with sim.records or sim.until, how far into that limit, on the file's
 * scale, and all of it once the limit ends the trace);
 * 0 of 0 for a host-fed engine or before start. */
void scim_replay_position(const scim_replay *r, uint64_t *done, uint64_t *total);

/* Registered as "<agent>.<kind>.<name>" ... */
extern const scim_stat_decl scim_replay_stat_decls[];
extern const size_t scim_replay_stat_decl_count;
/* ... and "<agent>.os_ops", "<agent>.os_errors". */
extern const scim_stat_decl scim_replay_os_stat_decls[];
extern const size_t scim_replay_os_stat_decl_count;

#ifdef __cplusplus
}
#endif
#endif

/* The trace replay engine's state, shared by replay.c (the pump: records
 * to requests to chunks) and replay_state.c (creation, statistics,
 * introspection). */
#ifndef SCIM_MMU_REPLAY_INTERNAL_H
#define SCIM_MMU_REPLAY_INTERNAL_H

#include "core/fifo.h"
#include "core/trace_internal.h"
#include "mmu/replay.h"

#define NONE (-1)
#define BITS 64u /* the request bitmap's word */

/* A record the host pushed (host-fed agents). */
typedef struct host_rec {
    scim_trace_rec rec;
    scim_time_t at;
    uint64_t tag;
    bool translate_only;
} host_rec;

typedef struct request {
    bool used;
    bool write;
    bool error;
    bool ready;
    bool translate_only;
    scim_trace_rec *rec; /* its own record buffer (begin_request) */
    uint64_t tag;
    scim_time_t eligible;
    uint32_t pasid;
    uint32_t chunks_left;
    uint64_t bytes;
    scim_time_t issued;
} request;

typedef struct slot {
    bool busy;
    int32_t req;
    uint32_t page;
    scim_replay_chunk c;
} slot;

typedef struct replay_stats {
    uint64_t requests;
    uint64_t bytes;
    uint64_t read_bytes;
    uint64_t write_bytes;
    uint64_t chunks;
    uint64_t errors;
    uint64_t finish_ps;
    scim_hist *latency;
    scim_hist *queue_delay;
} replay_stats;

/* The trace's OS operations, under the agent's own name. */
typedef struct replay_os_stats {
    uint64_t os_ops;
    uint64_t os_errors;
} replay_os_stats;

struct scim_replay {
    scim_kernel *k;
    char agent[48];
    scim_replay_params p;
    char *trace_path;
    scim_replay_ops ops;      /* in use: request hooks NULL while the owner has none to run */
    scim_replay_ops ops_given; /* as given at create */
    void *owner;
    scim_trace_reader *trace;
    bool eof, have_rec, failed, os_pending;
    /* The record at hand, decoded in place: one of rec_bufs, which holds
     * one buffer per request and this one; a request begun takes this
     * buffer and gives its own (free) one in exchange, instead of a copy
     * of the record. */
    scim_trace_rec *rec;
    scim_trace_rec *rec_bufs;
    /* host-fed: the records pushed and not yet taken, and the current
     * one's tag and kind */
    bool host_fed;
    scim_fifo host_recs; /* of host_rec */
    scim_time_t host_last_at;
    uint64_t rec_tag;
    bool rec_translate_only;
    scim_time_t eligible, last_issue, paused_until;
    /* sim.warmup: the last warm-up record's time, which absolute times
     * of the detailed run are counted from */
    scim_time_t warm_end;
    /* sim.records: records of the trace still to take (warm-up's too);
     * UINT64_MAX: the whole trace */
    uint64_t records_left, records_limit; /* the limit: 0, none */
    /* sim.until: the trace ends at its first record issued at or after
     * this time on its own clock (trace_clock: the times it would issue
     * its records at if it never waited, kept only with a limit); 0: never */
    scim_time_t until, trace_clock;
    scim_time_t pump_at;
    uint32_t pumps; /* pump events scheduled and not run */
    int dormant;    /* the kernel's handle of a dormant pump (core/kfifo.h), or NONE */
    scim_time_t os_since; /* when the pending OS operation was sent */
    int32_t cur; /* request being issued */
    uint64_t cur_va, cur_end;
    request *reqs;
    uint64_t *req_free; /* bit set: request free (the lowest free one is taken, as ids matter to drivers) */
    uint32_t req_hint;  /* no free request in words below this */
    uint32_t req_words; /* of req_free */
    slot *slots;
    uint32_t *free_slots;
    uint32_t n_free;
    uint32_t inflight;
    uint32_t n_used;     /* requests begun and not finished */
    /* scim_replay_post_ahead: requests ready to issue, in the order they
     * became ready (a ring of max_outstanding + 1) */
    bool post_ahead;
    int32_t *ready_q;
    uint32_t ready_head, ready_len;
    replay_stats st;
    replay_os_stats os_st;
    char tenants_key[96];
    /* Tenant PASIDs found bound, by their low bits (PASID + 1; 0: none):
     * a 64-tenant device checks every record, mostly against a few
     * tenants, and the search cost about 30 instructions per record. The
     * tenants never change, so a PASID found stays bound. */
    uint32_t bound_memo[64];
};

#endif

/* The trace replay engine: creation, statistics and introspection (the
 * pump is replay.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kclock.h"
#include "mmu/replay_internal.h"

const scim_stat_decl scim_replay_stat_decls[] = {
    {"requests", SCIM_STAT_COUNTER, "count", "Requests (trace reads and writes) completed.",
     offsetof(replay_stats, requests)},
    {"bytes", SCIM_STAT_COUNTER, "bytes", "Bytes moved by requests that completed without error.",
     offsetof(replay_stats, bytes)},
    {"read_bytes", SCIM_STAT_COUNTER, "bytes", "Bytes read.", offsetof(replay_stats, read_bytes)},
    {"write_bytes", SCIM_STAT_COUNTER, "bytes", "Bytes written.", offsetof(replay_stats, write_bytes)},
    {"chunks", SCIM_STAT_COUNTER, "count",
     "Page-sized pieces the requests were split into (one translation lookup each).",
     offsetof(replay_stats, chunks)},
    {"errors", SCIM_STAT_COUNTER, "count",
     "Requests that failed because a page could not be mapped (outside any region, or protection).",
     offsetof(replay_stats, errors)},
    {"finish_ps", SCIM_STAT_COUNTER, "ps",
     "When the last request completed: bytes / finish_ps is the agent's throughput, whatever the run's "
     "length (sim.time_ps also counts work that outlives the traces, such as a deferred flush).",
     offsetof(replay_stats, finish_ps)},
    {"latency", SCIM_STAT_HIST, "ps", "From a request's issue (first chunk) to its last chunk's completion.",
     offsetof(replay_stats, latency)},
    {"queue_delay", SCIM_STAT_HIST, "ps",
     "From the time the trace made a request eligible to its issue (waiting for a free slot or an "
     "interruption).",
     offsetof(replay_stats, queue_delay)},
};
const size_t scim_replay_stat_decl_count = SCIM_COUNT_OF(scim_replay_stat_decls);

const scim_stat_decl scim_replay_os_stat_decls[] = {
    {"os_ops", SCIM_STAT_COUNTER, "count", "OS operations (mmap, munmap, ...) the trace asked for.",
     offsetof(replay_os_stats, os_ops)},
    {"os_errors", SCIM_STAT_COUNTER, "count", "OS operations the OS refused (bad range, overlap).",
     offsetof(replay_os_stats, os_errors)},
};
const size_t scim_replay_os_stat_decl_count = SCIM_COUNT_OF(scim_replay_os_stat_decls);

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

scim_replay *scim_replay_create(scim_kernel *k, const char *agent, const scim_replay_params *p,
                                const scim_replay_ops *ops, void *owner, scim_stats *stats, scim_err *err)
{
    if (p->max_outstanding == 0 || p->max_outstanding > 65536) {
        scim_err_set(err, SCIM_ERANGE, "%s: max_outstanding must be 1..65536", agent);
        return NULL;
    }
    scim_replay *r = calloc(1, sizeof *r);
    if (!r) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    r->k = k;
    r->records_left = UINT64_MAX;
    snprintf(r->agent, sizeof r->agent, "%s", agent);
    r->p = *p;
    r->p.tenants = NULL;
    if (p->n_tenants) {
        uint32_t *t = calloc(p->n_tenants, sizeof *t);
        if (!t) {
            scim_err_set(err, SCIM_ENOMEM, "out of host memory");
            scim_replay_destroy(r);
            return NULL;
        }
        memcpy(t, p->tenants, p->n_tenants * sizeof *t);
        qsort(t, p->n_tenants, sizeof *t, cmp_u32); /* pasid_bound searches them */
        r->p.tenants = t;
    }
    r->p.tenants_key = NULL;
    if (p->tenants_key) {
        snprintf(r->tenants_key, sizeof r->tenants_key, "%s", p->tenants_key);
        r->p.tenants_key = r->tenants_key;
    }
    r->ops = r->ops_given = *ops;
    r->owner = owner;
    r->cur = NONE;
    r->dormant = NONE;
    r->pump_at = SCIM_TIME_MAX;
    r->host_fed = p->trace == NULL;
    scim_fifo_init(&r->host_recs, sizeof(host_rec));
    r->trace_path = strdup(p->trace ? p->trace : "(host)");
    r->reqs = calloc(p->max_outstanding + 1, sizeof *r->reqs);
    r->req_free = calloc((p->max_outstanding + 1 + BITS - 1) / BITS, sizeof *r->req_free);
    r->slots = calloc(p->max_outstanding, sizeof *r->slots);
    r->free_slots = calloc(p->max_outstanding, sizeof *r->free_slots);
    r->ready_q = calloc(p->max_outstanding + 1, sizeof *r->ready_q);
    r->rec_bufs = calloc(p->max_outstanding + 2, sizeof *r->rec_bufs);
    if (!r->trace_path || !r->reqs || !r->req_free || !r->slots || !r->free_slots || !r->ready_q || !r->rec_bufs) {
        scim_replay_destroy(r);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    r->p.trace = r->host_fed ? NULL : r->trace_path;
    for (uint64_t i = 0; i <= p->max_outstanding; i++)
        r->reqs[i].rec = &r->rec_bufs[i];
    r->rec = &r->rec_bufs[p->max_outstanding + 1];
    for (uint64_t i = 0; i < p->max_outstanding; i++)
        r->free_slots[r->n_free++] = (uint32_t)(p->max_outstanding - 1 - i);
    for (uint64_t i = 0; i <= p->max_outstanding; i++)
        r->req_free[i / BITS] |= 1ull << (i % BITS);
    r->req_words = (uint32_t)((p->max_outstanding + 1 + BITS - 1) / BITS);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s.%s", agent, p->kind);
    if (scim_stats_register(stats, prefix, scim_replay_stat_decls, scim_replay_stat_decl_count, &r->st, err) ||
        scim_stats_register(stats, agent, scim_replay_os_stat_decls, scim_replay_os_stat_decl_count, &r->os_st,
                            err)) {
        scim_replay_destroy(r);
        return NULL;
    }
    return r;
}

void scim_replay_destroy(scim_replay *r)
{
    if (!r)
        return;
    scim_trace_close(r->trace);
    scim_fifo_free(&r->host_recs);
    free(r->trace_path);
    free(r->reqs);
    free(r->req_free);
    free(r->slots);
    free(r->free_slots);
    free(r->ready_q);
    free(r->rec_bufs);
    free((void *)r->p.tenants);
    free(r);
}

const scim_replay_chunk *scim_replay_chunk_of(const scim_replay *r, uint32_t id) { return &r->slots[id].c; }
uint32_t scim_replay_events_pending(const scim_replay *r) { return r->pumps; }

bool scim_replay_finished(const scim_replay *r)
{
    /* a host-fed agent with nothing left to do is finished until the host
     * pushes more */
    bool drained = r->host_fed ? scim_fifo_len(&r->host_recs) == 0 : r->eof;
    return drained && !r->have_rec && r->inflight == 0 && r->n_used == 0 && !r->os_pending;
}

void scim_replay_position(const scim_replay *r, uint64_t *done, uint64_t *total)
{
    scim_trace_position(r->trace, done, total);
    if (!*total || (!r->records_limit && !r->until))
        return;
    if (r->eof) { /* cut short by sim.records or sim.until: finished all the same */
        *done = *total;
        return;
    }
    /* how far into its limit, on the file's scale */
    double f = 0;
    if (r->records_limit)
        f = (double)(r->records_limit - r->records_left) / (double)r->records_limit;
    if (r->until && (double)r->trace_clock / (double)r->until > f)
        f = (double)r->trace_clock / (double)r->until;
    if (f * (double)*total > (double)*done)
        *done = f < 1 ? (uint64_t)(f * (double)*total) : *total;
}
uint64_t scim_replay_request_tag(const scim_replay *r, uint32_t req) { return r->reqs[req].tag; }
scim_time_t scim_replay_request_eligible(const scim_replay *r, uint32_t req) { return r->reqs[req].eligible; }
scim_time_t scim_replay_request_issued(const scim_replay *r, uint32_t req) { return r->reqs[req].issued; }
bool scim_replay_request_translate_only(const scim_replay *r, uint32_t req) { return r->reqs[req].translate_only; }

void scim_replay_describe(const scim_replay *r, char *buf, size_t len)
{
    char src[64];
    if (r->host_fed)
        snprintf(src, sizeof src, "host-fed, %zu request(s) queued", scim_fifo_len(&r->host_recs));
    else
        snprintf(src, sizeof src, "%s", r->eof ? "trace finished" : "trace not finished");
    snprintf(buf, len, "%s: %s, %u request piece(s) in flight, %u request(s) begun, %s", r->agent, src,
             r->inflight, r->n_used,
             r->os_pending ? "waiting for the OS" : "not waiting for the OS");
}

bool scim_replay_oldest(const scim_replay *r, scim_time_t *since, char *what, size_t len)
{
    bool found = false;
    for (uint64_t i = 0; i <= r->p.max_outstanding; i++) {
        const request *q = &r->reqs[i];
        if (q->used && (!found || q->issued < *since)) {
            *since = q->issued;
            snprintf(what, len, "%s of %llu bytes at pasid %u va 0x%llx (%s %llu), %u piece(s) left",
                     scim_trace_op_name(q->rec->op), (unsigned long long)q->rec->size, q->pasid,
                     (unsigned long long)q->rec->addr, r->host_fed ? "host tag" : "trace line",
                     (unsigned long long)q->tag, q->chunks_left);
            found = true;
        }
    }
    if (r->os_pending && (!found || r->os_since < *since)) {
        *since = r->os_since;
        snprintf(what, len, "an OS operation (%s) waiting for the OS's answer", scim_trace_op_name(r->rec->op));
        found = true;
    }
    return found;
}

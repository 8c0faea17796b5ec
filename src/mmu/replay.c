/* Trace replay engine. Role in include/scimitar/replay.h. */
#include "mmu/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE (-1)

typedef struct request {
    bool used;
    bool write;
    bool error;
    bool ready;
    scim_trace_rec rec;
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

struct scim_replay {
    scim_kernel *k;
    char agent[48];
    scim_replay_params p;
    char *trace_path;
    scim_replay_ops ops;
    void *owner;
    scim_trace_reader *trace;
    bool eof, have_rec, failed, os_pending;
    /* The record being issued. It is decoded straight into the request
     * that will carry it (the lowest free one), or into `spare` if none is
     * free; it is copied only if a lower request was freed meanwhile. */
    scim_trace_rec *rec;
    scim_trace_rec spare;
    scim_time_t eligible, last_issue, paused_until;
    scim_time_t pump_at;
    scim_time_t os_since; /* when the pending OS operation was sent */
    int32_t cur; /* request being issued */
    uint64_t cur_va, cur_end;
    request *reqs;
    uint64_t *req_free; /* bit set: request free (the lowest free one is taken, as ids matter to drivers) */
    uint32_t req_hint;  /* no free request in words below this */
    slot *slots;
    uint32_t *free_slots;
    uint32_t n_free;
    uint32_t inflight;
    replay_stats st;
    uint64_t os_ops;
    uint64_t os_errors;
    char tenants_key[96];
};

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

static void pump(scim_replay *r);

static void pump_event(void *ctx, uint64_t arg)
{
    scim_replay *r = ctx;
    if (r->pump_at == (scim_time_t)arg)
        r->pump_at = SCIM_TIME_MAX;
    pump(r);
}

static void schedule_pump(scim_replay *r, scim_time_t at)
{
    if (r->pump_at <= at)
        return;
    r->pump_at = at;
    scim_kernel_schedule_at(r->k, at, SCIM_PRIO_DEFAULT, pump_event, r, at);
}

#define BITS 64u

static int32_t lowest_free_request(scim_replay *r)
{
    uint32_t words = (uint32_t)((r->p.max_outstanding + 1 + BITS - 1) / BITS);
    for (uint32_t i = r->req_hint; i < words; i++) {
        if (r->req_free[i]) {
            r->req_hint = i;
            return (int32_t)(i * BITS + (uint32_t)__builtin_ctzll(r->req_free[i]));
        }
    }
    r->req_hint = words;
    return NONE;
}

static void release_request(scim_replay *r, int32_t qi)
{
    r->reqs[qi].used = false;
    r->req_free[qi / BITS] |= 1ull << (qi % BITS);
    if ((uint32_t)qi / BITS < r->req_hint)
        r->req_hint = (uint32_t)qi / BITS;
}

void scim_replay_chunk_done(scim_replay *r, uint32_t id, bool error)
{
    slot *s = &r->slots[id];
    request *q = &r->reqs[s->req];
    if (error)
        q->error = true;
    s->busy = false;
    r->free_slots[r->n_free++] = id;
    r->inflight--;
    if (--q->chunks_left == 0) {
        scim_hist_record(r->st.latency, scim_kernel_now(r->k) - q->issued);
        r->st.requests++;
        r->st.finish_ps = scim_kernel_now(r->k);
        if (q->error) {
            r->st.errors++;
        } else {
            r->st.bytes += q->bytes;
            if (q->write)
                r->st.write_bytes += q->bytes;
            else
                r->st.read_bytes += q->bytes;
        }
        release_request(r, s->req);
        if (r->ops.request_end)
            r->ops.request_end(r->owner, (uint32_t)s->req, &q->rec, q->pasid, q->error);
    }
    pump(r);
}

void scim_replay_request_ready(scim_replay *r, uint32_t req, bool error)
{
    request *q = &r->reqs[req];
    q->ready = true;
    if (error) {
        /* the driver could not prepare the I/O: it fails as a whole */
        q->error = true;
    }
    pump(r);
}

uint32_t scim_replay_request_of(const scim_replay *r, uint32_t id) { return (uint32_t)r->slots[id].req; }
uint32_t scim_replay_page_index(const scim_replay *r, uint32_t id) { return r->slots[id].page; }

void scim_replay_os_done(scim_replay *r, bool error)
{
    r->os_pending = false;
    if (error)
        r->os_errors++;
    pump(r);
}

void scim_replay_pause(scim_replay *r, scim_time_t until)
{
    if (until > r->paused_until)
        r->paused_until = until;
}

static bool next_record(scim_replay *r)
{
    scim_err err; /* written only on an error: not zeroed (1 KiB) per record */
    err.code = 0;
    err.msg[0] = '\0';
    int32_t qi = lowest_free_request(r);
    r->rec = qi == NONE ? &r->spare : &r->reqs[qi].rec;
    int rc = scim_trace_next(r->trace, r->rec, &err);
    if (rc < 0) {
        r->failed = true;
        scim_kernel_fail(r->k, err.code ? err.code : SCIM_EPARSE, "%s", err.msg);
        return false;
    }
    if (rc == 0) {
        r->eof = true;
        return false;
    }
    if ((r->rec->op == SCIM_OP_READ || r->rec->op == SCIM_OP_WRITE) && (r->rec->has & SCIM_TRACE_HAS_PASID) &&
        r->rec->pasid != r->p.pasid) {
        bool bound = false;
        for (size_t i = 0; i < r->p.n_tenants && !bound; i++)
            bound = r->p.tenants[i] == r->rec->pasid;
        if (!bound) {
            r->failed = true;
            scim_kernel_fail(r->k, SCIM_EPARSE,
                             "%s:%llu: error: %s accesses pasid %u, an address space it is not bound to "
                             "(shootdowns would never reach it for that PASID); expected pasid=%u%s%s%s",
                             scim_trace_name(r->trace), (unsigned long long)r->rec->line, r->agent, r->rec->pasid,
                             r->p.pasid, r->p.tenants_key ? " or one listed in " : " (a CPU core runs one address space)",
                             r->p.tenants_key ? r->p.tenants_key : "", r->p.tenants_key ? "; add it there" : "");
            return false;
        }
    }
    r->have_rec = true;
    scim_time_t t = SCIM_NS(r->rec->time_ns);
    r->eligible = r->rec->timing == SCIM_TIMING_ABS ? t : r->last_issue + t;
    return true;
}

static uint32_t rec_pasid(const scim_replay *r)
{
    return (r->rec->has & SCIM_TRACE_HAS_PASID) ? r->rec->pasid : r->p.pasid;
}

static void issue_chunk(scim_replay *r)
{
    uint32_t id = r->free_slots[--r->n_free];
    slot *s = &r->slots[id];
    uint64_t page_end = (r->cur_va | 0xfff) + 1;
    uint64_t end = page_end < r->cur_end && page_end != 0 ? page_end : r->cur_end;
    s->busy = true;
    s->req = r->cur;
    s->page = (uint32_t)((r->cur_va >> 12) - (r->rec->addr >> 12));
    s->c = (scim_replay_chunk){rec_pasid(r), r->reqs[r->cur].write, (uint32_t)(end - r->cur_va), r->cur_va,
                               (r->rec->has & SCIM_TRACE_HAS_IO) ? r->rec->io : 0};
    r->cur_va = end;
    r->inflight++;
    r->st.chunks++;
    r->ops.chunk(r->owner, id, &s->c);
}

static bool is_access(const scim_trace_rec *rec) { return rec->op == SCIM_OP_READ || rec->op == SCIM_OP_WRITE; }

static void pump(scim_replay *r)
{
    while (!r->failed) {
        if (!r->have_rec && (r->eof || !next_record(r)))
            return;
        scim_time_t now = scim_kernel_now(r->k);
        if (r->cur == NONE) {
            scim_time_t start = r->eligible > r->paused_until ? r->eligible : r->paused_until;
            if (now < start) {
                schedule_pump(r, start);
                return;
            }
        }
        if (!is_access(r->rec)) {
            if (r->inflight || r->os_pending)
                return; /* barrier: a completion pumps again */
            r->os_pending = true;
            r->os_since = now;
            r->os_ops++;
            r->last_issue = now;
            r->have_rec = false;
            r->ops.os_op(r->owner, r->rec, rec_pasid(r));
            return;
        }
        if (r->cur == NONE) {
            if (r->n_free == 0)
                return;
            int32_t qi = lowest_free_request(r);
            request *q = &r->reqs[qi];
            if (&q->rec != r->rec) { /* a lower request was freed since the record was read */
                q->rec = *r->rec;
                r->rec = &q->rec;
            }
            r->req_free[qi / BITS] &= ~(1ull << (qi % BITS));
            q->used = true;
            q->write = r->rec->op == SCIM_OP_WRITE;
            q->error = false;
            q->ready = true;
            q->pasid = rec_pasid(r);
            q->bytes = r->rec->size;
            q->issued = now;
            q->chunks_left = (uint32_t)(((r->rec->addr + r->rec->size - 1) >> 12) - (r->rec->addr >> 12) + 1);
            scim_hist_record(r->st.queue_delay, now - r->eligible);
            r->cur = qi;
            r->cur_va = r->rec->addr;
            r->cur_end = r->rec->addr + r->rec->size;
            r->last_issue = now;
            if (r->ops.request_begin && !r->ops.request_begin(r->owner, (uint32_t)qi, &q->rec, q->pasid))
                q->ready = false;
        }
        if (!r->reqs[r->cur].ready)
            return; /* the driver is preparing it */
        if (r->reqs[r->cur].error) {
            /* the driver could not prepare it: it fails without moving data */
            request *q = &r->reqs[r->cur];
            scim_hist_record(r->st.latency, now - q->issued);
            r->st.requests++;
            r->st.errors++;
            release_request(r, r->cur);
            if (r->ops.request_end)
                r->ops.request_end(r->owner, (uint32_t)r->cur, &q->rec, q->pasid, true);
            r->cur = NONE;
            r->have_rec = false;
            continue;
        }
        while (r->n_free && r->cur_va < r->cur_end)
            issue_chunk(r);
        if (r->cur_va < r->cur_end)
            return; /* out of slots */
        r->cur = NONE;
        r->have_rec = false;
    }
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
        r->p.tenants = t;
    }
    r->p.tenants_key = NULL;
    if (p->tenants_key) {
        snprintf(r->tenants_key, sizeof r->tenants_key, "%s", p->tenants_key);
        r->p.tenants_key = r->tenants_key;
    }
    r->ops = *ops;
    r->owner = owner;
    r->cur = NONE;
    r->pump_at = SCIM_TIME_MAX;
    r->trace_path = strdup(p->trace);
    r->reqs = calloc(p->max_outstanding + 1, sizeof *r->reqs);
    r->req_free = calloc((p->max_outstanding + 1 + BITS - 1) / BITS, sizeof *r->req_free);
    r->slots = calloc(p->max_outstanding, sizeof *r->slots);
    r->free_slots = calloc(p->max_outstanding, sizeof *r->free_slots);
    if (!r->trace_path || !r->reqs || !r->req_free || !r->slots || !r->free_slots) {
        scim_replay_destroy(r);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    r->p.trace = r->trace_path;
    for (uint64_t i = 0; i < p->max_outstanding; i++)
        r->free_slots[r->n_free++] = (uint32_t)(p->max_outstanding - 1 - i);
    for (uint64_t i = 0; i <= p->max_outstanding; i++)
        r->req_free[i / BITS] |= 1ull << (i % BITS);
    r->rec = &r->spare;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s.%s", agent, p->kind);
    char name[96];
    snprintf(name, sizeof name, "%s.os_ops", agent);
    if (scim_stats_register(stats, prefix, scim_replay_stat_decls, scim_replay_stat_decl_count, &r->st, err) ||
        scim_stats_add_counter(stats, name, "count", "OS operations (mmap, munmap, ...) the trace asked for.",
                               &r->os_ops, err)) {
        scim_replay_destroy(r);
        return NULL;
    }
    snprintf(name, sizeof name, "%s.os_errors", agent);
    if (scim_stats_add_counter(stats, name, "count", "OS operations the OS refused (bad range, overlap).",
                               &r->os_errors, err)) {
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
    free(r->trace_path);
    free(r->reqs);
    free(r->req_free);
    free(r->slots);
    free(r->free_slots);
    free((void *)r->p.tenants);
    free(r);
}

int scim_replay_start(scim_replay *r, scim_err *err)
{
    r->trace = scim_trace_open(r->p.trace, err);
    if (!r->trace)
        return err && err->code ? err->code : SCIM_EIO;
    schedule_pump(r, 0);
    return 0;
}

const scim_replay_chunk *scim_replay_chunk_of(const scim_replay *r, uint32_t id) { return &r->slots[id].c; }
bool scim_replay_busy(const scim_replay *r, uint32_t id) { return r->slots[id].busy; }
uint32_t scim_replay_inflight(const scim_replay *r) { return r->inflight; }

bool scim_replay_finished(const scim_replay *r)
{
    return r->eof && !r->have_rec && r->inflight == 0 && !r->os_pending;
}

void scim_replay_describe(const scim_replay *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s: %s, %u request piece(s) in flight, %s", r->agent,
             r->eof ? "trace finished" : "trace not finished", r->inflight,
             r->os_pending ? "waiting for the OS" : "not waiting for the OS");
}

bool scim_replay_oldest(const scim_replay *r, scim_time_t *since, char *what, size_t len)
{
    bool found = false;
    for (uint64_t i = 0; i <= r->p.max_outstanding; i++) {
        const request *q = &r->reqs[i];
        if (q->used && (!found || q->issued < *since)) {
            *since = q->issued;
            snprintf(what, len, "%s of %llu bytes at pasid %u va 0x%llx (trace line %llu), %u piece(s) left",
                     scim_trace_op_name(q->rec.op), (unsigned long long)q->rec.size, q->pasid,
                     (unsigned long long)q->rec.addr, (unsigned long long)q->rec.line, q->chunks_left);
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

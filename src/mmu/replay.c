/* Trace replay engine. Role in include/scimitar/replay.h. */
#include "mmu/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fifo.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "core/page.h"
#include "core/trace_internal.h"
#include "mmu/replay_internal.h"

static void pump(scim_replay *r);

static inline void wake_pump(scim_replay *r);

static void pump_event(void *ctx, uint64_t arg)
{
    scim_replay *r = ctx;
    wake_pump(r); /* another pump may change what a dormant one would find */
    r->pumps--;
    if (r->pump_at == (scim_time_t)arg)
        r->pump_at = SCIM_TIME_MAX;
    pump(r);
}

/* A dormant pump reached its time with nothing to do: what pump_event
 * would have done then. */
static void pump_passed(void *ctx, uint64_t arg)
{
    scim_replay *r = ctx;
    r->dormant = NONE;
    r->pumps--;
    if (r->pump_at == (scim_time_t)arg)
        r->pump_at = SCIM_TIME_MAX;
}

static inline __attribute__((always_inline)) void schedule_pump(scim_replay *r, scim_time_t at)
{
    if (r->pump_at <= at)
        return;
    r->pump_at = at;
    r->pumps++;
    /* One record at a time and every chunk slot busy: at `at` the pump
     * would find the record due and no slot for it, and do nothing, unless
     * the engine is reached first (a completion frees a slot): a dormant
     * event, woken by wake_pump on any such call. Most pumps of a device
     * kept busy by its trace are such. */
    if (!r->post_ahead && r->cur == NONE && r->n_free == 0 && r->dormant == NONE &&
        (r->dormant = scim_kernel_schedule_dormant(r->k, at, SCIM_PRIO_DEFAULT, pump_event, pump_passed, r, at)) !=
            NONE)
        return;
    scim_kernel_schedule_at(r->k, at, SCIM_PRIO_DEFAULT, pump_event, r, at);
}

/* The engine's state changes (a slot freed, a pause, an answer): a
 * dormant pump becomes an ordinary event again, with its place in the
 * order kept. */
static inline void wake_pump(scim_replay *r)
{
    if (r->dormant != NONE) {
        scim_kernel_wake(r->k, r->dormant);
        r->dormant = NONE;
    }
}


static int32_t lowest_free_request(scim_replay *r)
{
    uint32_t words = r->req_words;
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
    wake_pump(r);
    slot *s = &r->slots[id];
    request *q = &r->reqs[s->req];
    if (error)
        q->error = true;
    s->busy = false;
    r->free_slots[r->n_free++] = id;
    r->inflight--;
    if (--q->chunks_left == 0) {
        scim_hist_record(r->st.latency, scim_kernel_time(r->k) - q->issued);
        r->st.requests++;
        r->st.finish_ps = scim_kernel_time(r->k);
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
        r->n_used--;
        if (r->ops.request_end)
            r->ops.request_end(r->owner, (uint32_t)s->req, q->rec, q->pasid, q->error);
    }
    pump(r);
}

static void push_ready(scim_replay *r, uint32_t req)
{
    uint32_t n = (uint32_t)r->p.max_outstanding + 1;
    r->ready_q[(r->ready_head + r->ready_len++) % n] = (int32_t)req;
}

void scim_replay_request_ready(scim_replay *r, uint32_t req, bool error)
{
    wake_pump(r);
    request *q = &r->reqs[req];
    q->ready = true;
    if (error) {
        /* the driver could not prepare the I/O: it fails as a whole */
        q->error = true;
    }
    if (r->post_ahead)
        push_ready(r, req);
    pump(r);
}

void scim_replay_post_ahead(scim_replay *r) { r->post_ahead = true; }

void scim_replay_set_request_hooks(scim_replay *r, bool on)
{
    r->ops.request_begin = on ? r->ops_given.request_begin : NULL;
    r->ops.request_end = on ? r->ops_given.request_end : NULL;
}

uint32_t scim_replay_request_of(const scim_replay *r, uint32_t id) { return (uint32_t)r->slots[id].req; }
uint32_t scim_replay_page_index(const scim_replay *r, uint32_t id) { return r->slots[id].page; }

uint64_t scim_replay_request_end(const scim_replay *r, uint32_t id)
{
    const request *q = &r->reqs[r->slots[id].req];
    return q->rec->addr + q->rec->size;
}

void scim_replay_os_done(scim_replay *r, bool error)
{
    wake_pump(r);
    r->os_pending = false;
    if (error)
        r->os_st.os_errors++;
    pump(r);
}

void scim_replay_pause(scim_replay *r, scim_time_t until)
{
    wake_pump(r);
    if (until > r->paused_until)
        r->paused_until = until;
}

/* Whether pasid is one of the tenants' (sorted at create: a 64-tenant
 * device checks every record, and a scan cost more than the rest of the
 * record's decoding); out of line, as most records need no search. */
static __attribute__((noinline)) bool tenant_listed(scim_replay *r, uint32_t pasid)
{
    size_t lo = 0, hi = r->p.n_tenants;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->p.tenants[mid] < pasid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->p.n_tenants && r->p.tenants[lo] == pasid) {
        r->bound_memo[pasid % SCIM_COUNT_OF(r->bound_memo)] = pasid + 1;
        return true;
    }
    return false;
}

/* The pasid check of a read/write: false if the agent is not bound to
 * the record's address space. */
static bool pasid_bound(scim_replay *r, const scim_trace_rec *rec)
{
    if (!(rec->op == SCIM_OP_READ || rec->op == SCIM_OP_WRITE) || !(rec->has & SCIM_TRACE_HAS_PASID) ||
        rec->pasid == r->p.pasid)
        return true;
    return r->bound_memo[rec->pasid % SCIM_COUNT_OF(r->bound_memo)] == rec->pasid + 1 || tenant_listed(r, rec->pasid);
}

static bool next_host_record(scim_replay *r)
{
    host_rec h;
    if (!scim_fifo_pop(&r->host_recs, &h))
        return false; /* nothing yet: a push pumps again */
    *r->rec = h.rec;
    r->rec_tag = h.tag;
    r->rec_translate_only = h.translate_only;
    r->have_rec = true;
    r->eligible = h.at;
    return true;
}

/* A record that scim_trace_next_quick did not take (text, keys other
 * than pasid, the buffer's end, an error, the trace's end). */
static __attribute__((noinline)) bool next_trace_record(scim_replay *r)
{
    scim_err err; /* written only on an error: not zeroed (1 KiB) per record */
    err.code = 0;
    err.msg[0] = '\0';
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
    return true;
}

static __attribute__((noinline, cold)) bool fail_unbound(scim_replay *r)
{
    r->failed = true;
    scim_kernel_fail(r->k, SCIM_EPARSE,
                     "%s:%llu: error: %s accesses pasid %u, an address space it is not bound to "
                     "(shootdowns would never reach it for that PASID); expected pasid=%u%s%s%s",
                     scim_trace_name(r->trace), (unsigned long long)r->rec->line, r->agent, r->rec->pasid,
                     r->p.pasid, r->p.tenants_key ? " or one listed in " : " (a CPU core runs one address space)",
                     r->p.tenants_key ? r->p.tenants_key : "", r->p.tenants_key ? "; add it there" : "");
    return false;
}

static __attribute__((noinline, cold)) bool fail_past_clock(scim_replay *r)
{
    r->failed = true;
    scim_kernel_fail(r->k, SCIM_EPARSE,
                     "%s:%llu:1: error: timing '+%llu' takes %s past the end of the simulated clock (2^64 ps, "
                     "about 213 days); expected a smaller delay",
                     scim_trace_name(r->trace), (unsigned long long)r->rec->line,
                     (unsigned long long)r->rec->time_ns, r->agent);
    return false;
}

/* sim.until: the trace's own clock (never waiting) reaches the limit at
 * this record: the trace ends. Out of line: kept only when a limit is set. */
static __attribute__((noinline)) bool past_until(scim_replay *r, const scim_trace_rec *rec, scim_time_t t)
{
    scim_time_t clock = rec->timing == SCIM_TIMING_ABS ? (t > r->trace_clock ? t : r->trace_clock)
                        : t > UINT64_MAX - r->trace_clock ? UINT64_MAX
                                                          : r->trace_clock + t;
    if (clock >= r->until) {
        r->eof = true;
        return true;
    }
    r->trace_clock = clock;
    return false;
}

/* In line in the pump (one call and frame per record saved); the errors
 * out of line. */
static inline __attribute__((always_inline)) bool next_record(scim_replay *r)
{
    if (r->host_fed)
        return next_host_record(r);
    scim_trace_rec *rec = r->rec;
    if (r->records_left == 0) {
        r->eof = true;
        return false;
    }
    if (!scim_trace_next_quick(r->trace, rec) && !next_trace_record(r))
        return false;
    r->records_left--;
    if (!pasid_bound(r, rec))
        return fail_unbound(r);
    scim_time_t t = SCIM_NS(rec->time_ns); /* the reader keeps time_ns <= SCIM_TRACE_MAX_NS */
    if (r->until && past_until(r, rec, t))
        return false;
    r->have_rec = true;
    r->rec_tag = rec->line;
    r->rec_translate_only = false;
    if (rec->timing == SCIM_TIMING_ABS) {
        r->eligible = t > r->warm_end ? t - r->warm_end : 0;
    } else {
        if (t > UINT64_MAX - r->last_issue)
            return fail_past_clock(r);
        r->eligible = r->last_issue + t;
    }
    return true;
}

static uint32_t rec_pasid(const scim_replay *r)
{
    return (r->rec->has & SCIM_TRACE_HAS_PASID) ? r->rec->pasid : r->p.pasid;
}

static void issue_chunk(scim_replay *r)
{
    const request *q = &r->reqs[r->cur];
    uint32_t id = r->free_slots[--r->n_free];
    slot *s = &r->slots[id];
    uint64_t page_end = (r->cur_va | SCIM_PAGE_MASK) + 1;
    uint64_t end = page_end < r->cur_end && page_end != 0 ? page_end : r->cur_end;
    s->busy = true;
    s->req = r->cur;
    s->page = (uint32_t)(scim_pfn(r->cur_va) - scim_pfn(q->rec->addr));
    s->c.pasid = q->pasid;
    s->c.write = q->write;
    s->c.len = (uint32_t)(end - r->cur_va);
    s->c.va = r->cur_va;
    s->c.io = (q->rec->has & SCIM_TRACE_HAS_IO) ? q->rec->io : 0;
    s->c.translate_only = q->translate_only;
    r->cur_va = end;
    r->inflight++;
    r->st.chunks++;
    r->ops.chunk(r->owner, id, &s->c);
}

static bool is_access(const scim_trace_rec *rec) { return rec->op == SCIM_OP_READ || rec->op == SCIM_OP_WRITE; }

/* The record at hand, if it is eligible now (else the pump is scheduled):
 * false when there is none or not yet. */
static inline __attribute__((always_inline)) bool record_due(scim_replay *r, scim_time_t now)
{
    if (!r->have_rec && (r->eof || !next_record(r)))
        return false;
    scim_time_t start = r->eligible > r->paused_until ? r->eligible : r->paused_until;
    if (now < start) {
        schedule_pump(r, start);
        return false;
    }
    return true;
}

/* An OS operation of the trace: a barrier (every request begun has
 * finished), then the OS's answer. */
static void os_barrier(scim_replay *r, scim_time_t now)
{
    if (r->inflight || r->os_pending || r->n_used)
        return; /* a completion pumps again */
    r->os_pending = true;
    r->os_since = now;
    r->os_st.os_ops++;
    r->last_issue = now;
    r->have_rec = false;
    r->ops.os_op(r->owner, r->rec, rec_pasid(r));
}

/* Begin the record at hand as request qi; false: the driver holds it.
 * In line in the pumps (a call and frame per request saved). */
static inline __attribute__((always_inline)) bool begin_request(scim_replay *r, int32_t qi, scim_time_t now)
{
    request *q = &r->reqs[qi];
    r->req_free[qi / BITS] &= ~(1ull << (qi % BITS));
    /* the record's buffer changes hands: the request was free, so is its
     * buffer, which takes the next record */
    scim_trace_rec *rec = r->rec;
    r->rec = q->rec;
    q->rec = rec;
    /* every field assigned: no zeroing of the whole entry first */
    q->used = true;
    q->write = rec->op == SCIM_OP_WRITE;
    q->error = false;
    q->ready = true;
    q->translate_only = r->rec_translate_only;
    q->tag = r->rec_tag;
    q->eligible = r->eligible;
    q->pasid = (rec->has & SCIM_TRACE_HAS_PASID) ? rec->pasid : r->p.pasid;
    q->bytes = rec->size;
    q->issued = now;
    q->chunks_left = (uint32_t)(scim_pfn(rec->addr + rec->size - 1) - scim_pfn(rec->addr) + 1);
    r->n_used++;
    scim_hist_record(r->st.queue_delay, now - r->eligible);
    r->last_issue = now;
    if (r->ops.request_begin && !r->ops.request_begin(r->owner, (uint32_t)qi, q->rec, q->pasid))
        q->ready = false;
    return q->ready;
}

/* The driver could not prepare request qi: it fails without moving data. */
static void fail_request(scim_replay *r, int32_t qi, scim_time_t now)
{
    request *q = &r->reqs[qi];
    scim_hist_record(r->st.latency, now - q->issued);
    r->st.requests++;
    r->st.errors++;
    release_request(r, qi);
    r->n_used--;
    if (r->ops.request_end)
        r->ops.request_end(r->owner, (uint32_t)qi, q->rec, q->pasid, true);
}

/* One record at a time: a request is begun when a chunk slot is free and
 * is issued before the next record is looked at; a held request holds
 * every later record. */
static void pump_serial(scim_replay *r)
{
    while (!r->failed) {
        scim_time_t now = scim_kernel_time(r->k);
        if (r->cur == NONE) {
            if (!record_due(r, now))
                return;
            if (!is_access(r->rec)) {
                os_barrier(r, now);
                return;
            }
            if (r->n_free == 0)
                return;
            int32_t qi = lowest_free_request(r);
            r->cur = qi;
            r->cur_va = r->rec->addr;
            r->cur_end = r->rec->addr + r->rec->size;
            begin_request(r, qi, now);
        }
        if (!r->reqs[r->cur].ready)
            return; /* the driver is preparing it */
        if (r->reqs[r->cur].error) {
            fail_request(r, r->cur, now);
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

/* Issue the chunks of ready requests, in the order they became ready,
 * while chunk slots are free. */
static void issue_ready(scim_replay *r)
{
    uint32_t n = (uint32_t)r->p.max_outstanding + 1;
    while (!r->failed) {
        if (r->cur == NONE) {
            if (!r->ready_len)
                return;
            int32_t qi = r->ready_q[r->ready_head];
            r->ready_head = (r->ready_head + 1) % n;
            r->ready_len--;
            const request *q = &r->reqs[qi];
            if (q->error) {
                fail_request(r, qi, scim_kernel_time(r->k));
                continue;
            }
            r->cur = qi;
            r->cur_va = q->rec->addr;
            r->cur_end = q->rec->addr + q->rec->size;
        }
        while (r->n_free && r->cur_va < r->cur_end)
            issue_chunk(r);
        if (r->cur_va < r->cur_end)
            return; /* out of slots */
        r->cur = NONE;
    }
}

/* scim_replay_post_ahead: a request is begun (posted) at its time when a
 * request entry is free, whatever the chunk slots; a held request does
 * not hold later records; ready requests are issued in ready order. */
static void pump_posted(scim_replay *r)
{
    while (!r->failed) {
        issue_ready(r);
        scim_time_t now = scim_kernel_time(r->k);
        if (r->failed || !record_due(r, now))
            return;
        if (!is_access(r->rec)) {
            os_barrier(r, now);
            return;
        }
        int32_t qi = lowest_free_request(r);
        if (qi == NONE)
            return; /* a completion pumps again */
        r->have_rec = false;
        if (begin_request(r, qi, now))
            push_ready(r, (uint32_t)qi);
    }
}

static void pump(scim_replay *r)
{
    if (r->post_ahead)
        pump_posted(r);
    else
        pump_serial(r);
}

int scim_replay_start(scim_replay *r, scim_err *err)
{
    if (r->host_fed)
        return 0;
    if (!r->trace && !(r->trace = scim_trace_open(r->p.trace, err))) /* open already if it warmed up */
        return err && err->code ? err->code : SCIM_EIO;
    schedule_pump(r, 0);
    return 0;
}

int scim_replay_warm_next(scim_replay *r, scim_trace_rec *rec, uint32_t *pasid, scim_time_t *at, scim_err *err)
{
    if (r->host_fed)
        return 0;
    if (!r->trace && !(r->trace = scim_trace_open(r->p.trace, err)))
        return err && err->code ? err->code : SCIM_EIO;
    if (r->records_left == 0)
        return 0;
    /* the common binary record in line, as the pump reads it */
    int rc = scim_trace_next_quick(r->trace, rec) ? 1 : scim_trace_next(r->trace, rec, err);
    if (rc <= 0)
        return rc;
    r->records_left--;
    if (!pasid_bound(r, rec))
        return scim_err_set(err, SCIM_EPARSE,
                            "%s:%llu: error: %s accesses pasid %u, an address space it is not bound to; expected "
                            "pasid=%u%s%s%s",
                            scim_trace_name(r->trace), (unsigned long long)rec->line, r->agent, rec->pasid, r->p.pasid,
                            r->p.tenants_key ? " or one listed in " : "", r->p.tenants_key ? r->p.tenants_key : "",
                            r->p.tenants_key ? "; add it there" : "");
    scim_time_t t = SCIM_NS(rec->time_ns);
    if (rec->timing == SCIM_TIMING_ABS)
        *at = t > r->warm_end ? t : r->warm_end;
    else if (t > UINT64_MAX - r->warm_end)
        return scim_err_set(err, SCIM_EPARSE,
                            "%s:%llu:1: error: timing '+%llu' takes %s past the end of the simulated clock; "
                            "expected a smaller delay",
                            scim_trace_name(r->trace), (unsigned long long)rec->line,
                            (unsigned long long)rec->time_ns, r->agent);
    else
        *at = r->warm_end + t;
    if (r->until && *at >= r->until) { /* past sim.until: the trace ends here */
        r->eof = true;
        return 0;
    }
    r->warm_end = r->trace_clock = *at;
    *pasid = (rec->has & SCIM_TRACE_HAS_PASID) ? rec->pasid : r->p.pasid;
    return 1;
}

int scim_replay_push(scim_replay *r, const scim_trace_rec *rec, scim_time_t at, uint64_t tag, bool translate_only,
                     scim_err *err)
{
    if (!r->host_fed)
        return scim_err_set(err, SCIM_EINVAL, "%s replays a trace; only a device with source: host takes requests "
                            "from the host", r->agent);
    if (rec->op != SCIM_OP_READ && rec->op != SCIM_OP_WRITE)
        return scim_err_set(err, SCIM_EINVAL, "%s: a host request is a read or a write", r->agent);
    if (rec->size == 0 || rec->addr + rec->size < rec->addr)
        return scim_err_set(err, SCIM_EINVAL, "%s: a request of %llu bytes at 0x%llx is empty or wraps around",
                            r->agent, (unsigned long long)rec->size, (unsigned long long)rec->addr);
    if (!pasid_bound(r, rec))
        return scim_err_set(err, SCIM_EINVAL,
                            "%s: pasid %u is not an address space it is bound to (shootdowns would never reach it); "
                            "expected pasid %u%s%s",
                            r->agent, rec->pasid, r->p.pasid, r->p.tenants_key ? " or one listed in " : "",
                            r->p.tenants_key ? r->p.tenants_key : "");
    scim_time_t now = scim_kernel_time(r->k);
    /* in order, as a trace: never before the previous request, nor before now */
    if (at < now)
        at = now;
    if (at < r->host_last_at)
        at = r->host_last_at;
    wake_pump(r);
    host_rec h = {*rec, at, tag, translate_only};
    if (!scim_fifo_push(&r->host_recs, &h))
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    r->host_last_at = at;
    if (!r->have_rec && scim_fifo_len(&r->host_recs) == 1) {
        /* an event, not a call: the host may be inside a completion */
        schedule_pump(r, at);
    }
    return 0;
}

void scim_replay_limit(scim_replay *r, uint64_t records, scim_time_t until)
{
    r->records_limit = records;
    r->records_left = records ? records : UINT64_MAX;
    r->until = until;
}

void scim_replay_set_until(scim_replay *r, scim_time_t until) { r->until = until; }

scim_trace_reader *scim_replay_trace_reader(scim_replay *r) { return r->trace; }

void scim_replay_warm_unread(scim_replay *r, const scim_trace_rec *rec, scim_time_t at, scim_time_t origin)
{
    if (r->until && at >= r->until) { /* a later sim.until (scim_sim_set_warm_points): as warm_next ends it */
        r->eof = true;
        return;
    }
    *r->rec = *rec;
    r->have_rec = true;
    r->rec_tag = rec->line;
    r->rec_translate_only = false;
    r->warm_end = origin;
    r->trace_clock = at;
    r->eligible = at > origin ? at - origin : 0;
}

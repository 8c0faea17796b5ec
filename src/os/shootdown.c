/* Shootdown rounds: the pages of a round are invalidated wherever they may
 * be cached, by IPIs to the cores and invalidation descriptors to the
 * IOMMU (sync) or by broadcast invalidations everyone snoops (broadcast);
 * once every acknowledgement is in, the page-table frames the round
 * emptied are freed and the round's owner continues (os_new_op's done). */
#include "os/os_internal.h"

#include <stdlib.h>
#include <string.h>

sd_op *os_new_op(scim_os *os, uint32_t pasid, scim_msg *req, os_round_done_fn done, void *ctx, size_t *index)
{
    size_t i = os->n_ops;
    for (size_t k = 0; k < os->n_ops; k++) {
        size_t c = (os->ops_next + k) % os->n_ops;
        if (!os->ops[c].used) {
            i = c;
            break;
        }
    }
    if (i == os->n_ops) {
        sd_op *n = os_grow_or_fail(os, os->ops, &os->n_ops, i + 1, sizeof *n, 8);
        if (!n)
            return NULL;
        os->ops = n;
    }
    os->ops_next = i + 1;
    sd_op *op = &os->ops[i];
    os_frame_list_free(&op->data);
    os_frame_list_free(&op->tables);
    free(op->pages);
    memset(op, 0, sizeof *op);
    op->used = true;
    op->pasid = pasid;
    op->req = req;
    op->done = done;
    op->done_ctx = ctx;
    op->started = scim_kernel_now(os->k);
    if (os->checker)
        op->checker_id = scim_obs_shootdown_begin(os->checker);
    *index = i;
    return op;
}

page_ref *os_op_add_page(scim_os *os, sd_op *op, uint64_t va, uint64_t len, uint64_t old_pfn)
{
    page_ref *n = os_grow_or_fail(os, op->pages, &op->cap_pages, op->n_pages + 1, sizeof *n, 32);
    if (!n)
        return NULL;
    op->pages = n;
    page_ref *pr = &op->pages[op->n_pages++];
    *pr = (page_ref){.va = va, .len = len, .old_pfn = old_pfn};
    return pr;
}

/* ---------- sending invalidations ---------- */

static scim_msg *inv_msg(scim_os *os, scim_msg_type type, scim_node_id dst, scim_inv_scope scope, bool broadcast)
{
    scim_msg *m = os_msg(os, type, dst);
    if (!m)
        return NULL;
    m->u.inv = (scim_inv_req){scope, broadcast};
    m->wire_bytes = scim_port_wire(os->port, OS_INV_DESC_BYTES);
    return m;
}

/* An invalidation sent at `at`, later in a shootdown round: the initiator
 * sends one IPI or broadcast after another. */
static void send_inv(scim_os *os, scim_time_t at, scim_msg_type type, scim_node_id dst, scim_inv_scope scope,
                     bool broadcast, enum os_request_kind kind, size_t op)
{
    scim_msg *m = inv_msg(os, type, dst, scope, broadcast);
    if (m)
        scim_port_request_at(os->port, at, SCIM_PORT_OWNER, OSR_ID(kind, op), m);
}

/* The op's pages merged where contiguous, into lo[]/hi[]; their number. */
static size_t merge_ranges(const sd_op *op, uint64_t *lo, uint64_t *hi)
{
    size_t n = 0;
    for (size_t i = 0; i < op->n_pages; i++) {
        uint64_t a = op->pages[i].va, b = a + op->pages[i].len;
        if (n && lo[n - 1] <= a && a <= hi[n - 1]) {
            if (b > hi[n - 1])
                hi[n - 1] = b;
        } else {
            lo[n] = a;
            hi[n++] = b;
        }
    }
    return n;
}

static scim_inv_scope pasid_scope(uint32_t pasid) { return (scim_inv_scope){SCIM_INV_PASID, pasid, 0, 0}; }
static scim_inv_scope range_scope(uint32_t pasid, uint64_t lo, uint64_t hi)
{
    return (scim_inv_scope){SCIM_INV_RANGE, pasid, lo, hi - lo};
}

/* sync: one IPI per core (a single range, or a whole-PASID flush), one
 * after another; invalidation descriptors to the IOMMU, which forwards
 * them to the devices. Returns when the last IPI leaves. */
static scim_time_t send_sync(scim_os *os, sd_op *op, size_t idx, const uint64_t *lo, const uint64_t *hi,
                             size_t units, bool whole, scim_time_t t)
{
    /* one IPI per core: the range when there is one, else the whole PASID */
    scim_inv_scope ipi = units == 1 && !whole ? range_scope(op->pasid, lo[0], hi[0]) : pasid_scope(op->pasid);
    for (size_t c = 0; c < os->n_cpus; c++) {
        if (os->cpus[c].pasid != op->pasid)
            continue;
        t += os->p.ipi_send_cost;
        op->cpu_pending++;
        os->st.ipis_sent++;
        send_inv(os, t, SCIM_MSG_IPI, os->cpus[c].node, ipi, false, OSR_CPU_INV, idx);
    }
    if (os->p.unsafe_skip_device_inv)
        return t;
    for (size_t u = 0; u < units; u++) {
        op->dev_pending++;
        os->st.inv_units++;
        /* invalidation descriptors go to the IOMMU's queue at once */
        scim_inv_scope s = whole ? pasid_scope(op->pasid) : range_scope(op->pasid, lo[u], hi[u]);
        scim_msg *m = inv_msg(os, SCIM_MSG_INV_REQ, os->iommu, s, false);
        if (m)
            scim_port_request(os->port, SCIM_PORT_OWNER, OSR_ID(OSR_DEV_INV, idx), m);
    }
    return t;
}

/* broadcast: one invalidation per range (or the whole PASID), issued one
 * after another, that the cores, the IOMMU and the devices snoop. */
static scim_time_t send_broadcast(scim_os *os, sd_op *op, size_t idx, const uint64_t *lo, const uint64_t *hi,
                                  size_t units, bool whole, scim_time_t t)
{
    for (size_t u = 0; u < units; u++) {
        t += os->p.broadcast_cost;
        os->st.broadcasts++;
        scim_inv_scope r = whole ? pasid_scope(op->pasid) : range_scope(op->pasid, lo[u], hi[u]);
        for (size_t c = 0; c < os->n_cpus; c++) {
            if (os->cpus[c].pasid != op->pasid)
                continue;
            op->cpu_pending++;
            send_inv(os, t, SCIM_MSG_INV_REQ, os->cpus[c].node, r, true, OSR_CPU_INV, idx);
        }
        if (os->p.unsafe_skip_device_inv)
            continue;
        os->st.inv_units++;
        op->dev_pending++;
        send_inv(os, t, SCIM_MSG_INV_REQ, os->iommu, r, true, OSR_DEV_INV, idx);
        for (size_t d = 0; d < os->n_devs; d++) {
            if (os->devs[d].pasid != op->pasid)
                continue;
            op->dev_pending++;
            send_inv(os, t, SCIM_MSG_INV_REQ, os->devs[d].node, r, true, OSR_DEV_INV, idx);
        }
    }
    return t;
}

static void finish_op(scim_os *os, size_t idx);

void os_start_shootdown(scim_os *os, size_t idx)
{
    /* the copies learn of the change before any TLB is invalidated */
    if (!os_sync_flush(os, os->ops[idx].pasid, SK_SHOOTDOWN, NULL, idx, 0))
        os_start_shootdown_now(os, idx);
}

/* Ranges are the op's pages merged where contiguous; beyond
 * inv_coalesce_pages pages, one whole-PASID invalidation. */
void os_start_shootdown_now(scim_os *os, size_t idx)
{
    sd_op *op = &os->ops[idx];
    os->st.shootdowns++;
    scim_time_t t0 = scim_kernel_now(os->k);
    op->started = t0;
    uint64_t *lo = malloc((op->n_pages + 1) * sizeof *lo), *hi = malloc((op->n_pages + 1) * sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return;
    }
    bool whole = op->whole || op->n_pages > os->p.inv_coalesce_pages;
    size_t units = whole ? 1 : merge_ranges(op, lo, hi);
    scim_time_t t = os->p.shootdown == OS_SD_SYNC ? send_sync(os, op, idx, lo, hi, units, whole, t0)
                                                  : send_broadcast(os, op, idx, lo, hi, units, whole, t0);
    free(lo);
    free(hi);
    os->st.busy_ps += t - t0;
    op->charged = t - t0;
    op->cpus_done = op->cpu_pending ? 0 : t0;
    op->devs_done = op->dev_pending ? 0 : t0;
    if (op->cpu_pending == 0 && op->dev_pending == 0)
        finish_op(os, idx);
}

void os_on_inv_done(scim_os *os, scim_msg *m)
{
    size_t idx = OSR_INDEX(m->tag);
    bool cpu = OSR_KIND(m->tag) == OSR_CPU_INV;
    scim_port_free(os->port, m);
    sd_op *op = idx < os->n_ops ? &os->ops[idx] : NULL;
    if (!op || !op->used || (cpu ? op->cpu_pending == 0 : op->dev_pending == 0)) {
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected invalidation completion");
        return;
    }
    scim_time_t now = scim_kernel_now(os->k);
    if (cpu && --op->cpu_pending == 0)
        op->cpus_done = now;
    if (!cpu && --op->dev_pending == 0)
        op->devs_done = now;
    if (op->cpu_pending == 0 && op->dev_pending == 0)
        finish_op(os, idx);
}

/* Every acknowledgement is in: the initiating CPU stops waiting (Linux's
 * flush_tlb_multi and qi_submit_sync spin), the emptied page-table frames
 * are freed, and the round's owner continues. */
static void finish_op(scim_os *os, size_t idx)
{
    sd_op *op = &os->ops[idx];
    scim_time_t now = scim_kernel_now(os->k);
    if (now - op->started > op->charged)
        os->st.busy_ps += now - op->started - op->charged;
    scim_hist_record(os->st.shootdown_latency, now - op->started);
    scim_hist_record(os->st.shootdown_cpu_wait, op->cpus_done - op->started);
    scim_hist_record(os->st.shootdown_dev_wait, op->devs_done - op->started);
    if (os->checker)
        scim_obs_shootdown_end(os->checker, op->checker_id);
    for (size_t i = 0; i < op->tables.n; i++) {
        os->deferred--;
        os_release_frame(os, op->tables.v[i].pfn, 0);
    }
    op = &os->ops[idx]; /* freeing wakes faults: never let a stale pointer outlive that */
    os_frame_list_free(&op->tables);
    op->done(os, idx, op->done_ctx);
}

/* Workload generators' emitters, one per output (device trace, CPU trace).
 * Records are pushed with an integer time and released in (time, push
 * order) once the generator promises that nothing earlier can still come
 * (a watermark), so a generator may compute records out of order
 * (storage's completions, the application's writes ahead of the DMA) and
 * the writer still sees them in time order, with memory bounded by the
 * generator's lookahead rather than by the trace's length. */
#include "workload/tracegen_internal.h"

#include <stdlib.h>

static bool pend_less(const scim_tg_pend *a, const scim_tg_pend *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

int scim_tg_em_push(scim_tg_emitter *e, uint64_t t, scim_trace_op op, uint64_t addr, uint64_t size, uint32_t pasid,
                    scim_err *err)
{
    if (!e->w)
        return 0;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        scim_tg_pend *h = realloc(e->heap, cap * sizeof *h);
        if (!h)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory generating a trace");
        e->heap = h;
        e->cap = cap;
    }
    scim_tg_pend x = {t, e->seq++, op, pasid, addr, size};
    size_t i = e->n++;
    while (i > 0 && pend_less(&x, &e->heap[(i - 1) / 2])) {
        e->heap[i] = e->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    e->heap[i] = x;
    return 0;
}

static scim_tg_pend em_pop(scim_tg_emitter *e)
{
    scim_tg_pend top = e->heap[0], last = e->heap[--e->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->n)
            break;
        if (c + 1 < e->n && pend_less(&e->heap[c + 1], &e->heap[c]))
            c++;
        if (!pend_less(&e->heap[c], &last))
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (e->n)
        e->heap[i] = last;
    return top;
}

static int em_write(scim_tg_emitter *e, const scim_tg_pend *x, scim_err *err)
{
    scim_trace_rec r = {0};
    r.timing = e->rel ? SCIM_TIMING_REL : SCIM_TIMING_ABS;
    r.time_ns = e->rel ? x->t - e->last_t : x->t;
    r.op = x->op;
    r.addr = x->addr;
    r.size = x->size;
    if (e->pasid_keys) {
        r.has = SCIM_TRACE_HAS_PASID;
        r.pasid = x->pasid;
    }
    if (e->records == 0)
        e->first_t = x->t;
    e->last_t = x->t;
    e->records++;
    if (x->op == SCIM_OP_READ)
        e->read_bytes += x->size;
    else
        e->write_bytes += x->size;
    for (uint64_t p = x->addr / PAGE; p <= (x->addr + x->size - 1) / PAGE; p++)
        if (!scim_u64map_upsert(&e->pages, p, 0))
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory counting pages");
    return scim_trace_write(e->w, &r, err);
}

int scim_tg_em_flush(scim_tg_emitter *e, uint64_t upto, scim_err *err)
{
    while (e->n && e->heap[0].t <= upto) {
        scim_tg_pend x = em_pop(e);
        if (em_write(e, &x, err) != 0)
            return err && err->code ? err->code : SCIM_EIO;
    }
    return 0;
}

int scim_tg_em_flush_all(scim_tg_emitter *e, scim_err *err) { return scim_tg_em_flush(e, UINT64_MAX, err); }

int scim_tg_cpu_flush(scim_tg_gen *g, uint64_t upto)
{
    for (size_t i = 0; i < g->ncpu; i++)
        TRY(scim_tg_em_flush(&g->cpu[i], upto, g->err));
    return 0;
}

void scim_tg_em_free(scim_tg_emitter *e)
{
    free(e->heap);
    scim_u64map_free(&e->pages);
}

/* storage: a small discrete-event model of an NVMe-like device
 * (documented in tracegen.c's kind table). */
#include "workload/tracegen_internal.h"

#include <stdlib.h>

uint64_t scim_tg_sto_data_offset(const scim_tg_params *p) { return scim_tg_round_up(p->entries * (SQE + CQE), MIB); }

enum { EV_ISSUE, EV_READY, EV_XDONE, EV_COMPLETE };

typedef struct sto_ev {
    double t;
    uint64_t seq;
    int type;
    uint32_t slot;
} sto_ev;

typedef struct sto_io {
    uint32_t tenant;
    bool read;
    uint64_t addr, entry;
} sto_io;

typedef struct sto {
    sto_ev *ev;
    size_t n;
    uint64_t seq;
    sto_io *io;     /* [queue-depth], by slot */
    uint32_t *fifo; /* link queue of slots, in order of readiness */
    size_t fh, fn;
    bool link_busy;
    uint64_t *cursor, *head; /* per tenant: next block (seq), ring position */
} sto;

static bool ev_less(const sto_ev *a, const sto_ev *b) { return a->t != b->t ? a->t < b->t : a->seq < b->seq; }

static void ev_push(sto *s, double t, int type, uint32_t slot)
{
    sto_ev x = {t, s->seq++, type, slot};
    size_t i = s->n++;
    while (i > 0 && ev_less(&x, &s->ev[(i - 1) / 2])) {
        s->ev[i] = s->ev[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->ev[i] = x;
}

static sto_ev ev_pop(sto *s)
{
    sto_ev top = s->ev[0], last = s->ev[--s->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && ev_less(&s->ev[c + 1], &s->ev[c]))
            c++;
        if (!ev_less(&s->ev[c], &last))
            break;
        s->ev[i] = s->ev[c];
        i = c;
    }
    if (s->n)
        s->ev[i] = last;
    return top;
}

static uint64_t ns_of(double t) { return (uint64_t)floor(t); }

static int sto_start_transfer(scim_tg_gen *g, sto *s, double now)
{
    uint32_t slot = s->fifo[s->fh];
    s->fh = (s->fh + 1) % g->p.queue_depth;
    s->fn--;
    s->link_busy = true;
    const sto_io *io = &s->io[slot];
    ev_push(s, now + (double)g->p.block_size / g->p.bandwidth, EV_XDONE, slot);
    return DMA(ns_of(now), io->read ? SCIM_OP_WRITE : SCIM_OP_READ, io->addr, g->p.block_size, io->tenant);
}

static int sto_complete(scim_tg_gen *g, sto *s, uint32_t slot, double now)
{
    const sto_io *io = &s->io[slot];
    uint64_t base = scim_tg_tenant_base(g, io->tenant);
    TRY(DMA(ns_of(now), SCIM_OP_WRITE, base + g->p.entries * SQE + io->entry * CQE, CQE, io->tenant));
    if (io->read) /* the application consumes what it read */
        TRY(CPU(ns_of(now + g->p.app_delay), SCIM_OP_READ, io->addr, g->p.block_size, io->tenant));
    ev_push(s, now, EV_ISSUE, slot);
    return 0;
}

static int sto_issue(scim_tg_gen *g, sto *s, uint32_t slot, double now)
{
    const scim_tg_params *p = &g->p;
    if (g->ops == p->count)
        return 0;
    g->ops++;
    sto_io *io = &s->io[slot];
    io->tenant = scim_tg_tenant_pick(g);
    io->read = scim_tg_rng_double(&g->r) < p->read_fraction;
    uint64_t blocks = p->file_size / p->block_size;
    uint64_t blk = p->pattern == PATTERN_SEQ ? s->cursor[io->tenant]++ % blocks : scim_tg_rng_below(&g->r, blocks);
    uint64_t base = scim_tg_tenant_base(g, io->tenant);
    io->addr = base + scim_tg_sto_data_offset(p) + blk * p->block_size;
    io->entry = s->head[io->tenant]++ % p->entries;
    if (!io->read) /* the application fills the buffer before it submits */
        TRY(CPU(ns_of(now - p->app_delay), SCIM_OP_WRITE, io->addr, p->block_size, io->tenant));
    TRY(DMA(ns_of(now), SCIM_OP_READ, base + io->entry * SQE, SQE, io->tenant));
    ev_push(s, io->read ? now + p->latency : now, EV_READY, slot);
    return 0;
}

int scim_tg_gen_storage(scim_tg_gen *g)
{
    const scim_tg_params *p = &g->p;
    uint64_t qd = p->queue_depth;
    sto s = {0};
    s.ev = malloc(3 * qd * sizeof *s.ev); /* each slot has at most one pending event, plus slack */
    s.io = calloc(qd, sizeof *s.io);
    s.fifo = malloc(qd * sizeof *s.fifo);
    s.cursor = calloc(p->tenants, sizeof *s.cursor);
    s.head = calloc(p->tenants, sizeof *s.head);
    int rc = s.ev && s.io && s.fifo && s.cursor && s.head ? 0 : scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
    for (uint64_t i = 0; rc == 0 && i < qd; i++)
        ev_push(&s, p->app_delay, EV_ISSUE, (uint32_t)i);
    while (rc == 0 && s.n) {
        sto_ev e = ev_pop(&s);
        switch (e.type) {
        case EV_ISSUE: rc = sto_issue(g, &s, e.slot, e.t); break;
        case EV_READY:
            s.fifo[(s.fh + s.fn++) % qd] = e.slot;
            if (!s.link_busy)
                rc = sto_start_transfer(g, &s, e.t);
            break;
        case EV_XDONE:
            s.link_busy = false;
            if (s.fn)
                rc = sto_start_transfer(g, &s, e.t);
            if (rc == 0)
                rc = s.io[e.slot].read ? sto_complete(g, &s, e.slot, e.t) : (ev_push(&s, e.t + p->latency,
                                                                                    EV_COMPLETE, e.slot), 0);
            break;
        default: rc = sto_complete(g, &s, e.slot, e.t); break;
        }
        /* events come in time order, so the device's records are final up
         * to now and the application's up to now - app-delay */
        if (rc == 0)
            rc = scim_tg_em_flush(&g->dma, ns_of(e.t), g->err);
        if (rc == 0 && e.t >= p->app_delay)
            rc = scim_tg_cpu_flush(g, ns_of(e.t - p->app_delay));
    }
    free(s.ev);
    free(s.io);
    free(s.fifo);
    free(s.cursor);
    free(s.head);
    return rc;
}

/* nic-rx and nic-tx: one generator, the payload written or read by the
 * device (documented in tracegen.c's kind table). */
#include "workload/tracegen_internal.h"

#include <stdlib.h>

uint64_t scim_tg_nic_pool_offset(const scim_tg_params *p) { return scim_tg_round_up(2 * p->entries * DESC, MIB); }

/* A descriptor ring whose descriptors each hold a buffer, and the pool's
 * free list (a ring buffer used as a queue or a stack). */
typedef struct nic_tenant {
    uint64_t head;     /* packets this tenant received or sent */
    uint32_t *posted;  /* [entries]: buffer held by each descriptor */
    uint32_t *free;    /* [buffers] */
    uint64_t fhead, flen;
} nic_tenant;

static uint32_t nic_recycle(nic_tenant *n, uint32_t used, const scim_tg_params *p)
{
    uint64_t cap = p->buffers;
    n->free[(n->fhead + n->flen++) % cap] = used;
    if (p->recycle == RECYCLE_LIFO)
        return n->free[(n->fhead + --n->flen) % cap];
    uint32_t b = n->free[n->fhead];
    n->fhead = (n->fhead + 1) % cap;
    n->flen--;
    return b;
}

static int gen_nic(scim_tg_gen *g, bool rx)
{
    const scim_tg_params *p = &g->p;
    uint64_t E = p->entries, d = scim_tg_delay_ns(g);
    /* tx: the application writes a buffer app-delay before the NIC reads it */
    uint64_t t0 = rx ? 0 : d;
    nic_tenant *ts = calloc(p->tenants, sizeof *ts);
    int rc = ts ? 0 : scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
    for (uint64_t t = 0; rc == 0 && t < p->tenants; t++) {
        ts[t].posted = malloc(E * sizeof *ts[t].posted);
        ts[t].free = malloc(p->buffers * sizeof *ts[t].free);
        if (!ts[t].posted || !ts[t].free) {
            rc = scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
            break;
        }
        for (uint64_t i = 0; i < E; i++)
            ts[t].posted[i] = (uint32_t)i;
        for (uint64_t i = E; i < p->buffers; i++)
            ts[t].free[ts[t].flen++] = (uint32_t)i;
    }
    uint64_t wire = 0, pool = scim_tg_nic_pool_offset(p);
    for (uint64_t i = 0; rc == 0 && i < p->count; i++) {
        uint32_t tn = scim_tg_tenant_pick(g);
        nic_tenant *n = &ts[tn];
        uint64_t size = scim_tg_dist_sample(&p->sizes, &g->r);
        uint64_t T = t0 + scim_tg_wire_ns(wire, p->rate);
        uint64_t slot = n->head++ % E, b = n->posted[slot];
        uint64_t base = scim_tg_tenant_base(g, tn), desc = base + slot * DESC, cq = base + E * DESC + slot * DESC;
        uint64_t buf = base + pool + b * p->buffer_size;
        n->posted[slot] = nic_recycle(n, (uint32_t)b, p);
        if (rx) {
            if ((rc = DMA(T, SCIM_OP_READ, desc, DESC, tn)) || (rc = DMA(T, SCIM_OP_WRITE, buf, size, tn)) ||
                (rc = DMA(T, SCIM_OP_WRITE, cq, CQE, tn)) || (rc = CPU(T + d, SCIM_OP_READ, cq, CQE, tn)) ||
                (rc = CPU(T + d, SCIM_OP_READ, buf, size, tn)) ||
                (rc = CPU(T + d, SCIM_OP_WRITE, desc, DESC, tn))) /* re-post the refilled descriptor */
                break;
        } else {
            if ((rc = CPU(T - d, SCIM_OP_WRITE, buf, size, tn)) ||
                (rc = CPU(T - d, SCIM_OP_WRITE, desc, DESC, tn)) || (rc = DMA(T, SCIM_OP_READ, desc, DESC, tn)) ||
                (rc = DMA(T, SCIM_OP_READ, buf, size, tn)) || (rc = DMA(T, SCIM_OP_WRITE, cq, CQE, tn)) ||
                (rc = CPU(T + d, SCIM_OP_READ, cq, CQE, tn)))
                break;
        }
        wire += size + p->framing;
        g->ops++;
        uint64_t next = t0 + scim_tg_wire_ns(wire, p->rate);
        if ((rc = scim_tg_em_flush(&g->dma, next, g->err)) || (rc = scim_tg_cpu_flush(g, rx ? next + d : next - d)))
            break;
    }
    for (uint64_t t = 0; ts && t < p->tenants; t++) {
        free(ts[t].posted);
        free(ts[t].free);
    }
    free(ts);
    return rc;
}

int scim_tg_gen_nic_rx(scim_tg_gen *g) { return gen_nic(g, true); }
int scim_tg_gen_nic_tx(scim_tg_gen *g) { return gen_nic(g, false); }

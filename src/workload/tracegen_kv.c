/* kv: one-sided RDMA gets and puts on a Zipf-popular set of objects
 * (documented in tracegen.c's kind table). */
#include "workload/tracegen_internal.h"

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A multiplier coprime to n near n / golden ratio, so that consecutive
 * ranks land far apart and r -> r * m mod n is a permutation. */
static uint64_t scatter_multiplier(uint64_t n)
{
    if (n <= 2)
        return 1;
    uint64_t m = (uint64_t)((double)n * 0.6180339887498949) | 1;
    while (gcd(m, n) != 1)
        m += 2;
    return m % n;
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t n)
{
    uint64_t r = 0;
    a %= n;
    while (b) { /* no 128-bit type in ISO C */
        if (b & 1)
            r = r >= n - a ? r - (n - a) : r + a;
        a = a >= n - a ? a - (n - a) : a + a;
        b >>= 1;
    }
    return r;
}

int scim_tg_gen_kv(scim_tg_gen *g)
{
    const scim_tg_params *p = &g->p;
    uint64_t n = p->region / p->object_size, d = scim_tg_delay_ns(g), wire = 0;
    uint64_t m = scatter_multiplier(n);
    scim_tg_zipf z;
    scim_tg_zipf_init(&z, n, p->zipf);
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < p->count; i++) {
        uint32_t tn = scim_tg_tenant_pick(g);
        bool get = scim_tg_rng_double(&g->r) < p->get_fraction;
        uint64_t rank = scim_tg_zipf_sample(&z, &g->r) - 1;
        uint64_t slot = p->placement == PLACE_SCATTER ? mulmod(rank, m, n) : rank;
        uint64_t addr = scim_tg_tenant_base(g, tn) + slot * p->object_size, T = scim_tg_wire_ns(wire, p->rate);
        if ((rc = DMA(T, get ? SCIM_OP_READ : SCIM_OP_WRITE, addr, p->object_size, tn)) != 0)
            break;
        if (!get) /* the server notices the update (e.g. re-indexes the object) */
            if ((rc = CPU(T + d, SCIM_OP_READ, addr, p->object_size, tn)) != 0)
                break;
        wire += p->object_size + p->framing;
        g->ops++;
        uint64_t next = scim_tg_wire_ns(wire, p->rate);
        if ((rc = scim_tg_em_flush(&g->dma, next, g->err)) || (rc = scim_tg_cpu_flush(g, next + d)))
            break;
    }
    return rc;
}

/* stream: accelerator / GPU sweeps over arrays (documented in
 * tracegen.c's kind table). */
#include "workload/tracegen_internal.h"

#include <stdlib.h>

uint64_t scim_tg_str_array_stride(const scim_tg_params *p) { return scim_tg_round_up(p->array_size, 2 * MIB); }
static uint64_t str_positions(const scim_tg_params *p) { return (p->array_size - p->access) / p->stride + 1; }

int scim_tg_gen_stream(scim_tg_gen *g)
{
    const scim_tg_params *p = &g->p;
    uint64_t astride = scim_tg_str_array_stride(p), npos = str_positions(p), per_pass = p->arrays * npos;
    /* the application initializes every tenant's arrays, a page at a time */
    uint64_t init = 0;
    for (uint32_t tn = 0; tn < p->tenants; tn++)
        for (uint64_t a = 0; a < p->arrays; a++)
            for (uint64_t off = 0; off < p->array_size; off += PAGE) {
                uint64_t len = p->array_size - off < PAGE ? p->array_size - off : PAGE;
                TRY(CPU((uint64_t)floor((double)init / p->cpu_bandwidth), SCIM_OP_WRITE,
                        scim_tg_tenant_base(g, tn) + a * astride + off, len, tn));
                init += len;
                TRY(scim_tg_cpu_flush(g, UINT64_MAX));
            }
    uint64_t start = (uint64_t)floor((double)(p->tenants * p->arrays * p->array_size) / p->cpu_bandwidth) +
                     scim_tg_delay_ns(g);
    uint64_t total = p->count ? p->count : p->passes * per_pass * p->tenants, bytes = 0;
    uint64_t *cursor = calloc(p->tenants, sizeof *cursor);
    if (!cursor)
        return scim_err_set(g->err, SCIM_ENOMEM, "out of host memory");
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < total; i++) {
        uint32_t tn = scim_tg_tenant_pick(g);
        uint64_t within = cursor[tn]++ % per_pass, a, pos;
        if (p->order == ORDER_INTERLEAVE) {
            pos = within / p->arrays;
            a = within % p->arrays;
        } else {
            a = within / npos;
            pos = within % npos;
        }
        scim_trace_op op = a >= p->arrays - p->write_arrays ? SCIM_OP_WRITE : SCIM_OP_READ;
        uint64_t T = start + (uint64_t)floor((double)bytes / p->bandwidth);
        rc = DMA(T, op, scim_tg_tenant_base(g, tn) + a * astride + pos * p->stride, p->access, tn);
        bytes += p->access;
        g->ops++;
        if (rc == 0)
            rc = scim_tg_em_flush(&g->dma, T, g->err);
    }
    free(cursor);
    return rc;
}

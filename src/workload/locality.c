/* Locality of a device's I/O (workload/locality.h): the definitions are in
 * the header; this file counts presence and runs as events come, keeps the
 * page stream, and computes the curves (mrc.c) at the end. */
#include "workload/locality.h"

#include <stdlib.h>
#include <string.h>

#include "core/u64map.h"
#include "workload/mrc.h"

#define PAGE_SHIFT 12

struct scim_loc {
    scim_loc_params p;
    scim_u64map cpu_last; /* page -> number (1-based) of its last CPU access */
    scim_u64map io_seen;  /* pages of earlier operations */
    uint64_t *stream;     /* the page stream */
    size_t n, cap;
    scim_loc_result r;
    uint64_t prev_last, run;
};

void scim_loc_params_default(scim_loc_params *p)
{
    *p = (scim_loc_params){.windows = {10000, 100000, 1000000}, .n_windows = 3, .ways = {4, 8, 16}, .n_ways = 3};
}

scim_loc *scim_loc_create(const scim_loc_params *p, scim_err *err)
{
    scim_loc_params def;
    if (!p) {
        scim_loc_params_default(&def);
        p = &def;
    }
    if (p->n_windows > SCIM_LOC_MAX_WINDOWS || p->n_ways > SCIM_LOC_MAX_WAYS) {
        scim_err_set(err, SCIM_ERANGE, "locality: at most %d windows and %d ways counts", SCIM_LOC_MAX_WINDOWS,
                     SCIM_LOC_MAX_WAYS);
        return NULL;
    }
    for (size_t i = 0; i < p->n_windows + p->n_ways; i++) {
        uint64_t v = i < p->n_windows ? p->windows[i] : p->ways[i - p->n_windows];
        if (v == 0 || (i >= p->n_windows && v > 4096)) {
            scim_err_set(err, SCIM_ERANGE, "locality: a window must be >= 1 and ways from 1 to 4096");
            return NULL;
        }
    }
    scim_loc *l = calloc(1, sizeof *l);
    if (!l) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    l->p = *p;
    scim_u64map_init(&l->cpu_last);
    scim_u64map_init(&l->io_seen);
    return l;
}

void scim_loc_destroy(scim_loc *l)
{
    if (!l)
        return;
    scim_u64map_free(&l->cpu_last);
    scim_u64map_free(&l->io_seen);
    free(l->stream);
    free(l);
}

int scim_loc_cpu(scim_loc *l, uint64_t addr, uint64_t size, scim_err *err)
{
    uint64_t n = ++l->r.cpu_accesses;
    for (uint64_t p = addr >> PAGE_SHIFT; p <= (addr + size - 1) >> PAGE_SHIFT; p++) {
        uint64_t *v = scim_u64map_upsert(&l->cpu_last, p, 0);
        if (!v)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        *v = n;
    }
    return 0;
}

int scim_loc_io(scim_loc *l, uint64_t addr, uint64_t size, bool dev_writes, scim_err *err)
{
    scim_loc_result *r = &l->r;
    uint64_t first = addr >> PAGE_SHIFT, last = (addr + size - 1) >> PAGE_SHIFT;
    if (l->cap - l->n < last - first + 1) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap - l->n < last - first + 1)
            cap *= 2;
        uint64_t *s = realloc(l->stream, cap * sizeof *s);
        if (!s)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory for the page stream");
        l->stream = s;
        l->cap = cap;
    }
    for (uint64_t p = first; p <= last; p++) {
        const uint64_t *c = scim_u64map_get(&l->cpu_last, p);
        if (c) {
            r->present++;
            uint64_t before = r->cpu_accesses - *c + 1;
            for (size_t w = 0; w < l->p.n_windows; w++)
                r->recent[w] += before <= l->p.windows[w];
        }
        r->seen += c || scim_u64map_get(&l->io_seen, p);
        l->stream[l->n++] = p;
    }
    for (uint64_t p = first; p <= last; p++)
        if (!scim_u64map_upsert(&l->io_seen, p, 1))
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    if (r->io_ops && (first == l->prev_last || first == l->prev_last + 1)) {
        l->run++;
    } else {
        r->seq_runs++;
        l->run = 1;
    }
    if (l->run > r->longest_run)
        r->longest_run = l->run;
    l->prev_last = last;
    r->io_ops++;
    r->io_dev_writes += dev_writes;
    r->io_bytes += size;
    r->io_pages += last - first + 1;
    if (last - first + 1 > r->max_pages_per_op)
        r->max_pages_per_op = last - first + 1;
    return 0;
}

static unsigned reuse_bin(uint64_t d)
{
    unsigned b = 0;
    while (d) {
        b++;
        d >>= 1;
    }
    return b; /* 0 -> 0, 1 -> 1, 2..3 -> 2, 4..7 -> 3, ... */
}

int scim_loc_finish(scim_loc *l, bool have_cpu, scim_loc_result *out, scim_err *err)
{
    scim_loc_result r = l->r;
    r.have_cpu = have_cpu;
    r.distinct_pages = l->io_seen.len;
    r.n_windows = l->p.n_windows;
    memcpy(r.windows, l->p.windows, sizeof r.windows);
    r.stack_hist = calloc(r.distinct_pages ? r.distinct_pages : 1, sizeof *r.stack_hist);
    if (!r.stack_hist)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    uint64_t cold = 0;
    int rc = scim_mrc_stack_hist(l->stream, l->n, r.distinct_pages, r.stack_hist, &cold, err);
    for (size_t d = 0; rc == 0 && d < r.distinct_pages; d++)
        r.reuse[reuse_bin(d)] += r.stack_hist[d];
    r.reuse[SCIM_LOC_REUSE_BINS - 1] = cold;
    for (size_t i = 0; rc == 0 && r.distinct_pages && i < l->p.n_ways; i++) {
        uint64_t w = l->p.ways[i];
        size_t n = 1;
        while (((uint64_t)1 << (n - 1)) * w < 2 * r.distinct_pages)
            n++;
        scim_loc_curve *c = &r.curves[r.n_curves++];
        c->ways = w;
        c->n = n;
        c->sets = malloc(n * sizeof *c->sets);
        c->misses = malloc(n * sizeof *c->misses);
        if (!c->sets || !c->misses) {
            rc = scim_err_set(err, SCIM_ENOMEM, "out of host memory");
            break;
        }
        for (size_t s = 0; s < n; s++)
            c->sets[s] = (uint64_t)1 << s;
        rc = scim_mrc_set_assoc(l->stream, l->n, w, n, c->misses, err);
    }
    if (rc != 0) {
        scim_loc_result_free(&r);
        return rc;
    }
    *out = r;
    return 0;
}

void scim_loc_result_free(scim_loc_result *r)
{
    free(r->stack_hist);
    for (size_t i = 0; i < r->n_curves; i++) {
        free(r->curves[i].sets);
        free(r->curves[i].misses);
    }
    r->stack_hist = NULL;
    r->n_curves = 0;
}

uint64_t scim_loc_lru_misses(const scim_loc_result *r, uint64_t size)
{
    uint64_t m = r->reuse[SCIM_LOC_REUSE_BINS - 1];
    for (uint64_t d = size; d < r->distinct_pages; d++)
        m += r->stack_hist[d];
    return m;
}

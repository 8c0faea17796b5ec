/* Locality (workload/locality.h): its inputs (a device trace with an
 * optional CPU trace, or a log through the importers' parsers) and its
 * outputs (text, JSON, CSV). */
#include <stdlib.h>
#include <string.h>

#include "core/trace_internal.h"
#include "scimitar/trace.h"
#include "workload/locality.h"

/* ------------------------------------------------------------------------ */
/* Inputs */

typedef struct agent {
    scim_trace_reader *r;
    scim_trace_rec rec;
    uint64_t t; /* issue time of rec if the agent never waits */
} agent;

/* The next read or write record: 1, 0 at the end, < 0 on error. */
static int next_rw(agent *a, scim_err *err)
{
    int rc;
    while ((rc = scim_trace_next(a->r, &a->rec, err)) == 1) {
        a->t = scim_trace_clock_after(a->t, &a->rec);
        if (a->rec.op == SCIM_OP_READ || a->rec.op == SCIM_OP_WRITE)
            return 1;
    }
    return rc;
}

static int feed_traces(scim_loc *l, agent *dev, agent *cpu, scim_err *err)
{
    int rc, crc = cpu->r ? next_rw(cpu, err) : 0;
    if (crc < 0)
        return crc;
    while ((rc = next_rw(dev, err)) == 1) {
        for (; crc == 1 && cpu->t <= dev->t; crc = next_rw(cpu, err))
            if ((rc = scim_loc_cpu(l, cpu->rec.addr, cpu->rec.size, err)) != 0)
                return rc;
        if (crc < 0)
            return crc;
        if ((rc = scim_loc_io(l, dev->rec.addr, dev->rec.size, dev->rec.op == SCIM_OP_WRITE, err)) != 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    for (; crc == 1; crc = next_rw(cpu, err))
        if ((rc = scim_loc_cpu(l, cpu->rec.addr, cpu->rec.size, err)) != 0)
            return rc;
    return crc;
}

int scim_loc_from_traces(const char *dev, const char *cpu, const scim_loc_params *p, scim_loc_result *out,
                         scim_err *err)
{
    scim_err own; /* the status of a refusal, when the caller wants no message */
    if (!err)
        err = &own;
    err->code = 0;
    agent d = {0}, c = {0};
    scim_loc *l = scim_loc_create(p, err);
    if (!l)
        return err->code ? err->code : SCIM_ENOMEM;
    int rc = 0;
    if (!(d.r = scim_trace_open(dev, err)) || (cpu && !(c.r = scim_trace_open(cpu, err))))
        rc = err->code ? err->code : SCIM_EIO;
    if (rc == 0)
        rc = feed_traces(l, &d, &c, err);
    if (rc == 0)
        rc = scim_loc_finish(l, cpu != NULL, out, err);
    scim_trace_close(d.r);
    scim_trace_close(c.r);
    scim_loc_destroy(l);
    return rc;
}

static int on_access(void *ctx, const scim_import_access *a, scim_err *err)
{
    return scim_loc_cpu(ctx, a->addr, a->size, err);
}

static int on_io(void *ctx, const scim_import_io *io, scim_err *err)
{
    return scim_loc_io(ctx, io->addr, io->size, io->dev_writes, err);
}

int scim_loc_from_log(scim_import_kind kind, const char *log, const scim_import_opts *o, const scim_loc_params *p,
                      scim_loc_result *out, scim_import_counts *counts, scim_err *err)
{
    scim_err own; /* as above */
    if (!err)
        err = &own;
    err->code = 0;
    scim_loc *l = scim_loc_create(p, err);
    if (!l)
        return err->code ? err->code : SCIM_ENOMEM;
    scim_import_sink sink = {l, on_access, on_io};
    int rc = scim_import_parse(kind, log, o, &sink, counts, err);
    if (rc == 0)
        rc = scim_loc_finish(l, kind == SCIM_IMPORT_LACKEY, out, err);
    scim_loc_destroy(l);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Outputs */

static double frac(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

/* Miss counts of the fully associative cache at sizes 1..distinct. */
static uint64_t *lru_curve(const scim_loc_result *r)
{
    uint64_t *m = malloc((r->distinct_pages + 1) * sizeof *m);
    if (!m)
        return NULL;
    uint64_t acc = r->reuse[SCIM_LOC_REUSE_BINS - 1];
    m[r->distinct_pages] = acc;
    for (uint64_t c = r->distinct_pages; c > 0; c--)
        m[c - 1] = acc += r->stack_hist[c - 1];
    return m; /* m[c] = misses at c pages; m[0] = every entry */
}

/* 1, 2, 4, ... up to distinct, and distinct itself. */
static uint64_t next_size(uint64_t c, uint64_t distinct) { return c * 2 < distinct ? c * 2 : c < distinct ? distinct : 0; }

static void reuse_range(unsigned b, uint64_t *lo, uint64_t *hi)
{
    *lo = b == 0 ? 0 : (uint64_t)1 << (b - 1);
    *hi = b == 0 ? 0 : b == 64 ? UINT64_MAX : ((uint64_t)1 << b) - 1;
}

static unsigned last_reuse_bin(const scim_loc_result *r)
{
    unsigned last = 0;
    for (unsigned b = 0; b + 1 < SCIM_LOC_REUSE_BINS; b++)
        if (r->reuse[b])
            last = b;
    return last;
}

int scim_loc_print(const scim_loc_result *r, FILE *out)
{
    fprintf(out, "io.ops: %llu\nio.device_writes: %llu\nio.device_reads: %llu\nio.bytes: %llu\n",
            (unsigned long long)r->io_ops, (unsigned long long)r->io_dev_writes,
            (unsigned long long)(r->io_ops - r->io_dev_writes), (unsigned long long)r->io_bytes);
    fprintf(out, "io.pages: %llu\nio.distinct_pages: %llu\nio.pages_per_op: %.3f\nio.max_pages_per_op: %llu\n",
            (unsigned long long)r->io_pages, (unsigned long long)r->distinct_pages, frac(r->io_pages, r->io_ops),
            (unsigned long long)r->max_pages_per_op);
    fprintf(out, "io.seq_runs: %llu\nio.seq_run_mean_ops: %.3f\nio.seq_run_longest_ops: %llu\n",
            (unsigned long long)r->seq_runs, frac(r->io_ops, r->seq_runs), (unsigned long long)r->longest_run);
    if (r->have_cpu) {
        fprintf(out, "cpu.accesses: %llu\n", (unsigned long long)r->cpu_accesses);
        fprintf(out, "present: %.6f (%llu of %llu I/O pages)\n", frac(r->present, r->io_pages),
                (unsigned long long)r->present, (unsigned long long)r->io_pages);
        for (size_t w = 0; w < r->n_windows; w++)
            fprintf(out, "recent_%llu: %.6f (%llu)\n", (unsigned long long)r->windows[w],
                    frac(r->recent[w], r->io_pages), (unsigned long long)r->recent[w]);
    } else {
        fprintf(out, "present: - (no CPU trace)\n");
    }
    fprintf(out, "seen: %.6f (%llu)\n", frac(r->seen, r->io_pages), (unsigned long long)r->seen);
    fprintf(out, "reuse.cold: %llu\n", (unsigned long long)r->reuse[SCIM_LOC_REUSE_BINS - 1]);
    for (unsigned b = 0, last = last_reuse_bin(r); b <= last && r->distinct_pages; b++) {
        uint64_t lo, hi;
        reuse_range(b, &lo, &hi);
        fprintf(out, "reuse.%llu-%llu: %llu\n", (unsigned long long)lo, (unsigned long long)hi,
                (unsigned long long)r->reuse[b]);
    }
    uint64_t *m = lru_curve(r);
    if (!m)
        return SCIM_ENOMEM;
    for (uint64_t c = r->distinct_pages ? 1 : 0; c; c = next_size(c, r->distinct_pages))
        fprintf(out, "lru.miss_ratio.%llu: %.6f\n", (unsigned long long)c, frac(m[c], r->io_pages));
    free(m);
    for (size_t i = 0; i < r->n_curves; i++)
        for (size_t s = 0; s < r->curves[i].n; s++)
            fprintf(out, "ways%llu.miss_ratio.%llu: %.6f\n", (unsigned long long)r->curves[i].ways,
                    (unsigned long long)(r->curves[i].sets[s] * r->curves[i].ways),
                    frac(r->curves[i].misses[s], r->io_pages));
    return ferror(out) ? SCIM_EIO : 0;
}

int scim_loc_write_json(const scim_loc_result *r, FILE *out)
{
    fprintf(out, "{\n  \"io_ops\": %llu,\n  \"io_device_writes\": %llu,\n  \"io_bytes\": %llu,\n",
            (unsigned long long)r->io_ops, (unsigned long long)r->io_dev_writes, (unsigned long long)r->io_bytes);
    fprintf(out, "  \"io_pages\": %llu,\n  \"distinct_pages\": %llu,\n  \"pages_per_op\": %.6f,\n"
                 "  \"max_pages_per_op\": %llu,\n",
            (unsigned long long)r->io_pages, (unsigned long long)r->distinct_pages, frac(r->io_pages, r->io_ops),
            (unsigned long long)r->max_pages_per_op);
    fprintf(out, "  \"seq_runs\": %llu,\n  \"seq_run_mean_ops\": %.6f,\n  \"seq_run_longest_ops\": %llu,\n",
            (unsigned long long)r->seq_runs, frac(r->io_ops, r->seq_runs), (unsigned long long)r->longest_run);
    if (r->have_cpu) {
        fprintf(out, "  \"cpu_accesses\": %llu,\n  \"present\": %.6f,\n  \"present_pages\": %llu,\n",
                (unsigned long long)r->cpu_accesses, frac(r->present, r->io_pages), (unsigned long long)r->present);
        for (size_t w = 0; w < r->n_windows; w++)
            fprintf(out, "  \"recent_%llu\": %.6f,\n  \"recent_pages_%llu\": %llu,\n",
                    (unsigned long long)r->windows[w], frac(r->recent[w], r->io_pages),
                    (unsigned long long)r->windows[w], (unsigned long long)r->recent[w]);
    } else {
        fprintf(out, "  \"cpu_accesses\": null,\n  \"present\": null,\n  \"present_pages\": null,\n");
        for (size_t w = 0; w < r->n_windows; w++)
            fprintf(out, "  \"recent_%llu\": null,\n  \"recent_pages_%llu\": null,\n",
                    (unsigned long long)r->windows[w], (unsigned long long)r->windows[w]);
    }
    fprintf(out, "  \"seen\": %.6f,\n  \"seen_pages\": %llu,\n", frac(r->seen, r->io_pages),
            (unsigned long long)r->seen);
    fprintf(out, "  \"reuse\": {\"cold\": %llu, \"bins\": [", (unsigned long long)r->reuse[SCIM_LOC_REUSE_BINS - 1]);
    for (unsigned b = 0, last = last_reuse_bin(r); b <= last && r->distinct_pages; b++) {
        uint64_t lo, hi;
        reuse_range(b, &lo, &hi);
        fprintf(out, "%s{\"min\": %llu, \"max\": %llu, \"count\": %llu}", b ? ", " : "", (unsigned long long)lo,
                (unsigned long long)hi, (unsigned long long)r->reuse[b]);
    }
    fprintf(out, "]},\n  \"lru\": [");
    uint64_t *m = lru_curve(r);
    if (!m)
        return SCIM_ENOMEM;
    for (uint64_t c = r->distinct_pages ? 1 : 0; c; c = next_size(c, r->distinct_pages))
        fprintf(out, "%s{\"pages\": %llu, \"misses\": %llu, \"miss_ratio\": %.6f}", c > 1 ? ", " : "",
                (unsigned long long)c, (unsigned long long)m[c], frac(m[c], r->io_pages));
    free(m);
    fprintf(out, "],\n  \"set_assoc\": [");
    for (size_t i = 0; i < r->n_curves; i++) {
        const scim_loc_curve *c = &r->curves[i];
        fprintf(out, "%s{\"ways\": %llu, \"points\": [", i ? ", " : "", (unsigned long long)c->ways);
        for (size_t s = 0; s < c->n; s++)
            fprintf(out, "%s{\"sets\": %llu, \"pages\": %llu, \"misses\": %llu, \"miss_ratio\": %.6f}",
                    s ? ", " : "", (unsigned long long)c->sets[s], (unsigned long long)(c->sets[s] * c->ways),
                    (unsigned long long)c->misses[s], frac(c->misses[s], r->io_pages));
        fprintf(out, "]}");
    }
    fprintf(out, "]\n}\n");
    return ferror(out) ? SCIM_EIO : 0;
}

int scim_loc_write_csv(const scim_loc_result *r, FILE *out)
{
    fprintf(out, "curve,ways,sets,pages,misses,miss_ratio\n");
    uint64_t *m = lru_curve(r);
    if (!m)
        return SCIM_ENOMEM;
    for (uint64_t c = 1; c <= r->distinct_pages; c++)
        fprintf(out, "lru,%llu,1,%llu,%llu,%.6f\n", (unsigned long long)c, (unsigned long long)c,
                (unsigned long long)m[c], frac(m[c], r->io_pages));
    free(m);
    for (size_t i = 0; i < r->n_curves; i++)
        for (size_t s = 0; s < r->curves[i].n; s++)
            fprintf(out, "set_assoc,%llu,%llu,%llu,%llu,%.6f\n", (unsigned long long)r->curves[i].ways,
                    (unsigned long long)r->curves[i].sets[s],
                    (unsigned long long)(r->curves[i].sets[s] * r->curves[i].ways),
                    (unsigned long long)r->curves[i].misses[s], frac(r->curves[i].misses[s], r->io_pages));
    return ferror(out) ? SCIM_EIO : 0;
}

/* `scimitar trace stats`: what a trace contains, read through the trace
 * reader. */
#include "core/trace_internal.h"

#include <string.h>

#include "core/u64map.h"

int scim_trace_summarize(const char *path, scim_trace_summary *s, scim_err *err)
{
    if (!path || !s)
        return scim_err_set(err, SCIM_EINVAL, "scim_trace_summarize: %s is NULL", path ? "the summary" : "path");
    memset(s, 0, sizeof *s);
    scim_trace_reader *r = scim_trace_open(path, err);
    if (!r)
        return err && err->code ? err->code : SCIM_EIO;
    scim_u64map pages, regions;
    scim_u64map_init(&pages);
    scim_u64map_init(&regions);
    scim_trace_rec rec;
    uint64_t t = 0;
    int rc;
    while ((rc = scim_trace_next(r, &rec, err)) == 1) {
        t = rec.timing == SCIM_TIMING_ABS ? rec.time_ns : t + rec.time_ns;
        if (s->records == 0)
            s->first_ns = t;
        s->last_ns = t;
        s->records++;
        s->per_op[rec.op]++;
        if (rec.op == SCIM_OP_READ || rec.op == SCIM_OP_WRITE) {
            if (rec.op == SCIM_OP_READ)
                s->read_bytes += rec.size;
            else
                s->write_bytes += rec.size;
            for (uint64_t p = rec.addr >> 12; p <= (rec.addr + rec.size - 1) >> 12; p++) {
                if (!scim_u64map_upsert(&pages, p, 0) || !scim_u64map_upsert(&regions, p >> 9, 0)) {
                    rc = scim_err_set(err, SCIM_ENOMEM, "out of host memory counting pages");
                    break;
                }
            }
            if (rc < 0)
                break;
        }
    }
    s->pages_4k = pages.len;
    s->regions_2m = regions.len;
    s->mean_gap_ns = s->records > 1 ? (double)(s->last_ns - s->first_ns) / (double)(s->records - 1) : 0.0;
    scim_u64map_free(&pages);
    scim_u64map_free(&regions);
    scim_trace_close(r);
    return rc < 0 ? rc : 0;
}

int scim_trace_summary_print(const scim_trace_summary *s, FILE *out)
{
    if (!s || !out)
        return SCIM_EINVAL;
    fprintf(out, "records: %llu\n", (unsigned long long)s->records);
    for (int i = 0; i < SCIM_OP_COUNT_; i++)
        if (s->per_op[i])
            fprintf(out, "op.%s: %llu\n", scim_trace_op_names[i], (unsigned long long)s->per_op[i]);
    fprintf(out, "bytes.read: %llu\nbytes.written: %llu\n", (unsigned long long)s->read_bytes,
            (unsigned long long)s->write_bytes);
    fprintf(out, "footprint.pages_4k: %llu\nfootprint.regions_2m: %llu\n", (unsigned long long)s->pages_4k,
            (unsigned long long)s->regions_2m);
    fprintf(out, "time.first_ns: %llu\ntime.last_ns: %llu\ntime.mean_gap_ns: %.3f\n",
            (unsigned long long)s->first_ns, (unsigned long long)s->last_ns, s->mean_gap_ns);
    /* A dozen lines stay in stdio's buffer: without the flush, a full disk
     * would be found (and ignored) only at exit. */
    return fflush(out) == EOF || ferror(out) ? SCIM_EIO : 0;
}

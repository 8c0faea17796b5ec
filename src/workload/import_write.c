/* `scimitar trace import`: a parsed log (workload/import.h) written as
 * traces through the public trace writer, and a config that replays them.
 *
 * Records: a CPU access is `+N read|write ADDR SIZE` (a load reads; a store
 * or a modify writes: a modify is one record, so that the CPU trace has as
 * many accesses as the log); an I/O call is `@T write|read BUF LEN io=SEQ`
 * on the device (read-like calls write memory). The CPU trace is timed
 * relative to its previous record (smaller: 0.8 bytes a record in binary
 * gzip), the device absolutely; both count the same clock from 0, so
 * their no-wait issue times are the log's times.
 *
 * The config's regions cover every 4 KiB page either trace touches,
 * merging pages less than 1 MiB apart, and are demand-paged (nothing
 * populated): a page the device touches first faults under scheme
 * scimitar, one the CPU touched before is present.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/u64map.h"
#include "scimitar/trace.h"
#include "workload/import.h"

#define PAGE_SHIFT 12
#define MERGE_GAP_PAGES 256 /* 1 MiB */

typedef struct writer {
    scim_trace_writer *dev, *cpu;
    scim_u64map pages; /* page -> 1 CPU, 2 device, 3 both */
    uint64_t cpu_t;
} writer;

static int mark(writer *w, uint64_t addr, uint64_t size, uint64_t who, scim_err *err)
{
    for (uint64_t p = addr >> PAGE_SHIFT; p <= (addr + size - 1) >> PAGE_SHIFT; p++) {
        uint64_t *v = scim_u64map_upsert(&w->pages, p, 0);
        if (!v)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory counting pages");
        *v |= who;
    }
    return 0;
}

static int on_access(void *ctx, const scim_import_access *a, scim_err *err)
{
    writer *w = ctx;
    scim_trace_rec r = {.timing = SCIM_TIMING_REL, .time_ns = a->time_ns - w->cpu_t,
                        .op = a->kind == 'L' ? SCIM_OP_READ : SCIM_OP_WRITE, .addr = a->addr, .size = a->size};
    w->cpu_t = a->time_ns;
    int rc = mark(w, a->addr, a->size, 1, err);
    return rc ? rc : scim_trace_write(w->cpu, &r, err);
}

static int on_io(void *ctx, const scim_import_io *io, scim_err *err)
{
    writer *w = ctx;
    scim_trace_rec r = {.timing = SCIM_TIMING_ABS, .time_ns = io->time_ns,
                        .op = io->dev_writes ? SCIM_OP_WRITE : SCIM_OP_READ, .addr = io->addr, .size = io->size,
                        .has = SCIM_TRACE_HAS_IO, .io = io->seq};
    int rc = mark(w, io->addr, io->size, 2, err);
    return rc ? rc : scim_trace_write(w->dev, &r, err);
}

typedef struct page_list {
    uint64_t *v;
    size_t n;
    uint64_t cpu, dev;
} page_list;

static void collect(void *ctx, uint64_t page, uint64_t who)
{
    page_list *l = ctx;
    l->v[l->n++] = page;
    l->cpu += (who & 1) != 0;
    l->dev += (who & 2) != 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The config, written to `tmp`. */
static int write_config(const char *tmp, const char *prefix, scim_import_kind kind, const char *log,
                        const page_list *pl, scim_import_result *res, scim_err *err)
{
    FILE *f = fopen(tmp, "w");
    if (!f)
        return scim_err_set(err, SCIM_EIO, "cannot create %s", tmp);
    const scim_import_counts *c = &res->counts;
    const char *name = base_name(prefix);
    fprintf(f, "# Imported by `scimitar trace import %s %s` (%s):\n", scim_import_kind_name(kind), base_name(log),
            kind == SCIM_IMPORT_LACKEY ? "valgrind lackey" : "strace");
    if (kind == SCIM_IMPORT_LACKEY)
        fprintf(f, "# cpu0 replays the program's %llu data accesses, dev0 the transfers of its\n",
                (unsigned long long)(c->loads + c->stores + c->modifies));
    else
        fprintf(f, "# dev0 replays the transfers of the program's\n");
    fprintf(f, "# %llu I/O system calls on a buffer (%llu vectored calls not shown: their\n"
               "# buffers are not in the log), in one address space. Compare the schemes:\n"
               "#     scimitar compare %s.yaml\n"
               "# or run one: scimitar run %s.yaml --set scheme=pin\n",
            (unsigned long long)c->io_calls, (unsigned long long)c->vectored, name, name);
    fprintf(f, "seed: 1\nscheme: scimitar\nprocesses:\n  app:\n    pasid: 1\n    regions:\n");
    uint64_t regions = 0, bytes = 0;
    for (size_t i = 0; i < pl->n;) {
        size_t j = i;
        while (j + 1 < pl->n && pl->v[j + 1] - pl->v[j] <= MERGE_GAP_PAGES)
            j++;
        uint64_t size = (pl->v[j] - pl->v[i] + 1) << PAGE_SHIFT;
        fprintf(f, "      - {va: 0x%llx, size: %lluKiB}\n", (unsigned long long)(pl->v[i] << PAGE_SHIFT),
                (unsigned long long)(size >> 10));
        regions++;
        bytes += size;
        i = j + 1;
    }
    if (kind == SCIM_IMPORT_LACKEY)
        fprintf(f, "cpus:\n"
                   "  # 16 loads and stores in flight: the model has no data cache, and an\n"
                   "  # out-of-order core keeps about a dozen L1D misses outstanding (Intel\n"
                   "  # Skylake: 12 fill buffers) while it hits in its cache\n"
                   "  cpu0: {trace: %s.cpu.trace.gz, pasid: 1, max_outstanding: 16}\n", name);
    fprintf(f, "devices:\n  dev0: {trace: %s.dev.trace.gz, pasid: 1}\n", name);
    res->regions = regions;
    res->region_bytes = bytes;
    if (ferror(f) | (fclose(f) != 0)) {
        remove(tmp);
        return scim_err_set(err, SCIM_EIO, "cannot write %s", tmp);
    }
    return 0;
}

static int make_path(char *buf, size_t len, const char *prefix, const char *suffix, scim_err *err)
{
    int n = snprintf(buf, len, "%s%s", prefix, suffix);
    if (n < 0 || (size_t)n >= len)
        return scim_err_set(err, SCIM_EINVAL, "trace import: output name too long: %s%s", prefix, suffix);
    return 0;
}

int scim_import_write(scim_import_kind kind, const char *log, const char *prefix, const scim_import_opts *o,
                      scim_import_result *res, scim_err *err)
{
    char dev_path[4096], cpu_path[4096], cfg_path[4096], cfg_tmp[4200];
    int rc = 0;
    if (!prefix || !*prefix)
        return scim_err_set(err, SCIM_EINVAL, "trace import: no output prefix; give -o PREFIX");
    if ((rc = make_path(dev_path, sizeof dev_path, prefix, ".dev.trace.gz", err)) ||
        (rc = make_path(cpu_path, sizeof cpu_path, prefix, ".cpu.trace.gz", err)) ||
        (rc = make_path(cfg_path, sizeof cfg_path, prefix, ".yaml", err)))
        return rc;
    snprintf(cfg_tmp, sizeof cfg_tmp, "%s.tmp.%ld", cfg_path, (long)getpid());
    scim_trace_format fmt = o && o->text ? SCIM_TRACE_TEXT : SCIM_TRACE_BINARY;
    writer w = {0};
    scim_u64map_init(&w.pages);
    scim_import_result r = {0};
    page_list pl = {0};
    bool cpu = kind == SCIM_IMPORT_LACKEY, cfg_written = false;
    if (!(w.dev = scim_trace_create(dev_path, fmt, true, err)) ||
        (cpu && !(w.cpu = scim_trace_create(cpu_path, fmt, true, err))))
        rc = err && err->code ? err->code : SCIM_EIO;
    scim_import_sink sink = {&w, on_access, on_io};
    if (rc == 0)
        rc = scim_import_parse(kind, log, o, &sink, &r.counts, err);
    if (rc == 0 && !(pl.v = malloc((w.pages.len ? w.pages.len : 1) * sizeof *pl.v)))
        rc = scim_err_set(err, SCIM_ENOMEM, "out of host memory");
    if (rc == 0) {
        scim_u64map_foreach(&w.pages, collect, &pl);
        qsort(pl.v, pl.n, sizeof *pl.v, cmp_u64);
        r.cpu_pages = pl.cpu;
        r.dev_pages = pl.dev;
        rc = write_config(cfg_tmp, prefix, kind, log, &pl, &r, err);
        cfg_written = rc == 0;
    }
    /* publish: the CPU trace, the device trace, then the config; undo on failure */
    bool cpu_done = false, dev_done = false;
    if (rc == 0 && w.cpu) {
        rc = scim_trace_finish(w.cpu, err);
        w.cpu = NULL;
        cpu_done = rc == 0;
    }
    if (rc == 0) {
        rc = scim_trace_finish(w.dev, err);
        w.dev = NULL;
        dev_done = rc == 0;
    }
    if (rc == 0 && rename(cfg_tmp, cfg_path) != 0)
        rc = scim_err_set(err, SCIM_EIO, "cannot rename %s to %s", cfg_tmp, cfg_path);
    if (rc != 0) {
        if (cfg_written)
            remove(cfg_tmp);
        if (cpu_done)
            remove(cpu_path);
        if (dev_done)
            remove(dev_path);
    }
    scim_trace_abort(w.cpu);
    scim_trace_abort(w.dev);
    scim_u64map_free(&w.pages);
    free(pl.v);
    if (rc == 0 && res)
        *res = r;
    return rc;
}

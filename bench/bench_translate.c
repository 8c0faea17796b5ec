/* Translation benchmark: simulated page translations per host second, beside
 * the floor of the same run.
 *
 * For each workload the same binary trace is (1) simulated end to end —
 * device IOTLB, fabric, IOMMU walks of real page tables, memory — and (2)
 * replayed by a floor loop that only decodes the trace and does one bare
 * hash lookup per 4 KiB page. The ratio sim/floor is the number to quote:
 * it does not depend on how fast the host is.
 *
 *   hit-dominated   64-byte DMAs over 16 hot pages (IOTLB hits)
 *   miss-dominated  64-byte DMAs over 65,536 random pages (IOMMU walks)
 *
 * Usage: bench_translate [dmas] [backend]   (default 1,000,000, native)
 * For instruction counts that do not depend on machine load:
 *   valgrind --tool=callgrind bench_translate 100000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/u64map.h"
#include "scimitar/scimitar.h"
#include "scimitar/trace.h"

#define REGION 0x10000000ull

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_translate: %s: %s\n", what, msg);
    exit(1);
}

static void make_trace(const char *path, uint64_t n, uint64_t pages)
{
    scim_err err = {0};
    scim_trace_writer *w = scim_trace_create(path, SCIM_TRACE_BINARY, false, &err);
    if (!w)
        die(path, err.msg);
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        scim_trace_rec r = {0};
        r.timing = SCIM_TIMING_REL;
        r.time_ns = 2;
        r.op = (x >> 40) & 1 ? SCIM_OP_READ : SCIM_OP_WRITE;
        r.addr = REGION + (x % pages) * 4096 + ((x >> 20) % 64) * 64;
        r.size = 64;
        if (scim_trace_write(w, &r, &err) != 0)
            die(path, err.msg);
    }
    if (scim_trace_finish(w, &err) != 0)
        die(path, err.msg);
}

/* decode + one bare hash lookup per page */
static double floor_rate(const char *path, uint64_t pages, uint64_t *lookups)
{
    scim_u64map map;
    scim_u64map_init(&map);
    for (uint64_t p = 0; p < pages; p++)
        *scim_u64map_upsert(&map, (REGION >> 12) + p, p + 1000) = p + 1000;
    scim_err err = {0};
    double t0 = now_s();
    scim_trace_reader *r = scim_trace_open(path, &err);
    if (!r)
        die(path, err.msg);
    scim_trace_rec rec;
    uint64_t n = 0, sum = 0;
    while (scim_trace_next(r, &rec, &err) == 1) {
        for (uint64_t va = rec.addr & ~0xfffull; va < rec.addr + rec.size; va += 4096) {
            uint64_t *v = scim_u64map_get(&map, va >> 12);
            sum += v ? *v : 0;
            n++;
        }
    }
    scim_trace_close(r);
    double dt = now_s() - t0;
    scim_u64map_free(&map);
    if (sum == 42)
        printf(" ");
    *lookups = n;
    return (double)n / dt;
}

static double sim_rate(const char *path, uint64_t pages, const char *backend, uint64_t *translations,
                       double *hit_rate)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: %s}\n"
             "memory: {size: 2GiB}\n"
             "processes:\n"
             "  app:\n"
             "    pasid: 1\n"
             "    regions: [{va: 0x%llx, size: %llu, populate: true}]\n"
             "devices:\n"
             "  nic0: {trace: %s, pasid: 1, max_outstanding: 32}\n",
             backend, (unsigned long long)REGION, (unsigned long long)(pages * 4096), path);
    scim_sim *sim = scim_sim_create();
    if (scim_sim_load_string(sim, yaml, "bench") || scim_sim_build(sim))
        die("build", scim_sim_errmsg(sim));
    double t0 = now_s();
    if (scim_sim_run(sim))
        die("run", scim_sim_errmsg(sim));
    double dt = now_s() - t0;
    double acc = 0;
    scim_stats_lookup(scim_sim_stats(sim), "nic0.iotlb.accesses", &acc);
    *translations = (uint64_t)acc;
    double hits = 0;
    scim_stats_lookup(scim_sim_stats(sim), "nic0.iotlb.hits", &hits);
    *hit_rate = acc > 0 ? hits / acc : 0;
    scim_sim_destroy(sim);
    return acc / dt;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    const char *backend = argc > 2 ? argv[2] : "native";
    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
    char dir[] = "/tmp/scimbench.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    static const struct {
        const char *name;
        uint64_t pages;
    } work[] = {{"hit-dominated", 16}, {"miss-dominated", 65536}};
    printf("%llu DMAs per workload, backend %s\n", (unsigned long long)n, backend);
    printf("%-16s %14s %14s %14s %8s\n", "workload", "IOTLB hits", "sim xlat/s", "floor/s", "ratio");
    for (size_t i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s.trace", dir, work[i].name);
        make_trace(path, n, work[i].pages);
        uint64_t fl_n, sim_n;
        double fl = floor_rate(path, work[i].pages, &fl_n);
        double hit_rate;
        double sm = sim_rate(path, work[i].pages, backend, &sim_n, &hit_rate);
        if (fl_n != sim_n)
            fprintf(stderr, "warning: floor did %llu lookups, simulation %llu\n", (unsigned long long)fl_n,
                    (unsigned long long)sim_n);
        printf("%-16s %13.1f%% %14.3e %14.3e %8.1f\n", work[i].name, hit_rate * 100, sm, fl, fl / sm);
        unlink(path);
    }
    rmdir(dir);
    printf("ratio = floor rate / simulated rate (how many times slower than decoding the trace and\n"
           "doing one hash lookup per page)\n");
    return 0;
}

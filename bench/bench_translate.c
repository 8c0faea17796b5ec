/* Translation benchmark: simulated page translations per host second, beside
 * the floor of the same run.
 *
 * For each workload the same binary trace is (1) simulated end to end —
 * device IOTLB, fabric, IOMMU walks of real page tables, memory — and (2)
 * replayed by a floor loop that only decodes the trace and does one bare
 * hash lookup per 4 KiB page. The ratio sim/floor is the number to quote:
 * it does not depend on how fast the host is. The floor is run repeatedly,
 * half of its passes before the simulation and half after (at least
 * FLOOR_PASSES passes and FLOOR_MIN_S seconds in all), and its fastest pass
 * kept, so that a loaded host does not make the ratio swing.
 *
 *   hit        64-byte DMAs over 16 hot pages (IOTLB hits)
 *   miss       64-byte DMAs over 65,536 random pages (IOMMU walks)
 *   tenants64  64-byte DMAs of 64 tenants (PASIDs) over 32 pages each,
 *              through a 1024-entry fully associative device IOTLB
 *   hit2dev    two devices, each replaying half the DMAs of `hit`: all
 *              IOTLB hits, but never a device alone, so every hop is an
 *              event (the fast path's condition, docs/architecture.md)
 *
 * Usage: bench_translate [dmas] [backend] [-w hit,miss,tenants64,hit2dev] [--no-floor] [--no-fast] [--warmup]
 *                        [--repeat N]
 *        bench_translate --populate TENANTS MIB [backend]
 * (default 1,000,000 DMAs, native, hit and miss, one simulation per
 * workload). --repeat N simulates each workload N times and keeps the
 * fastest, as the floor keeps its fastest pass, so that the printed rate
 * and ratio swing less on a loaded host; the N runs must agree on every
 * count (the simulation is deterministic), or the benchmark fails. Besides the rates it
 * prints, per translated page, the model's events (sim.events), the host ns
 * of the simulation (scim_sim_run only) and the events the kernel ran
 * (fewer than the model's when sim.fast_path stands in for hops; --no-fast
 * turns it off; and dormant replay pumps are counted without running,
 * docs/architecture.md "Event kernel"). --warmup runs every DMA through the
 * functional warm-up instead (sim.warmup, docs/architecture.md "Warm-up"):
 * the rate is warmed pages per second (the build's time with the warm-up
 * less without it), beside the same floor. Host times are this thread's CPU time. For instruction
 * counts that do not depend
 * on machine load, run it under callgrind restricted to the run (bench/run.sh
 * does that):
 *   valgrind --tool=callgrind --toggle-collect=scim_sim_run bench_translate 100000 native -w hit --no-floor
 * --populate builds TENANTS processes of MIB MiB each, populated, and
 * reports the build's host time and memory per populated page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/u64map.h"
#include "scimitar/kernel.h"
#include "scimitar/scimitar.h"
#include "scimitar/trace.h"

#define REGION 0x10000000ull
#define TENANT_BASE 0x7f0000000000ull
#define TENANT_STRIDE 0x40000000ull /* 1 GiB between tenants' regions */
#define PAGE 4096ull
#define FLOOR_PASSES 6
#define FLOOR_MIN_S 1.0

typedef struct workload {
    const char *name;
    uint64_t pages;   /* per tenant */
    unsigned tenants; /* 1: no pasid key in the trace */
    unsigned devices; /* each replays the trace of DMAs / devices records */
} workload;

static const workload workloads[] = {
    {"hit", 16, 1, 1},
    {"miss", 65536, 1, 1},
    {"tenants64", 32, 64, 1},
    {"hit2dev", 16, 1, 2},
};

/* CPU time of this thread: on a loaded host, time spent descheduled does
 * not count against the simulator (or the floor). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_translate: %s: %s\n", what, msg);
    exit(1);
}

static uint64_t tenant_base(const workload *w, unsigned t)
{
    return w->tenants == 1 ? REGION : TENANT_BASE + t * TENANT_STRIDE;
}

static void make_trace(const char *path, uint64_t n, const workload *w)
{
    scim_err err = {0};
    scim_trace_writer *tw = scim_trace_create(path, SCIM_TRACE_BINARY, false, &err);
    if (!tw)
        die(path, err.msg);
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        scim_trace_rec r = {0};
        r.timing = SCIM_TIMING_REL;
        r.time_ns = 2;
        r.op = (x >> 40) & 1 ? SCIM_OP_READ : SCIM_OP_WRITE;
        unsigned t = (unsigned)((x >> 48) % w->tenants);
        r.addr = tenant_base(w, t) + (x % w->pages) * PAGE + ((x >> 20) % 64) * 64;
        r.size = 64;
        if (w->tenants > 1) {
            r.has = SCIM_TRACE_HAS_PASID;
            r.pasid = t + 1;
        }
        if (scim_trace_write(tw, &r, &err) != 0)
            die(path, err.msg);
    }
    if (scim_trace_finish(tw, &err) != 0)
        die(path, err.msg);
}

static uint64_t floor_key(uint32_t pasid, uint64_t va) { return (va / PAGE) ^ ((uint64_t)pasid << 52); }

/* One pass: decode + one bare hash lookup per page; returns its time. */
static double floor_pass(const char *path, const scim_u64map *map, uint64_t *lookups)
{
    scim_err err = {0};
    double t0 = now_s();
    scim_trace_reader *r = scim_trace_open(path, &err);
    if (!r)
        die(path, err.msg);
    scim_trace_rec rec;
    uint64_t n = 0, sum = 0;
    while (scim_trace_next(r, &rec, &err) == 1) {
        uint32_t pasid = (rec.has & SCIM_TRACE_HAS_PASID) ? rec.pasid : 1;
        for (uint64_t va = rec.addr & ~(PAGE - 1); va < rec.addr + rec.size; va += PAGE) {
            const uint64_t *v = scim_u64map_get(map, floor_key(pasid, va));
            sum += v ? *v : 0;
            n++;
        }
    }
    scim_trace_close(r);
    double dt = now_s() - t0;
    if (sum == 42)
        printf(" ");
    *lookups = n;
    return dt;
}

typedef struct floor_run {
    scim_u64map map;
    double best, total;
    int passes;
    unsigned devices; /* the trace is read once per device */
    uint64_t lookups;
} floor_run;

static void floor_init(floor_run *f, const workload *w)
{
    *f = (floor_run){.best = 0, .devices = w->devices};
    scim_u64map_init(&f->map);
    for (unsigned t = 0; t < w->tenants; t++)
        for (uint64_t p = 0; p < w->pages; p++)
            *scim_u64map_upsert(&f->map, floor_key(t + 1, tenant_base(w, t) + p * PAGE), p + 1000) = p + 1000;
}

/* Passes until at least `passes` and `seconds` in all. */
static void floor_run_until(floor_run *f, const char *path, int passes, double seconds)
{
    while (f->passes < passes || f->total < seconds) {
        double dt = 0;
        f->lookups = 0;
        for (unsigned d = 0; d < f->devices; d++) {
            uint64_t n;
            dt += floor_pass(path, &f->map, &n);
            f->lookups += n;
        }
        f->total += dt;
        if (f->passes++ == 0 || dt < f->best)
            f->best = dt;
    }
}

typedef struct sim_result {
    double seconds;
    uint64_t translations;
    uint64_t events;   /* the model's (sim.events) */
    uint64_t executed; /* the kernel's: fewer with sim.fast_path on */
    double hit_rate;
} sim_result;

static double stat(scim_sim *sim, const char *name)
{
    double v = 0;
    if (scim_stats_lookup(scim_sim_stats(sim), name, &v) != 0)
        die("stats", name);
    return v;
}

static char *append(char *buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        buf = realloc(buf, *cap);
        if (!buf)
            die("yaml", "out of memory");
    }
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return buf;
}

static const char *fast = "on"; /* sim.fast_path */
static bool warm_only;           /* --warmup: every DMA through the functional warm-up (sim.warmup) */

static double build_seconds(const char *yaml, uint64_t warmup, scim_sim **out)
{
    scim_sim *sim = scim_sim_create();
    char set[64];
    snprintf(set, sizeof set, "sim.warmup=%llu", (unsigned long long)warmup);
    if (scim_sim_load_string(sim, yaml, "bench") || scim_sim_set(sim, set))
        die("load", scim_sim_errmsg(sim));
    double t0 = now_s();
    if (scim_sim_build(sim))
        die("build", scim_sim_errmsg(sim));
    double dt = now_s() - t0;
    if (out)
        *out = sim;
    else
        scim_sim_destroy(sim);
    return dt;
}

static sim_result sim_run(const char *path, const workload *w, const char *backend)
{
    size_t len = 0, cap = 0;
    char *yaml = NULL, line[512];
    snprintf(line, sizeof line, "kernel: {backend: %s}\nsim: {fast_path: %s}\nmemory: {size: 2GiB}\nprocesses:\n",
             backend, fast);
    yaml = append(yaml, &len, &cap, line);
    for (unsigned t = 0; t < w->tenants; t++) {
        snprintf(line, sizeof line, "  app%u: {pasid: %u, regions: [{va: 0x%llx, size: %llu, populate: true}]}\n", t,
                 t + 1, (unsigned long long)tenant_base(w, t), (unsigned long long)(w->pages * PAGE));
        yaml = append(yaml, &len, &cap, line);
    }
    yaml = append(yaml, &len, &cap, "devices:\n");
    for (unsigned d = 0; d < w->devices; d++) {
        snprintf(line, sizeof line, "  nic%u:\n    trace: %s\n    pasid: 1\n    max_outstanding: 32\n", d, path);
        yaml = append(yaml, &len, &cap, line);
    }
    if (w->tenants > 1) {
        yaml = append(yaml, &len, &cap, "    iotlb: {entries: 1024, ways: 1024}\n    tenants: [");
        for (unsigned t = 1; t < w->tenants; t++) {
            snprintf(line, sizeof line, "%s%u", t > 1 ? ", " : "", t + 1);
            yaml = append(yaml, &len, &cap, line);
        }
        yaml = append(yaml, &len, &cap, "]\n");
    }
    if (warm_only) {
        /* the warm-up runs inside the build: its time is a build's with
         * it less one without (the processes' populate) */
        scim_sim *sim;
        double plain = build_seconds(yaml, 0, NULL), warm = build_seconds(yaml, UINT64_MAX, &sim);
        free(yaml);
        sim_result r = {warm > plain ? warm - plain : warm, (uint64_t)stat(sim, "sim.warmup.records"), 0, 0, 0};
        scim_sim_destroy(sim);
        return r;
    }
    scim_sim *sim = scim_sim_create();
    if (scim_sim_load_string(sim, yaml, "bench") || scim_sim_build(sim))
        die("build", scim_sim_errmsg(sim));
    free(yaml);
    double t0 = now_s();
    if (scim_sim_run(sim))
        die("run", scim_sim_errmsg(sim));
    sim_result r = {now_s() - t0, 0, 0, 0};
    double acc = 0, hits = 0;
    for (unsigned d = 0; d < w->devices; d++) {
        char name[64];
        snprintf(name, sizeof name, "nic%u.iotlb.accesses", d);
        acc += stat(sim, name);
        snprintf(name, sizeof name, "nic%u.iotlb.hits", d);
        hits += stat(sim, name);
    }
    r.translations = (uint64_t)acc;
    r.events = (uint64_t)stat(sim, "sim.events");
    r.executed = scim_kernel_events_executed(scim_sim_kernel(sim));
    r.hit_rate = acc > 0 ? hits / acc : 0;
    scim_sim_destroy(sim);
    return r;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* TENANTS processes of MIB MiB each, populated: build time and memory. */
static int populate_bench(unsigned tenants, uint64_t mib, const char *backend)
{
    uint64_t pages = mib * 1024 * 1024 / PAGE;
    size_t len = 0, cap = 0;
    char *yaml = NULL, line[512];
    /* data frames + page tables (one 4 KiB table per 512 pages, and the upper levels) */
    uint64_t mem_mib = tenants * (mib + mib / 256 + 1) + 64;
    snprintf(line, sizeof line, "kernel: {backend: %s}\nmemory: {size: %lluMiB}\nprocesses:\n", backend,
             (unsigned long long)mem_mib);
    yaml = append(yaml, &len, &cap, line);
    for (unsigned t = 0; t < tenants; t++) {
        snprintf(line, sizeof line, "  app%u: {pasid: %u, regions: [{va: 0x%llx, size: %lluMiB, populate: true}]}\n",
                 t, t + 1, (unsigned long long)(TENANT_BASE + t * TENANT_STRIDE), (unsigned long long)mib);
        yaml = append(yaml, &len, &cap, line);
    }
    long rss0 = max_rss_kib();
    scim_sim *sim = scim_sim_create();
    if (scim_sim_load_string(sim, yaml, "bench"))
        die("load", scim_sim_errmsg(sim));
    free(yaml);
    double t0 = now_s();
    if (scim_sim_build(sim))
        die("build", scim_sim_errmsg(sim));
    double dt = now_s() - t0;
    long rss1 = max_rss_kib();
    uint64_t total = pages * tenants;
    printf("populate: %u tenants x %llu MiB = %llu pages: %.2f s, %.1f MiB peak RSS growth; "
           "%.3f us and %.1f bytes per page\n",
           tenants, (unsigned long long)mib, (unsigned long long)total, dt, (double)(rss1 - rss0) / 1024.0,
           dt * 1e6 / (double)total, (double)(rss1 - rss0) * 1024.0 / (double)total);
    scim_sim_destroy(sim);
    return 0;
}

static const char usage[] =
    "usage: bench_translate [DMAS] [native|systemc] [-w hit,miss,tenants64,hit2dev] [--no-floor] [--no-fast] [--warmup]\n"
    "                       [--repeat N]\n"
    "       bench_translate --populate TENANTS MIB [native|systemc]\n"
    "DMAS: DMAs per workload (default 1000000); -w: the workloads (default hit,miss); --repeat N: simulate each\n"
    "workload N times (1-100) and keep the fastest run (default 1)\n";

/* A command-line mistake: what was wrong, the usage, exit status 2;
 * nothing has been printed on stdout yet. */
static void bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "bench_translate: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    exit(2);
}

/* A whole decimal number in [lo, hi], else a usage error naming `what`. */
static uint64_t parse_count(const char *arg, const char *what, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end || errno || v < lo || v > hi) {
        char fmt[160];
        snprintf(fmt, sizeof fmt, "'%%s' is not a valid %s: expected a whole number from %llu to %llu", what,
                 (unsigned long long)lo, (unsigned long long)hi);
        bad_usage(fmt, arg);
    }
    return v;
}

static const char *parse_backend(const char *arg)
{
    if (strcmp(arg, "native") && strcmp(arg, "systemc"))
        bad_usage("'%s' is not a backend: expected native or systemc", arg);
    return arg;
}

static bool workload_named(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        if (strlen(workloads[i].name) == len && memcmp(workloads[i].name, name, len) == 0)
            return true;
    return false;
}

/* Every name of a -w list is a workload's. */
static const char *parse_workloads(const char *list)
{
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        if (!workload_named(p, len)) {
            char fmt[256] = "-w '%s': expected workload names from ";
            for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
                strncat(fmt, workloads[i].name, sizeof fmt - strlen(fmt) - 1);
                strncat(fmt, ", ", sizeof fmt - strlen(fmt) - 1);
            }
            strncat(fmt, "separated by commas", sizeof fmt - strlen(fmt) - 1);
            bad_usage(fmt, list);
        }
        if (!p[len])
            return list;
        p += len + 1;
    }
}

int main(int argc, char **argv)
{
    setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
    if (argc > 1 && strcmp(argv[1], "--populate") == 0) {
        if (argc < 4 || argc > 5)
            bad_usage("%s takes TENANTS and MIB, and optionally a backend", argv[1]);
        unsigned tenants = (unsigned)parse_count(argv[2], "number of tenants", 1, 1000000);
        uint64_t mib = parse_count(argv[3], "size in MiB", 1, 1u << 20);
        return populate_bench(tenants, mib, argc > 4 ? parse_backend(argv[4]) : "native");
    }
    uint64_t n = 1000000;
    const char *backend = "native";
    const char *list = "hit,miss";
    bool with_floor = true;
    unsigned repeat = 1;
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "-w") == 0 || strcmp(a, "--repeat") == 0) {
            if (i + 1 == argc)
                bad_usage("%s needs a value", a);
            if (a[1] == 'w')
                list = parse_workloads(argv[++i]);
            else
                repeat = (unsigned)parse_count(argv[++i], "--repeat count", 1, 100);
        } else if (strcmp(a, "--no-floor") == 0) {
            with_floor = false;
        } else if (strcmp(a, "--no-fast") == 0) {
            fast = "off";
        } else if (strcmp(a, "--warmup") == 0) {
            warm_only = true;
        } else if (a[0] == '-') {
            bad_usage("unknown option '%s'", a);
        } else if (pos == 0) {
            n = parse_count(a, "number of DMAs", 1, UINT64_C(1) << 40);
            pos++;
        } else if (pos == 1) {
            backend = parse_backend(a);
            pos++;
        } else {
            bad_usage("unexpected argument '%s' (DMAs and the backend are already given)", a);
        }
    }
    char dir[] = "/tmp/scimbench.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    printf("%llu DMAs per workload, backend %s%s\n", (unsigned long long)n, backend,
           warm_only ? ", functional warm-up (sim.warmup) only" : "");
    printf("%-10s %9s %11s %11s %9s %12s %12s %10s\n", "workload", "IOTLB hit", "sim xlat/s", "floor/s", "sim/floor",
           "events/page", "host ns/page", "ran/page");
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        const workload *w = &workloads[i];
        size_t wl = strlen(w->name);
        const char *at = strstr(list, w->name);
        if (!at || (at != list && at[-1] != ',') || (at[wl] && at[wl] != ','))
            continue;
        char path[128];
        snprintf(path, sizeof path, "%s/%s.trace", dir, w->name);
        make_trace(path, n / w->devices, w);
        floor_run fr;
        if (with_floor) {
            floor_init(&fr, w);
            floor_run_until(&fr, path, FLOOR_PASSES / 2, FLOOR_MIN_S / 2);
        }
        sim_result s = sim_run(path, w, backend);
        for (unsigned r = 1; r < repeat; r++) {
            sim_result again = sim_run(path, w, backend);
            if (again.translations != s.translations || again.events != s.events || again.executed != s.executed ||
                again.hit_rate != s.hit_rate)
                die("determinism", "a repeated simulation counted differently");
            if (again.seconds < s.seconds)
                s.seconds = again.seconds;
        }
        uint64_t fl_n = 0;
        double fl = 0;
        if (with_floor) {
            floor_run_until(&fr, path, fr.passes + FLOOR_PASSES / 2 + 1, fr.total + FLOOR_MIN_S / 2);
            fl_n = fr.lookups;
            fl = (double)fr.lookups / fr.best;
            scim_u64map_free(&fr.map);
        }
        if (with_floor && fl_n != s.translations)
            fprintf(stderr, "warning: floor did %llu lookups, simulation %llu\n", (unsigned long long)fl_n,
                    (unsigned long long)s.translations);
        double sm = (double)s.translations / s.seconds;
        char fls[32] = "-", ratio[32] = "-";
        if (with_floor) {
            snprintf(fls, sizeof fls, "%.3e", fl);
            snprintf(ratio, sizeof ratio, "%.3f", sm / fl);
        }
        char hit[16] = "-";
        if (!warm_only)
            snprintf(hit, sizeof hit, "%.1f%%", s.hit_rate * 100);
        printf("%-10s %9s %11.3e %11s %9s %12.2f %12.1f %10.2f\n", w->name, hit, sm, fls, ratio,
               (double)s.events / (double)s.translations, s.seconds * 1e9 / (double)s.translations,
               (double)s.executed / (double)s.translations);
        unlink(path);
    }
    rmdir(dir);
    printf("sim/floor = simulated rate / floor rate (the floor decodes the trace and does one hash lookup per "
           "page; fastest of >= %d passes; the simulation: fastest of %u run%s)\n",
           FLOOR_PASSES, repeat, repeat == 1 ? "" : "s");
    return 0;
}

/* The human summary of a run (scimitar run prints it). */
#include <stdio.h>

#include "sim/sim_internal.h"

static double stat(const scim_sim *sim, const char *fmt, const char *name)
{
    char full[160];
    snprintf(full, sizeof full, fmt, name);
    double v = 0;
    scim_stats_lookup(sim->stats, full, &v);
    return v;
}

#define fmt_time scim_fmt_time

/* A wait after eligibility of 1/BEHIND_SHARE of the run or longer: the
 * agent does not keep up with its (open-loop) trace, so its backlog, not
 * the model, sets its waits. */
#define BEHIND_SHARE 10

/* `queue` is the agent's wait histogram (<agent>.dma.queue_delay or
 * <agent>.mem.queue_delay). */
static void behind_line(scim_sim *sim, FILE *out, const char *agent, const char *queue)
{
    char key[120], a[32], b[32], c[32]; /* stat() appends .max or .mean within its 160 */
    snprintf(key, sizeof key, "%s.%s", agent, queue);
    double max = stat(sim, "%s.max", key);
    double run = (double)sim->counters.time_ps;
    if (run <= 0 || max * BEHIND_SHARE < run)
        return;
    fmt_time(max, a, sizeof a);
    fmt_time(stat(sim, "%s.mean", key), b, sizeof b);
    fmt_time(run, c, sizeof c);
    fprintf(out, "      %s fell behind its trace: requests waited up to %s (mean %s) after the trace made them "
                 "eligible, in %s simulated: its trace offers them faster than it completes them, so its waits grow "
                 "with the trace's length (it runs saturated)\n",
            agent, a, b, c);
}

void scim_sim_summary(scim_sim *sim, FILE *out)
{
    if (!sim || !out || !sim->built)
        return;
    char a[32], b[32], c[32];
    fmt_time((double)sim->counters.time_ps, a, sizeof a);
    fprintf(out, "scimitar %s: scheme %s, seed %llu, %s simulated, %llu events\n", scim_version_string(),
            sim->scheme->name, (unsigned long long)sim->top.seed, a,
            (unsigned long long)sim->counters.events);
    if (sim->counters.warm_records) {
        char until[48] = "";
        if (sim->top.warmup_until) {
            fmt_time((double)sim->top.warmup_until, b, sizeof b);
            snprintf(until, sizeof until, ": %s", b);
        }
        fprintf(out, "  warm-up (%s%s): %llu records run functionally before the detailed run, %llu faults "
                     "resolved, %llu refused; the statistics below count the detailed run\n",
                sim->top.warmup ? "sim.warmup" : "sim.warmup_until", until,
                (unsigned long long)sim->counters.warm_records, (unsigned long long)sim->counters.warm_faults,
                (unsigned long long)sim->counters.warm_errors);
    }
    size_t n_devs, n_cpus;
    scim_component *devs = scim_sim_components(sim, "devices", &n_devs);
    scim_component *cpus = scim_sim_components(sim, "cpus", &n_cpus);
    for (size_t i = 0; i < n_devs; i++) {
        const char *n = devs[i].name;
        double acc = stat(sim, "%s.iotlb.accesses", n), miss = stat(sim, "%s.iotlb.misses", n);
        fprintf(out, "  %s: %.0f DMAs, %.0f bytes; IOTLB %.0f lookups, %.0f misses (%.1f%% hits); %.0f I/O "
                     "page faults\n",
                n, stat(sim, "%s.dma.requests", n), stat(sim, "%s.dma.bytes", n), acc, miss,
                acc > 0 ? 100.0 * (acc - miss) / acc : 0.0, stat(sim, "%s.faults", n));
        fmt_time(stat(sim, "%s.translation.latency.mean", n), a, sizeof a);
        fmt_time(stat(sim, "%s.translation.latency.p99", n), b, sizeof b);
        fmt_time(stat(sim, "%s.dma.latency.p99", n), c, sizeof c);
        char d[32];
        fmt_time(stat(sim, "%s.dma.latency.p50", n), d, sizeof d);
        fprintf(out, "      translation latency mean %s, p99 %s; DMA latency p50 %s, p99 %s\n", a, b, d, c);
        behind_line(sim, out, n, "dma.queue_delay");
        if (stat(sim, "%s.dma.errors", n) > 0)
            fprintf(out, "      %.0f DMAs FAILED (a page could not be mapped, or the device was reset)\n",
                    stat(sim, "%s.dma.errors", n));
    }
    for (size_t i = 0; i < n_cpus; i++) {
        const char *n = cpus[i].name;
        double acc = stat(sim, "%s.l1tlb.accesses", n), l1m = stat(sim, "%s.l1tlb.misses", n);
        fmt_time(stat(sim, "%s.mem.latency.p50", n), a, sizeof a);
        fprintf(out, "  %s: %.0f accesses; L1 TLB %.1f%% hits, %.0f walks; %.0f page faults; %.0f IPIs, %.0f "
                     "snoops; access latency p50 %s\n",
                n, stat(sim, "%s.mem.requests", n), acc > 0 ? 100.0 * (acc - l1m) / acc : 0.0, stat(sim, "%s.walks", n),
                stat(sim, "%s.faults", n), stat(sim, "%s.ipis", n), stat(sim, "%s.snoops", n), a);
        behind_line(sim, out, n, "mem.queue_delay");
        if (stat(sim, "%s.mem.errors", n) > 0)
            fprintf(out, "      %.0f accesses FAILED (segmentation faults)\n", stat(sim, "%s.mem.errors", n));
    }
    fmt_time(stat(sim, "%s.walk.latency.mean", "iommu"), a, sizeof a);
    fprintf(out, "  iommu: %.0f translation requests, IOTLB %.0f misses, %.0f walks (mean %s), %.0f page "
                 "requests (%.0f overflowed)\n",
            stat(sim, "%s.ats.requests", "iommu"), stat(sim, "%s.iotlb.misses", "iommu"),
            stat(sim, "%s.walks", "iommu"), a, stat(sim, "%s.prq.requests", "iommu"),
            stat(sim, "%s.prq.overflows", "iommu"));
    if (stat(sim, "%s.inline.requests", "iommu") > 0)
        fprintf(out, "      %.0f DMAs translated inline (devices without an ATC), %.0f stalled on a missing page\n",
                stat(sim, "%s.inline.requests", "iommu"), stat(sim, "%s.inline.faults", "iommu"));
    fmt_time(stat(sim, "%s.iopf.latency.mean", "os"), a, sizeof a);
    fmt_time(stat(sim, "%s.busy_ps", "os"), b, sizeof b);
    fprintf(out, "  os: %.0f I/O page faults handled (mean %s), %.0f CPU faults, %.0f pages mapped (%.0f from swap); "
                 "CPU time %s\n",
            stat(sim, "%s.iopf.requests", "os"), a, stat(sim, "%s.cpu_faults", "os"), stat(sim, "%s.iopf.mapped", "os"),
            stat(sim, "%s.faults.major", "os"), b);
    fmt_time(stat(sim, "%s.shootdown.latency.mean", "os"), a, sizeof a);
    fmt_time(stat(sim, "%s.shootdown.latency.p99", "os"), b, sizeof b);
    fprintf(out, "      %.0f shootdowns (mean %s, p99 %s), %.0f IPIs; reclaim evicted %.0f pages, %.0f pinned frames peak\n",
            stat(sim, "%s.shootdowns", "os"), a, b, stat(sim, "%s.ipis_sent", "os"), stat(sim, "%s.reclaim.evicted", "os"),
            stat(sim, "%s.frames.pinned_peak", "os"));
    if (sim->scheme->summary) {
        const char *names[64];
        size_t n = n_devs < 64 ? n_devs : 64;
        for (size_t i = 0; i < n; i++)
            names[i] = devs[i].name;
        const scim_component *os = scim_sim_components(sim, "os", &(size_t){0});
        sim->scheme->summary(out, sim->stats, os->params, (double)sim->counters.time_ps, n, names);
    }
    if (sim->chk)
        fprintf(out, "  invariant checker: %llu accesses checked, %llu through translations being shot down, "
                     "0 violations\n",
                (unsigned long long)scim_checker_accesses(sim->chk),
                (unsigned long long)scim_checker_stale_accesses(sim->chk));
}


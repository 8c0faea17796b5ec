/* scimitar validate: small built-in experiments that reproduce each
 * published component figure the defaults rest on, printed as a table
 * (quantity, published value and source, simulated value, tolerance,
 * PASS/FAIL); exit status 1 if any fails. `--markdown FILE` writes
 * docs/validation.md (the test suite checks it is current).
 *
 * Each check is one or two runs of a tiny configuration (a device or a core
 * in one process, native kernel) and a statistic; a check with two runs
 * takes the difference of the statistic divided by `per` (a per-page or
 * per-item cost). Every figure's tag follows FIGURES.md (seen, secondary,
 * derived). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "scimitar/scimitar.h"

typedef struct check {
    const char *quantity;
    const char *published;   /* as the source states it */
    const char *source;
    double lo, hi;           /* the accepted band, in `unit` */
    const char *unit;        /* "us" or "ns" */
    const char *config;      /* extra YAML (os: ..., devices.dev0 keys) appended to the base */
    const char *trace;       /* the agent's trace */
    const char *trace_b;     /* optional second run: the statistic's difference, divided by per */
    double per;
    const char *agent;       /* "dev0" (a device) or "cpu0" (a core) */
    const char *stat;        /* flat statistic, in ps */
} check;

#define VA "0x10000000"

static const check checks[] = {
    {"NIC ODP fault, 4 KiB (device: page request to response)", "220 us",
     "Lesokhin et al., ASPLOS'17 (secondary)", 198, 242, "us", "os: {fault_profile: odp}\n",
     "@0 write " VA " 4096\n", NULL, 1, "dev0", "dev0.fault.latency.max"},
    {"NIC ODP fault, 4 MiB in one fault", "350 us", "Lesokhin et al., ASPLOS'17 (secondary)", 315, 385, "us",
     "os: {fault_profile: odp}\n", "@0 write " VA " 4194304\n", NULL, 1, "dev0", "dev0.fault.latency.max"},
    {"GPU UVM far fault, one fault", "31.8 us (1.35 us of it data transfer)",
     "MSched, arXiv 2512.24637 (secondary)", 27, 37, "us", "os: {fault_profile: uvm}\n", "@0 write " VA " 4096\n",
     NULL, 1, "dev0", "dev0.fault.latency.max"},
    {"GPU UVM fault batch of 256 faults (first fault to last response)", "223-553 us, median 313 us",
     "Kim et al., ASPLOS'20 (secondary)", 223, 553, "us", "os: {fault_profile: uvm}\n", "@batch256", NULL, 1, "dev0",
     "dev0.fault.latency.max"},
    {"minor fault work per page: allocate, zero, map", "~1.0 us median",
     "minor-fault measurement (blog, one machine); zeroing 0.28-0.45 us (A. Arora, 2023) (seen)", 0.8, 1.25, "us",
     "", "@0 write " VA " 262144\n", "@0 write " VA " 4096\n", 63, "dev0", "os.iopf.latency.max"},
    {"major fault from an NVMe swap device (at the OS)", "86-90 us",
     "derived: the minor path + 85 us 4 KB random read (Intel P4500 product guide, seen)", 80, 100, "us",
     "os: {fault_profile: swap}\n", "@0 write " VA " 4096\n@100000 reclaim " VA " 4096\n+1000 read " VA " 4096\n",
     NULL, 1, "dev0", "os.iopf.latency.max"},
    {"device-TLB (ATS) invalidation, as the OS waits for it", "4.2 us per invalidation",
     "Vesely et al., ISPASS'16 (secondary)", 3.6, 4.8, "us", "", "@0 write " VA " 4096\n@100000 munmap " VA " 4096\n",
     NULL, 1, "dev0", "os.shootdown.dev_wait.max"},
    {"strict IOTLB invalidation (no device TLB), as the OS waits for it", "2,127-2,135 cycles (0.71 us at 3 GHz)",
     "Malka et al., rIOMMU, ASPLOS'15, Table 1 (secondary)", 0.6, 0.82, "us", "",
     "@0 write " VA " 4096\n@100000 munmap " VA " 4096\n", NULL, 1, "cpu0", "os.shootdown.dev_wait.max"},
    {"CPU TLB shootdown by IPI, one remote core", "1-5 us (two sockets)", "Amit, ATC'17 and related (recalled)", 1,
     5, "us", "", "@0 write " VA " 4096\n@100000 munmap " VA " 4096\n", NULL, 1, "cpu0", "os.shootdown.latency.max"},
};

#define N_CHECKS (sizeof checks / sizeof checks[0])

/* 256 writes to distinct absent pages at once: one batch of the UVM driver. */
static void batch_trace(FILE *f)
{
    for (int i = 0; i < 256; i++)
        fprintf(f, "@0 write 0x%llx 4096\n", 0x10000000ull + (unsigned long long)i * 4096 * 2);
}

static int write_trace(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    if (strcmp(text, "@batch256") == 0)
        batch_trace(f);
    else
        fputs(text, f);
    return fclose(f);
}

/* Run one configuration; the statistic in ps, or a negative status. */
static int run_one(const check *c, const char *dir, const char *trace, double *value, char *msg, size_t len)
{
    char path[512], yaml[4096];
    snprintf(path, sizeof path, "%s/%s.trace", dir, c->agent);
    if (write_trace(path, trace) != 0) {
        snprintf(msg, len, "cannot write %s", path);
        return SCIM_EIO;
    }
    const char *agent_kind = strcmp(c->agent, "cpu0") == 0 ? "cpus" : "devices";
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\nmemory: {size: 256MiB}\n"
             "processes:\n  app: {pasid: 1, regions: [{va: " VA ", size: 64MiB}]}\n"
             "%s:\n  %s: {trace: %s, pasid: 1, max_outstanding: 256}\n%s",
             agent_kind, c->agent, path, c->config);
    scim_sim *sim = scim_sim_create();
    int rc = !sim ? SCIM_ENOMEM : scim_sim_load_string(sim, yaml, "validate");
    if (!rc)
        rc = scim_sim_build(sim);
    if (!rc)
        rc = scim_sim_run(sim);
    if (!rc)
        rc = scim_stats_lookup(scim_sim_stats(sim), c->stat, value);
    if (rc)
        snprintf(msg, len, "%s", sim ? scim_sim_errmsg(sim) : "out of memory");
    scim_sim_destroy(sim);
    return rc;
}

static double scale(const char *unit) { return strcmp(unit, "ns") == 0 ? 1e3 : 1e6; }

typedef struct result {
    double value;
    bool ok;
    char error[1100];
} result;

static void evaluate(const check *c, const char *dir, result *r)
{
    double a = 0, b = 0;
    r->error[0] = '\0';
    int rc = run_one(c, dir, c->trace, &a, r->error, sizeof r->error);
    if (!rc && c->trace_b)
        rc = run_one(c, dir, c->trace_b, &b, r->error, sizeof r->error);
    r->value = rc ? 0 : (a - b) / c->per / scale(c->unit);
    r->ok = !rc && r->value >= c->lo && r->value <= c->hi;
}

static void print_markdown(FILE *out, const result *res)
{
    fprintf(out, "# Validation\n\n"
                 "Generated by `scimitar validate --markdown docs/validation.md`; the test suite fails if this "
                 "file differs, and CI fails if a row fails. Each row runs a tiny configuration that reproduces "
                 "one published component figure a default rests on, with the defaults (or the fault profile "
                 "named), and checks the simulated value against the published one. Tags as in FIGURES.md: "
                 "seen, secondary, recalled, derived.\n\n"
                 "| quantity | published | source | simulated | accepted | result |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < N_CHECKS; i++) {
        const check *c = &checks[i];
        fprintf(out, "| %s | %s | %s | %.2f %s | %g-%g %s | %s |\n", c->quantity, c->published, c->source,
                res[i].value, c->unit, c->lo, c->hi, c->unit, res[i].ok ? "PASS" : "FAIL");
    }
    fprintf(out, "\n## The bundled experiments and published results\n\n"
                 "| experiment | comparable published results | how to compare |\n|---|---|---|\n"
                 "| (a) distance (`configs/exp_a_distance.yaml`) | IOTLB miss penalty ~330 ns per DMA "
                 "(Neugebauer et al., SIGCOMM'18) | compare the IOMMU placement's translation latency at the PCIe "
                 "link latency they measured; the device placement pays a PCIe round trip per entry |\n"
                 "| (b) locality (`configs/exp_b_locality.yaml`) | IOTLB hit rates of NIC buffer pools "
                 "(Neugebauer et al.; Peleg et al., ATC'15) | match the buffer pool size and the number of IOTLB "
                 "entries, then compare miss rates |\n"
                 "| (c) walk placement (`configs/exp_c_walk.yaml`) | walk latencies above; ODP and SVA fault "
                 "costs (this table) | the fault column of each placement is the profile's fault cost plus the "
                 "placement's messaging |\n"
                 "| (d) fault policies (`configs/exp_d_faults.yaml`) | ODP's receive-fault behaviour (packets dropped "
                 "and retransmitted; Lesokhin et al.) | policy drop with drop_timeout set to the transport's "
                 "retransmission timeout |\n"
                 "| (e) IOTLB size (`configs/exp_e_iotlb.yaml`) | IOTLB miss-rate curves (Neugebauer et al.; "
                 "`scimitar trace locality` gives the exact LRU curve of a trace) | the sweep's "
                 "`nic0.iotlb.misses` against the one-pass LRU curve of the same trace |\n");
}

int scim_cli_validate(int argc, char **argv)
{
    const char *markdown = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0 && i + 1 < argc) {
            markdown = argv[++i];
        } else {
            bool help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
            fprintf(help ? stdout : stderr, "usage: scimitar validate [--markdown FILE|-]\n");
            return help ? 0 : 2;
        }
    }
    char dir[] = "/tmp/scimitar-validate-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "scimitar: cannot create a temporary directory\n");
        return 1;
    }
    result res[N_CHECKS];
    int failed = 0;
    /* with the markdown on stdout, the plain table goes to stderr */
    FILE *out = markdown && strcmp(markdown, "-") == 0 ? stderr : stdout;
    fprintf(out, "%-72s %14s %14s  %s\n", "quantity", "simulated", "accepted", "result");
    for (size_t i = 0; i < N_CHECKS; i++) {
        const check *c = &checks[i];
        evaluate(c, dir, &res[i]);
        char sim[32], band[40];
        snprintf(sim, sizeof sim, "%.2f %s", res[i].value, c->unit);
        snprintf(band, sizeof band, "%g-%g %s", c->lo, c->hi, c->unit);
        fprintf(out, "%-72.72s %14s %14s  %s\n", c->quantity, sim, band, res[i].ok ? "PASS" : "FAIL");
        if (!res[i].ok) {
            failed++;
            if (res[i].error[0])
                fprintf(out, "    error: %s\n", res[i].error);
            fprintf(out, "    published: %s (%s)\n", c->published, c->source);
        }
    }
    char path[600];
    snprintf(path, sizeof path, "%s/dev0.trace", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/cpu0.trace", dir);
    unlink(path);
    rmdir(dir);
    if (markdown) {
        if (strcmp(markdown, "-") == 0) {
            print_markdown(stdout, res);
        } else {
            FILE *f = fopen(markdown, "w");
            if (!f) {
                fprintf(stderr, "scimitar: cannot write %s\n", markdown);
                return 1;
            }
            print_markdown(f, res);
            /* a full disk shows only when the buffer is flushed: say so */
            if (fclose(f) != 0) {
                fprintf(stderr, "scimitar: cannot write %s: %s\n", markdown, strerror(errno));
                return 1;
            }
        }
    }
    fprintf(out, "%d of %zu checks failed\n", failed, N_CHECKS);
    return failed ? 1 : 0;
}

/* scimitar compare CONFIG.yaml [--schemes a,b,...] [--set k=v]... [--out DIR]
 *
 * Runs one configuration under each translation scheme, unchanged but for
 * the `scheme` key, and prints their costs side by side: the fair
 * comparison DESIGN.md asks for (same traces, same machine). Each scheme's
 * full statistics go to DIR/<scheme>/, the table to DIR/compare.csv.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "driver/scheme.h"
#include "fsutil.h"
#include "run_record.h"
#include "sweep.h"
#include "scimitar/scimitar.h"

#define MAX_SCHEMES 8
#define MAX_ROWS 64

typedef struct row {
    char label[96];
    double v[MAX_SCHEMES];
} row;

typedef struct table {
    row rows[MAX_ROWS];
    size_t n;
} table;

static double get(scim_sim *sim, const char *name)
{
    double v = 0;
    scim_stats_lookup(scim_sim_stats(sim), name, &v);
    return v;
}

static void put(table *t, size_t col, const char *label, double v)
{
    size_t i;
    for (i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].label, label) == 0)
            break;
    if (i == t->n) {
        if (t->n == MAX_ROWS)
            return;
        snprintf(t->rows[t->n].label, sizeof t->rows[t->n].label, "%s", label);
        t->n++;
    }
    t->rows[i].v[col] = v;
}

/* The metrics of one finished run, in display units. */
static void collect(table *t, size_t col, scim_sim *sim)
{
    char name[160], label[96];
    double time_ps = get(sim, "sim.time_ps");
    put(t, col, "OS CPU time, memory management (ms)", get(sim, "os.busy_ps") / 1e9);
    const scim_stats *st = scim_sim_stats(sim);
    for (size_t i = 0; i < scim_stats_flat_count(st); i++) {
        const char *n;
        double unused;
        if (scim_stats_flat_get(st, i, &n, &unused, NULL, NULL) != 0)
            continue;
        const char *dot = strstr(n, ".dma.requests");
        if (!dot || dot[strlen(".dma.requests")] != '\0')
            continue;
        char dev[64];
        snprintf(dev, sizeof dev, "%.*s", (int)(dot - n), n);
        snprintf(name, sizeof name, "%s.dma.latency.p50", dev);
        snprintf(label, sizeof label, "%s DMA latency p50 (us)", dev);
        put(t, col, label, get(sim, name) / 1e6);
        snprintf(name, sizeof name, "%s.dma.latency.p99", dev);
        snprintf(label, sizeof label, "%s DMA latency p99 (us)", dev);
        put(t, col, label, get(sim, name) / 1e6);
        snprintf(name, sizeof name, "%s.dma.finish_ps", dev);
        double fin = get(sim, name);
        snprintf(name, sizeof name, "%s.dma.bytes", dev);
        snprintf(label, sizeof label, "%s throughput (Gbit/s)", dev);
        put(t, col, label, fin > 0 ? get(sim, name) * 8e3 / fin : 0.0);
        snprintf(name, sizeof name, "%s.dma.errors", dev);
        snprintf(label, sizeof label, "%s failed DMAs", dev);
        put(t, col, label, get(sim, name));
        snprintf(name, sizeof name, "%s.exposed_dmas", dev);
        snprintf(label, sizeof label, "%s DMAs exposed to stale entries", dev);
        put(t, col, label, get(sim, name));
    }
    put(t, col, "I/O page faults", get(sim, "os.iopf.requests"));
    put(t, col, "CPU page faults", get(sim, "os.cpu_faults"));
    put(t, col, "shootdowns", get(sim, "os.shootdowns"));
    put(t, col, "IOTLB invalidations for unmaps", get(sim, "os.io.flushes"));
    put(t, col, "pages pinned / mapped for I/O", get(sim, "os.io.pins") + get(sim, "os.io.maps"));
    put(t, col, "pinned peak (KiB)", get(sim, "os.frames.pinned_peak") * 4);
    put(t, col, "pinned time-average (KiB)",
        time_ps > 0 ? get(sim, "os.frames.pinned_integral") / time_ps * 4 : 0.0);
    put(t, col, "reclaim evicted (pages)", get(sim, "os.reclaim.evicted"));
    put(t, col, "swap-ins (major faults)", get(sim, "os.faults.major"));
    put(t, col, "stale window mean (us)", get(sim, "os.io.stale_window.mean") / 1e6);
    put(t, col, "stale window max (us)", get(sim, "os.io.stale_window.max") / 1e6);
    put(t, col, "simulated time (ms)", time_ps / 1e9);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: scimitar compare CONFIG.yaml [--schemes scimitar,pin,iommu-map] [--set key.path=value]... "
                 "[--out DIR]\n"
                 "Runs CONFIG once per scheme (only the `scheme` key changes) and prints the costs side by side.\n");
}

int scim_cli_compare(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
    char schemes_buf[256] = "scimitar,pin,iommu-map";
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t n_sets = 0;
    int rc = 0;
    if (!sets)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            sets[n_sets++] = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--schemes") == 0 && i + 1 < argc) {
            snprintf(schemes_buf, sizeof schemes_buf, "%s", argv[++i]);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (cli_missing_value("scimitar compare", argv[i],
                                     (const char *const[]){"--set", "--out", "--schemes", NULL})) {
            free(sets);
            return 2;
        } else if (argv[i][0] == '-' || config) {
            fprintf(stderr, "scimitar compare: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            free(sets);
            return 2;
        } else {
            config = argv[i];
        }
    }
    if (!config) {
        usage(stderr);
        free(sets);
        return 2;
    }
    /* The whole list is checked before any scheme runs: a typo in the
     * last name must not cost the runs before it. */
    const char *schemes[MAX_SCHEMES];
    size_t n_schemes = 0;
    char expected[128] = "";
    for (size_t k = 0; scim_scheme_names[k]; k++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s", k ? ", " : "",
                 scim_scheme_names[k]);
    for (char *tok = strtok(schemes_buf, ","); tok; tok = strtok(NULL, ",")) {
        bool known = false, twice = false;
        for (size_t k = 0; scim_scheme_names[k]; k++)
            known = known || strcmp(tok, scim_scheme_names[k]) == 0;
        for (size_t k = 0; k < n_schemes; k++)
            twice = twice || strcmp(tok, schemes[k]) == 0;
        if (!known || twice || n_schemes == MAX_SCHEMES) {
            if (!known)
                fprintf(stderr, "scimitar compare: unknown scheme '%s' in --schemes; expected a comma-separated list "
                                "of %s\n", tok, expected);
            else if (twice)
                fprintf(stderr, "scimitar compare: scheme '%s' is listed twice in --schemes; list each once\n", tok);
            else
                fprintf(stderr, "scimitar compare: more than %d schemes in --schemes\n", MAX_SCHEMES);
            free(sets);
            return 2;
        }
        schemes[n_schemes++] = tok;
    }
    if (n_schemes == 0) {
        fprintf(stderr, "scimitar compare: --schemes is empty; expected a comma-separated list of %s\n", expected);
        free(sets);
        return 2;
    }
    char why[1200];
    if (out && cli_check_out_dir(out, why, sizeof why) != 0) {
        fprintf(stderr, "scimitar compare: %s\n", why);
        free(sets);
        return 1;
    }
    table *t = calloc(1, sizeof *t);
    if (!t) {
        free(sets);
        return 1;
    }
    for (size_t s = 0; s < n_schemes && rc == 0; s++) {
        scim_sim *sim = scim_sim_create();
        char assign[128];
        snprintf(assign, sizeof assign, "scheme=%s", schemes[s]);
        int r = !sim || scim_sim_load_file(sim, config);
        for (size_t i = 0; !r && i < n_sets; i++)
            r = scim_sim_set(sim, sets[i]);
        if (!r)
            r = scim_sim_set(sim, assign);
        if (!r)
            r = scim_sim_build(sim);
        time_t started = time(NULL);
        double t0 = scim_sweep_host_seconds();
        if (!r)
            r = scim_sim_run(sim);
        bool record_failed = false;
        if (!r && out) {
            char dir[1024];
            snprintf(dir, sizeof dir, "%s/%s", out, schemes[s]);
            r = scim_sim_write_stats(sim, dir);
            /* each column is a run: its config.yaml and meta.json too, the
             * scheme as the last override */
            const char **with_scheme = r ? NULL : malloc((n_sets + 1) * sizeof *with_scheme);
            if (with_scheme) {
                for (size_t i = 0; i < n_sets; i++)
                    with_scheme[i] = sets[i];
                with_scheme[n_sets] = assign;
                run_info info = {config, with_scheme, n_sets + 1, (double)started,
                                 scim_sweep_host_seconds() - t0};
                record_failed = cli_write_run_record(sim, dir, &info, why, sizeof why) != 0;
                free(with_scheme);
            } else if (!r) {
                snprintf(why, sizeof why, "out of memory");
                record_failed = true;
            }
        }
        if (record_failed) {
            fprintf(stderr, "scimitar compare: scheme %s: %s\n", schemes[s], why);
            rc = 1;
        } else if (r) {
            fprintf(stderr, "scimitar compare: scheme %s: %s\n", schemes[s], sim ? scim_sim_errmsg(sim) : "out of memory");
            rc = 1;
        } else {
            collect(t, s, sim);
        }
        scim_sim_destroy(sim);
    }
    if (rc == 0) {
        printf("%-40s", "");
        for (size_t s = 0; s < n_schemes; s++)
            printf(" %13s", schemes[s]);
        printf("\n");
        for (size_t i = 0; i < t->n; i++) {
            printf("%-40s", t->rows[i].label);
            for (size_t s = 0; s < n_schemes; s++) {
                double v = t->rows[i].v[s];
                if (v == (double)(long long)v)
                    printf(" %13lld", (long long)v);
                else
                    printf(" %13.4g", v);
            }
            printf("\n");
        }
        if (out) {
            char path[1024], tmp[1100];
            snprintf(path, sizeof path, "%s/compare.csv", out);
            snprintf(tmp, sizeof tmp, "%s.tmp", path);
            FILE *f = cli_mkdir_p(out) == 0 ? fopen(tmp, "w") : NULL;
            if (!f) {
                fprintf(stderr, "scimitar compare: cannot write %s: %s\n", path, strerror(errno));
                rc = 1;
            } else {
                fprintf(f, "metric");
                for (size_t s = 0; s < n_schemes; s++)
                    fprintf(f, ",%s", schemes[s]);
                fprintf(f, "\n");
                for (size_t i = 0; i < t->n; i++) {
                    fprintf(f, "\"%s\"", t->rows[i].label);
                    for (size_t s = 0; s < n_schemes; s++)
                        fprintf(f, ",%.17g", t->rows[i].v[s]);
                    fprintf(f, "\n");
                }
                if (fclose(f) != 0 || rename(tmp, path) != 0) {
                    fprintf(stderr, "scimitar compare: cannot write %s: %s\n", path, strerror(errno));
                    remove(tmp);
                    rc = 1;
                } else {
                    printf("table: %s; statistics: %s/<scheme>/stats.json, with config.yaml and meta.json\n", path, out);
                }
            }
        }
    }
    free(t);
    free(sets);
    return rc;
}

/* scimitar trace locality — argv layer over the locality analysis
 * (src/workload/locality*.c) and its plot (plot.c). */
#include "trace_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "plot.h"
#include "workload/locality.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: scimitar trace locality DEV [--cpu-trace CPU] [options]\n"
            "       scimitar trace locality --lackey LOG | --strace LOG [options]\n"
            "Locality of a device's I/O: operations, pages, sequential runs; presence and recency of its\n"
            "pages in the CPU's data accesses (with a CPU side); reuse distances; LRU miss-ratio curves\n"
            "(fully associative at every size, set-associative per --ways). A log is analysed as\n"
            "`trace import` would write it, with the same numbers.\n"
            "options:\n"
            "  --json FILE        everything, as JSON\n"
            "  --csv FILE         the miss-ratio curves (curve,ways,sets,pages,misses,miss_ratio)\n"
            "  --plot FILE.svg    the miss-ratio curves, as an SVG plot\n"
            "  --windows LIST     recency windows in CPU data accesses (default 10000,100000,1000000)\n"
            "  --ways LIST        associativities of the set-associative curves (default 4,8,16)\n"
            "  --quiet            print nothing on stdout\n");
}

/* "a,b,c" of whole numbers >= 1 into v; false on a bad list. */
static bool parse_list(const char *s, uint64_t *v, size_t max, size_t *n)
{
    *n = 0;
    while (*s) {
        char *end;
        if (*s < '0' || *s > '9' || *n == max)
            return false;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno || x == 0 || (*end && *end != ','))
            return false;
        v[(*n)++] = x;
        s = *end ? end + 1 : end;
        if (*end && !*s)
            return false;
    }
    return *n > 0;
}

typedef int (*writer_fn)(const scim_loc_result *r, FILE *out, const char *name);

static int json_fn(const scim_loc_result *r, FILE *out, const char *name) { return scim_loc_write_json(r, out); }
static int csv_fn(const scim_loc_result *r, FILE *out, const char *name) { return scim_loc_write_csv(r, out); }

/* The curves as plot series: the fully associative one at about four
 * sizes an octave, each set-associative one at its sizes. */
static int plot_fn(const scim_loc_result *r, FILE *out, const char *name)
{
    enum { FA_MAX = 4 * 64 + 1, SA_MAX = 40 };
    double fx[FA_MAX], fy[FA_MAX], sx[SCIM_LOC_MAX_WAYS][SA_MAX], sy[SCIM_LOC_MAX_WAYS][SA_MAX];
    double total = r->io_pages ? (double)r->io_pages : 1;
    plot_series s[1 + SCIM_LOC_MAX_WAYS];
    char labels[SCIM_LOC_MAX_WAYS][32];
    size_t n = 0;
    for (int k = 0; r->distinct_pages && k < FA_MAX; k++) {
        uint64_t c = (uint64_t)llround(exp2(k / 4.0));
        if (c > r->distinct_pages)
            c = r->distinct_pages;
        if (n && (uint64_t)fx[n - 1] == c)
            continue;
        fx[n] = (double)c;
        fy[n++] = (double)scim_loc_lru_misses(r, c) / total;
        if (c == r->distinct_pages)
            break;
    }
    s[0] = (plot_series){"fully associative", fx, fy, n};
    for (size_t i = 0; i < r->n_curves; i++) {
        const scim_loc_curve *c = &r->curves[i];
        size_t m = c->n < SA_MAX ? c->n : SA_MAX;
        for (size_t j = 0; j < m; j++) {
            sx[i][j] = (double)(c->sets[j] * c->ways);
            sy[i][j] = (double)c->misses[j] / total;
        }
        snprintf(labels[i], sizeof labels[i], "%llu ways", (unsigned long long)c->ways);
        s[1 + i] = (plot_series){labels[i], sx[i], sy[i], m};
    }
    char title[256];
    snprintf(title, sizeof title, "LRU IOTLB miss ratio: %s", name);
    plot_spec spec = {.title = title, .x_label = "IOTLB entries (4 KiB pages)", .y_label = "miss ratio",
                      .log2_x = true, .series = s, .n_series = 1 + r->n_curves};
    return plot_write_svg(out, &spec);
}

/* Render with fn into memory, then write `path` atomically. */
static int write_out(const char *path, writer_fn fn, const scim_loc_result *r, const char *name)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) {
        fprintf(stderr, "scimitar: out of memory\n");
        return 1;
    }
    int rc = fn(r, m, name);
    if (fclose(m) != 0)
        rc = -1;
    if (rc == 0 && cli_write_atomic(path, text) != 0) {
        fprintf(stderr, "scimitar: cannot write %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    free(text);
    return rc ? 1 : 0;
}

int scim_cli_trace_locality(int argc, char **argv)
{
    /* argv[0] is "locality" */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    scim_loc_params p;
    scim_loc_params_default(&p);
    const char *dev = NULL, *cpu = NULL, *log = NULL, *json = NULL, *csv = NULL, *svg = NULL;
    scim_import_kind kind = SCIM_IMPORT_LACKEY;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && (!strcmp(a, "--lackey") || !strcmp(a, "--strace"))) {
            kind = a[2] == 'l' ? SCIM_IMPORT_LACKEY : SCIM_IMPORT_STRACE;
            log = argv[++i];
        } else if (v && !strcmp(a, "--cpu-trace")) {
            cpu = argv[++i];
        } else if (v && !strcmp(a, "--json")) {
            json = argv[++i];
        } else if (v && !strcmp(a, "--csv")) {
            csv = argv[++i];
        } else if (v && !strcmp(a, "--plot")) {
            svg = argv[++i];
        } else if (v && !strcmp(a, "--windows")) {
            if (!parse_list(argv[++i], p.windows, SCIM_LOC_MAX_WINDOWS, &p.n_windows)) {
                fprintf(stderr, "scimitar: trace locality: --windows '%s': expected up to %d whole numbers >= 1, "
                                "comma-separated\n", v, SCIM_LOC_MAX_WINDOWS);
                return 2;
            }
        } else if (v && !strcmp(a, "--ways")) {
            if (!parse_list(argv[++i], p.ways, SCIM_LOC_MAX_WAYS, &p.n_ways)) {
                fprintf(stderr, "scimitar: trace locality: --ways '%s': expected up to %d whole numbers >= 1, "
                                "comma-separated\n", v, SCIM_LOC_MAX_WAYS);
                return 2;
            }
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (scim_cli_positional("trace locality", a, v != NULL, &dev, usage) != 0) {
            return 2;
        }
    }
    if (!dev == !log || (log && cpu)) {
        fprintf(stderr, "scimitar: trace locality: give a device trace (with --cpu-trace for the CPU side) or "
                        "--lackey LOG or --strace LOG\n");
        return 2;
    }
    scim_loc_result r;
    scim_err err = {0};
    scim_import_counts counts;
    int rc = log ? scim_loc_from_log(kind, log, NULL, &p, &r, &counts, &err)
                 : scim_loc_from_traces(dev, cpu, &p, &r, &err);
    if (rc != 0) {
        fprintf(stderr, "scimitar: %s\n", err.msg);
        return 1;
    }
    if (log)
        scim_cli_import_warnings(log, &counts);
    const char *name = log ? log : dev, *slash = strrchr(name, '/');
    name = slash ? slash + 1 : name;
    int status = 0;
    /* flushed here: a report lost to a full disk or a closed pipe is an error */
    if (!quiet && (scim_loc_print(&r, stdout) != 0 || fflush(stdout) != 0)) {
        fprintf(stderr, "scimitar: cannot write the locality report to the standard output\n");
        status = 1;
    }
    if (json && write_out(json, json_fn, &r, name))
        status = 1;
    if (csv && write_out(csv, csv_fn, &r, name))
        status = 1;
    if (svg && write_out(svg, plot_fn, &r, name))
        status = 1;
    scim_loc_result_free(&r);
    return status;
}

/* scimitar sweep CONFIG.yaml [-j N] [--out DIR] [--set k=v]... [--plot METRIC [--x KEY] [--series KEY]]
 *
 * Runs the cartesian product of the config's `sweep:` section (docs/sweeps.md):
 *   sweep:
 *     parameters:                       # each a dimension of the grid
 *       devices.nic0.iotlb.entries: {pow2: [16, 1024]}
 *       devices.nic0.walk: [iommu, device]
 *       os.iopf_cost: {range: [1000, 5000, 1000]}
 *     zip:                              # optional: vary together (one dimension)
 *       os.iopf_cost: [1us, 2us]
 *       os.iopf_page_cost: [100ns, 200ns]
 *     plot: {metric: nic0.iotlb.misses, x: devices.nic0.iotlb.entries, series: devices.nic0.walk}
 *
 * Each point is an ordinary `scimitar run` of the same config with the
 * point's values given as --set. Locally, one process per point (-j at
 * once), so a crash in one point is reported and the others finish. Under
 * MPI (mpirun -np N scimitar sweep ...; built when CMake finds MPI), rank r
 * runs every N-th point in-process and rank 0 gathers the results. Points
 * whose results exist and whose configuration hash matches are skipped, so
 * an interrupted sweep resumes.
 *
 * --points prints the points (JSON, sweep.json's shape without statistics)
 * and runs nothing: what scripts/sample.py --sweep samples point by point.
 *
 * Output in DIR: points/<i>/{stats.json,stats.csv,point.txt,log.txt},
 * sweep.lock (flock(2): a second sweep on DIR is refused while one runs),
 * sweep.csv (a row per point: the swept parameters, then every stat),
 * sweep.json (the same), and plot.svg when a plot is asked for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "scimitar/scimitar.h"
#include "sim/sim.h"
#include "sweep.h"

/* ---------- the command ---------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: scimitar sweep CONFIG.yaml [-j N] [--out DIR] [--set key.path=value]...\n"
                 "                      [--plot METRIC [--x KEY] [--series KEY]] [--quiet]\n"
                 "       scimitar sweep CONFIG.yaml --points [--set key.path=value]...\n"
                 "Runs every point of CONFIG's sweep: section (docs/sweeps.md); under mpirun, ranks share the "
                 "points. --points prints them (JSON) and runs nothing.\n");
}

#ifdef SCIM_HAVE_MPI
static bool under_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}
#else
/* Ranks an MPI launcher started, from its environment (OpenMPI, MPICH/PMI;
 * 0 if none). */
static long launcher_ranks(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) {
        const char *v = getenv(vars[k]);
        if (v && *v)
            return strtol(v, NULL, 10);
    }
    return 0;
}
#endif

/* The plot's metric must be a statistic of a point, and its x and series
 * swept keys: checked on the first point's built model, before any point
 * runs (the same names stats.csv will hold). */
static bool plot_ok(const scim_sweep *sw, scim_sim *probe)
{
    if (!sw->plot_metric)
        return true;
    const char *const axes[2] = {sw->plot_x, sw->plot_series};
    const char *const what[2] = {"x", "series"};
    for (int a = 0; a < 2; a++) {
        bool swept = !axes[a];
        for (size_t k = 0; k < sw->n_params && !swept; k++)
            swept = strcmp(sw->params[k].key, axes[a]) == 0;
        if (!swept) {
            fprintf(stderr, "scimitar sweep: plot %s '%s' is not a swept parameter; expected one of the keys under "
                            "sweep.parameters or sweep.zip\n", what[a], axes[a]);
            return false;
        }
    }
    const scim_stats *st = scim_sim_stats(probe);
    for (size_t i = 0; i < scim_stats_flat_count(st); i++) {
        const char *name;
        double v;
        if (scim_stats_flat_get(st, i, &name, &v, NULL, NULL) == 0 && strcmp(name, sw->plot_metric) == 0)
            return true;
    }
    fprintf(stderr, "scimitar sweep: plot metric '%s' is not a statistic of this run; expected a name from "
                    "docs/stats.md as `scimitar run` writes it (e.g. nic0.dma.latency.p99)\n", sw->plot_metric);
    return false;
}

int scim_cli_sweep(int argc, char **argv)
{
    scim_sweep sw = {.jobs = 1};
    const char *out = NULL;
    bool list_points = false;
    sw.sets = calloc((size_t)argc + 1, sizeof *sw.sets);
    if (!sw.sets)
        return 1;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-j") == 0 && i + 1 < argc) || (strncmp(a, "-j", 2) == 0 && a[2])) {
            /* -j N and -jN alike: a count that is not one is an error,
             * not silently one process */
            const char *v = a[2] ? a + 2 : argv[++i];
            char *end;
            long j = strtol(v, &end, 10);
            if (!*v || *end || j < 1 || j > 4096) {
                fprintf(stderr, "scimitar sweep: -j needs a number of processes from 1 to 4096, not '%s'\n", v);
                rc = 2;
                goto done;
            }
            sw.jobs = (unsigned)j;
        } else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
            sw.sets[sw.n_sets++] = argv[++i];
        } else if (strcmp(a, "--plot") == 0 && i + 1 < argc) {
            free(sw.plot_metric);
            sw.plot_metric = strdup(argv[++i]);
        } else if (strcmp(a, "--x") == 0 && i + 1 < argc) {
            free(sw.plot_x);
            sw.plot_x = strdup(argv[++i]);
        } else if (strcmp(a, "--series") == 0 && i + 1 < argc) {
            free(sw.plot_series);
            sw.plot_series = strdup(argv[++i]);
        } else if (strcmp(a, "--quiet") == 0) {
            sw.quiet = true;
        } else if (strcmp(a, "--points") == 0) {
            list_points = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            goto done;
        } else if (cli_missing_value("scimitar sweep", a, (const char *const[]){"-j", "--out", "--set", "--plot",
                                                                                 "--x", "--series", NULL})) {
            rc = 2;
            goto done;
        } else if (a[0] == '-' || sw.config) {
            fprintf(stderr, "scimitar sweep: unexpected argument '%s'\n", a);
            usage(stderr);
            rc = 2;
            goto done;
        } else {
            sw.config = a;
        }
    }
    if (!sw.config) {
        usage(stderr);
        rc = 2;
        goto done;
    }
    int rank = 0, size = 1;
    bool mpi = false;
#ifdef SCIM_HAVE_MPI
    if (under_mpi()) {
        scim_sweep_mpi_start(&rank, &size);
        mpi = true;
    }
#else
    /* Without MPI every rank would run every point into the same
     * directory: refuse rather than waste the allocation. One rank is a
     * plain local sweep. */
    if (launcher_ranks() > 1) {
        fprintf(stderr, "scimitar sweep: started by an MPI launcher with %ld ranks, but this scimitar was built "
                        "without MPI, so every rank would run every point; rebuild with MPI (Debian: libopenmpi-dev "
                        "openmpi-bin, then cmake again), or run one process: scimitar sweep ... -j N\n",
                launcher_ranks());
        rc = 1;
        goto done;
    }
#endif
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_file(sw.config, &err);
    for (size_t k = 0; cfg && k < sw.n_sets && !err.code; k++)
        scim_cfg_set(cfg, sw.sets[k], &err);
    if (cfg && !err.code)
        scim_sweep_parse(&sw, cfg, &err);
    scim_cfg_destroy(cfg);
    if (err.code) {
        if (rank == 0)
            fprintf(stderr, "scimitar: %s\n", err.msg);
        rc = 1;
        goto finish;
    }
    if (sw.plot_metric && !sw.plot_x)
        sw.plot_x = strdup(sw.params[0].key);
    if (sw.plot_metric && !sw.plot_series && sw.n_params > 1) {
        for (size_t k = 0; k < sw.n_params && !sw.plot_series; k++)
            if (strcmp(sw.params[k].key, sw.plot_x))
                sw.plot_series = strdup(sw.params[k].key);
    }
    char def[1024];
    if (!out) {
        const char *base = strrchr(sw.config, '/');
        base = base ? base + 1 : sw.config;
        snprintf(def, sizeof def, "out/%.*s-sweep", (int)strcspn(base, "."), base);
        out = def;
    }
    sw.out = strdup(out);
    uint64_t *hashes = calloc(sw.n_points, sizeof *hashes);
    size_t *todo = calloc(sw.n_points, sizeof *todo);
    size_t n_todo = 0;
    if (!hashes || !todo) {
        fprintf(stderr, "scimitar sweep: out of memory for %zu points\n", sw.n_points);
        free(hashes);
        free(todo);
        rc = 1;
        goto finish;
    }
    /* Every point's configuration must be valid before any runs: a typo
     * in a swept key fails now, with its location, not N times later, and
     * leaves no output directory behind. */
    if (rank == 0) {
        scim_sim *probe = scim_sim_create();
        int prc = !probe || scim_sim_load_file(probe, sw.config);
        for (size_t k = 0; !prc && k < sw.n_sets; k++)
            prc = scim_sim_set(probe, sw.sets[k]);
        for (size_t k = 0; !prc && k < sw.n_params; k++) {
            char a[1024];
            snprintf(a, sizeof a, "%s=%s", sw.params[k].key, scim_sweep_point_value(&sw, 0, k));
            prc = scim_sim_set(probe, a);
        }
        if (!prc)
            prc = scim_sim_build(probe);
        if (prc) {
            char d[512];
            scim_sweep_describe_point(&sw, 0, d, sizeof d);
            fprintf(stderr, "scimitar sweep: %s is not a valid configuration: %s\n", d,
                    probe ? scim_sim_errmsg(probe) : "out of memory");
            rc = 1;
        } else if (!plot_ok(&sw, probe)) {
            rc = 1;
        }
        scim_sim_destroy(probe);
    }
    if (list_points) {
        /* checked as a sweep checks them, then printed: nothing is created */
        if (!rc && rank == 0 && scim_sweep_write_points(&sw, stdout, &err) != 0) {
            fprintf(stderr, "scimitar sweep: %s\n", err.msg);
            rc = 1;
        }
        free(hashes);
        free(todo);
        goto finish;
    }
    char why[1200];
    if (!rc && rank == 0 && cli_check_out_dir(sw.out, why, sizeof why) != 0) {
        fprintf(stderr, "scimitar sweep: %s\n", why);
        rc = 1;
    }
    /* A failure here goes through the MPI broadcast below like any other,
     * so the other ranks learn of it rather than wait. */
    if (!rc && rank == 0 && cli_mkdir_p(sw.out) != 0) {
        fprintf(stderr, "scimitar sweep: cannot create %s: %s\n", sw.out, strerror(errno));
        rc = 1;
    }
    /* One sweep per directory: a second one (a resume started while the
     * first still runs) would run the same points beside it. */
    if (!rc && rank == 0 && scim_sweep_lock(&sw) != 0)
        rc = 1;
    size_t skipped = 0;
    for (size_t i = 0; !rc && rank == 0 && i < sw.n_points; i++) {
        if (scim_sweep_point_hash(&sw, i, &hashes[n_todo], &err) != 0) {
            fprintf(stderr, "scimitar: %s\n", err.msg);
            rc = 1;
            break;
        }
        if (scim_sweep_point_done(&sw, i, hashes[n_todo])) {
            skipped++;
            continue;
        }
        todo[n_todo++] = i;
    }
#ifdef SCIM_HAVE_MPI
    if (mpi)
        scim_sweep_mpi_share(&rc, todo, &n_todo, hashes, rank);
#endif
    size_t failed = 0;
    if (!rc && rank == 0 && !sw.quiet)
        fprintf(stderr, "scimitar sweep: %zu points, %zu to run, %zu already done; %s\n", sw.n_points, n_todo, skipped,
                mpi ? "MPI ranks share them" : "local processes");
    if (!rc) {
#ifdef SCIM_HAVE_MPI
        if (mpi)
            failed = scim_sweep_run_mpi(&sw, todo, hashes, n_todo, rank, size);
        else
#endif
            failed = scim_sweep_run_local(&sw, todo, hashes, n_todo);
    }
    /* SIGINT/SIGTERM: the point runs were stopped and waited for; what
     * finished is kept for a resume, no table is written */
    if (scim_sweep_interrupted()) {
        fprintf(stderr, "%sscimitar sweep: interrupted; the points that finished are kept in %s: run the same "
                        "command again to resume\n", isatty(STDERR_FILENO) && !sw.quiet ? "\n" : "", sw.out);
        free(hashes);
        free(todo);
        scim_sweep_free(&sw);
        free(sw.sets);
        scim_sweep_reraise();
        return 1;
    }
    size_t rows = 0;
    if (!rc && rank == 0) {
        /* name only files that were written: a table that failed is
         * reported by write_table, and nothing is claimed */
        bool written = scim_sweep_write_table(&sw, &rows) == 0;
        if (!written || failed)
            rc = 1;
        if (written && (!sw.quiet || failed))
            printf("sweep: %zu points (%zu run, %zu skipped, %zu failed); table %s/sweep.csv, %s/sweep.json%s%s%s\n",
                   sw.n_points, n_todo - failed, skipped, failed, sw.out, sw.out, sw.plot_metric ? "; plot " : "",
                   sw.plot_metric ? sw.out : "", sw.plot_metric ? "/plot.svg" : "");
    }
    free(hashes);
    free(todo);
finish:
#ifdef SCIM_HAVE_MPI
    if (mpi)
        scim_sweep_mpi_finish(&rc);
#endif
    (void)size;
done:
    scim_sweep_free(&sw);
    free(sw.sets);
    return rc;
}

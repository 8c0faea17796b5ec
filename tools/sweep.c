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
 * Output in DIR: points/<i>/{stats.json,stats.csv,point.txt,log.txt},
 * sweep.csv (a row per point: the swept parameters, then every stat),
 * sweep.json (the same), and plot.svg when a plot is asked for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
                 "Runs every point of CONFIG's sweep: section (docs/sweeps.md); under mpirun, ranks share the "
                 "points.\n");
}

static bool under_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int scim_cli_sweep(int argc, char **argv)
{
    scim_sweep sw = {.jobs = 1};
    const char *out = NULL;
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
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
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
    if (under_mpi() && !getenv("SCIM_SWEEP_NO_MPI_WARNING"))
        fprintf(stderr, "scimitar sweep: started by an MPI launcher, but this build has no MPI: every rank "
                        "would run every point; rebuild with OpenMPI (libopenmpi-dev) installed\n");
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
        }
        scim_sim_destroy(probe);
    }
    /* A failure here goes through the MPI broadcast below like any other,
     * so the other ranks learn of it rather than wait. */
    if (!rc && rank == 0 && cli_mkdir_p(sw.out) != 0) {
        fprintf(stderr, "scimitar sweep: cannot create %s: %s\n", sw.out, strerror(errno));
        rc = 1;
    }
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
    size_t rows = 0;
    if (!rc && rank == 0) {
        if (scim_sweep_write_table(&sw, &rows) != 0)
            rc = 1;
        if (failed)
            rc = 1;
        if (!sw.quiet || failed)
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

/* scimitar — command-line tool.
 *
 *   scimitar run CONFIG.yaml [--set key.path=value]... [--out DIR] [--quiet] [--progress=off|line|bar]
 *   scimitar check CONFIG.yaml [--set key.path=value]...
 *   scimitar sweep CONFIG.yaml [-j N] [--out DIR] [--set key.path=value]... [--plot METRIC ...]
 *   scimitar compare CONFIG.yaml [--schemes a,b,...] [--set key.path=value]... [--out DIR]
 *   scimitar sample CONFIG.yaml --at S1,S2,... --window D [--detailed-warmup W] [-j N] [--out DIR]
 *   scimitar trace cat|pack|convert|stats|gen|import|locality ...
 *   scimitar doc config|stats
 *
 * Exit status: 0 success, 1 the configuration, a trace or the run failed,
 * 2 bad usage. Errors go to stderr as "scimitar: <message>".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "scimitar/scimitar.h"
#include "sim/sim.h"
#include "cli.h"
#include "fsutil.h"
#include "progress.h"
#include "run_record.h"
#include "trace_cmd.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: scimitar run CONFIG.yaml [--set key.path=value]... [--out DIR] [--quiet] [--progress=off|line|bar]\n"
            "       scimitar check CONFIG.yaml [--set key.path=value]...\n"
            "       scimitar sweep CONFIG.yaml [-j N] [--out DIR] [--set k=v]... [--plot METRIC [--x KEY] [--series KEY]]\n"
            "       scimitar sweep CONFIG.yaml --points [--set k=v]...   (the points as JSON; runs nothing)\n"
            "       scimitar compare CONFIG.yaml [--schemes scimitar,pin,iommu-map] [--set k=v]... [--out DIR]\n"
            "       scimitar sample CONFIG.yaml --at S1,S2,... --window D [--detailed-warmup W] [-j N] [--out DIR]\n"
            "                       [--set k=v]... [--progress=off|line|bar]\n"
            "       scimitar validate [--markdown FILE]\n"
            "       scimitar trace cat|pack|convert|stats|gen|import|locality ...   (scimitar trace --help)\n"
            "       scimitar doc config|stats\n"
            "       scimitar --version\n");
}

/* A point run of a sweep (SCIMITAR_SWEEP_PARENT names its parent, the
 * sweep): on Linux it gets SIGTERM when the sweep dies, however it dies, so
 * no point outlives its sweep and runs beside a resumed one. */
static void end_with_sweep(void)
{
#ifdef __linux__
    const char *parent = getenv("SCIMITAR_SWEEP_PARENT");
    if (!parent || strtol(parent, NULL, 10) != (long)getppid())
        return;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (strtol(parent, NULL, 10) != (long)getppid()) /* it died before prctl */
        raise(SIGTERM);
#endif
}

static double host_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmd_run_or_check(int argc, char **argv, bool check)
{
    const char *config = NULL, *out = NULL;
    bool quiet = false;
    cli_progress_mode pmode = CLI_PROGRESS_AUTO;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    end_with_sweep();
    scim_sim *sim = scim_sim_create();
    if (!sim) {
        fprintf(stderr, "scimitar: out of memory\n");
        return 1;
    }
    const char **sets = calloc((size_t)argc, sizeof *sets);
    size_t n_sets = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            sets[n_sets++] = argv[++i];
        } else if (strncmp(argv[i], "--set=", 6) == 0) {
            sets[n_sets++] = argv[i] + 6;
        } else if (!check && strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (!check && strcmp(argv[i], "--quiet") == 0) {
            quiet = true;
        } else if (!check && (strcmp(argv[i], "--progress") == 0 || strncmp(argv[i], "--progress=", 11) == 0)) {
            const char *v = argv[i][10] == '=' ? argv[i] + 11 : i + 1 < argc ? argv[++i] : "";
            if (!cli_progress_parse(v, &pmode)) {
                fprintf(stderr, "scimitar: --progress takes off, line or bar, not '%s'\n", v);
                rc = 2;
                goto done;
            }
        } else if (cli_missing_value("scimitar", argv[i],
                                     (const char *const[]){"--set", check ? NULL : "--out", NULL})) {
            rc = 2;
            goto done;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "scimitar: unknown option '%s'\n", argv[i]);
            usage(stderr);
            rc = 2;
            goto done;
        } else if (!config) {
            config = argv[i];
        } else {
            fprintf(stderr, "scimitar: more than one configuration given ('%s', '%s')\n", config, argv[i]);
            rc = 2;
            goto done;
        }
    }
    if (!config) {
        fprintf(stderr, "scimitar: %s needs a configuration file\n", argv[0]);
        usage(stderr);
        rc = 2;
        goto done;
    }
    char default_out[512];
    if (!check && !out) {
        char stem[256];
        cli_config_stem(config, stem, sizeof stem);
        snprintf(default_out, sizeof default_out, "out/%s", stem);
        out = default_out;
    }
    /* the output directory is checked before the run, so a run's results
     * are never lost to a path that cannot take them */
    char why[1200];
    if (!check && cli_check_out_dir(out, why, sizeof why) != 0) {
        fprintf(stderr, "scimitar: %s\n", why);
        rc = 1;
        goto done;
    }
    if (scim_sim_load_file(sim, config) != 0)
        goto fail;
    for (size_t i = 0; i < n_sets; i++)
        if (scim_sim_set(sim, sets[i]) != 0)
            goto fail;
    /* progress from the build on: a functional warm-up (sim.warmup) runs in it */
    cli_progress prog;
    cli_progress_start(&prog, sim, check ? CLI_PROGRESS_OFF : pmode, quiet);
    double tb = host_seconds();
    if (scim_sim_build(sim) != 0) {
        cli_progress_end(&prog);
        goto fail;
    }
    double build_host = host_seconds() - tb;
    if (check) {
        uint64_t last_ns;
        if (scim_sim_trace_clock(sim, &last_ns) != 0)
            goto fail;
        printf("%s: configuration and traces are valid\n", config);
        /* the span scripts/sample.py spreads its windows over */
        printf("trace clock: %llu ns (the last record of any trace, on its own clock)\n",
               (unsigned long long)last_ns);
        goto done;
    }
    double t0 = host_seconds();
    time_t started = time(NULL);
    int run_rc = scim_sim_run(sim);
    double host = host_seconds() - t0;
    cli_progress_end(&prog);
    if (run_rc != 0)
        goto fail;
    if (scim_sim_write_stats(sim, out) != 0)
        goto fail;
    run_info info = {config, sets, n_sets, (double)started, host};
    if (cli_write_run_record(sim, out, &info, why, sizeof why) != 0) {
        fprintf(stderr, "scimitar: %s\n", why);
        rc = 1;
        goto done;
    }
    if (!quiet) {
        scim_sim_summary(sim, stdout);
        printf("host time: %.3f s (%.2f M events/s)\n", host,
               host > 0 ? (double)scim_kernel_events_executed(scim_sim_kernel(sim)) / host / 1e6 : 0.0);
        double warmed = 0;
        if (scim_stats_lookup(scim_sim_stats(sim), "sim.warmup.records", &warmed) == 0 && warmed > 0)
            printf("warm-up host time: %.3f s with the build (%.2f M records/s)\n", build_host,
                   build_host > 0 ? warmed / build_host / 1e6 : 0.0);
        printf("statistics: %s/stats.json, %s/stats.csv; the run: %s/config.yaml, %s/meta.json\n", out, out, out,
               out);
    }
    goto done;
fail:
    fprintf(stderr, "scimitar: %s\n", scim_sim_errmsg(sim));
    rc = 1;
done:
    free(sets);
    scim_sim_destroy(sim);
    return rc;
}

static int cmd_doc(int argc, char **argv)
{
    bool config = argc == 2 && strcmp(argv[1], "config") == 0;
    if (config || (argc == 2 && strcmp(argv[1], "stats") == 0)) {
        if ((config ? scim_doc_config(stdout) : scim_doc_stats(stdout)) == 0)
            return 0;
        fprintf(stderr, "scimitar: cannot write the %s reference to the standard output\n", argv[1]);
        return 1;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: scimitar doc config|stats\n");
        return 0;
    }
    fprintf(stderr, "usage: scimitar doc config|stats\n");
    return 2;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("scimitar %s\n", scim_version_string());
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run_or_check(argc - 1, argv + 1, false);
    if (strcmp(cmd, "check") == 0)
        return cmd_run_or_check(argc - 1, argv + 1, true);
    if (strcmp(cmd, "sweep") == 0)
        return scim_cli_sweep(argc - 1, argv + 1);
    if (strcmp(cmd, "sample") == 0)
        return scim_cli_sample(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0)
        return scim_cli_compare(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0)
        return scim_cli_validate(argc - 1, argv + 1);
    if (strcmp(cmd, "trace") == 0)
        return scim_cli_trace(argc - 1, argv + 1);
    if (strcmp(cmd, "doc") == 0)
        return cmd_doc(argc - 1, argv + 1);
    fprintf(stderr, "scimitar: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}

/* Output on stdout is buffered: a full disk or a closed pipe shows only at
 * the last flush, after the command has returned. A command that
 * succeeded must not exit 0 with its output lost (one that failed has
 * already said why). */
int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (rc == 0)
            fprintf(stderr, "scimitar: cannot write the standard output%s%s\n", errno ? ": " : "",
                    errno ? strerror(errno) : "");
        return rc ? rc : 1;
    }
    return rc;
}

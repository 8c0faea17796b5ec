/* scimitar sample CONFIG --at S1,S2,... --window D [--detailed-warmup W] [-j N] [--out DIR] [--set k=v]...
 *
 * Measured windows of one functional warm-up (src/sim/sample.c): window k
 * is [S_k, S_k + D) on the traces' clock, its output in DIR/window-K/
 * exactly what `scimitar run CONFIG --set sim.warmup_until=S_k --set
 * sim.until=S_k+D` writes there (statistic for statistic). The warm-up
 * runs once, to the last window; at each window it forks a child that
 * runs the window in detail while the parent warms on. With W, the child
 * starts at S_k - W instead, and a second child runs [S_k - W, S_k) into
 * DIR/window-K-head/, the part to subtract (scripts/sample.py).
 * Statistics never depend on -j or on which child finishes first. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "core/config.h"
#include "scimitar/scimitar.h"
#include "cli.h"
#include "fsutil.h"
#include "progress.h"
#include "run_record.h"
#include "sweep.h"

#define MAX_WINDOWS 4096

typedef struct job {
    scim_time_t from, until; /* the child's detailed run: from (its warm-up's end) to until */
    size_t window;           /* 1-based */
    bool head;               /* the unmeasured detailed warm-up alone */
    pid_t pid;
} job;

typedef struct sampler {
    const char *config, *out;
    const char **sets;
    size_t n_sets;
    unsigned jobs, running;
    job *js;
    size_t n_js;
    size_t next_job; /* the next job to fork at a warm point */
    job *mine;       /* in a child: its job; NULL in the parent */
    int failures;
} sampler;

static void usage(FILE *f)
{
    fprintf(f, "usage: scimitar sample CONFIG.yaml --at S1,S2,... --window D [--detailed-warmup W] [-j N]\n"
               "                       [--out DIR] [--set key.path=value]... [--progress=off|line|bar]\n"
               "  one functional warm-up to the last window; window k, [S_k, S_k + D) on the traces' clock, runs in\n"
               "  detail in a child forked where the warm-up reaches it (S_k - W with --detailed-warmup W, whose part\n"
               "  [S_k - W, S_k) a second child writes to DIR/window-K-head). Output: DIR/window-K/, what `scimitar run\n"
               "  --set sim.warmup_until=S_k-W --set sim.until=S_k+D` writes, and DIR/windows.csv listing them;\n"
               "  -j N: children at once (default 1); --progress: the warm-up's (a bar on a terminal, else a line\n"
               "  every 30 s). scripts/sample.py estimates the whole trace from them.\n");
}

static int parse_time(const char *opt, const char *text, scim_time_t *out)
{
    static const scim_param_decl decl = {"time", SCIM_P_TIME, "0", "ns", false, 0, 0, NULL, 0, NULL, NULL};
    char why[256] = "";
    if (scim_cfg_parse_value(&decl, text, out, why, sizeof why) == 0)
        return 0;
    fprintf(stderr, "scimitar sample: %s '%s': %s\n", opt, text, why);
    return -1;
}

static void time_text(scim_time_t t, char *buf, size_t len)
{
    if (t % 1000 == 0)
        snprintf(buf, len, "%" PRIu64 "ns", t / 1000);
    else
        snprintf(buf, len, "%" PRIu64 "ps", t);
}

static void job_dir(const sampler *s, const job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s/window-%03zu%s", s->out, j->window, j->head ? "-head" : "");
}

/* No child outlives the sample (as a sweep's points, main.c). */
static void end_with_parent(pid_t parent)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        raise(SIGTERM);
#else
    (void)parent;
#endif
}

static void reap_one(sampler *s)
{
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid <= 0)
        return;
    s->running--;
    for (size_t i = 0; i < s->n_js; i++) {
        job *j = &s->js[i];
        if (j->pid != pid)
            continue;
        j->pid = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char dir[PATH_MAX];
            job_dir(s, j, dir, sizeof dir);
            fprintf(stderr, "scimitar sample: window %zu (%s) failed (%s %d)\n", j->window, dir,
                    WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status)
                                                                                   : WTERMSIG(status));
            s->failures++;
        }
    }
}

/* 1 in the child (its job is s->mine), 0 in the parent, -1 on failure. */
static int fork_job(sampler *s, scim_sim *sim, job *j)
{
    while (s->running >= s->jobs)
        reap_one(s);
    pid_t parent = getpid();
    long pid = scim_sim_fork(sim);
    if (pid == 0) {
        end_with_parent(parent);
        s->mine = j;
        return 1;
    }
    if (pid < 0) {
        fprintf(stderr, "scimitar sample: %s\n", scim_sim_errmsg(sim));
        return -1;
    }
    j->pid = (pid_t)pid;
    s->running++;
    return 0;
}

/* The warm-up is at a window's start (less W): fork its children. */
static int at_point(void *ctx, scim_sim *sim, size_t index, scim_time_t at, scim_time_t *until)
{
    (void)index;
    sampler *s = ctx;
    for (; s->next_job < s->n_js && s->js[s->next_job].from == at; s->next_job++) {
        job *j = &s->js[s->next_job];
        int rc = fork_job(s, sim, j);
        if (rc < 0)
            return SCIM_EIO;
        if (rc == 1) {
            scim_sim_set_progress(sim, NULL, NULL);
            *until = j->until;
            return SCIM_WARM_POINT_DETAIL;
        }
    }
    return 0;
}

/* In a child: run its window and write its directory. */
static int run_job(sampler *s, scim_sim *sim)
{
    double started = (double)time(NULL), t0 = scim_sweep_host_seconds();
    const job *j = s->mine;
    char dir[PATH_MAX], from[32], until[32], set_from[64], set_until[64], why[1200];
    job_dir(s, j, dir, sizeof dir);
    time_text(j->from, from, sizeof from);
    time_text(j->until, until, sizeof until);
    snprintf(set_from, sizeof set_from, "sim.warmup_until=%s", from);
    snprintf(set_until, sizeof set_until, "sim.until=%s", until);
    if (scim_sim_run(sim) != 0 || scim_sim_write_stats(sim, dir) != 0) {
        fprintf(stderr, "scimitar sample: window %zu: %s\n", j->window, scim_sim_errmsg(sim));
        return 1;
    }
    /* what reproduces this window alone: the sample's overrides and its own two */
    const char **sets = calloc(s->n_sets + 2, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "scimitar sample: out of host memory\n");
        return 1;
    }
    memcpy(sets, s->sets, s->n_sets * sizeof *sets);
    sets[s->n_sets] = set_from;
    sets[s->n_sets + 1] = set_until;
    run_info info = {s->config, sets, s->n_sets + 2, started, scim_sweep_host_seconds() - t0};
    int rc = cli_write_run_record(sim, dir, &info, why, sizeof why);
    free(sets);
    if (rc) {
        fprintf(stderr, "scimitar sample: window %zu: %s\n", j->window, why);
        return 1;
    }
    return 0;
}

/* OUT/windows.csv, what this sample wrote (a directory of an earlier one
 * may be beside it), and the same on stdout. */
static int write_manifest(const sampler *s)
{
    char *text = NULL, path[PATH_MAX];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        fprintf(stderr, "scimitar sample: out of host memory\n");
        return 1;
    }
    fprintf(f, "window,part,from_ps,until_ps,dir\n");
    for (size_t i = 0; i < s->n_js; i++) {
        const job *j = &s->js[i];
        char dir[PATH_MAX], a[32], b[32];
        job_dir(s, j, dir, sizeof dir);
        const char *base = strrchr(dir, '/') + 1;
        fprintf(f, "%zu,%s,%" PRIu64 ",%" PRIu64 ",%s\n", j->window, j->head ? "head" : "measured", j->from,
                j->until, base);
        time_text(j->from, a, sizeof a);
        time_text(j->until, b, sizeof b);
        printf("window %zu%s: detailed from %s to %s: %s\n", j->window, j->head ? " (head)" : "", a, b, dir);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/windows.csv", s->out);
    int rc = cli_write_atomic(path, text);
    if (rc)
        fprintf(stderr, "scimitar sample: could not write %s: %s\n", path, strerror(errno));
    else
        printf("windows: %s\n", path);
    free(text);
    return rc ? 1 : 0;
}

static int parse_at(const char *list, scim_time_t **out, size_t *n)
{
    char *copy = strdup(list);
    scim_time_t *at = calloc(MAX_WINDOWS, sizeof *at);
    int rc = copy && at ? 0 : -1;
    if (rc)
        fprintf(stderr, "scimitar sample: out of host memory\n");
    *n = 0;
    for (char *save = NULL, *tok = copy ? strtok_r(copy, ",", &save) : NULL; !rc && tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_WINDOWS) {
            fprintf(stderr, "scimitar sample: more than %d windows in --at\n", MAX_WINDOWS);
            rc = -1;
        } else if (parse_time("--at", tok, &at[*n]) != 0) {
            rc = -1;
        } else if (*n && at[*n] <= at[*n - 1]) {
            fprintf(stderr, "scimitar sample: --at: '%s' is not after the window before it; expected ascending "
                            "start times\n", tok);
            rc = -1;
        } else {
            (*n)++;
        }
    }
    if (!rc && !*n) {
        fprintf(stderr, "scimitar sample: --at needs at least one start time (S1,S2,...)\n");
        rc = -1;
    }
    free(copy);
    if (rc) {
        free(at);
        return -1;
    }
    *out = at;
    return 0;
}

/* Jobs in the order the warm-up reaches their starts (a head after its
 * window's full run); windows may overlap, each child is a run of its own. */
static int plan(sampler *s, const scim_time_t *at, size_t n, scim_time_t window, scim_time_t warm)
{
    if (!(s->js = calloc(2 * n, sizeof *s->js))) {
        fprintf(stderr, "scimitar sample: out of host memory\n");
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        scim_time_t from = at[k] > warm ? at[k] - warm : 0; /* ascending as the starts are */
        if (at[k] > UINT64_MAX - window) {
            fprintf(stderr, "scimitar sample: window %zu ends past the end of the simulated clock\n", k + 1);
            return -1;
        }
        s->js[s->n_js++] = (job){from, at[k] + window, k + 1, false, 0};
        if (from < at[k])
            s->js[s->n_js++] = (job){from, at[k], k + 1, true, 0};
    }
    return 0;
}

int scim_cli_sample(int argc, char **argv)
{
    sampler s = {.jobs = 1};
    const char *at_list = NULL, *window_text = NULL, *warm_text = NULL;
    scim_time_t *at = NULL, window = 0, warm = 0;
    size_t n_at = 0;
    int rc = 2;
    cli_progress_mode pmode = CLI_PROGRESS_AUTO;
    s.sets = calloc((size_t)argc + 1, sizeof *s.sets);
    for (int i = 1; s.sets && i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto done;
        } else if (strcmp(a, "--at") == 0 && i + 1 < argc) {
            at_list = argv[++i];
        } else if (strcmp(a, "--window") == 0 && i + 1 < argc) {
            window_text = argv[++i];
        } else if (strcmp(a, "--detailed-warmup") == 0 && i + 1 < argc) {
            warm_text = argv[++i];
        } else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
            s.out = argv[++i];
        } else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
            s.sets[s.n_sets++] = argv[++i];
        } else if (strcmp(a, "--progress") == 0 || strncmp(a, "--progress=", 11) == 0) {
            const char *v = a[10] == '=' ? a + 11 : i + 1 < argc ? argv[++i] : "";
            if (!cli_progress_parse(v, &pmode)) {
                fprintf(stderr, "scimitar sample: --progress takes off, line or bar, not '%s'\n", v);
                goto done;
            }
        } else if (strcmp(a, "-j") == 0 && i + 1 < argc) {
            char *end;
            long j = strtol(argv[++i], &end, 10);
            if (*end || j < 1 || j > 256) {
                fprintf(stderr, "scimitar sample: -j takes a number of children from 1 to 256, not '%s'\n", argv[i]);
                goto done;
            }
            s.jobs = (unsigned)j;
        } else if (cli_missing_value("scimitar sample", a,
                                     (const char *const[]){"--at", "--window", "--detailed-warmup", "--out", "--set",
                                                           "-j", NULL})) {
            goto done;
        } else if (a[0] == '-') {
            fprintf(stderr, "scimitar sample: unknown option '%s'\n", a);
            usage(stderr);
            goto done;
        } else if (!s.config) {
            s.config = a;
        } else {
            fprintf(stderr, "scimitar sample: more than one configuration given ('%s', '%s')\n", s.config, a);
            goto done;
        }
    }
    if (!s.sets || !s.config || !at_list || !window_text) {
        fprintf(stderr, "scimitar sample: needs a configuration, --at and --window\n");
        usage(stderr);
        goto done;
    }
    if (parse_at(at_list, &at, &n_at) || parse_time("--window", window_text, &window) ||
        (warm_text && parse_time("--detailed-warmup", warm_text, &warm)))
        goto done;
    if (!window) {
        fprintf(stderr, "scimitar sample: --window must be above 0\n");
        goto done;
    }
    rc = 1;
    if (plan(&s, at, n_at, window, warm))
        goto done;
    char default_out[PATH_MAX], why[1200];
    if (!s.out) {
        char stem[256];
        cli_config_stem(s.config, stem, sizeof stem);
        snprintf(default_out, sizeof default_out, "out/%s-sample", stem);
        s.out = default_out;
    }
    if (cli_check_out_dir(s.out, why, sizeof why) != 0) {
        fprintf(stderr, "scimitar sample: %s\n", why);
        goto done;
    }
    scim_sim *sim = scim_sim_create();
    if (!sim) {
        fprintf(stderr, "scimitar sample: out of host memory\n");
        goto done;
    }
    int sim_rc = scim_sim_load_file(sim, s.config);
    for (size_t i = 0; !sim_rc && i < s.n_sets; i++)
        sim_rc = scim_sim_set(sim, s.sets[i]);
    if (!sim_rc) {
        /* one warm-up to the last start (at least 1 ps: a warm-up by time;
         * a window from 0 stops it before its first record), a child forked
         * at each start on the way */
        scim_time_t *points = calloc(s.n_js, sizeof *points);
        size_t np = 0;
        for (size_t i = 0; points && i < s.n_js; i++)
            if (!np || points[np - 1] != s.js[i].from)
                points[np++] = s.js[i].from;
        char end[32], key[64];
        time_text(points && points[np - 1] ? points[np - 1] : 1, end, sizeof end);
        snprintf(key, sizeof key, "sim.warmup_until=%s", end);
        cli_progress prog; /* the warm-up's, in the parent; a child's is off (at_point) */
        cli_progress_start(&prog, sim, pmode, false);
        sim_rc = !points ? SCIM_ENOMEM
                         : scim_sim_set(sim, key) || scim_sim_set_warm_points(sim, points, np, at_point, &s) ||
                               scim_sim_build(sim);
        free(points);
        if (!s.mine)
            cli_progress_end(&prog);
        if (s.mine) { /* a child, built to its window */
            if (sim_rc)
                fprintf(stderr, "scimitar sample: window %zu: %s\n", s.mine->window, scim_sim_errmsg(sim));
            rc = sim_rc ? 1 : run_job(&s, sim);
            scim_sim_destroy(sim);
            goto done;
        }
    }
    if (sim_rc) {
        fprintf(stderr, "scimitar sample: %s\n", scim_sim_errmsg(sim));
        s.failures++;
    }
    scim_sim_destroy(sim);
    while (s.running)
        reap_one(&s);
    if (s.failures || s.next_job < s.n_js) {
        rc = 1;
        goto done;
    }
    rc = write_manifest(&s);
done:
    free(at);
    free(s.js);
    free(s.sets);
    return rc;
}

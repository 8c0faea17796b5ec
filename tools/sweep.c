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
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef SCIM_HAVE_MPI
#include <mpi.h>
#endif

#include "cli.h"
#include "fsutil.h"
#include "plot.h"
#include "core/config.h"
#include "scimitar/scimitar.h"
#include "sim/sim.h"

extern char **environ;

typedef struct param {
    char *key;
    char **values;
    size_t n;
} param;

typedef struct sweep {
    const char *config;
    const char **sets;
    size_t n_sets;
    param *params; /* the grid's dimensions, then the zip group's keys */
    size_t n_params, n_grid;  /* first n_grid are cartesian; the rest zip */
    size_t zip_len;
    size_t n_points;
    char *out;
    char *plot_metric, *plot_x, *plot_series;
    unsigned jobs;
    bool quiet;
} sweep;

/* ---------- small helpers ---------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap);
    while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 < cap)
            continue;
        char *nb = realloc(b, cap *= 2);
        if (!nb)
            free(b);
        b = nb;
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}

static double host_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------- the sweep section ---------- */

static void fmt_number(char *buf, size_t len, double v)
{
    if (v == floor(v) && fabs(v) < 9e15)
        snprintf(buf, len, "%lld", (long long)v);
    else
        snprintf(buf, len, "%.10g", v);
}

static bool num_of(const scim_cfg_node *n, double *v)
{
    const char *s = n ? scim_cfg_node_scalar(n) : NULL;
    char *end;
    if (!s || !*s)
        return false;
    *v = strtod(s, &end);
    return *end == '\0' && isfinite(*v);
}

static int add_value(param *p, const char *v)
{
    char **n = realloc(p->values, (p->n + 1) * sizeof *n);
    if (!n)
        return -1;
    p->values = n;
    if (!(p->values[p->n] = strdup(v)))
        return -1;
    p->n++;
    return 0;
}

/* A parameter's values: a list, one scalar, or a map with exactly one of
 * values: [...], range: [from, to, step] (inclusive), pow2: [from, to]. */
static int parse_values(param *p, const scim_cfg_node *n, scim_err *err)
{
    scim_cfg_kind kind = scim_cfg_node_kind(n);
    if (kind == SCIM_CFG_SCALAR)
        return add_value(p, scim_cfg_node_scalar(n)) ? scim_err_set(err, SCIM_ENOMEM, "out of memory") : 0;
    if (kind == SCIM_CFG_SEQ) {
        for (size_t i = 0; i < scim_cfg_node_count(n); i++) {
            const scim_cfg_node *it = scim_cfg_seq_item(n, i);
            if (scim_cfg_node_kind(it) != SCIM_CFG_SCALAR)
                return scim_cfg_error_at(err, it, SCIM_ECONFIG,
                                         "error: sweep value of '%s' must be a scalar; expected e.g. [16, 32, 64]",
                                         p->key);
            if (add_value(p, scim_cfg_node_scalar(it)))
                return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        }
        if (p->n == 0)
            return scim_cfg_error_at(err, n, SCIM_ECONFIG, "error: sweep parameter '%s' has no values", p->key);
        return 0;
    }
    if (scim_cfg_node_count(n) != 1)
        return scim_cfg_error_at(err, n, SCIM_ECONFIG,
                                 "error: sweep parameter '%s': expected a list, or one of {values: [...]}, "
                                 "{range: [from, to, step]}, {pow2: [from, to]}",
                                 p->key);
    const char *how = scim_cfg_map_key(n, 0);
    const scim_cfg_node *v = scim_cfg_map_value(n, 0);
    if (strcmp(how, "values") == 0)
        return parse_values(p, v, err);
    double a[3] = {0, 0, 1};
    size_t want = strcmp(how, "range") == 0 ? 3 : strcmp(how, "pow2") == 0 ? 2 : 0;
    if (!want)
        return scim_cfg_error_at(err, scim_cfg_map_key_node(n, 0), SCIM_ECONFIG,
                                 "error: sweep parameter '%s': unknown form '%s'; expected values, range or pow2",
                                 p->key, how);
    if (scim_cfg_node_kind(v) != SCIM_CFG_SEQ || scim_cfg_node_count(v) != want)
        return scim_cfg_error_at(err, v, SCIM_ECONFIG, "error: sweep parameter '%s': %s takes %s", p->key, how,
                                 want == 3 ? "[from, to, step]" : "[from, to]");
    for (size_t i = 0; i < want; i++)
        if (!num_of(scim_cfg_seq_item(v, i), &a[i]))
            return scim_cfg_error_at(err, scim_cfg_seq_item(v, i), SCIM_ECONFIG,
                                     "error: sweep parameter '%s': expected a plain number (no unit suffix)", p->key);
    char buf[64];
    if (want == 2) {
        if (a[0] <= 0 || a[1] < a[0] || exp2(round(log2(a[0]))) != a[0])
            return scim_cfg_error_at(err, v, SCIM_ECONFIG,
                                     "error: sweep parameter '%s': pow2 needs a power of two from <= to", p->key);
        for (double x = a[0]; x <= a[1] && p->n < 100000; x *= 2) {
            fmt_number(buf, sizeof buf, x);
            if (add_value(p, buf))
                return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        }
        return 0;
    }
    if (a[2] <= 0 || a[1] < a[0] || (a[1] - a[0]) / a[2] > 100000)
        return scim_cfg_error_at(err, v, SCIM_ECONFIG,
                                 "error: sweep parameter '%s': range needs from <= to and a step > 0 (at most "
                                 "100000 values)",
                                 p->key);
    for (size_t i = 0;; i++) {
        double x = a[0] + (double)i * a[2];
        if (x > a[1] + a[2] * 1e-9)
            break;
        fmt_number(buf, sizeof buf, x);
        if (add_value(p, buf))
            return scim_err_set(err, SCIM_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_group(sweep *sw, const scim_cfg_node *map, bool zip, scim_err *err)
{
    if (scim_cfg_node_kind(map) != SCIM_CFG_MAP)
        return scim_cfg_error_at(err, map, SCIM_ECONFIG, "error: sweep.%s must be a map of key path to values",
                                 zip ? "zip" : "parameters");
    for (size_t i = 0; i < scim_cfg_node_count(map); i++) {
        param *n = realloc(sw->params, (sw->n_params + 1) * sizeof *n);
        if (!n)
            return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        sw->params = n;
        param *p = &sw->params[sw->n_params++];
        memset(p, 0, sizeof *p);
        if (!(p->key = strdup(scim_cfg_map_key(map, i))))
            return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        for (size_t k = 0; k + 1 < sw->n_params; k++)
            if (strcmp(sw->params[k].key, p->key) == 0)
                return scim_cfg_error_at(err, scim_cfg_map_key_node(map, i), SCIM_ECONFIG,
                                         "error: '%s' is swept twice; list it once", p->key);
        int rc = parse_values(p, scim_cfg_map_value(map, i), err);
        if (rc)
            return rc;
        if (zip) {
            if (sw->zip_len && p->n != sw->zip_len)
                return scim_cfg_error_at(err, scim_cfg_map_value(map, i), SCIM_ECONFIG,
                                         "error: sweep.zip: '%s' has %zu values but the others have %zu; zipped "
                                         "parameters vary together and need as many values each",
                                         p->key, p->n, sw->zip_len);
            sw->zip_len = p->n;
        }
    }
    return 0;
}

static int parse_sweep(sweep *sw, const scim_cfg *cfg, scim_err *err)
{
    const scim_cfg_node *s = scim_cfg_map_get(scim_cfg_root(cfg), "sweep");
    if (!s)
        return scim_err_set(err, SCIM_ECONFIG,
                            "%s: no sweep: section; add e.g.\n  sweep:\n    parameters:\n      "
                            "devices.nic0.iotlb.entries: {pow2: [16, 256]}",
                            scim_cfg_name(cfg));
    if (scim_cfg_node_kind(s) != SCIM_CFG_MAP)
        return scim_cfg_error_at(err, s, SCIM_ECONFIG, "error: sweep must be a map (parameters, zip, plot)");
    for (size_t i = 0; i < scim_cfg_node_count(s); i++) {
        const char *k = scim_cfg_map_key(s, i);
        if (strcmp(k, "parameters") && strcmp(k, "zip") && strcmp(k, "plot"))
            return scim_cfg_error_at(err, scim_cfg_map_key_node(s, i), SCIM_ECONFIG,
                                     "error: unknown key 'sweep.%s'; expected parameters, zip or plot", k);
    }
    const scim_cfg_node *pm = scim_cfg_map_get(s, "parameters"), *zm = scim_cfg_map_get(s, "zip");
    int rc;
    if (pm && (rc = parse_group(sw, pm, false, err)))
        return rc;
    sw->n_grid = sw->n_params;
    if (zm && (rc = parse_group(sw, zm, true, err)))
        return rc;
    if (sw->n_params == 0)
        return scim_cfg_error_at(err, s, SCIM_ECONFIG, "error: sweep has no parameters; add sweep.parameters");
    sw->n_points = 1;
    for (size_t i = 0; i < sw->n_grid; i++) {
        sw->n_points *= sw->params[i].n;
        if (sw->n_points > 10000000)
            return scim_cfg_error_at(err, s, SCIM_ECONFIG, "error: the sweep has more than 10 million points");
    }
    if (sw->zip_len)
        sw->n_points *= sw->zip_len;
    const scim_cfg_node *plot = scim_cfg_map_get(s, "plot");
    if (plot) {
        static const char *const keys[] = {"metric", "x", "series"};
        char **dst[] = {&sw->plot_metric, &sw->plot_x, &sw->plot_series};
        for (size_t i = 0; i < scim_cfg_node_count(plot); i++) {
            size_t k;
            for (k = 0; k < 3 && strcmp(scim_cfg_map_key(plot, i), keys[k]); k++)
                ;
            const char *v = scim_cfg_node_scalar(scim_cfg_map_value(plot, i));
            if (k == 3 || !v)
                return scim_cfg_error_at(err, scim_cfg_map_key_node(plot, i), SCIM_ECONFIG,
                                         "error: sweep.plot takes metric, x and series (scalars)");
            if (!*dst[k] && !(*dst[k] = strdup(v)))
                return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* The value of each swept key at point i: the grid's first dimension
 * varies slowest; the zip group is the last dimension. */
static const char *point_value(const sweep *sw, size_t point, size_t which)
{
    size_t idx[64] = {0};
    size_t rest = point;
    size_t dims = sw->n_grid + (sw->zip_len ? 1 : 0);
    for (size_t d = dims; d-- > 0;) {
        size_t n = d < sw->n_grid ? sw->params[d].n : sw->zip_len;
        idx[d] = rest % n;
        rest /= n;
    }
    size_t d = which < sw->n_grid ? which : sw->n_grid;
    return sw->params[which].values[idx[d]];
}

static void point_dir(const sweep *sw, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%s/points/%06zu", sw->out, i);
}

/* The configuration a point runs (sweep section blanked, so editing the
 * plot does not invalidate results), as a hash. */
static int point_hash(const sweep *sw, size_t i, uint64_t *h, scim_err *err)
{
    scim_cfg *cfg = scim_cfg_load_file(sw->config, err);
    if (!cfg)
        return err->code;
    int rc = 0;
    for (size_t k = 0; k < sw->n_sets && !rc; k++)
        rc = scim_cfg_set(cfg, sw->sets[k], err);
    for (size_t k = 0; k < sw->n_params && !rc; k++)
        rc = scim_cfg_set_kv(cfg, sw->params[k].key, point_value(sw, i, k), err);
    if (!rc)
        rc = scim_cfg_set_kv(cfg, "sweep", "{}", err);
    if (!rc)
        *h = scim_cfg_hash(cfg);
    scim_cfg_destroy(cfg);
    return rc;
}

static bool point_done(const sweep *sw, size_t i, uint64_t h)
{
    char dir[1024], path[1100], want[64];
    point_dir(sw, i, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/point.txt", dir);
    char *txt = slurp(path);
    snprintf(want, sizeof want, "hash %016llx\n", (unsigned long long)h);
    bool ok = txt && strncmp(txt, want, strlen(want)) == 0;
    free(txt);
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    return ok && access(path, R_OK) == 0;
}

static int mark_done(const sweep *sw, size_t i, uint64_t h)
{
    char dir[1024], path[1100];
    point_dir(sw, i, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/point.txt", dir);
    size_t cap = 256;
    for (size_t k = 0; k < sw->n_params; k++)
        cap += strlen(sw->params[k].key) + strlen(point_value(sw, i, k)) + 4;
    char *txt = malloc(cap);
    if (!txt)
        return -1;
    size_t n = (size_t)snprintf(txt, cap, "hash %016llx\n", (unsigned long long)h);
    for (size_t k = 0; k < sw->n_params; k++)
        n += (size_t)snprintf(txt + n, cap - n, "%s=%s\n", sw->params[k].key, point_value(sw, i, k));
    int rc = cli_write_atomic(path, txt);
    free(txt);
    return rc;
}

/* ---------- running points ---------- */

/* Locally: `scimitar run` in a child process, output in the point's log. */
static pid_t spawn_point(const sweep *sw, size_t i)
{
    char dir[1024], log[1100];
    point_dir(sw, i, dir, sizeof dir);
    if (cli_mkdir_p(dir) != 0)
        return -1;
    snprintf(log, sizeof log, "%s/log.txt", dir);
    size_t argc = 0, cap = 8 + 2 * (sw->n_sets + sw->n_params);
    char **argv = calloc(cap, sizeof *argv);
    char **owned = calloc(sw->n_params + 1, sizeof *owned);
    if (!argv || !owned) {
        free(argv);
        free(owned);
        return -1;
    }
    argv[argc++] = "scimitar";
    argv[argc++] = "run";
    argv[argc++] = (char *)sw->config;
    argv[argc++] = "--quiet";
    argv[argc++] = "--out";
    argv[argc++] = dir;
    for (size_t k = 0; k < sw->n_sets; k++) {
        argv[argc++] = "--set";
        argv[argc++] = (char *)sw->sets[k];
    }
    for (size_t k = 0; k < sw->n_params; k++) {
        const char *v = point_value(sw, i, k);
        size_t len = strlen(sw->params[k].key) + strlen(v) + 2;
        if (!(owned[k] = malloc(len)))
            break;
        snprintf(owned[k], len, "%s=%s", sw->params[k].key, v);
        argv[argc++] = "--set";
        argv[argc++] = owned[k];
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, STDIN_FILENO);
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    for (size_t k = 0; k < sw->n_params; k++)
        free(owned[k]);
    free(owned);
    free(argv);
    return rc == 0 ? pid : -1;
}

static void describe_point(const sweep *sw, size_t i, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "point %zu (", i);
    for (size_t k = 0; k < sw->n_params && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", k ? ", " : "", sw->params[k].key, point_value(sw, i, k));
    if (n < len)
        snprintf(buf + n, len - n, ")");
}

static void show_progress(const sweep *sw, size_t done, size_t total, size_t failed, double t0)
{
    if (sw->quiet || !isatty(STDERR_FILENO) || total == 0)
        return;
    double el = host_seconds() - t0;
    double eta = done ? el / (double)done * (double)(total - done) : 0;
    fprintf(stderr, "\r  sweep: %zu/%zu points done%s%zu failed | elapsed %.0f s | ETA %.0f s   ", done, total,
            failed ? ", " : ", ", failed, el, eta);
    if (done == total)
        fprintf(stderr, "\n");
}

static size_t run_local(const sweep *sw, const size_t *todo, const uint64_t *hashes, size_t n_todo)
{
    size_t next = 0, running = 0, done = 0, failed = 0;
    pid_t *pids = calloc(sw->jobs, sizeof *pids);
    size_t *which = calloc(sw->jobs, sizeof *which);
    double t0 = host_seconds();
    if (!pids || !which) {
        free(pids);
        free(which);
        return n_todo;
    }
    while (done < n_todo) {
        while (running < sw->jobs && next < n_todo) {
            size_t slot;
            for (slot = 0; pids[slot]; slot++)
                ;
            pid_t pid = spawn_point(sw, todo[next]);
            if (pid < 0) {
                char d[512];
                describe_point(sw, todo[next], d, sizeof d);
                fprintf(stderr, "scimitar sweep: %s could not be started: %s\n", d, strerror(errno));
                failed++;
                done++;
                next++;
                continue;
            }
            pids[slot] = pid;
            which[slot] = next++;
            running++;
        }
        if (!running)
            continue;
        int status;
        pid_t pid = wait(&status);
        if (pid < 0)
            break;
        size_t slot;
        for (slot = 0; slot < sw->jobs && pids[slot] != pid; slot++)
            ;
        if (slot == sw->jobs)
            continue;
        pids[slot] = 0;
        running--;
        done++;
        size_t i = todo[which[slot]];
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            mark_done(sw, i, hashes[which[slot]]);
        } else {
            char d[512], dir[1024];
            describe_point(sw, i, d, sizeof d);
            point_dir(sw, i, dir, sizeof dir);
            if (WIFSIGNALED(status))
                fprintf(stderr, "%sscimitar sweep: %s crashed (signal %d); see %s/log.txt\n",
                        isatty(STDERR_FILENO) && !sw->quiet ? "\n" : "", d, WTERMSIG(status), dir);
            else
                fprintf(stderr, "%sscimitar sweep: %s failed (exit %d); see %s/log.txt\n",
                        isatty(STDERR_FILENO) && !sw->quiet ? "\n" : "", d, WEXITSTATUS(status), dir);
            failed++;
        }
        show_progress(sw, done, n_todo, failed, t0);
    }
    free(pids);
    free(which);
    return failed;
}

/* In-process (MPI ranks): the same steps as `scimitar run`. */
static int run_inproc(const sweep *sw, size_t i, char **json, char **csv, char *msg, size_t msg_len)
{
    scim_sim *sim = scim_sim_create();
    int rc = !sim || scim_sim_load_file(sim, sw->config);
    for (size_t k = 0; !rc && k < sw->n_sets; k++)
        rc = scim_sim_set(sim, sw->sets[k]);
    for (size_t k = 0; !rc && k < sw->n_params; k++) {
        char a[1024];
        snprintf(a, sizeof a, "%s=%s", sw->params[k].key, point_value(sw, i, k));
        rc = scim_sim_set(sim, a);
    }
    if (!rc)
        rc = scim_sim_build(sim);
    if (!rc)
        rc = scim_sim_run(sim);
    size_t jl = 0, cl = 0;
    FILE *jf = NULL, *cf = NULL;
    if (!rc) {
        scim_err e = {0};
        jf = open_memstream(json, &jl);
        cf = open_memstream(csv, &cl);
        if (!jf || !cf || scim_stats_write_json(scim_sim_stats(sim), jf, &e) ||
            scim_stats_write_csv(scim_sim_stats(sim), cf, &e))
            rc = 1;
    }
    if (jf)
        fclose(jf);
    if (cf)
        fclose(cf);
    if (rc)
        snprintf(msg, msg_len, "%s", sim ? scim_sim_errmsg(sim) : "out of memory");
    scim_sim_destroy(sim);
    return rc;
}

static int store_point(const sweep *sw, size_t i, uint64_t h, const char *json, const char *csv)
{
    char dir[1024], path[1100];
    point_dir(sw, i, dir, sizeof dir);
    if (cli_mkdir_p(dir) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/stats.json", dir);
    if (cli_write_atomic(path, json))
        return -1;
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    if (cli_write_atomic(path, csv))
        return -1;
    return mark_done(sw, i, h);
}

#ifdef SCIM_HAVE_MPI
/* Rank r runs todo[k] for k % size == r; the other ranks send rank 0 each
 * point's status and statistics once they are done. */
static size_t run_mpi(const sweep *sw, const size_t *todo, const uint64_t *hashes, size_t n_todo, int rank,
                      int size)
{
    size_t failed = 0;
    double t0 = host_seconds();
    typedef struct result {
        uint64_t k;
        int32_t rc;
        char *json, *csv;
        char msg[512];
    } result;
    result *mine = calloc(n_todo / (size_t)size + 1, sizeof *mine);
    size_t n_mine = 0;
    for (size_t k = (size_t)rank; k < n_todo; k += (size_t)size) {
        result *r = &mine[n_mine++];
        r->k = k;
        r->rc = run_inproc(sw, todo[k], &r->json, &r->csv, r->msg, sizeof r->msg);
    }
    if (rank != 0) {
        uint64_t n = n_mine;
        MPI_Send(&n, 1, MPI_UINT64_T, 0, 1, MPI_COMM_WORLD);
        for (size_t j = 0; j < n_mine; j++) {
            result *r = &mine[j];
            uint64_t hdr[4] = {r->k, (uint64_t)(int64_t)r->rc, r->json ? strlen(r->json) + 1 : 0,
                               r->csv ? strlen(r->csv) + 1 : 0};
            MPI_Send(hdr, 4, MPI_UINT64_T, 0, 2, MPI_COMM_WORLD);
            MPI_Send(r->msg, sizeof r->msg, MPI_CHAR, 0, 3, MPI_COMM_WORLD);
            if (hdr[2])
                MPI_Send(r->json, (int)hdr[2], MPI_CHAR, 0, 4, MPI_COMM_WORLD);
            if (hdr[3])
                MPI_Send(r->csv, (int)hdr[3], MPI_CHAR, 0, 5, MPI_COMM_WORLD);
            free(r->json);
            free(r->csv);
        }
        free(mine);
        return 0;
    }
    size_t done = 0;
    for (int src = 0; src < size; src++) {
        uint64_t n = n_mine;
        if (src)
            MPI_Recv(&n, 1, MPI_UINT64_T, src, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (uint64_t j = 0; j < n; j++) {
            result rr = {0}, *r = &rr;
            if (src == 0) {
                r = &mine[j];
            } else {
                uint64_t hdr[4];
                MPI_Recv(hdr, 4, MPI_UINT64_T, src, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Recv(rr.msg, sizeof rr.msg, MPI_CHAR, src, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                rr.k = hdr[0];
                rr.rc = (int32_t)(int64_t)hdr[1];
                if (hdr[2]) {
                    rr.json = malloc(hdr[2]);
                    MPI_Recv(rr.json, (int)hdr[2], MPI_CHAR, src, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                }
                if (hdr[3]) {
                    rr.csv = malloc(hdr[3]);
                    MPI_Recv(rr.csv, (int)hdr[3], MPI_CHAR, src, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                }
            }
            size_t i = todo[r->k];
            if (r->rc || !r->json || !r->csv || store_point(sw, i, hashes[r->k], r->json, r->csv) != 0) {
                char d[512];
                describe_point(sw, i, d, sizeof d);
                fprintf(stderr, "scimitar sweep: %s failed on rank %d: %s\n", d, src,
                        r->rc ? r->msg : "cannot write its statistics");
                failed++;
            }
            free(r->json);
            free(r->csv);
            show_progress(sw, ++done, n_todo, failed, t0);
        }
    }
    free(mine);
    return failed;
}
#endif

/* ---------- the table ---------- */

typedef struct point_stats {
    bool ok;
    size_t n;
    char **names, **values;
} point_stats;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Read a point's stats.csv ("name,value,unit" rows sorted by name). */
static bool read_point(const sweep *sw, size_t i, point_stats *ps, char ***units, char ***unit_names, size_t *n_units)
{
    char dir[1024], path[1100];
    point_dir(sw, i, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    char *txt = slurp(path);
    if (!txt)
        return false;
    char *save = NULL;
    char *line = strtok_r(txt, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c1)
            continue;
        *c1 = '\0';
        if (c2)
            *c2 = '\0';
        char **nn = realloc(ps->names, (ps->n + 1) * sizeof *nn);
        char **nv = nn ? realloc(ps->values, (ps->n + 1) * sizeof *nv) : NULL;
        if (nn)
            ps->names = nn;
        if (!nn || !nv)
            break;
        ps->values = nv;
        ps->names[ps->n] = strdup(line);
        ps->values[ps->n] = strdup(c1 + 1);
        ps->n++;
        if (c2 && units) {
            char **un = realloc(*units, (*n_units + 1) * sizeof *un);
            char **unm = un ? realloc(*unit_names, (*n_units + 1) * sizeof *unm) : NULL;
            if (un)
                *units = un;
            if (unm) {
                *unit_names = unm;
                (*units)[*n_units] = strdup(c2 + 1);
                (*unit_names)[*n_units] = strdup(line);
                (*n_units)++;
            }
        }
    }
    free(txt);
    ps->ok = true;
    return true;
}

static const char *lookup(const point_stats *ps, const char *name)
{
    size_t lo = 0, hi = ps->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ps->names[mid], name);
        if (c == 0)
            return ps->values[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static bool parse_double(const char *s, double *v)
{
    char *end;
    if (!s || !*s)
        return false;
    *v = strtod(s, &end);
    return *end == '\0';
}

static size_t index_of(const char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return i;
    return n;
}

/* The plot: metric against plot_x, a line per value of plot_series, each
 * point the mean over any other swept parameters. */
static int write_plot(const sweep *sw, const point_stats *pts, const char *unit, const char *path)
{
    size_t xk = sw->n_params, sk = sw->n_params;
    for (size_t k = 0; k < sw->n_params; k++) {
        if (sw->plot_x && strcmp(sw->params[k].key, sw->plot_x) == 0)
            xk = k;
        if (sw->plot_series && strcmp(sw->params[k].key, sw->plot_series) == 0)
            sk = k;
    }
    if (xk == sw->n_params) {
        fprintf(stderr, "scimitar sweep: plot x '%s' is not a swept parameter\n", sw->plot_x ? sw->plot_x : "");
        return -1;
    }
    if (sw->plot_series && sk == sw->n_params) {
        fprintf(stderr, "scimitar sweep: plot series '%s' is not a swept parameter\n", sw->plot_series);
        return -1;
    }
    const char **xs = calloc(sw->n_points, sizeof *xs), **ss = calloc(sw->n_points, sizeof *ss);
    size_t nx = 0, ns = 0;
    bool numeric = true, pow2 = true;
    for (size_t i = 0; i < sw->n_points; i++) {
        const char *x = point_value(sw, i, xk), *s = sk < sw->n_params ? point_value(sw, i, sk) : "all";
        if (index_of(xs, nx, x) == nx)
            xs[nx++] = x;
        if (index_of(ss, ns, s) == ns)
            ss[ns++] = s;
    }
    double *xv = calloc(nx, sizeof *xv);
    for (size_t j = 0; j < nx; j++) {
        if (!parse_double(xs[j], &xv[j]))
            numeric = false;
        else if (xv[j] <= 0 || exp2(round(log2(xv[j]))) != xv[j])
            pow2 = false;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; numeric && j < nx; j++) {
        lo = fmin(lo, xv[j]);
        hi = fmax(hi, xv[j]);
    }
    /* order x: numerically, or as listed */
    size_t *order = calloc(nx, sizeof *order);
    for (size_t j = 0; j < nx; j++)
        order[j] = j;
    for (size_t a = 0; numeric && a < nx; a++)
        for (size_t b = a + 1; b < nx; b++)
            if (xv[order[b]] < xv[order[a]]) {
                size_t t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
    double *sum = calloc(nx * ns, sizeof *sum), *cnt = calloc(nx * ns, sizeof *cnt);
    for (size_t i = 0; i < sw->n_points; i++) {
        double v;
        if (!pts[i].ok || !parse_double(lookup(&pts[i], sw->plot_metric), &v))
            continue;
        size_t xj = index_of(xs, nx, point_value(sw, i, xk));
        size_t sj = index_of(ss, ns, sk < sw->n_params ? point_value(sw, i, sk) : "all");
        sum[sj * nx + xj] += v;
        cnt[sj * nx + xj] += 1;
    }
    /* times in a unit a person reads at a glance */
    double scale = 1, top = 0;
    for (size_t k = 0; k < nx * ns; k++)
        if (cnt[k])
            top = fmax(top, fabs(sum[k] / cnt[k]));
    if (unit && strcmp(unit, "ps") == 0) {
        static const char *const names[] = {"ps", "ns", "us", "ms", "s"};
        size_t u = 0;
        while (u < 4 && top / scale >= 1e3) {
            scale *= 1e3;
            u++;
        }
        unit = names[u];
    }
    plot_series *series = calloc(ns, sizeof *series);
    double *px = calloc(nx * ns, sizeof *px), *py = calloc(nx * ns, sizeof *py);
    char **labels = calloc(ns, sizeof *labels);
    for (size_t s = 0; s < ns; s++) {
        size_t m = 0;
        for (size_t a = 0; a < nx; a++) {
            size_t j = order[a];
            if (!cnt[s * nx + j])
                continue;
            px[s * nx + m] = numeric ? xv[j] : (double)a;
            py[s * nx + m] = sum[s * nx + j] / cnt[s * nx + j] / scale;
            m++;
        }
        size_t len = strlen(ss[s]) + (sk < sw->n_params ? strlen(sw->params[sk].key) : 0) + 8;
        labels[s] = malloc(len);
        if (sk < sw->n_params) {
            const char *short_key = strrchr(sw->params[sk].key, '.');
            snprintf(labels[s], len, "%s = %s", short_key ? short_key + 1 : sw->params[sk].key, ss[s]);
        } else {
            snprintf(labels[s], len, "%s", ss[s]);
        }
        series[s] = (plot_series){labels[s], px + s * nx, py + s * nx, m};
    }
    const char **cats = NULL;
    if (!numeric) {
        cats = calloc(nx, sizeof *cats);
        for (size_t a = 0; a < nx; a++)
            cats[a] = xs[order[a]];
    }
    char title[512], ylab[512];
    bool multi = sw->n_params > (sk < sw->n_params ? 2u : 1u);
    snprintf(title, sizeof title, "%s vs %s%s", sw->plot_metric, sw->params[xk].key,
             multi ? " (mean over the other parameters)" : "");
    snprintf(ylab, sizeof ylab, "%s (%s)", sw->plot_metric, unit && *unit ? unit : "value");
    double *ticks = calloc(nx, sizeof *ticks);
    for (size_t a = 0; numeric && a < nx; a++)
        ticks[a] = xv[order[a]];
    plot_spec spec = {.title = title,
                      .x_label = sw->params[xk].key,
                      .y_label = ylab,
                      .x_categories = cats,
                      .n_categories = numeric ? 0 : nx,
                      .log2_x = numeric && pow2 && nx > 2 && hi / lo >= 8,
                      .x_ticks = ticks,
                      .n_x_ticks = numeric && nx <= 12 ? nx : 0,
                      .series = series,
                      .n_series = ns};
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = f ? plot_write_svg(f, &spec) : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc)
        remove(tmp);
    for (size_t s = 0; s < ns; s++)
        free(labels[s]);
    free(labels);
    free(cats);
    free(ticks);
    free(series);
    free(px);
    free(py);
    free(sum);
    free(cnt);
    free(order);
    free(xv);
    free(xs);
    free(ss);
    return rc;
}

static int write_table(const sweep *sw, size_t *n_rows)
{
    point_stats *pts = calloc(sw->n_points, sizeof *pts);
    char **units = NULL, **unit_names = NULL;
    size_t n_units = 0, n_names = 0, cap = 0;
    char **names = NULL;
    if (!pts)
        return -1;
    for (size_t i = 0; i < sw->n_points; i++) {
        if (!read_point(sw, i, &pts[i], i == 0 || !n_units ? &units : NULL, &unit_names, &n_units))
            continue;
        for (size_t k = 0; k < pts[i].n; k++) {
            if (n_names == cap) {
                cap = cap ? cap * 2 : 1024;
                char **nn = realloc(names, cap * sizeof *nn);
                if (!nn)
                    break;
                names = nn;
            }
            names[n_names++] = pts[i].names[k];
        }
    }
    qsort(names, n_names, sizeof *names, cmp_str);
    size_t u = 0;
    for (size_t k = 0; k < n_names; k++)
        if (!u || strcmp(names[u - 1], names[k]))
            names[u++] = names[k];
    n_names = u;

    char path[1100];
    char *csv = NULL, *json = NULL;
    size_t cl = 0, jl = 0;
    FILE *cf = open_memstream(&csv, &cl), *jf = open_memstream(&json, &jl);
    for (size_t k = 0; k < sw->n_params; k++) {
        csv_field(cf, sw->params[k].key);
        fputc(k + 1 < sw->n_params || n_names ? ',' : '\n', cf);
    }
    for (size_t k = 0; k < n_names; k++) {
        csv_field(cf, names[k]);
        fputc(k + 1 < n_names ? ',' : '\n', cf);
    }
    fprintf(jf, "{\n  \"parameters\": [");
    for (size_t k = 0; k < sw->n_params; k++) {
        fputs(k ? ", " : "", jf);
        json_string(jf, sw->params[k].key);
    }
    fprintf(jf, "],\n  \"points\": [");
    size_t rows = 0;
    for (size_t i = 0; i < sw->n_points; i++) {
        if (!pts[i].ok)
            continue;
        for (size_t k = 0; k < sw->n_params; k++) {
            csv_field(cf, point_value(sw, i, k));
            fputc(k + 1 < sw->n_params || n_names ? ',' : '\n', cf);
        }
        for (size_t k = 0; k < n_names; k++) {
            const char *v = lookup(&pts[i], names[k]);
            fputs(v ? v : "", cf);
            fputc(k + 1 < n_names ? ',' : '\n', cf);
        }
        fprintf(jf, "%s\n    {\"point\": %zu, \"params\": {", rows ? "," : "", i);
        for (size_t k = 0; k < sw->n_params; k++) {
            fputs(k ? ", " : "", jf);
            json_string(jf, sw->params[k].key);
            fputs(": ", jf);
            json_string(jf, point_value(sw, i, k));
        }
        fputs("}, \"stats\": {", jf);
        for (size_t k = 0; k < pts[i].n; k++) {
            fputs(k ? ", " : "", jf);
            json_string(jf, pts[i].names[k]);
            fprintf(jf, ": %s", pts[i].values[k]);
        }
        fputs("}}", jf);
        rows++;
    }
    fprintf(jf, "\n  ]\n}\n");
    fclose(cf);
    fclose(jf);
    int rc = 0;
    snprintf(path, sizeof path, "%s/sweep.csv", sw->out);
    if (cli_write_atomic(path, csv))
        rc = -1;
    snprintf(path, sizeof path, "%s/sweep.json", sw->out);
    if (cli_write_atomic(path, json))
        rc = -1;
    if (rc)
        fprintf(stderr, "scimitar sweep: cannot write the table in %s: %s\n", sw->out, strerror(errno));
    if (!rc && sw->plot_metric) {
        const char *unit = NULL;
        for (size_t k = 0; k < n_units; k++)
            if (strcmp(unit_names[k], sw->plot_metric) == 0)
                unit = units[k];
        bool known = false;
        for (size_t k = 0; k < n_names && !known; k++)
            known = strcmp(names[k], sw->plot_metric) == 0;
        snprintf(path, sizeof path, "%s/plot.svg", sw->out);
        if (!known) {
            fprintf(stderr, "scimitar sweep: plot metric '%s' is not a statistic of this run (see sweep.csv's "
                            "header or docs/stats.md)\n",
                    sw->plot_metric);
            rc = -1;
        } else if (write_plot(sw, pts, unit, path) != 0) {
            rc = -1;
        }
    }
    free(csv);
    free(json);
    free(names);
    for (size_t k = 0; k < n_units; k++) {
        free(units[k]);
        free(unit_names[k]);
    }
    free(units);
    free(unit_names);
    for (size_t i = 0; i < sw->n_points; i++) {
        for (size_t k = 0; k < pts[i].n; k++) {
            free(pts[i].names[k]);
            free(pts[i].values[k]);
        }
        free(pts[i].names);
        free(pts[i].values);
    }
    free(pts);
    *n_rows = rows;
    return rc;
}

/* ---------- the command ---------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: scimitar sweep CONFIG.yaml [-j N] [--out DIR] [--set key.path=value]...\n"
                 "                      [--plot METRIC [--x KEY] [--series KEY]] [--quiet]\n"
                 "Runs every point of CONFIG's sweep: section (docs/sweeps.md); under mpirun, ranks share the "
                 "points.\n");
}

static void free_sweep(sweep *sw)
{
    for (size_t k = 0; k < sw->n_params; k++) {
        for (size_t v = 0; v < sw->params[k].n; v++)
            free(sw->params[k].values[v]);
        free(sw->params[k].values);
        free(sw->params[k].key);
    }
    free(sw->params);
    free(sw->plot_metric);
    free(sw->plot_x);
    free(sw->plot_series);
    free(sw->out);
}

static bool under_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int scim_cli_sweep(int argc, char **argv)
{
    sweep sw = {.jobs = 1};
    const char *out = NULL;
    sw.sets = calloc((size_t)argc + 1, sizeof *sw.sets);
    if (!sw.sets)
        return 1;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-j") == 0 && i + 1 < argc) {
            char *end;
            long j = strtol(argv[++i], &end, 10);
            if (*end || j < 1 || j > 4096) {
                fprintf(stderr, "scimitar sweep: -j needs a number of processes from 1 to 4096\n");
                rc = 2;
                goto done;
            }
            sw.jobs = (unsigned)j;
        } else if (strncmp(a, "-j", 2) == 0 && a[2]) {
            sw.jobs = (unsigned)atoi(a + 2);
            if (sw.jobs < 1)
                sw.jobs = 1;
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
        MPI_Init(NULL, NULL);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
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
        parse_sweep(&sw, cfg, &err);
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
    /* Every point's configuration must be valid before any runs: a typo
     * in a swept key fails now, with its location, not N times later. */
    uint64_t *hashes = calloc(sw.n_points, sizeof *hashes);
    size_t *todo = calloc(sw.n_points, sizeof *todo);
    size_t n_todo = 0;
    if (!hashes || !todo || (rank == 0 && cli_mkdir_p(sw.out) != 0)) {
        fprintf(stderr, "scimitar sweep: cannot create %s: %s\n", sw.out, strerror(errno));
        free(hashes);
        free(todo);
        rc = 1;
        goto finish;
    }
    if (rank == 0) {
        scim_sim *probe = scim_sim_create();
        int prc = !probe || scim_sim_load_file(probe, sw.config);
        for (size_t k = 0; !prc && k < sw.n_sets; k++)
            prc = scim_sim_set(probe, sw.sets[k]);
        for (size_t k = 0; !prc && k < sw.n_params; k++) {
            char a[1024];
            snprintf(a, sizeof a, "%s=%s", sw.params[k].key, point_value(&sw, 0, k));
            prc = scim_sim_set(probe, a);
        }
        if (!prc)
            prc = scim_sim_build(probe);
        if (prc) {
            char d[512];
            describe_point(&sw, 0, d, sizeof d);
            fprintf(stderr, "scimitar sweep: %s is not a valid configuration: %s\n", d,
                    probe ? scim_sim_errmsg(probe) : "out of memory");
            rc = 1;
        }
        scim_sim_destroy(probe);
    }
    size_t skipped = 0;
    for (size_t i = 0; !rc && rank == 0 && i < sw.n_points; i++) {
        if (point_hash(&sw, i, &hashes[n_todo], &err) != 0) {
            fprintf(stderr, "scimitar: %s\n", err.msg);
            rc = 1;
            break;
        }
        if (point_done(&sw, i, hashes[n_todo])) {
            skipped++;
            continue;
        }
        todo[n_todo++] = i;
    }
#ifdef SCIM_HAVE_MPI
    /* rank 0 decides what runs: the ranks need not share a file system */
    if (mpi) {
        uint64_t n = n_todo;
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        n_todo = (size_t)n;
        uint64_t *t = calloc(n_todo + 1, sizeof *t);
        for (size_t k = 0; rank == 0 && k < n_todo; k++)
            t[k] = todo[k];
        MPI_Bcast(t, (int)n_todo, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        MPI_Bcast(hashes, (int)n_todo, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        for (size_t k = 0; k < n_todo; k++)
            todo[k] = (size_t)t[k];
        free(t);
    }
#endif
    size_t failed = 0;
    if (!rc && rank == 0 && !sw.quiet)
        fprintf(stderr, "scimitar sweep: %zu points, %zu to run, %zu already done; %s\n", sw.n_points, n_todo, skipped,
                mpi ? "MPI ranks share them" : "local processes");
    if (!rc) {
#ifdef SCIM_HAVE_MPI
        if (mpi)
            failed = run_mpi(&sw, todo, hashes, n_todo, rank, size);
        else
#endif
            failed = run_local(&sw, todo, hashes, n_todo);
    }
    size_t rows = 0;
    if (!rc && rank == 0) {
        if (write_table(&sw, &rows) != 0)
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
    if (mpi) {
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Finalize();
    }
#endif
    (void)size;
done:
    free_sweep(&sw);
    free(sw.sets);
    return rc;
}

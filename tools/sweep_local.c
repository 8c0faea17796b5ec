/* `scimitar sweep` without MPI: each point a `scimitar run` child process,
 * -j at once, so a crash in one point is reported and the others finish;
 * and resume: a point whose results exist under the same configuration
 * hash is not run again. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "sweep.h"

extern char **environ;

double scim_sweep_host_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool scim_sweep_point_done(const scim_sweep *sw, size_t i, uint64_t h)
{
    char dir[1024], path[1100], want[64];
    scim_sweep_point_dir(sw, i, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/point.txt", dir);
    char *txt = cli_read_file(path);
    snprintf(want, sizeof want, "hash %016llx\n", (unsigned long long)h);
    bool ok = txt && strncmp(txt, want, strlen(want)) == 0;
    free(txt);
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    return ok && access(path, R_OK) == 0;
}

int scim_sweep_mark_done(const scim_sweep *sw, size_t i, uint64_t h)
{
    char dir[1024], path[1100];
    scim_sweep_point_dir(sw, i, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/point.txt", dir);
    size_t cap = 256;
    for (size_t k = 0; k < sw->n_params; k++)
        cap += strlen(sw->params[k].key) + strlen(scim_sweep_point_value(sw, i, k)) + 4;
    char *txt = malloc(cap);
    if (!txt)
        return -1;
    size_t n = (size_t)snprintf(txt, cap, "hash %016llx\n", (unsigned long long)h);
    for (size_t k = 0; k < sw->n_params; k++)
        n += (size_t)snprintf(txt + n, cap - n, "%s=%s\n", sw->params[k].key, scim_sweep_point_value(sw, i, k));
    int rc = cli_write_atomic(path, txt);
    free(txt);
    return rc;
}

/* ---------- running points ---------- */

/* Locally: `scimitar run` in a child process, output in the point's log. */
static pid_t spawn_point(const scim_sweep *sw, size_t i)
{
    char dir[1024], log[1100];
    scim_sweep_point_dir(sw, i, dir, sizeof dir);
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
        const char *v = scim_sweep_point_value(sw, i, k);
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
    if (rc != 0) {
        /* posix_spawn returns its error (an open of log.txt that failed,
         * say) and leaves errno alone: the caller reports errno */
        errno = rc;
        return -1;
    }
    return pid;
}

void scim_sweep_show_progress(const scim_sweep *sw, size_t done, size_t total, size_t failed, double t0)
{
    if (sw->quiet || !isatty(STDERR_FILENO) || total == 0)
        return;
    double el = scim_sweep_host_seconds() - t0;
    double eta = done ? el / (double)done * (double)(total - done) : 0;
    fprintf(stderr, "\r  sweep: %zu/%zu points done%s%zu failed | elapsed %.0f s | ETA %.0f s   ", done, total,
            failed ? ", " : ", ", failed, el, eta);
    if (done == total)
        fprintf(stderr, "\n");
}

/* ---------- one sweep per directory ---------- */

int scim_sweep_lock(const scim_sweep *sw)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/sweep.lock", sw->out);
    /* kept open (and so locked) until the process exits; not inherited by
     * the point runs (O_CLOEXEC), so a crashed parent frees it */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "scimitar sweep: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char held[32] = "";
        ssize_t n = pread(fd, held, sizeof held - 1, 0);
        held[n > 0 ? n : 0] = '\0';
        held[strcspn(held, "\n")] = '\0';
        fprintf(stderr, "scimitar sweep: another sweep is running in %s (%s is locked%s%s); wait for it to "
                        "finish, or give another --out DIR\n",
                sw->out, path, *held ? "; the last sweep to take it was process " : "", held);
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        /* the pid is only for the message above: the lock holds anyway */
    }
    return 0;
}

/* ---------- signals ---------- */

/* The running point processes, for the handler: it forwards the signal
 * itself (kill is async-signal-safe), so no point can start or keep
 * running between the signal and the main loop seeing it. */
static pid_t *volatile g_pids;
static volatile size_t g_jobs;
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
    pid_t *pids = g_pids;
    for (size_t k = 0; pids && k < g_jobs; k++)
        if (pids[k] > 0)
            kill(pids[k], sig);
}

bool scim_sweep_interrupted(void) { return g_signal != 0; }

/* gcov's counters are written at a normal exit, which a process killed by
 * its re-raised signal never reaches: scripts/coverage.sh links gcov's
 * __gcov_dump in (-Wl,--undefined=__gcov_dump: a weak reference alone does
 * not pull it out of libgcov.a) and the sweep writes them first, or the
 * tests of an interrupted sweep (cli_sweep_signals) would count for
 * nothing. Weak: in any other build it is null and not called. */
extern void __gcov_dump(void) __attribute__((weak));

void scim_sweep_reraise(void)
{
    int sig = g_signal;
    if (__gcov_dump)
        __gcov_dump();
    signal(sig, SIG_DFL);
    raise(sig);
    exit(128 + sig);
}

size_t scim_sweep_run_local(const scim_sweep *sw, const size_t *todo, const uint64_t *hashes, size_t n_todo)
{
    size_t next = 0, running = 0, done = 0, failed = 0;
    pid_t *pids = calloc(sw->jobs, sizeof *pids);
    size_t *which = calloc(sw->jobs, sizeof *which);
    double t0 = scim_sweep_host_seconds();
    if (!pids || !which) {
        free(pids);
        free(which);
        return n_todo;
    }
    g_jobs = sw->jobs;
    g_pids = pids;
    /* a point run ends with its sweep even if the sweep is killed outright
     * (SIGKILL, the OOM killer): `scimitar run` asks for SIGTERM on its
     * parent's death when this names its parent (main.c) */
    char me[32];
    snprintf(me, sizeof me, "%ld", (long)getpid());
    setenv("SCIMITAR_SWEEP_PARENT", me, 1);
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    while (done < n_todo) {
        if (g_signal && !running)
            break;
        while (!g_signal && running < sw->jobs && next < n_todo) {
            size_t slot;
            for (slot = 0; pids[slot]; slot++)
                ;
            pid_t pid = spawn_point(sw, todo[next]);
            if (pid < 0) {
                char d[512];
                scim_sweep_describe_point(sw, todo[next], d, sizeof d);
                fprintf(stderr, "scimitar sweep: %s could not be started: %s\n", d, strerror(errno));
                failed++;
                done++;
                next++;
                continue;
            }
            pids[slot] = pid;
            which[slot] = next++;
            running++;
            if (g_signal) /* the signal came while it was being started */
                kill(pid, g_signal);
        }
        if (!running)
            continue;
        int status;
        pid_t pid = wait(&status);
        if (pid < 0 && errno == EINTR)
            continue;
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
        if (g_signal && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            continue; /* stopped by the forwarded signal: not a failure of the point */
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            scim_sweep_mark_done(sw, i, hashes[which[slot]]);
        } else {
            char d[512], dir[1024];
            scim_sweep_describe_point(sw, i, d, sizeof d);
            scim_sweep_point_dir(sw, i, dir, sizeof dir);
            if (WIFSIGNALED(status))
                fprintf(stderr, "%sscimitar sweep: %s crashed (signal %d); see %s/log.txt\n",
                        isatty(STDERR_FILENO) && !sw->quiet ? "\n" : "", d, WTERMSIG(status), dir);
            else
                fprintf(stderr, "%sscimitar sweep: %s failed (exit %d); see %s/log.txt\n",
                        isatty(STDERR_FILENO) && !sw->quiet ? "\n" : "", d, WEXITSTATUS(status), dir);
            failed++;
        }
        scim_sweep_show_progress(sw, done, n_todo, failed, t0);
    }
    g_pids = NULL;
    unsetenv("SCIMITAR_SWEEP_PARENT");
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(pids);
    free(which);
    return failed;
}

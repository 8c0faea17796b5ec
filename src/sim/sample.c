/* Sampled simulation in one functional pass (scim_sim_set_warm_points,
 * scim_sim_fork; scimitar sample). A warm-up by time is a prefix of any
 * longer one: warming to t and stopping leaves the state warming to a
 * later t' has when it passes t. So one warm-up can stop at each window's
 * start, as a run with sim.warmup_until at that start would, and a host
 * that forks there runs each window in detail in a child while the parent
 * warms on to the next (gem5's m5.fork() idea; SMARTS's systematic
 * windows, Wunderlich et al., ISCA 2003). The child's statistics are the
 * separate run's, statistic for statistic (tests/cli_sample_fork.sh). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fast.h"
#include "core/trace_internal.h"
#include "sim/sim_internal.h"

int scim_sim_set_warm_points(scim_sim *sim, const scim_time_t *at, size_t n, scim_warm_point_fn fn, void *ctx)
{
    if (!sim)
        return SCIM_EINVAL;
    scim_err_clear(&sim->err);
    if (sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "scim_sim_set_warm_points: set the points before the build");
    if (n && (!at || !fn))
        return scim_sim_fail(sim, SCIM_EINVAL, "scim_sim_set_warm_points: points without times or a function");
    for (size_t i = 1; i < n; i++)
        if (at[i] < at[i - 1])
            return scim_sim_fail(sim, SCIM_EINVAL,
                                 "scim_sim_set_warm_points: point %zu (%" PRIu64 " ps) is before point %zu (%" PRIu64
                                 " ps); expected ascending times",
                                 i, at[i], i - 1, at[i - 1]);
    scim_time_t *copy = NULL;
    if (n && !(copy = malloc(n * sizeof *copy)))
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    if (n)
        memcpy(copy, at, n * sizeof *copy);
    free(sim->warm_points);
    sim->warm_points = copy;
    sim->n_warm_points = n;
    sim->next_warm_point = 0;
    sim->warm_point_fn = fn;
    sim->warm_point_ctx = ctx;
    return 0;
}

static int refuse(scim_sim *sim, const char *key, const char *what)
{
    const scim_cfg_node *n = scim_cfg_get_path(scim_cfg_root(sim->cfg), key);
    return scim_cfg_error_at(&sim->err, n, SCIM_ECONFIG, "error: %s: %s", key, what);
}

int scim_sim_check_warm_points(scim_sim *sim)
{
    if (!sim->n_warm_points)
        return 0;
    if (!sim->top.warmup_until)
        return refuse(sim, "sim.warmup_until",
                      "windows of one warm-up (scim_sim_set_warm_points) need a warm-up by time; expected "
                      "sim.warmup_until at or after the last window's start");
    if (sim->top.warmup || sim->top.records)
        return refuse(sim, sim->top.warmup ? "sim.warmup" : "sim.records",
                      "windows of one warm-up are placed by time; expected 0 (windows by records are not built)");
    scim_time_t last = sim->warm_points[sim->n_warm_points - 1];
    if (last > sim->top.warmup_until)
        return refuse(sim, "sim.warmup_until", "the last window starts after the warm-up's end; expected a "
                                               "sim.warmup_until at or after it");
    if (sim->top.until && sim->top.until <= sim->top.warmup_until)
        return refuse(sim, "sim.until", "the run ends before its warm-up does; expected a sim.until after "
                                        "sim.warmup_until, or 0");
    return 0;
}

/* The configuration as run says what the window's run was (config.yaml
 * loads into the same window). */
static int set_time_key(scim_sim *sim, const char *key, scim_time_t t)
{
    char assignment[96];
    if (t % 1000 == 0)
        snprintf(assignment, sizeof assignment, "%s=%" PRIu64 "ns", key, t / 1000);
    else
        snprintf(assignment, sizeof assignment, "%s=%" PRIu64 "ps", key, t);
    return scim_cfg_set(sim->cfg, assignment, &sim->err);
}

/* The warm-up ends at `at`; the detailed run ends at `until` (0: the
 * configured sim.until). */
static int end_at(scim_sim *sim, scim_time_t at, scim_time_t until)
{
    if (until && until <= at)
        return scim_sim_fail(sim, SCIM_EINVAL, "a window's end (%" PRIu64 " ps) is not after its start (%" PRIu64
                                               " ps); expected a later end", until, at);
    if (until && sim->top.until && until > sim->top.until)
        return scim_sim_fail(sim, SCIM_EINVAL, "a window ends (%" PRIu64 " ps) after sim.until (%" PRIu64
                                               " ps); expected windows inside the run", until, sim->top.until);
    int rc = set_time_key(sim, "sim.warmup_until", at);
    if (!rc && until)
        rc = set_time_key(sim, "sim.until", until);
    if (rc)
        return rc;
    sim->top.warmup_until = at;
    /* A window runs on the event path: the fast path gives the same
     * statistics, but a conflict would redo the run from its configuration,
     * warm-up and all (scim_sim_run), to save a few ms of a short window;
     * on a hit-dominated trace half the windows met one (docs/testing.md,
     * round 16). The devices see it when they start, after the warm-up. */
    sim->no_fast = true;
    sim->fast_use = SCIM_FAST_PATH_WINDOW;
    scim_kernel_set_fast(sim->k, false);
    if (until) {
        sim->top.until = until;
        for (size_t i = 0; i < sim->n_comps; i++) {
            scim_component *c = &sim->comps[i];
            scim_replay *r = c->kind->replay ? c->kind->replay(c->self) : NULL;
            if (r)
                scim_replay_set_until(r, until);
        }
    }
    return 0;
}

int scim_sim_warm_points_due(scim_sim *sim, scim_time_t next_at, bool any_left, bool *stop)
{
    *stop = false;
    while (sim->next_warm_point < sim->n_warm_points) {
        size_t i = sim->next_warm_point;
        scim_time_t at = sim->warm_points[i];
        if (any_left && next_at < at)
            return 0;
        sim->next_warm_point++;
        scim_time_t until = 0;
        int rc = sim->warm_point_fn(sim->warm_point_ctx, sim, i, at, &until);
        if (rc < 0)
            return sim->err.code ? sim->err.code
                                 : scim_sim_fail(sim, rc, "the host's warm point %zu failed (code %d)", i, rc);
        if (rc == SCIM_WARM_POINT_DETAIL) {
            *stop = true;
            return end_at(sim, at, until);
        }
    }
    return 0;
}

long scim_sim_fork(scim_sim *sim)
{
    if (!sim)
        return -1;
    scim_err_clear(&sim->err);
    /* every position before the fork: after it the child may move the
     * shared descriptor at any time */
    int64_t *pos = calloc(sim->n_comps + 1, sizeof *pos);
    if (!pos) {
        scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
        return -1;
    }
    for (size_t i = 0; i < sim->n_comps; i++) {
        scim_component *c = &sim->comps[i];
        scim_replay *r = c->kind->replay ? c->kind->replay(c->self) : NULL;
        pos[i] = r ? scim_trace_file_position(scim_replay_trace_reader(r)) : -1;
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        scim_sim_fail(sim, SCIM_EIO, "cannot fork: %s", strerror(errno));
    } else if (pid > 0) {
        /* the parent moves to descriptors of its own; the child keeps the
         * inherited ones, which the parent no longer touches */
        for (size_t i = 0; i < sim->n_comps; i++) {
            scim_component *c = &sim->comps[i];
            scim_replay *r = c->kind->replay ? c->kind->replay(c->self) : NULL;
            if (pos[i] >= 0 && scim_trace_reopen_at(scim_replay_trace_reader(r), pos[i], &sim->err)) {
                pid = -1; /* the child runs on; the caller stops and reaps it */
                break;
            }
        }
    }
    free(pos);
    return (long)pid;
}

/* The public API (include/scimitar/scimitar.h): a simulation's life
 * cycle around the builder (build.c) and the run loop (run.c). */
#include <stdlib.h>
#include <string.h>

#include "core/fast.h"
#include "core/trace_internal.h"
#include "sim/sim_internal.h"

/* Every call that can fail starts with no error, so scim_sim_errmsg()
 * always tells about the latest failing call, never an older one; a NULL
 * handle is SCIM_EINVAL (there is nowhere to put a message). */
#define ENTER(sim)                                                                                           \
    do {                                                                                                     \
        if (!(sim))                                                                                          \
            return SCIM_EINVAL;                                                                              \
        scim_err_clear(&(sim)->err);                                                                         \
    } while (0)
#define NEED(sim, arg, what)                                                                                 \
    do {                                                                                                     \
        if (!(arg))                                                                                          \
            return scim_sim_fail((sim), SCIM_EINVAL, "%s", (what));                                          \
    } while (0)

scim_sim *scim_sim_create(void) { return calloc(1, sizeof(scim_sim)); }

/* Everything the build made; the configuration stays. */
static void teardown(scim_sim *sim)
{
    if (sim->os)
        scim_os_set_checker(sim->os, NULL);
    scim_sim_host_free(sim);
    scim_sim_destroy_components(sim);
    if (sim->scheme && sim->scheme->destroy)
        sim->scheme->destroy(sim->scheme_state);
    scim_checker_destroy(sim->chk);
    scim_inject_destroy(sim->inj);
    scim_fabric_destroy(sim->fab);
    scim_physmem_destroy(sim->pm);
    scim_stats_destroy(sim->stats);
    scim_kernel_destroy(sim->k);
}

void scim_sim_destroy(scim_sim *sim)
{
    if (!sim)
        return;
    teardown(sim);
    scim_cfg_destroy(sim->cfg);
    free(sim->config_dir);
    free(sim->warm_points);
    free(sim->fast_conflict);
    free(sim);
}

const char *scim_sim_errmsg(const scim_sim *sim)
{
    if (!sim)
        return "no simulation (the handle is NULL; scim_sim_create may have run out of memory)";
    return sim->err.code ? sim->err.msg : "no error";
}

int scim_sim_load_file(scim_sim *sim, const char *path)
{
    ENTER(sim);
    NEED(sim, path, "scim_sim_load_file: path is NULL");
    if (sim->cfg)
        return scim_sim_fail(sim, SCIM_ESTATE, "a configuration is already loaded");
    sim->cfg = scim_cfg_load_file(path, &sim->err);
    if (!sim->cfg)
        return sim->err.code ? sim->err.code : SCIM_EIO;
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    sim->config_dir = malloc(n + 2);
    if (!sim->config_dir)
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    if (n)
        memcpy(sim->config_dir, path, n);
    else
        sim->config_dir[n++] = '.';
    sim->config_dir[n] = '\0';
    return 0;
}

int scim_sim_load_string(scim_sim *sim, const char *yaml, const char *name)
{
    ENTER(sim);
    NEED(sim, yaml, "scim_sim_load_string: yaml is NULL");
    if (!name)
        name = "(string)";
    if (sim->cfg)
        return scim_sim_fail(sim, SCIM_ESTATE, "a configuration is already loaded");
    sim->cfg = scim_cfg_load_string(yaml, strlen(yaml), name, &sim->err);
    if (!sim->cfg)
        return sim->err.code ? sim->err.code : SCIM_EPARSE;
    sim->config_dir = strdup(".");
    return sim->config_dir ? 0 : scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
}

int scim_sim_set(scim_sim *sim, const char *assignment)
{
    ENTER(sim);
    NEED(sim, assignment, "scim_sim_set: assignment is NULL; write \"key.path=value\"");
    if (sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "--set after the simulation was built has no effect");
    bool fresh = !sim->cfg;
    if (fresh) {
        sim->cfg = scim_cfg_new_empty("--set");
        if (!sim->cfg)
            return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    }
    int rc = scim_cfg_set(sim->cfg, assignment, &sim->err);
    if (rc && fresh) {
        /* a failed first override leaves nothing loaded: a file may still come */
        scim_cfg_destroy(sim->cfg);
        sim->cfg = NULL;
        return rc;
    }
    if (fresh && !sim->config_dir && !(sim->config_dir = strdup(".")))
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory");
    return rc;
}

const scim_cfg *scim_sim_config(const scim_sim *sim) { return sim ? sim->cfg : NULL; }
scim_kernel *scim_sim_kernel(scim_sim *sim) { return sim ? sim->k : NULL; }
scim_stats *scim_sim_stats(scim_sim *sim) { return sim ? sim->stats : NULL; }

int scim_sim_resolve(scim_sim *sim, uint32_t pasid, uint64_t va, uint64_t *pa)
{
    ENTER(sim);
    NEED(sim, pa, "scim_sim_resolve: pa is NULL");
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "build the simulation first");
    return scim_os_resolve(sim->os, pasid, va, pa);
}

int scim_sim_frames(scim_sim *sim, scim_frame_counts *out)
{
    ENTER(sim);
    NEED(sim, out, "scim_sim_frames: out is NULL");
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "build the simulation first");
    scim_os_frames f;
    scim_os_frames_get(sim->os, &f);
    *out = (scim_frame_counts){f.total, f.free, f.data, f.page_tables, f.pasid_table, f.deferred, f.transit,
                               f.reserved};
    return 0;
}

int scim_sim_check_traces(scim_sim *sim)
{
    uint64_t last_ns;
    return scim_sim_trace_clock(sim, &last_ns);
}

int scim_sim_trace_clock(scim_sim *sim, uint64_t *last_ns)
{
    ENTER(sim);
    NEED(sim, last_ns, "scim_sim_trace_clock: last_ns is NULL");
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "build the simulation before checking its traces");
    *last_ns = 0;
    for (size_t i = 0; i < sim->n_comps; i++) {
        const scim_component *c = &sim->comps[i];
        const char *path = NULL;
        if (!strcmp(c->kind->section, "devices"))
            path = ((const scim_device_params *)c->params)->source == SCIM_SOURCE_TRACE
                       ? ((const scim_device_params *)c->params)->trace
                       : NULL;
        else if (!strcmp(c->kind->section, "cpus"))
            path = ((const scim_cpu_params *)c->params)->trace;
        if (!path)
            continue;
        scim_trace_reader *r = scim_trace_open(path, &sim->err);
        if (!r)
            return sim->err.code;
        scim_trace_rec rec;
        int rc;
        uint64_t t = 0;
        while ((rc = scim_trace_next(r, &rec, &sim->err)) == 1)
            t = scim_trace_clock_after(t, &rec);
        scim_trace_close(r);
        if (rc < 0)
            return rc;
        if (t > *last_ns)
            *last_ns = t;
    }
    return 0;
}

void scim_sim_set_progress(scim_sim *sim, scim_progress_fn fn, void *ctx)
{
    if (!sim)
        return;
    sim->progress = fn;
    sim->progress_ctx = ctx;
    if (sim->built)
        scim_sim_arm_poll(sim);
}

scim_time_t scim_sim_now(const scim_sim *sim) { return sim && sim->k ? scim_kernel_now(sim->k) : 0; }

int scim_sim_finish(scim_sim *sim)
{
    ENTER(sim);
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "build the simulation before finishing it");
    if (sim->finished)
        return 0;
    sim->finished = true;
    sim->ran = true;
    /* a host that drove time itself may leave events for later times:
     * that is where it stopped, not a deadlock */
    return scim_sim_finish_run(sim, 0, true);
}

int scim_sim_run(scim_sim *sim)
{
    ENTER(sim);
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "build the simulation before running it");
    if (sim->finished)
        return scim_sim_fail(sim, SCIM_ESTATE, "the simulation is finished (scim_sim_finish)");
    sim->ran = true;
    int rc;
    if (sim->top.max_time) {
        rc = scim_kernel_run_until(sim->k, sim->top.max_time, &sim->err);
        return scim_sim_finish_run(sim, rc, true);
    }
    /* the fast path needs the whole run from its start, so that a
     * conflict can redo it (core/fast.h) */
    bool fast = sim->top.fast_path && !sim->no_fast && !sim->host_devs && scim_kernel_events_executed(sim->k) == 0;
    scim_kernel_set_fast(sim->k, fast);
    /* a window (sample.c) stays one only if it runs without it */
    sim->fast_use = fast ? SCIM_FAST_PATH_ON
                         : sim->fast_use == SCIM_FAST_PATH_WINDOW ? SCIM_FAST_PATH_WINDOW : SCIM_FAST_PATH_OFF;
    rc = scim_kernel_run(sim->k, &sim->err);
    if (fast && scim_kernel_fast_conflicted(sim->k)) {
        /* the kernel's message says what was met; the redo starts from nothing */
        char *conflict = NULL;
        static const char prefix[] = "fast path: ", at[] = "at 18446744073709551615 ps: ";
        const char *what = sim->err.msg;
        if (strncmp(what, prefix, sizeof prefix - 1) == 0)
            what += sizeof prefix - 1;
        size_t len = strcspn(what, "("); /* without "(the run is redone ...)" */
        while (len && what[len - 1] == ' ')
            len--;
        size_t cap = sizeof at + len;
        if ((conflict = malloc(cap)))
            snprintf(conflict, cap, "at %llu ps: %.*s", (unsigned long long)scim_kernel_now(sim->k), (int)len, what);
        scim_progress_fn progress = sim->progress;
        void *progress_ctx = sim->progress_ctx;
        teardown(sim);
        scim_cfg *cfg = sim->cfg;
        char *dir = sim->config_dir;
        /* no warm points again (no host called, no fork): a window's
         * configuration already says where its warm-up ended (sample.c) */
        free(sim->warm_points);
        memset(sim, 0, sizeof *sim);
        sim->cfg = cfg;
        sim->config_dir = dir;
        sim->progress = progress;
        sim->progress_ctx = progress_ctx;
        sim->no_fast = true;
        sim->fast_use = SCIM_FAST_PATH_REDONE;
        sim->fast_conflict = conflict;
        if ((rc = scim_sim_build(sim)))
            return rc;
        sim->ran = true;
        rc = scim_kernel_run(sim->k, &sim->err);
    }
    return scim_sim_finish_run(sim, rc, false);
}

scim_fast_path_use scim_sim_fast_path(const scim_sim *sim) { return sim ? sim->fast_use : SCIM_FAST_PATH_OFF; }
const char *scim_sim_fast_path_conflict(const scim_sim *sim) { return sim ? sim->fast_conflict : NULL; }

int scim_sim_run_until(scim_sim *sim, scim_time_t t)
{
    ENTER(sim);
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "build the simulation before running it");
    if (sim->finished)
        return scim_sim_fail(sim, SCIM_ESTATE, "the simulation is finished (scim_sim_finish)");
    sim->ran = true;
    int rc = scim_kernel_run_until(sim->k, t, &sim->err);
    return scim_sim_finish_run(sim, rc, true);
}

int scim_sim_write_stats(scim_sim *sim, const char *dir)
{
    ENTER(sim);
    NEED(sim, dir, "scim_sim_write_stats: dir is NULL");
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "nothing to write: the simulation was not built");
    /* a hosted run (a SystemC platform's sc_start) may never have passed
     * through run(): the statistics say where time is now */
    scim_sim_sync_counters(sim);
    return scim_stats_write_dir(sim->stats, dir, &sim->err);
}

/* The run loop: run, run_until, and what ends a run that cannot finish.
 *
 *   - Deadlock: no event is left but some component has unfinished work;
 *     the report has every such component's describe().
 *   - Watchdog (sim.watchdog): a host-side check between events (the
 *     kernel's poll hook, every 2^WATCHDOG_EVERY_LOG2 events, so it is not
 *     an event and cannot change a statistic) finds the oldest unfinished
 *     request of every component: an agent's oldest DMA or access (which
 *     catches a livelock where every message is answered but the access
 *     never completes) and every port's oldest unanswered request. One
 *     older than sim.watchdog stops the run with SCIM_EDEADLOCK, naming
 *     the component, the request and its state.
 *   - Progress: the same hook calls the host's progress function; the
 *     host decides how often to redraw (in host time).
 */
#include <stdio.h>
#include <string.h>

#include "core/fast.h"
#include "sim/sim_internal.h"

#define WATCHDOG_EVERY_LOG2 14
#define REPORT_LEN 4096

/* The oldest unfinished thing of component c: its own (an agent's
 * request) or its port's. */
static bool oldest_of(const scim_sim *sim, const scim_component *c, scim_time_t *since, char *what, size_t len)
{
    bool found = c->kind->oldest && c->kind->oldest(c->self, since, what, len);
    const scim_port *p = c->kind->port ? c->kind->port(c->self) : NULL;
    scim_msg_type type;
    scim_node_id dst;
    scim_time_t t;
    if (p && scim_port_oldest(p, &type, &dst, &t) && (!found || t < *since)) {
        *since = t;
        snprintf(what, len, "its %s to %s, not answered", scim_msg_type_name(type),
                 scim_fabric_node_name(sim->fab, dst));
        found = true;
    }
    return found;
}

int scim_sim_trace_position(const scim_sim *sim, uint64_t *done, uint64_t *total)
{
    uint64_t d = 0, t = 0;
    if (!sim)
        return SCIM_EINVAL;
    for (size_t i = 0; i < sim->n_comps; i++) {
        const scim_component *c = &sim->comps[i];
        uint64_t cd = 0, ct = 0;
        if (c->kind->position)
            c->kind->position(c->self, &cd, &ct);
        d += cd;
        t += ct;
    }
    if (done)
        *done = d;
    if (total)
        *total = t;
    return 0;
}

static void poll(void *ctx, scim_kernel *k)
{
    scim_sim *sim = ctx;
    scim_time_t now = scim_kernel_now(k);
    if (sim->progress) {
        uint64_t done, total;
        scim_sim_trace_position(sim, &done, &total);
        sim->progress(sim->progress_ctx, now, total ? (double)done / (double)total : -1.0);
    }
    if (!sim->top.watchdog || now < sim->top.watchdog || sim->watchdog_fired)
        return;
    for (size_t i = 0; i < sim->n_comps; i++) {
        const scim_component *c = &sim->comps[i];
        scim_time_t since = 0;
        char what[512];
        if (!oldest_of(sim, c, &since, what, sizeof what) || now - since <= sim->top.watchdog)
            continue;
        char age[32], limit[32], state[1024] = "", os_state[512] = "";
        scim_fmt_time((double)(now - since), age, sizeof age);
        scim_fmt_time((double)sim->top.watchdog, limit, sizeof limit);
        if (c->kind->describe)
            c->kind->describe(c->self, state, sizeof state);
        if (sim->os)
            scim_os_describe(sim->os, os_state, sizeof os_state);
        sim->watchdog_fired = true;
        scim_kernel_fail(k, SCIM_EDEADLOCK,
                         "watchdog at t=%llu ps: %s's oldest request, %s, has waited %s (sim.watchdog is %s): "
                         "no progress (a livelock or a deadlock). State: %s%s%s. Fix the model or the "
                         "configuration that keeps it from completing, or raise sim.watchdog if such waits are "
                         "expected",
                         (unsigned long long)now, c->name, what, age, limit, state, *os_state ? "; " : "",
                         os_state);
        return;
    }
}

/* The kernel's work check: timers (timeouts) fire only while a trace agent
 * has work left or the IOMMU waits for a device's invalidation completion;
 * otherwise the run ends at its last real event. */
static bool work_left(void *ctx)
{
    scim_sim *sim = ctx;
    if (sim->io && scim_iommu_dev_invs_outstanding(sim->io))
        return true;
    for (size_t i = 0; i < sim->n_comps; i++) {
        const scim_component *c = &sim->comps[i];
        if (c->kind->finished && !c->kind->finished(c->self))
            return true;
    }
    return false;
}

void scim_sim_arm_poll(scim_sim *sim)
{
    scim_kernel_set_work_check(sim->k, work_left, sim);
    bool need = sim->progress || sim->top.watchdog;
    scim_kernel_set_poll(sim->k, need ? poll : NULL, sim, WATCHDOG_EVERY_LOG2);
}

static void append(char *report, const char *line)
{
    strncat(report, "\n  ", REPORT_LEN - strlen(report) - 1);
    strncat(report, line, REPORT_LEN - strlen(report) - 1);
}

void scim_sim_sync_counters(scim_sim *sim)
{
    sim->counters.time_ps = scim_kernel_now(sim->k);
    scim_os_sync_stats(sim->os);
    sim->counters.events = scim_kernel_events_logical(sim->k);
}

int scim_sim_finish_run(scim_sim *sim, int rc, bool bounded)
{
    scim_sim_sync_counters(sim);
    /* A lost write first, whatever else stopped the run: memory read back
     * as zero where a table entry was written can stall a walk until the
     * watchdog calls it a deadlock, and the host's memory is the cause. */
    if (scim_physmem_write_lost(sim->pm))
        return scim_sim_fail(sim, SCIM_ENOMEM, "out of host memory: a write to simulated memory was lost, so "
                                               "this run's results are not valid");
    if (rc)
        return rc;
    if (bounded && scim_kernel_events_pending(sim->k) > 0)
        return 0;
    char report[REPORT_LEN] = "";
    bool stuck = false;
    for (size_t i = 0; i < sim->n_comps; i++) {
        const scim_component *c = &sim->comps[i];
        if (!c->kind->finished || c->kind->finished(c->self))
            continue;
        char line[1024] = "";
        c->kind->describe(c->self, line, sizeof line);
        append(report, line);
        stuck = true;
    }
    if (stuck && sim->os) {
        char line[512];
        scim_os_describe(sim->os, line, sizeof line);
        append(report, line);
    }
    if (stuck)
        return scim_sim_fail(sim, SCIM_EDEADLOCK, "deadlock at t=%llu ps: no event is left but work is unfinished:%s",
                             (unsigned long long)sim->counters.time_ps, report);
    return 0;
}

/* scimitar — a cycle-level, event-driven simulator of virtual memory for I/O
 * devices. This is the top-level API: build a simulation from a YAML
 * configuration, run it, and read its statistics.
 *
 *     scim_sim *sim = scim_sim_create();
 *     if (scim_sim_load_file(sim, "configs/default.yaml") ||
 *         scim_sim_set(sim, "devices.nic0.iotlb.entries=128") ||
 *         scim_sim_build(sim) || scim_sim_run(sim) ||
 *         scim_sim_write_stats(sim, "out/run1"))
 *         fprintf(stderr, "%s\n", scim_sim_errmsg(sim));
 *     scim_sim_destroy(sim);
 *
 * Every function returns 0 on success or a negative SCIM_E* code, with a
 * message (file:line:col where there is one) in scim_sim_errmsg(). The
 * library never exits and never prints. A SystemC platform creates and
 * builds the simulation during elaboration with kernel.backend: systemc and
 * may then drive time with its own sc_start(); other hosts call
 * scim_sim_run() / scim_sim_run_until().
 */
#ifndef SCIMITAR_SCIMITAR_H
#define SCIMITAR_SCIMITAR_H

#include <stdbool.h>
#include <stdio.h>

#include "scimitar/common.h"
#include "scimitar/config.h"
#include "scimitar/kernel.h"
#include "scimitar/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_sim scim_sim;

scim_sim *scim_sim_create(void);
void scim_sim_destroy(scim_sim *sim); /* NULL is harmless */

/* Configuration: load a file (or text), then apply overrides. Relative
 * trace paths are resolved against the configuration file's directory. */
int scim_sim_load_file(scim_sim *sim, const char *path);
int scim_sim_load_string(scim_sim *sim, const char *yaml, const char *name);
int scim_sim_set(scim_sim *sim, const char *assignment); /* "key.path=value" */
const scim_cfg *scim_sim_config(const scim_sim *sim);

/* Validate the configuration and create every component. Nothing runs. */
int scim_sim_build(scim_sim *sim);
/* `scimitar check`: build, then read every trace to its end to validate it. */
int scim_sim_check_traces(scim_sim *sim);

/* Run to completion (every agent's trace replayed and drained), to
 * sim.max_time, or to a failure. A run that stops with work still pending
 * and no event left is a deadlock: SCIM_EDEADLOCK with each agent's state. */
int scim_sim_run(scim_sim *sim);
int scim_sim_run_until(scim_sim *sim, scim_time_t t);

scim_kernel *scim_sim_kernel(scim_sim *sim);
/* What the OS's page table maps pasid:va to right now: 1 and *pa, or 0. */
int scim_sim_resolve(scim_sim *sim, uint32_t pasid, uint64_t va, uint64_t *pa);
/* Frame accounting of the simulated OS (4 KiB frames); the identity
 * total == free + data + page_tables + pasid_table + deferred + transit +
 * reserved always holds. */
typedef struct scim_frame_counts {
    uint64_t total, free, data, page_tables, pasid_table, deferred, transit, reserved;
} scim_frame_counts;
int scim_sim_frames(scim_sim *sim, scim_frame_counts *out);
scim_stats *scim_sim_stats(scim_sim *sim);
int scim_sim_write_stats(scim_sim *sim, const char *dir);
/* A short human summary of the run. */
void scim_sim_summary(scim_sim *sim, FILE *out);
const char *scim_sim_errmsg(const scim_sim *sim);

/* Progress callback for long runs: called about every `every_ps` of
 * simulated time with the current time and the fraction of the traces
 * consumed (0..1, -1 if unknown). */
typedef void (*scim_progress_fn)(void *ctx, scim_time_t now, double fraction);
void scim_sim_set_progress(scim_sim *sim, scim_progress_fn fn, void *ctx, scim_time_t every_ps);

/* Documentation generated from the declaration tables (docs/config.md and
 * docs/stats.md are checked against these in the test suite). */
int scim_doc_config(FILE *out);
int scim_doc_stats(FILE *out);

#ifdef __cplusplus
}
#endif
#endif

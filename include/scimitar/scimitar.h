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

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scimitar/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the shared library exports: the functions of the public headers
 * and nothing else (the library is built with -fvisibility=hidden). */
#if defined(__GNUC__)
#define SCIM_API __attribute__((visibility("default")))
#else
#define SCIM_API
#endif


/** Run-time version, to compare with SCIM_VERSION_NUMBER at compile time. */
SCIM_API int scim_version_number(void);
SCIM_API const char *scim_version_string(void);

/** Simulated time in picoseconds. 2^64 ps is about 213 days. */
typedef uint64_t scim_time_t;
#define SCIM_TIME_MAX UINT64_MAX
#define SCIM_PS(x) ((scim_time_t)(x))
#define SCIM_NS(x) ((scim_time_t)(x) * 1000u)
#define SCIM_US(x) ((scim_time_t)(x) * 1000000u)
#define SCIM_MS(x) ((scim_time_t)(x) * 1000000000u)

/** Error codes. 0 is success; errors are negative. */
enum scim_status {
    SCIM_OK = 0,
    SCIM_ENOMEM = -1,     /* host allocation failed */
    SCIM_EIO = -2,        /* host file I/O failed */
    SCIM_EPARSE = -3,     /* malformed input (YAML, trace) */
    SCIM_ECONFIG = -4,    /* well-formed but invalid configuration */
    SCIM_ERANGE = -5,     /* value out of range */
    SCIM_ESTATE = -6,     /* call not valid in the current state */
    SCIM_EINVARIANT = -7, /* the safety checker found a violation */
    SCIM_ESYSTEMC = -8,   /* the SystemC kernel reported an error */
    SCIM_EDEADLOCK = -9,  /* watchdog: no progress */
    SCIM_ENOENT = -10,    /* no such thing (file, key, mapping) */
    SCIM_EEXIST = -11,    /* already exists (mapping, name) */
    SCIM_EINVAL = -12     /* invalid argument */
};

/** Short name of a status code ("SCIM_ECONFIG"). */
SCIM_API const char *scim_status_name(int status);

/** Error report: the first error wins, later ones are ignored until reset. */
typedef struct scim_err {
    int code;        /* 0 while no error has been recorded */
    char msg[1024];  /* "file:line:col: what; expected ...; fix: ..." */
} scim_err;

/** Clear an error report. */
SCIM_API void scim_err_clear(scim_err *err);

typedef struct scim_cfg scim_cfg;       /* a loaded configuration (opaque) */
typedef struct scim_kernel scim_kernel; /* the event kernel (scimitar/kernel.h) */
typedef struct scim_stats scim_stats;   /* a run's statistics (opaque) */

typedef struct scim_sim scim_sim;

SCIM_API scim_sim *scim_sim_create(void);
SCIM_API void scim_sim_destroy(scim_sim *sim); /* NULL is harmless */

/* Configuration: load a file (or text), then apply overrides. Relative
 * trace paths are resolved against the configuration file's directory. */
SCIM_API int scim_sim_load_file(scim_sim *sim, const char *path);
SCIM_API int scim_sim_load_string(scim_sim *sim, const char *yaml, const char *name);
SCIM_API int scim_sim_set(scim_sim *sim, const char *assignment); /* "key.path=value" */
SCIM_API const scim_cfg *scim_sim_config(const scim_sim *sim);

/* Validate the configuration and create every component. Nothing runs. */
SCIM_API int scim_sim_build(scim_sim *sim);
/* `scimitar check`: build, then read every trace to its end to validate it. */
SCIM_API int scim_sim_check_traces(scim_sim *sim);
/* The same check; *last_ns gets the trace clock's span: the latest issue
 * time of any trace's last record on its own clock (the time it would be
 * issued if its agent never waited: an absolute time, never before the
 * record before it, or that record's time plus a gap), which sim.until
 * and sim.warmup_until measure and a sample of windows covers. */
SCIM_API int scim_sim_trace_clock(scim_sim *sim, uint64_t *last_ns);

/* Run to completion (every agent's trace replayed and drained), to
 * sim.max_time, or to a failure. A run that stops with work still pending
 * and no event left is a deadlock: SCIM_EDEADLOCK with each agent's state. */
SCIM_API int scim_sim_run(scim_sim *sim);
/* Run every event up to t and stop there; it may be called again and
 * again (a host stepping the model, scimitar/host.h). A deadlock is
 * reported only when no event is left. With kernel.backend: systemc the
 * kernel stays registered with SystemC in between, so a platform's own
 * sc_start() keeps advancing it. */
SCIM_API int scim_sim_run_until(scim_sim *sim, scim_time_t t);
/* End a run that was driven from outside: by a SystemC platform's own
 * sc_start(), or by a series of run_until. It records sim.time_ps and
 * sim.events, reports a deadlock (SCIM_EDEADLOCK) if no event is left but
 * work is unfinished, and refuses later runs and submissions. Events
 * still queued for later times are where the host stopped, not an
 * error. */
SCIM_API int scim_sim_finish(scim_sim *sim);
/* Simulated time now (ps); 0 before build. */
SCIM_API scim_time_t scim_sim_now(const scim_sim *sim);

SCIM_API scim_kernel *scim_sim_kernel(scim_sim *sim);
/* How the run used the fast path (sim.fast_path: a lone device's IOTLB
 * hits booked without their per-hop events; the statistics are the same
 * either way, the host time is not). */
typedef enum scim_fast_path_use {
    SCIM_FAST_PATH_OFF,    /* not allowed: sim.fast_path off, a host-driven device, a run driven by
                            * run_until/finish, or not run yet */
    SCIM_FAST_PATH_ON,     /* allowed for the whole run (devices that qualify used it) */
    SCIM_FAST_PATH_REDONE, /* it met an order it cannot reproduce, and the run was redone from its
                            * configuration without it: the host time of two runs, warm-up included */
    SCIM_FAST_PATH_WINDOW  /* a window of one warm-up (scim_sim_set_warm_points): run without it, as a
                            * redo would warm the window up again */
} scim_fast_path_use;
SCIM_API scim_fast_path_use scim_sim_fast_path(const scim_sim *sim);
/* After SCIM_FAST_PATH_REDONE: what the fast path met and when ("at N ps:
 * ..."); NULL otherwise. Valid until the simulation is destroyed. */
SCIM_API const char *scim_sim_fast_path_conflict(const scim_sim *sim);
/* What the OS's page table maps pasid:va to right now: 1 and *pa, or 0. */
SCIM_API int scim_sim_resolve(scim_sim *sim, uint32_t pasid, uint64_t va, uint64_t *pa);
/* Frame accounting of the simulated OS (4 KiB frames); the identity
 * total == free + data + page_tables + pasid_table + deferred + transit +
 * reserved always holds. */
typedef struct scim_frame_counts {
    uint64_t total, free, data, page_tables, pasid_table, deferred, transit, reserved;
} scim_frame_counts;
SCIM_API int scim_sim_frames(scim_sim *sim, scim_frame_counts *out);
SCIM_API scim_stats *scim_sim_stats(scim_sim *sim);
SCIM_API int scim_sim_write_stats(scim_sim *sim, const char *dir);
/* The configuration as run, as YAML at `path`: the loaded document with
 * every override, every key with its value (defaults filled in, a fault
 * profile's included) and trace paths absolute. Loading it builds the
 * same model: same statistics. */
SCIM_API int scim_sim_write_config(scim_sim *sim, const char *path);
SCIM_API int scim_sim_dump_config(scim_sim *sim, FILE *out);
/* The run's seed (the `seed` key); 0 before build. */
SCIM_API uint64_t scim_sim_seed(const scim_sim *sim);
/* A short human summary of the run. */
SCIM_API void scim_sim_summary(scim_sim *sim, FILE *out);
SCIM_API const char *scim_sim_errmsg(const scim_sim *sim);

/* Progress of long runs: fn is called between events (every 16,384
 * events, never as an event, so progress display cannot change a
 * statistic) with the simulated time and the fraction of the traces
 * consumed (0..1: the bytes of every agent's trace file read, of their
 * sizes, compressed bytes for a gzip trace; -1 if no agent reads a
 * file). The host decides how often to redraw. */
typedef void (*scim_progress_fn)(void *ctx, scim_time_t now, double fraction);
SCIM_API void scim_sim_set_progress(scim_sim *sim, scim_progress_fn fn, void *ctx);
/* The trace position behind that fraction: bytes of the trace files read
 * so far and their total size, summed over the agents (0 of 0 before
 * build or when no agent reads a file). 0, or SCIM_EINVAL for NULL sim. */
SCIM_API int scim_sim_trace_position(const scim_sim *sim, uint64_t *done, uint64_t *total);

/* Sampled simulation in one functional pass (scimitar sample; the gem5
 * m5.fork() idea): points of a functional warm-up by time
 * (sim.warmup_until). When the warm-up reaches at[i] (every record issued
 * before it has run functionally, none after), fn is called with the warm
 * state exactly as a run with sim.warmup_until: at[i] would have it at its
 * end. fn returns 0: the warm-up goes on to the next point; or
 * SCIM_WARM_POINT_DETAIL: it ends here, and the detailed run starts at
 * at[i] (sim.warmup_until becomes at[i]) and ends at *until on the traces'
 * clock (sim.until; fn may set it, 0 keeps the configured one): the run is
 * then the one `--set sim.warmup_until=at[i] --set sim.until=*until` gives,
 * statistic for statistic. So a host forks (scim_sim_fork) at each point
 * and the child returns SCIM_WARM_POINT_DETAIL: one warm-up, K windows.
 * Before build; points ascending, each at most sim.warmup_until (the build
 * refuses others); at is copied. A negative return fails the build. */
#define SCIM_WARM_POINT_DETAIL 1
typedef int (*scim_warm_point_fn)(void *ctx, scim_sim *sim, size_t index, scim_time_t at, scim_time_t *until);
SCIM_API int scim_sim_set_warm_points(scim_sim *sim, const scim_time_t *at, size_t n, scim_warm_point_fn fn,
                                      void *ctx);
/* fork(2) the process with its simulation, so that parent and child go on
 * on their own: the parent's trace readers take file positions of their
 * own (the child keeps the descriptors it inherited), stdio is flushed
 * first. Returns what fork returns: the child's pid in the parent, 0 in
 * the child; -1 on failure (scim_sim_errmsg says why). POSIX hosts. */
SCIM_API long scim_sim_fork(scim_sim *sim);

/* Statistics of a run. The flat view: every counter is one row; every
 * histogram expands to <name>.count, .mean, .min, .p50, .p90, .p99, .max.
 * Rows sorted by name; docs/stats.md lists them. */
SCIM_API size_t scim_stats_flat_count(const scim_stats *stats);
/* Returns 0 and fills name/value for row i. `unit` and `desc` may be NULL. */
SCIM_API int scim_stats_flat_get(const scim_stats *stats, size_t i, const char **name,
                        double *value, const char **unit, const char **desc);
/* Value of one flat row by full name; SCIM_ENOENT if absent. */
SCIM_API int scim_stats_lookup(const scim_stats *stats, const char *name, double *value);
/* {"<name>": value, ...} sorted by name / "name,value,unit" rows. */
SCIM_API int scim_stats_write_json(const scim_stats *stats, FILE *out, scim_err *err);
SCIM_API int scim_stats_write_csv(const scim_stats *stats, FILE *out, scim_err *err);

#ifdef __cplusplus
}
#endif
#endif

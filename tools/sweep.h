/* `scimitar sweep` (sweep.c): the grid of a config's sweep: section
 * (sweep_spec.c), its points run as local processes with resume
 * (sweep_local.c) or by MPI ranks (sweep_mpi.c, built with MPI only), the
 * table of results (sweep_table.c) and its plot (sweep_plot.c). */
#ifndef SCIMITAR_TOOLS_SWEEP_H
#define SCIMITAR_TOOLS_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"

typedef struct scim_sweep_param {
    char *key;
    char **values;
    size_t n;
} scim_sweep_param;

typedef struct scim_sweep {
    const char *config;
    const char **sets;
    size_t n_sets;
    scim_sweep_param *params; /* the grid's dimensions, then the zip group's keys */
    size_t n_params, n_grid;  /* first n_grid are cartesian; the rest zip */
    size_t zip_len;
    size_t n_points;
    char *out;
    char *plot_metric, *plot_x, *plot_series;
    unsigned jobs;
    bool quiet;
} scim_sweep;

/* sweep_spec.c: the grid and its points */
int scim_sweep_parse(scim_sweep *sw, const scim_cfg *cfg, scim_err *err);
void scim_sweep_free(scim_sweep *sw); /* what scim_sweep_parse and the command allocated */
const char *scim_sweep_point_value(const scim_sweep *sw, size_t point, size_t which);
void scim_sweep_point_dir(const scim_sweep *sw, size_t i, char *buf, size_t len);
int scim_sweep_point_hash(const scim_sweep *sw, size_t i, uint64_t *h, scim_err *err);
void scim_sweep_describe_point(const scim_sweep *sw, size_t i, char *buf, size_t len); /* for messages */

/* sweep_local.c: running points as processes; resume */
bool scim_sweep_point_done(const scim_sweep *sw, size_t i, uint64_t h);
int scim_sweep_mark_done(const scim_sweep *sw, size_t i, uint64_t h);
double scim_sweep_host_seconds(void);
void scim_sweep_show_progress(const scim_sweep *sw, size_t done, size_t total, size_t failed, double t0);
/* Returns how many of todo[0..n_todo) failed. SIGINT and SIGTERM are
 * forwarded to the running points, which are waited for; then it returns
 * with scim_sweep_interrupted() true. */
size_t scim_sweep_run_local(const scim_sweep *sw, const size_t *todo, const uint64_t *hashes, size_t n_todo);
bool scim_sweep_interrupted(void);
/* Die of the signal that interrupted the sweep (exit status 128+N). */
void scim_sweep_reraise(void);
/* Take DIR/sweep.lock (flock, held until exit); -1 with the message
 * printed if another sweep holds it. */
int scim_sweep_lock(const scim_sweep *sw);

#ifdef SCIM_HAVE_MPI
/* sweep_mpi.c */
void scim_sweep_mpi_start(int *rank, int *size);
void scim_sweep_mpi_share(int *rc, size_t *todo, size_t *n_todo, uint64_t *hashes, int rank);
size_t scim_sweep_run_mpi(const scim_sweep *sw, const size_t *todo, const uint64_t *hashes, size_t n_todo, int rank,
                          int size);
void scim_sweep_mpi_finish(int *rc);
#endif

/* sweep_table.c: a point's statistics, read back from its stats.csv */
typedef struct scim_sweep_point_stats {
    bool ok;
    size_t n;
    char **names, **values;
} scim_sweep_point_stats;

const char *scim_sweep_stat_lookup(const scim_sweep_point_stats *ps, const char *name); /* NULL if absent */
/* sweep.csv, sweep.json and (with a plot metric) plot.svg; *n_rows: points in the table. */
int scim_sweep_write_table(const scim_sweep *sw, size_t *n_rows);

/* The points as JSON on f: {"parameters": [...], "points": [{"point": i,
 * "params": {key: value}, "hash": "<point.txt's hash>"}]} (sweep.json's
 * shape, no statistics). SCIM_EIO if f fails, or a point's error. */
int scim_sweep_write_points(const scim_sweep *sw, FILE *f, scim_err *err);

/* sweep_plot.c */
int scim_sweep_write_plot(const scim_sweep *sw, const scim_sweep_point_stats *pts, const char *unit, const char *path);

#endif

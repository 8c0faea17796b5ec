/* `scimitar sweep` under mpirun (mpirun -np N scimitar sweep ...): rank r
 * runs every N-th point in-process and rank 0 gathers the results. Built
 * only when CMake finds MPI (SCIM_HAVE_MPI). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "sim/sim.h"
#include "sweep.h"

void scim_sweep_mpi_start(int *rank, int *size)
{
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
}

/* Rank 0 decides what runs: the ranks need not share a file system. */
void scim_sweep_mpi_share(int *rc, size_t *todo, size_t *n_todo, uint64_t *hashes, int rank)
{
    uint64_t n = *n_todo;
    MPI_Bcast(rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    *n_todo = (size_t)n;
    uint64_t *t = calloc(*n_todo + 1, sizeof *t);
    for (size_t k = 0; rank == 0 && k < *n_todo; k++)
        t[k] = todo[k];
    MPI_Bcast(t, (int)*n_todo, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    MPI_Bcast(hashes, (int)*n_todo, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    for (size_t k = 0; k < *n_todo; k++)
        todo[k] = (size_t)t[k];
    free(t);
}

/* Every rank leaves with rank 0's status. */
void scim_sweep_mpi_finish(int *rc)
{
    MPI_Bcast(rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
}

/* In-process (MPI ranks): the same steps as `scimitar run`. */
static int run_inproc(const scim_sweep *sw, size_t i, char **json, char **csv, char **cfg, char *msg, size_t msg_len)
{
    scim_sim *sim = scim_sim_create();
    int rc = !sim || scim_sim_load_file(sim, sw->config);
    for (size_t k = 0; !rc && k < sw->n_sets; k++)
        rc = scim_sim_set(sim, sw->sets[k]);
    for (size_t k = 0; !rc && k < sw->n_params; k++) {
        char a[1024];
        snprintf(a, sizeof a, "%s=%s", sw->params[k].key, scim_sweep_point_value(sw, i, k));
        rc = scim_sim_set(sim, a);
    }
    if (!rc)
        rc = scim_sim_build(sim);
    if (!rc)
        rc = scim_sim_run(sim);
    size_t jl = 0, cl = 0, gl = 0;
    FILE *jf = NULL, *cf = NULL, *gf = NULL;
    if (!rc) {
        scim_err e = {0};
        jf = open_memstream(json, &jl);
        cf = open_memstream(csv, &cl);
        gf = open_memstream(cfg, &gl);
        if (!jf || !cf || !gf || scim_stats_write_json(scim_sim_stats(sim), jf, &e) ||
            scim_stats_write_csv(scim_sim_stats(sim), cf, &e) || scim_sim_dump_config(sim, gf))
            rc = 1;
    }
    if (jf)
        fclose(jf);
    if (cf)
        fclose(cf);
    if (gf)
        fclose(gf);
    if (rc)
        snprintf(msg, msg_len, "%s", sim ? scim_sim_errmsg(sim) : "out of memory");
    scim_sim_destroy(sim);
    return rc;
}

static int store_point(const scim_sweep *sw, size_t i, uint64_t h, const char *json, const char *csv, const char *cfg)
{
    char dir[1024], path[1100];
    scim_sweep_point_dir(sw, i, dir, sizeof dir);
    if (cli_mkdir_p(dir) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/stats.json", dir);
    if (cli_write_atomic(path, json))
        return -1;
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    if (cli_write_atomic(path, csv))
        return -1;
    snprintf(path, sizeof path, "%s/config.yaml", dir); /* the point's configuration as run */
    if (cli_write_atomic(path, cfg))
        return -1;
    return scim_sweep_mark_done(sw, i, h);
}

/* Rank r runs todo[k] for k % size == r; the other ranks send rank 0 each
 * point's status and statistics once they are done. */
size_t scim_sweep_run_mpi(const scim_sweep *sw, const size_t *todo, const uint64_t *hashes, size_t n_todo, int rank,
                          int size)
{
    size_t failed = 0;
    double t0 = scim_sweep_host_seconds();
    typedef struct result {
        uint64_t k;
        int32_t rc;
        char *json, *csv, *cfg;
        char msg[512];
    } result;
    result *mine = calloc(n_todo / (size_t)size + 1, sizeof *mine);
    size_t n_mine = 0;
    for (size_t k = (size_t)rank; k < n_todo; k += (size_t)size) {
        result *r = &mine[n_mine++];
        r->k = k;
        r->rc = run_inproc(sw, todo[k], &r->json, &r->csv, &r->cfg, r->msg, sizeof r->msg);
    }
    if (rank != 0) {
        uint64_t n = n_mine;
        MPI_Send(&n, 1, MPI_UINT64_T, 0, 1, MPI_COMM_WORLD);
        for (size_t j = 0; j < n_mine; j++) {
            result *r = &mine[j];
            uint64_t hdr[5] = {r->k, (uint64_t)(int64_t)r->rc, r->json ? strlen(r->json) + 1 : 0,
                               r->csv ? strlen(r->csv) + 1 : 0, r->cfg ? strlen(r->cfg) + 1 : 0};
            MPI_Send(hdr, 5, MPI_UINT64_T, 0, 2, MPI_COMM_WORLD);
            MPI_Send(r->msg, sizeof r->msg, MPI_CHAR, 0, 3, MPI_COMM_WORLD);
            if (hdr[2])
                MPI_Send(r->json, (int)hdr[2], MPI_CHAR, 0, 4, MPI_COMM_WORLD);
            if (hdr[3])
                MPI_Send(r->csv, (int)hdr[3], MPI_CHAR, 0, 5, MPI_COMM_WORLD);
            if (hdr[4])
                MPI_Send(r->cfg, (int)hdr[4], MPI_CHAR, 0, 6, MPI_COMM_WORLD);
            free(r->json);
            free(r->csv);
            free(r->cfg);
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
                uint64_t hdr[5];
                MPI_Recv(hdr, 5, MPI_UINT64_T, src, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
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
                if (hdr[4]) {
                    rr.cfg = malloc(hdr[4]);
                    MPI_Recv(rr.cfg, (int)hdr[4], MPI_CHAR, src, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                }
            }
            size_t i = todo[r->k];
            if (r->rc || !r->json || !r->csv || !r->cfg ||
                store_point(sw, i, hashes[r->k], r->json, r->csv, r->cfg) != 0) {
                char d[512];
                scim_sweep_describe_point(sw, i, d, sizeof d);
                fprintf(stderr, "scimitar sweep: %s failed on rank %d: %s\n", d, src,
                        r->rc ? r->msg : "cannot write its statistics");
                failed++;
            }
            free(r->json);
            free(r->csv);
            free(r->cfg);
            scim_sweep_show_progress(sw, ++done, n_todo, failed, t0);
        }
    }
    free(mine);
    return failed;
}

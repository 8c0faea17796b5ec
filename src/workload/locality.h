/* Locality of a device's I/O (`scimitar trace locality`, docs/locality.md):
 * how many pages the I/O operations touch, whether the CPU touched them
 * before, how soon pages come back, and the miss ratio of an LRU IOTLB of
 * every size.
 *
 * Feed events in the order they happened: CPU data accesses
 * (scim_loc_cpu) and I/O operations (scim_loc_io), then scim_loc_finish.
 * Definitions (4 KiB pages):
 *   io_ops          operations fed
 *   io_pages        pages of each operation, each counted once per
 *                   operation (the device's page stream, in order)
 *   distinct_pages  distinct pages of the page stream
 *   present         fraction of io_pages touched by a CPU data access (any
 *                   scim_loc_cpu call) before the operation
 *   recent_W        fraction of io_pages whose last CPU data access was at
 *                   most W accesses before the operation: the access just
 *                   before the operation is 1 access before it
 *   seen            fraction of io_pages touched before by the CPU or by an
 *                   earlier operation (a page that cannot fault again if
 *                   nothing was unmapped)
 *   seq runs        maximal runs of operations each of which starts on the
 *                   last page of the one before or on the page after it
 *   reuse distance  of a page-stream entry: the number of distinct pages
 *                   between it and the previous entry of the same page
 *                   (none: a cold entry); LRU stack distance
 *   LRU misses(C)   misses of a fully associative LRU cache of C pages on
 *                   the page stream = cold + entries with distance >= C, for
 *                   every C at once (Mattson et al. 1970, with a Fenwick
 *                   tree over positions: O(n log n))
 *   ways curves     misses of a set-associative LRU cache of W ways and
 *                   S = 1, 2, 4, ... sets (page p in set p mod S, as
 *                   mmu/tlb.h places it), one pass per W, every S at once,
 *                   up to the first S x W >= 2 x distinct_pages
 */
#ifndef SCIMITAR_LOCALITY_H
#define SCIMITAR_LOCALITY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/common.h"
#include "workload/import.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCIM_LOC_MAX_WINDOWS 8
#define SCIM_LOC_MAX_WAYS 8
#define SCIM_LOC_REUSE_BINS 66 /* distance 0, then [2^(k-1), 2^k) for k = 1..64, then cold */

typedef struct scim_loc_params {
    uint64_t windows[SCIM_LOC_MAX_WINDOWS]; /* W of recent_W, each >= 1 */
    size_t n_windows;
    uint64_t ways[SCIM_LOC_MAX_WAYS];       /* set-associative curves, each >= 1 */
    size_t n_ways;
} scim_loc_params;

/* windows 10^4, 10^5, 10^6; ways 4, 8, 16 */
void scim_loc_params_default(scim_loc_params *p);

/* One set-associative curve: misses[i] at sets[i] sets of `ways` ways. */
typedef struct scim_loc_curve {
    uint64_t ways;
    size_t n;
    uint64_t *sets, *misses;
} scim_loc_curve;

typedef struct scim_loc_result {
    bool have_cpu;                /* CPU accesses were part of the input */
    uint64_t cpu_accesses;        /* CPU data accesses fed */
    uint64_t io_ops, io_dev_writes, io_bytes;
    uint64_t io_pages, distinct_pages, max_pages_per_op;
    uint64_t seq_runs, longest_run;
    uint64_t present, seen;       /* counts of io_pages */
    size_t n_windows;
    uint64_t windows[SCIM_LOC_MAX_WINDOWS], recent[SCIM_LOC_MAX_WINDOWS];
    uint64_t reuse[SCIM_LOC_REUSE_BINS]; /* histogram; the last bin counts cold entries */
    uint64_t *stack_hist;         /* [d] entries with distance d, d < distinct_pages */
    size_t n_curves;
    scim_loc_curve curves[SCIM_LOC_MAX_WAYS];
} scim_loc_result;

typedef struct scim_loc scim_loc;

scim_loc *scim_loc_create(const scim_loc_params *p, scim_err *err);
void scim_loc_destroy(scim_loc *l);
/* A CPU data access of `size` bytes at addr (every page it covers). */
int scim_loc_cpu(scim_loc *l, uint64_t addr, uint64_t size, scim_err *err);
/* An I/O operation on [addr, addr + size); dev_writes: the device writes memory. */
int scim_loc_io(scim_loc *l, uint64_t addr, uint64_t size, bool dev_writes, scim_err *err);
/* Compute everything; out is freed with scim_loc_result_free. have_cpu
 * says whether a CPU side was given (presence is meaningless without). */
int scim_loc_finish(scim_loc *l, bool have_cpu, scim_loc_result *out, scim_err *err);
void scim_loc_result_free(scim_loc_result *r);

/* Misses of a fully associative LRU cache of `size` pages. */
uint64_t scim_loc_lru_misses(const scim_loc_result *r, uint64_t size);

/* Inputs. Device and CPU traces (any format; cpu may be NULL): every read
 * or write record of the device is an operation, of the CPU an access;
 * other records are skipped. The two are merged by the times each record
 * would be issued if its agent never waited (`@N`: max(N, previous);
 * `+N`: previous + N), a CPU record at the same time as an operation
 * counting as before it. */
int scim_loc_from_traces(const char *dev, const char *cpu, const scim_loc_params *p, scim_loc_result *out,
                         scim_err *err);
/* A log, through the importer's parser: the same events in the log's order. */
int scim_loc_from_log(scim_import_kind kind, const char *log, const scim_import_opts *o, const scim_loc_params *p,
                      scim_loc_result *out, scim_import_counts *counts, scim_err *err);

/* Outputs: key: value lines for people; JSON; CSV of the curves (curve,
 * ways, sets, pages, misses, miss_ratio: the fully associative one at every
 * size from 1 to distinct_pages). */
int scim_loc_print(const scim_loc_result *r, FILE *out);
int scim_loc_write_json(const scim_loc_result *r, FILE *out);
int scim_loc_write_csv(const scim_loc_result *r, FILE *out);

#ifdef __cplusplus
}
#endif
#endif

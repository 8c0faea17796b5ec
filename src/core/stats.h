/* scimitar statistics: counters and latency histograms, registered by name.
 *
 * Each component declares its statistics once, in a static table of
 * scim_stat_decl (name, kind, unit, description, offset into the component's
 * struct), in the manner of SST's SST_ELI_DOCUMENT_STATISTICS. The same table
 * registers the live values at build time and generates docs/stats.md, so the
 * reference cannot drift from the code.
 *
 * Output is flat dotted names in the gem5 tradition ("nic0.iotlb.misses"),
 * sorted by name, with no host-dependent content (no timestamps, no paths),
 * so the same simulation gives byte-identical files.
 */
#ifndef SCIMITAR_STATS_H
#define SCIMITAR_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "core/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_stats scim_stats;
typedef struct scim_hist scim_hist;

typedef enum scim_stat_kind {
    /* a uint64_t field of the component, read when stats are written */
    SCIM_STAT_COUNTER,
    /* a `scim_hist *` field of the component; the registry allocates the
     * histogram and stores the pointer into that field */
    SCIM_STAT_HIST,
    /* a uint64_t field the component keeps as part of its state (frames in
     * use, pinned frames): a counter whose value is what it is at the end
     * of the run, which scim_stats_reset leaves alone */
    SCIM_STAT_LEVEL
} scim_stat_kind;

typedef struct scim_stat_decl {
    const char *name;     /* relative name; full name is "<prefix>.<name>" */
    scim_stat_kind kind;
    const char *unit;     /* "count", "bytes", "ps", "entries", ... */
    const char *desc;     /* one sentence for docs/stats.md */
    size_t offset;        /* offsetof(component struct, field) */
} scim_stat_decl;


scim_stats *scim_stats_create(void);
void scim_stats_destroy(scim_stats *stats); /* NULL is harmless */

/* Register every entry of `decls` under `prefix` (e.g. "nic0.iotlb"), reading
 * from / filling into the struct at `base`. Duplicate full names are an
 * error. Names must match [a-z0-9_.]+ . */
int scim_stats_register(scim_stats *stats, const char *prefix,
                        const scim_stat_decl *decls, size_t n, void *base,
                        scim_err *err);

/* One-off registrations, for stats that are not in a component table. */
int scim_stats_add_counter(scim_stats *stats, const char *name, const char *unit,
                           const char *desc, const uint64_t *value, scim_err *err);
scim_hist *scim_stats_add_hist(scim_stats *stats, const char *name,
                               const char *unit, const char *desc, scim_err *err);

/* Histograms: log-linear buckets (HDR style) with a relative error below
 * 1/128 for percentiles; count, sum, min, max and mean are exact.
 * Values below 256 have a bucket each; a value v >= 256 with leading bit e
 * shares a bucket of width 2^(e-7) (its top 8 significant bits).
 * Recording into a NULL histogram does nothing (statistics disabled). */
static inline void scim_hist_record(scim_hist *h, uint64_t value);
uint64_t scim_hist_count(const scim_hist *h);
uint64_t scim_hist_min(const scim_hist *h);  /* 0 when empty */
uint64_t scim_hist_max(const scim_hist *h);  /* 0 when empty */
double scim_hist_mean(const scim_hist *h);   /* 0 when empty */
/* q in [0,100]; result clamped to [min,max]; 0 when empty.
 * Definition: q is rounded to 1e-6 and clamped to [0,100]; rank
 * r = ceil(q/100 * count), at least 1; the result is the lower bound of the
 * bucket holding the r-th smallest sample, raised to min if below it. So
 * with x the exact r-th smallest sample: result <= x, (x - result) / x <
 * 1/128, result == x when x < 256, and a one-sample histogram reports that
 * sample for every q. */
uint64_t scim_hist_percentile(const scim_hist *h, double q);

/* Zero every counter and histogram (end of warm-up, sim.warmup); levels
 * (SCIM_STAT_LEVEL) keep their values. Counters are zeroed through the
 * registered pointers, so a pointer given to scim_stats_add_counter must
 * point to writable memory. */
void scim_stats_reset(scim_stats *stats);

/* The flat view: every counter is one row; every histogram expands to
 * <name>.count, .mean, .min, .p50, .p90, .p99, .max. Rows sorted by name. */
size_t scim_stats_flat_count(const scim_stats *stats);
/* Returns 0 and fills name/value for row i (name valid until the next call
 * that changes the registry). Values are doubles; counters are exact below
 * 2^53. `unit` and `desc` may be NULL. */
int scim_stats_flat_get(const scim_stats *stats, size_t i, const char **name,
                        double *value, const char **unit, const char **desc);
/* Value of one flat row by full name; SCIM_ENOENT if absent. */
int scim_stats_lookup(const scim_stats *stats, const char *name, double *value);

/* {"<name>": value, ...} sorted by name; integers print without a fraction. */
int scim_stats_write_json(const scim_stats *stats, FILE *out, scim_err *err);
/* "name,value,unit" header then one row per flat stat. */
int scim_stats_write_csv(const scim_stats *stats, FILE *out, scim_err *err);
/* Write DIR/stats.json and DIR/stats.csv atomically (temporary name, then
 * rename), creating DIR (and parents) if needed. */
int scim_stats_write_dir(const scim_stats *stats, const char *dir, scim_err *err);

/* Markdown table documenting a declaration table; `prefix_pattern` is shown
 * literally, e.g. "<device>.iotlb". */
int scim_stats_doc_markdown(FILE *out, const char *prefix_pattern,
                            const scim_stat_decl *decls, size_t n);

/* The histogram's fields belong to core/stats_hist.c (model and bounds
 * there); they are visible here only so that recording, which every hot
 * path does several times per request, inlines to a few instructions: the
 * bucket index, one increment, count, sum, min and max. */
#define SCIM_HIST_ROW_BITS 7
#define SCIM_HIST_ROWS 58 /* rows 0,1: 0..255; 2..57: e = 8..63 */

struct scim_hist {
    uint64_t count;
    unsigned __int128 sum;
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t lost; /* samples dropped because a row could not be allocated */
    /* the last value recorded and its bucket (NULL: none since the last
     * clear): a repeat, common on the hot paths (an unloaded link's zero
     * wait, a hit's fixed lookup time), needs no index, and min and max
     * already hold it */
    uint64_t memo_v;
    uint64_t *memo_b;
    /* repeats of memo_v not yet added to *memo_b, count and sum: a repeat
     * costs one increment; readers add them in (stats_hist.c) */
    uint64_t memo_run;
    uint64_t *rows[SCIM_HIST_ROWS];
};

/* bucket index = (s << 7) + (v >> s), s = max(floor(log2 v) - 7, 0) */
static inline unsigned scim_hist_index(uint64_t v)
{
    unsigned e = 63u - (unsigned)__builtin_clzll(v | 1u);
    unsigned s = e > 7u ? e - 7u : 0u;
    return (s << SCIM_HIST_ROW_BITS) + (unsigned)(v >> s);
}

/* The first sample of a row: allocates it (stats_hist.c). */
void scim_hist_record_new_row(scim_hist *h, uint64_t value);

/* The repeats counted in memo_run, added where they belong. */
void scim_hist_settle(scim_hist *h);

static inline void scim_hist_record(scim_hist *h, uint64_t value)
{
    if (!h)
        return;
    if (value == h->memo_v && h->memo_b) {
        h->memo_run++;
        return;
    }
    if (h->memo_run)
        scim_hist_settle(h);
    unsigned idx = scim_hist_index(value);
    uint64_t *r = h->rows[idx >> SCIM_HIST_ROW_BITS];
    if (__builtin_expect(r == NULL, 0)) {
        scim_hist_record_new_row(h, value);
        return;
    }
    uint64_t *b = &r[idx & ((1u << SCIM_HIST_ROW_BITS) - 1u)];
    (*b)++;
    h->memo_v = value;
    h->memo_b = b;
    h->count++;
    h->sum += value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

#ifdef __cplusplus
}
#endif
#endif

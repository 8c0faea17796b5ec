/* Statistics registry: named counters and latency histograms, a sorted flat
 * view, and deterministic JSON / CSV / markdown output.
 *
 * Histogram model (HDR-style log-linear buckets):
 *   - values 0..255 have a bucket each (exact);
 *   - a value v >= 256 with e = floor(log2 v) falls in the bucket of its top
 *     8 significant bits: width w = 2^(e-7), lower bound L = v - v mod w.
 *     v - L <= w - 1 and v >= L >= 128 w, so the reported lower bound
 *     satisfies L <= v and (v - L) / v <= (w - 1) / (129 w - 1) < 1/129,
 *     which is below the 1/128 the header promises (and (v - L) / L < 1/128).
 *   - bucket index = (s << 7) + (v >> s) with s = max(e - 7, 0): 0..255 for
 *     the exact values, then 128 buckets per exponent 8..63: 7424 buckets,
 *     58 rows of 128.
 *   - rows are allocated on the first sample that lands in them. A flat
 *     7424-bucket array is 58 KiB per histogram; latencies in picoseconds
 *     typically span 15-25 exponents, so lazy rows cost 15-25 KiB, and a
 *     run has many histograms (several per device, many devices). The hot
 *     path pays one well-predicted NULL test for that.
 *   - if a row cannot be allocated the sample is counted as lost and the
 *     writers report SCIM_ENOMEM instead of printing wrong percentiles.
 *   - count, min, max are exact; sum is 128-bit, so 2^64 samples of 2^64-1
 *     cannot overflow it; mean = sum / count rounded to double.
 *   - percentile q: rank r = ceil(q/100 * count) clamped to [1, count], with
 *     q first rounded to 1e-6 (so that 99.9 means 999/1000 and not
 *     99.900000000000006/100) and the product computed in exact integer
 *     arithmetic. The result is the lower bound of the first bucket whose
 *     cumulative count reaches r (the bucket holding the r-th smallest
 *     sample), raised to min if below it. Hence the exact r-th smallest
 *     sample x satisfies result <= x, relative error < 1/129, and exactness
 *     below 256; a one-sample histogram reports that sample for every q.
 *
 * Registry model:
 *   - every registration contributes names: a counter its full name, a
 *     histogram its full name plus its seven flat rows. All names in one
 *     registry are distinct, so a counter "x.p50" cannot shadow the p50 row
 *     of histogram "x", and a counter "x" cannot sit beside a histogram "x".
 *   - registration is all-or-nothing: on error the registry and the
 *     component struct are left untouched.
 *   - the flat rows are kept sorted (strcmp) at registration time, so the
 *     const readers (flat_get, lookup, writers) need no lazy state.
 *   - counters live in the components; scim_stats_reset writes 0 through the
 *     registered pointers (including those given to add_counter, which must
 *     therefore point to writable memory).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "core/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define HIST_ROW_BITS 7
#define HIST_ROW_LEN (1u << HIST_ROW_BITS) /* 128 buckets per row */
#define HIST_ROWS 58                         /* rows 0,1: 0..255; 2..57: e = 8..63 */

struct scim_hist {
    uint64_t count;
    unsigned __int128 sum;
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t lost; /* samples dropped because a row could not be allocated */
    uint64_t *rows[HIST_ROWS];
};

/* Histogram rows of the flat view. Order is the suffix order in docs; the
 * flat view re-sorts by full name anyway. */
enum hist_field { F_COUNTER = -1, F_COUNT, F_MEAN, F_MIN, F_P50, F_P90, F_P99, F_MAX, F_NFIELDS };
static const char *const field_suffix[F_NFIELDS] = {"count", "mean", "min", "p50", "p90", "p99", "max"};
static const double field_q[F_NFIELDS] = {0, 0, 0, 50.0, 90.0, 99.0, 0};

typedef struct stat_entry {
    char *name; /* full name */
    char *unit;
    char *desc;
    scim_stat_kind kind;
    uint64_t *counter;
    scim_hist *hist;
} stat_entry;

typedef struct row {
    char *name; /* full flat name, owned */
    const stat_entry *st;
    int field; /* F_COUNTER or an hist_field */
} row;

/* Every name claimed in the registry, for collision checks. */
typedef struct nameref {
    const char *name;
    const stat_entry *st;
} nameref;

struct scim_stats {
    stat_entry **entries;
    size_t nentries, capentries;
    row *rows; /* sorted by name */
    size_t nrows, caprows;
    nameref *names; /* sorted by name */
    size_t nnames, capnames;
};

/* ------------------------------------------------------------------------ */
/* Histograms                                                                */

static inline unsigned hist_index(uint64_t v)
{
    unsigned e = 63u - (unsigned)__builtin_clzll(v | 1u);
    unsigned s = e > 7u ? e - 7u : 0u;
    return (s << HIST_ROW_BITS) + (unsigned)(v >> s);
}

static uint64_t hist_bucket_lower(unsigned idx)
{
    unsigned r = idx >> HIST_ROW_BITS;
    if (r < 2)
        return idx;
    unsigned s = r - 1u;
    uint64_t m = HIST_ROW_LEN + (idx & (HIST_ROW_LEN - 1u));
    return m << s;
}

static scim_hist *hist_new(void)
{
    scim_hist *h = calloc(1, sizeof *h);
    if (h)
        h->min = UINT64_MAX;
    return h;
}

static void hist_free(scim_hist *h)
{
    if (!h)
        return;
    for (unsigned r = 0; r < HIST_ROWS; r++)
        free(h->rows[r]);
    free(h);
}

static void hist_clear(scim_hist *h)
{
    for (unsigned r = 0; r < HIST_ROWS; r++)
        if (h->rows[r])
            memset(h->rows[r], 0, HIST_ROW_LEN * sizeof h->rows[r][0]);
    h->count = 0;
    h->sum = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->lost = 0;
}

static __attribute__((noinline)) uint64_t *hist_add_row(scim_hist *h, unsigned r)
{
    h->rows[r] = calloc(HIST_ROW_LEN, sizeof h->rows[r][0]);
    return h->rows[r];
}

void scim_hist_record(scim_hist *h, uint64_t value)
{
    /* NULL means "statistics disabled": a component built without a
     * registry can record unconditionally. */
    if (!h)
        return;
    unsigned idx = hist_index(value);
    uint64_t *r = h->rows[idx >> HIST_ROW_BITS];
    if (__builtin_expect(r == NULL, 0)) {
        r = hist_add_row(h, idx >> HIST_ROW_BITS);
        if (!r) {
            h->lost++;
            return;
        }
    }
    r[idx & (HIST_ROW_LEN - 1u)]++;
    h->count++;
    h->sum += value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

uint64_t scim_hist_count(const scim_hist *h) { return h ? h->count : 0; }
uint64_t scim_hist_min(const scim_hist *h) { return h && h->count ? h->min : 0; }
uint64_t scim_hist_max(const scim_hist *h) { return h && h->count ? h->max : 0; }

double scim_hist_mean(const scim_hist *h)
{
    if (!h || h->count == 0)
        return 0.0;
    return (double)((long double)h->sum / (long double)h->count);
}

uint64_t scim_hist_percentile(const scim_hist *h, double q)
{
    if (!h || h->count == 0)
        return 0;
    if (!(q > 0.0)) /* also NaN */
        q = 0.0;
    if (q > 100.0)
        q = 100.0;
    /* q in units of 1e-6 percent, i.e. q/100 in units of 1e-8 */
    uint64_t qm = (uint64_t)(q * 1e6 + 0.5);
    const uint64_t denom = 100000000u;
    unsigned __int128 num = (unsigned __int128)qm * h->count;
    uint64_t rank = (uint64_t)((num + denom - 1u) / denom);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;

    uint64_t cum = 0;
    for (unsigned r = 0; r < HIST_ROWS; r++) {
        const uint64_t *b = h->rows[r];
        if (!b)
            continue;
        for (unsigned c = 0; c < HIST_ROW_LEN; c++) {
            cum += b[c];
            if (cum >= rank) {
                uint64_t v = hist_bucket_lower((r << HIST_ROW_BITS) + c);
                if (v < h->min)
                    v = h->min;
                if (v > h->max)
                    v = h->max;
                return v;
            }
        }
    }
    return h->max; /* unreachable: the buckets hold count samples */
}

/* ------------------------------------------------------------------------ */
/* Registry                                                                  */

scim_stats *scim_stats_create(void)
{
    return calloc(1, sizeof(scim_stats));
}

static void entry_free(stat_entry *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->unit);
    free(e->desc);
    hist_free(e->hist);
    free(e);
}

void scim_stats_destroy(scim_stats *stats)
{
    if (!stats)
        return;
    for (size_t i = 0; i < stats->nentries; i++)
        entry_free(stats->entries[i]);
    for (size_t i = 0; i < stats->nrows; i++)
        free(stats->rows[i].name);
    free(stats->entries);
    free(stats->rows);
    free(stats->names);
    free(stats);
}

static char *dup_str(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *join_name(const char *prefix, const char *name)
{
    size_t lp = strlen(prefix), ln = strlen(name);
    char *s = malloc(lp + ln + 2);
    if (!s)
        return NULL;
    memcpy(s, prefix, lp);
    size_t k = lp;
    if (lp > 0)
        s[k++] = '.';
    memcpy(s + k, name, ln + 1);
    return s;
}

/* NULL if `full` is a valid name, else the reason (written into buf). */
static const char *name_problem(const char *full, char *buf, size_t bufsz)
{
    if (full[0] == '\0')
        return "the name is empty";
    size_t seglen = 0;
    for (size_t i = 0;; i++) {
        char c = full[i];
        if (c == '.' || c == '\0') {
            if (seglen == 0) {
                snprintf(buf, bufsz,
                         "empty segment at character %zu (leading, trailing or doubled dot)",
                         i + 1);
                return buf;
            }
            if (c == '\0')
                return NULL;
            seglen = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                snprintf(buf, bufsz, "character '%c' at position %zu is not in [a-z0-9_.]", c,
                         i + 1);
            else
                snprintf(buf, bufsz, "byte 0x%02x at position %zu is not in [a-z0-9_.]",
                         (unsigned)(unsigned char)c, i + 1);
            return buf;
        }
        seglen++;
    }
}

static int cmp_nameref(const void *a, const void *b)
{
    return strcmp(((const nameref *)a)->name, ((const nameref *)b)->name);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const row *)a)->name, ((const row *)b)->name);
}

static const char *kind_word(scim_stat_kind k)
{
    return k == SCIM_STAT_HIST ? "histogram" : "counter";
}

static void describe_ref(const nameref *r, char *buf, size_t n)
{
    if (strcmp(r->name, r->st->name) == 0)
        snprintf(buf, n, "%s \"%s\"", kind_word(r->st->kind), r->st->name);
    else
        snprintf(buf, n, "row \"%s\" of histogram \"%s\"", r->name, r->st->name);
}

static int collision(scim_err *err, const nameref *newer, const nameref *older, bool same_batch)
{
    char a[600], b[600];
    describe_ref(newer, a, sizeof a);
    describe_ref(older, b, sizeof b);
    return scim_err_set(err, SCIM_EEXIST,
                        "stats: duplicate statistic name \"%s\": the %s collides with the %s %s; "
                        "every counter, histogram and histogram row (.count .mean .min .p50 "
                        ".p90 .p99 .max) needs its own name; fix: rename one of them or "
                        "register the component under a different prefix",
                        newer->name, a, b,
                        same_batch ? "in the same registration" : "already registered");
}

static bool reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

/* Merge sorted `add` (n_add elements) into sorted `arr` (n_old elements,
 * capacity for n_old + n_add), back to front so no scratch buffer is needed. */
static void merge_back(void *arr, size_t n_old, const void *add, size_t n_add, size_t size,
                       int (*cmp)(const void *, const void *))
{
    char *dst = arr;
    const char *src = add;
    size_t i = n_old, j = n_add, k = n_old + n_add;
    while (j > 0) {
        if (i > 0 && cmp(dst + (i - 1) * size, src + (j - 1) * size) > 0) {
            memcpy(dst + (k - 1) * size, dst + (i - 1) * size, size);
            i--;
        } else {
            memcpy(dst + (k - 1) * size, src + (j - 1) * size, size);
            j--;
        }
        k--;
    }
}

typedef struct pending {
    const char *name;
    scim_stat_kind kind;
    const char *unit;
    const char *desc;
    uint64_t *counter; /* SCIM_STAT_COUNTER */
    scim_hist **slot;  /* SCIM_STAT_HIST: where to store the histogram */
} pending;

static int add_pending(scim_stats *s, const char *prefix, const pending *p, size_t n,
                       scim_err *err)
{
    if (!s)
        return scim_err_set(err, SCIM_EINVAL, "stats: NULL registry passed to registration");
    if (!prefix)
        prefix = "";
    if (n == 0)
        return SCIM_OK;

    int rc = SCIM_OK;
    stat_entry **ents = calloc(n, sizeof *ents);
    size_t nrows_new = 0, nnames_new = 0;
    for (size_t i = 0; i < n; i++) {
        bool hist = p[i].kind == SCIM_STAT_HIST;
        nrows_new += hist ? F_NFIELDS : 1;
        nnames_new += hist ? F_NFIELDS + 1 : 1;
    }
    row *nrows = calloc(nrows_new, sizeof *nrows);
    nameref *nnames = calloc(nnames_new, sizeof *nnames);
    size_t rk = 0, nk = 0;
    if (!ents || !nrows || !nnames)
        goto oom;

    for (size_t i = 0; i < n; i++) {
        const pending *d = &p[i];
        if (!d->name) {
            rc = scim_err_set(err, SCIM_EINVAL,
                              "stats: entry %zu of the table registered under prefix \"%s\" has "
                              "a NULL name; fix: give every scim_stat_decl a name",
                              i, prefix);
            goto fail;
        }
        if (d->kind != SCIM_STAT_COUNTER && d->kind != SCIM_STAT_HIST) {
            rc = scim_err_set(err, SCIM_EINVAL,
                              "stats: entry \"%s\" under prefix \"%s\" has kind %d; expected "
                              "SCIM_STAT_COUNTER or SCIM_STAT_HIST",
                              d->name, prefix, (int)d->kind);
            goto fail;
        }
        if (d->kind == SCIM_STAT_COUNTER && !d->counter) {
            rc = scim_err_set(err, SCIM_EINVAL,
                              "stats: counter \"%s\" under prefix \"%s\" has no value pointer; "
                              "fix: pass the address of the component's uint64_t counter",
                              d->name, prefix);
            goto fail;
        }
        stat_entry *e = calloc(1, sizeof *e);
        if (!e)
            goto oom;
        ents[i] = e;
        e->kind = d->kind;
        e->counter = d->counter;
        e->name = join_name(prefix, d->name);
        if (!e->name)
            goto oom;
        char why[128];
        const char *problem = name_problem(e->name, why, sizeof why);
        if (problem) {
            rc = scim_err_set(err, SCIM_EINVAL,
                              "stats: invalid statistic name \"%s\" (prefix \"%s\" + name "
                              "\"%s\"): %s; expected segments of [a-z0-9_]+ joined by single "
                              "dots, e.g. \"nic0.iotlb.misses\"; fix the declaration table or "
                              "the prefix",
                              e->name, prefix, d->name, problem);
            goto fail;
        }
        e->unit = dup_str(d->unit);
        e->desc = dup_str(d->desc);
        if (!e->unit || !e->desc)
            goto oom;
        nnames[nk++] = (nameref){e->name, e};
        if (e->kind == SCIM_STAT_COUNTER) {
            nrows[rk].name = dup_str(e->name);
            if (!nrows[rk].name)
                goto oom;
            nrows[rk].st = e;
            nrows[rk].field = F_COUNTER;
            rk++;
        } else {
            e->hist = hist_new();
            if (!e->hist)
                goto oom;
            for (int f = 0; f < F_NFIELDS; f++) {
                nrows[rk].name = join_name(e->name, field_suffix[f]);
                if (!nrows[rk].name)
                    goto oom;
                nrows[rk].st = e;
                nrows[rk].field = f;
                nnames[nk++] = (nameref){nrows[rk].name, e};
                rk++;
            }
        }
    }

    qsort(nnames, nk, sizeof *nnames, cmp_nameref);
    for (size_t i = 1; i < nk; i++)
        if (strcmp(nnames[i - 1].name, nnames[i].name) == 0) {
            rc = collision(err, &nnames[i], &nnames[i - 1], true);
            goto fail;
        }
    for (size_t i = 0; i < nk; i++) {
        const nameref *hit = s->nnames ? bsearch(&nnames[i], s->names, s->nnames,
                                                 sizeof *s->names, cmp_nameref)
                                       : NULL;
        if (hit) {
            rc = collision(err, &nnames[i], hit, false);
            goto fail;
        }
    }

    if (!reserve((void **)&s->entries, &s->capentries, s->nentries + n, sizeof *s->entries) ||
        !reserve((void **)&s->rows, &s->caprows, s->nrows + rk, sizeof *s->rows) ||
        !reserve((void **)&s->names, &s->capnames, s->nnames + nk, sizeof *s->names))
        goto oom;

    /* Commit: nothing below can fail. */
    qsort(nrows, rk, sizeof *nrows, cmp_row);
    merge_back(s->rows, s->nrows, nrows, rk, sizeof *nrows, cmp_row);
    s->nrows += rk;
    merge_back(s->names, s->nnames, nnames, nk, sizeof *nnames, cmp_nameref);
    s->nnames += nk;
    for (size_t i = 0; i < n; i++) {
        s->entries[s->nentries++] = ents[i];
        if (ents[i]->kind == SCIM_STAT_HIST)
            *p[i].slot = ents[i]->hist;
    }
    free(ents);
    free(nrows);
    free(nnames);
    return SCIM_OK;

oom:
    rc = scim_err_set(err, SCIM_ENOMEM,
                      "stats: out of host memory registering statistics under prefix \"%s\"",
                      prefix);
fail:
    if (ents)
        for (size_t i = 0; i < n; i++)
            entry_free(ents[i]);
    if (nrows)
        for (size_t i = 0; i < nrows_new; i++)
            free(nrows[i].name);
    free(ents);
    free(nrows);
    free(nnames);
    return rc;
}

int scim_stats_register(scim_stats *stats, const char *prefix, const scim_stat_decl *decls,
                        size_t n, void *base, scim_err *err)
{
    if (n == 0)
        return SCIM_OK;
    if (!decls || !base)
        return scim_err_set(err, SCIM_EINVAL,
                            "stats: registering prefix \"%s\": %s is NULL; fix: pass the "
                            "declaration table and the component struct",
                            prefix ? prefix : "", decls ? "the component struct" : "the table");
    pending *p = calloc(n, sizeof *p);
    if (!p)
        return scim_err_set(err, SCIM_ENOMEM, "stats: out of host memory registering \"%s\"",
                            prefix ? prefix : "");
    for (size_t i = 0; i < n; i++) {
        char *field = (char *)base + decls[i].offset;
        p[i].name = decls[i].name;
        p[i].kind = decls[i].kind;
        p[i].unit = decls[i].unit;
        p[i].desc = decls[i].desc;
        if (decls[i].kind == SCIM_STAT_COUNTER)
            p[i].counter = (uint64_t *)(void *)field;
        else
            p[i].slot = (scim_hist **)(void *)field;
    }
    int rc = add_pending(stats, prefix, p, n, err);
    free(p);
    return rc;
}

int scim_stats_add_counter(scim_stats *stats, const char *name, const char *unit,
                           const char *desc, const uint64_t *value, scim_err *err)
{
    /* reset writes through this pointer: the header's contract is that
     * counters are component-owned, writable uint64_t fields */
    pending p = {name, SCIM_STAT_COUNTER, unit, desc, (uint64_t *)(uintptr_t)value, NULL};
    return add_pending(stats, "", &p, 1, err);
}

scim_hist *scim_stats_add_hist(scim_stats *stats, const char *name, const char *unit,
                               const char *desc, scim_err *err)
{
    scim_hist *h = NULL;
    pending p = {name, SCIM_STAT_HIST, unit, desc, NULL, &h};
    if (add_pending(stats, "", &p, 1, err) != SCIM_OK)
        return NULL;
    return h;
}

void scim_stats_reset(scim_stats *stats)
{
    if (!stats)
        return;
    for (size_t i = 0; i < stats->nentries; i++) {
        stat_entry *e = stats->entries[i];
        if (e->kind == SCIM_STAT_COUNTER)
            *e->counter = 0;
        else
            hist_clear(e->hist);
    }
}

/* ------------------------------------------------------------------------ */
/* Flat view                                                                 */

typedef struct value {
    bool integral;
    uint64_t u;
    double d;
} value;

static value row_value(const row *r)
{
    const scim_hist *h = r->st->hist;
    switch (r->field) {
    case F_COUNTER: return (value){true, *r->st->counter, 0};
    case F_COUNT: return (value){true, scim_hist_count(h), 0};
    case F_MEAN: return (value){false, 0, scim_hist_mean(h)};
    case F_MIN: return (value){true, scim_hist_min(h), 0};
    case F_MAX: return (value){true, scim_hist_max(h), 0};
    default: return (value){true, scim_hist_percentile(h, field_q[r->field]), 0};
    }
}

static double value_double(value v) { return v.integral ? (double)v.u : v.d; }

static const char *row_unit(const row *r)
{
    return r->field == F_COUNT ? "count" : r->st->unit;
}

size_t scim_stats_flat_count(const scim_stats *stats) { return stats ? stats->nrows : 0; }

int scim_stats_flat_get(const scim_stats *stats, size_t i, const char **name, double *val,
                        const char **unit, const char **desc)
{
    if (!stats || i >= stats->nrows)
        return SCIM_ERANGE;
    const row *r = &stats->rows[i];
    if (name)
        *name = r->name;
    if (val)
        *val = value_double(row_value(r));
    if (unit)
        *unit = row_unit(r);
    if (desc)
        *desc = r->st->desc;
    return SCIM_OK;
}

static const row *find_row(const scim_stats *stats, const char *name)
{
    if (!stats || !name || stats->nrows == 0)
        return NULL;
    row key = {(char *)(uintptr_t)name, NULL, 0};
    return bsearch(&key, stats->rows, stats->nrows, sizeof key, cmp_row);
}

int scim_stats_lookup(const scim_stats *stats, const char *name, double *val)
{
    if (!stats || !name)
        return SCIM_EINVAL;
    const row *r = find_row(stats, name);
    if (!r)
        return SCIM_ENOENT;
    if (val)
        *val = value_double(row_value(r));
    return SCIM_OK;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */

/* Integers exactly; fractions as %.6f with trailing zeros (and a trailing
 * dot) removed — deterministic, valid JSON, never "nan"/"inf". */
static void format_value(value v, char *buf, size_t n)
{
    if (v.integral) {
        snprintf(buf, n, "%" PRIu64, v.u);
        return;
    }
    double d = isfinite(v.d) ? v.d : 0.0;
    snprintf(buf, n, "%.6f", d);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0')
            *--end = '\0';
        if (end == dot + 1)
            *dot = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
}

static int check_lost(const scim_stats *stats, const char *what, scim_err *err)
{
    for (size_t i = 0; i < stats->nentries; i++) {
        const stat_entry *e = stats->entries[i];
        if (e->kind == SCIM_STAT_HIST && e->hist->lost)
            return scim_err_set(err, SCIM_ENOMEM,
                                "could not write %s: histogram \"%s\" lost %" PRIu64
                                " samples because host memory ran out while recording; its "
                                "percentiles would be wrong; fix: free host memory and rerun",
                                what, e->name, e->hist->lost);
    }
    return SCIM_OK;
}

static int io_fail(scim_err *err, const char *what, int e)
{
    return scim_err_set(err, SCIM_EIO, "could not write %s: %s", what,
                        strerror(e ? e : EIO));
}

static int write_json_to(const scim_stats *stats, FILE *out, const char *what, scim_err *err)
{
    int rc = check_lost(stats, what, err);
    if (rc)
        return rc;
    errno = 0;
    if (fputs("{\n", out) == EOF)
        return io_fail(err, what, errno);
    char num[64];
    for (size_t i = 0; i < stats->nrows; i++) {
        const row *r = &stats->rows[i];
        format_value(row_value(r), num, sizeof num);
        if (fprintf(out, "  \"%s\": %s%s\n", r->name, num, i + 1 < stats->nrows ? "," : "") < 0)
            return io_fail(err, what, errno);
    }
    if (fputs("}\n", out) == EOF || fflush(out) == EOF || ferror(out))
        return io_fail(err, what, errno);
    return SCIM_OK;
}

/* RFC 4180: quote a field only if it holds a comma, quote or line break. */
static int put_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, out) == EOF ? -1 : 0;
    if (fputc('"', out) == EOF)
        return -1;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', out) == EOF)
            return -1;
        if (fputc(*s, out) == EOF)
            return -1;
    }
    return fputc('"', out) == EOF ? -1 : 0;
}

static int write_csv_to(const scim_stats *stats, FILE *out, const char *what, scim_err *err)
{
    int rc = check_lost(stats, what, err);
    if (rc)
        return rc;
    errno = 0;
    if (fputs("name,value,unit\n", out) == EOF)
        return io_fail(err, what, errno);
    char num[64];
    for (size_t i = 0; i < stats->nrows; i++) {
        const row *r = &stats->rows[i];
        format_value(row_value(r), num, sizeof num);
        if (fprintf(out, "%s,%s,", r->name, num) < 0 || put_csv_field(out, row_unit(r)) < 0 ||
            fputc('\n', out) == EOF)
            return io_fail(err, what, errno);
    }
    if (fflush(out) == EOF || ferror(out))
        return io_fail(err, what, errno);
    return SCIM_OK;
}

int scim_stats_write_json(const scim_stats *stats, FILE *out, scim_err *err)
{
    if (!stats || !out)
        return scim_err_set(err, SCIM_EINVAL, "stats: NULL %s passed to scim_stats_write_json",
                            stats ? "stream" : "registry");
    return write_json_to(stats, out, "statistics JSON", err);
}

int scim_stats_write_csv(const scim_stats *stats, FILE *out, scim_err *err)
{
    if (!stats || !out)
        return scim_err_set(err, SCIM_EINVAL, "stats: NULL %s passed to scim_stats_write_csv",
                            stats ? "stream" : "registry");
    return write_csv_to(stats, out, "statistics CSV", err);
}

/* mkdir -p. Returns 0 or an errno value. */
static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int bad = mkdir(path, 0777) != 0 && errno != EEXIST;
        int e = errno;
        *p = '/';
        if (bad)
            return e;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return errno;
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

typedef int (*writer_fn)(const scim_stats *, FILE *, const char *, scim_err *);

/* Write one file to its temporary name. */
static int write_tmp(const scim_stats *stats, const char *tmp, const char *final, writer_fn fn,
                     scim_err *err)
{
    errno = 0;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return io_fail(err, final, errno);
    int rc = fn(stats, f, final, err);
    errno = 0;
    if (fclose(f) != 0 && rc == SCIM_OK)
        rc = io_fail(err, final, errno);
    return rc;
}

int scim_stats_write_dir(const scim_stats *stats, const char *dir, scim_err *err)
{
    if (!stats || !dir || !dir[0])
        return scim_err_set(err, SCIM_EINVAL,
                            "stats: scim_stats_write_dir needs a registry and a non-empty "
                            "directory name");
    size_t ld = strlen(dir);
    while (ld > 1 && dir[ld - 1] == '/')
        ld--;
    /* "<dir>/stats.json.tmp.<pid>" */
    size_t cap = ld + 64;
    char *d = malloc(ld + 1);
    char *json = malloc(cap), *csv = malloc(cap), *tjson = malloc(cap), *tcsv = malloc(cap);
    int rc = SCIM_OK;
    if (!d || !json || !csv || !tjson || !tcsv) {
        rc = scim_err_set(err, SCIM_ENOMEM, "could not write %.*s/stats.json: out of host memory",
                          (int)ld, dir);
        goto out;
    }
    memcpy(d, dir, ld);
    d[ld] = '\0';
    const char *sep = strcmp(d, "/") == 0 ? "" : "/";
    long pid = (long)getpid();
    snprintf(json, cap, "%s%sstats.json", d, sep);
    snprintf(csv, cap, "%s%sstats.csv", d, sep);
    snprintf(tjson, cap, "%s.tmp.%ld", json, pid);
    snprintf(tcsv, cap, "%s.tmp.%ld", csv, pid);

    int e = mkdir_p(d);
    if (e) {
        rc = scim_err_set(err, SCIM_EIO,
                          "could not write %s: cannot create directory \"%s\": %s; fix: choose "
                          "an output directory whose path is free or already a directory",
                          json, d, strerror(e));
        goto out;
    }
    /* Both files are complete before either replaces an older one. */
    rc = write_tmp(stats, tjson, json, write_json_to, err);
    if (rc == SCIM_OK)
        rc = write_tmp(stats, tcsv, csv, write_csv_to, err);
    if (rc == SCIM_OK && rename(tjson, json) != 0)
        rc = io_fail(err, json, errno);
    if (rc == SCIM_OK && rename(tcsv, csv) != 0)
        rc = io_fail(err, csv, errno);
    if (rc != SCIM_OK) {
        /* unlink of a name that was renamed or never created fails harmlessly */
        unlink(tjson);
        unlink(tcsv);
    }
out:
    free(d);
    free(json);
    free(csv);
    free(tjson);
    free(tcsv);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Documentation                                                             */

static int put_md_cell(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        int rc;
        if (*s == '|')
            rc = fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            rc = fputc(' ', out);
        else
            rc = fputc(*s, out);
        if (rc == EOF)
            return -1;
    }
    return 0;
}

int scim_stats_doc_markdown(FILE *out, const char *prefix_pattern, const scim_stat_decl *decls,
                            size_t n)
{
    if (!out || (n > 0 && !decls))
        return SCIM_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!decls[i].name)
            return SCIM_EINVAL;
    const char *pp = prefix_pattern ? prefix_pattern : "";
    if (fputs("| name | kind | unit | description |\n|---|---|---|---|\n", out) == EOF)
        return SCIM_EIO;
    for (size_t i = 0; i < n; i++) {
        const scim_stat_decl *d = &decls[i];
        bool hist = d->kind == SCIM_STAT_HIST;
        if (fprintf(out, "| `%s%s", pp, pp[0] ? "." : "") < 0 || put_md_cell(out, d->name) < 0 ||
            fprintf(out, "` | %s | ", hist ? "histogram" : "counter") < 0 ||
            put_md_cell(out, d->unit) < 0 || fputs(" | ", out) == EOF ||
            put_md_cell(out, d->desc) < 0)
            return SCIM_EIO;
        if (hist && fputs(" Rows: `.count` `.mean` `.min` `.p50` `.p90` `.p99` `.max`.", out) == EOF)
            return SCIM_EIO;
        if (fputs(" |\n", out) == EOF)
            return SCIM_EIO;
    }
    return fflush(out) == EOF ? SCIM_EIO : SCIM_OK;
}

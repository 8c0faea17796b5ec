/* Statistics registry: named counters and histograms, and the sorted flat
 * view of them. Contract in core/stats.h; writers in stats_write.c,
 * histograms in stats_hist.c.
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
#include "core/stats_internal.h"

#include <stdlib.h>
#include <string.h>

/* Histogram rows of the flat view. Order is the suffix order in docs; the
 * flat view re-sorts by full name anyway. */
enum hist_field { F_COUNTER = -1, F_COUNT, F_MEAN, F_MIN, F_P50, F_P90, F_P99, F_MAX, F_NFIELDS };
static const char *const field_suffix[F_NFIELDS] = {"count", "mean", "min", "p50", "p90", "p99", "max"};
static const double field_q[F_NFIELDS] = {0, 0, 0, 50.0, 90.0, 99.0, 0};

/* ------------------------------------------------------------------------ */
/* Registry                                                                  */

scim_stats *scim_stats_create(void)
{
    return calloc(1, sizeof(scim_stats));
}

static void entry_free(scim_stat_entry *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->unit);
    free(e->desc);
    scim_hist_free(e->hist);
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
    return strcmp(((const scim_stat_nameref *)a)->name, ((const scim_stat_nameref *)b)->name);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const scim_stat_row *)a)->name, ((const scim_stat_row *)b)->name);
}

static const char *kind_word(scim_stat_kind k)
{
    return k == SCIM_STAT_HIST ? "histogram" : "counter";
}

static void describe_ref(const scim_stat_nameref *r, char *buf, size_t n)
{
    if (strcmp(r->name, r->st->name) == 0)
        snprintf(buf, n, "%s \"%s\"", kind_word(r->st->kind), r->st->name);
    else
        snprintf(buf, n, "row \"%s\" of histogram \"%s\"", r->name, r->st->name);
}

static int collision(scim_err *err, const scim_stat_nameref *newer, const scim_stat_nameref *older, bool same_batch)
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
    scim_stat_entry **ents = calloc(n, sizeof *ents);
    size_t nrows_new = 0, nnames_new = 0;
    for (size_t i = 0; i < n; i++) {
        bool hist = p[i].kind == SCIM_STAT_HIST;
        nrows_new += hist ? F_NFIELDS : 1;
        nnames_new += hist ? F_NFIELDS + 1 : 1;
    }
    scim_stat_row *nrows = calloc(nrows_new, sizeof *nrows);
    scim_stat_nameref *nnames = calloc(nnames_new, sizeof *nnames);
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
        if (d->kind != SCIM_STAT_COUNTER && d->kind != SCIM_STAT_HIST && d->kind != SCIM_STAT_LEVEL) {
            rc = scim_err_set(err, SCIM_EINVAL,
                              "stats: entry \"%s\" under prefix \"%s\" has kind %d; expected "
                              "SCIM_STAT_COUNTER, SCIM_STAT_HIST or SCIM_STAT_LEVEL",
                              d->name, prefix, (int)d->kind);
            goto fail;
        }
        if (d->kind != SCIM_STAT_HIST && !d->counter) {
            rc = scim_err_set(err, SCIM_EINVAL,
                              "stats: counter \"%s\" under prefix \"%s\" has no value pointer; "
                              "fix: pass the address of the component's uint64_t counter",
                              d->name, prefix);
            goto fail;
        }
        scim_stat_entry *e = calloc(1, sizeof *e);
        if (!e)
            goto oom;
        ents[i] = e;
        e->kind = d->kind == SCIM_STAT_HIST ? SCIM_STAT_HIST : SCIM_STAT_COUNTER;
        e->level = d->kind == SCIM_STAT_LEVEL;
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
        nnames[nk++] = (scim_stat_nameref){e->name, e};
        if (e->kind == SCIM_STAT_COUNTER) {
            nrows[rk].name = dup_str(e->name);
            if (!nrows[rk].name)
                goto oom;
            nrows[rk].st = e;
            nrows[rk].field = F_COUNTER;
            rk++;
        } else {
            e->hist = scim_hist_new();
            if (!e->hist)
                goto oom;
            for (int f = 0; f < F_NFIELDS; f++) {
                nrows[rk].name = join_name(e->name, field_suffix[f]);
                if (!nrows[rk].name)
                    goto oom;
                nrows[rk].st = e;
                nrows[rk].field = f;
                nnames[nk++] = (scim_stat_nameref){nrows[rk].name, e};
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
        const scim_stat_nameref *hit = s->nnames ? bsearch(&nnames[i], s->names, s->nnames,
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
        if (decls[i].kind != SCIM_STAT_HIST)
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
        scim_stat_entry *e = stats->entries[i];
        if (e->level)
            continue;
        if (e->kind == SCIM_STAT_COUNTER)
            *e->counter = 0;
        else
            scim_hist_clear(e->hist);
    }
}

/* ------------------------------------------------------------------------ */
/* Flat view                                                                 */

scim_stat_value scim_stats_row_value(const scim_stat_row *r)
{
    const scim_hist *h = r->st->hist;
    switch (r->field) {
    case F_COUNTER: return (scim_stat_value){true, *r->st->counter, 0};
    case F_COUNT: return (scim_stat_value){true, scim_hist_count(h), 0};
    case F_MEAN: return (scim_stat_value){false, 0, scim_hist_mean(h)};
    case F_MIN: return (scim_stat_value){true, scim_hist_min(h), 0};
    case F_MAX: return (scim_stat_value){true, scim_hist_max(h), 0};
    default: return (scim_stat_value){true, scim_hist_percentile(h, field_q[r->field]), 0};
    }
}

static double value_double(scim_stat_value v) { return v.integral ? (double)v.u : v.d; }

const char *scim_stats_row_unit(const scim_stat_row *r)
{
    return r->field == F_COUNT ? "count" : r->st->unit;
}

size_t scim_stats_flat_count(const scim_stats *stats) { return stats ? stats->nrows : 0; }

int scim_stats_flat_get(const scim_stats *stats, size_t i, const char **name, double *val,
                        const char **unit, const char **desc)
{
    if (!stats || i >= stats->nrows)
        return SCIM_ERANGE;
    const scim_stat_row *r = &stats->rows[i];
    if (name)
        *name = r->name;
    if (val)
        *val = value_double(scim_stats_row_value(r));
    if (unit)
        *unit = scim_stats_row_unit(r);
    if (desc)
        *desc = r->st->desc;
    return SCIM_OK;
}

static const scim_stat_row *find_row(const scim_stats *stats, const char *name)
{
    if (!stats || !name || stats->nrows == 0)
        return NULL;
    scim_stat_row key = {(char *)(uintptr_t)name, NULL, 0};
    return bsearch(&key, stats->rows, stats->nrows, sizeof key, cmp_row);
}

int scim_stats_lookup(const scim_stats *stats, const char *name, double *val)
{
    if (!stats || !name)
        return SCIM_EINVAL;
    const scim_stat_row *r = find_row(stats, name);
    if (!r)
        return SCIM_ENOENT;
    if (val)
        *val = value_double(scim_stats_row_value(r));
    return SCIM_OK;
}

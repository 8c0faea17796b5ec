/* What the statistics registry (stats.c), its writers (stats_write.c) and
 * the histograms (stats_hist.c) share. Contract in core/stats.h. */
#ifndef SCIMITAR_STATS_INTERNAL_H
#define SCIMITAR_STATS_INTERNAL_H

#include "core/stats.h"

typedef struct scim_stat_entry {
    char *name; /* full name */
    char *unit;
    char *desc;
    scim_stat_kind kind; /* SCIM_STAT_COUNTER (levels too) or SCIM_STAT_HIST */
    bool level;          /* registered as SCIM_STAT_LEVEL: kept by scim_stats_reset */
    uint64_t *counter;
    scim_hist *hist;
} scim_stat_entry;

typedef struct scim_stat_row {
    char *name; /* full flat name, owned */
    const scim_stat_entry *st;
    int field; /* a counter, or which row of a histogram (stats.c) */
} scim_stat_row;

/* Every name claimed in the registry, for collision checks. */
typedef struct scim_stat_nameref {
    const char *name;
    const scim_stat_entry *st;
} scim_stat_nameref;

struct scim_stats {
    scim_stat_entry **entries;
    size_t nentries, capentries;
    scim_stat_row *rows; /* sorted by name */
    size_t nrows, caprows;
    scim_stat_nameref *names; /* sorted by name */
    size_t nnames, capnames;
};

/* A flat row's value: the writers print integers exactly. */
typedef struct scim_stat_value {
    bool integral;
    uint64_t u;
    double d;
} scim_stat_value;

/* stats.c */
scim_stat_value scim_stats_row_value(const scim_stat_row *r);
const char *scim_stats_row_unit(const scim_stat_row *r);

/* stats_hist.c */
scim_hist *scim_hist_new(void);
void scim_hist_free(scim_hist *h); /* NULL is harmless */
void scim_hist_clear(scim_hist *h);
uint64_t scim_hist_lost(const scim_hist *h); /* samples dropped for want of host memory */

#endif

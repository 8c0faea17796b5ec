/* A line plot as a standalone SVG: one polyline per series, with axes,
 * ticks, units and a legend a person can read. Used by `scimitar sweep`. */
#ifndef SCIMITAR_TOOLS_PLOT_H
#define SCIMITAR_TOOLS_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct plot_series {
    const char *label;   /* legend text */
    const double *x, *y; /* n points, sorted by x */
    size_t n;
} plot_series;

typedef struct plot_spec {
    const char *title;
    const char *x_label, *y_label;
    /* x given as categories (non-numeric values): x[i] is the category
     * index and x_ticks names them */
    const char *const *x_categories;
    size_t n_categories;
    bool log2_x;             /* x axis in powers of two */
    const double *x_ticks;   /* optional: ticks exactly here (the swept values) */
    size_t n_x_ticks;
    const plot_series *series;
    size_t n_series;
} plot_spec;

/* Writes the SVG; returns 0, or -1 if out reports an error. */
int plot_write_svg(FILE *out, const plot_spec *spec);

#endif

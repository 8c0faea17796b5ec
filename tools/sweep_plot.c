/* `scimitar sweep`'s plot (plot.svg, drawn by plot.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "sweep.h"

static bool parse_double(const char *s, double *v)
{
    char *end;
    if (!s || !*s)
        return false;
    *v = strtod(s, &end);
    return *end == '\0';
}

static size_t index_of(const char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return i;
    return n;
}

/* The plot: metric against plot_x, a line per value of plot_series, each
 * point the mean over any other swept parameters. */
int scim_sweep_write_plot(const scim_sweep *sw, const scim_sweep_point_stats *pts, const char *unit, const char *path)
{
    size_t xk = sw->n_params, sk = sw->n_params;
    for (size_t k = 0; k < sw->n_params; k++) {
        if (sw->plot_x && strcmp(sw->params[k].key, sw->plot_x) == 0)
            xk = k;
        if (sw->plot_series && strcmp(sw->params[k].key, sw->plot_series) == 0)
            sk = k;
    }
    if (xk == sw->n_params) {
        fprintf(stderr, "scimitar sweep: plot x '%s' is not a swept parameter\n", sw->plot_x ? sw->plot_x : "");
        return -1;
    }
    if (sw->plot_series && sk == sw->n_params) {
        fprintf(stderr, "scimitar sweep: plot series '%s' is not a swept parameter\n", sw->plot_series);
        return -1;
    }
    const char **xs = calloc(sw->n_points, sizeof *xs), **ss = calloc(sw->n_points, sizeof *ss);
    size_t nx = 0, ns = 0;
    bool numeric = true, pow2 = true;
    for (size_t i = 0; i < sw->n_points; i++) {
        const char *x = scim_sweep_point_value(sw, i, xk),
                   *s = sk < sw->n_params ? scim_sweep_point_value(sw, i, sk) : "all";
        if (index_of(xs, nx, x) == nx)
            xs[nx++] = x;
        if (index_of(ss, ns, s) == ns)
            ss[ns++] = s;
    }
    double *xv = calloc(nx, sizeof *xv);
    for (size_t j = 0; j < nx; j++) {
        if (!parse_double(xs[j], &xv[j]))
            numeric = false;
        else if (xv[j] <= 0 || exp2(round(log2(xv[j]))) != xv[j])
            pow2 = false;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; numeric && j < nx; j++) {
        lo = fmin(lo, xv[j]);
        hi = fmax(hi, xv[j]);
    }
    /* order x: numerically, or as listed */
    size_t *order = calloc(nx, sizeof *order);
    for (size_t j = 0; j < nx; j++)
        order[j] = j;
    for (size_t a = 0; numeric && a < nx; a++)
        for (size_t b = a + 1; b < nx; b++)
            if (xv[order[b]] < xv[order[a]]) {
                size_t t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
    double *sum = calloc(nx * ns, sizeof *sum), *cnt = calloc(nx * ns, sizeof *cnt);
    for (size_t i = 0; i < sw->n_points; i++) {
        double v;
        if (!pts[i].ok || !parse_double(scim_sweep_stat_lookup(&pts[i], sw->plot_metric), &v))
            continue;
        size_t xj = index_of(xs, nx, scim_sweep_point_value(sw, i, xk));
        size_t sj = index_of(ss, ns, sk < sw->n_params ? scim_sweep_point_value(sw, i, sk) : "all");
        sum[sj * nx + xj] += v;
        cnt[sj * nx + xj] += 1;
    }
    /* times in a unit a person reads at a glance */
    double scale = 1, top = 0;
    for (size_t k = 0; k < nx * ns; k++)
        if (cnt[k])
            top = fmax(top, fabs(sum[k] / cnt[k]));
    if (unit && strcmp(unit, "ps") == 0) {
        static const char *const names[] = {"ps", "ns", "us", "ms", "s"};
        size_t u = 0;
        while (u < 4 && top / scale >= 1e3) {
            scale *= 1e3;
            u++;
        }
        unit = names[u];
    }
    plot_series *series = calloc(ns, sizeof *series);
    double *px = calloc(nx * ns, sizeof *px), *py = calloc(nx * ns, sizeof *py);
    char **labels = calloc(ns, sizeof *labels);
    for (size_t s = 0; s < ns; s++) {
        size_t m = 0;
        for (size_t a = 0; a < nx; a++) {
            size_t j = order[a];
            if (!cnt[s * nx + j])
                continue;
            px[s * nx + m] = numeric ? xv[j] : (double)a;
            py[s * nx + m] = sum[s * nx + j] / cnt[s * nx + j] / scale;
            m++;
        }
        size_t len = strlen(ss[s]) + (sk < sw->n_params ? strlen(sw->params[sk].key) : 0) + 8;
        labels[s] = malloc(len);
        if (sk < sw->n_params) {
            const char *short_key = strrchr(sw->params[sk].key, '.');
            snprintf(labels[s], len, "%s = %s", short_key ? short_key + 1 : sw->params[sk].key, ss[s]);
        } else {
            snprintf(labels[s], len, "%s", ss[s]);
        }
        series[s] = (plot_series){labels[s], px + s * nx, py + s * nx, m};
    }
    const char **cats = NULL;
    if (!numeric) {
        cats = calloc(nx, sizeof *cats);
        for (size_t a = 0; a < nx; a++)
            cats[a] = xs[order[a]];
    }
    char title[512], ylab[512];
    bool multi = sw->n_params > (sk < sw->n_params ? 2u : 1u);
    snprintf(title, sizeof title, "%s vs %s%s", sw->plot_metric, sw->params[xk].key,
             multi ? " (mean over the other parameters)" : "");
    snprintf(ylab, sizeof ylab, "%s (%s)", sw->plot_metric, unit && *unit ? unit : "value");
    double *ticks = calloc(nx, sizeof *ticks);
    for (size_t a = 0; numeric && a < nx; a++)
        ticks[a] = xv[order[a]];
    plot_spec spec = {.title = title,
                      .x_label = sw->params[xk].key,
                      .y_label = ylab,
                      .x_categories = cats,
                      .n_categories = numeric ? 0 : nx,
                      .log2_x = numeric && pow2 && nx > 2 && hi / lo >= 8,
                      .x_ticks = ticks,
                      .n_x_ticks = numeric && nx <= 12 ? nx : 0,
                      .series = series,
                      .n_series = ns};
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = f ? plot_write_svg(f, &spec) : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc) {
        /* said here: the caller only learns that the sweep failed */
        fprintf(stderr, "scimitar sweep: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
    }
    for (size_t s = 0; s < ns; s++)
        free(labels[s]);
    free(labels);
    free(cats);
    free(ticks);
    free(series);
    free(px);
    free(py);
    free(sum);
    free(cnt);
    free(order);
    free(xv);
    free(xs);
    free(ss);
    return rc;
}

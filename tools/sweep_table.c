/* `scimitar sweep`'s table: every point's stats.csv gathered into
 * sweep.csv and sweep.json (a row per point: the swept parameters, then
 * every stat), and the plot when one is asked for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "sweep.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Read a point's stats.csv ("name,value,unit" rows sorted by name), if the
 * point is done under its configuration as it is now: a point that failed
 * in this sweep may still hold the stats.csv of an earlier configuration
 * (it would be a row of other values), or part of its results (an MPI
 * rank 0 that could not store them all). */
static bool read_point(const scim_sweep *sw, size_t i, scim_sweep_point_stats *ps, char ***units, char ***unit_names,
                       size_t *n_units)
{
    uint64_t h;
    scim_err err = {0};
    if (scim_sweep_point_hash(sw, i, &h, &err) != 0 || !scim_sweep_point_done(sw, i, h))
        return false;
    char dir[1024], path[1100];
    scim_sweep_point_dir(sw, i, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/stats.csv", dir);
    char *txt = cli_read_file(path);
    if (!txt)
        return false;
    char *save = NULL;
    char *line = strtok_r(txt, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c1)
            continue;
        *c1 = '\0';
        if (c2)
            *c2 = '\0';
        char **nn = realloc(ps->names, (ps->n + 1) * sizeof *nn);
        char **nv = nn ? realloc(ps->values, (ps->n + 1) * sizeof *nv) : NULL;
        if (nn)
            ps->names = nn;
        if (!nn || !nv)
            break;
        ps->values = nv;
        ps->names[ps->n] = strdup(line);
        ps->values[ps->n] = strdup(c1 + 1);
        ps->n++;
        if (c2 && units) {
            char **un = realloc(*units, (*n_units + 1) * sizeof *un);
            char **unm = un ? realloc(*unit_names, (*n_units + 1) * sizeof *unm) : NULL;
            if (un)
                *units = un;
            if (unm) {
                *unit_names = unm;
                (*units)[*n_units] = strdup(c2 + 1);
                (*unit_names)[*n_units] = strdup(line);
                (*n_units)++;
            }
        }
    }
    free(txt);
    ps->ok = true;
    return true;
}

const char *scim_sweep_stat_lookup(const scim_sweep_point_stats *ps, const char *name)
{
    size_t lo = 0, hi = ps->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ps->names[mid], name);
        if (c == 0)
            return ps->values[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* {"point": i, "params": {key: value, ...} */
static void json_point(FILE *f, const scim_sweep *sw, size_t i)
{
    fprintf(f, "{\"point\": %zu, \"params\": {", i);
    for (size_t k = 0; k < sw->n_params; k++) {
        fputs(k ? ", " : "", f);
        json_string(f, sw->params[k].key);
        fputs(": ", f);
        json_string(f, scim_sweep_point_value(sw, i, k));
    }
    fputc('}', f);
}

static void json_parameters(FILE *f, const scim_sweep *sw)
{
    fprintf(f, "{\n  \"parameters\": [");
    for (size_t k = 0; k < sw->n_params; k++) {
        fputs(k ? ", " : "", f);
        json_string(f, sw->params[k].key);
    }
    fprintf(f, "],\n  \"points\": [");
}

int scim_sweep_write_points(const scim_sweep *sw, FILE *f, scim_err *err)
{
    /* every hash first: an error prints nothing */
    uint64_t *h = calloc(sw->n_points ? sw->n_points : 1, sizeof *h);
    if (!h)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory for %zu points", sw->n_points);
    for (size_t i = 0; i < sw->n_points; i++)
        if (scim_sweep_point_hash(sw, i, &h[i], err) != 0) {
            free(h);
            return err->code;
        }
    json_parameters(f, sw);
    for (size_t i = 0; i < sw->n_points; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        json_point(f, sw, i);
        fprintf(f, ", \"hash\": \"%016llx\"}", (unsigned long long)h[i]);
    }
    free(h);
    fprintf(f, "\n  ]\n}\n");
    return fflush(f) || ferror(f) ? scim_err_set(err, SCIM_EIO, "cannot write the points to stdout") : 0;
}

int scim_sweep_write_table(const scim_sweep *sw, size_t *n_rows)
{
    scim_sweep_point_stats *pts = calloc(sw->n_points, sizeof *pts);
    char **units = NULL, **unit_names = NULL;
    size_t n_units = 0, n_names = 0, cap = 0;
    char **names = NULL;
    if (!pts)
        return -1;
    for (size_t i = 0; i < sw->n_points; i++) {
        if (!read_point(sw, i, &pts[i], i == 0 || !n_units ? &units : NULL, &unit_names, &n_units))
            continue;
        for (size_t k = 0; k < pts[i].n; k++) {
            if (n_names == cap) {
                cap = cap ? cap * 2 : 1024;
                char **nn = realloc(names, cap * sizeof *nn);
                if (!nn)
                    break;
                names = nn;
            }
            names[n_names++] = pts[i].names[k];
        }
    }
    if (n_names) /* none when no point has statistics: names is NULL, which qsort may not be given */
        qsort(names, n_names, sizeof *names, cmp_str);
    size_t u = 0;
    for (size_t k = 0; k < n_names; k++)
        if (!u || strcmp(names[u - 1], names[k]))
            names[u++] = names[k];
    n_names = u;

    char path[1100];
    char *csv = NULL, *json = NULL;
    size_t cl = 0, jl = 0;
    FILE *cf = open_memstream(&csv, &cl), *jf = open_memstream(&json, &jl);
    for (size_t k = 0; k < sw->n_params; k++) {
        csv_field(cf, sw->params[k].key);
        fputc(k + 1 < sw->n_params || n_names ? ',' : '\n', cf);
    }
    for (size_t k = 0; k < n_names; k++) {
        csv_field(cf, names[k]);
        fputc(k + 1 < n_names ? ',' : '\n', cf);
    }
    json_parameters(jf, sw);
    size_t rows = 0;
    for (size_t i = 0; i < sw->n_points; i++) {
        if (!pts[i].ok)
            continue;
        for (size_t k = 0; k < sw->n_params; k++) {
            csv_field(cf, scim_sweep_point_value(sw, i, k));
            fputc(k + 1 < sw->n_params || n_names ? ',' : '\n', cf);
        }
        for (size_t k = 0; k < n_names; k++) {
            const char *v = scim_sweep_stat_lookup(&pts[i], names[k]);
            fputs(v ? v : "", cf);
            fputc(k + 1 < n_names ? ',' : '\n', cf);
        }
        fputs(rows ? ",\n    " : "\n    ", jf);
        json_point(jf, sw, i);
        fputs(", \"stats\": {", jf);
        for (size_t k = 0; k < pts[i].n; k++) {
            fputs(k ? ", " : "", jf);
            json_string(jf, pts[i].names[k]);
            fprintf(jf, ": %s", pts[i].values[k]);
        }
        fputs("}}", jf);
        rows++;
    }
    fprintf(jf, "\n  ]\n}\n");
    fclose(cf);
    fclose(jf);
    int rc = 0;
    snprintf(path, sizeof path, "%s/sweep.csv", sw->out);
    if (cli_write_atomic(path, csv))
        rc = -1;
    snprintf(path, sizeof path, "%s/sweep.json", sw->out);
    if (cli_write_atomic(path, json))
        rc = -1;
    if (rc)
        fprintf(stderr, "scimitar sweep: cannot write the table in %s: %s\n", sw->out, strerror(errno));
    if (!rc && sw->plot_metric) {
        const char *unit = NULL;
        for (size_t k = 0; k < n_units; k++)
            if (strcmp(unit_names[k], sw->plot_metric) == 0)
                unit = units[k];
        bool known = false;
        for (size_t k = 0; k < n_names && !known; k++)
            known = strcmp(names[k], sw->plot_metric) == 0;
        snprintf(path, sizeof path, "%s/plot.svg", sw->out);
        if (!known) {
            fprintf(stderr, "scimitar sweep: plot metric '%s' is not a statistic of this run (see sweep.csv's "
                            "header or docs/stats.md)\n",
                    sw->plot_metric);
            rc = -1;
        } else if (scim_sweep_write_plot(sw, pts, unit, path) != 0) {
            rc = -1;
        }
    }
    free(csv);
    free(json);
    free(names);
    for (size_t k = 0; k < n_units; k++) {
        free(units[k]);
        free(unit_names[k]);
    }
    free(units);
    free(unit_names);
    for (size_t i = 0; i < sw->n_points; i++) {
        for (size_t k = 0; k < pts[i].n; k++) {
            free(pts[i].names[k]);
            free(pts[i].values[k]);
        }
        free(pts[i].names);
        free(pts[i].values);
    }
    free(pts);
    *n_rows = rows;
    return rc;
}

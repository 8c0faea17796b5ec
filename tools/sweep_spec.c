/* `scimitar sweep`: the grid of the config's sweep: section (its
 * dimensions, the zip group, the plot keys), the value of each key at a
 * point, and the hash of the configuration a point runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

#define MAX_RANGE_VALUES 100000 /* a range's values, at most */

static void fmt_number(char *buf, size_t len, double v)
{
    if (v == floor(v) && fabs(v) < 9e15)
        snprintf(buf, len, "%lld", (long long)v);
    else
        snprintf(buf, len, "%.10g", v);
}

static bool num_of(const scim_cfg_node *n, double *v)
{
    const char *s = n ? scim_cfg_node_scalar(n) : NULL;
    char *end;
    if (!s || !*s)
        return false;
    *v = strtod(s, &end);
    return *end == '\0' && isfinite(*v);
}

static int add_value(scim_sweep_param *p, const char *v)
{
    char **n = realloc(p->values, (p->n + 1) * sizeof *n);
    if (!n)
        return -1;
    p->values = n;
    if (!(p->values[p->n] = strdup(v)))
        return -1;
    p->n++;
    return 0;
}

/* A parameter's values: a list, one scalar, or a map with exactly one of
 * values: [...], range: [from, to, step] (inclusive), pow2: [from, to]. */
static int parse_values(scim_sweep_param *p, const scim_cfg_node *n, scim_err *err)
{
    scim_cfg_kind kind = scim_cfg_node_kind(n);
    if (kind == SCIM_CFG_SCALAR)
        return add_value(p, scim_cfg_node_scalar(n)) ? scim_err_set(err, SCIM_ENOMEM, "out of memory") : 0;
    if (kind == SCIM_CFG_SEQ) {
        for (size_t i = 0; i < scim_cfg_node_count(n); i++) {
            const scim_cfg_node *it = scim_cfg_seq_item(n, i);
            if (scim_cfg_node_kind(it) != SCIM_CFG_SCALAR)
                return scim_cfg_error_at(err, it, SCIM_ECONFIG,
                                         "error: sweep value of '%s' must be a scalar; expected e.g. [16, 32, 64]",
                                         p->key);
            if (add_value(p, scim_cfg_node_scalar(it)))
                return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        }
        if (p->n == 0)
            return scim_cfg_error_at(err, n, SCIM_ECONFIG, "error: sweep parameter '%s' has no values", p->key);
        return 0;
    }
    if (scim_cfg_node_count(n) != 1)
        return scim_cfg_error_at(err, n, SCIM_ECONFIG,
                                 "error: sweep parameter '%s': expected a list, or one of {values: [...]}, "
                                 "{range: [from, to, step]}, {pow2: [from, to]}",
                                 p->key);
    const char *how = scim_cfg_map_key(n, 0);
    const scim_cfg_node *v = scim_cfg_map_value(n, 0);
    if (strcmp(how, "values") == 0)
        return parse_values(p, v, err);
    double a[3] = {0, 0, 1};
    size_t want = strcmp(how, "range") == 0 ? 3 : strcmp(how, "pow2") == 0 ? 2 : 0;
    if (!want)
        return scim_cfg_error_at(err, scim_cfg_map_key_node(n, 0), SCIM_ECONFIG,
                                 "error: sweep parameter '%s': unknown form '%s'; expected values, range or pow2",
                                 p->key, how);
    if (scim_cfg_node_kind(v) != SCIM_CFG_SEQ || scim_cfg_node_count(v) != want)
        return scim_cfg_error_at(err, v, SCIM_ECONFIG, "error: sweep parameter '%s': %s takes %s", p->key, how,
                                 want == 3 ? "[from, to, step]" : "[from, to]");
    for (size_t i = 0; i < want; i++)
        if (!num_of(scim_cfg_seq_item(v, i), &a[i]))
            return scim_cfg_error_at(err, scim_cfg_seq_item(v, i), SCIM_ECONFIG,
                                     "error: sweep parameter '%s': expected a plain number (no unit suffix)", p->key);
    char buf[64];
    if (want == 2) {
        if (a[0] <= 0 || a[1] < a[0] || exp2(round(log2(a[0]))) != a[0])
            return scim_cfg_error_at(err, v, SCIM_ECONFIG,
                                     "error: sweep parameter '%s': pow2 needs a power of two from <= to", p->key);
        for (double x = a[0]; x <= a[1] && p->n < MAX_RANGE_VALUES; x *= 2) {
            fmt_number(buf, sizeof buf, x);
            if (add_value(p, buf))
                return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        }
        return 0;
    }
    if (a[2] <= 0 || a[1] < a[0] || (a[1] - a[0]) / a[2] > MAX_RANGE_VALUES)
        return scim_cfg_error_at(err, v, SCIM_ECONFIG,
                                 "error: sweep parameter '%s': range needs from <= to and a step > 0 (at most "
                                 "100000 values)",
                                 p->key);
    /* by index, as many as fit from `from` to `to`: a step lost in the
     * rounding of large numbers would otherwise never pass `to` */
    size_t count = (size_t)floor((a[1] - a[0]) / a[2] + 1e-9) + 1;
    for (size_t i = 0; i < count; i++) {
        double x = a[0] + (double)i * a[2];
        if (x > a[1] + a[2] * 1e-9)
            break;
        fmt_number(buf, sizeof buf, x);
        if (p->n && strcmp(buf, p->values[p->n - 1]) == 0)
            return scim_cfg_error_at(err, v, SCIM_ECONFIG,
                                     "error: sweep parameter '%s': range step %.10g is too small to tell values "
                                     "apart near %s (10 significant digits); use a larger step, or list the values",
                                     p->key, a[2], buf);
        if (add_value(p, buf))
            return scim_err_set(err, SCIM_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_group(scim_sweep *sw, const scim_cfg_node *map, bool zip, scim_err *err)
{
    if (scim_cfg_node_kind(map) != SCIM_CFG_MAP)
        return scim_cfg_error_at(err, map, SCIM_ECONFIG, "error: sweep.%s must be a map of key path to values",
                                 zip ? "zip" : "parameters");
    for (size_t i = 0; i < scim_cfg_node_count(map); i++) {
        scim_sweep_param *n = realloc(sw->params, (sw->n_params + 1) * sizeof *n);
        if (!n)
            return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        sw->params = n;
        scim_sweep_param *p = &sw->params[sw->n_params++];
        memset(p, 0, sizeof *p);
        if (!(p->key = strdup(scim_cfg_map_key(map, i))))
            return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        for (size_t k = 0; k + 1 < sw->n_params; k++)
            if (strcmp(sw->params[k].key, p->key) == 0)
                return scim_cfg_error_at(err, scim_cfg_map_key_node(map, i), SCIM_ECONFIG,
                                         "error: '%s' is swept twice; list it once", p->key);
        int rc = parse_values(p, scim_cfg_map_value(map, i), err);
        if (rc)
            return rc;
        if (zip) {
            if (sw->zip_len && p->n != sw->zip_len)
                return scim_cfg_error_at(err, scim_cfg_map_value(map, i), SCIM_ECONFIG,
                                         "error: sweep.zip: '%s' has %zu values but the others have %zu; zipped "
                                         "parameters vary together and need as many values each",
                                         p->key, p->n, sw->zip_len);
            sw->zip_len = p->n;
        }
    }
    return 0;
}

int scim_sweep_parse(scim_sweep *sw, const scim_cfg *cfg, scim_err *err)
{
    const scim_cfg_node *s = scim_cfg_map_get(scim_cfg_root(cfg), "sweep");
    if (!s)
        return scim_err_set(err, SCIM_ECONFIG,
                            "%s: no sweep: section; add e.g.\n  sweep:\n    parameters:\n      "
                            "devices.nic0.iotlb.entries: {pow2: [16, 256]}",
                            scim_cfg_name(cfg));
    if (scim_cfg_node_kind(s) != SCIM_CFG_MAP)
        return scim_cfg_error_at(err, s, SCIM_ECONFIG, "error: sweep must be a map (parameters, zip, plot)");
    for (size_t i = 0; i < scim_cfg_node_count(s); i++) {
        const char *k = scim_cfg_map_key(s, i);
        if (strcmp(k, "parameters") && strcmp(k, "zip") && strcmp(k, "plot"))
            return scim_cfg_error_at(err, scim_cfg_map_key_node(s, i), SCIM_ECONFIG,
                                     "error: unknown key 'sweep.%s'; expected parameters, zip or plot", k);
    }
    const scim_cfg_node *pm = scim_cfg_map_get(s, "parameters"), *zm = scim_cfg_map_get(s, "zip");
    int rc;
    if (pm && (rc = parse_group(sw, pm, false, err)))
        return rc;
    sw->n_grid = sw->n_params;
    if (zm && (rc = parse_group(sw, zm, true, err)))
        return rc;
    if (sw->n_params == 0)
        return scim_cfg_error_at(err, s, SCIM_ECONFIG, "error: sweep has no parameters; add sweep.parameters");
    sw->n_points = 1;
    for (size_t i = 0; i < sw->n_grid; i++) {
        sw->n_points *= sw->params[i].n;
        if (sw->n_points > 10000000)
            return scim_cfg_error_at(err, s, SCIM_ECONFIG, "error: the sweep has more than 10 million points");
    }
    if (sw->zip_len)
        sw->n_points *= sw->zip_len;
    const scim_cfg_node *plot = scim_cfg_map_get(s, "plot");
    if (plot) {
        static const char *const keys[] = {"metric", "x", "series"};
        char **dst[] = {&sw->plot_metric, &sw->plot_x, &sw->plot_series};
        for (size_t i = 0; i < scim_cfg_node_count(plot); i++) {
            size_t k;
            for (k = 0; k < 3 && strcmp(scim_cfg_map_key(plot, i), keys[k]); k++)
                ;
            const char *v = scim_cfg_node_scalar(scim_cfg_map_value(plot, i));
            if (k == 3 || !v)
                return scim_cfg_error_at(err, scim_cfg_map_key_node(plot, i), SCIM_ECONFIG,
                                         "error: sweep.plot takes metric, x and series (scalars)");
            if (!*dst[k] && !(*dst[k] = strdup(v)))
                return scim_err_set(err, SCIM_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* The value of each swept key at point i: the grid's first dimension
 * varies slowest; the zip group is the last dimension. */
const char *scim_sweep_point_value(const scim_sweep *sw, size_t point, size_t which)
{
    /* Divide out every dimension that varies faster than this key's (the
     * ones after it); no array of indices, so any number of keys fits. */
    size_t want = which < sw->n_grid ? which : sw->n_grid;
    size_t rest = point;
    for (size_t d = sw->n_grid + (sw->zip_len ? 1 : 0) - 1; d > want; d--)
        rest /= d < sw->n_grid ? sw->params[d].n : sw->zip_len;
    size_t n = want < sw->n_grid ? sw->params[want].n : sw->zip_len;
    return sw->params[which].values[rest % n];
}

void scim_sweep_point_dir(const scim_sweep *sw, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%s/points/%06zu", sw->out, i);
}

/* The configuration a point runs (sweep section blanked, so editing the
 * plot does not invalidate results), as a hash. */
int scim_sweep_point_hash(const scim_sweep *sw, size_t i, uint64_t *h, scim_err *err)
{
    scim_cfg *cfg = scim_cfg_load_file(sw->config, err);
    if (!cfg)
        return err->code;
    int rc = 0;
    for (size_t k = 0; k < sw->n_sets && !rc; k++)
        rc = scim_cfg_set(cfg, sw->sets[k], err);
    for (size_t k = 0; k < sw->n_params && !rc; k++)
        rc = scim_cfg_set_kv(cfg, sw->params[k].key, scim_sweep_point_value(sw, i, k), err);
    if (!rc)
        rc = scim_cfg_set_kv(cfg, "sweep", "{}", err);
    if (!rc)
        *h = scim_cfg_hash(cfg);
    scim_cfg_destroy(cfg);
    return rc;
}

void scim_sweep_describe_point(const scim_sweep *sw, size_t i, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "point %zu (", i);
    for (size_t k = 0; k < sw->n_params && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", k ? ", " : "", sw->params[k].key,
                              scim_sweep_point_value(sw, i, k));
    if (n + 1 < len)
        snprintf(buf + n, len - n, ")");
    else if (len >= sizeof "...)") /* cut short: say so */
        memcpy(buf + len - sizeof "...)", "...)", sizeof "...)");
}

void scim_sweep_free(scim_sweep *sw)
{
    for (size_t k = 0; k < sw->n_params; k++) {
        for (size_t v = 0; v < sw->params[k].n; v++)
            free(sw->params[k].values[v]);
        free(sw->params[k].values);
        free(sw->params[k].key);
    }
    free(sw->params);
    free(sw->plot_metric);
    free(sw->plot_x);
    free(sw->plot_series);
    free(sw->out);
}

/* libFuzzer target: the command line's own inputs, `--set` strings and
 * sweep specs, as `scimitar run` and `scimitar sweep` take them.
 *
 * The input is lines of "--set key.path=value" (at most 32, each applied
 * in order as --set is), then a YAML document, usually with a sweep:
 * section. The target does what the CLI does before anything runs:
 *   - the overrides through the public API (scim_sim_load_string and
 *     scim_sim_set, as `scimitar run`) and through the tree (scim_cfg_set,
 *     as `scimitar sweep`): both accept or both refuse each one, and every
 *     refusal has a message;
 *   - the sweep: section parsed as `scimitar sweep` parses it
 *     (tools/sweep_spec.c); when it is accepted, the grid must hold: the
 *     point count is the product of the dimensions (the zip group one of
 *     them, all its lists as long), every point's values are the values of
 *     its dimensions, distinct points have distinct value tuples, a point's
 *     description fits any buffer, and each point's assignments apply to
 *     the tree (or are refused with a message), as point runs do.
 * A property violation traps (a crash for libFuzzer).
 *
 * Built with -fsanitize=fuzzer by CMake (-DSCIM_FUZZ=ON) with
 * tools/sweep_spec.c; tests/test_fuzz_corpus.c compiles this same file
 * without libFuzzer to replay fuzz/corpus/cli under the sanitizers in CI. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "scimitar/scimitar.h"
#include "sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_SETS 32
#define FZ_POINTS_CHECKED 256

static void fz_cli_need(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_cli: %s\n", what);
        __builtin_trap();
    }
}

/* The grid's properties (see the file comment). */
static void fz_cli_grid(const scim_sweep *sw, const scim_cfg *cfg)
{
    size_t want = 1;
    for (size_t k = 0; k < sw->n_grid; k++) {
        fz_cli_need(sw->params[k].n > 0, "a dimension without values");
        want *= sw->params[k].n;
    }
    for (size_t k = sw->n_grid; k < sw->n_params; k++)
        fz_cli_need(sw->params[k].n == sw->zip_len, "a zip list of another length");
    if (sw->zip_len)
        want *= sw->zip_len;
    fz_cli_need(want == sw->n_points, "the point count is not the product of the dimensions");
    size_t n = sw->n_points < FZ_POINTS_CHECKED ? sw->n_points : FZ_POINTS_CHECKED;
    const char **seen = calloc(n * sw->n_params + 1, sizeof *seen);
    if (!seen)
        return;
    for (size_t i = 0; i < n; i++) {
        /* the last points too, where an index overflow would show */
        size_t p = i < n / 2 ? i : sw->n_points - (n - i);
        for (size_t k = 0; k < sw->n_params; k++) {
            const char *v = scim_sweep_point_value(sw, p, k);
            bool member = false;
            for (size_t j = 0; j < sw->params[k].n && !member; j++)
                member = sw->params[k].values[j] == v;
            fz_cli_need(member, "a point value that is not one of its dimension's");
            seen[i * sw->n_params + k] = v;
        }
        char small[8], mid[40], big[4096];
        scim_sweep_describe_point(sw, p, small, sizeof small);
        scim_sweep_describe_point(sw, p, mid, sizeof mid);
        scim_sweep_describe_point(sw, p, big, sizeof big);
        fz_cli_need(strlen(small) < sizeof small && strlen(mid) < sizeof mid, "a description overran");
        fz_cli_need(strncmp(big, "point ", 6) == 0, "a description without its point");
    }
    /* distinct points, distinct tuples (the values are distinct pointers
     * per dimension entry, so pointer equality is index equality) */
    if (sw->n_points <= FZ_POINTS_CHECKED && sw->n_params <= 8)
        for (size_t a = 0; a < n; a++)
            for (size_t b = a + 1; b < n; b++)
                fz_cli_need(memcmp(&seen[a * sw->n_params], &seen[b * sw->n_params],
                                   sw->n_params * sizeof *seen) != 0,
                            "two points with the same values");
    free(seen);
    /* a point's assignments, as its run applies them */
    char *dump = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dump, &len);
    if (!f)
        return;
    scim_cfg_dump(cfg, f, NULL);
    fclose(f);
    scim_err err = {0};
    scim_cfg *copy = dump ? scim_cfg_load_string(dump, len, "dump.yaml", &err) : NULL;
    for (size_t k = 0; copy && k < sw->n_params; k++) {
        scim_err_clear(&err);
        if (scim_cfg_set_kv(copy, sw->params[k].key, scim_sweep_point_value(sw, sw->n_points - 1, k), &err) != 0)
            fz_cli_need(err.msg[0] != '\0', "a point's assignment refused without a message");
    }
    scim_cfg_destroy(copy);
    free(dump);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || memchr(data, '\0', size))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *sets[FZ_MAX_SETS];
    size_t n_sets = 0;
    char *yaml = text;
    while (n_sets < FZ_MAX_SETS && strncmp(yaml, "--set ", 6) == 0) {
        char *nl = strchr(yaml, '\n');
        sets[n_sets++] = yaml + 6;
        if (!nl) {
            yaml += strlen(yaml);
            break;
        }
        *nl = '\0';
        yaml = nl + 1;
    }
    size_t ylen = strlen(yaml);

    /* `scimitar run`: the public API */
    scim_sim *sim = scim_sim_create();
    int api_load = sim ? scim_sim_load_string(sim, yaml, "fuzz.yaml") : -1;
    /* `scimitar sweep`: the tree */
    scim_err err = {0};
    scim_cfg *cfg = scim_cfg_load_string(yaml, ylen, "fuzz.yaml", &err);
    fz_cli_need(cfg || (err.code && err.msg[0]), "a configuration refused without a message");
    if (sim)
        fz_cli_need((api_load == 0) == (cfg != NULL), "the API and the tree disagree on the configuration");
    for (size_t i = 0; cfg && i < n_sets; i++) {
        scim_err_clear(&err);
        int t = scim_cfg_set(cfg, sets[i], &err);
        fz_cli_need(t == 0 || err.msg[0], "a --set refused without a message");
        if (sim && api_load == 0) {
            int a = scim_sim_set(sim, sets[i]);
            fz_cli_need((a == 0) == (t == 0), "scim_sim_set and scim_cfg_set disagree on a --set");
            fz_cli_need(a == 0 || scim_sim_errmsg(sim)[0], "scim_sim_set refused without a message");
        }
        if (t != 0) {
            scim_cfg_destroy(cfg);
            cfg = NULL;
        }
    }
    if (cfg) {
        scim_sweep sw = {.jobs = 1, .config = "fuzz.yaml"};
        scim_err_clear(&err);
        if (scim_sweep_parse(&sw, cfg, &err) == 0)
            fz_cli_grid(&sw, cfg);
        else
            fz_cli_need(err.msg[0] != '\0', "a sweep refused without a message");
        scim_sweep_free(&sw);
    }
    scim_cfg_destroy(cfg);
    scim_sim_destroy(sim);
    free(text);
    return 0;
}

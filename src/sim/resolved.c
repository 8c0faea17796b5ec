/* The configuration as run (scim_sim_write_config): the loaded document
 * with every --set applied, every key every component reads filled in
 * with its default where the document left it out (defaults as the
 * tables write them, a fault profile's included), and trace paths made
 * absolute, so that loading the file anywhere builds the same model. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim_internal.h"

/* Add key = default under `prefix` where the document has no such key. */
static int fill(scim_cfg *cfg, const char *prefix, const scim_param_decl *decls, size_t n, scim_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const scim_param_decl *d = &decls[i];
        if (d->type == SCIM_P_NODE || !d->def || !d->def[0])
            continue;
        char key[512];
        snprintf(key, sizeof key, "%s%s", prefix, d->key);
        if (scim_cfg_get_path(scim_cfg_root(cfg), key))
            continue;
        int rc = scim_cfg_set_kv(cfg, key, d->def, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* A kind's tables for one instance: its own, then the tables of its list
 * entries ("processes.<name>.regions[]." fills every region). */
static int fill_component(scim_sim *sim, scim_cfg *cfg, const scim_component *c, scim_err *err)
{
    const scim_component_kind *k = c->kind;
    char prefix[256];
    if (k->named)
        snprintf(prefix, sizeof prefix, "%s.%s.", k->section, c->name);
    else
        snprintf(prefix, sizeof prefix, "%s.", k->section);
    const scim_param_doc *own = &k->params[0];
    scim_param_decl *adjusted = NULL;
    const scim_param_decl *decls = own->decls;
    if (k->adjust_decls) {
        if (!(adjusted = malloc(*own->count * sizeof *adjusted)))
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        k->adjust_decls(c->node, adjusted);
        decls = adjusted;
    }
    int rc = fill(cfg, prefix, decls, *own->count, err);
    free(adjusted);
    for (const scim_param_doc *t = &k->params[1]; !rc && t->decls; t++) {
        const char *list = strstr(t->prefix, "[].");
        if (!list)
            continue;
        /* the list key is the last component before "[]" */
        const char *start = list;
        while (start > t->prefix && start[-1] != '.')
            start--;
        char path[512];
        snprintf(path, sizeof path, "%s%.*s", prefix, (int)(list - start), start);
        const scim_cfg_node *seq = scim_cfg_get_path(scim_cfg_root(cfg), path);
        for (size_t i = 0; !rc && seq && i < scim_cfg_node_count(seq); i++) {
            char item[560];
            snprintf(item, sizeof item, "%s.%zu.", path, i);
            rc = fill(cfg, item, t->decls, *t->count, err);
        }
    }
    /* trace paths: absolute, so the file works from anywhere */
    for (size_t i = 0; !rc && i < *own->count; i++) {
        const scim_param_decl *d = &own->decls[i];
        if (d->type != SCIM_P_STRING || strcmp(d->key, "trace") != 0)
            continue;
        const char *path = *(const char *const *)((const char *)c->params + d->offset);
        char abs[PATH_MAX], key[300];
        if (!path || !path[0] || !realpath(path, abs))
            continue;
        snprintf(key, sizeof key, "%strace", prefix);
        /* quoted: a path is a string whatever it looks like */
        char *quoted = malloc(strlen(abs) * 2 + 3);
        if (!quoted)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        char *q = quoted;
        *q++ = '\'';
        for (const char *s = abs; *s; s++) {
            if (*s == '\'')
                *q++ = '\'';
            *q++ = *s;
        }
        *q++ = '\'';
        *q = '\0';
        rc = scim_cfg_set_kv(cfg, key, quoted, err);
        free(quoted);
    }
    return rc;
}

static scim_cfg *resolved(scim_sim *sim, scim_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f || scim_cfg_dump(sim->cfg, f, err)) {
        if (f)
            fclose(f);
        free(text);
        return NULL;
    }
    fclose(f);
    scim_cfg *cfg = scim_cfg_load_string(text, len, scim_cfg_name(sim->cfg), err);
    free(text);
    if (!cfg)
        return NULL;
    int rc = fill(cfg, "", scim_top_param_decls, scim_top_param_decl_count, err);
    for (size_t i = 0; !rc && i < sim->n_comps; i++)
        rc = fill_component(sim, cfg, &sim->comps[i], err);
    if (rc) {
        scim_cfg_destroy(cfg);
        return NULL;
    }
    return cfg;
}

int scim_sim_dump_config(scim_sim *sim, FILE *out)
{
    if (!sim)
        return SCIM_EINVAL;
    scim_err_clear(&sim->err);
    if (!out)
        return scim_sim_fail(sim, SCIM_EINVAL, "scim_sim_dump_config: no stream");
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "scim_sim_dump_config: build the simulation first");
    scim_err e = {0};
    scim_cfg *cfg = resolved(sim, &e);
    if (!cfg)
        return scim_sim_fail(sim, e.code ? e.code : SCIM_ENOMEM, "resolving the configuration: %s", e.msg);
    fprintf(out, "# The configuration as run by scimitar %s: every key with its value (defaults filled in).\n"
                 "# `scimitar run` on this file builds the same model.\n",
            scim_version_string());
    int rc = scim_cfg_dump(cfg, out, &e);
    scim_cfg_destroy(cfg);
    return rc ? scim_sim_fail(sim, rc, "%s", e.msg) : 0;
}

int scim_sim_write_config(scim_sim *sim, const char *path)
{
    if (!sim)
        return SCIM_EINVAL;
    scim_err_clear(&sim->err);
    if (!path || !path[0])
        return scim_sim_fail(sim, SCIM_EINVAL, "scim_sim_write_config: no path");
    if (!sim->built)
        return scim_sim_fail(sim, SCIM_ESTATE, "scim_sim_write_config: build the simulation first");
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out)
        return scim_sim_fail(sim, SCIM_EIO, "could not write %s: %s; fix: choose a writable output directory", path,
                             strerror(errno));
    int rc = scim_sim_dump_config(sim, out);
    if (fclose(out) != 0 && !rc)
        rc = scim_sim_fail(sim, SCIM_EIO, "could not write %s: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = scim_sim_fail(sim, SCIM_EIO, "could not write %s: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

uint64_t scim_sim_seed(const scim_sim *sim) { return sim && sim->built ? sim->top.seed : 0; }

/* Configuration: binding a map to a component's parameter table, with
 * the errors for missing, mistyped and unknown keys. Contract in
 * core/config.h. */
#include "core/config_internal.h"

#include <string.h>

static const scim_cfg_node *lookup_dotted(const scim_cfg_node *map, const char *key, const scim_cfg_node **bad)
{
    const scim_cfg_node *cur = map;
    const char *p = key;
    *bad = NULL;
    while (cur) {
        const char *dot = strchr(p, '.');
        if (cur->kind != SCIM_CFG_MAP) {
            if (cur->is_null)
                return NULL;
            *bad = cur;
            return NULL;
        }
        char seg[128];
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        cur = scim_cfg_map_get(cur, seg);
        if (!dot)
            return cur;
        p = dot + 1;
    }
    return NULL;
}

static void full_key(char *buf, size_t len, const char *where, const char *key)
{
    if (where && *where)
        snprintf(buf, len, "%s.%s", where, key);
    else
        snprintf(buf, len, "%s", key);
}

/* Keys of a (sub)map that decls name: a leaf, or a prefix of deeper decls. */
static int check_unknown(const scim_cfg_node *map, const char *prefix, const char *where,
                         const scim_param_decl *decls, size_t n, const char *const *extra, scim_err *err)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i];
        char full[256];
        snprintf(full, sizeof full, "%s%s", prefix, k);
        size_t flen = strlen(full);
        bool leaf = false, inner = false;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(decls[j].key, full) == 0)
                leaf = true;
            else if (strncmp(decls[j].key, full, flen) == 0 && decls[j].key[flen] == '.')
                inner = true;
        }
        for (size_t j = 0; !leaf && plen == 0 && extra && extra[j]; j++)
            if (strcmp(extra[j], k) == 0)
                leaf = true;
        if (leaf)
            continue;
        if (inner) {
            const scim_cfg_node *v = map->vals[i];
            if (v->kind == SCIM_CFG_MAP) {
                char sub[260];
                snprintf(sub, sizeof sub, "%s.", full);
                int rc = check_unknown(v, sub, where, decls, n, extra, err);
                if (rc)
                    return rc;
            } else if (!v->is_null) {
                char fk[300];
                full_key(fk, sizeof fk, where, full);
                return scim_cfg_error_at(err, v, SCIM_ECONFIG,
                                         "error: key '%s' must be a map of settings, not a %s", fk,
                                         v->kind == SCIM_CFG_SEQ ? "list" : "single value");
            }
            continue;
        }
        /* unknown: list the valid names at this level and suggest one */
        char list[600] = "";
        const char *best = NULL;
        size_t best_d = 99;
        for (size_t j = 0; j < n; j++) {
            if (strncmp(decls[j].key, prefix, plen) != 0)
                continue;
            const char *seg = decls[j].key + plen;
            size_t slen = strcspn(seg, ".");
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)slen, seg);
            bool dup = false;
            for (size_t q = 0; q < j; q++)
                if (strncmp(decls[q].key, prefix, plen) == 0 && strncmp(decls[q].key + plen, name, slen) == 0 &&
                    (decls[q].key[plen + slen] == '.' || decls[q].key[plen + slen] == '\0'))
                    dup = true;
            if (dup)
                continue;
            strncat(list, *list ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, name, sizeof list - strlen(list) - 1);
            size_t dd = scim_cfg_edit_distance(k, name);
            if (dd < best_d) {
                best_d = dd;
                best = decls[j].key + plen;
            }
        }
        /* keys accepted for the caller to bind are valid here too */
        for (size_t j = 0; plen == 0 && extra && extra[j]; j++) {
            strncat(list, *list ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, extra[j], sizeof list - strlen(list) - 1);
            size_t dd = scim_cfg_edit_distance(k, extra[j]);
            if (dd < best_d) {
                best_d = dd;
                best = extra[j];
            }
        }
        char fk[300];
        full_key(fk, sizeof fk, where, full);
        if (best && best_d <= 2 && best_d < strlen(k)) {
            char bname[128];
            snprintf(bname, sizeof bname, "%.*s", (int)strcspn(best, "."), best);
            return scim_cfg_error_at(err, map->key_nodes[i], SCIM_ECONFIG,
                                     "error: unknown key '%s'; did you mean '%s'? (valid here: %s)", fk, bname, list);
        }
        return scim_cfg_error_at(err, map->key_nodes[i], SCIM_ECONFIG, "error: unknown key '%s'; valid here: %s", fk,
                                 list);
    }
    return 0;
}

int scim_cfg_bind(const scim_cfg_node *map, const char *where, const scim_param_decl *decls, size_t n, void *out,
                  const char *const *extra_keys, scim_err *err)
{
    if (map && map->kind != SCIM_CFG_MAP) {
        if (map->is_null)
            map = NULL;
        else
            return scim_cfg_error_at(err, map, SCIM_ECONFIG, "error: '%s' must be a map of settings, not a %s",
                                     where && *where ? where : "(top level)",
                                     map->kind == SCIM_CFG_SEQ ? "list" : "single value");
    }
    for (size_t i = 0; i < n; i++) {
        const scim_param_decl *d = &decls[i];
        void *field = (char *)out + d->offset;
        const scim_cfg_node *bad = NULL;
        const scim_cfg_node *v = map ? lookup_dotted(map, d->key, &bad) : NULL;
        char fk[300];
        full_key(fk, sizeof fk, where, d->key);
        if (bad)
            return scim_cfg_error_at(err, bad, SCIM_ECONFIG, "error: a map is needed above key '%s'", fk);
        if (d->type == SCIM_P_NODE) {
            *(const scim_cfg_node **)field = (v && !v->is_null) ? v : NULL;
            continue;
        }
        char why[400];
        if (!v || (v->is_null && d->type != SCIM_P_STRING)) {
            if (v && v->is_null)
                return scim_cfg_error_at(err, v, SCIM_ECONFIG, "error: key '%s': expected %s, got nothing", fk,
                                         scim_cfg_type_expect(d));
            if (!d->def)
                return scim_cfg_error_at(err, map, SCIM_ECONFIG,
                                         "error: missing required key '%s'; add it (%s)", fk, d->doc);
            if (d->type == SCIM_P_STRING) {
                *(const char **)field = d->def;
                continue;
            }
            int rc = scim_cfg_parse_value(d, d->def, field, why, sizeof why);
            if (rc)
                return scim_err_set(err, SCIM_EINVAL, "internal: default '%s' of '%s' is invalid: %s", d->def, fk, why);
            continue;
        }
        if (v->kind != SCIM_CFG_SCALAR)
            return scim_cfg_error_at(err, v, SCIM_ECONFIG, "error: key '%s': expected %s, got a %s", fk,
                                     scim_cfg_type_expect(d), v->kind == SCIM_CFG_MAP ? "map" : "list");
        if (d->type == SCIM_P_STRING) {
            if (!*v->scalar)
                return scim_cfg_error_at(err, v, SCIM_ECONFIG, "error: key '%s': expected a non-empty string", fk);
            *(const char **)field = v->scalar;
            continue;
        }
        int rc = scim_cfg_parse_value(d, v->scalar, field, why, sizeof why);
        if (rc)
            return scim_cfg_error_at(err, v, SCIM_ECONFIG, "error: key '%s': %s, got '%s'", fk, why, v->scalar);
    }
    if (map)
        return check_unknown(map, "", where, decls, n, extra_keys, err);
    return 0;
}

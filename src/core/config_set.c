/* Configuration: --set key.path=value overrides, applied to a loaded
 * tree. Contract in core/config.h. */
#include "core/config_internal.h"

#include <stdlib.h>
#include <string.h>

int scim_cfg_set_kv(scim_cfg *cfg, const char *key, const char *value, scim_err *err)
{
    char assign[4096];
    if (snprintf(assign, sizeof assign, "%s=%s", key, value) >= (int)sizeof assign)
        return scim_err_set(err, SCIM_EINVAL, "--set %s: too long", key);
    return scim_cfg_set(cfg, assign, err);
}

/* The child of cur that an assignment creates: v itself at the path's last
 * component, else an empty map to descend into; keyed by name in a map,
 * appended to a list. NULL when out of memory, with v freed. */
static scim_cfg_node *add_child(scim_cfg *cfg, scim_cfg_node *cur, const char *name, int col, bool last,
                                scim_cfg_node *v)
{
    bool map = cur->kind == SCIM_CFG_MAP;
    scim_cfg_node *kn = map ? scim_cfg_node_new(SCIM_CFG_SCALAR, cfg->set_name, 1, col) : NULL;
    char *k = map ? strdup(name) : NULL;
    scim_cfg_node *fresh = last ? v : scim_cfg_node_new(SCIM_CFG_MAP, cfg->set_name, 1, col);
    if (kn)
        kn->scalar = strdup(name);
    if ((map && (!kn || !kn->scalar || !k)) || !fresh || !scim_cfg_node_push(cur, k, kn, fresh)) {
        scim_cfg_node_free(kn);
        free(k);
        if (fresh != v)
            scim_cfg_node_free(fresh);
        scim_cfg_node_free(v);
        return NULL;
    }
    return fresh;
}

int scim_cfg_set(scim_cfg *cfg, const char *assignment, scim_err *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return scim_err_set(err, SCIM_EINVAL, "--set:1:1: error: '%s' has no '='; write --set key.path=value",
                            assignment);
    if (eq == assignment)
        return scim_err_set(err, SCIM_EINVAL, "--set:1:1: error: empty key in '%s'; write --set key.path=value",
                            assignment);
    /* Check the whole path first: a failed override must not leave the maps
     * it created on the way. */
    for (const char *q = assignment;;) {
        const char *dot = memchr(q, '.', (size_t)(eq - q));
        size_t len = dot ? (size_t)(dot - q) : (size_t)(eq - q);
        int col = (int)(q - assignment) + 1;
        if (len == 0)
            return scim_err_set(err, SCIM_EINVAL, "--set:1:%d: error: empty path component in '%.*s'", col,
                                (int)(eq - assignment), assignment);
        if (len >= 256)
            return scim_err_set(err, SCIM_EINVAL, "--set:1:%d: error: path component too long", col);
        if (!dot)
            break;
        q = dot + 1;
    }
    const char *value = eq + 1;
    int value_col = (int)(value - assignment);
    /* parse the value as a YAML document */
    scim_cfg_node *v = scim_cfg_parse_yaml(cfg->set_name, NULL, value, strlen(value), value_col,
                                           strchr(value, '\n') ? -1 : (int)strlen(value), false, err);
    if (!v) {
        if (err && err->code)
            return err->code;
        v = scim_cfg_node_new(SCIM_CFG_SCALAR, cfg->set_name, 1, value_col + 1);
        if (!v || !(v->scalar = strdup(""))) {
            scim_cfg_node_free(v);
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        }
        v->is_null = true;
    }
    scim_cfg_node *cur = cfg->root;
    const char *seg = assignment;
    for (;;) {
        const char *dot = memchr(seg, '.', (size_t)(eq - seg));
        size_t len = dot ? (size_t)(dot - seg) : (size_t)(eq - seg);
        int col = (int)(seg - assignment) + 1;
        char name[256]; /* 1..255 characters: checked above */
        memcpy(name, seg, len);
        name[len] = '\0';
        bool last = dot == NULL;
        size_t idx;
        scim_cfg_node **slot = NULL;
        if (cur->kind == SCIM_CFG_SEQ) {
            if (!scim_cfg_is_index(name, len, &idx)) {
                scim_cfg_node_free(v);
                return scim_err_set(err, SCIM_EINVAL,
                                    "--set:1:%d: error: '%s' indexes a list; use a number (0..%zu)", col, name,
                                    cur->n);
            }
            if (idx > cur->n) {
                scim_cfg_node_free(v);
                return scim_err_set(err, SCIM_EINVAL,
                                    "--set:1:%d: error: index %zu is beyond the list's end (it has %zu items; "
                                    "%zu appends)",
                                    col, idx, cur->n, cur->n);
            }
            if (idx < cur->n)
                slot = &cur->vals[idx];
        } else {
            if (cur->kind != SCIM_CFG_MAP) {
                scim_cfg_node_free(v);
                return scim_err_set(err, SCIM_EINVAL, "--set:1:%d: error: cannot descend into a scalar", col);
            }
            for (size_t i = 0; i < cur->n; i++)
                if (strcmp(cur->keys[i], name) == 0)
                    slot = &cur->vals[i];
        }
        if (!slot) { /* a new list item (index == length) or a new key */
            scim_cfg_node *fresh = add_child(cfg, cur, name, col, last, v);
            if (!fresh)
                return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
            if (last)
                return 0;
            cur = fresh;
            seg = dot + 1;
            continue;
        }
        if (last) {
            scim_cfg_node_free(*slot);
            *slot = v;
            return 0;
        }
        if ((*slot)->kind == SCIM_CFG_SCALAR) {
            /* the user asked for a deeper key: the scalar becomes a map */
            scim_cfg_node *fresh = scim_cfg_node_new(SCIM_CFG_MAP, cfg->set_name, 1, col);
            if (!fresh) {
                scim_cfg_node_free(v);
                return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
            }
            scim_cfg_node_free(*slot);
            *slot = fresh;
        }
        cur = *slot;
        seg = dot + 1;
    }
}

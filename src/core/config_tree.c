/* Configuration: the document tree of located nodes, access to it, and
 * errors located at a node. Contract in core/config.h. */
#include "core/config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---------- nodes ---------- */

scim_cfg_node *scim_cfg_node_new(scim_cfg_kind kind, const char *file, int line, int col)
{
    scim_cfg_node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->file = file;
        n->line = line;
        n->col = col;
    }
    return n;
}

void scim_cfg_node_free(scim_cfg_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        if (n->key_nodes)
            scim_cfg_node_free(n->key_nodes[i]);
        scim_cfg_node_free(n->vals[i]);
    }
    free(n->keys);
    free(n->key_nodes);
    free(n->vals);
    free(n->scalar);
    free(n);
}

bool scim_cfg_node_push(scim_cfg_node *parent, char *key, scim_cfg_node *key_node, scim_cfg_node *val)
{
    if (parent->n == parent->cap) {
        size_t nc = parent->cap ? parent->cap * 2 : 8;
        scim_cfg_node **nv = realloc(parent->vals, nc * sizeof *nv);
        if (!nv)
            return false;
        parent->vals = nv;
        if (parent->kind == SCIM_CFG_MAP) {
            char **nk = realloc(parent->keys, nc * sizeof *nk);
            if (!nk)
                return false;
            parent->keys = nk;
            scim_cfg_node **nkn = realloc(parent->key_nodes, nc * sizeof *nkn);
            if (!nkn)
                return false;
            parent->key_nodes = nkn;
        }
        parent->cap = nc;
    }
    if (parent->kind == SCIM_CFG_MAP) {
        parent->keys[parent->n] = key;
        parent->key_nodes[parent->n] = key_node;
    }
    parent->vals[parent->n++] = val;
    return true;
}

scim_cfg_node *scim_cfg_node_copy(const scim_cfg_node *src, size_t *count)
{
    if (++*count > SCIM_CFG_MAX_NODES)
        return NULL;
    scim_cfg_node *n = scim_cfg_node_new(src->kind, src->file, src->line, src->col);
    if (!n)
        return NULL;
    n->is_null = src->is_null;
    if (src->scalar && !(n->scalar = strdup(src->scalar)))
        goto fail;
    for (size_t i = 0; i < src->n; i++) {
        char *k = NULL;
        scim_cfg_node *kn = NULL;
        if (src->kind == SCIM_CFG_MAP) {
            k = strdup(src->keys[i]);
            kn = scim_cfg_node_copy(src->key_nodes[i], count);
        }
        scim_cfg_node *v = scim_cfg_node_copy(src->vals[i], count);
        if ((src->kind == SCIM_CFG_MAP && (!k || !kn)) || !v || !scim_cfg_node_push(n, k, kn, v)) {
            free(k);
            scim_cfg_node_free(kn);
            scim_cfg_node_free(v);
            goto fail;
        }
    }
    return n;
fail:
    scim_cfg_node_free(n);
    return NULL;
}

/* ---------- errors ---------- */

void scim_cfg_node_where(const scim_cfg_node *n, char *buf, size_t len)
{
    if (!n)
        snprintf(buf, len, "(configuration)");
    else
        snprintf(buf, len, "%s:%d:%d", n->file, n->line, n->col);
}

int scim_cfg_error_at(scim_err *err, const scim_cfg_node *n, int code, const char *fmt, ...)
{
    char where[512], msg[900];
    scim_cfg_node_where(n, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return scim_err_set(err, code, "%s: %s", where, msg);
}

/* ---------- documents ---------- */

scim_cfg *scim_cfg_new_empty(const char *name)
{
    scim_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->name = strdup(name ? name : "(empty)");
    cfg->set_name = strdup("--set");
    if (cfg->name)
        cfg->root = scim_cfg_node_new(SCIM_CFG_MAP, cfg->name, 1, 1);
    if (!cfg->name || !cfg->set_name || !cfg->root) {
        scim_cfg_destroy(cfg);
        return NULL;
    }
    return cfg;
}

void scim_cfg_destroy(scim_cfg *cfg)
{
    if (!cfg)
        return;
    scim_cfg_node_free(cfg->root);
    free(cfg->name);
    free(cfg->set_name);
    free(cfg);
}

/* ---------- access ---------- */

const scim_cfg_node *scim_cfg_root(const scim_cfg *cfg) { return cfg->root; }
const char *scim_cfg_name(const scim_cfg *cfg) { return cfg->name; }
scim_cfg_kind scim_cfg_node_kind(const scim_cfg_node *n) { return n->kind; }
const char *scim_cfg_node_scalar(const scim_cfg_node *n) { return n && n->kind == SCIM_CFG_SCALAR ? n->scalar : NULL; }
const char *scim_cfg_node_file(const scim_cfg_node *n) { return n->file; }
int scim_cfg_node_line(const scim_cfg_node *n) { return n->line; }
int scim_cfg_node_col(const scim_cfg_node *n) { return n->col; }
size_t scim_cfg_node_count(const scim_cfg_node *n) { return n && n->kind != SCIM_CFG_SCALAR ? n->n : 0; }
const char *scim_cfg_map_key(const scim_cfg_node *m, size_t i) { return m->keys[i]; }
const scim_cfg_node *scim_cfg_map_key_node(const scim_cfg_node *m, size_t i) { return m->key_nodes[i]; }
const scim_cfg_node *scim_cfg_map_value(const scim_cfg_node *m, size_t i) { return m->vals[i]; }
const scim_cfg_node *scim_cfg_seq_item(const scim_cfg_node *s, size_t i) { return i < s->n ? s->vals[i] : NULL; }

const scim_cfg_node *scim_cfg_map_get(const scim_cfg_node *m, const char *key)
{
    if (!m || m->kind != SCIM_CFG_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    return NULL;
}

bool scim_cfg_is_index(const char *s, size_t len, size_t *out)
{
    if (len == 0 || len > 9)
        return false;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

const scim_cfg_node *scim_cfg_get_path(const scim_cfg_node *node, const char *path)
{
    const char *p = path;
    while (node && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char seg[256];
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        size_t idx;
        if (node->kind == SCIM_CFG_SEQ && scim_cfg_is_index(seg, len, &idx))
            node = idx < node->n ? node->vals[idx] : NULL;
        else
            node = scim_cfg_map_get(node, seg);
        p = dot ? dot + 1 : p + len;
    }
    return node;
}


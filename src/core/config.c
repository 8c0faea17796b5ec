/* Configuration: YAML (libyaml event API) -> a tree of located nodes ->
 * table-driven binding. Contract in include/scimitar/config.h. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#define MAX_NODES 1000000
#define MAX_DEPTH 64

struct scim_cfg_node {
    scim_cfg_kind kind;
    bool is_null;
    int line, col;
    const char *file;
    char *scalar;
    /* map: keys[i] -> vals[i] (key_nodes keep the key's location); seq: vals */
    char **keys;
    scim_cfg_node **key_nodes;
    scim_cfg_node **vals;
    size_t n, cap;
};

struct scim_cfg {
    char *name;
    char *set_name; /* "--set", the file name of overrides */
    scim_cfg_node *root;
};

/* ---------- nodes ---------- */

static scim_cfg_node *node_new(scim_cfg_kind kind, const char *file, int line, int col)
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

static void node_free(scim_cfg_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        if (n->key_nodes)
            node_free(n->key_nodes[i]);
        node_free(n->vals[i]);
    }
    free(n->keys);
    free(n->key_nodes);
    free(n->vals);
    free(n->scalar);
    free(n);
}

static bool node_push(scim_cfg_node *parent, char *key, scim_cfg_node *key_node, scim_cfg_node *val)
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

static scim_cfg_node *node_copy(const scim_cfg_node *src, size_t *count)
{
    if (++*count > MAX_NODES)
        return NULL;
    scim_cfg_node *n = node_new(src->kind, src->file, src->line, src->col);
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
            kn = node_copy(src->key_nodes[i], count);
        }
        scim_cfg_node *v = node_copy(src->vals[i], count);
        if ((src->kind == SCIM_CFG_MAP && (!k || !kn)) || !v || !node_push(n, k, kn, v)) {
            free(k);
            node_free(kn);
            node_free(v);
            goto fail;
        }
    }
    return n;
fail:
    node_free(n);
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

/* ---------- parsing ---------- */

typedef struct anchor {
    char *name;
    const scim_cfg_node *node;
} anchor;

typedef struct parser {
    yaml_parser_t yp;
    const char *file;
    scim_err *err;
    anchor *anchors;
    size_t n_anchors;
    size_t nodes;
    int line_offset, col_offset; /* for --set values */
    int one_line_len;            /* --set value on one line: its length; else -1 */
} parser;

/* A mark as 1-based line and column. The column offset of a --set value
 * applies to its first line only; libyaml puts the end of the stream at
 * column 0 of the line after the last, which for a one-line value is
 * reported just past its end. */
static int at_line(const parser *p, yaml_mark_t m)
{
    if (p->one_line_len >= 0 && m.line > 0)
        return 1 + p->line_offset;
    return (int)m.line + 1 + p->line_offset;
}

static int at_col(const parser *p, yaml_mark_t m)
{
    if (p->one_line_len >= 0 && m.line > 0)
        return p->col_offset + p->one_line_len + 1;
    return (int)m.column + 1 + (m.line == 0 ? p->col_offset : 0);
}

static int yaml_error(parser *p)
{
    const char *problem = p->yp.problem ? p->yp.problem : "malformed YAML";
    yaml_mark_t m = p->yp.problem_mark;
    if (p->yp.context)
        return scim_err_set(p->err, SCIM_EPARSE,
                            "%s:%d:%d: error: %s %s (line %d); check indentation, colons and quotes", p->file,
                            at_line(p, m), at_col(p, m), problem, p->yp.context, at_line(p, p->yp.context_mark));
    return scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: %s; check indentation, colons and quotes", p->file,
                        at_line(p, m), at_col(p, m), problem);
}

static bool tag_ok(const yaml_char_t *tag)
{
    if (!tag)
        return true;
    static const char *const ok[] = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                                     "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
                                     "tag:yaml.org,2002:seq", "!"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp((const char *)tag, ok[i]) == 0)
            return true;
    return false;
}

static bool register_anchor(parser *p, const yaml_char_t *name, const scim_cfg_node *n)
{
    if (!name)
        return true;
    anchor *na = realloc(p->anchors, (p->n_anchors + 1) * sizeof *na);
    if (!na)
        return false;
    p->anchors = na;
    char *s = strdup((const char *)name);
    if (!s)
        return false;
    p->anchors[p->n_anchors++] = (anchor){s, n};
    return true;
}

static scim_cfg_node *parse_node(parser *p, yaml_event_t *ev, int depth);

static scim_cfg_node *parse_scalar(parser *p, yaml_event_t *ev)
{
    if (!tag_ok(ev->data.scalar.tag)) {
        scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: unsupported YAML tag '%s'; remove it", p->file,
                     at_line(p, ev->start_mark), at_col(p, ev->start_mark), (const char *)ev->data.scalar.tag);
        return NULL;
    }
    scim_cfg_node *n = node_new(SCIM_CFG_SCALAR, p->file, at_line(p, ev->start_mark), at_col(p, ev->start_mark));
    if (!n || !(n->scalar = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length))) {
        node_free(n);
        scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
        return NULL;
    }
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (!strcmp(n->scalar, "") || !strcmp(n->scalar, "~") || !strcmp(n->scalar, "null") ||
         !strcmp(n->scalar, "Null") || !strcmp(n->scalar, "NULL")))
        n->is_null = true;
    if (!register_anchor(p, ev->data.scalar.anchor, n)) {
        node_free(n);
        scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
        return NULL;
    }
    return n;
}

static bool next_event(parser *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&p->yp, ev)) {
        yaml_error(p);
        return false;
    }
    return true;
}

static scim_cfg_node *parse_collection(parser *p, yaml_event_t *start, int depth)
{
    bool is_map = start->type == YAML_MAPPING_START_EVENT;
    const yaml_char_t *tag = is_map ? start->data.mapping_start.tag : start->data.sequence_start.tag;
    const yaml_char_t *anchor_name = is_map ? start->data.mapping_start.anchor : start->data.sequence_start.anchor;
    if (!tag_ok(tag)) {
        scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: unsupported YAML tag '%s'; remove it", p->file,
                     at_line(p, start->start_mark), at_col(p, start->start_mark), (const char *)tag);
        return NULL;
    }
    if (depth > MAX_DEPTH) {
        scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: nesting deeper than %d levels", p->file,
                     at_line(p, start->start_mark), at_col(p, start->start_mark), MAX_DEPTH);
        return NULL;
    }
    scim_cfg_node *n = node_new(is_map ? SCIM_CFG_MAP : SCIM_CFG_SEQ, p->file, at_line(p, start->start_mark),
                                at_col(p, start->start_mark));
    if (!n) {
        scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
        return NULL;
    }
    if (!register_anchor(p, anchor_name, n)) {
        node_free(n);
        scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
        return NULL;
    }
    for (;;) {
        yaml_event_t ev;
        if (!next_event(p, &ev))
            goto fail;
        if (ev.type == (is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
            yaml_event_delete(&ev);
            return n;
        }
        char *key = NULL;
        scim_cfg_node *key_node = NULL;
        if (is_map) {
            if (ev.type != YAML_SCALAR_EVENT) {
                scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: map keys must be plain names, not %s",
                             p->file, at_line(p, ev.start_mark), at_col(p, ev.start_mark),
                             ev.type == YAML_ALIAS_EVENT ? "aliases" : "maps or lists");
                yaml_event_delete(&ev);
                goto fail;
            }
            key_node = parse_scalar(p, &ev);
            yaml_event_delete(&ev);
            if (!key_node)
                goto fail;
            for (size_t i = 0; i < n->n; i++) {
                if (strcmp(n->keys[i], key_node->scalar) == 0) {
                    scim_err_set(p->err, SCIM_EPARSE,
                                 "%s:%d:%d: error: duplicate key '%s' (first at line %d); keep one", p->file,
                                 key_node->line, key_node->col, key_node->scalar, n->key_nodes[i]->line);
                    node_free(key_node);
                    goto fail;
                }
            }
            key = strdup(key_node->scalar);
            if (!key || !next_event(p, &ev)) {
                if (!key)
                    scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
                free(key);
                node_free(key_node);
                goto fail;
            }
        }
        scim_cfg_node *child = parse_node(p, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!child || !node_push(n, key, key_node, child)) {
            if (child)
                scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
            free(key);
            node_free(key_node);
            node_free(child);
            goto fail;
        }
    }
fail:
    node_free(n);
    return NULL;
}

static scim_cfg_node *parse_node(parser *p, yaml_event_t *ev, int depth)
{
    if (++p->nodes > MAX_NODES) {
        scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: more than %d nodes (alias expansion?)", p->file,
                     at_line(p, ev->start_mark), at_col(p, ev->start_mark), MAX_NODES);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return parse_scalar(p, ev);
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return parse_collection(p, ev, depth);
    case YAML_ALIAS_EVENT:
        for (size_t i = p->n_anchors; i-- > 0;) {
            if (strcmp(p->anchors[i].name, (const char *)ev->data.alias.anchor) == 0) {
                scim_cfg_node *c = node_copy(p->anchors[i].node, &p->nodes);
                if (!c)
                    scim_err_set(p->err, SCIM_EPARSE,
                                 "%s:%d:%d: error: alias '*%s' expands beyond %d nodes; use fewer aliases",
                                 p->file, at_line(p, ev->start_mark), at_col(p, ev->start_mark),
                                 (const char *)ev->data.alias.anchor, MAX_NODES);
                return c;
            }
        }
        scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: unknown alias '*%s'", p->file,
                     at_line(p, ev->start_mark), at_col(p, ev->start_mark), (const char *)ev->data.alias.anchor);
        return NULL;
    default:
        scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: unexpected YAML event", p->file,
                     at_line(p, ev->start_mark), at_col(p, ev->start_mark));
        return NULL;
    }
}

/* Parse one YAML stream into a single node (NULL document -> empty map if
 * allow_empty). */
static scim_cfg_node *parse_stream(parser *p, bool allow_empty)
{
    scim_cfg_node *root = NULL;
    int docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!next_event(p, &ev)) {
            node_free(root);
            return NULL;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (++docs > 1) {
                scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: more than one YAML document; keep one",
                             p->file, at_line(p, ev.start_mark), at_col(p, ev.start_mark));
                yaml_event_delete(&ev);
                node_free(root);
                return NULL;
            }
        } else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_END_EVENT) {
            root = parse_node(p, &ev, 0);
            if (!root) {
                yaml_event_delete(&ev);
                return NULL;
            }
        }
        yaml_event_delete(&ev);
    }
    if (!root && allow_empty) {
        root = node_new(SCIM_CFG_MAP, p->file, 1, 1);
        if (!root)
            scim_err_set(p->err, SCIM_ENOMEM, "out of host memory");
    }
    return root;
}

static void parser_done(parser *p)
{
    for (size_t i = 0; i < p->n_anchors; i++)
        free(p->anchors[i].name);
    free(p->anchors);
    yaml_parser_delete(&p->yp);
}

static scim_cfg *cfg_from(const char *name, FILE *f, const char *text, size_t len, scim_err *err)
{
    scim_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->name = strdup(name)) || !(cfg->set_name = strdup("--set"))) {
        if (cfg)
            free(cfg->name);
        free(cfg);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    parser p = {.file = cfg->name, .err = err, .one_line_len = -1};
    yaml_parser_initialize(&p.yp);
    if (f)
        yaml_parser_set_input_file(&p.yp, f);
    else
        yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
    cfg->root = parse_stream(&p, true);
    parser_done(&p);
    if (cfg->root && cfg->root->kind != SCIM_CFG_MAP) {
        scim_cfg_error_at(err, cfg->root, SCIM_ECONFIG,
                          "error: the configuration must be a map of keys (e.g. 'devices:'), not a %s",
                          cfg->root->kind == SCIM_CFG_SEQ ? "list" : "single value");
        scim_cfg_destroy(cfg);
        return NULL;
    }
    if (!cfg->root) {
        scim_cfg_destroy(cfg);
        return NULL;
    }
    return cfg;
}

scim_cfg *scim_cfg_load_file(const char *path, scim_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        scim_err_set(err, SCIM_EIO, "cannot open configuration %s: %s", path, strerror(errno));
        return NULL;
    }
    scim_cfg *cfg = cfg_from(path, f, NULL, 0, err);
    fclose(f);
    return cfg;
}

scim_cfg *scim_cfg_load_string(const char *text, size_t len, const char *name, scim_err *err)
{
    return cfg_from(name ? name : "(string)", NULL, text, len, err);
}

scim_cfg *scim_cfg_new_empty(const char *name)
{
    scim_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->name = strdup(name ? name : "(empty)");
    cfg->set_name = strdup("--set");
    if (cfg->name)
        cfg->root = node_new(SCIM_CFG_MAP, cfg->name, 1, 1);
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
    node_free(cfg->root);
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

static bool is_index(const char *s, size_t len, size_t *out)
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
        if (node->kind == SCIM_CFG_SEQ && is_index(seg, len, &idx))
            node = idx < node->n ? node->vals[idx] : NULL;
        else
            node = scim_cfg_map_get(node, seg);
        p = dot ? dot + 1 : p + len;
    }
    return node;
}

/* ---------- --set ---------- */

int scim_cfg_set_kv(scim_cfg *cfg, const char *key, const char *value, scim_err *err)
{
    char assign[4096];
    if (snprintf(assign, sizeof assign, "%s=%s", key, value) >= (int)sizeof assign)
        return scim_err_set(err, SCIM_EINVAL, "--set %s: too long", key);
    return scim_cfg_set(cfg, assign, err);
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
    parser p = {.file = cfg->set_name, .err = err, .col_offset = value_col,
                .one_line_len = strchr(value, '\n') ? -1 : (int)strlen(value)};
    yaml_parser_initialize(&p.yp);
    yaml_parser_set_input_string(&p.yp, (const unsigned char *)value, strlen(value));
    scim_cfg_node *v = parse_stream(&p, false);
    parser_done(&p);
    if (!v) {
        if (err && err->code)
            return err->code;
        v = node_new(SCIM_CFG_SCALAR, cfg->set_name, 1, value_col + 1);
        if (!v || !(v->scalar = strdup(""))) {
            node_free(v);
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
            if (!is_index(name, len, &idx)) {
                node_free(v);
                return scim_err_set(err, SCIM_EINVAL,
                                    "--set:1:%d: error: '%s' indexes a list; use a number (0..%zu)", col, name,
                                    cur->n);
            }
            if (idx > cur->n) {
                node_free(v);
                return scim_err_set(err, SCIM_EINVAL,
                                    "--set:1:%d: error: index %zu is beyond the list's end (it has %zu items; "
                                    "%zu appends)",
                                    col, idx, cur->n, cur->n);
            }
            if (idx == cur->n) {
                scim_cfg_node *fresh = last ? v : node_new(SCIM_CFG_MAP, cfg->set_name, 1, col);
                if (!fresh || !node_push(cur, NULL, NULL, fresh)) {
                    if (fresh != v)
                        node_free(fresh);
                    node_free(v);
                    return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
                }
                if (last)
                    return 0;
                cur = fresh;
                seg = dot + 1;
                continue;
            }
            slot = &cur->vals[idx];
        } else {
            if (cur->kind != SCIM_CFG_MAP) {
                node_free(v);
                return scim_err_set(err, SCIM_EINVAL, "--set:1:%d: error: cannot descend into a scalar", col);
            }
            for (size_t i = 0; i < cur->n; i++)
                if (strcmp(cur->keys[i], name) == 0)
                    slot = &cur->vals[i];
            if (!slot) {
                scim_cfg_node *kn = node_new(SCIM_CFG_SCALAR, cfg->set_name, 1, col);
                char *k = strdup(name);
                scim_cfg_node *fresh = last ? v : node_new(SCIM_CFG_MAP, cfg->set_name, 1, col);
                if (kn)
                    kn->scalar = strdup(name);
                if (!kn || !kn->scalar || !k || !fresh || !node_push(cur, k, kn, fresh)) {
                    node_free(kn);
                    free(k);
                    if (fresh != v)
                        node_free(fresh);
                    node_free(v);
                    return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
                }
                if (last)
                    return 0;
                cur = fresh;
                seg = dot + 1;
                continue;
            }
        }
        if (last) {
            node_free(*slot);
            *slot = v;
            return 0;
        }
        if ((*slot)->kind == SCIM_CFG_SCALAR) {
            /* the user asked for a deeper key: the scalar becomes a map */
            scim_cfg_node *fresh = node_new(SCIM_CFG_MAP, cfg->set_name, 1, col);
            if (!fresh) {
                node_free(v);
                return scim_err_set(err, SCIM_ENOMEM, "out of host memory");
            }
            node_free(*slot);
            *slot = fresh;
        }
        cur = *slot;
        seg = dot + 1;
    }
}

/* ---------- values ---------- */

static const char *type_expect(const scim_param_decl *d)
{
    switch (d->type) {
    case SCIM_P_U64: return "a non-negative integer (decimal or 0x hex)";
    case SCIM_P_DOUBLE: return "a number";
    case SCIM_P_BOOL: return "true or false";
    case SCIM_P_SIZE: return "a size such as 4096, 0x1000, 64KiB, 2MiB or 1GiB";
    case SCIM_P_TIME: return "a time such as 250ps, 80ns, 1.5us or 10ms";
    case SCIM_P_FREQ: return "a frequency such as 800MHz or 2.5GHz";
    case SCIM_P_BANDWIDTH: return "a bandwidth such as 32GB/s, 500MB/s, 16GiB/s or 100Gbps";
    case SCIM_P_ENUM: return "one of the listed values";
    case SCIM_P_STRING: return "a string";
    default: return "a map or list";
    }
}

static const char *trim(const char *s, char *buf, size_t len)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Exact decimal: digits with optional '_' separators and one '.', or 0x hex.
 * Returns the mantissa and the number of fraction digits; *end after it. */
static bool parse_number(const char *s, unsigned __int128 *mant, int *frac_digits, const char **end)
{
    unsigned __int128 m = 0;
    int fd = 0;
    bool any = false, dot = false;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        while (isxdigit((unsigned char)*p) || (*p == '_' && any)) {
            if (*p != '_') {
                int d = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
                m = m * 16 + (unsigned)d;
                if (m > ((unsigned __int128)1 << 100))
                    return false;
                any = true;
            }
            p++;
        }
        *mant = m;
        *frac_digits = 0;
        *end = p;
        return any;
    }
    while (isdigit((unsigned char)*p) || (*p == '_' && any) || (*p == '.' && !dot)) {
        if (*p == '.') {
            dot = true;
        } else if (*p != '_') {
            if (m > ((unsigned __int128)1 << 100))
                return false;
            m = m * 10 + (unsigned)(*p - '0');
            any = true;
            if (dot)
                fd++;
        }
        p++;
    }
    *mant = m;
    *frac_digits = fd;
    *end = p;
    return any;
}

typedef struct unit {
    const char *name;
    unsigned __int128 mult; /* value = number * mult / div */
    uint64_t div;
    bool icase;
} unit;

static const unit size_units[] = {
    {"B", 1, 1, false},          {"KiB", 1024, 1, false},     {"MiB", 1ull << 20, 1, false},
    {"GiB", 1ull << 30, 1, false}, {"TiB", 1ull << 40, 1, false}, {"K", 1024, 1, false},
    {"M", 1ull << 20, 1, false},  {"G", 1ull << 30, 1, false},  {"T", 1ull << 40, 1, false},
    {"k", 1024, 1, false},        {"m", 1ull << 20, 1, false},  {"g", 1ull << 30, 1, false},
    {"KB", 1000, 1, false},       {"MB", 1000000, 1, false},    {"GB", 1000000000, 1, false},
    {"TB", 1000000000000ull, 1, false}, {NULL, 0, 0, false}};
static const unit time_units[] = {{"ps", 1, 1, false},        {"ns", 1000, 1, false},
                                  {"us", 1000000, 1, false},  {"\xc2\xb5s", 1000000, 1, false},
                                  {"ms", 1000000000, 1, false}, {"s", 1000000000000ull, 1, false},
                                  {NULL, 0, 0, false}};
static const unit freq_units[] = {{"Hz", 1, 1, true},
                                  {"kHz", 1000, 1, true},
                                  {"MHz", 1000000, 1, true},
                                  {"GHz", 1000000000, 1, true},
                                  {NULL, 0, 0, false}};
static const unit bw_units[] = {{"B/s", 1, 1, false},        {"KB/s", 1000, 1, false},
                                {"MB/s", 1000000, 1, false}, {"GB/s", 1000000000, 1, false},
                                {"TB/s", 1000000000000ull, 1, false}, {"KiB/s", 1024, 1, false},
                                {"MiB/s", 1ull << 20, 1, false}, {"GiB/s", 1ull << 30, 1, false},
                                {"bps", 1, 8, false},        {"Kbps", 1000, 8, false},
                                {"Mbps", 1000000, 8, false}, {"Gbps", 1000000000, 8, false},
                                {NULL, 0, 0, false}};

static int parse_with_units(const scim_param_decl *d, const char *text, const unit *units, uint64_t *out, char *why,
                            size_t why_len)
{
    unsigned __int128 mant;
    int fd;
    const char *rest;
    if (!parse_number(text, &mant, &fd, &rest)) {
        snprintf(why, why_len, "expected %s", type_expect(d));
        return SCIM_EPARSE;
    }
    while (*rest == ' ')
        rest++;
    const unit *u = NULL;
    if (*rest == '\0') {
        if (d->unit) {
            for (const unit *c = units; c->name; c++)
                if ((c->icase ? strcasecmp(c->name, d->unit) : strcmp(c->name, d->unit)) == 0)
                    u = c;
        }
        if (!u && units != size_units) {
            snprintf(why, why_len, "expected %s (a unit is required)", type_expect(d));
            return SCIM_EPARSE;
        }
        static const unit one = {"", 1, 1, false};
        if (!u)
            u = &one;
    } else {
        for (const unit *c = units; c->name; c++)
            if ((c->icase ? strcasecmp(c->name, rest) : strcmp(c->name, rest)) == 0)
                u = c;
        if (!u) {
            snprintf(why, why_len, "expected %s; unknown unit '%s'", type_expect(d), rest);
            return SCIM_EPARSE;
        }
    }
    /* Trailing fraction zeros change nothing: drop them. Then neither
     * mant * mult nor 10^fd may wrap around 2^128 (a wrapped product could
     * pass as a small whole number, a wrapped 10^fd as a divisor of zero). */
    while (fd > 0 && mant % 10 == 0) {
        mant /= 10;
        fd--;
    }
    if (mant != 0 && u->mult > ~(unsigned __int128)0 / mant) {
        snprintf(why, why_len, "expected %s; the value is too large", type_expect(d));
        return SCIM_ERANGE;
    }
    unsigned __int128 scale = 1;
    for (int i = 0; i < fd && i <= 38; i++)
        scale *= 10;
    unsigned __int128 num = mant * u->mult;
    unsigned __int128 den = scale * u->div;
    /* fd > 38: 10^fd exceeds every product, which is not 0 (mant != 0) */
    if (fd > 38 || num % den != 0) {
        snprintf(why, why_len, "expected %s; the value is not a whole number of %s", type_expect(d),
                 d->type == SCIM_P_TIME ? "picoseconds" : d->type == SCIM_P_FREQ ? "hertz" : "bytes");
        return SCIM_ERANGE;
    }
    unsigned __int128 v = num / den;
    if (v > UINT64_MAX) {
        snprintf(why, why_len, "expected %s; the value is too large", type_expect(d));
        return SCIM_ERANGE;
    }
    *out = (uint64_t)v;
    return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
            d[i][j] = c < x ? (c < y ? c : y) : (x < y ? x : y);
        }
    return d[la][lb];
}

int scim_cfg_parse_value(const scim_param_decl *d, const char *raw, void *out, char *why, size_t why_len)
{
    char buf[512];
    const char *t = trim(raw, buf, sizeof buf);
    uint64_t u = 0;
    int rc = 0;
    switch (d->type) {
    case SCIM_P_U64: {
        unsigned __int128 mant;
        int fd;
        const char *rest;
        if (t[0] == '-' || !parse_number(t, &mant, &fd, &rest) || *rest || fd) {
            snprintf(why, why_len, "expected %s", type_expect(d));
            return SCIM_EPARSE;
        }
        if (mant > UINT64_MAX) {
            snprintf(why, why_len, "expected %s; the value is too large", type_expect(d));
            return SCIM_ERANGE;
        }
        u = (uint64_t)mant;
        break;
    }
    case SCIM_P_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(t, &end);
        if (!*t || *end || errno || !isfinite(v)) {
            snprintf(why, why_len, "expected %s", type_expect(d));
            return SCIM_EPARSE;
        }
        if (d->ranged && (v < d->min || v > d->max)) {
            snprintf(why, why_len, "value %g is outside %g..%g", v, d->min, d->max);
            return SCIM_ERANGE;
        }
        *(double *)out = v;
        return 0;
    }
    case SCIM_P_BOOL: {
        static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
        for (int i = 0; i < 3; i++) {
            if (!strcasecmp(t, yes[i])) {
                *(bool *)out = true;
                return 0;
            }
            if (!strcasecmp(t, no[i])) {
                *(bool *)out = false;
                return 0;
            }
        }
        snprintf(why, why_len, "expected %s", type_expect(d));
        return SCIM_EPARSE;
    }
    case SCIM_P_SIZE: rc = parse_with_units(d, t, size_units, &u, why, why_len); break;
    case SCIM_P_TIME: rc = parse_with_units(d, t, time_units, &u, why, why_len); break;
    case SCIM_P_FREQ: rc = parse_with_units(d, t, freq_units, &u, why, why_len); break;
    case SCIM_P_BANDWIDTH: rc = parse_with_units(d, t, bw_units, &u, why, why_len); break;
    case SCIM_P_ENUM: {
        size_t best = 99;
        const char *sugg = NULL;
        char list[256] = "";
        for (int i = 0; d->enum_values[i]; i++) {
            if (strcmp(t, d->enum_values[i]) == 0) {
                *(int *)out = i;
                return 0;
            }
            size_t e = edit_distance(t, d->enum_values[i]);
            if (e < best) {
                best = e;
                sugg = d->enum_values[i];
            }
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, d->enum_values[i], sizeof list - strlen(list) - 1);
        }
        if (sugg && best <= 2)
            snprintf(why, why_len, "expected one of: %s (did you mean '%s'?)", list, sugg);
        else
            snprintf(why, why_len, "expected one of: %s", list);
        return SCIM_EPARSE;
    }
    default:
        snprintf(why, why_len, "internal: type %d has no text form", (int)d->type);
        return SCIM_EINVAL;
    }
    if (rc)
        return rc;
    if (d->ranged && ((double)u < d->min || (double)u > d->max)) {
        snprintf(why, why_len, "value %s is outside the allowed range %.15g..%.15g (in %s)", t, d->min, d->max,
                 d->type == SCIM_P_TIME ? "ps" : d->type == SCIM_P_FREQ ? "Hz" : d->type == SCIM_P_BANDWIDTH ? "B/s"
                 : d->type == SCIM_P_SIZE ? "bytes" : "units");
        return SCIM_ERANGE;
    }
    *(uint64_t *)out = u;
    return 0;
}

/* ---------- binding ---------- */

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
            size_t dd = edit_distance(k, name);
            if (dd < best_d) {
                best_d = dd;
                best = decls[j].key + plen;
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
                                         type_expect(d));
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
                                     type_expect(d), v->kind == SCIM_CFG_MAP ? "map" : "list");
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

/* ---------- docs ---------- */

static const char *type_name(const scim_param_decl *d)
{
    switch (d->type) {
    case SCIM_P_U64: return "integer";
    case SCIM_P_DOUBLE: return "number";
    case SCIM_P_BOOL: return "bool";
    case SCIM_P_SIZE: return "size";
    case SCIM_P_TIME: return "time";
    case SCIM_P_FREQ: return "frequency";
    case SCIM_P_BANDWIDTH: return "bandwidth";
    case SCIM_P_ENUM: return "enum";
    case SCIM_P_STRING: return "string";
    default: return "map/list";
    }
}

int scim_cfg_doc_markdown(FILE *out, const char *prefix, const scim_param_decl *decls, size_t n)
{
    fprintf(out, "| key | type | default | unit | range | description | source of the default |\n"
                 "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const scim_param_decl *d = &decls[i];
        char range[128] = "";
        if (d->type == SCIM_P_ENUM) {
            for (int j = 0; d->enum_values[j]; j++) {
                strncat(range, j ? ", " : "", sizeof range - strlen(range) - 1);
                strncat(range, d->enum_values[j], sizeof range - strlen(range) - 1);
            }
        } else if (d->ranged) {
            snprintf(range, sizeof range, "%.15g..%.15g", d->min, d->max);
        }
        fprintf(out, "| `%s%s` | %s | %s | %s | %s | %s | %s |\n", prefix, d->key, type_name(d),
                d->def ? (*d->def ? d->def : "\"\"") : (d->type == SCIM_P_NODE ? "(none)" : "(required)"),
                d->unit ? d->unit : "", range, d->doc ? d->doc : "", d->source ? d->source : "");
    }
    return ferror(out) ? SCIM_EIO : 0;
}

/* ---------- dump and hash ---------- */

/* Characters a YAML reader rejects or reads as a line break, which can
 * only have come in through a double-quoted escape: DEL, C1 controls (NEL
 * among them), U+2028/2029, U+FEFF, U+FFFE/FFFF. Returns the length of the
 * UTF-8 sequence at p (0 if none) and its escape in esc[8]. */
static int special_char(const unsigned char *p, char *esc)
{
    int n = 0;
    if (p[0] == 0x7f) {
        snprintf(esc, 8, "\\x7f");
        n = 1;
    } else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) {
        snprintf(esc, 8, "\\x%02x", p[1]);
        n = 2;
    } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
        snprintf(esc, 8, "\\%c", p[2] == 0xa8 ? 'L' : 'P');
        n = 3;
    } else if (p[0] == 0xef && ((p[1] == 0xbb && p[2] == 0xbf) || (p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)))) {
        snprintf(esc, 8, "\\u%s", p[1] == 0xbb ? "FEFF" : p[2] == 0xbe ? "FFFE" : "FFFF");
        n = 3;
    }
    return n;
}

static bool needs_quotes(const scim_cfg_node *n)
{
    const char *s = n->scalar;
    if (n->is_null)
        return false;
    if (!*s || isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
        return true;
    if (!strcmp(s, "~") || !strcasecmp(s, "null"))
        return true;
    if (!strncmp(s, "...", 3)) /* at column 0, "... " ends the document */
        return true;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
        return true;
    char esc[8];
    for (const char *p = s; *p; p++)
        if (*p == '#' || (*p == ':' && (p[1] == ' ' || p[1] == '\0')) || *p == '\n' || *p == '\t' ||
            (unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || special_char((const unsigned char *)p, esc))
            return true;
    return false;
}

static void dump_scalar(const scim_cfg_node *n, FILE *out)
{
    if (n->is_null) {
        fputs("~", out);
        return;
    }
    if (!needs_quotes(n)) {
        fputs(n->scalar, out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)n->scalar; *p; p++) {
        char esc[8];
        int k = special_char(p, esc);
        if (k) {
            fputs(esc, out);
            p += k - 1;
        } else if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void dump_key(const char *k, FILE *out)
{
    scim_cfg_node tmp = {.kind = SCIM_CFG_SCALAR, .scalar = (char *)k};
    dump_scalar(&tmp, out);
}

static void dump_node(const scim_cfg_node *n, int indent, FILE *out);

static void dump_child(const scim_cfg_node *v, int indent, FILE *out)
{
    if (v->kind == SCIM_CFG_SCALAR) {
        fputc(' ', out);
        dump_scalar(v, out);
        fputc('\n', out);
    } else if (v->n == 0) {
        fputs(v->kind == SCIM_CFG_MAP ? " {}\n" : " []\n", out);
    } else {
        fputc('\n', out);
        dump_node(v, indent + 2, out);
    }
}

static void dump_node(const scim_cfg_node *n, int indent, FILE *out)
{
    for (size_t i = 0; i < n->n; i++) {
        fprintf(out, "%*s", indent, "");
        if (n->kind == SCIM_CFG_MAP) {
            /* An implicit key is at most 1024 characters long (YAML 1.2,
             * 7.4.2); one that could write longer (4 per byte escaped) is
             * written as an explicit "? key" / ":" pair. */
            if (strlen(n->keys[i]) > 255) {
                fputs("? ", out);
                dump_key(n->keys[i], out);
                fprintf(out, "\n%*s", indent, "");
            } else {
                dump_key(n->keys[i], out);
            }
            fputc(':', out);
        } else {
            fputc('-', out);
        }
        dump_child(n->vals[i], indent, out);
    }
}

int scim_cfg_dump(const scim_cfg *cfg, FILE *out, scim_err *err)
{
    if (cfg->root->n == 0)
        fputs("{}\n", out);
    else
        dump_node(cfg->root, 0, out);
    return ferror(out) ? scim_err_set(err, SCIM_EIO, "could not write the configuration dump") : 0;
}

uint64_t scim_cfg_hash(const scim_cfg *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return 0;
    scim_cfg_dump(cfg, f, NULL);
    fclose(f);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)buf[i];
        h *= 0x100000001b3ull;
    }
    free(buf);
    return h;
}

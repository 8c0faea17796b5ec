/* Configuration: loading YAML (libyaml's event API) into the node tree,
 * every node located at its file, line and column. Contract in
 * core/config.h. */
#include "core/config_internal.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define MAX_DEPTH 64

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
    scim_cfg_node *n =
        scim_cfg_node_new(SCIM_CFG_SCALAR, p->file, at_line(p, ev->start_mark), at_col(p, ev->start_mark));
    if (!n || !(n->scalar = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length))) {
        scim_cfg_node_free(n);
        scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
        return NULL;
    }
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (!strcmp(n->scalar, "") || !strcmp(n->scalar, "~") || !strcmp(n->scalar, "null") ||
         !strcmp(n->scalar, "Null") || !strcmp(n->scalar, "NULL")))
        n->is_null = true;
    if (!register_anchor(p, ev->data.scalar.anchor, n)) {
        scim_cfg_node_free(n);
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
    scim_cfg_node *n = scim_cfg_node_new(is_map ? SCIM_CFG_MAP : SCIM_CFG_SEQ, p->file, at_line(p, start->start_mark),
                                         at_col(p, start->start_mark));
    if (!n) {
        scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
        return NULL;
    }
    if (!register_anchor(p, anchor_name, n)) {
        scim_cfg_node_free(n);
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
                    scim_cfg_node_free(key_node);
                    goto fail;
                }
            }
            key = strdup(key_node->scalar);
            if (!key || !next_event(p, &ev)) {
                if (!key)
                    scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
                free(key);
                scim_cfg_node_free(key_node);
                goto fail;
            }
        }
        scim_cfg_node *child = parse_node(p, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!child || !scim_cfg_node_push(n, key, key_node, child)) {
            if (child)
                scim_err_set(p->err, SCIM_ENOMEM, "out of host memory reading %s", p->file);
            free(key);
            scim_cfg_node_free(key_node);
            scim_cfg_node_free(child);
            goto fail;
        }
    }
fail:
    scim_cfg_node_free(n);
    return NULL;
}

static scim_cfg_node *parse_node(parser *p, yaml_event_t *ev, int depth)
{
    if (++p->nodes > SCIM_CFG_MAX_NODES) {
        scim_err_set(p->err, SCIM_EPARSE, "%s:%d:%d: error: more than %d nodes (alias expansion?)", p->file,
                     at_line(p, ev->start_mark), at_col(p, ev->start_mark), SCIM_CFG_MAX_NODES);
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
                scim_cfg_node *c = scim_cfg_node_copy(p->anchors[i].node, &p->nodes);
                /* the copy fails for the node limit, or for host memory */
                if (!c && p->nodes <= SCIM_CFG_MAX_NODES)
                    scim_err_set(p->err, SCIM_ENOMEM, "%s:%d:%d: error: out of host memory expanding alias '*%s'",
                                 p->file, at_line(p, ev->start_mark), at_col(p, ev->start_mark),
                                 (const char *)ev->data.alias.anchor);
                else if (!c)
                    scim_err_set(p->err, SCIM_EPARSE,
                                 "%s:%d:%d: error: alias '*%s' expands beyond %d nodes; use fewer aliases",
                                 p->file, at_line(p, ev->start_mark), at_col(p, ev->start_mark),
                                 (const char *)ev->data.alias.anchor, SCIM_CFG_MAX_NODES);
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
            scim_cfg_node_free(root);
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
                scim_cfg_node_free(root);
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
        root = scim_cfg_node_new(SCIM_CFG_MAP, p->file, 1, 1);
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

scim_cfg_node *scim_cfg_parse_yaml(const char *file, FILE *f, const char *text, size_t len, int col_offset,
                                   int one_line_len, bool allow_empty, scim_err *err)
{
    parser p = {.file = file, .err = err, .col_offset = col_offset, .one_line_len = one_line_len};
    yaml_parser_initialize(&p.yp);
    if (f)
        yaml_parser_set_input_file(&p.yp, f);
    else
        yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
    scim_cfg_node *root = parse_stream(&p, allow_empty);
    parser_done(&p);
    return root;
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
    cfg->root = scim_cfg_parse_yaml(cfg->name, f, text, len, 0, -1, true, err);
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
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        scim_err_set(err, SCIM_EIO, "cannot open configuration %s: it is a directory; give a YAML file", path);
        return NULL;
    }
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

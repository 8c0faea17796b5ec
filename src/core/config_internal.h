/* What the configuration's files share and the library does not see: the
 * node tree's layout and the helpers that more than one step needs.
 * Contract of the whole in core/config.h. */
#ifndef SCIMITAR_CONFIG_INTERNAL_H
#define SCIMITAR_CONFIG_INTERNAL_H

#include "core/config.h"

/* A document of more nodes (alias expansion included) is refused: a few
 * lines of nested aliases can otherwise expand to billions. */
#define SCIM_CFG_MAX_NODES 1000000

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

/* config_tree.c */
scim_cfg_node *scim_cfg_node_new(scim_cfg_kind kind, const char *file, int line, int col);
void scim_cfg_node_free(scim_cfg_node *n);
bool scim_cfg_node_push(scim_cfg_node *parent, char *key, scim_cfg_node *key_node, scim_cfg_node *val);
/* A deep copy; NULL when out of memory or when *count passes SCIM_CFG_MAX_NODES. */
scim_cfg_node *scim_cfg_node_copy(const scim_cfg_node *src, size_t *count);
/* s[0..len) is a list index (1 to 9 digits). */
bool scim_cfg_is_index(const char *s, size_t len, size_t *out);

/* config_yaml.c: one YAML document (from f, or else from text[0..len)) as a
 * tree whose nodes name `file`. A --set value is parsed alone but located
 * in its assignment: it starts col_offset columns into line 1, and
 * one_line_len is its length when it has no line break (else -1). A
 * missing document gives an empty map if allow_empty, else NULL with err
 * untouched. */
scim_cfg_node *scim_cfg_parse_yaml(const char *file, FILE *f, const char *text, size_t len, int col_offset,
                                   int one_line_len, bool allow_empty, scim_err *err);

/* config_value.c */
const char *scim_cfg_type_expect(const scim_param_decl *d); /* "a size such as ..." */
size_t scim_cfg_edit_distance(const char *a, const char *b); /* 99 past 63 characters */

#endif

/* scimitar configuration: a YAML document (libyaml) bound to per-component
 * parameter tables.
 *
 * Each component declares its keys once, as a static table of
 * scim_param_decl (key, type, default, unit, range, doc string, source of the
 * default), after QEMU's vtd_properties[] and SST's SST_ELI_DOCUMENT_PARAMS.
 * scim_cfg_bind() fills the component's config struct from a YAML map using
 * that table; the same table generates docs/config.md.
 *
 * Every error names file:line:column, the key, what was expected and how to
 * fix it. Unknown keys and duplicate keys are errors, never ignored.
 */
#ifndef SCIMITAR_CONFIG_H
#define SCIMITAR_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "core/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scim_cfg scim_cfg;           /* a loaded document; owns its nodes */
typedef struct scim_cfg_node scim_cfg_node; /* a map, sequence or scalar */

typedef enum scim_cfg_kind {
    SCIM_CFG_SCALAR,
    SCIM_CFG_MAP,
    SCIM_CFG_SEQ
} scim_cfg_kind;

typedef enum scim_param_type {
    SCIM_P_U64,       /* uint64_t: decimal or 0x hex */
    SCIM_P_DOUBLE,    /* double */
    SCIM_P_BOOL,      /* bool: true/false (also yes/no, on/off) */
    SCIM_P_SIZE,      /* uint64_t bytes: 4096, 0x1000, 4KiB, 2MiB, 1GiB, 1TiB (K/M/G/T = KiB..) */
    SCIM_P_TIME,      /* uint64_t picoseconds: 80ns, 1.5us, 250ps, 10ms, 1s; a bare number is in `unit` */
    SCIM_P_FREQ,      /* uint64_t hertz: 2GHz, 2.5GHz, 800MHz, 100kHz, 1000Hz */
    SCIM_P_BANDWIDTH, /* uint64_t bytes/second: 32GB/s, 500MB/s, 16GiB/s, 100Gbps (bits) */
    SCIM_P_ENUM,      /* int: index into enum_values */
    SCIM_P_STRING,    /* const char *: owned by the scim_cfg; valid while it lives */
    SCIM_P_NODE       /* const scim_cfg_node *: a sub-tree the caller binds itself (may be NULL) */
} scim_param_type;

typedef struct scim_param_decl {
    const char *key;        /* relative key; dots descend nested maps: "iotlb.entries" */
    scim_param_type type;
    const char *def;        /* default as config text ("64", "80ns"); NULL = required */
    const char *unit;       /* shown in docs; for TIME the unit of a bare number */
    bool ranged;            /* check min <= value <= max (in stored units) */
    double min, max;
    const char *const *enum_values; /* NULL-terminated, for SCIM_P_ENUM */
    size_t offset;          /* offsetof(config struct, field) */
    const char *doc;        /* one or two sentences */
    const char *source;     /* where the default comes from (a citation), or NULL */
} scim_param_decl;

/* Loading. Errors: file:line:col from libyaml's problem_mark. */
scim_cfg *scim_cfg_load_file(const char *path, scim_err *err);
scim_cfg *scim_cfg_load_string(const char *text, size_t len, const char *name,
                               scim_err *err);
scim_cfg *scim_cfg_new_empty(const char *name); /* an empty map document */
void scim_cfg_destroy(scim_cfg *cfg);           /* NULL is harmless */

/* Apply "key.path=value" (the CLI's --set). The value is parsed as YAML, so
 * it may be a scalar or a flow collection ("[1,2]", "{a: 1}"). Intermediate
 * maps are created; a numeric path component indexes a sequence. Errors
 * are reported against "--set" with the column of the problem. */
int scim_cfg_set(scim_cfg *cfg, const char *assignment, scim_err *err);
/* Same with key and value given apart. */
int scim_cfg_set_kv(scim_cfg *cfg, const char *key, const char *value, scim_err *err);

/* Tree access. */
const scim_cfg_node *scim_cfg_root(const scim_cfg *cfg);
const char *scim_cfg_name(const scim_cfg *cfg); /* file name given at load */
scim_cfg_kind scim_cfg_node_kind(const scim_cfg_node *n);
const char *scim_cfg_node_scalar(const scim_cfg_node *n); /* NULL unless scalar */
const char *scim_cfg_node_file(const scim_cfg_node *n);
int scim_cfg_node_line(const scim_cfg_node *n);   /* 1-based */
int scim_cfg_node_col(const scim_cfg_node *n);    /* 1-based */
size_t scim_cfg_node_count(const scim_cfg_node *n); /* map pairs or seq items */
const char *scim_cfg_map_key(const scim_cfg_node *map, size_t i);
const scim_cfg_node *scim_cfg_map_key_node(const scim_cfg_node *map, size_t i);
const scim_cfg_node *scim_cfg_map_value(const scim_cfg_node *map, size_t i);
const scim_cfg_node *scim_cfg_map_get(const scim_cfg_node *map, const char *key);
/* Dotted path lookup from any node: "devices.nic0.iotlb"; NULL if absent. */
const scim_cfg_node *scim_cfg_get_path(const scim_cfg_node *node, const char *path);
const scim_cfg_node *scim_cfg_seq_item(const scim_cfg_node *seq, size_t i);

/* "file:line:col" of a node, for messages. */
void scim_cfg_node_where(const scim_cfg_node *n, char *buf, size_t len);
/* Record an error located at node n: "file:line:col: <message>". */
int scim_cfg_error_at(scim_err *err, const scim_cfg_node *n, int code,
                      const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Bind a map to a parameter table: every decl is filled into `out` (from
 * the map, or from its default); a missing required key, a value of the wrong
 * type or out of range, and any key of the map that no decl names are
 * errors. `map` may be NULL (section absent: all defaults). `where` names the
 * section in messages ("devices.nic0"). Keys listed in `extra_keys`
 * (NULL-terminated, may be NULL) are accepted and left to the caller. */
int scim_cfg_bind(const scim_cfg_node *map, const char *where,
                  const scim_param_decl *decls, size_t n, void *out,
                  const char *const *extra_keys, scim_err *err);

/* Parse one value text as decl's type into *out (the field's storage).
 * Returns 0, or SCIM_EPARSE/SCIM_ERANGE with `why` saying what was expected. */
int scim_cfg_parse_value(const scim_param_decl *decl, const char *text,
                         void *out, char *why, size_t why_len);

/* Markdown reference for a table: key, type, default, unit, range,
 * description, source. `prefix` is shown before each key ("devices.<name>."). */
int scim_cfg_doc_markdown(FILE *out, const char *prefix,
                          const scim_param_decl *decls, size_t n);

/* Canonical YAML dump of the whole tree (block style, keys in document
 * order, scalars quoted when needed) and a stable 64-bit hash of that dump:
 * the same tree always gives the same bytes and hash. */
int scim_cfg_dump(const scim_cfg *cfg, FILE *out, scim_err *err);
uint64_t scim_cfg_hash(const scim_cfg *cfg);

#ifdef __cplusplus
}
#endif
#endif

/* What the trace reader, writer and summary share: the format's tables
 * (trace_format.c). Formats in include/scimitar/trace.h and docs/traces.md. */
#ifndef SCIMITAR_TRACE_INTERNAL_H
#define SCIMITAR_TRACE_INTERNAL_H

#include "core/common.h"
#include "scimitar/trace.h"

/* "SCIMTRB" and the binary format's version byte. */
extern const unsigned char scim_trace_magic[8];

extern const char *const scim_trace_op_names[SCIM_OP_COUNT_];

#define SCIM_TRACE_OP_BIT(op) (1u << (op))

/* ---------- keys: add one by adding a line to scim_trace_keys ---------- */

typedef enum scim_trace_key_kind {
    SCIM_TRACE_KEY_U32,
    SCIM_TRACE_KEY_U64,
    SCIM_TRACE_KEY_PROT,
    SCIM_TRACE_KEY_BOOL,
    SCIM_TRACE_KEY_PAGESIZE
} scim_trace_key_kind;

typedef struct scim_trace_key {
    const char *name;
    uint32_t bit;
    scim_trace_key_kind kind;
    uint32_t ops; /* which ops accept it */
    uint64_t max; /* SCIM_TRACE_KEY_U32/U64 upper bound */
} scim_trace_key;

/* A constant, so that loops over the keys stay loops over a constant;
 * trace_format.c checks that it matches the table. */
#define SCIM_TRACE_N_KEYS 6
extern const scim_trace_key scim_trace_keys[];

/* The record field that holds key k (an index into scim_trace_keys). */
uint64_t scim_trace_key_value(const scim_trace_rec *r, size_t k);
void scim_trace_set_key_value(scim_trace_rec *r, size_t k, uint64_t v);

/* 0 if the formats can carry rec; else -1 with *why saying what is wrong. */
int scim_trace_rec_check(const scim_trace_rec *rec, const char **why);

#endif

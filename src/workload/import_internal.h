/* Shared parts of the log importers (workload/import.h): a line reader for
 * plain or gzip logs with located errors, number parsing, and the table of
 * I/O system calls. */
#ifndef SCIMITAR_IMPORT_INTERNAL_H
#define SCIMITAR_IMPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workload/import.h"

/* One log, read a line at a time. `line` holds the current line without its
 * newline (and without a trailing '\r'), NUL-terminated. */
typedef struct scim_imp_log {
    const char *path;
    void *gz;       /* gzFile */
    char *buf;      /* read buffer */
    size_t pos, len;
    bool eof;
    char *line;
    size_t cap, n;
    uint64_t lineno;
} scim_imp_log;

int scim_imp_log_open(scim_imp_log *l, const char *path, scim_err *err);
/* 1: a line; 0: end of the log; < 0: error (unreadable, corrupt gzip, a NUL
 * byte, a line over 1 MiB, or a last line cut before its newline). */
int scim_imp_log_next(scim_imp_log *l, scim_err *err);
void scim_imp_log_close(scim_imp_log *l);

/* "PATH:LINE:COL: error: ..." with COL the column of `at` in the current
 * line (no column if at is NULL). Returns SCIM_EPARSE. */
int scim_imp_error(const scim_imp_log *l, const char *at, scim_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Parsers of one token at *p (advanced past it on success). */
bool scim_imp_hex(const char **p, uint64_t *v);  /* hex digits, no 0x */
bool scim_imp_dec(const char **p, uint64_t *v);  /* decimal digits */
bool scim_imp_num(const char **p, uint64_t *v);  /* 0x hex or decimal */
const char *scim_imp_skip_space(const char *p);
bool scim_imp_at_end(const char *p);             /* only blanks left */

/* An I/O system call: the buffer and the length are arguments buf_arg and
 * len_arg (0-based) of a non-vectored call. */
typedef struct scim_imp_call {
    const char *name;
    bool dev_writes; /* read-like */
    bool vectored;   /* the buffers are in an iovec array */
    int buf_arg, len_arg;
} scim_imp_call;

/* The call named by the n bytes at name (NULL if it is not an I/O call). */
const scim_imp_call *scim_imp_find_call(const char *name, size_t n);

/* The n-th (0-based) comma-separated argument of `args` (which ends at
 * `end`): sets *at to its first character and parses it as a number.
 * Returns 1 if numeric, 0 if present but not a number, -1 if absent. */
int scim_imp_arg(const char *args, const char *end, int n, const char **at, uint64_t *v);

/* The buffer and the length of a non-vectored call from its arguments:
 * 1 if both are numbers, 0 if one is not a number, -1 if one is missing;
 * *at and *argno (1-based) name the one that is not. */
int scim_imp_buffer(const scim_imp_call *c, const char *args, const char *end, uint64_t *addr, uint64_t *len,
                    const char **at, int *argno);

/* Hand one I/O call on (addr, len) to the sink, or count it as vectored or
 * zero-length. */
int scim_imp_emit_io(const scim_imp_call *c, uint64_t addr, uint64_t len, uint64_t time_ns,
                     const scim_import_sink *sink, scim_import_counts *counts, const scim_imp_log *l, const char *at,
                     scim_err *err);

/* What every parser works with. */
typedef struct scim_imp_parser {
    const scim_import_opts *o;
    const scim_import_sink *sink;
    scim_import_counts *c;
    scim_imp_log *l;
    scim_err *err;
} scim_imp_parser;

/* The parsers (import_lackey.c, import_strace.c). */
int scim_imp_parse_lackey(scim_imp_log *l, const scim_import_opts *o, const scim_import_sink *sink,
                          scim_import_counts *c, scim_err *err);
int scim_imp_parse_strace(scim_imp_log *l, const scim_import_opts *o, const scim_import_sink *sink,
                          scim_import_counts *c, scim_err *err);

#endif

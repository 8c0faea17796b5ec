/* Helpers the trace and importer tests share: paths in a test's temporary
 * directory, a trace's records as canonical text, counting what a failed
 * import left behind, reading every record of a trace (file or memory),
 * comparing records field by field, and random valid records. */
#ifndef SCIM_TEST_TRACERIG_H
#define SCIM_TEST_TRACERIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scimitar/trace.h"

/* dir/name in one of four rotating static buffers (so a call may take
 * up to four of them as arguments). */
const char *path_in(const char *dir, const char *name);
/* Every record of the trace at path in canonical text, one per line
 * (malloc'ed); fails the test if the trace cannot be read to its end. */
char *trace_records(const char *path);
/* How many entries (not '.' or '..') dir holds. */
int dir_entries(const char *dir);

/* Every record of a trace into out[0..cap); *n is how many. Returns the
 * reader's final status (0 at a clean end, or the error code; -1000 if
 * the open failed without a code). binary (if not NULL) is set as
 * scim_trace_is_binary says. */
int trace_read_mem(const void *buf, size_t len, scim_trace_rec *out, size_t cap, size_t *n, scim_err *err);
int trace_read_file(const char *path, scim_trace_rec *out, size_t cap, size_t *n, bool *binary, scim_err *err);
/* Field by field, independently of scim_trace_rec_equal. */
bool trace_rec_same(const scim_trace_rec *a, const scim_trace_rec *b);
/* The optional keys an op may carry (SCIM_TRACE_HAS_*). */
uint32_t trace_keys_allowed(scim_trace_op op);
/* A random valid record (every op, timing, edge values, allowed keys). */
scim_trace_rec trace_rand_rec(uint64_t *seed);
/* Write recs to path (text gets a comment line first); fails the test on error. */
void trace_write_all(const char *path, scim_trace_format fmt, bool gz, const scim_trace_rec *recs, size_t n);
/* A whole file as bytes, NUL-terminated (fails the test if it cannot be opened). */
unsigned char *file_bytes(const char *path, size_t *len);

#endif

/* scimitar traces: what each agent (device or CPU) replays.
 *
 * Text format v1 (docs/traces.md), one record per line:
 *     <timing> <op> <address> <size> [key=value ...]     # comment
 *   timing  +N  N ns after this agent's previous request was issued
 *           @N  at absolute time N ns (a busy agent queues it)
 *   op      read write mmap munmap mprotect migrate reclaim pin unpin
 *   address, size: decimal or 0x hex (size > 0)
 *   keys    pasid=N prot=r|rw|none populate=0|1 pagesize=4K|2M|1G io=N node=N
 * Binary format v1: "SCIMTRB\x01", then per record a tag byte and LEB128
 * varints (docs/traces.md gives the layout byte by byte).
 * Both are read transparently gzip-compressed, and streamed: a reader holds
 * one buffer whatever the trace's length.
 * Errors: "FILE:LINE:COL: error: ...; expected ...; <hint>" for text,
 * "FILE: byte offset N (record K): error: ..." for binary.
 */
#ifndef SCIMITAR_TRACE_H
#define SCIMITAR_TRACE_H

#include <stdbool.h>
#include <stdio.h>

#include "scimitar/scimitar.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum scim_trace_op {
    SCIM_OP_READ,
    SCIM_OP_WRITE,
    SCIM_OP_MMAP,
    SCIM_OP_MUNMAP,
    SCIM_OP_MPROTECT,
    SCIM_OP_MIGRATE,
    SCIM_OP_RECLAIM,
    SCIM_OP_PIN,
    SCIM_OP_UNPIN,
    SCIM_OP_COUNT_
} scim_trace_op;

typedef enum scim_trace_timing { SCIM_TIMING_REL, SCIM_TIMING_ABS } scim_trace_timing;

/* The largest timing a record may carry: the simulated clock counts
 * picoseconds in 64 bits, so N ns above 2^64/1000 would wrap. Readers
 * reject larger ones (text: line:col; binary: byte offset); a +N that
 * takes an agent past the clock's end is a replay error. */
#define SCIM_TRACE_MAX_NS (UINT64_MAX / 1000u)

enum {
    SCIM_TRACE_HAS_PASID = 1u << 0,
    SCIM_TRACE_HAS_PROT = 1u << 1,
    SCIM_TRACE_HAS_POPULATE = 1u << 2,
    SCIM_TRACE_HAS_PAGESIZE = 1u << 3,
    SCIM_TRACE_HAS_IO = 1u << 4,
    SCIM_TRACE_HAS_NODE = 1u << 5,
    SCIM_TRACE_HAS_ALL_ = (1u << 6) - 1
};

enum { SCIM_PROT_NONE = 0, SCIM_PROT_R = 1, SCIM_PROT_RW = 3 };

typedef struct scim_trace_rec {
    scim_trace_timing timing;
    uint64_t time_ns;
    scim_trace_op op;
    uint64_t addr, size;
    uint32_t has;         /* SCIM_TRACE_HAS_* */
    uint32_t pasid;       /* 20 bits */
    uint8_t prot;         /* SCIM_PROT_* */
    uint8_t populate;     /* 0 or 1 */
    uint8_t page_shift;   /* 12, 21, 30 */
    uint64_t io;
    uint32_t node;
    uint64_t line;        /* text: line of the record; binary: record number (both 1-based) */
} scim_trace_rec;

typedef struct scim_trace_reader scim_trace_reader;

SCIM_API scim_trace_reader *scim_trace_open(const char *path, scim_err *err);
SCIM_API scim_trace_reader *scim_trace_open_mem(const void *buf, size_t len, const char *name, scim_err *err);
/* 1: a record; 0: end of trace; < 0: error (message in err). */
SCIM_API int scim_trace_next(scim_trace_reader *r, scim_trace_rec *rec, scim_err *err);
SCIM_API bool scim_trace_is_binary(const scim_trace_reader *r);
SCIM_API const char *scim_trace_name(const scim_trace_reader *r);
/* Bytes of the (decompressed) stream consumed so far, and of the file
 * read so far (compressed), for progress reports. */
SCIM_API uint64_t scim_trace_offset(const scim_trace_reader *r);
/* How far into its file a reader is, for progress: *done bytes of the
 * file consumed (compressed bytes for a gzip file) of *total (its size;
 * a memory trace: its buffer). 0 of 0 for NULL or an unknown size. */
SCIM_API void scim_trace_position(const scim_trace_reader *r, uint64_t *done, uint64_t *total);
SCIM_API void scim_trace_close(scim_trace_reader *r); /* NULL is harmless */

typedef enum scim_trace_format { SCIM_TRACE_TEXT, SCIM_TRACE_BINARY } scim_trace_format;
typedef struct scim_trace_writer scim_trace_writer;

/* Writes PATH.tmp.<pid> and renames it on finish; "-" writes stdout. */
SCIM_API scim_trace_writer *scim_trace_create(const char *path, scim_trace_format fmt, bool gzip, scim_err *err);
SCIM_API int scim_trace_write(scim_trace_writer *w, const scim_trace_rec *rec, scim_err *err);
SCIM_API int scim_trace_comment(scim_trace_writer *w, const char *text, scim_err *err); /* text only */
SCIM_API int scim_trace_finish(scim_trace_writer *w, scim_err *err); /* frees w */
SCIM_API void scim_trace_abort(scim_trace_writer *w);                /* removes the temp file; frees w */

SCIM_API const char *scim_trace_op_name(scim_trace_op op);
/* The canonical text line of a record (no newline). Returns its length. */
SCIM_API int scim_trace_format_rec(const scim_trace_rec *rec, char *buf, size_t len);
/* Same record (every field that the formats carry)? */
SCIM_API bool scim_trace_rec_equal(const scim_trace_rec *a, const scim_trace_rec *b);

/* `scimitar trace stats`: what a trace contains. */
typedef struct scim_trace_summary {
    uint64_t records;
    uint64_t per_op[SCIM_OP_COUNT_];
    uint64_t read_bytes, write_bytes;
    uint64_t pages_4k;      /* distinct 4 KiB pages read or written */
    uint64_t regions_2m;    /* distinct 2 MiB regions read or written */
    uint64_t first_ns, last_ns; /* issue times if the agent never waits */
    double mean_gap_ns;     /* mean time between consecutive records */
} scim_trace_summary;
SCIM_API int scim_trace_summarize(const char *path, scim_trace_summary *out, scim_err *err);
SCIM_API int scim_trace_summary_print(const scim_trace_summary *s, FILE *out);

#ifdef __cplusplus
}
#endif
#endif

/* Importers of real programs' logs (`scimitar trace import`, docs/locality.md):
 *
 *   lackey  valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes PROGRAM
 *           -> a CPU trace (the program's data loads, stores and modifies)
 *              and a device trace (its I/O system calls' transfers), in the
 *              program's own address space and one clock;
 *   strace  strace -f -tt -e trace=<the I/O calls> -e raw=all PROGRAM
 *           -> a device trace only, timed by strace's timestamps.
 *
 * An I/O call is one of read, write, pread64, pwrite64, recv, send,
 * recvfrom, sendto (a buffer and a length in the arguments) and the
 * vectored ones readv, writev, preadv, pwritev, preadv2, pwritev2,
 * recvmsg, sendmsg, recvmmsg, sendmmsg. Each call on a buffer becomes one
 * device record on the buffer as passed (address and requested length,
 * whatever the call returned, failures included; a length of 0 moves
 * nothing and writes no record): a read-like call is a device `write` (the
 * device fills the buffer), a write-like call a device `read`. Neither log
 * shows the contents of an iovec array (lackey prints the array's address,
 * strace -e raw=all too), so vectored calls are counted and written as no
 * record.
 *
 * Lackey's clock: the CPU runs `ipns` instructions per ns, and every system
 * call in the log (I/O or not) takes `syscall_ns`; a call's transfer is at
 * the start of the call. The default pace, 0.05 instructions per ns, is one
 * the modelled core keeps up with (it has no data cache: every load or
 * store goes to memory, ~110 ns, 16 in flight in the generated config); a
 * core that falls behind its trace lets the device, which keeps the log's
 * times, reach pages before the core has touched them (docs/locality.md
 * measures it). An event's time is
 *     floor(instructions so far / ipns) + syscall_ns x (system calls before it)
 * where "instructions so far" counts the instruction the event belongs to.
 * Because syscall_ns >= 1, every CPU access logged before a call has a time
 * <= the call's, every one after it a time > the call's: the traces keep
 * the log's order, so `scimitar trace locality` finds the same numbers in
 * the traces as in the log. A modify (`M`, a load and a store of one
 * location) is one `write` record: one access, one translation.
 *
 * Errors name FILE:LINE:COL and what was expected; a log that ends without
 * its tool's closing line (lackey's "Exit code:", strace's "+++ exited
 * ... +++") or in the middle of a line is truncated, an error. Lines that are
 * neither events nor the tools' own messages are skipped and counted.
 */
#ifndef SCIMITAR_IMPORT_H
#define SCIMITAR_IMPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum scim_import_kind { SCIM_IMPORT_LACKEY, SCIM_IMPORT_STRACE } scim_import_kind;

/* "lackey" / "strace" -> kind; false if neither. */
bool scim_import_kind_parse(const char *name, scim_import_kind *out);
const char *scim_import_kind_name(scim_import_kind k);

typedef struct scim_import_opts {
    double ipns;         /* lackey: instructions per ns, > 0 (default 0.05) */
    uint64_t syscall_ns; /* lackey: ns per system call, >= 1 (default 1000) */
    int64_t pid;         /* strace: only this process or thread; -1 every one (default) */
    bool text;           /* write text traces (default: binary; both gzip) */
} scim_import_opts;

void scim_import_opts_default(scim_import_opts *o);

/* One CPU data access of the log (lackey). */
typedef struct scim_import_access {
    char kind; /* 'L' load, 'S' store, 'M' modify */
    uint64_t addr, size, time_ns;
} scim_import_access;

/* One I/O call on a buffer. */
typedef struct scim_import_io {
    bool dev_writes; /* read-like: the device writes the buffer */
    uint64_t addr, size, time_ns;
    uint64_t seq;     /* 1, 2, ...: the call's number among the imported ones */
    const char *call; /* "read", "pwrite64", ... */
} scim_import_io;

/* Where a parser sends the events, in log order. A callback's non-zero
 * return stops the parse and is returned. */
typedef struct scim_import_sink {
    void *ctx;
    int (*access)(void *ctx, const scim_import_access *a, scim_err *err);
    int (*io)(void *ctx, const scim_import_io *io, scim_err *err);
} scim_import_sink;

typedef struct scim_import_counts {
    uint64_t lines;
    uint64_t unknown, first_unknown; /* lines skipped; the first one's number */
    uint64_t tool_lines;             /* the tool's own messages (==PID==, +++, ---) */
    uint64_t instrs, loads, stores, modifies;
    uint64_t syscalls;               /* system calls the log shows (every kind) */
    uint64_t io_calls;               /* I/O calls on a buffer: one record each */
    uint64_t io_dev_writes;          /* of which read-like */
    uint64_t io_bytes;               /* requested lengths of the records */
    uint64_t zero_len;               /* I/O calls of length 0: no record */
    uint64_t vectored;               /* vectored calls: no record (buffers unknown) */
    uint64_t skipped_pid;            /* strace --pid: other processes' I/O calls */
    uint64_t first_ns, last_ns;      /* first and last I/O record */
} scim_import_counts;

/* Parse LOG (plain or gzip) into sink. counts may be NULL. Returns 0 or a
 * negative SCIM_E* code with err set ("LOG:LINE:COL: error: ..."). */
int scim_import_parse(scim_import_kind kind, const char *log, const scim_import_opts *o, const scim_import_sink *sink,
                      scim_import_counts *counts, scim_err *err);

/* What scim_import_write wrote. */
typedef struct scim_import_result {
    scim_import_counts counts;
    uint64_t regions, region_bytes; /* the config's regions */
    uint64_t cpu_pages, dev_pages;  /* distinct 4 KiB pages */
} scim_import_result;

/* Import LOG into PREFIX.dev.trace.gz, PREFIX.cpu.trace.gz (lackey) and
 * PREFIX.yaml, a config that replays them (one process whose regions cover
 * every page touched, a core and a device; scheme scimitar). Every file is
 * written under a temporary name and renamed at the end: on error none of
 * them is created or replaced. res may be NULL. */
int scim_import_write(scim_import_kind kind, const char *log, const char *prefix, const scim_import_opts *o,
                      scim_import_result *res, scim_err *err);

/* The counts, for people (key: value lines). */
int scim_import_counts_print(scim_import_kind kind, const scim_import_counts *c, FILE *out);

#ifdef __cplusplus
}
#endif
#endif

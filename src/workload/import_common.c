/* Log importers (workload/import.h): the line reader, numbers, the table of
 * I/O calls, and the entry point that hands a log to its parser. */
#include "workload/import_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define READ_CHUNK 65536
#define MAX_LINE (1u << 20)

/* ------------------------------------------------------------------------ */
/* Kinds and options */

bool scim_import_kind_parse(const char *name, scim_import_kind *out)
{
    if (name && !strcmp(name, "lackey"))
        *out = SCIM_IMPORT_LACKEY;
    else if (name && !strcmp(name, "strace"))
        *out = SCIM_IMPORT_STRACE;
    else
        return false;
    return true;
}

const char *scim_import_kind_name(scim_import_kind k) { return k == SCIM_IMPORT_LACKEY ? "lackey" : "strace"; }

void scim_import_opts_default(scim_import_opts *o)
{
    *o = (scim_import_opts){.ipns = 0.05, .syscall_ns = 1000, .pid = -1, .text = false};
}

/* ------------------------------------------------------------------------ */
/* Lines */

int scim_imp_log_open(scim_imp_log *l, const char *path, scim_err *err)
{
    memset(l, 0, sizeof *l);
    l->path = path;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return scim_err_set(err, SCIM_EIO, "cannot open log %s: %s", path, errno ? strerror(errno) : "out of memory");
    l->gz = gz;
    l->buf = malloc(READ_CHUNK);
    l->cap = 256;
    l->line = malloc(l->cap);
    if (!l->buf || !l->line) {
        scim_imp_log_close(l);
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory reading %s", path);
    }
    return 0;
}

void scim_imp_log_close(scim_imp_log *l)
{
    if (l->gz)
        gzclose(l->gz);
    free(l->buf);
    free(l->line);
    l->gz = NULL;
    l->buf = l->line = NULL;
}

static int fill(scim_imp_log *l, scim_err *err)
{
    int n = gzread(l->gz, l->buf, READ_CHUNK);
    int zerr = Z_OK;
    const char *msg = gzerror(l->gz, &zerr);
    if (n < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
        if (zerr == Z_ERRNO)
            return scim_err_set(err, SCIM_EIO, "%s: cannot read the log: %s", l->path, strerror(errno));
        return scim_err_set(err, SCIM_EPARSE, "%s: cannot decompress the log (%s): corrupt or truncated gzip data",
                            l->path, msg);
    }
    l->pos = 0;
    l->len = (size_t)n;
    if (n == 0)
        l->eof = true;
    return 0;
}

int scim_imp_log_next(scim_imp_log *l, scim_err *err)
{
    l->n = 0;
    for (;;) {
        if (l->pos == l->len) {
            if (l->eof)
                break;
            int rc = fill(l, err);
            if (rc)
                return rc;
            continue;
        }
        const char *s = l->buf + l->pos;
        size_t avail = l->len - l->pos;
        const char *nl = memchr(s, '\n', avail);
        size_t take = nl ? (size_t)(nl - s) : avail;
        if (l->n + take + 1 > l->cap) {
            size_t cap = l->cap;
            while (cap < l->n + take + 1)
                cap *= 2;
            if (cap > MAX_LINE + 1) {
                l->lineno++;
                return scim_imp_error(l, NULL, err, "line longer than %u characters; is this a log at all?",
                                      MAX_LINE);
            }
            char *p = realloc(l->line, cap);
            if (!p)
                return scim_err_set(err, SCIM_ENOMEM, "out of host memory reading %s", l->path);
            l->line = p;
            l->cap = cap;
        }
        memcpy(l->line + l->n, s, take);
        l->n += take;
        l->pos += take + (nl ? 1 : 0);
        if (nl)
            goto line;
    }
    if (l->n == 0)
        return 0;
    l->lineno++;
    l->line[l->n] = '\0';
    return scim_imp_error(l, NULL, err, "the log ends in the middle of this line (no newline): it is truncated; "
                                        "capture it again and let the program run to its end");
line:
    l->lineno++;
    if (memchr(l->line, '\0', l->n)) {
        size_t col = (size_t)((char *)memchr(l->line, '\0', l->n) - l->line);
        l->line[l->n] = '\0';
        return scim_imp_error(l, l->line + col, err, "NUL byte in the log; is this a corrupt or binary file?");
    }
    if (l->n && l->line[l->n - 1] == '\r')
        l->n--;
    l->line[l->n] = '\0';
    return 1;
}

int scim_imp_error(const scim_imp_log *l, const char *at, scim_err *err, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        return scim_err_set(err, SCIM_EPARSE, "%s:%llu:%llu: error: %s", l->path, (unsigned long long)l->lineno,
                            (unsigned long long)(at - l->line + 1), msg);
    return scim_err_set(err, SCIM_EPARSE, "%s:%llu: error: %s", l->path, (unsigned long long)l->lineno, msg);
}

/* ------------------------------------------------------------------------ */
/* Numbers */

static int digit(char c, unsigned base)
{
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                                                     : 99;
    return d < (int)base ? d : -1;
}

/* Digits in `base` at *p, without overflow. */
static bool digits(const char **p, uint64_t *v, unsigned base)
{
    const char *s = *p;
    uint64_t x = 0;
    int d;
    while ((d = digit(*s, base)) >= 0) {
        if (x > (UINT64_MAX - (uint64_t)d) / base)
            return false;
        x = x * base + (uint64_t)d;
        s++;
    }
    if (s == *p)
        return false;
    *p = s;
    *v = x;
    return true;
}

bool scim_imp_hex(const char **p, uint64_t *v) { return digits(p, v, 16); }
bool scim_imp_dec(const char **p, uint64_t *v) { return digits(p, v, 10); }

bool scim_imp_num(const char **p, uint64_t *v)
{
    if ((*p)[0] == '0' && ((*p)[1] == 'x' || (*p)[1] == 'X')) {
        const char *s = *p + 2;
        if (!scim_imp_hex(&s, v))
            return false;
        *p = s;
        return true;
    }
    return scim_imp_dec(p, v);
}

const char *scim_imp_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool scim_imp_at_end(const char *p) { return *scim_imp_skip_space(p) == '\0'; }

int scim_imp_arg(const char *args, const char *end, int n, const char **at, uint64_t *v)
{
    const char *s = args;
    *at = end;
    for (int i = 0; i < n; i++) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        if (!c)
            return -1;
        s = c + 1;
    }
    s = scim_imp_skip_space(s);
    *at = s;
    if (s >= end)
        return -1;
    const char *q = s;
    if (!scim_imp_num(&q, v))
        return 0;
    q = scim_imp_skip_space(q);
    return q >= end || *q == ',' ? 1 : 0;
}

int scim_imp_buffer(const scim_imp_call *c, const char *args, const char *end, uint64_t *addr, uint64_t *len,
                    const char **at, int *argno)
{
    *argno = c->buf_arg + 1;
    int a = scim_imp_arg(args, end, c->buf_arg, at, addr);
    if (a != 1)
        return a;
    *argno = c->len_arg + 1;
    return scim_imp_arg(args, end, c->len_arg, at, len);
}

/* ------------------------------------------------------------------------ */
/* I/O calls */

static const scim_imp_call calls[] = {
    {"read", true, false, 1, 2},      {"pread64", true, false, 1, 2},   {"recv", true, false, 1, 2},
    {"recvfrom", true, false, 1, 2},  {"write", false, false, 1, 2},    {"pwrite64", false, false, 1, 2},
    {"send", false, false, 1, 2},     {"sendto", false, false, 1, 2},   {"readv", true, true, 0, 0},
    {"preadv", true, true, 0, 0},     {"preadv2", true, true, 0, 0},    {"recvmsg", true, true, 0, 0},
    {"recvmmsg", true, true, 0, 0},   {"writev", false, true, 0, 0},    {"pwritev", false, true, 0, 0},
    {"pwritev2", false, true, 0, 0},  {"sendmsg", false, true, 0, 0},   {"sendmmsg", false, true, 0, 0},
};

const scim_imp_call *scim_imp_find_call(const char *name, size_t n)
{
    for (size_t i = 0; i < SCIM_COUNT_OF(calls); i++)
        if (strlen(calls[i].name) == n && !memcmp(calls[i].name, name, n))
            return &calls[i];
    return NULL;
}

int scim_imp_emit_io(const scim_imp_call *c, uint64_t addr, uint64_t len, uint64_t time_ns,
                     const scim_import_sink *sink, scim_import_counts *counts, const scim_imp_log *l, const char *at,
                     scim_err *err)
{
    if (c->vectored) {
        counts->vectored++;
        return 0;
    }
    if (len == 0) {
        counts->zero_len++;
        return 0;
    }
    if (addr + len < addr)
        return scim_imp_error(l, at, err, "buffer 0x%llx of %llu bytes wraps around the address space",
                              (unsigned long long)addr, (unsigned long long)len);
    if (!counts->io_calls)
        counts->first_ns = time_ns;
    counts->last_ns = time_ns;
    counts->io_calls++;
    counts->io_dev_writes += c->dev_writes;
    counts->io_bytes += len;
    scim_import_io io = {c->dev_writes, addr, len, time_ns, counts->io_calls, c->name};
    return sink->io ? sink->io(sink->ctx, &io, err) : 0;
}

/* ------------------------------------------------------------------------ */
/* Entry point */

int scim_import_parse(scim_import_kind kind, const char *log, const scim_import_opts *o, const scim_import_sink *sink,
                      scim_import_counts *counts, scim_err *err)
{
    scim_import_opts def;
    if (!o) {
        scim_import_opts_default(&def);
        o = &def;
    }
    if (!(o->ipns > 0) || o->ipns > 1e9)
        return scim_err_set(err, SCIM_ERANGE, "trace import: instructions per ns must be > 0 and at most 1e9 (got %g)",
                            o->ipns);
    if (o->syscall_ns < 1)
        return scim_err_set(err, SCIM_ERANGE, "trace import: a system call must take at least 1 ns (--syscall-ns), so "
                                              "that the traces keep the log's order");
    scim_import_counts c = {0};
    scim_import_sink none = {0};
    scim_imp_log l;
    int rc = scim_imp_log_open(&l, log, err);
    if (rc)
        return rc;
    rc = kind == SCIM_IMPORT_LACKEY ? scim_imp_parse_lackey(&l, o, sink ? sink : &none, &c, err)
                                    : scim_imp_parse_strace(&l, o, sink ? sink : &none, &c, err);
    c.lines = l.lineno;
    scim_imp_log_close(&l);
    if (counts)
        *counts = c;
    return rc;
}

int scim_import_counts_print(scim_import_kind kind, const scim_import_counts *c, FILE *out)
{
    fprintf(out, "log.lines: %llu\nlog.unknown_lines: %llu\n", (unsigned long long)c->lines,
            (unsigned long long)c->unknown);
    if (kind == SCIM_IMPORT_LACKEY)
        fprintf(out, "cpu.instructions: %llu\ncpu.loads: %llu\ncpu.stores: %llu\ncpu.modifies: %llu\n",
                (unsigned long long)c->instrs, (unsigned long long)c->loads, (unsigned long long)c->stores,
                (unsigned long long)c->modifies);
    fprintf(out, "syscalls: %llu\nio.calls: %llu\nio.device_writes: %llu\nio.device_reads: %llu\nio.bytes: %llu\n",
            (unsigned long long)c->syscalls, (unsigned long long)c->io_calls, (unsigned long long)c->io_dev_writes,
            (unsigned long long)(c->io_calls - c->io_dev_writes), (unsigned long long)c->io_bytes);
    fprintf(out, "io.zero_length: %llu\nio.vectored_skipped: %llu\n", (unsigned long long)c->zero_len,
            (unsigned long long)c->vectored);
    if (kind == SCIM_IMPORT_STRACE)
        fprintf(out, "io.other_pids_skipped: %llu\n", (unsigned long long)c->skipped_pid);
    fprintf(out, "time.first_ns: %llu\ntime.last_ns: %llu\n", (unsigned long long)c->first_ns,
            (unsigned long long)c->last_ns);
    return ferror(out) ? SCIM_EIO : 0;
}

/* Trace reader. Formats in include/scimitar/trace.h and docs/traces.md.
 *
 * One byte source serves every input (a file through zlib's gzread, which
 * passes plain files through; or a memory buffer, inflated if it starts with
 * the gzip magic), with a fixed 64 KiB buffer, so memory never grows with a
 * trace's length. Text lines longer than LINE_MAX_LEN are an error, not a
 * reallocation. */
#include "core/trace_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define LINE_MAX_LEN 4096
#define BUF_SIZE 65536

/* ---------- byte source ---------- */

/* Its first member is the state scim_trace_next_quick reads
 * (trace_internal.h), and the source is the reader's first member. */
typedef struct source {
    scim_trace_hot h; /* h.len, h.pos: the bytes in buf, the next one */
    gzFile gz;
    int fd; /* gz's file: scim_trace_reopen_at; -1 for a buffer */
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    bool inflating;
    bool zs_ready;
    z_stream zs;
    unsigned char buf[BUF_SIZE];
    uint64_t offset; /* bytes of the decompressed stream before buf[0] */
    uint64_t file_size; /* of the file as stored (compressed), for progress; 0: unknown */
    bool eof;
    bool failed;
    bool stream_ended; /* in-memory gzip: the last member's end was seen */
} source;

static bool fill(source *s)
{
    if (s->eof)
        return false;
    s->offset += s->h.len;
    s->h.pos = s->h.len = 0;
    if (s->gz) {
        int n = gzread(s->gz, s->buf, BUF_SIZE);
        int zerr = Z_OK;
        if (n == 0)
            gzerror(s->gz, &zerr); /* Z_BUF_ERROR: the gzip stream stops before its end (truncated) */
        if (n < 0 || zerr == Z_BUF_ERROR) {
            s->failed = true;
            s->eof = true;
            return false;
        }
        s->h.len = (size_t)n;
    } else if (s->inflating) {
        s->zs.next_out = s->buf;
        s->zs.avail_out = BUF_SIZE;
        while (s->zs.avail_out == BUF_SIZE) {
            int rc = inflate(&s->zs, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                s->stream_ended = true;
                /* concatenated gzip members, as gzread accepts */
                if (s->zs.avail_in > 0 && inflateReset(&s->zs) == Z_OK) {
                    s->stream_ended = false;
                    continue;
                }
                break;
            }
            if (rc != Z_OK) {
                s->failed = true;
                break;
            }
            if (s->zs.avail_in == 0)
                break;
        }
        s->h.len = BUF_SIZE - s->zs.avail_out;
        if (s->h.len == 0 && !s->stream_ended)
            s->failed = true; /* the input ended inside the compressed stream */
    } else {
        size_t n = s->mem_len - s->mem_pos < BUF_SIZE ? s->mem_len - s->mem_pos : BUF_SIZE;
        if (n) /* an empty buffer may be NULL: no memcpy from it (C17 7.24.1) */
            memcpy(s->buf, s->mem + s->mem_pos, n);
        s->mem_pos += n;
        s->h.len = n;
    }
    if (s->h.len == 0)
        s->eof = true;
    return s->h.len > 0;
}

static inline int get_byte(source *s)
{
    if (s->h.pos == s->h.len && !fill(s))
        return -1;
    return s->buf[s->h.pos++];
}

static uint64_t src_offset(const source *s) { return s->offset + s->h.pos; }

/* ---------- reader ---------- */

struct scim_trace_reader {
    source src; /* first: scim_trace_hot_of() (trace_internal.h) */
    char *name;
    char text[LINE_MAX_LEN + 2];
};
_Static_assert(offsetof(scim_trace_reader, src) == 0 && offsetof(source, h) == 0,
               "scim_trace_hot_of() casts the reader to its source's scim_trace_hot");

static scim_trace_reader *reader_new(const char *name, scim_err *err)
{
    scim_trace_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory opening trace %s", name);
        return NULL;
    }
    r->src.h.buf = r->src.buf;
    r->src.fd = -1;
    return r;
}

/* Look at the first bytes: binary magic or text. */
static int sniff(scim_trace_reader *r, scim_err *err)
{
    source *s = &r->src;
    if (s->h.pos == s->h.len)
        fill(s);
    if (s->failed)
        return scim_err_set(err, SCIM_EIO, "%s: error: cannot decompress the trace (corrupt or truncated gzip data); "
                                           "re-create it or check the file", r->name);
    if (s->h.len >= 7 && memcmp(s->buf, scim_trace_magic, 7) == 0) {
        if (s->h.len < 8 || s->buf[7] != 1)
            return scim_err_set(err, SCIM_EPARSE,
                                "%s: byte offset 7: error: unsupported binary trace version %d; expected 1; "
                                "re-pack it with this scimitar (scimitar trace pack)",
                                r->name, s->h.len >= 8 ? s->buf[7] : -1);
        r->src.h.binary = true;
        s->h.pos = 8;
    }
    return 0;
}

scim_trace_reader *scim_trace_open(const char *path, scim_err *err)
{
    if (!path) {
        scim_err_set(err, SCIM_EINVAL, "scim_trace_open: path is NULL");
        return NULL;
    }
    struct stat sb;
    bool sized = stat(path, &sb) == 0;
    if (sized && S_ISDIR(sb.st_mode)) {
        scim_err_set(err, SCIM_EIO, "cannot open trace %s: it is a directory; give a trace file", path);
        return NULL;
    }
    /* our own descriptor, so that a forked simulation can give its reader
     * a file position of its own (scim_trace_reopen_at) */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    gzFile gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
    if (!gz) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        scim_err_set(err, SCIM_EIO, "cannot open trace %s: %s", path, e ? strerror(e) : "zlib error");
        return NULL;
    }
    gzbuffer(gz, BUF_SIZE);
    scim_trace_reader *r = reader_new(path, err);
    if (!r) {
        gzclose(gz);
        return NULL;
    }
    r->src.gz = gz;
    r->src.fd = fd;
    r->src.file_size = sized && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
    if (sniff(r, err) != 0) {
        scim_trace_close(r);
        return NULL;
    }
    return r;
}

scim_trace_reader *scim_trace_open_mem(const void *buf, size_t len, const char *name, scim_err *err)
{
    if (!buf && len) {
        scim_err_set(err, SCIM_EINVAL, "scim_trace_open_mem: buf is NULL");
        return NULL;
    }
    scim_trace_reader *r = reader_new(name ? name : "(memory)", err);
    if (!r)
        return NULL;
    r->src.mem = buf;
    r->src.mem_len = len;
    if (len >= 2 && r->src.mem[0] == 0x1f && r->src.mem[1] == 0x8b) {
        if (inflateInit2(&r->src.zs, 15 + 32) != Z_OK) {
            scim_trace_close(r);
            scim_err_set(err, SCIM_ENOMEM, "cannot initialise zlib");
            return NULL;
        }
        r->src.zs_ready = true;
        r->src.inflating = true;
        r->src.zs.next_in = (Bytef *)(uintptr_t)buf;
        r->src.zs.avail_in = (uInt)len;
    }
    if (sniff(r, err) != 0) {
        scim_trace_close(r);
        return NULL;
    }
    return r;
}

void scim_trace_close(scim_trace_reader *r)
{
    if (!r)
        return;
    if (r->src.gz)
        gzclose(r->src.gz);
    if (r->src.zs_ready)
        inflateEnd(&r->src.zs);
    free(r->name);
    free(r);
}

int64_t scim_trace_file_position(const scim_trace_reader *r)
{
    if (!r || r->src.fd < 0)
        return -1;
    off_t off = lseek(r->src.fd, 0, SEEK_CUR);
    return off < 0 ? -1 : (int64_t)off;
}

int scim_trace_reopen_at(scim_trace_reader *r, int64_t position, scim_err *err)
{
    if (!r || r->src.fd < 0 || position < 0)
        return 0;
    struct stat was, now;
    int fd = open(r->name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return scim_err_set(err, SCIM_EIO, "cannot open trace %s again: %s", r->name, strerror(errno));
    int rc = 0;
    if (fstat(r->src.fd, &was) != 0 || fstat(fd, &now) != 0 || was.st_dev != now.st_dev || was.st_ino != now.st_ino)
        rc = scim_err_set(err, SCIM_EIO, "trace %s was replaced while the simulation read it; expected the file "
                                         "to stay in place until the run ends",
                          r->name);
    else if (lseek(fd, (off_t)position, SEEK_SET) != (off_t)position ||
             dup2(fd, r->src.fd) < 0 || fcntl(r->src.fd, F_SETFD, FD_CLOEXEC) < 0)
        rc = scim_err_set(err, SCIM_EIO, "cannot open trace %s again: %s", r->name, strerror(errno));
    close(fd);
    return rc;
}

bool scim_trace_is_binary(const scim_trace_reader *r) { return r && r->src.h.binary; }
const char *scim_trace_name(const scim_trace_reader *r) { return r ? r->name : "(no trace)"; }
uint64_t scim_trace_offset(const scim_trace_reader *r) { return r ? src_offset(&r->src) : 0; }

void scim_trace_position(const scim_trace_reader *r, uint64_t *done, uint64_t *total)
{
    uint64_t d = 0, t = 0;
    if (r && r->src.gz) {
        /* compressed bytes taken from the file (zlib's input buffer ahead
         * of the decompressed position: at most 64 KiB early) */
        z_off_t off = gzoffset(r->src.gz);
        t = r->src.file_size;
        d = off > 0 ? (uint64_t)off : 0;
    } else if (r) {
        t = r->src.mem_len;
        d = r->src.inflating ? r->src.mem_len - r->src.zs.avail_in : r->src.mem_pos;
    }
    if (r && r->src.eof)
        d = t;
    if (d > t)
        d = t;
    if (done)
        *done = d;
    if (total)
        *total = t;
}

/* ---------- text parsing ---------- */

typedef struct cursor {
    const char *line;
    const char *p;
} cursor;

static int col_of(const cursor *c, const char *at) { return (int)(at - c->line) + 1; }

static int text_error(scim_trace_reader *r, const cursor *c, const char *at, scim_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int text_error(scim_trace_reader *r, const cursor *c, const char *at, scim_err *err, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return scim_err_set(err, SCIM_EPARSE, "%s:%llu:%d: error: %s", r->name, (unsigned long long)r->src.h.line,
                        col_of(c, at), msg);
}

static void skip_ws(cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')
        c->p++;
}

static size_t token_len(const char *p)
{
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\r' && p[n] != '#')
        n++;
    return n;
}

/* Parse a u64 (decimal or 0x hex) spanning exactly len chars. */
static int parse_u64(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    if (len > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        for (i = 2; i < len; i++) {
            int d;
            char ch = p[i];
            if (ch >= '0' && ch <= '9')
                d = ch - '0';
            else if (ch >= 'a' && ch <= 'f')
                d = ch - 'a' + 10;
            else if (ch >= 'A' && ch <= 'F')
                d = ch - 'A' + 10;
            else
                return -1;
            if (v >> 60)
                return -2;
            v = v * 16 + (uint64_t)d;
        }
        *out = v;
        return 0;
    }
    if (len == 0)
        return -1;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int number_field(scim_trace_reader *r, cursor *c, const char *what, uint64_t *out, scim_err *err)
{
    skip_ws(c);
    const char *at = c->p;
    size_t n = token_len(at);
    if (n == 0)
        return text_error(r, c, at, err, "missing %s; expected <timing> <op> <address> <size> [key=value ...]",
                          what);
    int rc = parse_u64(at, n, out);
    if (rc == -2)
        return text_error(r, c, at, err, "%s '%.*s' does not fit in 64 bits; expected a number below 2^64",
                          what, (int)n, at);
    if (rc)
        return text_error(r, c, at, err, "bad %s '%.*s'; expected a decimal or 0x hex number", what, (int)n, at);
    c->p += n;
    return 0;
}

static int parse_key(scim_trace_reader *r, cursor *c, scim_trace_rec *rec, scim_err *err)
{
    const char *at = c->p;
    size_t n = token_len(at);
    const char *eq = memchr(at, '=', n);
    if (!eq)
        return text_error(r, c, at, err, "'%.*s' is not key=value; expected optional keys such as populate=1",
                          (int)n, at);
    size_t klen = (size_t)(eq - at);
    size_t k;
    for (k = 0; k < SCIM_TRACE_N_KEYS; k++)
        if (strlen(scim_trace_keys[k].name) == klen && memcmp(scim_trace_keys[k].name, at, klen) == 0)
            break;
    if (k == SCIM_TRACE_N_KEYS)
        return text_error(r, c, at, err,
                          "unknown key '%.*s'; expected one of pasid, prot, populate, pagesize, io, node",
                          (int)klen, at);
    if (rec->has & scim_trace_keys[k].bit)
        return text_error(r, c, at, err, "key '%s' given twice; keep one", scim_trace_keys[k].name);
    if (!(scim_trace_keys[k].ops & SCIM_TRACE_OP_BIT(rec->op)))
        return text_error(r, c, at, err, "key '%s' does not apply to '%s'; remove it", scim_trace_keys[k].name,
                          scim_trace_op_names[rec->op]);
    const char *val = eq + 1;
    size_t vlen = n - klen - 1;
    uint64_t v = 0;
    switch (scim_trace_keys[k].kind) {
    case SCIM_TRACE_KEY_PROT:
        if (vlen == 1 && val[0] == 'r')
            v = SCIM_PROT_R;
        else if (vlen == 2 && !memcmp(val, "rw", 2))
            v = SCIM_PROT_RW;
        else if (vlen == 4 && !memcmp(val, "none", 4))
            v = SCIM_PROT_NONE;
        else
            return text_error(r, c, val, err, "bad prot '%.*s'; expected r, rw or none", (int)vlen, val);
        break;
    case SCIM_TRACE_KEY_PAGESIZE:
        if (vlen == 2 && !memcmp(val, "4K", 2))
            v = 12;
        else if (vlen == 2 && !memcmp(val, "2M", 2))
            v = 21;
        else if (vlen == 2 && !memcmp(val, "1G", 2))
            v = 30;
        else
            return text_error(r, c, val, err, "bad pagesize '%.*s'; expected 4K, 2M or 1G", (int)vlen, val);
        break;
    case SCIM_TRACE_KEY_BOOL:
        if (vlen == 1 && (val[0] == '0' || val[0] == '1'))
            v = (uint64_t)(val[0] - '0');
        else
            return text_error(r, c, val, err, "bad %s '%.*s'; expected 0 or 1", scim_trace_keys[k].name, (int)vlen,
                              val);
        break;
    default: {
        int rc = parse_u64(val, vlen, &v);
        if (rc || v > scim_trace_keys[k].max)
            return text_error(r, c, val, err, "bad %s '%.*s'; expected a number from 0 to %llu",
                              scim_trace_keys[k].name, (int)vlen, val, (unsigned long long)scim_trace_keys[k].max);
    }
    }
    rec->has |= scim_trace_keys[k].bit;
    scim_trace_set_key_value(rec, k, v);
    c->p += n;
    return 0;
}

/* 1: record, 0: nothing on this line */
static int parse_line(scim_trace_reader *r, char *line, scim_trace_rec *rec, scim_err *err)
{
    cursor c = {line, line};
    skip_ws(&c);
    if (*c.p == '\0' || *c.p == '#') {
        /* the version header is a comment with a meaning */
        if (!strncmp(c.p, "# scimitar trace v", 18)) {
            const char *v = c.p + 18;
            if (strcmp(v, "1") != 0 && strncmp(v, "1 ", 2) != 0)
                return text_error(r, &c, c.p, err,
                                  "unsupported trace version '%s'; expected v1; convert it with a scimitar "
                                  "that reads it",
                                  v);
        }
        return 0;
    }
    memset(rec, 0, sizeof *rec);
    rec->line = r->src.h.line;
    const char *at = c.p;
    if (*at != '+' && *at != '@')
        return text_error(r, &c, at, err,
                          "bad timing '%.*s'; expected +N (ns after the previous request) or @N (absolute ns)",
                          (int)token_len(at), at);
    rec->timing = *at == '@' ? SCIM_TIMING_ABS : SCIM_TIMING_REL;
    c.p++;
    size_t n = token_len(c.p);
    int rc = parse_u64(c.p, n, &rec->time_ns);
    if (rc == -1 || (n > 1 && c.p[0] == '0' && (c.p[1] == 'x' || c.p[1] == 'X')))
        return text_error(r, &c, at, err, "bad timing '%.*s'; expected +N or @N with N a decimal number of ns",
                          (int)n + 1, at);
    if (rc == -2)
        return text_error(r, &c, at, err, "timing '%.*s' does not fit in 64 bits", (int)n + 1, at);
    if (rec->time_ns > SCIM_TRACE_MAX_NS)
        return text_error(r, &c, at, err,
                          "timing '%.*s' is beyond the simulated clock (picoseconds in 64 bits); expected at most "
                          "%llu ns (about 213 days)",
                          (int)n + 1, at, (unsigned long long)SCIM_TRACE_MAX_NS);
    c.p += n;
    skip_ws(&c);
    at = c.p;
    n = token_len(at);
    int op = -1;
    for (int i = 0; i < SCIM_OP_COUNT_; i++)
        if (strlen(scim_trace_op_names[i]) == n && memcmp(scim_trace_op_names[i], at, n) == 0)
            op = i;
    if (op < 0) {
        if (n == 0)
            return text_error(r, &c, at, err, "missing op; expected <timing> <op> <address> <size>");
        return text_error(r, &c, at, err,
                          "unknown op '%.*s'; expected read, write, mmap, munmap, mprotect, migrate, reclaim, "
                          "pin or unpin",
                          (int)n, at);
    }
    rec->op = (scim_trace_op)op;
    c.p += n;
    if ((rc = number_field(r, &c, "address", &rec->addr, err)))
        return rc;
    skip_ws(&c);
    const char *size_at = c.p;
    if ((rc = number_field(r, &c, "size", &rec->size, err)))
        return rc;
    if (rec->size == 0)
        return text_error(r, &c, size_at, err, "size must be > 0");
    if (rec->addr + rec->size - 1 < rec->addr)
        return text_error(r, &c, size_at, err, "address + size wraps around 2^64");
    for (;;) {
        skip_ws(&c);
        if (*c.p == '\0' || *c.p == '#')
            return 1;
        if ((rc = parse_key(r, &c, rec, err)))
            return rc;
    }
}

static int next_text(scim_trace_reader *r, scim_trace_rec *rec, scim_err *err)
{
    for (;;) {
        size_t n = 0;
        int ch;
        bool any = false;
        while ((ch = get_byte(&r->src)) >= 0) {
            any = true;
            if (ch == '\n')
                break;
            if (n == LINE_MAX_LEN) {
                r->src.h.line++;
                return scim_err_set(err, SCIM_EPARSE,
                                    "%s:%llu:%d: error: line longer than %d characters; expected one record per "
                                    "line",
                                    r->name, (unsigned long long)r->src.h.line, LINE_MAX_LEN + 1, LINE_MAX_LEN);
            }
            if (ch == '\0') {
                r->src.h.line++;
                return scim_err_set(err, SCIM_EPARSE,
                                    "%s:%llu:%zu: error: NUL byte in a text trace; is this a corrupt or binary file?",
                                    r->name, (unsigned long long)r->src.h.line, n + 1);
            }
            r->text[n++] = (char)ch;
        }
        if (r->src.failed)
            return scim_err_set(err, SCIM_EIO, "%s:%llu: error: cannot decompress the trace (corrupt or truncated gzip data)",
                                r->name, (unsigned long long)r->src.h.line + 1);
        if (!any)
            return 0;
        r->text[n] = '\0';
        r->src.h.line++;
        int rc = parse_line(r, r->text, rec, err);
        if (rc != 0)
            return rc;
    }
}

/* ---------- binary ---------- */

static int bin_error(scim_trace_reader *r, uint64_t at, scim_err *err, const char *what)
{
    return scim_err_set(err, SCIM_EPARSE, "%s: byte offset %llu (record %llu): error: %s; the binary trace is "
                                          "corrupt or truncated — re-create it (scimitar trace pack)",
                        r->name, (unsigned long long)at, (unsigned long long)r->src.h.line, what);
}

/* 0 ok, -1 truncated, -2 too long */
static int get_varint(source *s, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        int b = get_byte(s);
        if (b < 0)
            return -1;
        if (i == 9 && b > 1)
            return -2;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -2;
}


/* get_varint without a bounds test per byte where the buffer surely holds
 * a whole varint (a record's keys: a 64-tenant trace names a PASID in
 * every record). */
static int get_varint_quick(source *s, uint64_t *out)
{
    if (s->h.len - s->h.pos >= 10) {
        const unsigned char *p = s->buf + s->h.pos;
        if (scim_trace_varint_unchecked(&p, out) == 0) {
            s->h.pos = (size_t)(p - s->buf);
            return 0;
        }
    }
    return get_varint(s, out); /* near the end, or overlong: as it always did */
}

/* The record's tag and three varints when the buffer surely holds them
 * (the common case: no refill and no bounds test per byte). 1: decoded,
 * 0: take the byte-by-byte path (near the buffer's end, or an overlong
 * varint, which that path reports with its offset). */
static int binary_head_fast(source *s, int *tag, uint64_t v[3])
{
    enum { HEAD_MAX = 1 + 3 * 10 };
    if (s->h.len - s->h.pos < HEAD_MAX)
        return 0;
    const unsigned char *p = s->buf + s->h.pos;
    *tag = *p++;
    for (int i = 0; i < 3; i++)
        if (scim_trace_varint_unchecked(&p, &v[i]) != 0)
            return 0;
    s->h.pos = (size_t)(p - s->buf);
    return 1;
}

static int next_binary(scim_trace_reader *r, scim_trace_rec *rec, scim_err *err)
{
    source *s = &r->src;
    uint64_t at = src_offset(s);
    uint64_t v[3];
    int tag;
    bool fast = binary_head_fast(s, &tag, v);
    if (!fast) {
        tag = get_byte(s);
        if (tag < 0)
            return s->failed ? scim_err_set(err, SCIM_EIO,
                                            "%s: error: cannot decompress the trace (corrupt or truncated gzip data)",
                                            r->name)
                             : 0;
    }
    r->src.h.line++;
    memset(rec, 0, sizeof *rec);
    rec->line = r->src.h.line;
    if ((tag & 0x0f) >= SCIM_OP_COUNT_)
        return bin_error(r, at, err, "unknown op code");
    if (tag & 0xc0)
        return bin_error(r, at, err, "reserved tag bits set");
    rec->op = (scim_trace_op)(tag & 0x0f);
    rec->timing = (tag & 0x10) ? SCIM_TIMING_ABS : SCIM_TIMING_REL;
    for (int i = 0; i < 3 && !fast; i++) {
        uint64_t fat = src_offset(s);
        int rc = get_varint(s, &v[i]);
        if (rc)
            return bin_error(r, rc == -1 ? at : fat, err, rc == -1 ? "truncated record" : "varint longer than 10 bytes");
    }
    rec->time_ns = v[0];
    if (rec->time_ns > SCIM_TRACE_MAX_NS)
        return bin_error(r, at, err, "a timing beyond the simulated clock (more than 2^64 ps)");
    uint64_t zz = v[1];
    int64_t delta = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    rec->addr = r->src.h.prev_addr + (uint64_t)delta;
    rec->size = v[2];
    if (tag & 0x20) {
        uint64_t has;
        int rc = get_varint_quick(s, &has);
        if (rc)
            return bin_error(r, at, err, "truncated record");
        if (has & ~(uint64_t)SCIM_TRACE_HAS_ALL_ || has == 0)
            return bin_error(r, at, err, "unknown key bits");
        rec->has = (uint32_t)has;
        /* key k's bit is 1 << k (trace_format.c): the keys in their order */
        for (uint32_t bits = (uint32_t)has; bits; bits &= bits - 1) {
            size_t k = (size_t)__builtin_ctz(bits);
            uint64_t val;
            rc = get_varint_quick(s, &val);
            if (rc)
                return bin_error(r, at, err, "truncated record");
            scim_trace_set_key_value(rec, k, val);
            if (scim_trace_key_value(rec, k) != val) /* does not fit its field (prot, populate, pagesize: 8 bits) */
                return bin_error(r, at, err, "a key value out of range");
        }
    }
    const char *why;
    if (scim_trace_rec_check(rec, &why) != 0)
        return bin_error(r, at, err, why);
    r->src.h.prev_addr = rec->addr;
    return 1;
}

int scim_trace_next(scim_trace_reader *r, scim_trace_rec *rec, scim_err *err)
{
    if (!r || !rec)
        return scim_err_set(err, SCIM_EINVAL, "scim_trace_next: %s is NULL", r ? "rec" : "the reader");
    return r->src.h.binary ? next_binary(r, rec, err) : next_text(r, rec, err);
}

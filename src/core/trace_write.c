/* Trace writer: text or binary, plain or gzip, to a temporary name that
 * becomes the trace's once it is complete. Formats in
 * include/scimitar/trace.h and docs/traces.md. */
#include "core/trace_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

struct scim_trace_writer {
    gzFile gz;
    scim_trace_format fmt;
    char *path, *tmp;
    uint64_t prev_addr;
    uint64_t records;
};

static int put_varint(unsigned char *b, uint64_t v)
{
    int n = 0;
    do {
        unsigned char byte = v & 0x7f;
        v >>= 7;
        b[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    return n;
}

scim_trace_writer *scim_trace_create(const char *path, scim_trace_format fmt, bool gzip, scim_err *err)
{
    if (!path) {
        scim_err_set(err, SCIM_EINVAL, "scim_trace_create: path is NULL");
        return NULL;
    }
    scim_trace_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory");
        return NULL;
    }
    w->fmt = fmt;
    const char *mode = gzip ? "wb6" : "wbT";
    if (strcmp(path, "-") == 0) {
        int fd = dup(STDOUT_FILENO);
        w->gz = fd >= 0 ? gzdopen(fd, mode) : NULL;
    } else {
        size_t n = strlen(path) + 32;
        if (!(w->tmp = malloc(n))) {
            free(w->path);
            free(w);
            scim_err_set(err, SCIM_ENOMEM, "out of host memory");
            return NULL;
        }
        snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
        w->gz = gzopen(w->tmp, mode);
    }
    if (!w->gz) {
        scim_err_set(err, SCIM_EIO, "cannot write trace %s: %s", path, strerror(errno));
        free(w->tmp);
        free(w->path);
        free(w);
        return NULL;
    }
    if (fmt == SCIM_TRACE_BINARY) {
        if (gzwrite(w->gz, scim_trace_magic, sizeof scim_trace_magic) != (int)sizeof scim_trace_magic) {
            scim_err_set(err, SCIM_EIO, "cannot write trace %s", path);
            scim_trace_abort(w);
            return NULL;
        }
    } else {
        gzputs(w->gz, "# scimitar trace v1\n");
    }
    return w;
}

int scim_trace_write(scim_trace_writer *w, const scim_trace_rec *rec, scim_err *err)
{
    if (!w || !rec)
        return scim_err_set(err, SCIM_EINVAL, "scim_trace_write: %s is NULL", w ? "rec" : "the writer");
    const char *why;
    if ((unsigned)rec->op >= SCIM_OP_COUNT_ || scim_trace_rec_check(rec, &why) != 0)
        return scim_err_set(err, SCIM_EINVAL, "cannot write record %llu to %s: invalid record",
                            (unsigned long long)w->records + 1, w->path);
    w->records++;
    if (w->fmt == SCIM_TRACE_TEXT) {
        char line[512];
        int n = scim_trace_format_rec(rec, line, sizeof line - 1);
        line[n++] = '\n';
        if (gzwrite(w->gz, line, (unsigned)n) != n)
            return scim_err_set(err, SCIM_EIO, "cannot write trace %s", w->path);
        return 0;
    }
    unsigned char b[128];
    int n = 0;
    b[n++] = (unsigned char)(rec->op | (rec->timing == SCIM_TIMING_ABS ? 0x10 : 0) | (rec->has ? 0x20 : 0));
    n += put_varint(b + n, rec->time_ns);
    int64_t delta = (int64_t)(rec->addr - w->prev_addr);
    n += put_varint(b + n, ((uint64_t)delta << 1) ^ (uint64_t)(delta >> 63));
    n += put_varint(b + n, rec->size);
    if (rec->has) {
        n += put_varint(b + n, rec->has);
        for (size_t k = 0; k < SCIM_TRACE_N_KEYS; k++)
            if (rec->has & scim_trace_keys[k].bit)
                n += put_varint(b + n, scim_trace_key_value(rec, k));
    }
    w->prev_addr = rec->addr;
    if (gzwrite(w->gz, b, (unsigned)n) != n)
        return scim_err_set(err, SCIM_EIO, "cannot write trace %s", w->path);
    return 0;
}

int scim_trace_comment(scim_trace_writer *w, const char *text, scim_err *err)
{
    if (!w || !text)
        return scim_err_set(err, SCIM_EINVAL, "scim_trace_comment: %s is NULL", w ? "text" : "the writer");
    if (w->fmt != SCIM_TRACE_TEXT)
        return 0;
    if (gzprintf(w->gz, "# %s\n", text) < 0)
        return scim_err_set(err, SCIM_EIO, "cannot write trace %s", w->path);
    return 0;
}

int scim_trace_finish(scim_trace_writer *w, scim_err *err)
{
    if (!w)
        return scim_err_set(err, SCIM_EINVAL, "scim_trace_finish: the writer is NULL");
    int rc = gzclose(w->gz) == Z_OK ? 0 : scim_err_set(err, SCIM_EIO, "cannot write trace %s", w->path);
    if (rc == 0 && w->tmp && rename(w->tmp, w->path) != 0)
        rc = scim_err_set(err, SCIM_EIO, "cannot write trace %s: %s", w->path, strerror(errno));
    if (rc && w->tmp)
        remove(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
    return rc;
}

void scim_trace_abort(scim_trace_writer *w)
{
    if (!w)
        return;
    gzclose(w->gz);
    if (w->tmp)
        remove(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}

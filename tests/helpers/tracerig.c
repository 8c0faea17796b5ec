/* Trace helpers shared by test_trace_*.c and test_import*.c (tracerig.h). */
#include "helpers/tracerig.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/testutil.h"

const char *path_in(const char *dir, const char *name)
{
    static char bufs[4][512];
    static int i;
    char *b = bufs[i++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

char *trace_records(const char *path)
{
    scim_err err = {0};
    scim_trace_reader *r = scim_trace_open(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    out[0] = '\0';
    scim_trace_rec rec;
    int rc;
    while ((rc = scim_trace_next(r, &rec, &err)) == 1) {
        char line[256];
        int n = scim_trace_format_rec(&rec, line, sizeof line);
        ck_assert(len + (size_t)n + 2 < cap);
        len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
    }
    ck_assert_msg(rc == 0, "%s", err.msg);
    scim_trace_close(r);
    return out;
}

int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Both readers drain the same way. */
static int drain(scim_trace_reader *r, scim_trace_rec *out, size_t cap, size_t *n, scim_err *err)
{
    scim_trace_rec rec;
    int rc;
    while ((rc = scim_trace_next(r, &rec, err)) == 1) {
        CHECK(*n < cap, "more records than expected");
        out[(*n)++] = rec;
    }
    scim_trace_close(r);
    return rc;
}

int trace_read_mem(const void *buf, size_t len, scim_trace_rec *out, size_t cap, size_t *n, scim_err *err)
{
    *n = 0;
    scim_trace_reader *r = scim_trace_open_mem(buf, len, "t.trace", err);
    if (!r)
        return err->code ? err->code : -1000;
    return drain(r, out, cap, n, err);
}

int trace_read_file(const char *path, scim_trace_rec *out, size_t cap, size_t *n, bool *binary, scim_err *err)
{
    *n = 0;
    scim_trace_reader *r = scim_trace_open(path, err);
    if (!r)
        return err->code ? err->code : -1000;
    if (binary)
        *binary = scim_trace_is_binary(r);
    return drain(r, out, cap, n, err);
}

bool trace_rec_same(const scim_trace_rec *a, const scim_trace_rec *b)
{
    if (a->timing != b->timing || a->time_ns != b->time_ns || a->op != b->op || a->addr != b->addr ||
        a->size != b->size || a->has != b->has)
        return false;
    if ((a->has & SCIM_TRACE_HAS_PASID) && a->pasid != b->pasid)
        return false;
    if ((a->has & SCIM_TRACE_HAS_PROT) && a->prot != b->prot)
        return false;
    if ((a->has & SCIM_TRACE_HAS_POPULATE) && a->populate != b->populate)
        return false;
    if ((a->has & SCIM_TRACE_HAS_PAGESIZE) && a->page_shift != b->page_shift)
        return false;
    if ((a->has & SCIM_TRACE_HAS_IO) && a->io != b->io)
        return false;
    if ((a->has & SCIM_TRACE_HAS_NODE) && a->node != b->node)
        return false;
    return true;
}

uint32_t trace_keys_allowed(scim_trace_op op)
{
    uint32_t k = SCIM_TRACE_HAS_PASID;
    if (op == SCIM_OP_MMAP)
        k |= SCIM_TRACE_HAS_PROT | SCIM_TRACE_HAS_POPULATE | SCIM_TRACE_HAS_PAGESIZE;
    if (op == SCIM_OP_MPROTECT)
        k |= SCIM_TRACE_HAS_PROT;
    if (op == SCIM_OP_READ || op == SCIM_OP_WRITE || op == SCIM_OP_PIN || op == SCIM_OP_UNPIN)
        k |= SCIM_TRACE_HAS_IO;
    if (op == SCIM_OP_MIGRATE)
        k |= SCIM_TRACE_HAS_NODE;
    return k;
}

static uint64_t rand_u64(uint64_t *s)
{
    switch (rnd(s, 5)) {
    case 0: return rnd(s, 10);
    case 1: return rnd(s, 1ull << 20);
    case 2: return UINT64_MAX - rnd(s, 3);
    case 3: return rng_next(s) >> rnd(s, 64);
    default: return rng_next(s);
    }
}

scim_trace_rec trace_rand_rec(uint64_t *s)
{
    scim_trace_rec r;
    memset(&r, 0, sizeof r);
    r.op = (scim_trace_op)rnd(s, SCIM_OP_COUNT_);
    r.timing = rnd(s, 3) ? SCIM_TIMING_REL : SCIM_TIMING_ABS;
    r.time_ns = rand_u64(s) % (SCIM_TRACE_MAX_NS + 1); /* the largest timing a trace may carry */
    r.addr = rnd(s, 2) ? 0x7f0000000000ull + rnd(s, 1ull << 30) : rand_u64(s);
    r.size = 1 + rnd(s, rnd(s, 2) ? 8192 : UINT64_MAX);
    if (r.addr + r.size - 1 < r.addr) /* no wrap */
        r.size = UINT64_MAX - r.addr + 1;
    if (r.size == 0)
        r.size = 1;
    uint32_t allowed = trace_keys_allowed(r.op);
    for (uint32_t bit = 1; bit <= SCIM_TRACE_HAS_NODE; bit <<= 1) {
        if (!(allowed & bit) || rnd(s, 2))
            continue;
        r.has |= bit;
        switch (bit) {
        case SCIM_TRACE_HAS_PASID: r.pasid = (uint32_t)rnd(s, 0x100000); break;
        case SCIM_TRACE_HAS_PROT:
            r.prot = (uint8_t)(uint8_t[]){SCIM_PROT_NONE, SCIM_PROT_R, SCIM_PROT_RW}[rnd(s, 3)];
            break;
        case SCIM_TRACE_HAS_POPULATE: r.populate = (uint8_t)rnd(s, 2); break;
        case SCIM_TRACE_HAS_PAGESIZE: r.page_shift = (uint8_t)(uint8_t[]){12, 21, 30}[rnd(s, 3)]; break;
        case SCIM_TRACE_HAS_IO: r.io = rand_u64(s); break;
        default: r.node = (uint32_t)rand_u64(s); break;
        }
    }
    return r;
}

void trace_write_all(const char *path, scim_trace_format fmt, bool gz, const scim_trace_rec *recs, size_t n)
{
    scim_err err = {0};
    scim_trace_writer *w = scim_trace_create(path, fmt, gz, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    if (fmt == SCIM_TRACE_TEXT)
        ck_assert_int_eq(scim_trace_comment(w, "generated by test_trace", &err), 0);
    for (size_t i = 0; i < n; i++)
        CHECK(scim_trace_write(w, &recs[i], &err) == 0, "%s", err.msg);
    ck_assert_msg(scim_trace_finish(w, &err) == 0, "%s", err.msg);
}

unsigned char *file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        if (k == 0)
            break;
        n += k;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Trace input that is not a clean text file (include/scimitar/trace.h):
 * concatenated, corrupt and truncated gzip; streaming a large trace
 * through a pipe with a heap that does not grow; truncated or corrupt
 * binary traces giving errors rather than crashes; writer errors.
 * test_trace_text.c has the text format and the round trips. */
#define _GNU_SOURCE

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "helpers/tracerig.h"
#include "scimitar/trace.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[256];

static void setup(void) { tmpdir_make(tmpdir, sizeof tmpdir); }
static void teardown(void) { tmpdir_remove(tmpdir); }

static void path_of(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

/* ------------------------------------------------------------------------ */
/* gzip                                                                       */

static unsigned char *gzip_bytes(const void *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

START_TEST(test_gzip)
{
    const char *a = "# scimitar trace v1\n+1 read 0x1000 64\n+2 write 0x2000 8 io=1\n";
    const char *b = "+3 mmap 0 4096 prot=rw\n";
    size_t la, lb;
    unsigned char *ga = gzip_bytes(a, strlen(a), &la), *gb = gzip_bytes(b, strlen(b), &lb);
    /* two concatenated gzip members read as one stream, in memory and from a file */
    unsigned char *cat = malloc(la + lb);
    memcpy(cat, ga, la);
    memcpy(cat + la, gb, lb);
    scim_trace_rec recs[8];
    size_t n;
    scim_err err = {0};
    ck_assert_msg(trace_read_mem(cat, la + lb, recs, 8, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(recs[2].op, SCIM_OP_MMAP);
    char path[512];
    path_of(path, sizeof path, "cat.trace.gz");
    FILE *f = fopen(path, "wb");
    fwrite(cat, 1, la + lb, f);
    fclose(f);
    ck_assert_msg(trace_read_file(path, recs, 8, &n, NULL, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 3);
    /* corrupt deflate data: an error, not garbage records */
    unsigned char *bad = malloc(la);
    memcpy(bad, ga, la);
    for (size_t i = 12; i < la - 8; i++)
        bad[i] ^= 0x5a;
    scim_err_clear(&err);
    int rc = trace_read_mem(bad, la, recs, 8, &n, &err);
    ck_assert_msg(rc == SCIM_EIO, "corrupt gzip gave %d (%s)", rc, err.msg);
    ck_assert_msg(strstr(err.msg, "cannot decompress the trace (corrupt or truncated gzip data)"), "%s", err.msg);
    /* truncated gzip: every prefix reads a prefix of the records, then
     * stops or reports an error; never more records */
    for (size_t cut = 0; cut < la; cut++) {
        scim_err_clear(&err);
        rc = trace_read_mem(ga, cut, recs, 8, &n, &err);
        CHECK(n <= 2, "cut %zu: %zu records", cut, n);
        CHECK(rc <= 0, "cut %zu: rc %d", cut, rc);
    }
    /* a gzip file cut at a flush point decompresses to whole lines: the
     * missing end of the stream must still be reported, by the file reader
     * as by the memory reader */
    path_of(path, sizeof path, "flush.trace.gz");
    gzFile g = gzopen(path, "wb");
    for (int i = 0; i < 100; i++)
        gzprintf(g, "+%d read 0x%x 64\n", i, i * 64);
    gzflush(g, Z_FULL_FLUSH);
    long cut = gzoffset(g);
    for (int i = 0; i < 100; i++)
        gzprintf(g, "+%d read 0x%x 64\n", i, i * 64);
    gzclose(g);
    ck_assert_int_eq(truncate(path, cut), 0);
    size_t flen;
    unsigned char *fbytes = file_bytes(path, &flen);
    ck_assert_uint_eq(flen, (size_t)cut);
    scim_trace_rec *many = calloc(201, sizeof *many);
    scim_err_clear(&err);
    rc = trace_read_mem(fbytes, flen, many, 201, &n, &err);
    ck_assert_msg(rc == SCIM_EIO && n == 100, "memory: rc %d after %zu records (%s)", rc, n, err.msg);
    ck_assert_str_eq(err.msg, "t.trace:101: error: cannot decompress the trace (corrupt or truncated gzip data)");
    scim_err_clear(&err);
    rc = trace_read_file(path, many, 201, &n, NULL, &err);
    ck_assert_msg(rc == SCIM_EIO && n == 100, "file: rc %d after %zu records (%s)", rc, n, err.msg);
    snprintf(path + strlen(path), 96, ":101: error: cannot decompress the trace (corrupt or truncated gzip data)");
    ck_assert_str_eq(err.msg, path);
    free(many);
    free(fbytes);
    free(ga);
    free(gb);
    free(cat);
    free(bad);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* streaming                                                                  */

extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    if (mi.uordblks)
        return mi.uordblks;
    /* valgrind replaces malloc and (3.19) answers only the older mallinfo();
     * its int is wide enough for a test's heap */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo old = mallinfo();
#pragma GCC diagnostic pop
    return (size_t)old.uordblks;
}

#define STREAM_RECORDS 200000

/* A child writes a large trace into a pipe; the reader consumes it through
 * /dev/fd while the heap stays flat. */
START_TEST(test_streaming_pipe)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        char buf[65536];
        size_t used = 0;
        for (uint64_t i = 0; i < STREAM_RECORDS; i++) {
            used += (size_t)snprintf(buf + used, sizeof buf - used, "+%" PRIu64 " %s 0x%" PRIx64 " 64 pasid=%" PRIu64 "\n",
                                     i % 7, i % 3 ? "read" : "write", (uint64_t)(0x7f0000000000ull + i * 64), i % 5);
            if (used > sizeof buf - 128 || i + 1 == STREAM_RECORDS) {
                size_t off = 0;
                while (off < used) {
                    ssize_t w = write(fds[1], buf + off, used - off);
                    if (w <= 0)
                        _exit(1);
                    off += (size_t)w;
                }
                used = 0;
            }
        }
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    scim_err err = {0};
    scim_trace_reader *r = scim_trace_open(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    size_t base = heap_in_use(), peak = base;
    ck_assert_uint_gt(base, 0);
    scim_trace_rec rec;
    uint64_t count = 0, bytes = 0;
    int rc;
    while ((rc = scim_trace_next(r, &rec, &err)) == 1) {
        CHECK(rec.addr == 0x7f0000000000ull + count * 64 && rec.pasid == count % 5 && rec.line == count + 1,
              "record %" PRIu64 " differs", count);
        count++;
        if (count % 4096 == 0) {
            size_t h = heap_in_use();
            if (h > peak)
                peak = h;
        }
    }
    bytes = scim_trace_offset(r);
    scim_trace_close(r);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_uint_eq(count, STREAM_RECORDS);
    ck_assert_uint_gt(bytes, (uint64_t)STREAM_RECORDS * 25);
    ck_assert_msg(peak - base < 4096, "the heap grew by %zu bytes while streaming %" PRIu64 " bytes", peak - base,
                  bytes);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* binary: truncation and corruption                                          */

START_TEST(test_binary_truncated)
{
    uint64_t s = 31337;
    enum { N = 60 };
    scim_trace_rec recs[N], got[N + 1];
    for (size_t i = 0; i < N; i++)
        recs[i] = trace_rand_rec(&s);
    char path[512];
    path_of(path, sizeof path, "t.bin");
    trace_write_all(path, SCIM_TRACE_BINARY, false, recs, N);
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    ck_assert(memcmp(bytes, "SCIMTRB\x01", 8) == 0);
    /* record boundaries: where a prefix ends cleanly */
    bool *boundary = calloc(len + 1, 1);
    {
        scim_err err = {0};
        scim_trace_reader *r = scim_trace_open_mem(bytes, len, "t.bin", &err);
        scim_trace_rec rec;
        boundary[scim_trace_offset(r)] = true;
        while (scim_trace_next(r, &rec, &err) == 1)
            boundary[scim_trace_offset(r)] = true;
        scim_trace_close(r);
        ck_assert(boundary[8] && boundary[len]);
    }
    size_t recs_at = 0;
    for (size_t cut = 8; cut <= len; cut++) {
        size_t n;
        scim_err err = {0};
        /* copy so that ASan catches any read past the cut */
        unsigned char *prefix = malloc(cut ? cut : 1);
        memcpy(prefix, bytes, cut);
        int rc = trace_read_mem(prefix, cut, got, N + 1, &n, &err);
        free(prefix);
        if (boundary[cut]) {
            CHECK(rc == 0, "cut %zu at a record boundary: %s", cut, err.msg);
            recs_at = n;
        } else {
            CHECK(rc == SCIM_EPARSE, "cut %zu inside a record: rc %d", cut, rc);
            CHECK(strstr(err.msg, "error: truncated record; the binary trace is corrupt or truncated"), "cut %zu: %s",
                  cut, err.msg);
            CHECK(n == recs_at, "cut %zu: %zu records before the error, want %zu", cut, n, recs_at);
        }
        for (size_t i = 0; i < n; i++)
            CHECK(trace_rec_same(&got[i], &recs[i]), "cut %zu: record %zu differs", cut, i);
    }
    ck_assert_uint_eq(recs_at, N);
    /* flipped bytes: records or an error, never a crash or an invalid record */
    for (int k = 0; k < 3000; k++) {
        unsigned char *c = malloc(len);
        memcpy(c, bytes, len);
        int flips = 1 + (int)rnd(&s, 3);
        for (int f = 0; f < flips; f++)
            c[8 + rnd(&s, len - 8)] ^= (unsigned char)(1u << rnd(&s, 8));
        size_t n;
        scim_err err = {0};
        int rc = trace_read_mem(c, len, got, N + 1, &n, &err);
        CHECK(rc == 0 || rc == SCIM_EPARSE, "rc %d", rc);
        for (size_t i = 0; i < n; i++) {
            CHECK(got[i].size > 0 && got[i].addr + got[i].size - 1 >= got[i].addr, "invalid record accepted");
            char line[300];
            int m = scim_trace_format_rec(&got[i], line, sizeof line);
            scim_trace_rec back;
            scim_trace_reader *rd = scim_trace_open_mem(line, (size_t)m, "x", &err);
            CHECK(scim_trace_next(rd, &back, &err) == 1, "accepted binary record '%s' is not valid text: %s", line,
                  err.msg);
            scim_trace_close(rd);
        }
        free(c);
    }
    free(boundary);
    free(bytes);
}
END_TEST

static void expect_bin_error(const unsigned char *b, size_t len, const char *want)
{
    scim_trace_rec recs[4];
    size_t n;
    scim_err err = {0};
    int rc = trace_read_mem(b, len, recs, 4, &n, &err);
    ck_assert_msg(rc == SCIM_EPARSE, "rc %d (%s)", rc, err.msg);
    ck_assert_str_eq(err.msg, want);
}

START_TEST(test_binary_errors)
{
#define HDR 'S', 'C', 'I', 'M', 'T', 'R', 'B', 1
    const char *tail = "; the binary trace is corrupt or truncated \xe2\x80\x94 re-create it (scimitar trace pack)";
    char want[400];
    {
        static const unsigned char b[] = {HDR, 0x0f, 0, 0, 1};
        snprintf(want, sizeof want, "t.trace: byte offset 8 (record 1): error: unknown op code%s", tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        static const unsigned char b[] = {HDR, 0x00, 0, 0, 1, 0x40, 0, 0, 1};
        snprintf(want, sizeof want, "t.trace: byte offset 12 (record 2): error: reserved tag bits set%s", tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        static const unsigned char b[] = {HDR, 0x00, 0, 0, 0};
        snprintf(want, sizeof want, "t.trace: byte offset 8 (record 1): error: size is 0%s", tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        static const unsigned char b[] = {HDR, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1};
        snprintf(want, sizeof want, "t.trace: byte offset 9 (record 1): error: varint longer than 10 bytes%s", tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        static const unsigned char b[] = {HDR, 0x20, 0, 0, 1, 0x40};
        snprintf(want, sizeof want, "t.trace: byte offset 8 (record 1): error: unknown key bits%s", tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        static const unsigned char b[] = {HDR, 0x20, 0, 0, 1, 0};
        expect_bin_error(b, sizeof b, want);
    }
    {
        /* populate on a read */
        static const unsigned char b[] = {HDR, 0x20, 0, 0, 1, 0x04, 1};
        snprintf(want, sizeof want, "t.trace: byte offset 8 (record 1): error: a key that does not apply to the op%s",
                 tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        /* pasid 2^20 */
        static const unsigned char b[] = {HDR, 0x20, 0, 0, 1, 0x01, 0x80, 0x80, 0x40};
        snprintf(want, sizeof want, "t.trace: byte offset 8 (record 1): error: a key value out of range%s", tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        /* mmap prot=259: 259 = 0x103 is not 3 */
        static const unsigned char b[] = {HDR, 0x22, 0, 0, 1, 0x02, 0x83, 0x02};
        expect_bin_error(b, sizeof b, want);
    }
    {
        /* mmap pagesize 268 (0x10c) is not 12, populate 256 is not 0 */
        static const unsigned char b[] = {HDR, 0x22, 0, 0, 1, 0x08, 0x8c, 0x02};
        expect_bin_error(b, sizeof b, want);
        static const unsigned char c[] = {HDR, 0x22, 0, 0, 1, 0x04, 0x80, 0x02};
        expect_bin_error(c, sizeof c, want);
    }
    {
        /* address delta taking the address past 2^64 - size */
        static const unsigned char b[] = {HDR, 0x00, 0, 0x01, 2};
        snprintf(want, sizeof want, "t.trace: byte offset 8 (record 1): error: address + size wraps around 2^64%s",
                 tail);
        expect_bin_error(b, sizeof b, want);
    }
    {
        static const unsigned char b[] = {'S', 'C', 'I', 'M', 'T', 'R', 'B', 2};
        expect_bin_error(b, sizeof b,
                         "t.trace: byte offset 7: error: unsupported binary trace version 2; expected 1; re-pack it "
                         "with this scimitar (scimitar trace pack)");
        expect_bin_error(b, 7,
                         "t.trace: byte offset 7: error: unsupported binary trace version -1; expected 1; re-pack it "
                         "with this scimitar (scimitar trace pack)");
    }
    /* the header alone is an empty trace */
    static const unsigned char h[] = {HDR};
    scim_trace_rec recs[2];
    size_t n;
    scim_err err = {0};
    ck_assert_int_eq(trace_read_mem(h, sizeof h, recs, 2, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
#undef HDR
}
END_TEST

START_TEST(test_writer_errors)
{
    char path[512];
    path_of(path, sizeof path, "w.trace");
    scim_err err = {0};
    scim_trace_writer *w = scim_trace_create(path, SCIM_TRACE_TEXT, false, &err);
    ck_assert_ptr_nonnull(w);
    scim_trace_rec r;
    memset(&r, 0, sizeof r);
    r.op = SCIM_OP_READ;
    r.size = 0;
    ck_assert_int_eq(scim_trace_write(w, &r, &err), SCIM_EINVAL);
    snprintf(path, sizeof path, "cannot write record 1 to %s/w.trace: invalid record", tmpdir);
    ck_assert_str_eq(err.msg, path);
    r.size = 1;
    r.has = SCIM_TRACE_HAS_NODE; /* not on a read */
    scim_err_clear(&err);
    ck_assert_int_eq(scim_trace_write(w, &r, &err), SCIM_EINVAL);
    r.has = 0;
    r.op = SCIM_OP_COUNT_;
    ck_assert_int_eq(scim_trace_write(w, &r, NULL), SCIM_EINVAL);
    /* the last byte of the address space is fine, one more wraps */
    r.op = SCIM_OP_READ;
    r.addr = UINT64_MAX;
    ck_assert_int_eq(scim_trace_write(w, &r, &err), 0);
    r.size = 2;
    ck_assert_int_eq(scim_trace_write(w, &r, &err), SCIM_EINVAL);
    /* the largest timing is 2^64 ps in whole ns; one ns more is refused */
    r.size = 1;
    r.time_ns = SCIM_TRACE_MAX_NS;
    ck_assert_int_eq(scim_trace_write(w, &r, &err), 0);
    r.time_ns = SCIM_TRACE_MAX_NS + 1;
    scim_err_clear(&err);
    ck_assert_int_eq(scim_trace_write(w, &r, &err), SCIM_EINVAL);
    ck_assert_msg(strstr(err.msg, "record 3") != NULL, "%s", err.msg); /* the 3rd refused, after 2 written */
    scim_trace_abort(w);
    path_of(path, sizeof path, "w.trace");
    struct stat st;
    ck_assert_int_ne(stat(path, &st), 0); /* nothing published */
    /* unwritable place */
    scim_err_clear(&err);
    ck_assert_ptr_null(scim_trace_create("/nonexistent/dir/x.trace", SCIM_TRACE_BINARY, false, &err));
    ck_assert_int_eq(err.code, SCIM_EIO);
    scim_err_clear(&err);
    ck_assert_ptr_null(scim_trace_open("/nonexistent/dir/x.trace", &err));
    ck_assert_int_eq(err.code, SCIM_EIO);
}
END_TEST

/* Varints at every length boundary (1 and 2 bytes decode without the
 * loop; 3 to 10 with it), in the record head and in keys, near the
 * buffer's end and far from it: a binary file reads back exactly. */
START_TEST(test_binary_varint_lengths)
{
    enum { N = 2 * 10 * 64 };
    static scim_trace_rec recs[N], got[N + 1];
    size_t n = 0;
    for (int rep = 0; rep < 2; rep++) {
        for (unsigned bits = 0; bits < 64; bits++) {
            /* 2^bits - 1 and 2^bits: the largest of one length, the smallest of the next */
            uint64_t v[2] = {bits ? (1ull << bits) - 1 : 0, 1ull << bits};
            for (int j = 0; j < 2; j++) {
                for (int field = 0; field < 5; field++) {
                    scim_trace_rec r = {.op = SCIM_OP_READ, .timing = SCIM_TIMING_ABS, .time_ns = 5, .addr = 0x1000,
                                        .size = 64};
                    switch (field) {
                    case 0: r.time_ns = v[j] > SCIM_TRACE_MAX_NS ? SCIM_TRACE_MAX_NS : v[j]; break;
                    case 1: r.addr = v[j] & ~0xfffull; break; /* a delta of any length from the previous */
                    case 2: r.size = v[j] ? (v[j] > (1ull << 40) ? 1ull << 40 : v[j]) : 1; break;
                    case 3: r.has = SCIM_TRACE_HAS_PASID, r.pasid = (uint32_t)(v[j] & 0xfffff); break;
                    default: r.has = SCIM_TRACE_HAS_IO, r.io = v[j]; break;
                    }
                    if (n < N)
                        recs[n++] = r;
                }
            }
        }
    }
    char path[512];
    path_of(path, sizeof path, "lengths.bin");
    trace_write_all(path, SCIM_TRACE_BINARY, false, recs, n);
    size_t m = 0;
    scim_err err = {0};
    ck_assert_msg(trace_read_file(path, got, N + 1, &m, NULL, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(m, n);
    for (size_t i = 0; i < n; i++) {
        char a[256], b[256];
        scim_trace_format_rec(&got[i], a, sizeof a);
        scim_trace_format_rec(&recs[i], b, sizeof b);
        ck_assert_msg(trace_rec_same(&got[i], &recs[i]), "record %zu: read '%s', wrote '%s'", i, a, b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_binary");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_gzip);
    tcase_add_test(tc, test_streaming_pipe);
    tcase_add_test(tc, test_binary_truncated);
    tcase_add_test(tc, test_binary_errors);
    tcase_add_test(tc, test_binary_varint_lengths);
    tcase_add_test(tc, test_writer_errors);
    suite_add_tcase(s, tc);
    return run_suite(s);
}

/* Text traces (include/scimitar/trace.h): parsing of every op and key,
 * exact error messages with line:column, and text <-> binary round trips
 * of random records (plain and gzip, file and memory readers); the
 * canonical text of a record parses back to the same record.
 * test_trace_binary.c has gzip, streaming and corrupt binary input. */
#define _GNU_SOURCE

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
/* text parsing                                                               */

START_TEST(test_text_every_op_and_key)
{
    const char *text = "# scimitar trace v1\n"
                       "\n"
                       "   # an indented comment\n"
                       "+0 read 0x1000 64\n"
                       "@100\twrite 4096 1 io=7   # trailing comment\r\n"
                       "+5 mmap 0x7f0000000000 0x200000 prot=rw populate=1 pagesize=2M pasid=3\n"
                       "+5 mmap 0x7f0000000000 1 prot=r pagesize=4K populate=0\n"
                       "+5 mmap 0 1 prot=none pagesize=1G\n"
                       "+1 munmap 0x7f0000000000 0x200000 pasid=1048575\n"
                       "+1 mprotect 0x2000 0x1000 prot=r\n"
                       "+1 migrate 0x2000 0x1000 node=4294967295\n"
                       "+1 reclaim 0x2000 0x1000\n"
                       "+1 pin 0x2000 0x1000 io=18446744073709551615\n"
                       "+1 unpin 0x2000 0x1000 io=0 pasid=0\n"
                       "@18446744073709551 read 0xffffffffffffffff 1\n"
                       "+2 read 0 18446744073709551615#comment right after\n";
    scim_trace_rec recs[32];
    size_t n;
    scim_err err = {0};
    int rc = trace_read_mem(text, strlen(text), recs, 32, &n, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 13);
    const scim_trace_rec want[] = {
        {SCIM_TIMING_REL, 0, SCIM_OP_READ, 0x1000, 64, 0, 0, 0, 0, 0, 0, 0, 4},
        {SCIM_TIMING_ABS, 100, SCIM_OP_WRITE, 4096, 1, SCIM_TRACE_HAS_IO, 0, 0, 0, 0, 7, 0, 5},
        {SCIM_TIMING_REL, 5, SCIM_OP_MMAP, 0x7f0000000000ull, 0x200000,
         SCIM_TRACE_HAS_PROT | SCIM_TRACE_HAS_POPULATE | SCIM_TRACE_HAS_PAGESIZE | SCIM_TRACE_HAS_PASID, 3, SCIM_PROT_RW,
         1, 21, 0, 0, 6},
        {SCIM_TIMING_REL, 5, SCIM_OP_MMAP, 0x7f0000000000ull, 1,
         SCIM_TRACE_HAS_PROT | SCIM_TRACE_HAS_POPULATE | SCIM_TRACE_HAS_PAGESIZE, 0, SCIM_PROT_R, 0, 12, 0, 0, 7},
        {SCIM_TIMING_REL, 5, SCIM_OP_MMAP, 0, 1, SCIM_TRACE_HAS_PROT | SCIM_TRACE_HAS_PAGESIZE, 0, SCIM_PROT_NONE, 0, 30,
         0, 0, 8},
        {SCIM_TIMING_REL, 1, SCIM_OP_MUNMAP, 0x7f0000000000ull, 0x200000, SCIM_TRACE_HAS_PASID, 1048575, 0, 0, 0, 0, 0,
         9},
        {SCIM_TIMING_REL, 1, SCIM_OP_MPROTECT, 0x2000, 0x1000, SCIM_TRACE_HAS_PROT, 0, SCIM_PROT_R, 0, 0, 0, 0, 10},
        {SCIM_TIMING_REL, 1, SCIM_OP_MIGRATE, 0x2000, 0x1000, SCIM_TRACE_HAS_NODE, 0, 0, 0, 0, 0, 4294967295u, 11},
        {SCIM_TIMING_REL, 1, SCIM_OP_RECLAIM, 0x2000, 0x1000, 0, 0, 0, 0, 0, 0, 0, 12},
        {SCIM_TIMING_REL, 1, SCIM_OP_PIN, 0x2000, 0x1000, SCIM_TRACE_HAS_IO, 0, 0, 0, 0, UINT64_MAX, 0, 13},
        {SCIM_TIMING_REL, 1, SCIM_OP_UNPIN, 0x2000, 0x1000, SCIM_TRACE_HAS_IO | SCIM_TRACE_HAS_PASID, 0, 0, 0, 0, 0, 0,
         14},
        {SCIM_TIMING_ABS, SCIM_TRACE_MAX_NS, SCIM_OP_READ, UINT64_MAX, 1, 0, 0, 0, 0, 0, 0, 0, 15},
        {SCIM_TIMING_REL, 2, SCIM_OP_READ, 0, UINT64_MAX, 0, 0, 0, 0, 0, 0, 0, 16},
    };
    for (size_t i = 0; i < n; i++) {
        char a[256], b[256];
        scim_trace_format_rec(&recs[i], a, sizeof a);
        scim_trace_format_rec(&want[i], b, sizeof b);
        ck_assert_msg(trace_rec_same(&recs[i], &want[i]), "record %zu: got '%s', want '%s'", i, a, b);
        ck_assert(scim_trace_rec_equal(&recs[i], &want[i]));
        ck_assert_uint_eq(recs[i].line, want[i].line);
    }
    /* the canonical text of a record */
    char line[256];
    int len = scim_trace_format_rec(&recs[2], line, sizeof line);
    ck_assert_str_eq(line, "+5 mmap 0x7f0000000000 2097152 pasid=3 prot=rw populate=1 pagesize=2M");
    ck_assert_int_eq(len, (int)strlen(line));
    for (int op = 0; op < SCIM_OP_COUNT_; op++)
        ck_assert_str_ne(scim_trace_op_name((scim_trace_op)op), "?");
    ck_assert_str_eq(scim_trace_op_name(SCIM_OP_COUNT_), "?");
    /* an empty trace, and one with only comments */
    ck_assert_int_eq(trace_read_mem("", 0, recs, 32, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(trace_read_mem("# scimitar trace v1 generated\n# x\n", 34, recs, 32, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    /* no newline at the end */
    ck_assert_int_eq(trace_read_mem("+1 read 0 1", 11, recs, 32, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

static void expect_text_error(const char *text, const char *want)
{
    scim_trace_rec recs[8];
    size_t n;
    scim_err err = {0};
    int rc = trace_read_mem(text, strlen(text), recs, 8, &n, &err);
    ck_assert_msg(rc == SCIM_EPARSE, "'%s': rc %d (%s)", text, rc, err.msg);
    ck_assert_str_eq(err.msg, want);
}

START_TEST(test_text_errors)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"x5 read 0x1000 64\n",
         "t.trace:1:1: error: bad timing 'x5'; expected +N (ns after the previous request) or @N (absolute ns)"},
        {"+abc read 0 1\n", "t.trace:1:1: error: bad timing '+abc'; expected +N or @N with N a decimal number of ns"},
        {"+ read 0 1\n", "t.trace:1:1: error: bad timing '+'; expected +N or @N with N a decimal number of ns"},
        {"@0x10 read 0 1\n", "t.trace:1:1: error: bad timing '@0x10'; expected +N or @N with N a decimal number of ns"},
        {"+18446744073709551616 read 0 1\n", "t.trace:1:1: error: timing '+18446744073709551616' does not fit in 64 bits"},
        /* N ns above 2^64/1000: the picosecond clock would wrap */
        {"@18446744073709552 read 0 1\n", "t.trace:1:1: error: timing '@18446744073709552' is beyond the simulated "
                                          "clock (picoseconds in 64 bits); expected at most 18446744073709551 ns "
                                          "(about 213 days)"},
        {"+5 read 0 1\n  +99999999999999999 read 0 1\n",
         "t.trace:2:3: error: timing '+99999999999999999' is beyond the simulated clock (picoseconds in 64 bits); "
         "expected at most 18446744073709551 ns (about 213 days)"},
        {"+5 fetch 0 1\n",
         "t.trace:1:4: error: unknown op 'fetch'; expected read, write, mmap, munmap, mprotect, migrate, reclaim, pin "
         "or unpin"},
        {"+5 READ 0 1\n",
         "t.trace:1:4: error: unknown op 'READ'; expected read, write, mmap, munmap, mprotect, migrate, reclaim, pin "
         "or unpin"},
        {"+5\n", "t.trace:1:3: error: missing op; expected <timing> <op> <address> <size>"},
        {"+5 read\n", "t.trace:1:8: error: missing address; expected <timing> <op> <address> <size> [key=value ...]"},
        {"+5 read 0xZZ 1\n", "t.trace:1:9: error: bad address '0xZZ'; expected a decimal or 0x hex number"},
        {"+5 read 12ab 1\n", "t.trace:1:9: error: bad address '12ab'; expected a decimal or 0x hex number"},
        {"+5 read 0x10000000000000000 1\n",
         "t.trace:1:9: error: address '0x10000000000000000' does not fit in 64 bits; expected a number below 2^64"},
        {"+5 read 0x1000\n", "t.trace:1:15: error: missing size; expected <timing> <op> <address> <size> [key=value ...]"},
        {"+5 read 0x1000 # comment\n",
         "t.trace:1:16: error: missing size; expected <timing> <op> <address> <size> [key=value ...]"},
        {"+5 read 0x1000 0\n", "t.trace:1:16: error: size must be > 0"},
        {"+5 read 0x1000 0x0\n", "t.trace:1:16: error: size must be > 0"},
        {"+5 read 0xffffffffffffffff 2\n", "t.trace:1:28: error: address + size wraps around 2^64"},
        {"+5 read 0x1000 99999999999999999999\n",
         "t.trace:1:16: error: size '99999999999999999999' does not fit in 64 bits; expected a number below 2^64"},
        {"+5 read 0x1000 64 color=red\n",
         "t.trace:1:19: error: unknown key 'color'; expected one of pasid, prot, populate, pagesize, io, node"},
        {"+5 read 0x1000 64 pasid\n",
         "t.trace:1:19: error: 'pasid' is not key=value; expected optional keys such as populate=1"},
        {"+5 read 0x1000 64 pasid=1 pasid=2\n", "t.trace:1:27: error: key 'pasid' given twice; keep one"},
        {"+5 read 0x1000 64 populate=1\n", "t.trace:1:19: error: key 'populate' does not apply to 'read'; remove it"},
        {"+5 munmap 0x1000 64 prot=r\n", "t.trace:1:21: error: key 'prot' does not apply to 'munmap'; remove it"},
        {"+5 read 0x1000 64 node=1\n", "t.trace:1:19: error: key 'node' does not apply to 'read'; remove it"},
        {"+5 mmap 0x1000 64 prot=rwx\n", "t.trace:1:24: error: bad prot 'rwx'; expected r, rw or none"},
        /* values as long as a valid one, differing in a letter */
        {"+5 mmap 0x1000 64 prot=w\n", "t.trace:1:24: error: bad prot 'w'; expected r, rw or none"},
        {"+5 mmap 0x1000 64 prot=rx\n", "t.trace:1:24: error: bad prot 'rx'; expected r, rw or none"},
        {"+5 mmap 0x1000 64 prot=nope\n", "t.trace:1:24: error: bad prot 'nope'; expected r, rw or none"},
        {"+5 mmap 0x1000 64 pagesize=4M\n", "t.trace:1:28: error: bad pagesize '4M'; expected 4K, 2M or 1G"},
        {"+5 mmap 0x1000 64 pagesize=2K\n", "t.trace:1:28: error: bad pagesize '2K'; expected 4K, 2M or 1G"},
        {"+5 mmap 0x1000 64 pagesize=1M\n", "t.trace:1:28: error: bad pagesize '1M'; expected 4K, 2M or 1G"},
        {"+5 mmap 0x1000 64 pagesize=8G\n", "t.trace:1:28: error: bad pagesize '8G'; expected 4K, 2M or 1G"},
        {"+5 read 0xfG 1\n", "t.trace:1:9: error: bad address '0xfG'; expected a decimal or 0x hex number"},
        {"+5 mmap 0x1000 64 populate=2\n", "t.trace:1:28: error: bad populate '2'; expected 0 or 1"},
        {"+5 mmap 0x1000 64 populate=\n", "t.trace:1:28: error: bad populate ''; expected 0 or 1"},
        {"+5 read 0 64 pasid=1048576\n", "t.trace:1:20: error: bad pasid '1048576'; expected a number from 0 to 1048575"},
        {"+5 read 0 64 io=-1\n", "t.trace:1:17: error: bad io '-1'; expected a number from 0 to 18446744073709551615"},
        {"+5 migrate 0 64 node=4294967296\n",
         "t.trace:1:22: error: bad node '4294967296'; expected a number from 0 to 4294967295"},
        {"# scimitar trace v2\n",
         "t.trace:1:1: error: unsupported trace version '2'; expected v1; convert it with a scimitar that reads it"},
        /* line numbers count comments, blank lines and CRLF lines */
        {"# header\r\n\r\n+1 read 0 1\r\n+1 write 0 1 io=x\r\n",
         "t.trace:4:17: error: bad io 'x'; expected a number from 0 to 18446744073709551615"},
        {"+1 read 0 1\n+1 read 0 1\n\tbogus\n",
         "t.trace:3:2: error: bad timing 'bogus'; expected +N (ns after the previous request) or @N (absolute ns)"},
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++)
        expect_text_error(cases[i].text, cases[i].want);

    /* a line longer than 4096 characters, and a NUL byte */
    size_t big = 5000;
    char *longline = malloc(big + 32);
    snprintf(longline, 32, "+1 read 0 1\n+1 read 0 1 ");
    size_t k = strlen(longline);
    memset(longline + k, ' ', big - k);
    longline[big] = '\n';
    longline[big + 1] = '\0';
    expect_text_error(longline, "t.trace:2:4097: error: line longer than 4096 characters; expected one record per line");
    free(longline);
    scim_trace_rec recs[4];
    size_t n;
    scim_err err = {0};
    static const char nul[] = "+1 read 0 1\n+1 re\0ad 0 1\n";
    ck_assert_int_eq(trace_read_mem(nul, sizeof nul - 1, recs, 4, &n, &err), SCIM_EPARSE);
    ck_assert_str_eq(err.msg, "t.trace:2:6: error: NUL byte in a text trace; is this a corrupt or binary file?");
    ck_assert_uint_eq(n, 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* round trips                                                                */

#define N_REC 3000

START_TEST(test_roundtrip)
{
    uint64_t s = 0x7ace;
    scim_trace_rec *recs = calloc(N_REC, sizeof *recs), *got = calloc(N_REC + 1, sizeof *got);
    for (size_t i = 0; i < N_REC; i++)
        recs[i] = trace_rand_rec(&s);
    static const struct {
        const char *name;
        scim_trace_format fmt;
        bool gz;
    } kinds[] = {{"a.trace", SCIM_TRACE_TEXT, false},
                 {"a.trace.gz", SCIM_TRACE_TEXT, true},
                 {"a.bin", SCIM_TRACE_BINARY, false},
                 {"a.bin.gz", SCIM_TRACE_BINARY, true}};
    for (size_t k = 0; k < COUNT_OF(kinds); k++) {
        char path[512];
        path_of(path, sizeof path, kinds[k].name);
        trace_write_all(path, kinds[k].fmt, kinds[k].gz, recs, N_REC);
        /* through the file reader */
        size_t n;
        bool binary = false;
        scim_err err = {0};
        int rc = trace_read_file(path, got, N_REC + 1, &n, &binary, &err);
        ck_assert_msg(rc == 0, "%s: %s", kinds[k].name, err.msg);
        ck_assert_uint_eq(n, N_REC);
        ck_assert_int_eq(binary, kinds[k].fmt == SCIM_TRACE_BINARY);
        for (size_t i = 0; i < n; i++) {
            char a[256], b[256];
            scim_trace_format_rec(&got[i], a, sizeof a);
            scim_trace_format_rec(&recs[i], b, sizeof b);
            CHECK(trace_rec_same(&got[i], &recs[i]), "%s record %zu: read '%s', wrote '%s'", kinds[k].name, i, a, b);
            CHECK(scim_trace_rec_equal(&got[i], &recs[i]), "%s record %zu: rec_equal disagrees", kinds[k].name, i);
            /* text: line numbers count the two header lines; binary: record numbers */
            CHECK(got[i].line == (kinds[k].fmt == SCIM_TRACE_TEXT ? i + 3 : i + 1), "%s record %zu: line %" PRIu64,
                  kinds[k].name, i, got[i].line);
        }
        /* through the memory reader (which inflates gzip itself) */
        size_t len;
        unsigned char *bytes = file_bytes(path, &len);
        if (kinds[k].gz)
            ck_assert(len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b);
        scim_err_clear(&err);
        rc = trace_read_mem(bytes, len, got, N_REC + 1, &n, &err);
        ck_assert_msg(rc == 0, "%s (memory): %s", kinds[k].name, err.msg);
        ck_assert_uint_eq(n, N_REC);
        for (size_t i = 0; i < n; i++)
            CHECK(trace_rec_same(&got[i], &recs[i]), "%s (memory) record %zu differs", kinds[k].name, i);
        free(bytes);
    }
    /* text -> binary -> text is lossless, byte for byte */
    char t1[512], b1[512], t2[512];
    path_of(t1, sizeof t1, "a.trace");
    path_of(b1, sizeof b1, "b.bin");
    path_of(t2, sizeof t2, "c.trace");
    size_t n;
    scim_err err = {0};
    ck_assert_int_eq(trace_read_file(t1, got, N_REC + 1, &n, NULL, &err), 0);
    trace_write_all(b1, SCIM_TRACE_BINARY, false, got, n);
    ck_assert_int_eq(trace_read_file(b1, got, N_REC + 1, &n, NULL, &err), 0);
    trace_write_all(t2, SCIM_TRACE_TEXT, false, got, n);
    size_t l1, l2;
    unsigned char *x1 = file_bytes(t1, &l1), *x2 = file_bytes(t2, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert(memcmp(x1, x2, l1) == 0);
    /* the binary file is the smaller */
    struct stat st;
    ck_assert_int_eq(stat(b1, &st), 0);
    ck_assert_uint_lt((uint64_t)st.st_size, l1);
    free(x1);
    free(x2);
    free(recs);
    free(got);
}
END_TEST

/* A text line is the canonical form: format -> parse -> same record, for
 * many random records, one at a time. */
START_TEST(test_format_parse)
{
    uint64_t s = 99;
    for (int i = 0; i < 20000; i++) {
        scim_trace_rec r = trace_rand_rec(&s), got;
        char line[300];
        int n = scim_trace_format_rec(&r, line, sizeof line);
        CHECK(n > 0 && (size_t)n < sizeof line, "format returned %d", n);
        line[n] = '\n';
        scim_err err = {0};
        scim_trace_reader *rd = scim_trace_open_mem(line, (size_t)n + 1, "x", &err);
        int rc = scim_trace_next(rd, &got, &err);
        CHECK(rc == 1, "'%.*s' did not parse: %s", n, line, err.msg);
        CHECK(trace_rec_same(&got, &r), "'%.*s' parsed differently", n, line);
        scim_trace_close(rd);
    }
}
END_TEST

/* Hex digits and the 0x prefix in either case mean the same number;
 * what is written back is the canonical lower case. */
START_TEST(test_hex_case)
{
    const char *text = "+0 read 0X7F00ABCDEF00 0x40\n+0 read 0x7f00abcdef00 0X40\n+0 write 0xFfFf 0XA io=0XbEeF\n";
    scim_trace_rec recs[4];
    size_t n;
    scim_err err = {0};
    ck_assert_msg(trace_read_mem(text, strlen(text), recs, 4, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(recs[0].addr, 0x7f00abcdef00ull);
    ck_assert_uint_eq(recs[0].size, 64);
    ck_assert(trace_rec_same(&recs[0], &recs[1])); /* the same record in other cases */
    ck_assert_uint_eq(recs[2].addr, 0xffff);
    ck_assert_uint_eq(recs[2].size, 10);
    ck_assert_uint_eq(recs[2].io, 0xbeef);
    char line[128];
    scim_trace_format_rec(&recs[2], line, sizeof line);
    ck_assert_str_eq(line, "+0 write 0xffff 10 io=48879");
    /* a digit that is not hex in either case is an error at its token */
    scim_err_clear(&err);
    ck_assert_int_eq(trace_read_mem("+0 read 0x7G 1\n", 15, recs, 4, &n, &err), SCIM_EPARSE);
    ck_assert_msg(strstr(err.msg, "t.trace:1:9: error:") == err.msg, "%s", err.msg);
    /* below '0', between '9' and 'A', past 'f': each refused at column 9 */
    static const char *const not_hex[] = {"+0 read 0x7/ 1\n", "+0 read 0x7: 1\n", "+0 read 0x7g 1\n"};
    for (int i = 0; i < 3; i++) {
        scim_err_clear(&err);
        ck_assert_int_eq(trace_read_mem(not_hex[i], strlen(not_hex[i]), recs, 4, &n, &err), SCIM_EPARSE);
        ck_assert_msg(strstr(err.msg, "t.trace:1:9: error:") == err.msg, "%s", err.msg);
    }
    /* a timing in hex is refused in either case; a leading zero is decimal */
    scim_err_clear(&err);
    ck_assert_int_eq(trace_read_mem("@0X10 read 0 1\n", 15, recs, 4, &n, &err), SCIM_EPARSE);
    ck_assert_str_eq(err.msg,
                     "t.trace:1:1: error: bad timing '@0X10'; expected +N or @N with N a decimal number of ns");
    scim_err_clear(&err);
    ck_assert_msg(trace_read_mem("+010 read 0 1\n", 14, recs, 4, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(recs[0].time_ns, 10);
    /* page sizes that are none of 4K, 2M, 1G */
    static const char *const sizes[] = {"8K", "4M", "2G", "16K"};
    for (int i = 0; i < 4; i++) {
        char text[64], want[160];
        snprintf(text, sizeof text, "+5 mmap 0 1 pagesize=%s\n", sizes[i]);
        snprintf(want, sizeof want, "t.trace:1:22: error: bad pagesize '%s'; expected 4K, 2M or 1G", sizes[i]);
        scim_err_clear(&err);
        ck_assert_int_eq(trace_read_mem(text, strlen(text), recs, 4, &n, &err), SCIM_EPARSE);
        ck_assert_str_eq(err.msg, want);
    }
}
END_TEST

/* Opening: a NULL buffer with a length is refused; a file that is not a
 * regular one (no size to report progress against) reads as empty. */
START_TEST(test_open_edges)
{
    scim_err err = {0};
    ck_assert_ptr_null(scim_trace_open_mem(NULL, 5, "x", &err));
    ck_assert_int_eq(err.code, SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "scim_trace_open_mem: buf is NULL");
    scim_err_clear(&err);
    scim_trace_reader *r = scim_trace_open_mem(NULL, 0, "none", &err); /* nothing to read */
    ck_assert_msg(r, "%s", err.msg);
    scim_trace_rec rec;
    ck_assert_int_eq(scim_trace_next(r, &rec, &err), 0);
    scim_trace_close(r);
    r = scim_trace_open("/dev/null", &err);
    ck_assert_msg(r, "%s", err.msg);
    ck_assert_int_eq(scim_trace_next(r, &rec, &err), 0);
    uint64_t done = 7, total = 7;
    scim_trace_position(r, &done, &total);
    ck_assert_uint_eq(total, 0);
    ck_assert_uint_eq(done, 0);
    scim_trace_close(r);
    /* a buffer that starts like gzip's magic but is not: read as text */
    r = scim_trace_open_mem("\x1f" "x", 2, NULL, &err);
    ck_assert_msg(r, "%s", err.msg);
    ck_assert_str_eq(scim_trace_name(r), "(memory)");
    ck_assert_int_eq(scim_trace_next(r, &rec, &err), SCIM_EPARSE);
    scim_trace_close(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_text");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_text_every_op_and_key);
    tcase_add_test(tc, test_text_errors);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_format_parse);
    tcase_add_test(tc, test_hex_case);
    tcase_add_test(tc, test_open_edges);
    suite_add_tcase(s, tc);
    return run_suite(s);
}

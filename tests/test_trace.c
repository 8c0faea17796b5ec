/* Traces (include/scimitar/trace.h): text parsing of every op and key,
 * exact error messages with line:column, text <-> binary round trips of
 * random records (plain and gzip, file and memory readers), streaming a
 * large trace through a pipe with a heap that does not grow, and
 * truncated or corrupt binary input giving errors rather than crashes. */
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

#include "scimitar/trace.h"

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            ck_abort_msg(__VA_ARGS__);                                                                       \
    } while (0)

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n) { return n ? rng_next(s) % n : 0; }

/* ------------------------------------------------------------------------ */
/* helpers                                                                    */

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/scim_test_trace.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void path_of(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap + 1);
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

/* Read every record of an in-memory trace; returns the final status. */
static int read_mem(const void *buf, size_t len, scim_trace_rec *out, size_t cap, size_t *n, scim_err *err)
{
    *n = 0;
    scim_trace_reader *r = scim_trace_open_mem(buf, len, "t.trace", err);
    if (!r)
        return err->code ? err->code : -1000;
    scim_trace_rec rec;
    int rc;
    while ((rc = scim_trace_next(r, &rec, err)) == 1) {
        CHECK(*n < cap, "more records than expected");
        out[(*n)++] = rec;
    }
    scim_trace_close(r);
    return rc;
}

static int read_file(const char *path, scim_trace_rec *out, size_t cap, size_t *n, bool *binary, scim_err *err)
{
    *n = 0;
    scim_trace_reader *r = scim_trace_open(path, err);
    if (!r)
        return err->code ? err->code : -1000;
    if (binary)
        *binary = scim_trace_is_binary(r);
    scim_trace_rec rec;
    int rc;
    while ((rc = scim_trace_next(r, &rec, err)) == 1) {
        CHECK(*n < cap, "more records than expected");
        out[(*n)++] = rec;
    }
    scim_trace_close(r);
    return rc;
}

static bool rec_same(const scim_trace_rec *a, const scim_trace_rec *b)
{
    /* field by field, independently of scim_trace_rec_equal */
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

/* ------------------------------------------------------------------------ */
/* random valid records                                                        */

static uint32_t keys_allowed(scim_trace_op op)
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

static scim_trace_rec rand_rec(uint64_t *s)
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
    uint32_t allowed = keys_allowed(r.op);
    for (uint32_t bit = 1; bit <= SCIM_TRACE_HAS_NODE; bit <<= 1) {
        if (!(allowed & bit) || rnd(s, 2))
            continue;
        r.has |= bit;
        switch (bit) {
        case SCIM_TRACE_HAS_PASID: r.pasid = (uint32_t)rnd(s, 0x100000); break;
        case SCIM_TRACE_HAS_PROT: r.prot = (uint8_t)(uint8_t[]){SCIM_PROT_NONE, SCIM_PROT_R, SCIM_PROT_RW}[rnd(s, 3)]; break;
        case SCIM_TRACE_HAS_POPULATE: r.populate = (uint8_t)rnd(s, 2); break;
        case SCIM_TRACE_HAS_PAGESIZE: r.page_shift = (uint8_t)(uint8_t[]){12, 21, 30}[rnd(s, 3)]; break;
        case SCIM_TRACE_HAS_IO: r.io = rand_u64(s); break;
        default: r.node = (uint32_t)rand_u64(s); break;
        }
    }
    return r;
}

static void write_trace(const char *path, scim_trace_format fmt, bool gz, const scim_trace_rec *recs, size_t n)
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
    int rc = read_mem(text, strlen(text), recs, 32, &n, &err);
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
        ck_assert_msg(rec_same(&recs[i], &want[i]), "record %zu: got '%s', want '%s'", i, a, b);
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
    ck_assert_int_eq(read_mem("", 0, recs, 32, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(read_mem("# scimitar trace v1 generated\n# x\n", 34, recs, 32, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    /* no newline at the end */
    ck_assert_int_eq(read_mem("+1 read 0 1", 11, recs, 32, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

static void expect_text_error(const char *text, const char *want)
{
    scim_trace_rec recs[8];
    size_t n;
    scim_err err = {0};
    int rc = read_mem(text, strlen(text), recs, 8, &n, &err);
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
        {"+5 mmap 0x1000 64 pagesize=4M\n", "t.trace:1:28: error: bad pagesize '4M'; expected 4K, 2M or 1G"},
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
    ck_assert_int_eq(read_mem(nul, sizeof nul - 1, recs, 4, &n, &err), SCIM_EPARSE);
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
        recs[i] = rand_rec(&s);
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
        write_trace(path, kinds[k].fmt, kinds[k].gz, recs, N_REC);
        /* through the file reader */
        size_t n;
        bool binary = false;
        scim_err err = {0};
        int rc = read_file(path, got, N_REC + 1, &n, &binary, &err);
        ck_assert_msg(rc == 0, "%s: %s", kinds[k].name, err.msg);
        ck_assert_uint_eq(n, N_REC);
        ck_assert_int_eq(binary, kinds[k].fmt == SCIM_TRACE_BINARY);
        for (size_t i = 0; i < n; i++) {
            char a[256], b[256];
            scim_trace_format_rec(&got[i], a, sizeof a);
            scim_trace_format_rec(&recs[i], b, sizeof b);
            CHECK(rec_same(&got[i], &recs[i]), "%s record %zu: read '%s', wrote '%s'", kinds[k].name, i, a, b);
            CHECK(scim_trace_rec_equal(&got[i], &recs[i]), "%s record %zu: rec_equal disagrees", kinds[k].name, i);
            /* text: line numbers count the two header lines; binary: record numbers */
            CHECK(got[i].line == (kinds[k].fmt == SCIM_TRACE_TEXT ? i + 3 : i + 1), "%s record %zu: line %" PRIu64,
                  kinds[k].name, i, got[i].line);
        }
        /* through the memory reader (which inflates gzip itself) */
        size_t len;
        unsigned char *bytes = slurp(path, &len);
        if (kinds[k].gz)
            ck_assert(len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b);
        scim_err_clear(&err);
        rc = read_mem(bytes, len, got, N_REC + 1, &n, &err);
        ck_assert_msg(rc == 0, "%s (memory): %s", kinds[k].name, err.msg);
        ck_assert_uint_eq(n, N_REC);
        for (size_t i = 0; i < n; i++)
            CHECK(rec_same(&got[i], &recs[i]), "%s (memory) record %zu differs", kinds[k].name, i);
        free(bytes);
    }
    /* text -> binary -> text is lossless, byte for byte */
    char t1[512], b1[512], t2[512];
    path_of(t1, sizeof t1, "a.trace");
    path_of(b1, sizeof b1, "b.bin");
    path_of(t2, sizeof t2, "c.trace");
    size_t n;
    scim_err err = {0};
    ck_assert_int_eq(read_file(t1, got, N_REC + 1, &n, NULL, &err), 0);
    write_trace(b1, SCIM_TRACE_BINARY, false, got, n);
    ck_assert_int_eq(read_file(b1, got, N_REC + 1, &n, NULL, &err), 0);
    write_trace(t2, SCIM_TRACE_TEXT, false, got, n);
    size_t l1, l2;
    unsigned char *x1 = slurp(t1, &l1), *x2 = slurp(t2, &l2);
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
        scim_trace_rec r = rand_rec(&s), got;
        char line[300];
        int n = scim_trace_format_rec(&r, line, sizeof line);
        CHECK(n > 0 && (size_t)n < sizeof line, "format returned %d", n);
        line[n] = '\n';
        scim_err err = {0};
        scim_trace_reader *rd = scim_trace_open_mem(line, (size_t)n + 1, "x", &err);
        int rc = scim_trace_next(rd, &got, &err);
        CHECK(rc == 1, "'%.*s' did not parse: %s", n, line, err.msg);
        CHECK(rec_same(&got, &r), "'%.*s' parsed differently", n, line);
        scim_trace_close(rd);
    }
}
END_TEST

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
    ck_assert_msg(read_mem(cat, la + lb, recs, 8, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(recs[2].op, SCIM_OP_MMAP);
    char path[512];
    path_of(path, sizeof path, "cat.trace.gz");
    FILE *f = fopen(path, "wb");
    fwrite(cat, 1, la + lb, f);
    fclose(f);
    ck_assert_msg(read_file(path, recs, 8, &n, NULL, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 3);
    /* corrupt deflate data: an error, not garbage records */
    unsigned char *bad = malloc(la);
    memcpy(bad, ga, la);
    for (size_t i = 12; i < la - 8; i++)
        bad[i] ^= 0x5a;
    scim_err_clear(&err);
    int rc = read_mem(bad, la, recs, 8, &n, &err);
    ck_assert_msg(rc == SCIM_EIO, "corrupt gzip gave %d (%s)", rc, err.msg);
    ck_assert_msg(strstr(err.msg, "cannot decompress the trace (corrupt or truncated gzip data)"), "%s", err.msg);
    /* truncated gzip: every prefix reads a prefix of the records, then
     * stops or reports an error; never more records */
    for (size_t cut = 0; cut < la; cut++) {
        scim_err_clear(&err);
        rc = read_mem(ga, cut, recs, 8, &n, &err);
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
    unsigned char *fbytes = slurp(path, &flen);
    ck_assert_uint_eq(flen, (size_t)cut);
    scim_trace_rec *many = calloc(201, sizeof *many);
    scim_err_clear(&err);
    rc = read_mem(fbytes, flen, many, 201, &n, &err);
    ck_assert_msg(rc == SCIM_EIO && n == 100, "memory: rc %d after %zu records (%s)", rc, n, err.msg);
    ck_assert_str_eq(err.msg, "t.trace:101: error: cannot decompress the trace (corrupt or truncated gzip data)");
    scim_err_clear(&err);
    rc = read_file(path, many, 201, &n, NULL, &err);
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
        recs[i] = rand_rec(&s);
    char path[512];
    path_of(path, sizeof path, "t.bin");
    write_trace(path, SCIM_TRACE_BINARY, false, recs, N);
    size_t len;
    unsigned char *bytes = slurp(path, &len);
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
        int rc = read_mem(prefix, cut, got, N + 1, &n, &err);
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
            CHECK(rec_same(&got[i], &recs[i]), "cut %zu: record %zu differs", cut, i);
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
        int rc = read_mem(c, len, got, N + 1, &n, &err);
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
    int rc = read_mem(b, len, recs, 4, &n, &err);
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
    ck_assert_int_eq(read_mem(h, sizeof h, recs, 2, &n, &err), 0);
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

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_text_every_op_and_key);
    tcase_add_test(tc, test_text_errors);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_format_parse);
    tcase_add_test(tc, test_gzip);
    tcase_add_test(tc, test_streaming_pipe);
    tcase_add_test(tc, test_binary_truncated);
    tcase_add_test(tc, test_binary_errors);
    tcase_add_test(tc, test_writer_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trace_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

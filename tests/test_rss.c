/* Host memory stays flat in trace length (issue 11): the same run over a
 * trace 4 times longer (same pages, same configuration) has the same peak
 * resident set, within MAX_GROWTH_KIB. A per-record cost of 8 bytes over
 * the extra 150,000 records would be 1.2 MiB, so a record, request, chunk,
 * message or histogram sample kept per DMA fails it. Each run is the
 * command-line tool in a process of its own (its peak from wait4; a forked
 * child would inherit the test's high-water mark), for hits (the fast
 * path) and for misses (IOMMU walks: every hop an event). */
#define _DEFAULT_SOURCE /* wait4 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/simtest.h"
#include "scimitar/trace.h"

#define REGION 0x10000000ull
#define PAGE 4096ull
#define SHORT_DMAS 50000ull
#define LONG_DMAS (4 * SHORT_DMAS)
#define MAX_GROWTH_KIB 1024

static void make_trace(const char *path, uint64_t n, uint64_t pages)
{
    scim_err err = {0};
    scim_trace_writer *tw = scim_trace_create(path, SCIM_TRACE_BINARY, false, &err);
    ck_assert_msg(tw != NULL, "%s", err.msg);
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        scim_trace_rec r = {0};
        r.timing = SCIM_TIMING_REL;
        r.time_ns = 2;
        r.op = (x >> 40) & 1 ? SCIM_OP_READ : SCIM_OP_WRITE;
        r.addr = REGION + (x % pages) * PAGE + ((x >> 20) % 64) * 64;
        r.size = 64;
        ck_assert_msg(scim_trace_write(tw, &r, &err) == 0, "%s", err.msg);
    }
    ck_assert_msg(scim_trace_finish(tw, &err) == 0, "%s", err.msg);
}

typedef struct peak {
    long rss_kib;
    uint64_t dmas;
} peak;

/* Run the trace through the command-line tool (a process of its own, as a
 * user runs it): its peak RSS (wait4) and the DMAs it completed. */
static peak run_cli(const char *dir, const char *trace, const char *name)
{
    char cfg[512], out[512], yaml[1024];
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\nmemory: {size: 256MiB}\n"
             "processes:\n  app: {pasid: 1, regions: [{va: 0x10000000, size: 16MiB, populate: true}]}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1, iotlb: {entries: 32, ways: 8}}\n",
             trace);
    char file[64];
    snprintf(file, sizeof file, "%s.yaml", name);
    write_file(dir, file, yaml, cfg, sizeof cfg);
    snprintf(out, sizeof out, "%s/out_%s", dir, name);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(SCIM_CLI, SCIM_CLI, "run", cfg, "--quiet", "--out", out, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    ck_assert_int_eq(wait4(pid, &status, 0, &ru), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "scimitar run %s failed (status %d)", cfg, status);
    char csv[600];
    snprintf(csv, sizeof csv, "%s/stats.csv", out);
    char *text = slurp(csv, NULL);
    ck_assert_msg(text != NULL, "no %s", csv);
    const char *row = strstr(text, "\nnic0.dma.latency.count,");
    ck_assert_msg(row != NULL, "no nic0.dma.latency.count in %s", csv);
    peak p = {ru.ru_maxrss, strtoull(row + strlen("\nnic0.dma.latency.count,"), NULL, 10)};
    free(text);
    return p;
}

static void flat_in_length(uint64_t pages)
{
    char dir[256], short_trace[512], long_trace[512];
    tmpdir_make(dir, sizeof dir);
    snprintf(short_trace, sizeof short_trace, "%s/short.bin", dir);
    snprintf(long_trace, sizeof long_trace, "%s/long.bin", dir);
    make_trace(short_trace, SHORT_DMAS, pages);
    make_trace(long_trace, LONG_DMAS, pages);
    peak a = run_cli(dir, short_trace, "short"), b = run_cli(dir, long_trace, "long");
    /* both ran to the end: the longer one did 4 times the DMAs */
    ck_assert_uint_eq(a.dmas, SHORT_DMAS);
    ck_assert_uint_eq(b.dmas, LONG_DMAS);
    ck_assert_msg(b.rss_kib - a.rss_kib <= MAX_GROWTH_KIB,
                  "peak RSS grew from %ld to %ld KiB for %llu more DMAs over the same %llu pages", a.rss_kib,
                  b.rss_kib, (unsigned long long)(LONG_DMAS - SHORT_DMAS), (unsigned long long)pages);
    tmpdir_remove(dir);
}

START_TEST(hits_flat) { flat_in_length(16); }
END_TEST

/* 4,096 pages through a 32-entry IOTLB: nearly every DMA walks */
START_TEST(misses_flat) { flat_in_length(4096); }
END_TEST

int main(void)
{
    Suite *s = suite_create("rss");
    TCase *tc = tcase_create("flat");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, hits_flat);
    tcase_add_test(tc, misses_flat);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

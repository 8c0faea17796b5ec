/* The trace position behind progress reports (issue 14): a reader's
 * scim_trace_position (bytes of the file consumed of its size; compressed
 * bytes for gzip; a memory buffer's bytes), and a simulation's
 * scim_sim_trace_position and progress hook: the fraction grows from 0 to
 * exactly 1 at the end, the sum over agents is the sum of the files'
 * sizes, and a progress hook (called between events, never as one)
 * leaves every statistic as it is without one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/simtest.h"
#include "scimitar/kernel.h"
#include "scimitar/trace.h"

#define NIC_RX SCIM_SOURCE_DIR "/traces/nic_rx.trace.gz"
#define NIC_TX SCIM_SOURCE_DIR "/traces/nic_tx.trace.gz"

static uint64_t file_size(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

/* Reads r to its end; the position only grows, within total. */
static void read_all(scim_trace_reader *r, uint64_t size)
{
    scim_trace_rec rec;
    scim_err err = {0};
    uint64_t done, total, prev = 0;
    scim_trace_position(r, &done, &total);
    ck_assert_uint_eq(total, size);
    ck_assert_uint_lt(done, size);
    int rc;
    while ((rc = scim_trace_next(r, &rec, &err)) == 1) {
        scim_trace_position(r, &done, &total);
        ck_assert_uint_ge(done, prev);
        ck_assert_uint_le(done, total);
        prev = done;
    }
    ck_assert_int_eq(rc, 0);
    scim_trace_position(r, &done, &total);
    ck_assert_uint_eq(done, size);
    ck_assert_uint_eq(total, size);
}

START_TEST(reader_position)
{
    scim_err err = {0};
    /* a gzip file: compressed bytes of the compressed size */
    scim_trace_reader *r = scim_trace_open(NIC_RX, &err);
    ck_assert_msg(r, "%s", err.msg);
    read_all(r, file_size(NIC_RX));
    scim_trace_close(r);
    /* the same records as a plain text file */
    char dir[256], path[512];
    tmpdir_make(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/plain.trace", dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s' > '%s'", NIC_RX, path);
    ck_assert_int_eq(run_cmd(cmd), 0);
    uint64_t plain = file_size(path);
    ck_assert_uint_gt(plain, file_size(NIC_RX));
    r = scim_trace_open(path, &err);
    ck_assert_msg(r, "%s", err.msg);
    read_all(r, plain);
    scim_trace_close(r);
    /* memory: the buffer's bytes, gzip or not */
    size_t len;
    char *buf = slurp(NIC_RX, &len);
    r = scim_trace_open_mem(buf, len, "mem.gz", &err);
    ck_assert_msg(r, "%s", err.msg);
    read_all(r, len);
    scim_trace_close(r);
    free(buf);
    buf = slurp(path, &len);
    r = scim_trace_open_mem(buf, len, "mem", &err);
    ck_assert_msg(r, "%s", err.msg);
    read_all(r, len);
    scim_trace_close(r);
    free(buf);
    tmpdir_remove(dir);
}
END_TEST

typedef struct seen {
    double first, last;
    size_t calls;
    bool monotonic;
} seen;

static void hook(void *ctx, scim_time_t now, double fraction)
{
    (void)now;
    seen *s = ctx;
    if (!s->calls)
        s->first = fraction;
    if (fraction < s->last)
        s->monotonic = false;
    s->last = fraction;
    s->calls++;
}

static const char *yaml =
    "sim: {max_time: 2ms}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    regions:\n"
    "      - {va: 0x7f0000000000, size: 64KiB, populate: true}\n"
    "      - {va: 0x7f0000100000, size: 4MiB, populate: false}\n"
    "devices:\n"
    "  nic0: {trace: " NIC_RX ", pasid: 1}\n"
    "  nic1: {trace: " NIC_RX ", pasid: 1}\n";

static scim_sim *built(const char *text)
{
    scim_sim *sim = scim_sim_create();
    ck_assert_msg(scim_sim_load_string(sim, text, "p.yaml") == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_msg(scim_sim_build(sim) == 0, "%s", scim_sim_errmsg(sim));
    return sim;
}

static char *json_of(scim_sim *sim)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    ck_assert_int_eq(scim_stats_write_json(scim_sim_stats(sim), f, NULL), 0);
    fclose(f);
    return b;
}

START_TEST(sim_position_and_hook)
{
    /* without max_time: the traces are read to their ends */
    const char *full = strstr(yaml, "processes:");
    scim_sim *sim = scim_sim_create();
    uint64_t done = 1, total = 1;
    ck_assert_int_eq(scim_sim_trace_position(sim, &done, &total), 0);
    ck_assert_uint_eq(total, 0); /* nothing built */
    scim_sim_destroy(sim);
    sim = built(full);
    ck_assert_int_eq(scim_sim_trace_position(sim, &done, &total), 0);
    ck_assert_uint_eq(total, 2 * file_size(NIC_RX));
    ck_assert_uint_lt(done, total);
    seen s = {.last = -2.0, .monotonic = true};
    scim_sim_set_progress(sim, hook, &s);
    ck_assert_msg(scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_uint_gt(s.calls, 10);
    ck_assert(s.monotonic);
    ck_assert(s.first >= 0.0 && s.first < 0.5);
    ck_assert(s.last > 0.9 && s.last <= 1.0);
    ck_assert_int_eq(scim_sim_trace_position(sim, &done, &total), 0);
    ck_assert_uint_eq(done, total);
    char *with = json_of(sim);
    scim_sim_destroy(sim);
    /* the same run without a hook: the same statistics */
    sim = built(full);
    ck_assert_msg(scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    char *without = json_of(sim);
    ck_assert_str_eq(with, without);
    scim_sim_destroy(sim);
    free(with);
    free(without);
    /* stopped by max_time: part of the traces read */
    sim = built(yaml);
    ck_assert_msg(scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_int_eq(scim_sim_trace_position(sim, &done, &total), 0);
    ck_assert_uint_gt(done, 0);
    ck_assert_uint_lt(done, total);
    scim_sim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reader_position);
    tcase_add_test(tc, sim_position_and_hook);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The locality analysis's file edges: parameters it refuses (from traces
 * and from a log: SCIM_ERANGE and the reason, before any file is read);
 * a device or CPU trace that cannot be opened (the status, with or without
 * an err to fill); a CPU trace broken at its first record; and the three
 * writers on a stream that refuses writes (SCIM_EIO, not success). An
 * empty result prints no reuse bins and no LRU sizes. Expected values: the
 * statuses, the messages and the printed lines worked out by hand. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "helpers/tracerig.h"
#include "workload/locality.h"

static char dir[256];
static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

START_TEST(refused_params)
{
    scim_loc_params p = {.ways = {0}, .n_ways = 1};
    scim_loc_result r;
    scim_err err = {0};
    ck_assert_int_eq(scim_loc_from_traces("/nonexistent.trace", NULL, &p, &r, &err), SCIM_ERANGE);
    ck_assert_str_eq(err.msg, "locality: a window must be >= 1 and ways from 1 to 4096");
    err = (scim_err){0};
    ck_assert_int_eq(scim_loc_from_log(SCIM_IMPORT_STRACE, "/nonexistent.log", NULL, &p, &r, NULL, &err),
                     SCIM_ERANGE);
    ck_assert_str_eq(err.msg, "locality: a window must be >= 1 and ways from 1 to 4096");
    /* the same status without a message wanted (it was SCIM_ENOMEM) */
    ck_assert_int_eq(scim_loc_from_traces("/nonexistent.trace", NULL, &p, &r, NULL), SCIM_ERANGE);
    ck_assert_int_eq(scim_loc_from_log(SCIM_IMPORT_STRACE, "/nonexistent.log", NULL, &p, &r, NULL, NULL),
                     SCIM_ERANGE);
}
END_TEST

START_TEST(traces_that_cannot_be_read)
{
    char dev[512], cpu[512];
    write_file(dir, "d.trace", "@0 read 0x1000 64\n", dev, sizeof dev);
    scim_loc_result r;
    scim_err err = {0};
    /* no device trace, no err: the status alone */
    ck_assert_int_eq(scim_loc_from_traces(path_in(dir, "none.trace"), NULL, NULL, &r, NULL), SCIM_EIO);
    /* no CPU trace */
    snprintf(cpu, sizeof cpu, "%s", path_in(dir, "none.trace"));
    int rc = scim_loc_from_traces(dev, cpu, NULL, &r, &err);
    ck_assert_int_lt(rc, 0);
    ck_assert_int_eq(rc, err.code);
    ck_assert_msg(strstr(err.msg, cpu) != NULL, "%s", err.msg);
    /* a CPU trace whose first record is no record */
    write_file(dir, "c.trace", "@0 frobnicate 0x1000 64\n", cpu, sizeof cpu);
    err = (scim_err){0};
    rc = scim_loc_from_traces(dev, cpu, NULL, &r, &err);
    ck_assert_int_eq(rc, SCIM_EPARSE);
    ck_assert_msg(strstr(err.msg, "c.trace:1") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(writers_on_a_refusing_stream)
{
    char dev[512];
    write_file(dir, "d.trace", "@0 read 0x1000 64\n@10 write 0x3000 64\n", dev, sizeof dev);
    scim_loc_result r;
    scim_err err = {0};
    ck_assert_msg(scim_loc_from_traces(dev, NULL, NULL, &r, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(r.distinct_pages, 2);
    FILE *ro = fopen("/dev/null", "r"); /* every write fails */
    ck_assert_ptr_nonnull(ro);
    ck_assert_int_eq(scim_loc_print(&r, ro), SCIM_EIO);
    ck_assert_int_eq(scim_loc_write_json(&r, ro), SCIM_EIO);
    ck_assert_int_eq(scim_loc_write_csv(&r, ro), SCIM_EIO);
    fclose(ro);
    scim_loc_result_free(&r);
}
END_TEST

/* Nothing at all: the counts are 0, no reuse bin, no LRU size. */
START_TEST(empty_result_prints_no_curve)
{
    scim_loc *l = scim_loc_create(NULL, NULL);
    ck_assert_ptr_nonnull(l);
    scim_loc_result r;
    ck_assert_int_eq(scim_loc_finish(l, false, &r, NULL), 0);
    char *txt = NULL;
    size_t n;
    FILE *f = open_memstream(&txt, &n);
    ck_assert_int_eq(scim_loc_print(&r, f), 0);
    fclose(f);
    ck_assert(strstr(txt, "io.ops: 0\n") != NULL);
    ck_assert(strstr(txt, "present: - (no CPU trace)\n") != NULL);
    ck_assert(strstr(txt, "reuse.cold: 0\n") != NULL);
    ck_assert_ptr_null(strstr(txt, "reuse.0-"));
    ck_assert_ptr_null(strstr(txt, "lru.miss_ratio"));
    free(txt);
    scim_loc_result_free(&r);
    scim_loc_destroy(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("locality_io");
    TCase *tc = tcase_create("all");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, refused_params);
    tcase_add_test(tc, traces_that_cannot_be_read);
    tcase_add_test(tc, writers_on_a_refusing_stream);
    tcase_add_test(tc, empty_result_prints_no_curve);
    suite_add_tcase(s, tc);
    return run_suite(s);
}

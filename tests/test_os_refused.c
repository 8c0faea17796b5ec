/* OS operations in an agent's trace that the OS refuses (docs/os.md's
 * "refused when" column): each is answered with an error, counted once
 * by the agent (<agent>.os_errors) and by the OS (os.ops.errors), and the
 * replay goes on (the read after them completes). The same from a
 * device's trace and from a CPU core's. And a relative timing that would
 * take an agent past the end of the simulated clock stops the run with
 * the record's file:line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

/* One process: 64 KiB at 0x10000000, populated. Refused, in order:
 *   1 mmap over the process's region (overlap)
 *   2 a 2 MiB-page region at 0x20100000 (not 2 MiB aligned)
 *   3 a region at 0x800000000000 (not canonical with 4-level paging)
 *     (accepted: a 4 MiB region of 2 MiB pages at 0x30000000, populated)
 *   4 munmap of one 4 KiB page inside one of its 2 MiB pages
 *   5 pin of a page outside every region
 *   6 pin of the region's last page and the page after it: all or
 *     nothing, the pin taken on the first page is dropped again
 * 7 OS operations, 6 refused; 2 reads, both complete. */
static const char *const TRACE = "@0 read 0x10000000 64\n"
                                 "@1000 mmap 0x10008000 4096\n"
                                 "@2000 mmap 0x20100000 0x200000 pagesize=2M\n"
                                 "@3000 mmap 0x800000000000 4096\n"
                                 "@4000 mmap 0x30000000 0x400000 pagesize=2M populate=1\n"
                                 "@5000 munmap 0x30001000 0x1000\n"
                                 "@6000 pin 0x50000000 4096\n"
                                 "@7000 pin 0x1000f000 0x2000\n"
                                 "@8000 read 0x10000040 64\n";

static scim_sim *run(const char *agents, const char *trace)
{
    char dir[64], path[256], yaml[1024];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "processes:\n  app:\n    pasid: 1\n    regions:\n"
             "      - {va: 0x10000000, size: 64KiB, populate: true}\n"
             "%s:\n  a0: {trace: %s, pasid: 1}\n",
             agents, path);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    return sim;
}

START_TEST(refused_ops)
{
    const char *agents = _i == 0 ? "devices" : "cpus";
    scim_sim *sim = run(agents, TRACE);
    ck_assert_double_eq(stat_of(sim, "a0.os_ops"), 7);
    ck_assert_double_eq(stat_of(sim, "a0.os_errors"), 6);
    ck_assert_double_eq(stat_of(sim, "os.ops.errors"), 6);
    ck_assert_double_eq(stat_of(sim, "os.ops.mmap"), 4);
    ck_assert_double_eq(stat_of(sim, "os.ops.munmap"), 1);
    ck_assert_double_eq(stat_of(sim, "os.ops.pin"), 2);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    /* the last pin held the region's last page for a moment before giving it back */
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned_peak"), 1);
    /* the accepted region is there: 2 pages of 2 MiB mapped at once */
    ck_assert_double_eq(stat_of(sim, _i == 0 ? "a0.dma.requests" : "a0.mem.requests"), 2);
    ck_assert_double_eq(stat_of(sim, _i == 0 ? "a0.dma.errors" : "a0.mem.errors"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* +18446744073709551 ns is the largest timing a record may carry (2^64 ps
 * rounded down to whole ns, 615 ps short of the end); one more ns after
 * it does not fit. */
START_TEST(clock_overflow)
{
    char dir[64], path[256], yaml[1024];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "+18446744073709551 read 0x10000000 64\n+1 read 0x10000000 64\n", path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "processes:\n  app:\n    pasid: 1\n    regions:\n"
             "      - {va: 0x10000000, size: 64KiB, populate: true}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1}\n",
             path);
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, yaml, "test.yaml"), 0);
    ck_assert_msg(scim_sim_build(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_int_eq(scim_sim_run(sim), SCIM_EPARSE);
    char want[512];
    snprintf(want, sizeof want,
             "%s:2:1: error: timing '+1' takes nic0 past the end of the simulated clock (2^64 ps, about 213 days); "
             "expected a smaller delay",
             path);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), want) != NULL, "%s", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("os_refused");
    TCase *tc = tcase_create("refused");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, refused_ops, 0, 2);
    tcase_add_test(tc, clock_overflow);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Two simulations with kernel.backend: systemc in one process share
 * SystemC's one scheduler (src/core/sc_bridge.cpp), yet each is its own
 * model: a run of sim A never executes sim B's events nor moves B's clock,
 * and B's statistics never change A's. Each is checked against the same
 * configuration run alone in the process (stats.json byte for byte), when
 * A runs to its end while B waits built, and when the two are stepped
 * in turns with run_until. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "scimitar/kernel.h"

static char yaml[2048];

static void make_yaml(const char *backend)
{
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: %s}\n"
             "sim: {max_time: 300us}\n"
             "processes:\n"
             "  app:\n"
             "    pasid: 1\n"
             "    regions:\n"
             "      - {va: 0x7f0000000000, size: 64KiB, populate: true}\n"
             "      - {va: 0x7f0000100000, size: 4MiB, populate: false}\n"
             "devices:\n"
             "  nic0: {trace: %s/traces/nic_rx.trace.gz, pasid: 1, iotlb: {ways: 4}}\n",
             backend, SCIM_SOURCE_DIR);
}

static scim_sim *built(void)
{
    scim_sim *sim = scim_sim_create();
    ck_assert_ptr_nonnull(sim);
    ck_assert_msg(scim_sim_load_string(sim, yaml, "two.yaml") == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_msg(scim_sim_build(sim) == 0, "%s", scim_sim_errmsg(sim));
    return sim;
}

static char *json_of(scim_sim *sim)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(scim_stats_write_json(scim_sim_stats(sim), f, NULL), 0);
    fclose(f);
    return buf;
}

/* The reference: the configuration alone (and first) in the process. */
static char *alone(void)
{
    scim_sim *r = built();
    ck_assert_msg(scim_sim_run(r) == 0, "%s", scim_sim_errmsg(r));
    char *j = json_of(r);
    scim_sim_destroy(r);
    return j;
}

START_TEST(a_run_does_not_run_the_other)
{
    make_yaml(_i ? "systemc" : "native");
    char *ref = alone();
    scim_sim *a = built(), *b = built();
    ck_assert_msg(scim_sim_run(a) == 0, "%s", scim_sim_errmsg(a));
    ck_assert_uint_gt(scim_kernel_events_executed(scim_sim_kernel(a)), 1000);
    /* B's first events were scheduled at build; A's run left them alone */
    ck_assert_uint_eq(scim_kernel_events_executed(scim_sim_kernel(b)), 0);
    ck_assert_uint_eq(scim_sim_now(b), 0);
    char *ja = json_of(a);
    ck_assert_str_eq(ja, ref);
    ck_assert_msg(scim_sim_run(b) == 0, "%s", scim_sim_errmsg(b));
    char *jb = json_of(b), *ja2 = json_of(a);
    ck_assert_str_eq(jb, ref);  /* B ran on its own timeline from 0 */
    ck_assert_str_eq(ja2, ref); /* and did not touch A */
    scim_sim_destroy(a);
    scim_sim_destroy(b);
    free(ref);
    free(ja);
    free(ja2);
    free(jb);
}
END_TEST

START_TEST(stepped_in_turns)
{
    make_yaml(_i ? "systemc" : "native");
    char *ref = alone();
    scim_sim *a = built(), *b = built();
    /* A leads by 30 us at every step, so a shared clock would show */
    for (scim_time_t t = SCIM_US(10); t <= SCIM_US(200); t += SCIM_US(10)) {
        ck_assert_msg(scim_sim_run_until(a, t + SCIM_US(30)) == 0, "%s", scim_sim_errmsg(a));
        ck_assert_uint_eq(scim_sim_now(a), t + SCIM_US(30));
        ck_assert_msg(scim_sim_run_until(b, t) == 0, "%s", scim_sim_errmsg(b));
        ck_assert_uint_eq(scim_sim_now(b), t);
        ck_assert_uint_eq(scim_sim_now(a), t + SCIM_US(30));
    }
    ck_assert_msg(scim_sim_run(b) == 0, "%s", scim_sim_errmsg(b));
    ck_assert_msg(scim_sim_run(a) == 0, "%s", scim_sim_errmsg(a));
    char *ja = json_of(a), *jb = json_of(b);
    ck_assert_str_eq(ja, ref);
    ck_assert_str_eq(jb, ref);
    scim_sim_destroy(a);
    scim_sim_destroy(b);
    free(ref);
    free(ja);
    free(jb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sc_two_sims");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    /* 0: native (the reference behaviour), 1: systemc */
    tcase_add_loop_test(tc, a_run_does_not_run_the_other, 0, 2);
    tcase_add_loop_test(tc, stepped_in_turns, 0, 2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A simulation built with no configuration loaded is the defaults' system
 * (docs: "every key has a default"): it builds, runs and writes the same
 * statistics and resolved configuration, byte for byte, as one built from
 * an empty document; building twice is refused with ESTATE and leaves the
 * built simulation usable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

static char *outputs(scim_sim *sim, const char *dir, const char *sub, char **cfg)
{
    char out[256], path[300];
    snprintf(out, sizeof out, "%s/%s", dir, sub);
    ck_assert_msg(scim_sim_write_stats(sim, out) == 0, "%s", scim_sim_errmsg(sim));
    snprintf(path, sizeof path, "%s/config.yaml", out);
    ck_assert_msg(scim_sim_write_config(sim, path) == 0, "%s", scim_sim_errmsg(sim));
    *cfg = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/stats.json", out);
    return slurp(path, NULL);
}

START_TEST(no_config_is_the_defaults)
{
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    scim_sim *bare = scim_sim_create(), *empty = scim_sim_create();
    ck_assert_msg(scim_sim_build(bare) == 0, "%s", scim_sim_errmsg(bare));
    ck_assert_int_eq(scim_sim_load_string(empty, "", "empty.yaml"), 0);
    ck_assert_msg(scim_sim_build(empty) == 0, "%s", scim_sim_errmsg(empty));
    /* built twice: refused, the first build stands */
    ck_assert_int_eq(scim_sim_build(bare), SCIM_ESTATE);
    ck_assert_str_eq(scim_sim_errmsg(bare), "the simulation is already built");
    ck_assert_msg(scim_sim_run(bare) == 0, "%s", scim_sim_errmsg(bare));
    ck_assert_msg(scim_sim_run(empty) == 0, "%s", scim_sim_errmsg(empty));
    char *cfg_a, *cfg_b;
    char *a = outputs(bare, dir, "bare", &cfg_a), *b = outputs(empty, dir, "empty", &cfg_b);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(cfg_a, cfg_b);
    /* nothing to replay: no simulated time passes */
    ck_assert_double_eq(stat_of(bare, "sim.time_ps"), 0);
    free(a);
    free(b);
    free(cfg_a);
    free(cfg_b);
    scim_sim_destroy(bare);
    scim_sim_destroy(empty);
    tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_defaults");
    TCase *tc = tcase_create("defaults");
    tcase_add_test(tc, no_config_is_the_defaults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

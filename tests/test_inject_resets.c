/* Device resets after lost invalidation completions (inject:
 * inv_completion_lost), past test_inject.c's single IOMMU-walking device:
 * a device that walks its own tables (walk: device) is reset the same
 * way, in the same time, and its walker forgets its cached tables; two
 * devices losing their completions in the same shootdown are both reset
 * by the OS (two resets under way at once), and the shootdown ends once
 * both are. The safety checker runs throughout and no frame is left in
 * transit. Links as in test_inject.c: nic-iommu 400 ns, iommu-mem 20 ns,
 * os-mem 50 ns, os-iommu 50 ns; ats.inv_timeout 100 us; reset 10 us. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

#define NS 1000.0 /* ps per ns */

static scim_sim *run(const char *walk, bool two, const char *inject, char *dir)
{
    char p0[256], yaml[4096];
    const char *trace = "@0 read 0x10000000 64\n@10000 munmap 0x10000000 4096\n@300000 read 0x10001000 64\n";
    const char *trace1 = "@0 read 0x10000000 64\n@300000 read 0x10002000 64\n";
    tmpdir_make(dir, 64);
    write_file(dir, "t.trace", trace, p0, sizeof p0);
    char p1[256];
    write_file(dir, "t1.trace", trace1, p1, sizeof p1);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
             "fabric:\n  links:\n"
             "    - {a: nic0, b: iommu, latency: 400ns}\n"
             "%s"
             "    - {a: iommu, b: mem, latency: 20ns}\n"
             "    - {a: os, b: mem, latency: 50ns}\n"
             "    - {a: os, b: iommu, latency: 50ns}\n"
             "iommu: {clock: 1GHz, ats: {inv_timeout: 100us}}\n"
             "processes:\n  app:\n    pasid: 1\n    regions:\n"
             "      - {va: 0x10000000, size: 1MiB, populate: true}\n"
             "devices:\n"
             "  nic0: {trace: %s, pasid: 1, reset_latency: 10us, walk: %s}\n"
             "%s%s%s"
             "%s",
             two ? "    - {a: nic1, b: iommu, latency: 400ns}\n" : "", p0, walk,
             two ? "  nic1: {trace: " : "", two ? p1 : "", two ? ", pasid: 1, reset_latency: 10us}\n" : "", inject);
    return run_yaml(yaml);
}

static void done(scim_sim *sim, char *dir)
{
    scim_frame_counts f;
    ck_assert_int_eq(scim_sim_frames(sim, &f), 0);
    ck_assert_uint_eq(f.transit, 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}

/* The recovery adds, as in test_inject.c: timeout 100 us, report 50 ns,
 * reset there and back 450 + 10,000 + 450 ns, answer 50 ns, completion
 * 50 ns, less the normal completion 400 + 3,000 + 400 + 50 ns; where the
 * device walks makes no difference to it. */
START_TEST(device_walker_reset)
{
    char da[64], db[64];
    scim_sim *a = run("device", false, "", da);
    scim_sim *b = run("device", false, "inject: [{fault: inv_completion_lost, target: nic0, nth: 1}]\n", db);
    double base = stat_of(a, "os.shootdown.latency.max"), lost = stat_of(b, "os.shootdown.latency.max");
    ck_assert_double_eq(lost - base, (100000 + 50 + 450 + 10000 + 450 + 50 + 50 - (400 + 3000 + 400 + 50)) * NS);
    ck_assert_double_eq(stat_of(b, "nic0.resets"), 1);
    ck_assert_double_eq(stat_of(b, "nic0.failed"), 1);
    ck_assert_double_eq(stat_of(b, "nic0.dma.errors"), 1);
    ck_assert_double_eq(stat_of(a, "nic0.dma.errors"), 0);
    done(a, da);
    done(b, db);
}
END_TEST

/* Both devices cached the page and both completions are lost: both time
 * out together, the OS resets both (two resets under way), each reset
 * takes the same time, so the shootdown is as long as with one loss. */
START_TEST(two_devices_reset)
{
    char da[64], db[64], dc[64];
    scim_sim *one = run("iommu", true, "inject: [{fault: inv_completion_lost, target: nic0, nth: 1}]\n", da);
    scim_sim *both = run("iommu", true,
                         "inject: [{fault: inv_completion_lost, target: nic0, nth: 1},\n"
                         "         {fault: inv_completion_lost, target: nic1, nth: 1}]\n",
                         db);
    scim_sim *none = run("iommu", true, "", dc);
    ck_assert_double_eq(stat_of(both, "os.device_resets"), 2);
    ck_assert_double_eq(stat_of(both, "iommu.inv.timeouts"), 2);
    ck_assert_double_eq(stat_of(one, "os.device_resets"), 1);
    ck_assert_double_eq(stat_of(both, "os.shootdown.latency.max"), stat_of(one, "os.shootdown.latency.max"));
    ck_assert_double_gt(stat_of(both, "os.shootdown.latency.max"), stat_of(none, "os.shootdown.latency.max"));
    /* each failed device's later DMA fails; without losses none does */
    ck_assert_double_eq(stat_of(both, "nic0.dma.errors") + stat_of(both, "nic1.dma.errors"), 2);
    ck_assert_double_eq(stat_of(one, "nic0.dma.errors") + stat_of(one, "nic1.dma.errors"), 1);
    ck_assert_double_eq(stat_of(none, "nic0.dma.errors") + stat_of(none, "nic1.dma.errors"), 0);
    done(one, da);
    done(both, db);
    done(none, dc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inject_resets");
    TCase *tc = tcase_create("resets");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, device_walker_reset);
    tcase_add_test(tc, two_devices_reset);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

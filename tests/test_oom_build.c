/* Host allocation failures while a simulation is built (helpers/oom.h),
 * for the components test_oom_sim's small model does not build: devices
 * that walk their own tables, walk a shadow copy, walk in software or have
 * no ATC (inline translation by the IOMMU), the backup buffer, a swap
 * device, the scheme drivers' static DMA regions and iommu-map's deferred
 * flush queue. Every allocation of the build fails in turn (the parse of
 * the configuration is test_oom_sim's); the
 * run that follows (without failures) must give the statistics of a run
 * with none, byte for byte, or the build (or run: a write to simulated
 * memory the build could not store) stops with SCIM_ENOMEM; nothing leaks. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "helpers/oom.h"
#include "helpers/simtest.h"
#include "scimitar/scimitar.h"
#include "helpers/testutil.h"

static char dir[256];

/* %s: the scheme and os lines, the trace directory, the devices */
static const char *const BASE = "seed: 1\n"
                                "sim: {check_invariants: true, watchdog: 10ms}\n"
                                "kernel: {backend: native}\n"
                                "memory: {size: 16MiB}\n"
                                "%s"
                                "processes:\n"
                                "  app:\n"
                                "    pasid: 1\n"
                                "    regions:\n"
                                "      - {va: 0x10000000, size: 64KiB}\n"
                                "      - {va: 0x10020000, size: 8KiB, populate: true, static_dma: true}\n"
                                "devices:\n"
                                "%s";

static const struct model {
    const char *name, *top, *devices;
} models[] = {
    {"scimitar: every walk, backup, swap",
     "scheme: scimitar\nos: {reclaim: {low_watermark: 16, high_watermark: 32}, swap: {size: 1MiB}}\n",
     "  nic0: {trace: %s/dev.trace, pasid: 1, walk: shadow, fault_policy: backup}\n"
     "  nic1: {trace: %s/dev.trace, pasid: 1, walk: device}\n"
     "  nic2: {trace: %s/dev.trace, pasid: 1, walk: software, fault_policy: retry}\n"
     "  nic3: {trace: %s/dev.trace, pasid: 1, ats: false}\n"},
    {"iommu-map deferred, static DMA",
     "scheme: iommu-map\nos: {iommu_map: {mode: deferred}, driver: {queues: 2}}\n",
     "  nic0: {trace: %s/dev.trace, pasid: 1}\n"
     "  nic1: {trace: %s/dev.trace, pasid: 1, ats: false}\n"},
};

static const struct model *model;

static int build_scenario(char *out, size_t len, scim_err *err)
{
    char devices[1024], yaml[4096];
    snprintf(devices, sizeof devices, model->devices, dir, dir, dir, dir);
    snprintf(yaml, sizeof yaml, BASE, model->top, devices);
    scim_sim *sim = scim_sim_create();
    if (!sim)
        return scim_err_set(err, SCIM_ENOMEM, "no simulation handle");
    int rc;
    /* the configuration's parse fails its allocations in test_oom_sim */
    OOM_QUIET(rc = scim_sim_load_string(sim, yaml, "oom_build.yaml"));
    if (!rc)
        rc = scim_sim_build(sim);
    if (!rc)
        OOM_QUIET(rc = scim_sim_run(sim));
    rc = oom_sim_digest(sim, rc, out, len, err);
    scim_sim_destroy(sim);
    return rc;
}

static void setup(void)
{
    char p[300];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "dev.trace",
               "@0 read 0x10000000 4096 io=1\n"
               "+10 write 0x10001000 64 io=2\n"
               "+10 read 0x10020000 256 io=3\n",
               p, sizeof p);
}

static void teardown(void) { tmpdir_remove(dir); }

START_TEST(build_under_allocation_failures)
{
    model = &models[_i];
    /* alone only: a build stops at its first failure */
    exhaust_modes(model->name, build_scenario, 1);
}
END_TEST

static Suite *oom_build_suite(void)
{
    Suite *s = suite_create("oom_build");
    TCase *tc = tcase_create("build");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, build_under_allocation_failures, 0, SCIM_COUNT_OF(models));
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(oom_build_suite()); }

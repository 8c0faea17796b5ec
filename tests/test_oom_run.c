/* Host allocation failures while a simulation runs (helpers/oom.h), in
 * the components test_oom_sim's small host-only model does not build: the
 * pin driver with static DMA regions and a device that walks its own
 * tables; iommu-map in deferred mode and DMAs translated inline by the
 * IOMMU (no ATC); shadow walks, backup writes, prefaults, broadcast
 * shootdowns, reclaim to swap; software walks, retries, drops, two fault
 * handlers taking batches. Each model is loaded and built without
 * failures, then every allocation of its run fails in turn (alone, then
 * with every later one): the run gives the statistics of a run without
 * failures, byte for byte, or stops with SCIM_ENOMEM; nothing leaks; the
 * invariant checker is on (a failure that left a stale translation behind
 * would stop the run with SCIM_EINVARIANT instead). test_oom_writers does
 * the same for the library's writers of files. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "helpers/oom.h"
#include "helpers/simtest.h"
#include "scimitar/scimitar.h"
#include "helpers/testutil.h"

static char dir[256];

/* %s: the scheme and os lines, the trace directory (twice), the NIC's
 * keys, further devices */
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
                                "      - {va: 0x10010000, size: 16KiB, populate: true}\n"
                                "      - {va: 0x10020000, size: 8KiB, populate: true, static_dma: true}\n"
                                "cpus:\n"
                                "  cpu0: {trace: %s/cpu.trace, pasid: 1}\n"
                                "devices:\n"
                                "  nic0: {trace: %s/dev.trace, pasid: 1, %s}\n"
                                "%s";

static const struct model {
    const char *name, *top, *nic, *more;
    const char *stat; /* a statistic the model's run must make non-zero */
} models[] = {
    {"pin driver, device walks", "scheme: pin\nos: {driver: {queues: 2}}\n", "walk: device, pwc: {entries: 4}", "",
     "os.io.pins"},
    {"iommu-map deferred, inline translation",
     "scheme: iommu-map\nos: {iommu_map: {mode: deferred, flush_entries: 2}}\n", "ats: false", "",
     "iommu.inline.requests"},
    {"shadow walks, backup, swap",
     "scheme: scimitar\nos: {shootdown: broadcast, reclaim: {low_watermark: 4000, high_watermark: 4010, batch: 8}, "
     "swap: {size: 4MiB}}\n",
     "walk: shadow, fault_policy: backup, prefault: 2", "", "nic0.backup.writes"},
    {"software walks, retry, drop, inline faults", "scheme: scimitar\nos: {fault_handlers: 2, fault_batch: 2}\n",
     "walk: software, fault_policy: retry",
     "  nic1: {trace: %s/dev.trace, pasid: 1, ats: false}\n"
     "  nic2: {trace: %s/dev.trace, pasid: 1, fault_policy: drop, drop_timeout: 2us}\n",
     "nic2.drops"},
};

static const struct model *model;

static int load(scim_sim *sim)
{
    char more[512], yaml[4096];
    snprintf(more, sizeof more, model->more, dir, dir);
    snprintf(yaml, sizeof yaml, BASE, model->top, dir, dir, model->nic, more);
    return scim_sim_load_string(sim, yaml, "oom_run.yaml");
}

static int run_scenario(char *out, size_t len, scim_err *err) { return oom_run_built(load, out, len, err); }

static void setup(void)
{
    char p[300];
    tmpdir_make(dir, sizeof dir);
    /* I/Os into faulting, populated and static-DMA pages, one page again */
    write_file(dir, "dev.trace",
               "@0 read 0x10000000 4096 io=1\n"
               "+10 write 0x10004000 8192 io=2\n"
               "+10 read 0x10010000 64 io=3\n"
               "+100 write 0x10011000 64 io=4\n"
               "@20000 read 0x10000000 64 io=5\n"
               "+10 read 0x10020000 256 io=6\n",
               p, sizeof p);
    /* the core: populated pages, an mmap, an munmap the devices' pages share */
    write_file(dir, "cpu.trace",
               "@0 write 0x10010000 64\n"
               "+100 read 0x10012000 64\n"
               "+10 mmap 0x10100000 0x4000 prot=rw\n"
               "+10 write 0x10100000 8\n"
               "@10000 munmap 0x10011000 0x1000\n"
               "+10 read 0x10013000 8\n",
               p, sizeof p);
}

static void teardown(void) { tmpdir_remove(dir); }

/* Each model takes the paths it is there for (else its loop proves little). */
START_TEST(models_do_what_they_are_for)
{
    model = &models[_i];
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(load(sim), 0);
    ck_assert_msg(scim_sim_build(sim) == 0 && scim_sim_run(sim) == 0, "%s: %s", model->name, scim_sim_errmsg(sim));
    ck_assert_msg(stat_of(sim, model->stat) > 0, "%s: %s is 0", model->name, model->stat);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(run_under_allocation_failures)
{
    model = &models[_i];
    exhaust(model->name, run_scenario);
}
END_TEST

static Suite *oom_run_suite(void)
{
    Suite *s = suite_create("oom_run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, models_do_what_they_are_for, 0, SCIM_COUNT_OF(models));
    tcase_add_loop_test(tc, run_under_allocation_failures, 0, SCIM_COUNT_OF(models));
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(oom_run_suite()); }

/* Host allocation failures in a VM (helpers/oom.h), past test_oom_sim's
 * host-only runs: the hypervisor's set-up (scim_os_add_vm: its table of
 * VMs, the guest-physical allocator, the backing map, the stage-2 table)
 * and its run-time work (stage-2 faults of a device, of a guest core and
 * of the guest's own first touch, each a job in the hypervisor's queue;
 * stage-2 reclaim moving guest pages to new host frames).
 *
 * Each allocation of the build fails in turn (the run not started), then
 * each allocation of the run with the build done without failures: the
 * build or run either gives the statistics of a run without failures,
 * byte for byte, or stops with SCIM_ENOMEM; nothing leaks; the invariant
 * checker is on, so a failure that left a stale translation behind would
 * stop the run with SCIM_EINVARIANT instead.
 *
 * Also the hypervisor's full-memory paths that need no injection: a guest
 * whose memory is smaller than what its process maps (the guest's
 * allocator is full) and a host whose memory a VM fills (the host's
 * allocator is full, stage-2 reclaim finds no frame to move a page to). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "helpers/oom.h"
#include "helpers/simtest.h"
#include "scimitar/scimitar.h"
#include "helpers/testutil.h"

static char dir[256];

/* The guest's NIC reads a populated page (mapped in both stages: no
 * fault), then an unpopulated one (a page request forwarded to the guest,
 * whose fault handler zeroes a new page: a touch fault at stage 2 first).
 * The core writes an unpopulated page (the guest's own #PF, handled on the
 * core; the new page has no stage-2 entry: an EPT violation when the core
 * walks again). The hypervisor takes 4 pages back at 30 us; after it the
 * NIC reads one of the populated pages and the core two (stage-2 faults
 * of a device and of a core). */
static const char *const VM_YAML = "seed: 1\n"
                                   "scheme: scimitar\n"
                                   "sim: {check_invariants: true, watchdog: 1ms}\n"
                                   "kernel: {backend: native}\n"
                                   "memory: {size: 16MiB}\n"
                                   "vms:\n"
                                   "  vm0: {memory: 1MiB, pin: none, s2_reclaim: {at: 30us, pages: 4}}\n"
                                   "processes:\n"
                                   "  app:\n"
                                   "    pasid: 1\n"
                                   "    vm: vm0\n"
                                   "    regions:\n"
                                   "      - {va: 0x10000000, size: 16KiB, populate: true}\n"
                                   "      - {va: 0x10100000, size: 16KiB}\n"
                                   "cpus:\n"
                                   "  cpu0: {trace: %s/cpu.trace, pasid: 1}\n"
                                   "devices:\n"
                                   "  nic0: {trace: %s/dev.trace, pasid: 1, vm: vm0}\n";

static int load(scim_sim *sim)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, VM_YAML, dir, dir);
    return scim_sim_load_string(sim, yaml, "oom_vm.yaml");
}

/* Load and build under failures, then run without them: a write into
 * simulated memory the build could not store (physmem's page of contents)
 * is reported by the run, at its end. */
static int build_scenario(char *out, size_t len, scim_err *err)
{
    scim_sim *sim = scim_sim_create();
    if (!sim)
        return scim_err_set(err, SCIM_ENOMEM, "no simulation handle");
    int rc = load(sim);
    if (!rc)
        rc = scim_sim_build(sim);
    if (!rc)
        OOM_QUIET(rc = scim_sim_run(sim));
    rc = oom_sim_digest(sim, rc, out, len, err);
    scim_sim_destroy(sim);
    return rc;
}

/* Load and build without failures, then run under them. */
static int run_scenario(char *out, size_t len, scim_err *err) { return oom_run_built(load, out, len, err); }

static void setup(void)
{
    char p[300];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "dev.trace",
               "@0 read 0x10000000 64\n"
               "@1000 read 0x10100000 64\n"
               "@40000 read 0x10001000 64\n",
               p, sizeof p);
    write_file(dir, "cpu.trace",
               "@5000 write 0x10101000 8\n"
               "@40000 read 0x10002000 8\n"
               "+10 read 0x10003000 8\n",
               p, sizeof p);
}

static void teardown(void) { tmpdir_remove(dir); }

/* The scenario takes every path it is meant to: without it the exhaustive
 * loop would prove nothing about the hypervisor. */
START_TEST(scenario_reaches_every_stage2_fault)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, VM_YAML, dir, dir);
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_reclaimed"), 4);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_rounds"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_io"), 1);
    /* the core: its new page, then the two pages taken back */
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_cpu"), 1 + 2);
    ck_assert_double_eq(stat_of(sim, "cpu0.faults"), 1 + 1 + 2);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_touch"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.forwarded"), 1);
    /* 4 populated pages, 2 new ones, 4 guest page-table frames */
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.frames_backed"), 4 + 2 + 4);
    /* each backed frame once, and again the 3 refaulted after the reclaim */
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_maps"), 10 + 3);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(build_under_allocation_failures) { exhaust_modes("VM build", build_scenario, 1); }
END_TEST

START_TEST(run_under_allocation_failures) { exhaust_modes("VM run", run_scenario, 2); }
END_TEST

static Suite *oom_vm_suite(void)
{
    Suite *s = suite_create("oom_vm");
    TCase *tc = tcase_create("vm");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, scenario_reaches_every_stage2_fault);
    tcase_add_test(tc, build_under_allocation_failures);
    tcase_add_test(tc, run_under_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(oom_vm_suite()); }

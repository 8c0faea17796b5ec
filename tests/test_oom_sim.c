/* Host allocation failures in whole simulations (helpers/oom.h): a small
 * configuration with a CPU core and a NIC sharing a process (I/O and CPU
 * page faults, an mmap, a mapped region populated up front), under each
 * scheme, loaded, built and run with every one of its allocations failing
 * in turn (about 2,500 per scheme), the invariant checker on. Each time the run either gives the
 * statistics of a run without failures, byte for byte, or stops with
 * SCIM_ENOMEM; nothing leaks. (Too slow for memcheck's CI set; ASan runs it.)
 *
 * test_oom_run does the same for the run of models this one does not build
 * (an munmap whose page-table frame cannot be queued for after its
 * shootdown among them: it stops the run with SCIM_ENOMEM). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "helpers/oom.h"
#include "helpers/simtest.h"
#include "scimitar/scimitar.h"
#include "helpers/testutil.h"

static char dir[256];
static const char *scheme;

static int sim_scenario(char *out, size_t len, scim_err *err)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "seed: 1\n"
             "scheme: %s\n"
             "sim: {check_invariants: true}\n"
             "kernel: {backend: native}\n"
             "memory: {size: 16MiB}\n"
             "processes:\n"
             "  app:\n"
             "    pasid: 1\n"
             "    regions:\n"
             "      - {va: 0x7f0000000000, size: 64KiB}\n"
             "      - {va: 0x7f0000100000, size: 16KiB, populate: true}\n"
             "cpus:\n"
             "  cpu0: {trace: %s/cpu.trace, pasid: 1}\n"
             "devices:\n"
             "  nic0: {trace: %s/dev.trace, pasid: 1}\n",
             scheme, dir, dir);
    scim_sim *sim = scim_sim_create();
    if (!sim)
        return scim_err_set(err, SCIM_ENOMEM, "no simulation handle");
    int rc = scim_sim_load_string(sim, yaml, "oom.yaml");
    if (!rc)
        rc = scim_sim_build(sim);
    if (!rc)
        rc = scim_sim_run(sim);
    rc = oom_sim_digest(sim, rc, out, len, err);
    scim_sim_destroy(sim);
    return rc;
}

static void setup(void)
{
    char p[300];
    tmpdir_make(dir, sizeof dir);
    /* the core writes, the NIC reads and writes (faults), the core maps a
     * region the NIC then uses */
    write_file(dir, "cpu.trace",
               "@0 write 0x7f0000000000 64\n"
               "+100 read 0x7f0000001000 64\n"
               "+10 mmap 0x7f0000200000 0x2000 prot=rw\n"
               "+10 write 0x7f0000200000 8\n"
               "+10 read 0x7f0000100000 64\n",
               p, sizeof p);
    write_file(dir, "dev.trace",
               "@50 read 0x7f0000000000 64\n"
               "+100 write 0x7f0000003000 4096\n"
               "+10 read 0x7f0000101000 128\n"
               "@2000 read 0x7f0000200000 64\n",
               p, sizeof p);
}

static void teardown(void) { tmpdir_remove(dir); }

START_TEST(simulation_under_allocation_failures)
{
    static const char *const schemes[] = {"scimitar", "pin", "iommu-map"};
    scheme = schemes[_i];
    char what[64];
    snprintf(what, sizeof what, "simulation (scheme %s)", scheme);
    /* alone only: a run stops at its first failure, so failing every later
     * allocation too would repeat the same runs (test_oom does both) */
    exhaust_modes(what, sim_scenario, 1);
}
END_TEST

static Suite *oom_sim_suite(void)
{
    Suite *s = suite_create("oom_sim");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 900);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, simulation_under_allocation_failures, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(oom_sim_suite()); }

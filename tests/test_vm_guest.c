/* The guest kernel's own fault handling (vms.<n>.guest.*, src/os/guest.c):
 * a stage-1 fault of a guest PASID, once the hypervisor forwards it,
 * waits in the guest's queue for the guest's handler threads and pays the
 * guest's costs; the host's os.* costs and threads are not involved.
 *
 * References are the mechanism's sums (docs/os.md, "The I/O fault path"):
 * one fault of a DMA on a page stage 2 maps (pin: all) costs, after the
 * forward, one wake-up + one batch + one page (+ zeroing, the same in every
 * run here), so changing the guest's costs moves the DMA's latency by
 * exactly the change of their sum, and changing the host's moves nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

#define PS_PER_NS 1000.0

/* A guest NIC (nic0, pasid 1 in vm0) and, with `host_dev`, a host NIC
 * (nic1, pasid 2) whose first DMAs fault at the same time. */
static const char *const BASE =
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true}\n"
    "os: {%s}\n"
    "vms:\n"
    "  vm0: {memory: 16MiB, pin: all, guest: {%s}}\n"
    "processes:\n"
    "  app: {pasid: 1, vm: vm0, regions: [{va: 0x10000000, size: 1MiB}]}\n"
    "  host: {pasid: 2, regions: [{va: 0x20000000, size: 1MiB}]}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, vm: vm0, max_outstanding: 1}\n"
    "%s";

static scim_sim *run(const char *os, const char *guest, bool host_dev, char *dir)
{
    char gpath[256], hpath[256], yaml[4096], nic1[512] = "";
    tmpdir_make(dir, 64);
    write_file(dir, "g.trace", "@0 write 0x10003000 64\n", gpath, sizeof gpath);
    write_file(dir, "h.trace", "@0 write 0x20003000 64\n", hpath, sizeof hpath);
    if (host_dev)
        snprintf(nic1, sizeof nic1, "  nic1: {trace: %s, pasid: 2, max_outstanding: 1}\n", hpath);
    snprintf(yaml, sizeof yaml, BASE, os, guest, gpath, nic1);
    return run_yaml(yaml);
}

static double guest_dma_ns(const char *os, const char *guest)
{
    char dir[64];
    scim_sim *sim = run(os, guest, false, dir);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.forwarded"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.guest.iopf.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.guest.iopf.batches"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.guest.iopf.wakeups"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    double ns = stat_of(sim, "nic0.dma.latency.max") / PS_PER_NS;
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
    return ns;
}

/* The guest's costs are its own: +1 us wake-up, +5 us batch, +1 us page
 * is +7 us on the faulting DMA; the host's costs, ten times the defaults
 * and more threads, change nothing. */
START_TEST(guest_costs)
{
    double base = guest_dma_ns("", "");
    double slower = guest_dma_ns("", "iopf: {wakeup: 5us}, iopf_cost: 7us, iopf_page_cost: 1600ns");
    ck_assert_double_eq_tol(slower - base, 1000 + 5000 + 1000, 1e-6);
    double host = guest_dma_ns("iopf: {wakeup: 40us}, iopf_cost: 20us, iopf_page_cost: 6us, fault_handlers: 4", "");
    ck_assert_double_eq_tol(host, base, 1e-6);
}
END_TEST

/* guest.fault_profile presets the guest's keys from the same table as
 * os.fault_profile (uvm: wake-up 2 us, batch 27.8 us, page 0.7 us), and a
 * key the configuration gives wins over it. */
START_TEST(guest_profile)
{
    double base = guest_dma_ns("", "");
    double uvm = guest_dma_ns("", "fault_profile: uvm");
    ck_assert_double_eq_tol(uvm - base, (2000 - 4000) + (27800 - 2000) + (700 - 600), 1e-6);
    double uvm_cheap = guest_dma_ns("", "fault_profile: uvm, iopf_cost: 2us");
    ck_assert_double_eq_tol(uvm_cheap - base, (2000 - 4000) + (700 - 600), 1e-6);
    /* the host's profile is the host's */
    ck_assert_double_eq_tol(guest_dma_ns("fault_profile: uvm", ""), base, 1e-6);
}
END_TEST

/* A guest fault and a host fault at once, one handler thread each: each
 * kernel wakes its own thread and neither group waits for the other, so
 * both queue delays are one wake-up (4 us). One shared thread would make
 * the later group wait for the earlier one's service as well. */
START_TEST(separate_queues)
{
    char dir[64];
    scim_sim *sim = run("", "", true, dir);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 2);
    ck_assert_double_eq(stat_of(sim, "vm0.guest.iopf.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.wakeups"), 2);
    ck_assert_double_eq(stat_of(sim, "vm0.guest.iopf.wakeups"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.queue_delay.max"), 4000 * PS_PER_NS);
    ck_assert_double_eq(stat_of(sim, "vm0.guest.iopf.queue_delay.max"), 4000 * PS_PER_NS);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors") + stat_of(sim, "nic1.dma.errors"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

START_TEST(bad_profile)
{
    char msg[1024];
    int rc = build_yaml("vms:\n  vm0: {guest: {fault_profile: gpu}}\n", msg, sizeof msg);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(msg, "test.yaml:2:32:") && strstr(msg, "vms.vm0.guest.fault_profile") && strstr(msg, "uvm"),
                  "got %s", msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vm_guest");
    TCase *tc = tcase_create("vm_guest");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, guest_costs);
    tcase_add_test(tc, guest_profile);
    tcase_add_test(tc, separate_queues);
    tcase_add_test(tc, bad_profile);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

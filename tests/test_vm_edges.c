/* Virtual machines past test_vm.c's cases: scheme iommu-map in a guest
 * (each map and unmap call traps to the VMM: vms.<n>.map_exit_cost, and
 * with a cost of 0 the guest's run is the host's exactly), stage-2
 * reclaim of pinned guest memory (nothing to take), repeated reclaim
 * rounds (s2_reclaim.interval), and a VM that cannot be pinned in the
 * host's memory (a configuration error that says what to change).
 * The checker runs in every test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

/* One NIC, one process, optionally in vm0; %s: scheme, the vm0 line (or
 * ""), the process's vm key (or ""), the device's vm key (or ""), trace. */
static const char *const BASE =
    "scheme: %s\n"
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true}\n"
    "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
    "%s"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "%s"
    "    regions:\n"
    "      - {va: 0x10000000, size: 32KiB, populate: true}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1%s}\n";

static char dir[64];
static void setup(void) { tmpdir_make(dir, sizeof dir); }
static void teardown(void) { tmpdir_remove(dir); }

static scim_sim *run(const char *scheme, const char *vm_line, const char *trace)
{
    char path[256], yaml[2048];
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, scheme, vm_line, *vm_line ? "    vm: vm0\n" : "", path,
             *vm_line ? ", vm: vm0" : "");
    return run_yaml(yaml);
}

/* Two reads of one page, each its own I/O (a map and an unmap each), far
 * enough apart not to overlap. In the guest with map_exit_cost 0 every
 * number is the host's; with 4 us each of the 4 calls costs 4 us more of
 * OS time, and each DMA waits for its map's exit. */
START_TEST(iommu_map_exits)
{
    const char *trace = "@0 read 0x10003000 64\n@100000 read 0x10003000 64\n";
    scim_sim *host = run("iommu-map", "", trace);
    scim_sim *free_exit = run("iommu-map", "vms:\n  vm0: {memory: 16MiB, map_exit_cost: 0}\n", trace);
    scim_sim *vm = run("iommu-map", "vms:\n  vm0: {memory: 16MiB, map_exit_cost: 4us}\n", trace);
    static const char *const same[] = {"sim.time_ps", "nic0.dma.latency.max", "nic0.dma.latency.mean",
                                       "os.busy_ps", "os.io.maps", "os.io.unmaps", "nic0.translation.latency.max"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        ck_assert_msg(stat_of(host, same[i]) == stat_of(free_exit, same[i]), "%s: host %.0f, vm (exit 0) %.0f",
                      same[i], stat_of(host, same[i]), stat_of(free_exit, same[i]));
    ck_assert_double_eq(stat_of(host, "os.io.maps"), 2);
    ck_assert_double_eq(stat_of(host, "os.io.unmaps"), 2);
    ck_assert_double_eq(stat_of(free_exit, "vm0.hyp.map_exits"), 4);
    ck_assert_double_eq(stat_of(vm, "vm0.hyp.map_exits"), 4);
    const double exit_ps = 4e6;
    ck_assert_double_eq(stat_of(vm, "os.busy_ps"), stat_of(host, "os.busy_ps") + 4 * exit_ps);
    ck_assert_double_eq(stat_of(vm, "nic0.dma.latency.max"), stat_of(host, "nic0.dma.latency.max") + exit_ps);
    ck_assert_double_eq(stat_of(vm, "nic0.dma.latency.mean"), stat_of(host, "nic0.dma.latency.mean") + exit_ps);
    ck_assert_double_eq(stat_of(vm, "nic0.dma.errors"), 0);
    scim_sim_destroy(host);
    scim_sim_destroy(free_exit);
    scim_sim_destroy(vm);
}
END_TEST

/* Eight pages read twice (at 0 and at 100 us), stage-2 reclaim from
 * 10 us. With the guest's memory pinned (pin: all) the hypervisor takes
 * nothing back: no round, no shootdown, no stage-2 fault. */
static char *two_passes(char *buf, size_t len)
{
    buf[0] = '\0';
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 8; i++)
            snprintf(buf + strlen(buf), len - strlen(buf), "@%d read 0x%x 64\n", pass * 100000 + i * 1000,
                     0x10000000 + i * 4096);
    return buf;
}

START_TEST(reclaim_of_pinned_memory)
{
    char trace[1024];
    scim_sim *sim =
        run("scimitar", "vms:\n  vm0: {memory: 16MiB, pin: all, s2_reclaim: {at: 10us, pages: 8, interval: 10us}}\n",
            two_passes(trace, sizeof trace));
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_reclaimed"), 0);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_rounds"), 0);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 0);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_io"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 16);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    /* 16 MiB of guest memory: every guest frame but frame 0 backed and pinned */
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.pinned"), 16 * 256 - 1);
    scim_sim_destroy(sim);
}
END_TEST

/* Rounds of 2 pages every 20 us from 30 us. The populated pages are
 * backed at stage 2 from the start (the first pass takes no stage-2
 * fault); before the second pass (at 100 us) the rounds at 30, 50, 70 and
 * 90 us take 4 x 2 = 8 pages, every data page the guest touched; the
 * second pass takes a stage-2 fault on each of the 8, and every read
 * still completes. Its faults keep the run busy past 110 us, so a fifth
 * round comes (2 of the pages just faulted back); the round of 130 us
 * does not, the run having ended: one round per 20 us only while there
 * is work. */
START_TEST(reclaim_rounds)
{
    char trace[1024];
    scim_sim *sim =
        run("scimitar", "vms:\n  vm0: {memory: 16MiB, pin: none, s2_reclaim: {at: 30us, pages: 2, interval: 20us}}\n",
            two_passes(trace, sizeof trace));
    /* the second pass's faults keep the run going past 110 us, not to 130 */
    double end = stat_of(sim, "sim.time_ps");
    ck_assert_msg(end > 110e6 && end < 130e6, "the run ended at %.0f ps", end);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_rounds"), 5);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_reclaimed"), 5 * 2);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 5);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_io"), 8);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 16);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* A guest larger than the host's free memory cannot be pinned. */
START_TEST(pin_does_not_fit)
{
    char msg[1024];
    const char *yaml = "memory: {size: 64MiB}\n"
                       "vms:\n  vm0: {memory: 128MiB, pin: all}\n"
                       "processes:\n  app: {pasid: 1, vm: vm0}\n";
    ck_assert_int_ne(build_yaml(yaml, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "vm 'vm0': pinning its 128 MiB of guest memory needs more than memory.size's free "
                              "frames; raise memory.size, lower vms.vm0.memory, or set vms.vm0.pin: none") != NULL,
                  "%s", msg);
    /* the same guest on demand builds */
    yaml = "memory: {size: 64MiB}\nvms:\n  vm0: {memory: 128MiB, pin: none}\nprocesses:\n  app: {pasid: 1, vm: vm0}\n";
    ck_assert_msg(build_yaml(yaml, msg, sizeof msg) == 0, "%s", msg);
}
END_TEST

/* A stage-2 format of another ISA is refused, naming the right one. */
START_TEST(stage2_of_another_isa)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"system: {isa: x86-64}\nvms: {vm0: {stage2: s2-ipa48}}\n",
         "vm 'vm0': stage2 s2-ipa48 is not a stage-2 format of system.isa x86-64 (ept4)"},
        {"system: {isa: armv8}\nvms: {vm0: {stage2: ept4}}\n",
         "vm 'vm0': stage2 ept4 is not a stage-2 format of system.isa armv8 (s2-ipa48)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[1024];
        ck_assert_int_ne(build_yaml(cases[i].yaml, msg, sizeof msg), 0);
        ck_assert_msg(strstr(msg, "test.yaml:2:12: error: vms.vm0: ") && strstr(msg, cases[i].want), "%s", msg);
    }
}
END_TEST

/* A run stopped (sim.max_time) while the hypervisor has stage-2 faults in
 * service and queued: 8 pages the guest maps without touching (its
 * zero_pages off), so each DMA's retry faults at stage 2; one thread at
 * 100 us a fault has finished one by 150 us (the first arrives after the
 * guest's fault, ~10 us in), holds one and queues six. The statistics say
 * so, and destroying the simulation frees the jobs (LeakSanitizer). */
START_TEST(stopped_with_stage2_faults_queued)
{
    char path[256], yaml[2048], trace[512] = "";
    for (int i = 0; i < 8; i++)
        snprintf(trace + strlen(trace), sizeof trace - strlen(trace), "@0 write 0x%x 64\n", 0x10000000 + i * 4096);
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true, max_time: 150us}\n"
             "vms:\n  vm0: {memory: 16MiB, pin: none, handlers: 1, s2_fault_cost: 100us,\n"
             "        guest: {iopf: {zero_pages: false}}}\n"
             "processes:\n  app: {pasid: 1, vm: vm0, regions: [{va: 0x10000000, size: 64KiB}]}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1, vm: vm0, max_outstanding: 8}\n",
             path);
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.forwarded"), 8);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_io"), 8);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_fault_latency.count"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_queue_delay.count"), 2); /* two taken: the first, then the second */
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), 150e6);
    scim_sim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vm_edges");
    TCase *tc = tcase_create("vm");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, iommu_map_exits);
    tcase_add_test(tc, reclaim_of_pinned_memory);
    tcase_add_test(tc, reclaim_rounds);
    tcase_add_test(tc, pin_does_not_fit);
    tcase_add_test(tc, stage2_of_another_isa);
    tcase_add_test(tc, stopped_with_stage2_faults_queued);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

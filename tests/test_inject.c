/* Fault injection (config `inject`): each fault happens where the rule
 * says, the model recovers as docs/os.md describes, nothing is lost or
 * leaked, and the safety checker holds throughout. References: the same
 * run without the fault (differences derived by hand from the recovery
 * path) and hand sums over the links (unlimited bandwidth: nic0-iommu
 * 400 ns, iommu-mem 20 ns, os-mem 50 ns, os-iommu 50 ns). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

#define NS 1000.0 /* ps per ns */

static const char *const BASE =
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true}\n"
    "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
    "fabric:\n"
    "  links:\n"
    "    - {a: nic0, b: iommu, latency: 400ns}\n"
    "    - {a: iommu, b: mem, latency: 20ns}\n"
    "    - {a: os, b: mem, latency: 50ns}\n"
    "    - {a: os, b: iommu, latency: 50ns}\n"
    "iommu: {clock: 1GHz, prq_depth: %d, ats: {inv_timeout: 100us}}\n"
    "os: {iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us, fault_handlers: 1}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 1MiB, populate: true}\n"
    "      - {va: 0x10200000, size: 1MiB}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, reset_latency: 10us, pri: {allocation: %d, timeout: %s}}\n"
    "%s";

typedef struct run {
    char dir[64];
    scim_sim *sim;
} run;

static void start(run *r, const char *trace, int prq_depth, int allocation, const char *pri_timeout,
                  const char *inject)
{
    char path[256], yaml[4096];
    tmpdir_make(r->dir, sizeof r->dir);
    write_file(r->dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, prq_depth, path, allocation, pri_timeout, inject);
    r->sim = run_yaml(yaml);
}

static void finish(run *r)
{
    scim_frame_counts f;
    ck_assert_int_eq(scim_sim_frames(r->sim, &f), 0);
    ck_assert_uint_eq(f.total, f.free + f.data + f.page_tables + f.pasid_table + f.deferred + f.transit + f.reserved);
    ck_assert_uint_eq(f.transit, 0);
    scim_sim_destroy(r->sim);
    tmpdir_remove(r->dir);
}

/* A lost invalidation completion. The device caches a page, the process
 * unmaps it; the device processes the invalidation but its completion is
 * lost. 100 us after the IOMMU sent it, the IOMMU gives up and reports
 * the device (50 ns to the OS), the OS resets it (450 ns there, 10 us of
 * reset, 450 ns back), answers the IOMMU (50 ns), and the descriptor
 * completes (50 ns to the OS). Without the loss the same round ends when
 * the device's completion is back: sent + 400 + 3000 + 400 + 50 ns. So
 * the round is longer by 100000 + 50 + 450 + 10000 + 450 + 50 + 50 -
 * (400 + 3000 + 400 + 50) ns. Afterwards the device is failed: its next
 * DMA errors out. */
START_TEST(lost_invalidation_completion_resets_the_device)
{
    const char *trace = "@0 read 0x10000000 64\n@10000 munmap 0x10000000 4096\n@300000 read 0x10001000 64\n";
    run a, b;
    start(&a, trace, 64, 64, "0", "");
    start(&b, trace, 64, 64, "0", "inject: [{fault: inv_completion_lost, target: nic0, nth: 1}]\n");
    double base = stat_of(a.sim, "os.shootdown.latency.max"), lost = stat_of(b.sim, "os.shootdown.latency.max");
    ck_assert_double_eq(lost - base, (100000 + 50 + 450 + 10000 + 450 + 50 + 50 - (400 + 3000 + 400 + 50)) * NS);
    ck_assert_double_eq(stat_of(b.sim, "iommu.inv.timeouts"), 1);
    ck_assert_double_eq(stat_of(b.sim, "os.device_resets"), 1);
    ck_assert_double_eq(stat_of(b.sim, "nic0.inv.lost"), 1);
    ck_assert_double_eq(stat_of(b.sim, "nic0.resets"), 1);
    ck_assert_double_eq(stat_of(b.sim, "nic0.failed"), 1);
    ck_assert_double_eq(stat_of(b.sim, "inject.inv_completion_lost"), 1);
    /* the first read worked, the one after the reset failed; without the loss both work */
    ck_assert_double_eq(stat_of(b.sim, "nic0.dma.requests"), 2);
    ck_assert_double_eq(stat_of(b.sim, "nic0.dma.errors"), 1);
    ck_assert_double_eq(stat_of(a.sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(a.sim, "iommu.inv.timeouts"), 0);
    finish(&a);
    finish(&b);
}
END_TEST

/* A swap-in read error: the page is swapped out (reclaim), the first DMA
 * to it faults, the read fails, the DMA fails; the page stays in swap and
 * the second DMA's fault reads it back. */
START_TEST(swap_read_error_fails_one_fault)
{
    const char *trace = "@0 reclaim 0x10000000 4096\n@1000 read 0x10000000 64\n@500000 read 0x10000000 64\n";
    run r;
    start(&r, trace, 64, 64, "0", "inject: [{fault: swap_read_error, nth: 1}]\n");
    ck_assert_double_eq(stat_of(r.sim, "os.swap.writes"), 1);
    ck_assert_double_eq(stat_of(r.sim, "os.swap.reads"), 2);
    ck_assert_double_eq(stat_of(r.sim, "os.swap.read_errors"), 1);
    ck_assert_double_eq(stat_of(r.sim, "inject.swap_read_error"), 1);
    ck_assert_double_eq(stat_of(r.sim, "nic0.dma.requests"), 2);
    ck_assert_double_eq(stat_of(r.sim, "nic0.dma.errors"), 1);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(r.sim, 1, 0x10000000, &pa), 1);
    finish(&r);
}
END_TEST

/* A lost page response: the device gives the group up after
 * pri.timeout (50 us) and translates again; the OS had mapped the page,
 * so the DMA goes on. Its latency is the fault-free run's with the fault
 * latency F replaced by the timeout. */
START_TEST(lost_page_response_times_out)
{
    const char *trace = "@0 write 0x10200000 64\n";
    run a, b;
    start(&a, trace, 64, 64, "50us", "");
    start(&b, trace, 64, 64, "50us", "inject: [{fault: page_response_lost, target: nic0, nth: 1}]\n");
    double f = stat_of(a.sim, "nic0.fault.latency.max");
    ck_assert_double_lt(f, 50000 * NS);
    ck_assert_double_eq(stat_of(b.sim, "nic0.fault.latency.max"), 50000 * NS);
    ck_assert_double_eq(stat_of(b.sim, "nic0.dma.latency.max") - stat_of(a.sim, "nic0.dma.latency.max"),
                        50000 * NS - f);
    ck_assert_double_eq(stat_of(b.sim, "nic0.pri.timeouts"), 1);
    ck_assert_double_eq(stat_of(b.sim, "iommu.prq.responses_lost"), 1);
    ck_assert_double_eq(stat_of(b.sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(b.sim, "nic0.pri.groups"), 1); /* the page was there: no second group */
    finish(&a);
    finish(&b);
}
END_TEST

/* A response that comes after the timeout (the OS is slower than
 * pri.timeout; nothing is lost) is dropped, and the device's own second
 * group is answered normally. */
START_TEST(late_page_response_is_dropped)
{
    run r;
    start(&r, "@0 write 0x10200000 64\n", 64, 64, "2us", "");
    ck_assert_double_ge(stat_of(r.sim, "nic0.pri.timeouts"), 1);
    ck_assert_double_eq(stat_of(r.sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(r.sim, "nic0.dma.requests"), 1);
    ck_assert_double_eq(stat_of(r.sim, "nic0.port.credit_waits"), 0);
    finish(&r);
}
END_TEST

/* A burst of phantom page requests fills the queue (8 places, 10
 * phantoms: 2 overflow); a real group that arrives meanwhile is answered
 * by the IOMMU itself, the device faults again and gets through once the
 * OS has drained the phantoms (each: a handler's page cost, Invalid). */
START_TEST(prq_burst_overflows_and_recovers)
{
    run r;
    start(&r, "@1 write 0x10200000 64\n", 8, 8, "0", "inject: [{fault: prq_burst, at: 0, requests: 10}]\n");
    ck_assert_double_eq(stat_of(r.sim, "iommu.prq.phantoms"), 8);
    ck_assert_double_ge(stat_of(r.sim, "iommu.prq.overflows"), 3); /* 2 phantoms and the real group at least once */
    ck_assert_double_ge(stat_of(r.sim, "nic0.pri.auto_responses"), 1);
    ck_assert_double_eq(stat_of(r.sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(r.sim, "inject.prq_burst"), 1);
    ck_assert_double_le(stat_of(r.sim, "iommu.prq.max_occupancy"), 8);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(r.sim, 1, 0x10200000, &pa), 1);
    finish(&r);
}
END_TEST

/* Probability rules: the same seed gives the same faults and statistics,
 * and the limit holds. */
START_TEST(probability_rules_are_deterministic)
{
    char trace[8192];
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(trace + n, sizeof trace - n, "@%d write 0x%x 64\n", i * 2000, 0x10200000 + i * 4096);
    const char *rules = "inject: [{fault: page_response_lost, probability: 0.25, limit: 5}]\n";
    run a, b;
    start(&a, trace, 64, 64, "1ms", rules);
    start(&b, trace, 64, 64, "1ms", rules);
    double lost = stat_of(a.sim, "iommu.prq.responses_lost");
    ck_assert_double_gt(lost, 0);
    ck_assert_double_le(lost, 5);
    ck_assert_double_eq(lost, stat_of(b.sim, "iommu.prq.responses_lost"));
    ck_assert_double_eq(stat_of(a.sim, "sim.time_ps"), stat_of(b.sim, "sim.time_ps"));
    ck_assert_double_eq(stat_of(a.sim, "nic0.pri.timeouts"), lost);
    ck_assert_double_eq(stat_of(a.sim, "nic0.dma.errors"), 0);
    finish(&a);
    finish(&b);
}
END_TEST

START_TEST(injection_config_errors)
{
    char path[256], yaml[4096], msg[1200], dir[64];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 read 0x10000000 64\n", path, sizeof path);
    struct {
        const char *pri_timeout, *inject, *want;
    } cases[] = {
        {"0", "inject: [{fault: cosmic_ray, nth: 1}]\n", "expected one of: inv_completion_lost"},
        {"0", "inject: [{fault: swap_read_error}]\n", "say which occurrences fail"},
        {"0", "inject: [{fault: prq_burst, at: 1us}]\n", "needs requests > 0"},
        {"0", "inject: {fault: swap_read_error}\n", "must be a list of rules"},
        {"0", "inject: [{fault: swap_read_error, nth: 1, probabilty: 0.5}]\n", "unknown key"},
        {"0", "inject: [{fault: page_response_lost, nth: 1}]\n", "devices.nic0.pri.timeout"},
        {"2s", "inject: [{fault: page_response_lost, nth: 1}]\n", "below sim.watchdog"},
        {"0", "iommu: {ats: {inv_timeout: 0}}\ninject: [{fault: inv_completion_lost, nth: 1}]\n",
         "iommu.ats.inv_timeout above 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(yaml, sizeof yaml, BASE, 64, path, 64, cases[i].pri_timeout, cases[i].inject);
        if (strstr(cases[i].inject, "inv_timeout: 0")) {
            /* the second iommu key overrides the first */
            char *p = strstr(yaml, "iommu: {clock");
            memcpy(p, "#", 1);
        }
        ck_assert_int_ne(build_yaml(yaml, msg, sizeof msg), 0);
        ck_assert_msg(strstr(msg, cases[i].want) != NULL, "case %zu: %s", i, msg);
        ck_assert_msg(strstr(msg, "test.yaml:") != NULL, "case %zu has no location: %s", i, msg);
    }
    tmpdir_remove(dir);
}
END_TEST

static Suite *inject_suite(void)
{
    Suite *s = suite_create("inject");
    TCase *tc = tcase_create("inject");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lost_invalidation_completion_resets_the_device);
    tcase_add_test(tc, swap_read_error_fails_one_fault);
    tcase_add_test(tc, lost_page_response_times_out);
    tcase_add_test(tc, late_page_response_is_dropped);
    tcase_add_test(tc, prq_burst_overflows_and_recovers);
    tcase_add_test(tc, probability_rules_are_deterministic);
    tcase_add_test(tc, injection_config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(inject_suite()); }

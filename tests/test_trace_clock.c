/* scim_sim_trace_clock (`scimitar check`'s "trace clock", the span
 * scripts/sample.py spreads its windows over): the latest issue time of
 * any trace's last record on its own clock (never back: an @N in the past
 * is issued at once). The reference is the replay:
 * sim.until, which ends a trace at the first record issued at or after it
 * on that clock, replays every record at one nanosecond past the clock and
 * leaves out those issued at the clock itself. */
#include <check.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

static const char *const BASE = "sim: {until: %s}\n"
                                "kernel: {backend: native}\n"
                                "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
                                "fabric:\n"
                                "  links:\n"
                                "    - {a: nic0, b: iommu, latency: 400ns}\n"
                                "    - {a: iommu, b: mem, latency: 20ns}\n"
                                "    - {a: os, b: mem, latency: 50ns}\n"
                                "    - {a: os, b: iommu, latency: 50ns}\n"
                                "    - {a: cpu0, b: mem, latency: 10ns}\n"
                                "    - {a: cpu0, b: os, latency: 10ns}\n"
                                "iommu: {clock: 1GHz, walkers: 4}\n"
                                "processes:\n"
                                "  app:\n"
                                "    pasid: 1\n"
                                "    regions:\n"
                                "      - {va: 0x10000000, size: 4MiB, populate: true}\n"
                                "devices:\n"
                                "  nic0: {trace: %s, pasid: 1, max_outstanding: 1, clock: 1GHz}\n"
                                "cpus:\n"
                                "  cpu0: {trace: %s, pasid: 1, max_outstanding: 1}\n";

static scim_sim *built(const char *until, const char *dev, const char *cpu)
{
    char yaml[4096], msg[1024];
    snprintf(yaml, sizeof yaml, BASE, until, dev, cpu);
    scim_sim *sim = scim_sim_create();
    ck_assert_ptr_nonnull(sim);
    if (scim_sim_load_string(sim, yaml, "clock.yaml") != 0 || scim_sim_build(sim) != 0) {
        snprintf(msg, sizeof msg, "%s", scim_sim_errmsg(sim));
        scim_sim_destroy(sim);
        ck_abort_msg("build: %s", msg);
    }
    return sim;
}

static uint64_t clock_of(const char *dev, const char *cpu)
{
    scim_sim *sim = built("0", dev, cpu);
    uint64_t last = 12345;
    ck_assert_msg(scim_sim_trace_clock(sim, &last) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_int_eq(scim_sim_check_traces(sim), 0);
    scim_sim_destroy(sim);
    return last;
}

/* requests of both agents replayed under sim.until = until_ns */
static double replayed(uint64_t until_ns, const char *dev, const char *cpu)
{
    char until[32];
    snprintf(until, sizeof until, "%" PRIu64 "ns", until_ns);
    char yaml[4096];
    snprintf(yaml, sizeof yaml, BASE, until, dev, cpu);
    scim_sim *sim = run_yaml(yaml);
    double n = stat_of(sim, "nic0.dma.requests") + stat_of(sim, "cpu0.mem.requests");
    scim_sim_destroy(sim);
    return n;
}

/* absolute times and gaps mixed: the device's clock ends at 4,250 ns, the
 * CPU's (gaps only) at 6,000 ns, which is the span */
START_TEST(mixed_timing_by_hand)
{
    char dir[64], dev[256], cpu[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "dev.trace",
               "@1000 read 0x10000000 64\n+500 read 0x10001000 64\n@4000 read 0x10002000 64\n"
               "+250 read 0x10003000 64\n",
               dev, sizeof dev);
    write_file(dir, "cpu.trace", "+3000 write 0x10004000 64\n+3000 write 0x10005000 64\n", cpu, sizeof cpu);
    ck_assert_uint_eq(clock_of(dev, cpu), 6000);
    ck_assert_double_eq(replayed(6001, dev, cpu), 6);
    ck_assert_double_eq(replayed(6000, dev, cpu), 5);
    /* an @N before the clock is issued at once: the clock stays (5,000 ns) */
    write_file(dir, "back.trace", "@5000 read 0x10000000 64\n@1000 read 0x10001000 64\n", cpu, sizeof cpu);
    ck_assert_uint_eq(clock_of(dev, cpu), 5000);
    ck_assert_double_eq(replayed(5001, dev, cpu), 6);
    ck_assert_double_eq(replayed(5000, dev, cpu), 4);
    /* the device's trace alone (the CPU's first record at the start) */
    write_file(dir, "cpu1.trace", "@0 write 0x10004000 64\n", cpu, sizeof cpu);
    ck_assert_uint_eq(clock_of(dev, cpu), 4250);
    tmpdir_remove(dir);
}
END_TEST

/* random traces: the clock the test keeps (an absolute time moves it
 * forward, never back; a gap adds to it) and the replay's limit agree
 * with the library's */
START_TEST(random_traces_agree_with_the_replay)
{
    char dir[64], dev[256], cpu[256];
    tmpdir_make(dir, sizeof dir);
    uint64_t seed = 0x5eed;
    for (int round = 0; round < 4; round++) {
        char *text[2];
        uint64_t clock[2] = {0, 0}, at_last[2] = {0, 0};
        for (int a = 0; a < 2; a++) {
            size_t cap = 64 * 40, len = 0;
            text[a] = malloc(cap);
            ck_assert_ptr_nonnull(text[a]);
            int n = 5 + (int)(rng_next(&seed) % 30);
            for (int i = 0; i < n; i++) {
                uint64_t r = rng_next(&seed);
                bool abs = r % 3 == 0;
                /* an absolute time up to 1 us in the past (issued at once) or ahead */
                uint64_t v = abs ? (clock[a] + (r >> 8) % 3000 > 1000 ? clock[a] + (r >> 8) % 3000 - 1000 : 0)
                                 : (r >> 8) % 1500;
                uint64_t before = clock[a];
                clock[a] = abs ? (v > clock[a] ? v : clock[a]) : clock[a] + v;
                at_last[a] = clock[a] == before && i ? at_last[a] + 1 : 1;
                len += (size_t)snprintf(text[a] + len, cap - len, "%c%" PRIu64 " %s 0x%llx 64\n", abs ? '@' : '+',
                                        v, a ? "write" : "read", 0x10000000ull + (unsigned long long)(i % 512) * 4096);
            }
            text[a][len] = 0;
        }
        write_file(dir, "dev.trace", text[0], dev, sizeof dev);
        write_file(dir, "cpu.trace", text[1], cpu, sizeof cpu);
        uint64_t want = clock[0] > clock[1] ? clock[0] : clock[1];
        uint64_t got = clock_of(dev, cpu);
        ck_assert_msg(got == want, "round %d: clock %" PRIu64 ", the test's %" PRIu64, round, got, want);
        double all = 0;
        for (int a = 0; a < 2; a++) {
            const char *p = text[a];
            while ((p = strchr(p, '\n')))
                p++, all++;
        }
        /* records issued at the clock itself: the last ones of the agents whose clock it is */
        double at_clock = (clock[0] == want ? (double)at_last[0] : 0) + (clock[1] == want ? (double)at_last[1] : 0);
        ck_assert_double_eq(replayed(want + 1, dev, cpu), all);
        if (want)
            ck_assert_double_eq(replayed(want, dev, cpu), all - at_clock);
        free(text[0]);
        free(text[1]);
    }
    tmpdir_remove(dir);
}
END_TEST

START_TEST(refusals)
{
    uint64_t last;
    ck_assert_int_eq(scim_sim_trace_clock(NULL, &last), SCIM_EINVAL);
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_trace_clock(sim, NULL), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "last_ns is NULL"));
    ck_assert_int_eq(scim_sim_trace_clock(sim, &last), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "before checking its traces"));
    scim_sim_destroy(sim);
    /* a bad record: the trace's error, as `scimitar check` reports it */
    char dir[64], dev[256], cpu[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "dev.trace", "@1000 read 0x10000000 64\n@2000 reed 0x10001000 64\n", dev, sizeof dev);
    write_file(dir, "cpu.trace", "+3000 write 0x10004000 64\n", cpu, sizeof cpu);
    sim = built("0", dev, cpu);
    ck_assert_int_ne(scim_sim_trace_clock(sim, &last), 0);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), "dev.trace:2:"), "message: %s", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_clock");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mixed_timing_by_hand);
    tcase_add_test(tc, random_traces_agree_with_the_replay);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

/* The fast path (sim.fast_path, device/fast.c): with it on, stats.json is
 * byte-identical to the event path's (off) in runs that use it heavily —
 * hits only, hits and misses (a conflict: the run is redone), accesses
 * one at a time (the path entered and left per access), two devices,
 * multi-page DMAs with a micro-TLB and the checker, both kernel backends,
 * accesses due at one time at one place (taken over in their FIFO order) —
 * and an unloaded hit takes the hand-summed latency. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "scimitar/kernel.h"
#include "scimitar/trace.h"

#define REGION 0x10000000ull
#define PAGE 4096ull

/* n DMAs of `size` bytes every gap_ns, over `pages` pages (xorshift). */
static uint64_t new_every; /* if set, every new_every-th DMA goes to one of two other pages */

static void make_trace(const char *path, uint64_t n, uint64_t pages, uint64_t size, uint64_t gap_ns, uint64_t seed)
{
    scim_err err = {0};
    scim_trace_writer *tw = scim_trace_create(path, SCIM_TRACE_BINARY, false, &err);
    ck_assert_msg(tw != NULL, "%s", err.msg);
    uint64_t x = seed;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        scim_trace_rec r = {0};
        r.timing = SCIM_TIMING_REL;
        r.time_ns = gap_ns;
        r.op = (x >> 40) & 1 ? SCIM_OP_READ : SCIM_OP_WRITE;
        uint64_t page = new_every && i % new_every == new_every - 1 ? pages + (i / new_every) % 2 : x % pages;
        r.addr = REGION + page * PAGE + (size < PAGE ? ((x >> 20) % (PAGE / size)) * size : 0);
        r.size = size;
        ck_assert_msg(scim_trace_write(tw, &r, &err) == 0, "%s", err.msg);
    }
    ck_assert_msg(scim_trace_finish(tw, &err) == 0, "%s", err.msg);
}

/* Events the kernel executed in the last both_ways() run with the fast
 * path off (fewer than sim.events too: dormant replay pumps, core/kfifo.h,
 * are counted without running). */
static uint64_t off_executed;
/* What scim_sim_fast_path said after each of the last both_ways() runs
 * ([0] off, [1] on). */
static scim_fast_path_use last_use[2];
static char last_conflict[256]; /* scim_sim_fast_path_conflict of the last run with it on ("" if NULL) */

/* Run yaml (a format with one %s for the fast path's value) both ways;
 * the two stats.json must be equal byte for byte. Returns how many events
 * the fast run's kernel executed and the model's events. */
static void both_ways(const char *fmt, const char *a1, const char *a2, uint64_t *executed, uint64_t *events)
{
    char dir[256], yaml[8192], out[2][512];
    tmpdir_make(dir, sizeof dir);
    for (int on = 0; on < 2; on++) {
        snprintf(yaml, sizeof yaml, fmt, on ? "on" : "off", a1, a2);
        scim_sim *sim = run_yaml(yaml);
        snprintf(out[on], sizeof out[on], "%s/%s", dir, on ? "on" : "off");
        ck_assert_int_eq(scim_sim_write_stats(sim, out[on]), 0);
        last_use[on] = scim_sim_fast_path(sim);
        if (on)
            snprintf(last_conflict, sizeof last_conflict, "%s",
                     scim_sim_fast_path_conflict(sim) ? scim_sim_fast_path_conflict(sim) : "");
        else
            ck_assert_ptr_null(scim_sim_fast_path_conflict(sim));
        if (!on)
            off_executed = scim_kernel_events_executed(scim_sim_kernel(sim));
        if (on) {
            *executed = scim_kernel_events_executed(scim_sim_kernel(sim));
            *events = (uint64_t)stat_of(sim, "sim.events");
        }
        scim_sim_destroy(sim);
    }
    char p0[600], p1[600];
    snprintf(p0, sizeof p0, "%s/stats.json", out[0]);
    snprintf(p1, sizeof p1, "%s/stats.json", out[1]);
    size_t n0, n1;
    char *s0 = slurp(p0, &n0), *s1 = slurp(p1, &n1);
    ck_assert(s0 && s1);
    if (n0 != n1 || memcmp(s0, s1, n0) != 0) {
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "diff %s %s | head -20 >&2", p0, p1);
        run_cmd(cmd);
        ck_abort_msg("stats.json differs with sim.fast_path on and off");
    }
    free(s0);
    free(s1);
    tmpdir_remove(dir);
}

static const char *const ONE =
    "kernel: {backend: %%s}\nsim: {fast_path: %%s, check_invariants: %s}\nmemory: {size: 256MiB}\n"
    "processes:\n  app: {pasid: 1, regions: [{va: 0x10000000, size: 4MiB, populate: true}]}\n"
    "devices:\n  nic0: {trace: %%s, pasid: 1, max_outstanding: %d%s}\n";

static void one_device(const char *backend, bool check, int outstanding, const char *extra, uint64_t n,
                       uint64_t pages, uint64_t size, uint64_t gap, uint64_t *executed, uint64_t *events)
{
    char dir[256], trace[512], fmt[2048];
    tmpdir_make(dir, sizeof dir);
    snprintf(trace, sizeof trace, "%s/t.bin", dir);
    make_trace(trace, n, pages, size, gap, 88172645463325252ull);
    snprintf(fmt, sizeof fmt, ONE, check ? "true" : "false", outstanding, extra);
    /* the format's first %s is the backend: reorder through a second pass */
    char fmt2[2048];
    snprintf(fmt2, sizeof fmt2, fmt, backend, "%s", trace);
    both_ways(fmt2, "", "", executed, events);
    tmpdir_remove(dir);
}

START_TEST(hits_only)
{
    uint64_t ex, ev;
    one_device("native", false, 32, "", 20000, 16, 64, 2, &ex, &ev);
    /* after the first misses, 3 events run per access instead of 7 */
    ck_assert_msg(ex * 2 < off_executed, "the fast path was not used: %llu of %llu events ran (%llu without it)",
                  (unsigned long long)ex, (unsigned long long)ev, (unsigned long long)off_executed);
    ck_assert_int_eq(last_use[0], SCIM_FAST_PATH_OFF);
    ck_assert_int_eq(last_use[1], SCIM_FAST_PATH_ON);
    ck_assert_str_eq(last_conflict, "");
}
END_TEST

START_TEST(hits_and_misses)
{
    uint64_t ex, ev;
    /* 64 pages through a 32-entry IOTLB: misses meet fast accesses */
    one_device("native", false, 32, "", 5000, 64, 64, 2, &ex, &ev);
}
END_TEST

START_TEST(new_pages)
{
    uint64_t ex, ev;
    /* 8 hot pages in an 8-entry IOTLB, and now and then one of two other
     * pages: a device miss that hits the IOMMU's IOTLB while fast accesses
     * are in flight, so its answer would cross one of them on the
     * IOMMU-device link (a conflict: the run is redone without the fast
     * path) */
    new_every = 500;
    one_device("native", false, 32, ", iotlb: {entries: 8, ways: 8}", 5000, 8, 64, 2, &ex, &ev);
    ck_assert_uint_eq(ex, off_executed);
    ck_assert_int_eq(last_use[1], SCIM_FAST_PATH_REDONE); /* the run says so, and what it met */
    ck_assert_msg(strncmp(last_conflict, "at ", 3) == 0 && strstr(last_conflict, " ps: a link was booked ahead of a "
                                                                                   "message that reached it earlier"),
                  "%s", last_conflict);
    /* a miss that walks comes back after every fast access in flight */
    one_device("native", false, 32, "", 5000, 8, 64, 2, &ex, &ev);
    ck_assert(ex * 2 < off_executed);
    ck_assert_int_eq(last_use[1], SCIM_FAST_PATH_ON);
    ck_assert_str_eq(last_conflict, "");
    new_every = 0;
}
END_TEST

START_TEST(one_at_a_time)
{
    uint64_t ex, ev;
    /* 1 us apart: each access alone, the path entered and left each time */
    one_device("native", false, 1, "", 3000, 8, 256, 1000, &ex, &ev);
    ck_assert(ex * 2 < off_executed);
    one_device("native", false, 4, "", 3000, 8, 4096, 100, &ex, &ev);
}
END_TEST

START_TEST(utlb_checker_multipage)
{
    uint64_t ex, ev;
    one_device("native", true, 16, ", utlb: {entries: 4, latency: 1}", 4000, 12, 8192, 5, &ex, &ev);
    ck_assert(ex < off_executed);
}
END_TEST

START_TEST(systemc_backend)
{
    uint64_t ex, ev;
    one_device("systemc", false, 32, "", 5000, 16, 64, 2, &ex, &ev);
    ck_assert(ex * 2 < off_executed);
}
END_TEST

START_TEST(two_devices)
{
    char dir[256], t0[512], t1[512], fmt[4096];
    tmpdir_make(dir, sizeof dir);
    snprintf(t0, sizeof t0, "%s/a.bin", dir);
    snprintf(t1, sizeof t1, "%s/b.bin", dir);
    make_trace(t0, 3000, 8, 64, 3, 1);
    make_trace(t1, 300, 8, 512, 40, 7);
    snprintf(fmt, sizeof fmt,
             "kernel: {backend: native}\nsim: {fast_path: %%s}\nmemory: {size: 256MiB}\n"
             "processes:\n  app: {pasid: 1, regions: [{va: 0x10000000, size: 4MiB, populate: true}]}\n"
             "devices:\n  nic0: {trace: %%s, pasid: 1}\n  nic1: {trace: %%s, pasid: 1, max_outstanding: 2}\n");
    uint64_t ex, ev;
    both_ways(fmt, t0, t1, &ex, &ev);
    tmpdir_remove(dir);
}
END_TEST

/* Accesses due at one time at one place of the route: a read request
 * carries no payload, so with no header it crosses a link in no time, and
 * a memory without a bandwidth limit answers requests that arrive together
 * at once. The fast path then takes over the accesses in flight in the
 * order their FIFOs hold them (the order they were sent), not in the order
 * of their slots (nic_tx under these keys differed before). */
START_TEST(equal_dues)
{
    /* 16 pages all hits once warm, DMAs all at once; 24 pages through 32
     * entries, 1 ns apart. Slot order failed both */
    static const uint64_t cases[][2] = {{16, 0}, {24, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[256], trace[512], fmt[2048];
        tmpdir_make(dir, sizeof dir);
        snprintf(trace, sizeof trace, "%s/t.bin", dir);
        make_trace(trace, 4000, cases[i][0], 64, cases[i][1], 99);
        snprintf(fmt, sizeof fmt,
                 "kernel: {backend: native}\nsim: {fast_path: %%s}\nfabric: {header_bytes: 0}\n"
                 "memory: {size: 256MiB, latency: 1ns, bandwidth: 0}\n"
                 "processes:\n  app: {pasid: 1, regions: [{va: 0x10000000, size: 4MiB, populate: true}]}\n"
                 "devices:\n  nic0: {trace: %s, pasid: 1, max_outstanding: 8}\n",
                 trace);
        uint64_t ex, ev;
        both_ways(fmt, "", "", &ex, &ev);
        ck_assert(ex * 2 < off_executed); /* the fast path was used */
        tmpdir_remove(dir);
    }
}
END_TEST

/* An unloaded hit, by hand: unlimited bandwidth, so the latency is the
 * lookup (1 cycle at 1 GHz) + 400 + 20 ns there, 90 ns of memory, 20 + 400
 * ns back = 931 ns; the first DMA (a miss) is long over when it starts. */
START_TEST(hand_sum)
{
    char dir[256], trace[512], yaml[2048];
    tmpdir_make(dir, sizeof dir);
    snprintf(trace, sizeof trace, "%s/t.bin", dir);
    make_trace(trace, 2, 1, 64, 100000, 5);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\nsim: {fast_path: on}\nmemory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
             "fabric:\n  links:\n    - {a: nic0, b: iommu, latency: 400ns}\n    - {a: iommu, b: mem, latency: 20ns}\n"
             "    - {a: os, b: mem, latency: 50ns}\n    - {a: os, b: iommu, latency: 50ns}\n"
             "processes:\n  app: {pasid: 1, regions: [{va: 0x10000000, size: 4MiB, populate: true}]}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1, clock: 1GHz, iotlb: {latency: 1}}\n",
             trace);
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), 931000.0);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.hits"), 1.0);
    /* both accesses went to memory on the fast path (the miss's once its
     * translation came back): each ran its completion only, and 2
     * arrivals there, the memory's answer and 1 arrival back were stood
     * in for */
    uint64_t ex = scim_kernel_events_executed(scim_sim_kernel(sim));
    ck_assert_uint_eq((uint64_t)stat_of(sim, "sim.events") - ex, 2 * 4);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fast");
    TCase *tc = tcase_create("fast");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hits_only);
    tcase_add_test(tc, hits_and_misses);
    tcase_add_test(tc, new_pages);
    tcase_add_test(tc, one_at_a_time);
    tcase_add_test(tc, utlb_checker_multipage);
    tcase_add_test(tc, systemc_backend);
    tcase_add_test(tc, two_devices);
    tcase_add_test(tc, equal_dues);
    tcase_add_test(tc, hand_sum);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

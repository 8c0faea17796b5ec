/* The pin and iommu-map schemes against hand-derived sums, the
 * registration cache, strict vs deferred invalidation, and the same trace
 * under every scheme. The safety checker runs in every test.
 *
 * Parts (unlimited bandwidth, 1 GHz clocks), as in test_design.c:
 *   device IOTLB 1 ns; nic0-iommu 400 ns; iommu-mem 20 ns; DRAM 90 ns;
 *   os-iommu 50 ns; IOMMU IOTLB 2 ns, walk caches 3 ns
 * so a device <-> OS message takes 450 ns, an IOMMU memory read 130 ns and
 * a device memory access (descriptor read or data) 930 ns.
 * Driver costs: syscall S = 1 us, pin P = 200 ns, unpin U = 100 ns,
 * IOMMU map M = 300 ns, unmap N = 150 ns, CPU fault F = 1.7 us. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

#define HOP 450.0
#define RT 130.0
#define FAR 930.0
#define S 1000.0
#define P 200.0
#define U 100.0
#define M 300.0
#define N 150.0
#define F 1700.0
/* a cold IOMMU translation: lookup, link, IOTLB, 2 PASID-table reads,
 * walk caches, 4 table reads, link back */
#define XLATE_COLD (1 + 400 + 2 + 2 * RT + 3 + 4 * RT + 400)

static scim_sim *run_scheme(const char *scheme, const char *trace_text, bool populate, const char *os_extra)
{
    char dir[64], path[256], yaml[4096];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "nic.trace", trace_text, path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "scheme: %s\n"
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
             "iommu: {clock: 1GHz, iotlb: {latency: 2}, pwc: {latency: 3}}\n"
             "os: {syscall_cost: 1us, pin_page_cost: 200ns, unpin_page_cost: 100ns, iommu_map_page_cost: 300ns,\n"
             "     iommu_unmap_page_cost: 150ns, cpu_fault_cost: 1700ns%s%s}\n"
             "processes:\n  app:\n    pasid: 1\n    regions:\n"
             "      - {va: 0x10000000, size: 8MiB, populate: %s}\n"
             "fabric:\n  links:\n"
             "    - {a: nic0, b: iommu, latency: 400ns}\n"
             "    - {a: iommu, b: mem, latency: 20ns}\n"
             "    - {a: os, b: iommu, latency: 50ns}\n"
             "    - {a: os, b: mem, latency: 50ns}\n"
             "devices:\n"
             "  nic0: {trace: %s, pasid: 1, clock: 1GHz, iotlb: {latency: 1}}\n",
             scheme, os_extra ? ", " : "", os_extra ? os_extra : "", populate ? "true" : "false", path);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    return sim;
}

/* pin, one read of a present page: the driver pins (S + P) before the
 * device starts; the device reads the page's descriptor, then the data;
 * the unpin (U) follows the completion. */
START_TEST(pin_costs)
{
    scim_sim *sim = run_scheme("pin", "@0 read 0x10003000 64\n", true, NULL);
    double ready = HOP + S + P + HOP;
    double done = ready + FAR + FAR;
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), FAR * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), done * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.desc.reads"), 1);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (S + P + U) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.unpins"), 1);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned_peak"), 1);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    /* pinned from the pin's execution (after S) to the unpin's (after U) */
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned_integral"), ((done + HOP + U) - (HOP + S)) * 1000);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (done + HOP + U + HOP) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.accesses"), 0);
    ck_assert_double_eq(stat_of(sim, "iommu.ats.requests"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* pin of a missing page: get_user_pages faults it in on the CPU (F). */
START_TEST(pin_faults_pages_in)
{
    scim_sim *sim = run_scheme("pin", "@0 write 0x10003000 64\n", false, NULL);
    double ready = HOP + S + F + P + HOP;
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (ready + FAR + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.cpu_faults"), 1);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (S + F + P + U) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* The registration cache: the second I/O to the same page finds it
 * registered and never enters the kernel; the page stays pinned. Two
 * pages, two I/Os each, cache of one page: every I/O evicts the other. */
START_TEST(pin_registration_cache)
{
    scim_sim *sim = run_scheme("pin", "@0 read 0x10003000 64\n@20000 read 0x10003000 64\n", true,
                               "pin: {cache_pages: 4}");
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.pin_cache_hits"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.unpins"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 1);
    /* first: S + P; second: nothing; releases: free */
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (S + P) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), (HOP + HOP + FAR + FAR) * 1000);
    scim_sim_destroy(sim);

    sim = run_scheme("pin",
                     "@0 read 0x10003000 64\n@20000 read 0x10004000 64\n@40000 read 0x10003000 64\n"
                     "@60000 read 0x10004000 64\n",
                     true, "pin: {cache_pages: 1}");
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), 4);
    ck_assert_double_eq(stat_of(sim, "os.io.pin_cache_hits"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.unpins"), 3);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (4 * (S + P) + 3 * U) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 1);
    scim_sim_destroy(sim);
}
END_TEST

/* munmap of a registered (pinned) page succeeds, as in Linux: the frame
 * outlives the mapping and is freed when the registration cache lets go
 * of it; a new mapping of the address gets a new frame and registration. */
START_TEST(pin_survives_munmap)
{
    scim_sim *sim = run_scheme("pin",
                               "@0 write 0x10003000 64\n@20000 munmap 0x10003000 4096\n"
                               "@40000 mmap 0x10003000 4096\n@60000 write 0x10003000 64\n",
                               true, "pin: {cache_pages: 1}");
    ck_assert_double_eq(stat_of(sim, "os.ops.munmap"), 1);
    ck_assert_double_eq(stat_of(sim, "os.ops.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), 2);
    ck_assert_double_eq(stat_of(sim, "os.io.pin_cache_hits"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.unpins"), 1);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 1);
    scim_frame_counts fc;
    ck_assert_int_eq(scim_sim_frames(sim, &fc), 0);
    ck_assert_uint_eq(fc.transit, 0); /* the orphaned frame was freed at its unpin */
    ck_assert_uint_eq(fc.total, fc.free + fc.data + fc.page_tables + fc.pasid_table + fc.deferred + fc.transit +
                                    fc.reserved);
    scim_sim_destroy(sim);
}
END_TEST

/* iommu-map, strict: map (S + M), a cold translation in the device's I/O
 * address space, the data; the unmap (N) then invalidates and waits, the
 * driver's CPU spinning meanwhile. No stale window. */
START_TEST(iommu_map_strict_costs)
{
    scim_sim *sim = run_scheme("iommu-map", "@0 read 0x10003000 64\n", true, NULL);
    double ready = HOP + S + M + HOP;
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), XLATE_COLD * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (ready + XLATE_COLD + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.io.maps"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.unmaps"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    double sd = stat_of(sim, "os.shootdown.latency.max");
    ck_assert(sd > 0);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (S + M + N) * 1000 + sd);
    ck_assert_double_eq(stat_of(sim, "os.op.latency.max"), N * 1000 + sd);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.count"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.max"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.exposed_dmas"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), 1);
    scim_sim_destroy(sim);
}
END_TEST

/* iommu-map, deferred: the unmap returns after N; the flush comes
 * flush_interval later, so a stale entry could be used from the unmap to
 * the flush's completion; a DMA issued meanwhile is counted as exposed. */
START_TEST(iommu_map_deferred_window)
{
    scim_sim *sim = run_scheme("iommu-map", "@0 read 0x10003000 64\n@8000 read 0x10005000 64\n", true,
                               "iommu_map: {mode: deferred, flush_interval: 20us}");
    double sd = stat_of(sim, "os.shootdown.latency.max");
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.count"), 2);
    /* the first page waited the whole interval, then the flush */
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.max"), 20000 * 1000 + sd);
    ck_assert(stat_of(sim, "os.io.stale_window.min") > 0);
    ck_assert_double_eq(stat_of(sim, "nic0.exposed_dmas"), 1);
    /* the flush's initiator waits for its completion too */
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 2 * (S + M + N) * 1000 + sd);
    ck_assert_double_eq(stat_of(sim, "os.op.latency.max"), (S + M) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* Deferred flushes at flush_entries pages without waiting for the timer. */
START_TEST(iommu_map_deferred_batch)
{
    scim_sim *sim = run_scheme("iommu-map",
                               "@0 read 0x10003000 64\n@8000 read 0x10004000 64\n@16000 read 0x10005000 64\n"
                               "@24000 read 0x10006000 64\n",
                               true, "iommu_map: {mode: deferred, flush_entries: 2, flush_interval: 1s}");
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 2);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.count"), 4);
    ck_assert(stat_of(sim, "os.io.stale_window.max") < 1e9); /* never the 1 s timer */
    scim_sim_destroy(sim);
}
END_TEST

/* The same trace, unchanged, under the three schemes under memory
 * pressure: every DMA completes, the checker sees no violation, frames
 * balance, and the costs rank as the schemes' designs say. */
START_TEST(same_trace_every_scheme)
{
    char trace[1 << 16];
    size_t len = 0;
    for (int i = 0; i < 256; i++)
        len += (size_t)snprintf(trace + len, sizeof trace - len, "+500 write 0x%x 2048\n",
                                0x10000000 + (i % 128) * 4096);
    static const char *const schemes[3] = {"scimitar", "pin", "iommu-map"};
    double busy[3];
    for (int s = 0; s < 3; s++) {
        scim_sim *sim = run_scheme(schemes[s], trace, false, NULL);
        ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 256);
        ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
        ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
        scim_frame_counts fc;
        ck_assert_int_eq(scim_sim_frames(sim, &fc), 0);
        ck_assert_uint_eq(fc.total, fc.free + fc.data + fc.page_tables + fc.pasid_table + fc.deferred +
                                        fc.transit + fc.reserved);
        busy[s] = stat_of(sim, "os.busy_ps");
        if (s == 0)
            ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 128);
        else
            ck_assert_double_eq(stat_of(sim, "os.cpu_faults"), 128);
        scim_sim_destroy(sim);
    }
    /* per-I/O driver work costs more than one fault per page */
    ck_assert(busy[1] > busy[0]);
    ck_assert(busy[2] > busy[1]);
}
END_TEST

/* iommu-map: a device write to a page that an in-flight device read has
 * mapped read-only (one entry at IOVA = va) gets the write right too. */
START_TEST(iommu_map_mixed_directions)
{
    scim_sim *sim = run_scheme("iommu-map", "@0 read 0x10003000 100\n@0 write 0x10003100 100\n", true, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 2);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.maps"), 2);
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(scheme_config_errors)
{
    char msg[1024];
    const char *yaml = "scheme: iommu-map\n"
                       "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 1MiB}]}}\n"
                       "devices:\n  nic0: {trace: /dev/null, pasid: 1, walk: device}\n";
    ck_assert_int_ne(build_yaml(yaml, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "expected walk: iommu") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, ":4:") != NULL, "%s", msg);
    ck_assert_int_ne(build_yaml("scheme: pinned\n", msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "iommu-map") != NULL, "%s", msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schemes");
    TCase *tc = tcase_create("schemes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pin_costs);
    tcase_add_test(tc, pin_faults_pages_in);
    tcase_add_test(tc, pin_registration_cache);
    tcase_add_test(tc, pin_survives_munmap);
    tcase_add_test(tc, iommu_map_strict_costs);
    tcase_add_test(tc, iommu_map_deferred_window);
    tcase_add_test(tc, iommu_map_deferred_batch);
    tcase_add_test(tc, iommu_map_mixed_directions);
    tcase_add_test(tc, same_trace_every_scheme);
    tcase_add_test(tc, scheme_config_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

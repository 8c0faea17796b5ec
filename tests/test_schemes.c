/* The pin and iommu-map schemes against hand-derived sums, the
 * registration cache, strict vs deferred invalidation, and the same trace
 * under every scheme. The safety checker runs in every test. The parts
 * and costs (S, P, U, L, M, N, A, R, F, HOP, FAR) are those of
 * helpers/schemerig.h; one driver context unless a test says otherwise.
 * The host posts an I/O at its record's time and rings the device's
 * doorbell (HOP) once it is prepared; the release is a message from the
 * device (HOP). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/schemerig.h"

static scim_sim *run_scheme(const char *scheme, const char *trace_text, bool populate, const char *pin,
                            const char *map)
{
    scheme_case c = {.scheme = scheme, .trace = trace_text, .populate = populate, .pin = pin, .map = map};
    return scheme_run(&c);
}

/* pin, one read of a present page: the host pins (S + P) and rings the
 * doorbell; the device reads the page's descriptor, then the data; the
 * unpin (U) follows the completion's message. */
START_TEST(pin_costs)
{
    scim_sim *sim = run_scheme("pin", "@0 read 0x10003000 64\n", true, NULL, NULL);
    double ready = S + P + HOP;
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
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned_integral"), ((done + HOP + U) - S) * 1000);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (done + HOP + U + HOP) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.accesses"), 0);
    ck_assert_double_eq(stat_of(sim, "iommu.ats.requests"), 0);
    /* posting is the host's: the only OS request on the fabric is the release */
    ck_assert_double_eq(stat_of(sim, "fabric.sent.os_req"), 1);
    ck_assert_double_eq(stat_of(sim, "fabric.sent.doorbell"), 1);
    scim_sim_destroy(sim);
}
END_TEST

/* pin of a missing page: get_user_pages faults it in on the CPU (F). */
START_TEST(pin_faults_pages_in)
{
    scim_sim *sim = run_scheme("pin", "@0 write 0x10003000 64\n", false, NULL, NULL);
    double ready = S + F + P + HOP;
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (ready + FAR + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.cpu_faults"), 1);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (S + F + P + U) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* The registration cache: the second I/O to the same page finds it
 * registered by a lookup in user space (L) and never enters the kernel;
 * the page stays pinned. Two pages, two I/Os each, cache of one page:
 * every I/O evicts the other. */
START_TEST(pin_registration_cache)
{
    scim_sim *sim = run_scheme("pin", "@0 read 0x10003000 64\n@20000 read 0x10003000 64\n", true,
                               "cache_pages: 4", NULL);
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.pin_cache_hits"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.unpins"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 1);
    /* first: L + S + P; second: L; releases: free */
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (L + S + P + L) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), (L + HOP + FAR + FAR) * 1000);
    scim_sim_destroy(sim);

    sim = run_scheme("pin",
                     "@0 read 0x10003000 64\n@20000 read 0x10004000 64\n@40000 read 0x10003000 64\n"
                     "@60000 read 0x10004000 64\n",
                     true, "cache_pages: 1", NULL);
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), 4);
    ck_assert_double_eq(stat_of(sim, "os.io.pin_cache_hits"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.unpins"), 3);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (4 * (L + S + P) + 3 * U) * 1000);
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
                               true, "cache_pages: 1", NULL);
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

/* iommu-map, strict: map (S + A + M), a cold translation in the device's
 * I/O address space, the data; the unmap (N + R) then invalidates and
 * waits, the driver's CPU spinning meanwhile. No stale window. */
START_TEST(iommu_map_strict_costs)
{
    scim_sim *sim = run_scheme("iommu-map", "@0 read 0x10003000 64\n", true, NULL, NULL);
    double ready = S + A + M + HOP;
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), XLATE_COLD * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (ready + XLATE_COLD + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.io.maps"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.unmaps"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    double sd = stat_of(sim, "os.shootdown.latency.max");
    ck_assert(sd > 0);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (S + A + M + N + R) * 1000 + sd);
    ck_assert_double_eq(stat_of(sim, "os.op.latency.max"), (N + R) * 1000 + sd);
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
    scim_sim *sim = run_scheme("iommu-map", "@0 read 0x10003000 64\n@8000 read 0x10005000 64\n", true, NULL,
                               "mode: deferred, flush_interval: 20us");
    double sd = stat_of(sim, "os.shootdown.latency.max");
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.count"), 2);
    /* the first page waited the whole interval, then the flush */
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.max"), 20000 * 1000 + sd);
    ck_assert(stat_of(sim, "os.io.stale_window.min") > 0);
    ck_assert_double_eq(stat_of(sim, "nic0.exposed_dmas"), 1);
    /* the flush's initiator waits for its completion too */
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 2 * (S + A + M + N + R) * 1000 + sd);
    ck_assert_double_eq(stat_of(sim, "os.op.latency.max"), (S + A + M) * 1000);
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
                               true, NULL, "mode: deferred, flush_entries: 2, flush_interval: 1s");
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
        scim_sim *sim = run_scheme(schemes[s], trace, false, NULL, NULL);
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
    scim_sim *sim = run_scheme("iommu-map", "@0 read 0x10003000 100\n@0 write 0x10003100 100\n", true, NULL, NULL);
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

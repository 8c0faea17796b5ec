/* The baselines as real drivers run them, against hand-derived sums: a
 * device without an ATC (ats: false) translated inline by the IOMMU and
 * never sent a device-TLB invalidation; Linux's flush queue (entries per
 * context, or the timer); a registration-cache hit that costs a lookup and
 * no round trip; static rings with no per-I/O work; driver contexts that
 * prepare in parallel; the SMMUv3-style stall under scheme scimitar. The
 * parts and costs (S, P, U, L, M, N, A, R, F, HOP, RT, FAR) are those of
 * helpers/schemerig.h; the checker runs in every test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/schemerig.h"

/* An inline translation by the IOMMU for a device without an ATC: the
 * device's link, the IOMMU IOTLB lookup, then on a miss 2 PASID-table
 * reads, the walk caches and 4 table reads; then the access at memory
 * (RT) and the link back. No ATS round trip. */
#define INLINE_COLD (400 + 2 + 2 * RT + 3 + 4 * RT + RT + 400)
#define INLINE_HIT (400 + 2 + RT + 400)
/* A strict unmap's invalidation without a device TLB: OS -> IOMMU, the
 * IOMMU's descriptor (iommu.inv_latency, default 570 ns), back. */
#define INV_IOMMU (50 + 570 + 50)
/* ... and with an ATS device: the device-TLB invalidation (default 3 us)
 * over its link, both ways. */
#define INV_ATS (50 + 570 + 400 + 3000 + 400 + 50)

/* iommu-map, strict, a device without an ATC: the map, an inline cold
 * translation, the data; the unmap's invalidation is the IOMMU's alone. */
START_TEST(no_ats_never_invalidated)
{
    scheme_case c = {.scheme = "iommu-map", .trace = "@0 read 0x10003000 64\n", .populate = true,
                     .device = "ats: false"};
    scim_sim *sim = scheme_run(&c);
    double ready = S + A + M + HOP;
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (ready + INLINE_COLD) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), 0);
    ck_assert_double_eq(stat_of(sim, "iommu.dev_invalidations"), 0);
    ck_assert_double_eq(stat_of(sim, "iommu.invalidations"), 1); /* the IOMMU still processes the descriptor */
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdown.latency.max"), INV_IOMMU * 1000);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (S + A + M + N + R + INV_IOMMU) * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.inline.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.ats.requests"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.accesses"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.requests"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    scim_sim_destroy(sim);

    /* the same with an ATS device: a device-TLB invalidation, waited for */
    c.device = NULL;
    sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (ready + XLATE_COLD + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.dev_invalidations"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdown.latency.max"), INV_ATS * 1000);
    scim_sim_destroy(sim);
}
END_TEST

/* A ring mapped once: the first DMA walks, the second hits the IOMMU's
 * IOTLB: the device's link both ways, the lookup and the access, nothing
 * else. No driver work either. */
START_TEST(no_ats_iotlb_hit)
{
    char trace[128];
    snprintf(trace, sizeof trace, "@0 read 0x%x 64\n@10000 write 0x%x 64\n", RING, RING + 64);
    scheme_case c = {.scheme = "iommu-map", .trace = trace, .populate = true, .ring = true, .device = "ats: false"};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), INLINE_COLD * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), INLINE_HIT * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.inline.latency.min"), 2 * 1000); /* the IOTLB lookup */
    ck_assert_double_eq(stat_of(sim, "iommu.iotlb.hits"), 1);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.static"), 2);
    ck_assert_double_eq(stat_of(sim, "os.io.maps"), 0);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* `count` reads of distinct present pages, `per` at a time every 6 us. */
static char *trace_of_pages(unsigned count, unsigned per)
{
    size_t cap = 64 * (size_t)count + 1, len = 0;
    char *t = malloc(cap);
    ck_assert_ptr_nonnull(t);
    for (unsigned i = 0; i < count; i++)
        len += (size_t)snprintf(t + len, cap - len, "@%u read 0x%x 64\n", (i / per) * 6000, 0x10000000 + i * 4096);
    return t;
}

/* Linux's flush queue with its constants (256 entries, 10 ms): the 256th
 * unmap of one context flushes at once (its page's window is the
 * invalidation alone); the 257th page waits for the timer. */
START_TEST(flush_queue_entries_and_timer)
{
    char *trace = trace_of_pages(257, 1);
    scheme_case c = {.scheme = "iommu-map", .trace = trace, .populate = true, .map = "mode: deferred",
                     .device = "ats: false"};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 2);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 2);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.count"), 257);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.min"), INV_IOMMU * 1000);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.max"), 10e9 + INV_IOMMU * 1000);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    scim_sim_destroy(sim);
    free(trace);

    /* 255 unmaps: never full; one flush, by the timer */
    trace = trace_of_pages(255, 1);
    c.trace = trace;
    sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 1);
    ck_assert(stat_of(sim, "os.io.stale_window.min") > INV_IOMMU * 1000);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.max"), 10e9 + INV_IOMMU * 1000);
    scim_sim_destroy(sim);
    free(trace);
}
END_TEST

/* The unmap that fills its context's queue waits for the flush; the others
 * answer at once. Cheap preparations (100 ns syscall, no per-page map) so
 * that the unmaps have the longest operations: N + R without the flush,
 * N + R + the invalidation with it. An entry is an unmap call, whatever
 * its pages: two 2-page unmaps fill a queue of 2. */
START_TEST(flush_queue_filling_unmap_waits)
{
    scheme_case c = {.scheme = "iommu-map", .trace = "@0 read 0x10003000 8192\n@20000 read 0x10006000 8192\n",
                     .populate = true, .map = "mode: deferred, flush_entries: 2, flush_interval: 1s",
                     .device = "ats: false",
                     .costs = "syscall_cost: 100ns, iommu_map_page_cost: 0ns, iommu_unmap_page_cost: 150ns"};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.unmaps"), 4);
    ck_assert_double_eq(stat_of(sim, "os.op.latency.count"), 4);
    ck_assert_double_eq(stat_of(sim, "os.op.latency.max"), (2 * N + R + INV_IOMMU) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.op.latency.min"), (100 + A) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.min"), INV_IOMMU * 1000);
    scim_sim_destroy(sim);
}
END_TEST

/* The queue is per context (per CPU): 400 unmaps split over two contexts
 * never fill either queue, so only the timer flushes. */
START_TEST(flush_queue_per_context)
{
    char *trace = trace_of_pages(400, 2);
    scheme_case c = {.scheme = "iommu-map", .trace = trace, .populate = true, .queues = 2,
                     .map = "mode: deferred", .device = "ats: false"};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "os.io.flushes"), 1);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.count"), 400);
    ck_assert_double_eq(stat_of(sim, "os.io.stale_window.max"), 10e9 + INV_IOMMU * 1000);
    scim_sim_destroy(sim);
    free(trace);
}
END_TEST

/* A registration-cache hit costs the user-space lookup and the doorbell;
 * posting never sends a message from the device (only the releases are
 * messages). A miss pays the kernel's pin path, faulting in included. */
START_TEST(registration_hit_is_a_lookup)
{
    scheme_case c = {.scheme = "pin", .trace = "@0 read 0x10003000 64\n@20000 read 0x10003000 64\n",
                     .populate = false, .pin = "cache_pages: 16"};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (L + S + F + P + HOP + 2 * FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), (L + HOP + 2 * FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (L + S + F + P + L) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.io.pin_cache_hits"), 1);
    ck_assert_double_eq(stat_of(sim, "fabric.sent.os_req"), 2); /* the two releases */
    ck_assert_double_eq(stat_of(sim, "fabric.sent.doorbell"), 2);
    scim_sim_destroy(sim);
}
END_TEST

/* DMAs inside a static ring need no driver work under either scheme:
 * pin gives the device the ring's addresses at bind (no descriptor read),
 * iommu-map maps it once. */
START_TEST(static_ring_no_per_io_work)
{
    char trace[160];
    snprintf(trace, sizeof trace, "@0 read 0x%x 16\n@5000 write 0x%x 16\n@10000 read 0x%x 16\n", RING,
             RING + 0x1000, RING + 0x10);
    scheme_case c = {.scheme = "pin", .trace = trace, .populate = true, .ring = true};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), FAR * 1000);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.static"), 3);
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.desc.reads"), 0);
    ck_assert_double_eq(stat_of(sim, "fabric.sent.os_req"), 0);
    ck_assert_double_eq(stat_of(sim, "fabric.sent.doorbell"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 16); /* the ring, pinned for good */
    scim_sim_destroy(sim);

    c.scheme = "iommu-map";
    sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (XLATE_COLD + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), (1 + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.maps"), 0);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 0);
    ck_assert_double_eq(stat_of(sim, "fabric.sent.os_req"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* Four I/Os posted at once on four contexts prepare in parallel: each is
 * ready after one preparation; on one context the last waits for all. */
START_TEST(queues_prepare_in_parallel)
{
    const char *trace = "@0 read 0x10003000 64\n@0 read 0x10004000 64\n@0 read 0x10005000 64\n"
                        "@0 read 0x10006000 64\n";
    scheme_case c = {.scheme = "pin", .trace = trace, .populate = true, .queues = 4};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (S + P + HOP + 2 * FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), (S + P + HOP + 2 * FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 4 * (S + P + U) * 1000);
    scim_sim_destroy(sim);

    c.queues = 1;
    sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (4 * (S + P) + HOP + 2 * FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), (S + P + HOP + 2 * FAR) * 1000);
    scim_sim_destroy(sim);
}
END_TEST

/* Scheme scimitar, no ATC: a DMA to a missing page stalls in the IOMMU,
 * which asks the OS for the page itself (not through the PRQ) and
 * translates again; the next DMA to the page hits the IOMMU's IOTLB. */
START_TEST(no_ats_stall_under_scimitar)
{
    scheme_case c = {.scheme = "scimitar", .trace = "@0 write 0x10003000 64\n@100000 write 0x10003040 64\n",
                     .populate = false, .device = "ats: false"};
    scim_sim *sim = scheme_run(&c);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "iommu.inline.faults"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.prq.requests"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.requests"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.min"), INLINE_HIT * 1000);
    ck_assert(stat_of(sim, "nic0.dma.latency.max") > (INLINE_COLD + 3000) * 1000); /* the OS's fault cost */
    scim_sim_destroy(sim);
}
END_TEST

START_TEST(baseline_config_errors)
{
    char msg[1024];
    scheme_case c = {.scheme = "scimitar", .trace = "", .device = "ats: false, walk: device"};
    ck_assert_int_ne(scheme_build(&c, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "expected walk: iommu") && strstr(msg, "ats: false"), "%s", msg);
    c.device = "ats: false, fault_policy: retry";
    ck_assert_int_ne(scheme_build(&c, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "expected fault_policy: stall"), "%s", msg);
    const char *yaml = "scheme: pin\n"
                       "processes:\n  app:\n    pasid: 1\n    regions:\n"
                       "      - {va: 0x10000000, size: 64KiB, static_dma: true}\n"
                       "devices:\n  nic0: {trace: /dev/null, pasid: 1}\n";
    ck_assert_int_ne(build_yaml(yaml, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "add populate: true") && strstr(msg, ":6:"), "%s", msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("baselines");
    TCase *tc = tcase_create("baselines");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, no_ats_never_invalidated);
    tcase_add_test(tc, no_ats_iotlb_hit);
    tcase_add_test(tc, flush_queue_entries_and_timer);
    tcase_add_test(tc, flush_queue_filling_unmap_waits);
    tcase_add_test(tc, flush_queue_per_context);
    tcase_add_test(tc, registration_hit_is_a_lookup);
    tcase_add_test(tc, static_ring_no_per_io_work);
    tcase_add_test(tc, queues_prepare_in_parallel);
    tcase_add_test(tc, no_ats_stall_under_scimitar);
    tcase_add_test(tc, baseline_config_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

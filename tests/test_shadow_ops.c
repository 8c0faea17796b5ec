/* Walk placement shadow under the OS's own operations: two devices keep
 * copies of one PASID's tables, a third one of another PASID's. An munmap
 * (a shootdown) and an mmap with populate (an answer) each send their
 * entries to both copies of the PASID, and only to them, before going on;
 * a cleared entry (0) removes the copy's, so both devices' later DMAs to
 * the unmapped pages fail instead of using a stale translation (the
 * checker runs), while the newly mapped page is found in the copy without
 * a fault. Entry counts are worked out in the comments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

/* 4-level x86-64 paging. app (pasid 1): 0x10000000, 64 KiB, populated
 * before the run (the copies start from a snapshot, no sync); other
 * (pasid 2): 0x40000000, 4 KiB.
 *   nic0 @20 us munmap 0x10000000 8 KiB: 2 leaf entries cleared (the page
 *        table keeps 14 pages: no table freed): 1 sync of 2 entries to
 *        each of nic0 and nic1, before the shootdown
 *   nic0 @40 us mmap 0x20000000 4 KiB populate: 512 MiB is in the same
 *        PML4 and PDPT entries as 256 MiB but another PD entry: a new
 *        page table (the PD entry) and its leaf, 2 entries, 1 sync each
 *   at 100 us both read pages 0-3 and nic1 the new page. */
static const char *const NIC0 = "@0 read 0x10000000 64\n@0 read 0x10001000 64\n@0 read 0x10002000 64\n"
                                "@0 read 0x10003000 64\n@20000 munmap 0x10000000 0x2000\n"
                                "@40000 mmap 0x20000000 0x1000 populate=1\n"
                                "@100000 read 0x10000000 64\n@100000 read 0x10001000 64\n"
                                "@100000 read 0x10002000 64\n@100000 read 0x10003000 64\n";
static const char *const NIC1 = "@0 read 0x10000000 64\n@0 read 0x10001000 64\n@0 read 0x10002000 64\n"
                                "@0 read 0x10003000 64\n"
                                "@100000 read 0x10000000 64\n@100000 read 0x10001000 64\n"
                                "@100000 read 0x10002000 64\n@100000 read 0x10003000 64\n"
                                "@100000 read 0x20000000 64\n";
static const char *const NIC2 = "@0 read 0x40000000 64\n@100000 read 0x40000000 64\n";

START_TEST(shadow_copies_follow_the_os)
{
    char dir[64], p0[256], p1[256], p2[256], yaml[2048];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "nic0.trace", NIC0, p0, sizeof p0);
    write_file(dir, "nic1.trace", NIC1, p1, sizeof p1);
    write_file(dir, "nic2.trace", NIC2, p2, sizeof p2);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "processes:\n"
             "  app: {pasid: 1, regions: [{va: 0x10000000, size: 64KiB, populate: true}]}\n"
             "  other: {pasid: 2, regions: [{va: 0x40000000, size: 4KiB, populate: true}]}\n"
             "devices:\n"
             "  nic0: {trace: %s, pasid: 1, walk: shadow}\n"
             "  nic1: {trace: %s, pasid: 1, walk: shadow}\n"
             "  nic2: {trace: %s, pasid: 2, walk: shadow}\n",
             p0, p1, p2);
    scim_sim *sim = run_yaml(yaml);
    /* 2 operations x 2 copies */
    ck_assert_double_eq(stat_of(sim, "os.shadow.syncs"), 4);
    ck_assert_double_eq(stat_of(sim, "nic0.shadow.syncs"), 2 + 2);
    ck_assert_double_eq(stat_of(sim, "nic1.shadow.syncs"), 2 + 2);
    ck_assert_double_eq(stat_of(sim, "nic2.shadow.syncs"), 0);
    /* the unmapped pages fail on both devices; nothing else does */
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 8);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 2);
    ck_assert_double_eq(stat_of(sim, "nic1.dma.requests"), 9);
    ck_assert_double_eq(stat_of(sim, "nic1.dma.errors"), 2);
    ck_assert_double_eq(stat_of(sim, "nic2.dma.errors"), 0);
    /* a page missing from the copy is a page request, which the OS answers
     * with an error for the 2 unmapped pages; the new page was in nic1's
     * copy: no fault for it */
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 2);
    ck_assert_double_eq(stat_of(sim, "nic1.faults"), 2);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* walk: device with one walker and a walk queue of 1: eight misses at
 * once, so six wait in the device (held walks) for room in the queue.
 * They must run in the order they came, exactly as an unbounded queue
 * (walk_queue: 0) runs them: the same times. */
static const char *const SAME[] = {"sim.time_ps", "nic0.dma.latency.max", "nic0.dma.latency.mean",
                                   "nic0.dma.latency.min", "nic0.translation.latency.max",
                                   "nic0.translation.latency.mean", "nic0.translation.latency.min"};
#define N_SAME (sizeof SAME / sizeof *SAME)

static void times_with_queue(const char *trace, int queue, double *out)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "processes:\n  app: {pasid: 1, regions: [{va: 0x10000000, size: 64KiB, populate: true}]}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1, walk: device, walkers: 1, walk_queue: %d, max_outstanding: 8}\n",
             trace, queue);
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 8);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    for (size_t i = 0; i < N_SAME; i++)
        out[i] = stat_of(sim, SAME[i]);
    scim_sim_destroy(sim);
}

START_TEST(held_walks_keep_their_order)
{
    char dir[64], trace[256], text[512] = "";
    tmpdir_make(dir, sizeof dir);
    for (int i = 0; i < 8; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "@0 read 0x%x 64\n", 0x10000000 + i * 0x1000);
    write_file(dir, "t.trace", text, trace, sizeof trace);
    double held[N_SAME], queued[N_SAME];
    times_with_queue(trace, 1, held);
    times_with_queue(trace, 0, queued);
    for (size_t i = 0; i < N_SAME; i++)
        ck_assert_msg(held[i] == queued[i], "%s: %.0f with walks held, %.0f queued", SAME[i], held[i], queued[i]);
    /* one walker: the walks did wait (the slowest DMA waited for 7 walks before its own) */
    ck_assert_double_gt(held[1], 7 * held[6]);
    tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shadow_ops");
    TCase *tc = tcase_create("shadow");
    tcase_add_test(tc, shadow_copies_follow_the_os);
    tcase_add_test(tc, held_walks_keep_their_order);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* OS operations of a trace when the simulated memory is full (docs/os.md):
 * a migrate moves what fits (one page per free frame, the others stay),
 * a pin that must fault pages in and cannot is refused all or nothing
 * (no pin left behind), and a page pinned, unmapped, mapped again and
 * pinned again holds two pins on two frames that two unpins by address
 * release (both frames free at the end, as in a run without the pins).
 * A device's page fault on a full memory: a 4 KiB page whose zeroed frame
 * took the last free one waits for reclaim to free a page-table frame,
 * then completes; a 2 MiB page, which reclaim does not make room for,
 * stops the run with SCIM_ENOMEM and says what to raise.
 * Expected values come from a reference run of the same model without the
 * operation (the free frames it leaves), not from the model's own
 * accounting of the operation. The checker is on throughout. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

/* 1 MiB of memory, almost all of it populated at 0x10000000; a second,
 * empty region at 0x20000000 (its pages need frames, and a table).
 * Reclaim off: it would free frames when they run low. */
static const char *const FULL = "seed: 1\n"
                                "sim: {check_invariants: true}\n"
                                "kernel: {backend: native}\n"
                                "os: {reclaim: {low_watermark: 0, high_watermark: 0}}\n"
                                "memory: {size: %s}\n"
                                "processes:\n"
                                "  app:\n"
                                "    pasid: 1\n"
                                "    regions:\n"
                                "      - {va: 0x10000000, size: %s, populate: true}\n"
                                "      - {va: 0x20000000, size: 64KiB}\n"
                                "cpus:\n"
                                "  cpu0: {trace: %s, pasid: 1}\n";

static scim_sim *run_with(const char *memory, const char *populated, const char *trace)
{
    char dir[64], path[256], yaml[1024];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, FULL, memory, populated, path);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    return sim;
}

/* 8 pages to migrate and F < 8 free frames (F measured without the
 * migrate): F pages move, each to a free frame, its old frame freed once
 * the shootdown is over, so F frames are free again at the end. */
START_TEST(migrate_moves_what_fits)
{
    scim_sim *ref = run_with("1MiB", "968KiB", "@0 read 0x10000000 64\n@1000 read 0x10000040 64\n");
    double free_frames = stat_of(ref, "os.frames.free");
    ck_assert_msg(free_frames >= 1 && free_frames < 8, "the reference leaves %.0f frames free", free_frames);
    scim_sim *sim = run_with("1MiB", "968KiB", "@0 read 0x10000000 64\n@1000 migrate 0x10000000 0x8000\n");
    ck_assert_double_eq(stat_of(sim, "os.ops.migrate"), 1);
    ck_assert_double_eq(stat_of(sim, "os.pages_migrated"), free_frames);
    ck_assert_double_eq(stat_of(sim, "os.frames.free"), free_frames);
    ck_assert_double_eq(stat_of(sim, "os.frames.transit"), 0);
    ck_assert_double_eq(stat_of(sim, "os.ops.errors"), 0);
    scim_sim_destroy(ref);
    scim_sim_destroy(sim);
}
END_TEST

/* A pin of 16 empty pages with fewer free frames: refused (the core
 * counts one OS error), no pin stays, and the read after it completes. */
START_TEST(pin_that_cannot_fault_in_is_refused)
{
    scim_sim *sim = run_with("1MiB", "968KiB",
                             "@0 read 0x10000000 64\n"
                             "@1000 pin 0x20000000 0x10000\n"
                             "@2000 read 0x10000040 64\n");
    ck_assert_double_eq(stat_of(sim, "os.ops.pin"), 1);
    ck_assert_double_eq(stat_of(sim, "os.ops.errors"), 1);
    ck_assert_double_eq(stat_of(sim, "cpu0.os_errors"), 1);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.latency.count"), 2);
    scim_sim_destroy(sim);
}
END_TEST

/* Pinned, unmapped (the frame stays pinned, in transit), mapped again
 * (populated: a new frame) and pinned again: two frames pinned at one
 * address. The first unpin releases the frame pinned there first (no
 * longer mapped: freed), the second the mapped one. At the end nothing
 * is pinned or in transit and as many frames are free as in the same
 * run without the pins. */
START_TEST(pinned_unmapped_remapped_pinned)
{
    const char *ops = "@0 read 0x10000000 64\n"
                      "@1000 pin 0x20000000 0x1000\n"
                      "@2000 munmap 0x20000000 0x1000\n"
                      "@3000 mmap 0x20000000 0x1000 prot=rw populate=1\n"
                      "@4000 pin 0x20000000 0x1000\n"
                      "@5000 unpin 0x20000000 0x1000\n"
                      "@6000 unpin 0x20000000 0x1000\n"
                      "@7000 read 0x20000000 64\n";
    const char *no_pins = "@0 read 0x10000000 64\n"
                          "@1000 read 0x20000000 8\n"
                          "@2000 munmap 0x20000000 0x1000\n"
                          "@3000 mmap 0x20000000 0x1000 prot=rw populate=1\n"
                          "@7000 read 0x20000000 64\n";
    scim_sim *sim = run_with("16MiB", "64KiB", ops);
    scim_sim *ref = run_with("16MiB", "64KiB", no_pins);
    ck_assert_double_eq(stat_of(sim, "os.ops.pin"), 2);
    ck_assert_double_eq(stat_of(sim, "os.ops.unpin"), 2);
    ck_assert_double_eq(stat_of(sim, "os.ops.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned_peak"), 2);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.transit"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.free"), stat_of(ref, "os.frames.free"));
    scim_sim_destroy(sim);
    scim_sim_destroy(ref);
}
END_TEST

/* A device instead of the core; regions: the populated one's size, then
 * the second region's page size. */
static const char *const DEV = "seed: 1\n"
                               "sim: {check_invariants: true}\n"
                               "kernel: {backend: native}\n"
                               "memory: {size: %s}\n"
                               "processes:\n"
                               "  app:\n"
                               "    pasid: 1\n"
                               "    regions:\n"
                               "      - {va: 0x10000000, size: %s, populate: true}\n"
                               "      - {va: 0x40000000, size: 2MiB, page_size: %s}\n"
                               "devices:\n"
                               "  nic0: {trace: %s, pasid: 1}\n";

static scim_sim *build_dev(const char *memory, const char *populated, const char *page, const char *trace,
                           char *dir)
{
    char path[256], yaml[1024];
    tmpdir_make(dir, 64);
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, DEV, memory, populated, page, path);
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, yaml, "full.yaml"), 0);
    ck_assert_msg(scim_sim_build(sim) == 0, "%s", scim_sim_errmsg(sim));
    return sim;
}

/* One free frame (measured by a run that reads only a populated page):
 * the fault's new page takes it to be zeroed; its page-table frame (the
 * first page at 0x40000000 needs a table of its own) is not there, so the
 * fault waits (os.faults.waited) until reclaim frees frames, and the DMA
 * completes. */
START_TEST(fault_waits_for_a_table_frame)
{
    char dir[64];
    scim_sim *ref = build_dev("1MiB", "980KiB", "4K", "@0 read 0x10000000 64\n", dir);
    ck_assert_int_eq(scim_sim_run(ref), 0);
    ck_assert_double_eq(stat_of(ref, "os.frames.free"), 1);
    scim_sim_destroy(ref);
    tmpdir_remove(dir);
    scim_sim *sim = build_dev("1MiB", "980KiB", "4K", "@0 read 0x10000000 64\n@1000 read 0x40000000 64\n", dir);
    ck_assert_msg(scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_double_eq(stat_of(sim, "os.faults.waited"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 2);
    ck_assert_double_eq(stat_of(sim, "os.frames.transit"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.data") + stat_of(sim, "os.frames.page_tables") +
                            stat_of(sim, "os.frames.pasid_table") + stat_of(sim, "os.frames.free"),
                        255);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* 4 MiB of memory, half of it populated: no 2 MiB block is left whole
 * (the page tables took a frame of the other half). */
START_TEST(huge_fault_without_a_block)
{
    char dir[64];
    scim_sim *sim = build_dev("4MiB", "2MiB", "2M", "@0 read 0x40000000 64\n", dir);
    ck_assert_int_eq(scim_sim_run(sim), SCIM_ENOMEM);
    const char *msg = scim_sim_errmsg(sim);
    ck_assert_msg(strstr(msg, "fault at pasid 1 va 0x40000000 could not be resolved: out of simulated memory: no "
                              "free block of order 9 (2048 KiB)") != NULL,
                  "%s", msg);
    ck_assert_msg(strstr(msg, "; huge pages are not reclaimed: raise memory.size") != NULL, "%s", msg);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

static Suite *os_full_suite(void)
{
    Suite *s = suite_create("os_full");
    TCase *tc = tcase_create("ops");
    tcase_add_test(tc, migrate_moves_what_fits);
    tcase_add_test(tc, pin_that_cannot_fault_in_is_refused);
    tcase_add_test(tc, pinned_unmapped_remapped_pinned);
    tcase_add_test(tc, fault_waits_for_a_table_frame);
    tcase_add_test(tc, huge_fault_without_a_block);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(os_full_suite()); }

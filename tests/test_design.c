/* The design space: walk placements, fault policies, fault batching, IOTLB
 * design (prefetch, micro-TLB) and the IOMMU's walk caches. Expected
 * numbers are hand-derived from the configured parts (comments show the
 * sums); the safety checker runs in every test.
 *
 * Parts (unlimited bandwidth, 1 GHz clocks):
 *   device IOTLB 1 ns; device walker caches 2 ns; shadow read 50 ns
 *   nic0-iommu 400 ns; iommu-mem 20 ns; DRAM 90 ns; os-iommu 50 ns
 *   IOMMU IOTLB 2 ns; IOMMU walk caches 3 ns
 *   os-mem 50 ns
 *   OS: waking the sleeping handler 1 us, a batch of page request groups
 *       3 us, each page it maps 1 us plus zeroing the frame (a 4 KiB write
 *       at the memory: 50 + 90 + 50 = 190 ns), software walk 1.5 us,
 *       CPU fault 1.7 us, backup copy 1 us
 * so one IOMMU memory read costs 20 + 90 + 20 = 130 ns, one device-walker
 * read 400 + 20 + 90 + 20 + 400 = 930 ns, a DMA's data access 930 ns, and
 * a one-page fault at an idle OS 1000 + 3000 + 1000 + 190 = 5190 ns. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

#define RT 130.0   /* IOMMU <-> memory read */
#define FAR 930.0  /* device <-> memory read or access */
#define WAKE 1000.0
#define BATCH 3000.0
#define ZERO 190.0                       /* os -> mem 50, DRAM 90, mem -> os 50 */
#define PAGE (1000.0 + ZERO)             /* a missing page: map it, zero it */
#define FAULT1 (WAKE + BATCH + PAGE)     /* a one-page group at an idle OS */

static scim_sim *run_dev(const char *trace_text, bool populate, const char *dev_extra, const char *os_extra,
                         const char *nic1_trace)
{
    char dir[64], path[256], path1[256], yaml[4096];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "nic.trace", trace_text, path, sizeof path);
    if (nic1_trace)
        write_file(dir, "nic1.trace", nic1_trace, path1, sizeof path1);
    int n = snprintf(yaml, sizeof yaml,
                     "kernel: {backend: native}\n"
                     "sim: {check_invariants: true}\n"
                     "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
                     "iommu: {clock: 1GHz, iotlb: {latency: 2}, pwc: {latency: 3}}\n"
                     "os: {iopf_cost: 3us, iopf_page_cost: 1us, sw_walk_cost: 1500ns, cpu_fault_cost: 1700ns,\n"
                     "     backup_copy_cost: 1us, fault_handlers: 1%s%s%s}\n"
                     "processes:\n  app:\n    pasid: 1\n    regions:\n"
                     "      - {va: 0x10000000, size: 8MiB, populate: %s}\n"
                     "fabric:\n  links:\n"
                     "    - {a: nic0, b: iommu, latency: 400ns}\n"
                     "    - {a: iommu, b: mem, latency: 20ns}\n"
                     "    - {a: os, b: iommu, latency: 50ns}\n"
                     "    - {a: os, b: mem, latency: 50ns}\n%s"
                     "devices:\n"
                     "  nic0: {trace: %s, pasid: 1, clock: 1GHz, %s pwc: {latency: 2},\n"
                     "         shadow: {latency: 50ns}%s%s}\n",
                     os_extra && strstr(os_extra, "iopf:") ? "" : ", iopf: {wakeup: 1us}", os_extra ? ", " : "",
                     os_extra ? os_extra : "", populate ? "true" : "false",
                     nic1_trace ? "    - {a: nic1, b: iommu, latency: 400ns}\n" : "", path,
                     dev_extra && strstr(dev_extra, "iotlb:") ? "" : "iotlb: {latency: 1},", dev_extra ? ", " : "",
                     dev_extra ? dev_extra : "");
    if (nic1_trace)
        snprintf(yaml + n, sizeof yaml - (size_t)n,
                 "  nic1: {trace: %s, pasid: 1, clock: 1GHz, iotlb: {latency: 1}, max_outstanding: 4}\n", path1);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    return sim;
}

/* ---- walk placement: a cold translation of a present page ---- */
START_TEST(placement_cold_translation_sums)
{
    static const char *const walk[4] = {"walk: iommu", "walk: device", "walk: software", "walk: shadow"};
    const double expect[4] = {
        /* iommu: lookup, link, IOTLB, 2 PASID reads, walk caches, 4 reads, link */
        1 + 400 + 2 + 2 * RT + 3 + 4 * RT + 400,
        /* device: lookup, own walk caches, 4 reads across the fabric */
        1 + 2 + 4 * FAR,
        /* software: lookup, interrupt to the OS (via the IOMMU's node),
         * the walk in the interrupt handler (its entry included: no
         * handler thread to wake), the answer back */
        1 + 450 + 1500 + 450,
        /* shadow: lookup, walk caches, 4 reads of the device-local copy */
        1 + 2 + 4 * 50,
    };
    scim_sim *sim = run_dev("@0 read 0x10003000 64\n", true, walk[_i], NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), expect[_i] * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (expect[_i] + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.requests"), 1);
    if (_i == 2) {
        ck_assert_double_eq(stat_of(sim, "os.sw_walks"), 1);
        ck_assert_double_eq(stat_of(sim, "os.iopf.wakeups"), 0);
        ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 1500 * 1000.0);
    }
    if (_i == 1 || _i == 3)
        ck_assert_double_eq(stat_of(sim, "nic0.walk.pte_reads"), 4);
    scim_sim_destroy(sim);
}
END_TEST

/* ---- walk placement: a cold translation of a missing page ---- */
START_TEST(placement_fault_sums)
{
    static const char *const walk[3] = {"walk: device", "walk: software", "walk: shadow"};
    /* a one-page group: 400 + 50 to the OS, the handler (woken, one batch,
     * one page mapped and zeroed), 50 + 400 back */
    const double pri = 400 + 50 + FAULT1 + 50 + 400;
    const double expect[3] = {
        /* device: walk reads the PML4 entry (missing), page request, re-walk
         * of 4 levels (nothing cached: the first walk cached nothing) */
        (1 + 2 + FAR) + pri + (2 + 4 * FAR),
        /* software: the interrupt handler walks (1.5 us, no wake-up),
         * finds nothing, the fault is resolved (os.iopf_cost 3 us, then
         * os.iopf_page_cost 1 us for the page it maps; this path zeroes
         * nothing through the memory controller) and answered with the
         * translation */
        1 + 450 + 1500 + 3000 + 1000 + 450,
        /* shadow: the copy's PML4 entry is missing; the OS maps the page
         * (4 entries written: 3 new tables and the leaf) and zeroes it,
         * then sends the entries to the copy (450 ns), which applies them
         * (4 x 50 ns) and acknowledges (450 ns) before the page response
         * leaves */
        (1 + 2 + 50) + (pri + 450 + 4 * 50 + 450) + (2 + 4 * 50),
    };
    scim_sim *sim = run_dev("@0 write 0x10005000 64\n", false, walk[_i], NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), expect[_i] * 1000);
    if (_i != 1)
        ck_assert_double_eq(stat_of(sim, "nic0.faults"), 1);
    if (_i == 2) {
        ck_assert_double_eq(stat_of(sim, "nic0.fault.latency.max"), (pri + 450 + 4 * 50 + 450) * 1000);
        ck_assert_double_eq(stat_of(sim, "os.shadow.syncs"), 1);
        ck_assert_double_eq(stat_of(sim, "nic0.shadow.syncs"), 4);
    }
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 1);
    scim_sim_destroy(sim);
}
END_TEST

/* ---- walk placement software: the interrupt handler walks one at a time ----
 * Two reads of two present pages at 0: both interrupts reach the OS at
 * 451. The interrupt handler walks the first (451 -> 1951; answered at the
 * device at 2401), then the second, which waited 1500 ns (1951 -> 3451; at
 * the device at 3901). No handler thread is woken. */
START_TEST(software_walks_queue_at_the_interrupt_handler)
{
    scim_sim *sim = run_dev("@0 read 0x10003000 64\n@0 read 0x10004000 64\n", true, "walk: software", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.min"), (1 + 450 + 1500 + 450) * 1000.0);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), (1 + 450 + 1500 + 1500 + 450) * 1000.0);
    ck_assert_double_eq(stat_of(sim, "os.iopf.queue_delay.max"), 1500 * 1000.0);
    ck_assert_double_eq(stat_of(sim, "os.sw_walks"), 2);
    ck_assert_double_eq(stat_of(sim, "os.iopf.wakeups"), 0);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), 2 * 1500 * 1000.0);
    scim_sim_destroy(sim);
}
END_TEST

/* ---- fault policies: one DMA write to a missing page ----
 * The device learns "not present" at 1196 ns:
 *   1 + 400 + 2 + 2 PASID reads + 3 + 1 PML4 read + 400.
 * The page request group (the one page) reaches the OS at 1646; the
 * handler wakes (2646), pays the batch (5646), maps and zeroes the page
 * (6836) and answers: back at the device at 7286. A later translation
 * takes 1325 ns: 400 + 2 + 3 + 4 reads + 400 (the PASID is cached). */
#define NP 1196.0
#define XLATE 1325.0
#define ANSWERED (NP + 450 + FAULT1 + 450) /* 7286 */

START_TEST(fault_policy_stall)
{
    scim_sim *sim = run_dev("@0 write 0x10000000 64\n", false, "fault_policy: stall", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (ANSWERED + XLATE + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 1);
    scim_sim_destroy(sim);
}
END_TEST

/* retry, 1 us back-off: NACKed at 1196; the k-th try starts at
 * 1195 + 1001k and its 1 ns lookup ends at 1196 + 1001k: the tries of
 * 2197, 3198, 4199, 5200, 6201 and 7202 still find the page request out
 * (answered at 7286) and are NACKed again (7 NACKs in all); the try of
 * 8202 finds no outstanding request at 8203: a translation. */
START_TEST(fault_policy_retry)
{
    scim_sim *sim = run_dev("@0 write 0x10000000 64\n", false, "fault_policy: retry, retry_backoff: 1us", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.retries"), 7);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), (8203 + XLATE) * 1000);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (8203 + XLATE + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.requests"), 1);
    /* nobody waited for the group's answer: the translation is asked anew */
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.requests"), 2);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.rerequests"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* drop, 10 us timeout: lost at 1196, resent at 11196 (the page request was
 * answered at 7286: a plain translation) */
START_TEST(fault_policy_drop)
{
    scim_sim *sim = run_dev("@0 write 0x10000000 64\n", false, "fault_policy: drop, drop_timeout: 10us", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.drops"), 1);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (11196 + 1 + XLATE + FAR) * 1000);
    scim_sim_destroy(sim);
}
END_TEST

/* backup, the handler's wake-up 500 ns here: the write goes to the backup
 * buffer at 1196 and completes at 2126. The copy request reaches the OS at
 * 2576; a CPU touches the page (1.7 us, mapping it: the page request is
 * still being handled), copies (1 us) at 5276 and frees the slot at 5726.
 * The page request group, at the OS at 1646, woken at 2146, its batch paid
 * at 5146, finds the page present (no page cost, no zeroing) and is
 * answered at once: back at 5596, before the slot is free. */
START_TEST(fault_policy_backup)
{
    scim_sim *sim = run_dev("@0 write 0x10000000 64\n", false, "fault_policy: backup", "iopf: {wakeup: 500ns}", NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.backup.writes"), 1);
    ck_assert_double_eq(stat_of(sim, "os.backup.copies"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (NP + FAR) * 1000);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), 5726e3);
    ck_assert_double_eq(stat_of(sim, "os.iopf.spurious"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.zeroed"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.fault.latency.max"), (5596 - NP) * 1000);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10000000, &pa), 1);
    scim_sim_destroy(sim);
}
END_TEST

/* prefault 3: one page request group asks for the DMA's page and 3 more.
 * The handler answers after the faulting page (answered at the device at
 * 7286, as without prefault), then maps and zeroes the 3 others (1190 ns
 * each: pages 1, 2, 3 done at 8026, 9216, 10406 at the OS). The first DMA
 * is done at 7286 + 1325 + 930 = 9541; the next three, one after the
 * other (starting at 9541, 11407, 13273: each page done before), hit
 * present pages; their walks find the page table in the IOMMU's walk cache:
 * 400 + 2 + 3 + 1 read + 400 = 935 ns each. */
START_TEST(fault_policy_prefault)
{
    scim_sim *sim = run_dev("+0 write 0x10000000 64\n+0 write 0x10001000 64\n+0 write 0x10002000 64\n"
                            "+0 write 0x10003000 64\n",
                            false, "prefault: 3, max_outstanding: 1", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.groups"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.requests"), 4);
    ck_assert_double_eq(stat_of(sim, "os.iopf.pages"), 4);
    ck_assert_double_eq(stat_of(sim, "os.prefaulted"), 3);
    ck_assert_double_eq(stat_of(sim, "os.iopf.zeroed"), 4);
    ck_assert_double_eq(stat_of(sim, "nic0.fault.latency.max"), (450 + FAULT1 + 450) * 1000);
    const double first = ANSWERED + XLATE + FAR, next = 1 + 935 + FAR;
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (first + 3 * next) * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.pwc.pde.hits"), 3);
    scim_sim_destroy(sim);
}
END_TEST

/* batching: four DMAs to four pages, their translations walked side by
 * side (4 walkers), learn "not present" together at 1196, and their four
 * one-page groups reach the OS together at 1646. The first wakes the
 * handler (one wake-up: the others find it waking); at 2646 it takes up to
 * fault_batch groups. Batches of 4: one batch cost, then the groups page
 * by page: answered at 5646 + k x 1190 (k = 1..4), the last at 10406.
 * Batches of 1: a batch cost per group: answered at 2646 + k x 4190, the
 * last at 19406. The first group's latency is the same either way. */
START_TEST(fault_batching)
{
    const char *trace = "@0 write 0x10000000 64\n@0 write 0x10001000 64\n@0 write 0x10002000 64\n"
                        "@0 write 0x10003000 64\n";
    scim_sim *a = run_dev(trace, false, "max_outstanding: 4", "fault_batch: 4", NULL);
    scim_sim *b = run_dev(trace, false, "max_outstanding: 4", "fault_batch: 1", NULL);
    ck_assert_double_eq(stat_of(a, "os.iopf.requests"), 4);
    ck_assert_double_eq(stat_of(a, "os.iopf.batches"), 1);
    ck_assert_double_eq(stat_of(b, "os.iopf.batches"), 4);
    ck_assert_double_eq(stat_of(a, "os.iopf.wakeups"), 1);
    ck_assert_double_eq(stat_of(b, "os.iopf.wakeups"), 1);
    ck_assert_double_eq(stat_of(a, "nic0.fault.latency.min"), (450 + FAULT1 + 450) * 1000);
    ck_assert_double_eq(stat_of(b, "nic0.fault.latency.min"), (450 + FAULT1 + 450) * 1000);
    ck_assert_double_eq(stat_of(a, "nic0.fault.latency.max"), (450 + WAKE + BATCH + 4 * PAGE + 450) * 1000);
    ck_assert_double_eq(stat_of(b, "nic0.fault.latency.max"), (450 + WAKE + 4 * (BATCH + PAGE) + 450) * 1000);
    /* the last group waited for the wake-up (a), or also for three groups (b) */
    ck_assert_double_eq(stat_of(a, "os.iopf.queue_delay.max"), WAKE * 1000);
    ck_assert_double_eq(stat_of(b, "os.iopf.queue_delay.max"), (WAKE + 3 * (BATCH + PAGE)) * 1000);
    scim_sim_destroy(a);
    scim_sim_destroy(b);
}
END_TEST

/* a page request for a page already queued at the OS waits on it */
START_TEST(same_page_requests_join)
{
    scim_sim *sim = run_dev("@0 write 0x10000000 64\n@0 write 0x10001000 64\n", false, "max_outstanding: 2", NULL,
                            "@0 write 0x10001000 64\n");
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 3);
    ck_assert_double_eq(stat_of(sim, "os.iopf.joined"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 2);
    ck_assert_double_eq(stat_of(sim, "os.iopf.spurious"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* the page-request queue overflows: the IOMMU answers itself, the device
 * retries, everything completes. One device cannot overflow the queue (its
 * PRI allocation is at most the queue's depth, checked at build time), two
 * can: a queue of one descriptor, two devices granted one page request
 * each, each writing three pages at once. */
START_TEST(prq_overflow_recovers)
{
    scim_sim *sim = run_dev("@0 write 0x10000000 64\n@0 write 0x10001000 64\n@0 write 0x10002000 64\n", false,
                            "max_outstanding: 3", NULL, NULL);
    scim_sim_destroy(sim);
    char dir[64], p0[256], p1[256], yaml[2048];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t0", "@0 write 0x10000000 64\n@0 write 0x10001000 64\n@0 write 0x10002000 64\n", p0,
               sizeof p0);
    write_file(dir, "t1", "@0 write 0x10003000 64\n@0 write 0x10004000 64\n@0 write 0x10005000 64\n", p1,
               sizeof p1);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\nsim: {check_invariants: true}\niommu: {prq_depth: 1}\n"
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 1MiB}]}}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1, max_outstanding: 3, pri: {allocation: 1}}\n"
             "  nic1: {trace: %s, pasid: 1, max_outstanding: 3, pri: {allocation: 1}}\n",
             p0, p1);
    sim = run_yaml(yaml);
    tmpdir_remove(dir);
    ck_assert(stat_of(sim, "iommu.prq.overflows") >= 1);
    ck_assert_double_eq(stat_of(sim, "iommu.prq.max_occupancy"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.prq.overflows"),
                        stat_of(sim, "nic0.pri.auto_responses") + stat_of(sim, "nic1.pri.auto_responses"));
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors") + stat_of(sim, "nic1.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 6);
    scim_sim_destroy(sim);
}
END_TEST

/* prefetch 2 over 9 consecutive pages: misses on pages 0, 3, 6 only */
START_TEST(iotlb_prefetch)
{
    char text[1024];
    size_t n = 0;
    for (int i = 0; i < 9; i++)
        n += (size_t)sprintf(text + n, "+0 read 0x%x 64\n", 0x10000000 + i * 4096);
    scim_sim *sim = run_dev(text, true, "max_outstanding: 1, iotlb: {latency: 1, prefetch: 2}", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.misses"), 3);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.prefetches"), 6);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.hits"), 6);
    scim_sim_destroy(sim);
}
END_TEST

/* micro-TLB of 2 in front of the IOTLB: A B C A */
START_TEST(micro_tlb)
{
    scim_sim *sim = run_dev("+0 read 0x10000000 8\n+0 read 0x10001000 8\n+0 read 0x10002000 8\n"
                            "+0 read 0x10000000 8\n",
                            true, "max_outstanding: 1, utlb: {entries: 2, ways: 2, latency: 1}", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "nic0.utlb.accesses"), 4);
    ck_assert_double_eq(stat_of(sim, "nic0.utlb.misses"), 4);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.accesses"), 4);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.misses"), 3);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.min"), 2000); /* micro-TLB 1 + IOTLB 1 */
    scim_sim_destroy(sim);
}
END_TEST

/* the IOMMU's walk caches: a second page in the same 2 MiB needs 1 read */
START_TEST(iommu_walk_caches)
{
    scim_sim *sim = run_dev("+0 read 0x10000000 8\n+0 read 0x10001000 8\n", true, "max_outstanding: 1", NULL, NULL);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pte_reads"), 5);
    ck_assert_double_eq(stat_of(sim, "iommu.pwc.pde.hits"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.min"), (1 + 400 + 2 + 3 + RT + 400) * 1000);
    scim_sim_destroy(sim);
}
END_TEST

/* Regression: under pressure a fault may wait for frames and, when one
 * frame comes free, still need more (a data frame and page-table frames).
 * Each policy on the bundled CPU+NIC workload must finish, checker on;
 * also with handlers taking batches of 4 groups (a group of a batch that
 * waits for a frame or for a page in transition must not lose the groups
 * after it). */
START_TEST(every_policy_finishes_under_pressure)
{
    static const char *const policy[4] = {"stall", "retry", "drop", "backup"};
    scim_sim *sim = scim_sim_create();
    char set[64], batch[64];
    snprintf(set, sizeof set, "devices.nic0.fault_policy=%s", policy[_i % 4]);
    snprintf(batch, sizeof batch, "os.fault_batch=%d", _i < 4 ? 1 : 4);
    ck_assert_int_eq(scim_sim_load_file(sim, SCIM_SOURCE_DIR "/configs/cpu_nic.yaml"), 0);
    ck_assert_int_eq(scim_sim_set(sim, set), 0);
    ck_assert_int_eq(scim_sim_set(sim, batch), 0);
    ck_assert_int_eq(scim_sim_set(sim, "kernel.backend=native"), 0);
    ck_assert_msg(scim_sim_build(sim) == 0 && scim_sim_run(sim) == 0, "%s", scim_sim_errmsg(sim));
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 12000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert(stat_of(sim, "os.frame_waits") > 0);
    scim_sim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("design");
    TCase *tc = tcase_create("design");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, placement_cold_translation_sums, 0, 4);
    tcase_add_loop_test(tc, placement_fault_sums, 0, 3);
    tcase_add_test(tc, software_walks_queue_at_the_interrupt_handler);
    tcase_add_test(tc, fault_policy_stall);
    tcase_add_test(tc, fault_policy_retry);
    tcase_add_test(tc, fault_policy_drop);
    tcase_add_test(tc, fault_policy_backup);
    tcase_add_test(tc, fault_policy_prefault);
    tcase_add_test(tc, fault_batching);
    tcase_add_test(tc, same_page_requests_join);
    tcase_add_test(tc, prq_overflow_recovers);
    tcase_add_test(tc, iotlb_prefetch);
    tcase_add_test(tc, micro_tlb);
    tcase_add_test(tc, iommu_walk_caches);
    tcase_add_loop_test(tc, every_policy_finishes_under_pressure, 0, 8);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

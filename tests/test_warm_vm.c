/* The functional warm-up (sim.warmup) of VMs: a device assigned to a guest
 * (its 2D walks in the IOMMU), a core of the guest (its own 2D walker),
 * the guest kernel's faults and the hypervisor's stage 2 filled on first
 * touch, as the timed run fills it.
 *
 * Reference: the detailed model itself, run twice. With one access in
 * flight per agent and records far apart (every access, fault and
 * stage-2 fault is over long before the next record), a timed run has
 * nothing to overlap, so a warm-up of the first W records must leave every
 * cache and table exactly as a detailed run of those W records leaves
 * them. Then the detailed part of a warmed run (records W+1..R) must count
 * what a detailed run of R records counts less what one of W records
 * counts, statistic by statistic: walks, entry reads of both stages,
 * hits, misses, insertions and evictions of every walk cache and TLB,
 * faults of every kind, stage-2 faults and mappings; and the levels
 * (host frames backing the guest, stage-2 table frames, frames in use)
 * must be those of the R-record run. The caches are small, so a
 * replacement order that drifted shows as a different count within a few
 * records. Plus hand counts of the warm-up's own faults, which say which
 * path each took: a device's page with zeroing is one fault (the guest's;
 * the zeroing maps stage 2), without zeroing two (the guest's, then the
 * retried walk's stage-2 fault), a core's page two (the guest's #PF does
 * not zero). The checker runs in every detailed run. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define RECORDS 480     /* per agent */
#define WARM 300        /* records warmed up of each agent */
#define REGION 0x10000000ull
#define PAGES 96        /* pages of the 4 MiB region the traces touch */
#define HOT 12          /* the first HOT pages are touched 3 times as often */
#define GAP_NS 400000ull /* between an agent's records: every access and fault is over long before */

static const char *const BASE =
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true, %s}\n"
    "system: {isa: %s}\n"
    "scheme: %s\n"
    "memory: {size: 256MiB}\n"
    "iommu: {walkers: 1, iotlb: {entries: 8, ways: 2}, pwc: {entries: %d}, s2tlb: {entries: %d}, "
    "s2pwc: {entries: %d}}\n"
    "vms:\n"
    "  vm0: {memory: 32MiB, guest: {iopf: {zero_pages: %s}}%s}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    vm: vm0\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 4MiB, populate: false}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, vm: vm0, max_outstanding: 1, iotlb: {entries: 4, ways: 2}}\n"
    "%s";

static const char *const CPU = "cpus:\n"
                               "  cpu0: {trace: %s, pasid: 1, max_outstanding: 1, l1tlb: {entries: 4, ways: 2},\n"
                               "         l2tlb: {entries: 8, ways: 2}, pwc: {entries: 2}, s2tlb: {entries: 4},\n"
                               "         s2pwc: {entries: 2}}\n";

typedef struct vm_case {
    const char *isa, *scheme, *zero;
    int pwc, s2tlb, s2pwc;
    bool cpu;
} vm_case;

static const vm_case cases[] = {
    {"x86-64", "scimitar", "true", 2, 4, 2, false},
    {"x86-64", "scimitar", "false", 2, 4, 2, false},
    {"x86-64", "scimitar", "true", 0, 0, 0, false},
    {"x86-64", "scimitar", "true", 16, 64, 16, false},
    {"riscv", "scimitar", "true", 2, 4, 2, false},
    {"armv8", "scimitar", "false", 2, 4, 2, false},
    {"x86-64", "scimitar", "true", 2, 4, 2, true},
    {"x86-64", "pin", "true", 2, 4, 2, true},
};

/* Counters (the last part of a statistic's name) compared by difference. */
static const char *const COUNTED[] = {
    "walks", "pte_reads", "nested", "s2_reads", "s2_faults", "hits", "misses", "inserts", "evictions",
    "accesses", "faults", "requests", "minor", "major", "s2_faults_io", "s2_faults_cpu", "s2_faults_touch",
    "forwarded", "s2_maps", "mapped", "zeroed", "chunks",
};
/* Levels: as the R-record run leaves them. */
static const char *const LEVELS[] = {"vm0.hyp.frames_backed", "vm0.hyp.s2_tables", "os.frames.data",
                                     "os.frames.page_tables", "os.frames.free", "os.frames.reserved"};

/* Reads and writes over PAGES pages, a hot few more often; pages[i] is
 * record i's page. The records are GAP_NS apart, the first after
 * GAP_NS + offset_ns (a core's half a gap after the device's: no two
 * agents at the same time, so nothing of theirs overlaps). */
static char *make_trace(uint64_t seed, int *pages, uint64_t offset_ns)
{
    char *text = malloc((size_t)RECORDS * 48 + 1);
    ck_assert_ptr_nonnull(text);
    size_t len = 0;
    for (int i = 0; i < RECORDS; i++) {
        uint64_t page = rnd(&seed, 4) ? rnd(&seed, PAGES) : rnd(&seed, HOT);
        pages[i] = (int)page;
        len += (size_t)sprintf(text + len, "+%llu %s 0x%llx 64\n", (unsigned long long)(GAP_NS + (i ? 0 : offset_ns)),
                               rnd(&seed, 3) ? "read" : "write",
                               (unsigned long long)(REGION + page * 4096 + rnd(&seed, 64) * 64));
    }
    return text;
}

/* The warm-up's faults by hand: the records in issue order (the device's
 * record i, then the core's), each page's faults at its first touch. Scheme
 * scimitar: a device's page is the guest's fault, whose zeroing maps
 * stage 2 (zero_pages), or without zeroing the guest's fault and then the
 * retried 2D walk's stage-2 fault; a core's page the guest's #PF (no
 * zeroing) and then its EPT violation. Scheme pin: stage 2 is mapped in
 * full before the run; each page is one fault on the CPU. */
static int warm_faults_by_hand(const vm_case *c, const int *dev, const int *cpu)
{
    bool seen[PAGES] = {false};
    int faults = 0;
    bool pin = strcmp(c->scheme, "pin") == 0, zero = strcmp(c->zero, "true") == 0;
    for (int i = 0; i < WARM; i++) {
        for (int agent = 0; agent < (c->cpu ? 2 : 1); agent++) {
            int page = agent ? cpu[i] : dev[i];
            if (seen[page])
                continue;
            seen[page] = true;
            faults += pin ? 1 : agent == 0 && zero ? 1 : 2;
        }
    }
    return faults;
}

static scim_sim *run_sim(const vm_case *c, const char *dev_trace, const char *cpu_trace, const char *sim,
                         const char *vm)
{
    char cpus[512] = "", yaml[4096];
    if (c->cpu)
        snprintf(cpus, sizeof cpus, CPU, cpu_trace);
    snprintf(yaml, sizeof yaml, BASE, sim, c->isa, c->scheme, c->pwc, c->s2tlb, c->s2pwc, c->zero, vm, dev_trace,
             cpus);
    return run_yaml(yaml);
}

static scim_sim *run_case(const vm_case *c, const char *dev_trace, const char *cpu_trace, int warmup, int records)
{
    char sim[64];
    snprintf(sim, sizeof sim, "warmup: %d, records: %d", warmup, records);
    return run_sim(c, dev_trace, cpu_trace, sim, "");
}

static bool counted(const char *name)
{
    static const char *const TIMED[] = {"latency", "delay", "wait", "busy", "queue", "fabric.", "mem.", "sim."};
    for (size_t i = 0; i < COUNT_OF(TIMED); i++)
        if (strstr(name, TIMED[i]))
            return false;
    const char *last = strrchr(name, '.');
    last = last ? last + 1 : name;
    for (size_t i = 0; i < COUNT_OF(COUNTED); i++)
        if (strcmp(last, COUNTED[i]) == 0)
            return true;
    return false;
}

/* The warmed run's detailed part against the detailed runs' difference:
 * counters by difference, levels as the longer run leaves them. */
static void same_as_difference(int i, scim_sim *warm, scim_sim *head, scim_sim *all, size_t min_compared)
{
    scim_stats *ws = scim_sim_stats(warm);
    size_t compared = 0;
    for (size_t k = 0; k < scim_stats_flat_count(ws); k++) {
        const char *name;
        double w;
        ck_assert_int_eq(scim_stats_flat_get(ws, k, &name, &w, NULL, NULL), 0);
        if (!counted(name))
            continue;
        double expect = stat_of(all, name) - stat_of(head, name);
        ck_assert_msg(w == expect, "case %d: %s after the warm-up %.0f, detailed difference %.0f", i, name, w,
                      expect);
        compared++;
    }
    ck_assert_uint_ge(compared, min_compared);
    for (size_t k = 0; k < COUNT_OF(LEVELS); k++)
        ck_assert_msg(stat_of(warm, LEVELS[k]) == stat_of(all, LEVELS[k]), "case %d: level %s %.0f, detailed %.0f",
                      i, LEVELS[k], stat_of(warm, LEVELS[k]), stat_of(all, LEVELS[k]));
}

START_TEST(warmed_detail_equals_detailed_difference)
{
    const vm_case *c = &cases[_i];
    char dir[64], dev_path[256], cpu_path[256];
    tmpdir_make(dir, sizeof dir);
    static int dev_pages[RECORDS], cpu_pages[RECORDS];
    char *t = make_trace(7 + (uint64_t)_i, dev_pages, 0);
    write_file(dir, "dev.trace", t, dev_path, sizeof dev_path);
    free(t);
    t = make_trace(1000 + (uint64_t)_i, cpu_pages, GAP_NS / 2);
    write_file(dir, "cpu.trace", t, cpu_path, sizeof cpu_path);
    free(t);

    scim_sim *warm = run_case(c, dev_path, cpu_path, WARM, RECORDS);
    scim_sim *head = run_case(c, dev_path, cpu_path, 0, WARM);
    scim_sim *all = run_case(c, dev_path, cpu_path, 0, RECORDS);
    ck_assert_double_eq(stat_of(warm, "sim.warmup.records"), WARM * (c->cpu ? 2 : 1));
    ck_assert_double_eq(stat_of(warm, "sim.warmup.errors"), 0);
    ck_assert_double_eq(stat_of(warm, "nic0.dma.requests"), RECORDS - WARM);

    same_as_difference(_i, warm, head, all, 40);
    /* the mechanism: a 2D walk's reads include stage 2's, and stage 2 was
     * filled on demand (scimitar) or pinned in full (pin) */
    if (strcmp(c->scheme, "pin")) /* under pin the device reads physical addresses */
        ck_assert_double_gt(stat_of(warm, "iommu.walk.s2_reads"), 0);
    if (c->cpu)
        ck_assert_double_gt(stat_of(warm, "cpu0.walk.s2_reads"), 0);
    ck_assert_double_eq(stat_of(warm, "sim.warmup.faults"), warm_faults_by_hand(c, dev_pages, cpu_pages));
    ck_assert_double_eq(stat_of(warm, "vm0.hyp.pinned") > 0, strcmp(c->scheme, "pin") == 0);
    scim_sim_destroy(warm);
    scim_sim_destroy(head);
    scim_sim_destroy(all);
    tmpdir_remove(dir);
}
END_TEST

/* The hypervisor's stage-2 reclaim on a timer, warmed up by time: the
 * rounds due before T run at once between the records around them, and
 * the next after T on the detailed clock at its due time less T. Rounds at
 * 10.1 ms and every 20 ms (never at a record's time), T between records:
 * six rounds in the warm-up, four in detail. With a core beside the
 * device, rounds of several ranges (the core's IPI flushes the PASID, the
 * IOMMU gets each range) and rounds beyond os.inv_coalesce_pages (the
 * PASID for all). By records: refused. */
static const struct {
    int vm_case;
    int pages;
} s2_cases[] = {{0, 16}, {1, 16}, {6, 16}, {6, 48}};

#define S2_AT "10100us"
#define S2_EVERY "20ms"
#define WARM_UNTIL_US (WARM * GAP_NS / 1000 + 300) /* past the core's record WARM, before the next */
#define ALL_UNTIL_US (RECORDS * GAP_NS / 1000 + 300)

START_TEST(stage2_reclaim_rounds_warmed_by_time)
{
    const vm_case *c = &cases[s2_cases[_i].vm_case];
    char dir[64], dev_path[256], cpu_path[256], vm[128], sim[128];
    tmpdir_make(dir, sizeof dir);
    static int pages[RECORDS];
    char *t = make_trace(7, pages, 0);
    write_file(dir, "dev.trace", t, dev_path, sizeof dev_path);
    free(t);
    t = make_trace(1000, pages, GAP_NS / 2);
    write_file(dir, "cpu.trace", t, cpu_path, sizeof cpu_path);
    free(t);
    snprintf(vm, sizeof vm, ", s2_reclaim: {at: " S2_AT ", interval: " S2_EVERY ", pages: %d}", s2_cases[_i].pages);
    snprintf(sim, sizeof sim, "warmup_until: %lluus, until: %lluus", (unsigned long long)WARM_UNTIL_US,
             (unsigned long long)ALL_UNTIL_US);
    scim_sim *warm = run_sim(c, dev_path, cpu_path, sim, vm);
    snprintf(sim, sizeof sim, "until: %lluus", (unsigned long long)WARM_UNTIL_US);
    scim_sim *head = run_sim(c, dev_path, cpu_path, sim, vm);
    snprintf(sim, sizeof sim, "until: %lluus", (unsigned long long)ALL_UNTIL_US);
    scim_sim *all = run_sim(c, dev_path, cpu_path, sim, vm);
    ck_assert_double_eq(stat_of(warm, "sim.warmup.records"), WARM * (c->cpu ? 2 : 1));
    ck_assert_double_eq(stat_of(head, "vm0.hyp.s2_rounds"), 6);
    ck_assert_double_eq(stat_of(warm, "vm0.hyp.s2_rounds"), 4);
    ck_assert_double_eq(stat_of(all, "vm0.hyp.s2_rounds"), 10);
    ck_assert_double_gt(stat_of(warm, "vm0.hyp.s2_reclaimed"), 0);
    ck_assert_double_gt(stat_of(warm, "vm0.hyp.s2_faults_io"), 0);
    same_as_difference(_i, warm, head, all, 40);
    scim_sim_destroy(warm);
    scim_sim_destroy(head);
    scim_sim_destroy(all);
    /* by records, there is no one clock for the timer */
    char yaml[4096], msg[2048];
    snprintf(yaml, sizeof yaml, BASE, "warmup: 10", c->isa, c->scheme, c->pwc, c->s2tlb, c->s2pwc, c->zero, vm,
             dev_path, "");
    ck_assert_int_ne(build_yaml(yaml, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "sim.warmup") && strstr(msg, "vms.vm0.s2_reclaim.at") && strstr(msg, "warmup_until"),
                  "message: %s", msg);
    tmpdir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("warm_vm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, warmed_detail_equals_detailed_difference, 0, (int)COUNT_OF(cases));
    tcase_add_loop_test(tc, stage2_reclaim_rounds_warmed_by_time, 0, (int)COUNT_OF(s2_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

/* End to end: a device replays a DMA trace through its IOTLB, the IOMMU
 * walks the process's real page tables, faults are resolved by the OS.
 * Every expected number here is derived independently of the simulator:
 * an exact LRU model written below, and latency sums from the configured
 * link, memory and handler latencies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/lru.h"
#include "helpers/simtest.h"

/* Unlimited bandwidth everywhere, so latencies are plain sums. */
static const char *const BASE =
    "kernel: {backend: %s}\n"
    "sim: {check_invariants: true}\n"
    "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
    "fabric:\n"
    "  links:\n"
    "    - {a: nic0, b: iommu, latency: 400ns}\n"
    "    - {a: iommu, b: mem, latency: 20ns}\n"
    "    - {a: os, b: mem, latency: 50ns}\n"
    "    - {a: os, b: iommu, latency: 50ns}\n"
    "iommu: {clock: 1GHz, walkers: 4, iotlb: {entries: 64, ways: 8, latency: 2}, pwc: {latency: 3}}\n"
    "os: {iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us, fault_handlers: 1}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 4MiB, populate: %s}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, max_outstanding: %d, clock: 1GHz,\n"
    "         iotlb: {entries: %d, ways: %d, page_sizes: 4K, latency: 1}}\n";

static scim_sim *run_case(const char *backend, bool populate, const char *trace, int outstanding, int entries,
                          int ways)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, BASE, backend, populate ? "true" : "false", trace, outstanding, entries, ways);
    return run_yaml(yaml);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Misses of an exact LRU model (helpers/lru.h) over the page stream. */
static uint64_t lru_misses(const uint64_t *vpns, size_t n, int entries, int ways)
{
    lru_model l = lru_new(entries, ways);
    uint64_t misses = 0;
    for (size_t i = 0; i < n; i++)
        misses += !lru_access(&l, vpns[i]);
    lru_free(&l);
    return misses;
}

static const int geometries[][2] = {{8, 8}, {16, 4}, {32, 1}, {64, 8}, {24, 3}, {1, 1}};

START_TEST(iotlb_misses_equal_exact_lru)
{
    enum { N = 3000 };
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    static uint64_t vpns[N];
    rng_state = 7 + (uint64_t)_i;
    char *text = malloc(N * 64 + 64);
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        /* a hot set of 40 pages and a cold tail: hits, conflict and
         * capacity misses all happen */
        uint64_t page = (rng() % 4) ? rng() % 40 : 40 + rng() % 900;
        vpns[i] = (0x10000000ull >> 12) + page;
        len += (size_t)sprintf(text + len, "+10 read 0x%llx 64\n", (unsigned long long)(vpns[i] << 12) + 128);
    }
    write_file(dir, "t.trace", text, path, sizeof path);
    free(text);
    int entries = geometries[_i][0], ways = geometries[_i][1];
    scim_sim *sim = run_case("native", true, path, 1, entries, ways);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.iotlb.accesses"), N);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.iotlb.misses"), lru_misses(vpns, N, entries, ways));
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.dma.requests"), N);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.dma.bytes"), N * 64);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.faults"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* One DMA to a populated page: the translation is
 *   device IOTLB lookup 1 ns + link 400 + IOMMU IOTLB lookup 2 ns
 *   + 2 PASID-table reads + walk-cache lookup 3 ns + 4 PTE reads,
 *   each read 20 + 90 + 20 ns, + link 400 */
START_TEST(cold_translation_latency_is_the_sum_of_its_parts)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 read 0x10003040 64\n", path, sizeof path);
    const char *backend = _i ? "systemc" : "native";
    scim_sim *sim = run_case(backend, true, path, 1, 32, 32);
    const double read_rt = 20 + 90 + 20;
    const double xlat = 1 + 400 + 2 + 2 * read_rt + 3 + 4 * read_rt + 400;
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), xlat * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.min"), xlat * 1000);
    /* then the data access: device -> iommu -> mem and back */
    const double access = 400 + 20 + 90 + 20 + 400;
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), (xlat + access) * 1000);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (xlat + access) * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pte_reads"), 4);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pasid_reads"), 2);
    ck_assert_double_eq(stat_of(sim, "mem.pte_reads"), 6);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* One DMA to a page that is not mapped (and no table below the root
 * exists yet):
 *   first translation: 1 + 400 + 2 + 2 PASID reads + walk cache 3 + 1 PML4
 *                      read + 400
 *   page request group (one page: the DMA's): device -> iommu 400,
 *                 iommu -> os 50; the handler sleeps: wake-up 1 us, the
 *                 batch 3 us, the page 1 us, then zeroing it: a 4 KiB
 *                 write os -> mem 50, DRAM 90, the response mem -> os 50
 *                 (no bandwidth limit); os -> iommu 50, iommu -> device 400
 *   second translation: 400 + 2 + walk cache 3 + 4 PTE reads (PASID
 *                       cached; the walk caches hold nothing yet) + 400 */
START_TEST(fault_latency_adds_the_handler_cost)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 write 0x10005000 256\n", path, sizeof path);
    scim_sim *sim = run_case("native", false, path, 1, 32, 32);
    const double rt = 130;
    const double first = 1 + 400 + 2 + 2 * rt + 3 + 1 * rt + 400;
    const double zero = 50 + 90 + 50;
    const double handler = 1000 + 3000 + 1000 + zero;
    const double pri = 400 + 50 + handler + 50 + 400;
    const double second = 400 + 2 + 3 + 4 * rt + 400;
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.max"), (first + pri + second) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.fault.latency.max"), pri * 1000);
    ck_assert_double_eq(stat_of(sim, "os.iopf.latency.max"), handler * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.groups"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.rerequests"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.wakeups"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.batches"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.zeroed"), 1);
    /* the zeroing is a 4 KiB write at the memory, then the DMA's 256 B */
    ck_assert_double_eq(stat_of(sim, "mem.writes"), 2);
    ck_assert_double_eq(stat_of(sim, "mem.bytes_written"), 4096 + 256);
    /* the handler's time: wake-up, batch, page and the zeroing it waited for */
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), handler * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.ats.not_present"), 1);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10005123, &pa), 1);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10004fff, &pa), 0);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10006000, &pa), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* Demand paging under a concurrent stream: exactly the touched pages get
 * mapped, each once, each to its own frame; the checker validates every
 * access against the page table; frames balance. */
START_TEST(faults_map_exactly_the_touched_pages)
{
    enum { N = 2000, PAGES = 1024 };
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    static bool touched[PAGES];
    memset(touched, 0, sizeof touched);
    rng_state = 99;
    char *text = malloc(N * 64);
    size_t len = 0, distinct = 0;
    for (int i = 0; i < N; i++) {
        uint64_t page = rng() % 300;
        uint64_t off = rng() % 4096, size = 1 + rng() % 3000;
        if (off + size > 4096)
            size = 4096 - off;
        if (!touched[page]++)
            distinct++;
        len += (size_t)sprintf(text + len, "+%llu %s 0x%llx %llu\n", (unsigned long long)(rng() % 50),
                               (rng() & 1) ? "read" : "write", (unsigned long long)(0x10000000 + page * 4096 + off),
                               (unsigned long long)size);
    }
    write_file(dir, "t.trace", text, path, sizeof path);
    free(text);
    scim_sim *sim = run_case("native", false, path, 8, 16, 4);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "os.iopf.mapped"), distinct);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.faults"), distinct);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.dma.requests"), N);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.dma.errors"), 0);
    uint64_t *frames = calloc(PAGES, sizeof *frames);
    for (uint64_t p = 0; p < PAGES; p++) {
        uint64_t pa = 0;
        int mapped = scim_sim_resolve(sim, 1, 0x10000000 + p * 4096, &pa);
        ck_assert_int_eq(mapped, touched[p] ? 1 : 0);
        if (mapped) {
            ck_assert_uint_eq(pa & 0xfff, 0);
            for (uint64_t q = 0; q < p; q++)
                ck_assert_uint_ne(frames[q], pa >> 12); /* no frame mapped twice */
            frames[p] = pa >> 12;
        }
    }
    free(frames);
    scim_frame_counts fc;
    ck_assert_int_eq(scim_sim_frames(sim, &fc), 0);
    ck_assert_uint_eq(fc.data, distinct);
    ck_assert_uint_eq(fc.total, fc.free + fc.data + fc.page_tables + fc.pasid_table + fc.deferred);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* munmap in a device's trace: the mapping disappears, the IOTLBs are
 * invalidated before the frames are freed (the checker would stop the run
 * otherwise), later DMAs to the range fail, frames balance. */
START_TEST(munmap_invalidates_before_freeing)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace",
               "+0 write 0x10000000 8192\n"
               "+0 read 0x10002000 4096\n"
               "+100 munmap 0x10000000 0x2000\n"
               "+100 read 0x10002000 64\n"
               "+100 mmap 0x20000000 0x4000 populate=1\n"
               "+100 write 0x20001000 64\n",
               path, sizeof path);
    scim_sim *sim = run_case("native", false, path, 4, 16, 4);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10000000, &pa), 0);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10001000, &pa), 0);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10002000, &pa), 1);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x20003000, &pa), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.invalidations"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.inv.entries"), 2);
    ck_assert_double_eq(stat_of(sim, "os.pages_unmapped"), 2);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    scim_frame_counts fc;
    ck_assert_int_eq(scim_sim_frames(sim, &fc), 0);
    ck_assert_uint_eq(fc.data, 1 + 4);
    ck_assert_uint_eq(fc.total, fc.free + fc.data + fc.page_tables + fc.pasid_table + fc.deferred);
    ck_assert_uint_eq(fc.deferred, 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

static char *stats_json_of(const char *backend, const char *trace, const char *outdir)
{
    scim_sim *sim = run_case(backend, false, trace, 16, 16, 4);
    ck_assert_int_eq(scim_sim_write_stats(sim, outdir), 0);
    scim_sim_destroy(sim);
    char p[512];
    snprintf(p, sizeof p, "%s/stats.json", outdir);
    char *s = slurp(p, NULL);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(same_config_same_bytes_on_both_backends)
{
    enum { N = 4000 };
    char dir[64], path[256], o1[320], o2[320], o3[320];
    tmpdir_make(dir, sizeof dir);
    rng_state = 5;
    char *text = malloc(N * 64);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "+%llu write 0x%llx %llu\n", (unsigned long long)(rng() % 30),
                               (unsigned long long)(0x10000000 + (rng() % 500) * 4096 + rng() % 2048),
                               (unsigned long long)(64 + rng() % 6000));
    write_file(dir, "t.trace", text, path, sizeof path);
    free(text);
    snprintf(o1, sizeof o1, "%s/a", dir);
    snprintf(o2, sizeof o2, "%s/b", dir);
    snprintf(o3, sizeof o3, "%s/c", dir);
    char *a = stats_json_of("native", path, o1);
    char *b = stats_json_of("native", path, o2);
    char *c = stats_json_of("systemc", path, o3);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    ck_assert_ptr_nonnull(strstr(a, "\"nic0.iotlb.misses\""));
    free(a);
    free(b);
    free(c);
    tmpdir_remove(dir);
}
END_TEST

typedef struct bad_case {
    const char *yaml;      /* %s: trace path */
    const char *expect[3]; /* substrings of the message */
} bad_case;

static const bad_case bad_configs[] = {
    {"devices:\n  nic0: {trace: %s, pasid: 1, iotlb: {entires: 4}}\nprocesses: {app: {pasid: 1}}\n",
     {"test.yaml:2:", "unknown key 'devices.nic0.iotlb.entires'", "did you mean 'entries'"}},
    {"devices:\n  nic0: {trace: %s, pasid: 1, max_outstanding: lots}\nprocesses: {app: {pasid: 1}}\n",
     {"test.yaml:2:", "devices.nic0.max_outstanding", "expected a non-negative integer"}},
    {"devices:\n  nic0: {trace: %s, pasid: 1, max_outstanding: 0}\nprocesses: {app: {pasid: 1}}\n",
     {"test.yaml:2:", "max_outstanding", "outside the allowed range"}},
    {"devices:\n  nic0: {trace: %s, pasid: 7}\nprocesses: {app: {pasid: 1}}\n",
     {"test.yaml:2:", "no process has that pasid", NULL}},
    {"devices:\n  nic0: {trace: %s, pasid: 1}\nprocesses: {app: {pasid: 1}}\nmemory: {latency: 90 parsecs}\n",
     {"test.yaml:4:", "memory.latency", "unknown unit"}},
    {"devices:\n  nic0: {trace: %s, pasid: 1, walk: telepathy}\nprocesses: {app: {pasid: 1}}\n",
     {"test.yaml:2:", "devices.nic0.walk", "expected one of: iommu, device, software, shadow"}},
    {"devices:\n  nic0: {trace: %s, pasid: 1}\nprocesses: {app: {pasid: 1}}\nsheme: scimitar\n",
     {"test.yaml:4:1", "unknown key 'sheme'", "did you mean 'scheme'"}},
    {"devices:\n  nic0: {trace: /nonexistent/x.trace, pasid: 1}\nprocesses: {app: {pasid: 1}}\n# %s\n",
     {"test.yaml:2:", "devices.nic0.trace", "/nonexistent/x.trace"}},
    {"devices:\n  nic0: {trace: %s, pasid: 1}\nprocesses:\n  app:\n    pasid: 1\n    regions:\n"
     "      - {va: 0x1001, size: 4KiB}\n",
     {"test.yaml:7:", "processes.app.regions.0", "aligned"}},
    {"devices:\n  nic0: {trace: %s, pasid: 1\nprocesses: {app: {pasid: 1}}\n", {"test.yaml:", "error", NULL}},
    /* a PRI allocation above the page request queue: the group could never
     * be queued (livelock); located at the key that was set */
    {"devices:\n  nic0: {trace: %s, pasid: 1,\n         pri: {allocation: 4096}}\nprocesses: {app: {pasid: 1}}\n",
     {"test.yaml:3:28", "devices.nic0.pri.allocation is 4096 page requests but iommu.prq_depth is 2048",
      "set devices.nic0.pri.allocation to at most 2048, or raise iommu.prq_depth to 4096"}},
    {"devices:\n  nic0: {trace: %s, pasid: 1}\nprocesses: {app: {pasid: 1}}\niommu: {prq_depth: 32}\n",
     {"test.yaml:4:20", "devices.nic0.pri.allocation is 2048 page requests but iommu.prq_depth is 32",
      "to at most 32, or raise iommu.prq_depth to 2048"}},
};

START_TEST(bad_configs_name_file_line_column)
{
    char dir[64], path[256], yaml[2048], msg[1200];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 read 0x1000 64\n", path, sizeof path);
    const bad_case *c = &bad_configs[_i];
    snprintf(yaml, sizeof yaml, c->yaml, path);
    int rc = build_yaml(yaml, msg, sizeof msg);
    ck_assert_int_lt(rc, 0);
    for (int i = 0; i < 3 && c->expect[i]; i++)
        ck_assert_msg(strstr(msg, c->expect[i]), "message '%s' lacks '%s'", msg, c->expect[i]);
    tmpdir_remove(dir);
}
END_TEST

START_TEST(bad_trace_stops_the_run_with_its_location)
{
    char dir[64], path[256], yaml[2048];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 read 0x10000000 64\n+5 raed 0x10000000 64\n", path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, "native", "true", path, 1, 8, 8);
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, yaml, "test.yaml"), 0);
    ck_assert_int_eq(scim_sim_build(sim), 0);
    ck_assert_int_lt(scim_sim_run(sim), 0);
    char expect[300];
    snprintf(expect, sizeof expect, "%s:2:4", path);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), expect), "message '%s' lacks '%s'", scim_sim_errmsg(sim), expect);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, iotlb_misses_equal_exact_lru, 0, (int)(sizeof geometries / sizeof geometries[0]));
    tcase_add_loop_test(tc, cold_translation_latency_is_the_sum_of_its_parts, 0, 2);
    tcase_add_test(tc, fault_latency_adds_the_handler_cost);
    tcase_add_test(tc, faults_map_exactly_the_touched_pages);
    tcase_add_test(tc, munmap_invalidates_before_freeing);
    tcase_add_test(tc, same_config_same_bytes_on_both_backends);
    tcase_add_loop_test(tc, bad_configs_name_file_line_column, 0, (int)(sizeof bad_configs / sizeof bad_configs[0]));
    tcase_add_test(tc, bad_trace_stops_the_run_with_its_location);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

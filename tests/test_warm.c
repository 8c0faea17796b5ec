/* sim.warmup, whole system: the first N records of each trace run
 * functionally, then the rest in detail. Every expected number is derived
 * independently: an exact LRU model of the device IOTLB and of the IOMMU's
 * IOTLB fed the same page stream (the warm-up's part changes only their
 * state, the detailed part is counted), latency sums of the configured
 * parts, and page counts of the traces written here. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/lru.h"
#include "helpers/simtest.h"
#include "helpers/testutil.h"

/* Unlimited bandwidth everywhere, so latencies are plain sums. */
static const char *const BASE =
    "sim: {check_invariants: true, warmup: %d}\n"
    "kernel: {backend: native}\n"
    "memory: {size: %s, latency: 90ns, bandwidth: 0}\n"
    "fabric:\n"
    "  links:\n"
    "    - {a: nic0, b: iommu, latency: 400ns}\n"
    "    - {a: iommu, b: mem, latency: 20ns}\n"
    "    - {a: os, b: mem, latency: 50ns}\n"
    "    - {a: os, b: iommu, latency: 50ns}\n"
    "%s"
    "iommu: {clock: 1GHz, walkers: 4, iotlb: {entries: 64, ways: 8, page_sizes: 4K, latency: 2}, pwc: {latency: 3}}\n"
    "os: {iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us, fault_handlers: 1}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 4MiB, populate: %s}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, max_outstanding: 1, clock: 1GHz, walk: %s,\n"
    "         iotlb: {entries: %d, ways: %d, page_sizes: 4K, latency: 1}}\n"
    "%s";

static const char *const CPU_LINKS = "    - {a: cpu0, b: mem, latency: 10ns}\n"
                                     "    - {a: cpu0, b: os, latency: 10ns}\n";

static scim_sim *run_case(int warmup, bool populate, const char *trace, const char *walk, int entries, int ways,
                          const char *cpus)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, BASE, warmup, "256MiB", cpus ? CPU_LINKS : "", populate ? "true" : "false", trace,
             walk, entries, ways, cpus ? cpus : "");
    return run_yaml(yaml);
}

/* large enough that a cold start would miss on most of the hot set */
static const int geometries[][2] = {{64, 8}, {128, 4}, {32, 1}, {48, 3}};

/* A hot set and a cold tail, one 64-byte read per record. */
static char *random_trace(uint64_t *vpns, int n, uint64_t seed)
{
    uint64_t rs = seed;
    char *text = malloc((size_t)n * 64 + 64);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        uint64_t page = rnd(&rs, 4) ? rnd(&rs, 40) : 40 + rnd(&rs, 900);
        vpns[i] = (0x10000000ull >> 12) + page;
        len += (size_t)sprintf(text + len, "+10 read 0x%llx 64\n", (unsigned long long)(vpns[i] << 12) + 128);
    }
    return text;
}

/* Walk placements, four geometries each: iommu (both TLBs checked),
 * device, software and shadow (the device's), and a device without an ATC
 * (the IOMMU's; its DMAs are translated inline). */
static const char *const placements[] = {"iommu", "device", "software", "shadow", "iommu, ats: false"};

/* The device IOTLB and the IOMMU's after a warm-up of W records are those
 * of a run that replayed them in detail: the detailed part's misses are
 * the exact LRU's over the whole stream, counted from record W on. */
START_TEST(warm_caches_match_exact_lru)
{
    enum { N = 3000, W = 2850 };
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    static uint64_t vpns[N];
    char *text = random_trace(vpns, N, 11 + (uint64_t)_i);
    write_file(dir, "t.trace", text, path, sizeof path);
    free(text);
    int entries = geometries[_i % 4][0], ways = geometries[_i % 4][1];
    const char *walk = placements[_i / 4];
    bool iommu = _i < 4, no_atc = _i >= 16;
    lru_model dev = lru_new(entries, ways), io = lru_new(64, 8);
    uint64_t dev_misses = 0, io_misses = 0;
    for (int i = 0; i < N; i++) {
        if (!no_atc && lru_access(&dev, vpns[i]))
            continue;
        dev_misses += i >= W;
        if ((iommu || no_atc) && !lru_access(&io, vpns[i]))
            io_misses += i >= W;
    }
    lru_free(&dev);
    lru_free(&io);
    scim_sim *sim = run_case(W, true, path, walk, entries, ways, NULL);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "sim.warmup.records"), W);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.dma.requests"), N - W);
    if (no_atc) {
        ck_assert_uint_eq((uint64_t)stat_of(sim, "iommu.inline.requests"), N - W);
    } else {
        ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.iotlb.accesses"), N - W);
        ck_assert_uint_eq((uint64_t)stat_of(sim, "nic0.iotlb.misses"), dev_misses);
    }
    if (iommu || no_atc)
        ck_assert_uint_eq((uint64_t)stat_of(sim, "iommu.iotlb.misses"), io_misses);
    if (strcmp(walk, "software") == 0) /* each miss of the device is one interrupt handler's walk */
        ck_assert_uint_eq((uint64_t)stat_of(sim, "os.sw_walks"), dev_misses);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "sim.warmup.errors"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* After the warm-up the first detailed DMA hits the warm IOTLB and its
 * page, present: its latency is the device lookup and the access alone,
 *   1 ns + 400 + 20 + 90 + 20 + 400 ns,
 * and it starts at its @ time counted from the last warm-up record's. */
START_TEST(first_detailed_dma_hits_at_its_shifted_time)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace",
               "@1000 read 0x10003040 64\n"
               "@5000 write 0x10004000 64\n"
               "@5100 read 0x10003080 64\n",
               path, sizeof path);
    scim_sim *sim = run_case(2, false, path, "iommu", 32, 32, NULL);
    const double access = 1 + 400 + 20 + 90 + 20 + 400;
    ck_assert_double_eq(stat_of(sim, "nic0.dma.latency.max"), access * 1000);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (100 + access) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.misses"), 0);
    /* the two pages the warm-up touched were faulted in, at once */
    ck_assert_double_eq(stat_of(sim, "sim.warmup.faults"), 2);
    ck_assert_double_eq(stat_of(sim, "os.frames.data"), 2);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* BASE with its sim line replaced by `sim` (warm-up 0 there). */
static scim_sim *run_sim_line(const char *sim, const char *trace, const char *cpus)
{
    char yaml[4096], with[4400];
    snprintf(yaml, sizeof yaml, BASE, 0, "256MiB", cpus ? CPU_LINKS : "", "false", trace, "iommu", 32, 32,
             cpus ? cpus : "");
    const char *end = strchr(yaml, '\n');
    snprintf(with, sizeof with, "%s%s", sim, end);
    return run_yaml(with);
}

/* sim.warmup_until keeps agents in step: a CPU's and a device's records
 * issued before 5 us warm up (5 of them; the CPU's three writes fault
 * their pages in), and the detailed run's time 0 is 5 us for both: the
 * device's @5100 read starts at 100 ns and the CPU's @6000 write at
 * 1000 ns (a request's start is its finish less its latency); the @9500
 * read is past sim.until (9 us) and never replayed. */
START_TEST(warm_up_until_keeps_agents_in_step)
{
    char dir[64], dev[256], cpu[256], cpus[512];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "dev.trace",
               "@2000 read 0x10000040 64\n@4200 read 0x10001040 64\n@5100 read 0x10002080 64\n"
               "@9500 read 0x10002000 64\n",
               dev, sizeof dev);
    write_file(dir, "cpu.trace",
               "@1000 write 0x10000000 64\n@3000 write 0x10001000 64\n@4500 write 0x10002000 64\n"
               "@6000 write 0x10003000 64\n",
               cpu, sizeof cpu);
    snprintf(cpus, sizeof cpus, "cpus:\n  cpu0: {trace: %s, pasid: 1, max_outstanding: 1}\n", cpu);
    scim_sim *sim = run_sim_line("sim: {check_invariants: true, warmup_until: 5us, until: 9us}", dev, cpus);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), 5);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.faults"), 3);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.finish_ps") - stat_of(sim, "nic0.dma.latency.max"), 100 * 1000);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.finish_ps") - stat_of(sim, "cpu0.mem.latency.max"), 1000 * 1000);
    scim_sim_destroy(sim);
    /* by records instead, each agent's time 0 is its own last warm-up
     * record's: two records each, the device's @5100 then starts at 900 ns */
    sim = run_sim_line("sim: {check_invariants: true, warmup: 2, records: 3}", dev, cpus);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), 4);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.finish_ps") - stat_of(sim, "nic0.dma.latency.max"), 900 * 1000);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.finish_ps") - stat_of(sim, "cpu0.mem.latency.max"), 1500 * 1000);
    scim_sim_destroy(sim);
    char msg[2048], yaml[4096], both[4200];
    snprintf(yaml, sizeof yaml, BASE, 0, "256MiB", "", "false", dev, "iommu", 32, 32, "");
    snprintf(both, sizeof both, "sim: {warmup: 2, warmup_until: 1us}%s", strchr(yaml, '\n'));
    ck_assert_int_ne(build_yaml(both, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "sim.warmup_until") && strstr(msg, ":1:"), "message: %s", msg);
    tmpdir_remove(dir);
}
END_TEST

/* A pin record in the warm-up faults its 4 pages in and pins them (a
 * level the detailed run keeps: 4 frames pinned at the end); the detailed
 * reads of them take no fault, and an unpin there drops the pins. */
START_TEST(pin_record_in_warm_up)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace",
               "+10 pin 0x10000000 16384\n+10 read 0x10000000 64\n+10 read 0x10003000 64\n"
               "+10 unpin 0x10002000 8192\n",
               path, sizeof path);
    scim_sim *sim = run_case(1, false, path, "iommu", 32, 32, NULL);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), 1);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.data"), 4);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned_peak"), 4);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 2);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 2);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* sim.records and sim.until without a warm-up: ten records 1 us apart on
 * the trace's clock, each issued only when the one before completed (one
 * outstanding, each takes about a microsecond: the device falls behind
 * its trace); the limits count records and the trace's clock, not the run's. */
START_TEST(records_and_until_limit_the_trace)
{
    char dir[64], path[256], text[512];
    tmpdir_make(dir, sizeof dir);
    size_t len = 0;
    for (int i = 0; i < 10; i++)
        len += (size_t)sprintf(text + len, "+1000 read 0x%llx 64\n", 0x10000000ull + (uint64_t)i * 4096);
    write_file(dir, "t.trace", text, path, sizeof path);
    static const struct {
        const char *sim;
        double requests;
    } cases[] = {{"sim: {records: 4}", 4}, {"sim: {until: 6500ns}", 6}, {"sim: {until: 6000ns}", 5},
                 {"sim: {records: 4, until: 6500ns}", 4}, {"sim: {records: 0, until: 0}", 10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        scim_sim *sim = run_sim_line(cases[i].sim, path, NULL);
        ck_assert_msg(stat_of(sim, "nic0.dma.requests") == cases[i].requests, "%s: %g requests", cases[i].sim,
                      stat_of(sim, "nic0.dma.requests"));
        scim_sim_destroy(sim);
    }
    tmpdir_remove(dir);
}
END_TEST

/* The premise of dropping pinning, in warm-up: pages the CPU wrote during
 * the warm-up are present when the device reads them in detail. One
 * warm-up record each: the CPU's writes every page, the device's reads a
 * page of its own. */
START_TEST(cpu_warm_up_makes_pages_present_for_the_device)
{
    enum { PAGES = 24 };
    char dir[64], cpu_path[256], dev_path[256];
    tmpdir_make(dir, sizeof dir);
    char cpu_text[64], dev_text[PAGES * 48 + 64];
    sprintf(cpu_text, "+5 write 0x10000000 %d\n", PAGES * 4096);
    size_t dl = (size_t)sprintf(dev_text, "@0 read 0x103ff000 64\n");
    for (int i = 0; i < PAGES; i++)
        dl += (size_t)sprintf(dev_text + dl, "+100 read 0x%llx 64\n", 0x10000000ull + (uint64_t)i * 4096);
    write_file(dir, "cpu.trace", cpu_text, cpu_path, sizeof cpu_path);
    write_file(dir, "dev.trace", dev_text, dev_path, sizeof dev_path);
    char cpus[512];
    snprintf(cpus, sizeof cpus, "cpus:\n  cpu0: {trace: %s, pasid: 1, max_outstanding: 1}\n", cpu_path);
    scim_sim *sim = run_case(1, false, dev_path, "iommu", 32, 32, cpus);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), 2);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.faults"), PAGES + 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), PAGES);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.requests"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.data"), PAGES + 1);
    scim_sim_destroy(sim);
    /* without the warm-up the same run faults: the pages start absent */
    sim = run_case(0, false, dev_path, "iommu", 32, 32, cpus);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), PAGES + 1);
    ck_assert_double_gt(stat_of(sim, "nic0.faults") + stat_of(sim, "cpu0.faults"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* An mmap record in the warm-up adds its region; the accesses after it
 * find it. Same statistics twice (determinism). */
START_TEST(mmap_in_warm_up_and_determinism)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace",
               "+0 mmap 0x20000000 65536 prot=rw populate=0\n"
               "+10 write 0x20000000 8192\n"
               "+10 read 0x20001000 64\n"
               "+10 read 0x20002000 64\n",
               path, sizeof path);
    scim_sim *a = run_case(3, true, path, "iommu", 32, 32, NULL);
    scim_sim *b = run_case(3, true, path, "iommu", 32, 32, NULL);
    /* the write's fault asks for both its pages (one group: the rest of the DMA) */
    ck_assert_double_eq(stat_of(a, "sim.warmup.faults"), 1);
    /* the populated 4 MiB region, the write's two pages, the detailed fault's page */
    ck_assert_double_eq(stat_of(a, "os.frames.data"), 1024 + 2 + 1);
    ck_assert_double_eq(stat_of(a, "nic0.dma.requests"), 1);
    ck_assert_double_eq(stat_of(a, "nic0.faults"), 1); /* 0x20002000 was never touched */
    size_t n = scim_stats_flat_count(scim_sim_stats(a));
    ck_assert_uint_eq(n, scim_stats_flat_count(scim_sim_stats(b)));
    for (size_t i = 0; i < n; i++) {
        const char *name_a, *name_b;
        double va, vb;
        ck_assert_int_eq(scim_stats_flat_get(scim_sim_stats(a), i, &name_a, &va, NULL, NULL), 0);
        ck_assert_int_eq(scim_stats_flat_get(scim_sim_stats(b), i, &name_b, &vb, NULL, NULL), 0);
        ck_assert_str_eq(name_a, name_b);
        ck_assert_msg(va == vb, "%s: %g then %g", name_a, va, vb);
    }
    scim_sim_destroy(a);
    scim_sim_destroy(b);
    tmpdir_remove(dir);
}
END_TEST

/* Every placement's faults and an munmap in the warm-up leave the state a
 * timed run would: 16 pages written (each faulted in once: by a page
 * request, the interrupt handler's walk or the IOMMU's stall), then the
 * first 8 unmapped. In detail, the 8 still mapped are read with no fault
 * anywhere (a shadow copy holds what the warm-up's faults wrote), and the
 * 8 unmapped fail (a shadow copy no longer holds them; the checker is on:
 * no read may reach a freed frame). */
START_TEST(faults_and_an_unmap_per_placement)
{
    enum { P = 16, GONE = 8 };
    char dir[64], path[256], text[128 * (2 * P + 2)];
    tmpdir_make(dir, sizeof dir);
    size_t len = 0;
    for (int i = 0; i < P; i++)
        len += (size_t)sprintf(text + len, "+10 write 0x%llx 64\n", 0x10000000ull + (uint64_t)i * 4096);
    len += (size_t)sprintf(text + len, "+10 munmap 0x10000000 %d\n", GONE * 4096);
    for (int i = 0; i < P; i++)
        len += (size_t)sprintf(text + len, "+10 read 0x%llx 64\n", 0x10000000ull + (uint64_t)i * 4096);
    write_file(dir, "t.trace", text, path, sizeof path);
    const char *walk = placements[_i];
    scim_sim *sim = run_case(P + 1, false, path, walk, 32, 32, NULL);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), P + 1);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.faults"), P);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.data"), P - GONE);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), P);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), GONE);
    /* every fault the detailed part takes is an unmapped page's */
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 0);
    ck_assert_double_le(stat_of(sim, "nic0.faults") + stat_of(sim, "iommu.inline.faults"), GONE);
    if (strcmp(walk, "software") == 0)
        ck_assert_double_eq(stat_of(sim, "os.sw_walks"), GONE);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* Scheme pin: the driver's registration cache after a warm-up of W I/Os
 * is that of a run that prepared them in detail: the detailed part's hits
 * are an exact LRU's over every I/O's pages in order (fully associative,
 * os.pin.cache_pages), and its pins the misses; every page the warm-up's
 * I/Os touched was faulted in there (one CPU fault each), so the detailed
 * part faults only on pages it is the first to touch; the frames still
 * pinned at the end are the cache's. */
START_TEST(pin_registration_cache_matches_exact_lru)
{
    enum { N = 2000, W = 1880, MAX_PAGE = 940 };
    static const int capacity[] = {16, 64};
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    uint64_t rs = 21 + (uint64_t)_i;
    char *text = malloc((size_t)N * 64 + 64);
    size_t len = 0;
    int cap = capacity[_i];
    lru_model reg = lru_new(cap, cap);
    static bool touched[MAX_PAGE + 2];
    memset(touched, 0, sizeof touched);
    /* first, an I/O that fails: its first page (the region's last) is
     * faulted in and pinned, its second lies outside any region; the pin
     * it took is dropped, nothing registered */
    len += (size_t)sprintf(text + len, "+10 write 0x103ff000 8192\n");
    uint64_t hits = 0, misses = 0, warm_faults = 1, detail_faults = 0;
    for (int i = 1; i < N; i++) {
        uint64_t page = rnd(&rs, 4) ? rnd(&rs, 40) : 40 + rnd(&rs, 900), pages = 1 + rnd(&rs, 2);
        bool write = rnd(&rs, 2);
        len += (size_t)sprintf(text + len, "+10 %s 0x%llx %llu\n", write ? "write" : "read",
                               0x10000000ull + page * 4096, (unsigned long long)(pages * 4096));
        for (uint64_t k = page; k < page + pages; k++) {
            bool hit = lru_access(&reg, k);
            hits += i >= W && hit;
            misses += i >= W && !hit;
            if (!touched[k]) {
                touched[k] = true;
                warm_faults += i < W;
                detail_faults += i >= W;
            }
        }
    }
    lru_free(&reg);
    write_file(dir, "t.trace", text, path, sizeof path);
    free(text);
    char yaml[4096], with_pin[4300];
    snprintf(yaml, sizeof yaml, BASE, W, "256MiB", "", "false", path, "iommu", 32, 32, "");
    char *os_end = strstr(yaml, "fault_handlers: 1}");
    ck_assert_ptr_nonnull(os_end);
    /* one driver context: the I/Os register in trace order (with more, one
     * waiting for a fault lets a later one register first) */
    snprintf(with_pin, sizeof with_pin,
             "scheme: pin\n%.*sfault_handlers: 1, driver: {queues: 1}, pin: {cache_pages: %d}}%s",
             (int)(os_end - yaml), yaml, cap, os_end + strlen("fault_handlers: 1}"));
    scim_sim *sim = run_yaml(with_pin);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), W);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.faults"), (double)warm_faults);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.errors"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), N - W);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.io.pin_cache_hits"), (double)hits);
    ck_assert_double_eq(stat_of(sim, "os.io.pins"), (double)misses);
    ck_assert_double_eq(stat_of(sim, "os.cpu_faults"), (double)detail_faults);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), cap);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* Scheme iommu-map: the warm-up maps, unmaps and invalidates each I/O as
 * the driver would. 16 I/Os of 4 pages each (pages 4(k mod 8) on, one
 * driver context, 10 us apart) warm up, then two 1-page I/Os run in
 * detail. The frames pinned at once in the warm-up (a level the warm-up
 * leaves) are hand counted: strict unmaps give the I/O's 4 back at once;
 * deferred keeps the flush batch pinned: flushed by its context's queue
 * at 3 unmaps, 12 at most; by its timer, 35 us after the batch's first
 * I/O (the 5th I/O finds it due: 4 I/Os, 16 pages). Every page was
 * unmapped and invalidated (or flushed, the last batch at the warm-up's
 * end) before the detailed part, so both its DMAs miss in both IOTLBs;
 * no pin is left, no fault taken in detail, the checker on. */
START_TEST(iommu_map_unmaps_and_flushes)
{
    static const char *const modes[] = {"strict, flush_entries: 3", "deferred, flush_entries: 3, flush_interval: 1s",
                                        "deferred, flush_entries: 1000, flush_interval: 35us"};
    static const double peak[] = {4, 12, 16};
    char dir[64], path[256], text[64 * 20];
    tmpdir_make(dir, sizeof dir);
    size_t len = 0;
    for (int k = 0; k < 16; k++)
        len += (size_t)sprintf(text + len, "+10000 write 0x%llx 16384\n", 0x10000000ull + (uint64_t)(k % 8) * 4 * 4096);
    len += (size_t)sprintf(text + len, "+10000 read 0x10000000 64\n+10000 write 0x10005000 64\n");
    write_file(dir, "t.trace", text, path, sizeof path);
    char yaml[4096], with_map[4400];
    snprintf(yaml, sizeof yaml, BASE, 16, "256MiB", "", "false", path, "iommu", 32, 32, "");
    char *os_end = strstr(yaml, "fault_handlers: 1}");
    ck_assert_ptr_nonnull(os_end);
    snprintf(with_map, sizeof with_map,
             "scheme: iommu-map\n%.*sfault_handlers: 1, driver: {queues: 1}, iommu_map: {mode: %s}}%s",
             (int)(os_end - yaml), yaml, modes[_i], os_end + strlen("fault_handlers: 1}"));
    scim_sim *sim = run_yaml(with_map);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), 16);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.faults"), 32);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned_peak"), peak[_i]);
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 2);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "os.cpu_faults"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.misses"), 2);
    ck_assert_double_eq(stat_of(sim, "iommu.iotlb.misses"), 2);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* What the warm-up does not take is refused where it is configured: a
 * VM's stage-2 reclaim on a timer (VMs themselves are warmed:
 * test_warm_vm.c). */
START_TEST(unsupported_configurations_are_refused)
{
    char dir[64], path[256], yaml[4096], msg[2048];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "+10 read 0x10000000 64\n", path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, 1, "256MiB", "", "true", path, "iommu", 32, 32,
             "vms:\n  vm0: {memory: 16MiB, s2_reclaim: {at: 1us}}\n");
    /* the process and the device in the VM */
    char in_vm[4400], *pasid = strstr(yaml, "    pasid: 1\n"), *dev = strstr(yaml, "pasid: 1, max_outstanding");
    ck_assert(pasid && dev && pasid < dev);
    snprintf(in_vm, sizeof in_vm, "%.*s    vm: vm0\n%.*svm: vm0, %s", (int)(pasid + strlen("    pasid: 1\n") - yaml),
             yaml, (int)(dev + strlen("pasid: 1, ") - (pasid + strlen("    pasid: 1\n"))),
             pasid + strlen("    pasid: 1\n"), dev + strlen("pasid: 1, "));
    ck_assert_int_ne(build_yaml(in_vm, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "sim.warmup") && strstr(msg, "vms.vm0.s2_reclaim.at") && strstr(msg, ":1:"),
                  "message: %s", msg);
    /* without the timer the same VM is warmed up */
    char *timer = strstr(in_vm, ", s2_reclaim: {at: 1us}");
    ck_assert_ptr_nonnull(timer);
    memmove(timer, timer + strlen(", s2_reclaim: {at: 1us}"), strlen(timer + strlen(", s2_reclaim: {at: 1us}")) + 1);
    scim_sim *sim = run_yaml(in_vm);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), 1);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.errors"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* More pages than memory holds: the warm-up reclaims as kswapd would
 * (the checker on: no translation outlives its frame); without swap it
 * cannot, which is an error naming the trace line and the fix. */
START_TEST(warm_up_reclaims_and_without_swap_stops)
{
    char dir[64], path[256], yaml[4096], msg[2048];
    tmpdir_make(dir, sizeof dir);
    /* 8 MiB of memory: the 4 MiB region fits, a second 8 MiB one does not */
    enum { PAGES = 2048 };
    char text[64 * (PAGES + 8)];
    size_t len = (size_t)sprintf(text, "+0 mmap 0x40000000 8388608 prot=rw populate=0\n");
    for (int i = 0; i < PAGES; i++)
        len += (size_t)sprintf(text + len, "+1 write 0x%llx 8\n", 0x40000000ull + (uint64_t)i * 4096);
    write_file(dir, "t.trace", text, path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, PAGES + 1, "8MiB", "", "true", path, "iommu", 32, 32, "");
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.records"), PAGES + 1);
    ck_assert_double_eq(stat_of(sim, "sim.warmup.errors"), 0);
    ck_assert_double_ge(stat_of(sim, "sim.warmup.faults"), PAGES);
    /* no page is both mapped and free: every frame is counted once */
    ck_assert_double_lt(stat_of(sim, "os.frames.data"), 8 * 256);
    scim_sim_destroy(sim);
    char no_swap[4200];
    char *os_line = strstr(yaml, "os: {");
    ck_assert_ptr_nonnull(os_line);
    snprintf(no_swap, sizeof no_swap, "%.*sos: {swap: {size: 0}, %s", (int)(os_line - yaml), yaml,
             os_line + strlen("os: {"));
    ck_assert_int_ne(build_yaml(no_swap, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "t.trace:") && strstr(msg, "sim.warmup"), "message: %s", msg);
    tmpdir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("warm");
    TCase *tc = tcase_create("warm");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, warm_caches_match_exact_lru, 0, 20);
    tcase_add_test(tc, first_detailed_dma_hits_at_its_shifted_time);
    tcase_add_test(tc, cpu_warm_up_makes_pages_present_for_the_device);
    tcase_add_test(tc, mmap_in_warm_up_and_determinism);
    tcase_add_loop_test(tc, faults_and_an_unmap_per_placement, 0, 5);
    tcase_add_loop_test(tc, pin_registration_cache_matches_exact_lru, 0, 2);
    tcase_add_loop_test(tc, iommu_map_unmaps_and_flushes, 0, 3);
    tcase_add_test(tc, warm_up_until_keeps_agents_in_step);
    tcase_add_test(tc, records_and_until_limit_the_trace);
    tcase_add_test(tc, pin_record_in_warm_up);
    tcase_add_test(tc, unsupported_configurations_are_refused);
    tcase_add_test(tc, warm_up_reclaims_and_without_swap_stops);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

/* CPU cores, the OS (faults, reclaim, swap, mprotect, migrate, pins) and
 * TLB shootdowns that devices take part in. Expected values come from
 * references written here: an exact two-level LRU model, and latency sums
 * of the configured parts. The safety checker runs in every test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"

#define REGION 0x10000000ull

/* Clean numbers: unlimited bandwidth, 1 GHz clocks. */
static void system_yaml(char *buf, size_t len, const char *extra_os, int ncpus, const char *cpu_traces[],
                        const char *nic_trace, const char *region_extra)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, len - n,
                          "kernel: {backend: native}\n"
                          "sim: {check_invariants: true}\n"
                          "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
                          "iommu: {clock: 1GHz, inv_latency: 500ns, snoop_latency: 30ns, iotlb: {latency: 2}}\n"
                          "os: {ipi_send_cost: 100ns, broadcast_cost: 20ns, %s}\n"
                          "processes:\n  app:\n    pasid: 1\n    regions:\n"
                          "      - {va: 0x%llx, size: 8MiB%s}\n",
                          extra_os, (unsigned long long)REGION, region_extra);
    n += (size_t)snprintf(buf + n, len - n, "fabric:\n  links:\n"
                                            "    - {a: os, b: iommu, latency: 50ns}\n"
                                            "    - {a: os, b: mem, latency: 50ns}\n"
                                            "    - {a: iommu, b: mem, latency: 20ns}\n");
    if (nic_trace)
        n += (size_t)snprintf(buf + n, len - n, "    - {a: nic0, b: iommu, latency: 400ns}\n");
    for (int i = 0; i < ncpus; i++)
        n += (size_t)snprintf(buf + n, len - n,
                              "    - {a: cpu%d, b: mem, latency: 10ns}\n    - {a: cpu%d, b: os, latency: 60ns}\n", i, i);
    if (ncpus) {
        n += (size_t)snprintf(buf + n, len - n, "cpus:\n");
        for (int i = 0; i < ncpus; i++)
            n += (size_t)snprintf(buf + n, len - n,
                                  "  cpu%d: {trace: %s, pasid: 1, clock: 1GHz, ipi_cost: 1us, snoop_latency: 15ns,\n"
                                  "         l1tlb: {latency: 1}, l2tlb: {latency: 7}, pwc: {latency: 2}}\n",
                                  i, cpu_traces[i]);
    }
    if (nic_trace)
        n += (size_t)snprintf(buf + n, len - n,
                              "devices:\n  nic0: {trace: %s, pasid: 1, clock: 1GHz, inv_latency: 3us, "
                              "snoop_latency: 100ns, iotlb: {latency: 1}}\n",
                              nic_trace);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- CPU TLBs against an exact two-level LRU ---- */

typedef struct lru {
    int sets, ways;
    uint64_t *tag;
    int *fill;
} lru;

static lru lru_new(int entries, int ways)
{
    lru l = {entries / ways, ways, calloc((size_t)entries, 8), calloc((size_t)(entries / ways), sizeof(int))};
    return l;
}

/* 1 hit (moved to MRU), 0 miss (not inserted) */
static int lru_touch(lru *l, uint64_t v, bool insert_on_miss)
{
    int s = (int)(v % (uint64_t)l->sets);
    uint64_t *row = &l->tag[s * l->ways];
    int at = -1;
    for (int w = 0; w < l->fill[s]; w++)
        if (row[w] == v)
            at = w;
    if (at < 0 && !insert_on_miss)
        return 0;
    int hit = at >= 0;
    if (!hit)
        at = l->fill[s] < l->ways ? l->fill[s]++ : l->ways - 1;
    memmove(&row[1], &row[0], (size_t)at * 8);
    row[0] = v;
    return hit;
}

START_TEST(cpu_tlb_misses_equal_exact_two_level_lru)
{
    enum { N = 4000 };
    char dir[64], path[256], yaml[4096];
    tmpdir_make(dir, sizeof dir);
    rng_state = 31 + (uint64_t)_i;
    lru l1 = lru_new(8, 2), l2 = lru_new(48, 4);
    uint64_t l1_miss = 0, l2_miss = 0;
    char *text = malloc(N * 48);
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        uint64_t page = (rng() % 3) ? rng() % 24 : rng() % 2000;
        uint64_t vpn = (REGION >> 12) + page;
        len += (size_t)sprintf(text + len, "+5 %s 0x%llx 8\n", (i & 1) ? "read" : "write",
                               (unsigned long long)(vpn << 12) + 64);
        if (!lru_touch(&l1, vpn, false)) {
            l1_miss++;
            if (!lru_touch(&l2, vpn, false)) {
                l2_miss++;
                lru_touch(&l2, vpn, true);
            }
            lru_touch(&l1, vpn, true);
        }
    }
    write_file(dir, "cpu.trace", text, path, sizeof path);
    free(text);
    const char *traces[1] = {path};
    system_yaml(yaml, sizeof yaml, "shootdown: sync", 1, traces, NULL, ", populate: true");
    /* the geometry under test */
    char *p = strstr(yaml, "l1tlb: {latency: 1}");
    ck_assert_ptr_nonnull(p);
    char full[4600];
    snprintf(full, sizeof full, "%.*sl1tlb: {latency: 1, entries: 8, ways: 2, page_sizes: 4K}, "
                                "l2tlb: {latency: 7, entries: 48, ways: 4, page_sizes: 4K}%s",
             (int)(p - yaml), yaml, strstr(p, ", pwc"));
    scim_sim *sim = run_yaml(full);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "cpu0.l1tlb.accesses"), N);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "cpu0.l1tlb.misses"), l1_miss);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "cpu0.l2tlb.accesses"), l1_miss);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "cpu0.l2tlb.misses"), l2_miss);
    ck_assert_uint_eq((uint64_t)stat_of(sim, "cpu0.walks"), l2_miss);
    scim_sim_destroy(sim);
    free(l1.tag);
    free(l1.fill);
    free(l2.tag);
    free(l2.fill);
    tmpdir_remove(dir);
}
END_TEST

/* ---- walk latency with and without paging-structure-cache hits ----
 * A: cold, 4 PTE reads. Later accesses, each after A completed:
 *   B same 2 MiB  -> the PDE cache gives the PT: 1 read
 *   C same 1 GiB  -> the PDPTE cache gives the PD: 2 reads
 *   D same 512 GiB-> the PML4E cache gives the PDPT: 3 reads
 * translation = L1 1 ns + L2 7 ns + PWC 2 ns + reads x (10 + 90 + 10)
 * access      = 10 + 90 + 10 */
START_TEST(walk_latency_with_and_without_pwc_hits)
{
    static const uint64_t second[4] = {0, REGION + 0x1000, REGION + (2ull << 20), REGION + (1ull << 30)};
    static const int reads[4] = {4, 1, 2, 3};
    char dir[64], path[256], yaml[4096], text[256];
    tmpdir_make(dir, sizeof dir);
    const double rt = 110, access = 110, lookups = 1 + 7 + 2;
    snprintf(text, sizeof text, "@0 read 0x%llx 8\n", (unsigned long long)REGION);
    if (_i)
        snprintf(text + strlen(text), sizeof text - strlen(text), "@10000 read 0x%llx 8\n",
                 (unsigned long long)second[_i]);
    write_file(dir, "cpu.trace", text, path, sizeof path);
    const char *traces[1] = {path};
    system_yaml(yaml, sizeof yaml, "shootdown: sync", 1, traces, NULL, ", populate: true");
    /* D lies 1 GiB away: map it too */
    char full[4600];
    char *r = strstr(yaml, "      - {va:");
    snprintf(full, sizeof full, "%.*s      - {va: 0x%llx, size: 4KiB, populate: true}\n%s", (int)(r - yaml), yaml,
             (unsigned long long)(REGION + (1ull << 30)), r);
    scim_sim *sim = run_yaml(full);
    double expect_last = (lookups + reads[_i] * rt + access) * 1000;
    if (_i)
        expect_last += 10000e3;
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), expect_last);
    ck_assert_double_eq(stat_of(sim, "cpu0.walk.pte_reads"), 4 + (_i ? reads[_i] : 0));
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* ---- shootdown latency = sum of parts, 1/2/4 CPUs + 1 device ---- */

static double max2(double a, double b) { return a > b ? a : b; }

START_TEST(shootdown_latency_is_the_sum_of_its_parts)
{
    static const int ncpus_of[3] = {1, 2, 4};
    int ncpus = ncpus_of[_i % 3];
    bool broadcast = _i >= 3;
    char dir[64], yaml[8192], paths[5][256];
    const char *traces[4];
    tmpdir_make(dir, sizeof dir);
    for (int c = 0; c < ncpus; c++) {
        char name[32], text[256];
        snprintf(name, sizeof name, "cpu%d.trace", c);
        snprintf(text, sizeof text, "@0 read 0x%llx 8\n%s", (unsigned long long)REGION,
                 c == 0 ? "@100000 munmap 0x10000000 0x1000\n" : "");
        write_file(dir, name, text, paths[c], sizeof paths[c]);
        traces[c] = paths[c];
    }
    write_file(dir, "nic.trace", "@0 read 0x10000000 64\n", paths[4], sizeof paths[4]);
    system_yaml(yaml, sizeof yaml, broadcast ? "shootdown: broadcast" : "shootdown: sync", ncpus, traces, paths[4],
                ", populate: true");
    scim_sim *sim = run_yaml(yaml);
    const double L_oc = 60, L_oi = 50, L_id = 400;
    double cpu_wait = 0, dev_wait;
    if (!broadcast) {
        /* IPIs leave one after another; each core takes its IPI and acks */
        for (int i = 1; i <= ncpus; i++)
            cpu_wait = max2(cpu_wait, i * 100 + L_oc + 1000 + L_oc);
        /* descriptor to the IOMMU, its processing, the ATS invalidation to the
         * device, the device's processing, and both completions back */
        dev_wait = L_oi + 500 + L_id + 3000 + L_id + L_oi;
        ck_assert_double_eq(stat_of(sim, "os.ipis_sent"), ncpus);
        ck_assert_double_eq(stat_of(sim, "cpu0.ipis"), 1);
    } else {
        /* one broadcast, issued after 20 ns, snooped by every core, the
         * IOMMU and the device (reached through the IOMMU's node) */
        cpu_wait = 20 + L_oc + 15 + L_oc;
        dev_wait = max2(20 + L_oi + 30 + L_oi, 20 + (L_oi + L_id) + 100 + (L_id + L_oi));
        ck_assert_double_eq(stat_of(sim, "os.ipis_sent"), 0);
        ck_assert_double_eq(stat_of(sim, "os.broadcasts"), 1);
        ck_assert_double_eq(stat_of(sim, "cpu0.snoops"), 1);
    }
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdown.cpu_wait.max"), cpu_wait * 1000);
    ck_assert_double_eq(stat_of(sim, "os.shootdown.dev_wait.max"), dev_wait * 1000);
    ck_assert_double_eq(stat_of(sim, "os.shootdown.latency.max"), max2(cpu_wait, dev_wait) * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.inv.entries"), 1);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, REGION, &pa), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* ---- coalescing: 8 scattered pages as 8 device invalidations or one ----
 * The device processes invalidations one at a time (3 us each), so the
 * round costs 7 x 3 us more without coalescing. */
START_TEST(coalescing_saves_seven_device_invalidations)
{
    char dir[64], yaml[8192], cpu_path[256], nic_path[256], text[2048];
    double lat[2];
    for (int coalesce = 0; coalesce < 2; coalesce++) {
        tmpdir_make(dir, sizeof dir);
        size_t n = 0;
        for (int i = 0; i < 8; i++)
            n += (size_t)sprintf(text + n, "@%d write 0x%llx 8\n", i * 10000,
                                 (unsigned long long)(REGION + (uint64_t)i * 2 * 4096));
        n += (size_t)sprintf(text + n, "@200000 reclaim 0x%llx 0x10000\n", (unsigned long long)REGION);
        write_file(dir, "cpu.trace", text, cpu_path, sizeof cpu_path);
        write_file(dir, "nic.trace", "@150000 read 0x10000000 64\n", nic_path, sizeof nic_path);
        const char *traces[1] = {cpu_path};
        system_yaml(yaml, sizeof yaml, coalesce ? "inv_coalesce_pages: 4" : "inv_coalesce_pages: 33", 1, traces,
                    nic_path, "");
        scim_sim *sim = run_yaml(yaml);
        ck_assert_double_eq(stat_of(sim, "os.reclaim.evicted"), 8);
        ck_assert_double_eq(stat_of(sim, "os.inv_units"), coalesce ? 1 : 8);
        ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), coalesce ? 1 : 8);
        ck_assert_double_eq(stat_of(sim, "os.swap.writes"), 8);
        lat[coalesce] = stat_of(sim, "os.shootdown.dev_wait.max");
        scim_sim_destroy(sim);
        tmpdir_remove(dir);
    }
    ck_assert_double_eq(lat[0] - lat[1], 7 * 3000e3);
}
END_TEST

/* ---- memory pressure: faults, swap, reclaim; invariant holds; frames balance ---- */

static scim_sim *pressure_run(const char *backend, const char *protocol, char *dir)
{
    enum { N = 3000 };
    char cpu_path[256], nic_path[256], yaml[8192];
    rng_state = 77;
    char *cpu = malloc(N * 64), *nic = malloc(N * 64);
    size_t a = 0, b = 0;
    for (int i = 0; i < N; i++) {
        uint64_t page = (rng() % 3) ? rng() % 64 : rng() % 2000; /* hot set and a cold tail */
        a += (size_t)sprintf(cpu + a, "@%d %s 0x%llx 64\n", i * 300, (rng() & 1) ? "write" : "read",
                             (unsigned long long)(REGION + page * 4096));
        page = (rng() % 3) ? rng() % 64 : rng() % 2000;
        b += (size_t)sprintf(nic + b, "@%d %s 0x%llx 512\n", i * 300 + 150, (rng() & 1) ? "write" : "read",
                             (unsigned long long)(REGION + page * 4096));
    }
    write_file(dir, "cpu.trace", cpu, cpu_path, sizeof cpu_path);
    write_file(dir, "nic.trace", nic, nic_path, sizeof nic_path);
    free(cpu);
    free(nic);
    const char *traces[1] = {cpu_path};
    char os_extra[256];
    snprintf(os_extra, sizeof os_extra,
             "shootdown: %s, fault_handlers: 2, reclaim: {low_watermark: 64, high_watermark: 96, batch: 16}, "
             "swap: {read_latency: 20us, write_latency: 20us}",
             protocol);
    system_yaml(yaml, sizeof yaml, os_extra, 1, traces, nic_path, "");
    /* 2 MiB of memory against a footprint of ~6 MiB */
    char *m = strstr(yaml, "size: 256MiB");
    memcpy(m, "size: 2MiB  ", 12);
    char *k = strstr(yaml, "backend: native");
    if (strcmp(backend, "native") != 0)
        memcpy(k, "backend: systemc", 15), memmove(k + 16, k + 15, strlen(k + 15) + 1), k[15] = 'c';
    return run_yaml(yaml);
}

START_TEST(memory_pressure_faults_swaps_and_keeps_the_invariant)
{
    char dir[64];
    tmpdir_make(dir, sizeof dir);
    scim_sim *sim = pressure_run("native", _i ? "broadcast" : "sync", dir);
    ck_assert(stat_of(sim, "os.cpu_faults") > 0);
    ck_assert(stat_of(sim, "os.iopf.requests") > 0);
    ck_assert(stat_of(sim, "os.reclaim.evicted") > 0);
    ck_assert(stat_of(sim, "os.swap.writes") > 0);
    ck_assert(stat_of(sim, "os.faults.major") > 0);
    ck_assert(stat_of(sim, "os.reclaim.referenced") > 0);
    ck_assert(stat_of(sim, "os.shootdowns") >= stat_of(sim, "os.reclaim.rounds"));
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.requests"), 3000);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 3000);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.errors") + stat_of(sim, "nic0.dma.errors"), 0);
    scim_frame_counts fc;
    ck_assert_int_eq(scim_sim_frames(sim, &fc), 0);
    ck_assert_uint_eq(fc.total, fc.free + fc.data + fc.page_tables + fc.pasid_table + fc.deferred + fc.transit);
    ck_assert_uint_eq(fc.deferred, 0);
    ck_assert_uint_eq(fc.transit, 0);
    ck_assert(fc.free >= 64);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

START_TEST(cpus_and_devices_interleaved_are_deterministic)
{
    char dir[64], o[3][300];
    tmpdir_make(dir, sizeof dir);
    const char *backend[3] = {"native", "native", "systemc"};
    char *json[3];
    for (int i = 0; i < 3; i++) {
        scim_sim *sim = pressure_run(backend[i], "sync", dir);
        snprintf(o[i], sizeof o[i], "%s/out%d", dir, i);
        ck_assert_int_eq(scim_sim_write_stats(sim, o[i]), 0);
        scim_sim_destroy(sim);
        char p[400];
        snprintf(p, sizeof p, "%s/stats.json", o[i]);
        json[i] = slurp(p, NULL);
        ck_assert_ptr_nonnull(json[i]);
    }
    ck_assert_str_eq(json[0], json[1]);
    ck_assert_str_eq(json[0], json[2]);
    for (int i = 0; i < 3; i++)
        free(json[i]);
    tmpdir_remove(dir);
}
END_TEST

/* ---- the checker catches a protocol that skips device invalidation ---- */
START_TEST(checker_catches_a_skipped_device_invalidation)
{
    char dir[64], yaml[8192], cpu_path[256], nic_path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "cpu.trace", "@0 write 0x10000000 8\n@50000 munmap 0x10000000 0x1000\n", cpu_path,
               sizeof cpu_path);
    write_file(dir, "nic.trace", "@10000 read 0x10000000 64\n", nic_path, sizeof nic_path);
    const char *traces[1] = {cpu_path};
    for (int broken = 0; broken < 2; broken++) {
        system_yaml(yaml, sizeof yaml, broken ? "unsafe_skip_device_invalidation: true" : "shootdown: sync", 1,
                    traces, nic_path, "");
        scim_sim *s = scim_sim_create();
        ck_assert_int_eq(scim_sim_load_string(s, yaml, "test.yaml"), 0);
        ck_assert_int_eq(scim_sim_build(s), 0);
        int rc = scim_sim_run(s);
        if (broken) {
            ck_assert_int_eq(rc, SCIM_EINVARIANT);
            /* the IOMMU's caches (IOTLB, walk caches) and the device's IOTLB
             * all kept stale entries; the checker names the first it finds */
            ck_assert_msg(strstr(scim_sim_errmsg(s), "still translates") &&
                              (strstr(scim_sim_errmsg(s), "iommu.") || strstr(scim_sim_errmsg(s), "nic0.iotlb")),
                          "%s", scim_sim_errmsg(s));
            ck_assert_msg(strstr(scim_sim_errmsg(s), "freed"), "%s", scim_sim_errmsg(s));
        } else {
            ck_assert_msg(rc == 0, "%s", scim_sim_errmsg(s));
        }
        scim_sim_destroy(s);
    }
    tmpdir_remove(dir);
}
END_TEST

/* ---- mprotect, migrate and pins ---- */
START_TEST(mprotect_migrate_and_pins)
{
    char dir[64], yaml[8192], cpu_path[256], nic_path[256];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "cpu.trace",
               "@0 write 0x10000000 8\n"
               "@0 write 0x10001000 8\n"
               "@0 write 0x10002000 8\n"
               "@10000 pin 0x10002000 0x1000\n"
               "@20000 mprotect 0x10000000 0x1000 prot=r\n"
               "@30000 write 0x10000000 8\n"   /* write to a read-only page: fails */
               "@40000 read 0x10000000 8\n"    /* reads still work */
               "@50000 migrate 0x10001000 0x2000 node=1\n"
               "@60000 write 0x10001000 8\n",
               cpu_path, sizeof cpu_path);
    write_file(dir, "nic.trace", "@35000 write 0x10000000 64\n@36000 read 0x10000000 64\n", nic_path,
               sizeof nic_path);
    const char *traces[1] = {cpu_path};
    system_yaml(yaml, sizeof yaml, "shootdown: sync", 1, traces, nic_path, "");
    /* resolve before the run ends: run in two steps */
    scim_sim *sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, yaml, "test.yaml"), 0);
    ck_assert_int_eq(scim_sim_build(sim), 0);
    ck_assert_int_eq(scim_sim_run_until(sim, SCIM_NS(45000)), 0);
    uint64_t pa1_before, pa2_before, pa1_after, pa2_after, pa0;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10001000, &pa1_before), 1);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10002000, &pa2_before), 1);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10001000, &pa1_after), 1);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10002000, &pa2_after), 1);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10000000, &pa0), 1);
    ck_assert_uint_ne(pa1_before, pa1_after); /* migrated */
    ck_assert_uint_eq(pa2_before, pa2_after); /* pinned: stays */
    ck_assert_double_eq(stat_of(sim, "os.pages_migrated"), 1);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.errors"), 1);
    ck_assert_double_eq(stat_of(sim, "cpu0.fault.errors"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 1); /* the DMA write to the read-only page */
    ck_assert_double_eq(stat_of(sim, "os.frames.pinned"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 2); /* mprotect and migrate */
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* ---- 5-level paging and 1 GiB pages ----
 * A 1 GiB page in a 5-level space: PML5, PML4, PDPT(leaf) = 3 reads. */
START_TEST(five_level_paging_and_1g_pages)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    const uint64_t va = 0x10000000000000ull; /* 2^52: above the 48-bit space, needs 5 levels */
    char text[128], yaml[4096];
    snprintf(text, sizeof text, "@0 read 0x%llx 8\n", (unsigned long long)(va + 0x12345678));
    write_file(dir, "cpu.trace", text, path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\nsim: {check_invariants: true}\n"
             "memory: {size: 2GiB, latency: 90ns, bandwidth: 0}\n"
             "processes:\n  app:\n    pasid: 1\n    levels: 5\n    regions:\n"
             "      - {va: 0x%llx, size: 1GiB, page_size: 1G, populate: true}\n"
             "fabric:\n  links:\n    - {a: os, b: iommu, latency: 50ns}\n    - {a: os, b: mem, latency: 50ns}\n"
             "    - {a: iommu, b: mem, latency: 20ns}\n    - {a: cpu0, b: mem, latency: 10ns}\n"
             "    - {a: cpu0, b: os, latency: 60ns}\n"
             "cpus:\n  cpu0: {trace: %s, pasid: 1, clock: 1GHz, l1tlb: {latency: 1}, l2tlb: {latency: 7},"
             " pwc: {latency: 2}}\n",
             (unsigned long long)va, path);
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "cpu0.walk.pte_reads"), 3);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (1 + 7 + 2 + 3 * 110 + 110) * 1000.0);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, va + 0x12345678, &pa), 1);
    ck_assert_uint_eq(pa & ((1ull << 30) - 1), 0x12345678);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("os");
    TCase *tc = tcase_create("os");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, cpu_tlb_misses_equal_exact_two_level_lru, 0, 3);
    tcase_add_loop_test(tc, walk_latency_with_and_without_pwc_hits, 0, 4);
    tcase_add_loop_test(tc, shootdown_latency_is_the_sum_of_its_parts, 0, 6);
    tcase_add_test(tc, coalescing_saves_seven_device_invalidations);
    tcase_add_loop_test(tc, memory_pressure_faults_swaps_and_keeps_the_invariant, 0, 2);
    tcase_add_test(tc, cpus_and_devices_interleaved_are_deterministic);
    tcase_add_test(tc, checker_catches_a_skipped_device_invalidation);
    tcase_add_test(tc, mprotect_migrate_and_pins);
    tcase_add_test(tc, five_level_paging_and_1g_pages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* Virtual machines end to end (vms.<name>, processes.<n>.vm,
 * devices.<n>.vm): the IOMMU's two-dimensional walk of a guest's tables
 * through the hypervisor's stage 2, faults split between the guest and the
 * hypervisor, and the configuration errors.
 *
 * Timing as in test_isa.c: one 8-byte read from the IOMMU costs
 * 20 ns (link) + 8 ns (8 B at 1 GB/s) + 90 ns (memory) + 20 ns = 138 ns;
 * a translation is the device's IOTLB 1 ns + link 400 + IOMMU IOTLB 2 ns +
 * the context reads + the walk-cache lookup 3 ns + the walk's reads + link
 * 400. Without walk caches a guest walk reads (n+1)(m+1)-1 entries: 24 for
 * 4-level over EPT or Arm stage 2 (4 levels), 29 for 5-level, 19 for va39;
 * on riscv 15 for Sv39 over Sv39x4 (3 levels), 24 for Sv48 and 29 for Sv57
 * over Sv48x4.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const BASE =
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true}\n"
    "system: {isa: %s, paging: %s}\n"
    "memory: {size: 256MiB, latency: 90ns, bandwidth: 1GB/s}\n"
    "fabric:\n"
    "  links:\n"
    "    - {a: nic0, b: iommu, latency: 400ns}\n"
    "    - {a: iommu, b: mem, latency: 20ns}\n"
    "    - {a: os, b: mem, latency: 50ns}\n"
    "    - {a: os, b: iommu, latency: 50ns}\n"
    "iommu: {clock: 1GHz, iotlb: {latency: 2}, pwc: {latency: 3, entries: %d}, s2tlb: {entries: %d},\n"
    "        s2pwc: {entries: %d}}\n"
    "vms:\n"
    "  vm0: {memory: 16MiB, guest: {iopf: {zero_pages: %s}}, pin: %s}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    vm: vm0\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 4MiB, populate: %s}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, vm: vm0, max_outstanding: 1, clock: 1GHz, iotlb: {latency: 1}}\n";

static const struct walk_case {
    const char *isa, *paging;
    int reads;
    int s2_levels;    /* m */
    int ctx_bytes[4]; /* the context structures read (test_isa.c) */
} walk_cases[] = {
    {"x86-64", "4-level", 24, 4, {8, 8}},
    {"x86-64", "5-level", 29, 4, {8, 8}},
    {"armv8", "va48", 24, 4, {64, 8, 64}},
    {"armv8", "va39", 19, 4, {64, 8, 64}},
    /* RISC-V G-stage (Privileged spec 20211203, 8.5.1): an Sv39 host's
     * VMs get Sv39x4 (3 levels), the others Sv48x4 (4) */
    {"riscv", "sv39", 15, 3, {32, 8, 8, 16}},
    {"riscv", "sv48", 24, 4, {32, 8, 8, 16}},
    {"riscv", "sv57", 29, 4, {32, 8, 8, 16}},
};

static int s2pwc_entries; /* iommu.s2pwc.entries of the next run */

static scim_sim *run(const char *isa, const char *paging, int pwc, int s2tlb, const char *zero, const char *pin,
                     const char *populate, const char *trace, char *dir)
{
    char path[256], yaml[4096];
    tmpdir_make(dir, 64);
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, isa, paging, pwc, s2tlb, s2pwc_entries, zero, pin, populate, path);
    return run_yaml(yaml);
}

static double ctx_ns(const int *bytes, int *n)
{
    double ctx = 0;
    for (*n = 0; *n < 4 && bytes[*n]; (*n)++)
        ctx += 20 + bytes[*n] + 90 + 20;
    return ctx;
}

/* One DMA of a populated guest page, walk caches off: the hand-derived
 * translation latency and exactly (n+1)(m+1)-1 entry reads, m of them
 * per stage-2 walk. */
START_TEST(cold_2d_walk)
{
    const struct walk_case *c = &walk_cases[_i];
    char dir[64];
    scim_sim *sim = run(c->isa, c->paging, 0, 0, "true", "all", "true", "@0 read 0x10003040 64\n", dir);
    int k;
    const double ctx = ctx_ns(c->ctx_bytes, &k);
    const double xlat = 1 + 400 + 2 + ctx + 3 + c->reads * 138.0 + 400;
    ck_assert_msg(stat_of(sim, "nic0.translation.latency.max") == xlat * 1000, "%s %s: translation %.0f ps, not %.0f",
                  c->isa, c->paging, stat_of(sim, "nic0.translation.latency.max"), xlat * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pte_reads"), c->reads);
    int m = c->s2_levels, n = (c->reads + 1) / (m + 1) - 1; /* guest levels: (n+1)(m+1) - 1 reads */
    ck_assert_int_eq((n + 1) * (m + 1) - 1, c->reads);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.s2_reads"), (n + 1) * m);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.nested"), 1);
    ck_assert_double_eq(stat_of(sim, "mem.pte_reads"), k + c->reads);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.pinned"), 16 * 256 - 1); /* 16 MiB of frames but frame 0 */
    /* stage-2 tables mapping 16 MiB: the root (4 frames for the G-stage's
     * 16 KiB one), one table per level below it down to 8 last-level ones */
    int root = strcmp(c->isa, "riscv") ? 1 : 4;
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_tables"), root + (m - 2) + 8);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* With the walk caches: the first DMA walks cold (24 reads, filling the
 * combined pointers and the stage-2 TLB), a second page of the same 2 MiB
 * finds the pointer to its last-level table (host address) and reads its
 * guest entry and its page's stage-2 walk: 1 + 4; the first page again
 * (its IOTLB entry evicted by nothing: the device's IOTLB hits) costs no
 * walk. The second translation: 1 + 400 + 2 + 3 + 5 x 138 + 400 ns. */
START_TEST(cached_2d_walk)
{
    char dir[64];
    scim_sim *sim = run("x86-64", "4-level", 16, 16, "true", "all", "true",
                        "@0 read 0x10003040 64\n@100000 read 0x10004040 64\n", dir);
    ck_assert_double_eq(stat_of(sim, "iommu.walks"), 2);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pte_reads"), 24 + 5);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.min"), (1 + 400 + 2 + 3 + 5 * 138.0 + 400) * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.pwc.pde.hits"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.s2tlb.hits"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);

    /* With stage-2 paging-structure caches too. The guest's frames (its
     * tables and pages) sit in the first 2 MiB of guest-physical memory,
     * under one last-level EPT table: after the root's stage-2 walk (4
     * reads) every later stage-2 walk starts there (1 read). The cold walk:
     * 4 + 1 + 3 x (1 + 1) + 1 = 12 reads; the second: 1 + 1. */
    s2pwc_entries = 16;
    sim = run("x86-64", "4-level", 16, 16, "true", "all", "true",
              "@0 read 0x10003040 64\n@100000 read 0x10004040 64\n", dir);
    s2pwc_entries = 0;
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pte_reads"), 12 + 2);
    ck_assert_double_eq(stat_of(sim, "nic0.translation.latency.min"), (1 + 400 + 2 + 3 + 2 * 138.0 + 400) * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.s2pwc.pde.hits"), 4 + 1);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* Faults split. Stage 2 on demand (pin: none), a write DMA to a page the
 * guest has not mapped:
 *  - zeroing on: the device's page request goes to the guest (forwarded,
 *    1 us); the guest's handler zeroes a new frame, which takes a stage-2
 *    fault first (2.1 us on the hypervisor's queue); one device fault;
 *  - zeroing off: the guest maps the page without touching it, the
 *    device's retry walks all of stage 1 and faults at stage 2: a second
 *    page request, which the hypervisor resolves itself (2.1 us). */
START_TEST(faults_by_stage)
{
    char dir[64];
    scim_sim *sim = run("x86-64", "4-level", 16, 16, "true", "none", "false", "@0 write 0x10003040 64\n", dir);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.forwarded"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_touch"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_io"), 0);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_fault_latency.max"), 2100000);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.s2_faults"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);

    sim = run("x86-64", "4-level", 16, 16, "false", "none", "false", "@0 write 0x10003040 64\n", dir);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 2);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.forwarded"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_touch"), 0);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_io"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_fault_latency.max"), 2100000);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.s2_faults"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 1); /* the guest's: the stage-2 one is the hypervisor's */
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* The same VM workload on x86-64 (4-level over EPT) and riscv (Sv48 over
 * Sv48x4; Sv39 over Sv39x4): 4 KiB pages in both stages, so every fault,
 * miss and walk is the same; only the context structures differ (their
 * reads are not page-table reads), and the stage-2 root of the G-stage
 * is 4 frames. Stage 2 on demand with zeroing off: each of 8 pages takes
 * a guest fault then a stage-2 fault (16 device faults); each page is
 * written again at 500 us (IOTLB hits). 4 over 4 reads the same entries;
 * Sv39 over Sv39x4 fewer (and its guest has one table fewer to back),
 * its faults and misses the same. */
START_TEST(same_on_x86_and_riscv)
{
    char dir[64], trace[1024] = "";
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 8; i++)
            snprintf(trace + strlen(trace), sizeof trace - strlen(trace), "@%d write 0x%x 64\n",
                     pass * 500000 + i * 1000, 0x10000000 + i * 4096);
    static const char *const same[] = {"nic0.faults", "nic0.dma.errors", "nic0.iotlb.misses", "iommu.iotlb.misses",
                                       "iommu.walks", "iommu.walk.nested", "iommu.walk.s2_faults",
                                       "os.iopf.requests", "vm0.hyp.forwarded", "vm0.hyp.s2_faults_io",
                                       "vm0.hyp.s2_faults_touch"};
    static const char *const same4[] = {"iommu.walk.pte_reads", "iommu.walk.s2_reads", "iommu.pwc.pde.hits",
                                        "iommu.s2tlb.hits", "vm0.hyp.s2_maps", "vm0.hyp.frames_backed"};
    double want[COUNT_OF(same)], want4[COUNT_OF(same4)];
    static const char *const runs[][2] = {{"x86-64", "4-level"}, {"riscv", "sv48"}, {"riscv", "sv39"}};
    for (size_t r = 0; r < COUNT_OF(runs); r++) {
        scim_sim *sim = run(runs[r][0], runs[r][1], 16, 16, "false", "none", "false", trace, dir);
        for (size_t i = 0; i < COUNT_OF(same); i++) {
            double v = stat_of(sim, same[i]);
            if (r == 0)
                want[i] = v;
            ck_assert_msg(v == want[i], "%s %s: %s %.0f, x86-64 %.0f", runs[r][0], runs[r][1], same[i], v, want[i]);
        }
        for (size_t i = 0; r < 2 && i < COUNT_OF(same4); i++) {
            double v = stat_of(sim, same4[i]);
            if (r == 0)
                want4[i] = v;
            ck_assert_msg(v == want4[i], "%s: %s %.0f, x86-64 %.0f", runs[r][1], same4[i], v, want4[i]);
        }
        if (r == 0) { /* the hand-derived counts the others must match */
            ck_assert_double_eq(want[0], 16);
            ck_assert_double_eq(want[8], 8);
            ck_assert_double_eq(want[9], 8);
        }
        /* the 8 pages and the guest's tables, one fewer with Sv39 */
        ck_assert_double_eq(stat_of(sim, "vm0.hyp.frames_backed"), 8 + (r == 2 ? 3 : 4));
        scim_sim_destroy(sim);
        tmpdir_remove(dir);
    }
}
END_TEST

/* Stage-2 reclaim: at 50 us the hypervisor takes the 8 pages the NIC read
 * back at stage 2 (new host frames, old ones freed after the shootdown of
 * the guest PASID reached the IOMMU and the NIC); the NIC's second pass
 * at 100 us faults at stage 2 on each page and the hypervisor maps them
 * again. The checker holds: no access used an old frame after its
 * shootdown. With the device invalidation skipped (a broken protocol) the
 * NIC keeps its stale combined translations and the checker stops the
 * run. */
static const char *const RECLAIM =
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true}\n"
    "vms:\n"
    "  vm0: {memory: 16MiB, pin: none, s2_reclaim: {at: 50us, pages: 8}}\n"
    "os: {unsafe_skip_device_invalidation: %s}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    vm: vm0\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 32KiB, populate: true}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, vm: vm0}\n";

START_TEST(stage2_reclaim)
{
    char dir[64], path[256], yaml[2048], trace[1024] = "";
    tmpdir_make(dir, sizeof dir);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 8; i++)
            snprintf(trace + strlen(trace), sizeof trace - strlen(trace), "@%d read 0x%x 64\n",
                     pass * 100000 + i * 1000, 0x10000000 + i * 4096);
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, RECLAIM, "false", path);
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_reclaimed"), 8);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_rounds"), 1);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_io"), 8);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 8);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.frames_backed"), 8 + 4); /* the pages, 4 guest tables */
    scim_sim_destroy(sim);

    snprintf(yaml, sizeof yaml, RECLAIM, "true", path);
    sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, yaml, "test.yaml"), 0);
    ck_assert_int_eq(scim_sim_build(sim), 0);
    ck_assert_int_eq(scim_sim_run(sim), SCIM_EINVARIANT);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), "invariant") != NULL, "%s", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* A stage-1 shootdown in the guest reaches the assigned device: the NIC
 * reads 8 guest pages (combined entries in its ATC and the IOTLB), its
 * trace munmaps 4 of them (the guest OS's round: one invalidation to the
 * IOMMU, forwarded to the NIC), and reads all 8 again: the 4 unmapped
 * ones fail (no region), the 4 others hit. The checker holds; without the
 * device invalidation it stops the run (the freed frames are still in the
 * NIC's ATC). */
START_TEST(stage1_shootdown)
{
    char dir[64], path[256], yaml[2048], trace[2048] = "";
    tmpdir_make(dir, sizeof dir);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 8; i++)
            snprintf(trace + strlen(trace), sizeof trace - strlen(trace), "@%d read 0x%x 64\n",
                     pass * 100000 + i * 1000, 0x10000000 + i * 4096);
        if (pass == 0)
            snprintf(trace + strlen(trace), sizeof trace - strlen(trace), "@50000 munmap 0x10000000 0x4000\n");
    }
    write_file(dir, "t.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, RECLAIM, "false", path);
    char *at = strstr(yaml, "s2_reclaim: {at: 50us, pages: 8}");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "handlers: 1                     ", strlen("s2_reclaim: {at: 50us, pages: 8}"));
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.invalidations"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.iotlb.invalidations"), 4);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 4);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_reclaimed"), 0);
    scim_sim_destroy(sim);

    snprintf(yaml, sizeof yaml, RECLAIM, "true", path);
    at = strstr(yaml, "s2_reclaim: {at: 50us, pages: 8}");
    memcpy(at, "handlers: 1                     ", strlen("s2_reclaim: {at: 50us, pages: 8}"));
    sim = scim_sim_create();
    ck_assert_int_eq(scim_sim_load_string(sim, yaml, "test.yaml"), 0);
    ck_assert_int_eq(scim_sim_build(sim), 0);
    ck_assert_int_eq(scim_sim_run(sim), SCIM_EINVARIANT);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* Bad configurations: file:line:col, what is wrong, how to fix it. */
START_TEST(config_errors)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"processes:\n  app: {pasid: 1, vm: nope}\n",
         "test.yaml:2:23: error: processes.app: process 'app': no VM is named 'nope'; add vms.nope"},
        {"vms: {vm0: {}}\nprocesses:\n  app: {pasid: 1, vm: vm0}\n"
         "devices:\n  nic0: {trace: t, pasid: 1}\n",
         "test.yaml:5:9: error: devices.nic0: pasid 1 is a process of vm 'vm0'; a device reaches a guest's memory "
         "only when it is assigned to the guest: set devices.nic0.vm: vm0"},
        /* assigned to another VM than its process's */
        {"vms: {vm0: {}, vm1: {}}\nprocesses:\n  app: {pasid: 1, vm: vm0}\n"
         "devices:\n  nic0: {trace: t, pasid: 1, vm: vm1}\n",
         "test.yaml:5:34: error: devices.nic0: pasid 1 is a process of vm 'vm0'; a device reaches a guest's memory "
         "only when it is assigned to the guest: set devices.nic0.vm: vm0"},
        {"vms: {vm0: {}}\nprocesses:\n  app: {pasid: 1}\n"
         "devices:\n  nic0: {trace: t, pasid: 1, vm: vm0}\n",
         "test.yaml:5:34: error: devices.nic0.vm is 'vm0' but pasid 1 is a process of the host; give the device a "
         "process of vm 'vm0' (processes.<name>.vm: vm0) or remove devices.nic0.vm"},
        {"vms: {vm0: {}}\nprocesses:\n  app: {pasid: 1, vm: vm0}\n"
         "devices:\n  nic0: {trace: t, pasid: 1, vm: vm0, walk: device}\n",
         "test.yaml:5:45: error: devices.nic0.walk: a device assigned to a VM translates through the IOMMU (its 2D "
         "walk); set walk: iommu (device, software and shadow walks of guest tables are not modelled)"},
        {"system: {isa: riscv}\nvms: {vm0: {stage2: ept4}}\n",
         "test.yaml:2:12: error: vms.vm0: vm 'vm0': stage2 ept4 is not a stage-2 format of system.isa riscv "
         "(sv39x4 or sv48x4)"},
        {"system: {isa: riscv, paging: sv39}\nvms: {vm0: {memory: 4TiB}}\n",
         "test.yaml:2:12: error: vms.vm0: vm 'vm0': 4096 GiB of guest memory is beyond the 41-bit guest-physical "
         "addresses of sv39x4; lower vms.vm0.memory or choose a wider stage2"},
        {"vms: {vm0: {}}\nprocesses:\n  app:\n    pasid: 1\n    vm: vm0\n"
         "    regions: [{va: 0x40000000, size: 2MiB, page_size: 2M}]\n",
         "test.yaml:6:15: error: processes.app.regions.0: process 'app' runs in a VM, whose pages are 4 KiB in this "
         "model; set page_size: 4K"},
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        char msg[1024];
        int rc = build_yaml(cases[i].yaml, msg, sizeof msg);
        ck_assert_msg(rc != 0, "case %zu built", i);
        ck_assert_msg(strstr(msg, cases[i].want) != NULL, "case %zu:\n got  %s\n want %s", i, msg, cases[i].want);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vm");
    TCase *tc = tcase_create("vm");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, cold_2d_walk, 0, (int)COUNT_OF(walk_cases));
    tcase_add_test(tc, cached_2d_walk);
    tcase_add_test(tc, faults_by_stage);
    tcase_add_test(tc, same_on_x86_and_riscv);
    tcase_add_test(tc, stage2_reclaim);
    tcase_add_test(tc, stage1_shootdown);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

/* The ISA of a system (system.isa, system.paging) end to end, through
 * the public API: its configuration keys and errors, and a cold walk in
 * every page-table format with every IOMMU context family, whose reads and
 * latency are derived by hand:
 *   context reads: VT-d 2 (PASID directory and table entries, 8 B each),
 *     SMMUv3 3 (STE 64 B, L1 context descriptor 8 B, CD 64 B), RISC-V
 *     IOMMU 4 (device context 32 B, two process-directory entries 8 B,
 *     process context 16 B); then one 8 B entry per level (3, 4 or 5).
 * Memory runs at 1 GB/s (1 byte per ns of transfer before its 90 ns), the
 * links are unlimited, so a read of n bytes from the IOMMU takes
 * 20 + n + 90 + 20 ns.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* system.isa and system.paging, and a process's levels in the ISA. */
START_TEST(test_system_keys)
{
    static const struct {
        const char *yaml, *want;
        int code;
    } cases[] = {
        {"system:\n  isa: arm\n",
         "exp.yaml:2:8: error: key 'system.isa': expected one of: x86-64, armv8, riscv (did you mean 'armv8'?), got "
         "'arm'",
         SCIM_ECONFIG},
        {"system:\n  isa: armv8\n  paging: sv39\n",
         "exp.yaml:3:11: error: system.paging: sv39 is not a paging mode of system.isa armv8", SCIM_ECONFIG},
        {"system: {isa: armv8}\nprocesses:\n  app: {pasid: 1, levels: 5}\n",
         "exp.yaml:3:8: error: processes.app: process 'app': armv8 has no 5-level paging (3 levels: va39, or 4: va48)",
         SCIM_EINVAL},
        {"system: {isa: riscv, paging: sv39}\nprocesses:\n  app:\n    pasid: 1\n"
         "    regions: [{va: 0x7f0000000000, size: 4096}]\n",
         "exp.yaml:5:15: error: processes.app.regions.0: region [0x7f0000000000, 0x7f0000001000) is not canonical for "
         "riscv sv39 paging",
         SCIM_EINVAL},
        {"system: {isa: armv8}\nprocesses:\n  app:\n    pasid: 1\n"
         "    regions: [{va: 0xffff800000000000, size: 4096}]\n",
         "exp.yaml:5:15: error: processes.app.regions.0: region [0xffff800000000000, 0xffff800000001000) is not a "
         "valid address range for armv8 va48 paging",
         SCIM_EINVAL},
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        scim_sim *sim = scim_sim_create();
        ck_assert_int_eq(scim_sim_load_string(sim, cases[i].yaml, "exp.yaml"), 0);
        ck_assert_int_eq(scim_sim_build(sim), cases[i].code);
        ck_assert_str_eq(scim_sim_errmsg(sim), cases[i].want);
        scim_sim_destroy(sim);
    }
    /* every ISA builds with its default paging and with each of its modes */
    static const char *const ok[] = {"x86-64", "armv8", "riscv"};
    static const char *const modes[] = {"4-level", "5-level", "va39", "va48", "sv39", "sv48", "sv57"};
    static const int isa_of[] = {0, 0, 1, 1, 2, 2, 2};
    for (size_t i = 0; i < COUNT_OF(modes) + COUNT_OF(ok); i++) {
        char yaml[160];
        if (i < COUNT_OF(ok))
            snprintf(yaml, sizeof yaml, "system: {isa: %s}\nprocesses: {app: {pasid: 1}}\n", ok[i]);
        else
            snprintf(yaml, sizeof yaml, "system: {isa: %s, paging: %s}\nprocesses: {app: {pasid: 1}}\n",
                     ok[isa_of[i - 3]], modes[i - 3]);
        scim_sim *sim = scim_sim_create();
        ck_assert_int_eq(scim_sim_load_string(sim, yaml, "ok.yaml"), 0);
        ck_assert_msg(scim_sim_build(sim) == 0, "%s: %s", yaml, scim_sim_errmsg(sim));
        scim_sim_destroy(sim);
    }
}
END_TEST


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
    "    - {a: cpu0, b: mem, latency: 20ns}\n"
    "    - {a: cpu0, b: os, latency: 50ns}\n"
    "iommu: {clock: 1GHz, iotlb: {latency: 2}, pwc: {latency: 3}}\n"
    "processes:\n"
    "  app:\n"
    "    pasid: 1\n"
    "    regions:\n"
    "      - {va: 0x10000000, size: 4MiB, populate: true}\n"
    "devices:\n"
    "  nic0: {trace: %s, pasid: 1, max_outstanding: 1, clock: 1GHz, iotlb: {latency: 1}}\n"
    "cpus:\n"
    "  cpu0: {trace: %s, pasid: 1}\n";

static const struct walk_case {
    const char *isa, *paging;
    int levels;
    double ctx_bytes[4]; /* each context read's size */
} walk_cases[] = {
    {"x86-64", "4-level", 4, {8, 8}},
    {"x86-64", "5-level", 5, {8, 8}},
    {"armv8", "va39", 3, {64, 8, 64}},
    {"armv8", "va48", 4, {64, 8, 64}},
    {"riscv", "sv39", 3, {32, 8, 8, 16}},
    {"riscv", "sv48", 4, {32, 8, 8, 16}},
    {"riscv", "sv57", 5, {32, 8, 8, 16}},
};

/* One DMA and one CPU load of a populated page, in every format: the
 * device's translation is its IOTLB 1 ns + link 400 + IOMMU IOTLB 2 ns +
 * the context reads + walk-cache lookup 3 ns + one 8 B read per level +
 * link 400; the core walks the same levels (no context). */
START_TEST(cold_walk)
{
    const struct walk_case *c = &walk_cases[_i];
    char dir[64], path[256], yaml[4096];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 read 0x10003040 64\n", path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, c->isa, c->paging, path, path);
    scim_sim *sim = run_yaml(yaml);
    double ctx = 0;
    int k = 0;
    for (; k < 4 && c->ctx_bytes[k]; k++)
        ctx += 20 + c->ctx_bytes[k] + 90 + 20;
    const double pte = 20 + 8 + 90 + 20;
    const double xlat = 1 + 400 + 2 + ctx + 3 + c->levels * pte + 400;
    ck_assert_msg(stat_of(sim, "nic0.translation.latency.max") == xlat * 1000, "%s %s: translation %.0f ps, not %.0f",
                  c->isa, c->paging, stat_of(sim, "nic0.translation.latency.max"), xlat * 1000);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pasid_reads"), k);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pte_reads"), c->levels);
    ck_assert_double_eq(stat_of(sim, "iommu.walks"), 1);
    ck_assert_double_eq(stat_of(sim, "cpu0.walks"), 1);
    ck_assert_double_eq(stat_of(sim, "cpu0.walk.pte_reads"), c->levels);
    ck_assert_double_eq(stat_of(sim, "mem.pte_reads"), k + 2 * c->levels);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    /* each walk set the leaf's accessed flag; x86 also sets A in every
     * table entry it reads (SDM 4.8), Arm and RISC-V only in the leaf */
    double ad = stat_of(sim, "mem.ad_updates");
    if (!strcmp(c->isa, "x86-64"))
        ck_assert_msg(ad == c->levels, "%s: %.0f A/D updates", c->paging, ad);
    else
        ck_assert_msg(ad == 1, "%s: %.0f A/D updates", c->paging, ad);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* A write DMA to a read-only page, on every ISA: the walk grants read
 * only, the device asks for write access, the OS refuses (the region is
 * read-only), the DMA fails. x86 sets A in every entry the walk read
 * (SDM 4.8); Arm and RISC-V update nothing for an access the leaf does not
 * permit (Arm ARM D8.5, RISC-V 10.3.2 step 7). */
START_TEST(permission_fault)
{
    static const char *const isas[] = {"x86-64", "armv8", "riscv"};
    const char *isa = isas[_i];
    char dir[64], path[256], yaml[1024];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "w.trace", "@0 write 0x10003040 64\n", path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "sim: {check_invariants: true}\nsystem: {isa: %s}\n"
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 4MiB, populate: true, prot: r}]}}\n"
             "devices: {nic0: {trace: %s, pasid: 1, max_outstanding: 1}}\n",
             isa, path);
    scim_sim *sim = run_yaml(yaml);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.invalid"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.pte_reads"), 4);
    ck_assert_double_eq(stat_of(sim, "mem.ad_updates"), _i == 0 ? 4 : 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

static Suite *isa_suite(void)
{
    Suite *s = suite_create("isa");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_system_keys);
    tcase_add_loop_test(tc, cold_walk, 0, (int)COUNT_OF(walk_cases));
    tcase_add_loop_test(tc, permission_fault, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(isa_suite()); }

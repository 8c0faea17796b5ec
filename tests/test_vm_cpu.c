/* Cores of a guest (cpus.<c>.pasid naming a process with vm: <name>):
 * every walk is two-dimensional through the VM's stage 2, a guest's own
 * page fault is the guest kernel's (vms.<n>.guest.cpu_fault_cost, no
 * exit), a stage-2 fault exits to the hypervisor (an EPT violation,
 * vms.<n>.s2_fault_cost), and a stage-2 reclaim's shootdown reaches the
 * core's TLBs and its guest-physical mappings.
 *
 * References: entry counts of the 2D walk, (n+1)(m+1)-1; the mechanism's
 * sums (a fault's latency moves by exactly the change of the cost that
 * handles it); the safety checker's two rules for the reclaim. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"

#define PS_PER_NS 1000.0

static const char *const BASE =
    "kernel: {backend: native}\n"
    "sim: {check_invariants: true}\n"
    "os: {%s}\n"
    "vms:\n"
    "  vm0: {memory: 16MiB, pin: %s, guest: {%s}%s}\n"
    "processes:\n"
    "  app: {pasid: 1, %s regions: [{va: 0x10000000, size: 1MiB, populate: %s}]}\n"
    "cpus:\n"
    "  cpu0: {trace: %s, pasid: 1, max_outstanding: 1, clock: 1GHz, pwc: {entries: %d}, s2tlb: {entries: %d},\n"
    "         s2pwc: {entries: %d}}\n";

typedef struct run_opts {
    const char *os, *pin, *guest, *vm_extra, *populate, *trace;
    bool host; /* the process on the host (no vm) */
    int caches; /* entries of pwc, s2tlb and s2pwc */
} run_opts;

static scim_sim *run(const run_opts *o, char *dir)
{
    char path[256], yaml[4096];
    tmpdir_make(dir, 64);
    write_file(dir, "c.trace", o->trace, path, sizeof path);
    snprintf(yaml, sizeof yaml, BASE, o->os ? o->os : "", o->pin ? o->pin : "all", o->guest ? o->guest : "",
             o->vm_extra ? o->vm_extra : "", o->host ? "" : "vm: vm0,", o->populate ? o->populate : "true", path,
             o->caches, o->caches, o->caches);
    return run_yaml(yaml);
}

/* One read of a populated page, every walk cache off: the host core's walk
 * reads 4 entries, the guest core's 2D walk 24 (4 guest entries, 5 stage-2
 * walks of 4), and, one walk at a time, every entry read costs the same,
 * so the 2D walk's translation takes the 1D one's plus 20 reads. */
START_TEST(cold_2d_walk)
{
    char dir[64];
    run_opts o = {.trace = "@0 read 0x10003000 8\n", .host = true};
    scim_sim *sim = run(&o, dir);
    ck_assert_double_eq(stat_of(sim, "cpu0.walk.pte_reads"), 4);
    double host_ns = stat_of(sim, "cpu0.translation.latency.max") / PS_PER_NS;
    double tlbs_ns = 1 + 12 + 1; /* L1 1 + STLB 12 + walk-cache lookup 1 cycle at 1 GHz */
    double read_ns = (host_ns - tlbs_ns) / 4;
    scim_sim_destroy(sim);
    tmpdir_remove(dir);

    o.host = false;
    sim = run(&o, dir);
    ck_assert_double_eq(stat_of(sim, "cpu0.walk.nested"), 1);
    ck_assert_double_eq(stat_of(sim, "cpu0.walk.pte_reads"), 24);
    ck_assert_double_eq(stat_of(sim, "cpu0.walk.s2_reads"), 20);
    ck_assert_double_eq(stat_of(sim, "cpu0.faults"), 0);
    ck_assert_double_eq_tol(stat_of(sim, "cpu0.translation.latency.max") / PS_PER_NS, tlbs_ns + 24 * read_ns, 1e-6);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* A write to a page the guest has not mapped. Stage 2 pinned (pin: all):
 * one fault, the guest's, whose latency moves by exactly a change of
 * guest.cpu_fault_cost and not at all with os.cpu_fault_cost. Stage 2 on
 * demand (pin: none): the guest maps the page without the host knowing,
 * the retried walk fails at stage 2 and exits to the hypervisor: two
 * faults, one of each. */
START_TEST(faults_by_stage)
{
    char dir[64];
    run_opts o = {.trace = "@0 write 0x10003000 8\n", .populate = "false"};
    double lat[3];
    const char *guest[3] = {"", "cpu_fault_cost: 5700ns", ""};
    const char *os[3] = {"", "", "cpu_fault_cost: 9us"};
    for (int i = 0; i < 3; i++) {
        o.guest = guest[i];
        o.os = os[i];
        scim_sim *sim = run(&o, dir);
        ck_assert_double_eq(stat_of(sim, "cpu0.faults"), 1);
        ck_assert_double_eq(stat_of(sim, "os.cpu_faults"), 1);
        ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_cpu"), 0);
        ck_assert_double_eq(stat_of(sim, "cpu0.fault.errors"), 0);
        lat[i] = stat_of(sim, "cpu0.fault.latency.max") / PS_PER_NS;
        scim_sim_destroy(sim);
        tmpdir_remove(dir);
    }
    ck_assert_double_eq_tol(lat[1] - lat[0], 5700 - 1700, 1e-6);
    ck_assert_double_eq_tol(lat[2], lat[0], 1e-6);

    o = (run_opts){.trace = "@0 write 0x10003000 8\n", .populate = "false", .pin = "none"};
    scim_sim *sim = run(&o, dir);
    ck_assert_double_eq(stat_of(sim, "cpu0.faults"), 2);
    ck_assert_double_eq(stat_of(sim, "os.cpu_faults"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_cpu"), 1);
    ck_assert_double_eq(stat_of(sim, "iommu.walk.s2_faults") + stat_of(sim, "cpu0.walk.s2_faults"), 1);
    /* the stage-2 fault: the round trip of the guest's fault with the
     * hypervisor's cost in place of the guest's */
    ck_assert_double_eq_tol(stat_of(sim, "cpu0.fault.latency.max") / PS_PER_NS, lat[0] - 1700 + 2100, 1e-6);
    ck_assert_double_eq(stat_of(sim, "cpu0.fault.errors"), 0);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

/* Stage-2 reclaim under a guest core: it reads 8 pages, at 50 us the
 * hypervisor takes them back (new host frames; the shootdown of the guest
 * PASID reaches the core), and the second pass at 100 us faults at stage
 * 2 on each page. The checker holds: no read used an old frame after the
 * shootdown, no old frame was freed while a TLB or the core's stage-2
 * cache translated to it. */
START_TEST(stage2_reclaim)
{
    char dir[64], trace[1024] = "";
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 8; i++)
            snprintf(trace + strlen(trace), sizeof trace - strlen(trace), "@%d read 0x%x 8\n",
                     pass * 100000 + i * 1000, 0x10000000 + i * 4096);
    run_opts o = {.trace = trace, .pin = "none", .vm_extra = ", s2_reclaim: {at: 50us, pages: 8}", .caches = 16};
    scim_sim *sim = run(&o, dir);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_reclaimed"), 8);
    ck_assert_double_eq(stat_of(sim, "os.shootdowns"), 1);
    ck_assert_double_eq(stat_of(sim, "vm0.hyp.s2_faults_cpu"), 8);
    ck_assert_double_eq(stat_of(sim, "cpu0.faults"), 8);
    ck_assert_double_eq(stat_of(sim, "cpu0.fault.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "cpu0.mem.chunks"), 16);
    scim_sim_destroy(sim);
    tmpdir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vm_cpu");
    TCase *tc = tcase_create("vm_cpu");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cold_2d_walk);
    tcase_add_test(tc, faults_by_stage);
    tcase_add_test(tc, stage2_reclaim);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

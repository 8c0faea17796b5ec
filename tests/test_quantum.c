/* kernel.quantum (scim_kernel_set_quantum): with the SystemC backend, one
 * wake-up runs the events of a quantum ahead of SystemC's clock when
 * nothing else is in the SystemC hierarchy. The references: the order and
 * times the events see are those of the sorted schedule; whole runs give
 * byte-identical statistics with quantum 0, 1 us and 1 ms and with the
 * native backend; the wake-ups drop to one per quantum with work.
 * (tests/test_hosted.cpp: inside a platform it has no effect.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "scimitar/kernel.h"
#include "helpers/testutil.h"

#define NS 1000ull

typedef struct seen {
    scim_kernel *k;
    scim_time_t at[8];
    uint64_t id[8];
    int n;
} seen;

static void on_event(void *ctx, uint64_t arg)
{
    seen *s = ctx;
    s->at[s->n] = scim_kernel_now(s->k);
    s->id[s->n++] = arg;
}

/* Events at 5, 12, 25 and 250 ns. Quantum 0: four wake-ups; 100 ns: one
 * at 5 runs 5, 12 and 25, one at 250 runs 250; 1 ms: one. Every event sees
 * its own time, in order; after the run the kernel's clock is the last
 * event's even though SystemC's stayed behind. */
START_TEST(wakeups_per_quantum)
{
    static const struct {
        scim_time_t quantum;
        uint64_t wakeups;
    } cases[] = {{0, 4}, {100 * NS, 2}, {1000000 * NS, 1}, {SCIM_TIME_MAX, 1} /* now + quantum saturates */};
    const scim_time_t when[4] = {25 * NS, 5 * NS, 250 * NS, 12 * NS};
    const scim_time_t sorted[4] = {5 * NS, 12 * NS, 25 * NS, 250 * NS};
    const uint64_t order[4] = {1, 3, 0, 2};
    scim_err err = {0};
    scim_kernel *k = scim_kernel_create(SCIM_BACKEND_SYSTEMC, &err);
    ck_assert_msg(k, "%s", err.msg);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        seen s = {.k = k};
        scim_time_t t0 = scim_kernel_now(k);
        scim_kernel_set_quantum(k, cases[c].quantum);
        uint64_t w0 = scim_kernel_wakeups(k);
        for (uint64_t i = 0; i < 4; i++)
            scim_kernel_schedule(k, when[i], SCIM_PRIO_DEFAULT, on_event, &s, i);
        ck_assert_int_eq(scim_kernel_run(k, &err), 0);
        ck_assert_int_eq(s.n, 4);
        for (int i = 0; i < 4; i++) {
            ck_assert_uint_eq(s.at[i], t0 + sorted[i]);
            ck_assert_uint_eq(s.id[i], order[i]);
        }
        ck_assert_uint_eq(scim_kernel_wakeups(k) - w0, cases[c].wakeups);
        ck_assert_uint_eq(scim_kernel_now(k), t0 + 250 * NS);
    }
    scim_kernel_destroy(k);
}
END_TEST

/* A NIC whose DMAs fault (handler queue, zeroing, shootdown-free) and a
 * core beside it: the statistics, as JSON, byte for byte. */
static char *stats_json(const char *trace_dir, const char *kernel, uint64_t *wakeups)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "kernel: {%s}\n"
             "processes:\n"
             "  app: {pasid: 1, regions: [{va: 0x10000000, size: 4MiB}]}\n"
             "devices:\n"
             "  nic0: {trace: %s/nic.trace, pasid: 1, max_outstanding: 8}\n"
             "cpus:\n"
             "  cpu0: {trace: %s/cpu.trace, pasid: 1}\n",
             kernel, trace_dir, trace_dir);
    scim_sim *sim = run_yaml(yaml);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    scim_err err = {0};
    ck_assert_int_eq(scim_stats_write_json(scim_sim_stats(sim), f, &err), 0);
    fclose(f);
    *wakeups = scim_kernel_wakeups(scim_sim_kernel(sim));
    scim_sim_destroy(sim);
    return buf;
}

START_TEST(same_statistics)
{
    char dir[64], path[256];
    tmpdir_make(dir, sizeof dir);
    size_t cap = 1 << 20, n = 0;
    char *nic = malloc(cap), *cpu = malloc(cap);
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(nic + n, cap - n, "@%d write 0x%x 256\n", i * 40, 0x10000000 + (i * 256) % 0x200000);
    n = 0;
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(cpu + n, cap - n, "@%d read 0x%x 8\n", i * 50, 0x10200000 + (i * 4096) % 0x100000);
    write_file(dir, "nic.trace", nic, path, sizeof path);
    write_file(dir, "cpu.trace", cpu, path, sizeof path);
    free(nic);
    free(cpu);
    uint64_t wakeups[4];
    char *ref = stats_json(dir, "backend: native", &wakeups[0]);
    const char *const kernels[] = {"backend: systemc, quantum: 0", "backend: systemc, quantum: 1us",
                                   "backend: systemc, quantum: 1ms"};
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        char *got = stats_json(dir, kernels[i], &wakeups[i + 1]);
        ck_assert_msg(strcmp(ref, got) == 0, "%s: statistics differ from the native backend's", kernels[i]);
        free(got);
    }
    /* 3,000 DMAs 40 ns apart take 120 us: at most ~1 wake-up per us with
     * work, far fewer than one per distinct event time */
    ck_assert_uint_eq(wakeups[0], 0);
    ck_assert_uint_gt(wakeups[1], 10 * wakeups[2]);
    ck_assert_uint_gt(wakeups[2], wakeups[3]);
    ck_assert_ptr_nonnull(strstr(ref, "\"nic0.faults\": "));
    ck_assert_ptr_null(strstr(ref, "\"nic0.faults\": 0,"));
    free(ref);
    tmpdir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("quantum");
    TCase *tc = tcase_create("quantum");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, wakeups_per_quantum);
    tcase_add_test(tc, same_statistics);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }

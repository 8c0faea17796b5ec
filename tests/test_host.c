/* The host API (include/scimitar/host.h): a program submits a device's
 * DMAs, gets completions, faults and invalidations through callbacks, and
 * calls the OS while the model runs. References: the same accesses from
 * a trace file (per request latencies, physical addresses and every
 * statistic must be equal), the OS's page table (scim_sim_resolve), and
 * hand sums with unlimited bandwidth: an IOTLB hit costs the lookup
 * (1 ns) plus nic0 -> iommu -> mem and back (400 + 20 + 90 + 20 + 400 ns),
 * 931 ns. The safety checker runs in every test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/simtest.h"
#include "helpers/testutil.h"
#include "scimitar/host.h"
#include "scimitar/kernel.h"

#define REGION 0x10000000ull
#define COLD 0x10200000ull /* second region, not populated */
#define PAGE 4096ull
#define HIT_NS 931ull
#define MAX_REQ 512

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
    "      - {va: 0x10000000, size: 2MiB, populate: true}\n"
    "      - {va: 0x10200000, size: 2MiB}\n"
    "devices:\n"
    "  nic0: {%s, pasid: 1, max_outstanding: %d, clock: 1GHz,\n"
    "         iotlb: {entries: 16, ways: 4, page_sizes: 4K, latency: 1}}\n";

/* What the callbacks saw. */
typedef struct seen {
    size_t n;
    uint64_t tag[MAX_REQ];
    int status[MAX_REQ];
    scim_time_t latency[MAX_REQ], completed[MAX_REQ];
    uint64_t pa[MAX_REQ][4];
    size_t n_pages[MAX_REQ];
    size_t n_faults, n_resolved, n_inv;
    scim_dev_fault fault[8];
    scim_dev_invalidation inv[8];
    size_t n_os;
    int os_status[8];
    uint64_t os_tag[8];
    scim_time_t os_done[8];
} seen;

static void on_completion(void *ctx, scim_dev *dev, const scim_dev_completion *c)
{
    (void)dev;
    seen *s = ctx;
    CHECK(s->n < MAX_REQ, "too many completions");
    s->tag[s->n] = c->tag;
    s->status[s->n] = c->status;
    s->latency[s->n] = c->latency;
    s->completed[s->n] = c->completed;
    CHECK(c->latency == c->completed - c->submitted, "latency is completed - submitted");
    CHECK(c->issued >= c->submitted && c->completed >= c->issued, "times in order");
    s->n_pages[s->n] = c->n_pages;
    for (size_t i = 0; i < c->n_pages && i < 4; i++)
        s->pa[s->n][i] = c->pa[i];
    s->n++;
}

static void on_fault(void *ctx, scim_dev *dev, const scim_dev_fault *f)
{
    (void)dev;
    seen *s = ctx;
    if (s->n_faults + s->n_resolved < 8)
        s->fault[s->n_faults + s->n_resolved] = *f;
    if (f->resolved)
        s->n_resolved++;
    else
        s->n_faults++;
}

static void on_inv(void *ctx, scim_dev *dev, const scim_dev_invalidation *inv)
{
    (void)dev;
    seen *s = ctx;
    if (s->n_inv < 8)
        s->inv[s->n_inv] = *inv;
    s->n_inv++;
}

static void on_os(void *ctx, uint64_t tag, int status, scim_time_t submitted, scim_time_t completed)
{
    seen *s = ctx;
    CHECK(completed >= submitted, "OS call answered before it was made");
    if (s->n_os < 8) {
        s->os_tag[s->n_os] = tag;
        s->os_status[s->n_os] = status;
        s->os_done[s->n_os] = completed;
    }
    s->n_os++;
}

static const scim_dev_callbacks CALLBACKS = {on_completion, on_fault, on_inv};

static scim_sim *build(const char *backend, const char *source, int outstanding)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, BASE, backend, source, outstanding);
    scim_sim *sim = scim_sim_create();
    ck_assert_ptr_nonnull(sim);
    ck_assert_msg(scim_sim_load_string(sim, yaml, "host.yaml") == 0 && scim_sim_build(sim) == 0, "%s",
                  scim_sim_errmsg(sim));
    return sim;
}

static scim_dev *nic_of(scim_sim *sim, seen *s)
{
    scim_dev *d = scim_sim_device(sim, "nic0");
    ck_assert_msg(d != NULL, "%s", scim_sim_errmsg(sim));
    ck_assert_int_eq(scim_dev_set_callbacks(d, &CALLBACKS, s), 0);
    return d;
}

static char *stats_json(scim_sim *sim)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    scim_err e = {0};
    ck_assert_int_eq(scim_stats_write_json(scim_sim_stats(sim), f, &e), 0);
    fclose(f);
    return buf;
}

/* ---- the same accesses from a trace and from the host ---- */

typedef struct access {
    uint64_t at_ns, va, size;
    bool write;
} access;

static size_t random_accesses(access *a, size_t n, uint64_t seed)
{
    uint64_t s = seed, t = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            t += rnd(&s, 3) * 700; /* some at the same time, some apart; the first at 0 */
        uint64_t base = rnd(&s, 4) == 0 ? COLD : REGION;
        a[i] = (access){t, base + rnd(&s, 40) * PAGE + rnd(&s, 64) * 64, 1 + rnd(&s, 3 * PAGE), rnd(&s, 2) == 0};
    }
    return n;
}

START_TEST(host_requests_equal_trace_records)
{
    access acc[200];
    size_t n = random_accesses(acc, 200, 0x5eed + (uint64_t)_i);
    char dir[64], path[256], src[320];
    tmpdir_make(dir, sizeof dir);
    char *text = malloc(n * 64 + 1);
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)sprintf(text + off, "@%llu %s 0x%llx %llu\n", (unsigned long long)acc[i].at_ns,
                               acc[i].write ? "write" : "read", (unsigned long long)acc[i].va,
                               (unsigned long long)acc[i].size);
    write_file(dir, "dma.trace", text, path, sizeof path);
    free(text);
    const char *backend = _i ? "systemc" : "native";

    seen *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    snprintf(src, sizeof src, "trace: %s", path);
    scim_sim *tr = build(backend, src, 4);
    nic_of(tr, a);
    ck_assert_int_eq(scim_sim_run(tr), 0);

    scim_sim *ho = build(backend, "source: host", 4);
    scim_dev *nic = nic_of(ho, b);
    for (size_t i = 0; i < n; i++) {
        scim_dev_request r = {acc[i].write ? SCIM_DEV_WRITE : SCIM_DEV_READ, 0, acc[i].va, acc[i].size, i + 1,
                              SCIM_NS(acc[i].at_ns)};
        ck_assert_int_eq(scim_dev_submit_request(nic, &r), 0);
    }
    ck_assert_int_eq(scim_sim_run(ho), 0);
    ck_assert(scim_dev_idle(nic));

    /* every request: same order, tag (trace line = submission number), latency, frames */
    ck_assert_uint_eq(a->n, n);
    ck_assert_uint_eq(b->n, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(a->tag[i], b->tag[i]);
        ck_assert_uint_eq(a->latency[i], b->latency[i]);
        ck_assert_uint_eq(a->n_pages[i], b->n_pages[i]);
        for (size_t p = 0; p < b->n_pages[i] && p < 4; p++) {
            ck_assert_uint_eq(a->pa[i][p], b->pa[i][p]);
            /* the frame the OS maps the page to (nothing is unmapped here) */
            const access *x = &acc[b->tag[i] - 1];
            uint64_t va = p == 0 ? x->va : (x->va & ~(PAGE - 1)) + p * PAGE, pa;
            ck_assert_int_eq(scim_sim_resolve(ho, 1, va, &pa), 1);
            ck_assert_uint_eq(b->pa[i][p], pa);
        }
    }
    ck_assert_uint_gt(b->n_faults, 0);
    ck_assert_uint_eq(a->n_faults, b->n_faults);
    ck_assert_uint_eq(b->n_faults, b->n_resolved);
    /* and every statistic */
    char *ja = stats_json(tr), *jb = stats_json(ho);
    if (strcmp(ja, jb) != 0) {
        FILE *f = fopen("/tmp/scim_host_trace.json", "w");
        fputs(ja, f);
        fclose(f);
        f = fopen("/tmp/scim_host_host.json", "w");
        fputs(jb, f);
        fclose(f);
    }
    ck_assert_msg(strcmp(ja, jb) == 0, "statistics differ between the trace and the host run (/tmp/scim_host_*.json)");
    free(ja);
    free(jb);
    scim_sim_destroy(tr);
    scim_sim_destroy(ho);
    free(a);
    free(b);
    tmpdir_remove(dir);
}
END_TEST

/* ---- hand sums ---- */

/* Warm the page at REGION into the IOTLB; returns the time after. */
static scim_time_t warm(scim_sim *sim, scim_dev *nic, seen *s)
{
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, REGION, 64, 1000), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n, 1);
    memset(s, 0, sizeof *s);
    return scim_sim_now(sim);
}

START_TEST(completions_in_order_with_tags)
{
    seen *s = calloc(1, sizeof *s);
    scim_sim *sim = build("native", "source: host", 1);
    scim_dev *nic = nic_of(sim, s);
    scim_time_t t0 = warm(sim, nic, s);
    /* one slot: three hits queue behind each other */
    for (uint64_t tag = 7; tag <= 9; tag++)
        ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, REGION + 64 * tag, 64, tag), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n, 3);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, REGION, &pa), 1);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(s->tag[i], 7 + i);
        ck_assert_int_eq(s->status[i], SCIM_OK);
        ck_assert_uint_eq(s->latency[i], SCIM_NS(HIT_NS) * (i + 1));
        ck_assert_uint_eq(s->completed[i], t0 + SCIM_NS(HIT_NS) * (i + 1));
        ck_assert_uint_eq(s->pa[i][0], pa + 64 * (7 + i));
    }
    /* a request submitted from inside a completion is taken later, in an event */
    scim_sim_destroy(sim);
    free(s);
}
END_TEST

/* A request for the future waits for its time, then costs a hit. */
START_TEST(submission_time_is_respected)
{
    seen *s = calloc(1, sizeof *s);
    scim_sim *sim = build("native", "source: host", 4);
    scim_dev *nic = nic_of(sim, s);
    scim_time_t t0 = warm(sim, nic, s);
    scim_dev_request r = {SCIM_DEV_WRITE, 0, REGION + 128, 64, 5, t0 + SCIM_US(3)};
    ck_assert_int_eq(scim_dev_submit_request(nic, &r), 0);
    ck_assert_int_eq(scim_sim_run_until(sim, t0 + SCIM_US(2)), 0);
    ck_assert_uint_eq(s->n, 0);
    ck_assert(!scim_dev_idle(nic));
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n, 1);
    ck_assert_uint_eq(s->completed[0], t0 + SCIM_US(3) + SCIM_NS(HIT_NS));
    ck_assert_uint_eq(s->latency[0], SCIM_NS(HIT_NS));
    scim_sim_destroy(sim);
    free(s);
}
END_TEST

/* Translate only: the IOTLB lookup (1 ns) and no memory access. */
START_TEST(translate_only_skips_memory)
{
    seen *s = calloc(1, sizeof *s);
    scim_sim *sim = build("native", "source: host", 4);
    scim_dev *nic = nic_of(sim, s);
    warm(sim, nic, s);
    double reads = stat_of(sim, "mem.reads");
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_TRANSLATE_WRITE, REGION + 0x100, 8, 3), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n, 1);
    ck_assert_uint_eq(s->latency[0], SCIM_NS(1));
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, REGION, &pa), 1);
    ck_assert_uint_eq(s->pa[0][0], pa + 0x100);
    ck_assert_double_eq(stat_of(sim, "mem.reads"), reads);
    ck_assert_double_eq(stat_of(sim, "mem.writes"), 0);
    scim_sim_destroy(sim);
    free(s);
}
END_TEST

/* An I/O page fault: raised with the request's tag, resolved with the
 * latency the device's histogram records, then the request completes. */
START_TEST(fault_callbacks)
{
    seen *s = calloc(1, sizeof *s);
    scim_sim *sim = build("native", "source: host", 4);
    scim_dev *nic = nic_of(sim, s);
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_WRITE, COLD + 0x40, 64, 77), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n_faults, 1);
    ck_assert_uint_eq(s->n_resolved, 1);
    ck_assert(!s->fault[0].resolved);
    ck_assert_uint_eq(s->fault[0].tag, 77);
    ck_assert_uint_eq(s->fault[0].va, COLD);
    ck_assert_uint_eq(s->fault[0].pages, 1);
    ck_assert(s->fault[0].write);
    ck_assert(s->fault[1].resolved && s->fault[1].ok);
    ck_assert_double_eq((double)s->fault[1].latency, stat_of(sim, "nic0.fault.latency.max"));
    ck_assert_uint_eq(s->fault[1].time - s->fault[1].latency, s->fault[0].time);
    ck_assert_uint_eq(s->n, 1);
    ck_assert_int_eq(s->status[0], SCIM_OK);
    ck_assert_double_eq((double)s->latency[0], stat_of(sim, "nic0.dma.latency.max"));
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, COLD, &pa), 1);
    ck_assert_uint_eq(s->pa[0][0], pa + 0x40);
    scim_sim_destroy(sim);
    free(s);
}
END_TEST

/* munmap from the host: the device gets the invalidation, the call is
 * answered only after it completed, and a later DMA to the page fails
 * (nothing translates it any more; the checker watches every access). */
START_TEST(host_munmap_invalidates_the_device)
{
    seen *s = calloc(1, sizeof *s);
    scim_sim *sim = build("native", "source: host", 4);
    scim_dev *nic = nic_of(sim, s);
    scim_time_t t0 = warm(sim, nic, s);
    scim_os_call c = {.op = SCIM_OP_MUNMAP, .pasid = 1, .va = REGION, .len = PAGE, .tag = 11, .at = t0};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, s), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n_os, 1);
    ck_assert_uint_eq(s->os_tag[0], 11);
    ck_assert_int_eq(s->os_status[0], SCIM_OK);
    ck_assert_uint_eq(s->n_inv, 1);
    ck_assert_int_eq(s->inv[0].kind, SCIM_DEV_INV_RANGE);
    ck_assert_uint_eq(s->inv[0].pasid, 1);
    ck_assert(s->inv[0].va <= REGION && REGION < s->inv[0].va + s->inv[0].len);
    ck_assert_uint_eq(s->inv[0].entries, 1);
    ck_assert_uint_ge(s->os_done[0], s->inv[0].completed);
    uint64_t pa;
    ck_assert_int_eq(scim_sim_resolve(sim, 1, REGION, &pa), 0);
    ck_assert_double_eq(stat_of(sim, "os.ops.munmap"), 1);
    /* the page is gone: the DMA fails (a fault the OS refuses) */
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, REGION, 64, 12), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n, 1);
    ck_assert_uint_eq(s->tag[0], 12);
    ck_assert_int_eq(s->status[0], SCIM_ENOENT);
    /* mmap it again from the host, populated: the same DMA now succeeds */
    scim_os_call m = {.op = SCIM_OP_MMAP, .pasid = 1, .va = REGION, .len = PAGE, .populate = true, .tag = 13};
    ck_assert_int_eq(scim_sim_os_call(sim, &m, on_os, s), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_int_eq(s->os_status[1], SCIM_OK);
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, REGION, 64, 14), 0);
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_int_eq(s->status[1], SCIM_OK);
    ck_assert_int_eq(scim_sim_resolve(sim, 1, REGION, &pa), 1);
    ck_assert_uint_eq(s->pa[1][0], pa);
    scim_sim_destroy(sim);
    free(s);
}
END_TEST

/* Two simulations in one process, stepped in turns, each equal to the
 * same simulation run alone. */
START_TEST(two_simulations_in_one_process)
{
    access acc[60];
    size_t n = random_accesses(acc, 60, 99);
    seen *s[3];
    scim_sim *sim[3];
    scim_dev *nic[3];
    for (int k = 0; k < 3; k++) {
        s[k] = calloc(1, sizeof *s[k]);
        sim[k] = build("native", "source: host", 2 + (k == 1));
        nic[k] = nic_of(sim[k], s[k]);
        for (size_t i = 0; i < n; i++) {
            scim_dev_request r = {acc[i].write ? SCIM_DEV_WRITE : SCIM_DEV_READ, 0, acc[i].va, acc[i].size, i,
                                  SCIM_NS(acc[i].at_ns)};
            ck_assert_int_eq(scim_dev_submit_request(nic[k], &r), 0);
        }
    }
    /* 0 and 1 in turns, 1 us at a time; 2 alone */
    for (scim_time_t t = SCIM_US(1); !(scim_dev_idle(nic[0]) && scim_dev_idle(nic[1])); t += SCIM_US(1)) {
        ck_assert_int_eq(scim_sim_run_until(sim[0], t), 0);
        ck_assert_int_eq(scim_sim_run_until(sim[1], t), 0);
        ck_assert_uint_lt(t, SCIM_MS(100));
    }
    ck_assert_int_eq(scim_sim_finish(sim[0]), 0);
    ck_assert_int_eq(scim_sim_run(sim[2]), 0);
    ck_assert_uint_eq(s[0]->n, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(s[0]->tag[i], s[2]->tag[i]);
        ck_assert_uint_eq(s[0]->latency[i], s[2]->latency[i]);
    }
    /* the statistics differ only in the end time (where stepping stopped) and events */
    ck_assert_double_eq(stat_of(sim[0], "nic0.dma.latency.mean"), stat_of(sim[2], "nic0.dma.latency.mean"));
    ck_assert_double_eq(stat_of(sim[0], "nic0.iotlb.misses"), stat_of(sim[2], "nic0.iotlb.misses"));
    ck_assert_double_eq(stat_of(sim[0], "nic0.dma.finish_ps"), stat_of(sim[2], "nic0.dma.finish_ps"));
    ck_assert_double_eq(stat_of(sim[0], "os.iopf.pages"), stat_of(sim[2], "os.iopf.pages"));
    /* a different max_outstanding is a different model: it must not leak into the others */
    ck_assert_double_ne(stat_of(sim[1], "nic0.dma.latency.mean"), stat_of(sim[2], "nic0.dma.latency.mean"));
    for (int k = 0; k < 3; k++) {
        scim_sim_destroy(sim[k]);
        free(s[k]);
    }
}
END_TEST

/* A host that drives the kernel itself (as a SystemC platform's
 * sc_start() does) and never calls run: the statistics still say where
 * time is, and finish() closes the run. */
START_TEST(hosted_run_has_its_time)
{
    seen *s = calloc(1, sizeof *s);
    scim_sim *sim = build(_i ? "systemc" : "native", "source: host", 4);
    scim_dev *nic = nic_of(sim, s);
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, COLD, 64, 1), 0);
    scim_err e = {0};
    ck_assert_int_eq(scim_kernel_run(scim_sim_kernel(sim), &e), 0);
    ck_assert_uint_eq(s->n, 1);
    ck_assert_int_eq(scim_sim_finish(sim), 0);
    ck_assert_double_eq(stat_of(sim, "sim.time_ps"), (double)s->completed[0]);
    ck_assert_double_gt(stat_of(sim, "sim.events"), 0);
    /* finished: no more runs or requests */
    ck_assert_int_eq(scim_sim_run(sim), SCIM_ESTATE);
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, REGION, 64, 2), SCIM_ESTATE);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "finished"));
    scim_sim_destroy(sim);
    free(s);
}
END_TEST

/* run_until again and again gives what one run gives (both backends). */
START_TEST(stepping_equals_one_run)
{
    access acc[80];
    size_t n = random_accesses(acc, 80, 7);
    const char *backend = _i ? "systemc" : "native";
    seen *s[2];
    scim_sim *sim[2];
    for (int k = 0; k < 2; k++) {
        s[k] = calloc(1, sizeof *s[k]);
        sim[k] = build(backend, "source: host", 4);
        scim_dev *nic = nic_of(sim[k], s[k]);
        for (size_t i = 0; i < n; i++) {
            scim_dev_request r = {acc[i].write ? SCIM_DEV_WRITE : SCIM_DEV_READ, 0, acc[i].va, acc[i].size, i,
                                  SCIM_NS(acc[i].at_ns)};
            ck_assert_int_eq(scim_dev_submit_request(nic, &r), 0);
        }
        if (k == 0) {
            ck_assert_int_eq(scim_sim_run(sim[k]), 0);
            continue;
        }
        for (scim_time_t t = SCIM_NS(333); !scim_dev_idle(nic); t += SCIM_NS(333))
            ck_assert_int_eq(scim_sim_run_until(sim[k], t), 0);
        ck_assert_int_eq(scim_sim_run(sim[k]), 0); /* drain what is left (a deferred flush, ...) */
    }
    ck_assert_uint_eq(s[0]->n, s[1]->n);
    for (size_t i = 0; i < s[0]->n; i++)
        ck_assert_uint_eq(s[0]->latency[i], s[1]->latency[i]);
    /* the stepped run ends at its last step; everything the model did is the same */
    ck_assert_double_eq(stat_of(sim[0], "nic0.dma.finish_ps"), stat_of(sim[1], "nic0.dma.finish_ps"));
    ck_assert_double_eq(stat_of(sim[0], "nic0.dma.latency.mean"), stat_of(sim[1], "nic0.dma.latency.mean"));
    ck_assert_double_eq(stat_of(sim[0], "os.busy_ps"), stat_of(sim[1], "os.busy_ps"));
    ck_assert_double_eq(stat_of(sim[0], "sim.events"), stat_of(sim[1], "sim.events"));
    for (int k = 0; k < 2; k++) {
        scim_sim_destroy(sim[k]);
        free(s[k]);
    }
}
END_TEST

START_TEST(api_errors)
{
    char dir[64], path[256], src[320];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 read 0x10000000 64\n", path, sizeof path);
    snprintf(src, sizeof src, "trace: %s", path);
    /* handles */
    ck_assert_ptr_null(scim_sim_device(NULL, "nic0"));
    ck_assert_int_eq(scim_dev_submit(NULL, SCIM_DEV_READ, REGION, 64, 0), SCIM_EINVAL);
    ck_assert_int_eq(scim_dev_set_callbacks(NULL, &CALLBACKS, NULL), SCIM_EINVAL);
    ck_assert_int_eq(scim_sim_os_call(NULL, NULL, NULL, NULL), SCIM_EINVAL);
    ck_assert(!scim_dev_idle(NULL));
    scim_sim *unbuilt = scim_sim_create();
    ck_assert_ptr_null(scim_sim_device(unbuilt, "nic0"));
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(unbuilt), "build the simulation first"));
    scim_sim_destroy(unbuilt);

    scim_sim *sim = build("native", src, 4);
    ck_assert_ptr_null(scim_sim_device(sim, "nic9"));
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "no device is named 'nic9'"));
    scim_dev *nic = scim_sim_device(sim, "nic0");
    ck_assert_str_eq(scim_dev_name(nic), "nic0");
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, REGION, 64, 0), SCIM_EINVAL);
    ck_assert_msg(strstr(scim_sim_errmsg(sim), "source: host") != NULL, "%s", scim_sim_errmsg(sim));
    scim_sim_destroy(sim);

    sim = build("native", "source: host", 4);
    nic = scim_sim_device(sim, "nic0");
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, REGION, 0, 0), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "empty"));
    ck_assert_int_eq(scim_dev_submit(nic, (scim_dev_op)9, REGION, 64, 0), SCIM_EINVAL);
    /* a request that wraps around the address space */
    ck_assert_int_eq(scim_dev_submit(nic, SCIM_DEV_READ, UINT64_MAX - 15, 64, 0), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "is empty or wraps around"));
    scim_dev_request r = {SCIM_DEV_READ, 5, REGION, 64, 0, 0};
    ck_assert_int_eq(scim_dev_submit_request(nic, &r), SCIM_EINVAL);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "pasid 5"));
    ck_assert_int_eq(scim_dev_submit_request(nic, NULL), SCIM_EINVAL);
    scim_os_call c = {.op = SCIM_OP_READ, .pasid = 1, .va = REGION, .len = PAGE};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_EINVAL);
    c.op = SCIM_OP_MUNMAP;
    c.pasid = 3;
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_ENOENT);
    ck_assert_ptr_nonnull(strstr(scim_sim_errmsg(sim), "pasid 3"));
    c.pasid = 1;
    c.len = 0;
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_EINVAL);
    c = (scim_os_call){.op = SCIM_OP_MMAP, .pasid = 1, .va = 0x40000000, .len = PAGE, .page_shift = 13};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, NULL, NULL), SCIM_EINVAL);
    /* the three page sizes are taken (the OS answers them later) */
    static const uint8_t shifts[] = {12, 21, 30};
    for (size_t i = 0; i < sizeof shifts; i++) {
        c = (scim_os_call){.op = SCIM_OP_MMAP, .pasid = 1, .va = 0x40000000ull << i, .len = 1ull << shifts[i],
                           .page_shift = shifts[i]};
        ck_assert_msg(scim_sim_os_call(sim, &c, NULL, NULL) == 0, "%s", scim_sim_errmsg(sim));
    }
    /* an OS call the OS refuses is answered with an error, not a failure */
    seen *s = calloc(1, sizeof *s);
    c = (scim_os_call){.op = SCIM_OP_MUNMAP, .pasid = 1, .va = 0x70000000, .len = PAGE, .tag = 4};
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, s), 0);
    /* destroyed with the call unanswered: nothing leaks (LSan) */
    scim_sim_destroy(sim);

    sim = build("native", "source: host", 4);
    ck_assert_int_eq(scim_sim_os_call(sim, &c, on_os, s), 0);
    c.va = REGION + 0x1000; /* part of the populated region: fine */
    ck_assert_int_eq(scim_sim_run(sim), 0);
    ck_assert_uint_eq(s->n_os, 1);
    ck_assert_int_eq(s->os_status[0], SCIM_OK); /* munmap of nothing mapped succeeds, as in Linux */
    scim_sim_destroy(sim);
    free(s);

    /* configuration: a host device with a trace, a trace device without one */
    char yaml[4096], msg[1200];
    snprintf(yaml, sizeof yaml, BASE, "native", "source: host, trace: x.trace", 4);
    ck_assert_int_ne(build_yaml(yaml, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "has source: host") && strstr(msg, "test.yaml:19:"), "%s", msg);
    snprintf(yaml, sizeof yaml, BASE, "native", "source: trace", 4);
    ck_assert_int_ne(build_yaml(yaml, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "devices.nic0.trace is missing"), "%s", msg);
    tmpdir_remove(dir);
}
END_TEST

static Suite *host_suite(void)
{
    Suite *s = suite_create("host");
    TCase *tc = tcase_create("host");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, host_requests_equal_trace_records, 0, 2);
    tcase_add_test(tc, completions_in_order_with_tags);
    tcase_add_test(tc, submission_time_is_respected);
    tcase_add_test(tc, translate_only_skips_memory);
    tcase_add_test(tc, fault_callbacks);
    tcase_add_test(tc, host_munmap_invalidates_the_device);
    tcase_add_test(tc, two_simulations_in_one_process);
    tcase_add_loop_test(tc, hosted_run_has_its_time, 0, 2);
    tcase_add_loop_test(tc, stepping_equals_one_run, 0, 2);
    tcase_add_test(tc, api_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(host_suite()); }

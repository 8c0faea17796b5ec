/* The I/O fault path as a mechanism (issue 10, item 1): page request
 * groups, the fault handler's wake-up and batches, per-page mapping and
 * zeroing at the memory, prefault charged only for the pages it maps, the
 * PRI allocation, and the fault profiles. Every expected number is
 * hand-derived from the configured costs and links (the sums are in the
 * comments), never read back from the simulator.
 *
 * Part 1 drives the OS alone through its port (helpers/mockport.h):
 *
 *     dev0 --400ns-- os --50ns-- mem (a dummy memory answering after 90ns)
 *     dev1 --400ns-- os --50ns-- iommu (holds), os --60ns-- cpu0 (echo)
 *
 * with the costs pinned to round numbers: iopf.wakeup 1us, iopf_cost 3us
 * per batch, iopf_page_cost 1us per page mapped; zeroing a new frame is a
 * 4 KiB write to "mem" the handler waits for: 50 + 90 + 50 = 190ns. So a
 * missing page costs the handler 1190ns and a one-page group at an idle OS
 * 1000 + 3000 + 1190 = 5190ns.
 *
 * Part 2 runs whole systems from YAML (helpers/simtest.h), the checker on.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/mockport.h"
#include "helpers/simtest.h"
#include "mmu/physmem.h"
#include "os/os.h"

#define PASID 1u
#define REG 0x20000000ull /* 1 MiB, not populated */
#define PG 0x1000ull

#define L_DEV SCIM_NS(400)
#define W SCIM_NS(1000)         /* os.iopf.wakeup */
#define C SCIM_NS(3000)         /* os.iopf_cost: one per batch */
#define Z SCIM_NS(50 + 90 + 50) /* zeroing: the write to mem and its answer */
#define P (SCIM_NS(1000) + Z)   /* a missing page: iopf_page_cost, then zeroing */

/* ---------- Part 1: the OS alone ---------- */

typedef struct fx {
    test_rig r;
    scim_physmem *pm;
    scim_os *os;
    scim_os_params p;
    mock_ep *dev, *dev1, *mem, *iommu, *cpu;
    scim_node_id osn;
} fx;

static void fx_init(fx *x, uint64_t fault_batch, uint64_t handlers, bool prefault_sync)
{
    memset(x, 0, sizeof *x);
    scim_err err = {0};
    ck_assert_msg(scim_cfg_bind(NULL, "os", scim_os_param_decls, scim_os_param_decl_count, &x->p, NULL, &err) == 0,
                  "%s", err.msg);
    x->p.iopf_wakeup = W;
    x->p.iopf_cost = C;
    x->p.iopf_page_cost = SCIM_NS(1000);
    x->p.fault_batch = fault_batch;
    x->p.fault_handlers = handlers;
    x->p.prefault_sync = prefault_sync;
    rig_init(&x->r);
    x->pm = scim_physmem_create(64ull << 20, &err);
    ck_assert_msg(x->pm, "%s", err.msg);
    x->os = scim_os_create(x->r.k, x->r.f, x->pm, "os", &x->p, x->r.stats, &err);
    ck_assert_msg(x->os, "%s", err.msg);
    x->dev = mock_add(&x->r, "dev0", MOCK_HOLD, 0);
    x->dev1 = mock_add(&x->r, "dev1", MOCK_HOLD, 0);
    x->mem = mock_add(&x->r, "mem", MOCK_MEMORY, SCIM_NS(90));
    x->iommu = mock_add(&x->r, "iommu", MOCK_HOLD, 0);
    x->cpu = mock_add(&x->r, "cpu0", MOCK_ECHO, SCIM_NS(1000));
    rig_link(&x->r, "dev0", "os", L_DEV, 0);
    rig_link(&x->r, "dev1", "os", L_DEV, 0);
    rig_link(&x->r, "os", "mem", SCIM_NS(50), 0);
    rig_link(&x->r, "iommu", "os", SCIM_NS(50), 0);
    rig_link(&x->r, "cpu0", "os", SCIM_NS(60), 0);
    ck_assert_msg(scim_os_add_process(x->os, "app", PASID, 4, &err) == 0, "%s", err.msg);
    ck_assert_msg(scim_os_add_region(x->os, PASID, REG, 1ull << 20, 12, SCIM_PROT_RW, false, &err) == 0, "%s",
                  err.msg);
    x->osn = scim_os_node(x->os);
    scim_os_set_iommu(x->os, rig_node(&x->r, "iommu"));
    scim_os_set_memory(x->os, rig_node(&x->r, "mem"));
    ck_assert(scim_os_bind_cpu(x->os, rig_node(&x->r, "cpu0"), PASID, &err) == 0);
    ck_assert(scim_os_bind_device(x->os, rig_node(&x->r, "dev0"), PASID, &err) == 0);
    rig_finalize(&x->r);
}

static void fx_free(fx *x)
{
    mock_free(x->dev);
    mock_free(x->dev1);
    mock_free(x->mem);
    mock_free(x->iommu);
    mock_free(x->cpu);
    scim_os_destroy(x->os);
    rig_free(&x->r);
    scim_physmem_destroy(x->pm);
}

/* A page request group as the IOMMU forwards it, from dev: `pages` from
 * va, then `prefault` more, one 24 B header per page on the wire. */
static void send_group_from(fx *x, mock_ep *dev, uint64_t va, uint32_t pages, uint32_t prefault, uint64_t id)
{
    scim_msg proto = {0};
    proto.u.page = (scim_page_req){.pasid = PASID, .va = va, .pages = pages, .prefault = prefault, .write = true};
    proto.wire_bytes = (pages + prefault) * 24;
    mock_request(dev, x->osn, SCIM_MSG_PRI_REQ, &proto, id);
}

static void send_group(fx *x, uint64_t va, uint32_t pages, uint32_t prefault, uint64_t id)
{
    send_group_from(x, x->dev, va, pages, prefault, id);
}

typedef struct later {
    fx *x;
    uint64_t va, id;
    mock_ep *dev; /* NULL: dev0 */
} later;

static void send_later_ev(void *ctx, uint64_t arg)
{
    (void)arg;
    later *l = ctx;
    send_group_from(l->x, l->dev ? l->dev : l->x->dev, l->va, 1, 0, l->id);
}

/* The PRI_RESP for request id at dev (fails if none). */
static scim_time_t answered_at_dev(const mock_ep *dev, uint64_t id)
{
    for (size_t k = 0;; k++) {
        const mock_log *l = mock_find(dev, SCIM_MSG_PRI_RESP, k);
        ck_assert_msg(l, "no PRI_RESP for request %llu", (unsigned long long)id);
        if (l->m.tag == id) {
            ck_assert_msg(l->m.status == SCIM_RESP_OK, "request %llu: status %d", (unsigned long long)id,
                          l->m.status);
            return l->at;
        }
    }
}

static scim_time_t answered_at(const fx *x, uint64_t id) { return answered_at_dev(x->dev, id); }

static bool mapped(const fx *x, uint64_t va, uint64_t *pa)
{
    uint64_t p;
    return scim_os_resolve(x->os, PASID, va, pa ? pa : &p) == 1;
}

/* A batch: five one-page groups sent at 0 reach the sleeping OS together
 * at 400. The first wakes the handler (one wake-up: the others find it
 * waking); at 1400 it takes up to fault_batch groups, pays 3000 for the
 * batch, then 1190 per group (a missing page, zeroed); then the next
 * batch. Group i (from 0) is answered at 1400 + b x 3000 + (i + 1) x 1190,
 * b = i / fault_batch + 1 the batches paid so far, and at dev0 400 later:
 *   fault_batch 1, {1} {2} {3} {4} {5}: 5590, 9780, 13970, 18160, 22350
 *   fault_batch 2, {1,2} {3,4} {5}:     5590, 6780, 10970, 12160, 16350
 *   fault_batch 5, {1,2,3,4,5}:         5590, 6780, 7970, 9160, 10350 */
START_TEST(batch_of_groups)
{
    static const uint64_t batch[3] = {1, 2, 5};
    static const scim_time_t at_os[3][5] = {
        {5590, 9780, 13970, 18160, 22350},
        {5590, 6780, 10970, 12160, 16350},
        {5590, 6780, 7970, 9160, 10350},
    };
    static const uint64_t batches[3] = {5, 3, 1}; /* ceil(5 / fault_batch) */
    /* the last batch is taken after the batches before it: 1400 +
     * 4 x (3000 + 1190), 1400 + 2 x (3000 + 2 x 1190) = 12160, or 1400 */
    static const scim_time_t last_taken[3] = {1400 + 4 * 4190, 12160, 1400};
    fx x;
    fx_init(&x, batch[_i], 1, false);
    for (uint64_t k = 0; k < 5; k++)
        send_group(&x, REG + k * PG + 0x40, 1, 0, k + 1);
    rig_run(&x.r);
    for (uint64_t k = 0; k < 5; k++) {
        scim_time_t want = SCIM_NS(at_os[_i][k]) + L_DEV;
        ck_assert_msg(answered_at(&x, k + 1) == want, "batch %llu: group %llu answered at %llu ps, expected %llu",
                      (unsigned long long)batch[_i], (unsigned long long)k + 1,
                      (unsigned long long)answered_at(&x, k + 1), (unsigned long long)want);
        uint64_t pa;
        ck_assert_msg(mapped(&x, REG + k * PG, &pa), "page %llu mapped", (unsigned long long)k);
        /* its frame was zeroed: a 4 KiB write at the frame's address */
        const mock_log *w = mock_find(x.mem, SCIM_MSG_MEM_WRITE, k);
        ck_assert_msg(w && w->m.u.mem.pa == (pa & ~(PG - 1)) && w->m.u.mem.len == 4096, "zeroing write %llu",
                      (unsigned long long)k);
    }
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.requests"), 5);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.pages"), 5);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.batches"), (double)batches[_i]);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.zeroed"), 5);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped"), 5);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.queue_delay.max"), (double)(SCIM_NS(last_taken[_i]) - L_DEV));
    /* the handler's time: one wake-up, a cost per batch, 1190 per page */
    ck_assert_double_eq(rig_stat(&x.r, "os.busy_ps"), (double)(W + batches[_i] * C + 5 * P));
    fx_free(&x);
}
END_TEST

/* Wake-ups only for a sleeping handler. One handler, groups of one: g1
 * sent at 0 wakes it (answered at 400 + 5190 = 5590); g2, sent at 2000,
 * reaches the OS at 2400 while the handler works: no interrupt, queued,
 * answered at 5590 + 3000 + 1190 = 9780; g3, sent at 20000, finds the
 * handler asleep again: 20400 + 5190 = 25590. Two handlers: g2 wakes the
 * second one (2400 + 5190 = 7590), side by side with the first. */
START_TEST(wakeup_only_when_asleep)
{
    const uint64_t handlers = (uint64_t)_i + 1;
    fx x;
    fx_init(&x, 1, handlers, false);
    later l2 = {&x, REG + PG, 2}, l3 = {&x, REG + 2 * PG, 3};
    send_group(&x, REG, 1, 0, 1);
    scim_kernel_schedule_at(x.r.k, SCIM_NS(2000), SCIM_PRIO_DEFAULT, send_later_ev, &l2, 0);
    scim_kernel_schedule_at(x.r.k, SCIM_NS(20000), SCIM_PRIO_DEFAULT, send_later_ev, &l3, 0);
    rig_run(&x.r);
    const scim_time_t g2 = handlers == 1 ? SCIM_NS(9780) : SCIM_NS(7590);
    ck_assert_uint_eq(answered_at(&x, 1), SCIM_NS(5590) + L_DEV);
    ck_assert_uint_eq(answered_at(&x, 2), g2 + L_DEV);
    ck_assert_uint_eq(answered_at(&x, 3), SCIM_NS(25590) + L_DEV);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), handlers == 1 ? 2 : 3);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.batches"), 3);
    fx_free(&x);
}
END_TEST

/* A handler being woken takes up to fault_batch groups, so it covers that
 * many: two handlers, fault_batch 4, n groups of one page sent at 0 (at
 * the OS at 400). The first wakes handler 0 (up at 1400); groups 2..4 find
 * it waking with room in its batch: no second wake-up. With n = 4 it takes
 * all four at 1400 (one batch): group i answered at 1400 + 3000 + i x 1190
 * (i from 1), the OS busy W + C + 4P. With n = 5 the fifth is beyond
 * handler 0's batch and wakes handler 1 (also up at 1400), which takes it
 * alone: answered at 1400 + 3000 + 1190 = 5590; busy 2W + 2C + 5P. (The
 * check used to count a waking handler as one group: n = 4 woke both
 * handlers and charged the second wake-up, for a handler that then found
 * the queue empty.) */
START_TEST(wakeups_cover_a_batch)
{
    const uint64_t n = _i == 0 ? 4 : 5;
    fx x;
    fx_init(&x, 4, 2, false);
    for (uint64_t k = 0; k < n; k++)
        send_group(&x, REG + k * PG, 1, 0, k + 1);
    rig_run(&x.r);
    for (uint64_t k = 0; k < 4; k++)
        ck_assert_uint_eq(answered_at(&x, k + 1), SCIM_NS(1400) + C + (k + 1) * P + L_DEV);
    if (n == 5)
        ck_assert_uint_eq(answered_at(&x, 5), SCIM_NS(1400) + C + P + L_DEV);
    const double handlers = n == 4 ? 1 : 2;
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), handlers);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.batches"), handlers);
    ck_assert_double_eq(rig_stat(&x.r, "os.busy_ps"), (double)(handlers * (W + C) + n * P));
    fx_free(&x);
}
END_TEST

/* A new page is zeroed before it is mapped, and a fault on it meanwhile
 * waits. Two handlers. dev0's group for page 0 reaches the OS at 400:
 * handler 0 is up at 1400, pays the batch (4400), takes a frame and pays
 * the page (5400), writes zeros to the frame (at mem at 5450, answered at
 * 5540, back at 5590), and only then maps the page and answers (at dev0 at
 * 5990). dev1's group for the same page, sent at 1100, reaches the OS at
 * 1500 (dev0's group has left the queue, so it does not join it): it wakes
 * handler 1 (2500), which pays its batch and resolves the page at 5500,
 * during the zeroing: the page is in transition, so it waits, and runs
 * again when the page is mapped at 5590: present, answered then (at dev1
 * at 5990), with the frame the zeros were written to. Before the fix the
 * page was mapped at 4400 and dev1 was answered at 5500 with a frame not
 * yet zeroed. Handler 1 paid nothing for the present page: busy 2W + 2C +
 * P. */
START_TEST(page_zeroed_before_it_is_mapped)
{
    fx x;
    fx_init(&x, 1, 2, false);
    later b = {&x, REG, 2, x.dev1};
    send_group(&x, REG, 1, 0, 1);
    scim_kernel_schedule_at(x.r.k, SCIM_NS(1100), SCIM_PRIO_DEFAULT, send_later_ev, &b, 0);
    scim_err err = {0};
    ck_assert_int_eq(scim_kernel_run_until(x.r.k, SCIM_NS(5500), &err), 0);
    /* mid-zeroing: the write is at the memory, the page not mapped yet,
     * dev1's fault waits on it */
    const mock_log *w = mock_find(x.mem, SCIM_MSG_MEM_WRITE, 0);
    ck_assert_msg(w && w->at == SCIM_NS(5450) && w->m.u.mem.len == 4096, "the zeroing write at mem at 5450 ns");
    ck_assert_msg(!mapped(&x, REG, NULL), "the page is not mapped while its frame is zeroed");
    ck_assert_ptr_null(mock_find(x.dev1, SCIM_MSG_PRI_RESP, 0));
    ck_assert_double_eq(rig_stat(&x.r, "os.faults.waited"), 1);
    rig_run(&x.r);
    uint64_t pa;
    ck_assert(mapped(&x, REG, &pa));
    ck_assert_uint_eq(pa & ~(PG - 1), w->m.u.mem.pa);
    ck_assert_uint_eq(answered_at(&x, 1), SCIM_NS(5590) + L_DEV);
    ck_assert_uint_eq(answered_at_dev(x.dev1, 2), SCIM_NS(5590) + L_DEV);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.zeroed"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.busy_ps"), (double)(2 * (W + C) + P));
    scim_os_frames fc;
    scim_os_frames_get(x.os, &fc);
    ck_assert_uint_eq(fc.transit, 0);
    ck_assert_uint_eq(fc.data, 1);
    fx_free(&x);
}
END_TEST

/* Prefault counts only the pages it maps. Pages 2 and 4 of the region are
 * mapped first by CPU faults. At T = 20us a group asks for page 0 and
 * prefault 4 (pages 1..4); at T + 2000 a probe group for page 10 follows
 * (queued behind it: the handler is busy). The group reaches the OS at
 * T + 400, the handler wakes (T + 1400), pays the batch (T + 4400), maps
 * and zeroes page 0 (T + 5590); then the prefault pages: 1 (T + 6780),
 * 2 present (nothing), 3 (T + 7970), 4 present: 2 pages mapped, not 4.
 *   prefault_sync false: answered at T + 5590 (at dev0 T + 5990);
 *   prefault_sync true:  answered at T + 7970 (at dev0 T + 8370).
 * Either way the handler is free at T + 7970 and the probe is answered at
 * T + 7970 + 3000 + 1190 = T + 12160 (at dev0 T + 12560); the handler's
 * time is 1000 + 3000 + 3 x 1190 for the group and 3000 + 1190 for the
 * probe. */
START_TEST(prefault_maps_only_absent_pages)
{
    const bool sync = _i == 1;
    fx x;
    fx_init(&x, 1, 1, sync);
    for (uint64_t k = 2; k <= 4; k += 2) {
        scim_msg proto = {0};
        proto.u.os = (scim_os_req){.op = SCIM_OS_CPU_FAULT, .pasid = PASID, .addr = REG + k * PG, .write = true};
        mock_request(x.cpu, x.osn, SCIM_MSG_OS_REQ, &proto, 100 + k);
    }
    rig_run(&x.r);
    ck_assert(mapped(&x, REG + 2 * PG, NULL) && mapped(&x, REG + 4 * PG, NULL));
    const double busy0 = rig_stat(&x.r, "os.busy_ps"), mapped0 = rig_stat(&x.r, "os.iopf.mapped");
    const scim_time_t T = SCIM_US(20);
    ck_assert(scim_kernel_now(x.r.k) < T);
    ck_assert_int_eq(scim_kernel_run_until(x.r.k, T, &(scim_err){0}), 0);
    later probe = {&x, REG + 10 * PG, 2};
    send_group(&x, REG, 1, 4, 1);
    scim_kernel_schedule_at(x.r.k, T + SCIM_NS(2000), SCIM_PRIO_DEFAULT, send_later_ev, &probe, 0);
    rig_run(&x.r);
    const scim_time_t answer = T + L_DEV + (sync ? W + C + 3 * P : W + C + P) + L_DEV;
    ck_assert_msg(answered_at(&x, 1) == answer, "prefault_sync %d: answered at %llu ps, expected %llu", sync,
                  (unsigned long long)answered_at(&x, 1), (unsigned long long)answer);
    ck_assert_uint_eq(answered_at(&x, 2), T + SCIM_NS(12160) + L_DEV);
    for (uint64_t k = 0; k <= 4; k++)
        ck_assert_msg(mapped(&x, REG + k * PG, NULL), "page %llu mapped", (unsigned long long)k);
    ck_assert_msg(!mapped(&x, REG + 5 * PG, NULL), "nothing past the prefault pages");
    ck_assert_double_eq(rig_stat(&x.r, "os.prefaulted"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.pages"), 5 + 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.zeroed"), 1 + 2 + 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped") - mapped0, 1 + 2 + 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.spurious"), 0);
    ck_assert_double_eq(rig_stat(&x.r, "os.busy_ps") - busy0, (double)((W + C + 3 * P) + (C + P)));
    fx_free(&x);
}
END_TEST

/* ---------- Part 2: whole systems ----------
 * nic0 --400ns-- iommu --20ns-- mem (DRAM 90ns), os --50ns-- iommu and mem;
 * IOMMU and device clocks 1 GHz. The OS costs are those of Part 1 unless a
 * test sets a profile. */

static scim_sim *run_sys(const char *trace, const char *regions, const char *mem_bw, const char *os_mem_bw,
                         const char *nic_bw, const char *os, const char *dev)
{
    char dir[64], path[256], yaml[4096];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "nic.trace", trace, path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "memory: {size: 256MiB, latency: 90ns, bandwidth: %s}\n"
             "fabric:\n  links:\n"
             "    - {a: nic0, b: iommu, latency: 400ns, bandwidth: %s}\n"
             "    - {a: iommu, b: mem, latency: 20ns}\n"
             "    - {a: os, b: mem, latency: 50ns, bandwidth: %s}\n"
             "    - {a: os, b: iommu, latency: 50ns}\n"
             "iommu: {clock: 1GHz}\n"
             "os: {%s}\n"
             "processes:\n  app:\n    pasid: 1\n    regions:\n%s"
             "devices:\n  nic0: {trace: %s, pasid: 1, clock: 1GHz, iotlb: {latency: 1}%s%s}\n",
             mem_bw, nic_bw, os_mem_bw, os ? os : "iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us",
             regions, path, dev ? ", " : "", dev ? dev : "");
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    return sim;
}

#define ONE_REGION(size) "      - {va: 0x10000000, size: " size ", populate: false}\n"

/* A grouped fault: one write of N pages to absent pages, N = 1, 4, 16.
 * Links with bandwidth here: nic0 <-> iommu 8 GB/s (8 B/ns), os <-> mem
 * 8 GB/s, the memory 25.6 GB/s. Each chunk's translation comes back not
 * present; the first (page 0) leads one group for the rest of the DMA (N
 * pages), the N - 1 others find their page in it and join; after its
 * response every translation asks again.
 *   the group on the wire: N x 24 B at 8 B/ns = 3N ns, + 400 + 50
 *   at the OS: wake-up 1000, one batch 3000, then per page 1000 and the
 *     zeroing: the write of 4096 B + 16 headers of 24 B = 4480 B at 8 B/ns
 *     = 560 ns + 50 link, the memory's 4096 B at 25.6 B/ns = 160 ns + 90
 *     DRAM, its 24 B answer 3 ns + 50 link: 913 ns
 *   the response: 50 + 3 ns (24 B) + 400 */
START_TEST(grouped_fault)
{
    static const int pages[3] = {1, 4, 16};
    const int n = pages[_i];
    char trace[64];
    snprintf(trace, sizeof trace, "@0 write 0x10000000 %d\n", n * 4096);
    scim_sim *sim = run_sys(trace, ONE_REGION("1MiB"), "25.6GB/s", "8GB/s", "8GB/s", NULL, NULL);
    const double zero = 560 + 50 + 160 + 90 + 3 + 50;
    const double at_os = 1000 + 3000 + n * (1000 + zero);
    const double fault = 3.0 * n + 400 + 50 + at_os + 50 + 3 + 400;
    ck_assert_double_eq(stat_of(sim, "os.iopf.latency.max"), at_os * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.fault.latency.max"), fault * 1000);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.groups"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.requests"), n);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.outstanding_max"), n);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.joined"), n - 1);
    ck_assert_double_eq(stat_of(sim, "nic0.faults"), n);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.requests"), n);
    ck_assert_double_eq(stat_of(sim, "nic0.xlat.rerequests"), n);
    ck_assert_double_eq(stat_of(sim, "iommu.prq.max_occupancy"), n);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.pages"), n);
    ck_assert_double_eq(stat_of(sim, "os.iopf.wakeups"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.batches"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), n);
    ck_assert_double_eq(stat_of(sim, "os.iopf.zeroed"), n);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), at_os * 1000);
    /* n zeroing writes of a page, n DMA writes of a page */
    ck_assert_double_eq(stat_of(sim, "mem.bytes_written"), 2.0 * n * 4096);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    for (int k = 0; k < n; k++) {
        uint64_t pa;
        ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10000000 + (uint64_t)k * 4096, &pa), 1);
    }
    scim_sim_destroy(sim);
}
END_TEST

/* Prefault through a device, counting only the pages it maps: regions
 * [0x10000000, +8K) absent, [0x10002000, +8K) populated, [0x10004000,
 * +64K) absent. A 64 B write to page 0 with prefault 4 asks for page 0 and
 * pages 1..4; 2 and 3 are present, so the OS maps 1 and 4 only. Unlimited
 * bandwidth: zeroing 50 + 90 + 50 = 190, a page 1190.
 *   prefault_sync false: the group is answered after page 0:
 *     fault = 400 + 50 + 1000 + 3000 + 1190 + 50 + 400
 *   prefault_sync true: after pages 1 and 4 too: + 2 x 1190
 * and the DMA's latency differs by exactly those 2 x 1190 (the rest of its
 * path is the same). The handler's time is 1000 + 3000 + 3 x 1190 in both,
 * not 1000 + 3000 + 5 x 1190. */
START_TEST(prefault_through_a_device)
{
    const char *regions = "      - {va: 0x10000000, size: 8KiB, populate: false}\n"
                          "      - {va: 0x10002000, size: 8KiB, populate: true}\n"
                          "      - {va: 0x10004000, size: 64KiB, populate: false}\n";
    const char *os_async = "iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us, prefault_sync: false";
    const char *os_sync = "iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us, prefault_sync: true";
    scim_sim *a = run_sys("@0 write 0x10000000 64\n", regions, "0", "0", "0", os_async, "prefault: 4");
    scim_sim *s = run_sys("@0 write 0x10000000 64\n", regions, "0", "0", "0", os_sync, "prefault: 4");
    const double page = 1000 + 190, fault = 400 + 50 + 1000 + 3000 + page + 50 + 400;
    ck_assert_double_eq(stat_of(a, "nic0.fault.latency.max"), fault * 1000);
    ck_assert_double_eq(stat_of(s, "nic0.fault.latency.max"), (fault + 2 * page) * 1000);
    ck_assert_double_eq(stat_of(s, "nic0.dma.latency.max") - stat_of(a, "nic0.dma.latency.max"), 2 * page * 1000);
    scim_sim *both[2] = {a, s};
    for (int i = 0; i < 2; i++) {
        scim_sim *sim = both[i];
        ck_assert_double_eq(stat_of(sim, "nic0.pri.requests"), 1 + 4);
        ck_assert_double_eq(stat_of(sim, "os.iopf.pages"), 1 + 4);
        ck_assert_double_eq(stat_of(sim, "os.prefaulted"), 2);
        ck_assert_double_eq(stat_of(sim, "os.iopf.zeroed"), 3);
        ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (1000 + 3000 + 3 * page) * 1000);
        for (uint64_t k = 0; k <= 4; k++) {
            uint64_t pa;
            ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10000000 + k * 4096, &pa), 1);
        }
        uint64_t pa;
        ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10005000, &pa), 0);
        scim_sim_destroy(sim);
    }
}
END_TEST

/* The PRI allocation is never exceeded: 32 writes of 16 KiB issued at once
 * over 512 KiB of absent pages (128 pages, the region exactly), with an
 * allocation of 1, 2 or 3 page requests (and prefault that must fit in
 * it). Groups are cut to the allocation and wait for room; every page gets
 * mapped once, no DMA fails, and the checker watches every access. */
START_TEST(pri_allocation_is_never_exceeded)
{
    static const struct {
        uint64_t allocation, prefault;
    } c[3] = {{1, 0}, {2, 0}, {3, 4}};
    char trace[4096], dev[128];
    size_t len = 0;
    for (int k = 0; k < 32; k++)
        len += (size_t)snprintf(trace + len, sizeof trace - len, "@0 write 0x%x 16384\n", 0x10000000 + k * 16384);
    snprintf(dev, sizeof dev, "max_outstanding: 64, prefault: %llu, pri: {allocation: %llu}",
             (unsigned long long)c[_i].prefault, (unsigned long long)c[_i].allocation);
    scim_sim *sim = run_sys(trace, ONE_REGION("512KiB"), "0", "0", "0", NULL, dev);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 32);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_msg(stat_of(sim, "nic0.pri.outstanding_max") <= (double)c[_i].allocation,
                  "allocation %llu: %g page requests out at once", (unsigned long long)c[_i].allocation,
                  stat_of(sim, "nic0.pri.outstanding_max"));
    ck_assert_msg(stat_of(sim, "iommu.prq.max_occupancy") <= (double)c[_i].allocation, "the queue sees no more");
    ck_assert(stat_of(sim, "nic0.pri.allocation_waits") > 0);
    ck_assert(stat_of(sim, "nic0.pri.groups") >= 128.0 / (double)c[_i].allocation);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.auto_responses"), 0);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 128);
    for (uint64_t k = 0; k < 128; k++) {
        uint64_t pa;
        ck_assert_int_eq(scim_sim_resolve(sim, 1, 0x10000000 + k * 4096, &pa), 1);
    }
    scim_sim_destroy(sim);
}
END_TEST

/* Regression: a handler's batch of groups survives a group whose page
 * waits (in transition: being swapped out by the reclaimer). 384 writes of
 * 16 KiB over 6 MiB of absent pages with 4 MiB of memory: the reclaimer
 * evicts while the device faults, some groups find their page being
 * swapped out and wait; with batches of 4 every group is still answered
 * and the run finishes. */
START_TEST(batch_survives_waiting_pages)
{
    char *trace = malloc(384 * 32);
    size_t len = 0;
    for (int k = 0; k < 384; k++)
        len += (size_t)sprintf(trace + len, "@0 write 0x%x 16384\n", 0x10000000 + k * 16384);
    char dir[64], path[256], yaml[1024];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", trace, path, sizeof path);
    free(trace);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\nsim: {check_invariants: true}\nmemory: {size: 4MiB}\n"
             "os: {fault_batch: 4}\n"
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 8MiB}]}}\n"
             "devices: {nic0: {trace: %s, pasid: 1, max_outstanding: 32}}\n",
             path);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.requests"), 384);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert(stat_of(sim, "os.faults.waited") > 0);
    ck_assert(stat_of(sim, "os.iopf.batches") < stat_of(sim, "os.iopf.requests"));
    scim_sim_destroy(sim);
}
END_TEST

/* A group of 65536 pages of which only the first is absent (a 256 MiB
 * write into a populated buffer whose first page is missing), with the PRI
 * allocation and the page request queue raised to hold it: present pages
 * cost the handler nothing, so at the OS it costs what a one-page group
 * does: 1000 + 3000 + 1000 + 190 (zeroing, unlimited bandwidth). The
 * handler goes from page to page through the event loop (it used to
 * recurse once per present page and overflow the stack). */
START_TEST(large_group_of_present_pages)
{
    char dir[64], path[256], yaml[1024];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "t.trace", "@0 write 0x10000000 268435456\n", path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "memory: {size: 1GiB, latency: 90ns, bandwidth: 0}\n"
             "fabric:\n  links:\n"
             "    - {a: nic0, b: iommu, latency: 400ns}\n    - {a: iommu, b: mem, latency: 20ns}\n"
             "    - {a: os, b: mem, latency: 50ns}\n    - {a: os, b: iommu, latency: 50ns}\n"
             "iommu: {prq_depth: 1048576}\n"
             "os: {iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 1us}\n"
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 4KiB, populate: false},\n"
             "                                      {va: 0x10001000, size: 268431360, populate: true}]}}\n"
             "devices: {nic0: {trace: %s, pasid: 1, pri: {allocation: 1000000}}}\n",
             path);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.groups"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.requests"), 65536);
    ck_assert_double_eq(stat_of(sim, "os.iopf.pages"), 65536);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.spurious"), 0);
    ck_assert_double_eq(stat_of(sim, "os.iopf.latency.max"), (1000 + 3000 + 1000 + 190) * 1000.0);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* A second device's DMA to a page being zeroed waits for it (the checker
 * on). nic0 writes page 0 at 0 and nic1 reads it at 3 us; two handlers,
 * iopf_page_cost 10 us so that the page is in transition for long. nic0's
 * group reaches the OS at ~1.6 us; its handler wakes (1 us), pays the
 * batch (3 us), the page (10 us) and the zeroing (190 ns): answered
 * 14190 ns after its arrival. nic1's group arrives ~3 us later, wakes the
 * second handler, and resolves the page ~4 us after that, mid-zeroing: it
 * waits (os.faults.waited) and is answered when the page is mapped; that
 * handler pays nothing for a page present by then. */
START_TEST(second_device_waits_for_the_zeroing)
{
    char dir[64], p0[256], p1[256], yaml[2048];
    tmpdir_make(dir, sizeof dir);
    write_file(dir, "nic0.trace", "@0 write 0x10000000 64\n", p0, sizeof p0);
    write_file(dir, "nic1.trace", "@3000 read 0x10000000 64\n", p1, sizeof p1);
    snprintf(yaml, sizeof yaml,
             "kernel: {backend: native}\n"
             "sim: {check_invariants: true}\n"
             "memory: {size: 256MiB, latency: 90ns, bandwidth: 0}\n"
             "fabric:\n  links:\n"
             "    - {a: nic0, b: iommu, latency: 400ns}\n    - {a: nic1, b: iommu, latency: 400ns}\n"
             "    - {a: iommu, b: mem, latency: 20ns}\n    - {a: os, b: mem, latency: 50ns}\n"
             "    - {a: os, b: iommu, latency: 50ns}\n"
             "os: {iopf: {wakeup: 1us}, iopf_cost: 3us, iopf_page_cost: 10us, fault_handlers: 2}\n"
             "processes: {app: {pasid: 1, regions: [{va: 0x10000000, size: 1MiB, populate: false}]}}\n"
             "devices:\n  nic0: {trace: %s, pasid: 1}\n  nic1: {trace: %s, pasid: 1}\n",
             p0, p1);
    scim_sim *sim = run_yaml(yaml);
    tmpdir_remove(dir);
    ck_assert_double_eq(stat_of(sim, "os.faults.waited"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 2);
    ck_assert_double_eq(stat_of(sim, "os.iopf.wakeups"), 2);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.zeroed"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.latency.max"), (1000 + 3000 + 10000 + 190) * 1000.0);
    ck_assert_double_eq(stat_of(sim, "os.busy_ps"), (2 * (1000 + 3000) + 10000 + 190) * 1000.0);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.groups"), 1);
    ck_assert_double_eq(stat_of(sim, "nic1.pri.groups"), 1);
    ck_assert_double_eq(stat_of(sim, "nic0.dma.errors"), 0);
    ck_assert_double_eq(stat_of(sim, "nic1.dma.errors"), 0);
    scim_sim_destroy(sim);
}
END_TEST

/* Fault profiles, at the OS (iopf.latency: from the group's arrival to
 * its response), unlimited bandwidth (zeroing 190 ns):
 *   odp (wake-up 2us, 218us per batch, 130ns per page, no zeroing):
 *     1 page     2 + 218 + 0.13          = 220.13 us  (published: 220 us)
 *     1024 pages 2 + 218 + 1024 x 0.13   = 353.12 us  (published: 350 us)
 *   odp with an explicit iopf_cost of 100us: 2 + 100 + 0.13 = 102.13 us
 *   uvm (wake-up 2us, 27.8us per batch, 0.7us per page, zeroing):
 *     1 page     2 + 27.8 + 0.7 + 0.19   = 30.69 us; as the device sees
 *     it (published: 31.8 us) 0.4 + 0.05 more each way: 31.59 us
 *   sva (the table's defaults: 4us, 2us, 600ns, zeroing):
 *     1 page     4 + 2 + 0.6 + 0.19      = 6.79 us */
START_TEST(fault_profiles)
{
    static const struct {
        const char *os;
        int pages;
        double us, published, tolerance; /* published 0: none to compare with */
        bool at_device;                  /* the published figure is the device's view */
    } c[5] = {
        {"fault_profile: odp", 1, 220.13, 220, 0.01, false},
        {"fault_profile: odp", 1024, 353.12, 350, 0.01, false},
        {"fault_profile: odp, iopf_cost: 100us", 1, 102.13, 0, 0, false},
        {"fault_profile: uvm", 1, 30.69, 31.8, 0.01, true},
        {"fault_profile: sva", 1, 6.79, 0, 0, false},
    };
    char trace[64];
    snprintf(trace, sizeof trace, "@0 write 0x10000000 %d\n", c[_i].pages * 4096);
    scim_sim *sim = run_sys(trace, ONE_REGION("4MiB"), "0", "0", "0", c[_i].os, NULL);
    const double got = stat_of(sim, "os.iopf.latency.max");
    ck_assert_msg(fabs(got - c[_i].us * 1e6) < 0.5, "%s, %d page(s): %g ps at the OS, expected %g us", c[_i].os,
                  c[_i].pages, got, c[_i].us);
    if (c[_i].at_device)
        ck_assert_double_eq(stat_of(sim, "nic0.fault.latency.max"), got + (400 + 50 + 50 + 400) * 1000.0);
    const double seen = c[_i].at_device ? stat_of(sim, "nic0.fault.latency.max") : got;
    if (c[_i].published > 0)
        ck_assert_msg(fabs(seen / 1e6 - c[_i].published) / c[_i].published < c[_i].tolerance,
                      "%s: %g us, published %g us", c[_i].os, seen / 1e6, c[_i].published);
    ck_assert_double_eq(stat_of(sim, "os.iopf.requests"), 1);
    ck_assert_double_eq(stat_of(sim, "os.iopf.pages"), c[_i].pages);
    ck_assert_double_eq(stat_of(sim, "os.iopf.mapped"), c[_i].pages);
    ck_assert_double_eq(stat_of(sim, "os.iopf.zeroed"), strstr(c[_i].os, "odp") ? 0 : c[_i].pages);
    ck_assert_double_eq(stat_of(sim, "nic0.pri.groups"), 1);
    scim_sim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faultpath");
    TCase *tc = tcase_create("os");
    tcase_add_loop_test(tc, batch_of_groups, 0, 3);
    tcase_add_loop_test(tc, wakeup_only_when_asleep, 0, 2);
    tcase_add_loop_test(tc, wakeups_cover_a_batch, 0, 2);
    tcase_add_test(tc, page_zeroed_before_it_is_mapped);
    tcase_add_loop_test(tc, prefault_maps_only_absent_pages, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("system");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, grouped_fault, 0, 3);
    tcase_add_test(tc, prefault_through_a_device);
    tcase_add_loop_test(tc, pri_allocation_is_never_exceeded, 0, 3);
    tcase_add_test(tc, batch_survives_waiting_pages);
    tcase_add_test(tc, large_group_of_present_pages);
    tcase_add_test(tc, second_device_waits_for_the_zeroing);
    tcase_add_loop_test(tc, fault_profiles, 0, 5);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

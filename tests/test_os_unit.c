/* The OS alone, through its port: mock endpoints stand for the IOMMU
 * ("iommu": receives the OS's invalidation requests), an agent or the
 * IOMMU's page-request path ("dev0": sends PRI_REQ and OS_REQ) and cores
 * ("cpu0", "cpu1": receive IPIs). No YAML system, no device, no walker:
 * every expected time below is derived by hand from the link latencies and
 * the OS's costs (its defaults, os.c).
 *
 * Topology (unlimited bandwidth, so a message takes exactly its link's
 * latency; the OS is the hub):
 *     dev0 --400ns-- os --50ns-- iommu
 *                    os --60ns-- cpu0, cpu1
 * Defaults used: iopf.wakeup 4us, iopf_cost 2us (per batch), iopf_page_cost
 * 600ns (per page mapped), fault_batch 1, fault_handlers 1, cpu_fault_cost
 * 1.7us, syscall_cost 500ns, unmap_page_cost 90ns, ipi_send_cost 100ns,
 * broadcast_cost 20ns, inv_coalesce_pages 33.
 *
 * An I/O page fault group here: a handler asleep is woken (iopf.wakeup),
 * pays iopf_cost for its batch, then per page: present = nothing, missing
 * = iopf_page_cost. The OS has no memory node in this rig, so new frames
 * are not zeroed (no 4 KiB write; test_faultpath.c times the zeroing). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/mockport.h"
#include "mmu/physmem.h"
#include "os/os.h"

#define PASID 1u
#define REG_A 0x10000000ull /* 64 pages, populated */
#define REG_A_PAGES 64u
#define REG_B 0x20000000ull /* 1 MiB, not populated: faults map it */
#define REG_R 0x30000000ull /* 64 KiB read-only, not populated */
#define NOWHERE 0x50000000ull /* in no region */
#define PG 0x1000ull

#define L_DEV SCIM_NS(400)
#define L_IOMMU SCIM_NS(50)
#define L_CPU SCIM_NS(60)
#define CPU_ACK SCIM_NS(1000)  /* ECHO cores: time to handle an IPI */
#define DEV_ACK SCIM_NS(2000)  /* ECHO dev0: time to handle a broadcast invalidation */

#define WAKEUP SCIM_NS(4000)
#define IOPF_COST SCIM_NS(2000)
#define PAGE_COST SCIM_NS(600)
#define CPU_FAULT_COST SCIM_NS(1700)
#define SYSCALL_COST SCIM_NS(500)
#define UNMAP_PAGE_COST SCIM_NS(90)
#define IPI_SEND_COST SCIM_NS(100)
#define BROADCAST_COST SCIM_NS(20)
#define COALESCE 33u

typedef struct fx {
    test_rig r;
    scim_physmem *pm;
    scim_os *os;
    scim_os_params p;
    mock_ep *iommu, *dev, *cpu0, *cpu1;
    scim_node_id osn;
} fx;

/* Every default of the OS's parameter table (an empty config). */
static scim_os_params os_defaults(void)
{
    scim_os_params p;
    memset(&p, 0, sizeof p);
    scim_err err = {0};
    ck_assert_msg(scim_cfg_bind(NULL, "os", scim_os_param_decls, scim_os_param_decl_count, &p, NULL, &err) == 0,
                  "binding the OS defaults: %s", err.msg);
    return p;
}

/* The OS with process PASID (regions A, B, R), the mocks and links; cpu0
 * (and cpu1 if two_cpus) and dev0 bound to the PASID. */
static void fx_init(fx *x, const scim_os_params *p, bool two_cpus)
{
    memset(x, 0, sizeof *x);
    rig_init(&x->r);
    scim_err err = {0};
    x->p = *p;
    x->pm = scim_physmem_create(64ull << 20, &err);
    ck_assert_msg(x->pm, "physmem: %s", err.msg);
    x->os = scim_os_create(x->r.k, x->r.f, x->pm, "os", &x->p, x->r.stats, &err);
    ck_assert_msg(x->os, "os: %s", err.msg);
    x->iommu = mock_add(&x->r, "iommu", MOCK_HOLD, 0);
    x->dev = mock_add(&x->r, "dev0", MOCK_ECHO, DEV_ACK);
    x->cpu0 = mock_add(&x->r, "cpu0", MOCK_ECHO, CPU_ACK);
    x->cpu1 = mock_add(&x->r, "cpu1", MOCK_ECHO, CPU_ACK);
    rig_link(&x->r, "dev0", "os", L_DEV, 0);
    rig_link(&x->r, "iommu", "os", L_IOMMU, 0);
    rig_link(&x->r, "cpu0", "os", L_CPU, 0);
    rig_link(&x->r, "cpu1", "os", L_CPU, 0);
    ck_assert_msg(scim_os_add_process(x->os, "app", PASID, 4, &err) == 0, "process: %s", err.msg);
    ck_assert_msg(scim_os_add_region(x->os, PASID, REG_A, REG_A_PAGES * PG, 12, SCIM_PROT_RW, true, &err) == 0,
                  "region A: %s", err.msg);
    ck_assert_msg(scim_os_add_region(x->os, PASID, REG_B, 1ull << 20, 12, SCIM_PROT_RW, false, &err) == 0,
                  "region B: %s", err.msg);
    ck_assert_msg(scim_os_add_region(x->os, PASID, REG_R, 16 * PG, 12, SCIM_PROT_R, false, &err) == 0,
                  "region R: %s", err.msg);
    x->osn = scim_os_node(x->os);
    scim_os_set_iommu(x->os, rig_node(&x->r, "iommu"));
    ck_assert(scim_os_bind_cpu(x->os, rig_node(&x->r, "cpu0"), PASID, &err) == 0);
    if (two_cpus)
        ck_assert(scim_os_bind_cpu(x->os, rig_node(&x->r, "cpu1"), PASID, &err) == 0);
    ck_assert(scim_os_bind_device(x->os, rig_node(&x->r, "dev0"), PASID, &err) == 0);
    rig_finalize(&x->r);
}

static void fx_free(fx *x)
{
    mock_free(x->iommu);
    mock_free(x->dev);
    mock_free(x->cpu0);
    mock_free(x->cpu1);
    scim_os_destroy(x->os);
    rig_free(&x->r);
    scim_physmem_destroy(x->pm);
}

static void run_until(fx *x, scim_time_t t)
{
    scim_err err = {0};
    ck_assert_msg(scim_kernel_run_until(x->r.k, t, &err) == 0, "run_until: %s", err.msg);
    ck_assert_uint_eq(scim_kernel_now(x->r.k), t);
}

static void send_pri(fx *x, uint64_t va, bool write, uint64_t id)
{
    scim_msg proto = {0};
    proto.u.page = (scim_page_req){.pasid = PASID, .va = va, .pages = 1, .write = write};
    mock_request(x->dev, x->osn, SCIM_MSG_PRI_REQ, &proto, id);
}

static void send_munmap(fx *x, uint64_t va, uint64_t len, uint64_t id)
{
    scim_msg proto = {0};
    proto.u.os = (scim_os_req){.op = SCIM_OS_TRACE_OP, .pasid = PASID, .addr = va, .len = len};
    proto.u.os.rec = (scim_trace_rec){.op = SCIM_OP_MUNMAP, .addr = va, .size = len, .pasid = PASID,
                                      .has = SCIM_TRACE_HAS_PASID};
    mock_request(x->dev, x->osn, SCIM_MSG_OS_REQ, &proto, id);
}

static void send_cpu_fault(fx *x, mock_ep *cpu, uint64_t va, bool write, uint64_t id)
{
    scim_msg proto = {0};
    proto.u.os = (scim_os_req){.op = SCIM_OS_CPU_FAULT, .pasid = PASID, .addr = va, .write = write};
    mock_request(cpu, x->osn, SCIM_MSG_OS_REQ, &proto, id);
}

/* The response with tag id in ep's log (fails if absent). */
static const mock_log *resp_of(const mock_ep *ep, scim_msg_type type, uint64_t id)
{
    for (size_t k = 0;; k++) {
        const mock_log *l = mock_find(ep, type, k);
        ck_assert_msg(l, "%s: no %s for request %llu", scim_port_name(ep->port), scim_msg_type_name(type),
                      (unsigned long long)id);
        if (l->m.tag == id)
            return l;
    }
}

/* When the k-th message of type reached ep. */
static scim_time_t logged_at(const mock_ep *ep, scim_msg_type type, size_t k)
{
    const mock_log *l = mock_find(ep, type, k);
    ck_assert_msg(l, "%s: no %s #%zu", scim_port_name(ep->port), scim_msg_type_name(type), k);
    return l->at;
}

/* Index of the k-th held-or-logged message of type (for mock_answer). */
static size_t log_index(const mock_ep *ep, scim_msg_type type, size_t k)
{
    const mock_log *l = mock_find(ep, type, k);
    ck_assert_msg(l, "%s: no %s #%zu", scim_port_name(ep->port), scim_msg_type_name(type), k);
    return (size_t)(l - ep->log);
}

static bool mapped(const fx *x, uint64_t va)
{
    uint64_t pa;
    return scim_os_resolve(x->os, PASID, va, &pa) == 1;
}

static scim_os_frames frames(const fx *x)
{
    scim_os_frames f;
    scim_os_frames_get(x->os, &f);
    return f;
}

static void check_scope(const scim_inv_scope *s, scim_inv_kind kind, uint64_t addr, uint64_t len, const char *what)
{
    ck_assert_msg(s->kind == kind, "%s: scope kind %d, expected %d", what, (int)s->kind, (int)kind);
    ck_assert_msg(s->pasid == PASID, "%s: scope pasid %u", what, s->pasid);
    if (kind == SCIM_INV_RANGE) {
        ck_assert_msg(s->addr == addr, "%s: scope addr 0x%llx, expected 0x%llx", what, (unsigned long long)s->addr,
                      (unsigned long long)addr);
        ck_assert_msg(s->len == len, "%s: scope len 0x%llx, expected 0x%llx", what, (unsigned long long)s->len,
                      (unsigned long long)len);
    }
}

/* ---------- the parameters the tests rely on ---------- */

START_TEST(defaults_are_the_documented_costs)
{
    scim_os_params p = os_defaults();
    ck_assert_msg(p.fault_profile == 0, "fault_profile sva (the table's own values)");
    ck_assert_msg(p.iopf_wakeup == WAKEUP, "iopf.wakeup %llu", (unsigned long long)p.iopf_wakeup);
    ck_assert_msg(p.iopf_cost == IOPF_COST, "iopf_cost %llu", (unsigned long long)p.iopf_cost);
    ck_assert_msg(p.iopf_page_cost == PAGE_COST, "iopf_page_cost %llu", (unsigned long long)p.iopf_page_cost);
    ck_assert_msg(p.iopf_zero, "new frames are zeroed");
    ck_assert_msg(!p.prefault_sync, "prefault after the response");
    ck_assert_msg(p.cpu_fault_cost == CPU_FAULT_COST, "cpu_fault_cost %llu", (unsigned long long)p.cpu_fault_cost);
    ck_assert_msg(p.syscall_cost == SYSCALL_COST, "syscall_cost %llu", (unsigned long long)p.syscall_cost);
    ck_assert_msg(p.unmap_page_cost == UNMAP_PAGE_COST, "unmap_page_cost %llu",
                  (unsigned long long)p.unmap_page_cost);
    ck_assert_msg(p.ipi_send_cost == IPI_SEND_COST, "ipi_send_cost %llu", (unsigned long long)p.ipi_send_cost);
    ck_assert_msg(p.broadcast_cost == BROADCAST_COST, "broadcast_cost %llu", (unsigned long long)p.broadcast_cost);
    ck_assert_msg(p.inv_coalesce_pages == COALESCE, "inv_coalesce_pages %llu",
                  (unsigned long long)p.inv_coalesce_pages);
    ck_assert_msg(p.fault_handlers == 1 && p.fault_batch == 1, "one handler, groups of one");
    ck_assert_msg(p.shootdown == 0, "sync shootdown by default");
}
END_TEST

/* ---------- I/O page faults ---------- */

/* dev0 -> os 400ns; the handler sleeps: wake-up 4us, the batch's
 * iopf_cost 2us, the missing page 600ns (no zeroing here); os -> dev0
 * 400ns: answered at 400 + 6600 + 400 = 7.4us. The same page again (sent
 * at 8us, the handler asleep again) is present: spurious, no page cost,
 * but a wake-up and a batch: answered at 8us + 400 + 6000 + 400. */
START_TEST(iopf_maps_the_page_after_iopf_cost)
{
    fx x;
    scim_os_params p = os_defaults();
    fx_init(&x, &p, false);
    uint64_t va = REG_B + 3 * PG + 0x123;
    scim_os_frames f0 = frames(&x);
    ck_assert_msg(!mapped(&x, va), "region B starts unmapped");
    send_pri(&x, va, true, 7);
    run_until(&x, SCIM_US(8));
    const mock_log *r = resp_of(x.dev, SCIM_MSG_PRI_RESP, 7);
    const scim_time_t first = WAKEUP + IOPF_COST + PAGE_COST;
    ck_assert_msg(r->m.status == SCIM_RESP_OK, "status %d", r->m.status);
    ck_assert_msg(r->at == L_DEV + first + L_DEV, "PRI_RESP at %llu ps, expected %llu", (unsigned long long)r->at,
                  (unsigned long long)(L_DEV + first + L_DEV));
    ck_assert_msg(!r->m.u.page_resp.auto_response, "answered by the OS, not generated");
    uint64_t pa = 0;
    ck_assert_msg(scim_os_resolve(x.os, PASID, va, &pa) == 1, "the page is mapped");
    ck_assert_msg((pa & 0xfff) == 0x123 && pa >= PG, "pa 0x%llx keeps the offset", (unsigned long long)pa);
    ck_assert_msg(!mapped(&x, va + PG) && !mapped(&x, va - PG), "only the faulting page is mapped");
    ck_assert_msg(frames(&x).data == f0.data + 1, "one more data frame");
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.requests"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.faults.minor"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.pages"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.batches"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.zeroed"), 0);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.latency.max"), (double)first);
    /* it waited in the queue while the handler woke */
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.queue_delay.max"), (double)WAKEUP);

    send_pri(&x, va, false, 8);
    rig_run(&x.r);
    r = resp_of(x.dev, SCIM_MSG_PRI_RESP, 8);
    ck_assert_msg(r->m.status == SCIM_RESP_OK, "status %d", r->m.status);
    ck_assert_msg(r->at == SCIM_US(8) + L_DEV + WAKEUP + IOPF_COST + L_DEV, "second PRI_RESP at %llu ps",
                  (unsigned long long)r->at);
    uint64_t pa2 = 0;
    ck_assert(scim_os_resolve(x.os, PASID, va, &pa2) == 1);
    ck_assert_msg(pa2 == pa, "the same frame");
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.requests"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.spurious"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.batches"), 2);
    /* wake-ups and batches are handler time; one page mapped */
    ck_assert_double_eq(rig_stat(&x.r, "os.busy_ps"), 2.0 * (WAKEUP + IOPF_COST) + PAGE_COST);
    fx_free(&x);
}
END_TEST

/* Outside every region, and a write to a read-only region: Invalid, after
 * the handler's wake-up and batch cost (nothing is mapped: no page cost).
 * Two handlers, both asleep: the second group wakes the second handler
 * (the first one, waking, will take only one group), and the two faults
 * run side by side: both answered at 400 + 4000 + 2000 + 400. */
START_TEST(iopf_outside_regions_or_protection_is_invalid)
{
    fx x;
    scim_os_params p = os_defaults();
    p.fault_handlers = 2;
    fx_init(&x, &p, false);
    send_pri(&x, NOWHERE, false, 1);
    send_pri(&x, REG_R + PG, true, 2);
    rig_run(&x.r);
    for (uint64_t id = 1; id <= 2; id++) {
        const mock_log *r = resp_of(x.dev, SCIM_MSG_PRI_RESP, id);
        ck_assert_msg(r->m.status == SCIM_RESP_INVALID, "request %llu: status %d, expected Invalid",
                      (unsigned long long)id, r->m.status);
        ck_assert_msg(r->at == L_DEV + WAKEUP + IOPF_COST + L_DEV,
                      "request %llu answered at %llu ps (two handlers: no wait)",
                      (unsigned long long)id, (unsigned long long)r->at);
    }
    ck_assert_msg(!mapped(&x, NOWHERE) && !mapped(&x, REG_R + PG), "nothing mapped");
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.requests"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.invalid"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped"), 0);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.batches"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.queue_delay.max"), (double)WAKEUP);
    fx_free(&x);
}
END_TEST

/* One handler, asleep, groups of one. Three requests arrive together at
 * 400ns: page X (1), page Y (2), page Y again (3). 1 wakes the handler
 * (one wake-up: the handler is the only one); 3, finding Y queued, joins
 * 2. At 4400 the handler takes 1: batch 2000 + page 600, answered at
 * 7000 (at dev0 at 7400); then it takes 2 (queue delay 6600 = wake-up +
 * one group's work): batch 2000 + page 600, 2 and 3 answered at 9600 (at
 * dev0 at 10000). */
START_TEST(iopf_one_handler_queues_and_joins)
{
    fx x;
    scim_os_params p = os_defaults();
    fx_init(&x, &p, false);
    uint64_t vx = REG_B, vy = REG_B + 5 * PG;
    send_pri(&x, vx, false, 1);
    send_pri(&x, vy, false, 2);
    send_pri(&x, vy + 0x80, true, 3);
    rig_run(&x.r);
    const scim_time_t group = IOPF_COST + PAGE_COST;
    const scim_time_t first = L_DEV + WAKEUP + group + L_DEV, second = L_DEV + WAKEUP + 2 * group + L_DEV;
    const scim_time_t want[4] = {0, first, second, second};
    for (uint64_t id = 1; id <= 3; id++) {
        const mock_log *r = resp_of(x.dev, SCIM_MSG_PRI_RESP, id);
        ck_assert_msg(r->m.status == SCIM_RESP_OK, "request %llu: status %d", (unsigned long long)id, r->m.status);
        ck_assert_msg(r->at == want[id], "request %llu answered at %llu ps, expected %llu", (unsigned long long)id,
                      (unsigned long long)r->at, (unsigned long long)want[id]);
    }
    ck_assert_uint_eq(mock_count(x.dev, SCIM_MSG_PRI_RESP), 3);
    ck_assert_msg(mapped(&x, vx) && mapped(&x, vy), "both pages mapped");
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.requests"), 3);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.joined"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.batches"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.wakeups"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.spurious"), 0);
    /* queue delays recorded for the two groups the handler took: the
     * wake-up, then the wake-up and the first group's work */
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.queue_delay.count"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.queue_delay.min"), (double)WAKEUP);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.queue_delay.max"), (double)(WAKEUP + group));
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.latency.max"), (double)(WAKEUP + 2 * group));
    fx_free(&x);
}
END_TEST

/* ---------- CPU faults ---------- */

/* cpu0 -> os 60ns, cpu_fault_cost 1.7us on the faulting core (no handler
 * queue: a second fault, outside every region, runs at the same time),
 * os -> cpu0 60ns. */
START_TEST(cpu_fault_answers_after_cpu_fault_cost)
{
    fx x;
    scim_os_params p = os_defaults();
    fx_init(&x, &p, false);
    uint64_t va = REG_B + 9 * PG + 8;
    send_cpu_fault(&x, x.cpu0, va, true, 11);
    send_cpu_fault(&x, x.cpu0, NOWHERE, false, 12);
    rig_run(&x.r);
    const scim_time_t want = L_CPU + CPU_FAULT_COST + L_CPU;
    const mock_log *r = resp_of(x.cpu0, SCIM_MSG_OS_RESP, 11);
    ck_assert_msg(r->m.status == SCIM_RESP_OK, "status %d", r->m.status);
    ck_assert_msg(r->at == want, "OS_RESP at %llu ps, expected %llu", (unsigned long long)r->at,
                  (unsigned long long)want);
    ck_assert_msg(mapped(&x, va), "the page is mapped");
    r = resp_of(x.cpu0, SCIM_MSG_OS_RESP, 12);
    ck_assert_msg(r->m.status == SCIM_RESP_INVALID, "outside: status %d", r->m.status);
    ck_assert_msg(r->at == want, "outside: OS_RESP at %llu ps, not queued behind the first",
                  (unsigned long long)r->at);
    ck_assert_double_eq(rig_stat(&x.r, "os.cpu_faults"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.mapped"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.invalid"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.requests"), 0);
    ck_assert_double_eq(rig_stat(&x.r, "os.cpu_fault.latency.max"), (double)CPU_FAULT_COST);
    fx_free(&x);
}
END_TEST

/* ---------- munmap and its shootdown ---------- */

/* Pages 4..7 of region A from dev0 (as an agent). The OS starts the round
 * at T0 = 400 (dev0 -> os) + syscall 500 + 4 x unmap 90 = 1260ns:
 *   IPI to cpu0 leaves at T0 + ipi_send 100, reaches cpu0 at +60 = 1420;
 *     cpu0 acknowledges after 1us: back at 1420 + 1000 + 60 = 2480;
 *   INV_REQ to the IOMMU leaves at T0 (descriptors are queued at once),
 *     reaches it at 1310, and is held.
 * Until the IOMMU answers: no OS_RESP, the PTEs are gone, the 4 frames are
 * in transit (not free). The IOMMU answers at 5us: INV_DONE at the OS at
 * 5050, the round ends, the frames are freed and OS_RESP reaches dev0 at
 * 5050 + 400 = 5450. */
START_TEST(munmap_waits_for_the_device_invalidation)
{
    fx x;
    scim_os_params p = os_defaults();
    fx_init(&x, &p, false);
    const uint64_t va = REG_A + 4 * PG, len = 4 * PG;
    const scim_time_t t0 = L_DEV + SYSCALL_COST + 4 * UNMAP_PAGE_COST;
    scim_os_frames f0 = frames(&x);
    ck_assert_msg(mapped(&x, va) && mapped(&x, va + len - 1), "region A is populated");
    send_munmap(&x, va, len, 21);
    run_until(&x, SCIM_US(5));

    ck_assert_uint_eq(mock_count(x.cpu0, SCIM_MSG_IPI), 1);
    const mock_log *ipi = mock_find(x.cpu0, SCIM_MSG_IPI, 0);
    ck_assert_msg(ipi->at == t0 + IPI_SEND_COST + L_CPU, "IPI at %llu ps", (unsigned long long)ipi->at);
    ck_assert_msg(!ipi->m.u.inv.broadcast, "an IPI is not a broadcast");
    check_scope(&ipi->m.u.inv.scope, SCIM_INV_RANGE, va, len, "IPI");
    ck_assert_uint_eq(mock_count(x.iommu, SCIM_MSG_INV_REQ), 1);
    const mock_log *inv = mock_find(x.iommu, SCIM_MSG_INV_REQ, 0);
    ck_assert_msg(inv->at == t0 + L_IOMMU, "INV_REQ at %llu ps, expected %llu", (unsigned long long)inv->at,
                  (unsigned long long)(t0 + L_IOMMU));
    ck_assert_msg(!inv->m.u.inv.broadcast, "sync: a request, not a broadcast");
    check_scope(&inv->m.u.inv.scope, SCIM_INV_RANGE, va, len, "INV_REQ");
    ck_assert_uint_eq(mock_count(x.dev, SCIM_MSG_INV_REQ), 0); /* the IOMMU forwards to devices, not the OS */

    ck_assert_uint_eq(mock_count(x.dev, SCIM_MSG_OS_RESP), 0);
    for (uint64_t a = va; a < va + len; a += PG)
        ck_assert_msg(!mapped(&x, a), "page 0x%llx unmapped before the invalidation completes",
                      (unsigned long long)a);
    ck_assert_msg(mapped(&x, va - PG) && mapped(&x, va + len), "the neighbours stay");
    scim_os_frames f1 = frames(&x);
    ck_assert_msg(f1.transit == 4, "4 frames in transit, got %llu", (unsigned long long)f1.transit);
    ck_assert_msg(f1.free == f0.free, "no frame freed yet (%llu -> %llu)", (unsigned long long)f0.free,
                  (unsigned long long)f1.free);
    ck_assert_msg(f1.data == f0.data - 4, "4 data frames left the mapping");
    ck_assert_msg(f1.deferred == 0, "no page-table frame emptied");

    mock_answer(x.iommu, log_index(x.iommu, SCIM_MSG_INV_REQ, 0), SCIM_RESP_OK, NULL);
    rig_run(&x.r);
    const mock_log *r = resp_of(x.dev, SCIM_MSG_OS_RESP, 21);
    ck_assert_msg(r->m.status == SCIM_RESP_OK, "status %d", r->m.status);
    ck_assert_msg(r->at == SCIM_US(5) + L_IOMMU + L_DEV, "OS_RESP at %llu ps, expected %llu",
                  (unsigned long long)r->at, (unsigned long long)(SCIM_US(5) + L_IOMMU + L_DEV));
    scim_os_frames f2 = frames(&x);
    ck_assert_msg(f2.transit == 0, "nothing in transit");
    ck_assert_msg(f2.free == f0.free + 4, "the 4 frames are free (%llu -> %llu)", (unsigned long long)f0.free,
                  (unsigned long long)f2.free);
    ck_assert_double_eq(rig_stat(&x.r, "os.ops.munmap"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.pages_unmapped"), 4);
    ck_assert_double_eq(rig_stat(&x.r, "os.shootdowns"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.ipis_sent"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.inv_units"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.broadcasts"), 0);
    ck_assert_double_eq(rig_stat(&x.r, "os.shootdown.latency.max"), (double)(SCIM_US(5) + L_IOMMU - t0));
    ck_assert_double_eq(rig_stat(&x.r, "os.shootdown.cpu_wait.max"),
                        (double)(IPI_SEND_COST + L_CPU + CPU_ACK + L_CPU));
    ck_assert_double_eq(rig_stat(&x.r, "os.shootdown.dev_wait.max"), (double)(SCIM_US(5) + L_IOMMU - t0));
    ck_assert_double_eq(rig_stat(&x.r, "os.op.latency.max"), (double)(SCIM_US(5) + L_IOMMU - L_DEV));
    fx_free(&x);
}
END_TEST

/* The whole answer time when the cores are the slowest part: two cores
 * bound, the IOMMU answering 300ns after it receives the INV_REQ (its ack
 * back at T0 + 50 + 300 + 50, well before the cores'). The costs add up:
 *   dev0 -> os 400 + syscall 500 + 4 pages x unmap 90
 *   + 2 IPIs sent one after another x 100 (the second, to cpu1, leaves last)
 *   + os -> cpu1 60 + cpu1's IPI handling 1000 + cpu1 -> os 60
 *   + os -> dev0 400                                            = 2980ns. */
START_TEST(munmap_answer_is_the_sum_of_its_costs)
{
    fx x;
    scim_os_params p = os_defaults();
    fx_init(&x, &p, true);
    x.iommu->mode = MOCK_ECHO;
    x.iommu->delay = SCIM_NS(300);
    send_munmap(&x, REG_A + 4 * PG, 4 * PG, 31);
    rig_run(&x.r);
    const scim_time_t t0 = L_DEV + SYSCALL_COST + 4 * UNMAP_PAGE_COST;
    const mock_log *i0 = mock_find(x.cpu0, SCIM_MSG_IPI, 0), *i1 = mock_find(x.cpu1, SCIM_MSG_IPI, 0);
    ck_assert_msg(i0 && i1, "an IPI to each bound core");
    ck_assert_msg(i0->at == t0 + IPI_SEND_COST + L_CPU, "IPI to cpu0 at %llu ps", (unsigned long long)i0->at);
    ck_assert_msg(i1->at == t0 + 2 * IPI_SEND_COST + L_CPU, "IPI to cpu1 at %llu ps", (unsigned long long)i1->at);
    const mock_log *r = resp_of(x.dev, SCIM_MSG_OS_RESP, 31);
    const scim_time_t want = SCIM_NS(400 + 500 + 4 * 90 + 2 * 100 + 60 + 1000 + 60 + 400);
    ck_assert_uint_eq(want, t0 + 2 * IPI_SEND_COST + L_CPU + CPU_ACK + L_CPU + L_DEV);
    ck_assert_msg(r->m.status == SCIM_RESP_OK, "status %d", r->m.status);
    ck_assert_msg(r->at == want, "OS_RESP at %llu ps, expected %llu", (unsigned long long)r->at,
                  (unsigned long long)want);
    ck_assert_double_eq(rig_stat(&x.r, "os.ipis_sent"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.shootdown.dev_wait.max"), (double)(L_IOMMU + SCIM_NS(300) + L_IOMMU));
    /* the OS's CPU time: the operation, then the initiator waiting for the last ack */
    ck_assert_double_eq(rig_stat(&x.r, "os.busy_ps"), (double)(want - 2 * L_DEV));
    ck_assert_uint_eq(frames(&x).transit, 0);
    fx_free(&x);
}
END_TEST

/* The invalidation scope by the round's page count: up to
 * inv_coalesce_pages (33) pages one range, beyond it the whole PASID (for
 * the IPI too). Unmapping all of region A also empties its page table, PD
 * and PDPT (nothing else is mapped): 3 table frames deferred until the
 * round is over, freed with the data frames. */
static const struct scope_case {
    uint32_t first, pages;
    scim_inv_kind kind;
    uint64_t tables;
} scope_cases[] = {
    {4, 4, SCIM_INV_RANGE, 0},
    {0, COALESCE, SCIM_INV_RANGE, 0},
    {0, COALESCE + 1, SCIM_INV_PASID, 0},
    {0, REG_A_PAGES, SCIM_INV_PASID, 3},
};

START_TEST(munmap_scope_by_page_count)
{
    const struct scope_case *c = &scope_cases[_i];
    fx x;
    scim_os_params p = os_defaults();
    fx_init(&x, &p, false);
    const uint64_t va = REG_A + c->first * PG, len = c->pages * PG;
    const scim_time_t t0 = L_DEV + SYSCALL_COST + c->pages * UNMAP_PAGE_COST;
    scim_os_frames f0 = frames(&x);
    send_munmap(&x, va, len, 41);
    run_until(&x, SCIM_US(20));
    const mock_log *inv = mock_find(x.iommu, SCIM_MSG_INV_REQ, 0);
    ck_assert_msg(inv && mock_count(x.iommu, SCIM_MSG_INV_REQ) == 1, "%u pages: one INV_REQ", c->pages);
    ck_assert_msg(inv->at == t0 + L_IOMMU, "%u pages: INV_REQ at %llu ps", c->pages, (unsigned long long)inv->at);
    check_scope(&inv->m.u.inv.scope, c->kind, va, len, "INV_REQ");
    check_scope(&mock_find(x.cpu0, SCIM_MSG_IPI, 0)->m.u.inv.scope, c->kind, va, len, "IPI");
    ck_assert_uint_eq(mock_count(x.dev, SCIM_MSG_OS_RESP), 0);
    scim_os_frames f1 = frames(&x);
    ck_assert_msg(f1.transit == c->pages, "%u pages: %llu in transit", c->pages, (unsigned long long)f1.transit);
    ck_assert_msg(f1.deferred == c->tables, "%u pages: %llu table frames deferred, expected %llu", c->pages,
                  (unsigned long long)f1.deferred, (unsigned long long)c->tables);
    ck_assert_msg(f1.free == f0.free, "nothing freed before the invalidation completes");
    ck_assert_msg(!mapped(&x, va) && !mapped(&x, va + len - 1), "unmapped");

    mock_answer(x.iommu, log_index(x.iommu, SCIM_MSG_INV_REQ, 0), SCIM_RESP_OK, NULL);
    rig_run(&x.r);
    const mock_log *r = resp_of(x.dev, SCIM_MSG_OS_RESP, 41);
    ck_assert_msg(r->m.status == SCIM_RESP_OK && r->at == SCIM_US(20) + L_IOMMU + L_DEV, "%u pages: OS_RESP at %llu ps",
                  c->pages, (unsigned long long)r->at);
    scim_os_frames f2 = frames(&x);
    ck_assert_msg(f2.free == f0.free + c->pages + c->tables, "%u pages: free %llu -> %llu", c->pages,
                  (unsigned long long)f0.free, (unsigned long long)f2.free);
    ck_assert_msg(f2.transit == 0 && f2.deferred == 0, "nothing left waiting");
    ck_assert_msg(f2.page_tables == f0.page_tables - c->tables, "page-table frames %llu -> %llu",
                  (unsigned long long)f0.page_tables, (unsigned long long)f2.page_tables);
    ck_assert_double_eq(rig_stat(&x.r, "os.inv_units"), 1);
    fx_free(&x);
}
END_TEST

/* A munmap of a range with holes: pages 0 and 2 of region B faulted in by
 * the CPU, pages 0..3 unmapped. Two ranges: two INV_REQ (one per range), a
 * whole-PASID IPI (an IPI carries one range at most); the cost counts the
 * 2 mapped pages only. */
START_TEST(munmap_of_two_ranges_sends_two_descriptors)
{
    fx x;
    scim_os_params p = os_defaults();
    fx_init(&x, &p, false);
    send_cpu_fault(&x, x.cpu0, REG_B, true, 1);
    send_cpu_fault(&x, x.cpu0, REG_B + 2 * PG, true, 2);
    run_until(&x, SCIM_US(10));
    ck_assert_msg(mapped(&x, REG_B) && !mapped(&x, REG_B + PG) && mapped(&x, REG_B + 2 * PG), "pages 0 and 2");
    send_munmap(&x, REG_B, 4 * PG, 3);
    run_until(&x, SCIM_US(20));
    const scim_time_t t0 = SCIM_US(10) + L_DEV + SYSCALL_COST + 2 * UNMAP_PAGE_COST;
    ck_assert_uint_eq(mock_count(x.iommu, SCIM_MSG_INV_REQ), 2);
    for (size_t k = 0; k < 2; k++) {
        const mock_log *inv = mock_find(x.iommu, SCIM_MSG_INV_REQ, k);
        ck_assert_msg(inv->at == t0 + L_IOMMU, "INV_REQ %zu at %llu ps", k, (unsigned long long)inv->at);
        check_scope(&inv->m.u.inv.scope, SCIM_INV_RANGE, REG_B + 2 * k * PG, PG, "INV_REQ");
    }
    check_scope(&mock_find(x.cpu0, SCIM_MSG_IPI, 0)->m.u.inv.scope, SCIM_INV_PASID, 0, 0, "IPI");
    /* the round ends with the last of the two completions */
    mock_answer(x.iommu, log_index(x.iommu, SCIM_MSG_INV_REQ, 1), SCIM_RESP_OK, NULL);
    run_until(&x, SCIM_US(30));
    ck_assert_uint_eq(mock_count(x.dev, SCIM_MSG_OS_RESP), 0);
    mock_answer(x.iommu, log_index(x.iommu, SCIM_MSG_INV_REQ, 0), SCIM_RESP_OK, NULL);
    rig_run(&x.r);
    const mock_log *r = resp_of(x.dev, SCIM_MSG_OS_RESP, 3);
    ck_assert_msg(r->at == SCIM_US(30) + L_IOMMU + L_DEV, "OS_RESP at %llu ps", (unsigned long long)r->at);
    ck_assert_double_eq(rig_stat(&x.r, "os.inv_units"), 2);
    ck_assert_double_eq(rig_stat(&x.r, "os.pages_unmapped"), 2);
    ck_assert_uint_eq(frames(&x).transit, 0);
    fx_free(&x);
}
END_TEST

/* Broadcast (os.shootdown = 1): one invalidation, issued at T0 +
 * broadcast_cost 20ns, snooped by cpu0, the IOMMU and dev0, each
 * acknowledging; no IPI. T0 = 1260 as above. cpu0's ack is back at
 * 1280 + 60 + 1000 + 60 = 2400, dev0's at 1280 + 400 + 2000 + 400 = 4080;
 * the IOMMU holds its copy until 5us: OS_RESP at 5000 + 50 + 400. */
START_TEST(munmap_broadcast_reaches_cores_iommu_and_devices)
{
    fx x;
    scim_os_params p = os_defaults();
    p.shootdown = 1;
    fx_init(&x, &p, false);
    const uint64_t va = REG_A + 4 * PG, len = 4 * PG;
    const scim_time_t sent = L_DEV + SYSCALL_COST + 4 * UNMAP_PAGE_COST + BROADCAST_COST;
    send_munmap(&x, va, len, 51);
    run_until(&x, SCIM_US(5));
    struct {
        mock_ep *ep;
        scim_time_t lat;
    } snoop[3] = {{x.cpu0, L_CPU}, {x.iommu, L_IOMMU}, {x.dev, L_DEV}};
    for (int k = 0; k < 3; k++) {
        const char *name = scim_port_name(snoop[k].ep->port);
        ck_assert_msg(mock_count(snoop[k].ep, SCIM_MSG_INV_REQ) == 1, "%s: one INV_REQ", name);
        const mock_log *inv = mock_find(snoop[k].ep, SCIM_MSG_INV_REQ, 0);
        ck_assert_msg(inv->m.u.inv.broadcast, "%s: a broadcast", name);
        ck_assert_msg(inv->at == sent + snoop[k].lat, "%s: INV_REQ at %llu ps, expected %llu", name,
                      (unsigned long long)inv->at, (unsigned long long)(sent + snoop[k].lat));
        check_scope(&inv->m.u.inv.scope, SCIM_INV_RANGE, va, len, name);
    }
    ck_assert_uint_eq(mock_count(x.cpu0, SCIM_MSG_IPI), 0);
    ck_assert_uint_eq(mock_count(x.dev, SCIM_MSG_OS_RESP), 0);
    ck_assert_uint_eq(frames(&x).transit, 4);
    mock_answer(x.iommu, log_index(x.iommu, SCIM_MSG_INV_REQ, 0), SCIM_RESP_OK, NULL);
    rig_run(&x.r);
    const mock_log *r = resp_of(x.dev, SCIM_MSG_OS_RESP, 51);
    ck_assert_msg(r->m.status == SCIM_RESP_OK, "status %d", r->m.status);
    ck_assert_msg(r->at == SCIM_US(5) + L_IOMMU + L_DEV, "OS_RESP at %llu ps", (unsigned long long)r->at);
    ck_assert_uint_eq(frames(&x).transit, 0);
    ck_assert_double_eq(rig_stat(&x.r, "os.broadcasts"), 1);
    /* the last core's ack (2400) and the last device-side ack (the IOMMU's, 5050), from T0 */
    ck_assert_double_eq(rig_stat(&x.r, "os.shootdown.cpu_wait.max"),
                        (double)(BROADCAST_COST + L_CPU + CPU_ACK + L_CPU));
    ck_assert_double_eq(rig_stat(&x.r, "os.shootdown.dev_wait.max"),
                        (double)(SCIM_US(5) + L_IOMMU - (sent - BROADCAST_COST)));
    ck_assert_double_eq(rig_stat(&x.r, "os.ipis_sent"), 0);
    ck_assert_double_eq(rig_stat(&x.r, "os.inv_units"), 1);
    fx_free(&x);
}
END_TEST

/* Walk placement shadow (dev0 keeps a copy and acknowledges each update
 * DEV_ACK after it arrives), handlers awake (no wake-up cost). A fault on
 * a page of B reaches handler 1 at 400 ns: it maps the page at 400 + 2000
 * and answers after its page cost, sending the update (the entries it
 * wrote) first. A second fault on the page, sent at 1 us, reaches handler
 * 2 once the first was taken (so it does not join it): at 1000 + 400 +
 * 2000 it finds the page mapped, with nothing of its own to send — but its
 * answer depends on the update in flight (a device told to retry before
 * its copy holds the page walks the copy, misses and faults again), so it
 * waits for that update's acknowledgement too: both answers leave then. */
START_TEST(shadow_answer_waits_for_update_in_flight)
{
    fx x;
    scim_os_params p = os_defaults();
    p.fault_handlers = 2;
    p.iopf_wakeup = 0;
    fx_init(&x, &p, false);
    scim_err err = {0};
    ck_assert_msg(scim_os_bind_shadow(x.os, rig_node(&x.r, "dev0"), PASID, &err) == 0, "%s", err.msg);
    uint64_t va = REG_B + 5 * PG;
    send_pri(&x, va, true, 1);
    run_until(&x, SCIM_US(1));
    send_pri(&x, va, false, 2);
    rig_run(&x.r);
    const scim_time_t update_sent = L_DEV + IOPF_COST + PAGE_COST;
    const scim_time_t acked = update_sent + L_DEV + DEV_ACK + L_DEV;
    ck_assert_uint_eq(mock_count(x.dev, SCIM_MSG_SYNC), 1);
    ck_assert_uint_eq(logged_at(x.dev, SCIM_MSG_SYNC, 0), update_sent + L_DEV);
    const mock_log *r1 = resp_of(x.dev, SCIM_MSG_PRI_RESP, 1), *r2 = resp_of(x.dev, SCIM_MSG_PRI_RESP, 2);
    ck_assert_msg(r1->m.status == SCIM_RESP_OK && r2->m.status == SCIM_RESP_OK, "statuses %d %d", r1->m.status,
                  r2->m.status);
    ck_assert_msg(r1->at == acked + L_DEV, "handler 1's answer at %llu ps, expected %llu",
                  (unsigned long long)r1->at, (unsigned long long)(acked + L_DEV));
    /* not at 1000 + 400 + 2000 + 400, before the copy has the page */
    ck_assert_msg(r2->at == acked + L_DEV, "handler 2's answer at %llu ps, expected %llu",
                  (unsigned long long)r2->at, (unsigned long long)(acked + L_DEV));
    ck_assert_double_eq(rig_stat(&x.r, "os.shadow.syncs"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.shadow.sync_waits"), 1);
    ck_assert_double_eq(rig_stat(&x.r, "os.iopf.spurious"), 1);
    fx_free(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("os_unit");
    TCase *tc = tcase_create("os_unit");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, defaults_are_the_documented_costs);
    tcase_add_test(tc, iopf_maps_the_page_after_iopf_cost);
    tcase_add_test(tc, iopf_outside_regions_or_protection_is_invalid);
    tcase_add_test(tc, iopf_one_handler_queues_and_joins);
    tcase_add_test(tc, cpu_fault_answers_after_cpu_fault_cost);
    tcase_add_test(tc, munmap_waits_for_the_device_invalidation);
    tcase_add_test(tc, munmap_answer_is_the_sum_of_its_costs);
    tcase_add_loop_test(tc, munmap_scope_by_page_count, 0, (int)(sizeof scope_cases / sizeof scope_cases[0]));
    tcase_add_test(tc, munmap_of_two_ranges_sends_two_descriptors);
    tcase_add_test(tc, munmap_broadcast_reaches_cores_iommu_and_devices);
    tcase_add_test(tc, shadow_answer_waits_for_update_in_flight);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

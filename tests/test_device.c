/* The device alone, driven through its port with mocks on the other side
 * (helpers/devrig.h has the topology and every latency): each walk
 * placement, IOTLB hits, merged misses, invalidations (scope, drain of
 * in-flight accesses, the bounded queue) and what the device reports while
 * it is stuck, the shadow copy's updates applied in order. Fault policies
 * are in test_device_faults.c.
 *
 * Every expected time is derived by hand from the rig's constants:
 * L_* are one-way link latencies, D_* the mocks' answer delays, T_LOOKUP
 * the IOTLB lookup (2 cycles at 1 GHz). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "helpers/devrig.h"

/* Two writes to one page issued together (the second merges into the
 * first's translation), then a read of the same page later (an IOTLB hit). */
static const char *const TRACE_MERGE_HIT = "# scimitar trace v1\n"
                                           "@0 write 0x7f0000000100 64\n"
                                           "@0 write 0x7f0000000400 64\n"
                                           "@1000 read 0x7f0000000800 64\n";

/* ---- walk placements ---- */

typedef struct placement_case {
    const char *name;
    int walk;
    scim_time_t xlat_at;   /* the translation request's arrival at the mock asked (0: none asked) */
    scim_time_t dma_at;    /* the two writes' arrival at "mem" */
    uint64_t pte_reads;    /* entries the device's walker read */
    size_t mem_pte_reads;  /* of those, read from "mem" */
} placement_case;

/* One walk of 4 levels, each entry a round trip plus the memory's delay. */
#define WALK_MEM (T_LOOKUP + T_PWC + 4 * (L_MEM + D_MEM + L_MEM))
#define WALK_SHADOW (T_LOOKUP + T_PWC + 4 * (L_SHADOW + T_SHADOW + L_SHADOW))

static const placement_case placements[] = {
    /* ATS request at 2 + 100 = 102, answered at 132, back at 232, DMA at 282 */
    {"iommu", SCIM_WALK_IOMMU, T_LOOKUP + L_IOMMU, T_LOOKUP + L_IOMMU + D_IOMMU + L_IOMMU + L_MEM, 0, 0},
    /* interrupt at 2 + 200 = 202, answered at 242, back at 442, DMA at 492 */
    {"software", SCIM_WALK_SOFTWARE, T_LOOKUP + L_OS, T_LOOKUP + L_OS + D_OS + L_OS + L_MEM, 0, 0},
    /* 4 reads of 120 ns from 3: walk done at 483, DMA at 533 */
    {"device", SCIM_WALK_DEVICE, 0, WALK_MEM + L_MEM, 4, 4},
    /* 4 reads of 60 ns from 3: walk done at 243, DMA at 293 */
    {"shadow", SCIM_WALK_SHADOW, 0, WALK_SHADOW + L_MEM, 4, 0},
};

static void poke_mem(void *ctx, uint64_t pa, uint64_t v) { mock_poke(ctx, pa, v); }
static void load_shadow(void *ctx, uint64_t pa, uint64_t v)
{
    ck_assert_int_eq(scim_device_shadow_load(ctx, pa, v), 0);
}

START_TEST(walk_placements)
{
    const placement_case *c = &placements[_i];
    scim_device_params p = devrig_params(c->walk, SCIM_FAULT_STALL);
    dev_rig d;
    devrig_init(&d, &p, TRACE_MERGE_HIT, MOCK_ECHO, MOCK_MEMORY, MOCK_ECHO);
    uint64_t entry[4] = {0};
    if (c->walk == SCIM_WALK_DEVICE)
        devrig_table(VA0, PAGE_PA, poke_mem, d.mem, entry);
    if (c->walk == SCIM_WALK_SHADOW) /* the copy only: "mem" holds no table, a read there would fault */
        devrig_table(VA0, PAGE_PA, load_shadow, d.dev, entry);
    if (c->walk == SCIM_WALK_DEVICE || c->walk == SCIM_WALK_SHADOW)
        scim_device_set_address_space(d.dev, PT_ROOT, &scim_pt_x86_4l);
    devrig_start(&d);
    rig_run(&d.r);

    /* the translation request, one for both writes */
    size_t ats = mock_count(d.iommu, SCIM_MSG_ATS_REQ), irq = mock_count(d.os, SCIM_MSG_XLAT_IRQ);
    ck_assert_msg(ats == (c->walk == SCIM_WALK_IOMMU) && irq == (c->walk == SCIM_WALK_SOFTWARE),
                  "%s: %zu ATS requests, %zu interrupts", c->name, ats, irq);
    if (c->xlat_at) {
        const mock_log *x = c->walk == SCIM_WALK_IOMMU ? logged(d.iommu, SCIM_MSG_ATS_REQ, 0)
                                                        : logged(d.os, SCIM_MSG_XLAT_IRQ, 0);
        ck_assert_msg(x->at == c->xlat_at, "%s: translation request at %llu ps, expected %llu", c->name,
                      (unsigned long long)x->at, (unsigned long long)c->xlat_at);
        ck_assert_msg(x->m.u.xlat.pasid == PASID && x->m.u.xlat.va == VA0 && x->m.u.xlat.write,
                      "%s: asked pasid %u va 0x%llx write %d", c->name, x->m.u.xlat.pasid,
                      (unsigned long long)x->m.u.xlat.va, x->m.u.xlat.write);
    }
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.requests"), 1);
    ck_assert_msg(stat_u(&d, "dev.iotlb.miss_merged") == 1, "%s: the second write merges", c->name);
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.rerequests"), 0);

    /* the walker's reads: the real table in "mem" (device) or the copy (shadow) */
    if (c->pte_reads)
        ck_assert_uint_eq(stat_u(&d, "dev.walk.pte_reads"), c->pte_reads);
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_READ), c->mem_pte_reads + 1);
    for (size_t i = 0; i < c->mem_pte_reads; i++) {
        const mock_log *r = logged(d.mem, SCIM_MSG_MEM_READ, i);
        scim_time_t at = T_LOOKUP + T_PWC + L_MEM + i * (L_MEM + D_MEM + L_MEM);
        ck_assert_msg(r->m.u.mem.pte && r->m.u.mem.pa == entry[i] && r->m.u.mem.level == 4 - i && r->at == at,
                      "%s: PTE read %zu: pa 0x%llx level %u at %llu ps, expected 0x%llx level %zu at %llu", c->name, i,
                      (unsigned long long)r->m.u.mem.pa, r->m.u.mem.level, (unsigned long long)r->at,
                      (unsigned long long)entry[i], 4 - i, (unsigned long long)at);
    }
    if (c->walk == SCIM_WALK_SHADOW)
        ck_assert_msg(rig_stat(&d.r, "fabric.dev.dev_shadow.msgs") == 4, "shadow: 4 reads to dev_shadow, got %g",
                      rig_stat(&d.r, "fabric.dev.dev_shadow.msgs"));
    ck_assert_uint_eq(stat_u(&d, "fabric.dev.mem.msgs"), c->mem_pte_reads + 3);

    /* the writes use the translated page: pa = page + offset */
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), 2);
    const uint64_t off[2] = {0x100, 0x400};
    for (size_t i = 0; i < 2; i++) {
        const mock_log *w = logged(d.mem, SCIM_MSG_MEM_WRITE, i);
        ck_assert_msg(w->at == c->dma_at && w->m.u.mem.pa == PAGE_PA + off[i] && w->m.u.mem.len == 64,
                      "%s: write %zu at %llu ps pa 0x%llx, expected %llu ps pa 0x%llx", c->name, i,
                      (unsigned long long)w->at, (unsigned long long)w->m.u.mem.pa, (unsigned long long)c->dma_at,
                      (unsigned long long)(PAGE_PA + off[i]));
    }
    /* the read at 1000 ns hits: no second translation, at mem 1000 + 2 + 50 */
    const mock_log *r = &d.mem->log[d.mem->n - 1];
    ck_assert_msg(r->m.type == SCIM_MSG_MEM_READ && !r->m.u.mem.pte && r->m.u.mem.pa == PAGE_PA + 0x800 &&
                      r->at == NS(1000) + T_LOOKUP + L_MEM,
                  "%s: the hit's read at %llu ps pa 0x%llx", c->name, (unsigned long long)r->at,
                  (unsigned long long)r->m.u.mem.pa);
    ck_assert_uint_eq(stat_u(&d, "dev.iotlb.hits"), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.iotlb.misses"), 2);
    /* the miss waited until the DMA left; the hit only its lookup */
    ck_assert_uint_eq(stat_u(&d, "dev.translation.latency.max"), c->dma_at - L_MEM);
    ck_assert_uint_eq(stat_u(&d, "dev.translation.latency.min"), T_LOOKUP);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.requests"), 3);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.errors"), 0);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.bytes"), 3 * 64);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.finish_ps"), NS(1000) + T_LOOKUP + L_MEM + D_MEM + L_MEM);
    ck_assert_uint_eq(stat_u(&d, "dev.faults"), 0);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* ---- invalidations ---- */

typedef struct inv_case {
    const char *name;
    scim_inv_scope scope;
    bool removes; /* the cached translation of VA0 */
} inv_case;

static const inv_case inv_cases[] = {
    {"range over the page", {SCIM_INV_RANGE, PASID, VA0, SCIM_PAGE_SIZE}, true},
    {"range inside the page", {SCIM_INV_RANGE, PASID, VA0 + 0x800, 16}, true},
    {"range over the next page", {SCIM_INV_RANGE, PASID, VA0 + SCIM_PAGE_SIZE, SCIM_PAGE_SIZE}, false},
    {"range of another pasid", {SCIM_INV_RANGE, PASID + 1, VA0, SCIM_PAGE_SIZE}, false},
    {"pasid", {SCIM_INV_PASID, PASID, 0, 0}, true},
    {"global", {SCIM_INV_GLOBAL, 0, 0, 0}, true},
};

static void send_inv(dev_rig *d, const scim_inv_scope *s, uint64_t id)
{
    scim_msg proto;
    memset(&proto, 0, sizeof proto);
    proto.u.inv = (scim_inv_req){*s, false};
    mock_request(d->iommu, scim_device_node(d->dev), SCIM_MSG_INV_REQ, &proto, id);
}

/* The INV_DONE the "iommu" mock got for request `id`. */
static const mock_log *inv_done(const dev_rig *d, uint64_t id)
{
    for (size_t k = 0; k < mock_count(d->iommu, SCIM_MSG_INV_DONE); k++) {
        const mock_log *l = mock_find(d->iommu, SCIM_MSG_INV_DONE, k);
        if (l->m.tag == id)
            return l;
    }
    return NULL;
}

/* A write caches VA0; an invalidation at 1000 ns (at the device at 1100,
 * done at 1600, its INV_DONE at the IOMMU at 1700); a read of VA0 at
 * 5000 ns misses again if the scope covered the page. */
START_TEST(inv_scope_removes_entry)
{
    const inv_case *c = &inv_cases[_i];
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_STALL);
    dev_rig d;
    devrig_init(&d, &p, "@0 write 0x7f0000000100 64\n@5000 read 0x7f0000000200 64\n", MOCK_ECHO, MOCK_MEMORY,
                MOCK_ECHO);
    devrig_start(&d);
    run_to(&d, NS(1000));
    ck_assert_int_eq(scim_tlb_probe(scim_device_iotlb(d.dev), PASID, VA0, NULL), 1);
    send_inv(&d, &c->scope, 77);
    run_to(&d, NS(4000));
    const mock_log *done = inv_done(&d, 77);
    ck_assert_msg(done, "%s: no INV_DONE", c->name);
    ck_assert_msg(done->at == NS(1000) + L_IOMMU + T_INV + L_IOMMU && done->m.status == SCIM_RESP_OK,
                  "%s: INV_DONE at %llu ps status %d", c->name, (unsigned long long)done->at, done->m.status);
    ck_assert_uint_eq(stat_u(&d, "dev.invalidations"), 1);
    ck_assert_msg(stat_u(&d, "dev.inv.entries") == c->removes, "%s: %llu entries removed", c->name,
                  (unsigned long long)stat_u(&d, "dev.inv.entries"));
    ck_assert_int_eq(scim_tlb_probe(scim_device_iotlb(d.dev), PASID, VA0, NULL), !c->removes);
    ck_assert_uint_eq(stat_u(&d, "dev.inv.latency.max"), T_INV);
    rig_run(&d.r);
    /* the read: a miss asks again and reaches mem at 5000+2+100+30+100+50, a hit at 5000+2+50 */
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), c->removes ? 2 : 1);
    const mock_log *r = logged(d.mem, SCIM_MSG_MEM_READ, 0);
    scim_time_t at = NS(5000) + T_LOOKUP + (c->removes ? L_IOMMU + D_IOMMU + L_IOMMU : 0) + L_MEM;
    ck_assert_msg(r->at == at && r->m.u.mem.pa == PAGE_PA + 0x200, "%s: read at %llu ps, expected %llu", c->name,
                  (unsigned long long)r->at, (unsigned long long)at);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* Two writes held by "mem" (both there at 282 ns): VA0+0x100 (in the
 * scope, or in the page the scope touches) and VA0+0x5000 (outside). The
 * invalidation sent at 300 ns is processed at 400 + 500 = 900 ns, but its
 * completion waits for the accesses that used an invalidated translation. */
typedef struct drain_case {
    const char *name;
    scim_inv_scope scope;
} drain_case;

static const drain_case drain_cases[] = {
    {"range over the page", {SCIM_INV_RANGE, PASID, VA0, SCIM_PAGE_SIZE}},
    /* the chunk's own bytes are outside the range, but the translation it
     * used (the whole page) is removed: it must drain too */
    {"range over the page's second half", {SCIM_INV_RANGE, PASID, VA0 + 0x800, 0x800}},
};

START_TEST(inv_waits_for_inflight_access)
{
    const drain_case *c = &drain_cases[_i];
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_STALL);
    dev_rig d;
    devrig_init(&d, &p, "@0 write 0x7f0000000100 64\n@0 write 0x7f0000005000 64\n", MOCK_ECHO, MOCK_HOLD,
                MOCK_ECHO);
    devrig_start(&d);
    run_to(&d, NS(300));
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), 2);
    /* the ECHO iommu maps both pages to PAGE_PA: the offsets tell them apart */
    size_t in_scope = logged(d.mem, SCIM_MSG_MEM_WRITE, 0)->m.u.mem.pa == PAGE_PA + 0x100 ? 0 : 1;
    ck_assert_uint_eq(logged(d.mem, SCIM_MSG_MEM_WRITE, in_scope)->m.u.mem.pa, PAGE_PA + 0x100);
    ck_assert_uint_eq(logged(d.mem, SCIM_MSG_MEM_WRITE, 1 - in_scope)->m.u.mem.pa, PAGE_PA);
    send_inv(&d, &c->scope, 5);
    run_to(&d, NS(2000));
    ck_assert_uint_eq(stat_u(&d, "dev.invalidations"), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.inv.entries"), 1);
    ck_assert_msg(!inv_done(&d, 5), "%s: INV_DONE left while an access that used the translation is in flight",
                  c->name);
    ck_assert(!scim_device_finished(d.dev));
    char buf[512];
    scim_device_describe(d.dev, buf, sizeof buf);
    ck_assert_msg(strstr(buf, "1 invalidation(s) queued") && strstr(buf, "2 request piece(s) in flight"), "%s",
                  buf);
    /* the access outside the scope completes: still waiting */
    answer_held(d.mem, SCIM_MSG_MEM_WRITE, 1 - in_scope, SCIM_RESP_OK);
    run_to(&d, NS(3000));
    ck_assert_msg(!inv_done(&d, 5), "%s: INV_DONE left when an unrelated access completed", c->name);
    /* the one in the scope completes at 3050: INV_DONE leaves then, at the IOMMU at 3150 */
    answer_held(d.mem, SCIM_MSG_MEM_WRITE, in_scope, SCIM_RESP_OK);
    rig_run(&d.r);
    const mock_log *done = inv_done(&d, 5);
    ck_assert_msg(done && done->at == NS(3000) + L_MEM + L_IOMMU, "%s: INV_DONE at %llu ps", c->name,
                  done ? (unsigned long long)done->at : 0ull);
    ck_assert_uint_eq(stat_u(&d, "dev.inv.latency.max"), NS(3000) + L_MEM - (NS(300) + L_IOMMU));
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* The same with a 2 MiB translation: a write at VA0+0x100 (at mem at 282)
 * and an invalidation of another 4 KiB page inside the same 2 MiB page
 * (the unmap of a piece of a huge page). The cached 2 MiB translation goes,
 * and the write that used it must complete before INV_DONE leaves: answered
 * at 2000, back at 2050, INV_DONE at the IOMMU at 2150. */
START_TEST(inv_waits_for_large_page_access)
{
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_STALL);
    dev_rig d;
    devrig_init(&d, &p, "@0 write 0x7f0000000100 64\n", MOCK_ECHO, MOCK_HOLD, MOCK_ECHO);
    const uint64_t huge_pa = 0x40000000ull;
    d.iommu->xlat = (scim_xlat_resp){huge_pa, SCIM_SHIFT_2M, SCIM_PERM_R | SCIM_PERM_W};
    devrig_start(&d);
    run_to(&d, NS(300));
    ck_assert_uint_eq(logged(d.mem, SCIM_MSG_MEM_WRITE, 0)->m.u.mem.pa, huge_pa + 0x100);
    const scim_inv_scope s = {SCIM_INV_RANGE, PASID, VA0 + 0x3000, SCIM_PAGE_SIZE};
    send_inv(&d, &s, 9);
    run_to(&d, NS(2000));
    ck_assert_uint_eq(stat_u(&d, "dev.inv.entries"), 1);
    ck_assert_int_eq(scim_tlb_probe(scim_device_iotlb(d.dev), PASID, VA0, NULL), 0);
    ck_assert_msg(!inv_done(&d, 9), "INV_DONE left while a write through the removed 2 MiB translation is in flight");
    answer_held(d.mem, SCIM_MSG_MEM_WRITE, 0, SCIM_RESP_OK);
    rig_run(&d.r);
    const mock_log *done = inv_done(&d, 9);
    ck_assert_msg(done && done->at == NS(2000) + L_MEM + L_IOMMU, "INV_DONE at %llu ps",
                  done ? (unsigned long long)done->at : 0ull);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* Two invalidations sent together at 1000 ns. With room for one, the
 * second waits at the sender until the first's INV_DONE leaves (1600 ns):
 * at the device at 1700, done at 2200, at the IOMMU at 2300. With room for
 * two, both arrive at 1100 and the second is processed after the first:
 * done at 2100, at the IOMMU at 2200. */
typedef struct invq_case {
    uint64_t inv_queue;
    uint64_t credit_waits;
    scim_time_t second_done;    /* its INV_DONE at the IOMMU */
    uint64_t peak;
    scim_time_t latency_max;    /* arrival to INV_DONE */
} invq_case;

static const invq_case invq_cases[] = {
    {1, 1, NS(1000) + L_IOMMU + T_INV + L_IOMMU + T_INV + L_IOMMU, 1, T_INV},
    {2, 0, NS(1000) + L_IOMMU + 2 * T_INV + L_IOMMU, 2, 2 * T_INV},
};

START_TEST(inv_queue_bounds_requests)
{
    const invq_case *c = &invq_cases[_i];
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_STALL);
    p.inv_queue = c->inv_queue;
    dev_rig d;
    devrig_init(&d, &p, "@0 write 0x7f0000000100 64\n", MOCK_ECHO, MOCK_MEMORY, MOCK_ECHO);
    devrig_start(&d);
    run_to(&d, NS(1000));
    const scim_inv_scope s = {SCIM_INV_RANGE, PASID, VA0, SCIM_PAGE_SIZE};
    send_inv(&d, &s, 1);
    send_inv(&d, &s, 2);
    rig_run(&d.r);
    const mock_log *a = inv_done(&d, 1), *b = inv_done(&d, 2);
    ck_assert_msg(a && b, "inv_queue %llu: both INV_DONEs", (unsigned long long)c->inv_queue);
    ck_assert_uint_eq(a->at, NS(1000) + L_IOMMU + T_INV + L_IOMMU);
    ck_assert_msg(b->at == c->second_done, "inv_queue %llu: second INV_DONE at %llu ps, expected %llu",
                  (unsigned long long)c->inv_queue, (unsigned long long)b->at, (unsigned long long)c->second_done);
    ck_assert_msg(stat_u(&d, "iommu.port.credit_waits") == c->credit_waits, "inv_queue %llu: %llu credit waits",
                  (unsigned long long)c->inv_queue, (unsigned long long)stat_u(&d, "iommu.port.credit_waits"));
    if (c->credit_waits)
        ck_assert_uint_eq(stat_u(&d, "iommu.port.credit_wait.max"), L_IOMMU + T_INV);
    ck_assert_uint_eq(stat_u(&d, "dev.queue.inv.peak"), c->peak);
    ck_assert_uint_eq(stat_u(&d, "dev.invalidations"), 2);
    ck_assert_uint_eq(stat_u(&d, "dev.inv.entries"), 1); /* the second finds nothing left */
    ck_assert_uint_eq(stat_u(&d, "dev.inv.latency.max"), c->latency_max);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* ---- what a stuck device reports ---- */

/* A read at 100 ns whose memory never answers (until the test does), then
 * an OS operation that waits behind it (a barrier) and whose answer the
 * test gives too. */
START_TEST(oldest_and_finished)
{
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_STALL);
    dev_rig d;
    devrig_init(&d, &p, "# scimitar trace v1\n@100 read 0x7f0000000100 64\n+0 mmap 0x7f0000200000 0x1000\n",
                MOCK_ECHO, MOCK_HOLD, MOCK_HOLD);
    devrig_start(&d);
    run_to(&d, NS(1000));
    /* the read reached mem at 100 + 2 + 100 + 30 + 100 + 50 = 382 ns and stays there */
    ck_assert_uint_eq(logged(d.mem, SCIM_MSG_MEM_READ, 0)->at,
                      NS(100) + T_LOOKUP + L_IOMMU + D_IOMMU + L_IOMMU + L_MEM);
    scim_time_t since = 0;
    char what[256];
    ck_assert(scim_device_oldest(d.dev, &since, what, sizeof what));
    ck_assert_uint_eq(since, NS(100));
    ck_assert_msg(strstr(what, "read of 64 bytes at pasid 1 va 0x7f0000000100") && strstr(what, "trace line 2") &&
                      strstr(what, "1 piece(s) left"),
                  "oldest: %s", what);
    ck_assert(!scim_device_finished(d.dev));
    char buf[512];
    scim_device_describe(d.dev, buf, sizeof buf);
    ck_assert_msg(strstr(buf, "1 request piece(s) in flight") && strstr(buf, "not waiting for the OS") &&
                      strstr(buf, "0 translation(s) and 0 page request(s) outstanding"),
                  "describe: %s", buf);
    ck_assert_uint_eq(mock_count(d.os, SCIM_MSG_OS_REQ), 0); /* the barrier holds the mmap back */

    /* memory answers at 1000: the read completes at 1050, the mmap leaves then (at the OS at 1250) */
    answer_held(d.mem, SCIM_MSG_MEM_READ, 0, SCIM_RESP_OK);
    run_to(&d, NS(2000));
    const mock_log *os = logged(d.os, SCIM_MSG_OS_REQ, 0);
    ck_assert_uint_eq(os->at, NS(1000) + L_MEM + L_OS);
    ck_assert_int_eq(os->m.u.os.op, SCIM_OS_TRACE_OP);
    ck_assert_int_eq(os->m.u.os.rec.op, SCIM_OP_MMAP);
    ck_assert_uint_eq(os->m.u.os.addr, 0x7f0000200000ull);
    ck_assert_uint_eq(os->m.u.os.len, 0x1000);
    ck_assert_uint_eq(os->m.u.os.pasid, PASID);
    ck_assert(scim_device_oldest(d.dev, &since, what, sizeof what));
    ck_assert_uint_eq(since, NS(1000) + L_MEM);
    ck_assert_msg(strstr(what, "an OS operation (mmap) waiting for the OS's answer"), "oldest: %s", what);
    scim_device_describe(d.dev, buf, sizeof buf);
    ck_assert_msg(strstr(buf, "waiting for the OS") && !strstr(buf, "not waiting"), "describe: %s", buf);
    ck_assert(!scim_device_finished(d.dev));

    answer_held(d.os, SCIM_MSG_OS_REQ, 0, SCIM_RESP_OK);
    rig_run(&d.r);
    ck_assert(scim_device_finished(d.dev));
    ck_assert(!scim_device_oldest(d.dev, &since, what, sizeof what));
    ck_assert_uint_eq(stat_u(&d, "dev.dma.latency.max"), NS(1000) + L_MEM - NS(100));
    ck_assert_uint_eq(stat_u(&d, "dev.dma.finish_ps"), NS(1000) + L_MEM);
    ck_assert_uint_eq(stat_u(&d, "dev.os_ops"), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.os_errors"), 0);
    ck_assert_uint_eq(scim_kernel_now(d.r.k), NS(2000) + L_OS);
    devrig_free(&d);
}
END_TEST

/* ---- many translations out at once ---- */

/* Three waves of 64 writes issued together (max_outstanding 64), 20 us
 * apart, over a 1-entry IOTLB: in a wave, the first miss of a page asks
 * for its translation and every later one merges into it, so a wave asks
 * as many translations as it has distinct pages. Wave 3 reuses wave 1's
 * pages after every translation of waves 1 and 2 was answered and freed:
 * it must find none of them still outstanding (the outstanding
 * translations are indexed by page; freeing removes them). */
enum { WAVE = 64, WAVES = 3 };

static uint64_t wave_page(int w, int i)
{
    return w == 0 ? (uint64_t)(i * 7 % 40) : w == 1 ? 100 + (uint64_t)(i * 3 % 25) : (uint64_t)(i * 11 % 40);
}

/* An ATS device with a 1-entry IOTLB and `outstanding` slots runs `trace`. */
static void run_one_entry_iotlb(dev_rig *d, const char *trace, uint64_t outstanding)
{
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_STALL);
    p.max_outstanding = outstanding;
    p.iotlb.entries = 1;
    p.iotlb.ways = 1;
    devrig_init(d, &p, trace, MOCK_ECHO, MOCK_MEMORY, MOCK_ECHO);
    devrig_start(d);
    rig_run(&d->r);
}

START_TEST(many_outstanding_merge)
{
    static char trace[WAVES * WAVE * 48 + 64];
    size_t n = (size_t)snprintf(trace, sizeof trace, "# scimitar trace v1\n");
    uint64_t requests = 0;
    for (int w = 0; w < WAVES; w++) {
        bool seen[128] = {false};
        for (int i = 0; i < WAVE; i++) {
            uint64_t pg = wave_page(w, i);
            requests += !seen[pg];
            seen[pg] = true;
            n += (size_t)snprintf(trace + n, sizeof trace - n, "@%d write 0x%llx 64\n", w * 20000,
                                  (unsigned long long)(VA0 + pg * SCIM_PAGE_SIZE + (uint64_t)(i % 64) * 64));
        }
    }
    dev_rig d;
    run_one_entry_iotlb(&d, trace, WAVE);
    ck_assert_uint_eq(requests, 40 + 25 + 40);
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.requests"), requests);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), requests);
    ck_assert_uint_eq(stat_u(&d, "dev.iotlb.miss_merged"), WAVES * WAVE - requests);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.requests"), WAVES * WAVE);
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), WAVES * WAVE);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* Writes 20 ns apart to pages drawn from 24 (scattered), over a 1-entry IOTLB, against
 * a brute-force model: a lookup ends 2 ns after the write; it hits if the
 * IOTLB holds the page (the last page answered), merges if the page's
 * translation is out, else asks; an answer comes back 230 ns after the
 * lookup (100 + 30 + 100) and fills the IOTLB. Translations are freed while
 * others are out and looked for, so the index of outstanding translations
 * must stay exact through every removal. (Times never tie: 230 is not a
 * multiple of 20.) */
enum { STAGGERED = 400, STAGGER_PAGES = 24 };

START_TEST(staggered_merge_model)
{
    static char trace[STAGGERED * 48 + 64];
    size_t n = (size_t)snprintf(trace, sizeof trace, "# scimitar trace v1\n");
    /* pages scattered over 4 GiB, so that some share a place in the index */
    uint64_t x = 88172645463325252ull, pages[STAGGERED], where[STAGGER_PAGES];
    for (int p = 0; p < STAGGER_PAGES; p++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        where[p] = (x % (1u << 20)) * STAGGER_PAGES + (uint64_t)p; /* distinct */
    }
    for (int k = 0; k < STAGGERED; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pages[k] = x % STAGGER_PAGES;
        n += (size_t)snprintf(trace + n, sizeof trace - n, "@%d write 0x%llx 64\n", k * 20,
                              (unsigned long long)(VA0 + where[pages[k]] * SCIM_PAGE_SIZE));
    }
    /* the model */
    scim_time_t answer_at[STAGGER_PAGES] = {0}; /* 0: no translation out */
    uint64_t hits = 0, merged = 0, asked = 0;
    int64_t in_tlb = -1;
    for (int k = 0; k < STAGGERED; k++) {
        scim_time_t lookup = NS(20) * (scim_time_t)k + T_LOOKUP;
        /* answers before this lookup, in time order, fill the IOTLB */
        for (;;) {
            int first = -1;
            for (int p = 0; p < STAGGER_PAGES; p++)
                if (answer_at[p] && answer_at[p] < lookup && (first < 0 || answer_at[p] < answer_at[first]))
                    first = p;
            if (first < 0)
                break;
            answer_at[first] = 0;
            in_tlb = first;
        }
        uint64_t pg = pages[k];
        if ((int64_t)pg == in_tlb)
            hits++;
        else if (answer_at[pg])
            merged++;
        else {
            asked++;
            answer_at[pg] = lookup + L_IOMMU + D_IOMMU + L_IOMMU;
        }
    }
    dev_rig d;
    run_one_entry_iotlb(&d, trace, 64);
    ck_assert_msg(merged > STAGGERED / 4 && asked > STAGGERED / 4, "the model merges %llu and asks %llu",
                  (unsigned long long)merged, (unsigned long long)asked);
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.requests"), asked);
    ck_assert_uint_eq(stat_u(&d, "dev.iotlb.miss_merged"), merged);
    ck_assert_uint_eq(stat_u(&d, "dev.iotlb.hits"), hits);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.requests"), STAGGERED);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* ---- walk shadow: the copy's updates ---- */

/* The OS sends two updates of the copy at once: a long one (8 entries) that
 * unmaps the page, then a short one that maps it again. They are applied
 * in the order sent — the short one after the long one, though it alone
 * would be done sooner — so the copy ends with the page mapped: the DMA at
 * 2 us walks the copy and finds it (applied out of order, the old unmap
 * would win, and the device would ask the OS for a page the OS has mapped,
 * for ever). Each update is acknowledged once applied. */
START_TEST(shadow_updates_in_order)
{
    scim_device_params p = devrig_params(SCIM_WALK_SHADOW, SCIM_FAULT_STALL);
    dev_rig d;
    devrig_init(&d, &p, "# scimitar trace v1\n@2000 write 0x7f0000000100 64\n", MOCK_ECHO, MOCK_MEMORY, MOCK_ECHO);
    uint64_t entry[4] = {0};
    devrig_table(VA0, PAGE_PA, load_shadow, d.dev, entry);
    scim_device_set_address_space(d.dev, PT_ROOT, &scim_pt_x86_4l);
    devrig_start(&d);
    const uint64_t mapped = PAGE_PA | SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US;
    static uint64_t unmap[16], remap[2];
    for (int i = 0; i < 8; i++) { /* the leaf cleared, and 7 entries of another table */
        unmap[2 * i] = i ? PT_ROOT + 8 * SCIM_PAGE_SIZE + (uint64_t)i * 8 : entry[3];
        unmap[2 * i + 1] = 0;
    }
    remap[0] = entry[3];
    remap[1] = mapped;
    scim_msg proto;
    memset(&proto, 0, sizeof proto);
    proto.u.sync = (scim_sync){PASID, 8, unmap};
    mock_request(d.os, scim_device_node(d.dev), SCIM_MSG_SYNC, &proto, 1);
    proto.u.sync = (scim_sync){PASID, 1, remap};
    mock_request(d.os, scim_device_node(d.dev), SCIM_MSG_SYNC, &proto, 2);
    rig_run(&d.r);

    /* both arrive at L_OS (header-only on an unlimited link); the first
     * is applied at L_OS + 8 T_SHADOW, the second one T_SHADOW after it */
    ck_assert_uint_eq(mock_count(d.os, SCIM_MSG_SYNC_ACK), 2);
    const mock_log *a0 = logged(d.os, SCIM_MSG_SYNC_ACK, 0), *a1 = logged(d.os, SCIM_MSG_SYNC_ACK, 1);
    ck_assert_uint_eq(a0->m.tag, 1);
    ck_assert_uint_eq(a1->m.tag, 2);
    ck_assert_uint_eq(a0->at, L_OS + 8 * T_SHADOW + L_OS);
    ck_assert_uint_eq(a1->at, L_OS + 9 * T_SHADOW + L_OS);
    ck_assert_uint_eq(stat_u(&d, "dev.shadow.syncs"), 9);
    /* the copy maps the page: no page request, the write reaches its frame */
    ck_assert_uint_eq(mock_count(d.os, SCIM_MSG_PRI_REQ), 0);
    ck_assert_uint_eq(stat_u(&d, "dev.faults"), 0);
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), 1);
    ck_assert_uint_eq(logged(d.mem, SCIM_MSG_MEM_WRITE, 0)->m.u.mem.pa, PAGE_PA + 0x100);
    devrig_free(&d);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("device");
    TCase *tc = tcase_create("device");
    tcase_add_loop_test(tc, walk_placements, 0, (int)(sizeof placements / sizeof placements[0]));
    tcase_add_loop_test(tc, inv_scope_removes_entry, 0, (int)(sizeof inv_cases / sizeof inv_cases[0]));
    tcase_add_loop_test(tc, inv_waits_for_inflight_access, 0, (int)(sizeof drain_cases / sizeof drain_cases[0]));
    tcase_add_test(tc, inv_waits_for_large_page_access);
    tcase_add_loop_test(tc, inv_queue_bounds_requests, 0, (int)(sizeof invq_cases / sizeof invq_cases[0]));
    tcase_add_test(tc, oldest_and_finished);
    tcase_add_test(tc, many_outstanding_merge);
    tcase_add_test(tc, staggered_merge_model);
    tcase_add_test(tc, shadow_updates_in_order);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

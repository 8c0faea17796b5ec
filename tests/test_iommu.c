/* IOMMU alone through its port (src/iommu/): ATS requests, page requests
 * and invalidations. The rig, its topology and the hand-derived times are
 * in helpers/iommurig.h. */
#include <check.h>
#include <stdlib.h>

#include "core/page.h"
#include "iommu/iommu.h"
#include "iommu/ctx_vtd.h"
#include "mmu/pt_x86.h"

#include "helpers/iommurig.h"
#include "helpers/testutil.h"

static void check_xlat(const mock_log *l, const char *what, scim_time_t at, int32_t status, uint64_t pa,
                       unsigned shift, unsigned perms)
{
    ck_assert_msg(l->at == at, "%s: completion at %llu ps, expected %llu", what, (unsigned long long)l->at,
                  (unsigned long long)at);
    ck_assert_msg(l->m.status == status, "%s: status %d, expected %d", what, l->m.status, status);
    ck_assert_msg(l->m.u.xlat_resp.page_pa == pa, "%s: page_pa %#llx, expected %#llx", what,
                  (unsigned long long)l->m.u.xlat_resp.page_pa, (unsigned long long)pa);
    ck_assert_msg(l->m.u.xlat_resp.shift == shift, "%s: shift %u, expected %u", what, l->m.u.xlat_resp.shift, shift);
    ck_assert_msg(l->m.u.xlat_resp.perms == perms, "%s: perms %u, expected %u", what, l->m.u.xlat_resp.perms, perms);
}

/* ---- ATS: one cold request per case ---- */

#define RW (SCIM_PERM_R | SCIM_PERM_W)
static const struct ats_case {
    const char *name;
    int dev;
    uint32_t pasid;
    uint64_t va;
    bool write;
    scim_time_t at; /* arrival of the completion at the device, from t = 0 */
    int32_t status;
    uint64_t pa;
    unsigned shift, perms;
    unsigned pasid_reads, pte_reads;
} ats_cases[] = {
    /* 100 + 2 + 2x130 + 1 + 4x130 + 100 */
    {"4K read", 0, PASID_A, VA(0) + 0x123, false, NS(983), SCIM_RESP_OK, 0x40000000ull, 12, RW, 2, 4},
    {"4K write", 0, PASID_A, VA(1) + 8, true, NS(983), SCIM_RESP_OK, 0x40005000ull, 12, RW, 2, 4},
    {"read-only, read", 0, PASID_A, VA(2), false, NS(983), SCIM_RESP_OK, 0x40009000ull, 12, SCIM_PERM_R, 2, 4},
    /* a write to a read-only page: granted what the tables allow */
    {"read-only, write", 0, PASID_A, VA(2), true, NS(983), SCIM_RESP_OK, 0x40009000ull, 12, SCIM_PERM_R, 2, 4},
    {"PTE not present", 0, PASID_A, VA(3), false, NS(983), SCIM_RESP_NOT_PRESENT, 0, 0, 0, 2, 4},
    /* US clear: no user access at all */
    {"supervisor page", 0, PASID_A, VA(4), false, NS(983), SCIM_RESP_NOT_PRESENT, 0x4000b000ull, 12, 0, 2, 4},
    /* 100 + 2 + 260 + 1 + 3x130 + 100 */
    {"2M page", 0, PASID_A, VA_2M + 0x1234, false, NS(853), SCIM_RESP_OK, PA_2M, 21, RW, 2, 3},
    /* 100 + 2 + 260 + 1 + 130 + 100 */
    {"PML4E not present", 0, PASID_A, VA_NOPML4, false, NS(593), SCIM_RESP_NOT_PRESENT, 0, 0, 0, 2, 1},
    {"PML4E with PS", 0, PASID_A, VA_BADPML4, false, NS(593), SCIM_RESP_INVALID, 0, 0, 0, 2, 1},
    /* 100 + 2 + 2x130 + 100: the PASID-table entry is not present */
    {"PASID without table", 0, PASID_NOTAB, VA(0), false, NS(462), SCIM_RESP_INVALID, 0, 0, 0, 2, 0},
    /* 100 + 2 + 130 + 100: the directory entry is not present */
    {"PASID without directory", 0, PASID_NODIR, VA(0), false, NS(332), SCIM_RESP_INVALID, 0, 0, 0, 1, 0},
    /* dev1: 24 + 150 + 2 + 260 + 1 + 520 + 32 + 150 */
    {"4K read from dev1", 1, PASID_A, VA(5), false, NS(1139), SCIM_RESP_OK, 0x40010000ull, 12, RW, 2, 4},
};

START_TEST(ats_cold)
{
    const struct ats_case *c = &ats_cases[_i];
    rig x;
    scim_iommu_params p = default_params();
    build(&x, &p);
    mock_ep *dev = c->dev ? x.dev1 : x.dev0;
    ats(&x, dev, c->pasid, c->va, c->write, 42);
    rig_run(&x.r);
    ck_assert_msg(mock_count(dev, SCIM_MSG_ATS_RESP) == 1, "%s: one completion", c->name);
    check_xlat(resp(dev, SCIM_MSG_ATS_RESP, 42), c->name, c->at, c->status, c->pa, c->shift, c->perms);
    ck_assert_msg(mock_count(x.mem, SCIM_MSG_MEM_READ) == c->pasid_reads + c->pte_reads, "%s: %zu memory reads",
                  c->name, mock_count(x.mem, SCIM_MSG_MEM_READ));
    ck_assert_msg(stat(&x, "iommu.walk.pasid_reads") == c->pasid_reads, "%s: pasid reads", c->name);
    ck_assert_msg(stat(&x, "iommu.walk.pte_reads") == c->pte_reads, "%s: pte reads", c->name);
    /* the context reads, in order: the directory entry, then the table entry */
    const mock_log *r0 = mock_find(x.mem, SCIM_MSG_MEM_READ, 0);
    ck_assert_msg(r0->m.u.mem.pa == PASID_DIR + (c->pasid >> 9) * 8 && r0->m.u.mem.len == 8,
                  "%s: first read at %#llx", c->name, (unsigned long long)r0->m.u.mem.pa);
    ck_assert_msg(r0->at == (c->dev ? NS(24 + 150) : L_DEV0) + NS(2) + L_MEM, "%s: first read at the memory at %llu",
                  c->name, (unsigned long long)r0->at);
    if (c->pasid_reads == 2) {
        const mock_log *r1 = mock_find(x.mem, SCIM_MSG_MEM_READ, 1);
        ck_assert_msg(r1->m.u.mem.pa == PASID_TABLE + (c->pasid & 511) * 8, "%s: PASID-table entry read", c->name);
    }
    if (c->pte_reads) {
        const mock_log *r2 = mock_find(x.mem, SCIM_MSG_MEM_READ, 2);
        ck_assert_msg(r2->m.u.mem.pa == scim_pte_addr(PML4, c->va, 4) && r2->m.u.mem.pte,
                      "%s: the walk starts at the PML4", c->name);
    }
    ck_assert_msg(stat(&x, "iommu.ats.requests") == 1, "%s", c->name);
    ck_assert_msg(stat(&x, "iommu.ats.not_present") == (c->status == SCIM_RESP_NOT_PRESENT), "%s: not_present",
                  c->name);
    ck_assert_msg(stat(&x, "iommu.ats.invalid") == (c->status == SCIM_RESP_INVALID), "%s: invalid", c->name);
    ck_assert_msg(stat(&x, "iommu.ats.latency.max") == c->at - (c->dev ? NS(24 + 150 + 32 + 150) : 2 * L_DEV0),
                  "%s: latency inside the IOMMU", c->name);
    teardown(&x);
}
END_TEST

/* ---- ATS: the caches, step by step, each request sent when the one
 * before has completed ---- */

static const struct ats_step {
    const char *name;
    uint64_t va;
    bool write;
    scim_time_t took; /* from sending to the completion at dev0 */
    uint64_t pa;
    unsigned shift, perms;
} hit_steps[] = {
    {"cold miss", VA(0), false, NS(983), 0x40000000ull, 12, RW},
    /* IOTLB hit: 100 + 2 + 100 */
    {"same page: IOTLB hit", VA(0) + 0x800, true, NS(202), 0x40000000ull, 12, RW},
    /* PASID-cache hit, PDE cached: 100 + 2 + 1 + 130 + 100 (a PASID-cache
     * hit costs nothing: iommu.pasid_cache.latency is not charged) */
    {"next page: one PTE read", VA(1), false, NS(333), 0x40005000ull, 12, RW},
    /* PDPTE cached (same 1G), the PDE is the leaf: 100 + 2 + 1 + 130 + 100 */
    {"2M page: one PDE read", VA_2M, false, NS(333), PA_2M, 21, RW},
    {"2M page: IOTLB hit", VA_2M + (1ull << 20), false, NS(202), PA_2M, 21, RW},
    {"read-only page", VA(2), false, NS(333), 0x40009000ull, 12, SCIM_PERM_R},
    /* the cached R-only entry does not serve a write: walk again */
    {"read-only page, write", VA(2), true, NS(333), 0x40009000ull, 12, SCIM_PERM_R},
    {"read-only page, read again", VA(2) + 4, false, NS(202), 0x40009000ull, 12, SCIM_PERM_R},
};

START_TEST(ats_hits_and_walk_caches)
{
    rig x;
    scim_iommu_params p = default_params();
    build(&x, &p);
    for (size_t i = 0; i < SCIM_COUNT_OF(hit_steps); i++) {
        const struct ats_step *s = &hit_steps[i];
        scim_time_t t = now(&x);
        ats(&x, x.dev0, PASID_A, s->va, s->write, 100 + i);
        rig_run(&x.r);
        check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, 100 + i), s->name, t + s->took, SCIM_RESP_OK, s->pa, s->shift,
                   s->perms);
    }
    ck_assert_msg(stat(&x, "iommu.walks") == 5, "walks: %g", stat(&x, "iommu.walks"));
    ck_assert_msg(stat(&x, "iommu.walk.pasid_reads") == 2, "the PASID is read once");
    ck_assert_msg(stat(&x, "iommu.walk.pte_reads") == 4 + 4 * 1, "pte reads: %g", stat(&x, "iommu.walk.pte_reads"));
    teardown(&x);
}
END_TEST

/* ---- back-pressure ---- */

START_TEST(ats_queue_full_waits_at_device)
{
    rig x;
    scim_iommu_params p = default_params();
    p.ats_queue = 2;
    build(&x, &p);
    ats(&x, x.dev0, PASID_A, VA(5), false, 1);
    ats(&x, x.dev0, PASID_A, VA(6), false, 2);
    ats(&x, x.dev0, PASID_A, VA(7), false, 3);
    rig_run(&x.r);
    /* 1 and 2 in parallel, both cold: 983. Their completions leave the
     * IOMMU at 883, which frees a place: 3 leaves dev0 then, arrives at
     * 983, misses at 985, PASID cached, PDE cached: 985 + 1 + 130 = 1116,
     * at dev0 1216. */
    check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, 1), "first", NS(983), SCIM_RESP_OK, pa_of(5), 12, RW);
    check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, 2), "second", NS(983), SCIM_RESP_OK, pa_of(6), 12, RW);
    check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, 3), "third", NS(1216), SCIM_RESP_OK, pa_of(7), 12, RW);
    ck_assert_msg(stat(&x, "dev0.port.credit_waits") == 1, "one credit wait at dev0: %g",
                  stat(&x, "dev0.port.credit_waits"));
    ck_assert_msg(stat(&x, "dev0.port.credit_wait.max") == NS(883), "waited 883 ns: %g",
                  stat(&x, "dev0.port.credit_wait.max"));
    ck_assert_msg(stat(&x, "iommu.queue.ats.peak") == 2, "ats queue peak %g", stat(&x, "iommu.queue.ats.peak"));
    ck_assert_msg(stat(&x, "iommu.ats.requests") == 3, "three requests");
    teardown(&x);
}
END_TEST

START_TEST(walk_queue_full_holds_requests)
{
    rig x;
    scim_iommu_params p = default_params();
    p.walkers = 1;
    p.walk_queue = 1;
    build(&x, &p);
    static const unsigned pages[4] = {0, 1, 5, 6};
    for (unsigned i = 0; i < 4; i++)
        ats(&x, x.dev0, PASID_A, VA(pages[i]), false, i);
    rig_run(&x.r);
    /* All four read the context in parallel (2 x 130 from 102: 362). Walk 0
     * starts, walk 1 waits in the walker's queue, 2 and 3 stay in the
     * request buffer. Walk 0: 363 + 4 x 130 = 883; then one by one, each
     * starting when the one before ends, 1 ns + one PTE read (PDE cached):
     * 1014, 1145, 1276. Completions at dev0 100 ns later. */
    static const scim_time_t at[4] = {NS(983), NS(1114), NS(1245), NS(1376)};
    for (unsigned i = 0; i < 4; i++) {
        char what[32];
        snprintf(what, sizeof what, "request %u", i);
        check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, i), what, at[i], SCIM_RESP_OK, pa_of(pages[i]), 12, RW);
    }
    ck_assert_msg(stat(&x, "iommu.walks") == 4, "four walks");
    ck_assert_msg(stat(&x, "iommu.walk.waits") == 3, "walks 1..3 found the walker busy: %g",
                  stat(&x, "iommu.walk.waits"));
    ck_assert_msg(stat(&x, "iommu.queue.ats.peak") == 4, "all four held by the IOMMU");
    ck_assert_msg(stat(&x, "dev0.port.credit_waits") == 0, "no credit wait");
    teardown(&x);
}
END_TEST

/* ---- page requests ---- */

/* A page request group: `pages` pages from va and `prefault` more, one
 * header-only Page Request Message (24 B) per page on the wire, as a
 * device sends it. The queue counts its descriptors: pages + prefault. */
static void pri(rig *x, mock_ep *dev, uint64_t va, uint32_t pages, uint32_t prefault, uint64_t id)
{
    scim_msg p = {0};
    p.u.page = (scim_page_req){.pasid = PASID_A, .va = va, .pages = pages, .prefault = prefault, .write = true};
    p.wire_bytes = (pages + prefault) * 24;
    mock_request(dev, x->n_io, SCIM_MSG_PRI_REQ, &p, id);
}

START_TEST(prq_forwards_to_os)
{
    static const int32_t statuses[] = {SCIM_RESP_OK, SCIM_RESP_INVALID, SCIM_RESP_FAILURE};
    for (size_t s = 0; s < SCIM_COUNT_OF(statuses); s++) {
        rig x;
        scim_iommu_params p = default_params();
        build(&x, &p);
        pri(&x, x.dev0, VA(3), 4, 2, 7);
        rig_run(&x.r);
        ck_assert_msg(mock_count(x.os, SCIM_MSG_PRI_REQ) == 1, "forwarded to the OS");
        const mock_log *f = mock_find(x.os, SCIM_MSG_PRI_REQ, 0);
        ck_assert_msg(f->at == L_DEV0 + L_OS, "at the OS at %llu", (unsigned long long)f->at);
        ck_assert_msg(f->m.src == x.n_io, "from the IOMMU");
        ck_assert_msg(f->m.u.page.pasid == PASID_A && f->m.u.page.va == VA(3) && f->m.u.page.pages == 4 &&
                          f->m.u.page.prefault == 2 && f->m.u.page.write,
                      "payload as the device sent it");
        /* one 24 B Page Request Message per page: 6 x 24 */
        ck_assert_msg(f->m.wire_bytes == 6 * 24, "wire bytes %u", f->m.wire_bytes);
        ck_assert_msg(mock_count(x.dev0, SCIM_MSG_PRI_RESP) == 0, "no answer before the OS's");
        answer_job j = {x.os, 0, statuses[s]};
        answer_at(&x, &j, NS(1000));
        rig_run(&x.r);
        const mock_log *r = resp(x.dev0, SCIM_MSG_PRI_RESP, 7);
        ck_assert_msg(r->at == NS(1000) + L_OS + L_DEV0, "PRI_RESP at %llu", (unsigned long long)r->at);
        ck_assert_msg(r->m.status == statuses[s], "the OS's status %d, got %d", statuses[s], r->m.status);
        ck_assert_msg(!r->m.u.page_resp.auto_response, "not an auto response");
        ck_assert_msg(stat(&x, "iommu.prq.requests") == 1 && stat(&x, "iommu.prq.overflows") == 0, "counted");
        /* one descriptor per page: 4 needed + 2 prefault */
        ck_assert_msg(stat(&x, "iommu.prq.max_occupancy") == 6, "occupancy %g", stat(&x, "iommu.prq.max_occupancy"));
        teardown(&x);
    }
}
END_TEST

START_TEST(prq_overflow_auto_response)
{
    rig x;
    scim_iommu_params p = default_params();
    p.prq_depth = 1;
    build(&x, &p);
    pri(&x, x.dev0, VA(3), 1, 0, 1);
    pri(&x, x.dev0, VA(3) + 4096, 1, 0, 2);
    rig_run(&x.r);
    ck_assert_msg(mock_count(x.os, SCIM_MSG_PRI_REQ) == 1, "only the first reaches the OS");
    const mock_log *a = resp(x.dev0, SCIM_MSG_PRI_RESP, 2);
    ck_assert_msg(a->at == 2 * L_DEV0, "auto response at %llu", (unsigned long long)a->at);
    ck_assert_msg(a->m.status == SCIM_RESP_OK && a->m.u.page_resp.auto_response, "Success, auto_response");
    ck_assert_msg(stat(&x, "iommu.prq.overflows") == 1, "one overflow");
    answer_job j = {x.os, 0, SCIM_RESP_OK};
    answer_at(&x, &j, NS(1000));
    rig_run(&x.r);
    const mock_log *r = resp(x.dev0, SCIM_MSG_PRI_RESP, 1);
    ck_assert_msg(r->at == NS(1300) && !r->m.u.page_resp.auto_response, "the OS's answer at %llu",
                  (unsigned long long)r->at);
    /* the queue has room again: the next request is forwarded */
    scim_time_t t = now(&x);
    pri(&x, x.dev0, VA(3), 1, 0, 3);
    rig_run(&x.r);
    ck_assert_msg(mock_count(x.os, SCIM_MSG_PRI_REQ) == 2, "forwarded again");
    ck_assert_msg(mock_find(x.os, SCIM_MSG_PRI_REQ, 1)->at == t + L_DEV0 + L_OS, "at the OS");
    ck_assert_msg(stat(&x, "iommu.prq.requests") == 3 && stat(&x, "iommu.prq.overflows") == 1, "counters");
    ck_assert_msg(stat(&x, "iommu.prq.max_occupancy") == 1, "never more than prq_depth");
    teardown(&x);
}
END_TEST

/* The queue holds descriptors, one per page of a group (prefault pages
 * included), and takes a group only whole. Depth 8, from dev0 at 0:
 * group 1 (3 pages + 2 prefault: 5 descriptors) fits; group 2 (4 pages)
 * does not (5 + 4 > 8): answered Success by the IOMMU at 100 + 100; group
 * 3 (2 pages + 1 prefault) fits exactly (5 + 3 = 8). The OS answers group
 * 1 at 1000 (its 5 descriptors free again, the answer at dev0 at 1300);
 * then group 4 (4 pages + 1 prefault), sent then, fits (3 + 5 = 8). */
START_TEST(prq_counts_descriptors)
{
    rig x;
    scim_iommu_params p = default_params();
    p.prq_depth = 8;
    build(&x, &p);
    pri(&x, x.dev0, VA(0), 3, 2, 1);
    pri(&x, x.dev0, VA(8), 4, 0, 2);
    pri(&x, x.dev0, VA(16), 2, 1, 3);
    rig_run(&x.r);
    ck_assert_msg(mock_count(x.os, SCIM_MSG_PRI_REQ) == 2, "groups 1 and 3 reach the OS");
    ck_assert_msg(mock_find(x.os, SCIM_MSG_PRI_REQ, 0)->m.u.page.va == VA(0) &&
                      mock_find(x.os, SCIM_MSG_PRI_REQ, 1)->m.u.page.va == VA(16),
                  "in order, group 2 left out");
    const mock_log *a = resp(x.dev0, SCIM_MSG_PRI_RESP, 2);
    ck_assert_msg(a->at == 2 * L_DEV0 && a->m.u.page_resp.auto_response && a->m.status == SCIM_RESP_OK,
                  "group 2 auto-answered at %llu", (unsigned long long)a->at);
    ck_assert_msg(stat(&x, "iommu.prq.max_occupancy") == 8, "5 + 3 descriptors");
    answer_job j = {x.os, 0, SCIM_RESP_OK};
    answer_at(&x, &j, NS(1000));
    rig_run(&x.r);
    ck_assert_msg(resp(x.dev0, SCIM_MSG_PRI_RESP, 1)->at == NS(1000) + L_OS + L_DEV0, "group 1 answered");
    pri(&x, x.dev0, VA(24), 4, 1, 4);
    rig_run(&x.r);
    ck_assert_msg(mock_count(x.os, SCIM_MSG_PRI_REQ) == 3, "group 4 fits in the room group 1 left");
    ck_assert_msg(stat(&x, "iommu.prq.requests") == 4 && stat(&x, "iommu.prq.overflows") == 1, "counters");
    ck_assert_msg(stat(&x, "iommu.prq.max_occupancy") == 8, "never more than prq_depth");
    teardown(&x);
}
END_TEST

/* ---- invalidation queue ---- */

static void check_scope(const mock_log *l, const char *what, scim_inv_kind kind, uint32_t pasid, uint64_t addr,
                        uint64_t len)
{
    const scim_inv_scope *s = &l->m.u.inv.scope;
    ck_assert_msg(s->kind == kind && s->pasid == pasid, "%s: scope kind %d pasid %u", what, s->kind, s->pasid);
    if (kind == SCIM_INV_RANGE)
        ck_assert_msg(s->addr == addr && s->len == len, "%s: range %#llx+%llu", what, (unsigned long long)s->addr,
                      (unsigned long long)s->len);
    ck_assert_msg(!l->m.u.inv.broadcast, "%s: a device invalidation is not a broadcast", what);
    ck_assert_msg(l->m.wire_bytes == 32, "%s: one 8-byte descriptor, %u B", what, l->m.wire_bytes);
}

START_TEST(inv_completes_after_every_device)
{
    rig x;
    scim_iommu_params p = default_params();
    build(&x, &p);
    inv(&x, SCIM_INV_RANGE, PASID_A, VA(0), 8192, false, 9);
    rig_run(&x.r);
    /* at the IOMMU at 200, executed at 700; dev0 at 800; dev1 at 700 + 32 + 150 */
    ck_assert_msg(mock_count(x.dev0, SCIM_MSG_INV_REQ) == 1 && mock_count(x.dev1, SCIM_MSG_INV_REQ) == 1,
                  "one device invalidation each (dev1's PASID_B binding is not concerned)");
    const mock_log *d0 = mock_find(x.dev0, SCIM_MSG_INV_REQ, 0), *d1 = mock_find(x.dev1, SCIM_MSG_INV_REQ, 0);
    ck_assert_msg(d0->at == NS(800) && d1->at == NS(882), "at the devices at %llu, %llu", (unsigned long long)d0->at,
                  (unsigned long long)d1->at);
    check_scope(d0, "dev0", SCIM_INV_RANGE, PASID_A, VA(0), 8192);
    check_scope(d1, "dev1", SCIM_INV_RANGE, PASID_A, VA(0), 8192);
    ck_assert_msg(d0->m.src == x.n_io && d1->m.src == x.n_io, "sent by the IOMMU");
    /* dev1 answers at 1000: at the IOMMU at 1000 + 24 + 150; dev0 still holds */
    answer_job j1 = {x.dev1, (size_t)(d1 - x.dev1->log), SCIM_RESP_OK};
    answer_at(&x, &j1, NS(1000));
    rig_run(&x.r);
    ck_assert_msg(now(&x) == NS(1174), "dev1's answer at the IOMMU at %llu", (unsigned long long)now(&x));
    ck_assert_msg(mock_count(x.os, SCIM_MSG_INV_DONE) == 0, "not done while dev0 has not answered");
    /* dev0 answers at 2000: at the IOMMU at 2100, at the OS at 2300 */
    answer_job j0 = {x.dev0, (size_t)(d0 - x.dev0->log), SCIM_RESP_OK};
    answer_at(&x, &j0, NS(2000));
    rig_run(&x.r);
    ck_assert_msg(mock_count(x.os, SCIM_MSG_INV_DONE) == 1, "done");
    const mock_log *d = resp(x.os, SCIM_MSG_INV_DONE, 9);
    ck_assert_msg(d->at == NS(2300) && d->m.status == SCIM_RESP_OK, "INV_DONE at %llu", (unsigned long long)d->at);
    ck_assert_msg(stat(&x, "iommu.invalidations") == 1 && stat(&x, "iommu.dev_invalidations") == 2, "counters");
    teardown(&x);
}
END_TEST

START_TEST(inv_in_order_inv_latency_each)
{
    rig x;
    scim_iommu_params p = default_params();
    build(&x, &p);
    echo_devices(&x);
    inv(&x, SCIM_INV_RANGE, PASID_A, VA(0), 4096, false, 1);
    inv(&x, SCIM_INV_PASID, PASID_A, 0, 0, false, 2);
    rig_run(&x.r);
    /* both at the IOMMU at 200; executed at 700 and 1200. The first's
     * slowest device is dev1: 700 + 32 + 150 + 10 + 24 + 150 = 1066, at the
     * OS at 1266; the second 500 later. */
    const mock_log *a = resp(x.os, SCIM_MSG_INV_DONE, 1), *b = resp(x.os, SCIM_MSG_INV_DONE, 2);
    ck_assert_msg(a->at == NS(1266), "first done at %llu", (unsigned long long)a->at);
    ck_assert_msg(b->at == NS(1766), "second done at %llu", (unsigned long long)b->at);
    ck_assert_msg(b->at - a->at == INV_LAT, "one inv_latency apart");
    ck_assert_msg(mock_find(x.dev0, SCIM_MSG_INV_REQ, 0)->at == NS(800) &&
                      mock_find(x.dev0, SCIM_MSG_INV_REQ, 1)->at == NS(1300),
                  "device invalidations in order");
    check_scope(mock_find(x.dev0, SCIM_MSG_INV_REQ, 0), "first", SCIM_INV_RANGE, PASID_A, VA(0), 4096);
    check_scope(mock_find(x.dev0, SCIM_MSG_INV_REQ, 1), "second", SCIM_INV_PASID, PASID_A, 0, 0);
    teardown(&x);
}
END_TEST

/* A translation cached, an invalidation, the same translation again. */
static const struct inv_case {
    const char *name;
    scim_inv_kind kind;
    uint32_t pasid;
    uint64_t addr, len;
    bool broadcast;
    size_t to_dev0, to_dev1;
    scim_time_t done; /* INV_DONE at the OS, from sending */
    scim_time_t again; /* the next request for page 0, from sending */
} inv_cases[] = {
    /* 200 + 500 + dev1's round trip 366 + 200; then a walk with the PASID
     * cached but the walk caches dropped: 100 + 2 + 1 + 4 x 130 + 100 */
    {"range over page 0", SCIM_INV_RANGE, PASID_A, VA(0), 8192, false, 1, 1, NS(1266), NS(723)},
    {"range over page 1 only", SCIM_INV_RANGE, PASID_A, VA(1), 4096, false, 1, 1, NS(1266), NS(202)},
    {"PASID A", SCIM_INV_PASID, PASID_A, 0, 0, false, 1, 1, NS(1266), NS(723)},
    {"PASID B (dev1 only)", SCIM_INV_PASID, PASID_B, 0, 0, false, 0, 1, NS(1266), NS(202)},
    /* nobody bound: 200 + 500 + 200 */
    {"unbound PASID", SCIM_INV_PASID, 9, 0, 0, false, 0, 0, NS(900), NS(202)},
    /* every device once; the PASID cache is flushed too: 983 */
    {"global", SCIM_INV_GLOBAL, 0, 0, 0, false, 1, 1, NS(1266), NS(983)},
    /* snooped: 200 + 20 + 200, devices snoop for themselves */
    {"broadcast PASID A", SCIM_INV_PASID, PASID_A, 0, 0, true, 0, 0, NS(420), NS(723)},
    {"broadcast range over page 1", SCIM_INV_RANGE, PASID_A, VA(1), 4096, true, 0, 0, NS(420), NS(202)},
    {"broadcast global", SCIM_INV_GLOBAL, 0, 0, 0, true, 0, 0, NS(420), NS(983)},
};

START_TEST(inv_scopes)
{
    const struct inv_case *c = &inv_cases[_i];
    rig x;
    scim_iommu_params p = default_params();
    build(&x, &p);
    echo_devices(&x);
    ats(&x, x.dev0, PASID_A, VA(0), false, 1);
    rig_run(&x.r);
    check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, 1), c->name, NS(983), SCIM_RESP_OK, pa_of(0), 12, RW);
    scim_time_t t = now(&x);
    inv(&x, c->kind, c->pasid, c->addr, c->len, c->broadcast, 5);
    rig_run(&x.r);
    const mock_log *d = resp(x.os, SCIM_MSG_INV_DONE, 5);
    ck_assert_msg(d->at == t + c->done, "%s: done after %llu ps", c->name, (unsigned long long)(d->at - t));
    ck_assert_msg(mock_count(x.dev0, SCIM_MSG_INV_REQ) == c->to_dev0, "%s: %zu to dev0", c->name,
                  mock_count(x.dev0, SCIM_MSG_INV_REQ));
    ck_assert_msg(mock_count(x.dev1, SCIM_MSG_INV_REQ) == c->to_dev1, "%s: %zu to dev1", c->name,
                  mock_count(x.dev1, SCIM_MSG_INV_REQ));
    if (c->to_dev0)
        check_scope(mock_find(x.dev0, SCIM_MSG_INV_REQ, 0), c->name, c->kind, c->pasid, c->addr, c->len);
    if (c->to_dev1)
        check_scope(mock_find(x.dev1, SCIM_MSG_INV_REQ, 0), c->name, c->kind, c->pasid, c->addr, c->len);
    ck_assert_msg(stat(&x, "iommu.dev_invalidations") == c->to_dev0 + c->to_dev1, "%s: counted", c->name);
    t = now(&x);
    ats(&x, x.dev0, PASID_A, VA(0), false, 2);
    rig_run(&x.r);
    check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, 2), c->name, t + c->again, SCIM_RESP_OK, pa_of(0), 12, RW);
    teardown(&x);
}
END_TEST

START_TEST(inv_restarts_overlapping_walk)
{
    rig x;
    scim_iommu_params p = default_params();
    build(&x, &p);
    echo_devices(&x);
    ats(&x, x.dev0, PASID_A, VA(0), false, 1);
    inv(&x, SCIM_INV_RANGE, PASID_A, VA(0), 4096, false, 2);
    rig_run(&x.r);
    /* the walk reads from 363: PML4E 363-493, PDPTE -623, PDE -753; the
     * invalidation executes at 700, so the PDE read is thrown away and the
     * walk starts over at 754 with no walk cache: + 4 x 130 = 1274; dev0
     * has it at 1374 */
    check_xlat(resp(x.dev0, SCIM_MSG_ATS_RESP, 1), "restarted", NS(1374), SCIM_RESP_OK, pa_of(0), 12, RW);
    ck_assert_msg(stat(&x, "iommu.walk.restarts") == 1, "one restart");
    ck_assert_msg(stat(&x, "iommu.walk.pte_reads") == 3 + 4, "pte reads %g", stat(&x, "iommu.walk.pte_reads"));
    ck_assert_msg(resp(x.os, SCIM_MSG_INV_DONE, 2)->at == NS(1266), "invalidation done");
    teardown(&x);
}
END_TEST

static Suite *iommu_suite(void)
{
    Suite *s = suite_create("iommu");
    TCase *tc = tcase_create("ats");
    tcase_add_loop_test(tc, ats_cold, 0, (int)SCIM_COUNT_OF(ats_cases));
    tcase_add_test(tc, ats_hits_and_walk_caches);
    tcase_add_test(tc, ats_queue_full_waits_at_device);
    tcase_add_test(tc, walk_queue_full_holds_requests);
    suite_add_tcase(s, tc);
    tc = tcase_create("prq");
    tcase_add_test(tc, prq_forwards_to_os);
    tcase_add_test(tc, prq_overflow_auto_response);
    tcase_add_test(tc, prq_counts_descriptors);
    suite_add_tcase(s, tc);
    tc = tcase_create("inv");
    tcase_add_test(tc, inv_completes_after_every_device);
    tcase_add_test(tc, inv_in_order_inv_latency_each);
    tcase_add_loop_test(tc, inv_scopes, 0, (int)SCIM_COUNT_OF(inv_cases));
    tcase_add_test(tc, inv_restarts_overlapping_walk);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(iommu_suite()); }

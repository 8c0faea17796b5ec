/* Inline translation (src/iommu/inline.c) through the IOMMU's port: DMAs
 * by untranslated address from a device without an ATC, the SMMUv3-style
 * stall on a missing page, and invalidations that wait for the inline
 * accesses in flight. Rig and hand-derived times in helpers/iommurig.h:
 * a cold 4K translation from dev0 is ready 100 + 2 + 2 x 130 + 1 + 4 x
 * 130 = 883 ns after it is sent; the access at memory takes 130 ns. */
#include <check.h>
#include <stdlib.h>

#include "helpers/iommurig.h"

/* A DMA sent by the device at `at` (the job must live until then). */
typedef struct dma_job {
    rig *x;
    mock_ep *dev;
    uint64_t va, len, id;
    bool write;
} dma_job;

static void dma_ev(void *ctx, uint64_t arg)
{
    (void)arg;
    dma_job *j = ctx;
    scim_msg p = {0};
    p.u.dma = (scim_dma_req){.pasid = PASID_A, .va = j->va, .len = j->len, .write = j->write};
    mock_request(j->dev, j->x->n_io, SCIM_MSG_DMA, &p, j->id);
}

static void dma_at(dma_job *j, scim_time_t at)
{
    scim_kernel_schedule_at(j->x->r.k, at, SCIM_PRIO_DEFAULT, dma_ev, j, 0);
}

/* The OS's invalidation of one page of PASID_A, sent at 250 ns. */
typedef struct inv_job {
    rig *x;
    uint64_t va;
} inv_job;

static void inv_ev(void *ctx, uint64_t arg)
{
    (void)arg;
    inv_job *j = ctx;
    inv(j->x, SCIM_INV_RANGE, PASID_A, j->va, 4096, false, 9);
}

/* A cold DMA walks, then the access goes to memory with the physical
 * address; the device gets the memory's answer. The next DMA to the page
 * hits the IOTLB: link, lookup, memory, link. */
START_TEST(inline_cold_then_hit)
{
    rig x;
    scim_iommu_params p = default_params();
    build_rig(&x, &p, false);
    dma_job a = {&x, x.dev0, VA(0) + 0x40, 64, 1, false}, b = {&x, x.dev0, VA(0) + 8, 8, 2, true};
    dma_at(&a, 0);
    dma_at(&b, NS(5000));
    rig_run(&x.r);
    const mock_log *ra = resp(x.dev0, SCIM_MSG_MEM_RESP, 1), *rb = resp(x.dev0, SCIM_MSG_MEM_RESP, 2);
    ck_assert_msg(ra->at == NS(883 + 130 + 100) && ra->m.status == SCIM_RESP_OK, "cold at %llu",
                  (unsigned long long)ra->at);
    ck_assert_msg(rb->at == NS(5000) + NS(100 + 2 + 130 + 100), "hit at %llu", (unsigned long long)rb->at);
    ck_assert_msg(ra->m.wire_bytes == 24 + 64 && rb->m.wire_bytes == 24, "a read's answer carries its data");
    const mock_log *w = mock_find(x.mem, SCIM_MSG_MEM_WRITE, 0);
    ck_assert_msg(w && w->m.u.mem.pa == pa_of(0) + 8 && w->m.u.mem.len == 8 && w->m.src == x.n_io,
                  "the IOMMU writes the physical address");
    ck_assert_msg(stat(&x, "iommu.inline.requests") == 2 && stat(&x, "iommu.ats.requests") == 0, "counted");
    ck_assert_msg(stat(&x, "iommu.iotlb.hits") == 1, "one IOTLB hit");
    ck_assert_msg(stat(&x, "iommu.inline.latency.max") == NS(883 - 100), "translation time inside the IOMMU");
    ck_assert_msg(mock_count(x.dev0, SCIM_MSG_ATS_RESP) == 0, "no ATS completion");
    teardown(&x);
}
END_TEST

/* A missing page stalls the DMA: the IOMMU sends the OS a page request of
 * its own, translates again on the answer (the walk caches now give the
 * PDE: lookup, walk-cache lookup, one PTE read) and performs the access.
 * An answer other than success fails the DMA. */
START_TEST(inline_stall_and_retry)
{
    static const int32_t statuses[] = {SCIM_RESP_OK, SCIM_RESP_INVALID};
    for (size_t s = 0; s < SCIM_COUNT_OF(statuses); s++) {
        rig x;
        scim_iommu_params p = default_params();
        build_rig(&x, &p, false);
        dma_job a = {&x, x.dev0, VA(3), 64, 7, true};
        dma_at(&a, 0);
        rig_run(&x.r);
        ck_assert_msg(mock_count(x.os, SCIM_MSG_PRI_REQ) == 1, "a page request to the OS");
        const mock_log *f = mock_find(x.os, SCIM_MSG_PRI_REQ, 0);
        ck_assert_msg(f->at == NS(883 + 200) && f->m.src == x.n_io, "from the IOMMU at %llu",
                      (unsigned long long)f->at);
        ck_assert_msg(f->m.u.page.pasid == PASID_A && f->m.u.page.va == VA(3) && f->m.u.page.pages == 1 &&
                          f->m.u.page.write,
                      "for the faulting page");
        ck_assert_msg(mock_count(x.dev0, SCIM_MSG_MEM_RESP) == 0, "the DMA is held");
        if (statuses[s] == SCIM_RESP_OK)
            mock_poke(x.mem, scim_pte_addr(PT, VA(3), 1), 0x40020000ull | TABLE_FLAGS);
        answer_job j = {x.os, 0, statuses[s]};
        answer_at(&x, &j, NS(2000));
        rig_run(&x.r);
        const mock_log *r = resp(x.dev0, SCIM_MSG_MEM_RESP, 7);
        if (statuses[s] == SCIM_RESP_OK) {
            ck_assert_msg(r->at == NS(2000 + 200 + 2 + 1 + 130 + 130 + 100) && r->m.status == SCIM_RESP_OK,
                          "retried: answered at %llu", (unsigned long long)r->at);
            ck_assert_msg(mock_find(x.mem, SCIM_MSG_MEM_WRITE, 0)->m.u.mem.pa == 0x40020000ull, "the new frame");
        } else {
            ck_assert_msg(r->at == NS(2000 + 200 + 100) && r->m.status == SCIM_RESP_INVALID, "failed");
            ck_assert_msg(stat(&x, "iommu.inline.failed") == 1, "counted");
        }
        ck_assert_msg(stat(&x, "iommu.inline.faults") == 1 && stat(&x, "iommu.prq.requests") == 0,
                      "not through the PRQ");
        teardown(&x);
    }
}
END_TEST

/* An invalidation that removes the translation of an inline access in
 * flight completes only when the access has: the access leaves at 883 and
 * is answered at 1013; the descriptor, sent at 250, executes at 950. */
START_TEST(inline_invalidation_waits_for_access)
{
    /* the page the access uses, then one it does not */
    static const uint64_t pages[] = {VA(0), VA(1)};
    for (size_t k = 0; k < SCIM_COUNT_OF(pages); k++) {
        rig x;
        scim_iommu_params p = default_params();
        build_rig(&x, &p, false);
        dma_job a = {&x, x.dev0, VA(0), 64, 1, false};
        inv_job i = {&x, pages[k]};
        dma_at(&a, 0);
        scim_kernel_schedule_at(x.r.k, NS(250), SCIM_PRIO_DEFAULT, inv_ev, &i, 0);
        rig_run(&x.r);
        const mock_log *d = resp(x.os, SCIM_MSG_INV_DONE, 9);
        scim_time_t done = k == 0 ? NS(1013 + 200) : NS(950 + 200);
        ck_assert_msg(d->at == done, "page %zu: done at %llu", k, (unsigned long long)d->at);
        ck_assert_msg(stat(&x, "iommu.inline.drains") == (k == 0), "drained");
        ck_assert_msg(stat(&x, "iommu.dev_invalidations") == 0, "no device to invalidate");
        ck_assert_msg(resp(x.dev0, SCIM_MSG_MEM_RESP, 1)->at == NS(1113), "the access itself is not delayed");
        teardown(&x);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iommu_inline");
    TCase *tc = tcase_create("inline");
    tcase_add_test(tc, inline_cold_then_hit);
    tcase_add_test(tc, inline_stall_and_retry);
    tcase_add_test(tc, inline_invalidation_waits_for_access);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

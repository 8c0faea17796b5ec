/* The device's fault policies, driven through its port (helpers/devrig.h
 * has the topology and every latency): the "iommu" mock holds every
 * request and the test answers each at a chosen time, the first
 * translation NOT_PRESENT. Walk placement iommu throughout.
 *
 * Common start of every case: the write at 0 looks up the IOTLB (2 ns),
 * its ATS request reaches the IOMMU at 102 ns and is answered NOT_PRESENT
 * at 150 (at the device at 250): one fault, and a page request group that
 * reaches the IOMMU at 350. The DMA is 64 bytes, so the group asks for one
 * page (the rest of the DMA) plus `prefault` more; it is one PRI_REQ of
 * one 24 B header per page.
 *
 * Translations are counted once when first asked (xlat.requests) and again
 * when a stalled one asks after its group's response (xlat.rerequests); a
 * retried or dropped request that comes back after the response finds no
 * translation out and asks anew (xlat.requests). The last tests drive page
 * request groups: one multi-page DMA, pri.group_pages and pri.allocation. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "helpers/devrig.h"

#define ATS_AT (T_LOOKUP + L_IOMMU)     /* first ATS request at the IOMMU: 102 ns */
#define NP_AT NS(150)                   /* answered NOT_PRESENT */
#define FAULT_AT (NP_AT + L_IOMMU)      /* the device learns it: 250 ns */
#define PRI_AT (FAULT_AT + L_IOMMU)     /* page request at the IOMMU: 350 ns */
#define PRI_ANSWER NS(400)              /* answered */
#define PRI_BACK (PRI_ANSWER + L_IOMMU) /* at the device: 500 ns */

/* The IOMMU answers the k-th request of `type` at `at` with `status`. */
typedef struct step {
    scim_time_t at;
    scim_msg_type type;
    size_t k;
    int32_t status;
} step;

typedef struct policy_case {
    const char *name;
    int policy;
    uint64_t prefault;
    scim_time_t retry_backoff, drop_timeout;
    const char *trace;
    step steps[4];
    size_t n_steps;
    /* expected */
    size_t ats;                 /* ATS requests at the IOMMU */
    uint64_t rerequests;        /* of those, asked again after the group's response */
    scim_time_t ats_at[2];      /* their arrivals */
    uint64_t faults, merged, retries, drops, pri_failed, errors;
    size_t mem;                 /* DMAs at mem, all at mem_at */
    scim_time_t mem_at;
    scim_time_t finish;         /* dma.finish_ps */
} policy_case;

#define ONE_WRITE "@0 write 0x7f0000000100 64\n"
#define NP {NP_AT, SCIM_MSG_ATS_REQ, 0, SCIM_RESP_NOT_PRESENT}
#define PRI_OK {PRI_ANSWER, SCIM_MSG_PRI_REQ, 0, SCIM_RESP_OK}
/* the DMA after the final translation answered at t: back at t + 100, at mem + 50, done + 20 + 50 */
#define DMA_AT(t) ((t) + L_IOMMU + L_MEM)
#define DONE_AT(t) (DMA_AT(t) + D_MEM + L_MEM)

static const policy_case cases[] = {
    /* stall, prefault 2: the write waits; a read of the same page issued at
     * 300 (its lookup at 302, the page request still out) waits with it.
     * After the page response (500) the translation is asked again: at the
     * IOMMU at 600, answered at 650, both DMAs at mem at 800. */
    {"stall", SCIM_FAULT_STALL, 2, NS(1000), NS(100000), ONE_WRITE "@300 read 0x7f0000000800 64\n",
     {NP, PRI_OK, {NS(650), SCIM_MSG_ATS_REQ, 1, SCIM_RESP_OK}}, 3,
     2, 1, {ATS_AT, PRI_BACK + L_IOMMU}, 1, 1, 0, 0, 0, 0, 2, DMA_AT(NS(650)), DONE_AT(NS(650))},
    /* retry, backoff 100 ns: NACKed at 250, back at 350 (lookup 352: the page
     * request is still out, NACK), 452 (lookup 454: still out, NACK), 554
     * (lookup 556: the page was answered at 500; a new ATS request, at the
     * IOMMU at 656, answered at 700). */
    {"retry", SCIM_FAULT_RETRY, 0, NS(100), NS(100000), ONE_WRITE,
     {NP, PRI_OK, {NS(700), SCIM_MSG_ATS_REQ, 1, SCIM_RESP_OK}}, 3,
     2, 0, {ATS_AT, FAULT_AT + 3 * (NS(100) + T_LOOKUP) + L_IOMMU}, 1, 0, 3, 0, 0, 0, 1, DMA_AT(NS(700)),
     DONE_AT(NS(700))},
    /* drop, timeout 2 us: lost at 250, resent at 2250 (lookup 2252, at the
     * IOMMU at 2352, answered at 2400). */
    {"drop", SCIM_FAULT_DROP, 0, NS(1000), NS(2000), ONE_WRITE,
     {NP, PRI_OK, {NS(2400), SCIM_MSG_ATS_REQ, 1, SCIM_RESP_OK}}, 3,
     2, 0, {ATS_AT, FAULT_AT + NS(2000) + T_LOOKUP + L_IOMMU}, 1, 0, 0, 1, 0, 0, 1, DMA_AT(NS(2400)),
     DONE_AT(NS(2400))},
    /* stall, the page request fails: the write fails when the response
     * arrives (500), without moving data */
    {"stall, page request fails", SCIM_FAULT_STALL, 0, NS(1000), NS(100000), ONE_WRITE,
     {NP, {PRI_ANSWER, SCIM_MSG_PRI_REQ, 0, SCIM_RESP_FAILURE}}, 2,
     1, 0, {ATS_AT, 0}, 1, 0, 0, 0, 1, 1, 0, 0, PRI_BACK},
    /* an Invalid translation completion fails the request at once (250): no
     * page request */
    {"translation invalid", SCIM_FAULT_STALL, 0, NS(1000), NS(100000), ONE_WRITE,
     {{NP_AT, SCIM_MSG_ATS_REQ, 0, SCIM_RESP_INVALID}}, 1,
     1, 0, {ATS_AT, 0}, 0, 0, 0, 0, 0, 1, 0, 0, FAULT_AT},
};

START_TEST(fault_policies)
{
    const policy_case *c = &cases[_i];
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, c->policy);
    p.prefault = c->prefault;
    p.retry_backoff = c->retry_backoff;
    p.drop_timeout = c->drop_timeout;
    dev_rig d;
    devrig_init(&d, &p, c->trace, MOCK_HOLD, MOCK_MEMORY, MOCK_ECHO);
    devrig_start(&d);
    for (size_t i = 0; i < c->n_steps; i++) {
        run_to(&d, c->steps[i].at);
        answer_held(d.iommu, c->steps[i].type, c->steps[i].k, c->steps[i].status);
    }
    rig_run(&d.r);

    ck_assert_msg(mock_count(d.iommu, SCIM_MSG_ATS_REQ) == c->ats, "%s: %zu ATS requests", c->name,
                  mock_count(d.iommu, SCIM_MSG_ATS_REQ));
    for (size_t i = 0; i < c->ats; i++) {
        const mock_log *a = logged(d.iommu, SCIM_MSG_ATS_REQ, i);
        ck_assert_msg(a->at == c->ats_at[i] && a->m.u.xlat.va == VA0 && a->m.u.xlat.pasid == PASID,
                      "%s: ATS request %zu at %llu ps va 0x%llx, expected %llu ps", c->name, i,
                      (unsigned long long)a->at, (unsigned long long)a->m.u.xlat.va,
                      (unsigned long long)c->ats_at[i]);
    }
    /* one page request group whatever the policy: the DMA's one page and
     * `prefault` more, one header per page on the wire */
    if (c->faults) {
        ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_PRI_REQ), 1);
        const mock_log *pr = logged(d.iommu, SCIM_MSG_PRI_REQ, 0);
        ck_assert_msg(pr->at == PRI_AT && pr->m.u.page.pasid == PASID && pr->m.u.page.va == VA0 &&
                          pr->m.u.page.pages == 1 && pr->m.u.page.prefault == c->prefault && pr->m.u.page.write,
                      "%s: page request at %llu ps va 0x%llx for %u page(s) + %u prefault, write %d", c->name,
                      (unsigned long long)pr->at, (unsigned long long)pr->m.u.page.va, pr->m.u.page.pages,
                      pr->m.u.page.prefault, pr->m.u.page.write);
        ck_assert_msg(pr->m.wire_bytes == (1 + c->prefault) * HDR, "%s: %u wire bytes, expected %llu", c->name,
                      pr->m.wire_bytes, (unsigned long long)((1 + c->prefault) * HDR));
        ck_assert_uint_eq(stat_u(&d, "dev.fault.latency.max"), PRI_BACK - FAULT_AT);
        ck_assert_uint_eq(stat_u(&d, "dev.pri.outstanding_max"), 1 + c->prefault);
    } else {
        ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_PRI_REQ), 0);
        ck_assert_uint_eq(stat_u(&d, "dev.pri.outstanding_max"), 0);
    }
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.requests"), c->ats - c->rerequests);
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.rerequests"), c->rerequests);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.groups"), c->faults);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.requests"), c->faults * (1 + c->prefault));
    ck_assert_uint_eq(stat_u(&d, "dev.pri.joined"), 0);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.allocation_waits"), 0);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.auto_responses"), 0);
    const char *names[] = {"dev.faults", "dev.iotlb.miss_merged", "dev.retries", "dev.drops", "dev.pri.failed",
                           "dev.dma.errors"};
    const uint64_t want[] = {c->faults, c->merged, c->retries, c->drops, c->pri_failed, c->errors};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(stat_u(&d, names[i]) == want[i], "%s: %s = %llu, expected %llu", c->name, names[i],
                      (unsigned long long)stat_u(&d, names[i]), (unsigned long long)want[i]);

    /* the DMAs go to the page the final translation gave */
    ck_assert_uint_eq(d.mem->n, c->mem);
    for (size_t i = 0; i < c->mem; i++) {
        const mock_log *m = &d.mem->log[i];
        uint64_t off = m->m.type == SCIM_MSG_MEM_WRITE ? 0x100 : 0x800;
        ck_assert_msg(m->at == c->mem_at && m->m.u.mem.pa == PAGE_PA + off, "%s: %s at %llu ps pa 0x%llx", c->name,
                      scim_msg_type_name(m->m.type), (unsigned long long)m->at, (unsigned long long)m->m.u.mem.pa);
    }
    ck_assert_uint_eq(stat_u(&d, "dev.dma.requests"), c->mem ? c->mem : 1);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.bytes"), 64 * c->mem);
    ck_assert_msg(stat_u(&d, "dev.dma.finish_ps") == c->finish, "%s: finished at %llu ps, expected %llu", c->name,
                  (unsigned long long)stat_u(&d, "dev.dma.finish_ps"), (unsigned long long)c->finish);
    /* a NACKed or dropped request keeps its start: translation latency runs to its DMA */
    if (c->mem)
        ck_assert_uint_eq(stat_u(&d, "dev.translation.latency.max"), c->mem_at - L_MEM);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* backup, 4 slots: a write and a read of one page issued together (the
 * read merges). NOT_PRESENT at 250: the write goes to slot 0 of the backup
 * buffer (at mem at 300, done at 370), and an OS request asks for the copy
 * (at the OS at 570; this OS answers after 1 us, back at 1770: the slot is
 * free again); the read stalls for the page request (answered at 400),
 * asks again at 500 (at the IOMMU at 600), answered at 650: at mem at 800,
 * done at 870. */
START_TEST(backup_policy)
{
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_BACKUP);
    dev_rig d;
    devrig_init(&d, &p, ONE_WRITE "@0 read 0x7f0000000800 64\n", MOCK_HOLD, MOCK_MEMORY, MOCK_ECHO);
    d.os->delay = NS(1000);
    scim_device_set_backup(d.dev, BACKUP_BASE);
    devrig_start(&d);
    run_to(&d, NP_AT);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.iotlb.miss_merged"), 1);
    answer_held(d.iommu, SCIM_MSG_ATS_REQ, 0, SCIM_RESP_NOT_PRESENT);
    run_to(&d, PRI_ANSWER);
    answer_held(d.iommu, SCIM_MSG_PRI_REQ, 0, SCIM_RESP_OK);
    run_to(&d, NS(650));
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), 2);
    ck_assert_uint_eq(logged(d.iommu, SCIM_MSG_ATS_REQ, 1)->at, PRI_BACK + L_IOMMU);
    answer_held(d.iommu, SCIM_MSG_ATS_REQ, 1, SCIM_RESP_OK);
    /* at 1000 both DMAs are done, but slot 0 is still out with the OS */
    const scim_time_t os_back = FAULT_AT + L_MEM + D_MEM + L_MEM + L_OS + NS(1000) + L_OS;
    run_to(&d, NS(1000));
    ck_assert_uint_eq(stat_u(&d, "dev.dma.requests"), 2);
    ck_assert(!scim_device_finished(d.dev));
    char buf[512];
    scim_device_describe(d.dev, buf, sizeof buf);
    ck_assert_msg(strstr(buf, "0 request piece(s) in flight") && strstr(buf, "1 backup slot(s) waiting for their copy"),
                  "describe: %s", buf);
    rig_run(&d.r);
    ck_assert(scim_device_finished(d.dev));
    ck_assert_uint_eq(scim_kernel_now(d.r.k), os_back);

    /* the write: a physical write to slot 0 at its page offset */
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), 1);
    const mock_log *w = logged(d.mem, SCIM_MSG_MEM_WRITE, 0);
    ck_assert_msg(w->at == FAULT_AT + L_MEM && w->m.u.mem.pa == BACKUP_BASE + 0 * SCIM_PAGE_SIZE + 0x100 &&
                      w->m.u.mem.len == 64,
                  "backup write at %llu ps pa 0x%llx", (unsigned long long)w->at, (unsigned long long)w->m.u.mem.pa);
    /* then the OS is asked to copy slot 0 to the page */
    ck_assert_uint_eq(mock_count(d.os, SCIM_MSG_OS_REQ), 1);
    const mock_log *o = logged(d.os, SCIM_MSG_OS_REQ, 0);
    ck_assert_uint_eq(o->at, FAULT_AT + L_MEM + D_MEM + L_MEM + L_OS);
    ck_assert_int_eq(o->m.u.os.op, SCIM_OS_BACKUP);
    ck_assert_uint_eq(o->m.u.os.slot, 0);
    ck_assert_uint_eq(o->m.u.os.pasid, PASID);
    ck_assert_uint_eq(o->m.u.os.addr, VA0 + 0x100);
    ck_assert_uint_eq(o->m.u.os.len, 64);
    /* the read stalled until the page was mapped */
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_READ), 1);
    const mock_log *r = logged(d.mem, SCIM_MSG_MEM_READ, 0);
    ck_assert_uint_eq(r->at, DMA_AT(NS(650)));
    ck_assert_uint_eq(r->m.u.mem.pa, PAGE_PA + 0x800);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_PRI_REQ), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.backup.writes"), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.backup.full"), 0);
    ck_assert_uint_eq(stat_u(&d, "dev.faults"), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.requests"), 2);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.errors"), 0);
    /* the write completed when the buffer took it; the read last */
    ck_assert_uint_eq(stat_u(&d, "dev.dma.latency.min"), FAULT_AT + L_MEM + D_MEM + L_MEM);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.finish_ps"), DONE_AT(NS(650)));
    devrig_free(&d);
}
END_TEST

/* backup with one slot: two writes to two pages, both not present. The
 * first takes the slot; the second finds none (backup.full) and stalls for
 * its page like a read. */
START_TEST(backup_full_stalls)
{
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_BACKUP);
    p.backup_slots = 1;
    dev_rig d;
    devrig_init(&d, &p, ONE_WRITE "@0 write 0x7f0000001100 64\n", MOCK_HOLD, MOCK_MEMORY, MOCK_ECHO);
    scim_device_set_backup(d.dev, BACKUP_BASE);
    devrig_start(&d);
    run_to(&d, NP_AT);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), 2);
    answer_held(d.iommu, SCIM_MSG_ATS_REQ, 0, SCIM_RESP_NOT_PRESENT);
    answer_held(d.iommu, SCIM_MSG_ATS_REQ, 1, SCIM_RESP_NOT_PRESENT);
    run_to(&d, PRI_ANSWER);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_PRI_REQ), 2);
    ck_assert_uint_eq(stat_u(&d, "dev.backup.writes"), 1);
    ck_assert_uint_eq(stat_u(&d, "dev.backup.full"), 1);
    /* the slot went to the first write */
    const mock_log *w = logged(d.mem, SCIM_MSG_MEM_WRITE, 0);
    ck_assert_uint_eq(w->m.u.mem.pa, BACKUP_BASE + 0x100);
    /* the second stalls: its page request answered at 400, asked again (at
     * the IOMMU at 600), translated at 650: at mem at 800 */
    size_t second = logged(d.iommu, SCIM_MSG_PRI_REQ, 0)->m.u.page.va == VA0 ? 1 : 0;
    ck_assert_uint_eq(logged(d.iommu, SCIM_MSG_PRI_REQ, second)->m.u.page.va, VA0 + SCIM_PAGE_SIZE);
    answer_held(d.iommu, SCIM_MSG_PRI_REQ, 0, SCIM_RESP_OK);
    answer_held(d.iommu, SCIM_MSG_PRI_REQ, 1, SCIM_RESP_OK);
    run_to(&d, NS(650));
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), 3);
    const mock_log *a = logged(d.iommu, SCIM_MSG_ATS_REQ, 2);
    ck_assert_uint_eq(a->at, PRI_BACK + L_IOMMU);
    ck_assert_uint_eq(a->m.u.xlat.va, VA0 + SCIM_PAGE_SIZE);
    answer_held(d.iommu, SCIM_MSG_ATS_REQ, 2, SCIM_RESP_OK);
    rig_run(&d.r);
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), 2);
    w = logged(d.mem, SCIM_MSG_MEM_WRITE, 1);
    ck_assert_uint_eq(w->at, DMA_AT(NS(650)));
    ck_assert_uint_eq(w->m.u.mem.pa, PAGE_PA + 0x100);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.errors"), 0);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* ---- page request groups ----
 * One 16 KiB write at VA0: four chunks (pages VA0 .. VA0 + 3 pages), all
 * looked up at 2 ns, their four ATS requests at the IOMMU at 102, all
 * answered NOT_PRESENT at 150 (at the device at 250, in that order). The
 * first not-present page leads a group asking for the rest of its DMA;
 * the others find a group covering their page and join it instead of
 * asking. The mock answers everything it holds every 250 ns from 150
 * (translations OK after the first round, groups OK), so a group sent at
 * t reaches the IOMMU at t + 100, is answered at the next step, and its
 * translations ask again 100 ns after that (stall). Under retry and drop
 * the requests leave meanwhile, but the group still asks for their whole
 * DMA; their translations, with nobody waiting, are dropped when it is
 * answered, and the requests ask anew when they come back. */

typedef struct group_sent {
    scim_time_t at;          /* at the IOMMU */
    unsigned first;          /* its first page (index from VA0) */
    uint32_t pages, prefault;
} group_sent;

typedef struct group_case {
    const char *name;
    int policy;
    uint64_t group_pages, allocation, prefault;
    size_t n_groups;
    group_sent g[2];
    uint64_t joined, waits, outstanding_max;
    uint64_t xlat_requests, rerequests, bounced; /* bounced: retries or drops */
    scim_time_t finish;
} group_case;

static const group_case group_cases[] = {
    /* one group of the whole DMA (4 pages) at 350, answered at 400; the
     * four translations ask again (at the IOMMU at 600), answered at 650:
     * the four writes at mem at 800, done at 870 */
    {"whole DMA", SCIM_FAULT_STALL, 0, 2048, 0, 1, {{PRI_AT, 0, 4, 0}}, 3, 0, 4, 4, 4, 0, DONE_AT(NS(650))},
    /* prefault 3 but an allocation of 5: 4 pages needed, room for 1 more */
    {"prefault trimmed to the allocation", SCIM_FAULT_STALL, 0, 5, 3, 1, {{PRI_AT, 0, 4, 1}}, 3, 0, 5, 4, 4, 0,
     DONE_AT(NS(650))},
    /* pri.group_pages 2: page 0 leads {0,1}, page 1 joins; page 2 finds no
     * group covering it and leads {2,3}; page 3 joins. Both at 350. */
    {"group_pages 2", SCIM_FAULT_STALL, 2, 2048, 0, 2, {{PRI_AT, 0, 2, 0}, {PRI_AT, 2, 2, 0}}, 2, 0, 4, 4, 4, 0,
     DONE_AT(NS(650))},
    /* retry, back-off 1 us: the four requests are NACKed at 250, one group
     * of 4 pages all the same (answered at 400, at the device at 500);
     * they come back at 1250, look up until 1252 and ask anew (at the IOMMU
     * at 1352), answered at 1400: at mem at 1550, done at 1620 */
    {"retry: still one group", SCIM_FAULT_RETRY, 0, 2048, 0, 1, {{PRI_AT, 0, 4, 0}}, 3, 0, 4, 8, 0, 4,
     DONE_AT(NS(1400))},
    /* drop, timeout 2 us: resent at 2250, asked at 2352, answered at 2400 */
    {"drop: still one group", SCIM_FAULT_DROP, 0, 2048, 0, 1, {{PRI_AT, 0, 4, 0}}, 3, 0, 4, 8, 0, 4,
     DONE_AT(NS(2400))},
    /* allocation 2: page 0 leads {0,1} (the DMA's 4 pages cut to the
     * allocation); page 2's group {2,3} does not fit and waits (page 3
     * joins it while it waits). The first response (at the device at 500)
     * frees the room: {2,3} leaves then, at the IOMMU at 600, answered at
     * 650; pages 2 and 3 ask again at 750 (at the IOMMU at 850), answered
     * at 900: their writes at mem at 1050, done at 1120. */
    {"allocation 2", SCIM_FAULT_STALL, 0, 2, 0, 2, {{PRI_AT, 0, 2, 0}, {NS(600), 2, 2, 0}}, 2, 1, 2, 4, 4, 0,
     DONE_AT(NS(900))},
};

/* Answer every request the "iommu" mock holds: translations with status
 * xlat (PAGE_PA read-write when OK), page request groups OK. */
static void answer_all_held(dev_rig *d, int32_t xlat)
{
    for (size_t i = 0; i < d->iommu->n; i++) {
        const mock_log *l = &d->iommu->log[i];
        if (!l->held)
            continue;
        scim_msg payload;
        memset(&payload, 0, sizeof payload);
        int32_t status = SCIM_RESP_OK;
        if (l->m.type == SCIM_MSG_ATS_REQ) {
            status = xlat;
            if (xlat == SCIM_RESP_OK)
                payload.u.xlat_resp = (scim_xlat_resp){PAGE_PA, SCIM_SHIFT_4K, SCIM_PERM_R | SCIM_PERM_W};
        }
        mock_answer(d->iommu, i, status, &payload);
    }
}

START_TEST(page_request_groups)
{
    const group_case *c = &group_cases[_i];
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, c->policy);
    p.retry_backoff = NS(1000);
    p.drop_timeout = NS(2000);
    p.pri_group_pages = c->group_pages;
    p.pri_allocation = c->allocation;
    p.prefault = c->prefault;
    dev_rig d;
    devrig_init(&d, &p, "@0 write 0x7f0000000000 16384\n", MOCK_HOLD, MOCK_MEMORY, MOCK_ECHO);
    devrig_start(&d);
    run_to(&d, NP_AT);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), 4);
    answer_all_held(&d, SCIM_RESP_NOT_PRESENT);
    for (scim_time_t t = NS(400); t <= NS(3000); t += NS(250)) {
        run_to(&d, t);
        answer_all_held(&d, SCIM_RESP_OK);
    }
    rig_run(&d.r);

    ck_assert_msg(mock_count(d.iommu, SCIM_MSG_PRI_REQ) == c->n_groups, "%s: %zu groups", c->name,
                  mock_count(d.iommu, SCIM_MSG_PRI_REQ));
    uint64_t requests = 0;
    for (size_t k = 0; k < c->n_groups; k++) {
        const mock_log *g = logged(d.iommu, SCIM_MSG_PRI_REQ, k);
        const scim_page_req *q = &g->m.u.page;
        ck_assert_msg(g->at == c->g[k].at && q->pasid == PASID && q->va == VA0 + c->g[k].first * SCIM_PAGE_SIZE &&
                          q->pages == c->g[k].pages && q->prefault == c->g[k].prefault && q->write,
                      "%s: group %zu at %llu ps va 0x%llx pages %u prefault %u", c->name, k,
                      (unsigned long long)g->at, (unsigned long long)q->va, q->pages, q->prefault);
        ck_assert_msg(g->m.wire_bytes == (q->pages + q->prefault) * HDR, "%s: group %zu: %u wire bytes", c->name, k,
                      g->m.wire_bytes);
        requests += c->g[k].pages + c->g[k].prefault;
    }
    /* four translations asked, four faults; each asked again (stall), or
     * asked anew when its request comes back (retry, drop) */
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), 8);
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.requests"), c->xlat_requests);
    ck_assert_uint_eq(stat_u(&d, "dev.xlat.rerequests"), c->rerequests);
    ck_assert_uint_eq(stat_u(&d, c->policy == SCIM_FAULT_DROP ? "dev.drops" : "dev.retries"), c->bounced);
    ck_assert_uint_eq(stat_u(&d, "dev.faults"), 4);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.groups"), c->n_groups);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.requests"), requests);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.joined"), c->joined);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.allocation_waits"), c->waits);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.outstanding_max"), c->outstanding_max);
    ck_assert_msg(c->outstanding_max <= c->allocation, "never more than the allocation");
    /* each group answered 250 ns after it left (allocation waits excluded) */
    ck_assert_uint_eq(stat_u(&d, "dev.fault.latency.max"), PRI_BACK - FAULT_AT);
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), 4);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.errors"), 0);
    ck_assert_msg(stat_u(&d, "dev.dma.finish_ps") == c->finish, "%s: finished at %llu ps, expected %llu", c->name,
                  (unsigned long long)stat_u(&d, "dev.dma.finish_ps"), (unsigned long long)c->finish);
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

/* Translations answered out of order: the same 16 KiB write, its four
 * ATS requests answered NOT_PRESENT last page first (pages 3, 2, 1, 0; at
 * the device at 250 in that order). Page 3 leads a group {3} (plus
 * `prefault` pages after it). Page 2's DMA runs to page 3, but page 3 is
 * already asked for: its group stops there, {2}, and asks no prefault
 * pages (they would be page 3 onwards); likewise {1} and {0}. Four groups
 * at the IOMMU at 350, 4 + prefault page requests (they overlapped before:
 * {3} {2,3} {1,2,3} {0,1,2,3}, 10 requests, each with prefault). Answered
 * at 400, asked again at 600, translated at 650: done at 870. */
START_TEST(groups_never_overlap)
{
    const uint64_t prefault = _i == 0 ? 0 : 2;
    scim_device_params p = devrig_params(SCIM_WALK_IOMMU, SCIM_FAULT_STALL);
    p.prefault = prefault;
    dev_rig d;
    devrig_init(&d, &p, "@0 write 0x7f0000000000 16384\n", MOCK_HOLD, MOCK_MEMORY, MOCK_ECHO);
    devrig_start(&d);
    run_to(&d, NP_AT);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_ATS_REQ), 4);
    for (unsigned page = 4; page-- > 0;) {
        size_t k = 0;
        while (logged(d.iommu, SCIM_MSG_ATS_REQ, k)->m.u.xlat.va != VA0 + page * SCIM_PAGE_SIZE)
            k++;
        answer_held(d.iommu, SCIM_MSG_ATS_REQ, k, SCIM_RESP_NOT_PRESENT);
    }
    for (scim_time_t t = NS(400); t <= NS(3000); t += NS(250)) {
        run_to(&d, t);
        answer_all_held(&d, SCIM_RESP_OK);
    }
    rig_run(&d.r);
    ck_assert_uint_eq(mock_count(d.iommu, SCIM_MSG_PRI_REQ), 4);
    for (size_t k = 0; k < 4; k++) {
        const mock_log *g = logged(d.iommu, SCIM_MSG_PRI_REQ, k);
        const uint64_t first = 3 - k;
        ck_assert_msg(g->at == PRI_AT && g->m.u.page.va == VA0 + first * SCIM_PAGE_SIZE && g->m.u.page.pages == 1 &&
                          g->m.u.page.prefault == (k == 0 ? prefault : 0),
                      "group %zu at %llu ps va 0x%llx pages %u prefault %u", k, (unsigned long long)g->at,
                      (unsigned long long)g->m.u.page.va, g->m.u.page.pages, g->m.u.page.prefault);
    }
    ck_assert_uint_eq(stat_u(&d, "dev.pri.groups"), 4);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.requests"), 4 + prefault);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.outstanding_max"), 4 + prefault);
    ck_assert_uint_eq(stat_u(&d, "dev.pri.joined"), 0);
    ck_assert_uint_eq(stat_u(&d, "dev.faults"), 4);
    ck_assert_uint_eq(mock_count(d.mem, SCIM_MSG_MEM_WRITE), 4);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.errors"), 0);
    ck_assert_uint_eq(stat_u(&d, "dev.dma.finish_ps"), DONE_AT(NS(650)));
    ck_assert(scim_device_finished(d.dev));
    devrig_free(&d);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("device_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_loop_test(tc, fault_policies, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, backup_policy);
    tcase_add_test(tc, backup_full_stalls);
    tcase_add_loop_test(tc, page_request_groups, 0, (int)(sizeof group_cases / sizeof group_cases[0]));
    tcase_add_loop_test(tc, groups_never_overlap, 0, 2);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

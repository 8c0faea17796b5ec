/* A rig for the device unit tests (test_device*.c): one device alone on a
 * star of links, mock endpoints "iommu", "mem" and "os" on the other side,
 * and "dev_shadow" (the device's own copy) under walk shadow.
 *
 * Every timing constant the tests derive their expectations from is here:
 *
 *     dev --100ns-- iommu      (ECHO answers after 30 ns)
 *     dev ---50ns-- mem        (MEMORY answers after 20 ns)
 *     dev --200ns-- os         (ECHO answers after 40 ns)
 *     dev ----5ns-- dev_shadow (shadow.latency 50 ns per entry)
 *
 * Links have no bandwidth limit (0), so a message takes exactly the link's
 * latency (a page request group still states its wire bytes: one 24 B
 * header per page). The device clock is 1 GHz: an IOTLB lookup of 2 cycles is 2 ns,
 * a walker's paging-structure-cache lookup of 1 cycle is 1 ns.
 */
#ifndef SCIM_TEST_DEVRIG_H
#define SCIM_TEST_DEVRIG_H

#include <check.h>
#include <string.h>

#include "core/page.h"
#include "device/device.h"
#include "helpers/mockport.h"
#include "helpers/simtest.h"
#include "mmu/pt_x86.h"

#define NS(x) SCIM_NS(x)
#define L_IOMMU NS(100)
#define L_MEM NS(50)
#define L_OS NS(200)
#define L_SHADOW NS(5)
#define D_IOMMU NS(30)
#define D_MEM NS(20)
#define D_OS NS(40)
#define T_LOOKUP NS(2)   /* iotlb.latency 2 cycles at 1 GHz */
#define T_PWC NS(1)      /* pwc.latency 1 cycle */
#define T_SHADOW NS(50)  /* shadow.latency */
#define T_INV NS(500)    /* inv_latency */
#define HDR 24u          /* wire bytes of a header-only message (rig_init: 24 B headers) */

#define PASID 1u
#define VA0 0x7f0000000000ull     /* the page most tests use */
#define PAGE_PA 0x12345000ull     /* the frame it translates to */
#define PT_ROOT 0x100000ull       /* walk device/shadow: PML4 at 1 MiB, then PDPT, PD, PT in the next frames */
#define BACKUP_BASE 0x80000000ull /* fault_policy backup */

typedef struct dev_rig {
    test_rig r;
    char dir[64];
    char trace[256];
    mock_ep *iommu, *mem, *os;
    scim_device *dev;
    scim_device_params p;
} dev_rig;

/* Every field of the device's parameters, explicitly. */
static inline scim_device_params devrig_params(int walk, int policy)
{
    scim_device_params p;
    memset(&p, 0, sizeof p);
    p.trace = NULL; /* set by devrig_init */
    p.pasid = PASID;
    p.max_outstanding = 4;
    p.clock_hz = 1000000000ull;
    p.iotlb = (scim_tlb_keys){.entries = 32, .ways = 32, .repl = 0 /* lru */, .page_sizes = 1 /* 4K+2M */,
                              .latency = 2};
    p.utlb = (scim_tlb_keys){.entries = 0, .ways = 1, .repl = 0, .page_sizes = 1, .latency = 1};
    p.prefetch = 0;
    p.ats = true;
    p.walk = walk;
    p.walkers = 2;
    p.walk_queue = 4;
    p.pwc_entries = 0;
    p.pwc_latency = 1;
    p.shadow_latency = T_SHADOW;
    p.fault_policy = policy;
    p.prefault = 0;
    p.pri_group_pages = 0;    /* a group asks for the rest of the DMA */
    p.pri_allocation = 2048;  /* the default allocation: never the limit here unless a test lowers it */
    p.retry_backoff = NS(1000);
    p.drop_timeout = NS(100000);
    p.backup_slots = 4;
    p.inv_queue = 4;
    p.inv_latency = T_INV;
    p.snoop_latency = NS(100);
    p.link_latency = L_IOMMU; /* default topology only: unused here */
    p.link_bandwidth = 0;
    p.tenants_node = NULL;
    p.seed = 1;
    p.tenants = NULL;
    p.n_tenants = 0;
    return p;
}

/* The rig, the mocks, the device (with p; p->trace is set here) and its
 * links, wired; scim_device_start is left to devrig_start so a test can
 * load tables, a shadow copy or a backup buffer first. The ECHO mocks
 * "iommu" and "os" translate every page to PAGE_PA, read-write. */
static inline void devrig_init(dev_rig *d, const scim_device_params *p, const char *trace_text, mock_mode iommu,
                               mock_mode mem, mock_mode os)
{
    memset(d, 0, sizeof *d);
    rig_init(&d->r);
    tmpdir_make(d->dir, sizeof d->dir);
    write_file(d->dir, "dev.trace", trace_text, d->trace, sizeof d->trace);
    d->iommu = mock_add(&d->r, "iommu", iommu, D_IOMMU);
    d->mem = mock_add(&d->r, "mem", mem, D_MEM);
    d->os = mock_add(&d->r, "os", os, D_OS);
    d->iommu->status = d->os->status = SCIM_RESP_OK;
    d->iommu->xlat = d->os->xlat = (scim_xlat_resp){PAGE_PA, SCIM_SHIFT_4K, SCIM_PERM_R | SCIM_PERM_W};
    d->p = *p;
    d->p.trace = d->trace;
    scim_err err = {0};
    d->dev = scim_device_create(d->r.k, d->r.f, "dev", &d->p, d->r.stats, &err);
    ck_assert_msg(d->dev, "device create: %s", err.msg);
    rig_link(&d->r, "dev", "iommu", L_IOMMU, 0);
    rig_link(&d->r, "dev", "mem", L_MEM, 0);
    rig_link(&d->r, "dev", "os", L_OS, 0);
    if (p->walk == SCIM_WALK_SHADOW)
        rig_link(&d->r, "dev", "dev_shadow", L_SHADOW, 0);
    rig_finalize(&d->r);
    scim_device_set_targets(d->dev, rig_node(&d->r, "iommu"), rig_node(&d->r, "mem"), rig_node(&d->r, "os"));
}

static inline void devrig_start(dev_rig *d)
{
    scim_err err = {0};
    ck_assert_msg(scim_device_start(d->dev, &err) == 0, "device start: %s", err.msg);
}

static inline void devrig_free(dev_rig *d)
{
    scim_device_destroy(d->dev);
    mock_free(d->iommu);
    mock_free(d->mem);
    mock_free(d->os);
    rig_free(&d->r);
    tmpdir_remove(d->dir);
}

/* Run every event up to t and leave the clock at t. */
static inline void run_to(dev_rig *d, scim_time_t t)
{
    scim_err err = {0};
    ck_assert_msg(scim_kernel_run_until(d->r.k, t, &err) == 0, "run until %llu ps: %s", (unsigned long long)t,
                  err.msg);
    ck_assert_uint_eq(scim_kernel_now(d->r.k), t);
}

static inline uint64_t stat_u(const dev_rig *d, const char *name) { return (uint64_t)rig_stat(&d->r, name); }

/* The log entry of the k-th message of `type` a mock received (fails the
 * test if there is none). */
static inline const mock_log *logged(const mock_ep *ep, scim_msg_type type, size_t k)
{
    const mock_log *l = mock_find(ep, type, k);
    ck_assert_msg(l, "%s: no %s #%zu", scim_port_name(ep->port), scim_msg_type_name(type), k);
    return l;
}

/* Answer the k-th held request of `type` now. ATS requests get PAGE_PA
 * read-write when status is OK (nothing otherwise); page requests a page
 * response that is not an automatic one. */
static inline void answer_held(mock_ep *ep, scim_msg_type type, size_t k, int32_t status)
{
    const mock_log *l = logged(ep, type, k);
    scim_msg payload;
    memset(&payload, 0, sizeof payload);
    if (type == SCIM_MSG_ATS_REQ || type == SCIM_MSG_XLAT_IRQ) {
        if (status == SCIM_RESP_OK)
            payload.u.xlat_resp = (scim_xlat_resp){PAGE_PA, SCIM_SHIFT_4K, SCIM_PERM_R | SCIM_PERM_W};
    } else if (type == SCIM_MSG_PRI_REQ) {
        payload.u.page_resp = (scim_page_resp){false};
    } else if (type == SCIM_MSG_MEM_READ || type == SCIM_MSG_MEM_WRITE) {
        payload.u.mem_resp = (scim_mem_resp){.value = 0};
    }
    mock_answer(ep, (size_t)(l - ep->log), status, &payload);
}

/* A 4-level table mapping va -> page_pa (present, writable, user at every
 * level): the PML4 at PT_ROOT and one table per level in the next frames.
 * Each entry goes to put(ctx, entry_pa, value); entry_pa[] gets the entry
 * addresses in walk order (PML4E first). */
static inline void devrig_table(uint64_t va, uint64_t page_pa, void (*put)(void *ctx, uint64_t pa, uint64_t v),
                                void *ctx, uint64_t entry_pa[4])
{
    const uint64_t flags = SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US;
    for (int level = 4; level >= 1; level--) {
        uint64_t table = PT_ROOT + (uint64_t)(4 - level) * SCIM_PAGE_SIZE;
        uint64_t next = level == 1 ? page_pa : table + SCIM_PAGE_SIZE;
        uint64_t at = scim_pte_addr(table, va, level);
        entry_pa[4 - level] = at;
        put(ctx, at, next | flags);
    }
}

#endif

/* The rig of the IOMMU unit tests (test_iommu.c, test_iommu_inline.c):
 * the IOMMU alone through its port, mock devices, a mock OS and a
 * dummy memory holding a PASID directory, a PASID table and a 4-level page
 * table written by hand. Every expected time is derived by hand from the
 * topology below:
 *
 *   dev0 --100ns-- iommu --50ns-- mem (answers after 30ns)
 *   dev1 --150ns, 1 GB/s-- iommu --200ns-- os
 *
 * Links without bandwidth do not serialise; on dev1's link a message of
 * w bytes takes w ns (headers 24 B: a request 24 B, ATS_RESP 24+8 = 32 B,
 * a device invalidation 32 B, INV_DONE 24 B). One memory read from the
 * IOMMU: 50 + 30 + 50 = 130 ns. IOMMU clock 1 GHz: IOTLB lookup 2 cycles =
 * 2 ns, walker start (paging-structure cache lookup) 1 ns. So a cold
 * request from dev0 for a 4K page: 100 + 2 + 2 x 130 (PASID directory and
 * table entries) + 1 + 4 x 130 (PML4E, PDPTE, PDE, PTE) + 100 = 983 ns;
 * an IOTLB hit: 100 + 2 + 100 = 202 ns.
 */
#ifndef SCIM_TEST_IOMMURIG_H
#define SCIM_TEST_IOMMURIG_H

#include <check.h>
#include <stdlib.h>

#include "core/page.h"
#include "iommu/iommu.h"
#include "iommu/ctx_vtd.h"
#include "mmu/pt_x86.h"

#include "helpers/mockport.h"
#include "helpers/testutil.h"

#define NS SCIM_NS
#define L_DEV0 NS(100)
#define L_DEV1 NS(150)
#define BW_DEV1 1000000000ull /* 1 byte per ns */
#define L_MEM NS(50)
#define L_OS NS(200)
#define MEM_DELAY NS(30)
#define INV_LAT NS(500)
#define SNOOP_LAT NS(20)

/* Memory layout */
#define PASID_DIR 0x10000ull
#define PASID_TABLE 0x20000ull
#define PML4 0x100000ull
#define PDPT 0x101000ull
#define PD 0x102000ull
#define PT 0x103000ull
#define PASID_A 1u      /* has page tables */
#define PASID_B 2u      /* bound to dev1, no tables needed */
#define PASID_NOTAB 5u  /* directory entry present, table entry not */
#define PASID_NODIR 1000u /* directory entry 1 absent */

/* VA_BASE is 2M-aligned; every index is non-zero. */
#define VA_BASE 0x00007f5ac0200000ull
#define VA(n) (VA_BASE + (uint64_t)(n) * 4096)
#define VA_2M (VA_BASE + (2ull << 20))    /* next PD entry: a 2M page */
#define VA_NOPML4 (VA_BASE + (1ull << 39)) /* PML4 entry absent */
#define VA_BADPML4 (VA_BASE + (2ull << 39)) /* PML4 entry with PS: reserved */
#define PA_2M 0x80000000ull
#define TABLE_FLAGS (SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US)

/* The leaf entries of the PT at VA_BASE. */
static const struct {
    unsigned page;
    uint64_t pa;
    uint64_t flags;
} leaves[] = {
    {0, 0x40000000ull, SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US},
    {1, 0x40005000ull, SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US},
    {2, 0x40009000ull, SCIM_PTE_P | SCIM_PTE_US},             /* read-only */
    /* page 3: not present */
    {4, 0x4000b000ull, SCIM_PTE_P | SCIM_PTE_RW},             /* supervisor only */
    {5, 0x40010000ull, SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US},
    {6, 0x40011000ull, SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US},
    {7, 0x40012000ull, SCIM_PTE_P | SCIM_PTE_RW | SCIM_PTE_US},
};

static inline uint64_t pa_of(unsigned page)
{
    for (size_t i = 0; i < SCIM_COUNT_OF(leaves); i++)
        if (leaves[i].page == page)
            return leaves[i].pa;
    ck_abort_msg("page %u not mapped", page);
    return 0;
}

typedef struct rig {
    test_rig r;
    scim_iommu *io;
    mock_ep *mem, *os, *dev0, *dev1;
    scim_node_id n_io;
} rig;

static inline scim_iommu_params default_params(void)
{
    return (scim_iommu_params){
        .clock_hz = 1000000000ull,
        .iotlb = {.entries = 64, .ways = 8, .repl = SCIM_REPL_LRU, .page_sizes = 1 /* 4K+2M */, .latency = 2},
        .pasid_cache = {.entries = 16, .ways = 16, .repl = SCIM_REPL_LRU, .page_sizes = 0 /* 4K */, .latency = 1},
        .walkers = 4,
        .pwc_entries = 16,
        .pwc_latency = 1,
        .prq_depth = 16,
        .ats_queue = 8,
        .walk_queue = 8,
        .inv_latency = INV_LAT,
        .snoop_latency = SNOOP_LAT,
        .seed = 1,
    };
}

static inline void write_tables(mock_ep *mem)
{
    /* PASID directory entry 0 (PASIDs 0..511) -> table; entry 1 absent */
    mock_poke(mem, scim_pasid_dir_entry_addr(PASID_DIR, PASID_A), scim_pasid_make_entry(PASID_TABLE, 4));
    mock_poke(mem, scim_pasid_entry_addr(PASID_TABLE, PASID_A), scim_pasid_make_entry(PML4, 4));
    /* the page table of PASID_A */
    mock_poke(mem, scim_pte_addr(PML4, VA_BASE, 4), PDPT | TABLE_FLAGS);
    mock_poke(mem, scim_pte_addr(PDPT, VA_BASE, 3), PD | TABLE_FLAGS);
    mock_poke(mem, scim_pte_addr(PD, VA_BASE, 2), PT | TABLE_FLAGS);
    mock_poke(mem, scim_pte_addr(PD, VA_2M, 2), PA_2M | TABLE_FLAGS | SCIM_PTE_PS);
    mock_poke(mem, scim_pte_addr(PML4, VA_BADPML4, 4), PDPT | TABLE_FLAGS | SCIM_PTE_PS);
    for (size_t i = 0; i < SCIM_COUNT_OF(leaves); i++)
        mock_poke(mem, scim_pte_addr(PT, VA(leaves[i].page), 1), leaves[i].pa | leaves[i].flags);
}

/* The rig; bind: dev0 and dev1 bound for device-TLB invalidations. */
static inline void build_rig(rig *x, const scim_iommu_params *p, bool bind)
{
    rig_init(&x->r);
    scim_err err = {0};
    x->io = scim_iommu_create(x->r.k, x->r.f, "iommu", p, x->r.stats, &err);
    ck_assert_msg(x->io, "iommu: %s", err.msg);
    x->n_io = scim_iommu_node(x->io);
    x->mem = mock_add(&x->r, "mem", MOCK_MEMORY, MEM_DELAY);
    x->os = mock_add(&x->r, "os", MOCK_HOLD, 0);
    x->dev0 = mock_add(&x->r, "dev0", MOCK_HOLD, 0);
    x->dev1 = mock_add(&x->r, "dev1", MOCK_HOLD, 0);
    rig_link(&x->r, "dev0", "iommu", L_DEV0, 0);
    rig_link(&x->r, "dev1", "iommu", L_DEV1, BW_DEV1);
    rig_link(&x->r, "iommu", "mem", L_MEM, 0);
    rig_link(&x->r, "iommu", "os", L_OS, 0);
    rig_finalize(&x->r);
    scim_iommu_set_memory(x->io, rig_node(&x->r, "mem"));
    scim_iommu_set_os(x->io, rig_node(&x->r, "os"));
    scim_iommu_set_context(x->io, &scim_ctx_vtd, PASID_DIR);
    if (bind) {
        ck_assert_int_eq(scim_iommu_bind_device(x->io, rig_node(&x->r, "dev0"), PASID_A, &err), 0);
        ck_assert_int_eq(scim_iommu_bind_device(x->io, rig_node(&x->r, "dev1"), PASID_A, &err), 0);
        ck_assert_int_eq(scim_iommu_bind_device(x->io, rig_node(&x->r, "dev1"), PASID_B, &err), 0);
    }
    write_tables(x->mem);
}

static inline void build(rig *x, const scim_iommu_params *p) { build_rig(x, p, true); }

static inline void teardown(rig *x)
{
    scim_iommu_destroy(x->io);
    mock_free(x->mem);
    mock_free(x->os);
    mock_free(x->dev0);
    mock_free(x->dev1);
    rig_free(&x->r);
}

static inline scim_time_t now(rig *x) { return scim_kernel_now(x->r.k); }
static inline double stat(rig *x, const char *name) { return rig_stat(&x->r, name); }

static inline void ats(rig *x, mock_ep *dev, uint32_t pasid, uint64_t va, bool write, uint64_t id)
{
    scim_msg p = {0};
    p.u.xlat = (scim_xlat_req){pasid, va, write};
    mock_request(dev, x->n_io, SCIM_MSG_ATS_REQ, &p, id);
}

/* The completion with this id (the mock logs responses with its own id). */
static inline const mock_log *resp(const mock_ep *dev, scim_msg_type type, uint64_t id)
{
    for (size_t k = 0;; k++) {
        const mock_log *l = mock_find(dev, type, k);
        if (!l)
            break;
        if (l->m.tag == id)
            return l;
    }
    ck_abort_msg("no %s with id %llu", scim_msg_type_name(type), (unsigned long long)id);
    return NULL;
}

typedef struct answer_job {
    mock_ep *ep;
    size_t i;
    int32_t status;
} answer_job;

static inline void answer_ev(void *ctx, uint64_t arg)
{
    (void)arg;
    answer_job *j = ctx;
    mock_answer(j->ep, j->i, j->status, NULL);
}

/* Answer held request i of ep at `when` (the job must live until then). */
static inline void answer_at(rig *x, answer_job *j, scim_time_t when)
{
    scim_kernel_schedule_at(x->r.k, when, SCIM_PRIO_DEFAULT, answer_ev, j, 0);
}

static inline void inv(rig *x, scim_inv_kind kind, uint32_t pasid, uint64_t addr, uint64_t len, bool broadcast, uint64_t id)
{
    scim_msg p = {0};
    p.u.inv = (scim_inv_req){{kind, pasid, addr, len}, broadcast};
    mock_request(x->os, x->n_io, SCIM_MSG_INV_REQ, &p, id);
}

static inline void echo_devices(rig *x)
{
    x->dev0->mode = x->dev1->mode = MOCK_ECHO;
    x->dev0->delay = x->dev1->delay = NS(10);
}

#endif

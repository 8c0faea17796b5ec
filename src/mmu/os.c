/* OS memory manager. Role and modelling notes in include/scimitar/os.h. */
#include "scimitar/os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scimitar/kernel.h"
#include "scimitar/pagetable.h"
#include "scimitar/pasid.h"
#include "scimitar/trace.h"

/* The write bit of a trace/region protection (SCIM_PROT_RW = R | W). */
#define PROT_W (SCIM_PROT_RW & ~SCIM_PROT_R)

typedef struct region {
    uint64_t start, end;
    unsigned prot;
    unsigned page_shift;
} region;

typedef struct process {
    char name[48];
    uint32_t pasid;
    int levels;
    scim_pgtable *pt;
    region *regions; /* sorted, disjoint */
    size_t n_regions, cap_regions;
} process;

typedef struct frame_list {
    uint64_t *pfn;
    uint8_t *order;
    size_t n, cap;
} frame_list;

/* An operation waiting for its invalidations to complete. */
typedef struct sd_op {
    bool used;
    uint32_t pending;
    uint64_t checker_id;
    scim_time_t started;
    scim_msg *req;
    frame_list data;
    frame_list tables;
} sd_op;

typedef struct os_stats {
    uint64_t iopf_requests;
    uint64_t iopf_mapped;
    uint64_t iopf_spurious;
    uint64_t iopf_invalid;
    uint64_t ops_mmap;
    uint64_t ops_munmap;
    uint64_t ops_errors;
    uint64_t shootdowns;
    uint64_t pages_unmapped;
    uint64_t frames_free;
    uint64_t frames_data;
    uint64_t frames_page_tables;
    uint64_t frames_pasid_table;
    uint64_t busy_ps;
    scim_hist *iopf_latency;
    scim_hist *iopf_queue_delay;
    scim_hist *shootdown_latency;
    scim_hist *op_latency;
} os_stats;

struct scim_os {
    scim_kernel *k;
    scim_fabric *f;
    scim_physmem *pm;
    scim_os_params p;
    scim_node_id node, iommu;
    scim_checker *checker;
    scim_pt_alloc_ops pt_ops;
    process *procs;
    size_t n_procs;
    uint64_t pasid_dir;
    frame_list *collect; /* page-table frames freed now go here (deferred) */
    uint64_t deferred;
    /* I/O page faults waiting for a handler */
    scim_msg **faultq;
    size_t fq_head, fq_len, fq_cap;
    uint64_t busy_handlers;
    sd_op *ops;
    size_t n_ops;
    os_stats st;
};

const scim_stat_decl scim_os_stat_decls[] = {
    {"iopf.requests", SCIM_STAT_COUNTER, "count", "I/O page requests received (via the IOMMU).",
     offsetof(os_stats, iopf_requests)},
    {"iopf.mapped", SCIM_STAT_COUNTER, "count", "Pages mapped by the I/O page fault handler.",
     offsetof(os_stats, iopf_mapped)},
    {"iopf.spurious", SCIM_STAT_COUNTER, "count",
     "Page requests for a page that was already present when handled.", offsetof(os_stats, iopf_spurious)},
    {"iopf.invalid", SCIM_STAT_COUNTER, "count",
     "Page requests outside any region or against its protection (answered Invalid).",
     offsetof(os_stats, iopf_invalid)},
    {"iopf.latency", SCIM_STAT_HIST, "ps", "From a page request's arrival at the OS to its response leaving.",
     offsetof(os_stats, iopf_latency)},
    {"iopf.queue_delay", SCIM_STAT_HIST, "ps", "Time a page request waited for a free fault handler.",
     offsetof(os_stats, iopf_queue_delay)},
    {"ops.mmap", SCIM_STAT_COUNTER, "count", "mmap operations executed.", offsetof(os_stats, ops_mmap)},
    {"ops.munmap", SCIM_STAT_COUNTER, "count", "munmap operations executed.", offsetof(os_stats, ops_munmap)},
    {"ops.errors", SCIM_STAT_COUNTER, "count",
     "OS operations refused (overlapping mmap, partial large page, unknown PASID).",
     offsetof(os_stats, ops_errors)},
    {"op.latency", SCIM_STAT_HIST, "ps", "From an OS operation's arrival to its answer (shootdown included).",
     offsetof(os_stats, op_latency)},
    {"shootdowns", SCIM_STAT_COUNTER, "count", "Invalidation rounds started for removed translations.",
     offsetof(os_stats, shootdowns)},
    {"shootdown.latency", SCIM_STAT_HIST, "ps",
     "From the PTE update to the last invalidation completion (the initiator's wait).",
     offsetof(os_stats, shootdown_latency)},
    {"pages_unmapped", SCIM_STAT_COUNTER, "count", "Mapped pages removed by munmap.",
     offsetof(os_stats, pages_unmapped)},
    {"frames.free", SCIM_STAT_COUNTER, "frames", "Free 4 KiB frames at the end of the run.",
     offsetof(os_stats, frames_free)},
    {"frames.data", SCIM_STAT_COUNTER, "frames", "4 KiB frames mapped to processes at the end of the run.",
     offsetof(os_stats, frames_data)},
    {"frames.page_tables", SCIM_STAT_COUNTER, "frames", "Page-table frames at the end of the run.",
     offsetof(os_stats, frames_page_tables)},
    {"frames.pasid_table", SCIM_STAT_COUNTER, "frames", "PASID directory and table frames.",
     offsetof(os_stats, frames_pasid_table)},
    {"busy_ps", SCIM_STAT_COUNTER, "ps",
     "CPU time spent in the OS for I/O memory management (fault handling and operations).",
     offsetof(os_stats, busy_ps)},
};
const size_t scim_os_stat_decl_count = SCIM_COUNT_OF(scim_os_stat_decls);

const scim_param_decl scim_os_param_decls[] = {
    {"iopf_cost", SCIM_P_TIME, "3us", "ns", false, 0, 0, NULL, offsetof(scim_os_params, iopf_cost),
     "CPU time to handle one I/O page fault: read the request, allocate and zero a frame, map it, answer.",
     "derived: NP-RDMA (arXiv 2310.11062) measures +3.5-5.7 us per minor fault end to end; the rest is "
     "messaging"},
    {"fault_handlers", SCIM_P_U64, "1", "contexts", true, 1, 4096, NULL,
     offsetof(scim_os_params, fault_handlers),
     "I/O page faults handled concurrently (CPUs servicing the fault queue).", "assumption"},
    {"syscall_cost", SCIM_P_TIME, "500ns", "ns", false, 0, 0, NULL, offsetof(scim_os_params, syscall_cost),
     "Fixed CPU time of an OS operation from a trace (mmap, munmap).", "assumption"},
    {"map_page_cost", SCIM_P_TIME, "350ns", "ns", false, 0, 0, NULL, offsetof(scim_os_params, map_page_cost),
     "CPU time per page populated by mmap.",
     "derived: Mooncake PR #855 registers 500 GB in 49.2 s, ~0.35 us per 4 KiB page"},
    {"unmap_page_cost", SCIM_P_TIME, "90ns", "ns", false, 0, 0, NULL,
     offsetof(scim_os_params, unmap_page_cost), "CPU time per mapped page removed by munmap.",
     "derived: Mooncake PR #855 deregisters 500 GB in 11.75 s, ~0.09 us per 4 KiB page"},
};
const size_t scim_os_param_decl_count = SCIM_COUNT_OF(scim_os_param_decls);

const scim_param_decl scim_process_param_decls[] = {
    {"pasid", SCIM_P_U64, NULL, NULL, true, 1, 1048575, NULL, offsetof(scim_process_params, pasid),
     "Process address space ID (20 bits, PCIe PASID); devices name it to share the address space.", NULL},
    {"levels", SCIM_P_U64, "4", "levels", true, 4, 5, NULL, offsetof(scim_process_params, levels),
     "Paging levels: 4 (48-bit VA) or 5 (57-bit VA).", "Intel SDM Vol. 3A 4.5"},
    {"regions", SCIM_P_NODE, NULL, NULL, false, 0, 0, NULL, offsetof(scim_process_params, regions),
     "Memory regions present at start: a list of {va, size, populate, page_size, prot}.", NULL},
};
const size_t scim_process_param_decl_count = SCIM_COUNT_OF(scim_process_param_decls);

static const char *const region_page_sizes[] = {"4K", "2M", "1G", NULL};
static const char *const region_prots[] = {"r", "rw", NULL};

const scim_param_decl scim_region_param_decls[] = {
    {"va", SCIM_P_U64, NULL, NULL, false, 0, 0, NULL, offsetof(scim_region_params, va),
     "Start virtual address (aligned to the page size).", NULL},
    {"size", SCIM_P_SIZE, NULL, "bytes", true, 1, 1ull << 57, NULL, offsetof(scim_region_params, size),
     "Length (a multiple of the page size; KiB/MiB/GiB suffixes).", NULL},
    {"populate", SCIM_P_BOOL, "false", NULL, false, 0, 0, NULL, offsetof(scim_region_params, populate),
     "Map every page up front (no fault will happen); otherwise pages are mapped on first touch.", NULL},
    {"page_size", SCIM_P_ENUM, "4K", NULL, false, 0, 0, region_page_sizes,
     offsetof(scim_region_params, page_size), "Page size of the region's mappings.", NULL},
    {"prot", SCIM_P_ENUM, "rw", NULL, false, 0, 0, region_prots, offsetof(scim_region_params, prot),
     "Protection: r (read-only) or rw.", NULL},
};
const size_t scim_region_param_decl_count = SCIM_COUNT_OF(scim_region_param_decls);

/* ---- frames ---- */

static int frame_list_add(frame_list *l, uint64_t pfn, unsigned order)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        uint64_t *np = realloc(l->pfn, nc * sizeof *np);
        if (!np)
            return SCIM_ENOMEM;
        l->pfn = np;
        uint8_t *no = realloc(l->order, nc);
        if (!no)
            return SCIM_ENOMEM;
        l->order = no;
        l->cap = nc;
    }
    l->pfn[l->n] = pfn;
    l->order[l->n++] = (uint8_t)order;
    return 0;
}

static void frame_list_free(frame_list *l)
{
    free(l->pfn);
    free(l->order);
    memset(l, 0, sizeof *l);
}

static void update_free(scim_os *os) { os->st.frames_free = scim_physmem_frames_free(os->pm); }

static int pt_alloc(void *cookie, uint64_t *pfn, scim_err *err)
{
    scim_os *os = cookie;
    int rc = scim_physmem_alloc(os->pm, 0, pfn, err);
    if (rc == 0) {
        os->st.frames_page_tables++;
        update_free(os);
    }
    return rc;
}

static void pt_free(void *cookie, uint64_t pfn)
{
    scim_os *os = cookie;
    os->st.frames_page_tables--;
    /* A walker may still be reading this table: free it only after the
     * shootdown that made it empty (Linux: tlb_remove_table). */
    if (os->collect && frame_list_add(os->collect, pfn, 0) == 0) {
        os->deferred++;
        return;
    }
    if (os->checker)
        scim_checker_frame_free(os->checker, pfn, 0);
    scim_physmem_free(os->pm, pfn, 0);
    update_free(os);
}

/* ---- processes and regions ---- */

static process *find_process(const scim_os *os, uint32_t pasid)
{
    for (size_t i = 0; i < os->n_procs; i++)
        if (os->procs[i].pasid == pasid)
            return &os->procs[i];
    return NULL;
}

static const region *find_region(const process *p, uint64_t va)
{
    size_t lo = 0, hi = p->n_regions;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->regions[mid].end <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->n_regions && p->regions[lo].start <= va)
        return &p->regions[lo];
    return NULL;
}

static int map_page(scim_os *os, process *p, uint64_t va, const region *r, scim_err *err)
{
    unsigned order = r->page_shift - 12;
    uint64_t pfn;
    int rc = scim_physmem_alloc(os->pm, order, &pfn, err);
    if (rc)
        return rc;
    uint64_t flags = SCIM_PTE_US | ((r->prot & PROT_W) ? SCIM_PTE_RW : 0);
    rc = scim_pgtable_map(p->pt, va, pfn << 12, r->page_shift, flags, err);
    if (rc) {
        scim_physmem_free(os->pm, pfn, order);
        return rc;
    }
    os->st.frames_data += 1ull << order;
    update_free(os);
    return 0;
}

static int insert_region(process *p, uint64_t start, uint64_t end, unsigned prot, unsigned shift,
                         scim_err *err)
{
    for (size_t i = 0; i < p->n_regions; i++)
        if (start < p->regions[i].end && p->regions[i].start < end)
            return scim_err_set(err, SCIM_EEXIST,
                                "region [0x%llx, 0x%llx) of pasid %u overlaps [0x%llx, 0x%llx)",
                                (unsigned long long)start, (unsigned long long)end, p->pasid,
                                (unsigned long long)p->regions[i].start,
                                (unsigned long long)p->regions[i].end);
    if (p->n_regions == p->cap_regions) {
        size_t nc = p->cap_regions ? p->cap_regions * 2 : 8;
        region *n = realloc(p->regions, nc * sizeof *n);
        if (!n)
            return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a region");
        p->regions = n;
        p->cap_regions = nc;
    }
    size_t at = 0;
    while (at < p->n_regions && p->regions[at].start < start)
        at++;
    memmove(&p->regions[at + 1], &p->regions[at], (p->n_regions - at) * sizeof *p->regions);
    p->regions[at] = (region){start, end, prot, shift};
    p->n_regions++;
    return 0;
}

static int check_region_args(uint64_t va, uint64_t size, unsigned shift, scim_err *err)
{
    if (shift != 12 && shift != 21 && shift != 30)
        return scim_err_set(err, SCIM_EINVAL, "page size must be 4K, 2M or 1G");
    uint64_t mask = (1ull << shift) - 1;
    if (size == 0 || (va & mask) || (size & mask) || va + size < va)
        return scim_err_set(err, SCIM_EINVAL,
                            "region va 0x%llx size 0x%llx must be non-empty and aligned to its page size "
                            "(%llu KiB)",
                            (unsigned long long)va, (unsigned long long)size,
                            (unsigned long long)((mask + 1) >> 10));
    return 0;
}

static int add_region(scim_os *os, process *p, uint64_t va, uint64_t size, unsigned shift,
                      unsigned prot, bool populate, scim_err *err)
{
    int rc = check_region_args(va, size, shift, err);
    if (rc)
        return rc;
    rc = insert_region(p, va, va + size, prot, shift, err);
    if (rc || !populate)
        return rc;
    const region *r = find_region(p, va);
    for (uint64_t a = va; a < va + size; a += 1ull << shift) {
        rc = map_page(os, p, a, r, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Remove [start, end) from the region list, splitting as needed. */
static int remove_regions(process *p, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < p->n_regions;) {
        region *r = &p->regions[i];
        if (r->end <= start || r->start >= end) {
            i++;
            continue;
        }
        if (r->start < start && r->end > end) {
            region tail = *r;
            tail.start = end;
            r->end = start;
            if (p->n_regions == p->cap_regions) {
                region *n = realloc(p->regions, (p->cap_regions * 2) * sizeof *n);
                if (!n)
                    return SCIM_ENOMEM;
                p->regions = n;
                p->cap_regions *= 2;
            }
            memmove(&p->regions[i + 2], &p->regions[i + 1], (p->n_regions - i - 1) * sizeof *p->regions);
            p->regions[i + 1] = tail;
            p->n_regions++;
            return 0;
        }
        if (r->start < start) {
            r->end = start;
            i++;
        } else if (r->end > end) {
            r->start = end;
            i++;
        } else {
            memmove(r, r + 1, (p->n_regions - i - 1) * sizeof *r);
            p->n_regions--;
        }
    }
    return 0;
}

/* ---- sd ops ---- */

static sd_op *new_op(scim_os *os, size_t *index)
{
    for (size_t i = 0; i < os->n_ops; i++)
        if (!os->ops[i].used) {
            *index = i;
            memset(&os->ops[i], 0, sizeof os->ops[i]);
            os->ops[i].used = true;
            return &os->ops[i];
        }
    sd_op *n = realloc(os->ops, (os->n_ops + 8) * sizeof *n);
    if (!n)
        return NULL;
    memset(n + os->n_ops, 0, 8 * sizeof *n);
    os->ops = n;
    *index = os->n_ops;
    os->n_ops += 8;
    os->ops[*index].used = true;
    return &os->ops[*index];
}

static void reply_op(scim_os *os, scim_msg *m, int32_t status)
{
    if (status != SCIM_RESP_OK)
        os->st.ops_errors++;
    scim_hist_record(os->st.op_latency, scim_kernel_now(os->k) - m->sent_at);
    scim_fabric_reply(os->f, m, SCIM_MSG_OS_RESP, scim_fabric_wire_bytes(os->f, 0), status);
}

static void finish_op(scim_os *os, sd_op *op)
{
    scim_hist_record(os->st.shootdown_latency, scim_kernel_now(os->k) - op->started);
    if (os->checker)
        scim_checker_shootdown_end(os->checker, op->checker_id);
    for (size_t i = 0; i < op->data.n; i++) {
        if (os->checker && !scim_checker_frame_free(os->checker, op->data.pfn[i], op->data.order[i]))
            break;
        scim_physmem_free(os->pm, op->data.pfn[i], op->data.order[i]);
    }
    for (size_t i = 0; i < op->tables.n; i++) {
        if (os->checker && !scim_checker_frame_free(os->checker, op->tables.pfn[i], 0))
            break;
        scim_physmem_free(os->pm, op->tables.pfn[i], 0);
        os->deferred--;
    }
    update_free(os);
    frame_list_free(&op->data);
    frame_list_free(&op->tables);
    op->used = false;
    if (op->req)
        reply_op(os, op->req, SCIM_RESP_OK);
}

typedef struct leaf {
    uint64_t va, pte;
    unsigned shift;
} leaf;

typedef struct leaf_list {
    leaf *v;
    size_t n, cap;
    bool oom;
} leaf_list;

static int collect_leaf(void *ctx, uint64_t va, uint64_t pte, unsigned shift)
{
    leaf_list *l = ctx;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        leaf *n = realloc(l->v, nc * sizeof *n);
        if (!n) {
            l->oom = true;
            return 1;
        }
        l->v = n;
        l->cap = nc;
    }
    l->v[l->n++] = (leaf){va, pte, shift};
    return 0;
}

/* munmap: clear the PTEs now, invalidate, free on completion. */
static void do_munmap(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end)
{
    leaf_list leaves = {0};
    scim_pgtable_foreach(p->pt, start, end - start, collect_leaf, &leaves);
    if (leaves.oom) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in munmap");
        return;
    }
    for (size_t i = 0; i < leaves.n; i++) {
        uint64_t size = 1ull << leaves.v[i].shift;
        if (leaves.v[i].va < start || leaves.v[i].va + size > end) {
            free(leaves.v);
            reply_op(os, m, SCIM_RESP_INVALID); /* partial large page */
            return;
        }
    }
    if (remove_regions(p, start, end) != 0) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in munmap");
        return;
    }
    if (leaves.n == 0) {
        free(leaves.v);
        reply_op(os, m, SCIM_RESP_OK);
        return;
    }
    size_t idx;
    sd_op *op = new_op(os, &idx);
    if (!op) {
        free(leaves.v);
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in munmap");
        return;
    }
    op->req = m;
    op->started = scim_kernel_now(os->k);
    if (os->checker)
        op->checker_id = scim_checker_shootdown_begin(os->checker);
    os->collect = &op->tables;
    for (size_t i = 0; i < leaves.n; i++) {
        uint64_t pa = leaves.v[i].pte & SCIM_PTE_ADDR_MASK;
        if (os->checker)
            scim_checker_stale_page(os->checker, op->checker_id, p->pasid, leaves.v[i].va, pa,
                                    leaves.v[i].shift);
        scim_pgtable_unmap(p->pt, leaves.v[i].va, NULL, NULL);
        unsigned order = leaves.v[i].shift - 12;
        os->st.frames_data -= 1ull << order;
        os->st.pages_unmapped++;
        frame_list_add(&op->data, pa >> 12, order);
    }
    os->collect = NULL;
    free(leaves.v);
    os->st.shootdowns++;
    op->pending = 1;
    scim_msg *inv = scim_msg_alloc(os->f);
    if (!inv) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory for fabric messages");
        return;
    }
    inv->type = SCIM_MSG_INV_REQ;
    inv->src = os->node;
    inv->dst = os->iommu;
    inv->pasid = p->pasid;
    inv->addr = start;
    inv->len = end - start;
    inv->tag = idx;
    inv->wire_bytes = scim_fabric_wire_bytes(os->f, 16);
    scim_fabric_send(os->f, inv);
}

static void op_exec(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    process *p = find_process(os, m->pasid);
    if (!p) {
        reply_op(os, m, SCIM_RESP_INVALID);
        return;
    }
    uint64_t start = m->addr & ~0xfffull;
    uint64_t end = (m->addr + m->len + 0xfff) & ~0xfffull;
    unsigned prot = (unsigned)(m->data & 0xff);
    bool populate = ((m->data >> 8) & 0xff) != 0;
    unsigned shift = (unsigned)((m->data >> 16) & 0xff);
    uint32_t has = (uint32_t)(m->data >> 24);
    switch ((scim_trace_op)m->flags) {
    case SCIM_OP_MMAP: {
        os->st.ops_mmap++;
        scim_err err = {0};
        if (!(has & SCIM_TRACE_HAS_PROT))
            prot = SCIM_PROT_RW;
        if (!(has & SCIM_TRACE_HAS_PAGESIZE))
            shift = 12;
        int rc = add_region(os, p, start, end - start, shift, prot, populate, &err);
        if (rc == SCIM_ENOMEM) {
            scim_kernel_fail(os->k, SCIM_ENOMEM,
                             "simulated memory exhausted by mmap(populate) of pasid %u: %s; raise "
                             "memory.size",
                             p->pasid, err.msg);
            return;
        }
        reply_op(os, m, rc ? SCIM_RESP_INVALID : SCIM_RESP_OK);
        return;
    }
    case SCIM_OP_MUNMAP:
        os->st.ops_munmap++;
        do_munmap(os, m, p, start, end);
        return;
    default:
        scim_kernel_fail(os->k, SCIM_ECONFIG,
                         "trace operation '%s' (pasid %u, va 0x%llx) is not supported by the OS model; "
                         "supported: mmap, munmap",
                         scim_trace_op_name((scim_trace_op)m->flags), m->pasid,
                         (unsigned long long)m->addr);
        scim_msg_free(os->f, m);
    }
}

static uint64_t mapped_pages_in(const process *p, uint64_t start, uint64_t end)
{
    leaf_list l = {0};
    scim_pgtable_foreach(p->pt, start, end - start, collect_leaf, &l);
    size_t n = l.n;
    free(l.v);
    return n;
}

static void on_os_req(scim_os *os, scim_msg *m)
{
    scim_time_t cost = os->p.syscall_cost;
    process *p = find_process(os, m->pasid);
    uint64_t start = m->addr & ~0xfffull, end = (m->addr + m->len + 0xfff) & ~0xfffull;
    if (p && (scim_trace_op)m->flags == SCIM_OP_MMAP && ((m->data >> 8) & 0xff)) {
        unsigned shift = ((m->data >> 24) & SCIM_TRACE_HAS_PAGESIZE) ? (unsigned)((m->data >> 16) & 0xff) : 12;
        cost += ((end - start) >> shift) * os->p.map_page_cost;
    } else if (p && (scim_trace_op)m->flags == SCIM_OP_MUNMAP) {
        cost += mapped_pages_in(p, start, end) * os->p.unmap_page_cost;
    }
    os->st.busy_ps += cost;
    m->sent_at = scim_kernel_now(os->k); /* arrival, for op.latency */
    scim_kernel_schedule(os->k, cost, SCIM_PRIO_DEFAULT, op_exec, os, (uint64_t)(uintptr_t)m);
}

static void on_inv_done(scim_os *os, scim_msg *m)
{
    sd_op *op = m->tag < os->n_ops ? &os->ops[m->tag] : NULL;
    scim_msg_free(os->f, m);
    if (!op || !op->used || op->pending == 0) {
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected invalidation completion");
        return;
    }
    if (--op->pending == 0)
        finish_op(os, op);
}

/* ---- I/O page faults ---- */

static void fault_start_next(scim_os *os);

static void fault_done(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    int32_t status = SCIM_RESP_OK;
    bool write = (m->flags & SCIM_ATSF_WRITE) != 0;
    process *p = find_process(os, m->pasid);
    const region *r = p ? find_region(p, m->addr) : NULL;
    if (!r || (write && !(r->prot & PROT_W))) {
        os->st.iopf_invalid++;
        status = SCIM_RESP_INVALID;
    } else {
        uint64_t pa;
        if (scim_pgtable_lookup(p->pt, m->addr, &pa, NULL, NULL) == 1) {
            os->st.iopf_spurious++;
        } else {
            scim_err err = {0};
            uint64_t va = m->addr & ~((1ull << r->page_shift) - 1);
            if (map_page(os, p, va, r, &err) != 0) {
                scim_kernel_fail(os->k, err.code ? err.code : SCIM_ENOMEM,
                                 "I/O page fault for pasid %u va 0x%llx could not be resolved: %s; "
                                 "raise memory.size",
                                 m->pasid, (unsigned long long)m->addr, err.msg);
                scim_msg_free(os->f, m);
                return;
            }
            os->st.iopf_mapped++;
        }
    }
    scim_hist_record(os->st.iopf_latency, scim_kernel_now(os->k) - m->sent_at);
    m->flags &= ~SCIM_PRIF_AUTO;
    scim_fabric_reply(os->f, m, SCIM_MSG_PRI_RESP, scim_fabric_wire_bytes(os->f, 0), status);
    os->busy_handlers--;
    fault_start_next(os);
}

static void fault_start_next(scim_os *os)
{
    while (os->fq_len && os->busy_handlers < os->p.fault_handlers) {
        scim_msg *m = os->faultq[os->fq_head];
        os->fq_head = (os->fq_head + 1) % os->fq_cap;
        os->fq_len--;
        os->busy_handlers++;
        os->st.busy_ps += os->p.iopf_cost;
        scim_hist_record(os->st.iopf_queue_delay, scim_kernel_now(os->k) - m->sent_at);
        scim_kernel_schedule(os->k, os->p.iopf_cost, SCIM_PRIO_DEFAULT, fault_done, os,
                             (uint64_t)(uintptr_t)m);
    }
}

static void on_pri_req(scim_os *os, scim_msg *m)
{
    os->st.iopf_requests++;
    if (os->fq_len == os->fq_cap) {
        size_t nc = os->fq_cap ? os->fq_cap * 2 : 64;
        scim_msg **n = malloc(nc * sizeof *n);
        if (!n) {
            scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory queueing page faults");
            return;
        }
        for (size_t i = 0; i < os->fq_len; i++)
            n[i] = os->faultq[(os->fq_head + i) % os->fq_cap];
        free(os->faultq);
        os->faultq = n;
        os->fq_head = 0;
        os->fq_cap = nc;
    }
    m->sent_at = scim_kernel_now(os->k); /* arrival */
    os->faultq[(os->fq_head + os->fq_len++) % os->fq_cap] = m;
    fault_start_next(os);
}

static void on_recv(void *ctx, scim_msg *m)
{
    scim_os *os = ctx;
    switch (m->type) {
    case SCIM_MSG_PRI_REQ:
        on_pri_req(os, m);
        return;
    case SCIM_MSG_OS_REQ:
        on_os_req(os, m);
        return;
    case SCIM_MSG_INV_DONE:
        on_inv_done(os, m);
        return;
    default:
        scim_kernel_fail(os->k, SCIM_EINVARIANT, "OS got an unexpected %s message from '%s'",
                         scim_msg_type_name(m->type), scim_fabric_node_name(os->f, m->src));
        scim_msg_free(os->f, m);
    }
}

/* ---- the request protocol ---- */

/* flags: op; addr, len: the range; data: prot | populate << 8 |
 * page_shift << 16 | has << 24; tag: the node of a migrate. */
void scim_os_request_encode(scim_msg *m, const scim_trace_rec *rec, uint32_t pasid)
{
    m->flags = (uint32_t)rec->op;
    m->pasid = pasid;
    m->addr = rec->addr;
    m->len = rec->size;
    m->data = (uint64_t)rec->prot | ((uint64_t)rec->populate << 8) | ((uint64_t)rec->page_shift << 16) |
              ((uint64_t)rec->has << 24);
    m->tag = rec->node;
}

/* ---- life cycle ---- */

scim_os *scim_os_create(scim_kernel *k, scim_fabric *f, scim_physmem *pm, const char *name,
                        const scim_os_params *p, scim_stats *stats, scim_err *err)
{
    if (p->fault_handlers == 0) {
        scim_err_set(err, SCIM_ERANGE, "os.fault_handlers must be at least 1");
        return NULL;
    }
    scim_os *os = calloc(1, sizeof *os);
    if (!os) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating the OS");
        return NULL;
    }
    os->k = k;
    os->f = f;
    os->pm = pm;
    os->p = *p;
    os->iommu = SCIM_NODE_NONE;
    os->pt_ops.alloc_table = pt_alloc;
    os->pt_ops.free_table = pt_free;
    uint64_t pfn;
    if (scim_physmem_alloc(pm, SCIM_PASID_DIR_ORDER, &pfn, err) != 0)
        goto fail;
    os->pasid_dir = pfn << 12;
    os->st.frames_pasid_table = 1ull << SCIM_PASID_DIR_ORDER;
    update_free(os);
    if (scim_fabric_add_node(f, name, on_recv, os, &os->node, err) != 0)
        goto fail;
    if (scim_stats_register(stats, name, scim_os_stat_decls, scim_os_stat_decl_count, &os->st, err) != 0)
        goto fail;
    return os;
fail:
    scim_os_destroy(os);
    return NULL;
}

void scim_os_destroy(scim_os *os)
{
    if (!os)
        return;
    os->checker = NULL; /* teardown: the TLBs it would scan may be gone */
    for (size_t i = 0; i < os->n_procs; i++) {
        scim_pgtable_destroy(os->procs[i].pt);
        free(os->procs[i].regions);
    }
    free(os->procs);
    for (size_t i = 0; i < os->fq_len; i++)
        scim_msg_free(os->f, os->faultq[(os->fq_head + i) % os->fq_cap]);
    free(os->faultq);
    for (size_t i = 0; i < os->n_ops; i++) {
        frame_list_free(&os->ops[i].data);
        frame_list_free(&os->ops[i].tables);
    }
    free(os->ops);
    free(os);
}

scim_node_id scim_os_node(const scim_os *os) { return os->node; }
uint64_t scim_os_pasid_dir(const scim_os *os) { return os->pasid_dir; }
void scim_os_set_iommu(scim_os *os, scim_node_id iommu) { os->iommu = iommu; }
void scim_os_set_checker(scim_os *os, scim_checker *c) { os->checker = c; }

int scim_os_add_process(scim_os *os, const char *name, uint32_t pasid, int levels, scim_err *err)
{
    if (pasid == 0 || pasid > SCIM_PASID_MAX)
        return scim_err_set(err, SCIM_ERANGE, "process '%s': pasid %u is out of range 1..%u", name, pasid,
                            SCIM_PASID_MAX);
    if (find_process(os, pasid))
        return scim_err_set(err, SCIM_EEXIST, "two processes use pasid %u; PASIDs must be unique", pasid);
    if (levels != 4 && levels != 5)
        return scim_err_set(err, SCIM_EINVAL, "process '%s': paging levels must be 4 or 5", name);
    process *n = realloc(os->procs, (os->n_procs + 1) * sizeof *n);
    if (!n)
        return scim_err_set(err, SCIM_ENOMEM, "out of host memory adding a process");
    os->procs = n;
    process *p = &os->procs[os->n_procs];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->pasid = pasid;
    p->levels = levels;
    p->pt = scim_pgtable_create(os->pm, levels, &os->pt_ops, os, err);
    if (!p->pt)
        return err && err->code ? err->code : SCIM_ENOMEM;
    os->n_procs++;
    /* Publish the address space in the PASID table the IOMMU reads. */
    uint64_t dir_entry_pa = scim_pasid_dir_entry_addr(os->pasid_dir, pasid);
    uint64_t dir_entry = scim_physmem_read64(os->pm, dir_entry_pa);
    if (!scim_pasid_entry_present(dir_entry)) {
        uint64_t pfn;
        int rc = scim_physmem_alloc(os->pm, 0, &pfn, err);
        if (rc)
            return rc;
        os->st.frames_pasid_table++;
        update_free(os);
        dir_entry = (pfn << 12) | SCIM_PASID_ENTRY_P;
        scim_physmem_write64(os->pm, dir_entry_pa, dir_entry);
    }
    scim_physmem_write64(os->pm, scim_pasid_entry_addr(scim_pasid_entry_pa(dir_entry), pasid),
                         scim_pasid_make_entry(scim_pgtable_root(p->pt), levels));
    return 0;
}

int scim_os_add_region(scim_os *os, uint32_t pasid, uint64_t va, uint64_t size, unsigned page_shift,
                       unsigned prot, bool populate, scim_err *err)
{
    process *p = find_process(os, pasid);
    if (!p)
        return scim_err_set(err, SCIM_ENOENT, "no process has pasid %u", pasid);
    return add_region(os, p, va, size, page_shift, prot, populate, err);
}

int scim_os_resolve(void *ctx, uint32_t pasid, uint64_t va, uint64_t *pa)
{
    scim_os *os = ctx;
    process *p = find_process(os, pasid);
    if (!p)
        return 0;
    return scim_pgtable_lookup(p->pt, va, pa, NULL, NULL) == 1;
}

void scim_os_frames_get(const scim_os *os, scim_os_frames *out)
{
    out->total = scim_physmem_frames_total(os->pm);
    out->free = scim_physmem_frames_free(os->pm);
    out->data = os->st.frames_data;
    out->page_tables = os->st.frames_page_tables;
    out->pasid_table = os->st.frames_pasid_table;
    out->deferred = os->deferred;
}

/* The OS operations of traces (mmap, munmap, mprotect, migrate, reclaim,
 * pin, unpin): a syscall cost plus a per-page cost, then the operation;
 * those that remove or downgrade translations run an unmap round
 * (unmap.c) and answer when it is over. Also answering OS requests, and
 * handing the scheme drivers' I/O requests to the driver. */
#include "os/os_internal.h"

#include <stdlib.h>

/* ---------- answering ---------- */

void os_reply(scim_os *os, scim_msg *m, int32_t status)
{
    if (!os_sync_flush(os, m->u.os.pasid, SK_REPLY, m, 0, status))
        os_reply_now(os, m, status);
}

void os_reply_now(scim_os *os, scim_msg *m, int32_t status)
{
    if (status != SCIM_RESP_OK)
        os->st.ops_errors++;
    scim_hist_record(os->st.op_latency, scim_kernel_now(os->k) - m->arrived);
    m->u.os_resp = (scim_os_resp){0};
    scim_port_reply(os->port, m, SCIM_MSG_OS_RESP, scim_port_wire(os->port, 0), status);
}

/* A round that only answers its request when it is over. */
static void round_answer(scim_os *os, size_t idx)
{
    sd_op *op = &os->ops[idx];
    op->used = false;
    os_reply(os, op->req, SCIM_RESP_OK);
}

/* ---------- the request ---------- */

typedef struct os_req {
    uint64_t start, end; /* the range, widened to whole pages */
    unsigned prot;
    bool populate;
    unsigned shift;      /* the page size asked for; 4 KiB if none */
    uint32_t has;        /* SCIM_TRACE_HAS_* */
} os_req;

static os_req decode(const scim_msg *m)
{
    const scim_os_req *o = &m->u.os;
    os_req r;
    r.start = os_page_down(o->addr);
    r.end = os_page_up(o->addr + o->len);
    r.prot = o->rec.prot;
    r.populate = o->rec.populate;
    r.has = o->rec.has;
    r.shift = (r.has & SCIM_TRACE_HAS_PAGESIZE) ? o->rec.page_shift : OS_PAGE_SHIFT;
    return r;
}

/* ---------- munmap ---------- */

/* All or nothing: part of a large page, or a page in transition, refuses
 * the whole range. Swapped-out pages of the range are simply forgotten. */
static bool munmap_check(scim_os *os, unmap_round *r, uint64_t start, uint64_t end, const leaf_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        uint64_t size = 1ull << l->v[i].shift;
        if (l->v[i].va < start || l->v[i].va + size > end || os_busy_get(r->p, l->v[i].va)) {
            os_reply(os, r->req, SCIM_RESP_INVALID);
            return false;
        }
    }
    if (os_remove_regions(r->p, start, end) != 0) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in munmap");
        return false;
    }
    for (uint64_t va = start; va < end; va += OS_PAGE_SIZE)
        os_forget_swapped(os, r->p, va);
    return true;
}

static bool munmap_leaf(scim_os *os, unmap_round *r, const leaf *lf)
{
    page_ref *pr = os_round_take(os, r, lf);
    if (!pr)
        return false;
    if (os_frame_list_add(&r->op->data, pr->old_pfn, os_order(lf->shift)) != 0) {
        /* the frame would stay in transit for ever */
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in munmap");
        return false;
    }
    os->st.pages_unmapped++;
    return true;
}

/* The frames are free now; a pinned frame outlives its mapping, as in
 * Linux: freed at its last unpin. */
static void munmap_done(scim_os *os, size_t idx, void *ctx)
{
    frame_list data = os->ops[idx].data;
    os->ops[idx].data = (frame_list){0};
    for (size_t i = 0; i < data.n; i++) {
        frame_ref f = data.v[i];
        if (f.order == 0 && os_pin_count(os, f.pfn)) {
            if (!scim_u64map_upsert(&os->orphans, f.pfn, 0))
                scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
            continue;
        }
        os->st.frames_transit -= 1ull << f.order;
        os_release_frame(os, f.pfn, f.order);
    }
    os_frame_list_free(&data);
    round_answer(os, idx);
}

static void do_munmap(scim_os *os, scim_msg *m, process *p, const os_req *q)
{
    os->st.ops_munmap++;
    unmap_round r = {.p = p, .req = m, .done = munmap_done};
    os_unmap_range(os, &r, q->start, q->end, "munmap", munmap_check, munmap_leaf);
}

/* ---------- mprotect ---------- */

typedef struct mprotect_round {
    unmap_round r; /* first: the leaf functions get &r */
    unsigned prot;
} mprotect_round;

static bool mprotect_check(scim_os *os, unmap_round *r, uint64_t start, uint64_t end, const leaf_list *l)
{
    if (os_protect_regions(r->p, start, end, ((const mprotect_round *)r)->prot) != 0) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory in mprotect");
        return false;
    }
    return true;
}

/* Upgrades need no shootdown (a stale read-only entry only faults);
 * downgrades do. */
static bool mprotect_leaf(scim_os *os, unmap_round *r, const leaf *lf)
{
    unsigned prot = ((const mprotect_round *)r)->prot;
    unsigned set = 0, clear = 0;
    if (prot == SCIM_PROT_RW)
        set = SCIM_PTA_WRITE | SCIM_PTA_USER;
    else if (prot == SCIM_PROT_R)
        clear = SCIM_PTA_WRITE, set = SCIM_PTA_USER;
    else
        clear = SCIM_PTA_WRITE | SCIM_PTA_USER;
    bool downgrade = (clear & lf->attrs) != 0;
    scim_pgtable_update(r->p->pt, lf->va, set, clear, NULL);
    return !downgrade || os_round_take(os, r, lf) != NULL;
}

static void mprotect_done(scim_os *os, size_t idx, void *ctx) { round_answer(os, idx); }

static void do_mprotect(scim_os *os, scim_msg *m, process *p, const os_req *q)
{
    os->st.ops_mprotect++;
    unsigned prot = (q->has & SCIM_TRACE_HAS_PROT) ? q->prot : SCIM_PROT_R;
    mprotect_round mr = {{.p = p, .req = m, .done = mprotect_done, .keep = true}, prot};
    os_unmap_range(os, &mr.r, q->start, q->end, "mprotect", mprotect_check, mprotect_leaf);
}

/* ---------- migrate ---------- */

/* Pinned, huge and in-transition pages stay where they are; without a
 * free frame, migrate what fits. */
static bool migrate_leaf(scim_os *os, unmap_round *r, const leaf *lf)
{
    uint64_t npfn;
    if (!os_leaf_movable(os, r->p, lf))
        return true;
    if (os_frame_alloc(os, r->p, 0, &npfn, NULL) != 0)
        return false;
    os_update_free(os);
    os->st.frames_transit++;
    page_ref *pr = os_round_take(os, r, lf);
    if (!pr)
        return false;
    pr->new_pfn = npfn;
    return true;
}

static void migrate_copied(void *ctx, uint64_t idx)
{
    scim_os *os = ctx;
    sd_op *op = &os->ops[idx];
    process *p = os_find_process(os, op->pasid);
    for (size_t i = 0; i < op->n_pages; i++) {
        page_ref *pr = &op->pages[i];
        const region *r = os_find_region(p, pr->va);
        scim_err err = {0};
        os->st.frames_transit -= 2; /* old and new frame */
        if (r && os_map_new_page(os, p, pr->va, r, pr->new_pfn, true, &err) == 0) {
            os->st.pages_migrated++;
        } else {
            os_frame_give_back(os, pr->new_pfn, 0);
            os_update_free(os);
        }
        os_release_frame(os, pr->old_pfn, 0);
        os_busy_clear(os, p, pr->va);
    }
    round_answer(os, idx);
}

/* The old translations are gone everywhere: copy the pages. */
static void migrate_done(scim_os *os, size_t idx, void *ctx)
{
    os_spend(os, os->ops[idx].n_pages * os->p.migrate_page_cost, migrate_copied, os, idx);
}

static void do_migrate(scim_os *os, scim_msg *m, process *p, const os_req *q)
{
    os->st.ops_migrate++;
    unmap_round r = {.p = p, .req = m, .done = migrate_done, .busy = BUSY_MIGRATE};
    if (os_unmap_range(os, &r, q->start, q->end, "migrate", NULL, migrate_leaf))
        os_maybe_reclaim(os);
}

/* ---------- pin, unpin ---------- */

/* Pins are counted per frame (os_pin_frame) and remembered per page, in
 * p->pinned_at: the count is in the low bits, the frame above them. */
#define PIN_COUNT_BITS 20
#define PIN_COUNT_MASK ((1ull << PIN_COUNT_BITS) - 1)

static bool pin_page(scim_os *os, process *p, uint64_t va, uint64_t pfn)
{
    uint64_t *rec = scim_u64map_get(&p->pinned_at, os_vpn(va));
    if (rec && (*rec >> PIN_COUNT_BITS != pfn || (*rec & PIN_COUNT_MASK) == PIN_COUNT_MASK))
        rec = NULL; /* another frame still pinned here (unmapped, remapped): unpin finds the mapped one */
    else if (!rec && !(rec = scim_u64map_upsert(&p->pinned_at, os_vpn(va), pfn << PIN_COUNT_BITS))) {
        scim_kernel_fail(os->k, SCIM_ENOMEM, "out of host memory");
        return false;
    }
    if (!os_pin_frame(os, pfn))
        return false;
    if (rec)
        (*rec)++;
    return true;
}

/* The frame pinned at va (mapped or not any more), else the mapped one. */
static void unpin_page(scim_os *os, process *p, uint64_t va)
{
    uint64_t *rec = scim_u64map_get(&p->pinned_at, os_vpn(va));
    if (rec) {
        uint64_t pfn = *rec >> PIN_COUNT_BITS;
        if (--*rec & PIN_COUNT_MASK) {
            os_unpin_frame(os, pfn);
            return;
        }
        scim_u64map_remove(&p->pinned_at, os_vpn(va));
        os_unpin_frame(os, pfn);
        return;
    }
    uint64_t pa;
    if (scim_pgtable_lookup(p->pt, va, &pa, NULL, NULL) == 1)
        os_unpin_frame(os, os_pfn(pa));
}

int os_pin_range(scim_os *os, process *p, uint64_t start, uint64_t end, bool pin)
{
    for (uint64_t va = start; va < end; va += OS_PAGE_SIZE) {
        if (!pin) {
            unpin_page(os, p, va);
            continue;
        }
        uint64_t pa;
        if (scim_pgtable_lookup(p->pt, va, &pa, NULL, NULL) != 1) {
            const region *r = os_find_region(p, va);
            if (!r || r->page_shift != OS_PAGE_SHIFT || os_busy_get(p, va) ||
                scim_u64map_get(&p->swapped, os_vpn(va)) || os_map_new_page(os, p, va, r, 0, false, NULL) != 0) {
                /* all or nothing: drop the pins this operation took */
                for (uint64_t v = start; v < va; v += OS_PAGE_SIZE)
                    unpin_page(os, p, v);
                return SCIM_RESP_INVALID;
            }
            scim_pgtable_lookup(p->pt, va, &pa, NULL, NULL);
        }
        if (!pin_page(os, p, va, os_pfn(pa)))
            return SCIM_ENOMEM;
    }
    return SCIM_RESP_OK;
}

static void pin_range(scim_os *os, scim_msg *m, process *p, uint64_t start, uint64_t end, bool pin)
{
    int rc = os_pin_range(os, p, start, end, pin);
    if (rc == SCIM_ENOMEM)
        return; /* the run has stopped */
    os_reply(os, m, rc);
    if (rc == SCIM_RESP_OK)
        os_maybe_reclaim(os);
}

static void do_pin(scim_os *os, scim_msg *m, process *p, const os_req *q)
{
    os->st.ops_pin++;
    pin_range(os, m, p, q->start, q->end, true);
}

static void do_unpin(scim_os *os, scim_msg *m, process *p, const os_req *q)
{
    os->st.ops_unpin++;
    pin_range(os, m, p, q->start, q->end, false);
}

/* ---------- mmap ---------- */

static void do_mmap(scim_os *os, scim_msg *m, process *p, const os_req *q)
{
    os->st.ops_mmap++;
    scim_err err = {0};
    unsigned prot = (q->has & SCIM_TRACE_HAS_PROT) ? q->prot : SCIM_PROT_RW;
    int rc = os_add_region(os, p, q->start, q->end - q->start, q->shift, prot, q->populate, &err);
    if (rc == SCIM_ENOMEM) {
        scim_kernel_fail(os->k, SCIM_ENOMEM,
                         "simulated memory exhausted by mmap(populate) of pasid %u: %s; raise memory.size", p->pasid,
                         err.msg);
        return;
    }
    os_reply(os, m, rc ? SCIM_RESP_INVALID : SCIM_RESP_OK);
    os_maybe_reclaim(os);
}

/* ---------- executing ---------- */

/* reclaim: reclaim.c */
static void do_reclaim(scim_os *os, scim_msg *m, process *p, const os_req *q)
{
    os->st.ops_reclaim++;
    os_do_reclaim(os, m, p, q->start, q->end);
}

typedef void (*op_fn)(scim_os *os, scim_msg *m, process *p, const os_req *q);

static const op_fn op_fns[SCIM_OP_COUNT_] = {
    [SCIM_OP_MMAP] = do_mmap,       [SCIM_OP_MUNMAP] = do_munmap, [SCIM_OP_MPROTECT] = do_mprotect,
    [SCIM_OP_MIGRATE] = do_migrate, [SCIM_OP_RECLAIM] = do_reclaim, [SCIM_OP_PIN] = do_pin,
    [SCIM_OP_UNPIN] = do_unpin,
};

static void op_exec(void *ctx, uint64_t arg)
{
    scim_os *os = ctx;
    scim_msg *m = (scim_msg *)(uintptr_t)arg;
    process *p = os_find_process(os, m->u.os.pasid);
    scim_trace_op op = m->u.os.rec.op;
    if (!p || (unsigned)op >= SCIM_OP_COUNT_ || !op_fns[op]) {
        os_reply(os, m, SCIM_RESP_INVALID);
        return;
    }
    os_req q = decode(m);
    op_fns[op](os, m, p, &q);
}

static int count_leaf(void *ctx, uint64_t va, uint64_t pa, unsigned shift, unsigned attrs)
{
    (void)va, (void)pa, (void)shift, (void)attrs;
    ++*(uint64_t *)ctx;
    return 0;
}

/* Counted without a list: a list that could not grow would undercount
 * (and so undercharge) without a word. */
static uint64_t mapped_pages_in(const process *p, uint64_t start, uint64_t end)
{
    uint64_t n = 0;
    scim_pgtable_foreach(p->pt, start, end - start, count_leaf, &n);
    return n;
}

/* The CPU time of an operation before it takes effect. */
static scim_time_t op_cost(const scim_os *os, const scim_msg *m, const process *p)
{
    scim_time_t cost = os->p.syscall_cost;
    if (!p)
        return cost;
    os_req q = decode(m);
    uint64_t pages = (q.end - q.start) / OS_PAGE_SIZE;
    switch (m->u.os.rec.op) {
    case SCIM_OP_MMAP:
        if (q.populate)
            cost += ((q.end - q.start) >> q.shift) * os->p.map_page_cost;
        break;
    case SCIM_OP_MUNMAP: cost += mapped_pages_in(p, q.start, q.end) * os->p.unmap_page_cost; break;
    case SCIM_OP_MPROTECT: cost += mapped_pages_in(p, q.start, q.end) * os->p.protect_page_cost; break;
    case SCIM_OP_PIN: cost += pages * os->p.pin_page_cost; break;
    case SCIM_OP_UNPIN: cost += pages * os->p.unpin_page_cost; break;
    default: break;
    }
    return cost;
}

void os_on_os_req(scim_os *os, scim_msg *m)
{
    switch (m->u.os.op) {
    case SCIM_OS_CPU_FAULT:
        os_on_cpu_fault(os, m);
        return;
    case SCIM_OS_BACKUP:
        os_on_backup(os, m);
        return;
    case SCIM_OS_IO_PIN:
    case SCIM_OS_IO_UNPIN:
    case SCIM_OS_IO_MAP:
    case SCIM_OS_IO_UNMAP:
        if (os->io_ops)
            os->io_ops->submit(os->io_ctx, m);
        else
            os_reply(os, m, SCIM_RESP_INVALID); /* no driver: no device is bound to scheme pin or iommu-map */
        return;
    default:
        break;
    }
    scim_time_t cost = op_cost(os, m, os_find_process(os, m->u.os.pasid));
    os_spend(os, cost, op_exec, os, (uint64_t)(uintptr_t)m);
}

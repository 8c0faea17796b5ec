/* Shared hardware page walker. Modelling notes in mmu/walker.h. */
#include "mmu/walker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fifo.h"
#include "core/kclock.h"
#include "core/kfifo.h"
#include "core/rng.h"
#include "mmu/pte_ad.h"

const scim_stat_decl scim_walker_stat_decls[] = {
    {"walks", SCIM_STAT_COUNTER, "count", "Page walks started.", offsetof(walker_stats, walks)},
    {"walk.restarts", SCIM_STAT_COUNTER, "count", "Walks restarted because an invalidation overlapped them.",
     offsetof(walker_stats, restarts)},
    {"walk.pte_reads", SCIM_STAT_COUNTER, "count", "Page-table entry reads sent to memory.",
     offsetof(walker_stats, pte_reads)},
    {"walk.latency", SCIM_STAT_HIST, "ps", "Duration of a walk, from walker start to result.",
     offsetof(walker_stats, latency)},
    {"walk.waits", SCIM_STAT_COUNTER, "count", "Walks that found every walker busy.", offsetof(walker_stats, waits)},
    {"walk.wait", SCIM_STAT_HIST, "ps", "Time a walk waited for a free walker (0 if none).",
     offsetof(walker_stats, wait)},
};
const size_t scim_walker_stat_decl_count = SCIM_COUNT_OF(scim_walker_stat_decls);

const scim_stat_decl scim_walker_nested_stat_decls[] = {
    {"walk.nested", SCIM_STAT_COUNTER, "count", "Two-stage walks started (a process of a VM; these statistics exist only in systems with vms).",
     offsetof(nested_stats, walks)},
    {"walk.s2_reads", SCIM_STAT_COUNTER, "count",
     "Stage-2 entries read by nested walks (included in walk.pte_reads).", offsetof(nested_stats, s2_reads)},
    {"walk.s2_faults", SCIM_STAT_COUNTER, "count",
     "Nested walks that ended at a stage-2 entry not present or malformed.", offsetof(nested_stats, s2_faults)},
};
const size_t scim_walker_nested_stat_decl_count = SCIM_COUNT_OF(scim_walker_nested_stat_decls);

static const char *const pwc_names[MAX_LEVELS] = {NULL, "pwc.pde", "pwc.pdpte", "pwc.pml4e", "pwc.pml5e"};

/* Read the entry of the current level from the table at memory address table_pa. */
static void issue_read(scim_walker *w, walk *k, uint64_t table_pa)
{
    k->reads++;
    w->st.pte_reads++;
    scim_pte_read r = {.pa = scim_pt_entry_addr(k->fmt, table_pa, k->va, k->level), .pasid = k->pasid,
                       .level = k->level, .fmt = k->fmt->id, .set_ad = true, .write = k->write};
    w->reader->read(w->reader_cookie, (uint32_t)(k - w->walks), &r);
}

static void s2_translate(scim_walker *w, walk *k, uint64_t gpa, bool final);

/* The table's memory address comes from stage 2 in a nested walk, else
 * from the hook, now or later. */
static void read_entry(scim_walker *w, walk *k)
{
    if (k->s2fmt && !k->table_host) {
        s2_translate(w, k, k->table, false);
        return;
    }
    uint64_t pa = k->table;
    if (w->xlate && !w->xlate->table_addr(w->xlate_cookie, (uint32_t)(k - w->walks), k->pasid, k->table, &pa))
        return; /* scim_walker_table_ready() goes on */
    issue_read(w, k, pa);
}

/* The fabric reader: a PTE read is a memory request from the owner's port. */
static void port_read(void *cookie, uint32_t walk_index, const scim_pte_read *r)
{
    scim_walker *w = cookie;
    scim_msg *m = scim_port_msg(w->port, SCIM_MSG_MEM_READ, w->mem);
    if (!m)
        return;
    m->u.mem = (scim_mem_req){.pa = r->pa, .len = SCIM_PTE_BYTES, .level = (uint8_t)r->level, .fmt = r->fmt,
                              .pte = true, .set_ad = r->set_ad, .walk_write = r->write};
    scim_port_request(w->port, w->client, walk_index, m);
}

static void port_response(void *ctx, scim_msg *m)
{
    scim_walker *w = ctx;
    uint64_t value = m->u.mem_resp.value;
    uint32_t walk_index = (uint32_t)m->tag;
    scim_port_free(w->port, m);
    scim_walker_pte(w, walk_index, value);
}

static const scim_pte_reader_ops port_reader = {.read = port_read};

int scim_walker_attach_port(scim_walker *w, scim_port *port, scim_node_id mem, scim_err *err)
{
    int c = scim_port_add_client(port, port_response, w);
    if (c < 0)
        return scim_err_set(err, c, "port '%s' has no room for a walker client", scim_port_name(port));
    w->port = port;
    w->client = c;
    w->mem = mem;
    scim_walker_set_reader(w, &port_reader, w);
    return 0;
}

void scim_walker_set_reader(scim_walker *w, const scim_pte_reader_ops *ops, void *cookie)
{
    w->reader = ops;
    w->reader_cookie = cookie;
}

void scim_walker_set_table_xlate(scim_walker *w, const scim_pt_xlate_ops *ops, void *cookie)
{
    w->xlate = ops;
    w->xlate_cookie = cookie;
}

/* The caches give the deepest table known; then memory. */
static void begin(void *ctx, uint64_t wi)
{
    scim_walker *w = ctx;
    walk *k = &w->walks[wi];
    k->poisoned = false;
    k->nocache = false;
    k->perms = SCIM_PERM_R | SCIM_PERM_W;
    k->table = k->root;
    k->in_s2 = false;
    k->level = pwc_deepest(w, k->pasid, k->va, k->fmt, &k->table, &k->perms);
    /* a cached pointer is host-physical in a nested walk too (combined entries) */
    k->table_host = k->level < k->fmt->levels;
    read_entry(w, k);
}

static void start(scim_walker *w, size_t wi, const queued *q)
{
    walk *k = &w->walks[wi];
    scim_time_t now = scim_kernel_now(w->k);
    scim_hist_record(w->st.wait, now - q->at);
    /* What is read before begin() and the reads set the rest: an
     * invalidation looks at a started walk's level (0 until it begins);
     * the stage-2 fields are written by s2_translate before any use. */
    k->busy = true;
    k->poisoned = k->nocache = false;
    k->write = q->write;
    k->level = 0;
    k->fmt = q->fmt;
    k->pasid = q->pasid;
    k->reads = 0;
    k->va = q->va;
    k->root = q->root;
    k->cookie = q->cookie;
    k->started = now;
    k->s2fmt = q->s2.fmt;
    k->s2root = q->s2.root;
    k->vmid = q->s2.vmid;
    w->st.walks++;
    if (k->s2fmt)
        w->nst.walks++;
    /* often the run's next event: held, run at once when it is (core/kfifo.h) */
    scim_kernel_fifo_at_next(w->k, w->begin_fifo, scim_kernel_time(w->k) + w->p.pwc_latency, SCIM_PRIO_DEFAULT, wi);
}

bool scim_walker_can_accept(const scim_walker *w)
{
    for (size_t i = 0; i < w->p.walkers; i++)
        if (!w->walks[i].busy)
            return true;
    return w->p.queue == 0 || scim_fifo_len(&w->q) < w->p.queue;
}

static bool walk_or_queue(scim_walker *w, const queued *q)
{
    for (size_t i = 0; i < w->p.walkers; i++) {
        if (!w->walks[i].busy) {
            start(w, i, q);
            return true;
        }
    }
    if (w->p.queue && scim_fifo_len(&w->q) >= w->p.queue)
        return false;
    w->st.waits++;
    if (!scim_fifo_push(&w->q, q))
        scim_kernel_fail(w->k, SCIM_ENOMEM, "out of host memory queueing walks");
    return true;
}

bool scim_walker_walk(scim_walker *w, uint32_t pasid, uint64_t va, bool write, uint64_t root,
                      const scim_pt_format *fmt, uint64_t cookie)
{
    queued q = {.pasid = pasid, .write = write, .fmt = fmt, .va = va, .root = root, .cookie = cookie,
                .at = scim_kernel_now(w->k)};
    return walk_or_queue(w, &q);
}

bool scim_walker_walk_nested(scim_walker *w, uint32_t pasid, uint64_t va, bool write, uint64_t root,
                             const scim_pt_format *fmt, const scim_stage2 *s2, uint64_t cookie)
{
    queued q = {.pasid = pasid, .write = write, .fmt = fmt, .va = va, .root = root, .cookie = cookie,
                .at = scim_kernel_now(w->k), .s2 = *s2};
    return walk_or_queue(w, &q);
}

static void finish(scim_walker *w, walk *k, scim_walk_status status, uint64_t page_pa, unsigned shift)
{
    scim_hist_record(w->st.latency, scim_kernel_now(w->k) - k->started);
    scim_walk_result r = {.status = status, .stage = (uint8_t)(status == SCIM_WALK_OK ? 0 : k->in_s2 ? 2 : 1),
                          .page_pa = page_pa, .shift = shift, .perms = status == SCIM_WALK_OK ? k->perms : 0,
                          .reads = k->reads};
    if (status != SCIM_WALK_OK && k->in_s2)
        w->nst.s2_faults++;
    uint64_t cookie = k->cookie;
    k->busy = false;
    size_t wi = (size_t)(k - w->walks);
    queued q;
    if (scim_fifo_pop(&w->q, &q))
        start(w, wi, &q);
    w->done(w->owner, cookie, &r);
}

/* A walk an invalidation overlapped starts again from the caches. */
static bool restarted(scim_walker *w, walk *k)
{
    if (!k->poisoned)
        return false;
    w->st.restarts++;
    scim_kernel_fifo_at(w->k, w->begin_fifo, scim_kernel_time(w->k) + w->p.pwc_latency, SCIM_PRIO_DEFAULT,
                        (uint64_t)(k - w->walks));
    return true;
}

void scim_walker_table_ready(scim_walker *w, uint32_t walk_index, uint64_t pa)
{
    walk *k = &w->walks[walk_index];
    if (!restarted(w, k))
        issue_read(w, k, pa);
}

static void s2_pte(scim_walker *w, walk *k, uint64_t pte);

void scim_walker_pte(scim_walker *w, uint32_t walk_index, uint64_t pte)
{
    walk *k = &w->walks[walk_index];
    if (restarted(w, k))
        return;
    if (k->in_s2) {
        s2_pte(w, k, pte);
        return;
    }
    scim_pte_info e;
    scim_pte_kind kind = s1_entry(k->fmt, pte, k->level, &k->perms, &e);
    if (kind == SCIM_PTE_NOT_PRESENT) {
        finish(w, k, SCIM_WALK_NOT_PRESENT, 0, 0);
        return;
    }
    if (kind == SCIM_PTE_RESERVED) {
        finish(w, k, SCIM_WALK_RESERVED, 0, 0);
        return;
    }
    if (kind == SCIM_PTE_TABLE) {
        int l = k->level - 1;
        if (k->s2fmt) { /* the pointer is cached once stage 2 gives its host address */
            k->level = l;
            k->table = e.addr;
            k->table_host = false;
            s2_translate(w, k, e.addr, false);
            return;
        }
        if (!k->nocache)
            pwc_fill(w, l, k->pasid, k->fmt, k->va, k->perms, e.addr);
        k->level = l;
        k->table = e.addr;
        read_entry(w, k);
        return;
    }
    if (k->s2fmt) { /* the final guest-physical address through stage 2 */
        k->s1shift = e.shift;
        s2_translate(w, k, e.addr + scim_page_offset(k->va, e.shift), true);
        return;
    }
    finish(w, k, SCIM_WALK_OK, e.addr, e.shift);
}

/* ---------- the second stage of a nested walk ---------- */

static void issue_s2_read(scim_walker *w, walk *k)
{
    k->reads++;
    w->st.pte_reads++;
    w->nst.s2_reads++;
    scim_pte_read r = {.pa = scim_pt_entry_addr(k->s2fmt, k->s2table, k->gpa, k->s2level), .pasid = k->pasid,
                       .level = k->s2level, .fmt = k->s2fmt->id, .set_ad = true,
                       .write = k->s2_final && k->write};
    w->reader->read(w->reader_cookie, (uint32_t)(k - w->walks), &r);
}

/* gpa is at host address hpa with stage-2 rights perms: read the guest
 * table there, or end the walk with the combined translation. */
static void s2_done(scim_walker *w, walk *k, uint64_t hpa, unsigned perms, unsigned shift)
{
    k->in_s2 = false;
    if (k->s2_final) {
        k->perms &= perms;
        unsigned s = k->s1shift < shift ? k->s1shift : shift;
        finish(w, k, SCIM_WALK_OK, scim_page_base(hpa, s), s);
        return;
    }
    uint64_t table = scim_page_base(hpa, SCIM_SHIFT_4K);
    int l = k->level;
    if (l < k->fmt->levels && !k->nocache) /* a combined entry: the table's host address */
        pwc_fill(w, l, k->pasid, k->fmt, k->va, k->perms, table);
    k->table = table;
    k->table_host = true;
    issue_read(w, k, table);
}

static void s2_translate(scim_walker *w, walk *k, uint64_t gpa, bool final)
{
    k->gpa = gpa;
    k->s2_final = final;
    if (!scim_pt_va_valid(k->s2fmt, gpa)) {
        /* beyond the stage-2 input addresses (RISC-V G-stage: bits 63:41 or
         * 63:50 not zero, a guest-page fault, Privileged spec 8.5.1; EPT:
         * above 48 bits): no entry read; not a page the hypervisor could map */
        k->in_s2 = true;
        finish(w, k, SCIM_WALK_RESERVED, 0, 0);
        return;
    }
    scim_tlb_entry e;
    if (w->s2tlb && scim_tlb_lookup(w->s2tlb, k->vmid, scim_pfn_addr(scim_pfn(gpa)), &e) == 1) {
        s2_done(w, k, scim_pfn_addr(e.pfn) + scim_page_offset(gpa, SCIM_SHIFT_4K), e.perms, SCIM_SHIFT_4K);
        return;
    }
    k->in_s2 = true;
    k->s2level = k->s2fmt->levels;
    k->s2table = k->s2root;
    k->s2perms = SCIM_PERM_R | SCIM_PERM_W;
    for (int l = 1; l < k->s2fmt->levels; l++) {
        if (w->s2pwc[l] && scim_tlb_lookup(w->s2pwc[l], k->vmid, pwc_key(k->s2fmt, gpa, l), &e) == 1) {
            k->s2level = l;
            k->s2table = scim_pfn_addr(e.pfn);
            k->s2perms = e.perms;
            break;
        }
    }
    issue_s2_read(w, k);
}

static void s2_pte(scim_walker *w, walk *k, uint64_t pte)
{
    scim_pte_info e;
    k->s2fmt->decode(pte, k->s2level, &e);
    if (e.kind == SCIM_PTE_NOT_PRESENT || e.kind == SCIM_PTE_RESERVED) {
        finish(w, k, e.kind == SCIM_PTE_RESERVED ? SCIM_WALK_RESERVED : SCIM_WALK_NOT_PRESENT, 0, 0);
        return;
    }
    k->s2perms &= e.perms;
    if (e.kind == SCIM_PTE_TABLE) {
        int l = k->s2level - 1;
        if (w->s2pwc[l] && !k->nocache) { /* stage-2 tables live as long as the VM: never stale */
            scim_tlb_entry c = {.pasid = k->vmid, .page_shift = SCIM_SHIFT_4K, .perms = (uint8_t)k->s2perms,
                                .vpn = scim_vpn(pwc_key(k->s2fmt, k->gpa, l)), .pfn = scim_pfn(e.addr), .aux = 0};
            scim_tlb_insert(w->s2pwc[l], &c, NULL);
        }
        k->s2level--;
        k->s2table = e.addr;
        issue_s2_read(w, k);
        return;
    }
    uint64_t hpa = e.addr + scim_page_offset(k->gpa, e.shift);
    if (w->s2tlb && !k->nocache) { /* 4 KiB entries whatever the stage-2 page */
        scim_tlb_entry c = {.pasid = k->vmid, .page_shift = SCIM_SHIFT_4K, .perms = (uint8_t)k->s2perms,
                            .vpn = scim_vpn(k->gpa), .pfn = scim_pfn(hpa), .aux = 0};
        scim_tlb_insert(w->s2tlb, &c, NULL);
    }
    s2_done(w, k, hpa, k->s2perms, e.shift);
}

void scim_walker_invalidate_s2tlb(scim_walker *w, uint32_t vmid)
{
    if (!w->s2tlb)
        return;
    scim_inv_scope vm = {SCIM_INV_PASID, vmid, 0, 0};
    scim_tlb_invalidate_scope(w->s2tlb, &vm);
    /* a nested walk of the VM in flight may have read a stage-2 entry the
     * hypervisor changed: it restarts */
    for (size_t i = 0; i < w->p.walkers; i++)
        if (w->walks[i].busy && w->walks[i].s2fmt && w->walks[i].vmid == vmid)
            w->walks[i].poisoned = true;
}

/* Does the range of s meet the region mapped by the level-`level` table on
 * va's path (2 MiB for a last-level table of 4 KiB pages)? */
static bool range_reaches_table(const scim_inv_scope *s, const scim_pt_format *f, uint64_t va, int level)
{
    if (s->kind != SCIM_INV_RANGE)
        return true;
    unsigned shift = scim_pt_level_shift(f, level + 1);
    uint64_t base = shift >= 64 ? 0 : va & ~((1ull << shift) - 1);
    uint64_t last = shift >= 64 ? UINT64_MAX : base + ((1ull << shift) - 1);
    uint64_t s_last = s->addr + s->len - 1 < s->addr ? UINT64_MAX : s->addr + s->len - 1;
    return s->len && base <= s_last && s->addr <= last;
}

void scim_walker_invalidate(scim_walker *w, const scim_inv_scope *s)
{
    /* Cached table pointers are dropped for the whole PASID whatever the
     * range: a range's tables may be freed with it (SDM 4.10.4.1). */
    scim_inv_scope whole = {s->kind == SCIM_INV_GLOBAL ? SCIM_INV_GLOBAL : SCIM_INV_PASID, s->pasid, 0, 0};
    for (int l = 1; l < MAX_LEVELS; l++)
        scim_tlb_invalidate_scope(w->pwc[l], &whole);
    if (s->kind == SCIM_INV_GLOBAL) {
        scim_tlb_invalidate_scope(w->s2tlb, s);
        for (int l = 1; l < MAX_LEVELS; l++)
            scim_tlb_invalidate_scope(w->s2pwc[l], s);
    }
    /* Walks in flight that the scope covers restart. Those of the same
     * PASID it does not cover go on; but if the range reaches into the
     * region of the table a walk is reading, that table (or one below it)
     * may be freed with the range, so the walk caches no pointer from here
     * on (else it would put back a pointer the invalidation just dropped).
     * Tables whose region the range misses cannot be emptied by it. */
    for (size_t i = 0; i < w->p.walkers; i++) {
        walk *k = &w->walks[i];
        if (!k->busy)
            continue;
        if (scim_inv_covers(s, k->pasid, k->va))
            k->poisoned = true;
        else if (scim_inv_covers(&whole, k->pasid, k->va) && range_reaches_table(s, k->fmt, k->va, k->level))
            k->nocache = true;
    }
}

size_t scim_walker_caches(const scim_walker *w, const scim_tlb **out, const char **names, size_t max)
{
    size_t n = 0;
    for (int l = 1; l < MAX_LEVELS && n < max; l++) {
        if (w->pwc[l]) {
            out[n] = w->pwc[l];
            names[n++] = pwc_names[l];
        }
    }
    return n;
}

uint64_t scim_walker_busy(const scim_walker *w)
{
    uint64_t n = scim_fifo_len(&w->q);
    for (size_t i = 0; i < w->p.walkers; i++)
        n += w->walks[i].busy;
    return n;
}

scim_walker *scim_walker_create(scim_kernel *k, const char *prefix, const scim_walker_params *p,
                                scim_walk_done_fn done, void *owner, scim_stats *stats, scim_err *err)
{
    if (p->walkers == 0) {
        scim_err_set(err, SCIM_ERANGE, "%s: walkers must be at least 1", prefix);
        return NULL;
    }
    scim_walker *w = calloc(1, sizeof *w);
    if (!w || !(w->walks = calloc(p->walkers, sizeof *w->walks))) {
        free(w);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating walkers");
        return NULL;
    }
    w->k = k;
    w->mem = SCIM_NODE_NONE;
    if ((w->begin_fifo = scim_kernel_fifo_create(k, begin, w)) < 0) {
        free(w->walks);
        free(w);
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating walkers");
        return NULL;
    }
    w->p = *p;
    w->done = done;
    w->owner = owner;
    scim_fifo_init(&w->q, sizeof(queued));
    char name[128];
    for (int l = 1; p->pwc_entries && l < MAX_LEVELS; l++) {
        snprintf(name, sizeof name, "%s.%s", prefix, pwc_names[l]);
        scim_tlb_params tp = {.entries = p->pwc_entries, .ways = p->pwc_entries, .repl = SCIM_REPL_LRU,
                              .page_sizes = SCIM_PAGE_4K, .seed = scim_seed_for(p->seed, name)};
        if (!(w->pwc[l] = scim_tlb_create(&tp, err)))
            goto fail;
        if (scim_stats_register(stats, name, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                                (void *)scim_tlb_counters(w->pwc[l]), err))
            goto fail;
    }
    if (scim_stats_register(stats, prefix, scim_walker_stat_decls, scim_walker_stat_decl_count, &w->st, err))
        goto fail;
    if (p->nested && scim_stats_register(stats, prefix, scim_walker_nested_stat_decls,
                                         scim_walker_nested_stat_decl_count, &w->nst, err))
        goto fail;
    if (p->nested && p->s2tlb_entries) {
        snprintf(name, sizeof name, "%s.s2tlb", prefix);
        scim_tlb_params tp = {.entries = p->s2tlb_entries, .ways = p->s2tlb_entries, .repl = SCIM_REPL_LRU,
                              .page_sizes = SCIM_PAGE_4K, .seed = scim_seed_for(p->seed, name)};
        if (!(w->s2tlb = scim_tlb_create(&tp, err)) ||
            scim_stats_register(stats, name, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                                (void *)scim_tlb_counters(w->s2tlb), err))
            goto fail;
    }
    for (int l = 1; p->nested && p->s2pwc_entries && l < MAX_LEVELS; l++) {
        snprintf(name, sizeof name, "%s.s2%s", prefix, pwc_names[l]);
        scim_tlb_params tp = {.entries = p->s2pwc_entries, .ways = p->s2pwc_entries, .repl = SCIM_REPL_LRU,
                              .page_sizes = SCIM_PAGE_4K, .seed = scim_seed_for(p->seed, name)};
        if (!(w->s2pwc[l] = scim_tlb_create(&tp, err)) ||
            scim_stats_register(stats, name, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                                (void *)scim_tlb_counters(w->s2pwc[l]), err))
            goto fail;
    }
    return w;
fail:
    scim_walker_destroy(w);
    return NULL;
}

void scim_walker_destroy(scim_walker *w)
{
    if (!w)
        return;
    for (int l = 0; l < MAX_LEVELS; l++)
        scim_tlb_destroy(w->pwc[l]);
    scim_tlb_destroy(w->s2tlb);
    for (int l = 0; l < MAX_LEVELS; l++)
        scim_tlb_destroy(w->s2pwc[l]);
    free(w->walks);
    scim_fifo_free(&w->q);
    free(w);
}

void scim_walker_set_memory(scim_walker *w, scim_node_id mem) { w->mem = mem; }

/* Shared hardware page walker. Modelling notes in include/scimitar/walker.h. */
#include "mmu/walker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/pagetable.h"

#define MAX_LEVELS 5

typedef struct walk {
    bool busy;
    bool poisoned;
    bool write;
    int level;
    int levels;
    unsigned perms;
    uint32_t pasid;
    uint32_t reads;
    uint64_t va;
    uint64_t root;
    uint64_t table;
    uint64_t cookie;
    scim_time_t started;
} walk;

typedef struct queued {
    uint32_t pasid;
    bool write;
    int levels;
    uint64_t va, root, cookie;
    scim_time_t at;
} queued;

typedef struct walker_stats {
    uint64_t walks;
    uint64_t restarts;
    uint64_t pte_reads;
    uint64_t waits;
    scim_hist *latency;
    scim_hist *wait;
} walker_stats;

struct scim_walker {
    scim_kernel *k;
    scim_fabric *f;
    scim_node_id self, mem;
    scim_walker_params p;
    scim_walk_done_fn done;
    void *owner;
    walk *walks;
    scim_tlb *pwc[MAX_LEVELS]; /* pwc[l]: pointer to a level-l table, keyed by va >> (12 + 9 l) */
    queued *q;
    size_t q_head, q_len, q_cap;
    walker_stats st;
};

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

static const char *const pwc_names[MAX_LEVELS] = {NULL, "pwc.pde", "pwc.pdpte", "pwc.pml4e", "pwc.pml5e"};

static inline uint64_t pwc_key(uint64_t va, int level) { return (va >> (12 + 9 * level)) << 12; }

static void read_entry(scim_walker *w, walk *k)
{
    k->reads++;
    w->st.pte_reads++;
    scim_msg *m = scim_msg_alloc(w->f);
    if (!m) {
        scim_kernel_fail(w->k, SCIM_ENOMEM, "out of host memory for fabric messages");
        return;
    }
    m->type = SCIM_MSG_MEM_READ;
    m->src = w->self;
    m->dst = w->mem;
    m->addr = scim_pte_addr(k->table, k->va, k->level);
    m->len = 8;
    m->pasid = k->pasid;
    m->flags = SCIM_MEMF_PTE | SCIM_MEMF_SET_AD | SCIM_MEMF_LEVEL(k->level) | (k->write ? SCIM_MEMF_WRITE : 0);
    m->tag = SCIM_WALK_TAG | (uint64_t)(k - w->walks);
    m->wire_bytes = scim_fabric_wire_bytes(w->f, 0);
    scim_fabric_send(w->f, m);
}

/* The caches give the deepest table known; then memory. */
static void begin(void *ctx, uint64_t wi)
{
    scim_walker *w = ctx;
    walk *k = &w->walks[wi];
    k->poisoned = false;
    k->perms = SCIM_PERM_R | SCIM_PERM_W;
    k->level = k->levels;
    k->table = k->root;
    for (int l = 1; l < k->levels; l++) {
        scim_tlb_entry e;
        if (w->pwc[l] && scim_tlb_lookup(w->pwc[l], k->pasid, pwc_key(k->va, l), &e) == 1) {
            k->level = l;
            k->table = e.pfn << 12;
            k->perms = e.perms; /* the rights of the levels above, cached with the pointer */
            break;
        }
    }
    read_entry(w, k);
}

static void start(scim_walker *w, size_t wi, uint32_t pasid, uint64_t va, bool write, uint64_t root, int levels,
                  uint64_t cookie, scim_time_t queued_at)
{
    walk *k = &w->walks[wi];
    scim_time_t now = scim_kernel_now(w->k);
    scim_hist_record(w->st.wait, now - queued_at);
    *k = (walk){.busy = true, .write = write, .levels = levels, .pasid = pasid, .va = va, .root = root,
                .cookie = cookie, .started = now};
    w->st.walks++;
    scim_kernel_schedule(w->k, w->p.pwc_latency, SCIM_PRIO_DEFAULT, begin, w, wi);
}

void scim_walker_walk(scim_walker *w, uint32_t pasid, uint64_t va, bool write, uint64_t root, int levels,
                      uint64_t cookie)
{
    for (size_t i = 0; i < w->p.walkers; i++) {
        if (!w->walks[i].busy) {
            start(w, i, pasid, va, write, root, levels, cookie, scim_kernel_now(w->k));
            return;
        }
    }
    w->st.waits++;
    if (w->q_len == w->q_cap) {
        size_t nc = w->q_cap ? w->q_cap * 2 : 32;
        queued *n = malloc(nc * sizeof *n);
        if (!n) {
            scim_kernel_fail(w->k, SCIM_ENOMEM, "out of host memory queueing walks");
            return;
        }
        for (size_t i = 0; i < w->q_len; i++)
            n[i] = w->q[(w->q_head + i) % w->q_cap];
        free(w->q);
        w->q = n;
        w->q_head = 0;
        w->q_cap = nc;
    }
    w->q[(w->q_head + w->q_len++) % w->q_cap] =
        (queued){pasid, write, levels, va, root, cookie, scim_kernel_now(w->k)};
}

static void finish(scim_walker *w, walk *k, scim_walk_status status, uint64_t page_pa, unsigned shift)
{
    scim_hist_record(w->st.latency, scim_kernel_now(w->k) - k->started);
    scim_walk_result r = {status, page_pa, shift, status == SCIM_WALK_OK ? k->perms : 0, k->reads};
    uint64_t cookie = k->cookie;
    k->busy = false;
    size_t wi = (size_t)(k - w->walks);
    if (w->q_len) {
        queued q = w->q[w->q_head];
        w->q_head = (w->q_head + 1) % w->q_cap;
        w->q_len--;
        start(w, wi, q.pasid, q.va, q.write, q.root, q.levels, q.cookie, q.at);
    }
    w->done(w->owner, cookie, &r);
}

void scim_walker_on_mem_resp(scim_walker *w, scim_msg *m)
{
    walk *k = &w->walks[m->tag & ~SCIM_WALK_TAG];
    uint64_t pte = m->data;
    scim_msg_free(w->f, m);
    if (k->poisoned) {
        w->st.restarts++;
        scim_kernel_schedule(w->k, w->p.pwc_latency, SCIM_PRIO_DEFAULT, begin, w, (uint64_t)(k - w->walks));
        return;
    }
    uint64_t next;
    unsigned shift;
    scim_pte_kind kind = scim_pte_decode(pte, k->level, &next, &shift);
    if (kind == SCIM_PTE_NOT_PRESENT) {
        finish(w, k, SCIM_WALK_NOT_PRESENT, 0, 0);
        return;
    }
    if (kind == SCIM_PTE_RESERVED) {
        finish(w, k, SCIM_WALK_RESERVED, 0, 0);
        return;
    }
    /* Effective rights are the AND over every level (SDM 4.6); devices and
     * user code access as user. */
    if (!(pte & SCIM_PTE_US))
        k->perms = 0;
    if (!(pte & SCIM_PTE_RW))
        k->perms &= ~(unsigned)SCIM_PERM_W;
    if (kind == SCIM_PTE_TABLE) {
        int l = k->level - 1;
        if (w->pwc[l]) {
            scim_tlb_entry e = {.pasid = k->pasid, .page_shift = 12, .perms = (uint8_t)k->perms,
                                .vpn = pwc_key(k->va, l) >> 12, .pfn = next >> 12, .aux = 0};
            scim_tlb_insert(w->pwc[l], &e, NULL);
        }
        k->level = l;
        k->table = next;
        read_entry(w, k);
        return;
    }
    finish(w, k, SCIM_WALK_OK, next, shift);
}

void scim_walker_invalidate(scim_walker *w, uint32_t pasid, uint64_t addr, uint64_t len, uint32_t flags)
{
    for (int l = 1; l < MAX_LEVELS; l++) {
        if (!w->pwc[l])
            continue;
        if (flags & SCIM_INVF_GLOBAL)
            scim_tlb_invalidate_all(w->pwc[l]);
        else
            scim_tlb_invalidate_pasid(w->pwc[l], pasid);
    }
    for (size_t i = 0; i < w->p.walkers; i++) {
        walk *k = &w->walks[i];
        if (!k->busy)
            continue;
        if ((flags & SCIM_INVF_GLOBAL) ||
            (k->pasid == pasid && ((flags & SCIM_INVF_PASID) || (k->va >= addr && k->va - addr < len))))
            k->poisoned = true;
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
    uint64_t n = w->q_len;
    for (size_t i = 0; i < w->p.walkers; i++)
        n += w->walks[i].busy;
    return n;
}

scim_walker *scim_walker_create(scim_kernel *k, scim_fabric *f, scim_node_id self, const char *prefix,
                                const scim_walker_params *p, scim_walk_done_fn done, void *owner, scim_stats *stats,
                                scim_err *err)
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
    w->f = f;
    w->self = self;
    w->mem = SCIM_NODE_NONE;
    w->p = *p;
    w->done = done;
    w->owner = owner;
    char name[128];
    for (int l = 1; p->pwc_entries && l < MAX_LEVELS; l++) {
        scim_tlb_params tp = {.entries = p->pwc_entries, .ways = p->pwc_entries, .repl = SCIM_REPL_LRU,
                              .page_sizes = SCIM_PAGE_4K, .seed = p->seed + (uint64_t)l};
        if (!(w->pwc[l] = scim_tlb_create(&tp, err)))
            goto fail;
        snprintf(name, sizeof name, "%s.%s", prefix, pwc_names[l]);
        if (scim_stats_register(stats, name, scim_tlb_stat_decls, scim_tlb_stat_decl_count,
                                (void *)scim_tlb_counters(w->pwc[l]), err))
            goto fail;
    }
    if (scim_stats_register(stats, prefix, scim_walker_stat_decls, scim_walker_stat_decl_count, &w->st, err))
        goto fail;
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
    free(w->walks);
    free(w->q);
    free(w);
}

void scim_walker_set_memory(scim_walker *w, scim_node_id mem) { w->mem = mem; }

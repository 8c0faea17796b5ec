/* Generic TLB. Structure and policy definitions in include/scimitar/tlb.h. */
#include "mmu/tlb.h"

#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

typedef struct way {
    uint64_t vpn;
    uint64_t pfn;
    uint64_t aux;
    uint64_t stamp; /* lru: last use; fifo: insertion */
    uint32_t pasid;
    uint8_t shift;
    uint8_t perms;
    uint8_t valid;
} way;

struct scim_tlb {
    scim_tlb_params p;
    uint64_t sets, ways;
    way *w;            /* sets * ways */
    uint64_t *plru;    /* one bit tree per set */
    uint64_t clock;
    uint64_t rng;
    uint8_t shifts[3];
    int n_shifts;
    uint64_t valid;
    scim_tlb_ctrs c;
};

const scim_stat_decl scim_tlb_stat_decls[] = {
    {"accesses", SCIM_STAT_COUNTER, "count", "Lookups.", offsetof(scim_tlb_ctrs, accesses)},
    {"hits", SCIM_STAT_COUNTER, "count", "Lookups that found a translation.", offsetof(scim_tlb_ctrs, hits)},
    {"misses", SCIM_STAT_COUNTER, "count", "Lookups that found none.", offsetof(scim_tlb_ctrs, misses)},
    {"inserts", SCIM_STAT_COUNTER, "count", "Translations installed (in-place updates included).",
     offsetof(scim_tlb_ctrs, inserts)},
    {"evictions", SCIM_STAT_COUNTER, "count", "Valid entries replaced to make room.",
     offsetof(scim_tlb_ctrs, evictions)},
    {"invalidations", SCIM_STAT_COUNTER, "count", "Entries removed by invalidations.",
     offsetof(scim_tlb_ctrs, invalidations)},
    {"flushes", SCIM_STAT_COUNTER, "count", "Invalidation requests (page, range, PASID or all).",
     offsetof(scim_tlb_ctrs, flushes)},
};
const size_t scim_tlb_stat_decl_count = SCIM_COUNT_OF(scim_tlb_stat_decls);

scim_tlb *scim_tlb_create(const scim_tlb_params *p, scim_err *err)
{
    uint64_t sizes = p->page_sizes ? p->page_sizes : SCIM_PAGE_4K;
    if (p->entries && (p->ways == 0 || p->entries % p->ways != 0)) {
        scim_err_set(err, SCIM_ERANGE,
                     "TLB of %llu entries cannot have %llu ways: entries must be a multiple of ways",
                     (unsigned long long)p->entries, (unsigned long long)p->ways);
        return NULL;
    }
    if (p->repl < SCIM_REPL_LRU || p->repl > SCIM_REPL_PLRU) {
        scim_err_set(err, SCIM_EINVAL, "unknown TLB replacement policy %d", p->repl);
        return NULL;
    }
    if (p->entries && p->repl == SCIM_REPL_PLRU && (p->ways > 64 || (p->ways & (p->ways - 1)))) {
        scim_err_set(err, SCIM_ERANGE,
                     "plru replacement needs a power-of-two number of ways up to 64 (got %llu); use lru or "
                     "change ways",
                     (unsigned long long)p->ways);
        return NULL;
    }
    if (sizes & ~(uint64_t)(SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G)) {
        scim_err_set(err, SCIM_EINVAL, "bad TLB page-size mask 0x%llx", (unsigned long long)sizes);
        return NULL;
    }
    scim_tlb *t = calloc(1, sizeof *t);
    if (!t) {
        scim_err_set(err, SCIM_ENOMEM, "out of host memory creating a TLB");
        return NULL;
    }
    t->p = *p;
    t->p.page_sizes = sizes;
    t->ways = p->entries ? p->ways : 0;
    t->sets = p->entries ? p->entries / p->ways : 0;
    t->rng = p->seed;
    static const uint8_t all[3] = {12, 21, 30};
    for (int i = 0; i < 3; i++)
        if (sizes & (1u << i))
            t->shifts[t->n_shifts++] = all[i];
    if (p->entries) {
        t->w = calloc(p->entries, sizeof *t->w);
        t->plru = calloc(t->sets, sizeof *t->plru);
        if (!t->w || !t->plru) {
            scim_tlb_destroy(t);
            scim_err_set(err, SCIM_ENOMEM, "out of host memory creating a TLB of %llu entries",
                         (unsigned long long)p->entries);
            return NULL;
        }
    }
    return t;
}

void scim_tlb_destroy(scim_tlb *t)
{
    if (!t)
        return;
    free(t->w);
    free(t->plru);
    free(t);
}

/* PLRU: node i (1-based heap order) has children 2i, 2i+1; its bit 0 says
 * "the victim is on the left", 1 "on the right". A use points every node
 * on the path away from the used way. */
static void plru_touch(scim_tlb *t, uint64_t set, uint64_t wi)
{
    uint64_t bits = t->plru[set];
    uint64_t node = 1, lo = 0, span = t->ways;
    while (span > 1) {
        span /= 2;
        bool right = wi >= lo + span;
        if (right) {
            bits &= ~(1ull << node); /* victim on the left */
            lo += span;
            node = node * 2 + 1;
        } else {
            bits |= 1ull << node;    /* victim on the right */
            node = node * 2;
        }
    }
    t->plru[set] = bits;
}

static uint64_t plru_victim(const scim_tlb *t, uint64_t set)
{
    uint64_t bits = t->plru[set];
    uint64_t node = 1, lo = 0, span = t->ways;
    while (span > 1) {
        span /= 2;
        if (bits & (1ull << node)) {
            lo += span;
            node = node * 2 + 1;
        } else {
            node = node * 2;
        }
    }
    return lo;
}

static inline way *find(const scim_tlb *t, uint32_t pasid, uint64_t va, uint64_t *set_out)
{
    for (int s = 0; s < t->n_shifts; s++) {
        uint8_t sh = t->shifts[s];
        uint64_t vpn = va >> sh;
        uint64_t set = vpn % t->sets;
        way *w = &t->w[set * t->ways];
        for (uint64_t i = 0; i < t->ways; i++) {
            if (w[i].valid && w[i].vpn == vpn && w[i].pasid == pasid && w[i].shift == sh) {
                *set_out = set;
                return &w[i];
            }
        }
    }
    return NULL;
}

static void to_entry(const way *w, scim_tlb_entry *e)
{
    e->pasid = w->pasid;
    e->page_shift = w->shift;
    e->perms = w->perms;
    e->vpn = w->vpn;
    e->pfn = w->pfn;
    e->aux = w->aux;
}

static void use(scim_tlb *t, way *w, uint64_t set)
{
    if (t->p.repl == SCIM_REPL_LRU)
        w->stamp = ++t->clock;
    else if (t->p.repl == SCIM_REPL_PLRU)
        plru_touch(t, set, (uint64_t)(w - &t->w[set * t->ways]));
}

int scim_tlb_lookup(scim_tlb *t, uint32_t pasid, uint64_t va, scim_tlb_entry *out)
{
    t->c.accesses++;
    uint64_t set;
    way *w = t->sets ? find(t, pasid, va, &set) : NULL;
    if (!w) {
        t->c.misses++;
        return 0;
    }
    t->c.hits++;
    use(t, w, set);
    if (out)
        to_entry(w, out);
    return 1;
}

int scim_tlb_probe(const scim_tlb *t, uint32_t pasid, uint64_t va, scim_tlb_entry *out)
{
    uint64_t set;
    way *w = t->sets ? find(t, pasid, va, &set) : NULL;
    if (w && out)
        to_entry(w, out);
    return w != NULL;
}

int scim_tlb_insert(scim_tlb *t, const scim_tlb_entry *e, scim_tlb_entry *evicted)
{
    int size_bit = e->page_shift == 12 ? 0 : e->page_shift == 21 ? 1 : e->page_shift == 30 ? 2 : -1;
    if (size_bit < 0 || !(t->p.page_sizes & (1u << size_bit)))
        return SCIM_EINVAL;
    if (!t->sets)
        return 0;
    t->c.inserts++;
    uint64_t set = e->vpn % t->sets;
    way *w = &t->w[set * t->ways];
    way *slot = NULL;
    for (uint64_t i = 0; i < t->ways; i++)
        if (w[i].valid && w[i].vpn == e->vpn && w[i].pasid == e->pasid && w[i].shift == e->page_shift) {
            slot = &w[i];
            break;
        }
    int ret = 0;
    bool fresh = slot == NULL;
    if (!slot) {
        for (uint64_t i = 0; i < t->ways; i++)
            if (!w[i].valid) {
                slot = &w[i];
                break;
            }
    }
    if (!slot) {
        uint64_t v = 0;
        switch (t->p.repl) {
        case SCIM_REPL_RANDOM:
            v = scim_splitmix64(&t->rng) % t->ways;
            break;
        case SCIM_REPL_PLRU:
            v = plru_victim(t, set);
            break;
        default: /* lru and fifo: smallest stamp */
            for (uint64_t i = 1; i < t->ways; i++)
                if (w[i].stamp < w[v].stamp)
                    v = i;
        }
        slot = &w[v];
        if (evicted)
            to_entry(slot, evicted);
        t->c.evictions++; /* a replacement: the valid count does not change */
        ret = 1;
    }
    if (fresh && !slot->valid)
        t->valid++;
    *slot = (way){e->vpn, e->pfn, e->aux, slot->stamp, e->pasid, e->page_shift, e->perms, 1};
    if (t->p.repl == SCIM_REPL_FIFO) {
        if (fresh)
            slot->stamp = ++t->clock;
    } else {
        use(t, slot, set);
    }
    return ret;
}

static uint64_t invalidate_if(scim_tlb *t, bool (*match)(const way *w, const void *arg), const void *arg)
{
    t->c.flushes++;
    uint64_t n = 0;
    for (uint64_t i = 0; i < t->sets * t->ways; i++) {
        if (t->w[i].valid && match(&t->w[i], arg)) {
            t->w[i].valid = 0;
            n++;
        }
    }
    t->valid -= n;
    t->c.invalidations += n;
    return n;
}

typedef struct range_arg {
    uint32_t pasid;
    uint64_t lo, hi; /* inclusive */
} range_arg;

static bool match_range(const way *w, const void *a)
{
    const range_arg *r = a;
    uint64_t lo = w->vpn << w->shift, hi = lo + (1ull << w->shift) - 1;
    return w->pasid == r->pasid && lo <= r->hi && hi >= r->lo;
}

static bool match_pasid(const way *w, const void *a) { return w->pasid == *(const uint32_t *)a; }
static bool match_all(const way *w, const void *a) { return true; }

uint64_t scim_tlb_invalidate_range(scim_tlb *t, uint32_t pasid, uint64_t va, uint64_t len)
{
    if (len == 0)
        return 0;
    uint64_t hi = va + len - 1 < va ? UINT64_MAX : va + len - 1;
    range_arg r = {pasid, va, hi};
    return invalidate_if(t, match_range, &r);
}

uint64_t scim_tlb_invalidate_page(scim_tlb *t, uint32_t pasid, uint64_t va)
{
    return scim_tlb_invalidate_range(t, pasid, va, 1);
}

uint64_t scim_tlb_invalidate_pasid(scim_tlb *t, uint32_t pasid) { return invalidate_if(t, match_pasid, &pasid); }
uint64_t scim_tlb_invalidate_all(scim_tlb *t) { return invalidate_if(t, match_all, NULL); }

uint64_t scim_tlb_invalidate_scope(scim_tlb *t, const scim_inv_scope *s)
{
    if (!t)
        return 0;
    switch (s->kind) {
    case SCIM_INV_GLOBAL: return scim_tlb_invalidate_all(t);
    case SCIM_INV_PASID: return scim_tlb_invalidate_pasid(t, s->pasid);
    default: return scim_tlb_invalidate_range(t, s->pasid, s->addr, s->len);
    }
}

void scim_tlb_foreach(const scim_tlb *t, void (*fn)(void *ctx, const scim_tlb_entry *e), void *ctx)
{
    for (uint64_t i = 0; i < t->sets * t->ways; i++) {
        if (t->w[i].valid) {
            scim_tlb_entry e;
            to_entry(&t->w[i], &e);
            fn(ctx, &e);
        }
    }
}

const scim_tlb_params *scim_tlb_get_params(const scim_tlb *t) { return &t->p; }
uint64_t scim_tlb_sets(const scim_tlb *t) { return t->sets; }
uint64_t scim_tlb_valid_entries(const scim_tlb *t) { return t->valid; }
const scim_tlb_ctrs *scim_tlb_counters(const scim_tlb *t) { return &t->c; }

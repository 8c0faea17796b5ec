/* Generic TLB. Structure and policy definitions in include/scimitar/tlb.h. */
#include "mmu/tlb.h"

#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define BITS 64u

typedef struct way {
    uint64_t vpn;
    uint64_t pfn;
    uint64_t aux;
    uint64_t stamp; /* scan: lru last use, fifo insertion */
    uint32_t pasid;
    uint32_t prev, next; /* hash index: neighbours in the set's lru/fifo order */
    uint8_t shift;
    uint8_t perms;
    uint8_t valid;
} way;

/* A slot of the hash index: the way (+1; 0 empty) and the top 32 bits of
 * its tag's hash, which give its home slot and reject most mismatches
 * without reading the way. */
typedef struct hslot {
    uint32_t way;
    uint32_t h;
} hslot;

struct scim_tlb {
    scim_tlb_params p;
    uint64_t sets, ways;
    uint64_t set_mask; /* sets - 1 when sets is a power of two, else 0 */
    way *w;            /* sets * ways */
    uint64_t *plru;    /* one bit tree per set */
    uint64_t clock;
    uint64_t rng;
    uint8_t shifts[3];
    int n_shifts;
    uint64_t valid;
    scim_tlb_ctrs c;
    /* hash index (NULL hash: linear scan) */
    hslot *hash;         /* open addressing, linear probing */
    uint64_t hash_mask;  /* slots - 1 (a power of two, at least twice the entries) */
    unsigned hash_shift; /* 32 - log2(slots): a slot's home is its hash >> hash_shift */
    uint64_t *vmap;      /* per set, ceil(ways / 64) words: bit set = way valid */
    uint64_t vwords;
    uint32_t *free_hint; /* per set: no invalid way in words below this */
    uint32_t *head, *tail; /* per set: lru/fifo order, head = the victim */
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

static bool index_create(scim_tlb *t);

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
        t->set_mask = (t->sets & (t->sets - 1)) == 0 ? t->sets - 1 : 0;
        t->w = calloc(p->entries, sizeof *t->w);
        t->plru = calloc(t->sets, sizeof *t->plru);
        bool indexed = p->index == SCIM_TLB_INDEX_HASH ||
                       (p->index != SCIM_TLB_INDEX_SCAN && t->ways >= SCIM_TLB_HASH_MIN_WAYS);
        if (!t->w || !t->plru || (indexed && !index_create(t))) {
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
    free(t->hash);
    free(t->vmap);
    free(t->free_hint);
    free(t->head);
    free(t->tail);
    free(t);
}

static inline uint64_t set_of(const scim_tlb *t, uint64_t vpn)
{
    return t->set_mask || t->sets == 1 ? vpn & t->set_mask : vpn % t->sets;
}

/* ---------- hash index ---------- */

static bool index_create(scim_tlb *t)
{
    uint64_t slots = 16;
    unsigned log2 = 4;
    while (slots < 2 * t->p.entries) /* entries <= 2^20 (config range), so log2 <= 21 */
        slots *= 2, log2++;
    t->hash = calloc(slots, sizeof *t->hash);
    t->hash_mask = slots - 1;
    t->hash_shift = 32 - log2;
    t->vwords = (t->ways + BITS - 1) / BITS;
    t->vmap = calloc(t->sets * t->vwords, sizeof *t->vmap);
    t->free_hint = calloc(t->sets, sizeof *t->free_hint);
    t->head = malloc(t->sets * sizeof *t->head);
    t->tail = malloc(t->sets * sizeof *t->tail);
    if (!t->hash || !t->vmap || !t->free_hint || !t->head || !t->tail)
        return false;
    for (uint64_t i = 0; i < t->sets; i++)
        t->head[i] = t->tail[i] = NIL;
    return true;
}

static inline uint32_t hash32(uint32_t pasid, uint64_t vpn, uint8_t shift)
{
    uint64_t h = (vpn ^ ((uint64_t)pasid << 40) ^ ((uint64_t)shift << 58)) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

static inline way *index_find(const scim_tlb *t, uint32_t pasid, uint64_t vpn, uint8_t shift)
{
    uint32_t h32 = hash32(pasid, vpn, shift);
    for (uint64_t h = h32 >> t->hash_shift;; h = (h + 1) & t->hash_mask) {
        hslot sl = t->hash[h];
        if (!sl.way)
            return NULL;
        if (sl.h != h32)
            continue;
        way *w = &t->w[sl.way - 1];
        if (w->vpn == vpn && w->pasid == pasid && w->shift == shift)
            return w;
    }
}

static void index_add(scim_tlb *t, uint32_t wi)
{
    const way *w = &t->w[wi];
    uint32_t h32 = hash32(w->pasid, w->vpn, w->shift);
    uint64_t h = h32 >> t->hash_shift;
    while (t->hash[h].way)
        h = (h + 1) & t->hash_mask;
    t->hash[h] = (hslot){wi + 1, h32};
}

/* Backward-shift deletion: no tombstones, so probes stay short. */
static void index_del(scim_tlb *t, uint32_t wi)
{
    const way *w = &t->w[wi];
    uint64_t h = hash32(w->pasid, w->vpn, w->shift) >> t->hash_shift;
    while (t->hash[h].way != wi + 1)
        h = (h + 1) & t->hash_mask;
    for (uint64_t j = (h + 1) & t->hash_mask;; j = (j + 1) & t->hash_mask) {
        hslot sl = t->hash[j];
        if (!sl.way)
            break;
        uint64_t hj = sl.h >> t->hash_shift;
        /* it may move to the hole at h unless its home lies cyclically in (h, j] */
        if (((j - hj) & t->hash_mask) >= ((j - h) & t->hash_mask)) {
            t->hash[h] = sl;
            h = j;
        }
    }
    t->hash[h] = (hslot){0, 0};
}

static void list_unlink(scim_tlb *t, uint64_t set, uint32_t wi)
{
    way *w = &t->w[wi];
    if (w->prev == NIL)
        t->head[set] = w->next;
    else
        t->w[w->prev].next = w->next;
    if (w->next == NIL)
        t->tail[set] = w->prev;
    else
        t->w[w->next].prev = w->prev;
}

static void list_append(scim_tlb *t, uint64_t set, uint32_t wi)
{
    way *w = &t->w[wi];
    w->prev = t->tail[set];
    w->next = NIL;
    if (w->prev == NIL)
        t->head[set] = wi;
    else
        t->w[w->prev].next = wi;
    t->tail[set] = wi;
}

/* The lowest invalid way of the set, or NIL. */
static uint32_t first_free(scim_tlb *t, uint64_t set)
{
    uint64_t *m = &t->vmap[set * t->vwords];
    for (uint64_t i = t->free_hint[set]; i < t->vwords; i++) {
        uint64_t inv = ~m[i];
        if (i == t->vwords - 1 && t->ways % BITS)
            inv &= (1ull << (t->ways % BITS)) - 1;
        if (inv) {
            t->free_hint[set] = (uint32_t)i;
            return (uint32_t)(set * t->ways + i * BITS + (uint64_t)__builtin_ctzll(inv));
        }
    }
    t->free_hint[set] = (uint32_t)t->vwords;
    return NIL;
}

static void mark(scim_tlb *t, uint64_t set, uint32_t wi, bool valid)
{
    uint64_t i = wi - set * t->ways;
    uint64_t *word = &t->vmap[set * t->vwords + i / BITS];
    if (valid) {
        *word |= 1ull << (i % BITS);
    } else {
        *word &= ~(1ull << (i % BITS));
        if (i / BITS < t->free_hint[set])
            t->free_hint[set] = (uint32_t)(i / BITS);
    }
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
        if (t->hash) {
            way *w = index_find(t, pasid, vpn, sh);
            if (w) {
                *set_out = set_of(t, vpn);
                return w;
            }
            continue;
        }
        uint64_t set = set_of(t, vpn);
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
    if (t->p.repl == SCIM_REPL_LRU) {
        if (!t->hash) {
            w->stamp = ++t->clock;
        } else if (w->next != NIL) { /* not already the most recent */
            uint32_t wi = (uint32_t)(w - t->w);
            list_unlink(t, set, wi);
            list_append(t, set, wi);
        }
    } else if (t->p.repl == SCIM_REPL_PLRU) {
        plru_touch(t, set, (uint64_t)(w - &t->w[set * t->ways]));
    }
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

/* The way a fresh entry of `set` replaces when the set is full. */
static uint64_t victim(scim_tlb *t, uint64_t set)
{
    switch (t->p.repl) {
    case SCIM_REPL_RANDOM: return scim_splitmix64(&t->rng) % t->ways;
    case SCIM_REPL_PLRU: return plru_victim(t, set);
    default: /* lru and fifo: the oldest use or insertion */
        if (t->hash)
            return t->head[set] - set * t->ways;
        way *w = &t->w[set * t->ways];
        uint64_t v = 0;
        for (uint64_t i = 1; i < t->ways; i++)
            if (w[i].stamp < w[v].stamp)
                v = i;
        return v;
    }
}

/* Scan: the matching way, else the lowest invalid one (*fresh). */
static way *scan_slot(scim_tlb *t, way *w, const scim_tlb_entry *e, bool *fresh)
{
    for (uint64_t i = 0; i < t->ways; i++)
        if (w[i].valid && w[i].vpn == e->vpn && w[i].pasid == e->pasid && w[i].shift == e->page_shift)
            return &w[i];
    *fresh = true;
    for (uint64_t i = 0; i < t->ways; i++)
        if (!w[i].valid)
            return &w[i];
    return NULL;
}

static way *hash_slot(scim_tlb *t, uint64_t set, const scim_tlb_entry *e, bool *fresh)
{
    way *w = index_find(t, e->pasid, e->vpn, e->page_shift);
    if (w)
        return w;
    *fresh = true;
    uint32_t wi = first_free(t, set);
    return wi == NIL ? NULL : &t->w[wi];
}

int scim_tlb_insert(scim_tlb *t, const scim_tlb_entry *e, scim_tlb_entry *evicted)
{
    int size_bit = e->page_shift == 12 ? 0 : e->page_shift == 21 ? 1 : e->page_shift == 30 ? 2 : -1;
    if (size_bit < 0 || !(t->p.page_sizes & (1u << size_bit)))
        return SCIM_EINVAL;
    if (!t->sets)
        return 0;
    t->c.inserts++;
    uint64_t set = set_of(t, e->vpn);
    way *w = &t->w[set * t->ways];
    bool fresh = false;
    way *slot = t->hash ? hash_slot(t, set, e, &fresh) : scan_slot(t, w, e, &fresh);
    int ret = 0;
    if (!slot) {
        slot = &w[victim(t, set)];
        if (evicted)
            to_entry(slot, evicted);
        t->c.evictions++; /* a replacement: the valid count does not change */
        ret = 1;
    }
    uint32_t wi = (uint32_t)(slot - t->w);
    if (t->hash && fresh) {
        if (slot->valid) { /* the victim leaves the index and the order */
            index_del(t, wi);
            list_unlink(t, set, wi);
        } else {
            mark(t, set, wi, true);
        }
    }
    if (fresh && !slot->valid)
        t->valid++;
    *slot = (way){e->vpn, e->pfn, e->aux, slot->stamp, e->pasid, slot->prev, slot->next, e->page_shift, e->perms, 1};
    if (t->hash && fresh) {
        index_add(t, wi);
        list_append(t, set, wi); /* a fresh entry is the newest use and the newest insertion */
        if (t->p.repl == SCIM_REPL_PLRU)
            plru_touch(t, set, wi - set * t->ways);
    } else if (t->p.repl == SCIM_REPL_FIFO) {
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
            if (t->hash) {
                uint64_t set = i / t->ways;
                index_del(t, (uint32_t)i);
                list_unlink(t, set, (uint32_t)i);
                mark(t, set, (uint32_t)i, false);
            }
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

uint64_t scim_tlb_sets(const scim_tlb *t) { return t->sets; }
uint64_t scim_tlb_valid_entries(const scim_tlb *t) { return t->valid; }
const scim_tlb_ctrs *scim_tlb_counters(const scim_tlb *t) { return &t->c; }

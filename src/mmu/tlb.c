/* Generic TLB. Structure and policy definitions in include/scimitar/tlb.h. */
#include "mmu/tlb.h"

#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

/* For cold paths: a hot caller that only tail-calls them needs to save no
 * registers. */
#define NOINLINE __attribute__((noinline))

#define NIL UINT32_MAX
#define BITS 64u
#define SIZE_BITS 3 /* 4K, 2M, 1G: SCIM_PAGE_* bit positions */

typedef struct way {
    uint64_t vpn;
    uint64_t pfn;
    uint64_t aux;
    uint64_t stamp; /* scan: lru last use, fifo insertion */
    uint32_t pasid;
    uint8_t shift; /* 0 in an invalid way, so that a tag compare alone rejects it */
    uint8_t perms;
    uint8_t valid;
} way;

struct scim_tlb {
    scim_tlb_params p;
    uint64_t sets, ways;
    uint64_t set_mask; /* sets - 1 when sets is a power of two, else 0 */
    uint64_t set_div;  /* sets when it is not a power of two (a set is then a remainder), else 0 */
    way *w;            /* sets * ways */
    uint64_t *plru;    /* one bit tree per set */
    uint64_t clock;
    uint64_t rng;
    uint64_t shift_ok; /* bit s: page shift s is one of page_sizes */
    uint64_t valid;
    uint64_t held[SIZE_BITS]; /* valid entries per page size (SCIM_PAGE_* bit) */
    unsigned held_mask;       /* the sizes held: a lookup probes only these */
    scim_tlb_ctrs c;
    /* Hash index (NULL hn: linear scan). Chains link node numbers: way i
     * is node i, bucket b node entries + b, so unlinking a way needs
     * neither its hash nor a special case for the head of a chain. */
    uint32_t *hn;        /* entries + buckets: next node of a chain, NIL at its end */
    uint32_t *hp;        /* entries: the node before way i in its chain */
    uint32_t *heads;     /* hn + entries: the first way of each bucket */
    unsigned hash_shift; /* 64 - log2(buckets): a tag's bucket is its hash >> hash_shift */
    bool ordered;        /* lru or fifo: the lists below are kept */
    /* Per set, its valid ways in a circular list from the oldest (lfirst,
     * the victim) to the newest; the victim's way takes the fresh entry,
     * which is then the newest: lfirst just moves on. */
    uint32_t *ln, *lp;   /* entries: next (newer) and previous way */
    uint32_t *lfirst;    /* sets: the oldest way, NIL for none */
    uint64_t *vmap;      /* per set, ceil(ways / 64) words: bit set = way valid */
    uint64_t vwords;
    uint32_t *free_hint; /* per set: no invalid way in words below this */
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

/* Page shift of each SCIM_PAGE_* bit position. */
static const uint8_t size_shift[SIZE_BITS] = {12, 21, 30};

/* 12 -> 0, 21 -> 1, 30 -> 2 (SCIM_PAGE_* bit positions); -1 otherwise. */
static inline int size_bit_of(unsigned shift)
{
    return shift == size_shift[0] ? 0 : shift == size_shift[1] ? 1 : shift == size_shift[2] ? 2 : -1;
}

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
    for (int i = 0; i < SIZE_BITS; i++)
        if (sizes & (1u << i))
            t->shift_ok |= 1ull << size_shift[i];
    if (p->entries) {
        bool pow2 = (t->sets & (t->sets - 1)) == 0;
        t->set_mask = pow2 ? t->sets - 1 : 0;
        t->set_div = pow2 ? 0 : t->sets;
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
    free(t->hn);
    free(t->hp);
    free(t->ln);
    free(t->lp);
    free(t->lfirst);
    free(t->vmap);
    free(t->free_hint);
    free(t);
}

static inline uint64_t set_of(const scim_tlb *t, uint64_t vpn)
{
    return t->set_div ? vpn % t->set_div : vpn & t->set_mask;
}

/* ---------- hash index ---------- */

static bool index_create(scim_tlb *t)
{
    uint64_t n = t->p.entries, buckets = 16;
    unsigned log2 = 4;
    while (buckets < 2 * n) /* entries <= 2^20 (config range), so log2 <= 21 */
        buckets *= 2, log2++;
    t->hash_shift = 64 - log2;
    t->hn = malloc((n + buckets) * sizeof *t->hn);
    t->hp = malloc(n * sizeof *t->hp);
    t->ordered = t->p.repl == SCIM_REPL_LRU || t->p.repl == SCIM_REPL_FIFO;
    t->ln = malloc(n * sizeof *t->ln);
    t->lp = malloc(n * sizeof *t->lp);
    t->lfirst = malloc(t->sets * sizeof *t->lfirst);
    t->vwords = (t->ways + BITS - 1) / BITS;
    t->vmap = calloc(t->sets * t->vwords, sizeof *t->vmap);
    t->free_hint = calloc(t->sets, sizeof *t->free_hint);
    if (!t->hn || !t->hp || !t->ln || !t->lp || !t->lfirst || !t->vmap || !t->free_hint)
        return false;
    t->heads = t->hn + n;
    for (uint64_t i = 0; i < n + buckets; i++)
        t->hn[i] = NIL;
    for (uint64_t i = 0; i < t->sets; i++)
        t->lfirst[i] = NIL;
    return true;
}

static inline void held_add(scim_tlb *t, int size_bit)
{
    t->held[size_bit]++;
    t->held_mask |= 1u << size_bit;
}

static inline void held_sub(scim_tlb *t, int size_bit)
{
    if (--t->held[size_bit] == 0)
        t->held_mask &= ~(1u << size_bit);
}

/* The bucket of a tag: the top bits of a multiplicative hash. */
static inline uint32_t bucket_of(const scim_tlb *t, uint32_t pasid, uint64_t vpn, uint8_t shift)
{
    uint64_t h = (vpn ^ ((uint64_t)pasid << 40) ^ ((uint64_t)shift << 58)) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> t->hash_shift);
}

static inline way *chain_find(const scim_tlb *t, uint32_t bucket, uint32_t pasid, uint64_t vpn, uint8_t shift)
{
    for (uint32_t i = t->heads[bucket]; i != NIL; i = t->hn[i]) {
        way *w = &t->w[i];
        if (w->vpn == vpn && w->pasid == pasid && w->shift == shift)
            return w;
    }
    return NULL;
}

static inline void chain_push(scim_tlb *t, uint32_t bucket, uint32_t wi)
{
    uint32_t n = t->heads[bucket];
    t->hn[wi] = n;
    t->hp[wi] = (uint32_t)t->p.entries + bucket; /* the bucket's node */
    if (n != NIL)
        t->hp[n] = wi;
    t->heads[bucket] = wi;
}

static inline void chain_unlink(scim_tlb *t, uint32_t wi)
{
    uint32_t p = t->hp[wi], n = t->hn[wi];
    t->hn[p] = n;
    if (n != NIL)
        t->hp[n] = p;
}

/* Inserts way wi before `at` (a member of the set's list). */
static inline void list_link_before(scim_tlb *t, uint32_t at, uint32_t wi)
{
    uint32_t last = t->lp[at];
    t->ln[last] = wi;
    t->lp[wi] = last;
    t->ln[wi] = at;
    t->lp[at] = wi;
}

static void list_unlink(scim_tlb *t, uint64_t set, uint32_t wi)
{
    uint32_t n = t->ln[wi];
    if (n == wi) { /* the last one */
        t->lfirst[set] = NIL;
        return;
    }
    uint32_t p = t->lp[wi];
    t->ln[p] = n;
    t->lp[n] = p;
    if (t->lfirst[set] == wi)
        t->lfirst[set] = n;
}

/* A fresh way of the set (not in its list) becomes the newest. */
static void list_append(scim_tlb *t, uint64_t set, uint32_t wi)
{
    uint32_t first = t->lfirst[set];
    if (first == NIL) {
        t->ln[wi] = t->lp[wi] = wi;
        t->lfirst[set] = wi;
    } else {
        list_link_before(t, first, wi);
    }
}

/* A way of the set's list becomes the newest. */
static inline void list_touch(scim_tlb *t, uint64_t set, uint32_t wi)
{
    uint32_t first = t->lfirst[set];
    if (wi == first) { /* the oldest: the circle just turns */
        t->lfirst[set] = t->ln[wi];
    } else if (t->ln[wi] != first) { /* not already the newest */
        uint32_t p = t->lp[wi], n = t->ln[wi];
        t->ln[p] = n;
        t->lp[n] = p;
        list_link_before(t, first, wi);
    }
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

static inline way *probe_hash(const scim_tlb *t, uint32_t pasid, uint64_t va, uint8_t sh)
{
    uint64_t vpn = va >> sh;
    return chain_find(t, bucket_of(t, pasid, vpn, sh), pasid, vpn, sh);
}

/* Hash index: the entry of (pasid, va) in a page size the TLB holds,
 * smallest first. Unrolled: a loop would keep its invariants in
 * registers that every lookup then saves and restores. */
static inline way *find_hash(const scim_tlb *t, uint32_t pasid, uint64_t va)
{
    unsigned m = t->held_mask;
    way *w = NULL;
    if ((m & SCIM_PAGE_4K) && (w = probe_hash(t, pasid, va, size_shift[0])))
        return w;
    if ((m & SCIM_PAGE_2M) && (w = probe_hash(t, pasid, va, size_shift[1])))
        return w;
    if (m & SCIM_PAGE_1G)
        w = probe_hash(t, pasid, va, size_shift[2]);
    return w;
}

static way *find_scan(const scim_tlb *t, uint32_t pasid, uint64_t va, uint64_t *set_out)
{
    for (unsigned m = t->held_mask; m; m &= m - 1) { /* smallest size first */
        uint8_t sh = size_shift[__builtin_ctz(m)];
        uint64_t vpn = va >> sh;
        uint64_t set = set_of(t, vpn);
        way *w = &t->w[set * t->ways];
        for (uint64_t i = 0; i < t->ways; i++) {
            if (w[i].vpn == vpn && w[i].pasid == pasid && w[i].shift == sh) { /* valid: shift is not 0 */
                *set_out = set;
                return &w[i];
            }
        }
    }
    return NULL;
}

/* The entry of (pasid, va) and its set (t has entries). */
static inline way *find(const scim_tlb *t, uint32_t pasid, uint64_t va, uint64_t *set_out)
{
    if (!t->hn)
        return find_scan(t, pasid, va, set_out);
    way *w = find_hash(t, pasid, va);
    if (w)
        *set_out = set_of(t, w->vpn);
    return w;
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
        if (!t->hn) {
            w->stamp = ++t->clock;
        } else {
            list_touch(t, set, (uint32_t)(w - t->w));
        }
    } else if (t->p.repl == SCIM_REPL_PLRU) {
        plru_touch(t, set, (uint64_t)(w - &t->w[set * t->ways]));
    }
}

/* Out of line (and tail-called). */
NOINLINE static int lookup_hit(scim_tlb *t, way *w, uint64_t set, scim_tlb_entry *out)
{
    t->c.hits++;
    use(t, w, set);
    if (out)
        to_entry(w, out);
    return 1;
}

NOINLINE static int lookup_scan(scim_tlb *t, uint32_t pasid, uint64_t va, scim_tlb_entry *out)
{
    uint64_t set;
    way *w = t->sets ? find_scan(t, pasid, va, &set) : NULL;
    if (w)
        return lookup_hit(t, w, set, out);
    t->c.misses++;
    return 0;
}

/* Only tail calls, so that a hash lookup that misses saves no registers. */
int scim_tlb_lookup(scim_tlb *t, uint32_t pasid, uint64_t va, scim_tlb_entry *out)
{
    t->c.accesses++;
    if (!t->hn)
        return lookup_scan(t, pasid, va, out);
    way *w = find_hash(t, pasid, va);
    if (w)
        return lookup_hit(t, w, set_of(t, w->vpn), out);
    t->c.misses++;
    return 0;
}

int scim_tlb_probe(const scim_tlb *t, uint32_t pasid, uint64_t va, scim_tlb_entry *out)
{
    uint64_t set;
    way *w = t->sets ? find(t, pasid, va, &set) : NULL;
    if (w && out)
        to_entry(w, out);
    return w != NULL;
}

/* The way a fresh entry of a full set replaces under random or plru (lru
 * and fifo keep their order elsewhere: the scan's stamps, the index's
 * lists). */
static uint64_t victim(scim_tlb *t, uint64_t set)
{
    return t->p.repl == SCIM_REPL_RANDOM ? scim_splitmix64(&t->rng) % t->ways : plru_victim(t, set);
}

/* A present tag: updated in place, a use (fifo: not an insertion). 0: no
 * eviction. */
NOINLINE static int update(scim_tlb *t, way *slot, uint64_t set, const scim_tlb_entry *e)
{
    slot->pfn = e->pfn;
    slot->aux = e->aux;
    slot->perms = e->perms;
    if (t->p.repl != SCIM_REPL_FIFO)
        use(t, slot, set);
    return 0;
}

static void fill(way *slot, const scim_tlb_entry *e)
{
    slot->vpn = e->vpn;
    slot->pfn = e->pfn;
    slot->aux = e->aux;
    slot->pasid = e->pasid;
    slot->shift = e->page_shift;
    slot->perms = e->perms;
    slot->valid = 1;
}

/* One pass over the set: the matching way, else the lowest invalid one,
 * else the victim (lru and fifo: the lowest way of the oldest stamp). */
NOINLINE static int insert_scan(scim_tlb *t, uint64_t set, const scim_tlb_entry *e, scim_tlb_entry *evicted)
{
    way *w = &t->w[set * t->ways], *slot = NULL, *oldest = w;
    for (uint64_t i = 0; i < t->ways; i++) {
        if (!w[i].valid) {
            if (!slot)
                slot = &w[i];
        } else if (w[i].vpn == e->vpn && w[i].pasid == e->pasid && w[i].shift == e->page_shift) {
            return update(t, &w[i], set, e);
        } else if (w[i].stamp < oldest->stamp) {
            oldest = &w[i];
        }
    }
    int ret = 0;
    if (slot) {
        t->valid++;
        held_add(t, size_bit_of(e->page_shift));
    } else {
        slot = t->p.repl == SCIM_REPL_LRU || t->p.repl == SCIM_REPL_FIFO ? oldest : &w[victim(t, set)];
        if (evicted)
            to_entry(slot, evicted);
        t->c.evictions++; /* a replacement: the valid count does not change */
        if (slot->shift != e->page_shift) { /* else the count of its size does not change */
            held_sub(t, size_bit_of(slot->shift));
            held_add(t, size_bit_of(e->page_shift));
        }
        ret = 1;
    }
    fill(slot, e);
    if (t->p.repl == SCIM_REPL_FIFO)
        slot->stamp = ++t->clock;
    else
        use(t, slot, set);
    return ret;
}

/* Valid way wi takes the fresh entry e: the victim leaves the index. */
static inline void replace(scim_tlb *t, uint32_t wi, uint32_t bucket, const scim_tlb_entry *e,
                           scim_tlb_entry *evicted)
{
    way *slot = &t->w[wi];
    if (evicted)
        to_entry(slot, evicted);
    t->c.evictions++; /* a replacement: the valid count does not change */
    chain_unlink(t, wi);
    if (slot->shift != e->page_shift) { /* else the count of its size does not change */
        held_sub(t, size_bit_of(slot->shift));
        held_add(t, size_bit_of(e->page_shift));
    }
    fill(slot, e);
    chain_push(t, bucket, wi);
}

/* A fresh entry while the TLB is not full, or under random or plru. */
NOINLINE static int insert_hash_other(scim_tlb *t, uint64_t set, uint32_t bucket,
                                      const scim_tlb_entry *e, scim_tlb_entry *evicted)
{
    int ret = 1;
    uint32_t wi = t->valid < t->p.entries ? first_free(t, set) : NIL;
    if (wi != NIL) {
        mark(t, set, wi, true);
        t->valid++;
        held_add(t, size_bit_of(e->page_shift));
        if (t->ordered)
            list_append(t, set, wi); /* a fresh entry is the newest use and the newest insertion */
        fill(&t->w[wi], e);
        chain_push(t, bucket, wi);
        ret = 0;
    } else if (t->ordered) { /* this set is full, not yet the whole TLB */
        wi = t->lfirst[set];
        t->lfirst[set] = t->ln[wi];
        replace(t, wi, bucket, e, evicted);
    } else {
        wi = (uint32_t)(set * t->ways + victim(t, set));
        replace(t, wi, bucket, e, evicted);
    }
    if (t->p.repl == SCIM_REPL_PLRU)
        plru_touch(t, set, wi - set * t->ways);
    return ret;
}

/* The common case inline: a full TLB under lru or fifo, where the set's
 * oldest way takes the fresh entry and becomes the newest. */
static int insert_hash(scim_tlb *t, uint64_t set, const scim_tlb_entry *e, scim_tlb_entry *evicted)
{
    uint32_t bucket = bucket_of(t, e->pasid, e->vpn, e->page_shift);
    way *slot = chain_find(t, bucket, e->pasid, e->vpn, e->page_shift);
    if (slot)
        return update(t, slot, set, e);
    if (t->valid < t->p.entries || !t->ordered)
        return insert_hash_other(t, set, bucket, e, evicted);
    uint32_t wi = t->lfirst[set];
    t->lfirst[set] = t->ln[wi];
    replace(t, wi, bucket, e, evicted);
    return 1;
}

int scim_tlb_insert(scim_tlb *t, const scim_tlb_entry *e, scim_tlb_entry *evicted)
{
    if (e->page_shift >= BITS || !(t->shift_ok >> e->page_shift & 1))
        return SCIM_EINVAL;
    if (!t->sets)
        return 0;
    t->c.inserts++;
    uint64_t set = set_of(t, e->vpn);
    return t->hn ? insert_hash(t, set, e, evicted) : insert_scan(t, set, e, evicted);
}

static uint64_t invalidate_if(scim_tlb *t, bool (*match)(const way *w, const void *arg), const void *arg)
{
    t->c.flushes++;
    uint64_t n = 0;
    for (uint64_t i = 0; i < t->sets * t->ways; i++) {
        if (t->w[i].valid && match(&t->w[i], arg)) {
            if (t->hn) {
                chain_unlink(t, (uint32_t)i);
                uint64_t set = i / t->ways;
                if (t->ordered)
                    list_unlink(t, set, (uint32_t)i);
                mark(t, set, (uint32_t)i, false);
            }
            held_sub(t, size_bit_of(t->w[i].shift));
            t->w[i].valid = 0;
            t->w[i].shift = 0;
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

/* Generic TLB (include/scimitar/tlb.h) against brute-force reference models.
 *
 * The reference keeps every set as an array of ways plus, per policy, its
 * own bookkeeping written from the header's contract rather than from
 * tlb.c's code:
 *   lru    a recency list per set (most recent first; hits, inserts and
 *          in-place updates move a way to the front; the victim is last);
 *   fifo   an insertion queue per set (only fresh inserts enqueue; the
 *          victim is the head);
 *   random splitmix64 seeded with params.seed; one draw per eviction, victim
 *          = draw mod ways (the header specifies the generator and seed, the
 *          "mod ways, one draw per eviction, one stream per TLB" reduction is
 *          what tlb.c does and is replicated here);
 *   plru   a tree of ways-1 bits per set, addressed by the bits of the way
 *          index (depth d looks at index bit log2(ways)-1-d); a use makes
 *          every node on the path point away from the used way, the victim
 *          is found by following the bits.
 * A lookup is answered by scanning every entry of the reference (not just
 * one set): the smallest page size that covers the address wins.
 * The random driver runs every geometry with both of the TLB's indexes
 * (linear scan and hash); test_tlb_index compares them on large TLBs.
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/tlb.h"

#include "helpers/testutil.h"

/* ------------------------------------------------------------------------ */
/* reference model                                                            */

typedef struct ref_way {
    bool valid;
    scim_tlb_entry e;
} ref_way;

typedef struct ref_tlb {
    uint64_t sets, ways;
    int repl;
    unsigned sizes; /* SCIM_PAGE_* */
    ref_way *w;     /* sets * ways */
    uint64_t *order; /* lru: recency list (MRU first); fifo: queue (oldest first) */
    uint8_t *tree;   /* plru: per set, nodes 1..ways-1 */
    uint64_t rng;
    scim_tlb_ctrs c;
} ref_tlb;

static int log2u(uint64_t x)
{
    int n = 0;
    while ((1ull << n) < x)
        n++;
    return n;
}

static void ref_init(ref_tlb *r, const scim_tlb_params *p)
{
    memset(r, 0, sizeof *r);
    r->ways = p->entries ? p->ways : 0;
    r->sets = p->entries ? p->entries / p->ways : 0;
    r->repl = p->repl;
    r->sizes = p->page_sizes ? (unsigned)p->page_sizes : SCIM_PAGE_4K;
    r->rng = p->seed;
    uint64_t n = r->sets * r->ways;
    r->w = calloc(n ? n : 1, sizeof *r->w);
    r->order = calloc(n ? n : 1, sizeof *r->order);
    r->tree = calloc(r->sets * (r->ways ? r->ways : 1) + 1, 1);
    for (uint64_t s = 0; s < r->sets; s++)
        for (uint64_t i = 0; i < r->ways; i++)
            r->order[s * r->ways + i] = i;
}

static void ref_free(ref_tlb *r)
{
    free(r->w);
    free(r->order);
    free(r->tree);
}

/* position of way wi in set s's list */
static uint64_t ref_pos(const ref_tlb *r, uint64_t s, uint64_t wi)
{
    const uint64_t *o = &r->order[s * r->ways];
    for (uint64_t i = 0; i < r->ways; i++)
        if (o[i] == wi)
            return i;
    ck_abort_msg("way %" PRIu64 " missing from the order list of set %" PRIu64, wi, s);
    return 0;
}

static void list_move_front(ref_tlb *r, uint64_t s, uint64_t wi)
{
    uint64_t *o = &r->order[s * r->ways];
    uint64_t p = ref_pos(r, s, wi);
    memmove(o + 1, o, p * sizeof *o);
    o[0] = wi;
}

static void list_move_back(ref_tlb *r, uint64_t s, uint64_t wi)
{
    uint64_t *o = &r->order[s * r->ways];
    uint64_t p = ref_pos(r, s, wi);
    memmove(o + p, o + p + 1, (r->ways - p - 1) * sizeof *o);
    o[r->ways - 1] = wi;
}

static void plru_ref_touch(ref_tlb *r, uint64_t s, uint64_t wi)
{
    int depth = log2u(r->ways);
    uint8_t *t = &r->tree[s * r->ways];
    for (int d = 0; d < depth; d++) {
        uint64_t node = (1ull << d) + (wi >> (depth - d)); /* heap index of the node at depth d */
        int dir = (int)((wi >> (depth - 1 - d)) & 1);       /* 0: used way on the left */
        t[node] = (uint8_t)!dir;                             /* point away */
    }
}

static uint64_t plru_ref_victim(const ref_tlb *r, uint64_t s)
{
    int depth = log2u(r->ways);
    const uint8_t *t = &r->tree[s * r->ways];
    uint64_t v = 0, node = 1;
    for (int d = 0; d < depth; d++) {
        int dir = t[node];
        v = v * 2 + (uint64_t)dir;
        node = node * 2 + (uint64_t)dir;
    }
    return v;
}

/* a hit, a fresh insert or an in-place update */
static void ref_use(ref_tlb *r, uint64_t s, uint64_t wi, bool fresh_insert)
{
    switch (r->repl) {
    case SCIM_REPL_LRU: list_move_front(r, s, wi); break;
    case SCIM_REPL_FIFO:
        if (fresh_insert)
            list_move_back(r, s, wi);
        break;
    case SCIM_REPL_PLRU: plru_ref_touch(r, s, wi); break;
    default: break;
    }
}

static unsigned shift_bit(unsigned shift) { return shift == 12 ? SCIM_PAGE_4K : shift == 21 ? SCIM_PAGE_2M : SCIM_PAGE_1G; }

static bool covers(const scim_tlb_entry *e, uint32_t pasid, uint64_t va)
{
    return e->pasid == pasid && (va >> e->page_shift) == e->vpn;
}

/* Brute force: every entry of every set; smallest page size wins. Returns
 * the global way index or -1. Also checks the entry sits in its set. */
static int64_t ref_find(const ref_tlb *r, uint32_t pasid, uint64_t va)
{
    int64_t best = -1;
    for (uint64_t i = 0; i < r->sets * r->ways; i++) {
        if (!r->w[i].valid || !covers(&r->w[i].e, pasid, va))
            continue;
        CHECK(i / r->ways == r->w[i].e.vpn % r->sets, "entry in the wrong set");
        if (best < 0 || r->w[i].e.page_shift < r->w[best].e.page_shift)
            best = (int64_t)i;
    }
    return best;
}

static int ref_lookup(ref_tlb *r, uint32_t pasid, uint64_t va, scim_tlb_entry *out)
{
    r->c.accesses++;
    int64_t i = r->sets ? ref_find(r, pasid, va) : -1;
    if (i < 0) {
        r->c.misses++;
        return 0;
    }
    r->c.hits++;
    ref_use(r, (uint64_t)i / r->ways, (uint64_t)i % r->ways, false);
    *out = r->w[i].e;
    return 1;
}

static int ref_insert(ref_tlb *r, const scim_tlb_entry *e, scim_tlb_entry *evicted)
{
    if (!(e->page_shift == 12 || e->page_shift == 21 || e->page_shift == 30) ||
        !(r->sizes & shift_bit(e->page_shift)))
        return SCIM_EINVAL;
    if (!r->sets)
        return 0;
    r->c.inserts++;
    uint64_t s = e->vpn % r->sets;
    ref_way *w = &r->w[s * r->ways];
    for (uint64_t i = 0; i < r->ways; i++) {
        if (w[i].valid && w[i].e.pasid == e->pasid && w[i].e.vpn == e->vpn && w[i].e.page_shift == e->page_shift) {
            w[i].e = *e;
            ref_use(r, s, i, false);
            return 0;
        }
    }
    for (uint64_t i = 0; i < r->ways; i++) {
        if (!w[i].valid) {
            w[i].valid = true;
            w[i].e = *e;
            ref_use(r, s, i, true);
            return 0;
        }
    }
    uint64_t v;
    switch (r->repl) {
    case SCIM_REPL_LRU: v = r->order[s * r->ways + r->ways - 1]; break;
    case SCIM_REPL_FIFO: v = r->order[s * r->ways]; break;
    case SCIM_REPL_RANDOM: v = rng_next(&r->rng) % r->ways; break;
    default: v = plru_ref_victim(r, s); break;
    }
    *evicted = w[v].e;
    r->c.evictions++;
    w[v].e = *e;
    ref_use(r, s, v, true);
    return 1;
}

static uint64_t ref_inval(ref_tlb *r, int kind, uint32_t pasid, uint64_t va, uint64_t len)
{
    /* kind 0 page, 1 range, 2 pasid, 3 all */
    if (kind == 1 && len == 0)
        return 0;
    r->c.flushes++;
    uint64_t lo = va, hi = kind == 0 ? va : (va + len - 1 < va ? UINT64_MAX : va + len - 1);
    uint64_t n = 0;
    for (uint64_t i = 0; i < r->sets * r->ways; i++) {
        if (!r->w[i].valid)
            continue;
        const scim_tlb_entry *e = &r->w[i].e;
        bool hit;
        if (kind == 3) {
            hit = true;
        } else if (kind == 2) {
            hit = e->pasid == pasid;
        } else {
            /* page [a, b] overlaps [lo, hi], both inclusive */
            uint64_t a = e->vpn << e->page_shift, b = a + ((1ull << e->page_shift) - 1);
            hit = e->pasid == pasid && !(b < lo || a > hi);
        }
        if (hit) {
            r->w[i].valid = false;
            n++;
        }
    }
    r->c.invalidations += n;
    return n;
}

static uint64_t ref_valid(const ref_tlb *r)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < r->sets * r->ways; i++)
        n += r->w[i].valid;
    return n;
}

/* ------------------------------------------------------------------------ */
/* comparison                                                                 */

static bool entry_eq(const scim_tlb_entry *a, const scim_tlb_entry *b)
{
    return a->pasid == b->pasid && a->page_shift == b->page_shift && a->perms == b->perms && a->vpn == b->vpn &&
           a->pfn == b->pfn && a->aux == b->aux;
}

typedef struct collect {
    scim_tlb_entry *e;
    size_t n, cap;
} collect;

static void collect_fn(void *ctx, const scim_tlb_entry *e)
{
    collect *c = ctx;
    ck_assert_uint_lt(c->n, c->cap);
    c->e[c->n++] = *e;
}

static void compare_contents(const scim_tlb *t, const ref_tlb *r, uint64_t step)
{
    uint64_t cap = r->sets * r->ways + 1;
    collect c = {calloc(cap, sizeof(scim_tlb_entry)), 0, cap};
    scim_tlb_foreach(t, collect_fn, &c);
    size_t k = 0;
    for (uint64_t i = 0; i < r->sets * r->ways; i++) {
        if (!r->w[i].valid)
            continue;
        CHECK(k < c.n, "step %" PRIu64 ": TLB holds fewer entries than the reference", step);
        CHECK(entry_eq(&c.e[k], &r->w[i].e),
                      "step %" PRIu64 ": set %" PRIu64 " way %" PRIu64 ": TLB has pasid %u vpn 0x%" PRIx64
                      " shift %u, reference pasid %u vpn 0x%" PRIx64 " shift %u",
                      step, i / r->ways, i % r->ways, c.e[k].pasid, c.e[k].vpn, c.e[k].page_shift,
                      r->w[i].e.pasid, r->w[i].e.vpn, r->w[i].e.page_shift);
        k++;
    }
    CHECK(k == c.n, "step %" PRIu64 ": TLB holds %zu entries, reference %zu", step, c.n, k);
    free(c.e);
}

static void compare_ctrs(const scim_tlb *t, const ref_tlb *r, uint64_t step)
{
    const scim_tlb_ctrs *a = scim_tlb_counters(t);
    const scim_tlb_ctrs *b = &r->c;
    CHECK(a->accesses == b->accesses && a->hits == b->hits && a->misses == b->misses &&
                      a->inserts == b->inserts && a->evictions == b->evictions &&
                      a->invalidations == b->invalidations && a->flushes == b->flushes,
                  "step %" PRIu64 ": counters differ: acc %" PRIu64 "/%" PRIu64 " hit %" PRIu64 "/%" PRIu64
                  " miss %" PRIu64 "/%" PRIu64 " ins %" PRIu64 "/%" PRIu64 " evict %" PRIu64 "/%" PRIu64
                  " inval %" PRIu64 "/%" PRIu64 " flush %" PRIu64 "/%" PRIu64,
                  step, a->accesses, b->accesses, a->hits, b->hits, a->misses, b->misses, a->inserts, b->inserts,
                  a->evictions, b->evictions, a->invalidations, b->invalidations, a->flushes, b->flushes);
    ck_assert_uint_eq(a->hits + a->misses, a->accesses);
    CHECK(scim_tlb_valid_entries(t) == ref_valid(r),
                  "step %" PRIu64 ": scim_tlb_valid_entries says %" PRIu64 ", the TLB holds %" PRIu64, step,
                  scim_tlb_valid_entries(t), ref_valid(r));
}

/* ------------------------------------------------------------------------ */
/* the random driver                                                          */

static const uint32_t pasids[] = {1, 1, 1, 1, 1, 1, 0, 2, 7, 0xfffff};

/* Addresses concentrated on a small footprint so that hits, conflicts and
 * overlapping page sizes all happen: 4 x 1 GiB regions (one at the top of
 * the 47-bit space), 6 x 2 MiB inside each, 12 x 4 KiB inside each of
 * those. */
static uint64_t rand_va(uint64_t *s)
{
    uint64_t g = rnd(s, 4), m = rnd(s, 6), k = rnd(s, 12);
    uint64_t base = g == 3 ? 0x7fffc0000000ull : g << 30;
    return base + (m << 21) + (k << 12) + rnd(s, 4096);
}

static unsigned rand_shift(uint64_t *s, unsigned sizes)
{
    static const unsigned all[3] = {12, 21, 30};
    for (;;) {
        unsigned sh = all[rnd(s, 3)];
        if (sizes & shift_bit(sh))
            return sh;
    }
}

static void drive(const scim_tlb_params *p, uint64_t ops, uint64_t seed)
{
    scim_err err = {0};
    scim_tlb *t = scim_tlb_create(p, &err);
    CHECK(t != NULL, "create: %s", err.msg);
    ref_tlb r;
    ref_init(&r, p);
    ck_assert_uint_eq(scim_tlb_sets(t), r.sets);
    uint64_t s = seed;
    uint64_t hits = 0, evictions = 0, recent[32] = {0};
    for (uint64_t step = 0; step < ops; step++) {
        uint64_t op = rnd(&s, 1000);
        uint32_t pasid = pasids[rnd(&s, SCIM_COUNT_OF(pasids))];
        uint64_t va = rand_va(&s);
        /* temporal locality: half the accesses reuse a recently inserted page */
        if (rnd(&s, 2) && step > 0)
            va = (recent[rnd(&s, 32)] & ~0xfffull) | (va & 0xfff);
        if (op < 500) {
            scim_tlb_entry a = {0}, b = {0};
            int ra = scim_tlb_lookup(t, pasid, va, &a);
            int rb = ref_lookup(&r, pasid, va, &b);
            CHECK(ra == rb, "step %" PRIu64 ": lookup pasid %u va 0x%" PRIx64 ": TLB %s, reference %s",
                          step, pasid, va, ra ? "hit" : "miss", rb ? "hit" : "miss");
            if (ra) {
                CHECK(entry_eq(&a, &b), "step %" PRIu64 ": lookup returned a different entry", step);
                hits++;
            }
        } else if (op < 550) {
            scim_tlb_entry a = {0};
            int ra = scim_tlb_probe(t, pasid, va, &a);
            int64_t i = r.sets ? ref_find(&r, pasid, va) : -1;
            CHECK(ra == (i >= 0), "step %" PRIu64 ": probe disagrees", step);
            if (ra)
                CHECK(entry_eq(&a, &r.w[i].e), "step %" PRIu64 ": probe entry differs", step);
        } else if (op < 890) {
            unsigned sh = op < 880 ? rand_shift(&s, r.sizes) : (unsigned[]){12, 21, 30, 13}[rnd(&s, 4)];
            scim_tlb_entry e = {pasid, (uint8_t)sh, (uint8_t)rnd(&s, 4), va >> sh, rnd(&s, 1ull << 40),
                                rng_next(&s)};
            scim_tlb_entry ea = {0}, eb = {0};
            recent[step % 32] = va;
            int ra = scim_tlb_insert(t, &e, &ea);
            int rb = ref_insert(&r, &e, &eb);
            CHECK(ra == rb, "step %" PRIu64 ": insert pasid %u vpn 0x%" PRIx64 " shift %u: TLB %d, reference %d",
                          step, pasid, e.vpn, sh, ra, rb);
            if (ra == 1) {
                CHECK(entry_eq(&ea, &eb),
                              "step %" PRIu64 ": evicted pasid %u vpn 0x%" PRIx64 " shift %u, reference evicts "
                              "pasid %u vpn 0x%" PRIx64 " shift %u",
                              step, ea.pasid, ea.vpn, ea.page_shift, eb.pasid, eb.vpn, eb.page_shift);
                evictions++;
            }
        } else {
            int kind;
            uint64_t len = 0;
            if (op < 950) {
                kind = 0;
            } else if (op < 985) {
                kind = 1;
                uint64_t pick = rnd(&s, 8);
                len = pick == 0 ? 0 : pick == 1 ? UINT64_MAX - va + 1 + rnd(&s, 3) /* to 2^64 and beyond */
                      : pick < 4 ? 1 + rnd(&s, 8192) : pick < 6 ? 1 + rnd(&s, 8ull << 21) : 1 + rnd(&s, 3ull << 30);
                if (pick == 1 && len == 0)
                    len = 1;
            } else if (op < 998) {
                kind = 2;
            } else {
                kind = 3;
            }
            uint64_t a = kind == 0   ? scim_tlb_invalidate_page(t, pasid, va)
                         : kind == 1 ? scim_tlb_invalidate_range(t, pasid, va, len)
                         : kind == 2 ? scim_tlb_invalidate_pasid(t, pasid)
                                     : scim_tlb_invalidate_all(t);
            uint64_t b = ref_inval(&r, kind, pasid, va, len);
            CHECK(a == b, "step %" PRIu64 ": invalidation kind %d removed %" PRIu64 ", reference %" PRIu64,
                          step, kind, a, b);
            /* exactly the covered entries are gone: nothing left covers the page */
            if (kind == 0)
                CHECK(scim_tlb_probe(t, pasid, va, NULL) == 0, "step %" PRIu64 ": page survived", step);
            if (kind == 3)
                ck_assert_uint_eq(scim_tlb_valid_entries(t), 0);
        }
        if (step % 4096 == 0 || step + 1 == ops) {
            compare_contents(t, &r, step);
            compare_ctrs(t, &r, step);
        } else {
            CHECK(scim_tlb_valid_entries(t) == ref_valid(&r),
                          "step %" PRIu64 ": valid_entries %" PRIu64 ", reference %" PRIu64, step,
                          scim_tlb_valid_entries(t), ref_valid(&r));
        }
    }
    /* the run exercised what it claims to */
    if (getenv("TLB_VERBOSE"))
        printf("%" PRIu64 "x%" PRIu64 " repl %d sizes %u: %" PRIu64 " hits, %" PRIu64 " evictions in %" PRIu64 "\n",
               r.sets, r.ways, r.repl, r.sizes, hits, evictions, ops), fflush(stdout);
    if (r.sets) {
        CHECK(hits > ops / 20, "only %" PRIu64 " hits", hits);
        if (r.sets * r.ways < 256)
            CHECK(evictions > ops / 200, "only %" PRIu64 " evictions", evictions);
    }
    scim_tlb_destroy(t);
    ref_free(&r);
}

typedef struct geom {
    uint64_t entries, ways;
    uint64_t sizes;
} geom;

/* Each policy: ~100k operations over several geometries (non-power-of-two
 * set counts, direct-mapped, fully associative, every page-size mask),
 * once with the linear scan and once with the hash index. */
static void drive_policy(int repl, const geom *g, size_t n, uint64_t total_ops)
{
    for (int index = SCIM_TLB_INDEX_SCAN; index <= SCIM_TLB_INDEX_HASH; index++) {
        for (size_t i = 0; i < n; i++) {
            scim_tlb_params p = {g[i].entries, g[i].ways, repl, g[i].sizes, 0x5eed0000 + i, 3, index};
            drive(&p, total_ops / n, 0xC0FFEE + i * 7919 + (uint64_t)repl * 104729);
        }
    }
}

static const geom any_geoms[] = {
    {64, 4, SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G},
    {48, 3, SCIM_PAGE_4K | SCIM_PAGE_2M},              /* 16 sets of 3 */
    {30, 6, 0},                                        /* 5 sets, 4K only (mask 0) */
    {32, 32, SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G}, /* fully associative */
    {16, 1, SCIM_PAGE_4K | SCIM_PAGE_1G},              /* direct mapped */
    {21, 7, SCIM_PAGE_2M | SCIM_PAGE_1G},              /* 3 sets of 7, no 4K */
};

static const geom plru_geoms[] = {
    {64, 4, SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G},
    {48, 8, SCIM_PAGE_4K | SCIM_PAGE_2M},              /* 6 sets of 8 */
    {64, 64, SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G}, /* fully associative, 63-node tree */
    {24, 2, 0},                                        /* 12 sets of 2 */
    {16, 1, SCIM_PAGE_4K | SCIM_PAGE_1G},              /* direct mapped: empty tree */
    {48, 16, SCIM_PAGE_2M | SCIM_PAGE_1G},
};

START_TEST(test_lru) { drive_policy(SCIM_REPL_LRU, any_geoms, SCIM_COUNT_OF(any_geoms), 102000); }
END_TEST
START_TEST(test_fifo) { drive_policy(SCIM_REPL_FIFO, any_geoms, SCIM_COUNT_OF(any_geoms), 102000); }
END_TEST
START_TEST(test_random) { drive_policy(SCIM_REPL_RANDOM, any_geoms, SCIM_COUNT_OF(any_geoms), 102000); }
END_TEST
START_TEST(test_plru) { drive_policy(SCIM_REPL_PLRU, plru_geoms, SCIM_COUNT_OF(plru_geoms), 102000); }
END_TEST

/* ------------------------------------------------------------------------ */
/* directed cases                                                             */

static scim_tlb *mk(uint64_t entries, uint64_t ways, int repl, uint64_t sizes, uint64_t seed)
{
    scim_tlb_params p = {entries, ways, repl, sizes, seed, 1};
    scim_err err = {0};
    scim_tlb *t = scim_tlb_create(&p, &err);
    CHECK(t != NULL, "%s", err.msg);
    return t;
}

static scim_tlb_entry ent(uint32_t pasid, unsigned shift, uint64_t vpn, uint64_t pfn)
{
    return (scim_tlb_entry){pasid, (uint8_t)shift, 1, vpn, pfn, 0};
}

START_TEST(test_create_errors)
{
    static const struct {
        scim_tlb_params p;
        int code;
        const char *msg;
    } bad[] = {
        {{64, 0, SCIM_REPL_LRU, 0, 0, 0}, SCIM_ERANGE,
         "TLB of 64 entries cannot have 0 ways: entries must be a multiple of ways"},
        {{64, 5, SCIM_REPL_LRU, 0, 0, 0}, SCIM_ERANGE,
         "TLB of 64 entries cannot have 5 ways: entries must be a multiple of ways"},
        {{64, 4, 4, 0, 0, 0}, SCIM_EINVAL, "unknown TLB replacement policy 4"},
        {{64, 4, -1, 0, 0, 0}, SCIM_EINVAL, "unknown TLB replacement policy -1"},
        {{48, 3, SCIM_REPL_PLRU, 0, 0, 0}, SCIM_ERANGE,
         "plru replacement needs a power-of-two number of ways up to 64 (got 3); use lru or change ways"},
        {{128, 128, SCIM_REPL_PLRU, 0, 0, 0}, SCIM_ERANGE,
         "plru replacement needs a power-of-two number of ways up to 64 (got 128); use lru or change ways"},
        {{64, 4, SCIM_REPL_LRU, 8, 0, 0}, SCIM_EINVAL, "bad TLB page-size mask 0x8"},
    };
    for (size_t i = 0; i < SCIM_COUNT_OF(bad); i++) {
        scim_err err = {0};
        ck_assert_ptr_null(scim_tlb_create(&bad[i].p, &err));
        ck_assert_int_eq(err.code, bad[i].code);
        ck_assert_str_eq(err.msg, bad[i].msg);
    }
    /* entries 0 disables the TLB whatever the ways/policy say */
    scim_tlb *t = mk(0, 0, SCIM_REPL_PLRU, 0, 0);
    ck_assert_uint_eq(scim_tlb_sets(t), 0);
    scim_tlb_entry e = ent(1, 12, 5, 9);
    ck_assert_int_eq(scim_tlb_insert(t, &e, NULL), 0);
    ck_assert_int_eq(scim_tlb_lookup(t, 1, 5 << 12, NULL), 0);
    ck_assert_uint_eq(scim_tlb_invalidate_all(t), 0);
    ck_assert_uint_eq(scim_tlb_counters(t)->accesses, 1);
    ck_assert_uint_eq(scim_tlb_counters(t)->misses, 1);
    ck_assert_uint_eq(scim_tlb_counters(t)->inserts, 0);
    ck_assert_uint_eq(scim_tlb_valid_entries(t), 0);
    /* a page size the TLB does not hold */
    e = ent(1, 21, 5, 9);
    ck_assert_int_eq(scim_tlb_insert(t, &e, NULL), SCIM_EINVAL);
    scim_tlb_destroy(t);
    scim_tlb_destroy(NULL);
}
END_TEST

/* Hand-computed LRU / FIFO / PLRU sequences on one 4-way set. */
START_TEST(test_policies_by_hand)
{
    /* lru: fill a b c d, touch a, insert e -> b evicted */
    scim_tlb *t = mk(4, 4, SCIM_REPL_LRU, 0, 0);
    scim_tlb_entry ev;
    for (uint64_t v = 1; v <= 4; v++) {
        scim_tlb_entry e = ent(1, 12, v, v);
        ck_assert_int_eq(scim_tlb_insert(t, &e, NULL), 0);
    }
    ck_assert_int_eq(scim_tlb_lookup(t, 1, 1 << 12, NULL), 1);
    scim_tlb_entry e5 = ent(1, 12, 5, 5);
    ck_assert_int_eq(scim_tlb_insert(t, &e5, &ev), 1);
    ck_assert_uint_eq(ev.vpn, 2);
    ck_assert_uint_eq(scim_tlb_valid_entries(t), 4);
    /* re-inserting c updates it in place and makes it most recent */
    scim_tlb_entry c2 = ent(1, 12, 3, 333);
    ck_assert_int_eq(scim_tlb_insert(t, &c2, NULL), 0);
    scim_tlb_entry e6 = ent(1, 12, 6, 6);
    ck_assert_int_eq(scim_tlb_insert(t, &e6, &ev), 1);
    ck_assert_uint_eq(ev.vpn, 4);
    scim_tlb_entry got;
    ck_assert_int_eq(scim_tlb_probe(t, 1, 3 << 12, &got), 1);
    ck_assert_uint_eq(got.pfn, 333);
    ck_assert_uint_eq(scim_tlb_counters(t)->inserts, 7);
    ck_assert_uint_eq(scim_tlb_counters(t)->evictions, 2);
    scim_tlb_destroy(t);

    /* fifo: hits and re-inserts do not refresh */
    t = mk(4, 4, SCIM_REPL_FIFO, 0, 0);
    for (uint64_t v = 1; v <= 4; v++) {
        scim_tlb_entry e = ent(1, 12, v, v);
        scim_tlb_insert(t, &e, NULL);
    }
    ck_assert_int_eq(scim_tlb_lookup(t, 1, 1 << 12, NULL), 1);
    scim_tlb_entry a2 = ent(1, 12, 1, 111);
    scim_tlb_insert(t, &a2, NULL);
    ck_assert_int_eq(scim_tlb_insert(t, &e5, &ev), 1);
    ck_assert_uint_eq(ev.vpn, 1);
    ck_assert_uint_eq(ev.pfn, 111);
    /* an invalidated way is refilled first, and becomes the newest */
    ck_assert_uint_eq(scim_tlb_invalidate_page(t, 1, 3 << 12), 1);
    scim_tlb_insert(t, &e6, &ev);
    ck_assert_uint_eq(scim_tlb_valid_entries(t), 4);
    scim_tlb_entry e7 = ent(1, 12, 7, 7);
    ck_assert_int_eq(scim_tlb_insert(t, &e7, &ev), 1);
    ck_assert_uint_eq(ev.vpn, 2);
    scim_tlb_destroy(t);

    /* plru, 4 ways: uses a(0) b(1) c(2) d(3) -> root points left, left
     * node points right -> victim way 1 (b); then touch b -> victim way 0 */
    t = mk(4, 4, SCIM_REPL_PLRU, 0, 0);
    for (uint64_t v = 1; v <= 4; v++) {
        scim_tlb_entry e = ent(1, 12, v, v);
        scim_tlb_insert(t, &e, NULL);
    }
    ck_assert_int_eq(scim_tlb_lookup(t, 1, 1 << 12, NULL), 1); /* a: root -> right, node2 -> right(b) */
    ck_assert_int_eq(scim_tlb_lookup(t, 1, 3 << 12, NULL), 1); /* c: root -> left, node3 -> right(d) */
    ck_assert_int_eq(scim_tlb_insert(t, &e5, &ev), 1);        /* victim: left, then b */
    ck_assert_uint_eq(ev.vpn, 2);
    /* e5 in way 1: root -> right, node2 -> left(a) ... victim now d (way 3) */
    ck_assert_int_eq(scim_tlb_insert(t, &e6, &ev), 1);
    ck_assert_uint_eq(ev.vpn, 4);
    scim_tlb_destroy(t);
}
END_TEST

/* Random replacement depends only on the seed: same seed, same victims;
 * another seed, other victims. */
START_TEST(test_random_seeded)
{
    uint64_t victims[3][200];
    uint64_t seeds[3] = {42, 42, 43};
    for (int k = 0; k < 3; k++) {
        scim_tlb *t = mk(16, 8, SCIM_REPL_RANDOM, 0, seeds[k]);
        for (uint64_t v = 0; v < 16 + 200; v++) {
            scim_tlb_entry e = ent(3, 12, v, v), ev;
            int rc = scim_tlb_insert(t, &e, &ev);
            if (v >= 16) {
                ck_assert_int_eq(rc, 1);
                victims[k][v - 16] = ev.vpn;
            }
        }
        scim_tlb_destroy(t);
    }
    ck_assert(memcmp(victims[0], victims[1], sizeof victims[0]) == 0);
    ck_assert(memcmp(victims[0], victims[2], sizeof victims[0]) != 0);
}
END_TEST

/* Lookups probe page sizes smallest first; a PASID is part of the tag;
 * invalidations remove exactly the entries they cover. */
START_TEST(test_sizes_pasids_invalidation)
{
    scim_tlb *t = mk(64, 8, SCIM_REPL_LRU, SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G, 0);
    uint64_t va = (3ull << 30) + (5ull << 21) + (7ull << 12) + 0x123;
    scim_tlb_entry g = ent(1, 30, va >> 30, 0x100000), m = ent(1, 21, va >> 21, 0x200),
                   k = ent(1, 12, va >> 12, 0x77), other = ent(2, 12, va >> 12, 0x99);
    scim_tlb_insert(t, &g, NULL);
    scim_tlb_insert(t, &m, NULL);
    scim_tlb_insert(t, &k, NULL);
    scim_tlb_insert(t, &other, NULL);
    scim_tlb_entry out;
    ck_assert_int_eq(scim_tlb_lookup(t, 1, va, &out), 1);
    ck_assert_uint_eq(out.page_shift, 12);
    ck_assert_uint_eq(out.pfn, 0x77);
    ck_assert_int_eq(scim_tlb_lookup(t, 2, va, &out), 1);
    ck_assert_uint_eq(out.pfn, 0x99);
    ck_assert_int_eq(scim_tlb_lookup(t, 3, va, &out), 0);
    /* the 4K page's neighbour is covered by the 2M page */
    ck_assert_int_eq(scim_tlb_lookup(t, 1, va + 4096, &out), 1);
    ck_assert_uint_eq(out.page_shift, 21);
    /* outside the 2M page, inside the 1G page */
    ck_assert_int_eq(scim_tlb_lookup(t, 1, va + (2ull << 21), &out), 1);
    ck_assert_uint_eq(out.page_shift, 30);
    /* a range touching the last byte before the 4K page removes only the
     * 2M and 1G entries of pasid 1 */
    ck_assert_uint_eq(scim_tlb_invalidate_range(t, 1, va - 0x124, 1), 2);
    ck_assert_int_eq(scim_tlb_lookup(t, 1, va, &out), 1);
    ck_assert_uint_eq(out.page_shift, 12);
    ck_assert_int_eq(scim_tlb_lookup(t, 1, va + 4096, &out), 0);
    /* length 0 removes nothing */
    ck_assert_uint_eq(scim_tlb_invalidate_range(t, 1, va, 0), 0);
    /* a range that runs to the end of the address space */
    ck_assert_uint_eq(scim_tlb_invalidate_range(t, 1, va & ~0xfffull, UINT64_MAX), 1);
    ck_assert_uint_eq(scim_tlb_valid_entries(t), 1);
    ck_assert_uint_eq(scim_tlb_invalidate_pasid(t, 1), 0);
    ck_assert_uint_eq(scim_tlb_invalidate_pasid(t, 2), 1);
    ck_assert_uint_eq(scim_tlb_valid_entries(t), 0);
    const scim_tlb_ctrs *c = scim_tlb_counters(t);
    ck_assert_uint_eq(c->invalidations, 4);
    ck_assert_uint_eq(c->flushes, 4); /* the zero-length range is not a request */
    scim_tlb_destroy(t);
}
END_TEST

/* The stat declarations describe the counters struct. */
START_TEST(test_stat_decls)
{
    static const char *const names[] = {"accesses", "hits", "misses", "inserts", "evictions", "invalidations",
                                        "flushes"};
    ck_assert_uint_eq(scim_tlb_stat_decl_count, SCIM_COUNT_OF(names));
    scim_tlb *t = mk(8, 2, SCIM_REPL_LRU, 0, 0);
    scim_tlb_entry e = ent(1, 12, 1, 1);
    scim_tlb_insert(t, &e, NULL);
    scim_tlb_lookup(t, 1, 1 << 12, NULL);
    scim_tlb_lookup(t, 1, 2 << 12, NULL);
    scim_tlb_invalidate_all(t);
    const scim_tlb_ctrs *c = scim_tlb_counters(t);
    uint64_t want[] = {c->accesses, c->hits, c->misses, c->inserts, c->evictions, c->invalidations, c->flushes};
    ck_assert_uint_eq(want[0], 2);
    ck_assert_uint_eq(want[1], 1);
    ck_assert_uint_eq(want[5], 1);
    for (size_t i = 0; i < scim_tlb_stat_decl_count; i++) {
        ck_assert_str_eq(scim_tlb_stat_decls[i].name, names[i]);
        ck_assert_uint_eq(*(const uint64_t *)((const char *)c + scim_tlb_stat_decls[i].offset), want[i]);
    }
    scim_tlb_destroy(t);
}
END_TEST

static Suite *tlb_suite(void)
{
    Suite *s = suite_create("tlb");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_policies_by_hand);
    tcase_add_test(tc, test_random_seeded);
    tcase_add_test(tc, test_sizes_pasids_invalidation);
    tcase_add_test(tc, test_stat_decls);
    tcase_add_test(tc, test_lru);
    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_plru);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(tlb_suite()); }

/* The TLB's hash index (mmu/tlb.h, params.index) against its linear scan
 * on large TLBs, where test_tlb's brute-force reference would be slow (that
 * reference checks both indexes on small geometries). */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/tlb.h"

#include "helpers/testutil.h"

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

/* The hash index against the linear scan on large TLBs (fully associative
 * IOTLBs of 1024 and 4096 entries, odd set counts), where the brute-force
 * reference would be slow: two TLBs of one geometry, one per index, get
 * the same random stream — a footprint 2-3 times their size so that they
 * evict all the time, mixed page sizes and PASIDs, some invalidations —
 * and must answer every lookup alike, evict the same victim on every
 * insert, and hold the same entries in the same ways. */
static void hash_vs_scan(int repl, uint64_t entries, uint64_t ways, uint64_t ops, uint64_t seed)
{
    scim_tlb *t[2];
    for (int i = 0; i < 2; i++) {
        scim_tlb_params p = {entries, ways, repl, SCIM_PAGE_4K | SCIM_PAGE_2M, seed, 1,
                             i ? SCIM_TLB_INDEX_HASH : SCIM_TLB_INDEX_SCAN};
        scim_err err = {0};
        t[i] = scim_tlb_create(&p, &err);
        CHECK(t[i] != NULL, "create: %s", err.msg);
    }
    uint64_t s = seed, pages = entries * 5 / 2, evictions = 0, hits = 0;
    for (uint64_t step = 0; step < ops; step++) {
        uint64_t op = rnd(&s, 10000);
        uint32_t pasid = 1 + (uint32_t)rnd(&s, 3);
        /* skewed: half the accesses go to a tenth of the pages */
        uint64_t page = rnd(&s, 2) ? rnd(&s, pages / 10 + 1) : rnd(&s, pages);
        unsigned sh = rnd(&s, 16) ? 12 : 21;
        uint64_t va = (page << sh) | rnd(&s, 1ull << 12);
        if (op < 5000) {
            scim_tlb_entry a = {0}, b = {0};
            int ra = scim_tlb_lookup(t[0], pasid, va, &a), rb = scim_tlb_lookup(t[1], pasid, va, &b);
            CHECK(ra == rb && (!ra || entry_eq(&a, &b)), "step %" PRIu64 ": lookups differ", step);
            hits += (uint64_t)ra;
        } else if (op < 9930) {
            scim_tlb_entry e = {pasid, (uint8_t)sh, (uint8_t)rnd(&s, 4), va >> sh, rnd(&s, 1ull << 40), step};
            scim_tlb_entry ea = {0}, eb = {0};
            int ra = scim_tlb_insert(t[0], &e, &ea), rb = scim_tlb_insert(t[1], &e, &eb);
            CHECK(ra == rb && (ra != 1 || entry_eq(&ea, &eb)),
                  "step %" PRIu64 ": insert: scan evicts vpn 0x%" PRIx64 ", hash vpn 0x%" PRIx64, step, ea.vpn,
                  eb.vpn);
            evictions += ra == 1;
        } else {
            uint64_t a, b;
            if (op < 9998) { /* invalidations are rare, or the TLBs would never fill */
                uint64_t len = 1 + rnd(&s, 16ull << 12);
                a = scim_tlb_invalidate_range(t[0], pasid, va, len);
                b = scim_tlb_invalidate_range(t[1], pasid, va, len);
            } else {
                a = scim_tlb_invalidate_pasid(t[0], pasid);
                b = scim_tlb_invalidate_pasid(t[1], pasid);
            }
            CHECK(a == b, "step %" PRIu64 ": invalidations removed %" PRIu64 " and %" PRIu64, step, a, b);
        }
        if (step % 8192 == 0 || step + 1 == ops) {
            collect c[2];
            for (int i = 0; i < 2; i++) {
                c[i] = (collect){calloc(entries + 1, sizeof(scim_tlb_entry)), 0, entries + 1};
                scim_tlb_foreach(t[i], collect_fn, &c[i]);
            }
            CHECK(c[0].n == c[1].n, "step %" PRIu64 ": %zu and %zu entries", step, c[0].n, c[1].n);
            for (size_t k = 0; k < c[0].n; k++)
                CHECK(entry_eq(&c[0].e[k], &c[1].e[k]), "step %" PRIu64 ": entry %zu differs", step, k);
            free(c[0].e);
            free(c[1].e);
            CHECK(memcmp(scim_tlb_counters(t[0]), scim_tlb_counters(t[1]), sizeof(scim_tlb_ctrs)) == 0,
                  "step %" PRIu64 ": counters differ", step);
        }
    }
    CHECK(evictions > ops / 40 && hits > ops / 50, "%" PRIu64 "x%" PRIu64 " repl %d: %" PRIu64 " evictions, %" PRIu64 " hits", entries / ways, ways, repl, evictions, hits);
    scim_tlb_destroy(t[0]);
    scim_tlb_destroy(t[1]);
}

START_TEST(test_hash_vs_scan)
{
    static const struct {
        uint64_t entries, ways;
    } any[] = {{1024, 1024}, {4096, 4096}, {1536, 512}, {2048, 16}, {96, 96}}, plru[] = {{64, 64}, {512, 64}, {384, 32}};
    static const int repls[] = {SCIM_REPL_LRU, SCIM_REPL_FIFO, SCIM_REPL_RANDOM};
    for (size_t r = 0; r < SCIM_COUNT_OF(repls); r++)
        for (size_t g = 0; g < SCIM_COUNT_OF(any); g++)
            hash_vs_scan(repls[r], any[g].entries, any[g].ways, 40000 + any[g].entries * 10, 77 + g * 31 + r);
    for (size_t g = 0; g < SCIM_COUNT_OF(plru); g++)
        hash_vs_scan(SCIM_REPL_PLRU, plru[g].entries, plru[g].ways, 40000, 99 + g);
}
END_TEST

/* Brute force over the TLB's contents (scim_tlb_foreach): the entry a
 * lookup of (pasid, va) must return, the smallest page size first. */
typedef struct cover {
    uint32_t pasid;
    uint64_t va;
    scim_tlb_entry best;
    bool found;
} cover;

static void cover_fn(void *ctx, const scim_tlb_entry *e)
{
    cover *c = ctx;
    if (e->pasid == c->pasid && e->vpn == c->va >> e->page_shift && (!c->found || e->page_shift < c->best.page_shift)) {
        c->best = *e;
        c->found = true;
    }
}

/* Page sizes that come and go: phases that insert one size only (then
 * all three), with invalidations that empty a size or the whole TLB,
 * while lookups probe every size. Each lookup must hit exactly when
 * some entry covers the address (brute force over the contents, which
 * does not use the TLB's per-size counts or index), with the scan and
 * the hash index alike. Fully associative and 4 sets; lru, fifo, random
 * and plru. */
static void size_phases(int repl, uint64_t entries, uint64_t ways, uint64_t seed)
{
    scim_tlb *t[2];
    for (int i = 0; i < 2; i++) {
        scim_tlb_params p = {entries, ways, repl, SCIM_PAGE_4K | SCIM_PAGE_2M | SCIM_PAGE_1G, seed, 1,
                             i ? SCIM_TLB_INDEX_HASH : SCIM_TLB_INDEX_SCAN};
        scim_err err = {0};
        t[i] = scim_tlb_create(&p, &err);
        CHECK(t[i] != NULL, "create: %s", err.msg);
    }
    static const unsigned phase_sizes[][3] = {{12, 12, 12}, {21, 21, 21}, {30, 30, 30}, {12, 21, 30}, {21, 21, 21}};
    uint64_t s = seed, hits = 0, step = 0;
    for (size_t ph = 0; ph < SCIM_COUNT_OF(phase_sizes); ph++) {
        for (uint64_t k = 0; k < entries * 40; k++, step++) {
            uint32_t pasid = 1 + (uint32_t)rnd(&s, 2);
            /* a footprint of twice the entries in each size, spread over
             * 4 GiB (all four 1G pages) */
            unsigned sh = phase_sizes[ph][rnd(&s, 3)];
            uint64_t vpn = rnd(&s, entries * 2) * (sh == 12 ? 4099 : 1) % ((4ull << 30) >> sh);
            uint64_t va = rnd(&s, 2) ? (vpn << sh) + rnd(&s, 1ull << sh) : rnd(&s, 4ull << 30);
            uint64_t op = rnd(&s, 1000);
            if (op < 450) {
                scim_tlb_entry e = {pasid, (uint8_t)sh, (uint8_t)rnd(&s, 4), vpn, rnd(&s, 1ull << 40), step};
                scim_tlb_entry ea = {0}, eb = {0};
                int ra = scim_tlb_insert(t[0], &e, &ea), rb = scim_tlb_insert(t[1], &e, &eb);
                CHECK(ra == rb && (ra != 1 || entry_eq(&ea, &eb)), "step %" PRIu64 ": inserts differ", step);
                for (int i = 0; i < 2; i++)
                    CHECK(scim_tlb_probe(t[i], pasid, vpn << sh, NULL) == 1, "step %" PRIu64 ": fresh entry not found",
                          step);
            } else if (op < 995) {
                cover c = {pasid, va, {0}, false};
                scim_tlb_foreach(t[1], cover_fn, &c);
                for (int i = 0; i < 2; i++) {
                    scim_tlb_entry got = {0};
                    int r = scim_tlb_lookup(t[i], pasid, va, &got);
                    CHECK(r == (int)c.found && (!r || entry_eq(&got, &c.best)),
                          "step %" PRIu64 " index %d: lookup of pasid %u va 0x%" PRIx64
                          " %s (shift %u), contents: %s (shift %u)",
                          step, i, pasid, va, r ? "hit" : "miss", got.page_shift, c.found ? "hit" : "miss",
                          c.best.page_shift);
                }
                hits += c.found;
            } else {
                uint64_t a, b;
                if (op < 999) { /* a whole 1 GiB: every entry of the pasid inside, of every size */
                    a = scim_tlb_invalidate_range(t[0], pasid, va & ~((1ull << 30) - 1), 1ull << 30);
                    b = scim_tlb_invalidate_range(t[1], pasid, va & ~((1ull << 30) - 1), 1ull << 30);
                } else {
                    a = scim_tlb_invalidate_all(t[0]);
                    b = scim_tlb_invalidate_all(t[1]);
                }
                CHECK(a == b, "step %" PRIu64 ": invalidations removed %" PRIu64 " and %" PRIu64, step, a, b);
            }
        }
        /* the phase's size leaves entirely: pasid 1 then 2, the whole space */
        for (uint32_t pasid = 1; pasid <= 2; pasid++)
            for (int i = 0; i < 2; i++)
                scim_tlb_invalidate_pasid(t[i], pasid);
        for (int i = 0; i < 2; i++)
            ck_assert_uint_eq(scim_tlb_valid_entries(t[i]), 0);
    }
    CHECK(memcmp(scim_tlb_counters(t[0]), scim_tlb_counters(t[1]), sizeof(scim_tlb_ctrs)) == 0, "counters differ");
    CHECK(hits > step / 20 && scim_tlb_counters(t[1])->evictions > step / 50,
          "%" PRIu64 " hits, %" PRIu64 " evictions in %" PRIu64 " steps", hits, scim_tlb_counters(t[1])->evictions,
          step);
    scim_tlb_destroy(t[0]);
    scim_tlb_destroy(t[1]);
}

START_TEST(test_size_phases)
{
    static const int repls[] = {SCIM_REPL_LRU, SCIM_REPL_FIFO, SCIM_REPL_RANDOM, SCIM_REPL_PLRU};
    for (size_t r = 0; r < SCIM_COUNT_OF(repls); r++) {
        size_phases(repls[r], 64, 64, 501 + r);
        size_phases(repls[r], 256, 64, 601 + r);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tlb_index");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hash_vs_scan);
    tcase_add_test(tc, test_size_phases);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

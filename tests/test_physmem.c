/* The buddy allocator of simulated physical memory (mmu/physmem.h) against
 * a brute-force reference.
 *
 * The reference is nothing but a per-frame free bitmap. With eager
 * coalescing the free blocks are exactly the maximal aligned, in-pool,
 * entirely free blocks (capped at order 18), so "the lowest free block of
 * the smallest sufficient order" can be recomputed from the bitmap alone.
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/physmem.h"

#include "helpers/testutil.h"

/* ------------------------------------------------------------------------ */
/* buddy allocator against a free-frame bitmap                                */

typedef struct ref_pool {
    uint64_t frames; /* frame 0 included */
    uint8_t *free;   /* per frame */
    uint32_t *cnt[SCIM_PHYSMEM_MAX_ORDER + 1]; /* free frames in each aligned block */
} ref_pool;

static void pool_set(ref_pool *r, uint64_t pfn, uint64_t n, bool free_)
{
    for (uint64_t f = pfn; f < pfn + n; f++) {
        if (r->free[f] == free_)
            ck_abort_msg("frame 0x%" PRIx64 " %s twice", f, free_ ? "freed" : "allocated");
        r->free[f] = free_;
    }
    /* each block of each order gains or loses the frames it shares with [pfn, pfn + n) */
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        for (uint64_t b = pfn >> o; b <= (pfn + n - 1) >> o; b++) {
            uint64_t lo = b << o > pfn ? b << o : pfn, hi = ((b + 1) << o) < pfn + n ? (b + 1) << o : pfn + n;
            uint32_t k = (uint32_t)(hi - lo);
            r->cnt[o][b] += free_ ? k : (uint32_t)-k;
        }
    }
}

static bool in_pool(const ref_pool *r, uint64_t block, unsigned o) { return ((block + 1) << o) <= r->frames; }

static bool block_full(const ref_pool *r, uint64_t block, unsigned o)
{
    return in_pool(r, block, o) && r->cnt[o][block] == (1u << o);
}

/* a maximal free block: entirely free and its parent is not */
static bool free_block(const ref_pool *r, uint64_t block, unsigned o)
{
    return block_full(r, block, o) && (o == SCIM_PHYSMEM_MAX_ORDER || !block_full(r, block >> 1, o + 1));
}

/* Lowest maximal free block of order `want` inside block b of order q
 * (UINT64_MAX if none). Skips blocks with no free frame, and entirely free
 * blocks (a maximal block inside them would be bigger). */
static uint64_t find_block(const ref_pool *r, unsigned want, uint64_t b, unsigned q)
{
    if (r->cnt[q][b] == 0 || (b << q) >= r->frames)
        return UINT64_MAX;
    if (q == want)
        return free_block(r, b, q) ? b : UINT64_MAX;
    if (block_full(r, b, q))
        return UINT64_MAX;
    uint64_t x = find_block(r, want, 2 * b, q - 1);
    return x != UINT64_MAX ? x : find_block(r, want, 2 * b + 1, q - 1);
}

static int ref_alloc(ref_pool *r, unsigned order, uint64_t *pfn)
{
    for (unsigned o = order; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        for (uint64_t top = 0; (top << SCIM_PHYSMEM_MAX_ORDER) < r->frames; top++) {
            uint64_t b = find_block(r, o, top, SCIM_PHYSMEM_MAX_ORDER);
            if (b != UINT64_MAX) {
                *pfn = b << o;
                pool_set(r, *pfn, 1ull << order, false);
                return 0;
            }
        }
    }
    return SCIM_ENOMEM;
}

static void buddy_run(uint64_t frames, uint64_t ops, unsigned max_order, uint64_t seed)
{
    scim_err err = {0};
    scim_physmem *pm = scim_physmem_create(frames * 4096, &err);
    CHECK(pm, "%s", err.msg);
    ref_pool r = {frames, calloc(frames, 1), {0}};
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++)
        r.cnt[o] = calloc((frames >> o) + 2, sizeof(uint32_t));
    pool_set(&r, 1, frames - 1, true);
    ck_assert_uint_eq(scim_physmem_frames_total(pm), frames - 1);
    uint64_t (*held)[2] = calloc(ops + 1, sizeof *held);
    size_t n_held = 0;
    uint64_t s = seed, free_frames = frames - 1, fails = 0;
    for (uint64_t step = 0; step < ops; step++) {
        bool do_alloc = n_held == 0 || rnd(&s, 100) < (step % 2000 < 1200 ? 65 : 35);
        if (do_alloc) {
            unsigned order = rnd(&s, 4) ? (unsigned)rnd(&s, 3) : (unsigned)rnd(&s, max_order + 1);
            uint64_t a = 0, b = 0;
            scim_err e = {0};
            int ra = scim_physmem_alloc(pm, order, &a, &e);
            int rb = ref_alloc(&r, order, &b);
            CHECK(ra == rb, "step %" PRIu64 ": alloc order %u: %d, reference %d", step, order, ra, rb);
            if (ra == 0) {
                CHECK(a == b, "step %" PRIu64 ": alloc order %u gave frame 0x%" PRIx64 ", reference 0x%" PRIx64,
                              step, order, a, b);
                ck_assert_uint_ne(a, 0);
                ck_assert_uint_eq(a % (1ull << order), 0);
                held[n_held][0] = a;
                held[n_held][1] = order;
                n_held++;
                free_frames -= 1ull << order;
                /* a fresh frame reads as zero; write something to be dropped on free */
                ck_assert_uint_eq(scim_physmem_read64(pm, a << 12), 0);
                scim_physmem_write64(pm, (a << 12) + 8 * rnd(&s, 512), step | 1);
            } else {
                ck_assert_int_eq(ra, SCIM_ENOMEM);
                CHECK(strstr(e.msg, "out of simulated memory: no free block of order"), "%s", e.msg);
                fails++;
            }
        } else {
            size_t i = (size_t)rnd(&s, n_held);
            scim_physmem_free(pm, held[i][0], (unsigned)held[i][1]);
            pool_set(&r, held[i][0], 1ull << held[i][1], true);
            free_frames += 1ull << held[i][1];
            held[i][0] = held[n_held - 1][0];
            held[i][1] = held[n_held - 1][1];
            n_held--;
        }
        ck_assert_uint_eq(scim_physmem_frames_free(pm), free_frames);
        if (frames <= 8192 ? step % 97 == 0 : step % 750 == 0) {
            for (uint64_t f = 0; f < frames; f++)
                if (scim_physmem_is_free(pm, f) != (bool)r.free[f])
                    ck_abort_msg("step %" PRIu64 ": frame 0x%" PRIx64 " is_free %d, reference %d", step, f,
                                 !r.free[f], r.free[f]);
            ck_assert_uint_eq(scim_physmem_backed_frames(pm), n_held);
        }
    }
    CHECK(fails > 0 || frames > 8192, "the pool never ran out");
    while (n_held) {
        n_held--;
        scim_physmem_free(pm, held[n_held][0], (unsigned)held[n_held][1]);
    }
    ck_assert_uint_eq(scim_physmem_frames_free(pm), frames - 1);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 0);
    /* fully coalesced again: the largest blocks come back in address order */
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++) {
        free(r.cnt[o]);
        r.cnt[o] = calloc((frames >> o) + 2, sizeof(uint32_t));
    }
    memset(r.free, 0, frames);
    pool_set(&r, 1, frames - 1, true);
    for (int k = 0; k < 64; k++) {
        unsigned order = (unsigned)(k % (max_order + 1));
        uint64_t a = 0, b = 0;
        int ra = scim_physmem_alloc(pm, order, &a, NULL), rb = ref_alloc(&r, order, &b);
        ck_assert_int_eq(ra, rb);
        if (!ra)
            ck_assert_uint_eq(a, b);
    }
    for (unsigned o = 0; o <= SCIM_PHYSMEM_MAX_ORDER; o++)
        free(r.cnt[o]);
    free(r.free);
    free(held);
    scim_physmem_destroy(pm);
}

START_TEST(test_buddy_small) { buddy_run(16, 3000, 4, 11); }
END_TEST
START_TEST(test_buddy_odd) { buddy_run(4099, 12000, 10, 12); }
END_TEST
START_TEST(test_buddy_large) { buddy_run((1ull << 19) + 12345, 1500, 18, 13); }
END_TEST

START_TEST(test_physmem_errors)
{
    scim_err err = {0};
    ck_assert_ptr_null(scim_physmem_create(15 * 4096, &err));
    ck_assert_int_eq(err.code, SCIM_ERANGE);
    scim_err_clear(&err);
    ck_assert_ptr_null(scim_physmem_create(16 * 4096 + 1, &err));
    ck_assert_int_eq(err.code, SCIM_ERANGE);
    scim_physmem *pm = scim_physmem_create(16 * 4096, &err);
    ck_assert_ptr_nonnull(pm);
    uint64_t pfn;
    scim_err_clear(&err);
    ck_assert_int_eq(scim_physmem_alloc(pm, 19, &pfn, &err), SCIM_EINVAL);
    ck_assert_str_eq(err.msg, "allocation order 19 is above the maximum 18");
    /* 15 frames: 1, 2-3, 4-7, 8-15 */
    scim_err_clear(&err);
    ck_assert_int_eq(scim_physmem_alloc(pm, 4, &pfn, &err), SCIM_ENOMEM);
    ck_assert_str_eq(err.msg, "out of simulated memory: no free block of order 4 (64 KiB); 15 of 15 frames free, "
                              "largest free block order 3");
    ck_assert_int_eq(scim_physmem_alloc(pm, 0, &pfn, NULL), 0);
    ck_assert_uint_eq(pfn, 1);
    ck_assert_int_eq(scim_physmem_alloc(pm, 0, &pfn, NULL), 0);
    ck_assert_uint_eq(pfn, 2);
    ck_assert_int_eq(scim_physmem_alloc(pm, 2, &pfn, NULL), 0);
    ck_assert_uint_eq(pfn, 4);
    /* memory contents: sparse, zero until written, dropped on free */
    scim_physmem_write64(pm, 0x4008, 0xdeadbeef);
    ck_assert_uint_eq(scim_physmem_read64(pm, 0x4008), 0xdeadbeef);
    ck_assert_uint_eq(scim_physmem_read64(pm, 0x4010), 0);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 1);
    scim_physmem_write64(pm, 0x5000, 0); /* zero into an unbacked frame allocates nothing */
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 1);
    scim_physmem_free(pm, 4, 2);
    ck_assert_uint_eq(scim_physmem_read64(pm, 0x4008), 0);
    ck_assert_uint_eq(scim_physmem_backed_frames(pm), 0);
    scim_physmem_destroy(pm);
    scim_physmem_destroy(NULL);
}
END_TEST

/* Frame contents against a reference, with frames that share slots of
 * physmem's frame cache (frame numbers 256 apart, and more frames than
 * slots) freed and handed out again: a freed frame must read as zero and
 * a write to it must back it anew, whatever was cached for it. */
#define CONTENT_FRAMES 1024u
#define CONTENT_WORDS 4u /* words of each frame the test touches */

START_TEST(test_physmem_contents)
{
    scim_physmem *pm = scim_physmem_create((CONTENT_FRAMES + 1) * 4096ull, NULL);
    ck_assert_ptr_nonnull(pm);
    uint64_t pfn;
    for (unsigned f = 1; f <= CONTENT_FRAMES; f++) /* every frame: a freed one is the only one free */
        ck_assert_int_eq(scim_physmem_alloc(pm, 0, &pfn, NULL), 0);
    ck_assert_uint_eq(scim_physmem_frames_free(pm), 0);
    static uint64_t ref[CONTENT_FRAMES + 1][CONTENT_WORDS];
    static bool backed[CONTENT_FRAMES + 1];
    memset(ref, 0, sizeof ref);
    memset(backed, 0, sizeof backed);
    uint64_t rng = 7, n_backed = 0;
    for (unsigned step = 0; step < 200000; step++) {
        uint64_t r = rng_next(&rng);
        /* a few hot frames that collide in the cache, and all the others */
        unsigned f = (r & 1) ? 1 + (unsigned)((r >> 8) % 4) * 256 : 1 + (unsigned)((r >> 8) % CONTENT_FRAMES);
        unsigned w = (unsigned)((r >> 40) % CONTENT_WORDS);
        uint64_t pa = (uint64_t)f * 4096 + w * 8;
        switch ((r >> 4) % 7) {
        case 0: /* free and take back: the only free frame, this one */
            scim_physmem_free(pm, f, 0);
            ck_assert_int_eq(scim_physmem_alloc(pm, 0, &pfn, NULL), 0);
            ck_assert_uint_eq(pfn, f);
            memset(ref[f], 0, sizeof ref[f]);
            n_backed -= backed[f];
            backed[f] = false;
            break;
        case 1:
        case 2:
        case 3: { /* a write; a zero now and then (into an unbacked frame: no storage) */
            uint64_t v = (r >> 16) % 4 ? rng_next(&rng) : 0;
            scim_physmem_write64(pm, pa, v);
            ref[f][w] = v;
            if (v && !backed[f]) {
                backed[f] = true;
                n_backed++;
            }
            break;
        }
        default: ck_assert_uint_eq(scim_physmem_read64(pm, pa), ref[f][w]); break;
        }
        ck_assert_uint_eq(scim_physmem_backed_frames(pm), n_backed);
    }
    for (unsigned f = 1; f <= CONTENT_FRAMES; f++)
        for (unsigned w = 0; w < CONTENT_WORDS; w++)
            ck_assert_uint_eq(scim_physmem_read64(pm, (uint64_t)f * 4096 + w * 8), ref[f][w]);
    scim_physmem_destroy(pm);
}
END_TEST

static Suite *physmem_suite(void)
{
    Suite *s = suite_create("physmem");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_physmem_errors);
    tcase_add_test(tc, test_physmem_contents);
    tcase_add_test(tc, test_buddy_small);
    tcase_add_test(tc, test_buddy_odd);
    tcase_add_test(tc, test_buddy_large);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(physmem_suite()); }
